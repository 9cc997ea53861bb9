//! The desktop app (feature `gui`): a map-centred view over the same [`Analysis`] and the same
//! pipeline functions as the CLI.
//!
//! Layout: a menu bar; on the left one panel at a time (Data, Need, Clusters, Zones, Export);
//! the map in the centre; a status bar with the running stage, a progress bar and Cancel.
//! Panels edit the analysis and return [`Command`]s; [`worker`] runs the pipeline on a thread
//! from the first stage that changed, and the frame only reads results.

pub use crate::i18n;
pub mod download;
pub mod map;
pub mod panels;
pub mod session;
pub mod state;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use egui::{Color32, RichText, Ui};
use walkers::{MapMemory, lon_lat};

use crate::analysis::{Analysis, Outcome};
use i18n::{Lang, Strings};
use map::tiles::{Connectivity, TileSetting, TileSource};
use state::{AppState, Command, Notice, PickKind, Prefs, Tab};
use worker::{Job, Msg, Stage, Upstream, Worker};

const PREFS_KEY: &str = "needmap.prefs";

/// Opens the app window, on `file` if given.
pub fn run(file: Option<PathBuf>) -> anyhow::Result<()> {
    let icon = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).ok();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("needmap")
        .with_app_id("needmap")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    if let Some(icon) = icon {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions { viewport, ..Default::default() };
    eframe::run_native(
        "needmap",
        options,
        Box::new(move |cc| {
            let prefs: Prefs = cc.storage.and_then(|s| eframe::get_value(s, PREFS_KEY)).unwrap_or_default();
            let mut app = NeedmapApp::new(&cc.egui_ctx, prefs, true);
            if let Some(path) = session::default_path() {
                // A file named on the command line is what the user wants now: no offer.
                app.use_session(path, file.is_none());
            }
            if let Some(f) = file {
                app.open(f);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the app window: {e}"))
}

pub struct NeedmapApp {
    pub state: AppState,
    pub worker: Worker,
    ctx: egui::Context,
    memory: MapMemory,
    tiles: TileSource,
    connectivity: Connectivity,
    picks: (Sender<Command>, Receiver<Command>),
    title: String,
    session: Option<session::Session>,
}

impl NeedmapApp {
    /// `network`: probe the tile server and fetch tiles (false in tests: only the embedded
    /// basemap, no connection attempted).
    pub fn new(ctx: &egui::Context, prefs: Prefs, network: bool) -> Self {
        let repaint_ctx = ctx.clone();
        let worker = Worker::new(move || repaint_ctx.request_repaint());
        let setting = if network { prefs.tiles.clone() } else { TileSetting::Basemap };
        let tiles = TileSource::new(&setting, ctx);
        let connectivity = Connectivity::for_setting(&setting, ctx);
        let mut memory = MapMemory::default();
        if let Some(((lon, lat), zoom)) = prefs.map_view {
            memory.center_at(lon_lat(lon, lat));
            let _ = memory.set_zoom(zoom);
        } else {
            let _ = memory.set_zoom(3.0);
        }
        let export_dir_text = prefs.last_export_dir.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let state = AppState { prefs, export_dir_text, ..Default::default() };
        Self {
            state,
            worker,
            ctx: ctx.clone(),
            memory,
            tiles,
            connectivity,
            picks: channel(),
            title: String::new(),
            session: None,
        }
    }

    fn strings(&self) -> Strings {
        Strings::new(self.state.prefs.lang)
    }

    /// Opens a survey: imports it and runs every stage with the current settings (column
    /// overrides are reset: they belong to the previous file).
    pub fn open(&mut self, path: PathBuf) {
        self.state.analysis.input = Default::default();
        self.state.analysis.need.indicators.clear();
        self.state.analysis.cluster.eps_m = None;
        self.state.analysis.cluster.min_points = None;
        self.state.clear_results();
        self.state.path_text = path.display().to_string();
        self.state.path = Some(path);
        self.state.notice = None;
        self.rerun(Stage::Import);
    }

    /// Recomputes from `from` on; earlier results are reused.
    pub fn rerun(&mut self, from: Stage) {
        let Some(path) = self.state.path.clone() else { return };
        let mut from = from;
        let upstream = Upstream {
            imported: self.state.imported.clone(),
            scored: self.state.scored.clone(),
            clustered: self.state.clustered.clone(),
            zones: self.state.zones.clone(),
            map_households: self.state.map_households.clone(),
        };
        if upstream.imported.is_none() {
            from = Stage::Import;
        }
        self.state.notice = None;
        self.worker.start(Job { path, analysis: self.state.analysis.clone(), from, upstream });
    }

    /// Centres the map on (lon, lat) at `zoom` (for tests and benchmarks).
    pub fn set_view(&mut self, lon: f64, lat: f64, zoom: f64) {
        self.memory.center_at(lon_lat(lon, lat));
        let _ = self.memory.set_zoom(zoom);
    }

    /// Saves the analysis to `path` as it changes; with `offer`, first offers to restore the
    /// one saved there by an earlier run (shown until the user answers).
    pub fn use_session(&mut self, path: PathBuf, offer: bool) {
        let mut session = session::Session::new(path);
        if offer {
            self.state.restore_offer = session.saved();
        }
        self.session = Some(session);
    }

    pub fn busy(&self) -> bool {
        self.worker.busy() || self.worker.exporting
    }

    /// Carries out a command as if a panel had asked for it (for tests).
    pub fn apply_command(&mut self, cmd: Command) {
        self.apply(cmd);
    }

    fn apply(&mut self, cmd: Command) {
        let s = self.strings();
        match cmd {
            Command::Open(p) => self.open(p),
            Command::Rerun(stage) => self.rerun(stage),
            Command::Cancel => {
                self.worker.cancel();
                self.state.notice = Some(Notice::Info(s.t("status.cancelled").into()));
            }
            Command::SelectZone(z) => self.state.selected_zone = z,
            Command::Frame(z) => {
                self.state.frame_request = match (z, &self.state.map_zones, &self.state.map_households) {
                    (Some(id), Some(mz), _) => mz.zones.iter().find(|m| m.id == id).map(|m| m.bbox),
                    (None, _, Some(h)) => h.bbox,
                    _ => None,
                }
            }
            Command::DownloadTiles => self.start_download(),
            Command::Restore(answer) => {
                if let Some(a) = self.state.restore_offer.take()
                    && answer
                    && let Some(path) = a.input.path.clone()
                {
                    self.state.clear_results();
                    self.state.path_text = path.display().to_string();
                    self.state.path = Some(path);
                    self.state.analysis = a;
                    self.state.notice = None;
                    self.rerun(Stage::Import);
                }
            }
            Command::Export(dir) => self.export(dir, false),
            Command::ExportAnyway(dir) => self.export(dir, true),
            Command::SaveAnalysis(p) => {
                let a = self.resolved_analysis();
                let r = crate::export::atomic::write_file(&p, None, true, |f| {
                    use std::io::Write as _;
                    f.write_all(a.to_toml().as_bytes())
                });
                self.state.notice = Some(match r {
                    Ok(()) => Notice::Info(s.f("notice.saved", &[("path", &p.display())])),
                    Err(e) => Notice::Error(e.to_string()),
                });
            }
            Command::LoadAnalysis(p) => match Analysis::load(&p) {
                Ok(a) => {
                    let input = a.input.path.clone();
                    self.state.analysis = a;
                    match (input, &self.state.path) {
                        (_, Some(_)) => self.rerun(Stage::Import),
                        (Some(i), None) if i.exists() => {
                            self.state.path_text = i.display().to_string();
                            self.state.path = Some(i);
                            self.rerun(Stage::Import);
                        }
                        _ => {}
                    }
                    self.state.notice = Some(Notice::Info(s.f("notice.loaded", &[("path", &p.display())])));
                }
                Err(e) => self.state.notice = Some(Notice::Error(e.to_string())),
            },
            Command::SetTiles(t) => {
                if let TileSetting::MbTiles(p) = &t
                    && let Err(e) = crate::tiles::MbTiles::open(p)
                {
                    self.state.notice = Some(Notice::Error(e.to_string()));
                    return;
                }
                // The map's PMTiles reader trusts the header (a damaged one panics on every
                // tile): it is checked first.
                if let TileSetting::PmTiles(p) = &t
                    && let Err(e) = crate::tiles::pmtiles::check(p)
                {
                    self.state.notice = Some(Notice::Error(e.to_string()));
                    return;
                }
                self.tiles = TileSource::new(&t, &self.ctx);
                self.connectivity = Connectivity::for_setting(&t, &self.ctx);
                if let TileSetting::Custom(server) = &t {
                    self.state.prefs.custom_server = server.clone();
                }
                self.state.prefs.tiles = t;
            }
            Command::Pick(kind) => self.pick(kind),
            Command::ChooseSites => {
                self.state.analysis.sites = Some(self.state.sites_draft.clone());
                self.state.selected_site = None;
                self.rerun(Stage::Sites);
            }
            Command::RemoveSites => {
                self.state.analysis.sites = None;
                self.state.clear_sites();
            }
            Command::SelectSite(k) => self.state.selected_site = k,
            Command::FrameSite(k) => {
                if let Some(ms) = &self.state.map_sites
                    && let Some(site) = ms.sites.get(k)
                {
                    self.state.frame_request = map::BBox::of(site.circle.iter().map(|&m| map::lonlat_from_merc(m)));
                }
            }
            Command::SetCandidatesFile(p) => {
                self.state.candidates_text = p.display().to_string();
                self.state.sites_draft.candidates = crate::sites::CandidateSource::File;
                self.state.sites_draft.candidates_file = Some(p);
            }
            Command::RunHotspots => {
                self.state.analysis.hotspots = Some(self.state.hot_draft.clone());
                self.rerun(Stage::Sites);
            }
            Command::RemoveHotspots => {
                self.state.analysis.hotspots = None;
                self.state.hotspots = None;
                self.state.map_hotspots = None;
            }
            Command::RunAudit => {
                self.state.analysis.audit = Some(self.state.audit_draft.clone());
                self.rerun(Stage::Sites);
            }
            Command::RemoveAudit => {
                self.state.analysis.audit = None;
                self.state.audit = None;
            }
            Command::SetExistingFile(p) => {
                self.state.existing_text = p.display().to_string();
                self.state.sites_draft.existing_file = Some(p);
            }
            Command::NewQuiz => {
                if let Some(imp) = self.state.imported.clone() {
                    let (seed, count) = (self.state.quiz.seed, self.state.quiz.count);
                    self.state.notice = None;
                    self.worker.quiz(imp, self.resolved_analysis(), seed, count, self.state.prefs.lang);
                }
            }
            Command::Sweep => {
                if let (Some(imp), Some(sc)) = (self.state.imported.clone(), self.state.scored.clone()) {
                    let method = self.state.study.method.unwrap_or(self.state.analysis.cluster.method);
                    let spec = self.state.study.spec(method);
                    self.state.notice = None;
                    self.worker.sweep(imp, sc, self.state.analysis.cluster.clone(), spec);
                }
            }
        }
    }

    /// The analysis with the automatic choices written out, as `needmap run` saves it.
    pub fn resolved_analysis(&self) -> Analysis {
        let mut a = self.state.analysis.clone();
        a.input.path = self.state.path.clone();
        if let Some(sc) = &self.state.scored {
            a.need = sc.resolved.clone();
        }
        if let Some(c) = &self.state.clustered {
            a.cluster = c.resolved.clone();
        }
        if let Some(i) = &self.state.imported {
            a.input.people_column = i.people_column.clone();
        }
        if let Some(r) = &self.state.sites {
            a.sites = Some(r.params.clone());
        }
        a
    }

    /// Exports the current results; `anyway`: even if the survey changed on disk since it was
    /// loaded (otherwise that is said first, so outputs never silently disagree with the file).
    fn export(&mut self, dir: PathBuf, anyway: bool) {
        let s = self.strings();
        let (Some(input), Some(imported), Some(scored), Some(clustered), Some(zones)) = (
            self.state.path.clone(),
            self.state.imported.clone(),
            self.state.scored.clone(),
            self.state.clustered.clone(),
            self.state.zones.clone(),
        ) else {
            self.state.notice = Some(Notice::Error(s.t("notice.nothing_to_export").into()));
            return;
        };
        if self.worker.busy() {
            self.state.notice = Some(Notice::Error(s.t("notice.wait_for_run").into()));
            return;
        }
        if !anyway && imported.changed_on_disk(&input) {
            self.state.input_changed = true;
            self.state.notice = Some(Notice::Error(s.f("notice.input_changed", &[("path", &input.display())])));
            return;
        }
        self.state.input_changed = false;
        let outcome = Outcome {
            imported,
            scored,
            clustered,
            zones,
            sites: self.state.sites.clone(),
            hotspots: self.state.hotspots.clone(),
            audit: self.state.audit.clone(),
            resolved: self.resolved_analysis(),
            timings_ms: Vec::new(),
        };
        self.state.prefs.last_export_dir = dir.parent().map(Path::to_path_buf);
        let opts = crate::export::ExportOptions {
            lang: self.state.prefs.lang,
            print_map: self.state.prefs.export_map,
            print_atlas: self.state.prefs.export_atlas,
            report: self.state.prefs.export_report,
            parquet: self.state.prefs.export_parquet,
            // Printed over the offline tiles the map shows, when it shows a file of them.
            print_tiles: match &self.state.prefs.tiles {
                TileSetting::MbTiles(p) | TileSetting::Folder(p) => Some(p.clone()),
                _ => None,
            },
            ..Default::default()
        };
        self.worker.export(outcome, input, dir, false, opts);
    }

    /// Shows a native file dialog on a thread; the chosen path comes back as a command.
    fn pick(&mut self, kind: PickKind) {
        let tx = self.picks.0.clone();
        let ctx = self.ctx.clone();
        let s = self.strings();
        let title = s.t(match kind {
            PickKind::Survey => "dialog.open_survey",
            PickKind::ExportFolder => "dialog.export_folder",
            PickKind::SaveAnalysis => "dialog.save_analysis",
            PickKind::LoadAnalysis => "dialog.load_analysis",
            PickKind::PmTiles => "dialog.pmtiles",
            PickKind::MbTiles => "dialog.mbtiles",
            PickKind::TileFolder => "dialog.tile_folder",
            PickKind::Candidates => "dialog.candidates",
            PickKind::Existing => "dialog.existing",
        });
        std::thread::spawn(move || {
            let d = rfd::FileDialog::new().set_title(title);
            let cmd = match kind {
                PickKind::Survey => d
                    .add_filter(
                        "Surveys",
                        &["csv", "tsv", "txt", "xlsx", "xlsm", "geojson", "json", "parquet", "geoparquet"],
                    )
                    .pick_file()
                    .map(Command::Open),
                PickKind::ExportFolder => d.pick_folder().map(|p| Command::Export(p.join("needmap_out"))),
                PickKind::SaveAnalysis => d.set_file_name("analysis.toml").save_file().map(Command::SaveAnalysis),
                PickKind::LoadAnalysis => d.add_filter("TOML", &["toml"]).pick_file().map(Command::LoadAnalysis),
                PickKind::PmTiles => d
                    .add_filter("PMTiles", &["pmtiles"])
                    .pick_file()
                    .map(|p| Command::SetTiles(TileSetting::PmTiles(p))),
                PickKind::MbTiles => d
                    .add_filter("MBTiles", &["mbtiles"])
                    .pick_file()
                    .map(|p| Command::SetTiles(TileSetting::MbTiles(p))),
                PickKind::TileFolder => d.pick_folder().map(|p| Command::SetTiles(TileSetting::Folder(p))),
                PickKind::Candidates | PickKind::Existing => {
                    let d = d.add_filter(
                        "Locations",
                        &["csv", "tsv", "txt", "xlsx", "xlsm", "geojson", "json", "parquet", "geoparquet"],
                    );
                    d.pick_file().map(|p| {
                        if kind == PickKind::Candidates {
                            Command::SetCandidatesFile(p)
                        } else {
                            Command::SetExistingFile(p)
                        }
                    })
                }
            };
            if let Some(c) = cmd {
                let _ = tx.send(c);
                ctx.request_repaint();
            }
        });
    }

    fn receive(&mut self) {
        let s = self.strings();
        for msg in self.worker.poll() {
            match msg {
                Msg::Imported(imp, map) => {
                    if let Some(p) = &self.state.path {
                        self.state.prefs.remember(p);
                    }
                    let first = self.state.map_households.is_none() || self.state.imported.is_none();
                    if first {
                        self.state.frame_request = map.bbox;
                    }
                    // Every later result was computed for the households before: drop them
                    // (a re-read file may have more or fewer households; drawing old scores
                    // over new households would index past their end).
                    let suggestion = self.state.suggestion.take();
                    self.state.clear_results();
                    self.state.suggestion = suggestion;
                    self.state.imported = Some(imp);
                    self.state.map_households = Some(map);
                }
                Msg::Scored(sc) => self.state.scored = Some(sc),
                Msg::Clustered(c) => {
                    if c.suggestion.is_some() {
                        self.state.suggestion = c.suggestion.clone();
                    }
                    self.state.clustered = Some(c);
                }
                Msg::Zones(z, map) => {
                    if let Some(sel) = self.state.selected_zone
                        && !z.zones.iter().any(|zz| zz.id == sel)
                    {
                        self.state.selected_zone = None;
                    }
                    self.state.zones = Some(z);
                    self.state.map_zones = Some(map);
                    // Sites follow the zones; a job that chooses them sends them next.
                    self.state.clear_sites();
                    self.state.clear_extras();
                }
                Msg::Hotspots(r, map) => {
                    self.state.hotspots = Some(r);
                    self.state.map_hotspots = Some(map);
                }
                Msg::Audit(r) => self.state.audit = Some(r),
                Msg::Sites(r, map) => {
                    self.state.sites = Some(r);
                    self.state.map_sites = Some(map);
                }
                Msg::Finished => {}
                Msg::Failed(e) => {
                    self.state.notice = Some(Notice::Error(e));
                }
                Msg::TilesDone(r) => self.download_finished(r),
                Msg::Crashed { stage, message } => {
                    self.state.notice = Some(Notice::Error(
                        s.f("notice.crashed", &[("stage", &s.t(stage_key(stage))), ("message", &message)]),
                    ));
                }
                Msg::Cancelled => {
                    self.state.notice = Some(Notice::Info(s.t("status.cancelled").into()));
                }
                Msg::QuizReady(r) => match r {
                    Ok(q) => self.state.quiz.set(q),
                    Err(e) if e.is_empty() => self.state.notice = Some(Notice::Info(s.t("status.cancelled").into())),
                    Err(e) => self.state.notice = Some(Notice::Error(e)),
                },
                Msg::Swept(spec, r) => match r {
                    Ok(rows) => self.state.study.result = Some(panels::study::StudyResult { spec, rows }),
                    Err(e) if e.is_empty() => self.state.notice = Some(Notice::Info(s.t("status.cancelled").into())),
                    Err(e) => self.state.notice = Some(Notice::Error(e)),
                },
                Msg::Exported(r) => {
                    self.state.notice = Some(match r {
                        Ok(p) => Notice::Info(s.f("notice.exported", &[("path", &p.display())])),
                        Err(e) => Notice::Error(e),
                    })
                }
            }
        }
        while let Ok(cmd) = self.picks.1.try_recv() {
            self.apply(cmd);
        }
    }

    /// The whole window, for eframe and for tests.
    pub fn show(&mut self, ui: &mut Ui) {
        self.receive();
        let s = self.strings();
        let mut cmds = Vec::new();

        // Files dropped on the window.
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| {
            i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).filter(|p| !p.as_os_str().is_empty()).collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            if p.extension().is_some_and(|e| e == "toml") {
                cmds.push(Command::LoadAnalysis(p));
            } else {
                cmds.push(Command::Open(p));
            }
        }
        // Keyboard: Ctrl+O open, Escape cancel.
        if ui.ctx().input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::O)) {
            cmds.push(Command::Pick(PickKind::Survey));
        }
        if self.worker.busy() && ui.ctx().input(|i| i.key_pressed(egui::Key::Escape)) {
            cmds.push(Command::Cancel);
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui, &mut cmds));
        self.server_window_ui(ui.ctx(), &mut cmds);
        self.restore_window_ui(ui.ctx(), &mut cmds);
        self.download_window_ui(ui.ctx(), &mut cmds);
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui, &mut cmds));
        egui::Panel::left("panel").resizable(true).default_size(390.0).min_size(300.0).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (tab, key) in [
                    (Tab::Data, "tab.data"),
                    (Tab::Need, "tab.need"),
                    (Tab::Clusters, "tab.clusters"),
                    (Tab::Zones, "tab.zones"),
                    (Tab::Sites, "tab.sites"),
                    (Tab::Hotspots, "tab.hotspots"),
                    (Tab::Audit, "tab.audit"),
                    (Tab::Study, "tab.study"),
                    (Tab::Quiz, "tab.quiz"),
                    (Tab::Export, "tab.export"),
                ] {
                    ui.selectable_value(&mut self.state.prefs.tab, tab, s.t(key));
                }
            });
            ui.separator();
            let tab = self.state.prefs.tab;
            let exporting = self.worker.exporting;
            let busy = self.worker.busy();
            if tab == Tab::Zones {
                // The zones table scrolls by itself.
                panels::zones::ui(ui, &mut self.state, s, &mut cmds);
            } else {
                egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| match tab {
                    Tab::Data => panels::data::ui(ui, &mut self.state, s, &mut cmds),
                    Tab::Need => panels::need::ui(ui, &mut self.state, s, &mut cmds),
                    Tab::Clusters => panels::clusters::ui(ui, &mut self.state, s, &mut cmds),
                    Tab::Zones => {}
                    Tab::Sites => panels::sites::ui(ui, &mut self.state, s, &mut cmds),
                    Tab::Hotspots => panels::hotspots::ui(ui, &mut self.state, s, &mut cmds),
                    Tab::Audit => panels::audit::ui(ui, &mut self.state, s, &mut cmds),
                    Tab::Study => panels::study::ui(ui, &mut self.state, s, &mut cmds, busy),
                    Tab::Quiz => panels::quiz::ui(ui, &mut self.state, s, &mut cmds, busy),
                    Tab::Export => panels::export::ui(ui, &mut self.state, s, &mut cmds, exporting),
                });
            }
        });
        egui::CentralPanel::no_frame().show(ui, |ui| self.map_ui(ui, &mut cmds));

        // Window title: the open file's name.
        let title = match &self.state.path {
            Some(p) => format!("{} — needmap", p.file_name().unwrap_or_default().to_string_lossy()),
            None => "needmap".to_string(),
        };
        if self.title != title {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }

        for c in cmds {
            self.apply(c);
        }
        // Nothing is saved over the earlier session until the user has answered its offer.
        if self.state.restore_offer.is_none()
            && let Some(session) = &mut self.session
        {
            session.save(&self.state.analysis, self.state.path.as_deref());
        }
        if self.busy() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn menu_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        let s = self.strings();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button(s.t("menu.file"), |ui| {
                if ui.button(s.t("menu.open")).clicked() {
                    cmds.push(Command::Pick(PickKind::Survey));
                }
                ui.menu_button(s.t("menu.recent"), |ui| {
                    if self.state.prefs.recent.is_empty() {
                        ui.label(s.t("menu.no_recent"));
                    }
                    for p in &self.state.prefs.recent {
                        if ui.button(p.display().to_string()).clicked() {
                            cmds.push(Command::Open(p.clone()));
                        }
                    }
                });
                ui.separator();
                if ui.button(s.t("menu.load_analysis")).clicked() {
                    cmds.push(Command::Pick(PickKind::LoadAnalysis));
                }
                if ui.button(s.t("menu.save_analysis")).clicked() {
                    cmds.push(Command::Pick(PickKind::SaveAnalysis));
                }
                if ui.button(s.t("menu.export")).clicked() {
                    self.state.prefs.tab = Tab::Export;
                }
                ui.separator();
                if ui.button(s.t("menu.quit")).clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button(s.t("menu.view"), |ui| {
                ui.checkbox(&mut self.state.prefs.learn, s.t("menu.learn")).on_hover_text(s.t("menu.learn_help"));
                ui.separator();
                ui.checkbox(&mut self.state.prefs.show_households, s.t("layer.households"));
                ui.checkbox(&mut self.state.prefs.show_zones, s.t("layer.zones"));
                ui.checkbox(&mut self.state.prefs.show_sites, s.t("layer.sites"));
                ui.checkbox(&mut self.state.prefs.show_hotspots, s.t("layer.hotspots"));
                ui.separator();
                ui.label(s.t("layer.colour_by"));
                ui.radio_value(&mut self.state.prefs.colour_by, map::households::ColourBy::Need, s.t("layer.by_need"));
                ui.radio_value(
                    &mut self.state.prefs.colour_by,
                    map::households::ColourBy::Cluster,
                    s.t("layer.by_cluster"),
                );
                ui.separator();
                if ui.button(s.t("menu.zoom_to_data")).clicked() {
                    cmds.push(Command::Frame(None));
                }
                ui.separator();
                ui.label(s.t("menu.tiles"));
                let cur = self.state.prefs.tiles.clone();
                if ui.radio(cur == TileSetting::OpenStreetMap, s.t("tiles.osm")).clicked() {
                    cmds.push(Command::SetTiles(TileSetting::OpenStreetMap));
                }
                if ui.radio(matches!(cur, TileSetting::Custom(_)), s.t("tiles.custom")).clicked() {
                    self.state.server_window = true;
                    ui.close();
                }
                if ui.radio(matches!(cur, TileSetting::PmTiles(_)), s.t("tiles.pmtiles")).clicked() {
                    cmds.push(Command::Pick(PickKind::PmTiles));
                }
                if ui.radio(matches!(cur, TileSetting::MbTiles(_)), s.t("tiles.mbtiles")).clicked() {
                    cmds.push(Command::Pick(PickKind::MbTiles));
                }
                if ui.radio(matches!(cur, TileSetting::Folder(_)), s.t("tiles.folder")).clicked() {
                    cmds.push(Command::Pick(PickKind::TileFolder));
                }
                if ui.radio(cur == TileSetting::Basemap, s.t("tiles.basemap")).clicked() {
                    cmds.push(Command::SetTiles(TileSetting::Basemap));
                }
                ui.separator();
                let has_area = self.state.imported.is_some();
                if ui.add_enabled(has_area, egui::Button::new(s.t("download.menu"))).clicked() {
                    let server = &self.state.prefs.custom_server;
                    let stem = self
                        .state
                        .path
                        .as_deref()
                        .and_then(|p| p.file_stem())
                        .map(|n| n.to_string_lossy().into_owned());
                    let dir =
                        self.state.path.as_deref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
                    self.state.download = Some(download::DownloadDraft {
                        url: server.url.clone(),
                        key: server.key.clone(),
                        attribution: server.attribution.clone(),
                        out_text: dir
                            .join(format!("{}_tiles.mbtiles", stem.unwrap_or_else(|| "area".into())))
                            .display()
                            .to_string(),
                        ..Default::default()
                    });
                    ui.close();
                }
            });
            ui.menu_button(s.t("menu.language"), |ui| {
                for lang in Lang::ALL {
                    ui.radio_value(&mut self.state.prefs.lang, lang, lang.native_name());
                }
            });
        });
    }

    fn status_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        let s = self.strings();
        ui.horizontal(|ui| {
            if let Some(r) = &self.worker.running {
                let (stage, done, total) = r.progress.snapshot();
                // Cancel first, so it never moves as the stage name changes.
                if ui.button(s.t("action.cancel")).on_hover_text("Esc").clicked() {
                    cmds.push(Command::Cancel);
                }
                ui.spinner();
                let bar = if total > 1 {
                    egui::ProgressBar::new(done as f32 / total as f32).show_percentage()
                } else {
                    egui::ProgressBar::new(0.0).animate(true)
                };
                ui.add(bar.desired_width(220.0));
                ui.label(format!("{} · {:.1} s", s.t(stage_key(stage)), r.started.elapsed().as_secs_f64()));
            } else if self.worker.exporting {
                ui.spinner();
                ui.label(s.t("status.exporting"));
            }
            match &self.state.notice {
                Some(Notice::Error(e)) => {
                    ui.label(
                        RichText::new(format!("{} {e}", s.t("status.error")))
                            .color(Color32::from_rgb(0xc0, 0x1c, 0x28)),
                    );
                }
                Some(Notice::Info(m)) => {
                    ui.label(m.as_str());
                }
                None => {}
            }
            self.downloaded_ui(ui, cmds);
            if !self.worker.busy() {
                if let (Some(imp), Some(sc), Some(z)) = (&self.state.imported, &self.state.scored, &self.state.zones) {
                    let critical = sc.critical.iter().filter(|&&c| c).count();
                    ui.label(s.f(
                        "status.summary",
                        &[("households", &imp.households.len()), ("critical", &critical), ("zones", &z.zones.len())],
                    ));
                } else if self.state.path.is_none() {
                    ui.label(s.t("status.no_file"));
                }
            }
        });
    }

    fn map_ui(&mut self, ui: &mut Ui, cmds: &mut Vec<Command>) {
        let s = self.strings();
        // Frame a requested box (new file, selected zone) now that the map's size is known.
        if let Some(b) = self.state.frame_request.take() {
            let ((lon, lat), zoom) = b.view(ui.available_size());
            self.memory.center_at(lon_lat(lon, lat));
            let _ = self.memory.set_zoom(zoom.min(17.0));
        }
        let home = self
            .state
            .map_households
            .as_ref()
            .and_then(|h| h.bbox)
            .map_or(lon_lat(-77.03, -12.05), |b| lon_lat((b.min.0 + b.max.0) / 2.0, (b.min.1 + b.max.1) / 2.0));
        // The basemap goes under the tiles: reserve its place now, fill it once the map knows
        // this frame's projection.
        let basemap_slot = ui.painter().add(egui::Shape::Noop);
        // Files are always there; a server only when it answered (or before we know).
        let http = matches!(self.tiles, TileSource::Osm(_) | TileSource::Custom(_));
        let offline = match &self.tiles {
            TileSource::None => true,
            _ => http && self.connectivity.get() == Connectivity::OFFLINE,
        };
        let attribution = match self.tiles.attribution() {
            Some(a) if !offline => format!("{a} · {}", map::basemap::ATTRIBUTION),
            _ => map::basemap::ATTRIBUTION.to_string(),
        };
        // Learn mode: what the clustering used for the household under the pointer.
        self.update_probe();
        let probe = self.state.probe.as_ref().filter(|_| self.state.prefs.learn);
        let mut hovered_household = None;
        let mut aggregated = false;
        let mut hovered_zone = None;
        let mut clicked = false;
        let mut selected = self.state.selected_zone;
        let mut selected_site = self.state.selected_site;
        let mut hovered_site = None;
        let mut clicked_site = false;
        let need = self.state.scored.as_ref().map(|s| s.need.score.as_slice());
        let labels = self.state.clustered.as_ref().map(|c| c.labels.as_slice());
        let mut map = walkers::Map::new(self.tiles.tiles(), &mut self.memory, home);
        if self.state.prefs.show_households
            && let Some(h) = &self.state.map_households
        {
            map = map.with_plugin(map::households::HouseholdsLayer {
                data: h,
                need,
                labels,
                colour_by: self.state.prefs.colour_by,
                hovered: &mut hovered_household,
                aggregated: &mut aggregated,
            });
        }
        // Hot spots under the zones, so the zones' outlines and labels stay readable.
        if self.state.prefs.show_hotspots
            && let Some(mh) = &self.state.map_hotspots
        {
            map = map.with_plugin(map::hotspots::HotspotsLayer { data: mh });
        }
        if self.state.prefs.show_zones
            && let Some(z) = &self.state.map_zones
        {
            map = map.with_plugin(map::zones::ZonesLayer {
                data: z,
                selected: &mut selected,
                hovered: &mut hovered_zone,
                clicked: &mut clicked,
            });
        }
        if self.state.prefs.show_sites
            && let Some(ms) = &self.state.map_sites
        {
            map = map.with_plugin(map::sites::SitesLayer {
                data: ms,
                selected: &mut selected_site,
                hovered: &mut hovered_site,
                clicked: &mut clicked_site,
            });
        }
        let response = map.show(ui, |ui, response, projector, _memory| {
            let rect = response.rect;
            let screen = map::Screen::from_projector(projector);
            ui.painter()
                .set(basemap_slot, egui::Shape::Vec(map::basemap::shapes(map::basemap::basemap(), &screen, rect)));
            let painter = ui.painter_at(rect);
            map::overlays::scale_bar(&painter, rect, projector);
            if let (Some(p), Some(h)) = (probe, &self.state.map_households) {
                map::learn::draw(&painter, p, &h.merc, &screen, projector);
            }
            let zones = self.state.zones.as_ref().map_or(0, |z| z.zones.len());
            let legend_text = map::overlays::LegendText {
                need: s.t("legend.need"),
                cluster: s.t("legend.cluster"),
                noise: s.t("legend.noise"),
                zone_rank: s.t("legend.zone_rank"),
                sites: self
                    .state
                    .sites
                    .as_ref()
                    .filter(|_| self.state.prefs.show_sites)
                    .map(|r| s.f("legend.sites", &[("radius", &r.params.radius_m)])),
                hotspots: self
                    .state
                    .hotspots
                    .as_ref()
                    .filter(|_| self.state.prefs.show_hotspots)
                    .map(|_| (s.t("legend.hot").to_string(), s.t("legend.cold").to_string())),
            };
            map::overlays::legend(&painter, rect, self.state.prefs.colour_by, need.is_some(), zones, &legend_text);
            map::overlays::attribution(&painter, rect, &attribution);
            if offline {
                map::overlays::banner(&painter, rect, s.t("map.offline"));
            } else if self.state.path.is_none() {
                map::overlays::banner(&painter, rect, s.t("map.hint_open"));
            }
        });
        self.state.hovered_household = hovered_household;
        self.state.hovered_zone = hovered_zone;
        self.state.aggregated = aggregated;
        self.state.hovered_site = hovered_site;
        if clicked_site {
            cmds.push(Command::SelectSite(selected_site));
            self.state.prefs.tab = Tab::Sites;
        } else if clicked {
            cmds.push(Command::SelectZone(selected));
        }
        // Hover tooltip: a site, zone figures, or the household's attributes.
        let response = response.response;
        if let (Some(k), Some(r)) = (hovered_site, &self.state.sites)
            && let Some(site) = r.solution.sites.get(k)
        {
            let text = s.f(
                "sites.selected_figures",
                &[
                    ("candidate", &r.candidates.id[site.candidate]),
                    ("households", &site.covered_households),
                    ("weight", &format!("{:.1}", site.covered_weight)),
                    ("added", &format!("{:.1}", site.added_weight)),
                ],
            );
            response.on_hover_ui_at_pointer(|ui| {
                ui.strong(s.f("sites.selected", &[("n", &(k + 1))]));
                ui.label(text);
            });
        } else if let Some(id) = hovered_zone
            && hovered_household.is_none()
            && let Some(z) = self.state.zones.as_ref().and_then(|zs| zs.zones.iter().find(|z| z.id == id))
        {
            response.on_hover_ui_at_pointer(|ui| panels::zones::zone_figures_ui(ui, z, s));
        } else if let (Some(i), Some(imp)) = (hovered_household, &self.state.imported) {
            let need = self.state.scored.as_ref().map(|sc| sc.need.score[i]);
            let label = self.state.clustered.as_ref().map(|c| c.labels[i]);
            let learn = self.state.probe.as_ref().filter(|p| self.state.prefs.learn && p.household == i);
            let learn = learn.and_then(|p| p.describe(s));
            response.on_hover_ui_at_pointer(|ui| {
                panels::data::household_ui(ui, imp, i, need, label, s);
                if let Some(l) = learn {
                    ui.separator();
                    ui.label(RichText::new(l).strong());
                }
            });
        }
    }
}

impl NeedmapApp {
    /// Keeps the Learn-mode probe in step with the hovered household and the clustering.
    fn update_probe(&mut self) {
        let st = &mut self.state;
        let (Some(i), true, Some(imp), Some(sc), Some(c)) =
            (st.hovered_household, st.prefs.learn, &st.imported, &st.scored, &st.clustered)
        else {
            if !st.prefs.learn || st.clustered.is_none() {
                st.probe = None;
            }
            return;
        };
        let key = Arc::as_ptr(c) as usize;
        if i >= c.labels.len() || st.probe.as_ref().is_some_and(|p| p.household == i && p.clustering == key) {
            return;
        }
        st.probe = Some(map::learn::Probe::new(imp, sc, c, key, i));
    }

    /// The offer to restore the analysis an earlier run left (after a crash, or a close).
    fn restore_window_ui(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let Some(a) = &self.state.restore_offer else { return };
        let s = self.strings();
        let file = a.input.path.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        egui::Window::new(s.t("restore.title"))
            .resizable(false)
            .collapsible(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(s.f("restore.text", &[("file", &file)]));
                ui.horizontal(|ui| {
                    if ui.button(s.t("restore.yes")).clicked() {
                        cmds.push(Command::Restore(true));
                    }
                    if ui.button(s.t("restore.no")).clicked() {
                        cmds.push(Command::Restore(false));
                    }
                });
            });
    }

    /// The custom tile server window: URL template, attribution, API key.
    fn server_window_ui(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        if !self.state.server_window {
            return;
        }
        let s = self.strings();
        let mut open = true;
        let mut close = false;
        egui::Window::new(s.t("tiles.custom_title")).open(&mut open).resizable(false).collapsible(false).show(
            ctx,
            |ui| {
                let server = &mut self.state.prefs.custom_server;
                ui.label(s.t("tiles.custom_help"));
                egui::Grid::new("server").num_columns(2).show(ui, |ui| {
                    ui.label(s.t("tiles.custom_url"));
                    ui.add(
                        egui::TextEdit::singleline(&mut server.url)
                            .hint_text("https://tiles.example.org/{z}/{x}/{y}.png?key={key}")
                            .desired_width(380.0),
                    );
                    ui.end_row();
                    ui.label(s.t("tiles.custom_attribution"));
                    ui.add(
                        egui::TextEdit::singleline(&mut server.attribution).hint_text("© OpenStreetMap contributors"),
                    );
                    ui.end_row();
                    ui.label(s.t("tiles.custom_key"));
                    ui.add(egui::TextEdit::singleline(&mut server.key).password(true));
                    ui.end_row();
                });
                let problem = server.problem();
                if let Some(p) = problem {
                    ui.colored_label(Color32::from_rgb(0xc0, 0x1c, 0x28), s.t(p));
                }
                ui.horizontal(|ui| {
                    if ui.add_enabled(problem.is_none(), egui::Button::new(s.t("tiles.custom_use"))).clicked() {
                        cmds.push(Command::SetTiles(TileSetting::Custom(server.clone())));
                        close = true;
                    }
                    if ui.button(s.t("action.close")).clicked() {
                        close = true;
                    }
                });
            },
        );
        if !open || close {
            self.state.server_window = false;
        }
    }
}

/// Translation key of a progress stage key.
fn stage_key(stage: &str) -> &'static str {
    match stage {
        "import" | "read" | "validate" => "stage.import",
        "need" => "stage.need",
        "suggest" => "stage.suggest",
        "cluster" | "dbscan" | "kmeans" => "stage.cluster",
        "core distances" | "spanning tree" | "condense" => "stage.hdbscan",
        "zones" => "stage.zones",
        "hotspots" | "hotspots_band" => "stage.hotspots",
        "audit" => "stage.audit",
        "sites_candidates" | "sites_coverage" | "sites_greedy" | "sites_swap" | "sites_bound" | "sites_figures" => {
            "stage.sites"
        }
        "map" => "stage.map",
        "tiles" => "stage.tiles",
        "sweep" => "stage.sweep",
        "quiz" => "stage.quiz",
        "report" => "stage.report",
        _ => "stage.working",
    }
}

impl eframe::App for NeedmapApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let mut prefs = self.state.prefs.clone();
        let c = self.memory.detached();
        if let Some(p) = c {
            prefs.map_view = Some(((p.x(), p.y()), self.memory.zoom()));
        }
        eframe::set_value(storage, PREFS_KEY, &prefs);
    }
}
