//! The desktop app driven as a person would, with egui_kittest: open a sample survey through
//! the app's own open path, wait for the worker, read the zones table, select a zone, switch
//! to Spanish, cancel a long run; and snapshot images of the main screens (wgpu on Mesa's
//! lavapipe in CI). No network: the app is built with the embedded basemap only.
#![cfg(feature = "gui")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use needmap::analysis::{self, Analysis};
use needmap::app::NeedmapApp;
use needmap::app::i18n::Lang;
use needmap::app::state::{Command, Notice, Prefs, Tab};
use needmap::app::worker::Stage;
use needmap::progress::Progress;

fn sample(name: &str) -> PathBuf {
    // Relative to the package root (the tests' working directory), so the path shown in the
    // Data panel, and so the snapshots, are the same in every checkout.
    Path::new("sample_data").join(name)
}

/// The app in a fixed-size window, English, offline, no saved preferences.
fn harness(lang: Lang) -> Harness<'static, Option<NeedmapApp>> {
    Harness::builder().with_size(egui::vec2(1280.0, 800.0)).with_max_steps(20).build_ui_state(
        move |ui, app: &mut Option<NeedmapApp>| {
            let prefs = Prefs { lang, recent: vec![], map_view: None, ..Prefs::default() };
            app.get_or_insert_with(|| NeedmapApp::new(ui.ctx(), prefs, false)).show(ui);
        },
        None,
    )
}

fn app<'h>(h: &'h mut Harness<'static, Option<NeedmapApp>>) -> &'h mut NeedmapApp {
    h.state_mut().as_mut().expect("the app is built on the first frame")
}

/// Steps the UI until the worker is idle (never a fixed sleep; a short pause between frames
/// lets the worker thread run on a busy machine).
fn wait_idle(h: &mut Harness<'static, Option<NeedmapApp>>) {
    let start = Instant::now();
    loop {
        h.step();
        if !app(h).busy() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the worker did not finish in 5 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the results settle into the panels (and tables size their columns).
    for _ in 0..3 {
        h.step();
    }
}

/// Opens `path` the way the Data panel's Load button does: type the path, click Load.
fn open_through_data_panel(h: &mut Harness<'static, Option<NeedmapApp>>, path: &Path) {
    h.get_by_label("Data").click();
    h.step();
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.focus();
    field.type_text(&path.display().to_string());
    h.step();
    h.get_by_label("Load").click();
    h.step();
}

/// Types `out` into the Export panel's folder field and writes the outputs (the panel is shown).
fn export_through_panel(h: &mut Harness<'static, Option<NeedmapApp>>, out: &Path) {
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.focus();
    field.type_text(&out.display().to_string());
    h.step();
    h.get_by_label("Write the outputs").click();
    h.step();
    wait_idle(h);
}

#[test]
fn opening_a_sample_survey_fills_the_zones_table_and_a_row_selects_its_zone() {
    let path = sample("lima_households.csv");
    // The reference: the headless pipeline with the same default analysis.
    let outcome = analysis::run(&Analysis::default(), &path, &Progress::new()).expect("pipeline runs");
    let expected = outcome.zones.zones.len();
    assert!(expected >= 5, "the sample should give several zones, got {expected}");

    let mut h = harness(Lang::En);
    open_through_data_panel(&mut h, &path);
    assert!(app(&mut h).busy(), "opening starts the worker");
    wait_idle(&mut h);
    let a = app(&mut h);
    assert!(a.state.notice.is_none(), "no error expected: {:?}", a.state.notice);
    assert_eq!(a.state.zone_count(), Some(expected));
    assert_eq!(
        a.state.imported.as_ref().unwrap().households.len(),
        outcome.imported.households.len(),
        "the app imports the same households as the CLI"
    );
    // The Data panel shows the import report.
    h.get_by_label(&outcome.imported.report.accepted.to_string());

    h.get_by_label("Zones").click();
    h.step();
    h.get_by_label(&format!("{expected} zones"));
    assert_eq!(app(&mut h).state.selected_zone, None);
    h.get_by_label("#1").click();
    h.step();
    h.step();
    let best = outcome.zones.zones[0].id;
    assert_eq!(app(&mut h).state.selected_zone, Some(best), "clicking row #1 selects the best-ranked zone");
    h.get_by_label("Zone #1");
    // Clear it again from the panel.
    h.get_by_label("Clear selection").click();
    h.step();
    assert_eq!(app(&mut h).state.selected_zone, None);

    // Export writes the same files as `needmap run`, and the zones read back.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zonas");
    h.get_by_label("Export").click();
    h.run_steps(2);
    h.get_by_label("Also households.parquet and zones.parquet (GeoParquet, for geopandas, DuckDB, QGIS)").click();
    h.step();
    assert!(app(&mut h).state.prefs.export_parquet);
    export_through_panel(&mut h, &out);
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "analysis.toml",
            "atlas.pdf",
            "households.csv",
            "households.parquet",
            "map.pdf",
            "needmap.gpkg",
            "report.html",
            "report.json",
            "zones.csv",
            "zones.geojson",
            "zones.gpx",
            "zones.kml",
            "zones.parquet"
        ]
    );
    // GeoParquet: a row per zone, read with the Arrow project's reader.
    let zones_pq = std::fs::File::open(out.join("zones.parquet")).unwrap();
    let zpq = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(zones_pq).unwrap();
    assert_eq!(zpq.metadata().file_metadata().num_rows(), expected as i64);
    // The report to hand in: one self-contained page with the zones table.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..40.min(html.len())]);
    assert!(!html.contains("src=\"http"), "no network in the report");
    let geojson = std::fs::read_to_string(out.join("zones.geojson")).unwrap();
    assert_eq!(geojson.matches("\"Polygon\"").count(), expected);
    // The print map and the atlas are real PDFs: one page; an overview and a page per zone at least.
    for (pdf, min_pages) in [("map.pdf", 1), ("atlas.pdf", expected + 1)] {
        let bytes = std::fs::read(out.join(pdf)).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{pdf}");
        // Page objects: "/Type /Page" not followed by "s" (that is the /Pages tree).
        let text = String::from_utf8_lossy(&bytes);
        let pages = text
            .match_indices("/Type")
            .filter(|(i, _)| {
                let rest = text[i + 5..].trim_start();
                rest.starts_with("/Page") && !rest[5..].starts_with('s')
            })
            .count();
        if pdf == "map.pdf" {
            assert_eq!(pages, 1, "{pdf}");
        } else {
            assert!(pages >= min_pages, "{pdf}: {pages} pages");
        }
    }
    // The saved analysis reproduces the app's zones from the command line's code path.
    let a = Analysis::load(&out.join("analysis.toml")).unwrap();
    let again = analysis::run(&a, &path, &Progress::new()).unwrap();
    assert_eq!(again.zones.zones, outcome.zones.zones);
}

#[test]
fn the_sites_panel_chooses_the_same_sites_as_the_command_line_and_selects_one() {
    let path = sample("lima_households.csv");
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).open(path.clone());
    wait_idle(&mut h);
    h.get_by_label("Sites").click();
    h.run_steps(2);
    h.get_by_label("Number of sites");
    h.get_by_label("Walking radius");
    h.get_by_label("Choose sites").click();
    h.step();
    wait_idle(&mut h);
    let a = app(&mut h);
    assert!(a.state.notice.is_none(), "{:?}", a.state.notice);
    let got = a.state.sites.clone().expect("sites chosen");
    // The headless pipeline with the same settings chooses the same sites.
    let analysis = Analysis { sites: Some(needmap::sites::SitesParams::default()), ..Default::default() };
    let outcome = analysis::run(&analysis, &path, &Progress::new()).unwrap();
    let want = outcome.sites.unwrap();
    assert_eq!(got.solution, want.solution);
    assert_eq!(got.solution.sites.len(), 10);
    let bound =
        format!("No 10 candidates can cover more than {:.1} % (proven bound).", 100.0 * want.solution.bound_share());
    h.get_by_label(&bound);
    // A row selects its site and the map's layer knows it.
    let first = want.candidates.id[want.solution.sites[0].candidate].clone();
    h.get_by_label(&first).click();
    h.run_steps(2);
    assert_eq!(app(&mut h).state.selected_site, Some(0));
    h.get_by_label("Site 1");
    // Export now writes the sites too.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("with_sites");
    app(&mut h).state.prefs.tab = Tab::Export;
    h.run_steps(2);
    export_through_panel(&mut h, &out);
    let sites_csv = std::fs::read_to_string(out.join("sites.csv")).unwrap_or_else(|e| {
        panic!("{e}: {:?} {:?}", app(&mut h).state.notice, std::fs::read_dir(dir.path()).map(|d| d.count()))
    });
    assert_eq!(sites_csv.lines().count(), 11, "{sites_csv}");
    assert!(sites_csv.contains(&first));
    // Remove them: the layer and the table go.
    app(&mut h).state.prefs.tab = Tab::Sites;
    h.run_steps(2);
    h.get_by_label("Remove sites").click();
    h.run_steps(2);
    assert!(app(&mut h).state.sites.is_none() && app(&mut h).state.analysis.sites.is_none());
}

#[test]
fn the_hot_spots_and_audit_panels_give_the_command_lines_figures() {
    let path = sample("lima_households.csv");
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).open(path.clone());
    wait_idle(&mut h);
    // Hot spots with the suggested band.
    h.get_by_label("Hot spots").click();
    h.run_steps(2);
    h.get_by_label("Find hot spots").click();
    h.step();
    wait_idle(&mut h);
    let hot = app(&mut h).state.hotspots.clone().expect("hot spots found");
    let want = Analysis { hotspots: Some(Default::default()), ..Default::default() };
    let outcome = analysis::run(&want, &path, &Progress::new()).unwrap();
    let cli = outcome.hotspots.unwrap();
    assert_eq!(hot.hot, cli.hot);
    assert_eq!(hot.band_m, cli.band_m);
    h.get_by_label(&format!(
        "{} households in hot spots, {} in cold spots, of {}",
        cli.counts.hot, cli.counts.cold, cli.counts.households
    ));
    assert!(
        app(&mut h).state.map_hotspots.as_ref().is_some_and(|m| m.points.len() == cli.counts.hot + cli.counts.cold)
    );
    // The audit on mother tongue finds what sample_data/README.md says it should.
    app(&mut h).state.prefs.tab = Tab::Audit;
    h.run_steps(2);
    h.get_by_label("mother_tongue").click();
    h.step();
    h.get_by_label("Run the audit").click();
    h.step();
    wait_idle(&mut h);
    let audit = app(&mut h).state.audit.clone().expect("audit ran");
    assert_eq!(audit.settings.groups, ["mother_tongue"]);
    let quechua = audit.groups.iter().find(|g| g.group == "Quechua").expect("a Quechua group");
    assert!(quechua.ratio_top_zones.unwrap() > 1.25, "{quechua:?}");
    assert!(audit.flags.iter().any(|f| f.contains("\"Quechua\" are 19 % of the survey")), "{:?}", audit.flags);
    h.get_by_label(&format!("! {}", audit.flags[0]));
    // Both stay in the exported analysis.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("extras");
    app(&mut h).state.prefs.tab = Tab::Export;
    h.run_steps(2);
    export_through_panel(&mut h, &out);
    for f in ["hotspots.csv", "audit.json", "groups.csv", "zones_stability.csv"] {
        assert!(out.join(f).exists(), "{f} exported");
    }
}

#[test]
fn switching_to_spanish_relabels_the_interface() {
    let mut h = harness(Lang::En);
    h.step();
    h.get_by_label("Data");
    h.get_by_label("Language").click();
    h.run_steps(3);
    h.get_by_label("Español").click();
    h.run_steps(3);
    assert_eq!(app(&mut h).state.prefs.lang, Lang::Es);
    for label in ["Datos", "Necesidad", "Grupos", "Zonas", "Exportar", "Archivo", "Idioma", "Abrir archivo…"] {
        h.get_by_label(label);
    }
    assert!(h.query_by_label("Open file…").is_none(), "no English label left on the Data panel");
    // The import report too: reasons and the coordinate columns in Spanish.
    app(&mut h).open(sample("lima_households.csv"));
    wait_idle(&mut h);
    h.get_by_label("latitud de la columna \"latitude\", longitud de la columna \"longitude\"");
    h.get_by_label_contains("lima_households.csv:4411:2: coordenadas exactamente (0, 0)");
    h.get_by_label_contains("lima_households.csv:6219:2: latitud y longitud probablemente intercambiadas");
}

#[test]
fn a_long_run_can_be_cancelled() {
    // 600k households: long enough that the import is still running when Cancel is clicked.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut text = String::with_capacity(600_000 * 40);
    text.push_str("id,lat,lon,income\n");
    let mut x: u64 = 1;
    for i in 0..600_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let a = (x >> 11) as f64 / (1u64 << 53) as f64;
        let b = ((x >> 7) & 0xffff) as f64 / 65536.0;
        text.push_str(&format!("{i},{:.6},{:.6},{}\n", -12.0 - 0.3 * a, -77.0 - 0.3 * b, (x >> 40) % 3000));
    }
    std::fs::write(&path, text).unwrap();

    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).open(path.clone());
    // Two frames: the status bar grows to hold the progress bar, then stays put.
    h.run_steps(2);
    assert!(app(&mut h).busy());
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    let a = app(&mut h);
    assert!(
        !a.busy(),
        "cancel stops the run at once: {:?} {:?}",
        a.state.notice,
        a.worker.running.as_ref().map(|r| r.progress.snapshot())
    );
    assert_eq!(a.state.notice, Some(Notice::Info("Cancelled.".into())));
    assert!(a.state.zones.is_none(), "a cancelled run leaves no zones");
    // The app still works: the same file runs to the end afterwards.
    app(&mut h).rerun(needmap::app::worker::Stage::Import);
    wait_idle(&mut h);
    assert!(app(&mut h).state.imported.as_ref().is_some_and(|i| i.households.len() == 600_000));
}

#[test]
fn a_bad_file_shows_a_clear_message_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_coordinates.csv");
    std::fs::write(&path, "name,income\nA,100\nB,200\n").unwrap();
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).open(path.clone());
    wait_idle(&mut h);
    match &app(&mut h).state.notice {
        Some(Notice::Error(e)) => assert!(e.contains("no_coordinates.csv"), "the message names the file: {e}"),
        other => panic!("expected an error notice, got {other:?}"),
    }
    assert!(app(&mut h).state.zones.is_none());
}

#[test]
fn a_panic_in_a_stage_becomes_a_notice_and_the_app_runs_again() {
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).worker.inject_panic = Some(Stage::Cluster);
    app(&mut h).open(sample("lima_households.csv"));
    wait_idle(&mut h);
    match &app(&mut h).state.notice {
        Some(Notice::Error(e)) => {
            assert!(e.contains("internal error") && e.contains("Clustering"), "names the stage: {e}");
            assert!(e.contains("injected panic"), "carries the panic's message: {e}");
        }
        other => panic!("expected an error notice, got {other:?}"),
    }
    assert!(app(&mut h).state.imported.is_some(), "the stages before the panic kept their results");
    assert!(app(&mut h).state.zones.is_none());
    // The bug "fixed", the user changes a setting and runs again: zones appear.
    app(&mut h).worker.inject_panic = None;
    app(&mut h).state.analysis.cluster.eps_m = Some(250.0);
    app(&mut h).apply_command(Command::Rerun(Stage::Cluster));
    wait_idle(&mut h);
    assert!(!matches!(app(&mut h).state.notice, Some(Notice::Error(_))), "{:?}", app(&mut h).state.notice);
    assert!(app(&mut h).state.zones.as_ref().is_some_and(|z| !z.zones.is_empty()));
    h.get_by_label("Zones").click();
    h.step();
}

#[test]
fn a_survey_changed_on_disk_is_noticed_before_export() {
    let dir = tempfile::tempdir().unwrap();
    let survey = dir.path().join("lima.csv");
    std::fs::copy(sample("lima_households.csv"), &survey).unwrap();
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).open(survey.clone());
    wait_idle(&mut h);
    assert!(app(&mut h).state.zones.is_some());
    // Someone edits the survey (a new household at the end) while the app shows it.
    let mut text = std::fs::read_to_string(&survey).unwrap();
    let last = text.lines().last().unwrap().to_string();
    text.push_str(&last.replacen(last.split(',').next().unwrap(), "H-NEW", 1));
    text.push('\n');
    std::fs::write(&survey, text).unwrap();
    h.get_by_label("Export").click();
    h.step();
    let out = dir.path().join("out");
    export_through_panel(&mut h, &out);
    assert!(!out.exists(), "nothing written from a file that changed");
    match &app(&mut h).state.notice {
        Some(Notice::Error(e)) => assert!(e.contains("changed on disk") && e.contains("lima.csv"), "{e}"),
        other => panic!("expected a notice, got {other:?}"),
    }
    h.get_by_label("Export the results shown").click();
    h.step();
    wait_idle(&mut h);
    assert!(out.join("zones.csv").exists(), "the user chose to export what is shown");
    // Reloading reads the file as it is now: one more household, and export goes straight on.
    let before = app(&mut h).state.imported.as_ref().unwrap().households.len();
    let again = dir.path().join("out2");
    std::fs::write(&survey, std::fs::read_to_string(&survey).unwrap() + "\n").unwrap();
    app(&mut h).state.export_dir_text = again.display().to_string();
    h.get_by_label("Write the outputs").click();
    h.step();
    h.step();
    assert!(!again.exists());
    assert!(app(&mut h).state.input_changed, "{:?}", app(&mut h).state.notice);
    h.get_by_label("Reload the file").click();
    h.step();
    wait_idle(&mut h);
    assert_eq!(app(&mut h).state.imported.as_ref().unwrap().households.len(), before + 1, "H-NEW is read");
    h.get_by_label("Write the outputs").click();
    h.step();
    wait_idle(&mut h);
    assert!(again.join("zones.csv").exists());
}

#[test]
fn the_analysis_is_saved_as_it_changes_and_offered_back_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("session.toml");
    {
        let mut h = harness(Lang::En);
        h.step();
        app(&mut h).use_session(session.clone(), true);
        app(&mut h).open(sample("lima_households.csv"));
        wait_idle(&mut h);
        app(&mut h).state.analysis.cluster.eps_m = Some(275.0);
        app(&mut h).state.analysis.cluster.min_points = Some(9);
        h.step();
        // The process is killed here: no save at exit, the harness is simply dropped.
    }
    let saved = std::fs::read_to_string(&session).expect("the session was written as settings changed");
    assert!(saved.contains("eps_m = 275.0") && saved.contains("min_points = 9"), "{saved}");
    let loaded = Analysis::load(&session);
    assert!(loaded.as_ref().is_ok_and(|a| a.input.path.is_some()), "{:?}\n{saved}", loaded.map(|a| a.input));
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).use_session(session.clone(), true);
    h.step();
    h.step();
    h.get_by_label("Restore").click();
    h.step();
    wait_idle(&mut h);
    let a = app(&mut h);
    assert_eq!(a.state.path.as_deref(), Some(sample("lima_households.csv").as_path()));
    assert_eq!(a.state.analysis.cluster.eps_m, Some(275.0));
    let clustered = a.state.clustered.as_ref().expect("the restored analysis ran");
    assert_eq!((clustered.resolved.eps_m, clustered.resolved.min_points), (Some(275.0), Some(9)));
    // "Start afresh" leaves an empty app, and the next change replaces the old session.
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).use_session(session.clone(), true);
    h.step();
    h.step();
    h.get_by_label("Start afresh").click();
    h.step();
    h.step();
    assert!(app(&mut h).state.path.is_none());
    assert!(!std::fs::read_to_string(&session).unwrap().contains("eps_m = 275.0"));
}

#[test]
fn the_area_downloads_for_offline_use_and_becomes_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::tileserver::server();
    let mut h = harness(Lang::En);
    h.step();
    app(&mut h).open(sample("lima_households.csv"));
    wait_idle(&mut h);
    // View → Download this area for offline use…
    h.get_by_label("View").click();
    h.step();
    h.step();
    h.get_by_label("Download this area for offline use…").click();
    h.step();
    h.step();
    let out = dir.path().join("lima.mbtiles");
    {
        let d = app(&mut h).state.download.as_mut().expect("the window is open");
        assert!(d.out_text.ends_with("lima_households_tiles.mbtiles"), "a default file name: {}", d.out_text);
        d.url = format!("{}/{{z}}/{{x}}/{{y}}.png", server.base);
        d.zoom_from = 11;
        d.zoom_to = 12;
        d.margin_m = 0.0;
        d.out_text = out.display().to_string();
    }
    h.step();
    h.step();
    // The count is shown before anything is fetched.
    assert!(h.query_by_label_contains("tiles, about").is_some(), "the tile count is shown");
    assert!(server.requests.lock().unwrap().is_empty());
    h.get_by_label("Download").click();
    h.step();
    wait_idle(&mut h);
    match &app(&mut h).state.notice {
        Some(Notice::Info(m)) => assert!(m.contains("tiles downloaded") && m.contains("lima.mbtiles"), "{m}"),
        other => panic!("expected the download's notice, got {other:?}"),
    }
    let fetched = server.requests.lock().unwrap().len();
    assert!(fetched > 0 && out.exists());
    let file = needmap::tiles::MbTiles::open(&out).unwrap();
    assert_eq!(file.count() as usize, fetched);
    h.get_by_label("Use it as the map").click();
    h.step();
    assert_eq!(app(&mut h).state.prefs.tiles, needmap::app::map::tiles::TileSetting::MbTiles(out.clone()));
    // The template is remembered as the custom server's.
    assert!(app(&mut h).state.prefs.custom_server.url.starts_with(&server.base));
}

/// Snapshots of the main screens, one failure hiding none.
#[test]
fn main_screens_match_their_snapshots() {
    let path = sample("lima_households.csv");
    let mut h = harness(Lang::En);
    h.step();
    let mut results = Vec::new();
    results.push(h.try_snapshot("start"));
    app(&mut h).open(path);
    wait_idle(&mut h);
    for (tab, name) in [
        (Tab::Data, "data"),
        (Tab::Need, "need"),
        (Tab::Clusters, "clusters"),
        (Tab::Zones, "zones"),
        (Tab::Sites, "sites"),
        (Tab::Export, "export"),
    ] {
        if tab == Tab::Sites {
            app(&mut h).apply_command(needmap::app::state::Command::ChooseSites);
            wait_idle(&mut h);
        }
        app(&mut h).state.prefs.tab = tab;
        for _ in 0..3 {
            h.step();
        }
        results.push(h.try_snapshot(name));
    }
    // Learn mode on the Clusters panel, probing a core household of the best zone, framed.
    {
        let a = app(&mut h);
        a.state.prefs.learn = true;
        a.state.prefs.tab = Tab::Clusters;
        let best = a.state.zones.as_ref().unwrap().zones[0].id as i32;
        let c = a.state.clustered.clone().unwrap();
        let i = (0..c.labels.len()).find(|&i| c.labels[i] == best).unwrap();
        a.state.hovered_household = Some(i);
        a.apply_command(Command::Frame(Some(best as u32)));
    }
    for _ in 0..3 {
        h.step();
    }
    results.push(h.try_snapshot("learn"));
    // A small sweep in the Study panel.
    {
        let a = app(&mut h);
        a.state.prefs.learn = false;
        a.state.prefs.tab = Tab::Study;
        a.state.study.eps = [60.0, 240.0, 20.0];
        a.state.study.min_points = [4, 20, 4];
        a.apply_command(Command::Sweep);
    }
    wait_idle(&mut h);
    results.push(h.try_snapshot("study"));
    // Exercises, answered in part and checked.
    {
        let a = app(&mut h);
        a.state.prefs.tab = Tab::Quiz;
        a.state.quiz.count = 4;
        a.apply_command(Command::NewQuiz);
    }
    wait_idle(&mut h);
    {
        let q = &mut app(&mut h).state.quiz;
        let quiz = q.quiz.clone().unwrap();
        q.answers[0] = quiz.questions[0].kind.answer_text(quiz.key[0], Lang::En);
        q.answers[1] = "0".into();
        let answers: Vec<(String, String)> =
            quiz.questions.iter().zip(&q.answers).map(|(x, a)| (x.id.clone(), a.clone())).collect();
        q.score = Some(needmap::quiz::score(&quiz, &answers));
    }
    for _ in 0..3 {
        h.step();
    }
    results.push(h.try_snapshot("quiz"));
    let failures: Vec<String> = results.into_iter().filter_map(|r| r.err().map(|e| e.to_string())).collect();
    assert!(failures.is_empty(), "snapshot differences:\n{}", failures.join("\n"));
}

/// Great-circle metres by the haversine formula (independent of needmap's chord distances).
fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

#[test]
fn learn_mode_explains_each_step_and_shows_what_dbscan_used_for_a_household() {
    use needmap::app::map::learn::{ProbeKind, Status};
    let mut h = harness(Lang::En);
    app(&mut h).open(sample("lima_households.csv"));
    wait_idle(&mut h);
    h.get_by_label("Clusters").click();
    h.step();
    assert!(h.query_by_label_contains("Step 3, DBSCAN").is_none(), "no explanation before Learn mode");
    h.get_by_label("View").click();
    h.run_steps(2);
    h.get_by_label("Learn mode").click();
    h.step();
    assert!(app(&mut h).state.prefs.learn, "the View menu switches Learn mode on");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    h.get_by_label_contains("Step 3, DBSCAN");
    for (tab, text) in [("Data", "Step 1, the data"), ("Need", "Step 2, the need index"), ("Zones", "Step 4, zones")] {
        h.get_by_label(tab).click();
        h.run_steps(2);
        h.get_by_label_contains(text);
    }

    // The map's probe for households of each status, against a brute-force count.
    let (imp, c) = {
        let a = app(&mut h);
        (a.state.imported.clone().unwrap(), a.state.clustered.clone().unwrap())
    };
    let (eps, min_points) = (c.resolved.eps_m.unwrap(), c.resolved.min_points.unwrap());
    let hh = &imp.households;
    let pos = |i: usize| (hh.lon_deg[i], hh.lat_deg[i]);
    let candidates: Vec<usize> = (0..hh.len()).filter(|&i| c.candidates[i]).collect();
    let mut seen = std::collections::HashSet::new();
    for &i in candidates.iter().step_by(97) {
        let d: Vec<f64> = candidates.iter().map(|&j| haversine_m(pos(i), pos(j))).collect();
        if d.iter().any(|x| (x - eps).abs() < 0.01) {
            continue; // on the circle's edge: rounding decides
        }
        let count = d.iter().filter(|&&x| x <= eps).count();
        app(&mut h).state.hovered_household = Some(i);
        h.step();
        let probe = app(&mut h).state.probe.clone().expect("Learn mode probes the hovered household");
        assert_eq!(probe.household, i);
        let ProbeKind::Dbscan { neighbours, status, .. } = probe.kind else { panic!("DBSCAN probe expected") };
        assert_eq!(neighbours.len(), count, "household {i}: neighbours within {eps} m");
        let expected = if count >= min_points {
            Status::Core
        } else if c.labels[i] >= 0 {
            Status::Border
        } else {
            Status::Noise
        };
        assert_eq!(status, expected, "household {i}");
        // DBSCAN's own labels agree: a core household is always in a cluster.
        if status == Status::Core {
            assert!(c.labels[i] >= 0);
        }
        seen.insert(format!("{status:?}"));
    }
    assert!(seen.contains("Core") && seen.contains("Noise"), "the sample should show core and noise: {seen:?}");
    // A household that was not clustered says so.
    let outside = (0..hh.len()).find(|&i| !c.candidates[i]).unwrap();
    app(&mut h).state.hovered_household = Some(outside);
    h.step();
    assert_eq!(app(&mut h).state.probe.as_ref().unwrap().kind, ProbeKind::NotClustered);
}

#[test]
fn the_study_panel_sweeps_a_grid_and_a_cell_sets_the_parameters() {
    let path = sample("lima_households.csv");
    let mut h = harness(Lang::En);
    app(&mut h).open(path.clone());
    wait_idle(&mut h);
    h.get_by_label("Study").click();
    h.step();
    {
        let st = &mut app(&mut h).state;
        st.study.eps = [100.0, 200.0, 50.0];
        st.study.min_points = [6, 14, 4];
    }
    h.step();
    h.get_by_label("9 settings");
    h.get_by_label("Run the study").click();
    h.step();
    assert!(app(&mut h).busy(), "the sweep runs on the worker");
    wait_idle(&mut h);
    let (imp, scored, base) = {
        let a = app(&mut h);
        assert!(a.state.notice.is_none(), "{:?}", a.state.notice);
        (a.state.imported.clone().unwrap(), a.state.scored.clone().unwrap(), a.state.analysis.cluster.clone())
    };
    // Each cell's zone count is what clustering with that setting gives.
    let rows = app(&mut h).state.study.result.as_ref().unwrap().rows.clone();
    assert_eq!(rows.len(), 9);
    for r in [&rows[0], &rows[4], &rows[8]] {
        let cfg = analysis::ClusterConfig { eps_m: r.eps_m, min_points: r.min_points, ..base.clone() };
        let c = analysis::cluster_stage(&imp, &scored, &cfg, &Progress::new()).unwrap();
        assert_eq!((r.clusters, r.noise), (c.clusters, c.noise), "{r:?}");
    }
    // Keep the current clusters, click a cell: the parameters are used, and compared.
    h.get_by_label("Keep these clusters as A").click();
    h.step();
    let kept = app(&mut h).state.clustered.clone().unwrap();
    h.get_by_label("eps 150 m, min points 10").click();
    h.step();
    wait_idle(&mut h);
    let now = app(&mut h).state.clustered.clone().unwrap();
    assert_eq!((now.resolved.eps_m, now.resolved.min_points), (Some(150.0), Some(10)));
    assert_eq!(now.clusters, rows[4].clusters);
    let ari = needmap::sweep::ari(&kept.labels, &now.labels);
    h.get_by_label(&format!("Agreement of A and B (ARI): {ari:.3}"));

    // k-means: inertia and silhouette for k = 2..4; a button uses k.
    app(&mut h).state.study.method = Some(needmap::cluster::Method::Kmeans);
    app(&mut h).state.study.k_max = 4;
    h.step();
    h.get_by_label("Run the study").click();
    h.step();
    wait_idle(&mut h);
    let rows = app(&mut h).state.study.result.as_ref().unwrap().rows.clone();
    assert_eq!(rows.iter().map(|r| r.k.unwrap()).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(rows.iter().all(|r| r.inertia_m2.is_some()), "{rows:?}");
    // The silhouette is undefined when the seeded sample holds one cluster only (k = 2 on
    // Lima puts a few far households in a cluster of their own); the others have one.
    assert!(rows.iter().filter(|r| r.silhouette.is_some()).count() >= 2, "{rows:?}");
    // More centres never fit worse (each k is the best of many seeded starts).
    assert!(rows[2].inertia_m2 < rows[0].inertia_m2);
    h.get_by_label("k = 3").click();
    h.step();
    wait_idle(&mut h);
    let c = app(&mut h).state.clustered.clone().unwrap();
    assert_eq!((c.resolved.method, c.resolved.k), (needmap::cluster::Method::Kmeans, 3));
    assert_eq!(c.inertia_m2, rows[1].inertia_m2);
}

#[test]
fn why_is_this_zone_first_shows_its_standing_and_indicators() {
    let mut h = harness(Lang::En);
    app(&mut h).open(sample("lima_households.csv"));
    wait_idle(&mut h);
    h.get_by_label("Zones").click();
    h.step();
    h.get_by_label("#1").click();
    h.run_steps(2);
    h.get_by_label("Why is this zone ranked #1?").click();
    h.run_steps(3);
    let n = app(&mut h).state.zone_count().unwrap();
    // Ranked by total need, zone #1 is first of n on it.
    h.get_by_label_contains("Ranked #1 by total need");
    assert!(!h.query_all_by_label(&format!("1 of {n}")).collect::<Vec<_>>().is_empty());
    let a = app(&mut h);
    let (sc, zones) = (a.state.scored.clone().unwrap(), a.state.zones.clone().unwrap());
    let parts = a.state.parts.clone().expect("the parts were computed for the panel").1;
    let e =
        needmap::explain::explain_zone(&zones, zones.zones[0].id, &parts, &sc.resolved, Default::default()).unwrap();
    // The zone's mean part over its households adds up to its mean need (the parts sum to
    // each household's score).
    let sum: f64 = e.contributions.iter().map(|c| c.zone_mean).sum();
    assert!((sum - zones.zones[0].mean_need).abs() < 1e-9, "{sum} vs {}", zones.zones[0].mean_need);
    let top = &e.contributions[0];
    assert!(top.lift() > 0.0, "the top zone's need is above average in some indicator");
    h.get_by_label(&format!("Most of its extra need comes from {}.", top.column));
}

#[test]
fn the_quiz_panel_makes_exercises_and_scores_the_answers() {
    let mut h = harness(Lang::En);
    app(&mut h).open(sample("lima_households.csv"));
    wait_idle(&mut h);
    h.get_by_label("Quiz").click();
    h.step();
    h.get_by_label("New exercises").click();
    h.step();
    wait_idle(&mut h);
    let quiz = app(&mut h).state.quiz.quiz.clone().expect("the exercises were made");
    assert_eq!(quiz.questions.len(), 10);
    // The same generator as `needmap quiz` with the app's analysis: the same questions.
    let again = {
        let a = app(&mut h);
        let imp = a.state.imported.clone().unwrap();
        needmap::quiz::generate(&imp, &a.resolved_analysis(), 1, 10, Lang::En, &Progress::new()).unwrap()
    };
    assert_eq!(again.questions, quiz.questions);
    // Answer all but the first right, through the key as a person would write it; the first
    // one answered wrong or left out.
    let first_topic = quiz.questions[0].topic;
    let written = |k: usize| match quiz.key[k] {
        needmap::quiz::Answer::Choice(i) => needmap::quiz::letter(i).to_string(),
        key => quiz.questions[k].kind.answer_text(key, Lang::En),
    };
    for k in 1..quiz.questions.len() {
        app(&mut h).state.quiz.answers[k] = written(k);
    }
    h.run_steps(2);
    h.get_by_label("Check my answers").click();
    h.run_steps(2);
    let sc = app(&mut h).state.quiz.score.clone().expect("scored");
    assert_eq!(sc.right, 9, "{:#?}", sc.questions);
    h.get_by_label("9 of 10 right");
    h.get_by_label(&format!("Review: {}.", first_topic.label(Lang::En)));
    // Type the first answer through its field when it is a number, then check again.
    if let needmap::quiz::AnswerKind::Number { .. } = quiz.questions[0].kind {
        let text = written(0);
        let field = h.get_all_by_label("Answer").next().unwrap();
        field.focus();
        field.type_text(&text);
        h.step();
    } else {
        app(&mut h).state.quiz.answers[0] = written(0);
    }
    h.get_by_label("Check my answers").click();
    h.run_steps(2);
    h.get_by_label("10 of 10 right");
    h.get_by_label("All right: nothing to review.");
}

/// A PMTiles basemap whose header lies (the input the `pmtiles` fuzz target found, on which
/// the map's reader panics for every tile) is refused with a message naming it, and the map
/// keeps its tiles; a sound one is taken.
#[test]
fn a_damaged_pmtiles_basemap_is_refused() {
    use needmap::app::map::tiles::TileSetting;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut h = harness(Lang::En);
    h.step();
    let before = app(&mut h).state.prefs.tiles.clone();
    let bad = fixtures.join("fuzz_pmtiles_root_past_end.pmtiles");
    app(&mut h).apply_command(Command::SetTiles(TileSetting::PmTiles(bad)));
    h.step();
    match &app(&mut h).state.notice {
        Some(Notice::Error(m)) => {
            assert!(m.contains("fuzz_pmtiles_root_past_end.pmtiles") && m.contains("damaged"), "{m}")
        }
        other => panic!("expected an error notice, got {other:?}"),
    }
    assert_eq!(app(&mut h).state.prefs.tiles, before, "the map keeps its tiles");
    let good = fixtures.join("tiny_raster.pmtiles");
    app(&mut h).apply_command(Command::SetTiles(TileSetting::PmTiles(good.clone())));
    h.step();
    assert_eq!(app(&mut h).state.prefs.tiles, TileSetting::PmTiles(good));
}
