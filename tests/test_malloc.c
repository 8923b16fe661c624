// SPDX-License-Identifier: MIT
/*
 * tests/test_malloc.c - the malloc front-end against glibc's semantics.
 *
 * These call the kmem_ names; libkmem-malloc.so exports the same functions
 * under the standard names (tests/preload runs real programs with it).
 * Expectations are glibc 2.36's, the C library of the machines kmem
 * targets: errno values, posix_memalign's return-only EINVAL, memalign's
 * rounding of alignments, realloc(p, 0) freeing.
 */
#include "kmem_test.h"
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <kmem/malloc.h>
#include "core/os.h"
#include "kmalloc/kmalloc.h"
#include "reaper_wait.h"
#include "release_clock.h"
#include "slow_paths.h"

static const size_t boundaries[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512,
				     1024, 2048, 4096, 8192, 16384, 65536,
				     1 << 20, 4 << 20, 32 << 20 };

static void check_block(void *p, size_t n)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_msg((unsigned long)p % 16 == 0, "%p for %zu bytes not 16-aligned",
		      p, n);
	ck_assert_uint_ge(kmem_malloc_usable_size(p), n);
	if (n)
		memset(p, 0xa7, n);
}

START_TEST(test_sizes)
{
	void *a = kmem_malloc(0), *b = kmem_malloc(0);

	check_block(a, 0);
	check_block(b, 0);
	ck_assert_ptr_ne(a, b);	/* unique */
	kmem_free(a);
	kmem_free(b);
	kmem_free(NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(boundaries); i++) {
		for (long d = -1; d <= 1; d++) {
			size_t n = boundaries[i] + (size_t)d;
			void *p = kmem_malloc(n);

			check_block(p, n);
			kmem_free(p);
		}
	}
	for (size_t n = 1; n < 3000; n += 7) {
		void *p = kmem_malloc(n);

		check_block(p, n);
		kmem_free(p);
	}
}
END_TEST

/*
 * Issue 14: free() then malloc() of the same class hands the block freed
 * last back, and a cycle of one malloc and one free uses one block (the
 * free path that knows only the page: slab.h, slab_free_page_fast()).
 * Before, the cycle walked through a magazine's worth of blocks: 32 of
 * 3,000 bytes, 96 KiB of pages touched for one block in use.  In a
 * thread pinned to its CPU, so that every call uses one CPU's slot.
 */
struct block_cycle {
	bool pinned;
	void *freed[2], *got[2], *first;
	unsigned int others;
};

static void *block_cycle_thread(void *arg)
{
	struct block_cycle *b = arg;
	cpu_set_t set;
	void *o[40];

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	b->pinned = !pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (!b->pinned)
		return NULL;
	for (int i = 0; i < 40; i++)		/* past the warm-up */
		o[i] = kmem_malloc(3000);
	b->freed[0] = o[5];
	b->freed[1] = o[25];
	kmem_free(o[5]);
	kmem_free(o[25]);
	b->got[0] = kmem_malloc(3000);
	b->got[1] = kmem_malloc(3000);
	for (int i = 0; i < 5000; i++) {
		void *p = kmem_malloc(2900);

		if (!i)
			b->first = p;
		b->others += p != b->first;
		memset(p, 0x3c, 2900);
		kmem_free(p);
	}
	kmem_free(b->got[0]);
	kmem_free(b->got[1]);
	for (int i = 0; i < 40; i++)
		if (i != 5 && i != 25)
			kmem_free(o[i]);
	return NULL;
}

START_TEST(test_last_freed_block_first)
{
	struct block_cycle b = { 0 };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, block_cycle_thread, &b), 0);
	pthread_join(t, NULL);
	ck_assert_msg(b.pinned, "could not pin the thread to its CPU");
	ck_assert_ptr_eq(b.got[0], b.freed[1]);
	ck_assert_ptr_eq(b.got[1], b.freed[0]);
	ck_assert_msg(!b.others, "%u of 5000 cycles got another block",
		      b.others);
}
END_TEST

/*
 * KFENCE's open gate (kfence/kfence.h) waits for an allocation it can
 * guard, a page or less.  Larger ones keep their fast paths meanwhile:
 * they used to go the slow way until a small allocation came, which in
 * a program of only larger blocks (medium's 4-32 KiB, a loop of 8 KiB
 * buffers) was never: pairs of 8 KiB ran at 40 ns instead of 7.  The
 * slow paths are counted as tests/slow_paths.h says.
 */

enum { GATE_CYCLES = 1000 };

START_TEST(test_kfence_gate_spares_larger_sizes)
{
	unsigned long before, slow;
	void *o[40];

	for (int i = 0; i < 40; i++)		/* past the warm-up */
		o[i] = kmem_malloc(8192);
	for (int i = 0; i < 40; i++)
		kmem_free(o[i]);
	for (int i = 0; i < 40; i++)
		o[i] = kmalloc(8192, GFP_KERNEL);
	for (int i = 0; i < 40; i++)
		kfree(o[i]);
	WRITE_ONCE(kfence_gate, 1);
	before = slow_paths();
	for (int i = 0; i < GATE_CYCLES; i++) {
		void *p = kmem_malloc(8192), *q = kmem_calloc(1, 6000),
		     *k = kmalloc(8192, GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(q);
		ck_assert_ptr_nonnull(k);
		ck_assert_uint_eq(((unsigned char *)q)[5999], 0);
		memset(q, 0x5a, 6000);
		kfree(k);
		kmem_free(q);
		kmem_free(p);
	}
	slow = slow_paths() - before;
	/* No allocation of a page or less came: the gate is still open. */
	ck_assert_int_eq(READ_ONCE(kfence_gate), 1);
	WRITE_ONCE(kfence_gate, 0);
	ck_assert_msg(slow <= GATE_CYCLES / 20,
		      "%lu slow paths in %d cycles of 3 allocations above a page",
		      slow, GATE_CYCLES);
}
END_TEST

/*
 * The aligned family (posix_memalign, aligned_alloc, memalign) pops the
 * magazine as malloc() does: a power-of-two class for an alignment above
 * 16 bytes, the size's own class for 16 or less.  It went to the slow
 * path on every call: 43-56 ns a pair against 7 for malloc().
 */
START_TEST(test_aligned_family_from_magazine)
{
	static const size_t aligns[] = { 8, 16, 64, 256, 4096 };
	unsigned long before, slow;
	void *o[40];

	for (unsigned int a = 0; a < ARRAY_SIZE(aligns); a++) {
		for (int i = 0; i < 40; i++)		/* past the warm-up */
			ck_assert_int_eq(kmem_posix_memalign(&o[i], aligns[a],
							     200), 0);
		for (int i = 0; i < 40; i++)
			kmem_free(o[i]);
	}
	before = slow_paths();
	for (int i = 0; i < GATE_CYCLES; i++) {
		for (unsigned int a = 0; a < ARRAY_SIZE(aligns); a++) {
			void *p, *q = kmem_aligned_alloc(aligns[a], 200),
			      *r = kmem_memalign(aligns[a], 200);

			ck_assert_int_eq(kmem_posix_memalign(&p, aligns[a], 200),
					 0);
			ck_assert_ptr_nonnull(q);
			ck_assert_ptr_nonnull(r);
			ck_assert_uint_eq((uintptr_t)p % aligns[a], 0);
			ck_assert_uint_eq((uintptr_t)q % aligns[a], 0);
			ck_assert_uint_eq((uintptr_t)r % aligns[a], 0);
			ck_assert_uint_ge(kmem_malloc_usable_size(p), 200);
			memset(p, 0x11, 200);
			memset(q, 0x22, 200);
			memset(r, 0x33, 200);
			kmem_free(r);
			kmem_free(q);
			kmem_free(p);
		}
	}
	slow = slow_paths() - before;
	ck_assert_msg(slow <= GATE_CYCLES / 20,
		      "%lu slow paths in %d cycles of the aligned family",
		      slow, GATE_CYCLES);
}
END_TEST

static volatile size_t big = SIZE_MAX, huge_ptrdiff = (size_t)PTRDIFF_MAX;

START_TEST(test_impossible_sizes)
{
	size_t size_max = big, ptrdiff_max = huge_ptrdiff;

	errno = 0;
	ck_assert_ptr_null(kmem_malloc(size_max));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_malloc(ptrdiff_max + 1));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_malloc(ptrdiff_max));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_calloc(size_max / 2, 3));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_calloc(1, size_max));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_reallocarray(NULL, size_max / 2, 3));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(kmem_pvalloc(size_max));
	ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(test_calloc_zeroes_dirty_memory)
{
	size_t sizes[] = { 1, 16, 100, 1000, 8192, 9000, 100000, 3 << 20,
			   10 << 20 };

	for (unsigned int k = 0; k < ARRAY_SIZE(sizes); k++) {
		for (int round = 0; round < 3; round++) {
			void *p[8];

			for (int i = 0; i < 8; i++) {
				p[i] = kmem_malloc(sizes[k]);
				memset(p[i], 0xff, sizes[k]);
			}
			for (int i = 0; i < 8; i++)
				kmem_free(p[i]);
			for (int i = 0; i < 8; i++) {
				p[i] = kmem_calloc(sizes[k], 1);
				check_block(p[i], 0);
				ck_assert(all_bytes(p[i], sizes[k], 0));
			}
			for (int i = 0; i < 8; i++)
				kmem_free(p[i]);
		}
	}
	kmem_free(kmem_calloc(0, 5));
}
END_TEST

START_TEST(test_realloc)
{
	unsigned char *p = kmem_realloc(NULL, 5), *q;
	size_t prev = 5;

	check_block(p, 5);
	for (int i = 0; i < 5; i++)
		p[i] = (unsigned char)(i + 1);
	/* Grow across every boundary, then shrink back, keeping contents. */
	for (unsigned int i = 0; i < ARRAY_SIZE(boundaries); i++) {
		for (long d = -1; d <= 1; d++) {
			size_t n = boundaries[i] + (size_t)d;

			q = kmem_realloc(p, n);
			ck_assert_ptr_nonnull(q);
			for (size_t j = 0; j < min(prev, n) && j < 4096; j++)
				ck_assert_uint_eq(q[j], (unsigned char)(j < 5 ? j + 1 : j * 7));
			for (size_t j = 5; j < n && j < 4096; j++)
				q[j] = (unsigned char)(j * 7);
			p = q;
			prev = n;
		}
	}
	for (int i = ARRAY_SIZE(boundaries) - 1; i >= 0; i--) {
		q = kmem_realloc(p, boundaries[i]);
		ck_assert_ptr_nonnull(q);
		for (size_t j = 0; j < 5; j++)
			ck_assert_uint_eq(q[j], j + 1);
		p = q;
	}
	/* In place inside the size class, and inside a page block. */
	p = kmem_malloc(20);
	ck_assert_ptr_eq(kmem_realloc(p, 30), p);
	kmem_free(p);
	p = kmem_malloc(9300);
	q = kmem_realloc(p, 10000);	/* malloc-10k */
	ck_assert_ptr_eq(q, p);
	/* Failure leaves the old block alone. */
	errno = 0;
	ck_assert_ptr_null(kmem_realloc(q, big));
	ck_assert_int_eq(errno, ENOMEM);
	q[9999] = 1;
	/* realloc(p, 0) frees p and returns NULL, as glibc does. */
	ck_assert_ptr_null(kmem_realloc(q, 0));
	p = kmem_reallocarray(NULL, 10, 10);
	check_block(p, 100);
	kmem_free(p);
}
END_TEST

/*
 * A block shrunk by realloc() holds no more than malloc() of the new size
 * would: CPython builds every formatted string in an overallocated buffer
 * and shrinks it, and with its objects kept in their first classes its
 * peak RSS was 1.2x glibc's (Documentation/performance.md, "realloc
 * shrinks to the class").
 */
START_TEST(test_realloc_shrinks_to_class)
{
	static const size_t sizes[][2] = {
		{ 500, 50 },		/* 512 -> 64: stayed, half-waste rule */
		{ 1000, 700 },		/* 1024 -> malloc-768 */
		{ 256, 100 },		/* kmalloc-256 -> kmalloc-128 */
		{ 14000, 3000 },	/* malloc-14k -> malloc-3k */
		{ 20000, 5000 },	/* a large block -> malloc-5k */
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t from = sizes[i][0], to = sizes[i][1];
		unsigned char *p = kmem_malloc(from), *q, *r;
		void *fresh = kmem_malloc(to);
		size_t want = kmem_malloc_usable_size(fresh);

		kmem_free(fresh);
		for (size_t j = 0; j < from; j++)
			p[j] = (unsigned char)(j * 13 + i);
		q = kmem_realloc(p, to);
		ck_assert_ptr_nonnull(q);
		ck_assert_msg(kmem_malloc_usable_size(q) == want,
			      "realloc(%zu B block, %zu) holds %zu B, malloc(%zu) %zu B",
			      from, to, kmem_malloc_usable_size(q), to, want);
		for (size_t j = 0; j < to; j++)
			ck_assert_uint_eq(q[j], (unsigned char)(j * 13 + i));
		/* Within its class it stays where it is. */
		r = kmem_realloc(q, to - 1);
		ck_assert_ptr_eq(r, q);
		kmem_free(r);
	}
	/* A quarter over the size stays: 640 bytes hold 512 (malloc: 512). */
	{
		void *p = kmem_malloc(600), *q;

		ck_assert_uint_eq(kmem_malloc_usable_size(p), 640);
		q = kmem_realloc(p, 512);
		ck_assert_ptr_eq(q, p);
		kmem_free(q);
	}
}
END_TEST

/*
 * A large block of order 3 at the start of an order-5 block whose other
 * pages are free: pages 8-15 as a free block of order 3 and 16-31 of
 * order 4, freed by the calling thread (onto its own lists, or the
 * zone's).  Made by hand from an order-5 block, as the buddy allocator's
 * splits leave them.  @holder, if set, frees pages 8-15 instead (onto its
 * lists) and keeps them there until grow_holder_release().
 */
struct grow_holder {
	struct page *page;
	pthread_t thread;
	pthread_barrier_t freed, done;
};

static void *grow_holder_thread(void *arg)
{
	struct grow_holder *h = arg;

	__free_pages(h->page, 3);
	pthread_barrier_wait(&h->freed);
	pthread_barrier_wait(&h->done);	/* its lists live until here */
	return NULL;
}

static unsigned char *large_before_free_pages(size_t size,
					      struct grow_holder *holder)
{
	struct page *page = alloc_pages(GFP_KERNEL, 5);

	ck_assert_ptr_nonnull(page);
	page->order = 3;
	page[8].type = PG_alloc;
	page[8].order = 3;
	page[16].type = PG_alloc;
	page[16].order = 4;
	__free_pages(&page[16], 4);
	if (holder) {
		holder->page = &page[8];
		pthread_barrier_init(&holder->freed, NULL, 2);
		pthread_barrier_init(&holder->done, NULL, 2);
		ck_assert_int_eq(pthread_create(&holder->thread, NULL,
						grow_holder_thread, holder), 0);
		pthread_barrier_wait(&holder->freed);
	} else {
		__free_pages(&page[8], 3);
	}
	large_setup(page, 3, size, 0);
	return page_address(page);
}

/* The holder lets go: its thread exits, its lists go back to the zone. */
static void grow_holder_release(struct grow_holder *h)
{
	pthread_barrier_wait(&h->done);
	ck_assert_int_eq(pthread_join(h->thread, NULL), 0);
	pthread_barrier_destroy(&h->freed);
	pthread_barrier_destroy(&h->done);
}

/*
 * A large block grows where it is when the pages after it are free and
 * complete a block: a buffer doubled by realloc() is neither copied nor
 * left behind, resident and free (ls -l grows its file table 20,800 ->
 * 41,600 -> 83,200 bytes).  Pages another thread holds on its own list
 * are its own: then realloc moves the block; once that thread has
 * exited they are the zone's, and taken.
 */
START_TEST(test_realloc_grows_large_in_place)
{
	struct grow_holder holder;
	unsigned char *p, *q;

	p = large_before_free_pages(20800, NULL);
	for (size_t i = 0; i < 20800; i++)
		p[i] = (unsigned char)(i * 7);
	q = kmem_realloc(p, 41600);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), 11 * PAGE_SIZE);
	memset(q + 20800, 0xa5, 41600 - 20800);
	q = kmem_realloc(q, 83200);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), 21 * PAGE_SIZE);
	ck_assert_uint_eq(virt_to_page(q)->order, 5);
	memset(q + 41600, 0x5a, 83200 - 41600);
	for (size_t i = 0; i < 20800; i++)
		ck_assert_uint_eq(q[i], (unsigned char)(i * 7));
	ck_assert(all_bytes((char *)q + 20800, 41600 - 20800, 0xa5));
	/* Past order 5 the next block is not free (or not the buddy): moves
	 * or grows, the bytes go with it. */
	q = kmem_realloc(q, 300000);
	ck_assert_ptr_nonnull(q);
	ck_assert(all_bytes((char *)q + 41600, 83200 - 41600, 0x5a));
	kmem_free(q);
	ck_assert_int_eq(buddy_validate(), 0);

	/* Pages 8-15 on another thread's list: not taken. */
	p = large_before_free_pages(20800, &holder);
	memset(p, 3, 20800);
	q = kmem_realloc(p, 41600);
	ck_assert_ptr_ne(q, p);
	ck_assert(all_bytes((char *)q, 20800, 3));
	ck_assert_int_eq(buddy_validate(), 0);
	grow_holder_release(&holder);
	kmem_free(q);

	/* The same pages once their thread has exited: on the zone's free
	 * list, where they are taken. */
	p = large_before_free_pages(20800, &holder);
	grow_holder_release(&holder);
	ck_assert_uint_eq(virt_to_page(p)[8].type, PG_buddy);
	memset(p, 4, 20800);
	q = kmem_realloc(p, 41600);
	ck_assert_ptr_eq(q, p);
	ck_assert(all_bytes((char *)q, 20800, 4));
	kmem_free(q);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_huge_realloc_in_place)
{
	char *p = kmem_malloc(8 << 20);
	char *q;

	memset(p, 9, 8 << 20);
	q = kmem_realloc(p, 6 << 20);	/* shrinks in place */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_ge(kmem_malloc_usable_size(q), 6 << 20);
	q = kmem_realloc(q, 9 << 20);	/* grows in place or moves */
	ck_assert(all_bytes(q, 6 << 20, 9));
	kmem_free(q);
}
END_TEST

static struct kmem_buddyinfo buddyinfo(void)
{
	struct kmem_buddyinfo bi;

	kmem_buddyinfo_get(&bi);
	return bi;
}

/*
 * The end of a test of the huge heap: the kernel refused no move since
 * @errors, and malloc_trim() gives every kept extent back.
 */
static void kept_all_given_back(unsigned long errors)
{
	ck_assert_uint_eq(kmem_os_move_errors(), errors);
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
}

/* Pages of [@p, @p + @len) not resident (mincore), at most 3072. */
static size_t pages_absent(const void *p, size_t len)
{
	static unsigned char vec[3072];
	size_t absent = 0;

	ck_assert_uint_le(len / PAGE_SIZE, sizeof(vec));
	ck_assert_int_eq(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < len / PAGE_SIZE; i++)
		absent += !(vec[i] & 1);
	return absent;
}

/*
 * A fresh large block is mapped ahead (one madvise(MADV_POPULATE_WRITE))
 * when the last fresh block the thread got was written to its end, and
 * then only as many bytes as that one had, never its own last page, never
 * for calloc(); errno stays as it was (kmalloc/large.c, large_map_ahead()).
 */
START_TEST(test_fresh_large_mapped_ahead)
{
	const size_t sz = (64 << 10) + 100, pages = DIV_ROUND_UP(sz, PAGE_SIZE);
	bool supported = populate_supported();
	unsigned long calls;
	char *a, *b, *c, *d, *e;

	kmem_shrink_all();	/* free blocks go back: the next ones are fresh */
	a = kmem_malloc(sz);
	memset(a, 1, sz);		/* written to its end */
	calls = kmem_os_populate_calls();
	errno = 4321;
	b = kmem_malloc(sz);
	ck_assert_int_eq(errno, 4321);
	ck_assert_uint_eq(pages_absent(b, pages * PAGE_SIZE),
			  (size_t)(supported ? 1 : pages));
	ck_assert_uint_eq(kmem_os_populate_calls(), calls + supported);

	/* b was not written: the next block is left to fault in. */
	c = kmem_malloc(sz);
	ck_assert_uint_eq(pages_absent(c, pages * PAGE_SIZE), pages);
	ck_assert_uint_eq(kmem_os_populate_calls(), calls + supported);

	/* Written whole, then doubled: only c's size is mapped ahead. */
	memset(c, 2, sz);
	d = kmem_malloc(4 * sz);
	ck_assert_uint_eq(pages_absent(d, DIV_ROUND_UP(4 * sz, PAGE_SIZE) *
					  PAGE_SIZE),
			  DIV_ROUND_UP(4 * sz, PAGE_SIZE) -
				  (supported ? sz / PAGE_SIZE : 0));

	/* calloc() after a block written whole: nothing mapped ahead. */
	memset(d, 3, 4 * sz);
	e = kmem_calloc(1, sz);
	ck_assert_uint_eq(pages_absent(e, pages * PAGE_SIZE), pages);
	kmem_free(a);
	kmem_free(b);
	kmem_free(c);
	kmem_free(d);
	kmem_free(e);
}
END_TEST

/* KMEM_MAP_AHEAD=0: nothing is mapped ahead, slabs or large blocks. */
START_TEST(test_map_ahead_off)
{
	const size_t sz = (64 << 10) + 100, pages = DIV_ROUND_UP(sz, PAGE_SIZE);
	static void *o[4096];
	char *a, *b;
	size_t n = 0;

	setenv("KMEM_MAP_AHEAD", "0", 1);
	kmem_shrink_all();
	a = kmem_malloc(sz);
	memset(a, 1, sz);
	b = kmem_malloc(sz);
	ck_assert_uint_eq(pages_absent(b, pages * PAGE_SIZE), pages);
	/* 2 MiB of 1 KiB objects: well past 8 slabs of their cache. */
	while (n < ARRAY_SIZE(o) / 2)
		o[n++] = kmem_malloc(1000);
	ck_assert_uint_eq(kmem_os_populate_calls(), 0);
	while (n)
		kmem_free(o[--n]);
	kmem_free(a);
	kmem_free(b);
}
END_TEST

/*
 * Issue 14: a freed huge block (above 4 MiB) is kept, resident,
 * and the next such allocation that it fits takes it: no mmap, no page
 * fault.  The malloc-large shape (one of a few live 5-25 MiB buffers
 * replaced at a time, each written whole) and the mstress shape (a rare
 * 5 MB block among small ones) each mapped and faulted every block in
 * again when freed mappings were unmapped.
 */
START_TEST(test_huge_mappings_reused)
{
	static const unsigned int mib[] = { 5, 9, 13, 17, 21, 25, 7, 11, 15,
					    19, 23, 6, 12, 18, 24 };
	const int rounds = 45;
	unsigned long maps, pages = 0;
	void *live[4];
	long faults;

	for (int i = 0; i < 4; i++) {
		live[i] = kmem_malloc((size_t)mib[i] << 20);
		memset(live[i], i, (size_t)mib[i] << 20);
	}
	maps = kmem_os_map_calls();
	faults = minor_faults();
	for (int r = 0; r < rounds; r++) {
		size_t n = ((size_t)mib[(r * 7) % ARRAY_SIZE(mib)] << 20) - 1000;
		int i = r % 4;

		kmem_free(live[i]);
		live[i] = kmem_malloc(n);
		ck_assert_ptr_nonnull(live[i]);
		memset(live[i], r, n);
		pages += n / PAGE_SIZE;
	}
	faults = minor_faults() - faults;
	maps = kmem_os_map_calls() - maps;
	ck_assert_msg(maps * 4 <= (unsigned long)rounds,
		      "%lu mappings for %d replacements", maps, rounds);
	ck_assert_msg((unsigned long)faults * 4 <= pages,
		      "%ld page faults for %lu pages written", faults, pages);
	for (int i = 0; i < 4; i++)
		kmem_free(live[i]);

	/* mstress: small blocks, and now and then one of 5 MB. */
	kmem_malloc_trim(0);		/* nothing kept */
	for (int r = -1; r < 50; r++) {
		void *small[64];
		char *b;

		for (int k = 0; k < 64; k++)
			small[k] = kmem_malloc(8 + (size_t)(k * 37 + r) % 500);
		if (!r) {	/* the first of them maps */
			maps = kmem_os_map_calls();
			faults = minor_faults();
		}
		b = kmem_malloc(5000000);
		memset(b, r, 5000000);
		kmem_free(b);
		for (int k = 0; k < 64; k++)
			kmem_free(small[k]);
	}
	faults = minor_faults() - faults;
	maps = kmem_os_map_calls() - maps;
	ck_assert_msg(maps <= 1, "%lu mappings for 50 blocks of 5 MB", maps);
	ck_assert_msg(faults < (long)(5000000 / PAGE_SIZE),
		      "%ld page faults for 50 blocks of 5 MB", faults);
}
END_TEST

/*
 * Issue 14: what is kept is counted (buddyinfo's huge_cached), bounded
 * (KMEM_HUGE_RETAIN_MB: the oldest go beyond it; a mapping larger than
 * the bound is not kept; 0 keeps none), given back at once by
 * malloc_trim(), and after the decay time by the reaper while the
 * process does nothing (a bounded wait for the figure to drop, polled).
 */
START_TEST(test_huge_mappings_given_back)
{
	unsigned long gives, limit = kmem_config.huge_retain;
	struct timespec ms = { 0, 1000000 };
	void *p, *q;
	int waited;

	ck_assert_uint_eq(limit, 64UL << 20);	/* the documented default */
	p = kmem_malloc(8 << 20);
	kmem_free(p);
	ck_assert_uint_eq(buddyinfo().huge_cached, 8 << 20);
	ck_assert_uint_eq(buddyinfo().nr_huge_cached, 1);
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	gives = kmem_os_gives_back();
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	ck_assert_uint_gt(kmem_os_gives_back(), gives);

	/* The bound. */
	kmem_config.huge_retain = 16 << 20;
	p = kmem_malloc(20 << 20);
	kmem_free(p);				/* above the bound */
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	p = kmem_malloc(10 << 20);
	q = kmem_malloc(9 << 20);
	kmem_free(p);
	ck_assert_uint_eq(buddyinfo().huge_cached, 10 << 20);
	kmem_free(q);				/* p's goes */
	ck_assert_uint_eq(buddyinfo().huge_cached, 9 << 20);
	kmem_config.huge_retain = 0;		/* keep none */
	p = kmem_malloc(12 << 20);		/* the kept 9 MiB, grown */
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	kmem_free(p);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	kmem_config.huge_retain = limit;

	/* Idle: the reaper gives it back after the decay time. */
	kmem_config.decay_ms = 20;
	p = kmem_malloc(6 << 20);
	kmem_free(p);
	for (waited = 0; buddyinfo().huge_cached && waited < 60000; waited++)
		nanosleep(&ms, NULL);
	ck_assert_msg(buddyinfo().huge_cached == 0,
		      "%lu bytes still kept after %d ms", buddyinfo().huge_cached,
		      waited);
}
END_TEST

/*
 * Over the bound, the kept block freed first goes back first, also when
 * two were freed in the same millisecond and the later one lies lower in
 * the heap.  On a clock that does not move, the kept extents were taken
 * by time and then by address, so the lower one went: this failed
 * test_huge_mappings_given_back about once in a hundred runs, when the
 * reaper, still giving a block back as the test allocated the next two,
 * left the second below the first.  On the test's clock, with no reaper.
 */
START_TEST(test_huge_oldest_kept_goes_first)
{
	unsigned long limit = kmem_config.huge_retain;
	char *low, *high;

	kmem_config.background = false;
	release_clock_ms = 10UL * 1000 * 1000;
	buddy_set_clock(release_clock);
	kmem_config.huge_retain = 16 << 20;
	low = kmem_malloc(9 << 20);
	high = kmem_malloc(10 << 20);
	ck_assert_ptr_nonnull(low);
	ck_assert_ptr_nonnull(high);
	ck_assert_msg(low < high, "a new arena's blocks are not in address order");
	memset(low, 1, 9 << 20);
	memset(high, 2, 10 << 20);
	kmem_free(high);
	ck_assert_uint_eq(buddyinfo().huge_cached, 10 << 20);
	kmem_free(low);			/* 19 MiB kept: high's goes */
	ck_assert_uint_eq(buddyinfo().huge_cached, 9 << 20);
	low = kmem_malloc(9 << 20);	/* the kept one: still its data */
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	ck_assert_uint_eq((unsigned char)low[0], 1);
	ck_assert_uint_eq((unsigned char)low[(9 << 20) - 1], 1);
	kmem_free(low);
	kmem_config.huge_retain = limit;
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	buddy_set_clock(NULL);
}
END_TEST

/*
 * Issue 14, item 3, for huge blocks: a 12 MiB buffer freed and
 * made again every 3 s, free for 1.5 s each time (longer than the 1 s
 * decay), and an 8 MiB one freed once and never asked for again.  The
 * process stays busy (it takes from the zone every second).  The kept
 * 12 MiB mapping must serve every period (no new mapping, no fault of its
 * pages) while the 8 MiB one goes once the peak that needed it left the
 * window; idle for the decay time, the cache empties.  (By age alone the
 * 12 MiB mapping was unmapped in every period and mapped again.)  The
 * policy's clock is the test's, the reaper off: the test runs the cache's
 * pass itself.
 */
START_TEST(test_huge_kept_for_recent_peak)
{
	const size_t buf = 12 << 20, spare = 8 << 20;
	const unsigned long base = 10UL * 1000 * 1000;
	unsigned long next = 0, maps = 0, t;
	char *a, *b;

	release_clock_start(base, 1000, 16);

	a = kmem_malloc(buf);
	b = kmem_malloc(spare);
	ck_assert(a && b);
	memset(a, 1, buf);
	memset(b, 2, spare);
	kmem_free(b);		/* never asked for again */
	for (int c = 0; c < 12; c++) {
		t = base + (unsigned long)c * 3000;
		release_clock_ms = t;
		if (c) {
			a = kmem_malloc(buf);
			ck_assert_ptr_nonnull(a);
			memset(a, 1, buf);
		}
		if (c == 1)
			maps = kmem_os_map_calls();
		release_clock_ms = t + 500;
		kmem_free(a);
		release_clock_ms = t + 1000;
		release_busy_take();
		huge_cache_reap(release_clock_ms, &next);
		release_clock_ms = t + 2000;
		release_busy_take();
		huge_cache_reap(release_clock_ms, &next);
		ck_assert_msg(buddyinfo().huge_cached >= buf,
			      "period %d: %lu bytes kept: the buffer made every "
			      "3 s was unmapped", c, buddyinfo().huge_cached);
	}
	ck_assert_msg(kmem_os_map_calls() == maps,
		      "%lu mappings made for a buffer kept in reuse",
		      kmem_os_map_calls() - maps);
	ck_assert_msg(buddyinfo().huge_cached == buf,
		      "%lu bytes kept after 36 s, want the 12 MiB buffer alone",
		      buddyinfo().huge_cached);

	/* Idle: no take for the decay time, and the cache empties. */
	release_clock_ms += kmem_config.decay_ms;
	huge_cache_reap(release_clock_ms, &next);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	buddy_set_clock(NULL);
}
END_TEST

/*
 * The peak demand of huge bytes is noted without the zone lock when the
 * note would change nothing (session 30: a huge block made and freed in
 * a loop took the zone lock twice a pair for it); a higher demand within
 * the same millisecond must still be noted.  8 MiB made, freed and made
 * again, then 12 MiB more, all in one millisecond: 20 MiB in use at the
 * peak.  Past the decay time, in a busy process, both freed blocks stay
 * kept (the recent peak needed them); a note that skipped the 20 MiB
 * would keep 8 MiB.  Idle for the decay time, the heap keeps none.  The
 * test's clock, no reaper.
 */
START_TEST(test_huge_peak_noted_within_a_millisecond)
{
	const size_t mib = 1 << 20;
	const unsigned long base = 10UL * 1000 * 1000;
	unsigned long next = 0;
	char *a, *b;

	release_clock_start(base, 1000, 16);

	a = kmem_malloc(8 * mib);
	ck_assert_ptr_nonnull(a);
	kmem_free(a);
	a = kmem_malloc(8 * mib);
	b = kmem_malloc(12 * mib);
	ck_assert(a && b);
	kmem_free(a);
	kmem_free(b);
	ck_assert_uint_eq(buddyinfo().huge_cached, 20 * mib);

	release_clock_ms = base + 1500;
	release_busy_take();
	huge_cache_reap(release_clock_ms, &next);
	ck_assert_msg(buddyinfo().huge_cached == 20 * mib,
		      "%lu bytes kept past the decay time; the peak of 20 MiB "
		      "in use needs both blocks", buddyinfo().huge_cached);

	release_clock_ms += kmem_config.decay_ms;
	huge_cache_reap(release_clock_ms, &next);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	buddy_set_clock(NULL);
}
END_TEST

/*
 * Issue 14: calloc() zeroes a reused huge block (only memory fresh from
 * the OS skips the memset); realloc() of one that cannot grow where it is
 * moves its pages with mremap instead of copying them (no fault), and
 * its old place stays in the heap, zero.
 */
START_TEST(test_huge_calloc_and_realloc)
{
	const size_t n = 12 << 20;
	unsigned long maps, moves;
	char *p, *q, *stop;
	long faults;

	p = kmem_malloc(n);
	memset(p, 0xff, n);
	kmem_free(p);
	maps = kmem_os_map_calls();
	q = kmem_calloc(1, n - 1000);
	ck_assert_ptr_eq(q, p);			/* the kept one */
	ck_assert_uint_eq(kmem_os_map_calls(), maps);
	ck_assert(all_bytes(q, n - 1000, 0));
	p = q;
	__asm__("" : "+r"(p));	/* all of it is usable */
	memset(p, 0x5a, n);

	/* A block right after it: it cannot grow in place. */
	stop = kmem_malloc(5 << 20);
	ck_assert_ptr_eq(stop, q + ALIGN(n, PAGE_SIZE));
	moves = kmem_os_move_calls();
	faults = minor_faults();
	p = kmem_realloc(q, 3 * n);
	faults = minor_faults() - faults;
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_ne(p, q);
	ck_assert_uint_eq(kmem_os_move_calls(), moves + 1);
	ck_assert_msg(faults < 64, "%ld page faults moving %zu bytes", faults, n);
	ck_assert(all_bytes(p, n, 0x5a));
	ck_assert(all_bytes(p + n, 2 * n, 0));
	ck_assert_uint_ge(kmem_malloc_usable_size(p), 3 * n);
	kmem_free(p);
	kmem_free(stop);
	/* Its old place is the heap's again, zero (nothing was left there). */
	p = kmem_malloc(n);
	ck_assert_ptr_eq(p, q);
	ck_assert(all_bytes(p, n, 0));
	kmem_free(p);
}
END_TEST

/*
 * Issue 14: a request that no kept extent holds alone is served by a run
 * of adjacent kept extents (two freed blocks side by side), so that no
 * page is faulted in while kept ones wait; calloc, realloc (growing in
 * place or moved), shrinking and reuse see one block.  On the
 * whole-mapping policy 5 MiB of the 12 MiB below were new pages (faulted
 * in when written: 1,284 faults) while 6 MiB stayed kept.
 */
START_TEST(test_huge_kept_gathered)
{
	const size_t mib = 1 << 20;
	unsigned long errors = kmem_os_move_errors();
	size_t absent;
	char *a, *b, *p;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	a = kmem_malloc(7 * mib);
	memset(a, 1, 7 * mib);
	b = kmem_malloc(6 * mib);
	memset(b, 2, 6 * mib);
	kmem_free(a);
	kmem_free(b);
	ck_assert_uint_eq(buddyinfo().huge_cached, 13 * mib);
	p = kmem_malloc(12 * mib);
	/* Every page of it is a kept one, resident before it is written. */
	absent = pages_absent(p, 12 * mib);
	ck_assert_msg(!absent, "%zu of 3072 pages not resident", absent);
	memset(p, 3, 12 * mib);
	ck_assert_uint_eq(buddyinfo().huge_cached, 1 * mib);
	ck_assert_uint_eq(buddyinfo().nr_huge_cached, 1);

	/* calloc of a block that takes kept pages: all zero. */
	kmem_free(p);
	p = kmem_calloc(1, 12 * mib + 4096);	/* 12 MiB + a page of 1 MiB */
	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 12 * mib + 4096, 0));
	ck_assert_uint_eq(buddyinfo().huge_cached, 1 * mib - 4096);
	memset(p, 4, 12 * mib + 4096);

	/* It grows (in place, or moved), shrinks, is reused. */
	p = kmem_realloc(p, 30 * mib);
	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 12 * mib + 4096, 4));
	memset(p, 5, 30 * mib);
	p = kmem_realloc(p, 9 * mib);
	ck_assert(all_bytes(p, 9 * mib, 5));
	kmem_free(p);
	p = kmem_malloc(8 * mib);		/* the 9 MiB, whole */
	memset(p, 6, 8 * mib);
	kmem_free(p);
	p = kmem_malloc(5 * mib);	/* the 9 MiB cut: its 4 MiB rest kept */
	memset(p, 7, 5 * mib);
	ck_assert_uint_ge(buddyinfo().huge_cached, 4 * mib);
	kmem_free(p);
	kept_all_given_back(errors);
}
END_TEST

/*
 * realloc() keeps a huge block one when the new size is one a huge block
 * may have (above 128 KiB: large blocks are cut from the heap's kept
 * extents): it shrinks in place, its tail given to the heap, and grows in
 * place or by moving its pages.  Before, 6 MiB realloc'd to 2 MiB was copied
 * into a new block, 2 MiB written twice.
 */
START_TEST(test_realloc_mapping_stays)
{
	const size_t mib = 1 << 20;
	char *p = kmem_malloc(6 * mib), *q;

	memset(p, 1, 6 * mib);
	q = kmem_realloc(p, 2 * mib - 100);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), 2 * mib);
	ck_assert(all_bytes(q, 2 * mib - 100, 1));
	memset(q, 2, 2 * mib - 100);
	q = kmem_realloc(q, 3 * mib);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_ge(kmem_malloc_usable_size(q), 3 * mib);
	ck_assert(all_bytes(q, 2 * mib - 100, 2));
	memset(q, 3, 3 * mib);
	/* Down to a size the zone serves better: copied into a block. */
	p = kmem_realloc(q, 64 << 10);
	ck_assert_ptr_ne(p, q);
	ck_assert(all_bytes(p, 64 << 10, 3));
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	kmem_free(p);
}
END_TEST

/*
 * The huge figures count the heap's blocks and the mappings of their own
 * (above a quarter of an arena, 256 MiB) alike, through every change a
 * mapping of its own has: made, grown, shrunk, freed.  Since session 36
 * the heap's lock keeps them, and a mapping of its own is accounted after
 * the section lock is released (buddy/huge_cache.c): the published header
 * says what buddyinfo says, and the peak covers both kinds at once.
 */
START_TEST(test_huge_figures_both_kinds)
{
	const size_t mib = 1 << 20;
	struct kmem_buddyinfo bi;
	char *heap, *own, *q;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	heap = kmem_malloc(6 * mib);
	own = kmem_malloc(300 * mib);	/* address space: one page written */
	ck_assert_ptr_nonnull(heap);
	ck_assert_ptr_nonnull(own);
	own[0] = 1;
	own[300 * mib - 1] = 2;
	bi = buddyinfo();
	ck_assert_uint_eq(bi.huge_mapped, 306 * mib);
	ck_assert_uint_eq(bi.nr_huge, 2);
	ck_assert_uint_eq(kmem_region->huge_mapped, 306 * mib);
	ck_assert_uint_eq(kmem_region->nr_huge, 2);
	ck_assert_uint_ge(kmem_region->peak_huge_mapped, 306 * mib);
	/* Grown (in place or moved: mremap either way). */
	q = kmem_realloc(own, 320 * mib);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q[0], 1);
	ck_assert_uint_eq(q[300 * mib - 1], 2);
	ck_assert_uint_eq(buddyinfo().huge_mapped, 326 * mib);
	ck_assert_uint_eq(kmem_region->huge_mapped, 326 * mib);
	ck_assert_uint_ge(kmem_region->peak_huge_mapped, 326 * mib);
	/* Below half its size: its tail unmapped where it is. */
	own = kmem_realloc(q, 150 * mib);
	ck_assert_ptr_eq(own, q);
	ck_assert_uint_eq(own[0], 1);
	ck_assert_uint_eq(buddyinfo().huge_mapped, 156 * mib);
	ck_assert_uint_eq(buddyinfo().nr_huge, 2);
	ck_assert_uint_eq(kmem_region->huge_mapped, 156 * mib);
	kmem_free(own);
	bi = buddyinfo();
	ck_assert_uint_eq(bi.huge_mapped, 6 * mib);
	ck_assert_uint_eq(bi.nr_huge, 1);
	ck_assert_uint_eq(kmem_region->nr_huge, 1);
	kmem_free(heap);
	bi = buddyinfo();
	ck_assert_uint_eq(bi.huge_mapped, 0);
	ck_assert_uint_eq(bi.nr_huge, 0);
	ck_assert_uint_eq(kmem_region->huge_mapped, 0);
	ck_assert_uint_eq(kmem_region->nr_huge, 0);
	ck_assert_uint_eq(kmem_region->huge_cached, bi.huge_cached);
	ck_assert_uint_eq(kmem_region->nr_huge_cached, bi.nr_huge_cached);
	ck_assert_uint_ge(kmem_region->peak_huge_mapped, 326 * mib);
}
END_TEST

/*
 * Issue 14 (large): the rest of a freed block that a smaller one took
 * serves the next request where it lies: no page moved (mremap), none
 * faulted in.  Kept mappings of their own could serve it only by moving
 * its pages to a range of their own, and on a machine that shadows the
 * page tables a moved page cost half a fault (bench's `large` ran at 3x
 * tcmalloc's time).  A request longer than a kept extent takes the zero
 * pages after it: the kept pages first (resident, the old data), then new
 * ones; calloc zeroes what it reuses.
 */
START_TEST(test_huge_hole_serves_in_place)
{
	const size_t mib = 1 << 20;
	unsigned long moves = kmem_os_move_calls();
	size_t absent;
	char *a, *b, *c, *d;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	a = kmem_malloc(12 * mib);
	memset(a, 1, 12 * mib);
	kmem_free(a);
	b = kmem_malloc(6 * mib);		/* the freed block's head */
	ck_assert_ptr_eq(b, a);
	memset(b, 2, 6 * mib);
	ck_assert_uint_eq(buddyinfo().huge_cached, 6 * mib);
	ck_assert_uint_eq(buddyinfo().nr_huge_cached, 1);

	/* The rest serves 5 MiB where it lies, its last 1 MiB kept. */
	c = kmem_malloc(5 * mib);
	ck_assert_ptr_eq(c, a + 6 * mib);
	ck_assert_uint_eq(buddyinfo().huge_cached, 1 * mib);
	absent = pages_absent(c, 5 * mib);
	ck_assert_msg(!absent, "%zu of 1280 pages not resident", absent);
	memset(c, 3, 5 * mib);
	ck_assert(all_bytes(b, 6 * mib, 2));	/* the head is untouched */

	d = kmem_malloc(5 * mib);
	ck_assert_ptr_eq(d, a + 11 * mib);
	__asm__("" : "+r"(d));	/* not a's: the compiler saw the assert */
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	absent = pages_absent(d, mib);
	ck_assert_msg(!absent, "%zu of the kept 256 pages not resident",
		      absent);
	ck_assert(all_bytes(d, mib, 1));
	ck_assert(all_bytes(d + mib, 4 * mib, 0));
	memset(d, 4, 5 * mib);
	kmem_free(d);
	d = kmem_calloc(1, 5 * mib - 4096);
	ck_assert(all_bytes(d, 5 * mib - 4096, 0));
	kmem_free(d);
	kmem_free(c);
	kmem_free(b);
	ck_assert_uint_eq(kmem_os_move_calls(), moves);
	kept_all_given_back(kmem_os_move_errors());
}
END_TEST

/*
 * fork() copies the huge heap: the child frees the parent's live block
 * and takes the space of a kept one, and its heap works (its lock, held
 * across fork() by the parent's handler, is fresh in the child); the
 * parent's heap is its own: its live block intact, its kept extent still
 * kept and still served where it lies.
 */
START_TEST(test_huge_heap_across_fork)
{
	const size_t mib = 1 << 20;
	char *a, *b, *c;
	int status;
	pid_t pid;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	a = kmem_malloc(8 * mib);
	b = kmem_malloc(6 * mib);
	ck_assert(a && b);
	memset(a, 1, 8 * mib);
	memset(b, 2, 6 * mib);
	kmem_free(b);				/* kept where it lies */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		bool ok;
		char *d;

		c = kmem_malloc(5 * mib);
		ok = c == b && all_bytes(a, 8 * mib, 1);
		kmem_free(a);
		d = kmem_calloc(1, 9 * mib);
		ok = ok && d && all_bytes(d, 9 * mib, 0);
		kmem_free(c);
		kmem_free(d);
		ok = ok && buddyinfo().nr_huge == 0;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child's heap failed: status %#x", status);
	ck_assert(all_bytes(a, 8 * mib, 1));
	ck_assert_uint_eq(buddyinfo().huge_cached, 6 * mib);
	c = kmem_malloc(6 * mib);
	ck_assert_ptr_eq(c, b);
	kmem_free(c);
	kmem_free(a);
}
END_TEST

/*
 * malloc()'s large blocks come back from the thread's list with no call
 * when large_setup() would have nothing to decide (kmalloc_large_quick()):
 * resident pages enough for the size and no tail worth giving back.  The
 * other cases go the slow way and what it decides still happens: a tail
 * of KMEM_LARGE_TAIL_KB or more goes back to the OS; a size past the
 * resident pages counts its order as regrowing, so that the next smaller
 * size keeps its tail within the decay time.  On the test's clock.
 */
START_TEST(test_large_from_thread_list)
{
	const size_t block = 1 << 20, whole = 1000 << 10, near = 900 << 10,
		     small = 600 << 10;
	size_t absent;
	char *p, *q;

	release_clock_start(10UL * 1000 * 1000, 1000, 16);
	p = kmem_malloc(whole);
	ck_assert_ptr_nonnull(p);
	memset(p, 1, whole);
	absent = pages_absent(p, block);
	kmem_free(p);

	/* Resident for the size, a tail under 256 KiB: handed out as is. */
	q = kmem_malloc(near);
	ck_assert_ptr_eq(q, p);		/* the thread's list gave it back */
	ck_assert_uint_eq(virt_to_page(q)->type, PG_large);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), near);
	ck_assert_uint_eq(pages_absent(q, block), absent);
	ck_assert(all_bytes(q, near, 1));
	kmem_free(q);

	/* A tail of 400 KiB: given back. */
	q = kmem_malloc(small);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), small);
	ck_assert_uint_eq(pages_absent(q, block), (block - small) / PAGE_SIZE);
	ck_assert(all_bytes(q, small, 1));
	kmem_free(q);

	/* Past its resident pages: the order regrows... */
	q = kmem_malloc(whole);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), whole);
	memset(q, 2, whole);
	absent = pages_absent(q, block);
	kmem_free(q);

	/* ...and the next smaller size keeps its tail. */
	q = kmem_malloc(small);
	ck_assert_ptr_eq(q, p);
	ck_assert_msg(pages_absent(q, block) == absent,
		      "%zu pages of a regrowing order's tail given back",
		      pages_absent(q, block) - absent);
	ck_assert(all_bytes(q, small, 2));
	kmem_free(q);
	buddy_set_clock(NULL);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

static size_t keepcost(void);

/*
 * The thread's big block (buddy/pcp.c): a block of 2 or 4 MiB (a request
 * above 1 MiB up to 4 MiB) that a thread frees is parked for that
 * thread's next allocation of its order, counted on the thread's lists;
 * that allocation takes it back as it was (its contents, its pages;
 * calloc zeroes it), another order leaves it where it is, and
 * malloc_trim() gives it to the zone at once.  Before, each such free
 * went to the zone (the thread's lists stop at 1 MiB).
 */
START_TEST(test_big_block_parked)
{
	const size_t size = 3 << 20, other = 1500000;
	unsigned long base;
	char *p, *q;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	kmem_malloc_trim(0);			/* no block parked */
	base = buddyinfo().pcp_pages;
	p = kmem_malloc(size);
	ck_assert_ptr_nonnull(p);
	memset(p, 1, size);
	kmem_free(p);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base + 1024);
	ck_assert_uint_eq(virt_to_page(p)->type, PG_pcp);

	q = kmem_malloc(size - 5000);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base);
	ck_assert_uint_eq(virt_to_page(q)->type, PG_large);
	ck_assert_uint_eq(kmem_malloc_usable_size(q),
			  ALIGN(size - 5000, PAGE_SIZE));
	ck_assert_uint_eq(pages_absent(q, size), 0);
	ck_assert(all_bytes(q, size - 5000, 1));
	kmem_free(q);

	q = kmem_calloc(1, size);
	ck_assert_ptr_eq(q, p);
	ck_assert(all_bytes(q, size, 0));
	kmem_free(q);

	/* A block of another order: the parked one stays. */
	q = kmem_malloc(other);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(q, p);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base + 1024);
	kmem_free(q);			/* the slot is full: to the zone */
	ck_assert_uint_eq(buddyinfo().pcp_pages, base + 1024);
	ck_assert_uint_eq(virt_to_page(q)->type, PG_buddy);

	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base);
	ck_assert_uint_eq(keepcost(), 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * A parked block follows the zone's decay: the reaper takes it from its
 * thread once it has waited KMEM_DECAY_MS, and the zone then gives it
 * back to the OS; "once" is a condition (the reaper settled), not a time.
 */
START_TEST(test_big_block_decays)
{
	struct reaper_report r;
	unsigned long base;
	char *p;

	kmem_config.decay_ms = 50;
	kmem_config.decay_peak = 0;
	kmem_malloc_trim(0);			/* no block parked */
	base = buddyinfo().pcp_pages;
	p = kmem_malloc(2 << 20);
	memset(p, 1, 2 << 20);
	kmem_free(p);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base + 512);
	ck_assert_msg(reaper_settled(&r),
		      "the reaper did not settle: %lu passes, next %lu",
		      r.passes, r.next_ms);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base);
	ck_assert_uint_eq(keepcost(), 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

static void *big_block_exit_thread(void *arg)
{
	void *p = kmem_malloc(4 << 20);

	memset(p, 1, 4 << 20);
	kmem_free(p);			/* parked in this thread's slot */
	*(unsigned long *)arg = buddyinfo().pcp_pages;
	return NULL;
}

/* A thread's exit gives its big block to the zone. */
START_TEST(test_big_block_thread_exit)
{
	unsigned long base, during;
	pthread_t t;

	kmem_config.decay_ms = 3600 * 1000;
	kmem_malloc_trim(0);			/* no block parked */
	base = buddyinfo().pcp_pages;
	ck_assert_int_eq(pthread_create(&t, NULL, big_block_exit_thread,
					&during), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_ge(during, base + 1024);
	ck_assert_uint_eq(buddyinfo().pcp_pages, base);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * Issue 14 (mstress): a large block of 256 KiB or more (a request above
 * 128 KiB) is cut from the huge heap's kept extents while they hold
 * enough, before any block of the zone: a program that frees a 5 MB
 * block and then asks for blocks of 0.1 to 2.5 MB held both, the freed
 * block and the zone's blocks faulted in for the others (until session 28
 * only requests above 1 MiB went to the heap, and only when the zone had
 * no resident free block).  With nothing kept the zone serves as before,
 * its resident free block first; smaller blocks stay in the zone, and the
 * kernel's kmalloc() keeps its buddy blocks (virt_to_page() finds them).
 */
START_TEST(test_large_from_kept_mapping)
{
	const size_t mib = 1 << 20;
	size_t absent;
	char *z, *a, *p, *q;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	a = kmem_malloc(6 * mib);		/* a huge block, kept when freed */
	memset(a, 2, 6 * mib);
	kmem_free(a);
	ck_assert_uint_eq(buddyinfo().huge_cached, 6 * mib);

	/* The kept extent, cut to size, its pages resident. */
	q = kmem_malloc(3 * mib - 100);
	ck_assert_ptr_eq(q, a);
	ck_assert_uint_eq(buddyinfo().nr_huge, 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 3 * mib);
	ck_assert_uint_eq(kmem_malloc_usable_size(q), 3 * mib);
	absent = pages_absent(q, 3 * mib);
	ck_assert_msg(!absent, "%zu of 768 pages not resident", absent);
	memset(q, 4, 3 * mib - 100);
	kmem_free(q);				/* kept again */
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	ck_assert_uint_eq(buddyinfo().huge_cached, 6 * mib);

	/* calloc: zero, though the kept pages held data. */
	q = kmem_calloc(1, 3 * mib);
	ck_assert_ptr_eq(q, a);
	ck_assert(all_bytes(q, 3 * mib, 0));
	memset(q, 5, 3 * mib);
	q = kmem_realloc(q, 3 * mib + 4096);	/* grows, keeps its bytes */
	ck_assert_ptr_nonnull(q);
	ck_assert(all_bytes(q, 3 * mib, 5));
	kmem_free(q);

	/* 256 KiB blocks too: a 300,000-byte request, resident. */
	q = kmem_malloc(300000);
	ck_assert_ptr_eq(q, a);
	ck_assert_uint_eq(buddyinfo().nr_huge, 1);
	ck_assert_ptr_null(virt_to_page(q));
	absent = pages_absent(q, 300000);
	ck_assert_msg(!absent, "%zu pages of 300,000 bytes not resident", absent);
	memset(q, 6, 300000);
	kmem_free(q);

	/* A block of 128 KiB or less, and kmalloc()'s, stay in the zone. */
	q = kmem_malloc(100000);
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	ck_assert_ptr_nonnull(virt_to_page(q));
	kmem_free(q);
	q = kmalloc(3 * mib, GFP_KERNEL);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	ck_assert_ptr_nonnull(virt_to_page(q));
	kfree(q);

	/* Nothing kept: the zone, its resident free block first. */
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	z = kmem_malloc(3 * mib);
	ck_assert_ptr_nonnull(virt_to_page(z));
	memset(z, 1, 3 * mib);
	kmem_free(z);
	p = kmem_malloc(3 * mib);
	ck_assert_ptr_eq(p, z);
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	kmem_free(p);

	/*
	 * No kept extent holds it, two adjacent ones together do (the rest
	 * of the 6 MiB and the freed 2.5 MiB): one block, no page new.
	 */
	ck_assert_int_eq(kmem_malloc_trim(0), 1);	/* zone: none resident */
	a = kmem_malloc(6 * mib);
	memset(a, 6, 6 * mib);
	kmem_free(a);
	q = kmem_malloc(5 * mib / 2);		/* 2.5 MiB, 3.5 MiB tail */
	ck_assert_ptr_eq(q, a);
	kmem_free(q);
	ck_assert_uint_eq(buddyinfo().huge_cached, 6 * mib);
	q = kmem_malloc(3 * mib);
	ck_assert_uint_eq(buddyinfo().nr_huge, 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 3 * mib);
	absent = pages_absent(q, 3 * mib);
	ck_assert_msg(!absent, "%zu of 768 pages not resident", absent);
	memset(q, 7, 3 * mib);
	kmem_free(q);
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
}
END_TEST

/*
 * Issue 14 (mstress): a huge block that faults in new pages gives back as
 * many bytes of the zone's resident free 4 MiB blocks at once, whole
 * blocks only, never below mallopt(M_TRIM_THRESHOLD)'s amount: a program
 * whose demand moved from the zone's blocks to huge ones would otherwise
 * hold the freed blocks resident until their decay time besides the huge
 * block's new pages.  A huge block cut from kept pages gives back nothing.
 */
START_TEST(test_huge_gives_zone_blocks_back)
{
	const size_t mib = 1 << 20;
	char *z[3], *h, *h2, *h3;
	unsigned long retained;

	kmem_config.decay_ms = 3600 * 1000;	/* nothing expires meanwhile */
	/*
	 * No reaper: a huge block's give-back does not wait for a release
	 * under way (buddy_release_for_huge()), and a pass the frees below
	 * kick would now and then hold it: retained did not move.
	 */
	kmem_config.background = false;
	ck_assert(!buddy_reaper_running());
	/* The heap's arena and descriptors now: below they would split a block. */
	h = kmem_malloc(5 * mib);
	kmem_free(h);
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	/*
	 * Three resident free 4 MiB blocks of the zone.  Counted by what is
	 * given back (buddyinfo's retained), not by mallinfo2()'s keepcost,
	 * whose snapshot takes pages from the zone and so splits a block.
	 */
	for (int i = 0; i < 3; i++) {
		z[i] = kmem_malloc(3 * mib);	/* a 4 MiB block of the zone each */
		ck_assert_ptr_nonnull(virt_to_page(z[i]));
		memset(z[i], 1, 3 * mib);
	}
	for (int i = 0; i < 3; i++)
		kmem_free(z[i]);
	retained = buddyinfo().retained;

	/* 5 MiB new: one 4 MiB block goes (whole blocks, rounded down). */
	h = kmem_malloc(5 * mib);
	memset(h, 2, 5 * mib);
	ck_assert_uint_eq(buddyinfo().retained, retained + 4 * mib);
	kmem_free(h);				/* kept */

	/* From the kept block: no page new, nothing given back. */
	h = kmem_malloc(5 * mib);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	ck_assert_uint_eq(buddyinfo().retained, retained + 4 * mib);

	/* mallopt's amount stays: 9 MiB new, one block of the two goes... */
	ck_assert_int_eq(kmem_mallopt(M_TRIM_THRESHOLD, 4 << 20), 1);
	h2 = kmem_malloc(9 * mib);
	memset(h2, 3, 9 * mib);
	ck_assert_uint_eq(buddyinfo().retained, retained + 8 * mib);
	/* ...and the last one stays. */
	h3 = kmem_malloc(9 * mib);
	memset(h3, 4, 9 * mib);
	ck_assert_uint_eq(buddyinfo().retained, retained + 8 * mib);
	kmem_free(h3);
	kmem_free(h2);
	kmem_free(h);
}
END_TEST

/*
 * Issue 14: huge blocks cut, grown, moved and resized at random,
 * each block written page by page with its own tag and read back before
 * it goes: no page lost, moved twice or left unmapped, calloc zero, and
 * no mremap refused by the kernel.
 */
START_TEST(test_huge_kept_churn)
{
	enum { SLOTS = 6, OPS = 240 };
	const size_t mib = 1 << 20;
	unsigned long errors = kmem_os_move_errors(), rng = 0x9e3779b97f4a7c15UL;
	unsigned long *slot[SLOTS] = { NULL };
	size_t len[SLOTS] = { 0 };

	kmem_config.decay_ms = 3600 * 1000;
	for (int op = 0; op < OPS; op++) {
		int i, kind;
		size_t n;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		i = (int)(rng % SLOTS);
		kind = (int)((rng >> 8) % 3);
		n = 4 * mib + 1 + (size_t)((rng >> 16) % (12 * mib));
		if (slot[i]) {
			for (size_t pg = 0; pg < len[i] / PAGE_SIZE; pg++)
				ck_assert_msg(slot[i][pg * (PAGE_SIZE / sizeof(long))] ==
					      ((unsigned long)i << 32 | pg),
					      "op %d: slot %d page %zu", op, i, pg);
			if (kind == 2) {	/* realloc, keeping the tags */
				slot[i] = kmem_realloc(slot[i], n);
				ck_assert_ptr_nonnull(slot[i]);
				len[i] = min(len[i], n) & ~(PAGE_SIZE - 1);
				for (size_t pg = 0; pg < len[i] / PAGE_SIZE; pg++)
					ck_assert(slot[i][pg * (PAGE_SIZE / sizeof(long))] ==
						  ((unsigned long)i << 32 | pg));
			} else {
				kmem_free(slot[i]);
				slot[i] = NULL;
				continue;
			}
		} else if (kind == 1) {
			slot[i] = kmem_calloc(1, n);
			ck_assert_ptr_nonnull(slot[i]);
			ck_assert(all_bytes(slot[i], n, 0));
		} else {
			slot[i] = kmem_malloc(n);
			ck_assert_ptr_nonnull(slot[i]);
		}
		len[i] = n & ~(PAGE_SIZE - 1);
		for (size_t pg = 0; pg < len[i] / PAGE_SIZE; pg++)
			slot[i][pg * (PAGE_SIZE / sizeof(long))] =
				(unsigned long)i << 32 | pg;
	}
	for (int i = 0; i < SLOTS; i++)
		kmem_free(slot[i]);
	ck_assert_uint_eq(kmem_os_move_errors(), errors);
	ck_assert_uint_eq(buddyinfo().nr_huge, 0);
	kmem_malloc_trim(0);
	ck_assert_uint_eq(buddyinfo().huge_cached, 0);
	ck_assert_uint_eq(buddyinfo().nr_huge_cached, 0);
}
END_TEST

/*
 * The rest of a kept extent that a request took only part of keeps the
 * time it was freed: it is given back when its own decay time is up, not
 * when the newest kept block's is (60131bc did this for kept mappings;
 * merged into one extent, @p's rest below would wait behind @x).  The
 * test's own clock, no reaper.
 */
START_TEST(test_huge_kept_piece_expires_in_turn)
{
	const size_t mib = 1 << 20;
	const unsigned long base = 10UL * 1000 * 1000;
	char *p, *q, *r, *x;

	release_clock_start(base, 1000, 0);	/* age alone decides */

	p = kmem_malloc(8 * mib);
	q = kmem_malloc(10 * mib);
	r = kmem_malloc(6 * mib);
	ck_assert(p && q && r);
	kmem_free(p);			/* freed at base */
	release_clock_ms = base + 600;
	kmem_free(q);
	kmem_free(r);			/* both at base + 600 */
	ck_assert_uint_eq(buddyinfo().huge_cached, 24 * mib);
	ck_assert_uint_eq(buddyinfo().nr_huge_cached, 3);

	/* 5 MiB: the head of p's place; p keeps 3 MiB. */
	release_clock_ms = base + 700;
	x = kmem_malloc(5 * mib);
	ck_assert_ptr_eq(x, p);
	ck_assert_uint_eq(buddyinfo().huge_cached, 19 * mib);

	/* p's 3 MiB is due at base + 1000, q and r at base + 1600. */
	release_clock_ms = base + 1100;
	kmem_free(x);
	ck_assert_msg(buddyinfo().huge_cached == 21 * mib,
		      "%lu bytes kept, expected q's 10 MiB, r's 6 and x's 5",
		      buddyinfo().huge_cached);
	buddy_set_clock(NULL);
}
END_TEST

START_TEST(test_posix_memalign)
{
	void *p = (void *)1;

	errno = 0;
	ck_assert_int_eq(kmem_posix_memalign(&p, 4, 10), EINVAL);
	ck_assert_int_eq(kmem_posix_memalign(&p, 24, 10), EINVAL);
	ck_assert_int_eq(kmem_posix_memalign(&p, 0, 10), EINVAL);
	ck_assert_int_eq(errno, 0);		/* glibc leaves errno alone */
	ck_assert_ptr_eq(p, (void *)1);		/* and *memptr */
	for (size_t a = sizeof(void *); a <= (8 << 20); a *= 2) {
		size_t sizes[] = { 0, 1, a - 1, a, a + 1, 3 * a };

		for (unsigned int k = 0; k < ARRAY_SIZE(sizes); k++) {
			ck_assert_int_eq(kmem_posix_memalign(&p, a, sizes[k]), 0);
			ck_assert_msg((unsigned long)p % a == 0,
				      "posix_memalign(%zu, %zu) = %p", a,
				      sizes[k], p);
			check_block(p, sizes[k]);
			kmem_free(p);
		}
	}
	ck_assert_int_eq(kmem_posix_memalign(&p, 64, SIZE_MAX), ENOMEM);
}
END_TEST

START_TEST(test_aligned_family)
{
	void *p;

	for (size_t a = 1; a <= (1 << 20); a *= 2) {
		p = kmem_aligned_alloc(a, 100);
		ck_assert_uint_eq((unsigned long)p % a, 0);
		check_block(p, 100);
		kmem_free(p);
		p = kmem_memalign(a, a * 3);
		ck_assert_uint_eq((unsigned long)p % a, 0);
		check_block(p, a * 3);
		kmem_free(p);
	}
	/* Not a power of two: rounded up, as glibc 2.36 does. */
	p = kmem_aligned_alloc(48, 10);
	ck_assert_uint_eq((unsigned long)p % 64, 0);
	kmem_free(p);
	errno = 0;
	ck_assert_ptr_null(kmem_memalign(SIZE_MAX / 2 + 2, 10));
	ck_assert_int_eq(errno, EINVAL);
	p = kmem_valloc(10);
	ck_assert_uint_eq((unsigned long)p % PAGE_SIZE, 0);
	kmem_free(p);
	p = kmem_pvalloc(10);
	ck_assert_uint_eq((unsigned long)p % PAGE_SIZE, 0);
	ck_assert_uint_ge(kmem_malloc_usable_size(p), PAGE_SIZE);
	kmem_free(p);
	p = kmem_pvalloc(0);
	ck_assert_ptr_nonnull(p);
	kmem_free(p);
}
END_TEST

START_TEST(test_usable_size)
{
	ck_assert_uint_eq(kmem_malloc_usable_size(NULL), 0);
	for (size_t n = 1; n < 100000; n = n * 2 + 1) {
		void *p = kmem_malloc(n);
		size_t u = kmem_malloc_usable_size(p);

		ck_assert_uint_ge(u, n);
		memset(p, 1, u);	/* all of it is usable */
		kmem_free(p);
	}
}
END_TEST

/*
 * Issue 14: between 256 bytes and the largest cache, malloc's classes are
 * four or more per doubling, caches of their own between the powers of two
 * (malloc-320 ... malloc-14k, shown by slabinfo), so that no request gets
 * more than 1.25 times what it asked for: the kernel's classes gave 512
 * bytes for 300 and 8 KiB for 4200.
 */
START_TEST(test_malloc_classes)
{
	struct kmem_slabinfo si[256];
	bool seen5k = false, seen320 = false;
	char *p;
	int n;

	for (size_t k = 257; k <= MALLOC_MAX_CACHE_SIZE; k++) {
		size_t u;

		p = kmem_malloc(k);
		u = kmem_malloc_usable_size(p);
		ck_assert_msg(u >= k && u * 4 <= k * 5, "malloc(%zu): %zu usable",
			      k, u);
		ck_assert_uint_eq(virt_to_page(p)->type, PG_slab);
		p[0] = 1;
		p[u - 1] = 1;
		kmem_free(p);
	}
	p = kmem_malloc(4700);
	ck_assert_str_eq(virt_to_page(p)->slab_cache->name, "malloc-5k");
	ck_assert_uint_eq(kmem_malloc_usable_size(p), 5120);
	n = kmem_slabinfo_snapshot(si, ARRAY_SIZE(si));
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(si); i++) {
		seen5k |= !strcmp(si[i].name, "malloc-5k");
		seen320 |= !strcmp(si[i].name, "malloc-320");
	}
	ck_assert(seen5k && seen320);
	kmem_free(p);
	/* kmalloc keeps the kernel's classes. */
	p = kmalloc(4200, GFP_KERNEL);
	ck_assert_uint_eq(ksize(p), 8192);
	kfree(p);
}
END_TEST

/*
 * Issue 14, peak RSS on real programs: classes where real programs' hot
 * sizes fall.  33-48, 65-80 and 129-160 bytes (Lua's, Python's and Perl's
 * objects) got 64, 96 and 192 bytes; a power of two plus a header of up
 * to an eighth (1 KiB to 8 KiB) got 1.25x: SQLite's page-cache blocks
 * (1032 and 4368 bytes) were served from malloc-1280 and malloc-5k.  What
 * matters is the pages: N blocks of those sizes take at most 1.15 times
 * their bytes in slabs (slot and slab tail together); on the old classes
 * 1.32x and 1.25x.
 */
/* Pages in the slabs of the malloc class of slot size @objsize. */
static unsigned long class_pages(unsigned int objsize)
{
	struct kmem_slabinfo si[256];
	int n = kmem_slabinfo_snapshot(si, ARRAY_SIZE(si));

	for (int i = 0; i < n && i < (int)ARRAY_SIZE(si); i++)
		if (si[i].objsize == objsize && strstr(si[i].name, "malloc-"))
			return si[i].num_slabs * si[i].pages_per_slab;
	ck_abort_msg("no malloc class of %u bytes in slabinfo", objsize);
	return 0;
}

START_TEST(test_malloc_fine_classes)
{
	static const size_t hot[] = { 1032, 4368 };
	enum { N = 3000 };
	static void *p[N];

	for (size_t k = 1; k <= MALLOC_MAX_CACHE_SIZE; k++) {
		void *q = kmem_malloc(k);
		size_t u = kmem_malloc_usable_size(q);

		ck_assert_uint_ge(u, k);
		if ((k > 32 && k <= 48) || (k > 64 && k <= 80) ||
		    (k > 128 && k <= 160))
			ck_assert_msg(u < k + 16 || (k > 128 && u < k + 32),
				      "malloc(%zu): %zu usable", k, u);
		for (size_t pow = 1024; pow <= 8192; pow *= 2)
			if (k > pow && k <= pow + pow / 8)
				ck_assert_msg(u <= pow + pow / 8,
					      "malloc(%zu): %zu usable", k, u);
		kmem_free(q);
	}
	for (unsigned int h = 0; h < ARRAY_SIZE(hot); h++) {
		unsigned long before, pages;
		size_t cls = 0;

		/* The class's slot size (a KFENCE sample is exact: retry). */
		for (int i = 0; i < 100 && cls <= hot[h]; i++) {
			void *q = kmem_malloc(hot[h]);

			cls = kmem_malloc_usable_size(q);
			kmem_free(q);
		}
		before = class_pages((unsigned int)cls);
		for (int i = 0; i < N; i++) {
			p[i] = kmem_malloc(hot[h]);
			ck_assert_ptr_nonnull(p[i]);
		}
		pages = class_pages((unsigned int)cls) - before;
		ck_assert_msg(pages * PAGE_SIZE * 100 <= hot[h] * N * 115,
			      "%d x %zu bytes (class of %zu) take %lu pages, over 1.15x",
			      N, hot[h], cls, pages);
		for (int i = 0; i < N; i++)
			kmem_free(p[i]);
	}
}
END_TEST

/*
 * Issue 14: no request from 256 B to 4 MiB gets more than 1.25 times what
 * it asked for, and 1.07 times on average over the benchmark's sweep
 * (each request 3% above the last), where the kernel's classes and whole
 * buddy blocks gave up to 2x (16,443 B got 32 KiB) and 1.44x on average.
 * Above the caches a block's usable size is the pages its size needs:
 * 70,000 bytes hold 18 pages, and writing all of them makes 18 pages
 * resident, not the 32 of its buddy block.
 */
START_TEST(test_usable_size_bounded_waste)
{
	double worst = 0, sum = 0;
	size_t worst_at = 0, n, next, u;
	unsigned int steps = 0;
	unsigned char vec[32];
	unsigned long resident = 0;
	char *p;

	for (n = 256; n <= (4UL << 20); n = next) {
		double r;

		p = kmem_malloc(n);
		u = kmem_malloc_usable_size(p);
		r = (double)u / (double)n;
		ck_assert_uint_ge(u, n);
		p[0] = 1;
		p[u - 1] = 1;
		kmem_free(p);
		sum += r;
		steps++;
		if (r > worst) {
			worst = r;
			worst_at = n;
		}
		next = (size_t)((double)n * 1.03);
		if (next > (4UL << 20) && n < (4UL << 20))
			next = 4UL << 20;
	}
	ck_assert_msg(worst <= 1.25, "malloc(%zu) gets %.3fx", worst_at, worst);
	ck_assert_msg(sum / steps <= 1.07, "mean usable/request %.4f over %u requests",
		      sum / steps, steps);
	/* Every size just past a page boundary, not only the sweep's. */
	for (n = MALLOC_MAX_CACHE_SIZE + 1; n <= (4UL << 20); n = n * 2 - 1) {
		for (size_t k = n; k < n + 3 * PAGE_SIZE && k <= (4UL << 20);
		     k += 997) {
			p = kmem_malloc(k);
			u = kmem_malloc_usable_size(p);
			ck_assert_msg(u >= k && u * 4 <= k * 5,
				      "malloc(%zu): %zu usable", k, u);
			kmem_free(p);
		}
	}
	kmem_malloc_trim(0);	/* the next block comes fresh from the OS */
	p = kmem_malloc(70000);
	u = kmem_malloc_usable_size(p);
	ck_assert_uint_eq(u, 18 * PAGE_SIZE);
	__asm__("" : "+r"(p));	/* the compiler knows only of 70,000 */
	memset(p, 1, u);
	ck_assert_int_eq(mincore(p, 32 * PAGE_SIZE, vec), 0);
	for (int i = 0; i < 32; i++)
		resident += vec[i] & 1;
	ck_assert_uint_eq(resident, 18);
	kmem_free(p);
}
END_TEST

START_TEST(test_trim_and_info)
{
	struct mallinfo2 a, b;
	void *p[64];
	long peak, after;

	a = kmem_mallinfo2();
	for (int i = 0; i < 64; i++) {
		p[i] = kmem_malloc(1 << 20);
		memset(p[i], 1, 1 << 20);
	}
	b = kmem_mallinfo2();
	ck_assert_uint_ge(b.uordblks - a.uordblks, 64UL << 20);
	ck_assert_uint_ge(b.arena, 64UL << 20);
	peak = rss_bytes();
	for (int i = 0; i < 64; i++)
		kmem_free(p[i]);
	b = kmem_mallinfo2();
	ck_assert_uint_lt(b.uordblks, a.uordblks + (1 << 20));
	ck_assert_uint_ge(b.keepcost + b.fordblks, 60UL << 20);
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	after = rss_bytes();
	ck_assert_msg(peak - after > 56L << 20, "trim left RSS at %ld (peak %ld)",
		      after, peak);
	b = kmem_mallinfo2();
	ck_assert_uint_eq(b.keepcost, 0);
	p[0] = kmem_malloc(40 << 20);
	b = kmem_mallinfo2();
	ck_assert_uint_eq(b.hblks, 1);
	ck_assert_uint_ge(b.hblkhd, 40 << 20);
	kmem_free(p[0]);
	stderr_capture_begin();
	kmem_malloc_stats();
	ck_assert_ptr_nonnull(strstr(stderr_capture_end(), "in use bytes"));
}
END_TEST

/* ---- bad pointers --------------------------------------------------- */

static void free_stack(void *arg)
{
	char buf[64];

	(void)arg;
	kmem_free(kmem_malloc(1));
	kmem_free(buf);
}

static void free_inside(void *arg)
{
	kmem_free((char *)kmem_malloc((size_t)(long)arg) + 32);
}

/* An object's address with bit 47 set: another address, not ours. */
static void free_alias(void *arg)
{
	char *p = kmem_malloc((size_t)(long)arg);

	kmem_free((void *)((unsigned long)p | 1UL << 47));
}

static void double_free(void *arg)
{
	void *p = kmem_malloc((size_t)(long)arg);

	kmem_free(p);
	kmem_free(p);
}

/* A second free of the thread's big block (buddy/pcp.c). */
static void double_free_parked(void *arg)
{
	void *p;

	(void)arg;
	kmem_malloc_trim(0);		/* the slot empty */
	p = kmem_malloc(3 << 20);
	kmem_free(p);
	if (virt_to_page(p)->type != PG_pcp)
		_exit(3);		/* not parked: no abort, the test fails */
	kmem_free(p);
}

static void double_free_later(void *arg)
{
	void *p = kmem_malloc((size_t)(long)arg);
	void *neighbour = kmem_malloc((size_t)(long)arg);
	void *others[500];

	(void)neighbour;	/* keeps p's slab alive */
	kmem_free(p);
	/* p travels to the depot and its slab before the second free. */
	for (int i = 0; i < 500; i++)
		others[i] = kmem_malloc((size_t)(long)arg);
	for (int i = 0; i < 500; i++)
		kmem_free(others[i]);
	kmem_shrink_all();
	kmem_free(p);
}

static void realloc_bad(void *arg)
{
	int x = 0;

	(void)arg;
	kmem_realloc(&x, 100);
}

static void usable_bad(void *arg)
{
	(void)arg;
	kmem_malloc_usable_size((char *)kmem_malloc(100) + 1);
}

/*
 * Issue 14 item 4: KMEM_THP.  madvise(MADV_HUGEPAGE) is a flag of the
 * mapping, which /proc/self/smaps shows in VmFlags ("hg") whether or not
 * the kernel had a free huge page to give (AnonHugePages depends on
 * that), and THPeligible says whether faults there may map 2 MiB pages
 * (not when the system's mode is "never").
 */
struct smaps_vma {
	bool found;
	bool hg;		/* VmFlags has "hg": MADV_HUGEPAGE */
	int eligible;		/* THPeligible, -1: not shown */
};

static struct smaps_vma smaps_of(const void *addr)
{
	struct smaps_vma v = { .eligible = -1 };
	unsigned long a = (unsigned long)addr, lo, hi;
	bool in = false;
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (v.found)
				break;
			in = a >= lo && a < hi;
			v.found = in;
		} else if (in && !strncmp(line, "THPeligible:", 12)) {
			v.eligible = atoi(line + 12);
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			v.hg = strstr(line, " hg") != NULL;
		}
	}
	fclose(f);
	ck_assert_msg(v.found, "%p is in no mapping", addr);
	return v;
}

/* The system's THP mode is not "never": advised ranges are eligible. */
static bool system_thp_on(void)
{
	char buf[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return buf[0] && !strstr(buf, "[never]");
}

static void assert_advised(const void *p, bool advised, const char *what)
{
	struct smaps_vma v = smaps_of(p);

	ck_assert_msg(v.hg == advised, "%s: VmFlags hg %d, expected %d", what,
		      v.hg, advised);
	if (advised && system_thp_on())
		ck_assert_msg(v.eligible == 1, "%s: THPeligible %d", what,
			      v.eligible);
}

/*
 * KMEM_THP=large: an allocation above 4 MiB is advised, and stays so
 * through realloc (mremap moves the flag along) and reuse of the freed
 * mapping; the buddy sections (small and large blocks) are not: a small
 * program must not fault a 2 MiB page (preload_footprint).
 */
START_TEST(test_thp_large)
{
	void *small, *block, *p;
	unsigned long calls;

	setenv("KMEM_THP", "LARGE", 1);		/* any case */
	small = kmem_malloc(64);
	block = kmem_malloc(3 << 20);
	assert_advised(small, false, "a small block's section");
	assert_advised(block, false, "a 3 MiB block's section");
	calls = kmem_os_hugepage_calls();
	p = kmem_malloc(8 << 20);
	assert_advised(p, true, "malloc(8 MiB)");
	ck_assert_uint_eq(kmem_os_hugepage_calls(), calls + 1);
	memset(p, 1, 8 << 20);
	p = kmem_realloc(p, 40 << 20);		/* grown or moved by mremap */
	assert_advised(p, true, "realloc(40 MiB)");
	ck_assert_uint_eq(((unsigned char *)p)[(8 << 20) - 1], 1);
	kmem_free(p);
	p = kmem_malloc(30 << 20);		/* the kept mapping, cut */
	assert_advised(p, true, "malloc(30 MiB), reused");
	kmem_free(p);
	kmem_free(block);
	kmem_free(small);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_thp_never)
{
	void *p;

	setenv("KMEM_THP", "never", 1);
	p = kmem_malloc(8 << 20);
	assert_advised(p, false, "KMEM_THP=never: malloc(8 MiB)");
	ck_assert_uint_eq(kmem_os_hugepage_calls(), 0);
	kmem_free(p);
}
END_TEST

/*
 * always: the sections too; a large block gives back only whole huge
 * pages of its tail (part of one would split it): realloc() of a touched
 * 4 MiB block to 1.5 MiB keeps its first huge page whole and gives the
 * second back.  The books stay right (buddy_validate).
 */
START_TEST(test_thp_always)
{
	const size_t hp = 512;			/* pages in a huge page */
	unsigned char vec[1024];
	size_t kept = 0, gone = 0;
	void *small, *p, *q;

	setenv("KMEM_THP", "always", 1);
	small = kmem_malloc(64);
	assert_advised(small, true, "KMEM_THP=always: a small block's section");
	p = kmem_malloc(4 << 20);		/* the largest buddy block */
	assert_advised(p, true, "KMEM_THP=always: a 4 MiB block's section");
	memset(p, 1, 4 << 20);
	q = kmem_realloc(p, 1536 << 10);	/* 384 pages, in place */
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(mincore(p, 4 << 20, vec), 0);
	for (size_t i = 384; i < hp; i++)
		kept += vec[i] & 1;
	for (size_t i = hp; i < 2 * hp; i++)
		gone += !(vec[i] & 1);
	ck_assert_uint_eq(kept, hp - 384);	/* its huge page left whole */
	ck_assert_uint_eq(gone, hp);		/* the whole one given back */
	q = kmem_malloc(8 << 20);
	assert_advised(q, true, "KMEM_THP=always: malloc(8 MiB)");
	kmem_free(q);
	kmem_free(p);
	kmem_free(small);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * A bad value: reported once, with the valid ones; the default (never,
 * measured: performance.md) kept.
 */
START_TEST(test_thp_bad_value)
{
	const char *err;
	void *p;

	setenv("KMEM_THP", "sometimes", 1);
	stderr_capture_begin();
	p = kmem_malloc(8 << 20);
	err = stderr_capture_end();
	ck_assert_ptr_nonnull(strstr(err, "kmem: ignoring KMEM_THP=sometimes: "
					  "expected never, large or always"));
	ck_assert_ptr_eq(strstr(err, "KMEM_THP"),
			 strstr(err, "KMEM_THP=sometimes"));
	ck_assert_ptr_null(strstr(strstr(err, "KMEM_THP") + 1, "KMEM_THP"));
	ck_assert_int_eq(kmem_config.thp, KMEM_THP_NEVER);
	assert_advised(p, false, "KMEM_THP=sometimes: malloc(8 MiB)");
	kmem_free(p);
}
END_TEST

START_TEST(test_bad_pointers)
{
	expect_abort(free_stack, NULL, "kmem: free(): invalid pointer 0x");
	expect_abort(free_inside, (void *)100L, "kmem: free(): invalid pointer");
	expect_abort(free_inside, (void *)100000L, "kmem: free(): invalid pointer");
	expect_abort(free_inside, (void *)(20L << 20), "kmem: free(): invalid pointer");
	expect_abort(free_alias, (void *)100L, "kmem: free(): invalid pointer 0x");
	expect_abort(free_alias, (void *)100000L, "kmem: free(): invalid pointer 0x");
	expect_abort(double_free, (void *)1L, "kmem: free(): double free or corruption");
	expect_abort(double_free, (void *)5000L, "kmem: free(): double free or corruption");
	expect_abort(double_free, (void *)100000L, "kmem: free(): double free 0x");
	/* A huge block: looked up and freed under one lock (huge_heap_free()). */
	expect_abort(double_free, (void *)(8L << 20),
		     "kmem: free(): double free 0x");
	expect_abort(double_free, (void *)(8L << 20), "the block is already free");
	expect_abort(double_free_parked, NULL, "the block is already free");
	expect_abort(free_inside, (void *)(8L << 20), "not the start of an allocation");
	expect_abort(free_alias, (void *)(8L << 20), "kmem: free(): invalid pointer 0x");
	expect_abort(double_free_later, (void *)64L, "double free");
	expect_abort(realloc_bad, NULL, "kmem: realloc(): invalid pointer");
	expect_abort(usable_bad, NULL, "kmem: malloc_usable_size(): invalid pointer");
}
END_TEST

/* glibc's identity: arena is exactly what is in use plus what is free. */
START_TEST(test_mallinfo_arithmetic)
{
	static void *p[3000];
	size_t held = 0;
	struct mallinfo2 m;

	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t)(i % 50) * 40 + 1;

		if (i % 300 == 0)
			n = 200 << 10;		/* large blocks too */
		p[i] = kmem_malloc(n);
		memset(p[i], 1, n);
	}
	for (int i = 0; i < 3000; i += 3) {
		kmem_free(p[i]);
		p[i] = NULL;
	}
	for (int i = 0; i < 3000; i++)
		if (p[i])
			held += kmem_malloc_usable_size(p[i]);
	m = kmem_mallinfo2();
	ck_assert_uint_eq(m.arena, m.uordblks + m.fordblks);
	ck_assert_uint_le(m.fsmblks, m.fordblks);
	ck_assert_uint_le(m.keepcost, m.fordblks);
	ck_assert_uint_ge(m.uordblks, held);	/* plus slab headers and tails */
	ck_assert_uint_eq(m.usmblks, 0);
	for (int i = 0; i < 3000; i++)
		kmem_free(p[i]);
}
END_TEST

/*
 * A trim gives back the free pieces of a partly used block (buddy.md,
 * "Pieces of split blocks"): they leave arena and fordblks together, and
 * what is in use (uordblks) does not move.  A 4 MiB block, written, of
 * which only the first page stays in use, beside 8 MiB in use (so that
 * the free bytes are not capped at arena, which would hide a count of
 * released pieces as free).
 */
START_TEST(test_trim_pieces_info)
{
	const unsigned long pieces = (MAX_ORDER_NR_PAGES - 64) * PAGE_SIZE;
	char *p = alloc_pages_exact(PAGE_SIZE << MAX_PAGE_ORDER, GFP_KERNEL);
	struct mallinfo2 a, b;
	void *held[8];
	long moved;

	for (int i = 0; i < 8; i++) {
		held[i] = kmem_malloc(1 << 20);
		ck_assert_ptr_nonnull(held[i]);
		memset(held[i], 2, 1 << 20);
	}
	ck_assert_ptr_nonnull(p);
	memset(p, 1, PAGE_SIZE << MAX_PAGE_ORDER);
	/* Last to first: the thread's list keeps the lowest (at most 32). */
	for (unsigned long i = MAX_ORDER_NR_PAGES - 1; i >= 1; i--)
		free_pages((unsigned long)p + i * PAGE_SIZE, 0);
	a = kmem_mallinfo2();
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	b = kmem_mallinfo2();
	ck_assert_uint_eq(b.arena, b.uordblks + b.fordblks);
	ck_assert_msg(a.arena - b.arena >= pieces,
		      "arena %zu -> %zu: the pieces (%lu bytes) still counted",
		      a.arena, b.arena, pieces);
	moved = (long)b.uordblks - (long)a.uordblks;
	ck_assert_msg(moved > -(256L << 10) && moved < 256L << 10,
		      "uordblks %zu -> %zu across a trim: in-use bytes moved by %ld",
		      a.uordblks, b.uordblks, moved);
	ck_assert_uint_eq(b.keepcost, 0);
	free_pages((unsigned long)p, 0);
	for (int i = 0; i < 8; i++)
		kmem_free(held[i]);
}
END_TEST

static size_t keepcost(void)
{
	return kmem_mallinfo2().keepcost;
}

/*
 * mallopt(M_TRIM_THRESHOLD): that many bytes of free 4 MiB blocks stay
 * resident past the delay; the rest goes back to the OS; malloc_trim()
 * still releases everything.
 *
 * "However long we wait" is a condition, not a time: the reaper has done
 * what it had to (buddy_reaper_idle(): asleep without a deadline, no kick
 * pending; blocks kept for the threshold have no deadline), so keepcost
 * is final and must be exactly the threshold.
 */
START_TEST(test_mallopt_trim_threshold)
{
	struct reaper_report r;
	void *p[16];

	kmem_config.decay_ms = 50;
	ck_assert_int_eq(kmem_mallopt(M_TRIM_THRESHOLD, 32 << 20), 1);
	for (int i = 0; i < 16; i++) {
		p[i] = kmem_malloc(4 << 20);
		memset(p[i], 1, 4 << 20);
	}
	for (int i = 0; i < 16; i++)
		kmem_free(p[i]);
	ck_assert_uint_ge(keepcost(), 32 << 20);
	ck_assert_msg(reaper_settled(&r),
		      "the reaper did not settle: %lu passes, last at %lu, next %lu",
		      r.passes, r.start_ms, r.next_ms);
	/* Only what is above the threshold went, and nothing else will. */
	ck_assert_uint_eq(keepcost(), 32 << 20);
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_uint_eq(keepcost(), 0);

	/* Back to 0: the next blocks freed all go after the delay. */
	ck_assert_int_eq(kmem_mallopt(M_TRIM_THRESHOLD, 0), 1);
	for (int i = 0; i < 4; i++) {
		p[i] = kmem_malloc(4 << 20);
		memset(p[i], 1, 4 << 20);
	}
	for (int i = 0; i < 4; i++)
		kmem_free(p[i]);
	ck_assert_msg(reaper_settled(&r),
		      "the reaper did not settle: %lu passes, next %lu",
		      r.passes, r.next_ms);
	ck_assert_uint_eq(keepcost(), 0);
}
END_TEST

/*
 * A kick that comes while the reaper runs a pass is a deadline for its
 * next sleep, not one more pass at once (buddy/release.c, "The reaper").
 * Here every free of a 3 MiB block, which goes back to the zone whole,
 * kicks; the first kick wakes the reaper, asleep without a deadline, and
 * the loop goes on kicking while it runs that pass.  With the old flag
 * each kick in a pass made it pass again at once: it ran without end, a
 * pass per 10-30 us (reading /sys for the online CPUs, locking every
 * cache), 1,000-9,000 passes over this loop.  Now it sleeps until the
 * decay time (an hour here).
 */
START_TEST(test_reaper_kicks_do_not_spin)
{
	struct reaper_report r;
	unsigned long before;
	char *p;

	kmem_config.decay_ms = 3600 * 1000;
	p = kmem_malloc(3 << 20);		/* starts the reaper */
	memset(p, 1, 3 << 20);
	kmem_free(p);
	ck_assert_int_eq(kmem_malloc_trim(0), 1);
	ck_assert_msg(reaper_settled(&r), "the reaper did not settle: %lu passes",
		      r.passes);
	before = r.passes;
	for (int i = 0; i < 20000; i++) {
		p = kmem_malloc(3 << 20);
		p[0] = 1;
		p[(3 << 20) - 1] = 1;
		kmem_free(p);
	}
	buddy_reaper_report(&r);
	ck_assert_msg(r.passes - before <= 10,
		      "%lu reaper passes over 20000 frees that kick it",
		      r.passes - before);
}
END_TEST

/* mallopt(M_MMAP_THRESHOLD): sizes from the threshold up get a mapping. */
START_TEST(test_mallopt_mmap_threshold)
{
	struct mallinfo2 a, b;
	char *p, *q;

	ck_assert_int_eq(kmem_mallopt(M_MMAP_THRESHOLD, 64 << 10), 1);
	a = kmem_mallinfo2();
	p = kmem_malloc(100 << 10);
	q = kmem_malloc(32 << 10);
	b = kmem_mallinfo2();
	ck_assert_uint_eq(b.hblks, a.hblks + 1);
	ck_assert_uint_ge(b.hblkhd, a.hblkhd + (100 << 10));
	memset(p, 7, 100 << 10);
	p = kmem_realloc(p, 300 << 10);		/* stays a mapping */
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 100 << 10; i++)
		ck_assert_int_eq(p[i], 7);
	p = kmem_realloc(p, 20 << 10);		/* below: a block again */
	ck_assert_uint_eq(kmem_mallinfo2().hblks, a.hblks);
	kmem_free(p);
	kmem_free(q);
	/* A caller that may not map still gets a block (memory is mapped). */
	p = kmalloc(100 << 10, GFP_NOWAIT);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(kmem_mallinfo2().hblks, a.hblks);
	kfree(p);
	/* Out of range: above the largest block, within the kmalloc caches. */
	ck_assert_int_eq(kmem_mallopt(M_MMAP_THRESHOLD, (4 << 20) + 1), 0);
	ck_assert_int_eq(kmem_mallopt(M_MMAP_THRESHOLD, 8192), 0);
	ck_assert_int_eq(kmem_mallopt(M_MMAP_THRESHOLD, -1), 0);
	ck_assert_int_eq(kmem_mallopt(M_MMAP_THRESHOLD, 4 << 20), 1);
	a = kmem_mallinfo2();
	p = kmem_malloc(2 << 20);
	ck_assert_uint_eq(kmem_mallinfo2().hblks, a.hblks);
	kmem_free(p);
}
END_TEST

/* Unsupported settings and values return 0, as glibc's errors do. */
START_TEST(test_mallopt_unsupported)
{
	static const int params[] = { M_MXFAST, M_TOP_PAD, M_MMAP_MAX,
				      M_CHECK_ACTION, M_PERTURB, 12345 };

	for (unsigned int i = 0; i < ARRAY_SIZE(params); i++)
		ck_assert_int_eq(kmem_mallopt(params[i], 1), 0);
	ck_assert_int_eq(kmem_mallopt(M_ARENA_MAX, 1), 1);
	ck_assert_int_eq(kmem_mallopt(M_ARENA_MAX, 0), 0);
	ck_assert_int_eq(kmem_mallopt(M_ARENA_TEST, 8), 1);
}
END_TEST

static Suite *malloc_suite(void)
{
	Suite *s = suite_create("malloc");
	TCase *tc = tcase_create("conformance");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_last_freed_block_first);
	tcase_add_test(tc, test_kfence_gate_spares_larger_sizes);
	tcase_add_test(tc, test_aligned_family_from_magazine);
	tcase_add_test(tc, test_impossible_sizes);
	tcase_add_test(tc, test_calloc_zeroes_dirty_memory);
	tcase_add_test(tc, test_realloc);
	tcase_add_test(tc, test_realloc_shrinks_to_class);
	tcase_add_test(tc, test_realloc_grows_large_in_place);
	tcase_add_test(tc, test_huge_realloc_in_place);
	tcase_add_test(tc, test_huge_mappings_reused);
	tcase_add_test(tc, test_fresh_large_mapped_ahead);
	tcase_add_test(tc, test_map_ahead_off);
	tcase_add_test(tc, test_huge_oldest_kept_goes_first);
	tcase_add_test(tc, test_huge_mappings_given_back);
	tcase_add_test(tc, test_huge_kept_for_recent_peak);
	tcase_add_test(tc, test_huge_peak_noted_within_a_millisecond);
	tcase_add_test(tc, test_huge_calloc_and_realloc);
	tcase_add_test(tc, test_huge_kept_gathered);
	tcase_add_test(tc, test_huge_kept_churn);
	tcase_add_test(tc, test_large_from_thread_list);
	tcase_add_test(tc, test_big_block_parked);
	tcase_add_test(tc, test_big_block_decays);
	tcase_add_test(tc, test_big_block_thread_exit);
	tcase_add_test(tc, test_large_from_kept_mapping);
	tcase_add_test(tc, test_huge_gives_zone_blocks_back);
	tcase_add_test(tc, test_huge_hole_serves_in_place);
	tcase_add_test(tc, test_huge_heap_across_fork);
	tcase_add_test(tc, test_realloc_mapping_stays);
	tcase_add_test(tc, test_huge_figures_both_kinds);
	tcase_add_test(tc, test_huge_kept_piece_expires_in_turn);
	tcase_add_test(tc, test_posix_memalign);
	tcase_add_test(tc, test_aligned_family);
	tcase_add_test(tc, test_usable_size);
	tcase_add_test(tc, test_malloc_classes);
	tcase_add_test(tc, test_malloc_fine_classes);
	tcase_add_test(tc, test_usable_size_bounded_waste);
	tcase_add_test(tc, test_trim_and_info);
	tcase_add_test(tc, test_trim_pieces_info);
	tcase_add_test(tc, test_mallinfo_arithmetic);
	tcase_add_test(tc, test_mallopt_trim_threshold);
	tcase_add_test(tc, test_reaper_kicks_do_not_spin);
	tcase_add_test(tc, test_mallopt_mmap_threshold);
	tcase_add_test(tc, test_mallopt_unsupported);
	tcase_add_test(tc, test_bad_pointers);
	tcase_add_test(tc, test_thp_large);
	tcase_add_test(tc, test_thp_never);
	tcase_add_test(tc, test_thp_always);
	tcase_add_test(tc, test_thp_bad_value);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(malloc_suite());
}
