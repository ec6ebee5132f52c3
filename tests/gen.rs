//! End-to-end tests of `leakscope gen` through the binary: files, headers, ground
//! truth against the real rows, determinism, encodings and argument errors.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_leakscope");

const DUMP_FILES: [&str; 5] = [
    "council_tax_2006_2014.csv",
    "parking_permits.tsv",
    "housing_benefit.jsonl",
    "archive.sql",
    "electoral_registration_2014_2020.csv",
];

fn gen_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("gen").arg("--out").arg(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run leakscope")
}

/// Runs `gen` into a fresh temporary directory and insists it succeeded.
fn run_gen(args: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let out = gen_with(dir.path(), args, &[]);
    assert!(
        out.status.success(),
        "gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, out)
}

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn first_line(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    bytes[..end].strip_suffix(b"\r").unwrap_or(&bytes[..end])
}

/// Rows of a delimited file, parsed by the csv crate (quoted newlines stay in a row).
fn csv_rows(text: &str, delimiter: u8) -> Vec<csv::StringRecord> {
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_reader(text.as_bytes());
    rd.records().collect::<Result<_, _>>().unwrap()
}

/// The tuples of every `INSERT INTO `table` VALUES (…),(…);` statement, per table, as
/// lists of raw values (strings unescaped, NULL as `None`).
fn sql_tuples(sql: &str) -> HashMap<String, Vec<Vec<Option<String>>>> {
    let mut out: HashMap<String, Vec<Vec<Option<String>>>> = HashMap::new();
    let b = sql.as_bytes();
    let mut pos = 0;
    while let Some(off) = sql[pos..].find("INSERT INTO `") {
        let start = pos + off + "INSERT INTO `".len();
        let end = start + sql[start..].find('`').unwrap();
        let table = sql[start..end].to_string();
        let mut i = end + sql[end..].find("VALUES").unwrap() + "VALUES".len();
        let tuples = out.entry(table).or_default();
        loop {
            while b[i] == b' ' || b[i] == b',' {
                i += 1;
            }
            if b[i] == b';' {
                i += 1;
                break;
            }
            assert_eq!(b[i], b'(', "tuple expected at byte {i}");
            i += 1;
            let mut values = Vec::new();
            loop {
                if b[i] == b'\'' {
                    let mut v = Vec::new();
                    i += 1;
                    loop {
                        match b[i] {
                            b'\\' => {
                                v.push(match b[i + 1] {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b'0' => 0,
                                    c => c,
                                });
                                i += 2;
                            }
                            b'\'' => {
                                i += 1;
                                break;
                            }
                            c => {
                                v.push(c);
                                i += 1;
                            }
                        }
                    }
                    values.push(Some(String::from_utf8(v).unwrap()));
                } else {
                    let s = i;
                    while b[i] != b',' && b[i] != b')' {
                        i += 1;
                    }
                    let raw = &sql[s..i];
                    values.push((raw != "NULL").then(|| raw.to_string()));
                }
                if b[i] == b',' {
                    i += 1;
                    continue;
                }
                assert_eq!(b[i], b')');
                i += 1;
                break;
            }
            tuples.push(values);
        }
        pos = i;
    }
    out
}

/// Every dataset's rows as lower-case text (one string per record), keyed by the
/// dataset name truth.csv uses.
fn dataset_rows(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let join = |r: &csv::StringRecord| r.iter().collect::<Vec<_>>().join("|").to_lowercase();

    let ct = String::from_utf8(read(dir, "dump/council_tax_2006_2014.csv")).unwrap();
    let ct = ct.strip_prefix('\u{feff}').unwrap();
    out.insert(
        "council_tax_2006_2014.csv".into(),
        csv_rows(ct, b',').iter().map(join).collect(),
    );
    let pk = String::from_utf8(read(dir, "dump/parking_permits.tsv")).unwrap();
    out.insert(
        "parking_permits.tsv".into(),
        csv_rows(&pk, b'\t').iter().map(join).collect(),
    );
    let hb = String::from_utf8(read(dir, "dump/housing_benefit.jsonl")).unwrap();
    let hb_rows: Vec<String> = hb
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.to_string().to_lowercase()
        })
        .collect();
    out.insert("housing_benefit.jsonl".into(), hb_rows);
    let sql = String::from_utf8(read(dir, "dump/archive.sql")).unwrap();
    for (table, tuples) in sql_tuples(&sql) {
        let rows = tuples
            .iter()
            .map(|t| {
                t.iter()
                    .map(|v| v.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("|")
                    .to_lowercase()
            })
            .collect();
        out.insert(format!("archive.sql#{table}"), rows);
    }
    let el = read(dir, "dump/electoral_registration_2014_2020.csv");
    let (el, _, bad) = encoding_rs::WINDOWS_1252.decode(&el);
    assert!(!bad);
    out.insert(
        "electoral_registration_2014_2020.csv".into(),
        csv_rows(&el, b';').iter().map(join).collect(),
    );
    out
}

struct Truth {
    id: String,
    exposed: bool,
    records: Vec<(String, usize)>,
}

fn truth(dir: &Path) -> Vec<Truth> {
    let mut rd = csv::Reader::from_path(dir.join("truth.csv")).unwrap();
    rd.records()
        .map(|r| {
            let r = r.unwrap();
            let records = r[2]
                .split(';')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let (d, row) = s.rsplit_once(':').unwrap();
                    (d.to_string(), row.parse().unwrap())
                })
                .collect();
            Truth {
                id: r[0].to_string(),
                exposed: match &r[1] {
                    "true" => true,
                    "false" => false,
                    other => panic!("exposed must be true or false, got {other}"),
                },
                records,
            }
        })
        .collect()
}

fn register(dir: &Path) -> Vec<csv::StringRecord> {
    let mut rd = csv::Reader::from_path(dir.join("register.csv")).unwrap();
    rd.records().collect::<Result<_, _>>().unwrap()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[test]
fn gen_writes_every_file_with_exact_headers() {
    let (dir, out) = run_gen(&["--records", "3000", "--register", "500"]);
    let d = dir.path();
    for f in DUMP_FILES {
        assert!(d.join("dump").join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        first_line(&read(d, "register.csv")),
        b"resident_id,first_name,last_name,dob,address,postcode,email,phone,ni_number"
    );
    assert_eq!(
        first_line(&read(d, "truth.csv")),
        b"resident_id,exposed,records"
    );
    assert_eq!(
        first_line(&read(d, "hard_negatives.csv")),
        b"resident_id,kind"
    );
    let ct = read(d, "dump/council_tax_2006_2014.csv");
    assert_eq!(
        first_line(&ct),
        "\u{feff}Account Ref,Title,Forename,Surname,D.O.B,Address,Post Code,UPRN,Tel,E-mail Address,Payment Method,Sort Code,Account No,Band,Balance,Date Opened".as_bytes()
    );
    assert_eq!(
        first_line(&read(d, "dump/parking_permits.tsv")),
        b"Permit No\tVehicle Reg\tHolder Name\tMobile\tEmail\tHouse No\tStreet\tPostcode\tIssue Date\tExpires\tZone\tNotes"
    );
    assert_eq!(
        first_line(&read(d, "dump/electoral_registration_2014_2020.csv")),
        b"Elector No;Title;Forenames;Surname;Date of Birth;NI Number;House No;Street;Town;Postcode;Email;Telephone;Application Date;Method"
    );
    let sql = String::from_utf8(read(d, "dump/archive.sql")).unwrap();
    assert!(sql.contains("CREATE TABLE `library_members`"));
    assert!(sql.contains("CREATE TABLE `leisure_bookings`"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3000 records"), "{stderr}");
    assert!(stderr.contains("500 residents"), "{stderr}");
    // No leftovers from writing.
    for e in fs::read_dir(d)
        .unwrap()
        .chain(fs::read_dir(d.join("dump")).unwrap())
    {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".partial") && !name.starts_with('.'),
            "{name}"
        );
    }
}

#[test]
fn gen_truth_covers_every_resident_and_points_at_real_rows() {
    let (dir, _) = run_gen(&["--records", "4000", "--register", "800", "--overlap", "0.4"]);
    let d = dir.path();
    let rows = dataset_rows(d);
    let total: usize = rows.values().map(Vec::len).sum();
    assert_eq!(total, 4000, "record count over all datasets");
    assert_eq!(rows.len(), 6, "{:?}", rows.keys());
    assert!(rows.values().all(|r| !r.is_empty()));

    let reg = register(d);
    let truth = truth(d);
    assert_eq!(reg.len(), 800);
    assert_eq!(truth.len(), reg.len());
    let mut claimed: HashMap<(String, usize), usize> = HashMap::new();
    let mut exposed = 0;
    let mut linked = 0;
    for (r, t) in reg.iter().zip(&truth) {
        assert_eq!(&r[0], t.id, "truth in register order");
        assert_eq!(t.exposed, !t.records.is_empty());
        if !t.exposed {
            continue;
        }
        exposed += 1;
        let last = r[2].to_lowercase();
        let first = r[1].to_lowercase();
        let email = r[6].to_lowercase();
        let phone = digits(&r[7]);
        let phone_tail = phone.get(phone.len().saturating_sub(9)..).unwrap_or("");
        let mut shares = false;
        for (ds, row) in &t.records {
            let data = rows
                .get(ds)
                .unwrap_or_else(|| panic!("unknown dataset {ds}"));
            assert!(*row >= 1 && *row <= data.len(), "{ds}:{row} out of range");
            *claimed.entry((ds.clone(), *row)).or_default() += 1;
            let text = &data[*row - 1];
            shares |= text.contains(last.trim())
                || text.contains(first.trim())
                || (!email.is_empty() && text.contains(email.trim()))
                || (phone_tail.len() == 9 && digits(text).contains(phone_tail));
        }
        linked += usize::from(shares);
    }
    // A record belongs to at most one resident.
    assert!(claimed.values().all(|&n| n == 1));
    assert_eq!(exposed, 320, "overlap 0.4 of 800");
    assert!(
        linked * 100 >= exposed * 99,
        "only {linked} of {exposed} exposed residents share a name or contact with their records"
    );
}

#[test]
fn gen_overlap_follows_the_argument() {
    for (overlap, register, want) in [("0", "300", 0), ("1", "300", 300), ("0.25", "401", 100)] {
        let (dir, _) = run_gen(&[
            "--records",
            "2500",
            "--register",
            register,
            "--overlap",
            overlap,
        ]);
        let t = truth(dir.path());
        assert_eq!(
            t.iter().filter(|t| t.exposed).count(),
            want,
            "overlap {overlap}"
        );
    }
}

#[test]
fn gen_is_deterministic_across_thread_counts_and_seed_sensitive() {
    let args = ["--records", "30000", "--register", "3000", "--seed", "7"];
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let out = gen_with(dir.path(), &args, &[("RAYON_NUM_THREADS", threads)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = gen_with(
        c.path(),
        &["--records", "30000", "--register", "3000", "--seed", "8"],
        &[],
    );
    assert!(out.status.success());
    let files: Vec<PathBuf> = DUMP_FILES
        .iter()
        .map(|f| Path::new("dump").join(f))
        .chain(["register.csv".into(), "truth.csv".into()])
        .collect();
    for f in &files {
        let f = f.to_str().unwrap();
        let x = read(a.path(), f);
        assert!(
            x == read(b.path(), f),
            "{f} differs between 1 and 2 threads"
        );
        assert!(x != read(c.path(), f), "{f} identical for seeds 7 and 8");
    }
}

#[test]
fn gen_windows_1252_file_is_not_utf8_but_decodes() {
    let (dir, _) = run_gen(&["--records", "6000"]);
    let bytes = read(dir.path(), "dump/electoral_registration_2014_2020.csv");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "expected accented names in Windows-1252"
    );
    let (text, _, had_errors) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!had_errors);
    assert!(
        text.chars().any(|c| "éëèáíóúâêôüöñçøåÉÖ".contains(c)),
        "no accented letter"
    );
    // Everything else is UTF-8.
    for f in [
        "council_tax_2006_2014.csv",
        "parking_permits.tsv",
        "housing_benefit.jsonl",
        "archive.sql",
    ] {
        assert!(
            String::from_utf8(read(dir.path(), &format!("dump/{f}"))).is_ok(),
            "{f}"
        );
    }
}

#[test]
fn gen_dump_is_messy_like_real_exports() {
    let (dir, _) = run_gen(&["--records", "8000"]);
    let d = dir.path();
    let ct = String::from_utf8(read(d, "dump/council_tax_2006_2014.csv")).unwrap();
    let ct_rows = csv_rows(ct.strip_prefix('\u{feff}').unwrap(), b',');
    assert!(
        ct_rows.iter().any(|r| r[5].contains('\n')),
        "a quoted multi-line address"
    );
    assert!(
        ct_rows.iter().any(|r| r[5].contains(',')),
        "an address with commas"
    );
    let postcodes: Vec<&str> = ct_rows.iter().map(|r| r.get(6).unwrap()).collect();
    assert!(postcodes.iter().any(|p| p.contains(' ')));
    assert!(postcodes.iter().any(|p| !p.is_empty() && !p.contains(' ')));
    assert!(
        postcodes
            .iter()
            .any(|p| p.chars().any(|c| c.is_ascii_lowercase()))
    );
    // Some rows exported twice, byte for byte (not in SQL, where ids are keys).
    let lines: Vec<&str> = ct.lines().collect();
    assert!(
        lines.windows(2).any(|w| w[0] == w[1]),
        "no exact duplicate rows"
    );
    let sql = String::from_utf8(read(d, "dump/archive.sql")).unwrap();
    let tuples = sql_tuples(&sql);
    let lib = &tuples["library_members"];
    for (table, t) in &tuples {
        let ids: std::collections::HashSet<_> = t.iter().map(|row| row[0].clone()).collect();
        assert_eq!(ids.len(), t.len(), "{table}: primary key repeats");
    }
    // Reference numbers name one record: equal only between exact duplicates.
    let mut refs: HashMap<String, String> = HashMap::new();
    for r in &ct_rows {
        let row = r.iter().collect::<Vec<_>>().join("|");
        let prev = refs.insert(r[0].to_string(), row.clone());
        assert!(
            prev.is_none_or(|p| p == row),
            "account ref {} reused",
            &r[0]
        );
    }
    assert!(sql.contains("\\'"), "quotes escaped in SQL strings");
    assert!(lib.iter().any(|t| t[5].is_none()), "NULL dates of birth");
    // Phones in several formats.
    let pk = String::from_utf8(read(d, "dump/parking_permits.tsv")).unwrap();
    let mobiles: Vec<String> = csv_rows(&pk, b'\t')
        .iter()
        .map(|r| r[3].to_string())
        .collect();
    assert!(mobiles.iter().any(|m| m.starts_with("+44")));
    assert!(
        mobiles
            .iter()
            .any(|m| m.starts_with("07") && m.contains(' '))
    );
    assert!(mobiles.iter().any(|m| m.len() == 11 && m.starts_with("07")));
}

#[test]
fn gen_rejects_bad_arguments_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--overlap", "1.5"], "--overlap"),
        (&["--overlap", "-0.1"], "--overlap"),
        (&["--records", "0"], "--records"),
        (
            &["--records", "10", "--register", "1000"],
            "raise --records",
        ),
        (&["--records", "many"], "invalid value"),
        (&["--drift", "-1"], "--drift"),
        (&["--drift", "50"], "--drift"),
    ];
    for (args, needle) in cases {
        let out = gen_with(dir.path(), args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = Command::new(BIN).args(["gen"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--out is required");
}

#[test]
fn gen_help_states_the_probabilities_the_generator_uses() {
    use leakscope::synth::{self, drift};
    let out = Command::new(BIN).args(["gen", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let pct = |p: f64| format!("{}%", (p * 100.0).round());
    for (label, p) in [
        ("nickname", drift::P_NICKNAME),
        ("first-name typo", drift::P_FIRST_TYPO),
        ("married surname", drift::P_MARRIED),
        ("surname typo", drift::P_LAST_TYPO),
        ("date of birth missing", drift::P_DOB_MISSING),
        ("moved house", drift::P_MOVED),
        ("new email", drift::P_NEW_EMAIL),
        ("email missing", drift::P_EMAIL_MISSING),
        ("new phone", drift::P_NEW_PHONE),
        ("phone missing", drift::P_PHONE_MISSING),
        ("NI number missing", drift::P_NI_MISSING),
        ("about", synth::P_NAMESAKE),
    ] {
        let want = format!("{label} {}", pct(p));
        assert!(help.contains(&want), "help lacks '{want}'");
    }
    assert!(help.contains(&format!("mistyped {}", pct(drift::P_DOB_SLIP))));
    assert!(help.contains(&format!("{} family members", pct(synth::P_FAMILY))));
    assert!(help.contains(&format!("{} twins", pct(synth::P_TWIN))));
}

/// The counts of gen's "not in it: N namesakes, N family members, N twins" line.
fn hard_negative_counts(stderr: &str) -> [usize; 3] {
    let after = stderr.split("not in it: ").nth(1).expect("summary line");
    let mut words = after.split_whitespace();
    let mut counts = [0usize; 3];
    for slot in &mut counts {
        *slot = words.next().and_then(|w| w.parse().ok()).expect("a count");
        for w in words.by_ref() {
            if w.ends_with(',') {
                break;
            }
        }
    }
    counts
}

#[test]
fn gen_lists_its_hard_negatives_and_they_look_like_dumped_people() {
    let (dir, out) = run_gen(&["--records", "4000", "--register", "1000"]);
    let d = dir.path();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let truth: HashMap<String, bool> = truth(d).into_iter().map(|t| (t.id, t.exposed)).collect();
    let register: HashMap<String, csv::StringRecord> = register(d)
        .into_iter()
        .map(|r| (r[0].to_string(), r))
        .collect();
    let dump_text = dataset_rows(d)
        .into_values()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    let mut rd = csv::Reader::from_path(d.join("hard_negatives.csv")).unwrap();
    let mut counts = [0usize; 3];
    for row in rd.records() {
        let row = row.unwrap();
        let (id, kind) = (&row[0], &row[1]);
        let slot = match kind {
            "namesake" => 0,
            "family_member" => 1,
            "twin" => 2,
            other => panic!("unknown kind {other}"),
        };
        counts[slot] += 1;
        assert_eq!(
            truth.get(id),
            Some(&false),
            "{id} is a hard negative, not exposed"
        );
        // Each looks like someone in the dump: their family name is there.
        let last = register[id][2].trim().to_lowercase();
        assert!(
            dump_text.contains(&last),
            "{id} ({kind}): no {last} in the dump"
        );
    }
    assert_eq!(counts, hard_negative_counts(&stderr), "{stderr}");
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
}

/// The drift counts of gen's "drift of the N in the dump: …" line, in order.
fn drift_counts(stderr: &str) -> Vec<usize> {
    let line = stderr
        .lines()
        .find(|l| l.contains("drift of the"))
        .expect("drift line");
    let list = line.split(": ").nth(1).expect("counts");
    list.split(", ")
        .map(|part| {
            part.split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a count")
        })
        .collect()
}

#[test]
fn gen_drift_scales_every_drift_and_keeps_the_default_archive() {
    let args = ["--records", "6000", "--register", "1200", "--seed", "5"];
    let (plain, plain_out) = run_gen(&args);
    let (same, same_out) = run_gen(&[&args[..], &["--drift", "1"]].concat());
    // --drift 1 is the documented set: the archive is the one without the flag.
    for f in ["register.csv", "truth.csv", "hard_negatives.csv"] {
        assert_eq!(read(plain.path(), f), read(same.path(), f), "{f}");
    }
    let one = drift_counts(&String::from_utf8_lossy(&plain_out.stderr));
    assert_eq!(
        one,
        drift_counts(&String::from_utf8_lossy(&same_out.stderr))
    );
    assert!(one.iter().all(|&n| n > 0), "{one:?}");

    let (_clean, clean_out) = run_gen(&[&args[..], &["--drift", "0"]].concat());
    let zero = drift_counts(&String::from_utf8_lossy(&clean_out.stderr));
    assert!(
        zero.iter().all(|&n| n == 0),
        "--drift 0 drifts nobody: {zero:?}"
    );

    let (_messy, messy_out) = run_gen(&[&args[..], &["--drift", "2"]].concat());
    let two = drift_counts(&String::from_utf8_lossy(&messy_out.stderr));
    // Moves, new emails and new phones (25%, 20%, 15% at 1) about double.
    for i in [4, 5, 6] {
        let ratio = two[i] as f64 / one[i] as f64;
        assert!(
            (1.6..2.4).contains(&ratio),
            "drift {i}: {} vs {}",
            two[i],
            one[i]
        );
    }
}
