//! `needmap report`: one self-contained HTML document per run, checked against the run's own
//! files (zones.csv, report.json, sites.csv) with a small tag scanner written here, and opened
//! in a real browser (headless Chromium) when one is installed.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{entries, fails, needmap, show};

const LIMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample_data/lima_households.csv");
const CHROMIUM: &str = "/usr/bin/chromium";

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One tag of the document: its name (lowercase, `/name` for an end tag) and attributes.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

/// Every tag, in order. Text outside tags cannot hold `<` once escaped, so scanning from `<`
/// to `>` (quotes respected) finds exactly the tags a browser would; the style sheet has no
/// `<` either.
fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off + 1;
        let mut j = start;
        let mut quote = None;
        while j < b.len() {
            match (quote, b[j]) {
                (None, b'"' | b'\'') => quote = Some(b[j]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        let inner = &html[start..j];
        i = j + 1;
        if inner.starts_with('!') {
            continue;
        }
        let raw: String = inner.chars().take_while(|c| !c.is_whitespace()).collect();
        let name = raw.trim_end_matches('/').to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut r = inner[raw.len()..].trim_start();
        while !r.is_empty() && !r.starts_with('/') {
            let key: String = r.chars().take_while(|c| !c.is_whitespace() && *c != '=' && *c != '/').collect();
            r = &r[key.len()..];
            let mut value = String::new();
            if let Some(v) = r.strip_prefix('=') {
                if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
                    let end = v[1..].find(q).unwrap() + 1;
                    value = v[1..end].to_string();
                    r = &v[end + 1..];
                } else {
                    value = v.chars().take_while(|c| !c.is_whitespace()).collect();
                    r = &v[value.len()..];
                }
            }
            if key.is_empty() {
                break;
            }
            attrs.push((key.to_ascii_lowercase(), value));
            r = r.trim_start();
        }
        out.push(Tag { name, attrs });
    }
    out
}

/// The tags a report may have; anything else (a `<script>` from a column name) fails.
const ALLOWED: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "p",
    "dl",
    "div",
    "dt",
    "dd",
    "small",
    "nav",
    "ol",
    "ul",
    "li",
    "a",
    "main",
    "section",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "strong",
    "span",
    "bdi",
    "code",
    "pre",
    "figure",
    "figcaption",
    "img",
    "svg",
    "line",
    "text",
    "polyline",
    "circle",
    "footer",
];

/// Checks the document's shape and that it needs nothing from outside.
fn check_document(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n"), "{}", &html[..100.min(html.len())]);
    assert!(html.trim_end().ends_with("</html>"));
    let tags = tags(html);
    let n = |name: &str| tags.iter().filter(|t| t.name == name).count();
    for one in ["html", "head", "body", "title", "style", "main"] {
        assert_eq!(n(one), 1, "<{one}>");
        assert_eq!(n(&format!("/{one}")), 1, "</{one}>");
    }
    for paired in ["table", "section", "tr", "td", "th", "svg", "figure", "pre", "ul", "ol", "bdi", "p"] {
        assert_eq!(n(paired), n(&format!("/{paired}")), "<{paired}> and </{paired}> pair up");
    }
    for t in &tags {
        let bare = t.name.trim_start_matches('/');
        assert!(ALLOWED.contains(&bare), "unexpected tag <{}>", t.name);
        for (k, v) in &t.attrs {
            assert!(!k.starts_with("on"), "event handler {k}={v:?} on <{}>", t.name);
            match k.as_str() {
                "src" => assert!(v.starts_with("data:image/png;base64,"), "src={:?}", &v[..v.len().min(60)]),
                "href" => assert!(v.starts_with('#'), "href={v:?}"),
                "style" => assert!(!v.contains("url("), "style={v:?}"),
                _ => {}
            }
            let lower = v.to_ascii_lowercase();
            assert!(!lower.contains("http://") && !lower.contains("https://"), "{k}={v:?} on <{}>", t.name);
        }
    }
    let style = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
    assert!(!style.contains("url(") && !style.contains("@import"), "the style sheet loads nothing");
}

/// HTML text back to plain text: tags dropped, the five references undone, thin and
/// no-break spaces removed (the report groups thousands with them).
fn text_of(cell: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in cell.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace(['\u{202F}', '\u{A0}'], "")
        .trim()
        .to_string()
}

/// The body rows of the table with `id`, as plain-text cells.
fn table_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html.find(&format!("<table id=\"{id}\">")).unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..];
    body.split("<tr>")
        .skip(1)
        .map(|row| row.split("<td").skip(1).map(|c| text_of(&c[c.find('>').unwrap() + 1..])).collect())
        .collect()
}

fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records().map(|rec| h.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect()).collect()
}

fn close(shown: &str, exact: f64, decimals: i32) -> bool {
    let v: f64 = shown.trim_end_matches('%').parse().unwrap_or_else(|_| panic!("{shown:?} is not a number"));
    (v - exact).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9
}

/// Standard base64, decoded here independently of the report's encoder.
fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        acc = (acc << 6) | u32::from(val(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn png_size_and_pixels(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px =
        buf[..info.buffer_size()].chunks(ch).map(|p| if ch >= 3 { [p[0], p[1], p[2]] } else { [p[0]; 3] }).collect();
    (info.width, info.height, px)
}

/// A Lima run (DBSCAN with suggested parameters) and its report, shared by the tests below.
fn lima_run(dir: &Path) -> PathBuf {
    ok(dir, &["run", LIMA, "--out", "run"]);
    dir.join("run")
}

#[test]
fn the_lima_report_matches_the_run() {
    let d = tempfile::tempdir().unwrap();
    let run = lima_run(d.path());
    let err = ok(d.path(), &["report", "run", "--out", "report.html"]);
    assert!(err.starts_with("needmap: report of run ("), "{err}");
    assert_eq!(entries(d.path()), ["report.html", "run"], "nothing else left, no temporary file");
    let html = std::fs::read_to_string(d.path().join("report.html")).unwrap();
    check_document(&html);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));

    // The ranked zones table is zones.csv.
    let zones = csv_rows(&run.join("zones.csv"));
    let rows = table_rows(&html, "zones-table");
    assert!(zones.len() > 5, "{} zones", zones.len());
    assert_eq!(rows.len(), zones.len());
    for (row, z) in rows.iter().zip(&zones) {
        assert_eq!(row[0], z["rank"]);
        assert_eq!(row[1], z["zone"]);
        assert_eq!(row[2], z["households"]);
        assert!(close(&row[3], z["people"].parse().unwrap(), 0), "{row:?} {z:?}");
        assert_eq!(row[4], z["critical_households"]);
        assert!(close(&row[5], z["critical_share"].parse::<f64>().unwrap() * 100.0, 1), "{row:?}");
        assert!(close(&row[6], z["mean_need"].parse().unwrap(), 3), "{row:?}");
        assert!(close(&row[7], z["total_need"].parse().unwrap(), 1), "{row:?}");
        assert!(close(&row[8], z["area_m2"].parse::<f64>().unwrap() / 1e6, 3), "{row:?}");
        assert!(close(&row[9], z["density_per_km2"].parse().unwrap(), 0), "{row:?}");
    }

    // The import counts and the first rejects are report.json's.
    let report = json(&run.join("report.json"));
    let imp = &report["import"];
    let counts = table_rows(&html, "import-counts");
    let want: Vec<String> =
        ["records", "accepted", "rejected", "flagged"].iter().map(|k| imp[k].as_u64().unwrap().to_string()).collect();
    assert_eq!(counts, [want]);
    assert!(imp["rejected"].as_u64().unwrap() > 0, "the sample has rejects to show");
    let rejects = table_rows(&html, "rejects");
    let lines: Vec<String> =
        imp["rejects"].as_array().unwrap().iter().take(10).map(|r| r["line"].to_string()).collect();
    assert_eq!(rejects.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), lines);
    let ids: Vec<&str> =
        imp["rejects"].as_array().unwrap().iter().take(10).map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rejects.iter().map(|r| r[2].as_str()).collect::<Vec<_>>(), ids);
    let flags = table_rows(&html, "flags");
    assert_eq!(flags.len(), imp["flags"].as_array().unwrap().len().min(10));

    // Every indicator with its weight.
    let indicators = table_rows(&html, "indicators");
    let want: Vec<(String, f64)> = report["need"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["indicator"]["column"].as_str().unwrap().to_string(), i["indicator"]["weight"].as_f64().unwrap()))
        .collect();
    assert_eq!(indicators.len(), want.len());
    for (row, (column, weight)) in indicators.iter().zip(&want) {
        assert_eq!(&row[0], column);
        assert!(close(&row[3], *weight, 2));
    }

    // DBSCAN: the parameters, and the k-distance plot drawn again from households.csv has
    // its knee where the run's suggestion put eps.
    let eps = report["cluster"]["eps_m"].as_f64().unwrap();
    assert_eq!(report["cluster"]["suggested"]["eps_m"].as_f64(), Some(eps));
    let params = table_rows(&html, "cluster-params");
    let min_points = report["cluster"]["min_points"].as_u64().expect("min points recorded");
    assert!(close(&params[0][1], eps, 0) && params[1][1] == min_points.to_string());
    assert!(html.contains("<svg class=\"plot\""));
    assert!(html.contains(&format!("chosen eps = {eps} m")), "eps line");
    assert!(html.contains(&format!("knee {eps} m")), "the recomputed knee is the run's eps");

    // The map: a PNG about 1200 px wide, with something drawn on it.
    let src = tags(&html).into_iter().find(|t| t.name == "img").unwrap();
    let data = &src.attrs.iter().find(|(k, _)| k == "src").unwrap().1;
    let (w, h, px) = png_size_and_pixels(&unbase64(data.trim_start_matches("data:image/png;base64,")));
    assert!((1150..=1250).contains(&w) && h > 600, "{w}×{h}");
    let coloured = px.iter().filter(|p| p.iter().max().unwrap() - p.iter().min().unwrap() > 40).count();
    assert!(coloured > px.len() / 20, "{coloured} coloured pixels of {}", px.len());

    // The command that made the run, and the analysis that reproduces it.
    let line = report["command"]["line"].as_str().unwrap();
    assert!(line.starts_with("needmap run /") && line.ends_with("lima_households.csv --out run"), "{line}");
    assert_eq!(report["command"]["cwd"].as_str().map(Path::new), Some(d.path().canonicalize().unwrap().as_path()));
    assert!(html.contains(&format!("<pre class=\"cmd\">{line}</pre>")));
    let toml = std::fs::read_to_string(run.join("analysis.toml")).unwrap();
    let shown = html.split("<pre class=\"toml\">").nth(1).unwrap().split("</pre>").next().unwrap();
    assert_eq!(text_of(shown), toml.replace(['\u{202F}', '\u{A0}'], "").trim());
    assert!(html.contains("--analysis run/analysis.toml --out run-rerun</pre>"));
    // Without the optional stages, no sections for them.
    for id in ["sites", "hotspots", "audit"] {
        assert!(!html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }

    // Spanish.
    ok(d.path(), &["report", "run", "--out", "informe.html", "--lang", "es"]);
    let es = std::fs::read_to_string(d.path().join("informe.html")).unwrap();
    check_document(&es);
    assert!(es.starts_with("<!DOCTYPE html>\n<html lang=\"es\">"));
    for label in ["Zonas priorizadas", "Índice de necesidad", "Datos e importación", "Reproducir", "eps elegido"] {
        assert!(es.contains(label), "{label}");
    }
    for label in ["Ranked zones", "Need index", "Reproduce</h2>"] {
        assert!(!es.contains(label), "{label}");
    }
    assert_eq!(table_rows(&es, "zones-table"), rows, "the same figures in both languages");

    // An existing report is kept without --force, replaced with it.
    let e = fails(d.path(), &["report", "run", "--out", "report.html"]);
    assert_eq!(e, "needmap: report.html: already exists; choose another output or pass --force to replace it");
    ok(d.path(), &["report", "run", "--out", "report.html", "--force", "--lang", "es"]);
    assert!(std::fs::read_to_string(d.path().join("report.html")).unwrap().contains("lang=\"es\""));
    assert_eq!(entries(d.path()), ["informe.html", "report.html", "run"]);
}

#[test]
fn sites_hot_spots_and_audit_have_their_sections() {
    let d = tempfile::tempdir().unwrap();
    let base = lima_run(d.path());
    let mut toml = std::fs::read_to_string(base.join("analysis.toml")).unwrap();
    toml += "\n[sites]\nsites = 4\nradius_m = 500\n\n[hotspots]\nvalue = \"need\"\n\n[audit]\ngroups = [\"mother_tongue\"]\ndraws = 20\n";
    std::fs::write(d.path().join("full.toml"), toml).unwrap();
    ok(d.path(), &["run", LIMA, "--analysis", "full.toml", "--out", "full"]);
    // As the app writes it: no command line recorded.
    let rj = d.path().join("full/report.json");
    let mut report = json(&rj);
    report.as_object_mut().unwrap().remove("command");
    std::fs::write(&rj, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    ok(d.path(), &["report", "full", "--out", "full.html"]);
    let html = std::fs::read_to_string(d.path().join("full.html")).unwrap();
    check_document(&html);
    for id in ["data", "need", "clustering", "map", "zones", "sites", "hotspots", "audit", "reproduce"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        assert!(html.contains(&format!("<a href=\"#{id}\">")), "{id} in the contents");
    }
    let sites = csv_rows(&d.path().join("full/sites.csv"));
    let rows = table_rows(&html, "sites-table");
    assert_eq!(rows.len(), 4);
    for (row, s) in rows.iter().zip(&sites) {
        assert_eq!(row[1], s["candidate"]);
        assert_eq!(row[4], s["covered_households"]);
    }
    let hot = &report["hotspots"]["counts"];
    let counts = table_rows(&html, "hotspot-counts");
    assert_eq!(counts[0][0], hot["tested"].to_string());
    assert_eq!(counts[0][1], hot["hot"].to_string());
    assert_eq!(counts[0][2], hot["cold"].to_string());
    let groups = csv_rows(&d.path().join("full/groups.csv"));
    let shown = table_rows(&html, "audit-groups");
    assert_eq!(
        shown.iter().map(|r| r[1].clone()).collect::<Vec<_>>(),
        groups.iter().map(|g| g["group"].clone()).collect::<Vec<_>>()
    );
    assert!(html.contains("did not record its command line"));
    assert!(html.contains("--analysis full/analysis.toml --out full-rerun</pre>"));
}

#[test]
fn hostile_names_and_ids_are_text() {
    let d = tempfile::tempdir().unwrap();
    let col = "<script>alert(\"x\")</script>&'q'";
    let rtl = "مستوى 🏠";
    let bad_id = "<b>H&1</b>";
    let mut csv = format!("id,lat,lon,\"{}\",{rtl}\n", col.replace('"', "\"\""));
    for i in 0..60 {
        let (lat, lon) = if i < 40 { (-12.05, -77.04) } else { (-12.10, -77.00) };
        let j = f64::from(i % 8) * 0.0002;
        let id = format!("\u{202E}🏠\"q\"-{i}").replace('"', "\"\"");
        csv += &format!("\"{id}\",{:.6},{:.6},{},{}\n", lat + j, lon + f64::from(i / 8) * 0.0002, i % 7, i % 5);
    }
    csv += &format!("{bad_id},,-77.0,1,1\n");
    let name = "<i>&\"survey\"'.csv";
    std::fs::write(d.path().join(name), csv).unwrap();
    let toml_str = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let analysis = format!(
        "[[need.indicators]]\ncolumn = {}\n\n[[need.indicators]]\ncolumn = {}\nweight = 2.0\n\n\
         [cluster]\nhouseholds = \"all\"\neps_m = 80.0\nmin_points = 4\n",
        toml_str(col),
        toml_str(rtl)
    );
    std::fs::write(d.path().join("a.toml"), analysis).unwrap();
    ok(d.path(), &["run", name, "--analysis", "a.toml", "--out", "run"]);
    ok(d.path(), &["report", "run", "--out", "r.html"]);
    let html = std::fs::read_to_string(d.path().join("r.html")).unwrap();
    check_document(&html);
    assert!(!html.to_ascii_lowercase().contains("<script"), "no script element");
    let col_escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;q&#39;";
    assert!(html.contains(&format!("<bdi>{col_escaped}</bdi>")), "the column as text");
    assert!(html.contains(&format!("<bdi>{rtl}</bdi>")), "right-to-left and emoji as they are");
    assert!(html.contains("<bdi>&lt;b&gt;H&amp;1&lt;/b&gt;</bdi>"), "the rejected id as text");
    assert!(!html.contains(bad_id) && !html.contains("<i>&"));
    assert!(html.contains("&lt;i&gt;&amp;&quot;survey&quot;&#39;.csv"), "the file name as text");
    let ind = table_rows(&html, "indicators");
    assert_eq!(ind.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), [col, rtl]);
    let rejects = table_rows(&html, "rejects");
    assert_eq!(rejects[0][2], bad_id);
    // A browser sees the same: no script element, the text intact.
    if Path::new(CHROMIUM).exists() {
        let profile = tempfile::tempdir().unwrap();
        let o = Command::new(CHROMIUM)
            .args(chromium_flags(profile.path()))
            .arg("--dump-dom")
            .arg(format!("file://{}", d.path().join("r.html").display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&o.stdout);
        assert!(
            dom.contains("<bdi>&lt;script&gt;alert(\"x\")&lt;/script&gt;&amp;'q'</bdi>"),
            "{}",
            &dom[..dom.len().min(2000)]
        );
        assert!(!dom.to_ascii_lowercase().contains("<script"));
    }
}

#[test]
fn a_folder_that_is_not_a_run_is_refused_and_nothing_written() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("photos")).unwrap();
    std::fs::write(d.path().join("photos/a.txt"), "x").unwrap();
    let e = fails(d.path(), &["report", "photos", "--out", "r.html"]);
    assert_eq!(
        e,
        "needmap: photos: not a needmap run: zones.geojson is missing; give the output folder of `needmap run`"
    );
    let e = fails(d.path(), &["report", "nowhere", "--out", "r.html"]);
    assert_eq!(e, "needmap: nowhere: not a folder; give the output folder of `needmap run`");
    let e = fails(d.path(), &["report", "photos", "--out", "r.pdf"]);
    assert_eq!(e, "needmap: r.pdf: unknown output type; name the report with .html");
    let e = fails(d.path(), &["report", "photos", "--out", "no/such/r.html"]);
    assert_eq!(e, "needmap: no/such/r.html: cannot write there: the folder no/such does not exist");
    assert_eq!(entries(d.path()), ["photos"]);
    assert_eq!(entries(&d.path().join("photos")), ["a.txt"]);
}

fn chromium_flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Opens the Lima report in headless Chromium and checks the screenshot shows a page.
/// With `NEEDMAP_REPORT_PNG=docs/report.png` the screenshot is kept there (for the README).
#[test]
fn the_report_opens_in_a_browser() {
    if !Path::new(CHROMIUM).exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{CHROMIUM} is missing; CI installs the `chromium` package (see .ci/run)");
        }
        eprintln!("note: {CHROMIUM} not found; skipping the browser check (apt-get install chromium)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    lima_run(d.path());
    ok(d.path(), &["report", "run", "--out", "report.html"]);
    let profile = tempfile::tempdir().unwrap();
    let shot = d.path().join("shot.png");
    let o = Command::new(CHROMIUM)
        .args(chromium_flags(profile.path()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,2000")
        .arg(format!("file://{}", d.path().join("report.html").display()))
        .output()
        .unwrap();
    assert!(shot.is_file(), "no screenshot: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&shot).unwrap();
    let (w, h, px) = png_size_and_pixels(&bytes);
    assert_eq!((w, h), (1200, 2000));
    let ink = px.iter().filter(|p| p.iter().all(|&c| c < 160)).count();
    let accent = px.iter().filter(|p| p[0] > 120 && p[1] < 80 && p[2] < 80).count();
    assert!(ink > px.len() / 400, "text on the page: {ink} dark pixels of {}", px.len());
    assert!(accent > 500, "the heading rules in the accent colour: {accent}");
    if let Ok(keep) = std::env::var("NEEDMAP_REPORT_PNG") {
        let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join(keep);
        std::fs::copy(&shot, &keep).unwrap();
        eprintln!("note: screenshot kept as {}", keep.display());
    }
}
