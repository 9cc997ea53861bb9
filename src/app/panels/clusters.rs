//! Clusters panel: which households are clustered, the method and its parameters in metres,
//! and the k-distance plot with the suggested eps marked (the usual way to choose it).

use egui::{RichText, Ui};
use egui_plot::{HLine, Line, Plot, PlotPoints};

use crate::analysis::Candidates;
use crate::cluster::Method;

use super::super::i18n::Strings;
use super::super::state::{AppState, Command};
use super::super::worker::Stage;

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("clusters.title"), s.t("clusters.help"));
    let learn = match st.analysis.cluster.method {
        Method::Dbscan => s.t("learn.dbscan"),
        Method::Kmeans => s.t("learn.kmeans"),
        Method::Hdbscan => s.t("learn.hdbscan"),
    };
    super::learn(ui, st.prefs.learn, learn);
    if st.imported.is_none() {
        ui.label(s.t("panel.open_first"));
        return;
    }
    let c = &mut st.analysis.cluster;
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.label(s.t("clusters.households"));
        changed |= ui.radio_value(&mut c.households, Candidates::Critical, s.t("clusters.critical")).changed();
        changed |= ui.radio_value(&mut c.households, Candidates::All, s.t("clusters.all")).changed();
    });
    ui.horizontal(|ui| {
        ui.label(s.t("clusters.method"));
        changed |= ui.radio_value(&mut c.method, Method::Dbscan, "DBSCAN").changed();
        changed |= ui.radio_value(&mut c.method, Method::Hdbscan, "HDBSCAN").changed();
        changed |= ui.radio_value(&mut c.method, Method::Kmeans, "k-means").changed();
    });
    ui.add_space(4.0);
    let resolved = st.clustered.as_ref().map(|r| r.resolved.clone());
    match c.method {
        Method::Dbscan => {
            ui.label(RichText::new(s.t("clusters.dbscan_help")).small().weak());
            let mut auto = c.eps_m.is_none();
            if ui.checkbox(&mut auto, s.t("clusters.auto")).changed() {
                if auto {
                    c.eps_m = None;
                    c.min_points = None;
                } else {
                    c.eps_m = Some(resolved.as_ref().and_then(|r| r.eps_m).unwrap_or(150.0));
                    c.min_points = Some(resolved.as_ref().and_then(|r| r.min_points).unwrap_or(10));
                }
                changed = true;
            }
            ui.horizontal(|ui| {
                ui.label(s.t("clusters.eps"));
                match &mut c.eps_m {
                    Some(e) => {
                        changed |= ui.add(egui::DragValue::new(e).range(5.0..=5000.0).speed(1.0).suffix(" m")).changed()
                    }
                    None => {
                        ui.label(resolved.as_ref().and_then(|r| r.eps_m).map_or("—".into(), |e| format!("{e} m")));
                    }
                }
                let l = ui.label(s.t("clusters.min_points"));
                match &mut c.min_points {
                    Some(m) => changed |= ui.add(egui::DragValue::new(m).range(2..=500)).labelled_by(l.id).changed(),
                    None => {
                        ui.label(resolved.as_ref().and_then(|r| r.min_points).map_or("—".into(), |m| m.to_string()));
                    }
                }
            });
            let has_people = st.imported.as_ref().is_some_and(|i| i.people.is_some());
            ui.add_enabled_ui(has_people, |ui| {
                changed |= ui.checkbox(&mut c.weight_by_people, s.t("clusters.weight_people")).changed();
            });
        }
        Method::Kmeans => {
            ui.label(RichText::new(s.t("clusters.kmeans_help")).small().weak());
            ui.horizontal(|ui| {
                let l = ui.label("k");
                changed |= ui.add(egui::DragValue::new(&mut c.k).range(1..=500)).labelled_by(l.id).changed();
                let l = ui.label(s.t("clusters.seed"));
                changed |= ui.add(egui::DragValue::new(&mut c.seed)).labelled_by(l.id).changed();
            });
            changed |= ui.checkbox(&mut c.need_weighted, s.t("clusters.need_weighted")).changed();
        }
        Method::Hdbscan => {
            ui.label(RichText::new(s.t("clusters.hdbscan_help")).small().weak());
            ui.horizontal(|ui| {
                let l = ui.label(s.t("clusters.min_cluster_size"));
                changed |=
                    ui.add(egui::DragValue::new(&mut c.min_cluster_size).range(2..=5000)).labelled_by(l.id).changed();
                let l = ui.label(s.t("clusters.min_samples"));
                changed |= ui.add(egui::DragValue::new(&mut c.min_samples).range(1..=500)).labelled_by(l.id).changed();
            });
        }
    }
    if changed {
        cmds.push(Command::Rerun(Stage::Cluster));
    }
    if let Some(r) = &st.clustered {
        ui.separator();
        let mut line = s.f("clusters.summary", &[("clusters", &r.clusters), ("noise", &r.noise)]);
        if let Some(i) = r.inertia_m2 {
            line += &format!(" · inertia {:.3e} m²", i);
        }
        ui.label(line);
    }
    if st.analysis.cluster.method == Method::Dbscan
        && let Some(sug) = &st.suggestion
    {
        ui.separator();
        ui.label(RichText::new(s.f("clusters.kdist_title", &[("k", &sug.min_points)])).strong());
        ui.label(RichText::new(s.t("clusters.kdist_help")).small().weak());
        let eps_used = st.clustered.as_ref().and_then(|r| r.resolved.eps_m).unwrap_or(sug.eps_m);
        let pts: PlotPoints = sug.k_distances.iter().enumerate().map(|(i, &d)| [i as f64, d]).collect();
        // The tail (isolated households) runs to kilometres; show the knee.
        let top = (4.0 * sug.eps_m.max(eps_used)).min(sug.k_distances.last().copied().unwrap_or(1.0).max(1.0));
        Plot::new("kdist")
            .height(170.0)
            .default_y_bounds(0.0, top)
            .default_x_bounds(0.0, (sug.k_distances.len() as f64).max(1.0))
            .allow_scroll(false)
            .x_axis_label(s.t("clusters.kdist_x"))
            .y_axis_label(s.t("clusters.kdist_y"))
            .legend(egui_plot::Legend::default())
            .show(ui, |p| {
                p.line(Line::new(s.t("clusters.kdist_line"), pts));
                p.hline(HLine::new(s.f("clusters.suggested", &[("eps", &sug.eps_m)]), sug.eps_m));
                if (eps_used - sug.eps_m).abs() > 1e-9 {
                    p.hline(HLine::new(s.f("clusters.used", &[("eps", &eps_used)]), eps_used));
                }
            });
        if ui.button(s.f("clusters.use_suggested", &[("eps", &sug.eps_m), ("k", &sug.min_points)])).clicked() {
            st.analysis.cluster.eps_m = Some(sug.eps_m);
            st.analysis.cluster.min_points = Some(sug.min_points);
            cmds.push(Command::Rerun(Stage::Cluster));
        }
    }
}
