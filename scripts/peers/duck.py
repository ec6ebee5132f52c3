"""DuckDB as an analyst would use it: load the dump, then exact-key joins.

Usage:
  duck.py load DB DUMPDIR SQLCSVDIR   build table dump(dataset,row,email,phone,surname,dob,postcode)
  duck.py join DB REGISTER OUT.csv    write resident_id,key for every exact join hit

The normalisation is the SQL an analyst would write by hand; sqlite_peer.py
mirrors it in Python (see norm.py) so both peers join on the same keys.
"""

import sys

import duckdb

MACROS = r"""
CREATE OR REPLACE MACRO norm_email(e) AS nullif(lower(trim(e)), '');
CREATE OR REPLACE MACRO digits(p) AS regexp_replace(p, '[^0-9]', '', 'g');
CREATE OR REPLACE MACRO intl(d) AS CASE
    WHEN d LIKE '00%' THEN substr(d, 3)
    WHEN d LIKE '0%' THEN '44' || substr(d, 2)
    ELSE d END;
CREATE OR REPLACE MACRO norm_phone(p) AS nullif(regexp_replace(intl(digits(p)), '^440', '44'), '');
CREATE OR REPLACE MACRO norm_surname(s) AS nullif(upper(trim(s)), '');
CREATE OR REPLACE MACRO surname_of(n) AS CASE
    WHEN contains(n, ',') THEN split_part(n, ',', 1)
    ELSE regexp_extract(trim(n), '(\S+)$', 1) END;
CREATE OR REPLACE MACRO norm_dob(s) AS coalesce(
    try_strptime(trim(s), '%d/%m/%Y'), try_strptime(trim(s), '%Y-%m-%d'),
    try_strptime(trim(s), '%d-%b-%Y'), try_strptime(trim(s), '%d %b %Y'))::DATE;
CREATE OR REPLACE MACRO norm_postcode(p) AS nullif(upper(replace(p, ' ', '')), '');
"""

LOAD = r"""
CREATE OR REPLACE TABLE dump AS
WITH
council AS (
    SELECT 'council_tax_2006_2014.csv' AS dataset, row_number() OVER () AS row, *
    FROM read_csv('{dump}/council_tax_2006_2014.csv', all_varchar = true, header = true)),
parking AS (
    SELECT 'parking_permits.tsv' AS dataset, row_number() OVER () AS row, *
    FROM read_csv('{dump}/parking_permits.tsv', delim = '\t', quote = '',
                  all_varchar = true, header = true)),
benefit AS (
    SELECT 'housing_benefit.jsonl' AS dataset, row_number() OVER () AS row, *
    FROM read_json('{dump}/housing_benefit.jsonl', format = 'newline_delimited',
        columns = {{claimant: 'STRUCT(name STRUCT(last VARCHAR), dob VARCHAR)',
                   contact: 'STRUCT(email VARCHAR, phones VARCHAR[])',
                   address: 'STRUCT(postcode VARCHAR)'}})),
library AS (
    SELECT 'archive.sql#library_members' AS dataset, row_number() OVER () AS row, *
    FROM read_csv('{sql}/library_members.csv', all_varchar = true, header = true)),
leisure AS (
    SELECT 'archive.sql#leisure_bookings' AS dataset, row_number() OVER () AS row, *
    FROM read_csv('{sql}/leisure_bookings.csv', all_varchar = true, header = true)),
electoral AS (
    SELECT 'electoral_registration_2014_2020.csv' AS dataset, row_number() OVER () AS row, *
    FROM read_csv('{dump}/electoral_registration_2014_2020.csv', delim = ';',
                  encoding = 'latin-1', all_varchar = true, header = true))
SELECT dataset, row, norm_email("E-mail Address") AS email, norm_phone(Tel) AS phone,
       norm_surname(Surname) AS surname, norm_dob("D.O.B") AS dob,
       norm_postcode("Post Code") AS postcode FROM council
UNION ALL
SELECT dataset, row, norm_email(Email), norm_phone(Mobile),
       norm_surname(surname_of("Holder Name")), NULL, norm_postcode(Postcode) FROM parking
UNION ALL
SELECT dataset, row, norm_email(contact.email), norm_phone(phone),
       norm_surname(claimant.name.last), norm_dob(claimant.dob), norm_postcode(address.postcode)
FROM benefit LEFT JOIN unnest(coalesce(contact.phones, [NULL])) AS p(phone) ON true
UNION ALL
SELECT dataset, row, norm_email(email), norm_phone(phone), norm_surname(last_name),
       norm_dob(date_of_birth), norm_postcode(postcode) FROM library
UNION ALL
SELECT dataset, row, norm_email(email), norm_phone(mobile),
       norm_surname(surname_of(customer_name)), NULL, NULL FROM leisure
UNION ALL
SELECT dataset, row, norm_email(Email), norm_phone(Telephone), norm_surname(Surname),
       norm_dob("Date of Birth"), norm_postcode(Postcode) FROM electoral
"""

JOIN = r"""
CREATE OR REPLACE TEMP TABLE reg AS
SELECT resident_id, norm_email(email) AS email, norm_phone(phone) AS phone,
       norm_surname(last_name) AS surname, norm_dob(dob) AS dob
FROM read_csv('{register}', all_varchar = true, header = true);
COPY (
    SELECT DISTINCT r.resident_id, 'email' AS key FROM reg r JOIN dump d ON d.email = r.email
    UNION ALL
    SELECT DISTINCT r.resident_id, 'phone' FROM reg r JOIN dump d ON d.phone = r.phone
    UNION ALL
    SELECT DISTINCT r.resident_id, 'surname+dob' FROM reg r
        JOIN dump d ON d.surname = r.surname AND d.dob = r.dob
    ORDER BY 1, 2
) TO '{out}' (HEADER, DELIMITER ',');
"""


def quote(path):
    """Escape a path for a single-quoted SQL literal."""
    return path.replace("'", "''")


def main(argv):
    if len(argv) != 5 or argv[1] not in ("load", "join"):
        sys.exit(__doc__)
    con = duckdb.connect(argv[2])
    con.execute(MACROS)
    if argv[1] == "load":
        con.execute(LOAD.format(dump=quote(argv[3]), sql=quote(argv[4])))
        rows = con.execute("SELECT count(DISTINCT (dataset, row)) FROM dump").fetchall()
        print(f"duckdb: {rows[0][0]} records loaded", file=sys.stderr)
    else:
        con.execute(JOIN.format(register=quote(argv[3]), out=quote(argv[4])))
    con.close()


if __name__ == "__main__":
    main(sys.argv)
