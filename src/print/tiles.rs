//! Raster tiles for printed maps, offline: a `z/x/y.png|jpg|jpeg` folder (XYZ rows, as
//! OpenStreetMap numbers them) or an MBTiles file (SQLite `tiles` table, rows numbered from the
//! south as in TMS: row = 2^z − 1 − y).

use std::path::{Path, PathBuf};

use super::Encoded;

/// Where tiles come from.
pub enum TileSource {
    Folder { root: PathBuf, zooms: Vec<u8> },
    MbTiles { file: crate::tiles::MbTiles, zooms: Vec<u8> },
}

/// Why a tile source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("{0}: no such file or folder; give a z/x/y tile folder or an .mbtiles file")]
    Missing(PathBuf),
    #[error("{path}: not an MBTiles file ({problem})")]
    BadMbTiles { path: PathBuf, problem: String },
    #[error("{0}: no tiles found (expected z/x/y.png or z/x/y.jpg)")]
    Empty(PathBuf),
}

impl TileSource {
    pub fn open(path: &Path) -> Result<TileSource, TileError> {
        if path.is_dir() {
            let mut zooms: Vec<u8> = std::fs::read_dir(path)
                .map_err(|_| TileError::Missing(path.to_path_buf()))?
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u8>().ok())
                .filter(|&z| z <= 24)
                .collect();
            zooms.sort_unstable();
            if zooms.is_empty() {
                return Err(TileError::Empty(path.to_path_buf()));
            }
            return Ok(TileSource::Folder { root: path.to_path_buf(), zooms });
        }
        if !path.is_file() {
            return Err(TileError::Missing(path.to_path_buf()));
        }
        let file = crate::tiles::MbTiles::open(path)
            .map_err(|e| TileError::BadMbTiles { path: path.to_path_buf(), problem: e.message })?;
        let zooms = file.zooms();
        if zooms.is_empty() {
            return Err(TileError::Empty(path.to_path_buf()));
        }
        Ok(TileSource::MbTiles { file, zooms })
    }

    /// The zoom levels present, ascending.
    pub fn zooms(&self) -> &[u8] {
        match self {
            TileSource::Folder { zooms, .. } | TileSource::MbTiles { zooms, .. } => zooms,
        }
    }

    /// The highest zoom present not above `wanted` (else the lowest present).
    pub fn zoom_for(&self, wanted: u8) -> u8 {
        let z = self.zooms();
        z.iter().rev().find(|&&x| x <= wanted).or(z.first()).copied().unwrap_or(0)
    }

    /// The tile at XYZ `(z, x, y)` (y from the north), if present and PNG or JPEG.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Option<Encoded> {
        match self {
            TileSource::Folder { root, .. } => ["png", "jpg", "jpeg"].iter().find_map(|ext| {
                let p = root.join(z.to_string()).join(x.to_string()).join(format!("{y}.{ext}"));
                Encoded::sniff(std::fs::read(p).ok()?)
            }),
            TileSource::MbTiles { file, .. } => Encoded::sniff(file.get(z, x, y)?),
        }
    }

    /// The attribution to print: the MBTiles `metadata` table's, or a folder's
    /// `attribution.txt`, else the source's file name.
    pub fn attribution(&self) -> String {
        let found = match self {
            TileSource::Folder { root, .. } => std::fs::read_to_string(root.join("attribution.txt")).ok(),
            TileSource::MbTiles { file, .. } => file.metadata("attribution"),
        };
        let name = match self {
            TileSource::Folder { root, .. } => root,
            TileSource::MbTiles { file, .. } => file.path(),
        };
        found
            .map(|s| strip_tags(s.trim()))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| name.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    }
}

/// Attributions are often HTML (`<a href=…>© OpenStreetMap</a>`): the text only.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&copy;", "©").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG's signature and the start of its IHDR chunk (256 × 256): what `Encoded::sniff` reads.
    fn png_head() -> Vec<u8> {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&256u32.to_be_bytes());
        b.extend_from_slice(&256u32.to_be_bytes());
        b
    }

    #[test]
    fn mbtiles_rows_are_flipped_from_tms() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("t.mbtiles");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             INSERT INTO metadata VALUES ('attribution', '<a href=\"x\">&copy; Test Maps</a>');",
        )
        .unwrap();
        // Zoom 2: XYZ (1, 0) is the northern row, stored as TMS row 3.
        let mut north = png_head();
        north.push(1);
        let mut south = png_head();
        south.push(2);
        let ins = "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)";
        conn.execute(ins, rusqlite::params![2, 1, 3, north]).unwrap();
        conn.execute(ins, rusqlite::params![2, 1, 0, south]).unwrap();
        conn.execute(ins, rusqlite::params![5, 0, 0, png_head()]).unwrap();
        drop(conn);
        let src = TileSource::open(&path).unwrap();
        assert_eq!(src.zooms(), &[2, 5]);
        let Some(Encoded::Png(b)) = src.tile(2, 1, 0) else { panic!("tile 2/1/0 missing") };
        assert_eq!(b.last(), Some(&1));
        let Some(Encoded::Png(b)) = src.tile(2, 1, 3) else { panic!("tile 2/1/3 missing") };
        assert_eq!(b.last(), Some(&2));
        assert!(src.tile(2, 0, 0).is_none());
        assert_eq!(src.zoom_for(4), 2);
        assert_eq!(src.zoom_for(18), 5);
        assert_eq!(src.zoom_for(1), 2);
        assert_eq!(src.attribution(), "© Test Maps");
    }

    #[test]
    fn folder_tiles_use_xyz_rows() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("3/2")).unwrap();
        std::fs::write(d.path().join("3/2/1.png"), png_head()).unwrap();
        let src = TileSource::open(d.path()).unwrap();
        assert!(matches!(src.tile(3, 2, 1), Some(Encoded::Png(_))));
        assert!(src.tile(3, 2, 6).is_none());
        let e = TileSource::open(&d.path().join("none.mbtiles")).err().unwrap();
        assert!(e.to_string().contains("no such file or folder"), "{e}");
    }
}
