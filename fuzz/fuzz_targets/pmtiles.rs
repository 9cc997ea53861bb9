//! An offline basemap a user picks as a PMTiles file (Map > Tiles > PMTiles), taken the way
//! the app takes it: `needmap::tiles::pmtiles::check` on the header, then, when it passes,
//! read as the map reads it (walkers opens it with the `pmtiles` crate for every tile it
//! needs: header, directories, the tile, decompressed). An error, never a panic, whatever
//! the bytes. (The first run found the crate panicking on a header that puts the root
//! directory past the end of the file: what `check` now refuses.)
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use pmtiles::{AsyncPmTilesReader, TileCoord};

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new().suffix(".pmtiles").tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    if needmap::tiles::pmtiles::check(f.path()).is_err() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let Ok(reader) = AsyncPmTilesReader::new_with_path(f.path()).await else { return };
        let _ = reader.get_metadata().await;
        let h = reader.get_header();
        let zooms = [0, 1, 2, h.min_zoom, h.max_zoom, h.center_zoom];
        for z in zooms {
            let side = 1u32.checked_shl(u32::from(z.min(31))).unwrap_or(1);
            for (x, y) in [(0, 0), (side - 1, side - 1), (side / 2, side / 3)] {
                if let Ok(c) = TileCoord::new(z, x, y) {
                    let _ = reader.get_tile_decompressed(c).await;
                }
            }
        }
    });
});
