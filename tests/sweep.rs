//! `needmap sweep`: every row is what `needmap cluster` gives with that setting, and the
//! stability column is the adjusted Rand index of the two label files, computed here.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{fails, needmap, show};

const LIMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data/lima_households.csv");

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn table(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records().map(|rec| h.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect()).collect()
}

fn labels(dir: &Path, eps: &str, min_points: &str) -> Vec<i32> {
    let out = format!("c_{eps}_{min_points}.csv");
    ok(dir, &["cluster", LIMA, "--eps-m", eps, "--min-points", min_points, "--out", &out]);
    table(&dir.join(out)).iter().map(|r| r["label"].parse().unwrap()).collect()
}

/// The adjusted Rand index, written out from its definition (pair counts).
fn ari(a: &[i32], b: &[i32]) -> f64 {
    let pairs = |x: f64| x * (x - 1.0) / 2.0;
    let mut nij: HashMap<(i32, i32), f64> = HashMap::new();
    let (mut ai, mut bj): (HashMap<i32, f64>, HashMap<i32, f64>) = Default::default();
    for (&x, &y) in a.iter().zip(b) {
        *nij.entry((x, y)).or_default() += 1.0;
        *ai.entry(x).or_default() += 1.0;
        *bj.entry(y).or_default() += 1.0;
    }
    let sum_ij: f64 = nij.values().map(|&v| pairs(v)).sum();
    let (sa, sb): (f64, f64) = (ai.values().map(|&v| pairs(v)).sum(), bj.values().map(|&v| pairs(v)).sum());
    let expected = sa * sb / pairs(a.len() as f64);
    (sum_ij - expected) / ((sa + sb) / 2.0 - expected)
}

#[test]
fn each_dbscan_row_is_the_cluster_commands_result_and_ari_compares_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let err = ok(dir.path(), &["sweep", LIMA, "--eps-m", "150:250:100", "--min-points", "8,12", "--out", "s.csv"]);
    assert!(err.contains("4 settings on 20223 households"), "{err}");
    let rows = table(&dir.path().join("s.csv"));
    let order: Vec<(String, String)> = rows.iter().map(|r| (r["eps_m"].clone(), r["min_points"].clone())).collect();
    assert_eq!(
        order,
        [("150", "8"), ("250", "8"), ("150", "12"), ("250", "12")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let mut runs = HashMap::new();
    for (eps, mp) in &order {
        let l = labels(dir.path(), eps, mp);
        let row = rows.iter().find(|r| &r["eps_m"] == eps && &r["min_points"] == mp).unwrap();
        let mut clusters: Vec<i32> = l.iter().copied().filter(|&x| x >= 0).collect();
        clusters.sort_unstable();
        clusters.dedup();
        let noise = l.iter().filter(|&&x| x < 0).count();
        assert_eq!(row["clusters"], clusters.len().to_string(), "{eps} m, {mp}");
        assert_eq!(row["noise"], noise.to_string(), "{eps} m, {mp}");
        let share: f64 = row["noise_share"].parse().unwrap();
        assert!((share - noise as f64 / l.len() as f64).abs() < 1e-6);
        runs.insert((eps.clone(), mp.clone()), l);
    }
    let at = |e: &str, m: &str| &runs[&(e.to_string(), m.to_string())];
    let close = |cell: &str, want: f64| (cell.parse::<f64>().unwrap() - want).abs() < 1e-6;
    assert_eq!(rows[0]["ari_prev_eps"], "");
    assert!(close(&rows[1]["ari_prev_eps"], ari(at("150", "8"), at("250", "8"))));
    assert!(close(&rows[2]["ari_prev_min_points"], ari(at("150", "8"), at("150", "12"))));
    assert!(close(&rows[3]["ari_prev_eps"], ari(at("150", "12"), at("250", "12"))));
}

#[test]
fn kmeans_rows_carry_the_cluster_commands_inertia_and_a_silhouette() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["sweep", LIMA, "--method", "kmeans", "--k", "8:10:2", "--sample", "500", "--out", "k.csv"]);
    let rows = table(&dir.path().join("k.csv"));
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let err = ok(
            dir.path(),
            &["cluster", LIMA, "--method", "kmeans", "--k", &r["k"], "--out", &format!("k{}.csv", r["k"])],
        );
        let inertia: f64 = err.split("inertia ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let ours: f64 = r["inertia_m2"].parse().unwrap();
        assert!((ours - inertia).abs() / inertia < 1e-6, "k {}: {ours} vs {inertia}", r["k"]);
        let s: f64 = r["silhouette"].parse().unwrap();
        assert!((-1.0..=1.0).contains(&s) && s > 0.2, "k {}: silhouette {s}", r["k"]);
        assert_eq!(r["silhouette_sample"], "500");
    }
}

#[test]
fn bad_ranges_are_refused_with_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["sweep", LIMA, "--eps-m", "400:50:25", "--out", "s.csv"]);
    assert!(err.contains("--eps-m") && err.contains("FROM:TO:STEP"), "{err}");
    let err = fails(dir.path(), &["sweep", LIMA, "--min-points", "2.5", "--out", "s.csv"]);
    assert!(err.contains("not a whole number"), "{err}");
    assert!(!dir.path().join("s.csv").exists());
}
