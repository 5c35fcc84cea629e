//! Scenario files: the format ([`model`]), reading it with positions ([`tree`], [`decode`]),
//! validating and compiling it ([`compile`], [`expect`]), response templates ([`template`]),
//! loading files and directories ([`load`]), returning the memory a load freed ([`memory`]),
//! and pieces of scenario text posted to the admin
//! API ([`fragment`]).

pub mod compile;
pub mod decode;
pub mod expect;
pub mod fragment;
pub mod load;
pub mod memory;
pub mod model;
pub mod template;
pub mod tree;

pub use compile::{CompiledResponse, CompiledStub, ScenarioSet};
pub use load::{LoadError, Problem, Summary, load_paths, load_sources};
