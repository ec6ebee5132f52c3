//! Names as systems write them, end to end through the binary: notes and former
//! names inside a name cell, written abbreviations of given names, double-barrelled
//! family names on either side, and South Slavic `đ`.

use std::fs;
use std::path::Path;

mod common;
use common::{leakscope, p};

/// Writes `name` with `content` into `dir` and indexes it into `dir/idx`.
fn index(dir: &Path, name: &str, content: &str) -> String {
    common::index_files(dir, &[(name, content)]).0
}

/// `lookup --json` with `args`: the verdict and the matched records' `agreed` lists.
fn lookup(idx: &str, args: &[&str]) -> (String, Vec<String>) {
    let json = common::lookup_json(idx, args);
    let verdict = json["verdict"].as_str().unwrap_or_default().to_string();
    let agreed = json["matches"]
        .get(0)
        .and_then(|m| m["agreed"].as_array())
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    (verdict, agreed)
}

/// `match` of a register: `(register_id, verdict)` per row.
fn match_register(dir: &Path, idx: &str, register: &str) -> Vec<(String, String)> {
    let path = dir.join("register.csv");
    fs::write(&path, register).unwrap();
    let out = leakscope(&["match", "--index", idx, p(&path)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells = line.split(',');
            let id = cells.next().unwrap_or_default().to_string();
            (id, cells.next().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn notes_and_former_names_in_a_name_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(
        tmp.path(),
        "dump.tsv",
        "Holder Name\tDOB\tPostcode\n\
         Sarah Jones (nee Brown)\t09/09/1969\tN1 1AJ\n\
         Mrs Helen Carter née Morris\t10/10/1970\tN1 1AL\n\
         John Cooper (deceased)\t02/02/1962\tN1 1AB\n\
         Anne Lowe (tenant)\t03/03/1963\tN1 1AC\n",
    );
    for args in [
        ["--name", "Sarah Jones", "--postcode", "N1 1AJ"],
        ["--name", "Sarah Brown", "--postcode", "N1 1AJ"],
        ["--name", "Helen Carter", "--postcode", "N1 1AL"],
        ["--name", "Helen Carter", "--dob", "10/10/1970"],
        ["--name", "Helen Morris", "--dob", "10/10/1970"],
        ["--name", "John Cooper", "--dob", "02/02/1962"],
        ["--name", "Anne Lowe", "--postcode", "N1 1AC"],
        ["--last-name", "Jones (née Brown)", "--dob", "9/9/1969"],
    ] {
        let (verdict, agreed) = lookup(&idx, &args);
        assert_eq!(verdict, "exposed", "{args:?}");
        assert!(
            agreed.iter().any(|a| a.contains("last_name")),
            "{args:?}: {agreed:?}"
        );
    }
    // A note is not a name: nobody is called Tenant.
    let (verdict, _) = lookup(&idx, &["--name", "Anne Tenant", "--postcode", "N1 1AC"]);
    assert_ne!(verdict, "exposed");
}

#[test]
fn written_abbreviations_of_given_names() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(
        tmp.path(),
        "electoral.csv",
        "Forenames;Surname;Date of Birth;House No;Street;Postcode;Telephone\n\
         Jonathan;Temshaw;12-Dec-1957;5;Ladbroke Gardens;W11  8XP;07488417957\n\
         William;Ashcombe;01-Jan-1940;3;Elm Close;N1 1AA;07488417000\n\
         Richard;Penhallow;05-May-1950;7;Elm Close;N1 1AB;07488417001\n",
    );
    let found = match_register(
        tmp.path(),
        &idx,
        "resident_id,first_name,last_name,dob,address,postcode,phone\n\
         R1,Jn,Temshaw,12 Dec 1957,\"5 Ladbroke Gardens, London\",W11 8XP,07762 006228\n\
         R2,Wm,Ashcombe,01/01/1940,\"3 Elm Close\",N1 1AA,07762 006229\n\
         R3,Richd,Penhallow,05/05/1950,\"7 Elm Close\",N1 1AB,07762 006230\n",
    );
    for (id, verdict) in &found {
        assert_eq!(verdict, "exposed", "{id}");
    }
    assert_eq!(found.len(), 3);
}

#[test]
fn double_barrelled_family_names_agree_either_way_round() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(
        tmp.path(),
        "dump.csv",
        "first_name,last_name,dob\n\
         Jane,Doe,03/02/1980\n\
         Mary,Clark-Wood,04/04/1964\n\
         Anna,Fox-Li,05/05/1975\n",
    );
    let found = match_register(
        tmp.path(),
        &idx,
        "resident_id,first_name,last_name,dob\n\
         R1,Jane,Doe-Smith,03/02/1980\n\
         R2,Mary,Clark,04/04/1964\n\
         R3,Anna,Li,05/05/1975\n",
    );
    assert_eq!(found.len(), 3);
    for (id, verdict) in &found {
        assert_eq!(verdict, "exposed", "{id}");
    }
    // And the other way round.
    let (verdict, _) = lookup(&idx, &["--name", "Mary Clark-Wood", "--dob", "04/04/1964"]);
    assert_eq!(verdict, "exposed");
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(
        tmp.path(),
        "dump.csv",
        "first_name,last_name,dob\nJane,Doe-Smith,03/02/1980\n",
    );
    let (verdict, _) = lookup(&idx, &["--name", "Jane Doe", "--dob", "03/02/1980"]);
    assert_eq!(verdict, "exposed");
}

#[test]
fn south_slavic_dj_matches_its_plain_spelling() {
    let tmp = tempfile::tempdir().unwrap();
    let idx = index(
        tmp.path(),
        "dump.csv",
        "full_name,dob,postcode\nĐorđe Đukić,07/07/1977,E1 7AB\n",
    );
    let (verdict, agreed) = lookup(&idx, &["--name", "Djordje Djukic", "--postcode", "E1 7AB"]);
    assert_eq!(verdict, "exposed");
    assert!(
        agreed.iter().any(|a| a.contains("first_name")),
        "{agreed:?}"
    );
}

#[test]
fn either_half_of_a_couple_in_one_name_cell_is_found() {
    // A joint council-tax account: one name cell for two people.
    let tmp = tempfile::tempdir().unwrap();
    let mut dump = String::from(
        "Account Holder,Address,Postcode\n\
         John & Mary Tennant-Hale,4 Orchard Row,N1 6XY\n\
         Mr Peter and Mrs Sue Brampton,9 Quay Street,E1 6AN\n",
    );
    for i in 0..2000 {
        dump.push_str(&format!(
            "Alice Other{i},{} Mill Lane,E{} {}AB\n",
            1 + i % 90,
            1 + i % 9,
            i % 10
        ));
    }
    let idx = index(tmp.path(), "joint.csv", &dump);
    for (name, postcode) in [
        ("Mary Tennant-Hale", "N1 6XY"),
        ("John Tennant-Hale", "N1 6XY"),
        ("Sue Brampton", "E1 6AN"),
        ("Peter Brampton", "E1 6AN"),
    ] {
        let (verdict, agreed) = lookup(&idx, &["--name", name, "--postcode", postcode]);
        assert_eq!(verdict, "exposed", "{name}: {agreed:?}");
        assert!(
            agreed.iter().any(|a| a == "\"first_name\""),
            "{name}: {agreed:?}"
        );
    }
    // Someone else of the family at the address is not the couple.
    let (verdict, _) = lookup(
        &idx,
        &["--name", "Oliver Tennant-Hale", "--postcode", "N1 6XY"],
    );
    assert_ne!(verdict, "exposed");
}
