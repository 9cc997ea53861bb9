//! Study panel: parameter studies for learners and planners. A DBSCAN sweep over eps × min
//! points as a heat map (click a cell to use it), k-means inertia and silhouette against k,
//! HDBSCAN zones and noise against min cluster size, and a comparison of the clusters now with
//! clusters kept earlier (agreement and which zones match). The sweep runs on the worker with
//! progress and Cancel; every figure is [`crate::sweep::sweep`]'s, as `needmap sweep` prints.

use std::sync::Arc;

use egui::{Color32, RichText, Sense, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

use crate::analysis::Clustered;
use crate::cluster::Method;
use crate::sweep::{Comparison, Row, SweepSpec, compare};
use crate::zones::ZonesResult;

use super::super::i18n::Strings;
use super::super::state::{AppState, Command};
use super::super::worker::Stage;

/// A finished sweep.
pub struct StudyResult {
    pub spec: SweepSpec,
    pub rows: Vec<Row>,
}

/// Clusters kept to compare the current ones with.
pub struct Kept {
    pub clustered: Arc<Clustered>,
    pub zones: Option<Arc<ZonesResult>>,
    pub describe: String,
}

/// What the heat map's colour shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shade {
    #[default]
    Zones,
    Noise,
    Stability,
}

pub struct StudyState {
    pub method: Option<Method>,
    /// eps from, to, step (metres).
    pub eps: [f64; 3],
    pub min_points: [usize; 3],
    pub k_max: usize,
    pub min_cluster_size: [usize; 3],
    /// k-means silhouette sample.
    pub sample: usize,
    pub shade: Shade,
    pub result: Option<StudyResult>,
    pub kept: Option<Kept>,
    /// The comparison of `kept` with the clusters it was computed for.
    comparison: Option<(usize, usize, Arc<Comparison>)>,
}

impl Default for StudyState {
    fn default() -> Self {
        Self {
            method: None,
            eps: [50.0, 400.0, 25.0],
            min_points: [5, 30, 5],
            k_max: 12,
            min_cluster_size: [5, 50, 5],
            sample: 2000,
            shade: Shade::Zones,
            result: None,
            kept: None,
            comparison: None,
        }
    }
}

fn steps<T: Copy + Into<f64>>(r: [T; 3]) -> Vec<f64> {
    let (a, b, d) = (r[0].into(), r[1].into(), r[2].into());
    if d <= 0.0 || a > b {
        return vec![a];
    }
    let n = ((b - a) / d + 1e-9).floor() as usize;
    (0..=n.min(200)).map(|i| a + d * i as f64).collect()
}

impl StudyState {
    pub fn clear_results(&mut self) {
        self.result = None;
        self.kept = None;
        self.comparison = None;
    }

    /// The sweep the panel's settings ask for.
    pub fn spec(&self, method: Method) -> SweepSpec {
        let to_usize = |v: Vec<f64>| v.into_iter().map(|x| x.round() as usize).collect::<Vec<_>>();
        let as_f = |r: [usize; 3]| [r[0] as f64, r[1] as f64, r[2] as f64];
        SweepSpec {
            method,
            eps_m: if method == Method::Dbscan { steps(self.eps) } else { vec![] },
            min_points: if method == Method::Dbscan { to_usize(steps(as_f(self.min_points))) } else { vec![] },
            k: if method == Method::Kmeans { (2..=self.k_max.max(2)).collect() } else { vec![] },
            min_cluster_size: if method == Method::Hdbscan {
                to_usize(steps(as_f(self.min_cluster_size)))
            } else {
                vec![]
            },
            sample: self.sample,
        }
    }
}

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>, busy: bool) {
    super::heading(ui, s.t("study.title"), s.t("study.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.study"));
    if st.scored.is_none() {
        ui.label(s.t(if st.imported.is_some() { "zones.none_yet" } else { "panel.open_first" }));
        return;
    }
    let method = *st.study.method.get_or_insert(st.analysis.cluster.method);
    let mut m = method;
    ui.horizontal(|ui| {
        ui.label(s.t("clusters.method"));
        ui.radio_value(&mut m, Method::Dbscan, "DBSCAN");
        ui.radio_value(&mut m, Method::Hdbscan, "HDBSCAN");
        ui.radio_value(&mut m, Method::Kmeans, "k-means");
    });
    st.study.method = Some(m);
    let study = &mut st.study;
    let settings = match m {
        Method::Dbscan => {
            egui::Grid::new("study_grid").num_columns(4).show(ui, |ui| {
                ui.label("");
                ui.label(s.t("study.from"));
                ui.label(s.t("study.to"));
                ui.label(s.t("study.step"));
                ui.end_row();
                let l = ui.label(s.t("study.eps_m"));
                for (k, v) in study.eps.iter_mut().enumerate() {
                    let lo = if k == 2 { 1.0 } else { 5.0 };
                    ui.add(egui::DragValue::new(v).range(lo..=5000.0).speed(1.0).suffix(" m")).labelled_by(l.id);
                }
                ui.end_row();
                let l = ui.label(s.t("clusters.min_points"));
                for (k, v) in study.min_points.iter_mut().enumerate() {
                    ui.add(egui::DragValue::new(v).range(if k == 2 { 1 } else { 2 }..=500)).labelled_by(l.id);
                }
                ui.end_row();
            });
            let spec = study.spec(m);
            spec.eps_m.len() * spec.min_points.len()
        }
        Method::Kmeans => {
            ui.horizontal(|ui| {
                let l = ui.label(s.t("study.k_max"));
                ui.add(egui::DragValue::new(&mut study.k_max).range(2..=100)).labelled_by(l.id);
                let l = ui.label(s.t("study.sample"));
                ui.add(egui::DragValue::new(&mut study.sample).range(100..=20_000).speed(50)).labelled_by(l.id);
            });
            study.k_max.max(2) - 1
        }
        Method::Hdbscan => {
            ui.horizontal(|ui| {
                let l = ui.label(s.t("clusters.min_cluster_size"));
                for (k, v) in study.min_cluster_size.iter_mut().enumerate() {
                    ui.add(egui::DragValue::new(v).range(if k == 2 { 1 } else { 2 }..=5000)).labelled_by(l.id);
                }
            });
            study.spec(m).min_cluster_size.len()
        }
    };
    ui.horizontal(|ui| {
        if ui.add_enabled(!busy, egui::Button::new(s.t("study.run"))).clicked() {
            cmds.push(Command::Sweep);
        }
        ui.label(RichText::new(s.f("study.settings", &[("n", &settings)])).weak());
    });
    if let Some(r) = &st.study.result {
        ui.separator();
        let current = &st.analysis.cluster;
        let used = st.clustered.as_ref().map(|c| &c.resolved);
        match r.spec.method {
            Method::Dbscan => {
                let cur = used.map(|u| (u.eps_m, u.min_points)).unwrap_or((current.eps_m, current.min_points));
                if let Some((eps, mp)) = heat_map(ui, r, &mut st.study.shade, cur, s) {
                    st.analysis.cluster.method = Method::Dbscan;
                    st.analysis.cluster.eps_m = Some(eps);
                    st.analysis.cluster.min_points = Some(mp);
                    cmds.push(Command::Rerun(Stage::Cluster));
                }
            }
            Method::Kmeans => {
                if let Some(k) = kmeans_plots(ui, r, s) {
                    st.analysis.cluster.method = Method::Kmeans;
                    st.analysis.cluster.k = k;
                    cmds.push(Command::Rerun(Stage::Cluster));
                }
            }
            Method::Hdbscan => {
                if let Some(m) = hdbscan_plot(ui, r, s) {
                    st.analysis.cluster.method = Method::Hdbscan;
                    st.analysis.cluster.min_cluster_size = m;
                    cmds.push(Command::Rerun(Stage::Cluster));
                }
            }
        }
    }
    ui.separator();
    compare_ui(ui, st, s);
}

/// Colour of `t` in [0, 1] on a light-to-dark blue ramp (readable with black or white text).
fn ramp(t: f64) -> Color32 {
    let t = t.clamp(0.0, 1.0) as f32;
    let lerp = |a: f32, b: f32| (a + (b - a) * t) as u8;
    Color32::from_rgb(lerp(239.0, 8.0), lerp(243.0, 48.0), lerp(255.0, 107.0))
}

/// The DBSCAN heat map: min points down, eps across; returns the cell clicked.
fn heat_map(
    ui: &mut Ui,
    r: &StudyResult,
    shade: &mut Shade,
    current: (Option<f64>, Option<usize>),
    s: Strings,
) -> Option<(f64, usize)> {
    ui.label(RichText::new(s.t("study.heat_title")).strong());
    ui.horizontal(|ui| {
        ui.label(s.t("study.colour"));
        ui.radio_value(shade, Shade::Zones, s.t("study.shade_zones"));
        ui.radio_value(shade, Shade::Noise, s.t("study.shade_noise"));
        ui.radio_value(shade, Shade::Stability, s.t("study.shade_stability"));
    });
    let (eps, mps) = (&r.spec.eps_m, &r.spec.min_points);
    let max_zones = r.rows.iter().map(|x| x.clusters).max().unwrap_or(1).max(1) as f64;
    let value = |row: &Row| match shade {
        Shade::Zones => row.clusters as f64 / max_zones,
        Shade::Noise => row.noise_share,
        Shade::Stability => row.ari_prev.unwrap_or(1.0),
    };
    let label_w = 34.0;
    let avail = ui.available_width() - label_w;
    let cell = vec2((avail / eps.len() as f32).clamp(12.0, 48.0), 20.0);
    let mut clicked = None;
    egui::ScrollArea::horizontal().id_salt("heat").show(ui, |ui| {
        ui.spacing_mut().item_spacing = vec2(0.0, 0.0);
        // Column heads: eps in metres (every other one when the cells are narrow).
        ui.horizontal(|ui| {
            ui.add_sized([label_w, 16.0], egui::Label::new(RichText::new("m").small().weak()));
            let every = if cell.x >= 30.0 { 1 } else { 2 };
            for (j, &e) in eps.iter().enumerate() {
                let text = if j % every == 0 { format!("{e}") } else { String::new() };
                ui.add_sized([cell.x, 16.0], egui::Label::new(RichText::new(text).small()));
            }
        });
        for (i, &mp) in mps.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.add_sized([label_w, cell.y], egui::Label::new(RichText::new(mp.to_string()).small()));
                for (j, &e) in eps.iter().enumerate() {
                    let row = &r.rows[i * eps.len() + j];
                    let (rect, resp) = ui.allocate_exact_size(cell, Sense::click());
                    let name = s.f("study.cell", &[("eps", &e), ("min", &mp)]);
                    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                    let v = value(row);
                    let fill = ramp(v);
                    let p = ui.painter();
                    p.rect_filled(rect.shrink(0.5), 0.0, fill);
                    if current == (Some(e), Some(mp)) {
                        p.rect_stroke(
                            rect.shrink(1.0),
                            0.0,
                            (2.0, Color32::from_rgb(0xd9, 0x48, 0x01)),
                            egui::StrokeKind::Inside,
                        );
                    }
                    if cell.x >= 22.0 {
                        let text = row.clusters.to_string();
                        let colour = if v > 0.55 { Color32::WHITE } else { Color32::BLACK };
                        p.text(
                            rect.center(),
                            egui::Align2::CENTER_CENTER,
                            text,
                            egui::FontId::proportional(11.0),
                            colour,
                        );
                    }
                    let ari = |a: Option<f64>| a.map_or("—".to_string(), |a| format!("{a:.2}"));
                    let resp = resp.on_hover_text(s.f(
                        "study.cell_tip",
                        &[
                            ("eps", &e),
                            ("min", &mp),
                            ("zones", &row.clusters),
                            ("noise", &format!("{:.0}", 100.0 * row.noise_share)),
                            ("ari_eps", &ari(row.ari_prev)),
                            ("ari_min", &ari(row.ari_prev_min_points)),
                        ],
                    ));
                    if resp.clicked() {
                        clicked = Some((e, mp));
                    }
                }
            });
        }
        ui.horizontal(|ui| {
            ui.add_space(label_w);
            let first = eps.first().copied().unwrap_or_default();
            let last = eps.last().copied().unwrap_or_default();
            ui.label(RichText::new(s.f("study.eps_axis", &[("from", &first), ("to", &last)])).small());
        });
    });
    ui.label(RichText::new(s.t("study.heat_help")).small().weak());
    clicked
}

fn use_buttons(ui: &mut Ui, values: &[usize], label_key: &'static str, s: Strings) -> Option<usize> {
    let mut out = None;
    ui.horizontal_wrapped(|ui| {
        ui.label(s.t("study.use"));
        for &v in values {
            if ui.small_button(s.f(label_key, &[("v", &v)])).clicked() {
                out = Some(v);
            }
        }
    });
    out
}

fn kmeans_plots(ui: &mut Ui, r: &StudyResult, s: Strings) -> Option<usize> {
    let ks: Vec<usize> = r.rows.iter().filter_map(|x| x.k).collect();
    let inertia: PlotPoints =
        r.rows.iter().filter_map(|x| Some([x.k? as f64, x.inertia_m2? / 1e6])).collect::<Vec<_>>().into();
    let sil: Vec<[f64; 2]> = r.rows.iter().filter_map(|x| Some([x.k? as f64, x.silhouette?])).collect();
    ui.label(RichText::new(s.t("study.elbow")).strong());
    Plot::new("elbow").height(150.0).allow_scroll(false).x_axis_label("k").y_axis_label("km²").show(ui, |p| {
        p.line(Line::new(s.t("study.inertia"), inertia));
    });
    ui.label(RichText::new(s.f("study.silhouette", &[("n", &r.spec.sample)])).strong());
    Plot::new("silhouette").height(150.0).allow_scroll(false).x_axis_label("k").show(ui, |p| {
        p.line(Line::new(s.t("study.silhouette_line"), PlotPoints::from(sil.clone())));
        p.points(Points::new("", PlotPoints::from(sil)).radius(3.0));
    });
    use_buttons(ui, &ks, "study.use_k", s)
}

fn hdbscan_plot(ui: &mut Ui, r: &StudyResult, s: Strings) -> Option<usize> {
    let sizes: Vec<usize> = r.rows.iter().filter_map(|x| x.min_cluster_size).collect();
    let zones: Vec<[f64; 2]> =
        r.rows.iter().filter_map(|x| Some([x.min_cluster_size? as f64, x.clusters as f64])).collect();
    let noise: Vec<[f64; 2]> =
        r.rows.iter().filter_map(|x| Some([x.min_cluster_size? as f64, 100.0 * x.noise_share])).collect();
    ui.label(RichText::new(s.t("study.hdbscan_title")).strong());
    Plot::new("hdbscan_zones")
        .height(170.0)
        .allow_scroll(false)
        .legend(Legend::default())
        .x_axis_label(s.t("clusters.min_cluster_size"))
        .show(ui, |p| {
            p.line(Line::new(s.t("study.shade_zones"), PlotPoints::from(zones)));
            p.line(Line::new(s.t("study.noise_pct"), PlotPoints::from(noise)));
        });
    use_buttons(ui, &sizes, "study.use_mcs", s)
}

/// "Keep these clusters" and how the current ones compare with the kept ones.
fn compare_ui(ui: &mut Ui, st: &mut AppState, s: Strings) {
    ui.label(RichText::new(s.t("study.compare_title")).strong());
    ui.label(RichText::new(s.t("study.compare_help")).small().weak());
    let Some(now) = st.clustered.clone() else { return };
    if ui.button(s.t("study.keep")).clicked() {
        st.study.kept = Some(Kept { clustered: now.clone(), zones: st.zones.clone(), describe: describe(&now, s) });
        st.study.comparison = None;
    }
    let Some(kept) = &st.study.kept else { return };
    if kept.clustered.labels.len() != now.labels.len() {
        return;
    }
    let key = (Arc::as_ptr(&kept.clustered) as usize, Arc::as_ptr(&now) as usize);
    let cmp = match &st.study.comparison {
        Some((a, b, c)) if (*a, *b) == key => c.clone(),
        _ => {
            let c = Arc::new(compare(&kept.clustered.labels, &now.labels));
            st.study.comparison = Some((key.0, key.1, c.clone()));
            c
        }
    };
    egui::Grid::new("compare_head").num_columns(2).show(ui, |ui| {
        ui.label("A");
        ui.label(&kept.describe);
        ui.end_row();
        ui.label("B");
        ui.label(describe(&now, s));
        ui.end_row();
    });
    ui.label(RichText::new(s.f("study.ari", &[("ari", &format!("{:.3}", cmp.ari))])).strong());
    let rank = |z: Option<&Arc<ZonesResult>>, id: i32| {
        z.and_then(|z| z.zones.iter().find(|x| x.id as i32 == id)).map_or("—".to_string(), |x| format!("#{}", x.rank))
    };
    let same = cmp.matches.iter().filter(|m| m.jaccard >= 0.5).count();
    ui.label(s.f("study.matched", &[("same", &same), ("of", &cmp.matches.len())]));
    egui::Grid::new("compare_rows").striped(true).num_columns(4).show(ui, |ui| {
        ui.strong(s.t("study.zone_a"));
        ui.strong(s.t("study.zone_b"));
        ui.strong(s.t("zones.col_households"));
        ui.strong(s.t("study.overlap"));
        ui.end_row();
        for m in cmp.matches.iter().take(15) {
            ui.label(rank(kept.zones.as_ref(), m.a));
            ui.label(m.b.map_or("—".to_string(), |b| rank(st.zones.as_ref(), b)));
            ui.label(format!("{} / {}", m.a_size, m.b_size));
            ui.label(format!("{:.0} %", 100.0 * m.jaccard));
            ui.end_row();
        }
    });
}

fn describe(c: &Clustered, s: Strings) -> String {
    let r = &c.resolved;
    let how = match r.method {
        Method::Dbscan => format!(
            "DBSCAN eps {} m, min points {}",
            r.eps_m.map_or("—".into(), |e| e.to_string()),
            r.min_points.map_or("—".into(), |m| m.to_string())
        ),
        Method::Kmeans => format!("k-means k = {}", r.k),
        Method::Hdbscan => format!("HDBSCAN min cluster size {}", r.min_cluster_size),
    };
    format!("{how} · {}", s.f("clusters.summary", &[("clusters", &c.clusters), ("noise", &c.noise)]))
}
