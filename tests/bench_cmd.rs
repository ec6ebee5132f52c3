//! End-to-end tests of `leakscope bench` through the binary: a small run prints
//! every figure with sane values, as JSON and as a table, and cleans up after itself.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_leakscope");

fn bench(extra: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(["bench", "--records", "3000", "--queries", "200"])
        .args(extra)
        .output()
        .expect("run leakscope");
    assert_eq!(
        out.status.code(),
        Some(0),
        "leakscope bench {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn num(v: &serde_json::Value, path: &str) -> f64 {
    let mut at = v;
    for part in path.split('.') {
        at = &at[part];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {at}"))
}

#[test]
fn bench_json_has_every_figure_with_sane_values() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench_cmd_json");
    let _ = std::fs::remove_dir_all(&dir);
    let out = bench(&["--json", "--dir", dir.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");

    assert_eq!(num(&v, "records"), 3000.0);
    assert!(num(&v, "threads") >= 1.0, "the threads used, not null");
    assert_eq!(num(&v, "register"), 750.0);
    assert_eq!(v["reused_archive"], false);
    assert!(num(&v, "dump_bytes") > 100_000.0);

    for positive in [
        "build.wall_s",
        "build.mb_per_s",
        "build.peak_rss_mb",
        "build.bytes_per_posting",
        "build.index_bytes",
        "build.keys",
        "build.postings",
        "lookup.p50_us",
        "lookup.max_us",
        "key_lookup.p50_us",
        "key_lookup.queries",
        "match.wall_s",
        "match.rows_per_s",
    ] {
        assert!(
            num(&v, positive) > 0.0,
            "{positive} = {}",
            num(&v, positive)
        );
    }
    assert_eq!(num(&v, "build.records"), 3000.0);
    assert!(num(&v, "build.postings") >= num(&v, "build.keys"));
    assert!(num(&v, "build.bytes_per_posting") < 64.0);
    assert_eq!(num(&v, "lookup.queries"), 200.0);
    for which in ["lookup", "key_lookup"] {
        let (p50, p99, max) = (
            num(&v, &format!("{which}.p50_us")),
            num(&v, &format!("{which}.p99_us")),
            num(&v, &format!("{which}.max_us")),
        );
        assert!(p50 <= p99 && p99 <= max, "{which}: {p50} {p99} {max}");
    }
    assert!(num(&v, "key_lookup.hits") <= num(&v, "key_lookup.queries"));
    assert!(num(&v, "key_lookup.queries") <= 200.0);

    assert_eq!(num(&v, "match.rows"), 750.0);
    assert_eq!(
        num(&v, "match.exposed") + num(&v, "match.possible") + num(&v, "match.not_found"),
        750.0
    );

    // The generator puts half the register in the dump.
    assert_eq!(num(&v, "accuracy.truth_exposed"), 375.0);
    for unit in [
        "accuracy.precision",
        "accuracy.recall",
        "accuracy.f1",
        "accuracy.record_recall",
    ] {
        let x = num(&v, unit);
        assert!((0.0..=1.0).contains(&x), "{unit} = {x}");
    }
    assert_eq!(
        num(&v, "accuracy.true_positives") + num(&v, "accuracy.false_negatives"),
        375.0
    );
    assert_eq!(
        num(&v, "accuracy.true_positives") + num(&v, "accuracy.false_positives"),
        num(&v, "match.exposed")
    );
    assert_eq!(num(&v, "accuracy.possible"), num(&v, "match.possible"));

    // A second run over the same directory reuses the archive.
    let again = bench(&["--json", "--dir", dir.to_str().unwrap()]);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["reused_archive"], true);
    assert_eq!(w["accuracy"], v["accuracy"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("reusing"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_table_is_printed_and_the_temporary_dir_removed() {
    let out = bench(&[]);
    let text = String::from_utf8(out.stdout).unwrap();
    for label in [
        "index build",
        "build peak RSS",
        "bytes/posting",
        "lookup (query)",
        "lookup (email key)",
        "rows/s",
        "precision",
        "record recall",
        "possible",
    ] {
        assert!(text.contains(label), "no {label} in:\n{text}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dir = stderr
        .lines()
        .find_map(|l| l.split(" into ").nth(1))
        .expect("the work directory is named on stderr");
    assert!(!Path::new(dir).exists(), "{dir} was left behind");
}

#[test]
fn bench_refuses_bad_arguments() {
    let out = Command::new(BIN)
        .args(["bench", "--records", "3000", "--queries", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--queries"));
}
