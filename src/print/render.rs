//! A run's map layers drawn into a frame of a [`Page`]: basemap (tiles or the embedded Natural
//! Earth land and borders), zones filled by rank and numbered, households coloured by need
//! (critical ones larger and outlined), build sites, and on a zone's page the numbers of its
//! households. Colours are the app's (`app/map/zones.rs`, `app/map/households.rs`).

use super::tiles::TileSource;
use super::{Anchor, Colour, Item, Page, text_width};
use crate::basemap::{BORDER_RGB, LAND_RGB, OCEAN_RGB, basemap};
use crate::rundir::Run;
use crate::webmerc::{lonlat_from_merc, merc_from_lonlat, tile_of};

/// Earth's equatorial circumference in metres: one normalised Web Mercator unit at the equator.
const CIRCUMFERENCE_M: f64 = 40_075_016.686;

/// Zone fill for rank `rank` of `n`, as in the app ([`crate::palette::zone_rgb`]).
pub fn rank_rgb(rank: u32, n: usize) -> [u8; 3] {
    crate::palette::zone_rgb(rank, n)
}

/// Household colour for a need score, as in the app; grey when the score is missing.
pub fn need_rgb(score: Option<f64>) -> [u8; 3] {
    crate::palette::need_rgb(score.unwrap_or(f64::NAN))
}

/// Outline of critical households.
pub const CRITICAL_OUTLINE: Colour = Colour::rgb([0x40, 0x00, 0x10]);
/// Zone fill opacity, as in the app.
pub const ZONE_ALPHA: f32 = crate::palette::ZONE_ALPHA;

/// A map frame on the page: normalised Web Mercator mapped to points with one scale for x and
/// y, so the map keeps Mercator's aspect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapView {
    /// x, y, width, height in points.
    pub frame: [f32; 4],
    /// The Mercator point at the frame's top-left corner.
    origin: [f64; 2],
    /// Points per Mercator unit.
    scale: f64,
}

impl MapView {
    /// The view that shows `bounds` (Mercator min x, min y, max x, max y) plus `margin` of its
    /// size on every side, centred in `frame`.
    pub fn fit(bounds: [f64; 4], frame: [f32; 4], margin: f64) -> MapView {
        // At least ~200 m across, so a one-household zone still shows its street.
        let min_size = 200.0 / CIRCUMFERENCE_M;
        let w = (bounds[2] - bounds[0]).max(min_size) * (1.0 + 2.0 * margin);
        let h = (bounds[3] - bounds[1]).max(min_size) * (1.0 + 2.0 * margin);
        let scale = (frame[2] as f64 / w).min(frame[3] as f64 / h);
        let cx = (bounds[0] + bounds[2]) / 2.0;
        let cy = (bounds[1] + bounds[3]) / 2.0;
        let origin = [cx - frame[2] as f64 / 2.0 / scale, cy - frame[3] as f64 / 2.0 / scale];
        MapView { frame, origin, scale }
    }

    pub fn pt(&self, m: [f64; 2]) -> [f32; 2] {
        [
            self.frame[0] + ((m[0] - self.origin[0]) * self.scale) as f32,
            self.frame[1] + ((m[1] - self.origin[1]) * self.scale) as f32,
        ]
    }

    pub fn pt_lonlat(&self, lon: f64, lat: f64) -> [f32; 2] {
        self.pt(merc_from_lonlat(lon, lat))
    }

    /// Mercator bounds of the frame (min x, min y, max x, max y).
    pub fn bounds(&self) -> [f64; 4] {
        [
            self.origin[0],
            self.origin[1],
            self.origin[0] + self.frame[2] as f64 / self.scale,
            self.origin[1] + self.frame[3] as f64 / self.scale,
        ]
    }

    /// Ground metres per point at the frame's centre latitude.
    pub fn metres_per_pt(&self) -> f64 {
        let b = self.bounds();
        let (_, lat) = lonlat_from_merc([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]);
        CIRCUMFERENCE_M * lat.to_radians().cos() / self.scale
    }

    fn contains(&self, p: [f32; 2]) -> bool {
        let [x, y, w, h] = self.frame;
        p[0] >= x && p[0] <= x + w && p[1] >= y && p[1] <= y + h
    }
}

/// Mercator bounds of points given as (lon, lat).
pub fn bounds_of(points: impl IntoIterator<Item = (f64, f64)>) -> Option<[f64; 4]> {
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for (lon, lat) in points {
        let m = merc_from_lonlat(lon, lat);
        b = [b[0].min(m[0]), b[1].min(m[1]), b[2].max(m[0]), b[3].max(m[1])];
    }
    b[0].is_finite().then_some(b)
}

/// The scale bar's length: the largest 1, 2 or 5 × 10^k metres not above `max_m`.
pub fn scale_bar_m(max_m: f64) -> f64 {
    if !(max_m.is_finite() && max_m > 0.0) {
        return 0.0;
    }
    let p = 10f64.powf(max_m.log10().floor());
    [5.0, 2.0, 1.0].into_iter().map(|f| f * p).find(|&v| v <= max_m * (1.0 + 1e-9)).unwrap_or(p)
}

/// `500 m`, `2 km`, `1.5 km`.
pub fn format_length(m: f64) -> String {
    if m >= 1000.0 {
        let km = m / 1000.0;
        if km.fract() == 0.0 { format!("{km:.0} km") } else { format!("{km} km") }
    } else {
        format!("{m:.0} m")
    }
}

/// What to draw besides the run's layers.
#[derive(Default)]
pub struct MapOptions<'a> {
    pub tiles: Option<&'a TileSource>,
    /// Pixels per point of the output, for the tile zoom (PDF: the resolution tiles are
    /// chosen for).
    pub px_per_pt: f32,
    /// The zone a page is about: drawn on top with a thick outline; other households faded.
    pub focus: Option<u32>,
    /// Households to number on the map: (household index, number).
    pub numbers: &'a [(usize, usize)],
}

/// Draws the map of `run` into `view.frame` of `page`.
pub fn draw_map(page: &mut Page, view: &MapView, run: &Run, o: &MapOptions<'_>) {
    let frame = view.frame;
    page.items.push(Item::Clip(Some(frame)));
    page.rect(frame, Some(Colour::rgb(OCEAN_RGB)), None);
    draw_basemap(page, view);
    if let Some(t) = o.tiles {
        draw_tiles(page, view, t, o.px_per_pt);
    }
    draw_zones(page, view, run, o.focus);
    draw_households(page, view, run, o.focus);
    draw_zone_outlines(page, view, run, o.focus);
    draw_sites(page, view, run);
    let mut placed: Vec<[f32; 4]> = Vec::new();
    draw_numbers(page, view, run, o.numbers, &mut placed);
    draw_zone_labels(page, view, run, o.focus, &mut placed);
    page.items.push(Item::Clip(None));
    page.rect(frame, None, Some((Colour::GREY, 0.8)));
}

fn draw_basemap(page: &mut Page, view: &MapView) {
    let b = basemap();
    let vb = view.bounds();
    let overlaps = |bb: [f64; 4]| !(bb[2] < vb[0] || bb[0] > vb[2] || bb[3] < vb[1] || bb[1] > vb[3]);
    let mut land = Vec::new();
    for t in b.land_triangles.chunks_exact(3) {
        let v = [t[0], t[1], t[2]].map(|i| b.land_vertices[i as usize]);
        let bb = [
            v[0][0].min(v[1][0]).min(v[2][0]),
            v[0][1].min(v[1][1]).min(v[2][1]),
            v[0][0].max(v[1][0]).max(v[2][0]),
            v[0][1].max(v[1][1]).max(v[2][1]),
        ];
        if overlaps(bb) {
            land.push(v.iter().map(|&p| view.pt(p)).collect());
        }
    }
    if !land.is_empty() {
        page.items.push(Item::Fill { subpaths: land, colour: Colour::rgb(LAND_RGB) });
    }
    let lines: Vec<Vec<[f32; 2]>> = b
        .lines
        .iter()
        .filter(|(_, bb)| overlaps(*bb))
        .map(|(pts, _)| pts.iter().map(|&p| view.pt(p)).collect())
        .collect();
    if !lines.is_empty() {
        page.items.push(Item::Stroke { subpaths: lines, closed: false, colour: Colour::rgb(BORDER_RGB), width: 0.6 });
    }
}

/// At most this many tiles on one map; the zoom drops until they fit.
const MAX_TILES: u64 = 256;

fn draw_tiles(page: &mut Page, view: &MapView, src: &TileSource, px_per_pt: f32) {
    let vb = view.bounds();
    let width_px = view.frame[2] as f64 * px_per_pt.max(1.0) as f64;
    // Tiles of 256 px shown at about their own size.
    let wanted = (width_px / 256.0 / (vb[2] - vb[0])).log2().ceil().clamp(0.0, 24.0) as u8;
    let mut z = src.zoom_for(wanted);
    let range = |z: u8| {
        let (x0, y0) = tile_of([vb[0], vb[1]], z);
        let (x1, y1) = tile_of([vb[2], vb[3]], z);
        (x0, y0, x1, y1)
    };
    while z > 0 {
        let (x0, y0, x1, y1) = range(z);
        if u64::from(x1 - x0 + 1) * u64::from(y1 - y0 + 1) <= MAX_TILES {
            break;
        }
        z = src.zoom_for(z - 1);
        if src.zooms().first() == Some(&z) {
            break;
        }
    }
    let (x0, y0, x1, y1) = range(z);
    let n = (1u64 << z) as f64;
    for x in x0..=x1 {
        for y in y0..=y1 {
            if let Some(image) = src.tile(z, x, y) {
                let a = view.pt([x as f64 / n, y as f64 / n]);
                let b = view.pt([(x + 1) as f64 / n, (y + 1) as f64 / n]);
                page.items.push(Item::Image { rect: [a[0], a[1], b[0] - a[0], b[1] - a[1]], image });
            }
        }
    }
}

fn draw_zones(page: &mut Page, view: &MapView, run: &Run, focus: Option<u32>) {
    let n = run.zones.len();
    // Worst rank first, so better-ranked zones are painted on top; the focus zone last.
    let order =
        run.zones.iter().rev().filter(|z| Some(z.id) != focus).chain(run.zones.iter().filter(|z| Some(z.id) == focus));
    for z in order {
        let ring: Vec<[f32; 2]> = z.ring.iter().map(|&(lon, lat)| view.pt_lonlat(lon, lat)).collect();
        let c = Colour::rgb(rank_rgb(z.rank, n));
        let (alpha, width) = match focus {
            Some(f) if f == z.id => (ZONE_ALPHA * 0.6, 2.5),
            Some(_) => (ZONE_ALPHA * 0.5, 0.8),
            None => (ZONE_ALPHA, 1.2),
        };
        page.items.push(Item::Fill { subpaths: vec![ring.clone()], colour: c.with_alpha(alpha) });
        page.items.push(Item::Stroke { subpaths: vec![ring], closed: true, colour: c, width });
    }
}

/// Outlines again over the households, so a zone's edge shows through its dots.
fn draw_zone_outlines(page: &mut Page, view: &MapView, run: &Run, focus: Option<u32>) {
    let n = run.zones.len();
    for z in run.zones.iter().rev() {
        let ring: Vec<[f32; 2]> = z.ring.iter().map(|&(lon, lat)| view.pt_lonlat(lon, lat)).collect();
        let width = if Some(z.id) == focus { 2.0 } else { 0.9 };
        let c = Colour::rgb(rank_rgb(z.rank, n)).with_alpha(0.9);
        page.items.push(Item::Stroke { subpaths: vec![ring], closed: true, colour: c, width });
    }
}

/// Dot radius of ordinary and critical households, in points.
pub const DOT_PT: f32 = 1.4;
pub const CRITICAL_DOT_PT: f32 = 2.2;

fn draw_households(page: &mut Page, view: &MapView, run: &Run, focus: Option<u32>) {
    for pass_critical in [false, true] {
        for h in run.households.iter().filter(|h| h.critical == pass_critical) {
            let p = view.pt_lonlat(h.lon, h.lat);
            if !view.contains(p) {
                continue;
            }
            let faded = focus.is_some_and(|f| h.zone != Some(f));
            let alpha = if faded { 0.35 } else { 0.95 };
            let fill = Colour::rgb(need_rgb(h.need)).with_alpha(alpha);
            if h.critical {
                let stroke = Some((CRITICAL_OUTLINE.with_alpha(alpha), 0.6));
                page.items.push(Item::Circle { centre: p, radius: CRITICAL_DOT_PT, fill, stroke });
            } else {
                page.items.push(Item::Circle { centre: p, radius: DOT_PT, fill, stroke: None });
            }
        }
    }
}

/// Build-site marker: a white disc with a black ring and a black centre.
pub fn site_marker(page: &mut Page, p: [f32; 2]) {
    page.items.push(Item::Circle { centre: p, radius: 4.5, fill: Colour::WHITE, stroke: Some((Colour::BLACK, 1.4)) });
    page.items.push(Item::Circle { centre: p, radius: 1.6, fill: Colour::BLACK, stroke: None });
}

fn draw_sites(page: &mut Page, view: &MapView, run: &Run) {
    for s in &run.sites {
        let p = view.pt_lonlat(s.lon, s.lat);
        if view.contains(p) {
            site_marker(page, p);
            page.text([p[0] + 6.0, p[1] - 3.0], 6.5, true, Colour::BLACK, Anchor::Left, &format!("S{}", s.number));
        }
    }
}

fn overlaps_any(r: [f32; 4], placed: &[[f32; 4]]) -> bool {
    placed.iter().any(|q| r[0] < q[0] + q[2] && q[0] < r[0] + r[2] && r[1] < q[1] + q[3] && q[1] < r[1] + r[3])
}

fn inside(r: [f32; 4], frame: [f32; 4]) -> bool {
    r[0] >= frame[0] && r[1] >= frame[1] && r[0] + r[2] <= frame[0] + frame[2] && r[1] + r[3] <= frame[1] + frame[3]
}

/// Size of the household numbers on a zone's page.
pub const NUMBER_PT: f32 = 5.5;

fn draw_numbers(page: &mut Page, view: &MapView, run: &Run, numbers: &[(usize, usize)], placed: &mut Vec<[f32; 4]>) {
    // Dots are obstacles too, so a number does not hide another household.
    let dots: Vec<[f32; 2]> =
        numbers.iter().map(|&(i, _)| view.pt_lonlat(run.households[i].lon, run.households[i].lat)).collect();
    for p in &dots {
        let r = CRITICAL_DOT_PT;
        placed.push([p[0] - r, p[1] - r, 2.0 * r, 2.0 * r]);
    }
    let size = NUMBER_PT;
    let h = size * 0.8;
    for (k, &(_, number)) in numbers.iter().enumerate() {
        let p = dots[k];
        let text = number.to_string();
        let w = text_width(&text, size, false);
        let gap = CRITICAL_DOT_PT + 0.6;
        let candidates = [
            [p[0] + gap, p[1] - h / 2.0],
            [p[0] - gap - w, p[1] - h / 2.0],
            [p[0] - w / 2.0, p[1] - gap - h],
            [p[0] - w / 2.0, p[1] + gap],
            [p[0] + gap * 0.8, p[1] - gap * 0.8 - h],
            [p[0] + gap * 0.8, p[1] + gap * 0.8],
            [p[0] - gap * 0.8 - w, p[1] - gap * 0.8 - h],
            [p[0] - gap * 0.8 - w, p[1] + gap * 0.8],
        ];
        let rect_at = |c: [f32; 2]| [c[0] - 0.5, c[1] - 0.3, w + 1.0, h + 0.6];
        let best = candidates
            .iter()
            .find(|&&c| !overlaps_any(rect_at(c), placed) && inside(rect_at(c), view.frame))
            .copied()
            .unwrap_or(candidates[0]);
        let r = rect_at(best);
        placed.push(r);
        page.rect(r, Some(Colour::WHITE.with_alpha(0.75)), None);
        page.text([best[0], best[1] + h], size, false, Colour::BLACK, Anchor::Left, &text);
    }
}

fn draw_zone_labels(page: &mut Page, view: &MapView, run: &Run, focus: Option<u32>, placed: &mut Vec<[f32; 4]>) {
    let n = run.zones.len();
    let size = 7.5;
    // Best rank first: when labels would collide, the better-ranked zone keeps its label.
    let order =
        run.zones.iter().filter(|z| Some(z.id) == focus).chain(run.zones.iter().filter(|z| Some(z.id) != focus));
    for z in order {
        let c = view.pt_lonlat(z.centre.0, z.centre.1);
        let text = format!("#{}", z.rank);
        let w = text_width(&text, size, true);
        let r = [c[0] - w / 2.0 - 2.0, c[1] - size / 2.0 - 1.5, w + 4.0, size + 3.0];
        let is_focus = Some(z.id) == focus;
        if !inside(r, view.frame) || (!is_focus && overlaps_any(r, placed)) {
            continue;
        }
        placed.push(r);
        page.rect(r, Some(Colour::rgb(rank_rgb(z.rank, n)).with_alpha(0.92)), Some((Colour::WHITE, 0.6)));
        page.text([c[0], c[1] + size * 0.36], size, true, Colour::WHITE, Anchor::Centre, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_bar_is_a_round_length() {
        assert_eq!(scale_bar_m(1234.0), 1000.0);
        assert_eq!(scale_bar_m(999.0), 500.0);
        assert_eq!(scale_bar_m(2000.0), 2000.0);
        assert_eq!(scale_bar_m(4999.0), 2000.0);
        assert_eq!(scale_bar_m(7.3), 5.0);
        assert_eq!(scale_bar_m(0.0), 0.0);
        assert_eq!(format_length(500.0), "500 m");
        assert_eq!(format_length(2000.0), "2 km");
        assert_eq!(format_length(50_000.0), "50 km");
    }

    #[test]
    fn the_view_keeps_mercator_aspect_and_contains_the_bounds() {
        let b = bounds_of([(-77.1, -12.2), (-76.9, -11.9)]).unwrap();
        let v = MapView::fit(b, [10.0, 20.0, 400.0, 300.0], 0.05);
        let [x0, y0, x1, y1] = v.bounds();
        assert!(x0 < b[0] && y0 < b[1] && x1 > b[2] && y1 > b[3]);
        // One scale for both axes: the frame's aspect is the bounds' aspect.
        assert!(((x1 - x0) / (y1 - y0) - 400.0 / 300.0).abs() < 1e-9);
        let p = v.pt(merc_from_lonlat(-77.0, -12.05));
        assert!(v.contains(p));
        // About 1.1 km per degree-hundredth of longitude at Lima.
        let a = v.pt_lonlat(-77.0, -12.05);
        let c = v.pt_lonlat(-76.99, -12.05);
        let m = (c[0] - a[0]) as f64 * v.metres_per_pt();
        assert!((m - 1089.0).abs() < 10.0, "{m}");
    }

    #[test]
    fn colours_match_the_apps() {
        // The app's rank_colour(1, n) and (n, n), need_colour(0), (1) and a missing score.
        assert_eq!(rank_rgb(1, 10), [63, 0, 125]);
        assert_eq!(rank_rgb(10, 10), [158, 154, 200]);
        assert_eq!(need_rgb(Some(0.0)), [0xff, 0xff, 0xb2]);
        assert_eq!(need_rgb(Some(1.0)), [0xbd, 0x00, 0x26]);
        assert_eq!(need_rgb(None), [150, 150, 150]);
    }
}
