/* SPDX-License-Identifier: MIT */
/*
 * core/os.h - the OS contract: core/os.c is the only caller of mmap, munmap,
 * mremap and madvise.
 */
#ifndef KMEM_CORE_OS_H
#define KMEM_CORE_OS_H

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

void *kmem_os_map(size_t size, size_t align);
void kmem_os_unmap(void *addr, size_t size);
void kmem_os_release(void *addr, size_t size);
void kmem_os_populate(void *addr, size_t size);
bool kmem_os_resident(const void *addr, size_t size);
void kmem_os_hugepage(void *addr, size_t size);
void *kmem_os_map_region(int fd, size_t size);
void *kmem_os_remap_region_fixed(void *addr, int fd, size_t size);
bool kmem_os_grow_in_place(void *addr, size_t old_size, size_t new_size);
bool kmem_os_move_fixed(void *addr, size_t old_size, size_t new_size, void *to);
bool kmem_os_move_keep(void *addr, size_t size, void *to);
void *kmem_os_map_guard(size_t size);
bool kmem_os_protect(void *addr, size_t size, bool access);

/*
 * Fault injection for tests: kmem_os_fail_after(n) lets n more mappings
 * succeed and fails every one after it with ENOMEM, until
 * kmem_os_fail_after(-1) switches the fault off.
 */
void kmem_os_fail_after(long n);
unsigned long kmem_os_map_calls(void);
unsigned long kmem_os_move_calls(void);
unsigned long kmem_os_move_errors(void);
unsigned long kmem_os_hugepage_calls(void);
unsigned long kmem_os_populate_calls(void);

/* The OS call counts (buddyinfo, malloc_trim()), published anew. */
void kmem_os_republish(void);
unsigned long kmem_os_gives_back(void);

#pragma GCC visibility pop

#endif /* KMEM_CORE_OS_H */
