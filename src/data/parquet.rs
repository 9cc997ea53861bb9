//! Parquet and GeoParquet (1.0, 1.1). With GeoParquet's `geo` metadata, the primary geometry
//! column gives the households: WKB points, or GeoArrow's native `point` encoding (a struct of
//! `x`, `y` or an interleaved fixed-size list). Without it, a field typed `geoarrow.wkb` or
//! `geoarrow.point` (a GeoArrow extension type in the field's metadata, as geopandas' `to_arrow`
//! writes) is the geometry column; without either, the file is a table like a CSV and the
//! coordinate columns are detected by name. Every other scalar column becomes a column of
//! text exactly as a CSV would hold it (numbers in their shortest exact form, nulls and NaN
//! empty, dates in ISO 8601), so detection, checks and the import report are those of a CSV.
//!
//! Records are numbered from 1 across row groups; a geometry that is not a usable point is
//! rejected with its row group and row in the message. There are no line numbers.

use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use ::parquet::arrow::ProjectionMask;
use ::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

use super::{Format, Geometry, ImportError, IssueKind, Num, NumKind, Rec, Source};

/// How the geometry column holds its points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Encoding {
    Wkb,
    /// GeoArrow `point`: struct {x, y[, z[, m]]} or fixed-size list [x, y, ...].
    Native,
}

pub(crate) struct ParquetSource {
    path: std::path::PathBuf,
    headers: Vec<String>,
    geometry_name: Option<String>,
    /// One per decoding thread: thread `k` decodes row groups `k`, `k + lanes`, … and turns
    /// them into text, while the checks run on this thread. Batches are handed out in file
    /// order, row group by row group, so records keep their numbers.
    lanes: Vec<Lane>,
    /// Rows per row group, from the metadata.
    group_rows: Vec<u64>,
    /// The row group whose records are being handed out, and how many of its rows have not
    /// arrived yet.
    group: usize,
    left: u64,
    current: Vec<Rec>,
    /// The lane `current` came from (it goes back there to be refilled).
    current_lane: usize,
    /// Per header: how its values can come as numbers (see [`Source::typed_columns`]).
    kinds: Vec<Option<NumKind>>,
    /// Per lane, until the plan is sent: which columns its records carry as numbers. The
    /// decoders wait for it, so the sample (read here, as text) is all they decode first.
    plans: Vec<std::sync::mpsc::SyncSender<Vec<Option<NumKind>>>>,
    /// Records at the start of the first row group already handed out as the sample.
    skip: usize,
    /// Records of `current` already handed out.
    at: usize,
    finished: bool,
    /// Every record was handed out (not stopped by an error).
    complete: bool,
    total: u64,
    done: u64,
    /// Bytes in the file: progress is told in bytes, as for the text formats.
    file_len: u64,
    notes: Vec<String>,
}

/// A decoding thread, seen from the source.
struct Lane {
    batches: std::sync::mpsc::Receiver<Result<Vec<Rec>, ImportError>>,
    /// Used batches go back to their decoder, so their strings are reused.
    recycle: std::sync::mpsc::SyncSender<Vec<Rec>>,
    /// Ends with the tallies of the numeric columns over the thread's rows.
    thread: Option<std::thread::JoinHandle<Vec<Option<NumberTally>>>>,
}

/// What a decoding thread owns.
struct Decoder {
    path: std::path::PathBuf,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    /// Arrow column index (in the projected batch) of each header.
    cols: Vec<usize>,
    geometry: Option<(usize, String, Encoding)>,
    /// The row groups this thread decodes, in order.
    groups: Vec<usize>,
    /// Rows per row group, to name a row's group in messages.
    group_rows: Vec<u64>,
    /// Per header: the tally of its values when the column holds numbers.
    tallies: Vec<Option<NumberTally>>,
    /// Per header: whether its values go in [`Rec::nums`] rather than as text (empty: all text).
    kinds: Vec<Option<NumKind>>,
}

/// [`super::validate::infer_kind`]'s tally of a numeric column, taken from the numbers rather
/// than from their text (which is what [`Cell::write`] would write): the same counts, since
/// that text is the shortest exact one, never padded with zeros, and distinct for distinct
/// values.
#[derive(Debug, Clone, Default)]
pub(crate) struct NumberTally {
    pub non_empty: usize,
    /// Infinities: their text (`inf`) is not a number.
    pub not_numbers: usize,
    /// Whether some value is neither 0 nor 1 (the text `0` or `1`, a yes/no).
    pub not_boolean: bool,
    /// Distinct values (as bits) other than those in `small`, while there are fewer than
    /// [`super::validate::DISTINCT_CAP`] in all.
    others: rustc_hash::FxHashSet<u128>,
    /// Whole numbers 0 to 255 seen (codes, counts, yes/no: most integer columns), a bit each.
    small: [u64; 4],
    /// The column does not hold numbers (its kind comes from its text).
    pub text: bool,
}

impl NumberTally {
    /// Distinct values, up to [`super::validate::DISTINCT_CAP`].
    pub fn distinct(&self) -> usize {
        (self.small_count() + self.others.len()).min(super::validate::DISTINCT_CAP)
    }

    fn small_count(&self) -> usize {
        self.small.iter().map(|w| w.count_ones() as usize).sum()
    }

    #[inline]
    fn add(&mut self, key: u128, finite: bool, zero_or_one: bool) {
        self.non_empty += 1;
        self.not_numbers += usize::from(!finite);
        self.not_boolean |= !zero_or_one;
        if self.small_count() + self.others.len() < super::validate::DISTINCT_CAP {
            self.others.insert(key);
        }
    }

    #[inline]
    fn add_int(&mut self, v: i128) {
        if (0..256).contains(&v) {
            self.non_empty += 1;
            self.not_boolean |= v > 1;
            self.small[v as usize >> 6] |= 1 << (v & 63);
        } else {
            self.add(v as u128, true, false);
        }
    }

    /// A float value (f64, or an f32 widened exactly), keyed by the bits of its own type.
    #[inline]
    fn add_float(&mut self, v: f64, key: u128) {
        if !v.is_nan() {
            // `-0` is not a yes/no; `0` and `1` are.
            let zero_or_one = v == 1.0 || (v == 0.0 && v.is_sign_positive());
            self.add(key, v.is_finite(), zero_or_one);
        }
    }

    /// The tally of a column kept as numbers, over its households.
    pub(super) fn of(values: &super::Typed) -> NumberTally {
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 16;
        let n = values.len();
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|k| {
                let mut t = NumberTally::default();
                let rows = k * CHUNK..((k + 1) * CHUNK).min(n);
                match values {
                    super::Typed::Float(v) => v[rows].iter().for_each(|&x| t.add_float(x, u128::from(x.to_bits()))),
                    super::Typed::Int { .. } => {
                        rows.filter_map(|i| values.int(i)).for_each(|x| t.add_int(i128::from(x)))
                    }
                }
                t
            })
            .reduce(NumberTally::default, |mut a, b| {
                a.merge(b);
                a
            })
    }

    /// The tally of `other`'s rows added.
    fn merge(&mut self, other: NumberTally) {
        self.non_empty += other.non_empty;
        self.not_numbers += other.not_numbers;
        self.not_boolean |= other.not_boolean;
        self.text |= other.text;
        for (a, b) in self.small.iter_mut().zip(other.small) {
            *a |= b;
        }
        for k in other.others {
            if self.small_count() + self.others.len() >= super::validate::DISTINCT_CAP {
                break;
            }
            self.others.insert(k);
        }
    }

    /// Adds rows `range` of a column, when it holds numbers; `false` when it does not.
    pub(super) fn add_rows(&mut self, cell: &Cell, range: std::ops::Range<usize>) -> bool {
        match cell {
            Cell::F64(a) => {
                for v in range.filter(|&i| a.is_valid(i)).map(|i| a.value(i)) {
                    self.add_float(v, u128::from(v.to_bits()));
                }
            }
            Cell::F32(a) => {
                for v in range.filter(|&i| a.is_valid(i)).map(|i| a.value(i)) {
                    self.add_float(f64::from(v), u128::from(v.to_bits()));
                }
            }
            Cell::I64(a) => {
                for i in range.filter(|&i| a.is_valid(i)) {
                    self.add_int(i128::from(a.value(i)));
                }
            }
            Cell::I32(a) => {
                for i in range.filter(|&i| a.is_valid(i)) {
                    self.add_int(i128::from(a.value(i)));
                }
            }
            Cell::Int(f) => {
                for v in range.filter_map(f) {
                    self.add_int(v);
                }
            }
            _ => return false,
        }
        true
    }
}

/// The geometry column GeoParquet's `geo` metadata names, how it is encoded, and a note on
/// its CRS; `Ok(None)` for a plain Parquet table.
pub(super) fn geo_metadata(
    path: &Path,
    geo: Option<&str>,
) -> Result<Option<(String, Encoding, Option<String>)>, ImportError> {
    let Some(geo) = geo else { return Ok(None) };
    let bad = |why: String| ImportError::file(path, format!("has GeoParquet metadata that cannot be used: {why}"));
    let v: serde_json::Value =
        serde_json::from_str(geo).map_err(|e| bad(format!("the `geo` key is not JSON ({e})")))?;
    let primary = v
        .get("primary_column")
        .and_then(|p| p.as_str())
        .ok_or_else(|| bad("no primary_column".to_string()))?
        .to_string();
    let col = v
        .get("columns")
        .and_then(|c| c.get(&primary))
        .ok_or_else(|| bad(format!("primary column {primary:?} is not described under `columns`")))?;
    let encoding = match col.get("encoding").and_then(|e| e.as_str()).unwrap_or("WKB") {
        e if e.eq_ignore_ascii_case("wkb") => Encoding::Wkb,
        "point" => Encoding::Native,
        other => {
            return Err(ImportError::file(
                path,
                format!(
                    "geometry column {primary:?} is encoded as {other:?}; households are points (WKB or GeoArrow \
                     point encoding)"
                ),
            ));
        }
    };
    // No `crs` key means OGC:CRS84 in GeoParquet.
    let note = crs_note(path, &primary, col.get("crs"), "GeoParquet")?;
    Ok(Some((primary, encoding, note)))
}

/// Checks that a geometry column's CRS (`crs`: PROJJSON, a string, `null` for unknown, or
/// `None` when not given, which GeoParquet reads as OGC:CRS84) is longitude and latitude on
/// WGS 84 (or a datum close enough for need mapping); a note when it is unknown. `who` names
/// the metadata in the note (GeoParquet, GeoArrow).
fn crs_note(
    path: &Path,
    column: &str,
    crs: Option<&serde_json::Value>,
    who: &str,
) -> Result<Option<String>, ImportError> {
    let Some(crs) = crs else { return Ok(None) };
    if crs.is_null() {
        return Ok(Some(format!(
            "{who} says the CRS of {column:?} is unknown; its coordinates are read as longitude and latitude"
        )));
    }
    let id = crs.get("id");
    let authority = id.and_then(|i| i.get("authority")).and_then(|a| a.as_str()).unwrap_or("");
    let code = id.and_then(|i| i.get("code")).map(|c| c.to_string().trim_matches('"').to_string());
    let code = code.as_deref().unwrap_or("");
    let lonlat = matches!((authority, code), ("OGC", "CRS84") | ("EPSG", "4326") | ("OGC", "CRS84h"))
        || crs.as_str().is_some_and(|s| s.contains("CRS84") || s.contains("4326"));
    if lonlat {
        return Ok(None);
    }
    let name = crs.get("name").and_then(|n| n.as_str()).unwrap_or("a projected CRS");
    let named = if authority.is_empty() { name.to_string() } else { format!("{authority}:{code} ({name})") };
    Err(ImportError::file(
        path,
        format!(
            "geometry column {column:?} is in {named}; needmap reads longitude and latitude (OGC:CRS84 / \
             EPSG:4326): reproject it first (geopandas: gdf.to_crs(4326))"
        ),
    ))
}

/// The field key naming an Arrow extension type, and the one holding its metadata.
const EXTENSION_NAME: &str = "ARROW:extension:name";
const EXTENSION_METADATA: &str = "ARROW:extension:metadata";

/// The geometry column a table without GeoParquet metadata marks by a GeoArrow extension
/// type on its field (what `geopandas.GeoDataFrame.to_arrow` writes): the first field typed
/// `geoarrow.wkb` (WKB, any geometry; points are households, others are rejected row by row)
/// or `geoarrow.point` (native points), with its encoding and a note on its CRS. A native
/// GeoArrow column of other geometries (`geoarrow.polygon`…) is an error: none of its rows is
/// a household. `geoarrow.wkt` columns are text, read as a CSV's WKT column would be.
fn geoarrow_field(
    path: &Path,
    schema: &arrow_schema::Schema,
) -> Result<Option<(String, Encoding, Option<String>)>, ImportError> {
    let found = schema.fields().iter().find_map(|f| {
        let ext = f.metadata().get(EXTENSION_NAME)?;
        (ext.starts_with("geoarrow.") && !ext.ends_with("wkt")).then_some((f, ext))
    });
    let Some((field, ext)) = found else { return Ok(None) };
    let name = field.name();
    let encoding = match ext.as_str() {
        "geoarrow.wkb" => Encoding::Wkb,
        "geoarrow.point" => Encoding::Native,
        other => {
            return Err(ImportError::file(
                path,
                format!(
                    "geometry column {name:?} is of GeoArrow type {other:?}; households are points (geoarrow.wkb \
                     or geoarrow.point; geopandas: gdf.to_arrow(geometry_encoding=\"WKB\"))"
                ),
            ));
        }
    };
    // GeoArrow's metadata is JSON (empty or `{}` when there is none); no `crs` means unknown.
    let meta = field.metadata().get(EXTENSION_METADATA).map(String::as_str).unwrap_or("").trim();
    let meta: serde_json::Value = if meta.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(meta).map_err(|e| {
            ImportError::file(path, format!("geometry column {name:?} has GeoArrow metadata that is not JSON ({e})"))
        })?
    };
    let crs = meta.get("crs").unwrap_or(&serde_json::Value::Null);
    let note = crs_note(path, name, Some(crs), "GeoArrow")?;
    Ok(Some((name.clone(), encoding, note)))
}

/// Runs `f`, turning a panic inside the Parquet library (it has panicked on damaged files,
/// e.g. found by the `parquet` fuzz target) into an error naming the file. The panic's own
/// message is kept off stderr while `f` runs: the user gets one line, not a backtrace.
///
/// Only on this thread: the panic hook installed here (once, around whatever hook was there)
/// stays quiet while this thread is inside `f`, and passes every other panic on. Batches are
/// decoded on their own thread while the checks run, so a process-wide silence would hide a
/// panic of ours on the main thread.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, ImportError>) -> Result<T, ImportError> {
    thread_local! {
        static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info)
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out.unwrap_or_else(|_| {
        Err(ImportError::file(path, "cannot be read as Parquet: the file is damaged (the Parquet reader failed on it)"))
    })
}

/// A table's fields sorted out (Parquet files and Arrow tables alike).
pub(super) struct Fields {
    /// The geometry column named by the `geo` metadata, else marked by its GeoArrow
    /// extension type: position, name, encoding.
    pub geometry: Option<(usize, String, Encoding)>,
    /// The positions of the columns read as values, in order.
    pub scalar: Vec<usize>,
    /// The metadata's note, and the nested columns left out.
    pub notes: Vec<String>,
}

/// Sorts `schema`'s fields into the geometry column (the one the GeoParquet metadata `geo`
/// names, else the first with a GeoArrow extension type, see [`geoarrow_field`]), the scalar
/// columns, and the nested ones (not read; a note names them).
pub(super) fn sort_fields(
    path: &Path,
    schema: &arrow_schema::Schema,
    geo: Option<&str>,
) -> Result<Fields, ImportError> {
    let geometry = match geo_metadata(path, geo)? {
        Some(g) => Some(g),
        None => geoarrow_field(path, schema)?,
    };
    let mut notes = Vec::new();
    let mut scalar_cols = Vec::new();
    let mut skipped = Vec::new();
    let mut geometry_at = None;
    for (i, f) in schema.fields().iter().enumerate() {
        if geometry.as_ref().is_some_and(|(g, ..)| g == f.name()) {
            geometry_at = Some(i);
        } else if scalar(f.data_type()) {
            scalar_cols.push(i);
        } else {
            skipped.push(f.name().clone());
        }
    }
    let geometry = match geometry {
        Some((name, enc, note)) => {
            let at = geometry_at.ok_or_else(|| {
                ImportError::file(
                    path,
                    format!("GeoParquet names {name:?} as its geometry, but there is no such column"),
                )
            })?;
            notes.extend(note);
            Some((at, name, enc))
        }
        None => None,
    };
    if !skipped.is_empty() {
        notes.push(format!(
            "{} nested column{} not read (structs, lists, maps; a GeoParquet bbox column is one): {}",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            skipped.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Fields { geometry, scalar: scalar_cols, notes })
}

/// The cells of `batch`'s columns `cols`, as they are turned into text and numbers.
pub(super) fn cells_of<'a>(path: &Path, batch: &'a RecordBatch, cols: &[usize]) -> Result<Vec<Cell<'a>>, ImportError> {
    cols.iter()
        .map(|&c| Cell::new(batch.column(c)))
        .collect::<Result<_, _>>()
        .map_err(|e| ImportError::file(path, format!("a column cannot be read as text: {e}")))
}

/// Whether a column's values can be written as text (not a struct, list or map).
pub(super) fn scalar(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => scalar(v),
        _ => !t.is_nested(),
    }
}

impl ParquetSource {
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        guarded(path, || Self::open_unguarded(path))
    }

    fn open_unguarded(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path).map_err(|e| ImportError::file(path, format!("cannot read: {e}")))?;
        let arrow_meta = ArrowReaderMetadata::load(&file, Default::default())
            .map_err(|e| ImportError::file(path, format!("cannot be read as Parquet ({e}); is the file complete?")))?;
        let meta = arrow_meta.metadata().clone();
        let geo = meta
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
            .and_then(|k| k.value.clone());
        let schema = arrow_meta.schema().clone();
        let Fields { geometry, scalar: mut roots, notes } = sort_fields(path, &schema, geo.as_deref())?;
        // The geometry column is read too, in its place.
        roots.extend(geometry.as_ref().map(|g| g.0));
        roots.sort_unstable();
        // Positions in the projected batch follow the order of `roots`.
        let mut headers = Vec::new();
        let mut cols = Vec::new();
        let mut kinds = Vec::new();
        let mut geometry_col = None;
        for (k, &i) in roots.iter().enumerate() {
            if Some(i) == geometry.as_ref().map(|g| g.0) {
                geometry_col = Some(k);
            } else {
                headers.push(schema.field(i).name().clone());
                cols.push(k);
                kinds.push(num_kind(schema.field(i).data_type()));
            }
        }
        let headers = super::csv::unique_headers(headers.into_iter());
        let mask = ProjectionMask::roots(meta.file_metadata().schema_descr(), roots.iter().copied());
        let group_rows: Vec<u64> = meta.row_groups().iter().map(|g| g.num_rows().max(0) as u64).collect();
        let total = meta.file_metadata().num_rows().max(0) as u64;
        // Decoding and writing text took twice as long as the checks: two threads (more on a
        // bigger machine) share the row groups.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
        let n_lanes = threads.min(group_rows.len()).max(1);
        let geometry = geometry.map(|(_, name, enc)| (geometry_col.expect("projected"), name, enc));
        let geometry_name = geometry.as_ref().map(|(_, name, _)| name.clone());
        let decoder = |groups: Vec<usize>| Decoder {
            path: path.to_path_buf(),
            meta: arrow_meta.clone(),
            mask: mask.clone(),
            cols: cols.clone(),
            geometry: geometry.clone(),
            groups,
            group_rows: group_rows.clone(),
            tallies: vec![None; cols.len()],
            kinds: Vec::new(),
        };
        // The sample detection looks at: the first records of the first row group, as text.
        let sample = match group_rows.first() {
            Some(&n) if n > 0 => decoder(vec![0]).first_records(&file, 200)?,
            _ => Vec::new(),
        };
        let mut lanes = Vec::with_capacity(n_lanes);
        let mut plans = Vec::with_capacity(n_lanes);
        for k in 0..n_lanes {
            let decoder = decoder((k..group_rows.len()).step_by(n_lanes).collect());
            let (send, batches) = std::sync::mpsc::sync_channel(4);
            let (recycle, recycled) = std::sync::mpsc::sync_channel(8);
            let (plan, planned) = std::sync::mpsc::sync_channel(1);
            let thread = std::thread::Builder::new()
                .name("parquet-decode".into())
                .spawn(move || decoder.run(&planned, &send, &recycled))
                .map_err(|e| ImportError::file(path, format!("cannot start reading: {e}")))?;
            lanes.push(Lane { batches, recycle, thread: Some(thread) });
            plans.push(plan);
        }
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            geometry_name,
            lanes,
            left: group_rows.first().copied().unwrap_or(0),
            group_rows,
            group: 0,
            skip: sample.len(),
            current: sample,
            current_lane: 0,
            kinds,
            plans,
            at: 0,
            finished: false,
            complete: false,
            total,
            done: 0,
            file_len: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            notes,
        })
    }
}

impl Decoder {
    /// Sends the records of each of its row groups, in order (or the error that stopped the
    /// reading), then returns the numeric columns' tallies; returns early when the source is
    /// dropped.
    fn run(
        mut self,
        plan: &std::sync::mpsc::Receiver<Vec<Option<NumKind>>>,
        send: &std::sync::mpsc::SyncSender<Result<Vec<Rec>, ImportError>>,
        recycled: &std::sync::mpsc::Receiver<Vec<Rec>>,
    ) -> Vec<Option<NumberTally>> {
        // No plan: the source was dropped before it needed these records.
        let Ok(kinds) = plan.recv() else { return Vec::new() };
        self.kinds = kinds;
        let path = self.path.clone();
        let mut read = || -> Result<(), ImportError> {
            // A file of its own: clones of one handle would share its position.
            let file = File::open(&path).map_err(|e| ImportError::file(&path, format!("cannot read: {e}")))?;
            for g in std::mem::take(&mut self.groups) {
                let first: u64 = self.group_rows[..g].iter().sum();
                let cannot = |e: &dyn std::fmt::Display| {
                    ImportError::file(&path, format!("row group {} cannot be read: {e}", g + 1))
                };
                let mut reader = self.reader(&file, g, 8192)?;
                let mut row = first;
                loop {
                    let next = guarded(&path, || Ok(reader.next()))?;
                    let Some(batch) = next else { break };
                    let batch = batch.map_err(|e| cannot(&e))?;
                    let spare = recycled.try_recv().unwrap_or_default();
                    let recs = self.fill(spare, &batch, &mut row, true)?;
                    if send.send(Ok(recs)).is_err() {
                        return Ok(());
                    }
                }
                if row - first != self.group_rows[g] {
                    return Err(cannot(&format!(
                        "it has {} rows where the file's metadata says {}",
                        row - first,
                        self.group_rows[g]
                    )));
                }
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = send.send(Err(e));
        }
        std::mem::take(&mut self.tallies)
    }

    /// A reader of row group `g`, `batch` rows at a time.
    fn reader(&self, file: &File, g: usize, batch: usize) -> Result<ParquetRecordBatchReader, ImportError> {
        let cannot = |e: &dyn std::fmt::Display| {
            ImportError::file(&self.path, format!("row group {} cannot be read: {e}", g + 1))
        };
        let handle = file.try_clone().map_err(|e| cannot(&e))?;
        guarded(&self.path, || {
            ParquetRecordBatchReaderBuilder::new_with_metadata(handle, self.meta.clone())
                .with_projection(self.mask.clone())
                .with_row_groups(vec![g])
                .with_batch_size(batch)
                .build()
                .map_err(|e| cannot(&e))
        })
    }

    /// The first `n` records of the first row group (or all of them, when it has fewer), as
    /// text, not tallied: the decoders read them again.
    fn first_records(&mut self, file: &File, n: usize) -> Result<Vec<Rec>, ImportError> {
        let mut reader = self.reader(file, 0, n)?;
        let batch = guarded(&self.path, || Ok(reader.next()))?;
        let Some(batch) = batch else { return Ok(Vec::new()) };
        let batch = batch.map_err(|e| ImportError::file(&self.path, format!("row group 1 cannot be read: {e}")))?;
        self.fill(Vec::new(), &batch, &mut 0, false)
    }

    /// Row group (1-based) and row in it (1-based) of the record numbered `row` (1-based).
    fn place(&self, row: u64) -> (usize, u64) {
        let mut left = row;
        for (g, &n) in self.group_rows.iter().enumerate() {
            if left <= n {
                return (g + 1, left);
            }
            left -= n;
        }
        (self.group_rows.len(), left)
    }

    /// `batch`'s records (reusing `spare`'s), numbered after `row`, which moves past them;
    /// `tally`: add them to the columns' tallies.
    fn fill(
        &mut self,
        mut spare: Vec<Rec>,
        batch: &RecordBatch,
        row: &mut u64,
        tally: bool,
    ) -> Result<Vec<Rec>, ImportError> {
        let cells = cells_of(&self.path, batch, &self.cols)?;
        let rows = batch.num_rows();
        for (tally, cell) in self.tallies.iter_mut().zip(&cells).filter(|_| tally) {
            let t = tally.get_or_insert_with(NumberTally::default);
            if !t.text && !t.add_rows(cell, 0..rows) {
                // Not numbers: typed from their text, by the import.
                t.text = true;
            }
        }
        let geometry = self.geometry.as_ref().map(|(c, name, enc)| (batch.column(*c), name, *enc));
        spare.truncate(rows);
        spare.resize_with(rows, Rec::default);
        for (r, rec) in spare.iter_mut().enumerate() {
            *row += 1;
            fill_record(rec, *row as u32, &cells, &self.kinds, r);
            if let Some((array, name, enc)) = &geometry {
                rec.geometry = Some(point(array, r, *enc).map_err(|(kind, why)| {
                    let (g, gr) = self.place(*row);
                    (kind, format!("geometry {name:?} (row group {g}, row {gr}) {why}"))
                }));
            }
        }
        Ok(spare)
    }
}

impl Source for ParquetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        while self.at == self.current.len() {
            while self.left == 0 && self.group < self.group_rows.len() {
                self.group += 1;
                self.left = self.group_rows.get(self.group).copied().unwrap_or(0);
            }
            if self.finished {
                return Ok(false);
            }
            if self.group >= self.group_rows.len() {
                self.finished = true;
                self.complete = true;
                return Ok(false);
            }
            // Records past the sample are needed before a plan: they all come as text.
            if !self.plans.is_empty() {
                self.send_plan(&vec![None; self.kinds.len()]);
            }
            let lane = self.group % self.lanes.len();
            match self.lanes[lane].batches.recv() {
                Ok(Ok(recs)) => {
                    self.left = self.left.saturating_sub(recs.len() as u64);
                    let used = std::mem::replace(&mut self.current, recs);
                    let _ = self.lanes[self.current_lane].recycle.try_send(used);
                    self.current_lane = lane;
                    // The first batch starts with the sample, handed out already.
                    self.at = std::mem::take(&mut self.skip).min(self.current.len());
                }
                Ok(Err(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                // The decoder stopped without an error before this group's rows: it checks
                // every group's count, so this is not expected; say so rather than stop short.
                Err(_) => {
                    self.finished = true;
                    return Err(ImportError::file(
                        &self.path,
                        format!("row group {} ended before its rows", self.group + 1),
                    ));
                }
            }
        }
        std::mem::swap(rec, &mut self.current[self.at]);
        self.at += 1;
        self.done += 1;
        Ok(true)
    }
    fn progress(&self) -> (u64, u64) {
        let at = (self.done as u128 * self.file_len as u128 / u128::from(self.total.max(1))) as u64;
        (at.min(self.file_len), self.file_len)
    }
    fn format(&self) -> Format {
        Format::Parquet { geometry: self.geometry_name.clone() }
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
    fn records(&self) -> Option<u64> {
        Some(self.total)
    }
    fn typed_columns(&mut self, may: &[bool]) -> Vec<Option<NumKind>> {
        if self.plans.is_empty() {
            return vec![None; may.len()];
        }
        let plan: Vec<Option<NumKind>> = self.kinds.iter().zip(may).map(|(k, &may)| k.filter(|_| may)).collect();
        self.send_plan(&plan);
        plan
    }
    fn number_tallies(&mut self) -> Vec<Option<NumberTally>> {
        if !self.complete {
            return Vec::new();
        }
        let mut all: Vec<Option<NumberTally>> = Vec::new();
        for lane in &mut self.lanes {
            let Some(Ok(tallies)) = lane.thread.take().map(|t| t.join()) else { return Vec::new() };
            if all.is_empty() {
                all = vec![None; tallies.len()];
            }
            for (a, t) in all.iter_mut().zip(tallies) {
                match (a.as_mut(), t) {
                    (_, None) => {}
                    (None, Some(t)) => *a = Some(t),
                    (Some(a), Some(t)) => a.merge(t),
                }
            }
        }
        all.into_iter().map(|t| t.filter(|t| !t.text)).collect()
    }
}

impl ParquetSource {
    /// Tells the decoders which columns to give as numbers, unless they were told already.
    fn send_plan(&mut self, plan: &[Option<NumKind>]) {
        for p in std::mem::take(&mut self.plans) {
            let _ = p.send(plan.to_vec());
        }
    }
}

/// How a column of this type comes as numbers, when it does: 64-bit floats, and integers
/// that fit 64 bits. The others (f32, u64, decimals…) come as text.
pub(super) fn num_kind(t: &DataType) -> Option<NumKind> {
    match t {
        DataType::Float64 => Some(NumKind::Float),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => Some(NumKind::Int),
        _ => None,
    }
}

/// Appends `v` as Rust's `Display` writes it (the shortest text that reads back as `v`, no
/// exponent), nothing for NaN. Through `ryu`, faster than `write!` (a quarter of the time of
/// reading a 10M-row file went to formatting floats); `ryu` writes `5.0` and `1e21` where
/// `Display` writes `5` and `1000000000000000000000`: the first is trimmed, the second left
/// to `Display`, and so are values where the two could break a tie differently.
pub(crate) fn push_float(v: f64, out: &mut String) {
    if v.is_nan() {
        return;
    }
    if v.is_finite() && tie_free(v) {
        let mut b = ryu::Buffer::new();
        let s = b.format_finite(v);
        if !s.contains('e') {
            out.push_str(s.strip_suffix(".0").unwrap_or(s));
            return;
        }
    }
    let _ = write!(out, "{v}");
}

/// Whether no two shortest texts of `v` can be equally near it. The shortest text has at
/// most 17 significant digits, and a tie means `v` is exactly the midpoint of two of them,
/// so `v`'s exact decimal expansion would have at most 18. An integer below 2^53 is its own
/// shortest text; above, ulps are even so no midpoint ending in 5 is a float. Otherwise
/// `v = m / 2^k` (m odd) is `m * 5^k / 10^k`, whose digits are those of `m * 5^k`: at least
/// 19 of them rules a tie out. Survey values (coordinates, incomes) have ~45.
fn tie_free(v: f64) -> bool {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 { (frac, -1074) } else { (frac | (1u64 << 52), biased - 1075) };
    if m == 0 {
        return true;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    e += i64::from(tz);
    // log10(m) from below by its bit length (no log10 call: this runs for every value).
    let log10_m = f64::from(63 - m.leading_zeros()) * std::f64::consts::LOG10_2;
    e >= 0 || log10_m + (-e) as f64 * (1.0 - std::f64::consts::LOG10_2) >= 18.01
}

/// One column of a batch, ready to write any row as text.
pub(super) enum Cell<'a> {
    F64(&'a arrow_array::Float64Array),
    F32(&'a arrow_array::Float32Array),
    I64(&'a arrow_array::Int64Array),
    I32(&'a arrow_array::Int32Array),
    Int(Box<dyn Fn(usize) -> Option<i128> + 'a>),
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Utf8View(&'a arrow_array::StringViewArray),
    Bool(&'a arrow_array::BooleanArray),
    Other(&'a dyn Array, ArrayFormatter<'a>),
}

impl<'a> Cell<'a> {
    pub(super) fn new(a: &'a ArrayRef) -> Result<Self, arrow_schema::ArrowError> {
        fn int<T: arrow_array::ArrowPrimitiveType>(a: &dyn Array) -> Box<dyn Fn(usize) -> Option<i128> + '_>
        where
            T::Native: Into<i128>,
        {
            let p = a.as_primitive::<T>();
            Box::new(move |i| p.is_valid(i).then(|| p.value(i).into()))
        }
        Ok(match a.data_type() {
            DataType::Float64 => Cell::F64(a.as_primitive::<Float64Type>()),
            DataType::Float32 => Cell::F32(a.as_primitive::<Float32Type>()),
            DataType::Int8 => Cell::Int(int::<Int8Type>(a)),
            DataType::Int16 => Cell::Int(int::<Int16Type>(a)),
            DataType::Int32 => Cell::I32(a.as_primitive::<Int32Type>()),
            DataType::Int64 => Cell::I64(a.as_primitive::<Int64Type>()),
            DataType::UInt8 => Cell::Int(int::<UInt8Type>(a)),
            DataType::UInt16 => Cell::Int(int::<UInt16Type>(a)),
            DataType::UInt32 => Cell::Int(int::<UInt32Type>(a)),
            DataType::UInt64 => Cell::Int(int::<UInt64Type>(a)),
            DataType::Utf8 => Cell::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => Cell::LargeUtf8(a.as_string::<i64>()),
            DataType::Utf8View => Cell::Utf8View(a.as_string_view()),
            DataType::Boolean => Cell::Bool(a.as_boolean()),
            _ => Cell::Other(a.as_ref(), ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())?),
        })
    }

    /// Row `i` as a number, for a column [`num_kind`] gives a kind: NaN when a float is null.
    #[inline]
    pub(super) fn num(&self, i: usize) -> Num {
        match self {
            Cell::F64(a) => Num::Float(if a.is_valid(i) { a.value(i) } else { f64::NAN }),
            Cell::I64(a) => {
                if a.is_valid(i) {
                    Num::Int(a.value(i))
                } else {
                    Num::Null
                }
            }
            Cell::I32(a) => {
                if a.is_valid(i) {
                    Num::Int(i64::from(a.value(i)))
                } else {
                    Num::Null
                }
            }
            Cell::Int(f) => f(i).and_then(|v| i64::try_from(v).ok()).map_or(Num::Null, Num::Int),
            _ => Num::Null,
        }
    }

    /// Appends row `i` as text: empty when null (or NaN).
    #[inline]
    pub(super) fn write(&self, i: usize, out: &mut String) {
        match self {
            Cell::F64(a) => {
                if a.is_valid(i) {
                    push_float(a.value(i), out)
                }
            }
            Cell::F32(a) => {
                if a.is_valid(i) {
                    // The shortest text of the f32, as a CSV written from it holds. Not through
                    // `ryu`: on a tie (2366008.25 has 2366008.2 and .3) it rounds to even.
                    let v = a.value(i);
                    if !v.is_nan() {
                        let _ = write!(out, "{v}");
                    }
                }
            }
            Cell::I64(a) => {
                if a.is_valid(i) {
                    out.push_str(itoa::Buffer::new().format(a.value(i)));
                }
            }
            Cell::I32(a) => {
                if a.is_valid(i) {
                    out.push_str(itoa::Buffer::new().format(a.value(i)));
                }
            }
            Cell::Int(f) => {
                if let Some(v) = f(i) {
                    out.push_str(itoa::Buffer::new().format(v));
                }
            }
            Cell::Utf8(a) => {
                if a.is_valid(i) {
                    out.push_str(a.value(i))
                }
            }
            Cell::LargeUtf8(a) => {
                if a.is_valid(i) {
                    out.push_str(a.value(i))
                }
            }
            Cell::Utf8View(a) => {
                if a.is_valid(i) {
                    out.push_str(a.value(i))
                }
            }
            Cell::Bool(a) => {
                if a.is_valid(i) {
                    out.push_str(if a.value(i) { "true" } else { "false" })
                }
            }
            Cell::Other(a, f) => {
                if a.is_valid(i) {
                    let _ = write!(out, "{}", f.value(i));
                }
            }
        }
    }
}

/// `rec` made record number `row` (1-based, no line) from row `r` of a batch's `cells`: the
/// columns `kinds` gives a kind as numbers, the others as text.
pub(super) fn fill_record(rec: &mut Rec, row: u32, cells: &[Cell], kinds: &[Option<NumKind>], r: usize) {
    rec.clear();
    rec.row = row;
    rec.line = 0;
    for (k, c) in cells.iter().enumerate() {
        if kinds.get(k).is_some_and(Option::is_some) {
            rec.nums.push(c.num(r));
        } else {
            c.write(r, &mut rec.text);
        }
        rec.ends.push(rec.text.len());
    }
}

/// A little-endian WKB point, for tests.
#[cfg(test)]
pub(super) fn wkb_point_le(x: f64, y: f64) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend(1u32.to_le_bytes());
    b.extend(x.to_le_bytes());
    b.extend(y.to_le_bytes());
    b
}

/// The (lon, lat) of row `i` of a geometry column, or why it has none.
pub(super) fn point(a: &ArrayRef, i: usize, enc: Encoding) -> Geometry {
    if a.is_null(i) {
        return Err((IssueKind::MissingGeometry, "is null".to_string()));
    }
    let xy = match (enc, a.data_type()) {
        (Encoding::Wkb, DataType::Binary) => wkb_point(a.as_binary::<i32>().value(i)),
        (Encoding::Wkb, DataType::LargeBinary) => wkb_point(a.as_binary::<i64>().value(i)),
        (Encoding::Wkb, DataType::BinaryView) => wkb_point(a.as_binary_view().value(i)),
        (_, DataType::Struct(_)) => {
            let s = a.as_struct();
            let coord = |name: &str| {
                s.column_by_name(name)
                    .and_then(|c| c.as_primitive_opt::<Float64Type>())
                    .and_then(|c| c.is_valid(i).then(|| c.value(i)))
            };
            match (coord("x"), coord("y")) {
                (Some(x), Some(y)) => Ok((x, y)),
                _ => Err((IssueKind::MissingCoordinate, "has no x or y".to_string())),
            }
        }
        (_, DataType::FixedSizeList(_, n)) if *n >= 2 => {
            let l = a.as_fixed_size_list();
            let v = l.value(i);
            match v.as_primitive_opt::<Float64Type>() {
                Some(v) if v.null_count() == 0 => Ok((v.value(0), v.value(1))),
                _ => Err((IssueKind::MissingCoordinate, "has a missing coordinate".to_string())),
            }
        }
        (_, t) => {
            Err((IssueKind::UnsupportedGeometry, format!("is stored as {t}, which needmap does not read as points")))
        }
    }?;
    match (xy.0.is_nan(), xy.1.is_nan()) {
        (true, true) => Err((IssueKind::MissingGeometry, "is an empty point".to_string())),
        // One coordinate missing (a NaN latitude through geopandas' `points_from_xy`).
        (_, true) => Err((IssueKind::MissingCoordinate, "has no latitude (its y is NaN)".to_string())),
        (true, _) => Err((IssueKind::MissingCoordinate, "has no longitude (its x is NaN)".to_string())),
        _ => Ok(xy),
    }
}

/// The coordinates of a WKB (ISO or EWKB) point.
fn wkb_point(b: &[u8]) -> Result<(f64, f64), (IssueKind, String)> {
    let truncated = || (IssueKind::MissingCoordinate, format!("is not a complete WKB geometry ({} bytes)", b.len()));
    let le = match b.first() {
        Some(1) => true,
        Some(0) => false,
        _ => return Err(truncated()),
    };
    let u32_at = |k: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(k..k + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
    };
    let f64_at = |k: usize| -> Option<f64> {
        let s: [u8; 8] = b.get(k..k + 8)?.try_into().ok()?;
        Some(if le { f64::from_le_bytes(s) } else { f64::from_be_bytes(s) })
    };
    let t = u32_at(1).ok_or_else(truncated)?;
    // EWKB: flags in the high bits, an SRID after the type when 0x20000000 is set.
    let at = if t & 0x2000_0000 != 0 { 9 } else { 5 };
    let base = (t & 0x0fff_ffff) % 1000;
    if base != 1 {
        let name = match base {
            2 => "LineString",
            3 => "Polygon",
            4 => "MultiPoint",
            5 => "MultiLineString",
            6 => "MultiPolygon",
            7 => "GeometryCollection",
            _ => "geometry of an unknown type",
        };
        return Err((IssueKind::UnsupportedGeometry, format!("is a {name}; only Point geometries are households")));
    }
    match (f64_at(at), f64_at(at + 8)) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(truncated()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkb_points_in_both_byte_orders_and_with_an_srid() {
        let mut le = vec![1u8];
        le.extend(1u32.to_le_bytes());
        le.extend((-77.05f64).to_le_bytes());
        le.extend((-12.1f64).to_le_bytes());
        assert_eq!(wkb_point(&le), Ok((-77.05, -12.1)));
        let mut be = vec![0u8];
        be.extend(1u32.to_be_bytes());
        be.extend(3.5f64.to_be_bytes());
        be.extend(40.25f64.to_be_bytes());
        assert_eq!(wkb_point(&be), Ok((3.5, 40.25)));
        let mut ewkb = vec![1u8];
        ewkb.extend((0x2000_0001u32).to_le_bytes());
        ewkb.extend(4326u32.to_le_bytes());
        ewkb.extend(1.0f64.to_le_bytes());
        ewkb.extend(2.0f64.to_le_bytes());
        assert_eq!(wkb_point(&ewkb), Ok((1.0, 2.0)));
        let mut line = vec![1u8];
        line.extend(2u32.to_le_bytes());
        assert_eq!(wkb_point(&line).unwrap_err().0, IssueKind::UnsupportedGeometry);
        assert_eq!(wkb_point(&le[..12]).unwrap_err().0, IssueKind::MissingCoordinate);
    }

    /// A point with one NaN coordinate (geopandas' `points_from_xy` with a NaN latitude) is a
    /// missing coordinate, not one out of range; two NaNs are an empty point.
    #[test]
    fn a_point_missing_one_coordinate_is_missing_not_out_of_range() {
        let wkb = wkb_point_le;
        let rows = [wkb(-77.0, f64::NAN), wkb(f64::NAN, -12.0), wkb(f64::NAN, f64::NAN), wkb(-77.0, -12.0)];
        let a: ArrayRef = std::sync::Arc::new(arrow_array::BinaryArray::from_iter_values(rows.iter()));
        let got: Vec<Geometry> = (0..rows.len()).map(|i| point(&a, i, Encoding::Wkb)).collect();
        let missing = |why: &str| Err((IssueKind::MissingCoordinate, why.to_string()));
        assert_eq!(got[0], missing("has no latitude (its y is NaN)"));
        assert_eq!(got[1], missing("has no longitude (its x is NaN)"));
        assert_eq!(got[2], Err((IssueKind::MissingGeometry, "is an empty point".to_string())));
        assert_eq!(got[3], Ok((-77.0, -12.0)));
    }
}

#[cfg(test)]
mod number_text_tests {
    use super::push_float;

    /// `push_float` writes what `Display` writes, for f64 across every magnitude,
    /// integers, halves, the values CSVs hold and the edges (±0, subnormals, limits).
    #[test]
    fn push_float_writes_what_display_writes() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut values: Vec<f64> = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            5.0,
            0.5,
            0.1,
            0.2,
            0.3,
            800.71,
            -12.046374,
            -77.042793,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e-5,
            1e-6,
            1e-7,
            123456789012345680.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            f64::EPSILON,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Ties: values with short exact expansions, of every size.
        values.push(f64::from_bits(0x4317_9085_685d_83c9)); // 1658206780088562.25: .2 or .3
        for j in 1..12 {
            for k in [1u64, 3, 5, 77, 12345, 999_999_999, 1 << 40, (1 << 53) - 1] {
                values.push(k as f64 / (1u64 << j) as f64);
                values.push(-(k as f64) * 2f64.powi(-j * 4));
            }
        }
        for _ in 0..200_000 {
            let bits = next();
            values.push(f64::from_bits(bits));
            // Decimal-looking values of every size: k / 10^d.
            let k = (bits >> 20) as i64 % 10_000_000_000;
            values.push(k as f64 / 10f64.powi((bits % 12) as i32));
            values.push((bits % 100_000) as f64);
            values.push((bits >> 11) as f64 / (1u64 << (bits % 16)) as f64);
        }
        for v in values {
            let mut got = String::new();
            push_float(v, &mut got);
            let want = if v.is_nan() { String::new() } else { format!("{v}") };
            assert_eq!(got, want, "f64 bits {:#x}", v.to_bits());
        }
    }
}

#[cfg(test)]
mod tally_tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, Float64Array, Int8Array, Int32Array, Int64Array, UInt16Array};

    use super::super::Cells;
    use super::super::validate::{infer_kind, kind_of};
    use super::{Cell, NumberTally};

    /// A numeric column's tally (from the numbers, over two halves merged, as two decoding
    /// threads take it) types the column as [`infer_kind`] does from the text `Cell::write`
    /// writes, for every kind of column: yes/no, with `-0`, with infinities, nulls and NaN,
    /// few and many distinct values, empty.
    #[test]
    fn tallies_type_numeric_columns_as_their_text_does() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let n = 3000;
        let mut columns: Vec<(&str, ArrayRef)> = vec![
            ("0/1 floats", Arc::new(Float64Array::from_iter((0..n).map(|i| Some((i % 2) as f64))))),
            ("0/1 with -0", Arc::new(Float64Array::from_iter((0..n).map(|i| Some(if i == 7 { -0.0 } else { 1.0 }))))),
            ("0/1 ints, nulls", Arc::new(Int64Array::from_iter((0..n).map(|i| (i % 3 != 0).then_some(i % 2))))),
            ("small ints", Arc::new(Int8Array::from_iter((0..n).map(|i| Some((i % 7) as i8 - 3))))),
            ("few u16", Arc::new(UInt16Array::from_iter((0..n).map(|i| Some((i % 40) as u16 + 2))))),
            ("many ints", Arc::new(Int64Array::from_iter((0..n).map(|i| Some(i * 7919 - 5000))))),
            ("all null", Arc::new(Int64Array::from_iter((0..n).map(|_| None::<i64>)))),
            ("all NaN", Arc::new(Float64Array::from_iter((0..n).map(|_| Some(f64::NAN))))),
            (
                "one inf in 200",
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| Some(if i % 200 == 3 { f64::INFINITY } else { i as f64 * 0.25 })),
                )),
            ),
            (
                "many infs",
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| Some(if i % 3 == 0 { f64::NEG_INFINITY } else { 2.5 })),
                )),
            ),
            ("random bits", Arc::new(Float64Array::from_iter((0..n).map(|_| Some(f64::from_bits(next())))))),
            (
                "few floats",
                Arc::new(Float64Array::from_iter((0..n).map(|i| (i % 11 != 0).then_some((i % 9) as f64 / 8.0)))),
            ),
            (
                "f32",
                Arc::new(Float32Array::from_iter(
                    (0..n).map(|i| Some(if i == 5 { -0.0 } else { (i % 60) as f32 * 0.1 })),
                )),
            ),
            ("f32 0/1", Arc::new(Float32Array::from_iter((0..n).map(|i| (i % 5 != 0).then_some((i % 2) as f32))))),
        ];
        columns.push(("short", Arc::new(Int64Array::from_iter((0..30).map(|i| Some(i % 4))))));
        // Whole numbers below 256 are tallied in a bitset, the others in a set: across both,
        // and past the cap of distinct values.
        columns.push(("ints across 256", Arc::new(Int32Array::from_iter((0..n).map(|i| Some((i % 600) as i32 - 20))))));
        columns.push(("capped across 256", Arc::new(Int64Array::from_iter((0..n).map(|i| Some(i * 3 % 2900))))));
        for (name, array) in columns {
            let len = array.len();
            let cell = Cell::new(&array).unwrap();
            let (mut a, mut b) = (NumberTally::default(), NumberTally::default());
            assert!(a.add_rows(&cell, 0..len / 3) && b.add_rows(&cell, len / 3..len), "{name}");
            a.merge(b);
            let mut cells = Cells::new(1);
            let mut text = String::new();
            for i in 0..len {
                text.clear();
                cell.write(i, &mut text);
                cells.push_row(std::iter::once(text.as_str()));
            }
            let want = infer_kind(&cells, 0, len);
            let got = (kind_of(a.non_empty, a.not_numbers, 0, !a.not_boolean, a.distinct()), a.non_empty, a.distinct());
            assert_eq!(got, want, "{name}");
        }
    }
}

#[cfg(test)]
mod typed_tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BinaryArray, Float64Array, Int8Array, Int32Array, Int64Array, RecordBatch, StringArray, UInt32Array,
        UInt64Array,
    };
    use arrow_schema::{Field, Schema};

    use super::super::{ImportOptions, Ints, Keep, Tuning, Typed, import_tuned};
    use crate::progress::Progress;

    /// Columns of every numeric type with nulls, NaN, `-0`, infinities, huge and whole floats
    /// and 0/1 codes, some households rejected (a bad geometry, a duplicate id): imported with
    /// the numbers kept as numbers, every cell reads as the text of the same import made all
    /// text, every column is typed the same, the report is the same, and the numbers are too.
    #[test]
    fn columns_kept_as_numbers_read_as_their_text_import() {
        let n = 5000usize;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut cols: Vec<(&str, ArrayRef)> = Vec::new();
        let ids: Vec<String> = (0..n).map(|i| format!("H{}", if i == 77 { 12 } else { i })).collect();
        cols.push(("household_id", Arc::new(StringArray::from_iter_values(ids))));
        let wkb: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let (lon, lat) = (-77.0 + (next() % 10_000) as f64 * 1e-5, -12.0 - (next() % 10_000) as f64 * 1e-5);
                super::wkb_point_le(lon, if i == 1234 { 123.0 } else { lat })
            })
            .collect();
        cols.push(("geometry", Arc::new(BinaryArray::from_iter_values(wkb.iter()))));
        let specials = [f64::NAN, -0.0, 0.0, 1.0, f64::INFINITY, 1e21, 2f64.powi(60), 0.1 + 0.2, -5.0];
        let floats = Float64Array::from_iter((0..n).map(|i| match i % 97 {
            0 => None,
            k if k < 10 => Some(specials[k - 1]),
            _ => Some((next() % 100_000) as f64 / 7.0),
        }));
        cols.push(("income", Arc::new(floats)));
        cols.push(("whole", Arc::new(Float64Array::from_iter_values((0..n).map(|i| (i % 13) as f64 * 1000.0)))));
        cols.push((
            "lat",
            Arc::new(Float64Array::from_iter_values((0..n).map(|_| -12.0 - (next() % 1000) as f64 * 1e-4))),
        ));
        cols.push(("size", Arc::new(Int32Array::from_iter((0..n).map(|i| (i % 11 != 0).then_some((i % 9) as i32))))));
        // Small first (4 bytes a value), then past 32 bits (8).
        cols.push(("code", Arc::new(Int64Array::from_iter_values((0..n).map(|i| (next() as i64) >> (63 - i % 64))))));
        cols.push(("water", Arc::new(Int8Array::from_iter_values((0..n).map(|i| (i % 2) as i8)))));
        cols.push(("big", Arc::new(UInt32Array::from_iter_values((0..n).map(|_| next() as u32)))));
        // u64 may not fit an i64: text.
        cols.push(("huge", Arc::new(UInt64Array::from_iter_values((0..n).map(|_| next())))));
        let schema = Schema::new(
            cols.iter().map(|(name, a)| Field::new(*name, a.data_type().clone(), true)).collect::<Vec<_>>(),
        );
        let geo = r#"{"version":"1.1.0","primary_column":"geometry","columns":{"geometry":{"encoding":"WKB","geometry_types":["Point"]}}}"#;
        let batch = RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|c| c.1).collect()).unwrap();
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("typed.parquet");
        let props =
            ::parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(700)).build();
        let mut w =
            ::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.append_key_value_metadata(::parquet::file::metadata::KeyValue::new("geo".into(), geo.to_string()));
        w.close().unwrap();

        let read = |typed_columns: bool| {
            let tuning = Tuning { typed_columns, ..Tuning::default() };
            import_tuned(&path, &ImportOptions::default(), &Keep::All, &Progress::new(), tuning).unwrap()
        };
        let (text, text_report) = read(false);
        let (typed, typed_report) = read(true);
        assert_eq!(typed.len(), n - 2, "a bad latitude and a duplicate id rejected");
        assert_eq!(serde_json::to_value(&typed_report).unwrap(), serde_json::to_value(&text_report).unwrap());
        let names: Vec<&str> = typed.columns.iter().map(|c| c.name.as_str()).collect();
        for c in 0..typed.columns.len() {
            let kept_as_numbers = typed.cells.typed(c).is_some();
            assert_eq!(kept_as_numbers, !matches!(names[c], "household_id" | "huge"), "{}", names[c]);
            assert!(text.cells.typed(c).is_none());
            assert_eq!(typed.numbers(c), text.numbers(c), "{}", names[c]);
            let (a, b): (Vec<f64>, Vec<f64>) = (typed.numbers_or_nan(c), text.numbers_or_nan(c));
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{}", names[c]);
            let mut buf = String::new();
            for i in 0..typed.len() {
                assert_eq!(typed.cells.text_in(i, c, &mut buf), text.text(i, c), "{} row {i}", names[c]);
            }
            // Made once, on first use: the same text.
            for i in 0..typed.len() {
                assert_eq!(typed.text(i, c), text.text(i, c), "{} row {i}", names[c]);
            }
        }
        let income = typed.column("income").unwrap();
        assert!(matches!(typed.cells.typed(income), Some(Typed::Float(_))));
        assert!(typed.text(0, income).is_empty(), "null is empty");
        let size = typed.column("size").unwrap();
        let narrow_with_nulls = matches!(
            typed.cells.typed(size),
            Some(Typed::Int { values: Ints::Narrow(_), null }) if !null.is_empty()
        );
        assert!(narrow_with_nulls);
        let code = typed.column("code").unwrap();
        assert!(matches!(typed.cells.typed(code), Some(Typed::Int { values: Ints::Wide(_), .. })), "widened");
    }
}
