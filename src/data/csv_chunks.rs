//! The parallel CSV reader: after the header and the detection sample, a CSV file (lines
//! ending in `\n` or `\r\n`) is read in blocks of a few MB, each cut at record ends into
//! chunks that are split and checked in parallel, and merged in input order. Only the kept
//! columns' text is copied; no copy of the file is kept.
//!
//! It reads exactly what the csv crate would: the same records, fields, record numbers and
//! lines (the line the csv crate reports for a record is 1 + the line feeds before the end
//! of the previous record's first terminator byte: after a `\r\n` record, the line of that
//! record; after blank lines, the first blank one), so messages do not depend on the path
//! a record took. Quoted fields (Kobo and most spreadsheets quote every field) are read here
//! when they are well formed: a quote opens a field only at its start, `""` inside is a
//! quote, the closing quote is followed by a delimiter or a line end; a line feed inside
//! quotes is field text, so records end only at line feeds outside quotes (counted from the
//! block's start, which is a record's start). A chunk with anything else (a quote inside an
//! unquoted field, text after a closing quote, a lone `\r`) hands the rest of the file back
//! to the csv crate, from the end of the last record read here. A field that is not UTF-8 is
//! decoded as the csv path does (Latin-1).

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};

use memchr::{memchr, memchr_iter, memchr2, memchr2_iter, memrchr};
use rayon::prelude::*;

use super::{Builder, Cells, Checker, Fields, Handover, ImportError, Issue, Rec};
use crate::progress::Progress;

/// How the parallel reader ended.
pub(crate) enum Outcome {
    /// It read to the end of the file.
    Done { latin1_fields: u64 },
    /// It met something only the csv crate reads: go on from `at`.
    HandBack { at: Handover, latin1_fields: u64 },
}

/// One line of a chunk, split at the delimiters in place.
struct Line<'a> {
    text: &'a str,
    /// Byte offsets of the delimiters in `text`.
    delims: &'a [u32],
}

impl Fields for Line<'_> {
    #[inline]
    fn count(&self) -> usize {
        self.delims.len() + 1
    }

    #[inline]
    fn field(&self, i: usize) -> &str {
        let n = self.delims.len();
        if i > n {
            return "";
        }
        let a = if i == 0 { 0 } else { self.delims[i - 1] as usize + 1 };
        let b = if i == n { self.text.len() } else { self.delims[i] as usize };
        &self.text[a..b]
    }
}

/// What one chunk yields. Record numbers and lines are relative to the chunk; the first
/// record's line depends on the chunk before, so it is settled in [`merge`].
struct Part {
    records: u32,
    /// Line feeds in the chunk.
    newlines: u32,
    /// After the last record: the line the next record would be reported on (relative to
    /// the chunk's first line) and the offset just after the record's first terminator byte.
    last: Option<(u32, usize)>,
    latin1_fields: u64,
    /// Per candidate: its record's number in the chunk (0-based) and reported line.
    rec: Vec<u32>,
    line: Vec<u32>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    accuracy_m: Vec<f32>,
    id_key: Vec<u64>,
    cells: Cells,
    /// (record, reported line, issue).
    rejects: Vec<(u32, u32, Issue)>,
    /// (candidate, issue).
    flags: Vec<(u32, Issue)>,
}

impl Part {
    fn new(n_cols: usize) -> Self {
        Self {
            records: 0,
            newlines: 0,
            last: None,
            latin1_fields: 0,
            rec: Vec::new(),
            line: Vec::new(),
            lat: Vec::new(),
            lon: Vec::new(),
            accuracy_m: Vec::new(),
            id_key: Vec::new(),
            cells: Cells::new(n_cols),
            rejects: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Empties it, keeping its buffers for the next block.
    fn clear(&mut self) {
        self.records = 0;
        self.newlines = 0;
        self.last = None;
        self.latin1_fields = 0;
        self.rec.clear();
        self.line.clear();
        self.lat.clear();
        self.lon.clear();
        self.accuracy_m.clear();
        self.id_key.clear();
        self.cells.clear();
        self.rejects.clear();
        self.flags.clear();
    }

    fn take(&mut self, chk: &Checker, rec: &impl Fields, k: u32, line: u32) {
        match chk.check(rec, 0, 0, None) {
            Err(issue) => self.rejects.push((k, line, issue)),
            Ok(a) => {
                let c = self.rec.len() as u32;
                self.flags.extend(a.flags.into_iter().map(|f| (c, f)));
                self.rec.push(k);
                self.line.push(line);
                self.lat.push(a.lat);
                self.lon.push(a.lon);
                if chk.has_accuracy() {
                    self.accuracy_m.push(a.accuracy_m.map_or(f32::NAN, |v| v as f32));
                }
                self.id_key.push(chk.id_key(rec));
                self.cells.push_row(chk.keep_cols().iter().map(|&c| rec.field(c)));
            }
        }
    }
}

/// Splits and checks one chunk (whole lines) into `p`; `false` when it holds what only the
/// csv crate reads.
fn parse_part(chk: &Checker, bytes: &[u8], delimiter: u8, p: &mut Part) -> bool {
    p.clear();
    if memchr_iter(b'\r', bytes).any(|k| bytes.get(k + 1) != Some(&b'\n')) {
        return false;
    }
    let text = std::str::from_utf8(bytes).ok();
    let mut delims: Vec<u32> = Vec::with_capacity(64);
    let mut decoded = Rec::default();
    let mut field: Vec<u8> = Vec::new();
    let mut pos = 0;
    let mut line = 0u32;
    let mut next_report = 0u32;
    while pos < bytes.len() {
        let (end, terminated) = match memchr(b'\n', &bytes[pos..]) {
            Some(k) => (pos + k, true),
            None => (bytes.len(), false),
        };
        if memchr(b'"', &bytes[pos..end]).is_some() {
            // A record with quoted fields, maybe over several lines.
            let Some(r) = quoted_record(bytes, pos, delimiter, &mut decoded, &mut field, &mut p.latin1_fields) else {
                return false;
            };
            let k = p.records;
            p.records += 1;
            p.take(chk, &decoded, k, next_report);
            line += r.quoted_newlines;
            next_report = line + u32::from(!r.crlf);
            p.last = Some((next_report, if r.crlf { r.end } else { r.end + usize::from(r.terminated) }));
            if r.terminated {
                line += 1;
            }
            pos = r.end + 1;
            continue;
        }
        let crlf = terminated && end > pos && bytes[end - 1] == b'\r';
        let content_end = end - usize::from(crlf);
        if content_end > pos {
            let k = p.records;
            p.records += 1;
            let content = &bytes[pos..content_end];
            delims.clear();
            delims.extend(memchr_iter(delimiter, content).map(|d| d as u32));
            let utf8 = match text {
                Some(t) => Some(&t[pos..content_end]),
                None => std::str::from_utf8(content).ok(),
            };
            match utf8 {
                Some(t) => p.take(chk, &Line { text: t, delims: &delims }, k, next_report),
                None => {
                    decoded.clear();
                    for field in content.split(|&b| b == delimiter) {
                        super::csv::decode(field, &mut p.latin1_fields, &mut decoded);
                    }
                    p.take(chk, &decoded, k, next_report);
                }
            }
            next_report = line + u32::from(!crlf);
            p.last = Some((next_report, if crlf { end } else { end + usize::from(terminated) }));
        }
        if terminated {
            line += 1;
        }
        pos = end + 1;
    }
    p.newlines = line;
    true
}

/// Where a record with quoted fields ends.
struct QuotedEnd {
    /// Offset of its line feed (after the `\r` of a `\r\n`), or the chunk's end.
    end: usize,
    terminated: bool,
    crlf: bool,
    /// Line feeds inside its quoted fields.
    quoted_newlines: u32,
}

/// Reads the record at `pos` as csv_core does (quotes open a field only at its start, `""`
/// inside one is a quote), its fields unescaped and decoded into `rec` as the csv path
/// decodes them. `None` for what only the csv crate reads: a quote inside an unquoted field,
/// anything but a delimiter or a line end after a closing quote, a quote still open at the
/// end of the chunk.
fn quoted_record(
    bytes: &[u8],
    pos: usize,
    delimiter: u8,
    rec: &mut Rec,
    field: &mut Vec<u8>,
    latin1: &mut u64,
) -> Option<QuotedEnd> {
    rec.clear();
    let mut i = pos;
    let mut quoted_newlines = 0u32;
    let done = |end: usize, terminated: bool, crlf: bool, quoted_newlines: u32| {
        Some(QuotedEnd { end, terminated, crlf, quoted_newlines })
    };
    loop {
        if bytes.get(i) == Some(&b'"') {
            field.clear();
            i += 1;
            loop {
                let q = i + memchr(b'"', &bytes[i..])?;
                quoted_newlines += memchr_iter(b'\n', &bytes[i..q]).count() as u32;
                field.extend_from_slice(&bytes[i..q]);
                if bytes.get(q + 1) == Some(&b'"') {
                    field.push(b'"');
                    i = q + 2;
                } else {
                    i = q + 1;
                    break;
                }
            }
            super::csv::decode(field, latin1, rec);
            match bytes.get(i) {
                None => return done(bytes.len(), false, false, quoted_newlines),
                Some(&b) if b == delimiter => i += 1,
                Some(b'\n') => return done(i, true, false, quoted_newlines),
                Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => return done(i + 1, true, true, quoted_newlines),
                Some(_) => return None,
            }
        } else {
            let stop = memchr2(delimiter, b'\n', &bytes[i..]).map_or(bytes.len(), |k| i + k);
            let at_newline = bytes.get(stop) == Some(&b'\n');
            let crlf = at_newline && stop > i && bytes[stop - 1] == b'\r';
            let f = &bytes[i..stop - usize::from(crlf)];
            if memchr(b'"', f).is_some() {
                return None;
            }
            super::csv::decode(f, latin1, rec);
            match bytes.get(stop) {
                None => return done(bytes.len(), false, false, quoted_newlines),
                Some(b'\n') => return done(stop, true, crlf, quoted_newlines),
                Some(_) => i = stop + 1,
            }
        }
    }
}

/// Record ends in a block with quotes, the block starting at a record's start: a line feed
/// ends a record when an even number of quotes comes before it in the block (a doubled quote
/// counts twice, so it changes nothing). Quotes are counted with vector instructions; only
/// the few bytes between a target and the next record end are walked one hit at a time.
struct QuotedEnds<'a> {
    block: &'a [u8],
    /// Quotes in `block[..at]`.
    at: usize,
    quotes: usize,
}

impl<'a> QuotedEnds<'a> {
    fn new(block: &'a [u8]) -> Self {
        Self { block, at: 0, quotes: 0 }
    }

    /// The first record-ending line feed at or after `from` (≥ every earlier `from`).
    fn next_from(&mut self, from: usize) -> Option<usize> {
        self.quotes += memchr_iter(b'"', &self.block[self.at..from]).count();
        self.at = from;
        let mut quotes = self.quotes;
        for k in memchr2_iter(b'"', b'\n', &self.block[from..]) {
            if self.block[from + k] == b'"' {
                quotes += 1;
            } else if quotes.is_multiple_of(2) {
                return Some(from + k);
            }
        }
        None
    }

    /// The last record-ending line feed of the block.
    fn last(block: &[u8]) -> Option<usize> {
        let mut quotes = memchr_iter(b'"', block).count();
        for k in memchr2_iter(b'"', b'\n', block).rev() {
            if block[k] == b'"' {
                quotes -= 1;
            } else if quotes.is_multiple_of(2) {
                return Some(k);
            }
        }
        None
    }
}

/// Where the merged records end.
struct Cursor {
    /// Line of the first byte of the next chunk.
    base_line: u64,
    /// The line the next record is reported on.
    next_report: u64,
    rows: u32,
    /// Absolute offset just after the last record's first terminator byte.
    end: u64,
}

/// Appends a chunk's candidates, rejects and flags to the builder, in input order.
fn merge(b: &mut Builder, p: &mut Part, start: u64, cur: &mut Cursor) {
    let line_of = |k: u32, rel: u32| if k == 0 { cur.next_report } else { cur.base_line + u64::from(rel) } as u32;
    let seq0 = b.records as u32;
    let first = b.out.row.len();
    let o = &mut b.out;
    o.row.extend(p.rec.iter().map(|&k| cur.rows + k + 1));
    o.line.extend(p.rec.iter().zip(&p.line).map(|(&k, &l)| line_of(k, l)));
    b.seq.extend(p.rec.iter().map(|&k| seq0 + k + 1));
    o.lat_deg.extend_from_slice(&p.lat);
    o.lon_deg.extend_from_slice(&p.lon);
    if let Some(a) = &mut o.accuracy_m {
        a.extend_from_slice(&p.accuracy_m);
    }
    b.id_key.extend_from_slice(&p.id_key);
    o.cells.append(&p.cells);
    for (k, rel, mut issue) in p.rejects.drain(..) {
        issue.row = cur.rows + k + 1;
        issue.line = Some(line_of(k, rel));
        b.rejects.push((seq0 + k + 1, issue));
    }
    for (c, mut issue) in p.flags.drain(..) {
        let i = first + c as usize;
        issue.row = b.out.row[i];
        issue.line = Some(b.out.line[i]);
        b.flags.push((i as u32, issue));
    }
    b.records += p.records as usize;
    #[cfg(test)]
    tests::MERGED.with(|m| m.set(m.get() + u64::from(p.records)));
    cur.rows += p.records;
    if let Some((next, end)) = p.last {
        cur.next_report = cur.base_line + u64::from(next);
        cur.end = start + end as u64;
    }
    cur.base_line += u64::from(p.newlines);
}

/// Reads the rest of the file from `at` into `b`. See the module documentation.
pub(crate) fn read(
    b: &mut Builder,
    at: &Handover,
    progress: &Progress,
    block_bytes: usize,
) -> Result<Outcome, ImportError> {
    let path = b.chk.path;
    let io = |e: std::io::Error| ImportError::file(path, format!("cannot read: {e}"));
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(at.offset)).map_err(io)?;
    let mut cur = Cursor { base_line: at.line, next_report: at.line, rows: at.rows, end: at.offset };
    let mut latin1_fields = 0;
    let chunks_per_block = rayon::current_num_threads() * 4;
    // One part per chunk, reused from block to block.
    let mut parts: Vec<Part> = (0..chunks_per_block).map(|_| Part::new(b.chk.keep_cols().len())).collect();
    let mut buf: Vec<u8> = Vec::with_capacity(block_bytes + 1);
    let mut buf_start = at.offset;
    let mut want = block_bytes.max(1);
    let mut eof = false;
    loop {
        progress.check()?;
        if buf.len() < want && !eof {
            let need = want - buf.len();
            buf.reserve(need);
            let got = (&mut file).take(need as u64).read_to_end(&mut buf).map_err(io)?;
            eof = got < need;
        }
        if buf.is_empty() {
            break;
        }
        // With quotes, a line feed may sit inside a quoted field: only those outside quotes
        // end records.
        let quoted = memchr(b'"', &buf).is_some();
        let last_end = if quoted { QuotedEnds::last(&buf) } else { memrchr(b'\n', &buf) };
        let end = match last_end {
            _ if eof => buf.len(),
            Some(k) => k + 1,
            None => {
                // A record longer than the block: read more.
                want *= 2;
                continue;
            }
        };
        // Chunk bounds: about equal shares of the block, each moved to just after a record's end.
        let mut bounds = vec![0usize];
        let mut ends = QuotedEnds::new(&buf[..end]);
        for c in 1..chunks_per_block {
            let target = (end * c / chunks_per_block).max(*bounds.last().expect("starts with 0"));
            let next =
                if quoted { ends.next_from(target) } else { memchr(b'\n', &buf[target..end]).map(|k| target + k) };
            if let Some(k) = next {
                let bound = k + 1;
                if bound < end && bound > *bounds.last().expect("starts with 0") {
                    bounds.push(bound);
                }
            }
        }
        bounds.push(end);
        let read: Vec<bool> = {
            let (chk, region, delimiter) = (&b.chk, &buf[..end], at.delimiter);
            bounds
                .par_windows(2)
                .zip(parts.par_iter_mut())
                .map(|(w, part)| parse_part(chk, &region[w[0]..w[1]], delimiter, part))
                .collect()
        };
        for ((w, part), ok) in bounds.windows(2).zip(parts.iter_mut()).zip(read) {
            if !ok {
                let back = Handover { offset: cur.end, line: cur.next_report, rows: cur.rows, delimiter: at.delimiter };
                return Ok(Outcome::HandBack { at: back, latin1_fields });
            }
            latin1_fields += part.latin1_fields;
            merge(b, part, buf_start + w[0] as u64, &mut cur);
        }
        buf.drain(..end);
        buf_start += end as u64;
        progress.set(buf_start);
        want = block_bytes.max(1);
        if eof && buf.is_empty() {
            break;
        }
    }
    Ok(Outcome::Done { latin1_fields })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use proptest::prelude::*;

    use super::super::{ImportOptions, Keep, Tuning, import_tuned};
    use crate::progress::Progress;

    thread_local! {
        /// Records the parallel reader merged on this thread (merging runs on the caller's).
        pub(super) static MERGED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// One record line of a survey file, by kind; `i` makes ids and coordinates differ.
    fn line(kind: u8, i: usize, ending: &[u8], out: &mut Vec<u8>) {
        let lat = -12.0 - (i % 97) as f64 * 0.001;
        let lon = -77.0 - (i % 89) as f64 * 0.0013;
        let id = format!("H{i:05}");
        let body: Vec<u8> = match kind {
            // Ordinary rows, most of the file.
            0..=5 => format!("{id},{lat},{lon},{},{}", 100 + i % 500, 3 + i % 40).into_bytes(),
            6 => format!("H{:05},{lat},{lon},7,4", i / 2).into_bytes(), // duplicate id, often
            7 => format!("{id},{lat},{lon},7,4,extra").into_bytes(),    // too many fields
            8 => format!("{id},{lat},{lon}").into_bytes(),              // short row
            9 => format!("{id},abc,{lon},7,4").into_bytes(),            // not a number
            10 => format!("{id},95.5,{lon},7,4").into_bytes(),          // out of range
            11 => Vec::new(),                                           // blank line
            12 => [format!("{id},{lat},{lon},caf").as_bytes(), b"\xe9,4"].concat(), // Latin-1
            13 => format!("{id},-12.05,-77.05,7,4").into_bytes(),       // duplicate coordinates
            14 => format!("{id},{lon},{lat},7,4").into_bytes(),         // swapped
            15 => format!("{id},{lat},{lon},\"1,200\",4").into_bytes(), // quoted delimiter
            16 => format!("\"{id}\",\"{lat}\",\"{lon}\",\"7\",\"4\"").into_bytes(), // all quoted
            17 => format!("{id},{lat},{lon},\"say \"\"hi\"\"\",4").into_bytes(), // doubled quotes
            18 => format!("{id},{lat},{lon},\"two\nlines\",4").into_bytes(), // line feed in quotes
            19 => format!("{id},{lat},{lon},\"crlf\r\ninside\",4").into_bytes(), // CRLF in quotes
            20 => [format!("{id},{lat},{lon},\"caf").as_bytes(), b"\xe9\",\"\""].concat(), // Latin-1, empty quoted
            21 => format!("{id},{lat},{lon},ab\"c,4").into_bytes(),     // quote inside a field: the csv crate
            22 => format!("{id},{lat},{lon},\"ab\"c,4").into_bytes(),   // text after a quote: the csv crate
            23 => format!("{id},{lat},{lon},\"open").into_bytes(),      // quote left open: the csv crate
            24 => b"\"\"".to_vec(),                                     // one empty quoted field
            25 => format!("\"{id}\",{lat},{lon},,\"\"").into_bytes(),   // empty fields, quoted last
            _ => format!("{id},{lat},{lon},7\r8,4").into_bytes(),       // lone CR: the csv crate
        };
        out.extend_from_slice(&body);
        out.extend_from_slice(ending);
    }

    fn import_both(bytes: &[u8], keep: &Keep, block_bytes: usize) -> (String, String) {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        let opts = ImportOptions { accuracy_cutoff_m: Some(30.0), ..Default::default() };
        let run = |parallel_csv| {
            let r = import_tuned(
                f.path(),
                &opts,
                keep,
                &Progress::new(),
                Tuning { parallel_csv, block_bytes, ..Tuning::default() },
            );
            format!("{r:#?}")
        };
        (run(false), run(true))
    }

    /// A file of `kinds` after 200 ordinary records (the detection sample, read by the csv
    /// crate either way).
    fn file(kinds: &[(u8, bool)], last_terminated: bool) -> Vec<u8> {
        let mut out = b"id,lat,lon,income,gps_accuracy\n".to_vec();
        for i in 0..200 {
            line(0, i, b"\n", &mut out);
        }
        for (k, &(kind, crlf)) in kinds.iter().enumerate() {
            let last = k + 1 == kinds.len();
            let ending: &[u8] = match (last && !last_terminated, crlf) {
                (true, _) => b"",
                (false, true) => b"\r\n",
                (false, false) => b"\n",
            };
            line(kind, 200 + k, ending, &mut out);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// The parallel reader reads what the csv crate reads: the same households (rows,
        /// lines, coordinates, kept text) and the same report (every reject and flag with its
        /// line), whatever the block size, line endings, blank lines, non-UTF-8 bytes, and
        /// quotes or lone carriage returns that hand the rest back to the csv crate.
        #[test]
        fn reads_what_the_csv_crate_reads(
            kinds in prop::collection::vec(
                (prop_oneof![20 => 0u8..15, 6 => 15u8..21, 1 => 21u8..27], any::<bool>()),
                1..400,
            ),
            last_terminated in any::<bool>(),
            block in prop_oneof![Just(16usize), Just(64), Just(300), Just(4096), Just(8 << 20)],
            only_income in any::<bool>(),
        ) {
            let bytes = file(&kinds, last_terminated);
            let keep = if only_income { Keep::Only(vec!["income".into()]) } else { Keep::All };
            let (csv, parallel) = import_both(&bytes, &keep, block);
            prop_assert!(csv == parallel, "csv crate:\n{csv}\nparallel:\n{parallel}");
        }
    }

    /// A Kobo-like export, every field quoted, some with delimiters, doubled quotes and line
    /// feeds inside: read alike by both paths, and all of it after the detection sample by the
    /// parallel reader.
    #[test]
    fn quoted_files_are_read_in_parallel() {
        let kinds: Vec<(u8, bool)> = (0..3000).map(|i| ([16, 16, 16, 15, 17, 18, 19, 20][i % 8], i % 5 == 0)).collect();
        let bytes = file(&kinds, true);
        for block in [64, 4096, 1 << 20] {
            MERGED.with(|m| m.set(0));
            let (csv, parallel) = import_both(&bytes, &Keep::All, block);
            assert_eq!(csv, parallel, "block {block}");
            assert_eq!(MERGED.with(|m| m.get()), 3000, "block {block}: records the parallel reader read");
        }
        // A quote inside an unquoted field hands the rest back: still read alike.
        let mut kinds = kinds;
        kinds[1500] = (21, false);
        let bytes = file(&kinds, true);
        MERGED.with(|m| m.set(0));
        let (csv, parallel) = import_both(&bytes, &Keep::All, 4096);
        assert_eq!(csv, parallel);
        let merged = MERGED.with(|m| m.get());
        assert!((1000..1500).contains(&merged), "{merged} records read in parallel before the hand-back");
    }

    #[test]
    fn every_kind_of_line_is_read_alike() {
        // Each kind twice, once with each line ending, several block sizes.
        let kinds: Vec<(u8, bool)> = (0..27u8).flat_map(|k| [(k, false), (k, true)]).collect();
        let bytes = file(&kinds, true);
        for block in [16, 100, 1 << 20] {
            let (csv, parallel) = import_both(&bytes, &Keep::All, block);
            assert_eq!(csv, parallel, "block {block}");
        }
        // The comparison means something: the file has rejects, flags and Latin-1 fields.
        let (csv, _) = import_both(&bytes, &Keep::All, 1 << 20);
        for what in ["DuplicateId", "TooManyFields", "ShortRow", "ImpreciseGps", "DuplicateCoordinates", "Latin-1"] {
            assert!(csv.contains(what), "{what} missing from\n{csv}");
        }
    }
}
