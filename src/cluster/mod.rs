//! Clustering methods.
pub mod dbscan;
pub mod hdbscan;
pub mod kmeans;
