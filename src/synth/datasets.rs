//! The six leaked datasets: which records a person has in each system, and how each
//! system writes a record (its columns, formats, encoding and mess).
//!
//! | dataset | file | format | record date | dates |
//! |---|---|---|---|---|
//! | council tax accounts | `council_tax_2006_2014.csv` | CSV, UTF-8 with BOM, CRLF, quoted multi-line addresses | `Date Opened` | `03/02/1980` |
//! | parking permits | `parking_permits.tsv` | TSV | `Issue Date` | `1980-02-03` |
//! | housing benefit claims | `housing_benefit.jsonl` | JSON Lines, nested | `submitted` | ISO 8601 |
//! | library members | `archive.sql#library_members` | MySQL dump | `date_joined` | `'1980-02-03'` |
//! | leisure bookings | `archive.sql#leisure_bookings` | MySQL dump | `booking_date` | `'2015-06-01 10:22:00'` |
//! | electoral registration | `electoral_registration_2014_2020.csv` | `;`-separated, Windows-1252, CRLF | `Application Date` | `03-Feb-1980` |
//!
//! Every record keeps enough to identify its person, as real systems do: a name with a
//! date of birth, or a name with an email, phone or NI number.
//!
//! About 1.2% of records are exported twice: byte for byte in the flat files, and in
//! the SQL tables (whose ids are primary keys) as a second registration of the same
//! person under a new id. Reference numbers (accounts, permits, claims, member and
//! booking ids) are unique per record; elector numbers repeat, as they do across
//! polling districts.

use super::mess::{Case, spaces, typed, typo};
use super::people::{Address, Person};
use super::rng::{Rng, Stream, hash3, permute};
use super::tables::tables;
use super::values::{self, DateStyle, Day, Phone, messy_email, messy_sort_code, office_time};

/// One leaked dataset (an SQL table counts as its own dataset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    /// Council tax accounts 2006–2014 (CSV).
    CouncilTax,
    /// Residents' parking permits 2008–2020 (TSV).
    Parking,
    /// Housing benefit claims 2010–2018 (JSON Lines).
    HousingBenefit,
    /// Library members 2006–2020 (SQL table).
    Library,
    /// Leisure centre bookings 2012–2020 (SQL table).
    Leisure,
    /// Individual electoral registration applications 2014–2020 (Windows-1252 CSV).
    Electoral,
}

/// Every dataset, in the order files and truth lists use.
pub const DATASETS: [Dataset; 6] = [
    Dataset::CouncilTax,
    Dataset::Parking,
    Dataset::HousingBenefit,
    Dataset::Library,
    Dataset::Leisure,
    Dataset::Electoral,
];

/// The SQL dump file holding two tables.
pub const SQL_FILE: &str = "archive.sql";

impl Dataset {
    /// Position in [`DATASETS`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The dataset's name as `truth.csv` and the index use it.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::CouncilTax => "council_tax_2006_2014.csv",
            Dataset::Parking => "parking_permits.tsv",
            Dataset::HousingBenefit => "housing_benefit.jsonl",
            Dataset::Library => "archive.sql#library_members",
            Dataset::Leisure => "archive.sql#leisure_bookings",
            Dataset::Electoral => "electoral_registration_2014_2020.csv",
        }
    }

    /// The file under `dump/` that holds it.
    pub fn file(self) -> &'static str {
        match self {
            Dataset::Library | Dataset::Leisure => SQL_FILE,
            other => other.name(),
        }
    }

    /// The SQL table name, for the two SQL datasets.
    pub fn table(self) -> Option<&'static str> {
        match self {
            Dataset::Library => Some("library_members"),
            Dataset::Leisure => Some("leisure_bookings"),
            _ => None,
        }
    }

    /// First and last year of its records.
    pub fn years(self) -> (u16, u16) {
        match self {
            Dataset::CouncilTax => (2006, 2014),
            Dataset::Parking => (2008, 2020),
            Dataset::HousingBenefit => (2010, 2018),
            Dataset::Library => (2006, 2020),
            Dataset::Leisure => (2012, 2020),
            Dataset::Electoral => (2014, 2020),
        }
    }

    /// Youngest age at which someone has a record here.
    fn min_age(self) -> u16 {
        match self {
            Dataset::CouncilTax | Dataset::HousingBenefit | Dataset::Electoral => 18,
            Dataset::Parking => 17,
            Dataset::Leisure => 16,
            Dataset::Library => 5,
        }
    }

    /// The years a person born in `birth_year` can have a record here (may be empty).
    fn years_for(self, birth_year: u16) -> (u16, u16) {
        let (lo, hi) = self.years();
        (lo.max(birth_year + self.min_age()), hi)
    }

    /// The header line(s) that open the file (for the SQL tables: the table's
    /// `DROP`/`CREATE`/`LOCK` preamble), without the file-level preamble.
    pub fn header(self) -> &'static str {
        match self {
            Dataset::CouncilTax => {
                "Account Ref,Title,Forename,Surname,D.O.B,Address,Post Code,UPRN,Tel,E-mail Address,Payment Method,Sort Code,Account No,Band,Balance,Date Opened\r\n"
            }
            Dataset::Parking => {
                "Permit No\tVehicle Reg\tHolder Name\tMobile\tEmail\tHouse No\tStreet\tPostcode\tIssue Date\tExpires\tZone\tNotes\n"
            }
            Dataset::HousingBenefit => "",
            Dataset::Library => LIBRARY_DDL,
            Dataset::Leisure => LEISURE_DDL,
            Dataset::Electoral => {
                "Elector No;Title;Forenames;Surname;Date of Birth;NI Number;House No;Street;Town;Postcode;Email;Telephone;Application Date;Method\r\n"
            }
        }
    }

    /// What closes the dataset's part of its file.
    pub fn footer(self) -> &'static str {
        match self {
            Dataset::Library => {
                "/*!40000 ALTER TABLE `library_members` ENABLE KEYS */;\nUNLOCK TABLES;\n\n"
            }
            Dataset::Leisure => {
                "/*!40000 ALTER TABLE `leisure_bookings` ENABLE KEYS */;\nUNLOCK TABLES;\n\n"
            }
            _ => "",
        }
    }
}

/// The opening of the SQL dump file.
pub const SQL_PREAMBLE: &str = "-- MySQL dump 10.13  Distrib 5.7.31, for Linux (x86_64)\n--\n-- Host: 10.12.0.41    Database: archive\n-- ------------------------------------------------------\n-- Server version\t5.7.31-log\n\n/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n/*!40101 SET NAMES utf8mb4 */;\n/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n\n";

/// The close of the SQL dump file.
pub const SQL_TRAILER: &str = "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n-- Dump completed on 2020-11-03 14:12:55\n";

const LIBRARY_DDL: &str = "--\n-- Table structure for table `library_members`\n--\n\nDROP TABLE IF EXISTS `library_members`;\nCREATE TABLE `library_members` (\n  `member_id` bigint(20) NOT NULL AUTO_INCREMENT,\n  `barcode` varchar(14) NOT NULL,\n  `title` varchar(10) DEFAULT NULL,\n  `first_name` varchar(50) NOT NULL,\n  `last_name` varchar(50) NOT NULL,\n  `date_of_birth` date DEFAULT NULL,\n  `gender` char(1) DEFAULT NULL,\n  `email` varchar(120) DEFAULT NULL,\n  `phone` varchar(20) DEFAULT NULL,\n  `address1` varchar(100) DEFAULT NULL,\n  `address2` varchar(100) DEFAULT NULL,\n  `postcode` varchar(10) DEFAULT NULL,\n  `date_joined` datetime NOT NULL,\n  `branch` varchar(40) DEFAULT NULL,\n  `fines_owed` decimal(6,2) NOT NULL DEFAULT '0.00',\n  `notes` text,\n  PRIMARY KEY (`member_id`),\n  KEY `idx_last_name` (`last_name`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\n--\n-- Dumping data for table `library_members`\n--\n\nLOCK TABLES `library_members` WRITE;\n/*!40000 ALTER TABLE `library_members` DISABLE KEYS */;\n";

const LEISURE_DDL: &str = "--\n-- Table structure for table `leisure_bookings`\n--\n\nDROP TABLE IF EXISTS `leisure_bookings`;\nCREATE TABLE `leisure_bookings` (\n  `booking_id` bigint(20) NOT NULL AUTO_INCREMENT,\n  `customer_name` varchar(100) NOT NULL,\n  `email` varchar(120) DEFAULT NULL,\n  `mobile` varchar(20) DEFAULT NULL,\n  `activity` varchar(60) NOT NULL,\n  `centre` varchar(60) NOT NULL,\n  `booking_date` datetime NOT NULL,\n  `amount` decimal(6,2) NOT NULL,\n  `paid_with` varchar(30) DEFAULT NULL,\n  PRIMARY KEY (`booking_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\n--\n-- Dumping data for table `leisure_bookings`\n--\n\nLOCK TABLES `leisure_bookings` WRITE;\n/*!40000 ALTER TABLE `leisure_bookings` DISABLE KEYS */;\n";

/// Probability that a record is exported twice, byte for byte.
pub const DUPLICATE_RATE: f64 = 0.012;

/// Room for one person's rows: [`plan`] gives at most 23 records (the sum of every
/// dataset's largest count), each possibly written twice. Record keys are dense under
/// it: `person * 48 + seq`, the SQL second registrations at `+ 24`.
pub const MAX_ROWS_PER_PERSON: u64 = 48;

/// One planned record of a person, before dates and values are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// The system it is in (may move to another one for a person too young for it).
    pub dataset: Dataset,
    /// Exported twice.
    pub duplicated: bool,
}

impl Planned {
    /// Rows it takes in its file.
    pub fn rows(self) -> u64 {
        1 + u64::from(self.duplicated)
    }
}

/// The records dump person `i` has, in order. Depends on `(seed, i)` only (no identity),
/// so the total number of rows can be counted without building anyone.
pub fn plan(seed: u64, i: u64, out: &mut Vec<Planned>) {
    out.clear();
    let mut rng = Rng::for_item(seed, Stream::Plan, i);
    fn add(out: &mut Vec<Planned>, rng: &mut Rng, dataset: Dataset, n: u32) {
        for _ in 0..n {
            out.push(Planned {
                dataset,
                duplicated: rng.chance(DUPLICATE_RATE),
            });
        }
    }
    if rng.chance(0.45) {
        // A new account for each home, and now and then a re-opened one.
        let n = 1 + u32::from(rng.chance(0.25)) + u32::from(rng.chance(0.08));
        add(out, &mut rng, Dataset::CouncilTax, n);
    }
    if rng.chance(0.18) {
        let n = *rng.pick(&[1, 1, 2, 2, 3, 4, 5]);
        add(out, &mut rng, Dataset::Parking, n);
    }
    if rng.chance(0.10) {
        let n = *rng.pick(&[1, 1, 1, 2, 3]);
        add(out, &mut rng, Dataset::HousingBenefit, n);
    }
    if rng.chance(0.30) {
        let n = 1 + u32::from(rng.chance(0.1));
        add(out, &mut rng, Dataset::Library, n);
    }
    if rng.chance(0.15) {
        let n = *rng.pick(&[1, 1, 2, 3, 4, 6, 8]);
        add(out, &mut rng, Dataset::Leisure, n);
    }
    if rng.chance(0.45) {
        let n = 1 + u32::from(rng.chance(0.2));
        add(out, &mut rng, Dataset::Electoral, n);
    }
    if out.is_empty() {
        let d = *rng.pick(&[Dataset::Library, Dataset::Electoral, Dataset::Parking]);
        add(out, &mut rng, d, 1);
    }
}

/// Total rows of a plan.
pub fn plan_rows(planned: &[Planned]) -> u64 {
    planned.iter().map(|p| p.rows()).sum()
}

/// One rendered record: the text of one row (CSV/TSV/JSONL line with its line end,
/// or an SQL tuple `(…)`), and whether it is written twice.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Its dataset.
    pub dataset: Dataset,
    /// The row's text.
    pub text: String,
    /// Written twice in a row.
    pub duplicated: bool,
}

/// Renders dump person `i`'s planned records, keeping only the first `keep_rows` rows
/// (the very last person of the archive may be cut to hit the exact record count).
pub fn render_person(
    seed: u64,
    i: u64,
    p: &Person,
    planned: &[Planned],
    keep_rows: u64,
) -> Vec<Rendered> {
    let mut rng = Rng::for_item(seed, Stream::Render, i);
    let mut out = Vec::with_capacity(planned.len());
    let mut rows = 0u64;
    for (seq, plan) in planned.iter().enumerate() {
        if rows >= keep_rows {
            break;
        }
        let mut dataset = eligible(plan.dataset, p.dob.year);
        let reachable = !p.emails.is_empty() || !p.mobiles.is_empty() || p.landline.is_some();
        if !reachable && matches!(dataset, Dataset::Parking | Dataset::Leisure) {
            // These systems know people only by name and contact details; someone
            // with none would be unidentifiable, so they appear in the library instead.
            dataset = Dataset::Library;
        }
        let (lo, hi) = dataset.years_for(p.dob.year);
        let year = rng.range(u32::from(lo), u32::from(hi.max(lo))) as u16;
        let date = Day::random_in_year(&mut rng, year);
        let render = |key: u64, rng: &mut Rng| {
            let ctx = Ctx {
                seed,
                p,
                date,
                home: p.home_in(year),
                key,
            };
            match dataset {
                Dataset::CouncilTax => council_tax(&ctx, rng),
                Dataset::Parking => parking(&ctx, rng),
                Dataset::HousingBenefit => housing_benefit(&ctx, rng),
                Dataset::Library => library(&ctx, rng),
                Dataset::Leisure => leisure(&ctx, rng),
                Dataset::Electoral => electoral(&ctx, rng),
            }
        };
        let key = i * MAX_ROWS_PER_PERSON + seq as u64;
        let text = render(key, &mut rng);
        let duplicated = plan.duplicated && rows + 2 <= keep_rows;
        rows += 1 + u64::from(duplicated);
        if duplicated && dataset.table().is_some() {
            // A primary key cannot repeat in a table, so the SQL systems' duplicate is a
            // second registration of the same person: a new id, typed afresh.
            let again = render(key + MAX_ROWS_PER_PERSON / 2, &mut rng);
            out.push(Rendered {
                dataset,
                text,
                duplicated: false,
            });
            out.push(Rendered {
                dataset,
                text: again,
                duplicated: false,
            });
        } else {
            out.push(Rendered {
                dataset,
                text,
                duplicated,
            });
        }
    }
    out
}

/// The dataset a record moves to when its person was too young for the planned one.
fn eligible(d: Dataset, birth_year: u16) -> Dataset {
    let fits = |d: Dataset| {
        let (lo, hi) = d.years_for(birth_year);
        lo <= hi
    };
    if fits(d) {
        return d;
    }
    [
        Dataset::Electoral,
        Dataset::Parking,
        Dataset::Leisure,
        Dataset::Library,
    ]
    .into_iter()
    .find(|&d| fits(d))
    .unwrap_or(Dataset::Library)
}

/// What a renderer needs about one record.
struct Ctx<'a> {
    seed: u64,
    p: &'a Person,
    date: Day,
    home: &'a Address,
    /// Unique per (person, record), and below `people * MAX_ROWS_PER_PERSON`:
    /// seeds reference numbers.
    key: u64,
}

impl Ctx<'_> {
    /// A reference number `digits` long, unique to this record among its dataset's
    /// records when `digits` ≥ 10 (keys stay below 30 million people × 48 < 9 × 10^9).
    fn reference(&self, tag: u64, digits: u32) -> u64 {
        let n = 10u64.pow(digits - 1);
        n + permute(self.key, 9 * n, hash3(self.seed, tag, 0))
    }

    fn email(&self) -> Option<&String> {
        self.p.email_in(self.date.year)
    }

    fn mobile(&self) -> Option<&Phone> {
        self.p.mobile_in(self.date.year)
    }

    /// The email in use then, else the earliest one they ever had.
    fn any_email(&self) -> Option<&String> {
        self.email().or(self.p.emails.first().map(|d| &d.value))
    }

    /// The mobile in use then, else the landline, else the earliest mobile.
    fn any_phone(&self) -> Option<&Phone> {
        self.mobile()
            .or(self.p.landline.as_ref())
            .or(self.p.mobiles.first().map(|d| &d.value))
    }
}

fn present(rng: &mut Rng, p: f64) -> bool {
    rng.chance(p)
}

/// Appends a CSV/TSV field, quoted only when it must be.
fn field(out: &mut String, value: &str, delimiter: char) {
    if value.contains([delimiter, '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// A delimited line from its fields.
fn line(fields: &[String], delimiter: char, eol: &str) -> String {
    let mut out = String::with_capacity(fields.iter().map(String::len).sum::<usize>() + 32);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        field(&mut out, f, delimiter);
    }
    out.push_str(eol);
    out
}

/// Names as an old all-caps system without accents stored them.
fn fold(s: &str) -> String {
    deunicode::deunicode(s)
}

fn money(rng: &mut Rng, lo: i64, hi: i64) -> String {
    let span = (hi - lo).max(1) as u64;
    let pence = lo * 100 + rng.below(span * 100) as i64;
    let sign = if pence < 0 { "-" } else { "" };
    let a = pence.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// The first name as a person gives it on an informal form: sometimes a nickname.
fn informal_first(p: &Person, rng: &mut Rng, p_nick: f64) -> String {
    let nicks = tables().nicknames_of(&p.first);
    if !nicks.is_empty() && rng.chance(p_nick) {
        rng.pick(nicks).clone()
    } else {
        p.first.clone()
    }
}

fn council_tax(c: &Ctx, rng: &mut Rng) -> String {
    let p = c.p;
    // The 2006 revenues system stored most names in capitals and without accents.
    let case = Case::random(rng, 0.35, 0.02);
    let strip = rng.chance(0.7);
    let name = |s: &str, rng: &mut Rng| {
        let s = if strip { fold(s) } else { s.to_string() };
        typed(&s, rng, 0.02, case)
    };
    let initial_only = rng.chance(0.03);
    let forename = if initial_only {
        p.first.chars().take(1).collect()
    } else {
        match (&p.middle, rng.chance(0.25)) {
            (Some(m), true) => name(&format!("{} {m}", p.first), rng),
            _ => name(&p.first, rng),
        }
    };
    let surname = name(&p.last, rng);
    let title = if rng.chance(0.1) {
        String::new()
    } else {
        case.apply(p.title)
    };
    let mut dob = present(rng, 0.94).then(|| p.dob.format(DateStyle::DayMonthYear));
    let tel = present(rng, 0.55)
        .then(|| {
            p.landline
                .as_ref()
                .filter(|_| rng.chance(0.6))
                .or(c.mobile())
        })
        .flatten()
        .map(|t| t.messy(rng));
    let email = present(rng, 0.4)
        .then(|| c.email().map(|e| messy_email(e, rng)))
        .flatten();
    if dob.is_none() && (initial_only || (tel.is_none() && email.is_none())) {
        dob = Some(p.dob.format(DateStyle::DayMonthYear));
    }
    let h = c.home;
    let first_line = h.first_line();
    let address = match rng.index(20) {
        0 => match h.flat {
            Some(f) => format!("Flat {f}\n{} {}\nLondon", h.house_number(), h.street_name()),
            None => format!("{}\nLondon", first_line),
        },
        1..=8 => format!("{first_line}, London"),
        9..=13 => format!("{first_line}, {}, London", h.locality()),
        _ => first_line,
    };
    let address = case.apply(&if strip { fold(&address) } else { address });
    let postcode = if present(rng, 0.98) {
        h.postcode.messy(rng)
    } else {
        String::new()
    };
    let uprn = if present(rng, 0.75) {
        h.uprn.to_string()
    } else {
        String::new()
    };
    let (method, sort, acct) = if rng.chance(0.55) {
        (
            "Direct Debit".to_string(),
            messy_sort_code(&p.bank.0, rng),
            p.bank.1.clone(),
        )
    } else {
        (
            rng.pick(&["Cash", "Cheque", "Online", "Standing Order"])
                .to_string(),
            String::new(),
            String::new(),
        )
    };
    let band = rng.pick(&["A", "B", "C", "C", "D", "D", "D", "E", "E", "F", "G", "H"]);
    line(
        &[
            c.reference(0x4354, 10).to_string(),
            title,
            forename,
            surname,
            dob.unwrap_or_default(),
            address,
            postcode,
            uprn,
            tel.unwrap_or_default(),
            email.unwrap_or_default(),
            method,
            sort,
            acct,
            band.to_string(),
            money(rng, -200, 1800),
            c.date.format(DateStyle::DayMonthYear),
        ],
        ',',
        "\r\n",
    )
}

const PARKING_NOTES: [&str; 10] = [
    "Renewal",
    "Visitor permit issued",
    "Car changed - see previous permit",
    "Refund requested",
    "Blue badge holder",
    "Paid by card over phone",
    "Temporary permit, V5 to follow",
    "Proof of address seen: council tax bill",
    "Moved within zone",
    "Customer's 2nd car",
];

fn parking(c: &Ctx, rng: &mut Rng) -> String {
    let p = c.p;
    let mut mobile = present(rng, 0.85)
        .then(|| c.mobile().map(|m| m.messy(rng)))
        .flatten();
    let email = present(rng, 0.75)
        .then(|| c.email().map(|e| messy_email(e, rng)))
        .flatten();
    if mobile.is_none() && email.is_none() {
        mobile = c.any_phone().map(|m| m.messy(rng));
    }
    let email = match (&mobile, email) {
        (None, None) => c.any_email().cloned(),
        (_, e) => e,
    };
    let reachable = mobile.is_some() || email.is_some();
    let first = informal_first(p, rng, 0.08);
    let case = Case::random(rng, 0.1, 0.05);
    let holder = match rng.index(20) {
        0..=12 => format!("{first} {}", p.last),
        13..=15 => format!("{}, {first}", p.last.to_uppercase()),
        16..=17 => format!("{} {first} {}", p.title, p.last),
        18 if reachable => format!("{}. {}", first.chars().next().unwrap_or('X'), p.last),
        _ => match &p.middle {
            Some(m) => format!("{first} {m} {}", p.last),
            None => format!("{first} {}", p.last),
        },
    };
    let holder = typed(&holder, rng, 0.02, case);
    let h = c.home;
    let house = match (h.flat, rng.index(4)) {
        (Some(f), 0) => format!("{f}/{}", h.house_number()),
        (Some(f), 1 | 2) => format!("Flat {f}, {}", h.house_number()),
        (Some(f), _) => format!("{} (Flat {f})", h.house_number()),
        (None, _) => h.house_number(),
    };
    let street = {
        let s = h.street_name();
        let s = if rng.chance(0.1) {
            s.replace(" Street", " St").replace(" Road", " Rd")
        } else {
            s.to_string()
        };
        typed(&s, rng, 0.01, case)
    };
    let postcode = if present(rng, 0.97) {
        h.postcode.messy(rng)
    } else {
        String::new()
    };
    // Mostly their usual car, unless it was not on the road yet.
    let usual = values::registration_year(&p.vehicle).is_some_and(|y| y <= c.date.year);
    let vehicle = if usual && rng.chance(0.9) {
        p.vehicle.clone()
    } else {
        let year = rng.range(2006, u32::from(c.date.year)) as u16;
        values::vehicle_registration(rng, year)
    };
    let vehicle = match rng.index(10) {
        0 => vehicle.replace(' ', ""),
        1 => vehicle.to_lowercase(),
        _ => vehicle,
    };
    let expires = Day::new(c.date.year + 1, c.date.month, c.date.day)
        .unwrap_or(Day {
            year: c.date.year + 1,
            month: c.date.month,
            day: 28,
        })
        .format(DateStyle::Iso);
    let zone = format!(
        "{}{}",
        (b'A' + (hash3(0, c.home.street as u64, 0) % 7) as u8) as char,
        1 + hash3(1, c.home.street as u64, 0) % 4
    );
    let notes = if rng.chance(0.2) {
        rng.pick(&PARKING_NOTES).to_string()
    } else {
        String::new()
    };
    line(
        &[
            format!("RP{}", c.reference(0x5250, 10)),
            vehicle,
            holder,
            mobile.unwrap_or_default(),
            email.unwrap_or_default(),
            house,
            street,
            postcode,
            c.date.format(DateStyle::Iso),
            expires,
            zone,
            notes,
        ],
        '\t',
        "\n",
    )
}

/// A tiny JSON object writer that keeps keys in the order a system emits them.
struct Json(String);

impl Json {
    fn new() -> Json {
        Json(String::from("{"))
    }
    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(k);
        self.0.push_str("\":");
    }
    fn str(&mut self, k: &str, v: Option<&str>) -> &mut Json {
        self.key(k);
        match v {
            // Serialising a &str cannot fail; "null" keeps the line valid regardless.
            Some(v) => self
                .0
                .push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into())),
            None => self.0.push_str("null"),
        }
        self
    }
    fn raw(&mut self, k: &str, v: &str) -> &mut Json {
        self.key(k);
        self.0.push_str(v);
        self
    }
    fn obj(&mut self, k: &str, v: Json) -> &mut Json {
        let s = v.finish();
        self.raw(k, &s)
    }
    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

fn housing_benefit(c: &Ctx, rng: &mut Rng) -> String {
    let p = c.p;
    let case = Case::random(rng, 0.08, 0.04);
    let mut name = Json::new();
    name.str("title", rng.chance(0.9).then_some(p.title))
        .str("first", Some(&typed(&p.first, rng, 0.015, case)));
    if rng.chance(0.7) {
        name.str("middle", p.middle.as_deref());
    }
    name.str("last", Some(&typed(&p.last, rng, 0.015, case)));
    let mut claimant = Json::new();
    claimant.obj("name", name);
    let nino = present(rng, 0.92).then(|| p.ni.messy(rng));
    // A claim without NI number always has the date of birth it was checked against.
    let dob = (nino.is_none() || present(rng, 0.97)).then(|| p.dob.format(DateStyle::Iso));
    claimant.str("dob", dob.as_deref());
    claimant.str("nino", nino.as_deref());
    claimant.str("gender", Some(p.sex.letter()));

    let mut phones = Vec::new();
    if let Some(m) = c.mobile().filter(|_| rng.chance(0.8)) {
        phones.push(m.messy(rng));
    }
    if let Some(l) = p.landline.as_ref().filter(|_| rng.chance(0.7)) {
        phones.push(l.messy(rng));
    }
    let phones = serde_json::to_string(&phones).unwrap_or_else(|_| "[]".into());
    let mut contact = Json::new();
    contact.str(
        "email",
        present(rng, 0.6)
            .then(|| c.email().map(|e| messy_email(e, rng)))
            .flatten()
            .as_deref(),
    );
    contact.raw("phones", &phones);

    let h = c.home;
    let mut address = Json::new();
    address
        .str("line1", Some(&h.first_line()))
        .str("line2", rng.chance(0.6).then(|| h.locality()))
        .str(
            "town",
            Some(if rng.chance(0.9) { "London" } else { "LONDON" }),
        )
        .str(
            "postcode",
            present(rng, 0.99).then(|| h.postcode.messy(rng)).as_deref(),
        );
    if rng.chance(0.8) {
        address.str("uprn", Some(&h.uprn.to_string()));
    }

    let mut household = Json::new();
    household
        .raw("dependants", &rng.range(0, 4).to_string())
        .raw("partner", if rng.chance(0.4) { "true" } else { "false" });

    let mut out = Json::new();
    out.str(
        "claim_id",
        Some(&format!("HB/{}/{}", c.date.year, c.reference(0x4842, 10))),
    )
    .obj("claimant", claimant)
    .obj("contact", contact)
    .obj("address", address)
    .obj("household", household);
    if rng.chance(0.8) {
        let mut pay = Json::new();
        pay.str("sort_code", Some(&p.bank.0))
            .str("account_number", Some(&p.bank.1));
        out.obj("payment", pay);
    }
    let submitted = format!("{}T{}Z", c.date.format(DateStyle::Iso), office_time(rng));
    out.str("submitted", Some(&submitted))
        .str(
            "status",
            Some(*rng.pick(&[
                "awarded",
                "awarded",
                "awarded",
                "refused",
                "withdrawn",
                "pending",
            ])),
        )
        .raw("weekly_award", &money(rng, 20, 380));
    let mut s = out.finish();
    s.push('\n');
    s
}

/// Appends an SQL string literal (MySQL escaping) or NULL.
fn sql_str(out: &mut String, v: Option<&str>) {
    let Some(v) = v else {
        out.push_str("NULL");
        return;
    };
    out.push('\'');
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// An SQL tuple from already-rendered values (`'…'`, `NULL`, numbers).
fn tuple(values: &[String]) -> String {
    let mut out = String::with_capacity(values.iter().map(String::len).sum::<usize>() + 16);
    out.push('(');
    out.push_str(&values.join(","));
    out.push(')');
    out
}

fn q(v: Option<&str>) -> String {
    let mut s = String::new();
    sql_str(&mut s, v);
    s
}

const BRANCHES: [&str; 16] = [
    "Kensington Central Library",
    "Chelsea Library",
    "Marylebone Library",
    "Paddington Library",
    "Church Street Library",
    "Fulham Library",
    "Hammersmith Library",
    "Shepherd's Bush Library",
    "St John's Wood Library",
    "Pimlico Library",
    "Notting Hill Gate Library",
    "Brompton Library",
    "North Kensington Library",
    "Maida Vale Library",
    "Queen's Park Library",
    "Westminster Reference Library",
];

const LIBRARY_NOTES: [&str; 6] = [
    "Lost card replaced",
    "Prefers large print",
    "Address checked 'in person'",
    "Housebound service\nDeliveries fortnightly",
    "Fines waived by manager",
    "Uses \"Ms\" not Mrs",
];

fn library(c: &Ctx, rng: &mut Rng) -> String {
    let p = c.p;
    let case = Case::random(rng, 0.05, 0.08);
    let mut dob = present(rng, 0.9).then(|| p.dob.format(DateStyle::Iso));
    let email = present(rng, 0.7)
        .then(|| c.email().map(|e| messy_email(e, rng)))
        .flatten();
    let phone = present(rng, 0.6)
        .then(|| c.mobile().or(p.landline.as_ref()).map(|m| m.messy(rng)))
        .flatten();
    if dob.is_none() && email.is_none() && phone.is_none() {
        dob = Some(p.dob.format(DateStyle::Iso));
    }
    let h = c.home;
    let joined = format!("{} {}", c.date.format(DateStyle::Iso), office_time(rng));
    let notes = rng.chance(0.06).then(|| *rng.pick(&LIBRARY_NOTES));
    tuple(&[
        c.reference(0x4C49, 10).to_string(),
        q(Some(&format!("2{}", c.reference(0x4243, 13)))),
        q(rng.chance(0.8).then_some(p.title)),
        q(Some(&typed(&p.first, rng, 0.015, case))),
        q(Some(&typed(&p.last, rng, 0.015, case))),
        q(dob.as_deref()),
        q(rng.chance(0.85).then(|| p.sex.letter())),
        q(email.as_deref()),
        q(phone.as_deref()),
        q(Some(&case.apply(&h.first_line()))),
        q(rng.chance(0.5).then(|| h.locality())),
        q(present(rng, 0.97).then(|| h.postcode.messy(rng)).as_deref()),
        q(Some(&joined)),
        q(Some(*rng.pick(&BRANCHES))),
        money(rng, 0, 12),
        q(notes),
    ])
}

const ACTIVITIES: [&str; 10] = [
    "Swim - Adult",
    "Gym Induction",
    "Badminton Court",
    "Squash Court",
    "Yoga",
    "Spin Class",
    "Aqua Aerobics",
    "Tennis Court",
    "Pilates",
    "Football 5-a-side",
];

const CENTRES: [&str; 6] = [
    "Kensington Leisure Centre",
    "Chelsea Sports Centre",
    "Porchester Centre",
    "Queen Mother Sports Centre",
    "Lillie Road Fitness Centre",
    "Phoenix Fitness Centre",
];

fn leisure(c: &Ctx, rng: &mut Rng) -> String {
    let p = c.p;
    let mut email = present(rng, 0.8)
        .then(|| c.email().map(|e| messy_email(e, rng)))
        .flatten();
    let mobile = present(rng, 0.75)
        .then(|| c.mobile().map(|m| m.messy(rng)))
        .flatten();
    if email.is_none() && mobile.is_none() {
        email = c.any_email().cloned();
    }
    let mobile = match (&email, mobile) {
        (None, None) => c.any_phone().map(|m| m.messy(rng)),
        (_, m) => m,
    };
    let first = informal_first(p, rng, 0.12);
    let name = match rng.index(10) {
        0..=5 => format!("{first} {}", p.last),
        6 => format!("{} {first}", p.last),
        7 => format!("{}, {first}", p.last),
        8 => format!("{} {first} {}", p.title, p.last),
        _ => format!("{first} {}", p.last).to_lowercase(),
    };
    let name = spaces(&name, rng, 0.03);
    let name = if rng.chance(0.015) {
        typo(&name, rng)
    } else {
        name
    };
    let when = format!(
        "{} {:02}:{}:00",
        c.date.format(DateStyle::Iso),
        rng.range(7, 21),
        rng.pick(&["00", "30"])
    );
    let paid = match rng.index(4) {
        0 => "cash".to_string(),
        1 => "membership".to_string(),
        _ => format!("card ending {:04}", rng.below(10_000)),
    };
    tuple(&[
        c.reference(0x4C45, 10).to_string(),
        q(Some(&name)),
        q(email.as_deref()),
        q(mobile.as_deref()),
        q(Some(*rng.pick(&ACTIVITIES))),
        q(Some(*rng.pick(&CENTRES))),
        q(Some(&when)),
        money(rng, 3, 45),
        q(Some(&paid)),
    ])
}

fn electoral(c: &Ctx, rng: &mut Rng) -> String {
    let p = c.p;
    let case = Case::random(rng, 0.2, 0.02);
    let forenames = match &p.middle {
        Some(m) if rng.chance(0.6) => format!("{} {m}", p.first),
        _ => p.first.clone(),
    };
    let h = c.home;
    let district = &h.postcode.outward;
    let house = match h.flat {
        Some(f) => format!("Flat {f}, {}", h.house_number()),
        None => h.house_number(),
    };
    let mut dob = if present(rng, 0.96) {
        p.dob.format(DateStyle::DayMonName)
    } else {
        String::new()
    };
    let ni = present(rng, 0.7).then(|| p.ni.messy(rng));
    let email = present(rng, 0.5)
        .then(|| c.email().map(|e| messy_email(e, rng)))
        .flatten();
    let tel = present(rng, 0.5)
        .then(|| c.mobile().or(p.landline.as_ref()).map(|t| t.messy(rng)))
        .flatten();
    if dob.is_empty() && ni.is_none() && email.is_none() && tel.is_none() {
        dob = p.dob.format(DateStyle::DayMonName);
    }
    line(
        &[
            format!(
                "{}{}-{}",
                district.get(..1).unwrap_or("W"),
                (b'A' + (c.key % 5) as u8) as char,
                // Elector numbers only run within one polling district's register,
                // so they repeat across the archive as real ones do.
                c.reference(0x454C, 4)
            ),
            case.apply(p.title),
            typed(&forenames, rng, 0.01, case),
            typed(&p.last, rng, 0.01, case),
            dob,
            ni.unwrap_or_default(),
            house,
            case.apply(h.street_name()),
            if rng.chance(0.9) { "London" } else { "LONDON" }.to_string(),
            h.postcode.messy(rng),
            email.unwrap_or_default(),
            tel.unwrap_or_default(),
            c.date.format(DateStyle::DayMonName),
            rng.pick(&["Online", "Online", "Paper", "Canvass"])
                .to_string(),
        ],
        ';',
        "\r\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(i: u64) -> Person {
        Person::dump(42, i)
    }

    #[test]
    fn plans_are_deterministic_and_non_empty() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut total = 0;
        for i in 0..2000 {
            plan(42, i, &mut a);
            plan(42, i, &mut b);
            assert_eq!(a, b);
            assert!(!a.is_empty());
            assert!(2 * a.len() as u64 <= MAX_ROWS_PER_PERSON);
            total += plan_rows(&a);
        }
        let mean = total as f64 / 2000.0;
        assert!((2.0..3.5).contains(&mean), "{mean}");
    }

    #[test]
    fn records_fall_in_their_dataset_years_and_ages() {
        let mut planned = Vec::new();
        for i in 0..300 {
            let p = person(i);
            plan(42, i, &mut planned);
            for r in render_person(42, i, &p, &planned, u64::MAX) {
                let (lo, hi) = r.dataset.years_for(p.dob.year);
                assert!(lo <= hi, "{:?} for someone born {}", r.dataset, p.dob.year);
            }
        }
    }

    #[test]
    fn truncation_keeps_exactly_the_rows_asked() {
        let mut planned = Vec::new();
        for i in 0..300 {
            plan(42, i, &mut planned);
            let full = plan_rows(&planned);
            for keep in 1..=full {
                let r = render_person(42, i, &person(i), &planned, keep);
                let rows: u64 = r.iter().map(|x| 1 + u64::from(x.duplicated)).sum();
                assert_eq!(rows, keep);
            }
        }
    }

    #[test]
    fn csv_rows_parse_with_the_right_width() {
        let mut planned = Vec::new();
        for i in 0..400 {
            plan(42, i, &mut planned);
            for r in render_person(42, i, &person(i), &planned, u64::MAX) {
                let (delim, width) = match r.dataset {
                    Dataset::CouncilTax => (b',', 16),
                    Dataset::Parking => (b'\t', 12),
                    Dataset::Electoral => (b';', 14),
                    _ => continue,
                };
                let mut rd = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .delimiter(delim)
                    .from_reader(r.text.as_bytes());
                let recs: Vec<_> = rd.records().collect::<Result<_, _>>().unwrap();
                assert_eq!(recs.len(), 1, "{}", r.text);
                assert_eq!(recs[0].len(), width, "{}", r.text);
            }
        }
    }

    #[test]
    fn jsonl_rows_are_single_line_json_with_nested_objects() {
        let mut planned = Vec::new();
        let mut seen = 0;
        for i in 0..600 {
            plan(42, i, &mut planned);
            for r in render_person(42, i, &person(i), &planned, u64::MAX) {
                if r.dataset != Dataset::HousingBenefit {
                    continue;
                }
                seen += 1;
                assert_eq!(r.text.matches('\n').count(), 1);
                let v: serde_json::Value = serde_json::from_str(&r.text).unwrap();
                assert!(v["claimant"]["name"]["last"].is_string());
                assert!(v["contact"]["phones"].is_array());
                assert!(v["submitted"].as_str().unwrap().ends_with('Z'));
            }
        }
        assert!(seen > 10);
    }

    #[test]
    fn every_record_identifies_its_person() {
        let mut planned = Vec::new();
        for i in 0..3000 {
            let p = person(i);
            plan(42, i, &mut planned);
            for r in render_person(42, i, &p, &planned, u64::MAX) {
                let t = r.text.to_lowercase();
                let dob_iso = p.dob.format(DateStyle::Iso);
                let dob_uk = p.dob.format(DateStyle::DayMonthYear);
                let dob_mon = p.dob.format(DateStyle::DayMonName).to_lowercase();
                let has_dob = t.contains(&dob_iso) || t.contains(&dob_uk) || t.contains(&dob_mon);
                let has_email = p.emails.iter().any(|e| t.contains(&e.value.to_lowercase()));
                let digits: String = t.chars().filter(char::is_ascii_digit).collect();
                let has_phone = p
                    .mobiles
                    .iter()
                    .map(|m| &m.value)
                    .chain(p.landline.as_ref())
                    .any(|m| digits.contains(m.0.get(1..).unwrap()));
                let ni_stem = p.ni.0.get(..2).unwrap().to_lowercase();
                let has_ni = t.contains(&ni_stem) && r.dataset != Dataset::Leisure;
                assert!(
                    has_dob || has_email || has_phone || has_ni,
                    "{:?} row lacks an identifier: {}",
                    r.dataset,
                    r.text
                );
            }
        }
    }

    #[test]
    fn sql_strings_are_escaped() {
        let mut s = String::new();
        sql_str(&mut s, Some("O'Brien \"x\" \\ a\nb"));
        assert_eq!(s, r#"'O\'Brien \"x\" \\ a\nb'"#);
        assert_eq!(q(None), "NULL");
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(line(&["a".into(), "b,c".into()], ',', "\n"), "a,\"b,c\"\n");
        assert_eq!(
            line(&["say \"hi\"".into()], ';', "\n"),
            "\"say \"\"hi\"\"\"\n"
        );
        assert_eq!(
            line(&["x\ny".into(), "z".into()], '\t', "\n"),
            "\"x\ny\"\tz\n"
        );
    }
}
