//! Scenario files: the format ([`model`]), reading it with positions ([`tree`], [`decode`]),
//! validating and compiling it ([`compile`]), response templates ([`template`]), and loading
//! files and directories ([`load`]).

pub mod compile;
pub mod decode;
pub mod load;
pub mod model;
pub mod template;
pub mod tree;

pub use compile::{CompiledResponse, CompiledStub, ScenarioSet};
pub use load::{LoadError, Problem, Summary, load_paths, load_sources};
