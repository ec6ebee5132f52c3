//! `leakscope lookup`: is this one person in the leaked data, and what of theirs was
//! taken? For a caseworker on the helpline: the verdict, the data classes exposed,
//! and each matching record with why it matched.

use anyhow::{Context, bail};
use clap::Args;
use leakscope::field::FieldKind;
use leakscope::matching::{Answer, MatchError, MatchOptions, Matcher, Scope, Thresholds, Verdict};
use leakscope::normalize::{Person, date};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leakscope lookup`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Give whatever the caller knows; every field is optional but at least one is
needed. Formats do not matter: '07911 123456' and '+44 7911 123456', 'sw1a1aa'
and 'SW1A 1AA', '03/02/1980' (3 February: day first) and '1980-02-03' are the
same. Nicknames (Bill/William), typos and a changed address are allowed for.

Output: the verdict (exposed: notify; possible: for a person to review;
not_found), the data classes exposed, and each matching record with its
dataset, row, probability, the evidence, and its values with identifiers
masked (use --reveal to show them in full). Records found through an email,
phone or other personal identifier of the person's surest records (which the
details given lacked) follow the others, marked (linked); --direct-only leaves
them out.

Exit status: 0 exposed or possible, 1 not found, 2 error.

Scope examples: --scope 'dataset:council_tax_*'
                --scope 'year:2010..2014 and not has:other:Notes'"
)]
pub struct LookupArgs {
    /// Index directory (built by `leakscope index`).
    #[arg(long, value_name = "INDEX")]
    index: PathBuf,
    /// Email address.
    #[arg(long, value_name = "E")]
    email: Vec<String>,
    /// Phone number, any format (UK numbers without country code).
    #[arg(long, value_name = "P")]
    phone: Vec<String>,
    /// Given name.
    #[arg(long = "first-name", value_name = "F")]
    first_name: Vec<String>,
    /// Family name.
    #[arg(long = "last-name", value_name = "L")]
    last_name: Vec<String>,
    /// Full name, e.g. "Mrs Jane A. Doe".
    #[arg(long, value_name = "FULL NAME")]
    name: Vec<String>,
    /// Date of birth (03/02/1980 is 3 February).
    #[arg(long, value_name = "D")]
    dob: Vec<String>,
    /// Postcode.
    #[arg(long, value_name = "P")]
    postcode: Vec<String>,
    /// Address line(s), e.g. "Flat 2, 19 High Street, London N1 6XY".
    #[arg(long, value_name = "A")]
    address: Vec<String>,
    /// National Insurance number.
    #[arg(long, value_name = "N")]
    ni: Vec<String>,
    /// Any other field, e.g. --field account_ref=CT0012345 (repeatable).
    #[arg(long = "field", value_name = "KIND=VALUE")]
    fields: Vec<String>,
    /// Only records in this scope, e.g. 'dataset:council_tax_* and year:2010..2014'.
    #[arg(long, value_name = "EXPR")]
    scope: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
    /// Show the records' values in full instead of masked.
    #[arg(long)]
    reveal: bool,
    /// List only records that match the given details themselves, not those found
    /// through an email, phone or other personal identifier of the person's exposed
    /// records.
    #[arg(long)]
    direct_only: bool,
    /// Probability from which a record counts as exposed.
    #[arg(long, value_name = "X", default_value_t = Thresholds::default().exposed)]
    exposed_threshold: f64,
    /// Probability from which a record is shown as possible, for review.
    #[arg(long, value_name = "Y", default_value_t = Thresholds::default().possible)]
    possible_threshold: f64,
}

impl LookupArgs {
    /// The query person, from every field given.
    fn person(&self) -> anyhow::Result<Person> {
        // Each value with the option that gave it, as warnings name it.
        let mut given: Vec<(FieldKind, &str, String)> = Vec::new();
        let named = [
            (FieldKind::Email, &self.email, "--email"),
            (FieldKind::Phone, &self.phone, "--phone"),
            (FieldKind::FirstName, &self.first_name, "--first-name"),
            (FieldKind::LastName, &self.last_name, "--last-name"),
            (FieldKind::FullName, &self.name, "--name"),
            (FieldKind::Dob, &self.dob, "--dob"),
            (FieldKind::Postcode, &self.postcode, "--postcode"),
            (FieldKind::Address, &self.address, "--address"),
            (FieldKind::NiNumber, &self.ni, "--ni"),
        ];
        for (kind, values, flag) in named {
            given.extend(values.iter().map(|v| (kind, v.as_str(), flag.to_string())));
        }
        // A --field may hold an identifier on either side of a slip (`=` left out,
        // the value before the kind): errors name its place, never its text.
        for (i, spec) in self.fields.iter().enumerate() {
            let nth = i + 1;
            let Some((kind, value)) = spec.split_once('=') else {
                bail!(
                    "--field number {nth} has no '=': it must be KIND=VALUE, e.g. --field account_ref=CT0012345"
                );
            };
            let kind: FieldKind = kind.parse().map_err(|_| {
                anyhow::anyhow!(
                    "--field number {nth}: the part before '=' is not a field kind; valid kinds are: {}",
                    leakscope::field::valid_kinds()
                )
            })?;
            if matches!(kind, FieldKind::Ignore | FieldKind::RecordDate) {
                bail!(
                    "--field number {nth}: {kind} says nothing about a person; give a field that does"
                );
            }
            given.push((kind, value, format!("--field {kind}= (number {nth})")));
        }
        if given.is_empty() {
            bail!(
                "give at least one field to look up: --email, --phone, --first-name, --last-name, --name, --dob, --postcode, --address, --ni or --field KIND=VALUE"
            );
        }
        let mut person = Person::default();
        let mut unusable = Vec::new();
        let today = date::today();
        for (kind, value, flag) in &given {
            // A date of birth in the future (or before 1880) is a typo: compared,
            // it would count against the very person it was typed for.
            if *kind == FieldKind::Dob
                && date::parse(value).is_some_and(|d| !d.is_possible_birth(today))
            {
                unusable.push(format!(
                    "{flag} (a date of birth in the future or before 1880)"
                ));
                continue;
            }
            person.add(*kind, value);
            // An unusable value among usable ones would otherwise vanish unseen, and
            // the answer would be about less than the caseworker typed. The value
            // itself is not echoed.
            if leakscope::normalize::canonical(*kind, value).is_none() {
                unusable.push(format!("{flag} (not a usable {})", kind.name()));
            }
        }
        if person.is_empty() {
            bail!(
                "none of the values given is usable (an email without '@', an impossible date, 'N/A'...): {}; check them",
                unusable.join(", ")
            );
        }
        for what in &unusable {
            say!("warning: {what}: the value given is ignored");
        }
        // `--name "William Smith" --first-name Hannah`: one query for either name,
        // which a caseworker should know (values not echoed). Counted by the names
        // typed, each by its main name: a double-barrelled or former family name
        // (`Smith-Jones`, `née Brown`) is one person's.
        let mut main_given = Vec::new();
        let mut main_family = Vec::new();
        for (kind, value, _) in &given {
            if !matches!(
                kind,
                FieldKind::FirstName | FieldKind::LastName | FieldKind::FullName
            ) {
                continue;
            }
            let mut one = Person::default();
            one.add(*kind, value);
            // `--name Jane` is searched as the family name Jane: said, as the
            // caseworker may have meant a given name.
            if *kind == FieldKind::FullName
                && one.first_names.is_empty()
                && !one.last_names.is_empty()
            {
                say!(
                    "warning: --name holds one name: it is read as a family name; give --first-name for a given name"
                );
            }
            for (names, main) in [
                (&one.first_names, &mut main_given),
                (&one.last_names, &mut main_family),
            ] {
                if let Some(name) = names.first()
                    && !main.contains(name)
                {
                    main.push(name.clone());
                }
            }
        }
        for (names, what) in [
            (main_given.len(), "given names"),
            (main_family.len(), "family names"),
        ] {
            if names > 1 {
                say!(
                    "warning: {names} different {what} were given (by --name, --first-name, --last-name or repeats): records holding any of them are searched; look up different people one at a time"
                );
            }
        }
        Ok(person)
    }

    fn thresholds(&self) -> anyhow::Result<Thresholds> {
        // The same rule as `match`'s: one answer for one resident either way.
        Thresholds::new(self.exposed_threshold, self.possible_threshold).map_err(anyhow::Error::msg)
    }
}

/// Run `leakscope lookup`.
pub fn run(args: LookupArgs) -> anyhow::Result<ExitCode> {
    let person = args.person()?;
    let thresholds = args.thresholds()?;
    let scope = match &args.scope {
        Some(expr) => Some(Scope::parse(expr).context("invalid --scope")?),
        None => None,
    };
    let opts = MatchOptions {
        thresholds,
        scope,
        reveal: args.reveal,
        // One query reads a few dozen pages: mapping the whole index would cost more.
        preload: false,
        direct_only: args.direct_only,
    };
    let matcher = match Matcher::open(&args.index, opts) {
        Ok(m) => m,
        // Not the index's fault: said as it is.
        Err(
            e @ (MatchError::ScopeNamesNoDataset { .. } | MatchError::ScopeNamesNoColumn { .. }),
        ) => return Err(e.into()),
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot open index {}", args.index.display())));
        }
    };
    for warning in matcher.warnings() {
        say!("warning: {warning}");
    }
    let answer = matcher.query(&person);
    if answer.unsearchable {
        // "Not found" would tell the caseworker the resident is safe when nothing
        // was searched.
        let initial = person
            .first_names
            .iter()
            .chain(&person.last_names)
            .any(|f| f.chars().nth(1).is_none());
        bail!(
            "nothing to search on: the details given form no key; give an identifier (--email, --phone, --ni, --field KIND=VALUE), or two of --first-name, --last-name, --dob and --postcode (a house number in --address with --postcode also works){}",
            if initial {
                "; a first or last name of one letter (an initial) does not count: give the full name, or a date of birth or postcode"
            } else {
                ""
            }
        );
    }
    // Written in one go: stdout is line-buffered, and an answer of a few dozen lines
    // was as many system calls.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = if args.json {
        serde_json::to_writer(&mut out, &to_json(&answer))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        print_human(&mut out, &answer)
    }
    .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        // A closed pipe (`| head`) is a normal end.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e).context("cannot write the answer"),
    }
    // The process ends here: tearing the matcher down (unmapping the index and the
    // dumps one mapping at a time, freeing its tables) cost a tenth of a whole
    // `lookup`; the kernel releases all of it at exit in one pass.
    std::mem::forget(matcher);
    Ok(match answer.verdict {
        Verdict::Exposed | Verdict::Possible => ExitCode::SUCCESS,
        Verdict::NotFound => ExitCode::from(1),
    })
}

/// Class names as JSON strings.
fn names(classes: &[std::sync::Arc<str>]) -> Vec<&str> {
    classes.iter().map(|c| &**c).collect()
}

/// The `--json` answer: the contract's fields, plus `index_only`, `explanation`,
/// `year` and `linked` per match.
fn to_json(answer: &Answer) -> serde_json::Value {
    let matches: Vec<serde_json::Value> = answer
        .matches
        .iter()
        .map(|m| {
            serde_json::json!({
                "dataset": &*m.dataset,
                "row": m.row,
                "score": round(m.probability),
                "agreed": m.evidence.agreed(),
                "data_classes": names(&m.data_classes),
                "year": m.year,
                "explanation": m.evidence.summary(),
                "index_only": m.index_only,
                "linked": m.linked,
            })
        })
        .collect();
    serde_json::json!({
        "verdict": answer.verdict.name(),
        "score": round(answer.score),
        "data_classes": names(&answer.data_classes),
        "matches": matches,
        "index_only": answer.index_only,
    })
}

/// Four decimals: more says nothing, and keeps the JSON readable.
fn round(p: f64) -> f64 {
    (p * 10_000.0).round() / 10_000.0
}

/// A probability to three decimals that never reads as certainty it is not: just
/// below 1 shows as `>0.999`, not `1.000` (under a threshold of 1 a `NOT FOUND
/// (score 1.000)` looked like a contradiction).
fn score_text(p: f64) -> String {
    let text = format!("{p:.3}");
    if p < 1.0 && text == "1.000" {
        ">0.999".to_string()
    } else {
        text
    }
}

pub(crate) fn print_human(out: &mut impl Write, answer: &Answer) -> std::io::Result<()> {
    let headline = match answer.verdict {
        Verdict::Exposed => "EXPOSED: this person's data is in the leaked records",
        Verdict::Possible => "POSSIBLE: a close match, for a person to review",
        // A record may share a detail or two (a household's landline, a common
        // name) without being close enough to report: "nothing matches" would
        // then be untrue.
        Verdict::NotFound if answer.score > 0.0005 => {
            "NOT FOUND: no record in the leaked data is close enough to report"
        }
        Verdict::NotFound => "NOT FOUND: no record in the leaked data matches",
    };
    writeln!(out, "{headline} (score {})", score_text(answer.score))?;
    if !answer.data_classes.is_empty() {
        writeln!(out, "data exposed: {}", answer.data_classes.join(", "))?;
    }
    if answer.index_only {
        writeln!(
            out,
            "note: some dump files were missing or changed, so some records were judged from the index alone: their fields were compared through the hashes the index keeps, a near-miss spelling could not be checked, their values cannot be shown, and the identifiers they hold (a phone, an email) could not be followed to the person's other records (linked records were not searched)"
        )?;
    }
    if answer.matches.is_empty() {
        return Ok(());
    }
    let n = answer.matches.len();
    writeln!(
        out,
        "\n{n} matching record{}:",
        if n == 1 { "" } else { "s" }
    )?;
    for (i, m) in answer.matches.iter().enumerate() {
        write!(out, "\n{:>3}. {} row {}", i + 1, m.dataset, m.row)?;
        if let Some(year) = m.year {
            write!(out, " ({year})")?;
        }
        write!(out, "  probability {:.3}", m.probability)?;
        if m.linked {
            write!(out, "  (linked)")?;
        }
        writeln!(out)?;
        let how = if m.index_only {
            "index only"
        } else {
            "evidence"
        };
        writeln!(out, "     {how}: {}", m.evidence.summary())?;
        if m.linked {
            // Under a scope the records that lent the identifier may all lie
            // outside it, and so not be listed.
            let lenders = if answer.matches.iter().any(|m| !m.linked) {
                "the records above"
            } else {
                "this person's records outside the scope"
            };
            writeln!(
                out,
                "     linked: found through an email, phone or other identifier of {lenders}, which the details given did not include"
            )?;
        }
        writeln!(out, "     data: {}", m.data_classes.join(", "))?;
        let width = m
            .fields
            .iter()
            .map(|(h, _)| h.chars().count())
            .max()
            .unwrap_or(0);
        for (header, value) in &m.fields {
            // A multi-line address stays on its row.
            let value: String = value
                .split(['\r', '\n'])
                .filter(|line| !line.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" / ");
            writeln!(out, "       {header:<width$}  {value}")?;
        }
    }
    Ok(())
}
