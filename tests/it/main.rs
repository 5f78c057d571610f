//! Integration tests of the whole product (one binary, modules per area).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chain;
mod ipc;
