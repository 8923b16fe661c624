// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/format.c - /proc/slabinfo and /proc/buddyinfo text, and JSON.
 *
 * The text formats are the kernel's, byte for byte, and the same as the
 * library prints for its own process (kmem_slabinfo_print() and
 * kmem_buddyinfo_print()):
 *
 *   slabinfo - version: 2.1                      (KMEM_SLABINFO_HEADER)
 *   # name <active_objs> <num_objs> ...
 *   "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n"
 *
 *   "Node %d, zone %8s " then "%6lu " per order, then "\n"
 *
 * One line per root cache, newest first as in the kernel; merged names
 * (aliases) appear only in JSON, as the kernel shows only the root.
 * objsize is the slot size; limit and batchcount are the magazine size;
 * sharedfactor is 0; sharedavail is the objects in the depot, kmem's
 * shared layer.
 *
 * JSON carries the same numbers under the same names, and more: every
 * record field, the per-thread holdings, the aliases and the process
 * totals.  Names are escaped for JSON; in the text they are printed as
 * they are, except that a byte that would break a parser (white space or
 * a control character, which kmem_cache_create() refuses anyway) shows
 * as '?'.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "kmeminfo.h"

/* ---- JSON writer --------------------------------------------------------- */

/**
 * json_open - start writing JSON to @f
 * @j: the writer
 * @f: the stream
 */
void json_open(struct kmi_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma = false;
}

/**
 * json_close - end the document with a newline
 * @j: the writer
 */
void json_close(struct kmi_json *j)
{
	fputc('\n', j->f);
}

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_key(struct kmi_json *j, const char *key)
{
	if (j->need_comma)
		fputc(',', j->f);
	if (j->depth)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	if (key) {
		json_escape(j->f, key);
		fputs(": ", j->f);
	}
	j->need_comma = true;
}

/**
 * json_begin - open an object ('{') or array ('[')
 * @j:       the writer
 * @key:     member name, or NULL inside an array or at the top
 * @bracket: '{' or '['
 */
void json_begin(struct kmi_json *j, const char *key, char bracket)
{
	json_key(j, key);
	fputc(bracket, j->f);
	j->depth++;
	j->need_comma = false;
}

/**
 * json_end - close what json_begin opened
 * @j:       the writer
 * @bracket: '}' or ']'
 */
void json_end(struct kmi_json *j, char bracket)
{
	bool empty = !j->need_comma;

	j->depth--;
	if (!empty)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(bracket, j->f);
	j->need_comma = true;
}

/**
 * json_u64 - an unsigned member
 * @j:   the writer
 * @key: name (NULL in an array)
 * @v:   value
 */
void json_u64(struct kmi_json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

/**
 * json_i64 - a signed member
 * @j:   the writer
 * @key: name
 * @v:   value
 */
void json_i64(struct kmi_json *j, const char *key, int64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

/**
 * json_dbl - a real member (null if not finite)
 * @j:   the writer
 * @key: name
 * @v:   value
 */
void json_dbl(struct kmi_json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

/**
 * json_str - a string member
 * @j:   the writer
 * @key: name
 * @s:   value
 */
void json_str(struct kmi_json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_escape(j->f, s);
}

/**
 * json_bool - a boolean member
 * @j:   the writer
 * @key: name
 * @v:   value
 */
void json_bool(struct kmi_json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

/* ---- text ---------------------------------------------------------------- */

/**
 * kmi_safe_name - a cache name fit for a white-space separated line
 * @dst:  KMEM_STATS_NAME_LEN bytes
 * @name: the record's name (NUL-terminated)
 */
void kmi_safe_name(char *dst, const char *name)
{
	size_t i;

	for (i = 0; i < KMEM_STATS_NAME_LEN - 1 && name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];

		dst[i] = ch <= ' ' || ch >= 0x7f ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

/**
 * kmi_slabinfo_text - /proc/slabinfo version 2.1
 * @f:    the stream
 * @snap: the snapshot
 */
void kmi_slabinfo_text(FILE *f, const struct kmi_snapshot *snap)
{
	fputs(KMEM_SLABINFO_HEADER, f);
	for (unsigned int i = 0; i < snap->nr_live; i++) {
		const struct kmem_stats_cache *r =
			&snap->caches[snap->order[i]].rec;
		char name[KMEM_STATS_NAME_LEN];

		kmi_safe_name(name, r->name);
		fprintf(f, "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
			name, (unsigned long)r->active_objs,
			(unsigned long)r->total_objs, r->size,
			r->objs_per_slab, 1 << (r->order & 31),
			r->magazine_size, r->magazine_size, 0U,
			(unsigned long)r->active_slabs,
			(unsigned long)r->total_slabs,
			(unsigned long)r->depot_objs);
	}
}

/**
 * kmi_buddyinfo_text - /proc/buddyinfo
 * @f:    the stream
 * @snap: the snapshot
 */
void kmi_buddyinfo_text(FILE *f, const struct kmi_snapshot *snap)
{
	fprintf(f, "Node %d, zone %8s ", 0, "Normal");
	for (int o = 0; o < KMEM_STATS_NR_ORDERS; o++)
		fprintf(f, "%6lu ", (unsigned long)snap->hdr.nr_free[o]);
	fputc('\n', f);
}

/* ---- JSON documents ------------------------------------------------------ */

/**
 * kmi_magazine_mode - where the process's magazines live
 * @h: its header
 *
 * Return: "per-cpu", "per-thread" or "none"; NULL from a kmem that did
 * not publish it.
 */
const char *kmi_magazine_mode(const struct kmem_stats_header *h)
{
	switch (h->magazine_mode) {
	case KMEM_STATS_MAGAZINES_CPU:
		return "per-cpu";
	case KMEM_STATS_MAGAZINES_THREAD:
		return "per-thread";
	case KMEM_STATS_MAGAZINES_NONE:
		return "none";
	default:
		return NULL;
	}
}

/**
 * kmi_json_process - the "process" member: who, and the process totals
 * @j:    the writer
 * @src:  the source
 * @snap: the snapshot
 */
void kmi_json_process(struct kmi_json *j, const struct kmi_source *src,
		      const struct kmi_snapshot *snap)
{
	const struct kmem_stats_header *h = &snap->hdr;
	uint64_t slab_bytes = 0, live_threads = 0;

	for (unsigned int i = 0; i < snap->nr_live; i++) {
		const struct kmem_stats_cache *r =
			&snap->caches[snap->order[i]].rec;

		slab_bytes += r->total_slabs *
			      ((uint64_t)KMI_PAGE_SIZE << (r->order & 31));
	}
	for (unsigned int i = 0; i < snap->nr_threads; i++)
		live_threads += !snap->threads[i].orphan &&
				!snap->threads[i].cpu;

	json_begin(j, "process", '{');
	json_i64(j, "pid", h->pid);
	json_str(j, "command", src->comm);
	if (src->path)
		json_str(j, "file", src->path);
	json_u64(j, "layout_version", h->version);
	json_u64(j, "generation", snap->generation);
	json_u64(j, "start_ns", h->start_ns);
	json_u64(j, "page_size", h->page_size);
	json_u64(j, "mapped", h->mapped);
	json_u64(j, "resident", h->mapped > h->retained ?
					h->mapped - h->retained : 0);
	json_u64(j, "retained", h->retained);
	json_u64(j, "huge_mapped", h->huge_mapped);
	/* High-water marks since start (0 from a kmem without them). */
	json_u64(j, "peak_used_bytes", h->peak_used);
	json_u64(j, "peak_huge_mapped", h->peak_huge_mapped);
	json_u64(j, "nr_huge", h->nr_huge);
	json_u64(j, "huge_cached", h->huge_cached);
	json_u64(j, "nr_huge_cached", h->nr_huge_cached);
	json_u64(j, "slab_bytes", slab_bytes);
	json_u64(j, "threads", live_threads);
	json_u64(j, "thread_objs", snap->thread_objs);
	json_u64(j, "thread_bytes", snap->thread_bytes);
	json_u64(j, "thread_pcp_pages", snap->pcp_pages);
	json_u64(j, "orphan_objs", snap->orphan_objs);
	if (kmi_magazine_mode(h))
		json_str(j, "magazines", kmi_magazine_mode(h));
	json_u64(j, "cpu_objs", snap->cpu_objs);
	json_u64(j, "cpu_bytes", snap->cpu_bytes);
	json_begin(j, "per_cpu", '[');
	for (unsigned int i = 0; i < snap->nr_threads; i++) {
		const struct kmi_thread *t = &snap->threads[i];

		if (!t->cpu)
			continue;
		json_begin(j, NULL, '{');
		json_i64(j, "cpu", t->tid);
		json_u64(j, "objs", t->objs);
		json_u64(j, "bytes", t->bytes);
		json_end(j, '}');
	}
	json_end(j, ']');
	json_begin(j, "per_thread", '[');
	for (unsigned int i = 0; i < snap->nr_threads; i++) {
		const struct kmi_thread *t = &snap->threads[i];

		if (t->cpu)
			continue;
		json_begin(j, NULL, '{');
		json_i64(j, "tid", t->tid);
		json_bool(j, "orphan", t->orphan);
		json_u64(j, "objs", t->objs);
		json_u64(j, "bytes", t->bytes);
		json_u64(j, "pcp_pages", t->pcp_pages);
		json_end(j, '}');
	}
	json_end(j, ']');
	json_end(j, '}');
}

static void json_cache(struct kmi_json *j, const struct kmi_snapshot *snap,
		       const struct kmi_cache *c)
{
	const struct kmem_stats_cache *r = &c->rec;

	json_begin(j, NULL, '{');
	json_str(j, "name", r->name);
	json_u64(j, "id", r->id);
	/* The /proc/slabinfo columns, under their header's names. */
	json_u64(j, "active_objs", r->active_objs);
	json_u64(j, "num_objs", r->total_objs);
	json_u64(j, "objsize", r->size);
	json_u64(j, "objperslab", r->objs_per_slab);
	json_u64(j, "pagesperslab", 1ULL << (r->order & 31));
	json_u64(j, "limit", r->magazine_size);
	json_u64(j, "batchcount", r->magazine_size);
	json_u64(j, "sharedfactor", 0);
	json_u64(j, "active_slabs", r->active_slabs);
	json_u64(j, "num_slabs", r->total_slabs);
	json_u64(j, "sharedavail", r->depot_objs);
	/* And the rest. */
	json_u64(j, "object_size", r->object_size);
	json_u64(j, "align", r->align);
	json_u64(j, "order", r->order);
	json_u64(j, "flags", r->flags);
	json_u64(j, "magazine_size", r->magazine_size);
	json_u64(j, "refcount", r->refcount);
	json_u64(j, "cache_bytes",
		 r->total_slabs * ((uint64_t)KMI_PAGE_SIZE << (r->order & 31)));
	json_u64(j, "inuse_objs", c->inuse_objs);
	json_u64(j, "peak_active_objs", r->peak_active_objs);
	json_u64(j, "peak_bytes", r->peak_active_objs * r->size);
	json_u64(j, "thread_objs", c->thread_objs);
	json_u64(j, "cpu_objs", c->cpu_objs);
	json_u64(j, "trimmed", r->trimmed);
	json_u64(j, "depot_objs", r->depot_objs);
	json_u64(j, "depot_full", r->depot_full);
	json_u64(j, "depot_empty", r->depot_empty);
	json_u64(j, "orphan_objs", c->orphan_objs);
	json_u64(j, "allocs", c->allocs);
	json_u64(j, "frees", c->frees);
	json_u64(j, "alloc_slow", r->alloc_slow);
	json_u64(j, "free_slow", r->free_slow);
	json_u64(j, "slabs_created", r->slabs_created);
	json_u64(j, "slabs_freed", r->slabs_freed);
	json_u64(j, "rcu_pending", r->rcu_pending);
	json_begin(j, "aliases", '[');
	for (unsigned int i = 0; i < snap->nr_caches; i++) {
		const struct kmem_stats_cache *a = &snap->caches[i].rec;

		if (a->state == KMEM_STATS_CACHE_ALIAS && a->alias_of == r->id)
			json_str(j, NULL, a->name);
	}
	json_end(j, ']');
	json_end(j, '}');
}

/**
 * kmi_slabinfo_json - the caches as JSON
 * @f:    the stream
 * @src:  the source
 * @snap: the snapshot
 *
 * { "process": {...}, "slabinfo_version": "2.1", "caches": [...] (the
 * text's lines, same order), "aliases": [...] }
 */
void kmi_slabinfo_json(FILE *f, const struct kmi_source *src,
		       const struct kmi_snapshot *snap)
{
	struct kmi_json j;

	json_open(&j, f);
	json_begin(&j, NULL, '{');
	kmi_slabinfo_json_members(&j, src, snap);
	json_end(&j, '}');
	json_close(&j);
}

/**
 * kmi_slabinfo_json_members - the members of the slabinfo document
 * @j:    a writer inside an open object
 * @src:  where the figures come from
 * @snap: a snapshot
 *
 * "process", "slabinfo_version", "caches", "aliases": what
 * kmi_slabinfo_json() writes, for documents that add members of their own
 * ("kmeminfo run").
 */
void kmi_slabinfo_json_members(struct kmi_json *j, const struct kmi_source *src,
			       const struct kmi_snapshot *snap)
{
	kmi_json_process(j, src, snap);
	json_str(j, "slabinfo_version", "2.1");
	json_begin(j, "caches", '[');
	for (unsigned int i = 0; i < snap->nr_live; i++)
		json_cache(j, snap, &snap->caches[snap->order[i]]);
	json_end(j, ']');
	json_begin(j, "aliases", '[');
	for (unsigned int i = 0; i < snap->nr_caches; i++) {
		const struct kmi_cache *c = &snap->caches[i];
		const struct kmi_cache *root = kmi_snapshot_root(snap, c);

		if (c->rec.state != KMEM_STATS_CACHE_ALIAS)
			continue;
		json_begin(j, NULL, '{');
		json_str(j, "name", c->rec.name);
		json_u64(j, "id", c->rec.id);
		json_str(j, "alias_of", root ? root->rec.name : "");
		json_u64(j, "alias_of_id", c->rec.alias_of);
		json_u64(j, "object_size", c->rec.object_size);
		json_u64(j, "flags", c->rec.flags);
		json_end(j, '}');
	}
	json_end(j, ']');
	kmi_kfence_json_member(j, snap);
}

/**
 * kmi_kfence_json_member - the "kfence" object of a JSON document
 * @j:    a writer inside an open object
 * @snap: a snapshot
 *
 * The figures of kmeminfo kfence, under the names of the header's
 * kfence_* fields.
 */
void kmi_kfence_json_member(struct kmi_json *j, const struct kmi_snapshot *snap)
{
	const struct kmem_stats_header *h = &snap->hdr;

	json_begin(j, "kfence", '{');
	json_u64(j, "enabled", h->kfence_objects != 0);
	json_i64(j, "sample_interval", h->kfence_interval);
	json_u64(j, "objects", h->kfence_objects);
	json_u64(j, "allocated", h->kfence_allocated);
	json_u64(j, "allocs", h->kfence_allocs);
	json_u64(j, "frees", h->kfence_frees);
	json_u64(j, "bugs", h->kfence_bugs);
	json_u64(j, "skipped_incompatible", h->kfence_skip_incompat);
	json_u64(j, "skipped_capacity", h->kfence_skip_capacity);
	json_u64(j, "slots_used", h->kfence_slots_used);
	json_end(j, '}');
}

/**
 * kmi_kfence_text - the kernel's /sys/kernel/debug/kfence/stats lines
 * @f:    the stream
 * @snap: the snapshot
 *
 * The kernel's lines first, in its words; then the pool's use and the
 * sample interval, which the kernel shows elsewhere (its module
 * parameters).
 */
void kmi_kfence_text(FILE *f, const struct kmi_snapshot *snap)
{
	const struct kmem_stats_header *h = &snap->hdr;

	fprintf(f, "enabled: %d\n", h->kfence_objects != 0);
	fprintf(f, "currently allocated: %" PRIu64 "\n", h->kfence_allocated);
	fprintf(f, "total allocations: %" PRIu64 "\n", h->kfence_allocs);
	fprintf(f, "total frees: %" PRIu64 "\n", h->kfence_frees);
	fprintf(f, "total bugs: %" PRIu64 "\n", h->kfence_bugs);
	fprintf(f, "skipped allocations (incompatible): %" PRIu64 "\n",
		h->kfence_skip_incompat);
	fprintf(f, "skipped allocations (capacity): %" PRIu64 "\n",
		h->kfence_skip_capacity);
	fprintf(f, "pool slots in use: %" PRIu64 "/%" PRIu64 "\n",
		h->kfence_slots_used, h->kfence_objects);
	fprintf(f, "sample interval: %" PRId64 "\n", h->kfence_interval);
}

/* struct kmem_stats_header.thp - 1: KMEM_THP */
static const char *const thp_names[] = { "never", "large", "always" };

/**
 * kmi_buddyinfo_json - the page allocator as JSON
 * @f:    the stream
 * @src:  the source
 * @snap: the snapshot
 */
void kmi_buddyinfo_json(FILE *f, const struct kmi_source *src,
			const struct kmi_snapshot *snap)
{
	const struct kmem_stats_header *h = &snap->hdr;
	struct kmi_json j;

	json_open(&j, f);
	json_begin(&j, NULL, '{');
	kmi_json_process(&j, src, snap);
	json_u64(&j, "node", 0);
	json_str(&j, "zone", "Normal");
	json_begin(&j, "nr_free", '[');
	for (int o = 0; o < KMEM_STATS_NR_ORDERS; o++)
		json_u64(&j, NULL, h->nr_free[o]);
	json_end(&j, ']');
	json_begin(&j, "orders", '[');
	for (int o = 0; o < KMEM_STATS_NR_ORDERS; o++) {
		json_begin(&j, NULL, '{');
		json_u64(&j, "order", (uint64_t)o);
		json_u64(&j, "block_bytes", (uint64_t)KMI_PAGE_SIZE << o);
		json_u64(&j, "free_blocks", h->nr_free[o]);
		json_u64(&j, "free_bytes", h->nr_free[o] * ((uint64_t)KMI_PAGE_SIZE << o));
		json_end(&j, '}');
	}
	json_end(&j, ']');
	json_u64(&j, "managed_pages", h->managed_pages);
	json_u64(&j, "free_pages", h->free_pages);
	json_u64(&j, "pcp_pages", snap->pcp_pages);
	json_u64(&j, "sections", h->nr_sections);
	json_u64(&j, "os_maps", h->os_maps);
	json_u64(&j, "os_unmaps", h->os_unmaps);
	json_u64(&j, "os_releases", h->os_releases);
	json_u64(&j, "os_moves", h->os_moves);
	json_u64(&j, "os_hugepages", h->os_hugepages);
	json_u64(&j, "os_populates", h->os_populates);
	if (h->thp >= 1 && h->thp <= 3)
		json_str(&j, "thp", thp_names[h->thp - 1]);
	json_end(&j, '}');
	json_close(&j);
}
