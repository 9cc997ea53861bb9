//! Printed maps and the PDF atlas, headless, from a run's output folder.
//!
//! Drawing goes through a small scene description ([`Page`] of [`Item`]s: filled and stroked
//! paths, circles, text, images, in page points, y down) that two backends draw: [`raster`]
//! (PNG through tiny-skia) and [`pdf`] (vector PDF through krilla). [`render`] turns a run
//! into map layers on a page; [`layout`] places title, map frame, legend, tables and footers
//! on pages; [`tiles`] reads raster tiles (a z/x/y folder or an MBTiles file); [`cli`] holds
//! the `map` and `atlas` subcommands.
//!
//! Text uses DejaVu Sans (`assets/fonts/`, free licence beside it), measured and rasterised
//! with ab_glyph and embedded (subset) in the PDF.

pub mod cli;
pub mod layout;
pub mod pdf;
pub mod raster;
pub mod render;
pub mod tiles;

use std::sync::{Arc, OnceLock};

use ab_glyph::{Font as _, FontRef, ScaleFont as _};

pub const FONT_REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub const FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The font faces, parsed once.
pub fn face(bold: bool) -> &'static FontRef<'static> {
    static R: OnceLock<FontRef<'static>> = OnceLock::new();
    static B: OnceLock<FontRef<'static>> = OnceLock::new();
    let (cell, bytes) = if bold { (&B, FONT_BOLD) } else { (&R, FONT_REGULAR) };
    // The embedded font is known good: a parse failure is a bug.
    cell.get_or_init(|| FontRef::try_from_slice(bytes).expect("embedded DejaVu Sans parses"))
}

/// Width in points of `text` at `size` points (advances and kerning).
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let font = face(bold).as_scaled(size);
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let g = font.glyph_id(c);
        if let Some(p) = prev {
            w += font.kern(p, g);
        }
        w += font.h_advance(g);
        prev = Some(g);
    }
    w
}

/// `text` cut (with "…") to fit `max_w` points.
pub fn fit_text(text: &str, size: f32, bold: bool, max_w: f32) -> String {
    if text_width(text, size, bold) <= max_w {
        return text.to_string();
    }
    let mut s: String = text.to_string();
    while !s.is_empty() {
        s.pop();
        let t = format!("{s}…");
        if text_width(&t, size, bold) <= max_w {
            return t;
        }
    }
    String::new()
}

/// An sRGB colour with opacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colour {
    pub rgb: [u8; 3],
    pub alpha: f32,
}

impl Colour {
    pub const BLACK: Colour = Colour::rgb([0, 0, 0]);
    pub const WHITE: Colour = Colour::rgb([255, 255, 255]);
    pub const GREY: Colour = Colour::rgb([90, 90, 90]);

    pub const fn rgb(rgb: [u8; 3]) -> Colour {
        Colour { rgb, alpha: 1.0 }
    }

    pub const fn with_alpha(self, alpha: f32) -> Colour {
        Colour { rgb: self.rgb, alpha }
    }
}

/// Encoded raster image data (a tile).
#[derive(Debug, Clone, PartialEq)]
pub enum Encoded {
    Png(Arc<Vec<u8>>),
    Jpeg(Arc<Vec<u8>>),
}

/// The widest and tallest tile image drawn, in pixels (tiles are 256 or 512, 1024 at most).
/// A damaged tile's header can claim any size, and decoding allocates it first: a PNG
/// claiming 50 GB of pixels aborted the print map (found by the `mbtiles` fuzz target).
pub const MAX_TILE_PX: u32 = 4096;

impl Encoded {
    /// PNG or JPEG by its magic bytes, if its header gives a size within [`MAX_TILE_PX`].
    pub fn sniff(bytes: Vec<u8>) -> Option<Encoded> {
        let fits = |(w, h): (u32, u32)| (1..=MAX_TILE_PX).contains(&w) && (1..=MAX_TILE_PX).contains(&h);
        if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
            png_size(&bytes).filter(|&s| fits(s)).map(|_| Encoded::Png(Arc::new(bytes)))
        } else if bytes.starts_with(&[0xff, 0xd8]) {
            jpeg_size(&bytes).filter(|&s| fits(s)).map(|_| Encoded::Jpeg(Arc::new(bytes)))
        } else {
            None
        }
    }
}

/// Width and height from a PNG's IHDR chunk (the first, by the format).
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    let be = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    (b.get(12..16)? == b"IHDR").then_some(())?;
    Some((be(16)?, be(20)?))
}

/// Width and height from a JPEG's frame header (SOF0 to SOF15), walking its segments.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?) as u32);
    let mut i = 2;
    loop {
        while *b.get(i)? != 0xff {
            i += 1;
        }
        while *b.get(i)? == 0xff {
            i += 1;
        }
        let marker = *b.get(i)?;
        i += 1;
        match marker {
            0x01 | 0xd0..=0xd7 => continue,
            // End of image or start of scan before any frame header.
            0xd9 | 0xda => return None,
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => return Some((be16(i + 5)?, be16(i + 3)?)),
            _ => i += be16(i)? as usize,
        }
    }
}

/// One drawing instruction, in page points (y down).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Closed subpaths filled with the non-zero rule (overlaps fill once: no seams).
    Fill {
        subpaths: Vec<Vec<[f32; 2]>>,
        colour: Colour,
    },
    /// Lines along each subpath (closed when `closed`).
    Stroke {
        subpaths: Vec<Vec<[f32; 2]>>,
        closed: bool,
        colour: Colour,
        width: f32,
    },
    Circle {
        centre: [f32; 2],
        radius: f32,
        fill: Colour,
        stroke: Option<(Colour, f32)>,
    },
    /// `at` is the start of the baseline.
    Text {
        at: [f32; 2],
        size: f32,
        bold: bool,
        colour: Colour,
        text: String,
    },
    /// An image stretched over `rect` (x, y, width, height).
    Image {
        rect: [f32; 4],
        image: Encoded,
    },
    /// Clip what follows to a rectangle (x, y, width, height), or stop clipping.
    Clip(Option<[f32; 4]>),
}

/// Where a text's anchor point is on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Left,
    Centre,
    Right,
}

/// One page: its size in points and what is on it, in drawing order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub size: [f32; 2],
    pub items: Vec<Item>,
}

impl Page {
    pub fn new(size: [f32; 2]) -> Self {
        Self { size, items: Vec::new() }
    }

    pub fn rect(&mut self, r: [f32; 4], fill: Option<Colour>, stroke: Option<(Colour, f32)>) {
        let [x, y, w, h] = r;
        let ring = vec![[x, y], [x + w, y], [x + w, y + h], [x, y + h]];
        if let Some(colour) = fill {
            self.items.push(Item::Fill { subpaths: vec![ring.clone()], colour });
        }
        if let Some((colour, width)) = stroke {
            self.items.push(Item::Stroke { subpaths: vec![ring], closed: true, colour, width });
        }
    }

    pub fn line(&mut self, a: [f32; 2], b: [f32; 2], colour: Colour, width: f32) {
        self.items.push(Item::Stroke { subpaths: vec![vec![a, b]], closed: false, colour, width });
    }

    /// Text with its baseline at `at[1]`, anchored at `at[0]`; returns its width.
    pub fn text(&mut self, at: [f32; 2], size: f32, bold: bool, colour: Colour, anchor: Anchor, text: &str) -> f32 {
        let w = text_width(text, size, bold);
        let x = match anchor {
            Anchor::Left => at[0],
            Anchor::Centre => at[0] - w / 2.0,
            Anchor::Right => at[0] - w,
        };
        if !text.is_empty() {
            self.items.push(Item::Text { at: [x, at[1]], size, bold, colour, text: text.to_string() });
        }
        w
    }
}

/// Paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Paper {
    #[default]
    A4,
    A3,
}

impl Paper {
    /// Width and height in points, portrait or landscape.
    pub fn size_pt(self, landscape: bool) -> [f32; 2] {
        let mm = match self {
            Paper::A4 => [210.0, 297.0],
            Paper::A3 => [297.0, 420.0],
        };
        let pt = |v: f32| v / 25.4 * 72.0;
        if landscape { [pt(mm[1]), pt(mm[0])] } else { [pt(mm[0]), pt(mm[1])] }
    }
}

#[cfg(test)]
mod tile_size_tests {
    use super::*;

    /// A JPEG's first segments, up to its frame header: APP0, a quantisation table, SOF.
    fn jpeg_head(sof: u8, w: u16, h: u16) -> Vec<u8> {
        let mut b = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xff, 0xdb, 0, 4, 0, 0]);
        b.extend_from_slice(&[0xff, 0xff, sof, 0, 11, 8]);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&[1, 1, 0x11, 0]);
        b
    }

    #[test]
    fn jpeg_sizes_come_from_the_frame_header() {
        assert_eq!(jpeg_size(&jpeg_head(0xc0, 512, 256)), Some((512, 256)));
        assert_eq!(jpeg_size(&jpeg_head(0xc2, 300, 200)), Some((300, 200)));
        assert!(Encoded::sniff(jpeg_head(0xc0, 256, 256)).is_some());
        assert!(Encoded::sniff(jpeg_head(0xc0, 60_000, 256)).is_none());
        // A huffman table (C4) is not a frame header; the file ends before one.
        assert_eq!(jpeg_size(&jpeg_head(0xc4, 256, 256)), None);
        assert_eq!(jpeg_size(&[0xff, 0xd8, 0xff]), None);
    }

    #[test]
    fn png_sizes_come_from_ihdr() {
        let mut b = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0, 0, 13];
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&256u32.to_be_bytes());
        b.extend_from_slice(&512u32.to_be_bytes());
        assert_eq!(png_size(&b), Some((256, 512)));
        assert!(Encoded::sniff(b.clone()).is_some());
        b[16..20].copy_from_slice(&70_000u32.to_be_bytes());
        assert!(Encoded::sniff(b.clone()).is_none());
        assert_eq!(png_size(&b[..18]), None);
    }
}
