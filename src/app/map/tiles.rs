//! Where map tiles come from: OpenStreetMap or a custom XYZ server over HTTP (cached on disk,
//! identifying User-Agent), a PMTiles or MBTiles file, a local `z/x/y.png` folder, or none (the
//! embedded basemap only). The embedded basemap is always drawn underneath, so missing tiles show land and
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
    /// An XYZ server of the user's (their own, or a provider's with a key).
    Custom(CustomServer),
    PmTiles(PathBuf),
    /// An MBTiles file (e.g. from `needmap tiles` or "Download this area").
    MbTiles(PathBuf),
    Folder(PathBuf),
    /// Only the embedded basemap (no network at all).
    Basemap,
}

/// A custom XYZ tile server: a URL template with `{z}`, `{x}`, `{y}` (and optionally `{s}` for
/// the a/b/c subdomains, `{r}` for retina, `{key}` for the API key, kept apart so the template
/// can be shown and shared without it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub struct CustomServer {
    pub url: String,
    pub attribution: String,
    pub key: String,
}

impl CustomServer {
    /// The URL of one tile.
    pub fn tile_url(&self, z: u8, x: u32, y: u32) -> String {
        crate::tiles::expand_template(&self.url, z, x, y, &self.key)
    }

    /// What is wrong with the template, if anything (shown beside the field).
    pub fn problem(&self) -> Option<&'static str> {
        let u = self.url.trim();
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            Some("tiles.custom_bad_scheme")
        } else if !(u.contains("{z}") && u.contains("{x}") && u.contains("{y}")) {
            Some("tiles.custom_missing_xyz")
        } else if (u.contains("{key}") || u.contains("{apikey}")) && self.key.trim().is_empty() {
            Some("tiles.custom_missing_key")
        } else {
            None
        }
    }
}

/// walkers' view of a [`CustomServer`]. Attribution text must be `'static` for walkers: it is
/// leaked once per server chosen (a few bytes per change of setting).
struct CustomSource {
    server: CustomServer,
    attribution: &'static str,
}

impl walkers::sources::TileSource for CustomSource {
    fn tile_url(&self, id: TileId) -> String {
        self.server.tile_url(id.zoom, id.x, id.y)
    }

    fn attribution(&self) -> Attribution {
        Attribution { text: self.attribution, url: "", logo_light: None, logo_dark: None }
    }
}

/// HTTP tiles from a custom server, cached in `cache` (the app's [`cache_dir`]).
fn custom_tiles(server: &CustomServer, cache: Option<PathBuf>, ctx: &Context) -> HttpTiles {
    let text = if server.attribution.trim().is_empty() { "Custom tiles" } else { server.attribution.trim() };
    let source = CustomSource { server: server.clone(), attribution: Box::leak(text.to_string().into_boxed_str()) };
    HttpTiles::with_options(source, http_options(cache), ctx.clone())
}

/// The User-Agent the app sends to tile servers.
pub fn user_agent() -> String {
    format!("needmap/{} (critical-need zones desktop app)", env!("CARGO_PKG_VERSION"))
}

fn http_options(cache: Option<PathBuf>) -> HttpOptions {
    HttpOptions { cache, user_agent: walkers::HeaderValue::from_str(&user_agent()).ok(), ..Default::default() }
}

pub enum TileSource {
    Osm(HttpTiles),
    Custom(HttpTiles),
    PmTiles(PmTiles),
    Local(LocalTiles),
    None,
}

impl TileSource {
    pub fn new(setting: &TileSetting, ctx: &Context) -> Self {
        match setting {
            TileSetting::OpenStreetMap => {
                TileSource::Osm(HttpTiles::with_options(OpenStreetMap, http_options(cache_dir()), ctx.clone()))
            }
            TileSetting::Custom(server) => TileSource::Custom(custom_tiles(server, cache_dir(), ctx)),
            // A file that was fine when chosen may have changed since (see `Command::SetTiles`).
            TileSetting::PmTiles(p) => match crate::tiles::pmtiles::check(p) {
                Ok(_) => TileSource::PmTiles(PmTiles::new(p, ctx.clone())),
                Err(_) => TileSource::None,
            },
            TileSetting::Folder(p) => TileSource::Local(FolderTiles::new(p.clone(), ctx.clone())),
            TileSetting::MbTiles(p) => match crate::tiles::MbTiles::open(p) {
                Ok(file) => TileSource::Local(LocalTiles::from_file(Box::new(file), ctx.clone())),
                Err(_) => TileSource::None,
            },
            TileSetting::Basemap => TileSource::None,
        }
    }

    pub fn tiles(&mut self) -> Option<&mut dyn Tiles> {
        match self {
            TileSource::Osm(t) | TileSource::Custom(t) => Some(t),
            TileSource::PmTiles(t) => Some(t),
            TileSource::Local(t) => Some(t),
            TileSource::None => None,
        }
    }

    pub fn attribution(&self) -> Option<String> {
        match self {
            TileSource::Osm(t) => Some(format!("© {}", t.attribution().text)),
            TileSource::Custom(t) => Some(t.attribution().text.to_string()),
            TileSource::PmTiles(t) => Some(t.attribution().text.to_string()),
            TileSource::Local(t) => Some(t.attribution().text.to_string()),
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

    /// For a tile setting: a probe of its server when it has one, else offline.
    pub fn for_setting(setting: &TileSetting, ctx: &Context) -> Self {
        let c = ctx.clone();
        let repaint = move || c.request_repaint();
        match setting {
            TileSetting::OpenStreetMap => Self::probe("tile.openstreetmap.org".into(), 443, repaint),
            TileSetting::Custom(server) => match host_port(&server.tile_url(0, 0, 0)) {
                Some((host, port)) => Self::probe(host, port, repaint),
                None => Self::offline(),
            },
            _ => Self::offline(),
        }
    }

    /// Probes `host:port` on a thread (3 s timeout); `repaint` when known.
    pub fn probe(host: String, port: u16, repaint: impl Fn() + Send + 'static) -> Self {
        let c = Connectivity::default();
        let state = c.0.clone();
        std::thread::spawn(move || {
            use std::net::ToSocketAddrs as _;
            let ok = (host.as_str(), port).to_socket_addrs().ok().and_then(|mut a| a.next()).is_some_and(|addr| {
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

/// The host and port of an http(s) URL.
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = match authority.strip_prefix('[') {
        // [IPv6]:port
        Some(v6) => {
            let (h, after) = v6.split_once(']')?;
            (h, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if scheme.eq_ignore_ascii_case("https") => 443,
        None => 80,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Where a [`LocalTiles`] reads a tile's bytes: a `z/x/y` folder or an MBTiles file.
pub trait TileFile: Send {
    /// The encoded image (PNG, JPEG) of tile `z/x/y` (XYZ numbering), if there is one.
    fn read(&self, zoom: u8, x: u32, y: u32) -> Option<Vec<u8>>;
    /// The deepest zoom level held; deeper views stretch its tiles.
    fn max_zoom(&self) -> u8;
    /// Asked once, when the source is made.
    fn attribution(&self) -> &'static str;
}

impl TileFile for crate::tiles::MbTiles {
    fn read(&self, zoom: u8, x: u32, y: u32) -> Option<Vec<u8>> {
        self.get(zoom, x, y)
    }

    fn max_zoom(&self) -> u8 {
        crate::tiles::MbTiles::max_zoom(self).unwrap_or(19)
    }

    fn attribution(&self) -> &'static str {
        // Asked once per file opened (walkers wants it 'static).
        let text = self.metadata("attribution").filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "MBTiles".into());
        Box::leak(text.into_boxed_str())
    }
}

/// A folder laid out as `z/x/y.png` (or `.jpg`, `.jpeg`), as most tile downloaders write it.
pub struct TileFolder {
    dir: PathBuf,
    max_zoom: u8,
}

impl TileFolder {
    pub fn new(dir: PathBuf) -> Self {
        let max_zoom = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u8>().ok()).max().unwrap_or(19))
            .unwrap_or(19);
        Self { dir, max_zoom }
    }
}

impl TileFile for TileFolder {
    fn read(&self, zoom: u8, x: u32, y: u32) -> Option<Vec<u8>> {
        ["png", "jpg", "jpeg"].iter().find_map(|ext| {
            std::fs::read(self.dir.join(zoom.to_string()).join(x.to_string()).join(format!("{y}.{ext}"))).ok()
        })
    }

    fn max_zoom(&self) -> u8 {
        self.max_zoom
    }

    fn attribution(&self) -> &'static str {
        "Local tiles"
    }
}

/// Tiles read from a local [`TileFile`] on demand and kept in memory; past the file's
/// deepest level, the parent tile's quarter is stretched.
pub struct LocalTiles {
    file: Box<dyn TileFile>,
    ctx: Context,
    cache: HashMap<TileId, Option<Tile>>,
    /// Asked of the file once (walkers asks every frame).
    attribution: &'static str,
}

/// The folder source (kept under its old name for the tests and callers).
pub type FolderTiles = LocalTiles;

impl LocalTiles {
    pub fn new(dir: PathBuf, ctx: Context) -> Self {
        Self::from_file(Box::new(TileFolder::new(dir)), ctx)
    }

    pub fn from_file(file: Box<dyn TileFile>, ctx: Context) -> Self {
        let attribution = file.attribution();
        Self { file, ctx, cache: HashMap::new(), attribution }
    }

    fn load(&self, id: TileId) -> Option<Tile> {
        let bytes = self.file.read(id.zoom, id.x, id.y)?;
        Tile::new(&bytes, &Style, id.zoom, 256, &self.ctx).ok()
    }
}

impl Tiles for LocalTiles {
    fn at(&mut self, tile_id: TileId) -> Option<TilePiece> {
        // Past the file's deepest level, stretch the parent tile's quarter.
        let (mut id, mut uv) = (tile_id, Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)));
        while id.zoom > self.file.max_zoom() {
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
        Attribution { text: self.attribution, url: "", logo_light: None, logo_dark: None }
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

    /// A stand-in tile server on 127.0.0.1: answers every GET with a PNG (cacheable for a
    /// day) and records each request's path and User-Agent.
    type Requests = Arc<std::sync::Mutex<Vec<(String, String)>>>;

    fn tile_server() -> (String, Requests) {
        use std::io::{BufRead as _, BufReader, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let body = png([20, 140, 60]);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut path, mut agent) = (String::new(), String::new());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(p) = l.strip_prefix("GET ") {
                        path = p.split(' ').next().unwrap_or("").to_string();
                    } else if let Some((k, v)) = l.split_once(':')
                        && k.eq_ignore_ascii_case("user-agent")
                    {
                        agent = v.trim().to_string();
                    }
                    line.clear();
                }
                log.lock().unwrap().push((path, agent));
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nCache-Control: public, max-age=86400\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
            }
        });
        (format!("http://{addr}"), seen)
    }

    /// Asks `tiles` for `id` until it arrives (fetched on walkers' own thread).
    fn wait_for(tiles: &mut HttpTiles, id: TileId) -> Option<TilePiece> {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(30) {
            if let Some(p) = tiles.at(id) {
                return Some(p);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    #[test]
    fn a_custom_server_is_fetched_with_our_user_agent_and_cached_on_disk() {
        let (base, seen) = tile_server();
        let cache = tempfile::tempdir().unwrap();
        let server = CustomServer {
            url: format!("{base}/{{z}}/{{x}}/{{y}}.png?k={{key}}"),
            attribution: "Test".into(),
            key: "abc".into(),
        };
        let ctx = egui::Context::default();
        let id = TileId { x: 2, y: 5, zoom: 3 };
        let mut tiles = custom_tiles(&server, Some(cache.path().to_path_buf()), &ctx);
        assert!(wait_for(&mut tiles, id).is_some(), "the tile never arrived");
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 1, "{seen:?}");
            assert_eq!(seen[0].0, "/3/2/5.png?k=abc");
            assert_eq!(seen[0].1, user_agent());
        }
        let files = walk(cache.path());
        assert!(!files.is_empty(), "nothing written to the tile cache");
        // A new source (the app restarted) gets the tile from the disk cache: no request.
        drop(tiles);
        let mut again = custom_tiles(&server, Some(cache.path().to_path_buf()), &egui::Context::default());
        assert!(wait_for(&mut again, id).is_some(), "the cached tile never arrived");
        assert_eq!(seen.lock().unwrap().len(), 1, "the cached tile was fetched again");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
        out
    }

    #[test]
    fn an_mbtiles_file_serves_its_tiles_with_its_attribution() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("area.mbtiles");
        let m = crate::tiles::MbTiles::create(&path).unwrap();
        m.put(3, 2, 5, &png([10, 200, 10])).unwrap();
        m.set_metadata(&[("attribution", "© Test MBTiles".into())]).unwrap();
        drop(m);
        let file = crate::tiles::MbTiles::open(&path).unwrap();
        let mut tiles = LocalTiles::from_file(Box::new(file), egui::Context::default());
        assert!(tiles.at(TileId { x: 2, y: 5, zoom: 3 }).is_some());
        assert!(tiles.at(TileId { x: 2, y: 4, zoom: 3 }).is_none());
        assert!(tiles.at(TileId { x: 5, y: 11, zoom: 4 }).is_some(), "stretched from zoom 3");
        assert_eq!(tiles.attribution().text, "© Test MBTiles");
    }

    #[test]
    fn custom_server_templates_expand_and_name_their_host() {
        let server = CustomServer {
            url: "https://{s}.tiles.example.org:8443/v1/{z}/{x}/{y}{r}.png?key={key}".into(),
            attribution: "© Example".into(),
            key: "K1".into(),
        };
        assert_eq!(server.problem(), None);
        // {s} is a/b/c by (x + y) mod 3: 3357 mod 3 = 0 → a; 2 mod 3 = 2 → c.
        assert_eq!(server.tile_url(12, 1171, 2186), "https://a.tiles.example.org:8443/v1/12/1171/2186.png?key=K1");
        assert_eq!(server.tile_url(3, 1, 1), "https://c.tiles.example.org:8443/v1/3/1/1.png?key=K1");
        assert_eq!(host_port(&server.tile_url(0, 0, 0)), Some(("a.tiles.example.org".into(), 8443)));
        assert_eq!(host_port("http://127.0.0.1/{z}"), Some(("127.0.0.1".into(), 80)));
        let mut no_key = server.clone();
        no_key.key.clear();
        assert_eq!(no_key.problem(), Some("tiles.custom_missing_key"));
        let no_y = CustomServer { url: "https://t.example.org/{z}/{x}.png".into(), ..Default::default() };
        assert_eq!(no_y.problem(), Some("tiles.custom_missing_xyz"));
        let ftp = CustomServer { url: "ftp://t.example.org/{z}/{x}/{y}".into(), ..Default::default() };
        assert_eq!(ftp.problem(), Some("tiles.custom_bad_scheme"));
    }

    #[test]
    fn a_tile_folder_serves_its_tiles_and_stretches_the_deepest_level() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("3").join("2");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("5.png"), png([200, 10, 10])).unwrap();
        let ctx = egui::Context::default();
        let mut tiles = FolderTiles::new(dir.path().to_path_buf(), ctx);
        assert_eq!(tiles.file.max_zoom(), 3);
        let piece = tiles.at(TileId { x: 2, y: 5, zoom: 3 }).expect("the tile on disk");
        assert_eq!(piece.uv, Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)));
        assert!(tiles.at(TileId { x: 3, y: 5, zoom: 3 }).is_none(), "a tile not on disk");
        // Zoom 4, the south-east quarter of (2, 5): x = 5, y = 11.
        let child = tiles.at(TileId { x: 5, y: 11, zoom: 4 }).expect("stretched from the parent");
        assert_eq!(child.uv, Rect::from_min_max(pos2(0.5, 0.5), pos2(1.0, 1.0)));
    }
}
