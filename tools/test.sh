#!/bin/bash
# tools/test.sh - build kmem four ways and run every test suite.
#
#   tools/test.sh [--allow-skip] [--keep-going-builds] [STAGE...]
#   tools/test.sh --list
#
# Stages (all by default, in this order; see Documentation/testing.md):
#
#   release  the build users get: the project's default configuration
#            (KMEM_DEBUG_LEVEL=0, the default build type), exactly what
#            `cmake --install` installs.  Check suites, the real programs
#            under LD_PRELOAD=libkmem-malloc.so, kmeminfo, an install.
#   kernel   the kernel's radix-tree/IDR/XArray/maple/VMA suites (Linux
#            6.1 and 6.12, tests/kernel), on the release build's libkmem.a
#            (once: they take minutes).
#   asan     AddressSanitizer + UndefinedBehaviorSanitizer, debug level 1
#            (VM_BUG_ON, lock assertions): Check suites, kmeminfo, KFENCE.
#   debug2   debug level 2: the validators run inside the allocator after
#            every zone operation and slab state change.  Check suites,
#            kmeminfo, KFENCE, the real programs under LD_PRELOAD (not
#            Python, not preload_idle_release: this level is slow on
#            purpose).
#   tsan     ThreadSanitizer, debug level 1: the threaded tests (stress,
#            magazines, cross-thread frees, thread exit, kmeminfo's live
#            reads, KFENCE's racing guarded objects).
#
# Every stage runs even when an earlier one failed; the end prints one
# line per stage (built or not, tests run, passed, failed, skipped and
# why) and the exit status is 1 if any stage failed.  A test that skips
# (it could not run here) fails its stage, with its reason, unless
# --allow-skip is given: nothing is skipped silently.
#
# Installs its build dependencies first (tools/deps.sh).  Build trees go
# to build-test/, build-test-asan/, build-test-debug2/ and build-test-tsan/
# (the base name can be changed with KMEM_BUILD_DIR), never to build/,
# which is the user's own (Documentation/user-guide.md): a tree configured
# here (-Werror, tests) is not what a user should install.  Each stage's
# logs sit beside its tree (build-test.configure.log, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
all_stages="release kernel asan debug2 tsan"

allow_skip=0
stages=()
while [ $# -gt 0 ]; do
	case $1 in
	--allow-skip) allow_skip=1 ;;
	--list) echo "$all_stages"; exit 0 ;;
	-h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	-*) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*)
		case " $all_stages " in
		*" $1 "*) stages+=("$1") ;;
		*) echo "test.sh: unknown stage $1 (stages: $all_stages)" >&2; exit 2 ;;
		esac ;;
	esac
	shift
done
[ ${#stages[@]} -gt 0 ] || read -r -a stages <<< "$all_stages"

bash tools/deps.sh || { echo "test.sh: tools/deps.sh failed" >&2; exit 1; }

base=${KMEM_BUILD_DIR:-build-test}
mkdir -p "$(dirname "$base")"

# ThreadSanitizer: fail on the first report (a Check test then errors with
# TSan's exit status 66), and suppress only what tests/tsan.supp lists:
# frames of uninstrumented third-party code, never kmem's.
tsan_env="TSAN_OPTIONS=halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$top/tests/tsan.supp"
asan_env="UBSAN_OPTIONS=print_stacktrace=1 halt_on_error=1"

# Check's per-test timeouts catch hangs; on a loaded 2-core machine a
# test takes several times as long as on an idle one.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-3}

declare -A summary

# configure DIR CMAKE_ARGS... - configure and build; 0 if built.  Sets
# built_in to the seconds it took.
built_in=0
configure_and_build() {
	local dir=$1 t0=$(date +%s); shift
	echo "==> configure $dir ($*)"
	cmake -S "$top" -B "$dir" -DKMEM_WERROR=ON "$@" > "$dir.configure.log" 2>&1 ||
		{ tail -30 "$dir.configure.log"; return 1; }
	echo "==> build $dir"
	cmake --build "$dir" -j "$jobs" > "$dir.build.log" 2>&1 ||
		{ grep -E 'error|Error' "$dir.build.log" | head -30; tail -10 "$dir.build.log"; return 1; }
	built_in=$(( $(date +%s) - t0 ))
}

# ctest_stage NAME DIR ENV CTEST_ARGS... - run the tests, record a summary.
ctest_stage() {
	local name=$1 dir=$2 env=$3 rc=0 line
	shift 3
	echo "==> test $dir ($name${*:+: $*})"
	rm -f "$dir/junit-$name.xml"
	(cd "$dir" && env $env ctest --output-on-failure -j "$jobs" --timeout 900 \
		--output-junit "junit-$name.xml" "$@") 2>&1 | tee "$dir.test.log"
	rc=${PIPESTATUS[0]}
	# Check's own summary line of every suite that ran.
	awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 }
	     /^[0-9]+%: Checks: / { printf "    %-22s %s\n", name, $0 }' \
		"$dir/Testing/Temporary/LastTest.log" 2>/dev/null || true
	line=$(python3 "$top/tools/junit-summary.py" "$dir/junit-$name.xml" \
		"$allow_skip" 2>&1)
	case $? in
	0) summary[$name]="PASS  built (${built_in} s); $line" ;;
	*) summary[$name]="FAIL  built (${built_in} s); $line"; rc=1 ;;
	esac
	[ "$rc" = 0 ] || case ${summary[$name]} in PASS*)
		summary[$name]="FAIL  built (${built_in} s); ctest exit status $rc; $line" ;; esac
	return $rc
}

stage_release() {
	# -U: the project's defaults, whatever an older tree's cache says.
	configure_and_build "$base" -UKMEM_DEBUG_LEVEL -UCMAKE_BUILD_TYPE \
		-DKMEM_SANITIZE=none ||
		{ summary[release]="FAIL  not built (see $base.build.log)"; return 1; }
	ctest_stage release "$base" "" -LE kernel
}

stage_kernel() {
	# The release tree's libkmem.a; built here if the release stage was
	# not run (or failed before building).
	configure_and_build "$base" -UKMEM_DEBUG_LEVEL -UCMAKE_BUILD_TYPE \
		-DKMEM_SANITIZE=none ||
		{ summary[kernel]="FAIL  not built (see $base.build.log)"; return 1; }
	ctest_stage kernel "$base" "" -L kernel
}

stage_asan() {
	configure_and_build "$base-asan" -DCMAKE_BUILD_TYPE=Debug \
		-DKMEM_SANITIZE=address -DKMEM_DEBUG_LEVEL=1 -DKMEM_BUILD_BENCH=OFF ||
		{ summary[asan]="FAIL  not built (see $base-asan.build.log)"; return 1; }
	ctest_stage asan "$base-asan" "$asan_env"
}

stage_debug2() {
	configure_and_build "$base-debug2" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DKMEM_SANITIZE=none -DKMEM_DEBUG_LEVEL=2 -DKMEM_BUILD_BENCH=OFF ||
		{ summary[debug2]="FAIL  not built (see $base-debug2.build.log)"; return 1; }
	# Not preload_python: minutes at this level, and the other real
	# programs already run the validators under LD_PRELOAD.  (Nor is
	# preload_idle_release registered here: its 20 runs take 1.3-2 s
	# more each at this level, slow on purpose.)
	ctest_stage debug2 "$base-debug2" "" -L "check|preload|kmeminfo|kfence" \
		-E preload_python
}

stage_tsan() {
	configure_and_build "$base-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DKMEM_SANITIZE=thread -DKMEM_DEBUG_LEVEL=1 -DKMEM_BUILD_BENCH=OFF ||
		{ summary[tsan]="FAIL  not built (see $base-tsan.build.log)"; return 1; }
	ctest_stage tsan "$base-tsan" "$tsan_env"
}

failed=0
t_all=$(date +%s)
declare -A took
for s in "${stages[@]}"; do
	t0=$(date +%s)
	"stage_$s" || failed=1
	took[$s]=$(( $(date +%s) - t0 ))
done

echo
echo "==> summary ($(( $(date +%s) - t_all )) s)"
for s in $all_stages; do
	if [ -n "${summary[$s]:-}" ]; then
		printf '  %-8s %s  [%d s]\n' "$s" "${summary[$s]}" "${took[$s]}"
	else
		printf '  %-8s SKIP  not selected (stages given: %s)\n' "$s" "${stages[*]}"
	fi
done
if [ $failed = 0 ]; then
	echo "==> all selected stages passed"
else
	echo "==> FAILED: see the stages marked FAIL above"
fi
exit $failed
