//! `households.csv` (every accepted input column unchanged, plus `need`, `critical`,
//! `cluster`, `zone`, and `p_critical` when the audit ran) and `zones.csv` (one row per zone,
//! in rank order).

use std::io;
use std::path::Path;

use super::geojson::zone_properties;
use crate::analysis::Outcome;
use crate::zones::Zone;

pub fn households_csv(path: &Path, o: &Outcome) -> io::Result<()> {
    let h = &o.imported.households;
    let mut w = csv::WriterBuilder::new().from_path(path)?;
    let mut header: Vec<&str> = h.columns.iter().map(|c| c.name.as_str()).collect();
    header.extend(["need", "critical", "cluster", "zone"]);
    let audit = o.audit.as_deref();
    if audit.is_some() {
        header.push("p_critical");
    }
    w.write_record(&header)?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for i in 0..h.len() {
        rec.clear();
        rec.extend((0..h.columns.len()).map(|c| h.text(i, c).to_string()));
        let s = o.scored.need.score[i];
        rec.push(if s.is_finite() { format!("{s:.6}") } else { String::new() });
        rec.push(o.scored.critical[i].to_string());
        rec.push(if o.clustered.candidates[i] { o.clustered.labels[i].to_string() } else { String::new() });
        let z = o.zones.zone_of[i];
        rec.push(if z >= 0 { z.to_string() } else { String::new() });
        if let Some(a) = audit {
            let p = a.p_critical[i];
            rec.push(if p.is_finite() { format!("{p:.4}") } else { String::new() });
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
