//! Frame time of the app with many households loaded: builds the whole UI (panels, map,
//! households aggregated into cells, zones) headless with egui_kittest, panning and zooming
//! between frames, and prints the median and 95th percentile of the CPU time per frame.
//! GPU rasterisation is not included (it depends on the machine's driver).
//!
//! ```sh
//! cargo bench --bench app_frame -- FILE.csv   # default: 200k generated households
//! ```

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use needmap::app::NeedmapApp;
use needmap::app::i18n::Lang;
use needmap::app::state::Prefs;

fn generated(n: usize, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("households.csv");
    let mut text = String::from("id,lat,lon,income,household_size\n");
    let mut x: u64 = 42;
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let a = (x >> 11) as f64 / (1u64 << 53) as f64;
        let b = ((x >> 7) & 0xffff) as f64 / 65536.0;
        // A dense core and a sparse ring: clusters in the middle, noise around.
        let r = if i % 3 == 0 { 0.02 * a } else { 0.25 * a };
        let t = b * std::f64::consts::TAU;
        text.push_str(&format!(
            "{i},{:.6},{:.6},{},{}\n",
            -12.05 + r * t.sin(),
            -77.03 + r * t.cos(),
            (x >> 40) % 3000,
            1 + (x >> 50) % 8
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn main() {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = tempfile::tempdir().unwrap();
    let path = match arg {
        Some(p) => std::path::PathBuf::from(p),
        None => generated(200_000, dir.path()),
    };
    let mut h = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(
        |ui, app: &mut Option<NeedmapApp>| {
            let prefs = Prefs { lang: Lang::En, ..Prefs::default() };
            app.get_or_insert_with(|| NeedmapApp::new(ui.ctx(), prefs, false)).show(ui);
        },
        None,
    );
    h.step();
    let t = Instant::now();
    h.state_mut().as_mut().unwrap().open(path.clone());
    while h.state().as_ref().unwrap().busy() {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let households = h.state().as_ref().unwrap().state.imported.as_ref().map_or(0, |i| i.households.len());
    println!("{}: {households} households loaded and zoned in {:.2} s", path.display(), t.elapsed().as_secs_f64());
    let (lon0, lat0) = {
        let b = h.state().as_ref().unwrap().state.map_households.as_ref().and_then(|m| m.bbox).unwrap();
        ((b.min.0 + b.max.0) / 2.0, (b.min.1 + b.max.1) / 2.0)
    };
    for (label, zoom) in [("whole city (cells)", 10.5), ("district", 13.0), ("street", 16.0)] {
        let mut times = Vec::new();
        for k in 0..60 {
            // Pan a little every frame, as a drag would.
            let d = 0.0005 * (k as f64);
            h.state_mut().as_mut().unwrap().set_view(lon0 + d, lat0 - d / 2.0, zoom);
            let t = Instant::now();
            h.step();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let aggregated = h.state().as_ref().unwrap().state.aggregated;
        println!(
            "{label:>20}: median {:.1} ms, p95 {:.1} ms per frame{}",
            times[times.len() / 2],
            times[times.len() * 95 / 100],
            if aggregated { " (households drawn as cells)" } else { "" }
        );
    }
}
