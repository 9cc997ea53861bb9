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
//! Geometries are GeoPackage binary: `GP`, version 0, flags `0x03` (little-endian, envelope
//! `[minx, maxx, miny, maxy]`), srs_id 4326, the envelope, then little-endian ISO WKB.
//! Everything is written in one transaction with prepared statements and no journal (the
//! file is built in the run's temporary directory, which appears whole or not at all).
//! `last_change` is the input file's modification time, so the same run writes the same
//! bytes.

use std::path::Path;

use rusqlite::types::Null;
use rusqlite::{Connection, Statement, params};

use crate::analysis::Outcome;
use crate::data::{ColumnKind, Households, Role, validate::parse_number};

use super::csv::{SITES_COLUMNS, fmt_p, fmt_z};
use super::geojson::zone_properties;

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

fn header(buf: &mut Vec<u8>, env: &Envelope) {
    buf.extend_from_slice(b"GP");
    buf.push(0); // version 1 of the binary format
    buf.push(0b0000_0011); // standard geometry, not empty, envelope [minx maxx miny maxy], little-endian
    buf.extend_from_slice(&SRS_ID.to_le_bytes());
    for v in env {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// A point as GeoPackage binary (header with envelope, then WKB Point).
pub fn point_blob(buf: &mut Vec<u8>, x: f64, y: f64) {
    buf.clear();
    header(buf, &[x, x, y, y]);
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
    header(buf, &env);
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

/// One feature table being filled.
struct Layer<'c> {
    name: &'static str,
    /// Inserts [`Layer::batch`] rows at a time: one statement per row spent most of its time
    /// in SQLite's per-statement work (a cursor opened and a B-tree descent for every row).
    insert: Statement<'c>,
    /// Parameters per row: fid, geom, then the columns.
    width: usize,
    /// Rows per execution of `insert`.
    batch: usize,
    /// Rows bound in `insert` and not yet executed.
    pending: usize,
    extent: Envelope,
    blob: Vec<u8>,
    /// (fid, box in the R-tree's 32-bit floats) of every feature, for the R-tree: 20 bytes
    /// a household, since at 10M every byte here is 10 MB.
    boxes: Vec<(u32, [f32; 4])>,
    /// Whether `boxes` is filled; false when [`Layer::finish_with`] gets them elsewhere.
    keep_boxes: bool,
}

impl<'c> Layer<'c> {
    fn create(
        conn: &'c Connection,
        name: &'static str,
        geometry: &str,
        columns: &[(String, SqlType)],
        description: &str,
        last_change: &str,
    ) -> rusqlite::Result<Self> {
        let defs: Vec<String> = columns.iter().map(|(n, t)| format!(", {} {}", quote(n), t.sql())).collect();
        conn.execute_batch(&format!(
            "CREATE TABLE {name} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geometry}{});\n\
             CREATE VIRTUAL TABLE rtree_{name}_geom USING rtree(id, minx, maxx, miny, maxy);",
            defs.concat()
        ))?;
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
        let width = columns.len() + 2;
        // Well under SQLite's 32,766 parameters per statement.
        let batch = (16_000 / width).clamp(1, 256);
        let marks = "?,".repeat(width);
        let row = format!("({})", &marks[..marks.len() - 1]);
        let rows = vec![row; batch].join(",");
        // The last batch is usually short: its unused rows get a NULL fid and are skipped.
        let insert =
            conn.prepare(&format!("INSERT INTO {name} SELECT * FROM (VALUES {rows}) WHERE column1 IS NOT NULL"))?;
        Ok(Layer {
            name,
            insert,
            width,
            batch,
            pending: 0,
            extent: EMPTY_ENVELOPE,
            blob: Vec::with_capacity(64),
            boxes: Vec::new(),
            keep_boxes: true,
        })
    }

    /// The statement's parameter for `param` (1-based, as in a one-row INSERT) of the row
    /// being bound.
    fn at(&self, param: usize) -> usize {
        self.pending * self.width + param
    }

    /// Binds fid and the geometry in `self.blob` (parameters 1 and 2); its box goes to the
    /// R-tree when the layer is finished.
    fn begin_row(&mut self, fid: i64, env: &Envelope) -> rusqlite::Result<()> {
        self.insert.raw_bind_parameter(self.at(1), fid)?;
        self.insert.raw_bind_parameter(self.at(2), &self.blob[..])?;
        // fids are 1..=rows (households are counted in u32).
        if self.keep_boxes {
            self.boxes.push((u32::try_from(fid).unwrap_or(u32::MAX), f32_box(env)));
        }
        self.extent[0] = self.extent[0].min(env[0]);
        self.extent[1] = self.extent[1].max(env[1]);
        self.extent[2] = self.extent[2].min(env[2]);
        self.extent[3] = self.extent[3].max(env[3]);
        Ok(())
    }

    fn point(&mut self, fid: i64, x: f64, y: f64) -> rusqlite::Result<()> {
        point_blob(&mut self.blob, x, y);
        self.begin_row(fid, &[x, x, y, y])
    }

    fn bind<T: rusqlite::ToSql>(&mut self, param: usize, v: T) -> rusqlite::Result<()> {
        self.insert.raw_bind_parameter(self.at(param), v)
    }

    fn bind_opt<T: rusqlite::ToSql>(&mut self, param: usize, v: Option<T>) -> rusqlite::Result<()> {
        match v {
            Some(v) => self.bind(param, v),
            None => self.bind(param, Null),
        }
    }

    fn end_row(&mut self) -> rusqlite::Result<()> {
        self.pending += 1;
        if self.pending == self.batch {
            self.flush()?;
        }
        Ok(())
    }

    /// Inserts the rows bound so far.
    fn flush(&mut self) -> rusqlite::Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        // Ctrl-C or SIGTERM: stop here rather than after every household (the folder is
        // thrown away anyway; see `export::atomic`).
        if let Some(signal) = crate::progress::interrupted() {
            return Err(rusqlite::Error::ToSqlConversionFailure(format!("interrupted (signal {signal})").into()));
        }
        // Rows past `pending` still hold the previous batch's values: a NULL fid skips them.
        for r in self.pending..self.batch {
            self.insert.raw_bind_parameter(r * self.width + 1, Null)?;
        }
        self.insert.raw_execute()?;
        self.pending = 0;
        Ok(())
    }

    /// Fills the R-tree, writes the extent and the R-tree triggers.
    ///
    /// SQLite's R-tree has no bulk load, and inserting a million boxes one by one took 5 of
    /// the 6.7 s the GeoPackage took; [`bulk_load_rtree`] writes the nodes directly, the
    /// boxes in Z-order (Morton code of their centres) so that each node covers a compact
    /// area.
    fn finish(mut self, conn: &Connection) -> rusqlite::Result<()> {
        let boxes = std::mem::take(&mut self.boxes);
        self.finish_with(conn, boxes.len(), |k| (i64::from(boxes[k].0), boxes[k].1))
    }

    /// [`Layer::finish`] with the features' (fid, box) given by `entry` (fids ascending with
    /// `k`) rather than kept in `boxes`: the households layer reads them from the households,
    /// 200 MB at 10M not held twice.
    fn finish_with(
        mut self,
        conn: &Connection,
        n: usize,
        entry: impl Fn(usize) -> (i64, [f32; 4]),
    ) -> rusqlite::Result<()> {
        self.flush()?;
        let e = self.extent;
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
        order.sort_unstable();
        bulk_load_rtree(conn, &format!("rtree_{}_geom", self.name), order.len(), |k| {
            entry((order[k] & 0xFFFF_FFFF) as usize)
        })?;
        drop(order);
        if e[0] <= e[1] {
            conn.execute(
                "UPDATE gpkg_contents SET min_x = ?1, max_x = ?2, min_y = ?3, max_y = ?4 WHERE table_name = ?5",
                params![e[0], e[1], e[2], e[3], self.name],
            )?;
        }
        conn.execute_batch(&rtree_triggers(self.name))
    }
}

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

/// Fills the (empty) R-tree `table` with `boxes`, in their order, by writing its nodes
/// directly (Sort-Tile-Recursive style packing, Leutenegger et al. 1997, with the Z-order
/// as the tiling): full nodes of consecutive entries, bottom up, the root last as node 1.
///
/// The layout is SQLite's R-tree format (ext/rtree/rtree.c): `<t>_node(nodeno, data)` where
/// data is a blob of the node size (that of the empty root the table starts with): a 2-byte
/// big-endian tree depth (root only), a 2-byte cell count, then cells of an 8-byte id and
/// minx, maxx, miny, maxy as big-endian 32-bit floats; `<t>_rowid(rowid, nodeno)` maps each
/// entry to its leaf and `<t>_parent(nodeno, parentnode)` each non-root node to its parent.
/// SQLite's `rtreecheck()` verifies all of it (tests/gis.rs runs it).
fn bulk_load_rtree(
    conn: &Connection,
    table: &str,
    n: usize,
    entry: impl Fn(usize) -> (i64, [f32; 4]),
) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let size: i64 =
        conn.query_row(&format!("SELECT length(data) FROM {table}_node WHERE nodeno = 1"), [], |r| r.get(0))?;
    let size = size as usize;
    let max = (size - 4) / 24;
    let mut node = conn.prepare(&format!("INSERT OR REPLACE INTO {table}_node(nodeno, data) VALUES (?1, ?2)"))?;
    // (entry, node) of every leaf entry and (node, parent) of every inner node, inserted at
    // the end in key order: inserting them in the Z-order of the tree seeks all over the
    // B-tree for every row, which took most of the GeoPackage's time at 10M households.
    // Leaf entries are packed as id << 24 | node in one u64 (ids are fids, nodes ~n / 50).
    let mut leaves: Vec<u64> = Vec::with_capacity(n);
    let mut parents: Vec<(i64, i64)> = Vec::new();
    let mut depth = 0u16;
    let mut next_no = 2i64;
    let mut blob = vec![0u8; size];
    let mut write = |no: i64, depth_header: u16, cells: &mut dyn Iterator<Item = (i64, [f32; 4])>| {
        blob.fill(0);
        blob[..2].copy_from_slice(&depth_header.to_be_bytes());
        let mut count = 0u16;
        let mut cover = [f32::INFINITY, f32::NEG_INFINITY, f32::INFINITY, f32::NEG_INFINITY];
        let mut ids = Vec::with_capacity(max);
        for (k, (id, b)) in cells.enumerate() {
            let at = 4 + 24 * k;
            blob[at..at + 8].copy_from_slice(&id.to_be_bytes());
            for (j, v) in b.iter().enumerate() {
                blob[at + 8 + 4 * j..at + 12 + 4 * j].copy_from_slice(&v.to_be_bytes());
            }
            cover = [cover[0].min(b[0]), cover[1].max(b[1]), cover[2].min(b[2]), cover[3].max(b[3])];
            ids.push(id);
            count += 1;
        }
        blob[2..4].copy_from_slice(&count.to_be_bytes());
        node.execute(params![no, &blob[..]])?;
        Ok::<_, rusqlite::Error>((ids, cover))
    };
    let leaf = |id: i64, no: i64| -> rusqlite::Result<u64> {
        match (u64::try_from(id), u64::try_from(no)) {
            (Ok(id), Ok(no)) if id < 1 << 40 && no < 1 << 24 => Ok((id << 24) | no),
            _ => Err(rusqlite::Error::ToSqlConversionFailure(format!("R-tree entry {id} in node {no}").into())),
        }
    };
    // The level being packed: entries 0..len, read through `entry` at the leaves.
    let mut level: Option<Vec<(i64, [f32; 4])>> = None;
    let mut len = n;
    loop {
        let get = |k: usize| match &level {
            Some(l) => l[k],
            None => entry(k),
        };
        if len <= max {
            let (ids, _) = write(1, depth, &mut (0..len).map(get))?;
            for id in ids {
                if depth == 0 { leaves.push(leaf(id, 1)?) } else { parents.push((id, 1)) }
            }
            break;
        }
        // Nodes as full as they can be, the entries spread evenly over them.
        let n_nodes = len.div_ceil(max);
        let per = len.div_ceil(n_nodes);
        let mut up = Vec::with_capacity(n_nodes);
        for start in (0..len).step_by(per) {
            let no = next_no;
            next_no += 1;
            let (ids, cover) = write(no, 0, &mut (start..(start + per).min(len)).map(get))?;
            for id in ids {
                if depth == 0 { leaves.push(leaf(id, no)?) } else { parents.push((id, no)) }
            }
            up.push((no, cover));
        }
        len = up.len();
        level = Some(up);
        depth += 1;
    }
    drop(node);
    leaves.sort_unstable();
    let rowids = leaves.iter().map(|&p| ((p >> 24) as i64, (p & 0xFF_FFFF) as i64));
    insert_pairs(conn, &format!("{table}_rowid(rowid, nodeno)"), rowids)?;
    drop(leaves);
    parents.sort_unstable();
    insert_pairs(conn, &format!("{table}_parent(nodeno, parentnode)"), parents.into_iter())
}

/// Inserts integer `pairs` into `target` (a table and its two columns) in key order, many rows
/// per statement.
fn insert_pairs(conn: &Connection, target: &str, mut pairs: impl Iterator<Item = (i64, i64)>) -> rusqlite::Result<()> {
    const BATCH: usize = 500;
    let statement = |rows: usize| {
        let values = vec!["(?,?)"; rows].join(",");
        conn.prepare(&format!("INSERT INTO {target} VALUES {values}"))
    };
    let mut full = statement(BATCH)?;
    let mut chunk = Vec::with_capacity(BATCH);
    loop {
        chunk.clear();
        chunk.extend((&mut pairs).take(BATCH));
        let mut stmt = match chunk.len() {
            0 => return Ok(()),
            BATCH => None,
            short => Some(statement(short)?),
        };
        let st = stmt.as_mut().unwrap_or(&mut full);
        for (k, (a, b)) in chunk.iter().enumerate() {
            st.raw_bind_parameter(2 * k + 1, a)?;
            st.raw_bind_parameter(2 * k + 2, b)?;
        }
        st.raw_execute()?;
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
pub fn write_gpkg(path: &Path, o: &Outcome, last_change: &str) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {USER_VERSION};
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA cache_size = -32768;
         PRAGMA temp_store = MEMORY;"
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
    zones_layer(&tx, o, last_change)?;
    households_layer(&tx, o, last_change)?;
    if o.sites.is_some() {
        sites_layer(&tx, o, last_change)?;
    }
    if o.hotspots.is_some() {
        hotspots_layer(&tx, o, last_change)?;
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

fn zones_layer(conn: &Connection, o: &Outcome, last_change: &str) -> rusqlite::Result<()> {
    let cols: Vec<(String, SqlType)> = ZONE_COLUMNS.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    let mut l =
        Layer::create(conn, "zones", "POLYGON", &cols, "Critical-need zones, in rank order (needmap)", last_change)?;
    for (k, z) in o.zones.zones.iter().enumerate() {
        let env = polygon_blob(&mut l.blob, &z.ring);
        l.begin_row(k as i64 + 1, &env)?;
        let p = zone_properties(z);
        for (c, (name, ty)) in ZONE_COLUMNS.iter().enumerate() {
            let v = &p[*name];
            match ty {
                SqlType::Integer => l.bind_opt(c + 3, v.as_i64())?,
                _ => l.bind_opt(c + 3, v.as_f64())?,
            }
        }
        l.end_row()?;
    }
    l.finish(conn)
}

fn households_layer(conn: &Connection, o: &Outcome, last_change: &str) -> rusqlite::Result<()> {
    let h = &o.imported.households;
    let types: Vec<SqlType> = (0..h.columns.len()).map(|c| input_column_type(h, c)).collect();
    let hot = o.hotspots.as_deref();
    let audit = o.audit.as_deref();
    let site_of = o.sites.as_ref().map(|s| &s.solution.site_of);
    let mut ours: Vec<(&str, SqlType)> = vec![
        ("need", SqlType::Real),
        ("critical", SqlType::Boolean),
        ("cluster", SqlType::Integer),
        ("zone", SqlType::Integer),
    ];
    if hot.is_some() {
        ours.extend([("gi_z", SqlType::Real), ("hot", SqlType::Integer)]);
    }
    if audit.is_some() {
        ours.push(("p_critical", SqlType::Real));
    }
    if site_of.is_some() {
        ours.push(("site", SqlType::Integer));
    }
    let names =
        unique_names(h.columns.iter().map(|c| c.name.as_str()).chain(ours.iter().map(|(n, _)| *n)), &["fid", "geom"]);
    let all_types: Vec<SqlType> = types.iter().copied().chain(ours.iter().map(|(_, t)| *t)).collect();
    let cols: Vec<(String, SqlType)> = names.into_iter().zip(all_types).collect();
    let mut l = Layer::create(
        conn,
        "households",
        "POINT",
        &cols,
        "Households with their need score, critical flag, cluster and zone (needmap)",
        last_change,
    )?;
    // The R-tree's boxes come from the households when the layer is finished.
    l.keep_boxes = false;
    let n_in = h.columns.len();
    for i in 0..h.len() {
        l.point(i as i64 + 1, h.lon_deg[i], h.lat_deg[i])?;
        for (c, ty) in types.iter().enumerate() {
            let t = h.text(i, c);
            let p = c + 3;
            let trimmed = t.trim();
            match ty {
                _ if trimmed.is_empty() && *ty != SqlType::Text => l.bind(p, Null)?,
                SqlType::Text if t.is_empty() => l.bind(p, Null)?,
                SqlType::Text => l.bind(p, t)?,
                SqlType::Integer => l.bind_opt(p, plain_integer(trimmed))?,
                _ => l.bind_opt(p, parse_number(trimmed).ok().flatten())?,
            }
        }
        let mut p = n_in + 3;
        let s = o.scored.need.score[i];
        l.bind_opt(p, s.is_finite().then(|| as_written(&format!("{s:.6}"))).flatten())?;
        l.bind(p + 1, o.scored.critical[i])?;
        l.bind_opt(p + 2, o.clustered.candidates[i].then_some(o.clustered.labels[i]))?;
        let z = o.zones.zone_of[i];
        l.bind_opt(p + 3, (z >= 0).then_some(z))?;
        p += 4;
        if let Some(r) = hot {
            l.bind_opt(p, r.z[i].and_then(|z| as_written(&fmt_z(z))))?;
            l.bind(p + 1, r.hot[i])?;
            p += 2;
        }
        if let Some(a) = audit {
            let v = a.p_critical[i];
            l.bind_opt(p, v.is_finite().then(|| as_written(&format!("{v:.4}"))).flatten())?;
            p += 1;
        }
        if let Some(so) = site_of {
            l.bind_opt(p, (so[i] >= 0).then_some(so[i] + 1))?;
        }
        l.end_row()?;
    }
    l.finish_with(conn, h.len(), |i| {
        let (x, y) = (h.lon_deg[i], h.lat_deg[i]);
        (i as i64 + 1, f32_box(&[x, x, y, y]))
    })
}

fn sites_layer(conn: &Connection, o: &Outcome, last_change: &str) -> rusqlite::Result<()> {
    let Some(s) = o.sites.as_deref() else { return Ok(()) };
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
    let mut l = Layer::create(
        conn,
        "sites",
        "POINT",
        &cols,
        "Build sites in the order chosen, with the need they cover (needmap)",
        last_change,
    )?;
    // The same rows as sites.csv, read back from its writer so the two never differ.
    let mut csv_bytes = Vec::new();
    super::csv::sites_csv(&mut csv_bytes, s).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let mut rdr = csv::Reader::from_reader(&csv_bytes[..]);
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        let j = s.solution.sites[k].candidate;
        l.point(k as i64 + 1, s.candidates.lon_deg[j], s.candidates.lat_deg[j])?;
        for (c, (_, ty)) in cols[..SITES_COLUMNS.len()].iter().enumerate() {
            let v = &rec[c];
            match ty {
                SqlType::Text => l.bind(c + 3, v)?,
                SqlType::Integer => l.bind_opt(c + 3, v.parse::<i64>().ok())?,
                _ => l.bind_opt(c + 3, v.parse::<f64>().ok())?,
            }
        }
        l.bind(SITES_COLUMNS.len() + 3, s.params.radius_m)?;
        l.end_row()?;
    }
    l.finish(conn)
}

fn hotspots_layer(conn: &Connection, o: &Outcome, last_change: &str) -> rusqlite::Result<()> {
    let Some(r) = o.hotspots.as_deref() else { return Ok(()) };
    let h = &o.imported.households;
    let cols: Vec<(String, SqlType)> = [
        ("row", SqlType::Integer),
        ("id", SqlType::Text),
        ("gi_z", SqlType::Real),
        ("p", SqlType::Real),
        ("hot", SqlType::Integer),
        ("neighbours", SqlType::Integer),
        ("bin", SqlType::Integer),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), *t))
    .collect();
    let mut l = Layer::create(
        conn,
        "hotspots",
        "POINT",
        &cols,
        "Getis-Ord Gi* of every household tested: z, p, Benjamini-Hochberg class (hot), confidence bin (needmap)",
        last_change,
    )?;
    let mut fid = 0;
    for i in 0..h.len() {
        let (Some(z), Some(p)) = (r.z[i], r.p[i]) else { continue };
        fid += 1;
        l.point(fid, h.lon_deg[i], h.lat_deg[i])?;
        l.bind(3, h.row[i])?;
        let id = h.id(i);
        l.bind_opt(4, (!id.is_empty()).then_some(id))?;
        l.bind_opt(5, as_written(&fmt_z(z)))?;
        l.bind_opt(6, as_written(&fmt_p(p)))?;
        l.bind(7, r.hot[i])?;
        l.bind(8, r.neighbours[i])?;
        l.bind(9, r.bin[i])?;
        l.end_row()?;
    }
    l.finish(conn)
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
    fn point_blob_is_header_envelope_then_wkb() {
        let mut b = Vec::new();
        point_blob(&mut b, 1.0, -2.0);
        // 'G' 'P', version 0, flags 0b011 (envelope xy, little-endian), srs_id 4326 = 0x10E6.
        assert_eq!(&b[..8], &[0x47, 0x50, 0x00, 0x03, 0xE6, 0x10, 0x00, 0x00]);
        // Envelope minx, maxx, miny, maxy: 1, 1, -2, -2. 1.0 = 0x3FF0000000000000, LE.
        assert_eq!(&b[8..16], &[0, 0, 0, 0, 0, 0, 0xF0, 0x3F]);
        assert_eq!(&b[16..24], &[0, 0, 0, 0, 0, 0, 0xF0, 0x3F]);
        assert_eq!(&b[24..32], &[0, 0, 0, 0, 0, 0, 0x00, 0xC0]);
        // WKB: byte order 1, type 1 (Point), x, y.
        assert_eq!(&b[40..45], &[0x01, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(&b[45..53], &[0, 0, 0, 0, 0, 0, 0xF0, 0x3F]);
        assert_eq!(&b[53..61], &[0, 0, 0, 0, 0, 0, 0x00, 0xC0]);
        assert_eq!(b.len(), 8 + 32 + 21);
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
        for n in [0usize, 1, 51, 52, 5_000] {
            let conn = Connection::open_in_memory().unwrap();
            conn.execute_batch("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)").unwrap();
            // A spiral of points and small boxes, ids not in order.
            let boxes: Vec<(i64, Envelope)> = (0..n)
                .map(|i| {
                    let a = i as f64 * 0.1;
                    let (x, y) = (-77.0 + a.cos() * a * 1e-3, -12.0 + a.sin() * a * 1e-3);
                    let w = if i % 3 == 0 { 0.0 } else { 1e-4 };
                    ((i as i64 * 7919) % 100_003 + 1, [x, x + w, y, y + w])
                })
                .collect();
            bulk_load_rtree(&conn, "r", n, |k| (boxes[k].0, f32_box(&boxes[k].1))).unwrap();
            let check: String = conn.query_row("SELECT rtreecheck('r')", [], |r| r.get(0)).unwrap();
            assert_eq!(check, "ok", "{n} boxes");
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
