//! Record features: what verification needs to know about a record, as keyed hashes.
//!
//! Keys find candidates; verification then compares a candidate with the query field
//! by field ([`crate::matching::compare`]). Doing that from the dump means re-reading,
//! re-parsing and re-normalising every candidate, which is most of a query's time.
//! So the build also stores, per record, the *features* of its canonical values: for
//! each value, keyed hashes of exactly the parts a comparison looks at (the whole
//! value, a postcode's sector and district, an email's local part, a phone's last nine
//! digits, a date's year and month, a street's name words), and for names, which
//! repeat, an entry in a per-segment name table with their prefixes, suffixes,
//! phonetic codes and a character signature.
//!
//! Every hash is `xxh3-64` of the value's bytes seeded with a 64-bit seed of its
//! own feature (tag), each seed derived from the index's [`Secret`] (like the keys of
//! [`crate::keys`], which hash with the whole secret): the index still holds no plain
//! value. The one thing that
//! cannot be decided from hashes is Jaro-Winkler similarity; for it the features
//! keep lengths and a 64-bit *character signature* (one bit per character and
//! occurrence, at a keyed position) from which an upper bound of the similarity
//! follows (see [`jaro_winkler_bound`]). Pairs the bound cannot rule out are settled by
//! re-reading the record from its dump.
//!
//! ```
//! use leakscope::features::{FeatureHasher, RecordView, encode_record};
//! use leakscope::field::FieldKind;
//! use leakscope::keys::Secret;
//! use leakscope::normalize::Person;
//!
//! # fn main() -> Result<(), leakscope::keys::KeyError> {
//! let hasher = FeatureHasher::new(&Secret::from_bytes(&[7u8; 192])?);
//! let mut person = Person::default();
//! person.add(FieldKind::FullName, "Jane Doe");
//! person.add(FieldKind::Email, "jane@example.com");
//! let mut bytes = Vec::new();
//! encode_record(&hasher, 0, &person, &[0b11], &mut bytes, &mut |_, _| {});
//! let view = RecordView::parse(&bytes).expect("well formed");
//! assert_eq!(view.names(leakscope::features::NameList::Last).count(), 1);
//! assert_eq!(view.identifiers().count(), 1);
//! # Ok(()) }
//! ```

use xxhash_rust::xxh3::{xxh3_64_with_secret, xxh3_64_with_seed};

use crate::field::FieldKind;
use crate::keys::Secret;
use crate::normalize::{Date, Person, address, email, name, phone, postcode};

// Hash tags: each feature hashes under its own tag, so equal bytes of two different
// features (a house number `12` and a street `12`) never give equal hashes. Key
// recipes use ids below 0x80.
const TAG_NAME: u8 = 0xA0;
const TAG_PREFIX: u8 = 0xA1;
const TAG_SUFFIX: u8 = 0xA2;
const TAG_INITIAL: u8 = 0xA3;
const TAG_PHONETIC: u8 = 0xA4;
const TAG_PHONETIC_FULL: u8 = 0xA5;
const TAG_DOB: u8 = 0xA6;
const TAG_YEAR_MONTH: u8 = 0xA7;
const TAG_YEAR_DAY: u8 = 0xB3;
const TAG_MONTH_DAY_DECADE: u8 = 0xB4;
const TAG_HOUSE: u8 = 0xA8;
const TAG_FLAT: u8 = 0xB5;
const TAG_STREET_WORDS: u8 = 0xAA;
const TAG_TOWN: u8 = 0xAB;
const TAG_POSTCODE: u8 = 0xAC;
const TAG_SECTOR: u8 = 0xAD;
const TAG_DISTRICT: u8 = 0xAE;
/// Identifiers hash under `TAG_IDENTIFIER + kind` (0xC0..0xFF).
const TAG_IDENTIFIER: u8 = 0xC0;
const TAG_EMAIL_LOCAL: u8 = 0xB1;
const TAG_PHONE_TAIL: u8 = 0xB2;
const TAG_SIGNATURE: u8 = 0xBF;

/// Occurrences of one ASCII character whose signature bit is precomputed.
const SIGNATURE_OCCURRENCES: usize = 8;

/// Digits of a phone number's tail that [`Outcome::LastDigits`] compares (a UK
/// subscriber number without trunk prefix or country code).
///
/// [`Outcome::LastDigits`]: crate::matching::Outcome::LastDigits
pub const PHONE_TAIL_DIGITS: usize = 9;

/// Shortest and longest byte prefix a name table entry stores.
pub const PREFIX_MIN: usize = 2;
/// See [`PREFIX_MIN`].
pub const PREFIX_MAX: usize = 8;
/// Shortest and longest byte suffix a name table entry stores.
pub const SUFFIX_MIN: usize = 4;
/// See [`SUFFIX_MIN`].
pub const SUFFIX_MAX: usize = 8;
const PREFIXES: usize = PREFIX_MAX - PREFIX_MIN + 1;
const SUFFIXES: usize = SUFFIX_MAX - SUFFIX_MIN + 1;

/// Keyed hashing of feature values with one index's secret. Cheap to clone; make one
/// per index (it precomputes the signature positions of ASCII characters).
#[derive(Clone)]
pub struct FeatureHasher {
    signature: Box<[[u8; SIGNATURE_OCCURRENCES]; 128]>,
    /// One xxh3 seed per tag, derived from the secret: a feature hash is the
    /// seeded xxh3 of the value's bytes (no copy to prefix a tag).
    seeds: Box<[u64; 256]>,
    fingerprint: u64,
}

impl std::fmt::Debug for FeatureHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeatureHasher(..)")
    }
}

impl FeatureHasher {
    /// A hasher keyed with `secret`.
    pub fn new(secret: &Secret) -> FeatureHasher {
        let mut seeds = Box::new([0u64; 256]);
        for (tag, seed) in seeds.iter_mut().enumerate() {
            *seed = xxh3_64_with_secret(&[0xFE, tag as u8], secret.as_bytes());
        }
        let mut hasher = FeatureHasher {
            signature: Box::new([[0; SIGNATURE_OCCURRENCES]; 128]),
            seeds,
            fingerprint: 0,
        };
        hasher.fingerprint = hasher.h64(TAG_SIGNATURE, b"fingerprint");
        let mut table = [[0u8; SIGNATURE_OCCURRENCES]; 128];
        for (c, row) in table.iter_mut().enumerate() {
            for (i, slot) in row.iter_mut().enumerate() {
                *slot = hasher.signature_bit_slow(char::from(c as u8), i);
            }
        }
        *hasher.signature = table;
        hasher
    }

    /// A number that tells hashers of different secrets apart (for caches of hashed
    /// values); it reveals nothing of the secret.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn h64(&self, tag: u8, bytes: &[u8]) -> u64 {
        xxh3_64_with_seed(bytes, self.seeds[usize::from(tag)])
    }

    /// The hash of `parts` back to back under `tag` (no separator: callers give
    /// parts whose lengths are fixed or whose bytes cannot run together).
    fn h64_parts(&self, tag: u8, parts: &[&[u8]]) -> u64 {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut stack = [0u8; 64];
        if len <= stack.len() {
            let mut at = 0;
            for p in parts {
                stack[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            self.h64(tag, &stack[..at])
        } else {
            self.h64(tag, &parts.concat())
        }
    }

    /// A 32-bit feature hash; never 0, which marks "no value" in the encoding.
    fn h32(&self, tag: u8, bytes: &[u8]) -> u32 {
        (self.h64(tag, bytes) as u32).max(1)
    }

    /// The hash a name is stored under (never 0).
    pub fn name(&self, folded: &str) -> u64 {
        self.h64(TAG_NAME, folded.as_bytes()).max(1)
    }

    fn signature_bit_slow(&self, c: char, occurrence: usize) -> u8 {
        let mut buf = [0u8; 8];
        let len = c.encode_utf8(&mut buf).len();
        buf[4..8].copy_from_slice(&(occurrence as u32).to_le_bytes());
        let bytes: Vec<u8> = buf[..len].iter().chain(&buf[4..8]).copied().collect();
        (self.h64(TAG_SIGNATURE, &bytes) & 63) as u8
    }

    fn signature_bit(&self, c: char, occurrence: usize) -> u8 {
        if c.is_ascii() && occurrence < SIGNATURE_OCCURRENCES {
            self.signature[c as usize][occurrence]
        } else {
            self.signature_bit_slow(c, occurrence)
        }
    }

    /// Calls `f` with the signature bit of every character of `s`, each character
    /// taken with the number of times it occurred before (`anna`: a₀ n₀ n₁ a₁).
    fn for_each_signature_bit(&self, s: &str, mut f: impl FnMut(u8)) {
        let mut ascii = [0u8; 128];
        let mut other: Vec<(char, usize)> = Vec::new();
        for c in s.chars() {
            let occurrence = if c.is_ascii() {
                let n = &mut ascii[c as usize];
                let seen = usize::from(*n);
                *n = n.saturating_add(1);
                seen
            } else if let Some(entry) = other.iter_mut().find(|(d, _)| *d == c) {
                entry.1 += 1;
                entry.1 - 1
            } else {
                other.push((c, 1));
                0
            };
            f(self.signature_bit(c, occurrence));
        }
    }

    /// The character signature of `s`: the OR of its characters' bits.
    pub fn signature(&self, s: &str) -> u64 {
        let mut sig = 0u64;
        self.for_each_signature_bit(s, |bit| sig |= 1u64 << bit);
        sig
    }

    /// The signature bit of each character of `s`, in order (the query side of
    /// [`jaro_winkler_bound`]).
    pub fn signature_bits(&self, s: &str, out: &mut Vec<u8>) {
        out.clear();
        self.for_each_signature_bit(s, |bit| out.push(bit));
    }

    /// Hash of a whole name as a byte prefix of a longer one (compare with
    /// [`NameEntry::prefix`]).
    pub fn prefix(&self, bytes: &[u8]) -> u32 {
        self.h32(TAG_PREFIX, bytes)
    }

    /// Hash of a whole name as a byte suffix of a longer one (compare with
    /// [`NameEntry::suffix`]).
    pub fn suffix(&self, bytes: &[u8]) -> u32 {
        self.h32(TAG_SUFFIX, bytes)
    }

    /// Hash of a name's first character.
    pub fn initial(&self, folded: &str) -> u32 {
        let mut buf = [0u8; 4];
        let first = folded.chars().next().map_or(&[][..], |c| {
            let len = c.encode_utf8(&mut buf).len();
            &buf[..len]
        });
        self.h32(TAG_INITIAL, first)
    }

    /// Hash of a four-letter phonetic code; 0 for an empty code.
    pub fn phonetic(&self, code: &str) -> u32 {
        if code.is_empty() {
            0
        } else {
            self.h32(TAG_PHONETIC, code.as_bytes())
        }
    }

    /// Hash of a full-length phonetic code; 0 for an empty code.
    pub fn phonetic_full(&self, code: &str) -> u32 {
        if code.is_empty() {
            0
        } else {
            self.h32(TAG_PHONETIC_FULL, code.as_bytes())
        }
    }

    /// Hash of a date of birth.
    pub fn dob(&self, date: Date) -> u32 {
        self.h32(TAG_DOB, &date.digits())
    }

    /// Hash of a date's year and month.
    pub fn year_month(&self, date: Date) -> u32 {
        let digits = date.digits();
        self.h32(TAG_YEAR_MONTH, &digits[..6])
    }

    /// The hashes a date of birth is stored with: the date, and the date with its
    /// day, its month, or its year's last digit left out. Two dates one digit apart
    /// (and less than ten years) agree on one of the last three.
    pub fn dob_parts(&self, date: Date) -> DobFeature {
        let d = date.digits();
        DobFeature {
            date: self.h32(TAG_DOB, &d),
            year_month: self.h32(TAG_YEAR_MONTH, &d[..6]),
            year_day: (self.h64_parts(TAG_YEAR_DAY, &[&d[..4], &d[6..]]) as u32).max(1),
            month_day_decade: (self.h64_parts(TAG_MONTH_DAY_DECADE, &[&d[..3], &d[4..]]) as u32)
                .max(1),
        }
    }

    /// Hash of a canonical house number.
    pub fn house(&self, house: &str) -> u32 {
        self.h32(TAG_HOUSE, house.as_bytes())
    }

    /// Hash of a canonical flat number ([`address::flat`]).
    pub fn flat(&self, flat: &str) -> u32 {
        self.h32(TAG_FLAT, flat.as_bytes())
    }

    /// Hash of the words that name a street ([`address::street_name_words`]),
    /// joined by commas (which no word contains).
    pub fn street_words(&self, line: &str) -> u32 {
        let mut stack = [0u8; 128];
        let mut at = 0;
        let mut heap: Option<Vec<u8>> = None;
        for (i, w) in address::street_name_words(line).enumerate() {
            let sep: &[u8] = if i > 0 { b"," } else { b"" };
            if let Some(buf) = heap.as_mut() {
                buf.extend_from_slice(sep);
                buf.extend_from_slice(w.as_bytes());
            } else if at + sep.len() + w.len() <= stack.len() {
                stack[at..at + sep.len()].copy_from_slice(sep);
                at += sep.len();
                stack[at..at + w.len()].copy_from_slice(w.as_bytes());
                at += w.len();
            } else {
                let mut buf = stack[..at].to_vec();
                buf.extend_from_slice(sep);
                buf.extend_from_slice(w.as_bytes());
                heap = Some(buf);
            }
        }
        let joined = heap.as_deref().unwrap_or(&stack[..at]);
        self.h32(TAG_STREET_WORDS, joined)
    }

    /// Hash of a folded town.
    pub fn town(&self, town: &str) -> u32 {
        self.h32(TAG_TOWN, town.as_bytes())
    }

    /// The three hashes of a canonical postcode: whole, sector and district (0 for a
    /// postcode not shaped like a UK one).
    pub fn postcode(&self, pc: &str) -> PostcodeFeature {
        let (sector, district) = match postcode::uk_parts(pc) {
            Some((outward, digit)) => (
                (self.h64_parts(TAG_SECTOR, &[outward.as_bytes(), &[digit]]) as u32).max(1),
                self.h32(TAG_DISTRICT, outward.as_bytes()),
            ),
            None => (0, 0),
        };
        PostcodeFeature {
            whole: self.h32(TAG_POSTCODE, pc.as_bytes()),
            sector,
            district,
        }
    }

    /// The hashes of an identifier's canonical value: the value (with its kind), and
    /// for an email its local part, for a phone its last nine digits (0 otherwise).
    pub fn identifier(&self, kind: FieldKind, value: &str) -> IdentifierFeature {
        let aux = match kind {
            FieldKind::Email => {
                let local = email::local_part(value);
                if local.is_empty() {
                    0
                } else {
                    self.h32(TAG_EMAIL_LOCAL, local.as_bytes())
                }
            }
            FieldKind::Phone => {
                let mut tail = [0u8; PHONE_TAIL_DIGITS];
                let mut n = 0;
                for (slot, d) in tail.iter_mut().zip(phone::tail(value)) {
                    *slot = d;
                    n += 1;
                }
                if n == PHONE_TAIL_DIGITS {
                    self.h32(TAG_PHONE_TAIL, &tail)
                } else {
                    0
                }
            }
            _ => 0,
        };
        // An email is compared by the mailbox it delivers to (`+tag` and gmail dots
        // dropped), as `compare` does.
        let compared = match kind {
            FieldKind::Email => email::mailbox(value),
            _ => std::borrow::Cow::Borrowed(value),
        };
        IdentifierFeature {
            kind: kind as u8,
            // One tag per kind: an email and a username that read the same differ.
            value: self.h32(TAG_IDENTIFIER + (kind as u8 & 0x3F), compared.as_bytes()),
            aux,
        }
    }
}

/// A date of birth's stored hashes ([`FeatureHasher::dob_parts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DobFeature {
    /// The whole date.
    pub date: u32,
    /// Year and month.
    pub year_month: u32,
    /// Year and day.
    pub year_day: u32,
    /// Month, day and the year's first three digits.
    pub month_day_decade: u32,
}

/// A postcode's stored hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostcodeFeature {
    /// The whole postcode.
    pub whole: u32,
    /// Outward code and sector digit (`SW1A 1`); 0 when not UK-shaped.
    pub sector: u32,
    /// Outward code (`SW1A`); 0 when not UK-shaped.
    pub district: u32,
}

/// An identifier's stored hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentifierFeature {
    /// The [`FieldKind`] code.
    pub kind: u8,
    /// Kind and canonical value (an email's mailbox, [`email::mailbox`]).
    pub value: u32,
    /// Email local part or phone tail; 0 when it has none.
    pub aux: u32,
}

/// A street line's or a town's stored features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedFeature {
    /// The value's hash: for a street line, the words naming the street (two equal
    /// lines have equal words, so this is all "the same street" needs); for a town,
    /// the folded town.
    pub hash: u32,
    /// Character signature of the value.
    pub signature: u64,
    /// Characters in the value (255: that many or more).
    pub chars: u8,
}

/// One distinct name of a segment, with what comparing it needs. Stored once per
/// segment in the name table; records refer to it by [`NameEntry::hash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameEntry {
    /// [`FeatureHasher::name`] of the name.
    pub hash: u64,
    /// Length in bytes (255: that many or more).
    pub bytes: u8,
    /// Length in characters (255: that many or more).
    pub chars: u8,
    /// Whether the name is ASCII (Jaro-Winkler then counts bytes, which the
    /// stored prefixes are).
    pub ascii: bool,
    /// [`FeatureHasher::initial`].
    pub initial: u32,
    /// [`FeatureHasher::phonetic`] of the four-letter code.
    pub phonetic: u32,
    /// [`FeatureHasher::phonetic_full`] of the whole code.
    pub phonetic_full: u32,
    /// [`FeatureHasher::signature`].
    pub signature: u64,
    /// [`FeatureHasher::prefix`] of the first `k` bytes for `k` in
    /// `PREFIX_MIN..=PREFIX_MAX` (0 where the name is shorter or `k` splits a
    /// character).
    pub prefix: [u32; PREFIXES],
    /// [`FeatureHasher::suffix`] of the last `k` bytes for `k` in
    /// `SUFFIX_MIN..=SUFFIX_MAX` (0 as for prefixes).
    pub suffix: [u32; SUFFIXES],
}

/// Bytes of one [`NameEntry`] in a name table.
pub const NAME_ENTRY_LEN: usize = 8 + 4 + 4 + 4 + 4 + 8 + PREFIXES * 4 + SUFFIXES * 4;

fn saturate(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

impl NameEntry {
    /// The entry of a folded name.
    pub fn of(hasher: &FeatureHasher, folded: &str) -> NameEntry {
        let bytes = folded.as_bytes();
        let mut prefix = [0u32; PREFIXES];
        for (i, slot) in prefix.iter_mut().enumerate() {
            let k = PREFIX_MIN + i;
            if k <= bytes.len() && folded.is_char_boundary(k) {
                *slot = hasher.prefix(&bytes[..k]);
            }
        }
        let mut suffix = [0u32; SUFFIXES];
        for (i, slot) in suffix.iter_mut().enumerate() {
            let k = SUFFIX_MIN + i;
            if k <= bytes.len() && folded.is_char_boundary(bytes.len() - k) {
                *slot = hasher.suffix(&bytes[bytes.len() - k..]);
            }
        }
        let code = name::phonetic_code(folded);
        NameEntry {
            hash: hasher.name(folded),
            bytes: saturate(bytes.len()),
            chars: saturate(folded.chars().count()),
            ascii: folded.is_ascii(),
            initial: hasher.initial(folded),
            phonetic: hasher.phonetic(code.as_str()),
            phonetic_full: if code.is_empty() {
                0
            } else {
                hasher.phonetic_full(&name::full_phonetic(folded))
            },
            signature: hasher.signature(folded),
            prefix,
            suffix,
        }
    }

    /// The stored prefix hash of length `k` bytes, if `k` is in the stored range.
    pub fn prefix(&self, k: usize) -> Option<u32> {
        k.checked_sub(PREFIX_MIN)
            .and_then(|i| self.prefix.get(i))
            .copied()
    }

    /// The stored suffix hash of length `k` bytes, if `k` is in the stored range.
    pub fn suffix(&self, k: usize) -> Option<u32> {
        k.checked_sub(SUFFIX_MIN)
            .and_then(|i| self.suffix.get(i))
            .copied()
    }

    /// Appends the entry's [`NAME_ENTRY_LEN`] bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&[self.bytes, self.chars, u8::from(self.ascii), 0]);
        out.extend_from_slice(&self.initial.to_le_bytes());
        out.extend_from_slice(&self.phonetic.to_le_bytes());
        out.extend_from_slice(&self.phonetic_full.to_le_bytes());
        out.extend_from_slice(&self.signature.to_le_bytes());
        for p in &self.prefix {
            out.extend_from_slice(&p.to_le_bytes());
        }
        for s in &self.suffix {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }

    /// Reads an entry back; `None` if `bytes` is too short.
    pub fn decode(bytes: &[u8]) -> Option<NameEntry> {
        let mut r = Reader { bytes, at: 0 };
        let hash = r.u64()?;
        let flags = r.take(4)?;
        let (len, chars, ascii) = (*flags.first()?, *flags.get(1)?, *flags.get(2)? != 0);
        let initial = r.u32()?;
        let phonetic = r.u32()?;
        let phonetic_full = r.u32()?;
        let signature = r.u64()?;
        let mut prefix = [0u32; PREFIXES];
        for p in &mut prefix {
            *p = r.u32()?;
        }
        let mut suffix = [0u32; SUFFIXES];
        for s in &mut suffix {
            *s = r.u32()?;
        }
        Some(NameEntry {
            hash,
            bytes: len,
            chars,
            ascii,
            initial,
            phonetic,
            phonetic_full,
            signature,
            prefix,
            suffix,
        })
    }
}

/// The names a build has made a name-table entry for, shared by its threads, so
/// that each distinct name is described once (describing one costs its phonetic
/// codes and a dozen hashes). Sharded, so that threads seldom wait for each other;
/// a small direct-mapped [`RecentNames`] per chunk spares most lookups.
pub struct NameRegistry {
    shards: Vec<std::sync::Mutex<std::collections::HashSet<u64, IdentityBuild>>>,
}

impl std::fmt::Debug for NameRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameRegistry(..)")
    }
}

const REGISTRY_SHARDS: usize = 64;

impl Default for NameRegistry {
    fn default() -> Self {
        NameRegistry {
            shards: (0..REGISTRY_SHARDS).map(|_| Default::default()).collect(),
        }
    }
}

impl NameRegistry {
    /// Appends the entry of `name` (stored under `hash`) to `out` unless this
    /// build described it already.
    pub fn note(
        &self,
        recent: &mut RecentNames,
        hasher: &FeatureHasher,
        name: &str,
        hash: u64,
        out: &mut Vec<NameEntry>,
    ) {
        if recent.seen(hash) {
            return;
        }
        let shard = (hash >> 58) as usize % REGISTRY_SHARDS;
        let first = match self.shards.get(shard).map(|m| m.lock()) {
            Some(Ok(mut set)) => set.insert(hash),
            // A poisoned shard only means another thread panicked; describing the
            // name again is harmless (the writer keeps one entry per hash).
            _ => true,
        };
        if first {
            out.push(NameEntry::of(hasher, name));
        }
    }
}

/// Name hashes one chunk checked with the [`NameRegistry`] lately, direct-mapped:
/// common names skip the shared set.
#[derive(Debug, Default)]
pub struct RecentNames {
    slots: Vec<u64>,
}

const RECENT_NAMES: usize = 4096;

impl RecentNames {
    /// Whether `hash` was seen lately (and remembers it).
    fn seen(&mut self, hash: u64) -> bool {
        if self.slots.is_empty() {
            self.slots.resize(RECENT_NAMES, 0);
        }
        let slot = hash as usize % RECENT_NAMES;
        match self.slots.get_mut(slot) {
            Some(s) if *s == hash => true,
            Some(s) => {
                *s = hash;
                false
            }
            None => false,
        }
    }
}

/// A hasher for keys that are already uniform hashes: it passes them through.
#[derive(Clone, Copy, Debug, Default)]
struct IdentityBuild;

impl std::hash::BuildHasher for IdentityBuild {
    type Hasher = IdentityHasher;

    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

#[derive(Clone, Copy, Debug)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Bounds-checked little-endian reads over a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The lists of name hashes a record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameList {
    /// Given names.
    First = 0,
    /// Middle names.
    Middle = 1,
    /// Family names.
    Last = 2,
}

// List numbers in a record's presence mask, and the bytes of one item of each.
const LIST_DOB: usize = 3;
const LIST_HOUSE: usize = 4;
const LIST_STREET: usize = 5;
const LIST_TOWN: usize = 6;
const LIST_POSTCODE: usize = 7;
const LIST_IDENTIFIER: usize = 8;
const LISTS: usize = 9;
/// Bytes of one item of each list; identifiers are 5 bytes, 9 with an aux hash
/// (their kind byte's top bit says which).
const ITEM_LEN: [usize; LISTS] = [8, 8, 8, 16, 4, 13, 13, 12, 5];
/// Set in an identifier's kind byte when an aux hash follows its value.
const HAS_AUX: u8 = 0x80;
const HAS_GENDER: u16 = 1 << 9;
const HAS_YEAR: u16 = 1 << 10;
/// The flat numbers' list, after the year: a later addition to the format, so a
/// record of an older index has no flats (the bit is never set there).
const HAS_FLATS: u16 = 1 << 11;
const KNOWN_FLAGS: u16 = (1 << 12) - 1;
/// Bytes of one flat number's hash.
const FLAT_LEN: usize = 4;

/// Gender bits of a record's features.
pub const GENDER_M: u8 = 1;
/// See [`GENDER_M`].
pub const GENDER_F: u8 = 2;
/// See [`GENDER_M`].
pub const GENDER_X: u8 = 4;

/// Appends the features of one record of dataset number `dataset` to `out`: every
/// canonical value of `person` hashed (see the module documentation), its record
/// year, its flat numbers (after the year, under their own presence bit: they were
/// added to the format later, and a record without flats is laid out as before),
/// and `columns`, the
/// record's column mask (bit `c % 8` of byte `c / 8` set when column `c` holds a
/// value: its data classes). `on_name` sees each name with its hash, so the caller
/// can collect the segment's name table.
pub fn encode_record(
    hasher: &FeatureHasher,
    dataset: u32,
    person: &Person,
    columns: &[u8],
    out: &mut Vec<u8>,
    on_name: &mut dyn FnMut(&str, u64),
) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    put_varint(out, u64::from(dataset));
    let mut mask = 0u16;
    let list = |out: &mut Vec<u8>, mask: &mut u16, i: usize, n: usize| -> bool {
        if n == 0 {
            return false;
        }
        *mask |= 1 << i;
        put_varint(out, n as u64);
        true
    };
    for (i, names) in [
        &person.first_names,
        &person.middle_names,
        &person.last_names,
    ]
    .into_iter()
    .enumerate()
    {
        if list(out, &mut mask, i, names.len()) {
            for n in names {
                let hash = hasher.name(n);
                on_name(n, hash);
                out.extend_from_slice(&hash.to_le_bytes());
            }
        }
    }
    if list(out, &mut mask, LIST_DOB, person.dobs.len()) {
        for d in &person.dobs {
            let f = hasher.dob_parts(*d);
            for h in [f.date, f.year_month, f.year_day, f.month_day_decade] {
                out.extend_from_slice(&h.to_le_bytes());
            }
        }
    }
    if list(out, &mut mask, LIST_HOUSE, person.house_numbers.len()) {
        for h in &person.house_numbers {
            out.extend_from_slice(&hasher.house(h).to_le_bytes());
        }
    }
    if list(out, &mut mask, LIST_STREET, person.streets.len()) {
        for s in &person.streets {
            // Equal lines have equal words: the words say all `street_same` needs.
            out.extend_from_slice(&hasher.street_words(s).to_le_bytes());
            out.extend_from_slice(&hasher.signature(s).to_le_bytes());
            out.push(saturate(s.chars().count()));
        }
    }
    if list(out, &mut mask, LIST_TOWN, person.towns.len()) {
        for t in &person.towns {
            out.extend_from_slice(&hasher.town(t).to_le_bytes());
            out.extend_from_slice(&hasher.signature(t).to_le_bytes());
            out.push(saturate(t.chars().count()));
        }
    }
    if list(out, &mut mask, LIST_POSTCODE, person.postcodes.len()) {
        for p in &person.postcodes {
            let f = hasher.postcode(p);
            for h in [f.whole, f.sector, f.district] {
                out.extend_from_slice(&h.to_le_bytes());
            }
        }
    }
    if list(out, &mut mask, LIST_IDENTIFIER, person.identifiers.len()) {
        for (kind, value) in &person.identifiers {
            let f = hasher.identifier(*kind, value);
            if f.aux == 0 {
                out.push(f.kind);
                out.extend_from_slice(&f.value.to_le_bytes());
            } else {
                out.push(f.kind | HAS_AUX);
                out.extend_from_slice(&f.value.to_le_bytes());
                out.extend_from_slice(&f.aux.to_le_bytes());
            }
        }
    }
    if !person.genders.is_empty() {
        mask |= HAS_GENDER;
        let mut bits = 0u8;
        for g in &person.genders {
            bits |= match g {
                b'm' => GENDER_M,
                b'f' => GENDER_F,
                _ => GENDER_X,
            };
        }
        out.push(bits);
    }
    if let Some(year) = person.record_year {
        mask |= HAS_YEAR;
        out.extend_from_slice(&year.to_le_bytes());
    }
    if !person.flats.is_empty() {
        mask |= HAS_FLATS;
        put_varint(out, person.flats.len() as u64);
        for f in &person.flats {
            out.extend_from_slice(&hasher.flat(f).to_le_bytes());
        }
    }
    let used = columns.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    out.extend_from_slice(&columns[..used]);
    out[start..start + 2].copy_from_slice(&mask.to_le_bytes());
}

/// One record's features, parsed (bounds-checked) from its bytes in a segment.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    bytes: &'a [u8],
    dataset: u32,
    lists: [(u32, u32); LISTS],
    genders: u8,
    year: Option<u16>,
    /// Where the flat hashes start, and how many there are.
    flats: (u32, u32),
    columns: usize,
}

impl<'a> RecordView<'a> {
    /// Parses one record's features; `None` when the bytes are not well formed.
    pub fn parse(bytes: &'a [u8]) -> Option<RecordView<'a>> {
        let mut r = Reader { bytes, at: 0 };
        let mask = r.u16()?;
        if mask & !KNOWN_FLAGS != 0 {
            return None;
        }
        let dataset = u32::try_from(r.varint()?).ok()?;
        let mut lists = [(0u32, 0u32); LISTS];
        for (i, slot) in lists.iter_mut().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            let count = u32::try_from(r.varint()?).ok()?;
            let at = u32::try_from(r.at).ok()?;
            if i == LIST_IDENTIFIER {
                for _ in 0..count {
                    let kind = r.u8()?;
                    r.take(if kind & HAS_AUX != 0 { 8 } else { 4 })?;
                }
            } else {
                let len = usize::try_from(count).ok()?.checked_mul(ITEM_LEN[i])?;
                r.take(len)?;
            }
            *slot = (at, count);
        }
        let genders = if mask & HAS_GENDER != 0 { r.u8()? } else { 0 };
        let year = if mask & HAS_YEAR != 0 {
            Some(r.u16()?)
        } else {
            None
        };
        let flats = if mask & HAS_FLATS != 0 {
            let count = u32::try_from(r.varint()?).ok()?;
            let at = u32::try_from(r.at).ok()?;
            r.take(usize::try_from(count).ok()?.checked_mul(FLAT_LEN)?)?;
            (at, count)
        } else {
            (0, 0)
        };
        Some(RecordView {
            bytes,
            dataset,
            lists,
            genders,
            year,
            flats,
            columns: r.at,
        })
    }

    fn items(&self, list: usize) -> impl Iterator<Item = &'a [u8]> + Clone + use<'a> {
        let (at, count) = self.lists.get(list).copied().unwrap_or((0, 0));
        let len = ITEM_LEN.get(list).copied().unwrap_or(1);
        let start = at as usize;
        let end = start + count as usize * len;
        self.bytes
            .get(start..end)
            .unwrap_or_default()
            .chunks_exact(len)
    }

    /// The record's dataset number (as in the record table).
    pub fn dataset(&self) -> u32 {
        self.dataset
    }

    /// How many values a list holds.
    fn count(&self, list: usize) -> usize {
        self.lists.get(list).map_or(0, |l| l.1 as usize)
    }

    /// The name hashes of one list, in the record's order.
    pub fn names(&self, list: NameList) -> impl Iterator<Item = u64> + Clone + use<'a> {
        self.items(list as usize).map(|b| le_u64(b, 0))
    }

    /// How many names a list holds.
    pub fn name_count(&self, list: NameList) -> usize {
        self.count(list as usize)
    }

    /// The hashes of each date of birth.
    pub fn dobs(&self) -> impl Iterator<Item = DobFeature> + Clone + use<'a> {
        self.items(LIST_DOB).map(|b| DobFeature {
            date: le_u32(b, 0),
            year_month: le_u32(b, 4),
            year_day: le_u32(b, 8),
            month_day_decade: le_u32(b, 12),
        })
    }

    /// Whether the record has a date of birth.
    pub fn has_dob(&self) -> bool {
        self.count(LIST_DOB) > 0
    }

    /// House number hashes.
    pub fn houses(&self) -> impl Iterator<Item = u32> + Clone + use<'a> {
        self.items(LIST_HOUSE).map(|b| le_u32(b, 0))
    }

    /// Whether the record has a house number.
    pub fn has_house(&self) -> bool {
        self.count(LIST_HOUSE) > 0
    }

    /// Flat number hashes ([`FeatureHasher::flat`]); none for a record of an index
    /// built before flats were stored.
    pub fn flats(&self) -> impl Iterator<Item = u32> + Clone + use<'a> {
        let (at, count) = self.flats;
        let start = at as usize;
        let end = start.saturating_add((count as usize).saturating_mul(FLAT_LEN));
        self.bytes
            .get(start..end)
            .unwrap_or_default()
            .chunks_exact(FLAT_LEN)
            .map(|b| le_u32(b, 0))
    }

    /// Whether the record has a flat number.
    pub fn has_flat(&self) -> bool {
        self.flats.1 > 0
    }

    /// Street lines.
    pub fn streets(&self) -> impl Iterator<Item = SignedFeature> + Clone + use<'a> {
        self.items(LIST_STREET).map(signed)
    }

    /// Whether the record has a street line.
    pub fn has_street(&self) -> bool {
        self.count(LIST_STREET) > 0
    }

    /// Towns.
    pub fn towns(&self) -> impl Iterator<Item = SignedFeature> + Clone + use<'a> {
        self.items(LIST_TOWN).map(signed)
    }

    /// Whether the record has a town.
    pub fn has_town(&self) -> bool {
        self.count(LIST_TOWN) > 0
    }

    /// Postcodes.
    pub fn postcodes(&self) -> impl Iterator<Item = PostcodeFeature> + Clone + use<'a> {
        self.items(LIST_POSTCODE).map(|b| PostcodeFeature {
            whole: le_u32(b, 0),
            sector: le_u32(b, 4),
            district: le_u32(b, 8),
        })
    }

    /// Whether the record has a postcode.
    pub fn has_postcode(&self) -> bool {
        self.count(LIST_POSTCODE) > 0
    }

    /// Identifiers, in the record's order.
    pub fn identifiers(&self) -> Identifiers<'a> {
        let (at, count) = self.lists.get(LIST_IDENTIFIER).copied().unwrap_or((0, 0));
        Identifiers {
            bytes: self.bytes.get(at as usize..).unwrap_or_default(),
            left: count,
        }
    }

    /// Gender bits ([`GENDER_M`], [`GENDER_F`], [`GENDER_X`]); 0 when none.
    pub fn genders(&self) -> u8 {
        self.genders
    }

    /// Year of the record's `record_date`.
    pub fn year(&self) -> Option<u16> {
        self.year
    }

    /// Whether column `col` of the record's dataset holds a value.
    pub fn has_column(&self, col: usize) -> bool {
        let byte = self
            .bytes
            .get(self.columns..)
            .and_then(|c| c.get(col / 8))
            .copied()
            .unwrap_or(0);
        byte & (1 << (col % 8)) != 0
    }
}

/// A record's identifiers, read in order (their items differ in length).
#[derive(Clone, Debug)]
pub struct Identifiers<'a> {
    bytes: &'a [u8],
    left: u32,
}

impl Iterator for Identifiers<'_> {
    type Item = IdentifierFeature;

    fn next(&mut self) -> Option<IdentifierFeature> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let kind = *self.bytes.first()?;
        let with_aux = kind & HAS_AUX != 0;
        let len = if with_aux { 9 } else { 5 };
        let item = self.bytes.get(..len)?;
        self.bytes = self.bytes.get(len..).unwrap_or_default();
        Some(IdentifierFeature {
            kind: kind & !HAS_AUX,
            value: le_u32(item, 1),
            aux: if with_aux { le_u32(item, 5) } else { 0 },
        })
    }
}

/// A street or town item: hash, signature, characters.
fn signed(b: &[u8]) -> SignedFeature {
    SignedFeature {
        hash: le_u32(b, 0),
        signature: le_u64(b, 4),
        chars: b.get(12).copied().unwrap_or(u8::MAX),
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// An upper bound of the Jaro-Winkler similarity of two strings, from what the
/// features keep of one of them.
///
/// `query_bits` are the signature bits of the query's characters
/// ([`FeatureHasher::signature_bits`]), `record_signature` and `record_chars` the
/// record's signature and length, and `prefix` an upper bound of their common prefix
/// (at most four characters count). A query character whose bit is not in the
/// record's signature is certainly not in the record, so it cannot be one of Jaro's
/// matching characters; the others may be, and transpositions are taken to be none.
/// A hash collision only makes the bound looser, never wrong.
pub fn jaro_winkler_bound(
    query_bits: &[u8],
    record_signature: u64,
    record_chars: usize,
    prefix: usize,
) -> f64 {
    let query_chars = query_bits.len();
    if query_chars == 0 || record_chars == 0 {
        return if query_chars == record_chars {
            1.0
        } else {
            0.0
        };
    }
    let absent = query_bits
        .iter()
        .filter(|&&bit| record_signature & (1u64 << (bit & 63)) == 0)
        .count();
    let matches = (query_chars - absent).min(record_chars);
    if matches == 0 {
        return 0.0;
    }
    let m = matches as f64;
    let jaro = (m / query_chars as f64 + m / record_chars as f64 + 1.0) / 3.0;
    if jaro <= 0.7 {
        jaro
    } else {
        jaro + 0.1 * prefix.min(4) as f64 * (1.0 - jaro)
    }
}

/// The name table of a segment: every distinct name's [`NameEntry`], sorted by
/// hash, behind a directory of the hashes' top bits.
///
/// ```text
/// u32 directory bits, u32 reserved, u64 entry count,
/// directory: (2^bits + 1) × u32 first entry of each bucket,
/// hashes: count × u64 (sorted), entries: count × NAME_ENTRY_LEN bytes
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NameTable<'a> {
    bits: u32,
    count: usize,
    directory: &'a [u8],
    hashes: &'a [u8],
    entries: &'a [u8],
}

impl<'a> NameTable<'a> {
    /// Serialises `entries` (any order; repeated hashes are kept once) as a table.
    pub fn encode(entries: &mut Vec<NameEntry>, out: &mut Vec<u8>) {
        entries.sort_unstable_by_key(|e| e.hash);
        entries.dedup_by_key(|e| e.hash);
        let count = entries.len();
        let bits = if count < 8 {
            0
        } else {
            (usize::BITS - (count / 4).leading_zeros()).min(24)
        };
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(count as u64).to_le_bytes());
        let buckets = 1usize << bits;
        let mut at = 0usize;
        for b in 0..=buckets {
            while at < count && bucket_of(entries[at].hash, bits) < b {
                at += 1;
            }
            out.extend_from_slice(&(at as u32).to_le_bytes());
        }
        for e in entries.iter() {
            out.extend_from_slice(&e.hash.to_le_bytes());
        }
        for e in entries.iter() {
            e.encode(out);
        }
    }

    /// Reads a table's frame; `None` when its sizes do not add up.
    pub fn parse(bytes: &'a [u8]) -> Option<NameTable<'a>> {
        let mut r = Reader { bytes, at: 0 };
        let bits = r.u32()?;
        let _reserved = r.u32()?;
        let count = usize::try_from(r.u64()?).ok()?;
        if bits > 24 || u32::try_from(count).is_err() {
            return None;
        }
        let dir_len = ((1usize << bits) + 1) * 4;
        let directory = r.take(dir_len)?;
        let hashes = r.take(count.checked_mul(8)?)?;
        let entries = r.take(count.checked_mul(NAME_ENTRY_LEN)?)?;
        if r.at != bytes.len() {
            return None;
        }
        Some(NameTable {
            bits,
            count,
            directory,
            hashes,
            entries,
        })
    }

    /// An empty table (a segment without names).
    pub fn empty() -> NameTable<'static> {
        NameTable {
            bits: 0,
            count: 0,
            directory: &[],
            hashes: &[],
            entries: &[],
        }
    }

    /// Distinct names in the table.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table holds no name.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Starts loading the table lines that [`get`](Self::get) of `hash` will read
    /// (the directory is small and usually cached already).
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let b = bucket_of(hash, self.bits);
        let lo = le_u32(self.directory, b * 4) as usize;
        prefetch(self.hashes, lo * 8);
        prefetch(self.entries, lo * NAME_ENTRY_LEN);
        prefetch(self.entries, lo * NAME_ENTRY_LEN + 64);
    }

    /// The hash of the `i`-th entry, in table (hash) order.
    pub fn hash_at(&self, i: usize) -> Option<u64> {
        (i < self.count).then(|| le_u64(self.hashes, i * 8))
    }

    /// The entry of the name stored under `hash`.
    pub fn get(&self, hash: u64) -> Option<NameEntry> {
        let b = bucket_of(hash, self.bits);
        let lo = le_u32(self.directory, b * 4) as usize;
        let hi = (le_u32(self.directory, b * 4 + 4) as usize).min(self.count);
        let mut i = lo;
        while i < hi {
            let h = le_u64(self.hashes, i * 8);
            if h == hash {
                let at = i * NAME_ENTRY_LEN;
                return NameEntry::decode(self.entries.get(at..at + NAME_ENTRY_LEN)?);
            }
            if h > hash {
                return None;
            }
            i += 1;
        }
        None
    }
}

/// Asks the CPU to start loading the cache line of `bytes[pos]` (nothing if `pos`
/// is out of bounds): a hint, never a read the program depends on. Queries chain
/// reads through several tables (keys, records, features, names); hinting each
/// step for all candidates before reading any lets the misses overlap.
#[inline]
pub fn prefetch(bytes: &[u8], pos: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(pos) {
        // SAFETY: SSE is part of every x86_64 CPU, and a prefetch of any address
        // cannot fault; this one is inside the slice anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(byte).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, pos);
}

fn bucket_of(hash: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (hash >> (64 - bits)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::similarity::jaro_winkler;
    use proptest::prelude::*;

    fn hasher() -> FeatureHasher {
        FeatureHasher::new(&Secret::from_bytes(&[3u8; 192]).expect("secret"))
    }

    #[test]
    fn a_record_round_trips() {
        let h = hasher();
        let p = Person::of(&[
            (FieldKind::FullName, "Mrs Jane A. O'Brien"),
            (FieldKind::Dob, "03/02/1980"),
            (FieldKind::Gender, "F"),
            (FieldKind::Email, "Jane.OBrien@Example.com"),
            (FieldKind::Phone, "07911 123456"),
            (FieldKind::Address, "Flat 3, 12a High St, London SW1A 1AA"),
            (FieldKind::Town, "London"),
            (FieldKind::RecordDate, "14/07/2006"),
        ]);
        let mut bytes = Vec::new();
        let mut names = Vec::new();
        encode_record(
            &h,
            300,
            &p,
            &[0b1010_0000, 0, 0b1],
            &mut bytes,
            &mut |n, hash| {
                names.push((n.to_string(), hash));
            },
        );
        let v = RecordView::parse(&bytes).expect("parses");
        assert_eq!(
            names,
            vec![
                ("jane".to_string(), h.name("jane")),
                ("a".to_string(), h.name("a")),
                ("obrien".to_string(), h.name("obrien")),
            ]
        );
        assert_eq!(
            v.names(NameList::First).collect::<Vec<_>>(),
            [h.name("jane")]
        );
        assert_eq!(
            v.names(NameList::Last).collect::<Vec<_>>(),
            [h.name("obrien")]
        );
        let dob = Date {
            year: 1980,
            month: 2,
            day: 3,
        };
        assert_eq!(v.dobs().collect::<Vec<_>>(), [h.dob_parts(dob)]);
        assert_eq!(v.houses().collect::<Vec<_>>(), [h.house("12a")]);
        assert_eq!(v.flats().collect::<Vec<_>>(), [h.flat("3")]);
        assert!(v.has_flat());
        assert_ne!(h.flat("12a"), h.house("12a"));
        assert_eq!(v.postcodes().collect::<Vec<_>>(), [h.postcode("SW1A1AA")]);
        let street = v.streets().next().expect("street");
        assert_eq!(street.hash, h.street_words("flat 3 12a high street london"));
        assert_eq!(street.chars, 29);
        assert_eq!(v.towns().next().map(|t| t.hash), Some(h.town("london")));
        let ids: Vec<_> = v.identifiers().collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], h.identifier(FieldKind::Phone, "+447911123456"));
        assert_ne!(ids[1].aux, 0);
        assert_eq!(v.genders(), GENDER_F);
        assert_eq!(v.year(), Some(2006));
        assert_eq!(v.dataset(), 300);
        assert!(v.has_column(5) && v.has_column(7) && v.has_column(16));
        assert!(!v.has_column(0) && !v.has_column(8) && !v.has_column(200));
    }

    #[test]
    fn an_empty_person_has_no_lists() {
        let mut bytes = Vec::new();
        encode_record(
            &hasher(),
            0,
            &Person::default(),
            &[0, 0],
            &mut bytes,
            &mut |_, _| {},
        );
        assert_eq!(bytes, [0, 0, 0]);
        let v = RecordView::parse(&bytes).expect("parses");
        assert_eq!(v.identifiers().count(), 0);
        assert!(!v.has_dob() && !v.has_postcode() && v.year().is_none());
    }

    #[test]
    fn malformed_features_are_refused() {
        assert!(RecordView::parse(&[]).is_none());
        assert!(RecordView::parse(&[0xFF, 0xFF, 0]).is_none());
        // No dataset.
        assert!(RecordView::parse(&[0, 0]).is_none());
        // A list of 3 names with bytes for one.
        let mut bytes = vec![1, 0, 0, 3];
        bytes.extend_from_slice(&7u64.to_le_bytes());
        assert!(RecordView::parse(&bytes).is_none());
    }

    #[test]
    fn flats_are_an_addition_older_records_do_without() {
        let h = hasher();
        let with = Person::of(&[
            (FieldKind::Address, "Flat 3, 12 High St"),
            (FieldKind::RecordDate, "2006"),
        ]);
        let mut without = with.clone();
        without.flats.clear();
        let encode = |p: &Person| {
            let mut bytes = Vec::new();
            encode_record(&h, 5, p, &[0b11], &mut bytes, &mut |_, _| {});
            bytes
        };
        let (new, old) = (encode(&with), encode(&without));
        // A record without flats is laid out as before flats were stored: no bit,
        // no bytes, so the records of an older index read as records without flats.
        let mask = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
        assert_eq!(mask(&old) & HAS_FLATS, 0);
        assert_eq!(mask(&new), mask(&old) | HAS_FLATS);
        assert_eq!(new.len(), old.len() + 1 + FLAT_LEN);
        let (a, b) = (
            RecordView::parse(&new).expect("new"),
            RecordView::parse(&old).expect("old"),
        );
        assert_eq!(a.flats().collect::<Vec<_>>(), [h.flat("3")]);
        assert_eq!(b.flats().count(), 0);
        assert!(!b.has_flat());
        for v in [a, b] {
            assert_eq!(v.year(), Some(2006));
            assert_eq!(v.houses().collect::<Vec<_>>(), [h.house("12")]);
            assert!(v.has_column(0) && v.has_column(1) && !v.has_column(2));
        }
        // The flat list is bounds-checked like the others: cut short, or claiming
        // more hashes than there are bytes, it is refused.
        let columns = 1;
        let flats_end = new.len() - columns;
        assert!(RecordView::parse(&new[..flats_end - 1]).is_none());
        let mut lying = new[..flats_end].to_vec();
        let count_at = flats_end - FLAT_LEN - 1;
        lying[count_at] = 9;
        assert!(RecordView::parse(&lying).is_none());
        // An unknown presence bit is still refused.
        let mut unknown = new.clone();
        unknown[1] |= 0x10;
        assert!(RecordView::parse(&unknown).is_none());
    }

    #[test]
    fn postcode_parts_hash_only_for_uk_shapes() {
        let h = hasher();
        let a = h.postcode("SW1A1AA");
        let b = h.postcode("SW1A1BB");
        let c = h.postcode("SW1A2AA");
        assert_eq!(a.sector, b.sector);
        assert_ne!(a.sector, c.sector);
        assert_eq!(a.district, c.district);
        let foreign = h.postcode("75001");
        assert_eq!((foreign.sector, foreign.district), (0, 0));
    }

    #[test]
    fn name_entries_round_trip_and_keep_prefixes_and_suffixes() {
        let h = hasher();
        let e = NameEntry::of(&h, "francesca");
        let mut bytes = Vec::new();
        e.encode(&mut bytes);
        assert_eq!(bytes.len(), NAME_ENTRY_LEN);
        assert_eq!(NameEntry::decode(&bytes), Some(e));
        assert_eq!(e.prefix(4), Some(h.prefix(b"fran")));
        assert_eq!(e.suffix(4), Some(h.suffix(b"esca")));
        assert_eq!((e.bytes, e.chars, e.ascii), (9, 9, true));
        assert_eq!(e.initial, h.initial("f"));
        let short = NameEntry::of(&h, "al");
        assert_eq!(short.prefix(3), Some(0));
        assert_eq!(short.suffix(4), Some(0));
    }

    #[test]
    fn name_tables_find_every_entry_and_nothing_else() {
        let h = hasher();
        for n in [0usize, 1, 7, 8, 100, 5000] {
            let entries: Vec<NameEntry> = (0..n)
                .map(|i| NameEntry::of(&h, &format!("name{i}")))
                .collect();
            let mut bytes = Vec::new();
            NameTable::encode(&mut entries.clone(), &mut bytes);
            let table = NameTable::parse(&bytes).expect("parses");
            assert_eq!(table.len(), n);
            for e in &entries {
                assert_eq!(table.get(e.hash), Some(*e));
            }
            assert_eq!(table.get(h.name("absent")), None);
            assert!(NameTable::parse(&bytes[..bytes.len().saturating_sub(1)]).is_none());
        }
    }

    #[test]
    fn the_bound_rules_out_different_names_and_keeps_similar_ones() {
        let h = hasher();
        let bound = |q: &str, r: &str, prefix: usize| {
            let mut bits = Vec::new();
            h.signature_bits(q, &mut bits);
            jaro_winkler_bound(&bits, h.signature(r), r.chars().count(), prefix)
        };
        assert!(bound("jane", "mary", 0) < 0.9);
        assert!(bound("jonathon", "jonathan", 4) >= 0.9);
        // smith / smyth: four of five letters shared, prefix 2: the bound is exact.
        let b = bound("smith", "smyth", 2);
        assert!((b - jaro_winkler("smith", "smyth")).abs() < 1e-9, "{b}");
    }

    proptest! {
        #[test]
        fn the_bound_is_never_below_jaro_winkler(
            a in "[a-e]{1,9}|\\PC{1,12}",
            b in "[a-e]{1,9}|\\PC{1,12}",
            seed in any::<u8>(),
        ) {
            let h = FeatureHasher::new(&Secret::from_bytes(&[seed; 192]).expect("secret"));
            let mut bits = Vec::new();
            h.signature_bits(&a, &mut bits);
            let bound = jaro_winkler_bound(&bits, h.signature(&b), b.chars().count(), 4);
            let jw = jaro_winkler(&a, &b);
            prop_assert!(bound + 1e-12 >= jw, "{:?} {:?}: bound {} < {}", a, b, bound, jw);
        }

        #[test]
        fn any_person_round_trips(values in proptest::collection::vec(("\\PC{0,24}", 0usize..25), 0..12)) {
            let h = hasher();
            let mut p = Person::default();
            for (v, k) in &values {
                p.add(FieldKind::ALL[*k], v);
            }
            let mut bytes = Vec::new();
            encode_record(&h, 7, &p, &[0xFF; 3], &mut bytes, &mut |_, _| {});
            let view = RecordView::parse(&bytes).expect("parses");
            prop_assert_eq!(view.name_count(NameList::First), p.first_names.len());
            prop_assert_eq!(view.names(NameList::Last).count(), p.last_names.len());
            prop_assert_eq!(view.dobs().count(), p.dobs.len());
            prop_assert_eq!(view.streets().count(), p.streets.len());
            prop_assert_eq!(view.towns().count(), p.towns.len());
            prop_assert_eq!(view.postcodes().count(), p.postcodes.len());
            prop_assert_eq!(view.identifiers().count(), p.identifiers.len());
            prop_assert_eq!(view.year(), p.record_year);
            let flats: Vec<u32> = p.flats.iter().map(|f| h.flat(f)).collect();
            prop_assert_eq!(view.flats().collect::<Vec<_>>(), flats);
            prop_assert!(view.has_column(23));
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(v) = RecordView::parse(&bytes) {
                let _ = v.identifiers().count() + v.streets().count() + v.dobs().count()
                    + v.flats().count();
                let _ = v.has_column(100);
            }
            let _ = NameTable::parse(&bytes).map(|t| t.get(42));
        }
    }
}
