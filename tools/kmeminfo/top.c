// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/top.c - "kmeminfo top": slabtop for a kmem process.
 *
 * The figures are derived exactly as procps' slabtop derives them from
 * /proc/slabinfo (its library/slabinfo.c), so that "kmeminfo top -o" and
 * "slabtop -o" reading our slabinfo print the same bytes:
 *
 *   cache size  = num_slabs * pagesperslab * page size
 *   use         = (unsigned)(100 * ((float)active_objs / num_objs)), 0 if
 *                 the cache has no objects
 *   active caches are those with objects; average object size is
 *   sum(num_objs * objsize) / sum(num_objs); the sums are unsigned int,
 *   as slabtop's.
 *
 * Rows are sorted stably (ties keep slabinfo order, newest cache first),
 * descending except by name.  The live view uses ncurses as slabtop
 * does: summary, a reversed heading line and as many rows as fit,
 * redrawn every -d seconds or at once after a key.  Ctrl-C, SIGTERM and
 * SIGHUP only set a flag (installed before ncurses starts, so that
 * ncurses leaves them to us); the loop then ends and endwin() gives the
 * terminal back.  The blank line under the summary names the process.
 */
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <ncurses.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmeminfo.h"

#define TOP_DEFAULT_DELAY 3.0

/* One row, as slabtop's struct slabs_node. */
struct top_row {
	char name[KMEM_STATS_NAME_LEN];
	unsigned long cache_size;
	unsigned int nr_objs;
	unsigned int nr_active_objs;
	unsigned int obj_size;
	unsigned int objs_per_slab;
	unsigned int pages_per_slab;
	unsigned int nr_slabs;
	unsigned int nr_active_slabs;
	unsigned int use;
};

/* slabtop's struct slabs_summ. */
struct top_summary {
	unsigned int nr_objs, nr_active_objs, nr_slabs, nr_active_slabs;
	unsigned int nr_caches, nr_active_caches;
	unsigned int avg_obj_size, min_obj_size, max_obj_size;
	unsigned long active_size, total_size;
};

static volatile sig_atomic_t top_stop;

static void top_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static bool sort_key_valid(int key)
{
	return key && strchr("abclvnopsu", key);
}

static void rows_fill(const struct kmi_snapshot *snap, struct top_row *rows,
		      struct top_summary *sum)
{
	unsigned long page_size = (unsigned long)sysconf(_SC_PAGESIZE);

	memset(sum, 0, sizeof(*sum));
	sum->min_obj_size = INT_MAX;
	for (unsigned int i = 0; i < snap->nr_live; i++) {
		const struct kmem_stats_cache *r =
			&snap->caches[snap->order[i]].rec;
		struct top_row *n = &rows[i];

		kmi_safe_name(n->name, r->name);
		n->nr_active_objs = (unsigned int)r->active_objs;
		n->nr_objs = (unsigned int)r->total_objs;
		n->obj_size = r->size;
		n->objs_per_slab = r->objs_per_slab;
		n->pages_per_slab = 1U << (r->order & 31);
		n->nr_active_slabs = (unsigned int)r->active_slabs;
		n->nr_slabs = (unsigned int)r->total_slabs;
		if (n->obj_size < sum->min_obj_size)
			sum->min_obj_size = n->obj_size;
		if (n->obj_size > sum->max_obj_size)
			sum->max_obj_size = n->obj_size;
		n->cache_size = (unsigned long)n->nr_slabs * n->pages_per_slab *
				page_size;
		if (n->nr_objs) {
			n->use = (unsigned int)(100 *
				((float)n->nr_active_objs / n->nr_objs));
			sum->nr_active_caches++;
		} else {
			n->use = 0;
		}
		sum->nr_objs += n->nr_objs;
		sum->nr_active_objs += n->nr_active_objs;
		sum->total_size += (unsigned long)n->nr_objs * n->obj_size;
		sum->active_size += (unsigned long)n->nr_active_objs *
				    n->obj_size;
		sum->nr_slabs += n->nr_slabs;
		sum->nr_active_slabs += n->nr_active_slabs;
		sum->nr_caches++;
	}
	if (sum->nr_objs)
		sum->avg_obj_size =
			(unsigned int)(sum->total_size / sum->nr_objs);
}

/* Compare two rows by @key: < 0 if @a comes first. */
static int row_cmp(const struct top_row *a, const struct top_row *b, int key)
{
	unsigned long x, y;

	switch (key) {
	case 'n':
		return strcoll(a->name, b->name);
	case 'a':
		x = a->nr_active_objs, y = b->nr_active_objs;
		break;
	case 'b':
		x = a->objs_per_slab, y = b->objs_per_slab;
		break;
	case 'c':
		x = a->cache_size, y = b->cache_size;
		break;
	case 'l':
		x = a->nr_slabs, y = b->nr_slabs;
		break;
	case 'v':
		x = a->nr_active_slabs, y = b->nr_active_slabs;
		break;
	case 'p':
		x = a->pages_per_slab, y = b->pages_per_slab;
		break;
	case 's':
		x = a->obj_size, y = b->obj_size;
		break;
	case 'u':
		x = a->use, y = b->use;
		break;
	default:	/* 'o' */
		x = a->nr_objs, y = b->nr_objs;
		break;
	}
	return x > y ? -1 : x < y;
}

/* Stable merge sort of the row indices. */
static void rows_sort(const struct top_row *rows, unsigned int *idx,
		      unsigned int *tmp, unsigned int n, int key)
{
	for (unsigned int w = 1; w < n; w *= 2) {
		for (unsigned int lo = 0; lo < n; lo += 2 * w) {
			unsigned int mid = lo + w < n ? lo + w : n;
			unsigned int hi = lo + 2 * w < n ? lo + 2 * w : n;
			unsigned int i = lo, j = mid, k = lo;

			/* Take from the right only if strictly first. */
			while (i < mid && j < hi) {
				const struct top_row *a = &rows[idx[j]];

				if (row_cmp(a, &rows[idx[i]], key) < 0)
					tmp[k++] = idx[j++];
				else
					tmp[k++] = idx[i++];
			}
			while (i < mid)
				tmp[k++] = idx[i++];
			while (j < hi)
				tmp[k++] = idx[j++];
		}
		memcpy(idx, tmp, n * sizeof(*idx));
	}
}

/* The five summary lines and the blank one, as slabtop prints them. */
static int summary_lines(const struct top_summary *s, char lines[5][160])
{
	snprintf(lines[0], 160, " %-35s: %u / %u (%.1f%%)",
		 "Active / Total Objects (% used)", s->nr_active_objs,
		 s->nr_objs, 100.0 * s->nr_active_objs / s->nr_objs);
	snprintf(lines[1], 160, " %-35s: %u / %u (%.1f%%)",
		 "Active / Total Slabs (% used)", s->nr_active_slabs,
		 s->nr_slabs, 100.0 * s->nr_active_slabs / s->nr_slabs);
	snprintf(lines[2], 160, " %-35s: %u / %u (%.1f%%)",
		 "Active / Total Caches (% used)", s->nr_active_caches,
		 s->nr_caches, 100.0 * s->nr_active_caches / s->nr_caches);
	snprintf(lines[3], 160, " %-35s: %.2fK / %.2fK (%.1f%%)",
		 "Active / Total Size (% used)", s->active_size / 1024.0,
		 s->total_size / 1024.0,
		 100.0 * s->active_size / s->total_size);
	snprintf(lines[4], 160, " %-35s: %.2fK / %.2fK / %.2fK",
		 "Minimum / Average / Maximum Object", s->min_obj_size / 1024.0,
		 s->avg_obj_size / 1024.0, s->max_obj_size / 1024.0);
	return 5;
}

static const char top_heading[] =
	"  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME";

static void row_line(const struct top_row *n, char *buf, size_t len)
{
	snprintf(buf, len, "%6u %6u %3u%% %7.2fK %6u %8u %9luK %-23s",
		 n->nr_objs, n->nr_active_objs, n->use, n->obj_size / 1024.0,
		 n->nr_slabs, n->objs_per_slab, n->cache_size / 1024, n->name);
}

struct top_view {
	struct top_row *rows;
	unsigned int *idx, *tmp;
	unsigned int cap;
	struct top_summary sum;
	unsigned int n;
};

static int view_build(struct top_view *v, const struct kmi_snapshot *snap,
		      int key)
{
	if (snap->nr_live > v->cap) {
		free(v->rows);
		free(v->idx);
		free(v->tmp);
		v->cap = snap->nr_live;
		v->rows = kmi_xcalloc(v->cap, sizeof(*v->rows));
		v->idx = kmi_xcalloc(v->cap, sizeof(*v->idx));
		v->tmp = kmi_xcalloc(v->cap, sizeof(*v->tmp));
		if (!v->rows || !v->idx || !v->tmp)
			return KMI_ERR;
	}
	v->n = snap->nr_live;
	rows_fill(snap, v->rows, &v->sum);
	for (unsigned int i = 0; i < v->n; i++)
		v->idx[i] = i;
	rows_sort(v->rows, v->idx, v->tmp, v->n, key);
	return KMI_OK;
}

static void view_free(struct top_view *v)
{
	free(v->rows);
	free(v->idx);
	free(v->tmp);
}

/* "kmeminfo top -o": slabtop -o's output. */
static int top_once(struct kmi_source *src, int key)
{
	struct top_view v = { 0 };
	struct kmi_snapshot snap;
	char lines[5][160], buf[256];
	int ret;

	ret = kmi_snapshot_take(src, &snap);
	if (!ret)
		ret = view_build(&v, &snap, key);
	if (!ret) {
		summary_lines(&v.sum, lines);
		for (int i = 0; i < 5; i++)
			printf("%s\n", lines[i]);
		printf("\n%-78s\n", top_heading);
		for (unsigned int i = 0; i < v.n; i++) {
			row_line(&v.rows[v.idx[i]], buf, sizeof(buf));
			printf("%s\n", buf);
		}
		if (fflush(stdout))
			ret = kmi_error(KMI_ERR, "writing the output: %m");
	}
	view_free(&v);
	kmi_snapshot_free(&snap);
	return ret;
}

static void human(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGT";
	double v = (double)bytes / 1024;
	int u = 0;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", v, units[u]);
}

static void draw(const struct top_view *v, const struct kmi_source *src,
		 const struct kmi_snapshot *snap, int key)
{
	const struct kmem_stats_header *h = &snap->hdr;
	char lines[5][160], buf[256], m[16], r[16], t[16], pk[16];
	unsigned int threads = 0;
	int rows = LINES, y;

	for (unsigned int i = 0; i < snap->nr_threads; i++)
		threads += !snap->threads[i].orphan && !snap->threads[i].cpu;
	erase();
	summary_lines(&v->sum, lines);
	for (y = 0; y < 5; y++)
		mvaddnstr(y, 0, lines[y], COLS);
	human(m, sizeof(m), h->mapped);
	human(r, sizeof(r),
	      h->mapped > h->retained ? h->mapped - h->retained : 0);
	human(t, sizeof(t), h->retained);
	human(pk, sizeof(pk), h->peak_used + h->peak_huge_mapped);
	snprintf(buf, sizeof(buf),
		 " PID %d (%s), %u thread%s, magazines %s: mapped %s, resident %s, retained %s, peak used %s; sort %c",
		 (int)src->pid, src->comm, threads, threads == 1 ? "" : "s",
		 kmi_magazine_mode(h) ? kmi_magazine_mode(h) : "?",
		 m, r, t, pk, key);
	attron(A_DIM);
	mvaddnstr(5, 0, buf, COLS);
	attroff(A_DIM);
	snprintf(buf, sizeof(buf), "%-78s", top_heading);
	attron(A_REVERSE);
	mvaddnstr(6, 0, buf, COLS);
	attroff(A_REVERSE);
	for (unsigned int i = 0; (int)i < rows - 8 && i < v->n; i++) {
		row_line(&v->rows[v->idx[i]], buf, sizeof(buf));
		mvaddnstr(7 + (int)i, 0, buf, COLS);
	}
	refresh();
}

static int top_live(struct kmi_source *src, double delay, int key)
{
	struct top_view v = { 0 };
	struct sigaction sa;
	SCREEN *scr;
	int ret = KMI_OK;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return kmi_error(KMI_ERR,
				 "top: needs a terminal (use -o for one snapshot)");
	/* Ours before ncurses starts, so that it leaves them alone. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return kmi_error(KMI_ERR, "top: cannot use the terminal (TERM=%s)",
				 getenv("TERM") ? getenv("TERM") : "");
	kmi_error_defer(true);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	while (!top_stop) {
		struct kmi_snapshot snap;
		int ch;

		ret = kmi_snapshot_take(src, &snap);
		if (ret) {
			/* Its message waits until the screen is given back. */
			kmi_snapshot_free(&snap);
			break;
		}
		ret = view_build(&v, &snap, key);
		if (!ret)
			draw(&v, src, &snap, key);
		kmi_snapshot_free(&snap);
		if (ret)
			break;
		timeout((int)(delay * 1000));
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			break;
		if (ch != ERR && ch != KEY_RESIZE && ch < 256) {
			/* As slabtop: a key that is no sort key resets it. */
			key = sort_key_valid(ch) ? ch : 'o';
		}
	}
	endwin();
	delscreen(scr);
	kmi_error_defer(false);
	view_free(&v);
	return ret;
}

/**
 * kmi_cmd_top - "kmeminfo top [-p PID] [-d SECONDS] [-o] [-s KEY]"
 * @argc: from the subcommand name on
 * @argv: likewise
 *
 * Return: a kmi_status (0 after q or Ctrl-C).
 */
int kmi_cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, 'o' },
		{ "sort", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	double delay = TOP_DEFAULT_DELAY;
	bool once = false, has_delay = false;
	struct kmi_source src;
	int c, key = 'o', ret;
	pid_t pid = 0;

	while ((c = getopt_long(argc, argv, ":p:d:os:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!kmi_parse_pid(optarg, &pid))
				return kmi_error(KMI_USAGE,
						 "top: '%s' is not a PID", optarg);
			break;
		case 'd':
			if (!kmi_parse_seconds(optarg, &delay))
				return kmi_error(KMI_USAGE,
						 "top: bad delay '%s' (seconds, more than 0)",
						 optarg);
			has_delay = true;
			break;
		case 'o':
			once = true;
			break;
		case 's':
			if (strlen(optarg) != 1 || !sort_key_valid(optarg[0]))
				return kmi_error(KMI_USAGE,
						 "top: unknown sort key '%s' (one of a b c l v n o p s u)",
						 optarg);
			key = optarg[0];
			break;
		case 'h':
			return kmi_print_manual();
		default:
			return kmi_bad_option("top", c, argv);
		}
	}
	if (optind < argc)
		return kmi_error(KMI_USAGE, "top: unexpected argument '%s'",
				 argv[optind]);
	if (once && has_delay)
		return kmi_error(KMI_USAGE, "top: -d and -o cannot be combined");
	setlocale(LC_ALL, "");
	ret = kmi_source_open_default(&src, pid);
	if (ret)
		return ret;
	ret = once ? top_once(&src, key) : top_live(&src, delay, key);
	kmi_source_close(&src);
	return ret;
}
