//! The tile download: refuses servers whose policy forbids it, counts before fetching,
//! fetches politely (a rate limit, an identifying User-Agent, retries with backoff), writes
//! into `OUT.part` and renames it to `OUT` when complete, so an interrupted or failed run is
//! resumed by running it again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::mbtiles::{MbTiles, MbTilesError, sniff_format};
use super::{LonLatBox, bounds, expand_template, url_host};
use crate::progress::{Cancelled, Progress};

/// What to download.
#[derive(Debug, Clone)]
pub struct DownloadConfig {
    /// URL template (`{z}`, `{x}`, `{y}`, optionally `{s}`, `{r}`, `{key}`).
    pub url: String,
    /// The API key for `{key}` (kept out of the template and out of the file).
    pub key: String,
    /// First and last zoom level, both included.
    pub zooms: (u8, u8),
    pub margin_m: f64,
    /// Refuse above this many tiles.
    pub max_tiles: u64,
    /// Requests per second at most.
    pub rate_per_s: f64,
    pub attribution: String,
    pub out: PathBuf,
    /// Replace `out` if it exists.
    pub force: bool,
    /// Tries per tile on a server error or a dropped connection.
    pub tries: u32,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            key: String::new(),
            zooms: (12, 17),
            margin_m: 500.0,
            max_tiles: 20_000,
            rate_per_s: 4.0,
            attribution: String::new(),
            out: PathBuf::new(),
            force: false,
            tries: 3,
        }
    }
}

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub total: u64,
    /// Fetched in this run.
    pub fetched: u64,
    /// Already in `OUT.part` from an earlier, interrupted run.
    pub reused: u64,
    /// Tiles the server does not have (404): `z/x/y`.
    pub missing: Vec<(u8, u32, u32)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TilesError {
    #[error(
        "{host}: the OpenStreetMap Foundation's tile usage policy forbids bulk downloading from its servers \
         (https://operations.osmfoundation.org/policies/tiles/); no request was sent. Point --url at a server \
         that allows offline use: your own, or a provider's with your key in the template"
    )]
    Refused { host: String },
    #[error("tile URL template {0:?}: {1}")]
    BadUrl(String, &'static str),
    #[error(
        "{count} tiles at zoom {from}-{to} with a {margin} m margin is over the limit of {max}; use fewer zoom levels \
         (e.g. --zoom {from}-{lower}), a smaller --margin-m, or raise --max-tiles"
    )]
    TooMany { count: u64, max: u64, from: u8, to: u8, lower: u8, margin: f64 },
    #[error("{0}: already exists; choose another output or pass --force to replace it")]
    Exists(PathBuf),
    #[error("there is no area: no zones and no households")]
    NoArea,
    #[error(
        "{url}: the server answered {status} ({reason}); check the URL template and the API key. {kept} tiles fetched \
         so far are kept in {part} for the next try"
    )]
    Denied { url: String, status: u16, reason: String, kept: u64, part: PathBuf },
    #[error(
        "{url}: {problem} after {tries} tries; the server may be down or limiting us. {kept} tiles are kept in {part}: \
         run the same command again to resume"
    )]
    Failed { url: String, problem: String, tries: u32, kept: u64, part: PathBuf },
    #[error("the server had none of the {0} tiles (every one answered 404); check the URL template")]
    NoneFound(u64),
    #[error(transparent)]
    File(#[from] MbTilesError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cancelled; the tiles fetched so far are kept in {0} for the next try")]
    Cancelled(PathBuf),
}

/// Hosts whose tile policy forbids bulk and offline downloading.
const FORBIDDEN: &[&str] =
    &["tile.openstreetmap.org", "tile.osm.org", "tile.openstreetmap.de", "tile.openstreetmap.fr"];

/// Checks a URL template before anything is sent: http(s), `{z}/{x}/{y}`, not OSM's servers.
pub fn check_url(url: &str) -> Result<(), TilesError> {
    let bad = |why| Err(TilesError::BadUrl(url.to_string(), why));
    let lower = url.trim().to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return bad("must start with http:// or https://");
    }
    if !(url.contains("{z}") && url.contains("{x}") && url.contains("{y}")) {
        return bad("must hold {z}, {x} and {y}");
    }
    let host = url_host(&expand_template(url, 0, 0, 0, "")).unwrap_or_default();
    if FORBIDDEN.iter().any(|f| host == *f || host.ends_with(&format!(".{f}"))) {
        return Err(TilesError::Refused { host });
    }
    Ok(())
}

/// The temporary file a download writes into: `OUT.part`.
pub fn part_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    out.with_file_name(name)
}

/// The tile plan, refused above the limit: `(zoom, tiles)` per level.
pub fn checked_plan(cfg: &DownloadConfig, boxes: &[LonLatBox]) -> Result<super::Plan, TilesError> {
    if boxes.is_empty() {
        return Err(TilesError::NoArea);
    }
    let plan = super::plan(boxes, cfg.margin_m, cfg.zooms);
    let count: u64 = plan.iter().map(|(_, t)| t.len() as u64).sum();
    if count > cfg.max_tiles {
        // The deepest level that stays under the limit, to suggest.
        let mut sum = 0;
        let mut lower = cfg.zooms.0;
        for (z, t) in &plan {
            sum += t.len() as u64;
            if sum > cfg.max_tiles {
                break;
            }
            lower = *z;
        }
        return Err(TilesError::TooMany {
            count,
            max: cfg.max_tiles,
            from: cfg.zooms.0,
            to: cfg.zooms.1,
            lower,
            margin: cfg.margin_m,
        });
    }
    Ok(plan)
}

enum Outcome {
    Tile(Vec<u8>),
    Missing,
}

/// Downloads the tiles of `boxes` into `cfg.out`. See the module docs.
pub fn download(cfg: &DownloadConfig, boxes: &[LonLatBox], progress: &Progress) -> Result<Summary, TilesError> {
    check_url(&cfg.url)?;
    if cfg.out.exists() && !cfg.force {
        return Err(TilesError::Exists(cfg.out.clone()));
    }
    let plan = checked_plan(cfg, boxes)?;
    let total: u64 = plan.iter().map(|(_, t)| t.len() as u64).sum();
    let part = part_path(&cfg.out);
    if let Some(dir) = cfg.out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(TilesError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    let file = MbTiles::create(&part)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .user_agent(crate::tiles::download::user_agent())
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let gap = Duration::from_secs_f64(1.0 / cfg.rate_per_s.max(0.01));
    let mut last_request: Option<Instant> = None;
    let mut summary = Summary { total, ..Default::default() };
    let mut format = file.metadata("format");
    progress.stage("tiles", total);
    let mut done = 0;
    for (z, tiles) in &plan {
        for &(x, y) in tiles {
            if progress.check().is_err() {
                return Err(TilesError::Cancelled(part));
            }
            done += 1;
            if file.has(*z, x, y) {
                summary.reused += 1;
                progress.set(done);
                continue;
            }
            let url = expand_template(&cfg.url, *z, x, y, &cfg.key);
            let kept = summary.fetched + summary.reused;
            match fetch(&agent, &url, cfg.tries, gap, &mut last_request, progress) {
                Ok(Outcome::Tile(bytes)) => {
                    if format.is_none() {
                        format = Some(sniff_format(&bytes).to_string());
                    }
                    file.put(*z, x, y, &bytes)?;
                    summary.fetched += 1;
                }
                Ok(Outcome::Missing) => summary.missing.push((*z, x, y)),
                Err(Problem::Cancelled) => return Err(TilesError::Cancelled(part)),
                Err(Problem::Denied(status, reason)) => {
                    return Err(TilesError::Denied { url: redact(&url, &cfg.key), status, reason, kept, part });
                }
                Err(Problem::Failed(problem)) => {
                    return Err(TilesError::Failed {
                        url: redact(&url, &cfg.key),
                        problem,
                        tries: cfg.tries,
                        kept,
                        part,
                    });
                }
            }
            progress.set(done);
        }
    }
    if summary.fetched + summary.reused == 0 {
        drop(file);
        let _ = std::fs::remove_file(&part);
        return Err(TilesError::NoneFound(total));
    }
    let b = bounds(boxes).map(|b| super::grow(b, cfg.margin_m)).unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    let centre_zoom = cfg.zooms.0 + (cfg.zooms.1 - cfg.zooms.0) / 2;
    let attribution =
        if cfg.attribution.trim().is_empty() { redact(&cfg.url, &cfg.key) } else { cfg.attribution.clone() };
    file.set_metadata(&[
        ("name", cfg.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "needmap".into())),
        ("format", format.unwrap_or_else(|| "png".into())),
        ("bounds", format!("{:.6},{:.6},{:.6},{:.6}", b[0], b[1], b[2], b[3])),
        ("center", format!("{:.6},{:.6},{centre_zoom}", (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)),
        ("minzoom", cfg.zooms.0.to_string()),
        ("maxzoom", cfg.zooms.1.to_string()),
        ("attribution", attribution),
        ("type", "baselayer".into()),
        ("version", "1".into()),
        ("description", format!("Offline tiles for a needmap survey area, {} m around it", cfg.margin_m)),
    ])?;
    drop(file);
    if crate::progress::interrupted().is_some() {
        return Err(TilesError::Cancelled(part));
    }
    if cfg.out.exists() {
        std::fs::remove_file(&cfg.out).map_err(|source| TilesError::Io { path: cfg.out.clone(), source })?;
    }
    std::fs::rename(&part, &cfg.out).map_err(|source| TilesError::Io { path: cfg.out.clone(), source })?;
    Ok(summary)
}

/// The User-Agent of needmap's tile requests (the app's walkers tiles send the same).
pub fn user_agent() -> String {
    format!("needmap/{} (critical-need zones; offline tiles)", env!("CARGO_PKG_VERSION"))
}

/// A URL with its API key hidden, for messages.
fn redact(url: &str, key: &str) -> String {
    if key.is_empty() { url.to_string() } else { url.replace(key, "***") }
}

enum Problem {
    Denied(u16, String),
    Failed(String),
    Cancelled,
}

impl From<Cancelled> for Problem {
    fn from(_: Cancelled) -> Self {
        Problem::Cancelled
    }
}

/// One tile, with the rate limit and retries (backoff 0.5 s, 1 s, 2 s…).
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    tries: u32,
    gap: Duration,
    last: &mut Option<Instant>,
    progress: &Progress,
) -> Result<Outcome, Problem> {
    let mut problem = String::new();
    for attempt in 0..tries.max(1) {
        if attempt > 0 {
            wait(Duration::from_millis(500 << (attempt - 1).min(5)), progress)?;
        }
        if let Some(t) = *last {
            wait(gap.saturating_sub(t.elapsed()), progress)?;
        }
        *last = Some(Instant::now());
        match agent.get(url).call() {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                match status {
                    200..=299 => match resp.body_mut().with_config().limit(16 << 20).read_to_vec() {
                        Ok(bytes) if status == 204 || bytes.is_empty() => return Ok(Outcome::Missing),
                        Ok(bytes) => return Ok(Outcome::Tile(bytes)),
                        Err(e) => problem = format!("reading the tile failed: {e}"),
                    },
                    404 | 410 => return Ok(Outcome::Missing),
                    401 | 403 => {
                        let reason = resp.status().canonical_reason().unwrap_or("refused").to_string();
                        return Err(Problem::Denied(status, reason));
                    }
                    400..=499 if status != 408 && status != 429 => {
                        let reason = resp.status().canonical_reason().unwrap_or("client error").to_string();
                        return Err(Problem::Denied(status, reason));
                    }
                    _ => problem = format!("the server answered {status}"),
                }
            }
            Err(e) => problem = format!("no answer ({e})"),
        }
    }
    Err(Problem::Failed(problem))
}

/// Sleeps `d`, a little at a time so a cancel is seen.
fn wait(d: Duration, progress: &Progress) -> Result<(), Cancelled> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        progress.check()?;
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osm_and_malformed_templates_are_refused_before_any_request() {
        for url in [
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
            "http://a.TILE.openstreetmap.org/{z}/{x}/{y}.png",
            "https://tile.osm.org/{z}/{x}/{y}.png",
        ] {
            assert!(matches!(check_url(url), Err(TilesError::Refused { .. })), "{url}");
        }
        assert!(matches!(check_url("ftp://t.example.org/{z}/{x}/{y}"), Err(TilesError::BadUrl(..))));
        assert!(matches!(check_url("https://t.example.org/{z}/{x}.png"), Err(TilesError::BadUrl(..))));
        assert!(check_url("https://tiles.example.org/{z}/{x}/{y}.png?key={key}").is_ok());
        assert!(check_url("https://notopenstreetmap.org/{z}/{x}/{y}.png").is_ok());
        assert_eq!(part_path(Path::new("/x/area.mbtiles")), PathBuf::from("/x/area.mbtiles.part"));
    }
}
