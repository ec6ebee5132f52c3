"""Score the peers against the ground truth and print the Markdown table.

Usage: report.py --truth TRUTH.csv --measures MEASURES.tsv --duck HITS.csv
                 --sqlite HITS.csv [--match RESULTS.csv] [--records N] [--seed S]
                 [--runs K] --out PEERS.md

MEASURES.tsv lines: step id, wall seconds, peak KB (from peers.sh). A step id
that is absent was not available and is shown so. The table is printed and
written to --out. No identifier is ever printed.
"""

import argparse
import csv
import os
import sys

# Step id -> (tool, step shown, leakscope step it is compared with).
ROWS = (
    ("ls_index", "leakscope", "index build", None),
    ("sql_csv", "Python", "archive.sql INSERTs to CSV (for DuckDB and SQLite)", None),
    ("duck_load", "DuckDB", "load + normalise dump (excl. SQL to CSV)", "ls_index"),
    ("lite_load", "SQLite", "Python load + normalise + 3 indexes (excl. SQL to CSV)", "ls_index"),
    ("ls_match", "leakscope", "match register (verdict exposed)", None),
    ("duck_join", "DuckDB", "exact joins: email, phone, surname+dob", "ls_match"),
    ("lite_join", "SQLite", "exact joins: email, phone, surname+dob", "ls_match"),
    ("ls_lookup", "leakscope", "lookup --email, median", None),
    ("grep", "grep -rF", "one email over the raw dump, median", "ls_lookup"),
)


def read_measures(path):
    measures = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 3:
                measures[parts[0]] = (float(parts[1]), float(parts[2]))
    return measures


def read_truth(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return {r["resident_id"] for r in csv.DictReader(handle) if r["exposed"] == "true"}


def read_hits(path):
    """resident_id -> set of keys that joined."""
    hits = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            hits.setdefault(row["resident_id"], set()).add(row["key"])
    return hits


def read_match(path):
    """register_id -> verdict."""
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["register_id"]: row["verdict"] for row in csv.DictReader(handle)}


def score(found, truth):
    """(precision, recall) of a set of resident ids."""
    hit = len(found & truth)
    precision = hit / len(found) if found else 0.0
    recall = hit / len(truth) if truth else 0.0
    return precision, recall


def ratio_text(value):
    if value >= 100:
        return f"{value:,.0f}×"
    return f"{value:.2f}×"


def main():
    parser = argparse.ArgumentParser()
    for name in ("--truth", "--measures", "--duck", "--sqlite", "--out"):
        parser.add_argument(name, required=True)
    parser.add_argument("--match")
    parser.add_argument("--records", default="?")
    parser.add_argument("--seed", default="?")
    parser.add_argument("--runs", default="?")
    parser.add_argument("--load", default="?", help="1-minute load average at the start")
    args = parser.parse_args()

    truth = read_truth(args.truth)
    measures = read_measures(args.measures)
    duck = read_hits(args.duck)
    lite = read_hits(args.sqlite)
    match = read_match(args.match) if args.match else None
    quality = {"duck_join": score(set(duck), truth), "lite_join": score(set(lite), truth)}
    if match is not None:
        exposed = {rid for rid, verdict in match.items() if verdict == "exposed"}
        quality["ls_match"] = score(exposed, truth)

    lines = [
        f"Records: {args.records}, seed {args.seed}; {len(truth)} register residents are "
        f"in the dump. Lookup and grep: median of {args.runs} warm runs. "
        f"Load average at the start: {args.load} on {os.cpu_count()} cores.",
        "",
        "| tool | step | wall s | peak MB | precision | recall | ratio vs leakscope |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for step_id, tool, step, versus in ROWS:
        measure = measures.get(step_id)
        if measure is None:
            lines.append(f"| {tool} | {step} | not available | | | | |")
            continue
        wall, peak_kb = measure
        precision, recall = ("", "")
        if step_id in quality:
            precision, recall = (f"{x:.3f}" for x in quality[step_id])
        ratio = ""
        if tool == "leakscope":
            ratio = "1×"
        elif versus in measures and measures[versus][0] > 0:
            ratio = ratio_text(wall / measures[versus][0])
        shown = f"{wall:.4f}" if wall < 0.1 else f"{wall:.2f}"
        lines.append(f"| {tool} | {step} | {shown} | {peak_kb / 1024:.0f} | "
                     f"{precision} | {recall} | {ratio} |")
    lines.append("")
    lines.append("Ratio = the peer's wall time ÷ leakscope's for the same task "
                 "(above 1× means leakscope is faster).")
    lines.append("")

    lines.append("Exact joins, exposed residents found by each key (DuckDB; SQLite "
                 + ("agrees" if duck == lite else "DIFFERS") + "):")
    lines.append("")
    for key in ("email", "phone", "surname+dob"):
        found = {rid for rid, keys in duck.items() if key in keys}
        precision, recall = score(found, truth)
        lines.append(f"- {key}: {len(found)} residents, precision {precision:.3f}, "
                     f"recall {recall:.3f}")
    missed = truth - set(duck)
    false_hits = set(duck) - truth
    lines.append(f"- exposed residents no exact join finds: {len(missed)}; "
                 f"residents wrongly joined: {len(false_hits)}")
    if match is not None:
        as_exposed = sum(1 for rid in missed if match.get(rid) == "exposed")
        as_possible = sum(1 for rid in missed if match.get(rid) == "possible")
        lines.append(f"- of those the joins miss, leakscope says exposed: {as_exposed}, "
                     f"possible: {as_possible}")
        both = {rid for rid, verdict in match.items() if verdict in ("exposed", "possible")}
        precision, recall = score(both, truth)
        lines.append(f"- leakscope exposed + possible: precision {precision:.3f}, "
                     f"recall {recall:.3f}")
    lines.append("")

    lines.append("Targets (one run):")
    lines.append("")

    def wall(step_id):
        return measures[step_id][0] if step_id in measures else None

    index, load, convert = wall("ls_index"), wall("duck_load"), wall("sql_csv")
    if index and load:
        share = index / load
        total = index / (load + (convert or 0.0))
        lines.append(f"- index build ≤ 0.5 × DuckDB load: {share:.2f} × "
                     f"({total:.2f} × counting the SQL to CSV step) — "
                     + ("met" if share <= 0.5 else "NOT met"))
    lookup, grep = wall("ls_lookup"), wall("grep")
    if lookup and grep:
        speedup = grep / lookup
        lines.append(f"- lookup ≥ 10,000 × faster than grep: {speedup:,.0f} × — "
                     + ("met" if speedup >= 10_000 else "NOT met"))
    else:
        lines.append("- lookup ≥ 10,000 × faster than grep: lookup not available")
    matching, joins = wall("ls_match"), wall("duck_join")
    if matching and joins and "ls_match" in quality:
        faster = joins / matching
        recall_gain = quality["ls_match"][1] - quality["duck_join"][1]
        met = faster > 1 and recall_gain > 0
        lines.append(f"- match faster than DuckDB joins and finding more: {faster:.2f} × "
                     f"as fast, recall {recall_gain:+.3f} — " + ("met" if met else "NOT met"))
    else:
        lines.append("- match faster than DuckDB joins: match not available")

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
