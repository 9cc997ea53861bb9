//! Where map tiles come from: OpenStreetMap over HTTP (cached on disk, identifying
//! User-Agent), a PMTiles file, a local `z/x/y.png` folder, or none (the embedded basemap
//! only). The embedded basemap is always drawn underneath, so missing tiles show land and
//! borders rather than a grey void.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use egui::{Context, Rect, pos2};
use walkers::sources::{Attribution, OpenStreetMap};
use walkers::{HttpOptions, HttpTiles, PmTiles, Style, Tile, TileId, TilePiece, Tiles};

/// What the user chose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum TileSetting {
    /// OpenStreetMap when online, the embedded basemap otherwise.
    #[default]
    OpenStreetMap,
    PmTiles(PathBuf),
    Folder(PathBuf),
    /// Only the embedded basemap (no network at all).
    Basemap,
}

pub enum TileSource {
    Osm(HttpTiles),
    PmTiles(PmTiles),
    Folder(FolderTiles),
    None,
}

impl TileSource {
    pub fn new(setting: &TileSetting, ctx: &Context) -> Self {
        match setting {
            TileSetting::OpenStreetMap => {
                let options = HttpOptions {
                    cache: cache_dir(),
                    user_agent: walkers::HeaderValue::from_str(&format!(
                        "needmap/{} (critical-need zones desktop app)",
                        env!("CARGO_PKG_VERSION")
                    ))
                    .ok(),
                    ..Default::default()
                };
                TileSource::Osm(HttpTiles::with_options(OpenStreetMap, options, ctx.clone()))
            }
            TileSetting::PmTiles(p) => TileSource::PmTiles(PmTiles::new(p, ctx.clone())),
            TileSetting::Folder(p) => TileSource::Folder(FolderTiles::new(p.clone(), ctx.clone())),
            TileSetting::Basemap => TileSource::None,
        }
    }

    pub fn tiles(&mut self) -> Option<&mut dyn Tiles> {
        match self {
            TileSource::Osm(t) => Some(t),
            TileSource::PmTiles(t) => Some(t),
            TileSource::Folder(t) => Some(t),
            TileSource::None => None,
        }
    }

    pub fn attribution(&self) -> Option<String> {
        match self {
            TileSource::Osm(t) => Some(format!("© {}", t.attribution().text)),
            TileSource::PmTiles(t) => Some(t.attribution().text.to_string()),
            TileSource::Folder(t) => Some(t.attribution().text.to_string()),
            TileSource::None => None,
        }
    }
}

/// `$XDG_CACHE_HOME/needmap/tiles` (or `~/.cache/...`, `%LOCALAPPDATA%\...`).
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("needmap").join("tiles"))
}

/// Whether the tile server answered: unknown, online, offline.
#[derive(Clone, Default)]
pub struct Connectivity(Arc<AtomicU8>);

impl Connectivity {
    pub const UNKNOWN: u8 = 0;
    pub const ONLINE: u8 = 1;
    pub const OFFLINE: u8 = 2;

    /// Probes `tile.openstreetmap.org:443` on a thread (3 s timeout); `repaint` when known.
    pub fn probe(repaint: impl Fn() + Send + 'static) -> Self {
        let c = Connectivity::default();
        let state = c.0.clone();
        std::thread::spawn(move || {
            use std::net::ToSocketAddrs as _;
            let ok =
                ("tile.openstreetmap.org", 443).to_socket_addrs().ok().and_then(|mut a| a.next()).is_some_and(|addr| {
                    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)).is_ok()
                });
            state.store(if ok { Self::ONLINE } else { Self::OFFLINE }, Ordering::Relaxed);
            repaint();
        });
        c
    }

    pub fn offline() -> Self {
        Connectivity(Arc::new(AtomicU8::new(Self::OFFLINE)))
    }

    pub fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Tiles from a folder laid out as `z/x/y.png` (or `.jpg`, `.jpeg`, `.webp` if decodable), as
/// written by most tile downloaders. Read on demand and kept in memory.
pub struct FolderTiles {
    dir: PathBuf,
    ctx: Context,
    cache: HashMap<TileId, Option<Tile>>,
    max_zoom: u8,
}

impl FolderTiles {
    pub fn new(dir: PathBuf, ctx: Context) -> Self {
        let max_zoom = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u8>().ok()).max().unwrap_or(19))
            .unwrap_or(19);
        Self { dir, ctx, cache: HashMap::new(), max_zoom }
    }

    fn load(&self, id: TileId) -> Option<Tile> {
        for ext in ["png", "jpg", "jpeg"] {
            let p = self.dir.join(id.zoom.to_string()).join(id.x.to_string()).join(format!("{}.{ext}", id.y));
            if let Ok(bytes) = std::fs::read(&p) {
                return Tile::new(&bytes, &Style, id.zoom, 256, &self.ctx).ok();
            }
        }
        None
    }
}

impl Tiles for FolderTiles {
    fn at(&mut self, tile_id: TileId) -> Option<TilePiece> {
        // Past the folder's deepest level, stretch the parent tile's quarter.
        let (mut id, mut uv) = (tile_id, Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)));
        while id.zoom > self.max_zoom {
            let (qx, qy) = ((id.x % 2) as f32, (id.y % 2) as f32);
            uv = Rect::from_min_max(
                pos2((qx + uv.min.x) / 2.0, (qy + uv.min.y) / 2.0),
                pos2((qx + uv.max.x) / 2.0, (qy + uv.max.y) / 2.0),
            );
            id = TileId { x: id.x / 2, y: id.y / 2, zoom: id.zoom - 1 };
        }
        if !self.cache.contains_key(&id) {
            let t = self.load(id);
            self.cache.insert(id, t);
        }
        self.cache[&id].clone().map(|t| TilePiece::new(t, uv))
    }

    fn attribution(&self) -> Attribution {
        Attribution { text: "Local tiles", url: "", logo_light: None, logo_dark: None }
    }

    fn tile_size(&self) -> u32 {
        256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 256×256 PNG of one colour.
    fn png(rgb: [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(256, 256, image::Rgb(rgb));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_tile_folder_serves_its_tiles_and_stretches_the_deepest_level() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("3").join("2");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("5.png"), png([200, 10, 10])).unwrap();
        let ctx = egui::Context::default();
        let mut tiles = FolderTiles::new(dir.path().to_path_buf(), ctx);
        assert_eq!(tiles.max_zoom, 3);
        let piece = tiles.at(TileId { x: 2, y: 5, zoom: 3 }).expect("the tile on disk");
        assert_eq!(piece.uv, Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)));
        assert!(tiles.at(TileId { x: 3, y: 5, zoom: 3 }).is_none(), "a tile not on disk");
        // Zoom 4, the south-east quarter of (2, 5): x = 5, y = 11.
        let child = tiles.at(TileId { x: 5, y: 11, zoom: 4 }).expect("stretched from the parent");
        assert_eq!(child.uv, Rect::from_min_max(pos2(0.5, 0.5), pos2(1.0, 1.0)));
    }
}
