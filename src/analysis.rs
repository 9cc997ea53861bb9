//! The whole analysis as data, and the pipeline that runs it.
//!
//! An [`Analysis`] holds every stage's settings; it is what `analysis.toml` stores, what the
//! CLI builds from its flags and what the app edits. Each stage is a plain function from the
//! previous stage's output and its own settings to a typed result, so changing a later
//! stage's settings does not recompute the earlier ones:
//!
//! [`import_stage`] → [`need_stage`] → [`cluster_stage`] → [`zones_stage`]
//!
//! and, when the analysis has a `[hotspots]` section, [`hotspots_stage`] after the need stage.
//!
//! [`run`] chains them and returns the [`Outcome`], including the *resolved* analysis: the
//! need indicators and DBSCAN parameters that were chosen automatically are written out,
//! so running again with it reproduces the same outputs byte for byte.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditError, AuditInputs, AuditParams, AuditResult};
use crate::cluster::dbscan::{self, DbscanParams};
use crate::cluster::{self, Method};
use crate::data::{self, Households, ImportError, ImportOptions, ImportReport, Keep};
use crate::hotspots::{self, HotspotError, HotspotParams, HotspotResult};
use crate::index;
use crate::need::{self, NeedError, NeedParams, NeedScore, Selection};
use crate::progress::{Cancelled, Progress};
use crate::sites::{self, CandidateSource, Locations, SitesParams, Solution};
use crate::sphere::Xyz;
use crate::zones::{self, ZoneInputs, ZoneParams, ZonesResult};

/// Everything needed to reproduce a run, except the input file itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Analysis {
    pub input: InputConfig,
    pub need: NeedParams,
    pub selection: Selection,
    pub cluster: ClusterConfig,
    pub zones: ZoneParams,
    /// Build sites (optional): where P new sites cover the most weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sites: Option<SitesParams>,
    /// Gi* hot spots; absent = not run (and not written, so older files stay as they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotspots: Option<HotspotParams>,
    /// The bias audit, run after the zones when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditParams>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InputConfig {
    /// The survey file this analysis was made on (informative; the CLI's INPUT wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(flatten)]
    pub options: ImportOptions,
    /// Column with the number of people in each household (default: detected, e.g.
    /// `household_size`, `num_personas`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people_column: Option<String>,
}

/// Which households are clustered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Candidates {
    /// The critical households (see `selection`).
    #[default]
    Critical,
    /// Every household.
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterConfig {
    pub method: Method,
    pub households: Candidates,
    /// DBSCAN radius in metres; absent = suggested from the k-distance knee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eps_m: Option<f64>,
    /// DBSCAN min points (the household itself counts); absent = suggested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_points: Option<usize>,
    /// DBSCAN: count people (the people column), not households, towards min points.
    pub weight_by_people: bool,
    /// k-means: number of clusters and seed; weight households by need.
    pub k: usize,
    pub seed: u64,
    pub need_weighted: bool,
    /// k-means: k-means++ runs on a sample to choose the starting centres from.
    pub restarts: usize,
    /// HDBSCAN: smallest cluster, and the neighbour count of the core distance.
    pub min_cluster_size: usize,
    pub min_samples: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            method: Method::Dbscan,
            households: Candidates::Critical,
            eps_m: None,
            min_points: None,
            weight_by_people: false,
            k: 20,
            seed: 1,
            need_weighted: false,
            restarts: 64,
            min_cluster_size: 10,
            min_samples: 10,
        }
    }
}

impl Analysis {
    /// Reads an analysis file, naming the file and the line on error.
    pub fn load(path: &Path) -> Result<Self, RunError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunError::Analysis(format!("{}: cannot read: {e}", path.display())))?;
        // Unknown keys first: a misspelt setting would otherwise be ignored silently. A file
        // that does not parse falls through to `from_str`, which reports the syntax error.
        if let Ok(doc) = toml::de::DeTable::parse(&text)
            && let Some((span, msg)) = unknown_key(&text, doc.get_ref(), "")
        {
            let (line, col) = line_col(&text, span.start);
            return Err(RunError::Analysis(format!("{}:{line}:{col}: {msg}", path.display())));
        }
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(":{line}:{col}")
                })
                .unwrap_or_default();
            RunError::Analysis(format!("{}{at}: {}", path.display(), e.message()))
        })
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"));
        format!(
            "# needmap analysis: every setting of a run. Rerun with:\n#   needmap run INPUT --analysis analysis.toml --out DIR\n\n{body}"
        )
    }
}

/// Every key `analysis.toml` may hold, per table (`need.indicators` is each entry of that
/// array of tables). `None`: any key (a map of the user's own names). A table that is not
/// listed is not checked (serde reports its type). A new setting must be added here:
/// `tests/cli.rs` `every_setting_needmap_writes_loads_again` writes analyses with every
/// option set and loads them back, so one that is missing fails that test.
const KNOWN_KEYS: &[(&str, Option<&[&str]>)] = &[
    ("", Some(&["input", "need", "selection", "cluster", "zones", "sites", "hotspots", "audit"])),
    ("input", Some(&["path", "people_column", "lat_column", "lon_column", "id_column", "sheet", "accuracy_cutoff_m"])),
    ("need", Some(&["indicators", "missing"])),
    ("need.indicators", Some(&["column", "direction", "transform", "weight", "cutoff", "categories"])),
    ("need.indicators.categories", None),
    ("selection", Some(&["rule", "percent", "min_score"])),
    (
        "cluster",
        Some(&[
            "method",
            "households",
            "eps_m",
            "min_points",
            "weight_by_people",
            "k",
            "seed",
            "need_weighted",
            "restarts",
            "min_cluster_size",
            "min_samples",
        ]),
    ),
    ("zones", Some(&["hull", "priority"])),
    ("zones.hull", Some(&["kind", "concavity"])),
    ("sites", Some(&["sites", "radius_m", "weight", "candidates", "grid_m", "candidates_file", "existing_file"])),
    ("hotspots", Some(&["value", "band_m", "fdr"])),
    ("audit", Some(&["groups", "draws", "seed", "top_k", "concentration", "min_group_households"])),
];

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// The first key of `table` (at `path`, dotted) or below that `analysis.toml` does not know:
/// its span and the message, with the closest known key when one is close.
///
/// Also refuses `nan` and `inf` anywhere (found by fuzzing: a `nan` category score loaded,
/// and no setting means anything with it).
fn unknown_key(text: &str, table: &toml::de::DeTable<'_>, path: &str) -> Option<(std::ops::Range<usize>, String)> {
    let known = KNOWN_KEYS.iter().find(|(p, _)| *p == path).map(|(_, k)| *k);
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        if let Some(span) = not_finite(text, value) {
            return Some((span, format!("`{name}` must be a finite number, not {}", &text[value.span()])));
        }
        let Some(known) = known else { continue };
        let Some(known) = known else { continue };
        if !known.contains(&name) {
            let hint = closest(name, known).map(|k| format!("; did you mean `{k}`?")).unwrap_or_default();
            let msg = if path.is_empty() {
                let hint = closest(name, known).map(|k| format!("; did you mean [{k}]?")).unwrap_or_default();
                match value.get_ref() {
                    toml::de::DeValue::Table(_) => format!("unknown section [{name}]{hint}"),
                    _ => format!("unknown setting `{name}` outside any section{hint}"),
                }
            } else {
                format!("unknown setting `{name}` in [{path}]{hint}")
            };
            return Some((key.span(), msg));
        }
        let sub = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        match value.get_ref() {
            toml::de::DeValue::Table(t) => {
                if let Some(found) = unknown_key(text, t, &sub) {
                    return Some(found);
                }
            }
            toml::de::DeValue::Array(items) => {
                for item in items.iter() {
                    if let toml::de::DeValue::Table(t) = item.get_ref()
                        && let Some(found) = unknown_key(text, t, &sub)
                    {
                        return Some(found);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The span of a `nan` or `inf` float in `value` (or in the array it is), if any.
fn not_finite(text: &str, value: &toml::Spanned<toml::de::DeValue<'_>>) -> Option<std::ops::Range<usize>> {
    match value.get_ref() {
        toml::de::DeValue::Float(_) => {
            let raw = text.get(value.span())?.trim().trim_start_matches(['+', '-']);
            (raw == "nan" || raw == "inf").then(|| value.span())
        }
        toml::de::DeValue::Array(items) => items.iter().find_map(|v| not_finite(text, v)),
        _ => None,
    }
}

/// The known key closest to `name` by edit distance, if close enough to be a likely typo
/// (or one starts with the other, as `eps` and `eps_m`).
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) || k.starts_with(&lower) || lower.starts_with(k))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{0}")]
    Analysis(String),
    /// Not `#[from]`: that would also make it the error's source, and error chains would
    /// print the message twice.
    #[error("need index: {0}")]
    Need(NeedError),
    #[error("{0}")]
    Cluster(String),
    #[error("{0}")]
    Sites(String),
    /// Names the file (and column): `s.csv: hot spots on column "income": …`.
    #[error("{0}")]
    Hotspots(String),
    #[error("cancelled")]
    Cancelled,
    /// Not `#[from]`, as for `Need`.
    #[error("{0}")]
    Audit(AuditError),
}

impl From<AuditError> for RunError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Cancelled => RunError::Cancelled,
            e => RunError::Audit(e),
        }
    }
}

impl From<NeedError> for RunError {
    fn from(e: NeedError) -> Self {
        match e {
            NeedError::Cancelled => RunError::Cancelled,
            e => RunError::Need(e),
        }
    }
}

impl From<Cancelled> for RunError {
    fn from(_: Cancelled) -> Self {
        RunError::Cancelled
    }
}

/// Households with what every later stage needs: unit vectors, people.
pub struct Imported {
    pub households: Households,
    pub report: ImportReport,
    pub xyz: Vec<Xyz>,
    /// People per household (NaN where unknown), when there is a people column.
    pub people: Option<Vec<f64>>,
    pub people_column: Option<String>,
    /// Size and modification time of the file when it was read, to notice a later change.
    pub stamp: Option<FileStamp>,
}

/// What tells a file changed on disk: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    pub fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(FileStamp { len: m.len(), modified: m.modified().ok() })
    }
}

impl Imported {
    /// Whether `path` (the file this was read from) is no longer what was read.
    pub fn changed_on_disk(&self, path: &Path) -> bool {
        self.stamp.is_some_and(|s| FileStamp::of(path) != Some(s))
    }
}

const PEOPLE_NAMES: &[&str] = &[
    "household_size",
    "hh_size",
    "num_personas",
    "n_personas",
    "personas",
    "miembros",
    "num_miembros",
    "tamano_hogar",
    "people",
    "persons",
    "members",
];

pub fn import_stage(path: &Path, cfg: &InputConfig, keep: &Keep, progress: &Progress) -> Result<Imported, RunError> {
    // Taken before reading, so a change while reading is noticed too.
    let stamp = FileStamp::of(path);
    let (households, report) = data::import(path, &cfg.options, keep, progress)?;
    let mut imported = imported(households, report, cfg, path, progress)?;
    imported.stamp = stamp;
    Ok(imported)
}

/// [`import_stage`] on households already read (e.g. by [`data::import_arrow`] from a
/// DataFrame, `name` standing for the file): unit vectors and the people column.
pub fn imported(
    households: Households,
    report: ImportReport,
    cfg: &InputConfig,
    path: &Path,
    progress: &Progress,
) -> Result<Imported, RunError> {
    let xyz = households.xyz();
    progress.check()?;
    let people_col = match &cfg.people_column {
        Some(name) => Some(
            households
                .column(name)
                .ok_or_else(|| RunError::Analysis(format!("people column {name:?} is not in {}", path.display())))?,
        ),
        None => households.columns.iter().position(|c| {
            c.kind == data::ColumnKind::Number && PEOPLE_NAMES.contains(&need::category_key(&c.name).as_str())
        }),
    };
    let people = people_col.map(|c| households.numbers_or_nan(c));
    let people_column = people_col.map(|c| households.columns[c].name.clone());
    Ok(Imported { households, report, xyz, people, people_column, stamp: None })
}

/// The need score and the critical households.
#[derive(Debug, Clone)]
pub struct Scored {
    pub need: NeedScore,
    pub critical: Vec<bool>,
    /// The indicators used (the automatic ones written out).
    pub resolved: NeedParams,
    /// Said in the report and by the CLI (e.g. points with no indicators).
    pub note: Option<String>,
}

/// No need score, every household critical: what `needmap cluster` and `needmap sweep`
/// cluster (every household, by location alone).
pub fn unscored(n: usize) -> Scored {
    Scored {
        need: NeedScore { score: vec![f64::NAN; n], indicators: Vec::new(), excluded: 0 },
        critical: vec![true; n],
        resolved: Default::default(),
        note: None,
    }
}

/// The need score and the critical households, with `a`'s need settings and selection.
///
/// A file of points with no indicators at all (facilities, incidents) clustered with every
/// household (`--all-households`) still gives zones: every household then counts 1, so a
/// zone's total need is its number of households, and the note says so.
pub fn need_stage(imp: &Imported, a: &Analysis, progress: &Progress) -> Result<Scored, RunError> {
    let params = &a.need;
    let need = match need::need_index_with(&imp.households, params, progress) {
        Err(NeedError::NoIndicators(_)) if params.indicators.is_empty() && a.cluster.households == Candidates::All => {
            let n = imp.households.len();
            return Ok(Scored {
                need: NeedScore { score: vec![1.0; n], indicators: Vec::new(), excluded: 0 },
                critical: vec![true; n],
                resolved: NeedParams { indicators: Vec::new(), missing: params.missing },
                note: Some(format!(
                    "no need indicators: {}. Every household counts 1, so zones are ranked by their households",
                    need::no_indicators_reason(&imp.households)
                )),
            });
        }
        r => r?,
    };
    let critical = need::select(&need.score, &a.selection);
    let resolved = NeedParams {
        indicators: need.indicators.iter().map(|r| r.indicator.clone()).collect(),
        missing: params.missing,
    };
    Ok(Scored { need, critical, resolved, note: None })
}

/// The k-distance curve and what was suggested from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub min_points: usize,
    pub eps_m: f64,
    /// Sorted distances (metres) to the `min_points`-th nearest candidate, on a sample.
    #[serde(skip)]
    pub k_distances: Vec<f64>,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct Clustered {
    /// Cluster of each household; -1 for noise and for households not clustered.
    pub labels: Vec<i32>,
    /// Households that were clustered.
    pub candidates: Vec<bool>,
    pub clusters: usize,
    pub noise: usize,
    pub resolved: ClusterConfig,
    pub suggestion: Option<Suggestion>,
    /// k-means inertia (m²), when k-means ran.
    pub inertia_m2: Option<f64>,
}

/// Suggests DBSCAN parameters for these points: min points from their number, eps from the
/// knee of the k-distance curve.
pub fn suggest_dbscan(points: &[Xyz], min_points: Option<usize>) -> Option<Suggestion> {
    let m = min_points.unwrap_or_else(|| index::suggest_min_points(points.len()));
    let kd = index::k_distances(points, m, 20_000);
    let eps = index::knee(&kd)?.clamp(10.0, 5_000.0);
    Some(Suggestion {
        min_points: m,
        eps_m: eps,
        note: format!(
            "eps {eps} m from the knee of the {m}-distance curve of {} households{}",
            points.len(),
            if min_points.is_some() { String::new() } else { format!("; min points {m} ≈ ln n (4 to 20)") }
        ),
        k_distances: kd,
    })
}

pub fn cluster_stage(
    imp: &Imported,
    scored: &Scored,
    cfg: &ClusterConfig,
    progress: &Progress,
) -> Result<Clustered, RunError> {
    cluster_points(imp, std::borrow::Cow::Borrowed(&imp.xyz), scored, cfg, progress)
}

/// [`cluster_stage`] for a caller done with the unit vectors (`needmap cluster`): takes
/// `imp.xyz`, leaving it empty, so that DBSCAN sorts them in place and frees them rather
/// than working on a sorted copy (24 MB a million households). The same result.
pub fn cluster_stage_taking_xyz(
    imp: &mut Imported,
    scored: &Scored,
    cfg: &ClusterConfig,
    progress: &Progress,
) -> Result<Clustered, RunError> {
    let xyz = std::mem::take(&mut imp.xyz);
    cluster_points(imp, std::borrow::Cow::Owned(xyz), scored, cfg, progress)
}

/// The cluster stage on `xyz`, the unit vectors of `imp`'s households.
fn cluster_points(
    imp: &Imported,
    xyz: std::borrow::Cow<'_, [Xyz]>,
    scored: &Scored,
    cfg: &ClusterConfig,
    progress: &Progress,
) -> Result<Clustered, RunError> {
    let n = imp.households.len();
    let candidates: Vec<bool> = match cfg.households {
        Candidates::Critical => scored.critical.clone(),
        Candidates::All => vec![true; n],
    };
    // With every household a candidate (`needmap cluster`, households = "all"), the stage
    // works on the imported points themselves rather than on a copy.
    let all = candidates.iter().all(|&c| c);
    let idx: Vec<usize> = if all { Vec::new() } else { (0..n).filter(|&i| candidates[i]).collect() };
    let at = |k: usize| if all { k } else { idx[k] };
    let pts: std::borrow::Cow<[Xyz]> = if all {
        xyz
    } else {
        let sub = idx.iter().map(|&i| xyz[i]).collect();
        drop(xyz);
        std::borrow::Cow::Owned(sub)
    };
    let mut resolved = cfg.clone();
    let mut suggestion = None;
    let mut inertia_m2 = None;
    let sub_labels: Vec<i32> = match cfg.method {
        Method::Dbscan => {
            if cfg.eps_m.is_none() || cfg.min_points.is_none() {
                progress.stage("suggest", 1);
                let s = suggest_dbscan(&pts, cfg.min_points);
                resolved.min_points = Some(cfg.min_points.or(s.as_ref().map(|s| s.min_points)).unwrap_or(10));
                resolved.eps_m = Some(cfg.eps_m.or(s.as_ref().map(|s| s.eps_m)).unwrap_or(150.0));
                suggestion = s;
            }
            let weights: Option<Vec<f64>> = match (&imp.people, cfg.weight_by_people) {
                (Some(p), true) => {
                    Some((0..pts.len()).map(at).map(|i| if p[i].is_finite() { p[i].max(0.0) } else { 1.0 }).collect())
                }
                (None, true) => {
                    return Err(RunError::Cluster(
                        "weight_by_people is set but the file has no people column (set input.people_column)".into(),
                    ));
                }
                _ => None,
            };
            let params =
                DbscanParams { eps_m: resolved.eps_m.unwrap_or(150.0), min_points: resolved.min_points.unwrap_or(10) };
            let out = dbscan::dbscan_cow(pts, weights.as_deref(), &params, progress).map_err(|e| match e {
                dbscan::DbscanError::Cancelled => RunError::Cancelled,
                e => RunError::Cluster(format!("DBSCAN: {e}")),
            })?;
            out.labels
        }
        Method::Kmeans | Method::Hdbscan => {
            let weights: Option<Vec<f64>> =
                (cfg.need_weighted).then(|| (0..pts.len()).map(at).map(|i| scored.need.score[i].max(0.0)).collect());
            let out = cluster::run_other(cfg, &pts, weights.as_deref(), progress)?;
            inertia_m2 = out.1;
            out.0
        }
    };
    let clusters = sub_labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize);
    let noise = sub_labels.iter().filter(|&&l| l < 0).count();
    let labels = if all {
        sub_labels
    } else {
        let mut labels = vec![-1; n];
        for (k, &i) in idx.iter().enumerate() {
            labels[i] = sub_labels[k];
        }
        labels
    };
    Ok(Clustered { labels, candidates, clusters, noise, resolved, suggestion, inertia_m2 })
}

pub fn zones_stage(
    imp: &Imported,
    scored: &Scored,
    clustered: &Clustered,
    params: &ZoneParams,
    progress: &Progress,
) -> Result<ZonesResult, RunError> {
    let inp = ZoneInputs {
        xyz: &imp.xyz,
        need: &scored.need.score,
        critical: &scored.critical,
        people: imp.people.as_deref(),
        labels: &clustered.labels,
    };
    Ok(zones::build_zones(&inp, params, progress)?)
}

/// Chosen build sites and what they were chosen from.
#[derive(Debug, Clone)]
pub struct SitesResult {
    /// The settings with every automatic choice written out (the grid spacing).
    pub params: SitesParams,
    pub candidates: Locations,
    pub existing: Locations,
    pub solution: Solution,
    /// What the weights and candidates were, and anything read past.
    pub notes: Vec<String>,
}

/// The weight of each household for `weight` (see [`SitesParams::weight`]).
pub fn site_weights(imp: &Imported, scored: &Scored, weight: &str) -> Result<(Vec<f64>, Vec<String>), RunError> {
    let h = &imp.households;
    let n = h.len();
    let path = h.path.display().to_string();
    let mut notes = Vec::new();
    let zero_missing = |v: Vec<f64>, what: &str, notes: &mut Vec<String>| -> Vec<f64> {
        let missing = v.iter().filter(|x| !x.is_finite()).count();
        if missing > 0 {
            notes.push(format!("{missing} households without {what} count 0"));
        }
        v.into_iter().map(|x| if x.is_finite() { x } else { 0.0 }).collect()
    };
    let w = match weight {
        "need" => zero_missing(scored.need.score.clone(), "a need score", &mut notes),
        "critical" => scored.critical.iter().map(|&c| if c { 1.0 } else { 0.0 }).collect(),
        "households" => vec![1.0; n],
        "people" => match &imp.people {
            Some(p) => {
                let v = zero_missing(p.clone(), "a household size", &mut notes);
                if let Some(i) = v.iter().position(|&x| x < 0.0) {
                    return Err(RunError::Sites(format!(
                        "{path}:{}: household size {} is negative; weights must be 0 or more",
                        h.line[i], v[i]
                    )));
                }
                v
            }
            None => {
                return Err(RunError::Sites(format!(
                    "{path}: weight \"people\" needs a household size column and none was found; name it with input.people_column or choose another weight"
                )));
            }
        },
        name => {
            let Some(c) = h.column(name) else {
                let names: Vec<&str> = h.columns.iter().map(|c| c.name.as_str()).collect();
                return Err(RunError::Sites(format!(
                    "{path}: weight column {name:?} is not in the file (columns: {}); use need, critical, households, people or a numeric column",
                    names.join(", ")
                )));
            };
            let col = &h.columns[c];
            let mut v = Vec::with_capacity(n);
            let mut empty = 0;
            for i in 0..n {
                let t = h.text(i, c);
                match data::validate::parse_number(t) {
                    Ok(Some(x)) if x.is_finite() && x >= 0.0 => v.push(x),
                    Ok(None) => {
                        empty += 1;
                        v.push(0.0);
                    }
                    Ok(Some(x)) => {
                        return Err(RunError::Sites(format!(
                            "{path}:{}:{}: weight column {:?} is {x}; weights must be 0 or more",
                            h.line[i], col.number, col.name
                        )));
                    }
                    Err(_) => {
                        return Err(RunError::Sites(format!(
                            "{path}:{}:{}: weight column {:?} has {t:?}, not a number; choose a numeric column",
                            h.line[i], col.number, col.name
                        )));
                    }
                }
            }
            if empty > 0 {
                notes.push(format!("{empty} households with an empty {:?} count 0", col.name));
            }
            v
        }
    };
    Ok((w, notes))
}

/// Reads candidate or facility locations from a file, with the same coordinate detection as
/// households. Rejected rows are noted; a file with none accepted is an error.
pub fn locations_from_file(path: &Path, what: &str, progress: &Progress) -> Result<(Locations, Vec<String>), RunError> {
    let (h, report) = data::import(path, &data::ImportOptions::default(), &Keep::All, progress)?;
    // Names: the id column, else the first text column (e.g. `plot`, `name`), else row numbers.
    let name_col = h.id_column.or_else(|| {
        h.columns.iter().position(|c| {
            c.role == data::Role::Attribute && matches!(c.kind, data::ColumnKind::Text | data::ColumnKind::Category)
        })
    });
    let mut notes = Vec::new();
    if !report.rejects.is_empty() {
        notes.push(format!(
            "{}: {} rows rejected (first: {})",
            path.display(),
            report.rejects.len(),
            report.rejects[0].located(path)
        ));
    }
    if h.is_empty() {
        return Err(RunError::Sites(format!(
            "{}: no {what} could be read{}",
            path.display(),
            report.rejects.first().map(|r| format!(" (first problem: {})", r.located(path))).unwrap_or_default()
        )));
    }
    let mut c = Locations::default();
    for i in 0..h.len() {
        let name = name_col.map(|k| h.text(i, k)).unwrap_or_default();
        let id = if name.is_empty() { h.row[i].to_string() } else { name.to_string() };
        c.push(h.lon_deg[i], h.lat_deg[i], id);
    }
    c.note = format!("{} {what} from {}", c.len(), path.display());
    Ok((c, notes))
}

/// Chooses build sites (see [`sites::solve`]).
pub fn sites_stage(
    imp: &Imported,
    scored: &Scored,
    zones: Option<&ZonesResult>,
    params: &SitesParams,
    progress: &Progress,
) -> Result<SitesResult, RunError> {
    let h = &imp.households;
    if params.sites == 0 {
        return Err(RunError::Sites("sites: the number of sites must be at least 1".into()));
    }
    if !(params.radius_m.is_finite() && params.radius_m > 0.0) {
        return Err(RunError::Sites(format!(
            "sites: the radius must be a positive number of metres, not {}",
            params.radius_m
        )));
    }
    let (weights, mut notes) = site_weights(imp, scored, &params.weight)?;
    let mut resolved = params.clone();
    progress.stage("sites_candidates", 1);
    let candidates = match params.candidates {
        CandidateSource::Grid => {
            let g = sites::grid_candidates(&h.lon_deg, &h.lat_deg, &imp.xyz, params.grid_spacing_m(), params.radius_m)
                .map_err(|e| RunError::Sites(format!("sites: {e}")))?;
            resolved.grid_m = Some(params.grid_spacing_m());
            g
        }
        CandidateSource::Zones => {
            let zones = zones.ok_or_else(|| RunError::Sites("sites: zone centres need the zones stage".into()))?;
            let mut c = Locations::default();
            for z in &zones.zones {
                c.push(z.centre.0, z.centre.1, format!("zone {}", z.rank));
            }
            c.note = format!("the centres of {} zones", c.len());
            c
        }
        CandidateSource::Households => {
            let step = h.len().div_ceil(sites::MAX_HOUSEHOLD_CANDIDATES).max(1);
            let mut c = Locations::default();
            for i in (0..h.len()).step_by(step) {
                let id = if h.id(i).is_empty() { h.row[i].to_string() } else { h.id(i).to_string() };
                c.push(h.lon_deg[i], h.lat_deg[i], id);
            }
            c.note = if step > 1 {
                format!("every {step}th household's location ({} of {})", c.len(), h.len())
            } else {
                format!("every household's location ({})", c.len())
            };
            c
        }
        CandidateSource::File => {
            let path = params.candidates_file.as_deref().ok_or_else(|| {
                RunError::Sites("sites: candidates = \"file\" needs candidates_file (--candidates FILE)".into())
            })?;
            let (c, n) = locations_from_file(path, "candidate locations", progress)?;
            notes.extend(n);
            c
        }
    };
    if candidates.is_empty() {
        return Err(RunError::Sites(format!("sites: there are no candidate locations ({})", candidates.note)));
    }
    let existing = match &params.existing_file {
        Some(path) => {
            let (c, n) = locations_from_file(path, "existing facilities", progress)?;
            notes.extend(n);
            c
        }
        None => Locations::default(),
    };
    progress.check()?;
    let prob = sites::Problem {
        households: &imp.xyz,
        weights: &weights,
        candidates: &candidates.xyz,
        existing: &existing.xyz,
    };
    let solution = sites::solve(&prob, params.sites, params.radius_m, progress).map_err(|e| match e {
        sites::SitesError::Cancelled => RunError::Cancelled,
        e => RunError::Sites(format!("sites: {e}")),
    })?;
    Ok(SitesResult { params: resolved, candidates, existing, solution, notes })
}

/// The value hot spots are computed on, per household (NaN where a household has none):
/// the need score (`need`, given by the caller) or a numeric column. Errors name the file
/// and the column.
pub fn hotspot_values(imp: &Imported, need: Option<&[f64]>, value: &str) -> Result<Vec<f64>, RunError> {
    let path = imp.households.path.display();
    if value == hotspots::NEED {
        return need
            .map(<[f64]>::to_vec)
            .ok_or_else(|| RunError::Hotspots(format!("{path}: hot spots on the need score: no need score computed")));
    }
    let h = &imp.households;
    let col = h.column(value).ok_or_else(|| {
        RunError::Hotspots(format!(
            "{path}: hot spots: column {value:?} is not in the file; `needmap inspect {path}` lists its columns \
             (or use --value need)"
        ))
    })?;
    let kind = match h.columns[col].kind {
        data::ColumnKind::Number => None,
        data::ColumnKind::Bool => Some("yes/no values"),
        data::ColumnKind::Category => Some("categories"),
        data::ColumnKind::Text => Some("text"),
        data::ColumnKind::Empty => Some("no values at all"),
    };
    if let Some(kind) = kind {
        return Err(RunError::Hotspots(format!(
            "{path}: hot spots: column {:?} is not numeric (it holds {kind}); choose a numeric column or --value need",
            h.columns[col].name
        )));
    }
    Ok(h.numbers(col).into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Gi* hot spots of the value `params` names (see [`hotspots`]), errors naming the file and
/// the value. `need` is the need score, when `params.value` is `need`.
pub fn hotspots_stage(
    imp: &Imported,
    need: Option<&[f64]>,
    params: &HotspotParams,
    progress: &Progress,
) -> Result<HotspotResult, RunError> {
    let values = hotspot_values(imp, need, &params.value)?;
    hotspots::hotspots(&imp.xyz, &values, params, progress).map_err(|e| match e {
        HotspotError::Cancelled => RunError::Cancelled,
        e => {
            let on = if params.value == hotspots::NEED {
                "the need score".to_string()
            } else {
                format!("column {:?}", params.value)
            };
            RunError::Hotspots(format!("{}: hot spots on {on}: {e}", imp.households.path.display()))
        }
    })
}

/// The bias audit of a run's ranking (see [`audit::audit`]); households covered by the chosen
/// sites, when there are sites, are one more coverage it reports per group.
pub fn audit_stage(
    imp: &Imported,
    scored: &Scored,
    analysis: &Analysis,
    zones: &ZonesResult,
    sites: Option<&SitesResult>,
    params: &AuditParams,
    progress: &Progress,
) -> Result<AuditResult, RunError> {
    let covered: Option<Vec<bool>> = sites.map(|s| s.solution.site_of.iter().map(|&k| k >= 0).collect());
    let inputs = AuditInputs {
        households: &imp.households,
        need: &scored.resolved,
        selection: &analysis.selection,
        critical: &scored.critical,
        zones,
        priority: analysis.zones.priority,
        covered: covered.as_deref(),
    };
    Ok(audit::audit(&inputs, params, progress)?)
}

/// Everything a run produced.
///
/// Stage results are shared (`Arc`) so the app can keep them for its map while exporting.
pub struct Outcome {
    pub imported: Arc<Imported>,
    pub scored: Arc<Scored>,
    pub clustered: Arc<Clustered>,
    pub zones: Arc<ZonesResult>,
    /// Build sites, when the analysis asks for them.
    pub sites: Option<Arc<SitesResult>>,
    /// Gi* hot spots, when the analysis has a `[hotspots]` section.
    pub hotspots: Option<Arc<HotspotResult>>,
    /// The bias audit, when the analysis has an `[audit]` section.
    pub audit: Option<Arc<AuditResult>>,
    /// The analysis with every automatic choice written out.
    pub resolved: Analysis,
    /// (stage, milliseconds).
    pub timings_ms: Vec<(&'static str, f64)>,
}

/// Runs the whole pipeline on `input`.
pub fn run(analysis: &Analysis, input: &Path, progress: &Progress) -> Result<Outcome, RunError> {
    run_with(analysis, input, progress, |keep| import_stage(input, &analysis.input, keep, progress))
}

/// [`run`] with the households from `import` (given what to keep) rather than from the file
/// `input`, which then only names them (e.g. `<DataFrame>`).
pub fn run_with(
    analysis: &Analysis,
    input: &Path,
    progress: &Progress,
    import: impl FnOnce(&Keep) -> Result<Imported, RunError>,
) -> Result<Outcome, RunError> {
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, t: &mut Instant| {
        timings.push((name, t.elapsed().as_secs_f64() * 1000.0));
        *t = Instant::now();
    };
    let imported = import(&Keep::All)?;
    lap("import", &mut t);
    let scored = need_stage(&imported, analysis, progress)?;
    lap("need", &mut t);
    let hot = match &analysis.hotspots {
        Some(params) => {
            let r = hotspots_stage(&imported, Some(&scored.need.score), params, progress)?;
            lap("hotspots", &mut t);
            Some(r)
        }
        None => None,
    };
    let clustered = cluster_stage(&imported, &scored, &analysis.cluster, progress)?;
    lap("cluster", &mut t);
    let zones = zones_stage(&imported, &scored, &clustered, &analysis.zones, progress)?;
    lap("zones", &mut t);
    let sites = match &analysis.sites {
        Some(p) => {
            let s = sites_stage(&imported, &scored, Some(&zones), p, progress)?;
            lap("sites", &mut t);
            Some(Arc::new(s))
        }
        None => None,
    };
    let audit = match &analysis.audit {
        Some(p) => {
            let a = audit_stage(&imported, &scored, analysis, &zones, sites.as_deref(), p, progress)?;
            lap("audit", &mut t);
            Some(Arc::new(a))
        }
        None => None,
    };
    let mut resolved = analysis.clone();
    resolved.input.path = Some(input.to_path_buf());
    resolved.input.people_column = imported.people_column.clone();
    resolved.need = scored.resolved.clone();
    resolved.cluster = clustered.resolved.clone();
    resolved.sites = sites.as_ref().map(|s| s.params.clone());
    if let (Some(params), Some(r)) = (&mut resolved.hotspots, &hot) {
        params.band_m = Some(r.band_m);
    }
    Ok(Outcome {
        imported: Arc::new(imported),
        scored: Arc::new(scored),
        clustered: Arc::new(clustered),
        zones: Arc::new(zones),
        sites,
        hotspots: hot.map(Arc::new),
        audit,
        resolved,
        timings_ms: timings,
    })
}

/// `needmap audit` (and `needmap.audit`) without the files: the whole run on `input` with
/// the `[audit]` settings of `a` (the defaults when it has none), for its audit and import.
pub fn audit_only(
    input: &Path,
    a: &Analysis,
    progress: &Progress,
) -> Result<(Arc<Imported>, Arc<AuditResult>), RunError> {
    audit_only_with(a, input, progress, |keep| import_stage(input, &a.input, keep, progress))
}

/// [`audit_only`] with the households from `import` (see [`run_with`]).
pub fn audit_only_with(
    a: &Analysis,
    input: &Path,
    progress: &Progress,
    import: impl FnOnce(&Keep) -> Result<Imported, RunError>,
) -> Result<(Arc<Imported>, Arc<AuditResult>), RunError> {
    let defaulted;
    let a = if a.audit.is_some() {
        a
    } else {
        defaulted = Analysis { audit: Some(AuditParams::default()), ..a.clone() };
        &defaulted
    };
    let outcome = run_with(a, input, progress, import)?;
    let audit = outcome.audit.expect("run_with audits when the analysis has an [audit] section");
    Ok((outcome.imported, audit))
}

/// `needmap sites` (and `needmap.sites`) without the file: import, the need score when the
/// weight or the zone-centre candidates use it, the zones for zone-centre candidates, then
/// the sites. `params` as resolved by [`sites::SitesFlags::resolve`].
pub fn sites_only(
    input: &Path,
    a: &Analysis,
    params: &SitesParams,
    progress: &Progress,
) -> Result<(Imported, SitesResult), RunError> {
    sites_only_with(a, params, progress, |keep| import_stage(input, &a.input, keep, progress))
}

/// [`sites_only`] with the households from `import` (see [`run_with`]).
pub fn sites_only_with(
    a: &Analysis,
    params: &SitesParams,
    progress: &Progress,
    import: impl FnOnce(&Keep) -> Result<Imported, RunError>,
) -> Result<(Imported, SitesResult), RunError> {
    params.check().map_err(RunError::Sites)?;
    let mut t = Instant::now();
    let mut lap = |name: &str| {
        crate::progress::lap(name, t);
        t = Instant::now();
    };
    let imported = import(&Keep::All)?;
    lap("import");
    let n = imported.households.len();
    let zone_centres = params.candidates == CandidateSource::Zones;
    let scored = if matches!(params.weight.as_str(), "need" | "critical") || zone_centres {
        need_stage(&imported, a, progress)?
    } else {
        Scored {
            need: NeedScore { score: vec![f64::NAN; n], indicators: Vec::new(), excluded: 0 },
            critical: vec![false; n],
            resolved: Default::default(),
            note: None,
        }
    };
    lap("need");
    let zones = if zone_centres {
        let clustered = cluster_stage(&imported, &scored, &a.cluster, progress)?;
        Some(zones_stage(&imported, &scored, &clustered, &a.zones, progress)?)
    } else {
        None
    };
    let res = sites_stage(&imported, &scored, zones.as_ref(), params, progress)?;
    lap("sites");
    Ok((imported, res))
}

/// `needmap hotspots` (and `needmap.hotspots`) without the file: the settings of
/// `a.hotspots` checked before the file is read, import (only the value's column when it is
/// one), the need score when the value is `need`, then Gi*.
pub fn hotspots_only(input: &Path, a: &Analysis, progress: &Progress) -> Result<(Imported, HotspotResult), RunError> {
    hotspots_only_with(input, a, progress, |keep| import_stage(input, &a.input, keep, progress))
}

/// [`hotspots_only`] with the households from `import` (see [`run_with`]).
pub fn hotspots_only_with(
    input: &Path,
    a: &Analysis,
    progress: &Progress,
    import: impl FnOnce(&Keep) -> Result<Imported, RunError>,
) -> Result<(Imported, HotspotResult), RunError> {
    let params = a.hotspots.clone().unwrap_or_default();
    params.check().map_err(|e| RunError::Hotspots(format!("{}: hot spots: {e}", input.display())))?;
    let mut t = Instant::now();
    let mut lap = |name: &str| {
        crate::progress::lap(name, t);
        t = Instant::now();
    };
    let by_need = params.value == hotspots::NEED;
    // A column needs only that column; the need score may need any.
    let keep = if by_need { Keep::All } else { Keep::Only(vec![params.value.clone()]) };
    let imported = import(&keep)?;
    lap("import");
    let need = if by_need {
        let scored = need_stage(&imported, a, progress)?;
        lap("need");
        Some(scored.need.score)
    } else {
        None
    };
    let hot = hotspots_stage(&imported, need.as_deref(), &params, progress)?;
    lap("hotspots");
    Ok((imported, hot))
}
