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
    use std::fmt::Write as _;
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
    // Fields go straight to the writer, numbers through one buffer: no String per cell (90M
    // allocations at 10M households).
    let mut buf = String::new();
    let mut field = |w: &mut csv::Writer<std::fs::File>, known: bool, v: std::fmt::Arguments| {
        buf.clear();
        if known {
            let _ = buf.write_fmt(v);
        }
        w.write_field(&buf)
    };
    for i in 0..h.len() {
        if i % 65_536 == 0 {
            super::atomic::check_interrupted()?;
        }
        for c in 0..h.columns.len() {
            w.write_field(h.text(i, c))?;
        }
        let s = o.scored.need.score[i];
        field(&mut w, s.is_finite(), format_args!("{s:.6}"))?;
        w.write_field(if o.scored.critical[i] { "true" } else { "false" })?;
        let l = o.clustered.labels[i];
        field(&mut w, o.clustered.candidates[i], format_args!("{l}"))?;
        let z = o.zones.zone_of[i];
        field(&mut w, z >= 0, format_args!("{z}"))?;
        if let Some(r) = hot {
            w.write_field(r.z[i].map_or(String::new(), fmt_z))?;
            let hot = r.hot[i];
            field(&mut w, true, format_args!("{hot}"))?;
        }
        if let Some(a) = audit {
            let p = a.p_critical[i];
            field(&mut w, p.is_finite(), format_args!("{p:.4}"))?;
        }
        if let Some(so) = site_of {
            let site = so[i] + 1;
            field(&mut w, so[i] >= 0, format_args!("{site}"))?;
        }
        w.write_record(None::<&[u8]>)?;
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
