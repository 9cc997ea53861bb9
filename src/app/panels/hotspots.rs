//! Hot spots panel: is a concentration of need real, or chance? Getis-Ord Gi* over a
//! distance band on the sphere, with the Benjamini–Hochberg false-discovery correction over
//! every household's test; the map shows hot (red) and cold (blue) spots by confidence bin.

use egui::{RichText, Ui};

use crate::data::ColumnKind;

use super::super::i18n::Strings;
use super::super::map::hotspots::bin_colour;
use super::super::state::{AppState, Command};

pub fn ui(ui: &mut Ui, st: &mut AppState, s: Strings, cmds: &mut Vec<Command>) {
    super::heading(ui, s.t("hot.title"), s.t("hot.help"));
    super::learn(ui, st.prefs.learn, s.t("learn.hotspots"));
    let Some(imp) = st.imported.clone() else {
        ui.label(s.t("panel.open_first"));
        return;
    };
    let d = &mut st.hot_draft;
    egui::Grid::new("hot_settings").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
        let l = ui.label(s.t("hot.value"));
        let mut options = vec!["need".to_string()];
        options.extend(
            imp.households
                .columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Number && c.role == crate::data::Role::Attribute)
                .map(|c| c.name.clone()),
        );
        let label = |v: &str| if v == "need" { s.t("sites.w_need").to_string() } else { v.to_string() };
        egui::ComboBox::from_id_salt("hot_value")
            .selected_text(label(&d.value))
            .show_ui(ui, |ui| {
                for o in options {
                    let text = label(&o);
                    ui.selectable_value(&mut d.value, o, text);
                }
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label(s.t("hot.band"));
        ui.horizontal(|ui| {
            let mut auto = d.band_m.is_none();
            if ui.checkbox(&mut auto, s.t("hot.band_auto")).changed() {
                d.band_m = if auto { None } else { Some(st.hotspots.as_ref().map_or(200.0, |h| h.band_m.round())) };
            }
            if let Some(b) = &mut d.band_m {
                ui.add(egui::DragValue::new(b).range(1.0..=100_000.0).speed(2.0).suffix(" m")).labelled_by(l.id);
            }
        });
        ui.end_row();
        let l = ui.label(s.t("hot.fdr"));
        ui.add(egui::DragValue::new(&mut d.fdr).range(0.001..=0.5).speed(0.001).max_decimals(3)).labelled_by(l.id);
        ui.end_row();
    });
    let stage = super::OptionalStage {
        current: st.analysis.hotspots.as_ref(),
        draft: &st.hot_draft,
        has_result: st.hotspots.is_some(),
        keys: ["hot.run", "hot.update", "hot.remove"],
        commands: [Command::RunHotspots, Command::RemoveHotspots],
    };
    if !super::stage_buttons(ui, s, stage, cmds) {
        return;
    }
    let Some(r) = st.hotspots.clone() else { return };
    ui.separator();
    let c = &r.counts;
    ui.label(RichText::new(s.f("hot.result", &[("hot", &c.hot), ("cold", &c.cold), ("n", &c.households)])).strong());
    ui.label(s.f("hot.band_used", &[("band", &format!("{:.0}", r.band_m)), ("q", &r.fdr)]));
    ui.label(RichText::new(&r.band_note).small().weak());
    for n in &r.notes {
        ui.label(RichText::new(n).small().weak());
    }
    ui.add_space(4.0);
    ui.label(RichText::new(s.t("hot.bins")).strong());
    let mut counts = [0usize; 7];
    for (h, b) in r.hot.iter().zip(&r.bin) {
        if *h != 0 {
            counts[(b.clamp(&-3, &3) + 3) as usize] += 1;
        }
    }
    egui::Grid::new("hot_bins").num_columns(3).show(ui, |ui| {
        for (bin, key) in [
            (3i8, "hot.bin_hot99"),
            (2, "hot.bin_hot95"),
            (1, "hot.bin_hot90"),
            (-1, "hot.bin_cold90"),
            (-2, "hot.bin_cold95"),
            (-3, "hot.bin_cold99"),
        ] {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, bin_colour(bin));
            ui.label(s.t(key));
            ui.label(counts[(bin + 3) as usize].to_string());
            ui.end_row();
        }
    });
    ui.label(RichText::new(s.t("hot.bins_help")).small().weak());
}
