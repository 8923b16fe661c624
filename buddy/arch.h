/* SPDX-License-Identifier: MIT */
/*
 * buddy/arch.h - what kmem needs to know of the architecture.
 *
 * KMEM_ADDR_BITS: user addresses are below 2^KMEM_ADDR_BITS.  The page
 * table (buddy/section.c) covers exactly that range, so it must reach the
 * top of the default user address space, where mmap() places mappings
 * (top-down) and the stack lives:
 *  - x86-64: 47 bits with 4-level paging; with 5-level paging the kernel
 *    maps above 47 bits only when mmap() is given a hint there, which kmem
 *    never gives (a foreign pointer above is recognised as foreign);
 *  - aarch64: 48 bits (4 KiB pages, 4 levels; a 39-bit or 42-bit kernel
 *    configuration stays below), and 52-bit user addresses again only
 *    with a hint above 48 bits.
 * Elsewhere the build stops here rather than panicking at start-up when
 * every section is rejected.  No #include: tests/arch preprocesses this
 * header alone for each architecture.
 */
#ifndef KMEM_BUDDY_ARCH_H
#define KMEM_BUDDY_ARCH_H

#if defined(__x86_64__)
#define KMEM_ADDR_BITS		47
#elif defined(__aarch64__)
#define KMEM_ADDR_BITS		48
#else
#error "kmem supports x86-64 and aarch64 only: set KMEM_ADDR_BITS (user address bits) for this architecture in buddy/arch.h"
#endif

#endif /* KMEM_BUDDY_ARCH_H */
