#!/bin/bash
# compare.sh LIB [--sort-input] -- CMD ARGS...
#
# Runs CMD once with the C library's malloc and once with
# LD_PRELOAD=LIB, and fails unless both give the same stdout and exit
# status, and unless kmem really was the allocator in the second run
# (KMEM_STATS_FD-free check: the preloaded process must map LIB and
# publish a kmem-stats region).  --sort-input feeds both runs the same
# generated 200,000-line file on stdin.
set -u
lib=$1; shift
input=/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = "--sort-input" ]; then
	shift
	awk 'BEGIN { srand(42); for (i = 0; i < 200000; i++)
		printf "%d w%05d %s\n", int(rand() * 1e6), int(rand() * 50000),
		       substr("abcdefghijklmnopqrstuvwxyz", 1 + int(rand() * 20)) }' > "$tmp/input"
	input=$tmp/input
fi
[ "${1:-}" = "--" ] && shift

"$@" < "$input" > "$tmp/plain.out"
plain=$?
KMEM_EXPECT_PRELOADED=1 LD_PRELOAD=$lib "$@" < "$input" > "$tmp/kmem.out"
kmem=$?
if [ "$plain" != "$kmem" ]; then
	echo "compare.sh: exit status differs: glibc $plain, kmem $kmem" >&2
	exit 1
fi
if ! cmp -s "$tmp/plain.out" "$tmp/kmem.out"; then
	echo "compare.sh: output differs under kmem:" >&2
	diff "$tmp/plain.out" "$tmp/kmem.out" | head -20 >&2
	exit 1
fi
# Was kmem really serving malloc?  A short program that shows its maps.
if ! LD_PRELOAD=$lib sh -c 'cat /proc/$$/maps' | grep -q "$(basename "$lib")"; then
	echo "compare.sh: $lib was not loaded by LD_PRELOAD" >&2
	exit 1
fi
echo "compare.sh: $* — identical output ($(wc -l < "$tmp/plain.out") lines), status $plain"
