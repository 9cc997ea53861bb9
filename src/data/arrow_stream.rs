//! An Arrow table handed over in memory: what the Python package passes for a pandas
//! DataFrame (`pyarrow.Table.from_pandas`, read through the Arrow C stream interface), so a
//! DataFrame needs no temporary CSV and keeps its types.
//!
//! The table is read like a Parquet file ([`super::parquet`]): every scalar column becomes a
//! column of text exactly as a CSV written from it would hold it (numbers in their shortest
//! exact form, nulls and NaN empty, categories as their values), so column detection, row
//! checks, rejects, flags and the import report are those of a file. A GeoParquet `geo` key in
//! the schema's metadata names a point geometry column (WKB or GeoArrow point), as in a file;
//! without it, a field typed `geoarrow.wkb` or `geoarrow.point` in its own metadata is one (a
//! GeoDataFrame's `to_arrow(geometry_encoding="WKB")`), its other geometries rejected row by
//! row as the Parquet reader rejects them.
//!
//! Records are numbered from 1 in table order (record N is the DataFrame's `df.iloc[N - 1]`);
//! there are no line numbers, and messages name the table by the name given (`<DataFrame>`).

use std::path::{Path, PathBuf};

use arrow_array::{RecordBatch, RecordBatchReader};

use super::parquet::{self, Encoding, NumberTally};
use super::{Format, Households, ImportError, ImportOptions, ImportReport, Keep, NumKind, Rec, Source, Tuning};
use crate::progress::Progress;

/// Rows turned into records at a time: a DataFrame's table is often one batch of all rows.
const SLICE: usize = 8192;

pub(crate) struct ArrowStreamSource {
    name: PathBuf,
    headers: Vec<String>,
    /// Column index in the batches of each header.
    cols: Vec<usize>,
    geometry: Option<(usize, String, Encoding)>,
    /// Every batch of the stream (the table is in memory already: taking them is no copy).
    batches: Vec<RecordBatch>,
    /// Next batch, and next row in it, to turn into records.
    batch: usize,
    offset: usize,
    current: Vec<Rec>,
    /// Records of `current` already handed out.
    at: usize,
    /// Records turned into text, and handed out.
    made: u64,
    done: u64,
    total: u64,
    /// An estimate of the table's size in bytes: progress is told in bytes, as for files.
    bytes: u64,
    notes: Vec<String>,
    /// Per header: the tally of its values when the column holds numbers (as for Parquet).
    tallies: Vec<Option<NumberTally>>,
    /// Every row was turned into a record (the tallies count them all).
    complete: bool,
    /// Per header: how its values can come as numbers.
    kinds: Vec<Option<NumKind>>,
    /// Per header, once the import said: whether its values go in [`Rec::nums`].
    plan: Vec<Option<NumKind>>,
}

impl ArrowStreamSource {
    pub fn open(name: &Path, reader: Box<dyn RecordBatchReader + Send>) -> Result<Self, ImportError> {
        let schema = reader.schema();
        let geo = schema.metadata().get("geo").map(String::as_str);
        let parquet::Fields { geometry, scalar, notes } = parquet::sort_fields(name, &schema, geo)?;
        let batches: Vec<RecordBatch> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| ImportError::file(name, format!("cannot be read as an Arrow table: {e}")))?;
        let total: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        if total > u64::from(u32::MAX) {
            return Err(ImportError::file(
                name,
                format!("has {total} rows; needmap reads at most {} records", u32::MAX),
            ));
        }
        let bytes: u64 = batches.iter().map(|b| b.get_array_memory_size() as u64).sum::<u64>().max(total).max(1);
        let headers: Vec<String> = scalar.iter().map(|&i| schema.field(i).name().clone()).collect();
        let kinds = scalar.iter().map(|&i| parquet::num_kind(schema.field(i).data_type())).collect();
        let cols = scalar;
        Ok(Self {
            name: name.to_path_buf(),
            headers: super::csv::unique_headers(headers.into_iter()),
            tallies: vec![None; cols.len()],
            complete: false,
            kinds,
            plan: Vec::new(),
            cols,
            geometry,
            batches,
            batch: 0,
            offset: 0,
            current: Vec::new(),
            at: 0,
            made: 0,
            done: 0,
            total,
            bytes,
            notes,
        })
    }

    /// The next slice of rows as records in `current`; `false` at the end of the table.
    fn fill(&mut self) -> Result<bool, ImportError> {
        while self.batch < self.batches.len() && self.offset >= self.batches[self.batch].num_rows() {
            self.batch += 1;
            self.offset = 0;
        }
        let Some(full) = self.batches.get(self.batch) else {
            self.complete = true;
            return Ok(false);
        };
        let rows = SLICE.min(full.num_rows() - self.offset);
        let batch = full.slice(self.offset, rows);
        self.offset += rows;
        let cells = parquet::cells_of(&self.name, &batch, &self.cols)?;
        for (tally, cell) in self.tallies.iter_mut().zip(&cells) {
            let t = tally.get_or_insert_with(NumberTally::default);
            if !t.text && !t.add_rows(cell, 0..rows) {
                // Not numbers: typed from their text, by the import.
                t.text = true;
            }
        }
        let geometry = self.geometry.as_ref().map(|(c, name, enc)| (batch.column(*c), name, *enc));
        self.current.truncate(rows);
        self.current.resize_with(rows, Rec::default);
        for (r, rec) in self.current.iter_mut().enumerate() {
            self.made += 1;
            parquet::fill_record(rec, self.made as u32, &cells, &self.plan, r);
            if let Some((array, name, enc)) = &geometry {
                let row = self.made;
                rec.geometry = Some(
                    parquet::point(array, r, *enc)
                        .map_err(|(kind, why)| (kind, format!("geometry {name:?} (row {row}) {why}"))),
                );
            }
        }
        self.at = 0;
        Ok(true)
    }
}

impl Source for ArrowStreamSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        if self.at == self.current.len() && !self.fill()? {
            return Ok(false);
        }
        std::mem::swap(rec, &mut self.current[self.at]);
        self.at += 1;
        self.done += 1;
        Ok(true)
    }
    fn progress(&self) -> (u64, u64) {
        let at = (u128::from(self.done) * u128::from(self.bytes) / u128::from(self.total.max(1))) as u64;
        (at.min(self.bytes), self.bytes)
    }
    fn format(&self) -> Format {
        Format::Arrow { geometry: self.geometry.as_ref().map(|(_, name, _)| name.clone()) }
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
    fn records(&self) -> Option<u64> {
        Some(self.total)
    }
    fn typed_columns(&mut self, may: &[bool]) -> Vec<Option<NumKind>> {
        self.plan = self.kinds.iter().zip(may).map(|(k, &may)| k.filter(|_| may)).collect();
        self.plan.clone()
    }
    fn number_tallies(&mut self) -> Vec<Option<NumberTally>> {
        if !self.complete {
            return Vec::new();
        }
        std::mem::take(&mut self.tallies).into_iter().map(|t| t.filter(|t| !t.text)).collect()
    }
}

/// Whether `path` is the name of a table in memory (`<DataFrame>`), not of a file: its
/// records are rows.
pub(crate) fn is_table_name(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with('<') && s.ends_with('>'))
}

/// Reads, validates and reports on an Arrow table (record batches, e.g. a pandas DataFrame
/// through the Arrow C stream interface) as [`super::import`] does a file; `name` stands for
/// the file in the report and in messages (the Python package says `<DataFrame>`).
pub fn import_arrow(
    name: &Path,
    reader: Box<dyn RecordBatchReader + Send>,
    opts: &ImportOptions,
    keep: &Keep,
    progress: &Progress,
) -> Result<(Households, ImportReport), ImportError> {
    let mut source = ArrowStreamSource::open(name, reader)?;
    if source.total == 0 {
        return Err(ImportError::file(name, "has no rows; expected one household per row"));
    }
    let bytes = source.progress().1;
    progress.stage("import", bytes);
    super::read_all(name, &mut source, opts, keep, progress, bytes, Tuning::default())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BinaryArray, DictionaryArray, Float64Array, Int64Array, RecordBatchIterator, StringArray,
        types::Int8Type,
    };
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn reader(batches: Vec<RecordBatch>, schema: Arc<Schema>) -> Box<dyn RecordBatchReader + Send> {
        Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema))
    }

    /// The same table as an Arrow stream (in two batches, one longer than a slice) and as
    /// the CSV a DataFrame's `to_csv` writes: the same households and the same report but
    /// for the path, the format and line numbers.
    #[test]
    fn a_table_imports_as_its_csv_does() {
        let n = SLICE + 500;
        let ids: Vec<String> = (0..n).map(|i| format!("{i:06}")).collect();
        let lat: Vec<Option<f64>> = (0..n)
            .map(|i| match i % 997 {
                5 => None,
                6 => Some(95.0),
                _ => Some(-12.0 - (i as f64) * 1e-5),
            })
            .collect();
        let lon: Vec<f64> = (0..n).map(|i| -77.0 + ((i * 7919) % 1000) as f64 * 1e-4).collect();
        let income: Vec<Option<i64>> = (0..n).map(|i| (i % 3 != 0).then_some((i * 37 % 1000) as i64)).collect();
        let roof_keys: Vec<i8> = (0..n).map(|i| (i % 3) as i8).collect();
        let roofs = ["tin", "concrete", "straw"];
        let schema = Arc::new(Schema::new(vec![
            Field::new("household_id", DataType::Utf8, false),
            Field::new("latitude", DataType::Float64, true),
            Field::new("longitude", DataType::Float64, false),
            Field::new("income", DataType::Int64, true),
            Field::new("roof", DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)), false),
        ]));
        let columns = |a: usize, b: usize| -> Vec<ArrayRef> {
            vec![
                Arc::new(StringArray::from(ids[a..b].to_vec())),
                Arc::new(Float64Array::from(lat[a..b].to_vec())),
                Arc::new(Float64Array::from(lon[a..b].to_vec())),
                Arc::new(Int64Array::from(income[a..b].to_vec())),
                Arc::new(
                    DictionaryArray::<Int8Type>::try_new(
                        roof_keys[a..b].to_vec().into(),
                        Arc::new(StringArray::from(roofs.to_vec())),
                    )
                    .unwrap(),
                ),
            ]
        };
        let cut = SLICE + 100;
        let batches = vec![
            RecordBatch::try_new(schema.clone(), columns(0, cut)).unwrap(),
            RecordBatch::try_new(schema.clone(), columns(cut, n)).unwrap(),
        ];
        let p = Progress::new();
        let name = Path::new("<DataFrame>");
        let (h, report) =
            import_arrow(name, reader(batches, schema), &ImportOptions::default(), &Keep::All, &p).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        let mut text = String::from("household_id,latitude,longitude,income,roof\n");
        for i in 0..n {
            let la = lat[i].map(|v| v.to_string()).unwrap_or_default();
            let inc = income[i].map(|v| v.to_string()).unwrap_or_default();
            text += &format!("{},{la},{},{inc},{}\n", ids[i], lon[i], roofs[roof_keys[i] as usize]);
        }
        std::fs::write(&csv, text).unwrap();
        let (hc, rc) = super::super::import(&csv, &ImportOptions::default(), &Keep::All, &p).unwrap();

        assert_eq!(h.row, hc.row);
        assert_eq!(h.lat_deg, hc.lat_deg);
        assert_eq!(h.lon_deg, hc.lon_deg);
        for c in 0..h.columns.len() {
            for i in 0..h.len() {
                assert_eq!(h.text(i, c), hc.text(i, c));
            }
        }
        assert!(report.rejected > 0);
        assert_eq!((report.records, report.accepted, report.rejected), (rc.records, rc.accepted, rc.rejected));
        assert_eq!(report.id_column, rc.id_column);
        assert_eq!(report.coordinates, rc.coordinates);
        let kinds = |r: &ImportReport| r.columns.iter().map(|c| (c.name.clone(), c.kind)).collect::<Vec<_>>();
        assert_eq!(kinds(&report), kinds(&rc));
        for (a, b) in report.rejects.iter().zip(&rc.rejects) {
            assert_eq!((a.kind, a.row, &a.id, &a.message), (b.kind, b.row, &b.id, &b.message));
            assert_eq!(a.line, None);
        }
        assert_eq!(report.path, PathBuf::from("<DataFrame>"));
        assert_eq!(report.format, Format::Arrow { geometry: None });
        let first = &report.rejects[0];
        assert!(
            first.located(name).starts_with(&format!("<DataFrame>: row {}: ", first.row)),
            "{}",
            first.located(name)
        );
    }

    #[test]
    fn a_wkb_geometry_named_by_geo_metadata_gives_the_points() {
        let wkb = parquet::wkb_point_le;
        let mut line = vec![1u8];
        line.extend(2u32.to_le_bytes());
        let geoms: Vec<Option<Vec<u8>>> =
            vec![Some(wkb(-77.0, -12.0)), None, Some(line), Some(wkb(-77.01, -12.02)), Some(wkb(-77.02, -12.01))];
        let geo = r#"{"version":"1.0.0","primary_column":"geometry","columns":{"geometry":{"encoding":"WKB","geometry_types":["Point"]}}}"#;
        let schema = Arc::new(
            Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("geometry", DataType::Binary, true)])
                .with_metadata([("geo".to_string(), geo.to_string())]),
        );
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
                Arc::new(BinaryArray::from(geoms.iter().map(|g| g.as_deref()).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        let p = Progress::new();
        let (h, r) = import_arrow(
            Path::new("<DataFrame>"),
            reader(vec![batch], schema),
            &ImportOptions::default(),
            &Keep::All,
            &p,
        )
        .unwrap();
        assert_eq!(h.row, vec![1, 4, 5]);
        assert_eq!(h.lon_deg, vec![-77.0, -77.01, -77.02]);
        assert_eq!(r.format, Format::Arrow { geometry: Some("geometry".into()) });
        assert_eq!(r.rejects.iter().map(|i| i.row).collect::<Vec<_>>(), vec![2, 3]);
        assert!(r.rejects[1].message.contains("(row 3)"), "{}", r.rejects[1].message);
    }

    /// WKB of a point, or of a geometry of WKB type `t` with no coordinates after its header.
    fn wkb(t: u32, xy: Option<(f64, f64)>) -> Vec<u8> {
        let mut b = vec![1u8];
        b.extend(t.to_le_bytes());
        if let Some((x, y)) = xy {
            b.extend(x.to_le_bytes());
            b.extend(y.to_le_bytes());
        }
        b
    }

    /// A geometry field typed by its GeoArrow extension metadata, as geopandas' `to_arrow`
    /// writes it (`crs` as PROJJSON; `"{}"` when the GeoDataFrame has none).
    fn geoarrow_field(name: &str, t: DataType, ext: &str, meta: &str) -> Field {
        Field::new(name, t, true).with_metadata(std::collections::HashMap::from([
            ("ARROW:extension:name".to_string(), ext.to_string()),
            ("ARROW:extension:metadata".to_string(), meta.to_string()),
        ]))
    }

    const WGS84: &str =
        r#"{"crs": {"type": "GeographicCRS", "name": "WGS 84", "id": {"authority": "EPSG", "code": 4326}}}"#;

    /// A table of an id and a `geoarrow.wkb` geometry: points, a null, a LineString and a
    /// Polygon (rows 3 and 5).
    fn geoarrow_wkb_table(meta: &str) -> (Arc<Schema>, RecordBatch) {
        let geoms: Vec<Option<Vec<u8>>> = vec![
            Some(wkb(1, Some((-77.0, -12.0)))),
            None,
            Some(wkb(2, None)),
            Some(wkb(1, Some((-77.01, -12.02)))),
            Some(wkb(3, None)),
            Some(wkb(1, Some((-77.02, -12.01)))),
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            geoarrow_field("geometry", DataType::Binary, "geoarrow.wkb", meta),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e", "f"])),
                Arc::new(BinaryArray::from(geoms.iter().map(|g| g.as_deref()).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    fn import_table(schema: Arc<Schema>, batch: RecordBatch) -> Result<(Households, ImportReport), ImportError> {
        let p = Progress::new();
        import_arrow(Path::new("<DataFrame>"), reader(vec![batch], schema), &ImportOptions::default(), &Keep::All, &p)
    }

    /// A `geoarrow.wkb` field (no `geo` schema metadata) gives the points; a null, a
    /// LineString and a Polygon are rejected row by row with the kind and the words the Parquet
    /// reader gives the same geometries in a GeoParquet file, the place named by row.
    #[test]
    fn a_geoarrow_wkb_field_gives_the_points_and_rejects_other_geometries_as_parquet_does() {
        let (schema, batch) = geoarrow_wkb_table(WGS84);
        let (h, r) = import_table(schema, batch.clone()).unwrap();
        assert_eq!(h.row, vec![1, 4, 6]);
        assert_eq!(h.lon_deg, vec![-77.0, -77.01, -77.02]);
        assert_eq!(h.lat_deg, vec![-12.0, -12.02, -12.01]);
        assert_eq!(r.format, Format::Arrow { geometry: Some("geometry".into()) });
        assert!(r.notes.iter().all(|n| !n.contains("CRS")), "{:?}", r.notes);

        // The same table as a GeoParquet file, its geometry named by the `geo` metadata.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let plain = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("geometry", DataType::Binary, true),
        ]));
        let mut w =
            ::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), plain.clone(), None).unwrap();
        w.write(&RecordBatch::try_new(plain, batch.columns().to_vec()).unwrap()).unwrap();
        let geo = r#"{"version":"1.1.0","primary_column":"geometry","columns":{"geometry":{"encoding":"WKB","geometry_types":[]}}}"#;
        w.append_key_value_metadata(::parquet::file::metadata::KeyValue::new("geo".into(), geo.to_string()));
        w.close().unwrap();
        let (hp, rp) = super::super::import(&path, &ImportOptions::default(), &Keep::All, &Progress::new()).unwrap();
        assert_eq!(h.row, hp.row);
        assert_eq!(r.rejects.len(), 3);
        assert_eq!(r.rejects.len(), rp.rejects.len());
        for (a, b) in r.rejects.iter().zip(&rp.rejects) {
            assert_eq!((a.kind, a.row, &a.id), (b.kind, b.row, &b.id));
            // `(row 3) is a LineString; …` here, `(row group 1, row 3) is a LineString; …` there.
            let what = |m: &str| m.split_once(") ").map(|(_, w)| w.to_string()).unwrap();
            assert_eq!(what(&a.message), what(&b.message));
        }
        assert_eq!(r.rejects[1].kind, crate::data::IssueKind::UnsupportedGeometry);
        assert_eq!(
            r.rejects[2].located(Path::new("<DataFrame>")),
            "<DataFrame>: row 5: geometry \"geometry\" (row 5) is a Polygon; only Point geometries are households"
        );
    }

    /// A `geoarrow.point` field (native, interleaved x and y) gives the points.
    #[test]
    fn a_geoarrow_point_field_gives_the_points() {
        use arrow_array::FixedSizeListArray;
        let item = Arc::new(Field::new("xy", DataType::Float64, false));
        let xy = Float64Array::from(vec![-77.0, -12.0, -77.5, -12.5]);
        let points = FixedSizeListArray::new(item.clone(), 2, Arc::new(xy), None);
        let schema = Arc::new(Schema::new(vec![geoarrow_field(
            "geom",
            DataType::FixedSizeList(item, 2),
            "geoarrow.point",
            WGS84,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(points)]).unwrap();
        let (h, r) = import_table(schema, batch).unwrap();
        assert_eq!(h.lon_deg, vec![-77.0, -77.5]);
        assert_eq!(h.lat_deg, vec![-12.0, -12.5]);
        assert_eq!(r.format, Format::Arrow { geometry: Some("geom".into()) });
    }

    /// A GeoDataFrame without a CRS (`{}`) is read as longitude and latitude, with a note; a
    /// projected one is refused with what to do.
    #[test]
    fn a_geoarrow_crs_is_checked_as_geoparquet_s_is() {
        let (schema, batch) = geoarrow_wkb_table("{}");
        let (_, r) = import_table(schema, batch).unwrap();
        assert!(
            r.notes.iter().any(|n| n.contains("GeoArrow says the CRS of \"geometry\" is unknown")),
            "{:?}",
            r.notes
        );
        let utm = r#"{"crs": {"type": "ProjectedCRS", "name": "WGS 84 / UTM zone 18S", "id": {"authority": "EPSG", "code": 32718}}}"#;
        let (schema, batch) = geoarrow_wkb_table(utm);
        let e = import_table(schema, batch).err().unwrap().to_string();
        assert_eq!(
            e,
            "<DataFrame>: geometry column \"geometry\" is in EPSG:32718 (WGS 84 / UTM zone 18S); needmap reads \
             longitude and latitude (OGC:CRS84 / EPSG:4326): reproject it first (geopandas: gdf.to_crs(4326))"
        );
    }

    /// A native GeoArrow column of polygons has no household in it: an error naming it.
    #[test]
    fn a_geoarrow_polygon_field_is_an_error() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("latitude", DataType::Float64, false),
            Field::new("longitude", DataType::Float64, false),
            geoarrow_field("outline", DataType::Utf8, "geoarrow.polygon", WGS84),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Float64Array::from(vec![-12.0])),
                Arc::new(Float64Array::from(vec![-77.0])),
                Arc::new(StringArray::from(vec!["x"])),
            ],
        )
        .unwrap();
        let e = import_table(schema, batch).err().unwrap().to_string();
        assert!(
            e.starts_with("<DataFrame>: geometry column \"outline\" is of GeoArrow type \"geoarrow.polygon\""),
            "{e}"
        );
    }

    /// The Lima sample read into Arrow batches from its own text (a column of numbers as
    /// Float64 with nulls where empty, any other as strings, as `pandas.read_csv` and
    /// `Table.from_pandas` would type it) imports as the CSV file does: the same households,
    /// values, column kinds and report figures.
    #[test]
    fn the_lima_sample_imports_as_its_csv_does() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/lima_households.csv");
        let mut rdr = ::csv::Reader::from_path(&path).unwrap();
        let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<Vec<String>> = rdr.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (c, name) in headers.iter().enumerate() {
            let numbers: Option<Vec<Option<f64>>> = rows
                .iter()
                .map(|r| if r[c].is_empty() { Some(None) } else { r[c].parse::<f64>().ok().map(Some) })
                .collect();
            match numbers {
                Some(v) => {
                    fields.push(Field::new(name, DataType::Float64, true));
                    arrays.push(Arc::new(Float64Array::from(v)));
                }
                None => {
                    fields.push(Field::new(name, DataType::Utf8, true));
                    let v: Vec<Option<&str>> =
                        rows.iter().map(|r| Some(r[c].as_str()).filter(|s| !s.is_empty())).collect();
                    arrays.push(Arc::new(StringArray::from(v)));
                }
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
        let half = batch.num_rows() / 2;
        let batches = vec![batch.slice(0, half), batch.slice(half, batch.num_rows() - half)];
        let p = Progress::new();
        let name = Path::new("<DataFrame>");
        let (h, r) = import_arrow(name, reader(batches, schema), &ImportOptions::default(), &Keep::All, &p).unwrap();
        let (hc, rc) = super::super::import(&path, &ImportOptions::default(), &Keep::All, &p).unwrap();
        assert!(h.len() > 19_000);
        assert_eq!(h.row, hc.row);
        assert_eq!(h.lat_deg, hc.lat_deg);
        assert_eq!(h.lon_deg, hc.lon_deg);
        assert_eq!(h.columns.len(), hc.columns.len());
        for c in 0..h.columns.len() {
            assert_eq!(h.columns[c].name, hc.columns[c].name);
            // Text columns hold the same text; number columns the same numbers (the text of
            // `3.00` is `3` from a float, as in a CSV pandas writes).
            assert_eq!(h.numbers(c), hc.numbers(c), "{}", h.columns[c].name);
            if h.numbers(c).iter().all(Option::is_none) {
                for i in 0..h.len() {
                    assert_eq!(h.text(i, c), hc.text(i, c));
                }
            }
        }
        assert_eq!((r.records, r.accepted, r.rejected), (rc.records, rc.accepted, rc.rejected));
        assert_eq!(r.id_column, rc.id_column);
        assert_eq!(r.coordinates, rc.coordinates);
        let kinds = |r: &ImportReport| r.columns.iter().map(|c| (c.name.clone(), c.kind)).collect::<Vec<_>>();
        assert_eq!(kinds(&r), kinds(&rc));
        let issues = |v: &[crate::data::Issue]| v.iter().map(|i| (i.kind, i.row)).collect::<Vec<_>>();
        assert_eq!(issues(&r.rejects), issues(&rc.rejects));
        assert_eq!(issues(&r.flags), issues(&rc.flags));
    }

    /// Int64 ids are written as their numbers; ids that are strings keep their leading zeros;
    /// a null id is empty, as in a CSV.
    #[test]
    fn ids_keep_their_text_and_nulls_are_empty() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("household_id", DataType::Utf8, true),
            Field::new("code", DataType::Int64, true),
            Field::new("latitude", DataType::Float64, true),
            Field::new("longitude", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("007"), Some("0100"), None, Some("x")])),
                Arc::new(Int64Array::from(vec![Some(7), None, Some(-3), Some(12)])),
                Arc::new(Float64Array::from(vec![Some(-12.0), Some(-12.1), Some(-12.2), Some(-12.3)])),
                Arc::new(Float64Array::from(vec![Some(-77.0), Some(-77.1), Some(-77.2), None])),
            ],
        )
        .unwrap();
        let p = Progress::new();
        let name = Path::new("<DataFrame>");
        let (h, r) =
            import_arrow(name, reader(vec![batch], schema), &ImportOptions::default(), &Keep::All, &p).unwrap();
        let id = h.columns.iter().position(|c| c.name == "household_id").unwrap();
        let code = h.columns.iter().position(|c| c.name == "code").unwrap();
        assert_eq!(h.row, vec![1, 2, 3]);
        assert_eq!((h.text(0, id), h.text(1, id), h.text(2, id)), ("007", "0100", ""));
        assert_eq!((h.text(0, code), h.text(1, code), h.text(2, code)), ("7", "", "-3"));
        assert_eq!(r.rejects.len(), 1);
        let bad = r.rejects[0].located(name);
        assert!(bad.starts_with("<DataFrame>: row 4: "), "{bad}");
    }
}
