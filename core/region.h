/* SPDX-License-Identifier: MIT */
/*
 * core/region.h - the statistics region (core/region.c).
 */
#ifndef KMEM_CORE_REGION_H
#define KMEM_CORE_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include <kmem/stats.h>

#pragma GCC visibility push(hidden)

/*
 * The region is reserved as two halves: the private twin, where per-thread
 * state lives, and KMEM_REGION_SIZE above it the published region.  A
 * figure of a unit is published at the same offset as its private
 * original: kmem_pub(&field) is its published copy (one store at a
 * constant displacement).  Only for fields the published layout describes.
 */
#define KMEM_REGION_SIZE (256UL << 20)
/*
 * The published half starts one page above the twin's end, not right at
 * it: with the two exactly KMEM_REGION_SIZE apart, a fast path's load of a
 * private count after its store to the published copy (equal in the low
 * 28 bits) was mispredicted as depending on that store, on every call:
 * malloc/free pairs took 45 ns instead of 11 with one more instruction.
 */
#define KMEM_PUB_DISPLACEMENT (KMEM_REGION_SIZE + 4096UL)
#define kmem_pub(p) ((__typeof__(p))((char *)(p) + KMEM_PUB_DISPLACEMENT))

extern struct kmem_stats_header *kmem_region;	/* the published half */

int kmem_region_init(bool publish, int announce_to);
void *kmem_region_alloc(unsigned int kind, size_t size);
void kmem_region_free(void *p);
void kmem_region_set_magazine_mode(uint32_t mode);
void kmem_region_orphan(void *p);
uint64_t kmem_region_unit_offset(const void *p);
void kmem_region_publish(const void *priv, size_t len);
void *kmem_region_cache_record(unsigned int id);
void kmem_region_cache_slot_used(unsigned int id);
void kmem_region_layout_begin(void);
void kmem_region_layout_end(void);
void kmem_region_republish_begin(bool fresh);
void kmem_region_republish_end(void);
void kmem_region_fork_prepare(void);
void kmem_region_fork_parent(void);
void kmem_region_fork_child(void);
bool kmem_region_published(void);
bool kmem_region_write_sealed(void);
bool kmem_region_lost(void);
int kmem_region_fd(void);

#pragma GCC visibility pop

#endif /* KMEM_CORE_REGION_H */
