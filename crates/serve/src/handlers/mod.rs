//! The request handlers, by family: the service's own routes (readiness, health, metrics,
//! the document, the dashboard page), items, the marts, and the charts. Each returns its
//! answer or an [`crate::ApiError`].

mod chart;
mod items;
mod marts;
mod service;

pub(crate) use chart::chart;
pub(crate) use items::{history, item, items, versions, VERSION_COLUMNS};
pub(crate) use marts::{basket, categories, currencies, discounts, fx, moves, trending, vod};
pub(crate) use service::{
    chart_js, dashboard, health, metrics, openapi, prepare_assets, readyz, status,
};
