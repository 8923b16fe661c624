#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hot-text.py [-o FILE] - find the functions that ordinary processes run,
for the linker to put them together (cmake/kmem-hot.ld).

Why: the kernel maps a shared library's code into a process 64 KiB of
addresses at a time around a fault (fault-around), so a small program that
ran 60 KiB of kmem's code, strewn through all of its 180 KiB, had every
page of it resident: 45 pages of its peak RSS, more than kmem's own data.
The library is linked with its segments aligned to 64 KiB (the loader maps
it at such a boundary, so the windows fall at fixed places in the file)
and its code begins with the functions ordinary processes run: a small
program faults only the windows that hold them
(Documentation/performance.md, "Fixed footprint: kmem's code").

How: builds libkmem-malloc.so and malloc_bench twice in a temporary
directory (Release, -O3, and RelWithDebInfo, -O2, which the tests use:
their inlining differs, so a function out of line in one may be inlined
in the other), puts a uprobe (perf probe) on every function of each
library, runs a set of ordinary workloads natively with LD_PRELOAD under
one perf session (ls -l twice, one of them bench's footprint-ls; a
Python script with a thread and a fork; short runs of
bench/malloc_bench's shapes; the ls runs with KFENCE's interval at an
hour, since traced they outlast its first sample, which a native ls
never reaches), and writes a linker script (an
INSERT script: the default layout is kept) that gathers the sections of
the functions that ran (the objects are built with -ffunction-sections)
into .text.kmem_hot before .text: first those `ls -l` ran (the smallest
program), then the others by how many workload processes ran them.
Native runs, not valgrind: under valgrind kmem runs without restartable
sequences, and the per-CPU paths never show.  GCC's clones
(foo.constprop.0, foo.part.0) have sections of their own and are listed as
run; a function's split-off cold part stays in .text.unlikely unless it
ran.

The builds have no assembler jump padding (KMEM_HAVE_JCC_PAD=OFF): the
padding puts CS prefixes on instructions, and the kernel refuses a uprobe
on an instruction with a segment prefix (silently, when the library is
mapped), so a padded function's entry never reports.  The padding changes
where instructions lie, not which functions exist.

A function missing from the list is only placed with the cold code (a
window more of RSS where it runs), never wrong; the test preload_text
(tests/preload/footprint.c --text) fails when a small program maps more of
kmem's code than the layout allows, and says to run this script again.

Needs root (uprobes), perf (Debian's linux-perf), cmake and a compiler.
Usage: tools/hot-text.py [-o cmake/kmem-hot.ld]   (about 3 minutes)
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

GROUP = "kmemhot"
# -O3 and -O2 inline differently: a function out of line in one build may
# be inlined in the other.  The list is the union of both builds' runs.
BUILD_TYPES = ("Release", "RelWithDebInfo")

PY_SCRIPT = ("import json, os, threading\n"
             "d = [{'a': i, 'b': str(i) * 3, 'c': [i] * (i % 7)}"
             " for i in range(20000)]\n"
             "s = json.dumps(d)\n"
             "assert json.loads(s) == d\n"
             "t = threading.Thread(target=lambda: json.dumps(d[:1000]))\n"
             "t.start(); t.join()\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"
             "    os._exit(len(json.dumps(d[:100])) == 0)\n"
             "os.waitpid(pid, 0)\n")

# Each workload: a name and its command ({bench}: malloc_bench; {lsdir}:
# bench/programs.py's directory of 300 small files).  The ls runs are the
# smallest programs: the functions they run come first.  Two of them: a
# long listing of a big directory, and the bench's own footprint-ls
# (bench/run.sh), which grows a buffer in place where the other did not
# (buddy_grow_in_place() and the page lists' pcp_order_of(): placed with
# the last of the others, they cost footprint-ls a window of code).
WORKLOADS = [
    ("ls", ["ls", "-l", "/usr/bin"]),
    ("ls-c", ["env", "LC_ALL=C", "ls", "-l", "{lsdir}"]),
    ("python", ["python3", "-S", "-c", PY_SCRIPT]),
] + [("bench-" + "-".join(w), ["{bench}", "-s", "0.05"] + w) for w in (
    ["pairs", "16"], ["pairs", "65536"], ["pairs", "8388608"], ["random"],
    ["threads", "2"], ["mstress"], ["large", "20"], ["medium", "2"],
    ["rptest", "2"], ["xmalloc", "1"], ["fill", "70000"], ["batch"],
)]


def names_at(lib):
    """address -> every name defined there (for the sections)."""
    out = subprocess.run(["nm", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    at = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwW":
            at.setdefault(int(p[0], 16), set()).add(p[2])
    return at


def perf_probe(args):
    subprocess.run(["perf", "probe", "-q"] + args, check=True,
                   stdout=subprocess.DEVNULL)


def probe_build(lib, bench, tmp):
    """Run the workloads natively with a uprobe on every function of
    @lib (one per address: malloc is an alias of kmem_malloc), all under
    one perf session (a probe costs about 50 ms to register with each
    session).  Return: {name: how many workload processes ran it}, the
    names `ls -l` ran, and every function name of @lib."""
    at = names_at(lib)
    funcs = sorted(at)
    lsdir = os.path.join(tmp, "programs", "ls")
    if not os.path.isdir(lsdir):
        subprocess.run([sys.executable, os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "bench",
            "programs.py"), os.path.dirname(lsdir)], check=True,
            stdout=subprocess.DEVNULL)
    script = os.path.join(tmp, "workloads.sh")
    with open(script, "w") as f:
        for name, cmd in WORKLOADS:
            cmd = [c.replace("{bench}", bench).replace("{lsdir}", lsdir)
                   for c in cmd]
            # A fixed seed: the same profile samples in every run.  The
            # ls runs take milliseconds natively, seconds traced: KFENCE's
            # first sample (100 ms after start-up) would come in them and
            # list its functions with ls's, 10 KiB that a native ls never
            # runs, pushing some of ls's own out of the first window.
            env = "KMEM_PROFILE_SEED=1"
            if name.startswith("ls"):
                env += " KMEM_KFENCE_SAMPLE_INTERVAL=3600000"
            f.write("env LD_PRELOAD=%s %s %s >/dev/null\n"
                    % (shlex.quote(lib), env, " ".join(map(shlex.quote, cmd))))
    if subprocess.run(["perf", "probe", "-l", GROUP + ":*"],
                      capture_output=True, text=True).stdout.strip():
        perf_probe(["-d", GROUP + ":*"])
    try:
        for i in range(0, len(funcs), 100):
            probes = []
            for j, addr in enumerate(funcs[i:i + 100], i):
                probes += ["-a", "%s:f%d=0x%x" % (GROUP, j, addr)]
            perf_probe(["-x", lib] + probes)
        data = os.path.join(tmp, "perf.data")
        subprocess.run(["perf", "record", "-q", "-o", data, "-e",
                        GROUP + ":*", "--", "sh", "-e", script], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        perf_probe(["-d", GROUP + ":*"])
    out = subprocess.run(["perf", "script", "-i", data, "-F",
                          "comm,pid,event"], check=True, capture_output=True,
                         text=True).stdout
    pids, first = {}, set()
    for line in out.splitlines():
        p = line.split()
        if len(p) < 3:
            continue
        names = at[funcs[int(p[2].rstrip(":").split(":")[-1][1:])]]
        for n in names:
            pids.setdefault(n, set()).add(p[1])
            if p[0] == "ls":
                first.add(n)
    return ({n: len(v) for n, v in pids.items()}, first,
            set().union(*at.values()))


def main():
    top = os.path.normpath(os.path.join(os.path.dirname(
        os.path.abspath(__file__)), ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=os.path.join(
        top, "cmake", "kmem-hot.ld"))
    args = ap.parse_args()
    count, first, allnames = {}, set(), set()
    with tempfile.TemporaryDirectory() as tmp:
        for btype in BUILD_TYPES:
            build = os.path.join(tmp, btype)
            subprocess.run(["cmake", "-S", top, "-B", build,
                            "-DCMAKE_BUILD_TYPE=" + btype,
                            "-DKMEM_HAVE_JCC_PAD=OFF",
                            "-DKMEM_BUILD_TESTS=OFF", "-DKMEM_BUILD_MAN=OFF"],
                           check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["cmake", "--build", build, "-j",
                            str(os.cpu_count()), "--target",
                            "kmem_malloc_shared", "malloc_bench"],
                           check=True, stdout=subprocess.DEVNULL)
            lib = os.path.realpath(os.path.join(build, "libkmem-malloc.so"))
            c, f, names = probe_build(lib, os.path.join(build, "bench",
                                                        "malloc_bench"), tmp)
            print("hot-text.py: %s: %d functions run, %d by ls" %
                  (btype, len(c), len(f)), file=sys.stderr)
            for n, k in c.items():
                count[n] = max(count.get(n, 0), k)
            first |= f
            allnames |= names
    write(args.output, count, first, allnames)


def write(output, count, first, allnames):
    """The linker script: @first's functions, then the others by @count."""
    sections = sorted(count, key=lambda n: (n not in first, -count[n], n))
    with open(output, "w") as f:
        f.write("/*\n"
                " * cmake/kmem-hot.ld - generated by tools/hot-text.py: do "
                "not edit.\n"
                " *\n"
                " * The %d functions that %d ordinary workloads ran (uprobes, "
                "native\n"
                " * runs), gathered before the rest of the code, so that the "
                "kernel's\n"
                " * fault-around maps only their pages into a small program\n"
                " * (Documentation/performance.md, \"Fixed footprint: kmem's "
                "code\").\n"
                " * Regenerate after a change to what the start-up or the "
                "fast paths\n"
                " * call: tools/hot-text.py (as root).\n"
                " */\n" % (len(sections), len(WORKLOADS)))
        f.write("SECTIONS\n{\n\t.text.kmem_hot : {\n")
        # Code that is not one of kmem's functions but runs in every
        # process: _fini (.fini; the loader calls it at exit, and after
        # .text its window would map the last 64 KiB of cold code), the
        # start-up helpers of GCC's crtbeginS.o, pthread_atfork()
        # (libc_nonshared.a), the restartable sequences' abort handlers
        # (slab/slab.h) and, last, the unwinder every profile sample and
        # KFENCE allocation runs (GCC's static libgcc_eh, built without a
        # section per function).  .init stays where it is, before .plt.
        f.write("\t\tKEEP (*(SORT_NONE(.fini)))\n"
                "\t\t*crtbeginS.o(.text .text.*)\n"
                "\t\t*libc_nonshared.a:*(.text .text.*)\n"
                "\t\t*(__rseq_failure)\n")
        for n in sections:
            if n.endswith(".cold"):	# a function's split-off cold part
                pats = [".text.unlikely." + n[:-5]]
            else:
                pats = [".text." + n, ".text.hot." + n,
                        ".text.startup." + n, ".text.exit." + n]
                if n + ".cold" not in allnames:	# a __cold function
                    pats.append(".text.unlikely." + n)
            f.write("\t\t*(%s)\n" % " ".join(pats))
        f.write("\t\t*libgcc_eh.a:*(.text .text.*)\n")
        f.write("\t}\n}\nINSERT BEFORE .text;\n")
    print("hot-text.py: %d functions in %s" % (len(sections), output),
          file=sys.stderr)


if __name__ == "__main__":
    main()
