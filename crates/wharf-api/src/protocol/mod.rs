//! The wire protocols. Each module turns request bytes into a JSON value keyed by member names
//! (what the validator and the generated types read) and turns output values and errors back
//! into bytes, driven only by the generated [`wharf_core::model::ServiceModel`] tables.

pub mod json;
pub mod form;
pub mod xml;
