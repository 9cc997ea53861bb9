//! Outputs of a run, the same from the CLI (`needmap run`) and the app's Export panel:
//! `zones.geojson`, `households.csv`, `zones.csv`, `report.json` and `analysis.toml` (and the
//! audit's files when the analysis has `[audit]`), written together into a directory that
//! appears only when all of them are complete.

pub mod atomic;
pub mod audit;
pub mod csv;
pub mod geojson;

use std::path::Path;

use serde_json::{Value, json};

use crate::analysis::Outcome;
use atomic::WriteError;

fn round(v: f64, decimals: i32) -> f64 {
    let m = 10f64.powi(decimals);
    (v * m).round() / m
}

/// Writes every output of `outcome` into `out_dir` (atomically; see [`atomic::write_dir`]).
pub fn write_run(outcome: &Outcome, input: &Path, out_dir: &Path, force: bool) -> Result<(), WriteError> {
    atomic::write_dir(out_dir, Some(input), force, |dir| {
        let io = |name: &str| {
            let p = dir.join(name);
            move |source| WriteError::Io { path: p, source }
        };
        std::fs::write(dir.join("zones.geojson"), geojson::zones_geojson(&outcome.zones.zones))
            .map_err(io("zones.geojson"))?;
        csv::households_csv(&dir.join("households.csv"), outcome).map_err(io("households.csv"))?;
        csv::zones_csv(&dir.join("zones.csv"), &outcome.zones.zones).map_err(io("zones.csv"))?;
        let report = serde_json::to_string_pretty(&report_json(outcome)).unwrap_or_default() + "\n";
        std::fs::write(dir.join("report.json"), report).map_err(io("report.json"))?;
        std::fs::write(dir.join("analysis.toml"), outcome.resolved.to_toml()).map_err(io("analysis.toml"))?;
        if let Some(a) = &outcome.audit {
            audit::write_audit_files(dir, a)?;
        }
        Ok(())
    })
}

/// The run report: import report, need indicators, selection, clustering, zones, and (last,
/// the only part that changes between identical runs) timings.
pub fn report_json(o: &Outcome) -> Value {
    let critical = o.scored.critical.iter().filter(|&&c| c).count();
    let c = &o.clustered;
    json!({
        "needmap_version": env!("CARGO_PKG_VERSION"),
        "import": o.imported.report,
        "people_column": o.imported.people_column,
        "need": {
            "indicators": o.scored.need.indicators,
            "missing_policy": o.resolved.need.missing,
            "excluded_households": o.scored.need.excluded,
        },
        "selection": {
            "rule": o.resolved.selection,
            "critical_households": critical,
            "households": o.imported.households.len(),
        },
        "cluster": {
            "method": c.resolved.method,
            "households_clustered": c.candidates.iter().filter(|&&x| x).count(),
            "eps_m": c.resolved.eps_m,
            "min_points": c.resolved.min_points,
            "suggested": c.suggestion,
            "clusters": c.clusters,
            "noise": c.noise,
            "inertia_m2": c.inertia_m2,
        },
        "zones": {
            "count": o.zones.zones.len(),
            "hull": o.resolved.zones.hull,
            "priority": o.resolved.zones.priority,
            "households_in_zones": o.zones.zone_of.iter().filter(|&&z| z >= 0).count(),
        },
        "timings_ms": o.timings_ms.iter().map(|(k, v)| ((*k).to_string(), json!(round(*v, 1)))).collect::<serde_json::Map<_, _>>(),
    })
}
