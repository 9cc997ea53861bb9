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

// --- --to-postgis: a run into the database ---------------------------------------------

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// A fresh schema named `schema` (dropped with what it holds), and the URL that writes there.
fn fresh_schema(url: &str, schema: &str) -> String {
    client(url).batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).unwrap();
    with(url, &format!("schema={schema}"))
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// Checks that run `run_id` in `schema` holds the zones, hulls, households and analysis of
/// the output folder `dir`.
fn same_as_folder(c: &mut postgres::Client, schema: &str, run_id: i64, dir: &Path) {
    let (header, zones) = csv_rows(&dir.join("zones.csv"));
    let rows = c.query(&format!("SELECT * FROM {schema}.zones WHERE run_id = $1 ORDER BY rank"), &[&run_id]).unwrap();
    assert_eq!(rows.len(), zones.len());
    assert!(!zones.is_empty());
    for (row, z) in rows.iter().zip(&zones) {
        for (k, name) in header.iter().enumerate() {
            let col = row.columns().iter().position(|c| c.name() == name).unwrap_or_else(|| panic!("no {name}"));
            let db: Option<f64> = match row.columns()[col].type_().name() {
                "int4" => row.get::<_, Option<i32>>(col).map(f64::from),
                "int8" => row.get::<_, Option<i64>>(col).map(|v| v as f64),
                _ => row.get::<_, Option<f64>>(col),
            };
            let csv: Option<f64> = (!z[k].is_empty()).then(|| z[k].parse().unwrap());
            assert_eq!(db, csv, "zone rank {}: {name}", z[0]);
        }
    }
    // The hull, vertex for vertex, as zones.geojson has it.
    let gj: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("zones.geojson")).unwrap()).unwrap();
    for f in gj["features"].as_array().unwrap() {
        let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let zone = f["properties"]["zone"].as_i64().unwrap() as i32;
        let db: Vec<(f64, f64)> = c
            .query(
                &format!(
                    "SELECT ST_X(d.geom), ST_Y(d.geom) FROM {schema}.zones z, ST_DumpPoints(z.geom) d WHERE \
                     z.run_id = $1 AND z.zone = $2 AND ST_SRID(z.geom) = 4326 AND GeometryType(z.geom) = 'POLYGON' \
                     ORDER BY d.path"
                ),
                &[&run_id, &zone],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(db, ring, "zone {zone}'s hull");
    }
    // Households: households.csv's key, need, critical, cluster and zone, in its order.
    let (header, hh) = csv_rows(&dir.join("households.csv"));
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (id, need, critical, cluster, zone) =
        (col("household_id"), col("need"), col("critical"), col("cluster"), col("zone"));
    let rows = c
        .query(
            &format!(
                "SELECT key, need, critical, cluster, zone FROM {schema}.households WHERE run_id = $1 ORDER BY \
                 input_row"
            ),
            &[&run_id],
        )
        .unwrap();
    assert_eq!(rows.len(), hh.len());
    let num = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
    let int = |s: &str| (!s.is_empty()).then(|| s.parse::<i32>().unwrap());
    for (r, h) in rows.iter().zip(&hh) {
        assert_eq!(r.get::<_, &str>(0), h[id]);
        assert_eq!(r.get::<_, Option<f64>>(1), num(&h[need]), "{}", h[id]);
        assert_eq!(r.get::<_, bool>(2).to_string(), h[critical], "{}", h[id]);
        assert_eq!(r.get::<_, Option<i32>>(3), int(&h[cluster]), "{}", h[id]);
        assert_eq!(r.get::<_, Option<i32>>(4), int(&h[zone]), "{}", h[id]);
    }
    let run = c
        .query_one(
            &format!(
                "SELECT analysis, input, needmap_version, started_at <= now() FROM {schema}.runs WHERE run_id = $1"
            ),
            &[&run_id],
        )
        .unwrap();
    assert_eq!(run.get::<_, &str>(0), std::fs::read_to_string(dir.join("analysis.toml")).unwrap());
    assert_eq!(run.get::<_, &str>(1), sample().to_str().unwrap());
    assert_eq!(run.get::<_, &str>(2), env!("CARGO_PKG_VERSION"));
    assert!(run.get::<_, bool>(3));
}

fn run_ids(c: &mut postgres::Client, schema: &str) -> Vec<i64> {
    c.query(&format!("SELECT run_id FROM {schema}.runs ORDER BY run_id"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_run_goes_into_postgis_as_its_folder_has_it_and_a_second_run_is_appended() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let dest = fresh_schema(url, "needmap_rt");
    let input = sample();
    let input = input.to_str().unwrap();
    ok(p, &["run", input, "--out", "one", "--to-postgis", &dest]);
    ok(p, &["run", input, "--out", "two", "--top-percent", "20", "--to-postgis", &dest]);
    let mut c = client(url);
    let ids = run_ids(&mut c, "needmap_rt");
    assert_eq!(ids.len(), 2, "{ids:?}");
    same_as_folder(&mut c, "needmap_rt", ids[0], &p.join("one"));
    same_as_folder(&mut c, "needmap_rt", ids[1], &p.join("two"));
}

#[test]
fn a_failure_half_way_leaves_nothing_of_the_run_in_the_database() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let dest = fresh_schema(url, "needmap_half");
    let input = sample();
    let input = input.to_str().unwrap();
    ok(p, &["run", input, "--out", "first", "--to-postgis", &dest]);
    let mut c = client(url);
    let before = run_ids(&mut c, "needmap_half");
    let count = |c: &mut postgres::Client, t: &str| -> i64 {
        c.query_one(&format!("SELECT count(*) FROM needmap_half.{t}"), &[]).unwrap().get(0)
    };
    let (zones, households) = (count(&mut c, "zones"), count(&mut c, "households"));
    // A rule the next run's households break from row 500 on: the COPY fails half-way,
    // after the runs row and the zones went in.
    c.batch_execute("ALTER TABLE needmap_half.households ADD CONSTRAINT few CHECK (input_row < 500) NOT VALID")
        .unwrap();
    let wrong = dest.replace("needmap:needmap@", "needmap:hunter2@");
    assert!(wrong != dest);
    let err = fails(p, &["run", input, "--out", "second", "--to-postgis", &dest]);
    assert!(err.contains("few") && err.contains("***@") && err.contains("second was written"), "{err}");
    assert!(!err.contains(":needmap@"), "{err}");
    assert!(p.join("second").join("zones.csv").exists(), "the folder is written first");
    assert_eq!(run_ids(&mut c, "needmap_half"), before);
    assert_eq!((count(&mut c, "zones"), count(&mut c, "households")), (zones, households));
}

#[test]
fn a_bad_destination_is_refused_before_the_run_in_one_line() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut c = client(url);
    for sql in [
        "DROP SCHEMA IF EXISTS needmap_odd CASCADE",
        "CREATE SCHEMA needmap_odd",
        "CREATE TABLE needmap_odd.zones (run_id text, zone int)",
        "DROP DATABASE IF EXISTS needmap_plain",
        "CREATE DATABASE needmap_plain",
        "DROP ROLE IF EXISTS needmap_guest",
        "CREATE ROLE needmap_guest LOGIN PASSWORD 'guest'",
    ] {
        c.batch_execute(sql).unwrap();
    }
    let plain = url.rsplit_once('/').unwrap().0.to_string() + "/needmap_plain";
    let guest = url.replace("needmap:needmap@", "needmap_guest:guest@");
    let wrong = url.replace("needmap:needmap@", "needmap:hunter2@");
    let input = sample();
    let input = input.to_str().unwrap();
    for (dest, want) in [
        ("postgresql://needmap:needmap@127.0.0.1:1/needmap?connect_timeout=3".to_string(), "cannot reach"),
        (with(&wrong, "schema=needmap_x"), "cannot log in"),
        (with(&plain, "schema=needmap_x"), "PostGIS is not installed"),
        (with(&guest, "schema=needmap_x"), "no permission"),
        (with(url, "schema=needmap_odd"), "needmap_odd.zones exists but has column run_id of type text"),
        (with(url, "schema=needmap_x&table=t"), "not ?table="),
    ] {
        let err = fails(p, &["run", input, "--out", "never", "--to-postgis", &dest]);
        assert!(err.contains(want), "{dest}: {err}");
        assert!(err.contains("***@") && !err.contains("hunter2") && !err.contains(":needmap@"), "{err}");
        assert!(!p.join("never").exists(), "{dest}");
    }
    // The odd table is refused before anything is made.
    let runs: i64 = c
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'needmap_odd'", &[])
        .unwrap()
        .get(0);
    assert_eq!(runs, 1);
}

// --- TLS ----------------------------------------------------------------------------------

/// The test server's CA certificate, when scripts/pg_test_server.sh started it with TLS.
fn ca_cert() -> Option<std::path::PathBuf> {
    let state = std::env::var("NEEDMAP_PG_STATE").unwrap_or_else(|_| "/tmp/needmap-pg-test".into());
    Some(Path::new(&state).join("ca.crt")).filter(|p| p.exists())
}

#[test]
fn sslmode_is_honoured_for_reading_and_writing() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tls_on: String = client(url).query_one("SHOW ssl", &[]).unwrap().get(0);
    // Each household says whether the session that read it was encrypted.
    let src = |mode: &str| {
        with(
            url,
            &format!(
                "query=SELECT%20h.*,%20s.ssl::text%20AS%20via_tls%20FROM%20hh_geom%20h,%20pg_stat_ssl%20s%20WHERE%20\
                 s.pid%20=%20pg_backend_pid()&{mode}"
            ),
        )
    };
    let via_tls = |out: &str| -> Vec<String> {
        let (header, rows) = csv_rows(&p.join(out).join("households.csv"));
        let k = header.iter().position(|h| h == "via_tls").unwrap();
        let mut v: Vec<String> = rows.into_iter().map(|r| r[k].clone()).collect();
        v.dedup();
        v
    };
    ok(p, &["run", &src("sslmode=disable"), "--out", "plain"]);
    assert_eq!(via_tls("plain"), ["false"]);
    if tls_on != "on" {
        // A server without TLS: require is refused in one line.
        let err = fails(p, &["run", &src("sslmode=require"), "--out", "never"]);
        assert!(err.contains("TLS") && err.contains("***@"), "{err}");
        eprintln!("*** the test server has no TLS (no openssl?): only its refusal was tested ***");
        return;
    }
    ok(p, &["run", &src("sslmode=require"), "--out", "require"]);
    assert_eq!(via_tls("require"), ["true"]);
    // Checked against the test CA; refused against the public roots, which do not know it.
    let ca = ca_cert().expect("the TLS test server's ca.crt");
    let ca = ca.to_str().unwrap().replace('/', "%2F");
    ok(p, &["run", &src(&format!("sslmode=verify-full&sslrootcert={ca}")), "--out", "verified"]);
    assert_eq!(via_tls("verified"), ["true"]);
    let err = fails(p, &["run", &src("sslmode=verify-full"), "--out", "never"]);
    assert!(err.contains("TLS failed") && err.contains("***@"), "{err}");
    assert!(!p.join("never").exists());
    // Writing, encrypted and checked.
    let dest = fresh_schema(url, "needmap_tls") + &format!("&sslmode=verify-full&sslrootcert={ca}");
    ok(p, &["run", sample().to_str().unwrap(), "--out", "written", "--to-postgis", &dest]);
    assert_eq!(run_ids(&mut client(url), "needmap_tls").len(), 1);
}

#[test]
fn rejects_of_a_table_with_a_primary_key_are_named_by_it() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let mut c = client(url);
    c.batch_execute(
        "DROP TABLE IF EXISTS hh_pk; CREATE TABLE hh_pk (survey text, household_id text, latitude text, longitude \
         text, PRIMARY KEY (survey, household_id));
         INSERT INTO hh_pk SELECT 'r2', household_id, latitude, longitude FROM hh_t ORDER BY n LIMIT 300;
         UPDATE hh_pk SET latitude = 'north' WHERE household_id = (SELECT min(household_id) FROM hh_pk);",
    )
    .unwrap();
    let first: String = c.query_one("SELECT min(household_id) FROM hh_pk", &[]).unwrap().get(0);
    let o = needmap(d.path(), &["inspect", &with(url, "table=hh_pk")]);
    assert!(o.status.success(), "{}", show(&["inspect"], &o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("rejected:")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!(": survey=r2, household_id={first}: ")) && line.contains("***@"), "{line}");
    // A table without a key: its rows by number.
    let o = needmap(d.path(), &["inspect", &with(url, "query=SELECT%20*%20FROM%20hh_pk%20ORDER%20BY%201,2")]);
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("rejected:")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(": row 1: "), "{line}");
}

/// A table whose primary key is not the id column: the households written back carry the
/// key (`pk=N`, as the import report names rows), not the household id, so they join back
/// to the input table.
#[test]
fn households_written_back_carry_the_input_table_s_primary_key() {
    let url = need_server!();
    let d = tempfile::tempdir().unwrap();
    let mut c = client(url);
    c.batch_execute(
        "DROP TABLE IF EXISTS hh_rowkey; CREATE TABLE hh_rowkey AS SELECT * FROM hh_t; \
         ALTER TABLE hh_rowkey RENAME COLUMN n TO pk; ALTER TABLE hh_rowkey ADD PRIMARY KEY (pk);",
    )
    .unwrap();
    let dest = fresh_schema(url, "needmap_pk");
    ok(d.path(), &["run", &with(url, "table=hh_rowkey"), "--out", "out", "--to-postgis", &dest]);
    let rows = c
        .query(
            "SELECT h.key, t.household_id, h.input_row FROM needmap_pk.households h \
             JOIN hh_rowkey t ON h.key = 'pk=' || t.pk ORDER BY h.input_row",
            &[],
        )
        .unwrap();
    let written: i64 = c.query_one("SELECT count(*) FROM needmap_pk.households", &[]).unwrap().get(0);
    assert!(written > 1000, "{written}");
    // Every household joins back to its input row through the key.
    assert_eq!(rows.len() as i64, written);
    // The folder's households.csv has the same rows, in the same order, by household id.
    let mut r = csv::Reader::from_path(d.path().join("out/households.csv")).unwrap();
    let id_col = r.headers().unwrap().iter().position(|h| h == "household_id").unwrap();
    let ids: Vec<String> = r.records().map(|x| x.unwrap()[id_col].to_string()).collect();
    let joined: Vec<String> = rows.iter().map(|r| r.get::<_, String>(1)).collect();
    assert_eq!(joined, ids);
}
