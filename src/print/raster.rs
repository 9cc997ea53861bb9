//! The PNG backend: a [`Page`] drawn with tiny-skia at a given resolution, text rasterised
//! with ab_glyph (glyph coverage blended into the pixels).

use ab_glyph::{Font as _, ScaleFont as _};
use tiny_skia::{FillRule, Mask, Paint, PathBuilder, Pixmap, PixmapPaint, Stroke, Transform};

use super::{Colour, Encoded, Item, Page, face};

fn paint(c: Colour) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(c.rgb[0], c.rgb[1], c.rgb[2], (c.alpha.clamp(0.0, 1.0) * 255.0).round() as u8);
    p.anti_alias = true;
    p
}

fn path_of(subpaths: &[Vec<[f32; 2]>], closed: bool) -> Option<tiny_skia::Path> {
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

/// Decodes a tile into a pixmap (premultiplied RGBA).
pub fn decode(image: &Encoded) -> Option<Pixmap> {
    match image {
        Encoded::Png(bytes) => Pixmap::decode_png(bytes).ok(),
        Encoded::Jpeg(bytes) => {
            use zune_jpeg::zune_core::colorspace::ColorSpace;
            use zune_jpeg::zune_core::options::DecoderOptions;
            let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGBA);
            let mut d = zune_jpeg::JpegDecoder::new_with_options(std::io::Cursor::new(&bytes[..]), opts);
            let rgba = d.decode().ok()?;
            let (w, h) = d.dimensions()?;
            let size = tiny_skia::IntSize::from_wh(w as u32, h as u32)?;
            Pixmap::from_vec(rgba, size)
        }
    }
}

/// Draws `page` at `px_per_pt` pixels per point on a white background.
pub fn render(page: &Page, px_per_pt: f32) -> Option<Pixmap> {
    let w = (page.size[0] * px_per_pt).round() as u32;
    let h = (page.size[1] * px_per_pt).round() as u32;
    let mut pixmap = Pixmap::new(w, h)?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let t = Transform::from_scale(px_per_pt, px_per_pt);
    let mut clip: Option<Mask> = None;
    for item in &page.items {
        match item {
            Item::Fill { subpaths, colour } => {
                if let Some(path) = path_of(subpaths, true) {
                    pixmap.fill_path(&path, &paint(*colour), FillRule::Winding, t, clip.as_ref());
                }
            }
            Item::Stroke { subpaths, closed, colour, width } => {
                if let Some(path) = path_of(subpaths, *closed) {
                    let stroke = Stroke { width: *width, ..Stroke::default() };
                    pixmap.stroke_path(&path, &paint(*colour), &stroke, t, clip.as_ref());
                }
            }
            Item::Circle { centre, radius, fill, stroke } => {
                if let Some(path) = PathBuilder::from_circle(centre[0], centre[1], *radius) {
                    pixmap.fill_path(&path, &paint(*fill), FillRule::Winding, t, clip.as_ref());
                    if let Some((c, width)) = stroke {
                        let s = Stroke { width: *width, ..Stroke::default() };
                        pixmap.stroke_path(&path, &paint(*c), &s, t, clip.as_ref());
                    }
                }
            }
            Item::Text { at, size, bold, colour, text } => {
                draw_text(&mut pixmap, [at[0] * px_per_pt, at[1] * px_per_pt], size * px_per_pt, *bold, *colour, text)
            }
            Item::Image { rect, image } => {
                if let Some(img) = decode(image) {
                    let sx = rect[2] / img.width() as f32;
                    let sy = rect[3] / img.height() as f32;
                    let it = Transform::from_row(sx, 0.0, 0.0, sy, rect[0], rect[1]).post_concat(t);
                    let p = PixmapPaint { quality: tiny_skia::FilterQuality::Bilinear, ..PixmapPaint::default() };
                    pixmap.draw_pixmap(0, 0, img.as_ref(), &p, it, clip.as_ref());
                }
            }
            Item::Clip(rect) => {
                clip = rect.and_then(|[x, y, w, h]| {
                    let r = tiny_skia::Rect::from_xywh(x, y, w, h)?;
                    let path = PathBuilder::from_rect(r);
                    let mut m = Mask::new(pixmap.width(), pixmap.height())?;
                    m.fill_path(&path, FillRule::Winding, true, t);
                    Some(m)
                });
            }
        }
    }
    Some(pixmap)
}

/// Blends glyph coverage into the premultiplied pixels (no clip: text is never clipped).
fn draw_text(pixmap: &mut Pixmap, at: [f32; 2], size_px: f32, bold: bool, colour: Colour, text: &str) {
    let font = face(bold).as_scaled(size_px);
    let (w, h) = (pixmap.width() as i32, pixmap.height() as i32);
    let data = pixmap.data_mut();
    let mut x = at[0];
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            x += font.kern(p, id);
        }
        let glyph = id.with_scale_and_position(size_px, ab_glyph::point(x, at[1]));
        x += font.h_advance(id);
        prev = Some(id);
        let Some(outlined) = face(bold).outline_glyph(glyph) else { continue };
        let b = outlined.px_bounds();
        outlined.draw(|gx, gy, cov| {
            let px = b.min.x as i32 + gx as i32;
            let py = b.min.y as i32 + gy as i32;
            if px < 0 || py < 0 || px >= w || py >= h {
                return;
            }
            let a = (cov.clamp(0.0, 1.0) * colour.alpha).clamp(0.0, 1.0);
            let i = (py as usize * w as usize + px as usize) * 4;
            for k in 0..3 {
                let src = colour.rgb[k] as f32 * a;
                data[i + k] = (src + data[i + k] as f32 * (1.0 - a)).round() as u8;
            }
            data[i + 3] = (a * 255.0 + data[i + 3] as f32 * (1.0 - a)).round() as u8;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::Anchor;

    #[test]
    fn draws_shapes_and_text_where_asked() {
        let mut page = Page::new([100.0, 50.0]);
        page.rect([0.0, 0.0, 20.0, 20.0], Some(Colour::rgb([255, 0, 0])), None);
        page.text([50.0, 40.0], 20.0, false, Colour::BLACK, Anchor::Left, "Ñá");
        let p = render(&page, 2.0).unwrap();
        assert_eq!((p.width(), p.height()), (200, 100));
        let px = p.pixel(10, 10).unwrap();
        assert_eq!((px.red(), px.green(), px.blue()), (255, 0, 0));
        let dark = (100..200).flat_map(|x| (40..100).map(move |y| (x, y))).filter(|&(x, y)| {
            let q = p.pixel(x, y).unwrap();
            q.red() < 100
        });
        assert!(dark.count() > 50, "the text left ink");
    }
}
