//! Serving: the marts as a versioned JSON API, SVG charts, and a dashboard at `/`.
//!
//! The API reads an in-memory copy of the current marts ([`MartStore`]) that a background
//! task replaces whenever a newer process run commits, so requests never touch storage.
//!
//! Read top-down: [`config`](ServeConfig), the [`state`](ServeState) handlers share, the
//! [`routes`](ROUTES) (one table for the router and `/openapi.json`), the handlers by family,
//! the parameters they take, the errors they answer ([`ApiError`]), and the store of marts
//! (from the lake or MongoDB) with the publisher that fills MongoDB.

#![warn(missing_docs)]

mod config;
mod error;
mod format;
mod handlers;
mod origin;
mod params;
mod routes;
mod state;

pub mod charts;
pub mod health;
mod http_cache;
pub mod openapi;
pub mod publish;
mod store;

pub use config::{MartSource, ServeConfig};
pub use error::{ApiError, MartFileError, ServeError};
pub use origin::{LakeMarts, MartOrigin, MongoMarts};
pub use publish::{PublishConfig, PublishError, PublishReport, Publisher};
pub use routes::{router, serve, Route, ROUTES};
pub use state::ServeState;
pub use store::{MartStore, Row};
