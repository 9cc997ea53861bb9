//! Audit panel: whom does the ranking leave out, and how much does it hinge on the weights?
//! Weight sensitivity (each zone's chance of staying in the top K and its 5–95 % rank range
//! under redrawn weights, as a chart), indicator influence, and group coverage with the
//! four-fifths flags in plain words.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

use crate::data::ColumnKind;

use super::super::i18n::Strings;
use super::super::state::{AppState, Command};

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("audit.title"), s.t("audit.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.audit"));
    let Some(imp) = st.imported.clone() else {
        ui.label(s.t("panel.open_first"));
        return;
    };
    let d = &mut st.audit_draft;
    ui.label(s.t("audit.groups"));
    ui.horizontal_wrapped(|ui| {
        let candidates = imp.households.columns.iter().filter(|c| {
            c.role == crate::data::Role::Attribute
                && matches!(c.kind, ColumnKind::Category | ColumnKind::Bool)
                && c.distinct <= 100
        });
        for c in candidates {
            let mut on = d.groups.contains(&c.name);
            if ui.checkbox(&mut on, &c.name).changed() {
                if on {
                    d.groups.push(c.name.clone());
                } else {
                    d.groups.retain(|g| g != &c.name);
                }
            }
        }
    });
    egui::Grid::new("audit_settings").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
        let l = ui.label(s.t("audit.draws"));
        ui.add(egui::DragValue::new(&mut d.draws).range(1..=10_000)).labelled_by(l.id);
        ui.end_row();
        let l = ui.label(s.t("audit.top_k"));
        ui.add(egui::DragValue::new(&mut d.top_k).range(1..=1000)).labelled_by(l.id);
        ui.end_row();
        let l = ui.label(s.t("clusters.seed"));
        ui.add(egui::DragValue::new(&mut d.seed)).labelled_by(l.id);
        ui.end_row();
    });
    let stage = super::OptionalStage {
        current: st.analysis.audit.as_ref(),
        draft: &st.audit_draft,
        has_result: st.audit.is_some(),
        keys: ["audit.run", "audit.update", "audit.remove"],
        commands: [Command::RunAudit, Command::RemoveAudit],
    };
    if !super::stage_buttons(ui, s, stage, cmds) {
        return;
    }
    let Some(r) = st.audit.clone() else { return };
    ui.separator();
    ui.label(RichText::new(s.t("audit.flags")).strong());
    if r.flags.is_empty() {
        ui.label(s.t("audit.no_flags"));
    }
    for f in &r.flags {
        ui.label(RichText::new(format!("! {f}")).color(egui::Color32::from_rgb(0xe6, 0x9f, 0x00)));
    }
    // Zones by rank with their 5–95 % rank range under the redrawn weights.
    ui.add_space(4.0);
    ui.label(RichText::new(s.f("audit.chart_title", &[("draws", &r.settings.draws)])).strong());
    let shown: Vec<_> = r.zones.iter().filter(|z| z.rank as usize <= 30).collect();
    let ranges: Vec<Line> = shown
        .iter()
        .map(|z| {
            Line::new(
                s.t("audit.range"),
                PlotPoints::from(vec![[z.rank as f64, z.rank_p05 as f64], [z.rank as f64, z.rank_p95 as f64]]),
            )
            .color(egui::Color32::from_rgb(0x9e, 0x9a, 0xc8))
            .width(4.0)
        })
        .collect();
    let ranks: PlotPoints = shown.iter().map(|z| [z.rank as f64, z.rank as f64]).collect();
    let k = r.settings.top_k as f64;
    Plot::new("audit_ranks")
        .height(170.0)
        .allow_scroll(false)
        .x_axis_label(s.t("audit.chart_x"))
        .y_axis_label(s.t("audit.chart_y"))
        .legend(Legend::default())
        .show(ui, |p| {
            for l in ranges {
                p.line(l);
            }
            p.points(
                Points::new(s.t("audit.rank"), ranks).radius(3.0).color(egui::Color32::from_rgb(0x3f, 0x00, 0x7d)),
            );
            p.hline(egui_plot::HLine::new(s.f("audit.top_line", &[("k", &r.settings.top_k)]), k + 0.5));
        });
    egui::Grid::new("audit_zones").striped(true).num_columns(3).show(ui, |ui| {
        ui.strong(s.t("zones.col_rank"));
        ui.strong(s.f("audit.col_p_top", &[("k", &r.settings.top_k)]));
        ui.strong(s.t("audit.col_range"));
        ui.end_row();
        for z in shown.iter().take(r.settings.top_k.max(10)) {
            ui.label(format!("#{}", z.rank));
            ui.label(format!("{:.0} %", 100.0 * z.p_top_k));
            ui.label(format!("{}–{}", z.rank_p05, z.rank_p95));
            ui.end_row();
        }
    });
    ui.add_space(4.0);
    ui.label(RichText::new(s.t("audit.influence")).strong());
    egui::Grid::new("audit_influence").striped(true).num_columns(3).show(ui, |ui| {
        ui.strong(s.t("audit.col_indicator"));
        ui.strong(s.t("audit.col_correlation"));
        ui.strong(s.f("audit.col_left_out", &[("k", &r.settings.top_k)]));
        ui.end_row();
        for i in &r.indicators {
            ui.label(&i.column);
            ui.label(i.correlation.map_or("—".into(), |c| format!("{c:.2}")));
            ui.label(i.leave_out_top_k_changed.map_or("—".into(), |c| c.to_string()));
            ui.end_row();
        }
    });
    if !r.groups.is_empty() {
        ui.add_space(4.0);
        ui.label(RichText::new(s.t("audit.groups_title")).strong());
        egui::Grid::new("audit_groups").striped(true).num_columns(4).show(ui, |ui| {
            ui.strong(s.t("audit.col_group"));
            ui.strong(s.t("audit.col_share"));
            ui.strong(s.t("audit.col_share_top"));
            ui.strong(s.t("audit.col_ratio"));
            ui.end_row();
            for g in &r.groups {
                ui.label(format!("{} = {}", g.column, g.group));
                ui.label(format!("{:.1} %", 100.0 * g.share_all));
                ui.label(g.share_top_zones.map_or("—".into(), |v| format!("{:.1} %", 100.0 * v)));
                let ratio = g.ratio_top_zones.map_or("—".into(), |v| format!("{v:.2}"));
                if g.flag.is_empty() {
                    ui.label(ratio);
                } else {
                    ui.label(RichText::new(format!("{ratio} !")).color(egui::Color32::from_rgb(0xe6, 0x9f, 0x00)));
                }
                ui.end_row();
            }
        });
    }
}
