//! Writing outputs so that a failure never leaves half a result: files and directories are
//! built under a temporary name beside their destination, then renamed into place. An
//! existing output is replaced only when the caller says so (`--force`), and never when it
//! is the input.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}: already exists; choose another output or pass --force to replace it")]
    Exists(PathBuf),
    #[error("{0}: is the input file; choose another output")]
    IsInput(PathBuf),
    #[error("{0}: holds the input file, which writing there would replace; choose another output")]
    HoldsInput(PathBuf),
    /// Not `source`: the message holds it already, and error chains would print it twice.
    #[error("{path}: cannot write: {error}{hint}", hint = what_to_do(error))]
    Io { path: PathBuf, error: io::Error },
    #[error("{0}: interrupted; nothing was written")]
    Interrupted(PathBuf),
}

/// What to do about a failed write, for the errors a field laptop meets.
fn what_to_do(e: &io::Error) -> &'static str {
    // A writer (csv, SQLite) may wrap the system's error in its own: its text still ends
    // with the system's "(os error N)".
    let text = e.to_string();
    let os = |n: i32| e.raw_os_error() == Some(n) || text.contains(&format!("(os error {n})"));
    if e.kind() == io::ErrorKind::StorageFull || os(28) || os(122) {
        "; the disk is full: free some space or choose another output"
    } else if e.kind() == io::ErrorKind::FileTooLarge || os(27) {
        "; the file is larger than this system allows (a file size limit): choose another output"
    } else if e.kind() == io::ErrorKind::ReadOnlyFilesystem || os(30) {
        "; the disk is read-only: choose another output"
    } else if e.kind() == io::ErrorKind::PermissionDenied || os(13) {
        "; no permission to write there: choose another output"
    } else {
        ""
    }
}

/// A write error inside the temporary directory `tmp`, said of the same file under `out`: the
/// user never sees the temporary name.
fn named_as_output(e: WriteError, tmp: &Path, out: &Path) -> WriteError {
    match e {
        WriteError::Io { path, error } => {
            let path = match path.strip_prefix(tmp) {
                Ok(rel) if rel.as_os_str().is_empty() => out.to_path_buf(),
                Ok(rel) => out.join(rel),
                Err(_) => path,
            };
            WriteError::Io { path, error }
        }
        e => e,
    }
}

/// An `Interrupted` error once the run was interrupted (Ctrl-C, SIGTERM): long writers call
/// it now and then, so that a run stops within a second rather than after its last file.
pub(crate) fn check_interrupted() -> io::Result<()> {
    match crate::progress::interrupted() {
        Some(signal) => Err(io::Error::new(io::ErrorKind::Interrupted, format!("interrupted (signal {signal})"))),
        None => Ok(()),
    }
}

/// Refuses to put an output in place once the run was interrupted (Ctrl-C, SIGTERM).
fn not_interrupted(out: &Path) -> Result<(), WriteError> {
    match crate::progress::interrupted() {
        Some(_) => Err(WriteError::Interrupted(out.to_path_buf())),
        None => Ok(()),
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), error: source }
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.needmap-tmp-{}", std::process::id()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Checks that `out` may be written: not the input, and absent unless `force`.
pub fn check_target(out: &Path, input: Option<&Path>, force: bool) -> Result<(), WriteError> {
    if let Some(inp) = input {
        if same_file(out, inp) {
            return Err(WriteError::IsInput(out.to_path_buf()));
        }
        if out.is_dir() && fs::canonicalize(inp).is_ok_and(|i| i.starts_with(fs::canonicalize(out).unwrap_or_default()))
        {
            return Err(WriteError::HoldsInput(out.to_path_buf()));
        }
    }
    if out.exists() && !force {
        return Err(WriteError::Exists(out.to_path_buf()));
    }
    Ok(())
}

/// Writes a directory: `fill` writes into a fresh temporary directory, which then replaces
/// `out`. On any error the temporary directory is removed and `out` is untouched.
pub fn write_dir(
    out: &Path,
    input: Option<&Path>,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    check_target(out, input, force)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let tmp = temp_beside(out);
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir(&tmp).map_err(io_at(out))?;
    let result = fill(&tmp).and_then(|()| not_interrupted(out)).and_then(|()| {
        if out.exists() {
            // Swap: old aside, new in, old removed. A crash in between leaves both, never neither.
            let old = out.with_file_name(format!(
                ".{}.needmap-old-{}",
                out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                std::process::id()
            ));
            fs::rename(out, &old).map_err(io_at(out))?;
            fs::rename(&tmp, out).map_err(io_at(out))?;
            let _ = fs::remove_dir_all(&old).or_else(|_| fs::remove_file(&old));
            Ok(())
        } else {
            fs::rename(&tmp, out).map_err(io_at(out))
        }
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result.map_err(|e| named_as_output(e, &tmp, out))
}

/// Writes one file through a temporary file in the same directory, then renames it.
pub fn write_file(
    out: &Path,
    input: Option<&Path>,
    force: bool,
    fill: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), WriteError> {
    check_target(out, input, force)?;
    let tmp = temp_beside(out);
    let result = (|| {
        let f = fs::File::create(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        if crate::progress::interrupted().is_some() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        fs::rename(&tmp, out)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    match result {
        Err(e) if e.kind() == io::ErrorKind::Interrupted && crate::progress::interrupted().is_some() => {
            Err(WriteError::Interrupted(out.to_path_buf()))
        }
        r => r.map_err(io_at(out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("result");
        let r = write_dir(&out, None, false, |tmp| {
            fs::write(tmp.join("a.txt"), "half").unwrap();
            Err(WriteError::Io { path: tmp.to_path_buf(), error: io::Error::other("disk full") })
        });
        assert!(r.is_err());
        assert!(!out.exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0, "no temporary left behind");
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o.csv");
        fs::write(&out, "keep me").unwrap();
        let e = write_file(&out, None, false, |w| w.write_all(b"new")).unwrap_err();
        assert!(matches!(e, WriteError::Exists(_)));
        assert_eq!(fs::read_to_string(&out).unwrap(), "keep me");
        write_file(&out, None, true, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "new");
    }

    #[test]
    fn never_overwrites_the_input() {
        let d = tempfile::tempdir().unwrap();
        let inp = d.path().join("survey.csv");
        fs::write(&inp, "lat,lon\n").unwrap();
        let e = write_file(&inp, Some(&inp), true, |w| w.write_all(b"x")).unwrap_err();
        assert!(matches!(e, WriteError::IsInput(_)));
        let e = write_dir(d.path(), Some(&inp), true, |_| Ok(())).unwrap_err();
        assert!(matches!(e, WriteError::HoldsInput(_)));
        assert!(
            e.to_string().ends_with(": holds the input file, which writing there would replace; choose another output")
        );
        assert_eq!(fs::read_to_string(&inp).unwrap(), "lat,lon\n");
    }

    #[test]
    fn replaces_a_directory_with_force() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("run");
        write_dir(&out, None, false, |t| fs::write(t.join("a"), "1").map_err(io_at(t))).unwrap();
        write_dir(&out, None, true, |t| fs::write(t.join("b"), "2").map_err(io_at(t))).unwrap();
        assert!(!out.join("a").exists() && out.join("b").exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
