//! Checks on one record (coordinates present, numeric, in range, not (0, 0)) and on the
//! whole set (far outliers, probable lat/lon swaps, duplicate coordinates), plus the type
//! inference of attribute columns.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::columns::CoordSpec;
use super::{AccuracySummary, Cells, ColumnKind, Households, Issue, IssueKind, Rec};
use crate::sphere;

/// Why a text is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberProblem {
    NotANumber,
    DecimalComma,
}

/// Parses a number written with a decimal point. Empty → `Ok(None)`. A decimal comma
/// (`-12,05`) is an error of its own, so the message can say what to do: we never guess.
///
/// ```
/// use needmap::data::validate::{parse_number, NumberProblem};
/// assert_eq!(parse_number(" -12.05 "), Ok(Some(-12.05)));
/// assert_eq!(parse_number(""), Ok(None));
/// assert_eq!(parse_number("-12,05"), Err(NumberProblem::DecimalComma));
/// assert_eq!(parse_number("n/a"), Err(NumberProblem::NotANumber));
/// assert_eq!(parse_number("NaN"), Err(NumberProblem::NotANumber));
/// ```
pub fn parse_number(s: &str) -> Result<Option<f64>, NumberProblem> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err(NumberProblem::NotANumber),
        Err(_) => {
            let body = t.strip_prefix(['-', '+']).unwrap_or(t);
            let mut parts = body.split(',');
            let (a, b) = (parts.next().unwrap_or(""), parts.next());
            let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
            if parts.next().is_none() && digits(a) && b.is_some_and(digits) {
                Err(NumberProblem::DecimalComma)
            } else {
                Err(NumberProblem::NotANumber)
            }
        }
    }
}

/// `"lat lon [alt [accuracy]]"` (ODK/Kobo geopoint) or `"[lat, lon]"` / `"lat,lon"` →
/// `(lat, lon, accuracy)`.
pub fn parse_geopoint(s: &str) -> Option<(f64, f64, Option<f64>)> {
    let t = s.trim().trim_start_matches('[').trim_end_matches(']');
    let parts: Vec<&str> =
        if t.contains(',') { t.split(',').map(str::trim).collect() } else { t.split_whitespace().collect() };
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let nums: Vec<f64> =
        parts.iter().map(|p| p.parse::<f64>().ok().filter(|v| v.is_finite())).collect::<Option<_>>()?;
    Some((nums[0], nums[1], nums.get(3).copied()))
}

/// `POINT(lon lat)`, `POINT Z (lon lat z)`, `SRID=4326;POINT(lon lat)` → `(lon, lat)`.
pub fn parse_wkt(s: &str) -> Option<(f64, f64)> {
    let t = s.trim();
    let t = match t.find(';') {
        Some(i) if t[..i].to_ascii_uppercase().starts_with("SRID=") => &t[i + 1..],
        _ => t,
    };
    let upper = t.get(..5)?.to_ascii_uppercase();
    if upper != "POINT" {
        return None;
    }
    let open = t.find('(')?;
    let close = t.rfind(')')?;
    let mut it = t.get(open + 1..close)?.split_whitespace().map(|p| p.parse::<f64>().ok());
    let lon = it.next()??;
    let lat = it.next()??;
    (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
}

type RowProblem = (IssueKind, Option<usize>, String);

/// The coordinates of one record, or why it has none.
pub(crate) fn coordinates(spec: &CoordSpec, rec: &Rec) -> Result<(f64, f64, Option<f64>), RowProblem> {
    match *spec {
        CoordSpec::Columns { lat, lon } => {
            let lat_v = number_field(rec.get(lat), "latitude", lat)?;
            let lon_v = number_field(rec.get(lon), "longitude", lon)?;
            match (lat_v, lon_v) {
                (Some(a), Some(o)) => {
                    check_lat_lon(a, o).map_err(|(k, m)| {
                        let col = if k == IssueKind::LongitudeOutOfRange { lon } else { lat };
                        (k, Some(col), m)
                    })?;
                    Ok((a, o, None))
                }
                (None, _) => Err((IssueKind::MissingCoordinate, Some(lat), "latitude is missing".into())),
                (_, None) => Err((IssueKind::MissingCoordinate, Some(lon), "longitude is missing".into())),
            }
        }
        CoordSpec::Geopoint { col } => {
            let v = rec.get(col).trim();
            if v.is_empty() {
                return Err((IssueKind::MissingCoordinate, Some(col), "geopoint is missing".into()));
            }
            let (lat, lon, acc) = parse_geopoint(v).ok_or_else(|| {
                (IssueKind::NotANumber, Some(col), format!("geopoint {v:?} is not \"lat lon [alt accuracy]\""))
            })?;
            check_lat_lon(lat, lon).map_err(|(k, m)| (k, Some(col), m))?;
            Ok((lat, lon, acc))
        }
        CoordSpec::Wkt { col } => {
            let v = rec.get(col).trim();
            if v.is_empty() {
                return Err((IssueKind::MissingCoordinate, Some(col), "point is missing".into()));
            }
            let (lon, lat) = parse_wkt(v)
                .ok_or_else(|| (IssueKind::NotANumber, Some(col), format!("{v:?} is not a WKT POINT(lon lat)")))?;
            check_lat_lon(lat, lon).map_err(|(k, m)| (k, Some(col), m))?;
            Ok((lat, lon, None))
        }
        CoordSpec::Geometry => Err((IssueKind::MissingGeometry, None, "feature has no geometry".into())),
    }
}

fn number_field(text: &str, what: &str, col: usize) -> Result<Option<f64>, RowProblem> {
    parse_number(text).map_err(|p| match p {
        NumberProblem::DecimalComma => (
            IssueKind::DecimalComma,
            Some(col),
            format!(
                "{what} {:?} has a decimal comma; write it with a decimal point ({:?})",
                text.trim(),
                text.trim().replace(',', ".")
            ),
        ),
        NumberProblem::NotANumber => {
            (IssueKind::NotANumber, Some(col), format!("{what} {:?} is not a number", text.trim()))
        }
    })
}

/// Range checks, with a hint when the values look swapped or projected.
pub fn check_lat_lon(lat: f64, lon: f64) -> Result<(), (IssueKind, String)> {
    let projected = lat.abs() > 1000.0 || lon.abs() > 1000.0;
    let hint = if projected {
        "; this looks like projected metres (UTM?): needmap needs WGS 84 longitude/latitude in degrees"
    } else {
        ""
    };
    if !(-90.0..=90.0).contains(&lat) {
        let swap = if !projected && (-90.0..=90.0).contains(&lon) && lat.abs() <= 180.0 {
            "; are latitude and longitude swapped?"
        } else {
            hint
        };
        return Err((IssueKind::LatitudeOutOfRange, format!("latitude {lat} is outside [-90, 90]{swap}")));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err((IssueKind::LongitudeOutOfRange, format!("longitude {lon} is outside [-180, 180]{hint}")));
    }
    if lat == 0.0 && lon == 0.0 {
        return Err((IssueKind::ZeroZero, "coordinates are exactly (0, 0), a GPS default, not a place".into()));
    }
    Ok(())
}

/// The type of a kept column over all households: `(kind, non-empty count, distinct count)`.
pub(crate) fn infer_kind(cells: &Cells, col: usize, n: usize) -> (ColumnKind, usize, usize) {
    let mut non_empty = 0usize;
    let mut not_numbers = 0usize;
    let mut boolean = true;
    let mut distinct: FxHashMap<&str, ()> = FxHashMap::default();
    for i in 0..n {
        let v = cells.get(i, col).trim();
        if v.is_empty() {
            continue;
        }
        non_empty += 1;
        if boolean && parse_bool(v).is_none() {
            boolean = false;
        }
        if !matches!(parse_number(v), Ok(Some(_))) {
            not_numbers += 1;
        }
        if distinct.len() <= 1000 {
            distinct.insert(v, ());
        }
    }
    let d = distinct.len();
    // A column of numbers with a stray bad cell (a typo, a decimal comma) is still numeric:
    // the bad cells read as missing and the need index reports them.
    let numeric = not_numbers == 0 || (not_numbers * 100 <= non_empty && not_numbers < non_empty);
    let kind = if non_empty == 0 {
        ColumnKind::Empty
    } else if boolean {
        ColumnKind::Bool
    } else if numeric {
        ColumnKind::Number
    } else if d <= 50 && (d * 5 <= non_empty || non_empty < 20) {
        ColumnKind::Category
    } else {
        ColumnKind::Text
    };
    (kind, non_empty, d)
}

/// Yes/no in English and Spanish, true/false and 1/0.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" | "si" | "sí" | "s" | "verdadero" => Some(true),
        "no" | "n" | "false" | "f" | "0" | "falso" => Some(false),
        _ => None,
    }
}

/// Flags that need the whole set: far outliers and probable swaps (relative to the data's
/// centre and spread), and coordinates shared with an earlier household.
pub(crate) fn whole_set_flags(h: &Households, _path: &Path, flags: &mut Vec<Issue>, notes: &mut Vec<String>) {
    let n = h.len();
    if n == 0 {
        return;
    }
    let lat_col = h.columns.iter().position(|c| c.role == super::Role::Latitude).map(|c| h.columns[c].number);
    let issue = |i: usize, kind, message: String| Issue {
        kind,
        row: h.row[i],
        line: (h.line[i] > 0).then_some(h.line[i]),
        column: lat_col,
        column_name: None,
        id: Some(h.id(i).to_string()).filter(|s| !s.is_empty()),
        message,
    };
    // Duplicate coordinates.
    let mut seen: FxHashMap<(u64, u64), u32> = FxHashMap::with_capacity_and_hasher(n, Default::default());
    let mut dup = 0usize;
    for i in 0..n {
        let key = (h.lat_deg[i].to_bits(), h.lon_deg[i].to_bits());
        match seen.get(&key) {
            Some(&first) => {
                dup += 1;
                let at = match h.line[first as usize] {
                    0 => format!("feature {}", h.row[first as usize]),
                    l => format!("line {l}"),
                };
                flags.push(issue(
                    i,
                    IssueKind::DuplicateCoordinates,
                    format!("same coordinates as {at} (kept: an apartment block?)"),
                ));
            }
            None => {
                seen.insert(key, i as u32);
            }
        }
    }
    drop(seen);
    if dup > 0 {
        notes.push(format!("{dup} households share their exact coordinates with an earlier one; all are kept"));
    }
    if n < 10 {
        return;
    }
    // Centre: median latitude and median longitude direction (robust to a few wild points).
    let mut lats = h.lat_deg.clone();
    let mid = n / 2;
    let lat_c = *lats.select_nth_unstable_by(mid, f64::total_cmp).1;
    drop(lats);
    // The mean direction of at most ~20,000 households, evenly spaced in the file, is as
    // good a centre for this test as that of all of them, at a fraction of the cost.
    let lon_c = {
        let step = (n / 20_000).max(1);
        let sample = (0..n).step_by(step).map(|i| sphere::xyz_from_lonlat(h.lon_deg[i], h.lat_deg[i]));
        sphere::centre_lonlat(sample).map_or(h.lon_deg[0], |c| c.0)
    };
    let dist: Vec<f64> = {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(|i| sphere::distance_m(lon_c, lat_c, h.lon_deg[i], h.lat_deg[i])).collect()
    };
    let mut sorted = dist.clone();
    let p50 = *sorted.select_nth_unstable_by(mid, f64::total_cmp).1;
    let threshold = (20.0 * p50).max(50_000.0);
    for i in 0..n {
        if dist[i] <= threshold {
            continue;
        }
        let (lat, lon) = (h.lat_deg[i], h.lon_deg[i]);
        let swapped = (-90.0..=90.0).contains(&lon) && sphere::distance_m(lon_c, lat_c, lat, lon) <= threshold;
        if swapped {
            flags.push(issue(
                i,
                IssueKind::ProbableSwap,
                format!(
                    "({lat}, {lon}) is {:.0} km from the rest; with latitude and longitude swapped it falls among them",
                    dist[i] / 1000.0
                ),
            ));
        } else {
            flags.push(issue(
                i,
                IssueKind::FarOutlier,
                format!(
                    "{:.0} km from the centre of the data (most households are within {:.0} km); kept",
                    dist[i] / 1000.0,
                    p50 / 1000.0
                ),
            ));
        }
    }
}

pub(crate) fn accuracy_summary(name: &str, acc: &[f32], cutoff: Option<f64>) -> Option<AccuracySummary> {
    // Stored as f32: round to centimetres so the report shows 14.2, not 14.199999809.
    let mut v: Vec<f64> = acc.iter().filter(|a| a.is_finite()).map(|&a| (a as f64 * 100.0).round() / 100.0).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Some(AccuracySummary {
        column: name.to_string(),
        households_with_value: v.len(),
        min_m: v[0],
        median_m: q(0.5),
        p90_m: q(0.9),
        max_m: v[v.len() - 1],
        cutoff_m: cutoff,
        over_cutoff: cutoff.map_or(0, |c| v.iter().filter(|&&a| a > c).count()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geopoint_forms() {
        assert_eq!(parse_geopoint("-12.05 -77.04 150.0 4.5"), Some((-12.05, -77.04, Some(4.5))));
        assert_eq!(parse_geopoint("[-12.05, -77.04]"), Some((-12.05, -77.04, None)));
        assert_eq!(parse_geopoint("-12.05"), None);
        assert_eq!(parse_geopoint("abc def"), None);
    }

    #[test]
    fn wkt_forms() {
        assert_eq!(parse_wkt("POINT(-77.04 -12.05)"), Some((-77.04, -12.05)));
        assert_eq!(parse_wkt("point z (-77 -12 100)"), Some((-77.0, -12.0)));
        assert_eq!(parse_wkt("SRID=4326;POINT (1 2)"), Some((1.0, 2.0)));
        assert_eq!(parse_wkt("LINESTRING(1 2, 3 4)"), None);
    }

    #[test]
    fn range_checks_with_hints() {
        assert!(check_lat_lon(-12.0, -77.0).is_ok());
        let (k, m) = check_lat_lon(-77.0, -12.0).map(|_| (IssueKind::ZeroZero, String::new())).unwrap_or_else(|e| e);
        // -77 is a valid latitude: accepted here, the whole-set pass flags the swap.
        assert_eq!((k, m.as_str()), (IssueKind::ZeroZero, ""));
        let (k, m) = check_lat_lon(123.4, -177.0).unwrap_err();
        assert_eq!(k, IssueKind::LatitudeOutOfRange);
        assert_eq!(m, "latitude 123.4 is outside [-90, 90]");
        let (k, m) = check_lat_lon(-120.5, -12.0).unwrap_err();
        assert_eq!(k, IssueKind::LatitudeOutOfRange);
        assert!(m.ends_with("are latitude and longitude swapped?"), "{m}");
        let (_, m) = check_lat_lon(8_660_000.0, 280_000.0).unwrap_err();
        assert!(m.contains("projected metres"), "{m}");
        assert_eq!(check_lat_lon(0.0, 0.0).unwrap_err().0, IssueKind::ZeroZero);
        assert_eq!(check_lat_lon(0.0, 181.0).unwrap_err().0, IssueKind::LongitudeOutOfRange);
    }

    #[test]
    fn bools_in_two_languages() {
        assert_eq!(parse_bool("Sí"), Some(true));
        assert_eq!(parse_bool("no"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
