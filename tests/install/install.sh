#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/install/install.sh BUILD_DIR SOURCE_DIR - install the build into a
# scratch prefix and build programs against it as a user would: with
# pkg-config (kmem, kmem-malloc) and with find_package(kmem) (shared,
# static, malloc).  Each must build, run and print "consumer ok"; the
# installed kmeminfo must run.
set -euo pipefail

build=${1:?build dir}
src=${2:?source dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" ||
	{ cat "$tmp/install.log"; exit 1; }
libdir=$(find "$tmp/prefix" -name kmem.pc -printf '%h\n' | head -1)
[[ -n $libdir ]] || { echo "no kmem.pc installed"; exit 1; }
libdir=${libdir%/pkgconfig}
export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir

run() {
	local out
	out=$("$@")
	[[ $out == *"consumer ok"* ]] || { echo "$1 printed: $out"; exit 1; }
	echo "ok: $(basename "$1")"
}

cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -o "$tmp/by_pc" "$src/consumer.c" $(pkg-config --cflags --libs kmem)
run "$tmp/by_pc"
# shellcheck disable=SC2046
$cc -DWANT_KMEM_MALLOC -o "$tmp/by_pc_malloc" "$src/consumer.c" \
	$(pkg-config --cflags --libs kmem-malloc)
run "$tmp/by_pc_malloc"

mkdir "$tmp/proj"
cp "$src/consumer.c" "$tmp/proj/"
cp "$src/CMakeLists.txt.in" "$tmp/proj/CMakeLists.txt"
cmake -S "$tmp/proj" -B "$tmp/proj/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
	> "$tmp/proj.log" 2>&1 || { cat "$tmp/proj.log"; exit 1; }
cmake --build "$tmp/proj/b" >> "$tmp/proj.log" 2>&1 ||
	{ cat "$tmp/proj.log"; exit 1; }
for p in by_cmake by_cmake_static by_cmake_malloc; do
	run "$tmp/proj/b/$p"
done

if [[ -x $tmp/prefix/bin/kmeminfo ]]; then
	"$tmp/prefix/bin/kmeminfo" --help > /dev/null
	echo "ok: kmeminfo"
fi
