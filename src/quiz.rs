//! Exercises for learners: questions drawn from the loaded data and the current analysis,
//! with numbers that change with the seed, and their automatic scoring.
//!
//! [`generate`] runs the analysis' own stages (need index, clustering, zones, and DBSCAN and
//! k-means on the households the analysis clusters) and asks about households, zones and
//! parameters chosen by a seeded random stream ([`crate::audit::Rng`], SplitMix64): the same
//! input, analysis and seed give the same questions, byte for byte. Each question states
//! everything needed to work it out (coordinates, radii, indicator values and their scaling,
//! centres) and the tolerance of its answer; its answer, the *key*, is computed by the same
//! core and kept in memory only ([`Quiz::key`] is never serialised), so `quiz.json` can be
//! handed out.
//!
//! Checking answers ([`check`]) reads the input file named in the quiz again, refuses it if
//! its content changed (SHA-256), regenerates the quiz from its seed and analysis, confirms
//! the questions are the same, and scores the answers ([`score`]) by topic.
//!
//! # Examples
//! ```
//! use needmap::quiz::{AnswerKind, Tolerance, parse_yes_no};
//! assert_eq!(parse_yes_no("Sí"), Some(true));
//! assert_eq!(parse_yes_no("0"), Some(false));
//! let t = Tolerance::Relative { relative: 0.005 };
//! assert!(t.accepts(100.4, 100.0) && !t.accepts(100.6, 100.0));
//! let k = AnswerKind::Choice { options: vec!["more".into(), "fewer".into()] };
//! assert_eq!(k.parse_answer("b"), Ok(needmap::quiz::Answer::Choice(1)));
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::analysis::{self, Analysis, Candidates, ClusterConfig, Imported, RunError, Scored};
use crate::audit::Rng;
use crate::cluster::dbscan::{self, DbscanParams};
use crate::cluster::kmeans::{self, KMeansParams};
use crate::data::validate::{parse_bool, parse_number};
use crate::i18n::{Lang, Strings};
use crate::index::Index;
use crate::need::{self, Direction, Missing, Transform};
use crate::progress::Progress;
use crate::sphere::{EARTH_RADIUS_M, Xyz, distance_m};

/// The most questions one quiz holds.
pub const MAX_COUNT: usize = 100;

/// What a question is about; scores are totalled per topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Distances,
    Need,
    Dbscan,
    Kmeans,
    Zones,
    Parameters,
    Hotspots,
}

impl Topic {
    pub const ALL: [Topic; 7] =
        [Topic::Distances, Topic::Need, Topic::Dbscan, Topic::Kmeans, Topic::Zones, Topic::Parameters, Topic::Hotspots];

    /// The topic's name for people.
    pub fn label(self, lang: Lang) -> &'static str {
        let s = Strings::new(lang);
        match self {
            Topic::Distances => s.t("quiz.topic.distances"),
            Topic::Need => s.t("quiz.topic.need"),
            Topic::Dbscan => s.t("quiz.topic.dbscan"),
            Topic::Kmeans => s.t("quiz.topic.kmeans"),
            Topic::Zones => s.t("quiz.topic.zones"),
            Topic::Parameters => s.t("quiz.topic.parameters"),
            Topic::Hotspots => s.t("quiz.topic.hotspots"),
        }
    }
}

/// How close a number must be to count as right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tolerance {
    /// Within `absolute` of the key (0 = exact).
    Absolute { absolute: f64 },
    /// Within `relative` × the key (0.005 = 0.5 %).
    Relative { relative: f64 },
}

impl Tolerance {
    /// Whether `given` is close enough to `expected`.
    pub fn accepts(&self, given: f64, expected: f64) -> bool {
        let slack = 1e-9 * expected.abs().max(1.0);
        match *self {
            Tolerance::Absolute { absolute } => (given - expected).abs() <= absolute + slack,
            Tolerance::Relative { relative } => (given - expected).abs() <= relative * expected.abs() + slack,
        }
    }

    /// `±0.5 %`, `±1`, or the word for exact.
    pub fn text(&self, lang: Lang) -> String {
        match *self {
            Tolerance::Absolute { absolute: 0.0 } => Strings::new(lang).t("quiz.exact").to_string(),
            Tolerance::Absolute { absolute } => format!("±{absolute}"),
            Tolerance::Relative { relative } => format!("±{} %", relative * 100.0),
        }
    }
}

/// The form an answer takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerKind {
    Number {
        unit: String,
        tolerance: Tolerance,
    },
    YesNo,
    /// One of the options, answered by its letter (A, B, …) or its text.
    Choice {
        options: Vec<String>,
    },
}

/// A key, or a parsed answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Number(f64),
    YesNo(bool),
    /// Index into the options.
    Choice(usize),
}

/// Yes/no in English or Spanish: yes/no/y/n/si/sí/true/false/1/0.
pub fn parse_yes_no(s: &str) -> Option<bool> {
    parse_bool(s)
}

/// The letter of option `k`: A, B, …
pub fn letter(k: usize) -> char {
    (b'A' + (k % 26) as u8) as char
}

impl AnswerKind {
    /// Reads an answer of this kind; the error says what was expected.
    pub fn parse_answer(&self, text: &str) -> Result<Answer, String> {
        let t = text.trim();
        match self {
            AnswerKind::Number { unit, .. } => {
                let mut body = t.trim_end_matches('%').trim();
                if !unit.is_empty() {
                    body = body.strip_suffix(unit.as_str()).unwrap_or(body).trim();
                }
                let body = body.replace(['\u{a0}', '_'], "");
                let plain = if body.contains(',') && !body.contains('.') { body.replace(',', ".") } else { body };
                match parse_number(&plain) {
                    Ok(Some(v)) => Ok(Answer::Number(v)),
                    _ => Err(format!("{t:?} is not a number")),
                }
            }
            AnswerKind::YesNo => parse_yes_no(t).map(Answer::YesNo).ok_or_else(|| format!("{t:?} is not yes or no")),
            AnswerKind::Choice { options } => {
                let letters = (0..options.len()).map(letter).collect::<String>();
                if t.chars().count() == 1 {
                    let c = t.chars().next().unwrap_or(' ').to_ascii_uppercase();
                    if let Some(k) = letters.find(c) {
                        return Ok(Answer::Choice(k));
                    }
                }
                let key = need::category_key(t.trim_end_matches(')'));
                options.iter().position(|o| need::category_key(o) == key).map(Answer::Choice).ok_or_else(|| {
                    let list: Vec<String> = letters.chars().map(String::from).collect();
                    format!("{t:?} is not one of the options ({})", list.join(", "))
                })
            }
        }
    }

    /// Whether `given` is right against the key `expected`.
    pub fn is_right(&self, given: Answer, expected: Answer) -> bool {
        match (self, given, expected) {
            (AnswerKind::Number { tolerance, .. }, Answer::Number(g), Answer::Number(e)) => tolerance.accepts(g, e),
            (_, g, e) => g == e,
        }
    }

    /// The key as text, as it would be answered: `152.3`, `yes`/`sí`, `B`.
    pub fn answer_text(&self, a: Answer, lang: Lang) -> String {
        let s = Strings::new(lang);
        match (self, a) {
            (AnswerKind::Number { tolerance, .. }, Answer::Number(v)) => number_text(v, tolerance),
            (_, Answer::YesNo(b)) => s.t(if b { "quiz.yes" } else { "quiz.no" }).to_string(),
            (AnswerKind::Choice { options }, Answer::Choice(k)) => {
                format!("{} ({})", letter(k), options.get(k).map(String::as_str).unwrap_or(""))
            }
            (_, Answer::Number(v)) => format!("{v}"),
            (_, Answer::Choice(k)) => letter(k).to_string(),
        }
    }
}

/// A number with as many decimals as its tolerance makes meaningful.
fn number_text(v: f64, tol: &Tolerance) -> String {
    let decimals = match *tol {
        Tolerance::Absolute { absolute } if absolute >= 1.0 || absolute == 0.0 && v.fract() == 0.0 => 0,
        Tolerance::Absolute { absolute } if absolute > 0.0 => (-absolute.log10()).ceil() as usize + 1,
        _ => 1,
    };
    format!("{v:.decimals$}")
}

/// One question: its text says everything needed to answer it and the tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub topic: Topic,
    pub text: String,
    #[serde(flatten)]
    pub kind: AnswerKind,
}

/// The data and settings a quiz was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizSource {
    /// The input file, as it was named.
    pub input: PathBuf,
    pub bytes: u64,
    /// SHA-256 of the file's content, hex.
    pub sha256: String,
    /// The analysis with every automatic choice written out (analysis.toml).
    pub analysis: String,
}

impl QuizSource {
    /// Size and hash of `path`, with `analysis` as TOML.
    pub fn of(path: &Path, analysis: &Analysis) -> Result<QuizSource, RunError> {
        let (bytes, sha256) = file_hash(path)?;
        let mut a = analysis.clone();
        a.input.path = None;
        Ok(QuizSource { input: path.to_path_buf(), bytes, sha256, analysis: a.to_toml() })
    }
}

/// Size and SHA-256 (hex) of a file's content.
pub fn file_hash(path: &Path) -> Result<(u64, String), RunError> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| RunError::Analysis(format!("{}: cannot read: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(cannot)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(cannot)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    let hex = h.finalize().iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    Ok((bytes, hex))
}

/// A quiz: questions, and (in memory only) their key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quiz {
    /// `needmap-quiz/1`.
    pub format: String,
    pub seed: u64,
    pub count: usize,
    pub lang: Lang,
    pub source: QuizSource,
    pub questions: Vec<Question>,
    /// The answers, parallel to `questions`. Never written out.
    #[serde(skip)]
    pub key: Vec<Answer>,
}

pub const FORMAT: &str = "needmap-quiz/1";

impl Quiz {
    /// quiz.json's text (ends with a newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads quiz.json (without its key), naming the file and line on error.
    pub fn load(path: &Path) -> Result<Quiz, RunError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunError::Analysis(format!("{}: cannot read: {e}", path.display())))?;
        let q: Quiz = serde_json::from_str(&text).map_err(|e| {
            RunError::Analysis(format!("{}:{}:{}: not a needmap quiz: {e}", path.display(), e.line(), e.column()))
        })?;
        if q.format != FORMAT {
            return Err(RunError::Analysis(format!(
                "{}: format {:?} is not {FORMAT:?}; make it again with this needmap",
                path.display(),
                q.format
            )));
        }
        Ok(q)
    }

    /// The key as CSV `id,answer,tolerance` (for teachers).
    pub fn key_csv(&self) -> String {
        let mut s = String::from("id,answer,tolerance\n");
        for (q, &a) in self.questions.iter().zip(&self.key) {
            let answer = match (&q.kind, a) {
                (AnswerKind::Choice { .. }, Answer::Choice(k)) => letter(k).to_string(),
                (k, a) => k.answer_text(a, self.lang),
            };
            let tol = match &q.kind {
                AnswerKind::Number { tolerance, .. } => tolerance.text(self.lang),
                _ => String::new(),
            };
            let _ = writeln!(s, "{},{},{}", q.id, answer, tol);
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Generation

/// The kinds of question, in the order they appear (grouped by topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Distance,
    Within,
    NeedScore,
    Core,
    Status,
    KmeansNearest,
    ZoneMeanNeed,
    ZoneHouseholds,
    ZoneCount,
    MinPointsZones,
    MinPointsNoise,
    HotspotZ,
}

const KINDS: [Kind; 12] = [
    Kind::Distance,
    Kind::Within,
    Kind::NeedScore,
    Kind::Core,
    Kind::Status,
    Kind::KmeansNearest,
    Kind::ZoneMeanNeed,
    Kind::ZoneHouseholds,
    Kind::ZoneCount,
    Kind::MinPointsZones,
    Kind::MinPointsNoise,
    Kind::HotspotZ,
];

impl Kind {
    fn topic(self) -> Topic {
        match self {
            Kind::Distance | Kind::Within => Topic::Distances,
            Kind::NeedScore => Topic::Need,
            Kind::Core | Kind::Status => Topic::Dbscan,
            Kind::KmeansNearest => Topic::Kmeans,
            Kind::ZoneMeanNeed | Kind::ZoneHouseholds | Kind::ZoneCount => Topic::Zones,
            Kind::MinPointsZones | Kind::MinPointsNoise => Topic::Parameters,
            Kind::HotspotZ => Topic::Hotspots,
        }
    }

    /// Asked at most once: the answer does not depend on a drawn household.
    fn once(self) -> bool {
        matches!(self, Kind::ZoneCount | Kind::MinPointsZones | Kind::MinPointsNoise)
    }
}

/// DBSCAN on the households the analysis clusters, with core status.
struct Dbscan {
    /// Household index of each pool position.
    pool: Vec<usize>,
    pts: Vec<Xyz>,
    weights: Option<Vec<f64>>,
    eps_m: f64,
    min_points: usize,
    core: Vec<bool>,
    labels: Vec<i32>,
    index: Index,
}

/// What every question draws on, computed once (k-means and the min points rerun on demand).
struct Facts<'a> {
    imp: &'a Imported,
    analysis: &'a Analysis,
    scored: Scored,
    index: Index,
    zones: crate::zones::ZonesResult,
    db: Dbscan,
    critical_pool: bool,
    progress: Progress,
}

type Made = Option<(String, AnswerKind, Answer)>;

/// Makes `count` questions from `imp` under `analysis`; see the module documentation.
pub fn generate(
    imp: &Imported,
    analysis: &Analysis,
    seed: u64,
    count: usize,
    lang: Lang,
    progress: &Progress,
) -> Result<Quiz, RunError> {
    let path = &imp.households.path;
    if count == 0 || count > MAX_COUNT {
        return Err(RunError::Analysis(format!("quiz: the number of questions must be 1 to {MAX_COUNT}, not {count}")));
    }
    if imp.households.len() < 2 {
        return Err(RunError::Analysis(format!(
            "{}: a quiz needs at least 2 households, and the file has {}",
            path.display(),
            imp.households.len()
        )));
    }
    if imp.changed_on_disk(path) {
        return Err(RunError::Analysis(format!(
            "{}: the file changed since it was read; open it again",
            path.display()
        )));
    }
    let quiet = Progress::new();
    progress.stage("quiz", count as u64 + 1);
    let scored = analysis::need_stage(imp, analysis, progress)?;
    let clustered = analysis::cluster_stage(imp, &scored, &analysis.cluster, &quiet)?;
    progress.check()?;
    let zones = analysis::zones_stage(imp, &scored, &clustered, &analysis.zones, &quiet)?;
    progress.check()?;
    let db = dbscan_on_pool(imp, &scored, &analysis.cluster, None, &quiet)?;
    let mut resolved = analysis.clone();
    resolved.need = scored.resolved.clone();
    resolved.cluster = clustered.resolved.clone();
    if resolved.cluster.method == crate::cluster::Method::Dbscan {
        resolved.cluster.eps_m = Some(db.eps_m);
        resolved.cluster.min_points = Some(db.min_points);
    }
    let source = QuizSource::of(path, &resolved)?;
    let facts = Facts {
        imp,
        analysis,
        critical_pool: analysis.cluster.households == Candidates::Critical,
        scored,
        index: Index::new(&imp.xyz),
        zones,
        db,
        progress: quiet,
    };
    progress.set(1);

    // Which kinds: a seeded shuffle of all of them, repeated as needed (the once-only kinds
    // once), then grouped by topic.
    let mut order_rng = Rng::for_draw(seed, u64::MAX);
    let mut kinds: Vec<Kind> = Vec::with_capacity(count);
    while kinds.len() < count {
        let mut round: Vec<Kind> = KINDS.iter().copied().filter(|k| !(k.once() && kinds.contains(k))).collect();
        shuffle(&mut round, &mut order_rng);
        kinds.extend(round.into_iter().take(count - kinds.len()));
    }
    kinds.sort();

    let s = Strings::new(lang);
    let mut questions = Vec::with_capacity(count);
    let mut key = Vec::with_capacity(count);
    for (q, &kind) in kinds.iter().enumerate() {
        progress.check()?;
        let mut rng = Rng::for_draw(seed, q as u64);
        // A kind this data cannot ask (no zones, no need indicators) gives way to a distance.
        let made = facts.make(kind, &mut rng, s)?.map(|m| (kind, m));
        let (kind, (text, answer_kind, answer)) = match made {
            Some(m) => m,
            None => (Kind::Within, facts.make(Kind::Within, &mut rng, s)?.expect("2 households give a distance")),
        };
        let mut text = text;
        if let AnswerKind::Choice { options } = &answer_kind
            && options.iter().any(|o| o.chars().count() > 1)
        {
            for (k, o) in options.iter().enumerate() {
                let _ = write!(text, "\n{}) {o}", letter(k));
            }
        }
        questions.push(Question { id: format!("q{:02}", q + 1), topic: kind.topic(), text, kind: answer_kind });
        key.push(answer);
        progress.set(q as u64 + 2);
    }
    Ok(Quiz { format: FORMAT.to_string(), seed, count, lang, source, questions, key })
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

fn pick(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

/// DBSCAN on the pool of clustered households, with `min_points` replacing the analysis'
/// (the eps and min points are the analysis' or, when it has none, suggested as a run would).
fn dbscan_on_pool(
    imp: &Imported,
    scored: &Scored,
    cfg: &ClusterConfig,
    min_points: Option<usize>,
    progress: &Progress,
) -> Result<Dbscan, RunError> {
    let n = imp.households.len();
    let pool: Vec<usize> = match cfg.households {
        Candidates::Critical => (0..n).filter(|&i| scored.critical[i]).collect(),
        Candidates::All => (0..n).collect(),
    };
    let pts: Vec<Xyz> = pool.iter().map(|&i| imp.xyz[i]).collect();
    let (mut eps_m, mut mp) = (cfg.eps_m, cfg.min_points);
    if eps_m.is_none() || mp.is_none() {
        let s = analysis::suggest_dbscan(&pts, mp);
        mp = mp.or(s.as_ref().map(|s| s.min_points)).or(Some(10));
        eps_m = eps_m.or(s.as_ref().map(|s| s.eps_m)).or(Some(150.0));
    }
    let (eps_m, min_points) = (eps_m.unwrap_or(150.0), min_points.or(mp).unwrap_or(10));
    let weights: Option<Vec<f64>> = match (&imp.people, cfg.weight_by_people) {
        (Some(p), true) => Some(pool.iter().map(|&i| if p[i].is_finite() { p[i].max(0.0) } else { 1.0 }).collect()),
        _ => None,
    };
    let out =
        dbscan::dbscan(&pts, weights.as_deref(), &DbscanParams { eps_m, min_points }, progress).map_err(
            |e| match e {
                dbscan::DbscanError::Cancelled => RunError::Cancelled,
                e => RunError::Cluster(format!("DBSCAN: {e}")),
            },
        )?;
    let index = Index::new(&pts);
    Ok(Dbscan { pool, pts, weights, eps_m, min_points, core: out.core, labels: out.labels, index })
}

impl Dbscan {
    /// Households (or people) of the pool within `r` metres of pool position `k`.
    fn weight_within(&self, k: usize, r: f64) -> f64 {
        self.index.within(self.pts[k], r).map(|j| self.weights.as_ref().map_or(1.0, |w| w[j as usize])).sum()
    }

    fn clusters(&self) -> usize {
        self.labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize)
    }

    fn noise(&self) -> usize {
        self.labels.iter().filter(|&&l| l < 0).count()
    }
}

/// `1 234 567` style grouping is avoided: plain numbers paste into any tool.
fn metres(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") }
}

impl Facts<'_> {
    /// Gi* z-score of a household's need over a band, by the hot spots core; the text gives
    /// the band, the households with a score, their mean and standard deviation, so it can be
    /// worked from the neighbours' scores.
    fn hotspot_question(&self, rng: &mut Rng, s: Strings) -> Result<Made, RunError> {
        let band = [300.0, 400.0, 500.0][pick(rng, 3)];
        let need = &self.scored.need.score;
        let r = match crate::hotspots::gi_star(&self.imp.xyz, need, band, 0.05, &self.progress) {
            Ok(r) => r,
            Err(crate::hotspots::HotspotError::Cancelled) => return Err(RunError::Cancelled),
            Err(_) => return Ok(None), // e.g. every score the same: no such question
        };
        let tested: Vec<usize> = (0..need.len()).filter(|&i| r.z[i].is_some()).collect();
        if tested.is_empty() {
            return Ok(None);
        }
        // Not a household with a neighbour a hair's breadth from the band's edge.
        let mut chosen = tested[pick(rng, tested.len())];
        for _ in 0..30 {
            let i = tested[pick(rng, tested.len())];
            let xyz = self.imp.xyz[i];
            if self.index.within(xyz, band * 0.99).count() == self.index.within(xyz, band * 1.01).count() {
                chosen = i;
                break;
            }
        }
        let vals: Vec<f64> = need.iter().copied().filter(|v| v.is_finite()).collect();
        let n = vals.len() as f64;
        let mean = vals.iter().sum::<f64>() / n;
        let sd = (vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        let tol = Tolerance::Absolute { absolute: 0.01 };
        let text = s.f(
            "quiz.q.hotspot_z",
            &[
                ("band", &metres(band)),
                ("n", &vals.len()),
                ("mean", &format!("{mean:.6}")),
                ("sd", &format!("{sd:.6}")),
                ("h", &self.who(chosen, s)),
                ("tol", &tol.text(s.lang)),
            ],
        );
        let z = r.z[chosen].unwrap_or(f64::NAN);
        Ok(Some((text, Self::number("", tol), Answer::Number(z))))
    }

    fn who(&self, i: usize, s: Strings) -> String {
        let h = &self.imp.households;
        let id = if h.id(i).is_empty() { s.f("quiz.row", &[("row", &h.row[i])]) } else { h.id(i).to_string() };
        s.f("quiz.household", &[("id", &id), ("lat", &h.lat_deg[i]), ("lon", &h.lon_deg[i])])
    }

    fn pool_text(&self, s: Strings) -> String {
        let n = self.db.pool.len();
        if self.critical_pool { s.f("quiz.pool.critical", &[("n", &n)]) } else { s.f("quiz.pool.all", &[("n", &n)]) }
    }

    fn dbscan_text(&self, min_points: usize, s: Strings) -> String {
        let people = if self.db.weights.is_some() { s.t("quiz.dbscan.people") } else { "" };
        s.f(
            "quiz.dbscan",
            &[
                ("pool", &self.pool_text(s)),
                ("eps", &metres(self.db.eps_m)),
                ("min_points", &min_points),
                ("people", &people),
            ],
        )
    }

    fn number(unit: &str, tolerance: Tolerance) -> AnswerKind {
        AnswerKind::Number { unit: unit.to_string(), tolerance }
    }

    fn make(&self, kind: Kind, rng: &mut Rng, s: Strings) -> Result<Made, RunError> {
        let n = self.imp.households.len();
        let h = &self.imp.households;
        Ok(match kind {
            Kind::Distance => {
                let a = pick(rng, n);
                // A second household within 3 km, when there is one: distances people can picture.
                let mut near: Vec<u32> = self
                    .index
                    .within(self.imp.xyz[a], 3000.0)
                    .filter(|&j| {
                        distance_m(h.lon_deg[a], h.lat_deg[a], h.lon_deg[j as usize], h.lat_deg[j as usize]) > 1.0
                    })
                    .collect();
                near.sort_unstable();
                let b =
                    if near.is_empty() { (a + 1 + pick(rng, n - 1)) % n } else { near[pick(rng, near.len())] as usize };
                let d = distance_m(h.lon_deg[a], h.lat_deg[a], h.lon_deg[b], h.lat_deg[b]);
                let tol = Tolerance::Relative { relative: 0.005 };
                let text = s.f(
                    "quiz.q.distance",
                    &[
                        ("a", &self.who(a, s)),
                        ("b", &self.who(b, s)),
                        ("radius", &EARTH_RADIUS_M),
                        ("tol", &tol.text(s.lang)),
                    ],
                );
                Some((text, Self::number("m", tol), Answer::Number(d)))
            }
            Kind::Within => {
                let radius = [100.0, 150.0, 200.0, 250.0, 300.0][pick(rng, 5)];
                // Not a household a hair's breadth from the circle: the count must not hinge
                // on the formula or the Earth model.
                let mut chosen = None;
                for _ in 0..30 {
                    let i = pick(rng, n);
                    let inner = self.index.within(self.imp.xyz[i], radius * 0.99).count();
                    let outer = self.index.within(self.imp.xyz[i], radius * 1.01).count();
                    chosen = Some((i, self.index.within(self.imp.xyz[i], radius).count()));
                    if inner == outer {
                        break;
                    }
                }
                let (i, count) = chosen.expect("30 draws");
                let tol = Tolerance::Absolute { absolute: 1.0 };
                let text = s.f(
                    "quiz.q.within",
                    &[("radius", &metres(radius)), ("h", &self.who(i, s)), ("tol", &tol.text(s.lang))],
                );
                Some((text, Self::number(s.t("quiz.unit.households"), tol), Answer::Number(count as f64)))
            }
            Kind::NeedScore => self.need_question(rng, s),
            Kind::HotspotZ => self.hotspot_question(rng, s)?,
            Kind::Core | Kind::Status => {
                let db = &self.db;
                if db.pool.len() < 2 {
                    return Ok(None);
                }
                // Half the time a household of the status the draw wants, so "yes" is not
                // always the answer.
                let want = pick(rng, 3);
                let status = |k: usize| -> usize {
                    if db.core[k] {
                        0
                    } else if db.labels[k] >= 0 {
                        1
                    } else {
                        2
                    }
                };
                let same_both_sides = |k: usize| {
                    let m = db.min_points as f64;
                    (db.weight_within(k, db.eps_m * 0.99) >= m) == (db.weight_within(k, db.eps_m * 1.01) >= m)
                };
                let mut chosen = pick(rng, db.pool.len());
                for _ in 0..200 {
                    let k = pick(rng, db.pool.len());
                    let fits = if kind == Kind::Core { (status(k) == 0) == (want == 0) } else { status(k) == want };
                    if fits && same_both_sides(k) {
                        chosen = k;
                        break;
                    }
                }
                let k = chosen;
                let i = db.pool[k];
                let intro = self.dbscan_text(db.min_points, s);
                if kind == Kind::Core {
                    let text = s.f("quiz.q.core", &[("dbscan", &intro), ("h", &self.who(i, s))]);
                    Some((text, AnswerKind::YesNo, Answer::YesNo(status(k) == 0)))
                } else {
                    let options = vec![
                        s.t("quiz.opt.core").to_string(),
                        s.t("quiz.opt.border").to_string(),
                        s.t("quiz.opt.noise").to_string(),
                    ];
                    let text = s.f("quiz.q.status", &[("dbscan", &intro), ("h", &self.who(i, s))]);
                    Some((text, AnswerKind::Choice { options }, Answer::Choice(status(k))))
                }
            }
            Kind::KmeansNearest => {
                let db = &self.db;
                let k = 3 + pick(rng, 3);
                if db.pool.len() < 2 * k {
                    return Ok(None);
                }
                let params = KMeansParams { k, seed: rng.next_u64() % 1_000_000, restarts: 1, ..Default::default() };
                let out = kmeans::kmeans(&db.pts, None, &params, &self.progress).map_err(|e| match e {
                    kmeans::KMeansError::Cancelled => RunError::Cancelled,
                    e => RunError::Cluster(format!("k-means: {e}")),
                })?;
                // Each cluster's centre on the sphere (the mean direction of its households),
                // as stated (6 decimals, about 0.1 m); the answer is computed from those. A
                // household kept with a flagged lat/lon swap can be a centre of its own.
                let mut centres: Vec<(f64, f64)> = Vec::with_capacity(k);
                for c in 0..out.centres_lonlat.len() {
                    let members = (0..db.pts.len()).filter(|&j| out.labels[j] as usize == c).map(|j| db.pts[j]);
                    let Some((lon, lat)) = crate::sphere::centre_lonlat(members) else { return Ok(None) };
                    centres.push(((lon * 1e6).round() / 1e6, (lat * 1e6).round() / 1e6));
                }
                let mut chosen = None;
                for _ in 0..200 {
                    let i = db.pool[pick(rng, db.pool.len())];
                    let mut d: Vec<(f64, usize)> = centres
                        .iter()
                        .enumerate()
                        .map(|(c, &(lon, lat))| (distance_m(h.lon_deg[i], h.lat_deg[i], lon, lat), c))
                        .collect();
                    d.sort_by(|a, b| a.0.total_cmp(&b.0));
                    chosen = Some((i, d[0].1));
                    if d.len() < 2 || d[1].0 > 1.1 * d[0].0 {
                        break;
                    }
                }
                let (i, nearest) = chosen.expect("200 draws");
                let mut lines = String::new();
                for (c, &(lon, lat)) in centres.iter().enumerate() {
                    let _ = write!(lines, "\n  {}: lat {lat:.6}, lon {lon:.6}", letter(c));
                }
                let options: Vec<String> = (0..centres.len()).map(|c| letter(c).to_string()).collect();
                let text = s.f(
                    "quiz.q.kmeans",
                    &[("k", &k), ("pool", &self.pool_text(s)), ("centres", &lines), ("h", &self.who(i, s))],
                );
                Some((text, AnswerKind::Choice { options }, Answer::Choice(nearest)))
            }
            Kind::ZoneMeanNeed | Kind::ZoneHouseholds => {
                let zones = &self.zones.zones;
                if zones.len() < 2 || (kind == Kind::ZoneMeanNeed && self.scored.need.indicators.is_empty()) {
                    return Ok(None);
                }
                let value = |z: usize| match kind {
                    Kind::ZoneMeanNeed => zones[z].mean_need,
                    _ => zones[z].households as f64,
                };
                // Up to four zones, with one clear winner (mean needs 0.001 apart at least).
                let margin = if kind == Kind::ZoneMeanNeed { 0.001 } else { 0.5 };
                let mut chosen = None;
                for _ in 0..100 {
                    let mut all: Vec<usize> = (0..zones.len()).collect();
                    shuffle(&mut all, rng);
                    all.truncate(4);
                    all.sort_unstable();
                    let mut by: Vec<f64> = all.iter().map(|&z| value(z)).collect();
                    by.sort_by(|a, b| b.total_cmp(a));
                    chosen = Some(all.clone());
                    if by[0] - by[1] >= margin {
                        break;
                    }
                }
                let set = chosen.expect("100 draws");
                let best = (0..set.len())
                    .max_by(|&a, &b| value(set[a]).total_cmp(&value(set[b])).then(b.cmp(&a)))
                    .unwrap_or(0);
                let options: Vec<String> =
                    set.iter().map(|&z| s.f("quiz.zone_rank", &[("rank", &zones[z].rank)])).collect();
                let key = if kind == Kind::ZoneMeanNeed { "quiz.q.zone_mean_need" } else { "quiz.q.zone_households" };
                let text = s.f(key, &[("zones", &self.zone_intro(s))]);
                Some((text, AnswerKind::Choice { options }, Answer::Choice(best)))
            }
            Kind::ZoneCount => {
                let text = s.f("quiz.q.zone_count", &[("zones", &self.zone_intro(s))]);
                let tol = Tolerance::Absolute { absolute: 0.0 };
                Some((text, Self::number(s.t("quiz.unit.zones"), tol), Answer::Number(self.zones.zones.len() as f64)))
            }
            Kind::MinPointsZones | Kind::MinPointsNoise => {
                let db = &self.db;
                if db.pool.len() < 2 {
                    return Ok(None);
                }
                let to = db.min_points * 2;
                let cfg = ClusterConfig { eps_m: Some(db.eps_m), ..self.analysis.cluster.clone() };
                let more = dbscan_on_pool(self.imp, &self.scored, &cfg, Some(to), &self.progress)?;
                let intro = self.dbscan_text(db.min_points, s);
                if kind == Kind::MinPointsZones {
                    let options = vec![
                        s.t("quiz.opt.more").to_string(),
                        s.t("quiz.opt.fewer").to_string(),
                        s.t("quiz.opt.same").to_string(),
                    ];
                    let (a, b) = (db.clusters(), more.clusters());
                    let answer = if b > a {
                        0
                    } else if b < a {
                        1
                    } else {
                        2
                    };
                    let text = s.f("quiz.q.min_points_zones", &[("dbscan", &intro), ("to", &to)]);
                    Some((text, AnswerKind::Choice { options }, Answer::Choice(answer)))
                } else {
                    let text = s.f("quiz.q.min_points_noise", &[("dbscan", &intro), ("to", &to)]);
                    Some((text, AnswerKind::YesNo, Answer::YesNo(more.noise() > db.noise())))
                }
            }
        })
    }

    fn zone_intro(&self, s: Strings) -> String {
        s.t("quiz.zones_intro").to_string()
    }

    /// The need score of a household, with every figure needed to work it out by hand.
    fn need_question(&self, rng: &mut Rng, s: Strings) -> Made {
        let h = &self.imp.households;
        let reports = &self.scored.need.indicators;
        if reports.is_empty() {
            return None;
        }
        let n = h.len();
        let columns: Vec<Option<IndicatorValues>> =
            reports.iter().map(|r| IndicatorValues::of(h, &r.indicator, self.analysis.need.missing)).collect();
        if columns.iter().any(Option::is_none) {
            return None;
        }
        let columns: Vec<IndicatorValues> = columns.into_iter().flatten().collect();
        // A household with every value present, so nothing is imputed.
        let i = (0..200)
            .map(|_| pick(rng, n))
            .find(|&i| self.scored.need.score[i].is_finite() && columns.iter().all(|c| c.raw[i].is_some()))?;
        let total_w: f64 = reports.iter().map(|r| r.indicator.weight).sum();
        let mut lines = String::new();
        let mut by_hand = 0.0;
        for (r, c) in reports.iter().zip(&columns) {
            let ind = &r.indicator;
            let v = c.raw[i].unwrap_or(f64::NAN);
            let shown = {
                let t = h.text(i, c.col).trim();
                if !c.categorical && parse_number(t).ok().flatten().is_none() {
                    format!("{t} (= {v})")
                } else {
                    t.to_string()
                }
            };
            let dir = match ind.direction {
                Direction::HigherIsWorse => s.t("quiz.need.higher"),
                Direction::LowerIsWorse => s.t("quiz.need.lower"),
            };
            let flip = if ind.direction == Direction::LowerIsWorse { s.t("quiz.need.flip") } else { "" };
            let orient = |t: f64| if ind.direction == Direction::LowerIsWorse { 1.0 - t } else { t };
            let vals = &c.filled;
            let (line, t) = if c.categorical {
                (
                    s.f(
                        "quiz.need.category",
                        &[("column", &ind.column), ("value", &shown), ("score", &v), ("weight", &ind.weight)],
                    ),
                    v,
                )
            } else {
                match ind.transform {
                    Transform::MinMax => {
                        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let t = if hi > lo { orient((v - lo) / (hi - lo)) } else { 0.0 };
                        let line = s.f(
                            "quiz.need.min_max",
                            &[
                                ("column", &ind.column),
                                ("value", &shown),
                                ("dir", &dir),
                                ("min", &lo),
                                ("max", &hi),
                                ("flip", &flip),
                                ("weight", &ind.weight),
                            ],
                        );
                        (line, t)
                    }
                    Transform::Percentile => {
                        let below = vals.iter().filter(|&&x| x < v).count();
                        let equal = vals.iter().filter(|&&x| x == v).count();
                        let t = orient((below as f64 + 0.5 * equal as f64) / vals.len() as f64);
                        let line = s.f(
                            "quiz.need.percentile",
                            &[
                                ("column", &ind.column),
                                ("value", &shown),
                                ("dir", &dir),
                                ("n", &vals.len()),
                                ("below", &below),
                                ("equal", &equal),
                                ("flip", &flip),
                                ("weight", &ind.weight),
                            ],
                        );
                        (line, t)
                    }
                    Transform::ZScore => {
                        let m = vals.iter().sum::<f64>() / vals.len() as f64;
                        let sd = (vals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
                        let t = if sd > 0.0 { orient(need::phi((v - m) / sd)) } else { 0.5 };
                        let line = s.f(
                            "quiz.need.z_score",
                            &[
                                ("column", &ind.column),
                                ("value", &shown),
                                ("dir", &dir),
                                ("mean", &format!("{m:.6}")),
                                ("sd", &format!("{sd:.6}")),
                                ("flip", &flip),
                                ("weight", &ind.weight),
                            ],
                        );
                        (line, t)
                    }
                    Transform::Cutoff => {
                        let cut = ind.cutoff.unwrap_or(f64::NAN);
                        let (cmp, deprived) = match ind.direction {
                            Direction::HigherIsWorse => (s.t("quiz.need.at_least"), v >= cut),
                            Direction::LowerIsWorse => (s.t("quiz.need.at_most"), v <= cut),
                        };
                        let line = s.f(
                            "quiz.need.cutoff",
                            &[
                                ("column", &ind.column),
                                ("value", &shown),
                                ("cmp", &cmp),
                                ("cutoff", &cut),
                                ("weight", &ind.weight),
                            ],
                        );
                        (line, if deprived { 1.0 } else { 0.0 })
                    }
                }
            };
            by_hand += ind.weight * t;
            lines.push('\n');
            lines.push_str(&line);
        }
        let key = self.scored.need.score[i];
        // The figures stated reproduce the core's score (z-scores: to the rounding of the
        // normal CDF); if not, this is a bug, and no question is better than a wrong one.
        let stated = (by_hand / total_w).clamp(0.0, 1.0);
        if (stated - key).abs() > 1e-6 {
            debug_assert!(false, "need score by the stated figures {stated} vs the core's {key}");
            return None;
        }
        let tol = Tolerance::Absolute { absolute: 0.005 };
        let text = s.f("quiz.q.need", &[("h", &self.who(i, s)), ("lines", &lines), ("tol", &tol.text(s.lang))]);
        Some((text, Self::number("", tol), Answer::Number(key)))
    }
}

/// One indicator's values as the need index reads them: raw (None = missing) and filled
/// (missing imputed with the median, or left out, per the policy).
struct IndicatorValues {
    col: usize,
    categorical: bool,
    raw: Vec<Option<f64>>,
    filled: Vec<f64>,
}

impl IndicatorValues {
    fn of(h: &crate::data::Households, ind: &need::Indicator, missing: Missing) -> Option<Self> {
        let col = h.column(&ind.column)?;
        let categorical = !ind.categories.is_empty();
        let table: std::collections::BTreeMap<String, f64> =
            ind.categories.iter().map(|(k, v)| (need::category_key(k), *v)).collect();
        let raw: Vec<Option<f64>> = (0..h.len())
            .map(|i| {
                let t = h.text(i, col).trim();
                if t.is_empty() {
                    None
                } else if categorical {
                    table.get(&need::category_key(t)).copied()
                } else {
                    parse_number(t).ok().flatten().or_else(|| parse_bool(t).map(|b| if b { 1.0 } else { 0.0 }))
                }
            })
            .collect();
        let mut present: Vec<f64> = raw.iter().flatten().copied().collect();
        let imputed = (missing == Missing::ImputeMedian && !present.is_empty()).then(|| {
            present.sort_by(f64::total_cmp);
            let m = present.len();
            if m % 2 == 1 { present[m / 2] } else { 0.5 * (present[m / 2 - 1] + present[m / 2]) }
        });
        let filled: Vec<f64> = raw.iter().filter_map(|v| v.or(imputed)).collect();
        Some(IndicatorValues { col, categorical, raw, filled })
    }
}

// ---------------------------------------------------------------------------------------
// Scoring

/// How one question went.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionScore {
    pub id: String,
    pub topic: Topic,
    /// The answer given, as written; `None` when missing.
    pub given: Option<String>,
    /// The key, as it would be answered.
    pub expected: String,
    pub right: bool,
    /// Why a given answer could not be read (it then counts as wrong).
    pub problem: Option<String>,
}

/// Right answers out of questions, for one topic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopicScore {
    pub topic: Topic,
    pub right: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub questions: Vec<QuestionScore>,
    /// Topics in [`Topic::ALL`] order, those with questions only.
    pub topics: Vec<TopicScore>,
    /// Topics with a wrong or missing answer.
    pub review: Vec<Topic>,
    pub right: usize,
    pub total: usize,
    /// Ids answered that the quiz does not have.
    pub unknown: Vec<String>,
}

impl Score {
    /// Ids of the questions with no answer.
    pub fn missing(&self) -> Vec<&str> {
        self.questions.iter().filter(|q| q.given.is_none()).map(|q| q.id.as_str()).collect()
    }
}

/// Scores `(id, answer)` pairs against the quiz's key (which must be there: a quiz from
/// [`generate`], not one only loaded). A missing, empty or unreadable answer is wrong.
pub fn score(quiz: &Quiz, answers: &[(String, String)]) -> Score {
    let mut questions = Vec::with_capacity(quiz.questions.len());
    for (q, &key) in quiz.questions.iter().zip(&quiz.key) {
        let given = answers.iter().find(|(id, _)| id.trim() == q.id).map(|(_, a)| a.trim().to_string());
        let given = given.filter(|a| !a.is_empty());
        let (right, problem) = match &given {
            None => (false, None),
            Some(a) => match q.kind.parse_answer(a) {
                Ok(g) => (q.kind.is_right(g, key), None),
                Err(e) => (false, Some(e)),
            },
        };
        questions.push(QuestionScore {
            id: q.id.clone(),
            topic: q.topic,
            given,
            expected: q.kind.answer_text(key, quiz.lang),
            right,
            problem,
        });
    }
    let mut topics = Vec::new();
    for t in Topic::ALL {
        let of: Vec<&QuestionScore> = questions.iter().filter(|q| q.topic == t).collect();
        if !of.is_empty() {
            topics.push(TopicScore { topic: t, right: of.iter().filter(|q| q.right).count(), total: of.len() });
        }
    }
    let review = topics.iter().filter(|t| t.right < t.total).map(|t| t.topic).collect();
    let unknown = answers
        .iter()
        .map(|(id, _)| id.trim())
        .filter(|id| !quiz.questions.iter().any(|q| q.id == *id))
        .map(String::from)
        .collect();
    Score {
        right: questions.iter().filter(|q| q.right).count(),
        total: questions.len(),
        questions,
        topics,
        review,
        unknown,
    }
}

/// Reads answers.csv (`id,answer`, header first), checking every id and answer against
/// `quiz`; errors name the file and line.
pub fn read_answers(path: &Path, quiz: &Quiz) -> Result<Vec<(String, String)>, RunError> {
    let bad = |line: u64, what: String| RunError::Analysis(format!("{}:{line}: {what}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| RunError::Analysis(format!("{}: cannot read: {e}", path.display())))?;
    // Lines from byte offsets: the csv reader does not count the blank lines it skips.
    let line_at = |byte: u64| {
        // A record's position may be where the blank lines before it begin.
        let mut b = (byte as usize).min(bytes.len());
        while b < bytes.len() && matches!(bytes[b], b'\n' | b'\r') {
            b += 1;
        }
        bytes[..b].iter().filter(|&&c| c == b'\n').count() as u64 + 1
    };
    let mut r = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(&bytes[..]);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(1, format!("{e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let (Some(id_col), Some(answer_col)) =
        (header.iter().position(|h| h == "id"), header.iter().position(|h| h == "answer"))
    else {
        return Err(bad(
            1,
            format!(
                "the header must name the columns id and answer (it has {:?}); write e.g. \"id,answer\"",
                header.join(",")
            ),
        ));
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(p.byte()));
            bad(line, format!("{e}"))
        })?;
        let line = rec.position().map_or(0, |p| line_at(p.byte()));
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let (Some(id), Some(answer)) = (rec.get(id_col), rec.get(answer_col)) else {
            return Err(bad(line, format!("{} fields, but the header has {}", rec.len(), header.len())));
        };
        if rec.len() > header.len() {
            return Err(bad(
                line,
                format!(
                    "{} fields, but the header has {}; write decimals with a point, or quote an answer that holds a comma",
                    rec.len(),
                    header.len()
                ),
            ));
        }
        let id = id.trim().to_string();
        let Some(q) = quiz.questions.iter().find(|q| q.id == id) else {
            let ids = match (quiz.questions.first(), quiz.questions.last()) {
                (Some(a), Some(b)) => format!("{} to {}", a.id, b.id),
                _ => String::new(),
            };
            return Err(bad(line, format!("there is no question {id:?} in the quiz (its ids are {ids})")));
        };
        if let Some(k) = out.iter().position(|(i, _)| *i == id) {
            return Err(bad(line, format!("question {id:?} is answered twice (first on line {})", lines[k])));
        }
        if !answer.trim().is_empty() {
            q.kind.parse_answer(answer).map_err(|e| {
                let want = match &q.kind {
                    AnswerKind::Number { .. } => "a number".to_string(),
                    AnswerKind::YesNo => "yes or no".to_string(),
                    AnswerKind::Choice { options } => {
                        format!(
                            "a letter, {}",
                            (0..options.len()).map(|k| letter(k).to_string()).collect::<Vec<_>>().join(", ")
                        )
                    }
                };
                bad(line, format!("{id}: {e}; the answer must be {want}"))
            })?;
        }
        out.push((id, answer.to_string()));
        lines.push(line);
    }
    Ok(out)
}

/// Where the quiz's input is: as named, else beside quiz.json, unless `input` overrides.
pub fn source_path(quiz: &Quiz, quiz_path: &Path, input: Option<&Path>) -> PathBuf {
    if let Some(p) = input {
        return p.to_path_buf();
    }
    let named = &quiz.source.input;
    if named.exists() || named.is_absolute() {
        return named.clone();
    }
    let beside = quiz_path.parent().unwrap_or(Path::new("")).join(named.file_name().unwrap_or_default());
    if beside.exists() { beside } else { named.clone() }
}

/// Checks `loaded` (from quiz.json) against its input and analysis and regenerates it with
/// its key: the input must hash as recorded and the questions come out the same.
pub fn regenerate(loaded: &Quiz, input: &Path, progress: &Progress) -> Result<Quiz, RunError> {
    let src = &loaded.source;
    let (bytes, sha256) = file_hash(input)?;
    if bytes != src.bytes || sha256 != src.sha256 {
        return Err(RunError::Analysis(format!(
            "{}: the file changed since the quiz was made ({} bytes, SHA-256 {}…; the quiz was made on {} bytes, {}…); \
             check against the original file (--input FILE) or make a new quiz",
            input.display(),
            bytes,
            &sha256[..12],
            src.bytes,
            // quiz.json may have been edited: its hash is any text, cut at a character.
            src.sha256.chars().take(12).collect::<String>()
        )));
    }
    let analysis: Analysis = toml::from_str(&src.analysis)
        .map_err(|e| RunError::Analysis(format!("the quiz's analysis does not read: {}", e.message())))?;
    let imp = analysis::import_stage(input, &analysis.input, &crate::data::Keep::All, progress)?;
    let mut quiz = generate(&imp, &analysis, loaded.seed, loaded.count, loaded.lang, progress)?;
    quiz.source.input = loaded.source.input.clone();
    let first_difference =
        loaded.questions.iter().zip(&quiz.questions).find(|(a, b)| a != b).map(|(a, _)| a.id.clone()).or_else(|| {
            (loaded.questions.len() != quiz.questions.len()).then(|| "the number of questions".to_string())
        });
    if let Some(what) = first_difference {
        return Err(RunError::Analysis(format!(
            "the quiz's questions are not those its seed and analysis give ({what} differs): it was edited, \
             or made by another version of needmap; make a new quiz"
        )));
    }
    Ok(quiz)
}

/// The score as a table per topic, the wrong and missing answers, and the topics to review.
pub fn score_text(score: &Score, lang: Lang) -> String {
    let s = Strings::new(lang);
    let mut out = String::new();
    let width = score.topics.iter().map(|t| t.topic.label(lang).chars().count()).max().unwrap_or(5).max(6);
    let pad = |t: &str| format!("{t}{}", " ".repeat(width.saturating_sub(t.chars().count())));
    let _ =
        writeln!(out, "{}  {:>5}  {:>5}", pad(s.t("quiz.score.topic")), s.t("quiz.score.right"), s.t("quiz.score.of"));
    for t in &score.topics {
        let _ = writeln!(out, "{}  {:>5}  {:>5}", pad(t.topic.label(lang)), t.right, t.total);
    }
    let pct = 100.0 * score.right as f64 / score.total.max(1) as f64;
    let _ = writeln!(out, "{}  {:>5}  {:>5}  ({pct:.0} %)", pad(s.t("quiz.score.total")), score.right, score.total);
    for q in &score.questions {
        if q.right {
            continue;
        }
        let topic = q.topic.label(lang);
        let line = match (&q.given, &q.problem) {
            (None, _) => s.f("quiz.score.missing", &[("id", &q.id), ("topic", &topic), ("expected", &q.expected)]),
            (Some(g), Some(p)) => s.f(
                "quiz.score.unreadable",
                &[("id", &q.id), ("topic", &topic), ("given", g), ("problem", p), ("expected", &q.expected)],
            ),
            (Some(g), None) => {
                s.f("quiz.score.wrong", &[("id", &q.id), ("topic", &topic), ("given", g), ("expected", &q.expected)])
            }
        };
        let _ = writeln!(out, "{line}");
    }
    let review: Vec<&str> = score.review.iter().map(|t| t.label(lang)).collect();
    if review.is_empty() {
        let _ = writeln!(out, "{}", s.t("quiz.score.nothing_to_review"));
    } else {
        let _ = writeln!(out, "{}", s.f("quiz.score.review", &[("topics", &review.join(", "))]));
    }
    out
}

/// Checks answers.csv against quiz.json: regenerates the quiz from its input (see
/// [`regenerate`]) and scores the answers.
pub fn check(
    quiz_path: &Path,
    answers_path: &Path,
    input: Option<&Path>,
    progress: &Progress,
) -> Result<(Quiz, Score), RunError> {
    let loaded = Quiz::load(quiz_path)?;
    // The answers are read against the loaded questions first, so a typo is reported before
    // the analysis runs.
    let answers = read_answers(answers_path, &loaded)?;
    let path = source_path(&loaded, quiz_path, input);
    let quiz = regenerate(&loaded, &path, progress)?;
    let sc = score(&quiz, &answers);
    Ok((quiz, sc))
}
