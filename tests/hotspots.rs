//! Hot spots (Getis-Ord Gi* with Benjamini–Hochberg): the core against a brute-force oracle
//! written from the formula (haversine distances over all n² pairs, its own normal tail and
//! its own step-up procedure), named edge cases, and the `needmap hotspots` command.

use needmap::hotspots::{HotspotError, HotspotParams, gi_star, hotspots};
use needmap::progress::Progress;
use needmap::sphere::{Xyz, distance_m, xyz_from_lonlat};

/// A small deterministic generator (xorshift64*), so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Households in three places — Lima, across the antimeridian in Fiji, near the North Pole —
/// with duplicate coordinates, need rising towards one corner of each place, and a few
/// missing values.
fn survey(seed: u64, n: usize) -> (Vec<(f64, f64)>, Vec<f64>) {
    let mut rng = Rng(seed);
    let mut ll = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let (lon0, lat0, span) = match i % 3 {
            0 => (-77.03, -12.05, 0.03),
            1 => (180.0, -17.0, 0.03),
            _ => (10.0, 89.99, 0.3),
        };
        let (a, b) = (rng.next(), rng.next());
        let (mut lon, lat) = (lon0 + (a - 0.5) * span, lat0 + (b - 0.5) * span * 0.2);
        if lon > 180.0 {
            lon -= 360.0;
        }
        if i % 17 == 5 && !ll.is_empty() {
            // A duplicate of an earlier household's coordinates.
            let j = (rng.next() * ll.len() as f64) as usize;
            ll.push(ll[j]);
        } else {
            ll.push((lon, lat));
        }
        let value = if i % 41 == 7 { f64::NAN } else { 3.0 * a * b + rng.next() };
        v.push(value);
    }
    (ll, v)
}

/// Standard normal upper tail by Simpson's rule on the density (independent of erfc).
fn upper_tail(z: f64) -> f64 {
    let z = z.abs();
    let (a, b) = (z, z + 40.0);
    let m = 40_000;
    let h = (b - a) / m as f64;
    let f = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mut s = f(a) + f(b);
    for k in 1..m {
        s += f(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

struct Oracle {
    z: Vec<Option<f64>>,
    p: Vec<Option<f64>>,
    w: Vec<u32>,
    hot: Vec<i8>,
}

/// Gi* straight from the formula over all pairs.
fn oracle(ll: &[(f64, f64)], v: &[f64], band_m: f64, q: f64) -> Oracle {
    let n_all = ll.len();
    let have: Vec<usize> = (0..n_all).filter(|&i| v[i].is_finite()).collect();
    let n = have.len() as f64;
    let mean = have.iter().map(|&i| v[i]).sum::<f64>() / n;
    let s = (have.iter().map(|&i| (v[i] - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut z = vec![None; n_all];
    let mut w = vec![0u32; n_all];
    for &i in &have {
        let mut wi = 0.0;
        let mut sum = 0.0;
        for &j in &have {
            if distance_m(ll[i].0, ll[i].1, ll[j].0, ll[j].1) <= band_m {
                wi += 1.0;
                sum += v[j];
            }
        }
        w[i] = wi as u32;
        if wi > 1.0 && wi < n {
            z[i] = Some((sum - mean * wi) / (s * ((n * wi - wi * wi) / (n - 1.0)).sqrt()));
        }
    }
    let p: Vec<Option<f64>> = z.iter().map(|z| z.map(|z| 2.0 * upper_tail(z))).collect();
    // Benjamini–Hochberg: reject the k smallest, k the largest rank with p(k) ≤ k q / m.
    let mut tested: Vec<(f64, usize)> = p.iter().enumerate().filter_map(|(i, p)| p.map(|p| (p, i))).collect();
    tested.sort_by(|a, b| a.0.total_cmp(&b.0));
    let m = tested.len() as f64;
    let k = (0..tested.len()).rev().find(|&k| tested[k].0 <= (k + 1) as f64 * q / m).map_or(0, |k| k + 1);
    let mut hot = vec![0i8; n_all];
    for &(_, i) in &tested[..k] {
        hot[i] = if z[i].unwrap() > 0.0 { 1 } else { -1 };
    }
    Oracle { z, p, w, hot }
}

fn xyz(ll: &[(f64, f64)]) -> Vec<Xyz> {
    ll.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect()
}

#[test]
fn gi_star_matches_brute_force_oracle_across_antimeridian_and_pole() {
    for (seed, n, band_m) in [(1, 900, 400.0), (2, 1500, 250.0), (3, 600, 1_200.0)] {
        let (ll, v) = survey(seed, n);
        let got = gi_star(&xyz(&ll), &v, band_m, 0.05, &Progress::new()).unwrap();
        let want = oracle(&ll, &v, band_m, 0.05);
        assert_eq!(got.neighbours, want.w, "seed {seed}");
        for i in 0..n {
            match (got.z[i], want.z[i]) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "z[{i}] {a} vs {b}"),
                (None, None) => {}
                (a, b) => panic!("seed {seed}, household {i}: z {a:?} vs {b:?}"),
            }
            match (got.p[i], want.p[i]) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-11 + 1e-8 * b, "p[{i}] {a} vs {b}"),
                (None, None) => {}
                (a, b) => panic!("seed {seed}, household {i}: p {a:?} vs {b:?}"),
            }
        }
        assert_eq!(got.hot, want.hot, "seed {seed}");
        let c = got.counts;
        assert!(c.hot > 0 && c.cold > 0, "seed {seed}: the data has hot and cold places: {c:?}");
        assert_eq!(c.hot + c.cold + c.not_significant, c.tested);
        assert_eq!(c.tested + c.not_tested(), n);
        assert_eq!(c.missing_value, v.iter().filter(|x| x.is_nan()).count());
        // Neighbours across the antimeridian count: some Fiji household east of 180° has one west of it.
        let across = (0..n).any(|i| {
            ll[i].0 > 179.99
                && (0..n).any(|j| ll[j].0 < -179.99 && distance_m(ll[i].0, ll[i].1, ll[j].0, ll[j].1) <= band_m)
        });
        assert!(across, "seed {seed}: the data crosses the antimeridian");
    }
}

#[test]
fn same_output_with_one_and_two_threads() {
    let (ll, v) = survey(7, 20_000);
    let pts = xyz(&ll);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| hotspots(&pts, &v, &HotspotParams::default(), &Progress::new()).unwrap())
    };
    let one = run(1);
    let two = run(2);
    assert!(one == two, "results differ between 1 and 2 threads");
    assert!(one.band_note.contains("suggested"), "{}", one.band_note);
}

#[test]
fn zero_variance_is_an_error_that_says_so() {
    let pts: Vec<Xyz> = (0..20).map(|i| xyz_from_lonlat(-77.0 + i as f64 * 1e-4, -12.0)).collect();
    let v = vec![0.1; 20];
    let e = gi_star(&pts, &v, 100.0, 0.05, &Progress::new()).unwrap_err();
    assert_eq!(e, HotspotError::ZeroVariance { value: 0.1, n: 20 });
    assert_eq!(
        e.to_string(),
        "the value is 0.1 for all 20 households that have one: Gi* compares each neighbourhood with the whole \
         survey and needs a value that varies; choose another value"
    );
    // A missing value does not make it vary.
    let mut v = v;
    v[3] = f64::NAN;
    assert_eq!(
        gi_star(&pts, &v, 100.0, 0.05, &Progress::new()).unwrap_err(),
        HotspotError::ZeroVariance { value: 0.1, n: 19 }
    );
}

#[test]
fn isolated_household_is_not_tested_and_counted() {
    // Nine households in a 30 m row, one 5 km away.
    let mut pts: Vec<Xyz> = (0..9).map(|i| xyz_from_lonlat(-77.0 + i as f64 * 3e-5, -12.0)).collect();
    pts.push(xyz_from_lonlat(-76.95, -12.0));
    let v: Vec<f64> = (0..10).map(|i| i as f64).collect();
    let r = gi_star(&pts, &v, 100.0, 0.05, &Progress::new()).unwrap();
    assert_eq!(r.neighbours[9], 1);
    assert_eq!((r.z[9], r.p[9], r.hot[9], r.bin[9]), (None, None, 0, 0));
    assert_eq!(r.counts.isolated, 1);
    assert_eq!(r.counts.tested, 9);
    assert!(
        r.notes.iter().any(|n| n.starts_with("1 households have no other household within 100 m")),
        "{:?}",
        r.notes
    );
    assert!(r.z[..9].iter().all(|z| z.is_some_and(f64::is_finite)));
}

#[test]
fn band_holding_everyone_is_not_tested() {
    let pts: Vec<Xyz> = (0..5).map(|i| xyz_from_lonlat(i as f64 * 1e-4, 0.0)).collect();
    let r = gi_star(&pts, &[1.0, 2.0, 3.0, 4.0, 5.0], 10_000.0, 0.05, &Progress::new()).unwrap();
    assert_eq!(r.counts.whole_band, 5);
    assert_eq!(r.counts.tested, 0);
    assert!(r.z.iter().all(Option::is_none) && r.hot.iter().all(|&h| h == 0));
    assert_eq!(r.p_cutoff, None);
    assert!(r.notes[0].contains("every household within 10000 m"), "{:?}", r.notes);
}

#[test]
fn a_band_over_half_the_earth_is_whole_band_not_a_panic() {
    let pts = [xyz_from_lonlat(0.0, 0.0), xyz_from_lonlat(180.0, 0.0), xyz_from_lonlat(90.0, 45.0)];
    let r = gi_star(&pts, &[1.0, 2.0, 4.0], 3.0e7, 0.05, &Progress::new()).unwrap();
    assert_eq!(r.neighbours, [3, 3, 3]);
    assert_eq!(r.counts.whole_band, 3);
}

// ---------------------------------------------------------------------------------------
// The command line.

use std::path::Path;

mod common;
use common::{fails, needmap, show};

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 1 and exactly one `needmap: ` line on stderr, returned.
/// Three villages 50 km apart: high, low and middling values; one household with no value,
/// and one record rejected (no latitude) so that `row` skips it.
fn villages() -> String {
    let mut s = String::from("hh_id,lat,lon,x,roof\n");
    let mut k = 0;
    for (lon0, base, count) in [(-77.0, 9.0, 10), (-76.5, 1.0, 10), (-76.0, 5.0, 11)] {
        for i in 0..count {
            k += 1;
            let x = if count == 11 && i == 10 { String::new() } else { format!("{}", base + (i % 3) as f64 * 0.5) };
            s += &format!("{:04},-12.{:04},{},{x},tin\n", k, i * 3, lon0 + i as f64 * 0.0003);
            if k == 2 {
                s += "bad,,-77.0,1,tin\n";
            }
        }
    }
    s
}

#[test]
fn hotspots_command_writes_the_contract_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("v.csv"), villages()).unwrap();
    let err = ok(p, &["hotspots", "v.csv", "--value", "x", "--band-m", "500", "--out", "hot.csv"]);
    assert_eq!(
        err,
        "needmap: rejected: v.csv:4:2: latitude is missing\n\
         needmap: note: 1 households have no value (missing or not a number) and are left out of the test: no z, p \
         or neighbours, hot 0\n\
         needmap: 31 households, band 500 m, 10 hot, 10 cold, 11 not significant (1 of them not tested), FDR q \
         0.05 → hot.csv\n"
    );
    let text = std::fs::read_to_string(p.join("hot.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row,id,z,p,hot,neighbours,bin");
    assert_eq!(lines.len(), 1 + 31);
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    // Record 3 is the rejected one: rows go 1, 2, 4, …; ids keep their leading zeros.
    assert_eq!((rows[1][0], rows[1][1]), ("2", "0002"));
    assert_eq!((rows[2][0], rows[2][1]), ("4", "0003"));
    for r in &rows[..10] {
        assert_eq!((r[4], r[5], r[6]), ("1", "10", "3"), "{r:?}");
        assert!(r[2].parse::<f64>().unwrap() > 3.0);
    }
    for r in &rows[10..20] {
        assert_eq!((r[4], r[5], r[6]), ("-1", "10", "-3"), "{r:?}");
    }
    for r in &rows[20..30] {
        assert_eq!(r[4], "0", "{r:?}");
        assert_eq!(r[5], "10", "{r:?}");
    }
    // The household with no value: no z, no p, not anyone's neighbour.
    assert_eq!(rows[30], ["32", "0031", "", "", "0", "0", "0"]);
    // Same numbers with one thread.
    ok(p, &["hotspots", "v.csv", "--value", "x", "--band-m", "500", "--threads", "1", "--out", "hot1.csv"]);
    assert_eq!(std::fs::read(p.join("hot1.csv")).unwrap(), text.as_bytes());
}

#[test]
fn hotspots_command_bad_input_gives_one_line_and_no_output() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("v.csv"), villages()).unwrap();
    std::fs::write(p.join("flat.csv"), "id,lat,lon,x\n1,-12.0,-77.0,3\n2,-12.001,-77.0,3\n3,-12.002,-77.0,3\n")
        .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["v.csv", "--value", "nope"],
            "needmap: v.csv: hot spots: column \"nope\" is not in the file; `needmap inspect v.csv` lists its \
             columns (or use --value need)",
        ),
        (
            &["v.csv", "--value", "roof"],
            "needmap: v.csv: hot spots: column \"roof\" is not numeric (it holds categories); choose a numeric \
             column or --value need",
        ),
        (
            &["v.csv", "--value", "x", "--band-m", "0"],
            "needmap: v.csv: hot spots: band 0 m: the band must be a positive number of metres",
        ),
        (
            &["v.csv", "--value", "x", "--band-m", "-5"],
            "needmap: v.csv: hot spots: band -5 m: the band must be a positive number of metres",
        ),
        (
            &["v.csv", "--value", "x", "--fdr", "1"],
            "needmap: v.csv: hot spots: FDR q 1: the false discovery rate must be between 0 and 1, e.g. 0.05",
        ),
        (
            &["flat.csv", "--value", "x", "--band-m", "500"],
            "needmap: flat.csv: hot spots on column \"x\": the value is 3 for all 3 households that have one: Gi* \
             compares each neighbourhood with the whole survey and needs a value that varies; choose another value",
        ),
    ];
    for (args, want) in cases {
        let mut a = vec!["hotspots"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--out", "hot.csv"]);
        assert_eq!(&fails(p, &a), want, "{a:?}");
        assert!(!p.join("hot.csv").exists());
    }
    let names: Vec<String> =
        std::fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("needmap-tmp")), "{names:?}");
}

#[test]
fn run_with_a_hotspots_section_writes_them_and_reruns_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/kobo_encuesta_sjl.csv");
    std::fs::copy(&sample, p.join("k.csv")).unwrap();
    std::fs::write(p.join("a.toml"), "[hotspots]\nvalue = \"need\"\n").unwrap();
    let err = ok(p, &["run", "k.csv", "--analysis", "a.toml", "--out", "a"]);
    assert!(err.contains("needmap: band 1500 m suggested: the smallest distance at which every household"), "{err}");
    assert!(err.contains("needmap: hot spots: band 1500 m, "), "{err}");
    let written = std::fs::read_to_string(p.join("a/analysis.toml")).unwrap();
    assert!(written.ends_with("[hotspots]\nvalue = \"need\"\nband_m = 1500.0\nfdr = 0.05\n"), "{written}");
    // The same table as the hotspots command.
    ok(p, &["hotspots", "k.csv", "--out", "hot.csv"]);
    assert_eq!(std::fs::read(p.join("a/hotspots.csv")).unwrap(), std::fs::read(p.join("hot.csv")).unwrap());
    let hh = std::fs::read_to_string(p.join("a/households.csv")).unwrap();
    assert!(hh.lines().next().unwrap().ends_with(",need,critical,cluster,zone,gi_z,hot"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("a/report.json")).unwrap()).unwrap();
    let h = &report["hotspots"];
    assert_eq!(
        (h["band_m"].as_f64(), h["fdr"].as_f64(), h["value"].as_str()),
        (Some(1500.0), Some(0.05), Some("need"))
    );
    let c = &h["counts"];
    assert_eq!(c["households"], 1500);
    assert_eq!(
        c["hot"].as_u64().unwrap() + c["cold"].as_u64().unwrap() + c["not_significant"].as_u64().unwrap(),
        c["tested"].as_u64().unwrap()
    );
    let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().unwrap().as_str(), "timings_ms");

    ok(p, &["run", "k.csv", "--analysis", "a/analysis.toml", "--out", "b"]);
    for f in ["analysis.toml", "households.csv", "hotspots.csv", "zones.csv", "zones.geojson"] {
        assert!(std::fs::read(p.join("a").join(f)).unwrap() == std::fs::read(p.join("b").join(f)).unwrap(), "{f}");
    }
    // The report differs only in timings and in how eps and the band were chosen (now given).
    let strip = |f: &Path| {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("timings_ms");
        v.as_object_mut().unwrap().remove("command");
        v["cluster"].as_object_mut().unwrap().remove("suggested");
        v["hotspots"].as_object_mut().unwrap().remove("band_rule");
        v
    };
    assert_eq!(strip(&p.join("a/report.json")), strip(&p.join("b/report.json")));
}
