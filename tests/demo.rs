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
    // The accuracy line, not the lookups' "N matching records:" above it.
    let records = number_after(&stdout, "\n   records:");
    assert!(precision >= 0.98, "precision {precision}");
    // Hard negatives, by kind, from the archive's hard_negatives.csv: none exposed.
    let look_alikes = stdout
        .lines()
        .find(|l| l.contains("look-alikes not in the archive"))
        .unwrap_or_else(|| panic!("no look-alikes line in:\n{stdout}"));
    for kind in ["namesakes", "family members", "twins"] {
        let exposed = number_after(look_alikes, &format!("{kind} "));
        assert_eq!(exposed, 0.0, "{kind} exposed in:\n{stdout}");
    }
    assert!(recall >= 0.95, "recall {recall}");
    assert!(
        (0.8..=1.0).contains(&records),
        "record-level recall {records}"
    );
    // The record-level recall is `bench`'s and README's: over the correctly exposed
    // residents' true records, as `match` lists them.
    let answers = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["match", "--index"])
        .arg(dir.join("index"))
        .arg(dir.join("register.csv"))
        .output()
        .unwrap_or_else(|e| panic!("match: {e}"));
    let truth = std::fs::read_to_string(dir.join("truth.csv")).unwrap_or_default();
    let truth: std::collections::HashMap<String, (bool, Vec<String>)> =
        csv::Reader::from_reader(truth.as_bytes())
            .records()
            .filter_map(Result::ok)
            .map(|r| {
                let records = r[2]
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                (r[0].to_string(), (&r[1] == "true", records))
            })
            .collect();
    let (mut named, mut all) = (0usize, 0usize);
    for row in csv::Reader::from_reader(answers.stdout.as_slice())
        .records()
        .filter_map(Result::ok)
    {
        if let Some((true, records)) = truth.get(&row[0])
            && &row[1] == "exposed"
        {
            let listed: Vec<&str> = row[3].split(';').collect();
            all += records.len();
            named += records
                .iter()
                .filter(|r| listed.contains(&r.as_str()))
                .count();
        }
    }
    let from_match = named as f64 / all.max(1) as f64;
    assert!(
        (from_match - records).abs() < 5e-5,
        "demo says {records}, match's answers give {from_match:.4}"
    );
    // The files stay for the user to try.
    assert!(dir.join("index").join("manifest.json").is_file());
    assert!(dir.join("register.csv").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
