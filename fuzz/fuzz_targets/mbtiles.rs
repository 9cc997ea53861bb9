//! An offline tile file a user picks (`needmap map --tiles`, the app's "MBTiles file"), on
//! arbitrary bytes: opened or refused with a message naming the file, never a panic; what
//! opens is read as the print map reads it (zoom levels, tiles, their images, attribution)
//! and as the app checks it (metadata, zooms, count).
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use needmap::print::raster::decode;
use needmap::print::tiles::TileSource;
use needmap::tiles::MbTiles;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new().suffix(".mbtiles").tempfile().unwrap();
    f.write_all(data).unwrap();
    f.flush().unwrap();
    let path = f.path();
    let named = |msg: String| assert!(msg.contains(&path.display().to_string()), "the message names the file: {msg}");
    match MbTiles::open(path) {
        Ok(m) => {
            for key in ["name", "format", "attribution", "bounds", "minzoom", "maxzoom"] {
                let _ = m.metadata(key);
            }
            let zooms = m.zooms();
            let _ = (m.max_zoom(), m.count());
            for &z in zooms.iter().take(4) {
                let side = 1u32 << z;
                for (x, y) in [(0, 0), (side - 1, side - 1), (side / 2, side / 3)] {
                    let _ = m.has(z, x, y);
                    let _ = m.get(z, x, y);
                }
            }
        }
        Err(e) => named(e.to_string()),
    }
    match TileSource::open(path) {
        Ok(src) => {
            let _ = src.attribution();
            for wanted in [0, 12, 30] {
                let z = src.zoom_for(wanted);
                let side = 1u32 << z.min(24);
                for (x, y) in [(0, 0), (side - 1, 0), (side / 2, side / 2)] {
                    if let Some(image) = src.tile(z, x, y) {
                        let _ = decode(&image);
                    }
                }
            }
        }
        Err(e) => named(e.to_string()),
    }
});
