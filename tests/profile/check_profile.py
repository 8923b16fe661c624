#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/profile/check_profile.py - the sampled profile, read live from outside.

    check_profile.py TEST KMEMINFO LIBKMEM_MALLOC PROG_DIR

TEST is one of: leak, at_exit, peaks, accuracy, accuracy_fine, safety,
errors, folded, unsampled.
Each runs a program of tests/profile under LD_PRELOAD=LIBKMEM_MALLOC and
reads it with KMEMINFO while it runs.  Every wait is a bounded poll of a
published figure, never a sleep.  Exit status 0 on success, 1 with a
message.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TEST, KMEMINFO, MALLOC_LIB, PROG_DIR = sys.argv[1:5]
FAILED = []
DEADLINE = 240          # seconds any one wait may take on a loaded machine


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what)
    return cond


def env_with(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KMEM_")}
    e["LD_PRELOAD"] = MALLOC_LIB
    # KFENCE off: an allocation it guards is not recorded as a sample
    # (profiling.md), and these tests count samples exactly.  KFENCE's
    # own suite (tests/kfence) runs the two together.
    e["KMEM_KFENCE_SAMPLE_INTERVAL"] = "0"
    e.update(extra)
    return e


def start(prog, *args, env=None):
    """Start @prog preloaded; return it once it printed "ready"."""
    p = subprocess.Popen([os.path.join(PROG_DIR, prog), *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=env or env_with())
    lines = []
    for line in p.stdout:
        lines.append(line)
        if line.strip() == "ready":
            return p, lines
    err = p.stderr.read()
    p.wait()
    raise SystemExit("FAIL: %s exited (%s) before it was ready: %s%s" %
                     (prog, p.returncode, "".join(lines), err))


def stop(p):
    p.stdin.close()
    rc = p.wait(timeout=DEADLINE)
    check(rc == 0, "program exit status %d: %s" % (rc, p.stderr.read()))


def kmeminfo(*args):
    r = subprocess.run([KMEMINFO, *args], capture_output=True, text=True,
                       timeout=DEADLINE)
    return r.returncode, r.stdout, r.stderr


def profile_json(pid, *args):
    rc, out, err = kmeminfo("profile", "-p", str(pid), "--json", *args)
    if not check(rc == 0, "profile --json: status %d: %s" % (rc, err)):
        raise SystemExit(1)
    return json.loads(out)


def function(site, k=0):
    frames = site["frames"]
    return frames[k].get("function", "") if len(frames) > k else ""


def poll(what, fn):
    """Call fn() until it returns a true value or DEADLINE passes."""
    end = time.monotonic() + DEADLINE
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise SystemExit("FAIL: gave up waiting for " + what)
        time.sleep(0.05)


# ---- the text format, parsed ----------------------------------------------

SITE_RE = re.compile(r"^#(\d+) live (\d+) bytes, (\d+) objects, ([\d.]+)% of live;"
                     r" total (\d+) bytes, (\d+) objects;"
                     r" samples (\d+) live, (\d+) total$")
FRAME_RE = re.compile(r"^    (?:(\S+)\+0x([0-9a-f]+)|0x([0-9a-f]+))"
                      r"(?: \((.+):(\d+)\))?$")


def parse_text(text):
    """The sites of "kmeminfo profile": dicts with frames [(name, file, line)]."""
    lines = text.splitlines()
    check(lines[0].startswith("kmem profile of PID "), "text header: " + lines[0])
    sites, cur = [], None
    for line in lines[1:]:
        m = SITE_RE.match(line)
        if m:
            cur = {"rank": int(m.group(1)), "live_bytes": int(m.group(2)),
                   "live_objects": int(m.group(3)),
                   "share": float(m.group(4)), "frames": []}
            sites.append(cur)
            continue
        m = FRAME_RE.match(line)
        if m and cur is not None:
            cur["frames"].append((m.group(1) or "", m.group(4) or "",
                                  int(m.group(5) or 0)))
            continue
        check(cur is None or line == "" or line.startswith("    ["),
              "unparsed profile line: %r" % line)
    return sites


# ---- tests ----------------------------------------------------------------

def test_leak():
    """One leaking site ranked first by name; watch --sites flags it alone.

    Sampled every 256 KiB on average: the leak then gives a sample every
    few ticks even when a loaded machine starves the program, so that
    both halves of the watch window see it grow."""
    p, _ = start("prof_leak", env=env_with(KMEM_PROFILE_RATE="262144"))
    try:
        def leak_ahead():
            d = profile_json(p.pid)
            s = d["sites"]
            leak = [x for x in s if function(x) == "leak_record"]
            # Enough samples that the leak dwarfs the churning rings.
            return (leak and leak[0]["live_samples"] >= 12 and
                    leak[0]["live_bytes"] > 2 * max(
                        [x["live_bytes"] for x in s if x is not leak[0]] + [0])
                    and d)
        d = poll("the leak to show in the profile", leak_ahead)
        check(function(d["sites"][0]) == "leak_record",
              "json: first site is %r" % function(d["sites"][0]))
        check(d["sites"][0]["frames"][0].get("file", "").endswith("prof_leak.c"),
              "json: the leak's file:line")
        rc, out, err = kmeminfo("profile", "-p", str(p.pid), "--top", "5")
        check(rc == 0, "profile: status %d %s" % (rc, err))
        sites = parse_text(out)
        check(sites and sites[0]["frames"][0][0] == "leak_record",
              "text: first site %r" % (sites[0]["frames"][:1] if sites else None))
        check(sites and sites[0]["frames"][0][1].endswith("prof_leak.c") and
              sites[0]["frames"][0][2] > 0, "text: file:line of the leak")
        check(len(sites) <= 5, "--top 5 printed %d sites" % len(sites))
        for key in ("total", "objects"):
            rc, out, err = kmeminfo("profile", "-p", str(p.pid), "--sort", key,
                                    "--json")
            check(rc == 0 and json.loads(out)["sort"] == key,
                  "--sort %s: %d %s" % (key, rc, err))
        d = json.loads(kmeminfo("profile", "-p", str(p.pid), "--sort", "total",
                                "--json")[1])
        tot = [x["total_bytes"] for x in d["sites"]]
        check(tot == sorted(tot, reverse=True), "--sort total is ordered")

        svg = os.path.join(tempfile.mkdtemp(), "sites.svg")
        rc, out, err = kmeminfo("watch", "--sites", "-p", str(p.pid), "-i",
                                "0.25", "-n", "24", "--json", "--plot", svg)
        check(rc == 0, "watch --sites: status %d %s" % (rc, err))
        w = json.loads(out)
        check(w["measure"] == "live_bytes", "watch --sites measures live bytes")
        growing = [s for s in w["sites"] if s["growing"]]
        check(len(growing) == 1 and "leak_record" in growing[0]["name"],
              "watch --sites flags the leak alone: %s" %
              [(s["name"], s["r2"], s["slope_per_min"]) for s in growing])
        churn = [s for s in w["sites"] if "churn" in s["name"]]
        check(len(churn) == 2 and not any(s["growing"] for s in churn),
              "the churning sites are seen and not flagged: %s" %
              [s["name"] for s in churn])
        root = ET.parse(svg).getroot()
        check(root.tag.endswith("svg"), "--plot wrote an SVG")
        check("leak_record" in ET.tostring(root, encoding="unicode"),
              "the plot names the leaking site")
    finally:
        stop(p)


def sigma_bytes(sizes, rate):
    """Standard deviation of the estimate of sum(sizes) by byte sampling."""
    var = 0.0
    for s, n in sizes:
        q = -math.expm1(-s / rate)              # probability of a sample
        var += n * s * s * (1 - q) / q
    return math.sqrt(var)


def accuracy(rate):
    e = env_with(**({"KMEM_PROFILE_RATE": str(rate)} if rate else {}))
    rate = rate or 2 << 20
    p, lines = start("prof_known", "64", env=e)
    try:
        truth = json.loads(lines[0])
        d = profile_json(p.pid, "--top", "100")
        check(d["rate"] == rate, "rate %d published as %d" % (rate, d["rate"]))
        for name, sizes in truth.items():
            true = sum(s * n for s, n in sizes)
            sites = [x for x in d["sites"] if function(x) == name]
            est = sum(x["live_bytes"] for x in sites)
            sd = sigma_bytes(sizes, rate)
            err = (est - true) / true
            print("%-11s true %6.1f MiB, estimate %6.1f MiB, error %+6.1f%%,"
                  " sd %5.1f%%, 10%% is %.1f sd" %
                  (name, true / 2**20, est / 2**20, 100 * err,
                   100 * sd / true, 0.1 * true / sd if sd else math.inf))
            # Unbiased: within 5 standard deviations (a false failure
            # once in 1.7 million sites).
            check(abs(est - true) <= 5 * sd + 1,
                  "%s: estimate %d for %d bytes is %.1f sd off" %
                  (name, est, true, abs(est - true) / sd if sd else math.inf))
            # Where the bound allows it, within 10%.
            if 5 * sd <= 0.1 * true:
                check(abs(err) <= 0.1, "%s: %.1f%% off" % (name, 100 * err))
        churn = [x for x in d["sites"] if function(x) == "site_churn"]
        check(churn and all(x["live_bytes"] == 0 for x in churn) and
              sum(x["total_samples"] for x in churn) > 0,
              "the churned site is seen, with nothing live")
    finally:
        stop(p)


def test_accuracy():
    """At the default rate: unbiased within 5 sd; big objects within 10%."""
    accuracy(None)


def test_accuracy_fine():
    """At 64 KiB: every site of 64 MiB within 10% (at 5 sd or more)."""
    accuracy(65536)


def test_safety():
    """Before main, signal handlers, free-only threads, fork: no crash,
    no deadlock, no allocation from inside the unwinder."""
    p, lines = start("prof_safety", env=env_with(KMEM_PROFILE_RATE="1"))
    try:
        for phase in ("before main", "signal handlers",
                      "threads that only free", "fork"):
            check(any(l.startswith(phase + ": ok") for l in lines),
                  "phase %s: %s" % (phase, lines))
        d = profile_json(p.pid, "--top", "1000")
        early = [x for x in d["sites"] if function(x) == "before_main_alloc"]
        check(early and early[0]["live_samples"] == 100,
              "the 100 allocations made before main: %s" %
              [x["live_samples"] for x in early])
        sig = [x for x in d["sites"] if function(x) == "on_alarm"]
        check(sig and all(any(f.get("function") == "spin_without_malloc"
                              for f in x["frames"]) for x in sig),
              "signal handler stacks go through the signal frame to the "
              "interrupted code")
        prod = [x for x in d["sites"] if function(x) == "producer"]
        check(prod and prod[0]["total_samples"] == 20000 and
              prod[0]["live_bytes"] == 0,
              "20000 samples freed by threads that only free: %s" %
              [(x["total_samples"], x["live_bytes"]) for x in prod])
        check(d["lost_frees"] == 0 and d["no_room"] == 0,
              "lost frees %d, no room %d" % (d["lost_frees"], d["no_room"]))
    finally:
        stop(p)


def test_errors():
    """Each failure: its message and its documented status."""
    # Not a kmem process.
    p = subprocess.Popen(["sleep", "600"])
    try:
        rc, out, err = kmeminfo("profile", "-p", str(p.pid))
        check(rc == 4 and "kmeminfo:" in err, "no kmem: %d %s" % (rc, err))
    finally:
        p.kill()
        p.wait()
    # Profiling off.
    p, _ = start("prof_leak", "0", env=env_with(KMEM_PROFILE_RATE="0"))
    try:
        rc, out, err = kmeminfo("profile", "-p", str(p.pid))
        check(rc == 11 and "KMEM_PROFILE_RATE=0" in err,
              "profiling off: %d %s" % (rc, err))
        rc, out, err = kmeminfo("watch", "--sites", "-p", str(p.pid))
        check(rc == 11, "watch --sites, profiling off: %d %s" % (rc, err))
    finally:
        stop(p)
    # No such process, and one that has exited (a zombie: not reaped).
    rc, out, err = kmeminfo("profile", "-p", "999999999")
    check(rc in (2, 3), "no such PID: %d %s" % (rc, err))
    z = subprocess.Popen(["true"])
    poll("the child to exit", lambda: open("/proc/%d/stat" % z.pid).read()
         .split(") ")[1].startswith("Z"))
    rc, out, err = kmeminfo("profile", "-p", str(z.pid))
    check(rc in (4, 6), "an exited process: %d %s" % (rc, err))
    z.wait()
    # A binary replaced on disk while it runs.
    d = tempfile.mkdtemp()
    copy = os.path.join(d, "prof_leak")
    shutil.copy(os.path.join(PROG_DIR, "prof_leak"), copy)
    p = subprocess.Popen([copy, "0"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env_with())
    try:
        check(p.stdout.readline().strip() == "ready", "copy started")
        os.unlink(copy)
        shutil.copy(os.path.join(PROG_DIR, "prof_leak"), copy)
        rc, out, err = kmeminfo("profile", "-p", str(p.pid))
        check(rc == 12 and "changed on disk" in err,
              "binary changed: %d %s" % (rc, err))
    finally:
        p.stdin.close()
        p.wait()
        shutil.rmtree(d)
    # Usage.
    rc, out, err = kmeminfo("profile", "--sort", "size")
    check(rc == 2 and "sort key" in err, "bad sort key: %d %s" % (rc, err))
    rc, out, err = kmeminfo("profile", "--json", "--folded", "-p", "1")
    check(rc == 2, "--json with --folded: %d %s" % (rc, err))


def test_folded():
    """--folded is read by a real flame-graph tool (speedscope's importer
    when available: tools/flamegraph-check.mjs); JSON by Python's json."""
    p, _ = start("prof_leak", "32", "twin")
    try:
        poll("a leak sample", lambda: [x for x in profile_json(p.pid)["sites"]
                                       if function(x) == "leak_record"])
        rc, out, err = kmeminfo("profile", "-p", str(p.pid), "--folded")
        check(rc == 0, "--folded: %d %s" % (rc, err))
        lines = out.splitlines()
        check(lines, "--folded printed nothing")
        for line in lines:
            stack, _, value = line.rpartition(" ")
            check(stack and value.isdigit() and " " not in stack,
                  "folded line %r" % line)
        # Sites whose frames have the same names (two calls in a function,
        # as twin_sites' two mallocs or leak_record's malloc and realloc)
        # are one stack: one line, their measures summed.
        stacks = [l.rpartition(" ")[0] for l in lines]
        check(len(set(stacks)) == len(stacks),
              "a stack printed twice: %s" %
              [s for s in set(stacks) if stacks.count(s) > 1])
        leak = [l for l in lines if ";leak_record " in l]
        check(len(leak) == 1 and leak[0].split(";")[-2] == "main",
              "the leak's folded stack ends main;leak_record: %s" % leak)
        twin = [l for l in lines if l.endswith(";main;twin_sites " +
                                                l.rpartition(" ")[2])]
        check(len(twin) == 1 and
              int(twin[0].rpartition(" ")[2]) >= 2 * (32 << 20) * 0.99,
              "twin_sites: one line of both 32 MiB blocks: %s" % twin)
        folded = os.path.join(tempfile.mkdtemp(), "prof.folded")
        with open(folded, "w") as f:
            f.write(out)
        tool = os.environ.get("KMEM_FLAMEGRAPH_CHECK")
        if check(tool, "KMEM_FLAMEGRAPH_CHECK (the flame-graph reader) unset"):
            r = subprocess.run(tool.split() + [folded], capture_output=True,
                               text=True, timeout=DEADLINE)
            check(r.returncode == 0, "flame-graph tool: %s %s" %
                  (r.stdout, r.stderr))
            frames = json.loads(r.stdout)
            check("leak_record" in frames.get("frames", []),
                  "the tool read leak_record: %s" % r.stdout[:300])
    finally:
        stop(p)


def test_at_exit():
    """KMEM_PROFILE_AT_EXIT=PATH (%p: PID): the live sites at exit, in the
    text format of kmeminfo profile, frames as module+offset that
    addr2line names."""
    d = tempfile.mkdtemp()
    p, _ = start("prof_leak", env=env_with(
        KMEM_PROFILE_AT_EXIT=os.path.join(d, "prof.%p")))
    pid = p.pid

    def leak_ahead():
        s = profile_json(pid)["sites"]
        live = sorted((x["live_bytes"], function(x)) for x in s)
        return live and live[-1][1] == "leak_record" and \
            (len(live) < 2 or live[-1][0] > 3 * live[-2][0])
    poll("the leak to lead", leak_ahead)
    stop(p)
    path = os.path.join(d, "prof.%d" % pid)
    check(os.path.exists(path), "no %s" % path)
    text = open(path).read()
    check(text.startswith("kmem profile of PID %d (prof_leak) at exit" % pid),
          "at-exit header: %r" % text[:80])
    sites = parse_text(text)
    check(sites and all(x["live_bytes"] > 0 for x in sites),
          "at exit: live sites only")
    name, _, _ = sites[0]["frames"][0] if sites else ("", "", 0)
    check(name == "prof_leak", "first frame's module: %r" % name)
    # The sites' order at exit is whatever the live bytes were at that
    # moment (a churning site can lead it under load): look for the leak
    # among every prof_leak frame, each of which addr2line must name.
    offs = re.findall(r"^    prof_leak\+0x([0-9a-f]+)$", text, re.M)
    r = subprocess.run(["addr2line", "-f", "-e",
                        os.path.join(PROG_DIR, "prof_leak")] +
                       ["%x" % (int(o, 16) - 1) for o in offs],
                       capture_output=True, text=True)
    names = r.stdout.split("\n")[0::2]
    check(offs and "leak_record" in names and "??" not in names,
          "addr2line names the frames %r" % r.stdout)
    shutil.rmtree(d)


def test_unsampled():
    """A process that has sampled nothing yet profiles all the same.  Its
    profile's unit in the statistics region is made at the first sample
    (a small program that never samples writes two pages fewer); until
    then kmeminfo shows an empty profile at the process's rate, and the
    exit report is written, empty."""
    d = tempfile.mkdtemp()
    rate = 1 << 40          # the largest: no sample in this run
    p, _ = start("prof_leak", "0", env=env_with(
        KMEM_PROFILE_RATE=str(rate), KMEM_PROFILE_SEED="1",
        KMEM_PROFILE_AT_EXIT=os.path.join(d, "prof.%p")))
    pid = p.pid
    try:
        j = profile_json(pid)
        check(j["rate"] == rate and j["samples"] == 0 and
              j["sites"] == [] and j["stacks"] == 0 and
              j["max_stacks"] == 4095,
              "the profile before any sample: %s" % {
                  k: v for k, v in j.items() if k != "process"})
        rc, out, err = kmeminfo("profile", "-p", str(pid))
        check(rc == 0 and out.startswith("kmem profile of PID %d" % pid),
              "text before any sample: %d %r %s" % (rc, out[:120], err))
    finally:
        stop(p)
    path = os.path.join(d, "prof.%d" % pid)
    text = open(path).read() if os.path.exists(path) else ""
    check(text.startswith("kmem profile of PID %d (prof_leak) at exit: "
                          "one sample per %d bytes" % (pid, rate)),
          "at-exit header without a sample: %r" % text[:120])
    check("stacks: 0 of 4095 recorded" in text,
          "at-exit stacks without a sample: %r" % text[:400])
    shutil.rmtree(d)
    # A unit the statistics region has no room for (a million stack
    # records, 336 bytes each, in its 256 MiB): the first sample turns
    # profiling off, once, says so, and the program runs on.
    p, _ = start("prof_leak", "0", env=env_with(
        KMEM_PROFILE_RATE="1", KMEM_PROFILE_MAX_STACKS="1048576"))
    try:
        rc, out, err = kmeminfo("profile", "-p", str(p.pid))
        check(rc == 11, "no room for the unit: kmeminfo %d %s" % (rc, err))
    finally:
        p.stdin.close()
        rc = p.wait(timeout=DEADLINE)
        err = p.stderr.read()
        check(rc == 0 and err.count("kmem: profiling off") == 1,
              "no room for the unit: status %d, stderr %r" % (rc, err))


def test_peaks():
    """High-water marks in slabinfo's JSON: per cache and for the process."""
    p, lines = start("prof_known", "64")
    try:
        rc, out, err = kmeminfo("slabinfo", "-p", str(p.pid), "--json")
        check(rc == 0, "slabinfo --json: %d %s" % (rc, err))
        d = json.loads(out)
        proc = d["process"]
        # 64 MiB of 64-byte objects, 64 MiB of 100..4000, 64 MiB of 1 MiB
        # blocks out of the page allocator; 3 x 32 MiB own mappings.
        check(proc["peak_used_bytes"] >= 3 * 64 << 20,
              "peak_used_bytes %d" % proc["peak_used_bytes"])
        check(proc["peak_used_bytes"] <= proc["mapped"],
              "peak above what was ever mapped: %d > %d" %
              (proc["peak_used_bytes"], proc["mapped"]))
        check(proc["peak_huge_mapped"] >= 96 << 20,
              "peak_huge_mapped %d" % proc["peak_huge_mapped"])
        k64 = [c for c in d["caches"] if c["name"] == "kmalloc-64"]
        check(k64 and k64[0]["peak_bytes"] >= 64 << 20 and
              k64[0]["peak_active_objs"] >= k64[0]["active_objs"],
              "kmalloc-64 peak: %s" % [(c["peak_active_objs"],
                                        c["active_objs"]) for c in k64])
        # The churned 512-byte objects were all freed: their peak stays.
        k512 = [c for c in d["caches"] if c["name"] == "kmalloc-512"]
        check(k512 and k512[0]["peak_active_objs"] >= 1 and
              k512[0]["peak_active_objs"] >= k512[0]["active_objs"],
              "kmalloc-512 peak: %s" % k512)
    finally:
        stop(p)


TESTS = {"leak": test_leak, "at_exit": test_at_exit, "peaks": test_peaks, "accuracy": test_accuracy,
         "accuracy_fine": test_accuracy_fine, "safety": test_safety,
         "errors": test_errors, "folded": test_folded,
         "unsampled": test_unsampled}

TESTS[TEST]()
if FAILED:
    sys.exit(1)
print("ok")
