//! The `needmap map` and `needmap atlas` subcommands: read a run folder, lay out the pages,
//! draw them to PNG or PDF, and write the file atomically (nothing is left on failure).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use super::layout::{self, Setup};
use super::tiles::TileSource;
use super::{Paper, pdf, raster};
use crate::export::atomic;
use crate::i18n::{Lang, Strings};
use crate::rundir::read_run;

/// PNG resolution: 200 dots per inch (an A4 portrait page is 1654 px wide).
pub const PNG_DPI: f32 = 200.0;

/// Flags of `needmap map`.
#[derive(Args, Debug, Clone)]
pub struct MapArgs {
    /// The output folder of `needmap run`.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// The map to write: .png (200 dpi) or .pdf (vector).
    #[arg(long, value_name = "map.png|map.pdf")]
    pub out: PathBuf,
    /// Paper size.
    #[arg(long, value_enum, default_value_t = Paper::A4)]
    pub page: Paper,
    /// Landscape instead of portrait.
    #[arg(long)]
    pub landscape: bool,
    /// Title printed on the map [default: "Critical-need zones" in the chosen language].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    #[command(flatten)]
    pub common: PrintArgs,
}

/// Flags of `needmap atlas`.
#[derive(Args, Debug, Clone)]
pub struct AtlasArgs {
    /// The output folder of `needmap run`.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// The atlas to write (.pdf, A4 portrait).
    #[arg(long, value_name = "atlas.pdf")]
    pub out: PathBuf,
    /// One page per zone for the top N zones only [default: every zone].
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Title in the footer and on the first page [default: "Field atlas…" in the chosen language].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    #[command(flatten)]
    pub common: PrintArgs,
}

/// Flags `map` and `atlas` share.
#[derive(Args, Debug, Clone)]
pub struct PrintArgs {
    /// Language of the labels.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Raster tiles under the map: a z/x/y folder of PNG/JPEG tiles or an .mbtiles file
    /// [default: the embedded Natural Earth basemap].
    #[arg(long, value_name = "PATH")]
    pub tiles: Option<PathBuf>,
    /// Attribution of the tiles [default: the MBTiles metadata's, or the folder's attribution.txt].
    #[arg(long, value_name = "TEXT", requires = "tiles")]
    pub attribution: Option<String>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Pdf,
}

fn format_of(out: &Path, allowed: &[Format]) -> anyhow::Result<Format> {
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let f = match ext.as_deref() {
        Some("png") => Some(Format::Png),
        Some("pdf") => Some(Format::Pdf),
        _ => None,
    };
    match f {
        Some(f) if allowed.contains(&f) => Ok(f),
        _ => {
            let names: Vec<&str> = allowed.iter().map(|f| if *f == Format::Png { ".png" } else { ".pdf" }).collect();
            bail!("{}: unknown output type; name the file with {}", out.display(), names.join(" or "))
        }
    }
}

/// Refuses, before any work, an output that exists (without --force) or whose folder does not.
fn check_out(out: &Path, force: bool) -> anyhow::Result<()> {
    atomic::check_target(out, None, force)?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        bail!("{}: cannot write there: the folder {} does not exist", out.display(), parent.display());
    }
    Ok(())
}

fn open_tiles(p: &PrintArgs) -> anyhow::Result<(Option<TileSource>, String)> {
    match &p.tiles {
        None => Ok((None, crate::basemap::ATTRIBUTION.to_string())),
        Some(path) => {
            let src = TileSource::open(path)?;
            let attribution = p.attribution.clone().unwrap_or_else(|| src.attribution());
            Ok((Some(src), attribution))
        }
    }
}

fn write(out: &Path, force: bool, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    atomic::write_file(out, None, force, |w| w.write_all(bytes))
        .with_context(|| format!("{}: could not write the output; check the folder is writable", out.display()))
}

/// `needmap map RUN_DIR --out map.png|map.pdf`.
pub fn map_command(a: &MapArgs) -> anyhow::Result<()> {
    let format = format_of(&a.out, &[Format::Png, Format::Pdf])?;
    check_out(&a.out, a.common.force)?;
    let run = read_run(&a.run_dir)?;
    let (tiles, attribution) = open_tiles(&a.common)?;
    let strings = Strings::new(a.common.lang);
    let title = a.title.clone().unwrap_or_else(|| strings.t("print.map_title").to_string());
    let px_per_pt = PNG_DPI / 72.0;
    let setup = Setup { strings, title: title.clone(), tiles: tiles.as_ref(), attribution, px_per_pt };
    let (page, view) = layout::map_page(&run, a.page.size_pt(a.landscape), &setup);
    let (bytes, what) = match format {
        Format::Png => {
            let pixmap = raster::render(&page, px_per_pt).context("the page is too large to draw")?;
            let what = format!("{}×{} px", pixmap.width(), pixmap.height());
            (encode_png(&pixmap, &georeference(&view, px_per_pt)).context("PNG encoding failed")?, what)
        }
        Format::Pdf => {
            (pdf::document(std::slice::from_ref(&page), &title).map_err(anyhow::Error::msg)?, "1 page".into())
        }
    };
    write(&a.out, a.common.force, &bytes)?;
    eprintln!(
        "needmap: map of {} zones, {} households ({what}) → {}",
        run.zones.len(),
        run.households.len(),
        a.out.display()
    );
    Ok(())
}

/// `needmap atlas RUN_DIR --out atlas.pdf [--top N]`.
pub fn atlas_command(a: &AtlasArgs) -> anyhow::Result<()> {
    format_of(&a.out, &[Format::Pdf])?;
    check_out(&a.out, a.common.force)?;
    let run = read_run(&a.run_dir)?;
    let (tiles, attribution) = open_tiles(&a.common)?;
    let strings = Strings::new(a.common.lang);
    let title = a.title.clone().unwrap_or_else(|| strings.t("print.atlas_title").to_string());
    let setup = Setup { strings, title: title.clone(), tiles: tiles.as_ref(), attribution, px_per_pt: PNG_DPI / 72.0 };
    let zones: Vec<usize> = (0..run.zones.len()).take(a.top.unwrap_or(usize::MAX)).collect();
    let pages = layout::atlas_pages(&run, &zones, &setup, |done, total| {
        eprintln!("needmap: atlas: laid out {done} of {total} pages");
    });
    let bytes = pdf::document(&pages, &title).map_err(anyhow::Error::msg)?;
    write(&a.out, a.common.force, &bytes)?;
    eprintln!("needmap: atlas of {} zone pages, {} pages in all → {}", zones.len(), pages.len(), a.out.display());
    Ok(())
}

/// Where the map frame is in the PNG and what it shows, as a PNG text chunk
/// `needmap:frame`: `frame_px=X,Y,W,H merc=X0,Y0,X1,Y1` (pixels; normalised Web Mercator,
/// x east, y south), so a reader can place points on the image.
pub fn georeference(view: &super::render::MapView, px_per_pt: f32) -> String {
    let f = view.frame.map(|v| v * px_per_pt);
    let b = view.bounds();
    format!("frame_px={},{},{},{} merc={},{},{},{}", f[0], f[1], f[2], f[3], b[0], b[1], b[2], b[3])
}

/// The pixmap (opaque: drawn on white) as PNG with its resolution and georeference.
fn encode_png(pixmap: &tiny_skia::Pixmap, georef: &str) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let ppm = (PNG_DPI / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        enc.add_text_chunk("needmap:frame".to_string(), georef.to_string())?;
        let mut w = enc.write_header()?;
        w.write_image_data(pixmap.data())?;
    }
    Ok(out)
}
