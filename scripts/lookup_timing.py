#!/usr/bin/env python3
"""Whole-process `leakscope lookup` timings, several binaries side by side.

Usage: scripts/lookup_timing.py INDEX REGISTER N BIN[@INDEX] ...

Looks up the first N rows of REGISTER (a `leakscope gen` register.csv), every
field given, with each binary in turn, row by row, so that the binaries see the
same machine state; three rounds, the first one a warm-up. Prints per binary the
median and 90th percentile wall time and the median CPU time (user + system,
from wait4), and major page faults per run (non-zero means the index or the dump
was read from disk, not warm). BIN@INDEX runs BIN against another index (e.g. an
older build's copy). Output of the lookups is discarded.
"""
import csv
import os
import statistics
import sys
import time

FLAGS = {'first_name': '--first-name', 'last_name': '--last-name', 'dob': '--dob',
         'address': '--address', 'postcode': '--postcode', 'email': '--email',
         'phone': '--phone', 'ni_number': '--ni'}


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    index, register, n, bins = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    rows = []
    with open(register, newline='') as f:
        for r in csv.DictReader(f):
            args = []
            for column, flag in FLAGS.items():
                if r.get(column):
                    args += [flag, r[column]]
            rows.append(args)
            if len(rows) >= n:
                break
    devnull = os.open(os.devnull, os.O_WRONLY)
    quiet = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    wall = {b: [] for b in bins}
    cpu = {b: [] for b in bins}
    majflt = {b: 0 for b in bins}
    for rnd in range(3):
        for args in rows:
            for b in bins:
                exe, idx = (b.split('@', 1) + [index])[:2]
                started = time.perf_counter()
                pid = os.posix_spawn(exe, [exe, 'lookup', '--index', idx] + args,
                                     os.environ, file_actions=quiet)
                _, _, usage = os.wait4(pid, 0)
                took = time.perf_counter() - started
                if rnd > 0:
                    wall[b].append(took * 1e3)
                    cpu[b].append((usage.ru_utime + usage.ru_stime) * 1e3)
                    majflt[b] += usage.ru_majflt
    for b in bins:
        w = sorted(wall[b])
        print(f"{b}: wall p50 {statistics.median(w):.2f} ms  p90 {w[int(len(w) * 0.9)]:.2f} ms  "
              f"cpu p50 {statistics.median(cpu[b]):.2f} ms  (n={len(w)}, "
              f"major faults per run {majflt[b] / len(w):.1f})")


if __name__ == '__main__':
    main()
