//! MBTiles 1.3: tiles in one SQLite file (`metadata` and `tiles` tables, rows numbered TMS
//! style, from the south), as QField, OsmAnd and the app read them. The API speaks XYZ.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};

/// A problem with an MBTiles file, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct MbTilesError {
    pub path: PathBuf,
    pub message: String,
}

pub struct MbTiles {
    conn: Connection,
    path: PathBuf,
}

fn tms_row(zoom: u8, y: u32) -> u32 {
    ((1u64 << zoom) - 1 - y as u64) as u32
}

impl MbTiles {
    /// Opens an existing file read-only.
    pub fn open(path: &Path) -> Result<Self, MbTilesError> {
        let err = |message: String| MbTilesError { path: path.to_path_buf(), message };
        if !path.is_file() {
            return Err(err("no such file".into()));
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| err(format!("cannot open: {e}")))?;
        let has_tiles: bool = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'tiles'", [], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
            .map_err(|e| err(format!("not an MBTiles file (SQLite says: {e})")))?;
        if !has_tiles {
            return Err(err("not an MBTiles file: it has no `tiles` table".into()));
        }
        Ok(Self { conn, path: path.to_path_buf() })
    }

    /// Opens `path` for writing, creating the MBTiles tables if they are not there (so a
    /// partly written file is resumed).
    pub fn create(path: &Path) -> Result<Self, MbTilesError> {
        let err = |e: rusqlite::Error| MbTilesError { path: path.to_path_buf(), message: e.to_string() };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE;
             CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT);
             CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);",
        )
        .map_err(err)?;
        Ok(Self { conn, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The image of XYZ tile `z/x/y`, if the file has it.
    pub fn get(&self, zoom: u8, x: u32, y: u32) -> Option<Vec<u8>> {
        if y as u64 >= 1u64 << zoom {
            return None;
        }
        self.conn
            .query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                params![zoom, x, tms_row(zoom, y)],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    /// Whether the file has XYZ tile `z/x/y`.
    pub fn has(&self, zoom: u8, x: u32, y: u32) -> bool {
        self.conn
            .query_row(
                "SELECT 1 FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                params![zoom, x, tms_row(zoom, y)],
                |_| Ok(()),
            )
            .optional()
            .ok()
            .flatten()
            .is_some()
    }

    /// Stores XYZ tile `z/x/y` (replacing one already there).
    pub fn put(&self, zoom: u8, x: u32, y: u32, data: &[u8]) -> Result<(), MbTilesError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
                params![zoom, x, tms_row(zoom, y), data],
            )
            .map(|_| ())
            .map_err(|e| MbTilesError { path: self.path.clone(), message: format!("cannot write a tile: {e}") })
    }

    pub fn set_metadata(&self, pairs: &[(&str, String)]) -> Result<(), MbTilesError> {
        for (k, v) in pairs {
            self.conn
                .execute("INSERT OR REPLACE INTO metadata (name, value) VALUES (?1, ?2)", params![k, v])
                .map_err(|e| MbTilesError { path: self.path.clone(), message: e.to_string() })?;
        }
        Ok(())
    }

    /// The metadata value of `name`.
    pub fn metadata(&self, name: &str) -> Option<String> {
        self.conn
            .query_row("SELECT value FROM metadata WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .ok()
            .flatten()
    }

    /// The deepest zoom level held (from the tiles themselves).
    pub fn max_zoom(&self) -> Option<u8> {
        self.conn.query_row("SELECT max(zoom_level) FROM tiles", [], |r| r.get::<_, Option<u8>>(0)).ok().flatten()
    }

    /// The zoom levels the file has tiles at, ascending.
    pub fn zooms(&self) -> Vec<u8> {
        let Ok(mut st) = self.conn.prepare("SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level") else {
            return Vec::new();
        };
        st.query_map([], |r| r.get::<_, i64>(0))
            .map(|rows| rows.filter_map(Result::ok).map(|z| z.clamp(0, 24) as u8).collect())
            .unwrap_or_default()
    }

    /// How many tiles the file holds.
    pub fn count(&self) -> u64 {
        self.conn.query_row("SELECT count(*) FROM tiles", [], |r| r.get::<_, i64>(0)).map_or(0, |n| n as u64)
    }
}

/// The image format of tile bytes, as MBTiles names it.
pub fn sniff_format(data: &[u8]) -> &'static str {
    if data.starts_with(b"\x89PNG") {
        "png"
    } else if data.starts_with(&[0xFF, 0xD8]) {
        "jpg"
    } else if data.len() > 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        "webp"
    } else {
        "pbf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_go_in_tms_rows_and_come_out_in_xyz() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.mbtiles");
        let m = MbTiles::create(&p).unwrap();
        m.put(3, 2, 1, b"\x89PNG-a").unwrap();
        m.set_metadata(&[("format", "png".into())]).unwrap();
        drop(m);
        // Read back with SQL of our own: XYZ row 1 at zoom 3 is TMS row 8 - 1 - 1 = 6.
        let c = Connection::open(&p).unwrap();
        let row: (i64, i64, i64) = c
            .query_row("SELECT zoom_level, tile_column, tile_row FROM tiles", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(row, (3, 2, 6));
        let m = MbTiles::open(&p).unwrap();
        assert_eq!(m.get(3, 2, 1).as_deref(), Some(&b"\x89PNG-a"[..]));
        assert!(m.has(3, 2, 1) && !m.has(3, 2, 6));
        assert_eq!(m.get(3, 2, 9), None);
        assert_eq!(m.max_zoom(), Some(3));
        assert_eq!(m.metadata("format").as_deref(), Some("png"));
        assert_eq!(sniff_format(b"\xFF\xD8\xFF"), "jpg");
        let not = d.path().join("x.mbtiles");
        std::fs::write(&not, "hello").unwrap();
        assert!(MbTiles::open(&not).is_err());
    }
}
