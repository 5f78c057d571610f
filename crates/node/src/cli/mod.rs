//! The command-line side of `govchain-node`: typed refusals with stable
//! codes and exit statuses, stdout that tolerates a closed pipe, and the
//! admin client that signs, submits and follows a transaction.

pub mod admin;
pub mod bpmn;
pub mod error;
pub mod keys;
pub mod out;
pub mod registration;
pub mod reports;
pub mod tls;
