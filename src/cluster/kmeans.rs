//! k-means (Lloyd 1982) with greedy k-means++ seeding (Arthur & Vassilvitskii 2007), as
//! scikit-learn runs it, on the sphere.
//!
//! # Parameters
//! - `k`: number of clusters (clamped to the number of households).
//! - `seed`: seeds the k-means++ choices; the same seed gives the same labels.
//! - `weights`: optional weight per household (e.g. its need score): centres are weighted
//!   means and the inertia a weighted sum.
//! - `restarts`: how many k-means++ runs to start from the best of (default 64; 1 = one
//!   run on all households, scikit-learn's `KMeans(n_init=1)`).
//! - `max_iter`, `tol`: stop after `max_iter` iterations, or when the squared movement of the
//!   centres, summed, is at most `tol` times the mean variance of the two horizontal
//!   coordinates (scikit-learn's rule on projected coordinates).
//!
//! # Returns
//! Labels `0..k` in input order, the centres (lon/lat), the inertia — the (weighted) sum of
//! squared distances to the nearest centre, in m² — and the number of iterations.
//!
//! # Algorithm
//! Households are points in 3D metres (unit vector × Earth radius, minus their mean, so
//! every coordinate is small and precise): the straight-line (chord) distance differs from the
//! great-circle one by less than one part in 10⁶ below 10 km, and the method works at any
//! extent, across the antimeridian and near the poles. Seeding is greedy k-means++: each new
//! centre is the best of 2 + ⌊ln k⌋ candidates drawn with probability proportional to the
//! weighted squared distance. Iterations use Hamerly's bounds (an upper bound to the own
//! centre and a lower bound to any other), which skip most distance computations and give
//! exactly Lloyd's result. An emptied cluster is moved to the household farthest from its
//! centre. Sums are taken per fixed chunk of households and added in chunk order, so the
//! result does not depend on the number of threads.
//!
//! One k-means++ run ends in one of many local optima, and on a large spread-out set they
//! differ by 5–10 % in inertia. So `restarts` runs (k-means++ then Lloyd) are made on a
//! sample of 8,192 households drawn by the seed (64 per cluster when k > 128); the one with
//! the lowest sample inertia (the earliest on ties) is refined by Lloyd on all households.
//! On the benchmark's million households (k = 20) this costs less than one k-means++ run
//! on all of them, and over seeds 1–8 lands within 1 % of the inertia of scikit-learn's
//! best of ten runs (−1.0 % to +0.5 %). With as few households as the sample, the runs are
//! on all of them.
//!
//! The inertia is therefore on the sphere. On a city it is within 0.5 % of the inertia of
//! the same partition in UTM metres as scikit-learn computes it (the sphere is not the
//! ellipsoid: north–south metres are 0.5 % shorter at 12° S). Different seeds end in
//! different local optima, for scikit-learn too: one run of either can be 5–10 % above or
//! below another run of the other, but over many seeds the two spread the same way.
//!
//! Cost: O(n·k) per iteration at worst, far less once the bounds settle; the seeding passes
//! over the households once per centre (about 0.1 s for a million households, k = 20, on
//! two cores; the whole k-means 0.15–0.25 s).
//!
//! # Examples
//! ```
//! use needmap::cluster::kmeans::{kmeans, KMeansParams};
//! use needmap::progress::Progress;
//! use needmap::sphere::xyz_from_lonlat;
//! // Two groups of households 50 km apart.
//! let pts: Vec<_> = [(-77.0, -12.0), (-77.001, -12.0), (-77.0, -12.001),
//!                    (-76.5, -12.0), (-76.501, -12.0), (-76.5, -12.001)]
//!     .iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
//! let out = kmeans(&pts, None, &KMeansParams { k: 2, ..Default::default() }, &Progress::new()).unwrap();
//! assert_eq!(out.labels[0], out.labels[1]);
//! assert_eq!(out.labels[0], out.labels[2]);
//! assert_eq!(out.labels[3], out.labels[5]);
//! assert_ne!(out.labels[0], out.labels[3]);
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::progress::{Cancelled, Progress, lap};
use crate::sphere::{EARTH_RADIUS_M, Xyz, lonlat_from_xyz};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KMeansParams {
    pub k: usize,
    pub seed: u64,
    pub max_iter: usize,
    pub tol: f64,
    /// k-means++ runs, each followed by Lloyd's iterations, on a sample of 8,192 households
    /// (64 per cluster if more): the one with the lowest inertia is refined on all
    /// households. 1 = one k-means++ run on all households, as
    /// scikit-learn's `KMeans(n_init=1)`.
    pub restarts: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self { k: 20, seed: 1, max_iter: 300, tol: 1e-4, restarts: 64 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    pub labels: Vec<u32>,
    /// Centre of each cluster, (lon, lat) degrees.
    pub centres_lonlat: Vec<(f64, f64)>,
    /// Sum of (weighted) squared distances to the assigned centre, m².
    pub inertia_m2: f64,
    pub iterations: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KMeansError {
    #[error("cancelled")]
    Cancelled,
    #[error("k must be at least 1")]
    ZeroK,
    #[error("weights: {0}")]
    BadWeights(String),
}

impl From<Cancelled> for KMeansError {
    fn from(_: Cancelled) -> Self {
        KMeansError::Cancelled
    }
}

/// Households per chunk for sums: fixed, so results do not depend on the thread count.
const CHUNK: usize = 4096;
/// Households the restarts run on (at least 64 per cluster). Small: many runs on a small
/// sample find better optima than a few on a large one, for the same work.
const SAMPLE: usize = 8192;

type P3 = [f64; 3];

#[inline]
fn d2(a: &P3, b: &P3) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    x * x + y * y + z * z
}

/// SplitMix64: the seed's stream of random numbers, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Greedy k-means++ (scikit-learn's `_kmeans_plusplus`), one pass over the households per
/// centre: the pass that scores the candidates also folds the previous choice into the
/// distances, and the winner's per-chunk sums are the next draws' running sums.
fn seed_centres(pts: &[P3], w: &[f64], k: usize, rng: &mut Rng, progress: &Progress) -> Result<Vec<P3>, Cancelled> {
    let n = pts.len();
    let trials = 2 + (k as f64).ln() as usize;
    let ones = vec![1.0; n];
    let first = search_chunks(&chunk_sums(w, &ones), w, &ones, None, rng.next_f64() * w.iter().sum::<f64>());
    let mut centres = vec![pts[first]];
    let mut closest: Vec<f64> = pts.par_iter().map(|p| d2(p, &pts[first])).collect();
    // Weighted squared distance per fixed chunk: the cumulative sum the draws search, without
    // materialising it.
    let mut sums = chunk_sums(w, &closest);
    // The last centre chosen, not yet folded into `closest`.
    let mut pending: Option<P3> = None;
    // Coordinates one array each, so the inner loops run on vector registers.
    let xs: Vec<f64> = pts.iter().map(|p| p[0]).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p[1]).collect();
    let zs: Vec<f64> = pts.iter().map(|p| p[2]).collect();
    for _ in 1..k {
        progress.check()?;
        let total: f64 = sums.iter().sum();
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                if total > 0.0 {
                    search_chunks(&sums, w, &closest, pending.map(|c| (pts, c)), rng.next_f64() * total)
                } else {
                    (rng.next_f64() * n as f64) as usize % n
                }
            })
            .collect();
        // The potential with each candidate, per chunk, in one pass that also updates `closest`.
        let cps: Vec<P3> = candidates.iter().map(|&c| pts[c]).collect();
        let parts: Vec<Vec<f64>> = closest
            .par_chunks_mut(CHUNK)
            .zip(xs.par_chunks(CHUNK).zip(ys.par_chunks(CHUNK)).zip(zs.par_chunks(CHUNK)))
            .zip(w.par_chunks(CHUNK))
            .map(|((d, ((x, y), z)), wc)| {
                if let Some(c) = &pending {
                    for i in 0..d.len() {
                        d[i] = min(d[i], d2_soa(x[i], y[i], z[i], c));
                    }
                }
                cps.iter().map(|cp| lane_sum(d.len(), |i| wc[i] * min(d[i], d2_soa(x[i], y[i], z[i], cp)))).collect()
            })
            .collect();
        let mut pots = vec![0.0; cps.len()];
        for part in &parts {
            for (t, v) in part.iter().enumerate() {
                pots[t] += v;
            }
        }
        // The candidate that lowers the potential most (the first one on ties).
        let mut best: Option<(f64, usize)> = None;
        for t in 0..candidates.len() {
            if best.is_none_or(|(bp, _)| pots[t] < bp) {
                best = Some((pots[t], t));
            }
        }
        let (_, t) = best.expect("at least two candidates");
        sums = parts.iter().map(|part| part[t]).collect();
        pending = Some(cps[t]);
        centres.push(cps[t]);
    }
    Ok(centres)
}

#[inline]
fn d2_soa(x: f64, y: f64, z: f64, c: &P3) -> f64 {
    let (dx, dy, dz) = (x - c[0], y - c[1], z - c[2]);
    dx * dx + dy * dy + dz * dz
}

/// The smaller of two non-NaN numbers (plain compare, which vectorises; `f64::min` handles NaN).
#[inline]
fn min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// Σ f(i) for i in `0..len`, in four interleaved partial sums added in a fixed order: the
/// same result on every run, and a loop the compiler can vectorise.
#[inline]
fn lane_sum(len: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut lanes = [0.0; 4];
    let whole = len / 4 * 4;
    for i in (0..whole).step_by(4) {
        for l in 0..4 {
            lanes[l] += f(i + l);
        }
    }
    for i in whole..len {
        lanes[i - whole] += f(i);
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// Σ a·b per fixed chunk of `CHUNK` households, in order.
fn chunk_sums(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)).map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum()).collect()
}

/// The first household at which the running sum of `w·d` exceeds `target` (the last one if
/// rounding runs past the end), found through the per-chunk sums. With `pending`, each `d`
/// is first lowered to the squared distance to that centre.
fn search_chunks(sums: &[f64], w: &[f64], d: &[f64], pending: Option<(&[P3], P3)>, target: f64) -> usize {
    let n = w.len();
    let mut acc = 0.0;
    for (c, &s) in sums.iter().enumerate() {
        if acc + s > target {
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let di = match pending {
                    Some((pts, centre)) => d[i].min(d2(&pts[i], &centre)),
                    None => d[i],
                };
                acc += w[i] * di;
                if acc > target {
                    return i;
                }
            }
            return ((c + 1) * CHUNK).min(n) - 1;
        }
        acc += s;
    }
    n - 1
}

/// Σ f(i) over `0..n`, in fixed chunks added in order (deterministic for any thread count).
fn chunked_sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    let parts: Vec<f64> =
        (0..n.div_ceil(CHUNK)).into_par_iter().map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).map(&f).sum()).collect();
    parts.iter().sum()
}

/// Σ f(i) over `0..n`, per coordinate, in fixed chunks added in order.
fn chunked_sum3(n: usize, f: impl Fn(usize) -> P3 + Sync) -> P3 {
    let parts: Vec<P3> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut s = [0.0; 3];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let v = f(i);
                for d in 0..3 {
                    s[d] += v[d];
                }
            }
            s
        })
        .collect();
    parts.iter().fold([0.0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
}

/// Nearest and second-nearest centre of `p`: (index, distance, second distance).
#[inline]
fn nearest_two(p: &P3, centres: &[P3]) -> (u32, f64, f64) {
    let (mut a, mut da, mut db) = (0u32, f64::INFINITY, f64::INFINITY);
    for (j, c) in centres.iter().enumerate() {
        let d = d2(p, c);
        if d < da {
            db = da;
            da = d;
            a = j as u32;
        } else if d < db {
            db = d;
        }
    }
    (a, da.sqrt(), db.sqrt())
}

/// A k-means fit: labels, centres, inertia (m²) and Lloyd iterations.
struct Fit {
    labels: Vec<u32>,
    centres: Vec<P3>,
    inertia_m2: f64,
    iterations: usize,
}

/// Lloyd's iterations from `centres` with Hamerly's bounds, to convergence (see the module
/// documentation). Cancel is checked on every iteration; with `report`, `progress` counts them.
fn lloyd(
    pts: &[P3],
    w: &[f64],
    mut centres: Vec<P3>,
    tol: f64,
    max_iter: usize,
    progress: &Progress,
    report: bool,
) -> Result<Fit, Cancelled> {
    let (n, k) = (pts.len(), centres.len());
    // Hamerly's bounds.
    let mut labels = vec![0u32; n];
    let mut upper = vec![0.0f64; n];
    let mut lower = vec![0.0f64; n];
    labels.par_iter_mut().zip(upper.par_iter_mut()).zip(lower.par_iter_mut()).zip(pts.par_iter()).for_each(
        |(((l, u), lo), p)| {
            let (a, da, db) = nearest_two(p, &centres);
            *l = a;
            *u = da;
            *lo = db;
        },
    );
    let mut iterations = 0;
    loop {
        progress.check()?;
        if report {
            progress.set(iterations as u64 + 1);
        }
        iterations += 1;
        // M-step: weighted means per chunk, added in order.
        let partial: Vec<(Vec<P3>, Vec<f64>)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut s = vec![[0.0; 3]; k];
                let mut ws = vec![0.0; k];
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    let j = labels[i] as usize;
                    for d in 0..3 {
                        s[j][d] += w[i] * pts[i][d];
                    }
                    ws[j] += w[i];
                }
                (s, ws)
            })
            .collect();
        let mut sums = vec![[0.0; 3]; k];
        let mut wsum = vec![0.0; k];
        for (s, ws) in &partial {
            for j in 0..k {
                for d in 0..3 {
                    sums[j][d] += s[j][d];
                }
                wsum[j] += ws[j];
            }
        }
        let mut new_centres: Vec<P3> =
            (0..k).map(|j| if wsum[j] > 0.0 { sums[j].map(|v| v / wsum[j]) } else { centres[j] }).collect();
        // Empty clusters: move each to the household farthest from its own centre.
        let mut relocated: Vec<usize> = Vec::new();
        for j in 0..k {
            if wsum[j] > 0.0 {
                continue;
            }
            let far = (0..n)
                .filter(|&i| w[i] > 0.0 && !relocated.contains(&i))
                .max_by(|&a, &b| upper[a].total_cmp(&upper[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            new_centres[j] = pts[far];
            relocated.push(far);
        }
        let relocated = !relocated.is_empty();
        let shift: Vec<f64> = (0..k).map(|j| d2(&centres[j], &new_centres[j]).sqrt()).collect();
        let shift2: f64 = shift.iter().map(|s| s * s).sum();
        centres = new_centres;
        // Half the distance from each centre to its nearest other centre.
        let half: Vec<f64> = (0..k)
            .map(|j| {
                (0..k).filter(|&m| m != j).map(|m| d2(&centres[j], &centres[m]).sqrt()).fold(f64::INFINITY, f64::min)
                    / 2.0
            })
            .collect();
        let max_shift = shift.iter().copied().fold(0.0, f64::max);
        // E-step with the bounds.
        let changed: usize = labels
            .par_iter_mut()
            .zip(upper.par_iter_mut())
            .zip(lower.par_iter_mut())
            .zip(pts.par_iter())
            .map(|(((l, u), lo), p)| {
                let a = *l as usize;
                *u += shift[a];
                *lo -= max_shift;
                if relocated {
                    *lo = 0.0;
                }
                let m = half[a].max(*lo);
                if *u <= m {
                    return 0;
                }
                *u = d2(p, &centres[a]).sqrt();
                if *u <= m {
                    return 0;
                }
                let (b, db, db2) = nearest_two(p, &centres);
                *u = db;
                *lo = db2;
                if b != *l {
                    *l = b;
                    1
                } else {
                    0
                }
            })
            .sum();
        if changed == 0 || shift2 <= tol || iterations >= max_iter {
            break;
        }
    }
    // Inertia against the final centres (labels are nearest to them: the E-step just ran).
    let inertia_m2 = chunked_sum(n, |i| w[i] * d2(&pts[i], &centres[labels[i] as usize]));
    Ok(Fit { labels, centres, inertia_m2, iterations })
}

/// `m` distinct indices below `n`, drawn by the seed, in increasing order (all of them when
/// `m` ≥ `n`).
fn sample_indices(n: usize, m: usize, rng: &mut Rng) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    // Selection sampling (Knuth's algorithm S): one pass, each index kept with probability
    // (still needed) / (still left).
    let mut out = Vec::with_capacity(m);
    for i in 0..n {
        if (rng.next_f64() * (n - i) as f64) < (m - out.len()) as f64 {
            out.push(i);
            if out.len() == m {
                break;
            }
        }
    }
    out
}

/// Runs k-means on unit vectors; see the module documentation.
pub fn kmeans(
    points: &[Xyz],
    weights: Option<&[f64]>,
    params: &KMeansParams,
    progress: &Progress,
) -> Result<KMeansResult, KMeansError> {
    let n = points.len();
    if params.k == 0 {
        return Err(KMeansError::ZeroK);
    }
    if n == 0 {
        return Ok(KMeansResult { labels: vec![], centres_lonlat: vec![], inertia_m2: 0.0, iterations: 0 });
    }
    let w: Vec<f64> = match weights {
        Some(w) if w.len() != n => {
            return Err(KMeansError::BadWeights(format!("{} weights for {n} households", w.len())));
        }
        Some(w) => {
            if let Some(i) = w.iter().position(|x| !x.is_finite() || *x < 0.0) {
                return Err(KMeansError::BadWeights(format!("weight {} of household {} is not ≥ 0", w[i], i + 1)));
            }
            if w.iter().all(|&x| x == 0.0) {
                return Err(KMeansError::BadWeights("every weight is zero".into()));
            }
            w.to_vec()
        }
        None => vec![1.0; n],
    };
    let k = params.k.min(n);
    progress.stage("cluster", params.max_iter as u64);
    // 3D metres around the mean: small, precise coordinates.
    let mean = chunked_sum3(n, |i| points[i]).map(|v| v / n as f64);
    let pts: Vec<P3> = points
        .par_iter()
        .map(|p| {
            [(p[0] - mean[0]) * EARTH_RADIUS_M, (p[1] - mean[1]) * EARTH_RADIUS_M, (p[2] - mean[2]) * EARTH_RADIUS_M]
        })
        .collect();
    // scikit-learn's tolerance: tol × the mean variance of the coordinates, which it takes
    // over two projected (east, north) coordinates. Here the total variance is spread over
    // three, one of them (up) nearly empty for a city, so the mean is over two.
    let tol = {
        let mu = chunked_sum3(n, |i| pts[i]).map(|v| v / n as f64);
        let var = chunked_sum3(n, |i| [0, 1, 2].map(|d| (pts[i][d] - mu[d]).powi(2)));
        params.tol * (var[0] + var[1] + var[2]) / n as f64 / 2.0
    };

    let started = std::time::Instant::now();
    let mut rng = Rng(params.seed ^ 0x6E65_6564_6D61_7021);
    let restarts = params.restarts.max(1);
    let fit = if restarts == 1 {
        let centres = seed_centres(&pts, &w, k, &mut rng, progress)?;
        lap("k-means++ seeding", started);
        lloyd(&pts, &w, centres, tol, params.max_iter, progress, true)?
    } else {
        // `restarts` runs (k-means++ then Lloyd) on a sample; see the module documentation.
        let m = n.min(SAMPLE.max(64 * k));
        let idx = sample_indices(n, m, &mut rng);
        let (sp, sw): (Vec<P3>, Vec<f64>) = idx.iter().map(|&i| (pts[i], w[i])).unzip();
        drop(idx);
        let seeds: Vec<u64> = (0..restarts).map(|_| rng.next_u64()).collect();
        let runs: Vec<Fit> = seeds
            .par_iter()
            .map(|&s| {
                let mut r = Rng(s);
                let c = seed_centres(&sp, &sw, k, &mut r, progress)?;
                lloyd(&sp, &sw, c, tol, params.max_iter, progress, false)
            })
            .collect::<Result<_, Cancelled>>()?;
        lap(format_args!("k-means {restarts} runs on {m} households"), started);
        // Lowest inertia; the earliest run on ties, so the choice does not depend on the threads.
        let best = runs.into_iter().reduce(|a, b| if b.inertia_m2 < a.inertia_m2 { b } else { a }).expect("a run");
        if m == n { best } else { lloyd(&pts, &w, best.centres, tol, params.max_iter, progress, true)? }
    };
    lap(format_args!("k-means {} iterations", fit.iterations), started);
    let Fit { labels, centres, inertia_m2, iterations } = fit;
    let centres_lonlat = centres
        .iter()
        .map(|c| {
            let v = [c[0] / EARTH_RADIUS_M + mean[0], c[1] / EARTH_RADIUS_M + mean[1], c[2] / EARTH_RADIUS_M + mean[2]];
            let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(f64::MIN_POSITIVE);
            lonlat_from_xyz([v[0] / norm, v[1] / norm, v[2] / norm])
        })
        .collect();
    Ok(KMeansResult { labels, centres_lonlat, inertia_m2, iterations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::xyz_from_lonlat;
    use proptest::prelude::*;

    /// `groups` blobs of `per` households, `spread_m` wide, `gap_deg` apart.
    fn blobs(groups: usize, per: usize, spread_m: f64, gap_deg: f64, seed: u64) -> Vec<Xyz> {
        let mut r = Rng(seed);
        let mut out = Vec::new();
        for g in 0..groups {
            let (lon0, lat0) = (-77.0 + gap_deg * (g % 4) as f64, -12.0 + gap_deg * (g / 4) as f64);
            for _ in 0..per {
                let (a, b) = (r.next_f64() - 0.5, r.next_f64() - 0.5);
                out.push(xyz_from_lonlat(lon0 + a * spread_m / 108_000.0, lat0 + b * spread_m / 110_000.0));
            }
        }
        out
    }

    fn run(pts: &[Xyz], w: Option<&[f64]>, k: usize, seed: u64) -> KMeansResult {
        kmeans(pts, w, &KMeansParams { k, seed, ..Default::default() }, &Progress::new()).unwrap()
    }

    /// Sixteen equal blobs close together: one k-means++ run often ends with two centres in
    /// one blob and one centre for two; the restarts (on a sample: 16,000 households) find
    /// the blobs for every seed tried.
    #[test]
    fn restarts_find_the_blobs_one_run_misses() {
        let (groups, per) = (16, 1000);
        let pts = blobs(groups, per, 800.0, 0.012, 5);
        let truth: Vec<usize> = (0..pts.len()).map(|i| i / per).collect();
        let fit = |seed, restarts| {
            let params = KMeansParams { k: groups, seed, restarts, ..Default::default() };
            kmeans(&pts, None, &params, &Progress::new()).unwrap()
        };
        let mut one_run_missed = 0;
        for seed in 1..=8 {
            let best = fit(seed, KMeansParams::default().restarts);
            assert!(same_partition(&best.labels, &truth), "seed {seed}: the restarts missed the blobs");
            let one = fit(seed, 1);
            if !same_partition(&one.labels, &truth) {
                one_run_missed += 1;
                assert!(one.inertia_m2 > best.inertia_m2);
            }
        }
        assert!(one_run_missed > 0, "the blobs are too easy to tell restarts from one run");
    }

    /// True when two labelings are the same partition.
    fn same_partition(a: &[u32], b: &[usize]) -> bool {
        let mut map = std::collections::HashMap::new();
        let mut back = std::collections::HashMap::new();
        a.iter().zip(b).all(|(&x, &y)| *map.entry(x).or_insert(y) == y && *back.entry(y).or_insert(x) == x)
    }

    #[test]
    fn the_same_seed_gives_the_same_labels_and_other_seeds_still_converge() {
        let pts = blobs(6, 300, 2000.0, 0.2, 3);
        let a = run(&pts, None, 6, 7);
        let b = run(&pts, None, 6, 7);
        assert_eq!(a, b);
        let c = run(&pts, None, 6, 8);
        assert!((c.inertia_m2 - a.inertia_m2).abs() / a.inertia_m2 < 1e-9, "both find the six blobs");
    }

    #[test]
    fn labels_do_not_depend_on_the_thread_count() {
        let pts = blobs(8, 5000, 8000.0, 0.05, 11);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| run(&pts, None, 12, 1));
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| run(&pts, None, 12, 1));
        assert_eq!(one.labels, two.labels);
        assert_eq!(one.inertia_m2.to_bits(), two.inertia_m2.to_bits());
    }

    #[test]
    fn one_cluster_is_the_weighted_mean() {
        let pts: Vec<Xyz> = [(-77.0, -12.0), (-76.99, -12.0)].iter().map(|&(a, b)| xyz_from_lonlat(a, b)).collect();
        let out = run(&pts, Some(&[3.0, 1.0]), 1, 1);
        let (lon, lat) = out.centres_lonlat[0];
        assert!((lon - (-76.9975)).abs() < 1e-6, "{lon}");
        assert!((lat + 12.0).abs() < 1e-6, "{lat}");
        // Inertia: 3·(d/4)² + 1·(3d/4)² with d the chord between the two households.
        let d = crate::sphere::chord2(pts[0], pts[1]).sqrt() * EARTH_RADIUS_M;
        let want = 3.0 * (d / 4.0).powi(2) + (3.0 * d / 4.0).powi(2);
        assert!((out.inertia_m2 - want).abs() / want < 1e-6, "{} vs {want}", out.inertia_m2);
    }

    #[test]
    fn trivial_inputs() {
        assert!(run(&[], None, 3, 1).labels.is_empty());
        let pts = blobs(1, 3, 100.0, 0.0, 1);
        let out = run(&pts, None, 10, 1);
        assert_eq!(out.centres_lonlat.len(), 3, "k is clamped to the number of households");
        let mut l = out.labels.clone();
        l.sort();
        assert_eq!(l, vec![0, 1, 2]);
        assert_eq!(out.inertia_m2, 0.0);
        assert_eq!(
            kmeans(&pts, None, &KMeansParams { k: 0, ..Default::default() }, &Progress::new()),
            Err(KMeansError::ZeroK)
        );
        assert!(matches!(
            kmeans(&pts, Some(&[1.0, -1.0, 1.0]), &KMeansParams::default(), &Progress::new()),
            Err(KMeansError::BadWeights(_))
        ));
        // All households in one place: one centre there, zero inertia.
        let same = vec![xyz_from_lonlat(10.0, 10.0); 50];
        assert_eq!(run(&same, None, 4, 1).inertia_m2, 0.0);
    }

    #[test]
    fn works_across_the_antimeridian() {
        let mut pts = Vec::new();
        for i in 0..50 {
            let f = i as f64 / 50.0;
            pts.push(xyz_from_lonlat(179.999 - 0.002 * f, -17.0 + 0.002 * f));
            pts.push(xyz_from_lonlat(-179.999 + 0.002 * f, -17.0 + 0.002 * f));
            pts.push(xyz_from_lonlat(178.0 + 0.002 * f, -17.0 + 0.002 * f));
        }
        let out = run(&pts, None, 2, 1);
        // The two sides of the antimeridian (200 m apart) are one group; 178° is the other.
        for i in 0..50 {
            assert_eq!(out.labels[3 * i], out.labels[3 * i + 1]);
            assert_ne!(out.labels[3 * i], out.labels[3 * i + 2]);
        }
    }

    #[test]
    fn cancel_stops_it() {
        let pts = blobs(4, 1000, 1000.0, 0.1, 5);
        let p = Progress::new();
        p.cancel();
        assert_eq!(kmeans(&pts, None, &KMeansParams::default(), &p), Err(KMeansError::Cancelled));
    }

    /// Independent oracle: linfa-clustering's KMeans on the same 3D metres finds the same
    /// partition, and its centroids give the same inertia.
    #[test]
    fn agrees_with_linfa_on_separated_blobs() {
        use linfa::prelude::*;
        use linfa_clustering::KMeans;
        let pts = blobs(7, 400, 3000.0, 0.15, 21);
        let ours = run(&pts, None, 7, 1);
        let mean = [0, 1, 2].map(|d| pts.iter().map(|p| p[d]).sum::<f64>() / pts.len() as f64);
        let arr = ndarray::Array2::from_shape_fn((pts.len(), 3), |(i, d)| (pts[i][d] - mean[d]) * EARTH_RADIUS_M);
        let data = DatasetBase::from(arr.clone());
        let model = KMeans::params(7).n_runs(5).tolerance(1e-6).fit(&data).expect("linfa fits");
        let theirs: ndarray::Array1<usize> = model.predict(&data);
        assert!(same_partition(&ours.labels, theirs.as_slice().unwrap()), "different partitions");
        // linfa's `inertia()` is a mean over households, taken before its last update: recompute
        // the sum from its centroids.
        let c = model.centroids();
        let theirs_m2: f64 = (0..pts.len())
            .map(|i| {
                (0..7)
                    .map(|j| (0..3).map(|d| (arr[[i, d]] - c[[j, d]]).powi(2)).sum::<f64>())
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        let rel = (ours.inertia_m2 - theirs_m2).abs() / theirs_m2;
        assert!(rel < 1e-6, "inertia {} vs linfa {theirs_m2}", ours.inertia_m2);
    }

    /// Lloyd's fixed point, checked by brute force: run to convergence (tol 0), every
    /// household is at its nearest centre, every centre is the weighted mean of its households,
    /// and the inertia is the weighted sum of squared distances to those means.
    fn check_fixed_point(ll: &[(f64, f64)], w: Option<&[f64]>, k: usize, seed: u64) -> Result<(), TestCaseError> {
        let pts: Vec<Xyz> = ll.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
        let params = KMeansParams { k, seed, max_iter: 10_000, tol: 0.0, ..Default::default() };
        let out = kmeans(&pts, w, &params, &Progress::new()).unwrap();
        prop_assume!(out.iterations < params.max_iter);
        let wt = |i: usize| w.map_or(1.0, |w| w[i]);
        let k = k.min(pts.len());
        prop_assert_eq!(out.centres_lonlat.len(), k);
        // Each cluster's weighted 3D mean, in metres.
        let mut sums = vec![[0.0; 3]; k];
        let mut wsum = vec![0.0; k];
        for (i, p) in pts.iter().enumerate() {
            let j = out.labels[i] as usize;
            prop_assert!(j < k);
            for d in 0..3 {
                sums[j][d] += wt(i) * p[d];
            }
            wsum[j] += wt(i);
        }
        let means: Vec<Option<Xyz>> =
            (0..k).map(|j| (wsum[j] > 0.0).then(|| sums[j].map(|v| v / wsum[j] * EARTH_RADIUS_M))).collect();
        let d2m = |p: &Xyz, c: &Xyz| (0..3).map(|d| (p[d] * EARTH_RADIUS_M - c[d]).powi(2)).sum::<f64>();
        let mut inertia = 0.0;
        for (i, p) in pts.iter().enumerate() {
            // A cluster of weightless households only has no mean.
            let Some(own) = means[out.labels[i] as usize] else {
                prop_assert_eq!(wt(i), 0.0);
                continue;
            };
            let d_own = d2m(p, &own);
            inertia += wt(i) * d_own;
            if wt(i) == 0.0 {
                continue;
            }
            for c in means.iter().flatten() {
                prop_assert!(d_own <= d2m(p, c) + 1e-6, "household {} is nearer another centre", i);
            }
        }
        prop_assert!((out.inertia_m2 - inertia).abs() <= 1e-9 * inertia + 1e-6, "{} vs {}", out.inertia_m2, inertia);
        // The reported centres are those means, as lon/lat.
        for (j, m) in means.iter().enumerate() {
            if let Some(m) = m {
                let (lon, lat) = crate::sphere::lonlat_from_xyz(*m);
                let (glon, glat) = out.centres_lonlat[j];
                prop_assert!((lon - glon).abs() < 1e-9 && (lat - glat).abs() < 1e-9, "centre {}", j);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn converges_to_a_lloyd_fixed_point(
            ll in prop::collection::vec((-77.05f64..-76.95, -12.05f64..-11.95), 1..150),
            k in 1usize..9,
            seed in 0u64..1000,
        ) {
            check_fixed_point(&ll, None, k, seed)?;
        }

        #[test]
        fn converges_to_a_weighted_lloyd_fixed_point(
            lw in prop::collection::vec(
                ((-77.05f64..-76.95, -12.05f64..-11.95), prop_oneof![Just(0.0), Just(1.0), 0.0f64..5.0]),
                2..150,
            ),
            k in 1usize..9,
            seed in 0u64..1000,
        ) {
            let (ll, w): (Vec<(f64, f64)>, Vec<f64>) = lw.into_iter().unzip();
            prop_assume!(w.iter().any(|&x| x > 0.0));
            check_fixed_point(&ll, Some(&w), k, seed)?;
        }
    }

    #[test]
    fn need_weights_pull_the_centre() {
        let pts: Vec<Xyz> =
            [(-77.0, -12.0), (-76.99, -12.0), (-76.98, -12.0)].iter().map(|&(a, b)| xyz_from_lonlat(a, b)).collect();
        let even = run(&pts, None, 1, 1).centres_lonlat[0].0;
        let pulled = run(&pts, Some(&[0.0, 0.0, 1.0]), 1, 1).centres_lonlat[0].0;
        assert!((even + 76.99).abs() < 1e-6);
        assert!((pulled + 76.98).abs() < 1e-6);
    }
}
