# SPDX-License-Identifier: MIT
#
# tests/kernel/kmem.mk - build the kernel's userspace test suites on kmem.
#
# Read after the kernel's own Makefile, which is used unchanged, in the
# kernel tree's tools/testing/radix-tree (6.1, 6.12) or tools/testing/vma
# (6.12):
#
#   CFLAGS="-I<kmem>/include/kmem/compat -I<kmem>/include -include ..." \
#   make -f Makefile -f .../tests/kernel/kmem.mk \
#        CORE_OFILES=... (6.1) or SHARED_OFILES=... (6.12): the Makefile's
#                     list without linux.o and slab.o, plus $(KMEM_OFILES)
#        KMEM_LIB=<libkmem.a> \
#        kmem-selftest main idr-test multiorder xarray maple
#
# (run-kernel-tests.sh computes the lists and the CFLAGS).  Every suite
# object, the kernel's lib/ code included, is compiled by the kernel's rules
# and flags (ASan, UBSan) against kmem's kernel-compatibility headers:
# <linux/slab.h> and <linux/gfp.h> are kmem's.  This file adds:
#
#   kmem_linux.o   the stand-in's test hooks and rules on kmem's caches,
#                  reached through the linker's --wrap (KMEM_WRAP below)
#   kmem-sealed.o  libkmem.a linked into one relocatable object in which
#                  only kmem's public API (its default-visibility symbols)
#                  stays global: kmem's internal names cannot meet the
#                  suites', and kmem's calls to its own kmem_cache_alloc()
#                  etc. are bound inside it, so --wrap diverts the suites'
#                  calls only
#   kmem_vma.o     (vma suite) vm_area_cachep, vma_lock_cachep, vma_close()
#   kmem-selftest  the adapter's own test
#
# kmem is built like any user's copy (no sanitizers); libkmem.a's objects
# are position-independent, so the sealed object links into the suites'
# PIE executables.

KMEM_TESTS := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LD ?= ld
NM ?= nm
OBJCOPY ?= objcopy
READELF ?= readelf

ifndef KMEM_LIB
$(error KMEM_LIB must name libkmem.a)
endif

# kmem-wrap.list: "wrap NAME" (the adapter defines __wrap_NAME) and
# "call NAME" (the suites may call kmem's NAME directly).
KMEM_WRAP := $(shell awk '$$1 == "wrap" { print $$2 }' $(KMEM_TESTS)/kmem-wrap.list)
KMEM_OFILES := kmem_linux.o kmem-sealed.o

# --wrap is a link option: LDLIBS reaches every link rule (the vma
# Makefile's own rule does not use LDFLAGS).  libkmem.a's own needs are
# those of kmem.pc's Libs.private: liburcu, pthread, libm (the profiler's
# sampling distances) and libgcc_s (its unwinder, which cc links anyway).
LDLIBS += $(foreach s,$(KMEM_WRAP),-Wl,--wrap=$(s)) \
	  -lurcu -lurcu-common -lpthread -lm -lgcc_s

vpath kmem_linux.c $(KMEM_TESTS)
vpath kmem_linux_test.c $(KMEM_TESTS)
vpath kmem_vma.c $(KMEM_TESTS)

kmem_linux.o kmem_linux_test.o: $(KMEM_TESTS)/kmem_linux.h
kmem_linux.o: $(KMEM_TESTS)/kmem-wrap.list
kmem_vma.o: $(KMEM_TESTS)/kmem_vma.h vma_internal.h

kmem-sealed.o: $(KMEM_LIB)
	$(LD) -r --whole-archive -o kmem-linked.o $(KMEM_LIB)
	$(READELF) -sW kmem-linked.o | \
		awk '($$5 == "GLOBAL" || $$5 == "WEAK") && $$6 == "DEFAULT" && \
		     $$7 != "UND" { print $$8 }' | sort -u > kmem-sealed.syms
	$(OBJCOPY) --keep-global-symbols=kmem-sealed.syms kmem-linked.o $@
	@if $(NM) -g --defined-only $@ | awk 'NR == FNR { keep[$$1] = 1; next } \
		!($$3 in keep) { bad = 1; print "kmem.mk: still global:", $$3 } \
		END { exit bad }' kmem-sealed.syms -; \
	then :; else rm -f $@; exit 1; fi

kmem-selftest: kmem_linux_test.o kmem_linux.o kmem-sealed.o
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

.PHONY: kmem-clean
kmem-clean:
	$(RM) kmem_linux.o kmem_linux_test.o kmem_vma.o kmem-linked.o \
		kmem-sealed.o kmem-sealed.syms kmem-selftest
