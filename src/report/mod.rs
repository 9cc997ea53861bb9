//! The run report (`needmap report RUN_DIR --out report.html`, and the app's Export panel):
//! one self-contained HTML file to hand in or file with a project — what was read and
//! rejected, how need was scored, how the zones were found and why those parameters (the
//! k-distance plot with the chosen eps for DBSCAN), the map, the ranked zones, the build
//! sites, hot spots and audit when the run has them, and the command and `analysis.toml`
//! that reproduce every number.
//!
//! Everything comes from the run folder (read with [`crate::rundir`]); nothing is fetched:
//! the map is drawn by [`crate::print`] into a PNG embedded as a `data:` URI, the plot is
//! inline SVG, the style sheet is in the page. Every text that did not come from this
//! program — column names, ids, category names, file names, the analysis file — goes through
//! [`html::esc`]. Labels are in English or Spanish ([`crate::i18n`], keys `report.*`);
//! notes written by the pipeline itself (in report.json) are quoted as they are.
//!
//! ```no_run
//! use needmap::report::{ReportOptions, report_html};
//! let run = needmap::rundir::read_run(std::path::Path::new("out")).unwrap();
//! let page = report_html(&run, &ReportOptions::default(), &needmap::progress::Progress::new()).unwrap();
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! ```

pub mod cli;
pub mod html;
mod sections;
pub mod svg;

use std::path::{Path, PathBuf};

use crate::analysis::Analysis;
use crate::data::ImportReport;
use crate::export::atomic::{self, WriteError};
use crate::i18n::{Lang, Strings};
use crate::progress::{Cancelled, Progress};
use crate::rundir::{Run, RunDirError, read_run};
use html::esc;

/// What the report looks like beyond the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// Language of the labels.
    pub lang: Lang,
    /// Title at the top [default: "Critical-need zones: analysis report" in the language].
    pub title: Option<String>,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// A file of the run that is there but cannot be used.
    #[error("{path}: {problem}")]
    Bad { path: PathBuf, problem: String },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for ReportError {
    fn from(_: Cancelled) -> Self {
        ReportError::Cancelled
    }
}

/// Map width in pixels in the report (the print map's landscape A4 page at this width).
pub const MAP_WIDTH_PX: f32 = 1200.0;

/// What every section reads: the run, its parsed import report and analysis, the labels.
pub(crate) struct Ctx<'a> {
    pub run: &'a Run,
    pub t: Strings,
    pub import: ImportReport,
    pub analysis: Option<Analysis>,
    pub title: String,
}

impl<'a> Ctx<'a> {
    fn new(run: &'a Run, opts: &ReportOptions) -> Result<Self, ReportError> {
        let t = Strings::new(opts.lang);
        let report_path = run.dir.join("report.json");
        let import_value = run.report.get("import").cloned().ok_or_else(|| ReportError::Bad {
            path: report_path.clone(),
            problem: "no \"import\" section; give the output folder of `needmap run`".into(),
        })?;
        let import: ImportReport = serde_json::from_value(import_value).map_err(|e| ReportError::Bad {
            path: report_path.clone(),
            problem: format!("the \"import\" section cannot be read: {e}"),
        })?;
        let analysis = match &run.analysis_toml {
            Some(text) => Some(toml::from_str::<Analysis>(text).map_err(|e| ReportError::Bad {
                path: run.dir.join("analysis.toml"),
                problem: e.message().to_string(),
            })?),
            None => None,
        };
        let title = opts.title.clone().unwrap_or_else(|| t.t("report.title").to_string());
        Ok(Ctx { run, t, import, analysis, title })
    }

    /// A number at `pointer` in report.json.
    pub fn f64_at(&self, pointer: &str) -> Option<f64> {
        self.run.report.pointer(pointer).and_then(serde_json::Value::as_f64)
    }

    pub fn u64_at(&self, pointer: &str) -> Option<u64> {
        self.run.report.pointer(pointer).and_then(serde_json::Value::as_u64)
    }

    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.run.report.pointer(pointer).and_then(serde_json::Value::as_str)
    }
}

/// One section of the page: its anchor, heading and body (HTML).
pub(crate) struct Section {
    pub id: &'static str,
    pub heading: String,
    pub body: String,
}

/// The report of `run` as one HTML document.
pub fn report_html(run: &Run, opts: &ReportOptions, progress: &Progress) -> Result<String, ReportError> {
    let ctx = Ctx::new(run, opts)?;
    type Make = fn(&Ctx<'_>) -> Result<Option<Section>, ReportError>;
    let makers: [Make; 9] = [
        sections::data,
        sections::need,
        sections::clustering,
        sections::map,
        sections::zones,
        sections::sites,
        sections::hotspots,
        sections::audit,
        sections::reproduce,
    ];
    progress.stage("report", makers.len() as u64);
    let mut done = Vec::new();
    for (i, make) in makers.iter().enumerate() {
        progress.check()?;
        if let Some(s) = make(&ctx)? {
            done.push(s);
        }
        progress.set(i as u64 + 1);
    }
    Ok(page(&ctx, &sections::summary(&ctx), &done))
}

fn page(ctx: &Ctx<'_>, summary: &str, sections: &[Section]) -> String {
    let t = &ctx.t;
    let lang = match t.lang {
        Lang::En => "en",
        Lang::Es => "es",
    };
    let mut s = String::with_capacity(1 << 20);
    s += "<!DOCTYPE html>\n";
    s += &format!("<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n");
    s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    s += &format!("<meta name=\"generator\" content=\"needmap {}\">\n", env!("CARGO_PKG_VERSION"));
    s += &format!("<title>{} · {}</title>\n", esc(&ctx.title), esc(&ctx.run.source));
    s += &format!("<style>\n{CSS}</style>\n</head>\n<body>\n<header>\n");
    s += &format!("<h1>{}</h1>\n", esc(&ctx.title));
    s += &format!(
        "<p class=\"meta\">{}</p>\n",
        esc(&t.f(
            "report.meta",
            &[
                ("file", &ctx.run.source),
                ("date", &ctx.run.date),
                ("version", &ctx.run.report.get("needmap_version").and_then(|v| v.as_str()).unwrap_or("?")),
            ]
        ))
    );
    s += "</header>\n";
    s += summary;
    s += &format!("<nav><h2>{}</h2><ol>\n", esc(t.t("report.contents")));
    for sec in sections {
        s += &format!("<li><a href=\"#{}\">{}</a></li>\n", sec.id, esc(&sec.heading));
    }
    s += "</ol></nav>\n<main>\n";
    for (i, sec) in sections.iter().enumerate() {
        s += &format!("<section id=\"{}\">\n<h2>{}. {}</h2>\n", sec.id, i + 1, esc(&sec.heading));
        s += &sec.body;
        s += "</section>\n";
    }
    s += "</main>\n<footer>";
    s += &esc(&t.f("print.made_with", &[("version", &env!("CARGO_PKG_VERSION"))]));
    s += "</footer>\n</body>\n</html>\n";
    s
}

/// Reads the run in `run_dir`, writes its report to `out` (atomically: a temporary file
/// beside it, renamed into place; nothing is left on failure). Refuses an existing `out`
/// unless `force`.
pub fn write_report(
    run_dir: &Path,
    out: &Path,
    opts: &ReportOptions,
    force: bool,
    progress: &Progress,
) -> Result<(), ReportError> {
    atomic::check_target(out, None, force)?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(ReportError::Bad {
            path: out.to_path_buf(),
            problem: format!("cannot write there: the folder {} does not exist", parent.display()),
        });
    }
    let run = read_run(run_dir)?;
    let page = report_html(&run, opts, progress)?;
    progress.check()?;
    atomic::write_file(out, None, force, |w| std::io::Write::write_all(w, page.as_bytes()))?;
    Ok(())
}

/// The style sheet: readable on screen (one column, tables scroll sideways when wide) and
/// printed (A4, tables wrap, sections do not start at a page foot).
const CSS: &str = r#"
:root { --ink: #1d232a; --muted: #5b6570; --rule: #d5dade; --band: #f4f6f7; --accent: #9b2226; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0 auto; max-width: 64rem; padding: 1.5rem 1.5rem 3rem; color: var(--ink); background: #fff;
  font-family: "DejaVu Sans", "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; line-height: 1.45; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p, ul { margin: .45rem 0; }
.meta, .note, figcaption, .small { color: var(--muted); }
.small, figcaption { font-size: .87rem; }
nav ol { columns: 2; margin: .3rem 0; padding-left: 1.4rem; }
nav h2 { border: 0; font-size: 1rem; margin: 1.2rem 0 0; }
a { color: var(--accent); }
dl.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .6rem; margin: 1rem 0; }
dl.summary div { background: var(--band); border-radius: 4px; padding: .5rem .7rem; }
dl.summary dt { font-size: .8rem; color: var(--muted); }
dl.summary dd { margin: 0; font-size: 1.25rem; font-weight: 600; }
.wide { overflow-x: auto; margin: .5rem 0 .8rem; }
table { border-collapse: collapse; font-size: .88rem; min-width: 50%; }
th, td { padding: .22rem .55rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .small { display: block; max-width: 30rem; font-size: .78rem; }
bdi { unicode-bidi: isolate; }
figure { margin: .8rem 0; }
figure img, svg.plot { display: block; width: 100%; height: auto; border: 1px solid var(--rule); }
svg.plot { max-width: 48rem; font-size: 12px; font-family: inherit; }
svg .grid { stroke: #e3e6e8; stroke-width: 1; }
svg .axis { stroke: #6b747c; stroke-width: 1; }
svg .tick { fill: #5b6570; font-size: 11px; }
svg .label { fill: #1d232a; font-size: 12px; }
svg .curve { fill: none; stroke: #1f5f8b; stroke-width: 2; }
svg .eps { stroke: var(--accent); stroke-width: 1.6; stroke-dasharray: 6 4; }
svg .eps-label { fill: var(--accent); font-size: 12px; font-weight: 600; }
svg .knee { fill: #f2a541; stroke: #1d232a; stroke-width: 1; }
svg .knee-label { fill: #1d232a; font-size: 12px; }
pre { background: var(--band); border: 1px solid var(--rule); border-radius: 4px; padding: .6rem .8rem;
  font-size: .8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.toml { max-height: 40rem; overflow-y: auto; }
ul.flags li { margin: .15rem 0; }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted); border-top: 1px solid var(--rule); padding-top: .5rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html { font-size: 10pt; }
  body { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  tr, figure, svg.plot, dl.summary div { break-inside: avoid; }
  .wide { overflow: visible; }
  table { font-size: 8pt; }
  pre.toml { max-height: none; overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"#;
