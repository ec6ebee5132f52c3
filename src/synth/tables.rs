//! The reference tables the generator draws people from: given names by sex, family
//! names (a weighted common list plus a composed rare tail), nicknames and streets.
//!
//! The tables are plain text under `data/synth/`, compiled in with `include_str!` and
//! parsed once on first use. Lines starting with `#` are comments.

use super::rng::Rng;
use std::collections::HashMap;
use std::sync::OnceLock;

const FEMALE: &str = include_str!("../../data/synth/first_names_female.txt");
const MALE: &str = include_str!("../../data/synth/first_names_male.txt");
const SURNAMES: &str = include_str!("../../data/synth/surnames.txt");
const SURNAME_PARTS: &str = include_str!("../../data/synth/surname_parts.txt");
const NICKNAMES: &str = include_str!("../../data/synth/nicknames.txt");
const STREETS: &str = include_str!("../../data/synth/streets.txt");
const STREET_STEMS: &str = include_str!("../../data/synth/street_stems.txt");

/// Weight of each composed rare surname, against the common list's weights (Smith is
/// 1000, the list sums to about 31,000): the ~3,700 composed names together carry a
/// little over half the population, as the real long tail of British surnames does,
/// and Smith ends up near its real share of about 1.3%.
const COMPOSED_SURNAME_WEIGHT: u64 = 12;

/// Street types added to the stems of `street_stems.txt`.
const STREET_TYPES: [&str; 12] = [
    "Mews", "Gardens", "Place", "Close", "Court", "Villas", "Terrace", "Square", "Grove",
    "Crescent", "Walk", "Row",
];

/// Items with integer weights, drawn in proportion to their weight.
#[derive(Debug)]
pub struct Weighted {
    items: Vec<String>,
    cumulative: Vec<u64>,
}

impl Weighted {
    fn new(pairs: Vec<(String, u64)>) -> Weighted {
        let mut items = Vec::with_capacity(pairs.len());
        let mut cumulative = Vec::with_capacity(pairs.len());
        let mut total = 0u64;
        for (item, w) in pairs {
            if w == 0 {
                continue;
            }
            total += w;
            items.push(item);
            cumulative.push(total);
        }
        Weighted { items, cumulative }
    }

    /// One item, drawn in proportion to its weight.
    pub fn pick(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let r = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= r);
        self.items.get(i).map(String::as_str).unwrap_or("")
    }

    /// The items, in table order.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// The weight of `item` (0 when absent).
    pub fn weight_of(&self, item: &str) -> u64 {
        self.items
            .iter()
            .position(|i| i == item)
            .map(|p| {
                let prev = if p == 0 { 0 } else { self.cumulative[p - 1] };
                self.cumulative[p] - prev
            })
            .unwrap_or(0)
    }
}

/// A street the generator places homes in.
#[derive(Debug)]
pub struct Street {
    /// As written on letters: `Kensington Church Street`.
    pub name: String,
    /// Postcode districts the street runs through (`W8`, `SW1V`); never empty.
    pub outwards: Vec<String>,
    /// Highest house number.
    pub max_number: u16,
}

/// Every table, parsed.
#[derive(Debug)]
pub struct Tables {
    /// Female given names.
    pub female: Weighted,
    /// Male given names.
    pub male: Weighted,
    /// Family names, common ones by weight plus the composed tail.
    pub surnames: Weighted,
    /// Formal given name → familiar forms.
    pub nicknames: HashMap<String, Vec<String>>,
    /// Streets of the three boroughs.
    pub streets: Vec<Street>,
}

/// The parsed tables (parsed on first call).
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(Tables::load)
}

fn content_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// `name weight` lines; the name may contain spaces, a line without a weight counts 1.
fn weighted_lines(text: &str) -> Vec<(String, u64)> {
    content_lines(text)
        .map(|line| match line.rsplit_once(' ') {
            Some((name, w)) => match w.parse::<u64>() {
                Ok(w) => (name.trim().to_string(), w),
                Err(_) => (line.to_string(), 1),
            },
            None => (line.to_string(), 1),
        })
        .collect()
}

impl Tables {
    fn load() -> Tables {
        let mut surnames = weighted_lines(SURNAMES);
        let mut seen: std::collections::HashSet<String> =
            surnames.iter().map(|(n, _)| n.to_lowercase()).collect();
        let (prefixes, suffixes) = surname_parts();
        for p in &prefixes {
            for s in &suffixes {
                let name = format!("{p}{s}");
                if seen.insert(name.to_lowercase()) {
                    surnames.push((name, COMPOSED_SURNAME_WEIGHT));
                }
            }
        }

        Tables {
            female: Weighted::new(weighted_lines(FEMALE)),
            male: Weighted::new(weighted_lines(MALE)),
            surnames: Weighted::new(surnames),
            nicknames: nicknames(),
            streets: streets(),
        }
    }

    /// The familiar forms of a formal given name (empty when it has none).
    pub fn nicknames_of(&self, formal: &str) -> &[String] {
        self.nicknames.get(formal).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn surname_parts() -> (Vec<String>, Vec<String>) {
    let mut prefixes = Vec::new();
    let mut suffixes = Vec::new();
    let mut in_suffixes = false;
    for line in content_lines(SURNAME_PARTS) {
        match line {
            "[prefix]" => in_suffixes = false,
            "[suffix]" => in_suffixes = true,
            part if in_suffixes => suffixes.push(part.to_string()),
            part => prefixes.push(part.to_string()),
        }
    }
    (prefixes, suffixes)
}

fn nicknames() -> HashMap<String, Vec<String>> {
    content_lines(NICKNAMES)
        .filter_map(|line| {
            let (formal, nicks) = line.split_once(':')?;
            let nicks: Vec<String> = nicks.split_whitespace().map(str::to_string).collect();
            (!nicks.is_empty()).then(|| (formal.trim().to_string(), nicks))
        })
        .collect()
}

fn streets() -> Vec<Street> {
    let mut streets: Vec<Street> = content_lines(STREETS)
        .filter_map(|line| {
            let mut parts = line.split('|');
            let name = parts.next()?.trim().to_string();
            let outwards: Vec<String> = parts
                .next()?
                .split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect();
            let max_number = parts.next()?.trim().parse().ok()?;
            (!outwards.is_empty()).then_some(Street {
                name,
                outwards,
                max_number,
            })
        })
        .collect();
    let mut seen: std::collections::HashSet<String> =
        streets.iter().map(|s| s.name.clone()).collect();
    for line in content_lines(STREET_STEMS) {
        let Some((stem, outward)) = line.split_once('|') else {
            continue;
        };
        for (i, kind) in STREET_TYPES.iter().enumerate() {
            let name = format!("{} {kind}", stem.trim());
            if seen.insert(name.clone()) {
                // Small residential streets: between 12 and 64 numbers, varied by type.
                let max_number = 12 + ((stem.len() * 7 + i * 13) % 53) as u16;
                streets.push(Street {
                    name,
                    outwards: vec![outward.trim().to_string()],
                    max_number,
                });
            }
        }
    }
    streets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_large_enough_and_non_empty() {
        let t = tables();
        assert!(t.female.items().len() >= 200, "{}", t.female.items().len());
        assert!(t.male.items().len() >= 200, "{}", t.male.items().len());
        assert!(
            t.surnames.items().len() >= 3000,
            "{}",
            t.surnames.items().len()
        );
        assert!(t.streets.len() >= 1000, "{}", t.streets.len());
        assert!(t.nicknames.len() >= 50);
        assert!(
            t.streets
                .iter()
                .all(|s| !s.outwards.is_empty() && s.max_number > 0)
        );
    }

    #[test]
    fn tables_hold_the_hard_cases() {
        let t = tables();
        let has = |w: &Weighted, n: &str| w.items().iter().any(|i| i == n);
        assert!(has(&t.surnames, "O'Brien"));
        assert!(has(&t.surnames, "da Silva"));
        assert!(has(&t.female, "Zoë"));
        assert!(has(&t.female, "Siân"));
        assert!(has(&t.male, "José"));
        assert!(has(&t.female, "Anne-Marie"));
        assert_eq!(t.nicknames_of("William")[0], "Bill");
        assert!(t.nicknames_of("Zoë").is_empty());
    }

    #[test]
    fn smith_is_the_most_frequent_surname() {
        let t = tables();
        let mut rng = Rng::new(5);
        let n = 200_000;
        let smiths = (0..n)
            .filter(|_| t.surnames.pick(&mut rng) == "Smith")
            .count();
        // Smith's share of the total weight, with slack for sampling noise.
        let share = smiths as f64 / n as f64;
        assert!((0.008..0.02).contains(&share), "{share}");
        assert_eq!(t.surnames.weight_of("Smith"), 1000);
        assert_eq!(t.surnames.weight_of("Ashworth"), COMPOSED_SURNAME_WEIGHT);
    }

    #[test]
    fn every_name_and_street_encodes_in_windows_1252() {
        // The electoral file is written in Windows-1252: an unmappable letter would
        // turn into an HTML escape and make a name unmatchable.
        let t = tables();
        let all = t
            .female
            .items()
            .iter()
            .chain(t.male.items())
            .chain(t.surnames.items())
            .chain(t.streets.iter().map(|s| &s.name));
        for name in all {
            let (_, _, lossy) = encoding_rs::WINDOWS_1252.encode(name);
            assert!(!lossy, "{name} is not representable in Windows-1252");
        }
    }

    #[test]
    fn no_duplicate_given_names() {
        let t = tables();
        for w in [&t.female, &t.male] {
            let mut names: Vec<&String> = w.items().iter().collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
    }
}
