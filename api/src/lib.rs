//! membercard: the backend of a member-card mini-program.

// The merged Query and Mutation roots nest deeply enough for the compiler's trait solver.
#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod infra;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
