//! `leakscope demo` end to end: it must run on its own, show the three lookups, and
//! report accuracy good enough to be worth showing.

use std::process::Command;

/// The number after `label` in `text` (`precision 0.9990,` → 0.999).
fn number_after(text: &str, label: &str) -> f64 {
    let Some(at) = text.find(label) else {
        panic!("no '{label}' in:\n{text}");
    };
    let rest = &text[at + label.len()..];
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    match number.parse() {
        Ok(n) => n,
        Err(e) => panic!("'{label}' is not followed by a number ({e}):\n{text}"),
    }
}

#[test]
fn demo_runs_and_reports_precision_and_recall() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-{}", std::process::id()));
    let out = match Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["demo", "--dir"])
        .arg(&dir)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run leakscope: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&dir.display().to_string()), "{stdout}");
    for shown in ["EXPOSED", "POSSIBLE", "NOT FOUND", "$ leakscope lookup"] {
        assert!(stdout.contains(shown), "no {shown} in:\n{stdout}");
    }
    let precision = number_after(&stdout, "precision");
    let recall = number_after(&stdout, "recall");
    let records = number_after(&stdout, "records:");
    assert!(precision >= 0.98, "precision {precision}");
    assert!(recall >= 0.95, "recall {recall}");
    assert!(
        (0.8..=1.0).contains(&records),
        "record-level recall {records}"
    );
    // The files stay for the user to try.
    assert!(dir.join("index").join("manifest.json").is_file());
    assert!(dir.join("register.csv").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
