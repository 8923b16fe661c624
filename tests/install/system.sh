#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/install/system.sh BUILD_DIR SOURCE_DIR - `cmake --install` into a
# system prefix, as root: a program linked with -lkmem and no rpath must
# start at once (the install ran ldconfig), and the uninstall target must
# remove every file the install put there and make the linker forget
# libkmem again.
#
# Done in a private mount namespace: /usr/local is a fresh tmpfs and /etc
# an overlay that keeps ldconfig's new cache private, so neither this
# machine nor any other test sees the install.  Needs root and unshare(1): else exit 77 (skip).
set -euo pipefail
build=${1:?build dir}
src=${2:?source dir}

if [[ ${KMEM_IN_NAMESPACE:-} != 1 ]]; then
	if [[ $(id -u) -ne 0 ]] || ! command -v unshare > /dev/null; then
		echo "skip: needs root and unshare"
		exit 77
	fi
	if ! unshare -m true 2> /dev/null; then
		echo "skip: cannot make a mount namespace here"
		exit 77
	fi
	exec env KMEM_IN_NAMESPACE=1 unshare -m --propagation private "$0" "$@"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mount -t tmpfs tmpfs /usr/local
# /etc as an overlay: ldconfig writes its new cache there, privately.
mkdir "$tmp/up" "$tmp/work"
if ! mount -t overlay overlay -o "lowerdir=/etc,upperdir=$tmp/up,workdir=$tmp/work" /etc; then
	echo "skip: no overlay mount for a private /etc"
	exit 77
fi

cmake --install "$build" --prefix /usr/local > "$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; exit 1; }
grep -q 'kmem: ldconfig' "$tmp/install.log" ||
	{ cat "$tmp/install.log"; echo "FAIL: the install did not run ldconfig"; exit 1; }
lib=$(find /usr/local -name 'libkmem.so.0' | head -1)
[[ -n $lib ]] || { echo "FAIL: no libkmem.so.0 installed"; exit 1; }
libdir=$(dirname "$lib")
# Built as a user would, with the installed files only, and no rpath.
cc -o "$tmp/consumer" "$src/consumer.c" -I/usr/local/include -L"$libdir" -lkmem
out=$(env -u LD_LIBRARY_PATH "$tmp/consumer") ||
	{ echo "FAIL: the program does not start after the install"; exit 1; }
[[ $out == *"consumer ok"* ]] || { echo "FAIL: printed $out"; exit 1; }
echo "ok: a program linked with -lkmem starts after cmake --install"

cmake --build "$build" --target uninstall > "$tmp/uninstall.log" 2>&1 ||
	{ cat "$tmp/uninstall.log"; exit 1; }
left=$(find /usr/local \( -type f -o -type l \))
[[ -z $left ]] || { echo "FAIL: left after uninstall: $left"; exit 1; }
if env -u LD_LIBRARY_PATH "$tmp/consumer" > /dev/null 2>&1; then
	echo "FAIL: the linker still finds libkmem after the uninstall"
	exit 1
fi
echo "ok: uninstall removed every file, and the linker forgot libkmem"
