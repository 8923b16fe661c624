#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/test_bench_exec.sh BENCH_EXEC PAGE_COST - bench_exec sets the
# measured command's environment and CPUs itself, so that what it reports
# (page faults, peak RSS, time) is that command's alone: a run through
# "env VAR=... prog" counted env's own start-up too (about 60 faults).
# And page_cost, whose line run.sh puts above every table, prints its
# three figures.  Registered with ctest as bench_exec.
set -euo pipefail

be=${1:?usage: test_bench_exec.sh BENCH_EXEC PAGE_COST}
pc=${2:?usage: test_bench_exec.sh BENCH_EXEC PAGE_COST}
fail() { echo "FAIL: $*" >&2; exit 1; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# -E sets, -U removes, in the order given; the rest of the environment stays.
out=$(FROM_PARENT=kept BENCH_GONE=1 "$be" -r "$tmp/res" -E BENCH_A=1 \
	-E BENCH_B=x=y -U BENCH_GONE -E BENCH_C=3 -U BENCH_C -- \
	sh -c 'echo "$BENCH_A|$BENCH_B|${BENCH_GONE-unset}|${BENCH_C-unset}|$FROM_PARENT"')
[[ $out == "1|x=y|unset|unset|kept" ]] || fail "environment: got '$out'"
grep -q '^status=exit-0 ' "$tmp/res" || fail "status: $(cat "$tmp/res")"

# A name of any length (not cut to a buffer's size).
long=$(printf 'BENCH_%0300d' 0)
out=$("$be" -r "$tmp/res" -E "$long=long" -- printenv "$long")
[[ $out == long ]] || fail "a 306-character name: got '$out', $(cat "$tmp/res")"

# -a pins the command (taskset -c's list syntax).
out=$("$be" -r "$tmp/res" -a 0 -- sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
[[ $out == 0 ]] || fail "-a 0: the command ran on '$out'"

# Bad options are usage errors (exit 2), before anything runs.
for bad in "-E =x" "-E NOEQUALS" "-U A=b" "-a 1-0" "-a x" "-a 0,"; do
	# shellcheck disable=SC2086
	if "$be" $bad -- true >/dev/null 2>&1; then
		fail "'$bad' was accepted"
	fi
	rc=0
	# shellcheck disable=SC2086
	"$be" $bad -- true >/dev/null 2>&1 || rc=$?
	[[ $rc == 2 ]] || fail "'$bad': exit $rc, not 2"
done

# The figures are the command's own: true run with -E faults fewer pages
# than true run behind env, which is a second program in the same process
# (every dynamic program's start-up faults in tens of pages).
"$be" -r "$tmp/own" -E BENCH_A=1 -- true
"$be" -r "$tmp/env" -- env BENCH_A=1 true
own=$(field minflt <"$tmp/own")
viaenv=$(field minflt <"$tmp/env")
[[ -n $own && -n $viaenv ]] || fail "no minflt in $(cat "$tmp/own" "$tmp/env")"
((own < viaenv)) || fail "true alone faulted $own pages, behind env $viaenv"

# -E and -U cost the command nothing: the environment is made before the
# fork, so the child's work between fork and exec is the same with them as
# without.  Made in the child (setenv), it cost 8-10 faults more, charged
# to every preloaded allocator and never to glibc.  The least of five runs
# each; 3 faults of slack for where ASLR puts the mappings.
least() {
	local m=999999 f
	for _ in 1 2 3 4 5; do
		"$be" -r "$tmp/m" "$@" -- true
		f=$(field minflt <"$tmp/m")
		((f < m)) && m=$f
	done
	echo "$m"
}
bare=$(least)
edited=$(least -E BENCH_A=1 -E BENCH_B=2 -U BENCH_C)
((edited <= bare + 3)) ||
	fail "true faulted $edited pages with -E/-U, $bare without"

# page_cost: one line of three figures (never compared with a
# bound: they are the machine's, not kmem's); a bad size is refused.
line=$("$pc" 4)
[[ $line =~ ^page_cost\ first_touch_us=([0-9]+\.[0-9]+)\ moved_touch_us=([0-9]+\.[0-9]+)\ resident_touch_us=([0-9]+\.[0-9]+)$ ]] ||
	fail "page_cost printed '$line'"
for bad in 0 5000 x 4x; do
	rc=0
	"$pc" "$bad" >/dev/null 2>&1 || rc=$?
	[[ $rc == 2 ]] || fail "page_cost $bad: exit $rc, not 2"
done
echo "ok: environment, CPUs, bad options; true faulted $own pages alone, $viaenv behind env, $bare/$edited without/with edits; $line"
