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
    /// (rerun with --analysis DIR/analysis.toml for the same outputs), and zones.kml,
    /// zones.gpx and needmap.gpkg for phones, GPS units and GIS.
    Run {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
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
        need: NeedArgs,
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
        /// Language of the labels people read in zones.kml and zones.gpx.
        #[arg(long, value_enum, default_value = "en")]
        lang: crate::i18n::Lang,
        /// A point per household in zones.kml.
        #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
        kml_households: export::KmlHouseholds,
        /// Also write households.parquet and zones.parquet (GeoParquet 1.1, WKB, OGC:CRS84).
        #[arg(long)]
        parquet: bool,
        /// Also write the run into PostgreSQL/PostGIS, in one transaction: tables runs, zones
        /// and households in the URL's ?schema= (default needmap; created if missing; a new
        /// run_id each run). The folder is written first.
        #[arg(long, value_name = "postgresql://USER@HOST:PORT/DB?schema=S")]
        to_postgis: Option<String>,
    },
    /// Cluster households and write one label per household: CSV `row,id,label`
    /// (row = record number in the input, label -1 = noise). Rejected rows are absent and
    /// listed on stderr.
    Cluster {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
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
    /// Choose where to build: up to P sites, among candidate locations, so that the most
    /// weight (need by default) lies within R metres of one (maximal covering location).
    /// Writes one row per site in the order chosen:
    /// site,candidate,lat,lon,covered_households,covered_weight,added_weight,… and prints
    /// the covered share and a proven upper bound.
    Sites {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
        input: PathBuf,
        /// The sites file to write.
        #[arg(long, value_name = "SITES.csv")]
        out: PathBuf,
        /// Replace the sites file if it exists.
        #[arg(long)]
        force: bool,
        /// Number of new sites (P).
        #[arg(long = "sites", value_name = "P")]
        count: Option<usize>,
        /// A site covers the households within this many metres (great-circle).
        #[arg(long, value_name = "METRES", allow_negative_numbers = true)]
        radius_m: Option<f64>,
        /// Candidate locations from a file (CSV/TSV, XLSX, GeoJSON; coordinates found as for
        /// households; its id column names them, else its row numbers).
        #[arg(long, value_name = "FILE", conflicts_with = "candidates_from")]
        candidates: Option<PathBuf>,
        /// Generated candidates: a grid over the populated area [default], the zones'
        /// centres, or the households' own locations.
        #[arg(long, value_enum, value_name = "SOURCE")]
        candidates_from: Option<crate::sites::CandidateSource>,
        /// Grid spacing in metres for --candidates-from grid (default: half the radius).
        #[arg(long, value_name = "METRES", allow_negative_numbers = true)]
        grid_m: Option<f64>,
        /// Sites already open (a file like --candidates): what they cover counts as covered.
        #[arg(long, value_name = "FILE")]
        existing: Option<PathBuf>,
        /// What a covered household counts: need, critical, households, people, or a numeric
        /// column [default: need].
        #[arg(long, value_name = "WEIGHT")]
        weight: Option<String>,
        /// Settings from an analysis file (need indicators, clustering for zone centres, and a
        /// [sites] section). Flags given here override it.
        #[arg(long, value_name = "A.toml")]
        analysis: Option<PathBuf>,
        #[command(flatten)]
        import: ImportArgs,
        #[command(flatten)]
        need: NeedArgs,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Hot spots: Getis-Ord Gi* of a value over a distance band, with Benjamini–Hochberg
    /// false-discovery classes. Writes CSV `row,id,z,p,hot,neighbours,bin` (row = record
    /// number in the input; hot 1 = hot spot, -1 = cold spot, 0 = not significant or not
    /// tested; neighbours = households within the band, itself included; bin = ArcGIS's
    /// uncorrected 90/95/99 % confidence bin, -3 to 3). Rejected rows are absent.
    Hotspots {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
        input: PathBuf,
        /// The value: `need` (the need score, with the analysis' need settings, by default
        /// every recognised indicator) or a numeric column [default: need].
        #[arg(long, value_name = "need|COLUMN")]
        value: Option<String>,
        /// Distance band in metres on the ground (default: suggested, the smallest at which
        /// every household has 8 neighbours; the rule is printed).
        #[arg(long, value_name = "METRES", allow_negative_numbers = true)]
        band_m: Option<f64>,
        /// False discovery rate q of the Benjamini–Hochberg correction [default: 0.05].
        #[arg(long, value_name = "Q", allow_negative_numbers = true)]
        fdr: Option<f64>,
        /// Settings from an analysis file: its [hotspots] section, its need settings and its
        /// input options. Flags given here override it.
        #[arg(long, value_name = "A.toml")]
        analysis: Option<PathBuf>,
        /// The hot-spots file to write.
        #[arg(long, value_name = "HOT.csv")]
        out: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        import: ImportArgs,
        #[command(flatten)]
        need: NeedArgs,
        /// Number of worker threads (default: all cores). Results do not depend on it.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Download the map tiles of the area (a run's zones, or a survey's households) into an
    /// MBTiles file for offline use (QField, OsmAnd, this app's map, printed maps). Resumes
    /// after an interruption; refuses tile.openstreetmap.org, whose policy forbids it.
    Tiles(crate::tiles::cli::TilesArgs),
    /// Print a map of a run: zones filled by rank and numbered, households coloured by need
    /// (critical ones outlined), sites, over tiles or the embedded Natural Earth basemap, with
    /// title, legend, scale bar, north arrow, data source and attribution. PNG (200 dpi) or
    /// vector PDF.
    Map(crate::print::cli::MapArgs),
    /// A PDF field atlas of a run: an overview map with the ranked zones table, then one page
    /// per zone (all, or the top N) with its map, figures and a numbered visit list.
    Atlas(crate::print::cli::AtlasArgs),
    /// A self-contained HTML report of a run, to hand in or file: data and import report,
    /// need index, clustering method and why its parameters (k-distance plot), map, ranked
    /// zones, sites / hot spots / audit when present, and the command and analysis.toml that
    /// reproduce every number. English or Spanish; no network needed to open or print it.
    Report(crate::report::cli::ReportArgs),
    /// A parameter study: clusters every household with each setting of a grid and writes one
    /// row per setting (figures identical to `needmap cluster` with it): DBSCAN
    /// eps_m,min_points,clusters,noise,noise_share and the adjusted Rand index with the
    /// neighbouring settings; k-means k,clusters,inertia_m2,silhouette (on a seeded sample);
    /// HDBSCAN min_cluster_size,clusters,noise,noise_share.
    Sweep {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
        input: PathBuf,
        #[arg(long, value_enum, default_value_t = Method::Dbscan)]
        method: Method,
        /// DBSCAN radii: FROM:TO:STEP (ends included), one value or a list [default: 50:400:25].
        #[arg(long, value_name = "RANGE")]
        eps_m: Option<String>,
        /// DBSCAN min points: FROM:TO:STEP, one value or a list [default: 5:30:5].
        #[arg(long, value_name = "RANGE")]
        min_points: Option<String>,
        /// k-means k: FROM:TO:STEP [default: 2:12:1].
        #[arg(long, value_name = "RANGE")]
        k: Option<String>,
        /// HDBSCAN min cluster size: FROM:TO:STEP [default: 5:50:5].
        #[arg(long, value_name = "RANGE")]
        min_cluster_size: Option<String>,
        /// k-means: households in the silhouette's seeded sample.
        #[arg(long, value_name = "N", default_value_t = 2000)]
        sample: usize,
        /// k-means seed (and the silhouette sample's).
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// The sweep table to write.
        #[arg(long, value_name = "SWEEP.csv")]
        out: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        import: ImportArgs,
    },
    /// Exercises for learners, scored automatically. Makes COUNT questions from the data and
    /// the analysis (distances and neighbourhoods, need index, DBSCAN core/border/noise,
    /// k-means, zones, choosing parameters), with numbers drawn by SEED (same seed, same
    /// questions, byte for byte) and the tolerance of each answer stated; the key is computed
    /// by the same core and never written into quiz.json (--key writes it apart, for teachers).
    ///
    /// Make:  needmap quiz INPUT [--seed N] [--count 10] [--lang es] --out quiz.json [--key key.csv]
    ///        (--seed: the questions' seed, 1 by default; the analysis flags are those of run)
    /// Check: needmap quiz --check quiz.json answers.csv
    ///
    /// answers.csv has the header id,answer and one row per question: a number (the unit may
    /// follow), yes/no (or sí/no, true/false, 1/0), or the letter of an option. --check reads
    /// the input named in quiz.json again (INPUT, if given, says where it is now), refuses it if
    /// its content changed, makes the quiz again from its seed and analysis, and prints the
    /// score per topic, the wrong and missing answers and the topics to review.
    #[command(verbatim_doc_comment)]
    Quiz {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households (with --check: where the quiz's input
        /// is now, if it moved).
        #[arg(required_unless_present = "check")]
        input: Option<PathBuf>,
        /// The quiz to write.
        #[arg(long, value_name = "QUIZ.json", required_unless_present = "check")]
        out: Option<PathBuf>,
        /// Score answers: QUIZ.json ANSWERS.csv.
        #[arg(long, num_args = 2, value_names = ["QUIZ.json", "ANSWERS.csv"], conflicts_with_all = ["out", "key", "seed", "count", "analysis"])]
        check: Option<Vec<PathBuf>>,
        /// Number of questions (1 to 100).
        #[arg(long, value_name = "N", default_value_t = 10)]
        count: usize,
        /// Language of the questions.
        #[arg(long, value_enum, default_value = "en")]
        lang: crate::i18n::Lang,
        /// Also write the key: CSV id,answer,tolerance.
        #[arg(long, value_name = "KEY.csv")]
        key: Option<PathBuf>,
        /// Replace the output files if they exist.
        #[arg(long)]
        force: bool,
        /// Settings from an analysis file. Flags given here override it.
        #[arg(long, value_name = "A.toml")]
        analysis: Option<PathBuf>,
        #[command(flatten)]
        import: ImportArgs,
        #[command(flatten)]
        need: NeedArgs,
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
    /// Show what needmap sees in a survey file: format, coordinate columns, column types,
    /// counts, rejected and flagged rows. Writes nothing.
    Inspect {
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
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
        /// A CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households.
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
        #[command(flatten)]
        need: NeedArgs,
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

/// Need indicators named on the command line (they replace the analysis file's).
#[derive(Args, Debug, Clone, Default)]
pub struct NeedArgs {
    /// A need indicator: COLUMN[:higher|lower][:WEIGHT] ("higher": larger values mean more
    /// need, the default; "lower": smaller ones do, like income; weight 1 by default).
    /// Repeat for more. Without any, indicators are recognised by column name.
    #[arg(long = "indicator", value_name = "COLUMN[:higher|lower][:WEIGHT]")]
    pub indicators: Vec<String>,
}

impl NeedArgs {
    /// Replaces `need`'s indicators with those given, if any.
    pub fn apply(&self, need: &mut crate::need::NeedParams) -> anyhow::Result<()> {
        if !self.indicators.is_empty() {
            need.indicators = self
                .indicators
                .iter()
                .map(|s| crate::need::parse_indicator(s))
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }
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
    if cli.command.is_some() {
        crate::progress::on_interrupt(&cli_progress());
        survive_file_size_limit();
    }
    let input = input_of(&cli);
    let analysis = analysis_of(&cli);
    match run(cli).map_err(|e| naming_input(e, input.as_deref(), analysis.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if let Some(sig) = crate::progress::interrupted() => {
            // Whatever stage noticed it, the run stopped and put no output in place (a tile
            // download keeps its .part file to resume, and says so).
            let text = format!("{e:#}");
            if text.contains(".part") || text.contains("was written") {
                eprintln!("needmap: interrupted (signal {sig}): {text}");
            } else {
                eprintln!("needmap: interrupted (signal {sig}); nothing was written");
            }
            ExitCode::from((128 + sig) as u8)
        }
        Err(e) => {
            eprintln!("needmap: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The survey file a subcommand reads, if it reads one.
fn input_of(cli: &Cli) -> Option<PathBuf> {
    match cli.command.as_ref()? {
        Command::Run { input, .. }
        | Command::Cluster { input, .. }
        | Command::Sites { input, .. }
        | Command::Hotspots { input, .. }
        | Command::Sweep { input, .. }
        | Command::Inspect { input, .. }
        | Command::Audit { input, .. } => Some(input.clone()),
        Command::Quiz { input: Some(input), check: None, .. } => Some(input.clone()),
        _ => None,
    }
}

/// The analysis file (`--analysis`) a subcommand applies, if any.
fn analysis_of(cli: &Cli) -> Option<PathBuf> {
    match cli.command.as_ref()? {
        Command::Run { analysis, .. }
        | Command::Sites { analysis, .. }
        | Command::Hotspots { analysis, .. }
        | Command::Quiz { analysis, .. }
        | Command::Audit { analysis, .. } => analysis.clone(),
        _ => None,
    }
}

/// A stage's error that names no file (`need index: no need indicators…`, `audit: …`) is
/// said of the input, so every message says which file it is about (issue 16). A bad flag
/// (`sites: --radius-m must be…`) is about the command line, not the file: left as it is.
/// With an analysis file, the error may come from one of its settings (`eps_m = -5`), so it
/// names the `.toml` first: `a.toml, applied to s.csv: DBSCAN: eps must be…`.
/// Public so that the Python package's messages are the CLI's.
pub fn naming_input(
    e: anyhow::Error,
    input: Option<&std::path::Path>,
    analysis: Option<&std::path::Path>,
) -> anyhow::Error {
    let text = format!("{e:#}");
    let about_a_flag = text.contains(": --") || text.contains("(--");
    match input {
        Some(p)
            if !already_named(&e)
                && !about_a_flag
                && !text.contains(&*p.to_string_lossy())
                && crate::progress::interrupted().is_none() =>
        {
            match analysis {
                Some(a) => e.context(format!(
                    "{}, applied to {}",
                    a.display(),
                    crate::data::postgis::redact(&p.display().to_string())
                )),
                // A database URL with its password hidden.
                None => e.context(crate::data::postgis::redact(&p.display().to_string())),
            }
        }
        _ => e,
    }
}

/// Whether the error names its file already (an input, an analysis file, an output).
fn already_named(e: &anyhow::Error) -> bool {
    use crate::analysis::RunError;
    e.is::<atomic::WriteError>()
        || e.is::<data::ImportError>()
        || matches!(
            e.downcast_ref::<RunError>(),
            Some(RunError::Import(_) | RunError::Analysis(_) | RunError::Hotspots(_))
        )
}

/// Past a file size limit (`ulimit -f`), a write gets SIGXFSZ, which by default kills the
/// process mid-write with no message. With the signal caught, the write fails with EFBIG
/// instead: the output's writer reports it, names the file and removes its temporary.
#[cfg(unix)]
fn survive_file_size_limit() {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, seen);
}

#[cfg(not(unix))]
fn survive_file_size_limit() {}

/// The progress handle of this command: one per process, cancelled by Ctrl-C or SIGTERM.
fn cli_progress() -> Progress {
    static P: std::sync::OnceLock<Progress> = std::sync::OnceLock::new();
    P.get_or_init(Progress::new).clone()
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => open_app(cli.file),
        Some(Command::Map(args)) => crate::print::cli::map_command(&args),
        Some(Command::Atlas(args)) => crate::print::cli::atlas_command(&args),
        Some(Command::Report(args)) => crate::report::cli::report_command(&args, &cli_progress()),
        Some(Command::Inspect { input, json, import }) => inspect(&input, json, &import),
        Some(Command::Sweep {
            input,
            method,
            eps_m,
            min_points,
            k,
            min_cluster_size,
            sample,
            seed,
            out,
            force,
            import,
        }) => {
            let mut a = Analysis::default();
            import.apply(&mut a.input.options);
            a.cluster.households = Candidates::All;
            if let Some(s) = seed {
                a.cluster.seed = s;
            }
            let range = |flag: &str, given: Option<String>, default: &str| -> anyhow::Result<Vec<f64>> {
                crate::sweep::parse_range(given.as_deref().unwrap_or(default))
                    .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
            };
            let whole = |flag: &str, v: Vec<f64>| -> anyhow::Result<Vec<usize>> {
                v.into_iter()
                    .map(|x| {
                        (x >= 1.0 && x.fract() == 0.0)
                            .then_some(x as usize)
                            .ok_or_else(|| anyhow::anyhow!("--{flag}: {x} is not a whole number of 1 or more"))
                    })
                    .collect()
            };
            let spec = crate::sweep::SweepSpec {
                method,
                eps_m: range("eps-m", eps_m, "50:400:25")?,
                min_points: whole("min-points", range("min-points", min_points, "5:30:5")?)?,
                k: whole("k", range("k", k, "2:12:1")?)?,
                min_cluster_size: whole("min-cluster-size", range("min-cluster-size", min_cluster_size, "5:50:5")?)?,
                sample: sample.max(2),
            };
            if spec.eps_m.iter().any(|&e| e <= 0.0) {
                anyhow::bail!("--eps-m: radii must be above 0 metres");
            }
            sweep_only(&input, &out, &a, &spec, force)
        }
        Some(Command::Tiles(args)) => crate::tiles::cli::tiles_command(&args, &cli_progress()),
        Some(Command::Run {
            input,
            out,
            analysis,
            force,
            import,
            need,
            cluster,
            top_percent,
            min_score,
            all_households,
            lang,
            kml_households,
            parquet,
            to_postgis,
        }) => {
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            need.apply(&mut a.need)?;
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
            let files = export::ExportOptions {
                lang,
                kml_households,
                parquet,
                command: Some(export::CommandLine::of_this_process()),
                ..Default::default()
            };
            // Connected and checked before the run, so a bad URL costs no computing.
            let mut db = to_postgis.as_deref().map(export::postgis::PgDestination::open).transpose()?;
            with_threads(cluster.threads, || run_pipeline(&input, &out, &a, force, &files, db.as_mut()))
        }
        Some(Command::Sites {
            input,
            out,
            force,
            count,
            radius_m,
            candidates,
            candidates_from,
            grid_m,
            existing,
            weight,
            analysis,
            import,
            need,
            cluster,
        }) => {
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            need.apply(&mut a.need)?;
            cluster.apply(&mut a.cluster);
            let flags =
                crate::sites::SitesFlags { count, radius_m, candidates, candidates_from, grid_m, existing, weight };
            let p = flags.resolve(a.sites.take(), analysis.is_some()).map_err(anyhow::Error::msg)?;
            with_threads(cluster.threads, || sites_only(&input, &out, &a, &p, force))
        }
        Some(Command::Hotspots { input, value, band_m, fdr, analysis, out, force, import, need, threads }) => {
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            need.apply(&mut a.need)?;
            let mut params = a.hotspots.take().unwrap_or_default();
            params.apply_flags(value, band_m, fdr);
            a.hotspots = Some(params);
            with_threads(threads, || hotspots_only(&input, &out, &a, force))
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
            need,
            threads,
        }) => {
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            need.apply(&mut a.need)?;
            let mut p = a.audit.take().unwrap_or_default();
            p.apply_flags(groups, draws, seed, top_k, concentration)?;
            a.audit = Some(p);
            with_threads(threads, || audit_only(&input, &out, &a, force))
        }
        Some(Command::Quiz {
            input,
            out,
            check,
            count,
            lang,
            key,
            force,
            analysis,
            import,
            need,
            mut cluster,
            top_percent,
            min_score,
            all_households,
        }) => {
            // --seed is the quiz's (k-means keeps the analysis' seed).
            let seed = cluster.seed.take().unwrap_or(1);
            if let Some(files) = check {
                let [quiz, answers] = files.as_slice() else { anyhow::bail!("--check takes QUIZ.json ANSWERS.csv") };
                return with_threads(cluster.threads, || quiz_check(quiz, answers, input.as_deref()));
            }
            let (Some(input), Some(out)) = (input, out) else {
                anyhow::bail!("quiz: give INPUT and --out QUIZ.json, or --check QUIZ.json ANSWERS.csv")
            };
            let mut a = match &analysis {
                Some(p) => Analysis::load(p)?,
                None => Analysis::default(),
            };
            import.apply(&mut a.input.options);
            need.apply(&mut a.need)?;
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
            let files = QuizFiles { out: &out, key: key.as_deref(), force };
            with_threads(cluster.threads, || quiz_make(&input, &files, &a, seed, count, lang))
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

fn run_pipeline(
    input: &std::path::Path,
    out: &std::path::Path,
    a: &Analysis,
    force: bool,
    files: &export::ExportOptions,
    db: Option<&mut export::postgis::PgDestination>,
) -> anyhow::Result<()> {
    atomic::check_target(out, Some(input), force)?;
    let started_at = std::time::SystemTime::now();
    let mut outcome = analysis::run(a, input, &cli_progress())?;
    // The unit vectors served the clustering and zones; no writer reads them (240 MB at 10M,
    // freed before the writers' own buffers).
    if let Some(imported) = std::sync::Arc::get_mut(&mut outcome.imported) {
        imported.xyz = Vec::new();
    }
    export::write_run(&outcome, input, out, force, files)?;
    // The folder first, then the database: a database failure leaves the folder, and says so.
    let mut written = None;
    if let Some(db) = db {
        let t = std::time::Instant::now();
        let done = db.write(&outcome, input, started_at, &cli_progress());
        crate::progress::lap("write_postgis", t);
        match done {
            Ok(run_id) => written = Some((run_id, db.shown().to_string())),
            Err(data::ImportError::File { path, problem }) => {
                let problem = format!("{problem}; the folder {} was written", out.display());
                return Err(data::ImportError::File { path, problem }.into());
            }
            Err(e) => return Err(e.into()),
        }
    }
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
    if let Some((run_id, url)) = written {
        eprintln!("needmap: run {run_id} written to {url}");
    }
    if let Some(note) = &outcome.scored.note {
        eprintln!("needmap: {note}");
    }
    if let Some(s) = &outcome.clustered.suggestion {
        eprintln!("needmap: {}", s.note);
    }
    if let Some(h) = &outcome.hotspots {
        if a.hotspots.as_ref().is_some_and(|p| p.band_m.is_none()) {
            eprintln!("needmap: {}", h.band_note);
        }
        eprintln!("needmap: hot spots: {}", h.summary());
    }
    Ok(())
}

fn sweep_only(
    input: &std::path::Path,
    out: &std::path::Path,
    a: &Analysis,
    spec: &crate::sweep::SweepSpec,
    force: bool,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    atomic::check_target(out, Some(input), force)?;
    let progress = cli_progress();
    let imported = analysis::import_stage(input, &a.input, &Keep::Only(people_names()), &progress)?;
    let scored = analysis::unscored(imported.households.len());
    let started = std::time::Instant::now();
    let rows = crate::sweep::sweep(&imported, &scored, &a.cluster, spec, &progress)?;
    let secs = started.elapsed().as_secs_f64();
    let f = |v: Option<f64>, d: usize| v.map_or(String::new(), |x| format!("{x:.d$}"));
    atomic::write_file(out, Some(input), force, |w| {
        match spec.method {
            Method::Dbscan => {
                writeln!(w, "eps_m,min_points,clusters,noise,noise_share,ari_prev_eps,ari_prev_min_points")?
            }
            Method::Kmeans => writeln!(w, "k,clusters,inertia_m2,silhouette,silhouette_sample,ari_prev_k")?,
            Method::Hdbscan => writeln!(w, "min_cluster_size,clusters,noise,noise_share,ari_prev")?,
        }
        for r in &rows {
            match spec.method {
                Method::Dbscan => writeln!(
                    w,
                    "{},{},{},{},{:.6},{},{}",
                    r.eps_m.unwrap_or_default(),
                    r.min_points.unwrap_or_default(),
                    r.clusters,
                    r.noise,
                    r.noise_share,
                    f(r.ari_prev, 6),
                    f(r.ari_prev_min_points, 6)
                )?,
                Method::Kmeans => writeln!(
                    w,
                    "{},{},{},{},{},{}",
                    r.k.unwrap_or_default(),
                    r.clusters,
                    f(r.inertia_m2, 1),
                    f(r.silhouette, 6),
                    spec.sample,
                    f(r.ari_prev, 6)
                )?,
                Method::Hdbscan => writeln!(
                    w,
                    "{},{},{},{:.6},{}",
                    r.min_cluster_size.unwrap_or_default(),
                    r.clusters,
                    r.noise,
                    r.noise_share,
                    f(r.ari_prev, 6)
                )?,
            }
        }
        Ok(())
    })?;
    eprintln!(
        "needmap: {} settings on {} households in {secs:.1} s → {}",
        rows.len(),
        imported.households.len(),
        out.display()
    );
    Ok(())
}

/// Where `needmap quiz` writes.
struct QuizFiles<'a> {
    out: &'a std::path::Path,
    key: Option<&'a std::path::Path>,
    force: bool,
}

fn quiz_make(
    input: &std::path::Path,
    files: &QuizFiles,
    a: &Analysis,
    seed: u64,
    count: usize,
    lang: crate::i18n::Lang,
) -> anyhow::Result<()> {
    if count == 0 || count > crate::quiz::MAX_COUNT {
        anyhow::bail!("quiz: --count must be 1 to {}, not {count}", crate::quiz::MAX_COUNT);
    }
    atomic::check_target(files.out, Some(input), files.force)?;
    if let Some(k) = files.key {
        if k == files.out {
            anyhow::bail!("quiz: --key and --out name the same file {}", k.display());
        }
        atomic::check_target(k, Some(input), files.force)?;
    }
    let progress = cli_progress();
    let imported = analysis::import_stage(input, &a.input, &Keep::All, &progress)?;
    let quiz = crate::quiz::generate(&imported, a, seed, count, lang, &progress)?;
    let json = quiz.to_json();
    atomic::write_file(files.out, Some(input), files.force, |w| {
        use std::io::Write as _;
        w.write_all(json.as_bytes())
    })?;
    if let Some(k) = files.key {
        let csv = quiz.key_csv();
        atomic::write_file(k, Some(input), files.force, |w| {
            use std::io::Write as _;
            w.write_all(csv.as_bytes())
        })?;
    }
    eprintln!(
        "needmap: {} questions (seed {seed}) on {} households → {}{}",
        quiz.questions.len(),
        imported.households.len(),
        files.out.display(),
        files.key.map(|k| format!(", key → {}", k.display())).unwrap_or_default()
    );
    Ok(())
}

fn quiz_check(
    quiz: &std::path::Path,
    answers: &std::path::Path,
    input: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let (quiz, score) = crate::quiz::check(quiz, answers, input, &cli_progress())?;
    print_stdout(&crate::quiz::score_text(&score, quiz.lang))
}

fn audit_only(input: &std::path::Path, out: &std::path::Path, a: &Analysis, force: bool) -> anyhow::Result<()> {
    atomic::check_target(out, Some(input), force)?;
    let (_, audit) = analysis::audit_only(input, a, &cli_progress())?;
    atomic::write_dir(out, Some(input), force, |dir| export::audit::write_audit_files(dir, &audit))?;
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
    let progress = cli_progress();
    let timer = Timer::new();
    // Only what the labels file and the clustering read is kept: the ids (always kept), the
    // people column for --weight-by-people, no need scores unless --need-weighted reads them.
    let people = if a.cluster.weight_by_people { people_names() } else { Vec::new() };
    let mut imported = analysis::import_stage(input, &a.input, &Keep::Only(people), &progress)?;
    timer.lap("import");
    for r in &imported.report.rejects {
        eprintln!("needmap: rejected: {}", r.located(input));
    }
    let n = imported.households.len();
    // The unit vectors stand for the positions from here on (16 MB a million households).
    imported.households.lat_deg = Vec::new();
    imported.households.lon_deg = Vec::new();
    let scored = analysis::unscored(if a.cluster.need_weighted { n } else { 0 });
    let clustered = analysis::cluster_stage_taking_xyz(&mut imported, &scored, &a.cluster, &progress)?;
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

fn sites_only(
    input: &std::path::Path,
    out: &std::path::Path,
    a: &Analysis,
    p: &crate::sites::SitesParams,
    force: bool,
) -> anyhow::Result<()> {
    use crate::sites::CandidateSource;
    atomic::check_target(out, Some(input), force)?;
    p.check().map_err(anyhow::Error::msg)?;
    for f in
        [p.candidates_file.as_deref().filter(|_| p.candidates == CandidateSource::File), p.existing_file.as_deref()]
            .into_iter()
            .flatten()
    {
        atomic::check_target(out, Some(f), true)?;
    }
    let progress = cli_progress();
    let (imported, res) = analysis::sites_only(input, a, p, &progress)?;
    for r in &imported.report.rejects {
        eprintln!("needmap: rejected: {}", r.located(input));
    }
    let n = imported.households.len();
    let timer = Timer::new();
    for note in &res.notes {
        eprintln!("needmap: note: {note}");
    }
    atomic::write_file(out, Some(input), force, |w| export::csv::sites_csv(w, &res))?;
    timer.lap("write");
    let sol = &res.solution;
    let chosen = sol.sites.len();
    eprintln!(
        "needmap: {} households, {} candidates ({}), radius {} m, weight {}",
        n,
        res.candidates.len(),
        res.candidates.note,
        p.radius_m,
        p.weight
    );
    if !res.existing.is_empty() {
        eprintln!(
            "needmap: {} existing facilities already cover {:.1} % of {}",
            res.existing.len(),
            100.0 * sol.existing_weight / sol.total_weight.max(f64::MIN_POSITIVE),
            p.weight
        );
    }
    if chosen < p.sites {
        eprintln!("needmap: note: {chosen} of {} sites chosen: no other candidate adds coverage", p.sites);
    }
    print_stdout(&format!(
        "{chosen} sites cover {:.1} % of {} ({:.6} of {:.6}, {} households); no {} candidates can cover more than {:.1} % ({:.6}, proven bound) → {}\n",
        100.0 * sol.share(),
        p.weight,
        sol.covered_weight,
        sol.total_weight,
        sol.covered_households,
        p.sites,
        100.0 * sol.bound_share(),
        sol.upper_bound,
        out.display()
    ))
}

fn hotspots_only(input: &std::path::Path, out: &std::path::Path, a: &Analysis, force: bool) -> anyhow::Result<()> {
    let params = a.hotspots.clone().unwrap_or_default();
    // Bad settings fail before the file is read.
    if let Err(e) = params.check() {
        anyhow::bail!("{}: hot spots: {e}", input.display());
    }
    atomic::check_target(out, Some(input), force)?;
    let progress = cli_progress();
    let (imported, hot) = analysis::hotspots_only(input, a, &progress)?;
    let timer = Timer::new();
    atomic::write_file(out, Some(input), force, |w| export::csv::hotspots_csv(w, &imported.households, &hot))?;
    timer.lap("write");
    for r in &imported.report.rejects {
        eprintln!("needmap: rejected: {}", r.located(input));
    }
    if params.band_m.is_none() {
        eprintln!("needmap: {}", hot.band_note);
    }
    for n in &hot.notes {
        eprintln!("needmap: note: {n}");
    }
    eprintln!("needmap: {} households, {} → {}", hot.counts.households, hot.summary(), out.display());
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
    let (_, report) = data::import(input, &import.options(), &Keep::All, &cli_progress())?;
    use std::fmt::Write as _;
    let mut out = String::new();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return print_stdout(&out);
    }
    writeln!(out, "file:        {}", report.path.display())?;
    writeln!(out, "format:      {}", report.format)?;
    writeln!(out, "coordinates: {}", report.coordinates)?;
    writeln!(out, "id column:   {}", report.id_column.as_deref().unwrap_or("(none found)"))?;
    writeln!(
        out,
        "records:     {} read, {} accepted, {} rejected, {} flagged",
        report.records, report.accepted, report.rejected, report.flagged
    )?;
    if let Some(a) = &report.accuracy {
        writeln!(
            out,
            "GPS accuracy ({}): median {} m, 90% within {} m, worst {} m",
            a.column, a.median_m, a.p90_m, a.max_m
        )?;
    }
    writeln!(out, "columns:")?;
    for c in &report.columns {
        writeln!(out, "  {:>3} {:<28} {:<9} {:?}", c.number, c.name, format!("{:?}", c.kind).to_lowercase(), c.role)?;
    }
    for n in &report.notes {
        writeln!(out, "note: {n}")?;
    }
    for i in report.rejects.iter().take(50) {
        writeln!(out, "rejected: {}", i.located(&report.path))?;
    }
    if report.rejects.len() > 50 {
        writeln!(out, "rejected: … and {} more (use --json for all)", report.rejects.len() - 50)?;
    }
    for i in report.flags.iter().take(50) {
        writeln!(out, "flagged:  {}", i.located(&report.path))?;
    }
    if report.flags.len() > 50 {
        writeln!(out, "flagged:  … and {} more (use --json for all)", report.flags.len() - 50)?;
    }
    print_stdout(&out)
}

/// Writes `text` to stdout; a reader that went away (`needmap inspect FILE | head`) is not an
/// error: the output is simply cut short, as with any Unix tool.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
