//! Finding the coordinate, id and GPS-accuracy columns by name (and, for geopoint strings and
//! WKT, by the look of the values), unless the user named them.
//!
//! Order of preference for coordinates: the user's `lat_column`/`lon_column`; HXL tags
//! `#geo+lat`/`#geo+lon` under the header; KoboToolbox/ODK `_<q>_latitude`/`_<q>_longitude`
//! (a named question before `_geolocation`, which holds only the form's first geopoint);
//! plain names (`lat`, `latitude`, `latitud`, `y` / `lon`, `lng`, `long`, `longitude`,
//! `longitud`, `x`, and `<prefix>_lat`/`<prefix>_lon` pairs); a geopoint string column
//! (`"lat lon alt acc"` or `"[lat, lon]"`); a WKT `POINT(lon lat)` column.

use std::path::Path;

use super::{ImportError, ImportOptions, Rec, Role, validate};

/// Where a record's coordinates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum CoordSpec {
    Columns {
        lat: usize,
        lon: usize,
    },
    /// `"lat lon [alt [accuracy]]"` or `"[lat, lon]"` in one column.
    Geopoint {
        col: usize,
    },
    /// `POINT(lon lat)` in one column.
    Wkt {
        col: usize,
    },
    /// The feature geometry (GeoJSON).
    Geometry,
}

/// What detection decided, with the reasons worth telling the user.
#[derive(Debug, Clone)]
pub struct Detected {
    pub coords: CoordSpec,
    pub id: Option<usize>,
    pub accuracy: Option<usize>,
    pub accuracy_name: Option<String>,
    pub notes: Vec<String>,
}

impl Detected {
    pub fn role(&self, c: usize) -> Role {
        match self.coords {
            CoordSpec::Columns { lat, .. } if lat == c => return Role::Latitude,
            CoordSpec::Columns { lon, .. } if lon == c => return Role::Longitude,
            CoordSpec::Geopoint { col } if col == c => return Role::Geopoint,
            CoordSpec::Wkt { col } if col == c => return Role::Wkt,
            _ => {}
        }
        if self.id == Some(c) {
            Role::Id
        } else if self.accuracy == Some(c) {
            Role::Accuracy
        } else {
            Role::Attribute
        }
    }

    pub fn describe(&self, headers: &[String]) -> String {
        match self.coords {
            CoordSpec::Columns { lat, lon } => {
                format!("latitude from column {:?}, longitude from column {:?}", headers[lat], headers[lon])
            }
            CoordSpec::Geopoint { col } => {
                format!("geopoint strings (\"lat lon alt accuracy\") in column {:?}", headers[col])
            }
            CoordSpec::Wkt { col } => format!("WKT POINT(lon lat) in column {:?}", headers[col]),
            CoordSpec::Geometry => {
                "the point geometries (GeoJSON Point and MultiPoint features, GeoParquet points)".to_string()
            }
        }
    }
}

/// Lower case, with every run of characters other than letters and digits made one `_`
/// (a leading underscore is kept: Kobo's `_id` is not `id`).
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.trim().chars() {
        if ch.is_alphanumeric() {
            out.extend(ch.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    if out.len() > 1 && out.ends_with('_') {
        out.pop();
    }
    out
}

const LAT_NAMES: &[&str] = &["lat", "latitude", "latitud", "lat_deg", "latitude_deg", "gps_lat", "gps_latitude", "y"];
const LON_NAMES: &[&str] = &[
    "lon",
    "lng",
    "long",
    "longitude",
    "longitud",
    "lon_deg",
    "longitude_deg",
    "gps_lon",
    "gps_lng",
    "gps_longitude",
    "x",
];
const ID_NAMES: &[&str] = &[
    "household_id",
    "hh_id",
    "householdid",
    "id_hogar",
    "hogar_id",
    "codigo_hogar",
    "cod_hogar",
    "id_vivienda",
    "id",
    "_id",
    "_uuid",
    "uuid",
    "fid",
    "objectid",
    "gid",
];
const ACCURACY_NAMES: &[&str] = &[
    "accuracy",
    "precision",
    "gps_accuracy",
    "gps_precision",
    "accuracy_m",
    "horizontal_accuracy",
    "precision_m",
    "gps_accuracy_m",
];
const GEOPOINT_NAMES: &[&str] =
    &["_geolocation", "geolocation", "geopoint", "gps", "location", "ubicacion", "ubicación", "coordinates", "coords"];

fn find(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h == name)
        .or_else(|| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name.trim())))
}

fn list(headers: &[String]) -> String {
    let shown: Vec<String> = headers.iter().take(30).map(|h| format!("{h:?}")).collect();
    let more = if headers.len() > 30 { format!(" and {} more", headers.len() - 30) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Share of non-empty sample values in column `c` that satisfy `ok`; `None` with no values.
fn share(sample: &[Rec], c: usize, ok: impl Fn(&str) -> bool) -> Option<f64> {
    let vals: Vec<&str> = sample.iter().map(|r| r.get(c).trim()).filter(|v| !v.is_empty()).collect();
    if vals.is_empty() {
        return None;
    }
    Some(vals.iter().filter(|v| ok(v)).count() as f64 / vals.len() as f64)
}

pub(crate) fn detect(
    path: &Path,
    headers: &[String],
    hxl: Option<&[String]>,
    sample: &[Rec],
    opts: &ImportOptions,
    geojson: bool,
) -> Result<Detected, ImportError> {
    let norm: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    let mut notes = Vec::new();
    let mut kobo_q: Option<String> = None;

    let coords = match (&opts.lat_column, &opts.lon_column) {
        (Some(lat), Some(lon)) => {
            let missing =
                |n: &str| ImportError::file(path, format!("no column named {n:?}; the columns are {}", list(headers)));
            let lat_i = find(headers, lat).ok_or_else(|| missing(lat))?;
            let lon_i = find(headers, lon).ok_or_else(|| missing(lon))?;
            if lat_i == lon_i {
                if share(sample, lat_i, |v| validate::parse_wkt(v).is_some()).unwrap_or(0.0) >= 0.5 {
                    CoordSpec::Wkt { col: lat_i }
                } else {
                    CoordSpec::Geopoint { col: lat_i }
                }
            } else {
                CoordSpec::Columns { lat: lat_i, lon: lon_i }
            }
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ImportError::file(
                path,
                "give both the latitude and the longitude column (--lat-column and --lon-column)",
            ));
        }
        (None, None) if geojson => CoordSpec::Geometry,
        (None, None) => match auto_coords(headers, &norm, hxl, sample, &mut notes, &mut kobo_q) {
            Some(c) => c,
            None => {
                return Err(ImportError::file(
                    path,
                    format!(
                        "no coordinate columns found; the columns are {}. Name them with --lat-column and \
                         --lon-column (a column of \"lat lon\" geopoints or WKT POINT(lon lat) can be named in both)",
                        list(headers)
                    ),
                ));
            }
        },
    };

    let id = match &opts.id_column {
        Some(name) => Some(find(headers, name).ok_or_else(|| {
            ImportError::file(path, format!("no id column named {name:?}; the columns are {}", list(headers)))
        })?),
        None => ID_NAMES.iter().find_map(|n| norm.iter().position(|h| h == n)),
    };

    let mut accuracy = kobo_q.as_ref().and_then(|q| norm.iter().position(|h| *h == format!("_{q}_precision")));
    if accuracy.is_none() {
        accuracy = ACCURACY_NAMES.iter().find_map(|n| norm.iter().position(|h| h == n));
    }
    if accuracy.is_none() {
        accuracy = norm.iter().position(|h| {
            ["_precision", "_accuracy", "_precision_m", "_accuracy_m"].iter().any(|suffix| h.ends_with(suffix))
        });
    }
    let accuracy_name = match (accuracy, &coords) {
        (Some(c), _) => Some(headers[c].clone()),
        (None, CoordSpec::Geopoint { col }) => Some(format!("{} (4th value)", headers[*col])),
        _ => None,
    };
    Ok(Detected { coords, id, accuracy, accuracy_name, notes })
}

fn auto_coords(
    headers: &[String],
    norm: &[String],
    hxl: Option<&[String]>,
    sample: &[Rec],
    notes: &mut Vec<String>,
    kobo_q: &mut Option<String>,
) -> Option<CoordSpec> {
    // HXL hashtags are explicit: take them first.
    if let Some(tags) = hxl {
        let tag = |want: &str| {
            tags.iter().position(|t| {
                let t: String = t.to_ascii_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
                t.starts_with(want)
            })
        };
        if let (Some(lat), Some(lon)) = (tag("#geo+lat"), tag("#geo+lon")) {
            notes.push(format!(
                "coordinates from the HXL tags #geo+lat ({:?}) and #geo+lon ({:?}); the tag row is not a record",
                headers[lat], headers[lon]
            ));
            return Some(CoordSpec::Columns { lat, lon });
        }
    }
    // KoboToolbox / ODK: _<question>_latitude and _<question>_longitude.
    let mut kobo: Vec<(String, usize, usize)> = Vec::new();
    for (i, h) in norm.iter().enumerate() {
        if let Some(q) = h.strip_prefix('_').and_then(|h| h.strip_suffix("_latitude"))
            && let Some(j) = norm.iter().position(|g| *g == format!("_{q}_longitude"))
        {
            kobo.push((q.to_string(), i, j));
        }
    }
    kobo.sort_by_key(|(q, _, _)| q == "geolocation");
    if let Some((q, lat, lon)) = kobo.first() {
        let has_geoloc = norm.iter().any(|h| h == "_geolocation");
        if q != "geolocation" && (has_geoloc || kobo.len() > 1) {
            notes.push(format!(
                "coordinates from the geopoint question {q:?} (columns {:?}, {:?}), not from _geolocation, \
                 which holds only the form's first geopoint",
                headers[*lat], headers[*lon]
            ));
        }
        *kobo_q = Some(q.clone());
        return Some(CoordSpec::Columns { lat: *lat, lon: *lon });
    }
    // Plain names, in order of preference (x/y last: they may be projected metres).
    let pos = |names: &[&str]| names.iter().find_map(|n| norm.iter().position(|h| h == n));
    let plain = (pos(&LAT_NAMES[..LAT_NAMES.len() - 1]), pos(&LON_NAMES[..LON_NAMES.len() - 1]));
    if let (Some(lat), Some(lon)) = plain {
        return Some(CoordSpec::Columns { lat, lon });
    }
    if let (Some(lat), Some(lon)) = (pos(&["y"]), pos(&["x"])) {
        return Some(CoordSpec::Columns { lat, lon });
    }
    // <prefix>_lat / <prefix>_lon pairs.
    for (i, h) in norm.iter().enumerate() {
        for (ls, os) in [("_latitude", "_longitude"), ("_lat", "_lon"), ("_lat", "_lng"), ("_latitud", "_longitud")] {
            if let Some(p) = h.strip_suffix(ls)
                && let Some(j) = norm.iter().position(|g| *g == format!("{p}{os}"))
            {
                return Some(CoordSpec::Columns { lat: i, lon: j });
            }
        }
    }
    // One column holding both: geopoint strings, then WKT.
    let geopoint_ok = |c: usize| share(sample, c, |v| validate::parse_geopoint(v).is_some()).unwrap_or(0.0) >= 0.8;
    for n in GEOPOINT_NAMES {
        if let Some(c) = norm.iter().position(|h| h == n)
            && geopoint_ok(c)
        {
            return Some(CoordSpec::Geopoint { col: c });
        }
    }
    for c in 0..headers.len() {
        if share(sample, c, |v| validate::parse_wkt(v).is_some()).unwrap_or(0.0) >= 0.8 {
            return Some(CoordSpec::Wkt { col: c });
        }
    }
    (0..headers.len()).find(|&c| geopoint_ok(c)).map(|col| CoordSpec::Geopoint { col })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn rec(vals: &[&str]) -> Rec {
        let mut r = Rec::default();
        for v in vals {
            r.push(v);
        }
        r
    }

    fn det(h: &[&str], sample: &[Rec]) -> Detected {
        detect(Path::new("t.csv"), &hdr(h), None, sample, &ImportOptions::default(), false).unwrap()
    }

    #[test]
    fn normalise_keeps_leading_underscore_and_accents() {
        assert_eq!(normalise(" Household ID "), "household_id");
        assert_eq!(normalise("_id"), "_id");
        assert_eq!(normalise("Ubicación"), "ubicación");
    }

    #[test]
    fn plain_names_in_any_case() {
        let d = det(&["ID", "Latitude", "Longitude"], &[]);
        assert_eq!(d.coords, CoordSpec::Columns { lat: 1, lon: 2 });
        assert_eq!(d.id, Some(0));
        let d = det(&["lng", "lat"], &[]);
        assert_eq!(d.coords, CoordSpec::Columns { lat: 1, lon: 0 });
        let d = det(&["latitud", "longitud"], &[]);
        assert_eq!(d.coords, CoordSpec::Columns { lat: 0, lon: 1 });
    }

    #[test]
    fn kobo_named_question_beats_geolocation() {
        let d = det(
            &["_geolocation", "_ubicacion_latitude", "_ubicacion_longitude", "_ubicacion_precision", "_id", "_uuid"],
            &[],
        );
        assert_eq!(d.coords, CoordSpec::Columns { lat: 1, lon: 2 });
        assert_eq!(d.accuracy, Some(3));
        assert_eq!(d.id, Some(4));
        assert!(d.notes[0].contains("ubicacion"), "{:?}", d.notes);
    }

    #[test]
    fn hxl_tags_are_used() {
        let h = hdr(&["Name", "Lat (WGS84)", "Long (WGS84)"]);
        let tags = hdr(&["#loc+name", "#geo +lat", "#geo+lon"]);
        let d = detect(Path::new("t.csv"), &h, Some(&tags), &[], &ImportOptions::default(), false).unwrap();
        assert_eq!(d.coords, CoordSpec::Columns { lat: 1, lon: 2 });
    }

    #[test]
    fn geopoint_and_wkt_by_values() {
        let d = det(&["gps", "n"], &[rec(&["-12.05 -77.04 150 5", "1"]), rec(&["-12.06 -77.03 151 4", "2"])]);
        assert_eq!(d.coords, CoordSpec::Geopoint { col: 0 });
        assert_eq!(d.accuracy_name.as_deref(), Some("gps (4th value)"));
        let d = det(&["n", "geom"], &[rec(&["1", "POINT (-77.04 -12.05)"]), rec(&["2", "POINT(-77 -12)"])]);
        assert_eq!(d.coords, CoordSpec::Wkt { col: 1 });
    }

    #[test]
    fn no_coordinates_is_an_error_listing_columns() {
        let e = detect(Path::new("s.csv"), &hdr(&["a", "b"]), None, &[], &ImportOptions::default(), false)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.csv: no coordinate columns found; the columns are \"a\", \"b\""), "{e}");
    }

    #[test]
    fn user_names_override_and_must_exist() {
        let opts = ImportOptions { lat_column: Some("p".into()), lon_column: Some("q".into()), ..Default::default() };
        let d = detect(Path::new("t.csv"), &hdr(&["lat", "lon", "p", "q"]), None, &[], &opts, false).unwrap();
        assert_eq!(d.coords, CoordSpec::Columns { lat: 2, lon: 3 });
        let opts =
            ImportOptions { lat_column: Some("nope".into()), lon_column: Some("q".into()), ..Default::default() };
        let e = detect(Path::new("t.csv"), &hdr(&["q"]), None, &[], &opts, false).unwrap_err().to_string();
        assert!(e.contains("no column named \"nope\""), "{e}");
    }
}
