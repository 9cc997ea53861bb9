//! What a new user met on their first try (issue 13, "friction"), each fixed and pinned here:
//! indicators named on the command line, points with no indicators, `;` files with decimal
//! commas, zero-padded codes, and a recognised indicator whose values are text.

mod common;

use std::path::Path;

use common::{fails, needmap, show};

/// Three tight groups of households around Lima (50, 30 and 12 households), with an income
/// that is lowest in the middle group, a zero-padded district code and an id.
fn households() -> Vec<(usize, f64, f64, u32, &'static str)> {
    let groups = [(-12.05, -77.03, 50, 900), (-12.10, -77.00, 30, 150), (-12.00, -77.08, 12, 500)];
    let mut out = Vec::new();
    for (g, &(lat, lon, n, income)) in groups.iter().enumerate() {
        for k in 0..n {
            // A small spiral: every household within ~120 m of its group's centre.
            let a = k as f64 * 2.4;
            let r = 0.0002 + 0.00002 * k as f64;
            let district = ["00501", "00502", "01003"][g];
            out.push((out.len() + 1, lat + r * a.sin(), lon + r * a.cos(), income + (k as u32 % 7) * 10, district));
        }
    }
    out
}

fn write_csv(dir: &Path, name: &str, delimiter: char, decimal: char) {
    let num = |v: f64| format!("{v:.6}").replace('.', &decimal.to_string());
    let mut text = format!("id{d}lat{d}lon{d}ingreso{d}district_code\n", d = delimiter);
    for (id, lat, lon, income, code) in households() {
        text += &format!("{id}{d}{}{d}{}{d}{income}{d}{code}\n", num(lat), num(lon), d = delimiter);
    }
    std::fs::write(dir.join(name), text).unwrap();
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(|r| r.unwrap()).collect()
}

fn column(path: &Path, name: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let i = r.headers().unwrap().iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    r.records().map(|rec| rec.unwrap()[i].to_string()).collect()
}

#[test]
fn a_semicolon_file_with_decimal_commas_reads_like_the_same_file_with_points() {
    let dir = tempfile::tempdir().unwrap();
    write_csv(dir.path(), "points.csv", ',', '.');
    write_csv(dir.path(), "excel.csv", ';', ',');
    ok(dir.path(), &["run", "points.csv", "--out", "a", "--eps-m", "300", "--min-points", "5"]);
    ok(dir.path(), &["run", "excel.csv", "--out", "b", "--eps-m", "300", "--min-points", "5"]);
    let (a, b) = (csv_rows(&dir.path().join("a/households.csv")), csv_rows(&dir.path().join("b/households.csv")));
    assert_eq!(a.len(), households().len());
    assert_eq!(a, b, "the ;/decimal-comma file must give the same households, scores and zones");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a/zones.csv")).unwrap(),
        std::fs::read_to_string(dir.path().join("b/zones.csv")).unwrap()
    );
    // The report says what was done.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("b/report.json")).unwrap()).unwrap();
    let notes = report["import"]["notes"].to_string();
    assert!(notes.contains(&format!("{} values written with a decimal comma", 2 * households().len())), "{notes}");
    // A comma-delimited file never guesses: its decimal commas are still refused by line.
    std::fs::write(dir.path().join("mixed.csv"), "id,lat,lon\n1,\"-12,05\",-77.03\n2,-12.06,-77.04\n").unwrap();
    let o = needmap(dir.path(), &["inspect", "mixed.csv"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("mixed.csv:2:2"), "{}", show(&["inspect"], &o));
}

#[test]
fn zero_padded_codes_stay_text_and_keep_their_zeros() {
    let dir = tempfile::tempdir().unwrap();
    write_csv(dir.path(), "h.csv", ',', '.');
    let o = needmap(dir.path(), &["inspect", "h.csv", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let col = report["columns"].as_array().unwrap().iter().find(|c| c["name"] == "district_code").unwrap();
    assert_ne!(col["kind"], "number", "{col}");
    ok(dir.path(), &["run", "h.csv", "--out", "r"]);
    let codes = column(&dir.path().join("r/households.csv"), "district_code");
    let expected: Vec<String> = households().iter().map(|h| h.4.to_string()).collect();
    assert_eq!(codes, expected);
}

#[test]
fn indicators_named_on_the_command_line_replace_the_recognised_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_csv(dir.path(), "h.csv", ',', '.');
    // "ingreso" is recognised (lower is worse); name it the other way round with weight 2.
    ok(dir.path(), &["run", "h.csv", "--out", "r", "--indicator", "ingreso:higher:2", "--top-percent", "50"]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/report.json")).unwrap()).unwrap();
    let ind = &report["need"]["indicators"][0]["indicator"];
    assert_eq!(ind["column"], "ingreso");
    assert_eq!(ind["direction"], "higher_is_worse");
    assert_eq!(ind["weight"], 2.0);
    // Higher income = more need now: the 50-household group (income ≥ 900) is the critical one.
    let need: Vec<f64> =
        column(&dir.path().join("r/households.csv"), "need").iter().map(|v| v.parse().unwrap()).collect();
    let income: Vec<u32> = households().iter().map(|h| h.3).collect();
    for i in 0..need.len() {
        for j in 0..need.len() {
            if income[i] > income[j] {
                assert!(need[i] > need[j], "household {} (income {}) vs {}", i + 1, income[i], j + 1);
            }
        }
    }
    // A bad spec and an absent column are refused with what to write.
    let err = fails(dir.path(), &["run", "h.csv", "--out", "x", "--indicator", "ingreso:sideways"]);
    assert!(err.contains("should be higher, lower or a weight"), "{err}");
    let err = fails(dir.path(), &["run", "h.csv", "--out", "x", "--indicator", "salary"]);
    assert!(err.contains("\"salary\" is not in the file"), "{err}");
    assert!(!dir.path().join("x").exists());
}

#[test]
fn points_without_indicators_give_zones_ranked_by_households_with_all_households() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,lat,lon\n");
    for (id, lat, lon, _, _) in households() {
        text += &format!("{id},{lat:.6},{lon:.6}\n");
    }
    std::fs::write(dir.path().join("points.csv"), text).unwrap();
    // Without --all-households: refused, and the message says what to do.
    let err = fails(dir.path(), &["run", "points.csv", "--out", "x"]);
    assert!(err.contains("none of the columns has a recognised name") && err.contains("--all-households"), "{err}");
    let stderr = ok(dir.path(), &["run", "points.csv", "--out", "r", "--all-households", "--eps-m", "300"]);
    assert!(stderr.contains("zones are ranked by their households"), "{stderr}");
    let sizes: Vec<usize> =
        column(&dir.path().join("r/zones.csv"), "households").iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(sizes, vec![50, 30, 12], "three groups, largest first");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/report.json")).unwrap()).unwrap();
    assert!(report["need"]["note"].as_str().unwrap().contains("Every household counts 1"));
}

#[test]
fn a_recognised_indicator_with_text_values_is_named_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,lat,lon,income\n");
    for (id, lat, lon, _, _) in households() {
        text += &format!("{id},{lat:.6},{lon:.6},{}\n", ["low", "middle", "high"][id % 3]);
    }
    std::fs::write(dir.path().join("h.csv"), text).unwrap();
    let err = fails(dir.path(), &["run", "h.csv", "--out", "x"]);
    assert!(err.contains("column \"income\" has a recognised name but holds text"), "{err}");
    assert!(err.contains("\"middle\""), "{err}");
}
