//! `needmap tiles` against a stand-in tile server on 127.0.0.1 (no other network): counts,
//! the User-Agent, retries, resume after an outage, 404s, refusals, and the MBTiles read back
//! with SQL of our own.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;

use common::tileserver::{png, server};
use common::{needmap, show};

/// A survey of three households around Lima, far enough apart to need separate tiles.
fn survey(dir: &Path) {
    std::fs::write(dir.join("h.csv"), "id,lat,lon\n1,-12.05,-77.03\n2,-12.0505,-77.0305\n3,-12.20,-76.90\n").unwrap();
}

/// The tiles expected, computed here from the Web Mercator formulas (independent of needmap).
fn expected(zooms: std::ops::RangeInclusive<u8>, margin_m: f64) -> HashSet<(u8, u32, u32)> {
    let pts: [(f64, f64); 3] = [(-12.05, -77.03), (-12.0505, -77.0305), (-12.20, -76.90)];
    let tile = |lat: f64, lon: f64, z: u8| {
        let n = 2f64.powi(z as i32);
        let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
        let r = lat.to_radians();
        let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
        (x, y)
    };
    let mut out = HashSet::new();
    for z in zooms {
        for &(lat, lon) in &pts {
            let dlat = margin_m / 111_320.0;
            let dlon = margin_m / (111_320.0 * lat.abs().to_radians().cos());
            let (x0, y0) = tile(lat + dlat, lon - dlon, z);
            let (x1, y1) = tile(lat - dlat, lon + dlon, z);
            for x in x0..=x1 {
                for y in y0..=y1 {
                    out.insert((z, x, y));
                }
            }
        }
    }
    out
}

/// Every (z, x, xyz_y) in an MBTiles file, read with plain SQL, each blob checked to be the
/// PNG of its own tile.
fn read_back(path: &Path) -> HashSet<(u8, u32, u32)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c.prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get::<_, u8>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?, r.get::<_, Vec<u8>>(3)?)))
        .unwrap();
    let mut out = HashSet::new();
    for row in rows {
        let (z, x, tms, data) = row.unwrap();
        let y = (1u32 << z) - 1 - tms;
        assert_eq!(data, png(z, x, y), "tile {z}/{x}/{y} holds another tile's image");
        out.insert((z, x, y));
    }
    out
}

fn tiles(dir: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["tiles", "h.csv", "--url", url, "--zoom", "13-15", "--margin-m", "300", "--rate", "200"];
    args.extend(extra);
    needmap(dir, &args)
}

#[test]
fn a_download_counts_first_fetches_everything_once_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    survey(dir.path());
    let s = server();
    let url = format!("{}/{{z}}/{{x}}/{{y}}.png", s.base);
    // One tile fails once: the retry recovers it.
    let want = expected(13..=15, 300.0);
    let (z, x, y) = *want.iter().next().unwrap();
    s.faults.fail_once.lock().unwrap().insert(format!("/{z}/{x}/{y}.png"));
    let o = tiles(dir.path(), &url, &["--out", "area.mbtiles", "--attribution", "© Test tiles"]);
    assert!(o.status.success(), "{}", show(&["tiles"], &o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("needmap: {} tiles for 3 households", want.len())), "{err}");
    assert_eq!(read_back(&dir.path().join("area.mbtiles")), want);
    let reqs = s.requests.lock().unwrap();
    assert_eq!(reqs.len(), want.len() + 1, "each tile once, plus one retry");
    let agent = &reqs[0].1;
    assert!(agent.starts_with(&format!("needmap/{}", env!("CARGO_PKG_VERSION"))), "User-Agent {agent:?}");
    drop(reqs);
    // Metadata that QField and OsmAnd read.
    let c = rusqlite::Connection::open(dir.path().join("area.mbtiles")).unwrap();
    let meta =
        |k: &str| c.query_row("SELECT value FROM metadata WHERE name = ?1", [k], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!((meta("format"), meta("minzoom"), meta("maxzoom")), ("png".into(), "13".into(), "15".into()));
    assert_eq!(meta("attribution"), "© Test tiles");
    assert!(!dir.path().join("area.mbtiles.part").exists());
    // Refused: an existing output without --force.
    let o = tiles(dir.path(), &url, &["--out", "area.mbtiles"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
}

#[test]
fn an_outage_is_resumed_by_running_the_same_command_again() {
    let dir = tempfile::tempdir().unwrap();
    survey(dir.path());
    let s = server();
    let url = format!("{}/{{z}}/{{x}}/{{y}}.png", s.base);
    let want = expected(13..=15, 300.0);
    *s.faults.outage_after.lock().unwrap() = Some(4);
    let o = tiles(dir.path(), &url, &["--out", "area.mbtiles"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&["tiles"], &o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("503") && err.contains("area.mbtiles.part") && err.contains("resume"), "{err}");
    assert!(!dir.path().join("area.mbtiles").exists(), "no output from a failed download");
    assert_eq!(read_back(&dir.path().join("area.mbtiles.part")).len(), 4);
    // The server is back: the rerun fetches only what is missing.
    *s.faults.outage_after.lock().unwrap() = None;
    let before = s.served.load(Ordering::Relaxed);
    let o = tiles(dir.path(), &url, &["--out", "area.mbtiles"]);
    assert!(o.status.success(), "{}", show(&["tiles"], &o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("4 reused"), "{}", show(&["tiles"], &o));
    assert_eq!(s.served.load(Ordering::Relaxed) - before, want.len() - 4, "only the missing tiles were fetched");
    assert_eq!(read_back(&dir.path().join("area.mbtiles")), want);
}

#[test]
fn missing_tiles_are_reported_and_refusals_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    survey(dir.path());
    let s = server();
    let url = format!("{}/{{z}}/{{x}}/{{y}}.png", s.base);
    let want = expected(13..=15, 300.0);
    let (z, x, y) = *want.iter().next().unwrap();
    s.faults.missing.lock().unwrap().insert(format!("/{z}/{x}/{y}.png"));
    let o = tiles(dir.path(), &url, &["--out", "a.mbtiles"]);
    assert!(o.status.success(), "{}", show(&["tiles"], &o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 missing on the server"));
    assert_eq!(read_back(&dir.path().join("a.mbtiles")).len(), want.len() - 1);

    // 403: a clear message (the key?), and no output.
    s.faults.forbidden.store(true, Ordering::Relaxed);
    let o = tiles(dir.path(), &format!("{url}?key={{key}}"), &["--out", "b.mbtiles", "--key", "SECRET"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("403") && err.contains("API key") && !err.contains("SECRET"), "{err}");
    assert!(!dir.path().join("b.mbtiles").exists());
    s.faults.forbidden.store(false, Ordering::Relaxed);

    // Over the limit, OpenStreetMap's servers, a folder that is not a run: refused before
    // any request reaches the server.
    let sent = s.requests.lock().unwrap().len();
    let o = tiles(dir.path(), &url, &["--out", "c.mbtiles", "--max-tiles", "5"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains(&format!("{} tiles at zoom 13-15", want.len())) && err.contains("--max-tiles"), "{err}");
    let o = tiles(dir.path(), "https://tile.openstreetmap.org/{z}/{x}/{y}.png", &["--out", "d.mbtiles"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("tile usage policy forbids bulk downloading") && err.contains("no request was sent"), "{err}");
    std::fs::create_dir(dir.path().join("notarun")).unwrap();
    let o = needmap(dir.path(), &["tiles", "notarun", "--url", &url, "--out", "e.mbtiles"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a needmap run folder"));
    let o = tiles(dir.path(), &url, &["--out", "no/such/folder/f.mbtiles"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such folder"), "{}", show(&["tiles"], &o));
    assert_eq!(s.requests.lock().unwrap().len(), sent, "a refused download sent requests");
    for f in ["c.mbtiles", "d.mbtiles", "e.mbtiles"] {
        assert!(!dir.path().join(f).exists() && !dir.path().join(format!("{f}.part")).exists());
    }
}

#[test]
fn a_run_folder_gives_the_tiles_of_its_zones() {
    let dir = tempfile::tempdir().unwrap();
    let o = needmap(
        dir.path(),
        &["run", &format!("{}/sample_data/lima_households.csv", env!("CARGO_MANIFEST_DIR")), "--out", "run"],
    );
    assert!(o.status.success(), "{}", show(&["run"], &o));
    let s = server();
    let url = format!("{}/{{z}}/{{x}}/{{y}}.png", s.base);
    let o = needmap(
        dir.path(),
        &["tiles", "run", "--url", &url, "--zoom", "11-12", "--margin-m", "0", "--rate", "500", "--out", "z.mbtiles"],
    );
    assert!(o.status.success(), "{}", show(&["tiles"], &o));
    let zones: usize = std::fs::read_to_string(dir.path().join("run/zones.csv")).unwrap().lines().count() - 1;
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{zones} zones of run")));
    let got = read_back(&dir.path().join("z.mbtiles"));
    // Every zone's every vertex lies in a downloaded tile at both zooms.
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run/zones.geojson")).unwrap()).unwrap();
    for f in gj["features"].as_array().unwrap() {
        let ring = &f["geometry"]["coordinates"][0];
        for p in ring.as_array().unwrap() {
            let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            for z in [11u8, 12] {
                let n = 2f64.powi(z as i32);
                let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
                let r = lat.to_radians();
                let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
                assert!(got.contains(&(z, x, y)), "zone vertex {lon},{lat} not covered at zoom {z}");
            }
        }
    }
}
