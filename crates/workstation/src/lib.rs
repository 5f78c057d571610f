//! govchain workstation core: the Rust side of the desktop app, free of any
//! UI toolkit so that it is tested on its own.
//!
//! * [`keys`] — the official's keys in the OS keychain; encrypted backups.
//! * [`signing`] — typed requests → transaction bodies shown before signing.
//! * [`cache`] — the offline SQLite cache and durable outbox.
//! * [`chains`] — one cache per chain, the active chain, managed settings.
//! * [`client`] — HTTP client of department nodes with failover.
//! * [`trust`] — which TLS certificate of a node is accepted (pin or OS store).
//! * [`verify`] — the verified copy of the chain (blocks, rules, checkpoints).
//! * [`demo`] — the embedded demo node used when no node is configured.
//! * [`documents`] — attached files kept here by SHA-256 (only hashes go on chain).
//! * [`payroll`] — payroll files (CSV, XLSX) read into hashed payroll lines.
//! * [`explorer`] — blocks and decoded transactions from the verified cache.
//! * [`proofs`] — inclusion and consistency proofs checked step by step.
//! * [`audit`] — search, chain graph, dashboards, spending over time.
//! * [`report`] — PDF audit reports of a case or a project.
//! * [`views`] — screen models (cases, stages, timelines, projects, payments).
//! * [`admin`] — department administration: officials, roles, proposals, templates, BPMN.
//! * [`service`] — [`Workstation`], what the Tauri commands call.
//! * [`dto`] — IPC types, exported to TypeScript with ts-rs.
//! * [`error`] — [`WsError`] and its codes.
//! * `closed` — the `closed_set!` macro: closed sets of names as enums.
//!
//! Modules depend on each other without cycles: `closed` and `error` at the
//! bottom, then `dto`, the pure modules, and [`service`] at the top.
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod cache;
pub mod case_index;
pub mod chains;
pub mod client;
mod closed;
pub mod demo;
pub mod documents;
pub mod dto;
pub mod error;
pub mod explorer;
pub mod hardware;
pub mod keys;
pub mod payroll;
pub mod proofs;
pub mod report;
pub mod service;
pub mod signing;
pub mod trust;
pub mod tx_index;
pub mod verify;
pub mod views;

pub use error::{ErrorBody, WsError, WsErrorCode};
pub use service::{run_background, Event, Notifier, Workstation};
