//! The embedded offline basemap (decoded in [`crate::basemap`]) as egui shapes.

use egui::epaint::{Mesh, PathShape, PathStroke};
use egui::{Color32, Rect, Shape, Stroke};

pub use crate::basemap::{ATTRIBUTION, Basemap, basemap};
use crate::basemap::{BORDER_RGB, LAND_RGB, OCEAN_RGB};

use super::Screen;

const fn rgb(c: [u8; 3]) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

pub const OCEAN: Color32 = rgb(OCEAN_RGB);
pub const LAND: Color32 = rgb(LAND_RGB);
pub const BORDER: Color32 = rgb(BORDER_RGB);

/// The shapes of the basemap for this frame, clipped to `rect`.
pub fn shapes(map: &Basemap, screen: &Screen, rect: Rect) -> Vec<Shape> {
    let mut out = vec![Shape::rect_filled(rect, 0.0, OCEAN)];
    let mut mesh = Mesh::default();
    mesh.vertices.reserve(map.land_vertices.len());
    for &v in &map.land_vertices {
        mesh.colored_vertex(screen.pos(v), LAND);
    }
    mesh.indices = map.land_triangles.clone();
    out.push(Shape::mesh(mesh));
    let lo = screen.merc(rect.min);
    let hi = screen.merc(rect.max);
    let stroke = Stroke::new(0.8, BORDER);
    for (pts, bb) in &map.lines {
        if bb[2] < lo[0] || bb[0] > hi[0] || bb[3] < lo[1] || bb[1] > hi[1] {
            continue;
        }
        let points = pts.iter().map(|&p| screen.pos(p)).collect();
        out.push(Shape::Path(PathShape {
            points,
            closed: false,
            fill: Color32::TRANSPARENT,
            stroke: PathStroke::from(stroke),
        }));
    }
    out
}
