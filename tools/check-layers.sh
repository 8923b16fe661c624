#!/bin/bash
# tools/check-layers.sh - no call runs up: the layering of kmem, checked
# on the object files.
#
#   tools/check-layers.sh BUILD_DIR
#   tools/check-layers.sh --self-test
#
# The folders are the layers (Documentation/architecture.md), lowest
# first:
#
#   core < buddy < kfence < slab < kmalloc < tools
#
# Every symbol an object file uses (nm -u) must be defined in an object
# of the same or a lower layer, or outside kmem (libc, liburcu, the
# linker).  There is no list of exceptions: where a lower layer must reach
# up (start-up, fork, reclaim, the reaper's work, thread exit), the
# higher layer registers a hook (struct kmem_layer in core/core.h, the
# reclaim and reaper hooks of buddy/), which is a pointer, not a symbol.
# An object in a folder with no layer fails the check too, so that a new
# folder gets its place in the order before it gets code.
#
# The objects are those CMake compiled for libkmem (target kmem_objs: the
# library and the malloc front-end) and for the kmalloc front-end with the
# standard names (kmem_malloc_names), and kmeminfo's (tools/kmeminfo).
# --self-test builds a two-file library whose core/ calls into slab/ and
# checks that the violation is reported, so the check cannot pass by
# reading nothing.  Run by CTest (test "layers", in every build that runs
# the check suites; tools/test.sh's release stage among them).
set -euo pipefail

layers="core buddy kfence slab kmalloc tools"

declare -A rank_of
i=0
for l in $layers; do
	rank_of[$l]=$i
	i=$((i + 1))
done

# check OBJ_SPEC... - each spec is FOLDER=OBJECT.o (FOLDER: the object's
# layer); prints violations, returns 1 if any.
check() {
	local -A def where
	local spec folder obj s bad=0 nobj=0 r dr
	for spec in "$@"; do
		folder=${spec%%=*} obj=${spec#*=}
		if [ -z "${rank_of[$folder]:-}" ]; then
			echo "check-layers: $obj is in folder $folder/, which has no layer:" \
			     "add it to tools/check-layers.sh and Documentation/architecture.md" >&2
			bad=$((bad + 1))
			continue
		fi
		where[$obj]=$folder
		nobj=$((nobj + 1))
		while read -r s; do
			def[$s]=$folder
		done < <(nm --defined-only -g "$obj" | awk 'NF == 3 { print $3 }')
	done
	if [ "$nobj" = 0 ]; then
		echo "check-layers: no object files found" >&2
		return 1
	fi
	for obj in "${!where[@]}"; do
		folder=${where[$obj]}
		r=${rank_of[$folder]}
		while read -r s; do
			[ -n "${def[$s]:-}" ] || continue	# not kmem's
			dr=${rank_of[${def[$s]}]}
			if [ "$dr" -gt "$r" ]; then
				echo "check-layers: $folder/$(basename "${obj%.o}") uses $s, defined in ${def[$s]}/ (a higher layer)" >&2
				bad=$((bad + 1))
			fi
		done < <(nm -u "$obj" | awk '{ print $NF }')
	done
	echo "check-layers: $nobj object files, $bad violation(s)"
	[ "$bad" = 0 ]
}

# specs BUILD_DIR - FOLDER=OBJECT for every object of the library and tools
specs() {
	local b=$1 o rel
	for o in "$b"/CMakeFiles/kmem_objs.dir/*/*.c.o \
		 "$b"/CMakeFiles/kmem_malloc_names.dir/*/*.c.o; do
		[ -e "$o" ] || continue
		rel=${o#*.dir/}
		echo "${rel%%/*}=$o"
	done
	for o in "$b"/tools/kmeminfo/CMakeFiles/*.dir/*.c.o; do
		[ -e "$o" ] && echo "tools=$o"
	done
}

self_test() {
	local d out
	d=$(mktemp -d)
	trap 'rm -rf "$d"' RETURN
	mkdir -p "$d/CMakeFiles/kmem_objs.dir/core" "$d/CMakeFiles/kmem_objs.dir/slab"
	printf 'int slab_thing(void);\nint core_thing(void) { return slab_thing(); }\n' |
		cc -x c -c -o "$d/CMakeFiles/kmem_objs.dir/core/a.c.o" -
	printf 'int core_thing(void);\nint slab_thing(void) { return 1; }\nint slab_other(void) { return core_thing(); }\n' |
		cc -x c -c -o "$d/CMakeFiles/kmem_objs.dir/slab/b.c.o" -
	if out=$(check $(specs "$d") 2>&1); then
		echo "check-layers: self-test: a call from core/ up into slab/ passed: $out" >&2
		return 1
	fi
	case $out in
	*"core/a.c uses slab_thing, defined in slab/"*"1 violation(s)"*) ;;
	*) echo "check-layers: self-test: wrong report: $out" >&2; return 1 ;;
	esac
	# The same library the right way round passes.
	rm "$d/CMakeFiles/kmem_objs.dir/core/a.c.o"
	printf 'int core_thing(void) { return 0; }\n' |
		cc -x c -c -o "$d/CMakeFiles/kmem_objs.dir/core/a.c.o" -
	out=$(check $(specs "$d") 2>&1) ||
		{ echo "check-layers: self-test: a downward call failed: $out" >&2; return 1; }
	echo "check-layers: self-test passed"
}

case ${1:-} in
--self-test) self_test ;;
""|-h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0"; exit 2 ;;
*) check $(specs "$1") ;;
esac
