//! `needmap tiles`: the command line of the offline tile download.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::download::{DownloadConfig, checked_plan, download, part_path};
use crate::progress::Progress;

#[derive(Args, Debug, Clone)]
pub struct TilesArgs {
    /// A run folder (its zones) or a survey file (its households).
    pub source: PathBuf,
    /// Tile URL template with {z}, {x}, {y} (and optionally {s}, {r}, {key}). Not
    /// tile.openstreetmap.org: its usage policy forbids bulk downloads.
    #[arg(long, value_name = "TEMPLATE")]
    pub url: String,
    /// The API key put in the template's {key} (kept out of the file and of messages).
    #[arg(long, value_name = "KEY", default_value = "")]
    pub key: String,
    /// Zoom levels, e.g. 12-17 (both included) or 15.
    #[arg(long, value_name = "Z1-Z2", default_value = "12-17", value_parser = parse_zooms)]
    pub zoom: (u8, u8),
    /// Margin around the zones or households, in metres.
    #[arg(long, value_name = "METRES", default_value_t = 500.0)]
    pub margin_m: f64,
    /// Refuse to download more tiles than this.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub max_tiles: u64,
    /// At most this many requests per second.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 4.0)]
    pub rate: f64,
    /// Attribution of the tiles (stored in the file; shown by the app and on printed maps).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub attribution: String,
    /// The MBTiles file to write.
    #[arg(long, value_name = "AREA.mbtiles")]
    pub out: PathBuf,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `12-17` → (12, 17); `15` → (15, 15).
pub fn parse_zooms(s: &str) -> Result<(u8, u8), String> {
    let num = |t: &str| {
        t.trim().parse::<u8>().ok().filter(|z| *z <= 22).ok_or_else(|| format!("{t:?} is not a zoom level 0-22"))
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(s)?, num(s)?),
    };
    if a > b {
        return Err(format!("{s:?}: the first zoom must not be above the last"));
    }
    Ok((a, b))
}

pub fn tiles_command(a: &TilesArgs, progress: &Progress) -> anyhow::Result<()> {
    let cfg = DownloadConfig {
        url: a.url.clone(),
        key: a.key.clone(),
        zooms: a.zoom,
        margin_m: a.margin_m,
        max_tiles: a.max_tiles,
        rate_per_s: a.rate,
        attribution: a.attribution.clone(),
        out: a.out.clone(),
        force: a.force,
        ..Default::default()
    };
    if !(a.margin_m.is_finite() && a.margin_m >= 0.0) {
        anyhow::bail!("--margin-m {}: must be 0 or more", a.margin_m);
    }
    if !(a.rate.is_finite() && a.rate > 0.0) {
        anyhow::bail!("--rate {}: must be above 0", a.rate);
    }
    // Refusals first: nothing is read, counted or sent for a URL we will not use.
    super::download::check_url(&cfg.url)?;
    if cfg.out.exists() && !cfg.force {
        anyhow::bail!("{}: already exists; choose another output or pass --force to replace it", cfg.out.display());
    }
    let (boxes, what) = super::area::area_of(&a.source, progress)?;
    let plan = checked_plan(&cfg, &boxes)?;
    let total: usize = plan.iter().map(|(_, t)| t.len()).sum();
    let per_zoom: Vec<String> = plan.iter().map(|(z, t)| format!("z{z} {}", t.len())).collect();
    eprintln!(
        "needmap: {total} tiles for {what} with a {} m margin ({}); at most {} per second, about {}",
        a.margin_m,
        per_zoom.join(", "),
        a.rate,
        duration(total as f64 / a.rate)
    );
    let part = part_path(&cfg.out);
    if part.exists() {
        eprintln!("needmap: resuming from {}", part.display());
    }
    // A progress line on stderr, refreshed twice a second.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (p, done) = (progress.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let (_, n, total) = p.snapshot();
                if total > 0 {
                    eprint!("\rneedmap: tiles {n}/{total} ({:.0} %)   ", 100.0 * n as f64 / total as f64);
                    let _ = std::io::stderr().flush();
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let result = download(&cfg, &boxes, progress);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = ticker.join();
    eprintln!();
    let s = result?;
    eprintln!(
        "needmap: {} tiles fetched, {} reused from an earlier try, {} missing on the server → {}",
        s.fetched,
        s.reused,
        s.missing.len(),
        cfg.out.display()
    );
    for (z, x, y) in s.missing.iter().take(5) {
        eprintln!("needmap: missing: {z}/{x}/{y}");
    }
    Ok(())
}

fn duration(secs: f64) -> String {
    if secs < 90.0 { format!("{secs:.0} s") } else { format!("{:.0} min", secs / 60.0) }
}
