//! `needmap map` and `needmap atlas` on a real run of the Lima sample, checked with readers
//! that share no code with ours: the `png` decoder, poppler's `pdfinfo`, `pdftotext` and
//! `pdftoppm` (package poppler-utils), our own Web Mercator formula and pagination arithmetic.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;
use common::{entries, fails, needmap, show};

/// One run of the Lima sample, shared by the tests of this binary.
fn lima_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("print-lima");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv");
        let args = ["run", input.to_str().unwrap(), "--out", "run"];
        let o = needmap(&root, &args);
        assert!(o.status.success(), "{}", show(&args, &o));
        root.join("run")
    })
}

fn ok(dir: &Path, args: &[&str]) {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
}

/// Runs a poppler tool; a clear failure when poppler-utils is missing.
fn poppler(tool: &str, args: &[&str]) -> String {
    let o = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}; install poppler-utils (apt-get install poppler-utils)"));
    assert!(o.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn pdfinfo(pdf: &Path) -> (usize, String) {
    let info = poppler("pdfinfo", &[pdf.to_str().unwrap()]);
    let field =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).unwrap_or_default();
    (field("Pages:").parse().unwrap(), field("Page size:"))
}

fn pdftotext(pdf: &Path, first: usize, last: usize) -> String {
    let (f, l) = (first.to_string(), last.to_string());
    poppler("pdftotext", &["-f", &f, "-l", &l, "-layout", pdf.to_str().unwrap(), "-"])
}

/// households.csv as (header, rows).
fn households(run: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(run.join("households.csv")).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// zones.csv: (rank, zone) in file (rank) order.
fn zones(run: &Path) -> Vec<(u32, u32)> {
    let mut r = csv::Reader::from_path(run.join("zones.csv")).unwrap();
    r.records().map(|x| x.unwrap()).map(|x| (x[0].parse().unwrap(), x[1].parse().unwrap())).collect()
}

/// Normalised Web Mercator, written out again here (x east, y south).
fn mercator(lon: f64, lat: f64) -> (f64, f64) {
    let x = (lon + 180.0) / 360.0;
    let phi = lat.to_radians();
    let y = 0.5 - (std::f64::consts::FRAC_PI_4 + phi / 2.0).tan().ln() / (2.0 * std::f64::consts::PI);
    (x, y)
}

#[test]
fn map_png_is_large_and_zones_show_where_their_centres_project() {
    let run = lima_run();
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["map", run.to_str().unwrap(), "--out", "m.png"]);
    let decoder = png::Decoder::new(std::fs::File::open(d.path().join("m.png")).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let georef = reader
        .info()
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == "needmap:frame")
        .map(|t| t.text.clone())
        .expect("the PNG carries its georeference");
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert!(frame.width >= 1600, "{} px wide", frame.width);
    assert!(frame.height > frame.width, "A4 portrait");
    let channels = frame.line_size / frame.width as usize;
    let nums = |key: &str| -> Vec<f64> {
        let v = georef.split_whitespace().find_map(|w| w.strip_prefix(key)).unwrap();
        v.split(',').map(|x| x.parse().unwrap()).collect()
    };
    let (f, m) = (nums("frame_px="), nums("merc="));
    // Same scale on both axes: the frame keeps Mercator's aspect.
    let (sx, sy) = (f[2] / (m[2] - m[0]), f[3] / (m[3] - m[1]));
    assert!((sx / sy - 1.0).abs() < 1e-3, "{georef}");
    let zones: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("zones.geojson")).unwrap()).unwrap();
    let features = zones["features"].as_array().unwrap();
    assert!(!features.is_empty());
    for z in features.iter().take(5) {
        let (lon, lat) =
            (z["properties"]["centre_lon"].as_f64().unwrap(), z["properties"]["centre_lat"].as_f64().unwrap());
        let (x, y) = mercator(lon, lat);
        let px = (f[0] + (x - m[0]) * sx) as i64;
        let py = (f[1] + (y - m[1]) * sy) as i64;
        // A purple zone pixel (fill or label) near the centre: blue well above green.
        let purple = (-6..=6).flat_map(|dx| (-6..=6).map(move |dy| (px + dx, py + dy))).any(|(x, y)| {
            let i = y as usize * frame.line_size + x as usize * channels;
            let (r, g, b) = (buf[i] as i32, buf[i + 1] as i32, buf[i + 2] as i32);
            b - g > 30 && r < b
        });
        assert!(purple, "no zone colour near zone {} at pixel ({px}, {py})", z["properties"]["zone"]);
    }
}

#[test]
fn map_pdf_pages_have_the_right_size_and_words() {
    let run = lima_run().to_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    for (args, size) in [
        (vec![], "595.276 x 841.89 pts (A4)"),
        (vec!["--page", "a3"], "841.89 x 1190.55 pts (A3)"),
        (vec!["--landscape"], "841.89 x 595.276 pts (A4)"),
    ] {
        let mut a = vec!["map", run, "--out", "m.pdf", "--force", "--title", "Lima: zonas críticas"];
        a.extend(args.iter().copied());
        ok(d.path(), &a);
        let pdf = d.path().join("m.pdf");
        assert_eq!(pdfinfo(&pdf), (1, size.to_string()), "{a:?}");
        let text = pdftotext(&pdf, 1, 1);
        for w in [
            "Lima: zonas críticas",
            "Zones by priority rank",
            "Households by need score",
            "Critical household",
            "Natural Earth",
            "lima_households.csv",
        ] {
            assert!(text.contains(w), "{a:?}: {w:?} not in the PDF's text:\n{text}");
        }
    }
    ok(d.path(), &["map", run, "--out", "es.pdf", "--lang", "es"]);
    let text = pdftotext(&d.path().join("es.pdf"), 1, 1);
    for w in [
        "Zonas de necesidad crítica",
        "Zonas por rango de prioridad",
        "Hogares por puntaje de necesidad",
        "Hogar crítico",
        "Mapa base: Natural Earth",
    ] {
        assert!(text.contains(w), "{w:?} not in the Spanish map:\n{text}");
    }
}

/// The pagination rule, stated independently: the overview page lists 18 zones and each
/// further page 50; a zone page lists 22 households and each further page 50.
fn pages(rows: usize, first: usize) -> usize {
    1 + rows.saturating_sub(first).div_ceil(50)
}

#[test]
fn atlas_has_one_page_per_top_zone_and_their_households() {
    let run = lima_run();
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["atlas", run.to_str().unwrap(), "--top", "3", "--out", "atlas.pdf"]);
    let pdf = d.path().join("atlas.pdf");
    let zones = zones(run);
    let (header, rows) = households(run);
    let zone_col = header.iter().position(|h| h == "zone").unwrap();
    let id_col = header.iter().position(|h| h == "household_id").unwrap();
    let overview = pages(zones.len(), 18);
    let mut expected = overview;
    let mut ranges = Vec::new();
    for &(_, zone) in zones.iter().take(3) {
        let ids: Vec<&str> =
            rows.iter().filter(|r| r[zone_col] == zone.to_string()).map(|r| r[id_col].as_str()).collect();
        let n = pages(ids.len(), 22);
        ranges.push((expected + 1, expected + n, ids));
        expected += n;
    }
    let (count, size) = pdfinfo(&pdf);
    assert_eq!(count, expected, "pages: {overview} overview + the top 3 zones' pages");
    assert_eq!(size, "595.276 x 841.89 pts (A4)");
    let first = pdftotext(&pdf, 1, 1);
    assert!(first.contains("Ranked zones") && first.contains(&format!("Page 1 of {expected}")), "{first}");
    for (k, (from, to, ids)) in ranges.iter().enumerate() {
        let text = pdftotext(&pdf, *from, *to);
        let (rank, zone) = zones[k];
        assert!(text.contains(&format!("Zone #{rank} (zone {zone})")), "{text}");
        for id in ids {
            assert!(text.contains(id), "household {id} of zone #{rank} not on pages {from}-{to}");
        }
    }
    // poppler renders a zone page.
    let prefix = d.path().join("page");
    poppler("pdftoppm", &["-r", "50", "-f", "2", "-l", "2", "-png", pdf.to_str().unwrap(), prefix.to_str().unwrap()]);
    let rendered: Vec<String> = entries(d.path()).into_iter().filter(|n| n.starts_with("page")).collect();
    assert_eq!(rendered.len(), 1, "{rendered:?}");
    assert!(std::fs::metadata(d.path().join(&rendered[0])).unwrap().len() > 1000);
}

#[test]
fn atlas_in_spanish() {
    let run = lima_run();
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["atlas", run.to_str().unwrap(), "--top", "1", "--lang", "es", "--out", "a.pdf"]);
    // The overview (the zones table may continue on page 2) and the first zone page.
    let text = pdftotext(&d.path().join("a.pdf"), 1, 3);
    for w in ["Zonas priorizadas", "Hogares por puntaje de necesidad", "Página 1 de", "Lista de visitas", "Críticos"]
    {
        assert!(text.contains(w), "{w:?} not in the Spanish atlas:\n{text}");
    }
}

#[test]
fn bad_input_gives_a_clear_message_and_no_file() {
    let run = lima_run().to_str().unwrap().to_string();
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("empty")).unwrap();
    assert_eq!(
        fails(d.path(), &["map", "empty", "--out", "m.png"]),
        "needmap: empty: not a needmap run: zones.geojson is missing; give the output folder of `needmap run`"
    );
    assert_eq!(
        fails(d.path(), &["atlas", "empty", "--out", "a.pdf"]),
        "needmap: empty: not a needmap run: zones.geojson is missing; give the output folder of `needmap run`"
    );
    assert_eq!(
        fails(d.path(), &["map", "nowhere", "--out", "m.pdf"]),
        "needmap: nowhere: not a folder; give the output folder of `needmap run`"
    );
    assert_eq!(
        fails(d.path(), &["map", &run, "--out", "m.jpg"]),
        "needmap: m.jpg: unknown output type; name the file with .png or .pdf"
    );
    assert_eq!(
        fails(d.path(), &["atlas", &run, "--out", "a.png"]),
        "needmap: a.png: unknown output type; name the file with .pdf"
    );
    assert_eq!(
        fails(d.path(), &["map", &run, "--out", "missing/m.png"]),
        "needmap: missing/m.png: cannot write there: the folder missing does not exist"
    );
    assert_eq!(
        fails(d.path(), &["map", &run, "--out", "m.png", "--tiles", "none.mbtiles"]),
        "needmap: none.mbtiles: no such file or folder; give a z/x/y tile folder or an .mbtiles file"
    );
    assert_eq!(entries(d.path()), ["empty"]);
    // An existing output is kept unless --force.
    std::fs::write(d.path().join("keep.png"), "keep").unwrap();
    let e = fails(d.path(), &["map", &run, "--out", "keep.png"]);
    assert!(e.ends_with("keep.png: already exists; choose another output or pass --force to replace it"), "{e}");
    assert_eq!(std::fs::read_to_string(d.path().join("keep.png")).unwrap(), "keep");
}

/// Found by the `mbtiles` fuzz target: a tile whose PNG header claims 4 × 4,244,635,654
/// pixels made the decoder allocate 50 GB at once, and the process aborted. Such a tile is
/// now left out (as a missing one is); the good tiles beside it are still drawn.
#[test]
fn fuzz_a_tile_claiming_a_huge_image_is_left_out() {
    use needmap::print::raster::decode;
    use needmap::print::tiles::TileSource;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz_mbtiles_huge_png.mbtiles");
    let src = TileSource::open(&path).unwrap();
    // The fuzzer damaged the file elsewhere too: SQLite's index gives two zoom levels.
    assert_eq!(src.zooms(), &[0, 1]);
    assert!(src.tile(1, 1, 0).is_none(), "the tile claiming a huge image");
    for (z, x, y) in [(0, 0, 0), (1, 0, 1)] {
        let image = src.tile(z, x, y).unwrap_or_else(|| panic!("tile {z}/{x}/{y}"));
        let px = decode(&image).unwrap_or_else(|| panic!("tile {z}/{x}/{y} decodes"));
        assert_eq!((px.width(), px.height()), (4, 4));
    }
}
