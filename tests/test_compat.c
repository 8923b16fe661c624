// SPDX-License-Identifier: MIT
/*
 * tests/test_compat.c - kernel code against kmem's kernel-compatibility
 * headers (include/kmem/compat): <linux/slab.h>, <linux/gfp.h> and
 * <linux/gfp_types.h> as the kernel's own code includes them, with the
 * call forms (kmem_cache_create(), kvrealloc()) and flag names of Linux
 * 6.1 and of 6.12.
 *
 * Built with -I include/kmem/compat, as `pkg-config --cflags kmem-compat`
 * and CMake's kmem::compat give it; nothing here includes <kmem/...>.  The
 * system's own <linux/types.h> (the kernel's UAPI header) is included
 * first: kmem's headers sit beside it, not in place of it.
 */
#include <linux/types.h>	/* the system's UAPI header */
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/gfp_types.h>

#include <stdalign.h>
#include <stdint.h>

#include "kmem_test.h"

/* The kernel's own header guards are taken, so its headers add nothing. */
#if !defined(_LINUX_SLAB_H) || !defined(__LINUX_GFP_H) || \
	!defined(__LINUX_GFP_TYPES_H)
#error "kmem's compat headers must define the kernel's header guards"
#endif

/*
 * Every flag lies below __GFP_BITS_SHIFT: the XArray and the radix tree
 * keep their marks and tags above it in the same word (xa_flags), and the
 * radix tree keeps ROOT_IS_IDR in a zone bit (GFP_ZONEMASK).
 */
#define ALL_GFP                                                               \
	(__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE |            \
	 __GFP_RECLAIMABLE | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_ZERO |  \
	 __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_WRITE |          \
	 __GFP_NOWARN | __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY |  \
	 __GFP_MEMALLOC | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_HARDWALL |    \
	 __GFP_THISNODE | __GFP_ACCOUNT | __GFP_ZEROTAGS | __GFP_NOLOCKDEP |  \
	 __GFP_ATOMIC | __GFP_SKIP_ZERO | __GFP_SKIP_KASAN |                  \
	 __GFP_SKIP_KASAN_POISON | __GFP_SKIP_KASAN_UNPOISON |                \
	 __GFP_NO_OBJ_EXT)
_Static_assert(!(ALL_GFP & ~__GFP_BITS_MASK), "a gfp flag above __GFP_BITS_MASK");
_Static_assert(__GFP_BITS_MASK == (1u << __GFP_BITS_SHIFT) - 1, "__GFP_BITS_MASK");
_Static_assert(3 + __GFP_BITS_SHIFT <= 32, "radix-tree tags above the gfp bits");
_Static_assert(GFP_ZONEMASK ==
	       (__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE),
	       "GFP_ZONEMASK");
/* The radix tree's ROOT_IS_IDR is the kernel's (gfp_t)4, a zone bit. */
_Static_assert(!((gfp_t)4 & ~GFP_ZONEMASK), "ROOT_IS_IDR outside GFP_ZONEMASK");
/* Names the kernel defines as 0 when the feature is off, as kmem has it. */
_Static_assert(!__GFP_ATOMIC && !__GFP_NO_OBJ_EXT && !__GFP_SKIP_KASAN &&
	       !SLAB_NO_OBJ_EXT, "feature-off names are 0");
_Static_assert(SLAB_OBJ_MIN_SIZE == 8, "SLAB_OBJ_MIN_SIZE");

struct thing {
	long key;
	alignas(64) char body[100];
};

static int ctor_calls;

static void thing_ctor(void *p)
{
	((struct thing *)p)->key = 77;
	ctor_calls++;
}

/* Allocate, check alignment and the constructor, free. */
static void use_cache(struct kmem_cache *s, size_t align, bool ctor)
{
	struct thing *t[20];
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 20; i++) {
		t[i] = kmem_cache_alloc(s, GFP_KERNEL);
		ck_assert_ptr_nonnull(t[i]);
		ck_assert_uint_eq((uintptr_t)t[i] % align, 0);
		if (ctor)
			ck_assert_int_eq(t[i]->key, 77);
	}
	for (i = 0; i < 20; i++)
		kmem_cache_free(s, t[i]);
	kmem_cache_destroy(s);
}

START_TEST(test_create_6_1_form)
{
	/* lib/radix-tree.c, lib/maple_tree.c (6.1 and 6.12 alike). */
	use_cache(kmem_cache_create("compat_61", sizeof(struct thing), 256,
				    SLAB_PANIC | SLAB_RECLAIM_ACCOUNT,
				    thing_ctor),
		  256, true);
	ck_assert_int_ge(ctor_calls, 20);
	use_cache(kmem_cache_create("compat_61b", sizeof(struct thing), 0,
				    SLAB_HWCACHE_ALIGN, NULL),
		  64, false);
}
END_TEST

START_TEST(test_create_6_12_forms)
{
	struct kmem_cache_args args = {
		.align = 128,
		.ctor = thing_ctor,
	};

	use_cache(kmem_cache_create("compat_612", sizeof(struct thing), &args,
				    SLAB_PANIC | SLAB_NO_OBJ_EXT),
		  128, true);
	/* NULL: the defaults; the struct's own alignment is 64. */
	use_cache(kmem_cache_create("compat_612n", sizeof(struct thing), NULL,
				    SLAB_ACCOUNT),
		  8, false);
	use_cache(KMEM_CACHE(thing, SLAB_PANIC | SLAB_ACCOUNT), 64, false);
	use_cache(kmem_cache_create_usercopy("compat_uc", sizeof(struct thing),
					     64, 0, offsetof(struct thing, body),
					     sizeof(((struct thing *)0)->body),
					     NULL),
		  64, false);
}
END_TEST

START_TEST(test_flags_of_both_versions)
{
	/* 6.1 code may still spell __GFP_ATOMIC; 6.12 code __GFP_NO_OBJ_EXT. */
	gfp_t old = GFP_KERNEL | __GFP_ATOMIC | __GFP_SKIP_KASAN_POISON;
	gfp_t new = GFP_KERNEL | __GFP_NO_OBJ_EXT | __GFP_SKIP_KASAN;
	void *a = kmalloc(100, old), *b = kzalloc(100, new);
	char *c;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert(all_bytes(b, 100, 0));
	ck_assert(gfpflags_allow_blocking(GFP_KERNEL));
	ck_assert(!gfpflags_allow_blocking(GFP_ATOMIC));
	ck_assert(!gfpflags_allow_blocking(GFP_NOWAIT));
	/* The page allocator the kernel's <linux/gfp.h> declares. */
	c = (char *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, 1);
	ck_assert_ptr_nonnull(c);
	ck_assert(all_bytes(c, 2 * PAGE_SIZE, 0));
	free_pages((unsigned long)c, 1);
	kfree(a);
	kfree(b);
}
END_TEST

START_TEST(test_kvrealloc_both_forms)
{
	char *p = kvmalloc(100, GFP_KERNEL);

	ck_assert_ptr_nonnull(p);
	memset(p, 0x5a, 100);
	/* 6.1: (p, oldsize, newsize, gfp) */
	p = kvrealloc(p, 100, 5000, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 100, 0x5a));
	ck_assert_uint_ge(ksize(p), 5000);
	/* 6.11+: (p, size, gfp) */
	p = kvrealloc(p, 20000, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 100, 0x5a));
	ck_assert_uint_ge(ksize(p), 20000);
	p = kvrealloc(p, 50, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 50, 0x5a));
	kvfree(p);
	/* NULL: kvmalloc() */
	p = kvrealloc(NULL, 64, GFP_KERNEL | __GFP_ZERO);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 64, 0));
	kvfree(p);
}
END_TEST

static Suite *compat_suite(void)
{
	Suite *s = suite_create("compat");
	TCase *tc = tcase_create("compat");

	tcase_add_test(tc, test_create_6_1_form);
	tcase_add_test(tc, test_create_6_12_forms);
	tcase_add_test(tc, test_flags_of_both_versions);
	tcase_add_test(tc, test_kvrealloc_both_forms);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(compat_suite());
}
