#!/bin/sh
# tests/arch/addr_bits.sh - KMEM_ADDR_BITS for each architecture.
#
# buddy/arch.h sizes the page table for the user address space: 47 bits on
# x86-64, 48 on aarch64 (where 47 made every section look foreign and
# start-up panic), and stops the build with an #error naming the file
# elsewhere.  The header has no #include, so it is preprocessed here alone
# with each architecture's predefined macro.  Usage: addr_bits.sh CC SRCDIR
set -u
cc=$1 src=$2
fail=0

bits() {	# $@: preprocessor flags; prints the value or the error
	printf '#include "buddy/arch.h"\nKMEM_ADDR_BITS\n' |
		"$cc" -E -P -undef -I"$src" "$@" -x c - 2>&1 | tail -n 1
}

expect() {	# name expected flags...
	name=$1 want=$2
	shift 2
	got=$(bits "$@")
	if [ "$got" = "$want" ]; then
		echo "ok   $name: KMEM_ADDR_BITS $got"
	else
		echo "FAIL $name: want $want, got: $got"
		fail=1
	fi
}

if [ ! -f "$src/buddy/arch.h" ]; then
	echo "FAIL no buddy/arch.h: KMEM_ADDR_BITS is not chosen per architecture"
	exit 1
fi
expect x86-64 47 -D__x86_64__
expect aarch64 48 -D__aarch64__
if out=$(printf '#include "buddy/arch.h"\n' |
	"$cc" -E -P -undef -I"$src" -D__riscv -x c - 2>&1); then
	echo "FAIL riscv64: the build must stop with an #error; it went on"
	fail=1
else
	case $out in
	*"#error"*"x86-64 and aarch64"*) echo "ok   riscv64: stops with #error" ;;
	*) echo "FAIL riscv64: no clear #error: $out"; fail=1 ;;
	esac
fi
exit $fail
