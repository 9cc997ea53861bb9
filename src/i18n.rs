//! English and Spanish strings for every visible label: the app's, and those of what the CLI
//! writes for people to read (maps, atlases, reports).
//!
//! The strings live in `assets/i18n/en.toml` and `assets/i18n/es.toml` (flat `key = "text"`),
//! compiled into the binary. [`Strings::t`] looks a key up in the current language, falls back
//! to English, and shows the key itself if both miss (a test checks that never happens).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum Lang {
    #[default]
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The language's own name, as shown in the menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    /// Spanish when the system locale (`LC_ALL`, `LC_MESSAGES`, `LANG`) says so, else English.
    pub fn from_system() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var)
                && !v.is_empty()
            {
                return if v.to_ascii_lowercase().starts_with("es") { Lang::Es } else { Lang::En };
            }
        }
        Lang::En
    }
}

pub const EN_TOML: &str = include_str!("../assets/i18n/en.toml");
pub const ES_TOML: &str = include_str!("../assets/i18n/es.toml");

type Table = HashMap<String, String>;

fn parse(text: &str) -> Table {
    toml::from_str(text).unwrap_or_default()
}

fn table(lang: Lang) -> &'static Table {
    static EN: OnceLock<Table> = OnceLock::new();
    static ES: OnceLock<Table> = OnceLock::new();
    match lang {
        Lang::En => EN.get_or_init(|| parse(EN_TOML)),
        Lang::Es => ES.get_or_init(|| parse(ES_TOML)),
    }
}

/// The strings of one language.
#[derive(Clone, Copy)]
pub struct Strings {
    pub lang: Lang,
}

impl Strings {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The text for `key`.
    pub fn t(&self, key: &'static str) -> &'static str {
        table(self.lang).get(key).or_else(|| table(Lang::En).get(key)).map(|s| s.as_str()).unwrap_or(key)
    }

    /// The text for `key` with `{name}` placeholders filled in.
    pub fn f(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut s =
            table(self.lang).get(key).or_else(|| table(Lang::En).get(key)).cloned().unwrap_or_else(|| key.to_string());
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), &value.to_string());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_and_parse() {
        let en: Table = toml::from_str(EN_TOML).expect("en.toml parses");
        let es: Table = toml::from_str(ES_TOML).expect("es.toml parses");
        let mut missing_es: Vec<_> = en.keys().filter(|k| !es.contains_key(*k)).collect();
        let mut missing_en: Vec<_> = es.keys().filter(|k| !en.contains_key(*k)).collect();
        missing_es.sort();
        missing_en.sort();
        assert!(missing_es.is_empty(), "keys missing in es.toml: {missing_es:?}");
        assert!(missing_en.is_empty(), "keys missing in en.toml: {missing_en:?}");
        // Placeholders must match, or a Spanish label would lose its number.
        for (k, v) in &en {
            let ph = |s: &str| {
                let mut p: Vec<String> =
                    s.split('{').skip(1).filter_map(|r| r.split('}').next().map(String::from)).collect();
                p.sort();
                p
            };
            assert_eq!(ph(v), ph(&es[k]), "placeholders differ for {k}");
        }
    }

    /// Every `t("key")` / `f("key"` in the source exists in the English table.
    #[test]
    fn every_key_used_in_the_source_exists() {
        let en: Table = toml::from_str(EN_TOML).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![root.clone()];
        let mut missing = Vec::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                for e in std::fs::read_dir(&p).unwrap() {
                    files.push(e.unwrap().path());
                }
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") || p.ends_with("i18n.rs") {
                continue;
            }
            let src = std::fs::read_to_string(&p).unwrap();
            for pat in [".t(\"", ".f(\""] {
                for part in src.split(pat).skip(1) {
                    let key = part.split('"').next().unwrap();
                    if !en.contains_key(key) {
                        missing.push(format!("{}: {key}", p.display()));
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "keys used but not in en.toml:\n{}", missing.join("\n"));
    }
}
