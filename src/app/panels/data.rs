//! Data panel: open a survey (dialog, typed path, drag and drop, recent files), map the
//! coordinate and id columns, and read the import report with every reject and flag.

use egui::{Color32, RichText, Ui};

use crate::analysis::Imported;
use crate::data::{ColumnKind, ImportReport, Issue, IssueKind, Role};

use super::super::i18n::{Lang, Strings};
use super::super::state::{AppState, Command, PickKind};
use super::super::worker::Stage;

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("data.title"), s.t("data.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.data"));
    ui.horizontal(|ui| {
        if ui.button(s.t("data.open_dialog")).clicked() {
            cmds.push(Command::Pick(PickKind::Survey));
        }
        ui.label(RichText::new(s.t("data.drop_hint")).weak());
    });
    ui.horizontal(|ui| {
        let l = ui.label(s.t("data.file"));
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut st.path_text)
                    .hint_text(s.t("data.path_hint"))
                    .desired_width(ui.available_width() - 70.0),
            )
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button(s.t("data.load")).clicked() || enter) && !st.path_text.trim().is_empty() {
            cmds.push(Command::Open(st.path_text.trim().into()));
        }
    });
    let Some(imp) = st.imported.clone() else {
        if !st.prefs.recent.is_empty() {
            ui.add_space(8.0);
            ui.label(RichText::new(s.t("data.recent")).strong());
            for p in &st.prefs.recent {
                if ui.link(p.display().to_string()).clicked() {
                    cmds.push(Command::Open(p.clone()));
                }
            }
        }
        return;
    };
    let r = &imp.report;
    ui.separator();
    egui::Grid::new("import_counts").num_columns(2).striped(true).show(ui, |ui| {
        ui.label(s.t("data.format"));
        ui.label(r.format.to_string());
        ui.end_row();
        ui.label(s.t("data.records"));
        ui.label(r.records.to_string());
        ui.end_row();
        ui.label(s.t("data.accepted"));
        ui.label(r.accepted.to_string());
        ui.end_row();
        ui.label(s.t("data.rejected"));
        ui.label(RichText::new(r.rejected.to_string()).color(if r.rejected > 0 {
            Color32::from_rgb(0xc0, 0x1c, 0x28)
        } else {
            ui.visuals().text_color()
        }));
        ui.end_row();
        ui.label(s.t("data.flagged"));
        ui.label(r.flagged.to_string());
        ui.end_row();
        ui.label(s.t("data.coordinates"));
        ui.label(coordinates_text(r, s)).on_hover_text(&r.coordinates);
        ui.end_row();
        ui.label(s.t("data.id_column"));
        ui.label(r.id_column.as_deref().unwrap_or("—"));
        ui.end_row();
        if let Some(p) = &imp.people_column {
            ui.label(s.t("data.people_column"));
            ui.label(p);
            ui.end_row();
        }
        if let Some(a) = &r.accuracy {
            ui.label(s.t("data.accuracy"));
            ui.label(format!(
                "{}: {} {:.0} m · p90 {:.0} m · max {:.0} m",
                a.column,
                s.t("data.median"),
                a.median_m,
                a.p90_m,
                a.max_m
            ));
            ui.end_row();
        }
    });
    for n in &r.notes {
        ui.label(RichText::new(format!("• {n}")).small());
    }

    ui.add_space(6.0);
    egui::CollapsingHeader::new(s.t("data.mapping")).default_open(false).show(ui, |ui| {
        let names: Vec<String> = r.columns.iter().map(|c| c.name.clone()).collect();
        let mut changed = false;
        let opts = &mut st.analysis.input.options;
        changed |= column_combo(ui, s.t("data.lat_column"), &mut opts.lat_column, &names, s);
        changed |= column_combo(ui, s.t("data.lon_column"), &mut opts.lon_column, &names, s);
        changed |= column_combo(ui, s.t("data.id_column"), &mut opts.id_column, &names, s);
        changed |= column_combo(ui, s.t("data.people_column"), &mut st.analysis.input.people_column, &names, s);
        ui.horizontal(|ui| {
            let mut on = st.analysis.input.options.accuracy_cutoff_m.is_some();
            let c = ui.checkbox(&mut on, s.t("data.accuracy_cutoff"));
            if c.changed() {
                st.analysis.input.options.accuracy_cutoff_m = on.then_some(30.0);
                changed = true;
            }
            if let Some(v) = &mut st.analysis.input.options.accuracy_cutoff_m {
                changed |= ui.add(egui::DragValue::new(v).range(1.0..=1000.0).suffix(" m")).labelled_by(c.id).changed();
            }
        });
        if changed {
            cmds.push(Command::Rerun(Stage::Import));
        }
    });
    egui::CollapsingHeader::new(s.f("data.columns", &[("n", &r.columns.len())])).default_open(false).show(ui, |ui| {
        egui::Grid::new("columns").num_columns(3).striped(true).show(ui, |ui| {
            for c in &r.columns {
                ui.label(&c.name);
                ui.label(s.t(match c.kind {
                    ColumnKind::Number => "kind.number",
                    ColumnKind::Bool => "kind.bool",
                    ColumnKind::Category => "kind.category",
                    ColumnKind::Text => "kind.text",
                    ColumnKind::Empty => "kind.empty",
                }));
                ui.label(s.t(match c.role {
                    Role::Latitude => "role.latitude",
                    Role::Longitude => "role.longitude",
                    Role::Geopoint => "role.geopoint",
                    Role::Wkt => "role.wkt",
                    Role::Id => "role.id",
                    Role::Accuracy => "role.accuracy",
                    Role::Attribute => "role.attribute",
                }));
                ui.end_row();
            }
        });
    });
    issues_ui(ui, "rejects", &s.f("data.rejects", &[("n", &r.rejects.len())]), &r.rejects, &r.path, s);
    issues_ui(ui, "flags", &s.f("data.flags", &[("n", &r.flags.len())]), &r.flags, &r.path, s);
}

fn column_combo(ui: &mut Ui, label: &str, value: &mut Option<String>, names: &[String], s: Strings) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let l = ui.label(label);
        egui::ComboBox::from_id_salt(label)
            .selected_text(value.as_deref().unwrap_or(s.t("data.auto")))
            .show_ui(ui, |ui| {
                changed |= ui.selectable_value(value, None, s.t("data.auto")).changed();
                for n in names {
                    changed |= ui.selectable_value(value, Some(n.clone()), n).changed();
                }
            })
            .response
            .labelled_by(l.id);
    });
    changed
}

/// A collapsible list of issues, `file:line:column: message`, virtualised for long lists.
fn issues_ui(ui: &mut Ui, id: &str, title: &str, issues: &[Issue], path: &std::path::Path, s: Strings) {
    egui::CollapsingHeader::new(title).id_salt(id).default_open(!issues.is_empty() && issues.len() <= 20).show(
        ui,
        |ui| {
            let name = std::path::Path::new(path.file_name().unwrap_or_default());
            let row_h = ui.text_style_height(&egui::TextStyle::Small) + 4.0;
            egui::ScrollArea::vertical().id_salt(id).max_height(240.0).show_rows(
                ui,
                row_h,
                issues.len(),
                |ui, range| {
                    for i in &issues[range] {
                        let text = match s.lang {
                            // The core's messages are English: in English show them whole.
                            Lang::En => i.located(name),
                            _ => {
                                let mut t =
                                    Issue { message: s.t(issue_key(i.kind)).to_string(), ..i.clone() }.located(name);
                                if let Some(c) = &i.column_name {
                                    t += &format!(" ({c:?})");
                                }
                                t
                            }
                        };
                        ui.label(RichText::new(text).small().monospace()).on_hover_text(&i.message);
                    }
                },
            );
        },
    );
}

/// Translation key of an issue kind (the short reason shown in Spanish; the English
/// message with its details is the tooltip).
fn issue_key(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::MissingCoordinate => "issue.missing_coordinate",
        IssueKind::NotANumber => "issue.not_a_number",
        IssueKind::DecimalComma => "issue.decimal_comma",
        IssueKind::LatitudeOutOfRange => "issue.latitude_out_of_range",
        IssueKind::LongitudeOutOfRange => "issue.longitude_out_of_range",
        IssueKind::ZeroZero => "issue.zero_zero",
        IssueKind::DuplicateId => "issue.duplicate_id",
        IssueKind::TooManyFields => "issue.too_many_fields",
        IssueKind::UnsupportedGeometry => "issue.unsupported_geometry",
        IssueKind::MissingGeometry => "issue.missing_geometry",
        IssueKind::ProbableSwap => "issue.probable_swap",
        IssueKind::FarOutlier => "issue.far_outlier",
        IssueKind::DuplicateCoordinates => "issue.duplicate_coordinates",
        IssueKind::ImpreciseGps => "issue.imprecise_gps",
        IssueKind::ShortRow => "issue.short_row",
    }
}

/// Where the coordinates come from, in the interface's language.
fn coordinates_text(r: &ImportReport, s: Strings) -> String {
    let col = |role: Role| r.columns.iter().find(|c| c.role == role).map(|c| c.name.clone());
    match (col(Role::Latitude), col(Role::Longitude), col(Role::Geopoint), col(Role::Wkt)) {
        (Some(lat), Some(lon), _, _) => {
            s.f("data.coords_columns", &[("lat", &format!("{lat:?}")), ("lon", &format!("{lon:?}"))])
        }
        (_, _, Some(g), _) => s.f("data.coords_geopoint", &[("column", &format!("{g:?}"))]),
        (_, _, _, Some(w)) => s.f("data.coords_wkt", &[("column", &format!("{w:?}"))]),
        _ => s.t("data.coords_geometry").to_string(),
    }
}

/// Tooltip of one household: id, need, cluster and its first attributes.
pub fn household_ui(ui: &mut Ui, imp: &Imported, i: usize, need: Option<f64>, label: Option<i32>, s: Strings) {
    let h = &imp.households;
    let id = h.id(i);
    ui.label(RichText::new(if id.is_empty() { format!("#{}", h.row[i]) } else { id.to_string() }).strong());
    egui::Grid::new("hh_tip").num_columns(2).show(ui, |ui| {
        if let Some(n) = need {
            ui.label(s.t("tip.need"));
            ui.label(if n.is_finite() { format!("{n:.3}") } else { "—".into() });
            ui.end_row();
        }
        if let Some(l) = label {
            ui.label(s.t("tip.cluster"));
            ui.label(if l >= 0 { l.to_string() } else { s.t("legend.noise").to_string() });
            ui.end_row();
        }
        ui.label(s.t("tip.line"));
        ui.label(h.line[i].to_string());
        ui.end_row();
        for (c, col) in h.columns.iter().enumerate().filter(|(_, c)| c.role == Role::Attribute).take(10) {
            ui.label(&col.name);
            ui.label(h.text(i, c));
            ui.end_row();
        }
    });
}
