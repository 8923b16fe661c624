// SPDX-License-Identifier: MIT
/*
 * tests/test_kmalloc.c - kmalloc and friends, with kernel semantics.
 */
#include "kmem_test.h"

#include "kmalloc/kmalloc.h"
#include "release_clock.h"
#include "slow_paths.h"
#include <kmem/malloc.h>

static const size_t classes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512,
				  1024, 2048, 4096, 8192 };

START_TEST(test_every_small_size)
{
	for (size_t n = 1; n <= KMALLOC_MAX_CACHE_SIZE; n++) {
		char *p = kmalloc(n, GFP_KERNEL);
		size_t ks = ksize(p), cls = 0;

		ck_assert_ptr_nonnull(p);
		for (unsigned int i = 0; i < ARRAY_SIZE(classes); i++)
			if (classes[i] >= n) {
				cls = classes[i];
				break;
			}
		ck_assert_uint_eq(ks, cls);
		ck_assert_uint_eq(kmalloc_size_roundup(n), cls);
		ck_assert_uint_eq((unsigned long)p % 8, 0);
		if (is_power_of_2(cls))
			ck_assert_msg((unsigned long)p % cls == 0,
				      "kmalloc(%zu) = %p not aligned to %zu", n,
				      (void *)p, cls);
		p[0] = 1;
		p[ks - 1] = 2;
		kfree(p);
	}
}
END_TEST

START_TEST(test_zero_and_null)
{
	ck_assert_ptr_eq(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	ck_assert_ptr_eq(kzalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	kfree(NULL);
	kfree(ZERO_SIZE_PTR);
	kvfree(NULL);
	ck_assert_uint_eq(ksize(NULL), 0);
	ck_assert_uint_eq(ksize(ZERO_SIZE_PTR), 0);
	ck_assert_uint_eq(kmalloc_size_roundup(0), 0);
}
END_TEST

START_TEST(test_array_overflow)
{
	ck_assert_ptr_null(kmalloc_array(SIZE_MAX / 2, 3, GFP_KERNEL));
	ck_assert_ptr_null(kcalloc(SIZE_MAX / 8 + 1, 8, GFP_KERNEL));
	ck_assert_ptr_null(kvmalloc_array(1UL << 40, 1UL << 40, GFP_KERNEL));
	ck_assert_ptr_null(krealloc_array(NULL, SIZE_MAX, 2, GFP_KERNEL));
	kfree(kmalloc_array(10, 10, GFP_KERNEL));
}
END_TEST

START_TEST(test_zeroing_reused)
{
	size_t sizes[] = { 24, 100, 1000, 8000, 20000, 300000 };

	for (unsigned int k = 0; k < ARRAY_SIZE(sizes); k++) {
		for (int round = 0; round < 3; round++) {
			char *p = kmalloc(sizes[k], GFP_KERNEL);

			memset(p, 0xff, sizes[k]);
			kfree(p);
			p = kzalloc(sizes[k], GFP_KERNEL);
			ck_assert(all_bytes(p, sizes[k], 0));
			kfree(p);
			p = kcalloc(sizes[k], 1, GFP_KERNEL);
			ck_assert(all_bytes(p, sizes[k], 0));
			memset(p, 0xff, sizes[k]);
			kfree(p);
		}
	}
}
END_TEST

/*
 * kzalloc() comes from the magazine, as kmalloc() does, with its whole
 * slot zeroed (ksize() bytes: the kernel's SLUB zeroes the object, and
 * a caller may use what ksize() says).  It went to the magazine slow
 * path on every call: 47 ns per pair at 1 KiB against 9 for kmalloc()
 * and a memset.  Slow paths counted as tests/slow_paths.h says.
 */
START_TEST(test_kzalloc_from_magazine)
{
	static const size_t sizes[] = { 24, 64, 1000, 8192 };
	unsigned long before, slow;
	void *o[40];

	for (unsigned int k = 0; k < ARRAY_SIZE(sizes); k++) {
		for (int i = 0; i < 40; i++)		/* past the warm-up */
			o[i] = kmalloc(sizes[k], GFP_KERNEL);
		for (int i = 0; i < 40; i++)
			kfree(o[i]);
	}
	before = slow_paths();
	for (int i = 0; i < 1000; i++) {
		for (unsigned int k = 0; k < ARRAY_SIZE(sizes); k++) {
			char *p = kzalloc(sizes[k], GFP_KERNEL);
			size_t n;

			ck_assert_ptr_nonnull(p);
			n = ksize(p);
			ck_assert_uint_ge(n, sizes[k]);
			ck_assert_msg(all_bytes(p, n, 0),
				      "kzalloc(%zu): a byte of its %zu not zero",
				      sizes[k], n);
			memset(p, 0xa5, n);	/* the next must be zeroed */
			kfree(p);
		}
	}
	slow = slow_paths() - before;
	ck_assert_msg(slow <= 50, "%lu slow paths in 4000 kzalloc/kfree pairs",
		      slow);
}
END_TEST

START_TEST(test_large_and_huge)
{
	char *a = kmalloc(8193, GFP_KERNEL);
	char *b = kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL);
	char *c = kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL);
	char *d = kvmalloc(64 << 20, GFP_KERNEL | __GFP_ZERO);

	ck_assert_uint_eq((unsigned long)a % PAGE_SIZE, 0);
	ck_assert_uint_eq(ksize(a), 3 * PAGE_SIZE);	/* its pages, not 16 KiB */
	ck_assert_uint_eq(kmalloc_size_roundup(8193), 3 * PAGE_SIZE);
	ck_assert_uint_eq(kmalloc_size_roundup(KMALLOC_MAX_SIZE), KMALLOC_MAX_SIZE);
	ck_assert_uint_eq((unsigned long)b % KMALLOC_MAX_SIZE, 0);
	ck_assert_uint_eq(ksize(b), KMALLOC_MAX_SIZE);
	ck_assert_uint_eq(ksize(c), KMALLOC_MAX_SIZE + PAGE_SIZE);
	ck_assert_uint_eq((unsigned long)c % PAGE_SIZE, 0);
	ck_assert(all_bytes(d, 64 << 20, 0));
	memset(a, 1, 8193);
	memset(b, 2, KMALLOC_MAX_SIZE);
	memset(c, 3, KMALLOC_MAX_SIZE + 1);
	memset(d, 4, 64 << 20);
	ck_assert(kmem_addr_is_ours(c + 100));
	kfree(a);
	kfree(b);
	kfree(c);
	kvfree(d);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/* Pages of [@p, @p + @len) resident in memory. */
static unsigned long resident_pages(const void *p, size_t len)
{
	unsigned char vec[1024];
	unsigned long n = 0;

	ck_assert_uint_le(len / PAGE_SIZE, sizeof(vec));
	ck_assert_int_eq(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < len / PAGE_SIZE; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * A large block is a 2^n-page buddy block of which its user may use the
 * pages its size needs: reused for a smaller size, the tail its earlier
 * user touched goes back to the OS when it is at least KMEM_LARGE_TAIL_KB;
 * the pages kept keep their contents.
 */
START_TEST(test_large_tail_released)
{
	const size_t block = 1 << 20, big = 1000 << 10, small = 600 << 10;
	char *p, *q;

	ck_assert_uint_eq(kmem_config.large_tail_pages, (256 << 10) / PAGE_SIZE);
	p = kmalloc(big, GFP_KERNEL);
	memset(p, 1, big);
	ck_assert_uint_eq(resident_pages(p, big), big / PAGE_SIZE);
	kfree(p);
	q = kmalloc(small, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);		/* the thread's list gave it back */
	ck_assert_uint_eq(resident_pages(q + small, block - small), 0);
	ck_assert_uint_eq(resident_pages(q, small), small / PAGE_SIZE);
	ck_assert(all_bytes(q, small, 1));
	ck_assert_uint_eq(ksize(q), small);	/* the pages it needs */
	/* It grows in place within its block. */
	p = krealloc(q, block, GFP_KERNEL);
	ck_assert_ptr_eq(p, q);
	ck_assert_uint_eq(ksize(p), block);
	memset(p, 2, block);
	kfree(q);

	/* Below the threshold the tail stays. */
	q = kmalloc(big - (100 << 10), GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(resident_pages(q, block), block / PAGE_SIZE);
	kfree(q);

	/* Off: nothing is released. */
	kmem_config.large_tail_pages = 0;
	p = kmalloc(small, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(resident_pages(p, block), block / PAGE_SIZE);
	kfree(p);
	kmem_config.large_tail_pages = (256 << 10) / PAGE_SIZE;

	/* Shrinking in place gives back the tail past the new size. */
	p = kmalloc(big, GFP_KERNEL);
	memset(p, 3, big);
	q = krealloc(p, 100 << 10, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	ck_assert(all_bytes(q, 100 << 10, 3));
	ck_assert_uint_eq(resident_pages(q + (100 << 10), block - (100 << 10)), 0);
	q = kmem_realloc(q, 40 << 10);
	ck_assert_ptr_eq(q, p);
	ck_assert(all_bytes(q, 40 << 10, 3));
	ck_assert_uint_eq(resident_pages(q, block), 10);
	kfree(q);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * A block whose tail a large block gave back keeps the count of its
 * resident pages in the zone: the next large block cut from the same
 * pages for the same size gives nothing back again.  Before, a 4 MiB
 * block came back counted wholly resident and every kmalloc(3,000,000)
 * made one madvise() of its 1 MiB tail (1.5 us a pair in a loop;
 * performance.md, "The reaper's kicks"); and a 2 MiB block lost its count
 * when it merged with its free buddy, so every kmalloc(1,500,000) gave
 * back the same 512 KiB tail (2 us a pair; "Resident extents through
 * merges").
 */
START_TEST(test_large_tail_given_back_once)
{
	static const struct {
		size_t size, block;
	} cases[] = {
		{ 3000000, 4 << 20 },	/* a whole 4 MiB block */
		{ 1500000, 2 << 20 },	/* a half, merged again when freed */
	};

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		size_t size = cases[c].size, block = cases[c].block;
		size_t used = ALIGN(size, PAGE_SIZE);
		unsigned long before;
		char *p, *q;

		p = kmalloc(size, GFP_KERNEL);
		ck_assert_ptr_nonnull(p);
		memset(p, 1, size);
		kfree(p);
		before = kmem_os_gives_back();
		for (int i = 0; i < 100; i++) {
			q = kmalloc(size, GFP_KERNEL);
			ck_assert_ptr_eq(q, p);	/* the zone's resident block */
			q[0] = 2;
			q[size - 1] = 2;
			ck_assert_uint_eq(resident_pages(q + used, block - used),
					  0);
			kfree(q);
		}
		ck_assert_msg(kmem_os_gives_back() - before <= 1,
			      "%lu madvise/munmap calls in 100 pairs of %zu B",
			      kmem_os_gives_back() - before, size);
		ck_assert_int_eq(buddy_validate(), 0);
	}
}
END_TEST

/*
 * Issue 14, item 3: a tail given back is not given back again while the
 * blocks of its order keep needing theirs.  Reused for a smaller size, a
 * block gives its tail back; handed out again for the larger size, it
 * needs the tail again (faulted in), and its order counts as regrowing:
 * the next smaller user keeps the tail, until a decay time passes with
 * no regrowth.  On the test's clock, with no reaper.
 */
START_TEST(test_large_tail_kept_while_regrowing)
{
	const size_t block = 1 << 20, big = 1000 << 10, small = 600 << 10;
	char *p, *q;

	kmem_config.background = false;
	kmem_config.decay_ms = 1000;
	release_clock_ms = 10UL * 1000 * 1000;
	buddy_set_clock(release_clock);

	p = kmalloc(big, GFP_KERNEL);
	memset(p, 1, big);
	kfree(p);
	q = kmalloc(small, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);		/* the thread's list gave it back */
	ck_assert_uint_eq(resident_pages(q + small, block - small), 0);
	kfree(q);
	p = kmalloc(big, GFP_KERNEL);	/* needs the tail again */
	ck_assert_ptr_eq(p, q);
	memset(p, 2, big);
	kfree(p);

	release_clock_ms += kmem_config.decay_ms - 1;
	q = kmalloc(small, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	ck_assert_msg(resident_pages(q, big) == big / PAGE_SIZE,
		      "%lu of the %zu pages of a tail needed %lu ms before "
		      "were given back", big / PAGE_SIZE - resident_pages(q, big),
		      (big - small) / PAGE_SIZE, kmem_config.decay_ms - 1);
	ck_assert(all_bytes(q, small, 2));
	kfree(q);

	/* A decay time with no regrowth: tails go back again. */
	release_clock_ms += kmem_config.decay_ms;
	p = kmalloc(small, GFP_KERNEL);
	ck_assert_ptr_eq(p, q);
	ck_assert_uint_eq(resident_pages(p + small, block - small), 0);
	ck_assert(all_bytes(p, small, 2));
	kfree(p);
	buddy_set_clock(NULL);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * Issue 11 item 7: moving a large block copies what the program may have
 * written (the size it asked for), not the whole buddy block: the tail
 * may have been given back to the OS, and copying it faulted it in twice
 * (read as zeros from the old block, written into the new one).  After
 * ksize()/malloc_usable_size() the whole block is the program's and all
 * of it moves.
 */
/*
 * A large block that must move when it grows: the upper half of its
 * buddy pair, which realloc() cannot grow in place (kmalloc.md: only the
 * first part of the new block grows where it is).
 */
static char *kmalloc_upper_half(size_t size)
{
	unsigned int order = (unsigned int)get_order(size), n = 0;
	char *held[16], *p = NULL;

	while (!p && n < ARRAY_SIZE(held)) {
		char *b = kmalloc(size, GFP_KERNEL);

		ck_assert_ptr_nonnull(b);
		if (((uintptr_t)b >> (PAGE_SHIFT + order)) & 1)
			p = b;
		else
			held[n++] = b;
	}
	while (n)
		kfree(held[--n]);
	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_realloc_copies_written)
{
	const size_t small = 600 << 10, block = 1 << 20, big = 3 << 20;
	const size_t odd = small - 1000;	/* ksize(): 150 pages */
	char *p, *q;

	for (int api = 0; api < 2; api++) {
		p = kmalloc_upper_half(small);
		ck_assert_uint_eq(virt_to_page(p)->order, 8);
		memset(p, 5, small);
		/* The new block comes from memory given back to the OS. */
		kmem_shrink_all();
		q = api ? kmem_realloc(p, big) : krealloc(p, big, GFP_KERNEL);
		ck_assert_ptr_nonnull(q);
		ck_assert_ptr_ne(q, p);
		ck_assert(all_bytes(q, small, 5));
		ck_assert_msg(resident_pages(q + small, block - small) == 0,
			      "%s copied %lu pages past the %zu bytes written",
			      api ? "realloc" : "krealloc",
			      resident_pages(q + small, block - small), small);
		kfree(q);
	}
	for (int api = 0; api < 2; api++) {
		p = kmalloc_upper_half(odd);
		if (api)
			ck_assert_uint_eq(kmem_malloc_usable_size(p), small);
		else
			ck_assert_uint_eq(ksize(p), small);
		__asm__("" : "+r"(p));	/* the compiler knows only of @odd */
		memset(p, 6, small);
		q = api ? kmem_realloc(p, big) : krealloc(p, big, GFP_KERNEL);
		ck_assert_ptr_ne(q, p);
		ck_assert(all_bytes(q, small, 6));
		/* Shrunk in place, then grown: only the new size moves. */
		p = krealloc(q, small, GFP_KERNEL);
		ck_assert_ptr_eq(p, q);
		kmem_shrink_all();
		q = krealloc(p, 5 << 20, GFP_KERNEL);
		ck_assert(all_bytes(q, small, 6));
		ck_assert_uint_eq(resident_pages(q + small, block - small), 0);
		kfree(q);
	}
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * Issue 11 item 7: GFP_NOWAIT and GFP_ATOMIC never map memory, also above
 * the largest buddy block, where every allocation is a mapping of its
 * own: they fail with ENOMEM instead.
 */
START_TEST(test_huge_nowait)
{
	const size_t huge = 8 << 20;
	unsigned long maps;
	void *p;

	kfree(kmalloc(64, GFP_KERNEL));	/* start-up maps memory */
	maps = kmem_os_map_calls();
	errno = 0;
	ck_assert_ptr_null(kmalloc(huge, GFP_NOWAIT));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(kmalloc(huge, GFP_ATOMIC | __GFP_ZERO));
	ck_assert_ptr_null(kvmalloc(huge, GFP_NOWAIT));
	ck_assert_uint_eq(kmem_os_map_calls(), maps);
	p = kmalloc(huge, GFP_KERNEL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_gt(kmem_os_map_calls(), maps);
	/* Growing it into another mapping may not map either. */
	ck_assert_ptr_null(krealloc(p, 2 * huge, GFP_NOWAIT));
	kfree(p);
}
END_TEST

START_TEST(test_krealloc)
{
	unsigned char *p = krealloc(NULL, 10, GFP_KERNEL), *q;

	for (int i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	/* Within the size class: in place. */
	ck_assert_ptr_eq(krealloc(p, 16, GFP_KERNEL), p);
	/* Growth across every class boundary keeps the contents. */
	for (size_t n = 17; n < (1 << 20); n = n * 3 / 2) {
		q = krealloc(p, n, GFP_KERNEL);
		ck_assert_ptr_nonnull(q);
		for (int i = 0; i < 10; i++)
			ck_assert_uint_eq(q[i], i);
		ck_assert_uint_ge(ksize(q), n);
		p = q;
	}
	/* Shrinking stays in place (the kernel's krealloc does not move). */
	ck_assert_ptr_eq(krealloc(p, 100, GFP_KERNEL), p);
	ck_assert_ptr_eq(krealloc(p, 0, GFP_KERNEL), ZERO_SIZE_PTR);
	p = kvrealloc(NULL, 0, 100, GFP_KERNEL);
	kvfree(p);
}
END_TEST

/*
 * krealloc() shrinking a huge block keeps it in place and gives its tail
 * back to the huge heap, as it does for a large block: before, the block
 * kept every page, resident with the old data, its usable size unchanged,
 * and the next move copied all of it.  The tail, free, is counted as kept
 * and lets the block grow in place again.
 */
START_TEST(test_krealloc_shrinks_huge)
{
	const size_t mib = 1 << 20, small = 600 << 10;
	char *p, *q;
	struct kmem_buddyinfo bi;
	unsigned char vec[4];

	kmem_config.decay_ms = 3600 * 1000;	/* the tail stays kept */
	p = kmalloc(6 * mib, GFP_KERNEL);
	memset(p, 7, 6 * mib);
	q = krealloc(p, small - 10, GFP_KERNEL);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(ksize(q), small);
	ck_assert(all_bytes(q, small - 10, 7));
	/* The tail is the heap's now: kept, resident, not the block's. */
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_eq(bi.huge_mapped, small);
	ck_assert_uint_ge(bi.huge_cached, 6 * mib - small);
	ck_assert_int_eq(mincore(q + small, PAGE_SIZE, vec), 0);
	q = krealloc(q, 5 * mib, GFP_KERNEL);
	ck_assert(all_bytes(q, small - 10, 7));
	ck_assert_uint_ge(ksize(q), 5 * mib);
	/* A small shrink stays as it is. */
	p = krealloc(q, 5 * mib - 1000, GFP_KERNEL);
	ck_assert_ptr_eq(p, q);
	ck_assert_uint_ge(ksize(p), 5 * mib);
	kfree(p);
}
END_TEST

/*
 * krealloc() grows a huge block as realloc() does: where it lies when the
 * heap's extents after it are free, else by moving its pages; __GFP_ZERO
 * zeroes what it adds, also where a freed block's data lay.  Before, every
 * growth was a new block and a copy of the old one.
 */
START_TEST(test_krealloc_grows_huge)
{
	const size_t mib = 1 << 20;
	char *x, *y, *z, *p;
	long faults;

	kmem_config.decay_ms = 3600 * 1000;	/* freed extents stay kept */
	x = kmalloc(6 * mib, GFP_KERNEL);
	y = kmalloc(6 * mib, GFP_KERNEL);
	z = kmalloc(5 * mib, GFP_KERNEL);
	memset(x, 7, 6 * mib);
	memset(y, 0x55, 6 * mib);
	ck_assert_ptr_eq(y, x + 6 * mib);	/* one arena, in order */
	ck_assert_ptr_eq(z, y + 6 * mib);
	kfree(y);
	/* Into the kept extent after it: in place, the added part zero. */
	p = krealloc(x, 10 * mib, GFP_KERNEL | __GFP_ZERO);
	ck_assert_ptr_eq(p, x);
	ck_assert_uint_ge(ksize(p), 10 * mib);
	ck_assert(all_bytes(p, 6 * mib, 7));
	ck_assert(all_bytes(p + 6 * mib, 4 * mib, 0));
	/* z lies 2 MiB after its end: it moves, with its pages, no copy. */
	faults = minor_faults();
	p = krealloc(x, 20 * mib, GFP_KERNEL);
	ck_assert_uint_lt(minor_faults() - faults, 64);
	ck_assert_ptr_ne(p, x);
	ck_assert_uint_ge(ksize(p), 20 * mib);
	ck_assert(all_bytes(p, 6 * mib, 7));
	ck_assert(all_bytes(p + 6 * mib, 4 * mib, 0));
	/* GFP_NOWAIT takes no pages new from the OS: it fails. */
	ck_assert_ptr_null(krealloc(p, 40 * mib, GFP_NOWAIT));
	ck_assert_uint_ge(ksize(p), 20 * mib);
	ck_assert(all_bytes(p, 6 * mib, 7));
	kfree(p);
	kfree(z);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_sensitive)
{
	unsigned char *p = kmalloc(200, GFP_KERNEL);

	memset(p, 0x5e, 200);
	kfree_sensitive(p);
	/* Still mapped (in a magazine): zeroed but for the free marker. */
	ck_assert(all_bytes(p, 8, 0));
	ck_assert(all_bytes(p + 16, 200 - 16, 0));
	kfree_sensitive(NULL);
	p = kvmalloc(100, GFP_KERNEL);
	memset(p, 1, 100);
	kvfree_sensitive(p, 100);
}
END_TEST

START_TEST(test_dup)
{
	char *s = kstrdup("kernel", GFP_KERNEL);
	char *t = kstrndup("kernel", 3, GFP_KERNEL);
	int v[4] = { 1, 2, 3, 4 };
	int *w = kmemdup(v, sizeof(v), GFP_KERNEL);
	const char *c = kstrdup_const("const", GFP_KERNEL);

	ck_assert_str_eq(s, "kernel");
	ck_assert_str_eq(t, "ker");
	ck_assert_int_eq(memcmp(v, w, sizeof(v)), 0);
	ck_assert_str_eq(c, "const");
	ck_assert_ptr_null(kstrdup(NULL, GFP_KERNEL));
	ck_assert_ptr_null(kstrndup(NULL, 5, GFP_KERNEL));
	kfree(s);
	kfree(t);
	kfree(w);
	kfree_const(c);
}
END_TEST

START_TEST(test_kfree_cache_objects_and_bulk)
{
	struct kmem_cache *s = kmem_cache_create("kf", 100, 0, SLAB_NO_MERGE, NULL);
	void *p[64];

	kfree(kmem_cache_alloc(s, GFP_KERNEL));	/* kfree knows the cache */
	for (int i = 0; i < 64; i++)
		p[i] = kmalloc((size_t)i * 100 + 1, GFP_KERNEL);
	kfree_bulk(64, p);
	ck_assert_int_eq(slab_validate(s), 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/* ---- bad pointers --------------------------------------------------- */

static void free_stack(void *arg)
{
	char buf[32];

	(void)arg;
	kmalloc(10, GFP_KERNEL);
	kfree(buf);
}

static void free_middle(void *arg)
{
	kfree((char *)kmalloc((size_t)(long)arg, GFP_KERNEL) + 16);
}

static void double_kfree(void *arg)
{
	void *p = kmalloc((size_t)(long)arg, GFP_KERNEL);

	kfree(p);
	kfree(p);
}

/*
 * The free fast paths index the page table modulo 2^47; the same address
 * with a high bit set must still be refused, small object or large block.
 */
static void free_alias(void *arg)
{
	char *p = kmalloc((size_t)(long)arg, GFP_KERNEL);

	kfree((void *)((unsigned long)p | 1UL << 47));
}

static void free_glibc(void *arg)
{
	(void)arg;
	kmalloc(10, GFP_KERNEL);
	kfree(malloc(100));
}

static void ksize_bad(void *arg)
{
	int x = 0;

	(void)arg;
	ksize(&x);
}

START_TEST(test_bad_pointers)
{
	expect_abort(free_stack, NULL, "kmem: kfree(): invalid pointer 0x");
	expect_abort(free_stack, NULL, "not allocated by kmem");
	expect_abort(free_middle, (void *)64L, "not the start of an object");
	expect_abort(free_middle, (void *)100000L, "not the start of an allocation");
	expect_abort(free_middle, (void *)(8L << 20), "not the start of an allocation");
	expect_abort(double_kfree, (void *)64L, "double free or corruption (cache kmalloc-64)");
	expect_abort(double_kfree, (void *)20000L, "kmem: kfree(): double free 0x");
	/* A huge block freed twice: its space is free in the heap. */
	expect_abort(double_kfree, (void *)(8L << 20), "kmem: kfree(): double free 0x");
	expect_abort(double_kfree, (void *)(8L << 20), "the block is already free");
	expect_abort(free_alias, (void *)(8L << 20), "kmem: kfree(): invalid pointer 0x");
	expect_abort(free_alias, (void *)64L, "kmem: kfree(): invalid pointer 0x");
	expect_abort(free_alias, (void *)20000L, "kmem: kfree(): invalid pointer 0x");
	expect_abort(free_glibc, NULL, "invalid pointer");
	expect_abort(ksize_bad, NULL, "kmem: ksize(): invalid pointer");
}
END_TEST

static Suite *kmalloc_suite(void)
{
	Suite *s = suite_create("kmalloc");
	TCase *tc = tcase_create("kmalloc");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_every_small_size);
	tcase_add_test(tc, test_zero_and_null);
	tcase_add_test(tc, test_array_overflow);
	tcase_add_test(tc, test_zeroing_reused);
	tcase_add_test(tc, test_kzalloc_from_magazine);
	tcase_add_test(tc, test_large_and_huge);
	tcase_add_test(tc, test_large_tail_released);
	tcase_add_test(tc, test_large_tail_kept_while_regrowing);
	tcase_add_test(tc, test_large_tail_given_back_once);
	tcase_add_test(tc, test_krealloc);
	tcase_add_test(tc, test_krealloc_shrinks_huge);
	tcase_add_test(tc, test_krealloc_grows_huge);
	tcase_add_test(tc, test_realloc_copies_written);
	tcase_add_test(tc, test_huge_nowait);
	tcase_add_test(tc, test_sensitive);
	tcase_add_test(tc, test_dup);
	tcase_add_test(tc, test_kfree_cache_objects_and_bulk);
	tcase_add_test(tc, test_bad_pointers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(kmalloc_suite());
}
