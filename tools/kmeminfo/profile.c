// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/profile.c - "kmeminfo profile": where the memory goes.
 *
 * Reads the sampled allocation profile a kmem process publishes (struct
 * kmem_stats_profile, include/kmem/stats.h: per call stack, code
 * addresses and sampled counts with their estimates) and names the
 * frames with elfutils' libdwfl against the target's /proc/PID/maps: the
 * modules it has mapped, their symbol tables, and their DWARF line tables
 * where debugging information exists (separate debuginfo files too,
 * found the standard way).  Nothing is written to the target, nothing
 * attaches to it.
 *
 * A frame is a return address (it points after its call), so the name
 * and line are looked up at address - 1, which is inside the call; the
 * offset shown is the address's own, as perf and gdb show it.
 *
 * Sites are ordered by estimated live bytes (--sort total: bytes
 * allocated since start; objects: live objects).  --folded prints one
 * line per stack of function names, outermost frame first, frames
 * separated by ';', then the measure the sort names, summed over the
 * sites with those names: the input of flamegraph.pl and speedscope.
 *
 * Errors: a process without kmem (4) or without profiling (11), gone
 * while read (6), or whose mapped binaries changed on disk since they
 * were mapped (12: the symbols on disk would not be the code's).
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmeminfo.h"

/* ---- reading ------------------------------------------------------------- */

/* Copy one stack record by its seq.  Return: KMI_OK, or as settle_again. */
static int prof_copy_stack(const struct kmi_source *s,
			   const struct kmem_stats_prof_stack *src,
			   struct kmem_stats_prof_stack *dst,
			   struct kmi_settle *w)
{
	int ret;

	kmi_settle_init(w, s);
	do {
		uint64_t seq = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);

		if (!(seq & 1)) {
			memcpy(dst, src, sizeof(*dst));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&src->seq, __ATOMIC_RELAXED) == seq)
				return KMI_OK;
		}
		ret = kmi_settle_again(w, seq);
	} while (ret == -EAGAIN);
	return ret;
}

/**
 * kmi_profile_read - a consistent copy of a process's profile
 * @src:  an open source
 * @prof: filled in; kmi_profile_free() it
 *
 * Return: KMI_OK, KMI_NOPROFILE (profiling off in that process), or
 * another kmi_status (with its message printed).
 */
int kmi_profile_read(struct kmi_source *src, struct kmi_profile *prof)
{
	struct kmi_snapshot snap;
	const struct kmem_stats_profile *p = NULL;
	uint64_t off, end, rate, max_stacks;
	struct kmi_settle w;
	int ret;

	memset(prof, 0, sizeof(*prof));
	ret = kmi_snapshot_take(src, &snap);
	if (ret) {
		kmi_snapshot_free(&snap);
		return ret;
	}
	off = snap.hdr.units_off;
	end = snap.hdr.units_end;
	rate = snap.hdr.profile_rate;
	max_stacks = snap.hdr.profile_max_stacks;
	kmi_snapshot_free(&snap);
	while (off < end && end <= src->map_len) {
		const struct kmem_stats_unit *u = (const void *)(src->map + off);

		if (!u->npages)
			break;
		if (u->kind == KMEM_UNIT_PROFILE) {
			p = (const void *)u;
			/* Made at the first sample, its magic written last:
			 * without it, being made. */
			if (__atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) !=
			    KMEM_PROFILE_MAGIC && rate)
				p = NULL;
			break;
		}
		off += (uint64_t)u->npages * KMI_PAGE_SIZE;
	}
	if (!p && rate && max_stacks && max_stacks <= UINT32_MAX) {
		/*
		 * Profiling, but no allocation sampled yet: the unit comes
		 * with the first sample.  An empty profile, as the unit
		 * starts: the overflow record 0 alone.
		 */
		prof->hdr.magic = KMEM_PROFILE_MAGIC;
		prof->hdr.rate = rate;
		prof->hdr.max_stacks = (uint32_t)max_stacks;
		prof->hdr.nr_stacks = 1;
		prof->hdr.stack_off = sizeof(prof->hdr);
		prof->hdr.stack_size = sizeof(struct kmem_stats_prof_stack);
		prof->hdr.max_frames = KMEM_PROF_FRAMES;
		prof->nr = 1;
		prof->stacks = kmi_xcalloc(2, sizeof(*prof->stacks));
		if (!prof->stacks)
			return KMI_ERR;
		prof->stacks[0].flags = KMEM_PROF_STACK_OVERFLOW;
		return kmi_process_alive(src) ?
			       kmi_error(KMI_EXITED,
					 "PID %d exited while it was read",
					 (int)src->pid) :
			       KMI_OK;
	}
	if (!p)
		return kmi_error(KMI_NOPROFILE,
				 "PID %d (%s) does not profile its allocations (KMEM_PROFILE_RATE=0, or no room for the profile: see its standard error)",
				 (int)src->pid, src->comm);
	if (p->magic != KMEM_PROFILE_MAGIC ||
	    p->stack_size != sizeof(struct kmem_stats_prof_stack) ||
	    p->max_frames != KMEM_PROF_FRAMES || !p->max_stacks ||
	    off + p->stack_off + (uint64_t)p->max_stacks * p->stack_size >
		    off + (uint64_t)p->unit.npages * KMI_PAGE_SIZE ||
	    off + (uint64_t)p->unit.npages * KMI_PAGE_SIZE > src->map_len)
		return kmi_error(KMI_VERSION,
				 "PID %d: a profile of a layout this kmeminfo does not read",
				 (int)src->pid);
	kmi_settle_init(&w, src);
	for (;;) {
		uint64_t s = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);

		if (!(s & 1)) {
			memcpy(&prof->hdr, p, sizeof(prof->hdr));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&p->seq, __ATOMIC_RELAXED) == s)
				break;
		}
		ret = kmi_settle_again(&w, s);
		if (ret != -EAGAIN)
			return kmi_error(ret, "PID %d: the profile's totals %s",
					 (int)src->pid, w.why);
	}
	prof->nr = prof->hdr.nr_stacks;
	if (prof->nr > prof->hdr.max_stacks)
		prof->nr = prof->hdr.max_stacks;
	prof->stacks = kmi_xcalloc(prof->nr + 1, sizeof(*prof->stacks));
	if (!prof->stacks)
		return KMI_ERR;
	for (uint32_t i = 0; i < prof->nr; i++) {
		const struct kmem_stats_prof_stack *st = (const void *)
			((const char *)p + p->stack_off +
			 (size_t)i * p->stack_size);

		ret = prof_copy_stack(src, st, &prof->stacks[i], &w);
		if (ret) {
			kmi_profile_free(prof);
			return kmi_error(ret, "PID %d: stack record %u %s",
					 (int)src->pid, i, w.why);
		}
		if (prof->stacks[i].nr_frames > KMEM_PROF_FRAMES)
			prof->stacks[i].nr_frames = KMEM_PROF_FRAMES;
	}
	return kmi_process_alive(src) ?
		       kmi_error(KMI_EXITED, "PID %d exited while it was read",
				 (int)src->pid) :
		       KMI_OK;
}

void kmi_profile_free(struct kmi_profile *prof)
{
	free(prof->stacks);
	prof->stacks = NULL;
}

/* ---- symbols ------------------------------------------------------------- */

struct kmi_symbolizer {
	Dwfl *dwfl;
	pid_t pid;
};

static char *debuginfo_path;
static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/*
 * Has a file mapped by @pid changed since it was mapped?  The kernel marks
 * an unlinked (or replaced by rename) file " (deleted)"; a file rewritten
 * in place keeps its name but the inode in maps is no longer the path's.
 */
static int maps_changed(pid_t pid, char *what, size_t len)
{
	char path[64], line[4096];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? KMI_EXITED : KMI_PERM;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ino;
		unsigned int maj, min;
		char perms[8], *name;
		struct stat st;
		int pos = 0;

		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu %n", perms, &maj,
			   &min, &ino, &pos) < 4 || !pos || perms[2] != 'x')
			continue;
		name = line + pos;
		name[strcspn(name, "\n")] = '\0';
		if (name[0] != '/')
			continue;
		if (strstr(name, " (deleted)") ||
		    (stat(name, &st) == 0 && (uint64_t)st.st_ino != ino)) {
			snprintf(what, len, "%s", name);
			ret = KMI_CHANGED;
			break;
		}
	}
	fclose(f);
	return ret;
}

/**
 * kmi_symbolizer_open - read the modules a process has mapped
 * @pid: the process
 * @sym: receives the symbolizer
 *
 * Return: KMI_OK, KMI_CHANGED (a mapped binary changed on disk),
 * KMI_EXITED, or KMI_ERR; the message is printed.
 */
int kmi_symbolizer_open(pid_t pid, struct kmi_symbolizer **sym)
{
	struct kmi_symbolizer *s;
	char what[4096];
	int ret;

	*sym = NULL;
	ret = maps_changed(pid, what, sizeof(what));
	if (ret == KMI_CHANGED)
		return kmi_error(ret,
				 "PID %d runs code from %s, which changed on disk since it was mapped: its symbols would be wrong",
				 (int)pid, what);
	if (ret == KMI_EXITED)
		return kmi_error(ret, "PID %d exited while it was read",
				 (int)pid);
	s = kmi_xcalloc(1, sizeof(*s));
	if (!s)
		return KMI_ERR;
	s->pid = pid;
	s->dwfl = dwfl_begin(&proc_callbacks);
	if (!s->dwfl) {
		free(s);
		return kmi_error(KMI_ERR, "libdwfl: %s", dwfl_errmsg(-1));
	}
	dwfl_report_begin(s->dwfl);
	ret = dwfl_linux_proc_report(s->dwfl, pid);
	dwfl_report_end(s->dwfl, NULL, NULL);
	if (ret) {
		dwfl_end(s->dwfl);
		free(s);
		if (ret == ENOENT || ret == ESRCH)
			return kmi_error(KMI_EXITED,
					 "PID %d exited while it was read",
					 (int)pid);
		return kmi_error(KMI_ERR, "PID %d: reading its maps: %s",
				 (int)pid, strerror(ret > 0 ? ret : EIO));
	}
	*sym = s;
	return KMI_OK;
}

void kmi_symbolizer_close(struct kmi_symbolizer *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	free(s);
}

/**
 * kmi_symbolize - what a frame is
 * @s:  a symbolizer, or NULL (addresses only)
 * @pc: a return address
 * @f:  filled in (empty strings where unknown)
 */
void kmi_symbolize(struct kmi_symbolizer *s, uint64_t pc, struct kmi_frame *f)
{
	Dwfl_Module *m;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name, *mod, *file;
	Dwarf_Addr base = 0;
	Dwfl_Line *line;
	int lineno = 0;

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	if (!s || !pc)
		return;
	m = dwfl_addrmodule(s->dwfl, pc - 1);
	if (!m)
		return;
	mod = dwfl_module_info(m, NULL, &base, NULL, NULL, NULL, NULL, NULL);
	if (mod) {
		const char *slash = strrchr(mod, '/');

		snprintf(f->module, sizeof(f->module), "%s",
			 slash ? slash + 1 : mod);
		f->module_off = pc - base;
	}
	name = dwfl_module_addrinfo(m, pc - 1, &off, &sym, NULL, NULL, NULL);
	if (name) {
		/* "__libc_start_main@@GLIBC_2.34": the version is noise here. */
		snprintf(f->function, sizeof(f->function), "%.*s",
			 (int)strcspn(name, "@"), name);
		f->offset = off + 1;		/* of pc, not pc - 1 */
	}
	line = dwfl_module_getsrc(m, pc - 1);
	if (line) {
		file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		if (file) {
			snprintf(f->file, sizeof(f->file), "%s", file);
			f->line = lineno;
		}
	}
}

/* "function+0x1a (file.c:42)", "module+0x1234", or "0x7f..." */
void kmi_frame_text(const struct kmi_frame *f, char *buf, size_t len)
{
	int n;

	if (f->function[0])
		n = snprintf(buf, len, "%s+0x%" PRIx64, f->function, f->offset);
	else if (f->module[0])
		n = snprintf(buf, len, "%s+0x%" PRIx64, f->module,
			     f->module_off);
	else
		n = snprintf(buf, len, "0x%" PRIx64, f->pc);
	if (f->file[0] && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (%s:%d)", f->file,
			 f->line);
}

/* The frame's name in a folded stack: no offsets, no ';' or spaces. */
static void frame_folded(const struct kmi_frame *f, char *buf, size_t len)
{
	if (f->function[0])
		snprintf(buf, len, "%s", f->function);
	else if (f->module[0])
		snprintf(buf, len, "%s+0x%" PRIx64, f->module, f->module_off);
	else
		snprintf(buf, len, "0x%" PRIx64, f->pc);
	for (char *p = buf; *p; p++)
		if (*p == ';' || *p == ' ' || *p == '\n')
			*p = '_';
}

/* ---- the command --------------------------------------------------------- */

enum prof_sort { SORT_LIVE, SORT_TOTAL, SORT_OBJECTS };

static enum prof_sort sort_key;

static uint64_t measure(const struct kmem_stats_prof_stack *st)
{
	switch (sort_key) {
	case SORT_TOTAL:
		return st->total_est_bytes;
	case SORT_OBJECTS:
		return st->live_est_objs;
	default:
		return st->live_est_bytes;
	}
}

static int cmp_sites(const void *a, const void *b)
{
	const struct kmem_stats_prof_stack *x = *(const void *const *)a;
	const struct kmem_stats_prof_stack *y = *(const void *const *)b;
	uint64_t mx = measure(x), my = measure(y);

	if (mx != my)
		return mx > my ? -1 : 1;
	if (x->total_est_bytes != y->total_est_bytes)
		return x->total_est_bytes > y->total_est_bytes ? -1 : 1;
	return x < y ? -1 : x > y;
}

static double objs(uint64_t scaled)
{
	return (double)scaled / KMEM_PROF_OBJS_SCALE;
}

static const char *sort_name(void)
{
	return sort_key == SORT_TOTAL ? "total" :
	       sort_key == SORT_OBJECTS ? "objects" : "live";
}

static void print_text(const struct kmi_source *src,
		       const struct kmi_profile *prof,
		       struct kmem_stats_prof_stack **sites, unsigned int nr,
		       unsigned int top, struct kmi_symbolizer *sym)
{
	uint64_t live = 0, live_objs = 0, total = 0;
	const struct kmem_stats_prof_stack *ovf = &prof->stacks[0];

	for (uint32_t i = 0; i < prof->nr; i++) {
		live += prof->stacks[i].live_est_bytes;
		live_objs += prof->stacks[i].live_est_objs;
		total += prof->stacks[i].total_est_bytes;
	}
	printf("kmem profile of PID %d (%s): one sample per %" PRIu64 " bytes on average\n",
	       (int)src->pid, src->comm, prof->hdr.rate);
	printf("live: %" PRIu64 " bytes in %.0f objects (estimated from %" PRIu64
	       " samples); allocated since start: %" PRIu64 " bytes\n",
	       live, objs(live_objs), prof->hdr.live_samples, total);
	printf("stacks: %u of %u recorded; overflow: %" PRIu64
	       " samples (%" PRIu64 " live bytes) without room; skipped: %" PRIu64
	       "; lost frees: %" PRIu64 "; no room: %" PRIu64 "\n",
	       prof->nr ? prof->nr - 1 : 0, prof->hdr.max_stacks - 1,
	       ovf->total_samples, ovf->live_est_bytes, prof->hdr.skipped,
	       prof->hdr.lost_frees, prof->hdr.no_room);
	printf("sorted by %s\n", sort_name());
	for (unsigned int r = 0; r < nr && r < top; r++) {
		const struct kmem_stats_prof_stack *st = sites[r];
		double share = live ? 100.0 * (double)st->live_est_bytes /
					      (double)live : 0.0;

		printf("\n#%u live %" PRIu64 " bytes, %.0f objects, %.1f%% of live;"
		       " total %" PRIu64 " bytes, %.0f objects; samples %" PRIu64
		       " live, %" PRIu64 " total\n",
		       r + 1, st->live_est_bytes, objs(st->live_est_objs), share,
		       st->total_est_bytes, objs(st->total_est_objs),
		       st->live_samples, st->total_samples);
		if (st->flags & KMEM_PROF_STACK_OVERFLOW)
			printf("    [stacks beyond KMEM_PROFILE_MAX_STACKS]\n");
		for (uint32_t k = 0; k < st->nr_frames; k++) {
			struct kmi_frame f;
			char text[1024];

			kmi_symbolize(sym, st->frames[k], &f);
			kmi_frame_text(&f, text, sizeof(text));
			printf("    %s\n", text);
		}
	}
}

static void print_json(const struct kmi_source *src,
		       const struct kmi_profile *prof,
		       struct kmem_stats_prof_stack **sites, unsigned int nr,
		       unsigned int top, struct kmi_symbolizer *sym)
{
	uint64_t live = 0;
	struct kmi_json j;

	for (uint32_t i = 0; i < prof->nr; i++)
		live += prof->stacks[i].live_est_bytes;
	json_open(&j, stdout);
	json_begin(&j, NULL, '{');
	json_begin(&j, "process", '{');
	json_i64(&j, "pid", src->pid);
	json_str(&j, "command", src->comm);
	json_end(&j, '}');
	json_u64(&j, "rate", prof->hdr.rate);
	json_str(&j, "sort", sort_name());
	json_u64(&j, "samples", prof->hdr.samples);
	json_u64(&j, "live_samples", prof->hdr.live_samples);
	json_u64(&j, "live_bytes", live);
	json_u64(&j, "stacks", prof->nr ? prof->nr - 1 : 0);
	json_u64(&j, "max_stacks", prof->hdr.max_stacks - 1);
	json_u64(&j, "overflow_samples", prof->stacks[0].total_samples);
	json_u64(&j, "overflow_live_bytes", prof->stacks[0].live_est_bytes);
	json_u64(&j, "skipped", prof->hdr.skipped);
	json_u64(&j, "lost_frees", prof->hdr.lost_frees);
	json_u64(&j, "no_room", prof->hdr.no_room);
	json_begin(&j, "sites", '[');
	for (unsigned int r = 0; r < nr && r < top; r++) {
		const struct kmem_stats_prof_stack *st = sites[r];

		json_begin(&j, NULL, '{');
		json_u64(&j, "rank", r + 1);
		json_bool(&j, "overflow",
			  st->flags & KMEM_PROF_STACK_OVERFLOW);
		json_u64(&j, "live_bytes", st->live_est_bytes);
		json_dbl(&j, "live_objects", objs(st->live_est_objs));
		json_dbl(&j, "share",
			 live ? (double)st->live_est_bytes / (double)live : 0);
		json_u64(&j, "total_bytes", st->total_est_bytes);
		json_dbl(&j, "total_objects", objs(st->total_est_objs));
		json_u64(&j, "live_samples", st->live_samples);
		json_u64(&j, "live_sampled_bytes", st->live_bytes);
		json_u64(&j, "total_samples", st->total_samples);
		json_u64(&j, "total_sampled_bytes", st->total_bytes);
		json_begin(&j, "frames", '[');
		for (uint32_t k = 0; k < st->nr_frames; k++) {
			struct kmi_frame f;
			char addr[32];

			kmi_symbolize(sym, st->frames[k], &f);
			json_begin(&j, NULL, '{');
			snprintf(addr, sizeof(addr), "0x%" PRIx64, f.pc);
			json_str(&j, "address", addr);
			if (f.module[0]) {
				json_str(&j, "module", f.module);
				json_u64(&j, "module_offset", f.module_off);
			}
			if (f.function[0]) {
				json_str(&j, "function", f.function);
				json_u64(&j, "offset", f.offset);
			}
			if (f.file[0]) {
				json_str(&j, "file", f.file);
				json_i64(&j, "line", f.line);
			}
			json_end(&j, '}');
		}
		json_end(&j, ']');
		json_end(&j, '}');
	}
	json_end(&j, ']');
	json_end(&j, '}');
	json_close(&j);
}

/* One line of --folded: a stack of names and its measure. */
struct folded_line {
	char *stack;
	uint64_t value;
	unsigned int rank;	/* the first site's place in the sort */
};

static int cmp_folded_stack(const void *a, const void *b)
{
	const struct folded_line *x = a, *y = b;
	int c = strcmp(x->stack, y->stack);

	return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

static int cmp_folded_value(const void *a, const void *b)
{
	const struct folded_line *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/*
 * Sites whose frames have the same names (two calls in one function, or
 * one function's frames at different offsets) print as one stack, their
 * measures summed: a flame graph takes a stack once.
 * Return: 0, or KMI_ERR out of memory.
 */
static int print_folded(struct kmem_stats_prof_stack **sites, unsigned int nr,
			unsigned int top, struct kmi_symbolizer *sym)
{
	struct folded_line *line = kmi_xcalloc(nr < top ? nr : top,
						sizeof(*line));
	unsigned int n = 0, m = 0;
	int ret = 0;

	if (!line)
		return KMI_ERR;
	for (unsigned int r = 0; r < nr && r < top; r++) {
		const struct kmem_stats_prof_stack *st = sites[r];
		uint64_t v = measure(st);
		size_t len = 0;
		FILE *f;

		if (!v)
			continue;
		f = open_memstream(&line[n].stack, &len);
		if (!f) {
			ret = kmi_error(KMI_ERR, "out of memory");
			goto out;
		}
		if (!st->nr_frames)
			fputs("[overflow]", f);
		for (uint32_t k = st->nr_frames; k-- > 0;) {
			struct kmi_frame fr;
			char name[600];

			kmi_symbolize(sym, st->frames[k], &fr);
			frame_folded(&fr, name, sizeof(name));
			fprintf(f, "%s%s", name, k ? ";" : "");
		}
		if (fclose(f)) {
			ret = kmi_error(KMI_ERR, "out of memory");
			goto out;
		}
		line[n].value = v;
		line[n++].rank = r;
	}
	qsort(line, n, sizeof(*line), cmp_folded_stack);
	for (unsigned int k = 0; k < n; k++) {
		if (m && !strcmp(line[m - 1].stack, line[k].stack)) {
			line[m - 1].value += line[k].value;
			free(line[k].stack);
			continue;
		}
		line[m++] = line[k];
	}
	n = m;
	qsort(line, n, sizeof(*line), cmp_folded_value);
	for (unsigned int k = 0; k < n; k++)
		printf("%s %" PRIu64 "\n", line[k].stack,
		       sort_key == SORT_OBJECTS ?
			       (line[k].value + KMEM_PROF_OBJS_SCALE / 2) /
				       KMEM_PROF_OBJS_SCALE :
			       line[k].value);
out:
	for (unsigned int k = 0; k < n; k++)
		free(line[k].stack);
	free(line);
	return ret;
}

/**
 * kmi_cmd_profile - "kmeminfo profile [-p PID] [--sort K] [--top N]
 * [--json | --folded]"
 * @argc: from the subcommand name on
 * @argv: likewise
 *
 * Return: a kmi_status.
 */
int kmi_cmd_profile(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "sort", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "folded", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kmem_stats_prof_stack **sites = NULL;
	struct kmi_symbolizer *sym = NULL;
	struct kmi_profile prof = { 0 };
	unsigned int top = 20, nr = 0;
	struct kmi_source src;
	bool json = false, folded = false;
	pid_t pid = 0;
	int c, ret;
	char *end;
	long n;

	sort_key = SORT_LIVE;
	while ((c = getopt_long(argc, argv, ":p:s:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!kmi_parse_pid(optarg, &pid))
				return kmi_error(KMI_USAGE,
						 "profile: '%s' is not a PID", optarg);
			break;
		case 's':
			if (!strcmp(optarg, "live"))
				sort_key = SORT_LIVE;
			else if (!strcmp(optarg, "total"))
				sort_key = SORT_TOTAL;
			else if (!strcmp(optarg, "objects"))
				sort_key = SORT_OBJECTS;
			else
				return kmi_error(KMI_USAGE,
						 "profile: unknown sort key '%s' (live, total or objects)",
						 optarg);
			break;
		case 'n':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 ||
			    n > 1000000)
				return kmi_error(KMI_USAGE,
						 "profile: bad --top '%s' (1 to 1000000)",
						 optarg);
			top = (unsigned int)n;
			break;
		case 'j':
			json = true;
			break;
		case 'F':
			folded = true;
			break;
		case 'h':
			return kmi_print_manual();
		default:
			return kmi_bad_option("profile", c, argv);
		}
	}
	if (optind < argc)
		return kmi_error(KMI_USAGE, "profile: unexpected argument '%s'",
				 argv[optind]);
	if (json && folded)
		return kmi_error(KMI_USAGE,
				 "profile: --json and --folded exclude each other");
	ret = kmi_source_open_default(&src, pid);
	if (ret)
		return ret;
	ret = kmi_profile_read(&src, &prof);
	if (ret)
		goto out;
	ret = kmi_symbolizer_open(src.pid, &sym);
	if (ret)
		goto out;
	sites = kmi_xcalloc(prof.nr + 1, sizeof(*sites));
	if (!sites) {
		ret = KMI_ERR;
		goto out;
	}
	for (uint32_t i = 0; i < prof.nr; i++)
		if (prof.stacks[i].total_samples)
			sites[nr++] = &prof.stacks[i];
	qsort(sites, nr, sizeof(*sites), cmp_sites);
	/* Symbols are read while the process lives: it must still. */
	ret = kmi_process_alive(&src);
	if (ret) {
		ret = kmi_error(ret, "PID %d exited while it was read",
				(int)src.pid);
		goto out;
	}
	if (json)
		print_json(&src, &prof, sites, nr, top, sym);
	else if (folded)
		ret = print_folded(sites, nr, top, sym);
	else
		print_text(&src, &prof, sites, nr, top, sym);
	if (fflush(stdout))
		ret = kmi_error(KMI_ERR, "writing the output: %s",
				strerror(errno));
out:
	free(sites);
	kmi_symbolizer_close(sym);
	kmi_profile_free(&prof);
	kmi_source_close(&src);
	return ret;
}
