//! PostgreSQL / PostGIS as a source (issue 15): the sample survey loaded into a table, once
//! with plain lat/lon text columns and once with a `geometry(Point, 4326)` column as well,
//! gives byte for byte the zones.csv and households.csv the CSV gives; bad URLs, passwords,
//! tables and SRIDs are refused in one line naming the URL without its password.
//!
//! The server: `NEEDMAP_TEST_PG` (a URL), else `scripts/pg_test_server.sh start` is run here.
//! Without PostgreSQL installed the tests are skipped loudly, unless CI is set: then they fail.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::{fails, needmap, show};

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv")
}

fn ok(dir: &Path, args: &[&str]) {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
}

/// The test server's URL, the sample loaded; `None` (after a loud message) when PostgreSQL
/// is not installed and CI is not set.
fn server() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let url = match std::env::var("NEEDMAP_TEST_PG") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                let installed = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|mut d| d.next().is_some());
                if !installed && std::env::var("CI").is_err() {
                    eprintln!("\n*** SKIPPED tests/postgis.rs: PostgreSQL is not installed (and CI is not set) ***\n");
                    return None;
                }
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg_test_server.sh");
                let o = std::process::Command::new(script).arg("start").output().unwrap();
                assert!(o.status.success(), "pg_test_server.sh start: {}", String::from_utf8_lossy(&o.stderr));
                String::from_utf8(o.stdout).unwrap().trim().to_string()
            }
        };
        load(&url);
        Some(url)
    })
    .as_deref()
}

/// hh_text: the CSV as text columns (a view in file order; no primary key: the sample has
/// duplicate ids on purpose); hh_geom: the same plus
/// `geom geometry(Point, 4326)` (null where the CSV's coordinates are not numbers);
/// hh_3857: points in another SRID.
fn load(url: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut r = csv::Reader::from_path(sample()).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let cols: Vec<String> = header.iter().map(|h| format!("\"{h}\" text")).collect();
    let names: Vec<String> = header.iter().map(|h| format!("\"{h}\"")).collect();
    let names = names.join(", ");
    c.batch_execute(&format!(
        "DROP VIEW IF EXISTS hh_text, hh_geom; DROP TABLE IF EXISTS hh_t, hh_3857, hh_nocoords; CREATE TABLE hh_t \
         ({}, n bigserial)",
        cols.join(", ")
    ))
    .unwrap();
    let mut w = c.copy_in(&format!("COPY hh_t ({names}) FROM STDIN (FORMAT csv, HEADER true)")).unwrap();
    std::io::copy(&mut std::fs::File::open(sample()).unwrap(), &mut w).unwrap();
    w.finish().unwrap();
    // Heap order is not file order (COPY may place a row on a later page): the views keep
    // the file's order, so the households come in the order the CSV gives them.
    let num = "'^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$'";
    c.batch_execute(&format!(
        "CREATE VIEW hh_text AS SELECT {names} FROM hh_t ORDER BY n;
         CREATE VIEW hh_geom AS SELECT {names}, CASE WHEN longitude ~ {num} AND latitude ~ {num} THEN \
         ST_SetSRID(ST_MakePoint(longitude::float8, latitude::float8), 4326) END::geometry(Point, 4326) AS geom \
         FROM hh_t ORDER BY n;
         CREATE TABLE hh_3857 AS SELECT household_id, ST_Transform(geom, 3857)::geometry(Point, 3857) AS geom \
         FROM hh_geom WHERE geom IS NOT NULL;
         CREATE TABLE hh_nocoords AS SELECT household_id, district FROM hh_t;"
    ))
    .unwrap();
}

macro_rules! need_server {
    () => {
        match server() {
            Some(u) => u,
            None => return,
        }
    };
}

fn with(url: &str, q: &str) -> String {
    format!("{url}?{q}")
}

#[test]
fn a_table_gives_what_the_csv_gives() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(p, &["run", sample().to_str().unwrap(), "--out", "from_csv"]);
    for (name, src, kind) in [
        ("text", with(url, "table=hh_text"), serde_json::Value::Null),
        ("geom", with(url, "table=public.hh_geom"), "geom".into()),
        ("query", with(url, "query=SELECT%20*%20FROM%20hh_geom"), "geom".into()),
    ] {
        let out = format!("from_{name}");
        ok(p, &["run", &src, "--out", &out]);
        let a = std::fs::read(p.join("from_csv").join("zones.csv")).unwrap();
        let b = std::fs::read(p.join(&out).join("zones.csv")).unwrap();
        assert!(a == b, "zones.csv from {name} differs from the CSV run's");
        let a = std::fs::read(p.join("from_csv").join("households.csv")).unwrap();
        let b = std::fs::read(p.join(&out).join("households.csv")).unwrap();
        assert!(a == b, "households.csv from {name} differs from the CSV run's");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join(&out).join("report.json")).unwrap()).unwrap();
        assert_eq!(report["import"]["format"]["kind"], "postgis", "{}", report["import"]);
        assert_eq!(report["import"]["format"]["geometry"], kind);
    }
}

#[test]
fn bad_input_is_refused_in_one_line_without_the_password() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    let wrong = url.replace("needmap:needmap@", "needmap:hunter2@");
    let cases = [
        (with(&wrong, "table=hh_text"), "cannot log in"),
        (
            "postgresql://needmap:needmap@127.0.0.1:1/needmap?table=hh_text&connect_timeout=3".to_string(),
            "cannot reach",
        ),
        (with(url, "table=no_such"), "no table public.no_such"),
        (with(url, "table=nope.hh_text"), "no table nope.hh_text"),
        (with(url, "table=hh_nocoords"), ""),
        (with(url, "table=hh_3857"), "SRID 3857"),
    ];
    assert!(!port.is_empty());
    for (src, want) in cases {
        let err = fails(p, &["run", &src, "--out", "never"]);
        assert!(err.contains(want), "{src}: {err}");
        assert!(!err.contains("hunter2") && !err.contains(":needmap@"), "the password is printed: {err}");
        assert!(err.contains("***@"), "the URL is named: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!p.join("never").exists());
    }
}
