//! Zones: one polygon per cluster, judged by everything inside it, and ranked.
//!
//! A zone's polygon is the convex (or concave) hull of its cluster's households, built in a
//! local metric [`Plane`] centred on the cluster. Its figures count *every* household inside
//! the polygon (boundary included), not only the critical ones that formed it: households,
//! people, critical households and share, mean and total need, area and density. A cluster
//! whose hull has no area (one household, or all on a line) gets a 10 m buffer around its
//! households instead, so every zone can be drawn and entered.
//!
//! Zones are ranked by a stated [`Priority`] (total need by default); ties go to the zone
//! with more households, then to the lower zone id. A zone's id is its cluster number.

use geo::orient::{Direction, Orient as _};
use geo::{Area as _, ConcaveHull as _, ConvexHull as _, Coord, Intersects as _, MultiPoint, Point, Polygon};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::plane::Plane;
use crate::progress::{Cancelled, Progress};
use crate::sphere::chord_from_metres;
use crate::sphere::{self, Xyz};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hull {
    #[default]
    Convex,
    /// Concave hull (concaveman); lower concavity follows the households more tightly
    /// (2 is detailed, large values approach the convex hull).
    Concave { concavity: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    TotalNeed,
    MeanNeed,
    CriticalHouseholds,
    CriticalShare,
    People,
    Households,
    Density,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ZoneParams {
    pub hull: Hull,
    pub priority: Priority,
}

/// One ranked zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zone {
    /// The cluster number it was built from.
    pub id: u32,
    /// 1 = highest priority.
    pub rank: u32,
    /// Exterior ring, lon/lat degrees, counter-clockwise, closed (first = last).
    pub ring: Vec<(f64, f64)>,
    pub centre: (f64, f64),
    /// Households of the cluster that formed it.
    pub members: usize,
    /// Households inside the polygon.
    pub households: usize,
    /// People inside (sum of the people column), when the file has one.
    pub people: Option<f64>,
    pub critical: usize,
    pub critical_share: f64,
    pub mean_need: f64,
    pub total_need: f64,
    pub area_m2: f64,
    /// Households per km².
    pub density_per_km2: f64,
}

impl Zone {
    /// The value zones are ranked by under `p` (highest first).
    pub fn priority_value(&self, p: Priority) -> f64 {
        match p {
            Priority::TotalNeed => self.total_need,
            Priority::MeanNeed => self.mean_need,
            Priority::CriticalHouseholds => self.critical as f64,
            Priority::CriticalShare => self.critical_share,
            Priority::People => self.people.unwrap_or(self.households as f64),
            Priority::Households => self.households as f64,
            Priority::Density => self.density_per_km2,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ZonesResult {
    /// Ranked: `zones[0]` has rank 1.
    pub zones: Vec<Zone>,
    /// Zone id of each household (its own cluster's zone when inside it, otherwise the
    /// best-ranked zone containing it), or -1.
    pub zone_of: Vec<i32>,
    /// The households inside each zone's polygon (those its figures count), in increasing
    /// order; parallel to `zones`. A household may be inside more than one zone.
    pub inside: Vec<Vec<u32>>,
}

/// Inputs shared by every zone.
pub struct ZoneInputs<'a> {
    pub xyz: &'a [Xyz],
    pub need: &'a [f64],
    pub critical: &'a [bool],
    pub people: Option<&'a [f64]>,
    /// Cluster of each household, -1 for none.
    pub labels: &'a [i32],
}

const BUFFER_M: f64 = 10.0;

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn polygon_for(pts: &[(f64, f64)], hull: Hull) -> Polygon<f64> {
    let mp: MultiPoint<f64> = pts.iter().map(|&(x, y)| Point::new(x, y)).collect();
    let poly = match hull {
        Hull::Convex => mp.convex_hull(),
        Hull::Concave { concavity } => {
            let opts = geo::algorithm::concave_hull::ConcaveHullOptions::default().concavity(concavity.max(0.1));
            mp.concave_hull_with_options(opts)
        }
    };
    if poly.unsigned_area() >= 1.0 {
        return poly.orient(Direction::Default);
    }
    // Degenerate: an octagon of BUFFER_M around each household, then the hull of those.
    let ring: MultiPoint<f64> = pts
        .iter()
        .flat_map(|&(x, y)| {
            (0..8).map(move |k| {
                let a = k as f64 * std::f64::consts::FRAC_PI_4;
                Point::new(x + BUFFER_M * a.cos(), y + BUFFER_M * a.sin())
            })
        })
        .collect();
    ring.convex_hull().orient(Direction::Default)
}

/// Builds and ranks the zones of every cluster.
pub fn build_zones(inp: &ZoneInputs, params: &ZoneParams, progress: &Progress) -> Result<ZonesResult, Cancelled> {
    let n = inp.xyz.len();
    let n_clusters = inp.labels.iter().copied().max().map_or(0, |m| (m + 1).max(0) as usize);
    progress.stage("zones", n_clusters as u64);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_clusters];
    for (i, &l) in inp.labels.iter().enumerate() {
        if l >= 0 {
            members[l as usize].push(i as u32);
        }
    }
    let shapes: Vec<Shape> = members
        .par_iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
        .map(|(c, m)| -> Result<Shape, Cancelled> {
            progress.check()?;
            let z = shape(inp, c as u32, m, params.hull);
            progress.add(1);
            Ok(z)
        })
        .collect::<Result<_, _>>()?;
    let inside = households_inside(inp, &shapes, progress)?;
    let built: Vec<(Zone, Vec<u32>)> = shapes
        .into_iter()
        .zip(inside)
        .map(|(sh, inside)| {
            progress.check()?;
            Ok(figures(inp, sh, &members, inside))
        })
        .collect::<Result<_, Cancelled>>()?;
    let mut zones: Vec<(Zone, Vec<u32>)> = built;
    let p = params.priority;
    zones.sort_by(|(a, _), (b, _)| {
        b.priority_value(p).total_cmp(&a.priority_value(p)).then(b.households.cmp(&a.households)).then(a.id.cmp(&b.id))
    });
    let mut zone_of = vec![-1i32; n];
    let mut best_rank = vec![u32::MAX; n];
    for (r, (z, inside)) in zones.iter_mut().enumerate() {
        z.rank = r as u32 + 1;
        for &i in inside.iter() {
            let i = i as usize;
            let own = inp.labels[i] == z.id as i32;
            let current_own = zone_of[i] >= 0 && inp.labels[i] == zone_of[i];
            if own || (!current_own && z.rank < best_rank[i]) {
                zone_of[i] = z.id as i32;
                best_rank[i] = z.rank;
            }
        }
    }
    let (zones, inside) = zones.into_iter().unzip();
    Ok(ZonesResult { zones, zone_of, inside })
}

/// A zone's polygon, before its figures.
struct Shape {
    id: u32,
    plane: Plane,
    poly: Polygon<f64>,
    /// The cap around `centre_xyz` that holds the polygon: chord length, squared.
    reach_chord2: f64,
    centre_xyz: Xyz,
    centre: (f64, f64),
}

impl Shape {
    /// Whether household `p` is inside the polygon (boundary included).
    fn holds(&self, p: Xyz) -> bool {
        // The same squared chord as the R-tree's within-distance query.
        let d = [p[0] - self.centre_xyz[0], p[1] - self.centre_xyz[1], p[2] - self.centre_xyz[2]];
        if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > self.reach_chord2 {
            return false;
        }
        let (lon, lat) = sphere::lonlat_from_xyz(p);
        let (x, y) = self.plane.xy_from_lonlat(lon, lat);
        self.poly.intersects(&Coord { x, y })
    }
}

fn shape(inp: &ZoneInputs, id: u32, members: &[u32], hull: Hull) -> Shape {
    let (clon, clat) = sphere::centre_lonlat(members.iter().map(|&i| inp.xyz[i as usize]))
        .unwrap_or_else(|| sphere::lonlat_from_xyz(inp.xyz[members[0] as usize]));
    let plane = Plane::new(clon, clat);
    let mut pts: Vec<(f64, f64)> = members
        .iter()
        .map(|&i| {
            let (lon, lat) = sphere::lonlat_from_xyz(inp.xyz[i as usize]);
            plane.xy_from_lonlat(lon, lat)
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    let poly = polygon_for(&pts, hull);
    let reach = poly.exterior().coords().map(|c| c.x.hypot(c.y)).fold(0.0, f64::max) + 1.0;
    let r = chord_from_metres(reach);
    Shape {
        id,
        plane,
        poly,
        reach_chord2: r * r,
        centre_xyz: sphere::xyz_from_lonlat(clon, clat),
        centre: (clon, clat),
    }
}

/// The households inside each shape, in increasing order: every household is tested against
/// the shapes whose bounding box holds it (an R-tree of the few shapes), so no index over all
/// households is needed.
fn households_inside(inp: &ZoneInputs, shapes: &[Shape], progress: &Progress) -> Result<Vec<Vec<u32>>, Cancelled> {
    use rstar::primitives::{GeomWithData, Rectangle};
    let boxes: Vec<GeomWithData<Rectangle<Xyz>, u32>> = shapes
        .iter()
        .enumerate()
        .map(|(k, sh)| {
            // The cap lies within `reach` (chord) of its centre along every axis; a little
            // more for rounding.
            let r = sh.reach_chord2.sqrt() * (1.0 + 1e-9) + 1e-12;
            let c = sh.centre_xyz;
            let rect = Rectangle::from_corners([c[0] - r, c[1] - r, c[2] - r], [c[0] + r, c[1] + r, c[2] + r]);
            GeomWithData::new(rect, k as u32)
        })
        .collect();
    let tree = rstar::RTree::bulk_load(boxes);
    const CHUNK: usize = 1 << 16;
    let n = inp.xyz.len();
    // (shape, household) pairs, chunk by chunk in household order.
    let pairs: Vec<Vec<(u32, u32)>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| -> Result<Vec<(u32, u32)>, Cancelled> {
            progress.check()?;
            let mut out = Vec::new();
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let p = inp.xyz[i];
                for b in tree.locate_all_at_point(p) {
                    if shapes[b.data as usize].holds(p) {
                        out.push((b.data, i as u32));
                    }
                }
            }
            Ok(out)
        })
        .collect::<Result<_, _>>()?;
    let mut inside: Vec<Vec<u32>> = vec![Vec::new(); shapes.len()];
    for chunk in pairs {
        for (k, i) in chunk {
            inside[k as usize].push(i);
        }
    }
    Ok(inside)
}

/// A zone's figures from the households inside it (in increasing order).
fn figures(inp: &ZoneInputs, sh: Shape, members: &[Vec<u32>], inside: Vec<u32>) -> (Zone, Vec<u32>) {
    let Shape { id, plane, poly, centre: (clon, clat), .. } = sh;
    let area_m2 = poly.unsigned_area();
    let mut critical = 0usize;
    let mut total_need = 0.0;
    let mut scored = 0usize;
    let mut people = 0.0;
    for &i in &inside {
        let i = i as usize;
        critical += inp.critical[i] as usize;
        if inp.need[i].is_finite() {
            total_need += inp.need[i];
            scored += 1;
        }
        if let Some(p) = inp.people {
            people += if p[i].is_finite() { p[i] } else { 0.0 };
        }
    }
    let households = inside.len();
    let ring: Vec<(f64, f64)> = poly
        .exterior()
        .coords()
        .map(|c| {
            let (lon, lat) = plane.lonlat_from_xy(c.x, c.y);
            (round7(lon), round7(lat))
        })
        .collect();
    let zone = Zone {
        id,
        rank: 0,
        ring,
        centre: (round7(clon), round7(clat)),
        members: members[id as usize].len(),
        households,
        people: inp.people.map(|_| people),
        critical,
        critical_share: if households > 0 { critical as f64 / households as f64 } else { 0.0 },
        mean_need: if scored > 0 { total_need / scored as f64 } else { 0.0 },
        total_need,
        area_m2,
        density_per_km2: if area_m2 > 0.0 { households as f64 / (area_m2 / 1e6) } else { 0.0 },
    };
    (zone, inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::xyz_from_lonlat;

    /// A square of side ~111.2 m (0.001° of latitude) at the equator, households at the
    /// corners and the centre, plus one household outside.
    fn square() -> Vec<(f64, f64)> {
        vec![(0.0, 0.0), (0.001, 0.0), (0.001, 0.001), (0.0, 0.001), (0.0005, 0.0005), (0.003, 0.003)]
    }

    fn build(ll: &[(f64, f64)], labels: &[i32], need: &[f64], critical: &[bool], hull: Hull) -> ZonesResult {
        let xyz: Vec<Xyz> = ll.iter().map(|&(a, b)| xyz_from_lonlat(a, b)).collect();
        let inp = ZoneInputs { xyz: &xyz, need, critical, people: None, labels };
        build_zones(&inp, &ZoneParams { hull, priority: Priority::TotalNeed }, &Progress::new()).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

        /// The households found inside each zone through the R-tree of zone bounds are those
        /// an R-tree of all households within the zone's reach finds, and those a scan of
        /// every household finds.
        #[test]
        fn households_inside_match_a_full_scan(
            ll in proptest::collection::vec((-0.02f64..0.02, -0.02f64..0.02), 20..300),
            clusters in 1usize..8,
            seed in 0u64..1000,
        ) {
            let xyz: Vec<Xyz> = ll.iter().map(|&(a, b)| xyz_from_lonlat(179.99 + a, 10.0 + b)).collect();
            // Labels: about a third noise, the rest spread over the clusters.
            let labels: Vec<i32> = (0..xyz.len())
                .map(|i| {
                    let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
                    if h.is_multiple_of(3) { -1 } else { (h % clusters as u64) as i32 }
                })
                .collect();
            let need = vec![0.5; xyz.len()];
            let critical = vec![true; xyz.len()];
            let inp = ZoneInputs { xyz: &xyz, need: &need, critical: &critical, people: None, labels: &labels };
            let mut members: Vec<Vec<u32>> = vec![Vec::new(); clusters];
            for (i, &l) in labels.iter().enumerate() {
                if l >= 0 {
                    members[l as usize].push(i as u32);
                }
            }
            let shapes: Vec<Shape> = members
                .iter()
                .enumerate()
                .filter(|(_, m)| !m.is_empty())
                .map(|(c, m)| shape(&inp, c as u32, m, Hull::Convex))
                .collect();
            let found = households_inside(&inp, &shapes, &Progress::new()).unwrap();
            let index = crate::index::Index::new(&xyz);
            for (sh, got) in shapes.iter().zip(&found) {
                let scan: Vec<u32> = (0..xyz.len() as u32).filter(|&i| sh.holds(xyz[i as usize])).collect();
                proptest::prop_assert_eq!(got, &scan);
                let reach = crate::sphere::metres_from_chord(sh.reach_chord2.sqrt());
                let mut near: Vec<u32> =
                    index.within(sh.centre_xyz, reach * (1.0 + 1e-9)).filter(|&i| sh.holds(xyz[i as usize])).collect();
                near.sort_unstable();
                proptest::prop_assert_eq!(got, &near);
                // Every member is inside its own zone.
                for &m in &members[sh.id as usize] {
                    proptest::prop_assert!(got.binary_search(&m).is_ok(), "member {} outside zone {}", m, sh.id);
                }
            }
        }
    }

    #[test]
    fn square_hull_area_and_members_by_hand() {
        // The four corners form the cluster; the centre household is not in it but is inside.
        let labels = [0, 0, 0, 0, -1, -1];
        let need = [0.5, 0.5, 0.5, 0.5, 1.0, 0.9];
        let crit = [true, true, true, true, false, false];
        let out = build(&square(), &labels, &need, &crit, Hull::Convex);
        let z = &out.zones[0];
        // Side along the equator: R·0.001° = 111.195 m; along the meridian the same.
        let side = crate::sphere::EARTH_RADIUS_M * 0.001f64.to_radians();
        assert!((z.area_m2 - side * side).abs() / (side * side) < 1e-4, "{} vs {}", z.area_m2, side * side);
        assert_eq!(z.households, 5);
        assert_eq!(z.members, 4);
        assert_eq!(z.critical, 4);
        assert!((z.critical_share - 0.8).abs() < 1e-12);
        assert!((z.total_need - 3.0).abs() < 1e-12);
        assert!((z.mean_need - 0.6).abs() < 1e-12);
        assert_eq!(out.zone_of, vec![0, 0, 0, 0, 0, -1]);
        assert_eq!(z.ring.first(), z.ring.last());
        // Counter-clockwise: positive shoelace area in lon/lat.
        let s: f64 = z.ring.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum();
        assert!(s > 0.0);
    }

    #[test]
    fn ranking_by_total_need_with_ties() {
        let ll = [(0.0, 0.0), (0.0001, 0.0), (0.0, 0.0001), (1.0, 1.0), (1.0001, 1.0), (1.0, 1.0001)];
        let labels = [0, 0, 0, 1, 1, 1];
        let crit = [true; 6];
        let out = build(&ll, &labels, &[0.1, 0.1, 0.1, 0.9, 0.9, 0.9], &crit, Hull::Convex);
        assert_eq!(out.zones.iter().map(|z| (z.id, z.rank)).collect::<Vec<_>>(), vec![(1, 1), (0, 2)]);
        let out = build(&ll, &labels, &[0.5; 6], &crit, Hull::Convex);
        assert_eq!(out.zones.iter().map(|z| z.id).collect::<Vec<_>>(), vec![0, 1], "tie → lower id first");
    }

    #[test]
    fn single_household_zone_is_buffered() {
        let out = build(&[(10.0, 10.0)], &[0], &[1.0], &[true], Hull::Convex);
        let z = &out.zones[0];
        assert_eq!(z.households, 1);
        // Octagon of circumradius 10 m: area 2·√2·r² = 282.84 m².
        assert!((z.area_m2 - 282.842_7).abs() < 0.01, "{}", z.area_m2);
    }

    #[test]
    fn collinear_households_are_buffered() {
        let ll = [(0.0, 0.0), (0.0001, 0.0), (0.0002, 0.0)];
        let out = build(&ll, &[0, 0, 0], &[1.0; 3], &[true; 3], Hull::Convex);
        assert!(out.zones[0].area_m2 > 400.0 && out.zones[0].households == 3);
    }

    #[test]
    fn concave_hull_is_inside_the_convex_one() {
        // An L shape: the concave hull leaves out the empty corner.
        let mut ll = Vec::new();
        for i in 0..20 {
            for j in 0..3 {
                ll.push((i as f64 * 0.0001, j as f64 * 0.0001));
                ll.push((j as f64 * 0.0001, i as f64 * 0.0001));
            }
        }
        let labels = vec![0; ll.len()];
        let need = vec![1.0; ll.len()];
        let crit = vec![true; ll.len()];
        let convex = build(&ll, &labels, &need, &crit, Hull::Convex).zones[0].area_m2;
        let concave = build(&ll, &labels, &need, &crit, Hull::Concave { concavity: 1.0 }).zones[0].area_m2;
        assert!(concave < 0.8 * convex, "{concave} vs {convex}");
    }
}
