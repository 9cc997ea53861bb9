//! The figures of a zone and of a build site as people read them — label and formatted
//! value, in the run's language — for the descriptions in `zones.kml` and `zones.gpx`. The
//! machine-readable columns (GeoJSON, CSV, GeoPackage) keep their English names.

use crate::analysis::SitesResult;
use crate::i18n::Strings;
use crate::zones::Zone;

/// `#<rank>`, the name of a zone on every map and list.
pub fn zone_name(z: &Zone) -> String {
    format!("#{}", z.rank)
}

/// `Site <n>` (1-based, in the order chosen).
pub fn site_name(s: Strings, n: usize) -> String {
    s.f("gis.site", &[("n", &n)])
}

fn people(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// An area in m² or, from 0.1 km², in km².
pub fn area(area_m2: f64) -> String {
    if area_m2 < 100_000.0 { format!("{area_m2:.0} m²") } else { format!("{:.2} km²", area_m2 / 1e6) }
}

/// A share in [0, 1] as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// (label, value) rows of a zone.
pub fn zone_figures(s: Strings, z: &Zone) -> Vec<(&'static str, String)> {
    let mut rows = vec![(s.t("gis.rank"), z.rank.to_string()), (s.t("gis.households"), z.households.to_string())];
    if let Some(p) = z.people {
        rows.push((s.t("gis.people"), people(p)));
    }
    rows.extend([
        (s.t("gis.critical_households"), z.critical.to_string()),
        (s.t("gis.critical_share"), percent(z.critical_share)),
        (s.t("gis.mean_need"), format!("{:.3}", z.mean_need)),
        (s.t("gis.total_need"), format!("{:.2}", z.total_need)),
        (s.t("gis.area"), area(z.area_m2)),
        (s.t("gis.density"), format!("{:.0}", z.density_per_km2)),
        (s.t("gis.members"), z.members.to_string()),
        (s.t("gis.zone_id"), z.id.to_string()),
        (s.t("gis.centre"), format!("{:.6}, {:.6}", z.centre.1, z.centre.0)),
    ]);
    rows
}

/// (label, value) rows of site `k` (0-based) of `s`, with the share covered up to it.
pub fn site_figures(st: Strings, s: &SitesResult, k: usize) -> Vec<(&'static str, String)> {
    let sol = &s.solution;
    let site = &sol.sites[k];
    let cumulative = sol.existing_weight + sol.sites[..=k].iter().map(|x| x.added_weight).sum::<f64>();
    let share = if sol.total_weight > 0.0 { cumulative / sol.total_weight } else { 0.0 };
    vec![
        (st.t("gis.candidate"), s.candidates.id[site.candidate].clone()),
        (st.t("gis.covered_households"), site.covered_households.to_string()),
        (st.t("gis.covered_weight"), format!("{:.2}", site.covered_weight)),
        (st.t("gis.added_weight"), format!("{:.2}", site.added_weight)),
        (st.t("gis.cumulative_share"), percent(share)),
        (st.t("gis.radius"), format!("{} m", s.params.radius_m)),
        (st.t("gis.weight"), s.params.weight.clone()),
    ]
}

/// Rows as plain text, one `label: value` per line (GPX `desc`).
pub fn plain(rows: &[(&str, String)]) -> String {
    rows.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
}

/// Rows as an HTML table (KML `description`), values escaped as HTML.
pub fn html_table(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<table>");
    for (k, v) in rows {
        out.push_str("<tr><th align=\"left\">");
        out.push_str(&super::xml::html(k));
        out.push_str("</th><td>");
        out.push_str(&super::xml::html(v));
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn areas_switch_to_square_kilometres_from_a_tenth() {
        assert_eq!(area(314.2), "314 m²");
        assert_eq!(area(250_000.0), "0.25 km²");
    }

    #[test]
    fn html_table_escapes_values() {
        assert_eq!(
            html_table(&[("a", "<b> & \"c\"".into())]),
            "<table><tr><th align=\"left\">a</th><td>&lt;b&gt; &amp; &quot;c&quot;</td></tr></table>"
        );
    }

    #[test]
    fn sites_are_named_in_the_language() {
        assert_eq!(site_name(Strings::new(Lang::En), 3), "Site 3");
        assert_eq!(site_name(Strings::new(Lang::Es), 3), "Sitio 3");
    }
}
