//! Outputs of a run, the same from the CLI (`needmap run`) and the app's Export panel:
//! `zones.geojson`, `households.csv`, `zones.csv`, `report.json` and `analysis.toml` (and
//! `hotspots.csv`, `sites.csv`/`sites.geojson` and the audit's files when the analysis asks for
//! them), and the field kit for phones, GPS units and GIS — `zones.kml`, `zones.gpx`,
//! `needmap.gpkg` — written together into a directory that appears only when all of them
//! are complete.

pub mod atomic;
pub mod audit;
pub mod csv;
pub mod figures;
pub mod geojson;
pub mod gpkg;
pub mod gpx;
pub mod kml;
pub mod parquet;
pub mod postgis;
pub mod sqlite_pages;
pub mod xml;

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::analysis::Outcome;
use crate::i18n::{Lang, Strings};
use atomic::WriteError;
pub use kml::KmlHouseholds;

/// How a run's files are written, beyond the analysis itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportOptions {
    /// Language of what people read in `zones.kml` and `zones.gpx` (labels, folder names),
    /// and on the printed map and atlas; machine-readable names (CSV, GeoJSON, GeoPackage
    /// columns) stay English.
    pub lang: Lang,
    /// Whether `zones.kml` has a point per household.
    pub kml_households: KmlHouseholds,
    /// Also `map.pdf`, the print map of the run (`needmap map`).
    pub print_map: bool,
    /// Also `atlas.pdf`, the field atlas of every zone (`needmap atlas`).
    pub print_atlas: bool,
    /// Also `report.html`, the self-contained report to hand in (`needmap report`).
    pub report: bool,
    /// Also `households.parquet` and `zones.parquet` (GeoParquet, `needmap run --parquet`).
    pub parquet: bool,
    /// Tiles under the printed maps (an MBTiles file or a z/x/y folder), else Natural Earth.
    pub print_tiles: Option<std::path::PathBuf>,
    /// The command line that made the run, recorded in report.json's `command` (the CLI
    /// sets it; the app leaves it out).
    pub command: Option<CommandLine>,
}

/// A command as typed, for report.json: the arguments joined with POSIX shell quoting, and
/// the folder it ran in (relative paths in it are relative to that folder).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandLine {
    pub line: String,
    pub cwd: Option<String>,
}

impl CommandLine {
    /// This process's command line, with the program named `needmap` (not its full path).
    pub fn of_this_process() -> CommandLine {
        let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
        CommandLine {
            line: shell_line(std::iter::once("needmap").chain(args.iter().map(String::as_str))),
            cwd: std::env::current_dir().ok().map(|d| d.display().to_string()),
        }
    }
}

/// Words joined into one shell line: a word of only safe characters stays as it is, any
/// other is put in single quotes (a quote inside written `'\''`).
///
/// ```
/// use needmap::export::shell_line;
/// assert_eq!(shell_line(["needmap", "run", "my survey.csv", "--out", "a/b"]), "needmap run 'my survey.csv' --out a/b");
/// assert_eq!(shell_line(["it's", ""]), r"'it'\''s' ''");
/// ```
pub fn shell_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    words
        .into_iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(safe) { w.to_string() } else { format!("'{}'", w.replace('\'', r"'\''")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sites part of report.json: settings, coverage, bound, the coverage curve.
pub fn sites_json(s: &crate::analysis::SitesResult) -> Value {
    let sol = &s.solution;
    json!({
        "settings": s.params,
        "candidates": s.candidates.len(),
        "candidates_from": s.candidates.note,
        "existing_facilities": s.existing.len(),
        "notes": s.notes,
        "sites_chosen": sol.sites.len(),
        "total_weight": round(sol.total_weight, 6),
        "existing_weight": round(sol.existing_weight, 6),
        "covered_weight": round(sol.covered_weight, 6),
        "covered_share": round(sol.share(), 6),
        "covered_households": sol.covered_households,
        "upper_bound": round(sol.upper_bound, 6),
        "upper_bound_share": round(sol.bound_share(), 6),
        "curve": sol.curve.iter().map(|c| json!({
            "sites": c.sites,
            "covered_weight": round(c.covered_weight, 6),
            "upper_bound": round(c.upper_bound, 6),
        })).collect::<Vec<_>>(),
        "solver": sol.stats,
    })
}

fn round(v: f64, decimals: i32) -> f64 {
    let m = 10f64.powi(decimals);
    (v * m).round() / m
}

/// Writes every output of `outcome` into `out_dir` (atomically; see [`atomic::write_dir`]).
/// report.json's `timings_ms` gains the time each field-kit file took (`write_kml`, …).
pub fn write_run(
    outcome: &Outcome,
    input: &Path,
    out_dir: &Path,
    force: bool,
    opts: &ExportOptions,
) -> Result<(), WriteError> {
    atomic::write_dir(out_dir, Some(input), force, |dir| {
        std::thread::scope(|scope| {
            // The GeoPackage is the biggest output (1.5 GB at 10M households): it is written
            // beside the others rather than after them.
            let gpkg = scope.spawn(|| {
                let t = Instant::now();
                write_gpkg_file(dir, outcome, input).map(|()| t.elapsed().as_secs_f64() * 1000.0)
            });
            let rest = write_tables(dir, outcome, input, opts);
            let gpkg = gpkg.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let mut timings = rest?;
            timings.push(("write_gpkg", gpkg?));
            write_report_and_rest(dir, outcome, opts, timings)
        })
    })
}

/// The error of writing `name` in `dir`.
fn io_at(dir: &Path, name: &str) -> impl FnOnce(std::io::Error) -> WriteError + use<> {
    let path = dir.join(name);
    move |error| WriteError::Io { path, error }
}

/// zones.geojson, households.csv, zones.csv, the optional tables, zones.kml and zones.gpx;
/// returns how long households.csv, zones.kml and zones.gpx took (milliseconds).
fn write_tables(
    dir: &Path,
    outcome: &Outcome,
    input: &Path,
    opts: &ExportOptions,
) -> Result<Vec<(&'static str, f64)>, WriteError> {
    let io = |name: &str| io_at(dir, name);
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, t: &mut Instant| {
        timings.push((name, t.elapsed().as_secs_f64() * 1000.0));
        *t = Instant::now();
    };
    std::fs::write(dir.join("zones.geojson"), geojson::zones_geojson(&outcome.zones.zones))
        .map_err(io("zones.geojson"))?;
    csv::households_csv(&dir.join("households.csv"), outcome).map_err(io("households.csv"))?;
    lap("write_households_csv", &mut t);
    csv::zones_csv(&dir.join("zones.csv"), &outcome.zones.zones).map_err(io("zones.csv"))?;
    if opts.parquet {
        parquet::households_parquet(&dir.join("households.parquet"), outcome).map_err(io("households.parquet"))?;
        parquet::zones_parquet(&dir.join("zones.parquet"), &outcome.zones.zones).map_err(io("zones.parquet"))?;
    }
    if let Some(hot) = &outcome.hotspots {
        let write = || -> std::io::Result<()> {
            let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("hotspots.csv"))?);
            csv::hotspots_csv(&mut w, &outcome.imported.households, hot)?;
            std::io::Write::flush(&mut w)
        };
        write().map_err(io("hotspots.csv"))?;
    }
    let strings = Strings::new(opts.lang);
    let title = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    t = Instant::now();
    let write_xml = |name: &str, f: &dyn Fn(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join(name))?);
        f(&mut w)?;
        std::io::Write::flush(&mut w)
    };
    write_xml("zones.kml", &|w| kml::zones_kml(w, outcome, strings, opts.kml_households, &title))
        .map_err(io("zones.kml"))?;
    lap("write_kml", &mut t);
    write_xml("zones.gpx", &|w| gpx::zones_gpx(w, &outcome.zones.zones, outcome.sites.as_deref(), strings, &title))
        .map_err(io("zones.gpx"))?;
    lap("write_gpx", &mut t);
    Ok(timings)
}

/// report.json (with `timings`), analysis.toml, the sites and audit files, then the printed
/// files, which read the run back from the files above.
fn write_report_and_rest(
    dir: &Path,
    outcome: &Outcome,
    opts: &ExportOptions,
    timings: Vec<(&'static str, f64)>,
) -> Result<(), WriteError> {
    let io = |name: &str| io_at(dir, name);
    let mut report = report_json(outcome);
    if let (Some(c), Some(map)) = (&opts.command, report.as_object_mut()) {
        // Before the timings, which stay last.
        let timings = map.remove("timings_ms");
        map.insert("command".into(), json!(c));
        map.extend(timings.map(|t| ("timings_ms".to_string(), t)));
    }
    if let Some(t) = report.get_mut("timings_ms").and_then(Value::as_object_mut) {
        t.extend(timings.into_iter().map(|(k, v)| (k.to_string(), json!(round(v, 1)))));
    }
    let report = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    std::fs::write(dir.join("report.json"), report).map_err(io("report.json"))?;
    std::fs::write(dir.join("analysis.toml"), outcome.resolved.to_toml()).map_err(io("analysis.toml"))?;
    if let Some(s) = &outcome.sites {
        std::fs::write(dir.join("sites.geojson"), geojson::sites_geojson(s)).map_err(io("sites.geojson"))?;
        let f = std::fs::File::create(dir.join("sites.csv")).map_err(io("sites.csv"))?;
        csv::sites_csv(std::io::BufWriter::new(f), s).map_err(io("sites.csv"))?;
    }
    if let Some(a) = &outcome.audit {
        audit::write_audit_files(dir, a)?;
    }
    // Printed last: they read the run back from the files above, inside the same
    // all-or-nothing folder.
    print_files(dir, opts)
}

/// `map.pdf` and `atlas.pdf` of the run being written in `dir`, when `opts` asks for them.
fn print_files(dir: &Path, opts: &ExportOptions) -> Result<(), WriteError> {
    let common = crate::print::cli::PrintArgs {
        lang: opts.lang,
        tiles: opts.print_tiles.clone(),
        attribution: None,
        force: true,
    };
    let failed = |name: &str| {
        let path = dir.join(name);
        move |e: anyhow::Error| WriteError::Io { path, error: std::io::Error::other(format!("{e:#}")) }
    };
    if opts.print_map {
        crate::print::cli::map_command(&crate::print::cli::MapArgs {
            run_dir: dir.to_path_buf(),
            out: dir.join("map.pdf"),
            page: crate::print::Paper::A4,
            landscape: false,
            title: None,
            common: common.clone(),
        })
        .map_err(failed("map.pdf"))?;
    }
    if opts.print_atlas {
        crate::print::cli::atlas_command(&crate::print::cli::AtlasArgs {
            run_dir: dir.to_path_buf(),
            out: dir.join("atlas.pdf"),
            top: None,
            title: None,
            common,
        })
        .map_err(failed("atlas.pdf"))?;
    }
    if opts.report {
        let out = dir.join("report.html");
        let ropts = crate::report::ReportOptions { lang: opts.lang, title: None };
        crate::report::write_report(dir, &out, &ropts, true, &crate::progress::Progress::new())
            .map_err(|e| WriteError::Io { path: out.clone(), error: std::io::Error::other(e.to_string()) })?;
    }
    Ok(())
}

/// `needmap.gpkg` in `dir`, its `last_change` the input's modification time.
fn write_gpkg_file(dir: &Path, outcome: &Outcome, input: &Path) -> Result<(), WriteError> {
    let path = dir.join("needmap.gpkg");
    let changed = std::fs::metadata(input).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
    gpkg::write_gpkg(&path, outcome, &gpkg::iso_utc(changed))
        .map_err(|e| WriteError::Io { path, error: std::io::Error::other(format!("GeoPackage: {e}")) })
}

/// The run report: import report, need indicators, selection, clustering, zones, and (last,
/// the only part that changes between identical runs) timings.
pub fn report_json(o: &Outcome) -> Value {
    let critical = o.scored.critical.iter().filter(|&&c| c).count();
    let c = &o.clustered;
    let mut report = json!({
        "needmap_version": env!("CARGO_PKG_VERSION"),
        "import": o.imported.report,
        "people_column": o.imported.people_column,
        "need": {
            "indicators": o.scored.need.indicators,
            "missing_policy": o.resolved.need.missing,
            "excluded_households": o.scored.need.excluded,
            "note": o.scored.note,
        },
        "selection": {
            "rule": o.resolved.selection,
            "critical_households": critical,
            "households": o.imported.households.len(),
        },
        "cluster": {
            "method": c.resolved.method,
            "households_clustered": c.candidates.iter().filter(|&&x| x).count(),
            "eps_m": c.resolved.eps_m,
            "min_points": c.resolved.min_points,
            "suggested": c.suggestion,
            "clusters": c.clusters,
            "noise": c.noise,
            "inertia_m2": c.inertia_m2,
        },
        "zones": {
            "count": o.zones.zones.len(),
            "hull": o.resolved.zones.hull,
            "priority": o.resolved.zones.priority,
            "households_in_zones": o.zones.zone_of.iter().filter(|&&z| z >= 0).count(),
        },
    });
    // Optional stages, then the timings last.
    if let Some(map) = report.as_object_mut() {
        if let Some(h) = &o.hotspots {
            map.insert("hotspots".into(), hotspots_json(h, o.resolved.hotspots.as_ref().map(|p| p.value.as_str())));
        }
        if let Some(s) = &o.sites {
            map.insert("sites".into(), sites_json(s));
        }
        let timings = o.timings_ms.iter().map(|(k, v)| ((*k).to_string(), json!(round(*v, 1))));
        map.insert("timings_ms".into(), Value::Object(timings.collect()));
    }
    report
}

/// The `hotspots` section of report.json: settings, the band rule, counts and notes.
pub fn hotspots_json(h: &crate::hotspots::HotspotResult, value: Option<&str>) -> Value {
    json!({
        "method": "Getis-Ord Gi*, binary great-circle band including the household itself",
        "value": value,
        "band_m": h.band_m,
        "band_rule": h.band_note,
        "fdr": h.fdr,
        "correction": "Benjamini-Hochberg over the households tested",
        "p_cutoff": h.p_cutoff,
        "bins": "ArcGIS Gi_Bin, uncorrected: ±3/±2/±1 at |z| ≥ 2.576/1.960/1.645",
        "counts": h.counts,
        "notes": h.notes,
    })
}
