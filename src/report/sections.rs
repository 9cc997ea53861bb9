//! The report's sections, each a function from the run to its HTML (or `None` when the run
//! has nothing for it). Figures are read from the run's files, never recomputed, except the
//! k-distance curve, which the run does not store: it is computed again from households.csv
//! exactly as `needmap run` computed it (same households, same order, same sample), and its
//! knee is checked against the eps the run recorded.

use std::path::Path;

use serde_json::Value;

use super::html::{Table, base64, count, esc, num, percent, user};
use super::svg::{KDistancePlot, k_distance_svg};
use super::{Ctx, MAP_WIDTH_PX, ReportError, Section};
use crate::analysis::Candidates;
use crate::cluster::Method;
use crate::data::{Issue, IssueKind};
use crate::export::shell_line;
use crate::i18n::Strings;
use crate::need::{Direction, Missing, Selection, Transform};
use crate::zones::{Hull, Priority};

/// Rejected or flagged records listed in the report (report.json has them all).
pub const ISSUES_SHOWN: usize = 10;
/// Rows of the audit's zone table (the rest are in zones_stability.csv).
const AUDIT_ZONES_SHOWN: usize = 15;

fn p(text: &str) -> String {
    format!("<p>{text}</p>\n")
}

fn h3(text: &str) -> String {
    format!("<h3>{}</h3>\n", esc(text))
}

fn head(t: &Strings, keys: &[(&'static str, bool)]) -> Vec<(String, bool)> {
    keys.iter().map(|&(k, right)| (t.t(k).to_string(), right)).collect()
}

/// `<pre>` of a command line.
fn command(line: &str) -> String {
    format!("<pre class=\"cmd\">{}</pre>\n", esc(line))
}

/// The run's input file as it was given (report.json's import path).
fn input_path(ctx: &Ctx<'_>) -> String {
    ctx.import.path.display().to_string()
}

pub(super) fn summary(ctx: &Ctx<'_>) -> String {
    let t = &ctx.t;
    let r = &ctx.import;
    let critical = ctx.u64_at("/selection/critical_households").unwrap_or(0);
    let in_zones = ctx.u64_at("/zones/households_in_zones").unwrap_or(0);
    let mut items = vec![
        (t.t("report.sum_households"), count(r.accepted as u64)),
        (
            t.t("report.sum_critical"),
            format!(
                "{} <small>({})</small>",
                count(critical),
                percent(Some(critical as f64 / r.accepted.max(1) as f64))
            ),
        ),
        (t.t("report.sum_zones"), count(ctx.run.zones.len() as u64)),
        (t.t("report.sum_in_zones"), count(in_zones)),
    ];
    if let Some(z) = ctx.run.zones.first() {
        items.push((
            t.t("report.sum_top"),
            esc(&t.f("report.sum_top_value", &[("zone", &z.id), ("households", &count(z.households))])),
        ));
    }
    let mut s = String::from("<dl class=\"summary\">\n");
    for (k, v) in items {
        s += &format!("<div><dt>{}</dt><dd>{v}</dd></div>\n", esc(k));
    }
    s += "</dl>\n";
    s += &p(&esc(&t.f("report.lead", &[("file", &ctx.run.source)])));
    s
}

// ---------------------------------------------------------------------------------------
// Data and import

fn kind_label(t: &Strings, kind: IssueKind) -> String {
    let key = match kind {
        IssueKind::MissingCoordinate => "report.kind_missing_coordinate",
        IssueKind::NotANumber => "report.kind_not_a_number",
        IssueKind::DecimalComma => "report.kind_decimal_comma",
        IssueKind::LatitudeOutOfRange => "report.kind_latitude_out_of_range",
        IssueKind::LongitudeOutOfRange => "report.kind_longitude_out_of_range",
        IssueKind::ZeroZero => "report.kind_zero_zero",
        IssueKind::DuplicateId => "report.kind_duplicate_id",
        IssueKind::TooManyFields => "report.kind_too_many_fields",
        IssueKind::UnsupportedGeometry => "report.kind_unsupported_geometry",
        IssueKind::MissingGeometry => "report.kind_missing_geometry",
        IssueKind::ProbableSwap => "report.kind_probable_swap",
        IssueKind::FarOutlier => "report.kind_far_outlier",
        IssueKind::DuplicateCoordinates => "report.kind_duplicate_coordinates",
        IssueKind::ImpreciseGps => "report.kind_imprecise_gps",
        IssueKind::ShortRow => "report.kind_short_row",
    };
    t.t(key).to_string()
}

fn issues_table(t: &Strings, id: &'static str, issues: &[Issue]) -> String {
    let mut table = Table::new(
        Some(id),
        head(
            t,
            &[
                ("report.col_line", true),
                ("report.col_column", false),
                ("report.col_id", false),
                ("report.col_kind", false),
                ("report.col_reason", false),
            ],
        ),
    );
    for i in issues.iter().take(ISSUES_SHOWN) {
        let line = match (i.line, &i.key) {
            (Some(l), _) => count(u64::from(l)),
            (None, Some(k)) => user(k),
            (None, None) => esc(&t.f("report.feature", &[("n", &i.row)])),
        };
        let column = match (&i.column_name, i.column) {
            (Some(name), _) => user(name),
            (None, Some(c)) => c.to_string(),
            (None, None) => String::new(),
        };
        table.row(vec![
            line,
            column,
            i.id.as_deref().map(user).unwrap_or_default(),
            esc(&kind_label(t, i.kind)),
            user(&i.message),
        ]);
    }
    let mut s = table.html();
    if issues.len() > ISSUES_SHOWN {
        s += &p(&format!(
            "<span class=\"note\">{}</span>",
            esc(&t.f("report.more_issues", &[("shown", &ISSUES_SHOWN), ("total", &issues.len())]))
        ));
    }
    s
}

pub(super) fn data(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let r = &ctx.import;
    let mut s = String::new();
    let id = r.id_column.as_deref().map(user).unwrap_or_else(|| esc(t.t("report.no_id")));
    s += &p(&format!(
        "{} <strong>{}</strong> ({}). {} {}. {} {}.",
        esc(t.t("report.file")),
        user(&ctx.run.source),
        esc(&r.format.to_string()),
        esc(t.t("report.coordinates")),
        user(&r.coordinates),
        esc(t.t("report.id_column")),
        id
    ));
    let mut counts = Table::new(
        Some("import-counts"),
        head(
            t,
            &[
                ("report.col_records", true),
                ("report.col_accepted", true),
                ("report.col_rejected", true),
                ("report.col_flagged", true),
            ],
        ),
    );
    counts.row(vec![
        count(r.records as u64),
        count(r.accepted as u64),
        count(r.rejected as u64),
        count(r.flagged as u64),
    ]);
    s += &counts.html();
    s += &p(&esc(t.t("report.import_rule")));
    let by_kind = r.counts_by_kind();
    if !by_kind.is_empty() {
        let list: Vec<String> =
            by_kind.iter().map(|(k, n)| format!("{} {}", esc(&kind_label(t, *k)), count(*n as u64))).collect();
        s += &p(&format!("{} {}.", esc(t.t("report.by_reason")), list.join(" · ")));
    }
    if !r.rejects.is_empty() {
        s += &h3(t.t("report.rejects_title"));
        s += &issues_table(t, "rejects", &r.rejects);
    }
    if !r.flags.is_empty() {
        s += &h3(t.t("report.flags_title"));
        s += &issues_table(t, "flags", &r.flags);
    }
    if !r.notes.is_empty() {
        s += &h3(t.t("report.notes_title"));
        s += "<ul>\n";
        for n in &r.notes {
            s += &format!("<li>{}</li>\n", user(n));
        }
        s += "</ul>\n";
    }
    if let Some(a) = &r.accuracy {
        s += &p(&format!(
            "{} ({}): {}",
            esc(t.t("report.accuracy")),
            user(&a.column),
            esc(&t.f(
                "report.accuracy_figures",
                &[
                    ("median", &num(Some(a.median_m), 1)),
                    ("p90", &num(Some(a.p90_m), 1)),
                    ("max", &num(Some(a.max_m), 1))
                ]
            ))
        ));
    }
    s += &h3(t.t("report.columns_title"));
    let mut cols = Table::new(
        Some("columns"),
        head(
            t,
            &[
                ("report.col_number", true),
                ("report.col_name", false),
                ("report.col_type", false),
                ("report.col_role", false),
                ("report.col_values", true),
                ("report.col_distinct", true),
            ],
        ),
    );
    let indicators: Vec<&str> = ctx.run.indicators.iter().map(String::as_str).collect();
    for c in &r.columns {
        let kind = serde_json::to_value(c.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let role = serde_json::to_value(c.role).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let mut role_text = esc(&role_label(t, &role));
        if indicators.contains(&c.name.as_str()) {
            role_text = esc(t.t("report.role_indicator"));
        } else if ctx.run.people_column.as_deref() == Some(c.name.as_str()) {
            role_text = esc(t.t("report.role_people"));
        }
        let distinct = if c.distinct > 1000 { format!("&gt;\u{A0}{}", count(1000)) } else { count(c.distinct as u64) };
        cols.row(vec![
            c.number.to_string(),
            user(&c.name),
            esc(&type_label(t, &kind)),
            role_text,
            count(c.non_empty as u64),
            distinct,
        ]);
    }
    s += &cols.html();
    Ok(Some(Section { id: "data", heading: t.t("report.data_title").to_string(), body: s }))
}

fn type_label(t: &Strings, kind: &str) -> String {
    let key = match kind {
        "number" => "report.type_number",
        "bool" => "report.type_bool",
        "category" => "report.type_category",
        "text" => "report.type_text",
        "empty" => "report.type_empty",
        other => return other.to_string(),
    };
    t.t(key).to_string()
}

fn role_label(t: &Strings, role: &str) -> String {
    let key = match role {
        "latitude" => "report.role_latitude",
        "longitude" => "report.role_longitude",
        "geopoint" => "report.role_geopoint",
        "wkt" => "report.role_wkt",
        "id" => "report.role_id",
        "accuracy" => "report.role_accuracy",
        "attribute" => "report.role_attribute",
        other => return other.to_string(),
    };
    t.t(key).to_string()
}

// ---------------------------------------------------------------------------------------
// Need index and critical households

/// One indicator as report.json describes it.
struct IndicatorRow {
    indicator: crate::need::Indicator,
    missing: u64,
    imputed: Option<f64>,
    unknown_categories: Vec<String>,
}

pub(super) fn need(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let mut s = String::new();
    // Read field by field: report.json leaves out empty lists, which IndicatorReport needs.
    let reports: Vec<IndicatorRow> = ctx
        .run
        .report
        .pointer("/need/indicators")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some(IndicatorRow {
                indicator: serde_json::from_value(v.get("indicator")?.clone()).ok()?,
                missing: v.get("missing").and_then(Value::as_u64).unwrap_or(0),
                imputed: v.get("imputed").and_then(Value::as_f64),
                unknown_categories: v
                    .get("unknown_categories")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|c| c.as_str().map(String::from)).collect())
                    .unwrap_or_default(),
            })
        })
        .collect();
    if reports.is_empty() {
        s += &p(&esc(t.t("report.no_indicators")));
    } else {
        s += &p(&esc(t.t("report.need_intro")));
        let total: f64 = reports.iter().map(|r| r.indicator.weight).sum();
        let mut table = Table::new(
            Some("indicators"),
            head(
                t,
                &[
                    ("report.col_indicator", false),
                    ("report.col_direction", false),
                    ("report.col_transform", false),
                    ("report.col_weight", true),
                    ("report.col_weight_share", true),
                    ("report.col_missing", true),
                ],
            ),
        );
        for r in &reports {
            let i = &r.indicator;
            let direction = match i.direction {
                Direction::HigherIsWorse => t.t("report.dir_higher"),
                Direction::LowerIsWorse => t.t("report.dir_lower"),
            };
            let mut transform = if i.categories.is_empty() {
                esc(&match i.transform {
                    Transform::Percentile => t.t("report.tr_percentile").to_string(),
                    Transform::MinMax => t.t("report.tr_min_max").to_string(),
                    Transform::ZScore => t.t("report.tr_z_score").to_string(),
                    Transform::Cutoff => {
                        t.f("report.tr_cutoff", &[("cutoff", &num(i.cutoff, 2).trim_end_matches('0').to_string())])
                    }
                })
            } else {
                let cats: Vec<String> = i.categories.iter().map(|(k, v)| format!("{} {}", user(k), v)).collect();
                format!("{}<span class=\"small\">{}</span>", esc(t.t("report.tr_categories")), cats.join(" · "))
            };
            if !r.unknown_categories.is_empty() {
                let list: Vec<String> = r.unknown_categories.iter().map(|c| user(c)).collect();
                transform += &format!(
                    "<span class=\"small\">{} {}</span>",
                    esc(t.t("report.unknown_categories")),
                    list.join(", ")
                );
            }
            let mut missing = count(r.missing);
            if let Some(v) = r.imputed.filter(|_| r.missing > 0) {
                missing += &format!(
                    "<span class=\"small\">{}</span>",
                    esc(&t.f("report.imputed", &[("value", &num(Some(v), 2))]))
                );
            }
            table.row(vec![
                user(&i.column),
                esc(direction),
                transform,
                num(Some(i.weight), 2),
                percent(Some(i.weight / total.max(f64::MIN_POSITIVE))),
                missing,
            ]);
        }
        s += &table.html();
        let policy: Option<Missing> =
            ctx.run.report.pointer("/need/missing_policy").cloned().and_then(|v| serde_json::from_value(v).ok());
        let excluded = ctx.u64_at("/need/excluded_households").unwrap_or(0);
        s += &p(&esc(&match policy {
            Some(Missing::Exclude) => t.f("report.missing_exclude", &[("n", &count(excluded))]),
            _ => t.t("report.missing_impute").to_string(),
        }));
    }
    if let Some(note) = ctx.str_at("/need/note") {
        s += &p(&format!("<span class=\"note\">{}</span>", user(note)));
    }
    s += &h3(t.t("report.selection_title"));
    let rule: Option<Selection> =
        ctx.run.report.pointer("/selection/rule").cloned().and_then(|v| serde_json::from_value(v).ok());
    let n = count(ctx.u64_at("/selection/critical_households").unwrap_or(0));
    let text = match rule {
        Some(Selection::TopPercent { percent }) => {
            t.f("report.rule_top", &[("percent", &num(Some(percent), 1).trim_end_matches(".0").to_string()), ("n", &n)])
        }
        Some(Selection::Threshold { min_score }) => t.f("report.rule_threshold", &[("score", &min_score), ("n", &n)]),
        Some(Selection::All) | None => t.f("report.rule_all", &[("n", &n)]),
    };
    s += &p(&esc(&text));
    Ok(Some(Section { id: "need", heading: t.t("report.need_title").to_string(), body: s }))
}

// ---------------------------------------------------------------------------------------
// Clustering and why its parameters

/// The k-distance curve of the households the run clustered, and their number.
fn k_distance_curve(ctx: &Ctx<'_>, min_points: usize) -> Option<(Vec<f64>, usize)> {
    let a = ctx.analysis.as_ref()?;
    let pts: Vec<crate::sphere::Xyz> = ctx
        .run
        .households
        .iter()
        .filter(|h| a.cluster.households == Candidates::All || h.critical)
        .map(|h| crate::sphere::xyz_from_lonlat(h.lon, h.lat))
        .collect();
    // Only when these are the households the run clustered (a folder edited by hand is not).
    if ctx.u64_at("/cluster/households_clustered") != Some(pts.len() as u64) {
        return None;
    }
    Some((crate::index::k_distances(&pts, min_points, 20_000), pts.len()))
}

fn param_table(t: &Strings, rows: Vec<(&'static str, String)>) -> String {
    let mut table =
        Table::new(Some("cluster-params"), head(t, &[("report.col_setting", false), ("report.col_value", true)]));
    for (k, v) in rows {
        table.row(vec![esc(t.t(k)), v]);
    }
    table.html()
}

pub(super) fn clustering(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let mut s = String::new();
    let method: Option<Method> =
        ctx.run.report.pointer("/cluster/method").cloned().and_then(|v| serde_json::from_value(v).ok());
    let clustered = ctx.u64_at("/cluster/households_clustered").unwrap_or(0);
    let all = ctx.analysis.as_ref().is_some_and(|a| a.cluster.households == Candidates::All);
    s += &p(&esc(
        &t.f(if all { "report.clustered_all" } else { "report.clustered_critical" }, &[("n", &count(clustered))])
    ));
    let clusters = ctx.u64_at("/cluster/clusters").unwrap_or(0);
    let noise = ctx.u64_at("/cluster/noise").unwrap_or(0);
    let input = input_path(ctx);
    let cfg = ctx.analysis.as_ref().map(|a| a.cluster.clone()).unwrap_or_default();
    match method.unwrap_or_default() {
        Method::Dbscan => {
            let eps = ctx.f64_at("/cluster/eps_m").unwrap_or(f64::NAN);
            let m = ctx.u64_at("/cluster/min_points").unwrap_or(0) as usize;
            s += &p(&esc(t.t("report.dbscan_intro")));
            s += &param_table(
                t,
                vec![
                    ("report.param_eps", num(Some(eps), 0)),
                    ("report.param_min_points", count(m as u64)),
                    (
                        "report.param_weight_people",
                        esc(t.t(if cfg.weight_by_people { "report.yes" } else { "report.no" })),
                    ),
                    ("report.param_clusters", count(clusters)),
                    ("report.param_noise", count(noise)),
                ],
            );
            s += &h3(t.t("report.why_title"));
            let suggested = ctx.run.report.pointer("/cluster/suggested").filter(|v| !v.is_null());
            let curve = k_distance_curve(ctx, m);
            let knee = curve.as_ref().and_then(|(d, _)| crate::index::knee(d)).map(|k| k.clamp(10.0, 5_000.0));
            match suggested {
                Some(sug) => {
                    s += &p(&esc(&t.f(
                        "report.dbscan_suggested",
                        &[("eps", &num(Some(eps), 0)), ("m", &m), ("n", &count(clustered))],
                    )));
                    if let Some(note) = sug.get("note").and_then(Value::as_str) {
                        s += &p(&format!("<span class=\"note\">needmap: {}</span>", user(note)));
                    }
                }
                None => {
                    s += &p(&esc(&t.f("report.dbscan_given", &[("eps", &num(Some(eps), 0)), ("m", &m)])));
                    if let Some(k) = knee {
                        s += &p(&esc(&t.f("report.dbscan_knee_compare", &[("knee", &num(Some(k), 0))])));
                    }
                }
            }
            match &curve {
                Some((d, n)) if d.len() >= 2 => {
                    let title = t.f("report.kdist_title", &[("m", &m)]);
                    let plot = KDistancePlot {
                        distances: d,
                        eps_m: eps,
                        knee_m: knee,
                        x_label: t.t("report.kdist_x"),
                        y_label: &t.f("report.kdist_y", &[("m", &m)]),
                        eps_label: t.f("report.kdist_eps", &[("eps", &num(Some(eps), 0))]),
                        knee_label: t.f("report.kdist_knee", &[("knee", &num(knee, 0))]),
                        title: &title,
                    };
                    let (svg, above) = k_distance_svg(&plot);
                    let mut caption = t.f("report.kdist_caption", &[("m", &m), ("n", &count(*n as u64))]);
                    if d.len() < *n {
                        caption += " ";
                        caption += &t.f("report.kdist_sample", &[("k", &count(d.len() as u64))]);
                    }
                    if above > 0 {
                        caption += " ";
                        caption += &t.f(
                            "report.kdist_above",
                            &[("n", &count(above as u64)), ("max", &num(d.last().copied(), 0))],
                        );
                    }
                    s += &format!("<figure>{svg}<figcaption>{}</figcaption></figure>\n", esc(&caption));
                }
                _ => s += &p(&format!("<span class=\"note\">{}</span>", esc(t.t("report.kdist_missing")))),
            }
            s += &p(&esc(t.t("report.study")));
            s += &command(&shell_line([
                "needmap",
                "sweep",
                &input,
                "--method",
                "dbscan",
                "--eps-m",
                "50:400:25",
                "--min-points",
                "5:30:5",
                "--out",
                "sweep.csv",
            ]));
        }
        Method::Kmeans => {
            s += &p(&esc(t.t("report.kmeans_intro")));
            let inertia_km2 = ctx.f64_at("/cluster/inertia_m2").map(|v| v / 1e6);
            s += &param_table(
                t,
                vec![
                    ("report.param_k", count(cfg.k as u64)),
                    ("report.param_seed", cfg.seed.to_string()),
                    ("report.param_restarts", count(cfg.restarts as u64)),
                    (
                        "report.param_need_weighted",
                        esc(t.t(if cfg.need_weighted { "report.yes" } else { "report.no" })),
                    ),
                    ("report.param_inertia", num(inertia_km2, 2)),
                    ("report.param_clusters", count(clusters)),
                ],
            );
            s += &h3(t.t("report.why_title"));
            s += &p(&esc(t.t("report.kmeans_why")));
            s += &command(&shell_line([
                "needmap",
                "sweep",
                &input,
                "--method",
                "kmeans",
                "--k",
                "2:30:1",
                "--out",
                "sweep.csv",
            ]));
        }
        Method::Hdbscan => {
            s += &p(&esc(t.t("report.hdbscan_intro")));
            s += &param_table(
                t,
                vec![
                    ("report.param_min_cluster_size", count(cfg.min_cluster_size as u64)),
                    ("report.param_min_samples", count(cfg.min_samples as u64)),
                    ("report.param_clusters", count(clusters)),
                    ("report.param_noise", count(noise)),
                ],
            );
            s += &h3(t.t("report.why_title"));
            s += &p(&esc(t.t("report.hdbscan_why")));
            s += &command(&shell_line([
                "needmap",
                "sweep",
                &input,
                "--method",
                "hdbscan",
                "--min-cluster-size",
                "5:50:5",
                "--out",
                "sweep.csv",
            ]));
        }
    }
    s += &h3(t.t("report.zones_from_clusters"));
    let hull: Option<Hull> =
        ctx.run.report.pointer("/zones/hull").cloned().and_then(|v| serde_json::from_value(v).ok());
    let hull_text = match hull.unwrap_or_default() {
        Hull::Convex => t.t("report.hull_convex").to_string(),
        Hull::Concave { concavity } => t.f("report.hull_concave", &[("c", &concavity)]),
    };
    s += &p(&esc(&format!("{hull_text} {}", priority_sentence(ctx))));
    Ok(Some(Section { id: "clustering", heading: t.t("report.method_title").to_string(), body: s }))
}

fn priority_sentence(ctx: &Ctx<'_>) -> String {
    let t = &ctx.t;
    let priority: Option<Priority> =
        ctx.run.report.pointer("/zones/priority").cloned().and_then(|v| serde_json::from_value(v).ok());
    let key = match priority.unwrap_or_default() {
        Priority::TotalNeed => "report.pr_total_need",
        Priority::MeanNeed => "report.pr_mean_need",
        Priority::CriticalHouseholds => "report.pr_critical_households",
        Priority::CriticalShare => "report.pr_critical_share",
        Priority::People => "report.pr_people",
        Priority::Households => "report.pr_households",
        Priority::Density => "report.pr_density",
    };
    t.f("report.ranked_by", &[("priority", &t.t(key))])
}

// ---------------------------------------------------------------------------------------
// Map

/// The run's print map (landscape A4 layout with legend, scale bar and north arrow) as a PNG
/// about [`MAP_WIDTH_PX`] wide.
pub fn map_png(ctx: &Ctx<'_>) -> Result<Vec<u8>, ReportError> {
    use crate::print::{Paper, layout, raster};
    let size = Paper::A4.size_pt(true);
    let px_per_pt = MAP_WIDTH_PX / size[0];
    let setup = layout::Setup {
        strings: ctx.t,
        title: ctx.t.t("print.map_title").to_string(),
        tiles: None,
        attribution: crate::basemap::ATTRIBUTION.to_string(),
        px_per_pt,
    };
    let (page, _) = layout::map_page(ctx.run, size, &setup);
    let bad = |problem: String| ReportError::Bad { path: ctx.run.dir.clone(), problem };
    let pixmap = raster::render(&page, px_per_pt).ok_or_else(|| bad("the map is too large to draw".into()))?;
    // Drawn opaque on white: RGB is enough (a quarter smaller).
    let rgb: Vec<u8> = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut w = enc.write_header().map_err(|e| bad(format!("map PNG: {e}")))?;
        w.write_image_data(&rgb).map_err(|e| bad(format!("map PNG: {e}")))?;
    }
    Ok(out)
}

pub(super) fn map(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let png = map_png(ctx)?;
    let s = format!(
        "<figure><img src=\"data:image/png;base64,{}\" width=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
        base64(&png),
        MAP_WIDTH_PX as u32,
        esc(&t.f("report.map_alt", &[("file", &ctx.run.source)])),
        esc(&t.f("report.map_caption", &[("attribution", &crate::basemap::ATTRIBUTION)]))
    );
    Ok(Some(Section { id: "map", heading: t.t("report.map_title").to_string(), body: s }))
}

// ---------------------------------------------------------------------------------------
// Ranked zones

pub(super) fn zones(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let mut s = String::new();
    if ctx.run.zones.is_empty() {
        s += &p(&esc(t.t("print.no_zones")));
    } else {
        s += &p(&esc(&format!(
            "{} {}",
            t.f("report.zones_intro", &[("n", &ctx.run.zones.len())]),
            priority_sentence(ctx)
        )));
        let mut table = Table::new(
            Some("zones-table"),
            head(
                t,
                &[
                    ("print.col_rank", true),
                    ("print.col_zone", true),
                    ("print.col_households", true),
                    ("print.col_people", true),
                    ("print.col_critical", true),
                    ("report.col_critical_share", true),
                    ("print.col_mean_need", true),
                    ("report.col_total_need", true),
                    ("print.col_area", true),
                    ("print.col_density", true),
                ],
            ),
        );
        for z in &ctx.run.zones {
            table.row(vec![
                z.rank.to_string(),
                z.id.to_string(),
                count(z.households),
                num(z.people, 0),
                count(z.critical),
                percent(Some(z.critical_share)),
                num(Some(z.mean_need), 3),
                num(Some(z.total_need), 1),
                num(Some(z.area_m2 / 1e6), 3),
                num(Some(z.density_per_km2), 0),
            ]);
        }
        s += &table.html();
    }
    Ok(Some(Section { id: "zones", heading: t.t("report.zones_title").to_string(), body: s }))
}

// ---------------------------------------------------------------------------------------
// Sites, hot spots, audit: when the run has them

/// A CSV file of the run as header and rows (None when absent).
/// A CSV's header and rows.
type CsvTable = (Vec<String>, Vec<Vec<String>>);

fn read_csv(path: &Path) -> Result<Option<CsvTable>, ReportError> {
    if !path.is_file() {
        return Ok(None);
    }
    let bad = |e: csv::Error| ReportError::Bad { path: path.to_path_buf(), problem: e.to_string() };
    let mut r = csv::Reader::from_path(path).map_err(bad)?;
    let header: Vec<String> = r.headers().map_err(bad)?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(bad)?.iter().map(String::from).collect());
    }
    Ok(Some((header, rows)))
}

fn cell<'r>(header: &[String], row: &'r [String], name: &str) -> &'r str {
    header.iter().position(|h| h == name).and_then(|i| row.get(i)).map_or("", String::as_str)
}

fn cell_num(header: &[String], row: &[String], name: &str, decimals: usize) -> String {
    num(cell(header, row, name).parse().ok(), decimals)
}

pub(super) fn sites(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let Some(sites) = ctx.run.report.get("sites") else { return Ok(None) };
    let mut s = String::new();
    let g = |k: &str| sites.pointer(k).and_then(Value::as_f64);
    let weight = sites.pointer("/settings/weight").and_then(Value::as_str).unwrap_or("need");
    s += &p(&esc(&t.f(
        "report.sites_intro",
        &[
            ("sites", &count(g("/sites_chosen").unwrap_or(0.0) as u64)),
            ("candidates", &count(g("/candidates").unwrap_or(0.0) as u64)),
            ("radius", &num(g("/settings/radius_m"), 0)),
            ("weight", &weight),
        ],
    )));
    if let Some(from) = sites.get("candidates_from").and_then(Value::as_str) {
        s += &p(&format!("<span class=\"note\">{}</span>", user(from)));
    }
    s += &p(&esc(&t.f(
        "report.sites_cover",
        &[
            ("share", &percent(g("/covered_share"))),
            ("households", &count(g("/covered_households").unwrap_or(0.0) as u64)),
            ("bound", &percent(g("/upper_bound_share"))),
        ],
    )));
    if let Some((h, rows)) = read_csv(&ctx.run.dir.join("sites.csv"))? {
        let mut table = Table::new(
            Some("sites-table"),
            head(
                t,
                &[
                    ("report.col_site", true),
                    ("report.col_candidate", false),
                    ("report.col_lat", true),
                    ("report.col_lon", true),
                    ("report.col_covered", true),
                    ("report.col_added", true),
                    ("report.col_cumulative", true),
                ],
            ),
        );
        for r in &rows {
            table.row(vec![
                esc(cell(&h, r, "site")),
                user(cell(&h, r, "candidate")),
                cell_num(&h, r, "lat", 6),
                cell_num(&h, r, "lon", 6),
                cell_num(&h, r, "covered_households", 0),
                cell_num(&h, r, "added_weight", 1),
                percent(cell(&h, r, "cumulative_share").parse().ok()),
            ]);
        }
        s += &table.html();
    }
    Ok(Some(Section { id: "sites", heading: t.t("report.sites_title").to_string(), body: s }))
}

pub(super) fn hotspots(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let Some(h) = ctx.run.report.get("hotspots") else { return Ok(None) };
    let mut s = String::new();
    let value = h.get("value").and_then(Value::as_str).unwrap_or("need");
    s += &p(&esc(&t.f(
        "report.hot_intro",
        &[
            ("value", &value),
            ("band", &num(h.get("band_m").and_then(Value::as_f64), 0)),
            ("fdr", &h.get("fdr").and_then(Value::as_f64).unwrap_or(0.05)),
        ],
    )));
    let c = |k: &str| count(h.pointer(&format!("/counts/{k}")).and_then(Value::as_u64).unwrap_or(0));
    let mut table = Table::new(
        Some("hotspot-counts"),
        head(
            t,
            &[
                ("report.col_tested", true),
                ("report.col_hot", true),
                ("report.col_cold", true),
                ("report.col_not_significant", true),
                ("report.col_not_tested", true),
            ],
        ),
    );
    let tested = h.pointer("/counts/tested").and_then(Value::as_u64).unwrap_or(0);
    let all = h.pointer("/counts/households").and_then(Value::as_u64).unwrap_or(0);
    table.row(vec![c("tested"), c("hot"), c("cold"), c("not_significant"), count(all.saturating_sub(tested))]);
    s += &table.html();
    let notes: Vec<&str> = std::iter::once(h.get("band_rule").and_then(Value::as_str))
        .flatten()
        .chain(h.get("notes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str))
        .collect();
    if !notes.is_empty() {
        s += "<ul class=\"flags\">\n";
        for n in notes {
            s += &format!("<li class=\"note\">needmap: {}</li>\n", user(n));
        }
        s += "</ul>\n";
    }
    Ok(Some(Section { id: "hotspots", heading: t.t("report.hot_title").to_string(), body: s }))
}

pub(super) fn audit(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let path = ctx.run.dir.join("audit.json");
    if !path.is_file() {
        return Ok(None);
    }
    let bad = |problem: String| ReportError::Bad { path: path.clone(), problem };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let a: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let mut s = String::new();
    s += &p(&esc(t.t("report.audit_intro")));
    if let Some(m) = a.get("method").and_then(Value::as_str) {
        s += &p(&format!("<span class=\"note\">needmap: {}</span>", user(m)));
    }
    let top_k = a.get("top_k").and_then(Value::as_u64).unwrap_or(10);
    let flags: Vec<&str> =
        a.get("flags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    s += &h3(t.t("report.audit_flags"));
    if flags.is_empty() {
        s += &p(&esc(t.t("report.audit_no_flags")));
    } else {
        s += "<ul class=\"flags\">\n";
        for f in flags {
            s += &format!("<li>{}</li>\n", user(f));
        }
        s += "</ul>\n";
    }
    if let Some((h, rows)) = read_csv(&ctx.run.dir.join("zones_stability.csv"))? {
        s += &h3(&t.f("report.audit_stability", &[("k", &top_k)]));
        let mut table = Table::new(
            Some("audit-zones"),
            head(
                t,
                &[
                    ("print.col_rank", true),
                    ("print.col_zone", true),
                    ("report.col_p_top_k", true),
                    ("report.col_rank_range", true),
                ],
            ),
        );
        for r in rows.iter().take(AUDIT_ZONES_SHOWN) {
            table.row(vec![
                esc(cell(&h, r, "rank")),
                esc(cell(&h, r, "zone")),
                percent(cell(&h, r, "p_top_k").parse().ok()),
                format!("{}–{}", esc(cell(&h, r, "rank_p05")), esc(cell(&h, r, "rank_p95"))),
            ]);
        }
        s += &table.html();
        if rows.len() > AUDIT_ZONES_SHOWN {
            s += &p(&format!(
                "<span class=\"note\">{}</span>",
                esc(&t.f(
                    "report.more_rows",
                    &[("shown", &AUDIT_ZONES_SHOWN), ("total", &rows.len()), ("file", &"zones_stability.csv")]
                ))
            ));
        }
    }
    if let Some(inds) = a.get("indicators").and_then(Value::as_array).filter(|v| !v.is_empty()) {
        s += &h3(t.t("report.audit_indicators"));
        let mut table = Table::new(
            Some("audit-indicators"),
            head(
                t,
                &[
                    ("report.col_indicator", false),
                    ("report.col_weight_share", true),
                    ("report.col_weight_range", true),
                    ("report.col_correlation", true),
                    ("report.col_left_out", true),
                ],
            ),
        );
        for i in inds {
            let f = |k: &str| i.get(k).and_then(Value::as_f64);
            table.row(vec![
                user(i.get("column").and_then(Value::as_str).unwrap_or("")),
                percent(f("weight")),
                format!("{}–{}", percent(f("weight_p05")), percent(f("weight_p95"))),
                num(f("correlation"), 2),
                i.get("leave_out_top_k_changed").and_then(Value::as_u64).map(count).unwrap_or_default(),
            ]);
        }
        s += &table.html();
        s += &p(&format!("<span class=\"note\">{}</span>", esc(&t.f("report.audit_left_out_note", &[("k", &top_k)]))));
    }
    if let Some((h, rows)) = read_csv(&ctx.run.dir.join("groups.csv"))?.filter(|(_, r)| !r.is_empty()) {
        s += &h3(t.t("report.audit_groups"));
        let mut table = Table::new(
            Some("audit-groups"),
            head(
                t,
                &[
                    ("report.col_column", false),
                    ("report.col_group", false),
                    ("print.col_households", true),
                    ("report.col_share_all", true),
                    ("report.col_share_critical", true),
                    ("report.col_share_top", true),
                    ("report.col_flag", false),
                ],
            ),
        );
        for r in &rows {
            table.row(vec![
                user(cell(&h, r, "column")),
                user(cell(&h, r, "group")),
                cell_num(&h, r, "households", 0),
                percent(cell(&h, r, "share_all").parse().ok()),
                percent(cell(&h, r, "share_critical").parse().ok()),
                percent(cell(&h, r, "share_top_zones").parse().ok()),
                esc(&cell(&h, r, "flag").replace(';', " · ").replace('_', " ")),
            ]);
        }
        s += &table.html();
    }
    Ok(Some(Section { id: "audit", heading: t.t("report.audit_title").to_string(), body: s }))
}

// ---------------------------------------------------------------------------------------
// Reproduce

pub(super) fn reproduce(ctx: &Ctx<'_>) -> Result<Option<Section>, ReportError> {
    let t = &ctx.t;
    let mut s = String::new();
    let dir = ctx.run.dir.display().to_string();
    s += &p(&format!("{} <code>{}</code>.", esc(t.t("report.reproduce_folder")), user(&dir)));
    let recorded = ctx.run.report.pointer("/command/line").and_then(Value::as_str);
    match recorded {
        Some(line) => {
            s += &p(&esc(t.t("report.reproduce_recorded")));
            s += &command(line);
            if let Some(cwd) = ctx.str_at("/command/cwd") {
                s += &p(&format!("{} <code>{}</code>", esc(t.t("report.reproduce_cwd")), user(cwd)));
            }
        }
        None => s += &p(&esc(t.t("report.reproduce_not_recorded"))),
    }
    let out_name = format!(
        "{}-rerun",
        ctx.run.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into())
    );
    let analysis = ctx.run.dir.join("analysis.toml").display().to_string();
    s += &p(&esc(t.t("report.reproduce_analysis")));
    s += &command(&shell_line(["needmap", "run", &input_path(ctx), "--analysis", &analysis, "--out", &out_name]));
    let version = ctx.str_at("/needmap_version").unwrap_or("?");
    s +=
        &p(&format!("<span class=\"note\">{}</span>", esc(&t.f("report.reproduce_version", &[("version", &version)]))));
    s += &h3("analysis.toml");
    match &ctx.run.analysis_toml {
        Some(text) => s += &format!("<pre class=\"toml\">{}</pre>\n", esc(text)),
        None => s += &p(&esc(t.t("report.no_analysis"))),
    }
    Ok(Some(Section { id: "reproduce", heading: t.t("report.reproduce_title").to_string(), body: s }))
}
