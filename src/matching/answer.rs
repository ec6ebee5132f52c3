//! What a query gets back: a [`Verdict`], the records that support it, and the data
//! classes exposed. `lookup` prints one; `match` writes one per register row and
//! sums them up.

use std::sync::Arc;

use super::explain::Evidence;
use super::score::Verdict;

/// One dump record that matched the query.
#[derive(Clone, Debug)]
pub struct RecordMatch {
    /// The record's id in its segment (internal; stable for one index).
    pub record: u32,
    /// Dataset name (`council_tax_2006.csv`, `archive.sql#residents`), shared with
    /// the matcher (an answer copies no name).
    pub dataset: Arc<str>,
    /// 1-based row in the dataset.
    pub row: u64,
    /// Year of the record's `record_date`, when it has one.
    pub year: Option<u16>,
    /// This record's own match probability.
    pub probability: f64,
    /// Why: field by field.
    pub evidence: Evidence,
    /// Data classes present in the record (kinds and `other:<column>`), sorted.
    pub data_classes: Vec<Arc<str>>,
    /// The record's values by column (header, value), read from the dump, for a
    /// caseworker to see (masked unless asked); empty when the dump is absent.
    pub fields: Vec<(String, String)>,
    /// The dump could not be read (missing, or changed since the build): the
    /// record was judged from the keys it shares with the query alone.
    pub index_only: bool,
    /// Found through an identifier of another of the person's exposed records
    /// (one the query did not give), and scored with the query plus that
    /// identifier; see [`crate::matching::LINK_KINDS`].
    pub linked: bool,
}

/// The answer for one person.
#[derive(Clone, Debug)]
pub struct Answer {
    /// exposed / possible / not_found, from the best record.
    pub verdict: Verdict,
    /// The best record's probability (0 when there is none). Below 0.0005 it is
    /// not refined: records that cannot reach that are not scored in full, so a
    /// `not_found` answer may say 0 where the best of them had, say, 0.0002.
    pub score: f64,
    /// Every record whose own probability reaches the verdict's threshold, best first.
    pub matches: Vec<RecordMatch>,
    /// Union of the data classes of `matches`, sorted.
    pub data_classes: Vec<Arc<str>>,
    /// True when some candidate could not be verified against its dump (missing or
    /// changed since the build): it was judged from the index alone, so a near-miss
    /// spelling the stored features could not rule out was taken at its best.
    pub index_only: bool,
    /// The query holds nothing that can be looked up (a first name alone, a family
    /// name alone, a date of birth alone): it was not searched, and `not_found`
    /// says nothing about the person. See [`Answer::unsearchable`].
    pub unsearchable: bool,
}

impl Answer {
    /// Adds the exposed records of `linked` (the answer to the query plus the
    /// identifiers this answer's records lent it) that this answer lacks, after its
    /// own, marked as linked. The verdict, score and evidence stay this answer's:
    /// they say how the query itself matched.
    pub(crate) fn add_linked(&mut self, linked: Answer) {
        if self.verdict != Verdict::Exposed || linked.verdict != Verdict::Exposed {
            return;
        }
        let before = self.matches.len();
        for mut m in linked.matches {
            let known = self
                .matches
                .iter()
                .any(|a| a.row == m.row && a.dataset == m.dataset);
            if !known {
                m.linked = true;
                self.matches.push(m);
            }
        }
        if self.matches.len() == before {
            return;
        }
        self.index_only |= linked.index_only;
        self.data_classes.extend(linked.data_classes);
        self.data_classes.sort_unstable();
        self.data_classes.dedup();
    }

    /// This answer of a linked pass as the whole answer, every record marked
    /// linked: for a scoped query whose direct matches all lie outside the scope.
    pub(crate) fn into_linked(mut self) -> Answer {
        for m in &mut self.matches {
            m.linked = true;
        }
        self
    }

    /// The answer when nothing matched.
    pub fn not_found() -> Answer {
        Answer {
            verdict: Verdict::NotFound,
            score: 0.0,
            matches: Vec::new(),
            data_classes: Vec::new(),
            index_only: false,
            unsearchable: false,
        }
    }

    /// The answer to a query that gives nothing to look up: every key recipe
    /// needs an identifier or two of given name, family name, date of birth and
    /// postcode (or a house number with the postcode).
    pub fn unsearchable() -> Answer {
        Answer {
            unsearchable: true,
            ..Answer::not_found()
        }
    }

    /// `dataset:row;dataset:row`, best first: the `records` column of `match`.
    pub fn records_column(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.matches.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(&m.dataset);
            out.push(':');
            out.push_str(&m.row.to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(verdict: Verdict, records: &[(&str, u64)], classes: &[&str]) -> Answer {
        Answer {
            verdict,
            score: 0.95,
            matches: records
                .iter()
                .map(|(dataset, row)| RecordMatch {
                    record: 0,
                    dataset: Arc::from(*dataset),
                    row: *row,
                    year: None,
                    probability: 0.95,
                    evidence: Evidence::default(),
                    data_classes: Vec::new(),
                    fields: Vec::new(),
                    index_only: false,
                    linked: false,
                })
                .collect(),
            data_classes: classes.iter().map(|c| Arc::from(*c)).collect(),
            index_only: false,
            unsearchable: false,
        }
    }

    #[test]
    fn linked_records_follow_the_direct_ones_once_each() {
        let mut a = answer(Verdict::Exposed, &[("a.csv", 1)], &["dob", "email"]);
        let linked = answer(
            Verdict::Exposed,
            &[("b.tsv", 2), ("a.csv", 1), ("a.csv", 7)],
            &["email", "other:Activity", "phone"],
        );
        a.add_linked(linked);
        assert_eq!(a.records_column(), "a.csv:1;b.tsv:2;a.csv:7");
        let flags: Vec<bool> = a.matches.iter().map(|m| m.linked).collect();
        assert_eq!(flags, [false, true, true]);
        let classes: Vec<&str> = a.data_classes.iter().map(|c| &**c).collect();
        assert_eq!(classes, ["dob", "email", "other:Activity", "phone"]);
        assert_eq!(a.verdict, Verdict::Exposed);
        assert_eq!(a.score, 0.95);
    }

    #[test]
    fn only_exposed_answers_take_linked_records() {
        for (mine, theirs) in [
            (Verdict::Possible, Verdict::Exposed),
            (Verdict::Exposed, Verdict::Possible),
        ] {
            let mut a = answer(mine, &[("a.csv", 1)], &["email"]);
            a.add_linked(answer(theirs, &[("b.tsv", 2)], &["phone"]));
            assert_eq!(a.records_column(), "a.csv:1");
            assert_eq!(a.data_classes.len(), 1);
        }
    }
}
