//! Per-function cost of normalisation and keying, and of a whole typical record
//! (`Person::add` for ~10 fields, then `keys::derive`): the index build needs about
//! 1 µs per ~120-byte row for all of it.
//!
//! `cargo bench --bench normalize -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use leakscope::field::FieldKind;
use leakscope::keys::{self, Secret};
use leakscope::normalize::{
    self, Person, address, date, email, gender, ids, name, phone, postcode,
};

fn normalisers(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalize");
    g.bench_function("email::canonical", |b| {
        b.iter(|| email::canonical(black_box(" Jane.Doe@Example.co.uk")))
    });
    g.bench_function("email::alias", |b| {
        b.iter(|| email::alias(black_box("jane.doe+tax@gmail.com")))
    });
    g.bench_function("phone::canonical uk", |b| {
        b.iter(|| phone::canonical(black_box("07911 123456")))
    });
    g.bench_function("phone::canonical +44 (0)", |b| {
        b.iter(|| phone::canonical(black_box("+44 (0)20 7946 0018")))
    });
    g.bench_function("phone::canonical foreign", |b| {
        b.iter(|| phone::canonical(black_box("+33 1 42 68 53 00")))
    });
    g.bench_function("postcode::canonical", |b| {
        b.iter(|| postcode::canonical(black_box("sw1a 1aa")))
    });
    g.bench_function("postcode::find_in", |b| {
        b.iter(|| postcode::find_in(black_box("Flat 3, 12a High St, London SW1A 1AA")))
    });
    g.bench_function("ids::ni_number", |b| {
        b.iter(|| ids::ni_number(black_box("AB 12 34 56 C")))
    });
    g.bench_function("ids::account_ref", |b| {
        b.iter(|| ids::account_ref(black_box("CT-000123456")))
    });
    g.bench_function("ids::card_number", |b| {
        b.iter(|| ids::card_number(black_box("4539 1488 0343 6467")))
    });
    g.bench_function("name::fold ascii", |b| {
        b.iter(|| name::fold(black_box("O'Brien-Jones")))
    });
    g.bench_function("name::fold unicode", |b| {
        b.iter(|| name::fold(black_box("Siân Łukasz")))
    });
    g.bench_function("name::split_full", |b| {
        b.iter(|| name::split_full(black_box("Mr John A. Smith")))
    });
    g.bench_function("name::given_key_ref", |b| {
        b.iter(|| name::given_key_ref(black_box("bill")).len())
    });
    g.bench_function("name::phonetic (cached)", |b| {
        b.iter(|| name::phonetic_code(black_box("obrienjones")))
    });
    g.bench_function("name::family", |b| {
        b.iter(|| name::family(black_box("O'Brien")))
    });
    g.bench_function("date::parse dd/mm/yyyy", |b| {
        b.iter(|| date::parse(black_box("03/02/1980")))
    });
    g.bench_function("date::parse iso", |b| {
        b.iter(|| date::parse(black_box("1980-02-03")))
    });
    g.bench_function("date::parse words", |b| {
        b.iter(|| date::parse(black_box("3rd February 1980")))
    });
    g.bench_function("address::house_number", |b| {
        b.iter(|| address::house_number(black_box("Flat 3, 12a High St")))
    });
    g.bench_function("address::parse", |b| {
        b.iter(|| address::parse(black_box("12a High St")))
    });
    g.bench_function("address::fold_line", |b| {
        b.iter(|| address::fold_line(black_box("Flat 3, 12a High St, London SW1A 1AA")))
    });
    g.bench_function("gender::canonical", |b| {
        b.iter(|| gender::canonical(black_box("Female")))
    });
    g.finish();
}

/// A typical register or dump row: ~120 bytes, 10 fields.
const RECORD: [(FieldKind, &str); 10] = [
    (FieldKind::AccountRef, "CT000123456"),
    (FieldKind::FirstName, "Jane"),
    (FieldKind::LastName, "O'Brien"),
    (FieldKind::Dob, "03/02/1980"),
    (FieldKind::Address, "12a High St"),
    (FieldKind::Town, "London"),
    (FieldKind::Postcode, "SW1A 1AA"),
    (FieldKind::Email, "jane.obrien@example.com"),
    (FieldKind::Phone, "07911 123456"),
    (FieldKind::RecordDate, "2011-04-01"),
];

fn record(c: &mut Criterion) {
    let secret = Secret::from_bytes(&[0x5a; keys::SECRET_LEN]).unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("record");
    g.bench_function("Person::add x10", |b| {
        b.iter(|| {
            let mut p = Person::default();
            for (k, v) in black_box(&RECORD) {
                p.add(*k, v);
            }
            p
        })
    });
    let mut person = Person::default();
    for (k, v) in &RECORD {
        person.add(*k, v);
    }
    let mut out = Vec::with_capacity(64);
    g.bench_function("keys::derive", |b| {
        b.iter(|| {
            out.clear();
            keys::derive(black_box(&person), &secret, &mut out);
            out.len()
        })
    });
    g.bench_function("add x10 + derive", |b| {
        b.iter(|| {
            let mut p = Person::default();
            for (k, v) in black_box(&RECORD) {
                p.add(*k, v);
            }
            out.clear();
            keys::derive(&p, &secret, &mut out);
            out.len()
        })
    });
    // How the index builder runs: one Person per thread, cleared per record.
    let mut reused = Person::default();
    g.bench_function("reused Person: add x10 + derive", |b| {
        b.iter(|| {
            reused.clear();
            for (k, v) in black_box(&RECORD) {
                reused.add(*k, v);
            }
            out.clear();
            keys::derive(&reused, &secret, &mut out);
            out.len()
        })
    });
    g.bench_function("normalize::canonical phone", |b| {
        b.iter(|| normalize::canonical(FieldKind::Phone, black_box("07911 123456")))
    });
    g.finish();
}

criterion_group!(benches, normalisers, record);
criterion_main!(benches);
