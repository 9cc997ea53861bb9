//! Reading a run directory (what `needmap run --out DIR` writes, see [`crate::export`]) back
//! into typed data: the ranked zones with their polygons and figures, every household with its
//! position, id, need score, critical flag, zone and other columns, the chosen sites, and the
//! settings the run recorded in `report.json`. The printed maps and the atlas start here.
//!
//! A folder that is not a run fails with a [`RunDirError`] naming the folder and the missing
//! or bad file; nothing here panics on bad input.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why a folder could not be read as a run.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("{0}: not a folder; give the output folder of `needmap run`")]
    NotAFolder(PathBuf),
    #[error("{dir}: not a needmap run: {file} is missing; give the output folder of `needmap run`")]
    Missing { dir: PathBuf, file: &'static str },
    #[error("{path}: {problem}")]
    Bad { path: PathBuf, problem: String },
}

/// One zone, as `zones.geojson` and `zones.csv` describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunZone {
    pub id: u32,
    pub rank: u32,
    pub households: u64,
    pub people: Option<f64>,
    pub critical: u64,
    pub critical_share: f64,
    pub mean_need: f64,
    pub total_need: f64,
    pub area_m2: f64,
    pub density_per_km2: f64,
    /// Centre (lon, lat) in degrees.
    pub centre: (f64, f64),
    /// Exterior ring (lon, lat) in degrees.
    pub ring: Vec<(f64, f64)>,
}

/// One household row of `households.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHousehold {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
    /// Need score in [0, 1]; `None` when it was excluded for a missing value.
    pub need: Option<f64>,
    pub critical: bool,
    pub zone: Option<u32>,
    /// Every cell of the row, in the order of [`Run::columns`].
    pub cells: Vec<String>,
}

/// A chosen build site (`sites.geojson`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSite {
    pub number: u32,
    pub lon: f64,
    pub lat: f64,
}

/// A run read back from its folder.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    /// In rank order.
    pub zones: Vec<RunZone>,
    pub households: Vec<RunHousehold>,
    /// The header of `households.csv`.
    pub columns: Vec<String>,
    pub sites: Vec<RunSite>,
    /// The input file's name (not its folder), from `report.json`.
    pub source: String,
    /// The need indicators' columns, from `report.json`.
    pub indicators: Vec<String>,
    /// The household size column, when the run found one.
    pub people_column: Option<String>,
    /// When the run was written (`report.json`'s modification time), `YYYY-MM-DD` in UTC.
    pub date: String,
    /// The whole of `report.json` (import report, need, selection, clustering, zones, and
    /// the optional stages' sections), for what the fields above do not name.
    pub report: Value,
    /// The text of `analysis.toml`, when the folder has one.
    pub analysis_toml: Option<String>,
}

impl Run {
    /// The index in [`Run::columns`] of `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The households of zone `id`, as indices into [`Run::households`].
    pub fn households_of(&self, id: u32) -> Vec<usize> {
        (0..self.households.len()).filter(|&i| self.households[i].zone == Some(id)).collect()
    }
}

/// Reads the run in `dir`.
pub fn read_run(dir: &Path) -> Result<Run, RunDirError> {
    if !dir.is_dir() {
        return Err(RunDirError::NotAFolder(dir.to_path_buf()));
    }
    for file in ["zones.geojson", "households.csv", "report.json"] {
        if !dir.join(file).is_file() {
            return Err(RunDirError::Missing { dir: dir.to_path_buf(), file });
        }
    }
    let report_path = dir.join("report.json");
    let report: Value = read_json(&report_path)?;
    let bad = |path: &Path, problem: String| RunDirError::Bad { path: path.to_path_buf(), problem };
    if report.get("needmap_version").is_none() {
        return Err(bad(&report_path, "not a needmap run report (no \"needmap_version\")".into()));
    }
    let source = report
        .pointer("/import/path")
        .and_then(Value::as_str)
        .map(|p| Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.to_string()))
        .unwrap_or_default();
    let indicators = report
        .pointer("/need/indicators")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter().filter_map(|i| i.pointer("/indicator/column").and_then(Value::as_str).map(String::from)).collect()
        })
        .unwrap_or_default();
    let people_column = report.get("people_column").and_then(Value::as_str).map(String::from);
    let date = std::fs::metadata(&report_path).and_then(|m| m.modified()).map(date_of).unwrap_or_default();

    let zones = read_zones(&dir.join("zones.geojson"))?;
    let (columns, households) = read_households(&dir.join("households.csv"), &report)?;
    let sites_path = dir.join("sites.geojson");
    let sites = if sites_path.is_file() { read_sites(&sites_path)? } else { Vec::new() };
    let analysis_path = dir.join("analysis.toml");
    let analysis_toml = if analysis_path.is_file() {
        Some(
            std::fs::read_to_string(&analysis_path)
                .map_err(|e| RunDirError::Bad { path: analysis_path.clone(), problem: e.to_string() })?,
        )
    } else {
        None
    };
    Ok(Run {
        dir: dir.to_path_buf(),
        zones,
        households,
        columns,
        sites,
        source,
        indicators,
        people_column,
        date,
        report,
        analysis_toml,
    })
}

fn read_json(path: &Path) -> Result<Value, RunDirError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunDirError::Bad { path: path.to_path_buf(), problem: e.to_string() })?;
    serde_json::from_str(&text)
        .map_err(|e| RunDirError::Bad { path: path.to_path_buf(), problem: format!("not valid JSON: {e}") })
}

fn read_zones(path: &Path) -> Result<Vec<RunZone>, RunDirError> {
    let v = read_json(path)?;
    let bad = |problem: String| RunDirError::Bad { path: path.to_path_buf(), problem };
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("not a GeoJSON FeatureCollection (no \"features\")".into()))?;
    let mut zones = Vec::with_capacity(features.len());
    for (k, f) in features.iter().enumerate() {
        let p = f.get("properties").ok_or_else(|| bad(format!("feature {}: no properties", k + 1)))?;
        let num = |name: &str| -> Result<f64, RunDirError> {
            p.get(name).and_then(Value::as_f64).ok_or_else(|| bad(format!("feature {}: no number \"{name}\"", k + 1)))
        };
        let ring: Vec<(f64, f64)> = f
            .pointer("/geometry/coordinates/0")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter().filter_map(|c| Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?))).collect::<Vec<(f64, f64)>>()
            })
            .filter(|r| r.len() >= 3)
            .ok_or_else(|| bad(format!("feature {}: no polygon", k + 1)))?;
        zones.push(RunZone {
            id: num("zone")? as u32,
            rank: num("rank")? as u32,
            households: num("households")? as u64,
            people: p.get("people").and_then(Value::as_f64),
            critical: num("critical_households")? as u64,
            critical_share: num("critical_share").unwrap_or(0.0),
            mean_need: num("mean_need")?,
            total_need: num("total_need")?,
            area_m2: num("area_m2")?,
            density_per_km2: num("density_per_km2").unwrap_or(0.0),
            centre: (num("centre_lon")?, num("centre_lat")?),
            ring,
        });
    }
    zones.sort_by_key(|z| (z.rank, z.id));
    Ok(zones)
}

/// Where a household's position is in the CSV row.
enum Coords {
    Columns {
        lat: usize,
        lon: usize,
    },
    /// `"lat lon [alt acc]"` in one column.
    Geopoint(usize),
    /// `POINT(lon lat)` in one column.
    Wkt(usize),
}

fn coords_of(header: &[String], report: &Value) -> Option<Coords> {
    let col = |name: &str| header.iter().position(|h| h == name);
    let roles: Vec<(String, String)> = report
        .pointer("/import/columns")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .filter_map(|c| Some((c.get("name")?.as_str()?.to_string(), c.get("role")?.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let by_role = |role: &str| roles.iter().find(|(_, r)| r == role).and_then(|(n, _)| col(n));
    if let (Some(lat), Some(lon)) = (by_role("latitude"), by_role("longitude")) {
        return Some(Coords::Columns { lat, lon });
    }
    if let Some(c) = by_role("geopoint") {
        return Some(Coords::Geopoint(c));
    }
    if let Some(c) = by_role("wkt") {
        return Some(Coords::Wkt(c));
    }
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.to_ascii_lowercase().as_str()));
    match (find(&["lat", "latitude", "y"]), find(&["lon", "lng", "long", "longitude", "x"])) {
        (Some(lat), Some(lon)) => Some(Coords::Columns { lat, lon }),
        _ => None,
    }
}

fn position(c: &Coords, rec: &csv::StringRecord) -> Option<(f64, f64)> {
    let num = |s: &str| s.trim().parse::<f64>().ok();
    match *c {
        Coords::Columns { lat, lon } => Some((num(rec.get(lon)?)?, num(rec.get(lat)?)?)),
        Coords::Geopoint(i) => {
            let mut it = rec.get(i)?.split_whitespace();
            let lat = num(it.next()?)?;
            Some((num(it.next()?)?, lat))
        }
        Coords::Wkt(i) => {
            let s = rec.get(i)?;
            let inner = s.split_once('(')?.1.split(')').next()?;
            let mut it = inner.split_whitespace();
            Some((num(it.next()?)?, num(it.next()?)?))
        }
    }
}

fn read_households(path: &Path, report: &Value) -> Result<(Vec<String>, Vec<RunHousehold>), RunDirError> {
    let bad = |problem: String| RunDirError::Bad { path: path.to_path_buf(), problem };
    let mut r = csv::ReaderBuilder::new().from_path(path).map_err(|e| bad(e.to_string()))?;
    let header: Vec<String> = r.headers().map_err(|e| bad(e.to_string()))?.iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(need), Some(critical), Some(zone)) = (col("need"), col("critical"), col("zone")) else {
        return Err(bad("not a needmap households table (no need, critical and zone columns)".into()));
    };
    let coords =
        coords_of(&header, report).ok_or_else(|| bad("no coordinate columns found (latitude and longitude)".into()))?;
    let id_col = report.pointer("/import/id_column").and_then(Value::as_str).and_then(col);
    let mut out = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
        let Some((lon, lat)) = position(&coords, &rec) else {
            return Err(bad(format!("line {line}: no readable coordinates")));
        };
        let cell = |i: usize| rec.get(i).unwrap_or("");
        out.push(RunHousehold {
            id: id_col.map_or_else(|| (k + 1).to_string(), |i| cell(i).to_string()),
            lon,
            lat,
            need: cell(need).parse().ok(),
            critical: cell(critical) == "true",
            zone: cell(zone).parse().ok(),
            cells: rec.iter().map(String::from).collect(),
        });
    }
    Ok((header, out))
}

fn read_sites(path: &Path) -> Result<Vec<RunSite>, RunDirError> {
    let v = read_json(path)?;
    let features = v.get("features").and_then(Value::as_array).ok_or_else(|| RunDirError::Bad {
        path: path.to_path_buf(),
        problem: "not a GeoJSON FeatureCollection (no \"features\")".into(),
    })?;
    Ok(features
        .iter()
        .enumerate()
        .filter_map(|(k, f)| {
            let c = f.pointer("/geometry/coordinates")?;
            Some(RunSite {
                number: f.pointer("/properties/site").and_then(Value::as_u64).unwrap_or(k as u64 + 1) as u32,
                lon: c.get(0)?.as_f64()?,
                lat: c.get(1)?.as_f64()?,
            })
        })
        .collect())
}

/// `YYYY-MM-DD` (UTC) of a time.
pub fn date_of(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn a_folder_without_a_run_names_the_missing_file() {
        let d = tempfile::tempdir().unwrap();
        let e = read_run(d.path()).unwrap_err().to_string();
        assert!(e.contains("zones.geojson is missing"), "{e}");
        std::fs::write(d.path().join("zones.geojson"), "{").unwrap();
        std::fs::write(d.path().join("households.csv"), "a\n").unwrap();
        std::fs::write(d.path().join("report.json"), "{\"needmap_version\": \"0\"}").unwrap();
        let e = read_run(d.path()).unwrap_err().to_string();
        assert!(e.contains("zones.geojson: not valid JSON"), "{e}");
        let e = read_run(&d.path().join("nope")).unwrap_err().to_string();
        assert!(e.ends_with("not a folder; give the output folder of `needmap run`"), "{e}");
    }
}
