//! CSV and TSV: the delimiter is sniffed (`,` `;` tab `|`), a UTF-8 byte-order mark is
//! skipped, and a field that is not valid UTF-8 is read as Latin-1 (counted in the report's
//! notes). Quoted fields may hold delimiters, quotes and line breaks.

use std::fs::File;
use std::io::{BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use super::{Format, Handover, ImportError, Rec, Source};

pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    headers: Vec<String>,
    hxl: Option<Vec<String>>,
    /// A record read while looking for the HXL row, to hand out first.
    pending: Option<Rec>,
    delimiter: u8,
    rows: u32,
    latin1_fields: u64,
    len: u64,
    bom: bool,
    /// (first line, last line) of a last record whose quote never closed: the csv crate reads
    /// everything from the quote to the end of the file as one field.
    unclosed: Option<(u64, u64)>,
    /// (line, line breaks) of the last field of the record read last, when it has any.
    last_breaks: Option<(u64, u64)>,
}

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Picks the delimiter that splits the first lines into the same number of fields, most
/// fields first. Counting skips quoted text.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    for &b in head {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && b == b'\n' {
            lines.push(counts);
            counts = [0; 4];
            if lines.len() == 30 {
                break;
            }
        } else if !in_quotes && let Some(k) = CANDIDATES.iter().position(|&c| c == b) {
            counts[k] += 1;
        }
    }
    if lines.len() < 30 && counts.iter().any(|&c| c > 0) {
        lines.push(counts);
    }
    let Some(first) = lines.first() else {
        return b',';
    };
    let mut best = (0usize, 0usize, b',');
    for k in 0..4 {
        let n = first[k];
        if n == 0 {
            continue;
        }
        let agree = lines.iter().filter(|l| l[k] == n).count();
        if (agree, n) > (best.0, best.1) {
            best = (agree, n, CANDIDATES[k]);
        }
    }
    best.2
}

pub(super) fn decode(bytes: &[u8], latin1: &mut u64, out: &mut Rec) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push(s),
        Err(_) => {
            *latin1 += 1;
            let s: String = bytes.iter().map(|&b| b as char).collect();
            out.push(&s);
        }
    }
}

impl CsvSource {
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let io = |e: std::io::Error| ImportError::file(path, format!("cannot read: {e}"));
        let mut f = File::open(path).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        let mut head = vec![0u8; 64 * 1024];
        let mut n = 0;
        while n < head.len() {
            let k = f.read(&mut head[n..]).map_err(io)?;
            if k == 0 {
                break;
            }
            n += k;
        }
        head.truncate(n);
        let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
        let body = if bom { &head[3..] } else { &head[..] };
        // UTF-16 (Excel's "Unicode text"): a BOM, or NULs in every other byte of the first line.
        let utf16_bom = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
        let pairs: Vec<&[u8]> = head.chunks_exact(2).take(64).collect();
        let half_nul = pairs.len() >= 4
            && (pairs.iter().all(|p| p[1] == 0 && p[0] != 0) || pairs.iter().all(|p| p[0] == 0 && p[1] != 0));
        if utf16_bom || half_nul {
            return Err(ImportError::file(path, "is UTF-16 text; save it as UTF-8 (in Excel: Save As, CSV UTF-8)"));
        }
        if body.iter().take(8192).any(|&b| b == 0) {
            return Err(ImportError::file(
                path,
                "is not a text file (it has NUL bytes); give a CSV, TSV, XLSX, GeoJSON or GeoParquet file",
            ));
        }
        let delimiter = sniff_delimiter(body);
        f.seek(SeekFrom::Start(if bom { 3 } else { 0 })).map_err(io)?;
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(256 * 1024, f));
        let mut s = Self {
            path: path.to_path_buf(),
            reader,
            record: csv::ByteRecord::new(),
            headers: Vec::new(),
            hxl: None,
            pending: None,
            delimiter,
            rows: 0,
            latin1_fields: 0,
            len,
            bom,
            unclosed: None,
            last_breaks: None,
        };
        let mut header = Rec::default();
        if !s.read(&mut header)? {
            return Err(ImportError::file(path, "is empty; expected a header row and household records"));
        }
        s.headers = unique_headers((0..header.len()).map(|i| header.get(i).trim().to_string()));
        // HXL: a row of hashtags right under the header is part of the header.
        let mut second = Rec::default();
        if s.read(&mut second)? {
            let cells: Vec<&str> = (0..second.len()).map(|i| second.get(i).trim()).collect();
            let tagged = cells.iter().filter(|c| !c.is_empty()).all(|c| c.starts_with('#'))
                && cells.iter().any(|c| c.starts_with('#'));
            if tagged {
                s.hxl = Some(cells.iter().map(|c| c.to_string()).collect());
            } else {
                s.rows = 1;
                second.row = 1;
                s.pending = Some(second);
            }
        }
        Ok(s)
    }

    fn read(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        rec.clear();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                if let Some((line, breaks)) = self.last_breaks.take() {
                    self.unclosed = self.unclosed_quote(line, breaks);
                }
                Ok(false)
            }
            Ok(true) => {
                rec.line = self.record.position().map_or(0, |p| p.line());
                for field in self.record.iter() {
                    decode(field, &mut self.latin1_fields, rec);
                }
                // Line breaks in the last field: if this turns out to be the file's last record,
                // its quote may never have closed.
                self.last_breaks = self
                    .record
                    .iter()
                    .next_back()
                    .map(|f| f.trim_ascii_end().iter().filter(|&&b| b == b'\n').count() as u64)
                    .filter(|&n| n > 0)
                    .map(|n| (rec.line, n));
                Ok(true)
            }
            Err(e) => {
                let (line, column) = match e.position() {
                    Some(p) => (p.line(), 1),
                    None => (0, 0),
                };
                Err(ImportError::At { path: self.path.clone(), line, column, problem: format!("cannot parse: {e}") })
            }
        }
    }
}

impl CsvSource {
    /// For the file's last record (from `first_line`, `breaks` line breaks in its last field):
    /// the lines it spans when the file does not end with the closing quote, i.e. a quote
    /// opened in it was never closed.
    fn unclosed_quote(&self, first_line: u64, breaks: u64) -> Option<(u64, u64)> {
        let mut f = File::open(&self.path).ok()?;
        let from = self.len.saturating_sub(64);
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(from)).ok()?;
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).ok()?;
        let end = tail.iter().rposition(|b| !b.is_ascii_whitespace())?;
        (tail[end] != b'"').then_some((first_line, first_line + breaks))
    }
}

/// Blank header names become `column_N`; a repeated name gets `_2`, `_3`…
pub(crate) fn unique_headers(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, n) in names.enumerate() {
        let base = if n.is_empty() { format!("column_{}", i + 1) } else { n };
        let mut name = base.clone();
        let mut k = 2;
        while out.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        out.push(name);
    }
    out
}

impl Source for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn hxl(&self) -> Option<&[String]> {
        self.hxl.as_deref()
    }

    fn next(&mut self, rec: &mut Rec) -> Result<bool, ImportError> {
        if let Some(p) = self.pending.take() {
            *rec = p;
            return Ok(true);
        }
        if !self.read(rec)? {
            return Ok(false);
        }
        self.rows += 1;
        rec.row = self.rows;
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        (self.reader.position().byte(), self.len)
    }

    fn format(&self) -> Format {
        Format::Csv { delimiter: self.delimiter as char }
    }

    fn handover(&self) -> Option<Handover> {
        if self.pending.is_some() {
            return None;
        }
        let p = self.reader.position();
        Some(Handover {
            offset: p.byte() + if self.bom { 3 } else { 0 },
            line: p.line(),
            rows: self.rows,
            delimiter: self.delimiter,
        })
    }

    fn resume(&mut self, at: &Handover, latin1_fields: u64) -> Result<(), ImportError> {
        self.latin1_fields += latin1_fields;
        self.rows = at.rows;
        let mut pos = csv::Position::new();
        pos.set_byte(at.offset - if self.bom { 3 } else { 0 }).set_line(at.line);
        self.reader.seek_raw(SeekFrom::Start(at.offset), pos).map_err(|e| ImportError::At {
            path: self.path.clone(),
            line: at.line,
            column: 1,
            problem: format!("cannot read: {e}"),
        })
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some((first, last)) = self.unclosed {
            notes.push(format!(
                "line {first}: a quote (\") opened in this record is never closed, so everything from it to the end of \
                 the file (line {last}) was read as one value; close or remove that quote and read the file again"
            ));
        }
        if self.bom {
            notes.push("UTF-8 with a byte-order mark".to_string());
        }
        if self.latin1_fields > 0 {
            notes.push(format!(
                "{} fields were not valid UTF-8 and were read as Latin-1 (ISO-8859-1); save the file as UTF-8 to be sure",
                self.latin1_fields
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_delimiters() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2,5;3\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"x,y\";b\n\"1,2\";3\n"), b';');
        assert_eq!(sniff_delimiter(b"single\n1\n"), b',');
    }

    #[test]
    fn unique_header_names() {
        let h = unique_headers(["a", "", "a", "a"].iter().map(|s| s.to_string()));
        assert_eq!(h, ["a", "column_2", "a_2", "a_3"]);
    }
}
