// SPDX-License-Identifier: MIT
/*
 * kernel_consumer.c - kernel-style code built against an installed kmem's
 * kernel-compatibility headers, the way a user builds it: through
 * `pkg-config --cflags --libs kmem-compat` or CMake's kmem::compat.  It
 * includes <linux/slab.h> and <linux/gfp.h>, never <kmem/...>, and uses
 * kmem_cache_create() in Linux 6.1's form and in 6.12's.
 */
#include <linux/slab.h>
#include <linux/gfp.h>
#include <stdio.h>

struct node {
	unsigned long index;
	void *slots[8];
};

static void node_ctor(void *p)
{
	((struct node *)p)->index = ~0UL;
}

int main(void)
{
	struct kmem_cache_args args = { .align = 64, .ctor = node_ctor };
	struct kmem_cache *old, *new;
	struct node *a, *b;

	old = kmem_cache_create("kc_node_61", sizeof(struct node), 0,
				SLAB_PANIC | SLAB_RECLAIM_ACCOUNT, node_ctor);
	new = kmem_cache_create("kc_node_612", sizeof(struct node), &args,
				SLAB_PANIC | SLAB_NO_OBJ_EXT);
	a = kmem_cache_alloc(old, GFP_KERNEL);
	b = kmem_cache_zalloc(new, GFP_KERNEL | __GFP_NO_OBJ_EXT);
	if (!a || !b || a->index != ~0UL || b->index || ((unsigned long)b & 63))
		return 1;
	kmem_cache_free(old, a);
	kmem_cache_free(new, b);
	kmem_cache_destroy(old);
	kmem_cache_destroy(new);
	printf("consumer ok\n");
	return 0;
}
