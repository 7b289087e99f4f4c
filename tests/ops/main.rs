//! Operations end to end: the Prometheus exposition after real traffic (against the contract in
//! `deploy/METRICS.md`, clean for `promtool check metrics`, route templates as labels, the admin
//! listener) and `docent check` on a healthy deployment and on each kind of broken one.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod llm_metrics;
mod metrics;
mod providers;
