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
    let mut need = String::new();
    let mut cell = String::new();
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
            w.write_field(h.cells.text_in(i, c, &mut cell))?;
        }
        let s = o.scored.need.score[i];
        match s.is_finite().then(|| fixed(s, 6)).flatten() {
            Some(k) => {
                need.clear();
                push_fixed(&mut need, k, 6);
                w.write_field(&need)?;
            }
            None => field(&mut w, s.is_finite(), format_args!("{s:.6}"))?,
        }
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
/// `v` rounded to `decimals` (≤ 15) places as `format!("{v:.decimals$}")` rounds it (exactly,
/// ties to even), as the count of 10^-decimals it prints (`1.2345678` at 6 places: 1234568.0,
/// the sign kept for −0): when that can be decided without printing, i.e. |v| × 10^decimals is
/// below 2^53 and not within a few ulps of a tie, where the float product could round the
/// other way. `None` otherwise: print it. Households' need scores take this path
/// (100 ns a household less, twice, at 10M households).
pub fn fixed(v: f64, decimals: u32) -> Option<f64> {
    let scale = 10f64.powi(decimals.min(15) as i32);
    let m = v * scale;
    if !m.is_finite() || m.abs() >= 9.0e15 || decimals > 15 {
        return None;
    }
    let frac = (m - m.trunc()).abs();
    if (frac - 0.5).abs() <= 8.0 * f64::EPSILON * m.abs().max(1.0) {
        return None;
    }
    Some(m.round())
}

/// Appends `k` counts of 10^-decimals (from [`fixed`]) as `format!("{v:.decimals$}")` writes v.
pub fn push_fixed(out: &mut String, k: f64, decimals: u32) {
    use std::fmt::Write as _;
    let scale = 10u64.pow(decimals);
    let a = k.abs() as u64;
    if k.is_sign_negative() {
        out.push('-');
    }
    let _ = write!(out, "{}", a / scale);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", a % scale, width = decimals as usize);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`fixed`] and [`push_fixed`] agree with `format!` wherever `fixed` answers, on need-like
    /// scores, random bit patterns, exact ties (k/2^7 at 6 places), negatives, −0, huge values.
    #[test]
    fn fixed_decimals_are_what_format_prints() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut values: Vec<f64> =
            vec![0.0, -0.0, -1e-9, 0.0078125, 0.5, 2.5e-7, 1.5e-6, 9.0e9, 1e300, -3.25, 123.4567895];
        for _ in 0..200_000 {
            let r = next();
            values.push(match r % 5 {
                0 => (r >> 11) as f64 / (1u64 << 53) as f64,
                1 => f64::from_bits(r >> 2) * if r & 2 == 0 { 1.0 } else { -1.0 },
                2 => ((r >> 20) % 100_000) as f64 / 128.0,
                3 => ((r >> 20) % 1_000_000_000) as f64 / 1e6 - 500.0,
                _ => (r >> 11) as f64 / (1u64 << 53) as f64 * 1e4 - 5e3,
            });
        }
        let mut answered = 0;
        for v in values.into_iter().filter(|v| v.is_finite()) {
            for d in [4, 6] {
                let want = format!("{v:.prec$}", prec = d as usize);
                if let Some(k) = fixed(v, d) {
                    answered += 1;
                    let mut got = String::new();
                    push_fixed(&mut got, k, d);
                    assert_eq!(got, want, "{v:e} at {d}");
                    let scale = 10f64.powi(d as i32);
                    assert_eq!((k / scale).to_bits(), want.parse::<f64>().unwrap().to_bits(), "{v:e} at {d}");
                }
            }
        }
        assert!(answered > 300_000, "{answered}");
        // Exact ties are printed, not guessed.
        assert_eq!(fixed(0.0078125, 6), None);
        assert_eq!(fixed(1e300, 6), None);
    }
}
