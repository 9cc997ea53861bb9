//! The bias audit on constructed surveys whose answers are known by construction: one where a
//! single weight decides the top zone, one where nothing hinges, one where a group lives only
//! outside the zones; determinism across thread counts; the `needmap audit` command.

use std::path::{Path, PathBuf};
use std::process::Output;

use needmap::analysis::{self, Analysis, Outcome};
use needmap::audit::AuditParams;
use needmap::need::{Direction, Indicator, Selection, Transform};
use needmap::progress::Progress;

mod common;
use common::{entries, fails, needmap, show};

/// Two tight zones of 20 households ~2.2 km apart, and 62 scattered households 2 km south
/// with no need. Zone A (ids A01…) scores `a` on x1 and x2, zone B scores `b`. Group column
/// `grp`: the zones and 30 scattered households are "A", 30 scattered are "B", 2 are "C".
fn survey(a: (f64, f64), b: (f64, f64)) -> String {
    let mut s = String::from("id,lat,lon,x1,x2,grp\n");
    for k in 0..20 {
        let (dy, dx) = ((k / 5) as f64 * 0.0001, (k % 5) as f64 * 0.0001);
        s += &format!("A{k:02},{:.6},{:.6},{},{},A\n", -12.0 + dy, -77.0 + dx, a.0, a.1);
        s += &format!("B{k:02},{:.6},{:.6},{},{},A\n", -12.0 + dy, -76.98 + dx, b.0, b.1);
    }
    for k in 0..62 {
        let g = if k < 30 {
            "A"
        } else if k < 60 {
            "B"
        } else {
            "C"
        };
        s += &format!("S{k:02},{:.6},{:.6},0,0,{g}\n", -12.02 - (k % 7) as f64 * 0.003, -77.0 + k as f64 * 0.001);
    }
    s
}

fn analysis_for(w1: f64, w2: f64, audit: AuditParams) -> Analysis {
    let ind = |c: &str, w: f64| Indicator {
        column: c.into(),
        direction: Direction::HigherIsWorse,
        transform: Transform::MinMax,
        weight: w,
        ..Default::default()
    };
    let mut a = Analysis::default();
    a.need.indicators = vec![ind("x1", w1), ind("x2", w2)];
    a.selection = Selection::Threshold { min_score: 0.3 };
    a.cluster.eps_m = Some(100.0);
    a.cluster.min_points = Some(5);
    a.audit = Some(audit);
    a
}

fn run(dir: &Path, body: &str, a: &Analysis) -> Outcome {
    let p = dir.join("s.csv");
    std::fs::write(&p, body).unwrap();
    analysis::run(a, &p, &Progress::new()).unwrap()
}

fn zone_of_id(o: &Outcome, id_prefix: &str) -> u32 {
    let h = &o.imported.households;
    let i = (0..h.len()).find(|&i| h.id(i).starts_with(id_prefix)).unwrap();
    o.zones.zone_of[i] as u32
}

#[test]
fn one_weight_decides_the_top_zone_and_the_audit_says_so() {
    let d = tempfile::tempdir().unwrap();
    let params = AuditParams { top_k: 1, groups: vec!["grp".into()], ..Default::default() };
    let o = run(d.path(), &survey((1.0, 0.0), (0.0, 1.0)), &analysis_for(0.52, 0.48, params));
    let a = o.audit.as_deref().unwrap();
    assert_eq!(o.zones.zones.len(), 2);
    let (za, zb) = (zone_of_id(&o, "A"), zone_of_id(&o, "B"));
    assert_eq!(o.zones.zones[0].id, za, "the chosen weights favour zone A slightly");
    let sa = a.zones.iter().find(|z| z.zone == za).unwrap();
    let sb = a.zones.iter().find(|z| z.zone == zb).unwrap();
    // Dirichlet(26, 24): P(w1 > w2) ≈ 0.61.
    assert!((0.45..0.8).contains(&sa.p_top_1), "{sa:?}");
    assert!((0.2..0.55).contains(&sb.p_top_1), "{sb:?}");
    assert_eq!(sa.p_top_1 + sb.p_top_1, 1.0);
    assert_eq!(sa.p_top_k, sa.p_top_1, "K = 1");
    assert_eq!((sa.rank_p05, sa.rank_p95), (1, 2));
    assert_eq!((sb.rank_p05, sb.rank_p95), (1, 2));
    assert!(
        a.flags.iter().any(|f| f.starts_with(&format!("the top zone (zone {za}) stays first in only "))),
        "{:?}",
        a.flags
    );
    // Leaving out x1 hands the top place to zone B; leaving out x2 keeps A first.
    let x1 = &a.indicators[0];
    assert_eq!(x1.column, "x1");
    assert_eq!(x1.leave_out_top_k_changed, Some(1));
    assert_eq!((x1.leave_out_zones_out.clone(), x1.leave_out_zones_in.clone()), (vec![za], vec![zb]));
    assert_eq!(x1.leave_out_top_zone, Some(zb));
    assert_eq!(a.indicators[1].leave_out_top_k_changed, Some(0));
    assert!((x1.weight - 0.52).abs() < 1e-12);
    assert!(x1.weight_p05 < 0.52 && x1.weight_p95 > 0.52);
    // Every zone household is critical in (almost) every draw; scattered ones never.
    let h = &o.imported.households;
    for i in 0..h.len() {
        let p = a.p_critical[i];
        if h.id(i).starts_with('S') {
            assert_eq!(p, 0.0);
        } else {
            assert!(p > 0.95, "{} {p}", h.id(i));
        }
    }
}

#[test]
fn when_nothing_hinges_the_top_zones_are_certain() {
    let d = tempfile::tempdir().unwrap();
    let params = AuditParams { top_k: 2, ..Default::default() };
    let o = run(d.path(), &survey((1.0, 1.0), (0.5, 0.5)), &analysis_for(0.52, 0.48, params));
    let a = o.audit.as_deref().unwrap();
    assert_eq!(a.zones.len(), 2);
    assert_eq!(a.zones[0].zone, zone_of_id(&o, "A"));
    assert_eq!(a.zones[0].p_top_1, 1.0);
    for (k, z) in a.zones.iter().enumerate() {
        let r = k as u32 + 1;
        assert_eq!(z.p_top_k, 1.0);
        assert_eq!((z.rank, z.rank_fixed_members, z.rank_p05, z.rank_median, z.rank_p95), (r, r, r, r, r));
    }
    assert!(a.flags.is_empty(), "{:?}", a.flags);
    assert!(a.indicators.iter().all(|i| i.leave_out_top_k_changed == Some(0)));
    assert_eq!(a.critical_stability.sometimes, 0);
}

#[test]
fn a_group_living_outside_the_zones_is_flagged() {
    let d = tempfile::tempdir().unwrap();
    let params = AuditParams { top_k: 2, groups: vec!["grp".into()], ..Default::default() };
    let o = run(d.path(), &survey((1.0, 1.0), (0.5, 0.5)), &analysis_for(0.5, 0.5, params));
    let a = o.audit.as_deref().unwrap();
    let g: Vec<(&str, usize, &str)> =
        a.groups.iter().map(|g| (g.group.as_str(), g.households, g.flag.as_str())).collect();
    assert_eq!(
        g,
        vec![("A", 70, "over_critical;over_top_zones"), ("B", 30, "under_critical;under_top_zones"), ("C", 2, "")]
    );
    let b = &a.groups[1];
    assert!((b.share_all - 30.0 / 102.0).abs() < 1e-12);
    assert_eq!((b.share_critical, b.share_top_zones), (Some(0.0), Some(0.0)));
    assert_eq!((b.ratio_critical, b.ratio_top_zones), (Some(0.0), Some(0.0)));
    assert_eq!(
        b.sentences[1],
        "households with grp = \"B\" are 29 % of the survey but 0 % of those inside the top 2 zones \
         (ratio 0.00: under-represented, below the four-fifths rule)"
    );
    assert!(a.flags.contains(&b.sentences[1]));
    // The tiny group C (2 households, below 30) is reported, never flagged.
    assert!(a.groups[2].sentences.is_empty());
    assert_eq!(a.top_zone_households, 40);
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn same_seed_same_numbers_whatever_the_thread_count() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.csv");
    std::fs::write(&p, survey((1.0, 0.0), (0.0, 1.0))).unwrap();
    let params = AuditParams { top_k: 1, groups: vec!["grp".into()], draws: 61, ..Default::default() };
    let a = analysis_for(0.52, 0.48, params.clone());
    let go = |t: usize, a: &Analysis| in_pool(t, || analysis::run(a, &p, &Progress::new()).unwrap().audit.unwrap());
    let one = go(1, &a);
    let two = go(2, &a);
    let three = go(3, &a);
    assert_eq!(*one, *two);
    assert_eq!(*one, *three);
    assert_eq!(serde_json::to_string(&*one).unwrap(), serde_json::to_string(&*two).unwrap());
    assert_eq!(
        one.p_critical.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        two.p_critical.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    // Another seed draws other weights.
    let other = go(2, &analysis_for(0.52, 0.48, AuditParams { seed: 2, ..params }));
    assert_ne!(one.indicators[0].weight_p05, other.indicators[0].weight_p05);
    assert_ne!(one.indicators[0].weight_p95, other.indicators[0].weight_p95);
}

// --- the command line ----------------------------------------------------------------------

fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = needmap(dir, args);
    assert!(o.status.success(), "{}", show(args, &o));
    o
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.csv"), survey((1.0, 1.0), (0.5, 0.5))).unwrap();
    // The need and clustering settings; the audit's come from flags.
    let mut a = analysis_for(0.5, 0.5, AuditParams::default());
    a.audit = None;
    let p = d.path().join("a.toml");
    std::fs::write(&p, a.to_toml()).unwrap();
    (d, p)
}

#[test]
fn audit_command_writes_its_three_files_and_prints_the_flags() {
    let (d, _) = setup();
    let p = d.path();
    let args =
        ["audit", "s.csv", "--analysis", "a.toml", "--group", "grp", "--top-k", "2", "--draws", "50", "--out", "au"];
    let o = ok(p, &args);
    assert_eq!(entries(&p.join("au")), ["audit.json", "groups.csv", "zones_stability.csv"]);
    let zs = std::fs::read_to_string(p.join("au/zones_stability.csv")).unwrap();
    let mut lines = zs.lines();
    assert_eq!(lines.next().unwrap(), "zone,rank,p_top_k,rank_p05,rank_p95,p_top_1,rank_median,rank_fixed_members");
    assert!(lines.next().unwrap().ends_with(",1,1.000000,1,1,1.000000,1,1"), "{zs}");
    let gr = std::fs::read_to_string(p.join("au/groups.csv")).unwrap();
    assert!(gr.starts_with(
        "column,group,households,share_all,share_critical,share_top_zones,ratio_critical,ratio_top_zones,flag,"
    ));
    assert!(
        gr.contains("\ngrp,B,30,0.294118,0.000000,0.000000,0.000000,0.000000,under_critical;under_top_zones,"),
        "{gr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("au/audit.json")).unwrap()).unwrap();
    assert_eq!(json["settings"]["draws"], 50);
    assert_eq!(json["settings"]["groups"][0], "grp");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "needmap: audit: households with grp = \"B\" are 29 % of the survey but 0 % of the critical households"
        ),
        "{err}"
    );
    // Same seed, same files, whatever the thread count.
    ok(p, &[&args[..args.len() - 1], &["au2", "--threads", "1"]].concat());
    ok(p, &[&args[..args.len() - 1], &["au3", "--threads", "2"]].concat());
    for f in ["audit.json", "groups.csv", "zones_stability.csv"] {
        let want = std::fs::read(p.join("au").join(f)).unwrap();
        assert_eq!(want, std::fs::read(p.join("au2").join(f)).unwrap(), "{f}");
        assert_eq!(want, std::fs::read(p.join("au3").join(f)).unwrap(), "{f}");
    }
}

#[test]
fn audit_command_refuses_bad_settings_with_one_line_and_no_output() {
    let (d, _) = setup();
    let p = d.path();
    let got = fails(p, &["audit", "s.csv", "--analysis", "a.toml", "--group", "nope", "--out", "au"]);
    assert_eq!(
        got,
        "needmap: s.csv: group column \"nope\" is not in the file; the columns are \"id\", \"lat\", \"lon\", \"x1\", \"x2\", \"grp\""
    );
    let got = fails(p, &["audit", "s.csv", "--analysis", "a.toml", "--draws", "0", "--out", "au"]);
    assert_eq!(got, "needmap: audit: draws is 0; give at least 1 (--draws, or draws in [audit])");
    let got = fails(p, &["audit", "s.csv", "--analysis", "a.toml", "--group", "id", "--out", "au"]);
    assert_eq!(
        got,
        "needmap: s.csv: group column \"id\" has 102 different values; a group column needs at most 100 \
         (e.g. sex of the head of household, mother tongue, district)"
    );
    // One indicator: nothing to perturb.
    std::fs::write(p.join("one.csv"), "id,lat,lon,monthly_income\n1,-12.0,-77.0,100\n2,-12.0001,-77.0,200\n").unwrap();
    let got = fails(p, &["audit", "one.csv", "--out", "au"]);
    assert!(got.starts_with("needmap: one.csv: audit: weight sensitivity needs at least two indicators with a positive weight, and the need index has \"monthly_income\" (weight 1)"), "{got}");
    assert!(!p.join("au").exists());
    assert_eq!(entries(p), ["a.toml", "one.csv", "s.csv"]);
}

#[test]
fn run_with_an_audit_section_writes_the_audit_and_p_critical_and_reruns_byte_for_byte() {
    let (d, _) = setup();
    let p = d.path();
    let mut a = analysis_for(0.5, 0.5, AuditParams { groups: vec!["grp".into()], draws: 40, ..Default::default() });
    a.input = Default::default();
    std::fs::write(p.join("b.toml"), a.to_toml()).unwrap();
    ok(p, &["run", "s.csv", "--analysis", "b.toml", "--out", "r1"]);
    assert_eq!(
        entries(&p.join("r1")),
        [
            "analysis.toml",
            "audit.json",
            "groups.csv",
            "households.csv",
            "needmap.gpkg",
            "report.json",
            "zones.csv",
            "zones.geojson",
            "zones.gpx",
            "zones.kml",
            "zones_stability.csv"
        ]
    );
    let hh = std::fs::read_to_string(p.join("r1/households.csv")).unwrap();
    assert!(hh.starts_with("id,lat,lon,x1,x2,grp,need,critical,cluster,zone,p_critical\n"), "{hh}");
    assert!(hh.lines().nth(1).unwrap().ends_with(",1.0000"), "{hh}");
    let toml = std::fs::read_to_string(p.join("r1/analysis.toml")).unwrap();
    assert!(toml.contains("[audit]"), "{toml}");
    ok(p, &["run", "s.csv", "--analysis", "r1/analysis.toml", "--out", "r2"]);
    for f in ["audit.json", "groups.csv", "zones_stability.csv", "households.csv", "analysis.toml"] {
        assert_eq!(std::fs::read(p.join("r1").join(f)).unwrap(), std::fs::read(p.join("r2").join(f)).unwrap(), "{f}");
    }
    // Without [audit], no audit files and no p_critical column.
    ok(p, &["run", "s.csv", "--analysis", "a.toml", "--out", "r3"]);
    assert!(!p.join("r3/audit.json").exists());
    assert!(!std::fs::read_to_string(p.join("r3/analysis.toml")).unwrap().contains("[audit]"));
}

// --- the shipped samples: what sample_data/README.md says the audit finds ------------------

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data").join(name)
}

fn audit_sample(name: &str, groups: &[&str], top_k: usize) -> Outcome {
    let a = Analysis {
        audit: Some(AuditParams {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            top_k,
            ..Default::default()
        }),
        ..Default::default()
    };
    analysis::run(&a, &sample(name), &Progress::new()).unwrap()
}

#[test]
fn lima_audit_finds_quechua_speakers_concentrated_where_the_need_is_and_disability_spread_evenly() {
    let o = audit_sample("lima_households.csv", &["mother_tongue", "disability", "head_female"], 10);
    let a = o.audit.as_deref().unwrap();
    let g = |c: &str, v: &str| a.groups.iter().find(|g| g.column == c && g.group == v).unwrap();
    let q = g("mother_tongue", "Quechua");
    assert_eq!(q.flag, "over_critical;over_top_zones");
    assert!(q.ratio_top_zones.unwrap() > 1.4, "{q:?}");
    for v in ["yes", "no"] {
        assert_eq!(g("disability", v).flag, "", "{:?}", g("disability", v));
        assert_eq!(g("head_female", v).flag, "", "{:?}", g("head_female", v));
    }
    assert!(a.zones[..10].iter().all(|z| z.p_top_k > 0.9), "{:?}", &a.zones[..10]);
    // The draws start from the run's ranking: recomputed at the chosen weights, every rank is
    // the run's own (zones overlap here and there; each counts the households inside it).
    assert!(a.zones.iter().all(|z| z.rank_fixed_members == z.rank), "{:?}", a.zones);
}

#[test]
fn kobo_audit_finds_spanish_speakers_under_represented_in_the_top_two_zones() {
    let o = audit_sample("kobo_encuesta_sjl.csv", &["lengua_materna", "discapacidad"], 2);
    let a = o.audit.as_deref().unwrap();
    let g = |c: &str, v: &str| a.groups.iter().find(|g| g.column == c && g.group == v).unwrap();
    assert_eq!(g("lengua_materna", "castellano").flag, "under_top_zones");
    assert_eq!(g("lengua_materna", "quechua").flag, "over_top_zones");
    assert_eq!(g("discapacidad", "si").flag, "");
}

#[test]
fn no_zones_and_no_critical_households_give_an_empty_audit_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let mut a = analysis_for(0.5, 0.5, AuditParams { groups: vec!["grp".into()], draws: 7, ..Default::default() });
    a.selection = Selection::Threshold { min_score: 2.0 };
    let o = run(d.path(), &survey((1.0, 1.0), (0.5, 0.5)), &a);
    let au = o.audit.as_deref().unwrap();
    assert!(o.zones.zones.is_empty());
    assert!(au.zones.is_empty() && au.flags.is_empty());
    assert_eq!((au.critical, au.top_k, au.top_zone_households), (0, 0, 0));
    assert!(au.groups.iter().all(|g| g.share_critical.is_none() && g.ratio_top_zones.is_none() && g.flag.is_empty()));
    assert!(au.p_critical.iter().all(|&p| p == 0.0));
}
