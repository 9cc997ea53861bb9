//! Parameter studies for learners and planners: the same clustering run over a grid of
//! settings (DBSCAN eps × min points, k-means k, HDBSCAN min cluster size), with the number
//! of zones, the share of noise, the stability between neighbouring settings (adjusted Rand
//! index) and, for k-means, inertia (the elbow) and the silhouette on a seeded sample.
//!
//! Every row runs [`crate::analysis::cluster_stage`], so its figures are exactly those of
//! `needmap cluster` with that setting.

use rustc_hash::FxHashMap;

use crate::analysis::{ClusterConfig, Imported, RunError, Scored, cluster_stage};
use crate::cluster::Method;
use crate::progress::Progress;
use crate::sphere::{Xyz, chord2, metres_from_chord};

/// `from:to:step` (both ends included), a single value, or a comma list.
///
/// ```
/// use needmap::sweep::parse_range;
/// assert_eq!(parse_range("50:100:25").unwrap(), vec![50.0, 75.0, 100.0]);
/// assert_eq!(parse_range("5").unwrap(), vec![5.0]);
/// assert_eq!(parse_range("10,30,20").unwrap(), vec![10.0, 30.0, 20.0]);
/// assert!(parse_range("100:50:10").is_err());
/// ```
pub fn parse_range(s: &str) -> Result<Vec<f64>, String> {
    let num = |t: &str| {
        t.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("{t:?} is not a number"))
    };
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [one] => one.split(',').map(num).collect(),
        [from, to, step] => {
            let (a, b, d) = (num(from)?, num(to)?, num(step)?);
            if d <= 0.0 || a > b {
                return Err(format!("{s:?}: write FROM:TO:STEP with FROM ≤ TO and STEP > 0"));
            }
            let n = ((b - a) / d + 1e-9).floor() as usize;
            if n > 10_000 {
                return Err(format!("{s:?}: {} settings is too many", n + 1));
            }
            Ok((0..=n).map(|i| a + d * i as f64).collect())
        }
        _ => Err(format!("{s:?}: write FROM:TO:STEP (ends included), one value, or a comma list")),
    }
}

/// Adjusted Rand index of two labellings of the same households (noise, -1, is one more
/// label). 1 = the same partition; about 0 = as alike as chance.
pub fn ari(a: &[i32], b: &[i32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: FxHashMap<(i32, i32), f64> = FxHashMap::default();
    let (mut ra, mut rb): (FxHashMap<i32, f64>, FxHashMap<i32, f64>) = Default::default();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *ra.entry(x).or_default() += 1.0;
        *rb.entry(y).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|&v| c2(v)).sum();
    let sa: f64 = ra.values().map(|&v| c2(v)).sum();
    let sb: f64 = rb.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n).max(1.0);
    let max = 0.5 * (sa + sb);
    if (max - expected).abs() < 1e-12 {
        return if a == b { 1.0 } else { 0.0 };
    }
    (index - expected) / (max - expected)
}

/// Mean silhouette (great-circle metres) of the clustered households (noise left out) on a
/// seeded sample of at most `sample` of them; `(silhouette, households used)`.
pub fn silhouette(xyz: &[Xyz], labels: &[i32], sample: usize, seed: u64) -> (Option<f64>, usize) {
    let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] >= 0).collect();
    if idx.len() > sample {
        // A seeded partial shuffle (splitmix64): the same sample for the same seed.
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for i in 0..sample {
            let j = i + (next() % (idx.len() - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(sample);
        idx.sort_unstable();
    }
    let used = idx.len();
    let mut total = 0.0;
    let mut counted = 0usize;
    for &i in &idx {
        let mut sums: FxHashMap<i32, (f64, usize)> = FxHashMap::default();
        for &j in &idx {
            if j != i {
                let d = metres_from_chord(chord2(xyz[i], xyz[j]).sqrt());
                let e = sums.entry(labels[j]).or_default();
                e.0 += d;
                e.1 += 1;
            }
        }
        let Some(&(own, own_n)) = sums.get(&labels[i]) else { continue };
        if own_n == 0 {
            continue;
        }
        let a = own / own_n as f64;
        let b = sums
            .iter()
            .filter(|(l, _)| **l != labels[i])
            .map(|(_, &(s, n))| s / n as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b).max(f64::MIN_POSITIVE);
            counted += 1;
        }
    }
    ((counted > 0).then(|| total / counted as f64), used)
}

/// How one clustering's cluster is found again in another.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub a: i32,
    pub a_size: usize,
    /// The cluster of the other labelling sharing the most households with `a` (`None`: all
    /// of `a`'s households are noise there).
    pub b: Option<i32>,
    pub b_size: usize,
    pub shared: usize,
    /// shared / (a_size + b_size − shared): 1 = the same households.
    pub jaccard: f64,
}

/// Two labellings of the same households compared: the adjusted Rand index over every
/// household, and for each cluster of `a` (largest first) its best match in `b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub ari: f64,
    pub matches: Vec<Match>,
}

/// Compares two labellings (-1 = noise, not a cluster).
pub fn compare(a: &[i32], b: &[i32]) -> Comparison {
    let mut size_a: FxHashMap<i32, usize> = FxHashMap::default();
    let mut size_b: FxHashMap<i32, usize> = FxHashMap::default();
    let mut shared: FxHashMap<(i32, i32), usize> = FxHashMap::default();
    for (&x, &y) in a.iter().zip(b) {
        if x >= 0 {
            *size_a.entry(x).or_default() += 1;
        }
        if y >= 0 {
            *size_b.entry(y).or_default() += 1;
            if x >= 0 {
                *shared.entry((x, y)).or_default() += 1;
            }
        }
    }
    let mut best: FxHashMap<i32, (i32, usize)> = FxHashMap::default();
    for (&(x, y), &n) in &shared {
        let e = best.entry(x).or_insert((y, n));
        // Ties go to the lower cluster number, so the answer never depends on hash order.
        if n > e.1 || (n == e.1 && y < e.0) {
            *e = (y, n);
        }
    }
    let mut matches: Vec<Match> = size_a
        .iter()
        .map(|(&x, &na)| match best.get(&x) {
            Some(&(y, n)) => {
                let nb = size_b[&y];
                Match { a: x, a_size: na, b: Some(y), b_size: nb, shared: n, jaccard: n as f64 / (na + nb - n) as f64 }
            }
            None => Match { a: x, a_size: na, b: None, b_size: 0, shared: 0, jaccard: 0.0 },
        })
        .collect();
    matches.sort_by(|p, q| q.a_size.cmp(&p.a_size).then(p.a.cmp(&q.a)));
    Comparison { ari: ari(a, b), matches }
}

/// One setting of a sweep and what it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub eps_m: Option<f64>,
    pub min_points: Option<usize>,
    pub k: Option<usize>,
    pub min_cluster_size: Option<usize>,
    pub clusters: usize,
    pub noise: usize,
    /// Noise over the households clustered.
    pub noise_share: f64,
    pub inertia_m2: Option<f64>,
    pub silhouette: Option<f64>,
    /// ARI with the previous setting along the first axis (eps, k, min cluster size).
    pub ari_prev: Option<f64>,
    /// DBSCAN: ARI with the previous min points at the same eps.
    pub ari_prev_min_points: Option<f64>,
}

/// What to sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepSpec {
    pub method: Method,
    pub eps_m: Vec<f64>,
    pub min_points: Vec<usize>,
    pub k: Vec<usize>,
    pub min_cluster_size: Vec<usize>,
    /// k-means silhouette sample size.
    pub sample: usize,
}

/// Runs every setting of `spec` with `base` for the rest; rows in the order (min points,
/// eps) for DBSCAN, else along the one axis. Checks `progress` between settings.
pub fn sweep(
    imp: &Imported,
    scored: &Scored,
    base: &ClusterConfig,
    spec: &SweepSpec,
    progress: &Progress,
) -> Result<Vec<Row>, RunError> {
    let mut settings: Vec<ClusterConfig> = Vec::new();
    match spec.method {
        Method::Dbscan => {
            for &m in &spec.min_points {
                for &e in &spec.eps_m {
                    settings.push(ClusterConfig {
                        method: Method::Dbscan,
                        eps_m: Some(e),
                        min_points: Some(m),
                        ..base.clone()
                    });
                }
            }
        }
        Method::Kmeans => {
            for &k in &spec.k {
                settings.push(ClusterConfig { method: Method::Kmeans, k, ..base.clone() });
            }
        }
        Method::Hdbscan => {
            for &m in &spec.min_cluster_size {
                settings.push(ClusterConfig { method: Method::Hdbscan, min_cluster_size: m, ..base.clone() });
            }
        }
    }
    let quiet = Progress::new(); // the stages' own progress, not shown; cancel is ours
    let mut rows = Vec::with_capacity(settings.len());
    let mut labels: Vec<Vec<i32>> = Vec::with_capacity(settings.len());
    let per_row = spec.eps_m.len().max(1);
    for (s, cfg) in settings.iter().enumerate() {
        progress.stage("sweep", settings.len() as u64);
        progress.set(s as u64);
        progress.check()?;
        let c = cluster_stage(imp, scored, cfg, &quiet)?;
        let clustered = c.candidates.iter().filter(|&&x| x).count();
        let silhouette =
            (spec.method == Method::Kmeans).then(|| silhouette(&imp.xyz, &c.labels, spec.sample, cfg.seed).0).flatten();
        let (ari_prev, ari_prev_min_points) = match spec.method {
            Method::Dbscan => (
                (s % per_row > 0).then(|| ari(&labels[s - 1], &c.labels)),
                (s >= per_row).then(|| ari(&labels[s - per_row], &c.labels)),
            ),
            _ => ((s > 0).then(|| ari(&labels[s - 1], &c.labels)), None),
        };
        rows.push(Row {
            eps_m: (spec.method == Method::Dbscan).then_some(cfg.eps_m).flatten(),
            min_points: (spec.method == Method::Dbscan).then_some(cfg.min_points).flatten(),
            k: (spec.method == Method::Kmeans).then_some(cfg.k),
            min_cluster_size: (spec.method == Method::Hdbscan).then_some(cfg.min_cluster_size),
            clusters: c.clusters,
            noise: c.noise,
            noise_share: if clustered == 0 { 0.0 } else { c.noise as f64 / clustered as f64 },
            inertia_m2: c.inertia_m2,
            silhouette,
            ari_prev,
            ari_prev_min_points,
        });
        labels.push(c.labels);
    }
    progress.set(settings.len() as u64);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_matches_hand_computed_values() {
        // scikit-learn's documented example: adjusted_rand_score([0,0,1,1], [0,0,1,2]) = 0.5714…
        assert!((ari(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 4.0 / 7.0).abs() < 1e-12);
        // Renaming labels changes nothing; a perfect match is 1.
        assert_eq!(ari(&[0, 0, 1, 1], &[5, 5, 3, 3]), 1.0);
        // Independent halves: [0,0,1,1] vs [0,1,0,1] → -0.5 by the formula.
        assert!((ari(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
    }

    #[test]
    fn compare_finds_each_cluster_by_hand() {
        // a: {0,1,2} {3,4} noise 5; b: {0,1} {2,3,4} {5}.
        let a = [0, 0, 0, 1, 1, -1];
        let b = [7, 7, 8, 8, 8, 9];
        let c = compare(&a, &b);
        assert_eq!(c.ari, ari(&a, &b));
        assert_eq!(c.matches.len(), 2);
        // Cluster 0 (3 households) shares 2 with 7 (size 2): jaccard 2 / 3.
        assert_eq!((c.matches[0].a, c.matches[0].b, c.matches[0].shared), (0, Some(7), 2));
        assert!((c.matches[0].jaccard - 2.0 / 3.0).abs() < 1e-12);
        // Cluster 1 shares both its households with 8 (size 3): jaccard 2 / 3.
        assert_eq!((c.matches[1].a, c.matches[1].b, c.matches[1].b_size), (1, Some(8), 3));
        // Everything noise in b: no match.
        let none = compare(&a, &[-1; 6]);
        assert!(none.matches.iter().all(|m| m.b.is_none() && m.jaccard == 0.0));
        // The same labelling matches itself exactly.
        assert!(compare(&a, &a).matches.iter().all(|m| m.jaccard == 1.0));
    }

    #[test]
    fn silhouette_of_two_far_groups_is_near_one_and_brute_force_agrees() {
        let pts: Vec<Xyz> = [(0.0, 0.0), (0.0001, 0.0), (0.0, 0.0001), (1.0, 1.0), (1.0001, 1.0)]
            .iter()
            .map(|&(lon, lat)| crate::sphere::xyz_from_lonlat(lon, lat))
            .collect();
        let labels = [0, 0, 0, 1, 1];
        let (s, used) = silhouette(&pts, &labels, 100, 1);
        assert_eq!(used, 5);
        // Brute force with the haversine distance.
        let d = |i: usize, j: usize| {
            let (a, b) = (crate::sphere::lonlat_from_xyz(pts[i]), crate::sphere::lonlat_from_xyz(pts[j]));
            crate::sphere::distance_m(a.0, a.1, b.0, b.1)
        };
        let mut total = 0.0;
        for i in 0..5 {
            let mean = |l: i32| {
                let js: Vec<usize> = (0..5).filter(|&j| j != i && labels[j] == l).collect();
                js.iter().map(|&j| d(i, j)).sum::<f64>() / js.len() as f64
            };
            let (a, b) = (mean(labels[i]), mean(1 - labels[i]));
            total += (b - a) / a.max(b);
        }
        assert!((s.unwrap() - total / 5.0).abs() < 1e-6, "{s:?} vs {}", total / 5.0);
        assert!(s.unwrap() > 0.99);
        // A sample: the same for the same seed.
        assert_eq!(silhouette(&pts, &labels, 3, 7), silhouette(&pts, &labels, 3, 7));
    }
}
