//! Build sites: where to put up to P new sites so that the most weight (need, critical
//! households, people…) lies within R metres of one of them — the maximal covering location
//! problem (Church & ReVelle 1974, "The maximal covering location problem", *Papers of the
//! Regional Science Association* 32).
//!
//! # Parameters
//! Households (unit vectors) with non-negative weights, candidate locations, optional
//! existing facilities (what they cover counts as covered), the number of sites P and the
//! radius R in great-circle metres — the same sphere as clustering, so a site covers a
//! household 600 m away across the antimeridian exactly as it does in Lima.
//!
//! # Returns
//! A [`Solution`]: the chosen candidates in the order a greedy pass would add them, each
//! with what it covers and what it adds; the covered weight; and a **proven upper bound**:
//! no choice of P candidates can cover more. The bound is the smallest of
//! - the Lagrangian bound of the coverage constraints (equal to the LP relaxation's at its
//!   optimum), tightened by subgradient steps (Held, Wolfe & Crowder 1974; for the MCLP,
//!   Galvão & ReVelle 1996), and
//! - the submodular bound `f(S) + the P largest marginal gains at S` for every set S the
//!   greedy pass and the final solution went through (Nemhauser, Wolsey & Fisher 1978).
//!
//! # Algorithm
//! 1. Coverage: each household's candidates within R, found through a grid of cells as wide
//!    as the chord of R over the unit vectors (exact: the chord test is the great-circle
//!    test). Households reached by exactly the same candidates are one *demand* with their
//!    summed weight — a city of a million households has far fewer distinct ones.
//! 2. Greedy with lazy re-evaluation (CELF): add the candidate that covers the most
//!    uncovered weight, P times.
//! 3. Interchange (Teitz & Bart 1968): swap a chosen site for an unchosen candidate while a
//!    swap adds weight, best swap first. Gains, losses and the pairwise "re-covered by the
//!    newcomer" terms are kept up to date through the demands a swap touches, so a swap
//!    costs O(candidates × P), not a pass over all pairs.
//! 4. The Lagrangian subgradient (step 1 above); every iterate's top-P candidates are also a
//!    solution, and the best of them is improved by interchange and kept if it beats step 3.
//!
//! Everything runs in a fixed order (parallel work is split per candidate or in fixed
//! chunks and reduced in order), so the answer is the same whatever the thread count.
//!
//! # Cost
//! Memory and time are linear in the household–candidate pairs within R (a million
//! households, 10,000 candidates and R = 1 km: tens of millions of pairs, a few seconds).
//!
//! # Examples
//! Three households west and one far east; one site within 1 km must take the three:
//! ```
//! use needmap::progress::Progress;
//! use needmap::sites::{self, Problem};
//! use needmap::sphere::xyz_from_lonlat;
//! let households = [
//!     xyz_from_lonlat(-77.000, -12.0),
//!     xyz_from_lonlat(-77.001, -12.0),
//!     xyz_from_lonlat(-77.002, -12.0),
//!     xyz_from_lonlat(-76.900, -12.0),
//! ];
//! let candidates = [xyz_from_lonlat(-77.001, -12.0005), xyz_from_lonlat(-76.9, -12.0)];
//! let p = Problem { households: &households, weights: &[1.0; 4], candidates: &candidates, existing: &[] };
//! let s = sites::solve(&p, 1, 1_000.0, &Progress::new()).unwrap();
//! assert_eq!(s.sites[0].candidate, 0);
//! assert_eq!(s.covered_weight, 3.0);
//! // The bound is proven and, here, tight.
//! assert!(s.upper_bound >= 3.0 && s.upper_bound < 3.0 + 1e-9);
//! ```

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::Hasher as _;
use std::path::PathBuf;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

use crate::progress::{Cancelled, Progress};
use crate::sphere::{Xyz, chord_from_metres, chord2};

/// Where the candidate locations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSource {
    /// A regular grid of `grid_m` spacing over the populated area (points within R of a
    /// household).
    #[default]
    Grid,
    /// The ranked zones' centres.
    Zones,
    /// Every household's location (a deterministic even sample above 50,000).
    Households,
    /// A file of locations (`candidates_file`).
    File,
}

/// The `[sites]` section of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SitesParams {
    /// Number of new sites (P).
    pub sites: usize,
    /// A site covers the households within this many metres (great-circle).
    pub radius_m: f64,
    /// What a covered household counts: `need` (its need score), `critical` (1 for a critical
    /// household), `households` (1 each), `people` (the household size column) or the name of
    /// a numeric column.
    pub weight: String,
    pub candidates: CandidateSource,
    /// Grid spacing in metres, for `candidates = "grid"`; absent = radius / 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_m: Option<f64>,
    /// The candidates file, for `candidates = "file"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates_file: Option<PathBuf>,
    /// Sites already open; what they cover counts as covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_file: Option<PathBuf>,
}

impl Default for SitesParams {
    fn default() -> Self {
        Self {
            sites: 10,
            radius_m: 500.0,
            weight: "need".into(),
            candidates: CandidateSource::Grid,
            grid_m: None,
            candidates_file: None,
            existing_file: None,
        }
    }
}

/// The `needmap sites` flags (and `needmap.sites(...)` arguments); `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct SitesFlags {
    /// `--sites P`.
    pub count: Option<usize>,
    pub radius_m: Option<f64>,
    /// `--candidates FILE`.
    pub candidates: Option<PathBuf>,
    pub candidates_from: Option<CandidateSource>,
    pub grid_m: Option<f64>,
    /// `--existing FILE`.
    pub existing: Option<PathBuf>,
    pub weight: Option<String>,
}

impl SitesFlags {
    /// The flags over `base` (the analysis' `[sites]`; `None` = the defaults). Without an
    /// analysis (`from_analysis` false) the number of sites and the radius must be given.
    pub fn resolve(self, base: Option<SitesParams>, from_analysis: bool) -> Result<SitesParams, String> {
        let mut p = base.unwrap_or_default();
        match self.count {
            Some(n) => p.sites = n,
            None if !from_analysis => return Err("sites: give the number of sites with --sites P".into()),
            None => {}
        }
        match self.radius_m {
            Some(r) => p.radius_m = r,
            None if !from_analysis => return Err("sites: give the walking radius with --radius-m METRES".into()),
            None => {}
        }
        if let Some(f) = self.candidates {
            p.candidates = CandidateSource::File;
            p.candidates_file = Some(f);
        }
        if let Some(c) = self.candidates_from {
            p.candidates = c;
        }
        if self.grid_m.is_some() {
            p.grid_m = self.grid_m;
        }
        if self.existing.is_some() {
            p.existing_file = self.existing;
        }
        if let Some(w) = self.weight {
            p.weight = w;
        }
        Ok(p)
    }
}

impl SitesParams {
    /// Checks the settings that need no data (before any file is read).
    pub fn check(&self) -> Result<(), String> {
        if self.sites == 0 {
            return Err("sites: --sites must be at least 1".into());
        }
        if !(self.radius_m.is_finite() && self.radius_m > 0.0) {
            return Err(format!("sites: --radius-m must be a positive number of metres, not {}", self.radius_m));
        }
        if self.candidates == CandidateSource::File && self.candidates_file.is_none() {
            return Err("sites: candidates = \"file\" needs --candidates FILE".into());
        }
        Ok(())
    }

    /// The grid spacing used for generated grid candidates.
    pub fn grid_spacing_m(&self) -> f64 {
        self.grid_m.unwrap_or(self.radius_m / 2.0)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SitesError {
    #[error("the number of sites must be at least 1")]
    NoSites,
    #[error("the radius must be a positive number of metres, not {0}")]
    BadRadius(f64),
    #[error("there are no candidate locations")]
    NoCandidates,
    #[error("household {0}: weight {1} is negative or not a number; weights must be 0 or more")]
    BadWeight(usize, f64),
    #[error(
        "about {pairs} household–candidate pairs lie within the radius, more than the {limit} this machine's memory allows; use fewer candidates (a coarser grid) or a smaller radius"
    )]
    TooManyPairs { pairs: u64, limit: u64 },
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for SitesError {
    fn from(_: Cancelled) -> Self {
        SitesError::Cancelled
    }
}

/// The inputs of one covering problem.
pub struct Problem<'a> {
    pub households: &'a [Xyz],
    /// Weight of each household (finite, ≥ 0).
    pub weights: &'a [f64],
    pub candidates: &'a [Xyz],
    pub existing: &'a [Xyz],
}

/// One chosen site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChosenSite {
    /// Index into the candidates.
    pub candidate: usize,
    /// Households within the radius of this site (whoever else covers them).
    pub covered_households: usize,
    pub covered_weight: f64,
    /// Weight this site adds to the existing facilities and the sites before it.
    pub added_weight: f64,
}

/// Coverage with the first `sites` sites, and the proven bound for that many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    pub sites: usize,
    pub covered_weight: f64,
    pub upper_bound: f64,
}

/// How the answer was found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SolveStats {
    /// Households reached by at least one candidate (and not already covered).
    pub reachable_households: usize,
    /// Distinct demands (households reached by the same candidates merged).
    pub demands: usize,
    /// Demand–candidate pairs within the radius.
    pub pairs: u64,
    pub greedy_weight: f64,
    pub swaps: usize,
    pub lagrangian_iterations: usize,
    /// Which bound was the smallest: "lagrangian" or "submodular".
    pub bound_from: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solution {
    /// Chosen sites, in greedy order of what each adds.
    pub sites: Vec<ChosenSite>,
    /// Weight of every household.
    pub total_weight: f64,
    /// Weight covered by the existing facilities alone.
    pub existing_weight: f64,
    /// Weight covered by the existing facilities and the chosen sites together.
    pub covered_weight: f64,
    /// No P candidates (with the existing facilities) cover more than this.
    pub upper_bound: f64,
    /// Households covered (by the existing facilities or a chosen site).
    pub covered_households: usize,
    /// Index into `sites` of the nearest chosen site within the radius of each household, or -1.
    #[serde(skip)]
    pub site_of: Vec<i32>,
    /// Coverage with 0, 1, … P sites (prefixes of `sites`) and the bound for each count.
    pub curve: Vec<CurvePoint>,
    pub stats: SolveStats,
}

impl Solution {
    /// Covered share of all weight (0 when there is no weight).
    pub fn share(&self) -> f64 {
        if self.total_weight > 0.0 { self.covered_weight / self.total_weight } else { 0.0 }
    }

    /// The bound's share of all weight.
    pub fn bound_share(&self) -> f64 {
        if self.total_weight > 0.0 { self.upper_bound / self.total_weight } else { 0.0 }
    }
}

/// Household–candidate pairs past which we refuse (4 bytes each, held twice).
const MAX_PAIRS: u64 = 120_000_000;

/// A grid of cubic cells over unit vectors, each as wide as the query chord.
struct CellGrid {
    cell: f64,
    cells: FxHashMap<u64, (u32, u32)>,
    items: Vec<u32>,
}

impl CellGrid {
    fn new(points: &[Xyz], chord: f64) -> Self {
        // 21 bits an axis: cells no smaller than 2 / 2^20 (about 12 m on the ground).
        let cell = chord.max(2.0 / (1 << 20) as f64);
        let mut keyed: Vec<(u64, u32)> =
            points.iter().enumerate().map(|(i, p)| (Self::key_of(p, cell), i as u32)).collect();
        keyed.sort_unstable();
        let mut cells = FxHashMap::default();
        let mut start = 0;
        while start < keyed.len() {
            let k = keyed[start].0;
            let mut end = start;
            while end < keyed.len() && keyed[end].0 == k {
                end += 1;
            }
            cells.insert(k, (start as u32, end as u32));
            start = end;
        }
        Self { cell, cells, items: keyed.into_iter().map(|(_, i)| i).collect() }
    }

    fn axis(v: f64, cell: f64) -> u64 {
        ((v + 1.0) / cell).floor().max(0.0) as u64
    }

    fn key_of(p: &Xyz, cell: f64) -> u64 {
        Self::pack(Self::axis(p[0], cell), Self::axis(p[1], cell), Self::axis(p[2], cell))
    }

    fn pack(x: u64, y: u64, z: u64) -> u64 {
        (x << 42) | (y << 21) | z
    }

    /// Calls `f` with every point within chord² `r2` of `p` (in no particular order).
    fn for_each_within(&self, points: &[Xyz], p: &Xyz, r2: f64, mut f: impl FnMut(u32)) {
        let (x, y, z) = (Self::axis(p[0], self.cell), Self::axis(p[1], self.cell), Self::axis(p[2], self.cell));
        for dx in x.saturating_sub(1)..=x + 1 {
            for dy in y.saturating_sub(1)..=y + 1 {
                for dz in z.saturating_sub(1)..=z + 1 {
                    if let Some(&(s, e)) = self.cells.get(&Self::pack(dx, dy, dz)) {
                        for &i in &self.items[s as usize..e as usize] {
                            if chord2(*p, points[i as usize]) <= r2 {
                                f(i);
                            }
                        }
                    }
                }
            }
        }
    }

    fn any_within(&self, points: &[Xyz], p: &Xyz, r2: f64) -> bool {
        let mut any = false;
        self.for_each_within(points, p, r2, |_| any = true);
        any
    }
}

/// Demands and who reaches them, both ways.
struct Coverage {
    n_cand: usize,
    weight: Vec<f64>,
    /// Demand → candidates (sorted).
    d_off: Vec<usize>,
    d_cand: Vec<u32>,
    /// Candidate → demands.
    c_off: Vec<usize>,
    c_dem: Vec<u32>,
}

impl Coverage {
    fn cands(&self, d: usize) -> &[u32] {
        &self.d_cand[self.d_off[d]..self.d_off[d + 1]]
    }

    fn dems(&self, j: usize) -> &[u32] {
        &self.c_dem[self.c_off[j]..self.c_off[j + 1]]
    }

    fn pairs(&self) -> u64 {
        self.c_dem.len() as u64
    }

    /// Total weight of the demands that `set` covers.
    fn value(&self, set: &[u32], mark: &mut [bool]) -> f64 {
        let mut touched = Vec::new();
        for &j in set {
            for &d in self.dems(j as usize) {
                if !mark[d as usize] {
                    mark[d as usize] = true;
                    touched.push(d);
                }
            }
        }
        touched.sort_unstable();
        let v = touched.iter().map(|&d| self.weight[d as usize]).sum();
        for d in touched {
            mark[d as usize] = false;
        }
        v
    }
}

const CHUNK: usize = 8192;

/// Builds the demands: households merged by the set of candidates that reach them.
/// Returns the coverage, the households covered by existing facilities, and the reachable count.
fn coverage(p: &Problem, radius_m: f64, progress: &Progress) -> Result<(Coverage, Vec<bool>, usize), SitesError> {
    let n = p.households.len();
    let r = chord_from_metres(radius_m);
    let r2 = r * r;
    let grid = CellGrid::new(p.candidates, r);
    let existing_grid = (!p.existing.is_empty()).then(|| CellGrid::new(p.existing, r));
    progress.stage("sites_coverage", n as u64);
    // Refuse early, from a sample, rather than after filling memory.
    let step = 97;
    let sampled: u64 = (0..n)
        .into_par_iter()
        .step_by(step)
        .map(|i| {
            let mut m = 0u64;
            grid.for_each_within(p.candidates, &p.households[i], r2, |_| m += 1);
            m
        })
        .sum();
    let estimate = sampled * step as u64;
    if estimate > 2 * MAX_PAIRS {
        return Err(SitesError::TooManyPairs { pairs: estimate, limit: MAX_PAIRS });
    }
    // The candidates of each household (none when an existing facility reaches it), sorted,
    // one list per chunk of households.
    struct Chunk {
        by_existing: Vec<bool>,
        off: Vec<u32>,
        items: Vec<u32>,
    }
    let chunks: Vec<Chunk> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| -> Result<Chunk, Cancelled> {
            progress.check()?;
            let (a, b) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
            let mut ch =
                Chunk { by_existing: vec![false; b - a], off: Vec::with_capacity(b - a + 1), items: Vec::new() };
            ch.off.push(0);
            for i in a..b {
                let h = &p.households[i];
                if let Some(g) = &existing_grid
                    && g.any_within(p.existing, h, r2)
                {
                    ch.by_existing[i - a] = true;
                } else if p.weights[i] > 0.0 {
                    let start = ch.items.len();
                    grid.for_each_within(p.candidates, h, r2, |j| ch.items.push(j));
                    ch.items[start..].sort_unstable();
                }
                ch.off.push(ch.items.len() as u32);
            }
            progress.add((b - a) as u64);
            Ok(ch)
        })
        .collect::<Result<_, _>>()?;
    let pairs: u64 = chunks.iter().map(|c| c.items.len() as u64).sum();
    if pairs > MAX_PAIRS {
        return Err(SitesError::TooManyPairs { pairs, limit: MAX_PAIRS });
    }
    let by_existing: Vec<bool> = chunks.iter().flat_map(|c| c.by_existing.iter().copied()).collect();
    let list = |i: usize| {
        let c = &chunks[i / CHUNK];
        let k = i % CHUNK;
        &c.items[c.off[k] as usize..c.off[k + 1] as usize]
    };
    let counts: Vec<u32> = (0..n).map(|i| list(i).len() as u32).collect();
    // Merge households with the same candidates: sort by (hash, list, index).
    let hash: Vec<u64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut h = FxHasher::default();
            for &j in list(i) {
                h.write_u32(j);
            }
            h.finish()
        })
        .collect();
    let mut order: Vec<u32> = (0..n as u32).filter(|&i| counts[i as usize] > 0).collect();
    let reachable = order.len();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        hash[a].cmp(&hash[b]).then_with(|| list(a).cmp(list(b))).then(a.cmp(&b))
    });
    progress.check()?;
    let mut weight = Vec::new();
    let mut d_off = vec![0usize];
    let mut d_cand = Vec::new();
    let mut k = 0;
    while k < order.len() {
        let first = order[k] as usize;
        let mut w = 0.0;
        let mut e = k;
        while e < order.len() && list(order[e] as usize) == list(first) {
            w += p.weights[order[e] as usize];
            e += 1;
        }
        weight.push(w);
        d_cand.extend_from_slice(list(first));
        d_off.push(d_cand.len());
        k = e;
    }
    drop(chunks);
    // Transpose: candidate → demands.
    let n_cand = p.candidates.len();
    let mut c_count = vec![0usize; n_cand + 1];
    for &j in &d_cand {
        c_count[j as usize + 1] += 1;
    }
    for j in 0..n_cand {
        c_count[j + 1] += c_count[j];
    }
    let c_off = c_count.clone();
    let mut fill = c_count;
    let mut c_dem = vec![0u32; d_cand.len()];
    for d in 0..weight.len() {
        for &j in &d_cand[d_off[d]..d_off[d + 1]] {
            c_dem[fill[j as usize]] = d as u32;
            fill[j as usize] += 1;
        }
    }
    Ok((Coverage { n_cand, weight, d_off, d_cand, c_off, c_dem }, by_existing, reachable))
}

/// A candidate's gain in the greedy heap: larger first, then the lower index.
#[derive(PartialEq)]
struct Entry {
    gain: f64,
    cand: u32,
    /// Number of sites chosen when the gain was computed.
    round: usize,
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain.total_cmp(&other.gain).then(other.cand.cmp(&self.cand))
    }
}

/// Sums of the `k` largest values for k = 0..=p (values ≥ 0).
fn top_sums(values: impl Iterator<Item = f64>, p: usize) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    let p = p.min(v.len());
    if p > 0 && p < v.len() {
        v.select_nth_unstable_by(p - 1, |a, b| b.total_cmp(a));
    }
    v.truncate(p);
    v.sort_unstable_by(|a, b| b.total_cmp(a));
    let mut out = Vec::with_capacity(p + 1);
    out.push(0.0);
    for x in v {
        out.push(out.last().unwrap() + x);
    }
    out
}

/// Greedy (CELF). Returns the chosen candidates and, for k = 0..=p, the smallest
/// submodular bound seen on the covered weight with k sites.
fn greedy(cov: &Coverage, p: usize, progress: &Progress) -> Result<(Vec<u32>, Vec<f64>), Cancelled> {
    let gains: Vec<f64> =
        (0..cov.n_cand).into_par_iter().map(|j| cov.dems(j).iter().map(|&d| cov.weight[d as usize]).sum()).collect();
    let mut heap: BinaryHeap<Entry> = gains
        .iter()
        .enumerate()
        .filter(|(_, g)| **g > 0.0)
        .map(|(j, &g)| Entry { gain: g, cand: j as u32, round: 0 })
        .collect();
    let mut covered = vec![false; cov.weight.len()];
    let mut value = 0.0;
    let mut chosen = Vec::new();
    let mut bounds = vec![f64::INFINITY; p + 1];
    progress.stage("sites_greedy", p as u64);
    while chosen.len() < p {
        progress.check()?;
        // Stale gains are upper bounds of the true ones (coverage is submodular).
        let tops = top_sums(heap.iter().map(|e| e.gain), p);
        for k in 0..=p {
            let b = value + tops[k.min(tops.len() - 1)];
            bounds[k] = bounds[k].min(b);
        }
        let Some(top) = heap.pop() else { break };
        if top.round == chosen.len() {
            if top.gain <= 0.0 {
                break;
            }
            for &d in cov.dems(top.cand as usize) {
                if !covered[d as usize] {
                    covered[d as usize] = true;
                    value += cov.weight[d as usize];
                }
            }
            chosen.push(top.cand);
            progress.set(chosen.len() as u64);
        } else {
            let g: f64 = cov
                .dems(top.cand as usize)
                .iter()
                .filter(|&&d| !covered[d as usize])
                .map(|&d| cov.weight[d as usize])
                .sum();
            if g > 0.0 {
                heap.push(Entry { gain: g, cand: top.cand, round: chosen.len() });
            }
        }
    }
    if heap.is_empty() || chosen.len() == p {
        let tops = top_sums(heap.iter().map(|e| e.gain), p);
        for k in 0..=p {
            bounds[k] = bounds[k].min(value + tops[k.min(tops.len() - 1)]);
        }
    }
    Ok((chosen, bounds))
}

/// Interchange local search state: per demand how many chosen sites cover it and the sum of
/// their slots (the slot itself when exactly one does).
struct Swapper<'a> {
    cov: &'a Coverage,
    slots: Vec<u32>,
    slot_of: Vec<i32>,
    count: Vec<u32>,
    slot_sum: Vec<u64>,
    /// Uncovered weight each candidate would add.
    gain: Vec<f64>,
    /// `extra[j * p + s]`: weight covered only by slot s that candidate j also reaches.
    extra: Vec<f64>,
    p: usize,
}

impl<'a> Swapper<'a> {
    fn new(cov: &'a Coverage, chosen: &[u32]) -> Self {
        let p = chosen.len();
        let mut slot_of = vec![-1; cov.n_cand];
        for (s, &j) in chosen.iter().enumerate() {
            slot_of[j as usize] = s as i32;
        }
        let nd = cov.weight.len();
        let mut count = vec![0u32; nd];
        let mut slot_sum = vec![0u64; nd];
        for (s, &j) in chosen.iter().enumerate() {
            for &d in cov.dems(j as usize) {
                count[d as usize] += 1;
                slot_sum[d as usize] += s as u64;
            }
        }
        let mut gain = vec![0.0; cov.n_cand];
        let mut extra = vec![0.0; cov.n_cand * p];
        gain.par_iter_mut().zip(extra.par_chunks_mut(p.max(1))).enumerate().for_each(|(j, (g, ex))| {
            for &d in cov.dems(j) {
                let d = d as usize;
                match count[d] {
                    0 => *g += cov.weight[d],
                    1 => ex[slot_sum[d] as usize] += cov.weight[d],
                    _ => {}
                }
            }
        });
        Self { cov, slots: chosen.to_vec(), slot_of, count, slot_sum, gain, extra, p }
    }

    fn contribute(&mut self, d: usize, sign: f64) {
        let w = sign * self.cov.weight[d];
        let (c, s) = (self.count[d], self.slot_sum[d] as usize);
        let p = self.p;
        let cov = self.cov;
        match c {
            0 => {
                for &j in cov.cands(d) {
                    self.gain[j as usize] += w;
                }
            }
            1 => {
                for &j in cov.cands(d) {
                    self.extra[j as usize * p + s] += w;
                }
            }
            _ => {}
        }
    }

    /// The best swap `(delta, candidate in, slot out)`, if one adds more than `eps`.
    fn best(&self, eps: f64) -> Option<(f64, u32, usize)> {
        let p = self.p;
        let loss: Vec<f64> = (0..p).map(|s| self.extra[self.slots[s] as usize * p + s]).collect();
        (0..self.cov.n_cand)
            .into_par_iter()
            .filter(|&j| self.slot_of[j] < 0)
            .filter_map(|j| {
                let ex = &self.extra[j * p..(j + 1) * p];
                let mut best: Option<(f64, usize)> = None;
                for s in 0..p {
                    let delta = self.gain[j] - loss[s] + ex[s];
                    if best.is_none_or(|(b, _)| delta > b) {
                        best = Some((delta, s));
                    }
                }
                best.map(|(delta, s)| (delta, j as u32, s))
            })
            .filter(|&(delta, _, _)| delta > eps)
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)))
    }

    fn apply(&mut self, j_in: u32, s: usize) {
        let j_out = self.slots[s];
        for (j, add) in [(j_out, false), (j_in, true)] {
            for k in self.cov.c_off[j as usize]..self.cov.c_off[j as usize + 1] {
                let d = self.cov.c_dem[k] as usize;
                self.contribute(d, -1.0);
                if add {
                    self.count[d] += 1;
                    self.slot_sum[d] += s as u64;
                } else {
                    self.count[d] -= 1;
                    self.slot_sum[d] -= s as u64;
                }
                self.contribute(d, 1.0);
            }
        }
        self.slot_of[j_out as usize] = -1;
        self.slot_of[j_in as usize] = s as i32;
        self.slots[s] = j_in;
    }
}

/// Improves `chosen` by best-first swaps; returns it and the number of swaps.
fn interchange(cov: &Coverage, chosen: &[u32], eps: f64, progress: &Progress) -> Result<(Vec<u32>, usize), Cancelled> {
    if chosen.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut sw = Swapper::new(cov, chosen);
    let mut swaps = 0;
    let max_swaps = 20 * chosen.len() + 100;
    progress.stage("sites_swap", max_swaps as u64);
    while swaps < max_swaps {
        progress.check()?;
        let Some((_, j, s)) = sw.best(eps) else { break };
        sw.apply(j, s);
        swaps += 1;
        progress.set(swaps as u64);
    }
    Ok((sw.slots, swaps))
}

/// A set of sites and the weight it covers.
type Scored = (f64, Vec<u32>);

/// Lagrangian iterate solutions that the interchange starts from again.
const STARTS: usize = 3;

/// Lagrangian relaxation of the coverage constraints, by subgradient steps. Returns the
/// best (smallest) bound and the best solution seen among the iterates' top-P sets.
fn lagrangian(
    cov: &Coverage,
    p: usize,
    mut lower: f64,
    progress: &Progress,
) -> Result<(f64, usize, Vec<Scored>), Cancelled> {
    let nd = cov.weight.len();
    let total: f64 = cov.weight.iter().sum();
    if nd == 0 {
        return Ok((0.0, 0, Vec::new()));
    }
    // Small multipliers to start: most demands end up cheap to cover (several candidates
    // reach them), and from there the bound falls fastest (measured on a 200k city).
    let mut lambda: Vec<f64> = cov.weight.iter().map(|w| 0.1 * w).collect();
    let mut best_bound = f64::INFINITY;
    // The best few distinct iterate solutions, best first.
    let mut best_sols: Vec<Scored> = Vec::new();
    let mut mark = vec![false; nd];
    let mut mu = 2.0;
    let mut since_better = 0;
    // A budget of pair visits: small problems get many steps (a tighter bound), a city of a
    // million households the 300 that fit its time.
    let max_iters = (1_500_000_000 / cov.pairs().max(1)).clamp(300, 3000) as usize;
    let patience = max_iters / 20;
    progress.stage("sites_bound", max_iters as u64);
    let mut iters = 0;
    let mut cover_count = vec![0u32; nd];
    for it in 0..max_iters {
        progress.check()?;
        iters = it + 1;
        let v: Vec<f64> =
            (0..cov.n_cand).into_par_iter().map(|j| cov.dems(j).iter().map(|&d| lambda[d as usize]).sum()).collect();
        let mut idx: Vec<u32> = (0..cov.n_cand as u32).collect();
        let k = p.min(idx.len());
        let by_v = |a: &u32, b: &u32| v[*b as usize].total_cmp(&v[*a as usize]).then(a.cmp(b));
        if k < idx.len() && k > 0 {
            idx.select_nth_unstable_by(k - 1, by_v);
        }
        idx.truncate(k);
        idx.sort_unstable_by(by_v);
        let free: f64 = lambda
            .par_chunks(CHUNK)
            .zip(cov.weight.par_chunks(CHUNK))
            .map(|(l, w)| l.iter().zip(w).map(|(l, w)| (w - l).max(0.0)).sum::<f64>())
            .collect::<Vec<_>>()
            .iter()
            .sum();
        let bound = free + idx.iter().map(|&j| v[j as usize]).sum::<f64>();
        if bound < best_bound - 1e-12 * total {
            best_bound = bound;
            since_better = 0;
        } else {
            since_better += 1;
            if since_better >= patience {
                mu /= 2.0;
                since_better = 0;
            }
        }
        // The iterate's sites are a solution too.
        let value = cov.value(&idx, &mut mark);
        let mut sorted = idx.clone();
        sorted.sort_unstable();
        if !best_sols.iter().any(|(_, s)| *s == sorted) && (best_sols.len() < STARTS || value > best_sols[STARTS - 1].0)
        {
            best_sols.push((value, sorted));
            best_sols.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            best_sols.truncate(STARTS);
        }
        lower = lower.max(value);
        progress.set(iters as u64);
        if best_bound - lower <= 1e-9 * total.max(1e-300) || mu < 1e-4 {
            break;
        }
        // Subgradient of the bound in λ: (covering sites) − (y = 1).
        for c in cover_count.iter_mut() {
            *c = 0;
        }
        for &j in &idx {
            for &d in cov.dems(j as usize) {
                cover_count[d as usize] += 1;
            }
        }
        let mut norm2 = 0.0;
        for d in 0..nd {
            let y = if cov.weight[d] - lambda[d] > 0.0 { 1.0 } else { 0.0 };
            let g = cover_count[d] as f64 - y;
            norm2 += g * g;
        }
        if norm2 == 0.0 {
            break;
        }
        let step = mu * (bound - lower) / norm2;
        for d in 0..nd {
            let y = if cov.weight[d] - lambda[d] > 0.0 { 1.0 } else { 0.0 };
            let g = cover_count[d] as f64 - y;
            lambda[d] = (lambda[d] - step * g).clamp(0.0, cov.weight[d]);
        }
    }
    Ok((best_bound, iters, best_sols))
}

/// Chooses up to `p` candidates that cover the most weight within `radius_m` metres.
///
/// Sites are chosen only while they add weight: when every reachable household is covered
/// with fewer, fewer are returned.
pub fn solve(prob: &Problem, p: usize, radius_m: f64, progress: &Progress) -> Result<Solution, SitesError> {
    if p == 0 {
        return Err(SitesError::NoSites);
    }
    if !(radius_m.is_finite() && radius_m > 0.0) {
        return Err(SitesError::BadRadius(radius_m));
    }
    if prob.candidates.is_empty() {
        return Err(SitesError::NoCandidates);
    }
    assert_eq!(prob.households.len(), prob.weights.len(), "one weight per household");
    if let Some(i) = prob.weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(SitesError::BadWeight(i, prob.weights[i]));
    }
    let total_weight = fixed_sum(prob.weights);
    let t = std::time::Instant::now();
    let (cov, by_existing, reachable) = coverage(prob, radius_m, progress)?;
    crate::progress::lap(format_args!("sites coverage ({} demands, {} pairs)", cov.weight.len(), cov.pairs()), t);
    let existing_w: Vec<f64> = prob.weights.iter().zip(&by_existing).map(|(w, &e)| if e { *w } else { 0.0 }).collect();
    let existing_weight = fixed_sum(&existing_w);
    drop(existing_w);
    let scale = cov.weight.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let eps = 1e-10 * scale;

    let t = std::time::Instant::now();
    let (greedy_set, greedy_bounds) = greedy(&cov, p, progress)?;
    crate::progress::lap("sites greedy", t);
    let t = std::time::Instant::now();
    let mut mark = vec![false; cov.weight.len()];
    let greedy_weight = cov.value(&greedy_set, &mut mark);
    let (mut best, mut swaps) = interchange(&cov, &greedy_set, eps, progress)?;
    let mut best_value = cov.value(&best, &mut mark);
    crate::progress::lap(format_args!("sites interchange ({swaps} swaps)"), t);
    let t = std::time::Instant::now();
    let (lagr_bound, lagr_iters, lagr_sols) = lagrangian(&cov, p, best_value, progress)?;
    crate::progress::lap(format_args!("sites lagrangian ({lagr_iters} iterations, bound {lagr_bound})"), t);
    let t = std::time::Instant::now();
    let mut sorted_best = best.clone();
    sorted_best.sort_unstable();
    for (_, mut set) in lagr_sols {
        set.retain(|&j| !cov.dems(j as usize).is_empty());
        if set == sorted_best || set.is_empty() {
            continue;
        }
        let (improved, s2) = interchange(&cov, &set, eps, progress)?;
        let v = cov.value(&improved, &mut mark);
        swaps += s2;
        if v > best_value + eps {
            best = improved;
            best_value = v;
        }
    }
    crate::progress::lap("sites second interchange", t);
    // Drop sites that add nothing (a tie-broken choice among zero gains) and order the rest
    // greedily, so prefixes make a coverage curve.
    let order = greedy_order(&cov, &best, &mut mark);
    // Exact marginal gains at the final set: one more submodular bound.
    let final_gains = {
        let mut in_set = vec![false; cov.n_cand];
        for &j in &order {
            in_set[j as usize] = true;
        }
        for &j in &order {
            for &d in cov.dems(j as usize) {
                mark[d as usize] = true;
            }
        }
        let g: Vec<f64> = (0..cov.n_cand)
            .into_par_iter()
            .map(|j| {
                if in_set[j] {
                    0.0
                } else {
                    cov.dems(j).iter().filter(|&&d| !mark[d as usize]).map(|&d| cov.weight[d as usize]).sum()
                }
            })
            .collect();
        mark.iter_mut().for_each(|m| *m = false);
        g
    };
    let final_tops = top_sums(final_gains.into_iter(), p);
    let new_weight_bound_sub: Vec<f64> =
        (0..=p).map(|k| greedy_bounds[k].min(best_value + final_tops[k.min(final_tops.len() - 1)])).collect();
    // Per-k bounds, made monotone (the optimum with k sites is at most that with more).
    let mut curve_bound: Vec<f64> = new_weight_bound_sub.clone();
    curve_bound[p] = curve_bound[p].min(lagr_bound);
    for k in (0..p).rev() {
        curve_bound[k] = curve_bound[k].min(curve_bound[k + 1]);
    }
    crate::progress::lap(
        format_args!("sites bounds: submodular {}, greedy {greedy_weight}, best {best_value}", new_weight_bound_sub[p]),
        t,
    );
    let bound_from = if lagr_bound < new_weight_bound_sub[p] { "lagrangian" } else { "submodular" };

    // Final figures, exactly, from the households themselves.
    let (sites, site_of, covered_households, curve_values) = finish(prob, radius_m, &order, &by_existing, progress)?;
    let covered_weight = existing_weight + curve_values.last().copied().unwrap_or(0.0);
    let mut curve = Vec::with_capacity(p + 1);
    for k in 0..=p {
        let c = existing_weight + curve_values[k.min(curve_values.len() - 1)];
        // The bound is never below what was found (guards the last bits of rounding).
        let b = (existing_weight + curve_bound[k]).max(c).min(total_weight.max(c));
        curve.push(CurvePoint { sites: k, covered_weight: c, upper_bound: b });
    }
    let upper_bound = curve[p].upper_bound;
    Ok(Solution {
        sites,
        total_weight,
        existing_weight,
        covered_weight,
        upper_bound,
        covered_households,
        site_of,
        curve,
        stats: SolveStats {
            reachable_households: reachable,
            demands: cov.weight.len(),
            pairs: cov.pairs(),
            greedy_weight: existing_weight + greedy_weight,
            swaps,
            lagrangian_iterations: lagr_iters,
            bound_from,
        },
    })
}

/// Sum in fixed chunks, reduced in order: the same whatever the thread count.
fn fixed_sum(v: &[f64]) -> f64 {
    v.par_chunks(CHUNK).map(|c| c.iter().sum::<f64>()).collect::<Vec<_>>().iter().sum()
}

/// The sites of `set` that add weight, in greedy order.
fn greedy_order(cov: &Coverage, set: &[u32], mark: &mut [bool]) -> Vec<u32> {
    let mut left: Vec<u32> = set.to_vec();
    left.sort_unstable();
    let mut order = Vec::new();
    let mut touched = Vec::new();
    while !left.is_empty() {
        let gains: Vec<f64> = left
            .iter()
            .map(|&j| {
                cov.dems(j as usize).iter().filter(|&&d| !mark[d as usize]).map(|&d| cov.weight[d as usize]).sum()
            })
            .collect();
        let (k, g) =
            gains.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (k, &g)| if g > b.1 { (k, g) } else { b });
        if g <= 0.0 {
            break;
        }
        let j = left.remove(k);
        for &d in cov.dems(j as usize) {
            if !mark[d as usize] {
                mark[d as usize] = true;
                touched.push(d);
            }
        }
        order.push(j);
    }
    for d in touched {
        mark[d as usize] = false;
    }
    order
}

type Finished = (Vec<ChosenSite>, Vec<i32>, usize, Vec<f64>);

/// Per site: households and weight within reach, weight added in order; per household the
/// nearest chosen site within reach; the covered weight of each prefix.
fn finish(
    prob: &Problem,
    radius_m: f64,
    order: &[u32],
    by_existing: &[bool],
    progress: &Progress,
) -> Result<Finished, Cancelled> {
    let n = prob.households.len();
    let k = order.len();
    let r = chord_from_metres(radius_m);
    let r2 = r * r;
    let pts: Vec<Xyz> = order.iter().map(|&j| prob.candidates[j as usize]).collect();
    let grid = CellGrid::new(&pts, r);
    progress.stage("sites_figures", n as u64);
    struct Part {
        households: Vec<usize>,
        weight: Vec<f64>,
        added: Vec<f64>,
        covered: usize,
    }
    let mut site_of = vec![-1i32; n];
    let parts: Vec<Part> = site_of
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, so)| -> Result<Part, Cancelled> {
            progress.check()?;
            let mut part = Part { households: vec![0; k], weight: vec![0.0; k], added: vec![0.0; k], covered: 0 };
            for (off, slot) in so.iter_mut().enumerate() {
                let i = c * CHUNK + off;
                let h = &prob.households[i];
                let w = prob.weights[i];
                let mut first = usize::MAX;
                let mut nearest = (f64::INFINITY, usize::MAX);
                grid.for_each_within(&pts, h, r2, |s| {
                    let s = s as usize;
                    part.households[s] += 1;
                    part.weight[s] += w;
                    first = first.min(s);
                    let d2 = chord2(*h, pts[s]);
                    if d2 < nearest.0 || (d2 == nearest.0 && s < nearest.1) {
                        nearest = (d2, s);
                    }
                });
                if nearest.1 != usize::MAX {
                    *slot = nearest.1 as i32;
                    if !by_existing[i] {
                        part.added[first] += w;
                    }
                }
                if by_existing[i] || nearest.1 != usize::MAX {
                    part.covered += 1;
                }
            }
            progress.add(so.len() as u64);
            Ok(part)
        })
        .collect::<Result<_, _>>()?;
    let mut sites: Vec<ChosenSite> = order
        .iter()
        .map(|&j| ChosenSite { candidate: j as usize, covered_households: 0, covered_weight: 0.0, added_weight: 0.0 })
        .collect();
    let mut covered = 0;
    for part in &parts {
        for s in 0..k {
            sites[s].covered_households += part.households[s];
            sites[s].covered_weight += part.weight[s];
            sites[s].added_weight += part.added[s];
        }
        covered += part.covered;
    }
    let mut curve = vec![0.0];
    for s in &sites {
        curve.push(curve.last().unwrap() + s.added_weight);
    }
    Ok((sites, site_of, covered, curve))
}

/// Candidate locations with their names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Locations {
    pub lon_deg: Vec<f64>,
    pub lat_deg: Vec<f64>,
    pub xyz: Vec<Xyz>,
    /// The `candidate` column of sites.csv: the file's id, else its row number; `g<k>` for
    /// grid points, `zone <rank>` for zone centres, the household's id for households.
    pub id: Vec<String>,
    /// How they were made, for the report.
    pub note: String,
}

impl Locations {
    pub fn len(&self) -> usize {
        self.xyz.len()
    }

    pub fn is_empty(&self) -> bool {
        self.xyz.is_empty()
    }

    pub fn push(&mut self, lon_deg: f64, lat_deg: f64, id: String) {
        self.lon_deg.push(lon_deg);
        self.lat_deg.push(lat_deg);
        self.xyz.push(crate::sphere::xyz_from_lonlat(lon_deg, lat_deg));
        self.id.push(id);
    }
}

/// Grid points looked at past which we refuse (a national extent at a street spacing).
const MAX_GRID_POINTS: usize = 4_000_000;

/// A regular grid near the households: rows `spacing_m` apart in latitude, points
/// `spacing_m` apart along each row, kept where a household lies within `radius_m` (a
/// point reaching no one could never be chosen). Only the grid cells near a household are
/// looked at, so a remote village does not make the grid cover the space in between.
/// Longitudes are taken relative to the households' mean direction, so a town across the
/// antimeridian gets one grid.
pub fn grid_candidates(
    lon_deg: &[f64],
    lat_deg: &[f64],
    xyz: &[Xyz],
    spacing_m: f64,
    radius_m: f64,
) -> Result<Locations, String> {
    use crate::sphere::EARTH_RADIUS_M;
    if !(spacing_m.is_finite() && spacing_m > 0.0) {
        return Err(format!("the grid spacing must be a positive number of metres, not {spacing_m}"));
    }
    let Some((lon0, _)) = crate::sphere::centre_lonlat(xyz.iter().copied()) else {
        return Err("no households to lay a grid over".into());
    };
    let rel = |lon: f64| {
        let d = (lon - lon0).rem_euclid(360.0);
        if d > 180.0 { d - 360.0 } else { d }
    };
    let lat_min = lat_deg.iter().copied().fold(90.0f64, f64::min);
    let step_lat = (spacing_m / EARTH_RADIUS_M).to_degrees();
    let step_lon = |row: i64| step_lat / (lat_min + row as f64 * step_lat).to_radians().cos().max(1e-6);
    // Grid cells holding a household, then every grid point within reach of one of them.
    let cell_of = |lon: f64, lat: f64| {
        let row = ((lat - lat_min) / step_lat).floor() as i64;
        (row, (rel(lon) / step_lon(row)).floor() as i64)
    };
    let mut cells: Vec<(i64, i64)> = lon_deg.par_iter().zip(lat_deg).map(|(&lon, &lat)| cell_of(lon, lat)).collect();
    cells.par_sort_unstable();
    cells.dedup();
    let reach = (radius_m / spacing_m).ceil() as i64 + 1;
    let side = (2 * reach + 1) as usize;
    if cells.len().saturating_mul(side * side) > MAX_GRID_POINTS * 4 {
        return Err(format!(
            "a {spacing_m} m grid within {radius_m} m of the households would need more than {MAX_GRID_POINTS} points; use a larger spacing or a smaller radius"
        ));
    }
    let mut points: Vec<(i64, i64)> = cells
        .par_iter()
        .flat_map_iter(|&(row, col)| {
            // The neighbouring rows' columns are narrower or wider: map through longitude.
            let lon_rel = (col as f64 + 0.5) * step_lon(row);
            (row - reach..=row + reach).flat_map(move |r| {
                let c = (lon_rel / step_lon(r)).floor() as i64;
                (c - reach..=c + reach).map(move |k| (r, k))
            })
        })
        .collect();
    points.par_sort_unstable();
    points.dedup();
    if points.len() > MAX_GRID_POINTS {
        return Err(format!(
            "a {spacing_m} m grid within {radius_m} m of the households would have about {} points; use a larger spacing",
            points.len()
        ));
    }
    let r = chord_from_metres(radius_m);
    let households = CellGrid::new(xyz, r);
    let kept: Vec<(f64, f64)> = points
        .par_iter()
        .filter_map(|&(row, col)| {
            let lat = lat_min + row as f64 * step_lat;
            if lat.abs() > 90.0 {
                return None;
            }
            let mut lon = lon0 + col as f64 * step_lon(row);
            lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
            let p = crate::sphere::xyz_from_lonlat(lon, lat);
            households.any_within(xyz, &p, r * r).then_some((lon, lat))
        })
        .collect();
    let mut out = Locations::default();
    for (k, (lon, lat)) in kept.into_iter().enumerate() {
        out.push(lon, lat, format!("g{}", k + 1));
    }
    out.note = format!("a grid of {} points {spacing_m} m apart within {radius_m} m of a household", out.len());
    Ok(out)
}

/// Candidates past which `households` as candidates are sampled evenly.
pub const MAX_HOUSEHOLD_CANDIDATES: usize = 50_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::xyz_from_lonlat;

    fn solve_ll(h: &[(f64, f64, f64)], c: &[(f64, f64)], e: &[(f64, f64)], p: usize, r: f64) -> Solution {
        let hx: Vec<Xyz> = h.iter().map(|&(lon, lat, _)| xyz_from_lonlat(lon, lat)).collect();
        let w: Vec<f64> = h.iter().map(|t| t.2).collect();
        let cx: Vec<Xyz> = c.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
        let ex: Vec<Xyz> = e.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
        solve(&Problem { households: &hx, weights: &w, candidates: &cx, existing: &ex }, p, r, &Progress::new())
            .unwrap()
    }

    #[test]
    fn refuses_bad_settings() {
        let h = [xyz_from_lonlat(0.0, 0.0)];
        let prob = Problem { households: &h, weights: &[1.0], candidates: &h, existing: &[] };
        assert_eq!(solve(&prob, 0, 100.0, &Progress::new()), Err(SitesError::NoSites));
        assert_eq!(solve(&prob, 1, 0.0, &Progress::new()), Err(SitesError::BadRadius(0.0)));
        assert!(matches!(solve(&prob, 1, f64::NAN, &Progress::new()), Err(SitesError::BadRadius(_))));
        let none = Problem { households: &h, weights: &[1.0], candidates: &[], existing: &[] };
        assert_eq!(solve(&none, 1, 100.0, &Progress::new()), Err(SitesError::NoCandidates));
        let neg = Problem { households: &h, weights: &[-1.0], candidates: &h, existing: &[] };
        assert_eq!(solve(&neg, 1, 100.0, &Progress::new()), Err(SitesError::BadWeight(0, -1.0)));
    }

    #[test]
    fn covers_across_the_antimeridian() {
        // 179.999°E and 179.999°W on the equator are 222 m apart.
        let s = solve_ll(&[(179.999, 0.0, 1.0), (-179.999, 0.0, 2.0)], &[(180.0, 0.0)], &[], 1, 150.0);
        assert_eq!(s.covered_weight, 3.0);
        assert_eq!(s.site_of, vec![0, 0]);
    }

    #[test]
    fn existing_facilities_count_as_covered() {
        // Two groups; an existing facility already serves the heavier one.
        let h = [(0.0, 0.0, 5.0), (0.0001, 0.0, 5.0), (1.0, 0.0, 3.0)];
        let c = [(0.0, 0.0), (1.0, 0.0)];
        let s = solve_ll(&h, &c, &[(0.00005, 0.0)], 1, 100.0);
        assert_eq!(s.existing_weight, 10.0);
        assert_eq!(s.sites[0].candidate, 1);
        assert_eq!(s.sites[0].added_weight, 3.0);
        assert_eq!(s.covered_weight, 13.0);
        assert_eq!(s.covered_households, 3);
        // The site near the served group would add nothing, so only one is chosen of two.
        let s2 = solve_ll(&h, &c, &[(0.00005, 0.0)], 2, 100.0);
        assert_eq!(s2.sites.len(), 1);
    }

    #[test]
    fn duplicate_coordinates_merge_into_one_demand() {
        let h = [(0.0, 0.0, 1.0), (0.0, 0.0, 1.0), (0.0, 0.0, 1.0), (0.01, 0.0, 1.0)];
        let s = solve_ll(&h, &[(0.0, 0.0), (0.01, 0.0)], &[], 1, 50.0);
        assert_eq!(s.stats.demands, 2);
        assert_eq!(s.covered_weight, 3.0);
        assert_eq!(s.sites[0].covered_households, 3);
    }

    #[test]
    fn stops_when_nothing_more_to_cover() {
        let s = solve_ll(&[(0.0, 0.0, 1.0)], &[(0.0, 0.0), (0.0, 0.00001)], &[], 5, 50.0);
        assert_eq!(s.sites.len(), 1);
        assert_eq!(s.curve.len(), 6);
        assert!(s.curve.iter().skip(1).all(|c| c.covered_weight == 1.0 && c.upper_bound == 1.0));
    }

    #[test]
    fn zero_weight_covers_nothing() {
        let s = solve_ll(&[(0.0, 0.0, 0.0)], &[(0.0, 0.0)], &[], 1, 50.0);
        assert!(s.sites.is_empty());
        assert_eq!(s.covered_weight, 0.0);
        assert_eq!(s.upper_bound, 0.0);
    }

    #[test]
    fn greedy_is_improved_by_a_swap() {
        // The classic trap: a central candidate reaching a bit of both groups beats each
        // side candidate alone, but two side candidates beat central + one side.
        // Left group 4 at x=0, right group 4 at x=2 (km), centre candidate at x=1 reaching 3 of
        // each (they sit at x=0.6..1.4 → simpler with explicit points below).
        let mut h = Vec::new();
        for k in 0..4 {
            h.push((0.0 + 0.0001 * k as f64, 0.0, 1.0));
            h.push((0.02 + 0.0001 * k as f64, 0.0, 1.0));
        }
        // Centre household cluster of 5 reached by the centre candidate and by none other.
        for k in 0..5 {
            h.push((0.01 + 0.0001 * k as f64, 0.0, 1.0));
        }
        // Greedy picks centre (5) then a side (4) = 9; the optimum for P=2 is the same 9 here,
        // so check the bound is tight and the curve increases.
        let c = [(0.0002, 0.0), (0.0202, 0.0), (0.0102, 0.0)];
        let s = solve_ll(&h, &c, &[], 2, 100.0);
        assert_eq!(s.covered_weight, 9.0);
        assert!(s.upper_bound >= 9.0 && s.upper_bound <= 9.0 + 1e-9, "{}", s.upper_bound);
        assert_eq!(s.curve[1].covered_weight, 5.0);
    }
}
