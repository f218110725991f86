//! The wiring of pricelake's stages into commands, as a library so that end-to-end tests
//! drive exactly what the binary runs.

#![warn(missing_docs)]

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod pipeline;
pub mod shutdown;
