//! The map: tiles (OpenStreetMap, a PMTiles file, a local tile folder) over the embedded
//! Natural Earth basemap, and needmap's layers as walkers plugins.
//!
//! Geometry is prepared once, off the UI thread, in normalised Web Mercator (`[0, 1]²`):
//! [`MapHouseholds`] after import, [`MapZones`] after the zones stage. Each frame a
//! [`Screen`] transform taken from walkers' projector turns those into pixels with one
//! multiply-add per point, so a million households stay cheap to draw.

pub mod basemap;
pub mod hotspots;
pub mod households;
pub mod learn;
pub mod overlays;
pub mod sites;
pub mod tiles;
pub mod zones;

use egui::{Pos2, Vec2, pos2};
use geo::TriangulateEarcut as _;
use walkers::{Projector, lon_lat};

use crate::analysis::Imported;
use crate::sphere::lonlat_from_xyz;
use crate::zones::ZonesResult;

pub use crate::webmerc::{MAX_LAT, lonlat_from_merc, merc_from_lonlat};

/// Screen position of a normalised Mercator point in this frame: `origin + scale · m`.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub origin: [f64; 2],
    pub scale: f64,
}

impl Screen {
    pub fn from_projector(p: &Projector) -> Self {
        let a = p.project(lon_lat(0.0, 0.0));
        let b = p.project(lon_lat(90.0, 0.0));
        let scale = (b.x as f64 - a.x as f64) * 4.0;
        Self { origin: [a.x as f64 - 0.5 * scale, a.y as f64 - 0.5 * scale], scale }
    }

    #[inline]
    pub fn pos(&self, m: [f64; 2]) -> Pos2 {
        pos2((self.origin[0] + self.scale * m[0]) as f32, (self.origin[1] + self.scale * m[1]) as f32)
    }

    pub fn merc(&self, p: Pos2) -> [f64; 2] {
        [(p.x as f64 - self.origin[0]) / self.scale, (p.y as f64 - self.origin[1]) / self.scale]
    }
}

/// A lon/lat box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min: (f64, f64),
    pub max: (f64, f64),
}

impl BBox {
    pub fn of(points: impl IntoIterator<Item = (f64, f64)>) -> Option<Self> {
        let mut it = points.into_iter();
        let first = it.next()?;
        let mut b = BBox { min: first, max: first };
        for (x, y) in it {
            b.min.0 = b.min.0.min(x);
            b.min.1 = b.min.1.min(y);
            b.max.0 = b.max.0.max(x);
            b.max.1 = b.max.1.max(y);
        }
        Some(b)
    }

    /// Centre and zoom that show the box in a map of `size` pixels, with a margin.
    pub fn view(&self, size: Vec2) -> ((f64, f64), f64) {
        let a = merc_from_lonlat(self.min.0, self.max.1);
        let b = merc_from_lonlat(self.max.0, self.min.1);
        let c = lonlat_from_merc([(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]);
        let w = (b[0] - a[0]).max(1e-9) * 256.0;
        let h = (b[1] - a[1]).max(1e-9) * 256.0;
        let zx = ((size.x as f64 * 0.85) / w).log2();
        let zy = ((size.y as f64 * 0.85) / h).log2();
        (c, zx.min(zy).clamp(2.0, 18.0))
    }
}

/// Households in map coordinates.
pub struct MapHouseholds {
    pub merc: Vec<[f64; 2]>,
    pub bbox: Option<BBox>,
}

impl MapHouseholds {
    pub fn new(imp: &Imported) -> Self {
        let h = &imp.households;
        let merc: Vec<[f64; 2]> = (0..h.len()).map(|i| merc_from_lonlat(h.lon_deg[i], h.lat_deg[i])).collect();
        let bbox = if h.is_empty() {
            None
        } else {
            // The 0.5 %–99.5 % box, so a stray far outlier does not frame the whole continent.
            let mut lons = h.lon_deg.clone();
            let mut lats = h.lat_deg.clone();
            lons.sort_by(f64::total_cmp);
            lats.sort_by(f64::total_cmp);
            let q = |v: &[f64], f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
            Some(BBox { min: (q(&lons, 0.005), q(&lats, 0.005)), max: (q(&lons, 0.995), q(&lats, 0.995)) })
        };
        Self { merc, bbox }
    }
}

/// One zone ready to draw.
pub struct MapZone {
    pub id: u32,
    pub rank: u32,
    /// Outline (not closed).
    pub ring: Vec<[f64; 2]>,
    /// Fill: triangles (earcut; zones may be concave) over `fill_vertices`.
    pub fill_vertices: Vec<[f64; 2]>,
    pub triangles: Vec<[u32; 3]>,
    pub centre: [f64; 2],
    pub min: [f64; 2],
    pub max: [f64; 2],
    pub bbox: BBox,
}

impl MapZone {
    /// Point-in-polygon (even–odd) in Mercator space.
    pub fn contains(&self, m: [f64; 2]) -> bool {
        if m[0] < self.min[0] || m[0] > self.max[0] || m[1] < self.min[1] || m[1] > self.max[1] {
            return false;
        }
        let mut inside = false;
        let r = &self.ring;
        let mut j = r.len() - 1;
        for i in 0..r.len() {
            let (a, b) = (r[i], r[j]);
            if (a[1] > m[1]) != (b[1] > m[1]) && m[0] < (b[0] - a[0]) * (m[1] - a[1]) / (b[1] - a[1]) + a[0] {
                inside = !inside;
            }
            j = i;
        }
        inside
    }
}

pub struct MapZones {
    /// In rank order.
    pub zones: Vec<MapZone>,
}

impl MapZones {
    pub fn new(result: &ZonesResult) -> Self {
        let zones = result
            .zones
            .iter()
            .map(|z| {
                let mut ring: Vec<[f64; 2]> = z.ring.iter().map(|&(lon, lat)| merc_from_lonlat(lon, lat)).collect();
                if ring.len() > 1 && ring.first() == ring.last() {
                    ring.pop();
                }
                let poly = geo::Polygon::new(
                    geo::LineString::from(ring.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>()),
                    vec![],
                );
                let raw = poly.earcut_triangles_raw();
                let triangles =
                    raw.triangle_indices.chunks_exact(3).map(|t| [t[0] as u32, t[1] as u32, t[2] as u32]).collect();
                let mut min = [f64::INFINITY; 2];
                let mut max = [f64::NEG_INFINITY; 2];
                for p in &ring {
                    for k in 0..2 {
                        min[k] = min[k].min(p[k]);
                        max[k] = max[k].max(p[k]);
                    }
                }
                MapZone {
                    id: z.id,
                    rank: z.rank,
                    ring,
                    fill_vertices: raw.vertices,
                    triangles,
                    centre: merc_from_lonlat(z.centre.0, z.centre.1),
                    min,
                    max,
                    bbox: BBox::of(z.ring.iter().copied()).unwrap_or(BBox { min: z.centre, max: z.centre }),
                }
            })
            .collect();
        Self { zones }
    }

    /// The best-ranked zone under `m`.
    pub fn at(&self, m: [f64; 2]) -> Option<&MapZone> {
        self.zones.iter().find(|z| z.contains(m))
    }
}

/// Lon/lat of a household's unit vector (for tooltips).
pub fn lonlat_of(imp: &Imported, i: usize) -> (f64, f64) {
    lonlat_from_xyz(imp.xyz[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mercator_round_trips_and_hits_known_points() {
        assert_eq!(merc_from_lonlat(0.0, 0.0), [0.5, 0.5]);
        let m = merc_from_lonlat(-180.0, MAX_LAT);
        assert!((m[0]).abs() < 1e-12 && m[1].abs() < 1e-9);
        for &(lon, lat) in &[(-77.03, -12.05), (179.9, 65.0), (-45.0, -80.0)] {
            let (lo, la) = lonlat_from_merc(merc_from_lonlat(lon, lat));
            assert!((lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9);
        }
    }

    #[test]
    fn zone_contains_matches_its_square() {
        let z = MapZone {
            id: 0,
            rank: 1,
            ring: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
            fill_vertices: vec![],
            triangles: vec![],
            centre: [0.5, 0.5],
            min: [0.0, 0.0],
            max: [1.0, 1.0],
            bbox: BBox { min: (0.0, 0.0), max: (1.0, 1.0) },
        };
        assert!(z.contains([0.5, 0.5]));
        assert!(z.contains([0.01, 0.99]));
        assert!(!z.contains([1.5, 0.5]));
        assert!(!z.contains([-0.01, 0.5]));
    }

    #[test]
    fn view_fits_the_box() {
        let b = BBox { min: (-77.1, -12.2), max: (-76.9, -11.9) };
        let (c, z) = b.view(Vec2::new(800.0, 600.0));
        assert!((c.0 + 77.0).abs() < 1e-6);
        // 0.3° of latitude in 510 px: zoom about 10.7.
        assert!((10.0..11.5).contains(&z), "{z}");
    }
}
