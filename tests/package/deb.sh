#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/package/deb.sh SOURCE_DIR WORK_DIR - the Debian packages, end to end:
#
#   1. build them with the documented command (tools/package.sh WORK_DIR/b);
#   2. lintian: no errors;
#   3. their Depends: every package named is installed here at a version
#      that satisfies it, and every shared library an ELF file of a package
#      needs comes from that package, another of ours it depends on, or a
#      package its Depends names (so dpkg-shlibdeps missed nothing);
#   4. install them with dpkg into a throwaway root (dpkg --root, which
#      runs their maintainer scripts chrooted there: a static ldconfig and
#      a shell are put in for them), never onto this machine, so that no
#      other test can see them;
#   5. build the README's example against the installed headers with
#      pkg-config, run it on the installed libkmem.so.0; run the installed
#      kmeminfo; find the installed man pages with man -w;
#   6. purge them: dpkg must leave no file of theirs behind.
set -euo pipefail
# A command that fails outside a check still says where.
trap 'echo "FAIL: deb.sh line $LINENO: $BASH_COMMAND (status $?)"' ERR
src=${1:?source dir}
work=${2:?work dir}
mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$work/root
fail() { echo "FAIL: $*"; exit 1; }

# ---- 1. build ------------------------------------------------------------------
# (KMEM_DEB_DIR: use the .deb files there instead, to check the checks.)
if [[ -n ${KMEM_DEB_DIR:-} ]]; then
	mapfile -t debs < <(ls -1 "$KMEM_DEB_DIR"/*.deb)
else
	mapfile -t debs < <(bash "$src/tools/package.sh" "$work/b" | grep '\.deb$')
fi
[[ ${#debs[@]} -eq 3 ]] || fail "expected 3 packages, got: ${debs[*]}"
declare -A deb
for d in "${debs[@]}"; do
	deb[$(dpkg-deb -f "$d" Package)]=$d
done
for p in libkmem0 libkmem-dev kmeminfo; do
	[[ -n ${deb[$p]:-} ]] || fail "no $p package: ${debs[*]}"
done
echo "ok: built ${debs[*]##*/}"

# ---- 2. lintian ------------------------------------------------------------------
lintian --fail-on error \
	"${debs[@]}" > "$work/lintian.log" 2>&1 ||
	{ cat "$work/lintian.log"; fail "lintian reports errors"; }
grep -v 'running with root privileges' "$work/lintian.log" || true
echo "ok: lintian, no errors"

# ---- 3. dependencies --------------------------------------------------------------
ver=$(dpkg-deb -f "${deb[libkmem0]}" Version)
[[ $(dpkg-deb -f "${deb[libkmem-dev]}" Depends) == *"libkmem0 (= $ver)"* ]] ||
	fail "libkmem-dev does not depend on libkmem0 (= $ver)"
[[ $(dpkg-deb -f "${deb[kmeminfo]}" Depends) == *"libkmem0 (= $ver)"* ]] ||
	fail "kmeminfo does not depend on libkmem0 (= $ver) (kmeminfo run preloads it)"
shlibs=$(dpkg-deb --ctrl-tarfile "${deb[libkmem0]}" | tar -xO ./shlibs)
for l in libkmem libkmem-malloc; do
	grep -qx "$l 0 libkmem0 (>= [^)]*)" <<< "$shlibs" ||
		fail "libkmem0's shlibs has no line for $l: $shlibs"
done
triggers=$(dpkg-deb --ctrl-tarfile "${deb[libkmem0]}" | tar -xO ./triggers)
[[ $triggers == "activate-noawait ldconfig" ]] || fail "libkmem0 has no ldconfig trigger: $triggers"

# dep_ok "name (op version)" - installed here, at a satisfying version?
dep_ok() {
	local re='^([^ (]+) *(\(([<>=]+) *([^)]+)\))?$' name op want have
	[[ $1 =~ $re ]] || { echo "  cannot read '$1'"; return 1; }
	name=${BASH_REMATCH[1]} op=${BASH_REMATCH[3]} want=${BASH_REMATCH[4]}
	case $name in libkmem0 | libkmem-dev | kmeminfo) return 0 ;; esac
	have=$(dpkg-query -W -f '${Version}' "$name" 2>/dev/null) ||
		{ echo "  $name is not installed"; return 1; }
	case $op in
	'') return 0 ;;
	'>=') op=ge ;; '<=') op=le ;; '=') op=eq ;; '>>') op=gt ;; '<<') op=lt ;;
	esac
	dpkg --compare-versions "$have" "$op" "$want" ||
		{ echo "  $name $have does not satisfy $op $want"; return 1; }
}
# The package that installed @1, a library path as ldconfig gives it (the
# same file may be known to dpkg under /lib or /usr/lib: merged /usr).
lib_owner() {
	local real cand o
	real=$(readlink -f "$1")
	for cand in "$1" "$real" "${real/#\/usr\/lib/\/lib}" "${real/#\/lib/\/usr\/lib}"; do
		o=$(dpkg -S "$cand" 2> /dev/null | awk -F: 'NR == 1 { print $1 }') || true
		[[ -n $o ]] && { echo "$o"; return; }
	done
}
ldcache=$(ldconfig -p | grep -E 'x86-64|64bit|AArch64' || true)
mkdir -p "$work/x"
for p in libkmem0 libkmem-dev kmeminfo; do
	depends=$(dpkg-deb -f "${deb[$p]}" Depends)
	IFS=',' read -ra list <<< "$depends"
	for d in "${list[@]}"; do
		dep_ok "$(echo "$d" | xargs)" || fail "$p: Depends: $d"
	done
	# Each ELF file's needed libraries, and who provides them here.
	rm -rf "$work/x/$p" && dpkg-deb -x "${deb[$p]}" "$work/x/$p"
	while IFS= read -r f; do
		[[ $(file -b "$f") == ELF* ]] || continue
		for need in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[[ $need == libkmem*.so.0 ]] && continue	# ours
			# (awk reads all of it: no early exit, no SIGPIPE under pipefail)
			path=$(awk -v n="$need" '$1 == n && !p { p = $NF } END { print p }' <<< "$ldcache")
			owner=$(lib_owner "$path")
			[[ -n $owner ]] || fail "$p: no package here provides $need ($path)"
			[[ $owner == libc6 || $depends == *"$owner"* ]] ||
				fail "$p: ${f#"$work/x/$p"} needs $need (package $owner), not in Depends: $depends"
		done
	done < <(find "$work/x/$p" -type f)
done
echo "ok: Depends satisfied here, and cover every library needed"

# ---- 4. install into a throwaway root ---------------------------------------------
rm -rf "$root"
mkdir -p "$root"/var/lib/dpkg/{info,updates,triggers} "$root"/{bin,sbin,etc,tmp,lib64}
touch "$root"/var/lib/dpkg/{status,available}
# What the maintainer scripts run, chrooted: sh and a static ldconfig.
cp /sbin/ldconfig "$root/sbin/"
cp "$(readlink -f /bin/sh)" "$root/bin/sh"
for lib in $(ldd "$(readlink -f /bin/sh)" | grep -o '/[^ ]*'); do
	mkdir -p "$root$(dirname "$lib")"
	cp "$lib" "$root$lib"
done
helpers=$(cd "$root" && find . -type f | sort)
dpkg --root="$root" --force-depends -i "${debs[@]}" > "$work/dpkg-i.log" 2>&1 ||
	{ cat "$work/dpkg-i.log"; fail "dpkg -i into $root"; }
for p in libkmem0 libkmem-dev kmeminfo; do
	[[ $(dpkg --root="$root" -s "$p" | sed -n 's/^Status: //p') == "install ok installed" ]] ||
		fail "$p is not installed in the root"
done
[[ -s $root/etc/ld.so.cache ]] || fail "the maintainer scripts did not run ldconfig"
echo "ok: installed into $root"

# ---- 5. use them ---------------------------------------------------------------------
libdir=$(dirname "$(find "$root/usr/lib" -name kmem.pc)")
libdir=${libdir%/pkgconfig}
awk '/^## Using it/ { on = 1 } on && /^```c$/ { body = 1; next }
     body && /^```$/ { exit } body { print }' "$src/README.md" > "$work/example.c"
grep -q 'main(' "$work/example.c" || fail "no complete C example in README.md"
cflags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags kmem)
libs=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --libs kmem)
inc=$(sed -E 's/^-I([^ ]*).*/\1/' <<< "$cflags")
[[ $(readlink -f "$inc") == "$root/usr/include" ]] ||
	fail "pkg-config --cflags kmem: $cflags: not the installed headers"
# shellcheck disable=SC2086
cc -Wall -Werror -o "$work/example" "$work/example.c" $cflags $libs
[[ $(LD_LIBRARY_PATH=$libdir ldd "$work/example" | grep libkmem) == *"$libdir/libkmem.so.0"* ]] ||
	fail "the example does not load the installed libkmem.so.0"
out=$(LD_LIBRARY_PATH=$libdir "$work/example") || fail "the example failed"
echo "ok: README example: $out"

rc=0
out=$("$root/usr/bin/kmeminfo" run -- /bin/sh -c 'exit 3' 2>&1) || rc=$?
[[ $rc -eq 3 && $out == *"slabinfo - version: 2.1"* ]] ||
	fail "installed kmeminfo run: status $rc: $out"
echo "ok: kmeminfo run with the installed libkmem-malloc.so.0"
for page in kmeminfo kmem-malloc kmem_cache_create kmem_cache_alloc kmalloc kfree alloc_pages; do
	MANPATH=$root/usr/share/man man -w "$page" > /dev/null ||
		fail "man $page: not installed"
done
echo "ok: man pages found"

# ---- 6. purge ------------------------------------------------------------------------
dpkg --root="$root" --purge kmeminfo libkmem-dev libkmem0 > "$work/dpkg-r.log" 2>&1 ||
	{ cat "$work/dpkg-r.log"; fail "dpkg --purge"; }
left=$(cd "$root" && find . \( -type f -o -type l \) -not -path './var/lib/dpkg/*' \
	-not -path ./etc/ld.so.cache | sort | comm -23 - <(echo "$helpers"))
[[ -z $left ]] || fail "left behind after purge: $left"
[[ -z $(dpkg --root="$root" -l 2>/dev/null | grep '^[a-z][a-z] *\(libkmem\|kmeminfo\)') ]] ||
	fail "dpkg still lists the packages"
echo "ok: purged, nothing left"
rm -rf "$root" "$work/x"
