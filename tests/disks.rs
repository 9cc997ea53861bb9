//! Outputs on a disk that refuses them: a read-only folder, a file size limit, a full disk.
//! Each must give one clear message naming the output, a non-zero exit code, nothing partial
//! (no output, no temporary file) and the input unchanged.
//!
//! As root (CI), `chmod 0555` does not stop writes: the read-only folder is then a read-only
//! tmpfs, and the full disk a 200 KB tmpfs, when root may mount; otherwise the case is skipped
//! with the reason printed.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{entries, show};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/kobo_encuesta_sjl.csv")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A tmpfs mounted at `dir` for the life of the value.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Result<Mount, String> {
        let o = Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(dir).output();
        match o {
            Ok(o) if o.status.success() => Ok(Mount(dir.to_path_buf())),
            Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A folder nothing can be written in, or why there is none here.
fn read_only_dir(parent: &Path) -> Result<(PathBuf, Option<Mount>), String> {
    let dir = parent.join("ro");
    std::fs::create_dir(&dir).unwrap();
    if is_root() {
        let m = Mount::tmpfs(&dir, "ro,size=64k")
            .map_err(|e| format!("running as root, where chmod does not stop writes, and cannot mount: {e}"))?;
        Ok((dir, Some(m)))
    } else {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        Ok((dir, None))
    }
}

/// Checks a refused write: exit 1, the last stderr line names `out` and says `why`.
fn refused(args: &[&str], o: &Output, out: &str, why: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", show(args, o));
    assert!(!err.contains("panicked"), "{}", show(args, o));
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with(&format!("needmap: {out}")), "does not name {out}: {}", show(args, o));
    assert!(!last.contains("needmap-tmp"), "names a temporary: {}", show(args, o));
    assert!(why.iter().any(|w| last.contains(w)), "no {why:?}: {}", show(args, o));
}

fn remove(p: &Path) {
    let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
}

const OUTPUTS: &[(&str, &[&str])] = &[
    ("out", &["run", "in.csv", "--eps-m", "100", "--min-points", "5", "--out"]),
    ("labels.csv", &["cluster", "in.csv", "--eps-m", "100", "--min-points", "5", "--out"]),
    ("audit", &["audit", "in.csv", "--draws", "5", "--out"]),
];

#[test]
fn an_output_in_a_read_only_folder_is_refused_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let input = std::fs::read(sample()).unwrap();
    std::fs::write(d.path().join("in.csv"), &input).unwrap();
    let (ro, _mount) = match read_only_dir(d.path()) {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    for (name, args) in OUTPUTS {
        let out = format!("ro/{name}");
        let mut a = args.to_vec();
        a.push(&out);
        let o = common::needmap(d.path(), &a);
        refused(&a, &o, &out, &["the disk is read-only", "no permission to write there"]);
        assert!(entries(&ro).is_empty(), "{:?} left in the folder: {}", entries(&ro), show(&a, &o));
        assert_eq!(std::fs::read(d.path().join("in.csv")).unwrap(), input, "the input changed");
    }
}

/// With a file size limit (`ulimit -f`), writes past it fail: needmap catches SIGXFSZ so the
/// write fails with EFBIG and the message says so, instead of the process dying mid-write.
#[test]
fn a_file_size_limit_gives_a_message_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let input = std::fs::read(sample()).unwrap();
    std::fs::write(d.path().join("in.csv"), &input).unwrap();
    for (name, args) in OUTPUTS {
        // 64 blocks: 32 KB (dash) or 64 KB (bash); the households file is 400 KB.
        let script = format!("ulimit -f 64 && exec \"$0\" \"$@\" {name}");
        let o = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_needmap"))
            .args(*args)
            .current_dir(d.path())
            .output()
            .unwrap();
        let mut a = args.to_vec();
        a.push(name);
        if *name != "out" && o.status.success() {
            // Small outputs may fit under the limit: nothing to refuse (the run's never does).
            remove(&d.path().join(name));
            continue;
        }
        refused(&a, &o, name, &["larger than this system allows"]);
        assert_eq!(entries(d.path()), ["in.csv"], "{}", show(&a, &o));
        assert_eq!(std::fs::read(d.path().join("in.csv")).unwrap(), input, "the input changed");
    }
}

/// A real full disk: a 200 KB tmpfs (root only; skipped with the reason otherwise).
#[test]
fn a_full_disk_gives_a_message_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let input = std::fs::read(sample()).unwrap();
    std::fs::write(d.path().join("in.csv"), &input).unwrap();
    let disk = d.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let _mount = match Mount::tmpfs(&disk, "size=200k") {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipped: cannot mount a tmpfs: {e}");
            return;
        }
    };
    for (name, args) in OUTPUTS {
        let out = format!("disk/{name}");
        let mut a = args.to_vec();
        a.push(&out);
        let o = common::needmap(d.path(), &a);
        if *name != "out" && o.status.success() {
            remove(&disk.join(name));
            continue;
        }
        refused(&a, &o, &out, &["the disk is full"]);
        assert!(entries(&disk).is_empty(), "{:?} left on the disk: {}", entries(&disk), show(&a, &o));
        assert_eq!(entries(d.path()), ["disk", "in.csv"]);
        assert_eq!(std::fs::read(d.path().join("in.csv")).unwrap(), input, "the input changed");
    }
}
