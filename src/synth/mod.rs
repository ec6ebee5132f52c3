//! Synthetic leaked archives with ground truth: what `leakscope gen`, `demo`, `bench`
//! and the tests run everything else on.
//!
//! [`generate`] writes, under an output directory:
//!
//! - `dump/`: six datasets from five files, each a different council system of
//!   2006–2020 with its own columns, formats, encoding and mess (see [`datasets`]):
//!   `council_tax_2006_2014.csv`, `parking_permits.tsv`, `housing_benefit.jsonl`,
//!   `archive.sql` (tables `library_members` and `leisure_bookings`) and
//!   `electoral_registration_2014_2020.csv` (Windows-1252).
//! - `register.csv`: today's residents
//!   (`resident_id,first_name,last_name,dob,address,postcode,email,phone,ni_number`).
//!   A fraction `overlap` of them are dumped people, drifted from their old records
//!   with these probabilities (see [`drift`]): nickname 12% (when the name has one),
//!   first-name typo 3%, married surname 12% of women born 1960–1998, surname typo 3%,
//!   date of birth missing 3% or mistyped 2%, moved house 25%, new email 20%, email
//!   missing 15%, new phone 15%, phone missing 15%, NI number missing 50%, address or
//!   postcode missing 3% each, and random case, phone, postcode and date formats.
//!   The rest are people never in the dump; of them about 6% are namesakes of a dumped
//!   person (same name, other birth date), 6% family members (same surname and home,
//!   other first name and birth date) and 2% twins (same surname, birth date and home,
//!   other first name).
//! - `truth.csv` (`resident_id,exposed,records`): for every register row, whether the
//!   person is in the dump and exactly which records are theirs, as
//!   `dataset:row;dataset:row` (rows 1-based over data rows; an SQL table is
//!   `archive.sql#table`).
//!
//! Output is a pure function of the [`GenConfig`]: people, plans and blocks draw from
//! generators keyed by `(seed, index)` ([`rng`]), blocks are built in parallel and
//! written in order, so the bytes do not depend on the number of threads. The archive
//! is streamed block by block; memory stays flat whatever `records` is.
//!
//! ```no_run
//! use leakscope::synth::{GenConfig, generate};
//! let cfg = GenConfig { records: 5_000, ..GenConfig::default() };
//! let summary = generate(&cfg, std::path::Path::new("/tmp/archive"))?;
//! assert_eq!(summary.records, 5_000);
//! # Ok::<(), leakscope::synth::SynthError>(())
//! ```

pub mod datasets;
pub mod drift;
pub mod mess;
pub mod people;
pub mod rng;
pub mod tables;
pub mod values;

use datasets::{DATASETS, Dataset, Planned, Rendered, SQL_PREAMBLE, SQL_TRAILER};
use drift::Drift;
use people::{HardNegative, Person};
use rayon::prelude::*;
use rng::{Rng, Stream};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Largest `--records`. Each person's identifiers are bijections of their id into
/// fixed spaces (landlines: 30 million, emails: 33 million ids); about 2.8 records per
/// person keeps every id well inside them, so no two people share an identifier.
pub const MAX_RECORDS: u64 = 30_000_000;
/// Largest `--register`, for the same reason.
pub const MAX_REGISTER: u64 = 10_000_000;

/// Dump people per block (the unit of parallel work; fixed so output is
/// thread-count independent).
const BLOCK_PEOPLE: u64 = 2048;
/// Fresh residents per block, at most.
const BLOCK_FRESH: u64 = 2048;
/// Blocks built in parallel before they are handed to the writer.
const BATCH_BLOCKS: usize = 16;
/// Tuples per SQL `INSERT` statement.
const SQL_TUPLES_PER_INSERT: usize = 200;

/// Share of fresh residents made namesakes of a dumped person.
pub const P_NAMESAKE: f64 = 0.06;
/// Share of fresh residents made family members of a dumped person.
pub const P_FAMILY: f64 = 0.06;
/// Share of fresh residents made twins of a dumped person.
pub const P_TWIN: f64 = 0.02;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// Total dump records over all datasets (exact).
    pub records: u64,
    /// Register rows (exact).
    pub register: u64,
    /// Fraction of register residents who are in the dump, `0..=1`.
    pub overlap: f64,
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// How much the register drifted from the dump: every drift probability of
    /// [`drift`] times this (each capped at 1); `1` is the documented set.
    pub drift: f64,
}

impl GenConfig {
    /// The register size used when none is given: a tenth of the records, but at least
    /// 1000 (or a quarter of the records, if that is smaller, so that small archives
    /// still hold enough people for the default overlap).
    pub fn default_register(records: u64) -> u64 {
        (records / 10).max(1000.min(records / 4))
    }

    /// The number of register residents who are in the dump.
    pub fn exposed_residents(&self) -> u64 {
        (self.overlap * self.register as f64).round() as u64
    }

    /// Checks the ranges that do not need the archive to be planned.
    pub fn validate(&self) -> Result<(), SynthError> {
        if self.records == 0 || self.records > MAX_RECORDS {
            return Err(SynthError::Records {
                got: self.records,
                max: MAX_RECORDS,
            });
        }
        if self.register > MAX_REGISTER {
            return Err(SynthError::Register {
                got: self.register,
                max: MAX_REGISTER,
            });
        }
        if !(0.0..=1.0).contains(&self.overlap) {
            return Err(SynthError::Overlap(self.overlap));
        }
        if !(0.0..=MAX_DRIFT).contains(&self.drift) {
            return Err(SynthError::Drift {
                got: self.drift,
                max: MAX_DRIFT,
            });
        }
        Ok(())
    }
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            records: 20_000,
            register: GenConfig::default_register(20_000),
            overlap: 0.5,
            seed: 42,
            drift: 1.0,
        }
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// `records` out of range.
    #[error("--records must be between 1 and {max}, got {got}")]
    Records {
        /// Given.
        got: u64,
        /// Largest allowed.
        max: u64,
    },
    /// `register` out of range.
    #[error("--register must be at most {max}, got {got}")]
    Register {
        /// Given.
        got: u64,
        /// Largest allowed.
        max: u64,
    },
    /// `overlap` not a fraction.
    #[error("--overlap must be a fraction between 0 and 1 (e.g. 0.5), got {0}")]
    Overlap(f64),
    /// `drift` out of range.
    #[error("--drift must be between 0 and {max} (1 is the documented drift), got {got}")]
    Drift {
        /// Given.
        got: f64,
        /// Largest allowed.
        max: f64,
    },
    /// More exposed residents asked for than the dump holds people.
    #[error(
        "--overlap {overlap} of --register {register} needs {needed} people from the dump, \
         but {records} records hold only {people}; raise --records or lower --register or --overlap"
    )]
    NotEnoughPeople {
        /// Given overlap.
        overlap: f64,
        /// Given register size.
        register: u64,
        /// Exposed residents needed.
        needed: u64,
        /// Given record count.
        records: u64,
        /// People the dump holds.
        people: u64,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How many rows one dataset got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRows {
    /// Dataset name (`archive.sql#library_members`).
    pub name: &'static str,
    /// Data rows written.
    pub rows: u64,
}

/// How many register rows went through each drift (exposed residents only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriftCounts {
    /// Nickname for the first name.
    pub nickname: u64,
    /// A typo in a name.
    pub typo: u64,
    /// Married surname.
    pub married: u64,
    /// Mistyped date of birth.
    pub dob_slip: u64,
    /// Moved house.
    pub moved: u64,
    /// New email.
    pub new_email: u64,
    /// New phone.
    pub new_phone: u64,
}

impl DriftCounts {
    fn add(&mut self, d: Drift) {
        self.nickname += u64::from(d.nickname);
        self.typo += u64::from(d.typo);
        self.married += u64::from(d.married);
        self.dob_slip += u64::from(d.dob_slip);
        self.moved += u64::from(d.moved);
        self.new_email += u64::from(d.new_email);
        self.new_phone += u64::from(d.new_phone);
    }

    fn merge(&mut self, o: &DriftCounts) {
        self.nickname += o.nickname;
        self.typo += o.typo;
        self.married += o.married;
        self.dob_slip += o.dob_slip;
        self.moved += o.moved;
        self.new_email += o.new_email;
        self.new_phone += o.new_phone;
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSummary {
    /// The dump directory.
    pub dump_dir: PathBuf,
    /// `register.csv`.
    pub register_path: PathBuf,
    /// `truth.csv`.
    pub truth_path: PathBuf,
    /// `hard_negatives.csv`: `resident_id,kind` of every resident built to look
    /// like a dumped person (kind `namesake`, `family_member` or `twin`).
    pub hard_negatives_path: PathBuf,
    /// Files written under `dump/`, in dataset order.
    pub dump_files: Vec<PathBuf>,
    /// Rows per dataset, in dataset order.
    pub datasets: Vec<DatasetRows>,
    /// Total dump records (= the configured `records`).
    pub records: u64,
    /// Distinct people behind the dump records.
    pub dump_people: u64,
    /// Register rows.
    pub register_rows: u64,
    /// Register residents who are in the dump.
    pub exposed: u64,
    /// Non-exposed residents built as namesakes, family members and twins.
    pub namesakes: u64,
    /// See `namesakes`.
    pub family_members: u64,
    /// See `namesakes`.
    pub twins: u64,
    /// Drifts among the exposed residents.
    pub drift: DriftCounts,
    /// Files already in `dump/` that this run did not write (they would be indexed
    /// along with the archive).
    pub other_dump_files: Vec<PathBuf>,
}

/// Generates the archive, register and truth under `out_dir` (created if needed; the
/// files it names are replaced).
pub fn generate(cfg: &GenConfig, out_dir: &Path) -> Result<GenSummary, SynthError> {
    generate_with_progress(cfg, out_dir, &|_, _| {})
}

/// [`generate`], calling `progress(records_written, records_total)` as blocks are
/// written.
pub fn generate_with_progress(
    cfg: &GenConfig,
    out_dir: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<GenSummary, SynthError> {
    cfg.validate()?;
    let (people, last_keep) = count_people(cfg.seed, cfg.records);
    let exposed = cfg.exposed_residents();
    if exposed > people {
        return Err(SynthError::NotEnoughPeople {
            overlap: cfg.overlap,
            register: cfg.register,
            needed: exposed,
            records: cfg.records,
            people,
        });
    }
    let mut layout = Layout::new(cfg.seed, people, last_keep, exposed, cfg.register - exposed);
    layout.rates = drift::Rates::scaled(cfg.drift);
    let dump_dir = out_dir.join("dump");
    fs::create_dir_all(&dump_dir).map_err(io_err(&dump_dir))?;
    let mut sink = Sink::open(out_dir, &dump_dir)?;
    let result = run_blocks(&layout, &mut sink, cfg.records, progress);
    let finished = result.and_then(|()| sink.finish());
    let mut summary = match finished {
        Ok(s) => s,
        Err(e) => {
            sink_cleanup(out_dir, &dump_dir);
            return Err(e);
        }
    };
    summary.dump_people = people;
    summary.other_dump_files = other_files(&dump_dir);
    Ok(summary)
}

/// Counts how many dump people it takes to reach exactly `records` rows, and how many
/// rows the last of them keeps.
fn count_people(seed: u64, records: u64) -> (u64, u64) {
    // Chunking only decides how the counting is split; the answer is the same.
    let chunk = (records / 16).clamp(64, 16_384);
    let chunk_rows = |start: u64| {
        let mut buf: Vec<Planned> = Vec::new();
        (start..start + chunk)
            .map(|i| {
                datasets::plan(seed, i, &mut buf);
                datasets::plan_rows(&buf)
            })
            .sum::<u64>()
    };
    let mut done = 0u64;
    let mut start = 0u64;
    let mut buf = Vec::new();
    loop {
        let sums: Vec<u64> = (0..8u64)
            .into_par_iter()
            .map(|k| chunk_rows(start + k * chunk))
            .collect();
        for (k, rows) in sums.into_iter().enumerate() {
            if done + rows >= records {
                let mut i = start + k as u64 * chunk;
                loop {
                    datasets::plan(seed, i, &mut buf);
                    let r = datasets::plan_rows(&buf);
                    if done + r >= records {
                        return (i + 1, records - done);
                    }
                    done += r;
                    i += 1;
                }
            }
            done += rows;
        }
        start += 8 * chunk;
    }
}

/// How people and residents are split into blocks.
struct Layout {
    seed: u64,
    rates: drift::Rates,
    people: u64,
    last_keep: u64,
    fresh: u64,
    blocks: u64,
    /// Exposed residents drawn from each block.
    exposed: Vec<u64>,
}

impl Layout {
    fn new(seed: u64, people: u64, last_keep: u64, exposed: u64, fresh: u64) -> Layout {
        let blocks = people
            .div_ceil(BLOCK_PEOPLE)
            .max(fresh.div_ceil(BLOCK_FRESH))
            .max(1);
        let mut layout = Layout {
            seed,
            rates: drift::Rates::default(),
            people,
            last_keep,
            fresh,
            blocks,
            exposed: Vec::with_capacity(blocks as usize),
        };
        // Spread the exposed residents in proportion to each block's people, never
        // asking a block for more than it has and always placing them all.
        let (mut left_k, mut left_p) = (exposed, people);
        for b in 0..blocks {
            let (s, e) = layout.dump_range(b);
            let n = e - s;
            let share = if left_p == 0 {
                0
            } else {
                ((u128::from(left_k) * u128::from(n) + u128::from(left_p) / 2) / u128::from(left_p))
                    as u64
            };
            let k = share
                .max(left_k.saturating_sub(left_p - n))
                .min(n)
                .min(left_k);
            layout.exposed.push(k);
            left_k -= k;
            left_p -= n;
        }
        layout
    }

    fn split(total: u64, blocks: u64, b: u64) -> (u64, u64) {
        let at = |k: u64| (u128::from(total) * u128::from(k) / u128::from(blocks)) as u64;
        (at(b), at(b + 1))
    }

    fn dump_range(&self, b: u64) -> (u64, u64) {
        Layout::split(self.people, self.blocks, b)
    }

    fn fresh_range(&self, b: u64) -> (u64, u64) {
        Layout::split(self.fresh, self.blocks, b)
    }
}

/// A register row and, for an exposed resident, their records as
/// `(dataset, row within this block)`.
struct Resident {
    tail: String,
    records: Vec<(Dataset, u64)>,
    exposed: bool,
    /// Built to look like a dumped person (not in the dump).
    hard: Option<HardNegative>,
}

/// One block, rendered.
struct Block {
    dumps: [Vec<u8>; 6],
    rows: [u64; 6],
    residents: Vec<Resident>,
    drift: DriftCounts,
    hard: [u64; 3],
}

fn build_block(l: &Layout, b: u64) -> Block {
    let seed = l.seed;
    let (s, e) = l.dump_range(b);
    let n = (e - s) as usize;
    let mut people = Vec::with_capacity(n);
    let mut units: [Vec<(usize, Rendered)>; 6] = Default::default();
    let mut planned = Vec::new();
    for i in s..e {
        let p = Person::dump_after(seed, i, people.last());
        datasets::plan(seed, i, &mut planned);
        let keep = if i + 1 == l.people {
            l.last_keep
        } else {
            u64::MAX
        };
        for r in datasets::render_person(seed, i, &p, &planned, keep) {
            units[r.dataset.index()].push(((i - s) as usize, r));
        }
        people.push(p);
    }

    let mut rng = Rng::for_item(seed, Stream::Block, b);
    let mut records: Vec<Vec<(Dataset, u64)>> = vec![Vec::new(); n];
    let mut dumps: [Vec<u8>; 6] = Default::default();
    let mut rows = [0u64; 6];
    for d in DATASETS {
        let list = &mut units[d.index()];
        rng.shuffle(list);
        let mut row = 0u64;
        let mut texts: Vec<&str> = Vec::with_capacity(list.len() + list.len() / 50);
        for (local, r) in list.iter() {
            for _ in 0..1 + usize::from(r.duplicated) {
                row += 1;
                records[*local].push((d, row));
                texts.push(&r.text);
            }
        }
        rows[d.index()] = row;
        dumps[d.index()] = match d.table() {
            Some(table) => sql_inserts(table, &texts),
            None if d == Dataset::Electoral => {
                let text: String = texts.concat();
                let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
                bytes.into_owned()
            }
            None => texts.concat().into_bytes(),
        };
    }

    let mut residents = Vec::new();
    let mut drift = DriftCounts::default();
    let mut texts_of: Vec<Vec<&str>> = vec![Vec::new(); n];
    for list in &units {
        for (local, r) in list {
            if let Some(t) = texts_of.get_mut(*local) {
                t.push(r.text.as_str());
            }
        }
    }
    for local in rng.sample_indices(n, l.exposed[b as usize] as usize) {
        let i = s + local as u64;
        let mut drng = Rng::for_item(seed, Stream::Drift, i);
        let (row, d) =
            drift::exposed_row(seed, &mut drng, &l.rates, &people[local], &texts_of[local]);
        drift.add(d);
        residents.push(Resident {
            tail: row.csv_tail(),
            records: std::mem::take(&mut records[local]),
            exposed: true,
            hard: None,
        });
    }
    let mut hard = [0u64; 3];
    let (fs, fe) = l.fresh_range(b);
    for j in fs..fe {
        let kind = match rng.unit() {
            u if u < P_NAMESAKE => Some(HardNegative::Namesake),
            u if u < P_NAMESAKE + P_FAMILY => Some(HardNegative::FamilyMember),
            u if u < P_NAMESAKE + P_FAMILY + P_TWIN => Some(HardNegative::Twin),
            _ => None,
        };
        let person = match kind {
            Some(k) if n > 0 => {
                hard[k as usize] += 1;
                let base = &people[rng.index(n)];
                people::hard_negative(seed, j, k, base)
            }
            _ => Person::fresh(seed, j),
        };
        let mut frng = Rng::for_item(seed, Stream::Drift, (1 << 62) | j);
        residents.push(Resident {
            tail: drift::fresh_row(&mut frng, &l.rates, &person).csv_tail(),
            records: Vec::new(),
            exposed: false,
            hard: kind.filter(|_| n > 0),
        });
    }
    rng.shuffle(&mut residents);
    Block {
        dumps,
        rows,
        residents,
        drift,
        hard,
    }
}

fn sql_inserts(table: &str, tuples: &[&str]) -> Vec<u8> {
    let mut out = String::with_capacity(tuples.iter().map(|t| t.len() + 1).sum::<usize>() + 64);
    for chunk in tuples.chunks(SQL_TUPLES_PER_INSERT) {
        out.push_str("INSERT INTO `");
        out.push_str(table);
        out.push_str("` VALUES ");
        out.push_str(&chunk.join(","));
        out.push_str(";\n");
    }
    out.into_bytes()
}

fn run_blocks(
    l: &Layout,
    sink: &mut Sink,
    total: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(), SynthError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Block>>(1);
    std::thread::scope(|scope| {
        // Build the next batch while the writer drains the previous one.
        let writer = scope.spawn(move || -> Result<(), SynthError> {
            for batch in rx {
                for block in batch {
                    sink.write_block(block)?;
                }
                progress(sink.records(), total);
            }
            Ok(())
        });
        let mut b = 0u64;
        while b < l.blocks {
            let end = (b + BATCH_BLOCKS as u64).min(l.blocks);
            let batch: Vec<Block> = (b..end)
                .into_par_iter()
                .map(|k| build_block(l, k))
                .collect();
            if tx.send(batch).is_err() {
                // The writer stopped on an error; it reports it below.
                break;
            }
            b = end;
        }
        drop(tx);
        writer.join().unwrap_or_else(|_| {
            Err(SynthError::Io {
                path: PathBuf::from("(writer thread)"),
                source: io::Error::other("the writer thread panicked"),
            })
        })
    })
}

/// Temporary name of a file being written; renamed when complete.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

struct Out {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Out {
    fn create(path: PathBuf) -> Result<Out, SynthError> {
        let tmp = partial(&path);
        let f = File::create(&tmp).map_err(io_err(&tmp))?;
        Ok(Out {
            path,
            w: BufWriter::with_capacity(1 << 20, f),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SynthError> {
        let tmp = partial(&self.path);
        self.w.write_all(bytes).map_err(io_err(&tmp))
    }

    fn into_file(self) -> Result<(PathBuf, File), SynthError> {
        let tmp = partial(&self.path);
        let f = self
            .w
            .into_inner()
            .map_err(|e| io_err(&tmp)(e.into_error()))?;
        Ok((self.path, f))
    }

    fn commit(self) -> Result<PathBuf, SynthError> {
        let (path, f) = self.into_file()?;
        let tmp = partial(&path);
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(path)
    }
}

/// The output files and the running counts needed to number rows.
struct Sink {
    dump_dir: PathBuf,
    /// One per dataset; the leisure table goes to a side file appended at the end.
    outs: Vec<Out>,
    register: Out,
    truth: Out,
    hard_negatives: Out,
    rows: [u64; 6],
    residents: u64,
    exposed: u64,
    drift: DriftCounts,
    hard: [u64; 3],
}

const LEISURE_SIDE_FILE: &str = ".leisure_bookings.sql";
/// The file naming the register's hard negatives and their kind.
pub const HARD_NEGATIVES_FILE: &str = "hard_negatives.csv";
/// Largest `--drift` (every probability is capped at 1 long before).
pub const MAX_DRIFT: f64 = 20.0;

impl Sink {
    fn open(out_dir: &Path, dump_dir: &Path) -> Result<Sink, SynthError> {
        let mut outs = Vec::new();
        for d in DATASETS {
            let path = match d {
                Dataset::Leisure => out_dir.join(LEISURE_SIDE_FILE),
                _ => dump_dir.join(d.file()),
            };
            let mut o = Out::create(path)?;
            match d {
                Dataset::CouncilTax => {
                    // Excel's "CSV UTF-8" export starts with a byte-order mark.
                    o.write("\u{FEFF}".as_bytes())?;
                    o.write(d.header().as_bytes())?;
                }
                Dataset::Library => {
                    o.write(SQL_PREAMBLE.as_bytes())?;
                    o.write(d.header().as_bytes())?;
                }
                _ => o.write(d.header().as_bytes())?,
            }
            outs.push(o);
        }
        let mut register = Out::create(out_dir.join("register.csv"))?;
        register.write(
            b"resident_id,first_name,last_name,dob,address,postcode,email,phone,ni_number\n",
        )?;
        let mut truth = Out::create(out_dir.join("truth.csv"))?;
        truth.write(b"resident_id,exposed,records\n")?;
        let mut hard_negatives = Out::create(out_dir.join(HARD_NEGATIVES_FILE))?;
        hard_negatives.write(b"resident_id,kind\n")?;
        Ok(Sink {
            dump_dir: dump_dir.to_path_buf(),
            outs,
            register,
            truth,
            hard_negatives,
            rows: [0; 6],
            residents: 0,
            exposed: 0,
            drift: DriftCounts::default(),
            hard: [0; 3],
        })
    }

    fn records(&self) -> u64 {
        self.rows.iter().sum()
    }

    fn write_block(&mut self, block: Block) -> Result<(), SynthError> {
        for (o, bytes) in self.outs.iter_mut().zip(&block.dumps) {
            o.write(bytes)?;
        }
        let mut reg = String::with_capacity(block.residents.len() * 160);
        let mut truth = String::with_capacity(block.residents.len() * 48);
        let mut hard = String::new();
        for r in &block.residents {
            self.residents += 1;
            let id = format!("R{:08}", self.residents);
            reg.push_str(&id);
            reg.push_str(&r.tail);
            truth.push_str(&id);
            truth.push_str(if r.exposed { ",true," } else { ",false," });
            for (k, (d, row)) in r.records.iter().enumerate() {
                if k > 0 {
                    truth.push(';');
                }
                truth.push_str(d.name());
                truth.push(':');
                truth.push_str(&(self.rows[d.index()] + row).to_string());
            }
            truth.push('\n');
            if let Some(kind) = r.hard {
                hard.push_str(&id);
                hard.push(',');
                hard.push_str(kind.label());
                hard.push('\n');
            }
            self.exposed += u64::from(r.exposed);
        }
        self.register.write(reg.as_bytes())?;
        self.truth.write(truth.as_bytes())?;
        self.hard_negatives.write(hard.as_bytes())?;
        for (total, n) in self.rows.iter_mut().zip(block.rows) {
            *total += n;
        }
        self.drift.merge(&block.drift);
        for (t, h) in self.hard.iter_mut().zip(block.hard) {
            *t += h;
        }
        Ok(())
    }

    /// Closes the tables, joins the SQL file's two parts and renames every file into
    /// place.
    fn finish(self) -> Result<GenSummary, SynthError> {
        let outs = self.outs;
        let mut dump_files = Vec::new();
        let mut sql_main: Option<Out> = None;
        let mut leisure_side: Option<Out> = None;
        for (d, mut o) in DATASETS.into_iter().zip(outs) {
            o.write(d.footer().as_bytes())?;
            match d {
                Dataset::Library => sql_main = Some(o),
                Dataset::Leisure => leisure_side = Some(o),
                _ => dump_files.push(o.commit()?),
            }
        }
        if let (Some(mut main), Some(side)) = (sql_main, leisure_side) {
            let (side_path, side_file) = side.into_file()?;
            drop(side_file);
            let side_tmp = partial(&side_path);
            let mut f = File::open(&side_tmp).map_err(io_err(&side_tmp))?;
            io::copy(&mut f, &mut main.w).map_err(io_err(&main.path))?;
            main.write(SQL_TRAILER.as_bytes())?;
            fs::remove_file(&side_tmp).map_err(io_err(&side_tmp))?;
            dump_files.insert(3, main.commit()?);
        }
        let register_path = self.register.commit()?;
        let truth_path = self.truth.commit()?;
        let hard_negatives_path = self.hard_negatives.commit()?;
        let records = self.rows.iter().sum();
        Ok(GenSummary {
            dump_dir: self.dump_dir,
            register_path,
            truth_path,
            hard_negatives_path,
            dump_files,
            datasets: DATASETS
                .iter()
                .map(|d| DatasetRows {
                    name: d.name(),
                    rows: self.rows[d.index()],
                })
                .collect(),
            records,
            dump_people: 0,
            register_rows: self.residents,
            exposed: self.exposed,
            namesakes: self.hard[HardNegative::Namesake as usize],
            family_members: self.hard[HardNegative::FamilyMember as usize],
            twins: self.hard[HardNegative::Twin as usize],
            drift: self.drift,
            other_dump_files: Vec::new(),
        })
    }
}

/// Best effort: removes the `.partial` files a failed run leaves.
fn sink_cleanup(out_dir: &Path, dump_dir: &Path) {
    let mut paths: Vec<PathBuf> = DATASETS
        .iter()
        .map(|d| partial(&dump_dir.join(d.file())))
        .collect();
    paths.push(partial(&out_dir.join(LEISURE_SIDE_FILE)));
    paths.push(partial(&out_dir.join("register.csv")));
    paths.push(partial(&out_dir.join("truth.csv")));
    paths.push(partial(&out_dir.join(HARD_NEGATIVES_FILE)));
    for p in paths {
        let _ = fs::remove_file(p);
    }
}

fn other_files(dump_dir: &Path) -> Vec<PathBuf> {
    let ours: Vec<&str> = DATASETS.iter().map(|d| d.file()).collect();
    let Ok(entries) = fs::read_dir(dump_dir) else {
        return Vec::new();
    };
    let mut other: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_none_or(|n| !ours.contains(&n))
        })
        .collect();
    other.sort();
    other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_register_scales_and_stays_feasible() {
        assert_eq!(GenConfig::default_register(20_000), 2000);
        assert_eq!(GenConfig::default_register(4_000), 1000);
        assert_eq!(GenConfig::default_register(100), 25);
        assert_eq!(GenConfig::default_register(10_000_000), 1_000_000);
    }

    #[test]
    fn validation_names_the_argument() {
        let bad = |c: GenConfig| c.validate().unwrap_err().to_string();
        let base = GenConfig::default();
        assert!(
            bad(GenConfig {
                records: 0,
                ..base.clone()
            })
            .contains("--records")
        );
        assert!(
            bad(GenConfig {
                overlap: 1.5,
                ..base.clone()
            })
            .contains("--overlap")
        );
        assert!(
            bad(GenConfig {
                overlap: f64::NAN,
                ..base.clone()
            })
            .contains("--overlap")
        );
        assert!(
            bad(GenConfig {
                register: MAX_REGISTER + 1,
                ..base.clone()
            })
            .contains("--register")
        );
        assert!(base.validate().is_ok());
    }

    #[test]
    fn counting_hits_the_exact_record_count() {
        for records in [1u64, 2, 3, 10, 97, 1000, 12_345] {
            let (people, keep) = count_people(7, records);
            let mut buf = Vec::new();
            let mut total = 0;
            for i in 0..people - 1 {
                datasets::plan(7, i, &mut buf);
                total += datasets::plan_rows(&buf);
            }
            datasets::plan(7, people - 1, &mut buf);
            assert!(keep >= 1 && keep <= datasets::plan_rows(&buf));
            assert_eq!(total + keep, records);
        }
    }

    #[test]
    fn layout_places_every_exposed_resident_within_block_sizes() {
        for (people, exposed, fresh) in [
            (10, 10, 0),
            (5000, 2500, 2500),
            (3, 1, 100_000),
            (9000, 8999, 1),
        ] {
            let l = Layout::new(1, people, 1, exposed, fresh);
            assert_eq!(l.exposed.iter().sum::<u64>(), exposed);
            for b in 0..l.blocks {
                let (s, e) = l.dump_range(b);
                assert!(l.exposed[b as usize] <= e - s);
                let (fs, fe) = l.fresh_range(b);
                assert!(fe - fs <= BLOCK_FRESH);
            }
            assert_eq!(l.dump_range(l.blocks - 1).1, people);
            assert_eq!(l.fresh_range(l.blocks - 1).1, fresh);
        }
    }

    #[test]
    fn small_archive_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = GenConfig {
            records: 3000,
            register: 400,
            overlap: 0.5,
            seed: 1,
            drift: 1.0,
        };
        let s = generate(&cfg, dir.path()).unwrap();
        assert_eq!(s.records, 3000);
        assert_eq!(s.datasets.iter().map(|d| d.rows).sum::<u64>(), 3000);
        assert_eq!(s.register_rows, 400);
        assert_eq!(s.exposed, 200);
        assert_eq!(s.dump_files.len(), 5);
        assert!(s.other_dump_files.is_empty(), "{:?}", s.other_dump_files);
        assert!(!dir.path().join(LEISURE_SIDE_FILE).exists());
        let sql = fs::read_to_string(dir.path().join("dump").join(datasets::SQL_FILE)).unwrap();
        let lib = sql.find("CREATE TABLE `library_members`").unwrap();
        let lei = sql.find("CREATE TABLE `leisure_bookings`").unwrap();
        assert!(lib < lei && sql.ends_with("14:12:55\n"));
        assert!(fs::read_dir(dir.path().join("dump")).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        }));
    }

    #[test]
    fn too_few_people_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = GenConfig {
            records: 10,
            register: 1000,
            overlap: 0.5,
            seed: 1,
            drift: 1.0,
        };
        let msg = generate(&cfg, dir.path()).unwrap_err().to_string();
        assert!(msg.contains("raise --records"), "{msg}");
    }
}
