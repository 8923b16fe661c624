#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/kernel/run-kernel-tests.sh - run the kernel's own userspace test
# suites for its radix tree, IDR/IDA, XArray and maple tree
# (tools/testing/radix-tree) and, from 6.12, its VMA code
# (tools/testing/vma) on kmem, built against kmem's own headers.
#
#   run-kernel-tests.sh --kernel 6.1|6.12 --kmem-lib BUILD/libkmem.a \
#                       --work DIR [options]
#
# At test time, never in the repository:
#   1. checks that what it needs is installed: linux-source-VERSION
#      (/usr/src/linux-source-VERSION.tar.xz), make, gcc, binutils,
#      xz-utils, liburcu-dev, and time with --stand-in.  It installs
#      nothing: tools/deps.sh does (the test command runs it first; for
#      6.12 on Debian 12 it enables bookworm-backports for that one
#      package); a missing package is a failure that names it;
#   2. extracts tools/, lib/, include/ (and mm/ for 6.12) of the kernel
#      source into DIR/linux-source-VERSION, once per package version;
#   3. builds the suites with the kernel's Makefiles and flags (ASan,
#      UBSan), every object compiled against kmem's kernel-compatibility
#      headers (include/kmem/compat: <linux/slab.h>, <linux/gfp.h>) and the
#      stand-in's linux.o and slab.o replaced by kmem and the harness's
#      hooks on kmem's caches (kmem.mk, kmem_linux.c); checks that the
#      suites call no kmem function the harness does not cover
#      (kmem-wrap.list);
#   4. runs the adapter's self-test, then the suites, two at a time, and
#      fails with the log's tail if one fails.
#
# Suites:  6.1: main idr-test multiorder xarray (maple only with --suites:
#          in 6.1 it fails on the kernel's own stand-in as well);
#          6.12: main idr-test multiorder xarray maple vma.
#
# Two changes to the kernel's test harness, the same on kmem and on the
# stand-in, and one to the vma suite on kmem (Documentation/kernel-compat.md
# says why, line by line):
#   - harness/linux/spinlock.h: spin_lock() is also an RCU read-side
#     section, as in the kernel (--no-rcu-spinlock leaves it out);
#   - 6.12 vma: vma_close(), which the suite lacks (vma_close.c);
#   - 6.12 vma on kmem: vma_internal.h's calloc()/free() of VMAs and VMA
#     locks become kmem_cache_alloc()/kmem_cache_free() on the kernel's
#     vm_area_cachep and vma_lock_cachep (kmem_vma.c).
#
# Options:
#   --stand-in         also build the suites on the kernel's own stand-in
#                      (in tools/testing/*-standin), run both builds one
#                      program at a time under /usr/bin/time and print wall
#                      time and peak RSS side by side
#   --suites "A B"     run only these programs
#   --seed N           random seed for main (default: the time, printed)
#   --jobs N           make -jN and programs run at once (default 2)
#   --no-rcu-spinlock  build without the spinlock fix (to see it matter)
#
# Exit status: 0 all passed; 1 failed (including: a package missing).

set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

kernel=
kmem_lib=
work=
stand_in=0
seed=
jobs=2
suites=
rcu_spinlock=1

die() { echo "run-kernel-tests: FAIL: $*" >&2; exit 1; }
note() { echo "run-kernel-tests: $*"; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--kmem-lib) kmem_lib=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--stand-in) stand_in=1; shift ;;
	--suites) suites=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--no-rcu-spinlock) rcu_spinlock=0; shift ;;
	-h|--help) sed -n '4,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -n "$kmem_lib" ] && [ -n "$work" ] && [ -n "$kernel" ] ||
	die "--kernel, --kmem-lib and --work are required"
# all_suites run by default; 6.1's maple only when asked for (--suites):
# it fails on the kernel's own stand-in as well.
case $kernel in
6.1) all_suites="main idr-test multiorder xarray"; more=maple; parts="tools lib include" ;;
6.12) all_suites="main idr-test multiorder xarray maple vma"; more=; parts="tools lib include mm" ;;
*) die "--kernel must be 6.1 or 6.12" ;;
esac
[ -n "$suites" ] || suites=$all_suites
for s in $suites; do
	case " $all_suites $more " in
	*" $s "*) ;;
	*) die "$s is not a $kernel suite ($all_suites $more)" ;;
	esac
done
[ -f "$kmem_lib" ] || die "no kmem library at $kmem_lib"
kmem_lib=$(cd "$(dirname "$kmem_lib")" && pwd)/$(basename "$kmem_lib")
mkdir -p "$work" || die "cannot create $work"
work=$(cd "$work" && pwd)

PKG=linux-source-$kernel
TARBALL=/usr/src/$PKG.tar.xz

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
[ -f "$TARBALL" ] || die "$PKG is installed but $TARBALL is missing"
[ $stand_in = 0 ] || need time
version=$(dpkg-query -W -f='${Version}' $PKG)

# ---- 2. extraction ----------------------------------------------------

tree=$work/$PKG
stamp=$work/.extracted-$version
if [ ! -f "$stamp" ]; then
	note "extracting $parts of $PKG $version"
	rm -rf "$tree" "$work/.extract" "$work"/.extracted-*
	mkdir -p "$work/.extract" &&
	tar -xJf "$TARBALL" -C "$work/.extract" \
		$(for p in $parts; do echo "$PKG/$p"; done) &&
	mv "$work/.extract/$PKG" "$tree" &&
	rmdir "$work/.extract" &&
	for d in radix-tree vma; do
		[ -d "$tree/tools/testing/$d" ] || continue
		cp -a "$tree/tools/testing/$d" "$tree/tools/testing/$d-standin" ||
			exit 1
	done &&
	touch "$stamp" || die "cannot extract $TARBALL into $work"
fi

# ---- 3. build ---------------------------------------------------------

rt=$tree/tools/testing/radix-tree
vt=$tree/tools/testing/vma
kinc=$TOP/include

# CFLAGS (read by the kernel's Makefiles before their own, so these -I come
# first): the harness fix, kmem's compat headers, the types.h rename.
harness_cflags=-DKMEM_NO_RCU_SPINLOCK
[ $rcu_spinlock = 1 ] && harness_cflags="-I$HERE/harness"
[ $kernel = 6.1 ] && harness_cflags="$harness_cflags -include $HERE/fallthrough.h"
kmem_cflags="$harness_cflags -I$kinc/kmem/compat -I$kinc -include $HERE/tools-types.h"

# objects DIR - the Makefile's list of harness and library objects, and
# the variable that holds it: SHARED_OFILES (6.12's shared.mk) or
# CORE_OFILES (6.1).
objects() {
	local dir=$1 var list

	for var in SHARED_OFILES CORE_OFILES; do
		list=$(make -s --no-print-directory -C "$dir" -f Makefile \
			-f <(printf 'kc-print:\n\t@echo $(%s)\n' $var) kc-print) ||
			die "cannot read $var from $dir/Makefile"
		if [ -n "$list" ]; then
			echo "$var $list"
			return
		fi
	done
	die "$dir/Makefile has neither SHARED_OFILES nor CORE_OFILES"
}

# swap DIR EXTRA... - VAR=LIST for make: the stand-in's linux.o and slab.o
# out, kmem's objects and EXTRA in.
swap() {
	local dir=$1 var list
	shift
	read -r var list < <(objects "$dir")
	case " $list " in *" linux.o "*) ;; *) die "$var ($list) lacks linux.o" ;; esac
	case " $list " in *" slab.o "*) ;; *) die "$var ($list) lacks slab.o" ;; esac
	list=$(echo " $list " | sed -e 's/ linux\.o / /' -e 's/ slab\.o / /')
	echo "$var=$(echo $list) kmem_linux.o kmem-sealed.o $*"
}

# replace_if_changed NEW FILE - FILE becomes NEW only when they differ, so
# that make rebuilds only then.
replace_if_changed() {
	if cmp -s "$1" "$2"; then
		rm -f "$1"
	else
		mv -f "$1" "$2"
	fi
}

# The vma suite's VMA allocations through the kernel's caches (kmem only):
# vma_internal.h.orig is the shipped file; each edit must match exactly
# the number of times given, or the run stops (a different 6.12.y).
edit_vma_internal() {
	local orig=$vt/vma_internal.h.orig new=$vt/vma_internal.h.kmem

	[ -f "$orig" ] || cp "$vt/vma_internal.h" "$orig" || return 1
	perl -e '
		my ($in, $out) = @ARGV;
		my @edits = (
			# vma_lock_alloc()
			["calloc(1, sizeof(struct vma_lock))",
			 "kmem_cache_alloc(vma_lock_cachep, GFP_KERNEL)", 1],
			# vm_area_alloc(), vm_area_dup()
			["calloc(1, sizeof(struct vm_area_struct))",
			 "kmem_cache_alloc(vm_area_cachep, GFP_KERNEL)", 2],
			# vma_lock_free()
			["free(vma->vm_lock);",
			 "kmem_cache_free(vma_lock_cachep, vma->vm_lock);", 1],
			# vm_area_alloc() failure, __vm_area_free()
			["free(vma);", "kmem_cache_free(vm_area_cachep, vma);", 2],
			# vm_area_dup() failure
			["free(new);", "kmem_cache_free(vm_area_cachep, new);", 1],
		);
		open(my $f, "<", $in) or die "$in: $!\n";
		local $/; my $s = <$f>; close $f;
		for my $e (@edits) {
			my ($from, $to, $want) = @$e;
			# (not inside a longer name: vma_lock_free(vma);)
			my $n = () = $s =~ /(?<!\w)\Q$from\E/g;
			die "vma_internal.h: \"$from\" found $n times, not $want\n"
				if $n != $want;
			$s =~ s/(?<!\w)\Q$from\E/$to/g;
		}
		open($f, ">", $out) or die "$out: $!\n";
		print $f $s; close $f;
	' "$orig" "$new" || return 1
	replace_if_changed "$new" "$vt/vma_internal.h"
}

# The maple suite's RCU reader tests (run_check_rcu_slowread() and, in
# 6.1, run_check_rcu()) start 20 reader threads, sleep 5 us "to ensure all
# threads are at least started" and then store; the rcu_val() readers
# must load the old value before the first store (seen_entry2), but each
# sleeps 400 us before its first load.  They pass only while creating the
# threads takes longer than that: on a loaded machine the check fails
# ("maple.c: run_check_rcu_slowread: Assertion `0' failed") on the
# kernel's own stand-in as on kmem.  The edit makes the writer wait for
# the condition the test needs (every rcu_val() reader has loaded once)
# instead of the 5 us.  maple.c.orig is the shipped file; each edit must
# match exactly the number of times given, or the run stops.
edit_maple() {
	local dir=$1 orig=$1/maple.c.orig new=$1/maple.c.kmem

	[ -f "$orig" ] || cp "$dir/maple.c" "$orig" || return 1
	perl -e '
		my ($in, $out) = @ARGV;
		my $helpers = <<"EOT";
/* kmem harness (run-kernel-tests.sh): writers wait for the readers. */
static unsigned long kmem_rcu_val_loaded;
static __thread bool kmem_rcu_val_once;

static void kmem_rcu_val_mark(void)
{
	if (!kmem_rcu_val_once) {
		kmem_rcu_val_once = true;
		uatomic_inc(&kmem_rcu_val_loaded);
	}
}

static void kmem_rcu_val_wait(unsigned long n)
{
	while (uatomic_read(&kmem_rcu_val_loaded) < n)
		usleep(5);
	uatomic_set(&kmem_rcu_val_loaded, 0);
}

EOT
		my @edits = (
			["static void *rcu_val(void *ptr)\n",
			 $helpers . "static void *rcu_val(void *ptr)\n", 1],
			["entry = mtree_load(test->mt, test->index);\n",
			 "entry = mtree_load(test->mt, test->index);\n" .
			 "\t\tkmem_rcu_val_mark();\n", 1],
			# 20 readers, every other one rcu_val()
			["usleep(5); /* small yield to ensure all threads are at least started. */",
			 "kmem_rcu_val_wait(ARRAY_SIZE(readers) / 2); /* kmem: each rcu_val() has loaded */", 2],
		);
		open(my $f, "<", $in) or die "$in: $!\n";
		local $/; my $s = <$f>; close $f;
		for my $e (@edits) {
			my ($from, $to, $want) = @$e;
			my $n = () = $s =~ /\Q$from\E/g;
			die "maple.c: \"$from\" found $n times, not $want\n"
				if $n != $want;
			$s =~ s/\Q$from\E/$to/g;
		}
		open($f, ">", $out) or die "$out: $!\n";
		print $f $s; close $f;
	' "$orig" "$new" || return 1
	replace_if_changed "$new" "$dir/maple.c"
}

want() { case " $suites " in *" $1 "*) return 0 ;; esac; return 1; }

# fresh DIR FLAGS - the kernel's Makefiles know neither the CFLAGS nor
# kmem's and the adapter's headers: when any of them changed since DIR was
# last built, its objects and programs go.
fresh() {
	local dir=$1 sum
	sum=$( { echo "$2"; cat "$kinc"/kmem/*.h "$kinc"/kmem/compat/linux/*.h \
		"$HERE"/*.h "$HERE"/harness/linux/*.h; } | sha256sum)
	[ "$(cat "$dir/.kmem-build" 2>/dev/null)" = "$sum" ] && return
	rm -f "$dir"/*.o "$dir"/kmem-sealed.syms "$dir"/kmem-selftest \
		$(for p in $all_suites $more; do echo "$dir/$p"; done)
	echo "$sum" >"$dir/.kmem-build"
}

rt_suites=
for s in $suites; do
	[ $s = vma ] || rt_suites="$rt_suites $s"
done

note "building the $kernel suites on kmem ($kmem_lib)"
: >"$work/build-kmem.log"
if [ -n "$rt_suites" ]; then
	if want maple; then
		edit_maple "$rt" || die "cannot edit $rt/maple.c"
	fi
	fresh "$rt" "$kmem_cflags"
	CFLAGS="$kmem_cflags" make -C "$rt" -j"$jobs" -f Makefile \
		-f "$HERE/kmem.mk" "$(swap "$rt")" KMEM_LIB="$kmem_lib" \
		kmem-selftest $rt_suites >>"$work/build-kmem.log" 2>&1 ||
	{ tail -30 "$work/build-kmem.log" >&2; die "build on kmem failed (log: $work/build-kmem.log)"; }
fi
if want vma; then
	edit_vma_internal || die "cannot edit $vt/vma_internal.h"
	fresh "$vt" "$kmem_cflags"
	CFLAGS="$kmem_cflags -include $HERE/vma_close.h -include $HERE/kmem_vma.h" \
	make -C "$vt" -j"$jobs" -f Makefile -f "$HERE/kmem.mk" \
		-f "$HERE/vma_close.mk" "$(swap "$vt" vma_close.o kmem_vma.o)" \
		KMEM_LIB="$kmem_lib" vma >>"$work/build-kmem.log" 2>&1 ||
	{ tail -30 "$work/build-kmem.log" >&2; die "build of vma on kmem failed (log: $work/build-kmem.log)"; }
fi

# Every kmem function a suite object calls must be one the harness wraps
# or one it may call directly (kmem-wrap.list).
check_calls() {
	local dir=$1 o bad=

	for o in "$dir"/*.o; do
		case ${o##*/} in
		kmem_linux.o|kmem_linux_test.o|kmem-sealed.o|kmem-linked.o) continue ;;
		esac
		nm -u "$o" | awk -v obj="${o##*/}" '
			FILENAME == ARGV[1] { api[$1] = 1; next }
			FILENAME == ARGV[2] { if ($1 == "wrap" || $1 == "call") ok[$2] = 1; next }
			($2 in api) && !($2 in ok) { print obj ": " $2 }
		' "$dir/kmem-sealed.syms" "$HERE/kmem-wrap.list" -
	done
}
for d in "$rt" "$vt"; do
	[ -f "$d/kmem-sealed.syms" ] || continue
	bad=$(check_calls "$d")
	[ -z "$bad" ] || die "suite code calls kmem functions the harness does not cover (kmem-wrap.list):
$bad"
done

if [ $stand_in = 1 ]; then
	note "building the $kernel suites on the kernel's stand-in"
	: >"$work/build-standin.log"
	if [ -n "$rt_suites" ]; then
		if want maple; then
			edit_maple "$rt-standin" ||
				die "cannot edit $rt-standin/maple.c"
		fi
		fresh "$rt-standin" "$harness_cflags"
		CFLAGS="$harness_cflags" make -C "$rt-standin" -j"$jobs" \
			$rt_suites >>"$work/build-standin.log" 2>&1 ||
		{ tail -30 "$work/build-standin.log" >&2; die "build on the stand-in failed"; }
	fi
	if want vma; then
		fresh "$vt-standin" "$harness_cflags"
		read -r var list < <(objects "$vt-standin")
		CFLAGS="$harness_cflags -include $HERE/vma_close.h" \
		make -C "$vt-standin" -j"$jobs" -f Makefile \
			-f "$HERE/vma_close.mk" "$var=$list vma_close.o" vma \
			>>"$work/build-standin.log" 2>&1 ||
		{ tail -30 "$work/build-standin.log" >&2; die "build of vma on the stand-in failed"; }
	fi
fi

# ---- 4. runs ----------------------------------------------------------

logs=$work/logs
mkdir -p "$logs"

dir_of() { # TAG PROG
	local d=$rt
	[ "$2" = vma ] && d=$vt
	[ "$1" = standin ] && d=$d-standin
	echo "$d"
}

# run TAG PROG - run one program; leaves TAG-PROG.{log,rc,time}
run() {
	local tag=$1 prog=$2 dir log t0 t1 args=
	dir=$(dir_of "$tag" "$prog")
	log=$logs/$tag-$prog
	[ "$prog" = main ] && args="-s $seed"
	rm -f "$log".*
	t0=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		(cd "$dir" && /usr/bin/time -o "$log.time" -f '%e %M %U %S' \
			./"$prog" $args) >"$log.log" 2>&1
	else
		(cd "$dir" && ./"$prog" $args) >"$log.log" 2>&1
	fi
	echo $? >"$log.rc"
	t1=$(date +%s.%N)
	# Without /usr/bin/time (or if it could not write): wall time only.
	[ -s "$log.time" ] ||
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f ? ? ?\n", b - a }' >"$log.time"
}

# check TAG PROG - did it pass?  Prints one line; returns 1 if not.
check() {
	local tag=$1 prog=$2 log=$logs/$1-$2 rc wall kb usr sys why= expect=
	rc=$(cat "$log.rc")
	# (/usr/bin/time puts "Command terminated by signal N" first.)
	read -r wall kb usr sys < <(tail -n 1 "$log.time")
	case $prog in
	main) expect='^tests completed' ;;
	xarray) expect='^XArray: ([0-9]+) of ([0-9]+) tests passed' ;;
	idr-test) expect='^IDA: ([0-9]+) of ([0-9]+) tests passed' ;;
	maple) expect='^maple_tree: ([0-9]+) of ([0-9]+) tests passed' ;;
	vma) expect='^([0-9]+) tests run, ([0-9]+) passed, 0 failed' ;;
	esac
	if [ "$rc" != 0 ]; then
		why="exit status $rc"
	elif grep -q 'nr_allocated = ' "$log.log"; then
		why="objects still allocated after rcu_barrier()"
	elif [ -n "$expect" ] && ! grep -Eq "$expect" "$log.log"; then
		why="no line matching '$expect'"
	elif grep -E '(tests passed|tests run)' "$log.log" | awk '
		/ of .* tests passed/ { if ($2 != $4) bad = 1 }
		/ tests run, / { if ($1 != $4) bad = 1 }
		END { exit !bad }'; then
		why="a test count does not match ($(grep -E 'tests (passed|run)' "$log.log" | tr '\n' ' '))"
	fi
	if [ -n "$why" ]; then
		printf 'FAIL %-8s %-12s %s (log: %s.log)\n' "$tag" "$prog" "$why" "$log"
		return 1
	fi
	printf 'PASS %-8s %-12s %7s s wall %7s s CPU %8s KiB peak RSS  %s\n' \
		"$tag" "$prog" "$wall" \
		"$(awk -v u="$usr" -v s="$sys" 'BEGIN { if (u == "?") print "?"; else printf "%.1f", u + s }')" \
		"$kb" "$(grep -Eo -m1 "$expect" "$log.log" 2>/dev/null)"
}

# main's seed: chosen here, so that a failure can be replayed (--seed).
[ -n "$seed" ] || seed=$(date +%s)

if [ -n "$rt_suites" ]; then
	note "adapter self-test"
	run kmem kmem-selftest
	check kmem kmem-selftest ||
		{ tail -20 "$logs/kmem-kmem-selftest.log" >&2; die "the adapter's self-test failed"; }
fi

if [ $stand_in = 1 ] || [ "$jobs" -le 1 ]; then
	# One at a time: the figures are comparable.
	for prog in $suites; do
		note "running $prog on kmem"
		run kmem $prog
		if [ $stand_in = 1 ]; then
			note "running $prog on the stand-in"
			run standin $prog
		fi
	done
else
	# Two lanes: the longest program (maple, else main) alone, the rest
	# one after another in the other.
	long=
	for p in maple main; do
		want $p && { long=$p; break; }
	done
	note "running $suites on kmem ($kernel; main -s $seed)"
	lane=
	if [ -n "$long" ]; then
		run kmem $long &
		lane=$!
	fi
	for prog in $suites; do
		[ "$prog" = "$long" ] || run kmem $prog
	done
	[ -z "$lane" ] || wait $lane
fi

failed=0
for prog in $suites; do
	check kmem $prog || failed=1
	if [ $stand_in = 1 ]; then
		check standin $prog || failed=1
	fi
done
if [ $failed = 1 ]; then
	for log in "$logs"/*.rc; do
		log=${log%.rc}
		if [ "$(cat "$log.rc")" != 0 ]; then
			echo "---- tail of $log.log" >&2
			tail -25 "$log.log" >&2
		fi
	done
	die "kernel test suite(s) failed ($PKG $version; main's seed $seed, replay with --seed $seed)"
fi
note "all passed on kmem ($PKG $version)"
