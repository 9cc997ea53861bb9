//! Every file of the bad-input corpus (tests/corpus/) through every subcommand that reads an
//! input, as a user would run it: never a panic, exit code 0 or 1 as documented in src/cli.rs,
//! a refusal names the file (and line and column where the table gives them) and leaves no
//! output or temporary file behind, and the input is unchanged.
//!
//! The expected outcomes live in ONE place: the table in tests/corpus/README.md, which this
//! test parses (see the notation there). A file without a row, or a row without a file, fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use rayon::prelude::*;

mod common;
use common::entries;

/// The subcommands that read a survey file: name, arguments (`{in}` is the input), the output
/// they write, and whether they take `--analysis`. Adding one is one line.
type Cmd = (&'static str, &'static [&'static str], Option<&'static str>, bool);

const COMMANDS: &[Cmd] = &[
    ("inspect", &["inspect", "{in}", "--json"], None, false),
    ("run", &["run", "{in}", "--out", "out"], Some("out"), true),
    ("cluster", &["cluster", "{in}", "--out", "labels.csv"], Some("labels.csv"), false),
    ("sites", &["sites", "{in}", "--sites", "2", "--radius-m", "500", "--out", "sites.csv"], Some("sites.csv"), true),
    ("hotspots", &["hotspots", "{in}", "--out", "hot.csv"], Some("hot.csv"), true),
    ("audit", &["audit", "{in}", "--draws", "10", "--out", "audit"], Some("audit"), true),
    (
        "sweep",
        &["sweep", "{in}", "--eps-m", "100:200:100", "--min-points", "2:3:1", "--out", "sweep.csv"],
        Some("sweep.csv"),
        false,
    ),
    ("quiz", &["quiz", "{in}", "--count", "4", "--out", "quiz.json"], Some("quiz.json"), true),
];

/// The good survey that an analysis file (`*.toml`) is applied to.
const BASE: &str = "good.csv";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Files too large to commit, made here.
fn generated(name: &str) -> Option<Vec<u8>> {
    match name {
        // One 5 MB quoted field (an attribute), between ordinary rows.
        "five_mb_field.csv" => {
            let mut s = String::from("household_id,lat,lon,household_size,monthly_income,notes\n");
            s += "1,-12.0500,-77.0500,4,300,short\n2,-12.0501,-77.0501,5,250,\"";
            s += &"x, \"\"y\"\"\n".repeat(5_000_000 / 9);
            s += "\"\n3,-12.0502,-77.0500,6,280,short\n4,-12.0500,-77.0502,3,320,short\n";
            Some(s.into_bytes())
        }
        // A 5 MB header field and no newline at all.
        "five_mb_line.csv" => Some(format!("lat,lon,{}", "a".repeat(5_000_000)).into_bytes()),
        _ => None,
    }
}

/// What a command must do with a file.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Exit 0; `inspect --json` reports these accepted/rejected/flagged counts and these
    /// `kind@line:column` items (rejects, then flags; empty = not checked).
    Ok { counts: Option<(u64, u64, u64)>, items: Vec<String> },
    /// Exit 1; the last stderr line names the file (`file:at: ` when `at` is given, e.g.
    /// `3:5`) and contains `fragment`.
    Refused { at: Option<String>, fragment: String },
    /// The same refusal as `inspect`.
    Same,
}

#[derive(Debug)]
struct Row {
    file: String,
    inspect: Outcome,
    /// Outcome per command other than inspect.
    others: Vec<(String, Outcome)>,
}

fn parse_outcome(cell: &str) -> Result<Outcome, String> {
    let cell = cell.trim().trim_matches('`').trim();
    if cell == "same" {
        return Ok(Outcome::Same);
    }
    if let Some(rest) = cell.strip_prefix("ok") {
        let mut words = rest.split_whitespace();
        let counts = match words.next() {
            None => None,
            Some(c) => {
                let n: Vec<u64> = c
                    .split('/')
                    .map(|x| x.parse().map_err(|_| format!("bad counts {c:?}")))
                    .collect::<Result<_, _>>()?;
                let [a, r, f] = n[..] else { return Err(format!("counts {c:?}: want A/R/F")) };
                Some((a, r, f))
            }
        };
        return Ok(Outcome::Ok { counts, items: words.map(str::to_string).collect() });
    }
    if let Some(rest) = cell.strip_prefix("refused") {
        let rest = rest.trim();
        let (at, rest) = match rest.strip_prefix('@') {
            Some(r) => {
                let (a, b) = r.split_once(' ').ok_or("refused @L:C needs a fragment")?;
                (Some(a.to_string()), b.trim())
            }
            None => (None, rest),
        };
        let fragment =
            rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or(format!("fragment not quoted: {rest:?}"))?;
        return Ok(Outcome::Refused { at, fragment: fragment.to_string() });
    }
    Err(format!("unknown outcome {cell:?}"))
}

/// The table of tests/corpus/README.md.
fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus_dir().join("README.md")).unwrap();
    let names: Vec<&str> = COMMANDS.iter().map(|c| c.0).filter(|&c| c != "inspect").collect();
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() != 6 || !cells[1].starts_with('`') {
            continue;
        }
        let at = |e: String| format!("tests/corpus/README.md:{}: {e}", n + 1);
        let file = cells[1].split('`').nth(1).unwrap().to_string();
        let inspect = parse_outcome(cells[3]).map_err(at).unwrap();
        let mut others: Vec<(String, Outcome)> = Vec::new();
        for item in cells[4].trim_matches('`').split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (cmds, out) =
                item.split_once('=').unwrap_or_else(|| panic!("{}", at(format!("{item:?}: want CMDS=OUTCOME"))));
            let out = parse_outcome(out).map_err(at).unwrap();
            for c in cmds.split(',').map(str::trim) {
                let list: Vec<&str> = if c == "*" { names.clone() } else { vec![c] };
                assert!(c == "*" || names.contains(&c), "{}", at(format!("unknown command {c:?}")));
                for c in list {
                    if !others.iter().any(|(o, _)| o == c) {
                        others.push((c.to_string(), out.clone()));
                    }
                }
            }
        }
        for c in &names {
            assert!(others.iter().any(|(o, _)| o == c), "{}", at(format!("no outcome for {c} (end with *=…)")));
        }
        rows.push(Row { file, inspect, others });
    }
    rows
}

#[test]
fn the_table_lists_every_corpus_file_and_only_those() {
    let rows = table();
    let listed: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    let on_disk = entries(&corpus_dir());
    for f in &on_disk {
        assert!(f == "README.md" || listed.contains(&f.as_str()), "tests/corpus/{f} has no row in README.md");
    }
    for f in &listed {
        assert!(on_disk.iter().any(|d| d == f) || generated(f).is_some(), "README.md lists {f}, which does not exist");
        assert_eq!(listed.iter().filter(|g| g == &f).count(), 1, "{f} listed twice");
    }
    assert!(rows.len() >= 40, "{} files", rows.len());
    for f in on_disk.iter().filter(|f| *f != "README.md") {
        let len = std::fs::metadata(corpus_dir().join(f)).unwrap().len();
        assert!(len < 20_000, "tests/corpus/{f} is {len} bytes; generate large files in the test");
    }
}

/// Runs one command on one file in a fresh directory and checks everything; `Err` says what
/// went wrong, with the command and both streams.
fn check(parent: &Path, row: &Row, cmd: &Cmd, inspect_refusal: &Outcome) -> Result<(), String> {
    let (name, args, out, takes_analysis) = *cmd;
    let dir = parent.join(format!("{}--{name}", row.file));
    std::fs::create_dir(&dir).unwrap();
    let bytes = generated(&row.file).unwrap_or_else(|| std::fs::read(corpus_dir().join(&row.file)).unwrap());
    std::fs::write(dir.join(&row.file), &bytes).unwrap();
    let is_analysis = row.file.ends_with(".toml");
    let mut argv: Vec<String> = Vec::new();
    for a in args {
        if *a == "{in}" && is_analysis && takes_analysis {
            argv.push(BASE.into());
            argv.push("--analysis".into());
            argv.push(row.file.clone());
        } else {
            argv.push(a.replace("{in}", &row.file));
        }
    }
    if is_analysis && takes_analysis {
        std::fs::copy(corpus_dir().join(BASE), dir.join(BASE)).unwrap();
    }
    let inputs = entries(&dir);
    let o = Command::new(env!("CARGO_BIN_EXE_needmap")).args(&argv).current_dir(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let show = || {
        let mut err = stderr.clone();
        if err.len() > 3000 {
            err.truncate(3000);
            err += "…";
        }
        format!("needmap {}\nstatus: {}\nstderr:\n{err}", argv.join(" "), o.status)
    };
    let expected = if name == "inspect" {
        row.inspect.clone()
    } else {
        match row.others.iter().find(|(c, _)| c == name).unwrap().1.clone() {
            Outcome::Same => inspect_refusal.clone(),
            e => e,
        }
    };
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        return Err(format!("panic\n{}", show()));
    }
    if std::fs::read(dir.join(&row.file)).unwrap() != bytes
        || dir.join(BASE).exists()
            && std::fs::read(dir.join(BASE)).unwrap() != std::fs::read(corpus_dir().join(BASE)).unwrap()
    {
        return Err(format!("an input was changed\n{}", show()));
    }
    let left: Vec<String> = entries(&dir).into_iter().filter(|e| !inputs.contains(e)).collect();
    match expected {
        Outcome::Ok { counts, items } => {
            if o.status.code() != Some(0) {
                return Err(format!("expected success\n{}", show()));
            }
            let want: Vec<String> = out.map(|o| o.to_string()).into_iter().collect();
            if left != want {
                return Err(format!("left {left:?}, expected {want:?}\n{}", show()));
            }
            if name == "inspect" {
                let r: serde_json::Value = serde_json::from_slice(&o.stdout).map_err(|e| format!("{e}\n{}", show()))?;
                let got =
                    (r["accepted"].as_u64().unwrap(), r["rejected"].as_u64().unwrap(), r["flagged"].as_u64().unwrap());
                if counts.is_some_and(|c| c != got) {
                    return Err(format!("accepted/rejected/flagged {got:?}, expected {counts:?}\n{}", show()));
                }
                if !items.is_empty() {
                    let got: Vec<String> = ["rejects", "flags"]
                        .iter()
                        .flat_map(|k| r[k].as_array().unwrap().clone())
                        .map(|i| format!("{}@{}:{}", i["kind"].as_str().unwrap(), i["line"], i["column"]))
                        .collect();
                    if got != items {
                        return Err(format!("items {got:?}, expected {items:?}\n{}", show()));
                    }
                }
            }
        }
        Outcome::Refused { at, fragment } => {
            if o.status.code() != Some(1) {
                return Err(format!("expected exit code 1 (refused: {fragment:?})\n{}", show()));
            }
            let last = stderr.lines().last().unwrap_or_default();
            let place = match &at {
                Some(a) => format!("{}:{a}: ", row.file),
                None => row.file.clone(),
            };
            // An error while applying an analysis file names it (`a.toml, applied to good.csv: …`).
            if !last.starts_with("needmap: ") || !last.contains(&place) {
                return Err(format!("the message does not name {place:?}\n{}", show()));
            }
            if !last.contains(&fragment) {
                return Err(format!("the message lacks {fragment:?}\n{}", show()));
            }
            if !left.is_empty() {
                return Err(format!("refused, yet left {left:?}\n{}", show()));
            }
        }
        Outcome::Same => return Err("`same`, yet inspect accepts the file: give the refusal".into()),
    }
    Ok(())
}

#[test]
fn every_corpus_file_through_every_command() {
    let rows = table();
    let parent = tempfile::tempdir().unwrap();
    let cases: Vec<(&Row, &Cmd)> = rows.iter().flat_map(|r| COMMANDS.iter().map(move |c| (r, c))).collect();
    let failures: Vec<String> = cases
        .par_iter()
        .filter_map(|(row, cmd)| {
            let refusal = match &row.inspect {
                r @ Outcome::Refused { .. } => r.clone(),
                _ => Outcome::Same,
            };
            check(parent.path(), row, cmd, &refusal).err().map(|e| format!("--- {} / {}: {e}", row.file, cmd.0))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
