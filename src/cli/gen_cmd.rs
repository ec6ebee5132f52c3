//! `leakscope gen`: write a synthetic leaked archive, a resident register and the
//! ground truth that says which residents are in the archive.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leakscope::synth::{self, GenConfig, GenSummary};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leakscope gen`.
#[derive(Args, Debug)]
// `cli/mod.rs` sets the one-line about from its doc comment; the details go after
// the options, where it does not override them.
#[command(
    after_help = "Run with --help for the files written and the drift probabilities.",
    after_long_help = "Writes DIR/dump/ (six datasets of a London council's 2006-2020 systems, each
with its own format, columns and mess: council_tax_2006_2014.csv,
parking_permits.tsv, housing_benefit.jsonl, archive.sql with tables
library_members and leisure_bookings, and electoral_registration_2014_2020.csv
in Windows-1252), DIR/register.csv (today's residents) and DIR/truth.csv (for
each resident: exposed or not, and exactly which dump records are theirs, as
dataset:row;dataset:row) and DIR/hard_negatives.csv (resident_id,kind: the
residents not in the dump who were built to look like someone who is, kind
namesake, family_member or twin).

Residents who are in the dump drifted from their old records with these
probabilities: nickname 12% (when the name has one), first-name typo 3%,
married surname 12% of women born 1960-1998, surname typo 3%, date of birth
missing 3% or mistyped 2%, moved house 25%, new email 20%, email missing 15%,
new phone 15%, phone missing 15%, NI number missing 50%, address or postcode
missing 3% each; case, phone, postcode and date formats vary. Drift makes a
resident hard to find, never impossible: when none of their register email,
phone, NI number or date of birth appears in any of their dump records (a name
alone names many people), the drift that cut the last link is undone.

Of the residents not in the dump, about 6% are namesakes of a dumped person
(same name, other date of birth), 6% family members (same surname and home,
other first name and date of birth) and 2% twins (same surname, date of birth
and home, other first name).

--drift F multiplies every drift probability above by F (each capped at 1):
1 is this documented set, 0 leaves dumped residents as their latest record but
for formats, 2 makes the register twice as messy. Accuracy against --drift shows
how matching holds up as a register ages.

The same --seed (and --drift) gives byte-identical files, whatever the number of threads."
)]
pub struct GenArgs {
    /// Output directory (created if missing; the files it names are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Total dump records over all datasets.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    records: u64,
    /// Register rows [default: records/10, at least 1000 or records/4 if smaller].
    #[arg(long, value_name = "N")]
    register: Option<u64>,
    /// Fraction of register residents who are in the dump (0 to 1).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.5,
        allow_negative_numbers = true
    )]
    overlap: f64,
    /// Random seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Register drift: every drift probability below times F (each capped at 1);
    /// 1 is the documented set, 0 a register that matches the dump but for
    /// formats, 2 twice as messy.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    drift: f64,
}

/// Run `leakscope gen`.
pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let cfg = GenConfig {
        records: args.records,
        register: args
            .register
            .unwrap_or_else(|| GenConfig::default_register(args.records)),
        overlap: args.overlap,
        seed: args.seed,
        drift: args.drift,
    };
    cfg.validate()?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(cfg.records);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} records  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let progress = |done: u64, _total: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let summary = synth::generate_with_progress(&cfg, &args.out, &progress)
        .with_context(|| format!("generating into {}", args.out.display()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    print_summary(&cfg, &summary);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(cfg: &GenConfig, s: &GenSummary) {
    say!(
        "wrote {} records of {} people to {} (seed {})",
        s.records,
        s.dump_people,
        s.dump_dir.display(),
        cfg.seed
    );
    for d in &s.datasets {
        say!("  {:<40} {:>10} rows", d.name, d.rows);
    }
    say!(
        "wrote {} residents to {} ({} in the dump; not in it: {} namesakes, {} family members, {} twins, {} others)",
        s.register_rows,
        s.register_path.display(),
        s.exposed,
        s.namesakes,
        s.family_members,
        s.twins,
        s.register_rows - s.exposed - s.namesakes - s.family_members - s.twins
    );
    let d = &s.drift;
    say!(
        "  drift of the {} in the dump: {} nickname, {} typo, {} married name, {} birth date slip, {} moved, {} new email, {} new phone",
        s.exposed,
        d.nickname,
        d.typo,
        d.married,
        d.dob_slip,
        d.moved,
        d.new_email,
        d.new_phone
    );
    say!(
        "wrote the ground truth to {} (and which residents are hard negatives to {})",
        s.truth_path.display(),
        s.hard_negatives_path.display()
    );
    if !s.other_dump_files.is_empty() {
        say!(
            "note: {} holds {} other file(s) this run did not write; they are not part of the archive and truth.csv does not cover them",
            s.dump_dir.display(),
            s.other_dump_files.len()
        );
    }
}
