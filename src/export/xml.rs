//! Escaping text for the XML formats (`zones.kml`, `zones.gpx`).
//!
//! XML 1.0 can carry every Unicode character except NUL, the other C0 controls but tab, line
//! feed and carriage return, the surrogates and U+FFFE/U+FFFF — not even as character
//! references. Survey text can hold them (a stray `\u{1}` pasted from a spreadsheet), so
//! they are written as U+FFFD (�): the file stays well-formed and a reader sees where
//! something was. Everything else round-trips exactly through any conforming parser:
//! `&`, `<`, `>` are escaped, a carriage return is written `&#13;` (a literal one would be
//! normalised to a line feed), and in attribute values quotes, tabs and line feeds are
//! character references too (attribute-value normalisation would turn them into spaces).

/// The text as an XML reader will return it: characters XML cannot carry replaced by U+FFFD.
pub fn xml_safe(s: &str) -> String {
    s.chars().map(|c| if representable(c) { c } else { char::REPLACEMENT_CHARACTER }).collect()
}

fn representable(c: char) -> bool {
    !matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Appends `s` escaped for element content.
pub fn push_text(out: &mut String, s: &str) {
    push(out, s, false);
}

/// Appends `s` escaped for an attribute value in double quotes.
pub fn push_attr(out: &mut String, s: &str) {
    push(out, s, true);
}

/// `s` escaped for element content.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_text(&mut out, s);
    out
}

fn push(out: &mut String, s: &str, attr: bool) {
    // Fast path: nothing to escape (most survey values).
    if !s.chars().any(|c| matches!(c, '&' | '<' | '>' | '"' | '\t' | '\n' | '\r') || !representable(c)) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            c if !representable(c) => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
}

/// `s` escaped for HTML inside a KML description: the HTML is itself text, so it is escaped
/// twice — once as HTML here, once as XML when written.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_in_text_and_attributes() {
        assert_eq!(text("a < b & c > d \"q\""), "a &lt; b &amp; c &gt; d \"q\"");
        let mut a = String::new();
        push_attr(&mut a, "x\"y\tz\nw\r");
        assert_eq!(a, "x&quot;y&#9;z&#10;w&#13;");
    }

    #[test]
    fn carriage_return_survives_line_end_normalisation() {
        assert_eq!(text("one\r\ntwo"), "one&#13;\ntwo");
    }

    #[test]
    fn controls_xml_cannot_carry_become_the_replacement_character() {
        assert_eq!(text("a\u{1}b\u{1f}c\u{7f}d"), "a\u{fffd}b\u{fffd}c\u{7f}d");
        assert_eq!(xml_safe("\u{b}\t\n\r\u{ffff}"), "\u{fffd}\t\n\r\u{fffd}");
    }

    #[test]
    fn unicode_passes_unchanged() {
        let s = "مرحبا 😀 Villa María";
        assert_eq!(text(s), s);
    }

    #[test]
    fn html_inside_xml_is_escaped_twice() {
        assert_eq!(text(&html("<b>&")), "&amp;lt;b&amp;gt;&amp;amp;");
    }
}
