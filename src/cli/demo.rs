//! `leakscope demo`: the whole product in one command on synthetic data. Generates a
//! small leaked archive with its resident register and ground truth, indexes it,
//! shows three caseworker lookups (exposed despite a nickname or typo, possible,
//! not found), matches the whole register, and scores the result against the truth.

use super::outln;
use anyhow::Context;
use clap::Args;
use leakscope::field::FieldKind;
use leakscope::index::build::{self, BuildOptions};
use leakscope::matching::{Answer, MatchOptions, Matcher, Verdict};
use leakscope::normalize::Person;
use leakscope::source::{Overrides, SourceFile, map_dataset, survey::SAMPLE_RECORDS};
use leakscope::synth::{self, GenConfig};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `leakscope demo`.
#[derive(Args, Debug)]
#[command(
    after_long_help = "Everything is synthetic: no real person is in it. The files stay in DIR
(dump/, register.csv, truth.csv, index/) for you to try `leakscope lookup`,
`leakscope match` and `leakscope inspect` on."
)]
pub struct DemoArgs {
    /// Working directory [default: leakscope-demo in the system temp directory].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Dump records to generate.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    records: u64,
    /// Random seed of the synthetic archive.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
}

/// One register row: its id, its raw values by kind, and the person they make.
struct Resident {
    id: String,
    raw: Vec<(FieldKind, String)>,
    person: Person,
}

/// Run `leakscope demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("leakscope-demo"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    outln!("leakscope demo, working in {}\n", dir.display());

    let started = Instant::now();
    let cfg = GenConfig {
        records: args.records,
        register: GenConfig::default_register(args.records),
        seed: args.seed,
        ..GenConfig::default()
    };
    cfg.validate()?;
    let generated = synth::generate(&cfg, &dir).context("generating the synthetic archive")?;
    outln!(
        "1. generated a leaked archive: {} records of {} people in {} datasets, and a register of {} residents ({} of them in the archive; {} namesakes, {} family members and {} twins who are not) [{:.1} s]",
        generated.records,
        generated.dump_people,
        generated.datasets.len(),
        generated.register_rows,
        generated.exposed,
        generated.namesakes,
        generated.family_members,
        generated.twins,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let index = dir.join("index");
    let opts = BuildOptions {
        force: true,
        ..BuildOptions::default()
    };
    let built = build::build(
        std::slice::from_ref(&generated.dump_dir),
        &index,
        &opts,
        &|_, _| {},
    )
    .context("building the index")?;
    outln!(
        "2. indexed it: {} keys, {:.1} MB at {} [{:.1} s]",
        built.stats.keys,
        built.stats.size_bytes as f64 / 1e6,
        index.display(),
        started.elapsed().as_secs_f64()
    );

    let matcher = Matcher::open(&index, MatchOptions::default())?;
    for warning in matcher.warnings() {
        say!("warning: {warning}");
    }
    let residents = read_register(&generated.register_path)?;
    let truth = read_truth(&generated.truth_path)?;

    let started = Instant::now();
    let answers: Vec<Answer> = residents
        .par_iter()
        .map(|r| matcher.query_brief(&r.person))
        .collect();
    let match_seconds = started.elapsed().as_secs_f64();

    outln!("\n3. three helpline lookups:");
    show_lookups(&matcher, &index, &residents, &answers, &truth)?;

    outln!(
        "\n4. matched the whole register: {} residents in {:.2} s ({:.0} per second)",
        residents.len(),
        match_seconds,
        residents.len() as f64 / match_seconds.max(1e-9)
    );
    let score = Accuracy::of(&residents, &answers, &truth);
    score.print()?;
    print_hard_negatives(&residents, &answers, &generated.hard_negatives_path)?;
    outln!(
        "\nTry it yourself:\n  leakscope lookup --index {} --name \"...\" --dob ...\n  leakscope match --index {} {}",
        index.display(),
        index.display(),
        generated.register_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads the register the way `match` does: mapped columns, one person per row.
fn read_register(path: &Path) -> anyhow::Result<Vec<Resident>> {
    let file = SourceFile::open(path, "register.csv", None)?;
    let info = file
        .datasets()
        .first()
        .context("the register has no columns")?
        .clone();
    let mapping = map_dataset(
        &info.name,
        &info.columns,
        &file.sample(0, SAMPLE_RECORDS),
        &Overrides::default(),
    );
    let kinds: Vec<Option<FieldKind>> = mapping.iter().map(|m| m.kind).collect();
    let orders: Vec<_> = mapping.iter().map(|m| m.order).collect();
    let id_col = info
        .columns
        .iter()
        .position(|c| c == "resident_id")
        .context("the register has no resident_id column")?;
    let scan = file.scan(Vec::new, |rows: &mut Vec<Resident>, rec| {
        let mut person = Person::default();
        person.fill_from_ordered(&kinds, &orders, rec.fields);
        let raw = kinds
            .iter()
            .enumerate()
            .filter_map(|(col, kind)| {
                let value = rec.fields.get(col);
                match kind {
                    Some(k) if !value.is_empty() && *k != FieldKind::Ignore => {
                        Some((*k, value.to_string()))
                    }
                    _ => None,
                }
            })
            .collect();
        rows.push(Resident {
            id: rec.fields.get(id_col).to_string(),
            raw,
            person,
        });
    });
    Ok(scan.states.into_iter().flatten().collect())
}

/// How the register's hard negatives (not in the archive, built to look like
/// someone who is) were answered: each `exposed` one a resident wrongly told.
fn print_hard_negatives(
    residents: &[Resident],
    answers: &[Answer],
    path: &Path,
) -> anyhow::Result<()> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut kind_of: HashMap<String, String> = HashMap::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("cannot read {}", path.display()))?;
        kind_of.insert(
            row.get(0).unwrap_or_default().to_string(),
            row.get(1).unwrap_or_default().replace('_', " "),
        );
    }
    // (kind, residents, exposed, possible), in the order the generator names them.
    let mut tally: Vec<(String, u64, u64, u64)> = ["namesake", "family member", "twin"]
        .iter()
        .map(|k| (k.to_string(), 0, 0, 0))
        .collect();
    for (r, answer) in residents.iter().zip(answers) {
        let Some(kind) = kind_of.get(&r.id) else {
            continue;
        };
        if let Some(t) = tally.iter_mut().find(|t| &t.0 == kind) {
            t.1 += 1;
            t.2 += u64::from(answer.verdict == Verdict::Exposed);
            t.3 += u64::from(answer.verdict == Verdict::Possible);
        }
    }
    let parts: Vec<String> = tally
        .iter()
        .map(|(kind, n, exposed, possible)| {
            format!("{kind}s {exposed} of {n} exposed ({possible} possible)")
        })
        .collect();
    outln!("   look-alikes not in the archive: {}", parts.join(", "));
    Ok(())
}

/// Ground truth: resident id → the records that are theirs (empty: not exposed).
fn read_truth(path: &Path) -> anyhow::Result<HashMap<String, HashSet<String>>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut truth = HashMap::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("cannot read {}", path.display()))?;
        let id = row.get(0).unwrap_or_default().to_string();
        let exposed = row.get(1) == Some("true");
        let records: HashSet<String> = if exposed {
            row.get(2)
                .unwrap_or_default()
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            HashSet::new()
        };
        truth.insert(id, records);
    }
    Ok(truth)
}

/// Exposed-verdict precision and recall, and how many of the true records the
/// answers name.
struct Accuracy {
    true_positive: u64,
    false_positive: u64,
    false_negative: u64,
    possible: u64,
    records_true: u64,
    records_found: u64,
    records_extra: u64,
}

impl Accuracy {
    fn of(
        residents: &[Resident],
        answers: &[Answer],
        truth: &HashMap<String, HashSet<String>>,
    ) -> Accuracy {
        let mut a = Accuracy {
            true_positive: 0,
            false_positive: 0,
            false_negative: 0,
            possible: 0,
            records_true: 0,
            records_found: 0,
            records_extra: 0,
        };
        for (r, answer) in residents.iter().zip(answers) {
            let records = truth.get(&r.id);
            let exposed = records.is_some_and(|t| !t.is_empty());
            match (answer.verdict, exposed) {
                (Verdict::Exposed, true) => a.true_positive += 1,
                (Verdict::Exposed, false) => a.false_positive += 1,
                (_, true) => a.false_negative += 1,
                _ => {}
            }
            if answer.verdict == Verdict::Possible {
                a.possible += 1;
            }
            // Record-level recall is over the correctly exposed residents' true
            // records, as `bench` and README define it (a missed resident's records
            // are already counted by the recall above).
            if let Some(records) = records.filter(|_| exposed)
                && answer.verdict == Verdict::Exposed
            {
                a.records_true += records.len() as u64;
                for m in &answer.matches {
                    if records.contains(&format!("{}:{}", m.dataset, m.row)) {
                        a.records_found += 1;
                    } else {
                        a.records_extra += 1;
                    }
                }
            }
        }
        a
    }

    fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    fn print(&self) -> std::io::Result<()> {
        outln!(
            "   exposed: precision {:.4}, recall {:.4} ({} correctly notified, {} wrongly, {} missed); {} possible for review",
            self.precision(),
            self.recall(),
            self.true_positive,
            self.false_positive,
            self.false_negative,
            self.possible
        );
        outln!(
            "   records: {:.4} of the correctly exposed residents' {} true records named (record-level recall), {} other records named",
            ratio(self.records_found, self.records_true),
            self.records_true,
            self.records_extra
        );
        Ok(())
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// The lookup flag for a register column's kind.
fn flag(kind: FieldKind) -> String {
    match kind {
        FieldKind::FirstName => "--first-name".into(),
        FieldKind::LastName => "--last-name".into(),
        FieldKind::FullName => "--name".into(),
        FieldKind::Email => "--email".into(),
        FieldKind::Phone => "--phone".into(),
        FieldKind::Dob => "--dob".into(),
        FieldKind::Postcode => "--postcode".into(),
        FieldKind::Address | FieldKind::Street => "--address".into(),
        FieldKind::NiNumber => "--ni".into(),
        other => format!("--field {}=", other.name()),
    }
}

/// Picks the three examples from the register, the truth and the answers, and
/// runs each as a caseworker would.
fn show_lookups(
    matcher: &Matcher,
    index: &Path,
    residents: &[Resident],
    answers: &[Answer],
    truth: &HashMap<String, HashSet<String>>,
) -> anyhow::Result<()> {
    let exposed_in_truth = |r: &Resident| truth.get(&r.id).is_some_and(|t| !t.is_empty());
    let fuzzy = |a: &Answer| {
        a.matches.first().is_some_and(|m| {
            m.evidence
                .agreed()
                .iter()
                .any(|l| l.starts_with("first_name~") || l.starts_with("last_name~"))
        })
    };
    let pairs = || residents.iter().zip(answers);
    // An exposed resident the register writes differently from the dump, asked by
    // name, date of birth and phone only (what a caller says on the phone).
    let exposed = pairs()
        .find(|(r, a)| a.verdict == Verdict::Exposed && exposed_in_truth(r) && fuzzy(a))
        .or_else(|| pairs().find(|(r, a)| a.verdict == Verdict::Exposed && exposed_in_truth(r)));
    let possible = pairs().find(|(_, a)| a.verdict == Verdict::Possible);
    // A stranger who shares something with the archive (a namesake, a relative).
    let not_found = pairs()
        .filter(|(r, a)| a.verdict == Verdict::NotFound && !exposed_in_truth(r))
        .max_by(|x, y| x.1.score.total_cmp(&y.1.score));

    let examples = [
        (
            "an exposed resident, registered with a different spelling than in the archive",
            exposed,
            &[
                FieldKind::FirstName,
                FieldKind::LastName,
                FieldKind::Dob,
                FieldKind::Phone,
            ][..],
        ),
        ("a close call, for a person to review", possible, &[][..]),
        (
            "a resident who is not in the archive (though someone like them is)",
            not_found,
            &[][..],
        ),
    ];
    for (what, example, only) in examples {
        let Some((resident, _)) = example else {
            outln!("\n   ({what}: none in this archive)");
            continue;
        };
        let mut query = Person::default();
        let mut command = format!("leakscope lookup --index {}", index.display());
        for (kind, value) in &resident.raw {
            if !only.is_empty() && !only.contains(kind) {
                continue;
            }
            query.add(*kind, value);
            let f = flag(*kind);
            if f.ends_with('=') {
                command.push_str(&format!(" {f}{value:?}"));
            } else {
                command.push_str(&format!(" {f} {value:?}"));
            }
        }
        outln!("\n   {what} ({}):\n   $ {command}", resident.id);
        let answer = matcher.query(&query);
        let mut text = Vec::new();
        super::lookup::print_human(&mut text, &answer)?;
        for line in String::from_utf8_lossy(&text).lines() {
            outln!("   {line}");
        }
    }
    Ok(())
}
