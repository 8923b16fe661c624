#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/kernel/run-radix-tree.sh - run the kernel's radix-tree, IDR/IDA and
# XArray test suites (tools/testing/radix-tree of Linux 6.1) on kmem.
#
#   run-radix-tree.sh --kmem-lib BUILD/libkmem.a --work DIR [options]
#
# At test time, never in the repository:
#   1. checks that what it needs is installed: linux-source-6.1
#      (/usr/src/linux-source-6.1.tar.xz), make, gcc, binutils, xz-utils,
#      liburcu-dev, and time with --stand-in.  It installs nothing:
#      tools/deps.sh does (the test command runs it first); a missing
#      package is a failure that names it;
#   2. extracts only tools/, lib/ and include/ of the kernel source into
#      DIR/linux-source-6.1 (once per package version);
#   3. builds tools/testing/radix-tree with the kernel's Makefile, its flags
#      (-fsanitize=address,undefined) and two objects swapped: linux.o and
#      slab.o, the slab stand-in, for kmem_linux.o and kmem-sealed.o (kmem,
#      see kmem.mk); 6.1 needs the `fallthrough' keyword from -include;
#   4. runs the adapter's self-test, then main, idr-test, multiorder and
#      xarray, two at a time, and fails with the log's tail if one fails.
#      The maple-tree suite is not run: in 6.1.192 it fails with the
#      kernel's own stand-in as well.
#
# Options:
#   --stand-in   also build the suites with the kernel's own stand-in
#                (unmodified, in tools/testing/radix-tree-standin), run
#                both builds one program at a time under /usr/bin/time and
#                print wall time and peak RSS side by side
#   --seed N     random seed for main (default: the time, printed)
#   --jobs N     make -jN and programs run at once (default 2)
#
# Exit status: 0 all passed; 1 failed (including: a package missing).

set -u
set -o pipefail

PKG=linux-source-6.1
TARBALL=/usr/src/linux-source-6.1.tar.xz
TOP=linux-source-6.1
SUITES="main idr-test multiorder xarray"
HERE=$(cd "$(dirname "$0")" && pwd)

kmem_lib=
work=
stand_in=0
seed=
jobs=2

die() { echo "run-radix-tree: FAIL: $*" >&2; exit 1; }
note() { echo "run-radix-tree: $*"; }

while [ $# -gt 0 ]; do
	case $1 in
	--kmem-lib) kmem_lib=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--stand-in) stand_in=1; shift ;;
	--seed) seed=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	-h|--help) sed -n '4,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -n "$kmem_lib" ] && [ -n "$work" ] || die "--kmem-lib and --work are required"
[ -f "$kmem_lib" ] || die "no kmem library at $kmem_lib"
kmem_lib=$(cd "$(dirname "$kmem_lib")" && pwd)/$(basename "$kmem_lib")
mkdir -p "$work" || die "cannot create $work"
work=$(cd "$work" && pwd)

# ---- 1. packages ------------------------------------------------------

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# need PKG... - fail, naming them, unless all are installed.
need() {
	local missing= p

	for p in "$@"; do
		installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] ||
		die "not installed:$missing (install with: bash tools/deps.sh)"
}

need $PKG xz-utils make gcc binutils liburcu-dev
[ -f $TARBALL ] || die "$PKG is installed but $TARBALL is missing"
if [ $stand_in = 1 ]; then
	need time
fi
version=$(dpkg-query -W -f='${Version}' $PKG)

# ---- 2. extraction ----------------------------------------------------

tree=$work/$TOP
stamp=$work/.extracted-$version
if [ ! -f "$stamp" ]; then
	note "extracting tools/ lib/ include/ of $PKG $version"
	rm -rf "$tree" "$work/.extract" "$work"/.extracted-*
	mkdir -p "$work/.extract" &&
	tar -xJf $TARBALL -C "$work/.extract" \
		$TOP/tools $TOP/lib $TOP/include &&
	mv "$work/.extract/$TOP" "$tree" &&
	rmdir "$work/.extract" &&
	cp -a "$tree/tools/testing/radix-tree" \
		"$tree/tools/testing/radix-tree-standin" &&
	touch "$stamp" || die "cannot extract $TARBALL into $work"
fi

# ---- 3. build ---------------------------------------------------------

rt=$tree/tools/testing/radix-tree
[ -f "$rt/linux.c" ] && [ -f "$tree/tools/lib/slab.c" ] ||
	die "$rt: no linux.c or tools/lib/slab.c: not the 6.1 layout"
export CFLAGS="-include $HERE/fallthrough.h"

core=$(make -s --no-print-directory -C "$rt" -f Makefile \
	-f <(printf 'kc-print:\n\t@echo $(CORE_OFILES)\n') kc-print) ||
	die "cannot read CORE_OFILES from $rt/Makefile"
case " $core " in
*" linux.o "*" slab.o "*|*" slab.o "*" linux.o "*) ;;
*) die "CORE_OFILES ($core) lacks linux.o or slab.o" ;;
esac
kmem_core="$(echo " $core " | sed -e 's/ linux\.o / /' -e 's/ slab\.o / /')"
kmem_core="$(echo $kmem_core) kmem_linux.o kmem-sealed.o"

note "building the suites on kmem ($kmem_lib)"
make -C "$rt" -j"$jobs" -f Makefile -f "$HERE/kmem.mk" \
	CORE_OFILES="$kmem_core" KMEM_LIB="$kmem_lib" \
	KMEM_INCLUDE="$HERE/../../include" \
	kmem-selftest $SUITES >"$work/build-kmem.log" 2>&1 ||
	{ tail -30 "$work/build-kmem.log" >&2; die "build on kmem failed (log: $work/build-kmem.log)"; }

if [ $stand_in = 1 ]; then
	note "building the suites on the kernel's stand-in"
	make -C "$tree/tools/testing/radix-tree-standin" -j"$jobs" \
		$SUITES >"$work/build-standin.log" 2>&1 ||
	{ tail -30 "$work/build-standin.log" >&2; die "build on the stand-in failed"; }
fi

# ---- 4. runs ----------------------------------------------------------

mkdir -p "$work/logs"

# run DIR TAG PROG [ARGS] - run one program; leaves TAG-PROG.{log,rc,time}
run() {
	local dir=$1 tag=$2 prog=$3 log t0 t1
	shift 3
	log=$work/logs/$tag-$prog
	rm -f "$log".*
	t0=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		(cd "$dir" && /usr/bin/time -o "$log.time" -f '%e %M' \
			./"$prog" "$@") >"$log.log" 2>&1
	else
		(cd "$dir" && ./"$prog" "$@") >"$log.log" 2>&1
	fi
	echo $? >"$log.rc"
	t1=$(date +%s.%N)
	# Without /usr/bin/time (or if it could not write): wall time only.
	[ -s "$log.time" ] ||
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f ?\n", b - a }' >"$log.time"
}

# check TAG PROG - did it pass?  Prints one line; returns 1 if not.
check() {
	local tag=$1 prog=$2 log=$work/logs/$1-$2 rc wall kb why=
	rc=$(cat "$log.rc")
	# (/usr/bin/time puts "Command terminated by signal N" first.)
	read -r wall kb < <(tail -n 1 "$log.time")
	if [ "$rc" != 0 ]; then
		why="exit status $rc"
	elif grep -q 'nr_allocated = ' "$log.log"; then
		why="objects still allocated after rcu_barrier()"
	elif [ "$prog" = main ] && ! grep -q '^tests completed' "$log.log"; then
		why="no 'tests completed'"
	fi
	if [ -n "$why" ]; then
		printf 'FAIL %-8s %-12s %s (log: %s.log)\n' "$tag" "$prog" "$why" "$log"
		return 1
	fi
	printf 'PASS %-8s %-12s %7s s  %8s KiB peak RSS\n' "$tag" "$prog" "$wall" "$kb"
}

# main's seed: chosen here, so that a failure can be replayed (--seed).
[ -n "$seed" ] || seed=$(date +%s)
main_args="-s $seed"

note "adapter self-test"
run "$rt" kmem kmem-selftest
check kmem kmem-selftest ||
	{ tail -20 "$work/logs/kmem-kmem-selftest.log" >&2; die "the adapter's self-test failed"; }

if [ $stand_in = 1 ] || [ "$jobs" -le 1 ]; then
	# One at a time: the figures are comparable.
	for prog in $SUITES; do
		note "running $prog on kmem"
		if [ $prog = main ]; then run "$rt" kmem main $main_args
		else run "$rt" kmem $prog; fi
		if [ $stand_in = 1 ]; then
			note "running $prog on the stand-in"
			if [ $prog = main ]; then
				run "$tree/tools/testing/radix-tree-standin" standin main $main_args
			else
				run "$tree/tools/testing/radix-tree-standin" standin $prog
			fi
		fi
	done
else
	# Two lanes: main, which takes longest, and the other three.
	note "running $SUITES on kmem (main -s $seed)"
	run "$rt" kmem main $main_args &
	lane=$!
	for prog in idr-test multiorder xarray; do
		run "$rt" kmem $prog
	done
	wait $lane
fi

failed=0
for prog in $SUITES; do
	check kmem $prog || failed=1
	if [ $stand_in = 1 ]; then
		check standin $prog || failed=1
	fi
done
if [ $failed = 1 ]; then
	for log in "$work"/logs/*.rc; do
		log=${log%.rc}
		if [ "$(cat "$log.rc")" != 0 ]; then
			echo "---- tail of $log.log" >&2
			tail -25 "$log.log" >&2
		fi
	done
	die "kernel test suite(s) failed on kmem ($PKG $version; main's seed $seed, replay with --seed $seed)"
fi
note "all passed on kmem ($PKG $version)"
