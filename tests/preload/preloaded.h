/* SPDX-License-Identifier: MIT */
/*
 * tests/preload/preloaded.h - the programs' own proof that kmem serves them.
 *
 * With KMEM_EXPECT_PRELOADED set (compare.sh sets it for the kmem run
 * only), expect_kmem_malloc() exits with status 3 unless the malloc that
 * the program's calls resolve to is libkmem-malloc.so's: dlsym() finds
 * the first definition in ld.so's lookup order, dladdr() names the object
 * it lives in.  A program that ld.so ran without the preload (static,
 * setuid, or a loader that ignored LD_PRELOAD) finds glibc's, or nothing.
 */
#ifndef KMEM_TEST_PRELOADED_H
#define KMEM_TEST_PRELOADED_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_kmem_malloc(const char *prog)
{
	Dl_info info = { 0 };
	void *m;

	if (!getenv("KMEM_EXPECT_PRELOADED"))
		return;
	m = dlsym(RTLD_DEFAULT, "malloc");
	if (!m || !dladdr(m, &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "libkmem-malloc")) {
		fprintf(stderr, "%s: malloc resolves to %s, not libkmem-malloc.so\n",
			prog, info.dli_fname ? info.dli_fname : "nothing");
		exit(3);
	}
}

#endif /* KMEM_TEST_PRELOADED_H */
