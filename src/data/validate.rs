//! Checks on one record (coordinates present, numeric, in range, not (0, 0)) and on the
//! whole set (far outliers, probable lat/lon swaps, duplicate coordinates), plus the type
//! inference of attribute columns.

use std::hash::{BuildHasher as _, Hash};
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::columns::CoordSpec;
use super::{AccuracySummary, Cells, ColumnKind, Fields, Households, Issue, IssueKind};
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
    if let Some(v) = parse_plain_decimal(t.as_bytes()) {
        return Ok(Some(v));
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

/// [`parse_number`], and when `decimal_comma` (a `;`-delimited file, as Excel writes where
/// the comma is the decimal mark) a decimal comma reads as a decimal point.
pub fn parse_number_in(s: &str, decimal_comma: bool) -> Result<Option<f64>, NumberProblem> {
    match parse_number(s) {
        Err(NumberProblem::DecimalComma) if decimal_comma => Ok(s.trim().replace(',', ".").parse::<f64>().ok()),
        r => r,
    }
}

/// A number written with leading zeros (`00501`, `007`): a code (postal, district, phone),
/// which must stay text so no output drops the zeros.
pub fn is_zero_padded_code(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() > 1 && b[0] == b'0' && b.iter().all(u8::is_ascii_digit)
}

/// Powers of ten that are exact in an `f64`.
const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The common case of [`parse_number`], fast and exact: `[+-]digits[.digits]` with at most
/// 15 digits. The digits make an integer below 2⁵³ and the divisor a power of ten below
/// 10¹⁶, both exact in an `f64`, so the one division is correctly rounded: the same value
/// as `str::parse` (Clinger's fast path). Anything else is `None`, for the general parser.
#[inline]
fn parse_plain_decimal(s: &[u8]) -> Option<f64> {
    let (negative, body) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || body.len() > 16 {
        return None;
    }
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut point: Option<usize> = None;
    for (k, &c) in body.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
            }
            b'.' if point.is_none() => point = Some(k),
            _ => return None,
        }
    }
    if digits == 0 || digits > 15 {
        return None;
    }
    let decimals = point.map_or(0, |k| body.len() - k - 1);
    let v = mantissa as f64 / POW10[decimals];
    Some(if negative { -v } else { v })
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
pub(crate) fn coordinates(
    spec: &CoordSpec,
    rec: &impl Fields,
    decimal_comma: bool,
) -> Result<(f64, f64, Option<f64>), RowProblem> {
    match *spec {
        CoordSpec::Columns { lat, lon } => {
            let lat_v = number_field(rec.field(lat), "latitude", lat, decimal_comma)?;
            let lon_v = number_field(rec.field(lon), "longitude", lon, decimal_comma)?;
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
            let v = rec.field(col).trim();
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
            let v = rec.field(col).trim();
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

fn number_field(text: &str, what: &str, col: usize, decimal_comma: bool) -> Result<Option<f64>, RowProblem> {
    parse_number_in(text, decimal_comma).map_err(|p| match p {
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

/// Distinct values are counted up to this many (enough to tell a category from text).
pub(crate) const DISTINCT_CAP: usize = 1001;

/// The type of a kept column over all households: `(kind, non-empty count, distinct count)`.
/// Distinct values are counted up to [`DISTINCT_CAP`].
pub(crate) fn infer_kind(cells: &Cells, col: usize, n: usize) -> (ColumnKind, usize, usize) {
    const CAP: usize = DISTINCT_CAP;
    struct Tally<'a> {
        non_empty: usize,
        not_numbers: usize,
        codes: usize,
        boolean: bool,
        distinct: FxHashMap<&'a str, ()>,
    }
    let tally = |range: std::ops::Range<usize>| {
        let mut t = Tally { non_empty: 0, not_numbers: 0, codes: 0, boolean: true, distinct: FxHashMap::default() };
        for i in range {
            let v = cells.get(i, col).trim();
            if v.is_empty() {
                continue;
            }
            t.non_empty += 1;
            if t.boolean && parse_bool(v).is_none() {
                t.boolean = false;
            }
            if !matches!(parse_number(v), Ok(Some(_))) {
                t.not_numbers += 1;
            } else if is_zero_padded_code(v) {
                t.codes += 1;
            }
            if t.distinct.len() < CAP {
                t.distinct.insert(v, ());
            }
        }
        t
    };
    // Chunks in parallel; the tallies add up (a chunk that reached the cap makes the whole
    // column reach it).
    let chunk = 64 * 1024;
    let parts: Vec<Tally> =
        (0..n.div_ceil(chunk)).into_par_iter().map(|c| tally(c * chunk..((c + 1) * chunk).min(n))).collect();
    let mut all = Tally { non_empty: 0, not_numbers: 0, codes: 0, boolean: true, distinct: FxHashMap::default() };
    for t in parts {
        all.non_empty += t.non_empty;
        all.not_numbers += t.not_numbers;
        all.codes += t.codes;
        all.boolean &= t.boolean;
        for (v, ()) in t.distinct {
            if all.distinct.len() >= CAP {
                break;
            }
            all.distinct.insert(v, ());
        }
    }
    let (non_empty, not_numbers, boolean) = (all.non_empty, all.not_numbers, all.boolean);
    let d = all.distinct.len();
    (kind_of(non_empty, not_numbers, all.codes, boolean, d), non_empty, d)
}

/// A column's type from its tally: non-empty values, those that are not numbers, numbers
/// written with leading zeros, whether all are yes/no, distinct values (up to [`DISTINCT_CAP`]).
pub(crate) fn kind_of(non_empty: usize, not_numbers: usize, codes: usize, boolean: bool, d: usize) -> ColumnKind {
    // A column of numbers with a stray bad cell (a typo, a decimal comma) is still numeric:
    // the bad cells read as missing and the need index reports them.
    // Zero-padded values are codes: the column is text (or a category), whatever else it holds.
    let numeric = codes == 0 && (not_numbers == 0 || (not_numbers * 100 <= non_empty && not_numbers < non_empty));
    if non_empty == 0 {
        ColumnKind::Empty
    } else if boolean {
        ColumnKind::Bool
    } else if numeric {
        ColumnKind::Number
    } else if d <= 50 && (d * 5 <= non_empty || non_empty < 20) {
        ColumnKind::Category
    } else {
        ColumnKind::Text
    }
}

/// Yes/no in English and Spanish, true/false and 1/0.
pub fn parse_bool(v: &str) -> Option<bool> {
    let v = v.trim();
    // The longest word is 9 bytes, and their letters' capitals are as long as they are.
    if v.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    let lower = if v.is_ascii() {
        buf[..v.len()].copy_from_slice(v.as_bytes());
        buf[..v.len()].make_ascii_lowercase();
        std::str::from_utf8(&buf[..v.len()]).ok()?
    } else {
        return parse_bool_words(&v.to_lowercase());
    };
    parse_bool_words(lower)
}

fn parse_bool_words(lower: &str) -> Option<bool> {
    match lower {
        "yes" | "y" | "true" | "t" | "1" | "si" | "sí" | "s" | "verdadero" => Some(true),
        "no" | "n" | "false" | "f" | "0" | "falso" => Some(false),
        _ => None,
    }
}

/// Where a record is, for a message about a later one: its line, or where a format has no
/// lines its row (Parquet, a database table) or feature (GeoJSON).
pub(crate) fn place(format: Option<&super::Format>, line: u32, row: u32) -> String {
    match line {
        0 if matches!(
            format,
            Some(super::Format::Parquet { .. } | super::Format::Postgis { .. } | super::Format::Arrow { .. })
        ) =>
        {
            format!("row {row}")
        }
        0 => format!("feature {row}"),
        l => format!("line {l}"),
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
        key: None,
        message,
    };
    // Duplicate coordinates.
    let earlier = first_earlier(n, |i| Some((h.lat_deg[i].to_bits(), h.lon_deg[i].to_bits())));
    let dup = earlier.len();
    for (i, first) in earlier {
        let at = place(h.format.as_ref(), h.line[first as usize], h.row[first as usize]);
        flags.push(issue(
            i as usize,
            IssueKind::DuplicateCoordinates,
            format!("same coordinates as {at} (kept: an apartment block?)"),
        ));
    }
    if dup > 0 {
        notes.push(format!("{dup} households share their exact coordinates with an earlier one; all are kept"));
    }
    if n < 10 {
        return;
    }
    // Centre: median latitude and median longitude direction (robust to a few wild points).
    let lat_c = median(&h.lat_deg);
    // The mean direction of at most ~20,000 households, evenly spaced in the file, is as
    // good a centre for this test as that of all of them, at a fraction of the cost.
    let lon_c = {
        let step = (n / 20_000).max(1);
        let sample = (0..n).step_by(step).map(|i| sphere::xyz_from_lonlat(h.lon_deg[i], h.lat_deg[i]));
        sphere::centre_lonlat(sample).map_or(h.lon_deg[0], |c| c.0)
    };
    // Distances from the centre as [`sphere::distance_m`] computes them, in two steps: the
    // haversine term for every household, then metres for the median and the few far ones
    // (metres grow with the term, so the median term gives the median distance).
    let (phi_c, cos_c) = (lat_c.to_radians(), lat_c.to_radians().cos());
    let term = |i: usize| {
        let phi = h.lat_deg[i].to_radians();
        let dphi = phi - phi_c;
        let dlambda = (h.lon_deg[i] - lon_c).to_radians();
        (dphi / 2.0).sin().powi(2) + cos_c * phi.cos() * (dlambda / 2.0).sin().powi(2)
    };
    let metres = |t: f64| 2.0 * sphere::EARTH_RADIUS_M * t.sqrt().min(1.0).asin();
    let terms: Vec<f64> = (0..n).into_par_iter().map(term).collect();
    let p50 = metres(median(&terms));
    let threshold = (20.0 * p50).max(50_000.0);
    // Below this term a household is surely within the threshold, rounding included.
    let surely_within = (threshold / (2.0 * sphere::EARTH_RADIUS_M)).sin().powi(2) * (1.0 - 1e-9);
    let far: Vec<(usize, f64)> =
        terms.par_iter().enumerate().filter(|&(_, &t)| t >= surely_within).map(|(i, &t)| (i, metres(t))).collect();
    drop(terms);
    debug_assert!(far.iter().all(|&(i, d)| d == sphere::distance_m(lon_c, lat_c, h.lon_deg[i], h.lat_deg[i])));
    for (i, d) in far {
        if d <= threshold {
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
                    d / 1000.0
                ),
            ));
        } else {
            flags.push(issue(
                i,
                IssueKind::FarOutlier,
                format!(
                    "{:.0} km from the centre of the data (most households are within {:.0} km); kept",
                    d / 1000.0,
                    p50 / 1000.0
                ),
            ));
        }
    }
}

/// For every item `i` whose key an earlier item has: `(i, first)`, `first` being the first
/// item with that key; in order of `i`. Items without a key (`None`) take no part.
///
/// The same pairs as one scan in input order with a hash map, found in parallel: chunks of
/// the input deal their keys into buckets by hash; each bucket is then scanned in input
/// order (chunk by chunk) with a map small enough to stay in cache.
pub(crate) fn first_earlier<K>(n: usize, key: impl Fn(usize) -> Option<K> + Sync) -> Vec<(u32, u32)>
where
    K: Hash + Eq + Copy + Send + Sync,
{
    const CHUNK: usize = 1 << 16;
    let hasher = FxBuildHasher;
    let bits = (n / 4096).max(1).ilog2().min(10);
    let n_buckets = 1usize << bits;
    let bucket_of = |k: &K| {
        let x = hasher.hash_one(k);
        let x = (x ^ (x >> 31)).wrapping_mul(0x94d0_49bb_1331_11eb);
        if bits == 0 { 0 } else { ((x ^ (x >> 29)) >> (64 - bits)) as usize }
    };
    let dealt: Vec<Vec<Vec<(K, u32)>>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(n);
            let room = range.len() / n_buckets + range.len() / (4 * n_buckets) + 8;
            let mut buckets: Vec<Vec<(K, u32)>> = (0..n_buckets).map(|_| Vec::with_capacity(room)).collect();
            for i in range {
                if let Some(k) = key(i) {
                    buckets[bucket_of(&k)].push((k, i as u32));
                }
            }
            buckets
        })
        .collect();
    let mut pairs: Vec<(u32, u32)> = (0..n_buckets)
        .into_par_iter()
        .map_init(FxHashMap::<K, u32>::default, |seen, b| {
            seen.clear();
            let mut found = Vec::new();
            for chunk in &dealt {
                for &(k, i) in &chunk[b] {
                    match seen.entry(k) {
                        std::collections::hash_map::Entry::Occupied(e) => found.push((i, *e.get())),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(i);
                        }
                    }
                }
            }
            found
        })
        .flatten_iter()
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The element of rank `values.len() / 2` in `f64::total_cmp` order, as
/// `select_nth_unstable_by` finds it, without copying or reordering the values: a sorted
/// sample brackets the median, one parallel pass counts what lies below the bracket and
/// collects what lies in it, and the median is selected among those few. (When the sample
/// misleads, it falls back to selecting in a copy.)
pub(crate) fn median(values: &[f64]) -> f64 {
    let n = values.len();
    assert!(n > 0, "the median of nothing");
    let mid = n / 2;
    let fallback = || {
        let mut v = values.to_vec();
        *v.select_nth_unstable_by(mid, f64::total_cmp).1
    };
    if n < 100_000 {
        return fallback();
    }
    let step = n / 16_384;
    let mut sample: Vec<f64> = values.iter().step_by(step).copied().collect();
    sample.sort_unstable_by(f64::total_cmp);
    let m = sample.len();
    // ±2.5 % of ranks around the middle: six standard errors of the sample's median.
    let (lo, hi) = (sample[m * 475 / 1000], sample[m * 525 / 1000]);
    let (below, mut band) = values
        .par_chunks(64 * 1024)
        .map(|c| {
            let mut below = 0usize;
            let mut band = Vec::new();
            for &v in c {
                if v.total_cmp(&lo).is_lt() {
                    below += 1;
                } else if v.total_cmp(&hi).is_le() {
                    band.push(v);
                }
            }
            (below, band)
        })
        .reduce(
            || (0, Vec::new()),
            |mut a, b| {
                a.0 += b.0;
                a.1.extend(b.1);
                a
            },
        );
    if mid < below || mid >= below + band.len() {
        return fallback();
    }
    *band.select_nth_unstable_by(mid - below, f64::total_cmp).1
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
    fn plain_decimals_parse_exactly_as_the_standard_parser() {
        let cases = [
            "-12.267722",
            "-76.710383",
            "0",
            "-0",
            "+5",
            "5.",
            ".5",
            "123456789012345",
            "1234567890.12345",
            "0.000000000000001",
            "9007199254740993",
            "1234567890123456",
            "00000000000000001",
            "1.5e3",
            "1,5",
            "-",
            ".",
            "1.2.3",
            "",
            "+-1",
            "-.5",
            "999999999999999.9",
        ];
        for c in cases {
            let fast = parse_plain_decimal(c.as_bytes());
            match (fast, c.parse::<f64>()) {
                (Some(a), Ok(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{c}"),
                (Some(a), Err(_)) => panic!("{c}: fast {a}, std refuses"),
                (None, _) => {}
            }
        }
        assert_eq!(parse_plain_decimal(b"-12.267722"), Some(-12.267722));
        // Random decimals of every length and precision agree to the bit.
        let mut x: u64 = 1;
        for _ in 0..200_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let digits = 1 + (x >> 60) as usize % 15;
            let m = (x >> 8) % 10u64.pow(digits as u32);
            let decimals = (x >> 4) as usize % (digits + 1);
            let text = format!("{m:0digits$}");
            let text = if decimals > 0 {
                format!(
                    "{}{}.{}",
                    if x & 1 == 1 { "-" } else { "" },
                    &text[..digits - decimals],
                    &text[digits - decimals..]
                )
            } else {
                text
            };
            let fast = parse_plain_decimal(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(fast.to_bits(), text.parse::<f64>().unwrap().to_bits(), "{text}");
        }
    }

    #[test]
    fn first_earlier_matches_a_sequential_scan() {
        for n in [0usize, 1, 7, 5000, 70_000] {
            let key = |i: usize| (i % 11 != 3).then_some((i * 7919) % (n / 3 + 1));
            let mut seen = FxHashMap::default();
            let mut want = Vec::new();
            for i in 0..n {
                if let Some(k) = key(i) {
                    match seen.get(&k) {
                        Some(&f) => want.push((i as u32, f)),
                        None => {
                            seen.insert(k, i as u32);
                        }
                    }
                }
            }
            assert_eq!(first_earlier(n, key), want, "n = {n}");
        }
    }

    #[test]
    fn median_is_the_middle_element() {
        for n in [1usize, 2, 99_999, 100_000, 250_001] {
            let mut x: u64 = n as u64;
            let v: Vec<f64> = (0..n)
                .map(|i| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    // Sorted runs, repeats and a spread of magnitudes.
                    if i % 7 == 0 { 5.0 } else { (x >> 11) as f64 / (1u64 << 53) as f64 * (1 + i % 3) as f64 }
                })
                .collect();
            let mut s = v.clone();
            let want = *s.select_nth_unstable_by(n / 2, f64::total_cmp).1;
            assert_eq!(median(&v).to_bits(), want.to_bits(), "n = {n}");
        }
        // A file sorted by the value defeats no part of it.
        let sorted: Vec<f64> = (0..300_000).map(|i| i as f64).collect();
        assert_eq!(median(&sorted), 150_000.0);
    }

    #[test]
    fn bools_in_two_languages() {
        assert_eq!(parse_bool("Sí"), Some(true));
        assert_eq!(parse_bool("no"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_bool(" VERDADERO "), Some(true));
        assert_eq!(parse_bool("SÍ"), Some(true));
        assert_eq!(parse_bool("a very long answer indeed"), None);
    }
}
