//! `households.csv` (every accepted input column unchanged, plus `need`, `critical`,
//! `cluster`, `zone`, and `gi_z`, `hot` when hot spots ran, `p_critical` when the audit ran,
//! `site` when sites were chosen), `zones.csv` (one row per zone, in rank order) and the
//! hot-spots table (`hotspots.csv`, also `needmap hotspots --out`).

use std::io;
use std::path::Path;

use super::geojson::zone_properties;
use crate::analysis::{Outcome, SitesResult};
use crate::data::Households;
use crate::hotspots::HotspotResult;
use crate::zones::Zone;

pub fn households_csv(path: &Path, o: &Outcome) -> io::Result<()> {
    let h = &o.imported.households;
    let mut w = csv::WriterBuilder::new().from_path(path)?;
    let mut header: Vec<&str> = h.columns.iter().map(|c| c.name.as_str()).collect();
    header.extend(["need", "critical", "cluster", "zone"]);
    let hot = o.hotspots.as_deref();
    if hot.is_some() {
        header.extend(["gi_z", "hot"]);
    }
    let audit = o.audit.as_deref();
    if audit.is_some() {
        header.push("p_critical");
    }
    let site_of = o.sites.as_ref().map(|s| &s.solution.site_of);
    if site_of.is_some() {
        header.push("site");
    }
    w.write_record(&header)?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for i in 0..h.len() {
        if i % 65_536 == 0 {
            super::atomic::check_interrupted()?;
        }
        rec.clear();
        rec.extend((0..h.columns.len()).map(|c| h.text(i, c).to_string()));
        let s = o.scored.need.score[i];
        rec.push(if s.is_finite() { format!("{s:.6}") } else { String::new() });
        rec.push(o.scored.critical[i].to_string());
        rec.push(if o.clustered.candidates[i] { o.clustered.labels[i].to_string() } else { String::new() });
        let z = o.zones.zone_of[i];
        rec.push(if z >= 0 { z.to_string() } else { String::new() });
        if let Some(r) = hot {
            rec.push(r.z[i].map_or(String::new(), fmt_z));
            rec.push(r.hot[i].to_string());
        }
        if let Some(a) = audit {
            let p = a.p_critical[i];
            rec.push(if p.is_finite() { format!("{p:.4}") } else { String::new() });
        }
        if let Some(so) = site_of {
            rec.push(if so[i] >= 0 { (so[i] + 1).to_string() } else { String::new() });
        }
        w.write_record(&rec)?;
    }
    w.flush()
}

pub fn zones_csv(path: &Path, zones: &[Zone]) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_path(path)?;
    let cols = [
        "rank",
        "zone",
        "households",
        "people",
        "critical_households",
        "critical_share",
        "mean_need",
        "total_need",
        "area_m2",
        "density_per_km2",
        "members",
        "centre_lat",
        "centre_lon",
    ];
    w.write_record(cols)?;
    for z in zones {
        let p = zone_properties(z);
        let row: Vec<String> = cols
            .iter()
            .map(|c| match &p[*c] {
                serde_json::Value::Null => String::new(),
                v => v.to_string(),
            })
            .collect();
        w.write_record(&row)?;
    }
    w.flush()
}

/// The columns of `sites.csv`, as `needmap sites` writes them: one row per chosen site, in
/// the order chosen.
pub const SITES_COLUMNS: [&str; 9] = [
    "site",
    "candidate",
    "lat",
    "lon",
    "covered_households",
    "covered_weight",
    "added_weight",
    "cumulative_weight",
    "cumulative_share",
];

/// Writes `sites.csv` to any writer.
pub fn sites_csv(w: impl io::Write, s: &SitesResult) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(w);
    w.write_record(SITES_COLUMNS)?;
    let sol = &s.solution;
    let mut cumulative = sol.existing_weight;
    for (k, site) in sol.sites.iter().enumerate() {
        cumulative += site.added_weight;
        let j = site.candidate;
        let share = if sol.total_weight > 0.0 { cumulative / sol.total_weight } else { 0.0 };
        w.write_record([
            (k + 1).to_string(),
            s.candidates.id[j].clone(),
            s.candidates.lat_deg[j].to_string(),
            s.candidates.lon_deg[j].to_string(),
            site.covered_households.to_string(),
            format!("{:.6}", site.covered_weight),
            format!("{:.6}", site.added_weight),
            format!("{cumulative:.6}"),
            format!("{share:.6}"),
        ])?;
    }
    w.flush()
}

/// Gi* z-score as written in CSV: six decimals.
pub fn fmt_z(z: f64) -> String {
    format!("{z:.6}")
}

/// p-value as written in CSV: six decimals from 0.001 up, else four significant figures in
/// scientific notation (`1.234e-7`), so small p-values keep their digits.
pub fn fmt_p(p: f64) -> String {
    if p >= 1e-3 { format!("{p:.6}") } else { format!("{p:.3e}") }
}

/// The hot-spots table, one row per household in input order:
/// `row,id,z,p,hot,neighbours,bin` (`row` the 1-based record number in the input, `id` the
/// id column's text; `z` and `p` empty for households not tested, `neighbours` 0 for those
/// without a value). Rows are formatted in parallel, then written in order.
pub fn hotspots_csv(w: &mut impl io::Write, h: &Households, r: &HotspotResult) -> io::Result<()> {
    use rayon::prelude::*;
    use std::io::Write as _;
    w.write_all(b"row,id,z,p,hot,neighbours,bin\n")?;
    const ROWS: usize = 1 << 15;
    let blocks: Vec<Vec<u8>> = (0..h.len().div_ceil(ROWS))
        .into_par_iter()
        .map(|b| {
            let mut out = Vec::with_capacity(ROWS * 48);
            for i in b * ROWS..((b + 1) * ROWS).min(h.len()) {
                let id = h.id(i);
                let id = if id.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", id.replace('"', "\"\""))
                } else {
                    id.to_string()
                };
                let z = r.z[i].map_or(String::new(), fmt_z);
                let p = r.p[i].map_or(String::new(), fmt_p);
                let _ = writeln!(out, "{},{id},{z},{p},{},{},{}", h.row[i], r.hot[i], r.neighbours[i], r.bin[i]);
            }
            out
        })
        .collect();
    for b in &blocks {
        w.write_all(b)?;
    }
    Ok(())
}
