//! The analysis being worked on (file, column mapping, indicators, parameters), saved as it
//! changes, so a crash, a killed process or a power cut loses no settings: the next start
//! offers to restore it.
//!
//! It is the same `analysis.toml` a user saves by hand (with the survey's path), written
//! atomically to `session.toml` beside the app's preferences.

use std::path::{Path, PathBuf};

use crate::analysis::Analysis;

/// Where the session lives (beside eframe's own storage), or `None` if there is no such place.
pub fn default_path() -> Option<PathBuf> {
    eframe::storage_dir("needmap").map(|d| d.join("session.toml"))
}

/// Keeps the session file up to date.
pub struct Session {
    path: PathBuf,
    /// The text last written (or read), so an unchanged analysis is not rewritten.
    last: String,
    /// The analysis last seen (with its survey): the app calls [`Session::save`] every frame,
    /// and an unchanged analysis costs a comparison, not a serialisation.
    seen: Option<Analysis>,
}

impl Session {
    pub fn new(path: PathBuf) -> Self {
        Self { path, last: String::new(), seen: None }
    }

    /// The analysis saved by an earlier run of the app, if it names a survey that still exists.
    pub fn saved(&mut self) -> Option<Analysis> {
        let a = Analysis::load(&self.path).ok()?;
        self.last = std::fs::read_to_string(&self.path).unwrap_or_default();
        a.input.path.as_deref().is_some_and(Path::exists).then_some(a)
    }

    /// Writes `analysis` (with `survey` as its input) if it changed since the last write.
    /// Errors are ignored: losing the session file must never disturb the work itself.
    pub fn save(&mut self, analysis: &Analysis, survey: Option<&Path>) {
        let mut a = analysis.clone();
        a.input.path = survey.map(Path::to_path_buf);
        if self.seen.as_ref() == Some(&a) {
            return;
        }
        let text = a.to_toml();
        if text != self.last {
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let written = crate::export::atomic::write_file(&self.path, None, true, |f| {
                use std::io::Write as _;
                f.write_all(text.as_bytes())
            });
            if written.is_err() {
                return; // tried again on the next frame
            }
            self.last = text;
        }
        self.seen = Some(a);
    }
}
