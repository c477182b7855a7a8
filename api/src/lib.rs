//! membercard: the backend of a member-card mini-program.

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
