// SPDX-License-Identifier: MIT
/*
 * tools/kmeminfo/watch.c - "kmeminfo watch": find caches that only grow.
 *
 * Samples the process every interval (on an absolute CLOCK_MONOTONIC
 * schedule, so slow readings do not stretch the window) and keeps, per
 * cache name, the objects the program holds (inuse_objs: active objects
 * less those cached in magazines and the depot, which come and go with
 * the allocator's own batching and would hide a leak's slope).
 *
 * Per cache, over the samples where it exists:
 *
 *   slope  least-squares fit y = a + b t, b in objects per minute;
 *   r2     the fit's coefficient of determination;
 *   GROWING  b > 0, r2 >= 0.8, and first < middle < last sample: it grew
 *          over both halves of the window, steadily enough that a line
 *          explains it.  One step (a cache warming up once) has r2 of at
 *          most 0.75 and is not flagged; noise around a level is not.
 *          kmem's own magazine caches (kmem_magazine_N) are never
 *          flagged: their objects are the allocator's caching, which
 *          grows with the program's working set, not objects the program
 *          holds.
 *
 * Ctrl-C ends sampling early and reports what was gathered.  A process
 * that exits ends it too: the report is printed for the samples taken,
 * then the error, with its exit status.
 *
 * --sites: the same for the call sites of the sampled profile
 * (kmeminfo profile): per site, its estimated live bytes, fitted and
 * flagged by the same rule; the report names each site by its innermost
 * frames.  Sites that appear during the window count from their first
 * sample.  This is the per-site form of the leak test: live bytes
 * regressed against time.
 *
 * --plot draws the growing caches' series as an SVG line chart (one
 * colour per cache, its fitted line dashed, a legend); the file is opened
 * before the first sample, so that a path that cannot be written is
 * refused at once, not after the sampling.  --json gives the series and
 * the fits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kmeminfo.h"

#define WATCH_MIN_SAMPLES	3
#define WATCH_MAX_SAMPLES	1000000
#define WATCH_R2_MIN		0.8
#define ARRAY_LEN(a)		(sizeof(a) / sizeof((a)[0]))

/* One cache's samples; NAN where it did not exist. */
struct series {
	char name[KMEM_STATS_NAME_LEN];
	int site;		/* --sites: the stack record, else -1 */
	uint64_t frames[KMEM_PROF_FRAMES];
	uint32_t nr_frames;
	double *y;
	/* The fit, over the samples present. */
	unsigned int present;
	double first, mid, last, min, max;
	double slope;		/* objects per minute */
	double intercept;	/* objects at t = 0 */
	double r2;		/* NAN if the series is flat */
	bool growing;
};

struct watch {
	struct kmi_source src;
	double interval;
	unsigned int max_samples;
	unsigned int nr_samples;
	double *t;		/* seconds since the first sample */
	struct series *s;
	unsigned int nr_series, cap_series;
	bool sites;		/* --sites */
};

static volatile sig_atomic_t watch_stop;

static void watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static struct series *series_get(struct watch *w, const char *name)
{
	struct series *s;

	for (unsigned int i = 0; i < w->nr_series; i++)
		if (!strcmp(w->s[i].name, name))
			return &w->s[i];
	if (w->nr_series == w->cap_series) {
		unsigned int cap = w->cap_series ? 2 * w->cap_series : 32;
		struct series *more = realloc(w->s, cap * sizeof(*more));

		if (!more)
			return NULL;
		w->s = more;
		w->cap_series = cap;
	}
	s = &w->s[w->nr_series];
	memset(s, 0, sizeof(*s));
	s->site = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->y = malloc(w->max_samples * sizeof(*s->y));
	if (!s->y)
		return NULL;
	for (unsigned int i = 0; i < w->max_samples; i++)
		s->y[i] = NAN;
	w->nr_series++;
	return s;
}

/* --sites: each call site's estimated live bytes. */
static int record_sites(struct watch *w, unsigned int k)
{
	struct kmi_profile prof;
	int ret = kmi_profile_read(&w->src, &prof);

	if (ret)
		return ret;
	for (uint32_t i = 0; i < prof.nr; i++) {
		const struct kmem_stats_prof_stack *st = &prof.stacks[i];
		char name[KMEM_STATS_NAME_LEN];
		struct series *s;

		if (!st->total_samples)
			continue;
		snprintf(name, sizeof(name), "site %u", i);
		s = series_get(w, name);
		if (!s) {
			kmi_profile_free(&prof);
			return kmi_error(KMI_ERR, "out of memory");
		}
		s->site = (int)i;
		s->nr_frames = st->nr_frames;
		memcpy(s->frames, st->frames, sizeof(s->frames));
		s->y[k] = (double)st->live_est_bytes;
	}
	kmi_profile_free(&prof);
	w->nr_samples++;
	return KMI_OK;
}

static int record_sample(struct watch *w, const struct kmi_snapshot *snap,
			 double t0)
{
	unsigned int k = w->nr_samples;

	w->t[k] = snap->when - t0;
	if (w->sites)
		return record_sites(w, k);
	for (unsigned int i = 0; i < snap->nr_live; i++) {
		const struct kmi_cache *c = &snap->caches[snap->order[i]];
		struct series *s = series_get(w, c->rec.name);

		if (!s)
			return kmi_error(KMI_ERR, "out of memory");
		s->y[k] = (double)c->inuse_objs;
	}
	w->nr_samples++;
	return KMI_OK;
}

/* A cache of kmem's own magazines (slab/magazine.c names them so). */
static bool kmem_internal(const char *name)
{
	return !strncmp(name, "kmem_magazine_", strlen("kmem_magazine_"));
}

static void fit(struct series *s, const double *t, unsigned int n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, mx, my;
	unsigned int k = 0, seen = 0, mid;

	s->min = INFINITY;
	s->max = -INFINITY;
	for (unsigned int i = 0; i < n; i++) {
		if (isnan(s->y[i]))
			continue;
		k++;
		sx += t[i] / 60;
		sy += s->y[i];
		s->min = fmin(s->min, s->y[i]);
		s->max = fmax(s->max, s->y[i]);
	}
	s->present = k;
	s->slope = 0;
	s->r2 = NAN;
	s->growing = false;
	if (!k)
		return;
	mx = sx / k;
	my = sy / k;
	mid = k / 2;
	for (unsigned int i = 0; i < n; i++) {
		double dx, dy;

		if (isnan(s->y[i]))
			continue;
		if (!seen)
			s->first = s->y[i];
		if (seen == mid)
			s->mid = s->y[i];
		s->last = s->y[i];
		seen++;
		dx = t[i] / 60 - mx;
		dy = s->y[i] - my;
		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	if (sxx > 0)
		s->slope = sxy / sxx;
	s->intercept = my - s->slope * mx;
	if (sxx > 0 && syy > 0)
		s->r2 = sxy * sxy / (sxx * syy);
	s->growing = k >= WATCH_MIN_SAMPLES && s->slope > 0 &&
		     s->r2 >= WATCH_R2_MIN && s->first < s->mid &&
		     s->mid < s->last && !kmem_internal(s->name);
}

static int cmp_report(const void *a, const void *b)
{
	const struct series *x = a, *y = b;

	if (x->growing != y->growing)
		return x->growing ? -1 : 1;
	if (x->slope != y->slope)
		return x->slope > y->slope ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void report_text(const struct watch *w)
{
	double span = w->nr_samples ? w->t[w->nr_samples - 1] : 0;

	printf("kmeminfo watch: PID %d (%s), %u samples over %.2f s (every %.2f s)\n",
	       (int)w->src.pid, w->src.comm, w->nr_samples, span, w->interval);
	printf("%-24s %10s %10s %10s %10s %12s %6s  %s\n",
	       w->sites ? "site (live bytes)" : "cache", "first", "last",
	       "min", "max", w->sites ? "bytes/min" : "objs/min", "r2",
	       "trend");
	for (unsigned int i = 0; i < w->nr_series; i++) {
		const struct series *s = &w->s[i];
		char r2[16], name[KMEM_STATS_NAME_LEN];

		if (s->site >= 0)	/* symbols: print them as they are */
			snprintf(name, sizeof(name), "%s", s->name);
		else
			kmi_safe_name(name, s->name);
		if (isnan(s->r2))
			snprintf(r2, sizeof(r2), "-");
		else
			snprintf(r2, sizeof(r2), "%.3f", s->r2);
		printf("%-24s %10.0f %10.0f %10.0f %10.0f %12.1f %6s  %s%s\n",
		       name, s->first, s->last, s->min, s->max, s->slope, r2,
		       s->growing ? "GROWING" :
				    kmem_internal(s->name) ? "(kmem)" : "-",
		       s->present < w->nr_samples ? " (partial)" : "");
	}
}

static void report_json(const struct watch *w)
{
	struct kmi_json j;

	json_open(&j, stdout);
	json_begin(&j, NULL, '{');
	json_begin(&j, "process", '{');
	json_i64(&j, "pid", w->src.pid);
	json_str(&j, "command", w->src.comm);
	json_end(&j, '}');
	json_dbl(&j, "interval", w->interval);
	json_u64(&j, "samples", w->nr_samples);
	json_str(&j, "measure", w->sites ? "live_bytes" : "inuse_objs");
	json_begin(&j, "times", '[');
	for (unsigned int i = 0; i < w->nr_samples; i++)
		json_dbl(&j, NULL, w->t[i]);
	json_end(&j, ']');
	json_begin(&j, w->sites ? "sites" : "caches", '[');
	for (unsigned int i = 0; i < w->nr_series; i++) {
		const struct series *s = &w->s[i];

		json_begin(&j, NULL, '{');
		json_str(&j, "name", s->name);
		if (s->site >= 0) {
			json_u64(&j, "site", (uint64_t)s->site);
			json_begin(&j, "frames", '[');
			for (uint32_t f = 0; f < s->nr_frames; f++) {
				char addr[24];

				snprintf(addr, sizeof(addr), "0x%llx",
					 (unsigned long long)s->frames[f]);
				json_str(&j, NULL, addr);
			}
			json_end(&j, ']');
		}
		json_dbl(&j, "first", s->first);
		json_dbl(&j, "last", s->last);
		json_dbl(&j, "min", s->min);
		json_dbl(&j, "max", s->max);
		json_dbl(&j, "slope_per_min", s->slope);
		json_dbl(&j, "r2", s->r2);
		json_bool(&j, "growing", s->growing);
		json_begin(&j, "values", '[');
		for (unsigned int k = 0; k < w->nr_samples; k++)
			json_dbl(&j, NULL, s->y[k]);	/* null if absent */
		json_end(&j, ']');
		json_end(&j, '}');
	}
	json_end(&j, ']');
	json_end(&j, '}');
	json_close(&j);
}

/* ---- SVG ----------------------------------------------------------------- */

#define SVG_PLOT_W	640	/* the plot area */
#define SVG_H		540
#define SVG_LEFT	90
#define SVG_TOP		50
#define SVG_BOTTOM	60
#define SVG_CHAR_W	7.5	/* a 12px sans-serif character, about */

static const char *const palette[] = {
	"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
	"#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
};

static void svg_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc((unsigned char)*s >= 0x20 &&
				      (unsigned char)*s < 0x7f ? *s : '?', f);
		}
	}
}

/* A step of 1, 2 or 5 times a power of ten, giving about @n ticks. */
static double nice_step(double range, int n)
{
	double raw = range / n, p, m;

	if (!(raw > 0))
		return 1;
	p = pow(10, floor(log10(raw)));
	m = raw / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/*
 * The --plot file is opened before sampling starts, so that an unwritable
 * path is refused at once rather than after an hour of sampling; it is
 * truncated only when the chart is written (an existing file is left as
 * it was if there is nothing to draw, and a file made for nothing is
 * removed).
 */
struct plot_file {
	const char *path;
	int fd;
	bool created;
};

static int plot_open(struct plot_file *pf, const char *path)
{
	struct stat st;

	pf->path = path;
	pf->created = stat(path, &st) != 0;
	pf->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
	if (pf->fd < 0)
		return kmi_error(KMI_ERR, "watch: cannot write %s: %s", path,
				 strerror(errno));
	return KMI_OK;
}

/* Nothing was drawn: close, and remove the file if it is ours. */
static void plot_abandon(struct plot_file *pf)
{
	if (pf->fd < 0)
		return;
	close(pf->fd);
	if (pf->created)
		unlink(pf->path);
	pf->fd = -1;
}

static int write_svg(const struct watch *w, struct plot_file *pf)
{
	double pw = SVG_PLOT_W, ph = SVG_H - SVG_TOP - SVG_BOTTOM;
	double tmax = w->nr_samples ? w->t[w->nr_samples - 1] : 1;
	double ymin = INFINITY, ymax = -INFINITY, ystep, tstep;
	unsigned int nr = 0, colour = 0, width;
	size_t label = 24;	/* the title's share of the right margin */
	const char *path = pf->path;
	FILE *f;

	if (ftruncate(pf->fd, 0) || !(f = fdopen(pf->fd, "w")))
		return kmi_error(KMI_ERR, "watch: cannot write %s: %s", path,
				 strerror(errno));
	pf->fd = -1;		/* the stream owns it now */
	for (unsigned int i = 0; i < w->nr_series; i++) {
		if (!w->s[i].growing)
			continue;
		nr++;
		ymin = fmin(ymin, w->s[i].min);
		ymax = fmax(ymax, w->s[i].max);
		/* "name (+N/min)" */
		if (strlen(w->s[i].name) + 16 > label)
			label = strlen(w->s[i].name) + 16;
	}
	/* Room on the right for the legend's longest label. */
	width = (unsigned int)(SVG_LEFT + pw + 50 + label * SVG_CHAR_W);
	if (!nr) {
		ymin = 0;
		ymax = 1;
	}
	if (tmax <= 0)
		tmax = 1;
	ystep = nice_step(ymax - ymin > 0 ? ymax - ymin : 1, 6);
	ymin = floor(ymin / ystep) * ystep;
	ymax = ceil(ymax / ystep) * ystep;
	if (ymax <= ymin)
		ymax = ymin + ystep;
	tstep = nice_step(tmax, 8);
#define X(t) (SVG_LEFT + (t) / tmax * pw)
#define Y(v) (SVG_TOP + ph - ((v) - ymin) / (ymax - ymin) * ph)
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%d\" "
		"viewBox=\"0 0 %u %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
		width, SVG_H, width, SVG_H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\">kmeminfo watch: PID %d (",
		SVG_LEFT, (int)w->src.pid);
	svg_text(f, w->src.comm);
	fprintf(f, "), objects held per growing cache</text>\n");
	/* Grid and ticks. */
	for (double v = ymin; v <= ymax + ystep / 2; v += ystep) {
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			SVG_LEFT, Y(v), SVG_LEFT + pw, Y(v));
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
			SVG_LEFT - 6, Y(v) + 4, v);
	}
	for (double t = 0; t <= tmax + tstep / 1e6; t += tstep) {
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			X(t), SVG_TOP, X(t), SVG_TOP + ph);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
			X(t), SVG_TOP + ph + 18, t);
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
		SVG_LEFT, SVG_TOP, pw, ph);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">seconds</text>\n",
		SVG_LEFT + pw / 2, SVG_H - 15);
	fprintf(f, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.1f)\">objects held</text>\n",
		SVG_TOP + ph / 2, SVG_TOP + ph / 2);
	if (!nr)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"16\">no cache grew steadily</text>\n",
			SVG_LEFT + pw / 2, SVG_TOP + ph / 2);
	/* One polyline per growing cache, its fit dashed, a legend entry. */
	for (unsigned int i = 0; i < w->nr_series; i++) {
		const struct series *s = &w->s[i];
		const char *c = palette[colour % ARRAY_LEN(palette)];
		double ly = SVG_TOP + 10 + 20 * colour;

		if (!s->growing)
			continue;
		fprintf(f, "<g>\n<title>");
		svg_text(f, s->name);
		fprintf(f, ": %.1f objects/min</title>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			s->slope, c);
		for (unsigned int k = 0; k < w->nr_samples; k++)
			if (!isnan(s->y[k]))
				fprintf(f, "%.1f,%.1f ", X(w->t[k]), Y(s->y[k]));
		fprintf(f, "\"/>\n");
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"5,4\"/>\n",
			X(0.0), Y(s->intercept), X(tmax),
			Y(s->intercept + s->slope * tmax / 60), c);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
			SVG_LEFT + pw + 15, ly, SVG_LEFT + pw + 35, ly, c);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", SVG_LEFT + pw + 40, ly + 4);
		svg_text(f, s->name);
		fprintf(f, " (%+.0f/min)</text>\n</g>\n", s->slope);
		colour++;
	}
#undef X
#undef Y
	fprintf(f, "</svg>\n");
	if (ferror(f) | fclose(f))
		return kmi_error(KMI_ERR, "watch: cannot write %s: %s", path,
				 strerror(errno));
	return KMI_OK;
}

/* ---- sampling ------------------------------------------------------------ */

static void sleep_until(const struct timespec *when)
{
	while (!watch_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					      when, NULL) == EINTR)
		;
}

static void timespec_add(struct timespec *ts, double sec)
{
	long long ns = ts->tv_nsec + (long long)(sec * 1e9);

	ts->tv_sec += ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

static int sample(struct watch *w)
{
	struct timespec next;
	double t0 = 0;
	int ret = KMI_OK;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned int k = 0; k < w->max_samples && !watch_stop; k++) {
		struct kmi_snapshot snap;

		ret = kmi_snapshot_take(&w->src, &snap);
		if (ret) {
			kmi_snapshot_free(&snap);
			break;
		}
		if (!k)
			t0 = snap.when;
		ret = record_sample(w, &snap, t0);
		kmi_snapshot_free(&snap);
		if (ret)
			break;
		if (k + 1 < w->max_samples) {
			timespec_add(&next, w->interval);
			sleep_until(&next);
		}
	}
	return ret;
}

/*
 * --sites: "#N function (file.c:LINE)" from the innermost frame, or
 * "#N function+0xOFF" without line information (the process may have
 * gone: then its address).
 */
static void name_sites(struct watch *w)
{
	struct kmi_symbolizer *sym = NULL;

	if (kmi_process_alive(&w->src) || kmi_symbolizer_open(w->src.pid, &sym))
		sym = NULL;	/* addresses (a message said why) */
	for (unsigned int i = 0; i < w->nr_series; i++) {
		struct series *s = &w->s[i];
		char name[sizeof(struct kmi_frame)];
		struct kmi_frame fr;
		const char *file;

		if (s->site < 0)
			continue;
		if (!s->nr_frames) {
			snprintf(s->name, sizeof(s->name), "#%d [overflow]",
				 s->site);
			continue;
		}
		kmi_symbolize(sym, s->frames[0], &fr);
		file = strrchr(fr.file, '/');
		file = file ? file + 1 : fr.file;
		if (fr.function[0] && fr.file[0])
			snprintf(name, sizeof(name), "#%d %s (%s:%d)", s->site,
				 fr.function, file, fr.line);
		else if (fr.function[0])
			snprintf(name, sizeof(name), "#%d %s+0x%llx", s->site,
				 fr.function, (unsigned long long)fr.offset);
		else
			snprintf(name, sizeof(name), "#%d 0x%llx", s->site,
				 (unsigned long long)fr.pc);
		snprintf(s->name, sizeof(s->name), "%.*s",
			 (int)sizeof(s->name) - 1, name);
	}
	kmi_symbolizer_close(sym);
}

/**
 * kmi_cmd_watch - "kmeminfo watch -p PID [-i S] [-n N] [--sites]
 * [--plot F] [--json]"
 * @argc: from the subcommand name on
 * @argv: likewise
 *
 * Return: a kmi_status.
 */
int kmi_cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "samples", required_argument, NULL, 'n' },
		{ "plot", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "sites", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct watch w = { .interval = 1.0, .max_samples = 10 };
	struct plot_file pf = { .fd = -1 };
	const char *plot = NULL;
	struct sigaction sa;
	bool json = false;
	int c, ret, sret;
	pid_t pid = 0;
	char *end;
	long n;

	while ((c = getopt_long(argc, argv, ":p:i:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!kmi_parse_pid(optarg, &pid))
				return kmi_error(KMI_USAGE,
						 "watch: '%s' is not a PID", optarg);
			break;
		case 'i':
			if (!kmi_parse_seconds(optarg, &w.interval))
				return kmi_error(KMI_USAGE,
						 "watch: bad interval '%s' (seconds, more than 0)",
						 optarg);
			break;
		case 'n':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end ||
			    n < WATCH_MIN_SAMPLES || n > WATCH_MAX_SAMPLES)
				return kmi_error(KMI_USAGE,
						 "watch: bad sample count '%s' (%d to %d)",
						 optarg, WATCH_MIN_SAMPLES,
						 WATCH_MAX_SAMPLES);
			w.max_samples = (unsigned int)n;
			break;
		case 'P':
			plot = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'S':
			w.sites = true;
			break;
		case 'h':
			return kmi_print_manual();
		default:
			return kmi_bad_option("watch", c, argv);
		}
	}
	if (optind < argc)
		return kmi_error(KMI_USAGE, "watch: unexpected argument '%s'",
				 argv[optind]);
	if (!pid)
		return kmi_error(KMI_USAGE, "watch: -p PID is required");
	ret = kmi_source_open_pid(&w.src, pid);
	if (ret)
		return ret;
	if (w.sites) {
		struct kmi_profile prof;

		ret = kmi_profile_read(&w.src, &prof);	/* profiling on? */
		kmi_profile_free(&prof);
		if (ret) {
			kmi_source_close(&w.src);
			return ret;
		}
	}
	if (plot) {
		ret = plot_open(&pf, plot);
		if (ret) {
			kmi_source_close(&w.src);
			return ret;
		}
	}
	w.t = kmi_xcalloc(w.max_samples, sizeof(*w.t));
	if (!w.t) {
		plot_abandon(&pf);
		kmi_source_close(&w.src);
		return KMI_ERR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sret = sample(&w);
	ret = sret;
	if (w.sites)
		name_sites(&w);
	if (w.nr_samples >= WATCH_MIN_SAMPLES) {
		for (unsigned int i = 0; i < w.nr_series; i++)
			fit(&w.s[i], w.t, w.nr_samples);
		qsort(w.s, w.nr_series, sizeof(*w.s), cmp_report);
		if (json)
			report_json(&w);
		else
			report_text(&w);
		if (fflush(stdout) && !ret)
			ret = kmi_error(KMI_ERR, "writing the output: %s",
					strerror(errno));
		if (plot) {
			int pret = write_svg(&w, &pf);

			if (!ret)
				ret = pret;
		}
	} else if (!sret) {
		ret = kmi_error(KMI_ERR,
				"watch: interrupted after %u sample%s; at least %d are needed",
				w.nr_samples, w.nr_samples == 1 ? "" : "s",
				WATCH_MIN_SAMPLES);
	}
	plot_abandon(&pf);
	for (unsigned int i = 0; i < w.nr_series; i++)
		free(w.s[i].y);
	free(w.s);
	free(w.t);
	kmi_source_close(&w.src);
	return ret;
}
