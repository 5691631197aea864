#!/usr/bin/env python3
"""Summarizes Nsight Compute's CSV (--csv --metrics gpu__time_duration.sum) by kernel: launches,
total and mean duration, share of the total. Reads stdin or a file; prints a table.
  ncu --csv --metrics gpu__time_duration.sum --launch-skip S --launch-count N CMD > k.csv
  python3 launch/ncu_kernel_summary.py k.csv
"""
import csv
import re
import sys
from collections import defaultdict

SCALE = {"ns": 1e-3, "nsecond": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3}


def short(name):
    """Kernel name without argument lists and template noise."""
    name = re.sub(r"\(.*", "", name)
    return name[:70]


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    lines = [l for l in src if l.startswith('"')]
    total, count = defaultdict(float), defaultdict(int)
    for row in csv.DictReader(lines):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        us = float(row["Metric Value"].replace(",", "")) * SCALE.get(row["Metric Unit"], 1.0)
        k = short(row["Kernel Name"])
        total[k] += us
        count[k] += 1
    grand = sum(total.values())
    print(f"{'kernel':72s} {'launches':>8s} {'total us':>10s} {'mean us':>9s} {'share':>6s}")
    for k in sorted(total, key=total.get, reverse=True):
        print(f"{k:72s} {count[k]:8d} {total[k]:10.1f} {total[k] / count[k]:9.2f} "
              f"{100 * total[k] / grand:5.1f}%")
    print(f"{'all':72s} {sum(count.values()):8d} {grand:10.1f}")


if __name__ == "__main__":
    main()
