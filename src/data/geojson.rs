//! GeoJSON (RFC 7946): a FeatureCollection, a single Feature or a bare geometry. Point
//! features are households; a MultiPoint feature gives one household per point, sharing its
//! properties and feature number. Other geometry types, and features without geometry, are
//! rejected into the report, not fatal. Properties become columns, in order of first use.

use std::path::Path;

use geojson::{Feature, GeoJson, GeometryValue, JsonValue};

use super::{Format, ImportError, IssueKind, Rec, Source};

pub(crate) struct GeojsonSource {
    headers: Vec<String>,
    rows: Vec<Rec>,
    next: usize,
}

fn value_text(v: &JsonValue) -> String {
    match v {
        JsonValue::Null => String::new(),
        JsonValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A FeatureCollection's features, unparsed.
#[derive(serde::Deserialize)]
struct RawCollection<'a> {
    #[serde(borrow)]
    features: Vec<&'a serde_json::value::RawValue>,
}

impl GeojsonSource {
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let text = std::fs::read(path).map_err(|e| ImportError::file(path, format!("cannot read: {e}")))?;
        let text = text.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(&text);
        let gj: GeoJson = serde_json::from_slice(text).map_err(|e| ImportError::At {
            path: path.to_path_buf(),
            line: e.line() as u64,
            column: e.column() as u64,
            problem: {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                format!("is not valid GeoJSON: {msg}")
            },
        })?;
        // Each feature's 1-based line in the file, for the issues (0 = unknown): the features
        // again as raw text, whose offset in the input gives the line.
        let mut lines: Vec<u64> = Vec::new();
        if matches!(gj, GeoJson::FeatureCollection(_))
            && let Ok(raw) = serde_json::from_slice::<RawCollection<'_>>(text)
        {
            let (mut at, mut line) = (0usize, 1u64);
            for f in raw.features {
                let off = (f.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len());
                if off >= at {
                    line += text[at..off].iter().filter(|&&b| b == b'\n').count() as u64;
                    at = off;
                }
                lines.push(line);
            }
        }
        let features: Vec<Feature> = match gj {
            GeoJson::FeatureCollection(fc) => fc.features,
            GeoJson::Feature(f) => vec![f],
            GeoJson::Geometry(g) => vec![Feature { geometry: Some(g), ..Default::default() }],
        };
        let mut headers: Vec<String> = Vec::new();
        for f in &features {
            for k in f.properties.iter().flat_map(|p| p.keys()) {
                if !headers.iter().any(|h| h == k) {
                    headers.push(k.clone());
                }
            }
        }
        let mut rows = Vec::with_capacity(features.len());
        for (i, f) in features.iter().enumerate() {
            let fill = |rec: &mut Rec| {
                for h in &headers {
                    let v = f.properties.as_ref().and_then(|p| p.get(h)).map(value_text).unwrap_or_default();
                    rec.push(&v);
                }
            };
            let row = i as u32 + 1;
            let point = |c: &[f64]| -> Result<(f64, f64), (IssueKind, String)> {
                match c {
                    [lon, lat, ..] => Ok((*lon, *lat)),
                    _ => Err((IssueKind::MissingCoordinate, "point has fewer than two coordinates".to_string())),
                }
            };
            let geoms: Vec<Result<(f64, f64), (IssueKind, String)>> = match f.geometry.as_ref().map(|g| &g.value) {
                None => vec![Err((IssueKind::MissingGeometry, "has no geometry (null)".to_string()))],
                Some(GeometryValue::Point { coordinates }) => {
                    vec![point(coordinates.as_slice())]
                }
                Some(GeometryValue::MultiPoint { coordinates }) if !coordinates.is_empty() => {
                    coordinates.iter().map(|c| point(c.as_slice())).collect()
                }
                Some(other) => vec![Err((
                    IssueKind::UnsupportedGeometry,
                    format!("is a {}; only Point and MultiPoint features are households", other.type_name()),
                ))],
            };
            for g in geoms {
                let mut rec = Rec { row, line: lines.get(i).copied().unwrap_or(0), ..Default::default() };
                fill(&mut rec);
                rec.geometry = Some(g);
                rows.push(rec);
            }
        }
        Ok(Self { headers, rows, next: 0 })
    }
}

impl Source for GeojsonSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        match self.rows.get_mut(self.next) {
            Some(r) => {
                std::mem::swap(rec, r);
                self.next += 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    fn progress(&self) -> (u64, u64) {
        (self.next as u64, self.rows.len() as u64)
    }
    fn format(&self) -> Format {
        Format::Geojson
    }
}
