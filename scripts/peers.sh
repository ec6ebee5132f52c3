#!/usr/bin/env bash
# Measure leakscope side by side with the tools a user would pick instead
# (DuckDB exact joins, SQLite with indexes, grep -F) on one generated archive,
# and print one Markdown table (also saved to DIR/peers.md).
#
# Usage: scripts/peers.sh [--records N] [--dir DIR] [--seed S] [--runs K] [--keep]
#   --records N  dump records to generate (default 100000)
#   --dir DIR    archive directory; reused when DIR/dump, DIR/register.csv and
#                DIR/truth.csv exist (default target/peers-N)
#   --seed S     generator seed (default 42)
#   --runs K     runs of lookup and grep whose median is reported (default 5)
#   --keep       keep the virtualenv and the work files (index, databases)
# Not part of `cargo test`. Needs python3 (with venv), network access to PyPI
# for duckdb, GNU time at /usr/bin/time, and grep.
set -euo pipefail

records=100000
dir=""
seed=42
runs=5
keep=0
duckdb_version="${DUCKDB_VERSION:-2.0.0}"

die() {
    echo "peers.sh: $*" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) [[ $# -ge 2 ]] || die "--records needs a value"; records="$2"; shift 2 ;;
        --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir="$2"; shift 2 ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a value"; seed="$2"; shift 2 ;;
        --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; runs="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$records" =~ ^[0-9]+$ ]] || die "--records must be a whole number, got '$records'"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive whole number, got '$runs'"
[[ -x /usr/bin/time ]] || die "GNU time is missing at /usr/bin/time (apt-get install time)"
command -v python3 >/dev/null || die "python3 is missing"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
helpers="$root/scripts/peers"
dir="${dir:-$root/target/peers-$records}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
work="$dir/peers-work"
measures="$work/measures.tsv"
bin="$root/target/release/leakscope"

venv="$(mktemp -d)"
cleanup() {
    if [[ $keep -eq 1 ]]; then
        echo "kept: virtualenv $venv, work files $work" >&2
    else
        rm -rf "$venv" "$work"
    fi
}
trap cleanup EXIT

log() { echo "== $*" >&2; }

# measure ID LOG CMD...: run CMD under GNU time, append "ID wall peak_kb" to the
# measures file; on failure show the end of LOG and stop.
measure() {
    local id="$1" out="$2"
    shift 2
    if ! /usr/bin/time -f '%e %M' -o "$work/time.$id" "$@" >"$out" 2>&1; then
        tail -n 20 "$out" >&2
        die "step '$id' failed (log above: $out)"
    fi
    echo "$id $(tail -n 1 "$work/time.$id")" >>"$measures"
}

# median_wall ID CMD...: run CMD --runs times (output discarded), record the
# median wall time (microsecond clock) and the peak KB of one more run.
median_wall() {
    local id="$1" i start end
    shift
    "$@" >/dev/null 2>&1 || true # warm-up
    local times=()
    for ((i = 0; i < runs; i++)); do
        start=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || true
        end=$EPOCHREALTIME
        times+=("$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$start" "$end")")
    done
    local median kb
    median="$(printf '%s\n' "${times[@]}" | sort -g | python3 -c 'import sys; v=[float(x) for x in sys.stdin]; print(f"{v[len(v)//2]:.6f}")')"
    /usr/bin/time -f '%M' -o "$work/time.$id" "$@" >/dev/null 2>&1 || true
    kb="$(tail -n 1 "$work/time.$id")"
    echo "$id $median $kb" >>"$measures"
}

log "self-check of the Python helpers (doctest)"
(cd "$helpers" && PYTHONDONTWRITEBYTECODE=1 python3 -m doctest norm.py sql_to_csv.py) \
    || die "the helpers in $helpers fail their own examples"

log "building leakscope (release)"
(cd "$root" && cargo build --release --quiet) || die "cargo build --release failed"

if [[ -d "$dir/dump" && -f "$dir/register.csv" && -f "$dir/truth.csv" ]]; then
    log "reusing the archive in $dir"
    # What generated it, if this script or `leakscope bench` did; otherwise the
    # report says unknown.
    if [[ -f "$dir/peers-gen.txt" ]]; then
        read -r records seed <"$dir/peers-gen.txt"
    elif [[ -f "$dir/bench-gen.json" ]]; then
        records="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$dir/bench-gen.json")"
        seed="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"])' "$dir/bench-gen.json")"
    else
        records="unknown (reused)"
        seed="unknown"
    fi
else
    log "generating $records records (seed $seed) in $dir"
    "$bin" gen --out "$dir" --records "$records" --seed "$seed" >&2 || die "leakscope gen failed"
    echo "$records $seed" >"$dir/peers-gen.txt"
fi

load_average="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
rm -rf "$work"
mkdir -p "$work/sql"
: >"$measures"

log "virtualenv with duckdb==$duckdb_version in $venv"
python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv?)"
"$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$duckdb_version" \
    || die "pip install duckdb==$duckdb_version failed (is PyPI reachable?)"
py="$venv/bin/python"
export PYTHONDONTWRITEBYTECODE=1

log "(1) leakscope index"
measure ls_index "$work/index.log" "$bin" index --out "$work/index" "$dir/dump"

log "(2) archive.sql to CSV, then DuckDB load"
measure sql_csv "$work/sql_csv.log" "$py" "$helpers/sql_to_csv.py" "$dir/dump/archive.sql" "$work/sql"
measure duck_load "$work/duck_load.log" "$py" "$helpers/duck.py" load "$work/dump.duckdb" "$dir/dump" "$work/sql"

log "(3) DuckDB exact joins"
measure duck_join "$work/duck_join.log" "$py" "$helpers/duck.py" join "$work/dump.duckdb" "$dir/register.csv" "$work/duck_hits.csv"

log "(4) SQLite load, indexes and exact joins"
measure lite_load "$work/lite_load.log" "$py" "$helpers/sqlite_peer.py" load "$work/dump.sqlite" "$dir/dump" "$work/sql"
measure lite_join "$work/lite_join.log" "$py" "$helpers/sqlite_peer.py" join "$work/dump.sqlite" "$dir/register.csv" "$work/lite_hits.csv"

log "(5) one email: grep -rF vs leakscope lookup"
# The first exposed resident (truth order) whose register email grep finds
# verbatim in the dump; it is never printed.
email=""
while IFS= read -r candidate; do
    if grep -rqF -- "$candidate" "$dir/dump"; then
        email="$candidate"
        break
    fi
done < <("$py" - "$dir/truth.csv" "$dir/register.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as t:
    exposed = [r["resident_id"] for r in csv.DictReader(t) if r["exposed"] == "true"]
with open(sys.argv[2], newline="", encoding="utf-8-sig") as r:
    emails = {row["resident_id"]: row["email"].strip() for row in csv.DictReader(r)}
shown = 0
for rid in exposed:
    if emails.get(rid) and shown < 50:
        print(emails[rid])
        shown += 1
PY
)
[[ -n "$email" ]] || die "no exposed resident's email is found verbatim in the dump"
median_wall grep grep -rF -- "$email" "$dir/dump"
set +e
"$bin" lookup --index "$work/index" --email "$email" >/dev/null 2>"$work/lookup.err"
lookup_rc=$?
set -e
if [[ $lookup_rc -le 1 ]]; then
    median_wall ls_lookup "$bin" lookup --index "$work/index" --email "$email"
else
    echo "leakscope lookup: not available ($(head -n 1 "$work/lookup.err"))" >&2
fi

log "(6) leakscope match"
match_args=()
set +e
/usr/bin/time -f '%e %M' -o "$work/time.ls_match" \
    "$bin" match --index "$work/index" "$dir/register.csv" --out "$work/match.csv" \
    >"$work/match.log" 2>&1
match_rc=$?
set -e
if [[ $match_rc -eq 0 && -s "$work/match.csv" ]]; then
    echo "ls_match $(tail -n 1 "$work/time.ls_match")" >>"$measures"
    match_args=(--match "$work/match.csv")
else
    echo "leakscope match: not available ($(grep -v '^Command' "$work/match.log" | head -n 1))" >&2
fi

log "report"
"$py" "$helpers/report.py" --truth "$dir/truth.csv" --measures "$measures" \
    --duck "$work/duck_hits.csv" --sqlite "$work/lite_hits.csv" "${match_args[@]}" \
    --records "$records" --seed "$seed" --runs "$runs" --load "$load_average" --out "$dir/peers.md"
echo "saved to $dir/peers.md" >&2
