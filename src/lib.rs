//! needmap: from a household survey to ranked critical-need zones.
//!
//! The pipeline, one module per stage:
//! `data` (import, validate) → `sphere` (great-circle metres) → `index` (R-tree) → `need`
//! (need index, critical selection) → `cluster` (DBSCAN, HDBSCAN, k-means) → `zones`
//! (hulls, figures, ranking); beside them `hotspots` (Getis-Ord Gi* with a false-discovery
//! guard), `sites` (build sites) and `audit` (weight sensitivity, indicator influence, group
//! coverage); `rundir` reads a run's output folder back and `print` draws maps and the
//! field atlas from it (PNG, PDF), and `report` writes a run's self-contained HTML report. Every long stage takes a [`progress::Progress`] handle for progress and cancel,
//! shared by the CLI and the app.
pub mod analysis;
#[cfg(feature = "gui")]
pub mod app;
pub mod audit;
pub mod basemap;
pub mod cli;
pub mod cluster;
pub mod data;
pub mod explain;
pub mod export;
pub mod hotspots;
pub mod i18n;
pub mod index;
pub mod need;
pub mod palette;
pub mod plane;
pub mod print;
pub mod progress;
pub mod quiz;
pub mod report;
pub mod rundir;
pub mod sites;
pub mod sphere;
pub mod sweep;
pub mod tiles;
pub mod webmerc;
pub mod zones;
