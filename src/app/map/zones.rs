//! Zones layer: polygons filled by rank (rank 1 darkest), outlined, labelled `#rank`; the
//! selected zone is drawn on top with a thick outline. A click on a zone selects it; a click
//! elsewhere on the map clears the selection.

use egui::epaint::Mesh;
use egui::{Align2, Color32, FontId, Response, Shape, Stroke, Ui};
use walkers::{MapMemory, Plugin, Projector};

use super::{MapZone, MapZones, Screen};

pub const SELECTED: Color32 = Color32::from_rgb(0x00, 0xb4, 0xd8);

/// Fill for rank `rank` of `n` ([`crate::palette::zone_rgb`]).
pub fn rank_colour(rank: u32, n: usize) -> Color32 {
    let [r, g, b] = crate::palette::zone_rgb(rank, n);
    Color32::from_rgb(r, g, b)
}

pub struct ZonesLayer<'a> {
    pub data: &'a MapZones,
    pub selected: &'a mut Option<u32>,
    /// Written: the zone under the pointer.
    pub hovered: &'a mut Option<u32>,
    /// Written: a zone was clicked (or the map, to clear) this frame.
    pub clicked: &'a mut bool,
}

fn fill_mesh(z: &MapZone, screen: &Screen, colour: Color32) -> Mesh {
    let mut mesh = Mesh::default();
    for &v in &z.fill_vertices {
        mesh.colored_vertex(screen.pos(v), colour);
    }
    for t in &z.triangles {
        mesh.add_triangle(t[0], t[1], t[2]);
    }
    mesh
}

impl Plugin for ZonesLayer<'_> {
    fn run(self: Box<Self>, ui: &mut Ui, response: &Response, projector: &Projector, _memory: &MapMemory) {
        let screen = Screen::from_projector(projector);
        let rect = response.rect;
        let painter = ui.painter_at(rect);
        let lo = screen.merc(rect.min);
        let hi = screen.merc(rect.max);
        let n = self.data.zones.len();
        let on_screen = |z: &MapZone| !(z.max[0] < lo[0] || z.min[0] > hi[0] || z.max[1] < lo[1] || z.min[1] > hi[1]);
        // Worst rank first, so better-ranked zones are painted on top.
        for z in self.data.zones.iter().rev().filter(|z| on_screen(z)) {
            let colour = rank_colour(z.rank, n);
            painter.add(Shape::mesh(fill_mesh(z, &screen, colour.gamma_multiply(0.45))));
            let points = z.ring.iter().map(|&p| screen.pos(p)).collect();
            painter.add(Shape::closed_line(points, Stroke::new(1.5, colour)));
        }
        *self.hovered = response.hover_pos().and_then(|h| self.data.at(screen.merc(h))).map(|z| z.id);
        if response.clicked() {
            *self.selected = *self.hovered;
            *self.clicked = true;
        }
        if let Some(z) = self.selected.and_then(|id| self.data.zones.iter().find(|z| z.id == id)) {
            painter.add(Shape::mesh(fill_mesh(z, &screen, SELECTED.gamma_multiply(0.25))));
            let points = z.ring.iter().map(|&p| screen.pos(p)).collect();
            painter.add(Shape::closed_line(points, Stroke::new(3.5, SELECTED)));
        }
        // Labels: every zone big enough on screen, and always the ten best.
        let font = FontId::proportional(12.0);
        for z in self.data.zones.iter().filter(|z| on_screen(z)) {
            let w = (z.max[0] - z.min[0]) * screen.scale;
            if z.rank > 10 && w < 28.0 {
                continue;
            }
            let p = screen.pos(z.centre);
            let text = format!("#{}", z.rank);
            let galley = painter.layout_no_wrap(text, font.clone(), Color32::WHITE);
            let r = Align2::CENTER_CENTER.anchor_size(p, galley.size()).expand2(egui::vec2(3.0, 1.0));
            painter.rect_filled(r, 3.0, rank_colour(z.rank, n).gamma_multiply(0.9));
            painter.galley(r.min + egui::vec2(3.0, 1.0), galley, Color32::WHITE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_one_is_darkest() {
        let lum = |c: Color32| c.r() as u32 + c.g() as u32 + c.b() as u32;
        assert!(lum(rank_colour(1, 10)) < lum(rank_colour(5, 10)));
        assert!(lum(rank_colour(5, 10)) < lum(rank_colour(10, 10)));
        assert_eq!(rank_colour(1, 1), rank_colour(1, 10));
    }
}
