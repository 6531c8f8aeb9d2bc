/* agent/summary_md.c: the summary model as Markdown (CommonMark with GFM
 * tables): conclusion, overview, housekeeping, failures, the remediation
 * plan, resolved findings and compact trend tables. Every string from a
 * record goes through md_text, so a hostile name cannot break a table or
 * smuggle in HTML. */
#include "summary.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Writes s as inline Markdown text: one line (control characters become
 * spaces, C1 controls too), every character CommonMark or GFM tables give
 * a meaning backslash-escaped. An underscore between two word characters
 * is inert in CommonMark and stays bare, so tmp_import_1 stays readable. */
static void md_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (size_t i = 0; p[i] != '\0'; i++) {
		unsigned char c = p[i];

		if (c < 0x20 || c == 0x7f) {
			fputc(' ', f);
		} else if (c == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] < 0xa0) {
			fputc(' ', f);
			i++;
		} else if (c == '_') {
			if (i == 0 || !word_byte(p[i - 1]) ||
			    !word_byte(p[i + 1]))
				fputc('\\', f);
			fputc('_', f);
		} else {
			if (strchr("\\`*{}[]<>#!|~&", c) != NULL)
				fputc('\\', f);
			fputc(c, f);
		}
	}
}

static void h_row(FILE *f, const char *const *cells, size_t n,
                  const char *align)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "| %s ", cells[i]);
	fputs("|\n", f);
	for (size_t i = 0; i < n; i++)
		fputs(align[i] == 'r' ? "|---:" : "|---", f);
	fputs("|\n", f);
}

static const char *bytes(int64_t v, char *buf, size_t len)
{
	return dbk_fmt_bytes(v, buf, len);
}

static void header(FILE *f, const struct dbk_summary *s)
{
	char a[32], b[32], g[32];

	fputs("# dbkeeper operations summary: ", f);
	md_text(f, s->period.label);
	fprintf(f, "\n\nPeriod %s to %s (local time)",
	        dbk_sum_fmt_time(s->period.from_ms, true, a, sizeof a),
	        dbk_sum_fmt_time(s->period.to_ms, true, b, sizeof b));
	if (s->target_filter != NULL) {
		fputs(", target ", f);
		md_text(f, s->target_filter);
	}
	fputs(", queue ", f);
	md_text(f, s->queue);
	fprintf(f, ", generated %s.\n\n",
	        dbk_sum_fmt_time(s->generated_ms, true, g, sizeof g));
	fprintf(f, "## Conclusion: %s\n\n", dbk_sum_verdict_title(s->verdict));
	for (size_t i = 0; i < s->n_reasons; i++) {
		fputs("- ", f);
		md_text(f, s->reasons[i]);
		fputc('\n', f);
	}
	fputc('\n', f);
}

static void engine(FILE *f, const struct dbk_sum_target *t)
{
	if (t->flavour == NULL) {
		fputs("unknown", f);
		return;
	}
	md_text(f, t->flavour);
	if (t->version != NULL) {
		fputc(' ', f);
		md_text(f, t->version);
	}
}

static void overview(FILE *f, const struct dbk_summary *s)
{
	static const char *const head[] = {
	        "Target",
	        "Engine",
	        "Size at start",
	        "Size at end",
	        "Change",
	        "Cycles",
	        "Finished",
	        "Failed",
	        "Busy",
	        "Over budget",
	        "Open findings (crit/warn/info)",
	};
	char a[32], b[32], c[32];

	fputs("## Overview\n\n", f);
	if (s->n_targets == 0) {
		fputs("No target reported in this period.\n\n", f);
		return;
	}
	h_row(f, head, DBK_NELEM(head), "llrrrrrrrrr");
	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dbk_sum_target *t = &s->targets[i];
		const struct dbk_sum_cycles *cy = &t->cycles;
		bool sized = t->size_start >= 0 && t->size_end >= 0;

		fputs("| ", f);
		md_text(f, t->name);
		fputs(" | ", f);
		engine(f, t);
		fprintf(f,
		        " | %s | %s | %s | %u | %u | %u | %u | %u"
		        " | %u/%u/%u |\n",
		        sized ? bytes(t->size_start, a, sizeof a) : "-",
		        sized ? bytes(t->size_end, b, sizeof b) : "-",
		        sized ? dbk_sum_fmt_delta_bytes(t->size_end -
		                                                t->size_start,
		                                        c, sizeof c)
		              : "-",
		        cy->runs, cy->finished, cy->failed, cy->busy,
		        cy->stopped_budget, t->open[2], t->open[1], t->open[0]);
	}
	fputc('\n', f);
}

/* "3 (12.0 MB)", or "0" alone. */
static const char *count_bytes(int64_t n, int64_t b, char *buf, size_t len)
{
	char c[32], sz[32];

	dbk_sum_fmt_count(n, c, sizeof c);
	if (n == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%s (%s)", c,
		         dbk_fmt_bytes(b, sz, sizeof sz));
	return buf;
}

static void hk_row(FILE *f, const char *name, bool bold,
                   const struct dbk_sum_hk *h)
{
	char drop[80], logs[80], ixd[80], idx[96], rows[32], an[32], t[32],
	        a[32], b[32];

	fputs(bold ? "| **" : "| ", f);
	md_text(f, name);
	if (h->indexes_rebuilt == 0)
		snprintf(idx, sizeof idx, "0");
	else
		snprintf(idx, sizeof idx, "%" PRId64 " (%s → %s)",
		         h->indexes_rebuilt,
		         bytes(h->rebuild_bytes_before, a, sizeof a),
		         bytes(h->rebuild_bytes_after, b, sizeof b));
	fprintf(f, "%s | %s | %s | %s | %s | %s | %s | %u | %s |\n",
	        bold ? "**" : "",
	        count_bytes(h->tables_dropped, h->tables_dropped_bytes, drop,
	                    sizeof drop),
	        dbk_sum_fmt_count(h->rows_purged, rows, sizeof rows),
	        count_bytes(h->server_logs_removed, h->server_logs_bytes, logs,
	                    sizeof logs),
	        idx,
	        count_bytes(h->indexes_dropped, h->indexes_dropped_bytes, ixd,
	                    sizeof ixd),
	        dbk_sum_fmt_count(h->tables_analyzed, an, sizeof an),
	        h->failed + h->interrupted,
	        dbk_sum_fmt_ms(h->time_ms, t, sizeof t));
}

static void failures(FILE *f, const struct dbk_summary *s)
{
	static const char *const head[] = {"Target", "What",  "Error",
	                                   "Times",  "First", "Last"};
	char a[32], b[32];

	if (s->n_failures == 0)
		return;
	fputs("### Failures\n\n", f);
	h_row(f, head, DBK_NELEM(head), "lllrll");
	for (size_t i = 0; i < s->n_failures; i++) {
		const struct dbk_sum_failure *x = &s->failures[i];

		fputs("| ", f);
		md_text(f, x->target);
		fputs(" | ", f);
		md_text(f, x->what);
		fputs(" | ", f);
		md_text(f, x->error);
		fprintf(f, " | %u | %s | %s |\n", x->count,
		        dbk_sum_fmt_time(x->first_ms, true, a, sizeof a),
		        dbk_sum_fmt_time(x->last_ms, true, b, sizeof b));
	}
	fputc('\n', f);
}

static void housekeeping(FILE *f, const struct dbk_summary *s)
{
	static const char *const head[] = {
	        "Target",
	        "Tables dropped (space freed)",
	        "Log rows purged",
	        "Server logs removed",
	        "Indexes rebuilt (size before → after)",
	        "Indexes dropped",
	        "Statistics refreshed",
	        "Failed actions",
	        "Time spent",
	};
	const struct dbk_sum_hk *t = &s->total;

	fputs("## Housekeeping done\n\n", f);
	if (t->actions == 0) {
		fputs("No housekeeping action was recorded in this period.\n\n",
		      f);
		failures(f, s);
		return;
	}
	h_row(f, head, DBK_NELEM(head), "lrrrrrrrr");
	for (size_t i = 0; i < s->n_targets; i++)
		hk_row(f, s->targets[i].name, false, &s->targets[i].hk);
	if (s->n_targets > 1)
		hk_row(f, "Total", true, t);
	fputc('\n', f);
	if (t->dry_run > 0 || t->carried > 0 || t->skipped > 0)
		fprintf(f,
		        "Also: %u action%s in dry run (planned, not executed), "
		        "%u carried over to a later cycle, %u skipped (objects "
		        "locked or changed).\n\n",
		        t->dry_run, t->dry_run == 1 ? "" : "s", t->carried,
		        t->skipped);
	failures(f, s);
}

static void finding_block(FILE *f, size_t n, const struct dbk_sum_finding *x)
{
	char a[32], b[32];

	fprintf(f, "### %zu. %s: ", n,
	        x->severity == 2   ? "CRITICAL"
	        : x->severity == 1 ? "WARNING"
	                           : "info");
	md_text(f, x->title);
	fputs("\n\n- Target ", f);
	md_text(f, x->target);
	fputs(", ", f);
	md_text(f, x->category);
	if (x->object != NULL) {
		fputs(", object ", f);
		md_text(f, x->object);
	}
	fprintf(f, "\n- Seen %u time%s, first %s, last %s%s\n", x->count,
	        x->count == 1 ? "" : "s",
	        dbk_sum_fmt_time(x->first_ms, true, a, sizeof a),
	        dbk_sum_fmt_time(x->last_ms, true, b, sizeof b),
	        x->opened ? " (new in this period)" : "");
	if (x->evidence != NULL) {
		fputs("- Evidence: ", f);
		md_text(f, x->evidence);
		fputc('\n', f);
	}
	if (x->recommendation != NULL) {
		fputs("- **Recommendation:** ", f);
		md_text(f, x->recommendation);
		fputc('\n', f);
	}
	fputc('\n', f);
}

static void resolved(FILE *f, const struct dbk_summary *s)
{
	static const char *const head[] = {"Severity", "Target", "Finding",
	                                   "Object",   "Times",  "First seen",
	                                   "Last seen"};
	char a[32], b[32];
	bool any = false;

	for (size_t i = 0; i < s->n_findings; i++) {
		const struct dbk_sum_finding *x = &s->findings[i];

		if (x->open)
			continue;
		if (!any) {
			fputs("## Resolved in this period\n\n", f);
			h_row(f, head, DBK_NELEM(head), "llllrll");
			any = true;
		}
		fprintf(f, "| %s | ", dbk_sum_severity_name(x->severity));
		md_text(f, x->target);
		fputs(" | ", f);
		md_text(f, x->title);
		fputs(" | ", f);
		md_text(f, x->object ? x->object : "-");
		fprintf(f, " | %u | %s | %s |\n", x->count,
		        dbk_sum_fmt_time(x->first_ms, true, a, sizeof a),
		        dbk_sum_fmt_time(x->last_ms, true, b, sizeof b));
	}
	if (any)
		fputc('\n', f);
}

static void findings(FILE *f, const struct dbk_summary *s)
{
	size_t n = 0;

	fprintf(f,
	        "## Remediation plan\n\nOpen findings, most important first "
	        "(critical %u, warning %u, info %u; %u new in this "
	        "period).\n\n",
	        s->open[2], s->open[1], s->open[0],
	        s->opened[0] + s->opened[1] + s->opened[2]);
	for (size_t i = 0; i < s->n_findings; i++)
		if (s->findings[i].open)
			finding_block(f, ++n, &s->findings[i]);
	if (n == 0)
		fputs("Nothing is open.\n\n", f);
	resolved(f, s);
}

/* ---- Trends ---- */

/* How a day is summed up in the daily table, per series. */
static double day_value(int k, const struct dbk_sum_day *d)
{
	switch (k) {
	case DBK_SER_DB_SIZE:
		return d->last;
	case DBK_SER_CONNECTIONS:
	case DBK_SER_REPL_LAG:
		return d->max;
	default:
		return d->avg;
	}
}

static const char *day_how(int k)
{
	switch (k) {
	case DBK_SER_DB_SIZE:
		return "last";
	case DBK_SER_CONNECTIONS:
	case DBK_SER_REPL_LAG:
		return "max";
	default:
		return "avg";
	}
}

static int date_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The union of the days of every series, sorted. */
static size_t all_days(const struct dbk_sum_target *t, const char ***out)
{
	const char **v = NULL;
	size_t n = 0, u = 0;

	for (int k = 0; k < DBK_SER_COUNT; k++)
		n += t->series[k].n_days;
	v = dbk_xcalloc(n ? n : 1, sizeof *v);
	n = 0;
	for (int k = 0; k < DBK_SER_COUNT; k++)
		for (size_t i = 0; i < t->series[k].n_days; i++)
			v[n++] = t->series[k].days[i].date;
	if (n > 1)
		qsort(v, n, sizeof *v, date_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
			v[u++] = v[i];
	*out = v;
	return u;
}

static const struct dbk_sum_day *day_of(const struct dbk_sum_series *se,
                                        const char *date)
{
	for (size_t i = 0; i < se->n_days; i++)
		if (strcmp(se->days[i].date, date) == 0)
			return &se->days[i];
	return NULL;
}

static void trend_stats(FILE *f, const struct dbk_sum_target *t)
{
	static const char *const head[] = {"Metric", "First", "Min",    "Avg",
	                                   "Max",    "Last",  "Samples"};
	char a[32], b[32], c[32], d[32], e[32];

	h_row(f, head, DBK_NELEM(head), "lrrrrrr");
	for (int k = 0; k < DBK_SER_COUNT; k++) {
		const struct dbk_sum_series *se = &t->series[k];

		if (se->n == 0)
			continue;
		fprintf(f, "| %s | %s | %s | %s | %s | %s | %zu |\n",
		        dbk_sum_series_title(k),
		        dbk_sum_fmt_value(k, se->v[0].v, a, sizeof a),
		        dbk_sum_fmt_value(k, se->min, b, sizeof b),
		        dbk_sum_fmt_value(k, se->sum / (double)se->n, c,
		                          sizeof c),
		        dbk_sum_fmt_value(k, se->max, d, sizeof d),
		        dbk_sum_fmt_value(k, se->v[se->n - 1].v, e, sizeof e),
		        se->n);
	}
	fputc('\n', f);
}

static void trend_days(FILE *f, const struct dbk_sum_target *t)
{
	const char **days = NULL;
	size_t n = all_days(t, &days);
	char buf[48];

	fputs("| Day", f);
	for (int k = 0; k < DBK_SER_COUNT; k++)
		if (t->series[k].n > 0)
			fprintf(f, " | %s (%s)", dbk_sum_series_title(k),
			        day_how(k));
	fputs(" |\n|---", f);
	for (int k = 0; k < DBK_SER_COUNT; k++)
		if (t->series[k].n > 0)
			fputs("|---:", f);
	fputs("|\n", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "| %s", days[i]);
		for (int k = 0; k < DBK_SER_COUNT; k++) {
			const struct dbk_sum_day *d =
			        day_of(&t->series[k], days[i]);

			if (t->series[k].n == 0)
				continue;
			fprintf(f, " | %s",
			        d ? dbk_sum_fmt_value(k, day_value(k, d), buf,
			                              sizeof buf)
			          : "-");
		}
		fputs(" |\n", f);
	}
	fputc('\n', f);
	free(days);
}

static void trends(FILE *f, const struct dbk_summary *s)
{
	bool any = false;

	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dbk_sum_target *t = &s->targets[i];
		bool has = false;

		for (int k = 0; k < DBK_SER_COUNT; k++)
			has = has || t->series[k].n > 0;
		if (!has)
			continue;
		if (!any)
			fputs("## Trends\n\n", f);
		any = true;
		fputs("### ", f);
		md_text(f, t->name);
		fputs(" (", f);
		engine(f, t);
		fputs(")\n\n", f);
		trend_stats(f, t);
		trend_days(f, t);
	}
	if (!any)
		fputs("## Trends\n\nNo metrics were recorded in this "
		      "period.\n\n",
		      f);
}

static void footer(FILE *f, const struct dbk_summary *s)
{
	fprintf(f, "---\n\n%u record%s read", s->records,
	        s->records == 1 ? "" : "s");
	for (size_t i = 0; i < s->n_notes; i++) {
		fputs("; ", f);
		md_text(f, s->notes[i]);
	}
	fputs(".\n", f);
}

char *dbk_summary_render_md(const struct dbk_summary *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort(); /* only on exhaustion, like dbk_xmalloc */
	header(f, s);
	overview(f, s);
	housekeeping(f, s);
	findings(f, s);
	trends(f, s);
	footer(f, s);
	if (fclose(f) != 0)
		abort();
	return buf;
}
