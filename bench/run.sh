#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh - run kmem's benchmarks under every allocator and print the
# tables of medians.  See bench/README.md.
#
# It takes a build directory holding bench/malloc_bench, bench/slab_bench,
# bench/bench_exec and libkmem-malloc.so.  Without -b it uses build-bench/
# at the top of the repository, configuring and building it first (Release,
# KMEM_DEBUG_LEVEL 0: what a user links) so the figures are those of an
# optimised build.
#
# What runs under each allocator - glibc (no preload), jemalloc, tcmalloc,
# mimalloc (the Debian libraries, installed with apt-get when absent and we
# are root), kmem (LD_PRELOAD of libkmem-malloc.so) and any other kmem
# builds given with --kmem-lib or --kmem-rev:
#   - malloc_bench's workloads: throughput shapes, fixed-work shapes (large,
#     regrow, mstress, arrays, fill), the scaling shapes at 1, 2 and 4
#     threads, and the usable-size sweeps;
#   - real programs from Debian's packages (python3, sqlite3, lua5.4, perl,
#     gcc) on inputs that bench/programs.py generates, their output checked
#     against a reference run under glibc;
#   - the footprint of /bin/true and of ls.
# slab_bench runs its cache-* workloads once (kmem's cache API, linked in)
# and its malloc-* workloads under glibc and mimalloc.
#
# Every run goes through bench_exec, which reports the child's wall and CPU
# time, peak RSS and page faults (wait4).  Runs are interleaved: each
# repetition runs every workload under every allocator in turn, starting
# from a different allocator each time, so that noise from the (shared)
# machine falls on all of them alike.  Medians over the repetitions go to
# the tables (bench/report.py).  An allocator whose library is missing is
# skipped with a note; a run that crashes, times out, whose LD_PRELOAD the
# loader ignored, or whose output differs from the reference is reported as
# a failure, the rest carries on, and the exit status is 1.

set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_dir=$(cd "$script_dir/.." && pwd)
command_line="bench/run.sh${*:+ $*}"

build_dir=
auto_build=1
runs=5
threads=2
scaling_threads=1,2,4
scale=1
timeout_s=120
markdown=0
install=1
raw_out=
sel_workloads=
sel_allocs=glibc,jemalloc,tcmalloc,mimalloc,kmem
report_opts=()
mode=full
variant_specs=()	# "lib NAME PATH" or "rev NAME REV"
cpus=
pairs_sizes="16 64 256 1024 4096 8192 16384 65536 1048576 1500000 8388608"
fill_sizes="2100 4200 70000"

usage() {
	cat <<EOF
usage: bench/run.sh [options] [BUILD_DIR]

Run malloc_bench, real programs and slab_bench under glibc, jemalloc,
tcmalloc, mimalloc and kmem; print median time/throughput, peak RSS and
page faults, with ratios to glibc and to the best peer.

options:
  -b, --build DIR      an existing build directory (default: build and use
                       $top_dir/build-bench, Release, KMEM_DEBUG_LEVEL=0)
  -n RUNS              repetitions of every run (default: $runs)
  -w WORKLOAD[,..]     workloads to run (default: all); a name as printed
                       (pairs-64, larson-2, sqlite), a family (pairs,
                       larson, fill), or a group: malloc, slab, scaling,
                       huge, sweep, programs, footprint
  -a ALLOC[,..]        allocators (default: $sel_allocs); kmem is this
                       build's libkmem-malloc.so
  --kmem-lib NAME=PATH another kmem build to measure as allocator NAME
                       (a libkmem-malloc.so); repeatable
  --kmem-rev NAME=REV  build git revision REV (Release, KMEM_DEBUG_LEVEL=0)
                       in a throwaway worktree and measure it as NAME, e.g.
                       --kmem-rev main=main; cached in build-bench-revs/
  -t THREADS           threads of prodcons, false-sharing, threads
                       (default: $threads)
  -T LIST              thread counts of the scaling shapes private, medium,
                       larson, xmalloc, rptest, alloctest
                       (default: $scaling_threads)
  -s FACTOR            scale every run's duration or work (default: $scale)
  --cpus LIST          run everything on these CPUs (a list as taskset -c
                       takes it), e.g. --cpus 0 for two threads sharing one
                       core
  --timeout SECONDS    kill a run after this long, times -s when that is
                       above 1 (default: $timeout_s)
  --quick              a smoke check of everything: -n 1 -s 0.2
  --smoke              the CTest smoke test: every shape very briefly
                       (-n 1 -s 0.02) under kmem only
  --cpu                CPU time instead of wall time: user+sys of fixed-work
                       shapes and programs, calls per CPU second of the
                       one-thread timed shapes (steadier on a busy machine)
  --markdown           print the tables as Markdown
  --raw FILE           also keep the raw results in FILE
                       (re-render with: bench/report.py [--markdown] FILE)
  --no-install         do not apt-get install missing packages
  -h, --help           this text

workloads (malloc_bench, every allocator):
  throughput: pairs-{${pairs_sizes// /,}} batch random prodcons-T
              false-sharing-T threads-T
  scaling:    private-N medium-N larson-N xmalloc-N rptest-N alloctest-N
              for N in -T
  huge:       large regrow mstress arrays;  fill-{${fill_sizes// /,}};  sweep: sweep sweep-small
programs (every allocator): python sqlite lua perl gcc
footprint (every allocator): footprint-true footprint-ls
slab: cache-pairs cache-batch cache-threads-T cache-memory (kmem);
      malloc-pairs malloc-batch malloc-threads-T (glibc, mimalloc)
EOF
}

note() {
	printf 'run.sh: %s\n' "$*" >&2
}

die() {
	note "$*"
	exit 2
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	-b | --build)
		build_dir=${2:?--build needs a directory}
		auto_build=0
		shift 2 ;;
	-n)
		runs=${2:?-n needs a number}
		shift 2 ;;
	-w)
		sel_workloads=${2:?-w needs a workload list}
		shift 2 ;;
	-a)
		sel_allocs=${2:?-a needs an allocator list}
		shift 2 ;;
	-t)
		threads=${2:?-t needs a number}
		shift 2 ;;
	-T)
		scaling_threads=${2:?-T needs a list of thread counts}
		shift 2 ;;
	-s)
		scale=${2:?-s needs a factor}
		shift 2 ;;
	--timeout)
		timeout_s=${2:?--timeout needs seconds}
		shift 2 ;;
	--cpus)
		cpus=${2:?--cpus needs a CPU list}
		shift 2 ;;
	--kmem-lib | --kmem-rev)
		spec=${2:?$1 needs NAME=VALUE}
		[[ $spec == *=* ]] || die "$1: want NAME=VALUE, not '$spec'"
		variant_specs+=("${1#--kmem-} ${spec%%=*} ${spec#*=}")
		shift 2 ;;
	--quick)
		mode=quick
		runs=1
		scale=0.2
		shift ;;
	--smoke)
		mode=smoke
		runs=1
		scale=0.02
		sel_allocs=kmem
		shift ;;
	--cpu)
		report_opts+=(--cpu)
		shift ;;
	--markdown)
		markdown=1
		shift ;;
	--raw)
		raw_out=${2:?--raw needs a file}
		shift 2 ;;
	--no-install)
		install=0
		shift ;;
	-h | --help)
		usage
		exit 0 ;;
	-*)
		usage >&2
		die "unknown option '$1'" ;;
	*)
		build_dir=$1
		auto_build=0
		shift ;;
	esac
done

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n: want a positive number, not '$runs'"
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "-t: want a positive number, not '$threads'"
[[ $scaling_threads =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
	die "-T: want a list of positive numbers, not '$scaling_threads'"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout: want whole seconds"
if ! [[ $scale =~ ^[0-9]*\.?[0-9]+$ ]] ||
	! awk -v s="$scale" 'BEGIN { exit !(s > 0) }'; then
	die "-s: want a positive number, not '$scale'"
fi

# configure_release SRC BUILD - a Release, KMEM_DEBUG_LEVEL=0 tree of SRC.
configure_release() {
	cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release \
		-DKMEM_DEBUG_LEVEL=0 -DKMEM_BUILD_BENCH=ON -DKMEM_BUILD_TESTS=OFF
}

if ((auto_build)); then
	build_dir="$top_dir/build-bench"
	note "building $build_dir (Release, KMEM_DEBUG_LEVEL=0)"
	configure_release "$top_dir" "$build_dir" >"$build_dir.configure.log" 2>&1 ||
		die "configuring failed: see $build_dir.configure.log"
	cmake --build "$build_dir" -j "$(nproc)" >"$build_dir.build.log" 2>&1 ||
		die "building failed: see $build_dir.build.log"
fi
[[ -d $build_dir ]] || die "no build directory '$build_dir' (configure with -DKMEM_BUILD_BENCH=ON and build first)"
build_dir=$(cd "$build_dir" && pwd)
if grep -qs '^KMEM_DEBUG_LEVEL:STRING=[12]' "$build_dir/CMakeCache.txt"; then
	note "warning: $build_dir has KMEM_DEBUG_LEVEL above 0; kmem's figures include its checks"
fi
command -v python3 >/dev/null || die "python3 is needed to print the table"
# a longer run may take longer
timeout_s=$(awk -v t="$timeout_s" -v s="$scale" 'BEGIN { printf "%d", (s > 1) ? t * s + 1 : t }')

malloc_bench="$build_dir/bench/malloc_bench"
slab_bench="$build_dir/bench/slab_bench"
bench_exec="$build_dir/bench/bench_exec"
[[ -x $malloc_bench ]] || die "no $malloc_bench: build the malloc_bench target"
[[ -x $bench_exec ]] || die "no $bench_exec: build the bench_exec target"
"$bench_exec" -r /dev/null -E KMEM_BENCH_CHECK=1 -- true 2>/dev/null ||
	die "$bench_exec has no -E: rebuild the bench_exec target"
if [[ -n $cpus ]]; then
	"$bench_exec" -a "$cpus" -- true 2>/dev/null | grep -q '^status=exit-0 ' ||
		die "--cpus: cannot run on CPUs '$cpus'"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kmem-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- kmem variants ------------------------------------------------------------

declare -A variant_lib=() variant_desc=()
variant_names=()

# build_rev NAME REV - build REV's libkmem-malloc.so (Release, level 0) in a
# throwaway worktree, cached by commit in build-bench-revs/; print its path.
build_rev() {
	local name=$1 rev=$2 sha cache tmp lib
	sha=$(git -C "$top_dir" rev-parse --verify -q "$rev^{commit}") ||
		die "--kmem-rev $name=$rev: no such revision"
	cache="$top_dir/build-bench-revs/$sha"
	if [[ ! -e $cache/libkmem-malloc.so ]]; then
		note "building $rev ($sha) for '$name' in a throwaway worktree"
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmem-rev.XXXXXX")
		git -C "$top_dir" worktree add -q --detach "$tmp/src" "$sha" >&2 ||
			die "git worktree add $sha failed"
		if configure_release "$tmp/src" "$tmp/build" >"$tmp/log" 2>&1 &&
			{ cmake --build "$tmp/build" -j "$(nproc)" --target kmem_malloc_shared >>"$tmp/log" 2>&1 ||
				cmake --build "$tmp/build" -j "$(nproc)" >>"$tmp/log" 2>&1; }; then
			lib=$(find "$tmp/build" -name libkmem-malloc.so -print -quit)
		fi
		if [[ -z ${lib:-} ]]; then
			mkdir -p "$top_dir/build-bench-revs"
			cp "$tmp/log" "$top_dir/build-bench-revs/$sha.log"
			git -C "$top_dir" worktree remove --force "$tmp/src" || true
			rm -rf "$tmp"
			die "building $rev failed: see build-bench-revs/$sha.log"
		fi
		mkdir -p "$cache"
		cp -L "$lib" "$cache/libkmem-malloc.so.tmp"
		mv "$cache/libkmem-malloc.so.tmp" "$cache/libkmem-malloc.so"
		git -C "$top_dir" worktree remove --force "$tmp/src"
		rm -rf "$tmp"
	fi
	echo "$cache/libkmem-malloc.so"
	variant_desc[$name]="$rev = $(git -C "$top_dir" log -1 --format='%h %s' "$sha" | cut -c1-60)"
}

for spec in "${variant_specs[@]}"; do
	read -r how name value <<<"$spec"
	[[ $name =~ ^[A-Za-z][A-Za-z0-9_.+-]*$ ]] || die "bad allocator name '$name'"
	case "$name" in
	glibc | jemalloc | tcmalloc | mimalloc | kmem | kmem-cache)
		die "'$name' is taken: give the variant another name" ;;
	esac
	[[ -z ${variant_lib[$name]:-} ]] || die "two variants named '$name'"
	if [[ $how == lib ]]; then
		[[ -f $value ]] || die "--kmem-lib $name=$value: no such file"
		variant_lib[$name]=$(cd "$(dirname "$value")" && pwd)/$(basename "$value")
		variant_desc[$name]=$value
	else
		variant_lib[$name]=$(build_rev "$name" "$value")
		# the description was set in a subshell: set it again
		sha=$(git -C "$top_dir" rev-parse --verify -q "$value^{commit}")
		variant_desc[$name]="$value = $(git -C "$top_dir" log -1 --format='%h %s' "$sha" | cut -c1-60)"
	fi
	variant_names+=("$name")
done

# ---- allocators -------------------------------------------------------------

# where Debian keeps the allocator libraries ($KMEM_BENCH_LIBDIR overrides)
multiarch_dir=${KMEM_BENCH_LIBDIR:-/usr/lib/$(uname -m)-linux-gnu}

# alloc_lib NAME - the library to preload for NAME; empty for glibc.
alloc_lib() {
	case "$1" in
	glibc) echo "" ;;
	jemalloc) echo "$multiarch_dir/libjemalloc.so.2" ;;
	tcmalloc) echo "$multiarch_dir/libtcmalloc_minimal.so.4" ;;
	mimalloc) echo "$multiarch_dir/libmimalloc.so.2" ;;
	kmem) echo "$build_dir/libkmem-malloc.so" ;;
	*)
		[[ -n ${variant_lib[$1]:-} ]] || return 1
		echo "${variant_lib[$1]}" ;;
	esac
}

# alloc_pkg NAME - the Debian package that ships NAME's library.
alloc_pkg() {
	case "$1" in
	jemalloc) echo libjemalloc2 ;;
	tcmalloc) echo libtcmalloc-minimal4 ;;
	mimalloc) echo libmimalloc2.0 ;;
	*) echo "" ;;
	esac
}

# alloc_version NAME - the installed version, for the report's header.
alloc_version() {
	local pkg
	case "$1" in
	glibc) pkg=libc6 ;;
	kmem) git -C "$top_dir" describe --always --dirty 2>/dev/null || true
		return ;;
	jemalloc | tcmalloc | mimalloc) pkg=$(alloc_pkg "$1") ;;
	*) echo "(${variant_desc[$1]})"
		return ;;
	esac
	dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || true
}

IFS=, read -r -a want_allocs <<<"$sel_allocs"
for a in "${want_allocs[@]}"; do
	alloc_lib "$a" >/dev/null ||
		die "unknown allocator '$a' (glibc, jemalloc, tcmalloc, mimalloc, kmem)"
done
# the variants run as allocators of their own
for a in "${variant_names[@]}"; do
	want_allocs+=("$a")
done

# Install the Debian allocator packages that are wanted and absent.
install_missing() {
	local a pkg lib missing=()
	for a in "${want_allocs[@]}"; do
		pkg=$(alloc_pkg "$a")
		lib=$(alloc_lib "$a")
		[[ -n $pkg && ! -e $lib ]] && missing+=("$pkg")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	if [[ $install -eq 0 ]]; then
		note "not installing ${missing[*]} (--no-install)"
		return 0
	fi
	bash "$top_dir/tools/deps.sh" "${missing[@]}" >&2 ||
		note "could not install ${missing[*]}; skipping them"
}
install_missing

allocs=()
kmem_note=
for a in "${want_allocs[@]}"; do
	lib=$(alloc_lib "$a")
	if [[ -n $lib && ! -e $lib ]]; then
		note "skipping $a: no $lib"
		[[ $a == kmem ]] && kmem_note="malloc not measured (no $lib)"
		continue
	fi
	allocs+=("$a")
done

has_alloc() {
	local a
	for a in "${allocs[@]}"; do
		[[ $a == "$1" ]] && return 0
	done
	return 1
}

# kmem is also wanted for slab_bench's cache-* runs, which need no preload.
kmem_wanted=0
for a in "${want_allocs[@]}"; do
	[[ $a == kmem ]] && kmem_wanted=1
done

# ---- jobs -------------------------------------------------------------------

# One job: a label, its kind, program, arguments, environment, input file,
# and whether its standard output must match the reference run's.
job_label=()
job_kind=()
job_prog=()
job_args=()
job_env=()
job_in=()
job_check=()

IFS=, read -r -a want_workloads <<<"$sel_workloads"
declare -A token_used=()
slab_skipped=0

# group_of LABEL KIND - the -w group a job belongs to, besides its kind's.
group_of() {
	case "$1" in
	private-* | medium-* | larson-* | xmalloc-* | rptest-* | alloctest-*) echo scaling ;;
	large | regrow | mstress | arrays | fill-*) echo huge ;;
	sweep | sweep-small) echo sweep ;;
	*) echo "" ;;
	esac
}

# selected LABEL KIND - is the job wanted by -w?
selected() {
	local label=$1 kind=$2 w family group
	[[ ${#want_workloads[@]} -eq 0 ]] && return 0
	family=${label%-[0-9]*}
	group=$(group_of "$label" "$kind")
	for w in "${want_workloads[@]}"; do
		if [[ $w == "$label" || $w == "$family" ||
			($w == malloc && ($kind == malloc || $kind == sweep)) ||
			($w == slab && ($kind == cache || $kind == slabmalloc)) ||
			($w == programs && $kind == prog) ||
			($w == footprint && $kind == foot) ||
			(-n $group && $w == "$group") ]]; then
			token_used[$w]=1
			return 0
		fi
	done
	return 1
}

# add_job LABEL KIND ENV INPUT CHECK PROGRAM ARGS... - a job, if -w wants it
# and it can run.  ENV is "-" or VAR=VALUE[,VAR=VALUE]; INPUT "-" or a file.
add_job() {
	local label=$1 kind=$2 env=$3 input=$4 check=$5 prog=$6
	shift 6
	selected "$label" "$kind" || return 0
	if [[ ($kind == cache || $kind == slabmalloc) && ! -x $slab_bench ]]; then
		slab_skipped=1
		return 0
	fi
	[[ $kind == cache && $kmem_wanted -eq 0 ]] && return 0
	job_label+=("$label")
	job_kind+=("$kind")
	job_prog+=("$prog")
	job_args+=("$*")
	job_env+=("$env")
	job_in+=("$input")
	job_check+=("$check")
}

# malloc_job LABEL [KIND] ARGS... - a malloc_bench job
malloc_job() {
	local label=$1 kind=malloc
	shift
	[[ $label == sweep* ]] && kind=sweep
	add_job "$label" "$kind" - - 0 "$malloc_bench" "$@"
}

IFS=, read -r -a scaling_list <<<"$scaling_threads"
for size in $pairs_sizes; do
	malloc_job "pairs-$size" pairs "$size"
done
malloc_job batch batch
malloc_job random random
for w in prodcons false-sharing threads; do
	malloc_job "$w-$threads" "$w" "$threads"
done
for w in private medium larson xmalloc rptest alloctest; do
	for n in "${scaling_list[@]}"; do
		malloc_job "$w-$n" "$w" "$n"
	done
done
# a quarter of malloc-large's 2000: the same steady state (every call
# after the 20th replaces a buffer) for a quarter of the time
malloc_job large large 500
# half of its default: every call after the 64th replaces a block
malloc_job regrow regrow 10000
malloc_job mstress mstress
malloc_job arrays arrays
for size in $fill_sizes; do
	malloc_job "fill-$size" fill "$size"
done
malloc_job sweep sweep
malloc_job sweep-small sweep-small

# Real programs: label, Debian package, command.  Their inputs are written
# to $progdir by bench/programs.py; their output is checked.
progdir="$work/programs"
prog_pkgs=()
# prog_job LABEL PACKAGE ENV INPUT PROGRAM ARGS...
prog_job() {
	local label=$1 pkg=$2 env=$3 input=$4 prog=$5
	shift 5
	selected "$label" prog || return 0
	if ! command -v "$prog" >/dev/null; then
		prog_pkgs+=("$pkg")
	fi
	add_job "$label" prog "$env" "$input" 1 "$prog" "$@"
}
prog_job python python3 PYTHONMALLOC=malloc,PYTHONHASHSEED=0,PYTHONDONTWRITEBYTECODE=1 - \
	/usr/bin/python3 -S "$progdir/python.py"
prog_job sqlite sqlite3 - "$progdir/sqlite.sql" sqlite3 -batch
prog_job lua lua5.4 - - lua5.4 "$progdir/lua.lua"
prog_job perl perl - - perl "$progdir/perl.pl"
prog_job gcc gcc LC_ALL=C - gcc -O2 -S -o - "$progdir/gcc.c"
add_job footprint-true foot - - 1 /bin/true
add_job footprint-ls foot LC_ALL=C - 1 /bin/ls -l "$progdir/ls"

add_job cache-pairs cache - - 0 "$slab_bench" cache-pairs
add_job cache-batch cache - - 0 "$slab_bench" cache-batch
add_job "cache-threads-$threads" cache - - 0 "$slab_bench" cache-threads "$threads"
add_job cache-memory cache - - 0 "$slab_bench" cache-memory
add_job malloc-pairs slabmalloc - - 0 "$slab_bench" malloc-pairs
add_job malloc-batch slabmalloc - - 0 "$slab_bench" malloc-batch
add_job "malloc-threads-$threads" slabmalloc - - 0 "$slab_bench" malloc-threads "$threads"

for w in "${want_workloads[@]}"; do
	[[ -n ${token_used[$w]:-} ]] || die "unknown workload '$w' (see --help)"
done
[[ $slab_skipped -eq 0 ]] ||
	note "skipping slab_bench: no $slab_bench (it needs libkmem)"

# The programs' packages, through tools/deps.sh (which installs only what
# is absent); a program still missing afterwards is dropped with a note.
if [[ ${#prog_pkgs[@]} -gt 0 ]]; then
	if [[ $install -eq 1 ]]; then
		bash "$top_dir/tools/deps.sh" "${prog_pkgs[@]}" >&2 ||
			note "could not install ${prog_pkgs[*]}"
	else
		note "not installing ${prog_pkgs[*]} (--no-install)"
	fi
fi

# job_allocs KIND - the allocators a job of KIND runs under.
job_allocs() {
	local a
	case "$1" in
	malloc | sweep | prog | foot)
		for a in "${allocs[@]}"; do
			echo "$a"
		done ;;
	cache) echo kmem-cache ;;
	slabmalloc)
		for a in glibc mimalloc; do
			has_alloc "$a" && echo "$a"
		done ;;
	esac
	return 0
}

# ---- running ----------------------------------------------------------------

# page_cost LABEL - a header line with what writing a page costs here:
# tables of different machines or days differ by this much before any
# allocator is involved (bench/page_cost.c).  Nothing if it cannot run.
page_cost() {
	local pc
	[[ -x $build_dir/bench/page_cost ]] || return 0
	pc=$("$build_dir/bench/page_cost" 2>/dev/null) || return 0
	echo "# $1, us per 4 KiB page written: ${pc#page_cost }"
}

raw="$work/raw"
kmem_family=()
for a in "${allocs[@]}"; do
	[[ $a == kmem || -n ${variant_lib[$a]:-} ]] && kmem_family+=("$a")
done

{
	echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# machine: $(uname -srm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "# command: $command_line"
	echo "# runs: $runs"
	echo "# scale: $scale, threads: $threads, scaling threads: $scaling_threads"
	if [[ -n $cpus ]]; then
		echo "# cpus: $cpus"
	fi
	versions=()
	for a in "${allocs[@]}"; do
		v=$(alloc_version "$a")
		versions+=("$a${v:+ $v}")
	done
	list=$(IFS=,; echo "${versions[*]}")
	echo "# allocators: ${list//,/, }"
	echo "# kmem family: ${kmem_family[*]}"
	if [[ ${#variant_names[@]} -gt 0 ]]; then
		echo "# kmem base: ${variant_names[0]}"
	fi
	if [[ -n $kmem_note ]]; then
		echo "# kmem: $kmem_note"
	fi
	echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	page_cost "page cost"
} >"$raw"

# preload_path NAME - absolute LD_PRELOAD value for NAME, or empty.
preload_path() {
	local lib
	lib=$(alloc_lib "$1" 2>/dev/null) || lib=
	[[ -z $lib ]] && return 0
	echo "$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")"
}

# expected_lib NAME - the malloc_lib= a working run under NAME prints.
expected_lib() {
	local lib
	case "$1" in
	glibc | kmem-cache) echo "libc.so*" ;;
	*) lib=$(alloc_lib "$1"); basename "$lib" ;;
	esac
}

# exec_job INDEX ALLOC - run job INDEX under ALLOC through bench_exec: its
# output in $work/out, errors in $work/err, bench_exec's line in $work/res.
# The environment and the CPUs are set by bench_exec itself (-E, -U, -a),
# not by env or taskset in front of the program: the measured process runs
# nothing else before it, so its faults and peak RSS are the program's own.
exec_job() {
	local i=$1 alloc=$2 lib input=/dev/null e
	local -a args envs exec_opts=() scale_arg=()
	read -r -a args <<<"${job_args[$i]}"
	lib=$(preload_path "$alloc")
	if [[ -n $cpus ]]; then
		exec_opts=(-a "$cpus")
	fi
	if [[ -n $lib ]]; then
		exec_opts+=(-E "LD_PRELOAD=$lib")
	else
		exec_opts+=(-U LD_PRELOAD)
	fi
	if [[ ${job_env[$i]} != - ]]; then
		IFS=, read -r -a envs <<<"${job_env[$i]}"
		for e in "${envs[@]}"; do
			exec_opts+=(-E "$e")
		done
	fi
	[[ ${job_in[$i]} != - ]] && input=${job_in[$i]}
	case "${job_kind[$i]}" in
	malloc | sweep | cache | slabmalloc) scale_arg=(-s "$scale") ;;
	esac
	rm -f "$work/res"
	"$bench_exec" -t "$timeout_s" -r "$work/res" -i "$input" \
		-o "$work/out" -e "$work/err" "${exec_opts[@]}" -- \
		"${job_prog[$i]}" "${scale_arg[@]}" "${args[@]}" 2>>"$work/exec.err" || true
}

# reason_of - why the run in $work/{res,out,err} failed, or nothing.
reason_of() {
	local i=$1 alloc=$2 status line got
	status=$(sed -n 's/^status=\([^ ]*\).*/\1/p' "$work/res" 2>/dev/null || true)
	case "$status" in
	exit-0) ;;
	"") echo no-result; return ;;
	*) echo "$status"; return ;;
	esac
	if grep -q 'cannot be preloaded' "$work/err"; then
		echo preload-ignored
		return
	fi
	case "${job_kind[$i]}" in
	prog | foot)
		if [[ -n ${ref_hash[$i]:-} ]] &&
			[[ $(sha256sum <"$work/out" | cut -c1-16) != "${ref_hash[$i]}" ]]; then
			echo output-differs
		fi ;;
	*)
		line=$(grep -m1 '^workload=' "$work/out" || true)
		if [[ -z $line ]]; then
			echo no-output
			return
		fi
		got=$(sed -n 's/.* malloc_lib=\([^ ]*\).*/\1/p' <<<"$line")
		# shellcheck disable=SC2053 # the expected name is a glob
		[[ $got == $(expected_lib "$alloc") ]] ||
			echo "preload-ignored:malloc-from-$got" ;;
	esac
}

failures=0

# run_one REP INDEX ALLOC - run job INDEX under ALLOC; append the raw line;
# print a short figure (or FAIL) for the progress line.
run_one() {
	local rep=$1 i=$2 alloc=$3 res line reason
	exec_job "$i" "$alloc"
	reason=$(reason_of "$i" "$alloc")
	res=$(sed 's/\([a-z_]*\)=/run_\1=/g' "$work/res" 2>/dev/null || true)
	if [[ -n $reason ]]; then
		echo "kind=${job_kind[$i]} alloc=$alloc job=${job_label[$i]} rep=$rep status=fail reason=$reason $res" >>"$raw"
		note "${job_label[$i]} under $alloc failed ($reason):"
		tail -n 3 "$work/err" | sed 's/^/    /' >&2
		echo FAIL
		return 1
	fi
	line=$(grep -m1 '^workload=' "$work/out" || true)
	echo "kind=${job_kind[$i]} alloc=$alloc job=${job_label[$i]} rep=$rep status=ok $res $line" >>"$raw"
	if [[ $line == *" fixed=1"* || -z $line ]]; then
		sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$work/res" |
			awk '{ printf "%.2fs\n", $1 }'
	else
		sed -n 's/.* ops_per_sec=\([0-9]*\).*/\1/p' <<<"$line" |
			awk '{ v = $1; u = "";
			       if (v >= 1e9) { v /= 1e9; u = "G" }
			       else if (v >= 1e6) { v /= 1e6; u = "M" }
			       else if (v >= 1e3) { v /= 1e3; u = "k" }
			       printf "%.1f%s\n", v, u }'
	fi
}

# The programs' inputs, and a reference run of each under glibc: its output
# is what every allocator must print (and it warms the page cache).
declare -A ref_hash=()
need_inputs=0
for i in "${!job_label[@]}"; do
	[[ ${job_kind[$i]} == prog || ${job_kind[$i]} == foot ]] && need_inputs=1
done
if ((need_inputs)); then
	python3 "$script_dir/programs.py" "$progdir" --scale "$scale" ||
		die "bench/programs.py failed"
	for i in "${!job_label[@]}"; do
		[[ ${job_kind[$i]} == prog || ${job_kind[$i]} == foot ]] || continue
		exec_job "$i" glibc
		reason=$(reason_of "$i" glibc)
		if [[ -n $reason ]]; then
			note "dropping ${job_label[$i]}: its reference run under glibc failed ($reason):"
			tail -n 3 "$work/err" | sed 's/^/    /' >&2
			continue
		fi
		ref_hash[$i]=$(sha256sum <"$work/out" | cut -c1-16)
	done
fi

nruns=0
njobs=0
for i in "${!job_label[@]}"; do
	[[ ${job_kind[$i]} == prog || ${job_kind[$i]} == foot ]] &&
		[[ -z ${ref_hash[$i]:-} ]] && continue
	mapfile -t ja < <(job_allocs "${job_kind[$i]}")
	nruns=$((nruns + ${#ja[@]}))
	[[ ${#ja[@]} -eq 0 ]] || njobs=$((njobs + 1))
done
[[ $nruns -gt 0 ]] || die "nothing to run: no selected workload has an allocator to run under"
note "$njobs workloads, $nruns runs per repetition, $runs repetitions (build: $build_dir)"

t_start=$(date +%s)
for ((rep = 1; rep <= runs; rep++)); do
	for i in "${!job_label[@]}"; do
		[[ ${job_kind[$i]} == prog || ${job_kind[$i]} == foot ]] &&
			[[ -z ${ref_hash[$i]:-} ]] && continue
		mapfile -t ja < <(job_allocs "${job_kind[$i]}")
		n=${#ja[@]}
		[[ $n -gt 0 ]] || continue
		progress=
		# start from a different allocator in each repetition
		for ((k = 0; k < n; k++)); do
			alloc=${ja[$(((k + rep - 1) % n))]}
			result=$(run_one "$rep" "$i" "$alloc") || failures=$((failures + 1))
			progress+=" $alloc $result"
		done
		printf '[%d/%d] %-18s%s\n' "$rep" "$runs" "${job_label[$i]}" "$progress" >&2
	done
done
{
	echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	page_cost "page cost at end"
	echo "# duration: $(($(date +%s) - t_start)) s"
} >>"$raw"

if [[ -n $raw_out ]]; then
	cp "$raw" "$raw_out"
fi
if [[ $markdown -eq 1 ]]; then
	report_opts+=(--markdown)
fi
python3 "$script_dir/report.py" "${report_opts[@]}" "$raw"
if ((failures)); then
	note "$failures runs failed (listed under the tables)"
	exit 1
fi
exit 0
