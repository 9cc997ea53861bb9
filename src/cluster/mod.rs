//! Clustering methods: DBSCAN (the default: zones of dense need), HDBSCAN (uneven
//! density), k-means (a fixed number of groups). All take unit vectors
//! ([`crate::sphere::Xyz`]) and are deterministic for the same input, parameters and seed,
//! whatever the thread count.

pub mod dbscan;
pub mod hdbscan;
pub mod kmeans;

use serde::{Deserialize, Serialize};

use crate::analysis::{ClusterConfig, RunError};
use crate::progress::Progress;
use crate::sphere::Xyz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    #[default]
    Dbscan,
    Hdbscan,
    Kmeans,
}

/// Runs k-means or HDBSCAN: labels (-1 = noise), and the k-means inertia in m².
pub(crate) fn run_other(
    cfg: &ClusterConfig,
    pts: &[Xyz],
    weights: Option<&[f64]>,
    progress: &Progress,
) -> Result<(Vec<i32>, Option<f64>), RunError> {
    let _ = (pts, weights, progress);
    match cfg.method {
        Method::Kmeans | Method::Hdbscan => {
            Err(RunError::Cluster("k-means and HDBSCAN are not wired into this build yet; use --method dbscan".into()))
        }
        Method::Dbscan => unreachable!("DBSCAN runs in analysis::cluster_stage"),
    }
}
