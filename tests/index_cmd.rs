//! `leakscope index` and `leakscope inspect`, end to end through the binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn leakscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(args)
        .output()
        .expect("the leakscope binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// A small dump whose every count is known: two datasets, one bad row.
fn small_dump(dir: &Path) -> PathBuf {
    let dump = dir.join("dump");
    fs::create_dir_all(dump.join("sub")).unwrap();
    fs::write(
        dump.join("tenants.csv"),
        "Forename,Surname,D.O.B,E-mail Address,Post Code,Date Opened,Notes\n\
         Jane,Doe,03/02/1980,jane@example.com,SW1A 1AA,12/05/2011,\n\
         John,Smith,1975-07-09,,W8 4PT,2012-01-01,late payer\n\
         Ann,\"O'Brien\",19900101,ann@example.org,,2011-03-03,\n\
         broken,row,with,more,fields,than,the,header\n",
    )
    .unwrap();
    fs::write(
        dump.join("sub/claims.jsonl"),
        "{\"claimant\":{\"name\":{\"first\":\"Jane\",\"last\":\"Doe\"},\"nino\":\"AB123456C\"},\"submitted\":\"2015-06-01\"}\n\
         \n\
         {\"claimant\":{\"name\":{\"first\":\"Zo\u{eb}\",\"last\":\"Smith-Jones\"}},\"contact\":{\"phones\":[\"07911 123456\",\"020 7946 0018\"]}}\n\
         not json\n",
    )
    .unwrap();
    dump
}

/// [`small_dump`] indexed into `dir/idx`: (dump, index).
fn indexed_small_dump(dir: &Path) -> (PathBuf, PathBuf) {
    let dump = small_dump(dir);
    let idx = dir.join("idx");
    let out = leakscope(&["index", "--out", p(&idx), p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    (dump, idx)
}

#[test]
fn index_builds_and_inspect_reports_exact_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = small_dump(tmp.path());
    let idx = tmp.path().join("idx");
    let rejects = tmp.path().join("rejects.csv");
    let out = leakscope(&[
        "index",
        "--out",
        p(&idx),
        "--rejects",
        p(&rejects),
        p(&dump),
    ]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    // The mapping used is printed.
    assert!(err.contains("E-mail Address -> email (header)"), "{err}");
    assert!(err.contains("Notes -> other:Notes (unmapped)"), "{err}");
    assert!(err.contains("sub/claims.jsonl"), "{err}");

    // Rejects: one CSV row with too few fields, one line of bad JSON; file is 0600.
    let rej = fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = rej.lines().collect();
    assert_eq!(lines[0], "dataset,row,offset,reason");
    assert_eq!(lines.len(), 3, "{rej}");
    assert!(rej.contains("tenants.csv,4,"), "{rej}");
    assert!(rej.contains("sub/claims.jsonl,3,"), "{rej}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&rejects).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let secret = fs::metadata(idx.join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(secret & 0o777, 0o600);
    }

    let out = leakscope(&["inspect", p(&idx), "--json"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 5);
    let datasets = report["datasets"].as_array().unwrap();
    let by_name = |n: &str| datasets.iter().find(|d| d["name"] == n).unwrap().clone();
    let tenants = by_name("tenants.csv");
    assert_eq!(tenants["rows"], 4);
    assert_eq!(tenants["records"], 3);
    let claims = by_name("sub/claims.jsonl");
    assert_eq!(claims["rows"], 3);
    assert_eq!(claims["records"], 2);
    // Data classes count records with a non-empty value, computed by hand above.
    let classes = &report["data_classes"];
    assert_eq!(classes["email"], 2);
    assert_eq!(classes["first_name"], 5);
    assert_eq!(classes["phone"], 1);
    assert_eq!(classes["ni_number"], 1);
    assert_eq!(classes["other:Notes"], 1);
    assert_eq!(classes["postcode"], 2);
    // Years of record_date: 2011 twice, 2012, 2015.
    assert_eq!(report["years"]["2011"], 2);
    assert_eq!(report["years"]["2012"], 1);
    assert_eq!(report["years"]["2015"], 1);
    for d in report["dumps"].as_array().unwrap() {
        assert_eq!(d["state"], "unchanged");
    }

    // The index holds keyed hashes, never the plain values: not the identifiers,
    // and not the names, postcodes and dates its record features describe.
    for entry in fs::read_dir(&idx).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        for value in [
            "jane@example.com",
            "AB123456",
            "obrien",
            "smithjones",
            "SW1A1AA",
            "+447911123456",
            "19800203",
            "1980-02-03",
        ] {
            assert!(!hay.contains(value), "{value} is in the index");
        }
    }
    // One name-table entry per distinct name: jane, john, ann, zoe, doe, smith,
    // obrien, smithjones, and jones (a part of smithjones).
    assert_eq!(report["names"], 9);
    assert!(report["feature_bytes"].as_u64().unwrap() > 0);

    // Human output names the datasets and the dump state.
    let out = leakscope(&["inspect", p(&idx)]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("tenants.csv"), "{stdout}");
    assert!(stdout.contains("present, unchanged"), "{stdout}");

    // A changed dump is noticed.
    fs::write(dump.join("tenants.csv"), "Forename\nX\n").unwrap();
    let out = leakscope(&["inspect", p(&idx)]);
    assert!(text(&out).0.contains("CHANGED"), "{}", text(&out).0);
}

#[test]
fn existing_index_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let (dump, idx) = indexed_small_dump(tmp.path());
    let first = fs::read(idx.join("secret")).unwrap();
    let out = leakscope(&["index", "--out", p(&idx), p(&dump)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--force"), "{}", text(&out).1);
    let out = leakscope(&["index", "--out", p(&idx), "--force", p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_ne!(fs::read(idx.join("secret")).unwrap(), first);
    // No temporary directories are left beside it.
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn same_secret_gives_byte_identical_segments_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let gen_dir = tmp.path().join("g");
    let out = leakscope(&[
        "gen",
        "--out",
        p(&gen_dir),
        "--records",
        "4000",
        "--seed",
        "7",
    ]);
    assert!(out.status.success(), "{}", text(&out).1);
    let dump = gen_dir.join("dump");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let out = leakscope(&["index", "--out", p(&a), "--threads", "1", p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    let secret = a.join("secret");
    let out = leakscope(&[
        "index",
        "--out",
        p(&b),
        "--threads",
        "2",
        "--memory",
        "16M",
        "--secret",
        p(&secret),
        p(&dump),
    ]);
    assert!(out.status.success(), "{}", text(&out).1);
    let seg = "segment-0000.seg";
    assert_eq!(
        fs::read(a.join(seg)).unwrap(),
        fs::read(b.join(seg)).unwrap()
    );
}

#[test]
fn dry_run_shows_mapping_and_explains_unmapped_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("odd.csv");
    fs::write(
        &dump,
        "Ref,Vehicle Reg,Kontakt,Gebdat\n1,AB12 CDE,someone@example.com,1980-02-03\n2,XY99 ZZZ,other@example.com,1970-05-06\n",
    )
    .unwrap();
    let out = leakscope(&["index", "--dry-run", p(&dump)]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Vehicle Reg"), "{stdout}");
    assert!(stdout.contains("other:Vehicle Reg"), "{stdout}");
    // Values say what the header does not.
    assert!(
        stdout.contains("Kontakt") && stdout.contains("email (values)"),
        "{stdout}"
    );
    assert!(stdout.contains("not mapped"), "{stdout}");
    // Nothing is written by a dry run.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);

    // --map overrides detection; an unknown kind lists the valid ones.
    let out = leakscope(&["index", "--dry-run", "--map", "Ref=account_ref", p(&dump)]);
    assert!(
        text(&out).0.contains("account_ref (given)"),
        "{}",
        text(&out).0
    );
    let out = leakscope(&["index", "--dry-run", "--map", "Ref=acount", p(&dump)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("ni_number"), "{}", text(&out).1);
}

#[test]
fn damaged_index_is_refused_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, idx) = indexed_small_dump(tmp.path());
    let seg = idx.join("segment-0000.seg");
    let mut bytes = fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&seg, &bytes).unwrap();
    let out = leakscope(&["inspect", "--verify", p(&idx)]);
    assert_eq!(out.status.code(), Some(2));
    let (_, err) = text(&out);
    assert!(err.contains("damaged"), "{err}");
    assert_eq!(err.lines().count(), 1, "one-line cause: {err}");

    fs::remove_file(idx.join("secret")).unwrap();
    let out = leakscope(&["inspect", p(&idx)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("secret"), "{}", text(&out).1);
}

#[test]
fn unreadable_dump_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.csv");
    let out = leakscope(&["index", "--out", p(&tmp.path().join("i")), p(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("nope.csv"), "{}", text(&out).1);
    assert!(!tmp.path().join("i").exists());
}

#[test]
fn inspect_into_a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, idx) = indexed_small_dump(tmp.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["inspect", p(&idx)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the report is written (`inspect IDX | head -0`).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn files_of_other_formats_are_named_and_utf16_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(&dump).unwrap();
    fs::write(dump.join("people.csv"), "email\njane@example.com\n").unwrap();
    fs::write(dump.join("payroll.xlsx"), b"PK\x03\x04 not read").unwrap();
    let idx = tmp.path().join("idx");
    for args in [
        vec!["index", "--out", p(&idx), p(&dump)],
        vec!["index", "--dry-run", p(&dump)],
    ] {
        let out = leakscope(&args);
        let (_, err) = text(&out);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("1 file(s) in the dump directories were not read")
                && err.contains("payroll.xlsx"),
            "{err}"
        );
    }
    // UTF-16 (here little-endian with a BOM) would read as NUL-ridden nonsense.
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "email\njane@example.com\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    fs::write(dump.join("wide.csv"), utf16).unwrap();
    let out = leakscope(&["index", "--out", p(&idx), "--force", p(&dump)]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("wide.csv: is UTF-16 text"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn verify_finds_a_dump_edited_in_place_with_its_time_put_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (dump, idx) = indexed_small_dump(tmp.path());
    let file = dump.join("tenants.csv");
    let modified = fs::metadata(&file).unwrap().modified().unwrap();
    let edited = fs::read_to_string(&file)
        .unwrap()
        .replace("jane@example.com", "xane@example.com");
    fs::write(&file, edited).unwrap();
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    // Size and time agree: the cheap check cannot tell.
    let (plain, _) = text(&leakscope(&["inspect", p(&idx)]));
    assert!(!plain.contains("CHANGED"), "{plain}");
    let out = leakscope(&["inspect", "--verify", p(&idx)]);
    let (verified, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(verified.contains("CHANGED since the build"), "{verified}");
}

#[test]
fn a_header_with_years_in_its_column_names_is_a_header() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(&dump).unwrap();
    fs::write(
        dump.join("a.csv"),
        "first_name,last_name,email,dob,balance_2019,ref 123\n\
         Jane,Doe,jane@example.com,03/02/1980,10.00,x\n\
         John,Roe,john@example.com,04/05/1970,20.00,y\n",
    )
    .unwrap();
    let out = leakscope(&["index", "--dry-run", p(&dump)]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("a.csv: csv, utf-8, 142 bytes, 2 rows"),
        "{stdout}"
    );
    assert!(!stdout.contains("column_1"), "{stdout}");
    let idx = tmp.path().join("idx");
    let out = leakscope(&["index", "--out", p(&idx), p(&dump)]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("email -> email (header)"), "{err}");
    assert!(
        err.contains("balance_2019 -> other:balance_2019 (unmapped)"),
        "{err}"
    );
    // Row numbers count data rows only: Jane is row 1, John row 2.
    for (email, row) in [("jane@example.com", 1), ("john@example.com", 2)] {
        let out = leakscope(&["lookup", "--index", p(&idx), "--email", email, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["verdict"], "exposed", "{answer}");
        assert_eq!(answer["matches"][0]["dataset"], "a.csv", "{answer}");
        assert_eq!(answer["matches"][0]["row"], row, "{answer}");
    }
}

/// `n` pseudo-random bytes (xorshift64*), the same every run.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[test]
fn binary_files_named_csv_are_refused_and_text_with_control_bytes_is_read() {
    use std::io::Write;
    // A zipped spreadsheet (an .xlsx renamed): a local file header, deflated XML.
    let mut zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00b\xee\x9dh".to_vec();
    zip.extend_from_slice(b"\x5e\x01\x00\x00\x90\x04\x00\x00\x13\x00\x00\x00[Content_Types].xml");
    let mut deflate = flate2::write::DeflateEncoder::new(zip, flate2::Compression::default());
    for i in 0..2000 {
        write!(
            deflate,
            "<row r=\"{i}\"><c t=\"s\"><v>{}</v></c></row>",
            i * 7
        )
        .unwrap();
    }
    let zip = deflate.finish().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&noise(1 << 20)).unwrap();
    let gz = gz.finish().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(&dump).unwrap();
    // Windows-1252 text with a stray control byte in one field is still text.
    fs::write(
        dump.join("people.csv"),
        b"Forename,Surname,email,Notes\nZo\xEB,Caf\xE9,zoe@example.com,a\x01b \x93q\x94\n",
    )
    .unwrap();
    let idx = tmp.path().join("idx");
    for (name, bytes) in [
        ("noise.csv", noise(2 << 20)),
        ("book.csv", zip),
        ("noise.csv.gz", gz),
    ] {
        let bad = dump.join(name);
        fs::write(&bad, bytes).unwrap();
        for args in [
            vec!["index", "--out", p(&idx), p(&dump)],
            vec!["index", "--dry-run", p(&dump)],
        ] {
            let out = leakscope(&args);
            let (stdout, err) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{name}: {err}");
            assert_eq!(
                err,
                format!(
                    "leakscope: error: {}: is not text: it holds binary data (NUL or control \
                     bytes) — a spreadsheet, an archive or a database file? export it as CSV \
                     first\n",
                    bad.display()
                ),
                "{name}"
            );
            assert!(stdout.is_empty(), "{name}: {stdout}");
            assert!(!idx.exists(), "{name}");
        }
        fs::remove_file(&bad).unwrap();
    }

    let out = leakscope(&["index", "--out", p(&idx), p(&dump)]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("people.csv  csv windows-1252  1 rows, 1 indexed, 0 rejected"),
        "{err}"
    );
    let out = leakscope(&[
        "lookup",
        "--index",
        p(&idx),
        "--email",
        "zoe@example.com",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["matches"][0]["dataset"], "people.csv", "{answer}");
    assert_eq!(answer["matches"][0]["row"], 1, "{answer}");
}

#[test]
fn a_json_line_nested_too_deep_is_rejected_saying_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("deep.jsonl");
    let nested = |email: &str, n: usize| {
        format!(
            "{{\"email\":\"{email}\",\"x\":{}1{}}}\n",
            "{\"a\":".repeat(n),
            "}".repeat(n)
        )
    };
    let first = nested("jane@example.com", 100);
    fs::write(&dump, first.clone() + &nested("john@example.com", 100_000)).unwrap();
    let idx = tmp.path().join("idx");
    let rejects = tmp.path().join("rejects.csv");
    let out = leakscope(&[
        "index",
        "--out",
        p(&idx),
        "--rejects",
        p(&rejects),
        p(&dump),
    ]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("rejected: 1 JSON nested too deep (over 128 levels)"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&rejects).unwrap(),
        format!(
            "dataset,row,offset,reason\ndeep.jsonl,2,{},JSON nested too deep (over 128 levels)\n",
            first.len()
        )
    );
    // 100 levels are read.
    let out = leakscope(&["lookup", "--index", p(&idx), "--email", "jane@example.com"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

#[test]
fn the_index_and_rejects_file_inside_the_dump_directory_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("d");
    fs::create_dir_all(&dump).unwrap();
    fs::write(
        dump.join("a.csv"),
        "first_name,last_name,email\nJane,Doe,j@example.com\nbad,\"row\n",
    )
    .unwrap();
    let idx = tmp.path().join("i");
    let rejects = dump.join("rejects.csv");
    // The rejects file was found as a dump and truncated while mapped: every
    // other build crashed (SIGBUS).
    for run in 0..3 {
        let out = leakscope(&[
            "index",
            "--out",
            p(&idx),
            "--force",
            "--rejects",
            p(&rejects),
            p(&dump),
        ]);
        let (_, err) = text(&out);
        assert!(out.status.success(), "run {run}: {:?} {err}", out.status);
        assert!(err.contains("1 indexed, 1 rejected"), "{err}");
        assert!(!err.contains("rejects.csv  csv"), "read as a dump: {err}");
        if run > 0 {
            assert!(
                err.contains(&format!(
                    "note: {} was not read as a dump: it is the --rejects file",
                    rejects.display()
                )),
                "{err}"
            );
        }
        assert_eq!(fs::read_to_string(&rejects).unwrap().lines().count(), 2);
    }

    // An index inside the dump directory, built again: its manifest was read as
    // a dump (and refused as JSON).
    fs::remove_file(&rejects).unwrap();
    let inner = dump.join("idx");
    let out = leakscope(&["index", "--out", p(&inner), p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = leakscope(&["index", "--out", p(&inner), "--force", p(&dump)]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "note: {} was not read as a dump: it is the index being written (--out)",
            inner.display()
        )),
        "{err}"
    );
    let out = leakscope(&["inspect", p(&inner), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.csv"]);
}

#[cfg(unix)]
#[test]
fn a_file_reached_twice_is_indexed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("d");
    fs::create_dir_all(&dump).unwrap();
    fs::write(dump.join("a.csv"), "email\nj@example.com\n").unwrap();
    std::os::unix::fs::symlink("a.csv", dump.join("b.csv")).unwrap();
    let idx = tmp.path().join("i");
    let out = leakscope(&["index", "--out", p(&idx), p(&dump)]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("b.csv is a link to a file read already")
            && err.contains("read once, as dataset a.csv"),
        "{err}"
    );
    assert!(err.contains("indexed 1 records from 1 datasets"), "{err}");
    // One record, verified from the dump: the second copy made a dataset whose
    // records were judged "index only" ("a.csv is no longer in ...").
    let out = leakscope(&[
        "lookup",
        "--index",
        p(&idx),
        "--email",
        "j@example.com",
        "--json",
    ]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let matches = answer["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{stdout}");
    assert_eq!(matches[0]["dataset"], "a.csv");

    // The same file named twice: a note, not "two dump files would both be named".
    let file = dump.join("a.csv");
    let out = leakscope(&["index", "--out", p(&idx), "--force", p(&file), p(&file)]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("is reached twice"), "{err}");
    assert!(err.contains("indexed 1 records from 1 datasets"), "{err}");

    // Reached through a linked directory (given, or a file in it given), the dump
    // is found again at query time and the record verified from it.
    let via = tmp.path().join("via");
    std::os::unix::fs::symlink(&dump, &via).unwrap();
    for arg in [via.clone(), via.join("b.csv")] {
        let out = leakscope(&["index", "--out", p(&idx), "--force", p(&arg)]);
        assert!(out.status.success(), "{}", text(&out).1);
        let out = leakscope(&["lookup", "--index", p(&idx), "--email", "j@example.com"]);
        let (stdout, err) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.is_empty(), "{}: {err}", arg.display());
        assert!(stdout.contains("evidence: email exact"), "{stdout}");
    }
}

#[test]
fn a_directory_that_is_not_an_index_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = small_dump(tmp.path());
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).unwrap();
    fs::write(home.join("thesis.txt"), "years of work").unwrap();
    for force in [false, true] {
        let mut args = vec!["index", "--out", p(&home)];
        if force {
            args.push("--force");
        }
        args.push(p(&dump));
        let out = leakscope(&args);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "leakscope: error: {} exists and is not a leakscope index; it will not be \
                 replaced, even with --force: choose another --out",
                home.display()
            )
        );
    }
    assert_eq!(
        fs::read_to_string(home.join("thesis.txt")).unwrap(),
        "years of work"
    );
}

/// A CSV dump of `rows` people (`N{i},S{i},p{i}@example.com`).
#[cfg(target_os = "linux")]
fn big_dump(path: &Path, rows: usize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(fs::File::create(path).unwrap());
    writeln!(out, "first_name,last_name,email").unwrap();
    for i in 0..rows {
        writeln!(out, "N{i},S{i},p{i}@example.com").unwrap();
    }
    out.flush().unwrap();
}

/// Starts `leakscope index --force --out idx dump`, waits until the child has
/// `dump` mapped (the build has opened it and is reading it), runs `meddle`, and
/// returns the child's outcome.
#[cfg(target_os = "linux")]
/// A one-row dump indexed, then grown to 300,000 rows (big enough that a build
/// is still reading it when meddled with): the temp dir, dump, index and the
/// manifest as first built.
fn indexed_then_grown() -> (tempfile::TempDir, PathBuf, PathBuf, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("a.csv");
    let idx = tmp.path().join("i");
    fs::write(
        &dump,
        "first_name,last_name,email\nJane,Doe,j@example.com\n",
    )
    .unwrap();
    let out = leakscope(&["index", "--out", p(&idx), p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    let before = fs::read(idx.join("manifest.json")).unwrap();
    big_dump(&dump, 300_000);
    (tmp, dump, idx, before)
}

fn index_meddled(dump: &Path, idx: &Path, meddle: impl FnOnce()) -> Output {
    use std::time::{Duration, Instant};
    let child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args([
            "index",
            "--out",
            p(idx),
            "--force",
            "--threads",
            "1",
            p(dump),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let real = fs::canonicalize(dump).unwrap();
    let started = Instant::now();
    loop {
        let mapped =
            fs::read_to_string(&maps).is_ok_and(|m| m.lines().any(|l| l.ends_with(p(&real))));
        if mapped {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the build never mapped the dump"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    meddle();
    child.wait_with_output().unwrap()
}

/// Entries of `dir` whose names start with a dot (an index's temporary siblings).
#[cfg(target_os = "linux")]
fn hidden_entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn a_dump_appended_to_during_the_build_fails_it() {
    let (tmp, dump, idx, before) = indexed_then_grown();
    let out = index_meddled(&dump, &idx, || {
        use std::io::Write as _;
        let mut f = fs::OpenOptions::new().append(true).open(&dump).unwrap();
        f.write_all(b"Late,Comer,late.comer@example.com\n").unwrap();
    });
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "leakscope: error: {} changed while it was being indexed (it grew/shrank or was \
             rewritten): build again once it is stable",
            dump.display()
        )
    );
    // The old index is left in place; no temporary directory is left beside it.
    assert_eq!(fs::read(idx.join("manifest.json")).unwrap(), before);
    assert!(hidden_entries(tmp.path()).is_empty());

    // Built again once stable, the late row is there and the dump unchanged.
    let out = leakscope(&["index", "--out", p(&idx), "--force", p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = leakscope(&["inspect", p(&idx), "--verify"]);
    assert!(
        text(&out).0.contains("present, unchanged"),
        "{}",
        text(&out).0
    );
    let out = leakscope(&[
        "lookup",
        "--index",
        p(&idx),
        "--email",
        "late.comer@example.com",
    ]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout} {err}");
    assert!(err.is_empty(), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_dump_truncated_during_the_build_is_an_error_not_a_crash() {
    let (tmp, dump, idx, before) = indexed_then_grown();
    let out = index_meddled(&dump, &idx, || {
        fs::File::options()
            .write(true)
            .open(&dump)
            .unwrap()
            .set_len(0)
            .unwrap();
    });
    let (_, err) = text(&out);
    // Reading a page that is gone raises SIGBUS (exit 135 from a shell, no word)
    // unless the build had read every page already, when its end check says so.
    assert_eq!(out.status.code(), Some(2), "{:?} {err}", out.status);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("leakscope: error: a file shrank while it was being read")
            || err.contains("changed while it was being indexed"),
        "{err}"
    );
    assert_eq!(fs::read(idx.join("manifest.json")).unwrap(), before);
    // A process killed by the signal leaves its temporary directory; the next
    // build removes it.
    fs::write(&dump, "email\nk@example.com\n").unwrap();
    let out = leakscope(&["index", "--out", p(&idx), "--force", p(&dump)]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(hidden_entries(tmp.path()).is_empty());
}

/// The SIGBUS handler itself, without a race: the build blocks opening a FIFO (so
/// it is past the start of `main`, where the handler is installed), and is sent
/// the signal.
#[cfg(unix)]
#[test]
fn a_sigbus_is_one_line_on_stderr_and_exit_2() {
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.csv");
    let c_path = std::ffi::CString::new(p(&fifo)).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let idx = tmp.path().join("i");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["index", "--out", p(&idx), p(&fifo)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the writing end without blocking succeeds once the child has opened
    // the reading end.
    let started = Instant::now();
    let writer = loop {
        match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
        {
            Ok(w) => break w,
            Err(_) => {
                assert!(child.try_wait().unwrap().is_none(), "the child ended early");
                assert!(started.elapsed() < Duration::from_secs(60), "never opened");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGBUS) },
        0
    );
    let out = child.wait_with_output().unwrap();
    drop(writer);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{:?} {err}", out.status);
    assert_eq!(
        err,
        "leakscope: error: a file shrank while it was being read (another program truncated \
         or rewrote a dump or the index); stopped before finishing, nothing was replaced: run \
         again once the files are stable\n"
    );
    assert!(!idx.exists());
}

#[test]
fn a_rejects_file_that_is_not_one_is_never_overwritten() {
    // `--rejects` given a dump by mistake: the dump must survive.
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("d");
    fs::create_dir_all(&dump).unwrap();
    fs::write(dump.join("a.csv"), "email\nj@example.com\n").unwrap();
    let keep = tmp.path().join("keep.csv");
    let original = "first_name,email\nJane,jane@example.com\n";
    fs::write(&keep, original).unwrap();
    let idx = tmp.path().join("i");
    let out = leakscope(&["index", "--out", p(&idx), "--rejects", p(&keep), p(&dump)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("is not a rejects file"),
        "{}",
        text(&out).1
    );
    assert_eq!(fs::read_to_string(&keep).unwrap(), original);
    // An earlier rejects file is replaced.
    fs::write(
        &keep,
        "dataset,row,offset,reason\nold.csv,1,0,invalid JSON\n",
    )
    .unwrap();
    let out = leakscope(&["index", "--out", p(&idx), "--rejects", p(&keep), p(&dump)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(
        fs::read_to_string(&keep).unwrap(),
        "dataset,row,offset,reason\n"
    );
}

#[test]
fn stray_quotes_cost_their_own_rows_and_the_rows_between_are_found() {
    // Jack's and Ann's values open quotes that never close on their line; read as
    // one quoted field, they would swallow Mary's row between them.
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("residents.csv");
    let rows = [
        "Forename,Surname,Email",
        "Jane,Doe,jane@example.com",
        "\"Jack,Smith,jack@example.com",
        "Mary,Jones,mary.jones@example.com",
        "Ann,\"Lee,ann@example.com",
        "Bob,Brown,bob@example.com",
    ];
    fs::write(&dump, rows.join("\n") + "\n").unwrap();
    let idx = tmp.path().join("idx");
    let rejects = tmp.path().join("rejects.csv");
    let out = leakscope(&[
        "index",
        "--out",
        p(&idx),
        "--rejects",
        p(&rejects),
        p(&dump),
    ]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("5 rows, 3 indexed, 2 rejected"), "{err}");
    assert!(err.contains("rejected: 2 unterminated quote"), "{err}");
    let offset = |row: usize| rows[..row].iter().map(|r| r.len() + 1).sum::<usize>();
    assert_eq!(
        fs::read_to_string(&rejects).unwrap(),
        format!(
            "dataset,row,offset,reason\n\
             residents.csv,2,{},unterminated quote\n\
             residents.csv,4,{},unterminated quote\n",
            offset(2),
            offset(4)
        )
    );
    let out = leakscope(&[
        "lookup",
        "--index",
        p(&idx),
        "--email",
        "mary.jones@example.com",
        "--json",
    ]);
    let (json, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(json.contains("\"row\":3"), "{json}");
}

#[test]
fn a_headerless_file_of_names_keeps_its_first_person_and_maps_its_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("names.csv");
    fs::write(
        &dump,
        "Jane,Featherstone,12/03/1981\nJohn,Okafor,01/01/1970\nMary,Jones,05/06/1990\n",
    )
    .unwrap();
    let out = leakscope(&["index", "--dry-run", p(&dump)]);
    let (listing, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(listing.contains("3 rows"), "{listing}");
    for line in [
        "column_1  -> first_name (values)",
        "column_2  -> last_name (values)",
        "column_3  -> dob (values)",
    ] {
        assert!(listing.contains(line), "{listing}");
    }
    let idx = tmp.path().join("idx");
    assert!(
        leakscope(&["index", "--out", p(&idx), p(&dump)])
            .status
            .success()
    );
    let out = leakscope(&[
        "lookup",
        "--index",
        p(&idx),
        "--name",
        "Jane Featherstone",
        "--dob",
        "12/03/1981",
        "--json",
    ]);
    let (json, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        json.contains("\"verdict\":\"exposed\"") && json.contains("\"row\":1"),
        "{json}"
    );
}

#[test]
fn a_rejects_file_inside_the_index_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dump, idx) = indexed_small_dump(tmp.path());
    let before = fs::read(idx.join("manifest.json")).unwrap();
    let rejects = idx.join("rejects.csv");
    let out = leakscope(&[
        "index",
        "--out",
        p(&idx),
        "--force",
        "--rejects",
        p(&rejects),
        p(&dump),
    ]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is inside the index directory"), "{err}");
    assert!(!rejects.exists());
    assert_eq!(fs::read(idx.join("manifest.json")).unwrap(), before);
}
