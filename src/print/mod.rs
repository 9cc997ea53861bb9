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

impl Encoded {
    /// PNG or JPEG by its magic bytes.
    pub fn sniff(bytes: Vec<u8>) -> Option<Encoded> {
        if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
            Some(Encoded::Png(Arc::new(bytes)))
        } else if bytes.starts_with(&[0xff, 0xd8]) {
            Some(Encoded::Jpeg(Arc::new(bytes)))
        } else {
            None
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
