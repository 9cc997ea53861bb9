//! Every input format through the public import, on files written here and read back.

use std::path::Path;

use needmap::data::{Format, ImportOptions, IssueKind, Keep, import};
use needmap::progress::Progress;

fn read(path: &Path, opts: &ImportOptions) -> (needmap::data::Households, needmap::data::ImportReport) {
    import(path, opts, &Keep::All, &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn kobo_xlsx_prefers_the_named_geopoint_and_reads_accuracy() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("kobo.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("encuesta").unwrap();
    let header = [
        "_geolocation",
        "ubicacion",
        "_ubicacion_latitude",
        "_ubicacion_longitude",
        "_ubicacion_altitude",
        "_ubicacion_precision",
        "num_personas",
        "agua_potable",
        "_id",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows: [(f64, f64, f64, i64, &str, i64); 3] = [
        (-12.2134, -76.9324, 4.9, 5, "si", 101),
        (-12.2135, -76.9325, 250.0, 3, "no", 102),
        (-12.2136, -76.9326, 6.0, 4, "no", 103),
    ];
    for (r, &(lat, lon, acc, people, agua, id)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, "[-1.0, -1.0]").unwrap();
        ws.write_string(r, 1, format!("{lat} {lon} 180 {acc}")).unwrap();
        ws.write_number(r, 2, lat).unwrap();
        ws.write_number(r, 3, lon).unwrap();
        ws.write_number(r, 4, 180.0).unwrap();
        ws.write_number(r, 5, acc).unwrap();
        ws.write_number(r, 6, people as f64).unwrap();
        ws.write_string(r, 7, agua).unwrap();
        ws.write_number(r, 8, id as f64).unwrap();
    }
    // A row without GPS: the enumerator could not get a fix.
    ws.write_number(4, 6, 2.0).unwrap();
    ws.write_number(4, 8, 104.0).unwrap();
    wb.save(&path).unwrap();

    let opts = ImportOptions { accuracy_cutoff_m: Some(50.0), ..Default::default() };
    let (h, r) = read(&path, &opts);
    assert_eq!(r.format, Format::Spreadsheet { sheet: "encuesta".into() });
    assert_eq!(
        r.coordinates,
        "latitude from column \"_ubicacion_latitude\", longitude from column \"_ubicacion_longitude\""
    );
    assert!(r.notes.iter().any(|n| n.contains("not from _geolocation")), "{:?}", r.notes);
    assert_eq!(r.id_column.as_deref(), Some("_id"));
    assert_eq!(h.len(), 3);
    assert_eq!(h.lat_deg, [-12.2134, -12.2135, -12.2136]);
    // Whole numbers read as people write them, not "101.0".
    assert_eq!(h.id(0), "101");
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(
        (r.rejects[0].kind, r.rejects[0].line, r.rejects[0].column),
        (IssueKind::MissingCoordinate, Some(5), Some(3))
    );
    let acc = r.accuracy.as_ref().unwrap();
    assert_eq!((acc.column.as_str(), acc.over_cutoff, acc.max_m), ("_ubicacion_precision", 1, 250.0));
    assert_eq!(r.flags.iter().filter(|f| f.kind == IssueKind::ImpreciseGps).count(), 1);
    let missing_sheet = import(
        &path,
        &ImportOptions { sheet: Some("datos".into()), ..Default::default() },
        &Keep::All,
        &Progress::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(missing_sheet.ends_with("has no sheet named \"datos\"; its sheets are [\"encuesta\"]"), "{missing_sheet}");
}

#[test]
fn geojson_points_multipoints_and_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.geojson");
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"007","has_water":true},"geometry":{"type":"Point","coordinates":[-71.54,-16.40,2300]}},
 {"type":"Feature","properties":{"id":"008","has_water":false},"geometry":{"type":"MultiPoint","coordinates":[[-71.55,-16.41],[-71.56,-16.42]]}},
 {"type":"Feature","properties":{"id":"009"},"geometry":{"type":"LineString","coordinates":[[-71.5,-16.4],[-71.6,-16.5]]}},
 {"type":"Feature","properties":{"id":"010","extra":1},"geometry":null}
]}"#,
    )
    .unwrap();
    let (h, r) = read(&path, &ImportOptions::default());
    assert_eq!(r.format, Format::Geojson);
    assert_eq!(h.len(), 3);
    assert_eq!(h.row, [1, 2, 2], "a MultiPoint's points share its feature number");
    assert_eq!((h.lon_deg[0], h.lat_deg[0]), (-71.54, -16.40), "GeoJSON is lon, lat");
    assert_eq!(h.id(0), "007");
    assert_eq!(h.text(1, h.column("has_water").unwrap()), "false");
    let kinds: Vec<(u32, IssueKind)> = r.rejects.iter().map(|i| (i.row, i.kind)).collect();
    assert_eq!(kinds, [(3, IssueKind::UnsupportedGeometry), (4, IssueKind::MissingGeometry)]);
    // Each reject carries its feature's line in the file (found here by its id).
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |id: &str| text.lines().position(|l| l.contains(id)).unwrap() as u32 + 1;
    assert_eq!(
        r.rejects.iter().map(|i| i.line).collect::<Vec<_>>(),
        [Some(line_of("\"009\"")), Some(line_of("\"010\""))]
    );
    assert_eq!(
        r.rejects[0].located(&path),
        format!(
            "{}:{}: is a LineString; only Point and MultiPoint features are households",
            path.display(),
            line_of("\"009\"")
        )
    );
}

#[test]
fn semicolons_bom_latin1_quotes_and_line_breaks() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("kobo.csv");
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(b"\"_id\";\"_gps_latitude\";\"_gps_longitude\";\"observaciones\";\"distrito\"\n");
    bytes.extend_from_slice(b"\"1\";\"-12.1\";\"-77.0\";\"techo roto; sin agua, \"\"urgente\"\"\";\"Lima\"\n");
    bytes.extend_from_slice(b"\"2\";\"-12.2\";\"-77.1\";\"primera l\xc3\xadnea\nsegunda\";\"Lur\xedn\"\n");
    bytes.extend_from_slice(b"\"3\";\"-12.3\";\"-77.2\";\"\";\"Ate\"\n");
    std::fs::write(&path, bytes).unwrap();
    let (h, r) = read(&path, &ImportOptions::default());
    assert_eq!(r.format, Format::Csv { delimiter: ';' });
    assert_eq!(h.len(), 3);
    let obs = h.column("observaciones").unwrap();
    assert_eq!(h.text(0, obs), "techo roto; sin agua, \"urgente\"");
    assert_eq!(h.text(1, obs), "primera línea\nsegunda");
    assert_eq!(h.text(1, h.column("distrito").unwrap()), "Lurín", "Latin-1 field decoded");
    assert_eq!(h.line, [2, 3, 5], "a quoted line break moves the next record's line");
    assert!(r.notes.iter().any(|n| n.contains("1 fields were not valid UTF-8")), "{:?}", r.notes);
}

#[test]
fn geopoint_wkt_hxl_and_named_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let cases: &[(&str, &str, &[f64])] = &[
        ("geopoint.csv", "id,gps\na,-12.1 -77.0 150 5\nb,-12.2 -77.1 150 8\n", &[-12.1, -12.2]),
        ("wkt.csv", "id,geometry\na,POINT (-77.0 -12.1)\nb,POINT (-77.1 -12.2)\n", &[-12.1, -12.2]),
        ("hxl.csv", "Name,Lat,Long\n#loc+name,#geo+lat,#geo+lon\na,-12.1,-77.0\nb,-12.2,-77.1\n", &[-12.1, -12.2]),
        ("tab.tsv", "id\tLatitud\tLongitud\na\t-12.1\t-77.0\nb\t-12.2\t-77.1\n", &[-12.1, -12.2]),
    ];
    for (name, body, lats) in cases {
        let path = p.join(name);
        std::fs::write(&path, body).unwrap();
        let (h, r) = read(&path, &ImportOptions::default());
        assert_eq!(h.lat_deg, *lats, "{name}: {}", r.coordinates);
        assert_eq!(h.row, [1, 2], "{name}: the HXL row is not a record");
    }
    // Named by the user, overriding detection.
    let path = p.join("custom.csv");
    std::fs::write(&path, "norte,este\n-12.1,-77.0\n").unwrap();
    let opts =
        ImportOptions { lat_column: Some("norte".into()), lon_column: Some("este".into()), ..Default::default() };
    assert_eq!(read(&path, &opts).0.lon_deg, [-77.0]);
}

/// A quote that never closes makes the csv crate read the rest of the file as one value: the
/// report says where it opened and how far it reached, and a closed quoted line break does not.
#[test]
fn an_unclosed_quote_is_named_with_the_lines_it_swallowed() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (h, r) = read(&corpus.join("unclosed_quote.csv"), &ImportOptions::default());
    let lines = std::fs::read_to_string(corpus.join("unclosed_quote.csv")).unwrap().lines().count();
    let note = r.notes.iter().find(|n| n.contains("never closed")).expect("a note on the open quote");
    assert!(note.starts_with("line 7: "), "{note}");
    assert!(note.contains(&format!("(line {lines})")), "{note}");
    // Households up to the quote are read as before.
    assert_eq!(h.len(), 6);
    let (_, r) = read(&corpus.join("quoted_newlines.csv"), &ImportOptions::default());
    assert!(!r.notes.iter().any(|n| n.contains("never closed")), "{:?}", r.notes);
    // A closed quoted field with a line break as the very last value, no final newline.
    let dir = tempfile::tempdir().unwrap();
    let closed = dir.path().join("closed.csv");
    std::fs::write(&closed, "id,lat,lon,note\n1,-12.05,-77.04,ok\n2,-12.06,-77.05,\"two\nlines\"").unwrap();
    let (h, r) = read(&closed, &ImportOptions::default());
    assert_eq!(h.len(), 2);
    assert!(!r.notes.iter().any(|n| n.contains("never closed")), "{:?}", r.notes);
}
