//! Households layer: one dot per household, coloured by need score or by cluster; when more
//! than [`MAX_DOTS`] are on screen, aggregated into square cells coloured by their mean need
//! (or their first cluster) so a million households stay readable and fast.

use egui::epaint::Mesh;
use egui::{Color32, Pos2, Rect, Response, Ui, pos2, vec2};
use rayon::prelude::*;
use walkers::{MapMemory, Plugin, Projector};

use super::{MapHouseholds, Screen};

/// Above this many visible households, draw cells instead of dots.
pub const MAX_DOTS: usize = 40_000;
/// Side of an aggregation cell, in points.
pub const CELL_PX: f32 = 6.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ColourBy {
    #[default]
    Need,
    Cluster,
}

/// Yellow → orange → dark red (ColorBrewer YlOrRd), for a need score in [0, 1]
/// ([`crate::palette::need_rgb`]).
pub fn need_colour(score: f64) -> Color32 {
    let [r, g, b] = crate::palette::need_rgb(score);
    Color32::from_rgb(r, g, b)
}

/// A qualitative palette (ColorBrewer Set1 + Dark2) for cluster numbers; grey for noise.
pub fn cluster_colour(label: i32) -> Color32 {
    const P: [(u8, u8, u8); 14] = [
        (0xe4, 0x1a, 0x1c),
        (0x37, 0x7e, 0xb8),
        (0x4d, 0xaf, 0x4a),
        (0x98, 0x4e, 0xa3),
        (0xff, 0x7f, 0x00),
        (0xa6, 0x56, 0x28),
        (0xf7, 0x81, 0xbf),
        (0x1b, 0x9e, 0x77),
        (0xd9, 0x5f, 0x02),
        (0x75, 0x70, 0xb3),
        (0xe7, 0x29, 0x8a),
        (0x66, 0xa6, 0x1e),
        (0xe6, 0xab, 0x02),
        (0x66, 0x66, 0x66),
    ];
    if label < 0 {
        return Color32::from_gray(170);
    }
    let (r, g, b) = P[label as usize % P.len()];
    Color32::from_rgb(r, g, b)
}

pub struct HouseholdsLayer<'a> {
    pub data: &'a MapHouseholds,
    pub need: Option<&'a [f64]>,
    pub labels: Option<&'a [i32]>,
    pub colour_by: ColourBy,
    /// Written: the household under the pointer (dots only).
    pub hovered: &'a mut Option<usize>,
    /// Written: whether cells were drawn this frame.
    pub aggregated: &'a mut bool,
}

impl HouseholdsLayer<'_> {
    fn colour(&self, i: usize) -> Color32 {
        match (self.colour_by, self.labels, self.need) {
            (ColourBy::Cluster, Some(l), _) => cluster_colour(l[i]),
            (_, _, Some(n)) => need_colour(n[i]),
            _ => Color32::from_rgb(0x31, 0x82, 0xbd),
        }
    }
}

impl Plugin for HouseholdsLayer<'_> {
    fn run(self: Box<Self>, ui: &mut Ui, response: &Response, projector: &Projector, _memory: &MapMemory) {
        let screen = Screen::from_projector(projector);
        let rect = response.rect;
        let lo = screen.merc(rect.min);
        let hi = screen.merc(rect.max);
        let cols = (rect.width() / CELL_PX).ceil().max(1.0) as usize + 1;
        let rows = (rect.height() / CELL_PX).ceil().max(1.0) as usize + 1;
        let (need, labels) = (self.need, self.labels);
        // One parallel pass: bin every household in view into cells, and keep the visible
        // ones as long as they are few enough to draw one by one.
        let acc = self
            .data
            .merc
            .par_chunks(1 << 15)
            .enumerate()
            .fold(
                || Cells::new(cols * rows),
                |mut acc, (c, chunk)| {
                    for (k, m) in chunk.iter().enumerate() {
                        if !(m[0] >= lo[0] && m[0] <= hi[0] && m[1] >= lo[1] && m[1] <= hi[1]) {
                            continue;
                        }
                        let i = (c << 15) + k;
                        if acc.visible.len() <= MAX_DOTS {
                            acc.visible.push(i as u32);
                        }
                        acc.total += 1;
                        let p = screen.pos(*m);
                        let cx = (((p.x - rect.min.x) / CELL_PX) as usize).min(cols - 1);
                        let cy = (((p.y - rect.min.y) / CELL_PX) as usize).min(rows - 1);
                        let cell = &mut acc.cells[cy * cols + cx];
                        cell.0 += 1;
                        if let Some(n) = need
                            && n[i].is_finite()
                        {
                            cell.1 += n[i];
                        }
                        // The smallest cluster number in the cell: the same whatever the split.
                        if let Some(l) = labels
                            && l[i] >= 0
                            && (cell.2 < 0 || l[i] < cell.2)
                        {
                            cell.2 = l[i];
                        }
                    }
                    acc
                },
            )
            .reduce(|| Cells::new(cols * rows), Cells::merge);
        let painter = ui.painter_at(rect);
        let mut mesh = Mesh::default();
        *self.aggregated = acc.total > MAX_DOTS;
        let visible = acc.visible;
        if *self.aggregated {
            for (k, &(count, sum, label)) in acc.cells.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                let min = pos2(rect.min.x + (k % cols) as f32 * CELL_PX, rect.min.y + (k / cols) as f32 * CELL_PX);
                let colour = match (self.colour_by, self.labels.is_some(), self.need.is_some()) {
                    (ColourBy::Cluster, true, _) => cluster_colour(label),
                    (_, _, true) => need_colour(sum / count as f64),
                    _ => Color32::from_rgb(0x31, 0x82, 0xbd),
                };
                // More households, more opaque.
                let alpha = (0.35 + 0.15 * (count as f32).ln()).clamp(0.35, 0.95);
                mesh.add_colored_rect(Rect::from_min_size(min, vec2(CELL_PX, CELL_PX)), colour.gamma_multiply(alpha));
            }
            *self.hovered = None;
        } else {
            let r = (projector.zoom() as f32 - 9.0).clamp(1.5, 4.5);
            let outline = Color32::from_black_alpha(110);
            for &i in &visible {
                let p = screen.pos(self.data.merc[i as usize]);
                let c = self.colour(i as usize);
                mesh.add_colored_rect(Rect::from_center_size(p, vec2(2.0 * r + 1.0, 2.0 * r + 1.0)), outline);
                mesh.add_colored_rect(Rect::from_center_size(p, vec2(2.0 * r, 2.0 * r)), c);
            }
            *self.hovered = response.hover_pos().and_then(|h| nearest(&visible, &self.data.merc, &screen, h, 8.0));
            if let Some(i) = *self.hovered {
                let p = screen.pos(self.data.merc[i]);
                painter.circle_stroke(p, r + 4.0, egui::Stroke::new(2.0, Color32::BLACK));
            }
        }
        painter.add(egui::Shape::mesh(mesh));
    }
}

/// Per-thread result of the binning pass.
struct Cells {
    /// (households, need sum, smallest cluster) per cell.
    cells: Vec<(u32, f64, i32)>,
    /// Visible households in input order, kept up to `MAX_DOTS + 1`.
    visible: Vec<u32>,
    total: usize,
}

impl Cells {
    fn new(n: usize) -> Self {
        Self { cells: vec![(0, 0.0, -1); n], visible: Vec::new(), total: 0 }
    }

    /// `self` covers households before `other`'s.
    fn merge(mut self, other: Cells) -> Cells {
        for (a, b) in self.cells.iter_mut().zip(&other.cells) {
            a.0 += b.0;
            a.1 += b.1;
            if b.2 >= 0 && (a.2 < 0 || b.2 < a.2) {
                a.2 = b.2;
            }
        }
        if self.visible.len() <= MAX_DOTS {
            self.visible.extend(other.visible.iter().take(MAX_DOTS + 1 - self.visible.len()));
        }
        self.total += other.total;
        self
    }
}

fn nearest(visible: &[u32], merc: &[[f64; 2]], screen: &Screen, at: Pos2, within: f32) -> Option<usize> {
    let mut best = None;
    let mut best_d = within * within;
    for &i in visible {
        let d = screen.pos(merc[i as usize]).distance_sq(at);
        if d <= best_d {
            best_d = d;
            best = Some(i as usize);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_colours_run_from_yellow_to_dark_red() {
        assert_eq!(need_colour(0.0), Color32::from_rgb(0xff, 0xff, 0xb2));
        assert_eq!(need_colour(1.0), Color32::from_rgb(0xbd, 0x00, 0x26));
        assert_eq!(need_colour(f64::NAN), Color32::from_gray(150));
        // Monotone in green: higher need, less green.
        let g: Vec<u8> = (0..=10).map(|k| need_colour(k as f64 / 10.0).g()).collect();
        assert!(g.windows(2).all(|w| w[0] >= w[1]), "{g:?}");
    }

    #[test]
    fn noise_is_grey_and_clusters_differ() {
        assert_eq!(cluster_colour(-1), Color32::from_gray(170));
        assert_ne!(cluster_colour(0), cluster_colour(1));
    }
}
