//! At national scale: the labels of 1M households are the same with one thread as with all
//! of them. Slow (generates the file with ../shared/bench), so ignored by default:
//!
//! ```sh
//! cargo test --release --no-default-features --test scale -- --ignored
//! ```

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "1M households: run with --ignored (release recommended)"]
fn one_million_labels_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h1m.csv");
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_households.py");
    let made = Command::new("python3")
        .arg(&generator)
        .args(["1000000", "--layout", "tiled", "--seed", "42", "--out"])
        .arg(&csv)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: python3 with numpy is needed to generate the households ({})", generator.display());
        return;
    }
    let run = |threads: Option<&str>, out: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_needmap"));
        c.arg("cluster").arg(&csv).args(["--eps-m", "150", "--min-points", "10", "--out"]).arg(dir.path().join(out));
        if let Some(t) = threads {
            c.args(["--threads", t]);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let one = run(Some("1"), "one.csv");
    let all = run(None, "all.csv");
    assert_eq!(one.len(), all.len());
    assert!(one == all, "labels differ between 1 thread and the default");
    // 416 clusters, as scikit-learn's haversine DBSCAN finds (../shared/bench/README.md).
    let text = String::from_utf8(all).unwrap();
    let max = text.lines().skip(1).filter_map(|l| l.rsplit(',').next()?.parse::<i64>().ok()).max().unwrap();
    assert_eq!(max + 1, 416);
}
