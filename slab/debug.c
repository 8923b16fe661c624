// SPDX-License-Identifier: MIT
/*
 * slab/debug.c - slab debugging, chosen at run time.
 *
 * KMEM_DEBUG takes the kernel's slab_debug= syntax:
 *
 *   KMEM_DEBUG=<options>[,<cache>,<cache>...][;<options>,<cache>...]...
 *
 * Options: F consistency checks, Z red zones, P poisoning, U owner
 * tracking, T trace, - none (A and O are accepted and do nothing).  A
 * block without cache names sets the options of every cache; a block with
 * names (a '*' matches any characters) applies to those caches, and the
 * first matching block wins.  No options (KMEM_DEBUG="" or ",name") means
 * F, Z, P and U.  The same can be asked per cache with SLAB_* flags.
 *
 * A debugged cache has no magazines: every allocation and free takes the
 * cache lock and runs the checks below.  A slot is laid out as
 *
 *   | left red zone | object | right red zone | alloc track | free track | pad
 *
 * Red zones hold SLUB_RED_ACTIVE (0xcc) while the object is allocated and
 * SLUB_RED_INACTIVE (0xbb) while it is free; a poisoned free object holds
 * POISON_FREE (0x6b) with POISON_END (0xa5) in its last byte; padding
 * holds POISON_INUSE (0x5a).  A check that fails is reported in the
 * kernel's form:
 *
 *   =========================================================...
 *   BUG <cache>: <what>
 *   ---------------------------------------------------------...
 *
 *   INFO: <range> @offset=.. First byte 0x.. instead of 0x..
 *   INFO: Allocated in <caller> age=<ms> tid=<tid>
 *   INFO: Freed in <caller> age=<ms> tid=<tid>
 *   INFO: Slab 0x... objects=.. used=.. fp=0x... flags=0x..
 *   INFO: Object 0x... @offset=.. fp=0x...
 *
 *   Redzone  <address>: <hex bytes>  <ascii>
 *   Object   ...
 *   FIX <cache>: <what was done>
 *
 * @offset is the kernel's: bytes from the start of the slab (its first
 * page) to the address shown.  Runs of identical dump lines are folded
 * into one "*" line (print_section()).  The dump of the object stops at
 * PAGE_SIZE bytes, as the kernel's does.
 *
 * and the damage repaired (the bytes restored, or the bad free refused),
 * so a debugging run continues.
 *
 * Reports made under a cache lock are deferred (struct slab_report_defer):
 * their text is collected while the lock is held, with a placeholder
 * where a code address is to be named, and printed once it is dropped.
 * Naming an address calls dladdr(), which takes the dynamic loader's lock
 * and may allocate: under a cache lock that deadlocks against a thread
 * in dlopen() whose allocation needs the cache, and re-enters the
 * allocator.  So the allocator never calls dladdr() with a lock held.
 *
 * Lock order: the table in core/lock.h; called with s->lock held
 * (inside a deferral), except
 * debug_report_leaks() and the reports of unlocked paths.
 */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "slab/slab.h"

#define MAX_DEBUG_BLOCKS 16

struct debug_block {
	slab_flags_t flags;
	const char *names;	/* comma-separated patterns, or NULL: all */
	size_t names_len;
};

static char debug_spec[1024] __bss_cold;		/* KMEM_DEBUG set: rare */
static struct debug_block debug_blocks[MAX_DEBUG_BLOCKS] __bss_cold;
/*
 * Read at every cache's creation, written only when KMEM_DEBUG is set:
 * in .data, whose pages the loader has written already, so that start-up
 * reading them costs no fault of its own (in .bss, the read mapped the
 * zero page and start-up's next write to that page copied it).
 */
static unsigned int nr_debug_blocks __section_data;
static slab_flags_t debug_global __section_data;

static slab_flags_t parse_options(const char *p, const char *end)
{
	slab_flags_t f = 0;

	if (p == end)
		return SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |
		       SLAB_STORE_USER;
	for (; p < end; p++) {
		switch (*p | 0x20) {
		case 'f':
			f |= SLAB_CONSISTENCY_CHECKS;
			break;
		case 'z':
			f |= SLAB_RED_ZONE;
			break;
		case 'p':
			f |= SLAB_POISON;
			break;
		case 'u':
			f |= SLAB_STORE_USER;
			break;
		case 't':
			f |= SLAB_TRACE;
			break;
		case 'a':
		case 'o':
			break;
		default:
			if (*p == '-')
				return 0;
			kmem_printk("kmem: KMEM_DEBUG option '%c' unknown, skipped\n",
				    *p);
		}
	}
	return f;
}

/**
 * slab_debug_parse - read KMEM_DEBUG
 * @spec: its value, or NULL when unset
 *
 * Context: start-up, before any cache is made.
 */
void slab_debug_parse(const char *spec)
{
	const char *p;

	if (!spec)
		return;
	if (!strcmp(spec, "1") || !*spec)
		spec = "";
	strncpy(debug_spec, spec, sizeof(debug_spec) - 1);
	if (!*debug_spec) {
		debug_global = parse_options(debug_spec, debug_spec);
		return;
	}
	p = debug_spec;
	while (*p && nr_debug_blocks < MAX_DEBUG_BLOCKS) {
		const char *end = strchr(p, ';');
		const char *comma;

		if (!end)
			end = p + strlen(p);
		comma = memchr(p, ',', (size_t)(end - p));
		if (!comma) {
			debug_global = parse_options(p, end);
		} else {
			struct debug_block *b = &debug_blocks[nr_debug_blocks++];

			b->flags = parse_options(p, comma);
			b->names = comma + 1;
			b->names_len = (size_t)(end - comma - 1);
		}
		p = *end ? end + 1 : end;
	}
}

/* Does @name match @pat (length @len), where '*' matches any run? */
static bool glob_match(const char *pat, size_t len, const char *name)
{
	const char *star = NULL, *retry = NULL;
	size_t i = 0;

	while (*name) {
		if (i < len && pat[i] == '*') {
			star = pat + ++i;
			retry = name;
		} else if (i < len && pat[i] == *name) {
			i++;
			name++;
		} else if (star) {
			i = (size_t)(star - pat);
			name = ++retry;
		} else {
			return false;
		}
	}
	while (i < len && pat[i] == '*')
		i++;
	return i == len;
}

/**
 * slab_debug_flags_for - the debug flags KMEM_DEBUG gives a cache
 * @name:  the cache's name
 * @flags: its creation flags
 *
 * Return: @flags with the debug options for @name added.
 */
slab_flags_t slab_debug_flags_for(const char *name, slab_flags_t flags)
{
	for (unsigned int i = 0; i < nr_debug_blocks; i++) {
		const struct debug_block *b = &debug_blocks[i];
		const char *p = b->names, *end = b->names + b->names_len;

		while (p < end) {
			const char *c = memchr(p, ',', (size_t)(end - p));
			size_t len = c ? (size_t)(c - p) : (size_t)(end - p);

			if (len && glob_match(p, len, name))
				return flags | b->flags;
			p += len + 1;
		}
	}
	return flags | debug_global;
}

/* ---- deferred reports ------------------------------------------------ */

/*
 * A deferred report's text: first in the caller's inline buffer (a TRACE
 * line fits), then in a mapping of REPORT_MAX bytes made on demand (a
 * report with hex dumps: a few KiB each).  A code address is written as
 * REPORT_SYM followed by 16 hex digits and named when the text is printed.
 * Should a report outgrow even the mapping (a slab_validate() of a badly
 * damaged slab), what was collected is printed at once with the addresses
 * as numbers, and the rest goes straight out the same way: the order of
 * the lines is kept and dladdr() is still never called under the lock.
 */
#define REPORT_MAX	(256 * 1024)
#define REPORT_SYM	'\001'

static __thread struct slab_report_defer *cur_defer __tls_ie;

/**
 * slab_report_defer_begin - collect reports until slab_report_defer_end()
 * @d: the collection, on the caller's stack
 *
 * Call before taking the cache lock of a path that may report.  Nested
 * deferrals are part of the outer one.
 */
void slab_report_defer_begin(struct slab_report_defer *d)
{
	d->nested = cur_defer != NULL;
	if (d->nested)
		return;
	d->buf = d->inline_buf;
	d->cap = sizeof(d->inline_buf);
	d->len = 0;
	d->direct = false;
	cur_defer = d;
}

/* Print @len bytes of collected text, naming addresses if @named. */
static void defer_print(const char *text, size_t len, bool named)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *mark = memchr(p, REPORT_SYM, (size_t)(end - p));
		unsigned long addr = 0;
		char sym[160];

		if (!mark) {
			kmem_write_all(STDERR_FILENO, p, (size_t)(end - p));
			return;
		}
		kmem_write_all(STDERR_FILENO, p, (size_t)(mark - p));
		p = mark + 1;
		for (int i = 0; i < 16 && p < end; i++, p++)
			addr = addr << 4 |
			       (unsigned long)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
		if (named)
			kmem_print_symbol(sym, sizeof(sym), addr);
		else
			kmem_snprintf(sym, sizeof(sym), "0x%lx", addr);
		kmem_write_all(STDERR_FILENO, sym, strlen(sym));
	}
}

/**
 * slab_report_defer_end - print what was collected
 * @d: the collection
 *
 * Context: the lock taken after slab_report_defer_begin() is dropped.
 */
void slab_report_defer_end(struct slab_report_defer *d)
{
	if (d->nested)
		return;
	cur_defer = NULL;
	defer_print(d->buf, d->len, true);
	if (d->buf != d->inline_buf)
		kmem_os_unmap(d->buf, REPORT_MAX);
}

/* Make room for @n more bytes; false: print directly from now on. */
static bool defer_room(struct slab_report_defer *d, size_t n)
{
	char *big;

	if (d->direct)
		return false;
	if (d->len + n <= d->cap)
		return true;
	if (d->buf == d->inline_buf && d->len + n <= REPORT_MAX) {
		big = kmem_os_map(REPORT_MAX, PAGE_SIZE);
		if (big) {
			memcpy(big, d->buf, d->len);
			d->buf = big;
			d->cap = REPORT_MAX;
			return true;
		}
	}
	/* Out of room: what we have, unnamed, then the rest directly. */
	defer_print(d->buf, d->len, false);
	d->len = 0;
	d->direct = true;
	return false;
}

/**
 * slab_printk - kmem_printk() for reports: collected inside a deferral
 * (printed in order with the rest of it), else printed now
 * @fmt: format
 */
void slab_printk(const char *fmt, ...)
{
	struct slab_report_defer *d = cur_defer;
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kmem_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = min(n, (int)sizeof(line) - 1);
	if (d && defer_room(d, (size_t)n)) {
		memcpy(d->buf + d->len, line, (size_t)n);
		d->len += (size_t)n;
		return;
	}
	if (d)
		defer_print(line, (size_t)n, false);	/* direct: unnamed */
	else
		kmem_write_all(STDERR_FILENO, line, (size_t)n);
}

/*
 * The name of a code address for a report: inside a deferral a
 * placeholder, named when printed; otherwise named now.
 */
static void report_symbol(char *buf, size_t len, unsigned long addr)
{
	if (cur_defer && addr) {
		kmem_snprintf(buf, len, "%c%016lx", REPORT_SYM, addr);
		return;
	}
	kmem_print_symbol(buf, len, addr);
}

/* ---- symbols and dumps ---------------------------------------------- */

/*
 * print_section - the kernel's print_hex_dump() of a report, 16 bytes a
 * line, with one difference: a run of lines identical to the one before
 * is printed as a single "*" line (as hexdump -C and xxd -a do), the last
 * line of the section always shown.  An intact 8 KiB red zone is then
 * three lines, not 512; bytes that differ are all shown.
 */
static void print_section(const char *text, const unsigned char *addr,
			  unsigned int len)
{
	bool starred = false;

	for (unsigned int off = 0; off < len; off += 16) {
		char line[128];
		unsigned int cnt = min(16U, len - off);
		int n;

		if (off && cnt == 16 && off + 16 < len &&
		    !memcmp(addr + off, addr + off - 16, 16)) {
			if (!starred)
				slab_printk("*\n");
			starred = true;
			continue;
		}
		starred = false;
		n = kmem_snprintf(line, sizeof(line), "%s%016lx: ", text,
				  (unsigned long)(addr + off));

		for (unsigned int i = 0; i < 16; i++)
			n += kmem_snprintf(line + n, sizeof(line) - (size_t)n,
					   i < cnt ? "%02x " : "   ",
					   addr[off + i]);
		n += kmem_snprintf(line + n, sizeof(line) - (size_t)n, " ");
		for (unsigned int i = 0; i < cnt; i++) {
			unsigned char c = addr[off + i];

			line[n++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
		line[n] = '\0';
		slab_printk("%s\n", line);
	}
}

/**
 * slab_report - the BUG header of a report
 * @s:   the cache
 * @fmt: what is wrong
 */
void slab_report(struct kmem_cache *s, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	kmem_vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	slab_printk("=============================================================================\n");
	slab_printk("BUG %s: %s\n", s->name, what);
	slab_printk("-----------------------------------------------------------------------------\n\n");
}

static struct kmem_track *get_track(struct kmem_cache *s, char *slot, int free)
{
	return (struct kmem_track *)(slot + s->track_off) + free;
}

static void print_track(const char *what, const struct kmem_track *t)
{
	char sym[160];

	if (!t->addr)
		return;
	report_symbol(sym, sizeof(sym), t->addr);
	slab_printk("INFO: %s in %s age=%lu tid=%d\n", what, sym,
		    kmem_now_ms() - t->when, t->tid);
}

static unsigned int slot_index(struct kmem_cache *s, struct slab *slab,
			       const char *slot)
{
	return slab_slot_index(s, (unsigned long)(slot - slab->s_mem));
}

static bool slot_is_free(struct kmem_cache *s, struct slab *slab,
			 const char *slot)
{
	unsigned int i = slot_index(s, slab, slot);

	return !(slab->bitmap[i / 64] & (1UL << (i % 64)));
}

static char *first_free_slot(struct kmem_cache *s, struct slab *slab)
{
	for (unsigned int i = 0; i < s->objects; i++)
		if (!(slab->bitmap[i / 64] & (1UL << (i % 64))))
			return slab_slot(s, slab, i) + s->red_left;
	return NULL;
}

/* The kernel's print_trailer(): owners, slab, object, hex dump. */
static void print_trailer(struct kmem_cache *s, struct slab *slab, char *slot)
{
	char *obj = slot + s->red_left;

	if (s->flags & SLAB_STORE_USER) {
		print_track("Allocated", get_track(s, slot, 0));
		print_track("Freed", get_track(s, slot, 1));
	}
	slab_printk("INFO: Slab 0x%lx objects=%u used=%u fp=0x%lx flags=0x%x\n",
		    (unsigned long)slab, s->objects, slab->inuse,
		    (unsigned long)first_free_slot(s, slab), s->flags);
	slab_printk("INFO: Object 0x%lx @offset=%lu fp=0x%lx\n\n",
		    (unsigned long)obj, (unsigned long)(obj - (char *)slab),
		    (unsigned long)first_free_slot(s, slab));
	if (s->red_left)
		print_section("Redzone  ", (unsigned char *)slot, s->red_left);
	print_section("Object   ", (unsigned char *)obj,
		      min(s->object_size, (unsigned int)PAGE_SIZE));
	if (s->flags & SLAB_RED_ZONE)
		print_section("Redzone  ", (unsigned char *)obj + s->object_size,
			      s->inuse - s->red_left - s->object_size);
	if (s->size > s->track_off + ((s->flags & SLAB_STORE_USER) ?
				      2 * sizeof(struct kmem_track) : 0)) {
		unsigned int pad = s->track_off +
				   ((s->flags & SLAB_STORE_USER) ?
				    2 * (unsigned int)sizeof(struct kmem_track) :
				    0);

		print_section("Padding  ", (unsigned char *)slot + pad,
			      s->size - pad);
	}
}

/*
 * check_bytes - are @len bytes at @start all @value?  If not, report in
 * the kernel's check_bytes_and_report() form and restore them.
 */
static bool check_bytes(struct kmem_cache *s, struct slab *slab, char *slot,
			const char *what, unsigned char *start,
			unsigned char value, unsigned int len)
{
	unsigned char *fault = NULL, *end;

	for (unsigned int i = 0; i < len; i++) {
		if (start[i] != value) {
			fault = start + i;
			break;
		}
	}
	if (!fault)
		return true;
	end = start + len;
	while (end > fault && end[-1] == value)
		end--;
	slab_report(s, "%s overwritten", what);
	slab_printk("INFO: 0x%lx-0x%lx @offset=%lu. First byte 0x%x instead of 0x%x\n",
		    (unsigned long)fault, (unsigned long)(end - 1),
		    (unsigned long)(fault - (unsigned char *)slab), *fault,
		    value);
	print_trailer(s, slab, slot);
	memset(fault, value, (size_t)(end - fault));
	slab_printk("FIX %s: Restoring %s 0x%lx-0x%lx=0x%x\n", s->name, what,
		    (unsigned long)fault, (unsigned long)(end - 1), value);
	return false;
}

static unsigned int pad_start(struct kmem_cache *s)
{
	return s->track_off + ((s->flags & SLAB_STORE_USER) ?
			       2 * (unsigned int)sizeof(struct kmem_track) : 0);
}

static bool poisons(struct kmem_cache *s)
{
	return s->flags & SLAB_POISON;	/* cleared for ctor and RCU caches */
}

static void set_redzones(struct kmem_cache *s, char *slot, unsigned char v)
{
	if (!(s->flags & SLAB_RED_ZONE))
		return;
	memset(slot, v, s->red_left);
	memset(slot + s->red_left + s->object_size, v,
	       s->inuse - s->red_left - s->object_size);
}

static void poison_object(struct kmem_cache *s, char *slot)
{
	char *obj = slot + s->red_left;

	memset(obj, POISON_FREE, s->object_size - 1);
	obj[s->object_size - 1] = (char)POISON_END;
}

/* Red zones (value @v), poison if @free, padding: report and repair. */
static bool check_slot(struct kmem_cache *s, struct slab *slab, char *slot,
		       bool free)
{
	unsigned char v = free ? SLUB_RED_INACTIVE : SLUB_RED_ACTIVE;
	unsigned char *obj = (unsigned char *)slot + s->red_left;
	bool ok = true;

	if (s->flags & SLAB_RED_ZONE) {
		ok &= check_bytes(s, slab, slot, "Left Redzone",
				  (unsigned char *)slot, v, s->red_left);
		ok &= check_bytes(s, slab, slot, "Right Redzone",
				  obj + s->object_size, v,
				  s->inuse - s->red_left - s->object_size);
	}
	if (free && poisons(s)) {
		ok &= check_bytes(s, slab, slot, "Poison", obj, POISON_FREE,
				  s->object_size - 1);
		ok &= check_bytes(s, slab, slot, "End Poison",
				  obj + s->object_size - 1, POISON_END, 1);
	}
	if ((s->flags & (SLAB_POISON | SLAB_RED_ZONE)) && s->size > pad_start(s))
		ok &= check_bytes(s, slab, slot, "Padding",
				  (unsigned char *)slot + pad_start(s),
				  POISON_INUSE, s->size - pad_start(s));
	return ok;
}

/**
 * debug_init_slot - give a new slot its free-state debug bytes
 * @s:    the cache
 * @slot: the slot
 */
void debug_init_slot(struct kmem_cache *s, char *slot)
{
	set_redzones(s, slot, SLUB_RED_INACTIVE);
	if (poisons(s))
		poison_object(s, slot);
	if (s->flags & SLAB_STORE_USER)
		memset(slot + s->track_off, 0, 2 * sizeof(struct kmem_track));
	if ((s->flags & (SLAB_POISON | SLAB_RED_ZONE)) && s->size > pad_start(s))
		memset(slot + pad_start(s), POISON_INUSE, s->size - pad_start(s));
}

static void set_track(struct kmem_cache *s, char *slot, int free,
		      unsigned long caller)
{
	struct kmem_track *t;

	if (!(s->flags & SLAB_STORE_USER))
		return;
	t = get_track(s, slot, free);
	t->addr = caller;
	t->when = kmem_now_ms();
	t->tid = kmem_gettid();
}

/**
 * debug_alloc_checks - check a free object before it is handed out
 * @s:      the cache, lock held
 * @slab:   its slab
 * @obj:    the object (its bit already set)
 * @caller: the allocating call site
 *
 * Poison and inactive red zones must be intact (a write after free breaks
 * them); then the red zones go active and the owner is recorded.
 *
 * Return: true if nothing was wrong.
 */
bool debug_alloc_checks(struct kmem_cache *s, struct slab *slab, void *obj,
			unsigned long caller)
{
	char *slot = (char *)obj - s->red_left;
	bool ok = check_slot(s, slab, slot, true);

	set_redzones(s, slot, SLUB_RED_ACTIVE);
	set_track(s, slot, 0, caller);
	if (s->flags & SLAB_TRACE)
		debug_trace(s, "alloc", obj, caller);
	return ok;
}

/**
 * debug_free_checks - check an object being freed
 * @s:      the cache, lock held
 * @slab:   its slab
 * @obj:    the object (a slot start, checked)
 * @caller: the freeing call site
 *
 * A free object (bit clear) is a double free: reported, not freed.  Red
 * zones must be intact (overruns); then the object is poisoned, the red
 * zones go inactive and the freeing owner is recorded.
 *
 * Return: true if the object may be freed.
 */
bool debug_free_checks(struct kmem_cache *s, struct slab *slab, void *obj,
		       unsigned long caller)
{
	char *slot = (char *)obj - s->red_left;

	if (slot_is_free(s, slab, slot)) {
		slab_report(s, "Object already free");
		print_trailer(s, slab, slot);
		slab_printk("FIX %s: Object at 0x%lx not freed\n", s->name,
			    (unsigned long)obj);
		return false;
	}
	check_slot(s, slab, slot, false);
	if (s->flags & SLAB_TRACE)
		debug_trace(s, "free", obj, caller);
	set_track(s, slot, 1, caller);
	if (poisons(s))
		poison_object(s, slot);
	set_redzones(s, slot, SLUB_RED_INACTIVE);
	return true;
}

/**
 * debug_check_slab - validate every slot of a slab (slab_validate)
 * @s:    the cache, lock held
 * @slab: the slab
 * @bad:  incremented per damaged slot
 */
void debug_check_slab(struct kmem_cache *s, struct slab *slab, int *bad)
{
	for (unsigned int i = 0; i < s->objects; i++) {
		char *slot = slab_slot(s, slab, i);

		if (!check_slot(s, slab, slot, slot_is_free(s, slab, slot)))
			(*bad)++;
	}
}

/**
 * debug_report_leaks - list objects left when a cache is destroyed
 * @s:      the cache (SLAB_STORE_USER)
 * @caller: the kmem_cache_destroy() call site
 */
void debug_report_leaks(struct kmem_cache *s, unsigned long caller)
{
	struct list_head *lists[2] = { &s->slabs_full, &s->slabs_partial };
	unsigned int shown = 0, more = 0;
	struct slab_report_defer d;
	struct slab *slab;

	(void)caller;
	slab_report_defer_begin(&d);
	kmem_mutex_lock(&s->lock);
	slab_printk("INFO: Objects remaining in %s on kmem_cache_destroy()\n",
		    s->name);
	for (int l = 0; l < 2; l++) {
		list_for_each_entry(slab, lists[l], list) {
			for (unsigned int i = 0; i < s->objects; i++) {
				char *slot = slab_slot(s, slab, i);

				if (slot_is_free(s, slab, slot))
					continue;
				if (shown >= 64) {
					more++;
					continue;
				}
				shown++;
				slab_printk("INFO: Object 0x%lx @offset=%lu\n",
					    (unsigned long)(slot + s->red_left),
					    (unsigned long)(slot + s->red_left -
							    (char *)slab));
				print_track("Allocated", get_track(s, slot, 0));
			}
		}
	}
	if (more)
		slab_printk("INFO: ... and %u more objects\n", more);
	kmem_mutex_unlock(&s->lock);
	slab_report_defer_end(&d);
}

/**
 * debug_trace - the 'T' option: one line per allocation and free
 * @s:      the cache
 * @op:     "alloc" or "free"
 * @obj:    the object
 * @caller: the call site
 */
void debug_trace(struct kmem_cache *s, const char *op, void *obj,
		 unsigned long caller)
{
	char sym[160];

	report_symbol(sym, sizeof(sym), caller);
	slab_printk("TRACE %s %s 0x%lx caller=%s\n", s->name, op,
		    (unsigned long)obj, sym);
}
