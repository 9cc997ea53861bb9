//! The `needmap report` subcommand: read a run folder, write its HTML report atomically.

use std::path::PathBuf;

use clap::Args;

use super::{ReportOptions, write_report};
use crate::i18n::Lang;
use crate::progress::Progress;

/// Flags of `needmap report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// The output folder of `needmap run`.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// The report to write (one HTML file, nothing else needed to open or print it).
    #[arg(long, value_name = "report.html")]
    pub out: PathBuf,
    /// Language of the labels.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Title at the top [default: "Critical-need zones: analysis report" in the chosen language].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `needmap report RUN_DIR --out report.html [--lang es]`.
pub fn report_command(a: &ReportArgs, progress: &Progress) -> anyhow::Result<()> {
    let ext = a.out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("html" | "htm")) {
        anyhow::bail!("{}: unknown output type; name the report with .html", a.out.display());
    }
    let opts = ReportOptions { lang: a.lang, title: a.title.clone() };
    write_report(&a.run_dir, &a.out, &opts, a.force, progress)?;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    eprintln!("needmap: report of {} ({} kB) → {}", a.run_dir.display(), size.div_ceil(1000), a.out.display());
    Ok(())
}
