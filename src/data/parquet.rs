//! Parquet and GeoParquet (1.0, 1.1). With GeoParquet's `geo` metadata, the primary geometry
//! column gives the households: WKB points, or GeoArrow's native `point` encoding (a struct of
//! `x`, `y` or an interleaved fixed-size list). Without it, the file is a table like a CSV and
//! the coordinate columns are detected by name. Every other scalar column becomes a column of
//! text exactly as a CSV would hold it (numbers in their shortest exact form, nulls and NaN
//! empty, dates in ISO 8601), so detection, checks and the import report are those of a CSV.
//!
//! Records are numbered from 1 across row groups; a geometry that is not a usable point is
//! rejected with its row group and row in the message. There are no line numbers.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use ::parquet::arrow::ProjectionMask;
use ::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

use super::{Format, Geometry, ImportError, IssueKind, Rec, Source};

/// How the geometry column holds its points.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Wkb,
    /// GeoArrow `point`: struct {x, y[, z[, m]]} or fixed-size list [x, y, ...].
    Native,
}

pub(crate) struct ParquetSource {
    path: std::path::PathBuf,
    headers: Vec<String>,
    /// Arrow column index (in the projected batch) of each header.
    cols: Vec<usize>,
    geometry: Option<(usize, String, Encoding)>,
    reader: ParquetRecordBatchReader,
    /// Rows per row group, to name a row's group in messages.
    group_rows: Vec<i64>,
    total: u64,
    done: u64,
    /// Bytes in the file: progress is told in bytes, as for the text formats.
    file_len: u64,
    pending: VecDeque<Rec>,
    spare: Vec<Rec>,
    notes: Vec<String>,
}

/// The geometry column GeoParquet's `geo` metadata names, how it is encoded, and a note on
/// its CRS; `Ok(None)` for a plain Parquet table.
fn geo_metadata(path: &Path, geo: Option<&str>) -> Result<Option<(String, Encoding, Option<String>)>, ImportError> {
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
    // No `crs` key means OGC:CRS84; `null` means unknown; anything else must be longitude and
    // latitude on WGS 84 (or a datum close enough for need mapping).
    let note = match col.get("crs") {
        None => None,
        Some(serde_json::Value::Null) => Some(format!(
            "GeoParquet says the CRS of {primary:?} is unknown; its coordinates are read as longitude and latitude"
        )),
        Some(crs) => {
            let id = crs.get("id");
            let authority = id.and_then(|i| i.get("authority")).and_then(|a| a.as_str()).unwrap_or("");
            let code = id.and_then(|i| i.get("code")).map(|c| c.to_string().trim_matches('"').to_string());
            let code = code.as_deref().unwrap_or("");
            let lonlat = matches!((authority, code), ("OGC", "CRS84") | ("EPSG", "4326") | ("OGC", "CRS84h"))
                || crs.as_str().is_some_and(|s| s.contains("CRS84") || s.contains("4326"));
            if !lonlat {
                let name = crs.get("name").and_then(|n| n.as_str()).unwrap_or("a projected CRS");
                let named =
                    if authority.is_empty() { name.to_string() } else { format!("{authority}:{code} ({name})") };
                return Err(ImportError::file(
                    path,
                    format!(
                        "geometry column {primary:?} is in {named}; needmap reads longitude and latitude \
                         (OGC:CRS84 / EPSG:4326): reproject it first (geopandas: gdf.to_crs(4326))"
                    ),
                ));
            }
            None
        }
    };
    Ok(Some((primary, encoding, note)))
}

/// Runs `f`, turning a panic inside the Parquet library (it has panicked on damaged files,
/// e.g. found by the `parquet` fuzz target) into an error naming the file. The panic's own
/// message is kept off stderr while `f` runs: the user gets one line, not a backtrace.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, ImportError>) -> Result<T, ImportError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    out.unwrap_or_else(|_| {
        Err(ImportError::file(path, "cannot be read as Parquet: the file is damaged (the Parquet reader failed on it)"))
    })
}

/// Whether a column's values can be written as text (not a struct, list or map).
fn scalar(t: &DataType) -> bool {
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
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| ImportError::file(path, format!("cannot be read as Parquet ({e}); is the file complete?")))?;
        let meta = builder.metadata().clone();
        let geo = meta
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
            .and_then(|k| k.value.clone());
        let geometry = geo_metadata(path, geo.as_deref())?;
        let schema = builder.schema().clone();
        let mut notes = Vec::new();
        let mut roots = Vec::new();
        let mut skipped = Vec::new();
        let mut geometry_root = None;
        for (i, f) in schema.fields().iter().enumerate() {
            if geometry.as_ref().is_some_and(|(g, ..)| g == f.name()) {
                geometry_root = Some(i);
                roots.push(i);
            } else if scalar(f.data_type()) {
                roots.push(i);
            } else {
                skipped.push(f.name().clone());
            }
        }
        let geometry = match geometry {
            Some((name, enc, note)) => {
                let root = geometry_root.ok_or_else(|| {
                    ImportError::file(
                        path,
                        format!("GeoParquet names {name:?} as its geometry, but there is no such column"),
                    )
                })?;
                notes.extend(note);
                Some((root, name, enc))
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
        // Positions in the projected batch follow the order of `roots`.
        let mut headers = Vec::new();
        let mut cols = Vec::new();
        let mut geometry_col = None;
        for (k, &i) in roots.iter().enumerate() {
            if Some(i) == geometry.as_ref().map(|g| g.0) {
                geometry_col = Some(k);
            } else {
                headers.push(schema.field(i).name().clone());
                cols.push(k);
            }
        }
        let headers = super::csv::unique_headers(headers.into_iter());
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let group_rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        let total = meta.file_metadata().num_rows().max(0) as u64;
        let reader = builder
            .with_projection(mask)
            .with_batch_size(8192)
            .build()
            .map_err(|e| ImportError::file(path, format!("cannot be read as Parquet: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            cols,
            geometry: geometry.map(|(_, name, enc)| (geometry_col.expect("projected"), name, enc)),
            reader,
            group_rows,
            total,
            done: 0,
            file_len: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            pending: VecDeque::new(),
            spare: Vec::new(),
            notes,
        })
    }

    /// Row group (1-based) and row in it (1-based) of the record numbered `row` (1-based).
    fn place(&self, row: u64) -> (usize, u64) {
        let mut left = row;
        for (g, &n) in self.group_rows.iter().enumerate() {
            if left <= n as u64 {
                return (g + 1, left);
            }
            left -= n as u64;
        }
        (self.group_rows.len(), left)
    }

    /// Turns the next batch into records; `false` at the end of the file.
    fn fill(&mut self) -> Result<bool, ImportError> {
        let path = self.path.clone();
        let next = guarded(&path, || Ok(self.reader.next()))?;
        let batch: RecordBatch = match next {
            None => return Ok(false),
            Some(b) => b.map_err(|e| {
                let (g, _) = self.place(self.done + 1);
                ImportError::file(&self.path, format!("row group {g} cannot be read: {e}"))
            })?,
        };
        let cells: Vec<Cell> = self
            .cols
            .iter()
            .map(|&c| Cell::new(batch.column(c)))
            .collect::<Result<_, _>>()
            .map_err(|e| ImportError::file(&self.path, format!("a column cannot be read as text: {e}")))?;
        let geometry = self.geometry.as_ref().map(|(c, name, enc)| (batch.column(*c).clone(), name.clone(), *enc));
        for r in 0..batch.num_rows() {
            let mut rec = self.spare.pop().unwrap_or_default();
            rec.clear();
            self.done += 1;
            rec.row = self.done as u32;
            rec.line = 0;
            for c in &cells {
                c.write(r, &mut rec.text);
                rec.ends.push(rec.text.len());
            }
            if let Some((array, name, enc)) = &geometry {
                rec.geometry = Some(point(array, r, *enc).map_err(|(kind, why)| {
                    let (g, gr) = self.place(self.done);
                    (kind, format!("geometry {name:?} (row group {g}, row {gr}) {why}"))
                }));
            }
            self.pending.push_back(rec);
        }
        Ok(true)
    }
}

impl Source for ParquetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        while self.pending.is_empty() {
            if !self.fill()? {
                return Ok(false);
            }
        }
        let mut r = self.pending.pop_front().expect("not empty");
        std::mem::swap(rec, &mut r);
        if self.spare.len() < 16384 {
            self.spare.push(r);
        }
        Ok(true)
    }
    fn progress(&self) -> (u64, u64) {
        let at = (self.done as u128 * self.file_len as u128 / u128::from(self.total.max(1))) as u64;
        (at.min(self.file_len), self.file_len)
    }
    fn format(&self) -> Format {
        Format::Parquet { geometry: self.geometry.as_ref().map(|(_, name, _)| name.clone()) }
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// One column of a batch, ready to write any row as text.
enum Cell<'a> {
    F64(&'a arrow_array::Float64Array),
    F32(&'a arrow_array::Float32Array),
    Int(Box<dyn Fn(usize) -> Option<i128> + 'a>),
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Utf8View(&'a arrow_array::StringViewArray),
    Bool(&'a arrow_array::BooleanArray),
    Other(&'a dyn Array, ArrayFormatter<'a>),
}

impl<'a> Cell<'a> {
    fn new(a: &'a ArrayRef) -> Result<Self, arrow_schema::ArrowError> {
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
            DataType::Int32 => Cell::Int(int::<Int32Type>(a)),
            DataType::Int64 => Cell::Int(int::<Int64Type>(a)),
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

    /// Appends row `i` as text: empty when null (or NaN).
    #[inline]
    fn write(&self, i: usize, out: &mut String) {
        fn float(v: f64, out: &mut String) {
            if !v.is_nan() {
                let _ = write!(out, "{v}");
            }
        }
        match self {
            Cell::F64(a) => {
                if a.is_valid(i) {
                    float(a.value(i), out)
                }
            }
            Cell::F32(a) => {
                if a.is_valid(i) {
                    // The shortest text of the f32, as a CSV written from it holds.
                    let v = a.value(i);
                    if !v.is_nan() {
                        let _ = write!(out, "{v}");
                    }
                }
            }
            Cell::Int(f) => {
                if let Some(v) = f(i) {
                    let _ = write!(out, "{v}");
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

/// The (lon, lat) of row `i` of a geometry column, or why it has none.
fn point(a: &ArrayRef, i: usize, enc: Encoding) -> Geometry {
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
    if xy.0.is_nan() && xy.1.is_nan() {
        return Err((IssueKind::MissingGeometry, "is an empty point".to_string()));
    }
    Ok(xy)
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
}
