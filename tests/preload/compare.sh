#!/bin/bash
# compare.sh LIB KMEMINFO [--sort-input] [--kmem-only] [--min-allocs N]
#            -- CMD ARGS...
#
# Runs CMD once with the C library's malloc and once under kmem, and fails
# unless both give the same stdout and exit status, and unless kmem really
# served the second run.  The kmem run goes through `kmeminfo run --json`
# (KMEMINFO_LIB=LIB), which preloads LIB with a statistics region of its
# own: if ld.so ignored the preload, no kmem starts, the region stays
# empty and no figures come back.  The figures must name CMD and count at
# least N allocations (default 1) in kmem's caches.  KMEM_EXPECT_PRELOADED
# is set for the kmem run: the test programs then also check, from the
# inside, that their malloc is libkmem-malloc.so's (tests/preload/
# preloaded.h, dicts.py).
#
#   --sort-input   feed both runs the same generated 200,000-line file
#   --kmem-only    no glibc run: CMD checks its own results (its output
#                  may differ from run to run); the kmem run must exit 0
#   --min-allocs N the least number of allocations kmem must have served
set -u
lib=$1 kmeminfo=$2
shift 2
input=/dev/null
kmem_only=0
min_allocs=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while [ $# -gt 0 ]; do
	case $1 in
	--sort-input)
		awk 'BEGIN { srand(42); for (i = 0; i < 200000; i++)
			printf "%d w%05d %s\n", int(rand() * 1e6), int(rand() * 50000),
			       substr("abcdefghijklmnopqrstuvwxyz", 1 + int(rand() * 20)) }' > "$tmp/input"
		input=$tmp/input ;;
	--kmem-only) kmem_only=1 ;;
	--min-allocs) min_allocs=$2; shift ;;
	--) shift; break ;;
	*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

if [ $kmem_only = 0 ]; then
	"$@" < "$input" > "$tmp/plain.out"
	plain=$?
fi
KMEMINFO_LIB=$lib KMEM_EXPECT_PRELOADED=1 \
	"$kmeminfo" run --json -O "$tmp/stats.json" -- "$@" \
	< "$input" > "$tmp/kmem.out"
kmem=$?
if [ $kmem_only = 1 ]; then
	if [ "$kmem" != 0 ]; then
		echo "compare.sh: $* exited with status $kmem under kmem" >&2
		exit 1
	fi
else
	if [ "$plain" != "$kmem" ]; then
		echo "compare.sh: exit status differs: glibc $plain, kmem $kmem" >&2
		exit 1
	fi
	if ! cmp -s "$tmp/plain.out" "$tmp/kmem.out"; then
		echo "compare.sh: output differs under kmem:" >&2
		diff "$tmp/plain.out" "$tmp/kmem.out" | head -20 >&2
		exit 1
	fi
fi
# Did kmem serve it?  The figures the process itself published.
python3 - "$tmp/stats.json" "$(basename "$1")" "$min_allocs" <<'EOF' || exit 1
import json, sys
path, comm, least = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    with open(path) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    sys.exit("compare.sh: no kmem statistics from %s (%s): kmem did not "
             "serve it (LD_PRELOAD ignored?)" % (comm, e))
proc = doc["process"]
allocs = sum(c["allocs"] for c in doc["caches"])
if proc["command"] != comm and not (len(proc["command"]) == 15 and
                                    comm.startswith(proc["command"])):
    sys.exit("compare.sh: the statistics are %s's, not %s's"
             % (proc["command"], comm))
if allocs < least:
    sys.exit("compare.sh: kmem served %s only %d allocations (want >= %d)"
             % (comm, allocs, least))
print("compare.sh: kmem served %s: %d allocations in %d caches, pid %d"
      % (comm, allocs, len(doc["caches"]), proc["pid"]))
EOF
if [ $kmem_only = 1 ]; then
	echo "compare.sh: $* — status 0 under kmem"
else
	echo "compare.sh: $* — identical output ($(wc -l < "$tmp/plain.out") lines), status $plain"
fi
