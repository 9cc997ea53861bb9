//! Criterion benchmarks of each pipeline stage on a generated city of 200,000 households
//! (deterministic; written to a temporary directory): import, R-tree, DBSCAN, k-means,
//! HDBSCAN on 20,000, zones.
//!
//! ```sh
//! cargo bench --no-default-features --bench pipeline
//! ```
//! Whole-process comparisons against scikit-learn are in `scripts/bench_peers.py` and
//! docs/BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use needmap::analysis::{self, Analysis, InputConfig};
use needmap::cluster::dbscan::{DbscanParams, dbscan};
use needmap::cluster::hdbscan::{HdbscanParams, hdbscan};
use needmap::cluster::kmeans::{KMeansParams, kmeans};
use needmap::data::Keep;
use needmap::index::Index;
use needmap::progress::Progress;
use needmap::zones::{ZoneInputs, ZoneParams, build_zones};

/// 40 dense settlements in a 30 km city plus a sparse background, like the bench generator.
fn write_city(path: &Path, n: usize) {
    let mut s = String::with_capacity(n * 60);
    s.push_str("id,lat,lon,household_size,monthly_income,has_water\n");
    let mut x: u64 = 7;
    let mut r = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..n {
        let (lat, lon) = if r() < 0.6 {
            let c = (r() * 40.0) as usize;
            let (clat, clon) =
                (-12.2 + 0.3 * ((c * 37) % 40) as f64 / 40.0, -77.1 + 0.3 * ((c * 11) % 40) as f64 / 40.0);
            let (a, b) = (r() - 0.5, r() - 0.5);
            (clat + a * 0.008, clon + b * 0.008)
        } else {
            (-12.2 + 0.3 * r(), -77.1 + 0.3 * r())
        };
        let (size, income, water) = ((1.0 + r() * 8.0) as u32, (300.0 + r() * 4000.0) as u32, (r() < 0.7) as u8);
        s.push_str(&format!("{i},{lat:.6},{lon:.6},{size},{income},{water}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.csv");
    write_city(&path, 200_000);
    let progress = Progress::new();
    let cfg = InputConfig::default();

    let mut g = c.benchmark_group("200k households");
    g.sample_size(10);
    g.bench_function("import (CSV, all columns)", |b| {
        b.iter(|| analysis::import_stage(black_box(&path), &cfg, &Keep::All, &progress).unwrap())
    });
    let imp = analysis::import_stage(&path, &cfg, &Keep::All, &progress).unwrap();
    g.bench_function("R-tree bulk load", |b| b.iter(|| Index::new(black_box(&imp.xyz))));
    let p = DbscanParams { eps_m: 150.0, min_points: 10 };
    g.bench_function("DBSCAN eps 150 m, min 10", |b| {
        b.iter(|| dbscan(black_box(&imp.xyz), None, &p, &progress).unwrap())
    });
    let kp = KMeansParams { k: 20, seed: 1, ..Default::default() };
    g.bench_function("k-means k 20", |b| b.iter(|| kmeans(black_box(&imp.xyz), None, &kp, &progress).unwrap()));
    let scored = analysis::need_stage(&imp, &Default::default(), &Progress::new()).unwrap();
    g.bench_function("need index", |b| {
        b.iter(|| analysis::need_stage(black_box(&imp), &Default::default(), &Progress::new()).unwrap())
    });
    let clustered = analysis::cluster_stage(&imp, &scored, &Analysis::default().cluster, &progress).unwrap();
    g.bench_function("zones (convex hulls, figures, rank)", |b| {
        b.iter(|| {
            let inp = ZoneInputs {
                xyz: &imp.xyz,
                need: &scored.need.score,
                critical: &scored.critical,
                people: imp.people.as_deref(),
                labels: &clustered.labels,
            };
            build_zones(black_box(&inp), &ZoneParams::default(), &progress).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("20k households");
    g.sample_size(10);
    let small: Vec<_> = imp.xyz.iter().step_by(10).copied().collect();
    g.bench_function("HDBSCAN min cluster size 10", |b| {
        b.iter(|| hdbscan(black_box(&small), &HdbscanParams::default(), &progress).unwrap())
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
