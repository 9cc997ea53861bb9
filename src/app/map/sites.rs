//! Sites layer: each chosen site's coverage circle at its true ground radius (a geodesic
//! circle, not a fixed pixel size), the households it covers highlighted, and a numbered
//! marker. A click on a marker selects the site; hovering one names it.

use egui::{Align2, Color32, FontId, Response, Shape, Stroke, Ui};
use walkers::{MapMemory, Plugin, Projector};

use super::{Screen, merc_from_lonlat};
use crate::analysis::SitesResult;
use crate::sphere::EARTH_RADIUS_M;

/// Site markers and circles: a teal neither the need colours nor the purple zones use.
pub const SITE: Color32 = Color32::from_rgb(0x00, 0x89, 0x7b);
/// Households covered by a site.
pub const COVERED: Color32 = Color32::from_rgb(0x1d, 0xe9, 0xb6);

/// Covered households past which only the selected site's are drawn one by one.
const MAX_COVERED_DRAWN: usize = 30_000;

pub struct MapSite {
    /// 1-based, in the order chosen.
    pub number: usize,
    pub centre: [f64; 2],
    /// The coverage circle (not closed), in normalised Mercator.
    pub circle: Vec<[f64; 2]>,
}

pub struct MapSites {
    pub sites: Vec<MapSite>,
    /// Covered households (normalised Mercator) and the index of the site covering each.
    pub covered: Vec<([f64; 2], u32)>,
}

/// The point `distance_m` from (lon, lat) along `bearing` (radians from north), on the sphere.
fn destination(lon: f64, lat: f64, bearing: f64, distance_m: f64) -> (f64, f64) {
    let d = distance_m / EARTH_RADIUS_M;
    let (phi, lam) = (lat.to_radians(), lon.to_radians());
    let phi2 = (phi.sin() * d.cos() + phi.cos() * d.sin() * bearing.cos()).asin();
    let lam2 = lam + (bearing.sin() * d.sin() * phi.cos()).atan2(d.cos() - phi.sin() * phi2.sin());
    let lon2 = (lam2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
    // Keep the circle on the centre's side of the antimeridian, so it is drawn whole.
    let lon2 = if lon2 - lon > 180.0 {
        lon2 - 360.0
    } else if lon - lon2 > 180.0 {
        lon2 + 360.0
    } else {
        lon2
    };
    (lon2, phi2.to_degrees())
}

impl MapSites {
    pub fn new(r: &SitesResult, merc_households: &[[f64; 2]]) -> Self {
        let radius = r.params.radius_m;
        let sites = r
            .solution
            .sites
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let (lon, lat) = (r.candidates.lon_deg[s.candidate], r.candidates.lat_deg[s.candidate]);
                let circle = (0..72)
                    .map(|a| {
                        let (lo, la) = destination(lon, lat, (a as f64 * 5.0).to_radians(), radius);
                        let m = merc_from_lonlat(lo, la);
                        [m[0], m[1]]
                    })
                    .collect();
                MapSite { number: k + 1, centre: merc_from_lonlat(lon, lat), circle }
            })
            .collect();
        let covered = r
            .solution
            .site_of
            .iter()
            .enumerate()
            .filter(|(_, s)| **s >= 0)
            .filter_map(|(i, &s)| merc_households.get(i).map(|m| (*m, s as u32)))
            .collect();
        Self { sites, covered }
    }

    /// The site whose marker is at screen position `p`, if any.
    fn marker_at(&self, screen: &Screen, p: egui::Pos2) -> Option<usize> {
        self.sites.iter().rev().find(|s| screen.pos(s.centre).distance(p) <= 11.0).map(|s| s.number - 1)
    }
}

pub struct SitesLayer<'a> {
    pub data: &'a MapSites,
    pub selected: &'a mut Option<usize>,
    /// Written: the site under the pointer.
    pub hovered: &'a mut Option<usize>,
    /// Written: a site marker was clicked this frame.
    pub clicked: &'a mut bool,
}

impl Plugin for SitesLayer<'_> {
    fn run(self: Box<Self>, ui: &mut Ui, response: &Response, projector: &Projector, _memory: &MapMemory) {
        let screen = Screen::from_projector(projector);
        let rect = response.rect;
        let painter = ui.painter_at(rect);
        for s in &self.data.sites {
            let sel = *self.selected == Some(s.number - 1);
            let pts: Vec<egui::Pos2> = s.circle.iter().map(|&m| screen.pos(m)).collect();
            let fill = SITE.gamma_multiply(if sel { 0.28 } else { 0.14 });
            painter.add(Shape::convex_polygon(pts.clone(), fill, Stroke::NONE));
            painter.add(Shape::closed_line(pts, Stroke::new(if sel { 2.5 } else { 1.5 }, SITE)));
        }
        // Covered households: all of them when few, else the selected site's.
        let all = self.data.covered.len() <= MAX_COVERED_DRAWN;
        for &(m, site) in &self.data.covered {
            if all || *self.selected == Some(site as usize) {
                let p = screen.pos(m);
                if rect.contains(p) {
                    painter.circle_stroke(p, 2.5, Stroke::new(1.2, COVERED));
                }
            }
        }
        let font = FontId::proportional(11.0);
        for s in &self.data.sites {
            let p = screen.pos(s.centre);
            if !rect.expand(12.0).contains(p) {
                continue;
            }
            let sel = *self.selected == Some(s.number - 1);
            painter.circle(p, 9.0, SITE, Stroke::new(if sel { 2.5 } else { 1.5 }, Color32::WHITE));
            painter.text(p, Align2::CENTER_CENTER, s.number.to_string(), font.clone(), Color32::WHITE);
        }
        *self.hovered = response.hover_pos().and_then(|h| self.data.marker_at(&screen, h));
        if response.clicked()
            && let Some(k) = response.interact_pointer_pos().and_then(|h| self.data.marker_at(&screen, h))
        {
            *self.selected = Some(k);
            *self.clicked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_is_at_the_distance_asked() {
        for &(lon, lat) in &[(-77.0, -12.0), (179.999, 10.0), (0.0, 70.0)] {
            for b in [0.0f64, 90.0, 200.0] {
                let (lo, la) = destination(lon, lat, b.to_radians(), 600.0);
                let d = crate::sphere::distance_m(lon, lat, lo, la);
                assert!((d - 600.0).abs() < 1e-6, "{lon} {lat} {b}: {d}");
            }
        }
    }
}
