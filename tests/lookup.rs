//! `leakscope lookup` end to end: a synthetic archive is generated and indexed once
//! per test run, then each test asks the binary about one person. The people are
//! picked from the archive's own files (the truth and the dump records), never from
//! what the engine answers, so a test fails when the engine is wrong.

use leakscope::field::FieldKind;
use leakscope::index::build::{self, BuildOptions};
use leakscope::normalize::{Date, Person, name};
use leakscope::source::{Overrides, SourceFile, discover, map_dataset};
use leakscope::synth::{self, GenConfig};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One dump record, normalised, and its raw values by kind.
struct Record {
    person: Person,
    raw: Vec<(FieldKind, String)>,
}

struct Archive {
    index: PathBuf,
    /// Exposed residents' records, as `(dataset, row)`, by resident id.
    truth: Vec<(String, Vec<(String, u64)>)>,
    records: HashMap<(String, u64), Record>,
}

impl Archive {
    fn record(&self, dataset: &str, row: u64) -> &Record {
        match self.records.get(&(dataset.to_string(), row)) {
            Some(r) => r,
            None => panic!("no record {dataset}:{row} in the dump"),
        }
    }

    /// Every exposed resident's records.
    fn exposed(&self) -> impl Iterator<Item = (&str, Vec<(&str, u64, &Record)>)> {
        self.truth.iter().map(|(id, recs)| {
            let records = recs
                .iter()
                .map(|(d, r)| (d.as_str(), *r, self.record(d, *r)))
                .collect();
            (id.as_str(), records)
        })
    }
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Generates and indexes an archive of `records` records in `dir`.
fn make_archive(dir: &Path, records: u64) -> Archive {
    let _ = std::fs::remove_dir_all(dir);
    let cfg = GenConfig {
        records,
        register: GenConfig::default_register(records),
        ..GenConfig::default()
    };
    let generated = must(synth::generate(&cfg, dir), "generate");
    let index = dir.join("index");
    let opts = BuildOptions {
        force: true,
        ..BuildOptions::default()
    };
    must(
        build::build(
            std::slice::from_ref(&generated.dump_dir),
            &index,
            &opts,
            &|_, _| {},
        ),
        "build",
    );

    let mut records = HashMap::new();
    for (path, name) in must(
        discover(std::slice::from_ref(&generated.dump_dir)),
        "discover",
    ) {
        let file = must(SourceFile::open(&path, &name, None), "open dump");
        let kinds: Vec<Vec<Option<FieldKind>>> = file
            .datasets()
            .iter()
            .enumerate()
            .map(|(d, info)| {
                map_dataset(
                    &info.name,
                    &info.columns,
                    &file.sample(d, 200),
                    &Overrides::default(),
                )
                .iter()
                .map(|m| m.kind)
                .collect()
            })
            .collect();
        let out = file.scan(
            Vec::new,
            |found: &mut Vec<(usize, usize, u64, Record)>, rec| {
                let Some(kinds) = kinds.get(rec.dataset) else {
                    return;
                };
                let mut person = Person::default();
                person.fill_from(kinds, rec.fields);
                let raw = kinds
                    .iter()
                    .enumerate()
                    .filter_map(|(c, k)| Some(((*k)?, rec.fields.get(c).to_string())))
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                found.push((
                    rec.dataset,
                    rec.chunk,
                    rec.local_row,
                    Record { person, raw },
                ));
            },
        );
        let keys: Vec<(String, u64)> = out
            .states
            .iter()
            .flatten()
            .map(|(d, chunk, local, _)| {
                let name = file.datasets()[*d].name.clone();
                (name, out.row(*d, *chunk, *local))
            })
            .collect();
        let rows = keys
            .into_iter()
            .zip(out.states.into_iter().flatten().map(|(_, _, _, r)| r));
        records.extend(rows);
    }

    let text = must(std::fs::read_to_string(&generated.truth_path), "truth");
    let truth = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut parts = line.splitn(3, ',');
            let id = parts.next()?.to_string();
            if parts.next()? != "true" {
                return None;
            }
            let recs = parts
                .next()?
                .split(';')
                .filter_map(|r| {
                    let (d, row) = r.rsplit_once(':')?;
                    Some((d.to_string(), row.parse().ok()?))
                })
                .collect();
            Some((id, recs))
        })
        .collect();
    Archive {
        index,
        truth,
        records,
    }
}

fn archive() -> &'static Archive {
    static ARCHIVE: OnceLock<Archive> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("lookup-archive-{}", std::process::id()));
        make_archive(&dir, 3000)
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args`.
fn leakscope<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> Run {
    let out = must(
        Command::new(env!("CARGO_BIN_EXE_leakscope"))
            .args(args)
            .output(),
        "run leakscope",
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn lookup(index: &Path, args: &[&str]) -> Run {
    let head = [
        OsStr::new("lookup"),
        OsStr::new("--index"),
        index.as_os_str(),
    ];
    leakscope(head.into_iter().chain(args.iter().map(OsStr::new)))
}

fn json(run: &Run) -> serde_json::Value {
    must(serde_json::from_str(&run.stdout), "lookup --json output")
}

fn matched(value: &serde_json::Value) -> Vec<(String, u64)> {
    value["matches"]
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

fn raw_of(record: &Record, kind: FieldKind) -> Option<&str> {
    record
        .raw
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.as_str())
}

fn ymd(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day, d.month, d.year)
}

#[test]
fn exposed_by_email_alone() {
    let a = archive();
    // Someone whose email is in one of their records and in no one else's.
    let (records, email) = a
        .exposed()
        .find_map(|(_, recs)| {
            let email = recs
                .iter()
                .find_map(|(_, _, r)| r.person.identifiers_of(FieldKind::Email).next())?;
            let holders = a
                .records
                .values()
                .filter(|r| {
                    r.person
                        .identifiers_of(FieldKind::Email)
                        .any(|e| e == email)
                })
                .count();
            let own = recs
                .iter()
                .filter(|(_, _, r)| {
                    r.person
                        .identifiers_of(FieldKind::Email)
                        .any(|e| e == email)
                })
                .count();
            (holders == own).then(|| (recs, email.to_uppercase()))
        })
        .unwrap_or_else(|| panic!("no resident with an email"));
    let run = lookup(&a.index, &["--email", &email, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["verdict"], "exposed");
    for m in matched(&v) {
        assert!(
            records
                .iter()
                .any(|(d, r, _)| (*d, *r) == (m.0.as_str(), m.1)),
            "{m:?} is not the resident's"
        );
    }
    assert!(!matched(&v).is_empty());
}

#[test]
fn exposed_by_phone_in_another_format() {
    let a = archive();
    let (records, national) = a
        .exposed()
        .find_map(|(_, recs)| {
            let phone = recs.iter().find_map(|(_, _, r)| {
                r.person
                    .identifiers_of(FieldKind::Phone)
                    .find(|p| p.starts_with("+447"))
            })?;
            Some((recs, phone.trim_start_matches("+44").to_string()))
        })
        .unwrap_or_else(|| panic!("no resident with a mobile"));
    // `+447911123456` asked as `(07911) 123-456`.
    let (a5, b) = national.split_at(4);
    let asked = format!("(0{a5}) {}-{}", &b[..3], &b[3..]);
    let run = lookup(&a.index, &["--phone", &asked, "--json"]);
    assert_eq!(run.code, 0, "{asked}: {}", run.stderr);
    let v = json(&run);
    assert_eq!(v["verdict"], "exposed");
    let found = matched(&v);
    assert!(
        found.iter().any(|m| records
            .iter()
            .any(|(d, r, _)| (*d, *r) == (m.0.as_str(), m.1))),
        "{found:?}"
    );
}

/// A formal name and a nickname of it, from the shared nickname table.
const NICKNAMES: &[(&str, &str)] = &[
    ("william", "Bill"),
    ("robert", "Bob"),
    ("michael", "Mike"),
    ("thomas", "Tom"),
    ("james", "Jim"),
    ("elizabeth", "Liz"),
    ("margaret", "Peggy"),
    ("richard", "Dick"),
    ("edward", "Ted"),
    ("david", "Dave"),
    ("katherine", "Kate"),
    ("jennifer", "Jenny"),
    ("daniel", "Danny"),
    ("joseph", "Joe"),
    ("matthew", "Matt"),
    ("christopher", "Chris"),
];

#[test]
fn exposed_by_name_and_dob_with_nickname_and_typo() {
    let a = archive();
    let found = a.exposed().find_map(|(_, recs)| {
        recs.iter().find_map(|(d, row, r)| {
            let p = &r.person;
            let first = p.first_names.first()?;
            // A nickname of one name only, keyed under it like the formal name.
            let (_, nick) = NICKNAMES.iter().find(|(formal, nick)| {
                formal == first && name::given_key(&nick.to_lowercase()) == *formal
            })?;
            let last = p
                .last_names
                .first()
                .filter(|l| l.len() >= 6 && l.is_ascii())?;
            let dob = *p.dobs.first()?;
            Some((d.to_string(), *row, nick.to_string(), last.clone(), dob))
        })
    });
    let Some((dataset, row, nick, last, dob)) = found else {
        panic!("no resident with a formal first name and a date of birth");
    };
    // One letter of the family name mistyped.
    let mut typo: Vec<char> = last.chars().collect();
    typo[3] = if typo[3] == 'x' { 'y' } else { 'x' };
    let typo: String = typo.into_iter().collect();
    let run = lookup(
        &a.index,
        &[
            "--first-name",
            &nick,
            "--last-name",
            &typo,
            "--dob",
            &ymd(dob),
            "--json",
        ],
    );
    assert_eq!(
        run.code,
        0,
        "{nick} {typo} {} ({dataset}:{row}) {}{}",
        ymd(dob),
        run.stdout,
        run.stderr
    );
    let v = json(&run);
    assert_eq!(v["verdict"], "exposed", "{v}");
    let m = v["matches"]
        .as_array()
        .and_then(|ms| {
            ms.iter()
                .find(|m| m["dataset"] == dataset.as_str() && m["row"] == row)
        })
        .unwrap_or_else(|| panic!("{dataset}:{row} not in {v}"));
    let explanation = m["explanation"].as_str().unwrap_or_default();
    assert!(explanation.contains("first_name nickname"), "{explanation}");
    assert!(
        explanation.contains("last_name fuzzy") || explanation.contains("last_name phonetic"),
        "{explanation}"
    );
    // The human output says the same, at a glance.
    let human = lookup(
        &a.index,
        &[
            "--first-name",
            &nick,
            "--last-name",
            &typo,
            "--dob",
            &ymd(dob),
        ],
    );
    assert!(human.stdout.starts_with("EXPOSED"), "{}", human.stdout);
    assert!(
        human.stdout.contains("first_name nickname"),
        "{}",
        human.stdout
    );
}

/// A record with first name, family name, date of birth and postcode.
fn full_record(a: &Archive) -> &Record {
    a.exposed()
        .flat_map(|(_, recs)| recs.into_iter().map(|(_, _, r)| r))
        .find(|r| {
            let p = &r.person;
            !p.first_names.is_empty()
                && !p.last_names.is_empty()
                && !p.dobs.is_empty()
                && !p.postcodes.is_empty()
                && raw_of(r, FieldKind::Postcode).is_some()
        })
        .unwrap_or_else(|| panic!("no full record"))
}

#[test]
fn twin_and_namesake_are_not_exposed() {
    let a = archive();
    let r = full_record(a);
    let p = &r.person;
    let (last, dob) = (&p.last_names[0], p.dobs[0]);
    let postcode = raw_of(r, FieldKind::Postcode).unwrap_or_default();
    // A twin: same family name, birth date and home, another given name.
    let twin = lookup(
        &a.index,
        &[
            "--first-name",
            "Zebedee",
            "--last-name",
            last,
            "--dob",
            &ymd(dob),
            "--postcode",
            postcode,
            "--json",
        ],
    );
    assert!(twin.code == 0 || twin.code == 1, "{}", twin.stderr);
    assert_ne!(json(&twin)["verdict"], "exposed", "{}", twin.stdout);
    // A namesake: same name, born twenty years later, living elsewhere.
    let later = Date {
        year: dob.year + 20,
        ..dob
    };
    let namesake = lookup(
        &a.index,
        &[
            "--first-name",
            &p.first_names[0],
            "--last-name",
            last,
            "--dob",
            &ymd(later),
            "--postcode",
            "ZE2 9XX",
            "--json",
        ],
    );
    assert_ne!(json(&namesake)["verdict"], "exposed", "{}", namesake.stdout);
}

#[test]
fn stranger_is_not_found_with_exit_1() {
    let a = archive();
    let run = lookup(
        &a.index,
        &[
            "--name",
            "Quentin Xylophone-Zabriskie",
            "--dob",
            "29/02/1904",
            "--email",
            "qxz@nowhere.invalid",
        ],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("NOT FOUND"), "{}", run.stdout);
    let v = json(&lookup(
        &a.index,
        &["--email", "qxz@nowhere.invalid", "--json"],
    ));
    assert_eq!(v["verdict"], "not_found");
    assert_eq!(v["matches"].as_array().map(Vec::len), Some(0));
}

#[test]
fn details_that_form_no_key_are_an_error_not_a_not_found() {
    // A family name alone (however many records bear it) or a first name alone
    // cannot be looked up: "not found" would tell the caseworker the resident is
    // safe when nothing was searched.
    let a = archive();
    let (_, records) = a
        .exposed()
        .next()
        .unwrap_or_else(|| panic!("an exposed resident"));
    let Some(last) = records
        .iter()
        .find_map(|(_, _, r)| raw_of(r, FieldKind::LastName))
    else {
        panic!("a record with a last name");
    };
    for args in [&["--last-name", last][..], &["--first-name", "Sarah"][..]] {
        let run = lookup(&a.index, args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("nothing to search on") && run.stdout.is_empty(),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains(last), "the value is not echoed");
    }
}

#[test]
fn a_date_of_birth_in_the_future_is_ignored_with_a_warning() {
    // Typed for a real resident, a future date of birth would count against her.
    let a = archive();
    let rec = full_record(a);
    let (Some(first), Some(last)) = (
        raw_of(rec, FieldKind::FirstName),
        raw_of(rec, FieldKind::LastName),
    ) else {
        panic!("a record with names");
    };
    let without = json(&lookup(
        &a.index,
        &["--first-name", first, "--last-name", last, "--json"],
    ));
    for dob in ["03/04/2150", "03/04/2099", "1850-01-01"] {
        let args = [
            "--first-name",
            first,
            "--last-name",
            last,
            "--dob",
            dob,
            "--json",
        ];
        let run = lookup(&a.index, &args);
        assert!(
            run.stderr
                .contains("--dob (a date of birth in the future or before 1880)"),
            "{dob}: {}",
            run.stderr
        );
        assert_eq!(json(&run)["score"], without["score"], "{dob}");
    }
}

#[test]
fn json_has_the_contract_shape() {
    let a = archive();
    let r = full_record(a);
    let p = &r.person;
    let run = lookup(
        &a.index,
        &[
            "--first-name",
            &p.first_names[0],
            "--last-name",
            &p.last_names[0],
            "--dob",
            &ymd(p.dobs[0]),
            "--json",
        ],
    );
    let v = json(&run);
    let object = v.as_object().unwrap_or_else(|| panic!("{v}"));
    for key in ["verdict", "score", "data_classes", "matches"] {
        assert!(object.contains_key(key), "{key} missing: {v}");
    }
    assert!(["exposed", "possible"].contains(&v["verdict"].as_str().unwrap_or_default()));
    assert!(
        v["score"]
            .as_f64()
            .is_some_and(|s| (0.5..=1.0).contains(&s))
    );
    let first = &v["matches"][0];
    for key in ["dataset", "row", "score", "agreed", "data_classes"] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert!(
        first["agreed"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "dob"))
    );
    let classes = v["data_classes"].as_array().cloned().unwrap_or_default();
    assert!(classes.iter().any(|c| c == "dob"), "{v}");
    // Sorted, as promised.
    let names: Vec<&str> = classes.iter().filter_map(|c| c.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn scope_narrows_to_one_dataset() {
    let a = archive();
    // A resident with records in two datasets, and a name and birth date in both.
    let (records, query) = a
        .exposed()
        .find_map(|(_, recs)| {
            let mut datasets: Vec<&str> = recs.iter().map(|(d, _, _)| *d).collect();
            datasets.sort();
            datasets.dedup();
            if datasets.len() < 2 {
                return None;
            }
            let email = recs
                .iter()
                .flat_map(|(_, _, r)| r.person.identifiers_of(FieldKind::Email))
                .next()?
                .to_string();
            Some((recs, email))
        })
        .unwrap_or_else(|| panic!("no resident in two datasets"));
    let all = json(&lookup(&a.index, &["--email", &query, "--json"]));
    let found = matched(&all);
    let Some((dataset, _)) = found.first() else {
        panic!("nothing found for {all}");
    };
    let scope = format!("dataset:\"{dataset}\"");
    let narrowed = json(&lookup(
        &a.index,
        &["--email", &query, "--scope", &scope, "--json"],
    ));
    let in_scope = matched(&narrowed);
    assert!(!in_scope.is_empty(), "{narrowed}");
    assert!(in_scope.iter().all(|(d, _)| d == dataset), "{in_scope:?}");
    // Leaving that dataset out leaves only the others.
    let other = format!("not {scope}");
    let rest = matched(&json(&lookup(
        &a.index,
        &["--email", &query, "--scope", &other, "--json"],
    )));
    assert!(rest.iter().all(|(d, _)| d != dataset), "{rest:?}");
    // Narrowing only removes: every record in scope was found without it, and is
    // the resident's.
    assert!(
        in_scope.iter().all(|m| found.contains(m)),
        "{in_scope:?} {found:?}"
    );
    assert!(in_scope.iter().all(|m| {
        records
            .iter()
            .any(|(d, r, _)| (*d, *r) == (m.0.as_str(), m.1))
    }));
}

#[test]
fn a_scope_naming_no_dataset_is_an_error_not_a_not_found() {
    let a = archive();
    let run = lookup(
        &a.index,
        &[
            "--email",
            "a@b.com",
            "--scope",
            "dataset:no_such_export.csv",
        ],
    );
    // A typo in the dataset would otherwise tell the caseworker "not found".
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "--scope term 'dataset:no_such_export.csv' names no dataset of this index; its datasets are "
        ) && run.stderr.contains("council_tax_2006_2014.csv"),
        "{}",
        run.stderr
    );
    // A year range with no records is an answer (nothing from then), with a warning.
    let run = lookup(
        &a.index,
        &["--email", "a@b.com", "--scope", "year:1900..1901"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: scope term 'year:1900..1901' names nothing"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_scope_exits_2_pointing_at_the_problem() {
    let a = archive();
    let run = lookup(
        &a.index,
        &["--email", "a@b.com", "--scope", "dataset:x and ("],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--scope"), "{}", run.stderr);
    assert!(run.stderr.contains("position"), "{}", run.stderr);
    let run = lookup(&a.index, &["--email", "a@b.com", "--scope", "yeer:2010"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("yeer:2010"), "{}", run.stderr);
}

#[test]
fn no_field_or_no_usable_value_exits_2() {
    let a = archive();
    let run = lookup(&a.index, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("at least one field"), "{}", run.stderr);
    let run = lookup(&a.index, &["--email", "N/A"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    // One line naming what was unusable, not a warning and then the error.
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("--email (not a usable email)"),
        "{}",
        run.stderr
    );
    let run = lookup(&a.index, &["--field", "shoe_size=9"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a field kind") && run.stderr.contains("account_ref"),
        "{}",
        run.stderr
    );
    // A slip in --field never echoes what was typed: it may be an identifier.
    for spec in ["bogus=SECRETX", "SECRETX", "SECRETX=email"] {
        let run = lookup(&a.index, &["--email", "a@b.com", "--field", spec]);
        assert_eq!(run.code, 2, "{spec}");
        assert!(run.stderr.contains("--field number 1"), "{}", run.stderr);
        assert!(!run.stderr.contains("SECRETX"), "{}", run.stderr);
    }
}

#[test]
fn a_misspelt_column_in_a_has_scope_is_an_error_listing_the_columns() {
    let a = archive();
    let run = lookup(
        &a.index,
        &["--email", "a@b.com", "--scope", "has:other:Vehicle_Reg"],
    );
    // A typo would otherwise answer not_found for everyone.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("names no column of this index")
            && run
                .stderr
                .contains("did you mean has:\"other:Vehicle Reg\"?"),
        "{}",
        run.stderr
    );
    // The column itself, quoted, is a scope; a kind no record holds is an answer.
    for scope in ["has:\"other:Vehicle Reg\"", "has:passport"] {
        let run = lookup(&a.index, &["--email", "a@b.com", "--scope", scope]);
        assert_eq!(run.code, 1, "{scope}: {}", run.stderr);
    }
    // The quoting hint names a column of the index at hand, and only when one has
    // spaces.
    let dir = must(tempfile::tempdir(), "tempdir");
    for (name, header, hint) in [
        (
            "badges",
            "Blue Badge No",
            Some("has:\"other:Blue Badge No\""),
        ),
        ("plain", "badge_no", None),
    ] {
        let index = index_of(
            &dir.path().join(name),
            &[(
                "permits.csv",
                &format!("first_name,last_name,dob,{header}\nJane,Doe,03/02/1980,BB123\n"),
            )],
        );
        let run = lookup(
            &index,
            &["--email", "a@b.com", "--scope", "has:other:Badge"],
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(!run.stderr.contains("Vehicle Reg"), "{}", run.stderr);
        assert_eq!(
            run.stderr.contains("a name with spaces is quoted"),
            hint.is_some(),
            "{}",
            run.stderr
        );
        if let Some(hint) = hint {
            assert!(run.stderr.contains(hint), "{}", run.stderr);
        }
    }
}

#[test]
fn lookup_and_match_take_the_same_thresholds() {
    let a = archive();
    for (e, p) in [("0.9", "0"), ("0.5", "0.9"), ("1.5", "0.5")] {
        let run = lookup(
            &a.index,
            &[
                "--email",
                "a@b.com",
                "--exposed-threshold",
                e,
                "--possible-threshold",
                p,
            ],
        );
        assert_eq!(run.code, 2, "{e} {p}: {}", run.stderr);
        assert!(run.stderr.contains("threshold"), "{}", run.stderr);
    }
}

#[test]
fn identifiers_are_masked_unless_revealed() {
    let a = archive();
    let email = a
        .exposed()
        .find_map(|(_, recs)| {
            recs.iter()
                .find_map(|(_, _, r)| raw_of(r, FieldKind::Email).map(str::to_string))
        })
        .unwrap_or_else(|| panic!("no email"));
    let local = email
        .split('@')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let masked = lookup(&a.index, &["--email", &email]);
    assert_eq!(masked.code, 0, "{}", masked.stderr);
    assert!(
        !masked.stdout.to_lowercase().contains(&local),
        "{}",
        masked.stdout
    );
    assert!(masked.stdout.contains("***@"), "{}", masked.stdout);
    let revealed = lookup(&a.index, &["--email", &email, "--reveal"]);
    assert!(
        revealed.stdout.to_lowercase().contains(&local),
        "{}",
        revealed.stdout
    );
}

#[test]
fn missing_dump_gives_index_only_answers_with_a_warning() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lookup-moved-{}", std::process::id()));
    let a = make_archive(&dir, 1000);
    let (_, recs) = a
        .exposed()
        .find(|(_, recs)| {
            recs.iter()
                .any(|(_, _, r)| r.person.identifiers_of(FieldKind::Email).next().is_some())
        })
        .unwrap_or_else(|| panic!("no email"));
    let email = recs
        .iter()
        .find_map(|(_, _, r)| r.person.identifiers_of(FieldKind::Email).next())
        .unwrap_or_default()
        .to_string();
    // A dump changed since the build (one byte appended to each file): its records
    // can no longer be trusted at their offsets.
    for entry in must(std::fs::read_dir(dir.join("dump")), "read dump dir") {
        let path = must(entry, "dump entry").path();
        let mut bytes = must(std::fs::read(&path), "read dump");
        bytes.push(b'\n');
        must(std::fs::write(&path, bytes), "change dump");
    }
    let changed = lookup(&a.index, &["--email", &email, "--json"]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    assert!(
        changed.stderr.contains("changed since the index was built"),
        "{}",
        changed.stderr
    );
    assert_eq!(json(&changed)["index_only"], true);
    must(
        std::fs::rename(dir.join("dump"), dir.join("dump-moved")),
        "move the dump",
    );
    let run = lookup(&a.index, &["--email", &email, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("warning: dump"), "{}", run.stderr);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
    // What is lost is said: values, and the linked records reached through them.
    assert!(
        run.stderr
            .contains("lend no identifiers to find linked records"),
        "{}",
        run.stderr
    );
    let v = json(&run);
    assert_eq!(v["verdict"], "exposed", "{v}");
    assert_eq!(v["index_only"], true);
    assert!(
        v["data_classes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x == "email"))
    );
    let human = lookup(&a.index, &["--email", &email]);
    assert!(human.stdout.contains("index alone"), "{}", human.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn records_of_sql_tables_are_read_back_from_the_dump() {
    // An SQL dump's statement table is saved packed, with checkpoints; a lookup finds
    // the statement of each record it shows from them. Revealed values prove the
    // record was read back from the dump, not judged from the index alone.
    let a = archive();
    let (email, dataset) = a
        .exposed()
        .find_map(|(_, recs)| {
            recs.iter().find_map(|(d, _, r)| {
                let email = raw_of(r, FieldKind::Email)?;
                d.contains(".sql#")
                    .then(|| (email.trim().to_string(), d.to_string()))
            })
        })
        .unwrap_or_else(|| panic!("no exposed resident with an email in an SQL table"));
    let run = lookup(&a.index, &["--email", &email, "--reveal"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(&dataset), "{}", run.stdout);
    assert!(run.stdout.contains(&email), "{}", run.stdout);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let answer = json(&lookup(&a.index, &["--email", &email, "--json"]));
    assert_eq!(
        answer["index_only"],
        serde_json::Value::Bool(false),
        "{answer}"
    );
}

#[test]
fn one_mailbox_is_found_whichever_way_it_is_written() {
    // A `+tag`, gmail's dots and googlemail.com do not change where mail goes: the
    // dump's form and the caseworker's are one address, found and scored exact.
    let dir = must(tempfile::tempdir(), "temp dir");
    let index = index_of(
        dir.path(),
        &[(
            "people.csv",
            "first_name,last_name,email\n\
             Victoria,Kumar,victoriak48578142@gmail.com\n\
             Jane,Doe,jane+council@gmail.com\n\
             Amy,Lee,amy.lee+x@outlook.com\n",
        )],
    );
    for (query, row) in [
        ("victoriak48578142+x@gmail.com", 1),
        ("victoria.k48578142@googlemail.com", 1),
        ("j.ane@gmail.com", 2),
        ("jane@gmail.com", 2),
        ("amy.lee@outlook.com", 3),
        ("amy.lee+y@outlook.com", 3),
    ] {
        let run = lookup(&index, &["--email", query, "--json"]);
        assert_eq!(run.code, 0, "{query}: {}", run.stderr);
        let v = json(&run);
        assert_eq!(
            matched(&v),
            [("people.csv".to_string(), row)],
            "{query}: {v}"
        );
        let agreed = &v["matches"][0]["agreed"];
        assert!(
            agreed
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "email")),
            "{query}: {v}"
        );
    }
    // Another provider is another mailbox.
    let other = lookup(&index, &["--email", "amy.lee@gmail.com"]);
    assert_eq!(other.code, 1, "{}", other.stdout);
}

#[test]
fn an_unusable_value_among_usable_ones_is_warned_about_not_echoed() {
    let a = archive();
    let run = lookup(
        &a.index,
        &[
            "--name",
            "Zebedee Quarrington",
            "--dob",
            "31/02/1959",
            "--email",
            "zq@",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--dob (not a usable dob): the value given is ignored"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--email (not a usable email)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--name"), "{}", run.stderr);
    assert!(!run.stderr.contains("31/02/1959") && !run.stderr.contains("zq@"));
    // A value given by --field is named as given.
    let run = lookup(
        &a.index,
        &[
            "--name",
            "Zebedee Quarrington",
            "--field",
            "email=zq@",
            "--field",
            "dob=01/01/2090",
        ],
    );
    for want in [
        "--field email= (number 1) (not a usable email)",
        "--field dob= (number 2) (a date of birth in the future or before 1880)",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("--dob"), "{}", run.stderr);
}

#[test]
fn two_given_names_in_one_lookup_are_warned_about() {
    let a = archive();
    let run = lookup(
        &a.index,
        &["--name", "Zebedee Quarrington", "--first-name", "Hannah"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: 2 different given names were given"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("family names were given"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Hannah") && !run.stderr.contains("Zebedee"));
    // One person's double-barrelled or former family name is one family name.
    for args in [
        &["--first-name", "Martha", "--last-name", "Smith-Jones"][..],
        &["--name", "Martha Smith-Jones", "--last-name", "Smith-Jones"][..],
        &["--name", "Sarah Jones (née Brown)"][..],
    ] {
        let run = lookup(&a.index, args);
        assert!(
            !run.stderr.contains("were given"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // One word in --name is a family name, and the caseworker is told.
    let run = lookup(&a.index, &["--name", "Hannah", "--dob", "01/02/1980"]);
    assert!(
        run.stderr
            .contains("--name holds one name: it is read as a family name"),
        "{}",
        run.stderr
    );
    let run = lookup(&a.index, &["--name", "Hannah Smith", "--dob", "01/02/1980"]);
    assert!(!run.stderr.contains("one name"), "{}", run.stderr);
    let run = lookup(
        &a.index,
        &["--name", "Martha Smith-Jones", "--last-name", "Brown"],
    );
    assert!(
        run.stderr
            .contains("warning: 2 different family names were given"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_index_built_under_other_key_rules_is_flagged() {
    // A value normalised differently at build and at query time is a resident
    // missed: an index built under other rules (another nickname table, an older
    // version) still answers, with a warning to rebuild it.
    let dir = must(tempfile::tempdir(), "temp dir");
    let index = index_of(
        dir.path(),
        &[(
            "people.csv",
            "first_name,last_name,email\nLiam,Oakes,liam.oakes@example.com\n",
        )],
    );
    let fresh = lookup(&index, &["--email", "liam.oakes@example.com"]);
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert!(
        !fresh.stderr.contains("normalisation rules"),
        "{}",
        fresh.stderr
    );
    let manifest = index.join("manifest.json");
    let text = must(std::fs::read_to_string(&manifest), "read manifest");
    let mut value: serde_json::Value = must(serde_json::from_str(&text), "parse manifest");
    assert!(value["key_rules"].is_string(), "{value}");
    value["key_rules"] = serde_json::Value::String("0000000000000000".into());
    must(
        std::fs::write(&manifest, value.to_string()),
        "write manifest",
    );
    let stale = lookup(&index, &["--email", "liam.oakes@example.com"]);
    assert_eq!(stale.code, 0, "{}", stale.stderr);
    assert!(
        stale.stderr.contains("other normalisation rules") && stale.stderr.contains("again"),
        "{}",
        stale.stderr
    );
}

/// Builds an index of hand-written dump files with the binary.
fn index_of(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let dump = dir.join("dump");
    must(std::fs::create_dir_all(&dump), "create dump dir");
    for (name, text) in files {
        must(std::fs::write(dump.join(name), text), "write dump file");
    }
    let index = dir.join("index");
    let run = leakscope([
        OsStr::new("index"),
        OsStr::new("--out"),
        index.as_os_str(),
        dump.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    index
}

/// Jane's council tax record (her email and mobile), and bookings: one in her name
/// with another mobile (a namesake's), one in her name with her mobile written
/// another way, and a stranger's on her mobile.
fn jane_and_her_booking(dir: &Path) -> PathBuf {
    index_of(
        dir,
        &[
            (
                "council_tax.csv",
                "Forename,Surname,D.O.B,Post Code,Tel,E-mail Address\n\
                 Jane,Featherstone,12/03/1981,SW1A 1AA,07700 900456,jane.f@example.org\n\
                 Tom,Okafor,01/01/1970,E1 6AN,020 7946 0999,tom@example.net\n",
            ),
            (
                "bookings.tsv",
                "Holder Name\tMobile\tActivity\n\
                 Jane Featherstone\t07700 900999\tGym\n\
                 JANE FEATHERSTONE\t+44 7700 900456\tSwim\n\
                 Tom Jones\t07700900456\tSquash\n",
            ),
        ],
    )
}

#[test]
fn records_holding_only_a_name_and_the_persons_phone_are_linked() {
    // The resident gives an email and a first name. Their council tax record has
    // that email and their mobile; a booking holds only their name and that mobile,
    // so the query alone cannot find it. It is found through the council tax
    // record's mobile, marked linked. The namesake's booking (another mobile) and a
    // stranger on the same mobile are not.
    let dir = must(tempfile::tempdir(), "temp dir");
    let index = jane_and_her_booking(dir.path());
    let query = ["--email", "JANE.F@example.org", "--first-name", "Jane"];
    let linked = json(&lookup(&index, &[&query[..], &["--json"]].concat()));
    assert_eq!(linked["verdict"], "exposed", "{linked}");
    assert_eq!(
        matched(&linked),
        [
            ("council_tax.csv".to_string(), 1),
            ("bookings.tsv".to_string(), 2)
        ],
        "{linked}"
    );
    let flags: Vec<bool> = linked["matches"]
        .as_array()
        .map(|m| m.iter().map(|m| m["linked"] == true).collect())
        .unwrap_or_default();
    assert_eq!(flags, [false, true], "{linked}");
    // The booking's classes join the answer's.
    let classes = linked["data_classes"].to_string();
    assert!(classes.contains("other:Activity"), "{linked}");

    let text = lookup(&index, &query);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("bookings.tsv row 2"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("(linked)"), "{}", text.stdout);
    // The phone the booking was found by is not printed: the caseworker did not
    // give it, and values stay masked.
    assert!(!text.stdout.contains("900456"), "{}", text.stdout);

    let direct = json(&lookup(
        &index,
        &[&query[..], &["--json", "--direct-only"]].concat(),
    ));
    assert_eq!(direct["verdict"], "exposed", "{direct}");
    assert_eq!(
        matched(&direct),
        [("council_tax.csv".to_string(), 1)],
        "{direct}"
    );
    assert!(
        !direct["data_classes"]
            .to_string()
            .contains("other:Activity"),
        "{direct}"
    );
    // The verdict and score say how the query itself matched, linked or not.
    assert_eq!(linked["score"], direct["score"]);

    // `match` lists the linked record too, after the direct one.
    let register = dir.path().join("register.csv");
    must(
        std::fs::write(
            &register,
            "id,email,first_name
r1,jane.f@example.org,Jane
",
        ),
        "write register",
    );
    let records = |extra: &[&str]| -> String {
        let head = [
            OsStr::new("match"),
            OsStr::new("--index"),
            index.as_os_str(),
            register.as_os_str(),
        ];
        let run = leakscope(head.into_iter().chain(extra.iter().map(OsStr::new)));
        assert_eq!(run.code, 0, "{}", run.stderr);
        let row = run.stdout.lines().nth(1).unwrap_or_default().to_string();
        row.split(',').nth(3).unwrap_or_default().to_string()
    };
    assert_eq!(records(&[]), "council_tax.csv:1;bookings.tsv:2");
    assert_eq!(records(&["--direct-only"]), "council_tax.csv:1");
}

#[test]
fn a_second_phone_in_a_json_array_is_lent_even_when_the_first_agreed() {
    // The claim's `phones` array holds the phone the caller gave and a second one;
    // the booking holds only the name and that second phone. The phone family
    // agreed exactly, but an array can hold more than the value that agreed, so the
    // claim is still read back and lends its second phone.
    let dir = must(tempfile::tempdir(), "temp dir");
    let index = index_of(
        dir.path(),
        &[
            (
                "claims.jsonl",
                "{\"claimant\":{\"first\":\"Priya\",\"last\":\"Ramaswamy\"},\"contact\":{\"email\":\"priya.r@example.org\",\"phones\":[\"07700 900111\",\"07700 900222\"]}}\n",
            ),
            (
                "bookings.tsv",
                "Holder Name\tMobile\tActivity\nPriya Ramaswamy\t07700 900222\tYoga\n",
            ),
        ],
    );
    let answer = json(&lookup(
        &index,
        &[
            "--email",
            "priya.r@example.org",
            "--phone",
            "07700900111",
            "--first-name",
            "Priya",
            "--json",
        ],
    ));
    assert_eq!(answer["verdict"], "exposed", "{answer}");
    assert_eq!(
        matched(&answer),
        [
            ("claims.jsonl".to_string(), 1),
            ("bookings.tsv".to_string(), 1)
        ],
        "{answer}"
    );
}

#[test]
fn in_a_tiny_dump_the_exact_record_outranks_a_near_miss() {
    // Five records, two of them the resident's: one with her date of birth as she
    // gives it, one with day and month swapped. Her own two records must not make
    // her name look common (two in five), or the swapped date (a fixed weight)
    // would outrank the exact one and the letter would name the wrong record.
    let dir = must(tempfile::tempdir(), "temp dir");
    let index = index_of(
        dir.path(),
        &[(
            "t.csv",
            "id,first_name,last_name,dob\n\
             1,Mary,Darcy,03/04/2005\n\
             2,Mary,Darcy,04/03/2005\n\
             3,Tom,Brown,01/01/1970\n\
             4,Ann,Green,02/02/1971\n\
             5,Bob,White,03/03/1972\n",
        )],
    );
    let query = [
        "--first-name",
        "Mary",
        "--last-name",
        "Darcy",
        "--dob",
        "03/04/2005",
        "--json",
    ];
    let answer = json(&lookup(&index, &query));
    assert_eq!(answer["verdict"], "exposed", "{answer}");
    let records = matched(&answer);
    assert_eq!(records.first(), Some(&("t.csv".to_string(), 1)), "{answer}");
    let text = answer.to_string();
    assert!(text.contains("dob exact"), "{answer}");
}

#[test]
fn a_scope_keeps_records_found_through_records_outside_it() {
    // The resident's council tax record (outside the scope) holds her email and
    // mobile; her booking (inside it) only her name and that mobile. Unscoped, the
    // booking is found through the council tax record; scoped to the bookings it
    // must still be, or scoping would lose exactly the people it is asked about.
    let dir = must(tempfile::tempdir(), "temp dir");
    let index = jane_and_her_booking(dir.path());
    let query = [
        "--email",
        "JANE.F@example.org",
        "--first-name",
        "Jane",
        "--scope",
        "dataset:bookings.tsv",
    ];
    let scoped = json(&lookup(&index, &[&query[..], &["--json"]].concat()));
    assert_eq!(scoped["verdict"], "exposed", "{scoped}");
    assert_eq!(
        matched(&scoped),
        [("bookings.tsv".to_string(), 2)],
        "{scoped}"
    );
    assert_eq!(scoped["matches"][0]["linked"], true, "{scoped}");
    let text = lookup(&index, &query);
    assert!(
        text.stdout
            .contains("this person's records outside the scope"),
        "{}",
        text.stdout
    );
    // Scoped to the council tax, the booking is left out and the record found
    // directly is the answer.
    let other = json(&lookup(
        &index,
        &[
            "--email",
            "jane.f@example.org",
            "--first-name",
            "Jane",
            "--scope",
            "dataset:council_tax.csv",
            "--json",
        ],
    ));
    assert_eq!(
        matched(&other),
        [("council_tax.csv".to_string(), 1)],
        "{other}"
    );
    // `match` with the scope agrees.
    let register = dir.path().join("register.csv");
    must(
        std::fs::write(
            &register,
            "id,email,first_name\nr1,jane.f@example.org,Jane\n",
        ),
        "write register",
    );
    let run = leakscope([
        OsStr::new("match"),
        OsStr::new("--index"),
        index.as_os_str(),
        register.as_os_str(),
        OsStr::new("--scope"),
        OsStr::new("dataset:bookings.tsv"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = run.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(row.starts_with("r1,exposed,"), "{row}");
    assert_eq!(row.split(',').nth(3), Some("bookings.tsv:2"), "{row}");
}

/// A regular's thirty bookings all hold their email and mobile; a switchboard
/// number is on thirty bookings of thirty different people.
fn regular_and_switchboard(dir: &Path) -> PathBuf {
    let mut bookings = String::from("Name,Email,Phone,Activity\n");
    for i in 0..30 {
        bookings.push_str(&format!(
            "John Frequent,john.frequent@gmail.com,07700 900777,Swim {i}\n"
        ));
        bookings.push_str(&format!(
            "Caller{i} Surname{i},caller{i}@example.org,020 7946 0000,Gym\n"
        ));
    }
    for i in 0..200 {
        bookings.push_str(&format!(
            "Other{i} Person{i},other{i}@gmail.com,07700 9{i:05},Squash\n"
        ));
    }
    index_of(dir, &[("bookings.csv", &bookings)])
}

#[test]
fn many_records_of_one_person_do_not_make_their_email_a_shared_one() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let index = regular_and_switchboard(dir.path());
    let idx = index.to_string_lossy().to_string();
    for args in [
        ["--email", "john.frequent@gmail.com"],
        ["--phone", "07700 900777"],
    ] {
        let run = lookup(Path::new(&idx), &[&args[..], &["--json"]].concat());
        assert_eq!(run.code, 0, "{args:?}: {}", run.stdout);
        let v = json(&run);
        assert_eq!(v["verdict"], "exposed", "{args:?}: {}", run.stdout);
        assert_eq!(
            matched(&v).len(),
            30,
            "every booking of his: {}",
            run.stdout
        );
    }
    // Thirty people's switchboard stays weak evidence: the number alone does not
    // make anyone one of those callers.
    let run = lookup(Path::new(&idx), &["--phone", "020 7946 0000", "--json"]);
    assert_ne!(json(&run)["verdict"], "exposed", "{}", run.stdout);
}

/// Jane Featherstone's record, and a neighbour in the same postcode.
fn jane_at_home(dir: &Path) -> PathBuf {
    index_of(
        dir,
        &[(
            "electoral.csv",
            "Forename,Surname,Post Code,Email\n\
             Jane,Featherstone,SW1A 1AA,jane.f@example.org\n\
             Tom,Okafor,SW1A 1AA,tom@example.net\n\
             Jane,Doe,E1 6AN,jane.doe@example.com\n",
        )],
    )
}

#[test]
fn a_given_name_and_a_postcode_are_searched_and_survive_a_family_name_typo() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let index = jane_at_home(dir.path());
    for args in [
        &["--first-name", "Jane", "--postcode", "sw1a1aa"][..],
        &["--name", "Jane Featherstonw", "--postcode", "SW1A 1AA"][..],
    ] {
        let run = lookup(&index, &[args, &["--json"]].concat());
        assert_eq!(run.code, 0, "{args:?}: {} {}", run.stdout, run.stderr);
        assert_eq!(
            matched(&json(&run)),
            [("electoral.csv".to_string(), 1)],
            "{args:?}: {}",
            run.stdout
        );
    }
}

#[test]
fn an_initial_and_a_family_name_are_an_error_not_a_not_found() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let index = jane_at_home(dir.path());
    for args in [
        &["--name", "Mrs J. Featherstone"][..],
        &["--first-name", "J", "--last-name", "Featherstone"][..],
        &["--name", "Jane F."][..],
        &["--first-name", "Jane", "--last-name", "F"][..],
    ] {
        let run = lookup(&index, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stdout);
        assert!(run.stderr.contains("initial"), "{}", run.stderr);
        assert!(!run.stderr.contains("Featherstone"), "{}", run.stderr);
    }
    // With a postcode an initial is still no key of its own, but the family name is.
    let run = lookup(
        &index,
        &[
            "--name",
            "J Featherstone",
            "--postcode",
            "SW1A 1AA",
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(matched(&json(&run)), [("electoral.csv".to_string(), 1)]);
}

#[test]
fn a_near_miss_is_not_found_without_claiming_that_nothing_matched() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let index = index_of(
        dir.path(),
        &[(
            "portal.csv",
            "first_name,last_name,dob,postcode,home_phone\n\
             William,Smyth,20/11/1975,N1 6XY,020 7946 0018\n\
             Jane,Doe,03/02/1980,SW1A 1AA,020 7946 0999\n",
        )],
    );
    // A landline rings a household: on its own it is not this person.
    let run = lookup(&index, &["--phone", "020 7946 0018"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("NOT FOUND: no record in the leaked data is close enough"),
        "{}",
        run.stdout
    );
    let run = lookup(&index, &["--email", "nobody@example.org"]);
    assert!(
        run.stdout
            .starts_with("NOT FOUND: no record in the leaked data matches"),
        "{}",
        run.stdout
    );
}

#[test]
fn typed_contact_values_in_json_arrays_are_found_by_their_type() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let index = index_of(
        dir.path(),
        &[(
            "patients.jsonl",
            "{\"name\":{\"given\":\"Alice\",\"family\":\"Archer\"},\"telecom\":[{\"system\":\"phone\",\"value\":\"07700 900401\"},{\"system\":\"email\",\"value\":\"alice@archer.com\"}]}\n\
             {\"name\":{\"given\":\"Bob\",\"family\":\"Baker\"},\"telecom\":[{\"system\":\"email\",\"value\":\"bob@baker.com\"}]}\n",
        )],
    );
    for (flag, value, row) in [
        ("--email", "alice@archer.com", 1),
        ("--phone", "+44 7700 900401", 1),
        ("--email", "bob@baker.com", 2),
    ] {
        let run = lookup(&index, &[flag, value, "--json"]);
        assert_eq!(run.code, 0, "{flag}: {}", run.stdout);
        assert_eq!(matched(&json(&run)), [("patients.jsonl".to_string(), row)]);
    }
}

#[test]
fn a_column_of_us_dates_is_read_month_first() {
    let dir = must(tempfile::tempdir(), "tempdir");
    let index = index_of(
        dir.path(),
        &[(
            "crm_export.csv",
            "first_name,last_name,dob,postcode\n\
             Alan,Ashworth,12/25/1970,N1 1AA\n\
             Beth,Bramley,11/30/1982,N1 1AB\n\
             Carl,Colby,02/03/1980,N1 1AC\n\
             Dina,Dalton,01/31/1935,N1 1AD\n",
        )],
    );
    // 02/03/1980 in a column that writes 12/25/1970 is 3 February.
    for args in [
        ["--first-name", "Carl", "--dob", "1980-02-03"],
        ["--last-name", "Colby", "--dob", "3 Feb 1980"],
    ] {
        let run = lookup(&index, &[&args[..], &["--json"]].concat());
        assert_eq!(run.code, 0, "{args:?}: {} {}", run.stdout, run.stderr);
        let v = json(&run);
        assert_eq!(v["verdict"], "exposed", "{args:?}: {}", run.stdout);
        assert_eq!(matched(&v), [("crm_export.csv".to_string(), 3)]);
    }
    let manifest = must(
        std::fs::read_to_string(index.join("manifest.json")),
        "manifest",
    );
    assert!(manifest.contains("month_first"), "{manifest}");
    // A UK column with one US-looking value stays day first.
    let uk = must(tempfile::tempdir(), "tempdir");
    let index = index_of(
        uk.path(),
        &[(
            "uk.csv",
            "first_name,last_name,dob\nCarl,Colby,02/03/1980\nEve,Ely,25/12/1970\n",
        )],
    );
    let run = lookup(
        &index,
        &["--first-name", "Carl", "--dob", "1980-03-02", "--json"],
    );
    assert_eq!(json(&run)["verdict"], "exposed", "{}", run.stdout);
}
