//! The audit's files: `audit.json` (everything, with the settings), `zones_stability.csv`
//! (one row per zone in rank order) and `groups.csv` (one row per group value), written by
//! `needmap audit` and, when the analysis has `[audit]`, by `needmap run`.

use std::io;
use std::path::Path;

use super::atomic::WriteError;
use crate::audit::AuditResult;

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6}"))
}

/// `audit.json`: the whole result, pretty-printed, ending in a newline.
pub fn audit_json(a: &AuditResult) -> String {
    serde_json::to_string_pretty(a).unwrap_or_default() + "\n"
}

/// `zones_stability.csv`: `zone,rank,p_top_k,rank_p05,rank_p95,p_top_1,rank_median,rank_fixed_members`.
pub fn zones_stability_csv(path: &Path, a: &AuditResult) -> io::Result<()> {
    zones_stability_csv_to(std::fs::File::create(path)?, a)
}

/// [`zones_stability_csv`] to any writer.
pub fn zones_stability_csv_to(w: impl io::Write, a: &AuditResult) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(w);
    w.write_record([
        "zone",
        "rank",
        "p_top_k",
        "rank_p05",
        "rank_p95",
        "p_top_1",
        "rank_median",
        "rank_fixed_members",
    ])?;
    for z in &a.zones {
        w.write_record([
            z.zone.to_string(),
            z.rank.to_string(),
            format!("{:.6}", z.p_top_k),
            z.rank_p05.to_string(),
            z.rank_p95.to_string(),
            format!("{:.6}", z.p_top_1),
            z.rank_median.to_string(),
            z.rank_fixed_members.to_string(),
        ])?;
    }
    w.flush()
}

/// `groups.csv`: the contract's columns first, then counts and the sites' share (empty
/// without sites). Shares are fractions; empty where the set they are a share of is empty.
pub fn groups_csv(path: &Path, a: &AuditResult) -> io::Result<()> {
    groups_csv_to(std::fs::File::create(path)?, a)
}

/// [`groups_csv`] to any writer.
pub fn groups_csv_to(w: impl io::Write, a: &AuditResult) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(w);
    w.write_record([
        "column",
        "group",
        "households",
        "share_all",
        "share_critical",
        "share_top_zones",
        "ratio_critical",
        "ratio_top_zones",
        "flag",
        "critical",
        "top_zones",
        "share_covered",
        "ratio_covered",
    ])?;
    for g in &a.groups {
        w.write_record([
            g.column.clone(),
            g.group.clone(),
            g.households.to_string(),
            format!("{:.6}", g.share_all),
            opt(g.share_critical),
            opt(g.share_top_zones),
            opt(g.ratio_critical),
            opt(g.ratio_top_zones),
            g.flag.clone(),
            g.critical.to_string(),
            g.top_zones.to_string(),
            opt(g.share_covered),
            opt(g.ratio_covered),
        ])?;
    }
    w.flush()
}

/// Writes the three files into `dir` (a directory being filled by [`super::atomic::write_dir`]).
pub fn write_audit_files(dir: &Path, a: &AuditResult) -> Result<(), WriteError> {
    let io = |name: &str| {
        let p = dir.join(name);
        move |source| WriteError::Io { path: p, error: source }
    };
    std::fs::write(dir.join("audit.json"), audit_json(a)).map_err(io("audit.json"))?;
    zones_stability_csv(&dir.join("zones_stability.csv"), a).map_err(io("zones_stability.csv"))?;
    groups_csv(&dir.join("groups.csv"), a).map_err(io("groups.csv"))?;
    Ok(())
}
