//! Sites panel: where to build P new sites so that the most need lies within walking
//! distance (maximal covering location). The planner sets the number of sites, the radius,
//! what a covered household counts, where candidates come from and any existing facilities;
//! the answer comes back with its proven bound, a chart of coverage against the number of
//! sites (where one more site stops paying) and the sites' table, linked to the map.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

use crate::data::ColumnKind;
use crate::sites::CandidateSource;

use super::super::i18n::Strings;
use super::super::state::{AppState, Command, PickKind};

fn weight_label(s: Strings, w: &str) -> String {
    match w {
        "need" => s.t("sites.w_need").into(),
        "critical" => s.t("sites.w_critical").into(),
        "households" => s.t("sites.w_households").into(),
        "people" => s.t("sites.w_people").into(),
        col => s.f("sites.w_column", &[("column", &col)]),
    }
}

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("sites.title"), s.t("sites.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.sites"));
    let Some(imp) = st.imported.clone() else {
        ui.label(s.t("panel.open_first"));
        return;
    };
    let d = &mut st.sites_draft;
    egui::Grid::new("sites_settings").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
        let l = ui.label(s.t("sites.count"));
        ui.add(egui::DragValue::new(&mut d.sites).range(1..=1000)).labelled_by(l.id);
        ui.end_row();
        let l = ui.label(s.t("sites.radius"));
        ui.add(egui::DragValue::new(&mut d.radius_m).range(10.0..=100_000.0).speed(5.0).suffix(" m")).labelled_by(l.id);
        ui.end_row();
        let l = ui.label(s.t("sites.weight"));
        let mut options: Vec<String> = vec!["need".into(), "critical".into(), "households".into()];
        if imp.people.is_some() {
            options.push("people".into());
        }
        options.extend(
            imp.households
                .columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Number && c.role == crate::data::Role::Attribute)
                .map(|c| c.name.clone()),
        );
        egui::ComboBox::from_id_salt("sites_weight")
            .selected_text(weight_label(s, &d.weight))
            .show_ui(ui, |ui| {
                for o in options {
                    let label = weight_label(s, &o);
                    ui.selectable_value(&mut d.weight, o, label);
                }
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
    });
    ui.add_space(4.0);
    ui.label(s.t("sites.candidates"));
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(&mut d.candidates, CandidateSource::Grid, s.t("sites.c_grid"));
        ui.radio_value(&mut d.candidates, CandidateSource::Zones, s.t("sites.c_zones"));
        ui.radio_value(&mut d.candidates, CandidateSource::Households, s.t("sites.c_households"));
        ui.radio_value(&mut d.candidates, CandidateSource::File, s.t("sites.c_file"));
    });
    match d.candidates {
        CandidateSource::Grid => {
            ui.horizontal(|ui| {
                let l = ui.label(s.t("sites.grid_spacing"));
                let mut g = d.grid_spacing_m();
                if ui
                    .add(egui::DragValue::new(&mut g).range(10.0..=50_000.0).speed(5.0).suffix(" m"))
                    .labelled_by(l.id)
                    .changed()
                {
                    d.grid_m = Some(g);
                }
            });
        }
        CandidateSource::File => {
            ui.horizontal(|ui| {
                let l = ui.label(s.t("sites.candidates_file"));
                if ui.text_edit_singleline(&mut st.candidates_text).labelled_by(l.id).changed() {
                    d.candidates_file =
                        (!st.candidates_text.trim().is_empty()).then(|| st.candidates_text.trim().into());
                }
                if ui.button(s.t("export.choose")).clicked() {
                    cmds.push(Command::Pick(PickKind::Candidates));
                }
            });
        }
        _ => {}
    }
    ui.horizontal(|ui| {
        let l = ui.label(s.t("sites.existing"));
        if ui.text_edit_singleline(&mut st.existing_text).labelled_by(l.id).changed() {
            d.existing_file = (!st.existing_text.trim().is_empty()).then(|| st.existing_text.trim().into());
        }
        if ui.button(s.t("export.choose")).clicked() {
            cmds.push(Command::Pick(PickKind::Existing));
        }
    });
    ui.add_space(4.0);
    let stage = super::OptionalStage {
        current: st.analysis.sites.as_ref(),
        draft: &st.sites_draft,
        has_result: st.sites.is_some(),
        keys: ["sites.choose", "sites.update", "sites.remove"],
        commands: [Command::ChooseSites, Command::RemoveSites],
    };
    if !super::stage_buttons(ui, s, stage, cmds) {
        return;
    }
    let Some(r) = st.sites.clone() else { return };
    ui.separator();
    let sol = &r.solution;
    let weight = weight_label(s, &r.params.weight);
    ui.label(
        RichText::new(s.f(
            "sites.result",
            &[
                ("n", &sol.sites.len()),
                ("share", &format!("{:.1}", 100.0 * sol.share())),
                ("weight", &weight),
                ("households", &sol.covered_households),
            ],
        ))
        .strong(),
    );
    ui.label(s.f("sites.bound", &[("p", &r.params.sites), ("bound", &format!("{:.1}", 100.0 * sol.bound_share()))]));
    if sol.existing_weight > 0.0 {
        ui.label(s.f(
            "sites.existing_cover",
            &[("n", &r.existing.len()), ("share", &format!("{:.1}", 100.0 * sol.existing_weight / sol.total_weight))],
        ));
    }
    ui.label(
        RichText::new(s.f("sites.candidates_used", &[("n", &r.candidates.len()), ("what", &r.candidates.note)]))
            .small()
            .weak(),
    );
    for n in &r.notes {
        ui.label(RichText::new(n).small().weak());
    }
    // Coverage against the number of sites, with the proven bound for each count.
    ui.label(RichText::new(s.t("sites.curve_title")).strong());
    let total = sol.total_weight.max(f64::MIN_POSITIVE);
    let covered: PlotPoints = sol.curve.iter().map(|c| [c.sites as f64, 100.0 * c.covered_weight / total]).collect();
    let covered_pts: PlotPoints =
        sol.curve.iter().map(|c| [c.sites as f64, 100.0 * c.covered_weight / total]).collect();
    let bound: PlotPoints = sol.curve.iter().map(|c| [c.sites as f64, 100.0 * c.upper_bound / total]).collect();
    Plot::new("sites_curve")
        .height(160.0)
        .allow_scroll(false)
        .x_axis_label(s.t("sites.curve_x"))
        .y_axis_label(s.t("sites.curve_y"))
        .include_y(0.0)
        .legend(Legend::default())
        .show(ui, |p| {
            p.line(Line::new(s.t("sites.curve_bound"), bound).style(egui_plot::LineStyle::dashed_loose()));
            p.line(Line::new(s.t("sites.curve_covered"), covered));
            p.points(Points::new(s.t("sites.curve_covered"), covered_pts).radius(2.5));
        });
    if let Some(k) = st.selected_site
        && let Some(site) = sol.sites.get(k)
    {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(s.f("sites.selected", &[("n", &(k + 1))])).strong());
                if ui.button(s.t("zones.frame")).clicked() {
                    cmds.push(Command::FrameSite(k));
                }
                if ui.button(s.t("zones.clear")).clicked() {
                    cmds.push(Command::SelectSite(None));
                }
            });
            ui.label(s.f(
                "sites.selected_figures",
                &[
                    ("candidate", &r.candidates.id[site.candidate]),
                    ("households", &site.covered_households),
                    ("weight", &format!("{:.1}", site.covered_weight)),
                    ("added", &format!("{:.1}", site.added_weight)),
                ],
            ));
            ui.label(format!(
                "{}: {:.6}, {:.6}",
                s.t("zones.centre"),
                r.candidates.lat_deg[site.candidate],
                r.candidates.lon_deg[site.candidate]
            ));
        });
    }
    let mut clicked_row = None;
    TableBuilder::new(ui)
        .id_salt("sites_table")
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::auto())
        .column(Column::remainder().at_least(70.0))
        .column(Column::auto())
        .column(Column::auto())
        .header(20.0, |mut h| {
            for key in ["sites.col_site", "sites.col_candidate", "sites.col_households", "sites.col_adds"] {
                h.col(|ui| {
                    ui.strong(s.t(key));
                });
            }
        })
        .body(|body| {
            body.rows(20.0, sol.sites.len(), |mut row| {
                let k = row.index();
                let site = &sol.sites[k];
                row.set_selected(st.selected_site == Some(k));
                let selected = st.selected_site == Some(k);
                row.col(|ui| {
                    if ui.selectable_label(selected, format!("{}", k + 1)).clicked() {
                        clicked_row = Some(k);
                    }
                });
                row.col(|ui| {
                    if ui.selectable_label(selected, &r.candidates.id[site.candidate]).clicked() {
                        clicked_row = Some(k);
                    }
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(site.covered_households.to_string()).selectable(false));
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(format!("{:.1} %", 100.0 * site.added_weight / total)).selectable(false));
                });
                if row.response().clicked() {
                    clicked_row = Some(k);
                }
            });
        });
    if let Some(k) = clicked_row {
        cmds.push(Command::SelectSite(Some(k)));
        cmds.push(Command::FrameSite(k));
    }
}
