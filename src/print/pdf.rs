//! The PDF backend: [`Page`]s drawn as vectors with krilla (paths, circles as Bézier curves,
//! text in the embedded, subset DejaVu Sans), tiles as images.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::{Colour, Encoded, FONT_BOLD, FONT_REGULAR, Item, Page};

fn fill(c: Colour) -> Fill {
    Fill {
        paint: rgb::Color::new(c.rgb[0], c.rgb[1], c.rgb[2]).into(),
        opacity: NormalizedF32::new(c.alpha.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
        rule: FillRule::NonZero,
    }
}

fn stroke(c: Colour, width: f32) -> Stroke {
    Stroke {
        paint: rgb::Color::new(c.rgb[0], c.rgb[1], c.rgb[2]).into(),
        opacity: NormalizedF32::new(c.alpha.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
        width,
        ..Stroke::default()
    }
}

fn path_of(subpaths: &[Vec<[f32; 2]>], closed: bool) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    for sp in subpaths {
        let Some((first, rest)) = sp.split_first() else { continue };
        pb.move_to(first[0], first[1]);
        for p in rest {
            pb.line_to(p[0], p[1]);
        }
        if closed {
            pb.close();
        }
    }
    pb.finish()
}

fn circle(c: [f32; 2], r: f32) -> Option<krilla::geom::Path> {
    // Four cubic arcs (kappa = 0.5523).
    let k = 0.552_284_8 * r;
    let [x, y] = c;
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.cubic_to(x + r, y + k, x + k, y + r, x, y + r);
    pb.cubic_to(x - k, y + r, x - r, y + k, x - r, y);
    pb.cubic_to(x - r, y - k, x - k, y - r, x, y - r);
    pb.cubic_to(x + k, y - r, x + r, y - k, x + r, y);
    pb.close();
    pb.finish()
}

/// Writes `pages` into one PDF document.
pub fn document(pages: &[Page], title: &str) -> Result<Vec<u8>, String> {
    let font_of = |bytes: &'static [u8]| {
        Font::new(krilla::Data::from(bytes), 0).ok_or_else(|| "the embedded font did not load (a bug)".to_string())
    };
    let regular = font_of(FONT_REGULAR)?;
    let bold = font_of(FONT_BOLD)?;
    let mut doc = Document::new();
    doc.set_metadata(krilla::metadata::Metadata::new().title(title.to_string()).creator("needmap".to_string()));
    for page in pages {
        let settings = PageSettings::from_wh(page.size[0], page.size[1]).ok_or("empty page size")?;
        let mut p = doc.start_page_with(settings);
        let mut s = p.surface();
        draw(&mut s, page, &regular, &bold);
        s.finish();
        p.finish();
    }
    doc.finish().map_err(|e| format!("{e:?}"))
}

fn draw(s: &mut Surface<'_>, page: &Page, regular: &Font, bold: &Font) {
    let mut clipped = false;
    for item in &page.items {
        match item {
            Item::Fill { subpaths, colour } => {
                if let Some(path) = path_of(subpaths, true) {
                    s.set_stroke(None);
                    s.set_fill(Some(fill(*colour)));
                    s.draw_path(&path);
                }
            }
            Item::Stroke { subpaths, closed, colour, width } => {
                if let Some(path) = path_of(subpaths, *closed) {
                    s.set_fill(None);
                    s.set_stroke(Some(stroke(*colour, *width)));
                    s.draw_path(&path);
                }
            }
            Item::Circle { centre, radius, fill: f, stroke: st } => {
                if let Some(path) = circle(*centre, *radius) {
                    s.set_fill(Some(fill(*f)));
                    s.set_stroke(st.map(|(c, w)| stroke(c, w)));
                    s.draw_path(&path);
                }
            }
            Item::Text { at, size, bold: b, colour, text } => {
                s.set_stroke(None);
                s.set_fill(Some(fill(*colour)));
                let font = if *b { bold.clone() } else { regular.clone() };
                s.draw_text(Point::from_xy(at[0], at[1]), font, *size, text, false, TextDirection::Auto);
            }
            Item::Image { rect, image } => {
                let img = match image {
                    Encoded::Png(b) => krilla::image::Image::from_png(krilla::Data::from(b.clone()), true),
                    Encoded::Jpeg(b) => krilla::image::Image::from_jpeg(krilla::Data::from(b.clone()), true),
                };
                if let (Ok(img), Some(size)) = (img, Size::from_wh(rect[2], rect[3])) {
                    s.push_transform(&Transform::from_translate(rect[0], rect[1]));
                    s.draw_image(img, size);
                    s.pop();
                }
            }
            Item::Clip(rect) => {
                if clipped {
                    s.pop();
                    clipped = false;
                }
                if let Some([x, y, w, h]) = rect {
                    let ring = vec![vec![[*x, *y], [x + w, *y], [x + w, y + h], [*x, y + h]]];
                    if let Some(path) = path_of(&ring, true) {
                        s.push_clip_path(&path, &FillRule::NonZero);
                        clipped = true;
                    }
                }
            }
        }
    }
    if clipped {
        s.pop();
    }
}
