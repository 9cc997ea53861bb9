//! The command line: clap types, resolved once into what the core runs.
//!
//! Errors go to stderr as `needmap: <file>:<line>:<column>: <what>; <what to do>`, with exit
//! code 1 for bad input and 2 for bad usage; nothing is written on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::data::{self, ImportOptions, Keep};
use crate::progress::Progress;

#[derive(Parser, Debug)]
#[command(
    name = "needmap",
    version,
    about = "Find, rank and map critical-need zones in household survey data",
    long_about = "Find, rank and map critical-need zones in household survey data.\n\n\
                  With no subcommand, needmap opens the desktop app (FILE opens it on a file).\n\
                  The subcommands run the same pipeline headless."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what needmap sees in a survey file: format, coordinate columns, column types,
    /// counts, rejected and flagged rows. Writes nothing.
    Inspect {
        /// A CSV/TSV, XLSX or GeoJSON file of households.
        input: PathBuf,
        /// Print the full import report as JSON instead of a summary.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        import: ImportArgs,
    },
}

/// How to read the input.
#[derive(Args, Debug, Clone, Default)]
pub struct ImportArgs {
    /// Latitude column (default: detected by name). For a column of "lat lon" geopoints or
    /// WKT points, give it here and in --lon-column.
    #[arg(long, value_name = "COLUMN")]
    pub lat_column: Option<String>,
    /// Longitude column (default: detected by name).
    #[arg(long, value_name = "COLUMN")]
    pub lon_column: Option<String>,
    /// Household id column (default: detected: household_id, id, _id, _uuid…).
    #[arg(long, value_name = "COLUMN")]
    pub id_column: Option<String>,
    /// Spreadsheet sheet to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Flag households whose GPS accuracy is worse than this many metres.
    #[arg(long, value_name = "METRES")]
    pub accuracy_cutoff_m: Option<f64>,
}

impl ImportArgs {
    pub fn options(&self) -> ImportOptions {
        ImportOptions {
            lat_column: self.lat_column.clone(),
            lon_column: self.lon_column.clone(),
            id_column: self.id_column.clone(),
            sheet: self.sheet.clone(),
            accuracy_cutoff_m: self.accuracy_cutoff_m,
        }
    }
}

/// Parses the arguments and runs; the exit code says how it went.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("needmap: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => anyhow::bail!("no subcommand given; try `needmap --help`"),
        Some(Command::Inspect { input, json, import }) => inspect(&input, json, &import),
    }
}

fn inspect(input: &std::path::Path, json: bool, import: &ImportArgs) -> anyhow::Result<()> {
    let (_, report) = data::import(input, &import.options(), &Keep::All, &Progress::new())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("file:        {}", report.path.display());
    println!("format:      {}", report.format);
    println!("coordinates: {}", report.coordinates);
    println!("id column:   {}", report.id_column.as_deref().unwrap_or("(none found)"));
    println!(
        "records:     {} read, {} accepted, {} rejected, {} flagged",
        report.records, report.accepted, report.rejected, report.flagged
    );
    if let Some(a) = &report.accuracy {
        println!("GPS accuracy ({}): median {} m, 90% within {} m, worst {} m", a.column, a.median_m, a.p90_m, a.max_m);
    }
    println!("columns:");
    for c in &report.columns {
        println!("  {:>3} {:<28} {:<9} {:?}", c.number, c.name, format!("{:?}", c.kind).to_lowercase(), c.role);
    }
    for n in &report.notes {
        println!("note: {n}");
    }
    for i in report.rejects.iter().take(50) {
        println!("rejected: {}", i.located(&report.path));
    }
    if report.rejects.len() > 50 {
        println!("rejected: … and {} more (use --json for all)", report.rejects.len() - 50);
    }
    for i in report.flags.iter().take(50) {
        println!("flagged:  {}", i.located(&report.path));
    }
    if report.flags.len() > 50 {
        println!("flagged:  … and {} more (use --json for all)", report.flags.len() - 50);
    }
    Ok(())
}
