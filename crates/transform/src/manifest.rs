//! The run manifests transform commits: the lake's typed contract, defined in the `lake`
//! crate for every reader ([`pricelake_lake::manifest`]).

pub use pricelake_lake::manifest::*;
