//! Cost of verifying one candidate: `compare`, `score` and `score_into` over a mix of
//! candidates like those an index returns for one query (the person, a twin, a
//! parent, namesakes, strangers sharing a postcode).
//!
//! The budget is about 1 µs per candidate: a verified lookup scores a handful of
//! candidates within 20 µs, and bulk matching must keep up with a million rows a
//! second across cores.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakscope::field::FieldKind;
use leakscope::matching::{
    Evidence, FieldFamily, Frequencies, Weights, compare, score, score_into,
};
use leakscope::normalize::{Date, Person};
use std::hint::black_box;

fn person(first: &str, last: &str, dob: (u16, u8, u8), house: &str, postcode: &str) -> Person {
    Person {
        first_names: vec![first.to_string()],
        last_names: vec![last.to_string()],
        dobs: vec![Date {
            year: dob.0,
            month: dob.1,
            day: dob.2,
        }],
        genders: vec![b'f'],
        house_numbers: vec![house.to_string()],
        streets: vec!["downing street".to_string()],
        postcodes: vec![postcode.to_string()],
        ..Person::default()
    }
}

fn candidates() -> (Person, Vec<Person>) {
    let mut query = person("jane", "doe", (1980, 2, 3), "10", "SW1A1AA");
    query.identifiers = vec![
        (FieldKind::Email, "jane.doe@example.com".into()),
        (FieldKind::Phone, "+447911123456".into()),
    ];
    let mut same = person("jane", "doe", (1980, 2, 3), "10", "SW1A1AA");
    same.identifiers = query.identifiers.clone();
    let mut nickname = person("janey", "doe", (1980, 3, 2), "10", "SW1A1AA");
    nickname.streets = vec!["downing st".into()];
    let mut records = vec![
        same,
        nickname,
        person("mary", "doe", (1980, 2, 3), "10", "SW1A1AA"),
        person("john", "doe", (1952, 11, 30), "10", "SW1A1AA"),
        person("jane", "doe", (1975, 6, 19), "4", "E17AB"),
        person("jane", "dough", (1980, 2, 3), "22", "N16XY"),
        person("janet", "dobson", (1981, 2, 3), "12", "SW1A1AB"),
        person("priya", "patel", (1990, 7, 14), "11", "SW1A1AA"),
    ];
    let mut married = person("jane", "smith", (1980, 2, 3), "3", "E17AB");
    married.identifiers = vec![(FieldKind::Email, "jane.doe@example.com".into())];
    records.push(married);
    (query, records)
}

fn counts(family: FieldFamily, value: &str) -> Option<u64> {
    match (family, value) {
        (FieldFamily::FirstName, "jane") => Some(4_000),
        (FieldFamily::LastName, "doe") => Some(300),
        (FieldFamily::Dob, _) => Some(35),
        (FieldFamily::Address, _) => Some(40),
        _ => Some(1),
    }
}

fn bench(c: &mut Criterion) {
    let (query, records) = candidates();
    let weights = Weights::default();
    let freq = Frequencies {
        total: 1_000_000,
        count: &counts,
        memo: None,
    };
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("compare", |b| {
        b.iter(|| {
            for record in &records {
                black_box(compare(black_box(&query), black_box(record)));
            }
        })
    });
    group.bench_function("score", |b| {
        b.iter(|| {
            for record in &records {
                black_box(score(black_box(&query), black_box(record), &freq, &weights));
            }
        })
    });
    group.bench_function("score_into", |b| {
        let mut out = Evidence::default();
        b.iter(|| {
            for record in &records {
                score_into(
                    black_box(&query),
                    black_box(record),
                    &freq,
                    &weights,
                    &mut out,
                );
                black_box(out.probability);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
