/* SPDX-License-Identifier: MIT */
/*
 * core/core.h - private header of core/, the layer every other stands on.
 *
 * core/ holds what every layer needs and nothing above it: compiler and
 * list helpers (compiler.h, list.h), the lock type (lock.h), reports that
 * never allocate (printk.h), the OS contract (os.h), the thread registry
 * (thread.h), the statistics region (region.h), call stacks (stack.h),
 * configuration and start-up (below).  Nothing in core/ includes a header
 * of buddy/, kfence/, slab/ or kmalloc/, nor names a symbol defined there.
 */
#ifndef KMEM_CORE_CORE_H
#define KMEM_CORE_CORE_H

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <kmem/bug.h>
#include <kmem/stats.h>

#include "core/compiler.h"
#include "core/list.h"
#include "core/lock.h"
#include "core/printk.h"
#include "core/os.h"
#include "core/thread.h"
#include "core/region.h"
#include "core/stack.h"

#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------------ */
/* Start-up (core/init.c orchestrates; every entry point checks)       */
/* ------------------------------------------------------------------ */

extern int kmem_init_state;	/* 0 none, 1 running, 2 done */
void kmem_init_slow(void);

/*
 * kmem_init - make sure kmem is initialised; cheap once it is.  Called by
 * every public entry point of every layer (initialisation is the one
 * thing that reaches up: core/init.c sets up all layers in order).
 */
static __always_inline void kmem_init(void)
{
	if (unlikely(__atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) != 2))
		kmem_init_slow();
}

bool kmem_in_init(void);

/*
 * kmem_started - is kmem up already?  Starts nothing: the allocation
 * that starts kmem asks it first, so that KFENCE, whose gate is open
 * from the start (kfence/kfence.c), does not sample that one.
 */
static __always_inline bool kmem_started(void)
{
	return __atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) == 2;
}

/*
 * kmem_ready - start kmem if needed; false when called from inside its
 * own start-up (the caller then serves from kmem_boot_alloc()).
 */
static __always_inline bool kmem_ready(void)
{
	if (likely(__atomic_load_n(&kmem_init_state, __ATOMIC_ACQUIRE) == 2))
		return true;
	kmem_init_slow();
	return !kmem_in_init();
}

/*
 * struct kmem_layer - what core/ may call in a layer: its start-up, fork
 * and republishing steps.  Each layer (and core's thread registry and
 * region) defines one with KMEM_LAYER(); the linker gathers them into the
 * section kmem_layers, so core/init.c runs them without naming a symbol
 * of any layer above it.  Every hook may be NULL.
 *
 *  @level:        start-up order (a layer starts after those below it)
 *  @rank:         the rank of the outermost lock its @lock hook takes
 *                 (core/lock.h): @lock, @fork_prepare run in increasing
 *                 rank; @unlock, @republish, @fork_parent, @fork_child
 *                 in decreasing rank
 *  @init:         start-up (kmem_init_slow(), once)
 *  @fork_prepare: fork(), before any lock is taken (quiesce helpers)
 *  @lock:         take every lock of the layer (fork, republishing)
 *  @republish:    write its published figures anew, its locks held
 *  @unlock:       release them
 *  @fork_parent:  fork(), in the parent, after every lock is released
 *  @fork_child:   fork(), in the child: re-initialise locks, forget the
 *                 helper threads and the other threads' state
 *  @exit:         the library is finalised (process exit, dlclose)
 */
enum kmem_layer_level {
	LAYER_CORE,
	LAYER_BUDDY,
	LAYER_KFENCE,
	LAYER_SLAB,
	LAYER_KMALLOC,
};

struct kmem_layer {
	const char *name;
	enum kmem_layer_level level;
	enum kmem_lock_rank rank;
	void (*init)(void);
	void (*fork_prepare)(void);
	void (*lock)(void);
	void (*republish)(void);
	void (*unlock)(void);
	void (*fork_parent)(void);
	void (*fork_child)(void);
	void (*exit)(void);
};

/*
 * KMEM_LAYER(var, name, level, rank, .hook = fn, ...) - register a layer's
 * hooks: a pointer in the section kmem_layers (a C identifier, so the
 * linker defines __start_kmem_layers and __stop_kmem_layers; "used"
 * keeps it).
 */
#define KMEM_LAYER(var, nm, lvl, rk, ...)                                    \
	static const struct kmem_layer var = {                               \
		.name = (nm), .level = (lvl), .rank = (rk), __VA_ARGS__ };   \
	static const struct kmem_layer *const __kmem_layer_##var             \
		__attribute__((used, section("kmem_layers"))) = &var

/* ------------------------------------------------------------------ */
/* Configuration (core/config.c)                                       */
/* ------------------------------------------------------------------ */

/*
 * KMEM_THP: where kmem asks the kernel for transparent huge pages
 * (madvise(MADV_HUGEPAGE); buddy.md, "Transparent huge pages").
 */
enum kmem_thp {
	KMEM_THP_NEVER,		/* no advice: the system's THP mode applies */
	KMEM_THP_LARGE,		/* mappings of their own (above 4 MiB) */
	KMEM_THP_ALWAYS,	/* those and the 32 MiB buddy sections */
};

/* A transparent huge page (x86-64 and aarch64 with 4 KiB pages). */
#define HPAGE_SIZE	(2UL << 20)

/* KMEM_DECAY_PEAK's bound: the zone keeps one peak slot per decay time. */
#define KMEM_DECAY_PEAK_MAX	32

/*
 * struct kmem_config - every KMEM_* setting (core/config.c, documented in
 * Documentation/configuration.md)
 */
struct kmem_config {
	bool stats;		/* KMEM_STATS: publish the region */
	int stats_sock;		/* KMEM_STATS_SOCK: kmeminfo run's socket, or -1 */
	bool merge;		/* !KMEM_NOMERGE: merge compatible caches */
	bool magazines;		/* KMEM_MAGAZINES: per-thread magazines */
	bool percpu;		/* KMEM_PERCPU: magazines per CPU (rseq) */
	bool main_own;		/* KMEM_MAIN_THREAD_OWN: its own slots */
	const char *debug;	/* KMEM_DEBUG: slab_debug= syntax */
	bool urcu_fork_hooks;	/* KMEM_URCU_FORK_HOOKS */
	unsigned long large_tail_pages;	/* KMEM_LARGE_TAIL_KB, in pages; 0 off */
	unsigned long decay_ms;		/* KMEM_DECAY_MS: a free max-order block
					 * (and an idle magazine) stays resident */
	unsigned long decay_peak;	/* KMEM_DECAY_PEAK: decay times a busy
					 * zone remembers its peak demand; 0 off */
	unsigned long retain_sections;	/* KMEM_RETAIN_SECTIONS: wholly free
					 * sections kept mapped */
	bool background;		/* KMEM_BACKGROUND: a reaper thread may
					 * be started */
	bool map_ahead;			/* KMEM_MAP_AHEAD: fresh pages about to
					 * be written mapped in one call */
	unsigned long huge_retain;	/* KMEM_HUGE_RETAIN_MB, in bytes: freed
					 * own mappings kept for reuse */
	unsigned long depot_bytes;	/* KMEM_DEPOT_KB, in bytes: objects all
					 * depots' full magazines may hold */
	const char *stats_print;	/* KMEM_STATS_PRINT: NULL off, "" stderr,
					 * else an absolute path (%p: PID) */
	unsigned long profile_rate;	/* KMEM_PROFILE_RATE: mean bytes
					 * between samples; 0 off */
	unsigned long profile_max_stacks; /* KMEM_PROFILE_MAX_STACKS */
	unsigned long profile_seed;	/* KMEM_PROFILE_SEED: 0 random */
	const char *profile_at_exit;	/* KMEM_PROFILE_AT_EXIT: NULL off, ""
					 * stderr, else an absolute path */
	long kfence_sample_interval;	/* KMEM_KFENCE_SAMPLE_INTERVAL: ms;
					 * 0 off, -1 every allocation */
	unsigned long kfence_num_objects; /* KMEM_KFENCE_NUM_OBJECTS: slots */
	bool kfence_continue;		/* KMEM_KFENCE_CONTINUE: report, go on */
	enum kmem_thp thp;		/* KMEM_THP */
};

extern struct kmem_config kmem_config;

void kmem_config_parse(void);
int kmem_output_open(const char *pattern, const char *setting);

#pragma GCC visibility pop

#endif /* KMEM_CORE_CORE_H */
