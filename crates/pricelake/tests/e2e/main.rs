//! End-to-end tests: the whole pipeline in-process, and the binary's surface.
//! One test binary for all of them (each test binary links the whole stack).

mod api_properties;
mod audit;
mod ballista;
mod browser;
mod chaos;
mod cli;
mod concurrent;
mod crash;
mod demo_flow;
mod history;
mod ingest_once;
mod lakes;
mod mongo;
mod openapi;
mod readable;
mod refresh;
mod secrets;
mod support;
mod upgrade;
