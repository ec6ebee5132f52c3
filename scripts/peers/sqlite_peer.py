"""SQLite as an analyst would use it: Python load, indexes on the keys, exact joins.

Usage:
  sqlite_peer.py load DB DUMPDIR SQLCSVDIR   table dump + indexes on email, phone, (surname, dob)
  sqlite_peer.py join DB REGISTER OUT.csv    write resident_id,key for every exact join hit

The dump is read with the standard csv/json modules and normalised by norm.py,
the same rules duck.py writes in SQL.
"""

import csv
import json
import os
import sqlite3
import sys

import norm

csv.field_size_limit(1 << 30)


def csv_rows(path, encoding, **fmt):
    """Dict rows of a CSV file, empty fields as None."""
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        for row in csv.DictReader(handle, **fmt):
            yield {key: (value if value != "" else None) for key, value in row.items()}


def council(dump, _sql):
    for row in csv_rows(f"{dump}/council_tax_2006_2014.csv", "utf-8-sig"):
        yield [(row.get("E-mail Address"), row.get("Tel"), row.get("Surname"),
               row.get("D.O.B"), row.get("Post Code"))]


def parking(dump, _sql):
    for row in csv_rows(f"{dump}/parking_permits.tsv", "utf-8", delimiter="\t",
                        quoting=csv.QUOTE_NONE):
        yield [(row.get("Email"), row.get("Mobile"), norm.surname_of(row.get("Holder Name")),
               None, row.get("Postcode"))]


def benefit(dump, _sql):
    with open(f"{dump}/housing_benefit.jsonl", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            claim = json.loads(line)
            claimant = claim.get("claimant") or {}
            contact = claim.get("contact") or {}
            address = claim.get("address") or {}
            yield [(contact.get("email"), number, (claimant.get("name") or {}).get("last"),
                    claimant.get("dob"), address.get("postcode"))
                   for number in contact.get("phones") or [None]]


def library(_dump, sql):
    for row in csv_rows(f"{sql}/library_members.csv", "utf-8"):
        yield [(row.get("email"), row.get("phone"), row.get("last_name"),
               row.get("date_of_birth"), row.get("postcode"))]


def leisure(_dump, sql):
    for row in csv_rows(f"{sql}/leisure_bookings.csv", "utf-8"):
        yield [(row.get("email"), row.get("mobile"), norm.surname_of(row.get("customer_name")),
               None, None)]


def electoral(dump, _sql):
    for row in csv_rows(f"{dump}/electoral_registration_2014_2020.csv", "cp1252", delimiter=";"):
        yield [(row.get("Email"), row.get("Telephone"), row.get("Surname"),
               row.get("Date of Birth"), row.get("Postcode"))]


DATASETS = (
    ("council_tax_2006_2014.csv", council),
    ("parking_permits.tsv", parking),
    ("housing_benefit.jsonl", benefit),
    ("archive.sql#library_members", library),
    ("archive.sql#leisure_bookings", leisure),
    ("electoral_registration_2014_2020.csv", electoral),
)


def load(db, dump, sql):
    """Build table dump and its indexes."""
    if os.path.exists(db):
        os.remove(db)
    con = sqlite3.connect(db)
    # What an analyst does for a one-off bulk load: no journal, no fsync per commit.
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("CREATE TABLE dump (dataset TEXT, row INTEGER, email TEXT, phone TEXT,"
                " surname TEXT, dob TEXT, postcode TEXT)")
    total = 0
    for name, reader in DATASETS:
        row_no = 0
        batch = []
        # A record yields one tuple per phone number (a JSON claim may list two).
        for record in reader(dump, sql):
            row_no += 1
            batch.extend((name, row_no, norm.email(raw[0]), norm.phone(raw[1]),
                          norm.surname(raw[2]), norm.dob(raw[3]), norm.postcode(raw[4]))
                         for raw in record)
            if len(batch) >= 50_000:
                con.executemany("INSERT INTO dump VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
        con.executemany("INSERT INTO dump VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        total += row_no
    con.execute("CREATE INDEX dump_email ON dump(email)")
    con.execute("CREATE INDEX dump_phone ON dump(phone)")
    con.execute("CREATE INDEX dump_surname_dob ON dump(surname, dob)")
    con.commit()
    con.close()
    print(f"sqlite: {total} records loaded", file=sys.stderr)


def join(db, register, out):
    """Exact joins of the register against dump, one output row per (resident, key)."""
    con = sqlite3.connect(db)
    con.execute("CREATE TEMP TABLE reg (resident_id TEXT, email TEXT, phone TEXT,"
                " surname TEXT, dob TEXT)")
    rows = ((r.get("resident_id"), norm.email(r.get("email")), norm.phone(r.get("phone")),
             norm.surname(r.get("last_name")), norm.dob(r.get("dob")))
            for r in csv_rows(register, "utf-8-sig"))
    con.executemany("INSERT INTO reg VALUES (?, ?, ?, ?, ?)", rows)
    hits = con.execute(
        "SELECT DISTINCT r.resident_id, 'email' FROM reg r JOIN dump d ON d.email = r.email"
        " UNION ALL"
        " SELECT DISTINCT r.resident_id, 'phone' FROM reg r JOIN dump d ON d.phone = r.phone"
        " UNION ALL"
        " SELECT DISTINCT r.resident_id, 'surname+dob' FROM reg r"
        " JOIN dump d ON d.surname = r.surname AND d.dob = r.dob"
        " ORDER BY 1, 2").fetchall()
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["resident_id", "key"])
        writer.writerows(hits)
    con.close()


def main(argv):
    if len(argv) != 5 or argv[1] not in ("load", "join"):
        sys.exit(__doc__)
    if argv[1] == "load":
        load(argv[2], argv[3], argv[4])
    else:
        join(argv[2], argv[3], argv[4])


if __name__ == "__main__":
    main(sys.argv)
