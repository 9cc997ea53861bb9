//! needmap: from a household survey to ranked critical-need zones.
//!
//! The pipeline, one module per stage:
//! `data` (import, validate) → `sphere` (great-circle metres) → `cluster` (DBSCAN, HDBSCAN,
//! k-means). Every long stage takes a [`progress::Progress`] handle for progress and cancel,
//! shared by the CLI and the app.
pub mod cli;
pub mod cluster;
pub mod data;
pub mod progress;
pub mod sphere;
