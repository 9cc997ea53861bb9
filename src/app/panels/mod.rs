//! The side panels, one job each. Every panel is a free function taking the `Ui`, the state
//! it edits, the strings of the current language and a list to push [`super::state::Command`]s
//! onto; none of them runs pipeline work.

pub mod audit;
pub mod clusters;
pub mod data;
pub mod export;
pub mod hotspots;
pub mod need;
pub mod quiz;
pub mod sites;
pub mod study;
pub mod zones;

/// A heading with a one-line explanation under it (for learners: what this step does).
pub(crate) fn heading(ui: &mut egui::Ui, title: &str, help: &str) {
    ui.heading(title);
    ui.label(egui::RichText::new(help).small().weak());
    ui.add_space(4.0);
}

/// In Learn mode, a box explaining the step: what it computes, why, and what to look at.
pub(crate) fn learn(ui: &mut egui::Ui, on: bool, text: &str) {
    if !on {
        return;
    }
    egui::Frame::group(ui.style()).fill(egui::Color32::from_rgb(0xfd, 0xf6, 0xe3)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(egui::RichText::new(text).color(egui::Color32::from_gray(40)));
    });
    ui.add_space(4.0);
}

/// An optional stage (sites, hot spots, audit) as its panel shows it.
pub(crate) struct OptionalStage<'a, P> {
    /// The settings last run (in the analysis), if any.
    pub current: Option<&'a P>,
    /// The settings being edited in the panel.
    pub draft: &'a P,
    pub has_result: bool,
    /// The run, update and remove labels.
    pub keys: [&'static str; 3],
    /// The run and remove commands.
    pub commands: [super::state::Command; 2],
}

/// The run (or update, when the settings changed since) and remove buttons of an optional
/// stage, and a "running" line while its result is on its way. True when there is a result.
pub(crate) fn stage_buttons<P: PartialEq>(
    ui: &mut egui::Ui,
    s: super::i18n::Strings,
    stage: OptionalStage<'_, P>,
    cmds: &mut Vec<super::state::Command>,
) -> bool {
    let [run, remove] = stage.commands;
    let present = stage.current.is_some();
    ui.horizontal(|ui| {
        let label = if present { s.t(stage.keys[1]) } else { s.t(stage.keys[0]) };
        if ui.add_enabled(stage.current != Some(stage.draft), egui::Button::new(label)).clicked() {
            cmds.push(run);
        }
        if present && ui.button(s.t(stage.keys[2])).clicked() {
            cmds.push(remove);
        }
    });
    if present && !stage.has_result {
        ui.label(s.t("sites.running"));
    }
    stage.has_result
}
