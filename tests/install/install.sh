#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/install/install.sh BUILD_DIR SOURCE_DIR - install the build into a
# scratch prefix and build programs against it as a user would: with
# pkg-config (kmem, kmem-malloc, kmem-compat) and with find_package(kmem)
# (shared, static, malloc, compat).  Each must build, run and print
# "consumer ok"; the installed kmeminfo must run and the man pages be
# found; the install must say what to do for a prefix the dynamic linker
# does not search; the uninstall target must leave no file behind.
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
# Kernel-style code on the compat headers (<linux/slab.h> is kmem's).
# shellcheck disable=SC2046
$cc -o "$tmp/by_pc_compat" "$src/kernel_consumer.c" \
	$(pkg-config --cflags --libs kmem-compat)
run "$tmp/by_pc_compat"

mkdir "$tmp/proj"
cp "$src/consumer.c" "$src/kernel_consumer.c" "$tmp/proj/"
cp "$src/CMakeLists.txt.in" "$tmp/proj/CMakeLists.txt"
cmake -S "$tmp/proj" -B "$tmp/proj/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
	> "$tmp/proj.log" 2>&1 || { cat "$tmp/proj.log"; exit 1; }
cmake --build "$tmp/proj/b" >> "$tmp/proj.log" 2>&1 ||
	{ cat "$tmp/proj.log"; exit 1; }
for p in by_cmake by_cmake_static by_cmake_malloc by_cmake_compat; do
	run "$tmp/proj/b/$p"
done

if [[ -x $tmp/prefix/bin/kmeminfo ]]; then
	"$tmp/prefix/bin/kmeminfo" --help > /dev/null
	echo "ok: kmeminfo"
fi

# The man pages, where man finds them.
if [[ -d $tmp/prefix/share/man/man3 ]]; then
	for page in kmeminfo kmem-malloc kmem_cache_create kmem_cache_free kmalloc \
		kfree alloc_pages; do
		MANPATH=$tmp/prefix/share/man man -w "$page" > /dev/null ||
			{ echo "man $page: not installed"; exit 1; }
	done
	echo "ok: man pages"
fi

# A prefix the dynamic linker does not search: the install said what to do.
grep -q "is not searched by the dynamic linker.*LD_LIBRARY_PATH=$libdir" \
	"$tmp/install.log" || { cat "$tmp/install.log"; echo "no word about $libdir"; exit 1; }

# The uninstall target removes every file the install put there.
cmake --build "$build" --target uninstall > "$tmp/uninstall.log" 2>&1 ||
	{ cat "$tmp/uninstall.log"; exit 1; }
left=$(find "$tmp/prefix" \( -type f -o -type l \))
[[ -z $left ]] || { echo "left after uninstall: $left"; exit 1; }
echo "ok: uninstall"
