//! `households.parquet` and `zones.parquet` (`needmap run --parquet`): GeoParquet 1.1 with
//! WKB geometry (points, polygons) in longitude/latitude (no `crs` key: OGC:CRS84, as the
//! specification says) and a `bbox` covering column, so readers can skip row groups by
//! area. The columns are those of `households.csv` and `zones.csv`, typed: an input column of
//! whole numbers is `int64`, of other numbers `double`, of `true`/`false` `bool`, anything
//! else (ids and codes with leading zeros included) `string`; an empty cell is null.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::WriterProperties;
use arrow_array::{ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema};
use serde_json::json;

use super::gpkg::{SqlType, input_column_type, typed_integer, wkb_point, wkb_polygon};
use crate::analysis::Outcome;
use crate::data::validate::parse_number;
use crate::data::{ColumnKind, Households};
use crate::zones::Zone;

/// Rows per batch written (and so at most per row group).
const BATCH: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Int,
    Real,
    Bool,
    Text,
}

impl Ty {
    fn arrow(self) -> DataType {
        match self {
            Ty::Int => DataType::Int64,
            Ty::Real => DataType::Float64,
            Ty::Bool => DataType::Boolean,
            Ty::Text => DataType::Utf8,
        }
    }
}

fn truth(t: &str) -> Option<bool> {
    match t {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// The Parquet type of input column `c` (see the module documentation).
fn input_type(h: &Households, c: usize) -> Ty {
    // A column kept as numbers holds no `true`/`false`.
    if h.columns[c].kind == ColumnKind::Bool
        && h.cells.typed(c).is_none()
        && (0..h.len()).all(|i| h.text(i, c).is_empty() || truth(h.text(i, c)).is_some())
    {
        return Ty::Bool;
    }
    match input_column_type(h, c) {
        SqlType::Integer => Ty::Int,
        SqlType::Real => Ty::Real,
        SqlType::Boolean | SqlType::Text => Ty::Text,
    }
}

/// An input column's cells `rows` as an array of type `ty`.
fn input_array(h: &Households, c: usize, ty: Ty, rows: std::ops::Range<usize>) -> ArrayRef {
    if let (Some(t), Ty::Int | Ty::Real) = (h.cells.typed(c), ty) {
        // Numbers kept as numbers: what their text would give, without the text.
        return match ty {
            Ty::Int => {
                Arc::new(Int64Array::from_iter(rows.map(|i| t.int(i).or_else(|| t.get(i).and_then(typed_integer)))))
            }
            _ => Arc::new(Float64Array::from_iter(rows.map(|i| t.get(i).filter(|v| v.is_finite())))),
        };
    }
    let cell = |i: usize| Some(h.text(i, c)).filter(|t| !t.is_empty());
    match ty {
        Ty::Int => Arc::new(Int64Array::from_iter(rows.map(|i| cell(i).and_then(|t| t.trim().parse::<i64>().ok())))),
        Ty::Real => {
            Arc::new(Float64Array::from_iter(rows.map(|i| cell(i).and_then(|t| parse_number(t).ok().flatten()))))
        }
        Ty::Bool => Arc::new(BooleanArray::from_iter(rows.map(|i| cell(i).and_then(truth)))),
        Ty::Text => {
            // Through a buffer: a column kept as numbers writes each value's text there.
            let mut b = arrow_array::builder::StringBuilder::new();
            let mut buf = String::new();
            for i in rows {
                match h.cells.text_in(i, c, &mut buf) {
                    "" => b.append_null(),
                    t => b.append_value(t),
                }
            }
            Arc::new(b.finish())
        }
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Names made unique exactly as written (`name`, `name_2`, …); `geometry` and `bbox` are ours.
fn unique(names: Vec<String>) -> Vec<String> {
    let mut taken: HashSet<String> = ["geometry".to_string(), "bbox".to_string()].into();
    names
        .into_iter()
        .map(|n| {
            let base = if n.is_empty() { "field".to_string() } else { n };
            let mut name = base.clone();
            let mut k = 2;
            while taken.contains(&name) {
                name = format!("{base}_{k}");
                k += 1;
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

type Bbox = [f64; 4];

fn bbox_of(points: impl Iterator<Item = (f64, f64)>) -> Bbox {
    points.fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |b, (x, y)| {
        [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
    })
}

fn bbox_field() -> Field {
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    Field::new("bbox", DataType::Struct(Fields::from(vec![f("xmin"), f("ymin"), f("xmax"), f("ymax")])), false)
}

fn bbox_array(boxes: &[Bbox]) -> ArrayRef {
    let DataType::Struct(fields) = bbox_field().data_type().clone() else { unreachable!("a struct") };
    let col = |k: usize| Arc::new(Float64Array::from_iter_values(boxes.iter().map(|b| b[k]))) as ArrayRef;
    Arc::new(StructArray::new(fields, vec![col(0), col(1), col(2), col(3)], None))
}

/// The `geo` metadata of a file whose geometry column holds `types` within `bbox`.
fn geo_metadata(types: &str, bbox: Bbox) -> KeyValue {
    let bbox = if bbox[0].is_finite() { json!(bbox) } else { json!([]) };
    let meta = json!({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": [types],
                "bbox": bbox,
                "covering": { "bbox": {
                    "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
                    "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"],
                } },
            }
        }
    });
    KeyValue::new("geo".to_string(), meta.to_string())
}

fn writer(path: &Path, schema: Arc<Schema>) -> io::Result<ArrowWriter<File>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).map_err(io::Error::other)?))
        .set_max_row_group_row_count(Some(BATCH))
        .build();
    ArrowWriter::try_new(File::create(path)?, schema, Some(props)).map_err(io::Error::other)
}

/// `households.parquet`: every accepted household, its input columns typed, then `need`,
/// `critical`, `cluster`, `zone` (and `gi_z`, `hot`, `p_critical`, `site` when those ran), a
/// WKB point and its bbox.
pub fn households_parquet(path: &Path, o: &Outcome) -> io::Result<()> {
    let h = &o.imported.households;
    let types: Vec<Ty> = (0..h.columns.len()).map(|c| input_type(h, c)).collect();
    let mut names: Vec<String> = h.columns.iter().map(|c| c.name.clone()).collect();
    let mut extra: Vec<(&str, DataType)> = vec![
        ("need", DataType::Float64),
        ("critical", DataType::Boolean),
        ("cluster", DataType::Int64),
        ("zone", DataType::Int64),
    ];
    let hot = o.hotspots.as_deref();
    if hot.is_some() {
        extra.extend([("gi_z", DataType::Float64), ("hot", DataType::Int64)]);
    }
    let audit = o.audit.as_deref();
    if audit.is_some() {
        extra.push(("p_critical", DataType::Float64));
    }
    let site_of = o.sites.as_ref().map(|s| &s.solution.site_of);
    if site_of.is_some() {
        extra.push(("site", DataType::Int64));
    }
    names.extend(extra.iter().map(|(n, _)| n.to_string()));
    let names = unique(names);
    let mut fields: Vec<Field> = types.iter().zip(&names).map(|(t, n)| Field::new(n, t.arrow(), true)).collect();
    fields.extend(extra.iter().zip(&names[types.len()..]).map(|((_, t), n)| Field::new(n, t.clone(), true)));
    fields.push(Field::new("geometry", DataType::Binary, false));
    fields.push(bbox_field());
    let schema = Arc::new(Schema::new(fields));
    let mut w = writer(path, schema.clone())?;
    let mut wkb = Vec::new();
    for start in (0..h.len()).step_by(BATCH) {
        super::atomic::check_interrupted()?;
        let rows = start..(start + BATCH).min(h.len());
        let mut cols: Vec<ArrayRef> =
            types.iter().enumerate().map(|(c, &t)| input_array(h, c, t, rows.clone())).collect();
        cols.push(Arc::new(Float64Array::from_iter(rows.clone().map(|i| finite(o.scored.need.score[i])))));
        cols.push(Arc::new(BooleanArray::from_iter(rows.clone().map(|i| Some(o.scored.critical[i])))));
        cols.push(Arc::new(Int64Array::from_iter(
            rows.clone().map(|i| o.clustered.candidates[i].then(|| i64::from(o.clustered.labels[i]))),
        )));
        cols.push(Arc::new(Int64Array::from_iter(rows.clone().map(|i| {
            let z = o.zones.zone_of[i];
            (z >= 0).then_some(i64::from(z))
        }))));
        if let Some(r) = hot {
            cols.push(Arc::new(Float64Array::from_iter(rows.clone().map(|i| r.z[i].and_then(finite)))));
            cols.push(Arc::new(Int64Array::from_iter_values(rows.clone().map(|i| i64::from(r.hot[i])))));
        }
        if let Some(a) = audit {
            cols.push(Arc::new(Float64Array::from_iter(rows.clone().map(|i| finite(a.p_critical[i])))));
        }
        if let Some(so) = site_of {
            cols.push(Arc::new(Int64Array::from_iter(
                rows.clone().map(|i| (so[i] >= 0).then(|| i64::from(so[i]) + 1)),
            )));
        }
        let mut offsets = Vec::with_capacity(rows.len());
        wkb.clear();
        for i in rows.clone() {
            wkb_point(&mut wkb, h.lon_deg[i], h.lat_deg[i]);
            offsets.push(wkb.len());
        }
        cols.push(Arc::new(BinaryArray::from_iter_values(offsets.iter().scan(0, |from, &to| {
            let s = &wkb[*from..to];
            *from = to;
            Some(s)
        }))));
        let boxes: Vec<Bbox> = rows.clone().map(|i| [h.lon_deg[i], h.lat_deg[i], h.lon_deg[i], h.lat_deg[i]]).collect();
        cols.push(bbox_array(&boxes));
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(io::Error::other)?;
        w.write(&batch).map_err(io::Error::other)?;
    }
    let bbox = bbox_of(h.lon_deg.iter().copied().zip(h.lat_deg.iter().copied()));
    w.append_key_value_metadata(geo_metadata("Point", bbox));
    w.close().map_err(io::Error::other)?;
    Ok(())
}

/// `zones.parquet`: one row per zone in rank order, the columns of `zones.csv`, a WKB polygon
/// and its bbox.
pub fn zones_parquet(path: &Path, zones: &[Zone]) -> io::Result<()> {
    let f = |n: &str, t: DataType, null: bool| Field::new(n, t, null);
    let schema = Arc::new(Schema::new(vec![
        f("zone", DataType::Int64, false),
        f("rank", DataType::Int64, false),
        f("households", DataType::Int64, false),
        f("people", DataType::Float64, true),
        f("critical_households", DataType::Int64, false),
        f("critical_share", DataType::Float64, false),
        f("mean_need", DataType::Float64, false),
        f("total_need", DataType::Float64, false),
        f("area_m2", DataType::Float64, false),
        f("density_per_km2", DataType::Float64, false),
        f("members", DataType::Int64, false),
        f("centre_lon", DataType::Float64, false),
        f("centre_lat", DataType::Float64, false),
        f("geometry", DataType::Binary, false),
        bbox_field(),
    ]));
    let int = |g: &dyn Fn(&Zone) -> i64| Arc::new(Int64Array::from_iter_values(zones.iter().map(g))) as ArrayRef;
    let real = |g: &dyn Fn(&Zone) -> f64| Arc::new(Float64Array::from_iter_values(zones.iter().map(g))) as ArrayRef;
    let polygons: Vec<Vec<u8>> = zones
        .iter()
        .map(|z| {
            let mut b = Vec::new();
            wkb_polygon(&mut b, &z.ring);
            b
        })
        .collect();
    let boxes: Vec<Bbox> = zones.iter().map(|z| bbox_of(z.ring.iter().copied())).collect();
    let cols: Vec<ArrayRef> = vec![
        int(&|z| i64::from(z.id)),
        int(&|z| i64::from(z.rank)),
        int(&|z| z.households as i64),
        Arc::new(Float64Array::from_iter(zones.iter().map(|z| z.people))),
        int(&|z| z.critical as i64),
        real(&|z| z.critical_share),
        real(&|z| z.mean_need),
        real(&|z| z.total_need),
        real(&|z| z.area_m2),
        real(&|z| z.density_per_km2),
        int(&|z| z.members as i64),
        real(&|z| z.centre.0),
        real(&|z| z.centre.1),
        Arc::new(BinaryArray::from_iter_values(polygons.iter().map(Vec::as_slice))),
        bbox_array(&boxes),
    ];
    let mut w = writer(path, schema.clone())?;
    w.write(&RecordBatch::try_new(schema, cols).map_err(io::Error::other)?).map_err(io::Error::other)?;
    let all = bbox_of(zones.iter().flat_map(|z| z.ring.iter().copied()));
    w.append_key_value_metadata(geo_metadata("Polygon", all));
    w.close().map_err(io::Error::other)?;
    Ok(())
}
