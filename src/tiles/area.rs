//! The area to download: the zones of a run folder, or the households of a survey.

use std::path::Path;

use super::LonLatBox;
use crate::progress::Progress;

/// The boxes of the zones in a run folder (`zones.geojson`), or, when the run has no zones,
/// a box per household (`households.csv`); or a box per household of a survey file.
pub fn area_of(source: &Path, progress: &Progress) -> anyhow::Result<(Vec<LonLatBox>, String)> {
    if source.is_dir() {
        let zones = source.join("zones.geojson");
        if !zones.is_file() {
            anyhow::bail!(
                "{}: not a needmap run folder (no zones.geojson); give a folder written by `needmap run`, or a survey file",
                source.display()
            );
        }
        let text =
            std::fs::read_to_string(&zones).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", zones.display()))?;
        let gj: geojson::GeoJson =
            text.parse().map_err(|e| anyhow::anyhow!("{}: not GeoJSON: {e}", zones.display()))?;
        let mut boxes = Vec::new();
        if let geojson::GeoJson::FeatureCollection(fc) = gj {
            for f in fc.features {
                let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
                if let Some(g) = &f.geometry {
                    visit(&g.value, &mut |lon, lat| {
                        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
                    });
                }
                if b[0].is_finite() {
                    boxes.push(b);
                }
            }
        }
        if !boxes.is_empty() {
            let n = boxes.len();
            return Ok((boxes, format!("{n} zones of {}", source.display())));
        }
        let households = source.join("households.csv");
        if !households.is_file() {
            anyhow::bail!("{}: the run has no zones and no households.csv", source.display());
        }
        let (b, what) = households_area(&households, progress)?;
        return Ok((b, format!("{what} (the run has no zones)")));
    }
    households_area(source, progress)
}

fn households_area(path: &Path, progress: &Progress) -> anyhow::Result<(Vec<LonLatBox>, String)> {
    let keep = crate::data::Keep::Only(Vec::new());
    let imported = crate::analysis::import_stage(path, &Default::default(), &keep, progress)?;
    let h = &imported.households;
    let boxes: Vec<LonLatBox> =
        (0..h.len()).map(|i| [h.lon_deg[i], h.lat_deg[i], h.lon_deg[i], h.lat_deg[i]]).collect();
    let n = boxes.len();
    Ok((boxes, format!("{n} households of {}", path.display())))
}

fn visit(v: &geojson::GeometryValue, f: &mut impl FnMut(f64, f64)) {
    use geojson::GeometryValue as G;
    let mut pos = |p: &geojson::Position| {
        if p.len() >= 2 {
            f(p[0], p[1]);
        }
    };
    match v {
        G::Point { coordinates } => pos(coordinates),
        G::MultiPoint { coordinates } | G::LineString { coordinates } => coordinates.iter().for_each(pos),
        G::MultiLineString { coordinates } | G::Polygon { coordinates } => coordinates.iter().flatten().for_each(pos),
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().flatten().for_each(pos),
        G::GeometryCollection { geometries } => {
            for g in geometries {
                visit(&g.value, f);
            }
        }
    }
}
