//! The synthetic population: who a person is (names, date of birth, homes over the
//! years, emails, phones, NI number, bank account) before any system writes them down.
//!
//! A dump person `i` and a fresh resident `j` are pure functions of `(seed, i)` and
//! `(seed, j)`; nothing depends on which block or thread built them. Every person has
//! an `id` (dump: `2i`, fresh: `2j + 1`) from which their unique identifiers are
//! derived, so phones, NI numbers and accounts never collide between two people.

use super::rng::{Rng, Stream, hash3};
use super::tables::tables;
use super::values::{self, Day, EmailGeneration, NiNumber, Phone, Postcode};

/// First year the archive covers.
pub const FIRST_YEAR: u16 = 2006;
/// Last year the archive covers.
pub const LAST_YEAR: u16 = 2020;

/// Probability that a dump person shares a household with the dump person before.
const HOUSEHOLD_RATE: f64 = 0.22;

/// Female or male (as recorded by the systems of the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
}

impl Sex {
    /// `F` or `M`.
    pub fn letter(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
        }
    }
}

/// A home in one of the three boroughs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Flat number inside the building, when it is a flat.
    pub flat: Option<u16>,
    /// House number on the street.
    pub number: u16,
    /// A letter after the number (`12A`), rare.
    pub letter: Option<char>,
    /// Index into the street table.
    pub street: usize,
    /// Postcode of this stretch of street.
    pub postcode: Postcode,
    /// Unique Property Reference Number (12 digits), one per flat or house.
    pub uprn: u64,
}

impl Address {
    /// A random home.
    pub fn random(seed: u64, rng: &mut Rng) -> Address {
        let t = tables();
        let street = rng.index(t.streets.len());
        let s = &t.streets[street];
        let number = rng.range(1, u32::from(s.max_number)) as u16;
        // Long streets change district part-way along.
        let part = (usize::from(number) * s.outwards.len()) / (usize::from(s.max_number) + 1);
        let outward = s.outwards.get(part).or(s.outwards.first());
        let outward = outward.map(String::as_str).unwrap_or("W8");
        let flat = rng.chance(0.4).then(|| rng.range(1, 24) as u16);
        let letter = (flat.is_none() && rng.chance(0.04)).then(|| *rng.pick(&['A', 'B', 'C']));
        let postcode = Postcode::for_house(seed, street, outward, number);
        // Sequential within a street like the real gazetteer, and unique per unit.
        let letter_code = letter.map_or(0, |c| c as u64 - 'A' as u64 + 1);
        let uprn = 100_020_000_000
            + street as u64 * 60_000
            + u64::from(number) * 120
            + u64::from(flat.unwrap_or(0)) * 4
            + letter_code;
        Address {
            flat,
            number,
            letter,
            street,
            postcode,
            uprn,
        }
    }

    /// The street's name.
    pub fn street_name(&self) -> &'static str {
        tables()
            .streets
            .get(self.street)
            .map(|s| s.name.as_str())
            .unwrap_or("High Street")
    }

    /// `12` or `12A`.
    pub fn house_number(&self) -> String {
        match self.letter {
            Some(c) => format!("{}{c}", self.number),
            None => self.number.to_string(),
        }
    }

    /// `Flat 3, 12 Kensington Church Street` or `12A Abingdon Road`.
    pub fn first_line(&self) -> String {
        match self.flat {
            Some(f) => format!("Flat {f}, {} {}", self.house_number(), self.street_name()),
            None => format!("{} {}", self.house_number(), self.street_name()),
        }
    }

    /// The district's locality (`Kensington`).
    pub fn locality(&self) -> &'static str {
        values::locality(&self.postcode.outward)
    }
}

/// A value that changed at some point: in effect from `from` (a year) onwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated<T> {
    /// First year the value was in use.
    pub from: u16,
    /// The value.
    pub value: T,
}

/// The value in use in `year`, if there was one yet.
pub fn at_year<T>(history: &[Dated<T>], year: u16) -> Option<&T> {
    history
        .iter()
        .rev()
        .find(|d| d.from <= year)
        .map(|d| &d.value)
}

/// A person's homes: always at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    /// The home they had when the archive's years begin (or when they arrived).
    pub first: Address,
    /// Later homes, oldest first, each from the year they moved in.
    pub moves: Vec<Dated<Address>>,
}

impl Homes {
    /// A single home.
    pub fn only(home: Address) -> Homes {
        Homes {
            first: home,
            moves: Vec::new(),
        }
    }

    /// Where they lived in `year`.
    pub fn at(&self, year: u16) -> &Address {
        at_year(&self.moves, year).unwrap_or(&self.first)
    }

    /// The most recent home.
    pub fn latest(&self) -> &Address {
        self.moves.last().map_or(&self.first, |d| &d.value)
    }

    /// How many homes.
    pub fn len(&self) -> usize {
        1 + self.moves.len()
    }

    /// Never empty (there is always a first home); for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One synthetic person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Unique id behind every identifier (dump `2i`, fresh `2j + 1`).
    pub id: u64,
    /// Recorded sex.
    pub sex: Sex,
    /// Mr, Mrs, Ms, Miss, Dr.
    pub title: &'static str,
    /// Given name as on their birth certificate.
    pub first: String,
    /// Middle name, when they have one.
    pub middle: Option<String>,
    /// Family name during 2006–2020.
    pub last: String,
    /// Date of birth.
    pub dob: Day,
    /// Where they lived over the years.
    pub homes: Homes,
    /// Email addresses over time (may start after 2006, may be empty).
    pub emails: Vec<Dated<String>>,
    /// Mobile numbers over time.
    pub mobiles: Vec<Dated<Phone>>,
    /// The household's landline, when it has one.
    pub landline: Option<Phone>,
    /// National Insurance number.
    pub ni: NiNumber,
    /// Sort code and account number.
    pub bank: (String, String),
    /// A car, for parking permits.
    pub vehicle: String,
}

/// How a dump person relates to the household head before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Partner,
    AdultChild,
    Sibling,
}

/// A birth year for a London adult: fewer people at older ages.
fn birth_year(rng: &mut Rng, latest: u16) -> u16 {
    // (first year, last year, weight): roughly the age pyramid of inner London.
    const BANDS: [(u16, u16, u32); 6] = [
        (1920, 1939, 4),
        (1940, 1954, 10),
        (1955, 1969, 18),
        (1970, 1984, 26),
        (1985, 1995, 26),
        (1996, 2008, 16),
    ];
    let bands: Vec<_> = BANDS.iter().filter(|b| b.0 <= latest).collect();
    let total: u32 = bands.iter().map(|b| b.2).sum();
    let mut r = rng.below(u64::from(total)) as u32;
    for &&(lo, hi, w) in &bands {
        if r < w {
            return rng.range(u32::from(lo), u32::from(hi.min(latest))) as u16;
        }
        r -= w;
    }
    latest
}

fn given_name(rng: &mut Rng, sex: Sex) -> String {
    let t = tables();
    match sex {
        Sex::Female => t.female.pick(rng).to_string(),
        Sex::Male => t.male.pick(rng).to_string(),
    }
}

/// A family name; a few are double-barrelled.
pub fn family_name(rng: &mut Rng) -> String {
    let t = tables();
    let a = t.surnames.pick(rng).to_string();
    if rng.chance(0.02) {
        let b = t.surnames.pick(rng);
        if b != a && !a.contains(' ') && !b.contains(' ') {
            return format!("{a}-{b}");
        }
    }
    a
}

fn title_for(rng: &mut Rng, sex: Sex, married: bool) -> &'static str {
    if rng.chance(0.03) {
        return "Dr";
    }
    match sex {
        Sex::Male => "Mr",
        Sex::Female if married => ["Mrs", "Mrs", "Mrs", "Ms"][rng.index(4)],
        Sex::Female => ["Ms", "Miss", "Miss"][rng.index(3)],
    }
}

/// A given name different from `avoid` and its nicknames (for siblings and twins).
pub fn different_given_name(rng: &mut Rng, sex: Sex, avoid: &str) -> String {
    let t = tables();
    for _ in 0..20 {
        let n = given_name(rng, sex);
        let clash = n == avoid
            || t.nicknames_of(avoid).contains(&n)
            || t.nicknames_of(&n).iter().any(|x| x == avoid);
        if !clash {
            return n;
        }
    }
    if avoid == "Alexandra" {
        "Beatrice"
    } else {
        "Alexandra"
    }
    .to_string()
}

/// A home from before 2006, with zero to two moves inside the boroughs by 2020.
fn home_history(seed: u64, rng: &mut Rng) -> Homes {
    let mut homes = Homes::only(Address::random(seed, rng));
    let moves = match rng.index(20) {
        0..=10 => 0,
        11..=16 => 1,
        _ => 2,
    };
    let mut year = FIRST_YEAR;
    for _ in 0..moves {
        year = rng.range(u32::from(year) + 1, u32::from(LAST_YEAR) - 1) as u16;
        if year >= LAST_YEAR {
            break;
        }
        homes.moves.push(Dated {
            from: year,
            value: Address::random(seed, rng),
        });
    }
    homes
}

struct Core {
    sex: Sex,
    first: String,
    middle: Option<String>,
    last: String,
    dob: Day,
}

fn core(rng: &mut Rng, latest_birth_year: u16) -> Core {
    let sex = if rng.chance(0.51) {
        Sex::Female
    } else {
        Sex::Male
    };
    let first = given_name(rng, sex);
    let middle = rng.chance(0.35).then(|| given_name(rng, sex));
    let last = family_name(rng);
    let year = birth_year(rng, latest_birth_year);
    let dob = Day::random_in_year(rng, year);
    Core {
        sex,
        first,
        middle,
        last,
        dob,
    }
}

/// Contact details and identifiers, all derived from `id`.
fn contacts(
    seed: u64,
    rng: &mut Rng,
    id: u64,
    first: &str,
    last: &str,
    since: u16,
) -> (Vec<Dated<String>>, Vec<Dated<Phone>>) {
    let mut emails = Vec::new();
    if rng.chance(0.9) {
        let from = if rng.chance(0.7) {
            since
        } else {
            rng.range(u32::from(since), u32::from(LAST_YEAR)) as u16
        };
        let n = values::email_number(seed, id, EmailGeneration::First);
        let e = values::email_for(rng, first, last, n);
        emails.push(Dated { from, value: e });
        if rng.chance(0.2) {
            let later = rng.range(u32::from(from) + 1, u32::from(LAST_YEAR) + 2) as u16;
            let n = values::email_number(seed, id, EmailGeneration::Later);
            emails.push(Dated {
                from: later,
                value: values::email_for(rng, first, last, n),
            });
        }
    }
    let mut mobiles = Vec::new();
    if rng.chance(0.92) {
        mobiles.push(Dated {
            from: since,
            value: Phone::mobile(seed, id, 0),
        });
        if rng.chance(0.15) {
            let later = rng.range(u32::from(since) + 1, u32::from(LAST_YEAR) + 2) as u16;
            mobiles.push(Dated {
                from: later,
                value: Phone::mobile(seed, id, 1),
            });
        }
    }
    (emails, mobiles)
}

impl Person {
    /// Dump person `i`: lived in the boroughs during 2006–2020; may share a household
    /// (homes, landline, often the surname) with dump person `i - 1`.
    pub fn dump(seed: u64, i: u64) -> Person {
        Person::dump_after(seed, i, None)
    }

    /// [`Person::dump`], given dump person `i - 1` when the caller already built them
    /// (a household head is never a member, so they are their own independent self).
    pub fn dump_after(seed: u64, i: u64, previous: Option<&Person>) -> Person {
        let mut p = Person::independent(seed, i);
        if let Some(head) = household_head(seed, i) {
            match previous {
                Some(prev) if prev.id == 2 * head => p.join_household(seed, i, prev),
                _ => p.join_household(seed, i, &Person::independent(seed, head)),
            }
        }
        p
    }

    /// Dump person `i` generated as if they lived alone.
    fn independent(seed: u64, i: u64) -> Person {
        let mut rng = Rng::for_item(seed, Stream::DumpPerson, i);
        // Everyone in the dump is an adult by 2020.
        let c = core(&mut rng, 2002);
        let homes = home_history(seed, &mut rng);
        Person::assemble(seed, &mut rng, 2 * i, c, homes, FIRST_YEAR)
    }

    fn assemble(seed: u64, rng: &mut Rng, id: u64, c: Core, homes: Homes, since: u16) -> Person {
        let married = c.sex == Sex::Female && c.dob.year < 1995 && rng.chance(0.5);
        let title = title_for(rng, c.sex, married);
        let (emails, mobiles) = contacts(seed, rng, id, &c.first, &c.last, since);
        let landline = rng.chance(0.3).then(|| Phone::landline(seed, id));
        let ni = NiNumber::for_id(seed, id, ni_prefixes());
        let bank = values::bank_details(seed, id, 0);
        let car_year = rng.range(2006, 2020) as u16;
        let vehicle = values::vehicle_registration(rng, car_year);
        Person {
            id,
            sex: c.sex,
            title,
            first: c.first,
            middle: c.middle,
            last: c.last,
            dob: c.dob,
            homes,
            emails,
            mobiles,
            landline,
            ni,
            bank,
            vehicle,
        }
    }

    fn join_household(&mut self, seed: u64, i: u64, head: &Person) {
        let mut rng = Rng::for_item(seed, Stream::Household, i);
        let relation = match rng.index(10) {
            0..=4 => Relation::Partner,
            5..=7 => Relation::AdultChild,
            _ => Relation::Sibling,
        };
        let same_surname = match relation {
            Relation::Partner => rng.chance(0.6),
            Relation::AdultChild => rng.chance(0.85),
            Relation::Sibling => true,
        };
        if same_surname {
            self.last = head.last.clone();
        }
        match relation {
            Relation::Partner => {
                self.sex = if rng.chance(0.9) {
                    match head.sex {
                        Sex::Female => Sex::Male,
                        Sex::Male => Sex::Female,
                    }
                } else {
                    head.sex
                };
                let offset = rng.range(0, 12) as i32 - 6;
                let year = (i32::from(head.dob.year) + offset).clamp(1920, 2002) as u16;
                self.dob = Day::random_in_year(&mut rng, year);
            }
            Relation::AdultChild => {
                let year = (head.dob.year + rng.range(20, 38) as u16).min(2002);
                self.dob = Day::random_in_year(&mut rng, year);
            }
            Relation::Sibling => {
                let offset = rng.range(1, 8) as i32 * if rng.chance(0.5) { 1 } else { -1 };
                let year = (i32::from(head.dob.year) + offset).clamp(1920, 2002) as u16;
                self.dob = Day::random_in_year(&mut rng, year);
            }
        }
        self.first = different_given_name(&mut rng, self.sex, &head.first);
        self.title = title_for(&mut rng, self.sex, relation == Relation::Partner);
        self.homes = head.homes.clone();
        self.landline = head.landline.clone();
        // Emails were derived from the independent name; redo them for the real one.
        let (emails, _) = contacts(seed, &mut rng, self.id, &self.first, &self.last, FIRST_YEAR);
        self.emails = emails;
    }

    /// Fresh resident `j`: on today's register, never in the dump (moved in after
    /// 2020, or never used a council service that was copied).
    pub fn fresh(seed: u64, j: u64) -> Person {
        let mut rng = Rng::for_item(seed, Stream::Fresh, j);
        let c = core(&mut rng, 2008);
        let homes = Homes::only(Address::random(seed, &mut rng));
        Person::assemble(seed, &mut rng, 2 * j + 1, c, homes, LAST_YEAR)
    }

    /// Where they lived in `year`.
    pub fn home_in(&self, year: u16) -> &Address {
        self.homes.at(year)
    }

    /// Their most recent home.
    pub fn latest_home(&self) -> &Address {
        self.homes.latest()
    }

    /// Email in use in `year`.
    pub fn email_in(&self, year: u16) -> Option<&String> {
        at_year(&self.emails, year)
    }

    /// Mobile in use in `year`.
    pub fn mobile_in(&self, year: u16) -> Option<&Phone> {
        at_year(&self.mobiles, year)
    }

    /// Most recent email.
    pub fn latest_email(&self) -> Option<&String> {
        self.emails.last().map(|d| &d.value)
    }

    /// Most recent mobile.
    pub fn latest_mobile(&self) -> Option<&Phone> {
        self.mobiles.last().map(|d| &d.value)
    }

    /// `First Last`.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

/// The NI prefixes, computed once.
fn ni_prefixes() -> &'static [[u8; 2]] {
    static P: std::sync::OnceLock<Vec<[u8; 2]>> = std::sync::OnceLock::new();
    P.get_or_init(values::ni_prefixes)
}

/// The dump person whose household `i` joins, if any: `i - 1`, when `i` draws the
/// household flag and `i - 1` did not (so a head is never itself a member).
pub fn household_head(seed: u64, i: u64) -> Option<u64> {
    let flag =
        |k: u64| Rng::new(hash3(seed, Stream::Household as u64 + 100, k)).chance(HOUSEHOLD_RATE);
    (i > 0 && flag(i) && !flag(i - 1)).then(|| i - 1)
}

/// Someone on the register who is NOT in the dump but looks like a dumped person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardNegative {
    /// Same first and last name, different date of birth, lives elsewhere.
    Namesake,
    /// Same surname and home, different first name and date of birth.
    FamilyMember,
    /// Same surname, date of birth and home, different first name.
    Twin,
}

impl HardNegative {
    /// Every kind, in the order the summary counts them.
    pub const ALL: [HardNegative; 3] = [
        HardNegative::Namesake,
        HardNegative::FamilyMember,
        HardNegative::Twin,
    ];

    /// Name in `hard_negatives.csv` and in `bench --json`.
    pub fn label(self) -> &'static str {
        match self {
            HardNegative::Namesake => "namesake",
            HardNegative::FamilyMember => "family_member",
            HardNegative::Twin => "twin",
        }
    }

    /// Name used in the summary.
    pub fn name(self) -> &'static str {
        match self {
            HardNegative::Namesake => "namesake",
            HardNegative::FamilyMember => "family member",
            HardNegative::Twin => "twin",
        }
    }
}

/// Fresh resident `j` remade as a hard negative of the dumped person `base`.
pub fn hard_negative(seed: u64, j: u64, kind: HardNegative, base: &Person) -> Person {
    let mut p = Person::fresh(seed, j);
    let mut rng = Rng::for_item(seed, Stream::Fresh, j ^ (1 << 62));
    match kind {
        HardNegative::Namesake => {
            p.sex = base.sex;
            p.first = base.first.clone();
            p.last = base.last.clone();
            while p.dob == base.dob {
                p.dob = Day::random_in_year(&mut rng, p.dob.year);
            }
        }
        HardNegative::FamilyMember => {
            p.last = base.last.clone();
            p.first = different_given_name(&mut rng, p.sex, &base.first);
            while p.dob.year == base.dob.year {
                let year = rng.range(1925, 2008) as u16;
                p.dob = Day::random_in_year(&mut rng, year);
            }
            p.homes = Homes::only(base.latest_home().clone());
            p.landline = base.landline.clone().or(p.landline);
        }
        HardNegative::Twin => {
            p.last = base.last.clone();
            p.first = different_given_name(&mut rng, p.sex, &base.first);
            p.dob = base.dob;
            p.homes = Homes::only(base.latest_home().clone());
        }
    }
    // A fresh email that follows the adopted name, still unique to this person.
    if !p.emails.is_empty() {
        let n = values::email_number(seed, p.id, EmailGeneration::First);
        p.emails = vec![Dated {
            from: LAST_YEAR,
            value: values::email_for(&mut rng, &p.first, &p.last, n),
        }];
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_people_are_deterministic() {
        for i in 0..200 {
            let a = Person::dump(42, i);
            let b = Person::dump(42, i);
            assert_eq!(a.first, b.first);
            assert_eq!(a.last, b.last);
            assert_eq!(a.dob, b.dob);
            assert_eq!(a.homes, b.homes);
            assert_eq!(a.emails, b.emails);
            assert_eq!(a.id, 2 * i);
        }
        let differs = (0..50).any(|i| Person::dump(42, i).last != Person::dump(43, i).last);
        assert!(differs);
    }

    #[test]
    fn reusing_the_previous_person_changes_nothing() {
        let mut prev: Option<Person> = None;
        for i in 0..400 {
            let a = Person::dump_after(42, i, prev.as_ref());
            let b = Person::dump(42, i);
            assert_eq!(
                (&a.first, &a.last, a.dob, &a.homes),
                (&b.first, &b.last, b.dob, &b.homes)
            );
            assert_eq!((&a.emails, &a.landline), (&b.emails, &b.landline));
            prev = Some(a);
        }
    }

    #[test]
    fn dump_people_are_adults_with_homes() {
        for i in 0..500 {
            let p = Person::dump(7, i);
            assert!((1920..=2002).contains(&p.dob.year), "{:?}", p.dob);
            assert!(p.homes.len() <= 3);
            assert!(p.homes.moves.windows(2).all(|w| w[0].from < w[1].from));
            assert!(
                p.homes
                    .moves
                    .iter()
                    .all(|m| (FIRST_YEAR..LAST_YEAR).contains(&m.from))
            );
            assert_eq!(p.home_in(FIRST_YEAR - 1), &p.homes.first);
            assert!(values::is_valid_ni(&p.ni.0));
            assert!(values::is_uk_postcode(
                &p.latest_home().postcode.canonical()
            ));
        }
    }

    #[test]
    fn households_share_homes_and_landline() {
        let mut found = 0;
        for i in 1..2000 {
            if let Some(h) = household_head(42, i) {
                assert_eq!(h, i - 1);
                assert!(household_head(42, h).is_none(), "a head is never a member");
                let (m, head) = (Person::dump(42, i), Person::dump(42, h));
                assert_eq!(m.homes, head.homes);
                assert_eq!(m.landline, head.landline);
                assert_ne!(m.first, head.first);
                found += 1;
            }
        }
        assert!((200..500).contains(&found), "{found}");
    }

    #[test]
    fn fresh_people_differ_from_dump_people() {
        let d = Person::dump(42, 3);
        let f = Person::fresh(42, 3);
        assert_ne!(d.id, f.id);
        assert_ne!(d.ni, f.ni);
        assert!((1920..=2008).contains(&f.dob.year));
    }

    #[test]
    fn hard_negatives_keep_and_change_the_right_fields() {
        for i in 0..200 {
            let base = Person::dump(42, i);
            let n = hard_negative(42, i, HardNegative::Namesake, &base);
            assert_eq!((&n.first, &n.last), (&base.first, &base.last));
            assert_ne!(n.dob, base.dob);
            let f = hard_negative(42, i, HardNegative::FamilyMember, &base);
            assert_eq!(f.last, base.last);
            assert_ne!(f.first, base.first);
            assert_ne!(f.dob.year, base.dob.year);
            assert_eq!(f.latest_home(), base.latest_home());
            let t = hard_negative(42, i, HardNegative::Twin, &base);
            assert_eq!((&t.last, t.dob), (&base.last, base.dob));
            assert_ne!(t.first, base.first);
            assert_eq!(t.latest_home(), base.latest_home());
            for p in [&n, &f, &t] {
                assert_ne!(p.ni, base.ni);
                if let (Some(a), Some(b)) = (p.latest_mobile(), base.latest_mobile()) {
                    assert_ne!(a, b);
                }
                if let (Some(a), Some(b)) = (p.latest_email(), base.latest_email()) {
                    assert_ne!(a, b);
                }
            }
        }
    }

    #[test]
    fn identifiers_are_never_shared_by_two_people() {
        use std::collections::HashMap;
        // Households share a landline on purpose; everything else must be unique.
        let mut owner: HashMap<String, u64> = HashMap::new();
        let mut clashes = Vec::new();
        let mut claim = |key: String, id: u64| {
            if let Some(&other) = owner.get(&key) {
                if other != id {
                    clashes.push(key);
                }
            } else {
                owner.insert(key, id);
            }
        };
        for i in 0..30_000 {
            let p = Person::dump(42, i);
            for e in &p.emails {
                claim(e.value.to_lowercase(), p.id);
            }
            for m in &p.mobiles {
                claim(m.value.0.clone(), p.id);
            }
            claim(p.ni.0[..8].to_string(), p.id);
            claim(p.bank.1.clone(), p.id);
            let f = Person::fresh(42, i);
            for e in &f.emails {
                claim(e.value.to_lowercase(), f.id);
            }
            claim(f.ni.0[..8].to_string(), f.id);
        }
        assert!(
            clashes.is_empty(),
            "{} shared: {:?}",
            clashes.len(),
            &clashes[..clashes.len().min(5)]
        );
    }

    #[test]
    fn homes_over_time() {
        let homes = vec![
            Dated {
                from: 1990,
                value: 1,
            },
            Dated {
                from: 2010,
                value: 2,
            },
        ];
        assert_eq!(at_year(&homes, 2009), Some(&1));
        assert_eq!(at_year(&homes, 2010), Some(&2));
        assert_eq!(at_year(&homes, 1980), None);
    }
}
