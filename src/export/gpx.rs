//! `zones.gpx` (GPX 1.1): waypoints for GPS units and phone apps that navigate to a point —
//! one per zone centre, named `#<rank>`, and one per build site, named `Site <n>` (in the
//! run's language), each with its figures as plain text in `desc`. Zones come in rank order,
//! then sites in the order chosen. Text is escaped as [`super::xml`] says.

use std::io::{self, Write};

use crate::analysis::SitesResult;
use crate::i18n::Strings;
use crate::zones::Zone;

use super::figures::{self, plain, zone_name};
use super::xml::push_text;

struct Waypoint {
    lat: f64,
    lon: f64,
    name: String,
    desc: String,
    sym: &'static str,
    kind: &'static str,
}

/// Writes `zones.gpx`: zone centres, then sites; `title` names the survey.
pub fn zones_gpx(
    w: &mut impl Write,
    zones: &[Zone],
    sites: Option<&SitesResult>,
    s: Strings,
    title: &str,
) -> io::Result<()> {
    let mut wpts: Vec<Waypoint> = zones
        .iter()
        .map(|z| Waypoint {
            lat: z.centre.1,
            lon: z.centre.0,
            name: zone_name(z),
            desc: plain(&figures::zone_figures(s, z)),
            sym: "Waypoint",
            kind: "zone",
        })
        .collect();
    if let Some(st) = sites {
        for (k, site) in st.solution.sites.iter().enumerate() {
            let j = site.candidate;
            wpts.push(Waypoint {
                lat: st.candidates.lat_deg[j],
                lon: st.candidates.lon_deg[j],
                name: figures::site_name(s, k + 1),
                desc: plain(&figures::site_figures(s, st, k)),
                sym: "Flag, Blue",
                kind: "site",
            });
        }
    }
    let mut out = String::with_capacity(256 + wpts.len() * 400);
    out.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<gpx version=\"1.1\" creator=\"needmap ",
        env!("CARGO_PKG_VERSION"),
        "\" xmlns=\"http://www.topografix.com/GPX/1/1\" ",
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ",
        "xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd\">\n",
        "<metadata><name>"
    ));
    push_text(&mut out, &s.f("gis.document", &[("file", &title)]));
    out.push_str("</name>");
    if !wpts.is_empty() {
        let (mut minlat, mut minlon, mut maxlat, mut maxlon) = (90f64, 180f64, -90f64, -180f64);
        for p in &wpts {
            minlat = minlat.min(p.lat);
            maxlat = maxlat.max(p.lat);
            minlon = minlon.min(p.lon);
            maxlon = maxlon.max(p.lon);
        }
        out.push_str(&format!(
            "<bounds minlat=\"{minlat}\" minlon=\"{minlon}\" maxlat=\"{maxlat}\" maxlon=\"{maxlon}\"/>"
        ));
    }
    out.push_str("</metadata>\n");
    for p in &wpts {
        out.push_str(&format!("<wpt lat=\"{}\" lon=\"{}\"><name>", p.lat, p.lon));
        push_text(&mut out, &p.name);
        out.push_str("</name><desc>");
        push_text(&mut out, &p.desc);
        out.push_str(&format!("</desc><sym>{}</sym><type>{}</type></wpt>\n", p.sym, p.kind));
    }
    out.push_str("</gpx>\n");
    w.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn zone(rank: u32, lon: f64, lat: f64) -> Zone {
        Zone {
            id: rank - 1,
            rank,
            ring: vec![(lon, lat), (lon + 0.001, lat), (lon, lat + 0.001), (lon, lat)],
            centre: (lon, lat),
            members: 5,
            households: 7,
            people: Some(30.0),
            critical: 5,
            critical_share: 5.0 / 7.0,
            mean_need: 0.5,
            total_need: 3.5,
            area_m2: 6000.0,
            density_per_km2: 1166.7,
        }
    }

    #[test]
    fn one_waypoint_per_zone_centre_in_rank_order() {
        let mut out = Vec::new();
        let zones = [zone(1, -77.05, -12.05), zone(2, -77.0, -12.0)];
        zones_gpx(&mut out, &zones, None, Strings::new(Lang::En), "a<b>.csv").unwrap();
        let gpx = String::from_utf8(out).unwrap();
        assert!(gpx.contains("<name>needmap: a&lt;b&gt;.csv</name>"), "{gpx}");
        assert!(gpx.contains("<bounds minlat=\"-12.05\" minlon=\"-77.05\" maxlat=\"-12\" maxlon=\"-77\"/>"), "{gpx}");
        assert!(
            gpx.contains("<wpt lat=\"-12.05\" lon=\"-77.05\"><name>#1</name><desc>Rank: 1\nHouseholds: 7\n"),
            "{gpx}"
        );
        assert_eq!(gpx.matches("<wpt ").count(), 2);
        assert!(gpx.find("<name>#1</name>") < gpx.find("<name>#2</name>"));
    }

    #[test]
    fn labels_follow_the_language() {
        let mut out = Vec::new();
        zones_gpx(&mut out, &[zone(1, -77.0, -12.0)], None, Strings::new(Lang::Es), "s.csv").unwrap();
        let gpx = String::from_utf8(out).unwrap();
        assert!(gpx.contains("<desc>Prioridad: 1\nHogares: 7\nPersonas: 30\n"), "{gpx}");
    }
}
