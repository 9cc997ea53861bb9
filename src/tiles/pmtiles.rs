//! PMTiles (v3) basemaps a user picks for the map. The map reads them with the `pmtiles`
//! crate (through walkers), which trusts the file: a root directory said to lie past the end
//! of the file makes it panic on every tile, and a directory that claims more entries than
//! it has bytes makes it allocate that many (a panic, or the process aborted when memory
//! runs out). Both were found by the `pmtiles` fuzz target. The header and the directories
//! are checked here first, so such a file is refused with a message instead.

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// A PMTiles file that cannot be used as a basemap, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PmTilesError {
    pub path: PathBuf,
    pub message: String,
}

/// Bytes of a v3 header.
const HEADER: usize = 127;

/// The root directory must lie in the file's first 16 KiB (the spec; readers fetch that much
/// first).
const ROOT_WITHIN: u64 = 16_384;

/// What the header says, as far as the map needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// 1 MVT (vector), 2 PNG, 3 JPEG, 4 WebP, 5 AVIF, 0 unknown.
    pub tile_type: u8,
}

/// Checks that `path` is a PMTiles v3 file whose header is consistent with its size: every
/// section (root directory, metadata, leaf directories, tile data) inside the file, the root
/// directory in its first 16 KiB, zooms in order.
pub fn check(path: &Path) -> Result<Header, PmTilesError> {
    let err = |message: String| PmTilesError { path: path.to_path_buf(), message };
    let mut file = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let len = file.metadata().map_err(|e| err(format!("cannot read: {e}")))?.len();
    let mut h = [0u8; HEADER];
    if len < HEADER as u64 {
        return Err(err(format!("not a PMTiles file: {len} bytes, shorter than its {HEADER}-byte header")));
    }
    file.read_exact(&mut h).map_err(|e| err(format!("cannot read: {e}")))?;
    if &h[..7] != b"PMTiles" {
        return Err(err("not a PMTiles file (it does not start with \"PMTiles\")".into()));
    }
    if h[7] != 3 {
        return Err(err(format!("PMTiles version {} is not read; version 3 is (pmtiles convert upgrades it)", h[7])));
    }
    let u64_at = |k: usize| u64::from_le_bytes(h[k..k + 8].try_into().expect("8 bytes"));
    let sections = [(8, "root directory"), (24, "metadata"), (40, "leaf directories"), (56, "tile data")];
    for (at, name) in sections {
        let (offset, length) = (u64_at(at), u64_at(at + 8));
        match offset.checked_add(length) {
            Some(end) if end <= len && (length == 0 || offset >= HEADER as u64) => {}
            _ => {
                return Err(err(format!(
                    "damaged: its header puts the {name} at bytes {offset}..{} of a {len}-byte file",
                    offset as u128 + length as u128
                )));
            }
        }
    }
    let (root, root_len) = (u64_at(8), u64_at(16));
    if root < HEADER as u64 || root + root_len > ROOT_WITHIN {
        return Err(err(format!(
            "damaged: its root directory (bytes {root}..{}) is not within the first {ROOT_WITHIN} bytes, after the header",
            root + root_len
        )));
    }
    let (min_zoom, max_zoom) = (h[100], h[101]);
    if min_zoom > max_zoom || max_zoom > 31 {
        return Err(err(format!("damaged: its zooms run from {min_zoom} to {max_zoom}")));
    }
    let compression = match h[97] {
        1 => Inner::None,
        2 => Inner::Gzip,
        c => {
            let name = match c {
                3 => "brotli",
                4 => "zstd",
                _ => "unknown",
            };
            return Err(err(format!(
                "its directories are {name}-compressed; the map reads gzip or none (pmtiles convert can rewrite it)"
            )));
        }
    };
    let mut walk = Walk {
        file: &mut file,
        compression,
        leaves: (u64_at(40), u64_at(48)),
        data_length: u64_at(64),
        budget: LEAF_BUDGET,
    };
    walk.directory(root, root_len, 0).map_err(|why| err(format!("damaged: {why}")))?;
    Ok(Header { min_zoom, max_zoom, tile_type: h[99] })
}

/// Bytes of leaf directories read at most: enough for any city or country extract; past it
/// (a planet file) the rest is left to the map.
const LEAF_BUDGET: u64 = 256 << 20;

#[derive(Debug, Clone, Copy)]
enum Inner {
    None,
    Gzip,
}

/// Reads directories, checking each the way the `pmtiles` crate will read it.
struct Walk<'f> {
    file: &'f mut std::fs::File,
    compression: Inner,
    /// Offset and length of the leaf directories' section.
    leaves: (u64, u64),
    data_length: u64,
    budget: u64,
}

impl Walk<'_> {
    /// The directory of `length` bytes at `offset`, and the leaves it points to.
    fn directory(&mut self, offset: u64, length: u64, depth: u32) -> Result<(), String> {
        use std::io::Seek as _;
        if depth > 4 {
            return Err("its leaf directories nest deeper than 4 levels".into());
        }
        let mut raw = vec![0u8; usize::try_from(length).map_err(|_| "a directory is too long")?];
        self.file.seek(std::io::SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
        self.file.read_exact(&mut raw).map_err(|e| e.to_string())?;
        let bytes = match self.compression {
            Inner::None => raw,
            Inner::Gzip => {
                let mut out = Vec::new();
                // A directory inflates ~3x; the crate reads it all into memory too.
                flate2::read::GzDecoder::new(&raw[..])
                    .take(64 << 20)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("a directory at byte {offset} is not valid gzip ({e})"))?;
                out
            }
        };
        let entries = parse(&bytes).map_err(|why| format!("the directory at byte {offset} {why}"))?;
        for e in entries {
            if e.run_length == 0 {
                // A leaf directory, within the leaves' section.
                match e.offset.checked_add(u64::from(e.length)) {
                    Some(end) if end <= self.leaves.1 => {}
                    _ => return Err(format!("the directory at byte {offset} points outside the leaf directories")),
                }
                if self.budget < u64::from(e.length) {
                    return Ok(());
                }
                self.budget -= u64::from(e.length);
                self.directory(self.leaves.0 + e.offset, u64::from(e.length), depth + 1)?;
            } else if e.offset.checked_add(u64::from(e.length)).is_none_or(|end| end > self.data_length) {
                return Err(format!("the directory at byte {offset} points outside the tile data"));
            }
        }
        Ok(())
    }
}

/// A directory entry, as the PMTiles spec lays them out.
struct Entry {
    run_length: u32,
    offset: u64,
    length: u32,
}

/// The entries of a (decompressed) directory: a count, then tile ids (deltas), run lengths,
/// lengths and offsets (0: right after the previous entry), all varints.
fn parse(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut at = 0usize;
    let mut varint = || -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *bytes.get(at).ok_or("is cut short")?;
            at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("has a number longer than 64 bits".into())
    };
    let n = varint()?;
    // Every entry takes at least four bytes: more than that is a count the bytes cannot hold
    // (the crate would allocate it before finding out).
    if n > bytes.len() as u64 / 4 {
        return Err(format!("claims {n} entries in {} bytes", bytes.len()));
    }
    let n = n as usize;
    let mut tile_id = 0u64;
    for _ in 0..n {
        tile_id = tile_id.checked_add(varint()?).ok_or("has tile ids past 2^64")?;
    }
    let small = |v: u64| u32::try_from(v).map_err(|_| "has a run or length past 2^32".to_string());
    let mut entries: Vec<Entry> = Vec::with_capacity(n);
    for _ in 0..n {
        entries.push(Entry { run_length: small(varint()?)?, offset: 0, length: 0 });
    }
    for e in &mut entries {
        e.length = small(varint()?)?;
    }
    for k in 0..n {
        let v = varint()?;
        entries[k].offset = match (v, k) {
            (0, 0) => return Err("has a first entry placed after a previous one".into()),
            (0, _) => {
                let p = &entries[k - 1];
                p.offset.checked_add(u64::from(p.length)).ok_or("has offsets past 2^64")?
            }
            (v, _) => v - 1,
        };
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    #[test]
    fn a_valid_file_passes_and_says_its_zooms() {
        let h = check(&fixture("tiny_raster.pmtiles")).unwrap();
        assert_eq!(h, Header { min_zoom: 0, max_zoom: 2, tile_type: 2 });
    }

    /// The input the `pmtiles` fuzz target found: a root directory 266 GB long, which made
    /// the `pmtiles` crate panic on opening it.
    #[test]
    fn a_root_directory_past_the_end_is_refused() {
        let e = check(&fixture("fuzz_pmtiles_root_past_end.pmtiles")).unwrap_err().to_string();
        assert!(e.contains("fuzz_pmtiles_root_past_end.pmtiles: damaged: its header puts the root directory"), "{e}");
    }

    /// The second input the fuzz target found: a root directory claiming more entries than
    /// it has bytes, which the `pmtiles` crate allocates before reading them.
    #[test]
    fn a_directory_claiming_too_many_entries_is_refused() {
        let e = check(&fixture("fuzz_pmtiles_too_many_entries.pmtiles")).unwrap_err().to_string();
        assert!(e.contains("fuzz_pmtiles_too_many_entries.pmtiles: damaged: the directory at byte"), "{e}");
    }

    /// Every way a header can lie about its sections or zooms, on a copy of the valid file,
    /// and a file cut short, or not PMTiles at all.
    #[test]
    fn lying_headers_and_other_files_are_refused() {
        let good = std::fs::read(fixture("tiny_raster.pmtiles")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let patched = |at: usize, v: u64| {
            let mut b = good.clone();
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            b
        };
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("root_offset_in_header", patched(8, 3), "root directory"),
            ("root_offset_huge", patched(8, u64::MAX - 2), "root directory"),
            ("metadata_past_end", patched(32, good.len() as u64), "metadata"),
            ("leaves_past_end", patched(40, 1 << 40), "leaf directories"),
            ("data_past_end", patched(64, 10_000), "tile data"),
            (
                "zooms_reversed",
                {
                    let mut b = good.clone();
                    b[100] = 5;
                    b[101] = 2;
                    b
                },
                "zooms run from 5 to 2",
            ),
            (
                "version_2",
                {
                    let mut b = good.clone();
                    b[7] = 2;
                    b
                },
                "version 2",
            ),
            ("short", good[..100].to_vec(), "shorter than its 127-byte header"),
            ("sqlite", b"SQLite format 3\0".repeat(20), "does not start with"),
        ];
        for (name, bytes, want) in cases {
            let e = check(&write(name, &bytes)).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains(want), "{name}: {e}");
        }
    }
}
