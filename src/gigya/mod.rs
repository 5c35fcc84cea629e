//! The Gigya wire protocol, independent of any server: parameters, the error catalogue, the
//! response envelope, request signatures and JWT bearer credentials.

pub mod catalog;
pub mod envelope;
pub mod jwt;
pub mod params;
pub mod signature;

pub use signature::rfc3986_encode as percent_encode;
