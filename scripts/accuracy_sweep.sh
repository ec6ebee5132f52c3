#!/usr/bin/env bash
# Accuracy of `exposed` as the share of residents in the dump (--overlap) and the
# register's drift from it (--drift) vary: one `leakscope bench` per pair, on the
# same --records, and one Markdown table of precision, recall, F1, record recall,
# possible answers and hard negatives wrongly exposed.
#
# Usage: scripts/accuracy_sweep.sh [--records N] [--dir DIR] [--seed S]
#        [--overlaps "0.2 0.5 0.8"] [--drifts "0 1 2"]
#   --records N   dump records of each archive (default 100000)
#   --dir DIR     work directory, one archive per pair under it (default
#                 target/accuracy-sweep-N); archives are reused by later runs
# Not part of `cargo test`. Needs python3 and a release build (it runs one).
set -euo pipefail

records=100000
dir=""
seed=42
overlaps="0.2 0.5 0.8"
drifts="0 1 2"

die() {
    echo "accuracy_sweep.sh: $*" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) [[ $# -ge 2 ]] || die "--records needs a value"; records="$2"; shift 2 ;;
        --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir="$2"; shift 2 ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a value"; seed="$2"; shift 2 ;;
        --overlaps) [[ $# -ge 2 ]] || die "--overlaps needs a value"; overlaps="$2"; shift 2 ;;
        --drifts) [[ $# -ge 2 ]] || die "--drifts needs a value"; drifts="$2"; shift 2 ;;
        -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$records" =~ ^[0-9]+$ ]] || die "--records must be a whole number, got '$records'"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${dir:-$root/target/accuracy-sweep-$records}"
mkdir -p "$dir"
(cd "$root" && cargo build --release --quiet)
bin="$root/target/release/leakscope"

results="$dir/results.jsonl"
: >"$results"
for overlap in $overlaps; do
    for drift in $drifts; do
        work="$dir/overlap-$overlap-drift-$drift"
        echo "== overlap $overlap, drift $drift" >&2
        "$bin" bench --records "$records" --overlap "$overlap" --drift "$drift" \
            --seed "$seed" --queries 1000 --dir "$work" --json 2>"$work.log" \
            | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >>"$results" \
            || { tail -n 20 "$work.log" >&2; die "bench failed for overlap $overlap, drift $drift"; }
    done
done

python3 - "$results" <<'PY' | tee "$dir/accuracy.md"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| overlap | drift | truly exposed | precision | recall | F1 | record recall | possible (truly exposed) | hard negatives exposed |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    a = r["accuracy"]
    hard = a.get("hard_negatives", {})
    wrong = "; ".join(f"{k.replace('_', ' ')} {v['exposed']}/{v['residents']}" for k, v in sorted(hard.items())) or "n/a"
    print(f"| {r['overlap']} | {r['drift']} | {a['truth_exposed']} | {a['precision']:.4f} | {a['recall']:.4f} | "
          f"{a['f1']:.4f} | {a['record_recall']:.4f} | {a['possible']} ({a['possible_truly_exposed']}) | {wrong} |")
PY
