//! Hot spots: Getis-Ord Gi* (Getis & Ord 1995) with the Benjamini–Hochberg false discovery
//! rate (Benjamini & Hochberg 1995), exact in great-circle metres.
//!
//! This module owns the statistic, its p-values, the multiple-testing correction and the
//! suggested distance band. The CLI (`needmap hotspots`), the `[hotspots]` section of an
//! analysis and the app only call [`hotspots`] (or [`gi_star`] with a band already chosen).
//!
//! # The statistic
//! For household i, binary weights: w_ij = 1 for every household j within `band_m` metres
//! along the ground, **i itself included**, else 0. With x̄ and S the mean and the population
//! standard deviation of the value over all n households that have one, and W_i = Σ_j w_ij
//! (reported as `neighbours`):
//!
//! Gi* = (Σ_j w_ij x_j − x̄ W_i) / (S · √((n W_i − W_i²) / (n − 1)))
//!
//! (Getis, A. & Ord, J. K. (1995). Local spatial autocorrelation statistics: distributional
//! issues and an application. *Geographical Analysis* 27(4), 286–306; the form ArcGIS's
//! "Hot Spot Analysis" documents.) Gi* is a z-score; p is its two-sided normal p-value.
//!
//! # Classes
//! n simultaneous tests at 5 % would call about 5 % of a patternless survey "hot". `hot` is
//! therefore decided by the Benjamini–Hochberg step-up procedure at false discovery rate q
//! (`fdr`, default 0.05) over the m households tested (Benjamini, Y. & Hochberg, Y. (1995).
//! Controlling the false discovery rate. *J. R. Stat. Soc. B* 57(1), 289–300): with the
//! p-values sorted, p₍₁₎ ≤ … ≤ p₍ₘ₎, and k the largest rank with p₍ₖ₎ ≤ k q / m, the
//! households with p ≤ p₍ₖ₎ are significant: `1` hot spot (z > 0), `-1` cold spot (z < 0);
//! every other household is `0`.
//!
//! `bin` is ArcGIS's `Gi_Bin` **without** its FDR option, i.e. uncorrected: ±3, ±2, ±1 for
//! |z| ≥ 2.576, 1.960, 1.645 (99, 95, 90 % confidence), 0 otherwise. It is what ArcGIS users
//! expect on a map legend; `hot` is the answer to "which spots are real".
//!
//! # Households not tested
//! - a value that is missing or not a finite number: the household is left out of the test
//!   altogether (not in n, not anyone's neighbour); `neighbours` is 0;
//! - W_i = 1 (no neighbour but itself): its "spot" would only be its own value, not a
//!   spatial concentration;
//! - W_i = n (the band holds every household): the denominator is 0.
//!
//! These have no z and no p (`None`, empty in CSV), `hot` and `bin` 0, are not counted among
//! the m tests, and each kind is counted in a note. A value with no variance at all is an
//! error ([`HotspotError::ZeroVariance`]).
//!
//! # The suggested band
//! When no band is given, [`suggest_band`]: the smallest distance at which every household
//! has at least 8 other households within it — the largest distance from a household to its
//! 8th nearest other household — rounded up to two significant figures. When that largest
//! distance is more than twice the 99th percentile (a few remote households), the 99th
//! percentile is used instead and the note says how many households have fewer than 8.
//!
//! # Algorithm and cost
//! Points are unit vectors and the band the chord `2·sin(d / 2R)` (see [`crate::sphere`]), so
//! the test is exact at any extent, across the antimeridian and at the poles. The households
//! are sorted into a 3D grid of cells of side half a chord; each household's neighbours lie
//! in the 5×5×5 cells around its own. For each of those cells the bounding box of its points
//! decides: wholly outside the band (skipped), wholly inside (its precomputed sum and count
//! added), or across the edge (each point tested). Sums run in parallel (rayon) over chunks
//! of households, each household summing in a fixed order, so the output does not depend on
//! the thread count. Cost: O(n log n) for the sort plus, per household, the points of the
//! cells across its band's edge.
//!
//! The z-scores use the values centred on x̄ (Σ_j w_ij (x_j − x̄), the same sum, better
//! conditioned). `needmap hotspots` on 1M households with ~100 neighbours each: 3.6 s for the
//! whole process (2.1 s of CPU) on a busy 2-core machine (docs/BENCHMARKS.md).
//!
//! # Examples
//! ```
//! use needmap::hotspots::gi_star;
//! use needmap::progress::Progress;
//! use needmap::sphere::xyz_from_lonlat;
//! // Two villages 50 km apart, ten households each within 100 m: need is high in the first
//! // and low in the second.
//! let mut pts = Vec::new();
//! let mut need = Vec::new();
//! for (lon, base) in [(-77.0, 0.8), (-76.5, 0.2)] {
//!     for i in 0..10 {
//!         pts.push(xyz_from_lonlat(lon + i as f64 * 0.0001, -12.0));
//!         need.push(base + (i % 3) as f64 * 0.05);
//!     }
//! }
//! let r = gi_star(&pts, &need, 1_000.0, 0.05, &Progress::new()).unwrap();
//! assert_eq!(r.hot, [[1; 10], [-1; 10]].concat());
//! assert_eq!(r.neighbours, vec![10; 20]);
//! assert!(r.z[0].unwrap() > 4.0 && r.p[0].unwrap() < 1e-4);
//! assert_eq!(r.bin[0], 3);
//! ```

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::index::Index;
use crate::progress::{Cancelled, Progress, lap};
use crate::sphere::{Xyz, chord_from_metres};

/// `value` naming the need score rather than a column.
pub const NEED: &str = "need";

/// Settings of the hot-spot analysis (`[hotspots]` in analysis.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HotspotParams {
    /// `"need"` (the need score) or the name of a numeric column.
    pub value: String,
    /// Distance band in metres along the ground; absent = suggested (see [`suggest_band`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band_m: Option<f64>,
    /// Benjamini–Hochberg false discovery rate q, in (0, 1).
    pub fdr: f64,
}

impl Default for HotspotParams {
    fn default() -> Self {
        Self { value: NEED.into(), band_m: None, fdr: 0.05 }
    }
}

impl HotspotParams {
    /// The `needmap hotspots` flags (`None` = not given) over these settings.
    pub fn apply_flags(&mut self, value: Option<String>, band_m: Option<f64>, fdr: Option<f64>) {
        if let Some(v) = value {
            self.value = v;
        }
        if band_m.is_some() {
            self.band_m = band_m;
        }
        if let Some(q) = fdr {
            self.fdr = q;
        }
    }

    /// Checks the settings that need no data (the band and the FDR).
    pub fn check(&self) -> Result<(), HotspotError> {
        match (self.band_m, self.fdr) {
            (Some(b), _) if !(b > 0.0 && b.is_finite()) => Err(HotspotError::BadBand(b)),
            (_, q) if !(q > 0.0 && q < 1.0) => Err(HotspotError::BadFdr(q)),
            _ => Ok(()),
        }
    }
}

/// How many households ended where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct HotspotCounts {
    /// All households given.
    pub households: usize,
    /// Households with a z and a p (the m of Benjamini–Hochberg).
    pub tested: usize,
    pub hot: usize,
    pub cold: usize,
    /// Tested and not significant.
    pub not_significant: usize,
    /// Not tested: no finite value.
    pub missing_value: usize,
    /// Not tested: no household but itself within the band.
    pub isolated: usize,
    /// Not tested: the band holds every household.
    pub whole_band: usize,
}

impl HotspotCounts {
    pub fn not_tested(&self) -> usize {
        self.missing_value + self.isolated + self.whole_band
    }
}

/// Gi* of every household, in input order (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotResult {
    /// The band used, metres.
    pub band_m: f64,
    /// How the band was chosen, in words.
    pub band_note: String,
    /// The false discovery rate q.
    pub fdr: f64,
    /// Gi* z-score; `None` when not tested.
    pub z: Vec<Option<f64>>,
    /// Two-sided p-value; `None` when not tested.
    pub p: Vec<Option<f64>>,
    /// W_i: households within the band, itself included; 0 when the household has no value.
    pub neighbours: Vec<u32>,
    /// After Benjamini–Hochberg: 1 hot spot, -1 cold spot, 0 not significant or not tested.
    pub hot: Vec<i8>,
    /// Uncorrected confidence bin as ArcGIS's Gi_Bin: ±3 (99 %), ±2 (95 %), ±1 (90 %), 0.
    pub bin: Vec<i8>,
    /// Largest p-value declared significant (`None`: none was).
    pub p_cutoff: Option<f64>,
    pub counts: HotspotCounts,
    /// Things the user should know: households not tested and why.
    pub notes: Vec<String>,
}

impl HotspotResult {
    /// One line: `band 500 m, 12 hot, 3 cold, 985 not significant (4 of them not tested), FDR q 0.05`.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let untested =
            if c.not_tested() > 0 { format!(" ({} of them not tested)", c.not_tested()) } else { String::new() };
        format!(
            "band {} m, {} hot, {} cold, {} not significant{untested}, FDR q {}",
            fmt_m(self.band_m),
            c.hot,
            c.cold,
            c.households - c.hot - c.cold,
            self.fdr
        )
    }
}

/// A suggested band and the rule that gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandSuggestion {
    pub band_m: f64,
    /// Households with fewer than 8 other households within the band.
    pub fewer_than_8: usize,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HotspotError {
    #[error("band {0} m: the band must be a positive number of metres")]
    BadBand(f64),
    #[error("FDR q {0}: the false discovery rate must be between 0 and 1, e.g. 0.05")]
    BadFdr(f64),
    #[error("{0} values for {1} households")]
    Length(usize, usize),
    #[error("no household has a value; choose a value that the households have")]
    NoValues,
    #[error(
        "the value is {value} for all {n} households that have one: Gi* compares each neighbourhood with \
         the whole survey and needs a value that varies; choose another value"
    )]
    ZeroVariance { value: f64, n: usize },
    #[error("only {0} households have a value: suggesting a band needs at least 9 (8 neighbours each); give the band")]
    TooFewForBand(usize),
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for HotspotError {
    fn from(_: Cancelled) -> Self {
        HotspotError::Cancelled
    }
}

/// Neighbours a suggested band gives every household (besides itself).
pub const SUGGEST_NEIGHBOURS: usize = 8;

/// Runs the analysis: the band from `params` or suggested, then [`gi_star`].
pub fn hotspots(
    points: &[Xyz],
    values: &[f64],
    params: &HotspotParams,
    progress: &Progress,
) -> Result<HotspotResult, HotspotError> {
    check_params(params.band_m, params.fdr)?;
    if values.len() != points.len() {
        return Err(HotspotError::Length(values.len(), points.len()));
    }
    let (band_m, band_note) = match params.band_m {
        Some(b) => (b, format!("band {} m, as given", fmt_m(b))),
        None => {
            let with_value: Vec<Xyz> =
                points.iter().zip(values).filter(|(_, v)| v.is_finite()).map(|(p, _)| *p).collect();
            if with_value.is_empty() {
                return Err(HotspotError::NoValues);
            }
            progress.stage("hotspots_band", with_value.len() as u64);
            let s = suggest_band(&with_value, progress)?;
            (s.band_m, s.note)
        }
    };
    let mut r = gi_star(points, values, band_m, params.fdr, progress)?;
    r.band_note = band_note;
    Ok(r)
}

fn check_params(band_m: Option<f64>, fdr: f64) -> Result<(), HotspotError> {
    if let Some(b) = band_m
        && !(b > 0.0 && b.is_finite())
    {
        return Err(HotspotError::BadBand(b));
    }
    if !(fdr > 0.0 && fdr < 1.0) {
        return Err(HotspotError::BadFdr(fdr));
    }
    Ok(())
}

/// Metres for messages: whole metres when whole, else as given.
fn fmt_m(m: f64) -> String {
    if m.fract() == 0.0 && m.abs() < 1e15 { format!("{}", m as i64) } else { format!("{m}") }
}

/// Gi* of every household with binary weights over `band_m` metres (itself included),
/// p-values, Benjamini–Hochberg classes at `fdr` and ArcGIS confidence bins. See the module
/// documentation for the households that are not tested.
pub fn gi_star(
    points: &[Xyz],
    values: &[f64],
    band_m: f64,
    fdr: f64,
    progress: &Progress,
) -> Result<HotspotResult, HotspotError> {
    check_params(Some(band_m), fdr)?;
    let total = points.len();
    if values.len() != total {
        return Err(HotspotError::Length(values.len(), total));
    }
    // Households with a value, and the moments over them (input order: deterministic).
    let with_value: Vec<u32> = (0..total as u32).filter(|&i| values[i as usize].is_finite()).collect();
    let n = with_value.len();
    if n == 0 {
        return Err(HotspotError::NoValues);
    }
    let vals = with_value.iter().map(|&i| values[i as usize]);
    let (lo, hi) = vals.clone().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let mean = vals.clone().sum::<f64>() / n as f64;
    let var = vals.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let s = var.sqrt();
    if lo == hi || !(s > 0.0 && s.is_finite()) {
        return Err(HotspotError::ZeroVariance { value: lo, n });
    }
    progress.stage("hotspots", n as u64);
    let t = std::time::Instant::now();
    let pts: Vec<Xyz> = with_value.iter().map(|&i| points[i as usize]).collect();
    let centred: Vec<f64> = with_value.iter().map(|&i| values[i as usize] - mean).collect();
    let r = chord_from_metres(band_m);
    let sums = neighbour_sums(&pts, &centred, r, None, progress)?;
    lap("hotspots: neighbour sums", t);
    let t = std::time::Instant::now();

    let mut z = vec![None; total];
    let mut neighbours = vec![0u32; total];
    let nf = n as f64;
    let (mut isolated, mut whole_band) = (0, 0);
    for (k, &i) in with_value.iter().enumerate() {
        let (sum, w) = sums[k];
        neighbours[i as usize] = w;
        if w <= 1 {
            isolated += 1;
        } else if w as usize >= n {
            whole_band += 1;
        } else {
            let wf = w as f64;
            let den = s * ((nf * wf - wf * wf) / (nf - 1.0)).sqrt();
            z[i as usize] = Some(sum / den);
        }
    }
    progress.check()?;
    let p: Vec<Option<f64>> = z.par_iter().map(|z| z.map(p_two_sided)).collect();
    let tested: Vec<f64> = p.iter().flatten().copied().collect();
    let p_cutoff = bh_cutoff(&tested, fdr);
    let hot: Vec<i8> = z
        .iter()
        .zip(&p)
        .map(|(z, p)| match (z, p, p_cutoff) {
            (Some(z), Some(p), Some(c)) if *p <= c && *z != 0.0 => z.signum() as i8,
            _ => 0,
        })
        .collect();
    let bin: Vec<i8> = z.iter().map(|z| z.map_or(0, confidence_bin)).collect();
    lap("hotspots: z, p, classes", t);
    let counts = HotspotCounts {
        households: total,
        tested: tested.len(),
        hot: hot.iter().filter(|&&h| h > 0).count(),
        cold: hot.iter().filter(|&&h| h < 0).count(),
        not_significant: tested.len() - hot.iter().filter(|&&h| h != 0).count(),
        missing_value: total - n,
        isolated,
        whole_band,
    };
    Ok(HotspotResult {
        band_m,
        band_note: format!("band {} m, as given", fmt_m(band_m)),
        fdr,
        notes: notes(&counts, band_m),
        z,
        p,
        neighbours,
        hot,
        bin,
        p_cutoff,
        counts,
    })
}

fn notes(c: &HotspotCounts, band_m: f64) -> Vec<String> {
    let mut notes = Vec::new();
    if c.missing_value > 0 {
        notes.push(format!(
            "{} households have no value (missing or not a number) and are left out of the test: no z, p or \
             neighbours, hot 0",
            c.missing_value
        ));
    }
    if c.isolated > 0 {
        notes.push(format!(
            "{} households have no other household within {} m and are not tested (no z or p, hot 0); a \
             larger band reaches them",
            c.isolated,
            fmt_m(band_m)
        ));
    }
    if c.whole_band > 0 {
        notes.push(format!(
            "{} households have every household within {} m, where Gi* is undefined, and are not tested (no z \
             or p, hot 0); a smaller band tells places apart",
            c.whole_band,
            fmt_m(band_m)
        ));
    }
    notes
}

/// ArcGIS's Gi_Bin for a z-score (uncorrected): ±3 at 99 %, ±2 at 95 %, ±1 at 90 %, else 0.
pub fn confidence_bin(z: f64) -> i8 {
    let a = z.abs();
    let b = if a >= 2.576 {
        3
    } else if a >= 1.960 {
        2
    } else if a >= 1.645 {
        1
    } else {
        0
    };
    if z < 0.0 { -b } else { b }
}

/// The Benjamini–Hochberg step-up cutoff at false discovery rate `q` over these p-values:
/// the largest p₍ₖ₎ with p₍ₖ₎ ≤ k q / m. Every p-value at or below it is significant; `None`
/// when none is.
///
/// ```
/// // Benjamini & Hochberg (1995), section 4: fifteen p-values, q = 0.05: four rejected.
/// let p = [0.0201, 0.0278, 0.0001, 0.0004, 0.0019, 0.0095, 0.0298, 0.0344, 0.0459, 0.3240,
///          0.4262, 0.5719, 0.6528, 0.7590, 1.0];
/// assert_eq!(needmap::hotspots::bh_cutoff(&p, 0.05), Some(0.0095));
/// ```
pub fn bh_cutoff(p: &[f64], q: f64) -> Option<f64> {
    let m = p.len();
    let mut sorted: Vec<f64> = p.to_vec();
    sorted.par_sort_unstable_by(f64::total_cmp);
    let mut cutoff = None;
    for (k, &pk) in sorted.iter().enumerate() {
        if pk <= (k + 1) as f64 * q / m as f64 {
            cutoff = Some(pk);
        }
    }
    cutoff
}

/// Two-sided standard normal p-value of a z-score: P(|Z| ≥ |z|) = erfc(|z| / √2).
pub fn p_two_sided(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// The complementary error function, to a few units in 1e-15 relative.
///
/// From 0.5 to 6 (where the p-values of Gi* mostly fall): a Taylor expansion around the
/// nearest multiple x₀ of 1/16, erfc(x₀ + h) = erfc(x₀) − (2/√π) e^(−x₀²) Σₙ (−1)ⁿ⁻¹
/// Hₙ₋₁(x₀) hⁿ / n! (Hₙ the Hermite polynomials, |h| ≤ 1/32: 16 terms, no division), from a
/// table of erfc(x₀) built once by the two methods below. Below 0.5: the series
/// erf x = (2/√π) e^(−x²) Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), whose terms are all positive (no
/// cancellation), and erfc = 1 − erf (≥ 0.48 there, so nothing is lost). From 6: the
/// continued fraction erfc x = (e^(−x²)/√π) / (x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) by the
/// modified Lentz method. Underflows to 0 past x ≈ 27.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if (TABLE_FROM..TABLE_TO).contains(&x) {
        return erfc_taylor(x);
    }
    erfc_direct(x)
}

const TABLE_FROM: f64 = 0.5;
const TABLE_TO: f64 = 6.0;
const TABLE_STEP: f64 = 1.0 / 16.0;

/// erfc by the series (below 1) or the continued fraction (from 1): slower, and what the
/// table is built from.
fn erfc_direct(x: f64) -> f64 {
    const FRAC_2_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;
    if x < 1.0 {
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        let mut k = 0.0;
        loop {
            k += 1.0;
            term *= 2.0 * x2 / (2.0 * k + 1.0);
            sum += term;
            if term <= sum * 1e-17 {
                break;
            }
        }
        return 1.0 - FRAC_2_SQRT_PI * (-x2).exp() * sum;
    }
    if x > 27.3 {
        return 0.0;
    }
    const TINY: f64 = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (f, 0.0);
    for k in 1..1000 {
        let a = k as f64 * 0.5;
        d = x + a * d;
        if d == 0.0 {
            d = TINY;
        }
        c = x + a / c;
        if c == 0.0 {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    0.5 * FRAC_2_SQRT_PI * (-x * x).exp() / f
}

/// (erfc(x₀), (2/√π) e^(−x₀²)) at x₀ = k/16 from 0.5 to 6 inclusive.
fn erfc_table() -> &'static [(f64, f64)] {
    static TABLE: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let (from, to) = ((TABLE_FROM / TABLE_STEP) as usize, (TABLE_TO / TABLE_STEP) as usize);
        (0..=to)
            .map(|k| {
                let x0 = k as f64 * TABLE_STEP;
                if k < from {
                    (f64::NAN, f64::NAN)
                } else {
                    (erfc_direct(x0), std::f64::consts::FRAC_2_SQRT_PI * (-x0 * x0).exp())
                }
            })
            .collect()
    })
}

fn erfc_taylor(x: f64) -> f64 {
    const TERMS: usize = 16;
    const INV: [f64; TERMS + 1] = {
        let mut v = [0.0; TERMS + 1];
        let mut n = 1;
        while n <= TERMS {
            v[n] = 1.0 / n as f64;
            n += 1;
        }
        v
    };
    let k = (x / TABLE_STEP).round();
    let x0 = k * TABLE_STEP;
    let h = x - x0;
    let (e0, g0) = erfc_table()[k as usize];
    // Σₙ (−1)ⁿ⁻¹ Hₙ₋₁(x₀) hⁿ / n!, with (−1)ⁿ⁻¹ hⁿ / n! kept in `t`.
    let (mut h_prev, mut h_cur) = (0.0, 1.0); // H₋₁ (unused), H₀
    let mut t = h;
    let mut sum = h_cur * t;
    for n in 2..=TERMS {
        // H_{n-1} from H_{n-2} and H_{n-3}: H_{m+1} = 2x H_m − 2m H_{m−1}.
        let m = (n - 2) as f64;
        let next = 2.0 * x0 * h_cur - 2.0 * m * h_prev;
        h_prev = h_cur;
        h_cur = next;
        t *= -h * INV[n];
        sum += h_cur * t;
    }
    e0 - g0 * sum
}

/// Households sorted into cubes of side `side`; each cube a run of the sorted points, with
/// the bounding box of its points and the sum of their values.
struct Grid {
    /// Sorted position → input index.
    order: Vec<u32>,
    /// Cell of each sorted position.
    cell_of: Vec<u32>,
    /// Point range of each cell.
    cells: Vec<(u32, u32)>,
    /// (i, j, k) of each cell, and the cell of each (i, j, k).
    keys: Vec<[i64; 3]>,
    lookup: FxHashMap<[i64; 3], u32>,
}

impl Grid {
    fn new(points: &[Xyz], side: f64) -> Self {
        let inv = 1.0 / side;
        let key = |p: &Xyz| [(p[0] * inv).floor() as i64, (p[1] * inv).floor() as i64, (p[2] * inv).floor() as i64];
        let mut keyed: Vec<([i64; 3], u32)> = points.par_iter().enumerate().map(|(i, p)| (key(p), i as u32)).collect();
        keyed.par_sort_unstable();
        let order: Vec<u32> = keyed.iter().map(|&(_, i)| i).collect();
        let mut cell_of = Vec::with_capacity(keyed.len());
        let mut cells = Vec::new();
        let mut keys = Vec::new();
        let mut s = 0;
        while s < keyed.len() {
            let k = keyed[s].0;
            let mut e = s + 1;
            while e < keyed.len() && keyed[e].0 == k {
                e += 1;
            }
            cell_of.extend(std::iter::repeat_n(cells.len() as u32, e - s));
            cells.push((s as u32, e as u32));
            keys.push(k);
            s = e;
        }
        let lookup = keys.iter().enumerate().map(|(c, &k)| (k, c as u32)).collect();
        Self { order, cell_of, cells, keys, lookup }
    }

    /// The non-empty cells within `reach` cells of cell `c` along every axis, in ascending
    /// order.
    fn around(&self, c: u32, reach: i64, out: &mut Vec<u32>) {
        out.clear();
        let [i, j, k] = self.keys[c as usize];
        for di in -reach..=reach {
            for dj in -reach..=reach {
                for dk in -reach..=reach {
                    if let Some(&x) = self.lookup.get(&[i + di, j + dj, k + dk]) {
                        out.push(x);
                    }
                }
            }
        }
    }
}

/// Cells per band along each axis: cells of side r / REACH, neighbours within REACH cells.
/// Smaller cells lie wholly inside or outside a household's band more often (no distance
/// test per point), at the price of more cells to look at.
const REACH: i64 = 2;

/// For each point: (Σ values of the points within chord `r`, itself included; how many).
///
/// Per household and nearby cell, the bounding box of the cell's points decides: wholly out
/// of the band (skipped), wholly in (its precomputed sum and count added), or across its edge
/// (each point tested). The sum runs over four lanes in a fixed pattern, so it is the same
/// whatever the thread count.
///
/// With `stop_at`, a household's count stops once it reaches that many (cells at a time, so
/// it may pass it): enough to tell which households have that many neighbours.
fn neighbour_sums(
    points: &[Xyz],
    values: &[f64],
    r: f64,
    stop_at: Option<u32>,
    progress: &Progress,
) -> Result<Vec<(f64, u32)>, Cancelled> {
    let stop_at = stop_at.unwrap_or(u32::MAX);
    let n = points.len();
    let t = std::time::Instant::now();
    let grid = Grid::new(points, r / REACH as f64);
    progress.check()?;
    // Sorted structure of arrays: the inner loop reads three coordinates and a value.
    let xs: Vec<f64> = grid.order.par_iter().map(|&i| points[i as usize][0]).collect();
    let ys: Vec<f64> = grid.order.par_iter().map(|&i| points[i as usize][1]).collect();
    let zs: Vec<f64> = grid.order.par_iter().map(|&i| points[i as usize][2]).collect();
    let vs: Vec<f64> = grid.order.par_iter().map(|&i| values[i as usize]).collect();
    // Per cell: bounding box of its points [lo; 3], [hi; 3], and the sum of their values.
    let boxes: Vec<([f64; 3], [f64; 3], f64)> = grid
        .cells
        .par_iter()
        .map(|&(a, b)| {
            let (mut lo, mut hi, mut sum) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3], 0.0);
            for s in a as usize..b as usize {
                for (d, v) in [xs[s], ys[s], zs[s]].into_iter().enumerate() {
                    lo[d] = lo[d].min(v);
                    hi[d] = hi[d].max(v);
                }
                sum += vs[s];
            }
            (lo, hi, sum)
        })
        .collect();
    lap("hotspots: grid", t);
    let r2 = r * r;
    // Margins so that rounding in the box tests can only send a cell to the per-point test.
    let (out2, in2) = (r2 * (1.0 + 1e-9), r2 * (1.0 - 1e-9));
    const CHUNK: usize = 4096;
    let mut sorted_out = vec![(0.0, 0u32); n];
    sorted_out.par_chunks_mut(CHUNK).enumerate().try_for_each(|(ci, out)| -> Result<(), Cancelled> {
        progress.check()?;
        let mut near = Vec::with_capacity(((2 * REACH + 1) as usize).pow(3));
        let mut cell = u32::MAX;
        for (o, slot) in out.iter_mut().enumerate() {
            let s = ci * CHUNK + o;
            if grid.cell_of[s] != cell {
                cell = grid.cell_of[s];
                grid.around(cell, REACH, &mut near);
            }
            let p = [xs[s], ys[s], zs[s]];
            let mut lanes = [0.0f64; 4];
            let mut whole = 0.0;
            let mut w = 0u32;
            for &c in &near {
                if w >= stop_at {
                    break;
                }
                let (lo, hi, cell_sum) = &boxes[c as usize];
                let (mut dmin, mut dmax) = (0.0, 0.0);
                for d in 0..3 {
                    let gap = (lo[d] - p[d]).max(p[d] - hi[d]).max(0.0);
                    let far = (p[d] - lo[d]).max(hi[d] - p[d]);
                    dmin += gap * gap;
                    dmax += far * far;
                }
                let (a, b) = grid.cells[c as usize];
                if dmin > out2 {
                    continue;
                }
                if dmax <= in2 {
                    whole += cell_sum;
                    w += b - a;
                    continue;
                }
                let (a, b) = (a as usize, b as usize);
                let (cx, cy, cz, cv) = (&xs[a..b], &ys[a..b], &zs[a..b], &vs[a..b]);
                let mut l = 0;
                let mut t = 0;
                while t < cx.len() {
                    let (dx, dy, dz) = (cx[t] - p[0], cy[t] - p[1], cz[t] - p[2]);
                    let inside = dx * dx + dy * dy + dz * dz <= r2;
                    lanes[l] += if inside { cv[t] } else { 0.0 };
                    w += inside as u32;
                    l = (l + 1) & 3;
                    t += 1;
                }
            }
            *slot = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + whole, w);
        }
        progress.add(out.len() as u64);
        Ok(())
    })?;
    let mut sums = vec![(0.0, 0u32); n];
    for (s, &i) in grid.order.iter().enumerate() {
        sums[i as usize] = sorted_out[s];
    }
    Ok(sums)
}

/// Suggests a band for these households (see the module documentation).
pub fn suggest_band(points: &[Xyz], progress: &Progress) -> Result<BandSuggestion, HotspotError> {
    suggest_band_with(points, progress, 50_000)
}

/// The distances from households to their k-th nearest other household, exactly, as far
/// as the band rule needs them: the sorted tail of them, and how many households are below
/// the tail. From `two_phase_from` households on, only those with fewer than k others
/// within a sample's 95th percentile are searched (each R-tree search costs microseconds;
/// one grid count over all households costs a fraction of that); the others' distances are
/// below the tail, which then still holds the 99th percentile and the largest.
fn kth_distance_tail(
    points: &[Xyz],
    k: usize,
    progress: &Progress,
    two_phase_from: usize,
) -> Result<(Vec<f64>, usize), Cancelled> {
    let n = points.len();
    let index = Index::new(points);
    progress.check()?;
    // The (k+1)-th nearest: the household itself (or a duplicate, at 0 m too) comes first.
    let kth = |p: &Xyz| index.kth_distance_m(*p, k + 1).unwrap_or(f64::INFINITY);
    let rank99 = ((n as f64 * 0.99).ceil() as usize).clamp(1, n) - 1;
    if n >= two_phase_from {
        let step = n.div_ceil(20_000).max(1);
        let mut sample: Vec<f64> = points.par_iter().step_by(step).map(kth).collect();
        sample.sort_by(f64::total_cmp);
        let t_lo = sample[sample.len() * 95 / 100];
        if t_lo > 0.0 && t_lo.is_finite() {
            let counts = neighbour_sums(points, &vec![0.0; n], chord_from_metres(t_lo), Some(k as u32 + 1), progress)?;
            let far: Vec<usize> = (0..n).filter(|&i| (counts[i].1 as usize) <= k).collect();
            if far.len() >= n - rank99 {
                let mut tail: Vec<f64> = far.par_iter().map(|&i| kth(&points[i])).collect();
                tail.par_sort_unstable_by(f64::total_cmp);
                return Ok((tail, n - far.len()));
            }
        }
    }
    let mut d: Vec<f64> = points
        .par_chunks(4096)
        .map(|c| -> Result<Vec<f64>, Cancelled> {
            progress.check()?;
            let v = c.iter().map(kth).collect();
            progress.add(c.len() as u64);
            Ok(v)
        })
        .collect::<Result<Vec<Vec<f64>>, Cancelled>>()?
        .concat();
    d.par_sort_unstable_by(f64::total_cmp);
    Ok((d, 0))
}

fn suggest_band_with(
    points: &[Xyz],
    progress: &Progress,
    two_phase_from: usize,
) -> Result<BandSuggestion, HotspotError> {
    let k = SUGGEST_NEIGHBOURS;
    let n = points.len();
    if n <= k {
        return Err(HotspotError::TooFewForBand(n));
    }
    let (tail, below) = kth_distance_tail(points, k, progress, two_phase_from)?;
    let max = tail[tail.len() - 1];
    let p99 = tail[((n as f64 * 0.99).ceil() as usize).clamp(1, n) - 1 - below];
    let (band_m, note) = if max <= 2.0 * p99 {
        let b = round_up_2sig(max).max(1.0);
        (
            b,
            format!(
                "band {} m suggested: the smallest distance at which every household has at least {k} other \
                 households within it (the farthest 8th-nearest household is {} m away), rounded up to 2 \
                 significant figures, at least 1 m",
                fmt_m(b),
                fmt_dist(max)
            ),
        )
    } else {
        let b = round_up_2sig(p99).max(1.0);
        (b, String::new())
    };
    let fewer_than_8 = tail.len() - tail.partition_point(|&x| x <= band_m);
    let note = if note.is_empty() {
        format!(
            "band {} m suggested: the 99th percentile of the distance from each household to its 8th-nearest \
             other household, rounded up to 2 significant figures; not the largest ({} m, over twice that), so \
             {fewer_than_8} remote households have fewer than {k} other households within the band",
            fmt_m(band_m),
            fmt_dist(max)
        )
    } else {
        note
    };
    Ok(BandSuggestion { band_m, fewer_than_8, note })
}

fn fmt_dist(m: f64) -> String {
    format!("{:.1}", m)
}

/// Rounds up to two significant figures: 437.3 → 440, 0.1234 → 0.13.
fn round_up_2sig(v: f64) -> f64 {
    if !(v > 0.0 && v.is_finite()) {
        return v;
    }
    let exp = v.log10().floor() as i32 - 1;
    let mag = 10f64.powi(exp);
    let r = (v / mag).ceil() * mag;
    // Cancel the representation error of the multiplication (e.g. 44 × 10 is exact, 13 × 0.01
    // is not): the shortest decimal with 2 significant figures.
    let r = format!("{:.*e}", 1, r).parse::<f64>().unwrap_or(r);
    if r < v { r + mag } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::xyz_from_lonlat;

    #[test]
    fn erfc_matches_reference_values() {
        // Python's math.erfc (correctly rounded libm).
        let want = [
            (0.0, 1.0),
            (0.1, 0.8875370839817152),
            (0.3, 0.6713732405408726),
            (0.7, 0.32219880616258156),
            (0.98, 0.16576849565979213),
            (1.23456, 0.080822856250091),
            (2.6, 0.00023603441652934908),
            (3.3, 3.0577097964381654e-06),
            (4.44, 3.405205234033544e-10),
            (5.9, 7.190409783550478e-17),
            (5.99, 2.4300455127321346e-17),
            (6.5, 3.8421483271206475e-20),
            (7.0, 4.183825607779414e-23),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028513),
            (1.5, 0.033894853524689274),
            (0.999, 0.15771472979350307),
            (1.499, 0.03401396234814331),
            (1.999, 0.004698443348629488),
            (2.0, 0.004677734981047265),
            (2.5, 0.0004069520174449589),
            (3.0, 2.2090496998585438e-05),
            (4.0, 1.541725790028002e-08),
            (5.0, 1.5374597944280351e-12),
            (6.0, 2.1519736712498916e-17),
            (10.0, 2.088487583762545e-45),
            (20.0, 5.3958656116079005e-176),
            (26.0, 5.663192408856143e-296),
        ];
        for (x, e) in want {
            let got = erfc(x);
            assert!(((got - e) / e).abs() < 5e-15, "erfc({x}) = {got}, want {e}");
            assert!((erfc(-x) - (2.0 - e)).abs() < 1e-15, "erfc(-{x})");
        }
        assert_eq!(erfc(40.0), 0.0);
        // Dense check of the table's Taylor expansion against the direct methods (each a few
        // units in 1e-15 off, e.g. at 1.331 the expansion is the closer one).
        for i in 0..=6000 {
            let x = i as f64 * 0.001;
            let (a, b) = (erfc(x), erfc_direct(x));
            assert!(((a - b) / b).abs() < 1e-14, "erfc({x}): {a} vs {b}");
        }
        assert!((p_two_sided(1.959963984540054) - 0.05).abs() < 1e-15);
        assert!((p_two_sided(-2.5758293035489) - 0.01).abs() < 1e-15);
    }

    #[test]
    fn bh_step_up_hand_worked() {
        // Sorted: .001 .011 .012 .019 .026 .05 .3 .6 .8 .9; k q / m = .005 .010 .015 .020 .025 …
        // Rank 2 fails (.011 > .010) but rank 4 passes (.019 ≤ .020): step-up rejects the four
        // smallest. Rank 5 fails (.026 > .025), and so do all above.
        let p = [0.3, 0.019, 0.001, 0.6, 0.012, 0.9, 0.011, 0.05, 0.026, 0.8];
        let c = bh_cutoff(&p, 0.05);
        assert_eq!(c, Some(0.019));
        let rejected: Vec<usize> = (0..10).filter(|&i| p[i] <= c.unwrap()).collect();
        assert_eq!(rejected, [1, 2, 4, 6]);
        assert_eq!(bh_cutoff(&[0.2, 0.5, 0.9], 0.05), None);
        assert_eq!(bh_cutoff(&[], 0.05), None);
    }

    #[test]
    fn bins_follow_arcgis_thresholds() {
        let z = [0.0, 1.6, 1.645, 1.96, 2.575, 2.576, -1.7, -2.0, -3.0];
        let b: Vec<i8> = z.iter().map(|&z| confidence_bin(z)).collect();
        assert_eq!(b, [0, 0, 1, 2, 2, 3, -1, -2, -3]);
    }

    #[test]
    fn rounding_up_to_two_significant_figures() {
        assert_eq!(round_up_2sig(437.3), 440.0);
        assert_eq!(round_up_2sig(440.0), 440.0);
        assert_eq!(round_up_2sig(0.1234), 0.13);
        assert_eq!(round_up_2sig(99.1), 100.0);
        assert_eq!(round_up_2sig(12_345.0), 13_000.0);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let pts = [xyz_from_lonlat(0.0, 0.0), xyz_from_lonlat(0.0, 0.001)];
        let pr = Progress::new();
        assert_eq!(gi_star(&pts, &[1.0, 2.0], 0.0, 0.05, &pr), Err(HotspotError::BadBand(0.0)));
        assert_eq!(gi_star(&pts, &[1.0, 2.0], 100.0, 1.0, &pr), Err(HotspotError::BadFdr(1.0)));
        assert_eq!(gi_star(&pts, &[1.0], 100.0, 0.05, &pr), Err(HotspotError::Length(1, 2)));
        assert_eq!(gi_star(&pts, &[f64::NAN, f64::NAN], 100.0, 0.05, &pr), Err(HotspotError::NoValues));
    }

    #[test]
    fn cancel_stops_the_work() {
        let pts: Vec<Xyz> = (0..100).map(|i| xyz_from_lonlat(i as f64 * 1e-4, 0.0)).collect();
        let v: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let pr = Progress::new();
        pr.cancel();
        assert_eq!(gi_star(&pts, &v, 50.0, 0.05, &pr), Err(HotspotError::Cancelled));
    }

    #[test]
    fn band_suggestion_gives_every_household_eight_neighbours() {
        // A 10 × 10 grid 100 m apart, and one household 50 km away: that one would need a
        // 50 km band, so the 99th percentile is used and it is named.
        let step = 100.0 / 111_195.08;
        let mut pts: Vec<Xyz> =
            (0..100).map(|i| xyz_from_lonlat((i % 10) as f64 * step, (i / 10) as f64 * step)).collect();
        let s = suggest_band(&pts, &Progress::new()).unwrap();
        // A corner's 8th-nearest other household is √(2²+2²)·100 m ≈ 283 m away (or 300 m): 300.
        assert_eq!(s.band_m, 290.0, "{}", s.note);
        assert_eq!(s.fewer_than_8, 0);
        assert!(s.note.contains("every household has at least 8"), "{}", s.note);
        pts.push(xyz_from_lonlat(0.45, 0.0));
        let s = suggest_band(&pts, &Progress::new()).unwrap();
        assert_eq!(s.band_m, 290.0, "{}", s.note);
        assert_eq!(s.fewer_than_8, 1);
        assert!(s.note.contains("99th percentile") && s.note.contains("1 remote households"), "{}", s.note);
        assert_eq!(suggest_band(&pts[..8], &Progress::new()), Err(HotspotError::TooFewForBand(8)));
    }

    #[test]
    fn two_phase_band_suggestion_equals_the_full_search() {
        // Dense towns, a sparse countryside and a few remote households; with and without
        // the remote ones (the capped rule and the plain one).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pts: Vec<Xyz> = Vec::new();
        for i in 0..6000 {
            let (lon, lat, span) =
                if i % 5 == 0 { (-77.0, -12.0, 0.2) } else { (-77.0 + (i % 3) as f64 * 0.05, -12.0, 0.01) };
            pts.push(xyz_from_lonlat(lon + (rnd() - 0.5) * span, lat + (rnd() - 0.5) * span));
        }
        let pr = Progress::new();
        let a = suggest_band_with(&pts, &pr, usize::MAX).unwrap();
        let b = suggest_band_with(&pts, &pr, 0).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.fewer_than_8, 0, "{}", a.note);
        for i in 0..5 {
            pts.push(xyz_from_lonlat(-70.0 + i as f64, -15.0));
        }
        let a = suggest_band_with(&pts, &pr, usize::MAX).unwrap();
        let b = suggest_band_with(&pts, &pr, 0).unwrap();
        assert_eq!(a, b);
        assert!(a.fewer_than_8 >= 5, "{}", a.note);
    }
}
