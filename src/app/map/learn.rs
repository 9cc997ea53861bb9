//! Learn mode on the map: what the clustering step used for the household under the pointer.
//! For DBSCAN, the eps circle around it, the neighbours inside, and whether it is a core,
//! border or noise household (counted the way DBSCAN counts: itself included, people when the
//! run counts people); for k-means, its cluster's centre and the lines from every household
//! of that cluster to it.

use egui::{Align2, Color32, FontId, Painter, Stroke, vec2};
use walkers::{Projector, lon_lat};

use crate::analysis::{Clustered, Imported, Scored};
use crate::cluster::Method;
use crate::sphere::{chord_from_metres, chord2, lonlat_from_xyz};

use super::{Screen, merc_from_lonlat};

/// A household's DBSCAN status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Core,
    Border,
    Noise,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    /// Not among the households clustered (e.g. not critical).
    NotClustered,
    Dbscan {
        eps_m: f64,
        min_points: usize,
        /// Households clustered within eps (itself included), as DBSCAN counts them.
        neighbours: Vec<u32>,
        /// What is compared with min points: neighbours, or their people.
        count: f64,
        status: Status,
    },
    Kmeans {
        cluster: i32,
        /// The cluster's centre (Mercator) and members (at most [`MAX_LINES`] drawn).
        centre: [f64; 2],
        members: Vec<u32>,
        size: usize,
    },
    Other {
        cluster: i32,
    },
}

/// At most this many centre lines are drawn.
pub const MAX_LINES: usize = 4000;

/// What Learn mode shows for one household under one clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub household: usize,
    /// The clustering it was computed for (its `Arc` address).
    pub clustering: usize,
    pub kind: ProbeKind,
}

impl Probe {
    /// Computes what the clustering used for household `i` (brute force over the clustered
    /// households: a few milliseconds for a million, once per household hovered).
    pub fn new(imp: &Imported, scored: &Scored, c: &Clustered, clustering: usize, i: usize) -> Probe {
        let kind = if !c.candidates[i] {
            ProbeKind::NotClustered
        } else {
            match c.resolved.method {
                Method::Dbscan => {
                    let eps_m = c.resolved.eps_m.unwrap_or(150.0);
                    let min_points = c.resolved.min_points.unwrap_or(10);
                    let r = chord_from_metres(eps_m);
                    let r2 = r * r;
                    let p = imp.xyz[i];
                    let neighbours: Vec<u32> = (0..c.labels.len())
                        .filter(|&j| c.candidates[j] && chord2(p, imp.xyz[j]) <= r2)
                        .map(|j| j as u32)
                        .collect();
                    let count = match (&imp.people, c.resolved.weight_by_people) {
                        (Some(people), true) => neighbours
                            .iter()
                            .map(|&j| {
                                let v = people[j as usize];
                                if v.is_finite() { v.max(0.0) } else { 1.0 }
                            })
                            .sum(),
                        _ => neighbours.len() as f64,
                    };
                    let status = if count >= min_points as f64 {
                        Status::Core
                    } else if c.labels[i] >= 0 {
                        Status::Border
                    } else {
                        Status::Noise
                    };
                    ProbeKind::Dbscan { eps_m, min_points, neighbours, count, status }
                }
                Method::Kmeans => {
                    let cluster = c.labels[i];
                    let all: Vec<u32> =
                        (0..c.labels.len()).filter(|&j| c.labels[j] == cluster).map(|j| j as u32).collect();
                    // The centre k-means keeps: the (need-weighted) mean position.
                    let mut s = [0.0; 3];
                    for &j in &all {
                        let w = if c.resolved.need_weighted { scored.need.score[j as usize].max(0.0) } else { 1.0 };
                        for (acc, x) in s.iter_mut().zip(imp.xyz[j as usize]) {
                            *acc += w * x;
                        }
                    }
                    let (lon, lat) = lonlat_from_xyz(s);
                    let size = all.len();
                    let step = size.div_ceil(MAX_LINES).max(1);
                    let members = all.into_iter().step_by(step).collect();
                    ProbeKind::Kmeans { cluster, centre: merc_from_lonlat(lon, lat), members, size }
                }
                Method::Hdbscan => ProbeKind::Other { cluster: c.labels[i] },
            }
        };
        Probe { household: i, clustering, kind }
    }

    /// One line for the household's tooltip (already translated by `s`).
    pub fn describe(&self, s: super::super::i18n::Strings) -> Option<String> {
        Some(match &self.kind {
            ProbeKind::NotClustered => s.t("learn.not_clustered").to_string(),
            ProbeKind::Dbscan { eps_m, min_points, count, status, .. } => s.f(
                match status {
                    Status::Core => "learn.core",
                    Status::Border => "learn.border",
                    Status::Noise => "learn.noise",
                },
                &[("n", &format!("{count:.0}")), ("eps", eps_m), ("min", min_points)],
            ),
            ProbeKind::Kmeans { size, .. } => s.f("learn.kmeans_probe", &[("n", size)]),
            ProbeKind::Other { .. } => return None,
        })
    }
}

pub fn status_colour(s: Status) -> Color32 {
    match s {
        Status::Core => Color32::from_rgb(0x1b, 0x7a, 0x3a),
        Status::Border => Color32::from_rgb(0xd9, 0x75, 0x00),
        Status::Noise => Color32::from_rgb(0x60, 0x60, 0x60),
    }
}

/// Draws the probe over the map.
pub fn draw(painter: &Painter, probe: &Probe, merc: &[[f64; 2]], screen: &Screen, projector: &Projector) {
    let at = screen.pos(merc[probe.household]);
    match &probe.kind {
        ProbeKind::Dbscan { eps_m, neighbours, status, .. } => {
            let (lon, lat) = super::lonlat_from_merc(merc[probe.household]);
            let px_per_m = projector.scale_pixel_per_meter(lon_lat(lon, lat)) as f64;
            let radius = (eps_m * px_per_m) as f32;
            let colour = status_colour(*status);
            painter.circle(at, radius, colour.gamma_multiply(0.12), Stroke::new(2.0, colour));
            for &j in neighbours.iter().take(MAX_LINES) {
                painter.circle_stroke(screen.pos(merc[j as usize]), 4.0, Stroke::new(1.5, colour));
            }
            painter.circle_filled(at, 5.0, colour);
            painter.text(
                at + vec2(radius.max(8.0) * 0.72, -radius.max(8.0) * 0.72),
                Align2::LEFT_BOTTOM,
                format!("eps {eps_m} m"),
                FontId::proportional(13.0),
                colour,
            );
        }
        ProbeKind::Kmeans { centre, members, .. } => {
            let c = screen.pos(*centre);
            let line = Stroke::new(1.0, Color32::from_rgba_unmultiplied(0x08, 0x30, 0x6b, 90));
            for &j in members {
                painter.line_segment([screen.pos(merc[j as usize]), c], line);
            }
            let s = Stroke::new(3.0, Color32::from_rgb(0x08, 0x30, 0x6b));
            painter.line_segment([c - vec2(9.0, 9.0), c + vec2(9.0, 9.0)], s);
            painter.line_segment([c - vec2(9.0, -9.0), c + vec2(9.0, -9.0)], s);
        }
        ProbeKind::NotClustered | ProbeKind::Other { .. } => {}
    }
}
