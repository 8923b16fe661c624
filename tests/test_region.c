// SPDX-License-Identifier: MIT
/*
 * tests/test_region.c - the published statistics region is not an attack
 * surface.
 *
 *   sealed    the memfd is mode 0400 and sealed: no writes, no growing or
 *             shrinking, no new writable mapping - and kmem keeps
 *             publishing through its own
 *   writers   another process of the same user (both dropped to an
 *             unprivileged uid when the test runs as root) cannot open
 *             /proc/PID/fd/N read-write, nor - after chmod'ing the file
 *             back, which the owner may - map it writable, write() it,
 *             truncate it or punch a hole; root is refused the writes too
 *   scan      a busy process (threads allocating and freeing objects of
 *             many sizes, caches past the inline slots) publishes no
 *             address: no word of the region is a live allocation, an
 *             address in kmem's heap or in the region's own mapping, or
 *             (above 4 GiB, where counters do not reach; not under a
 *             sanitizer, whose shadow maps most of the address space) an
 *             address anywhere in the process's mappings
 *
 * Each test that needs kmem uninitialised forks before its first call
 * (Check runs every test in a fresh process that has not started kmem).
 */
#include "kmem_test.h"
#include <grp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kmalloc/kmalloc.h"
#include "slab/slab.h"

#define UNPRIVILEGED 65534	/* nobody */

/*
 * A sanitizer's shadow memory maps most of the address space (ASan's
 * covers 0x7fff8000 up to 0x10007fff8000): any count would be "inside a
 * mapping" there.  The scan's whole-mapping check needs a plain build.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static const bool scan_all_mappings = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
static const bool scan_all_mappings = false;
#else
static const bool scan_all_mappings = true;
#endif
#else
static const bool scan_all_mappings = true;
#endif

/* ---- sealed ----------------------------------------------------------- */

START_TEST(test_region_sealed)
{
	int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL |
		   F_SEAL_FUTURE_WRITE;
	struct stat st;
	int fd, seals;
	void *p;

	kfree(kmalloc(64, GFP_KERNEL));
	fd = kmem_stats_fd();
	ck_assert_int_ge(fd, 3);
	seals = fcntl(fd, F_GET_SEALS);
	ck_assert_msg((seals & want) == want, "seals %#x, want %#x", seals,
		      want);
	ck_assert(kmem_region_write_sealed());
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0400);
	/* Even kmem's own descriptor: no writable mapping, no write(). */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(p == MAP_FAILED && errno == EPERM);
	ck_assert_int_eq(pwrite(fd, "x", 1, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	/* ... and it still publishes through the mapping it has. */
	{
		struct kmem_cache *c = kmem_cache_create("kt_sealed", 64, 0, SLAB_NO_MERGE,
							 NULL);
		const struct kmem_stats_header *h;
		const struct kmem_stats_cache *r;
		bool found = false;

		h = mmap(NULL, KMEM_REGION_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		ck_assert(h != MAP_FAILED);
		r = (const void *)((const char *)h + h->cache_off);
		for (uint32_t i = 0; i < h->nr_cache_slots; i++)
			found |= r[i].state == KMEM_STATS_CACHE_LIVE &&
				 !strcmp(r[i].name, "kt_sealed");
		ck_assert(found);
		munmap((void *)h, KMEM_REGION_SIZE);
		kmem_cache_destroy(c);
	}
}
END_TEST

/* ---- writers ---------------------------------------------------------- */

/* Become @uid (from root), staying readable through /proc (dumpable). */
static void become(uid_t uid)
{
	if (getuid() == uid)
		return;
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		_exit(90);
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/*
 * The target: a kmem process of @uid.  It starts kmem as that user, says
 * "PID FD" on @out and lives until @in is closed.
 */
static pid_t target_start(uid_t uid, int *to_target, FILE **from)
{
	int in[2], out[2];
	pid_t pid;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(in[1]);
		close(out[0]);
		become(uid);
		for (int i = 0; i < 1000; i++)
			kmalloc(64 + i, GFP_KERNEL);
		dprintf(out[1], "%d %d\n", (int)getpid(), kmem_stats_fd());
		while (read(in[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(in[0]);
	close(out[1]);
	*to_target = in[1];
	*from = fdopen(out[0], "r");
	return pid;
}

/* Failure bits of the attacker (its exit status). */
enum {
	A_OPEN_RDWR = 1,	/* open(O_RDWR) was allowed */
	A_OPEN_RDONLY = 2,	/* it could not even read: the test is moot */
	A_MMAP_WRITE = 4,	/* a writable shared mapping was allowed */
	A_WRITE = 8,		/* write() was allowed */
	A_MPROTECT = 16,	/* a read-only mapping could be made writable */
	A_RESIZE = 32,		/* ftruncate or a hole punched */
	A_FIGURES = 64,		/* the region changed under the attack */
};

/* Try every way to write @fd; the failure bits for those that worked. */
static int attack_fd(int fd)
{
	uint64_t magic;
	int bad = 0;
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		bad |= A_MMAP_WRITE;
	if (pwrite(fd, "\0\0\0\0\0\0\0\0", 8, 0) >= 0)
		bad |= A_WRITE;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED && !mprotect(p, 4096, PROT_READ | PROT_WRITE))
		bad |= A_MPROTECT;
	if (!ftruncate(fd, 4096) ||
	    !fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		       4096))
		bad |= A_RESIZE;
	if (pread(fd, &magic, 8, 0) != 8 || magic != KMEM_STATS_MAGIC)
		bad |= A_FIGURES;
	return bad;
}

/*
 * The attacker, as @uid: what another process of the user (or root)
 * tries on /proc/PID/fd/N.  Not @root: open(O_RDWR) must be refused (the
 * mode), and then, since it owns the file, it gives itself write
 * permission back and tries again: the seals must hold.  @root passes
 * the mode; the seals must hold.
 */
static int attacker_run(uid_t uid, pid_t target, int fd, bool root)
{
	char path[64];
	pid_t pid;
	int st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)target, fd);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		int bad = 0, ro, rw;

		become(uid);
		ro = open(path, O_RDONLY);
		if (ro < 0)
			_exit(A_OPEN_RDONLY);
		rw = open(path, O_RDWR);
		if (!root && rw >= 0)
			bad |= A_OPEN_RDWR;
		if (!root && rw < 0 && errno != EACCES)
			bad |= A_OPEN_RDWR;
		bad |= attack_fd(rw >= 0 ? rw : ro);
		if (!root) {
			/* The owner may chmod it back: the seals still hold. */
			if (chmod(path, 0600))
				_exit(bad | A_OPEN_RDWR);
			rw = open(path, O_RDWR);
			if (rw < 0)
				_exit(bad | A_OPEN_RDWR);
			bad |= attack_fd(rw);
			chmod(path, 0400);
		}
		_exit(bad);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(st), "attacker status %#x", st);
	return WEXITSTATUS(st);
}

START_TEST(test_region_refuses_writers)
{
	uid_t uid = geteuid() ? geteuid() : UNPRIVILEGED;
	int to_target, tfd, bad;
	pid_t target, tpid;
	FILE *from;

	target = target_start(uid, &to_target, &from);
	ck_assert_int_eq(fscanf(from, "%d %d", &tpid, &tfd), 2);
	ck_assert_int_eq(tpid, target);
	ck_assert_int_ge(tfd, 3);
	/* The same unprivileged user: every write refused. */
	bad = attacker_run(uid, target, tfd, false);
	ck_assert_msg(bad == 0, "same-user attacker: failure bits %#x", bad);
	/* Root passes file modes, not the seals. */
	if (!geteuid()) {
		bad = attacker_run(0, target, tfd, true);
		ck_assert_msg(bad == 0, "root attacker: failure bits %#x", bad);
	}
	close(to_target);
	fclose(from);
	ck_assert_int_eq(waitpid(target, NULL, 0), target);
}
END_TEST

/* ---- scan ------------------------------------------------------------- */

#define SCAN_THREADS	4
#define SCAN_HELD	600	/* live allocations per thread */
#define SCAN_CACHES	80	/* past the 64 inline slots: extension units */

static struct kmem_cache *scan_caches[SCAN_CACHES];
static void *held[SCAN_THREADS][SCAN_HELD];
static pthread_barrier_t scan_barrier;
static int scan_stop;		/* __atomic: the scan threads poll it */

static size_t scan_size(uint64_t r)
{
	switch (r % 8) {
	case 0:
		return 1 + r % 64;
	case 1:
		return 64 + r % 512;
	case 2:
		return 512 + r % 8192;
	case 3:
		return 8192 + r % (256 << 10);	/* large: buddy blocks */
	default:
		return 0;			/* from a cache */
	}
}

static void *scan_alloc(uint64_t r, struct kmem_cache **from)
{
	size_t size = scan_size(r);

	*from = NULL;
	if (size)
		return kmalloc(size, GFP_KERNEL);
	*from = scan_caches[(r >> 8) % SCAN_CACHES];
	return kmem_cache_alloc(*from, GFP_KERNEL);
}

static void scan_free(void *p, struct kmem_cache *from)
{
	if (from)
		kmem_cache_free(from, p);
	else
		kfree(p);
}

static void *scan_thread(void *arg)
{
	long t = (long)arg;
	uint64_t r = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
	struct kmem_cache *from[SCAN_HELD];

	for (int i = 0; i < SCAN_HELD; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		held[t][i] = scan_alloc(r, &from[i]);
	}
	/* Half freed: magazines and page lists now hold freed blocks. */
	for (int i = 0; i < SCAN_HELD; i += 2) {
		scan_free(held[t][i], from[i]);
		held[t][i] = NULL;
	}
	pthread_barrier_wait(&scan_barrier);
	/* Busy while the region is scanned: churn, never touching held. */
	while (!__atomic_load_n(&scan_stop, __ATOMIC_RELAXED)) {
		struct kmem_cache *c;
		void *p;

		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		p = scan_alloc(r, &c);
		scan_free(p, c);
	}
	return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

struct range {
	uint64_t lo, hi;
	bool exec;
};

/* The process's mappings, from /proc/self/maps. */
static int read_maps(struct range *m, int max)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3)
			m[n++] = (struct range){ lo, hi, perms[2] == 'x' };
	}
	fclose(f);
	return n;
}

/*
 * The profile's frames (KMEM_UNIT_PROFILE): the one place code addresses
 * are published.  [*lo, *hi) brackets the records; a word there is a
 * frame when its offset within its record falls in frames[].
 */
static void profile_frames(const struct kmem_stats_header *h, size_t *lo,
			   size_t *hi)
{
	*lo = *hi = 0;
	for (uint64_t off = h->units_off; off < h->units_end;) {
		const struct kmem_stats_profile *p =
			(const void *)((const char *)h + off);

		if (!p->unit.npages)
			break;
		if (p->unit.kind == KMEM_UNIT_PROFILE) {
			*lo = off + p->stack_off;
			*hi = *lo + (size_t)p->max_stacks * p->stack_size;
			return;
		}
		off += (uint64_t)p->unit.npages * h->unit_size;
	}
}

static bool is_frame_word(size_t lo, size_t hi, size_t off)
{
	size_t in = (off - lo) % sizeof(struct kmem_stats_prof_stack);

	return off >= lo && off < hi &&
	       in >= offsetof(struct kmem_stats_prof_stack, frames);
}

static bool in_code(const struct range *m, int nr, uint64_t v)
{
	for (int i = 0; i < nr; i++)
		if (m[i].exec && v >= m[i].lo && v < m[i].hi)
			return true;
	return false;
}

/* Where an offending word came from, for the failure message. */
static const char *region_part(const struct kmem_stats_header *h, size_t off)
{
	if (off < h->cache_off)
		return "header";
	if (off < h->units_off)
		return "cache record";
	return "unit";
}

START_TEST(test_region_publishes_no_address)
{
	static struct range maps[4096];
	uintptr_t *live = calloc(SCAN_THREADS * SCAN_HELD + 8, sizeof(*live));
	uintptr_t twin_lo, twin_hi;
	pthread_t th[SCAN_THREADS];
	size_t nr_live = 0;
	void *huge;
	int fd;

	ck_assert_ptr_nonnull(live);
	/* Samples often enough that the profile has stacks to scan. */
	setenv("KMEM_PROFILE_RATE", "4096", 1);
	for (int i = 0; i < SCAN_CACHES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "kt_scan_%d", i);
		scan_caches[i] = kmem_cache_create(name, 24 + 40 * i, 0,
						   SLAB_NO_MERGE, NULL);
		ck_assert_ptr_nonnull(scan_caches[i]);
	}
	huge = kmalloc(6 << 20, GFP_KERNEL);	/* a mapping of its own */
	ck_assert_ptr_nonnull(huge);
	pthread_barrier_init(&scan_barrier, NULL, SCAN_THREADS + 1);
	for (long t = 0; t < SCAN_THREADS; t++)
		pthread_create(&th[t], NULL, scan_thread, (void *)t);
	pthread_barrier_wait(&scan_barrier);
	for (int t = 0; t < SCAN_THREADS; t++)
		for (int i = 0; i < SCAN_HELD; i++)
			if (held[t][i])
				live[nr_live++] = (uintptr_t)held[t][i];
	live[nr_live++] = (uintptr_t)huge;
	for (int i = 0; i < SCAN_CACHES; i++)
		live[nr_live++] = (uintptr_t)scan_caches[i];
	qsort(live, nr_live, sizeof(*live), cmp_ptr);
	twin_lo = (uintptr_t)kmem_region - KMEM_PUB_DISPLACEMENT;
	twin_hi = (uintptr_t)kmem_region + KMEM_REGION_SIZE;

	/* As a reader sees it: the memfd, mapped read-only. */
	fd = kmem_stats_fd();
	ck_assert_int_ge(fd, 3);
	for (int pass = 0; pass < 5; pass++) {
		const struct kmem_stats_header *h;
		size_t n, frames_lo, frames_hi, nr_frames = 0;
		const uint64_t *w;
		int nr_maps;

		h = mmap(NULL, KMEM_REGION_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		ck_assert(h != MAP_FAILED);
		nr_maps = read_maps(maps, 4096);
		n = h->units_end / 8;
		w = (const uint64_t *)h;
		ck_assert_uint_ge(h->nr_threads, SCAN_THREADS);
		profile_frames(h, &frames_lo, &frames_hi);
		ck_assert_msg(frames_hi, "no profile published");
		for (size_t i = 0; i < n; i++) {
			uint64_t v = w[i];

			if (v < 4096)
				continue;
			if (is_frame_word(frames_lo, frames_hi, i * 8)) {
				/* Code, and nothing else. */
				ck_assert_msg(in_code(maps, nr_maps, v),
					      "profile frame at offset %zu is not code, %#lx",
					      i * 8, (unsigned long)v);
				nr_frames++;
				continue;
			}
			ck_assert_msg(!bsearch(&v, live, nr_live, sizeof(*live),
					       cmp_ptr),
				      "%s word at offset %zu is a live allocation, %#lx",
				      region_part(h, i * 8), i * 8,
				      (unsigned long)v);
			ck_assert_msg(!kmem_addr_is_ours((void *)(uintptr_t)v),
				      "%s word at offset %zu is a heap address, %#lx",
				      region_part(h, i * 8), i * 8,
				      (unsigned long)v);
			ck_assert_msg(v < twin_lo || v >= twin_hi,
				      "%s word at offset %zu is an address in the region, %#lx",
				      region_part(h, i * 8), i * 8,
				      (unsigned long)v);
			if (v < (1ULL << 32) || !scan_all_mappings)
				continue;	/* counts reach this far */
			for (int m = 0; m < nr_maps; m++)
				ck_assert_msg(v < maps[m].lo || v >= maps[m].hi,
					      "%s word at offset %zu is an address in %#lx-%#lx, %#lx",
					      region_part(h, i * 8), i * 8,
					      (unsigned long)maps[m].lo,
					      (unsigned long)maps[m].hi,
					      (unsigned long)v);
		}
		ck_assert_msg(nr_frames, "no sampled stack to check");
		munmap((void *)h, KMEM_REGION_SIZE);
	}
	__atomic_store_n(&scan_stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < SCAN_THREADS; t++)
		pthread_join(th[t], NULL);
	free(live);
}
END_TEST

static Suite *region_suite(void)
{
	Suite *s = suite_create("region");
	TCase *tc = tcase_create("region");

	tcase_set_tags(tc, "threads");	/* the TSan build runs these */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_region_sealed);
	tcase_add_test(tc, test_region_refuses_writers);
	tcase_add_test(tc, test_region_publishes_no_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(region_suite());
}
