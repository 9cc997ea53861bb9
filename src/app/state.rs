//! What the frame reads: the analysis being edited, the latest results, the selection, and
//! the user's preferences. Panels never change results themselves: they edit the analysis
//! and return [`Command`]s, which the app hands to the worker.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Clustered, Imported, Scored, SitesResult, Suggestion};
use crate::audit::{AuditParams, AuditResult};
use crate::hotspots::{HotspotParams, HotspotResult};
use crate::sites::SitesParams;
use crate::zones::ZonesResult;

use super::i18n::Lang;
use super::map::hotspots::MapHotspots;
use super::map::households::ColourBy;
use super::map::sites::MapSites;
use super::map::tiles::{CustomServer, TileSetting};
use super::map::{MapHouseholds, MapZones};
use super::worker::Stage;

/// What a panel asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open a survey file (import and run everything).
    Open(PathBuf),
    /// Recompute from this stage on, with the current analysis.
    Rerun(Stage),
    Cancel,
    SelectZone(Option<u32>),
    /// Centre the map on the selected zone (or the data, with `None`).
    Frame(Option<u32>),
    /// Download the tiles of the area with the download window's settings.
    DownloadTiles,
    /// Restore the analysis saved by an earlier run (true) or start afresh (false).
    Restore(bool),
    Export(PathBuf),
    /// Export although the survey changed on disk since it was loaded.
    ExportAnyway(PathBuf),
    SaveAnalysis(PathBuf),
    LoadAnalysis(PathBuf),
    SetTiles(TileSetting),
    /// Choose build sites with the Sites panel's settings (and keep them in the analysis).
    ChooseSites,
    /// Drop the sites from the analysis and the map.
    RemoveSites,
    SelectSite(Option<usize>),
    /// Centre the map on a chosen site's coverage circle.
    FrameSite(usize),
    SetCandidatesFile(PathBuf),
    /// Find hot spots with the panel's settings (and keep them in the analysis).
    RunHotspots,
    RemoveHotspots,
    /// Audit the ranking with the panel's settings (and keep them in the analysis).
    RunAudit,
    RemoveAudit,
    SetExistingFile(PathBuf),
    /// Run the Study panel's parameter sweep.
    Sweep,
    /// Make exercises from the survey and the analysis with the Quiz panel's seed and count.
    NewQuiz,
    /// Ask the user for a path with a file dialog, then run the command built from it.
    Pick(PickKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickKind {
    Survey,
    ExportFolder,
    SaveAnalysis,
    LoadAnalysis,
    PmTiles,
    MbTiles,
    TileFolder,
    Candidates,
    Existing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tab {
    #[default]
    Data,
    Need,
    Clusters,
    Zones,
    Sites,
    Hotspots,
    Audit,
    Study,
    Quiz,
    Export,
}

/// Preferences kept between sessions (never data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub lang: Lang,
    pub recent: Vec<PathBuf>,
    pub tab: Tab,
    pub show_households: bool,
    pub show_zones: bool,
    pub show_sites: bool,
    pub show_hotspots: bool,
    pub colour_by: ColourBy,
    pub tiles: TileSetting,
    /// The custom XYZ server last entered (kept while another source is in use).
    pub custom_server: CustomServer,
    /// Map centre (lon, lat) and zoom when the app was closed.
    pub map_view: Option<((f64, f64), f64)>,
    pub last_export_dir: Option<PathBuf>,
    /// Export also writes map.pdf and atlas.pdf.
    pub export_map: bool,
    pub export_atlas: bool,
    /// Export also writes report.html.
    pub export_report: bool,
    /// Export also writes households.parquet and zones.parquet (GeoParquet).
    pub export_parquet: bool,
    /// Learn mode: each panel explains its step and the map shows what the step used.
    pub learn: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            lang: Lang::from_system(),
            recent: Vec::new(),
            tab: Tab::Data,
            show_households: true,
            show_zones: true,
            show_sites: true,
            show_hotspots: true,
            colour_by: ColourBy::Need,
            tiles: TileSetting::OpenStreetMap,
            custom_server: CustomServer::default(),
            map_view: None,
            last_export_dir: None,
            export_map: true,
            export_atlas: true,
            export_report: true,
            export_parquet: false,
            learn: false,
        }
    }
}

impl Prefs {
    pub fn remember(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(8);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Info(String),
    Error(String),
}

/// Zones table sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Rank,
    Households,
    People,
    Critical,
    MeanNeed,
    Area,
}

#[derive(Default)]
pub struct AppState {
    pub prefs: Prefs,
    pub analysis: Analysis,
    /// The survey shown (results belong to it).
    pub path: Option<PathBuf>,
    /// The path typed in the Data panel.
    pub path_text: String,
    pub imported: Option<Arc<Imported>>,
    pub map_households: Option<Arc<MapHouseholds>>,
    pub scored: Option<Arc<Scored>>,
    pub clustered: Option<Arc<Clustered>>,
    pub zones: Option<Arc<ZonesResult>>,
    pub map_zones: Option<Arc<MapZones>>,
    pub sites: Option<Arc<SitesResult>>,
    pub map_sites: Option<Arc<MapSites>>,
    pub selected_site: Option<usize>,
    pub hovered_site: Option<usize>,
    /// The Sites panel's settings, kept while the user edits them (the analysis holds the
    /// ones last run).
    pub sites_draft: SitesParams,
    pub candidates_text: String,
    pub existing_text: String,
    pub hotspots: Option<Arc<HotspotResult>>,
    pub map_hotspots: Option<Arc<MapHotspots>>,
    pub hot_draft: HotspotParams,
    pub audit: Option<Arc<AuditResult>>,
    pub audit_draft: AuditParams,
    /// The last k-distance suggestion, kept when the user then sets eps by hand.
    pub suggestion: Option<Suggestion>,
    pub selected_zone: Option<u32>,
    /// The tile server window is open.
    pub server_window: bool,
    pub hovered_zone: Option<u32>,
    pub hovered_household: Option<usize>,
    pub aggregated: bool,
    pub notice: Option<Notice>,
    /// Frame the map on this lon/lat box at the next frame.
    pub frame_request: Option<super::map::BBox>,
    pub sort: (SortBy, bool),
    pub export_dir_text: String,
    /// The "Download this area" window, when open.
    pub download: Option<super::download::DownloadDraft>,
    /// An MBTiles file just downloaded, offered as the map's tiles.
    pub downloaded: Option<PathBuf>,
    /// The analysis an earlier run of the app left, offered for restoring.
    pub restore_offer: Option<Analysis>,
    /// The survey changed on disk since it was loaded: the Export panel asks before writing.
    pub input_changed: bool,
    /// Last finished run, seconds.
    pub last_run_s: Option<f64>,
    /// The Study panel: parameter sweeps and comparisons.
    pub study: super::panels::study::StudyState,
    /// The Quiz panel: the current exercises and the answers given.
    pub quiz: super::panels::quiz::QuizState,
    /// Each indicator's part of every household's need (for "why is this zone ranked so?"),
    /// computed when first asked for, for the need result it belongs to.
    pub parts: Option<(usize, Arc<Vec<Vec<f64>>>)>,
    /// What the map shows in Learn mode for the hovered household, for the clustering it
    /// belongs to.
    pub probe: Option<super::map::learn::Probe>,
}

impl AppState {
    /// Drops every result (a new file is being opened).
    pub fn clear_results(&mut self) {
        self.input_changed = false;
        self.imported = None;
        self.map_households = None;
        self.scored = None;
        self.clustered = None;
        self.zones = None;
        self.map_zones = None;
        self.clear_sites();
        self.clear_extras();
        self.suggestion = None;
        self.study.clear_results();
        self.quiz.clear();
        self.parts = None;
        self.probe = None;
        self.selected_zone = None;
        self.hovered_zone = None;
        self.hovered_household = None;
    }

    pub fn clear_sites(&mut self) {
        self.sites = None;
        self.map_sites = None;
        self.selected_site = None;
        self.hovered_site = None;
    }

    /// Drops the hot spots and the audit (a job recomputes them after the zones).
    pub fn clear_extras(&mut self) {
        self.hotspots = None;
        self.map_hotspots = None;
        self.audit = None;
    }

    pub fn zone_count(&self) -> Option<usize> {
        self.zones.as_ref().map(|z| z.zones.len())
    }
}
