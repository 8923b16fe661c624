// SPDX-License-Identifier: MIT
/*
 * tests/kmeminfo/kmi_fake.c - regions made by hand, for kmeminfo's tests.
 *
 * Not linked with kmem: it writes struct kmem_stats_* (include/kmem/
 * stats.h) itself.
 *
 *   kmi_fake image FILE   write the golden image (below) to FILE
 *   kmi_fake MODE         publish a region in a memfd named "kmem-stats",
 *                         print "ready PID", wait for standard input to
 *                         close, exit.  MODE:
 *     golden    the golden image, header.pid = this process
 *     badmagic  a header with a foreign magic number
 *     version   layout version 99
 *     version1  layout version 1 (a library from before version 2)
 *     geometry  this version with another record size
 *     torn      layout_seq odd for ever (a writer that died mid-update)
 *     recseq    one record whose seq stays odd
 *     busy      a thread keeps buddy_seq odd, though moving, for 4 s at
 *               a time (one update right after another, as threads that
 *               hand the zone lock to each other do), even for 200 ms
 *               between; "ready" is printed as the first odd spell begins
 *     otherpid  a valid region naming another process
 *
 * The golden image (its figures are checked by hand in golden/ and
 * in test_kmeminfo.c):
 *
 *   id  name                          state  size objs/slab order mag
 *    0  kmem_cache                    LIVE    448    9       0     0
 *    1  kmalloc-64                    LIVE     64   63       0   128
 *    2  a_very_long_cache_name_x      LIVE     96   42       0   128
 *    3  gone                          FREE
 *    4  conn                          LIVE    192   21       0    64
 *    5  conn_alias                    ALIAS of 4
 *   66  bigobj                        LIVE   8192   15       5     4
 *
 * One thread (tid 4243) holds 15 kmalloc-64 objects (10 loaded + 5
 * previous), 64 conn objects and, through an extension unit, 3 bigobj
 * objects; it has 6 pages on its page lists.  An orphaned unit (a thread
 * lost to fork) holds 7 kmalloc-64 objects.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <kmem/stats.h>

#define CACHE_OFF	4096UL
#define UNITS_OFF	(CACHE_OFF + KMEM_STATS_MAX_CACHES * \
			 sizeof(struct kmem_stats_cache))
#define NR_UNITS	3
#define IMAGE_SIZE	(UNITS_OFF + NR_UNITS * KMEM_STATS_UNIT_SIZE)

/* Offsets inside a thread unit (one unit page). */
#define T_PCP_OFF	64
#define T_SLOT_OFF	128
#define T_EXT_OFF	(T_SLOT_OFF + \
			 KMEM_SLOTS_INLINE * sizeof(struct kmem_stats_slot))

static struct kmem_stats_cache *rec(unsigned char *img, unsigned int id)
{
	return (void *)(img + CACHE_OFF + id * sizeof(struct kmem_stats_cache));
}

static void set_rec(unsigned char *img, unsigned int id, const char *name,
		    unsigned int state, unsigned int size, unsigned int objs,
		    unsigned int order, unsigned int mag, uint64_t active,
		    uint64_t total, uint64_t aslabs, uint64_t slabs,
		    uint64_t depot_full)
{
	struct kmem_stats_cache *r = rec(img, id);

	r->seq = 2 * (id + 1);
	r->state = state;
	r->id = id;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->object_size = size;
	r->size = size;
	r->align = 8;
	r->objs_per_slab = objs;
	r->order = order;
	r->magazine_size = mag;
	r->alias_of = id;
	r->refcount = 1;
	r->active_objs = active;
	r->total_objs = total;
	r->active_slabs = aslabs;
	r->total_slabs = slabs;
	r->depot_full = depot_full;
	r->depot_objs = depot_full * mag;
	r->allocs_base = 100 * (id + 1);
	r->frees_base = 10 * (id + 1);
	r->alloc_slow = id;
	r->free_slow = id + 1;
	r->slabs_created = slabs + 1;
	r->slabs_freed = 1;
}

static void set_slot(struct kmem_stats_slot *c, unsigned int id,
		     unsigned int mag, unsigned int rounds, unsigned int prev,
		     unsigned int loaded_start, unsigned int prev_start,
		     uint64_t allocs, uint64_t frees)
{
	c->magsize = (uint16_t)mag;
	c->cache_id = (uint16_t)id;
	c->rounds = rounds;
	c->prev_word = prev;		/* prev_rounds, reused << 16 */
	c->loaded_start = (uint16_t)loaded_start;
	c->prev_start = (uint16_t)prev_start;
	c->allocs = allocs;
	c->frees = frees;
}

static void thread_unit(unsigned char *u, unsigned int kind, int tid)
{
	struct kmem_stats_thread *t = (void *)u;

	t->unit.kind = kind;
	t->unit.npages = 1;
	t->tid = tid;
	t->state = 2;
	t->pcp_off = T_PCP_OFF;
	t->slot_off = T_SLOT_OFF;
	t->nr_slots_inline = KMEM_SLOTS_INLINE;
	t->ext_off = T_EXT_OFF;
	t->nr_ext = KMEM_STATS_MAX_CACHES / KMEM_SLOTS_INLINE;
}

static void build_golden(unsigned char *img, int pid)
{
	struct kmem_stats_header *h = (void *)img;
	static const uint64_t nr_free[KMEM_STATS_NR_ORDERS] = {
		12, 5, 3, 0, 1, 0, 0, 2, 0, 1, 7
	};
	unsigned char *t0 = img + UNITS_OFF;
	unsigned char *ext = t0 + KMEM_STATS_UNIT_SIZE;
	unsigned char *orphan = ext + KMEM_STATS_UNIT_SIZE;
	struct kmem_stats_slot *slots;
	struct kmem_stats_ext *e;
	uint64_t *table;

	h->magic = KMEM_STATS_MAGIC;
	h->version = KMEM_STATS_VERSION;
	h->header_size = sizeof(*h);
	h->region_size = IMAGE_SIZE;
	h->layout_seq = 24;
	h->pid = pid;
	h->start_ns = 1700000000000000000ULL;
	h->page_size = 4096;
	h->nr_orders = KMEM_STATS_NR_ORDERS;
	h->cache_off = CACHE_OFF;
	h->cache_rec_size = sizeof(struct kmem_stats_cache);
	h->max_caches = KMEM_STATS_MAX_CACHES;
	h->nr_cache_slots = 67;
	h->units_off = UNITS_OFF;
	h->unit_size = KMEM_STATS_UNIT_SIZE;
	h->units_end = UNITS_OFF + NR_UNITS * KMEM_STATS_UNIT_SIZE;
	h->slot_size = sizeof(struct kmem_stats_slot);
	h->nr_threads = 1;
	h->buddy_seq = 10;
	memcpy(h->nr_free, nr_free, sizeof(nr_free));
	h->managed_pages = 8192;
	h->free_pages = 7986;
	h->mapped = 32 << 20;
	h->retained = 16 << 20;
	h->huge_mapped = 8 << 20;
	h->nr_huge = 1;
	h->huge_cached = 12 << 20;
	h->nr_huge_cached = 2;
	h->nr_sections = 1;
	h->os_maps = 5;
	h->os_unmaps = 1;
	h->os_releases = 4;

	set_rec(img, 0, "kmem_cache", KMEM_STATS_CACHE_LIVE, 448, 9, 0, 0,
		2, 9, 1, 1, 0);
	set_rec(img, 1, "kmalloc-64", KMEM_STATS_CACHE_LIVE, 64, 63, 0, 128,
		126, 189, 2, 3, 0);
	set_rec(img, 2, "a_very_long_cache_name_x", KMEM_STATS_CACHE_LIVE, 96,
		42, 0, 128, 0, 0, 0, 0, 0);
	set_rec(img, 3, "gone", KMEM_STATS_CACHE_FREE, 32, 126, 0, 128, 5, 126,
		1, 1, 0);
	set_rec(img, 4, "conn", KMEM_STATS_CACHE_LIVE, 192, 21, 0, 64, 1000000,
		1000020, 47620, 47620, 2);
	rec(img, 4)->refcount = 2;
	set_rec(img, 5, "conn_alias", KMEM_STATS_CACHE_ALIAS, 192, 21, 0, 64,
		0, 0, 0, 0, 0);
	rec(img, 5)->alias_of = 4;
	rec(img, 5)->object_size = 188;
	set_rec(img, 66, "bigobj", KMEM_STATS_CACHE_LIVE, 8192, 15, 5, 4, 30,
		30, 2, 2, 1);

	/* The live thread. */
	thread_unit(t0, KMEM_UNIT_THREAD, 4243);
	*(uint64_t *)(t0 + T_PCP_OFF) = 6;
	slots = (void *)(t0 + T_SLOT_OFF);
	set_slot(&slots[1], 1, 128, 10, 5 | 7 << 16, 30, 2, 1000, 900);
	set_slot(&slots[4], 4, 64, 64, 0, 64, 0, 5, 7);
	set_slot(&slots[3], 3, 16, 3, 0, 3, 0, 1, 1);	/* FREE record */
	set_slot(&slots[2], 9, 8, 4, 0, 4, 0, 1, 1);	/* other cache id */
	table = (void *)(t0 + T_EXT_OFF);
	table[1] = UNITS_OFF + KMEM_STATS_UNIT_SIZE;	/* its offset */
	/* Its extension unit: ids 64..127. */
	e = (void *)ext;
	e->unit.kind = KMEM_UNIT_EXT;
	e->unit.npages = 1;
	e->tid = 4243;
	e->first_id = 64;
	set_slot(&e->slots[2], 66, 4, 2, 1, 4, 0, 0, 0);
	/* A thread that did not survive fork. */
	thread_unit(orphan, KMEM_UNIT_ORPHAN, 0);
	slots = (void *)(orphan + T_SLOT_OFF);
	set_slot(&slots[1], 1, 128, 7, 0, 7, 0, 50, 50);
}

static void *publish(const unsigned char *img, size_t len)
{
	int fd = memfd_create(KMEM_STATS_MEMFD_NAME, MFD_CLOEXEC);
	void *map;

	if (fd < 0 || ftruncate(fd, (off_t)len))
		return NULL;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return NULL;
	memcpy(map, img, len);
	return map;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cond = PTHREAD_COND_INITIALIZER;
static int busy_started;

/* Mode "busy": the page allocator's figures, updated without a pause. */
static void *busy_writer(void *arg)
{
	uint64_t *seq = &((struct kmem_stats_header *)arg)->buddy_seq;
	struct timespec gap = { 0, 200000000 }, step = { 0, 100000 };

	for (;;) {
		double until;

		__atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);	/* odd */
		pthread_mutex_lock(&busy_lock);
		busy_started = 1;
		pthread_cond_signal(&busy_cond);
		pthread_mutex_unlock(&busy_lock);
		until = now() + 4;
		while (now() < until) {
			nanosleep(&step, NULL);
			/* One update ends, the next begins: odd again. */
			__atomic_fetch_add(seq, 2, __ATOMIC_RELEASE);
		}
		__atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);	/* even */
		nanosleep(&gap, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned char *img = calloc(1, IMAGE_SIZE);
	struct kmem_stats_header *h = (void *)img;
	const char *mode = argc > 1 ? argv[1] : "";
	void *map;
	char buf[64];
	int ret = 0;

	if (!img)
		return 1;
	if (!strcmp(mode, "image") && argc > 2) {
		FILE *f = fopen(argv[2], "w");

		build_golden(img, 4242);
		if (!f || fwrite(img, IMAGE_SIZE, 1, f) != 1)
			ret = 1;
		if (f && fclose(f))
			ret = 1;
		goto out;
	}
	build_golden(img, getpid());
	if (!strcmp(mode, "badmagic")) {
		memset(img, 0, sizeof(*h));
		h->magic = 0x1122334455667788ULL;
	} else if (!strcmp(mode, "version")) {
		h->version = 99;
	} else if (!strcmp(mode, "version1")) {
		h->version = 1;
	} else if (!strcmp(mode, "geometry")) {
		h->cache_rec_size = 512;
	} else if (!strcmp(mode, "torn")) {
		h->layout_seq = 25;
	} else if (!strcmp(mode, "recseq")) {
		rec(img, 4)->seq = 7;
	} else if (!strcmp(mode, "otherpid")) {
		h->pid = 1;
	} else if (strcmp(mode, "golden") && strcmp(mode, "busy")) {
		fprintf(stderr, "kmi_fake: unknown mode '%s'\n", mode);
		ret = 2;
		goto out;
	}
	map = publish(img, IMAGE_SIZE);
	if (!map) {
		perror("kmi_fake: publish");
		ret = 1;
		goto out;
	}
	if (!strcmp(mode, "busy")) {
		pthread_t t;

		if (pthread_create(&t, NULL, busy_writer, map)) {
			ret = 1;
			goto out;
		}
		pthread_mutex_lock(&busy_lock);
		while (!busy_started)
			pthread_cond_wait(&busy_cond, &busy_lock);
		pthread_mutex_unlock(&busy_lock);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
out:
	free(img);
	return ret;
}
