#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/user/check_user.py - what a user of kmem sees, checked from outside.

    check_user.py TEST USER_PROG GLIBC_API LIBKMEM_MALLOC

TEST is one of the functions below (reports_helpers, reports_dfree8k,
reports_redzone, reports_leak, debug_ctor, settings_bool, stats_print,
malloc_info, mallinfo, mallopt).  Each runs user_prog (the kernel API,
libkmem.so) or glibc_api (the C library's API, under
LD_PRELOAD=LIBKMEM_MALLOC and without it) with some environment and
checks the output.  Exit status 0 on success, 1 with a message.
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

USER_PROG, GLIBC_API, MALLOC_LIB = sys.argv[2:5]
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what)
    return cond


def run(prog, *args, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KMEM_")}
    e.pop("LD_PRELOAD", None)
    e.update(env or {})
    p = subprocess.run([prog, *args], env=e, cwd=cwd, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def reports(text):
    """The debug reports in @text: lists of lines, BUG line first."""
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("BUG "):
            cur = [line]
            out.append(cur)
        elif cur is not None:
            if line.startswith("====="):
                cur = None
                continue
            cur.append(line)
            if line.startswith("FIX "):
                cur = None
    return out


def info(report, key):
    for line in report:
        if line.startswith("INFO: " + key):
            return line
    return None


# ---- debug reports --------------------------------------------------------

def reports_helpers():
    """Each helper's allocation is owned by its caller, named from .symtab."""
    rc, out, err = run(USER_PROG, "helpers", env={"KMEM_DEBUG": "FZPU"})
    check(rc == 0, f"helpers: exit status {rc}: {err[-500:]}")
    reps = [r for r in reports(err) if "Object already free" in r[0]]
    sites = ["krealloc", "kmemdup", "kstrdup", "kstrndup", "kstrdup_const",
             "kmalloc_node", "kvmalloc", "kvrealloc"]
    check(len(reps) == len(sites),
          f"helpers: {len(reps)} double-free reports, expected {len(sites)}")
    for site, rep in zip(sites, reps):
        alloc = info(rep, "Allocated in") or ""
        check(re.search(rf"Allocated in site_{site}\+0x[0-9a-f]+ \[user_prog\]",
                        alloc),
              f"helpers: the {site} allocation is owned by '{alloc}', "
              f"expected site_{site}+0x.. [user_prog]")
        freed = info(rep, "Freed in") or ""
        check(re.search(r"Freed in mode_helpers\+0x[0-9a-f]+ \[user_prog\]", freed),
              f"helpers: the {site} free is recorded as '{freed}'")


def reports_dfree8k():
    """A double free of an 8 KiB object: the kernel's report, folded."""
    rc, out, err = run(USER_PROG, "dfree8k", env={"KMEM_DEBUG": "FZPU"})
    reps = reports(err)
    check(len(reps) == 1, f"dfree8k: {len(reps)} reports")
    if not reps:
        return
    rep = reps[0]
    check(len(rep) <= 30, f"dfree8k: the report has {len(rep)} lines:\n" +
          "\n".join(rep[:40]))
    kinds = [l.split()[0] for l in rep if re.match(r"(Redzone|Object|Padding) ", l)]
    # The kernel's sections, in its order: left red zone, object, right
    # red zone, padding.
    order = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    check(order == ["Redzone", "Object", "Redzone", "Padding"],
          f"dfree8k: dump sections {order}")
    # The object dump covers 4096 bytes (the kernel's PAGE_SIZE cap): its
    # first and last lines are shown, the identical ones between folded.
    objs = [l for l in rep if l.startswith("Object ")]
    first = int(objs[0].split()[1].rstrip(":"), 16)
    last = int(objs[-1].split()[1].rstrip(":"), 16)
    check(last - first == 4096 - 16, f"dfree8k: object dump {first:#x}..{last:#x}")
    check("*" in rep, "dfree8k: no folded run ('*') in the dump")
    check(rep[-1].startswith("FIX kmalloc-8k: Object at "),
          f"dfree8k: last line '{rep[-1]}'")


def slab_and_offset(rep):
    slab = int(re.search(r"INFO: Slab 0x([0-9a-f]+)", "\n".join(rep)).group(1), 16)
    m = re.search(r"INFO: Object 0x([0-9a-f]+) @offset=(\d+)", "\n".join(rep))
    return slab, int(m.group(1), 16), int(m.group(2))


def reports_redzone():
    """@offset is bytes from the slab's start, as in the kernel."""
    rc, out, err = run(USER_PROG, "redzone", env={"KMEM_DEBUG": "FZPU"})
    obj = int(re.search(r"object (0x[0-9a-f]+)", out).group(1), 16)
    reps = [r for r in reports(err) if "Right Redzone overwritten" in r[0]]
    if not check(len(reps) == 1, f"redzone: reports {[r[0] for r in reports(err)]}"):
        return
    rep = reps[0]
    slab, robj, off = slab_and_offset(rep)
    check(robj == obj, f"redzone: Object {robj:#x}, the program's {obj:#x}")
    check(off == obj - slab, f"redzone: Object @offset={off}, slab {slab:#x}, "
          f"object {obj:#x}: expected {obj - slab}")
    m = re.search(r"INFO: 0x([0-9a-f]+)-0x([0-9a-f]+) @offset=(\d+)\. First byte 0x78 instead of 0xcc",
                  "\n".join(rep))
    if check(m, "redzone: no 'First byte 0x78 instead of 0xcc' line"):
        fault = int(m.group(1), 16)
        check(fault == obj + 32, f"redzone: fault at {fault:#x}, expected {obj + 32:#x}")
        check(int(m.group(3)) == fault - slab,
              f"redzone: fault @offset={m.group(3)}, expected {fault - slab}")


def reports_leak():
    """Objects left at kmem_cache_destroy: @offset of the object."""
    rc, out, err = run(USER_PROG, "leak", env={"KMEM_DEBUG": "FZPU"})
    obj = int(re.search(r"object (0x[0-9a-f]+)", out).group(1), 16)
    reps = reports(err)
    if not check(reps, "leak: no double-free report"):
        return
    slab, _, _ = slab_and_offset(reps[0])
    m = re.search(r"INFO: Object 0x([0-9a-f]+) @offset=(\d+)\n", err)
    if check(m, "leak: no remaining object listed"):
        check(int(m.group(1), 16) == obj, "leak: wrong object listed")
        check(int(m.group(2)) == obj - slab,
              f"leak: @offset={m.group(2)}, expected {obj - slab}")


def debug_ctor():
    """KMEM_DEBUG=ZP,conn on a cache with a constructor: said once."""
    rc, out, err = run(USER_PROG, "ctor", env={"KMEM_DEBUG": "ZP,conn"})
    check(rc == 0, f"ctor: exit status {rc}")
    lines = [l for l in err.splitlines() if "conn" in l]
    check(len(lines) == 1, f"ctor: {len(lines)} lines about conn: {lines}")
    if lines:
        check("not poisoned" in lines[0] and "constructor" in lines[0],
              f"ctor: '{lines[0]}'")
    # Asked for nothing it cannot do: silent.
    rc, out, err = run(USER_PROG, "ctor", env={"KMEM_DEBUG": "Z,conn"})
    check("conn" not in err, f"ctor: Z only, yet: {err.strip()}")


# ---- settings ---------------------------------------------------------------

def settings_bool():
    """Every documented spelling of a boolean, any case; a clear error."""
    def figures(env):
        rc, out, err = run(USER_PROG, "settings", env=env)
        return dict(l.split() for l in out.splitlines()), err

    for word, val in [("1", 1), ("yes", 1), ("on", 1), ("true", 1),
                      ("TRUE", 1), ("Yes", 1), ("0", 0), ("no", 0),
                      ("off", 0), ("false", 0), ("OFF", 0)]:
        for var, key, want in [("KMEM_NOMERGE", "merged", 1 - val),
                               ("KMEM_MAGAZINES", "magazines", val),
                               ("KMEM_STATS", "published", val)]:
            f, err = figures({var: word})
            check(f.get(key) == str(want),
                  f"settings: {var}={word}: {key} {f.get(key)}, expected {want}")
            check("ignoring" not in err, f"settings: {var}={word}: {err.strip()}")
    f, err = figures({"KMEM_MAGAZINES": "maybe"})
    check(f.get("magazines") == "1", "settings: a bad value did not keep the default")
    msg = [l for l in err.splitlines() if "KMEM_MAGAZINES=maybe" in l]
    check(len(msg) == 1, f"settings: messages {err.strip()}")
    if msg:
        for w in ["1", "yes", "on", "true", "0", "no", "off", "false"]:
            check(re.search(rf"\b{w}\b", msg[0]),
                  f"settings: the message does not list '{w}': {msg[0]}")


def stats_print():
    """KMEM_STATS_PRINT=1 and =PATH with %p, at exit, parent and child."""
    rc, out, err = run(USER_PROG, "atexit", env={"KMEM_STATS_PRINT": "1"})
    pid = re.search(r"pid (\d+)", out).group(1)
    child = re.search(r"child (\d+)", out).group(1)
    for p, who in [(pid, "parent"), (child, "child")]:
        m = re.search(rf"kmem: statistics of pid {p} \(user_prog\) at exit\n"
                      r"Arena 0:\n", err)
        check(m, f"stats_print=1: no title for the {who} ({p}) on stderr")
    check(err.count("slabinfo - version: 2.1") == 2, "stats_print=1: slabinfo x2")
    m = re.search(r"^exit_cache +(\d+) ", err, re.M)
    check(m and int(m.group(1)) >= 100,
          "stats_print=1: exit_cache with its 100 objects not listed")
    check(re.search(r"^Node 0, zone   Normal", err, re.M),
          "stats_print=1: no buddyinfo line")
    with tempfile.TemporaryDirectory() as d:
        # A relative path: from the directory the program started in,
        # although it changes directory before it exits.
        rc, out, err = run(USER_PROG, "atexit",
                           env={"KMEM_STATS_PRINT": "stats.%p.txt"}, cwd=d)
        check(rc == 0, f"stats_print=PATH: exit status {rc}")
        check("statistics of pid" not in err, "stats_print=PATH: also on stderr")
        pid = re.search(r"pid (\d+)", out).group(1)
        child = re.search(r"child (\d+)", out).group(1)
        for p in (pid, child):
            path = os.path.join(d, f"stats.{p}.txt")
            if check(os.path.exists(path), f"stats_print=PATH: no {path}: "
                     f"{os.listdir(d)}"):
                text = open(path).read()
                check(f"statistics of pid {p} " in text and
                      "slabinfo - version: 2.1" in text,
                      f"stats_print=PATH: {path}: {text[:200]}")
        rc, out, err = run(USER_PROG, "atexit",
                           env={"KMEM_STATS_PRINT": d + "/no/such/dir/x"})
        check("KMEM_STATS_PRINT: cannot write" in err,
              f"stats_print: unwritable path not reported: {err.strip()}")
    rc, out, err = run(USER_PROG, "atexit", env={"KMEM_STATS_PRINT": "off"})
    check("statistics of pid" not in err, "stats_print=off printed")


# ---- glibc's introspection --------------------------------------------------

def api(mode, kmem):
    env = {"LD_PRELOAD": MALLOC_LIB} if kmem else {}
    rc, out, err = run(GLIBC_API, mode, env=env)
    check(rc == 0, f"{mode} ({'kmem' if kmem else 'glibc'}): exit {rc}: {err}")
    return out


def schema(elem, path=""):
    """The element paths and their attributes (and type="" values)."""
    here = path + "/" + elem.tag
    key = here + ("[%s]" % elem.get("type") if "type" in elem.attrib else "")
    out = {(key, tuple(sorted(elem.attrib)))}
    for child in elem:
        out |= schema(child, here)
    return out


def malloc_info():
    """malloc_info(): glibc's schema, read by the same parser as glibc's."""
    docs = {}
    for kmem in (False, True):
        root = ET.fromstring(api("info", kmem))
        docs[kmem] = root
    g, k = docs[False], docs[True]
    # glibc lists a <size> per bin with free chunks and an <unsorted> when
    # its unsorted bin has any: those may be absent; every other element
    # glibc writes, kmem writes too, and nothing else.
    optional = {"/malloc/heap/sizes/size", "/malloc/heap/sizes/unsorted"}
    attrs = ("count", "from", "to", "total")
    known = schema(g) | {(p, attrs) for p in optional}
    missing = {e for e in schema(g) - schema(k) if e[0] not in optional}
    extra = schema(k) - known
    check(not missing, f"malloc_info: kmem lacks {sorted(missing)}")
    check(not extra, f"malloc_info: kmem adds {sorted(extra)}")
    check(k.get("version") == g.get("version"), "malloc_info: version differs")

    def total(root, t):
        e = root.find(f"./total[@type='{t}']")
        return int(e.get("count")), int(e.get("size"))

    def system(root, t):
        return int(root.find(f"./system[@type='{t}']").get("size"))

    # The figures agree with mallinfo2() and with each other.
    heap = k.find("heap")
    sizes = heap.find("sizes")
    check(len(sizes) > 0, "malloc_info: no free sizes listed")
    for s in sizes:
        f, t, tot, cnt = (int(s.get(a)) for a in ("from", "to", "total", "count"))
        check(f <= t and cnt > 0 and f * cnt <= tot <= t * cnt,
              f"malloc_info: size {s.attrib}")
    fast, rest = total(k, "fast"), total(k, "rest")
    check(system(k, "current") <= system(k, "max"), "malloc_info: current > max")
    check(fast[1] + rest[1] <= system(k, "current"),
          "malloc_info: free bytes above the system bytes")
    check(total(heap, "fast") == fast and total(heap, "rest") == rest and
          system(heap, "current") == system(k, "current"),
          "malloc_info: the heap's totals are not the process's")


def mallinfo_of(kmem):
    return {k: int(v) for k, v in
            (l.split() for l in api("mallinfo", kmem).splitlines())}


def mallinfo():
    """mallinfo2(): arena == uordblks + fordblks, as in glibc."""
    for kmem in (False, True):
        m = mallinfo_of(kmem)
        who = "kmem" if kmem else "glibc"
        check(m["arena"] == m["uordblks"] + m["fordblks"],
              f"mallinfo ({who}): arena {m['arena']} != uordblks {m['uordblks']}"
              f" + fordblks {m['fordblks']}")
        check(m["fsmblks"] <= m["fordblks"] and m["keepcost"] <= m["fordblks"],
              f"mallinfo ({who}): fsmblks/keepcost above fordblks: {m}")
        # The workload holds about 2000 objects of 1..2305 bytes and five
        # large ones: in use well above 1 MiB, and the free part a fraction.
        frag = m["fordblks"] / m["arena"]
        check(0 <= frag < 1, f"mallinfo ({who}): fragmentation {frag}")
        check(m["uordblks"] + m["hblkhd"] >= 1 << 20,
              f"mallinfo ({who}): in use {m['uordblks']} + {m['hblkhd']}")
        check(m["usmblks"] == 0, f"mallinfo ({who}): usmblks {m['usmblks']}")


def mallopt():
    """mallopt(): applied where it has a meaning, 0 where not."""
    res = {}
    for kmem in (False, True):
        res[kmem] = dict(l.split() for l in api("mallopt", kmem).splitlines())
    g, k = res[False], res[True]
    # The effect of M_MMAP_THRESHOLD is glibc's.
    for key in ("mapped_100k_default", "mapped_100k", "mapped_32k"):
        check(k.get(key) == g.get(key),
              f"mallopt: {key}: kmem {k.get(key)}, glibc {g.get(key)}")
    expect = {"M_TRIM_THRESHOLD": "1", "M_MMAP_THRESHOLD": "1",
              "M_MMAP_THRESHOLD_HUGE": "0", "M_ARENA_MAX": "1",
              "M_ARENA_TEST": "1", "M_MXFAST": "0", "M_TOP_PAD": "0",
              "M_MMAP_MAX": "0", "M_CHECK_ACTION": "0", "M_PERTURB": "0",
              "unknown": "0"}
    for key, val in expect.items():
        check(k.get(key) == val, f"mallopt: {key} returned {k.get(key)}, expected {val}")


TESTS = {f.__name__: f for f in (reports_helpers, reports_dfree8k,
                                 reports_redzone, reports_leak, debug_ctor,
                                 settings_bool, stats_print, malloc_info,
                                 mallinfo, mallopt)}

if __name__ == "__main__":
    TESTS[sys.argv[1]]()
    if FAILED:
        print(f"{sys.argv[1]}: {len(FAILED)} check(s) failed")
        sys.exit(1)
    print(f"{sys.argv[1]}: ok")
