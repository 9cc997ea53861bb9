//! GeoParquet in and out (issue 14), checked with the Arrow project's own reader and writer:
//! a survey written as Parquet (plain lat/lon columns, or GeoParquet with WKB or native points)
//! gives exactly the zones and households the same survey gives as CSV; `run --parquet`
//! writes households.parquet and zones.parquet whose every value and geometry read back as
//! households.csv, zones.csv and zones.geojson hold them; bad geometries are rejected with
//! their row group and row; a projected CRS and a broken file are refused with a message.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, DictionaryArray, Float32Array, Float64Array, Int32Array,
    RecordBatch, StringArray, StructArray,
};
use arrow_schema::{DataType, Field, Fields, Schema};
use common::{fails, needmap, show};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv")
}

fn ok(dir: &Path, args: &[&str]) {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// Every batch of a Parquet file and its `geo` metadata (JSON), read with the parquet crate.
fn read(path: &Path) -> (Vec<RecordBatch>, Option<serde_json::Value>) {
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let geo = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo").and_then(|k| k.value.clone()))
        .map(|v| serde_json::from_str(&v).unwrap());
    (b.build().unwrap().map(Result::unwrap).collect(), geo)
}

fn wkb_point(x: f64, y: f64) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend(1u32.to_le_bytes());
    b.extend(x.to_le_bytes());
    b.extend(y.to_le_bytes());
    b
}

/// WKB → (type, coordinates of the first ring or the point), little-endian only.
fn wkb_coords(b: &[u8]) -> (u32, Vec<(f64, f64)>) {
    assert_eq!(b[0], 1);
    let u = |k: usize| u32::from_le_bytes(b[k..k + 4].try_into().unwrap());
    let f = |k: usize| f64::from_le_bytes(b[k..k + 8].try_into().unwrap());
    match u(1) {
        1 => (1, vec![(f(5), f(13))]),
        3 => {
            assert_eq!(u(5), 1, "one ring");
            let n = u(9) as usize;
            (3, (0..n).map(|i| (f(13 + 16 * i), f(21 + 16 * i))).collect())
        }
        t => panic!("WKB type {t}"),
    }
}

fn write_parquet(path: &Path, batches: &[RecordBatch], geo: Option<serde_json::Value>, rows_per_group: usize) {
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(rows_per_group)).build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    if let Some(g) = geo {
        w.append_key_value_metadata(KeyValue::new("geo".into(), g.to_string()));
    }
    w.close().unwrap();
}

fn geo_meta(encoding: &str) -> serde_json::Value {
    serde_json::json!({"version": "1.1.0", "primary_column": "geometry",
        "columns": {"geometry": {"encoding": encoding, "geometry_types": ["Point"]}}})
}

/// The sample survey as a Parquet table of text columns (every cell exactly as in the CSV),
/// plus a geometry column when `geometry` names its encoding.
fn sample_as_parquet(path: &Path, geometry: Option<&str>) {
    let (header, rows) = csv_rows(&sample());
    let mut fields: Vec<Field> = header.iter().map(|h| Field::new(h, DataType::Utf8, true)).collect();
    let mut cols: Vec<ArrayRef> = (0..header.len())
        .map(|c| Arc::new(StringArray::from_iter(rows.iter().map(|r| Some(r[c].as_str())))) as ArrayRef)
        .collect();
    let lat = header.iter().position(|h| h == "latitude").unwrap();
    let lon = header.iter().position(|h| h == "longitude").unwrap();
    // The survey's few unusable coordinates (empty, text) become null geometries.
    let ll: Vec<Option<(f64, f64)>> = rows.iter().map(|r| Some((r[lon].parse().ok()?, r[lat].parse().ok()?))).collect();
    match geometry {
        Some("WKB") => {
            fields.push(Field::new("geometry", DataType::Binary, true));
            let wkb: Vec<Option<Vec<u8>>> = ll.iter().map(|p| p.map(|(x, y)| wkb_point(x, y))).collect();
            cols.push(Arc::new(BinaryArray::from_iter(wkb.iter().map(|w| w.as_deref()))));
        }
        Some("point") => {
            let xy = Fields::from(vec![
                Field::new("x", DataType::Float64, false),
                Field::new("y", DataType::Float64, false),
            ]);
            fields.push(Field::new("geometry", DataType::Struct(xy.clone()), true));
            // Native points have no null here: an empty point (NaN, NaN) instead.
            let x =
                Arc::new(Float64Array::from_iter_values(ll.iter().map(|p| p.map_or(f64::NAN, |p| p.0)))) as ArrayRef;
            let y =
                Arc::new(Float64Array::from_iter_values(ll.iter().map(|p| p.map_or(f64::NAN, |p| p.1)))) as ArrayRef;
            cols.push(Arc::new(StructArray::new(xy, vec![x, y], None)));
        }
        _ => {}
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    write_parquet(path, &[batch], geometry.map(geo_meta), 5000);
}

#[test]
fn a_survey_as_parquet_gives_what_it_gives_as_csv() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let csv = sample();
    ok(p, &["run", csv.to_str().unwrap(), "--out", "from_csv"]);
    let rejected = |dir: &str| -> serde_json::Value {
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join(dir).join("report.json")).unwrap()).unwrap();
        r["import"]["rejected"].clone()
    };
    for (file, geometry) in
        [("plain.parquet", None), ("wkb.parquet", Some("WKB")), ("native.geoparquet", Some("point"))]
    {
        sample_as_parquet(&p.join(file), geometry);
        let out = format!("from_{file}");
        ok(p, &["run", file, "--out", &out]);
        for f in ["zones.csv", "households.csv", "zones.geojson"] {
            let a = std::fs::read(p.join("from_csv").join(f)).unwrap();
            let b = std::fs::read(p.join(&out).join(f)).unwrap();
            assert!(a == b, "{f} from {file} differs from the CSV run's");
        }
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join(&out).join("report.json")).unwrap()).unwrap();
        let import = &report["import"];
        assert_eq!(import["format"]["kind"], "parquet", "{import}");
        assert_eq!(import["format"]["geometry"], geometry.map_or(serde_json::Value::Null, |_| "geometry".into()));
        assert_eq!(import["rejected"], rejected("from_csv"), "the same records are refused");
    }
}

#[test]
fn run_parquet_writes_geoparquet_that_reads_back_as_the_csv_files() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let csv = sample();
    ok(p, &["run", csv.to_str().unwrap(), "--out", "run", "--parquet"]);
    let run = p.join("run");

    let (header, rows) = csv_rows(&run.join("households.csv"));
    let (batches, geo) = read(&run.join("households.parquet"));
    let geo = geo.expect("geo metadata");
    assert_eq!(geo["version"], "1.1.0");
    assert_eq!(geo["primary_column"], "geometry");
    let g = &geo["columns"]["geometry"];
    assert_eq!(g["encoding"], "WKB");
    assert_eq!(g["geometry_types"], serde_json::json!(["Point"]));
    assert!(g.get("crs").is_none(), "no crs key: OGC:CRS84");
    assert_eq!(g["covering"]["bbox"]["xmin"], serde_json::json!(["bbox", "xmin"]));
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut want: Vec<&str> = header.iter().map(String::as_str).collect();
    want.extend(["geometry", "bbox"]);
    assert_eq!(names, want);
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), rows.len());
    let id = header.iter().position(|h| h == "household_id").unwrap();
    assert_eq!(schema.field(id).data_type(), &DataType::Utf8, "ids stay text");
    let lat = header.iter().position(|h| h == "latitude").unwrap();
    let lon = header.iter().position(|h| h == "longitude").unwrap();
    let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut i = 0;
    for b in &batches {
        for r in 0..b.num_rows() {
            let want = &rows[i];
            for (c, cell) in want.iter().enumerate() {
                let a = b.column(c);
                let got = if a.is_null(r) {
                    String::new()
                } else {
                    match a.data_type() {
                        DataType::Utf8 => a.as_string::<i32>().value(r).to_string(),
                        DataType::Int64 => a.as_primitive::<Int64Type>().value(r).to_string(),
                        DataType::Boolean => a.as_boolean().value(r).to_string(),
                        DataType::Float64 => {
                            let v = a.as_primitive::<Float64Type>().value(r);
                            // need is written exactly, households.csv rounds it to 6 decimals.
                            if header[c] == "need" { format!("{v:.6}") } else { v.to_string() }
                        }
                        t => panic!("column {} is {t}", header[c]),
                    }
                };
                let same = got == *cell
                    || (cell.parse::<f64>().ok().is_some() && got.parse::<f64>().ok() == cell.parse::<f64>().ok());
                assert!(same, "row {} column {}: parquet {got:?}, csv {cell:?}", i + 1, header[c]);
            }
            let (t, pt) = wkb_coords(b.column(header.len()).as_binary::<i32>().value(r));
            assert_eq!(t, 1);
            let (x, y) = pt[0];
            assert_eq!((x, y), (want[lon].parse().unwrap(), want[lat].parse().unwrap()));
            let bbox = b.column(header.len() + 1).as_struct();
            let bv = |n: &str| bbox.column_by_name(n).unwrap().as_primitive::<Float64Type>().value(r);
            assert_eq!((bv("xmin"), bv("ymin"), bv("xmax"), bv("ymax")), (x, y, x, y));
            (minx, miny, maxx, maxy) = (minx.min(x), miny.min(y), maxx.max(x), maxy.max(y));
            i += 1;
        }
    }
    assert_eq!(g["bbox"], serde_json::json!([minx, miny, maxx, maxy]));

    // Zones: every figure of zones.csv, and the rings of zones.geojson.
    let (zheader, zrows) = csv_rows(&run.join("zones.csv"));
    let (zb, zgeo) = read(&run.join("zones.parquet"));
    assert_eq!(zgeo.unwrap()["columns"]["geometry"]["geometry_types"], serde_json::json!(["Polygon"]));
    let zb = &zb[0];
    assert_eq!(zb.num_rows(), zrows.len());
    let gj: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("zones.geojson")).unwrap()).unwrap();
    for (r, zrow) in zrows.iter().enumerate() {
        for (c, name) in zheader.iter().enumerate() {
            let Some(a) = zb.column_by_name(name) else { continue };
            let want: f64 = zrow[c].parse().unwrap();
            let got = match a.data_type() {
                DataType::Int64 => a.as_primitive::<Int64Type>().value(r) as f64,
                _ => a.as_primitive::<Float64Type>().value(r),
            };
            // zones.csv rounds (critical_share to 4 decimals, …); the Parquet value is exact.
            let decimals = zrow[c].split_once('.').map_or(0, |(_, d)| d.len()) as i32;
            let half_unit = 0.5 * 10f64.powi(-decimals) + 1e-12;
            assert!((got - want).abs() <= half_unit, "zone row {r} {name}: {got} vs {want}");
        }
        let (t, ring) = wkb_coords(zb.column_by_name("geometry").unwrap().as_binary::<i32>().value(r));
        assert_eq!(t, 3);
        let gring: Vec<(f64, f64)> = gj["features"][r]["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        assert_eq!(ring, gring);
        assert_eq!(ring.first(), ring.last(), "closed ring");
    }

    // needmap reads its own GeoParquet back: the same households at the same places.
    ok(p, &["inspect", "run/households.parquet"]);
    let o = needmap(p, &["inspect", "run/households.parquet", "--json"]);
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["accepted"].as_u64(), Some(rows.len() as u64), "{rep}");
    assert_eq!(rep["rejected"], 0);
}

#[test]
fn typed_columns_become_the_text_a_csv_would_hold() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let n = 40;
    let lat = Float64Array::from_iter_values((0..n).map(|i| -12.05 - 0.0001 * f64::from(i)));
    let lon = Float64Array::from_iter_values((0..n).map(|i| -77.05 + 0.0001 * f64::from(i % 7)));
    let size = Int32Array::from_iter((0..n).map(|i| (i % 5 != 0).then_some(2 + i % 6)));
    let share = Float32Array::from_iter_values((0..n).map(|i| 0.1 * i as f32));
    let roof = DictionaryArray::<arrow_array::types::Int32Type>::from_iter(
        (0..n).map(|i| ["wood", "tin", "concrete"][i as usize % 3]),
    );
    let visited = Date32Array::from_iter_values((0..n).map(|i| 19_844 + i));
    let water = BooleanArray::from_iter((0..n).map(|i| (i % 4 != 0).then_some(i % 2 == 0)));
    let id = StringArray::from_iter_values((0..n).map(|i| format!("{:05}", 501 + i)));
    let schema = Schema::new(vec![
        Field::new("household_id", DataType::Utf8, false),
        Field::new("lat", DataType::Float64, false),
        Field::new("lon", DataType::Float64, false),
        Field::new("household_size", DataType::Int32, true),
        Field::new("share", DataType::Float32, false),
        Field::new("roof_material", roof.data_type().clone(), false),
        Field::new("visited", DataType::Date32, false),
        Field::new("piped_water", DataType::Boolean, true),
    ]);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(id),
        Arc::new(lat),
        Arc::new(lon),
        Arc::new(size),
        Arc::new(share),
        Arc::new(roof),
        Arc::new(visited),
        Arc::new(water),
    ];
    write_parquet(&p.join("typed.parquet"), &[RecordBatch::try_new(Arc::new(schema), cols).unwrap()], None, 16);
    ok(p, &["run", "typed.parquet", "--all-households", "--eps-m", "100", "--min-points", "3", "--out", "run"]);
    let (header, rows) = csv_rows(&p.join("run/households.csv"));
    assert_eq!(
        header[..8],
        ["household_id", "lat", "lon", "household_size", "share", "roof_material", "visited", "piped_water"]
    );
    assert_eq!(rows.len(), n as usize);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], format!("{:05}", 501 + i), "leading zeros kept");
        assert_eq!(r[1].parse::<f64>().unwrap(), -12.05 - 0.0001 * i as f64);
        assert_eq!(r[3], if i % 5 != 0 { (2 + i % 6).to_string() } else { String::new() }, "null is empty");
        assert_eq!(r[4], (0.1 * i as f32).to_string());
        assert_eq!(r[5], ["wood", "tin", "concrete"][i % 3]);
        assert!(r[6].starts_with("2024-"), "{}", r[6]);
        assert_eq!(r[7], if i % 4 != 0 { (i % 2 == 0).to_string() } else { String::new() });
    }
    assert_eq!(rows[0][6], "2024-05-01");
}

#[test]
fn bad_geometries_are_rejected_with_their_row_group_and_row() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut line = vec![1u8];
    line.extend(2u32.to_le_bytes());
    line.extend(2u32.to_le_bytes());
    line.extend([0u8; 32]);
    let geoms: Vec<Option<Vec<u8>>> = (0..12)
        .map(|i| match i {
            5 => None,
            7 => Some(line.clone()),
            9 => Some(wkb_point(f64::NAN, f64::NAN)),
            10 => Some(vec![1, 1, 0]),
            11 => Some(wkb_point(-77.0, 95.0)),
            _ => Some(wkb_point(-77.05 + 0.0001 * f64::from(i), -12.05)),
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("household_id", DataType::Utf8, false),
        Field::new("geometry", DataType::Binary, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values((0..12).map(|i| format!("H{i}")))),
            Arc::new(BinaryArray::from_iter(geoms.iter().map(|g| g.as_deref()))),
        ],
    )
    .unwrap();
    write_parquet(&p.join("bad.parquet"), &[batch], Some(geo_meta("WKB")), 4);
    let o = needmap(p, &["inspect", "bad.parquet", "--json"]);
    assert!(o.status.success(), "{}", show(&["inspect"], &o));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["accepted"], 7, "{rep}");
    let rejects = rep["rejects"].as_array().unwrap();
    let by_row = |row: u64| rejects.iter().find(|r| r["row"] == row).unwrap_or_else(|| panic!("row {row}: {rep}"));
    assert_eq!(by_row(6)["kind"], "missing_geometry");
    assert!(by_row(6)["message"].as_str().unwrap().contains("row group 2, row 2"), "{}", by_row(6));
    assert_eq!(by_row(8)["kind"], "unsupported_geometry");
    assert!(by_row(8)["message"].as_str().unwrap().contains("LineString"));
    assert!(by_row(8)["message"].as_str().unwrap().contains("row group 2, row 4"));
    assert_eq!(by_row(10)["kind"], "missing_geometry");
    assert!(by_row(11)["message"].as_str().unwrap().contains("row group 3, row 3"));
    assert_eq!(by_row(12)["kind"], "latitude_out_of_range");
    assert_eq!(by_row(6)["id"], "H5");
    // The summary names each reject by its row (a Parquet file has no lines).
    let o = needmap(p, &["inspect", "bad.parquet"]);
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("bad.parquet: row 8: geometry"), "{text}");
}

#[test]
fn a_projected_crs_or_a_broken_file_is_refused_with_a_message() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    sample_as_parquet(&p.join("good.parquet"), Some("WKB"));
    let schema = Arc::new(Schema::new(vec![Field::new("geometry", DataType::Binary, false)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(BinaryArray::from_iter_values([wkb_point(278_000.0, 8_665_000.0)]))],
    )
    .unwrap();
    let mut geo = geo_meta("WKB");
    geo["columns"]["geometry"]["crs"] =
        serde_json::json!({"name": "WGS 84 / UTM zone 18S", "id": {"authority": "EPSG", "code": 32718}});
    write_parquet(&p.join("utm.parquet"), &[batch], Some(geo), 10);
    let err = fails(p, &["inspect", "utm.parquet"]);
    assert!(err.starts_with("needmap: utm.parquet: ") || err.contains("utm.parquet:"), "{err}");
    assert!(err.contains("EPSG:32718") && err.contains("to_crs(4326)"), "{err}");

    let good = std::fs::read(p.join("good.parquet")).unwrap();
    std::fs::write(p.join("cut.parquet"), &good[..good.len() / 2]).unwrap();
    let err = fails(p, &["run", "cut.parquet", "--out", "never"]);
    assert!(err.contains("cut.parquet") && err.contains("Parquet"), "{err}");
    assert!(!p.join("never").exists());
    std::fs::write(p.join("noise.parquet"), b"PAR1 this is not really parquet PAR1").unwrap();
    let err = fails(p, &["cluster", "noise.parquet", "--out", "labels.csv"]);
    assert!(err.contains("noise.parquet"), "{err}");
    assert!(!p.join("labels.csv").exists());
}

/// Found by the `parquet` fuzz target (2026-11-28): a damaged file on which the Parquet
/// library itself panics while decoding a page. needmap refuses it in one line.
#[test]
fn a_file_the_parquet_library_panics_on_is_refused_in_one_line() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz_parquet_panic.parquet");
    std::fs::copy(&fixture, p.join("damaged.parquet")).unwrap();
    for args in [&["inspect", "damaged.parquet"][..], &["run", "damaged.parquet", "--out", "never"][..]] {
        let err = fails(p, args);
        assert!(err.contains("damaged.parquet") && err.contains("Parquet"), "{err}");
    }
    assert!(!p.join("never").exists());
}

/// A duplicate id in a file without lines names the first one's row, not "line 0".
#[test]
fn a_duplicate_id_names_the_row_of_the_first() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let schema = Arc::new(Schema::new(vec![
        Field::new("household_id", DataType::Utf8, false),
        Field::new("lat", DataType::Float64, false),
        Field::new("lon", DataType::Float64, false),
    ]));
    let ids = ["H1", "H2", "H3", "H2", "H5"];
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(ids)),
            Arc::new(Float64Array::from_iter_values((0..5).map(|i| -12.05 - 0.001 * f64::from(i)))),
            Arc::new(Float64Array::from_iter_values((0..5).map(|i| -77.05 + 0.001 * f64::from(i)))),
        ],
    )
    .unwrap();
    // Two rows a group: the duplicate and the first are read by different decoding threads.
    write_parquet(&p.join("dup.parquet"), &[batch], None, 2);
    let o = needmap(p, &["inspect", "dup.parquet", "--json"]);
    assert!(o.status.success(), "{}", show(&["inspect"], &o));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["accepted"], 4, "{rep}");
    let r = &rep["rejects"][0];
    assert_eq!((r["kind"].as_str(), r["row"].as_u64()), (Some("duplicate_id"), Some(4)), "{r}");
    assert_eq!(r["message"], "duplicate id \"H2\": already used on row 2; the first one is kept");
}

/// A GeoParquet whose numeric columns are typed (the sample survey's numbers as Int64 and
/// Float64, a few nulls among them) gives, with `run --parquet`, the very files the same
/// table written as CSV gives (each number as its text: Rust's `Display`, empty for null):
/// households.csv and zones.csv byte for byte, the GeoPackage's households row for row and
/// households.parquet value for value. needmap keeps such columns as numbers and writes their
/// text only where an output asks for it: this checks it writes what the text would give.
#[test]
fn typed_numbers_give_the_files_their_text_gives() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (header, rows) = csv_rows(&sample());
    let mut fields: Vec<Field> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut text: Vec<Vec<String>> = vec![Vec::new(); rows.len()];
    for (c, name) in header.iter().enumerate() {
        let parsed: Vec<Option<f64>> = rows.iter().map(|r| r[c].trim().parse::<f64>().ok()).collect();
        let numeric = name != "household_id" && parsed.iter().filter(|v| v.is_some()).count() * 100 >= rows.len() * 99;
        let ints = parsed.iter().flatten().all(|v| v.fract() == 0.0 && v.abs() < 1e15);
        if numeric && ints {
            let a = arrow_array::Int64Array::from_iter(parsed.iter().map(|v| v.map(|v| v as i64)));
            for (t, v) in text.iter_mut().zip(a.iter()) {
                t.push(v.map(|v| v.to_string()).unwrap_or_default());
            }
            fields.push(Field::new(name, DataType::Int64, true));
            cols.push(Arc::new(a));
        } else if numeric {
            let a = Float64Array::from_iter(parsed.iter().copied());
            for (t, v) in text.iter_mut().zip(a.iter()) {
                t.push(v.map(|v| v.to_string()).unwrap_or_default());
            }
            fields.push(Field::new(name, DataType::Float64, true));
            cols.push(Arc::new(a));
        } else {
            for (t, r) in text.iter_mut().zip(&rows) {
                t.push(r[c].clone());
            }
            fields.push(Field::new(name, DataType::Utf8, true));
            cols.push(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[c].as_str()))));
        }
    }
    assert!(fields.iter().filter(|f| f.data_type() == &DataType::Float64).count() >= 3, "{fields:?}");
    assert!(fields.iter().filter(|f| f.data_type() == &DataType::Int64).count() >= 3, "{fields:?}");
    let lat = header.iter().position(|h| h == "latitude").unwrap();
    let lon = header.iter().position(|h| h == "longitude").unwrap();
    let wkb: Vec<Option<Vec<u8>>> =
        text.iter().map(|t| Some(wkb_point(t[lon].parse().ok()?, t[lat].parse().ok()?))).collect();
    fields.push(Field::new("geometry", DataType::Binary, true));
    cols.push(Arc::new(BinaryArray::from_iter(wkb.iter().map(|w| w.as_deref()))));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    write_parquet(&p.join("typed.parquet"), &[batch], Some(geo_meta("WKB")), 3000);
    let mut w = csv::Writer::from_path(p.join("typed.csv")).unwrap();
    w.write_record(&header).unwrap();
    for t in &text {
        w.write_record(t).unwrap();
    }
    w.flush().unwrap();

    for input in ["typed.parquet", "typed.csv"] {
        let out = format!("run-{}", &input[6..]);
        ok(p, &["run", input, "--out", &out, "--parquet"]);
    }
    let (a, b) = (p.join("run-parquet"), p.join("run-csv"));
    for f in ["households.csv", "zones.csv"] {
        let (x, y) = (std::fs::read_to_string(a.join(f)).unwrap(), std::fs::read_to_string(b.join(f)).unwrap());
        assert!(x.lines().count() > 100 || f == "zones.csv", "{f}");
        assert!(x == y, "{f} differs from the CSV run's");
    }
    let rows_of = |dir: &Path| -> Vec<Vec<rusqlite::types::Value>> {
        let db = rusqlite::Connection::open(dir.join("needmap.gpkg")).unwrap();
        let mut st = db.prepare("SELECT * FROM households ORDER BY fid").unwrap();
        let n = st.column_count();
        st.query_map([], |r| (0..n).map(|k| r.get::<_, rusqlite::types::Value>(k)).collect())
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let (x, y) = (rows_of(&a), rows_of(&b));
    assert_eq!(x.len(), y.len());
    assert!(x.iter().any(|r| r.iter().any(|v| matches!(v, rusqlite::types::Value::Real(_)))));
    assert!(x.iter().any(|r| r.iter().any(|v| matches!(v, rusqlite::types::Value::Integer(_)))));
    for (k, (r, s)) in x.iter().zip(&y).enumerate() {
        assert_eq!(r, s, "GeoPackage households row {}", k + 1);
    }
    let (x, _) = read(&a.join("households.parquet"));
    let (y, _) = read(&b.join("households.parquet"));
    assert_eq!(x, y, "households.parquet");
}
