//! Spreadsheets (XLSX, XLS, ODS) through `calamine`: the first sheet, or the one named. The
//! first non-empty row is the header. Lines in the report are sheet row numbers, as the
//! spreadsheet shows them.

use std::path::Path;

use calamine::{Data, Reader as _};

use super::{Format, ImportError, Rec, Source};

pub(crate) struct SheetSource {
    sheet: String,
    headers: Vec<String>,
    hxl: Option<Vec<String>>,
    rows: Vec<Rec>,
    next: usize,
}

/// The text of a cell as a person reads it: whole numbers without `.0`, dates in ISO 8601.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => {
                let s = t.to_string().replacen(' ', "T", 1);
                s.strip_suffix("T00:00:00").map(str::to_string).unwrap_or(s)
            }
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e}"),
    }
}

impl SheetSource {
    pub fn open(path: &Path, sheet: Option<&str>) -> Result<Self, ImportError> {
        let mut wb = calamine::open_workbook_auto(path).map_err(|e| {
            ImportError::file(path, format!("cannot be read as a spreadsheet ({e}); is it a valid XLSX/XLS/ODS file?"))
        })?;
        let names = wb.sheet_names();
        let name = match sheet {
            Some(s) => {
                names.iter().find(|n| n.as_str() == s || n.eq_ignore_ascii_case(s)).cloned().ok_or_else(|| {
                    ImportError::file(path, format!("has no sheet named {s:?}; its sheets are {names:?}"))
                })?
            }
            None => names.first().cloned().ok_or_else(|| ImportError::file(path, "has no sheets"))?,
        };
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| ImportError::file(path, format!("sheet {name:?} cannot be read: {e}")))?;
        let (row0, col0) = range.start().unwrap_or((0, 0));
        let mut rows = range.rows().enumerate().map(|(i, r)| (row0 as u64 + i as u64 + 1, r));
        let header = loop {
            match rows.next() {
                Some((_, r)) if r.iter().all(|c| matches!(c, Data::Empty)) => continue,
                Some((_, r)) => break r,
                None => return Err(ImportError::file(path, format!("sheet {name:?} is empty"))),
            }
        };
        let pad = col0 as usize;
        let headers = super::csv::unique_headers(
            std::iter::repeat_n(String::new(), pad).chain(header.iter().map(|c| cell_text(c).trim().to_string())),
        );
        let mut recs = Vec::new();
        let mut hxl = None;
        for (line, r) in rows {
            if r.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            let mut rec = Rec { line, ..Default::default() };
            for _ in 0..pad {
                rec.push("");
            }
            for c in r {
                rec.push(&cell_text(c));
            }
            if recs.is_empty() && hxl.is_none() {
                let cells: Vec<&str> = (0..rec.len()).map(|i| rec.get(i).trim()).collect();
                if cells.iter().any(|c| c.starts_with('#'))
                    && cells.iter().filter(|c| !c.is_empty()).all(|c| c.starts_with('#'))
                {
                    hxl = Some(cells.iter().map(|c| c.to_string()).collect());
                    continue;
                }
            }
            // Trailing empty cells are not extra fields.
            while rec.len() > headers.len() && rec.get(rec.len() - 1).is_empty() {
                let keep = rec.ends[rec.len() - 2];
                rec.ends.pop();
                rec.text.truncate(keep);
            }
            rec.row = recs.len() as u32 + 1;
            recs.push(rec);
        }
        Ok(Self { sheet: name, headers, hxl, rows: recs, next: 0 })
    }
}

impl Source for SheetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn hxl(&self) -> Option<&[String]> {
        self.hxl.as_deref()
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
        Format::Spreadsheet { sheet: self.sheet.clone() }
    }
}
