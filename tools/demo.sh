#!/bin/bash
# tools/demo.sh - build kmem and show what it does (the README's main job).
#
#   1. object caches: tools/demo/kmem_demo creates kernel-style caches
#      (constructor, merging, SLAB_TYPESAFE_BY_RCU), runs a workload and
#      prints its own /proc/slabinfo and /proc/buddyinfo;
#   2. malloc replacement of a real program: Python builds and drops large
#      dicts under LD_PRELOAD=libkmem-malloc.so (via kmeminfo run, which
#      prints the program's caches when it exits), then GNU sort;
#   3. kmeminfo on a live process: the demo serves in the background and
#      slowly leaks one cache; kmeminfo lists it, prints its slabinfo,
#      buddyinfo, KFENCE's figures and a slabtop-style snapshot, and watch
#      flags the leak; then the sampled profile names the code that holds
#      the memory and watch --sites flags the call site that leaks;
#   4. KFENCE: a planted out-of-bounds write, caught and reported in the
#      kernel's form (the demo guards every allocation to make it certain).
#
# Installs its build dependencies first (tools/deps.sh).  Build tree:
# build-demo/ (override with KMEM_BUILD_DIR); build/ is the user's own.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${KMEM_BUILD_DIR:-build-demo}
jobs=$(nproc 2>/dev/null || echo 2)

bash tools/deps.sh
echo "==> building kmem in $build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build.configure.log" 2>&1 ||
	{ cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" > "$build.build.log" 2>&1 ||
	{ tail -40 "$build.build.log"; exit 1; }

demo=$build/tools/demo/kmem_demo
kmeminfo=$build/tools/kmeminfo/kmeminfo
lib=$build/libkmem-malloc.so
[ -x "$kmeminfo" ] || kmeminfo=$(find "$build" -name kmeminfo -type f -perm -u+x | head -1)

banner() { printf '\n==================== %s ====================\n' "$*"; }

banner "1. object caches (kmem_cache API, kmalloc, pages)"
"$demo"

banner "2. malloc replaced in a real program (python3, LD_PRELOAD)"
# Python keeps objects up to 512 bytes in arenas of its own (pymalloc);
# PYTHONMALLOC=malloc sends them to malloc, and so to kmem, too.
echo "(PYTHONMALLOC=malloc: Python's small objects go through kmem too)"
PYTHONMALLOC=malloc "$kmeminfo" run -- python3 -c '
import hashlib
d = {}
for i in range(300000):
    d["key%d" % i] = [i, str(i) * 3]
lst = sorted(d.values(), key=lambda v: v[1])
print("python3 under kmem: built and sorted", len(lst), "entries, digest",
      hashlib.sha1(repr(lst[:100]).encode()).hexdigest()[:12])
del d, lst
'
awk 'BEGIN { srand(1); for (i = 0; i < 200000; i++) print int(rand() * 1e6), "line", i }' > "$build/demo-sort.txt"
echo "sort of 200000 lines, glibc vs kmem:"
sort -n "$build/demo-sort.txt" | md5sum
LD_PRELOAD=$lib sort -n "$build/demo-sort.txt" | md5sum

banner "3. kmeminfo on a live process"
# Profiled every 4 KiB on average (the default is 2 MiB) so that a demo of
# seconds has samples enough to rank its call sites.
KMEM_PROFILE_RATE=4096 "$demo" --serve 16 > "$build/demo-serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q ready "$build/demo-serve.log" 2>/dev/null && break; sleep 0.1; done
echo "\$ kmeminfo list"
"$kmeminfo" list
echo; echo "\$ kmeminfo slabinfo -p $pid"
"$kmeminfo" slabinfo -p "$pid"
echo; echo "\$ kmeminfo buddyinfo -p $pid"
"$kmeminfo" buddyinfo -p "$pid"
echo; echo "\$ kmeminfo kfence -p $pid"
"$kmeminfo" kfence -p "$pid"
echo; echo "\$ kmeminfo top -o -p $pid -s c"
"$kmeminfo" top -o -p "$pid" -s c | head -20
echo; echo "\$ kmeminfo watch -p $pid -i 0.5 -n 8 --plot $build/demo-watch.svg"
"$kmeminfo" watch -p "$pid" -i 0.5 -n 8 --plot "$build/demo-watch.svg"
echo "(the chart of the growing caches: $build/demo-watch.svg)"
echo; echo "\$ kmeminfo profile -p $pid --top 3   # which code holds the memory"
"$kmeminfo" profile -p "$pid" --top 3
echo; echo "\$ kmeminfo watch --sites -p $pid -i 0.5 -n 8   # which call site leaks"
"$kmeminfo" watch --sites -p "$pid" -i 0.5 -n 8 --plot "$build/demo-sites.svg"
wait $pid || true
trap - EXIT

banner "4. KFENCE: a planted out-of-bounds write"
echo "\$ KMEM_KFENCE_SAMPLE_INTERVAL=-1 kmem_demo --kfence"
KMEM_KFENCE_SAMPLE_INTERVAL=-1 "$demo" --kfence 2>&1 || echo "(kmem_demo aborted, exit status $?: KFENCE stops a program at memory corruption)"
banner "done"
