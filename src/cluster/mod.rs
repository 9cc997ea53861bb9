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
    match cfg.method {
        Method::Kmeans => {
            let params =
                kmeans::KMeansParams { k: cfg.k, seed: cfg.seed, restarts: cfg.restarts, ..Default::default() };
            let out = kmeans::kmeans(pts, weights, &params, progress).map_err(|e| match e {
                kmeans::KMeansError::Cancelled => RunError::Cancelled,
                e => RunError::Cluster(format!("k-means: {e}")),
            })?;
            Ok((out.labels.iter().map(|&l| l as i32).collect(), Some(out.inertia_m2)))
        }
        Method::Hdbscan => {
            let params =
                hdbscan::HdbscanParams { min_cluster_size: cfg.min_cluster_size, min_samples: cfg.min_samples };
            let labels = hdbscan::hdbscan(pts, &params, progress).map_err(|e| match e {
                hdbscan::HdbscanError::Cancelled => RunError::Cancelled,
                e => RunError::Cluster(format!("HDBSCAN: {e}")),
            })?;
            Ok((labels, None))
        }
        Method::Dbscan => unreachable!("DBSCAN runs in analysis::cluster_stage"),
    }
}
