//! Reading dumps through the library: every format and encoding, bad input,
//! chunking, evidence re-reads and column mapping.

use leakscope::field::FieldKind;
use leakscope::source::{
    Format, Origin, Overrides, ReadOptions, Reject, RejectReason, SourceFile, TextEncoding,
    discover, survey,
};
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// (dataset, row, offset, len, values by column) of one good record.
type Row = (usize, u64, u64, u32, Vec<Vec<String>>);

fn options(chunk_size: usize) -> ReadOptions {
    ReadOptions {
        chunk_size,
        ..ReadOptions::default()
    }
}

fn open_bytes(bytes: &[u8], name: &str, chunk_size: usize) -> SourceFile {
    SourceFile::from_bytes(bytes.to_vec(), name, &options(chunk_size))
        .expect("in-memory dump opens")
}

/// Every good record (in dataset, row order) and every reject.
fn collect(file: &SourceFile) -> (Vec<Row>, Vec<Reject>) {
    let out = file.scan(Vec::new, |v, r| {
        v.push((
            r.dataset,
            r.chunk,
            r.local_row,
            r.offset,
            r.len,
            r.fields.to_vecs(),
        ))
    });
    let mut rows: Vec<Row> = out
        .states
        .iter()
        .flatten()
        .map(|(d, c, l, o, len, f)| (*d, out.row(*d, *c, *l), *o, *len, f.clone()))
        .collect();
    rows.sort_by_key(|r| (r.0, r.1));
    (rows, out.rejects.clone())
}

fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("thread pool")
        .install(f)
}

/// The same file parsed as one chunk on one thread, and in tiny chunks on many,
/// must give exactly the same records, rows, offsets and rejects.
fn assert_chunking_invariant(bytes: &[u8], name: &str) -> (Vec<Row>, Vec<Reject>) {
    let whole = with_threads(1, || collect(&open_bytes(bytes, name, usize::MAX)));
    for size in [1, 2, 3, 5, 8, 13, 64, 257] {
        let parts = with_threads(8, || collect(&open_bytes(bytes, name, size)));
        assert_eq!(parts, whole, "{name}: chunk size {size}");
    }
    whole
}

/// Each good record re-read from its offset and length gives the scanned values.
fn assert_read_back(file: &SourceFile, rows: &[Row]) {
    // One buffer reused for every record must give what a fresh read gives.
    let mut reused = leakscope::source::Fields::new();
    for (d, _, offset, len, values) in rows {
        let again = file
            .read_record(*d, *offset, *len)
            .expect("record re-reads");
        assert_eq!(&again.to_vecs(), values, "record at {offset}");
        file.read_record_into(*d, *offset, *len, &mut reused)
            .expect("record re-reads into a reused buffer");
        assert_eq!(
            &reused.to_vecs(),
            values,
            "reused buffer, record at {offset}"
        );
    }
}

fn vals(rows: &[Row], i: usize) -> Vec<String> {
    rows[i].4.iter().map(|v| v.join("|")).collect()
}

#[test]
fn csv_quoted_newlines_across_chunk_boundaries() {
    let mut csv = String::from("id,name,note\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "{i},\"Doe, J{i}\",\"line one\r\nline \"\"two\"\"\n,three\"\r\n"
        ));
    }
    let (rows, rejects) = assert_chunking_invariant(csv.as_bytes(), "x.csv");
    assert_eq!(rows.len(), 40);
    assert!(rejects.is_empty());
    assert_eq!(
        vals(&rows, 7),
        ["7", "Doe, J7", "line one\r\nline \"two\"\n,three"]
    );
    assert_eq!(rows[7].1, 8);
    assert_read_back(&open_bytes(csv.as_bytes(), "x.csv", 16), &rows);
}

#[test]
fn tsv_psv_and_semicolons_are_sniffed() {
    for (data, name, format) in [
        (&b"a\tb\n1\t2\n"[..], "x.tsv", "tsv"),
        (b"a|b\n1|2\n", "x.txt", "psv"),
        (b"a;b\n\"1;5\";2\n", "x.csv", "csv (;)"),
    ] {
        let f = open_bytes(data, name, 1 << 20);
        assert_eq!(f.format().to_string(), format);
        let (rows, _) = collect(&f);
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(f.datasets()[0].columns, ["a", "b"]);
    }
}

#[test]
fn bom_and_header_spaces() {
    let f = open_bytes(
        "\u{FEFF} Name , E-mail \nZoë,z@example.com\n".as_bytes(),
        "x.csv",
        1 << 20,
    );
    assert_eq!(f.encoding(), TextEncoding::Utf8Bom);
    assert_eq!(f.datasets()[0].columns, ["Name", "E-mail"]);
    let (rows, _) = collect(&f);
    assert_eq!(vals(&rows, 0), ["Zoë", "z@example.com"]);
}

#[test]
fn windows_1252_accents() {
    let data = b"first,last\nZo\xEB,Evans\nSi\xE2n,O\x92Brien\n";
    let f = open_bytes(data, "x.csv", 1 << 20);
    assert_eq!(f.encoding(), TextEncoding::Windows1252);
    let (rows, _) = assert_chunking_invariant(data, "x.csv");
    assert_eq!(vals(&rows, 0), ["Zoë", "Evans"]);
    assert_eq!(vals(&rows, 1), ["Siân", "O\u{2019}Brien"]);
    assert_read_back(&f, &rows);
}

#[test]
fn mostly_utf8_with_a_few_bad_bytes_is_decoded_field_by_field() {
    let mut data = "first,last\nZoë,Siân\nRenée,Søren\n".as_bytes().to_vec();
    data.extend_from_slice(b"Zo\xEB,Ang\xE9lique\n");
    let f = open_bytes(&data, "x.csv", 1 << 20);
    assert_eq!(f.encoding(), TextEncoding::Mixed);
    let (rows, _) = collect(&f);
    assert_eq!(vals(&rows, 0), ["Zoë", "Siân"]);
    assert_eq!(vals(&rows, 2), ["Zoë", "Angélique"]);
}

#[test]
fn json_lines_nested_objects_and_arrays() {
    let data = br#"{"id":1,"claimant":{"name":{"first":"Jane","last":"Doe"}},"contact":{"phones":["07700 900123","020 7946 0001"]}}

{"id":2,"contact":{"phones":[],"email":"b@example.com"},"ok":true,"n":null,"amount":1.50}
not json
[1,2]
{"id":3,"claimant":{"name":{"first":"Zo\u00eb"}},"tags":[{"k":"a"},{"k":"b"}]}
"#;
    let f = open_bytes(data, "claims.jsonl", 1 << 20);
    assert_eq!(f.format(), Format::JsonLines);
    assert_eq!(
        f.datasets()[0].columns,
        [
            "id",
            "claimant.name.first",
            "claimant.name.last",
            "contact.phones",
            "contact.email",
            "ok",
            "amount",
            "tags.k"
        ]
    );
    let (rows, rejects) = assert_chunking_invariant(data, "claims.jsonl");
    assert_eq!(rows.len(), 3);
    let phones: Vec<&str> = rows[0].4[3].iter().map(String::as_str).collect();
    assert_eq!(phones, ["07700 900123", "020 7946 0001"]);
    assert_eq!(
        vals(&rows, 1),
        ["2", "", "", "", "b@example.com", "true", "1.50", ""]
    );
    assert_eq!(
        rows[2].1, 5,
        "rejected lines keep their row numbers; the blank line has none"
    );
    assert_eq!(vals(&rows, 2)[7], "a|b");
    let reasons: Vec<(u64, RejectReason)> = rejects.iter().map(|r| (r.row, r.reason)).collect();
    assert_eq!(
        reasons,
        [
            (3, RejectReason::InvalidJson),
            (4, RejectReason::NotAnObject)
        ]
    );
    let bad = &data[rejects[0].offset as usize..(rejects[0].offset + rejects[0].len) as usize];
    assert_eq!(bad, b"not json");
    assert_read_back(&f, &rows);
}

#[test]
fn json_extension_holding_json_lines() {
    let f = open_bytes(b"{\"a\":1}\n{\"a\":2}\n", "export.json", 1 << 20);
    assert_eq!(f.format(), Format::JsonLines);
    assert_eq!(collect(&f).0.len(), 2);
}

const MYSQL: &str = r"-- MySQL dump
/*!40101 SET NAMES utf8 */;
CREATE TABLE `residents` (
  `id` int NOT NULL,
  `name` varchar(50) DEFAULT 'a,b',
  `note` text,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
INSERT INTO `residents` VALUES (1,'O\'Brien','it''s; done'),(2,'back\\slash','new\nline'),(3,NULL,'x');
INSERT INTO `payments` (`resident_id`, `amount`) VALUES (1, 10.5),(2, -3);
INSERT INTO `residents` VALUES (4,'short');
INSERT INTO `residents` VALUES (5,'Zoë','z');
";

#[test]
fn mysql_inserts_with_escapes_nulls_and_several_tables() {
    let f = open_bytes(MYSQL.as_bytes(), "archive.sql", 1 << 20);
    assert_eq!(f.format(), Format::Sql);
    let names: Vec<&str> = f.datasets().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["archive.sql#residents", "archive.sql#payments"]);
    assert_eq!(f.datasets()[0].columns, ["id", "name", "note"]);
    assert_eq!(f.datasets()[1].columns, ["resident_id", "amount"]);
    let (rows, rejects) = assert_chunking_invariant(MYSQL.as_bytes(), "archive.sql");
    assert_eq!(vals(&rows, 0), ["1", "O'Brien", "it's; done"]);
    assert_eq!(vals(&rows, 1), ["2", "back\\slash", "new\nline"]);
    assert_eq!(vals(&rows, 2), ["3", "", "x"]);
    assert_eq!(rows[2].4[1].len(), 0, "NULL is no value at all");
    assert_eq!(
        (rows[3].0, rows[3].1),
        (0, 5),
        "row 4 was rejected but keeps its number"
    );
    assert_eq!(vals(&rows, 3), ["5", "Zoë", "z"]);
    assert_eq!(vals(&rows, 5), ["2", "-3"]);
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        (rejects[0].dataset, rejects[0].row, rejects[0].reason),
        (0, 4, RejectReason::FieldCount)
    );
    let at = MYSQL.find("(4,'short')").expect("tuple in dump") as u64;
    assert_eq!((rejects[0].offset, rejects[0].len), (at, 11));
    assert_read_back(&f, &rows);
}

const PG: &str = "SET standard_conforming_strings = on;\n\
CREATE TABLE public.tenants (\n    id integer,\n    full_name text,\n    note text\n);\n\
COPY public.tenants (id, full_name, note) FROM stdin;\n\
1\tSi\\303\\242n Evans\t\\N\n\
2\tBill\\tSmith\tback\\\\slash\\nx\n\
3\ttoo few\n\
\\.\n\
COPY public.empty (a) FROM stdin;\n\
\\.\n";

#[test]
fn pg_dump_copy_blocks() {
    let f = open_bytes(PG.as_bytes(), "pg.sql", 1 << 20);
    assert_eq!(f.format(), Format::PgCopy);
    assert_eq!(f.datasets()[0].name, "pg.sql#tenants");
    assert_eq!(f.datasets()[1].name, "pg.sql#empty");
    let (rows, rejects) = assert_chunking_invariant(PG.as_bytes(), "pg.sql");
    assert_eq!(vals(&rows, 0), ["1", "Siân Evans", ""]);
    assert_eq!(vals(&rows, 1), ["2", "Bill\tSmith", "back\\slash\nx"]);
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        (rejects[0].row, rejects[0].reason),
        (3, RejectReason::FieldCount)
    );
    assert_read_back(&f, &rows);
}

#[test]
fn gzip_by_extension_and_by_magic_bytes() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let plain = b"name,email\nJane,j@example.com\nBill,b@example.com\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(plain)?;
    let gz = gz.finish()?;
    std::fs::write(dir.path().join("people.csv.gz"), &gz)?;
    std::fs::write(dir.path().join("sneaky.csv"), &gz)?;
    let scratch = dir.path().join("index");
    let found = discover(&[dir.path().to_path_buf()])?;
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["people.csv", "sneaky.csv"]);
    let reference = collect(&open_bytes(plain, "people.csv", 1 << 20));
    for (path, name) in &found {
        let f = SourceFile::open(path, name, Some(&scratch))?;
        assert_eq!(f.datasets()[0].name, *name);
        assert!(
            f.path().starts_with(&scratch),
            "decompressed into the scratch directory"
        );
        assert_eq!(f.len_bytes(), plain.len() as u64);
        assert_eq!(collect(&f), reference);
        let in_memory = SourceFile::open(path, name, None)?;
        assert_eq!(collect(&in_memory), reference);
    }
    // Opening again reuses the decompressed copy.
    let copies = || std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
    let before = copies();
    let again = SourceFile::open(&found[0].0, &found[0].1, Some(&scratch))?;
    assert_eq!(copies(), before);
    assert_eq!(collect(&again), reference);
    // A stream cut short keeps what it holds, with a warning.
    let mut long = Vec::new();
    for i in 0..20_000 {
        writeln!(long, "p{i},p{i}@example.com")?;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"name,email\n")?;
    enc.write_all(&long)?;
    let long_gz = enc.finish()?;
    let cut = dir.path().join("cut.csv.gz");
    std::fs::write(&cut, &long_gz[..long_gz.len() / 2])?;
    for scratch in [None, Some(scratch.as_path())] {
        let f = SourceFile::open(&cut, "cut.csv", scratch)?;
        assert!(
            f.warnings().iter().any(|w| w.contains("cut short")),
            "{:?}",
            f.warnings()
        );
        let (rows, _) = collect(&f);
        assert!(rows.len() > 100 && rows.len() < 20_000, "{}", rows.len());
    }
    // Not gzip at all.
    let bad = dir.path().join("broken.csv.gz");
    std::fs::write(&bad, b"\x1f\x8bnot really gzip")?;
    let err = SourceFile::open(&bad, "broken.csv", Some(&scratch)).unwrap_err();
    assert!(err.to_string().contains("gzip"), "{err}");
    Ok(())
}

#[test]
fn empty_and_missing_files() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "")?;
    let f = SourceFile::open(&empty, "empty.csv", None)?;
    assert!(f.is_empty());
    assert_eq!(f.datasets().len(), 1);
    let out = f.scan(|| (), |_, _| {});
    assert_eq!(out.rows(0), 0);
    let report = survey(std::slice::from_ref(&f), &Overrides::new());
    assert!(report[0].to_string().contains("warning: empty file"));
    for name in ["empty.jsonl", "empty.sql"] {
        std::fs::write(dir.path().join(name), "")?;
        assert!(SourceFile::open(&dir.path().join(name), name, None)?.is_empty());
    }
    let err = SourceFile::open(&dir.path().join("gone.csv"), "gone.csv", None).unwrap_err();
    assert!(err.to_string().contains("gone.csv"), "{err}");
    Ok(())
}

#[test]
fn truncated_files() {
    // A CSV cut inside a quoted field: the last row is rejected, the rest read.
    let data = b"a,b\n1,2\n3,\"cut off he";
    let (rows, rejects) = assert_chunking_invariant(data, "t.csv");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rejects[0].row, rejects[0].offset, rejects[0].reason),
        (2, 8, RejectReason::UnterminatedQuote)
    );
    // An SQL dump cut inside a statement.
    let data = b"INSERT INTO t (a,b) VALUES (1,'x'),(2,'y'),(3,'trunc";
    let (rows, rejects) = assert_chunking_invariant(data, "t.sql");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rejects[0].row, rejects[0].reason),
        (3, RejectReason::TruncatedStatement)
    );
    // A COPY block with no end marker and a cut last line.
    let data = b"COPY t (a, b) FROM stdin;\n1\t2\n3";
    let (rows, rejects) = assert_chunking_invariant(data, "t.sql");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rejects[0].row, rejects[0].reason),
        (2, RejectReason::TruncatedStatement)
    );
}

#[test]
fn over_long_fields_both_sides_of_the_limit() {
    let big = "x".repeat(10 << 20);
    for (name, data) in [
        ("big.csv", format!("a,b\n1,{big}\n2,ok\n")),
        (
            "big.jsonl",
            format!("{{\"a\":\"1\",\"b\":\"{big}\"}}\n{{\"a\":\"2\",\"b\":\"ok\"}}\n"),
        ),
        (
            "big.sql",
            format!("INSERT INTO t (a,b) VALUES ('1','{big}'),('2','ok');"),
        ),
    ] {
        let strict =
            SourceFile::from_bytes(data.clone().into_bytes(), name, &ReadOptions::default())
                .expect("opens");
        let (rows, rejects) = collect(&strict);
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].1, 2, "{name}");
        assert_eq!(
            (rejects[0].row, rejects[0].reason),
            (1, RejectReason::FieldTooLong),
            "{name}"
        );
        let lenient = ReadOptions {
            max_field_bytes: 16 << 20,
            ..ReadOptions::default()
        };
        let f = SourceFile::from_bytes(data.into_bytes(), name, &lenient).expect("opens");
        let (rows, rejects) = collect(&f);
        assert!(rejects.is_empty(), "{name}");
        assert_eq!(rows[0].4[1][0].len(), 10 << 20, "{name}");
    }
}

#[test]
fn wrong_field_counts_are_counted_with_rows_and_offsets() {
    let data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12,\n13,14,15\n";
    let (rows, rejects) = assert_chunking_invariant(data, "w.csv");
    let numbers: Vec<u64> = rows.iter().map(|r| r.1).collect();
    // A trailing empty field is tolerated, and so is a row whose trailing fields
    // were left off (read with them empty); more fields than the header are not.
    assert_eq!(numbers, [1, 2, 4, 5]);
    assert_eq!(vals(&rows, 1), ["4", "5", ""]);
    let got: Vec<(u64, u64, u64)> = rejects.iter().map(|r| (r.row, r.offset, r.len)).collect();
    assert_eq!(got, [(3, 16, 7)]);
    let f = open_bytes(data, "w.csv", 4);
    let out = f.scan(|| (), |_, _| {});
    assert_eq!(out.rows(0), 5);
    assert_eq!(out.good_rows(0), 4);
    assert_eq!(out.short_rows(0), 1);
    assert_eq!(out.rejects_by_reason(0), [(RejectReason::FieldCount, 1)]);
}

#[test]
fn read_record_refuses_what_is_not_a_record() {
    let f = open_bytes(b"a,b\n1,2\n3,4\n", "r.csv", 1 << 20);
    assert!(f.read_record(0, 8, 3).is_ok());
    assert!(f.read_record(0, 8, 2).is_err());
    assert!(f.read_record(0, 100, 3).is_err());
    assert!(f.read_record(1, 8, 3).is_err());
    let err = f.read_record(0, 9, 3).unwrap_err().to_string();
    assert!(err.contains("changed since it was indexed"), "{err}");
    let j = open_bytes(b"{\"a\":{\"b\":1}}\n", "r.jsonl", 1 << 20);
    assert!(j.read_record(0, 0, 13).is_ok());
    assert!(
        j.read_record(0, 5, 7).is_err(),
        "an inner object is not a record"
    );
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples")
}

#[test]
fn sample_archive_survey_maps_realistic_headers() -> Result<(), Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    for (path, name) in discover(&[samples_dir()])? {
        files.push(SourceFile::open(&path, &name, None)?);
    }
    let mut overrides = Overrides::new();
    overrides.add_map("notes=ignore")?;
    let reports = survey(&files, &overrides);
    let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "archive.sql#residents",
            "archive.sql#payments",
            "benefits_claims.jsonl",
            "council_tax_2006.csv",
            "pg_archive.sql#tenants"
        ]
    );
    let kind = |ds: &str, col: &str| {
        let r = reports.iter().find(|r| r.name == ds).expect("dataset");
        let m = r.mapping.iter().find(|m| m.column == col).expect("column");
        (m.kind, m.origin)
    };
    use FieldKind::*;
    assert_eq!(
        kind("council_tax_2006.csv", "Account Ref"),
        (Some(AccountRef), Origin::Header)
    );
    assert_eq!(kind("council_tax_2006.csv", "Title"), (None, Origin::None));
    assert_eq!(
        kind("council_tax_2006.csv", "Balance"),
        (None, Origin::None)
    );
    assert_eq!(
        kind("council_tax_2006.csv", "D.O.B"),
        (Some(Dob), Origin::Header)
    );
    assert_eq!(
        kind("council_tax_2006.csv", "E-mail Address"),
        (Some(Email), Origin::Header)
    );
    assert_eq!(
        kind("council_tax_2006.csv", "Date Opened"),
        (Some(RecordDate), Origin::Header)
    );
    assert_eq!(
        kind("benefits_claims.jsonl", "claimant.name.first"),
        (Some(FirstName), Origin::Header)
    );
    assert_eq!(
        kind("benefits_claims.jsonl", "contact.phones"),
        (Some(Phone), Origin::Header)
    );
    assert_eq!(
        kind("benefits_claims.jsonl", "address.line1"),
        (Some(Address), Origin::Header)
    );
    assert_eq!(
        kind("benefits_claims.jsonl", "claim_no"),
        (Some(AccountRef), Origin::Header)
    );
    assert_eq!(
        kind("benefits_claims.jsonl", "notes"),
        (Some(Ignore), Origin::Given)
    );
    assert_eq!(
        kind("archive.sql#residents", "notes"),
        (Some(Ignore), Origin::Given)
    );
    assert_eq!(
        kind("archive.sql#payments", "sort_code"),
        (Some(SortCode), Origin::Header)
    );
    assert_eq!(
        kind("pg_archive.sql#tenants", "tenancy_start"),
        (Some(RecordDate), Origin::Header)
    );
    let csv = reports
        .iter()
        .find(|r| r.name == "council_tax_2006.csv")
        .expect("csv");
    assert_eq!(csv.rows, 4);
    let claims = reports
        .iter()
        .find(|r| r.name == "benefits_claims.jsonl")
        .expect("jsonl");
    assert_eq!(
        (claims.rows, claims.rejects.clone()),
        (4, vec![(RejectReason::InvalidJson, 1)])
    );
    let text = claims.to_string();
    assert!(
        text.contains("benefits_claims.jsonl: jsonl, utf-8"),
        "{text}"
    );
    assert!(text.contains("1 rejected: 1 invalid JSON"), "{text}");
    assert!(
        text.contains("contact.phones") && text.contains("phone (header)"),
        "{text}"
    );
    assert!(text.contains("other:amount"), "{text}");
    Ok(())
}

#[test]
fn threads_do_not_change_anything_on_the_sample_archive() -> Result<(), Box<dyn std::error::Error>>
{
    for (path, name) in discover(&[samples_dir()])? {
        let bytes = std::fs::read(&path)?;
        let (rows, _) = assert_chunking_invariant(&bytes, &name);
        assert!(!rows.is_empty(), "{name}");
        assert_read_back(&open_bytes(&bytes, &name, 7), &rows);
    }
    Ok(())
}

/// Header names: letters only, so the first row is always taken as a header.
fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z]{1,8}"
}

/// Values full of what makes CSV hard (no other delimiter characters, so the
/// sniffer's choice is unambiguous).
fn value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\"".to_string()),
            Just(",".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just(" ".to_string()),
            Just("é".to_string()),
            "[a-z0-9]{1,4}",
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    (2usize..5).prop_flat_map(|n| {
        (
            proptest::collection::vec(header_name(), n),
            proptest::collection::vec(proptest::collection::vec(value(), n), 0..30),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random CSV written by the csv crate reads back as the csv crate reads it,
    /// whatever the chunk size.
    #[test]
    fn random_csv_matches_the_csv_crate((header, records) in table(), chunk in 1usize..200) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&header).expect("write");
        for r in &records {
            w.write_record(r).expect("write");
        }
        let bytes = w.into_inner().expect("flush");
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
        let expected: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.expect("csv crate reads its own output").iter().map(str::to_string).collect())
            .collect();
        let f = with_threads(4, || open_bytes(&bytes, "p.csv", chunk));
        prop_assert_eq!(&f.datasets()[0].columns, &header);
        let (rows, rejects) = with_threads(4, || collect(&f));
        prop_assert!(rejects.is_empty());
        let got: Vec<Vec<String>> = rows.iter().map(|r| r.4.iter().map(|v| v.concat()).collect()).collect();
        prop_assert_eq!(got, expected);
        let numbers: Vec<u64> = rows.iter().map(|r| r.1).collect();
        prop_assert_eq!(numbers, (1..=records.len() as u64).collect::<Vec<_>>());
        assert_read_back(&f, &rows);
    }

    /// Arbitrary bytes never panic any reader, and chunking never changes results.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(
        prop_oneof![
            Just(b'"'), Just(b','), Just(b'\n'), Just(b'\r'), Just(b'\t'), Just(b'\''), Just(b'\\'),
            Just(b'('), Just(b')'), Just(b';'), Just(b'{'), Just(b'}'), Just(b':'), Just(b'['),
            any::<u8>(), b'a'..=b'z',
        ],
        0..300,
    ), chunk in 1usize..64) {
        for name in ["g.csv", "g.jsonl", "g.sql"] {
            // Binary-looking bytes (a NUL, many control bytes) are refused whole.
            if let Err(e) = SourceFile::from_bytes(bytes.clone(), name, &options(usize::MAX)) {
                let e = e.to_string();
                prop_assert!(e.contains("is not text") || e.contains("UTF-16"), "{}", e);
                continue;
            }
            let one = collect(&open_bytes(&bytes, name, usize::MAX));
            let f = open_bytes(&bytes, name, chunk);
            let many = collect(&f);
            prop_assert_eq!(&many, &one, "{}", name);
            assert_read_back(&f, &many.0);
        }
    }

    /// SQL prefixed to garbage: statements with random tuples never panic either.
    #[test]
    fn random_sql_tuples_never_panic(body in "[(),'\"\\\\a-z0-9 ;N\n]{0,200}", chunk in 1usize..64) {
        let sql = format!("CREATE TABLE t (a int, b text);\nINSERT INTO t VALUES {body}\nCOPY u (x) FROM stdin;\n{body}\n");
        let one = collect(&open_bytes(sql.as_bytes(), "r.sql", usize::MAX));
        let f = open_bytes(sql.as_bytes(), "r.sql", chunk);
        let many = collect(&f);
        prop_assert_eq!(&many, &one);
        assert_read_back(&f, &many.0);
    }
}

#[test]
#[ignore = "prints the survey of data/samples for a human to read"]
fn show_sample_survey() -> Result<(), Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    for (path, name) in discover(&[samples_dir()])? {
        files.push(SourceFile::open(&path, &name, None)?);
    }
    for r in survey(&files, &Overrides::new()) {
        print!("{r}");
    }
    Ok(())
}

/// A file reopened from its saved layout (what an index keeps) re-reads every record
/// exactly as the full open did, for every format, without scanning it again.
#[test]
fn reopen_from_saved_layout_reads_the_same_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples");
    for name in [
        "archive.sql",
        "benefits_claims.jsonl",
        "council_tax_2006.csv",
        "pg_archive.sql",
    ] {
        let path = samples.join(name);
        let full = SourceFile::open(&path, name, None).expect("sample opens");
        let (rows, _) = collect(&full);
        assert!(!rows.is_empty(), "{name} has records");
        // The layout survives a JSON round trip, as the index stores it.
        let json = serde_json::to_string(&full.layout()).expect("layout serialises");
        let saved: leakscope::source::FileLayout =
            serde_json::from_str(&json).expect("layout deserialises");
        let again = SourceFile::reopen(&path, name, &saved).expect("reopens");
        assert_eq!(again.datasets(), full.datasets(), "{name}");
        assert_eq!(again.format(), full.format(), "{name}");
        assert_read_back(&again, &rows);

        // A file that changed size is refused rather than misread.
        let copy = dir.path().join(name);
        let mut bytes = std::fs::read(&path).expect("sample reads");
        bytes.extend_from_slice(b"\n");
        std::fs::write(&copy, bytes).expect("copy writes");
        let err = SourceFile::reopen(&copy, name, &saved).expect_err("changed file refused");
        assert!(err.to_string().contains("changed"), "{err}");
    }
}
