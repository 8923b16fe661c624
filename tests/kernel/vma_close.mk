# SPDX-License-Identifier: MIT
#
# tests/kernel/vma_close.mk - read after the kernel's tools/testing/vma
# Makefile (on kmem and on the stand-in): the rule's source for
# vma_close.o, which run-kernel-tests.sh adds to SHARED_OFILES.

VMA_CLOSE_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

vpath vma_close.c $(VMA_CLOSE_DIR)
vma_close.o: $(VMA_CLOSE_DIR)/vma_close.h vma_internal.h
