#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/kfence/check_kfence.py - KFENCE's reports, checked from outside.

    check_kfence.py TEST KFENCE_PROG KFENCE_PRELOAD LIBKMEM_MALLOC KMEMINFO

TEST is a kfence_prog mode (see kfence_prog.c) or one of settings,
kmeminfo, preload.  Each runs a real process with a KMEM_KFENCE_* setting
and checks its exit status, stdout and the report on stderr: the
kernel's KFENCE form (a "BUG: KFENCE: <kind> in <function>" title, the
access line, the stacks with function+offset and module, the object
line with its cache, allocated/freed by task lines).  Exit status 0 on
success, 1 with the failures.
"""
import os
import re
import signal
import subprocess
import sys

TEST = sys.argv[1]
PROG, PRELOAD_PROG, MALLOC_LIB, KMEMINFO = sys.argv[2:6]
# The AddressSanitizer build (-O0): no tail calls, so the API's caller
# kmem records is its own entry function (kmem_free, ...), which then
# starts the free stack; and ASan's SIGSEGV handler is installed before
# kmem's.  Frame names and the handler's state are not checked there.
SANITIZED = os.environ.get("KFENCE_CHECK_SANITIZED") == "1"
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what)
    return cond


def run(prog, *args, env=None, preload=None, stdin=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KMEM_")}
    e.pop("LD_PRELOAD", None)
    if preload:
        e["LD_PRELOAD"] = preload
    e.update(env or {})
    p = subprocess.run([prog, *args], env=e, capture_output=True, text=True,
                       timeout=240, input=stdin)
    return p.returncode, p.stdout, p.stderr


def reports(text):
    """The KFENCE reports in @text: lists of lines, BUG line first."""
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("BUG: KFENCE: "):
            cur = [line]
            out.append(cur)
        elif cur is not None:
            if line.startswith("=" * 20):
                cur = None
            else:
                cur.append(line)
    return out


def show(rc, out, err):
    print("exit status", rc)
    print("--- stdout\n" + out + "--- stderr\n" + err)


def one_report(mode, env, kind, access_re, func="main", aborts=True,
               freed=None, cache=None):
    """Run @mode; expect exactly one report of @kind whose access line
    matches @access_re, in @func, then SIGABRT."""
    rc, out, err = run(PROG, mode, env=env)
    show(rc, out, err)
    rs = reports(err)
    if not check(len(rs) == 1, "%s: one report (got %d)" % (mode, len(rs))):
        return None
    r = rs[0]
    if SANITIZED:
        func = r"\S+"
    check(re.match(r"BUG: KFENCE: %s in %s\+0x[0-9a-f]+$" % (kind, func),
                   r[0]), "%s: title '%s'" % (mode, r[0]))
    body = "\n".join(r)
    check(re.search(access_re, body, re.M),
          "%s: access line /%s/" % (mode, access_re))
    # The access (or free) stack starts in the program's function, with
    # its module.
    m = re.search(r":\n (\S+) \[(\S+)\]\n", body)
    check(m and re.match(func + r"\+0x", m.group(1)),
          "%s: first frame in %s" % (mode, func))
    check(m and (SANITIZED or m.group(2) == os.path.basename(PROG)),
          "%s: module named" % mode)
    obj = re.search(r"^kfence-#(\d+): 0x([0-9a-f]+)-0x([0-9a-f]+), "
                    r"size=(\d+), cache=(\S+)$", body, re.M)
    if check(obj, "%s: object line" % mode):
        lo, hi, size = int(obj.group(2), 16), int(obj.group(3), 16), \
            int(obj.group(4))
        check(hi - lo + 1 == size, "%s: object range is its size" % mode)
        if cache:
            check(obj.group(5) == cache, "%s: cache %s" % (mode, cache))
    # From the program's call: main, or its helper placed().
    check(re.search(r"^allocated by task \d+ on cpu \d+ at [0-9.]+s "
                    r"\([0-9.]+s ago\):\n (main|placed)\+0x", body, re.M),
          "%s: allocation stack from the program's call" % mode)
    if freed is not None:
        check(bool(re.search(r"^freed by task \d+ on cpu", body, re.M))
              == freed, "%s: freed-by %s" % (mode, freed))
    check(re.search(r"^CPU: \d+ PID: \d+ Comm: \S+$", err, re.M),
          "%s: CPU/PID/Comm line" % mode)
    if aborts:
        check(rc == -signal.SIGABRT, "%s: aborted (SIGABRT)" % mode)
        check("not reported" not in out, "%s: stopped at the bug" % mode)
    return rc, out, err


GUARD_ALL = {"KMEM_KFENCE_SAMPLE_INTERVAL": "-1"}


def t_oob(mode):
    kind = "write" if mode.endswith("write") else "read"
    side = "right" if "right" in mode else "left"
    one_report(mode, GUARD_ALL, "out-of-bounds " + kind,
               r"^Out-of-bounds %s at 0x[0-9a-f]+ \(1B %s of kfence-#\d+\):$"
               % (kind, side), freed=False)


def t_uaf(mode):
    kind = mode.split("_")[1]
    one_report(mode, GUARD_ALL, "use-after-free " + kind,
               r"^Use-after-free %s at 0x[0-9a-f]+ \(in kfence-#\d+\):$"
               % kind, freed=True)


def t_double_free(mode):
    one_report(mode, GUARD_ALL, "invalid free",
               r"^Invalid free of 0x[0-9a-f]+ \(in kfence-#\d+\):$",
               freed=True)


def t_invalid_free(mode):
    r = one_report(mode, GUARD_ALL, "invalid free",
                   r"^Invalid free of 0x[0-9a-f]+ \(in kfence-#\d+\):$",
                   freed=False)
    if r:
        m = re.search(r"Invalid free of 0x([0-9a-f]+)", r[2])
        o = re.search(r"kfence-#\d+: 0x([0-9a-f]+)-", r[2])
        check(m and o and int(m.group(1), 16) == int(o.group(1), 16) + 8,
              "invalid_free: the pointer is 8 bytes into the object")


def t_canary(mode):
    # The corrupted byte shown, the others as '.'.
    one_report(mode, GUARD_ALL, "memory corruption",
               r"^Corrupted memory at 0x[0-9a-f]+ \[ 0x(01|fe|[0-9a-f]{2})"
               r"( \.)* \] \(in kfence-#\d+\):$", freed=True)


def t_kmalloc_oob(mode):
    one_report(mode, GUARD_ALL, "out-of-bounds write",
               r"^Out-of-bounds write at 0x[0-9a-f]+ \(1B right of "
               r"kfence-#\d+\):$", cache="kmalloc-32", freed=False)


def t_cache(mode):
    r = one_report(mode, GUARD_ALL, "out-of-bounds read",
                   r"^Out-of-bounds read at 0x[0-9a-f]+ \(1B right of "
                   r"kfence-#\d+\):$", cache="kf_test", freed=False)
    if r:
        # Guarded, constructed (the ctor ran for it), freed back.
        check("cache guarded 1 ctor 1 first byte 0x5a" in r[1],
              "cache: guarded object constructed")
        check("frees 2 allocated 0" in r[1],
              "cache: kmem_cache_free(s) and (NULL) of guarded objects")


def t_cache_wrong(mode):
    one_report(mode, GUARD_ALL, "invalid free",
               r"^Invalid free of 0x[0-9a-f]+ \(in kfence-#\d+\):$",
               freed=False, cache="kf_a")


def t_api(mode):
    rc, out, err = run(PROG, mode, env=GUARD_ALL)
    show(rc, out, err)
    check(rc == 0 and not reports(err), "api: no report, exit 0")
    for want in ["memalign rc 0 aligned 1 guarded 1",
                 "calloc zeroed 1 usable 300",
                 "realloc smaller in place 1",
                 "realloc moved 1 kept 1 usable 1000",
                 "5000 guarded 0", "allocated 0"]:
        check(want in out, "api: '%s'" % want)


def t_exhaust(mode):
    env = dict(GUARD_ALL, KMEM_KFENCE_NUM_OBJECTS="4")
    rc, out, err = run(PROG, mode, env=env)
    show(rc, out, err)
    m = re.search(r"allocs (\d+) allocated (\d+) capacity (\d+) slots (\d+)",
                  out)
    if check(m, "exhaust: figures printed"):
        check(m.group(2) == "4" and m.group(4) == "4",
              "exhaust: 4 guarded at once, 4 slots (got %s, %s)"
              % (m.group(2), m.group(4)))
        check(int(m.group(3)) >= 6, "exhaust: 6 skipped for capacity")
    check("reused oldest 1 allocated 1" in out,
          "exhaust: the oldest freed slot reused first")
    rs = reports(err)
    check(len(rs) == 1 and rs[0][0].startswith(
        "BUG: KFENCE: use-after-free read in main+"),
        "exhaust: a freed object stays protected while the pool has room")
    check(rc == -signal.SIGABRT, "exhaust: aborted")


def t_off(mode):
    rc, out, err = run(PROG, mode,
                       env={"KMEM_KFENCE_SAMPLE_INTERVAL": "0"})
    show(rc, out, err)
    check(rc == 0 and "objects 0 allocs 0 handler " in out,
          "off: no pool, no guarded object")
    check(SANITIZED or "handler default" in out, "off: no handler")
    # On by default: the pool exists and the handler is installed.
    rc, out, err = run(PROG, mode)
    show(rc, out, err)
    check(rc == 0 and "objects 255 " in out and "handler installed" in out,
          "default: 255 objects, handler installed")


def t_settings(mode):
    cases = [
        ({}, "interval 100 objects 255", None),
        ({"KMEM_KFENCE_SAMPLE_INTERVAL": "250",
          "KMEM_KFENCE_NUM_OBJECTS": "17"}, "interval 250 objects 17", None),
        ({"KMEM_KFENCE_SAMPLE_INTERVAL": "-1"}, "interval -1 objects 255",
         None),
        ({"KMEM_KFENCE_SAMPLE_INTERVAL": "abc"}, "interval 100 objects 255",
         "KMEM_KFENCE_SAMPLE_INTERVAL=abc"),
        ({"KMEM_KFENCE_SAMPLE_INTERVAL": "-2"}, "interval 100 objects 255",
         "KMEM_KFENCE_SAMPLE_INTERVAL=-2"),
        ({"KMEM_KFENCE_SAMPLE_INTERVAL": "3600001"},
         "interval 100 objects 255", "KMEM_KFENCE_SAMPLE_INTERVAL=3600001"),
        ({"KMEM_KFENCE_NUM_OBJECTS": "0"}, "interval 100 objects 255",
         "KMEM_KFENCE_NUM_OBJECTS=0"),
        ({"KMEM_KFENCE_NUM_OBJECTS": "65536"}, "interval 100 objects 255",
         "KMEM_KFENCE_NUM_OBJECTS=65536"),
        ({"KMEM_KFENCE_CONTINUE": "maybe"}, "interval 100 objects 255",
         "KMEM_KFENCE_CONTINUE=maybe"),
    ]
    for env, want, complaint in cases:
        rc, out, err = run(PROG, mode, env=env)
        show(rc, out, err)
        check(rc == 0 and want in out, "settings %s: '%s'" % (env, want))
        if complaint:
            check(("kmem: ignoring %s: " % complaint) in err,
                  "settings %s: complaint on stderr" % env)
        else:
            check("ignoring" not in err, "settings %s: no complaint" % env)


def t_own_handler(mode):
    rc, out, err = run(PROG, mode, env=GUARD_ALL)
    show(rc, out, err)
    check(out.count("own handler: got its fault") ==
          (4 if mode.endswith("after") else 3),
          "%s: faults outside the pool reach the program's handler" % mode)
    rs = reports(err)
    check(len(rs) == 1 and rs[0][0].startswith(
        "BUG: KFENCE: out-of-bounds write in main+") or
        len(rs) == 1 and rs[0][0].startswith(
        "BUG: KFENCE: out-of-bounds write in mode_own_handler+"),
        "%s: the pool fault reported by kmem" % mode)
    check(rc == -signal.SIGABRT and "not reported" not in out,
          "%s: aborted at the bug" % mode)


def t_sampling(mode):
    # The default interval (100 ms) in a process that allocates all the
    # time: 5 samples happen, and no faster than one per interval.  The
    # process is small (under one 32 MiB section): the allocations' slow
    # paths reopen the gate, and KFENCE starts no thread (issue 14 item
    # 5: a small program's footprint; it started the reaper before).
    rc, out, err = run(PROG, mode)
    show(rc, out, err)
    m = re.search(r"allocs (\d+) ms (\d+) interval (\d+) threads (\d+)",
                  out)
    if check(rc == 0 and m, "sampling: ran"):
        allocs, ms, iv, threads = (int(m.group(i)) for i in (1, 2, 3, 4))
        check(threads == 1,
              "sampling: %d threads, expected 1 (KFENCE started a thread)"
              % threads)
        check(iv == 100, "sampling: default interval 100")
        check(allocs >= 5, "sampling: 5 guarded allocations happened")
        # The first sample is at start-up; each next one at least an
        # interval after the one before.
        check(ms >= (allocs - 2) * iv,
              "sampling: %d samples in %d ms is not faster than the "
              "interval" % (allocs, ms))


def t_threads(mode):
    r = one_report(mode, GUARD_ALL, "use-after-free read",
                   r"^Use-after-free read at", func="thread_uaf",
                   freed=True)
    if r:
        check("freed in thread: frees 1 allocated 0" in r[1],
              "threads: a guarded object freed by another thread")
        check(re.search(r"^freed by task \d+.*\n (thread_free|kmem_free)"
                        r"\+0x", r[2], re.M),
              "threads: the free stack is the thread's")


def t_fork(mode):
    rc, out, err = run(PROG, mode, env=GUARD_ALL)
    show(rc, out, err)
    check("child: frees 1 allocs 3" in out,
          "fork: the child frees the parent's guarded object and "
          "allocates from the pool")
    check("child signal %d" % signal.SIGABRT in out,
          "fork: the child's use after free aborts it")
    rs = reports(err)
    check(len(rs) == 1 and rs[0][0].startswith(
        "BUG: KFENCE: use-after-free read in main+"),
        "fork: the child's report")
    check(rc == 0 and "parent: frees 2 allocated 0" in out,
          "fork: the parent's objects unaffected by the child")


def t_stress(mode):
    # Guarded objects allocated and freed by racing threads (remote frees,
    # every path), sampled every millisecond: no report, books balanced.
    rc, out, err = run(PROG, mode,
                       env={"KMEM_KFENCE_SAMPLE_INTERVAL": "1"})
    show(rc, out, err)
    m = re.search(r"stress: allocs (\d+) frees (\d+) allocated (\d+) "
                  r"bugs (\d+)", out)
    if check(rc == 0 and m, "stress: ran to the end"):
        allocs, frees, held, bugs = (int(m.group(i)) for i in range(1, 5))
        check(allocs >= 20, "stress: 20 guarded allocations")
        check(frees == allocs and held == 0 and bugs == 0,
              "stress: every guarded object freed once, no report")
    check(not reports(err) and "ThreadSanitizer" not in err,
          "stress: nothing on stderr")


def run_continue(mode):
    """Run @mode guarding everything, going on after reports; return
    its exit status, stdout and reports."""
    rc, out, err = run(PROG, mode,
                       env=dict(GUARD_ALL, KMEM_KFENCE_CONTINUE="1"))
    show(rc, out, err)
    return rc, out, reports(err)


def t_continue(mode):
    rc, out, rs = run_continue(mode)
    check([r[0].split(" in ")[0] for r in rs] ==
          ["BUG: KFENCE: out-of-bounds write", "BUG: KFENCE: invalid free"],
          "continue: one report per bug, once per object")
    check(rc == 0 and "survived bugs 2" in out,
          "continue: the program goes on, 2 bugs counted")


def t_fds(mode):
    # Stacks are captured at the guarded allocation, its free and the
    # fault; none of it, nor kmem's start-up, may open a descriptor of
    # the program's but the statistics region's (the unwinder KFENCE first
    # used, libunwind's, took the two lowest free ones for a pipe).
    rc, out, rs = run_continue(mode)
    check(len(rs) == 1 and
          rs[0][0].startswith("BUG: KFENCE: out-of-bounds write"),
          "fds: the overrun reported")
    m = re.search(r"fds before (\d+) after (\d+) lowest free before (\d+) "
                  r"after (\d+) bugs (\d+)", out)
    if check(rc == 0 and m, "fds: ran to the end"):
        n0, n1, l0, l1, bugs = (int(m.group(i)) for i in range(1, 6))
        check(bugs == 1, "fds: one bug counted")
        check(n1 == n0 and l1 == l0,
              "fds: %d open descriptors before kmem started, %d after a "
              "KFENCE report, kmem's statistics descriptor aside (lowest "
              "free %d, then %d)" % (n0, n1, l0, l1))


def t_kmeminfo(mode):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KMEM_")}
    e.update(GUARD_ALL)
    p = subprocess.Popen([PROG, "hold"], env=e, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        m = re.match(r"ready (\d+)", line)
        if not check(m, "kmeminfo: program ready"):
            return
        pid = m.group(1)
        r = subprocess.run([KMEMINFO, "kfence", "-p", pid],
                           capture_output=True, text=True, timeout=60)
        print(r.stdout, r.stderr)
        # 3 held + 1 freed (the allocation that started kmem is not
        # guarded: the pool did not exist yet)
        for want in ["enabled: 1", "currently allocated: 3",
                     "total allocations: 4", "total frees: 1",
                     "total bugs: 0", "pool slots in use: 4/255",
                     "sample interval: -1"]:
            check(re.search("^%s$" % re.escape(want), r.stdout, re.M),
                  "kmeminfo kfence: '%s'" % want)
        r = subprocess.run([KMEMINFO, "slabinfo", "--json", "-p", pid],
                           capture_output=True, text=True, timeout=60)
        check('"kfence": {' in r.stdout and '"allocated": 3' in r.stdout,
              "kmeminfo slabinfo --json: kfence figures")
    finally:
        p.stdin.close()
        p.wait(timeout=60)


def t_preload(mode):
    rc, out, err = run(PRELOAD_PROG, env=GUARD_ALL, preload=MALLOC_LIB)
    show(rc, out, err)
    rs = reports(err)
    check(len(rs) == 1 and rs[0][0].startswith(
        "BUG: KFENCE: out-of-bounds write in main+"),
        "preload: the overrun reported")
    check(rc == -signal.SIGABRT, "preload: aborted")
    check(re.search(r"cache=kmalloc-32$", err, re.M),
          "preload: the malloc class named")


TESTS = {
    "oob_right_write": t_oob, "oob_right_read": t_oob,
    "oob_left_write": t_oob, "oob_left_read": t_oob,
    "uaf_read": t_uaf, "uaf_write": t_uaf,
    "double_free": t_double_free, "invalid_free": t_invalid_free,
    "canary": t_canary, "canary_left": t_canary,
    "kmalloc_oob": t_kmalloc_oob, "cache": t_cache,
    "cache_wrong": t_cache_wrong, "api": t_api, "exhaust": t_exhaust,
    "off": t_off, "settings": t_settings,
    "own_handler_before": t_own_handler, "own_handler_after": t_own_handler,
    "sampling": t_sampling, "threads": t_threads, "fork": t_fork,
    "continue": t_continue, "fds": t_fds, "stress": t_stress, "kmeminfo": t_kmeminfo, "preload": t_preload,
}

TESTS[TEST](TEST)
if FAILED:
    print("%d check(s) failed" % len(FAILED))
    sys.exit(1)
print("ok")
