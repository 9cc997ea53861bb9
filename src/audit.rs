//! The bias audit of a ranking: how much the zones' order hinges on the chosen weights, how
//! much each indicator drives the score, and whom the critical households and the top zones
//! leave out.
//!
//! A need index is a set of human choices. The audit asks three questions of a finished run
//! (households, need settings, zones) and answers each with numbers a funder can read:
//!
//! - **Weight sensitivity.** The indicator weights are drawn `draws` times from a Dirichlet
//!   distribution centred on the chosen ones: with `w` the chosen weights normalised to sum 1
//!   and `c` the [`AuditParams::concentration`], each draw is `Dirichlet(c·w)`, whose mean is
//!   `w` and whose standard deviation per weight is `sqrt(w_i (1 − w_i) / (c + 1))` (with the
//!   default `c = 50` and eight equal weights, each weight varies by about ±37 % of itself).
//!   Each draw recomputes every household's score, the critical households (the same
//!   selection rule) and each zone's priority with the zone's households **fixed** (those
//!   inside its polygon, [`ZonesResult::inside`], which its figures count: the question is the
//!   zones' order, not their shape), then ranks the zones again; at the chosen weights this
//!   gives back the run's ranks exactly. Reported: per zone the probability of staying in the top K and its
//!   5–95 % rank interval (nearest-rank quantiles over the draws); per household the
//!   probability of being critical. Indicators with weight 0 stay at 0. Said in plain words
//!   ([`AuditResult::flags`]): the first zone when it stays first in fewer than 90 % of the
//!   draws, and any top-K zone that stays in the top K in fewer than 80 %.
//! - **Indicator influence.** Per indicator: the Pearson correlation of its transformed column
//!   with the final score, and which zones enter or leave the top K when it is left out (the
//!   other weights renormalised); flagged when any zone enters or leaves.
//! - **Group coverage.** For each group column (sex of the head of household, mother tongue,
//!   disability, district…): each value's share among all households, among the critical ones,
//!   inside the top-K zones (households whose zone has rank ≤ K) and, when sites are given,
//!   among the households they cover; the ratio of each share to the overall share; a flag
//!   when a ratio is below 0.8 (the four-fifths rule of US employment-selection guidance) or
//!   above 1.25 (its mirror: over-represented), with a plain sentence. Empty values form the
//!   group `(missing)`. Groups smaller than [`AuditParams::min_group_households`] are reported
//!   but not flagged: their shares are too noisy to mean anything.
//!
//! Deterministic: draw `d` uses a random stream seeded from `(seed, d)` only, and draws are
//! reduced in draw order (per-household counts are integers), so the same input, settings
//! and seed give the same numbers whatever the thread count.
//!
//! Cost: the transformed indicator columns are built once (through [`need::need_index`], one
//! indicator at a time, so every transform and missing-value rule is need.rs's own); a draw
//! is then a weighted sum over households × indicators, one `select_nth` for a top-p % rule,
//! and one pass to sum zones. Draws run in parallel, one block of draws per thread, each
//! holding a score buffer and a count per household.
//!
//! # Examples
//! ```
//! use needmap::audit::{dirichlet, Rng};
//! let mut r = Rng::for_draw(1, 0);
//! let w = dirichlet(&mut r, &[0.5, 0.3, 0.2], 50.0);
//! assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! assert!(w.iter().all(|&x| x > 0.0));
//! // Same seed and draw, same weights.
//! assert_eq!(w, dirichlet(&mut Rng::for_draw(1, 0), &[0.5, 0.3, 0.2], 50.0));
//! ```

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Households;
use crate::need::{self, Indicator, NeedError, NeedParams, Selection};
use crate::progress::{Cancelled, Progress};
use crate::zones::{Priority, ZonesResult};

/// Below this ratio of shares a group is flagged as under-represented (the four-fifths rule).
pub const UNDER_RATIO: f64 = 0.8;
/// Above this ratio (1 / 0.8) a group is flagged as over-represented.
pub const OVER_RATIO: f64 = 1.25;
/// The most distinct values a group column may have.
pub const MAX_GROUPS: usize = 100;
/// The group of households with an empty value.
pub const MISSING_GROUP: &str = "(missing)";

/// Settings of the audit (`[audit]` in analysis.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditParams {
    /// Columns whose values form the groups to check (e.g. `head_sex`, `mother_tongue`).
    pub groups: Vec<String>,
    /// Weight draws (default 200).
    pub draws: usize,
    /// Seed of the draws (default 1).
    pub seed: u64,
    /// K of "the top K zones" (default 10).
    pub top_k: usize,
    /// Dirichlet concentration around the chosen weights (default 50; larger = closer).
    pub concentration: f64,
    /// Groups with fewer households are reported but never flagged (default 30).
    pub min_group_households: usize,
}

impl Default for AuditParams {
    fn default() -> Self {
        Self { groups: Vec::new(), draws: 200, seed: 1, top_k: 10, concentration: 50.0, min_group_households: 30 }
    }
}

impl AuditParams {
    /// The `needmap audit` flags (`None`/empty = not given) over these settings, checked.
    pub fn apply_flags(
        &mut self,
        groups: Vec<String>,
        draws: Option<usize>,
        seed: Option<u64>,
        top_k: Option<usize>,
        concentration: Option<f64>,
    ) -> Result<(), AuditError> {
        if !groups.is_empty() {
            self.groups = groups;
        }
        self.draws = draws.unwrap_or(self.draws);
        self.seed = seed.unwrap_or(self.seed);
        self.top_k = top_k.unwrap_or(self.top_k);
        self.concentration = concentration.unwrap_or(self.concentration);
        self.check()
    }

    /// Checks the settings that need no data.
    pub fn check(&self) -> Result<(), AuditError> {
        if self.draws == 0 {
            return Err(AuditError::NoDraws);
        }
        if self.top_k == 0 {
            return Err(AuditError::NoTopK);
        }
        if !(self.concentration.is_finite() && self.concentration > 0.0) {
            return Err(AuditError::BadConcentration(self.concentration));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuditError {
    #[error("{path}: group column {column:?} is not in the file; the columns are {columns}")]
    NoGroupColumn { path: String, column: String, columns: String },
    #[error(
        "{path}: group column {column:?} has {distinct} different values; a group column needs at most {MAX_GROUPS} \
         (e.g. sex of the head of household, mother tongue, district)"
    )]
    TooManyGroups { path: String, column: String, distinct: usize },
    #[error("audit: draws is 0; give at least 1 (--draws, or draws in [audit])")]
    NoDraws,
    #[error("audit: top_k is 0; give at least 1 (--top-k, or top_k in [audit])")]
    NoTopK,
    #[error(
        "audit: concentration {0} is not a positive number; give e.g. 50 (larger keeps draws closer to the chosen weights)"
    )]
    BadConcentration(f64),
    #[error(
        "audit: weight sensitivity needs at least two indicators with a positive weight, and the need index has {0}; \
         add indicators in [[need.indicators]]"
    )]
    NothingToPerturb(String),
    #[error("audit: need index: {0}")]
    Need(NeedError),
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for AuditError {
    fn from(_: Cancelled) -> Self {
        AuditError::Cancelled
    }
}

/// What the audit reads from a finished run.
pub struct AuditInputs<'a> {
    pub households: &'a Households,
    /// The indicators used (the automatic ones written out) and the missing-value policy.
    pub need: &'a NeedParams,
    pub selection: &'a Selection,
    /// The run's critical households.
    pub critical: &'a [bool],
    pub zones: &'a ZonesResult,
    pub priority: Priority,
    /// Households covered by build sites, when sites were chosen.
    pub covered: Option<&'a [bool]>,
}

/// One zone's stability under the weight draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneStability {
    pub zone: u32,
    /// The run's rank.
    pub rank: u32,
    /// The rank recomputed at the chosen weights the way the draws compute it (equal to
    /// `rank`: a check that the draws start from the run's ranking).
    pub rank_fixed_members: u32,
    /// Share of draws in which the zone ranks ≤ K.
    pub p_top_k: f64,
    /// Share of draws in which it ranks first.
    pub p_top_1: f64,
    pub rank_p05: u32,
    pub rank_median: u32,
    pub rank_p95: u32,
}

/// How much one indicator drives the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorInfluence {
    pub column: String,
    /// The chosen weight, normalised (weights sum to 1).
    pub weight: f64,
    /// 5 % and 95 % quantiles of the drawn weight.
    pub weight_p05: f64,
    pub weight_p95: f64,
    /// Pearson correlation of the transformed column with the final score (None when either
    /// is constant).
    pub correlation: Option<f64>,
    /// Left out (others renormalised): zones of the top K that leave it, and that enter it.
    /// None when no other indicator has a positive weight.
    pub leave_out_top_k_changed: Option<usize>,
    pub leave_out_zones_out: Vec<u32>,
    pub leave_out_zones_in: Vec<u32>,
    /// The first zone without it.
    pub leave_out_top_zone: Option<u32>,
}

/// One group's coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupCoverage {
    pub column: String,
    pub group: String,
    pub households: usize,
    pub critical: usize,
    pub top_zones: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered: Option<usize>,
    pub share_all: f64,
    /// Shares among the critical households, those inside the top-K zones, those covered;
    /// None when that set is empty.
    pub share_critical: Option<f64>,
    pub share_top_zones: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_covered: Option<f64>,
    pub ratio_critical: Option<f64>,
    pub ratio_top_zones: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_covered: Option<f64>,
    /// `;`-separated: `under_critical`, `over_top_zones`, …; empty when none.
    pub flag: String,
    /// One plain sentence per flag.
    pub sentences: Vec<String>,
}

/// How steady the critical households are under the draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalStability {
    /// Households critical in every draw, in none, in some.
    pub always: usize,
    pub never: usize,
    pub sometimes: usize,
    /// Of the run's critical households, those critical in fewer than half the draws.
    pub critical_below_half: usize,
}

/// Everything the audit found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditResult {
    pub settings: AuditParams,
    pub method: String,
    pub selection: Selection,
    pub priority: Priority,
    pub households: usize,
    /// Households with a score.
    pub scored: usize,
    pub critical: usize,
    pub zones_count: usize,
    /// K as used: at most the number of zones.
    pub top_k: usize,
    /// Households inside the top-K zones.
    pub top_zone_households: usize,
    /// Households covered by sites, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_households: Option<usize>,
    /// Zones in rank order.
    pub zones: Vec<ZoneStability>,
    pub indicators: Vec<IndicatorInfluence>,
    pub critical_stability: CriticalStability,
    pub groups: Vec<GroupCoverage>,
    /// Every finding in plain words: unstable top zones, then group flags.
    pub flags: Vec<String>,
    /// Probability of being critical, per household (NaN without a score); households.csv
    /// carries it.
    #[serde(skip)]
    pub p_critical: Vec<f64>,
}

// ---------------------------------------------------------------------------------------
// Random numbers

/// SplitMix64 (Steele, Lea & Flood 2014): small, fast, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream of draw `draw` under `seed`: depends on nothing else.
    pub fn for_draw(seed: u64, draw: u64) -> Self {
        Rng(mix64(seed ^ 0x6A09_E667_F3BC_C908) ^ mix64(draw.wrapping_add(0x3C6E_F372_FE94_F82B)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in (0, 1): never 0, so its logarithm is finite.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shapes below 1 through
    /// Gamma(a) = Gamma(a + 1) · U^(1/a).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform();
            if u < 1.0 - 0.0331 * x * x * x * x || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }
}

/// A draw from Dirichlet(`concentration` · `mean`), `mean` normalised to sum 1; entries of
/// `mean` that are 0 stay 0. Falls back to `mean` in the (underflow) case of all-zero gammas.
pub fn dirichlet(r: &mut Rng, mean: &[f64], concentration: f64) -> Vec<f64> {
    let total: f64 = mean.iter().sum();
    let g: Vec<f64> = mean.iter().map(|&w| if w > 0.0 { r.gamma(concentration * w / total) } else { 0.0 }).collect();
    let s: f64 = g.iter().sum();
    if s > 0.0 && s.is_finite() { g.iter().map(|x| x / s).collect() } else { mean.iter().map(|w| w / total).collect() }
}

/// Nearest-rank quantile of sorted values: the ⌈q·n⌉-th smallest (the smallest for q = 0).
fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let n = sorted.len();
    let k = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[k - 1]
}

// ---------------------------------------------------------------------------------------
// Scores and ranks under given weights

/// The transformed indicator columns, row-major (household i's values at `i*m..(i+1)*m`);
/// NaN where a household has no value (it then has no score, as in need.rs).
struct Columns {
    names: Vec<String>,
    /// Chosen weights as given (not normalised).
    weights: Vec<f64>,
    m: usize,
    x: Vec<f64>,
}

fn columns(h: &Households, params: &NeedParams) -> Result<Columns, NeedError> {
    let indicators: Vec<Indicator> =
        if params.indicators.is_empty() { need::auto_indicators(h) } else { params.indicators.clone() };
    if indicators.is_empty() {
        return Err(NeedError::NoIndicators(need::no_indicators_reason(h)));
    }
    let n = h.len();
    let m = indicators.len();
    let mut x = vec![0.0; n * m];
    for (j, ind) in indicators.iter().enumerate() {
        // One indicator of weight 1: need.rs's score is then its transformed column.
        let one = NeedParams { indicators: vec![Indicator { weight: 1.0, ..ind.clone() }], missing: params.missing };
        let s = need::need_index(h, &one)?.score;
        for i in 0..n {
            x[i * m + j] = s[i];
        }
    }
    Ok(Columns {
        names: indicators.iter().map(|i| i.column.clone()).collect(),
        weights: indicators.iter().map(|i| i.weight).collect(),
        m,
        x,
    })
}

/// What a draw needs about the zones.
struct ZoneFrame<'a> {
    /// Per zone (in the run's rank order): the households inside it, those with a score,
    /// fixed priority value (for the priorities that do not depend on need), id.
    inside: &'a [Vec<u32>],
    scored: Vec<usize>,
    fixed: Vec<f64>,
    ids: Vec<u32>,
    priority: Priority,
}

/// Scores under `weights` into `score` (the same arithmetic as need.rs: Σ w·t / Σ w, clamped).
fn scores_into(cols: &Columns, weights: &[f64], score: &mut [f64]) {
    let total: f64 = weights.iter().sum();
    for (s, row) in score.iter_mut().zip(cols.x.chunks_exact(cols.m)) {
        let acc = row.iter().zip(weights).fold(0.0, |a, (x, w)| a + w * x);
        *s = (acc / total).clamp(0.0, 1.0);
    }
}

/// Ranks (1-based, per zone index) under a score and its critical households: each zone's
/// figure summed over the households inside it in the same order as zones.rs, so the chosen
/// weights give back the run's ranks exactly.
fn rank_zones(frame: &ZoneFrame, score: &[f64], critical: &[bool]) -> Vec<u32> {
    let z = frame.ids.len();
    let value: Vec<f64> = (0..z)
        .map(|k| {
            let inside = &frame.inside[k];
            let total = || inside.iter().map(|&i| score[i as usize]).filter(|s| s.is_finite()).fold(0.0, |a, s| a + s);
            let crit = || inside.iter().filter(|&&i| critical[i as usize]).count();
            match frame.priority {
                Priority::TotalNeed => total(),
                Priority::MeanNeed => {
                    if frame.scored[k] > 0 {
                        total() / frame.scored[k] as f64
                    } else {
                        0.0
                    }
                }
                Priority::CriticalHouseholds => crit() as f64,
                Priority::CriticalShare => {
                    if inside.is_empty() {
                        0.0
                    } else {
                        crit() as f64 / inside.len() as f64
                    }
                }
                Priority::People | Priority::Households | Priority::Density => frame.fixed[k],
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..z).collect();
    order.sort_by(|&a, &b| {
        value[b]
            .total_cmp(&value[a])
            .then(frame.inside[b].len().cmp(&frame.inside[a].len()))
            .then(frame.ids[a].cmp(&frame.ids[b]))
    });
    let mut rank = vec![0u32; z];
    for (r, &k) in order.iter().enumerate() {
        rank[k] = r as u32 + 1;
    }
    rank
}

/// One block of draws' results.
struct Block {
    counts: Vec<u32>,
    ranks: Vec<Vec<u32>>,
    weights: Vec<Vec<f64>>,
}

fn top_set(rank: &[u32], ids: &[u32], k: usize) -> Vec<u32> {
    let mut v: Vec<u32> = (0..rank.len()).filter(|&z| rank[z] as usize <= k).map(|z| ids[z]).collect();
    v.sort_unstable();
    v
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let pairs = || a.iter().zip(b).filter(|(x, y)| x.is_finite() && y.is_finite());
    let n = pairs().count() as f64;
    if n < 2.0 {
        return None;
    }
    let (ma, mb) = pairs().fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x, sb + y));
    let (ma, mb) = (ma / n, mb / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in pairs() {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// `12 %`, or `7.5 %` below ten.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 9.95 || p == 0.0 { format!("{p:.0} %") } else { format!("{p:.1} %") }
}

// ---------------------------------------------------------------------------------------
// The audit

/// Runs the audit on a finished run.
///
/// # Errors
/// Settings out of range, a group column not in the file or with more than [`MAX_GROUPS`]
/// values, fewer than two indicators with a positive weight, or cancellation.
pub fn audit(inp: &AuditInputs, params: &AuditParams, progress: &Progress) -> Result<AuditResult, AuditError> {
    params.check()?;
    let h = inp.households;
    let n = h.len();
    // Group columns first: a wrong name should fail before the long part.
    let mut group_cols = Vec::new();
    for g in &params.groups {
        let c = h.column(g).ok_or_else(|| AuditError::NoGroupColumn {
            path: h.path.display().to_string(),
            column: g.clone(),
            columns: h.columns.iter().map(|c| format!("{:?}", c.name)).collect::<Vec<_>>().join(", "),
        })?;
        group_cols.push((g.clone(), c));
    }
    let cols = columns(h, inp.need).map_err(AuditError::Need)?;
    let positive = cols.weights.iter().filter(|&&w| w > 0.0).count();
    if positive < 2 {
        let list = cols.names.iter().zip(&cols.weights).map(|(c, w)| format!("{c:?} (weight {w})")).collect::<Vec<_>>();
        return Err(AuditError::NothingToPerturb(if list.is_empty() { "none".into() } else { list.join(", ") }));
    }
    let total_w: f64 = cols.weights.iter().sum();
    let chosen: Vec<f64> = cols.weights.iter().map(|w| w / total_w).collect();

    // Zones, in the run's rank order.
    let zones = &inp.zones.zones;
    let z = zones.len();
    let mut base_score = vec![0.0; n];
    scores_into(&cols, &cols.weights, &mut base_score);
    let frame = ZoneFrame {
        inside: &inp.zones.inside,
        scored: inp
            .zones
            .inside
            .iter()
            .map(|v| v.iter().filter(|&&i| base_score[i as usize].is_finite()).count())
            .collect(),
        fixed: zones
            .iter()
            .map(|zn| match inp.priority {
                Priority::People => zn.people.unwrap_or(zn.households as f64),
                Priority::Households => zn.households as f64,
                Priority::Density => zn.density_per_km2,
                _ => 0.0,
            })
            .collect(),
        ids: zones.iter().map(|zn| zn.id).collect(),
        priority: inp.priority,
    };
    let k_top = params.top_k.min(z);
    let base_critical = need::select(&base_score, inp.selection);
    let base_rank = rank_zones(&frame, &base_score, &base_critical);
    let base_top = top_set(&base_rank, &frame.ids, k_top);

    // Weight draws: one contiguous block of draws per thread.
    progress.stage("audit", params.draws as u64);
    let draws = params.draws;
    let blocks = rayon::current_num_threads().clamp(1, draws);
    let per = draws.div_ceil(blocks);
    let results: Vec<Block> = (0..blocks)
        .into_par_iter()
        .map(|b| -> Result<Block, Cancelled> {
            let range = (b * per).min(draws)..((b + 1) * per).min(draws);
            let mut block = Block { counts: vec![0; n], ranks: Vec::with_capacity(range.len()), weights: Vec::new() };
            let mut score = vec![0.0; n];
            for d in range {
                progress.check()?;
                let mut rng = Rng::for_draw(params.seed, d as u64);
                let w = dirichlet(&mut rng, &chosen, params.concentration);
                scores_into(&cols, &w, &mut score);
                let critical = need::select(&score, inp.selection);
                for (c, &k) in block.counts.iter_mut().zip(&critical) {
                    *c += k as u32;
                }
                block.ranks.push(rank_zones(&frame, &score, &critical));
                block.weights.push(w);
                progress.add(1);
            }
            Ok(block)
        })
        .collect::<Result<_, _>>()?;
    let mut counts = vec![0u32; n];
    let mut ranks: Vec<Vec<u32>> = Vec::with_capacity(draws);
    let mut weights: Vec<Vec<f64>> = Vec::with_capacity(draws);
    for b in results {
        for (c, x) in counts.iter_mut().zip(&b.counts) {
            *c += x;
        }
        ranks.extend(b.ranks);
        weights.extend(b.weights);
    }
    let d = draws as f64;

    // Per zone.
    let zone_rows: Vec<ZoneStability> = (0..z)
        .map(|k| {
            let mut r: Vec<u32> = ranks.iter().map(|draw| draw[k]).collect();
            r.sort_unstable();
            ZoneStability {
                zone: frame.ids[k],
                rank: zones[k].rank,
                rank_fixed_members: base_rank[k],
                p_top_k: r.iter().filter(|&&x| x as usize <= k_top).count() as f64 / d,
                p_top_1: r.iter().filter(|&&x| x == 1).count() as f64 / d,
                rank_p05: quantile(&r, 0.05),
                rank_median: quantile(&r, 0.5),
                rank_p95: quantile(&r, 0.95),
            }
        })
        .collect();

    // Per household.
    let p_critical: Vec<f64> =
        (0..n).map(|i| if base_score[i].is_finite() { counts[i] as f64 / d } else { f64::NAN }).collect();
    let scored_n = base_score.iter().filter(|s| s.is_finite()).count();
    let critical_stability = CriticalStability {
        always: (0..n).filter(|&i| base_score[i].is_finite() && counts[i] as usize == draws).count(),
        never: (0..n).filter(|&i| base_score[i].is_finite() && counts[i] == 0).count(),
        sometimes: (0..n).filter(|&i| counts[i] > 0 && (counts[i] as usize) < draws).count(),
        critical_below_half: (0..n)
            .filter(|&i| inp.critical.get(i) == Some(&true) && 2 * counts[i] < draws as u32)
            .count(),
    };

    // Per indicator.
    let mut indicators = Vec::with_capacity(cols.m);
    let mut column = vec![0.0; n];
    let mut score = vec![0.0; n];
    for j in 0..cols.m {
        progress.check()?;
        for i in 0..n {
            column[i] = cols.x[i * cols.m + j];
        }
        let mut drawn: Vec<f64> = weights.iter().map(|w| w[j]).collect();
        drawn.sort_by(f64::total_cmp);
        let mut without = cols.weights.clone();
        without[j] = 0.0;
        let (changed, out, into, first) = if without.iter().any(|&w| w > 0.0) {
            scores_into(&cols, &without, &mut score);
            let critical = need::select(&score, inp.selection);
            let rank = rank_zones(&frame, &score, &critical);
            let top = top_set(&rank, &frame.ids, k_top);
            let out: Vec<u32> = base_top.iter().filter(|x| !top.contains(x)).copied().collect();
            let into: Vec<u32> = top.iter().filter(|x| !base_top.contains(x)).copied().collect();
            let first = (0..z).find(|&k| rank[k] == 1).map(|k| frame.ids[k]);
            (Some(out.len()), out, into, first)
        } else {
            (None, Vec::new(), Vec::new(), None)
        };
        indicators.push(IndicatorInfluence {
            column: cols.names[j].clone(),
            weight: chosen[j],
            weight_p05: quantile(&drawn, 0.05),
            weight_p95: quantile(&drawn, 0.95),
            correlation: pearson(&column, &base_score),
            leave_out_top_k_changed: changed,
            leave_out_zones_out: out,
            leave_out_zones_in: into,
            leave_out_top_zone: first,
        });
    }

    // Groups.
    // Households whose zone (`zone_of`) has rank ≤ K.
    let rank_of: BTreeMap<i32, u32> = zones.iter().map(|zn| (zn.id as i32, zn.rank)).collect();
    let in_top: Vec<bool> = (0..n)
        .map(|i| inp.zones.zone_of.get(i).and_then(|id| rank_of.get(id)).is_some_and(|&r| r as usize <= k_top))
        .collect();
    let critical_n = inp.critical.iter().filter(|&&c| c).count();
    let top_n = in_top.iter().filter(|&&t| t).count();
    let covered_n = inp.covered.map(|c| c.iter().filter(|&&x| x).count());
    let mut groups = Vec::new();
    for (name, c) in &group_cols {
        groups.extend(group_coverage(
            h,
            name,
            *c,
            &GroupSets { critical: inp.critical, in_top: &in_top, covered: inp.covered },
            (critical_n, top_n, covered_n),
            k_top,
            params.min_group_households,
        )?);
    }

    // Plain words.
    let mut flags = Vec::new();
    if let Some(first) = zone_rows.first()
        && z > 1
        && first.p_top_1 < 0.9
    {
        flags.push(format!(
            "the top zone (zone {}) stays first in only {} of the {draws} weight draws; its rank ranges {}–{} (5–95 %)",
            first.zone,
            percent(first.p_top_1),
            first.rank_p05,
            first.rank_p95
        ));
    }
    for zr in zone_rows.iter().filter(|zr| (zr.rank as usize) <= k_top && zr.p_top_k < 0.8) {
        flags.push(format!(
            "zone {} (rank {}) stays in the top {k_top} in only {} of the weight draws",
            zr.zone,
            zr.rank,
            percent(zr.p_top_k)
        ));
    }
    for ind in &indicators {
        if let Some(ch) = ind.leave_out_top_k_changed
            && ch > 0
        {
            flags.push(format!(
                "leaving out {:?} changes {ch} of the top {k_top} zones (out: {}; in: {})",
                ind.column,
                ids_text(&ind.leave_out_zones_out),
                ids_text(&ind.leave_out_zones_in)
            ));
        }
    }
    for g in &groups {
        flags.extend(g.sentences.iter().cloned());
    }

    Ok(AuditResult {
        settings: params.clone(),
        method: format!(
            "weights drawn {draws} times from Dirichlet(concentration {} x chosen weights normalised), seed {}; \
             zones re-ranked by {} with their households fixed; rank quantiles nearest-rank; group flags when a \
             share ratio is below {UNDER_RATIO} (four-fifths rule) or above {OVER_RATIO}, for groups of at least {} \
             households",
            params.concentration,
            params.seed,
            serde_json::to_value(inp.priority).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            params.min_group_households
        ),
        selection: *inp.selection,
        priority: inp.priority,
        households: n,
        scored: scored_n,
        critical: critical_n,
        zones_count: z,
        top_k: k_top,
        top_zone_households: top_n,
        covered_households: covered_n,
        zones: zone_rows,
        indicators,
        critical_stability,
        groups,
        flags,
        p_critical,
    })
}

fn ids_text(ids: &[u32]) -> String {
    if ids.is_empty() { "none".into() } else { ids.iter().map(|i| format!("zone {i}")).collect::<Vec<_>>().join(", ") }
}

struct GroupSets<'a> {
    critical: &'a [bool],
    in_top: &'a [bool],
    covered: Option<&'a [bool]>,
}

fn group_coverage(
    h: &Households,
    name: &str,
    col: usize,
    sets: &GroupSets,
    (critical_n, top_n, covered_n): (usize, usize, Option<usize>),
    k_top: usize,
    min_households: usize,
) -> Result<Vec<GroupCoverage>, AuditError> {
    let n = h.len();
    // value → (households, critical, top zones, covered)
    let mut by: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for i in 0..n {
        let t = h.text(i, col).trim();
        let key = if t.is_empty() { MISSING_GROUP } else { t };
        if !by.contains_key(key) && by.len() == MAX_GROUPS {
            let distinct = (0..n).map(|i| h.text(i, col).trim()).collect::<std::collections::BTreeSet<_>>().len();
            return Err(AuditError::TooManyGroups {
                path: h.path.display().to_string(),
                column: name.into(),
                distinct,
            });
        }
        let e = by.entry(key).or_default();
        e[0] += 1;
        e[1] += sets.critical.get(i).copied().unwrap_or(false) as usize;
        e[2] += sets.in_top[i] as usize;
        e[3] += sets.covered.is_some_and(|c| c.get(i).copied().unwrap_or(false)) as usize;
    }
    let mut rows: Vec<(&str, [usize; 4])> = by.into_iter().collect();
    rows.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(b.0)));
    let share = |x: usize, of: usize| (of > 0).then(|| x as f64 / of as f64);
    Ok(rows
        .into_iter()
        .map(|(group, c)| {
            let share_all = c[0] as f64 / n.max(1) as f64;
            let share_critical = share(c[1], critical_n);
            let share_top_zones = share(c[2], top_n);
            let share_covered = covered_n.and_then(|m| share(c[3], m));
            let ratio = |s: Option<f64>| s.map(|s| s / share_all);
            let (ratio_critical, ratio_top_zones, ratio_covered) =
                (ratio(share_critical), ratio(share_top_zones), ratio(share_covered));
            let who = if group == MISSING_GROUP {
                format!("households with no {name} value")
            } else {
                format!("households with {name} = {group:?}")
            };
            let mut flags = Vec::new();
            let mut sentences = Vec::new();
            if c[0] >= min_households {
                for (key, r, s, of) in [
                    ("critical", ratio_critical, share_critical, "the critical households".to_string()),
                    ("top_zones", ratio_top_zones, share_top_zones, format!("those inside the top {k_top} zones")),
                    ("covered", ratio_covered, share_covered, "those covered by the sites".to_string()),
                ] {
                    let (Some(r), Some(s)) = (r, s) else { continue };
                    let dir = if r < UNDER_RATIO {
                        "under"
                    } else if r > OVER_RATIO {
                        "over"
                    } else {
                        continue;
                    };
                    flags.push(format!("{dir}_{key}"));
                    sentences.push(format!(
                        "{who} are {} of the survey but {} of {of} (ratio {r:.2}: {})",
                        percent(share_all),
                        percent(s),
                        if dir == "under" {
                            "under-represented, below the four-fifths rule"
                        } else {
                            "over-represented"
                        }
                    ));
                }
            }
            GroupCoverage {
                column: name.to_string(),
                group: group.to_string(),
                households: c[0],
                critical: c[1],
                top_zones: c[2],
                covered: covered_n.map(|_| c[3]),
                share_all,
                share_critical,
                share_top_zones,
                share_covered,
                ratio_critical,
                ratio_top_zones,
                ratio_covered,
                flag: flags.join(";"),
                sentences,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_has_the_right_mean_and_variance() {
        for shape in [0.3, 1.0, 2.5, 26.0] {
            let mut r = Rng::for_draw(7, 3);
            let n = 200_000;
            let v: Vec<f64> = (0..n).map(|_| r.gamma(shape)).collect();
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            // Gamma(a, 1): mean a, variance a.
            assert!((mean - shape).abs() < 0.02 * shape.max(1.0), "shape {shape}: mean {mean}");
            assert!((var - shape).abs() < 0.05 * shape.max(1.0), "shape {shape}: variance {var}");
            assert!(v.iter().all(|&x| x > 0.0 && x.is_finite()));
        }
    }

    #[test]
    fn dirichlet_is_centred_on_the_chosen_weights_with_the_stated_spread() {
        let mean = [0.5, 0.3, 0.2, 0.0];
        let c = 50.0;
        let n = 50_000;
        let draws: Vec<Vec<f64>> = (0..n).map(|d| dirichlet(&mut Rng::for_draw(1, d), &mean, c)).collect();
        for j in 0..4 {
            let m = draws.iter().map(|w| w[j]).sum::<f64>() / n as f64;
            let var = draws.iter().map(|w| (w[j] - m).powi(2)).sum::<f64>() / n as f64;
            let want = mean[j] * (1.0 - mean[j]) / (c + 1.0);
            assert!((m - mean[j]).abs() < 2e-3, "weight {j}: mean {m}");
            assert!((var - want).abs() < 0.05 * want + 1e-12, "weight {j}: variance {var} vs {want}");
        }
        assert!(draws.iter().all(|w| w[3] == 0.0), "a zero weight stays zero");
    }

    #[test]
    fn streams_depend_on_seed_and_draw_only() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_draw(1, 5).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::for_draw(1, 5).next_u64(), Rng::for_draw(2, 5).next_u64());
        assert_ne!(Rng::for_draw(1, 5).next_u64(), Rng::for_draw(1, 6).next_u64());
    }

    #[test]
    fn nearest_rank_quantiles_by_hand() {
        let v: Vec<u32> = (1..=20).collect();
        assert_eq!(quantile(&v, 0.05), 1);
        assert_eq!(quantile(&v, 0.5), 10);
        assert_eq!(quantile(&v, 0.95), 19);
        assert_eq!(quantile(&[4u32], 0.95), 4);
        assert_eq!(quantile(&v, 0.0), 1);
    }

    #[test]
    fn percent_reads_plainly() {
        assert_eq!(percent(0.12), "12 %");
        assert_eq!(percent(0.075), "7.5 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(1.0), "100 %");
    }

    #[test]
    fn bad_settings_are_refused() {
        let p = AuditParams { draws: 0, ..Default::default() };
        assert_eq!(p.check(), Err(AuditError::NoDraws));
        let p = AuditParams { top_k: 0, ..Default::default() };
        assert_eq!(p.check(), Err(AuditError::NoTopK));
        let p = AuditParams { concentration: f64::NAN, ..Default::default() };
        assert!(matches!(p.check(), Err(AuditError::BadConcentration(_))));
        assert_eq!(AuditParams::default().check(), Ok(()));
    }

    #[test]
    fn pearson_by_hand() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert!((pearson(&[1.0, f64::NAN, 2.0, 3.0], &[1.0, 5.0, 2.0, 3.0]).unwrap() - 1.0).abs() < 1e-12);
    }
}
