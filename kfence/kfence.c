// SPDX-License-Identifier: MIT
/*
 * kfence/kfence.c - KFENCE: a few allocations in guarded pages, sampled.
 *
 * The userspace counterpart of the kernel's KFENCE (mm/kfence/) and of
 * GWP-ASan: a small pool where each sampled object gets a page of its
 * own between two inaccessible pages, so that the first out-of-bounds
 * access or the first access after free faults, and the fault is turned
 * into a report that names the access, the object and both its stacks.
 * Only one allocation in many is guarded, so it can stay on in
 * production.  User guide and design note: Documentation/kfence.md.
 *
 * The pool (kmem_os_map_guard(), inaccessible until a slot is used):
 *
 *   page:  0      1      2      3      4      5    ...  2n     2n+1
 *          guard  guard  obj 0  guard  obj 1  guard     obj n-1 guard
 *
 * A slot's object page is opened (read-write) when the slot is handed
 * out and closed again when the object is freed, its memory given back
 * to the OS (the pool's resident cost is its live objects); guard pages
 * are never opened (except by a report in KMEM_KFENCE_CONTINUE mode, see
 * below).
 * Each object sits at the right end of its page (aligned down as its
 * alignment asks) or at the left end, chosen at random per allocation;
 * the rest of the page holds a canary pattern that depends on the
 * address, checked when the object is freed ("memory corruption": an
 * overrun too small to reach the guard page, an underrun on the other
 * side).
 *
 * Slot states: UNUSED -> ALLOCATED -> FREED -> ALLOCATED -> ...  Free
 * slots wait in a FIFO: a freed object's page stays closed for as long
 * as possible (the oldest freed slot is reused first), so that a late
 * use after free still faults.
 *
 * Sampling: kfence_gate is the flag every allocation entry point tests
 * (one load, one branch that is almost never taken).  It is opened again
 * KMEM_KFENCE_SAMPLE_INTERVAL ms after it was taken; the first
 * allocation that sees it open takes it with an exchange and is guarded;
 * the others go on as usual.  Who opens it: the reaper thread
 * (buddy/release.c) when the process has one; otherwise the first
 * allocation slow path after the interval (kfence_tick(), called by every
 * magazine refill: a cache's allocations reach it at least once per
 * magazine, 4 to 128 allocations), so that KFENCE never starts a thread
 * of its own: a small program's footprint (performance.md, "Fixed
 * footprint").  The gate starts open: the first allocation to take it
 * is not guarded but starts the interval, so the first sample comes one
 * interval after start-up, as in the kernel.  With an interval of -1 the
 * gate stays open: every eligible allocation is guarded while a slot is
 * free.
 *
 * Faults: a SIGSEGV handler (SA_SIGINFO | SA_ONSTACK) looks only at
 * faults inside the pool; every other one is passed, with its own
 * siginfo and context, to the handler that was installed before kmem's
 * (or to the default action, by restoring it and letting the access
 * fault again).  A program that installs its own handler after kmem
 * replaced kmem's: at each guarded allocation and free kmem checks that
 * its handler is still the one installed and, if not, installs itself
 * again in front of the program's, which then gets every fault outside
 * the pool as before (its own siginfo contents and context).  A handler
 * that chains to the one it replaced (the usual practice) reaches
 * kmem's: a fault outside the pool then goes to the handler kmem
 * replaced first, never round the chain again (see chain()).
 *
 * After a report the process aborts (SIGABRT), unless
 * KMEM_KFENCE_CONTINUE: then a fault opens the page it hit and the access
 * goes on (so each object is reported once), and a bad free is reported
 * and ignored.
 *
 * Stacks (core/stack.c) start at the API's caller (kmem's own frames
 * say nothing) or at the faulting instruction.
 *
 * Lock order: kfence_lock is LOCK_RANK_KFENCE (core/lock.h): taken with
 * no other kmem lock held (at the entry points) and nothing else is
 * taken under it; it ranks below buddy's locks, as a layer above them.
 * report_lock serialises reports (a spin lock outside the table, which a
 * signal handler may take; the owner may take it again; never held while
 * a kmem_mutex is taken).  Stacks are captured before kfence_lock is
 * taken.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sched.h>
#include <ucontext.h>
#include <unistd.h>

#include "kfence/kfence.h"

#define KFENCE_STACK_DEPTH	32
#define KFENCE_MAX_OBJECTS	65535

/*
 * Open from the start, and in .data: the process's first allocation
 * takes the slow path, which starts kmem, instead of the fast path
 * reading the caches' pages first (a read maps the zero page, and
 * start-up's write then copies it: two faults for a page that start-up
 * writes anyway; performance.md, "Large blocks grow in place (session
 * 24)").  kfence_init() closes it when KFENCE is off.
 */
int kfence_gate = 1;
unsigned long kfence_pool;
unsigned long kfence_pool_size;

enum kfence_state {
	KFENCE_UNUSED,		/* never handed out: page closed */
	KFENCE_ALLOCATED,	/* the program holds it: page open */
	KFENCE_FREED,		/* freed: page closed until reused */
};

/* Who allocated or freed an object, and where. */
struct kfence_track {
	pid_t tid;
	int cpu;
	unsigned long long ns;		/* CLOCK_MONOTONIC */
	unsigned int nr;		/* addresses in @ips */
	unsigned long ips[KFENCE_STACK_DEPTH];
};

/*
 * struct kfence_meta - one slot, kept outside the pool (a program that
 * overruns its object cannot reach it).  Written under kfence_lock; the
 * fault handler reads it without the lock (a report of a racing access
 * may then be imprecise; it never faults).
 */
struct kfence_meta {
	unsigned long addr;		/* the object */
	size_t size;			/* bytes asked for */
	unsigned char state;		/* enum kfence_state */
	const void *cache;		/* its cache (root), only compared */
	char cache_name[KMEM_STATS_NAME_LEN];
	struct kfence_track alloc;
	struct kfence_track free;
};

static struct kmem_mutex kfence_lock = KMEM_MUTEX_INIT(LOCK_RANK_KFENCE);
static struct kfence_meta *kfence_meta;	/* num_objects slots */
static unsigned int *free_fifo;		/* slot numbers + 1, oldest first */
static unsigned int fifo_head, fifo_count;	/* kfence_lock */
static unsigned int fifo_written;		/* kfence_lock: entries [0, n) */

/*
 * The free FIFO is a ring of num_objects entries that starts full, entry i
 * holding slot i.  It is stored as slot + 1, and an entry still zero (the
 * mapping's fresh page) stands for its own position: so start-up writes
 * nothing, and a process that never samples an object never touches the
 * FIFO's page (Documentation/kfence.md, "Memory").  The entries written
 * are a prefix: the first free writes entry 0 (the ring's tail after the
 * first take) and each one after it the next.  An entry past them is not
 * read either: reading a page never written maps the zero page, and the
 * first free's write faulted on it again (performance.md, "Pages
 * faulted twice").
 */
static unsigned int fifo_get(unsigned int pos)
{
	lock_assert_held(&kfence_lock);
	if (pos >= fifo_written)
		return pos;
	return free_fifo[pos] ? free_fifo[pos] - 1 : pos;
}

static void fifo_set(unsigned int pos, unsigned int slot)
{
	lock_assert_held(&kfence_lock);
	free_fifo[pos] = slot + 1;
	if (pos >= fifo_written)
		fifo_written = pos + 1;
}
static uint64_t rnd_state;			/* kfence_lock */
static unsigned long next_arm_ms;		/* atomic: gate opens after */
static bool timer_started;			/* atomic: the reaper arms */
static unsigned long long start_ns;		/* for reports */
static __thread bool tls_in_kfence __tls_ie;	/* no guarded recursion */

/* Figures (Documentation/kfence.md), published in the region's header. */
static struct {
	uint64_t allocated, allocs, frees, slots_used;	/* kfence_lock */
	uint64_t bugs, skip_incompat, skip_capacity;	/* atomic */
} kst;

static struct sigaction prev_sa;	/* what kmem's handler chains to */
static struct sigaction first_sa;	/* what was there before kmem */

static int report_owner;		/* report_lock: tid or 0 */

/* ---- statistics ------------------------------------------------------ */

static void kfence_publish(void)
{
	struct kmem_stats_header *h = kmem_region;

	if (!h)
		return;
	WRITE_ONCE(h->kfence_interval, kmem_config.kfence_sample_interval);
	WRITE_ONCE(h->kfence_objects,
		   (uint64_t)(kfence_pool ? kmem_config.kfence_num_objects : 0));
	WRITE_ONCE(h->kfence_allocated, READ_ONCE(kst.allocated));
	WRITE_ONCE(h->kfence_allocs, READ_ONCE(kst.allocs));
	WRITE_ONCE(h->kfence_frees, READ_ONCE(kst.frees));
	WRITE_ONCE(h->kfence_slots_used, READ_ONCE(kst.slots_used));
	WRITE_ONCE(h->kfence_bugs, READ_ONCE(kst.bugs));
	WRITE_ONCE(h->kfence_skip_incompat, READ_ONCE(kst.skip_incompat));
	WRITE_ONCE(h->kfence_skip_capacity, READ_ONCE(kst.skip_capacity));
}

static void kst_inc(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/*
 * Write the KFENCE figures of the header anew.
 * Context: kmem_republish_locked() (a fork child, or a new memfd).
 */
static void kfence_republish(void)
{
	kfence_publish();
}

/**
 * kmem_kfence_stats - the process's KFENCE figures
 * @st: receives them (all zero but the interval when KFENCE is off)
 *
 * Context: any thread.  The figures are read without a lock: each is
 * exact, the set may be a moment apart.
 */
void kmem_kfence_stats(struct kmem_kfence_stats *st)
{
	kmem_init();
	memset(st, 0, sizeof(*st));
	st->sample_interval = kmem_config.kfence_sample_interval;
	st->objects = kfence_pool ? kmem_config.kfence_num_objects : 0;
	st->allocated = READ_ONCE(kst.allocated);
	st->allocs = READ_ONCE(kst.allocs);
	st->frees = READ_ONCE(kst.frees);
	st->slots_used = READ_ONCE(kst.slots_used);
	st->bugs = READ_ONCE(kst.bugs);
	st->skip_incompat = READ_ONCE(kst.skip_incompat);
	st->skip_capacity = READ_ONCE(kst.skip_capacity);
}

/* ---- the pool --------------------------------------------------------- */

static unsigned long slot_page(unsigned int i)
{
	return kfence_pool + (2UL + 2UL * i) * PAGE_SIZE;
}

/* The slot whose object page holds @a, or NULL (a guard page). */
static struct kfence_meta *addr_to_meta(unsigned long a)
{
	unsigned long pg = (a - kfence_pool) >> PAGE_SHIFT;

	if (a - kfence_pool >= kfence_pool_size || pg < 2 || (pg & 1))
		return NULL;
	return &kfence_meta[(pg - 2) / 2];
}

static unsigned int meta_index(const struct kfence_meta *m)
{
	return (unsigned int)(m - kfence_meta);
}

/* The canary byte expected at @a: the address shows in the pattern, so
 * a shifted copy of the canary does not pass for it. */
static __always_inline unsigned char canary(unsigned long a)
{
	return (unsigned char)(0xb7 ^ (a & 0x7));
}

static uint64_t kfence_random(void)
{
	/* xorshift64*; kfence_lock held */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

static void track_save(struct kfence_track *t, const unsigned long *ips,
		       unsigned int nr)
{
	int cpu = sched_getcpu();


	t->tid = kmem_gettid();
	t->cpu = cpu < 0 ? 0 : cpu;
	t->ns = kmem_now_ns();
	t->nr = nr;
	memcpy(t->ips, ips, nr * sizeof(*ips));
}

/* ---- the signal handler's installation ---------------------------------- */

static void kfence_sigsegv(int sig, siginfo_t *si, void *uc);

static void handler_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kfence_sigsegv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * Is kmem's handler still the one installed?  If the program installed
 * its own since, chain to that one and go in front of it again.
 * Context: kfence_lock held (one thread at a time updates prev_sa).
 */
static void handler_check(void)
{
	struct sigaction cur;

	if (sigaction(SIGSEGV, NULL, &cur))
		return;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == kfence_sigsegv)
		return;
	prev_sa = cur;
	handler_install();
}

/* ---- reports ----------------------------------------------------------- */

static void report_lock(void)
{
	int me = kmem_gettid(), old = 0;

	if (__atomic_load_n(&report_owner, __ATOMIC_ACQUIRE) == me)
		return;
	while (!__atomic_compare_exchange_n(&report_owner, &old, me, false,
					    __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		old = 0;
		sched_yield();
	}
}

static void report_unlock(void)
{
	__atomic_store_n(&report_owner, 0, __ATOMIC_RELEASE);
}

/* The function of @ip without its module: "name+0xoff". */
static void symbol_short(char *buf, size_t len, unsigned long ip)
{
	char *sp;

	kmem_print_symbol(buf, len, ip);
	sp = strchr(buf, ' ');
	if (sp)
		*sp = '\0';
}

static void print_stack(const unsigned long *ips, unsigned int nr)
{
	char sym[256];

	for (unsigned int i = 0; i < nr; i++) {
		kmem_print_symbol(sym, sizeof(sym), ips[i]);
		kmem_printk(" %s\n", sym);
	}
}

static void print_time(const char *what, const struct kfence_track *t)
{
	unsigned long long now = kmem_now_ns(), ago = now - t->ns;

	kmem_printk("%s by task %d on cpu %d at %llu.%06llus (%llu.%06llus ago):\n",
		    what, t->tid, t->cpu, t->ns / 1000000000ULL,
		    t->ns % 1000000000ULL / 1000, ago / 1000000000ULL,
		    ago % 1000000000ULL / 1000);
}

/* The object line and the stacks of a slot. */
static void print_object(const struct kfence_meta *m)
{
	kmem_printk("kfence-#%u: 0x%lx-0x%lx, size=%zu, cache=%s\n\n",
		    meta_index(m), m->addr, m->addr + m->size - 1, m->size,
		    m->cache_name);
	print_time("allocated", &m->alloc);
	print_stack(m->alloc.ips, m->alloc.nr);
	if (m->state == KFENCE_FREED) {
		kmem_printk("\n");
		print_time("freed", &m->free);
		print_stack(m->free.ips, m->free.nr);
	}
}

static void report_end(void)
{
	char comm[17] = "";
	int cpu = sched_getcpu();

	prctl(PR_GET_NAME, comm, 0, 0, 0);
	kmem_printk("\nCPU: %d PID: %d Comm: %s\n", cpu < 0 ? 0 : cpu,
		    (int)getpid(), comm);
	kmem_printk("==================================================================\n");
	kst_inc(&kst.bugs);
	kfence_publish();
}

static void report_begin(const char *what, unsigned long ip)
{
	char sym[256];

	symbol_short(sym, sizeof(sym), ip);
	kmem_printk("==================================================================\n");
	kmem_printk("BUG: KFENCE: %s in %s\n\n", what, sym);
}

/*
 * report_free - a bad free (or ksize) of a pool address, or a corrupted
 * canary found by a good one.
 * @m:      the slot (NULL: a guard page)
 * @p:      the pointer freed
 * @bad:    the first corrupted canary byte (memory corruption), or 0
 * @ips:    the stack of the free, @nr addresses (from the API's caller)
 * @caller: the API's caller, named in the title (0: the stack's first)
 */
static void report_free(const struct kfence_meta *m, unsigned long p,
			unsigned long bad, const unsigned long *ips,
			unsigned int nr, unsigned long caller)
{
	if (!caller && nr)
		caller = ips[0];
	report_lock();
	if (bad) {
		unsigned long page = bad & PAGE_MASK, end = page + PAGE_SIZE;

		report_begin("memory corruption", caller);
		kmem_printk("Corrupted memory at 0x%lx [", bad);
		for (unsigned long a = bad; a < end && a < bad + 16; a++) {
			if (a >= m->addr && a < m->addr + m->size)
				break;
			if (*(unsigned char *)a != canary(a))
				kmem_printk(" 0x%02x", *(unsigned char *)a);
			else
				kmem_printk(" .");
		}
		kmem_printk(" ] (in kfence-#%u):\n", meta_index(m));
	} else {
		report_begin("invalid free", caller);
		if (m)
			kmem_printk("Invalid free of 0x%lx (in kfence-#%u):\n", p,
				    meta_index(m));
		else
			kmem_printk("Invalid free of 0x%lx (a guard page of the KFENCE pool):\n",
				    p);
	}
	print_stack(ips, nr);
	if (m && m->state != KFENCE_UNUSED) {
		kmem_printk("\n");
		print_object(m);
	}
	report_end();
	report_unlock();
}

/* ---- allocation ---------------------------------------------------------- */

/* When an allocation slow path opens the gate (ms); 0: none pending. */
unsigned long kfence_tick_due;		/* atomic */

/*
 * The gate was taken: it opens again one interval from now, by the
 * reaper if the process has one, else by an allocation slow path
 * (kfence_tick()).  Either way sampling goes on in a process too small
 * to have started the reaper, without KFENCE starting a thread.
 */
static void gate_taken(void)
{
	unsigned long due = kmem_now_ms() + (unsigned long)
		kmem_config.kfence_sample_interval;

	WRITE_ONCE(next_arm_ms, due);
	if (buddy_reaper_running())
		buddy_reaper_kick(due);
	else
		__atomic_store_n(&kfence_tick_due, due, __ATOMIC_RELAXED);
}

/*
 * The clock is read at every KFENCE_TICK_EVERY-th pending tick of a
 * thread: a clock read at every magazine refill cost malloc(64) 2
 * instructions per call in callgrind's pairs loop (a refill every 128
 * calls); one in 16 costs nothing measurable, and the gate then opens
 * within 16 refills (at most 2,048 allocations) of its time.
 */
#define KFENCE_TICK_EVERY	16
static __thread unsigned int tick_skip __tls_ie;

/**
 * kfence_tick_slow - open the gate if its interval has passed
 *
 * kfence_tick()'s slow half, while a reopening is pending.  The pending
 * time is cleared only if it is still the one read, so a gate taken
 * meanwhile (a new time) is not lost.
 *
 * Context: an allocation slow path, any lock.
 */
void kfence_tick_slow(void)
{
	unsigned long due;

	if (++tick_skip % KFENCE_TICK_EVERY)
		return;
	due = __atomic_load_n(&kfence_tick_due, __ATOMIC_RELAXED);
	if (!due || kmem_now_ms() < due)
		return;
	if (__atomic_compare_exchange_n(&kfence_tick_due, &due, 0, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		WRITE_ONCE(kfence_gate, 1);
}

/* The reaper's pass: open the gate when the interval has passed. */
static void kfence_timer(unsigned long now, unsigned long *next)
{
	unsigned long due = READ_ONCE(next_arm_ms);

	if (READ_ONCE(kfence_gate))
		return;		/* still open: the taker kicks us */
	if (now >= due) {
		WRITE_ONCE(kfence_gate, 1);
		return;
	}
	if (!*next || due < *next)
		*next = due;
}

/* Fill the page of a slot with the canary, but for the object. */
static void canary_fill(unsigned long page, unsigned long obj, size_t size)
{
	for (unsigned long a = page; a < obj; a++)
		*(unsigned char *)a = canary(a);
	for (unsigned long a = obj + size; a < page + PAGE_SIZE; a++)
		*(unsigned char *)a = canary(a);
}

/* The first canary byte of @m's page that is not what it was, or 0. */
static unsigned long canary_check(const struct kfence_meta *m)
{
	unsigned long page = m->addr & PAGE_MASK;

	for (unsigned long a = page; a < m->addr; a++)
		if (*(unsigned char *)a != canary(a))
			return a;
	for (unsigned long a = m->addr + m->size; a < page + PAGE_SIZE; a++)
		if (*(unsigned char *)a != canary(a))
			return a;
	return 0;
}

/**
 * kfence_unfit - a sampled allocation of a cache KFENCE must not guard
 *
 * Counted as the kernel counts it ("skipped allocations (incompatible)").
 * Return: NULL, for the caller to allocate as usual.
 */
void *kfence_unfit(void)
{
	if (kfence_pool)
		kst_inc(&kst.skip_incompat);
	return NULL;
}

/**
 * kfence_alloc - a guarded object, if this allocation is the sample
 * @cache: the (root) cache the allocation would come from, or NULL: only
 *         compared, at free (KFENCE sits below slab/ and knows nothing
 *         of struct kmem_cache; slab/slab.h's slab_kfence_alloc() fills
 *         these in)
 * @name:  its name, shown in reports (NULL: "(none)")
 * @ctor:  its constructor, run on the object, or NULL
 * @size:  bytes asked for
 * @align: alignment the caller needs (a power of two)
 * @gfp:   allocation flags (__GFP_ZERO is honoured)
 * @caller: the API's caller: the stack kept starts there
 *
 * Called by the allocation entry points when kfence_wants() (the gate
 * open, a page or less).  Objects of 1 byte up to a page, aligned up to a
 * page, are eligible; slab/ sends no object of a cache whose freed
 * objects are read under RCU (SLAB_TYPESAFE_BY_RCU) or that KMEM_DEBUG
 * debugs (its checks cover every object already, and a user who asked
 * for them gets them): it counts those with kfence_unfit().
 *
 * Context: an allocation entry point, no kmem lock held.
 * Return: the object, or NULL: the caller allocates as usual.
 */
void *kfence_alloc(const void *cache, const char *name, void (*ctor)(void *),
		   size_t size, size_t align, gfp_t gfp, unsigned long caller)
{
	unsigned long ips[KFENCE_STACK_DEPTH], page, addr;
	struct kfence_meta *m;
	unsigned int nr, slot;
	int expected = 1;

	if (!kfence_pool || tls_in_kfence)
		return NULL;
	if (!size || size > PAGE_SIZE || align > PAGE_SIZE) {
		kst_inc(&kst.skip_incompat);
		return NULL;
	}
	if (kmem_config.kfence_sample_interval > 0) {
		if (!__atomic_compare_exchange_n(&kfence_gate, &expected, 0,
						 false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			return NULL;	/* another allocation took it */
		gate_taken();
		/* The start-up opening only starts the timer. */
		if (!__atomic_exchange_n(&timer_started, true,
					 __ATOMIC_RELAXED))
			return NULL;
	}
	if (!READ_ONCE(fifo_count)) {
		kst_inc(&kst.skip_capacity);
		return NULL;
	}
	tls_in_kfence = true;
	nr = kmem_stack_capture(ips, KFENCE_STACK_DEPTH, caller);

	kmem_mutex_lock(&kfence_lock);
	handler_check();
	if (!fifo_count) {
		kmem_mutex_unlock(&kfence_lock);
		kst_inc(&kst.skip_capacity);
		goto out;
	}
	slot = fifo_get(fifo_head);
	fifo_head = (fifo_head + 1) % (unsigned int)kmem_config.kfence_num_objects;
	WRITE_ONCE(fifo_count, fifo_count - 1);
	m = &kfence_meta[slot];
	page = slot_page(slot);
	if (!kmem_os_protect((void *)page, PAGE_SIZE, true)) {
		/* Back to the front: it is still the oldest. */
		fifo_head = (fifo_head + (unsigned int)kmem_config.kfence_num_objects -
			     1) % (unsigned int)kmem_config.kfence_num_objects;
		WRITE_ONCE(fifo_count, fifo_count + 1);
		kmem_mutex_unlock(&kfence_lock);
		kst_inc(&kst.skip_capacity);
		goto out;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (kfence_random() & 1)
		addr = ALIGN_DOWN(page + PAGE_SIZE - size, align);
	else
		addr = page;
	/*
	 * The fields around @state written before it is read: a slot's
	 * record on a page never written would map the zero page for the
	 * read and fault again for the writes (performance.md, "Pages
	 * faulted twice").  Wherever a page boundary falls, @state shares
	 * its page with a byte of @size or of @cache.
	 */
	m->addr = addr;
	m->size = size;
	m->cache = cache;
	barrier();
	if (READ_ONCE(m->state) == KFENCE_UNUSED)
		WRITE_ONCE(kst.slots_used, kst.slots_used + 1);
	kmem_snprintf(m->cache_name, sizeof(m->cache_name), "%s",
		      name ? name : "(none)");
	track_save(&m->alloc, ips, nr);
	m->free.nr = 0;
	WRITE_ONCE(m->state, KFENCE_ALLOCATED);
	WRITE_ONCE(kst.allocated, kst.allocated + 1);
	WRITE_ONCE(kst.allocs, kst.allocs + 1);
	kfence_publish();
	kmem_mutex_unlock(&kfence_lock);

	canary_fill(page, addr, size);
	if (gfp & __GFP_ZERO)
		memset((void *)addr, 0, size);
	else if (ctor)
		ctor((void *)addr);
	tls_in_kfence = false;
	return (void *)addr;
out:
	tls_in_kfence = false;
	return NULL;
}

/* ---- free ------------------------------------------------------------------ */

/**
 * kfence_free - free an object of the pool
 * @p:      a pointer inside the pool (is_kfence_address())
 * @cache:  the (root) cache it is freed to (kmem_cache_free), or NULL
 *          (kfree, free, realloc)
 * @caller: the API's caller: stacks in reports start there
 *
 * Checks that @p is a live object (and of @cache), checks its canary, closes
 * its page and queues the slot behind every other free one.  A bad
 * pointer (a double free, inside an object, a guard page, another
 * cache) or a corrupted canary is reported in the kernel's form; the
 * process then aborts unless KMEM_KFENCE_CONTINUE.
 *
 * Context: a free entry point, no kmem lock held.
 */
void kfence_free(void *p, const void *cache, unsigned long caller)
{
	struct kfence_meta *m = addr_to_meta((unsigned long)p);
	unsigned long ips[KFENCE_STACK_DEPTH], bad;
	unsigned int nr, slot;

	nr = kmem_stack_capture(ips, KFENCE_STACK_DEPTH, caller);
	kmem_mutex_lock(&kfence_lock);
	handler_check();
	if (!m || m->state != KFENCE_ALLOCATED || m->addr != (unsigned long)p ||
	    (cache && m->cache && cache != m->cache)) {
		kmem_mutex_unlock(&kfence_lock);
		report_free(m, (unsigned long)p, 0, ips, nr, caller);
		if (!kmem_config.kfence_continue)
			abort();
		return;
	}
	track_save(&m->free, ips, nr);
	WRITE_ONCE(m->state, KFENCE_FREED);
	WRITE_ONCE(kst.allocated, kst.allocated - 1);
	WRITE_ONCE(kst.frees, kst.frees + 1);
	kmem_mutex_unlock(&kfence_lock);

	/* The page is still open, and the object ours alone. */
	bad = canary_check(m);
	if (bad) {
		report_free(m, (unsigned long)p, bad, ips, nr, caller);
		if (!kmem_config.kfence_continue)
			abort();
	}
	kmem_os_protect((void *)(m->addr & PAGE_MASK), PAGE_SIZE, false);
	/* Closed pages keep no memory: the pool costs its live objects. */
	kmem_os_release((void *)(m->addr & PAGE_MASK), PAGE_SIZE);

	kmem_mutex_lock(&kfence_lock);
	slot = meta_index(m);
	fifo_set((fifo_head + fifo_count) % kmem_config.kfence_num_objects,
		 slot);
	WRITE_ONCE(fifo_count, fifo_count + 1);
	kfence_publish();
	kmem_mutex_unlock(&kfence_lock);
}

/**
 * kfence_ksize - the size of a pool object
 * @p: a pointer inside the pool
 *
 * Return: the size asked for (a guarded object has no slack: its end is
 * where the canary or the guard page begins).  A pointer that is not a
 * live object is reported as an invalid free (a realloc would free it).
 */
size_t kfence_ksize(const void *p)
{
	struct kfence_meta *m = addr_to_meta((unsigned long)p);
	unsigned long ips[KFENCE_STACK_DEPTH];
	unsigned int nr;

	if (m && READ_ONCE(m->state) == KFENCE_ALLOCATED &&
	    m->addr == (unsigned long)p)
		return m->size;
	nr = kmem_stack_capture(ips, KFENCE_STACK_DEPTH, 0);
	report_free(m, (unsigned long)p, 0, ips, nr, 0);
	if (!kmem_config.kfence_continue)
		abort();
	return 0;
}

/* ---- faults ------------------------------------------------------------------ */

static unsigned long fault_ip(void *uc)
{
	ucontext_t *u = uc;

#if defined(__x86_64__)
	return (unsigned long)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (unsigned long)u->uc_mcontext.pc;
#endif
}

/* "read", "write", or "access" where the architecture does not say. */
static const char *fault_kind(void *uc)
{
#if defined(__x86_64__)
	ucontext_t *u = uc;

	/* The page-fault error code: bit 1 set for a write. */
	return (u->uc_mcontext.gregs[REG_ERR] & 2) ? "write" : "read";
#else
	(void)uc;
	return "access";
#endif
}

/*
 * The siginfo kmem passes on is a copy marked in its last word, which the
 * kernel's is not (the kernel zeroes the unused tail of a fault's
 * siginfo): a handler kmem chained to, that chains back to kmem (it
 * replaced kmem's, then kmem went in front of it again), is recognised
 * by it.  A flag would not do: a handler may leave by siglongjmp().
 */
#define CHAIN_MARK	0x4b4645434841494eULL	/* "KFECHAIN" */

static uint64_t *chain_mark(siginfo_t *si)
{
	return (uint64_t *)((char *)si + sizeof(*si) - sizeof(uint64_t));
}

/* Pass a fault that is not kmem's to the handler before kmem's. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *to = *chain_mark(si) == CHAIN_MARK ?
					     &first_sa : &prev_sa;
	siginfo_t copy;

	if (to->sa_flags & SA_SIGINFO) {
		if (to->sa_sigaction == kfence_sigsegv)
			goto dfl;
		copy = *si;
		*chain_mark(&copy) = CHAIN_MARK;
		to->sa_sigaction(sig, &copy, uc);
		return;
	}
	if (to->sa_handler != SIG_DFL && to->sa_handler != SIG_IGN) {
		to->sa_handler(sig);
		return;
	}
dfl:
	/*
	 * The default action, as without kmem: restore it; the access
	 * faults again on return (a signal sent by kill() is raised again,
	 * delivered once the handler returns).  An ignored SIGSEGV from a
	 * fault is fatal all the same (the kernel forces it).
	 */
	signal(SIGSEGV, SIG_DFL);
	if (si->si_code <= 0)
		raise(SIGSEGV);
}

/*
 * A fault in the pool: which object, which kind.  A guard page is blamed
 * on the nearer of its two neighbours that holds an object (the live one
 * first): "out-of-bounds"; a closed object page: "use-after-free".
 */
static void fault_report(unsigned long a, void *uc)
{
	unsigned long ips[64], ip = fault_ip(uc);
	const char *kind = fault_kind(uc);
	struct kfence_meta *m = addr_to_meta(a), *l = NULL, *r = NULL;
	unsigned int nr = kmem_stack_capture(ips, ARRAY_SIZE(ips), ip);
	char what[64];

	if (!m) {
		l = addr_to_meta(a - PAGE_SIZE);
		r = addr_to_meta(a + PAGE_SIZE);
		if (l && READ_ONCE(l->state) == KFENCE_UNUSED)
			l = NULL;
		if (r && READ_ONCE(r->state) == KFENCE_UNUSED)
			r = NULL;
		if (l && r && READ_ONCE(l->state) != READ_ONCE(r->state))
			m = READ_ONCE(l->state) == KFENCE_ALLOCATED ? l : r;
		else if (l && r)
			m = a - (l->addr + l->size) < r->addr - a ? l : r;
		else
			m = l ? l : r;
	}
	report_lock();
	if (m && m->state != KFENCE_UNUSED && (m == l || m == r)) {
		kmem_snprintf(what, sizeof(what), "out-of-bounds %s", kind);
		report_begin(what, ip);
		kmem_printk("Out-of-bounds %s at 0x%lx (%luB %s of kfence-#%u):\n",
			    kind, a,
			    m == l ? a - (m->addr + m->size) + 1 : m->addr - a,
			    m == l ? "right" : "left", meta_index(m));
	} else if (m && m->state == KFENCE_FREED) {
		kmem_snprintf(what, sizeof(what), "use-after-free %s", kind);
		report_begin(what, ip);
		kmem_printk("Use-after-free %s at 0x%lx (in kfence-#%u):\n",
			    kind, a, meta_index(m));
	} else {
		kmem_snprintf(what, sizeof(what), "invalid %s", kind);
		report_begin(what, ip);
		kmem_printk("Invalid %s at 0x%lx:\n", kind, a);
		m = NULL;
	}
	print_stack(ips, nr);
	if (m) {
		kmem_printk("\n");
		print_object(m);
	}
	report_end();
	report_unlock();
}

static void kfence_sigsegv(int sig, siginfo_t *si, void *uc)
{
	unsigned long a = (unsigned long)si->si_addr;
	int saved = errno;

	if (si->si_code > 0 && is_kfence_address((void *)a)) {
		fault_report(a, uc);
		if (!kmem_config.kfence_continue)
			abort();
		/* Once per object: the page stays open, the access goes on. */
		kmem_os_protect((void *)(a & PAGE_MASK), PAGE_SIZE, true);
		errno = saved;
		return;
	}
	chain(sig, si, uc);
	errno = saved;
}

/* ---- start-up and fork ------------------------------------------------------- */

/**
 * kfence_init - map the pool, install the fault handler, open the gate
 *
 * Context: start-up (core/init.c: KFENCE's layer, after buddy's), after
 * the region is mapped.  With
 * KMEM_KFENCE_SAMPLE_INTERVAL=0 nothing is mapped or installed.  If the
 * pool cannot be mapped KFENCE stays off, with a message.
 */
static void kfence_init(void)
{
	unsigned long n = kmem_config.kfence_num_objects;
	size_t meta_size, fifo_size;
	void *pool;

	start_ns = kmem_now_ns();
	WRITE_ONCE(kfence_gate, 0);	/* opened below once the pool is up */
	if (!kmem_config.kfence_sample_interval || !n)
		goto out;
	BUG_ON(n > KFENCE_MAX_OBJECTS);
	meta_size = ALIGN(n * sizeof(struct kfence_meta), PAGE_SIZE);
	fifo_size = ALIGN(n * sizeof(unsigned int), PAGE_SIZE);
	kfence_meta = kmem_os_map(meta_size + fifo_size, PAGE_SIZE);
	pool = kmem_os_map_guard((n + 1) * 2 * PAGE_SIZE);
	if (!kfence_meta || !pool) {
		kmem_printk("kmem: KFENCE off: cannot map its pool (%lu objects)\n",
			    n);
		if (kfence_meta)
			kmem_os_unmap(kfence_meta, meta_size + fifo_size);
		kfence_meta = NULL;
		goto out;
	}
	free_fifo = (unsigned int *)((char *)kfence_meta + meta_size);
	fifo_count = (unsigned int)n;
	rnd_state = start_ns ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)pool;
	if (!rnd_state)
		rnd_state = 1;
	sigaction(SIGSEGV, NULL, &first_sa);
	prev_sa = first_sa;
	handler_install();
	kfence_pool_size = (n + 1) * 2 * PAGE_SIZE;
	kfence_pool = (unsigned long)pool;
	buddy_reaper_add_hook(kfence_timer);
	WRITE_ONCE(kfence_gate, 1);
out:
	kfence_publish();
}

/* Hold the pool still across fork() (and republishing). */
static void kfence_lock_all(void)
{
	kmem_mutex_lock(&kfence_lock);
}

static void kfence_unlock_all(void)
{
	kmem_mutex_unlock(&kfence_lock);
}

/*
 * The child's pool: the parent's, as it was
 *
 * The pool and its protections are copied by fork() with the rest of the
 * address space, so every object keeps its state; the child has no
 * reaper yet, so the gate opens for its first allocation to start one.
 */
static void kfence_fork_child(void)
{
	kmem_mutex_reinit(&kfence_lock);
	report_owner = 0;
	if (kfence_pool && kmem_config.kfence_sample_interval) {
		timer_started = false;
		WRITE_ONCE(kfence_gate, 1);
	}
}

/*
 * KFENCE's steps, run by core/init.c: started after buddy (the reaper's
 * hook, the OS contract), locked at LOCK_RANK_KFENCE (core/lock.h).
 */
KMEM_LAYER(kfence_layer, "kfence", LAYER_KFENCE, LOCK_RANK_KFENCE,
	.init = kfence_init, .lock = kfence_lock_all,
	.republish = kfence_republish, .unlock = kfence_unlock_all,
	.fork_child = kfence_fork_child);
