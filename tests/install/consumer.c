// SPDX-License-Identifier: MIT
/*
 * consumer.c - a program built against an installed kmem, the way a user
 * builds one: through pkg-config or find_package(kmem), nothing from the
 * source tree.  tests/install/install.sh builds and runs it.
 */
#include <kmem/kmem.h>
#include <kmem/slab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
	long key;
	char name[40];
};

int main(void)
{
	struct kmem_cache *cache;
	struct item *it;
	char *buf;

	cache = KMEM_CACHE(item, 0);
	if (!cache)
		return 1;
	it = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!it)
		return 2;
	it->key = 42;
	strcpy(it->name, "installed");
	buf = kmalloc(200, GFP_KERNEL);
	if (!buf || ksize(buf) < 200)
		return 3;
	kfree(buf);
	kmem_cache_free(cache, it);
	kmem_cache_destroy(cache);

#ifdef WANT_KMEM_MALLOC
	/* Linked with kmem-malloc, malloc() is kmem's: ksize() knows it. */
	buf = malloc(100);
	if (!buf || ksize(buf) < 100)
		return 4;
	free(buf);
#endif
	puts("consumer ok");
	return 0;
}
