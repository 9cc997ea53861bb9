//! The command line: clap types, resolved once into what the core runs.
//!
//! Errors go to stderr as `needmap: <file>:<line>:<column>: <what>; <what to do>`, with exit
//! code 1 for bad input and 2 for bad usage; nothing is written on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::analysis::{self, Analysis, Candidates, ClusterConfig};
use crate::cluster::Method;
use crate::data::{self, ImportOptions, Keep};
use crate::export::{self, atomic};
use crate::need::Selection;
use crate::progress::Progress;

#[derive(Parser, Debug)]
#[command(
    name = "needmap",
    version,
    args_conflicts_with_subcommands = true,
    about = "Find, rank and map critical-need zones in household survey data",
    long_about = "Find, rank and map critical-need zones in household survey data.\n\n\
                  With no subcommand, needmap opens the desktop app (FILE opens it on a file).\n\
                  The subcommands run the same pipeline headless."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the app on this survey file.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole pipeline: need index, critical households, clusters, ranked zones.
    /// Writes DIR/zones.geojson, households.csv, zones.csv, report.json and analysis.toml
    /// (rerun with --analysis DIR/analysis.toml for the same outputs).
    Run {
        /// A CSV/TSV, XLSX or GeoJSON file of households.
        input: PathBuf,
        /// Output directory (created; refused if it exists, unless --force).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Settings from an analysis file (e.g. a previous run's analysis.toml). Flags given
        /// here override it.
        #[arg(long, value_name = "A.toml")]
        analysis: Option<PathBuf>,
        /// Replace DIR if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        import: ImportArgs,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Critical households: the top PERCENT by need score (default 30).
        #[arg(long, value_name = "PERCENT", conflicts_with = "min_score")]
        top_percent: Option<f64>,
        /// Critical households: need score at least this (0 to 1).
        #[arg(long, value_name = "SCORE")]
        min_score: Option<f64>,
        /// Cluster every household, not only the critical ones.
        #[arg(long)]
        all_households: bool,
    },
    /// Cluster households and write one label per household: CSV `row,id,label`
    /// (row = record number in the input, label -1 = noise). Rejected rows are absent and
    /// listed on stderr.
    Cluster {
        /// A CSV/TSV, XLSX or GeoJSON file of households.
        input: PathBuf,
        /// The labels file to write.
        #[arg(long, value_name = "LABELS.csv")]
        out: PathBuf,
        /// Replace the labels file if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        import: ImportArgs,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
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
    /// Audit the ranking: how much the top zones hinge on the weights (weights redrawn around
    /// the chosen ones), how much each indicator drives the score, and which groups the
    /// critical households and the top zones leave out. Runs the pipeline, then writes
    /// DIR/audit.json, zones_stability.csv and groups.csv; flags are printed on stderr.
    Audit {
        /// A CSV/TSV, XLSX or GeoJSON file of households.
        input: PathBuf,
        /// Output directory (created; refused if it exists, unless --force).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Settings from an analysis file (its [audit] section too). Flags given here override it.
        #[arg(long, value_name = "A.toml")]
        analysis: Option<PathBuf>,
        /// A column whose values form groups to check (e.g. mother_tongue, head_female); repeat for more.
        #[arg(long = "group", value_name = "COLUMN")]
        groups: Vec<String>,
        /// Weight draws [default: 200].
        #[arg(long, value_name = "N")]
        draws: Option<usize>,
        /// Seed of the weight draws (same seed, same numbers) [default: 1].
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// K of "the top K zones" [default: 10].
        #[arg(long, value_name = "K")]
        top_k: Option<usize>,
        /// Dirichlet concentration around the chosen weights; larger keeps draws closer [default: 50].
        #[arg(long, value_name = "C")]
        concentration: Option<f64>,
        /// Replace DIR if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        import: ImportArgs,
        /// Number of worker threads (default: all cores). Results do not depend on it.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
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

/// Clustering flags shared by `run` and `cluster`.
#[derive(Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Clustering method.
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// DBSCAN radius in metres on the ground (default: suggested from the data).
    #[arg(long, value_name = "METRES")]
    pub eps_m: Option<f64>,
    /// DBSCAN: households within eps, itself included, that make a household core
    /// (default: suggested from the data).
    #[arg(long, value_name = "N")]
    pub min_points: Option<usize>,
    /// DBSCAN: count people (the household size column), not households, for --min-points.
    #[arg(long)]
    pub weight_by_people: bool,
    /// k-means: number of clusters.
    #[arg(long, value_name = "K")]
    pub k: Option<usize>,
    /// k-means: random seed (same seed, same clusters).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// k-means: k-means++ runs (on a sample of the households) to start from the best of
    /// [default: 64]; 1 = one k-means++ run on all of them, as scikit-learn's KMeans(n_init=1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub restarts: Option<u64>,
    /// k-means: weight households by their need score.
    #[arg(long)]
    pub need_weighted: bool,
    /// HDBSCAN: smallest cluster size.
    #[arg(long, value_name = "N")]
    pub min_cluster_size: Option<usize>,
    /// HDBSCAN: neighbours for the core distance (default: min cluster size).
    #[arg(long, value_name = "N")]
    pub min_samples: Option<usize>,
    /// Number of worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ClusterArgs {
    /// Applies the flags given over `cfg`.
    pub fn apply(&self, cfg: &mut ClusterConfig) {
        if let Some(m) = self.method {
            cfg.method = m;
        }
        if self.eps_m.is_some() {
            cfg.eps_m = self.eps_m;
        }
        if self.min_points.is_some() {
            cfg.min_points = self.min_points;
        }
        cfg.weight_by_people |= self.weight_by_people;
        if let Some(k) = self.k {
            cfg.k = k;
        }
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        if let Some(r) = self.restarts {
            cfg.restarts = r as usize;
        }
        cfg.need_weighted |= self.need_weighted;
        if let Some(m) = self.min_cluster_size {
            cfg.min_cluster_size = m;
            if self.min_samples.is_none() {
                cfg.min_samples = m;
            }
        }
        if let Some(m) = self.min_samples {
            cfg.min_samples = m;
        }
    }
}

impl ImportArgs {
    /// Applies the flags given over `opts`.
    pub fn apply(&self, opts: &mut ImportOptions) {
        let o = self.options();
        opts.lat_column = o.lat_column.or(opts.lat_column.take());
        opts.lon_column = o.lon_column.or(opts.lon_column.take());
        opts.id_column = o.id_column.or(opts.id_column.take());
        opts.sheet = o.sheet.or(opts.sheet.take());
        opts.accuracy_cutoff_m = o.accuracy_cutoff_m.or(opts.accuracy_cutoff_m);
    }

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
        None => open_app(cli.file),
        Some(Command::Inspect { input, json, import }) => inspect(&input, json, &import),
        Some(Command::Run { input, out, analysis, force, import, cluster, top_percent, min_score, all_households }) => {
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            cluster.apply(&mut a.cluster);
            if let Some(p) = top_percent {
                a.selection = Selection::TopPercent { percent: p };
            }
            if let Some(s) = min_score {
                a.selection = Selection::Threshold { min_score: s };
            }
            if all_households {
                a.cluster.households = Candidates::All;
            }
            with_threads(cluster.threads, || run_pipeline(&input, &out, &a, force))
        }
        Some(Command::Audit {
            input,
            out,
            analysis,
            groups,
            draws,
            seed,
            top_k,
            concentration,
            force,
            import,
            threads,
        }) => {
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            let mut p = a.audit.take().unwrap_or_default();
            if !groups.is_empty() {
                p.groups = groups;
            }
            p.draws = draws.unwrap_or(p.draws);
            p.seed = seed.unwrap_or(p.seed);
            p.top_k = top_k.unwrap_or(p.top_k);
            p.concentration = concentration.unwrap_or(p.concentration);
            p.check()?;
            a.audit = Some(p);
            with_threads(threads, || audit_only(&input, &out, &a, force))
        }
        Some(Command::Cluster { input, out, force, import, cluster }) => {
            let mut a = Analysis::default();
            import.apply(&mut a.input.options);
            a.cluster.households = Candidates::All;
            cluster.apply(&mut a.cluster);
            with_threads(cluster.threads, || cluster_only(&input, &out, &a, force))
        }
    }
}

#[cfg(feature = "gui")]
fn open_app(file: Option<PathBuf>) -> anyhow::Result<()> {
    crate::app::run(file)
}

#[cfg(not(feature = "gui"))]
fn open_app(_file: Option<PathBuf>) -> anyhow::Result<()> {
    anyhow::bail!(
        "this needmap was built without the desktop app (feature `gui`); use a subcommand, see `needmap --help`"
    )
}

fn with_threads<T>(threads: Option<usize>, f: impl FnOnce() -> anyhow::Result<T> + Send) -> anyhow::Result<T>
where
    T: Send,
{
    match threads {
        Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build()?.install(f),
        None => f(),
    }
}

fn run_pipeline(input: &std::path::Path, out: &std::path::Path, a: &Analysis, force: bool) -> anyhow::Result<()> {
    atomic::check_target(out, Some(input), force)?;
    let outcome = analysis::run(a, input, &Progress::new())?;
    export::write_run(&outcome, input, out, force)?;
    let r = &outcome.imported.report;
    let critical = outcome.scored.critical.iter().filter(|&&c| c).count();
    eprintln!(
        "needmap: {} households ({} rejected, {} flagged), {} critical, {} clusters, {} zones → {}",
        r.accepted,
        r.rejected,
        r.flagged,
        critical,
        outcome.clustered.clusters,
        outcome.zones.zones.len(),
        out.display()
    );
    if let Some(s) = &outcome.clustered.suggestion {
        eprintln!("needmap: {}", s.note);
    }
    Ok(())
}

fn audit_only(input: &std::path::Path, out: &std::path::Path, a: &Analysis, force: bool) -> anyhow::Result<()> {
    atomic::check_target(out, Some(input), force)?;
    let outcome = analysis::run(a, input, &Progress::new())?;
    let Some(audit) = &outcome.audit else { anyhow::bail!("the audit did not run (a bug)") };
    atomic::write_dir(out, Some(input), force, |dir| export::audit::write_audit_files(dir, audit))?;
    for f in &audit.flags {
        eprintln!("needmap: audit: {f}");
    }
    eprintln!(
        "needmap: audit of {} households, {} critical, {} zones, {} weight draws: {} flags → {}",
        audit.households,
        audit.critical,
        audit.zones_count,
        audit.settings.draws,
        audit.flags.len(),
        out.display()
    );
    Ok(())
}

fn cluster_only(input: &std::path::Path, out: &std::path::Path, a: &Analysis, force: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    atomic::check_target(out, Some(input), force)?;
    let progress = Progress::new();
    let timer = Timer::new();
    let imported = analysis::import_stage(input, &a.input, &Keep::Only(people_names()), &progress)?;
    timer.lap("import");
    for r in &imported.report.rejects {
        eprintln!("needmap: rejected: {}", r.located(input));
    }
    let n = imported.households.len();
    let scored = analysis::Scored {
        need: crate::need::NeedScore { score: vec![f64::NAN; n], indicators: Vec::new(), excluded: 0 },
        critical: vec![true; n],
        resolved: Default::default(),
    };
    let clustered = analysis::cluster_stage(&imported, &scored, &a.cluster, &progress)?;
    timer.lap("cluster");
    if let Some(s) = &clustered.suggestion {
        eprintln!("needmap: {}", s.note);
    }
    let h = &imported.households;
    atomic::write_file(out, Some(input), force, |w| {
        writeln!(w, "row,id,label")?;
        let mut line = Vec::with_capacity(64);
        for i in 0..n {
            line.clear();
            line.extend_from_slice(h.row[i].to_string().as_bytes());
            line.push(b',');
            let id = h.id(i);
            if id.contains([',', '"', '\n', '\r']) {
                line.push(b'"');
                line.extend_from_slice(id.replace('"', "\"\"").as_bytes());
                line.push(b'"');
            } else {
                line.extend_from_slice(id.as_bytes());
            }
            line.push(b',');
            line.extend_from_slice(clustered.labels[i].to_string().as_bytes());
            line.push(b'\n');
            w.write_all(&line)?;
        }
        Ok(())
    })?;
    timer.lap("write");
    let inertia = clustered.inertia_m2.map_or(String::new(), |i| format!(", inertia {i:.6e} m²"));
    eprintln!(
        "needmap: {} households, {} clusters, {} noise{inertia} → {}",
        n,
        clustered.clusters,
        clustered.noise,
        out.display()
    );
    Ok(())
}

/// Stage times on stderr when `NEEDMAP_TIMINGS` is set (see [`crate::progress::lap`]).
struct Timer {
    last: std::cell::Cell<std::time::Instant>,
}

impl Timer {
    fn new() -> Self {
        Self { last: std::cell::Cell::new(std::time::Instant::now()) }
    }

    /// The time since the previous lap.
    fn lap(&self, stage: &str) {
        crate::progress::lap(stage, self.last.get());
        self.last.set(std::time::Instant::now());
    }
}

/// Columns `cluster` keeps besides the id: a people column, for --weight-by-people.
fn people_names() -> Vec<String> {
    ["household_size", "hh_size", "num_personas", "n_personas", "personas", "miembros", "people", "persons", "members"]
        .iter()
        .map(|s| s.to_string())
        .collect()
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
