//! The embedded offline basemap: Natural Earth land and country borders (1:50m, public
//! domain, via world-atlas TopoJSON in `assets/basemap/`), drawn under the app's map and the
//! printed maps when no tiles are available.
//!
//! The TopoJSON is decoded once (quantised, delta-encoded arcs; a negative index `!i` means
//! arc `i` reversed) and the land polygons are triangulated with earcut in normalised Web
//! Mercator ([`crate::webmerc`]); drawing only applies an affine transform.

use std::sync::OnceLock;

use geo::TriangulateEarcut as _;
use serde::Deserialize;

use crate::webmerc::merc_from_lonlat;

const TOPOJSON: &str = include_str!("../assets/basemap/countries-50m.json");

pub const ATTRIBUTION: &str = "Natural Earth";

#[derive(Deserialize)]
struct Topology {
    transform: TopoTransform,
    arcs: Vec<Vec<[i64; 2]>>,
    objects: Objects,
}

#[derive(Deserialize)]
struct TopoTransform {
    scale: [f64; 2],
    translate: [f64; 2],
}

#[derive(Deserialize)]
struct Objects {
    land: Collection,
}

#[derive(Deserialize)]
struct Collection {
    geometries: Vec<Geometry>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Geometry {
    Polygon {
        arcs: Vec<Vec<i64>>,
    },
    MultiPolygon {
        arcs: Vec<Vec<Vec<i64>>>,
    },
    #[serde(other)]
    Other,
}

/// Decoded basemap in normalised Mercator.
pub struct Basemap {
    pub land_vertices: Vec<[f64; 2]>,
    pub land_triangles: Vec<u32>,
    /// Coastlines and borders, each with its bounding box.
    pub lines: Vec<(Vec<[f64; 2]>, [f64; 4])>,
}

/// The basemap, decoded on first use.
pub fn basemap() -> &'static Basemap {
    static B: OnceLock<Basemap> = OnceLock::new();
    B.get_or_init(|| {
        decode(TOPOJSON).unwrap_or(Basemap { land_vertices: vec![], land_triangles: vec![], lines: vec![] })
    })
}

fn decode(text: &str) -> Result<Basemap, serde_json::Error> {
    let topo: Topology = serde_json::from_str(text)?;
    let [sx, sy] = topo.transform.scale;
    let [tx, ty] = topo.transform.translate;
    // Absolute lon/lat of every arc.
    let arcs: Vec<Vec<(f64, f64)>> = topo
        .arcs
        .iter()
        .map(|arc| {
            let (mut x, mut y) = (0i64, 0i64);
            arc.iter()
                .map(|d| {
                    x += d[0];
                    y += d[1];
                    (x as f64 * sx + tx, y as f64 * sy + ty)
                })
                .collect()
        })
        .collect();
    let ring = |indices: &[i64]| -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::new();
        for &i in indices {
            let (arc, rev) = if i >= 0 { (&arcs[i as usize], false) } else { (&arcs[(!i) as usize], true) };
            let pts: Box<dyn Iterator<Item = &(f64, f64)>> =
                if rev { Box::new(arc.iter().rev()) } else { Box::new(arc.iter()) };
            for (k, p) in pts.enumerate() {
                // Consecutive arcs share their end point.
                if k == 0 && !out.is_empty() {
                    continue;
                }
                out.push(*p);
            }
        }
        out
    };
    let mut polygons: Vec<&Vec<Vec<i64>>> = Vec::new();
    for g in &topo.objects.land.geometries {
        match g {
            Geometry::Polygon { arcs } => polygons.push(arcs),
            Geometry::MultiPolygon { arcs } => polygons.extend(arcs.iter()),
            Geometry::Other => {}
        }
    }
    let mut land_vertices = Vec::new();
    let mut land_triangles = Vec::new();
    for rings in polygons {
        let to_ls = |r: &[i64]| {
            geo::LineString::from(
                ring(r)
                    .into_iter()
                    .map(|(lon, lat)| {
                        let m = merc_from_lonlat(lon, lat);
                        (m[0], m[1])
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let Some(outer) = rings.first() else { continue };
        let poly = geo::Polygon::new(to_ls(outer), rings[1..].iter().map(|r| to_ls(r)).collect());
        let raw = poly.earcut_triangles_raw();
        let base = land_vertices.len() as u32;
        land_vertices.extend(raw.vertices);
        land_triangles.extend(raw.triangle_indices.iter().map(|&i| base + i as u32));
    }
    let lines = arcs
        .iter()
        .map(|arc| {
            let pts: Vec<[f64; 2]> = arc.iter().map(|&(lon, lat)| merc_from_lonlat(lon, lat)).collect();
            let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for p in &pts {
                bb[0] = bb[0].min(p[0]);
                bb[1] = bb[1].min(p[1]);
                bb[2] = bb[2].max(p[0]);
                bb[3] = bb[3].max(p[1]);
            }
            (pts, bb)
        })
        .collect();
    Ok(Basemap { land_vertices, land_triangles, lines })
}

/// Sea, land and border colours (sRGB), the same in the app and on paper.
pub const OCEAN_RGB: [u8; 3] = [0xc6, 0xdc, 0xe8];
pub const LAND_RGB: [u8; 3] = [0xf2, 0xef, 0xe6];
pub const BORDER_RGB: [u8; 3] = [0x9a, 0x94, 0x88];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_basemap_decodes_into_land_and_borders() {
        let b = basemap();
        assert!(b.land_vertices.len() > 10_000, "{} land vertices", b.land_vertices.len());
        assert_eq!(b.land_triangles.len() % 3, 0);
        assert!(b.land_triangles.iter().all(|&i| (i as usize) < b.land_vertices.len()));
        assert!(b.lines.len() > 1000);
        // Lima is on land; a point 300 km west of it, in the Pacific, is not.
        let inside = |lon: f64, lat: f64| {
            let p = merc_from_lonlat(lon, lat);
            b.land_triangles.chunks_exact(3).any(|t| {
                let [a, bb, c] = [t[0], t[1], t[2]].map(|i| b.land_vertices[i as usize]);
                let s =
                    |p1: [f64; 2], p2: [f64; 2]| (p[0] - p2[0]) * (p1[1] - p2[1]) - (p1[0] - p2[0]) * (p[1] - p2[1]);
                let (d1, d2, d3) = (s(a, bb), s(bb, c), s(c, a));
                !((d1 < 0.0 || d2 < 0.0 || d3 < 0.0) && (d1 > 0.0 || d2 > 0.0 || d3 > 0.0))
            })
        };
        assert!(inside(-77.0, -12.0), "Lima should be on land");
        assert!(!inside(-80.0, -12.0), "the Pacific off Peru should be sea");
        assert!(inside(2.35, 48.85), "Paris should be on land");
    }
}
