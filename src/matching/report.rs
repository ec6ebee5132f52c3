//! The summary of a bulk match: how many register rows were exposed, possible or
//! not found, and, for the exposed residents, which data classes, datasets and
//! years their records came from. These are the counts a breach report to the
//! regulator needs.
//!
//! A [`Summary`] is built as answers stream by ([`Summary::add`]), per block in
//! parallel and then [`merge`](Summary::merge)d, so it never holds the answers
//! themselves. It holds counts and the names of datasets and data classes, never
//! an identifier: its text ([`Display`](std::fmt::Display)) and its HTML page
//! ([`Summary::html`]) can be shared.
//!
//! ```
//! use leakscope::matching::report::Summary;
//! use leakscope::matching::Answer;
//!
//! let mut summary = Summary::default();
//! summary.add(&Answer::not_found());
//! summary.add_reject();
//! assert_eq!((summary.rows(), summary.not_found, summary.rejects), (2, 1, 1));
//! assert!(summary.html("Register match").contains("<svg"));
//! ```

use super::answer::Answer;
use super::score::Verdict;
use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::sync::Arc;

/// Counts over the answers of a bulk match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows answered `exposed`.
    pub exposed: u64,
    /// Rows answered `possible`.
    pub possible: u64,
    /// Rows answered `not_found`.
    pub not_found: u64,
    /// Register rows that could not be read (not matched; verdict `unreadable`).
    pub rejects: u64,
    /// Register rows with nothing to look up (verdict `unsearchable`): a first or
    /// family name alone, a date of birth alone. Not matched.
    pub unsearchable: u64,
    /// The `--scope` expression the answers were narrowed to, if any: said in the
    /// text and on the page, since every count is of records inside it.
    pub scope: Option<String>,
    /// Rows whose id (from the register's id column) an earlier row already had.
    pub duplicate_ids: u64,
    /// Rows whose id column is blank.
    pub blank_ids: u64,
    /// Register values left out of their rows because they are not a usable value
    /// of their column's kind (an email without `@`, `31/02/1980`), per kind name;
    /// placeholders such as `N/A` are missing values, not counted.
    pub unusable: BTreeMap<&'static str, u64>,
    /// Answered rows judged at least partly from the index alone (dumps absent).
    pub index_only: u64,
    /// Exposed residents per data class of their matched records.
    pub by_class: Counts,
    /// Exposed residents per dataset holding at least one of their records.
    pub by_dataset: Counts,
    /// Exposed residents per `record_date` year of their records.
    pub by_year: BTreeMap<u16, u64>,
    /// Exposed residents with at least one record without a `record_date`.
    pub undated: u64,
}

/// A count per name (data class or dataset). The names of a matcher's answers are
/// shared (`Arc<str>`), so a name is found by its pointer first and by its text
/// only when that fails: counting a row compares no strings. Few names (tens of
/// classes and datasets) make a list faster than a map.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    entries: Vec<(Arc<str>, u64)>,
}

impl Counts {
    /// The count of `name`, if it was counted.
    pub fn get(&self, name: &str) -> Option<&u64> {
        self.entries
            .iter()
            .find(|(k, _)| **k == *name)
            .map(|(_, n)| n)
    }

    /// Every name with its count, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        let mut sorted: Vec<(&str, u64)> = self.entries.iter().map(|(k, n)| (&**k, *n)).collect();
        sorted.sort_unstable();
        sorted.into_iter()
    }

    /// How many names were counted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `n` to `name`'s count.
    fn add(&mut self, name: &Arc<str>, n: u64) {
        let at = match self.entries.iter().position(|(k, _)| Arc::ptr_eq(k, name)) {
            Some(at) => Some(at),
            None => self.entries.iter().position(|(k, _)| **k == **name),
        };
        match at.and_then(|at| self.entries.get_mut(at)) {
            Some((_, count)) => *count += n,
            None => self.entries.push((Arc::clone(name), n)),
        }
    }
}

/// Equal when the same names have the same counts, in whatever order they came.
impl PartialEq for Counts {
    fn eq(&self, other: &Counts) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Counts {}

impl Summary {
    /// Register rows seen: answered, unsearchable and unreadable.
    pub fn rows(&self) -> u64 {
        self.answered() + self.unsearchable + self.rejects
    }

    /// Register rows that got an answer.
    pub fn answered(&self) -> u64 {
        self.exposed + self.possible + self.not_found
    }

    /// Counts one register row's answer.
    pub fn add(&mut self, answer: &Answer) {
        if answer.unsearchable {
            self.unsearchable += 1;
            return;
        }
        if answer.index_only {
            self.index_only += 1;
        }
        match answer.verdict {
            Verdict::Possible => self.possible += 1,
            Verdict::NotFound => self.not_found += 1,
            Verdict::Exposed => {
                self.exposed += 1;
                for class in &answer.data_classes {
                    self.by_class.add(class, 1);
                }
                // A resident counts once per dataset and per year, however many of
                // their records it holds.
                for (i, m) in answer.matches.iter().enumerate() {
                    let earlier = answer.matches.get(..i).unwrap_or_default();
                    if !earlier.iter().any(|e| e.dataset == m.dataset) {
                        self.by_dataset.add(&m.dataset, 1);
                    }
                    if !earlier.iter().any(|e| e.year == m.year) {
                        match m.year {
                            Some(y) => *self.by_year.entry(y).or_insert(0) += 1,
                            None => self.undated += 1,
                        }
                    }
                }
            }
        }
    }

    /// Counts one register row that could not be read.
    pub fn add_reject(&mut self) {
        self.rejects += 1;
    }

    /// Adds another summary's counts (of other rows) to these.
    pub fn merge(&mut self, other: Summary) {
        self.exposed += other.exposed;
        self.possible += other.possible;
        self.not_found += other.not_found;
        self.rejects += other.rejects;
        self.unsearchable += other.unsearchable;
        self.index_only += other.index_only;
        self.undated += other.undated;
        for (k, n) in other.unusable {
            *self.unusable.entry(k).or_insert(0) += n;
        }
        for (k, n) in &other.by_class.entries {
            self.by_class.add(k, *n);
        }
        for (k, n) in &other.by_dataset.entries {
            self.by_dataset.add(k, *n);
        }
        for (k, n) in other.by_year {
            *self.by_year.entry(k).or_insert(0) += n;
        }
    }

    /// The verdict counts as (label, count), in report order.
    fn verdicts(&self) -> Vec<(String, u64)> {
        let mut rows = vec![
            ("exposed".to_string(), self.exposed),
            ("possible".to_string(), self.possible),
            ("not_found".to_string(), self.not_found),
        ];
        if self.unsearchable > 0 {
            rows.push((
                "unsearchable (nothing to match on)".to_string(),
                self.unsearchable,
            ));
        }
        if self.rejects > 0 {
            rows.push(("unreadable (not matched)".to_string(), self.rejects));
        }
        rows
    }

    fn years(&self) -> Vec<(String, u64)> {
        let mut rows: Vec<(String, u64)> = self
            .by_year
            .iter()
            .map(|(y, n)| (y.to_string(), *n))
            .collect();
        if self.undated > 0 {
            rows.push(("undated".to_string(), self.undated));
        }
        rows
    }

    /// A self-contained HTML page of the summary: tables and bar charts as inline
    /// SVG, no scripts, no external assets, counts only. `title` and every name
    /// (datasets, data classes) are escaped.
    pub fn html(&self, title: &str) -> String {
        let mut page = String::with_capacity(16 << 10);
        let title = escape(title);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title}</title>\n<style>\n\
             body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}}\n\
             table{{border-collapse:collapse;margin:.5em 0 1em}}\n\
             td,th{{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}}\n\
             td.n{{text-align:right;font-variant-numeric:tabular-nums}}\n\
             svg text{{font-size:12px;font-family:system-ui,sans-serif}}\n\
             </style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        );
        let total = self.rows();
        let _ = write!(
            page,
            "<p>{total} register rows: {} exposed, {} possible (for review), {} not found",
            self.exposed, self.possible, self.not_found
        );
        if self.unsearchable > 0 {
            let _ = write!(
                page,
                ", {} unsearchable (nothing to match on)",
                self.unsearchable
            );
        }
        if self.rejects > 0 {
            let _ = write!(page, ", {} unreadable (could not be read)", self.rejects);
        }
        page.push_str(".</p>\n");
        if let Some(scope) = &self.scope {
            let _ = writeln!(
                page,
                "<p>Scope: <code>{}</code>. Every count is of records inside it.</p>",
                escape(scope)
            );
        }
        if self.index_only > 0 {
            let _ = writeln!(
                page,
                "<p>{} answers were judged from the index alone: the dump files were \
                 absent or changed.</p>",
                self.index_only
            );
        }
        section(
            &mut page,
            "Register rows by verdict",
            &self.verdicts(),
            "#4a6fa5",
        );
        let classes: Vec<(String, u64)> = sorted_by_count(&self.by_class);
        section(
            &mut page,
            "Exposed residents by data class",
            &classes,
            "#b5523b",
        );
        let datasets = sorted_by_count(&self.by_dataset);
        section(
            &mut page,
            "Exposed residents by dataset",
            &datasets,
            "#6a8f3c",
        );
        section(
            &mut page,
            "Exposed residents by record year",
            &self.years(),
            "#8a5fa8",
        );
        page.push_str(
            "<p><small>Counts only: this page holds no names or other identifiers. \
             A resident counts once in each data class, dataset and year of their \
             matched records.</small></p>\n</body>\n</html>\n",
        );
        page
    }
}

/// Largest first, then by name: the order a reader scans a bar chart in.
fn sorted_by_count(counts: &Counts) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = counts.iter().map(|(k, n)| (k.to_string(), n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// One heading, a bar chart and a table of the same counts (the table keeps the
/// numbers readable where the chart is not rendered).
fn section(page: &mut String, heading: &str, rows: &[(String, u64)], colour: &str) {
    let _ = writeln!(page, "<h2>{}</h2>", escape(heading));
    if rows.is_empty() {
        page.push_str("<p>None.</p>\n");
        return;
    }
    bar_chart(page, heading, rows, colour);
    page.push_str("<table>\n");
    for (label, n) in rows {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            escape(label)
        );
    }
    page.push_str("</table>\n");
}

/// A horizontal bar chart: one labelled bar per row, scaled to the largest.
fn bar_chart(page: &mut String, heading: &str, rows: &[(String, u64)], colour: &str) {
    const LABEL_W: u64 = 260;
    const BAR_W: u64 = 380;
    const ROW_H: u64 = 22;
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = ROW_H * rows.len() as u64 + 4;
    let width = LABEL_W + BAR_W + 80;
    let _ = writeln!(
        page,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"{}\">",
        escape(heading)
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = ROW_H * i as u64 + 2;
        let w = (BAR_W * n).div_ceil(max).max(u64::from(*n > 0));
        let text_y = y + ROW_H / 2 + 4;
        let _ = writeln!(
            page,
            "<text x=\"{}\" y=\"{text_y}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{text_y}\">{n}</text>",
            LABEL_W - 6,
            escape(&shorten(label, 40)),
            ROW_H - 4,
            LABEL_W + w + 4,
        );
    }
    page.push_str("</svg>\n");
}

/// At most `max` characters, with an ellipsis when cut (long dataset paths).
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for Summary {
    /// The stderr summary: verdict counts, then exposed residents by data class,
    /// dataset and year.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = self.rows();
        let pct = |n: u64| {
            if rows == 0 {
                0.0
            } else {
                100.0 * n as f64 / rows as f64
            }
        };
        writeln!(f, "register rows: {rows}")?;
        if let Some(scope) = &self.scope {
            writeln!(f, "  scope: {scope} (every count is of records inside it)")?;
        }
        writeln!(
            f,
            "  exposed    {:>10} ({:.1}%)",
            self.exposed,
            pct(self.exposed)
        )?;
        writeln!(
            f,
            "  possible   {:>10} ({:.1}%)",
            self.possible,
            pct(self.possible)
        )?;
        writeln!(
            f,
            "  not_found  {:>10} ({:.1}%)",
            self.not_found,
            pct(self.not_found)
        )?;
        if self.unsearchable > 0 {
            writeln!(
                f,
                "  unsearchable {:>8} ({:.1}%) nothing to match on (a name or a date alone), not matched",
                self.unsearchable,
                pct(self.unsearchable)
            )?;
        }
        if self.rejects > 0 {
            writeln!(
                f,
                "  unreadable {:>10} ({:.1}%) could not be read, not matched",
                self.rejects,
                pct(self.rejects)
            )?;
        }
        if self.index_only > 0 {
            writeln!(
                f,
                "  {} answers judged from the index alone (dump files absent or changed)",
                self.index_only
            )?;
        }
        let lists = [
            (
                "exposed residents by data class:",
                sorted_by_count(&self.by_class),
            ),
            (
                "exposed residents by dataset:",
                sorted_by_count(&self.by_dataset),
            ),
            ("exposed residents by record year:", self.years()),
        ];
        for (heading, items) in lists {
            if items.is_empty() {
                continue;
            }
            writeln!(f, "{heading}")?;
            let width = items
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (k, n) in items {
                writeln!(f, "  {k:<width$}  {n:>10}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{Evidence, RecordMatch};

    fn record(dataset: &str, year: Option<u16>, classes: &[&str]) -> RecordMatch {
        RecordMatch {
            record: 0,
            dataset: dataset.into(),
            row: 1,
            year,
            probability: 0.95,
            evidence: Evidence::default(),
            data_classes: classes.iter().map(|&c| c.into()).collect(),
            fields: vec![("email".into(), "jane@example.com".into())],
            index_only: false,
            linked: false,
        }
    }

    fn exposed(matches: Vec<RecordMatch>) -> Answer {
        let mut classes: Vec<std::sync::Arc<str>> = matches
            .iter()
            .flat_map(|m| m.data_classes.iter().cloned())
            .collect();
        classes.sort();
        classes.dedup();
        Answer {
            verdict: Verdict::Exposed,
            score: 0.95,
            matches,
            data_classes: classes,
            index_only: false,
            unsearchable: false,
        }
    }

    fn sample() -> Summary {
        let mut s = Summary::default();
        s.add(&exposed(vec![
            record("council_tax.csv", Some(2010), &["dob", "email"]),
            record("council_tax.csv", Some(2010), &["email"]),
            record("<b>evil</b>.csv", None, &["other:Notes & \"stuff\""]),
        ]));
        s.add(&exposed(vec![record(
            "council_tax.csv",
            Some(2012),
            &["email"],
        )]));
        let mut possible = Answer::not_found();
        possible.verdict = Verdict::Possible;
        possible.index_only = true;
        s.add(&possible);
        s.add(&Answer::not_found());
        s.add_reject();
        s
    }

    /// A name counts as one whether its answers share its string or carry copies,
    /// and summaries compare equal whatever order their names came in.
    #[test]
    fn counts_find_names_by_pointer_or_text() {
        let shared: Arc<str> = Arc::from("email");
        let mut a = Counts::default();
        a.add(&shared, 1);
        a.add(&shared, 2);
        a.add(&Arc::from("email"), 1);
        a.add(&Arc::from("dob"), 5);
        assert_eq!(a.get("email"), Some(&4));
        assert_eq!(a.get("dob"), Some(&5));
        assert_eq!(a.get("phone"), None);
        assert_eq!(a.len(), 2);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![("dob", 5), ("email", 4)]);
        let mut b = Counts::default();
        b.add(&Arc::from("dob"), 5);
        b.add(&Arc::from("email"), 4);
        assert_eq!(a, b);
        b.add(&Arc::from("email"), 1);
        assert_ne!(a, b);
        assert!(Counts::default().is_empty());
    }

    #[test]
    fn counts_residents_once_per_class_dataset_and_year() {
        let s = sample();
        assert_eq!(
            (s.exposed, s.possible, s.not_found, s.rejects),
            (2, 1, 1, 1)
        );
        assert_eq!((s.rows(), s.answered(), s.index_only), (5, 4, 1));
        assert_eq!(s.by_class.get("email"), Some(&2));
        assert_eq!(s.by_class.get("dob"), Some(&1));
        assert_eq!(s.by_dataset.get("council_tax.csv"), Some(&2));
        assert_eq!(s.by_dataset.get("<b>evil</b>.csv"), Some(&1));
        assert_eq!(s.by_year.get(&2010), Some(&1));
        assert_eq!(s.by_year.get(&2012), Some(&1));
        assert_eq!(s.undated, 1);
    }

    #[test]
    fn merging_equals_adding_everything_to_one() {
        let mut a = Summary::default();
        a.add(&exposed(vec![record("a.csv", Some(2010), &["email"])]));
        let mut b = Summary::default();
        b.add(&exposed(vec![record(
            "a.csv",
            Some(2011),
            &["email", "dob"],
        )]));
        b.add_reject();
        let mut one = Summary::default();
        one.add(&exposed(vec![record("a.csv", Some(2010), &["email"])]));
        one.add(&exposed(vec![record(
            "a.csv",
            Some(2011),
            &["email", "dob"],
        )]));
        one.add_reject();
        a.merge(b);
        assert_eq!(a, one);
    }

    #[test]
    fn text_lists_verdicts_and_breakdowns() {
        let text = sample().to_string();
        assert!(text.starts_with("register rows: 5\n"), "{text}");
        assert!(text.contains("exposed             2 (40.0%)"), "{text}");
        assert!(text.contains("unreadable          1"), "{text}");
        assert!(text.contains("exposed residents by dataset:"), "{text}");
        assert!(text.contains("  2010  "), "{text}");
        assert!(!text.contains("jane@example.com"));
        let empty = Summary::default().to_string();
        assert_eq!(empty.lines().count(), 4, "{empty}");
    }

    #[test]
    fn html_is_self_contained_escaped_and_has_charts() {
        let page = sample().html("Match of <register> & co");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
        assert!(page.contains("<title>Match of &lt;register&gt; &amp; co</title>"));
        assert_eq!(page.matches("<svg").count(), 4);
        assert_eq!(page.matches("<svg").count(), page.matches("</svg>").count());
        assert_eq!(
            page.matches("<table>").count(),
            page.matches("</table>").count()
        );
        assert!(page.contains("&lt;b&gt;evil&lt;/b&gt;.csv"));
        assert!(!page.contains("<b>evil"));
        assert!(page.contains("other:Notes &amp; &quot;stuff&quot;"));
        // No identifiers, no external assets, no scripts.
        assert!(!page.contains("jane@example.com"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("src="));
        assert!(!page.contains("href="));
        let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http"));
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        let mut page = String::new();
        bar_chart(
            &mut page,
            "t",
            &[("a".into(), 10), ("b".into(), 5), ("c".into(), 0)],
            "#000",
        );
        assert!(page.contains("width=\"380\""), "{page}");
        assert!(page.contains("width=\"190\""), "{page}");
        assert!(page.contains("width=\"0\""), "{page}");
    }

    #[test]
    fn empty_summary_renders_without_charts_for_empty_lists() {
        let page = Summary::default().html("x");
        // Only the verdict chart: the other lists are empty.
        assert_eq!(page.matches("<svg").count(), 1);
        assert_eq!(page.matches("<p>None.</p>").count(), 3);
    }

    #[test]
    fn shorten_cuts_long_labels_on_characters() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("ééééééé", 4), "ééé…");
    }
}
