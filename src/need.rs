//! The need index: indicators → one score in [0, 1] per household (1 = most need), and the
//! selection of critical households.
//!
//! An [`Indicator`] is a column, a direction (is a higher value worse?), a transform and a
//! weight. Transforms put every indicator on [0, 1] before weighting:
//! - `min_max`: `(v − min) / (max − min)`;
//! - `z_score`: the standard normal CDF of `(v − mean) / sd`;
//! - `percentile`: the mid-rank share of households with a lower value;
//! - `cutoff`: 1 when deprived (≥ cutoff if higher is worse, ≤ cutoff if lower is worse), as
//!   in the Multidimensional Poverty Index.
//!
//! Categorical columns map through a value → score table (1 = worst), which the user can
//! edit; yes/no columns read as 1/0. Missing values follow a stated policy: impute the
//! median, or exclude the household (score NaN, listed in the report).
//!
//! # Examples
//! ```
//! use needmap::need::{score_from_columns, Direction, Transform};
//! // Income (lower is worse) and crowding (higher is worse), equal weights, min-max.
//! let income = [100.0, 300.0, 500.0];
//! let crowding = [3.0, 2.0, 1.0];
//! let s = score_from_columns(&[
//!     (&income[..], Direction::LowerIsWorse, Transform::MinMax, 1.0),
//!     (&crowding[..], Direction::HigherIsWorse, Transform::MinMax, 1.0),
//! ]);
//! assert_eq!(s, vec![1.0, 0.5, 0.0]);
//! ```

use std::collections::BTreeMap;

use crate::progress::Progress;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::data::columns::normalise;
use crate::data::validate::{parse_bool, parse_number};
use crate::data::{ColumnKind, Households, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsWorse,
    LowerIsWorse,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    MinMax,
    ZScore,
    Percentile,
    Cutoff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Indicator {
    pub column: String,
    pub direction: Direction,
    pub transform: Transform,
    pub weight: f64,
    /// Deprivation cut-off, for `transform = "cutoff"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<f64>,
    /// Value → score (1 = worst) for a categorical column; matched case-insensitively.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, f64>,
}

impl Default for Indicator {
    fn default() -> Self {
        Self {
            column: String::new(),
            direction: Direction::HigherIsWorse,
            transform: Transform::Percentile,
            weight: 1.0,
            cutoff: None,
            categories: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Use the median of the households that have a value.
    #[default]
    ImputeMedian,
    /// Leave the household without a score (not critical, not clustered).
    Exclude,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NeedParams {
    /// Empty: every recognised indicator, equal weights (see [`auto_indicators`]).
    pub indicators: Vec<Indicator>,
    pub missing: Missing,
}

/// Which households are critical.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Selection {
    /// The `percent` % of households with the highest score (ties at the cut included).
    TopPercent { percent: f64 },
    /// Score ≥ `min_score`.
    Threshold { min_score: f64 },
    /// Every household with a score.
    All,
}

impl Default for Selection {
    fn default() -> Self {
        Selection::TopPercent { percent: 30.0 }
    }
}

/// What an indicator did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorReport {
    pub indicator: Indicator,
    pub missing: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imputed: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_categories: Vec<String>,
    /// Cells that are not numbers (read as missing), as `line N: "text"`; at most 20 listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_numbers: Vec<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NeedScore {
    /// Score per household in [0, 1]; NaN when excluded for a missing value.
    pub score: Vec<f64>,
    pub indicators: Vec<IndicatorReport>,
    pub excluded: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NeedError {
    #[error("indicator column {0:?} is not in the file; the columns are {1}")]
    NoColumn(String, String),
    #[error("indicator {0:?} has weight {1}; weights must be finite and not negative")]
    BadWeight(String, f64),
    #[error("the weights add up to 0; give at least one indicator a positive weight")]
    ZeroWeights,
    #[error("indicator {0:?} uses transform \"cutoff\" but gives no cutoff value")]
    NoCutoff(String),
    /// No indicator given and none recognised; the text says why (see [`no_indicators_reason`]).
    #[error(
        "no need indicators: {0}; name them with --indicator COLUMN[:higher|lower][:WEIGHT] or in the analysis \
         file's [[need.indicators]] (points with no indicators at all: add --all-households to get zones ranked \
         by households)"
    )]
    NoIndicators(String),
    #[error("cancelled")]
    Cancelled,
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf; |error| < 1.5e-7).
pub fn phi(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
            * t
            * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + y) } else { 0.5 * (1.0 - y) }
}

/// Transforms complete values (no missing) to [0, 1] with 1 = most need.
pub fn transform(values: &[f64], direction: Direction, transform: Transform, cutoff: Option<f64>) -> Vec<f64> {
    transform_owned(values.to_vec(), direction, transform, cutoff)
}

/// [`transform`], its result written over `values` (at 10M households one column less in
/// memory while the need index is built).
pub fn transform_owned(
    mut values: Vec<f64>,
    direction: Direction,
    transform: Transform,
    cutoff: Option<f64>,
) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return values;
    }
    let worse_high = direction == Direction::HigherIsWorse;
    let orient = |t: f64| if worse_high { t } else { 1.0 - t };
    match transform {
        Transform::MinMax => {
            let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            values.iter_mut().for_each(|v| *v = if hi > lo { orient((*v - lo) / (hi - lo)) } else { 0.0 });
        }
        Transform::ZScore => {
            let mean = values.iter().sum::<f64>() / n as f64;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            let sd = var.sqrt();
            values.iter_mut().for_each(|v| *v = if sd > 0.0 { orient(phi((*v - mean) / sd)) } else { 0.5 });
        }
        Transform::Percentile => {
            // Mid-rank: (values below + half the values equal) / n, through one sort of
            // (value, position) pairs rather than two searches per value.
            let mut sorted: Vec<(f64, u32)> = values.iter().enumerate().map(|(i, &v)| (v, i as u32)).collect();
            sorted.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut s = 0;
            while s < n {
                let v = sorted[s].0;
                // Equal values (−0 and +0 too: they are next to each other in this order).
                let e = s + sorted[s..].partition_point(|x| x.0 == v);
                let rank = orient((s as f64 + 0.5 * (e - s) as f64) / n as f64);
                for &(_, i) in &sorted[s..e] {
                    values[i as usize] = rank;
                }
                s = e;
            }
        }
        Transform::Cutoff => {
            let c = cutoff.unwrap_or(f64::NAN);
            values.iter_mut().for_each(|v| {
                let deprived = if worse_high { *v >= c } else { *v <= c };
                *v = if deprived { 1.0 } else { 0.0 };
            });
        }
    }
    values
}

/// The weighted mean of transformed complete columns. For examples and tests.
pub fn score_from_columns(cols: &[(&[f64], Direction, Transform, f64)]) -> Vec<f64> {
    let n = cols.first().map_or(0, |c| c.0.len());
    let total_w: f64 = cols.iter().map(|c| c.3).sum();
    let mut s = vec![0.0; n];
    for &(v, d, t, w) in cols {
        for (acc, x) in s.iter_mut().zip(transform(v, d, t, None)) {
            *acc += w * x;
        }
    }
    s.iter().map(|x| x / total_w).collect()
}

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// Category key as matched: normalised name, accents folded.
pub fn category_key(v: &str) -> String {
    strip_accents(&normalise(v))
}

fn table(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Default value → score tables for building materials, water and sanitation, in English
/// and Spanish (1 = worst). Sources of the ordering: the INEI / DHS housing-quality
/// categories (finished, rudimentary, natural materials).
fn material_table() -> BTreeMap<String, f64> {
    table(&[
        ("concrete", 0.0),
        ("concreto", 0.0),
        ("cement", 0.0),
        ("cemento", 0.0),
        ("brick", 0.0),
        ("ladrillo", 0.0),
        ("tile", 0.0),
        ("loseta", 0.0),
        ("ceramica", 0.0),
        ("parquet", 0.0),
        ("teja", 0.3),
        ("eternit", 0.4),
        ("fibrocemento", 0.4),
        ("wood", 0.6),
        ("madera", 0.6),
        ("adobe", 0.6),
        ("quincha", 0.6),
        ("tapia", 0.6),
        ("calamina", 0.6),
        ("zinc", 0.6),
        ("corrugated_metal", 0.6),
        ("tin", 0.6),
        ("other", 0.5),
        ("otro", 0.5),
        ("estera", 1.0),
        ("mat", 1.0),
        ("cardboard", 1.0),
        ("carton", 1.0),
        ("plastic", 1.0),
        ("plastico", 1.0),
        ("earth", 1.0),
        ("tierra", 1.0),
        ("dirt", 1.0),
        ("none", 1.0),
        ("ninguno", 1.0),
    ])
}

fn water_table() -> BTreeMap<String, f64> {
    table(&[
        ("red_publica", 0.0),
        ("public_network", 0.0),
        ("piped", 0.0),
        ("pilon", 0.4),
        ("pileta", 0.4),
        ("standpipe", 0.4),
        ("pozo", 0.6),
        ("well", 0.6),
        ("camion", 0.7),
        ("cisterna", 0.7),
        ("truck", 0.7),
        ("rio", 1.0),
        ("river", 1.0),
        ("acequia", 1.0),
        ("none", 1.0),
        ("ninguno", 1.0),
        ("other", 0.5),
        ("otro", 0.5),
    ])
}

fn sanitation_table() -> BTreeMap<String, f64> {
    table(&[
        ("red_publica", 0.0),
        ("public_network", 0.0),
        ("sewer", 0.0),
        ("pozo_septico", 0.4),
        ("septic", 0.4),
        ("septic_tank", 0.4),
        ("letrina", 0.7),
        ("latrine", 0.7),
        ("pit_latrine", 0.7),
        ("pozo_ciego", 0.7),
        ("ninguno", 1.0),
        ("none", 1.0),
        ("campo_abierto", 1.0),
        ("open", 1.0),
        ("rio", 1.0),
        ("other", 0.5),
        ("otro", 0.5),
    ])
}

/// Name patterns of recognised indicators.
enum Kind {
    Income,
    HouseholdSize,
    Crowding,
    Water,
    Sanitation,
    Material,
}

fn recognise(name: &str) -> Option<Kind> {
    let n = strip_accents(&normalise(name));
    let has = |s: &str| n.contains(s);
    if has("income") || has("ingreso") {
        Some(Kind::Income)
    } else if has("per_room") || has("hacinamiento") || has("crowding") || has("por_habitacion") || has("por_cuarto") {
        Some(Kind::Crowding)
    } else if has("household_size")
        || has("hh_size")
        || n == "num_personas"
        || n == "personas"
        || n == "miembros"
        || has("tamano_hogar")
        || has("n_personas")
    {
        Some(Kind::HouseholdSize)
    } else if has("water") || has("agua") {
        Some(Kind::Water)
    } else if has("sanitation") || has("desague") || has("saneamiento") || has("toilet") || has("bano") {
        Some(Kind::Sanitation)
    } else if has("roof") || has("techo") || has("wall") || has("pared") || has("floor") || has("piso") {
        Some(Kind::Material)
    } else {
        None
    }
}

/// Why [`auto_indicators`] found nothing: the columns whose name it recognised but whose
/// values it could not use, or that no name was recognised.
pub fn no_indicators_reason(h: &Households) -> String {
    let mut why = Vec::new();
    for (k, c) in h.columns.iter().enumerate() {
        if c.role != Role::Attribute || recognise(&c.name).is_none() {
            continue;
        }
        let kind = match c.kind {
            ColumnKind::Empty => "is empty".to_string(),
            ColumnKind::Number => "is numeric but its kind of indicator expects categories".to_string(),
            ColumnKind::Bool => "holds yes/no values, which this kind of indicator does not take".to_string(),
            ColumnKind::Category | ColumnKind::Text => {
                let mut examples: Vec<&str> = Vec::new();
                for i in 0..h.len() {
                    let v = h.cells.get(i, k).trim();
                    if !v.is_empty() && !examples.contains(&v) {
                        examples.push(v);
                        if examples.len() == 3 {
                            break;
                        }
                    }
                }
                let ex = examples.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ");
                format!("holds text ({ex}…), not numbers or known categories")
            }
        };
        why.push(format!("column {:?} has a recognised name but {kind}", c.name));
    }
    if why.is_empty() {
        "none of the columns has a recognised name (income, household size, people per room, water, sanitation, \
         roof/wall/floor material, or ingreso, hacinamiento, agua, desagüe, techo…)"
            .to_string()
    } else {
        why.join("; ")
    }
}

/// An indicator from the command line: `COLUMN[:higher|lower][:WEIGHT]` (higher: larger
/// values mean more need, the default; lower: smaller values do, like income).
///
/// ```
/// use needmap::need::{parse_indicator, Direction};
/// let i = parse_indicator("income:lower:2").unwrap();
/// assert_eq!((i.column.as_str(), i.direction, i.weight), ("income", Direction::LowerIsWorse, 2.0));
/// assert_eq!(parse_indicator("people_per_room").unwrap().direction, Direction::HigherIsWorse);
/// assert_eq!(parse_indicator("water:0.5").unwrap().weight, 0.5);
/// assert!(parse_indicator("income:lowest").unwrap_err().contains("should be higher, lower or a weight"));
/// assert!(parse_indicator("income:down:2").unwrap_err().contains("should be higher or lower"));
/// ```
pub fn parse_indicator(spec: &str) -> Result<Indicator, String> {
    let mut parts: Vec<&str> = spec.split(':').collect();
    let mut ind = Indicator::default();
    let bad = |what: String| format!("indicator {spec:?}: {what}");
    if parts.len() >= 2 {
        let last = parts[parts.len() - 1].trim();
        let dir = |t: &str| match t.to_ascii_lowercase().as_str() {
            "higher" | "high" | "mayor" => Some(Direction::HigherIsWorse),
            "lower" | "low" | "menor" => Some(Direction::LowerIsWorse),
            _ => None,
        };
        if let Some(d) = dir(last) {
            ind.direction = d;
            parts.pop();
        } else if parts.len() >= 3 {
            let d = dir(parts[parts.len() - 2].trim()).ok_or_else(|| {
                bad(format!("{:?} should be higher or lower (COLUMN[:higher|lower][:WEIGHT])", parts[parts.len() - 2]))
            })?;
            ind.weight = match last.parse::<f64>() {
                Ok(w) if w.is_finite() && w >= 0.0 => w,
                _ => {
                    return Err(bad(format!(
                        "WEIGHT {last:?} must be a number of 0 or more after COLUMN:higher|lower"
                    )));
                }
            };
            ind.direction = d;
            parts.truncate(parts.len() - 2);
        } else {
            match last.parse::<f64>() {
                Ok(w) if w.is_finite() && w >= 0.0 => ind.weight = w,
                _ => return Err(bad(format!("{last:?} should be higher, lower or a weight"))),
            }
            parts.pop();
        }
    }
    ind.column = parts.join(":").trim().to_string();
    if ind.column.is_empty() {
        return Err(bad("no column name".into()));
    }
    Ok(ind)
}

/// Every attribute column with a recognised indicator name, with equal weights.
pub fn auto_indicators(h: &Households) -> Vec<Indicator> {
    let mut out = Vec::new();
    for c in &h.columns {
        if c.role != Role::Attribute || c.kind == ColumnKind::Empty || c.kind == ColumnKind::Text {
            continue;
        }
        let Some(kind) = recognise(&c.name) else { continue };
        let base = Indicator { column: c.name.clone(), ..Default::default() };
        let numeric = c.kind == ColumnKind::Number;
        let ind = match kind {
            Kind::Income if numeric => Indicator { direction: Direction::LowerIsWorse, ..base },
            Kind::HouseholdSize | Kind::Crowding if numeric => base,
            Kind::Water | Kind::Sanitation if c.kind == ColumnKind::Bool => {
                Indicator { direction: Direction::LowerIsWorse, transform: Transform::MinMax, ..base }
            }
            Kind::Water if c.kind == ColumnKind::Category => Indicator { categories: water_table(), ..base },
            Kind::Sanitation if c.kind == ColumnKind::Category => Indicator { categories: sanitation_table(), ..base },
            Kind::Material if c.kind == ColumnKind::Category => Indicator { categories: material_table(), ..base },
            _ => continue,
        };
        out.push(ind);
    }
    out
}

/// The median (the mean of the two middle values for an even count); reorders `v`.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (below, &mut mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 { mid } else { 0.5 * (below.iter().copied().max_by(f64::total_cmp).expect("n ≥ 2") + mid) }
}

/// Computes the need score of every household.
pub fn need_index(h: &Households, params: &NeedParams) -> Result<NeedScore, NeedError> {
    need_index_with(h, params, &Progress::new())
}

/// [`need_index`], stopping between indicators once `progress` is cancelled (each one is a
/// pass over every household: about a second at 10M).
pub fn need_index_with(h: &Households, params: &NeedParams, progress: &Progress) -> Result<NeedScore, NeedError> {
    let check = || progress.check().map_err(|_| NeedError::Cancelled);
    let indicators = if params.indicators.is_empty() { auto_indicators(h) } else { params.indicators.clone() };
    if indicators.is_empty() {
        return Err(NeedError::NoIndicators(no_indicators_reason(h)));
    }
    let names = || h.columns.iter().map(|c| format!("{:?}", c.name)).collect::<Vec<_>>().join(", ");
    let mut total_w = 0.0;
    for ind in &indicators {
        if !(ind.weight.is_finite() && ind.weight >= 0.0) {
            return Err(NeedError::BadWeight(ind.column.clone(), ind.weight));
        }
        if ind.transform == Transform::Cutoff && ind.cutoff.is_none() && ind.categories.is_empty() {
            return Err(NeedError::NoCutoff(ind.column.clone()));
        }
        total_w += ind.weight;
    }
    if total_w <= 0.0 {
        return Err(NeedError::ZeroWeights);
    }
    let n = h.len();
    let mut score = vec![0.0; n];
    let mut excluded = vec![false; n];
    let mut reports = Vec::new();
    for ind in &indicators {
        check()?;
        let col = h.column(&ind.column).ok_or_else(|| NeedError::NoColumn(ind.column.clone(), names()))?;
        let categorical = !ind.categories.is_empty();
        let lookup: BTreeMap<String, f64> = ind.categories.iter().map(|(k, v)| (category_key(k), *v)).collect();
        // Values in parallel; a categorical column's texts are few, so each thread keeps what
        // it has looked up (up to a few thousand texts).
        // NaN is "no value" (numbers read are always finite): 8 bytes a household, not 16.
        let typed = h.cells.typed(col).filter(|_| !categorical);
        let mut raw: Vec<f64> = if let Some(t) = typed {
            // Kept as numbers (GeoParquet): nothing to read.
            (0..n).into_par_iter().map(|i| t.get(i).filter(|v| v.is_finite()).unwrap_or(f64::NAN)).collect()
        } else if categorical {
            (0..n)
                .into_par_iter()
                .map_init(FxHashMap::<&str, f64>::default, |seen, i| {
                    let t = h.text(i, col).trim();
                    if t.is_empty() {
                        return f64::NAN;
                    }
                    if let Some(&v) = seen.get(t) {
                        return v;
                    }
                    let v = lookup.get(&category_key(t)).copied().unwrap_or(f64::NAN);
                    if seen.len() < 4096 {
                        seen.insert(t, v);
                    }
                    v
                })
                .collect()
        } else {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let t = h.text(i, col).trim();
                    if t.is_empty() {
                        return f64::NAN;
                    }
                    parse_number(t)
                        .ok()
                        .flatten()
                        .or_else(|| parse_bool(t).map(|b| if b { 1.0 } else { 0.0 }))
                        .unwrap_or(f64::NAN)
                })
                .collect()
        };
        check()?;
        // What could not be read, in input order.
        let mut unknown: BTreeMap<String, ()> = BTreeMap::new();
        let mut not_numbers: Vec<String> = Vec::new();
        let mut not_number_count = 0usize;
        for (i, v) in raw.iter().enumerate() {
            // A typed column's missing values are empty, or infinities (text `inf`).
            if !v.is_nan() || typed.is_some_and(|t| t.get(i).is_none()) {
                continue;
            }
            let t = h.text(i, col).trim();
            if t.is_empty() {
                continue;
            }
            if categorical {
                if unknown.len() < 50 {
                    unknown.insert(t.to_string(), ());
                }
            } else {
                not_number_count += 1;
                if not_numbers.len() < 20 {
                    not_numbers.push(format!(
                        "{}: {t:?}",
                        crate::data::validate::place(h.format.as_ref(), h.line[i], h.row[i])
                    ));
                }
            }
        }
        // Each column below is dropped as soon as the next is built: at 10M households each
        // is 40-160 MB, and this stage set the run's peak memory.
        let missing = raw.iter().filter(|v| v.is_nan()).count();
        let imputed = if missing > 0 && missing < n && params.missing == Missing::ImputeMedian {
            let mut present: Vec<f64> = raw.iter().copied().filter(|v| !v.is_nan()).collect();
            Some(median(&mut present))
        } else {
            None
        };
        if let Some(m) = imputed {
            raw.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = m);
        }
        // Transform over the values present (imputed included); the others are excluded.
        // Usually every household has a value: then no index of them is made.
        let present: Option<Vec<u32>> = raw
            .iter()
            .any(|v| !v.is_finite())
            .then(|| (0..n as u32).filter(|&i| raw[i as usize].is_finite()).collect());
        if let Some(idx) = &present {
            raw = idx.iter().map(|&i| raw[i as usize]).collect();
        }
        check()?;
        let t = if categorical { raw } else { transform_owned(raw, ind.direction, ind.transform, ind.cutoff) };
        check()?;
        match &present {
            None => score.iter_mut().zip(&t).for_each(|(s, v)| *s += ind.weight * v),
            Some(idx) => {
                let mut got = vec![false; n];
                for (k, &i) in idx.iter().enumerate() {
                    score[i as usize] += ind.weight * t[k];
                    got[i as usize] = true;
                }
                for i in 0..n {
                    if !got[i] {
                        excluded[i] = true;
                    }
                }
            }
        }
        let what = if categorical {
            "categories scored by the table (1 = worst)".to_string()
        } else {
            format!(
                "{}, {}",
                match ind.direction {
                    Direction::HigherIsWorse => "higher is worse",
                    Direction::LowerIsWorse => "lower is worse",
                },
                match ind.transform {
                    Transform::MinMax => "min-max".to_string(),
                    Transform::ZScore => "z-score (normal CDF)".to_string(),
                    Transform::Percentile => "percentile rank".to_string(),
                    Transform::Cutoff => format!("deprived at cutoff {}", ind.cutoff.unwrap_or(f64::NAN)),
                }
            )
        };
        let mut miss = match (missing, imputed) {
            (0, _) => String::new(),
            (m, Some(v)) => format!("; {m} missing, imputed with the median {v}"),
            (m, None) => format!("; {m} missing, those households excluded"),
        };
        if not_number_count > 0 {
            miss += &format!(" ({not_number_count} of them not numbers, e.g. {})", not_numbers[0]);
        }
        reports.push(IndicatorReport {
            indicator: ind.clone(),
            missing,
            imputed,
            unknown_categories: unknown.into_keys().collect(),
            not_numbers,
            note: format!("{:?}: {what}, weight {}{miss}", ind.column, ind.weight),
        });
    }
    let mut n_excl = 0;
    for i in 0..n {
        if excluded[i] {
            score[i] = f64::NAN;
            n_excl += 1;
        } else {
            score[i] = (score[i] / total_w).clamp(0.0, 1.0);
        }
    }
    Ok(NeedScore { score, indicators: reports, excluded: n_excl })
}

/// Critical households under a selection rule. Households without a score are never critical.
pub fn select(score: &[f64], rule: &Selection) -> Vec<bool> {
    match *rule {
        Selection::All => score.iter().map(|s| s.is_finite()).collect(),
        Selection::Threshold { min_score } => score.iter().map(|&s| s.is_finite() && s >= min_score).collect(),
        Selection::TopPercent { percent } => {
            let mut valid: Vec<f64> = score.iter().copied().filter(|s| s.is_finite()).collect();
            let k = ((percent.clamp(0.0, 100.0) / 100.0) * valid.len() as f64).ceil() as usize;
            if k == 0 {
                return vec![false; score.len()];
            }
            // The k-th largest score.
            let cut = *valid.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a)).1;
            score.iter().map(|&s| s.is_finite() && s >= cut).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_by_hand() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(transform(&v, Direction::HigherIsWorse, Transform::MinMax, None), [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        let t = transform(&v, Direction::LowerIsWorse, Transform::MinMax, None);
        assert!(t.iter().zip([1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0]).all(|(a, b)| (a - b).abs() < 1e-15), "{t:?}");
        // Mid-rank percentiles: (below + ties/2) / n.
        assert_eq!(
            transform(&[5.0, 5.0, 7.0, 1.0], Direction::HigherIsWorse, Transform::Percentile, None),
            [0.5, 0.5, 0.875, 0.125]
        );
        assert_eq!(transform(&v, Direction::LowerIsWorse, Transform::Cutoff, Some(2.0)), [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(transform(&v, Direction::HigherIsWorse, Transform::Cutoff, Some(3.0)), [0.0, 0.0, 1.0, 1.0]);
        let z = transform(&[0.0, 1.0, 2.0], Direction::HigherIsWorse, Transform::ZScore, None);
        // sd = sqrt(2/3); z = ±1.2247 → Φ = 0.1103, 0.5, 0.8897.
        assert!((z[0] - 0.110_26).abs() < 1e-4 && (z[1] - 0.5).abs() < 1e-7 && (z[2] - 0.889_74).abs() < 1e-4, "{z:?}");
        assert_eq!(transform(&[2.0, 2.0], Direction::HigherIsWorse, Transform::MinMax, None), [0.0, 0.0]);
    }

    proptest::proptest! {
        /// Percentile ranks, medians and the top-p % cut against their definitions, on values
        /// with many ties (and −0 beside +0).
        #[test]
        fn ranks_medians_and_cuts_match_their_definitions(
            ints in proptest::collection::vec(-6i32..6, 1..300),
            percent in 0.0f64..100.0,
        ) {
            let v: Vec<f64> = ints.iter().enumerate().map(|(i, &x)| if x == 0 && i % 2 == 1 { -0.0 } else { x as f64 / 2.0 }).collect();
            let n = v.len() as f64;
            let t = transform(&v, Direction::HigherIsWorse, Transform::Percentile, None);
            for (i, &x) in v.iter().enumerate() {
                let below = v.iter().filter(|&&y| y < x).count() as f64;
                let equal = v.iter().filter(|&&y| y == x).count() as f64;
                proptest::prop_assert_eq!(t[i], (below + 0.5 * equal) / n);
            }
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let m = sorted.len();
            let want = if m % 2 == 1 { sorted[m / 2] } else { 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]) };
            proptest::prop_assert_eq!(median(&mut v.clone()), want);
            let k = ((percent / 100.0) * n).ceil() as usize;
            let picked = select(&v, &Selection::TopPercent { percent });
            for (i, &x) in v.iter().enumerate() {
                // Selected exactly when it reaches the k-th largest value.
                let expect = k > 0 && x >= sorted[m - k];
                proptest::prop_assert_eq!(picked[i], expect, "value {} k {}", x, k);
            }
        }
    }

    #[test]
    fn phi_known_values() {
        assert!((phi(0.0) - 0.5).abs() < 1e-7);
        assert!((phi(1.96) - 0.975_002).abs() < 1e-6);
        assert!((phi(-1.0) - 0.158_655).abs() < 1e-6);
    }

    #[test]
    fn top_percent_includes_ties_and_skips_nan() {
        let s = [0.9, 0.1, f64::NAN, 0.5, 0.5, 0.2];
        assert_eq!(select(&s, &Selection::TopPercent { percent: 40.0 }), [true, false, false, true, true, false]);
        assert_eq!(select(&s, &Selection::TopPercent { percent: 0.0 }), [false; 6]);
        assert_eq!(select(&s, &Selection::Threshold { min_score: 0.5 }), [true, false, false, true, true, false]);
        assert_eq!(select(&s, &Selection::All), [true, true, false, true, true, true]);
    }

    #[test]
    fn recognises_english_and_spanish_names() {
        assert!(matches!(recognise("monthly_income"), Some(Kind::Income)));
        assert!(matches!(recognise("ingreso_mensual"), Some(Kind::Income)));
        assert!(matches!(recognise("hacinamiento"), Some(Kind::Crowding)));
        assert!(matches!(recognise("people_per_room"), Some(Kind::Crowding)));
        assert!(matches!(recognise("num_personas"), Some(Kind::HouseholdSize)));
        assert!(matches!(recognise("Desagüe"), Some(Kind::Sanitation)));
        assert!(matches!(recognise("material_techo"), Some(Kind::Material)));
        assert!(recognise("num_habitaciones").is_none());
        assert_eq!(category_key("Red pública"), "red_publica");
    }
}
