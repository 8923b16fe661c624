# SPDX-License-Identifier: MIT
#
# tests/kernel/kmem.mk - build the kernel's radix-tree test suites on kmem.
#
# Read after the kernel's own Makefile, which is used unchanged, in the
# kernel tree's tools/testing/radix-tree:
#
#   make -f Makefile -f .../tests/kernel/kmem.mk \
#        CORE_OFILES="<the Makefile's list without linux.o and slab.o>
#                     kmem_linux.o kmem-sealed.o" \
#        KMEM_INCLUDE=<kmem's include/> KMEM_LIB=<libkmem.a> \
#        kmem-selftest main idr-test multiorder xarray
#
# (run-radix-tree.sh computes that list).  Every suite object is built by
# the kernel's rules and flags; this file adds:
#
#   kmem_linux.o   the stand-in's symbols on kmem (kernel headers, the
#                  kernel's CFLAGS with ASan and UBSan, like linux.o)
#   kmem-sealed.o  kmem_bridge.o linked with libkmem.a into one relocatable
#                  object in which every symbol but kmem_bridge_* is made
#                  local: kmem's kernel names (kmem_cache_free, kmalloc,
#                  ...) are bound inside it and cannot meet kmem_linux.o's
#   kmem-selftest  the adapter's own test
#
# kmem is built like any user's copy (no sanitizers); libkmem.a's objects
# are position-independent, so the sealed object links into the suites'
# PIE executables.

KMEM_COMPAT := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KMEM_INCLUDE ?= $(KMEM_COMPAT)/../../include
KMEM_CFLAGS ?= -O2 -g -std=gnu11 -fPIC -Wall -Wextra
LD ?= ld
NM ?= nm
OBJCOPY ?= objcopy

ifndef KMEM_LIB
$(error KMEM_LIB must name libkmem.a)
endif

LDLIBS += -lurcu -lurcu-common -lpthread

KMEM_COMPAT_HDRS := $(KMEM_COMPAT)/kmem_bridge.h \
		    $(KMEM_COMPAT)/kmem_compat_flags.h \
		    $(KMEM_COMPAT)/kmem_compat_missing.h

vpath kmem_linux.c $(KMEM_COMPAT)
vpath kmem_linux_test.c $(KMEM_COMPAT)

kmem_linux.o kmem_linux_test.o: $(KMEM_COMPAT_HDRS)

kmem_bridge.o: $(KMEM_COMPAT)/kmem_bridge.c $(KMEM_COMPAT_HDRS) \
		$(wildcard $(KMEM_INCLUDE)/kmem/*.h)
	$(CC) $(KMEM_CFLAGS) -I$(KMEM_INCLUDE) -c -o $@ $<

kmem-sealed.o: kmem_bridge.o $(KMEM_LIB)
	$(LD) -r -o kmem-linked.o kmem_bridge.o $(KMEM_LIB)
	$(NM) -g --defined-only kmem_bridge.o | \
		awk '$$3 ~ /^kmem_bridge_/ { print $$3 }' > kmem-sealed.syms
	$(OBJCOPY) --keep-global-symbols=kmem-sealed.syms kmem-linked.o $@
	@if $(NM) -g --defined-only $@ | \
		awk '$$3 !~ /^kmem_bridge_/ { bad = 1; print "kmem.mk: still global:", $$3 } END { exit bad }'; \
	then :; else rm -f $@; exit 1; fi

kmem-selftest: kmem_linux_test.o kmem_linux.o kmem-sealed.o
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

.PHONY: kmem-clean
kmem-clean:
	$(RM) kmem_linux.o kmem_linux_test.o kmem_bridge.o kmem-linked.o \
		kmem-sealed.o kmem-sealed.syms kmem-selftest
