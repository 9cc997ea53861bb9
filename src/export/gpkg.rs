//! `needmap.gpkg`: the run as an OGC GeoPackage 1.3 (SQLite), for QGIS, QField, ArcGIS, GDAL
//! and PostGIS loaders. Coordinates are WGS 84 longitude/latitude (EPSG:4326).
//!
//! Feature tables (each with `fid`, `geom`, registered in `gpkg_contents` with its extent and
//! in `gpkg_geometry_columns`, and indexed by the `gpkg_rtree_index` extension: a virtual
//! table `rtree_<table>_geom` filled here and kept up to date by the extension's triggers):
//! - `zones` (POLYGON): the figures of `zones.csv`, one row per zone in rank order;
//! - `households` (POINT): every input column under its own name, then `need`, `critical`,
//!   `cluster`, `zone` (and `gi_z`, `hot`, `p_critical`, `site` when those stages ran), as
//!   `households.csv` has them, in input order (`fid` = position in households.csv);
//! - `sites` (POINT), when sites were chosen: the columns of `sites.csv`;
//! - `hotspots` (POINT), when hot spots ran: each tested household's `row`, `id`, `gi_z`,
//!   `p`, `hot`, `neighbours`, `bin` (as `hotspots.csv`).
//!
//! Input columns keep their text unless they are numbers: a column the import found numeric
//! is INTEGER when every value is a plain integer, REAL when every value is a number, and
//! TEXT when any value is not a number or has a leading zero (`007`, a code) — so no value is
//! lost. The id column is always TEXT. Empty cells are NULL. A column whose name is already
//! taken (SQLite names ignore ASCII case; `fid` and `geom` are ours) gets `_2`, `_3`, ….
//! Numbers needmap computed are stored as the CSV files write them (e.g. need to 6 decimals),
//! so the files agree.
//!
//! Geometries are GeoPackage binary: `GP`, version 0, flags, srs_id 4326, then little-endian
//! ISO WKB. Polygons have flags `0x03` (little-endian, envelope `[minx, maxx, miny, maxy]`)
//! and the envelope before the WKB; points `0x01`, no envelope (as GDAL writes them).
//! SQLite writes the schema and the GeoPackage's own tables; the feature tables' rows and
//! their R-trees go in as B-tree pages written directly ([`super::sqlite_pages`]: 10M
//! households in ~5.5 s, where SQLite's inserts took 14–17 s), then SQLite adds the extents
//! and triggers. No journal: the file is built in the run's temporary directory, which
//! appears whole or not at all.
//! `last_change` is the input file's modification time, so the same run writes the same
//! bytes.

use std::path::Path;

use std::io;

use rusqlite::{Connection, params};

use crate::analysis::Outcome;
use crate::data::{ColumnKind, Households, Role, Typed, validate::parse_number};

use super::atomic::check_interrupted;
use super::csv::{SITES_COLUMNS, fixed, fmt_p, fmt_z};
use super::geojson::zone_properties;
use super::sqlite_pages::{Appender, Record, Table, Value};

/// `PRAGMA application_id`: "GPKG".
pub const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.3.
pub const USER_VERSION: i32 = 10300;
pub const SRS_ID: i32 = 4326;

const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,\
AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],\
UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],\
AUTHORITY[\"EPSG\",\"4326\"]]";

/// The core tables, as the GeoPackage 1.3 specification defines them (Annex C).
const CORE_SQL: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
";

/// An axis-aligned box: `[min_x, max_x, min_y, max_y]` (the GeoPackage envelope order).
pub type Envelope = [f64; 4];

const EMPTY_ENVELOPE: Envelope = [f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY];

fn grow(e: &mut Envelope, x: f64, y: f64) {
    e[0] = e[0].min(x);
    e[1] = e[1].max(x);
    e[2] = e[2].min(y);
    e[3] = e[3].max(y);
}

/// The GeoPackage binary header, with the envelope `[minx maxx miny maxy]` when given.
fn header(buf: &mut Vec<u8>, env: Option<&Envelope>) {
    buf.extend_from_slice(b"GP");
    buf.push(0); // version 1 of the binary format
    // Standard geometry, not empty, envelope kind 1 or none, little-endian.
    buf.push(if env.is_some() { 0b0000_0011 } else { 0b0000_0001 });
    buf.extend_from_slice(&SRS_ID.to_le_bytes());
    for v in env.into_iter().flatten() {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// A point as GeoPackage binary: the header without an envelope (a point's envelope is the
/// point; GDAL leaves it out too), then WKB Point. 32 bytes less a household: 320 MB at 10M.
pub fn point_blob(buf: &mut Vec<u8>, x: f64, y: f64) {
    buf.clear();
    header(buf, None);
    wkb_point(buf, x, y);
}

/// Appends a little-endian WKB Point (GeoPackage blobs and GeoParquet share it).
pub fn wkb_point(buf: &mut Vec<u8>, x: f64, y: f64) {
    buf.push(1); // little-endian
    buf.extend_from_slice(&1u32.to_le_bytes());
    buf.extend_from_slice(&x.to_le_bytes());
    buf.extend_from_slice(&y.to_le_bytes());
}

/// Appends a little-endian WKB Polygon of one ring, closed if it is not.
pub fn wkb_polygon(buf: &mut Vec<u8>, ring: &[(f64, f64)]) {
    let closed = ring.first() == ring.last();
    let n = ring.len() + usize::from(!closed && !ring.is_empty());
    buf.push(1);
    buf.extend_from_slice(&3u32.to_le_bytes());
    buf.extend_from_slice(&1u32.to_le_bytes());
    buf.extend_from_slice(&(n as u32).to_le_bytes());
    for &(x, y) in ring.iter().chain((!closed).then(|| ring.first()).flatten()) {
        buf.extend_from_slice(&x.to_le_bytes());
        buf.extend_from_slice(&y.to_le_bytes());
    }
}

/// A polygon with one ring (closed) as GeoPackage binary; returns its envelope.
pub fn polygon_blob(buf: &mut Vec<u8>, ring: &[(f64, f64)]) -> Envelope {
    let mut env = EMPTY_ENVELOPE;
    for &(x, y) in ring {
        grow(&mut env, x, y);
    }
    buf.clear();
    header(buf, Some(&env));
    wkb_polygon(buf, ring);
    env
}

/// SQL type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Integer,
    Real,
    Text,
    Boolean,
}

impl SqlType {
    fn sql(self) -> &'static str {
        match self {
            SqlType::Integer => "INTEGER",
            SqlType::Real => "REAL",
            SqlType::Text => "TEXT",
            SqlType::Boolean => "BOOLEAN",
        }
    }
}

/// `-?[1-9][0-9]*` or `0`, small enough for an i64: text an INTEGER gives back unchanged.
fn plain_integer(t: &str) -> Option<i64> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    if t == "-0" {
        return None;
    }
    t.parse().ok()
}

/// What [`plain_integer`] reads from a float's text (`Display`'s, as a typed column's cells
/// read): below 2^53 the value itself when whole; above, from the text, whose digits past
/// the 17th are zeros.
pub(super) fn typed_integer(v: f64) -> Option<i64> {
    if v.fract() != 0.0 || (v == 0.0 && v.is_sign_negative()) {
        return None;
    }
    if v.abs() < 9_007_199_254_740_992.0 {
        return Some(v as i64);
    }
    plain_integer(&format!("{v}"))
}

/// A digit after a leading zero (`007`, `-01`, `00.5`): a code, not a quantity.
fn leading_zero(t: &str) -> bool {
    let d = t.strip_prefix(['-', '+']).unwrap_or(t).as_bytes();
    d.len() > 1 && d[0] == b'0' && d[1].is_ascii_digit()
}

/// The SQL type of an input column (see the module documentation).
pub fn input_column_type(h: &Households, c: usize) -> SqlType {
    use rayon::prelude::*;
    let col = &h.columns[c];
    let numeric_role = matches!(col.role, Role::Attribute | Role::Latitude | Role::Longitude | Role::Accuracy);
    if col.kind != ColumnKind::Number || !numeric_role || h.id_column == Some(c) {
        return SqlType::Text;
    }
    if let Some(t) = h.cells.typed(c) {
        return match t {
            // itoa's text: plain integers, all of them.
            Typed::Int { .. } => SqlType::Integer,
            Typed::Float(v) if v.par_iter().any(|x| x.is_infinite()) => SqlType::Text,
            Typed::Float(v) if v.par_iter().all(|&x| x.is_nan() || typed_integer(x).is_some()) => SqlType::Integer,
            Typed::Float(_) => SqlType::Real,
        };
    }
    // (all numbers, all plain integers)
    let (numbers, integers) = (0..h.len())
        .into_par_iter()
        .map(|i| {
            let t = h.text(i, c).trim();
            if t.is_empty() {
                (true, true)
            } else if leading_zero(t) {
                (false, false)
            } else {
                let n = matches!(parse_number(t), Ok(Some(_)));
                (n, n && plain_integer(t).is_some())
            }
        })
        .reduce(|| (true, true), |a, b| (a.0 && b.0, a.1 && b.1));
    match (numbers, integers) {
        (true, true) => SqlType::Integer,
        (true, false) => SqlType::Real,
        _ => SqlType::Text,
    }
}

/// Unique field names, in order: a name already taken (ignoring ASCII case, as SQLite does;
/// `reserved` are taken from the start) gets `_2`, `_3`, …; an empty one is `field`.
pub fn unique_names<'a>(names: impl Iterator<Item = &'a str>, reserved: &[&str]) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = reserved.iter().map(|r| r.to_ascii_lowercase()).collect();
    names
        .map(|n| {
            let base = if n.is_empty() { "field" } else { n };
            let mut name = base.to_string();
            let mut k = 2;
            while taken.contains(&name.to_ascii_lowercase()) {
                name = format!("{base}_{k}");
                k += 1;
            }
            taken.insert(name.to_ascii_lowercase());
            name
        })
        .collect()
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A number as the CSV files write it (`{x:.6}`, …), read back.
fn as_written(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// The root pages SQLite gave a feature table and its R-tree's three tables when it created
/// them (empty), and the R-tree's node size.
struct Roots {
    /// None until the table is created (see [`write_gpkg`]).
    table: Option<u32>,
    node: u32,
    rowid: u32,
    parent: u32,
    node_size: usize,
}

/// Creates feature table `name` and its R-tree (empty), and registers them.
fn create_layer(
    conn: &Connection,
    name: &'static str,
    geometry: &str,
    columns: Option<&[(String, SqlType)]>,
    description: &str,
    last_change: &str,
) -> rusqlite::Result<Roots> {
    if let Some(columns) = columns {
        conn.execute_batch(&table_sql(name, geometry, columns))?;
    }
    conn.execute_batch(&format!("CREATE VIRTUAL TABLE rtree_{name}_geom USING rtree(id, minx, maxx, miny, maxy);"))?;
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) \
         VALUES (?1, 'features', ?1, ?2, ?3, ?4)",
        params![name, description, last_change, SRS_ID],
    )?;
    conn.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
        params![name, geometry, SRS_ID],
    )?;
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?1, 'geom', 'gpkg_rtree_index', \
         'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
        params![name],
    )?;
    roots(conn, columns.map(|_| name), &format!("rtree_{name}_geom"))
}

/// `CREATE TABLE` of feature table `name`.
fn table_sql(name: &str, geometry: &str, columns: &[(String, SqlType)]) -> String {
    let defs: Vec<String> = columns.iter().map(|(n, t)| format!(", {} {}", quote(n), t.sql())).collect();
    format!("CREATE TABLE {name} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geometry}{});", defs.concat())
}

/// The root page of table `name`.
fn root_page(conn: &Connection, name: &str) -> rusqlite::Result<u32> {
    conn.query_row("SELECT rootpage FROM sqlite_schema WHERE name = ?1 AND type = 'table'", [name], |r| r.get(0))
}

/// Creates feature table `name` (its R-tree and registration made by [`create_layer`]) in the
/// database at `path`; returns its root page.
fn create_table(path: &Path, name: &str, geometry: &str, columns: &[(String, SqlType)]) -> rusqlite::Result<u32> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    conn.execute_batch(&table_sql(name, geometry, columns))?;
    let root = root_page(&conn, name)?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(root)
}

/// The root pages of `table` (when given) and of R-tree `rtree`'s tables, and its node size.
fn roots(conn: &Connection, table: Option<&str>, rtree: &str) -> rusqlite::Result<Roots> {
    let root = |table: String| root_page(conn, &table);
    let node_size: i64 =
        conn.query_row(&format!("SELECT length(data) FROM {rtree}_node WHERE nodeno = 1"), [], |r| r.get(0))?;
    Ok(Roots {
        table: table.map(|t| root(t.to_string())).transpose()?,
        node: root(format!("{rtree}_node"))?,
        rowid: root(format!("{rtree}_rowid"))?,
        parent: root(format!("{rtree}_parent"))?,
        node_size: node_size as usize,
    })
}

/// One feature table being filled with rows in fid order, page by page (see
/// [`super::sqlite_pages`]): SQLite's one-row-at-a-time inserts took 12 of a 10M run's 28 s.
struct Layer {
    name: &'static str,
    roots: Roots,
    table: Table,
    record: Record,
    /// The fid of the row being built (fids count from 1).
    fid: i64,
    extent: Envelope,
    blob: Vec<u8>,
    /// (fid, box in the R-tree's 32-bit floats) of every feature, for the R-tree: 20 bytes
    /// a feature.
    boxes: Vec<(u32, [f32; 4])>,
}

/// A layer written: what `gpkg_contents` and `sqlite_sequence` say of it.
struct Written {
    name: &'static str,
    extent: Envelope,
    rows: i64,
}

impl Layer {
    fn new(a: &Appender, name: &'static str, roots: Roots) -> io::Result<Self> {
        Ok(Layer {
            name,
            table: Table::new(a, roots.table.ok_or_else(|| io::Error::other(format!("{name} has no table")))?)?,
            roots,
            record: Record::default(),
            fid: 0,
            extent: EMPTY_ENVELOPE,
            blob: Vec::with_capacity(64),
            boxes: Vec::new(),
        })
    }

    /// Starts row `fid` (larger than the last) with the geometry in `self.blob`, whose
    /// envelope is `env`.
    fn begin_row(&mut self, fid: i64, env: &Envelope) {
        self.fid = fid;
        self.record.clear();
        // fid is the rowid: SQLite stores NULL in its place.
        self.record.push(Value::Null);
        self.record.push(Value::Blob(&self.blob));
        // fids are 1..=rows (households are counted in u32).
        self.boxes.push((u32::try_from(fid).unwrap_or(u32::MAX), f32_box(env)));
        self.extent[0] = self.extent[0].min(env[0]);
        self.extent[1] = self.extent[1].max(env[1]);
        self.extent[2] = self.extent[2].min(env[2]);
        self.extent[3] = self.extent[3].max(env[3]);
    }

    fn point(&mut self, fid: i64, x: f64, y: f64) {
        point_blob(&mut self.blob, x, y);
        self.begin_row(fid, &[x, x, y, y]);
    }

    /// The next column's value.
    fn push<'v>(&mut self, v: impl Into<Value<'v>>) {
        self.record.push(v);
    }

    fn end_row(&mut self, a: &mut Appender) -> io::Result<()> {
        // Ctrl-C or SIGTERM: stop here rather than after every household (the folder is
        // thrown away anyway; see `export::atomic`).
        if self.fid % 4096 == 0 {
            check_interrupted()?;
        }
        self.table.push(a, self.fid, self.record.bytes())
    }

    /// Writes the last pages of the table and fills the R-tree.
    ///
    /// SQLite's R-tree has no bulk load, and inserting a million boxes one by one took 5 of
    /// the 6.7 s the GeoPackage took; [`bulk_load_rtree`] writes the nodes directly, the
    /// boxes in Z-order (Morton code of their centres) so that each node covers a compact
    /// area.
    fn finish(self, a: &mut Appender) -> io::Result<Written> {
        let boxes = &self.boxes;
        fill_rtree(a, &self.roots, self.extent, boxes.len(), |k| (i64::from(boxes[k].0), boxes[k].1))?;
        self.table.finish(a)?;
        Ok(Written { name: self.name, extent: self.extent, rows: self.fid })
    }
}

/// Fills the R-tree whose tables' roots are `roots` with `n` features, (fid, box) given by
/// `entry` (fids ascending with `k`), ordered within `extent`.
fn fill_rtree(
    a: &mut Appender,
    roots: &Roots,
    extent: Envelope,
    n: usize,
    entry: impl Fn(usize) -> (i64, [f32; 4]),
) -> io::Result<()> {
    let e = extent;
    // The tree order: Morton code of each box's centre, then fid, packed in one u64 with
    // the box's position (8 bytes a feature rather than a sorted copy of the boxes).
    let q = |v: f64, lo: f64, hi: f64| if hi > lo { (((v - lo) / (hi - lo)) * 65535.0).round() as u32 } else { 0 };
    let mut order: Vec<u64> = (0..n)
        .map(|k| {
            let b = entry(k).1;
            let key = if e[0] <= e[1] {
                let x = q((f64::from(b[0]) + f64::from(b[1])) / 2.0, e[0], e[1]);
                let y = q((f64::from(b[2]) + f64::from(b[3])) / 2.0, e[2], e[3]);
                spread_bits(x) | (spread_bits(y) << 1)
            } else {
                0
            };
            (u64::from(key) << 32) | k as u64
        })
        .collect();
    // Positions follow fids, so (key, position) orders as (key, fid).
    sort_by_high_half(&mut order);
    bulk_load_rtree(a, roots, n, |k| (order[k] & 0xFFFF_FFFF) as usize, entry)
}

/// An R-tree entry: an id (fid or node number) and its box.
type Entry = (i64, [f32; 4]);

/// A box in the R-tree's 32-bit floats, rounded outwards as SQLite's R-tree rounds them.
fn f32_box(e: &Envelope) -> [f32; 4] {
    let down = |v: f64| {
        let f = v as f32;
        if f as f64 > v { f.next_down() } else { f }
    };
    let up = |v: f64| {
        let f = v as f32;
        if (f as f64) < v { f.next_up() } else { f }
    };
    [down(e[0]), up(e[1]), down(e[2]), up(e[3])]
}

/// Fills the (empty) R-tree whose tables' roots are `roots` with `n` boxes: `by_position`
/// gives the (id, box) at a position (ids ascending with positions), `tree` the position of
/// the k-th box in the tree's order. The nodes are written directly (Sort-Tile-Recursive style packing,
/// Leutenegger et al. 1997, with the Z-order as the tiling): full nodes of consecutive
/// entries, bottom up, numbered from 2 level by level, the root node 1.
///
/// The layout is SQLite's R-tree format (ext/rtree/rtree.c): `<t>_node(nodeno, data)` where
/// data is a blob of the node size (that of the empty root the table starts with): a 2-byte
/// big-endian tree depth (root only), a 2-byte cell count, then cells of an 8-byte id and
/// minx, maxx, miny, maxy as big-endian 32-bit floats; `<t>_rowid(rowid, nodeno)` maps each
/// entry to its leaf and `<t>_parent(nodeno, parentnode)` each non-root node to its parent.
/// SQLite's `rtreecheck()` verifies all of it (tests/gis.rs runs it).
fn bulk_load_rtree(
    a: &mut Appender,
    roots: &Roots,
    n: usize,
    tree: impl Fn(usize) -> usize,
    by_position: impl Fn(usize) -> (i64, [f32; 4]),
) -> io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let entry = |k: usize| by_position(tree(k));
    let size = roots.node_size;
    let max = (size - 4) / 24;
    let mut nodes = Table::new(a, roots.node)?;
    let mut record = Record::default();
    let mut blob = vec![0u8; size];
    // Writes node `no` holding `cells` (node 1, the root, known last, goes first in the
    // table); returns their cover.
    let mut write = |a: &mut Appender, no: i64, depth: u16, cells: &mut dyn Iterator<Item = (i64, [f32; 4])>| {
        blob.fill(0);
        blob[..2].copy_from_slice(&depth.to_be_bytes());
        let mut count = 0u16;
        let mut c = [f32::INFINITY, f32::NEG_INFINITY, f32::INFINITY, f32::NEG_INFINITY];
        for (k, (id, b)) in cells.enumerate() {
            let at = 4 + 24 * k;
            blob[at..at + 8].copy_from_slice(&id.to_be_bytes());
            for (j, v) in b.iter().enumerate() {
                blob[at + 8 + 4 * j..at + 12 + 4 * j].copy_from_slice(&v.to_be_bytes());
            }
            c = [c[0].min(b[0]), c[1].max(b[1]), c[2].min(b[2]), c[3].max(b[3])];
            count += 1;
        }
        blob[2..4].copy_from_slice(&count.to_be_bytes());
        record.clear();
        record.push(Value::Null);
        record.push(Value::Blob(&blob));
        if no == 1 { nodes.push_first(a, no, record.bytes()) } else { nodes.push(a, no, record.bytes()) }.map(|()| c)
    };
    // The tree, bottom up, each level written as it is packed (the leaves in one pass over the
    // entries): its nodes take `per` consecutive children of the level below (entries, for the
    // leaves) and are kept as (node number, cover), until a level fits in the root.
    let mut levels: Vec<(usize, Vec<Entry>)> = Vec::new();
    let mut next_no = 2i64;
    if n <= max {
        write(a, 1, 0, &mut (0..n).map(&entry))?;
    }
    let mut len = n;
    while len > max {
        let per = len.div_ceil(len.div_ceil(max));
        let mut level = Vec::with_capacity(len.div_ceil(per));
        for start in (0..len).step_by(per) {
            if next_no % 1024 == 0 {
                check_interrupted()?;
            }
            let end = (start + per).min(len);
            let c = match levels.last() {
                None => write(a, next_no, 0, &mut (start..end).map(&entry))?,
                Some((_, below)) => write(a, next_no, 0, &mut below[start..end].iter().copied())?,
            };
            level.push((next_no, c));
            next_no += 1;
        }
        len = level.len();
        if len <= max {
            write(a, 1, levels.len() as u16 + 1, &mut level.iter().copied())?;
        }
        levels.push((per, level));
    }
    nodes.finish(a)?;
    let pair = |a: &mut Appender, t: &mut Table, record: &mut Record, key: i64, v: i64| {
        record.clear();
        record.push(Value::Null);
        record.push(v);
        t.push(a, key, record.bytes())
    };
    // Each entry's leaf, by position (that is, by id).
    let mut leaf_of = vec![1u32; n];
    if let Some((per, level)) = levels.first() {
        for k in 0..n {
            leaf_of[tree(k)] = u32::try_from(level[k / per].0).map_err(io::Error::other)?;
        }
    }
    let mut rowids = Table::new(a, roots.rowid)?;
    for (p, &leaf) in leaf_of.iter().enumerate() {
        if p % 65_536 == 0 {
            check_interrupted()?;
        }
        pair(a, &mut rowids, &mut record, by_position(p).0, leaf.into())?;
    }
    rowids.finish(a)?;
    drop(leaf_of);
    // Each node's parent, by node number.
    let mut parents = Table::new(a, roots.parent)?;
    for (l, (_, level)) in levels.iter().enumerate() {
        for (j, &(no, _)) in level.iter().enumerate() {
            let parent = match levels.get(l + 1) {
                Some((per, up)) => up[j / per].0,
                None => 1,
            };
            pair(a, &mut parents, &mut record, no, parent)?;
        }
    }
    parents.finish(a)
}

/// Sorts `v` by the high 32 bits of its values, keeping equal ones in their order (a radix
/// sort, 4 passes of 8 bits: 10M values several times faster than a comparison sort).
fn sort_by_high_half(v: &mut Vec<u64>) {
    let mut out = vec![0u64; v.len()];
    for shift in [32, 40, 48, 56] {
        let mut at = [0usize; 256];
        for &x in v.iter() {
            at[(x >> shift) as usize & 0xFF] += 1;
        }
        if at.contains(&v.len()) {
            continue;
        }
        let mut start = 0;
        for c in at.iter_mut() {
            (*c, start) = (start, start + *c);
        }
        for &x in v.iter() {
            let b = (x >> shift) as usize & 0xFF;
            out[at[b]] = x;
            at[b] += 1;
        }
        std::mem::swap(v, &mut out);
    }
}

/// The 16 low bits of `v` spread to the even bits of a u32 (for a Morton code).
fn spread_bits(v: u32) -> u32 {
    let mut x = v & 0xFFFF;
    x = (x | (x << 8)) & 0x00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333;
    (x | (x << 1)) & 0x5555_5555
}

/// The seven triggers of the `gpkg_rtree_index` extension (GeoPackage 1.3, F.3), which keep
/// the index right when the table is edited later (by GDAL, QGIS, QField: they provide the
/// `ST_*` functions).
fn rtree_triggers(t: &str) -> String {
    let upsert = format!(
        "INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));"
    );
    format!(
        "CREATE TRIGGER rtree_{t}_geom_insert AFTER INSERT ON {t} WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN {upsert} END;
CREATE TRIGGER rtree_{t}_geom_update1 AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN {upsert} END;
CREATE TRIGGER rtree_{t}_geom_update2 AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; END;
CREATE TRIGGER rtree_{t}_geom_update3 AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; {upsert} END;
CREATE TRIGGER rtree_{t}_geom_update4 AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id IN (OLD.fid, NEW.fid); END;
CREATE TRIGGER rtree_{t}_geom_delete AFTER DELETE ON {t} WHEN old.geom NOT NULL
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; END;
"
    )
}

/// Writes `needmap.gpkg` for `o` at `path` (which must not exist); `last_change` is an ISO
/// 8601 UTC timestamp (`2026-11-28T06:00:00.000Z`).
///
/// SQLite writes the schema and the GeoPackage's own tables, with every feature table and
/// R-tree created empty; the rows then go in as pages ([`super::sqlite_pages`]); last SQLite adds
/// each layer's extent, its `sqlite_sequence` row and the R-tree triggers.
pub fn write_gpkg(path: &Path, o: &Outcome, last_change: &str) -> io::Result<()> {
    let sql = |e: rusqlite::Error| io::Error::other(e);
    let lap = |what: &str, since: &mut std::time::Instant| {
        crate::progress::lap(format_args!("write_gpkg {what}"), *since);
        *since = std::time::Instant::now();
    };
    let mut t = std::time::Instant::now();
    std::thread::scope(|scope| {
        // The input columns' types (a pass over every numeric cell, ~1 s at 10M) are found
        // beside the R-trees, which need none of them; the households' table is created after.
        let columns = scope.spawn(|| households_columns(o));
        let roots = create_layers(path, o, last_change).map_err(sql)?;
        let mut a = Appender::open(path)?;
        let mut roots = roots.into_iter();
        let mut next = || roots.next().ok_or_else(|| io::Error::other("a layer without its tables"));
        let mut written = vec![zones_rows(&mut a, next()?, o)?];
        let households = next()?;
        let extent = households_rtree(&mut a, &households, o)?;
        lap("households R-tree", &mut t);
        if o.sites.is_some() {
            written.push(sites_rows(&mut a, next()?, o)?);
        }
        if o.hotspots.is_some() {
            written.push(hotspots_rows(&mut a, next()?, o)?);
        }
        a.finish()?;
        let (types, columns) = columns.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        lap("other layers, column types", &mut t);
        let root = create_table(path, "households", "POINT", &columns).map_err(sql)?;
        let mut a = Appender::open(path)?;
        // In layer order, as the other tables have them.
        written.insert(1, households_rows(&mut a, root, o, &types, extent)?);
        a.finish()?;
        lap("households rows", &mut t);
        finish_layers(path, &written).map_err(sql)?;
        lap("extents and triggers", &mut t);
        Ok(())
    })
}

/// The database with its schema, every layer empty (the households' table not yet created:
/// its column types are being found meanwhile); the roots of the layers' tables, in the
/// order zones, households, sites, hot spots.
fn create_layers(path: &Path, o: &Outcome, last_change: &str) -> rusqlite::Result<Vec<Roots>> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {USER_VERSION};
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;"
    ))?;
    let tx = conn.transaction()?;
    tx.execute_batch(CORE_SQL)?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES \
         ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'), \
         ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'), \
         ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [WGS84_WKT],
    )?;
    let zone_cols: Vec<(String, SqlType)> = ZONE_COLUMNS.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    let mut roots = vec![
        create_layer(
            &tx,
            "zones",
            "POLYGON",
            Some(&zone_cols),
            "Critical-need zones, in rank order (needmap)",
            last_change,
        )?,
        create_layer(
            &tx,
            "households",
            "POINT",
            None,
            "Households with their need score, critical flag, cluster and zone (needmap)",
            last_change,
        )?,
    ];
    if o.sites.is_some() {
        roots.push(create_layer(
            &tx,
            "sites",
            "POINT",
            Some(&sites_columns()),
            "Build sites in the order chosen, with the need they cover (needmap)",
            last_change,
        )?);
    }
    if o.hotspots.is_some() {
        roots.push(create_layer(
            &tx,
            "hotspots",
            "POINT",
            Some(&HOTSPOT_COLUMNS.iter().map(|(n, t)| (n.to_string(), *t)).collect::<Vec<_>>()),
            "Getis-Ord Gi* of every household tested: z, p, Benjamini-Hochberg class (hot), confidence bin (needmap)",
            last_change,
        )?);
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| e).map(|()| roots)
}

/// Each layer's extent in `gpkg_contents`, its last fid in `sqlite_sequence` (as SQLite keeps
/// it for AUTOINCREMENT), the triggers of its R-tree.
fn finish_layers(path: &Path, written: &[Written]) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    for w in written {
        let e = w.extent;
        if e[0] <= e[1] {
            tx.execute(
                "UPDATE gpkg_contents SET min_x = ?1, max_x = ?2, min_y = ?3, max_y = ?4 WHERE table_name = ?5",
                params![e[0], e[1], e[2], e[3], w.name],
            )?;
        }
        if w.rows > 0 {
            tx.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)", params![w.name, w.rows])?;
        }
        tx.execute_batch(&rtree_triggers(w.name))?;
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)
}

const ZONE_COLUMNS: [(&str, SqlType); 13] = [
    ("zone", SqlType::Integer),
    ("rank", SqlType::Integer),
    ("households", SqlType::Integer),
    ("people", SqlType::Real),
    ("critical_households", SqlType::Integer),
    ("critical_share", SqlType::Real),
    ("mean_need", SqlType::Real),
    ("total_need", SqlType::Real),
    ("area_m2", SqlType::Real),
    ("density_per_km2", SqlType::Real),
    ("members", SqlType::Integer),
    ("centre_lat", SqlType::Real),
    ("centre_lon", SqlType::Real),
];

fn zones_rows(a: &mut Appender, roots: Roots, o: &Outcome) -> io::Result<Written> {
    let mut l = Layer::new(a, "zones", roots)?;
    for (k, z) in o.zones.zones.iter().enumerate() {
        let env = polygon_blob(&mut l.blob, &z.ring);
        l.begin_row(k as i64 + 1, &env);
        let p = zone_properties(z);
        for (name, ty) in ZONE_COLUMNS {
            let v = &p[name];
            match ty {
                SqlType::Integer => l.push(v.as_i64()),
                _ => l.push(v.as_f64()),
            }
        }
        l.end_row(a)?;
    }
    l.finish(a)
}

/// The households layer's columns: the input columns' types, then every column (input and
/// ours) with its unique name and type.
fn households_columns(o: &Outcome) -> (Vec<SqlType>, Vec<(String, SqlType)>) {
    let h = &o.imported.households;
    let types: Vec<SqlType> = (0..h.columns.len()).map(|c| input_column_type(h, c)).collect();
    let mut ours: Vec<(&str, SqlType)> = vec![
        ("need", SqlType::Real),
        ("critical", SqlType::Boolean),
        ("cluster", SqlType::Integer),
        ("zone", SqlType::Integer),
    ];
    if o.hotspots.is_some() {
        ours.extend([("gi_z", SqlType::Real), ("hot", SqlType::Integer)]);
    }
    if o.audit.is_some() {
        ours.push(("p_critical", SqlType::Real));
    }
    if o.sites.is_some() {
        ours.push(("site", SqlType::Integer));
    }
    let names =
        unique_names(h.columns.iter().map(|c| c.name.as_str()).chain(ours.iter().map(|(n, _)| *n)), &["fid", "geom"]);
    let all_types: Vec<SqlType> = types.iter().copied().chain(ours.iter().map(|(_, t)| *t)).collect();
    (types, names.into_iter().zip(all_types).collect())
}

/// Households per batch of records built at once.
const BATCH: usize = 1 << 14;

/// The records of households `range` (fid = position + 1), one after another in `bytes`, each
/// ending where `ends` says.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// Fills the households' R-tree; returns their extent.
fn households_rtree(a: &mut Appender, roots: &Roots, o: &Outcome) -> io::Result<Envelope> {
    let h = &o.imported.households;
    let mut extent = EMPTY_ENVELOPE;
    for i in 0..h.len() {
        grow(&mut extent, h.lon_deg[i], h.lat_deg[i]);
    }
    fill_rtree(a, roots, extent, h.len(), |i| {
        let (x, y) = (h.lon_deg[i], h.lat_deg[i]);
        (i as i64 + 1, f32_box(&[x, x, y, y]))
    })?;
    Ok(extent)
}

/// Writes the households' rows into the table whose root page is `root`: their records are
/// built in batches on one thread while another writes the batch before (see [`Batch`]).
fn households_rows(
    a: &mut Appender,
    root: u32,
    o: &Outcome,
    types: &[SqlType],
    extent: Envelope,
) -> io::Result<Written> {
    let n = o.imported.households.len();
    let mut table = Table::new(a, root)?;
    let mut ready = (n > 0).then(|| household_records(o, types, 0..BATCH.min(n)));
    let mut start = 0;
    while let Some(batch) = ready.take() {
        check_interrupted()?;
        let next = start + BATCH;
        let table = &mut table;
        let write = || {
            let mut from = 0;
            for (k, &end) in batch.ends.iter().enumerate() {
                table.push(a, (start + k) as i64 + 1, &batch.bytes[from..end])?;
                from = end;
            }
            Ok::<_, io::Error>(())
        };
        let built;
        (built, ready) =
            rayon::join(write, || (next < n).then(|| household_records(o, types, next..(next + BATCH).min(n))));
        built?;
        start = next;
    }
    table.finish(a)?;
    Ok(Written { name: "households", extent, rows: n as i64 })
}

/// The records of the households in `range` (see [`Batch`]): the point, the input columns as
/// `types` say, then ours, as households.csv writes them.
fn household_records(o: &Outcome, types: &[SqlType], range: std::ops::Range<usize>) -> Batch {
    use std::fmt::Write as _;
    let h = &o.imported.households;
    let hot = o.hotspots.as_deref();
    let audit = o.audit.as_deref();
    let site_of = o.sites.as_ref().map(|s| &s.solution.site_of);
    let mut text = String::new();
    // A number as the CSV files write it (`{x:.6}`, …), read back.
    let mut written = |args: std::fmt::Arguments| {
        text.clear();
        let _ = text.write_fmt(args);
        as_written(&text)
    };
    let mut out = Batch::default();
    let mut r = Record::default();
    let mut blob = Vec::with_capacity(32);
    let typed: Vec<Option<&Typed>> = (0..types.len()).map(|c| h.cells.typed(c)).collect();
    let mut cell = String::new();
    for i in range {
        point_blob(&mut blob, h.lon_deg[i], h.lat_deg[i]);
        r.clear();
        // fid is the rowid: SQLite stores NULL in its place.
        r.push(Value::Null);
        r.push(Value::Blob(&blob));
        for (c, ty) in types.iter().enumerate() {
            if let Some(tv) = typed[c] {
                // Numbers kept as numbers: what their text would give, without the text.
                match ty {
                    SqlType::Integer => r.push(tv.int(i).or_else(|| tv.get(i).and_then(typed_integer))),
                    SqlType::Real => r.push(tv.get(i).filter(|v| v.is_finite())),
                    _ => {
                        let t = h.cells.text_in(i, c, &mut cell);
                        if t.is_empty() { r.push(Value::Null) } else { r.push(t) }
                    }
                }
                continue;
            }
            let t = h.text(i, c);
            let trimmed = t.trim();
            match ty {
                _ if trimmed.is_empty() && *ty != SqlType::Text => r.push(Value::Null),
                SqlType::Text if t.is_empty() => r.push(Value::Null),
                SqlType::Text => r.push(t),
                SqlType::Integer => r.push(plain_integer(trimmed)),
                _ => r.push(parse_number(trimmed).ok().flatten()),
            }
        }
        let s = o.scored.need.score[i];
        r.push(match s.is_finite().then(|| fixed(s, 6)).flatten() {
            Some(k) => Some(k / 1e6),
            None if s.is_finite() => written(format_args!("{s:.6}")),
            None => None,
        });
        r.push(o.scored.critical[i]);
        r.push(o.clustered.candidates[i].then_some(o.clustered.labels[i]));
        let z = o.zones.zone_of[i];
        r.push((z >= 0).then_some(z));
        if let Some(hr) = hot {
            r.push(hr.z[i].and_then(|z| as_written(&fmt_z(z))));
            r.push(i64::from(hr.hot[i]));
        }
        if let Some(au) = audit {
            let v = au.p_critical[i];
            r.push(if v.is_finite() { written(format_args!("{v:.4}")) } else { None });
        }
        if let Some(so) = site_of {
            r.push((so[i] >= 0).then_some(so[i] + 1));
        }
        out.bytes.extend_from_slice(r.bytes());
        out.ends.push(out.bytes.len());
    }
    out
}

/// The sites layer's columns: those of `sites.csv`, then the radius.
fn sites_columns() -> Vec<(String, SqlType)> {
    let mut cols: Vec<(String, SqlType)> = SITES_COLUMNS
        .iter()
        .map(|&n| {
            let t = match n {
                "site" | "covered_households" => SqlType::Integer,
                "candidate" => SqlType::Text,
                _ => SqlType::Real,
            };
            (n.to_string(), t)
        })
        .collect();
    cols.push(("radius_m".into(), SqlType::Real));
    cols
}

fn sites_rows(a: &mut Appender, roots: Roots, o: &Outcome) -> io::Result<Written> {
    let mut l = Layer::new(a, "sites", roots)?;
    let Some(s) = o.sites.as_deref() else { return l.finish(a) };
    let cols = sites_columns();
    // The same rows as sites.csv, read back from its writer so the two never differ.
    let mut csv_bytes = Vec::new();
    super::csv::sites_csv(&mut csv_bytes, s)?;
    let mut rdr = csv::Reader::from_reader(&csv_bytes[..]);
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(io::Error::other)?;
        let j = s.solution.sites[k].candidate;
        l.point(k as i64 + 1, s.candidates.lon_deg[j], s.candidates.lat_deg[j]);
        for (c, (_, ty)) in cols[..SITES_COLUMNS.len()].iter().enumerate() {
            let v = &rec[c];
            match ty {
                SqlType::Text => l.push(v),
                SqlType::Integer => l.push(v.parse::<i64>().ok()),
                _ => l.push(v.parse::<f64>().ok()),
            }
        }
        l.push(s.params.radius_m);
        l.end_row(a)?;
    }
    l.finish(a)
}

const HOTSPOT_COLUMNS: [(&str, SqlType); 7] = [
    ("row", SqlType::Integer),
    ("id", SqlType::Text),
    ("gi_z", SqlType::Real),
    ("p", SqlType::Real),
    ("hot", SqlType::Integer),
    ("neighbours", SqlType::Integer),
    ("bin", SqlType::Integer),
];

fn hotspots_rows(a: &mut Appender, roots: Roots, o: &Outcome) -> io::Result<Written> {
    let mut l = Layer::new(a, "hotspots", roots)?;
    let Some(r) = o.hotspots.as_deref() else { return l.finish(a) };
    let h = &o.imported.households;
    let mut fid = 0;
    for i in 0..h.len() {
        let (Some(z), Some(p)) = (r.z[i], r.p[i]) else { continue };
        fid += 1;
        l.point(fid, h.lon_deg[i], h.lat_deg[i]);
        l.push(h.row[i]);
        let id = h.id(i);
        l.push((!id.is_empty()).then_some(id));
        l.push(as_written(&fmt_z(z)));
        l.push(as_written(&fmt_p(p)));
        l.push(i64::from(r.hot[i]));
        l.push(r.neighbours[i]);
        l.push(i64::from(r.bin[i]));
        l.end_row(a)?;
    }
    l.finish(a)
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` of a time (UTC), for `last_change`.
pub fn iso_utc(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms").
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_blob_is_header_then_wkb() {
        let mut b = Vec::new();
        point_blob(&mut b, 1.0, -2.0);
        // 'G' 'P', version 0, flags 0b001 (no envelope, little-endian), srs_id 4326 = 0x10E6.
        assert_eq!(&b[..8], &[0x47, 0x50, 0x00, 0x01, 0xE6, 0x10, 0x00, 0x00]);
        // WKB: byte order 1, type 1 (Point), x, y. 1.0 = 0x3FF0000000000000, LE.
        assert_eq!(&b[8..13], &[0x01, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(&b[13..21], &[0, 0, 0, 0, 0, 0, 0xF0, 0x3F]);
        assert_eq!(&b[21..29], &[0, 0, 0, 0, 0, 0, 0x00, 0xC0]);
        assert_eq!(b.len(), 8 + 21);
    }

    #[test]
    fn polygon_blob_has_one_ring_and_its_envelope() {
        let mut b = Vec::new();
        let ring = [(0.0, 0.0), (2.0, 0.0), (0.0, 3.0), (0.0, 0.0)];
        assert_eq!(polygon_blob(&mut b, &ring), [0.0, 2.0, 0.0, 3.0]);
        assert_eq!(&b[40..49], &[0x01, 3, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&b[49..53], &[4, 0, 0, 0]);
        assert_eq!(b.len(), 8 + 32 + 1 + 4 + 4 + 4 + 4 * 16);
    }

    #[test]
    fn bulk_loaded_rtree_passes_sqlites_own_check() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0usize, 1, 51, 52, 40_000] {
            let path = dir.path().join(format!("r{n}.sqlite"));
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE t (x); CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
                .unwrap();
            let roots = roots(&conn, Some("t"), "r").unwrap();
            // SQLite caps nodes at 51 boxes.
            assert_eq!((roots.node_size - 4) / 24, 51);
            conn.close().unwrap();
            // A spiral of points and small boxes, ids not in order.
            let boxes: Vec<(i64, Envelope)> = (0..n)
                .map(|i| {
                    let a = i as f64 * 0.1;
                    let (x, y) = (-77.0 + a.cos() * a * 1e-3, -12.0 + a.sin() * a * 1e-3);
                    let w = if i % 3 == 0 { 0.0 } else { 1e-4 };
                    ((i as i64 * 7919) % 100_003 + 1, [x, x + w, y, y + w])
                })
                .collect();
            let mut a = Appender::open(&path).unwrap();
            // Positions in id order, the tree order scrambled.
            let mut boxes = boxes;
            boxes.sort_by_key(|b| b.0);
            let tree = |k: usize| (k * 7919) % n;
            bulk_load_rtree(&mut a, &roots, n, tree, |p| (boxes[p].0, f32_box(&boxes[p].1))).unwrap();
            a.finish().unwrap();
            let conn = Connection::open(&path).unwrap();
            let check: String = conn.query_row("SELECT rtreecheck('r')", [], |r| r.get(0)).unwrap();
            assert_eq!(check, "ok", "{n} boxes");
            let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(check, "ok", "{n} boxes");
            let depth: Vec<u8> =
                conn.query_row("SELECT substr(data, 1, 2) FROM r_node WHERE nodeno = 1", [], |r| r.get(0)).unwrap();
            assert_eq!(depth, [0, [0, 0, 0, 1, 2][[0usize, 1, 51, 52, 40_000].iter().position(|&m| m == n).unwrap()]]);
            let count: i64 = conn.query_row("SELECT count(*) FROM r", [], |r| r.get(0)).unwrap();
            assert_eq!(count as usize, n);
            // Every box is found by a query on its own corner.
            for (id, e) in boxes.iter().step_by(97) {
                let hit: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM r WHERE id = ?1 AND minx <= ?2 AND maxx >= ?2 AND miny <= ?3 AND maxy >= ?3",
                        params![id, e[0], e[2]],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(hit, 1, "box {id}");
            }
        }
    }

    #[test]
    fn radix_sort_orders_by_key_then_position() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let keys: Vec<u64> = (0..100_000u64)
            .map(|k| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Few distinct keys, so that ties are common; some passes skipped.
                let key = if k % 3 == 0 { x >> 40 } else { (x >> 60) << 24 };
                (key << 32) | k
            })
            .collect();
        let mut want = keys.clone();
        want.sort_unstable();
        let mut got = keys;
        sort_by_high_half(&mut got);
        assert_eq!(got, want);
    }

    #[test]
    fn morton_bits_interleave() {
        assert_eq!(spread_bits(0b1011), 0b1000101);
        assert_eq!(spread_bits(0xFFFF), 0x5555_5555);
    }

    #[test]
    fn application_id_spells_gpkg() {
        assert_eq!(APPLICATION_ID.to_be_bytes(), *b"GPKG");
    }

    #[test]
    fn plain_integers_are_those_that_print_back_the_same() {
        assert_eq!(plain_integer("42"), Some(42));
        assert_eq!(plain_integer("-7"), Some(-7));
        assert_eq!(plain_integer("0"), Some(0));
        for t in ["007", "+4", "4.0", "1e3", "-0", "", "-", "99999999999999999999"] {
            assert_eq!(plain_integer(t), None, "{t}");
        }
        assert!(leading_zero("007") && leading_zero("-01") && !leading_zero("0.5") && !leading_zero("0"));
    }

    #[test]
    fn taken_names_get_a_suffix() {
        let n = unique_names(["a", "FID", "A", "need", "", "need"].into_iter(), &["fid", "geom"]);
        assert_eq!(n, ["a", "FID_2", "A_2", "need", "field", "need_2"]);
    }

    #[test]
    fn iso_dates_from_unix_time() {
        let t = |s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(iso_utc(t(0)), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 12:34:56 UTC = 951827696.
        assert_eq!(iso_utc(t(951_827_696)), "2000-02-29T12:34:56.000Z");
    }
}
