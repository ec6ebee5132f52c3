//! How people and systems spoil values on the way in: case, stray spaces, a slipped
//! key. Each operator is small and pure given the [`Rng`], so tests can pin what it
//! may and may not change.

use super::rng::Rng;

/// Neighbouring keys on a UK QWERTY keyboard, for realistic slips.
fn neighbours(c: char) -> &'static str {
    match c.to_ascii_lowercase() {
        'q' => "wa",
        'w' => "qes",
        'e' => "wrd",
        'r' => "etf",
        't' => "ryg",
        'y' => "tuh",
        'u' => "yij",
        'i' => "uok",
        'o' => "ipl",
        'p' => "ol",
        'a' => "sqz",
        's' => "adw",
        'd' => "sfe",
        'f' => "dgr",
        'g' => "fht",
        'h' => "gjy",
        'j' => "hku",
        'k' => "jli",
        'l' => "ko",
        'z' => "xa",
        'x' => "zcs",
        'c' => "xvd",
        'v' => "cbf",
        'b' => "vng",
        'n' => "bmh",
        'm' => "nj",
        _ => "",
    }
}

/// A one-character slip: a neighbouring key, a dropped letter, a doubled letter or two
/// letters swapped. Always returns a different string when `s` has two letters or
/// more; shorter strings are returned unchanged (a slip there would leave nothing
/// recognisable).
pub fn typo(s: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    if letters.len() < 2 {
        return s.to_string();
    }
    // Keep the first letter: people rarely mistype it and it anchors recognition.
    let pos = letters[1 + rng.index(letters.len() - 1)];
    let mut out = chars.clone();
    match rng.index(4) {
        0 => {
            let n = neighbours(chars[pos]);
            let Some(k) = n.chars().nth(rng.index(n.len().max(1))) else {
                out.remove(pos);
                return finish(s, out);
            };
            out[pos] = if chars[pos].is_uppercase() {
                k.to_ascii_uppercase()
            } else {
                k
            };
        }
        1 => {
            out.remove(pos);
        }
        2 => out.insert(pos, chars[pos]),
        _ => {
            // Swap with a neighbouring letter, never moving the first one.
            let prev = pos - 1;
            let next = pos + 1;
            if prev > letters[0] && chars[prev].is_alphabetic() && chars[prev] != chars[pos] {
                out.swap(prev, pos);
            } else if next < chars.len() && chars[next].is_alphabetic() && chars[next] != chars[pos]
            {
                out.swap(pos, next);
            } else {
                out.remove(pos);
            }
        }
    }
    finish(s, out)
}

fn finish(original: &str, out: Vec<char>) -> String {
    let out: String = out.into_iter().collect();
    if out == original {
        // A neighbour key can equal the letter only through case; drop a letter instead.
        let mut c: Vec<char> = original.chars().collect();
        c.pop();
        return c.into_iter().collect();
    }
    out
}

/// The case a system stores text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// As typed.
    AsIs,
    /// `SMITH`.
    Upper,
    /// `smith`.
    Lower,
}

impl Case {
    /// `s` in this case.
    pub fn apply(self, s: &str) -> String {
        match self {
            Case::AsIs => s.to_string(),
            Case::Upper => s.to_uppercase(),
            Case::Lower => s.to_lowercase(),
        }
    }

    /// Mostly as typed, with the given shares of upper and lower case.
    pub fn random(rng: &mut Rng, upper: f64, lower: f64) -> Case {
        let r = rng.unit();
        if r < upper {
            Case::Upper
        } else if r < upper + lower {
            Case::Lower
        } else {
            Case::AsIs
        }
    }
}

/// Stray spaces: leading, trailing or doubled inside, each with probability `p`.
pub fn spaces(s: &str, rng: &mut Rng, p: f64) -> String {
    let mut out = s.to_string();
    if rng.chance(p)
        && let Some(i) = out.find(' ')
    {
        out.insert(i, ' ');
    }
    if rng.chance(p) {
        out.insert(0, ' ');
    }
    if rng.chance(p) {
        out.push(' ');
    }
    out
}

/// A value typed by a person: sometimes a slip (probability `p_typo`), then case and
/// stray spaces.
pub fn typed(s: &str, rng: &mut Rng, p_typo: f64, case: Case) -> String {
    let s = if rng.chance(p_typo) {
        typo(s, rng)
    } else {
        s.to_string()
    };
    spaces(&case.apply(&s), rng, 0.02)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest};

    /// Optimal-string-alignment distance (an adjacent swap counts one edit).
    fn edit_distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        d[0] = (0..=b.len()).collect();
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn typos_change_one_character_and_keep_the_first() {
        let mut rng = Rng::new(1);
        for name in ["Catherine", "O'Brien", "Zoë", "Smith-Jones", "Al"] {
            for _ in 0..200 {
                let t = typo(name, &mut rng);
                assert_ne!(t, name);
                assert_eq!(edit_distance(name, &t), 1, "{name} -> {t}");
                assert_eq!(t.chars().next(), name.chars().next(), "{name} -> {t}");
            }
        }
        assert_eq!(typo("A", &mut rng), "A");
        assert_eq!(typo("", &mut rng), "");
    }

    #[test]
    fn case_and_spaces() {
        assert_eq!(Case::Upper.apply("O'Brien"), "O'BRIEN");
        assert_eq!(Case::Lower.apply("Zoë"), "zoë");
        let mut rng = Rng::new(2);
        for _ in 0..100 {
            let s = spaces("Jane Doe", &mut rng, 0.5);
            assert_eq!(s.split_whitespace().collect::<Vec<_>>(), ["Jane", "Doe"]);
        }
    }

    proptest! {
        #[test]
        fn typo_never_panics_and_stays_close(s in "\\PC{0,20}", seed in any::<u64>()) {
            let mut rng = Rng::new(seed);
            let t = typo(&s, &mut rng);
            let n = s.chars().count() as i64;
            let m = t.chars().count() as i64;
            prop_assert!((n - m).abs() <= 1);
        }

        #[test]
        fn typed_keeps_the_words_apart_from_one_slip(seed in any::<u64>()) {
            let mut rng = Rng::new(seed);
            let t = typed("Mary Smith", &mut rng, 0.0, Case::AsIs);
            prop_assert_eq!(t.split_whitespace().collect::<Vec<_>>(), vec!["Mary", "Smith"]);
        }
    }
}
