//! `leakscope lookup` and `match` end to end on values systems write oddly: dates of
//! birth that mean "not known" (`01/01/1900`), two-digit years of birth, postcodes
//! with punctuation, a country or O for zero, and cells holding several emails or
//! phones (or a phone a spreadsheet wrote as a float). Each test writes a small dump,
//! indexes it with the binary and asks the binary.

mod common;

use leakscope::normalize::date;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_leakscope");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run leakscope")
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lookup_values_{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `files` (name, text) into `dir` and indexes them; the index's path.
fn indexed(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    PathBuf::from(common::index_files(dir, files).0)
}

/// `lookup --index INDEX ARGS...`: its stdout.
fn lookup(index: &Path, args: &[&str]) -> String {
    let mut all = vec!["lookup", "--index", index.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "lookup {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn is_exposed(answer: &str) -> bool {
    answer.starts_with("EXPOSED")
}

/// `match --index INDEX REGISTER`: the CSV rows after the header.
fn matched(dir: &Path, index: &Path, register: &str) -> Vec<csv::StringRecord> {
    let path = dir.join("register.csv");
    fs::write(&path, register).unwrap();
    let out = run(&[
        "match",
        "--index",
        index.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    csv::Reader::from_reader(out.stdout.as_slice())
        .records()
        .map(Result::unwrap)
        .collect()
}

/// Three hundred people whose system wrote `01/01/1900` for an unknown date of birth,
/// one of them Peter Grant, and a few with real dates.
fn placeholder_dump() -> String {
    let mut text = String::from("first_name,last_name,dob,postcode\n");
    let firsts = ["Hope", "Una", "Pam", "Ian", "Rita", "Owen"];
    for i in 0..300 {
        let first = firsts[i % firsts.len()];
        text.push_str(&format!(
            "{first},Sn{i:03}x,01/01/1900,N{} {}AA\n",
            i % 20 + 1,
            i % 9 + 1
        ));
    }
    text.push_str("Ada,Lovell,01/01/1970,N1 2AB\n");
    text.push_str("Peter,Grant,01/01/1900,E1 1AA\n");
    text
}

#[test]
fn an_unknown_date_of_birth_is_no_evidence_on_either_side() {
    let dir = scratch("placeholder_dob");
    let index = indexed(&dir, &[("dump.csv", &placeholder_dump())]);
    // A register row with the same placeholder but another postcode: the shared
    // "date" is not a shared birthday.
    let rows = matched(
        &dir,
        &index,
        "resident_id,first_name,last_name,dob,postcode\nR1,Peter,Grant,01/01/1900,W9 9ZZ\n",
    );
    assert_eq!(rows.len(), 1);
    assert_ne!(&rows[0][1], "exposed", "{:?}", rows[0]);
    assert!(!rows[0][5].contains("dob"), "{:?}", rows[0]);
    for dob in ["01/01/1900", "1900-01-01", "31/12/1899"] {
        let answer = lookup(
            &index,
            &[
                "--name",
                "Peter Grant",
                "--dob",
                dob,
                "--postcode",
                "W9 9ZZ",
            ],
        );
        assert!(!is_exposed(&answer), "{dob}: {answer}");
        assert!(!answer.contains("dob exact"), "{dob}: {answer}");
    }
    // He is still found on what his record does say.
    let answer = lookup(&index, &["--name", "Peter Grant", "--postcode", "E1 1AA"]);
    assert!(is_exposed(&answer), "{answer}");
    // 1 January 1970 is a real birthday, not a placeholder.
    let answer = lookup(&index, &["--name", "Ada Lovell", "--dob", "01/01/1970"]);
    assert!(answer.contains("dob exact"), "{answer}");
}

#[test]
fn a_two_digit_year_of_birth_is_never_in_the_future() {
    let today = date::today();
    let yy = (today.year + 1) % 100;
    if yy == 0 {
        // The century turns next year: the case below does not arise.
        return;
    }
    let century = today.year - today.year % 100;
    let past = (today.year - 2) % 100;
    let dir = scratch("two_digit_year");
    let dump = format!(
        "first_name,last_name,dob,postcode\n\
         Hugo,Hartley,15/06/{yy:02},N1 1AA\n\
         Ivy,Inchley,02/03/{past:02},N1 1AB\n\
         Joan,Jessop,10/10/45,N1 1AC\n"
    );
    let index = indexed(&dir, &[("pensioners.csv", &dump)]);
    // Born a century before the year that would be next year.
    let old = format!("15/06/{}", century - 100 + yy);
    let answer = lookup(&index, &["--name", "Hugo Hartley", "--dob", &old]);
    assert!(is_exposed(&answer), "{old}: {answer}");
    assert!(answer.contains("dob exact"), "{old}: {answer}");
    // A register writing the same two digits reads them the same way.
    let rows = matched(
        &dir,
        &index,
        &format!(
            "resident_id,first_name,last_name,dob\nR1,Hugo,Hartley,15/06/{yy:02}\nR2,Hugo,Hartley,{old}\n"
        ),
    );
    for row in &rows {
        assert_eq!(&row[1], "exposed", "{row:?}");
        assert!(row[5].contains("dob exact"), "{row:?}");
    }
    // A two-digit year already past this century stays this century.
    let recent = format!("02/03/{}", century + past);
    let answer = lookup(&index, &["--name", "Ivy Inchley", "--dob", &recent]);
    assert!(answer.contains("dob exact"), "{recent}: {answer}");
    let answer = lookup(&index, &["--name", "Joan Jessop", "--dob", "10/10/1945"]);
    assert!(answer.contains("dob exact"), "{answer}");
}

#[test]
fn a_record_date_keeps_its_two_digit_year_pivot() {
    let dir = scratch("record_date_pivot");
    let dump = "first_name,last_name,dob,record_date\nKit,Kendal,03/02/1980,14/07/29\n";
    let index = indexed(&dir, &[("records.csv", dump)]);
    for (scope, found) in [("year:2029", true), ("year:1929", false)] {
        let answer = lookup(
            &index,
            &[
                "--name",
                "Kit Kendal",
                "--dob",
                "03/02/1980",
                "--scope",
                scope,
            ],
        );
        assert_eq!(is_exposed(&answer), found, "{scope}: {answer}");
    }
}

#[test]
fn postcodes_with_punctuation_a_country_or_o_for_zero_are_found() {
    let dir = scratch("postcode_variants");
    let dump = "first_name,last_name,postcode,dob\n\
                Aaron,Aldridge,SW1A OAA,01/01/1970\n\
                Cyril,Cobham,E1 6AN.,03/03/1972\n\
                Daisy,Denton,\"E2 8AA, UK\",04/04/1973\n\
                Eric,Eden,E3 8AA United Kingdom,05/05/1974\n\
                Fern,Foley,\"E4 8AA, GB\",06/06/1975\n\
                Gail,Gibbs,0L1 1AA,07/07/1976\n\
                Henri,Hugo,75008,08/08/1977\n\
                Iris,Irwin,N1 0AA,09/09/1978\n";
    let index = indexed(&dir, &[("dump.csv", dump)]);
    for (name, postcode) in [
        ("Aaron Aldridge", "SW1A 0AA"),
        ("Cyril Cobham", "E1 6AN"),
        ("Daisy Denton", "E2 8AA"),
        ("Eric Eden", "E3 8AA"),
        ("Fern Foley", "E4 8AA"),
        ("Gail Gibbs", "OL1 1AA"),
        ("Henri Hugo", "75008"),
        // The query side reads the same way.
        ("Iris Irwin", "N1 OAA."),
        ("Iris Irwin", "N1 0AA, United Kingdom"),
    ] {
        let answer = lookup(&index, &["--name", name, "--postcode", postcode]);
        assert!(is_exposed(&answer), "{name} {postcode}: {answer}");
        // The postcode agrees exactly ("address postcode", not a sector or district).
        assert!(
            answer.contains("address postcode ("),
            "{name} {postcode}: {answer}"
        );
    }
}

#[test]
fn cells_with_several_emails_or_phones_give_each_value() {
    let dir = scratch("multi_value_cells");
    let dump = "first_name,last_name,phone,email\n\
                Cyril,Cobham,07911 100003 / 07911 200003,c1@example.com; c2@example.com\n\
                Daisy,Denton,\"07911 100004, 07911 200004\",\"d1@example.com, d2@example.com\"\n\
                Edgar,Elton,07911 100005 or 07911 200005,Edgar Elton <e1@example.com>\n\
                Fay,Finch,447911100101.0,f1@example.com\n\
                Gil,Gray,4.47911100102E+11,g1@example.com\n";
    let index = indexed(&dir, &[("contacts.csv", dump)]);
    for (flag, value, row) in [
        ("--phone", "07911 100003", 1),
        ("--phone", "07911 200003", 1),
        ("--email", "c1@example.com", 1),
        ("--email", "c2@example.com", 1),
        ("--phone", "07911 100004", 2),
        ("--phone", "07911 200004", 2),
        ("--email", "d1@example.com", 2),
        ("--email", "d2@example.com", 2),
        ("--phone", "07911 200005", 3),
        ("--email", "e1@example.com", 3),
        ("--phone", "07911 100101", 4),
        ("--phone", "07911 100102", 5),
        // The query side splits as the build does.
        ("--phone", "07911 999999 / 07911 200003", 1),
        ("--email", "Dee <d2@example.com>", 2),
    ] {
        let answer = lookup(&index, &[flag, value]);
        assert!(is_exposed(&answer), "{flag} {value}: {answer}");
        assert!(
            answer.contains(&format!("contacts.csv row {row} ")),
            "{flag} {value}: {answer}"
        );
    }
    let rows = matched(
        &dir,
        &index,
        "resident_id,first_name,last_name,phone\nR1,Cyril,Cobham,07911 200003\nR2,Daisy,Denton,07911 999999 or 07911 100004\n",
    );
    assert_eq!(&rows[0][1], "exposed", "{:?}", rows[0]);
    assert_eq!(&rows[0][3], "contacts.csv:1", "{:?}", rows[0]);
    assert_eq!(&rows[1][1], "exposed", "{:?}", rows[1]);
    assert_eq!(&rows[1][3], "contacts.csv:2", "{:?}", rows[1]);
}
