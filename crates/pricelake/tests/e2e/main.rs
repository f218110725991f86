//! End-to-end tests: the whole pipeline in-process, and the binary's surface.
//! One test binary for all of them (each test binary links the whole stack).

mod audit;
mod browser;
mod cli;
mod crash;
mod demo_flow;
mod mongo;
mod secrets;
