// SPDX-License-Identifier: MIT
/*
 * tests/kernel/kmem_vma.c - the kernel's VMA caches for its vma suite
 * (tools/testing/vma, 6.12) on kmem.
 *
 *  - vm_area_cachep and vma_lock_cachep are created as the kernel's
 *    proc_caches_init() creates them (KMEM_CACHE(..., SLAB_PANIC |
 *    SLAB_ACCOUNT)), before main(): the suite's vm_area_alloc(),
 *    vm_area_dup(), vm_area_free() and its VMA-lock helpers allocate from
 *    them once run-kernel-tests.sh has replaced their calloc() and free()
 *    with kmem_cache_alloc() and kmem_cache_free(), as in the kernel.
 *  - At exit both caches must be empty: the suite frees every VMA it made
 *    (cleanup_mm()), and LeakSanitizer, which would find a leaked calloc()
 *    on the stand-in, does not see kmem's objects.  A leak aborts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "maple-shared.h"
#include "vma_internal.h"
#include "kmem_linux.h"

/*
 * The harness's linux/mm.h and vma/linux/mmzone.h define PAGE_SIZE and
 * MAX_ORDER_NR_PAGES again after kmem's <kmem/page.h>, spelt differently
 * (gcc warns "redefined"): the values must be kmem's.
 */
_Static_assert(PAGE_SIZE == 1UL << 12 && PAGE_SHIFT == 12,
	       "the harness's page size is not kmem's");
_Static_assert(MAX_ORDER_NR_PAGES == 1UL << 10 && MAX_PAGE_ORDER == 10,
	       "the harness's largest order is not kmem's");

struct kmem_cache *vm_area_cachep;
struct kmem_cache *vma_lock_cachep;

static __attribute__((constructor)) void kmem_vma_init(void)
{
	vm_area_cachep = KMEM_CACHE(vm_area_struct, SLAB_PANIC | SLAB_ACCOUNT);
	vma_lock_cachep = KMEM_CACHE(vma_lock, SLAB_PANIC | SLAB_ACCOUNT);
}

static __attribute__((destructor)) void kmem_vma_check(void)
{
	unsigned long vmas = kmem_cache_nr_allocated(vm_area_cachep);
	unsigned long locks = kmem_cache_nr_allocated(vma_lock_cachep);

	if (!vmas && !locks)
		return;
	fprintf(stderr,
		"kmem_vma: %lu vm_area_struct and %lu vma_lock objects still allocated at exit\n",
		vmas, locks);
	abort();
}
