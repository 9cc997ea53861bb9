//! The field kit of `needmap run` — zones.kml, zones.gpx, needmap.gpkg — read back by
//! independent readers: GDAL (`ogrinfo`, `ogr2ogr`), the sqlite3 shell, SQLite through
//! rusqlite, and this file's own parsers of the GeoPackage binary and of XML attributes.
//! GDAL and sqlite3 are required (`apt-get install gdal-bin sqlite3`; CI installs them).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{needmap, show};

fn ok(dir: &Path, args: &[&str]) {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
}

/// Runs a GDAL or sqlite3 tool; fails naming the package when it is missing.
fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let o = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
        panic!("{program}: {e}: these tests need GDAL and sqlite3: apt-get install gdal-bin sqlite3 (CI installs them)")
    });
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{program} {args:?} failed:\n{err}");
    assert!(!err.contains("ERROR") && !err.contains("Warning"), "{program} {args:?} complained:\n{err}");
    String::from_utf8(o.stdout).unwrap()
}

/// Layer name → feature count, as `ogrinfo -ro -so -al` reports them.
fn layers(dir: &Path, file: &str, extra: &[&str]) -> BTreeMap<String, u64> {
    let mut args = extra.to_vec();
    args.extend(["-ro", "-so", "-al", file]);
    let out = tool(dir, "ogrinfo", &args);
    let mut m = BTreeMap::new();
    let mut name = None;
    for line in out.lines() {
        if let Some(n) = line.strip_prefix("Layer name: ") {
            name = Some(n.to_string());
        }
        if let Some(c) = line.strip_prefix("Feature Count: ") {
            m.insert(name.take().unwrap(), c.trim().parse().unwrap());
        }
    }
    m
}

/// A layer converted by ogr2ogr to GeoJSON (coordinates at full precision).
fn ogr_geojson(dir: &Path, file: &str, layer: &str) -> serde_json::Value {
    let out = tool(dir, "ogr2ogr", &["-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=17", "/vsistdout/", file, layer]);
    serde_json::from_str(&out).unwrap()
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// What an XML file can carry of a text (see `needmap::export::xml`).
fn xml_safe(s: &str) -> String {
    needmap::export::xml::xml_safe(s)
}

/// Vertices of a GeoPackage polygon blob, parsed here from the specification: header `GP`,
/// version, flags (bit 0 byte order, bits 1–3 envelope kind), srs_id, envelope, then WKB.
fn gpkg_polygon(blob: &[u8]) -> (i32, Vec<(f64, f64)>) {
    assert_eq!(&blob[..3], b"GP\0");
    let flags = blob[3];
    assert_eq!(flags & 1, 1, "little-endian header");
    let env_doubles = match (flags >> 1) & 7 {
        0 => 0,
        1 => 4,
        2 | 3 => 6,
        4 => 8,
        k => panic!("envelope kind {k}"),
    };
    let srs = i32::from_le_bytes(blob[4..8].try_into().unwrap());
    let w = &blob[8 + 8 * env_doubles..];
    assert_eq!(w[0], 1, "little-endian WKB");
    let u32_at = |o: usize| u32::from_le_bytes(w[o..o + 4].try_into().unwrap());
    let f64_at = |o: usize| f64::from_le_bytes(w[o..o + 8].try_into().unwrap());
    assert_eq!(u32_at(1), 3, "WKB Polygon");
    assert_eq!(u32_at(5), 1, "one ring");
    let n = u32_at(9) as usize;
    (srs, (0..n).map(|k| (f64_at(13 + 16 * k), f64_at(21 + 16 * k))).collect())
}

fn ring_area_deg2(ring: &[(f64, f64)]) -> f64 {
    ring.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum::<f64>() / 2.0
}

fn geojson_rings(v: &serde_json::Value) -> Vec<Vec<(f64, f64)>> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["geometry"]["coordinates"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect()
        })
        .collect()
}

/// The Lima sample with hot spots and five sites from the zone centres, run once.
fn lima_run(dir: &Path) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv");
    std::fs::copy(&sample, dir.join("lima.csv")).unwrap();
    std::fs::write(
        dir.join("a.toml"),
        "[hotspots]\nvalue = \"need\"\n\n[sites]\nsites = 5\nradius_m = 600.0\nweight = \"need\"\ncandidates = \"zones\"\n",
    )
    .unwrap();
    ok(dir, &["run", "lima.csv", "--analysis", "a.toml", "--out", "run"]);
}

#[test]
fn lima_field_kit_reads_in_gdal_with_the_right_counts() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    lima_run(p);
    let run = p.join("run");
    let (_, zones) = csv_rows(&run.join("zones.csv"));
    let (hh_header, hh) = csv_rows(&run.join("households.csv"));
    let (hot_header, hot) = csv_rows(&run.join("hotspots.csv"));
    let (_, sites) = csv_rows(&run.join("sites.csv"));
    let hot_col = hot_header.iter().position(|c| c == "hot").unwrap();
    let z_col = hot_header.iter().position(|c| c == "z").unwrap();
    let count_hot = |v: &str| hot.iter().filter(|r| r[hot_col] == v).count() as u64;
    let tested = hot.iter().filter(|r| !r[z_col].is_empty()).count() as u64;
    assert!(zones.len() > 3 && sites.len() == 5 && count_hot("1") > 0, "a run worth testing");

    let n = |x: usize| x as u64;
    let kml = layers(&run, "zones.kml", &[]);
    let want: BTreeMap<String, u64> = [
        ("Zones".to_string(), n(zones.len())),
        ("Sites".into(), 5),
        ("Hot spots".into(), count_hot("1")),
        ("Cold spots".into(), count_hot("-1")),
        ("Households".into(), n(hh.len())),
    ]
    .into();
    assert_eq!(kml, want, "zones.kml through LIBKML");
    // GDAL's other KML reader (no libkml) agrees.
    assert_eq!(layers(&run, "zones.kml", &["--config", "OGR_SKIP", "LIBKML"]), want, "zones.kml through KML");

    let gpx = layers(&run, "zones.gpx", &[]);
    assert_eq!(gpx.get("waypoints"), Some(&n(zones.len() + 5)), "{gpx:?}");

    let gpkg = layers(&run, "needmap.gpkg", &[]);
    let want: BTreeMap<String, u64> = [
        ("zones".to_string(), n(zones.len())),
        ("households".into(), n(hh.len())),
        ("sites".into(), 5),
        ("hotspots".into(), tested),
    ]
    .into();
    assert_eq!(gpkg, want);
    let check = tool(&run, "sqlite3", &["needmap.gpkg", "PRAGMA integrity_check; PRAGMA foreign_key_check;"]);
    assert_eq!(check, "ok\n");
    // GDAL's GeoPackage validator (python3-gdal) checks every requirement it knows: the core
    // tables, the geometry blobs, the R-tree extension, SQLite's integrity.
    tool(&run, "/usr/bin/python3", &["-m", "osgeo_utils.samples.validate_gpkg", "needmap.gpkg"]);
    let ids = tool(&run, "sqlite3", &["needmap.gpkg", "PRAGMA application_id; PRAGMA user_version;"]);
    assert_eq!(ids, "1196444487\n10300\n");

    // Every layer's R-tree holds every feature, and a spatial filter through it (GDAL uses
    // the index) finds exactly the households inside a box, counted here from the CSV.
    let db = rusqlite::Connection::open(run.join("needmap.gpkg")).unwrap();
    for (layer, count) in &want {
        let idx: i64 = db.query_row(&format!("SELECT count(*) FROM rtree_{layer}_geom"), [], |r| r.get(0)).unwrap();
        assert_eq!(idx as u64, *count, "rtree_{layer}_geom");
        // SQLite's own consistency check of the index, and each entry's box is its geometry's.
        let check: String =
            db.query_row(&format!("SELECT rtreecheck('rtree_{layer}_geom')"), [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "rtree_{layer}_geom");
        let ext: i64 = db
            .query_row(
                "SELECT count(*) FROM gpkg_extensions WHERE table_name = ?1 AND extension_name = 'gpkg_rtree_index'",
                [layer],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ext, 1, "{layer} registers its index");
    }
    let lat = hh_header.iter().position(|c| c == "latitude").unwrap();
    let lon = hh_header.iter().position(|c| c == "longitude").unwrap();
    let (x0, y0, x1, y1) = (-77.05, -12.10, -77.00, -12.05);
    let inside = hh
        .iter()
        .filter(|r| {
            let (x, y): (f64, f64) = (r[lon].parse().unwrap(), r[lat].parse().unwrap());
            (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
        })
        .count();
    assert!(inside > 100, "the box holds households: {inside}");
    let out = tool(
        &run,
        "ogrinfo",
        &["-ro", "-so", "-spat", "-77.05", "-12.10", "-77.00", "-12.05", "needmap.gpkg", "households"],
    );
    assert!(out.contains(&format!("Feature Count: {inside}\n")), "{out}");
    // Queries through the index find every household in each box (a grid of boxes over the
    // survey, counted by brute force) and none beyond the 32-bit rounding of its boxes, and
    // SQLite's own R-tree code can go on inserting into it.
    let pts: Vec<(f64, f64)> = hh.iter().map(|r| (r[lon].parse().unwrap(), r[lat].parse().unwrap())).collect();
    let mut q = db
        .prepare(
            "SELECT count(*) FROM rtree_households_geom WHERE minx <= ?2 AND maxx >= ?1 AND miny <= ?4 AND maxy >= ?3",
        )
        .unwrap();
    for k in 0..36 {
        let (x0, y0) = (-77.15 + 0.05 * (k % 6) as f64, -12.25 + 0.07 * (k / 6) as f64);
        let (x1, y1) = (x0 + 0.031, y0 + 0.043);
        let within = |m: f64| {
            pts.iter().filter(|&&(x, y)| (x0 - m..=x1 + m).contains(&x) && (y0 - m..=y1 + m).contains(&y)).count()
        };
        let got: i64 = q.query_row([x0, x1, y0, y1], |r| r.get(0)).unwrap();
        assert!((within(0.0)..=within(1e-5)).contains(&(got as usize)), "box {k}: {got} vs {}", within(0.0));
    }
    db.execute("INSERT INTO rtree_households_geom VALUES (9999999, -77.0, -76.9, -12.1, -12.0)", []).unwrap();
    let check: String = db.query_row("SELECT rtreecheck('rtree_households_geom')", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    // The extent in gpkg_contents is the households' own.
    let (minx, maxy): (f64, f64) = db
        .query_row("SELECT min_x, max_y FROM gpkg_contents WHERE table_name = 'households'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let lons: Vec<f64> = hh.iter().map(|r| r[lon].parse().unwrap()).collect();
    let lats: Vec<f64> = hh.iter().map(|r| r[lat].parse().unwrap()).collect();
    assert_eq!(minx, lons.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(maxy, lats.iter().copied().fold(f64::NEG_INFINITY, f64::max));
}

#[test]
fn lima_households_and_zones_read_back_as_written() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    lima_run(p);
    let run = p.join("run");
    let (header, hh) = csv_rows(&run.join("households.csv"));
    let db = rusqlite::Connection::open(run.join("needmap.gpkg")).unwrap();
    // Columns: fid, geom, then households.csv's own, in its order.
    let mut stmt = db.prepare("SELECT name, type FROM pragma_table_info('households')").unwrap();
    let cols: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..2], ["fid", "geom"]);
    assert_eq!(names[2..], header.iter().map(String::as_str).collect::<Vec<_>>()[..]);
    let ty = |name: &str| cols.iter().find(|(n, _)| n == name).unwrap().1.as_str();
    assert_eq!(ty("household_id"), "TEXT");
    assert_eq!(ty("district"), "TEXT");
    assert_eq!(ty("household_size"), "INTEGER");
    assert_eq!(ty("people_per_room"), "REAL");
    assert_eq!(ty("need"), "REAL");
    assert_eq!(ty("critical"), "BOOLEAN");

    // Every value of a spread of households equals the CSV's: text exactly, numbers as numbers.
    let n = hh.len();
    let select = format!(
        "SELECT {} FROM households WHERE fid = ?1",
        names[2..].iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
    );
    let mut stmt = db.prepare(&select).unwrap();
    for i in [0, 1, 2, n / 3, n / 2, n - 2, n - 1] {
        let got: Vec<rusqlite::types::Value> =
            stmt.query_row([i as i64 + 1], |r| (0..header.len()).map(|c| r.get(c)).collect()).unwrap();
        for (c, v) in got.iter().enumerate() {
            let want = &hh[i][c];
            use rusqlite::types::Value as V;
            match v {
                V::Null => assert_eq!(want, "", "row {i} column {}", header[c]),
                V::Text(t) => assert_eq!(t, want, "row {i} column {}", header[c]),
                V::Integer(x) if header[c] == "critical" => {
                    assert_eq!(if *x == 1 { "true" } else { "false" }, want, "row {i}")
                }
                V::Integer(x) => assert_eq!(x.to_string(), *want, "row {i} column {}", header[c]),
                V::Real(x) => assert_eq!(*x, want.parse::<f64>().unwrap(), "row {i} column {}", header[c]),
                V::Blob(_) => panic!("blob in {}", header[c]),
            }
        }
    }

    // Zone polygons: the same vertices as zones.geojson, in the GeoPackage (parsed here) and
    // through GDAL; the same areas; in rank order.
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("zones.geojson")).unwrap()).unwrap();
    let rings = geojson_rings(&gj);
    let mut stmt = db.prepare("SELECT geom, rank FROM zones ORDER BY fid").unwrap();
    let blobs: Vec<(Vec<u8>, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(blobs.len(), rings.len());
    for (k, ((blob, rank), ring)) in blobs.iter().zip(&rings).enumerate() {
        let (srs, got) = gpkg_polygon(blob);
        assert_eq!(srs, 4326);
        assert_eq!(&got, ring, "zone #{}", k + 1);
        assert_eq!(*rank, k as i64 + 1);
        assert!(ring_area_deg2(&got) > 0.0, "counter-clockwise");
    }
    for (file, layer) in [("needmap.gpkg", "zones"), ("zones.kml", "Zones")] {
        let back = geojson_rings(&ogr_geojson(&run, file, layer));
        assert_eq!(back.len(), rings.len(), "{file}");
        for (a, b) in back.iter().zip(&rings) {
            assert_eq!(a.len(), b.len(), "{file}: vertex count");
            assert!((ring_area_deg2(a) - ring_area_deg2(b)).abs() <= 1e-12 * ring_area_deg2(b).abs().max(1e-9));
            for (p, q) in a.iter().zip(b) {
                assert!((p.0 - q.0).abs() < 1e-9 && (p.1 - q.1).abs() < 1e-9, "{file}: {p:?} vs {q:?}");
            }
        }
    }
    // KML names the zones by rank and fills them with the app's purple, rank 1 darkest.
    let kml = std::fs::read_to_string(run.join("zones.kml")).unwrap();
    assert!(kml.contains("<Placemark><name>#1</name>"));
    assert!(kml.contains("<Style id=\"zone-1\"><LineStyle><color>ff7d003f</color>"), "rgb(63, 0, 125)");
    let gpx = ogr_geojson(&run, "zones.gpx", "waypoints");
    let names: Vec<&str> =
        gpx["features"].as_array().unwrap().iter().map(|f| f["properties"]["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "#1");
    assert_eq!(names[names.len() - 5..], ["Site 1", "Site 2", "Site 3", "Site 4", "Site 5"]);
}

/// Text no file format should lose: markup, quotes, separators, line ends, controls,
/// right-to-left script, emoji, and a 10,000-character value.
fn hostile_values() -> Vec<String> {
    let long: String = (0..10_000).map(|k| ['a', 'ñ', '<', '&', '"', ' ', '😀', '\n'][k % 8]).collect();
    vec![
        "<b>bold</b> & \"quoted\" 'single'".into(),
        "a,b;c|d\te".into(),
        "line1\nline2\r\nline3\rend".into(),
        "ctl\u{1}\u{7}\u{1b}\u{1f}end".into(),
        "مرحبا بالعالم שלום".into(),
        "emoji 😀👩‍👩‍👧 \u{202e}reversed".into(),
        long,
        "]]> <![CDATA[ x ]]>".into(),
        "&amp; &lt; &#13; literal entities".into(),
    ]
}

const HOSTILE_NAMES: [&str; 5] = ["name <&\"q\">", "notes; a, b", "línea\nnueva", "שם 😀", "zone"];

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// 30 households in two groups 3 km apart; hostile ids, column names and values.
fn hostile_survey(dir: &Path) -> Vec<Vec<String>> {
    let values = hostile_values();
    let mut header =
        vec!["household_id".to_string(), "lat".into(), "lon".into(), "household_size".into(), "monthly_income".into()];
    header.extend(HOSTILE_NAMES.iter().map(|s| s.to_string()));
    let mut text = header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",") + "\n";
    let mut rows = Vec::new();
    for i in 0..30 {
        let group = i % 2;
        let lat = -12.05 - 0.0003 * (i / 2) as f64 * if i % 4 < 2 { 1.0 } else { -1.0 };
        let lon = -77.05 + 0.03 * group as f64 + 0.0002 * (i % 5) as f64;
        let id = match i % 6 {
            0 => format!("H&{i}"),
            1 => format!("H<{i}>"),
            2 => format!("H\"{i}\""),
            3 => format!("H;{i},x"),
            4 => format!("H {i} 😀"),
            _ => format!("H{i}"),
        };
        let mut row = vec![
            id,
            format!("{lat:.6}"),
            format!("{lon:.6}"),
            (2 + i % 5).to_string(),
            (200 + 150 * group + 7 * i).to_string(),
        ];
        for c in 0..HOSTILE_NAMES.len() {
            row.push(values[(i + c) % values.len()].clone());
        }
        text += &(row.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(",") + "\n");
        rows.push(row);
    }
    std::fs::write(dir.join("hostile.csv"), text).unwrap();
    std::fs::write(
        dir.join("h.toml"),
        "[cluster]\nhouseholds = \"all\"\neps_m = 200.0\nmin_points = 3\n\n[sites]\nsites = 2\nradius_m = 300.0\nweight = \"households\"\ncandidates = \"households\"\n",
    )
    .unwrap();
    rows
}

/// Unescapes the XML this test reads: the five entities and numeric references.
fn xml_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(k) = rest.find('&') {
        out.push_str(&rest[..k]);
        let end = rest[k..].find(';').unwrap() + k;
        let ent = &rest[k + 1..end];
        out.push(match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap(),
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("entity {e}"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn hostile_text_round_trips_through_every_format() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let input = hostile_survey(p);
    ok(p, &["run", "hostile.csv", "--analysis", "h.toml", "--top-percent", "50", "--out", "run"]);
    let run = p.join("run");
    let (header, hh) = csv_rows(&run.join("households.csv"));
    // The CSV itself carried everything through.
    assert_eq!(header[5..10], HOSTILE_NAMES.map(String::from));
    assert_eq!(hh.len(), 30);
    for (row, want) in hh.iter().zip(&input) {
        assert_eq!(row[..want.len()], want[..]);
    }

    // GeoPackage: names and values exactly, control characters included.
    let db = rusqlite::Connection::open(run.join("needmap.gpkg")).unwrap();
    let mut stmt = db.prepare("SELECT name FROM pragma_table_info('households')").unwrap();
    let cols: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let mut want_cols: Vec<String> = vec!["fid".into(), "geom".into()];
    want_cols.extend(header[..10].iter().cloned());
    want_cols.extend(["need".into(), "critical".into(), "cluster".into(), "zone_2".into(), "site".into()]);
    assert_eq!(cols, want_cols, "our `zone` column yields to the input's");
    let list = header[..10].iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(", ");
    let mut stmt = db.prepare(&format!("SELECT {list} FROM households ORDER BY fid")).unwrap();
    let back: Vec<Vec<String>> = stmt
        .query_map([], |r| {
            (0..10)
                .map(|c| {
                    Ok(match r.get::<_, rusqlite::types::Value>(c)? {
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Integer(x) => x.to_string(),
                        rusqlite::types::Value::Real(x) => x.to_string(),
                        v => panic!("{v:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (got, want) in back.iter().zip(&input) {
        assert_eq!(got[0], want[0], "ids stay text");
        assert_eq!(got[5..], want[5..]);
    }
    let gpkg_layers = layers(&run, "needmap.gpkg", &[]);
    assert_eq!(gpkg_layers.get("households"), Some(&30));
    let mut stmt = db.prepare("SELECT candidate FROM sites ORDER BY fid").unwrap();
    let candidates: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let (_, sites) = csv_rows(&run.join("sites.csv"));
    assert_eq!(candidates, sites.iter().map(|r| r[1].clone()).collect::<Vec<_>>());

    // KML: GDAL reads every household and every value (what XML can carry of it: controls
    // become U+FFFD); the column names, from the raw XML with this file's own unescaping.
    let kml_layers = layers(&run, "zones.kml", &[]);
    assert_eq!(kml_layers.get("Households"), Some(&30), "{kml_layers:?}");
    let gj = ogr_geojson(&run, "zones.kml", "Households");
    let features = gj["features"].as_array().unwrap();
    assert_eq!(features.len(), 30);
    for (f, want) in features.iter().zip(&input) {
        let props = f["properties"].as_object().unwrap();
        assert_eq!(props["Name"].as_str().unwrap(), xml_safe(&want[0]));
        let mut got: Vec<String> = props.values().filter_map(|v| v.as_str().map(String::from)).collect();
        got.sort();
        for v in &want[5..] {
            let v = xml_safe(v);
            assert!(got.binary_search(&v).is_ok(), "value {:?} not read back from zones.kml", &v[..v.len().min(60)]);
        }
    }
    let kml = std::fs::read_to_string(run.join("zones.kml")).unwrap();
    let mut names: Vec<String> =
        kml.split("<Data name=\"").skip(1).map(|s| xml_unescape(&s[..s.find('"').unwrap()])).collect();
    names.sort();
    names.dedup();
    for n in HOSTILE_NAMES {
        assert!(names.contains(&xml_safe(n)), "column name {n:?} in zones.kml: {names:?}");
    }
    // GDAL's other KML reader accepts the file too.
    let plain = layers(&run, "zones.kml", &["--config", "OGR_SKIP", "LIBKML"]);
    assert_eq!(plain.get("Households"), Some(&30));

    // GPX: site waypoints name their (hostile) candidate ids exactly.
    let gpx = ogr_geojson(&run, "zones.gpx", "waypoints");
    let wpts = gpx["features"].as_array().unwrap();
    let zones = csv_rows(&run.join("zones.csv")).1.len();
    assert_eq!(wpts.len(), zones + sites.len());
    for (k, site) in sites.iter().enumerate() {
        let w = &wpts[zones + k]["properties"];
        assert_eq!(w["name"], format!("Site {}", k + 1));
        let desc = w["desc"].as_str().unwrap();
        assert!(desc.starts_with(&format!("Candidate: {}\n", xml_safe(&site[1]))), "{desc:?}");
    }
}

#[test]
fn spanish_labels_and_the_households_option() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    hostile_survey(p);
    let args = ["run", "hostile.csv", "--analysis", "h.toml", "--top-percent", "50"];
    ok(p, &[&args[..], &["--out", "es", "--lang", "es", "--kml-households", "never"]].concat());
    let kml = std::fs::read_to_string(p.join("es/zones.kml")).unwrap();
    assert!(kml.contains("<Folder><name>Zonas</name>"), "Spanish folder names");
    assert!(kml.contains("<Folder><name>Sitios</name>"));
    assert!(kml.contains("&lt;th align=\"left\"&gt;Hogares&lt;/th&gt;"), "Spanish figure labels");
    assert!(kml.contains("<name>Sitio 1</name>"));
    assert!(!kml.contains("<Folder><name>Hogares</name>"), "--kml-households never");
    assert!(kml.contains("--kml-households always` los incluye"), "the document says where they are");
    let gpx = std::fs::read_to_string(p.join("es/zones.gpx")).unwrap();
    assert!(gpx.contains("<name>#1</name><desc>Prioridad: 1\nHogares: "), "{gpx}");
    assert!(gpx.contains("<name>Sitio 2</name><desc>Candidato: "));
    // GeoPackage columns stay English.
    let db = rusqlite::Connection::open(p.join("es/needmap.gpkg")).unwrap();
    let n: i64 =
        db.query_row("SELECT count(*) FROM zones WHERE households > 0 AND mean_need >= 0", [], |r| r.get(0)).unwrap();
    assert!(n >= 1);

    ok(p, &[&args[..], &["--out", "en"]].concat());
    let kml = std::fs::read_to_string(p.join("en/zones.kml")).unwrap();
    assert!(kml.contains("<Folder><name>Zones</name>") && kml.contains("<Folder><name>Households</name>"));
    assert!(kml.contains("&lt;th align=\"left\"&gt;Households&lt;/th&gt;"));
}

#[test]
fn the_field_kit_reruns_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    hostile_survey(p);
    ok(p, &["run", "hostile.csv", "--analysis", "h.toml", "--top-percent", "50", "--out", "a"]);
    ok(p, &["run", "hostile.csv", "--analysis", "a/analysis.toml", "--out", "b"]);
    for f in ["zones.kml", "zones.gpx", "needmap.gpkg"] {
        assert!(std::fs::read(p.join("a").join(f)).unwrap() == std::fs::read(p.join("b").join(f)).unwrap(), "{f}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("a/report.json")).unwrap()).unwrap();
    assert!(report["timings_ms"]["write_gpkg"].is_number(), "{}", report["timings_ms"]);
}

#[test]
fn a_run_without_zones_still_writes_readable_files() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let sample =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv")).unwrap();
    let head: String = sample.lines().take(30).map(|l| format!("{l}\n")).collect();
    std::fs::write(p.join("tiny.csv"), head).unwrap();
    ok(p, &["run", "tiny.csv", "--out", "run", "--eps-m", "10", "--min-points", "5"]);
    let run = p.join("run");
    assert_eq!(csv_rows(&run.join("zones.csv")).1.len(), 0);
    let gpkg = layers(&run, "needmap.gpkg", &[]);
    assert_eq!(gpkg, [("households".to_string(), 29), ("zones".into(), 0)].into());
    let kml = layers(&run, "zones.kml", &[]);
    assert_eq!(kml, [("Households".to_string(), 29), ("Zones".into(), 0)].into());
    assert_eq!(layers(&run, "zones.gpx", &[]).get("waypoints"), Some(&0));
    assert_eq!(tool(&run, "sqlite3", &["needmap.gpkg", "PRAGMA integrity_check"]), "ok\n");
}
