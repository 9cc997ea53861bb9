//! `zones.kml` (OGC KML 2.2): the run for Google Earth, Organic Maps, OsmAnd, QGIS and GDAL.
//!
//! One `Document`: shared `Style`s first, then top-level `Folder`s (GDAL reads each as a
//! layer; folders are not nested, as readers differ on nested ones):
//! - **Zones**: one polygon per zone in rank order, named `#<rank>`, filled with the app's
//!   colour for its rank ([`zone_rgb`]), its figures as an HTML table in `description` (in
//!   the run's language) and as `ExtendedData` (English names, as in `zones.csv`);
//! - **Sites**, when build sites were chosen: one point each, `Site <n>`;
//! - **Hot spots** and **Cold spots**, when hot spots ran: the households significant after
//!   the false-discovery correction, styled by their 99/95/90 % confidence bin, their
//!   figures on one line;
//! - **Households**, when [`KmlHouseholds`] says so: one point each, coloured by need, need,
//!   critical and zone on one line in `description`, every input column in `ExtendedData`, then `need`, `critical`, `cluster`, `zone` (renamed
//!   `zone_2` etc. when the input has a column of that name, as in needmap.gpkg).
//!
//! Point folders hold at most [`POINT_LIMIT`] points unless asked for all (`always`): past
//! that, a phone struggles with the file, and the document's description says what was left
//! out and where it is (needmap.gpkg). Text is escaped as [`super::xml`] says; the file is
//! the same byte for byte for the same run.

use std::io::{self, Write};

use crate::analysis::{Outcome, SitesResult};
use crate::hotspots::HotspotResult;
use crate::i18n::Strings;
use crate::zones::{Priority, Zone};

use super::figures::{self, html_table, zone_name};
use super::geojson::zone_properties;
use super::xml::{push_attr, push_text};

/// Whether `zones.kml` has a point per household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KmlHouseholds {
    /// When there are at most 50,000 households.
    #[default]
    Auto,
    /// Every household, however many.
    Always,
    /// None (they are in needmap.gpkg).
    Never,
}

impl KmlHouseholds {
    pub fn include(self, households: usize) -> bool {
        match self {
            KmlHouseholds::Auto => households <= POINT_LIMIT,
            KmlHouseholds::Always => true,
            KmlHouseholds::Never => false,
        }
    }
}

/// Most points in a folder of `zones.kml` unless asked for all.
pub const POINT_LIMIT: usize = 50_000;

/// Fill of zone `rank` of `n`, the same RGB as the app's map ([`crate::palette::zone_rgb`]).
pub fn zone_rgb(rank: u32, n: usize) -> [u8; 3] {
    crate::palette::zone_rgb(rank, n)
}

/// A KML colour: `aabbggrr` in hex.
pub fn kml_colour(alpha: u8, [r, g, b]: [u8; 3]) -> String {
    format!("{alpha:02x}{b:02x}{g:02x}{r:02x}")
}

/// The app fills zones at 45 % opacity.
const ZONE_FILL_ALPHA: u8 = 115;
/// Households by need score, as the app: ColorBrewer YlOrRd at five steps; grey without one.
const NEED_RGB: [[u8; 3]; 5] = crate::palette::NEED_STOPS;
const NO_NEED_RGB: [u8; 3] = crate::palette::NO_NEED;
/// Hot and cold spots by confidence bin, as the app (ColorBrewer RdBu).
const BIN_RGB: [(i8, [u8; 3]); 6] = [
    (3, [0xb2, 0x18, 0x2b]),
    (2, [0xef, 0x8a, 0x62]),
    (1, [0xfd, 0xdb, 0xc7]),
    (-1, [0xd1, 0xe5, 0xf0]),
    (-2, [0x67, 0xa9, 0xcf]),
    (-3, [0x21, 0x66, 0xac]),
];
const SITE_RGB: [u8; 3] = [0x00, 0x89, 0x7b];
const DOT: &str = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png";
const FLAG: &str = "http://maps.google.com/mapfiles/kml/shapes/flag.png";

fn need_style(score: f64) -> String {
    if !score.is_finite() {
        return "need-none".into();
    }
    format!("need-{}", ((score.clamp(0.0, 1.0) * 5.0) as usize).min(4))
}

fn bin_style(bin: i8) -> String {
    if bin >= 0 { format!("hot-{bin}") } else { format!("cold-{}", -bin) }
}

fn priority_words(s: Strings, p: Priority) -> &'static str {
    match p {
        Priority::TotalNeed => s.t("zones.p_total_need"),
        Priority::MeanNeed => s.t("zones.p_mean_need"),
        Priority::CriticalHouseholds => s.t("zones.p_critical"),
        Priority::CriticalShare => s.t("zones.p_critical_share"),
        Priority::People => s.t("zones.p_people"),
        Priority::Households => s.t("zones.p_households"),
        Priority::Density => s.t("zones.p_density"),
    }
}

/// Writes `zones.kml` for `o`; `title` names the survey (its file name).
pub fn zones_kml(
    w: &mut impl Write,
    o: &Outcome,
    s: Strings,
    households: KmlHouseholds,
    title: &str,
) -> io::Result<()> {
    let zones = &o.zones.zones;
    let h = &o.imported.households;
    let with_households = households.include(h.len());
    let spots = o.hotspots.as_deref().map(|r| r.hot.iter().filter(|&&x| x != 0).count()).unwrap_or(0);
    let with_spots = spots <= POINT_LIMIT || households == KmlHouseholds::Always;

    let mut out = String::with_capacity(1 << 16);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n",
    );
    element(&mut out, "name", &s.f("gis.document", &[("file", &title)]));
    let critical = o.scored.critical.iter().filter(|&&c| c).count();
    let mut about = s.f(
        "gis.summary",
        &[
            ("zones", &zones.len()),
            ("priority", &priority_words(s, o.resolved.zones.priority)),
            ("households", &h.len()),
            ("critical", &critical),
        ],
    );
    if !with_households {
        about.push('\n');
        about.push_str(&s.f("gis.households_left_out", &[("n", &h.len()), ("limit", &POINT_LIMIT)]));
    }
    if o.hotspots.is_some() && !with_spots {
        about.push('\n');
        about.push_str(&s.f("gis.spots_left_out", &[("n", &spots), ("limit", &POINT_LIMIT)]));
    }
    element(&mut out, "description", &about);

    // Styles: one per zone rank, sites, hot/cold bins, households by need.
    for z in zones {
        let rgb = zone_rgb(z.rank, zones.len());
        out.push_str(&format!(
            "<Style id=\"zone-{}\"><LineStyle><color>{}</color><width>1.5</width></LineStyle><PolyStyle><color>{}</color></PolyStyle></Style>\n",
            z.rank,
            kml_colour(0xff, rgb),
            kml_colour(ZONE_FILL_ALPHA, rgb)
        ));
    }
    if o.sites.is_some() {
        icon_style(&mut out, "site", SITE_RGB, 1.2, FLAG);
    }
    if o.hotspots.is_some() && with_spots {
        for (bin, rgb) in BIN_RGB {
            icon_style(&mut out, &bin_style(bin), rgb, 0.8, DOT);
        }
    }
    if with_households {
        for (k, rgb) in NEED_RGB.iter().enumerate() {
            icon_style(&mut out, &format!("need-{k}"), *rgb, 0.5, DOT);
        }
        icon_style(&mut out, "need-none", NO_NEED_RGB, 0.5, DOT);
    }

    // Zones.
    out.push_str("<Folder>");
    element(&mut out, "name", s.t("gis.zones"));
    out.push('\n');
    for z in zones {
        zone_placemark(&mut out, s, z);
    }
    out.push_str("</Folder>\n");
    w.write_all(out.as_bytes())?;
    out.clear();

    if let Some(sites) = o.sites.as_deref() {
        out.push_str("<Folder>");
        element(&mut out, "name", s.t("gis.sites"));
        out.push('\n');
        for k in 0..sites.solution.sites.len() {
            site_placemark(&mut out, s, sites, k);
        }
        out.push_str("</Folder>\n");
        w.write_all(out.as_bytes())?;
        out.clear();
    }

    let rank_of_zone: rustc_hash::FxHashMap<i32, u32> = zones.iter().map(|z| (z.id as i32, z.rank)).collect();
    // Field names of a household: its columns, then ours, renamed where the input took them.
    let fields = super::gpkg::unique_names(
        h.columns.iter().map(|c| c.name.as_str()).chain(["need", "critical", "cluster", "zone"]),
        &[],
    );
    if let Some(r) = o.hotspots.as_deref().filter(|_| with_spots) {
        for (sign, name) in [(1, s.t("gis.hot_spots")), (-1, s.t("gis.cold_spots"))] {
            out.push_str("<Folder>");
            element(&mut out, "name", name);
            out.push('\n');
            for i in (0..h.len()).filter(|&i| r.hot[i] == sign) {
                spot_placemark(&mut out, s, o, r, i);
                if out.len() > 1 << 20 {
                    w.write_all(out.as_bytes())?;
                    out.clear();
                }
            }
            out.push_str("</Folder>\n");
        }
        w.write_all(out.as_bytes())?;
        out.clear();
    }

    if with_households {
        out.push_str("<Folder>");
        element(&mut out, "name", s.t("gis.households_folder"));
        out.push('\n');
        for i in 0..h.len() {
            household_placemark(&mut out, s, o, &rank_of_zone, &fields, i);
            if out.len() > 1 << 20 {
                w.write_all(out.as_bytes())?;
                out.clear();
            }
        }
        out.push_str("</Folder>\n");
    }
    out.push_str("</Document>\n</kml>\n");
    w.write_all(out.as_bytes())
}

/// `<tag>escaped text</tag>`.
fn element(out: &mut String, tag: &str, value: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    push_text(out, value);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn icon_style(out: &mut String, id: &str, rgb: [u8; 3], scale: f64, href: &str) {
    out.push_str(&format!(
        "<Style id=\"{id}\"><IconStyle><color>{}</color><scale>{scale}</scale><Icon><href>{href}</href></Icon></IconStyle><LabelStyle><scale>0</scale></LabelStyle></Style>\n",
        kml_colour(0xff, rgb)
    ));
}

/// `<Data name="…"><value>…</value></Data>`; nothing for an empty value.
fn data(out: &mut String, name: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    out.push_str("<Data name=\"");
    push_attr(out, name);
    out.push_str("\"><value>");
    push_text(out, value);
    out.push_str("</value></Data>");
}

fn point(out: &mut String, lon: f64, lat: f64) {
    out.push_str(&format!("<Point><coordinates>{lon},{lat}</coordinates></Point>"));
}

fn zone_placemark(out: &mut String, s: Strings, z: &Zone) {
    out.push_str("<Placemark>");
    element(out, "name", &zone_name(z));
    element(out, "description", &html_table(&figures::zone_figures(s, z)));
    out.push_str(&format!("<styleUrl>#zone-{}</styleUrl><ExtendedData>", z.rank));
    if let serde_json::Value::Object(props) = zone_properties(z) {
        for (k, v) in props {
            let v = match v {
                serde_json::Value::Null => String::new(),
                v => v.to_string(),
            };
            data(out, &k, &v);
        }
    }
    out.push_str("</ExtendedData><Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing><coordinates>");
    for (k, &(lon, lat)) in z.ring.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{lon},{lat}"));
    }
    out.push_str("</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>\n");
}

fn site_placemark(out: &mut String, s: Strings, sites: &SitesResult, k: usize) {
    let site = &sites.solution.sites[k];
    let j = site.candidate;
    out.push_str("<Placemark>");
    element(out, "name", &figures::site_name(s, k + 1));
    element(out, "description", &html_table(&figures::site_figures(s, sites, k)));
    out.push_str("<styleUrl>#site</styleUrl><ExtendedData>");
    data(out, "site", &(k + 1).to_string());
    data(out, "candidate", &sites.candidates.id[j]);
    data(out, "covered_households", &site.covered_households.to_string());
    data(out, "covered_weight", &format!("{:.6}", site.covered_weight));
    data(out, "added_weight", &format!("{:.6}", site.added_weight));
    out.push_str("</ExtendedData>");
    point(out, sites.candidates.lon_deg[j], sites.candidates.lat_deg[j]);
    out.push_str("</Placemark>\n");
}

/// A household's name: its id, else its record number.
fn household_name(s: Strings, o: &Outcome, i: usize) -> String {
    let h = &o.imported.households;
    let id = h.id(i);
    if id.is_empty() { s.f("gis.household", &[("row", &h.row[i])]) } else { id.to_string() }
}

fn confidence(bin: i8) -> &'static str {
    match bin.unsigned_abs() {
        3 => "99 %",
        2 => "95 %",
        1 => "90 %",
        _ => "–",
    }
}

fn spot_placemark(out: &mut String, s: Strings, o: &Outcome, r: &HotspotResult, i: usize) {
    let h = &o.imported.households;
    let z = r.z[i].unwrap_or(f64::NAN);
    let p = r.p[i].unwrap_or(f64::NAN);
    out.push_str("<Placemark>");
    element(out, "name", &household_name(s, o, i));
    let kind = if r.hot[i] > 0 { s.t("gis.hot") } else { s.t("gis.cold") };
    // One line, not a table: there may be tens of thousands of these.
    let line = format!(
        "{kind}, {} · {} {z:.3} · {} {} · {} {}",
        confidence(r.bin[i]),
        s.t("gis.gi_z"),
        s.t("gis.p"),
        super::csv::fmt_p(p),
        s.t("gis.neighbours"),
        r.neighbours[i]
    );
    element(out, "description", &line);
    out.push_str(&format!("<styleUrl>#{}</styleUrl><ExtendedData>", bin_style(r.bin[i])));
    data(out, "row", &h.row[i].to_string());
    data(out, "id", h.id(i));
    data(out, "gi_z", &super::csv::fmt_z(z));
    data(out, "p", &super::csv::fmt_p(p));
    data(out, "hot", &r.hot[i].to_string());
    data(out, "bin", &r.bin[i].to_string());
    out.push_str("</ExtendedData>");
    point(out, h.lon_deg[i], h.lat_deg[i]);
    out.push_str("</Placemark>\n");
}

fn household_placemark(
    out: &mut String,
    s: Strings,
    o: &Outcome,
    rank_of_zone: &rustc_hash::FxHashMap<i32, u32>,
    fields: &[String],
    i: usize,
) {
    let h = &o.imported.households;
    let need = o.scored.need.score[i];
    let critical = o.scored.critical[i];
    let zone = o.zones.zone_of[i];
    out.push_str("<Placemark>");
    element(out, "name", &household_name(s, o, i));
    // One line, not a table (the columns are in ExtendedData): a file of 50,000 stays small.
    let line = format!(
        "{}: {} · {}: {} · {}: {}",
        s.t("gis.need"),
        if need.is_finite() { format!("{need:.3}") } else { s.t("gis.none").to_string() },
        s.t("gis.critical"),
        if critical { s.t("gis.yes") } else { s.t("gis.no") },
        s.t("gis.zone"),
        rank_of_zone.get(&zone).map_or_else(|| s.t("gis.none").to_string(), |r| format!("#{r}")),
    );
    element(out, "description", &line);
    out.push_str("<styleUrl>#");
    out.push_str(&need_style(need));
    out.push_str("</styleUrl><ExtendedData>");
    let n = h.columns.len();
    for c in 0..n {
        data(out, &fields[c], h.text(i, c));
    }
    data(out, &fields[n], &if need.is_finite() { format!("{need:.6}") } else { String::new() });
    data(out, &fields[n + 1], if critical { "true" } else { "false" });
    if o.clustered.candidates[i] {
        data(out, &fields[n + 2], &o.clustered.labels[i].to_string());
    }
    if zone >= 0 {
        data(out, &fields[n + 3], &zone.to_string());
    }
    out.push_str("</ExtendedData>");
    point(out, h.lon_deg[i], h.lat_deg[i]);
    out.push_str("</Placemark>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_colours_match_the_app_ramp() {
        // Rank 1 of any number: ColorBrewer Purples' darkest; last: its pale end.
        assert_eq!(zone_rgb(1, 10), [63, 0, 125]);
        assert_eq!(zone_rgb(10, 10), [158, 154, 200]);
        assert_eq!(zone_rgb(1, 1), [63, 0, 125]);
        // Halfway of 3 zones: (63+158)/2 = 110.5 → 111, 154/2 = 77, (125+200)/2 = 162.5 → 163.
        assert_eq!(zone_rgb(2, 3), [111, 77, 163]);
    }

    #[test]
    fn kml_colours_are_alpha_blue_green_red() {
        assert_eq!(kml_colour(0xff, [63, 0, 125]), "ff7d003f");
        assert_eq!(kml_colour(0x73, [0x12, 0x34, 0x56]), "73563412");
    }

    #[test]
    fn households_are_included_up_to_the_limit_unless_told() {
        assert!(KmlHouseholds::Auto.include(POINT_LIMIT));
        assert!(!KmlHouseholds::Auto.include(POINT_LIMIT + 1));
        assert!(KmlHouseholds::Always.include(1_000_000));
        assert!(!KmlHouseholds::Never.include(1));
    }

    #[test]
    fn need_styles_split_the_score_in_fifths() {
        assert_eq!(need_style(0.0), "need-0");
        assert_eq!(need_style(0.39), "need-1");
        assert_eq!(need_style(1.0), "need-4");
        assert_eq!(need_style(f64::NAN), "need-none");
    }
}
