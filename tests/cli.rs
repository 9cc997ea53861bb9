//! The `needmap` binary as a user runs it: a fresh temp dir per test, exact error text
//! (error text is product), files read back after writing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{entries, fails, needmap, show};

fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    o
}

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const SMALL: &str = "household_id,lat,lon,household_size,monthly_income,has_water\n\
00501,-12.0500,-77.0500,4,300,no\n\
00502,-12.0501,-77.0501,5,250,no\n\
00503,-12.0502,-77.0500,6,280,no\n\
00504,-12.0500,-77.0502,3,320,no\n\
00505,-12.0503,-77.0503,7,200,no\n\
00506,-12.1000,-77.0000,2,3000,yes\n\
00507,-12.1001,-77.0001,2,2800,yes\n\
00508,-12.1500,-77.0200,3,2500,yes\n\
00509,-12.1502,-77.0202,2,2600,yes\n\
00510,-12.0900,-77.0100,2,2700,yes\n";

#[test]
fn bad_inputs_give_one_clear_message_and_no_output() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    write(p, "empty.csv", b"");
    write(p, "random.csv", &(0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>());
    write(p, "nocoords.csv", b"name,size\na,1\nb,2\n");
    write(p, "header_only.csv", b"id,lat,lon\n");
    write(p, "broken.geojson", b"{\"type\": \"FeatureCollection\", \"features\": [\n  {\"type\": \"Feature\",, }\n]}");
    write(p, "fake.xlsx", b"this is not a spreadsheet");
    std::fs::create_dir(p.join("adir")).unwrap();
    let cases: &[(&str, &str)] = &[
        ("empty.csv", "needmap: empty.csv: is empty; expected a header row and household records"),
        (
            "random.csv",
            "needmap: random.csv: is not a text file (it has NUL bytes); give a CSV, TSV, XLSX, GeoJSON or GeoParquet file",
        ),
        (
            "nocoords.csv",
            "needmap: nocoords.csv: no coordinate columns found; the columns are \"name\", \"size\". Name them with \
             --lat-column and --lon-column (a column of \"lat lon\" geopoints or WKT POINT(lon lat) can be named in both)",
        ),
        ("header_only.csv", "needmap: header_only.csv: has a header but no household records"),
        ("missing.csv", "needmap: missing.csv: no such file; check the path"),
        ("adir", "needmap: adir: is a directory; give a CSV, TSV, XLSX, GeoJSON or GeoParquet file"),
    ];
    for (file, want) in cases {
        for cmd in
            [&["run", file, "--out", "out"][..], &["cluster", file, "--out", "labels.csv"][..], &["inspect", file][..]]
        {
            let got = fails(p, cmd);
            assert_eq!(&got, want, "{cmd:?}");
        }
    }
    let got = fails(p, &["inspect", "broken.geojson"]);
    assert_eq!(got, "needmap: broken.geojson:2:22: is not valid GeoJSON: key must be a string");
    let got = fails(p, &["inspect", "fake.xlsx"]);
    assert!(got.starts_with("needmap: fake.xlsx: cannot be read as a spreadsheet"), "{got}");
    assert!(!p.join("out").exists() && !p.join("labels.csv").exists());
    assert!(entries(p).iter().all(|e| !e.contains("needmap-tmp")), "{:?}", entries(p));
}

#[test]
fn bad_rows_are_reported_with_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut body = SMALL.to_string();
    body += "00511,,-77.05,3,300,no\n"; // line 12: missing latitude
    body += "00512,-12\u{2c}0512,-77.05,3,300,no\n"; // line 13: decimal comma (quoted below)
    body += "00513,123.4,-77.05,3,300,no\n"; // line 14: out of range
    body += "00514,0,0,3,300,no\n"; // line 15: (0, 0)
    body += "00501,-12.05,-77.05,3,300,no\n"; // line 16: duplicate id
    body += "00516,-77.0500,-12.0500,3,300,no\n"; // line 17: swapped, flagged and kept
    let body = body.replace("-12,0512", "\"-12,0512\"");
    write(p, "s.csv", body.as_bytes());
    let o = ok(p, &["inspect", "s.csv", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rejects: Vec<(u64, u64, String)> = r["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["line"].as_u64().unwrap(), i["column"].as_u64().unwrap(), i["kind"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        rejects,
        vec![
            (12, 2, "missing_coordinate".into()),
            (13, 2, "decimal_comma".into()),
            (14, 2, "latitude_out_of_range".into()),
            (15, 2, "zero_zero".into()),
            (16, 1, "duplicate_id".into()),
        ]
    );
    assert_eq!(
        r["rejects"][1]["message"],
        "latitude \"-12,0512\" has a decimal comma; write it with a decimal point (\"-12.0512\")"
    );
    assert_eq!(r["rejects"][4]["message"], "duplicate id \"00501\": already used on line 2; the first one is kept");
    assert_eq!(r["accepted"], 11);
    let flags = r["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["kind"], "probable_swap");
    assert_eq!(flags[0]["line"], 17);
    // Ids stay text: leading zeros survive into the labels file.
    ok(p, &["cluster", "s.csv", "--out", "labels.csv", "--eps-m", "100", "--min-points", "3"]);
    let labels = std::fs::read_to_string(p.join("labels.csv")).unwrap();
    assert!(labels.starts_with("row,id,label\n1,00501,0\n2,00502,0\n"), "{labels}");
    assert_eq!(labels.lines().count(), 1 + 11);
}

#[test]
fn run_writes_every_output_and_reruns_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    write(p, "s.csv", SMALL.as_bytes());
    ok(p, &["run", "s.csv", "--out", "a", "--top-percent", "50", "--eps-m", "100", "--min-points", "3"]);
    assert_eq!(
        entries(&p.join("a")),
        [
            "analysis.toml",
            "households.csv",
            "needmap.gpkg",
            "report.json",
            "zones.csv",
            "zones.geojson",
            "zones.gpx",
            "zones.kml"
        ]
    );
    // The five poorest households, 20–60 m apart, form the only zone.
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("a/zones.geojson")).unwrap()).unwrap();
    let f = &gj["features"].as_array().unwrap()[..];
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["properties"]["households"], 5);
    assert_eq!(f[0]["properties"]["people"], 25.0);
    assert_eq!(f[0]["properties"]["rank"], 1);
    assert_eq!(f[0]["geometry"]["type"], "Polygon");
    let hh = std::fs::read_to_string(p.join("a/households.csv")).unwrap();
    let first = hh.lines().nth(1).unwrap();
    assert!(first.starts_with("00501,-12.0500,-77.0500,4,300,no,"), "input columns unchanged: {first}");
    assert!(first.ends_with(",true,0,0"), "{first}");
    // Rerun with the written analysis: identical outputs (timings aside).
    ok(p, &["run", "s.csv", "--out", "b", "--analysis", "a/analysis.toml"]);
    for f in ["zones.geojson", "households.csv", "zones.csv", "analysis.toml"] {
        assert_eq!(std::fs::read(p.join("a").join(f)).unwrap(), std::fs::read(p.join("b").join(f)).unwrap(), "{f}");
    }
    let strip = |f: &Path| {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("timings_ms");
        // The command line that made each run differs by its --out; the rest is identical.
        v.as_object_mut().unwrap().remove("command");
        v
    };
    assert_eq!(strip(&p.join("a/report.json")), strip(&p.join("b/report.json")));
    // An existing output is refused, and kept, without --force.
    let got = fails(p, &["run", "s.csv", "--out", "a"]);
    assert_eq!(got, "needmap: a: already exists; choose another output or pass --force to replace it");
    ok(p, &["run", "s.csv", "--out", "a", "--force", "--analysis", "a/analysis.toml"]);
    // The input is never an output.
    let got = fails(p, &["cluster", "s.csv", "--out", "s.csv", "--force"]);
    assert_eq!(got, "needmap: s.csv: is the input file; choose another output");
    assert_eq!(std::fs::read_to_string(p.join("s.csv")).unwrap(), SMALL);
}

/// Adjusted Rand index of two labelings (noise as one class), computed from scratch.
fn ari(a: &[i64], b: &[i64]) -> f64 {
    use std::collections::HashMap;
    let n = a.len() as f64;
    let mut joint: HashMap<(i64, i64), f64> = HashMap::new();
    let mut ra: HashMap<i64, f64> = HashMap::new();
    let mut rb: HashMap<i64, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1.0;
        *ra.entry(x).or_default() += 1.0;
        *rb.entry(y).or_default() += 1.0;
    }
    let c2 = |x: f64| x * (x - 1.0) / 2.0;
    let sj: f64 = joint.values().map(|&v| c2(v)).sum();
    let sa: f64 = ra.values().map(|&v| c2(v)).sum();
    let sb: f64 = rb.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n);
    (sj - expected) / (0.5 * (sa + sb) - expected)
}

#[test]
fn dbscan_agrees_with_scikit_learn_on_100k_households() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    let generated = Command::new("python3")
        .arg(bench.join("gen_households.py"))
        .args(["100000", "--seed", "42", "--out"])
        .arg(p.join("h.csv"))
        .output()
        .expect("python3 runs ../shared/bench/gen_households.py (needs numpy)");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    ok(p, &["cluster", "h.csv", "--method", "dbscan", "--eps-m", "150", "--min-points", "10", "--out", "labels.csv"]);
    let read = |f: &Path, col: usize| -> Vec<(String, i64)> {
        let text = std::fs::read_to_string(f).unwrap();
        let mut v: Vec<(String, i64)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let parts: Vec<&str> = l.split(',').collect();
                (parts[col - 1].to_string(), parts[col].parse().unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let ours = read(&p.join("labels.csv"), 2);
    let reference = read(&bench.join("ref_labels_100k.csv"), 1);
    assert_eq!(ours.len(), reference.len());
    assert!(ours.iter().zip(&reference).all(|(a, b)| a.0 == b.0), "same ids");
    let a: Vec<i64> = reference.iter().map(|x| x.1).collect();
    let b: Vec<i64> = ours.iter().map(|x| x.1).collect();
    let score = ari(&a, &b);
    assert!(score >= 0.999, "ARI {score}");
    let noise_ref = a.iter().filter(|&&l| l < 0).count();
    let noise_ours = b.iter().filter(|&&l| l < 0).count();
    assert!((noise_ref as i64 - noise_ours as i64).abs() < 50, "noise {noise_ours} vs {noise_ref}");
}

#[test]
fn help_names_every_subcommand() {
    let d = tempfile::tempdir().unwrap();
    let o = ok(d.path(), &["--help"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for sub in ["run", "cluster", "inspect"] {
        assert!(s.contains(&format!("  {sub} ")), "{s}");
    }
    let o = needmap(d.path(), &["run"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Labels file `row,id,label` → labels.
fn read_labels(path: &Path) -> Vec<(String, i64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn kmeans_and_hdbscan_label_every_household_of_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/kobo_encuesta_sjl.csv");
    let s = sample.to_str().unwrap();
    let o = ok(dir.path(), &["cluster", s, "--method", "kmeans", "--k", "6", "--seed", "3", "--out", "km.csv"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1500 households, 6 clusters, 0 noise, inertia "), "{err}");
    let km = read_labels(&dir.path().join("km.csv"));
    assert_eq!(km.len(), 1500);
    let mut used: Vec<i64> = km.iter().map(|x| x.1).collect();
    used.sort();
    used.dedup();
    assert_eq!(used, (0..6).collect::<Vec<_>>());
    // Same seed, same labels.
    ok(dir.path(), &["cluster", s, "--method", "kmeans", "--k", "6", "--seed", "3", "--out", "km2.csv"]);
    assert_eq!(km, read_labels(&dir.path().join("km2.csv")));

    ok(dir.path(), &["cluster", s, "--method", "hdbscan", "--min-cluster-size", "15", "--out", "hd.csv"]);
    let hd = read_labels(&dir.path().join("hd.csv"));
    assert_eq!(hd.len(), 1500);
    let clusters = hd.iter().map(|x| x.1).max().unwrap() + 1;
    let noise = hd.iter().filter(|x| x.1 < 0).count();
    // The four hillside settlements at least, and the scattered fifth of households mostly noise.
    assert!(clusters >= 4, "{clusters} clusters");
    assert!((100..1200).contains(&noise), "{noise} noise");
}

#[test]
fn a_file_without_indicators_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "only.csv", b"id,lat,lon\n1,-12.0,-77.0\n2,-12.0001,-77.0\n");
    let err = fails(dir.path(), &["run", "only.csv", "--out", "out"]);
    assert!(err.starts_with("needmap: only.csv: need index: no need indicators: none of the columns"), "{err}");
    assert_eq!(err.matches("no need indicators").count(), 1, "printed twice: {err}");
    assert!(!dir.path().join("out").exists());
}

/// `needmap inspect FILE | head` must stop quietly when `head` goes away, as ripgrep does
/// (issue 13: it panicked with "failed printing to stdout: Broken pipe").
#[test]
fn inspect_into_a_closed_pipe_exits_quietly() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let d = tempfile::tempdir().unwrap();
    // Thousands of rejected rows: a JSON report far larger than a pipe's buffer.
    let mut text = String::from("id,lat,lon\n");
    for i in 0..20_000 {
        text.push_str(&format!("{i},not-a-number,-77.0\n"));
    }
    text.push_str("ok,-12.0,-77.0\n");
    write(d.path(), "bad.csv", text.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_needmap"))
        .args(["inspect", "bad.csv", "--json"])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "{");
    // The reader is dropped here: the pipe closes with most of the report unwritten.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}, stderr {stderr}", out.status);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

/// Ctrl-C (SIGINT) or SIGTERM in the middle of a long `run`: it stops within seconds, exits
/// 130/143, and leaves no output folder and no temporary files.
#[cfg(unix)]
#[test]
fn an_interrupted_run_stops_quickly_and_leaves_nothing() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    // 200k households; k-means with k = 3,000 (its k-means++ start alone) runs far longer
    // than the test waits.
    let mut text = String::from("id,lat,lon,income\n");
    for i in 0..200_000u32 {
        let (a, b) = ((i % 1000) as f64 * 2.7e-5, (i / 1000) as f64 * 1.3e-4);
        text += &format!("{i},{:.6},{:.6},{}\n", -12.05 + a, -77.03 + b, 100 + i % 900);
    }
    std::fs::write(dir.path().join("big.csv"), text).unwrap();
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_needmap"))
            .args(["run", "big.csv", "--out", "out", "--method", "kmeans", "--k", "3000", "--all-households"])
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be interrupted");
        let sent = Instant::now();
        let kill = std::process::Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
        assert!(kill.unwrap().success());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(sent.elapsed() < Duration::from_secs(10), "still running 10 s after SIG{signal}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(common::entries(dir.path()), vec!["big.csv"], "SIG{signal} left files behind");
    }
}

/// Every setting needmap writes to analysis.toml loads again (the unknown-key check must know
/// them all), with every option set and every variant of the tagged settings.
#[test]
fn every_setting_needmap_writes_loads_again() {
    use needmap::analysis::{Analysis, Candidates};
    use needmap::need::{Indicator, Selection, Transform};
    use needmap::zones::Hull;
    let d = tempfile::tempdir().unwrap();
    let mut a = Analysis::default();
    a.input.path = Some("s.csv".into());
    a.input.people_column = Some("household_size".into());
    a.input.options.lat_column = Some("lat".into());
    a.input.options.lon_column = Some("lon".into());
    a.input.options.id_column = Some("household_id".into());
    a.input.options.sheet = Some("Hogares".into());
    a.input.options.accuracy_cutoff_m = Some(25.0);
    let mut ind =
        Indicator { column: "water".into(), transform: Transform::Cutoff, cutoff: Some(0.5), ..Default::default() };
    ind.categories.insert("rio".into(), 1.0);
    a.need.indicators = vec![ind];
    a.cluster.eps_m = Some(150.0);
    a.cluster.min_points = Some(4);
    a.cluster.households = Candidates::All;
    a.sites = Some(needmap::sites::SitesParams {
        grid_m: Some(100.0),
        candidates_file: Some("c.csv".into()),
        existing_file: Some("e.csv".into()),
        ..Default::default()
    });
    a.hotspots = Some(needmap::hotspots::HotspotParams { band_m: Some(300.0), ..Default::default() });
    a.audit = Some(needmap::audit::AuditParams { groups: vec!["head_sex".into()], ..Default::default() });
    for (i, (sel, hull)) in [
        (Selection::TopPercent { percent: 20.0 }, Hull::Convex),
        (Selection::Threshold { min_score: 0.6 }, Hull::Concave { concavity: 2.0 }),
        (Selection::All, Hull::Convex),
    ]
    .into_iter()
    .enumerate()
    {
        a.selection = sel;
        a.zones.hull = hull;
        let p = write(d.path(), &format!("a{i}.toml"), a.to_toml().as_bytes());
        assert_eq!(Analysis::load(&p).unwrap_or_else(|e| panic!("{e}\n{}", a.to_toml())), a);
    }
}

/// A misspelt setting is refused with the file, line and column, and the closest known key.
#[test]
fn a_misspelt_setting_names_the_toml_and_the_closest_key() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    write(p, "s.csv", SMALL.as_bytes());
    write(p, "a.toml", b"[cluster]\nmethod = \"dbscan\"\nepss = 150\n");
    let e = fails(p, &["run", "s.csv", "--analysis", "a.toml", "--out", "o"]);
    assert!(e.contains("a.toml:3:1: unknown setting `epss` in [cluster]; did you mean `eps_m`?"), "{e}");
    write(p, "b.toml", b"[selection]\nrule = \"all\"\n\n[clustr]\n");
    let e = fails(p, &["run", "s.csv", "--analysis", "b.toml", "--out", "o"]);
    assert!(e.contains("b.toml:4:2: unknown section [clustr]; did you mean [cluster]?"), "{e}");
    assert!(!p.join("o").exists());
}

/// Fuzzing regression (`analysis_toml`, tests/corpus/fuzz_nan_category.toml): a `nan` category
/// score loaded, and the analysis did not equal itself after `to_toml`. `nan`/`inf` are refused.
#[test]
fn fuzz_nan_in_analysis_toml_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/fuzz_nan_category.toml");
    let e = needmap::analysis::Analysis::load(&path).unwrap_err().to_string();
    assert!(e.contains("fuzz_nan_category.toml:154:11: `parquet` must be a finite number, not nan"), "{e}");
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "w.toml", b"[cluster]\neps_m = -inf\n");
    let e = needmap::analysis::Analysis::load(&p).unwrap_err().to_string();
    assert!(e.contains("w.toml:2:9: `eps_m` must be a finite number, not -inf"), "{e}");
}

/// SIGINT at national scale: 10M households (generated with ../shared/bench), interrupted
/// during the import, the need index, the clustering and the zones, and while the outputs are
/// written; each time it exits 130 within 10 s (about a second on an idle machine: the times
/// are printed) and leaves nothing but the input. Slow and needs ~2 GB of memory, so ignored
/// by default:
///
/// ```sh
/// [NEEDMAP_H10M=/tmp/needmap_bench/h10m_tiled.csv] cargo test --release --no-default-features \
///     --test cli ten_million_households_interrupted -- --ignored --nocapture
/// ```
#[cfg(unix)]
#[test]
#[ignore = "10M households: run with --ignored (release recommended)"]
fn ten_million_households_interrupted() {
    use std::io::Write as _;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("h10m.csv");
    match std::env::var_os("NEEDMAP_H10M") {
        // An existing file (e.g. scripts/bench_peers.py's /tmp/needmap_bench/h10m_tiled.csv),
        // copied so that the test's folder holds nothing else.
        Some(f) => {
            std::fs::copy(&f, &input).unwrap_or_else(|e| panic!("NEEDMAP_H10M={f:?}: {e}"));
        }
        // The generator makes at most 5M households: two 5M parts, ids renumbered (as
        // scripts/bench_peers.py does).
        None => {
            let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_households.py");
            let mut out = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
            for part in 0..2u64 {
                let piece = dir.path().join(format!("part{part}.csv"));
                let made = Command::new("python3")
                    .arg(&generator)
                    .args(["5000000", "--layout", "tiled", "--seed", &(42 + part).to_string(), "--out"])
                    .arg(&piece)
                    .status();
                assert!(
                    made.is_ok_and(|s| s.success()),
                    "python3 with numpy is needed to generate the households ({})",
                    generator.display()
                );
                let text = std::fs::read_to_string(&piece).unwrap();
                let mut lines = text.lines();
                let header = lines.next().unwrap();
                if part == 0 {
                    writeln!(out, "{header}").unwrap();
                }
                for l in lines {
                    let (id, rest) = l.split_once(',').unwrap();
                    writeln!(out, "{},{rest}", id.parse::<u64>().unwrap() + part * 5_000_000).unwrap();
                }
                std::fs::remove_file(piece).unwrap();
            }
            std::io::Write::flush(&mut out).unwrap();
        }
    }
    for wait in [2, 5, 8, 11, 16].map(Duration::from_secs) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_needmap"))
            .args(["run", "h10m.csv", "--out", "out"])
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(wait);
        if child.try_wait().unwrap().is_some() {
            eprintln!("the run ended within {wait:?}; nothing to interrupt");
            continue;
        }
        let sent = Instant::now();
        assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(sent.elapsed() < Duration::from_secs(10), "still running 10 s after SIGINT ({wait:?} in)");
            std::thread::sleep(Duration::from_millis(50));
        };
        eprintln!("interrupted {wait:?} in: stopped after {:?}", sent.elapsed());
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(130), "{err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(common::entries(dir.path()), vec!["h10m.csv"], "SIGINT {wait:?} in left files behind");
    }
}

/// `needmap cluster` keeps only what its labels need (no lat/lon, people only for
/// --weight-by-people) and lets DBSCAN sort the imported points in place: its labels must be
/// those of `analysis::cluster_stage` on a full import, which works on a sorted copy.
#[test]
fn cluster_labels_are_the_cluster_stage_s_on_a_full_import() {
    use needmap::analysis::{self, Analysis, Candidates};
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv");
    let s = sample.to_str().unwrap();
    let imp =
        analysis::import_stage(&sample, &Analysis::default().input, &needmap::data::Keep::All, &Default::default())
            .unwrap();
    let scored = analysis::unscored(imp.households.len());
    for (flags, weighted) in [(&[][..], false), (&["--weight-by-people"][..], true)] {
        let mut args = vec!["cluster", s, "--eps-m", "60", "--min-points", "12", "--out", "l.csv", "--force"];
        args.extend_from_slice(flags);
        ok(dir.path(), &args);
        let mut cfg = Analysis::default().cluster;
        cfg.households = Candidates::All;
        cfg.eps_m = Some(60.0);
        cfg.min_points = Some(12);
        cfg.weight_by_people = weighted;
        let want = analysis::cluster_stage(&imp, &scored, &cfg, &Default::default()).unwrap().labels;
        let got: Vec<i32> = read_labels(&dir.path().join("l.csv")).iter().map(|x| x.1 as i32).collect();
        assert_eq!(got, want, "{flags:?}");
        assert!(want.iter().any(|&l| l >= 3) && want.contains(&-1), "a meaningful case: {flags:?}");
    }
}
