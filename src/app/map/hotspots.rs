//! Hot-spots layer: households in a significant hot spot (red) or cold spot (blue) after the
//! false-discovery correction, shaded by their confidence bin (90, 95, 99 %), the way ArcGIS
//! users read a hot-spot map. Households not significant are left to the households layer.

use egui::{Color32, Response, Ui, vec2};
use walkers::{MapMemory, Plugin, Projector};

use super::{MapHouseholds, Screen};
use crate::hotspots::HotspotResult;

/// Colour of a confidence bin (−3…3); 0 is not drawn.
pub fn bin_colour(bin: i8) -> Color32 {
    match bin {
        3 => Color32::from_rgb(0xb2, 0x18, 0x2b),
        2 => Color32::from_rgb(0xef, 0x8a, 0x62),
        b if b >= 1 => Color32::from_rgb(0xfd, 0xdb, 0xc7),
        -3 => Color32::from_rgb(0x21, 0x66, 0xac),
        -2 => Color32::from_rgb(0x67, 0xa9, 0xcf),
        b if b <= -1 => Color32::from_rgb(0xd1, 0xe5, 0xf0),
        _ => Color32::TRANSPARENT,
    }
}

pub struct MapHotspots {
    /// Significant households (normalised Mercator) and their confidence bin.
    pub points: Vec<([f64; 2], i8)>,
}

impl MapHotspots {
    pub fn new(r: &HotspotResult, households: &MapHouseholds) -> Self {
        let points = r
            .hot
            .iter()
            .zip(&r.bin)
            .enumerate()
            .filter(|(_, (h, _))| **h != 0)
            .filter_map(|(i, (h, b))| {
                // A significant household's bin has its sign; at least bin 1.
                let bin = if *b == 0 { *h } else { *b };
                households.merc.get(i).map(|m| (*m, bin))
            })
            .collect();
        Self { points }
    }
}

pub struct HotspotsLayer<'a> {
    pub data: &'a MapHotspots,
}

impl Plugin for HotspotsLayer<'_> {
    fn run(self: Box<Self>, ui: &mut Ui, response: &Response, projector: &Projector, _memory: &MapMemory) {
        let screen = Screen::from_projector(projector);
        let rect = response.rect;
        let painter = ui.painter_at(rect);
        let lo = screen.merc(rect.min);
        let hi = screen.merc(rect.max);
        let visible =
            self.data.points.iter().filter(|(m, _)| m[0] >= lo[0] && m[0] <= hi[0] && m[1] >= lo[1] && m[1] <= hi[1]);
        // Weakest bins first, so the 99 % ones are on top.
        for level in 1..=3i8 {
            for (m, bin) in visible.clone().filter(|(_, b)| b.abs() == level) {
                let p = screen.pos(*m);
                painter.rect_filled(egui::Rect::from_center_size(p, vec2(5.0, 5.0)), 1.0, bin_colour(*bin));
            }
        }
    }
}
