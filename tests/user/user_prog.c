// SPDX-License-Identifier: MIT
/*
 * tests/user/user_prog.c - what a user of kmem's kernel API sees: debug
 * reports, KMEM_* settings, KMEM_STATS_PRINT.  Driven by check_user.py,
 * one mode per run (argv[1]); the checks are made there, on the output.
 *
 * Linked against libkmem.so without -rdynamic, as a user's program
 * usually is, so that the call sites named in reports are functions of
 * this program that only its ELF .symtab knows.  The site_* functions are
 * static and noinline for the same reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <kmem/kmem.h>

#define SITE static __attribute__((noinline, used))

/*
 * Compiler barrier: the double frees below are on purpose, and a site_*
 * function must call its helper, not jump to it (a tail call would make
 * the helper's caller the function above).
 */
static inline void *launder(void *p)
{
	__asm__ __volatile__("" : "+r"(p));
	return p;
}

SITE void *site_krealloc(void)
{
	void *p = kmalloc(16, GFP_KERNEL);

	return launder(krealloc(p, 100, GFP_KERNEL));	/* grows: a new object */
}

SITE void *site_kmemdup(void)
{
	static const char buf[40] = "kmemdup";

	return launder(kmemdup(buf, sizeof(buf), GFP_KERNEL));
}

SITE void *site_kstrdup(void)
{
	return launder(kstrdup("kstrdup: a string", GFP_KERNEL));
}

SITE void *site_kstrndup(void)
{
	return launder(kstrndup("kstrndup: a longer string", 20, GFP_KERNEL));
}

SITE void *site_kstrdup_const(void)
{
	return launder((void *)kstrdup_const("kstrdup_const", GFP_KERNEL));
}

SITE void *site_kmalloc_node(void)
{
	return launder(kmalloc_node(48, GFP_KERNEL, 0));
}

SITE void *site_kvmalloc(void)
{
	return launder(kvmalloc(56, GFP_KERNEL));
}

SITE void *site_kvrealloc(void)
{
	void *p = kvmalloc(16, GFP_KERNEL);

	return launder(kvrealloc(p, 16, 200, GFP_KERNEL));
}

/*
 * helpers: each helper's allocation freed twice.  The KMEM_DEBUG report
 * of each double free must name the site_* function as the owner.
 */
static int mode_helpers(void)
{
	static void *(*const sites[])(void) = {
		site_krealloc, site_kmemdup, site_kstrdup, site_kstrndup,
		site_kstrdup_const, site_kmalloc_node, site_kvmalloc,
		site_kvrealloc,
	};

	for (unsigned int i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		void *p = sites[i]();

		if (!p)
			return 1;
		kfree(p);
		kfree(launder(p));
	}
	return 0;
}

/* dfree8k: one double free of an 8 KiB object. */
static int mode_dfree8k(void)
{
	void *p = kmalloc(8192, GFP_KERNEL);

	kfree(p);
	kfree(launder(p));
	return 0;
}

/*
 * redzone: a write one byte past a kmalloc-32 object, reported at free.
 * The object's address is printed so that the checker can tell the
 * offsets in the report.
 */
static int mode_redzone(void)
{
	char *p = kmalloc(32, GFP_KERNEL);

	printf("object %p\n", (void *)p);
	fflush(stdout);
	((volatile char *)launder(p))[32] = 'x';
	kfree(p);
	return 0;
}

/*
 * leak: a cache destroyed with one object left, after a double free in
 * the same slab (whose report gives the slab's address).
 */
static int mode_leak(void)
{
	struct kmem_cache *c = kmem_cache_create("leaky", 100, 0, 0, NULL);
	void *a, *b;

	if (!c)
		return 1;
	a = kmem_cache_alloc(c, GFP_KERNEL);
	b = kmem_cache_alloc(c, GFP_KERNEL);
	printf("object %p\n", b);
	fflush(stdout);
	kmem_cache_free(c, a);
	kmem_cache_free(c, launder(a));
	kmem_cache_destroy(c);
	return 0;
}

static void conn_ctor(void *p)
{
	memset(p, 0, 64);
}

/*
 * ctor: KMEM_DEBUG=ZP,conn names a cache with a constructor, which is
 * not poisoned; kmem must say so once, however often it is created.
 */
static int mode_ctor(void)
{
	for (int i = 0; i < 3; i++) {
		struct kmem_cache *c = kmem_cache_create("conn", 64, 0, 0,
							 conn_ctor);

		if (!c)
			return 1;
		kmem_cache_free(c, kmem_cache_alloc(c, GFP_KERNEL));
		kmem_cache_destroy(c);
	}
	return 0;
}

/*
 * settings: what the KMEM_* booleans gave this process, as figures the
 * checker reads: whether two compatible caches merged (KMEM_NOMERGE),
 * the magazine size of a cache (KMEM_MAGAZINES), whether statistics are
 * published (KMEM_STATS).
 */
static int mode_settings(void)
{
	struct kmem_cache *a = kmem_cache_create("mergeable_a", 200, 0, 0, NULL);
	struct kmem_cache *b = kmem_cache_create("mergeable_b", 200, 0, 0, NULL);
	struct kmem_slabinfo si[256];
	int n = kmem_slabinfo_snapshot(si, 256), rows = 0;
	unsigned int mag = 0;

	if (!a || !b)
		return 1;
	for (int i = 0; i < n && i < 256; i++) {
		if (!strncmp(si[i].name, "mergeable_", 10))
			rows++;
		if (!strcmp(si[i].name, "kmalloc-64"))
			mag = si[i].magazine_size;
	}
	/* Merged: aliases are not listed (with one another, or with a kmalloc cache). */
	printf("merged %d\nmagazines %d\npublished %d\n", rows < 2, mag > 0,
	       kmem_stats_fd() >= 0);
	return 0;
}

/*
 * atexit: a cache and objects for KMEM_STATS_PRINT to report; stdio is
 * closed and the directory changed before exit, and a child process
 * exits too (its own report, its own PID).
 */
static int mode_atexit(void)
{
	struct kmem_cache *c = kmem_cache_create("exit_cache", 72, 0,
						       SLAB_NO_MERGE, NULL);
	pid_t pid;
	int st;

	for (int i = 0; i < 100; i++)
		kmem_cache_alloc(c, GFP_KERNEL);
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child %d\n", (int)getpid());
		exit(0);
	}
	waitpid(pid, &st, 0);
	if (chdir("/"))
		return 1;
	fclose(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{ "helpers", mode_helpers }, { "dfree8k", mode_dfree8k },
		{ "redzone", mode_redzone }, { "leak", mode_leak },
		{ "ctor", mode_ctor },       { "settings", mode_settings },
		{ "atexit", mode_atexit },
	};

	for (unsigned int i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].fn();
	fprintf(stderr, "usage: user_prog MODE\n");
	return 2;
}
