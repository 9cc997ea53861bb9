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
