//! quiz.json and answers.csv on arbitrary bytes (split at the first NUL byte; with none, the
//! same bytes are both): `needmap quiz --check`'s reading, never a panic, every refusal
//! naming its file. The answers are read and scored against the loaded quiz and against a
//! real quiz with its key (made once from sample_data/lima_households.csv), and a loaded
//! quiz is checked against a small file that is not its input, as `--check` does.
#![no_main]

use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use needmap::analysis::{Analysis, import_stage};
use needmap::data::Keep;
use needmap::i18n::Lang;
use needmap::progress::Progress;
use needmap::quiz::{Quiz, generate, read_answers, regenerate, score, score_text};

fn real() -> &'static Quiz {
    static Q: OnceLock<Quiz> = OnceLock::new();
    Q.get_or_init(|| {
        let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample_data/lima_households.csv");
        let a = Analysis::default();
        let imp = import_stage(&input, &a.input, &Keep::All, &Progress::new()).unwrap();
        generate(&imp, &a, 7, 12, Lang::En, &Progress::new()).unwrap()
    })
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(bytes).unwrap();
    p
}

fuzz_target!(|data: &[u8]| {
    let (quiz_bytes, answer_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let dir = tempfile::tempdir().unwrap();
    let quiz_path = file(dir.path(), "quiz.json", quiz_bytes);
    let answers_path = file(dir.path(), "answers.csv", answer_bytes);
    let not_input = file(dir.path(), "other.csv", b"id,lat,lon\n1,-12,-77\n");
    let named = |p: &Path, msg: String| {
        assert!(msg.contains(&p.display().to_string()), "the message names {}: {msg}", p.display())
    };

    let real = real();
    match read_answers(&answers_path, real) {
        Ok(answers) => {
            let s = score(real, &answers);
            let _ = score_text(&s, real.lang);
            let _ = score_text(&s, Lang::Es);
        }
        Err(e) => named(&answers_path, e.to_string()),
    }
    match Quiz::load(&quiz_path) {
        Ok(loaded) => {
            match read_answers(&answers_path, &loaded) {
                Ok(answers) => {
                    let _ = score_text(&score(&loaded, &answers), loaded.lang);
                }
                Err(e) => named(&answers_path, e.to_string()),
            }
            let _ = loaded.key_csv();
            // Its input's hash cannot match: refused, naming the file.
            if let Err(e) = regenerate(&loaded, &not_input, &Progress::new()) {
                named(&not_input, e.to_string());
            }
        }
        Err(e) => named(&quiz_path, e.to_string()),
    }
});
