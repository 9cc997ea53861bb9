//! Import: from a survey file to validated households and an import report.
//!
//! This module owns reading CSV/TSV ([`csv`](self::csv)), spreadsheets ([`xlsx`]) and GeoJSON
//! ([`geojson`](self::geojson)) into one shape, [`Households`]: coordinates, the 1-based input
//! record number, and the raw text of every kept column, in input order. Detection of the
//! coordinate, id and accuracy columns lives in [`columns`]; row checks and the flags that need
//! the whole data set (outliers, swaps, duplicate coordinates) in [`validate`].
//!
//! Every record either becomes a household or a reject in the [`ImportReport`] with its line,
//! column and reason; suspicious but possible records are kept and flagged. Nothing is dropped
//! silently. A problem with the file as a whole is an [`ImportError`] naming the file.

pub mod arrow_stream;
pub mod columns;
pub mod csv;
mod csv_chunks;
pub mod geojson;
pub mod parquet;
pub mod postgis;
pub mod validate;
pub mod xlsx;

use std::fmt;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::progress::{Cancelled, Progress, lap};
pub use arrow_stream::import_arrow;
use columns::Detected;

/// How the user wants the file read. Part of the saved analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportOptions {
    /// Latitude column name (overrides detection). For a geopoint or WKT column, name it here
    /// and in `lon_column` alike.
    pub lat_column: Option<String>,
    /// Longitude column name (overrides detection).
    pub lon_column: Option<String>,
    /// Household id column (overrides detection). Ids are text: `00501` stays `00501`.
    pub id_column: Option<String>,
    /// Spreadsheet sheet name (default: the first sheet).
    pub sheet: Option<String>,
    /// GPS accuracy worse than this many metres is flagged (kept, but reported).
    pub accuracy_cutoff_m: Option<f64>,
}

/// Which columns to keep the text of. The CLI's `cluster` keeps only what it needs, so a
/// national file stays small in memory.
#[derive(Debug, Clone, Default)]
pub enum Keep {
    #[default]
    All,
    /// Only these columns (by name), plus the id column.
    Only(Vec<String>),
}

/// The file format, as detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Format {
    Csv {
        delimiter: char,
    },
    Spreadsheet {
        sheet: String,
    },
    Geojson,
    /// Parquet; GeoParquet when `geometry` names its point column.
    Parquet {
        geometry: Option<String>,
    },
    /// A PostgreSQL table or query; PostGIS when `geometry` names its point column.
    Postgis {
        geometry: Option<String>,
    },
    /// An Arrow table in memory (a DataFrame from Python); `geometry` as for Parquet.
    Arrow {
        geometry: Option<String>,
    },
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Csv { delimiter: '\t' } => write!(f, "TSV (tab-delimited)"),
            Format::Csv { delimiter } => write!(f, "CSV (delimiter {delimiter:?})"),
            Format::Spreadsheet { sheet } => write!(f, "spreadsheet, sheet {sheet:?}"),
            Format::Geojson => write!(f, "GeoJSON"),
            Format::Parquet { geometry: Some(g) } => write!(f, "GeoParquet (geometry column {g:?})"),
            Format::Parquet { geometry: None } => write!(f, "Parquet"),
            Format::Postgis { geometry: Some(g) } => write!(f, "PostGIS (geometry column {g:?})"),
            Format::Postgis { geometry: None } => write!(f, "PostgreSQL"),
            Format::Arrow { geometry: Some(g) } => write!(f, "Arrow table (geometry column {g:?})"),
            Format::Arrow { geometry: None } => write!(f, "Arrow table"),
        }
    }
}

/// The inferred type of an attribute column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Number,
    Bool,
    Category,
    Text,
    Empty,
}

/// What a column is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Latitude,
    Longitude,
    Geopoint,
    Wkt,
    Id,
    Accuracy,
    Attribute,
}

/// One kept column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// 1-based column number in the input.
    pub number: usize,
    pub kind: ColumnKind,
    pub role: Role,
    /// Non-empty values among accepted households.
    pub non_empty: usize,
    /// Distinct values, counted up to 1,000.
    pub distinct: usize,
}

/// The kept columns of every household: text in one arena (no allocation per cell), and the
/// columns a typed source (GeoParquet) gave as numbers kept as numbers.
///
/// Each cell's end is kept as a 16-bit offset from its row's start: rows are short, and at
/// 10M households of 9 columns this is 180 MB less than 32-bit offsets. A row longer than
/// 64 KiB (a pasted document in a comment column) keeps its ends in `wide` instead.
///
/// A column kept as numbers ([`Typed`]) reads as the text a CSV of the same data holds (what
/// the source's own text for it would be); that text is made only when something asks for it
/// ([`Cells::get`]), once, for the whole column. Most runs never do: the need index, the
/// column types and the writers read the numbers ([`Cells::typed`], [`Cells::text_in`]).
#[derive(Debug, Clone, Default)]
pub struct Cells {
    n_cols: usize,
    /// Columns in the arena (`n_cols` less the typed ones).
    n_text: usize,
    text: String,
    /// End offset of each cell, relative to its row's start (0 for the cells of a wide row).
    ends: Vec<u16>,
    row_start: Vec<usize>,
    /// The ends of the rows longer than `u16::MAX` bytes, by row.
    wide: rustc_hash::FxHashMap<usize, Box<[u32]>>,
    /// Per column, where it is kept; empty when every column is text (column `c` is arena
    /// column `c`).
    slots: Vec<Slot>,
    typed: Vec<TypedColumn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Arena column.
    Text(usize),
    /// Index in `Cells::typed`.
    Typed(usize),
}

/// How a source gives a column as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumKind {
    /// 64-bit floats; the text of each is the shortest that reads back as it (Rust's
    /// `Display`), empty for NaN or null.
    Float,
    /// Integers that fit 64 bits; empty when null.
    Int,
}

/// One value of a typed column, as a record carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Float(f64),
    Int(i64),
    Null,
}

impl Num {
    /// The value whose text (see [`NumKind`]) is `t`: exact, since that text reads back as
    /// the value it was written from.
    fn from_text(kind: NumKind, t: &str) -> Num {
        match kind {
            NumKind::Float => Num::Float(t.parse().unwrap_or(f64::NAN)),
            NumKind::Int => t.parse().map_or(Num::Null, Num::Int),
        }
    }
}

/// The values of a column kept as numbers.
#[derive(Debug, Clone)]
pub enum Typed {
    /// NaN where empty.
    Float(Vec<f64>),
    /// `null` is empty when no value is missing, else one flag per household.
    Int { values: Ints, null: Vec<bool> },
}

/// Integers, 4 bytes each while they fit (counts, codes, yes/no: most columns), else 8.
#[derive(Debug, Clone)]
pub enum Ints {
    Narrow(Vec<i32>),
    Wide(Vec<i64>),
}

impl Ints {
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        match self {
            Ints::Narrow(v) => i64::from(v[i]),
            Ints::Wide(v) => v[i],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Ints::Narrow(v) => v.len(),
            Ints::Wide(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, x: i64) {
        match self {
            Ints::Wide(v) => v.push(x),
            Ints::Narrow(v) => match i32::try_from(x) {
                Ok(x) => v.push(x),
                Err(_) => {
                    let mut wide: Vec<i64> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                    wide.extend(v.iter().map(|&x| i64::from(x)));
                    wide.push(x);
                    *self = Ints::Wide(wide);
                }
            },
        }
    }

    fn reserve(&mut self, n: usize) {
        match self {
            Ints::Narrow(v) => v.reserve(n),
            Ints::Wide(v) => v.reserve(n),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Ints::Narrow(v) => v.shrink_to_fit(),
            Ints::Wide(v) => v.shrink_to_fit(),
        }
    }
}

impl Typed {
    fn len(&self) -> usize {
        match self {
            Typed::Float(v) => v.len(),
            Typed::Int { values, .. } => values.len(),
        }
    }

    /// Household `i`'s value, `None` where empty.
    #[inline]
    pub fn get(&self, i: usize) -> Option<f64> {
        match self {
            Typed::Float(v) => Some(v[i]).filter(|v| !v.is_nan()),
            Typed::Int { values, null } => (null.is_empty() || !null[i]).then(|| values.get(i) as f64),
        }
    }

    /// Household `i`'s value as an integer, when it is one (an empty cell is `None`).
    #[inline]
    pub fn int(&self, i: usize) -> Option<i64> {
        match self {
            Typed::Float(_) => None,
            Typed::Int { values, null } => (null.is_empty() || !null[i]).then(|| values.get(i)),
        }
    }

    /// Appends household `i`'s text.
    #[inline]
    pub fn write(&self, i: usize, out: &mut String) {
        match self {
            Typed::Float(v) => parquet::push_float(v[i], out),
            Typed::Int { values, null } => {
                if null.is_empty() || !null[i] {
                    out.push_str(itoa::Buffer::new().format(values.get(i)));
                }
            }
        }
    }

    fn push(&mut self, v: Num) {
        match (self, v) {
            (Typed::Float(f), Num::Float(x)) => f.push(x),
            (Typed::Float(f), _) => f.push(f64::NAN),
            (Typed::Int { values, null }, v) => {
                let missing = !matches!(v, Num::Int(_));
                // The flags start with the first missing value (its own among them).
                if missing || !null.is_empty() {
                    null.resize(values.len(), false);
                    null.push(missing);
                }
                values.push(if let Num::Int(x) = v { x } else { 0 });
            }
        }
    }

    fn retain(&mut self, drop: &[bool]) {
        match self {
            Typed::Float(v) => keep(v, drop),
            Typed::Int { values, null } => {
                match values {
                    Ints::Narrow(v) => keep(v, drop),
                    Ints::Wide(v) => keep(v, drop),
                }
                if !null.is_empty() {
                    keep(null, drop);
                }
            }
        }
    }
}

/// A typed column and, once asked for, its text.
#[derive(Debug, Clone)]
struct TypedColumn {
    values: Typed,
    /// Every value's text, one after another, and where each ends.
    text: std::sync::OnceLock<(String, Vec<usize>)>,
}

impl TypedColumn {
    fn text(&self) -> &(String, Vec<usize>) {
        self.text.get_or_init(|| {
            use rayon::prelude::*;
            const CHUNK: usize = 1 << 16;
            let n = self.values.len();
            let parts: Vec<(String, Vec<usize>)> = (0..n.div_ceil(CHUNK))
                .into_par_iter()
                .map(|k| {
                    let (mut s, mut ends) = (String::new(), Vec::with_capacity(CHUNK));
                    for i in k * CHUNK..((k + 1) * CHUNK).min(n) {
                        self.values.write(i, &mut s);
                        ends.push(s.len());
                    }
                    (s, ends)
                })
                .collect();
            let mut text = String::with_capacity(parts.iter().map(|p| p.0.len()).sum());
            let mut ends = Vec::with_capacity(n);
            for (s, e) in parts {
                let base = text.len();
                ends.extend(e.iter().map(|&x| x + base));
                text.push_str(&s);
            }
            (text, ends)
        })
    }
}

impl Cells {
    fn new(n_cols: usize) -> Self {
        Self { n_cols, n_text: n_cols, ..Default::default() }
    }

    /// Columns of text but those `kinds` gives as numbers, kept as numbers.
    fn with_kinds(kinds: &[Option<NumKind>]) -> Self {
        let mut cells = Self::new(kinds.len());
        if kinds.iter().all(Option::is_none) {
            return cells;
        }
        let (mut text, mut typed) = (0, 0);
        for k in kinds {
            cells.slots.push(match k {
                None => {
                    text += 1;
                    Slot::Text(text - 1)
                }
                Some(kind) => {
                    typed += 1;
                    cells.typed.push(TypedColumn {
                        values: match kind {
                            NumKind::Float => Typed::Float(Vec::new()),
                            NumKind::Int => Typed::Int { values: Ints::Narrow(Vec::new()), null: Vec::new() },
                        },
                        text: std::sync::OnceLock::new(),
                    });
                    Slot::Typed(typed - 1)
                }
            });
        }
        cells.n_text = text;
        cells
    }

    /// Appends `v` to typed column `t` (the `t`-th column kept as numbers); each row's text
    /// cells go in with [`Cells::push_row`].
    fn push_num(&mut self, t: usize, v: Num) {
        self.typed[t].values.push(v);
    }

    /// The numbers of column `col`, when it is kept as numbers.
    pub fn typed(&self, col: usize) -> Option<&Typed> {
        match self.slots.get(col) {
            Some(Slot::Typed(t)) => Some(&self.typed[*t].values),
            _ => None,
        }
    }

    /// The text of cell `col` of household `i`: the arena's, or a typed value's written into
    /// `buf` (its column's text is not made, as [`Cells::get`] would).
    #[inline]
    pub fn text_in<'a>(&'a self, i: usize, col: usize, buf: &'a mut String) -> &'a str {
        match self.typed(col) {
            Some(t) => {
                buf.clear();
                t.write(i, buf);
                buf
            }
            None => self.get(i, col),
        }
    }

    fn push_row<'a>(&mut self, cells: impl Iterator<Item = &'a str>) {
        let start = self.text.len();
        let row = self.row_start.len();
        self.row_start.push(start);
        let first = self.ends.len();
        let mut wide: Option<Vec<u32>> = None;
        for c in cells {
            self.text.push_str(c);
            let end = self.text.len() - start;
            match (&mut wide, u16::try_from(end)) {
                (None, Ok(e)) => self.ends.push(e),
                (None, Err(_)) => {
                    // The row outgrew 16 bits: its ends go to `wide`.
                    let mut w: Vec<u32> = self.ends[first..].iter().map(|&e| u32::from(e)).collect();
                    w.push(end as u32);
                    wide = Some(w);
                    self.ends.push(0);
                }
                (Some(w), _) => {
                    w.push(end as u32);
                    self.ends.push(0);
                }
            }
        }
        if let Some(w) = wide {
            self.ends[first..].fill(0);
            self.wide.insert(row, w.into_boxed_slice());
        }
        debug_assert_eq!(self.ends.len() - first, self.n_text);
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.row_start.clear();
        self.wide.clear();
    }

    /// Byte range in `text` of cell `col` of household `i`.
    #[inline]
    fn range(&self, i: usize, col: usize) -> std::ops::Range<usize> {
        let row = self.row_start[i];
        if !self.wide.is_empty()
            && let Some(w) = self.wide.get(&i)
        {
            let begin = if col == 0 { 0 } else { w[col - 1] as usize };
            return row + begin..row + w[col] as usize;
        }
        let base = i * self.n_text;
        let end = self.ends[base + col] as usize;
        let begin = if col == 0 { 0 } else { self.ends[base + col - 1] as usize };
        row + begin..row + end
    }

    /// Rewrites every cell that is a number with a decimal comma (`-12,05`) with a decimal
    /// point, in place (same length); returns how many.
    fn decimal_commas_to_points(&mut self) -> usize {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        let mut count = 0;
        for (i, c) in (0..self.len()).flat_map(|i| (0..self.n_text).map(move |c| (i, c))) {
            let cell = &mut bytes[self.range(i, c)];
            if cell.contains(&b',')
                && std::str::from_utf8(cell)
                    .is_ok_and(|t| validate::parse_number(t) == Err(validate::NumberProblem::DecimalComma))
            {
                for b in cell.iter_mut().filter(|b| **b == b',') {
                    *b = b'.';
                }
                count += 1;
            }
        }
        // Only ASCII commas became ASCII points: still UTF-8.
        self.text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        count
    }

    /// The text of cell `col` of household `i`.
    #[inline]
    pub fn get(&self, i: usize, col: usize) -> &str {
        let col = match self.slots.get(col) {
            None => col,
            Some(Slot::Text(k)) => *k,
            Some(Slot::Typed(t)) => {
                let (text, ends) = self.typed[*t].text();
                let begin = if i == 0 { 0 } else { ends[i - 1] };
                return &text[begin..ends[i]];
            }
        };
        &self.text[self.range(i, col)]
    }

    fn shrink(&mut self) {
        for t in &mut self.typed {
            match &mut t.values {
                Typed::Float(v) => v.shrink_to_fit(),
                Typed::Int { values, null } => {
                    values.shrink_to_fit();
                    null.shrink_to_fit();
                }
            }
        }
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.row_start.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.row_start.len()
    }

    /// Appends the rows of `other` (same columns, all text).
    fn append(&mut self, other: &Cells) {
        debug_assert!(self.typed.is_empty() && other.typed.is_empty());
        let base = self.text.len();
        let rows = self.len();
        self.text.push_str(&other.text);
        self.ends.extend_from_slice(&other.ends);
        self.row_start.extend(other.row_start.iter().map(|&s| s + base));
        self.wide.extend(other.wide.iter().map(|(&r, w)| (r + rows, w.clone())));
    }

    /// Keeps the rows whose `drop` is false.
    fn retain(&mut self, drop: &[bool]) {
        let mut kept = Cells { typed: Vec::new(), ..Cells::new(self.n_cols) };
        kept.n_text = self.n_text;
        kept.slots = std::mem::take(&mut self.slots);
        for i in (0..self.len()).filter(|&i| !drop[i]) {
            kept.push_row((0..self.n_text).map(|c| &self.text[self.range(i, c)]));
        }
        kept.typed = std::mem::take(&mut self.typed);
        for t in &mut kept.typed {
            t.values.retain(drop);
            t.text = std::sync::OnceLock::new();
        }
        *self = kept;
    }
}

/// Keeps the items of `v` whose `drop` is false.
fn keep<T>(v: &mut Vec<T>, drop: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// Accepted households, in input order. Columns are parallel vectors.
#[derive(Debug, Clone, Default)]
pub struct Households {
    pub path: PathBuf,
    pub format: Option<Format>,
    /// 1-based record number in the input (header excluded; GeoJSON: feature number).
    pub row: Vec<u32>,
    /// Line in the file (spreadsheet: sheet row; GeoJSON: 0, unknown).
    pub line: Vec<u32>,
    pub lat_deg: Vec<f64>,
    pub lon_deg: Vec<f64>,
    /// GPS accuracy in metres, when the file has it (NaN where a household has none).
    pub accuracy_m: Option<Vec<f32>>,
    /// Kept columns, in input order.
    pub columns: Vec<ColumnInfo>,
    /// Index into `columns` of the id column.
    pub id_column: Option<usize>,
    /// Indices into `columns` of the input's primary key (a database table's), when every
    /// one of its columns is kept; empty otherwise.
    pub key_columns: Vec<usize>,
    pub cells: Cells,
}

impl Households {
    pub fn len(&self) -> usize {
        self.row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }

    /// Index of the kept column with this name (exact, then case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .or_else(|| self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
    }

    /// Text of the id of household `i` (empty when the file has no id column).
    pub fn id(&self, i: usize) -> &str {
        match self.id_column {
            Some(c) => self.cells.get(i, c),
            None => "",
        }
    }

    /// The primary key of household `i` as the import report names rows (`household_id=H7`,
    /// `survey=r2, household_id=H7`); `None` without [`Households::key_columns`].
    pub fn key(&self, i: usize) -> Option<String> {
        if self.key_columns.is_empty() {
            return None;
        }
        let parts: Vec<String> =
            self.key_columns.iter().map(|&c| format!("{}={}", self.columns[c].name, self.cells.get(i, c))).collect();
        Some(parts.join(", "))
    }

    /// Text of cell `col` of household `i`.
    pub fn text(&self, i: usize, col: usize) -> &str {
        self.cells.get(i, col)
    }

    /// Numeric values of a column; `None` where empty or not a number.
    pub fn numbers(&self, col: usize) -> Vec<Option<f64>> {
        use rayon::prelude::*;
        if let Some(t) = self.cells.typed(col) {
            return (0..self.len()).into_par_iter().map(|i| t.get(i).filter(|v| v.is_finite())).collect();
        }
        (0..self.len()).into_par_iter().map(|i| validate::parse_number(self.cells.get(i, col)).ok().flatten()).collect()
    }

    /// The numbers of column `col`, NaN where a cell is empty or not a number: 8 bytes a
    /// household, where [`Households::numbers`] then a map would keep 16.
    pub fn numbers_or_nan(&self, col: usize) -> Vec<f64> {
        use rayon::prelude::*;
        if let Some(t) = self.cells.typed(col) {
            return (0..self.len())
                .into_par_iter()
                .map(|i| t.get(i).filter(|v| v.is_finite()).unwrap_or(f64::NAN))
                .collect();
        }
        (0..self.len())
            .into_par_iter()
            .map(|i| validate::parse_number(self.cells.get(i, col)).ok().flatten().unwrap_or(f64::NAN))
            .collect()
    }

    /// Keeps the households whose `drop` is false.
    fn retain(&mut self, drop: &[bool]) {
        keep(&mut self.row, drop);
        keep(&mut self.line, drop);
        keep(&mut self.lat_deg, drop);
        keep(&mut self.lon_deg, drop);
        if let Some(a) = &mut self.accuracy_m {
            keep(a, drop);
        }
        self.cells.retain(drop);
    }

    /// Unit vectors of every household.
    pub fn xyz(&self) -> Vec<crate::sphere::Xyz> {
        use rayon::prelude::*;
        self.lon_deg
            .par_iter()
            .zip(self.lat_deg.par_iter())
            .map(|(&lon, &lat)| crate::sphere::xyz_from_lonlat(lon, lat))
            .collect()
    }
}

/// Why a record was rejected or flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    // Rejects
    MissingCoordinate,
    NotANumber,
    DecimalComma,
    LatitudeOutOfRange,
    LongitudeOutOfRange,
    ZeroZero,
    DuplicateId,
    TooManyFields,
    UnsupportedGeometry,
    MissingGeometry,
    // Flags (kept)
    ProbableSwap,
    FarOutlier,
    DuplicateCoordinates,
    ImpreciseGps,
    ShortRow,
}

impl IssueKind {
    pub fn is_reject(self) -> bool {
        !matches!(
            self,
            IssueKind::ProbableSwap
                | IssueKind::FarOutlier
                | IssueKind::DuplicateCoordinates
                | IssueKind::ImpreciseGps
                | IssueKind::ShortRow
        )
    }
}

/// One rejected or flagged record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub kind: IssueKind,
    /// 1-based record number (header excluded; GeoJSON: feature number).
    pub row: u32,
    /// Line in the file (spreadsheet: sheet row); absent for GeoJSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A database row's primary key, `column=value` (`, ` between the columns of a
    /// composite key): what names the row where a file would give a line.
    /// (Boxed: the row checks return an `Issue` as their error, kept small.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Box<str>>,
    pub message: String,
}

impl Issue {
    /// `file:line:column: message`, as compilers print it.
    pub fn located(&self, path: &Path) -> String {
        let mut s = path.display().to_string();
        match self.line {
            Some(l) => {
                s += &format!(":{l}");
                if let Some(c) = self.column {
                    s += &format!(":{c}");
                }
            }
            // A database row by its primary key.
            None if let Some(k) = &self.key => s += &format!(": {k}"),
            // No line: a GeoJSON feature, or a Parquet or database row, by its number.
            None => {
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
                let what = if matches!(ext.as_str(), "parquet" | "geoparquet" | "pq")
                    || postgis::is_url(&path.to_string_lossy())
                    || arrow_stream::is_table_name(path)
                {
                    "row"
                } else {
                    "feature"
                };
                s += &format!(": {what} {}", self.row)
            }
        }
        format!("{s}: {}", self.message)
    }
}

/// Summary of the GPS accuracy column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracySummary {
    pub column: String,
    pub households_with_value: usize,
    pub min_m: f64,
    pub median_m: f64,
    pub p90_m: f64,
    pub max_m: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff_m: Option<f64>,
    pub over_cutoff: usize,
}

/// Everything the import learnt: counts, detected columns, every reject and flag.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    pub path: PathBuf,
    pub format: Format,
    pub records: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub flagged: usize,
    /// How coordinates were found, in words.
    pub coordinates: String,
    pub id_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<AccuracySummary>,
    pub columns: Vec<ColumnInfo>,
    /// Things the user should know that are not about one record.
    pub notes: Vec<String>,
    pub rejects: Vec<Issue>,
    pub flags: Vec<Issue>,
}

impl ImportReport {
    /// Counts of rejects and flags by kind, in a fixed order.
    pub fn counts_by_kind(&self) -> Vec<(IssueKind, usize)> {
        let mut m: FxHashMap<IssueKind, usize> = FxHashMap::default();
        for i in self.rejects.iter().chain(&self.flags) {
            *m.entry(i.kind).or_default() += 1;
        }
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort_by_key(|(k, _)| *k as u8);
        v
    }
}

/// A problem with the file as a whole: nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
    #[error("{path}:{line}:{column}: {problem}")]
    At { path: PathBuf, line: u64, column: u64, problem: String },
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for ImportError {
    fn from(_: Cancelled) -> Self {
        ImportError::Cancelled
    }
}

impl ImportError {
    pub(crate) fn file(path: &Path, problem: impl Into<String>) -> Self {
        ImportError::File { path: path.to_path_buf(), problem: problem.into() }
    }
}

/// One input record as a reader delivers it: the text of every field in one buffer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rec {
    pub text: String,
    pub ends: Vec<usize>,
    /// Line in the file, or 0 when unknown.
    pub line: u64,
    pub row: u32,
    /// GeoJSON: the point's lon/lat, or why there is none.
    pub geometry: Option<Geometry>,
    /// The values of the columns the source gives as numbers (see [`Source::typed_columns`]),
    /// in header order; their text fields are empty. Empty when the record is all text.
    pub nums: Vec<Num>,
}

impl Rec {
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.geometry = None;
        self.nums.clear();
    }
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn get(&self, i: usize) -> &str {
        if i >= self.ends.len() {
            return "";
        }
        let b = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[b..self.ends[i]]
    }
}

/// A GeoJSON feature's point (lon, lat), or why it has none.
pub(crate) type Geometry = Result<(f64, f64), (IssueKind, String)>;

/// The fields of one record, as the row checks read them: a [`Rec`], or a line of a chunk
/// the parallel CSV reader splits in place. A field past the end reads as empty.
pub(crate) trait Fields {
    fn count(&self) -> usize;
    fn field(&self, i: usize) -> &str;
}

impl Fields for Rec {
    fn count(&self) -> usize {
        self.len()
    }
    fn field(&self, i: usize) -> &str {
        self.get(i)
    }
}

/// Where a plain-text reader stands, so the parallel CSV reader can take over there and
/// hand back if it meets what it does not read (quotes, a lone carriage return, bytes that
/// are not UTF-8).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Handover {
    /// Absolute byte offset in the file: just after the first terminator byte of the last
    /// record read (where the csv crate would go on).
    pub offset: u64,
    /// The line the csv crate would report for the next record: 1 + line feeds before
    /// `offset`.
    pub line: u64,
    /// Records read so far.
    pub rows: u32,
    pub delimiter: u8,
}

/// A reader of one format: headers first, then records.
pub(crate) trait Source {
    fn headers(&self) -> &[String];
    /// The HXL hashtag row, when the row under the header holds one.
    fn hxl(&self) -> Option<&[String]> {
        None
    }
    /// Fills `rec` with the next record; `Ok(false)` at the end.
    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError>;
    /// Fraction of the input read so far, for progress.
    fn progress(&self) -> (u64, u64);
    fn format(&self) -> Format;
    /// The primary key's columns (a database table): they name its rows in the report.
    fn key(&self) -> Vec<String> {
        Vec::new()
    }
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// After the last record: per header, the tally of a column of numbers taken from the
    /// numbers themselves (GeoParquet), so the import need not read their text again to type
    /// the column. Empty, or `None` for a column, where the text must tell.
    fn number_tallies(&mut self) -> Vec<Option<parquet::NumberTally>> {
        Vec::new()
    }
    /// After detection, before the records after the sample: which columns may come as
    /// numbers rather than text (`may`, per header: not read by the row checks), and, per
    /// header, which will. Records handed out before this call are text.
    fn typed_columns(&mut self, may: &[bool]) -> Vec<Option<NumKind>> {
        vec![None; may.len()]
    }
    /// How many records the source holds, when it knows (GeoParquet's metadata).
    fn records(&self) -> Option<u64> {
        None
    }
    /// Where the parallel CSV reader may take over (plain CSV only).
    fn handover(&self) -> Option<Handover> {
        None
    }
    /// Goes on from `at` (after the parallel reader stopped there), counting the fields the
    /// parallel reader read as Latin-1.
    fn resume(&mut self, _at: &Handover, _latin1_fields: u64) -> Result<(), ImportError> {
        unreachable!("only a source that offers a handover resumes")
    }
}

/// Knobs of the reader, for tests: whether the parallel CSV reader runs, and its block size.
#[derive(Debug, Clone, Copy)]
/// How the CSV reader runs (for tests and the fuzz targets, which check that the parallel
/// reader and the csv crate give the same households and report on every input).
#[doc(hidden)]
pub struct Tuning {
    pub parallel_csv: bool,
    pub block_bytes: usize,
    /// Whether a typed source (GeoParquet) may give columns as numbers.
    pub typed_columns: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Self { parallel_csv: true, block_bytes: 8 << 20, typed_columns: true }
    }
}

/// Reads, validates and reports on a survey file.
///
/// Rows with problems are rejected into the report; the file as a whole failing (missing,
/// unreadable, no coordinates) is an error naming the file.
pub fn import(
    path: &Path,
    opts: &ImportOptions,
    keep: &Keep,
    progress: &Progress,
) -> Result<(Households, ImportReport), ImportError> {
    import_tuned(path, opts, keep, progress, Tuning::default())
}

#[doc(hidden)]
pub fn import_tuned(
    path: &Path,
    opts: &ImportOptions,
    keep: &Keep,
    progress: &Progress,
    tuning: Tuning,
) -> Result<(Households, ImportReport), ImportError> {
    if let Some(url) = path.to_str().filter(|s| postgis::is_url(s)) {
        let url = postgis::PgUrl::parse(url)?;
        let mut source = postgis::PgSource::open(&url)?;
        let total = source.progress().1;
        progress.stage("import", total);
        return read_all(&url.path(), &mut source, opts, keep, progress, total, tuning);
    }
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ImportError::file(path, "no such file; check the path"),
        _ => ImportError::file(path, format!("cannot read: {e}")),
    })?;
    if meta.is_dir() {
        return Err(ImportError::file(path, "is a directory; give a CSV, TSV, XLSX, GeoJSON or GeoParquet file"));
    }
    if meta.len() == 0 {
        return Err(ImportError::file(path, "is empty; expected a header row and household records"));
    }
    progress.stage("import", meta.len());
    let mut source: Box<dyn Source + Send> = match sniff_kind(path)? {
        Kind::Csv => Box::new(csv::CsvSource::open(path)?),
        Kind::Spreadsheet => Box::new(xlsx::SheetSource::open(path, opts.sheet.as_deref())?),
        Kind::Geojson => Box::new(geojson::GeojsonSource::open(path)?),
        Kind::Parquet => Box::new(parquet::ParquetSource::open(path)?),
    };
    read_all(path, source.as_mut(), opts, keep, progress, meta.len(), tuning)
}

enum Kind {
    Csv,
    Spreadsheet,
    Geojson,
    Parquet,
}

fn sniff_kind(path: &Path) -> Result<Kind, ImportError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" | "tab" | "txt" => return Ok(Kind::Csv),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => return Ok(Kind::Spreadsheet),
        "geojson" | "json" => return Ok(Kind::Geojson),
        "parquet" | "geoparquet" | "pq" => return Ok(Kind::Parquet),
        _ => {}
    }
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| ImportError::file(path, format!("cannot read: {e}")))?;
    let head = &head[..n];
    if head.starts_with(b"PAR1") {
        return Ok(Kind::Parquet);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(Kind::Spreadsheet);
    }
    let first = head.iter().find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF);
    if first == Some(&b'{') {
        return Ok(Kind::Geojson);
    }
    Ok(Kind::Csv)
}

fn read_all(
    path: &Path,
    source: &mut (dyn Source + Send),
    opts: &ImportOptions,
    keep: &Keep,
    progress: &Progress,
    file_len: u64,
    tuning: Tuning,
) -> Result<(Households, ImportReport), ImportError> {
    let started = std::time::Instant::now();
    let headers = source.headers().to_vec();
    // A sample of records lets detection look at values (geopoint strings, WKT).
    let mut sample: Vec<Rec> = Vec::new();
    let mut rec = Rec::default();
    while sample.len() < 200 && source.next(&mut rec)? {
        sample.push(rec.clone());
    }
    // Points from a geometry (GeoJSON, GeoParquet) rather than from coordinate columns.
    let is_geojson = matches!(
        source.format(),
        Format::Geojson
            | Format::Parquet { geometry: Some(_) }
            | Format::Postgis { geometry: Some(_) }
            | Format::Arrow { geometry: Some(_) }
    );
    let detected = columns::detect(path, &headers, source.hxl(), &sample, opts, is_geojson)?;

    let keep_cols: Vec<usize> = (0..headers.len())
        .filter(|&c| match keep {
            Keep::All => true,
            Keep::Only(names) => {
                Some(c) == detected.id || names.iter().any(|n| n == &headers[c] || n.eq_ignore_ascii_case(&headers[c]))
            }
        })
        .collect();

    let mut chk = Checker::new(path, &headers, &detected, keep_cols, opts, &source.format());
    chk.key = source.key().iter().filter_map(|k| headers.iter().position(|h| h == k)).collect();
    // Columns the row checks do not read may come as numbers, and stay numbers.
    let may: Vec<bool> = (0..headers.len())
        .map(|c| tuning.typed_columns && detected.role(c) == Role::Attribute && !chk.key.contains(&c))
        .collect();
    let kinds = source.typed_columns(&may);
    let mut b = Builder::new(chk, kinds);
    // Room for the kept text and the households, from what the sample says of the file.
    let sample_bytes: usize = sample.iter().map(|r| r.text.len() + r.len()).sum::<usize>().max(1);
    let per_record = sample_bytes as f64 / sample.len().max(1) as f64;
    let expected = ((file_len as f64 / per_record) * 1.02) as usize + 16;
    let kept_share = if b.chk.keep_cols.len() == headers.len() { 1.0 } else { 0.25 };
    match source.records() {
        // A source that knows its records (GeoParquet): room for them and for the text of the
        // columns kept as text, as much as the sample's a record (the others are numbers).
        Some(records) => {
            let text: usize = sample.iter().map(|r| b.text_cols.iter().map(|&c| r.get(c).len()).sum::<usize>()).sum();
            let per_record = text as f64 / sample.len().max(1) as f64;
            let records = (records as usize).min(1 << 31);
            b.reserve(records, ((per_record * 1.1 * records as f64) as usize).min(1 << 34));
        }
        None => b.reserve(expected.min(1 << 31), ((file_len as f64 * kept_share) as usize).min(1 << 34)),
    }
    for r in &sample {
        b.push(r);
    }
    drop(sample);
    if tuning.parallel_csv
        && let Some(at) = source.handover()
    {
        match csv_chunks::read(&mut b, &at, progress, tuning.block_bytes)? {
            csv_chunks::Outcome::Done { latin1_fields } => {
                source.resume(&Handover { offset: file_len, ..at }, latin1_fields)?;
            }
            csv_chunks::Outcome::HandBack { at, latin1_fields } => source.resume(&at, latin1_fields)?,
        }
    }
    // Reading and decoding records (csv_core, UTF-8) runs on its own thread, a batch ahead of
    // validation here: the two take about as long, so import takes half the time on two
    // cores. Batches go back to the reader to be refilled, so their buffers are reused.
    const BATCH: usize = 2048;
    type Batch = (Vec<Rec>, usize, u64);
    let src = &mut *source;
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch, ImportError>>(4);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<Rec>>();
        scope.spawn(move || {
            loop {
                let mut batch = back_rx.try_recv().unwrap_or_else(|_| vec![Rec::default(); BATCH]);
                let mut k = 0;
                while k < batch.len() {
                    match src.next(&mut batch[k]) {
                        Ok(true) => k += 1,
                        Ok(false) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                let last = k < batch.len();
                if tx.send(Ok((batch, k, src.progress().0))).is_err() || last {
                    return;
                }
            }
        });
        for msg in rx {
            let (batch, k, position) = msg?;
            for r in &batch[..k] {
                b.push(r);
            }
            progress.check()?;
            progress.set(position);
            let _ = back_tx.send(batch);
        }
        Ok(())
    })?;
    progress.set(file_len);
    progress.check()?;
    lap("import read+validate rows", started);
    let mut notes = source.notes();
    notes.extend(detected.notes.iter().cloned());
    let tallies = source.number_tallies();
    b.finish(source.format(), notes, &tallies, progress)
}

/// The checks on one record: everything about it that does not depend on the others, so
/// chunks of a file can be checked in parallel.
pub(crate) struct Checker<'a> {
    path: &'a Path,
    headers: &'a [String],
    det: &'a Detected,
    /// Input columns whose text is kept, in input order.
    keep_cols: Vec<usize>,
    geojson: bool,
    accuracy_cutoff_m: Option<f64>,
    /// Index of the id column among the kept ones.
    id_kept: Option<usize>,
    /// A `;`-delimited file: decimal commas are decimal marks.
    decimal_comma: bool,
    /// The primary key's columns (a database table), which name rows in issues.
    key: Vec<usize>,
}

/// A record that passed the row checks.
pub(crate) struct Accepted {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    /// Short row, imprecise GPS (usually none).
    pub flags: Vec<Issue>,
}

impl<'a> Checker<'a> {
    fn new(
        path: &'a Path,
        headers: &'a [String],
        det: &'a Detected,
        keep_cols: Vec<usize>,
        opts: &ImportOptions,
        format: &Format,
    ) -> Self {
        let id_kept = det.id.and_then(|id| keep_cols.iter().position(|&c| c == id));
        Self {
            path,
            headers,
            det,
            keep_cols,
            // Neither has lines, nor records of another length than the header.
            geojson: matches!(
                format,
                Format::Geojson | Format::Parquet { .. } | Format::Postgis { .. } | Format::Arrow { .. }
            ),
            accuracy_cutoff_m: opts.accuracy_cutoff_m,
            id_kept,
            decimal_comma: matches!(format, Format::Csv { delimiter: ';' }),
            key: Vec::new(),
        }
    }

    pub fn has_accuracy(&self) -> bool {
        self.det.accuracy.is_some()
    }

    pub fn keep_cols(&self) -> &[usize] {
        &self.keep_cols
    }

    pub fn issue(
        &self,
        rec: &impl Fields,
        row: u32,
        line: u64,
        kind: IssueKind,
        column: Option<usize>,
        message: String,
    ) -> Issue {
        Issue {
            kind,
            row,
            // GeoJSON: the feature's line, 0 when unknown.
            line: (!self.geojson || line > 0).then_some(line as u32),
            column: column.map(|c| c + 1),
            column_name: column.and_then(|c| self.headers.get(c).cloned()),
            id: self.det.id.map(|c| rec.field(c).to_string()).filter(|s| !s.is_empty()),
            key: (!self.key.is_empty()).then(|| {
                self.key
                    .iter()
                    .map(|&c| format!("{}={}", self.headers[c], rec.field(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
                    .into()
            }),
            message,
        }
    }

    /// The row checks, in the order the report tells them: field count, coordinates, then
    /// the flags of a kept record. Duplicate ids need the whole set: see [`Builder::finish`].
    pub fn check(
        &self,
        rec: &impl Fields,
        row: u32,
        line: u64,
        geometry: Option<&Geometry>,
    ) -> Result<Accepted, Issue> {
        let n_fields = rec.count();
        if n_fields > self.headers.len() && !self.geojson {
            let msg = format!(
                "has {} fields but the header has {}; is there an unquoted delimiter in a field?",
                n_fields,
                self.headers.len()
            );
            return Err(self.issue(rec, row, line, IssueKind::TooManyFields, Some(self.headers.len()), msg));
        }
        let coords = match geometry {
            Some(Ok((lon, lat))) => validate::check_lat_lon(*lat, *lon)
                .map(|()| (*lat, *lon, None))
                .map_err(|(kind, msg)| (kind, None, msg)),
            Some(Err((kind, msg))) => Err((*kind, None, msg.clone())),
            None => validate::coordinates(&self.det.coords, rec, self.decimal_comma),
        };
        let (lat, lon, geo_acc) = match coords {
            Ok(c) => c,
            Err((kind, col, msg)) => return Err(self.issue(rec, row, line, kind, col, msg)),
        };
        let mut flags = Vec::new();
        if n_fields < self.headers.len() && !self.geojson {
            let msg = format!(
                "has {} fields but the header has {}; the missing ones are read as empty",
                n_fields,
                self.headers.len()
            );
            flags.push(self.issue(rec, row, line, IssueKind::ShortRow, None, msg));
        }
        let acc = geo_acc.or_else(|| {
            self.det.accuracy.and_then(|c| validate::parse_number_in(rec.field(c), self.decimal_comma).ok().flatten())
        });
        if let (Some(a), Some(cut)) = (acc, self.accuracy_cutoff_m)
            && a > cut
        {
            let msg = format!("GPS accuracy {a} m is worse than the cutoff of {cut} m");
            flags.push(self.issue(rec, row, line, IssueKind::ImpreciseGps, self.det.accuracy, msg));
        }
        Ok(Accepted { lat, lon, accuracy_m: acc, flags })
    }

    /// Key of a record's id for the duplicate check: 0 when it has none.
    pub fn id_key(&self, rec: &impl Fields) -> u64 {
        match self.det.id {
            Some(c) => {
                let id = rec.field(c).trim();
                if id.is_empty() { 0 } else { hash_str(id) | 1 }
            }
            None => 0,
        }
    }
}

/// Collects checked records (candidates) in input order; [`Builder::finish`] rejects
/// duplicate ids and types the columns.
pub(crate) struct Builder<'a> {
    pub chk: Checker<'a>,
    /// Candidates: every record that passed the row checks.
    pub out: Households,
    /// Per candidate: [`Checker::id_key`].
    pub id_key: Vec<u64>,
    /// Per candidate: its record's position among all records (1-based), to merge the
    /// duplicate-id rejects into the others in input order.
    pub seq: Vec<u32>,
    /// Rejects in input order, with their record's position.
    pub rejects: Vec<(u32, Issue)>,
    /// Flags of candidates: (candidate, flag), in input order.
    pub flags: Vec<(u32, Issue)>,
    pub records: usize,
    /// The kept columns the source gives as text, by header.
    text_cols: Vec<usize>,
    /// The kept columns it gives as numbers: (header, position in [`Rec::nums`], kind), in
    /// the order of `Cells`'s typed columns.
    typed_cols: Vec<(usize, usize, NumKind)>,
}

impl<'a> Builder<'a> {
    /// `kinds`: per header, whether the source gives it as numbers (see
    /// [`Source::typed_columns`]); empty when all is text.
    fn new(chk: Checker<'a>, kinds: Vec<Option<NumKind>>) -> Self {
        let kept_key: Vec<usize> = chk.key.iter().filter_map(|&c| chk.keep_cols.iter().position(|&k| k == c)).collect();
        let kind = |c: usize| kinds.get(c).copied().flatten();
        let kept_kinds: Vec<Option<NumKind>> = chk.keep_cols.iter().map(|&c| kind(c)).collect();
        let text_cols = chk.keep_cols.iter().copied().filter(|&c| kind(c).is_none()).collect();
        let typed_cols = chk
            .keep_cols
            .iter()
            .filter_map(|&c| Some((c, (0..c).filter(|&d| kind(d).is_some()).count(), kind(c)?)))
            .collect();
        let out = Households {
            path: chk.path.to_path_buf(),
            accuracy_m: chk.det.accuracy.map(|_| Vec::new()),
            cells: Cells::with_kinds(&kept_kinds),
            key_columns: if kept_key.len() == chk.key.len() { kept_key } else { Vec::new() },
            ..Default::default()
        };
        Self {
            chk,
            out,
            id_key: Vec::new(),
            seq: Vec::new(),
            rejects: Vec::new(),
            flags: Vec::new(),
            records: 0,
            text_cols,
            typed_cols,
        }
    }

    fn reserve(&mut self, households: usize, text_bytes: usize) {
        let o = &mut self.out;
        o.row.reserve(households);
        o.line.reserve(households);
        o.lat_deg.reserve(households);
        o.lon_deg.reserve(households);
        if let Some(a) = &mut o.accuracy_m {
            a.reserve(households);
        }
        o.cells.text.reserve(text_bytes);
        for t in &mut o.cells.typed {
            match &mut t.values {
                Typed::Float(v) => v.reserve(households),
                Typed::Int { values, .. } => values.reserve(households),
            }
        }
        o.cells.ends.reserve(households.saturating_mul(o.cells.n_text));
        o.cells.row_start.reserve(households);
        self.id_key.reserve(households);
        self.seq.reserve(households);
    }

    /// Checks one record and keeps it as a candidate, or rejects it.
    fn push(&mut self, rec: &Rec) {
        self.records += 1;
        let seq = self.records as u32;
        match self.chk.check(rec, rec.row, rec.line, rec.geometry.as_ref()) {
            Err(issue) => self.rejects.push((seq, issue)),
            Ok(a) => {
                let k = self.out.row.len() as u32;
                self.flags.extend(a.flags.into_iter().map(|f| (k, f)));
                self.id_key.push(self.chk.id_key(rec));
                self.seq.push(seq);
                let o = &mut self.out;
                if let Some(acc) = &mut o.accuracy_m {
                    acc.push(a.accuracy_m.map_or(f32::NAN, |v| v as f32));
                }
                o.row.push(rec.row);
                o.line.push(rec.line as u32);
                o.lat_deg.push(a.lat);
                o.lon_deg.push(a.lon);
                o.cells.push_row(self.text_cols.iter().map(|&c| rec.get(c)));
                for (t, &(c, at, kind)) in self.typed_cols.iter().enumerate() {
                    // A record handed out before the plan (the sample) is all text.
                    let v = rec.nums.get(at).copied().unwrap_or_else(|| Num::from_text(kind, rec.get(c)));
                    o.cells.push_num(t, v);
                }
            }
        }
    }

    /// Rejects every candidate whose id an earlier household already has (the first is
    /// kept; the points of one MultiPoint feature share its id), as a scan in input order
    /// would, and drops them from the candidates.
    fn reject_duplicate_ids(&mut self, format: &Format) {
        let Some(id_kept) = self.chk.id_kept else {
            return;
        };
        let keys = &self.id_key;
        let earlier = validate::first_earlier(keys.len(), |i| (keys[i] != 0).then_some(keys[i]));
        let o = &self.out;
        let dups: Vec<(u32, u32)> = earlier
            .into_iter()
            .filter(|&(i, first)| {
                let (i, first) = (i as usize, first as usize);
                o.cells.get(first, id_kept).trim() == o.cells.get(i, id_kept).trim() && o.row[first] != o.row[i]
            })
            .collect();
        if dups.is_empty() {
            return;
        }
        let idc = self.chk.det.id.expect("an id column is kept");
        let mut dup_rejects = Vec::with_capacity(dups.len());
        for &(i, first) in &dups {
            let (i, first) = (i as usize, first as usize);
            let raw = o.cells.get(i, id_kept);
            let at = validate::place(Some(format), o.line[first], o.row[first]);
            let msg = format!("duplicate id {:?}: already used on {at}; the first one is kept", raw.trim());
            dup_rejects.push((
                self.seq[i],
                Issue {
                    kind: IssueKind::DuplicateId,
                    row: o.row[i],
                    line: (!self.chk.geojson).then_some(o.line[i]),
                    column: Some(idc + 1),
                    column_name: self.chk.headers.get(idc).cloned(),
                    id: Some(raw.to_string()).filter(|s| !s.is_empty()),
                    key: None,
                    message: msg,
                },
            ));
        }
        let rejects = std::mem::take(&mut self.rejects);
        self.rejects = merge_by_seq(rejects, dup_rejects);
        let mut drop = vec![false; self.out.len()];
        for &(i, _) in &dups {
            drop[i as usize] = true;
        }
        self.flags.retain(|(k, _)| !drop[*k as usize]);
        self.out.retain(&drop);
    }

    /// `tallies`: see [`Source::number_tallies`]; used when every record was accepted (they
    /// count all records, and a column's type is that of the households').
    fn finish(
        mut self,
        format: Format,
        mut notes: Vec<String>,
        tallies: &[Option<parquet::NumberTally>],
        progress: &Progress,
    ) -> Result<(Households, ImportReport), ImportError> {
        let started = std::time::Instant::now();
        self.reject_duplicate_ids(&format);
        lap("import duplicate ids", started);
        drop(std::mem::take(&mut self.id_key));
        drop(std::mem::take(&mut self.seq));
        self.out.cells.shrink();
        self.out.format = Some(format.clone());
        if self.chk.decimal_comma {
            let n = self.out.cells.decimal_commas_to_points();
            if n > 0 {
                notes.push(format!(
                    "{n} values written with a decimal comma (\"12,5\") read as decimals (\"12.5\"): the file is \
                     ';'-delimited, as spreadsheets write CSV where the comma is the decimal mark"
                ));
            }
        }
        let chk = &self.chk;
        // Columns: the kept ones, typed.
        progress.stage("validate", chk.keep_cols.len() as u64);
        let mut columns = Vec::with_capacity(chk.keep_cols.len());
        let all_accepted = self.rejects.is_empty() && self.out.len() == self.records;
        for (k, &c) in chk.keep_cols.iter().enumerate() {
            let role = chk.det.role(c);
            // The source's tally counts every record: when some were rejected, a column kept as
            // numbers is tallied again over the households.
            let from_source = tallies.get(c).and_then(Option::as_ref).filter(|_| all_accepted);
            let typed = match from_source {
                Some(_) => None,
                None => self.out.cells.typed(k).map(parquet::NumberTally::of),
            };
            let (kind, non_empty, distinct) = match from_source.or(typed.as_ref()) {
                Some(t) => {
                    let kind = validate::kind_of(t.non_empty, t.not_numbers, 0, !t.not_boolean, t.distinct());
                    (kind, t.non_empty, t.distinct())
                }
                _ => validate::infer_kind(&self.out.cells, k, self.out.len()),
            };
            columns.push(ColumnInfo { name: chk.headers[c].clone(), number: c + 1, kind, role, non_empty, distinct });
            progress.set(k as u64 + 1);
        }
        self.out.id_column = chk.id_kept;
        self.out.columns = columns;
        lap("import column types", started);
        let mut flags: Vec<Issue> = self.flags.into_iter().map(|(_, f)| f).collect();
        validate::whole_set_flags(&self.out, chk.path, &mut flags, &mut notes);
        lap("import whole-set checks", started);
        flags.sort_by_key(|f| (f.row, f.kind as u8));
        let rejects: Vec<Issue> = self.rejects.into_iter().map(|(_, r)| r).collect();
        let accuracy =
            chk.det.accuracy_name.as_ref().and_then(|name| {
                validate::accuracy_summary(name, self.out.accuracy_m.as_deref()?, chk.accuracy_cutoff_m)
            });
        if self.out.is_empty() {
            let why = match rejects.first() {
                Some(first) => format!(
                    "no household has usable coordinates ({} records rejected; the first: {})",
                    rejects.len(),
                    first.located(chk.path)
                ),
                None => "has a header but no household records".to_string(),
            };
            return Err(ImportError::file(chk.path, why));
        }
        let flagged = {
            let mut rows: Vec<u32> = flags.iter().map(|f| f.row).collect();
            rows.dedup();
            rows.len()
        };
        let report = ImportReport {
            path: chk.path.to_path_buf(),
            format,
            records: self.records,
            accepted: self.out.len(),
            rejected: rejects.len(),
            flagged,
            coordinates: chk.det.describe(chk.headers),
            id_column: chk.det.id.map(|c| chk.headers[c].clone()),
            accuracy,
            columns: self.out.columns.clone(),
            notes,
            rejects,
            flags,
        };
        Ok((self.out, report))
    }
}

/// Two lists sorted by sequence number, merged.
fn merge_by_seq(a: Vec<(u32, Issue)>, b: Vec<(u32, Issue)>) -> Vec<(u32, Issue)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0 <= y.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.push(if take_a { a.next() } else { b.next() }.expect("peeked"));
    }
}

fn hash_str(s: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = rustc_hash::FxHasher::default();
    s.hash(&mut h);
    // FxHash is weak in its low bits for short strings; mix once more.
    let x = h.finish();
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

#[cfg(test)]
mod cells_tests {
    use super::Cells;

    /// Rows of every width, a row past 64 KiB among them (its ends kept apart), through
    /// push, append, retain and the decimal-comma rewrite: every cell reads back as pushed.
    #[test]
    fn cells_read_back_with_wide_rows() {
        let big = "x".repeat(70_000);
        let huge = "é".repeat(40_000); // 80,000 bytes
        let rows: Vec<Vec<String>> = vec![
            vec!["1".into(), "-12,05".into(), String::new()],
            vec!["2".into(), big.clone(), "tail".into()],
            vec![huge.clone(), "3,5".into(), big.clone()],
            vec![String::new(), String::new(), String::new()],
            vec!["5".into(), "a,b".into(), "ünï".into()],
        ];
        let push = |c: &mut Cells, r: &[String]| c.push_row(r.iter().map(String::as_str));
        let mut a = Cells::new(3);
        for r in &rows[..3] {
            push(&mut a, r);
        }
        let mut b = Cells::new(3);
        for r in &rows[3..] {
            push(&mut b, r);
        }
        push(&mut b, &rows[1]);
        a.append(&b);
        let want: Vec<&Vec<String>> = rows.iter().chain([&rows[1]]).collect();
        assert_eq!(a.len(), want.len());
        for (i, r) in want.iter().enumerate() {
            for (c, v) in r.iter().enumerate() {
                assert_eq!(a.get(i, c), v, "row {i} column {c}");
            }
        }
        assert_eq!(a.wide.len(), 3);
        // Only numbers with a decimal comma change.
        assert_eq!(a.decimal_commas_to_points(), 2);
        assert_eq!((a.get(0, 1), a.get(2, 1), a.get(4, 1)), ("-12.05", "3.5", "a,b"));
        assert_eq!(a.get(2, 2), big);
        a.retain(&[true, false, true, false, false, true]);
        assert_eq!(a.len(), 3);
        assert_eq!((a.get(0, 1), a.get(0, 2), a.get(1, 0), a.get(2, 2)), (big.as_str(), "tail", "", "ünï"));
        assert_eq!(a.wide.len(), 1);
    }
}
