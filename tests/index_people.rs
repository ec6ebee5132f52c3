//! Rows holding several people, end to end through the binary: a housing-benefit
//! claim with a partner, a household's members, a council-tax account with a
//! partner's columns. Each person is found by their own details, nobody is told
//! they are exposed on another person's date of birth, and each person's data
//! classes are theirs and the row's shared ones.

use std::fmt::Write;
use std::fs;
use std::path::Path;

mod common;
use common::{leakscope, p};

/// Writes each `(name, content)` into `dir`, indexes them into `dir/idx` and
/// returns the index path and what `index` printed.
fn index(dir: &Path, files: &[(&str, &str)]) -> (String, String) {
    common::index_files(dir, files)
}

/// What `lookup --json` answered.
#[derive(Debug)]
struct Found {
    verdict: String,
    score: f64,
    records: Vec<String>,
    data_classes: Vec<String>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn lookup(idx: &str, args: &[&str]) -> Found {
    let json = common::lookup_json(idx, args);
    let records = json["matches"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| format!("{}:{}", m["dataset"].as_str().unwrap_or(""), m["row"]))
                .collect()
        })
        .unwrap_or_default();
    Found {
        verdict: json["verdict"].as_str().unwrap_or_default().to_string(),
        score: json["score"].as_f64().unwrap_or_default(),
        records,
        data_classes: strings(&json["data_classes"]),
    }
}

/// `lookup` as a caseworker reads it, values shown.
fn lookup_text(idx: &str, args: &[&str]) -> String {
    let mut all = vec!["lookup", "--index", idx, "--reveal"];
    all.extend_from_slice(args);
    String::from_utf8_lossy(&leakscope(&all).stdout).into_owned()
}

/// A family name of letters for number `i` (`Otherab`).
fn other(i: u32) -> String {
    let letter = |k: u32| char::from(b'a' + (k % 26) as u8);
    format!("Other{}{}", letter(i / 26), letter(i))
}

/// Claims of one person each, beside the ones that matter: an archive in which a
/// name or a postcode weighs what it weighs in a real one.
fn single_claims(n: u32) -> String {
    let given = ["Alice", "Brian", "Carol", "David", "Erin", "Frank"];
    let mut out = String::new();
    for i in 0..n {
        writeln!(
            out,
            r#"{{"claim":"S{i}","applicant":{{"first":"{}","last":"{}","dob":"19{:02}-0{}-1{}"}},"partner":null,"postcode":"N{} {}AB"}}"#,
            given[i as usize % given.len()],
            other(i),
            40 + i % 50,
            1 + i % 9,
            i % 10,
            1 + i % 9,
            i % 10
        )
        .unwrap();
    }
    out
}

const MEMBERS: &str = r#"{"claim_id":"HB1001","members":[{"name":"John Smith","dob":"1950-05-05"},{"name":"Mary Smith","dob":"1982-03-03"}],"postcode":"E8 1AA"}
"#;

const PARTNER: &str = r#"{"claim":"C1","applicant":{"first":"Oscar","last":"Wilde","dob":"1954-10-16","nino":"JT737135A","email":"oscar@example.com"},"partner":{"first":"Constance","last":"Lloyd","dob":"1958-01-02"},"postcode":"SW3 4JA"}
"#;

/// The QA reproduction: a household array and an applicant with a partner.
#[test]
fn nobody_is_exposed_on_another_persons_date_of_birth() {
    let tmp = tempfile::tempdir().unwrap();
    let claims2 = format!("{PARTNER}{}", single_claims(300));
    let (idx, printed) = index(
        tmp.path(),
        &[("claims.jsonl", MEMBERS), ("claims2.jsonl", &claims2)],
    );
    // The build says which rows hold several people and whose each column is.
    assert!(
        printed.contains(
            "claims.jsonl  jsonl utf-8  1 rows, 1 indexed, 0 rejected; 1 row holds several people: 2 people indexed"
        ),
        "{printed}"
    );
    assert!(
        printed.contains(
            "claims2.jsonl  jsonl utf-8  301 rows, 301 indexed, 0 rejected; 1 row holds several people: 2 people indexed"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("  partner.first -> first_name (header, person 2)"),
        "{printed}"
    );
    assert!(
        printed.contains("  members.dob -> dob (header, person 1, one per element of members)"),
        "{printed}"
    );
    assert!(
        printed.contains("indexed 302 records (304 people) from 2 datasets"),
        "{printed}"
    );

    // John is 1950; 1982 is Mary's.
    let john = lookup(&idx, &["--name", "John Smith", "--dob", "03/03/1982"]);
    assert_ne!(john.verdict, "exposed", "{john:?}");
    // 1958 is the partner's.
    let oscar = lookup(&idx, &["--name", "Oscar Wilde", "--dob", "02/01/1958"]);
    assert_ne!(oscar.verdict, "exposed", "{oscar:?}");
    // The partner herself is a data subject whose data was taken.
    let constance = lookup(&idx, &["--name", "Constance Lloyd", "--dob", "02/01/1958"]);
    assert_eq!(constance.verdict, "exposed", "{constance:?}");
    assert_eq!(constance.records, ["claims2.jsonl:1"]);
    // Her name, her date of birth and the claim's shared values: not Oscar's NI
    // number or email.
    assert_eq!(
        constance.data_classes,
        ["dob", "first_name", "last_name", "other:claim", "postcode"],
        "{constance:?}"
    );
    let oscar = lookup(&idx, &["--name", "Oscar Wilde", "--dob", "16/10/1954"]);
    assert_eq!(oscar.verdict, "exposed", "{oscar:?}");
    assert_eq!(
        oscar.data_classes,
        [
            "dob",
            "email",
            "first_name",
            "last_name",
            "ni_number",
            "other:claim",
            "postcode"
        ]
    );
    for (name, dob) in [("John Smith", "05/05/1950"), ("Mary Smith", "03/03/1982")] {
        let found = lookup(&idx, &["--name", name, "--dob", dob]);
        assert_eq!(found.verdict, "exposed", "{name}: {found:?}");
        assert_eq!(found.records, ["claims.jsonl:1"]);
    }

    // The values shown are the person's and the shared ones only.
    let shown = lookup_text(&idx, &["--name", "Constance Lloyd", "--dob", "02/01/1958"]);
    assert!(
        shown.contains("Constance") && shown.contains("SW3 4JA"),
        "{shown}"
    );
    assert!(
        !shown.contains("Oscar") && !shown.contains("JT737135A"),
        "{shown}"
    );

    // A near miss the stored features cannot settle re-reads the row from the
    // dump: it is split the same way, so the typo meets Oscar's date only.
    let typo = lookup(&idx, &["--name", "Oscer Wilde", "--dob", "16/10/1954"]);
    assert_ne!(typo.verdict, "not_found", "{typo:?}");
    assert_eq!(
        typo.records.first().map(String::as_str),
        Some("claims2.jsonl:1")
    );
    let typo = lookup(&idx, &["--name", "Oscer Wilde", "--dob", "02/01/1958"]);
    assert_ne!(typo.verdict, "exposed", "{typo:?}");
    assert!(typo.score < 0.9, "{typo:?}");

    // inspect counts people where they differ from rows.
    let out = leakscope(&["inspect", &idx]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("304 records (people: 2 rows hold several)"),
        "{text}"
    );
    assert!(
        text.contains("1 rows, 1 records, 0 rejected; 1 row holds several people: 2 people"),
        "{text}"
    );
}

/// A household of three under `household.members`, each a `name` object and a
/// date of birth, one of them without a date: each member found by their own.
#[test]
fn each_member_of_a_household_array_is_found_by_name_and_date_of_birth() {
    let tmp = tempfile::tempdir().unwrap();
    let household = r#"{"ref":"CT77","household":{"members":[{"name":{"first":"Ada","last":"Byron"},"dob":"1915-12-10","relationship":"head"},{"name":{"first":"William","last":"King"},"relationship":"partner"},{"name":{"first":"Annabella","last":"King"},"dob":"1936-09-22","email":"annabella@example.com"}]},"address":{"line1":"12 St James's Square","postcode":"SW1Y 4JH"}}
"#;
    let single = |i: u32| {
        format!(
            r#"{{"ref":"CT{i}","household":{{"members":[{{"name":{{"first":"Brian","last":"{}"}},"dob":"1970-01-{:02}"}}]}},"address":{{"line1":"{i} Mill Lane","postcode":"N1 {}AB"}}}}"#,
            other(i),
            1 + i % 28,
            i % 10
        )
    };
    let mut dump = String::from(household);
    for i in 0..200 {
        writeln!(dump, "{}", single(i)).unwrap();
    }
    let (idx, printed) = index(tmp.path(), &[("households.jsonl", &dump)]);
    assert!(
        printed.contains("1 row holds several people: 3 people indexed"),
        "{printed}"
    );
    for (first, last, dob) in [
        ("Ada", "Byron", "10/12/1915"),
        ("Annabella", "King", "22/09/1936"),
    ] {
        let found = lookup(
            &idx,
            &["--first-name", first, "--last-name", last, "--dob", dob],
        );
        assert_eq!(found.verdict, "exposed", "{first}: {found:?}");
        assert_eq!(found.records, ["households.jsonl:1"]);
    }
    // William has no date of birth in the row: found by name and postcode, and
    // Ada's or Annabella's date of birth is not his.
    let william = lookup(
        &idx,
        &[
            "--first-name",
            "William",
            "--last-name",
            "King",
            "--postcode",
            "SW1Y 4JH",
        ],
    );
    assert_eq!(william.records, ["households.jsonl:1"], "{william:?}");
    assert!(
        !william
            .data_classes
            .iter()
            .any(|c| c == "dob" || c == "email")
    );
    for dob in ["10/12/1915", "22/09/1936"] {
        let wrong = lookup(
            &idx,
            &[
                "--first-name",
                "William",
                "--last-name",
                "King",
                "--dob",
                dob,
            ],
        );
        assert_ne!(wrong.verdict, "exposed", "{dob}: {wrong:?}");
    }
    let ada = lookup(
        &idx,
        &[
            "--first-name",
            "Ada",
            "--last-name",
            "Byron",
            "--dob",
            "10/12/1915",
        ],
    );
    assert_eq!(
        ada.data_classes,
        [
            "account_ref",
            "address",
            "dob",
            "first_name",
            "last_name",
            "other:household.members.relationship",
            "postcode"
        ]
    );
    // Ada's name with Annabella's date is nobody.
    let mixed = lookup(
        &idx,
        &[
            "--first-name",
            "Ada",
            "--last-name",
            "Byron",
            "--dob",
            "22/09/1936",
        ],
    );
    assert_ne!(mixed.verdict, "exposed", "{mixed:?}");
}

/// A council-tax export with the partner's details in columns of their own.
#[test]
fn partner_columns_of_a_csv_are_another_person() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "Account Ref,Forename,Surname,DOB,Partner Forename,Partner Surname,Partner DOB,Partner NI Number,Post Code\n\
         CT100,Peter,Pan,01/02/1960,Wendy,Darling,03/04/1962,JK482913B,NW3 1AB\n",
    );
    for i in 0..300u32 {
        writeln!(
            csv,
            "CT{},Brian,{},{:02}/0{}/19{},,,,,N{} {}AB",
            200 + i,
            other(i),
            1 + i % 28,
            1 + i % 9,
            40 + i % 50,
            1 + i % 9,
            i % 10
        )
        .unwrap();
    }
    let (idx, printed) = index(tmp.path(), &[("council_tax.csv", &csv)]);
    for line in [
        "  Forename -> first_name (header, person 1)",
        "  Partner Forename -> first_name (header, person 2)",
        "  Partner DOB -> dob (header, person 2)",
        "  Partner NI Number -> ni_number (header, person 2)",
        "  Post Code -> postcode (header)",
        "1 row holds several people: 2 people indexed",
    ] {
        assert!(printed.contains(line), "{line}: {printed}");
    }
    let wendy = lookup(&idx, &["--name", "Wendy Darling", "--dob", "03/04/1962"]);
    assert_eq!(wendy.verdict, "exposed", "{wendy:?}");
    assert_eq!(
        wendy.data_classes,
        [
            "account_ref",
            "dob",
            "first_name",
            "last_name",
            "ni_number",
            "postcode"
        ]
    );
    let peter = lookup(&idx, &["--name", "Peter Pan", "--dob", "01/02/1960"]);
    assert_eq!(peter.verdict, "exposed", "{peter:?}");
    assert!(!peter.data_classes.iter().any(|c| c == "ni_number"));
    let mixed = lookup(&idx, &["--name", "Peter Pan", "--dob", "03/04/1962"]);
    assert_ne!(mixed.verdict, "exposed", "{mixed:?}");
    // The partner's NI number is hers, not Peter's.
    let ni = lookup(&idx, &["--name", "Peter Pan", "--ni", "JK482913B"]);
    assert_ne!(ni.verdict, "exposed", "{ni:?}");
    let ni = lookup(&idx, &["--name", "Wendy Darling", "--ni", "JK482913B"]);
    assert_eq!(ni.verdict, "exposed", "{ni:?}");
}

/// A register row matching both people of one claim alike (their shared email,
/// family name and postcode) lists the claim once.
#[test]
fn match_lists_a_row_of_two_people_once() {
    let tmp = tempfile::tempdir().unwrap();
    let claims = r#"{"claim_id":"HB1001","email":"smiths@example.com","members":[{"first":"John","last":"Smith","dob":"1950-05-05"},{"first":"Mary","last":"Smith","dob":"1982-03-03"}],"postcode":"E8 1AA"}
"#;
    let (idx, _) = index(tmp.path(), &[("claims.jsonl", claims)]);
    let register = tmp.path().join("register.csv");
    fs::write(
        &register,
        "id,last_name,email,postcode\nr1,Smith,smiths@example.com,E8 1AA\n",
    )
    .unwrap();
    let out = leakscope(&["match", "--index", &idx, p(&register)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "register_id",
            "verdict",
            "score",
            "records",
            "data_classes",
            "evidence"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "exposed", "{:?}", rows[0]);
    assert_eq!(&rows[0][3], "claims.jsonl:1");
    // So does `lookup --json`, in its usual shape.
    let found = lookup(
        &idx,
        &[
            "--last-name",
            "Smith",
            "--email",
            "smiths@example.com",
            "--postcode",
            "E8 1AA",
        ],
    );
    assert_eq!(found.records, ["claims.jsonl:1"], "{found:?}");
}

#[test]
fn beside_a_partners_email_column_the_rows_own_email_is_the_main_persons() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, printed) = index(
        dir.path(),
        &[
            (
                "joint.csv",
                "Account,Forename,Surname,DOB,Email,Partner Forename,Partner Surname,Partner's DOB,Partner Email,Postcode\n\
                 CT1,Alan,Ashby,01/01/1960,alan@ashby.com,Brenda,Ashby,02/02/1962,brenda@ashby.com,N1 1AA\n\
                 CT3,Dora,Dale,04/04/1975,dora@dale.com,Eric,Evans,05/05/1974,,N3 3CC\n",
            ),
            (
                "leisure.csv",
                "booking_id,name,email,activity,card_last4\n\
                 B1,Alan Ashby,alan@ashby.com,Squash,4242\n\
                 B3,Dora Dale,dora@dale.com,Swim,1111\n",
            ),
        ],
    );
    assert!(
        printed.contains("Email -> email (header, person 1)"),
        "{printed}"
    );
    // Brenda's answer is her own record: not Alan's bookings, found through an
    // email that was never hers.
    let brenda = lookup(&idx, &["--name", "Brenda Ashby", "--dob", "02/02/1962"]);
    assert_eq!(brenda.verdict, "exposed");
    assert_eq!(brenda.records, ["joint.csv:1"]);
    assert!(
        !brenda.data_classes.iter().any(|c| c == "other:activity"),
        "{:?}",
        brenda.data_classes
    );
    // Eric's row holds Dora's email only: his letter does not list it.
    let eric = lookup(&idx, &["--name", "Eric Evans", "--dob", "05/05/1974"]);
    assert_eq!(eric.verdict, "exposed");
    assert!(
        !eric.data_classes.iter().any(|c| c == "email"),
        "{:?}",
        eric.data_classes
    );
    assert!(
        !lookup_text(&idx, &["--name", "Eric Evans", "--dob", "05/05/1974"])
            .contains("dora@dale.com")
    );
}

#[test]
fn a_row_of_too_many_people_to_split_is_warned_about() {
    // A club's 300 members in one JSON record: more than a row is split into.
    let tmp = tempfile::tempdir().unwrap();
    let member = |i: u32| {
        format!(
            r#"{{"name":"Member{i} Smith","dob":"{:02}/06/1955"}}"#,
            1 + i % 28
        )
    };
    let big: Vec<String> = (0..300).map(member).collect();
    let small: Vec<String> = (0..2).map(member).collect();
    let dump = format!(
        "{{\"club\":\"Rowing\",\"members\":[{}]}}\n{{\"club\":\"Chess\",\"members\":[{}]}}\n",
        big.join(","),
        small.join(",")
    );
    let path = tmp.path().join("clubs.jsonl");
    fs::write(&path, &dump).unwrap();
    let want = "clubs.jsonl: 1 row holds more than 255 people, too many to index one record per person: indexed whole";
    let dry = leakscope(&["index", "--dry-run", p(&path)]);
    let printed =
        String::from_utf8_lossy(&dry.stdout).into_owned() + &String::from_utf8_lossy(&dry.stderr);
    assert!(printed.contains(want), "{printed}");
    let (_, printed) = index(tmp.path(), &[("clubs.jsonl", &dump)]);
    assert!(printed.contains(want), "{printed}");
    // The small club is split as before, and only it is counted as split.
    assert!(
        printed.contains("1 row holds several people: 2 people indexed"),
        "{printed}"
    );
}
