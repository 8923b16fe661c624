// SPDX-License-Identifier: MIT
/*
 * core/os.c - the OS contract.
 *
 * The only file in kmem that calls mmap, munmap, madvise, mremap,
 * mprotect or mincore.  Every
 * byte kmem manages enters and leaves the process through the five
 * functions below, which keeps the policy (when to map, when to give back)
 * in the layers above and the mechanism here.
 *
 * Contract:
 *  - kmem_os_map(size, align): a private anonymous read-write mapping of
 *    @size bytes (a multiple of PAGE_SIZE) whose address is a multiple of
 *    @align (a power of two).  Zero-filled, not yet resident
 *    (MAP_NORESERVE: address space is not charged until touched).  NULL
 *    with errno ENOMEM on failure, never a partial mapping.
 *  - kmem_os_unmap(addr, size): the range is gone.
 *  - kmem_os_populate(addr, size): the pages of a range about to be
 *    written, mapped by one madvise(MADV_POPULATE_WRITE) rather than a
 *    fault each (a fault traps, which costs more: slab/slab.c,
 *    new_slab_populate(); kmalloc/large.c, large_map_ahead()).
 *  - kmem_os_resident(addr, size): mincore(), whether a short range's
 *    pages are all mapped (kmalloc/large.c asks it of the last page of a
 *    block before it populates the next).
 *  - kmem_os_release(addr, size): the range stays mapped but its pages go
 *    back to the OS (MADV_DONTNEED): RSS drops at once and the next touch
 *    sees zeros.  Inside a transparent huge page this splits it (the
 *    kernel frees the split-off pages later, under memory pressure): the
 *    callers release whole huge pages where they can.
 *  - kmem_os_hugepage(addr, size): advice, MADV_HUGEPAGE: faults in the
 *    range may map 2 MiB pages, and khugepaged may collapse it.  The flag
 *    belongs to the mapping: mremap moves it along.  A kernel without
 *    THP refuses it (EINVAL), which changes nothing: it is not counted.
 *  - kmem_os_map_region(fd, size) / kmem_os_remap_region_fixed(): the
 *    statistics region (core/region.c): a MAP_SHARED view of a memfd, or
 *    private anonymous memory when fd is -1.  Not subject to the fault
 *    injection below.
 *  - kmem_os_grow_in_place(addr, old, new): mremap without moving; false
 *    if the address space after the mapping is taken.
 *  - kmem_os_move_fixed(addr, old, new, to): mremap that moves the pages
 *    (no copy, no fault) onto a range reserved with kmem_os_map();
 *    kmem_os_move_keep(addr, size, to) moves them onto a mapped range and
 *    leaves @addr mapped and empty (MREMAP_DONTUNMAP: the huge heap moves
 *    a block inside its arena).
 *  - kmem_os_map_guard(size) / kmem_os_protect(addr, size, access): the
 *    KFENCE pool (kfence/kfence.c): a private anonymous mapping that starts
 *    inaccessible (PROT_NONE), whose pages are then opened read-write and
 *    closed again one at a time.  Not subject to the fault injection: the
 *    pool is mapped once, at start-up, and without it KFENCE is simply
 *    off.
 *
 * Fault injection: kmem_os_fail_after(n) lets n more kmem_os_map() calls
 * succeed, then fails them all with ENOMEM until kmem_os_fail_after(-1).
 * Only the anonymous maps are affected (not the statistics region), which
 * is what "the OS refuses memory" means to the allocator above.
 *
 * No locks: the fault counter is an atomic; the rest is the kernel's.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/core.h"

static long os_fail_after = -1;		/* atomic; -1: off */
static unsigned long os_map_calls;	/* atomic; successful maps */
static uint64_t os_maps, os_unmaps, os_releases, os_moves;	/* atomic */
static uint64_t os_move_errors;	/* atomic: mremap moves the kernel refused */
static uint64_t os_hugepages;					/* atomic */
static uint64_t os_populates;					/* atomic */

/*
 * The OS calls are counted here, and again in the published header for
 * kmeminfo (an atomic there too: two threads may count at once, and a
 * copy stored after the count could go back in time).
 */
static void os_count(uint64_t *count, uint64_t *published)
{
	__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	if (kmem_region)
		__atomic_add_fetch(published, 1, __ATOMIC_RELAXED);
}

/**
 * kmem_os_gives_back - munmap and madvise(MADV_DONTNEED) calls so far
 */
unsigned long kmem_os_gives_back(void)
{
	return __atomic_load_n(&os_unmaps, __ATOMIC_RELAXED) +
	       __atomic_load_n(&os_releases, __ATOMIC_RELAXED);
}

/**
 * kmem_os_republish - the OS call counts, published anew
 *
 * Context: kmem_republish_locked() (calls counted meanwhile may be lost
 * from the published copy: they are rare and show at most one short).
 */
void kmem_os_republish(void)
{
	__atomic_store_n(&kmem_region->os_maps,
			 __atomic_load_n(&os_maps, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&kmem_region->os_unmaps,
			 __atomic_load_n(&os_unmaps, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&kmem_region->os_releases,
			 __atomic_load_n(&os_releases, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&kmem_region->os_moves,
			 __atomic_load_n(&os_moves, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&kmem_region->os_hugepages,
			 __atomic_load_n(&os_hugepages, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&kmem_region->os_populates,
			 __atomic_load_n(&os_populates, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}

/**
 * kmem_os_hugepage_calls - madvise(MADV_HUGEPAGE) calls that succeeded
 */
unsigned long kmem_os_hugepage_calls(void)
{
	return __atomic_load_n(&os_hugepages, __ATOMIC_RELAXED);
}

/**
 * kmem_os_populate_calls - madvise(MADV_POPULATE_WRITE) calls that succeeded
 */
unsigned long kmem_os_populate_calls(void)
{
	return __atomic_load_n(&os_populates, __ATOMIC_RELAXED);
}

/**
 * kmem_os_move_calls - mremap calls that moved a mapping so far
 */
unsigned long kmem_os_move_calls(void)
{
	return __atomic_load_n(&os_moves, __ATOMIC_RELAXED);
}

/**
 * kmem_os_move_errors - mremap moves the kernel refused (not the injected
 * failures of kmem_os_fail_after()): a range across two VMAs, or no memory
 */
unsigned long kmem_os_move_errors(void)
{
	return __atomic_load_n(&os_move_errors, __ATOMIC_RELAXED);
}

/**
 * kmem_os_fail_after - make the OS refuse memory (tests)
 * @n: mappings still allowed; -1 turns the fault off
 *
 * Context: any.
 */
void kmem_os_fail_after(long n)
{
	__atomic_store_n(&os_fail_after, n, __ATOMIC_SEQ_CST);
}

/**
 * kmem_os_map_calls - successful anonymous mappings so far
 *
 * Return: the count; tests use it to prove GFP_NOWAIT never maps.
 */
unsigned long kmem_os_map_calls(void)
{
	return __atomic_load_n(&os_map_calls, __ATOMIC_RELAXED);
}

static bool os_should_fail(void)
{
	long n = __atomic_load_n(&os_fail_after, __ATOMIC_RELAXED);

	while (n >= 0) {
		if (n == 0)
			return true;
		if (__atomic_compare_exchange_n(&os_fail_after, &n, n - 1,
						false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return false;
	}
	return false;
}

/**
 * kmem_os_map - map fresh anonymous memory
 * @size:  bytes, a multiple of PAGE_SIZE
 * @align: required alignment of the address, a power of two
 *
 * For an alignment above the page size, maps @size + @align and trims the
 * misaligned head and the tail.
 *
 * Return: the address, or NULL with errno set (ENOMEM).
 */
void *kmem_os_map(size_t size, size_t align)
{
	const int prot = PROT_READ | PROT_WRITE;
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	unsigned long start, aligned;
	size_t span;
	void *p;

	if (os_should_fail() || size == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (align <= PAGE_SIZE) {
		p = mmap(NULL, size, prot, flags, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		goto out;
	}
	if (__builtin_add_overflow(size, align, &span)) {
		errno = ENOMEM;
		return NULL;
	}
	p = mmap(NULL, span, prot, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (unsigned long)p;
	aligned = ALIGN(start, align);
	if (aligned > start)
		munmap(p, aligned - start);
	if (aligned + size < start + span)
		munmap((void *)(aligned + size), start + span - aligned - size);
	p = (void *)aligned;
out:
	__atomic_add_fetch(&os_map_calls, 1, __ATOMIC_RELAXED);
	os_count(&os_maps, &kmem_region->os_maps);
	return p;
}

/**
 * kmem_os_unmap - give a range back for good
 * @addr: page-aligned start
 * @size: bytes
 */
void kmem_os_unmap(void *addr, size_t size)
{
	os_count(&os_unmaps, &kmem_region->os_unmaps);
	if (munmap(addr, size))
		kmem_panic("kmem: munmap(%p, %zu) failed: errno %d\n", addr,
			   size, errno);
}

/**
 * kmem_os_release - drop the pages of a range, keep the range
 * @addr: page-aligned start
 * @size: bytes
 *
 * After this the range reads as zeros and costs no memory until touched.
 */
void kmem_os_release(void *addr, size_t size)
{
	os_count(&os_releases, &kmem_region->os_releases);
	if (madvise(addr, size, MADV_DONTNEED))
		kmem_panic("kmem: madvise(%p, %zu, MADV_DONTNEED) failed: errno %d\n",
			   addr, size, errno);
}

/**
 * kmem_os_hugepage - ask for transparent huge pages on a range
 * @addr: start, HPAGE_SIZE-aligned (only whole, aligned 2 MiB pieces of a
 *        mapping can be huge pages)
 * @size: bytes
 */
void kmem_os_hugepage(void *addr, size_t size)
{
	if (!madvise(addr, size, MADV_HUGEPAGE))
		os_count(&os_hugepages, &kmem_region->os_hugepages);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

/**
 * kmem_os_populate - map the pages of a range before they are written
 * @addr: page-aligned start
 * @size: bytes
 *
 * One madvise(MADV_POPULATE_WRITE) instead of a fault per page, for pages
 * the caller knows will be written (it is not for pages that may stay
 * untouched: they would become resident).  Where the kernel refuses
 * (before Linux 5.14, or short of memory) nothing is done, and the
 * writes fault the pages in as before; errno is kept either way (malloc()
 * may not change it).
 */
void kmem_os_populate(void *addr, size_t size)
{
	int saved = errno;

	if (!madvise(addr, size, MADV_POPULATE_WRITE))
		os_count(&os_populates, &kmem_region->os_populates);
	errno = saved;
}

/**
 * kmem_os_resident - are the pages of a range all mapped?
 * @addr: page-aligned start
 * @size: bytes, at most 64 pages
 *
 * mincore(); false as well where it fails (a range no longer mapped).
 * errno is kept.
 */
bool kmem_os_resident(const void *addr, size_t size)
{
	unsigned char vec[64];
	size_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	int saved = errno;
	bool all = pages <= sizeof(vec) && !mincore((void *)addr, size, vec);

	for (size_t i = 0; all && i < pages; i++)
		all = vec[i] & 1;
	errno = saved;
	return all;
}

static int region_flags(int fd)
{
	return fd >= 0 ? MAP_SHARED :
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
}

/**
 * kmem_os_map_region - map the statistics region
 * @fd:   the memfd to share, or -1 for private anonymous memory
 * @size: bytes
 *
 * Return: the address or NULL.
 */
void *kmem_os_map_region(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, region_flags(fd),
		       fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/**
 * kmem_os_remap_region_fixed - replace a range with a new region mapping
 * @addr: start of the range, replaced atomically (MAP_FIXED)
 * @fd:   the memfd, or -1 for private anonymous memory
 * @size: bytes
 *
 * Used in a fork child to give it its own statistics region at the
 * address its parent's was.
 *
 * Return: @addr, or NULL on failure (the old mapping is then intact).
 */
void *kmem_os_remap_region_fixed(void *addr, int fd, size_t size)
{
	void *p = mmap(addr, size, PROT_READ | PROT_WRITE,
		       region_flags(fd) | MAP_FIXED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/**
 * kmem_os_move_fixed - move a mapping's pages onto a reserved range
 * @addr:     the mapping
 * @old_size: its length
 * @new_size: the length wanted there (at least @old_size: the rest is
 *            new, zero, memory)
 * @to:       a range of @new_size bytes from kmem_os_map(), replaced
 *
 * mremap(MREMAP_MAYMOVE | MREMAP_FIXED): the pages change address without
 * a copy or a fault; @addr is unmapped.
 *
 * Return: true on success; false leaves both ranges as they were.
 */
bool kmem_os_move_fixed(void *addr, size_t old_size, size_t new_size, void *to)
{
	if (os_should_fail())
		return false;
	if (mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   to) == MAP_FAILED) {
		__atomic_add_fetch(&os_move_errors, 1, __ATOMIC_RELAXED);
		return false;
	}
	os_count(&os_moves, &kmem_region->os_moves);
	return true;
}

/**
 * kmem_os_move_keep - move pages onto a range, leaving their old range
 * mapped and empty
 * @addr: the range whose pages move
 * @size: its length
 * @to:   a mapped range of @size bytes, replaced
 *
 * mremap(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP): the pages
 * change address without a copy or a fault, and @addr stays mapped,
 * reading zero (the huge heap moves a block inside its arena this way,
 * and the arena keeps no hole).
 *
 * Return: true on success; false leaves both ranges as they were.
 */
bool kmem_os_move_keep(void *addr, size_t size, void *to)
{
	if (os_should_fail())
		return false;
	if (mremap(addr, size, size,
		   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
		   to) == MAP_FAILED) {
		__atomic_add_fetch(&os_move_errors, 1, __ATOMIC_RELAXED);
		return false;
	}
	os_count(&os_moves, &kmem_region->os_moves);
	return true;
}

/**
 * kmem_os_grow_in_place - extend a mapping without moving it
 * @addr:     start of the mapping
 * @old_size: its length
 * @new_size: the wanted length, larger
 *
 * Return: true if the mapping now has @new_size bytes at @addr.
 */
bool kmem_os_grow_in_place(void *addr, size_t old_size, size_t new_size)
{
	if (os_should_fail())
		return false;
	return mremap(addr, old_size, new_size, 0) != MAP_FAILED;
}

/**
 * kmem_os_map_guard - map address space that faults on every access
 * @size: bytes, a multiple of PAGE_SIZE
 *
 * Private, anonymous, PROT_NONE, not charged (MAP_NORESERVE): pages cost
 * memory only once kmem_os_protect() opened them and they were touched.
 *
 * Return: the address, or NULL with errno set.
 */
void *kmem_os_map_guard(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	os_count(&os_maps, &kmem_region->os_maps);
	return p;
}

/**
 * kmem_os_protect - open or close pages of a kmem_os_map_guard() range
 * @addr:   page-aligned start
 * @size:   bytes, a multiple of PAGE_SIZE
 * @access: true: read-write; false: every access faults
 *
 * mprotect() on a range kmem mapped fails only when the kernel cannot
 * split the mapping (ENOMEM: vm.max_map_count reached).  Closing must not
 * fail silently (a freed object would stay writable unnoticed), so that
 * aborts with a message; opening returns false and the caller does
 * without the page.
 *
 * Return: true if the protection is now as asked.
 */
bool kmem_os_protect(void *addr, size_t size, bool access)
{
	if (!mprotect(addr, size, access ? PROT_READ | PROT_WRITE : PROT_NONE))
		return true;
	if (access)
		return false;
	kmem_panic("kmem: mprotect(%p, %zu, PROT_NONE) failed: errno %d\n",
		   addr, size, errno);
}
