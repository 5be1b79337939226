//! The binary's edge: argument parsing (clap) and error reporting (anyhow).

pub mod args;
