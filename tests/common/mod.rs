//! Helpers the end-to-end test files share: running the binary and indexing a few
//! hand-written dump files with it. Each test file uses some of them.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the `leakscope` binary with `args`.
pub fn leakscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(args)
        .output()
        .expect("the leakscope binary runs")
}

/// A temporary path as the `&str` an argument list takes.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Writes each `(name, content)` into `dir`, indexes them into `dir/idx` (failing
/// the test if `index` fails) and returns the index path and what `index` printed.
pub fn index_files(dir: &Path, files: &[(&str, &str)]) -> (String, String) {
    let idx = dir.join("idx");
    let mut args = vec!["index".to_string(), "--out".into(), p(&idx).into()];
    for (name, content) in files {
        let path = dir.join(name);
        fs::write(&path, content).expect("write a dump file");
        args.push(p(&path).to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = leakscope(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "index failed: {stderr}");
    (p(&idx).to_string(), stderr)
}

/// `lookup --index idx --json` with `args`: the parsed answer (the test fails, with
/// what was printed, when it is not JSON).
pub fn lookup_json(idx: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["lookup", "--index", idx, "--json"];
    all.extend_from_slice(args);
    let out = leakscope(&all);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
