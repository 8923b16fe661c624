// SPDX-License-Identifier: MIT
/*
 * tests/test_buddy.c - the buddy page allocator.
 *
 * Each test runs in a fresh process: kmem starts from nothing.  The random
 * sequences are checked against a reference model (the set of blocks the
 * test holds, each filled with a pattern that must survive until it is
 * freed, so any overlap or lost block shows), with buddy_validate() after
 * every step in debug builds and every 64 steps otherwise.
 */
#include "kmem_test.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "kmalloc/kmalloc.h"
#include "release_clock.h"

#define MAX_LIVE 512

struct block {
	unsigned long addr;
	unsigned int order;
	unsigned char tag;
};

static struct block live[MAX_LIVE];
static int nr_live;

static void check_block(const struct block *b)
{
	const unsigned char *p = (const unsigned char *)b->addr;
	size_t size = PAGE_SIZE << b->order;

	/* Spot-check: first, last and a middle byte of every page. */
	for (size_t off = 0; off < size; off += PAGE_SIZE) {
		ck_assert_msg(p[off] == b->tag && p[off + PAGE_SIZE - 1] == b->tag &&
				      p[off + 777] == b->tag,
			      "block 0x%lx order %u overwritten", b->addr, b->order);
	}
}

static void take_block(unsigned int order, gfp_t gfp)
{
	struct block *b = &live[nr_live];
	struct page *page = alloc_pages(gfp, order);

	ck_assert_ptr_nonnull(page);
	b->addr = (unsigned long)page_address(page);
	b->order = order;
	b->tag = (unsigned char)(test_rand() | 1);
	ck_assert_msg(b->addr % (PAGE_SIZE << order) == 0,
		      "order %u block 0x%lx misaligned", order, b->addr);
	ck_assert_ptr_eq(virt_to_page((void *)b->addr), page);
	memset((void *)b->addr, b->tag, PAGE_SIZE << order);
	nr_live++;
}

static void drop_block(int i)
{
	check_block(&live[i]);
	free_pages(live[i].addr, live[i].order);
	live[i] = live[--nr_live];
}

START_TEST(test_alloc_free_every_order)
{
	for (unsigned int o = 0; o <= MAX_PAGE_ORDER; o++) {
		struct page *page = alloc_pages(GFP_KERNEL, o);
		unsigned long a;

		ck_assert_ptr_nonnull(page);
		a = (unsigned long)page_address(page);
		ck_assert_msg(a % (PAGE_SIZE << o) == 0, "order %u misaligned", o);
		memset((void *)a, 0x5c, PAGE_SIZE << o);
		__free_pages(page, o);
	}
	ck_assert_ptr_null(alloc_pages(GFP_KERNEL | __GFP_NOWARN,
				       MAX_PAGE_ORDER + 1));
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_get_order)
{
	ck_assert_int_eq(get_order(1), 0);
	ck_assert_int_eq(get_order(PAGE_SIZE), 0);
	ck_assert_int_eq(get_order(PAGE_SIZE + 1), 1);
	ck_assert_int_eq(get_order(2 * PAGE_SIZE), 1);
	ck_assert_int_eq(get_order(3 * PAGE_SIZE), 2);
	ck_assert_int_eq(get_order(PAGE_SIZE << MAX_PAGE_ORDER), MAX_PAGE_ORDER);
}
END_TEST

/* Random sequences against the reference model. */
START_TEST(test_random_sequences)
{
	int every = kmem_debug_level >= 1 ? 1 : 64;

	test_srand(12345 + (uint64_t)_i);
	for (int step = 0; step < 6000; step++) {
		if (nr_live < MAX_LIVE && (nr_live == 0 || test_rand() % 3)) {
			unsigned int order = (unsigned int)(test_rand() % 100 < 80 ?
				test_rand() % 4 : test_rand() % (MAX_PAGE_ORDER + 1));

			take_block(order, GFP_KERNEL);
		} else {
			drop_block((int)(test_rand() % (uint64_t)nr_live));
		}
		if (step % every == 0)
			ck_assert_int_eq(buddy_validate(), 0);
	}
	while (nr_live)
		drop_block(nr_live - 1);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/* Freeing everything merges back to max-order blocks. */
START_TEST(test_free_all_merges)
{
	struct kmem_buddyinfo bi;

	test_srand(99);
	for (int i = 0; i < 400; i++)
		take_block((unsigned int)(test_rand() % 6), GFP_KERNEL);
	while (nr_live)
		drop_block((int)(test_rand() % (uint64_t)nr_live));
	kmem_shrink_all();	/* drain this thread's page lists */
	kmem_buddyinfo_get(&bi);
	for (int o = 0; o < MAX_PAGE_ORDER; o++)
		ck_assert_msg(bi.nr_free[o] == 0,
			      "order %d has %lu free blocks after freeing all",
			      o, bi.nr_free[o]);
	ck_assert_uint_eq(bi.nr_free[MAX_PAGE_ORDER] * (PAGE_SIZE << MAX_PAGE_ORDER),
			  bi.mapped);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_zero_reused)
{
	for (int round = 0; round < 4; round++) {
		unsigned long a = __get_free_pages(GFP_KERNEL, 1);

		ck_assert(a);
		memset((void *)a, 0xaa, 2 * PAGE_SIZE);
		free_pages(a, 1);
		a = __get_free_pages(GFP_KERNEL | __GFP_ZERO, 1);
		ck_assert(a);
		ck_assert(all_bytes((void *)a, 2 * PAGE_SIZE, 0));
		free_pages(a, 1);
	}
	{
		unsigned long z = get_zeroed_page(GFP_KERNEL);

		ck_assert(z && all_bytes((void *)z, PAGE_SIZE, 0));
		free_page(z);
	}
}
END_TEST

START_TEST(test_pages_exact)
{
	void *p = alloc_pages_exact(5 * PAGE_SIZE + 1, GFP_KERNEL | __GFP_ZERO);
	void *q;

	ck_assert_ptr_nonnull(p);
	ck_assert(all_bytes(p, 6 * PAGE_SIZE, 0));
	memset(p, 1, 6 * PAGE_SIZE);
	ck_assert_int_eq(buddy_validate(), 0);
	/* The two pages past the end went back: they can be had again. */
	q = alloc_pages_exact(PAGE_SIZE, GFP_KERNEL);
	ck_assert_ptr_nonnull(q);
	free_pages_exact(q, PAGE_SIZE);
	free_pages_exact(p, 5 * PAGE_SIZE + 1);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_virt_to_page)
{
	int on_stack;
	unsigned long a = __get_free_pages(GFP_KERNEL, 2);

	ck_assert_ptr_eq(virt_to_page((void *)(a + 3 * PAGE_SIZE + 17)),
			 (char *)virt_to_page((void *)a) + 3 * sizeof(struct page));
	ck_assert(virt_addr_valid((void *)a));
	ck_assert(!virt_addr_valid(&on_stack));
	ck_assert_ptr_null(virt_to_page(&on_stack));
	ck_assert_ptr_null(virt_to_page((void *)test_get_order));
	ck_assert(!kmem_addr_is_ours(&on_stack));
	ck_assert(kmem_addr_is_ours((void *)a));
	free_pages(a, 2);
}
END_TEST

/* ---- the OS refuses memory ------------------------------------------- */

START_TEST(test_os_failure)
{
	struct kmem_buddyinfo before, after;
	unsigned long calls;
	int got = 0;

	/* Map one section, then let the OS refuse. */
	free_pages(__get_free_pages(GFP_KERNEL, 0), 0);
	kmem_shrink_all();
	kmem_buddyinfo_get(&before);
	kmem_os_fail_after(0);
	calls = kmem_os_map_calls();
	while (nr_live < MAX_LIVE) {
		struct page *page = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
						MAX_PAGE_ORDER);

		if (!page)
			break;
		live[nr_live].addr = (unsigned long)page_address(page);
		live[nr_live].order = MAX_PAGE_ORDER;
		live[nr_live].tag = 7;
		memset((void *)live[nr_live].addr, 7, PAGE_SIZE);
		nr_live++;
		got++;
	}
	ck_assert_msg(got > 0 && nr_live < MAX_LIVE,
		      "expected the mapped memory to run out (got %d blocks)", got);
	ck_assert_uint_eq(kmem_os_map_calls(), calls);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(buddy_validate(), 0);
	while (nr_live)
		free_pages(live[--nr_live].addr, MAX_PAGE_ORDER);
	kmem_buddyinfo_get(&after);
	ck_assert_uint_eq(after.nr_free[MAX_PAGE_ORDER],
			  before.nr_free[MAX_PAGE_ORDER]);
	/* The OS recovers: allocation maps again. */
	kmem_os_fail_after(-1);
	for (int i = 0; i < got + 2; i++)
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	ck_assert_uint_gt(kmem_os_map_calls(), calls);
	while (nr_live)
		drop_block(nr_live - 1);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_nowait_never_maps)
{
	unsigned long calls;
	int n = 0;

	free_pages(__get_free_pages(GFP_KERNEL, 0), 0);
	kmem_shrink_all();	/* everything merged, this thread's lists empty */
	calls = kmem_os_map_calls();
	for (;;) {
		struct page *page = alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 5);

		if (!page)
			break;
		ck_assert_int_lt(nr_live, MAX_LIVE);
		live[nr_live].addr = (unsigned long)page_address(page);
		live[nr_live].order = 5;
		live[nr_live].tag = 3;
		memset((void *)live[nr_live].addr, 3, PAGE_SIZE);
		nr_live++;
		n++;
	}
	ck_assert_int_eq(n, (int)(SECTION_SIZE / (PAGE_SIZE << 5)));
	ck_assert_uint_eq(kmem_os_map_calls(), calls);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_null(alloc_pages(GFP_ATOMIC | __GFP_NOWARN, 0));
	ck_assert_ptr_nonnull(alloc_pages(GFP_KERNEL, 0));
	ck_assert_uint_gt(kmem_os_map_calls(), calls);
}
END_TEST

static void nofail_under_enomem(void *arg)
{
	(void)arg;
	free_pages(__get_free_pages(GFP_KERNEL, 0), 0);
	kmem_os_fail_after(0);
	for (;;)
		alloc_pages(GFP_KERNEL | __GFP_NOFAIL, MAX_PAGE_ORDER);
}

START_TEST(test_nofail_aborts)
{
	expect_abort(nofail_under_enomem, NULL,
		     "__GFP_NOFAIL allocation of order 10 failed");
}
END_TEST

/* ---- bad frees ------------------------------------------------------- */

static void double_free(void *arg)
{
	struct page *page = alloc_pages(GFP_KERNEL, (unsigned int)(long)arg);

	__free_pages(page, (unsigned int)(long)arg);
	__free_pages(page, (unsigned int)(long)arg);
}

static void wrong_order(void *arg)
{
	(void)arg;
	__free_pages(alloc_pages(GFP_KERNEL, 2), 1);
}

static void not_a_head(void *arg)
{
	unsigned long a = __get_free_pages(GFP_KERNEL, 2);

	(void)arg;
	free_pages(a + PAGE_SIZE, 0);
}

static void foreign_free(void *arg)
{
	static char buf[2 * 4096];

	(void)arg;
	free_pages(ALIGN((unsigned long)buf, PAGE_SIZE), 0);
}

static void bogus_struct_page(void *arg)
{
	long junk[8];

	(void)arg;
	__free_pages((struct page *)junk, 0);
}

START_TEST(test_bad_frees)
{
	expect_abort(double_free, (void *)0L, "double free of page block");
	expect_abort(double_free, (void *)5L, "double free of page block");
	expect_abort(wrong_order, NULL,
		     "freed with order 1 but allocated with order 2");
	expect_abort(not_a_head, NULL, "is not the first page of an allocated block");
	expect_abort(foreign_free, NULL, "invalid pointer");
	expect_abort(bogus_struct_page, NULL, "is not a struct page of kmem");
}
END_TEST

START_TEST(test_double_free_signal)
{
	struct page *page = alloc_pages(GFP_KERNEL, 1);

	__free_pages(page, 1);
	__free_pages(page, 1);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

struct thread_arg {
	int id;
	int failures;
};

static void *page_worker(void *p)
{
	struct thread_arg *ta = p;
	struct block mine[64];
	uint64_t seed = 777 + (uint64_t)ta->id;
	int n = 0;

	for (int step = 0; step < 20000; step++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (n < 64 && (n == 0 || seed % 2)) {
			unsigned int order = (unsigned int)(seed % 5);
			unsigned long a = __get_free_pages(GFP_KERNEL, order);

			if (!a) {
				ta->failures++;
				continue;
			}
			mine[n].addr = a;
			mine[n].order = order;
			mine[n].tag = (unsigned char)(ta->id * 16 + (int)(seed % 15) + 1);
			memset((void *)a, mine[n].tag, PAGE_SIZE << order);
			n++;
		} else {
			int i = (int)(seed % (uint64_t)n);
			const unsigned char *c = (void *)mine[i].addr;

			if (c[0] != mine[i].tag ||
			    c[(PAGE_SIZE << mine[i].order) - 1] != mine[i].tag)
				ta->failures++;
			free_pages(mine[i].addr, mine[i].order);
			mine[i] = mine[--n];
		}
	}
	while (n--)
		free_pages(mine[n].addr, mine[n].order);
	return NULL;
}

/*
 * A thread that frees 16 blocks of 16 KiB and 16 of 32 KiB (malloc's
 * sizes above the slab) keeps them on its own lists and takes them back
 * from there: no zone lock per block.  With lists of 4 and 2 blocks, two
 * threads doing this fought over the zone lock on almost every call.
 * The count is the calling thread's own (no other thread touches its
 * lists), so nothing in the background moves it.
 */
static unsigned long pcp_pages_now(void)
{
	return kmem_tls_pcp->nr_pages;
}

/* 16 blocks each of orders 2 and 3: allocate them, or free them. */
static void medium_blocks(unsigned long blk[2][16], bool alloc)
{
	for (unsigned int o = 2; o <= 3; o++)
		for (int i = 0; i < 16; i++) {
			if (alloc)
				blk[o - 2][i] = __get_free_pages(GFP_KERNEL, o);
			else
				free_pages(blk[o - 2][i], o);
		}
}

static void *pcp_medium_worker(void *arg)
{
	unsigned long blk[2][16], base, held, after;
	long *res = arg;

	medium_blocks(blk, true);
	base = pcp_pages_now();
	medium_blocks(blk, false);
	held = pcp_pages_now() - base;
	medium_blocks(blk, true);
	after = pcp_pages_now();
	medium_blocks(blk, false);
	res[0] = (long)held;
	res[1] = (long)after - (long)base;
	return NULL;
}

START_TEST(test_pcp_keeps_medium_blocks)
{
	long res[2];
	pthread_t t;

	pthread_create(&t, NULL, pcp_medium_worker, res);
	pthread_join(t, NULL);
	/* At least 12 of each order kept (a drain may take a batch). */
	ck_assert_msg(res[0] >= 12 * 4 + 12 * 8,
		      "the thread's lists kept %ld of the 192 pages it freed",
		      res[0]);
	/* And the allocations took them back from the lists. */
	ck_assert_msg(res[1] <= 0,
		      "%ld pages more on the lists after taking them back",
		      res[1]);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * The thread's lists are stacks of heads (buddy/pcp.c): the block freed
 * last comes back first; past the high mark the coldest, those freed
 * first, go back to the zone; the zone's grow-in-place takes a block out
 * of the middle of a stack, leaving the others in their order; and a
 * large block that would pass the large orders' cap goes to the zone,
 * the list keeping what it held.  In a thread of its own, whose lists
 * start empty and which nothing else touches.  Each failure is counted
 * with its step in @arg.
 */
static void *pcp_stack_worker(void *arg)
{
	struct page *pg[40], *b[12], *got;
	unsigned long resident = 4;
	int *bad = arg, x = -1, y = -1, k[2], nk = 0;

	/* Order 0, high mark 32, 8 blocks moved at a time. */
	for (int i = 0; i < 40; i++)
		pg[i] = alloc_pages(GFP_KERNEL, 0);
	for (int i = 0; i < 40; i++)
		__free_pages(pg[i], 0);
	if (kmem_tls_pcp->lists[0].count != 32)
		bad[0]++;
	for (int i = 39; i >= 8; i--)
		if (alloc_pages(GFP_KERNEL, 0) != pg[i])
			bad[1]++;
	for (int i = 8; i < 40; i++)
		__free_pages(pg[i], 0);

	/*
	 * Order 2: two blocks that are the halves of one of order 3, the
	 * second freed first and two others freed on top of it.
	 */
	for (int i = 0; i < 12; i++)
		b[i] = alloc_pages(GFP_KERNEL, 2);
	for (int i = 0; i < 12 && x < 0; i++)
		for (int j = 0; j < 12; j++)
			if (page_address(b[i]) == (void *)ALIGN(
				    (unsigned long)page_address(b[i]),
				    PAGE_SIZE << 3) &&
			    page_address(b[j]) ==
				    (char *)page_address(b[i]) + (PAGE_SIZE << 2)) {
				x = i;
				y = j;
				break;
			}
	if (x < 0) {
		bad[2]++;
		return NULL;
	}
	for (int i = 0; i < 12 && nk < 2; i++)
		if (i != x && i != y)
			k[nk++] = i;
	__free_pages(b[y], 2);
	__free_pages(b[k[0]], 2);
	__free_pages(b[k[1]], 2);
	if (!buddy_grow_in_place(b[x], 3, &resident))
		bad[3]++;
	got = alloc_pages(GFP_KERNEL, 2);
	if (got != b[k[1]])
		bad[4]++;
	if (alloc_pages(GFP_KERNEL, 2) != b[k[0]])
		bad[4]++;
	if (buddy_validate())
		bad[5]++;
	__free_pages(b[x], 3);
	for (int i = 0; i < 12; i++)
		if (i != x && i != y)
			__free_pages(b[i], 2);

	/*
	 * Order 8 (1 MiB), the large orders' cap of 1 MiB: a second block
	 * freed while the list holds one goes to the zone, and the list
	 * keeps the first (a drain before the push gave the first back).
	 */
	pg[0] = alloc_pages(GFP_KERNEL, 8);
	pg[1] = alloc_pages(GFP_KERNEL, 8);
	__free_pages(pg[0], 8);
	__free_pages(pg[1], 8);
	got = alloc_pages(GFP_KERNEL, 8);
	if (got != pg[0])
		bad[6]++;
	__free_pages(got, 8);
	return NULL;
}

START_TEST(test_pcp_stacks)
{
	static const char *const step[] = {
		"32 blocks on the list of order 0 after 40 freed",
		"the blocks freed last not handed out first",
		"no two order-2 blocks forming one of order 3",
		"the block not grown over its buddy on the list",
		"the blocks above the buddy not handed out in order",
		"buddy_validate() failed",
		"the list of order 8 gave its block for one past the cap",
	};
	int bad[7] = { 0 };
	pthread_t t;

	pthread_create(&t, NULL, pcp_stack_worker, bad);
	pthread_join(t, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(!bad[i], "%s (%d times)", step[i], bad[i]);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_threads)
{
	struct thread_arg ta[4];
	pthread_t t[4];
	struct kmem_buddyinfo bi;

	for (int i = 0; i < 4; i++) {
		ta[i] = (struct thread_arg){ .id = i };
		pthread_create(&t[i], NULL, page_worker, &ta[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(ta[i].failures, 0);
	}
	ck_assert_int_eq(buddy_validate(), 0);
	/* The exited threads' page lists went back to the zone. */
	kmem_shrink_all();
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_eq(bi.pcp_pages, 0);
	for (int o = 0; o < MAX_PAGE_ORDER; o++)
		ck_assert_uint_eq(bi.nr_free[o], 0);
}
END_TEST

/* ---- memory goes back to the OS --------------------------------------- */

START_TEST(test_rss_drops_after_shrink)
{
	long before, peak, after;

	kmem_config.decay_ms = 60000;	/* only the shrink may release */
	for (int i = 0; i < 16; i++)
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);	/* 64 MiB, touched */
	peak = rss_bytes();
	while (nr_live)
		drop_block(nr_live - 1);
	before = rss_bytes();
	ck_assert_msg(before > 60L << 20, "freed memory stays resident until the delay or a shrink");
	kmem_shrink_all();
	after = rss_bytes();
	ck_assert_msg(peak - after > 60L << 20,
		      "RSS did not drop: peak %ld, after shrink %ld", peak, after);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * An idle process releases too: the reaper does it after the delay.
 *
 * The reaper gets there in several passes (each releases the blocks whose
 * delay is over, then unmaps the wholly released sections beyond the
 * retained two), so any figure on the way is legitimate: the test waits
 * for the end state the policy promises and asserts only that.
 */
START_TEST(test_idle_release)
{
	struct kmem_buddyinfo bi;
	long peak, now;
	int waited;

	kmem_config.decay_ms = 100;
	for (int i = 0; i < 24; i++)	/* 96 MiB: three sections */
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	peak = rss_bytes();
	while (nr_live)
		drop_block(nr_live - 1);
	/*
	 * No allocator call from here on: only the reaper can release.  Poll
	 * the published figures for up to 30 s: it acts within a few periods
	 * of 100 ms, but a loaded machine may not run it for a while.
	 */
	for (waited = 0;; waited++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		kmem_buddyinfo_get(&bi);
		now = rss_bytes();
		if ((bi.nr_sections == 2 && bi.retained == 2 * SECTION_SIZE &&
		     peak - now >= 80L << 20) || waited == 600)
			break;
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(peak - now >= 80L << 20,
		      "idle process kept its memory for %d ms: peak %ld now %ld",
		      waited * 50, peak, now);
	/* Two sections kept (released), the third unmapped. */
	ck_assert_msg(bi.nr_sections == 2 && bi.retained == 2 * SECTION_SIZE,
		      "after %d ms: %lu sections, %lu bytes retained (want 2, %lu)",
		      waited * 50, bi.nr_sections, bi.retained,
		      (unsigned long)(2 * SECTION_SIZE));
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_sections_unmapped_beyond_retain)
{
	struct kmem_buddyinfo bi;

	kmem_config.retain_sections = 1;
	for (int i = 0; i < 32; i++)	/* 128 MiB: four sections */
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_ge(bi.nr_sections, 4);
	while (nr_live)
		drop_block(nr_live - 1);
	kmem_shrink_all();
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_eq(bi.nr_sections, 1);
	ck_assert_uint_eq(bi.mapped, SECTION_SIZE);
	ck_assert_uint_eq(bi.retained, SECTION_SIZE);
	ck_assert_uint_eq(bi.resident, 0);
	ck_assert_int_eq(buddy_validate(), 0);
	/* And memory comes back on demand. */
	take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	drop_block(0);
}
END_TEST

/* Pages out of the zone now, from the published header. */
static unsigned long used_bytes(const struct kmem_stats_header *h)
{
	return (unsigned long)(h->managed_pages - h->free_pages) * PAGE_SIZE;
}

/*
 * The high-water marks follow what was really in use at some moment: the
 * published peak of pages out of the zone (kmeminfo's peak) and
 * malloc_info()'s most resident bytes.  They were taken at each change of
 * a free list, in the middle of operations: a new section's first block
 * went on its list before the others were counted free (a peak 7 blocks
 * too high: 28 MiB in a process that used 0.4), and a split took the
 * block off its list before its halves went on (up to a max-order block
 * too high).  Here the zone grows by one section and a max-order block is
 * split; after every call the figures are at a moment where nothing is
 * in the middle, and the peaks may be no higher than the most seen.
 */
START_TEST(test_peaks_follow_use)
{
	const struct kmem_stats_header *h;
	unsigned long most_used, most_resident, sections;
	struct kmem_buddyinfo bi;

	take_block(0, GFP_KERNEL);	/* kmem started, its region published */
	drop_block(0);
	h = kmem_region;
	ck_assert_ptr_nonnull(h);
	kmem_shrink_all();	/* the page lists drained: a split comes */
	kmem_buddyinfo_get(&bi);
	sections = bi.nr_sections;
	most_used = h->peak_used;
	most_resident = buddy_max_resident();
	while (bi.nr_sections == sections) {
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);
		kmem_buddyinfo_get(&bi);
		most_used = max(most_used, used_bytes(h));
		most_resident = max(most_resident, bi.resident);
		ck_assert_int_lt(nr_live, MAX_LIVE);
	}
	ck_assert_uint_le(h->peak_used, most_used);
	ck_assert_uint_le(buddy_max_resident(), most_resident);
	for (int i = 0; i < 3; i++) {
		take_block(0, GFP_KERNEL);
		kmem_buddyinfo_get(&bi);
		most_used = max(most_used, used_bytes(h));
		most_resident = max(most_resident, bi.resident);
	}
	ck_assert_uint_le(h->peak_used, most_used);
	ck_assert_uint_le(buddy_max_resident(), most_resident);
	while (nr_live)
		drop_block(nr_live - 1);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * Issue 14, item 3: give back only what stays unused.  A working set of
 * W max-order blocks is taken, freed and taken again every 3 s, and
 * waits free for 1.5 s each time (longer than the 1 s decay: a phase of
 * the program, stretched by a loaded machine); beside it S blocks were
 * freed once and never used again.  The process stays busy (it takes an
 * order-9 block from the zone every second).  The policy must release
 * the surplus, which stays unused, and never the working set, which is
 * reused each period: exactly S blocks released over twelve periods.
 * (Releasing whatever stayed free for the decay time released the
 * working set every period, and the process faulted its pages in again.)
 * Then the guarantees: once the process is idle (no take for the decay
 * time) everything goes, and kmem_shrink_all() releases at once what the
 * peak keeps.
 *
 * The policy runs on a clock the test sets (buddy_set_clock()), with the
 * reaper off: the test calls the pass itself, so the machine's load
 * cannot change what happens.
 */
START_TEST(test_release_keeps_reused_blocks)
{
	enum { W = 8, S = 8, PERIODS = 12, PERIOD_MS = 3000 };
	struct page *ws[W], *surplus[S], *split;
	unsigned long base, t, released;

	release_clock_start(10UL * 1000 * 1000, 1000, 16);

	/* Half of one block stays allocated: release_busy_take() takes the
	 * other. */
	split = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER - 1);
	ck_assert_ptr_nonnull(split);
	for (int i = 0; i < W; i++) {
		ws[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
		ck_assert_ptr_nonnull(ws[i]);
	}
	for (int i = 0; i < S; i++) {
		surplus[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
		ck_assert_ptr_nonnull(surplus[i]);
	}
	buddy_release_all();	/* whatever the process freed before */
	base = buddy_decay_released();
	for (int i = 0; i < S; i++)
		__free_pages(surplus[i], MAX_PAGE_ORDER);

	for (int c = 0; c < PERIODS; c++) {
		t = 10UL * 1000 * 1000 + (unsigned long)c * PERIOD_MS;
		release_clock_ms = t;
		if (c)
			for (int i = 0; i < W; i++) {
				ws[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
				ck_assert_ptr_nonnull(ws[i]);
			}
		release_clock_ms = t + 500;
		for (int i = 0; i < W; i++)
			__free_pages(ws[i], MAX_PAGE_ORDER);
		release_clock_ms = t + 1000;
		release_busy_take();
		buddy_release_expired(release_clock_ms);
		release_clock_ms = t + 2000;
		release_busy_take();
		buddy_release_expired(release_clock_ms);
		released = buddy_decay_released() - base;
		ck_assert_msg(released <= S,
			      "period %d: %lu blocks released, the surplus is %d: "
			      "the working set reused every %d ms was released",
			      c, released, S, PERIOD_MS);
		ck_assert_int_eq(buddy_validate(), 0);
	}
	/* The peak of the start left the window 16 s after: S went. */
	ck_assert_msg(released == S,
		      "%lu blocks released after %d s, the surplus is %d",
		      released, PERIODS * PERIOD_MS / 1000, S);

	/* Idle: no take for the decay time, and everything goes. */
	__free_pages(split, MAX_PAGE_ORDER - 1);
	release_clock_ms += kmem_config.decay_ms;
	buddy_release_expired(release_clock_ms);
	released = buddy_decay_released() - base;
	ck_assert_msg(released == S + W + 1,
		      "idle for the decay time: %lu blocks released, want %d",
		      released, S + W + 1);

	/* Busy again, the peak keeps the set; a shrink releases it at once. */
	for (int i = 0; i < W; i++) {
		ws[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
		ck_assert_ptr_nonnull(ws[i]);
	}
	for (int i = 0; i < W; i++)
		__free_pages(ws[i], MAX_PAGE_ORDER);
	release_clock_ms += kmem_config.decay_ms / 2;
	release_busy_take();
	release_clock_ms += kmem_config.decay_ms / 2;
	buddy_release_expired(release_clock_ms);
	ck_assert_uint_eq(buddy_decay_released() - base, S + W + 1);
	ck_assert_uint_eq(kmem_zone.free_area[MAX_PAGE_ORDER].nr_free -
				  kmem_zone.nr_released,
			  W);
	kmem_shrink_all();
	ck_assert_uint_eq(kmem_zone.free_area[MAX_PAGE_ORDER].nr_free,
			  kmem_zone.nr_released);
	ck_assert_int_eq(buddy_validate(), 0);
	buddy_set_clock(NULL);
}
END_TEST


/* Is the page holding @p resident?  (mincore: no read, so no fault.) */
static bool page_resident(const void *p)
{
	unsigned char vec = 0;

	ck_assert_int_eq(mincore((void *)((unsigned long)p & ~(PAGE_SIZE - 1)),
				 PAGE_SIZE, &vec), 0);
	return vec & 1;
}

/*
 * Pieces of split blocks (buddy.md, "Pieces of split blocks").  A 4 MiB
 * block, every page written, of which pages @free_to - 1 down to 1 are
 * freed (last to first, so that the per-thread list keeps the lowest of
 * them, at most 32, and the zone merges the rest into pieces); page 0 and
 * pages from @free_to stay in use.  The free pages stay resident while
 * the process is busy.
 * Return: the block.
 */
#define PIECE_FROM	64	/* pages 64..511: pieces of order 6..8 */

static char *split_block_resident(unsigned long free_to)
{
	char *p = alloc_pages_exact(PAGE_SIZE << MAX_PAGE_ORDER, GFP_KERNEL);

	ck_assert_ptr_nonnull(p);
	memset(p, 0x5a, PAGE_SIZE << MAX_PAGE_ORDER);
	for (unsigned long i = free_to - 1; i >= 1; i--)
		free_pages((unsigned long)p + i * PAGE_SIZE, 0);
	for (unsigned long i = PIECE_FROM; i < free_to; i++)
		ck_assert_msg(page_resident(p + i * PAGE_SIZE),
			      "page %lu of the split block not resident", i);
	ck_assert_int_eq(buddy_validate(), 0);
	return p;
}

/* How many of pages @from..@to - 1 of @p are resident. */
static unsigned long pages_resident(const char *p, unsigned long from,
				    unsigned long to)
{
	unsigned long n = 0;

	for (unsigned long i = from; i < to; i++)
		n += page_resident(p + i * PAGE_SIZE);
	return n;
}

static unsigned long pieces_resident(const char *p)
{
	return pages_resident(p, PIECE_FROM, MAX_ORDER_NR_PAGES);
}

/*
 * kmem_shrink_all() (malloc_trim()) gives the free pieces back, as it
 * gives back whole blocks: they count as retained, read as zero when
 * taken again, and the block's page in use keeps its contents.
 */
START_TEST(test_shrink_releases_pieces)
{
	struct kmem_buddyinfo before, after;
	struct page *piece;
	char *p;

	kmem_config.decay_ms = 60000;	/* only the shrink may release */
	p = split_block_resident(MAX_ORDER_NR_PAGES);
	kmem_buddyinfo_get(&before);
	kmem_shrink_all();
	kmem_buddyinfo_get(&after);
	ck_assert_msg(pieces_resident(p) == 0,
		      "%lu free pages of the split block still resident after a shrink",
		      pieces_resident(p));
	ck_assert_uint_ge(after.retained, before.retained +
				  ((MAX_ORDER_NR_PAGES - PIECE_FROM) << PAGE_SHIFT));
	ck_assert_int_eq(p[0], 0x5a);
	piece = virt_to_page(p + (MAX_ORDER_NR_PAGES / 2) * PAGE_SIZE);
	ck_assert_int_eq(piece->type, PG_buddy);
	ck_assert_uint_eq(piece->order, MAX_PAGE_ORDER - 1);
	ck_assert(piece->flags & PGF_released);
	ck_assert(piece->flags & PGF_zeroed);
	ck_assert_int_eq(buddy_validate(), 0);

	/* Taken again whole: zero, and resident again as written. */
	while (piece->type == PG_buddy) {
		struct page *q = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER - 1);

		ck_assert_ptr_nonnull(q);
		if (q != piece)
			continue;	/* another order-9 piece first: kept */
		for (unsigned long off = 0; off < (PAGE_SIZE << (MAX_PAGE_ORDER - 1));
		     off += PAGE_SIZE)
			ck_assert_int_eq(((char *)page_address(q))[off], 0);
	}
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * A pass at @now (the test's clock) keeps the free pages PIECE_FROM..@to
 * of @p resident and plans the next one for @idle_at at the latest, when
 * the process turns idle.
 */
static void pass_keeps_pieces(const char *p, unsigned long to,
			      unsigned long now, unsigned long idle_at,
			      const char *why)
{
	unsigned long next;

	release_clock_ms = now;
	next = buddy_release_expired(now);
	ck_assert_msg(pages_resident(p, PIECE_FROM, to) == to - PIECE_FROM,
		      "%s: %lu of %lu free pages still resident", why,
		      pages_resident(p, PIECE_FROM, to), to - PIECE_FROM);
	ck_assert_msg(next && next <= idle_at,
		      "%s: next pass at %lu, the process turns idle at %lu",
		      why, next, idle_at);
}

/*
 * While the process is busy its free pieces stay (they are likely taken
 * again); once no thread has taken from the zone or freed a piece into it
 * for the decay time, the pass gives them back, so every piece has been
 * free for the decay time.  On the test's clock, with the reaper off.
 */
START_TEST(test_idle_releases_pieces)
{
	const unsigned long t0 = 10UL * 1000 * 1000, half = MAX_ORDER_NR_PAGES / 2;
	char *p;

	kmem_config.background = false;
	kmem_config.decay_ms = 1000;
	release_clock_ms = t0;
	buddy_set_clock(release_clock);
	p = split_block_resident(half);	/* the take and the frees: at t0 */

	pass_keeps_pieces(p, half, t0 + 500, t0 + 1000, "busy process");

	/* The upper half freed late: no take, but new pieces. */
	release_clock_ms = t0 + 900;
	for (unsigned long i = MAX_ORDER_NR_PAGES - 1; i >= half; i--)
		free_pages((unsigned long)p + i * PAGE_SIZE, 0);
	pass_keeps_pieces(p, half, t0 + 1000, t0 + 1900,
			  "a piece freed 100 ms ago, decay 1000 ms");

	release_clock_ms = t0 + 1900;
	buddy_release_expired(release_clock_ms);
	/* (Up to 32 pages from @half on may sit on the thread's list.) */
	ck_assert_msg(pages_resident(p, PIECE_FROM, half) == 0 &&
			      pages_resident(p, half + 64, MAX_ORDER_NR_PAGES) == 0,
		      "idle for the decay time: %lu + %lu free pages still resident",
		      pages_resident(p, PIECE_FROM, half),
		      pages_resident(p, half + 64, MAX_ORDER_NR_PAGES));
	ck_assert_int_eq(p[0], 0x5a);
	ck_assert_int_eq(buddy_validate(), 0);
	free_pages((unsigned long)p, 0);
	ck_assert_int_eq(buddy_validate(), 0);
	buddy_set_clock(NULL);
}
END_TEST

/*
 * The same with the reaper: freeing the pieces wakes it, and it gives
 * them back once the process has been idle for the decay time.  Polled
 * with a bound (30 s), as test_idle_release does.
 */
START_TEST(test_reaper_releases_pieces)
{
	unsigned long left = 0;
	char *p;

	kmem_config.decay_ms = 100;
	p = split_block_resident(MAX_ORDER_NR_PAGES);
	/* No allocator call from here on: only the reaper can release. */
	for (int waited = 0; waited < 600; waited++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		left = pieces_resident(p);
		if (!left)
			break;
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(left == 0,
		      "idle process kept %lu free pages of a split block for 30 s",
		      left);
	ck_assert_int_eq(p[0], 0x5a);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/* ---- /proc/buddyinfo format ----------------------------------------- */

/* The head descriptor of max-order block @b of @sec (one page each). */
static const struct page *block_head(const struct kmem_section *sec, int b)
{
	return &sec->pages[(unsigned long)b * MAX_ORDER_NR_PAGES];
}

/*
 * A new section's blocks after the first are carved only when the zone
 * needs them (issue 14, item 5): each block's head descriptor is on a page
 * of its own, which stays untouched until then, while every figure counts
 * the block free and released.  Carving them all maps no new section;
 * a section unmapped with blocks still uncarved leaves the zone valid.
 */
START_TEST(test_sections_carved_lazily)
{
	struct kmem_buddyinfo bi;
	struct kmem_section *sec;
	unsigned int uncarved;
	int first;

	take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	sec = addr_to_section(live[0].addr);
	ck_assert_ptr_nonnull(sec);
	/* Start-up may have split block 0 for its slabs, no more. */
	first = (int)((live[0].addr - sec->base) >>
		      (MAX_PAGE_ORDER + PAGE_SHIFT));
	ck_assert_int_le(first, 1);
	for (int b = first + 1; b < (int)MAX_BLOCKS_PER_SECTION; b++)
		ck_assert_msg(!page_resident(block_head(sec, b)),
			      "descriptor page of block %d resident, but no block after %d was needed",
			      b, first);
	uncarved = sec->nr_uncarved;
	ck_assert_uint_eq(uncarved, MAX_BLOCKS_PER_SECTION - 1 - (unsigned)first);
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_eq(bi.nr_sections, 1);
	ck_assert_uint_ge(bi.nr_free[MAX_PAGE_ORDER], uncarved);
	ck_assert_uint_eq(bi.retained, (unsigned long)uncarved * SECTION_SIZE /
					       MAX_BLOCKS_PER_SECTION);
	ck_assert_int_eq(buddy_validate(), 0);

	/* The rest of the section, carved one by one: no new section. */
	for (unsigned int i = 0; i < uncarved; i++)
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_eq(bi.nr_sections, 1);
	ck_assert_uint_eq(sec->nr_uncarved, 0);
	for (int b = 0; b < (int)MAX_BLOCKS_PER_SECTION; b++)
		ck_assert(page_resident(block_head(sec, b)));
	ck_assert_int_eq(buddy_validate(), 0);

	/* A second section; everything freed and unmapped, uncarved or not. */
	take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	kmem_buddyinfo_get(&bi);
	ck_assert_uint_eq(bi.nr_sections, 2);
	ck_assert_uint_eq(addr_to_section(live[nr_live - 1].addr)->nr_uncarved,
			  MAX_BLOCKS_PER_SECTION - 1);
	ck_assert_int_eq(buddy_validate(), 0);
	while (nr_live)
		drop_block(nr_live - 1);
	kmem_config.retain_sections = 0;
	kmem_shrink_all();
	kmem_buddyinfo_get(&bi);
	ck_assert_int_eq(buddy_validate(), 0);
	ck_assert_uint_le(bi.nr_sections, 1);	/* start-up's slabs */
	ck_assert_uint_eq(bi.retained, 0);
	take_block(MAX_PAGE_ORDER, GFP_KERNEL);
	ck_assert_int_eq(buddy_validate(), 0);
	drop_block(0);
}
END_TEST

START_TEST(test_buddyinfo_format)
{
	struct kmem_buddyinfo bi = { .nr_free = { 1, 22, 333, 4444, 55555, 0,
						  7, 0, 1, 123456, 9 } };
	char line[256];
	int n = kmem_buddyinfo_format(&bi, line, sizeof(line));

	ck_assert_str_eq(line,
		"Node 0, zone   Normal      1     22    333   4444  55555      0      7      0      1 123456      9 \n");
	ck_assert_int_eq(n, (int)strlen(line));
}
END_TEST

/* ---- fork ---------------------------------------------------------- */

static atomic_bool churn_stop;

static void *page_churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		struct page *p = alloc_pages(GFP_KERNEL, 5);

		/* No ck_assert here: Check's lock must not be held at fork. */
		if (!p)
			abort();
		__free_pages(p, 5);
		buddy_release_all();	/* through the zone lock */
	}
	return NULL;
}

/*
 * fork() while another thread works the zone: every child starts with a
 * consistent allocator (its statistics readable: no seqcount left odd by
 * the locks held across fork) and can use it.
 */
START_TEST(test_fork_while_allocating)
{
	pthread_t t;

	atomic_store(&churn_stop, false);
	pthread_create(&t, NULL, page_churn, NULL);
	for (int i = 0; i < 50; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			/* (The first fork may come before start-up.) */
			struct kmem_stats_header *h = kmem_region;
			struct page *p;
			int bad = 0;

			alarm(20);	/* a hang must not outlive the test */
			if (h)
				bad |= (h->buddy_seq & 1) || (h->layout_seq & 1);
			p = alloc_pages(GFP_KERNEL, 3);
			bad |= !p << 1;
			__free_pages(p, 3);
			kfree(kmalloc(100, GFP_KERNEL));
			h = kmem_region;
			bad |= (!h || (h->buddy_seq & 1)) << 2;
			bad |= (buddy_validate() != 0) << 3;
			_exit(bad);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child %d: status %#x", i, status);
	}
	atomic_store(&churn_stop, true);
	pthread_join(t, NULL);
	ck_assert_uint_eq(kmem_region->buddy_seq & 1, 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

static void *release_churn(void *arg)
{
	enum { NR = 24 };	/* three sections' worth of max-order blocks */
	struct page *p[NR];

	(void)arg;
	while (!atomic_load(&churn_stop)) {
		for (int i = 0; i < NR; i++) {
			char *a;

			p[i] = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
			if (!p[i])
				abort();
			/* Resident pages: madvise has real work to do. */
			a = page_address(p[i]);
			for (unsigned long off = 0;
			     off < (PAGE_SIZE << MAX_PAGE_ORDER); off += 65536)
				a[off] = 1;
		}
		for (int i = 0; i < NR; i++)
			__free_pages(p[i], MAX_PAGE_ORDER);
		/* Releases every block, unmaps the sections beyond 2. */
		kmem_shrink_all();
	}
	return NULL;
}

/*
 * Issue 11 item 3: fork() while another thread gives memory back.  The
 * release takes blocks off the free lists while madvise runs and takes a
 * section out of the zone before unmapping it, both without the zone
 * lock.  A child forked in that window used to inherit them on no list:
 * resident and counted for ever.  In every child the books must be whole:
 * buddy_validate() checks that no block is off the lists with no release
 * under way, that every mapped section is in the zone, and that free,
 * per-thread and allocated pages add up to the sections' pages.
 */
START_TEST(test_fork_during_release)
{
	pthread_t t;
	int failed = 0;

	kfree(kmalloc(64, GFP_KERNEL));	/* start-up before the first fork */
	atomic_store(&churn_stop, false);
	pthread_create(&t, NULL, release_churn, NULL);
	for (int i = 0; i < 200; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			int bad = 0;

			alarm(20);	/* a hang must not outlive the test */
			bad |= (buddy_validate() != 0);
			/* The child can release and validate again. */
			kmem_shrink_all();
			bad |= (buddy_validate() != 0) << 1;
			_exit(bad);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	atomic_store(&churn_stop, true);
	pthread_join(t, NULL);
	ck_assert_msg(!failed, "%d of 200 children found the books broken",
		      failed);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/*
 * exit() waits for the reaper's pass under way, so that the process does
 * not end in the middle of a zone operation: that left buddy_seq odd in
 * the region for good, and "kmeminfo run", which reads the region once
 * its command has exited, found the page allocator's figures torn
 * (preload_mt_prog, about one run in ten on a loaded machine).  A child
 * process (which has no reaper of its own yet, so the hook can be added)
 * starts its reaper, holds it in a pass with a hook that blocks, and
 * calls exit(): it must not be gone before the hook returns.  (On the old
 * code it was gone within a millisecond; a child slower than the 300 ms
 * below would let the old code pass, never fail the new one.)
 */
static int hook_in[2], hook_go[2];

static void blocking_hook(unsigned long now_ms, unsigned long *next)
{
	char c = 1;

	(void)now_ms;
	(void)next;
	if (write(hook_in[1], &c, 1) != 1 || read(hook_go[0], &c, 1) < 0)
		_exit(3);
}

START_TEST(test_exit_waits_for_reaper_pass)
{
	int exiting[2], status = 0;
	pid_t pid;
	char c = 0;

	ck_assert_int_eq(pipe(hook_in), 0);
	ck_assert_int_eq(pipe(hook_go), 0);
	ck_assert_int_eq(pipe(exiting), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		buddy_reaper_add_hook(blocking_hook);
		take_block(MAX_PAGE_ORDER, GFP_KERNEL);	/* starts the reaper */
		if (!buddy_reaper_running())
			_exit(4);
		buddy_reaper_kick(kmem_now_ms());
		if (read(hook_in[0], &c, 1) != 1)	/* in its pass */
			_exit(5);
		if (write(exiting[1], &c, 1) != 1)
			_exit(6);
		exit(0);
	}
	ck_assert_int_eq(read(exiting[0], &c, 1), 1);
	for (int ms = 0; ms < 300; ms++) {
		struct timespec t = { 0, 1000 * 1000 };

		ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0,
			      "the child exited while its reaper was in a pass (status 0x%x)",
			      status);
		nanosleep(&t, NULL);
	}
	ck_assert_int_eq(write(hook_go[1], &c, 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status 0x%x", status);
}
END_TEST

/*
 * Issue 11 item 7: the page table covers the user address space of the
 * machine it runs on.  Every mapping of the process (the stack and the
 * top-down mmap area sit at the very top) ends below 2^KMEM_ADDR_BITS,
 * and an address at the top is classified as foreign, not out of range.
 * On aarch64 (48-bit addresses) the old fixed 47 failed here.
 */
START_TEST(test_addr_bits_cover_user_space)
{
	char line[512], name[256];
	unsigned long top = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	int local;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		name[0] = '\0';
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi,
			   name) < 2)
			continue;
		if (!strcmp(name, "[vsyscall]"))
			continue;	/* a kernel address, fixed on x86-64 */
		if (hi > top)
			top = hi;
	}
	fclose(f);
	ck_assert_msg(top - 1 < (1UL << KMEM_ADDR_BITS),
		      "a mapping ends at %#lx, above the %d-bit page table",
		      top, KMEM_ADDR_BITS);
	ck_assert(!kmem_addr_is_ours(&local));
	ck_assert(!kmem_addr_is_ours((void *)(top - 1)));
	kfree(kmalloc(64, GFP_KERNEL));
	ck_assert(!kmem_addr_is_ours(&local));
}
END_TEST

/* ---- the validator sees what it exists to see ------------------------ */

/*
 * Each test damages one invariant of the live zone on purpose, asserts
 * that buddy_validate() counts it and prints what it is, then undoes the
 * damage and asserts the zone is whole again.  (Check runs each test in a
 * child of its own, so even a failed restore could not reach the next.)
 */

static struct page *validator_hold;

/* A free block of order 1..MAX_PAGE_ORDER-1 on its zone list. */
static struct page *zone_free_block(unsigned int *order)
{
	if (!validator_hold)
		validator_hold = alloc_pages(GFP_KERNEL, 0); /* splits a block */
	ck_assert_int_eq(buddy_validate(), 0);
	for (unsigned int o = 1; o < MAX_PAGE_ORDER; o++) {
		struct list_head *l = &kmem_zone.free_area[o].free_list;

		if (!list_empty(l)) {
			*order = o;
			return list_first_entry(l, struct page, lru);
		}
	}
	ck_abort_msg("no free block of order 1..%d in the zone", MAX_PAGE_ORDER - 1);
	return NULL;
}

/* buddy_validate() with its report captured; asserts it found @needle. */
static void expect_buddy_report(int min_bad, const char *needle)
{
	const char *out;
	int bad;

	stderr_capture_begin();
	bad = buddy_validate();
	out = stderr_capture_end();
	ck_assert_msg(bad >= min_bad, "buddy_validate() returned %d; printed: %s",
		      bad, out);
	ck_assert_msg(strstr(out, needle), "report lacks \"%s\": %s", needle, out);
}

START_TEST(test_validate_block_off_its_list)
{
	struct free_area *fa;
	unsigned int o;
	struct page *p = zone_free_block(&o);
	char want[128];

	fa = &kmem_zone.free_area[o];
	list_del(&p->lru);		/* free, but on no list */
	snprintf(want, sizeof(want),
		 "order %u: %lu blocks on the lists, nr_free says %lu", o,
		 fa->nr_free - 1, fa->nr_free);
	expect_buddy_report(1, want);
	list_add(&p->lru, &fa->free_list);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_validate_unmerged_buddies)
{
	unsigned int o;
	struct page *p = zone_free_block(&o), *q = p + (1UL << (o - 1)), saved;
	struct free_area *fa = kmem_zone.free_area;
	char want[128];

	/* Split a free order-o block into two free halves, counts kept. */
	saved = *q;
	list_del(&p->lru);
	fa[o].nr_free--;
	p->order = (unsigned char)(o - 1);
	set_page_type(q, PG_buddy);
	q->order = (unsigned char)(o - 1);
	q->flags = 0;
	list_add(&p->lru, &fa[o - 1].free_list);
	list_add(&q->lru, &fa[o - 1].free_list);
	fa[o - 1].nr_free += 2;
	snprintf(want, sizeof(want), "free buddies of order %u not merged", o - 1);
	expect_buddy_report(1, want);

	list_del(&p->lru);
	list_del(&q->lru);
	fa[o - 1].nr_free -= 2;
	*q = saved;
	p->order = (unsigned char)o;
	list_add(&p->lru, &fa[o].free_list);
	fa[o].nr_free++;
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_validate_counts)
{
	unsigned int o;
	char want[128];

	zone_free_block(&o);
	kmem_zone.free_pages++;
	snprintf(want, sizeof(want), "%lu free pages in sections, zone says %lu",
		 kmem_zone.free_pages - 1, kmem_zone.free_pages);
	expect_buddy_report(1, want);
	kmem_zone.free_pages--;

	kmem_zone.free_area[o].nr_free++;
	snprintf(want, sizeof(want),
		 "order %u: %lu blocks on the lists, nr_free says %lu", o,
		 kmem_zone.free_area[o].nr_free - 1,
		 kmem_zone.free_area[o].nr_free);
	expect_buddy_report(1, want);
	kmem_zone.free_area[o].nr_free--;
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

START_TEST(test_validate_wrong_order)
{
	unsigned int o;
	struct page *p = zone_free_block(&o);
	char want[128];

	p->order = (unsigned char)(o + 1);	/* on list o, says o + 1 */
	snprintf(want, sizeof(want), "free list %u: entry type %u order %u", o,
		 PG_buddy, o + 1);
	expect_buddy_report(1, want);
	p->order = (unsigned char)o;
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

/* A free block's resident extent must fit its half (zone.c). */
START_TEST(test_validate_resident_extent)
{
	unsigned int o;
	struct page *p = zone_free_block(&o);
	unsigned char flags = p->flags;
	uint16_t lo = p->buddy_res_lo, hi = p->buddy_res_hi;
	char want[128];

	p->flags = (unsigned char)((flags & ~(PGF_zeroed | PGF_released)) |
				   PGF_resident);
	p->buddy_res_lo = (uint16_t)((1U << (o - 1)) + 1);
	p->buddy_res_hi = 0;
	snprintf(want, sizeof(want), "free list %u: block 0x%lx flags %#x, "
		 "resident extents %u+0 pages", o, page_to_addr(p), p->flags,
		 (1U << (o - 1)) + 1);
	expect_buddy_report(1, want);
	p->flags = (unsigned char)(PGF_zeroed | PGF_resident);
	p->buddy_res_lo = 1;
	expect_buddy_report(1, "resident extents 1+0 pages");
	p->flags = flags;
	p->buddy_res_lo = lo;
	p->buddy_res_hi = hi;
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

#if KMEM_DEBUG_LEVEL >= 2
/* Level 2 checks the zone itself, after every zone operation. */
static void damage_then_allocate(void *arg)
{
	(void)arg;
	kmem_zone.free_pages++;
	alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);	/* a zone operation */
}

START_TEST(test_expensive_tier_checks_zone)
{
	unsigned int o;

	zone_free_block(&o);
	expect_abort(damage_then_allocate, NULL,
		     "buddy_validate: 1 problems after a zone operation");
	expect_abort(damage_then_allocate, NULL,
		     "pages in free blocks, zone says");
}
END_TEST
#endif

static atomic_ulong big_block_rounds;

static void *big_block_loop_thread(void *arg)
{
	(void)arg;
	while (atomic_load(&big_block_rounds) < 2000) {
		char *p = kmalloc(3 << 20, GFP_KERNEL);

		ck_assert_ptr_nonnull(p);
		p[0] = 1;
		p[(3 << 20) - 1] = 2;
		kfree(p);		/* parked: the thread's big block */
		sched_yield();		/* parked a while: the others' turn */
		atomic_fetch_add(&big_block_rounds, 1);
	}
	return NULL;
}

/*
 * The thread's big block (buddy/pcp.c) is taken by others while its
 * thread parks and takes it again in a loop: kmem_shrink_all() (as
 * malloc_trim()), called here for as long as the loop runs (and the
 * reaper, whose decay time of 1 ms lets its passes take it too, when it
 * comes first).  Each block is taken once (a block taken twice is two
 * frees of it, caught as a double free), and the pages add up afterwards
 * (buddy_validate(): a take whose block went nowhere fails it).  The
 * TSan stage runs this.
 */
START_TEST(test_big_block_taken_while_used)
{
	unsigned long shrinks = 0;
	pthread_t t;

	kmem_config.decay_ms = 1;
	atomic_init(&big_block_rounds, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, big_block_loop_thread, NULL),
			 0);
	while (atomic_load(&big_block_rounds) < 2000) {
		kmem_shrink_all();
		shrinks++;
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_gt(shrinks, 0);
	ck_assert_int_eq(buddy_validate(), 0);
}
END_TEST

static Suite *buddy_suite(void)
{
	Suite *s = suite_create("buddy");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alloc_free_every_order);
	tcase_add_test(tc, test_get_order);
	tcase_add_loop_test(tc, test_random_sequences, 0, 3);
	tcase_add_test(tc, test_free_all_merges);
	tcase_add_test(tc, test_zero_reused);
	tcase_add_test(tc, test_pages_exact);
	tcase_add_test(tc, test_virt_to_page);
	tcase_add_test(tc, test_buddyinfo_format);
	tcase_add_test(tc, test_addr_bits_cover_user_space);
	suite_add_tcase(s, tc);

	tc = tcase_create("failure");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_os_failure);
	tcase_add_test(tc, test_nowait_never_maps);
	tcase_add_test(tc, test_nofail_aborts);
	tcase_add_test(tc, test_bad_frees);
	tcase_add_test_raise_signal(tc, test_double_free_signal, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_tags(tc, "threads");	/* the TSan build runs these */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_pcp_keeps_medium_blocks);
	tcase_add_test(tc, test_pcp_stacks);
	tcase_add_test(tc, test_fork_while_allocating);
	tcase_add_test(tc, test_fork_during_release);
	tcase_add_test(tc, test_exit_waits_for_reaper_pass);
	tcase_add_test(tc, test_big_block_taken_while_used);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rss_drops_after_shrink);
	tcase_add_test(tc, test_idle_release);
	tcase_add_test(tc, test_release_keeps_reused_blocks);
	tcase_add_test(tc, test_shrink_releases_pieces);
	tcase_add_test(tc, test_idle_releases_pieces);
	tcase_add_test(tc, test_reaper_releases_pieces);
	tcase_add_test(tc, test_sections_unmapped_beyond_retain);
	tcase_add_test(tc, test_peaks_follow_use);
	tcase_add_test(tc, test_sections_carved_lazily);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_validate_block_off_its_list);
	tcase_add_test(tc, test_validate_unmerged_buddies);
	tcase_add_test(tc, test_validate_counts);
	tcase_add_test(tc, test_validate_wrong_order);
	tcase_add_test(tc, test_validate_resident_extent);
#if KMEM_DEBUG_LEVEL >= 2
	tcase_add_test(tc, test_expensive_tier_checks_zone);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(buddy_suite());
}
