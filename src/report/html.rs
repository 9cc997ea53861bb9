//! The small pieces the report is written with: escaping (every text that did not come from
//! this program goes through [`esc`]), numbers as people read them, tables, and base64 for
//! the embedded images. A hand-written string builder: the report is one page with a fixed
//! shape, not worth a template engine.

/// `s` as HTML text or attribute value: `& < > " '` become references and control
/// characters (which HTML cannot carry) become U+FFFD, so any text — a column named
/// `<script>`, an id with quotes, right-to-left script, emoji — shows as the text it is.
///
/// ```
/// use needmap::report::html::esc;
/// assert_eq!(esc(r#"<b title="x">Tom & 'Jerry'</b>"#), "&lt;b title=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt;");
/// assert_eq!(esc("a\u{0}b\tc 🏠 مرحبا"), "a\u{FFFD}b\tc 🏠 مرحبا");
/// ```
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// User text (a column name, an id, a file name) escaped and isolated in `<bdi>`, so
/// right-to-left text shows in its own direction without reordering what is around it.
pub fn user(s: &str) -> String {
    format!("<bdi>{}</bdi>", esc(s))
}

/// A whole number with thin-space thousands (SI style, read the same in English and
/// Spanish): `20 223`.
///
/// ```
/// use needmap::report::html::count;
/// assert_eq!(count(20223), "20\u{202F}223");
/// assert_eq!(count(999), "999");
/// assert_eq!(count(1234567), "1\u{202F}234\u{202F}567");
/// ```
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202F}');
        }
        out.push(c);
    }
    out
}

/// `v` with `decimals` decimals and a decimal point, thousands grouped as in [`count`];
/// an empty string for a missing or non-finite value.
///
/// ```
/// use needmap::report::html::num;
/// assert_eq!(num(Some(5632568.24), 1), "5\u{202F}632\u{202F}568.2");
/// assert_eq!(num(Some(-0.6442), 3), "-0.644");
/// assert_eq!(num(None, 2), "");
/// ```
pub fn num(v: Option<f64>, decimals: usize) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else { return String::new() };
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let grouped = int.parse::<u64>().map(count).unwrap_or_else(|_| int.to_string());
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A share as a percentage with one decimal: `0.6237` → `62.4 %`.
pub fn percent(share: Option<f64>) -> String {
    match share.filter(|v| v.is_finite()) {
        Some(v) => format!("{}\u{A0}%", num(Some(v * 100.0), 1)),
        None => String::new(),
    }
}

/// A table: header cells (text, right-aligned?) and rows of cells that are already HTML.
pub struct Table {
    pub id: Option<&'static str>,
    pub head: Vec<(String, bool)>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(id: Option<&'static str>, head: Vec<(String, bool)>) -> Self {
        Self { id, head, rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table in a horizontally scrollable box (on screen; printed, it wraps instead).
    pub fn html(&self) -> String {
        let mut s = String::from("<div class=\"wide\"><table");
        if let Some(id) = self.id {
            s += &format!(" id=\"{id}\"");
        }
        s += "><thead><tr>";
        for (h, right) in &self.head {
            s += &format!("<th{}>{}</th>", if *right { " class=\"n\"" } else { "" }, esc(h));
        }
        s += "</tr></thead><tbody>\n";
        for row in &self.rows {
            s += "<tr>";
            for (i, cell) in row.iter().enumerate() {
                let right = self.head.get(i).is_some_and(|h| h.1);
                s += &format!("<td{}>{cell}</td>", if right { " class=\"n\"" } else { "" });
            }
            s += "</tr>\n";
        }
        s += "</tbody></table></div>\n";
        s
    }
}

/// Standard base64 (RFC 4648, with padding), for `data:` URIs.
///
/// ```
/// use needmap::report::html::base64;
/// assert_eq!(base64(b""), "");
/// assert_eq!(base64(b"f"), "Zg==");
/// assert_eq!(base64(b"fo"), "Zm8=");
/// assert_eq!(base64(b"foobar"), "Zm9vYmFy");
/// ```
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_has_no_markup_left() {
        let hostile = "<script>alert(\"x\")</script> & 'q' \u{202E}evil\u{202C} 🏠 שלום";
        let e = esc(hostile);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        // Undoing the five references gives the text back.
        let back = e
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        assert_eq!(back, hostile);
    }

    #[test]
    fn numbers_round_and_group() {
        assert_eq!(num(Some(0.0004), 3), "0.000");
        assert_eq!(num(Some(-0.0004), 3), "0.000");
        assert_eq!(num(Some(1234.4), 0), "1\u{202F}234");
        assert_eq!(num(Some(f64::NAN), 1), "");
        assert_eq!(percent(Some(0.6237)), "62.4\u{A0}%");
    }

    #[test]
    fn base64_of_every_tail_length() {
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
