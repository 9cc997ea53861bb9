//! Export panel: writes the same files as `needmap run` (zones.geojson, households.csv,
//! zones.csv, report.json, analysis.toml) into a new folder, atomically; saves and loads the
//! analysis file that reproduces them from the command line.

use egui::{RichText, Ui};

use super::super::i18n::Strings;
use super::super::state::{AppState, Command, PickKind};

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>, exporting: bool) {
    super::heading(ui, s.t("export.title"), s.t("export.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.export"));
    let ready = st.zones.is_some();
    if !ready {
        ui.label(s.t("export.not_ready"));
    }
    let l = ui.label(s.t("export.folder"));
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut st.export_dir_text)
                .hint_text("needmap_out")
                .desired_width(ui.available_width() - 90.0),
        )
        .labelled_by(l.id);
        if ui.button(s.t("export.choose")).clicked() {
            cmds.push(Command::Pick(PickKind::ExportFolder));
        }
    });
    ui.label(RichText::new(s.t("export.new_folder")).small().weak());
    ui.checkbox(&mut st.prefs.export_map, s.t("export.print_map"));
    ui.checkbox(&mut st.prefs.export_atlas, s.t("export.print_atlas"));
    ui.checkbox(&mut st.prefs.export_report, s.t("export.report"));
    ui.checkbox(&mut st.prefs.export_parquet, s.t("export.parquet"));
    if st.input_changed {
        ui.colored_label(egui::Color32::from_rgb(0xc0, 0x1c, 0x28), s.t("export.input_changed"));
        ui.horizontal(|ui| {
            if ui.button(s.t("export.reload")).clicked() {
                st.input_changed = false;
                cmds.push(Command::Rerun(super::super::worker::Stage::Import));
            }
            if ui.button(s.t("export.anyway")).clicked() {
                cmds.push(Command::ExportAnyway(st.export_dir_text.trim().into()));
            }
        });
    }
    ui.add_enabled_ui(ready && !exporting && !st.export_dir_text.trim().is_empty(), |ui| {
        if ui.button(s.t("export.write")).clicked() {
            cmds.push(Command::Export(st.export_dir_text.trim().into()));
        }
    });
    ui.add_space(12.0);
    ui.label(RichText::new(s.t("export.analysis")).strong());
    ui.label(RichText::new(s.t("export.analysis_help")).small().weak());
    ui.horizontal(|ui| {
        if ui.button(s.t("menu.save_analysis")).clicked() {
            cmds.push(Command::Pick(PickKind::SaveAnalysis));
        }
        if ui.button(s.t("menu.load_analysis")).clicked() {
            cmds.push(Command::Pick(PickKind::LoadAnalysis));
        }
    });
    if let Some(p) = &st.path {
        ui.add_space(8.0);
        ui.label(RichText::new(s.t("export.cli")).small());
        let out = if st.export_dir_text.trim().is_empty() { "needmap_out" } else { st.export_dir_text.trim() };
        let parquet = if st.prefs.export_parquet { " --parquet" } else { "" };
        ui.code(format!("needmap run {:?} --analysis analysis.toml --out {:?}{parquet}", p.display().to_string(), out));
    }
}
