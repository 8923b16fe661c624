/* SPDX-License-Identifier: MIT */
/*
 * tests/kernel/tools-types.h - given first to every compilation of the
 * kernel's test suites on kmem (-include).
 *
 * The suites' tools/include/linux/types.h, part of the kernel's test
 * harness, declares gfp_t as a placeholder enum whose constants are named
 * GFP_KERNEL, GFP_ATOMIC, __GFP_HIGHMEM and __GFP_HIGH; the real flags
 * come from <linux/gfp.h> afterwards and shadow them.  On kmem,
 * <linux/gfp.h> is kmem's, where gfp_t is unsigned int (the kernel's own
 * type): the two typedefs cannot both stand, and once kmem's flag macros
 * exist the enum's constants no longer parse.  So the harness's types.h
 * is read here, before anything else, with its enum renamed; every name
 * the suites use for a flag or for gfp_t is then kmem's.
 */
#define gfp_t kmem_tools_gfp_t
#include <linux/types.h>
#undef gfp_t
