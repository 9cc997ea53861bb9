//! The side panels, one job each. Every panel is a free function taking the `Ui`, the state
//! it edits, the strings of the current language and a list to push [`super::state::Command`]s
//! onto; none of them runs pipeline work.

pub mod audit;
pub mod clusters;
pub mod data;
pub mod export;
pub mod hotspots;
pub mod need;
pub mod sites;
pub mod zones;

/// A heading with a one-line explanation under it (for learners: what this step does).
pub(crate) fn heading(ui: &mut egui::Ui, title: &str, help: &str) {
    ui.heading(title);
    ui.label(egui::RichText::new(help).small().weak());
    ui.add_space(4.0);
}

/// The buttons of an optional stage (sites, hot spots, audit): run it with the panel's
/// settings (or update it when they changed since), and remove it. `keys`: the run, update
/// and remove labels; then the commands they give.
pub(crate) fn stage_buttons(
    ui: &mut egui::Ui,
    s: super::i18n::Strings,
    present: bool,
    stale: bool,
    keys: [&'static str; 3],
    [run, remove]: [super::state::Command; 2],
    cmds: &mut Vec<super::state::Command>,
) {
    ui.horizontal(|ui| {
        let label = if present { s.t(keys[1]) } else { s.t(keys[0]) };
        if ui.add_enabled(stale, egui::Button::new(label)).clicked() {
            cmds.push(run);
        }
        if present && ui.button(s.t(keys[2])).clicked() {
            cmds.push(remove);
        }
    });
}
