//! `leakscope index` (and `match`) on inputs as leaks hold them, end to end through
//! the binary: title lines above a header, rows cut short, hidden files, form
//! exports' name columns, a stray quote in a long SQL INSERT, register id columns,
//! a dump beside its compressed copy, a stray NUL byte.

use std::fs;
use std::io::Write;
use std::path::Path;

mod common;
use common::{leakscope, p};

/// Builds `dir/idx` from `dumps` (with `extra` arguments first); its stderr.
fn index(dir: &Path, extra: &[&str], dumps: &[&Path]) -> String {
    let idx = dir.join("idx");
    let mut args = vec!["index", "--out", p(&idx)];
    args.extend_from_slice(extra);
    args.extend(dumps.iter().map(|d| p(d)));
    let out = leakscope(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// `lookup --json` on `dir/idx`: the parsed answer.
fn lookup(dir: &Path, query: &[&str]) -> serde_json::Value {
    let idx = dir.join("idx");
    let mut args = vec!["lookup", "--index", p(&idx), "--json"];
    args.extend_from_slice(query);
    let out = leakscope(&args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The (dataset, row) of each match of an answer.
fn found(answer: &serde_json::Value) -> Vec<(String, u64)> {
    answer["matches"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| {
                    (
                        m["dataset"].as_str().unwrap_or_default().to_string(),
                        m["row"].as_u64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const CTAX: &str = "Council Tax Accounts Export\n\
                    Generated 01/04/2014 by CTAX v3\n\
                    \n\
                    Account Ref,Forename,Surname,D.O.B,Post Code,E-mail Address\n\
                    1001,Alice,Archer,01/01/1970,AB1 2CD,alice@archer.com\n\
                    1002,Bob,Baker,02/02/1971,AB1 2CE,bob@baker.com\n\
                    1003,Carol,Cooper,03/03/1972,AB1 2CF,carol@cooper.com\n";

#[test]
fn title_lines_above_the_header_are_skipped_and_said() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("ctax_export.csv");
    fs::write(&dump, CTAX).unwrap();
    let rejects = tmp.path().join("rejects.csv");
    let err = index(tmp.path(), &["--rejects", p(&rejects)], &[&dump]);
    assert!(
        err.contains("ctax_export.csv  csv utf-8  3 rows, 3 indexed, 0 rejected"),
        "{err}"
    );
    assert!(err.contains("E-mail Address -> email (header)"), "{err}");
    assert!(
        err.contains(
            "warning: ctax_export.csv: skipped 3 title lines above the header on line 4; \
             row 1 is the line after the header"
        ),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&rejects).unwrap(),
        "dataset,row,offset,reason\n"
    );
    // Rows are numbered from the line after the header.
    let bob = lookup(tmp.path(), &["--email", "bob@baker.com"]);
    assert_eq!(bob["verdict"], "exposed");
    assert_eq!(found(&bob), [("ctax_export.csv".to_string(), 2)]);
    // The dry run says the same.
    let out = leakscope(&["index", "--dry-run", p(&dump)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(", 3 rows\n"), "{text}");
    assert!(text.contains("warning: skipped 3 title lines"), "{text}");
}

#[test]
fn a_row_with_its_trailing_fields_left_off_is_read_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("export.csv");
    fs::write(
        &dump,
        "first_name,last_name,dob,email,phone,notes\n\
         Ada,Abel,01/01/1970,ada@abel.com,07700900301,ok\n\
         Ben,Bolt,02/02/1971,ben@bolt.com\n\
         Cy,Cole,03/03/1972,cy@cole.com,07700900303,ok,one too many\n\
         Don,Dunn,04/04/1973,don@dunn.com,07700900304,\n",
    )
    .unwrap();
    let err = index(tmp.path(), &[], &[&dump]);
    assert!(err.contains("4 rows, 3 indexed, 1 rejected"), "{err}");
    assert!(err.contains("rejected: 1 wrong number of fields"), "{err}");
    assert!(
        err.contains(
            "note: 1 row had trailing fields left off (fewer fields than the header): \
             read with those fields empty"
        ),
        "{err}"
    );
    let ben = lookup(tmp.path(), &["--email", "ben@bolt.com"]);
    assert_eq!(found(&ben), [("export.csv".to_string(), 2)]);
    let ben = lookup(tmp.path(), &["--name", "Ben Bolt", "--dob", "02/02/1971"]);
    assert_eq!(ben["verdict"], "exposed");
    let out = leakscope(&["index", "--dry-run", p(&dump)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("note: 1 row had trailing fields left off"),
        "{text}"
    );
}

#[test]
fn hidden_files_in_a_dump_directory_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(dump.join(".archive")).unwrap();
    fs::create_dir_all(dump.join(".git")).unwrap();
    fs::write(
        dump.join(".old_export.csv"),
        "email,first_name,last_name\nbill@smyth.org,Bill,Smyth\n",
    )
    .unwrap();
    fs::write(
        dump.join(".archive/2012.csv"),
        "email,first_name,last_name\nmary@clark.net,Mary,Clark\n",
    )
    .unwrap();
    fs::write(dump.join(".git/config.csv"), "email\nnot@leaked.org\n").unwrap();
    fs::write(dump.join("visible.csv"), "email\nv@x.org\n").unwrap();
    fs::write(dump.join("notes.xlsx"), b"PK\x03\x04").unwrap();
    let err = index(tmp.path(), &[], &[&dump]);
    assert!(
        err.contains(".old_export.csv  csv utf-8  1 rows, 1 indexed"),
        "{err}"
    );
    assert!(
        err.contains(".archive/2012.csv  csv utf-8  1 rows, 1 indexed"),
        "{err}"
    );
    assert!(
        err.contains("visible.csv  csv utf-8  1 rows, 1 indexed"),
        "{err}"
    );
    assert!(
        err.contains("/dump/.git is a version-control directory (.git): not read"),
        "{err}"
    );
    assert!(err.contains("e.g. "), "notes.xlsx is still named: {err}");
    assert_eq!(
        lookup(tmp.path(), &["--email", "bill@smyth.org"])["verdict"],
        "exposed"
    );
    assert_eq!(
        lookup(tmp.path(), &["--email", "mary@clark.net"])["verdict"],
        "exposed"
    );
    assert_eq!(
        lookup(tmp.path(), &["--email", "not@leaked.org"])["verdict"],
        "not_found"
    );
}

#[test]
fn form_exports_name_columns_are_first_and_last_names() {
    let tmp = tempfile::tempdir().unwrap();
    let form = tmp.path().join("form_export.csv");
    fs::write(
        &form,
        "Name (First),Name (Last),D/O/B,Postal Code\n\
         Janet,Arkwright,14/07/1954,LS1 4AP\n\
         Kevin,Bright,01/02/1977,LS2 7EE\n",
    )
    .unwrap();
    let twins = tmp.path().join("dup_name.csv");
    fs::write(
        &twins,
        "Name,Name,DOB,Postcode\n\
         Olive,Ashworth,14/07/1960,LS3 1AA\n\
         Peter,Dunmore,01/02/1981,LS4 2BB\n",
    )
    .unwrap();
    let err = index(tmp.path(), &[], &[&form, &twins]);
    for line in [
        "Name (First) -> first_name (header)",
        "Name (Last) -> last_name (header)",
        "Name -> first_name (values)",
        "Name -> last_name (values)",
    ] {
        assert!(err.contains(line), "{line}: {err}");
    }
    for query in [
        &["--name", "Janet Arkwright", "--postcode", "LS1 4AP"][..],
        &["--first-name", "Kevin", "--dob", "01/02/1977"],
        &["--name", "Olive Ashworth", "--postcode", "LS3 1AA"],
        &["--first-name", "Peter", "--dob", "01/02/1981"],
    ] {
        assert_eq!(lookup(tmp.path(), query)["verdict"], "exposed", "{query:?}");
    }
}

#[test]
fn tuples_after_a_stray_quote_in_an_insert_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("archive.sql");
    let mut sql = String::from(
        "CREATE TABLE `t` (`id` int, `fn` varchar(9), `ln` varchar(9), `dob` date, `email` varchar(99));\n\
         INSERT INTO `t` VALUES ",
    );
    for i in 0..100 {
        let last = if i == 10 {
            "O'Brien".to_string()
        } else {
            format!("Surname{i}")
        };
        let sep = if i == 99 { ";\n" } else { "," };
        sql.push_str(&format!(
            "({i},'Person','{last}','1970-01-01','p{i}@x.com'){sep}"
        ));
    }
    sql.push_str("INSERT INTO `t` VALUES (200,'Next','Stmt','1970-01-01','next@x.com');\n");
    fs::write(&dump, sql).unwrap();
    let rejects = tmp.path().join("rejects.csv");
    let err = index(tmp.path(), &["--rejects", p(&rejects)], &[&dump]);
    assert!(
        err.contains("archive.sql#t  sql utf-8  101 rows, 100 indexed, 1 rejected"),
        "{err}"
    );
    let listed = fs::read_to_string(&rejects).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("archive.sql#t,11,"), "{listed}");
    let p50 = lookup(tmp.path(), &["--email", "p50@x.com"]);
    assert_eq!(found(&p50), [("archive.sql#t".to_string(), 51)]);
    assert_eq!(
        lookup(tmp.path(), &["--email", "next@x.com"])["verdict"],
        "exposed"
    );
}

#[test]
fn register_ids_are_taken_from_columns_named_like_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump.csv");
    fs::write(
        &dump,
        "first_name,last_name,dob,email\nJane,Doe,03/02/1980,jane@example.com\n",
    )
    .unwrap();
    index(tmp.path(), &[], &[&dump]);
    let idx = tmp.path().join("idx");
    let first_id = |header: &str, values: &str| -> (String, String) {
        let register = tmp.path().join("register.csv");
        fs::write(
            &register,
            format!("{header}\n{values}\nX-2,John,Roe,04/05/1970,john@example.com\n"),
        )
        .unwrap();
        let out = leakscope(&["match", "--index", p(&idx), p(&register)]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text.lines().nth(1).unwrap_or_default();
        (line.split(',').next().unwrap_or_default().to_string(), err)
    };
    let jane = "C-77,Jane,Doe,03/02/1980,jane@example.com";
    for id in [
        "Case ID",
        "Citizen ID",
        "Ref ID",
        "resident_no",
        "Ref No",
        "Voter Number",
        "caseRef ID",
    ] {
        let (got, err) = first_id(&format!("{id},First Name,Last Name,DOB,Email"), jane);
        assert_eq!(got, "C-77", "{id}: {err}");
        assert!(
            err.contains(&format!("{id} -> register_id (not matched)")),
            "{err}"
        );
    }
    // Not an id: a column that is matched on, one shared by a household, one
    // whose values repeat.
    for id in ["Case Ref", "Account ID", "Household No"] {
        let (got, err) = first_id(&format!("{id},First Name,Last Name,DOB,Email"), jane);
        assert_eq!(got, "1", "{id}: {err}");
    }
    let (got, _) = first_id(
        "Case ID,First Name,Last Name,DOB,Email",
        "X-2,Jane,Doe,03/02/1980,jane@example.com",
    );
    assert_eq!(got, "1", "ids that repeat are no ids");
}

#[test]
fn a_dump_beside_its_compressed_copy_is_indexed_as_two_datasets() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(&dump).unwrap();
    fs::write(
        dump.join("people.csv"),
        "first_name,last_name,dob,email\nJane,Doe,03/02/1980,jane@example.com\n",
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"email,first_name,last_name\nbill@smyth.org,Bill,Smyth\n")
        .unwrap();
    fs::write(dump.join("people.csv.gz"), gz.finish().unwrap()).unwrap();
    let err = index(tmp.path(), &[], &[&dump]);
    assert!(
        err.contains("people.csv.gz is dataset people.csv.gz (its .gz kept)"),
        "{err}"
    );
    assert!(
        err.contains("\npeople.csv  csv utf-8  1 rows, 1 indexed"),
        "{err}"
    );
    assert!(
        err.contains("\npeople.csv.gz  csv utf-8  1 rows, 1 indexed"),
        "{err}"
    );
    let bill = lookup(tmp.path(), &["--email", "bill@smyth.org"]);
    assert_eq!(found(&bill), [("people.csv.gz".to_string(), 1)]);
    let jane = lookup(tmp.path(), &["--email", "jane@example.com"]);
    assert_eq!(found(&jane), [("people.csv".to_string(), 1)]);
}

#[test]
fn the_rejects_file_given_as_the_dump_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump.csv");
    fs::write(&dump, "first_name,last_name,dob\nJane,Doe,03/02/1980\n").unwrap();
    let idx = tmp.path().join("idx");
    let out = leakscope(&["index", "--out", p(&idx), "--rejects", p(&dump), p(&dump)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("names the dump given to read") && err.contains("--rejects rejects.csv"),
        "{err}"
    );
    assert!(!err.contains("no dump files found"), "{err}");
    // The dump is untouched.
    assert_eq!(
        fs::read_to_string(&dump).unwrap(),
        "first_name,last_name,dob\nJane,Doe,03/02/1980\n"
    );
}

#[test]
fn a_stray_nul_byte_costs_its_row_not_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    fs::create_dir_all(&dump).unwrap();
    fs::write(
        dump.join("people.csv"),
        b"email,name\nann@x.com,Ann\nbob@x.com,B\x00b\ncy@x.com,Cy\n",
    )
    .unwrap();
    let rejects = tmp.path().join("rejects.csv");
    let err = index(tmp.path(), &["--rejects", p(&rejects)], &[&dump]);
    assert!(err.contains("3 rows, 2 indexed, 1 rejected"), "{err}");
    assert!(
        err.contains("rejected: 1 NUL byte in the record (binary data)"),
        "{err}"
    );
    assert!(
        fs::read_to_string(&rejects)
            .unwrap()
            .contains("people.csv,2,")
    );
    assert_eq!(
        lookup(tmp.path(), &["--email", "cy@x.com"])["verdict"],
        "exposed"
    );
    // A spreadsheet renamed .csv is still refused, saying what it is.
    fs::write(dump.join("book.csv"), b"PK\x03\x04\x14\x00\x06\x00").unwrap();
    let out = leakscope(&["index", "--out", p(&tmp.path().join("idx2")), p(&dump)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("book.csv: is not text"), "{err}");
}

#[test]
fn a_pipe_or_device_is_refused_not_read_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = tmp.path().join("idx");
    // A device as the dump: read as a file it looked empty, and the build "worked".
    let out = leakscope(&["index", "--out", p(&idx), "/dev/null"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/dev/null: is not a regular file") && err.contains("save the data to a file"),
        "{err}"
    );
    assert!(!idx.exists());
    // A FIFO inside a dump directory is left out with a note; the files beside it
    // are read.
    let dir = tmp.path().join("dump");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("a.csv"), "email\njane@example.com\n").unwrap();
    let fifo = dir.join("feed");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let err = index(tmp.path(), &[], &[&dir]);
    assert!(
        err.contains("feed is not a regular file (a pipe, socket or device): not read"),
        "{err}"
    );
    assert_eq!(
        found(&lookup(tmp.path(), &["--email", "jane@example.com"])),
        [("a.csv".to_string(), 1)]
    );
    // A device as the register.
    let out = leakscope(&["match", "--index", p(&idx), "/dev/null"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a regular file"), "{err}");
}
