#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh - run kmem's benchmarks under every allocator and print the
# table of medians.  See bench/README.md.
#
# It takes a build directory holding bench/malloc_bench, bench/slab_bench
# and libkmem-malloc.so.  Without -b it uses build-bench/ at the top of the
# repository, configuring and building it first (Release, KMEM_DEBUG_LEVEL
# 0: what a user links) so the figures are those of an optimised build.  malloc_bench runs under each allocator - glibc (no
# preload), jemalloc, tcmalloc, mimalloc (the Debian libraries, installed
# with apt-get when absent and we are root) and kmem (LD_PRELOAD of
# libkmem-malloc.so).  slab_bench runs its cache-* workloads once (kmem's
# cache API, linked in) and its malloc-* workloads under glibc and mimalloc.
#
# Runs are interleaved: each repetition runs every workload under every
# allocator in turn, starting from a different allocator each time, so
# that noise from the (shared) machine falls on all of them alike.  Medians
# over the repetitions go to the table.  An allocator whose library is
# missing is skipped with a note; a run that crashes, times out, or whose
# LD_PRELOAD the loader ignored (malloc_lib= in its output names the wrong
# library) is reported as a failure and the rest carries on.
#
# The raw results (one line per run) are parsed by bench/report.py.

set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_dir=$(cd "$script_dir/.." && pwd)

build_dir=
auto_build=1
runs=5
threads=2
scale=1
timeout_s=60
markdown=0
install=1
raw_out=
sel_workloads=
sel_allocs=glibc,jemalloc,tcmalloc,mimalloc,kmem
pairs_sizes="16 64 256 1024 4096 16384 65536 1048576"

usage() {
	cat <<EOF
usage: bench/run.sh [options] [BUILD_DIR]

Run malloc_bench under glibc, jemalloc, tcmalloc, mimalloc and kmem, and
slab_bench's cache API against malloc; print median throughput and peak RSS.

options:
  -b, --build DIR      an existing build directory (default: build and use
                       $top_dir/build-bench, Release, KMEM_DEBUG_LEVEL=0)
  -n RUNS              repetitions of every run (default: $runs)
  -w WORKLOAD[,..]     workloads to run (default: all); a name as printed
                       (pairs-64, larson-2, cache-pairs), a family (pairs,
                       larson, cache-threads), or a group: malloc, slab
  -a ALLOC[,..]        allocators (default: $sel_allocs)
  -t THREADS           threads of the threaded workloads (default: $threads)
  -s FACTOR            scale every run's duration (default: $scale)
  --timeout SECONDS    kill a run after this long, times -s when that is
                       above 1 (default: $timeout_s)
  --markdown           print the tables as Markdown
  --raw FILE           also keep the raw results in FILE
                       (re-render with: bench/report.py [--markdown] FILE)
  --no-install         do not apt-get install missing allocator packages
  -h, --help           this text

workloads: pairs-{${pairs_sizes// /,}} batch random larson-T
  prodcons-T false-sharing-T threads-T (malloc_bench, every allocator);
  cache-pairs cache-batch cache-threads-T cache-memory (slab_bench, kmem);
  malloc-pairs malloc-batch malloc-threads-T (slab_bench, glibc+mimalloc)
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
	-s)
		scale=${2:?-s needs a factor}
		shift 2 ;;
	--timeout)
		timeout_s=${2:?--timeout needs seconds}
		shift 2 ;;
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
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout: want whole seconds"
if ! [[ $scale =~ ^[0-9]*\.?[0-9]+$ ]] ||
	! awk -v s="$scale" 'BEGIN { exit !(s > 0) }'; then
	die "-s: want a positive number, not '$scale'"
fi
if ((auto_build)); then
	build_dir="$top_dir/build-bench"
	note "building $build_dir (Release, KMEM_DEBUG_LEVEL=0)"
	cmake -S "$top_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
		-DKMEM_DEBUG_LEVEL=0 -DKMEM_BUILD_BENCH=ON -DKMEM_BUILD_TESTS=OFF \
		> "$build_dir.configure.log" 2>&1 ||
		die "configuring failed: see $build_dir.configure.log"
	cmake --build "$build_dir" -j "$(nproc)" > "$build_dir.build.log" 2>&1 ||
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
[[ -x $malloc_bench ]] || die "no $malloc_bench: build the malloc_bench target"

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
	*) return 1 ;;
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
	*) pkg=$(alloc_pkg "$1") ;;
	esac
	dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || true
}

IFS=, read -r -a want_allocs <<<"$sel_allocs"
for a in "${want_allocs[@]}"; do
	alloc_lib "$a" >/dev/null || die "unknown allocator '$a' (glibc, jemalloc, tcmalloc, mimalloc, kmem)"
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
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
		note "missing ${missing[*]}: install them as root (apt-get install ${missing[*]})"
		return 0
	fi
	note "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y "${missing[@]}" >&2; then
		apt-get update >&2 || true
		apt-get install -y "${missing[@]}" >&2 ||
			note "could not install ${missing[*]}; skipping them"
	fi
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

# One job: a label (as the program prints it), its kind, program and args.
job_label=()
job_kind=()
job_prog=()
job_args=()

IFS=, read -r -a want_workloads <<<"$sel_workloads"
declare -A token_used=()
slab_skipped=0

# selected LABEL KIND - is the job wanted by -w?
selected() {
	local label=$1 kind=$2 w family
	[[ ${#want_workloads[@]} -eq 0 ]] && return 0
	family=${label%-[0-9]*}
	for w in "${want_workloads[@]}"; do
		if [[ $w == "$label" || $w == "$family" ||
			($w == malloc && $kind == malloc) ||
			($w == slab && $kind != malloc) ]]; then
			token_used[$w]=1
			return 0
		fi
	done
	return 1
}

# add_job LABEL KIND PROGRAM ARGS... - a job, if -w wants it and it can run
add_job() {
	local label=$1 kind=$2 prog=$3
	shift 3
	selected "$label" "$kind" || return 0
	if [[ $kind != malloc && ! -x $slab_bench ]]; then
		slab_skipped=1
		return 0
	fi
	[[ $kind == cache && $kmem_wanted -eq 0 ]] && return 0
	job_label+=("$label")
	job_kind+=("$kind")
	job_prog+=("$prog")
	job_args+=("$*")
}

for size in $pairs_sizes; do
	add_job "pairs-$size" malloc "$malloc_bench" pairs "$size"
done
add_job batch malloc "$malloc_bench" batch
add_job random malloc "$malloc_bench" random
for w in larson prodcons false-sharing threads; do
	add_job "$w-$threads" malloc "$malloc_bench" "$w" "$threads"
done
add_job cache-pairs cache "$slab_bench" cache-pairs
add_job cache-batch cache "$slab_bench" cache-batch
add_job "cache-threads-$threads" cache "$slab_bench" cache-threads "$threads"
add_job cache-memory cache "$slab_bench" cache-memory
add_job malloc-pairs slabmalloc "$slab_bench" malloc-pairs
add_job malloc-batch slabmalloc "$slab_bench" malloc-batch
add_job "malloc-threads-$threads" slabmalloc "$slab_bench" malloc-threads "$threads"

for w in "${want_workloads[@]}"; do
	[[ -n ${token_used[$w]:-} ]] || die "unknown workload '$w' (see --help)"
done
[[ $slab_skipped -eq 0 ]] ||
	note "skipping slab_bench: no $slab_bench (it needs libkmem)"

# job_allocs KIND - the allocators a job of KIND runs under.
job_allocs() {
	local a
	case "$1" in
	malloc)
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

work=$(mktemp -d "${TMPDIR:-/tmp}/kmem-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
raw="$work/raw"

{
	echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# machine: $(uname -srm), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "# runs: $runs"
	echo "# scale: $scale, threads: $threads"
	versions=()
	for a in "${allocs[@]}"; do
		v=$(alloc_version "$a")
		versions+=("$a${v:+ $v}")
	done
	list=$(IFS=,; echo "${versions[*]}")
	echo "# allocators: ${list//,/, }"
	if [[ -n $kmem_note ]]; then
		echo "# kmem: $kmem_note"
	fi
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

# run_one REP INDEX ALLOC - run job INDEX under ALLOC; append the raw line;
# print the throughput (or FAIL) for the progress line.
run_one() {
	local rep=$1 i=$2 alloc=$3 lib rc line got reason
	local -a args env_cmd
	read -r -a args <<<"${job_args[$i]}"
	lib=$(preload_path "$alloc")
	if [[ -n $lib ]]; then
		env_cmd=(env "LD_PRELOAD=$lib")
	else
		env_cmd=(env -u LD_PRELOAD)
	fi
	rc=0
	timeout -k 5 "$timeout_s" "${env_cmd[@]}" "${job_prog[$i]}" -s "$scale" \
		"${args[@]}" >"$work/out" 2>"$work/err" || rc=$?
	line=$(grep -m1 '^workload=' "$work/out" || true)
	reason=
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		reason=timeout
	elif [[ $rc -ne 0 ]]; then
		reason="exit-$rc"
		[[ $rc -gt 128 ]] && reason="signal-$((rc - 128))"
	elif [[ -z $line ]]; then
		reason=no-output
	else
		got=$(sed -n 's/.* malloc_lib=\([^ ]*\).*/\1/p' <<<"$line")
		# shellcheck disable=SC2053 # the expected name is a glob
		[[ $got == $(expected_lib "$alloc") ]] ||
			reason="preload-ignored:malloc-from-$got"
	fi
	if [[ -n $reason ]]; then
		echo "kind=${job_kind[$i]} alloc=$alloc job=${job_label[$i]} rep=$rep status=fail reason=$reason" >>"$raw"
		note "${job_label[$i]} under $alloc failed ($reason):"
		tail -n 3 "$work/err" | sed 's/^/    /' >&2
		echo FAIL
		return 0
	fi
	echo "kind=${job_kind[$i]} alloc=$alloc job=${job_label[$i]} rep=$rep status=ok $line" >>"$raw"
	sed -n 's/.* ops_per_sec=\([0-9]*\).*/\1/p' <<<"$line" |
		awk '{ v = $1; u = "";
		       if (v >= 1e9) { v /= 1e9; u = "G" }
		       else if (v >= 1e6) { v /= 1e6; u = "M" }
		       else if (v >= 1e3) { v /= 1e3; u = "k" }
		       printf "%.1f%s\n", v, u }'
}

nruns=0
njobs=0
for i in "${!job_label[@]}"; do
	mapfile -t ja < <(job_allocs "${job_kind[$i]}")
	nruns=$((nruns + ${#ja[@]}))
	[[ ${#ja[@]} -eq 0 ]] || njobs=$((njobs + 1))
done
[[ $nruns -gt 0 ]] || die "nothing to run: no selected workload has an allocator to run under"
note "$njobs workloads, $nruns runs per repetition, $runs repetitions (build: $build_dir)"

for ((rep = 1; rep <= runs; rep++)); do
	for i in "${!job_label[@]}"; do
		mapfile -t ja < <(job_allocs "${job_kind[$i]}")
		n=${#ja[@]}
		[[ $n -gt 0 ]] || continue
		progress=
		# start from a different allocator in each repetition
		for ((k = 0; k < n; k++)); do
			alloc=${ja[$(((k + rep - 1) % n))]}
			result=$(run_one "$rep" "$i" "$alloc")
			progress+=" $alloc $result"
		done
		printf '[%d/%d] %-18s%s\n' "$rep" "$runs" "${job_label[$i]}" "$progress" >&2
	done
done

if [[ -n $raw_out ]]; then
	cp "$raw" "$raw_out"
fi
report_args=()
if [[ $markdown -eq 1 ]]; then
	report_args+=(--markdown)
fi
python3 "$script_dir/report.py" "${report_args[@]}" "$raw"
