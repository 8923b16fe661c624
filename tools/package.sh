#!/bin/bash
# tools/package.sh [BUILD_DIR] - build kmem's Debian packages.
#
# Configures BUILD_DIR (default build-deb/) for /usr, builds it and runs
# `cpack -G DEB` there: BUILD_DIR/packages/ then holds
#
#   libkmem0_VERSION_ARCH.deb     libkmem.so.0, libkmem-malloc.so.0
#   libkmem-dev_VERSION_ARCH.deb  headers, static libraries, .pc files,
#                                 the CMake package, section 3 man pages
#   kmeminfo_VERSION_ARCH.deb     the tool and kmeminfo(1)
#
# (cmake/KmemPackaging.cmake describes them).  Installs the build
# dependencies first (tools/deps.sh).  Prints the packages' paths.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-deb}
jobs=$(nproc 2>/dev/null || echo 2)

bash tools/deps.sh
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr -DKMEM_BUILD_TESTS=OFF \
	-DKMEM_BUILD_BENCH=OFF > "$dir.configure.log" 2>&1 ||
	{ cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j "$jobs" > "$dir.build.log" 2>&1 ||
	{ tail -50 "$dir.build.log"; exit 1; }
rm -rf "$dir/packages"
(cd "$dir" && cpack -G DEB) > "$dir.cpack.log" 2>&1 ||
	{ cat "$dir.cpack.log"; exit 1; }
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
ls -1 "$dir"/packages/*.deb
