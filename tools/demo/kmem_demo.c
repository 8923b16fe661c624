// SPDX-License-Identifier: MIT
/*
 * tools/demo/kmem_demo.c - kmem in use, for the README's main job.
 *
 * A small connection server simulation, written the kernel's way: named
 * object caches for its hot structures (connections with a constructor,
 * requests, RCU-freed sessions), kmalloc for variable buffers, the page
 * allocator for a ring buffer, and plain malloc (served by kmem, since the
 * program links libkmem-malloc).  It prints what it did and its own
 * /proc/slabinfo and /proc/buddyinfo, as the kernel would show them.
 *
 *   kmem_demo                 run the simulation and report
 *   kmem_demo --serve SECONDS keep serving (and slowly leak sessions) so
 *                             that kmeminfo can watch it from outside; it
 *                             prints its pid and "ready" first
 *   kmem_demo --kfence        overrun a kmalloc buffer by one byte (run
 *                             with KMEM_KFENCE_SAMPLE_INTERVAL=-1: KFENCE
 *                             reports it and the program aborts)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include <kmem/kmem.h>

struct conn {
	int fd;
	unsigned int state;
	unsigned long bytes_in, bytes_out;
	char peer[48];
	struct request *pending;
};

struct request {
	struct request *next;
	unsigned int method;
	unsigned int len;
	char *body;		/* kmalloc'd */
	unsigned long stamp;
};

struct session {
	unsigned long id;
	char user[32];
	struct rcu_head rcu;
};

static struct kmem_cache *conn_cache, *req_cache, *sess_cache;
static unsigned long ctors;

static void conn_ctor(void *p)
{
	struct conn *c = p;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	ctors++;
}

static unsigned long rnd(void)
{
	static unsigned long x = 88172645463325252UL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static struct conn *conn_open(int fd)
{
	struct conn *c = kmem_cache_alloc(conn_cache, GFP_KERNEL);

	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "10.0.%d.%d:443", fd / 256, fd % 256);
	return c;
}

static void conn_close(struct conn *c)
{
	while (c->pending) {
		struct request *r = c->pending;

		c->pending = r->next;
		c->bytes_out += r->len;
		kfree(r->body);
		kmem_cache_free(req_cache, r);
	}
	c->fd = -1;		/* the state the constructor made */
	c->bytes_in = c->bytes_out = 0;
	kmem_cache_free(conn_cache, c);
}

static void request_in(struct conn *c)
{
	struct request *r = kmem_cache_zalloc(req_cache, GFP_KERNEL);

	r->len = (unsigned int)(rnd() % 3000 + 1);
	r->body = kmalloc(r->len, GFP_KERNEL);
	memset(r->body, 'x', r->len);
	r->next = c->pending;
	c->pending = r;
	c->bytes_in += r->len;
}

static struct session *session_new(unsigned long id)
{
	struct session *s = kmem_cache_alloc(sess_cache, GFP_KERNEL);

	s->id = id;
	snprintf(s->user, sizeof(s->user), "user%lu", id % 1000);
	return s;
}

static void session_end(struct session *s)
{
	/* Readers may still look at it: free after a grace period. */
	kfree_rcu(s, rcu);
}

static void simulate(int rounds, struct conn **live, int nlive, int leak_every)
{
	static unsigned long sessions;

	for (int r = 0; r < rounds; r++) {
		int i = (int)(rnd() % (unsigned long)nlive);

		if (live[i] && rnd() % 4 == 0) {
			conn_close(live[i]);
			live[i] = NULL;
		} else if (!live[i]) {
			live[i] = conn_open(i);
		} else {
			request_in(live[i]);
		}
		if (r % 10 == 0) {
			struct session *s = session_new(++sessions);

			if (!leak_every || sessions % (unsigned long)leak_every)
				session_end(s);	/* else: leaked, on purpose */
		}
		/* Some plain malloc too: kmem serves it. */
		free(strdup("a string from strdup"));
	}
}

static void report(void)
{
	struct kmem_buddyinfo bi;

	printf("\n--- this process's /proc/slabinfo (from kmem) ---\n");
	fflush(stdout);
	kmem_slabinfo_print(STDOUT_FILENO);
	printf("\n--- this process's /proc/buddyinfo ---\n");
	fflush(stdout);
	kmem_buddyinfo_print(STDOUT_FILENO);
	kmem_buddyinfo_get(&bi);
	printf("mapped %lu KiB, resident at most %lu KiB, retained %lu KiB, per-thread page lists %lu pages\n",
	       bi.mapped >> 10, bi.resident >> 10, bi.retained >> 10,
	       bi.pcp_pages);
}

/*
 * --kfence: a planted bug.  Run with KMEM_KFENCE_SAMPLE_INTERVAL=-1 (every
 * allocation guarded); a 32-byte buffer at the right end of its page is
 * written one byte too far, and KFENCE reports it.
 */
static int kfence_demo(void)
{
	volatile char *buf;
	int tries = 0;

	do {
		buf = kmalloc(32, GFP_KERNEL);
	} while (((uintptr_t)buf & 4095) != 4096 - 32 && ++tries < 64);
	printf("kmem_demo: writing 33 bytes into a 32-byte kmalloc buffer\n");
	fflush(stdout);
	for (int i = 0; i <= 32; i++)
		buf[i] = 'x';
	printf("kmem_demo: the overrun went unnoticed (KFENCE off?)\n");
	return 1;
}

int main(int argc, char **argv)
{
	int serve = argc > 2 && !strcmp(argv[1], "--serve") ? atoi(argv[2]) : 0;

	if (argc > 1 && !strcmp(argv[1], "--kfence"))
		return kfence_demo();
	static struct conn *live[2000];
	unsigned long ring;
	time_t end;

	conn_cache = kmem_cache_create("demo_conn", sizeof(struct conn), 0,
				       SLAB_HWCACHE_ALIGN, conn_ctor);
	req_cache = KMEM_CACHE(request, 0);	/* merges with a kmalloc cache */
	sess_cache = kmem_cache_create("demo_session", sizeof(struct session), 0,
				       SLAB_TYPESAFE_BY_RCU, NULL);
	ring = __get_free_pages(GFP_KERNEL | __GFP_ZERO, 4);
	if (!conn_cache || !req_cache || !sess_cache || !ring)
		return 1;

	if (serve) {
		printf("kmem_demo: pid %d serving for %d s, leaking one session in 50\nready\n",
		       getpid(), serve);
		fflush(stdout);
		end = time(NULL) + serve;
		while (time(NULL) < end) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			simulate(2000, live, 2000, 50);
			nanosleep(&ts, NULL);
		}
		return 0;
	}

	simulate(200000, live, 2000, 0);
	printf("kmem_demo: 200000 events on 2000 connection slots\n");
	printf("  constructor ran %lu times: once per slot of a new slab, never on reuse\n",
	       ctors);
	{
		struct kmem_slabinfo si[64];
		int n = kmem_slabinfo_snapshot(si, 64), listed = 0;

		for (int i = 0; i < n && i < 64; i++)
			listed |= !strcmp(si[i].name, "request");
		printf("  'request' (%zu bytes) %s\n", sizeof(struct request),
		       listed ? "has slabs of its own" :
		       "shares the slabs of kmalloc-32 (compatible caches merge,\n"
		       "  as in the kernel: slabinfo lists only the cache that holds them)");
	}
	kvfree_rcu_barrier();
	report();
	for (int i = 0; i < 2000; i++)
		if (live[i])
			conn_close(live[i]);
	free_pages(ring, 4);
	kmem_cache_destroy(conn_cache);
	kmem_cache_destroy(req_cache);
	kmem_cache_destroy(sess_cache);
	kmem_shrink_all();
	printf("\nafter destroying the caches and kmem_shrink_all():\n");
	fflush(stdout);
	kmem_buddyinfo_print(STDOUT_FILENO);
	return 0;
}
