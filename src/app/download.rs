//! "Download this area for offline use": the map's tiles around the zones (or households)
//! into an MBTiles file, on the worker thread with progress and Cancel; then offered as the
//! map's tile source.

use std::path::PathBuf;

use egui::{Color32, Context};

use super::NeedmapApp;
use super::i18n::Strings;
use super::map::tiles::TileSetting;
use super::state::{AppState, Command};
use crate::tiles::{DownloadConfig, LonLatBox};

/// The window's settings, kept while it is open (and the URL and key between uses).
#[derive(Debug, Clone)]
pub struct DownloadDraft {
    pub url: String,
    pub key: String,
    pub attribution: String,
    pub zoom_from: u8,
    pub zoom_to: u8,
    pub margin_m: f64,
    pub max_tiles: u64,
    pub out_text: String,
}

impl Default for DownloadDraft {
    fn default() -> Self {
        Self {
            url: String::new(),
            key: String::new(),
            attribution: String::new(),
            zoom_from: 12,
            zoom_to: 17,
            margin_m: 500.0,
            max_tiles: 20_000,
            out_text: String::new(),
        }
    }
}

impl DownloadDraft {
    pub fn config(&self) -> DownloadConfig {
        DownloadConfig {
            url: self.url.trim().to_string(),
            key: self.key.trim().to_string(),
            zooms: (self.zoom_from.min(self.zoom_to), self.zoom_to.max(self.zoom_from)),
            margin_m: self.margin_m,
            max_tiles: self.max_tiles,
            attribution: self.attribution.trim().to_string(),
            out: PathBuf::from(self.out_text.trim()),
            ..Default::default()
        }
    }
}

/// The area of the current results: the zones, or every household when there are none.
pub fn area(st: &AppState) -> Vec<LonLatBox> {
    if let Some(z) = st.zones.as_ref().filter(|z| !z.zones.is_empty()) {
        return z
            .zones
            .iter()
            .filter_map(|zone| {
                zone.ring.iter().copied().fold(None, |b: Option<LonLatBox>, (lon, lat)| {
                    Some(
                        b.map_or([lon, lat, lon, lat], |b| {
                            [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)]
                        }),
                    )
                })
            })
            .collect();
    }
    st.imported.as_ref().map_or_else(Vec::new, |imp| {
        let h = &imp.households;
        (0..h.len()).map(|i| [h.lon_deg[i], h.lat_deg[i], h.lon_deg[i], h.lat_deg[i]]).collect()
    })
}

impl NeedmapApp {
    /// The download window (View → Download this area…).
    pub(super) fn download_window_ui(&mut self, ctx: &Context, cmds: &mut Vec<Command>) {
        if self.state.download.is_none() {
            return;
        }
        let s: Strings = self.strings();
        let boxes = area(&self.state);
        let busy = self.busy();
        let mut open = true;
        let mut close = false;
        let Some(d) = self.state.download.as_mut() else { return };
        egui::Window::new(s.t("download.title"))
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .min_width(560.0)
            .show(ctx, |ui| {
                ui.label(s.t("download.help"));
                egui::Grid::new("download").num_columns(2).show(ui, |ui| {
                    ui.label(s.t("tiles.custom_url"));
                    ui.add(
                        egui::TextEdit::singleline(&mut d.url)
                            .hint_text("https://tiles.example.org/{z}/{x}/{y}.png?key={key}")
                            .desired_width(380.0),
                    );
                    ui.end_row();
                    ui.label(s.t("tiles.custom_key"));
                    ui.add(egui::TextEdit::singleline(&mut d.key).password(true));
                    ui.end_row();
                    ui.label(s.t("tiles.custom_attribution"));
                    ui.text_edit_singleline(&mut d.attribution);
                    ui.end_row();
                    ui.label(s.t("download.zooms"));
                    ui.horizontal(|ui| {
                        ui.add(egui::DragValue::new(&mut d.zoom_from).range(0..=20));
                        ui.label("–");
                        ui.add(egui::DragValue::new(&mut d.zoom_to).range(0..=20));
                    });
                    ui.end_row();
                    ui.label(s.t("download.margin"));
                    ui.add(egui::DragValue::new(&mut d.margin_m).range(0.0..=20_000.0).speed(10.0).suffix(" m"));
                    ui.end_row();
                    ui.label(s.t("download.max_tiles"));
                    ui.add(egui::DragValue::new(&mut d.max_tiles).range(1..=10_000_000).speed(100.0));
                    ui.end_row();
                    ui.label(s.t("download.file"));
                    ui.add(egui::TextEdit::singleline(&mut d.out_text).hint_text("area.mbtiles").desired_width(380.0));
                    ui.end_row();
                });
                let cfg = d.config();
                // What would be fetched, said before anything is.
                let problem = if cfg.url.is_empty() {
                    Some(s.t("download.no_url").to_string())
                } else {
                    crate::tiles::download::check_url(&cfg.url).err().map(|e| e.to_string())
                };
                let problem = problem
                    .or_else(|| boxes.is_empty().then(|| s.t("download.no_area").to_string()))
                    .or_else(|| cfg.out.as_os_str().is_empty().then(|| s.t("download.no_file").to_string()))
                    .or_else(|| cfg.out.exists().then(|| s.f("download.exists", &[("path", &cfg.out.display())])));
                let plan = if boxes.is_empty() {
                    Err(String::new())
                } else {
                    crate::tiles::download::checked_plan(&cfg, &boxes).map_err(|e| e.to_string())
                };
                match &plan {
                    Ok(p) => {
                        let n: usize = p.iter().map(|(_, t)| t.len()).sum();
                        ui.label(s.f(
                            "download.count",
                            &[("tiles", &n), ("minutes", &format!("{:.0}", (n as f64 / cfg.rate_per_s / 60.0).ceil()))],
                        ));
                    }
                    Err(e) if !e.is_empty() => {
                        ui.colored_label(Color32::from_rgb(0xc0, 0x1c, 0x28), e);
                    }
                    Err(_) => {}
                }
                if let Some(p) = &problem {
                    ui.colored_label(Color32::from_rgb(0xc0, 0x1c, 0x28), p);
                }
                ui.horizontal(|ui| {
                    let ready = problem.is_none() && plan.is_ok() && !busy;
                    if ui.add_enabled(ready, egui::Button::new(s.t("download.start"))).clicked() {
                        cmds.push(Command::DownloadTiles);
                    }
                    if ui.button(s.t("action.close")).clicked() {
                        close = true;
                    }
                });
            });
        if !open || close {
            self.state.download = None;
        }
    }

    /// Starts the download of the window's settings on the worker thread.
    pub(super) fn start_download(&mut self) {
        let Some(d) = &self.state.download else { return };
        let cfg = d.config();
        let boxes = area(&self.state);
        // The template and key are remembered as the custom server's.
        self.state.prefs.custom_server.url = d.url.trim().to_string();
        self.state.prefs.custom_server.key = d.key.trim().to_string();
        if !d.attribution.trim().is_empty() {
            self.state.prefs.custom_server.attribution = d.attribution.trim().to_string();
        }
        self.state.download = None;
        self.worker.download_tiles(cfg, boxes);
    }

    /// A download's end: a notice, and the file offered as the map's tiles.
    pub(super) fn download_finished(&mut self, r: Result<(crate::tiles::Summary, PathBuf), String>) {
        let s = self.strings();
        match r {
            Ok((sum, path)) => {
                self.state.notice = Some(super::state::Notice::Info(s.f(
                    "download.done",
                    &[
                        ("fetched", &sum.fetched),
                        ("reused", &sum.reused),
                        ("missing", &sum.missing.len()),
                        ("path", &path.display()),
                    ],
                )));
                self.state.downloaded = Some(path);
            }
            Err(e) => self.state.notice = Some(super::state::Notice::Error(e)),
        }
    }

    /// After a download: "Use it as the map".
    pub(super) fn downloaded_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let Some(path) = self.state.downloaded.clone() else { return };
        let s = self.strings();
        if ui.button(s.t("download.use")).clicked() {
            cmds.push(Command::SetTiles(TileSetting::MbTiles(path)));
            self.state.downloaded = None;
        }
    }
}
