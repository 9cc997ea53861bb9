//! `needmap quiz`: the key checked against brute force (an independent haversine over every
//! household, core status by counting, need scores by hand from the raw CSV), determinism by
//! seed, and `--check` scoring answers, refusing a changed input and reading bad answer files.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{fails, needmap, show};
use needmap::analysis::{self, Analysis, Imported};
use needmap::data::Keep;
use needmap::i18n::Lang;
use needmap::progress::Progress;
use needmap::quiz::{self, Answer, AnswerKind, Quiz, Topic};

const LIMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data/lima_households.csv");

/// Independent great-circle distance (spherical law of cosines in its atan2 form), metres.
fn gc_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dl = (lon2 - lon1).to_radians();
    let y = ((p2.cos() * dl.sin()).powi(2) + (p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos()).powi(2)).sqrt();
    let x = p1.sin() * p2.sin() + p1.cos() * p2.cos() * dl.cos();
    6_371_008.8 * y.atan2(x)
}

/// The raw CSV, as rows of column → text, by household id.
fn raw_csv() -> (Vec<String>, HashMap<String, Vec<String>>) {
    let mut r = csv::Reader::from_path(LIMA).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut rows = HashMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        rows.insert(rec[0].to_string(), rec.iter().map(String::from).collect());
    }
    (header, rows)
}

/// `(id, lat, lon)` of every "household ID (lat X, lon Y)" in a question, in order.
fn households_in(text: &str) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for part in text.split("household ").skip(1) {
        let Some((id, rest)) = part.split_once(" (lat ") else { continue };
        let (lat, rest) = rest.split_once(", lon ").unwrap();
        let lon = rest.split(')').next().unwrap();
        out.push((id.to_string(), lat.parse().unwrap(), lon.parse().unwrap()));
    }
    out
}

/// The number after `before` in `text`.
fn number_after(text: &str, before: &str) -> f64 {
    let rest = text.split(before).nth(1).unwrap_or_else(|| panic!("{before:?} in {text}"));
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect();
    num.trim_end_matches('.').parse().unwrap_or_else(|_| panic!("number after {before:?} in {text}"))
}

fn import(path: &Path, a: &Analysis) -> Imported {
    analysis::import_stage(path, &a.input, &Keep::All, &Progress::new()).unwrap()
}

/// An analysis whose need index can be worked from the CSV: min-max and percentile indicators
/// on numeric columns, clustering every critical household with DBSCAN.
const HAND_ANALYSIS: &str = r#"
[[need.indicators]]
column = "people_per_room"
direction = "higher_is_worse"
transform = "min_max"
weight = 2.0

[[need.indicators]]
column = "monthly_income_pen"
direction = "lower_is_worse"
transform = "min_max"
weight = 1.0

[[need.indicators]]
column = "children_under5"
direction = "higher_is_worse"
transform = "percentile"
weight = 1.0

[cluster]
method = "dbscan"
eps_m = 200.0
min_points = 8
"#;

fn hand_analysis() -> Analysis {
    toml::from_str(HAND_ANALYSIS).unwrap()
}

#[test]
fn the_key_agrees_with_brute_force() {
    let a = hand_analysis();
    let imp = import(Path::new(LIMA), &a);
    let quiz = quiz::generate(&imp, &a, 11, 40, Lang::En, &Progress::new()).unwrap();
    assert_eq!(quiz.questions.len(), 40);
    assert_eq!(quiz.key.len(), 40);
    // Every household the core accepted, with its coordinates from the core (the thing
    // checked here is the quiz's key, not the import).
    let h = &imp.households;
    let all: Vec<(f64, f64)> = (0..h.len()).map(|i| (h.lat_deg[i], h.lon_deg[i])).collect();
    let accepted_ids: std::collections::HashSet<&str> = (0..h.len()).map(|i| h.id(i)).collect();
    let scored = analysis::need_stage(&imp, &a, &needmap::progress::Progress::new()).unwrap();
    let pool: Vec<(f64, f64)> = (0..h.len()).filter(|&i| scored.critical[i]).map(|i| all[i]).collect();
    let (header, raw) = raw_csv();
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let within = |set: &[(f64, f64)], lat: f64, lon: f64, r: f64| {
        set.iter().filter(|&&(la, lo)| gc_m(lat, lon, la, lo) <= r).count()
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (q, &key) in quiz.questions.iter().zip(&quiz.key) {
        let hh = households_in(&q.text);
        let t = &q.text;
        let what = format!("{}: {t}", q.id);
        if t.contains("great-circle distance in metres between") {
            *seen.entry("distance").or_default() += 1;
            let d = gc_m(hh[0].1, hh[0].2, hh[1].1, hh[1].2);
            let Answer::Number(k) = key else { panic!("{what}") };
            assert!((k - d).abs() < 1e-6 * d.max(1.0), "{what}: key {k} vs {d}");
        } else if t.contains("How many households of the file lie within") {
            *seen.entry("within").or_default() += 1;
            let r = number_after(t, "lie within ");
            let want = within(&all, hh[0].1, hh[0].2, r);
            assert_eq!(key, Answer::Number(want as f64), "{what}");
        } else if t.contains("Is household") && t.contains("a core point?") {
            *seen.entry("core").or_default() += 1;
            let (eps, m) = (number_after(t, "eps = "), number_after(t, "min points = "));
            assert_eq!((eps, m), (200.0, 8.0), "{what}");
            assert!(t.contains(&format!("the {} critical households", pool.len())), "{what}");
            let core = within(&pool, hh[0].1, hh[0].2, eps) >= m as usize;
            assert_eq!(key, Answer::YesNo(core), "{what}");
        } else if t.contains("a core point, a border point or noise") {
            *seen.entry("status").or_default() += 1;
            let (eps, m) = (number_after(t, "eps = "), number_after(t, "min points = ") as usize);
            let (lat, lon) = (hh[0].1, hh[0].2);
            let want = if within(&pool, lat, lon, eps) >= m {
                0
            } else if pool
                .iter()
                .filter(|&&(la, lo)| gc_m(lat, lon, la, lo) <= eps)
                .any(|&(la, lo)| within(&pool, la, lo, eps) >= m)
            {
                1
            } else {
                2
            };
            assert_eq!(key, Answer::Choice(want), "{what}");
        } else if t.contains("What is the need score of household") {
            *seen.entry("need").or_default() += 1;
            // By hand from the raw CSV, over the households the core accepted.
            let id = &hh[0].0;
            let value = |c: &str, row: &Vec<String>| row[col(c)].trim().parse::<f64>().ok();
            let column_of = |c: &str| -> Vec<f64> {
                let present: Vec<f64> = raw
                    .iter()
                    .filter(|(k, _)| accepted_ids.contains(k.as_str()))
                    .filter_map(|(_, r)| value(c, r))
                    .collect();
                let mut sorted = present.clone();
                sorted.sort_by(f64::total_cmp);
                let n = sorted.len();
                let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
                raw.iter()
                    .filter(|(k, _)| accepted_ids.contains(k.as_str()))
                    .map(|(_, r)| value(c, r).unwrap_or(median))
                    .collect()
            };
            let me = &raw[id];
            let min_max = |c: &str| {
                let v = column_of(c);
                let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                (value(c, me).unwrap() - lo) / (hi - lo)
            };
            let pct = {
                let v = column_of("children_under5");
                let x = value("children_under5", me).unwrap();
                let below = v.iter().filter(|&&y| y < x).count() as f64;
                let equal = v.iter().filter(|&&y| y == x).count() as f64;
                (below + equal / 2.0) / v.len() as f64
            };
            let want = (2.0 * min_max("people_per_room") + (1.0 - min_max("monthly_income_pen")) + pct) / 4.0;
            let Answer::Number(k) = key else { panic!("{what}") };
            assert!((k - want).abs() < 1e-9, "{what}: key {k} vs by hand {want}");
            // The figures in the text are those used.
            assert!(t.contains(&format!("people_per_room = {}", me[col("people_per_room")])), "{what}");
        } else if t.contains("k-means with k = ") {
            *seen.entry("kmeans").or_default() += 1;
            let centres: Vec<(f64, f64)> = t
                .lines()
                .filter_map(|l| l.trim().split_once(": lat "))
                .map(|(_, rest)| {
                    let (lat, lon) = rest.split_once(", lon ").unwrap();
                    (lat.parse().unwrap(), lon.parse().unwrap())
                })
                .collect();
            assert_eq!(centres.len() as f64, number_after(t, "k = "), "{what}");
            let nearest = (0..centres.len())
                .min_by(|&x, &y| {
                    gc_m(hh[0].1, hh[0].2, centres[x].0, centres[x].1).total_cmp(&gc_m(
                        hh[0].1,
                        hh[0].2,
                        centres[y].0,
                        centres[y].1,
                    ))
                })
                .unwrap();
            assert_eq!(key, Answer::Choice(nearest), "{what}");
        } else if t.contains("Gi* z-score of") {
            *seen.entry("hotspot").or_default() += 1;
            // Brute force with an independent distance formula, from the core's need scores
            // (the need key itself is checked above).
            let need = &scored.need.score;
            let band = number_after(t, "distance band of ");
            let vals: Vec<(usize, f64)> = (0..h.len()).filter(|&i| need[i].is_finite()).map(|i| (i, need[i])).collect();
            let n = vals.len() as f64;
            let mean = vals.iter().map(|v| v.1).sum::<f64>() / n;
            let sd = (vals.iter().map(|v| (v.1 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let (lat, lon) = (hh[0].1, hh[0].2);
            let near: Vec<f64> =
                vals.iter().filter(|&&(j, _)| gc_m(lat, lon, all[j].0, all[j].1) <= band).map(|v| v.1).collect();
            let w = near.len() as f64;
            let z = (near.iter().sum::<f64>() - mean * w) / (sd * ((n * w - w * w) / (n - 1.0)).sqrt());
            let Answer::Number(k) = key else { panic!("{what}") };
            assert!((k - z).abs() < 0.005, "{what}: key {k}, brute force {z}");
        } else {
            *seen.entry("other").or_default() += 1;
        }
    }
    for kind in ["distance", "within", "core", "status", "need", "kmeans"] {
        assert!(seen.get(kind).copied().unwrap_or(0) >= 2, "{kind} asked at least twice in 40: {seen:?}");
    }
    // The key is never in quiz.json.
    let json = quiz.to_json();
    assert!(!json.contains("\"key\""), "{json}");
    let loaded: Quiz = serde_json::from_str(&json).unwrap();
    assert!(loaded.key.is_empty());
}

#[test]
fn zone_and_parameter_questions_agree_with_the_run_and_the_cluster_commands() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let a = hand_analysis();
    let imp = import(Path::new(LIMA), &a);
    let quiz = quiz::generate(&imp, &a, 5, 30, Lang::En, &Progress::new()).unwrap();
    // `needmap run` with the quiz's own analysis gives the zones the questions talk about.
    std::fs::write(p.join("a.toml"), &quiz.source.analysis).unwrap();
    let args = ["run", LIMA, "--analysis", "a.toml", "--out", "run"];
    let o = needmap(p, &args);
    assert!(o.status.success(), "{}", show(&args, &o));
    let mut r = csv::Reader::from_path(p.join("run/zones.csv")).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let zones: Vec<HashMap<String, String>> =
        r.records().map(|rec| h.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect()).collect();
    let by_rank = |rank: &str, col: &str| -> f64 {
        zones.iter().find(|z| z["rank"] == rank).unwrap_or_else(|| panic!("rank {rank}"))[col].parse().unwrap()
    };
    let mut checked = 0;
    for (q, &key) in quiz.questions.iter().zip(&quiz.key) {
        let t = &q.text;
        if q.topic == Topic::Zones {
            assert!(t.contains("needmap run"), "{t}");
        }
        let col = if t.contains("highest mean need") {
            "mean_need"
        } else if t.contains("holds the most households") {
            "households"
        } else if t.contains("How many zones") {
            assert_eq!(key, Answer::Number(zones.len() as f64), "{t}");
            checked += 1;
            continue;
        } else {
            continue;
        };
        let AnswerKind::Choice { options } = &q.kind else { panic!("{t}") };
        let ranks: Vec<String> = options.iter().map(|o| o.rsplit(' ').next().unwrap().to_string()).collect();
        let best =
            (0..ranks.len()).max_by(|&x, &y| by_rank(&ranks[x], col).total_cmp(&by_rank(&ranks[y], col))).unwrap();
        assert_eq!(key, Answer::Choice(best), "{t}: {ranks:?}");
        checked += 1;
    }
    assert!(checked >= 3, "zone questions checked: {checked}");
}

fn ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    o
}

fn make(dir: &Path, input: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["quiz", input, "--out", "quiz.json", "--key", "key.csv", "--force"];
    args.extend_from_slice(extra);
    ok(dir, &args);
    dir.join("quiz.json")
}

/// answers.csv from key.csv, with `change` applied to the (id, answer) rows.
fn answers_from_key(dir: &Path, change: impl Fn(&str, &str) -> Option<String>) {
    let key = std::fs::read_to_string(dir.join("key.csv")).unwrap();
    let mut out = String::from("id,answer\n");
    for line in key.lines().skip(1) {
        let mut parts = line.splitn(3, ',');
        let (id, answer) = (parts.next().unwrap(), parts.next().unwrap());
        if let Some(a) = change(id, answer) {
            out += &format!("{id},{a}\n");
        }
    }
    std::fs::write(dir.join("answers.csv"), out).unwrap();
}

#[test]
fn same_seed_same_bytes_other_seed_other_questions_and_the_key_scores_full_marks() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::copy(LIMA, p.join("lima.csv")).unwrap();
    make(p, "lima.csv", &["--seed", "3"]);
    let first = std::fs::read(p.join("quiz.json")).unwrap();
    std::fs::create_dir(p.join("again")).unwrap();
    std::fs::copy(LIMA, p.join("again/lima.csv")).unwrap();
    make(&p.join("again"), "lima.csv", &["--seed", "3"]);
    assert_eq!(first, std::fs::read(p.join("again/quiz.json")).unwrap(), "same seed, same bytes");
    make(&p.join("again"), "lima.csv", &["--seed", "4"]);
    let other = std::fs::read_to_string(p.join("again/quiz.json")).unwrap();
    let text = String::from_utf8(first.clone()).unwrap();
    assert_ne!(text, other, "another seed, other questions");
    // Nothing of the key in quiz.json; ten questions over the topics.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["questions"].as_array().unwrap().len(), 10);
    assert!(v.get("key").is_none());
    let topics: std::collections::BTreeSet<&str> =
        v["questions"].as_array().unwrap().iter().map(|q| q["topic"].as_str().unwrap()).collect();
    assert!(topics.len() >= 5, "{topics:?}");

    // The key's answers score 100 %.
    answers_from_key(p, |_, a| Some(a.to_string()));
    let o = ok(p, &["quiz", "--check", "quiz.json", "answers.csv"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("total") && out.contains("10     10  (100 %)"), "{out}");
    assert!(out.contains("review: nothing"), "{out}");

    // One wrong, one missing: both named under their topics, which are to review.
    let qs = v["questions"].as_array().unwrap();
    let wrong = qs.iter().find(|q| q["kind"] == "yes_no").unwrap();
    let missing = qs.iter().find(|q| q["kind"] == "number" && q["topic"] != wrong["topic"]).unwrap();
    let (wrong_id, missing_id) = (wrong["id"].as_str().unwrap(), missing["id"].as_str().unwrap());
    answers_from_key(p, |id, a| {
        if id == wrong_id {
            Some(if a == "yes" { "no".into() } else { "sí".into() })
        } else if id == missing_id {
            None
        } else {
            Some(a.to_string())
        }
    });
    let o = ok(p, &["quiz", "--check", "quiz.json", "answers.csv"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let label = |q: &serde_json::Value| {
        let t: Topic = serde_json::from_value(q["topic"].clone()).unwrap();
        t.label(Lang::En)
    };
    assert!(out.contains("8     10  (80 %)"), "{out}");
    assert!(out.contains(&format!("{wrong_id} ({}): answered", label(wrong))), "{out}");
    assert!(out.contains(&format!("{missing_id} ({}): no answer; expected", label(missing))), "{out}");
    let review = out.lines().find(|l| l.starts_with("review:")).unwrap();
    assert!(review.contains(label(wrong)) && review.contains(label(missing)), "{out}");

    // A changed input is refused, naming it.
    let mut data = std::fs::read_to_string(p.join("lima.csv")).unwrap();
    data = data.replacen("H000001,-12.187562", "H000001,-12.187563", 1);
    std::fs::write(p.join("lima.csv"), data).unwrap();
    let err = fails(p, &["quiz", "--check", "quiz.json", "answers.csv"]);
    assert!(err.starts_with("needmap: lima.csv: the file changed since the quiz was made"), "{err}");
}

#[test]
fn spanish_questions_and_score() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    make(p, LIMA, &["--lang", "es", "--count", "6", "--seed", "9"]);
    let text = std::fs::read_to_string(p.join("quiz.json")).unwrap();
    assert!(text.contains("\"lang\": \"Es\""), "{text}");
    assert!(text.contains("¿") && text.contains("Responda"), "{text}");
    assert!(!text.contains("Answer "), "{text}");
    answers_from_key(p, |_, a| Some(a.to_string()));
    let o = ok(p, &["quiz", "--check", "quiz.json", "answers.csv"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("tema") && out.contains("repasar: nada"), "{out}");
}

#[test]
fn bad_answer_files_and_usage_are_clear() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    make(p, LIMA, &["--count", "4", "--seed", "2"]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.join("quiz.json")).unwrap()).unwrap();
    let qs = v["questions"].as_array().unwrap();
    let number = qs.iter().find(|q| q["kind"] == "number").unwrap()["id"].as_str().unwrap().to_string();
    let write = |body: &str| std::fs::write(p.join("answers.csv"), body).unwrap();
    let check = ["quiz", "--check", "quiz.json", "answers.csv"];

    write("question,response\nq01,3\n");
    let err = fails(p, &check);
    assert!(err.starts_with("needmap: answers.csv:1: the header must name the columns id and answer"), "{err}");
    write(&format!("id,answer\n\n{number},about twelve\n"));
    let err = fails(p, &check);
    assert_eq!(
        err,
        format!("needmap: answers.csv:3: {number}: \"about twelve\" is not a number; the answer must be a number")
    );
    write("id,answer\nq99,1\n");
    let err = fails(p, &check);
    assert_eq!(err, "needmap: answers.csv:2: there is no question \"q99\" in the quiz (its ids are q01 to q04)");
    write(&format!("id,answer\n{number},1\n{number},2\n"));
    let err = fails(p, &check);
    assert_eq!(err, format!("needmap: answers.csv:3: question \"{number}\" is answered twice (first on line 2)"));
    let err = fails(p, &["quiz", "--check", "quiz.json", "nowhere.csv"]);
    assert!(err.starts_with("needmap: nowhere.csv: cannot read"), "{err}");
    std::fs::write(p.join("broken.json"), "{\"format\": 3").unwrap();
    write("id,answer\n");
    let err = fails(p, &["quiz", "--check", "broken.json", "answers.csv"]);
    assert!(err.starts_with("needmap: broken.json:1:"), "{err}");

    // An empty answers file: every question missing, named, and still exit 0.
    let o = ok(p, &check);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches(": no answer; expected").count(), 4, "{out}");

    // Usage errors: exit 2.
    for args in
        [&["quiz"][..], &["quiz", "--check", "quiz.json"], &["quiz", LIMA, "--out", "q.json", "--check", "a", "b"]]
    {
        let o = needmap(p, args);
        assert_eq!(o.status.code(), Some(2), "{}", show(args, &o));
    }
    let err = fails(p, &["quiz", LIMA, "--count", "0", "--out", "q.json"]);
    assert_eq!(err, "needmap: quiz: --count must be 1 to 100, not 0");
    assert!(!p.join("q.json").exists());
}

/// quiz.json is a file users may edit: a hash that is not hex (here with accents) made the
/// "file changed" message cut it inside a character, a panic. Now the message quotes its
/// first 12 characters.
#[test]
fn an_edited_hash_with_accents_is_quoted_not_cut() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("s.csv"), "id,lat,lon,household_size\n1,-12,-77,3\n2,-12.0001,-77,4\n").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(make(p, LIMA, &[])).unwrap()).unwrap();
    v["source"]["sha256"] = "aéééééééé".into();
    v["source"]["input"] = "s.csv".into();
    std::fs::write(p.join("quiz.json"), v.to_string()).unwrap();
    std::fs::write(p.join("answers.csv"), "id,answer\n").unwrap();
    let err = fails(p, &["quiz", "--check", "quiz.json", "answers.csv"]);
    assert!(err.starts_with("needmap: s.csv: the file changed since the quiz was made"), "{err}");
    assert!(err.contains("the quiz was made on 2560875 bytes, aéééééééé…"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
