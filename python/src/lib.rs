//! `needmap._core`: the needmap core for Python (the `needmap` package wraps it).
//!
//! Every entry point runs the same core functions the CLI runs (`analysis::cluster_stage`,
//! `analysis::run`, `data::import`, …) with the CLI's own flag types (`cli::ClusterArgs`,
//! `cli::ImportArgs`, `cli::NeedArgs`) applied the CLI's way, so a setting means the same
//! thing in both. The work runs on a worker thread with the GIL released; the calling thread
//! wakes every 100 ms to pass the core's [`Progress`] to a Python callback and to check for
//! Ctrl-C, which cancels the core through the same flag the app's Cancel button sets.
//!
//! `read`, `run`, `sites`, `hotspots` and `audit` read the file `path`, or, given `stream`
//! (any object with `__arrow_c_stream__`: a DataFrame's pyarrow Table, a GeoDataFrame's
//! `to_arrow()`), that Arrow table in memory, `path` then only naming it (`<DataFrame>`).

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use needmap::analysis::{self, Analysis, Candidates, Imported, InputConfig, RunError};
use needmap::cli::{ClusterArgs, ImportArgs, NeedArgs};
use needmap::cluster::Method;
use needmap::cluster::dbscan::{self, DbscanParams};
use needmap::data::{self, ColumnKind, Format, Households, ImportReport, Keep};
use needmap::need::Selection;
use needmap::progress::Progress;
use needmap::sites::{CandidateSource, SitesFlags};
use needmap::zones::{Hull, Priority, ZoneInputs, ZoneParams, build_zones};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

pyo3::create_exception!(
    needmap,
    NeedmapError,
    PyValueError,
    "Bad input or settings: the message is the needmap CLI's (file, line, column, what to do)."
);

/// The core's error as the CLI prints it (`needmap: ` aside).
fn core_error(e: impl Into<anyhow::Error>) -> PyErr {
    NeedmapError::new_err(format!("{:#}", e.into()))
}

/// The core's error as the CLI prints it for a subcommand on `input`: named after the input
/// when it names no file (see [`needmap::cli::naming_input`]).
fn input_error(e: impl Into<anyhow::Error>, input: &Path) -> PyErr {
    input_error_with(e, input, None)
}

/// [`input_error`] with the analysis file the settings came from, named first as the CLI
/// does (`a.toml, applied to s.csv: ...`).
fn input_error_with(e: impl Into<anyhow::Error>, input: &Path, analysis: Option<&Path>) -> PyErr {
    core_error(needmap::cli::naming_input(e.into(), Some(input), analysis))
}

/// Set by the worker when it ends (even by a panic), waited on by the calling thread.
#[derive(Default)]
struct Done {
    flag: Mutex<bool>,
    cv: Condvar,
}

struct SetOnDrop<'a>(&'a Done);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        *self.0.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.0.cv.notify_all();
    }
}

/// Runs `work` on a worker thread (with `threads` rayon threads, default all cores) while
/// this thread, with the GIL released, waits; every 100 ms it re-takes the GIL to pass
/// `(stage, done, total)` to `callback` (when it changed) and to check for signals. Ctrl-C
/// (or an exception from the callback) cancels the work and is raised once it stopped.
fn drive<T: Send>(
    py: Python<'_>,
    callback: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
    input: Option<(&Path, Option<&Path>)>,
    work: impl FnOnce(&Progress) -> Result<T, RunError> + Send,
) -> PyResult<T> {
    let progress = Progress::new();
    let done = Done::default();
    let pool = match threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| NeedmapError::new_err(format!("threads: {e}")))?,
        ),
        None => None,
    };
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let _done = SetOnDrop(&done);
            match &pool {
                Some(p) => p.install(|| work(&progress)),
                None => work(&progress),
            }
        });
        let mut shown = None;
        let mut failure: Option<PyErr> = None;
        loop {
            let finished = py.detach(|| {
                let g = done.flag.lock().unwrap_or_else(|e| e.into_inner());
                let (g, _) = done
                    .cv
                    .wait_timeout_while(g, Duration::from_millis(100), |d| !*d)
                    .unwrap_or_else(|e| e.into_inner());
                *g
            });
            if failure.is_none() {
                if let Some(cb) = callback {
                    let snap = progress.snapshot();
                    if shown != Some(snap) {
                        shown = Some(snap);
                        if let Err(e) = cb.call1(snap) {
                            failure = Some(e);
                        }
                    }
                }
                if failure.is_none()
                    && let Err(e) = py.check_signals()
                {
                    failure = Some(e);
                }
                if failure.is_some() {
                    progress.cancel();
                }
            }
            if finished {
                break;
            }
        }
        let result = py.detach(|| worker.join());
        match (failure, result) {
            (Some(e), _) => Err(e),
            (None, Ok(Ok(v))) => Ok(v),
            (None, Ok(Err(RunError::Cancelled))) => Err(PyKeyboardInterrupt::new_err("cancelled")),
            (None, Ok(Err(e))) => Err(match input {
                Some((p, a)) => input_error_with(e, p, a),
                None => core_error(e),
            }),
            (None, Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(NeedmapError::new_err(format!("internal error (a bug, please report it): {what}")))
            }
        }
    })
}

fn parse_method(method: &str) -> PyResult<Method> {
    match method.to_ascii_lowercase().as_str() {
        "dbscan" => Ok(Method::Dbscan),
        "hdbscan" => Ok(Method::Hdbscan),
        "kmeans" | "k-means" => Ok(Method::Kmeans),
        other => {
            Err(NeedmapError::new_err(format!("method {other:?} is not one of \"dbscan\", \"hdbscan\", \"kmeans\"")))
        }
    }
}

/// Households from coordinate arrays, as the importer would have accepted them: finite,
/// latitude within ±90, longitude within ±180; else an error naming the first bad index.
fn households_from_arrays(lat: &[f64], lon: &[f64]) -> PyResult<Households> {
    if lat.len() != lon.len() {
        return Err(NeedmapError::new_err(format!(
            "lat has {} values and lon {}: give one latitude and one longitude per household",
            lat.len(),
            lon.len()
        )));
    }
    for (i, (&y, &x)) in lat.iter().zip(lon).enumerate() {
        if !(y.is_finite() && (-90.0..=90.0).contains(&y)) {
            return Err(NeedmapError::new_err(format!(
                "lat[{i}] is {y}: not a latitude (degrees, -90 to 90); drop or fix that household"
            )));
        }
        if !(x.is_finite() && (-180.0..=180.0).contains(&x)) {
            return Err(NeedmapError::new_err(format!(
                "lon[{i}] is {x}: not a longitude (degrees, -180 to 180); drop or fix that household"
            )));
        }
    }
    let n = lat.len();
    let n32 = u32::try_from(n).map_err(|_| NeedmapError::new_err(format!("{n} households is more than 4 billion")))?;
    Ok(Households {
        path: PathBuf::from("<arrays>"),
        row: (1..=n32).collect(),
        line: vec![0; n],
        lat_deg: lat.to_vec(),
        lon_deg: lon.to_vec(),
        ..Default::default()
    })
}

/// `needmap cluster` on arrays: labels (int64, -1 = noise) and what was resolved.
#[pyfunction]
#[pyo3(signature = (lat, lon, method="dbscan", eps_m=None, min_points=None, k=20, seed=1, min_cluster_size=10,
                    min_samples=None, restarts=None, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn cluster<'py>(
    py: Python<'py>,
    lat: PyReadonlyArray1<'py, f64>,
    lon: PyReadonlyArray1<'py, f64>,
    method: &str,
    eps_m: Option<f64>,
    min_points: Option<usize>,
    k: usize,
    seed: u64,
    min_cluster_size: usize,
    min_samples: Option<usize>,
    restarts: Option<u64>,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let args = ClusterArgs {
        method: Some(parse_method(method)?),
        eps_m,
        min_points,
        k: Some(k),
        seed: Some(seed),
        restarts,
        min_cluster_size: Some(min_cluster_size),
        min_samples,
        threads,
        ..Default::default()
    };
    if let Some(e) = eps_m
        && !(e.is_finite() && e > 0.0)
    {
        return Err(NeedmapError::new_err(format!("eps_m is {e}: give a radius above 0 metres")));
    }
    // As `needmap cluster`: every household, by location alone.
    let mut cfg = Analysis::default().cluster;
    cfg.households = Candidates::All;
    args.apply(&mut cfg);
    let lat = lat.as_slice().map_err(|e| PyValueError::new_err(format!("lat: {e}")))?;
    let lon = lon.as_slice().map_err(|e| PyValueError::new_err(format!("lon: {e}")))?;
    let households = households_from_arrays(lat, lon)?;
    let clustered = drive(py, progress.as_ref(), threads, None, |progress| {
        let n = households.len();
        let xyz = households.xyz();
        let imported =
            Imported { report: array_report(n), households, xyz, people: None, people_column: None, stamp: None };
        let scored = analysis::unscored(n);
        analysis::cluster_stage(&imported, &scored, &cfg, progress)
    })?;
    let info = PyDict::new(py);
    info.set_item("clusters", clustered.clusters)?;
    info.set_item("noise", clustered.noise)?;
    info.set_item("eps_m", clustered.resolved.eps_m)?;
    info.set_item("min_points", clustered.resolved.min_points)?;
    info.set_item("inertia_m2", clustered.inertia_m2)?;
    info.set_item("note", clustered.suggestion.as_ref().map(|s| s.note.clone()))?;
    let labels: Vec<i64> = clustered.labels.iter().map(|&l| i64::from(l)).collect();
    Ok((labels.into_pyarray(py).into_any(), info))
}

/// DBSCAN on arrays with the core flags too (`needmap.spark` runs it on each tile): labels
/// (int64, -1 = noise) and core (bool), the same function `cluster(method="dbscan")` runs.
#[pyfunction]
#[pyo3(signature = (lat, lon, eps_m, min_points, threads=None))]
fn dbscan_core<'py>(
    py: Python<'py>,
    lat: PyReadonlyArray1<'py, f64>,
    lon: PyReadonlyArray1<'py, f64>,
    eps_m: f64,
    min_points: usize,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if !(eps_m.is_finite() && eps_m > 0.0) {
        return Err(NeedmapError::new_err(format!("eps_m is {eps_m}: give a radius above 0 metres")));
    }
    if min_points == 0 {
        return Err(NeedmapError::new_err("min_points is 0: give 1 or more (the household itself counts)"));
    }
    let lat = lat.as_slice().map_err(|e| PyValueError::new_err(format!("lat: {e}")))?;
    let lon = lon.as_slice().map_err(|e| PyValueError::new_err(format!("lon: {e}")))?;
    let xyz = households_from_arrays(lat, lon)?.xyz();
    let params = DbscanParams { eps_m, min_points };
    let out = drive(py, None, threads, None, |progress| {
        dbscan::dbscan(&xyz, None, &params, progress).map_err(|e| match e {
            dbscan::DbscanError::Cancelled => RunError::Cancelled,
            e => RunError::Cluster(format!("DBSCAN: {e}")),
        })
    })?;
    let labels: Vec<i64> = out.labels.iter().map(|&l| i64::from(l)).collect();
    Ok((labels.into_pyarray(py).into_any(), out.core.into_pyarray(py).into_any()))
}

fn parse_zone_params(hull: &str, concavity: f64, priority: &str) -> PyResult<ZoneParams> {
    let hull = match hull {
        "convex" => Hull::Convex,
        "concave" => Hull::Concave { concavity },
        other => return Err(NeedmapError::new_err(format!("hull {other:?} is not \"convex\" or \"concave\""))),
    };
    let priority: Priority = serde_json::from_value(serde_json::Value::String(priority.to_string())).map_err(|_| {
        NeedmapError::new_err(format!(
            "priority {priority:?} is not one of total_need, mean_need, critical_households, critical_share, \
             people, households, density"
        ))
    })?;
    Ok(ZoneParams { hull, priority })
}

/// `zones.csv`'s figures (the core's `zones::build_zones`) for given cluster labels: a JSON
/// list of zones, ranked, each with `geometry` (WKT), `priority_value` (unrounded, what the
/// rank sorts by) and `reach_m` (the farthest polygon vertex from the centre, great-circle).
#[pyfunction]
#[pyo3(signature = (lat, lon, labels, need=None, critical=None, people=None, hull="convex", concavity=2.0,
                    priority="total_need", threads=None))]
#[allow(clippy::too_many_arguments)]
fn zones_for_labels<'py>(
    py: Python<'py>,
    lat: PyReadonlyArray1<'py, f64>,
    lon: PyReadonlyArray1<'py, f64>,
    labels: PyReadonlyArray1<'py, i64>,
    need: Option<PyReadonlyArray1<'py, f64>>,
    critical: Option<PyReadonlyArray1<'py, bool>>,
    people: Option<PyReadonlyArray1<'py, f64>>,
    hull: &str,
    concavity: f64,
    priority: &str,
    threads: Option<usize>,
) -> PyResult<String> {
    let params = parse_zone_params(hull, concavity, priority)?;
    let lat = lat.as_slice().map_err(|e| PyValueError::new_err(format!("lat: {e}")))?;
    let lon = lon.as_slice().map_err(|e| PyValueError::new_err(format!("lon: {e}")))?;
    let n = lat.len();
    let xyz = households_from_arrays(lat, lon)?.xyz();
    let same_len = |name: &str, len: usize| -> PyResult<()> {
        if len != n {
            return Err(NeedmapError::new_err(format!("{name} has {len} values and lat {n}: give one per household")));
        }
        Ok(())
    };
    let labels = labels.as_slice().map_err(|e| PyValueError::new_err(format!("labels: {e}")))?;
    same_len("labels", labels.len())?;
    let labels: Vec<i32> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            i32::try_from(l.max(-1))
                .map_err(|_| NeedmapError::new_err(format!("labels[{i}] is {l}: cluster numbers must be below 2^31")))
        })
        .collect::<PyResult<_>>()?;
    let need: Vec<f64> = match need {
        Some(a) => a.as_slice().map_err(|e| PyValueError::new_err(format!("need: {e}")))?.to_vec(),
        None => vec![f64::NAN; n],
    };
    same_len("need", need.len())?;
    let critical: Vec<bool> = match critical {
        Some(a) => a.as_slice().map_err(|e| PyValueError::new_err(format!("critical: {e}")))?.to_vec(),
        None => vec![true; n],
    };
    same_len("critical", critical.len())?;
    let people: Option<Vec<f64>> = match people {
        Some(a) => Some(a.as_slice().map_err(|e| PyValueError::new_err(format!("people: {e}")))?.to_vec()),
        None => None,
    };
    if let Some(p) = &people {
        same_len("people", p.len())?;
    }
    let built = drive(py, None, threads, None, |progress| {
        let inp =
            ZoneInputs { xyz: &xyz, need: &need, critical: &critical, people: people.as_deref(), labels: &labels };
        build_zones(&inp, &params, progress).map_err(|_| RunError::Cancelled)
    })?;
    let zones: Vec<serde_json::Value> = built
        .zones
        .iter()
        .map(|z| {
            let mut p = needmap::export::geojson::zone_properties(z);
            let reach = z
                .ring
                .iter()
                .map(|&(x, y)| needmap::sphere::distance_m(z.centre.0, z.centre.1, x, y))
                .fold(0.0, f64::max);
            if let Some(m) = p.as_object_mut() {
                m.insert("geometry".into(), serde_json::Value::String(wkt_polygon(&z.ring)));
                m.insert("priority_value".into(), serde_json::json!(z.priority_value(params.priority)));
                m.insert("reach_m".into(), serde_json::json!(reach));
            }
            p
        })
        .collect();
    to_json(&zones)
}

fn array_report(n: usize) -> ImportReport {
    ImportReport {
        path: PathBuf::from("<arrays>"),
        format: Format::Csv { delimiter: ',' },
        records: n,
        accepted: n,
        rejected: 0,
        flagged: 0,
        coordinates: "arrays lat, lon".into(),
        id_column: None,
        accuracy: None,
        columns: Vec::new(),
        notes: Vec::new(),
        rejects: Vec::new(),
        flags: Vec::new(),
    }
}

/// Import options as `--lat-column` etc. give them.
fn import_args(
    lat_column: Option<String>,
    lon_column: Option<String>,
    id_column: Option<String>,
    sheet: Option<String>,
    accuracy_cutoff_m: Option<f64>,
) -> ImportArgs {
    ImportArgs { lat_column, lon_column, id_column, sheet, accuracy_cutoff_m }
}

/// `needmap inspect --json`: the import report as JSON text, without running anything.
#[pyfunction]
#[pyo3(signature = (path, lat_column=None, lon_column=None, id_column=None, sheet=None, accuracy_cutoff_m=None,
                    progress=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn read(
    py: Python<'_>,
    path: PathBuf,
    lat_column: Option<String>,
    lon_column: Option<String>,
    id_column: Option<String>,
    sheet: Option<String>,
    accuracy_cutoff_m: Option<f64>,
    progress: Option<Bound<'_, PyAny>>,
    stream: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    let opts = import_args(lat_column, lon_column, id_column, sheet, accuracy_cutoff_m).options();
    let stream = stream.as_ref().map(arrow_stream).transpose()?;
    let report = drive(py, progress.as_ref(), None, None, |progress| {
        let read = match stream {
            Some(reader) => data::import_arrow(&path, reader, &opts, &Keep::All, progress),
            None => data::import(&path, &opts, &Keep::All, progress),
        };
        read.map(|(_, r)| r).map_err(RunError::from)
    })?;
    serde_json::to_string(&report).map_err(|e| NeedmapError::new_err(e.to_string()))
}

/// The analysis the CLI's `run` would build: the file or JSON given, then the flags.
#[allow(clippy::too_many_arguments)]
fn build_analysis(
    input: &Path,
    analysis_path: Option<&Path>,
    analysis_json: Option<&str>,
    import: &ImportArgs,
    indicators: Vec<String>,
    cluster: &ClusterArgs,
    top_percent: Option<f64>,
    min_score: Option<f64>,
    all_households: bool,
) -> PyResult<Analysis> {
    let mut a = base_analysis(input, analysis_path, analysis_json, import, indicators)?;
    cluster.apply(&mut a.cluster);
    if top_percent.is_some() && min_score.is_some() {
        return Err(NeedmapError::new_err("give top_percent or min_score, not both"));
    }
    if let Some(p) = top_percent {
        a.selection = Selection::TopPercent { percent: p };
    }
    if let Some(s) = min_score {
        a.selection = Selection::Threshold { min_score: s };
    }
    if all_households {
        a.cluster.households = Candidates::All;
    }
    Ok(a)
}

/// `needmap run` without the files: the outcome's tables as Python objects.
#[pyfunction]
#[pyo3(signature = (path, analysis_path=None, analysis_json=None, *, lat_column=None, lon_column=None, id_column=None,
                    sheet=None, accuracy_cutoff_m=None, indicators=None, method=None, eps_m=None, min_points=None,
                    weight_by_people=false, k=None, seed=None, restarts=None, need_weighted=false,
                    min_cluster_size=None, min_samples=None, threads=None, top_percent=None, min_score=None,
                    all_households=false, progress=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    path: PathBuf,
    analysis_path: Option<PathBuf>,
    analysis_json: Option<String>,
    lat_column: Option<String>,
    lon_column: Option<String>,
    id_column: Option<String>,
    sheet: Option<String>,
    accuracy_cutoff_m: Option<f64>,
    indicators: Option<Vec<String>>,
    method: Option<String>,
    eps_m: Option<f64>,
    min_points: Option<usize>,
    weight_by_people: bool,
    k: Option<usize>,
    seed: Option<u64>,
    restarts: Option<u64>,
    need_weighted: bool,
    min_cluster_size: Option<usize>,
    min_samples: Option<usize>,
    threads: Option<usize>,
    top_percent: Option<f64>,
    min_score: Option<f64>,
    all_households: bool,
    progress: Option<Bound<'py, PyAny>>,
    stream: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let cluster = ClusterArgs {
        method: method.as_deref().map(parse_method).transpose()?,
        eps_m,
        min_points,
        weight_by_people,
        k,
        seed,
        restarts,
        need_weighted,
        min_cluster_size,
        min_samples,
        threads,
    };
    let import = import_args(lat_column, lon_column, id_column, sheet, accuracy_cutoff_m);
    let a = build_analysis(
        &path,
        analysis_path.as_deref(),
        analysis_json.as_deref(),
        &import,
        indicators.unwrap_or_default(),
        &cluster,
        top_percent,
        min_score,
        all_households,
    )?;
    let stream = stream.as_ref().map(arrow_stream).transpose()?;
    let outcome = drive(py, progress.as_ref(), threads, Some((&path, analysis_path.as_deref())), |progress| {
        analysis::run_with(&a, &path, progress, |keep| import_input(&path, stream, &a.input, keep, progress))
    })?;
    outcome_to_py(py, &outcome)
}

/// An Arrow table's record batches, read by the core in place of a file.
type Stream = Box<dyn arrow_array::RecordBatchReader + Send>;

/// The record batches of `table`, any object with `__arrow_c_stream__` (the Arrow PyCapsule
/// interface: pyarrow >= 14 Tables and RecordBatchReaders), taken over without a copy.
#[allow(unsafe_code)]
fn arrow_stream(table: &Bound<'_, PyAny>) -> PyResult<Stream> {
    use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
    let capsule = table.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<pyo3::types::PyCapsule>()?;
    // Fails unless the capsule is named "arrow_array_stream", so the pointer is a stream.
    let raw = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: the capsule, checked by name above, holds a valid `ArrowArrayStream` (the C
    // stream interface's struct, which `FFI_ArrowArrayStream` mirrors); `from_raw` moves it
    // out, leaving a released stream behind, so the capsule's destructor (which calls
    // `release` only when it is set) does not release it a second time.
    let reader = unsafe { RecordBatchStreamReader::from_raw(raw.as_ptr().cast::<FFI_ArrowArrayStream>()) }
        .map_err(|e| NeedmapError::new_err(format!("<DataFrame>: cannot be read as an Arrow table: {e}")))?;
    Ok(Box::new(reader))
}

/// The households of every stage's entry point: those of the Arrow table `stream` when there
/// is one (`path` then only names it in messages and the report: `<DataFrame>`), else those of
/// the file `path`, as the CLI reads it.
fn import_input(
    path: &Path,
    stream: Option<Stream>,
    cfg: &InputConfig,
    keep: &Keep,
    progress: &Progress,
) -> Result<Imported, RunError> {
    match stream {
        Some(reader) => {
            let (h, r) = data::import_arrow(path, reader, &cfg.options, keep, progress)?;
            analysis::imported(h, r, cfg, path, progress)
        }
        None => analysis::import_stage(path, cfg, keep, progress),
    }
}

/// Households (columns), zones (rows with WKT), report and resolved analysis.
fn outcome_to_py<'py>(py: Python<'py>, o: &analysis::Outcome) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let h = &o.imported.households;
    let n = h.len();
    // Input columns: numbers as float64 (NaN where empty), everything else as the text read.
    let columns = PyList::empty(py);
    for (c, info) in h.columns.iter().enumerate() {
        let values: Bound<'py, PyAny> = if info.kind == ColumnKind::Number && Some(c) != h.id_column {
            let v: Vec<f64> = py.detach(|| h.numbers(c).into_iter().map(|x| x.unwrap_or(f64::NAN)).collect());
            v.into_pyarray(py).into_any()
        } else {
            PyList::new(py, (0..n).map(|i| h.text(i, c)))?.into_any()
        };
        columns.append((info.name.as_str(), values))?;
    }
    out.set_item("columns", columns)?;
    out.set_item("id_column", h.id_column.map(|c| h.columns[c].name.clone()))?;
    out.set_item("row", h.row.iter().map(|&r| i64::from(r)).collect::<Vec<_>>().into_pyarray(py))?;
    out.set_item("need", o.scored.need.score.clone().into_pyarray(py))?;
    out.set_item("critical", o.scored.critical.clone().into_pyarray(py))?;
    let c = &o.clustered;
    let cluster: Vec<i64> = (0..n).map(|i| if c.candidates[i] { i64::from(c.labels[i]) } else { i64::MIN }).collect();
    out.set_item("cluster", cluster.into_pyarray(py))?;
    out.set_item("zone", o.zones.zone_of.iter().map(|&z| i64::from(z)).collect::<Vec<_>>().into_pyarray(py))?;
    let zones: Vec<serde_json::Value> = o
        .zones
        .zones
        .iter()
        .map(|z| {
            let mut p = needmap::export::geojson::zone_properties(z);
            if let Some(m) = p.as_object_mut() {
                m.insert("geometry".into(), serde_json::Value::String(wkt_polygon(&z.ring)));
            }
            p
        })
        .collect();
    out.set_item("zones_json", serde_json::to_string(&zones).map_err(|e| NeedmapError::new_err(e.to_string()))?)?;
    let report = needmap::export::report_json(o);
    out.set_item("report_json", report.to_string())?;
    let resolved = serde_json::to_string(&o.resolved).map_err(|e| NeedmapError::new_err(e.to_string()))?;
    out.set_item("analysis_json", resolved)?;
    Ok(out)
}

fn wkt_polygon(ring: &[(f64, f64)]) -> String {
    let pts: Vec<String> = ring.iter().map(|(x, y)| format!("{x} {y}")).collect();
    format!("POLYGON (({}))", pts.join(", "))
}

/// The analysis file or JSON given (else the defaults), then the import and need flags:
/// what every stage's subcommand starts from.
fn base_analysis(
    input: &Path,
    analysis_path: Option<&Path>,
    analysis_json: Option<&str>,
    import: &ImportArgs,
    indicators: Vec<String>,
) -> PyResult<Analysis> {
    let mut a = match (analysis_path, analysis_json) {
        (Some(p), _) => Analysis::load(p).map_err(|e| input_error(e, input))?,
        (None, Some(j)) => serde_json::from_str(j).map_err(|e| NeedmapError::new_err(format!("analysis: {e}")))?,
        (None, None) => Analysis::default(),
    };
    import.apply(&mut a.input.options);
    NeedArgs { indicators }.apply(&mut a.need).map_err(|e| input_error_with(e, input, analysis_path))?;
    Ok(a)
}

fn to_json(v: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| NeedmapError::new_err(e.to_string()))
}

fn csv_text(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> PyResult<String> {
    let mut buf = Vec::new();
    write(&mut buf).map_err(|e| NeedmapError::new_err(e.to_string()))?;
    String::from_utf8(buf).map_err(|e| NeedmapError::new_err(e.to_string()))
}

fn parse_candidates_from(s: &str) -> PyResult<CandidateSource> {
    match s.to_ascii_lowercase().as_str() {
        "grid" => Ok(CandidateSource::Grid),
        "zones" => Ok(CandidateSource::Zones),
        "households" => Ok(CandidateSource::Households),
        other => Err(NeedmapError::new_err(format!(
            "candidates_from {other:?} is not one of \"grid\", \"zones\", \"households\""
        ))),
    }
}

/// `needmap sites` without the file: `sites.csv` as text, the report (import + sites part
/// of report.json) and the resolved `[sites]` settings, as JSON.
#[pyfunction]
#[pyo3(signature = (path, analysis_path=None, analysis_json=None, *, sites=None, radius_m=None, candidates=None,
                    candidates_from=None, grid_m=None, existing=None, weight=None, lat_column=None,
                    lon_column=None, id_column=None, sheet=None, accuracy_cutoff_m=None, indicators=None,
                    method=None, eps_m=None, min_points=None, weight_by_people=false, k=None, seed=None,
                    restarts=None, need_weighted=false, min_cluster_size=None, min_samples=None, threads=None,
                    progress=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn sites<'py>(
    py: Python<'py>,
    path: PathBuf,
    analysis_path: Option<PathBuf>,
    analysis_json: Option<String>,
    sites: Option<usize>,
    radius_m: Option<f64>,
    candidates: Option<PathBuf>,
    candidates_from: Option<String>,
    grid_m: Option<f64>,
    existing: Option<PathBuf>,
    weight: Option<String>,
    lat_column: Option<String>,
    lon_column: Option<String>,
    id_column: Option<String>,
    sheet: Option<String>,
    accuracy_cutoff_m: Option<f64>,
    indicators: Option<Vec<String>>,
    method: Option<String>,
    eps_m: Option<f64>,
    min_points: Option<usize>,
    weight_by_people: bool,
    k: Option<usize>,
    seed: Option<u64>,
    restarts: Option<u64>,
    need_weighted: bool,
    min_cluster_size: Option<usize>,
    min_samples: Option<usize>,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
    stream: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    if candidates.is_some() && candidates_from.is_some() {
        return Err(NeedmapError::new_err("give candidates or candidates_from, not both"));
    }
    let cluster = ClusterArgs {
        method: method.as_deref().map(parse_method).transpose()?,
        eps_m,
        min_points,
        weight_by_people,
        k,
        seed,
        restarts,
        need_weighted,
        min_cluster_size,
        min_samples,
        threads,
    };
    let import = import_args(lat_column, lon_column, id_column, sheet, accuracy_cutoff_m);
    let from_analysis = analysis_path.is_some() || analysis_json.is_some();
    let mut a = base_analysis(
        &path,
        analysis_path.as_deref(),
        analysis_json.as_deref(),
        &import,
        indicators.unwrap_or_default(),
    )?;
    cluster.apply(&mut a.cluster);
    let flags = SitesFlags {
        count: sites,
        radius_m,
        candidates,
        candidates_from: candidates_from.as_deref().map(parse_candidates_from).transpose()?,
        grid_m,
        existing,
        weight,
    };
    let p = flags.resolve(a.sites.take(), from_analysis).map_err(|e| input_error(anyhow::Error::msg(e), &path))?;
    p.check().map_err(|e| input_error(anyhow::Error::msg(e), &path))?;
    let stream = stream.as_ref().map(arrow_stream).transpose()?;
    let (imported, res) = drive(py, progress.as_ref(), threads, Some((&path, analysis_path.as_deref())), |progress| {
        analysis::sites_only_with(&a, &p, progress, |keep| import_input(&path, stream, &a.input, keep, progress))
    })?;
    let out = PyDict::new(py);
    out.set_item("csv", csv_text(|w| needmap::export::csv::sites_csv(w, &res))?)?;
    let report = serde_json::json!({
        "import": imported.report,
        "sites": needmap::export::sites_json(&res),
    });
    out.set_item("report_json", report.to_string())?;
    out.set_item("params_json", to_json(&res.params)?)?;
    Ok(out)
}

/// `needmap hotspots` without the file: the CSV as text, the report (import + hotspots part
/// of report.json) and the resolved `[hotspots]` settings, as JSON.
#[pyfunction]
#[pyo3(signature = (path, analysis_path=None, analysis_json=None, *, value=None, band_m=None, fdr=None,
                    lat_column=None, lon_column=None, id_column=None, sheet=None, accuracy_cutoff_m=None,
                    indicators=None, threads=None, progress=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn hotspots<'py>(
    py: Python<'py>,
    path: PathBuf,
    analysis_path: Option<PathBuf>,
    analysis_json: Option<String>,
    value: Option<String>,
    band_m: Option<f64>,
    fdr: Option<f64>,
    lat_column: Option<String>,
    lon_column: Option<String>,
    id_column: Option<String>,
    sheet: Option<String>,
    accuracy_cutoff_m: Option<f64>,
    indicators: Option<Vec<String>>,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
    stream: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let import = import_args(lat_column, lon_column, id_column, sheet, accuracy_cutoff_m);
    let mut a = base_analysis(
        &path,
        analysis_path.as_deref(),
        analysis_json.as_deref(),
        &import,
        indicators.unwrap_or_default(),
    )?;
    let mut params = a.hotspots.take().unwrap_or_default();
    params.apply_flags(value, band_m, fdr);
    let resolved = params.clone();
    a.hotspots = Some(params);
    let stream = stream.as_ref().map(arrow_stream).transpose()?;
    let (imported, hot) = drive(py, progress.as_ref(), threads, Some((&path, analysis_path.as_deref())), |progress| {
        analysis::hotspots_only_with(&path, &a, progress, |keep| import_input(&path, stream, &a.input, keep, progress))
    })?;
    let out = PyDict::new(py);
    out.set_item("csv", csv_text(|w| needmap::export::csv::hotspots_csv(w, &imported.households, &hot))?)?;
    let report = serde_json::json!({
        "import": imported.report,
        "hotspots": needmap::export::hotspots_json(&hot, Some(resolved.value.as_str())),
    });
    out.set_item("report_json", report.to_string())?;
    out.set_item("params_json", to_json(&resolved)?)?;
    Ok(out)
}

/// `needmap audit` without the files: audit.json, zones_stability.csv and groups.csv as text.
#[pyfunction]
#[pyo3(signature = (path, analysis_path=None, analysis_json=None, *, group=None, draws=None, seed=None,
                    top_k=None, concentration=None, lat_column=None, lon_column=None, id_column=None, sheet=None,
                    accuracy_cutoff_m=None, indicators=None, threads=None, progress=None, stream=None))]
#[allow(clippy::too_many_arguments)]
fn audit<'py>(
    py: Python<'py>,
    path: PathBuf,
    analysis_path: Option<PathBuf>,
    analysis_json: Option<String>,
    group: Option<Vec<String>>,
    draws: Option<usize>,
    seed: Option<u64>,
    top_k: Option<usize>,
    concentration: Option<f64>,
    lat_column: Option<String>,
    lon_column: Option<String>,
    id_column: Option<String>,
    sheet: Option<String>,
    accuracy_cutoff_m: Option<f64>,
    indicators: Option<Vec<String>>,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
    stream: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let import = import_args(lat_column, lon_column, id_column, sheet, accuracy_cutoff_m);
    let mut a = base_analysis(
        &path,
        analysis_path.as_deref(),
        analysis_json.as_deref(),
        &import,
        indicators.unwrap_or_default(),
    )?;
    let mut p = a.audit.take().unwrap_or_default();
    p.apply_flags(group.unwrap_or_default(), draws, seed, top_k, concentration).map_err(|e| input_error(e, &path))?;
    a.audit = Some(p);
    let stream = stream.as_ref().map(arrow_stream).transpose()?;
    let (imported, audit) =
        drive(py, progress.as_ref(), threads, Some((&path, analysis_path.as_deref())), |progress| {
            analysis::audit_only_with(&a, &path, progress, |keep| import_input(&path, stream, &a.input, keep, progress))
        })?;
    let audit = &*audit;
    let out = PyDict::new(py);
    out.set_item("audit_json", needmap::export::audit::audit_json(audit))?;
    out.set_item("zones_stability_csv", csv_text(|w| needmap::export::audit::zones_stability_csv_to(w, audit))?)?;
    out.set_item("groups_csv", csv_text(|w| needmap::export::audit::groups_csv_to(w, audit))?)?;
    out.set_item("import_json", to_json(&imported.report)?)?;
    Ok(out)
}

/// `analysis.toml` text of an analysis given as JSON (what `needmap run` writes).
#[pyfunction]
fn analysis_to_toml(analysis_json: &str) -> PyResult<String> {
    let a: Analysis =
        serde_json::from_str(analysis_json).map_err(|e| NeedmapError::new_err(format!("analysis: {e}")))?;
    Ok(a.to_toml())
}

/// An analysis file read as JSON text (errors name the file and line).
#[pyfunction]
fn load_analysis(path: PathBuf) -> PyResult<String> {
    let a = Analysis::load(&path).map_err(core_error)?;
    serde_json::to_string(&a).map_err(|e| NeedmapError::new_err(e.to_string()))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NeedmapError", m.py().get_type::<NeedmapError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(cluster, m)?)?;
    m.add_function(wrap_pyfunction!(dbscan_core, m)?)?;
    m.add_function(wrap_pyfunction!(zones_for_labels, m)?)?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sites, m)?)?;
    m.add_function(wrap_pyfunction!(hotspots, m)?)?;
    m.add_function(wrap_pyfunction!(audit, m)?)?;
    m.add_function(wrap_pyfunction!(analysis_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(load_analysis, m)?)?;
    Ok(())
}
