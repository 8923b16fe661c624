#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/report.py - turn bench/run.sh's raw results into tables.

bench/run.sh writes one line per run:

    kind=malloc alloc=jemalloc job=pairs-64 rep=1 status=ok run_status=exit-0
    run_wall_s=... run_user_s=... run_sys_s=... run_maxrss_kb=...
    run_minflt=... run_majflt=... workload=... ops_per_sec=...

(run_* from bench_exec, the rest from malloc_bench or slab_bench when they
ran; kind is malloc or sweep for malloc_bench, prog for the real programs,
foot for the footprint runs, cache or slabmalloc for slab_bench;
status=fail reason=... for a run that crashed, timed out, whose LD_PRELOAD
was ignored or whose output differed), and lines "# key: value"
describing the machine, the command and the allocators.

It prints, with medians over the repetitions and ratios to glibc:
throughput of the timed shapes, scaling of the threaded shapes (per-thread
throughput, N threads over one), time of the fixed-work shapes and of the
real programs, peak RSS, page faults, the footprint runs, usable size over
request, the geometric means of all of it, and slab_bench's cache API
against malloc.  "best peer" is the best of jemalloc, tcmalloc and mimalloc
on a row.  kmem builds given to run.sh with --kmem-lib/--kmem-rev are
allocators of their own, compared with the first of them (before/after).
Text by default, Markdown with --markdown (for Documentation/performance.md).

Standard library only.  Run it by hand on a file saved with run.sh --raw:

    bench/report.py [--markdown] [--cpu] RAWFILE
"""

import argparse
import math
import re
import signal
import statistics
import sys
from collections import OrderedDict, defaultdict

ALLOC_ORDER = ["glibc", "jemalloc", "tcmalloc", "mimalloc", "kmem"]
PEERS = ["jemalloc", "tcmalloc", "mimalloc"]


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
    """Format a count or rate: 1234567 -> '1.23M'."""
    if v is None:
        return "-"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            x = v / div
            return "%.3g%s" % (x, suffix) if x < 100 else "%.0f%s" % (x, suffix)
    return "%.3g" % v


def mib(kb):
    if kb is None:
        return "-"
    m = kb / 1024.0
    return "%.2f MiB" % m if m < 10 else "%.0f MiB" % m


def secs(s):
    if s is None:
        return "-"
    if s < 0.1:
        return "%.1f ms" % (s * 1e3)
    return "%.2f s" % s if s < 10 else "%.1f s" % s


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def geomean(vals):
    vals = [v for v in vals if v is not None and v > 0]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def fnum(key):
    return lambda run: float(run[key]) if key in run else None


class Cell:
    """The runs of one (job, allocator)."""

    def __init__(self):
        self.lines = []
        self.failures = []

    def add(self, run):
        if run.get("status") != "ok":
            self.failures.append(run.get("reason", "failed"))
        else:
            self.lines.append(run)

    def values(self, get):
        out = []
        for run in self.lines:
            v = get(run)
            if v is not None:
                out.append(v)
        return out

    def median(self, get):
        vals = self.values(get)
        return statistics.median(vals) if vals else None

    def spread(self, get):
        """(max - min) / median, or None."""
        vals = self.values(get)
        if len(vals) < 2:
            return None
        med = statistics.median(vals)
        return (max(vals) - min(vals)) / med if med else None

    def flag(self):
        """'' if every run worked, '!' if some failed."""
        return "!" if self.failures and self.lines else ""


# ---- what a row measures -------------------------------------------------------

def rate(run):
    return float(run["ops_per_sec"]) if "ops_per_sec" in run else None


def cpu_rate(run):
    """Ops per CPU second of the timed phase, for one-thread runs; the
    wall-clock rate for the others (their CPU time says nothing of how
    long they waited for each other)."""
    if run.get("threads") == "1" and float(run.get("cpu_s", 0)) > 0:
        return float(run["ops"]) / float(run["cpu_s"])
    return rate(run)


def first_of(*keys):
    """A getter: the first of @keys the run has (bench_exec's run_* figure
    before the program's own), as a float."""
    def get(run):
        for key in keys:
            if key in run:
                return float(run[key])
        return None
    return get


rss = first_of("run_maxrss_kb", "peak_rss_kb")
minflt = first_of("run_minflt", "minflt")
majflt = first_of("run_majflt", "majflt")


def minflt_per_mop(run):
    f, ops = minflt(run), run.get("ops")
    if f is None or not ops or float(ops) == 0:
        return None
    return f * 1e6 / float(ops)


def cpu_time(run):
    if "run_user_s" not in run or "run_sys_s" not in run:
        return None
    return float(run["run_user_s"]) + float(run["run_sys_s"])


def sys_time(run):
    return float(run["run_sys_s"]) if "run_sys_s" in run else None


class Report:
    def __init__(self, meta, runs, markdown, cpu):
        self.meta = OrderedDict()
        for k, v in meta:
            self.meta[k] = v
        self.markdown = markdown
        self.cpu = cpu
        self.nruns = self.meta.get("runs", str(len({r.get("rep") for r in runs})))
        fam = self.meta.get("kmem family", "kmem").split()
        self.family = fam if fam else ["kmem"]
        self.base = self.meta.get("kmem base")
        self.tables = defaultdict(OrderedDict)     # kind -> job -> alloc -> Cell
        self.fixed = set()
        for run in runs:
            kind, job, alloc = run.get("kind"), run.get("job"), run.get("alloc")
            if not kind or not job or not alloc:
                continue
            if kind == "malloc" and run.get("fixed") == "1":
                self.fixed.add(job)
            self.tables[kind].setdefault(job, defaultdict(Cell))[alloc].add(run)
        # a fixed-work job whose every run failed still belongs with them
        for job in self.tables.get("malloc", {}):
            if job in ("large", "regrow", "mstress", "arrays") or \
                    job.startswith("fill-"):
                self.fixed.add(job)
        seen = {a for t in self.tables.values() for cells in t.values()
                for a in cells if a != "kmem-cache"}
        order = [a for a in ALLOC_ORDER if a in seen]
        order += [a for a in self.family if a in seen and a not in order]
        self.allocs = order + sorted(seen - set(order))
        self.peers = [a for a in PEERS if a in self.allocs]
        self.kmems = [a for a in self.family if a in self.allocs]
        self.compared = [a for a in self.kmems if self.base and a != self.base
                         and self.base in self.allocs]
        self.geo = OrderedDict()   # metric -> alloc -> [ratios to glibc]
        self.geo_best = OrderedDict()  # metric -> kmem alloc -> [ratio to best peer]

    # ---- output ----

    def render(self, title, header, rows, notes=()):
        out = []
        if not rows:
            return
        if self.markdown:
            out.append("**%s**" % title)
            out.append("")
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
            for row in rows:
                out.append("| " + " | ".join(row) + " |")
            if notes:
                out.append("")
                out.extend([n + "  " for n in notes[:-1]] + list(notes[-1:]))
        else:
            widths = [max(len(r[i]) for r in [header] + rows)
                      for i in range(len(header))]
            out.append(title)

            def fmt(r):
                return "  ".join((c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]))
                                 for i, c in enumerate(r)).rstrip()
            out.append(fmt(header))
            out.append("  ".join("-" * w for w in widths))
            out.extend(fmt(r) for r in rows)
            out.extend("  " + n for n in notes)
        out.append("")
        print("\n".join(out))

    def failure_notes(self, jobs, cellmap):
        notes = []
        for job in jobs:
            for alloc, cell in cellmap[job].items():
                if cell.failures:
                    notes.append("%s under %s: %d of %d runs failed (%s)" % (
                        job, alloc, len(cell.failures),
                        len(cell.failures) + len(cell.lines),
                        ", ".join(sorted(set(cell.failures)))))
        return notes

    # ---- one table of one metric ----

    def metric_table(self, title, cellmap, jobs, get, fmt, higher_better,
                     notes, geo=None, show_spread=True):
        """Median of @get per allocator with its ratio to glibc, each kmem's
        ratio to the best peer and to the base variant; collect the ratios
        for the geometric means under @geo (time ratios: lower is better)."""
        allocs = [a for a in self.allocs
                  if any(a in cellmap[j] for j in jobs)]
        peers = [a for a in self.peers if a in allocs]
        kmems = [a for a in self.kmems if a in allocs]
        header = ["workload"] + allocs
        vs_best = bool(peers and kmems)
        if vs_best:
            header += ["%s vs best" % k for k in kmems]
        header += ["%s/%s" % (k, self.base) for k in self.compared if k in allocs]
        if show_spread:
            header.append("spread")
        rows = []
        for job in jobs:
            cells = cellmap[job]
            meds = {a: cells[a].median(get) if a in cells else None for a in allocs}
            base = meds.get("glibc")
            row = [job]
            for a in allocs:
                cell = cells.get(a)
                if cell is None:
                    row.append("-")
                    continue
                if meds[a] is None:
                    row.append("FAIL" if cell.failures else "-")
                    continue
                txt = fmt(meds[a]) + cell.flag()
                r = ratio(meds[a], base)
                if a != "glibc" and r is not None:
                    txt += " (%.2f)" % r
                row.append(txt)
                if geo and r is not None and r > 0:
                    self.geo.setdefault(geo, defaultdict(list))[a].append(
                        1 / r if higher_better else r)
            best, best_name = None, None
            for a in peers:
                m = meds.get(a)
                if m is not None and (best is None or
                                      (m > best if higher_better else m < best)):
                    best, best_name = m, a
            if vs_best:
                for k in kmems:
                    r = ratio(meds.get(k), best)
                    row.append("%.2fx %s" % (r, best_name) if r is not None else "-")
                    if geo and r:
                        self.geo_best.setdefault(geo, defaultdict(list))[k].append(
                            1 / r if higher_better else r)
            for k in self.compared:
                if k not in allocs:
                    continue
                r = ratio(meds.get(k), meds.get(self.base))
                row.append("%.2f" % r if r is not None else "-")
            if show_spread:
                spreads = [c.spread(get) for c in cells.values()]
                spreads = [s for s in spreads if s is not None]
                row.append("%.0f%%" % (100 * max(spreads)) if spreads else "-")
            rows.append(row)
        notes = list(notes)
        direction = "above 1 is better" if higher_better else "below 1 is better"
        if vs_best:
            notes.append("kmem vs best: kmem's figure over the best of %s on "
                         "the row (%s)." % ("/".join(peers), direction))
        if any(k in allocs for k in self.compared):
            notes.append("%s: the ratio of the two kmem builds (%s)." % (
                ", ".join("%s/%s" % (k, self.base) for k in self.compared),
                direction))
        if show_spread:
            notes.append("spread: largest (max-min)/median of any allocator "
                         "on the row.")
        notes += self.failure_notes(jobs, cellmap)
        self.render(title, header, rows, notes)

    # ---- the tables ----

    def malloc_tables(self):
        table = self.tables.get("malloc", {})
        if not table:
            return
        scaling = [j for j in table if re.match(r"(private|medium|larson|xmalloc|rptest|alloctest)-\d+$", j)]
        timed = [j for j in table if j not in self.fixed and j not in scaling]
        fixed = [j for j in table if j in self.fixed]
        if timed:
            self.metric_table(
                "Throughput (malloc_bench, timed shapes)", table, timed,
                cpu_rate if self.cpu else rate, si, True,
                ["median allocator calls per %s over %s runs "
                 "(false-sharing: writes/s); (x) = ratio to glibc, above 1 "
                 "is faster." % (
                     "CPU second (one-thread shapes; wall second for the "
                     "threaded ones)" if self.cpu else "second", self.nruns)],
                geo="time")
        if scaling:
            self.scaling_table(table, scaling)
        if fixed:
            get = fnum("cpu_s") if self.cpu else fnum("seconds")
            what = ("CPU time (user+sys) of the measured phase" if self.cpu
                    else "time of the measured phase")
            self.metric_table(
                "Time (malloc_bench, fixed-work shapes)", table, fixed, get,
                secs, False,
                ["median %s over %s runs; (x) = ratio to glibc, below 1 is "
                 "faster." % (what, self.nruns)],
                geo="time")
        jobs = timed + scaling + fixed
        self.metric_table(
            "Peak RSS (malloc_bench)", table, jobs, rss, mib, False,
            ["median peak resident set of the process (ru_maxrss), harness "
             "included; (x) = ratio to glibc, below 1 is smaller."],
            geo="rss", show_spread=False)
        self.fault_table(table, timed + scaling, fixed)

    def fault_table(self, table, per_op_jobs, per_run_jobs):
        def fmt_cell(cells, a, per_op):
            cell = cells.get(a)
            if cell is None:
                return "-", None
            get = minflt_per_mop if per_op else minflt
            m = cell.median(get)
            if m is None:
                return ("FAIL" if cell.failures else "-"), None
            txt = si(m)
            maj = cell.median(majflt)
            if maj:
                txt += " +%s major" % si(maj)
            return txt, m

        allocs = [a for a in self.allocs
                  if any(a in table[j] for j in per_op_jobs + per_run_jobs)]
        peers = [a for a in self.peers if a in allocs]
        kmems = [a for a in self.kmems if a in allocs]
        header = ["workload", "unit"] + allocs + ["%s vs best" % k for k in kmems if peers]
        rows = []
        for job in per_op_jobs + per_run_jobs:
            per_op = job in per_op_jobs
            cells = table[job]
            row = [job, "per Mcall" if per_op else "per run"]
            meds = {}
            for a in allocs:
                txt, m = fmt_cell(cells, a, per_op)
                meds[a] = m
                r = ratio(m, meds.get("glibc"))
                if a != "glibc" and r is not None:
                    txt += " (%.2f)" % r
                if r:
                    self.geo.setdefault("faults", defaultdict(list))[a].append(r)
                row.append(txt)
            best = min([meds[a] for a in peers if meds.get(a) is not None], default=None)
            for k in kmems:
                if not peers:
                    continue
                r = ratio(meds.get(k), best)
                row.append("%.2f" % r if r is not None else "-")
                if r:
                    self.geo_best.setdefault("faults", defaultdict(list))[k].append(r)
            rows.append(row)
        self.render("Minor page faults (malloc_bench)", header, rows, [
            "median minor faults of the whole process (getrusage of the "
            "child): per million allocator calls for the timed shapes, per "
            "run for the fixed-work ones; major faults shown when not 0; "
            "(x) = ratio to glibc, below 1 is fewer.",
            "kmem vs best: kmem's faults over the fewest of the peers'."])

    def scaling_table(self, table, jobs):
        families = OrderedDict()
        for job in jobs:
            fam, n = job.rsplit("-", 1)
            families.setdefault(fam, []).append((int(n), job))
        allocs = [a for a in self.allocs if any(a in table[j] for j in jobs)]
        peers = [a for a in self.peers if a in allocs]
        kmems = [a for a in self.kmems if a in allocs]
        header = ["workload"] + allocs + ["%s vs best" % k for k in kmems if peers]
        rows = []
        for fam, members in families.items():
            members.sort()
            one = {}
            for n, job in members:
                if n == 1:
                    one = {a: table[job][a].median(rate) for a in table[job]}
            for n, job in members:
                cells = table[job]
                row = [job]
                per = {}
                for a in allocs:
                    cell = cells.get(a)
                    m = cell.median(rate) if cell else None
                    if m is None:
                        row.append("FAIL" if cell and cell.failures else "-")
                        continue
                    per[a] = m / n
                    txt = si(m / n) + cell.flag()
                    if n > 1 and one.get(a):
                        txt += " (x%.2f)" % (m / one[a])
                    row.append(txt)
                best = max([per[a] for a in peers if a in per], default=None)
                for k in kmems:
                    if not peers:
                        continue
                    r = ratio(per.get(k), best)
                    row.append("%.2f" % r if r is not None else "-")
                rows.append(row)
        self.render("Scaling (malloc_bench, threaded shapes)", header, rows, [
            "median allocator calls per second per thread (xmalloc-N: per "
            "producer/releaser pair, 2N threads); (xK) = total throughput "
            "of N threads over one thread's, N is perfect on N free cores.",
            "kmem vs best: kmem's per-thread throughput over the best peer's "
            "(above 1 is faster).  The same rows are in the throughput "
            "figures of the geometric means."])
        # the geometric means count these rows as time, like the others
        for job in jobs:
            cells = table[job]
            meds = {a: cells[a].median(rate) for a in cells}
            base = meds.get("glibc")
            for a, m in meds.items():
                r = ratio(base, m)
                if r:
                    self.geo.setdefault("time", defaultdict(list))[a].append(r)
            best = max([meds[a] for a in peers if meds.get(a)], default=None)
            for k in kmems:
                r = ratio(best, meds.get(k))
                if r:
                    self.geo_best.setdefault("time", defaultdict(list))[k].append(r)

    def program_tables(self):
        table = self.tables.get("prog", {})
        if not table:
            return
        jobs = list(table)
        tget = cpu_time if self.cpu else fnum("run_wall_s")
        self.metric_table(
            "Real programs: time", table, jobs, tget, secs, False,
            ["median %s over %s runs, output checked identical to glibc's; "
             "(x) = ratio to glibc, below 1 is faster." % (
                 "CPU time (user+sys)" if self.cpu else "wall time",
                 self.nruns)],
            geo="time")
        self.metric_table(
            "Real programs: system time", table, jobs, sys_time, secs, False,
            ["median kernel (system) CPU time: page faults, mmap/munmap, "
             "madvise; (x) = ratio to glibc."], show_spread=False)
        self.metric_table(
            "Real programs: peak RSS", table, jobs, rss, mib, False,
            ["median peak resident set (ru_maxrss; of the largest process "
             "for gcc); (x) = ratio to glibc, below 1 is smaller."],
            geo="rss", show_spread=False)
        self.metric_table(
            "Real programs: minor page faults", table, jobs, minflt, si, False,
            ["median minor faults per run; (x) = ratio to glibc, below 1 is "
             "fewer."], geo="faults", show_spread=False)
        # programs alone, as the issues quote them
        self.geo_programs = {}
        for metric, get in (("time", tget), ("rss", rss), ("faults", minflt)):
            per = defaultdict(list)
            best = defaultdict(list)
            for job in jobs:
                cells = table[job]
                meds = {a: cells[a].median(get) for a in cells}
                for a, m in meds.items():
                    r = ratio(m, meds.get("glibc"))
                    if r:
                        per[a].append(r)
                b = min([meds[a] for a in self.peers if meds.get(a)], default=None)
                for k in self.kmems:
                    r = ratio(meds.get(k), b)
                    if r:
                        best[k].append(r)
            self.geo_programs[metric] = (per, best)

    def footprint_table(self):
        table = self.tables.get("foot", {})
        if not table:
            return
        jobs = list(table)
        self.metric_table(
            "Fixed footprint: peak RSS", table, jobs, rss, mib, False,
            ["median peak resident set of a run of the program (/bin/true; "
             "ls -l of a directory of 300 files); (x) = ratio to glibc."],
            geo="rss", show_spread=False)
        self.metric_table(
            "Fixed footprint: minor page faults", table, jobs, minflt, si,
            False, ["median minor faults per run; (x) = ratio to glibc."],
            geo="faults", show_spread=False)

    def sweep_tables(self):
        table = self.tables.get("sweep", {})
        fills = [j for j in self.tables.get("malloc", {}) if j.startswith("fill-")]
        allocs = [a for a in self.allocs]
        if table:
            header = ["requests"] + allocs
            rows = []
            for job in table:
                cells = table[job]
                first = next((c.lines[0] for c in cells.values() if c.lines), {})
                row = ["%s..%s B" % (first.get("lo", "?"), first.get("hi", "?"))
                       if first else job]
                for a in allocs:
                    cell = cells.get(a)
                    worst = cell.median(fnum("usable_worst")) if cell else None
                    mean = cell.median(fnum("usable_mean")) if cell else None
                    if worst is None:
                        row.append("FAIL" if cell and cell.failures else "-")
                        continue
                    at = cell.lines[0].get("worst_request", "?")
                    row.append("%.2f / %.3f (at %s B)" % (worst, mean, at))
                rows.append(row)
            self.render("Size classes: malloc_usable_size() / request", header, rows, [
                "worst / mean over the requests (256 B..4 MiB: each 3% "
                "larger than the last; 1..256 B: every size), and the "
                "request where the worst was met."] +
                self.failure_notes(list(table), table))
        if fills:
            mt = self.tables["malloc"]
            header = ["blocks"] + allocs
            rows = []
            for job in fills:
                row = ["%s B" % job.split("-", 1)[1]]
                for a in allocs:
                    cell = mt[job].get(a)
                    m = cell.median(fnum("rss_per_payload")) if cell else None
                    row.append("%.2f" % m if m is not None else "-")
                rows.append(row)
            self.render("Memory per byte requested (fill)", header, rows, [
                "median growth of VmRSS over the bytes requested, for 64 MiB "
                "of blocks of one size, every page written."])

    def geomean_table(self):
        names = {"time": "time", "rss": "peak RSS", "faults": "minor faults"}
        allocs = self.allocs
        kmems = self.kmems
        header = ["geometric mean", "rows"] + allocs + ["%s / best peer" % k for k in kmems if self.peers]
        rows = []

        def add(label, per, best):
            n = max((len(v) for v in per.values()), default=0)
            if not n:
                return
            row = [label, str(n)]
            for a in allocs:
                g = geomean(per.get(a, []))
                row.append("%.3f" % g if g is not None else "-")
            for k in kmems:
                if not self.peers:
                    continue
                g = geomean(best.get(k, []))
                row.append("%.3f" % g if g is not None else "-")
            rows.append(row)

        for metric, label in names.items():
            if metric in self.geo:
                add(label + ", all", self.geo[metric], self.geo_best.get(metric, {}))
        gp = getattr(self, "geo_programs", {})
        for metric, label in names.items():
            if metric in gp:
                add(label + ", programs", *gp[metric])
        self.render("Geometric means of the ratios to glibc", header, rows, [
            "over the rows of the tables above (time: the timed and scaling "
            "shapes as 1/throughput, the fixed-work shapes, the programs; "
            "peak RSS and minor faults: every malloc_bench row, the "
            "programs, the footprint runs); below 1 is better than glibc.",
            "kmem / best peer: the geometric mean over the rows of kmem's "
            "figure over the best peer's on that row; below 1 is better."])

    def slab_tables(self):
        cache = self.tables.get("cache", {})
        mall = self.tables.get("slabmalloc", {})
        if not cache and not mall:
            return
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
                med = cell.median(rate) if cell else None
                meds[c] = med
                if cell is None:
                    row.append("-")
                elif med is None:
                    row.append("FAIL")
                else:
                    ns = cell.median(fnum("ns_per_pair"))
                    row.append("%s%s%s" % (si(med), cell.flag(),
                                           " (%.1f ns)" % ns if ns else ""))
            for c in others:
                r = ratio(meds.get("kmem-cache"), meds.get(c))
                row.append("%.2f" % r if r is not None else "-")
            rows.append(row)
        notes = ["median allocator calls per second over %s runs (ns: one "
                 "thread's time per alloc+free pair); cache/X > 1: kmem's "
                 "cache API is faster than X's malloc." % self.nruns]
        notes += self.failure_notes(list(cache), cache)
        notes += self.failure_notes(list(mall), mall)
        if shapes:
            self.render("kmem_cache API vs malloc (slab_bench, 64-byte objects)",
                        header, rows, notes)

        cell = cache.get("cache-memory", {}).get("kmem-cache")
        if cell is None:
            return
        if not cell.lines:
            print("cache-memory: all runs failed (%s)\n"
                  % ", ".join(sorted(set(cell.failures))))
            return

        def med(key):
            return cell.median(fnum(key))

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
        if self.markdown:
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
    ap.add_argument("--cpu", action="store_true",
                    help="time of fixed-work shapes and programs from CPU "
                    "time (user+sys) instead of wall time")
    ap.add_argument("raw", help="raw results written by bench/run.sh")
    args = ap.parse_args()

    meta, runs = parse(args.raw)
    if meta:
        if args.markdown:
            print("\n".join("- %s: %s" % kv for kv in meta if kv[1]))
        else:
            print("\n".join("%-16s %s" % (k + ":", v) for k, v in meta if v))
        print()
    if not runs:
        print("no results")
        return 1
    rep = Report(meta, runs, args.markdown, args.cpu)
    rep.malloc_tables()
    rep.program_tables()
    rep.footprint_table()
    rep.sweep_tables()
    rep.geomean_table()
    rep.slab_tables()
    return 0


if __name__ == "__main__":
    sys.exit(main())
