//! Why a candidate scored what it did: the per-field evidence and its one-line
//! summary.
//!
//! An answer that a council sends to a resident must be defensible, so every score
//! keeps what each family contributed. Explanations name fields and outcomes, never
//! the values themselves: a summary can go into a CSV handed to a mail-merge without
//! spreading identifiers further.

use super::compare::{FieldFamily, Outcome};
use super::score::{Thresholds, Verdict};
use serde::Serialize;
use std::fmt::Write;

/// What one family contributed to a score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FieldEvidence {
    /// Which family.
    pub family: FieldFamily,
    /// How the two sides related.
    pub outcome: Outcome,
    /// Its weight in bits (log2 likelihood ratio); 0 for missing.
    pub weight: f64,
}

impl FieldEvidence {
    /// The family's name, with the kind of near miss for fuzzy agreement:
    /// `last_name`, `first_name~nickname`, `address~sector`.
    pub fn label(&self) -> String {
        if self.outcome.is_fuzzy() {
            format!("{}~{}", self.family.name(), self.outcome.name())
        } else {
            self.family.name().to_string()
        }
    }
}

/// A candidate's match probability and how it came about.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The probability that the candidate record is the query's person.
    pub probability: f64,
    /// `prior + Σ weights − capped`, in bits; `probability` is its base-2 sigmoid.
    pub log_odds: f64,
    /// The prior log2-odds (from the index size).
    pub prior: f64,
    /// Bits removed because household fields (family name, address) and date of
    /// birth point to a household or twins more than to one person.
    pub capped: f64,
    /// Every family at least one side had, in family order.
    pub fields: Vec<FieldEvidence>,
}

impl Evidence {
    /// The verdict this probability earns on its own.
    pub fn verdict(&self, thresholds: &Thresholds) -> Verdict {
        thresholds.verdict(self.probability)
    }

    /// The families that agreed, strongest first: `email`, `dob`,
    /// `first_name~nickname`.
    pub fn agreed(&self) -> Vec<String> {
        self.ranked()
            .filter(|f| f.outcome.is_agreement())
            .map(FieldEvidence::label)
            .collect()
    }

    /// One line for a CSV cell, strongest evidence first:
    /// `email exact (+12.1); dob exact (+8.0); first_name nickname (+3.2); address disagree (-1.3)`.
    /// Missing fields are left out; a cap appears as `household cap (-n.n)`.
    pub fn summary(&self) -> String {
        let mut line = String::with_capacity(24 * self.fields.len());
        for field in self.ranked().filter(|f| f.outcome != Outcome::Missing) {
            if !line.is_empty() {
                line.push_str("; ");
            }
            line.push_str(field.family.name());
            line.push(' ');
            line.push_str(field.outcome.name());
            line.push_str(" (");
            push_tenths(&mut line, field.weight);
            line.push(')');
        }
        if self.capped >= 0.05 {
            if !line.is_empty() {
                line.push_str("; ");
            }
            line.push_str("household cap (");
            push_tenths(&mut line, -self.capped);
            line.push(')');
        }
        line
    }

    fn ranked(&self) -> impl Iterator<Item = &FieldEvidence> {
        let mut order: Vec<&FieldEvidence> = self.fields.iter().collect();
        order.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        order.into_iter()
    }
}

/// Appends `x` as `format!("{x:+.1}")` writes it (`+12.1`, `-0.0`), without the
/// formatting machinery, which was a tenth of bulk matching's time. Values within
/// a hair of a tie between two tenths go the slow way, to round exactly as it does.
fn push_tenths(out: &mut String, x: f64) {
    let tenths = x * 10.0;
    let frac = (tenths - tenths.trunc()).abs();
    if !tenths.is_finite() || tenths.abs() >= 1e15 || (frac - 0.5).abs() < 1e-6 {
        // Writing to a String cannot fail.
        let _ = write!(out, "{x:+.1}");
        return;
    }
    let n = tenths.round().abs() as u64;
    out.push(if x.is_sign_negative() { '-' } else { '+' });
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut whole = n / 10;
    loop {
        at -= 1;
        buf[at] = b'0' + (whole % 10) as u8;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    for &b in &buf[at..] {
        out.push(char::from(b));
    }
    out.push('.');
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn tenths_are_written_as_the_formatter_writes_them(
            x in prop_oneof![-1e6f64..1e6, -5.0f64..5.0, Just(0.25), Just(-0.05), Just(0.15), Just(-0.0), Just(0.0)]
        ) {
            let mut ours = String::new();
            push_tenths(&mut ours, x);
            prop_assert_eq!(ours, format!("{x:+.1}"));
        }
    }

    fn evidence() -> Evidence {
        let field = |family, outcome, weight| FieldEvidence {
            family,
            outcome,
            weight,
        };
        Evidence {
            probability: 0.99,
            log_odds: 7.0,
            prior: -20.0,
            capped: 2.31,
            fields: vec![
                field(FieldFamily::FirstName, Outcome::Nickname, 3.21),
                field(FieldFamily::Dob, Outcome::Exact, 8.0),
                field(FieldFamily::Address, Outcome::Disagree, -1.5),
                field(FieldFamily::Email, Outcome::Exact, 12.06),
                field(FieldFamily::Phone, Outcome::Missing, 0.0),
            ],
        }
    }

    #[test]
    fn agreed_lists_agreeing_families_strongest_first() {
        assert_eq!(evidence().agreed(), ["email", "dob", "first_name~nickname"]);
    }

    #[test]
    fn summary_is_ordered_signed_and_skips_missing() {
        assert_eq!(
            evidence().summary(),
            "email exact (+12.1); dob exact (+8.0); first_name nickname (+3.2); \
             address disagree (-1.5); household cap (-2.3)"
        );
        assert_eq!(Evidence::default().summary(), "");
    }

    #[test]
    fn verdict_follows_thresholds() {
        let t = Thresholds::default();
        let mut e = evidence();
        assert_eq!(e.verdict(&t), Verdict::Exposed);
        e.probability = 0.5;
        assert_eq!(e.verdict(&t), Verdict::Possible);
        e.probability = 0.49;
        assert_eq!(e.verdict(&t), Verdict::NotFound);
        assert_eq!(Verdict::NotFound.to_string(), "not_found");
    }
}
