"""Convert the MySQL dump's INSERT statements into one CSV file per table.

DuckDB and SQLite cannot read a MySQL dump, so an analyst would first turn the
INSERTs into CSV. peers.sh times this step on its own and reports it apart from
the loads.

Usage: sql_to_csv.py DUMP.sql OUTDIR   (writes OUTDIR/<table>.csv with a header row)
"""

import csv
import re
import sys

CREATE = re.compile(r"^CREATE TABLE `([^`]+)`")
COLUMN = re.compile(r"^\s+`([^`]+)`")
INSERT = re.compile(r"^INSERT INTO `([^`]+)` VALUES ")
# One token of a VALUES list: a quoted string, NULL, a bare number, or a bracket.
TOKEN = re.compile(r"'((?:[^'\\]|\\.)*)'|(NULL)|([^,()'\s;]+)|([()])")
ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
ESCAPE = re.compile(r"\\(.)", re.S)


def unescape(text):
    r"""Undo MySQL string escapes.

    >>> unescape(r"Shepherd\'s Bush\nLibrary \\ 1")
    "Shepherd's Bush\nLibrary \\ 1"
    """
    if "\\" not in text:
        return text
    return ESCAPE.sub(lambda m: ESCAPES.get(m.group(1), m.group(1)), text)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: sql_to_csv.py DUMP.sql OUTDIR")
    sql_path, out_dir = argv[1], argv[2]
    columns = {}
    writers = {}
    files = []
    current = None
    rows = {}
    with open(sql_path, encoding="utf-8", errors="replace") as sql:
        for line in sql:
            if current is not None:
                col = COLUMN.match(line)
                if col:
                    columns[current].append(col.group(1))
                    continue
                if line.startswith(")"):
                    current = None
                continue
            create = CREATE.match(line)
            if create:
                current = create.group(1)
                columns[current] = []
                continue
            insert = INSERT.match(line)
            if not insert:
                continue
            table = insert.group(1)
            writer = writers.get(table)
            if writer is None:
                handle = open(f"{out_dir}/{table}.csv", "w", encoding="utf-8", newline="")
                files.append(handle)
                writer = csv.writer(handle)
                writer.writerow(columns.get(table, []))
                writers[table] = writer
                rows[table] = 0
            row = None
            for quoted, null, bare, bracket in TOKEN.findall(line, insert.end()):
                if bracket == "(":
                    row = []
                elif bracket == ")":
                    if row is not None:
                        writer.writerow(row)
                        rows[table] += 1
                    row = None
                elif row is not None:
                    if null:
                        row.append("")
                    elif bare:
                        row.append(bare)
                    else:
                        row.append(unescape(quoted))
    for handle in files:
        handle.close()
    for table, count in rows.items():
        print(f"{table}: {count} rows", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
