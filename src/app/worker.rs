//! Runs the pipeline off the UI thread.
//!
//! A [`Job`] names the first stage to recompute and carries the results of the stages before
//! it, so changing a clustering parameter never re-reads the file. Each job gets its own
//! thread and [`Progress`] handle; starting a job cancels the one before (its late messages
//! carry an old job number and are dropped). Results come back over a channel and the thread
//! asks egui for a repaint.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::analysis::{self, Analysis, Clustered, Imported, Outcome, RunError, Scored, SitesResult};
use crate::data::Keep;
use crate::progress::Progress;
use crate::zones::ZonesResult;

use super::map::hotspots::MapHotspots;
use super::map::sites::MapSites;
use super::map::{MapHouseholds, MapZones};

/// Pipeline stages, in order. A job starts at one and runs every stage after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Import,
    Need,
    Cluster,
    Zones,
    Sites,
}

/// Results a job starts from.
#[derive(Clone, Default)]
pub struct Upstream {
    pub imported: Option<Arc<Imported>>,
    pub scored: Option<Arc<Scored>>,
    pub clustered: Option<Arc<Clustered>>,
    pub zones: Option<Arc<ZonesResult>>,
    pub map_households: Option<Arc<MapHouseholds>>,
}

pub struct Job {
    pub path: PathBuf,
    pub analysis: Analysis,
    pub from: Stage,
    pub upstream: Upstream,
}

/// What a job sends back, in order.
pub enum Msg {
    Imported(Arc<Imported>, Arc<MapHouseholds>),
    Scored(Arc<Scored>),
    Clustered(Arc<Clustered>),
    Zones(Arc<ZonesResult>, Arc<MapZones>),
    Sites(Arc<SitesResult>, Arc<MapSites>),
    Hotspots(Arc<crate::hotspots::HotspotResult>, Arc<MapHotspots>),
    Audit(Arc<crate::audit::AuditResult>),
    /// The job ran every stage it had to.
    Finished,
    Failed(String),
    /// A tile download ended: what it did and the file, or why it stopped.
    TilesDone(Result<(crate::tiles::Summary, PathBuf), String>),
    /// A stage panicked (a bug): which stage (a progress key), and the panic's message.
    Crashed {
        stage: &'static str,
        message: String,
    },
    Cancelled,
    Exported(Result<PathBuf, String>),
    /// Exercises were made, or why not (empty: cancelled).
    QuizReady(Result<crate::quiz::Quiz, String>),
    /// A parameter sweep ended: its rows, or why it stopped.
    Swept(crate::sweep::SweepSpec, Result<Vec<crate::sweep::Row>, String>),
}

/// What the UI shows while a job runs.
pub struct Running {
    pub id: u64,
    pub progress: Progress,
    pub started: std::time::Instant,
}

pub struct Worker {
    tx: Sender<(u64, Msg)>,
    rx: Receiver<(u64, Msg)>,
    next_id: u64,
    pub running: Option<Running>,
    /// An export is being written.
    pub exporting: bool,
    /// Test hook: jobs panic when they reach this stage (to test that the app survives its
    /// own bugs). Never set outside tests.
    #[doc(hidden)]
    pub inject_panic: Option<Stage>,
    repaint: Arc<dyn Fn() + Send + Sync>,
}

impl Worker {
    /// `repaint` is called from the worker thread after each message (egui's
    /// `Context::request_repaint`).
    pub fn new(repaint: impl Fn() + Send + Sync + 'static) -> Self {
        let (tx, rx) = channel();
        Self { tx, rx, next_id: 1, running: None, exporting: false, inject_panic: None, repaint: Arc::new(repaint) }
    }

    /// Starts `job`, cancelling the one before.
    pub fn start(&mut self, job: Job) {
        self.cancel();
        let id = self.next_id;
        self.next_id += 1;
        let progress = Progress::new();
        self.running = Some(Running { id, progress: progress.clone(), started: std::time::Instant::now() });
        let tx = self.tx.clone();
        let repaint = self.repaint.clone();
        let panic_at = self.inject_panic;
        std::thread::Builder::new()
            .name("needmap-worker".into())
            .spawn(move || {
                let send = |m: Msg| {
                    let _ = tx.send((id, m));
                    repaint();
                };
                // A bug of ours in a stage must not take the app (and the user's settings)
                // down: the panic becomes a notice naming the stage, and the next run starts
                // afresh on a new thread.
                let run =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_job(job, &progress, &send, panic_at)));
                match run {
                    Ok(Ok(())) => send(Msg::Finished),
                    Ok(Err(RunError::Cancelled)) => send(Msg::Cancelled),
                    Ok(Err(e)) => send(Msg::Failed(e.to_string())),
                    Err(payload) => send(Msg::Crashed { stage: progress.snapshot().0, message: panic_text(&*payload) }),
                }
            })
            .expect("spawn worker thread");
    }

    /// Writes every output of `outcome` into `dir` on a thread (same writers as `needmap run`).
    pub fn export(
        &mut self,
        outcome: Outcome,
        input: PathBuf,
        dir: PathBuf,
        force: bool,
        opts: crate::export::ExportOptions,
    ) {
        let tx = self.tx.clone();
        let repaint = self.repaint.clone();
        self.exporting = true;
        std::thread::spawn(move || {
            let write = || crate::export::write_run(&outcome, &input, &dir, force, &opts).map(|()| dir.clone());
            let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(write)) {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(payload) => Err(format!("internal error while writing: {}", panic_text(&*payload))),
            };
            let _ = tx.send((0, Msg::Exported(r)));
            repaint();
        });
    }

    /// Runs `work` on a thread as the current job (the status bar shows its progress and
    /// Cancel), and sends what `done` makes of its result: the error's text when it failed
    /// (`""` when cancelled, if `quiet_cancel`), and a notice naming `what` when it panicked.
    fn side_job<T, E: std::fmt::Display>(
        &mut self,
        what: &'static str,
        quiet_cancel: bool,
        work: impl FnOnce(&Progress) -> Result<T, E> + Send + 'static,
        done: impl FnOnce(Result<T, String>) -> Msg + Send + 'static,
    ) where
        T: Send + 'static,
    {
        self.cancel();
        let id = self.next_id;
        self.next_id += 1;
        let progress = Progress::new();
        self.running = Some(Running { id, progress: progress.clone(), started: std::time::Instant::now() });
        let (tx, repaint) = (self.tx.clone(), self.repaint.clone());
        std::thread::spawn(move || {
            let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&progress))) {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(_)) if quiet_cancel && progress.is_cancelled() => Err(String::new()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(p) => Err(format!("internal error while {what}: {}", panic_text(&*p))),
            };
            let _ = tx.send((id, done(r)));
            repaint();
        });
    }

    /// Downloads the tiles of `boxes` on a thread, with the status bar's progress and Cancel.
    pub fn download_tiles(&mut self, cfg: crate::tiles::DownloadConfig, boxes: Vec<crate::tiles::LonLatBox>) {
        let out = cfg.out.clone();
        let work = move |p: &Progress| crate::tiles::download(&cfg, &boxes, p).map(|s| (s, out));
        // A cancelled download says so itself (and that its .part file is kept to resume).
        self.side_job("downloading", false, work, Msg::TilesDone);
    }

    /// Runs a parameter sweep on a thread, with the status bar's progress and Cancel.
    pub fn sweep(
        &mut self,
        imported: Arc<Imported>,
        scored: Arc<Scored>,
        base: crate::analysis::ClusterConfig,
        spec: crate::sweep::SweepSpec,
    ) {
        let s = spec.clone();
        let work = move |p: &Progress| crate::sweep::sweep(&imported, &scored, &base, &s, p);
        self.side_job("sweeping", true, work, move |r| Msg::Swept(spec, r));
    }

    /// Makes exercises on a thread, with the status bar's progress and Cancel.
    pub fn quiz(
        &mut self,
        imported: Arc<Imported>,
        analysis: Analysis,
        seed: u64,
        count: usize,
        lang: crate::i18n::Lang,
    ) {
        let work = move |p: &Progress| crate::quiz::generate(&imported, &analysis, seed, count, lang, p);
        self.side_job("making the quiz", true, work, Msg::QuizReady);
    }

    /// Asks the running job to stop.
    pub fn cancel(&mut self) {
        if let Some(r) = self.running.take() {
            r.progress.cancel();
        }
    }

    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Messages of the current job (and export results), oldest first.
    pub fn poll(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        while let Ok((id, msg)) = self.rx.try_recv() {
            let current = self.running.as_ref().map(|r| r.id);
            match msg {
                Msg::Exported(_) => {
                    self.exporting = false;
                    out.push(msg)
                }
                _ if Some(id) == current => {
                    let last = matches!(
                        msg,
                        Msg::Finished
                            | Msg::Failed(_)
                            | Msg::Crashed { .. }
                            | Msg::Cancelled
                            | Msg::TilesDone(_)
                            | Msg::Swept(..)
                            | Msg::QuizReady(_)
                    );
                    out.push(msg);
                    if last {
                        self.running = None;
                    }
                }
                Msg::Cancelled => {}
                _ => {} // a cancelled job's late result
            }
        }
        out
    }
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn injected_panic(at: Option<Stage>, stage: Stage) {
    if at == Some(stage) {
        panic!("injected panic in stage {stage:?} (test hook)");
    }
}

fn run_job(job: Job, progress: &Progress, send: &dyn Fn(Msg), panic_at: Option<Stage>) -> Result<(), RunError> {
    let Job { path, analysis: a, from, upstream } = job;
    let (imported, map_households) = match (from, upstream.imported, upstream.map_households) {
        (Stage::Import, _, _) | (_, None, _) | (_, _, None) => {
            let imp = Arc::new(analysis::import_stage(&path, &a.input, &Keep::All, progress)?);
            progress.check()?;
            progress.stage("map", 1);
            let map = Arc::new(MapHouseholds::new(&imp));
            send(Msg::Imported(imp.clone(), map.clone()));
            (imp, map)
        }
        (_, Some(imp), Some(map)) => (imp, map),
    };
    let scored = match (from <= Stage::Need, upstream.scored) {
        (true, _) | (_, None) => {
            progress.stage("need", 1);
            let s = Arc::new(analysis::need_stage(&imported, &a, progress)?);
            progress.check()?;
            send(Msg::Scored(s.clone()));
            s
        }
        (false, Some(s)) => s,
    };
    let clustered = match (from <= Stage::Cluster, upstream.clustered) {
        (true, _) | (_, None) => {
            progress.stage("cluster", 1);
            injected_panic(panic_at, Stage::Cluster);
            let c = Arc::new(analysis::cluster_stage(&imported, &scored, &a.cluster, progress)?);
            progress.check()?;
            send(Msg::Clustered(c.clone()));
            c
        }
        (false, Some(c)) => c,
    };
    let zones = match (from <= Stage::Zones, upstream.zones) {
        (true, _) | (_, None) => {
            let z = Arc::new(analysis::zones_stage(&imported, &scored, &clustered, &a.zones, progress)?);
            progress.check()?;
            progress.stage("map", 1);
            let map = Arc::new(MapZones::new(&z));
            send(Msg::Zones(z.clone(), map));
            z
        }
        (false, Some(z)) => z,
    };
    // The stages after the zones, when the analysis asks for them.
    let mut sites = None;
    if let Some(p) = &a.sites {
        let r = Arc::new(analysis::sites_stage(&imported, &scored, Some(&zones), p, progress)?);
        progress.check()?;
        let map = Arc::new(MapSites::new(&r, &map_households.merc));
        sites = Some(r.clone());
        send(Msg::Sites(r, map));
    }
    if let Some(p) = &a.hotspots {
        progress.stage("hotspots", 1);
        let r = Arc::new(analysis::hotspots_stage(&imported, Some(&scored.need.score), p, progress)?);
        progress.check()?;
        let map = Arc::new(MapHotspots::new(&r, &map_households));
        send(Msg::Hotspots(r, map));
    }
    if let Some(p) = &a.audit {
        progress.stage("audit", 1);
        let r = analysis::audit_stage(&imported, &scored, &a, &zones, sites.as_deref(), p, progress)?;
        progress.check()?;
        send(Msg::Audit(Arc::new(r)));
    }
    Ok(())
}
