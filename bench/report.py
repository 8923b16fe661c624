#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/report.py - turn bench/run.sh's raw results into tables.

bench/run.sh writes one line per run:

    kind=malloc alloc=jemalloc job=pairs-64 rep=1 status=ok workload=... ops_per_sec=...

(kind is malloc for malloc_bench, cache or slabmalloc for slab_bench;
status=fail reason=... for a run that crashed, timed out or whose
LD_PRELOAD was ignored), and lines "# key: value" describing the machine.
This script prints, for each workload, the median throughput and the
median peak RSS of each allocator with its ratio to glibc, kmem against the
fastest of jemalloc/tcmalloc/mimalloc, and the slab_bench comparison of
kmem's cache API with malloc.  Text by default, Markdown with --markdown
(for Documentation/performance.md).

Standard library only.  Run it by hand on a file saved with run.sh --raw:

    bench/report.py [--markdown] RAWFILE
"""

import argparse
import signal
import statistics
import sys
from collections import OrderedDict, defaultdict

ALLOC_ORDER = ["glibc", "jemalloc", "tcmalloc", "mimalloc", "kmem"]
RIVALS = ["jemalloc", "tcmalloc", "mimalloc"]


def parse(path):
    """Return (meta, runs): meta as [(key, value)], runs as a list of dicts."""
    meta, runs = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                meta.append((key.strip(), value.strip()))
                continue
            fields = {}
            for tok in line.split():
                key, sep, value = tok.partition("=")
                if sep:
                    fields[key] = value
            runs.append(fields)
    return meta, runs


def si(v):
    """Format a rate: 1234567 -> '1.23M'."""
    if v is None:
        return "-"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            x = v / div
            return "%.3g%s" % (x, suffix) if x < 100 else "%.0f%s" % (x, suffix)
    return "%.3g" % v


def mib(kb):
    if kb is None:
        return "-"
    m = kb / 1024.0
    return "%.2f MiB" % m if m < 10 else "%.0f MiB" % m


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Cell:
    """The runs of one (job, allocator): medians, spread and failures."""

    def __init__(self):
        self.rate = []
        self.rss = []
        self.ns_pair = []
        self.lines = []
        self.failures = []

    def add(self, run):
        if run.get("status") != "ok":
            self.failures.append(run.get("reason", "failed"))
            return
        self.lines.append(run)
        self.rate.append(float(run["ops_per_sec"]))
        if "peak_rss_kb" in run:
            self.rss.append(float(run["peak_rss_kb"]))
        if "ns_per_pair" in run:
            self.ns_pair.append(float(run["ns_per_pair"]))

    def median(self, what):
        vals = getattr(self, what)
        return statistics.median(vals) if vals else None

    def spread(self):
        """(max - min) / median of the throughput, or None."""
        if len(self.rate) < 2:
            return None
        med = statistics.median(self.rate)
        return (max(self.rate) - min(self.rate)) / med if med else None

    def flag(self):
        """'' if every run worked, '!' if some failed."""
        return "!" if self.failures and self.rate else ""


def collect(runs, kind):
    """OrderedDict job -> {alloc: Cell} for the runs of one kind."""
    table = OrderedDict()
    for run in runs:
        if run.get("kind") != kind:
            continue
        job, alloc = run.get("job"), run.get("alloc")
        table.setdefault(job, defaultdict(Cell))[alloc].add(run)
    return table


def present_allocs(table):
    seen = {a for cells in table.values() for a in cells}
    order = [a for a in ALLOC_ORDER if a in seen]
    return order + sorted(seen - set(order))


def render(title, header, rows, markdown, notes=()):
    """Print one table, aligned text or Markdown."""
    out = []
    if markdown:
        out.append("**%s**" % title)
        out.append("")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
        for row in rows:
            out.append("| " + " | ".join(row) + " |")
        if notes:
            out.append("")
            out.extend(notes)
    else:
        widths = [max(len(r[i]) for r in [header] + rows)
                  for i in range(len(header))]
        out.append(title)
        fmt = lambda r: "  ".join(
            (c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]))
            for i, c in enumerate(r)).rstrip()
        out.append(fmt(header))
        out.append("  ".join("-" * w for w in widths))
        out.extend(fmt(r) for r in rows)
        if notes:
            out.extend(notes)
    out.append("")
    print("\n".join(out))


def failure_notes(table, markdown):
    notes = []
    for job, cells in table.items():
        for alloc, cell in cells.items():
            if cell.failures:
                reasons = ", ".join(sorted(set(cell.failures)))
                notes.append("%s%s under %s: %d of %d runs failed (%s)" % (
                    "- " if markdown else "  ! ", job, alloc,
                    len(cell.failures), len(cell.failures) + len(cell.rate),
                    reasons))
    return notes


def malloc_tables(runs, nruns, markdown):
    table = collect(runs, "malloc")
    if not table:
        return
    allocs = present_allocs(table)
    rivals = [a for a in RIVALS if a in allocs]

    header = ["workload"] + allocs
    if "kmem" in allocs and rivals:
        header.append("kmem vs best")
    header.append("spread")
    rows = []
    for job, cells in table.items():
        base = cells["glibc"].median("rate") if "glibc" in cells else None
        row = [job]
        for a in allocs:
            cell = cells.get(a)
            if cell is None:
                row.append("-")
                continue
            med = cell.median("rate")
            if med is None:
                row.append("FAIL")
                continue
            r = ratio(med, base)
            txt = si(med) + cell.flag()
            if a != "glibc" and r is not None:
                txt += " (%.2f)" % r
            row.append(txt)
        if "kmem vs best" in header:
            best, best_name = None, None
            for a in rivals:
                med = cells[a].median("rate") if a in cells else None
                if med is not None and (best is None or med > best):
                    best, best_name = med, a
            kmem = cells["kmem"].median("rate") if "kmem" in cells else None
            r = ratio(kmem, best)
            row.append("%.2fx %s" % (r, best_name) if r is not None else "-")
        spreads = [c.spread() for c in cells.values()]
        spreads = [s for s in spreads if s is not None]
        row.append("%.0f%%" % (100 * max(spreads)) if spreads else "-")
        rows.append(row)
    indent = "" if markdown else "  "
    notes = [
        "%sthroughput: median allocator calls per second over %s runs "
        "(false-sharing: writes/s); (x) = ratio to glibc, >1 is faster." % (
            indent, nruns),
        "%sspread: largest (max-min)/median of any allocator in the row." %
        indent,
    ]
    if "kmem vs best" in header:
        notes.insert(1, "%skmem vs best: kmem's throughput over the fastest "
                     "of %s." % (indent, "/".join(rivals)))
    if markdown:
        notes = [n + "  " for n in notes[:-1]] + notes[-1:]
    notes += failure_notes(table, markdown)
    render("Throughput (malloc_bench)", header, rows, markdown, notes)

    rows = []
    for job, cells in table.items():
        base = cells["glibc"].median("rss") if "glibc" in cells else None
        row = [job]
        for a in allocs:
            cell = cells.get(a)
            med = cell.median("rss") if cell else None
            if cell is None:
                row.append("-")
            elif med is None:
                row.append("FAIL")
            else:
                r = ratio(med, base)
                txt = mib(med)
                if a != "glibc" and r is not None:
                    txt += " (%.2f)" % r
                row.append(txt)
        rows.append(row)
    notes = ["%speak RSS: median of the process's ru_maxrss, harness "
             "included; (x) = ratio to glibc, <1 is smaller." % (
                 "" if markdown else "  ")]
    render("Peak RSS (malloc_bench)", ["workload"] + allocs, rows, markdown,
           notes)


def slab_tables(runs, nruns, markdown):
    cache = collect(runs, "cache")
    mall = collect(runs, "slabmalloc")
    if not cache and not mall:
        return
    # pair cache-X with malloc-X by shape
    shapes = OrderedDict()
    for job, cells in cache.items():
        if job == "cache-memory":
            continue
        shapes.setdefault(job[len("cache-"):], {})["kmem-cache"] = \
            cells.get("kmem-cache")
    for job, cells in mall.items():
        for alloc, cell in cells.items():
            shapes.setdefault(job[len("malloc-"):], {})[alloc] = cell
    have = {a for s in shapes.values() for a, c in s.items() if c}
    cols = [a for a in ["kmem-cache"] + ALLOC_ORDER if a in have]
    header = ["shape"]
    for c in cols:
        header.append(c if c == "kmem-cache" else c + " malloc")
    others = [c for c in cols if c != "kmem-cache"]
    if "kmem-cache" not in cols:
        others = []
    header += ["cache/" + c for c in others]
    rows = []
    for shape, cells in shapes.items():
        row = [shape]
        meds = {}
        for c in cols:
            cell = cells.get(c)
            med = cell.median("rate") if cell else None
            meds[c] = med
            if cell is None:
                row.append("-")
            elif med is None:
                row.append("FAIL")
            else:
                ns = cell.median("ns_pair")
                row.append("%s%s%s" % (si(med), cell.flag(),
                                       " (%.1f ns)" % ns if ns else ""))
        for c in others:
            r = ratio(meds.get("kmem-cache"), meds.get(c))
            row.append("%.2f" % r if r is not None else "-")
        rows.append(row)
    notes = ["%smedian allocator calls per second over %s runs (ns: one "
             "thread's time per alloc+free pair); cache/X > 1: kmem's "
             "cache API is faster than X's malloc." % (
                 "" if markdown else "  ", nruns)]
    notes += failure_notes(cache, markdown) + failure_notes(mall, markdown)
    if shapes:
        render("kmem_cache API vs malloc (slab_bench, 64-byte objects)",
               header, rows, markdown, notes)

    cells = cache.get("cache-memory", {})
    cell = cells.get("kmem-cache")
    if cell is None:
        return
    if not cell.lines:
        print("cache-memory: all runs failed (%s)\n"
              % ", ".join(sorted(set(cell.failures))))
        return

    def med(key):
        vals = [float(l[key]) for l in cell.lines if key in l]
        return statistics.median(vals) if vals else None

    live_rss = ratio_kb = None
    if med("vm_rss_kb") is not None and med("vm_rss_base_kb") is not None:
        live_rss = med("vm_rss_kb") - med("vm_rss_base_kb")
    payload = med("payload_kb")
    if live_rss is not None and payload:
        ratio_kb = live_rss / payload
    items = [
        ("payload", mib(payload)),
        ("buddy mapped", mib(med("mapped_kb"))),
        ("retained", mib(med("retained_kb"))),
        ("resident", mib(med("resident_kb"))),
        ("VmRSS growth", mib(live_rss) + (" (%.2fx payload)" % ratio_kb
                                          if ratio_kb else "")),
        ("bytes/object", "%.1f" % med("bytes_per_object")
         if med("bytes_per_object") is not None else "-"),
        ("after free + kmem_shrink_all: mapped", mib(med("freed_mapped_kb"))),
        ("resident", mib(med("freed_resident_kb"))),
    ]
    title = "cache-memory: 1,000,000 live 64-byte objects (median of %d)" % \
        len(cell.lines)
    if markdown:
        print("**%s**\n" % title)
        print("| " + " | ".join(k for k, _ in items) + " |")
        print("|" + "|".join(["---:"] * len(items)) + "|")
        print("| " + " | ".join(v for _, v in items) + " |")
    else:
        print(title)
        print("  " + ", ".join("%s %s" % kv for kv in items))
    print()


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # quiet under "| head"
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--markdown", action="store_true",
                    help="print Markdown tables")
    ap.add_argument("raw", help="raw results written by bench/run.sh")
    args = ap.parse_args()

    meta, runs = parse(args.raw)
    reps = {r.get("rep") for r in runs}
    nruns = dict(meta).get("runs", str(len(reps)))
    if meta:
        if args.markdown:
            print("\n".join("- %s: %s" % kv for kv in meta if kv[1]))
        else:
            print("\n".join("%-12s %s" % (k + ":", v) for k, v in meta if v))
        print()
    if not runs:
        print("no results")
        return 1
    malloc_tables(runs, nruns, args.markdown)
    slab_tables(runs, nruns, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
