//! Map furniture drawn over the layers: scale bar, legend, attribution, offline notice.

use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Stroke, pos2, vec2};
use walkers::Projector;

use super::households::{ColourBy, cluster_colour, need_colour};
use super::zones::rank_colour;

/// The longest "nice" length (1, 2 or 5 × 10ⁿ metres) that fits in `max_px`, and its pixels.
pub fn nice_scale(metres_per_px: f64, max_px: f64) -> (f64, f64) {
    let max_m = metres_per_px * max_px;
    let mut best = 1.0;
    let mut p = 1.0;
    while p <= max_m * 10.0 {
        for f in [1.0, 2.0, 5.0] {
            if f * p <= max_m {
                best = f * p;
            }
        }
        p *= 10.0;
    }
    (best, best / metres_per_px)
}

pub fn format_metres(m: f64) -> String {
    if m >= 1000.0 { format!("{} km", m / 1000.0) } else { format!("{m} m") }
}

fn panel(painter: &Painter, r: Rect) {
    painter.rect_filled(r, 4.0, Color32::from_white_alpha(215));
    painter.rect_stroke(r, 4.0, Stroke::new(1.0, Color32::from_gray(160)), egui::StrokeKind::Inside);
}

pub fn scale_bar(painter: &Painter, rect: Rect, projector: &Projector) {
    let centre = projector.unproject(rect.center().to_vec2());
    let px_per_m = projector.scale_pixel_per_meter(centre) as f64;
    if !(px_per_m.is_finite() && px_per_m > 0.0) {
        return;
    }
    let (m, px) = nice_scale(1.0 / px_per_m, 120.0);
    let px = px as f32;
    let origin = pos2(rect.min.x + 12.0, rect.max.y - 14.0);
    panel(painter, Rect::from_min_max(origin - vec2(6.0, 22.0), origin + vec2(px + 6.0, 8.0)));
    let s = Stroke::new(2.0, Color32::BLACK);
    painter.line_segment([origin, origin + vec2(px, 0.0)], s);
    painter.line_segment([origin, origin - vec2(0.0, 6.0)], s);
    painter.line_segment([origin + vec2(px, 0.0), origin + vec2(px, -6.0)], s);
    painter.text(
        origin + vec2(px / 2.0, -8.0),
        Align2::CENTER_BOTTOM,
        format_metres(m),
        FontId::proportional(12.0),
        Color32::BLACK,
    );
}

/// Legend labels, already translated.
pub struct LegendText<'a> {
    pub need: &'a str,
    pub cluster: &'a str,
    pub noise: &'a str,
    pub zone_rank: &'a str,
    /// The build-sites row ("Build sites (500 m)"), when sites are shown.
    pub sites: Option<String>,
    /// Hot spots' legend rows (hot, cold), when shown.
    pub hotspots: Option<(String, String)>,
}

/// Draws a legend row's colour sample into a rect.
type Swatch = Box<dyn Fn(&Painter, Rect)>;

/// Bottom-right legend; returns its rect so the attribution can go below it.
pub fn legend(
    painter: &Painter,
    rect: Rect,
    colour_by: ColourBy,
    has_need: bool,
    zones: usize,
    text: &LegendText,
) -> Rect {
    let w = 170.0;
    let font = FontId::proportional(12.0);
    let mut rows: Vec<(String, Swatch)> = Vec::new();
    match colour_by {
        ColourBy::Need if has_need => rows.push((
            format!("{}  0 - 1", text.need),
            Box::new(|p: &Painter, r: Rect| {
                let n = 20;
                for k in 0..n {
                    let x0 = r.min.x + r.width() * k as f32 / n as f32;
                    let x1 = r.min.x + r.width() * (k + 1) as f32 / n as f32;
                    p.rect_filled(
                        Rect::from_min_max(pos2(x0, r.min.y), pos2(x1, r.max.y)),
                        0.0,
                        need_colour(k as f64 / (n - 1) as f64),
                    );
                }
            }),
        )),
        ColourBy::Cluster => {
            rows.push((
                text.cluster.to_string(),
                Box::new(|p: &Painter, r: Rect| {
                    let n = 7;
                    for k in 0..n {
                        let c = pos2(r.min.x + 6.0 + k as f32 * 14.0, r.center().y);
                        p.circle_filled(c, 4.5, cluster_colour(k));
                    }
                }),
            ));
            rows.push((
                text.noise.to_string(),
                Box::new(|p: &Painter, r: Rect| {
                    p.circle_filled(pos2(r.min.x + 6.0, r.center().y), 4.5, cluster_colour(-1));
                }),
            ));
        }
        _ => {}
    }
    if zones > 0 {
        rows.push((
            format!("{}  1 - {zones}", text.zone_rank),
            Box::new(move |p: &Painter, r: Rect| {
                let n = 10.min(zones);
                for k in 0..n {
                    let x0 = r.min.x + r.width() * k as f32 / n as f32;
                    let x1 = r.min.x + r.width() * (k + 1) as f32 / n as f32;
                    let rank = 1 + (k * (zones - 1)) / n.max(2).saturating_sub(1).max(1);
                    p.rect_filled(
                        Rect::from_min_max(pos2(x0, r.min.y), pos2(x1, r.max.y)),
                        0.0,
                        rank_colour(rank as u32, zones).gamma_multiply(0.8),
                    );
                }
            }),
        ));
    }
    if let Some((hot, cold)) = &text.hotspots {
        for (label, sign) in [(hot, 1i8), (cold, -1i8)] {
            rows.push((
                format!("{label}  90 / 95 / 99 %"),
                Box::new(move |p: &Painter, r: Rect| {
                    for k in 0..3i8 {
                        let x = r.min.x + 8.0 + k as f32 * 16.0;
                        p.rect_filled(
                            Rect::from_center_size(pos2(x, r.center().y), vec2(10.0, 10.0)),
                            1.0,
                            super::hotspots::bin_colour(sign * (k + 1)),
                        );
                    }
                }),
            ));
        }
    }
    if let Some(label) = &text.sites {
        rows.push((
            label.clone(),
            Box::new(|p: &Painter, r: Rect| {
                let c = pos2(r.min.x + 7.0, r.center().y);
                p.circle_filled(c + vec2(18.0, 0.0), 6.0, super::sites::SITE.gamma_multiply(0.25));
                p.circle_stroke(c + vec2(18.0, 0.0), 6.0, Stroke::new(1.2, super::sites::SITE));
                p.circle(c, 6.0, super::sites::SITE, Stroke::new(1.0, Color32::WHITE));
                p.circle_stroke(c + vec2(36.0, 0.0), 2.5, Stroke::new(1.2, super::sites::COVERED));
            }),
        ));
    }
    if rows.is_empty() {
        return Rect::from_min_size(rect.right_bottom(), vec2(0.0, 0.0));
    }
    let row_h = 34.0;
    let h = rows.len() as f32 * row_h + 8.0;
    let r = Rect::from_min_size(pos2(rect.max.x - w - 10.0, rect.max.y - h - 28.0), vec2(w, h));
    panel(painter, r);
    for (k, (label, draw)) in rows.iter().enumerate() {
        let top = r.min.y + 4.0 + k as f32 * row_h;
        painter.text(pos2(r.min.x + 8.0, top), Align2::LEFT_TOP, label, font.clone(), Color32::BLACK);
        draw(painter, Rect::from_min_size(pos2(r.min.x + 8.0, top + 16.0), vec2(w - 16.0, 12.0)));
    }
    r
}

/// Attribution line at the bottom right, always visible.
pub fn attribution(painter: &Painter, rect: Rect, text: &str) {
    let font = FontId::proportional(11.0);
    let galley = painter.layout_no_wrap(text.to_string(), font, Color32::from_gray(30));
    let at = Pos2::new(rect.max.x - galley.size().x - 8.0, rect.max.y - galley.size().y - 4.0);
    painter.rect_filled(
        Rect::from_min_size(at - vec2(4.0, 2.0), galley.size() + vec2(8.0, 4.0)),
        3.0,
        Color32::from_white_alpha(200),
    );
    painter.galley(at, galley, Color32::from_gray(30));
}

/// A banner at the top centre (e.g. the offline notice).
pub fn banner(painter: &Painter, rect: Rect, text: &str) {
    let font = FontId::proportional(13.0);
    let galley = painter.layout_no_wrap(text.to_string(), font, Color32::from_rgb(0x5a, 0x3b, 0x00));
    let at = pos2(rect.center().x - galley.size().x / 2.0, rect.min.y + 10.0);
    painter.rect_filled(
        Rect::from_min_size(at - vec2(8.0, 4.0), galley.size() + vec2(16.0, 8.0)),
        4.0,
        Color32::from_rgb(0xff, 0xf1, 0xc4),
    );
    painter.galley(at, galley, Color32::from_rgb(0x5a, 0x3b, 0x00));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_bar_picks_a_round_length() {
        // 2.5 m per pixel, at most 120 px: 300 m fits, the nice value is 200 m.
        assert_eq!(nice_scale(2.5, 120.0), (200.0, 80.0));
        assert_eq!(nice_scale(10.0, 120.0), (1000.0, 100.0));
        assert_eq!(format_metres(2000.0), "2 km");
        assert_eq!(format_metres(500.0), "500 m");
    }
}
