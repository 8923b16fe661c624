#!/bin/bash
# tools/test.sh - build kmem twice and run every test suite.
#
#   1. an optimised build (-Werror, debug level 1: VM_BUG_ON and lock
#      assertions on): the Check suites, the real programs under
#      LD_PRELOAD=libkmem-malloc.so, kmeminfo's suites and the kernel's
#      radix-tree/IDR/XArray suites on kmem;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: the Check
#      suites again.
#
# Installs its build dependencies first (tools/deps.sh).  Build trees go to
# build/ and build-asan/ (override with KMEM_BUILD_DIR).  Exit status 0
# only if every suite passes.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

# linux-source-6.1 for the kernel's own test suites (tests/kernel)
bash tools/deps.sh linux-source-6.1 xz-utils binutils

run() {
	local dir=$1; shift
	echo "==> configure $dir ($*)"
	cmake -S "$top" -B "$dir" -DKMEM_WERROR=ON "$@" > "$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; return 1; }
	echo "==> build $dir"
	cmake --build "$dir" -j "$jobs" > "$dir.build.log" 2>&1 ||
		{ tail -50 "$dir.build.log"; return 1; }
	echo "==> test $dir"
	local rc=0
	(cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900) || rc=$?
	# Check's own summary line of every suite that ran.
	awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 }
	     /^[0-9]+%: Checks: / { printf "    %-22s %s\n", name, $0 }' \
		"$dir/Testing/Temporary/LastTest.log" 2>/dev/null || true
	return $rc
}

base=${KMEM_BUILD_DIR:-build}
mkdir -p "$(dirname "$base")"
run "$base" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKMEM_DEBUG_LEVEL=1
run "$base-asan" -DCMAKE_BUILD_TYPE=Debug -DKMEM_SANITIZE=address \
	-DKMEM_DEBUG_LEVEL=1 -DKMEM_BUILD_BENCH=OFF
echo "==> all tests passed (optimised and ASan/UBSan builds)"
