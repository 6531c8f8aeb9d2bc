/* agent/summary_html.c: the summary model as one self-contained HTML page:
 * inline CSS (screen and print), inline SVG line charts, no script, no
 * external font or image, and a Content-Security-Policy that forbids them
 * anyway. Every string from a record goes through h_text. */
#include "summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Chart geometry, in SVG user units (the SVG scales to its box). */
#define CH_W          520
#define CH_H          200
#define CH_ML         70 /* left margin: y labels */
#define CH_MR         14
#define CH_MT         12
#define CH_MB         28  /* bottom margin: x labels */
#define CH_MAX_POINTS 400 /* more are averaged into this many buckets */

/* clang-format off */
static const char css[] =
	":root{--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;--soft:#f5f7fa;"
	"--accent:#2f6fb2;--ok:#1e7a46;--ok-bg:#e6f4ec;--warn:#8a5300;"
	"--warn-bg:#fff4db;--bad:#a4262c;--bad-bg:#fdeced}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%}\n"
	"body{margin:0;background:#fff;color:var(--fg);font:14px/1.5 -apple-system,"
	"'Segoe UI',Roboto,'Helvetica Neue',Arial,'Liberation Sans',sans-serif}\n"
	"main{max-width:1120px;margin:0 auto;padding:32px 40px 48px}\n"
	"h1{font-size:26px;line-height:1.2;margin:2px 0 6px;font-weight:650}\n"
	"h2{font-size:18px;margin:36px 0 12px;padding-bottom:6px;"
	"border-bottom:2px solid var(--fg)}\n"
	"h3{font-size:15px;margin:24px 0 8px}\n"
	"h3 .sub{font-weight:400;color:var(--muted);margin-left:6px}\n"
	".brand{font-size:12px;letter-spacing:.08em;text-transform:uppercase;"
	"color:var(--muted);font-weight:600}\n"
	".meta{color:var(--muted);margin:0}\n"
	".verdict{margin:22px 0 8px;padding:14px 18px;border-radius:8px;"
	"border-left:6px solid}\n"
	".verdict .label{font-size:19px;font-weight:700}\n"
	".verdict ul{margin:6px 0 0;padding-left:20px}\n"
	".v-healthy{background:var(--ok-bg);border-color:var(--ok)}\n"
	".v-healthy .label{color:var(--ok)}\n"
	".v-attention_needed{background:var(--warn-bg);border-color:#d08c00}\n"
	".v-attention_needed .label{color:var(--warn)}\n"
	".v-action_required{background:var(--bad-bg);border-color:var(--bad)}\n"
	".v-action_required .label{color:var(--bad)}\n"
	".kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:18px 0 0}\n"
	".kpi{border:1px solid var(--line);border-radius:8px;padding:10px 14px}\n"
	".kpi .k{font-size:12px;color:var(--muted);text-transform:uppercase;"
	"letter-spacing:.05em}\n"
	".kpi .v{font-size:22px;font-weight:650;margin:2px 0}\n"
	".kpi .s{font-size:12px;color:var(--muted)}\n"
	"table{width:100%;border-collapse:collapse;margin:6px 0 8px;font-size:13px;"
	"font-variant-numeric:tabular-nums}\n"
	"th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;"
	"vertical-align:top}\n"
	"th{background:var(--soft);font-weight:600;font-size:12px;color:#3e4c59}\n"
	"td.n,th.n{text-align:right;white-space:nowrap}\n"
	".tw{overflow-x:auto}\n"
	"tr.total td{font-weight:650;border-top:2px solid var(--line)}\n"
	"td.err{color:var(--bad);word-break:break-word}\n"
	".note{color:var(--muted);font-size:13px}\n"
	"ol.plan{list-style:none;padding:0;margin:0;counter-reset:f}\n"
	"ol.plan>li{counter-increment:f;border:1px solid var(--line);"
	"border-left:5px solid #9aa5b1;border-radius:6px;padding:10px 14px;"
	"margin:0 0 10px}\n"
	"ol.plan>li.critical{border-left-color:var(--bad)}\n"
	"ol.plan>li.warning{border-left-color:#d08c00}\n"
	".ftitle{font-weight:650;font-size:15px}\n"
	".ftitle:before{content:counter(f) '. ';color:var(--muted)}\n"
	".pill{display:inline-block;font-size:11px;font-weight:700;"
	"text-transform:uppercase;letter-spacing:.05em;padding:1px 8px;"
	"border-radius:10px;margin-right:8px;vertical-align:2px}\n"
	".pill.critical{background:var(--bad);color:#fff}\n"
	".pill.warning{background:#f0b429;color:#3b2a00}\n"
	".pill.info{background:#e4e7eb;color:#3e4c59}\n"
	".pill.new{background:#fff;color:var(--accent);border:1px solid var(--accent)}\n"
	".fmeta{color:var(--muted);font-size:12.5px;margin:2px 0 6px}\n"
	".fbody p{margin:4px 0;white-space:pre-line}\n"
	".fbody b{font-weight:600}\n"
	".charts{display:grid;grid-template-columns:1fr 1fr;gap:14px}\n"
	"figure{margin:0;border:1px solid var(--line);border-radius:8px;"
	"padding:10px 12px 6px}\n"
	"figcaption{font-weight:600;font-size:13px;display:flex;"
	"justify-content:space-between;gap:8px}\n"
	"figcaption span{font-weight:400;color:var(--muted);font-size:12px}\n"
	"svg{display:block;width:100%;height:auto}\n"
	"svg text{font-family:inherit;font-size:11px;fill:#616e7c}\n"
	"footer{margin-top:36px;padding-top:10px;border-top:1px solid var(--line);"
	"color:var(--muted);font-size:12px}\n"
	"@media screen and (max-width:760px){main{padding:20px}.kpis{grid-template-columns:1fr 1fr}"
	".charts{grid-template-columns:1fr}}\n"
	"@page{size:A4;margin:14mm}\n"
	"@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"body{font-size:10pt}main{max-width:none;padding:0}.tw{overflow:visible}"
	"table{font-size:8pt}th{font-size:7.5pt}th,td{padding:3px 4px}"
	"td.n,th.n{white-space:normal}.kpi .v{font-size:17px}"
	".charts{gap:8px}figure{padding:6px 8px 4px}"
	"h2{break-after:avoid;margin-top:20px}h3{break-after:avoid}"
	"table,figure,.verdict,.kpis,ol.plan>li,tr{break-inside:avoid}"
	"th{background:#eef1f4}.kpi,figure{border-color:#cbd2d9}}\n";
/* clang-format on */

/* Writes s HTML-escaped, for text and for quoted attribute values alike.
 * Control characters (C0 except newline and tab, DEL, C1) become spaces:
 * the page is for reading, not for a terminal, but nothing invisible
 * should hide in it. */
static void h_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (size_t i = 0; p[i] != '\0'; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
				fputc(' ', f);
			} else if (c == 0xc2 && p[i + 1] >= 0x80 &&
			           p[i + 1] < 0xa0) {
				fputc(' ', f);
				i++;
			} else {
				fputc(c, f);
			}
		}
	}
}

static const char *sev_class(int sev)
{
	return dbk_sum_severity_name(sev);
}

/* clang-format off */
static const char page_start[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" "
	"content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
	"<meta name=\"generator\" content=\"dbkeeper\">\n";
/* clang-format on */

static void head(FILE *f, const struct dbk_summary *s)
{
	char a[32], b[32], g[32];

	fputs(page_start, f);
	fputs("<title>dbkeeper summary: ", f);
	h_text(f, s->period.label);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n", css);
	fputs("<body>\n<main>\n<header>\n", f);
	fputs("<div class=\"brand\">dbkeeper &middot; "
	      "operations summary</div>\n",
	      f);
	fputs("<h1>", f);
	h_text(f, s->period.label);
	fprintf(f, "</h1>\n<p class=\"meta\">%s &ndash; %s (local time)",
	        dbk_sum_fmt_time(s->period.from_ms, true, a, sizeof a),
	        dbk_sum_fmt_time(s->period.to_ms, true, b, sizeof b));
	if (s->target_filter != NULL) {
		fputs(" &middot; target ", f);
		h_text(f, s->target_filter);
	}
	fputs(" &middot; queue ", f);
	h_text(f, s->queue);
	fprintf(f, " &middot; generated %s</p>\n</header>\n",
	        dbk_sum_fmt_time(s->generated_ms, true, g, sizeof g));
}

static void verdict(FILE *f, const struct dbk_summary *s)
{
	fprintf(f,
	        "<section class=\"verdict v-%s\" id=\"conclusion\">\n"
	        "<div class=\"label\">%s</div>\n<ul>\n",
	        dbk_sum_verdict_name(s->verdict),
	        dbk_sum_verdict_title(s->verdict));
	for (size_t i = 0; i < s->n_reasons; i++) {
		fputs("<li>", f);
		h_text(f, s->reasons[i]);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n</section>\n", f);
}

static void kpi(FILE *f, const char *k, const char *v, const char *sub)
{
	fprintf(f,
	        "<div class=\"kpi\"><div class=\"k\">%s</div>"
	        "<div class=\"v\">%s</div>"
	        "<div class=\"s\">%s</div></div>\n",
	        k, v, sub);
}

static void kpis(FILE *f, const struct dbk_summary *s)
{
	const struct dbk_sum_cycles *c = &s->total_cycles;
	const struct dbk_sum_hk *h = &s->total;
	char v[48], sub[160], n[32];

	fputs("<section class=\"kpis\">\n", f);
	snprintf(v, sizeof v, "%u", c->runs);
	snprintf(sub, sizeof sub,
	         "%u failed &middot; %u busy &middot; %u over budget",
	         c->failed, c->busy, c->stopped_budget);
	kpi(f, "Cycles", v, sub);
	dbk_fmt_bytes(dbk_sum_hk_reclaimed(h), v, sizeof v);
	snprintf(sub, sizeof sub,
	         "%" PRId64 " table%s, %" PRId64 " server log%s dropped",
	         h->tables_dropped, h->tables_dropped == 1 ? "" : "s",
	         h->server_logs_removed,
	         h->server_logs_removed == 1 ? "" : "s");
	kpi(f, "Space reclaimed", v, sub);
	dbk_sum_fmt_count(h->rows_purged, v, sizeof v);
	snprintf(sub, sizeof sub,
	         "%" PRId64 " index%s rebuilt, %s tables analyzed",
	         h->indexes_rebuilt, h->indexes_rebuilt == 1 ? "" : "es",
	         dbk_sum_fmt_count(h->tables_analyzed, n, sizeof n));
	kpi(f, "Log rows purged", v, sub);
	snprintf(v, sizeof v, "%u", s->open[0] + s->open[1] + s->open[2]);
	snprintf(sub, sizeof sub,
	         "%u critical &middot; %u warning &middot; %u info", s->open[2],
	         s->open[1], s->open[0]);
	kpi(f, "Open findings", v, sub);
	fputs("</section>\n", f);
}

static void th_row(FILE *f, const char *const *cells, size_t n,
                   const char *align)
{
	fputs("<thead><tr>", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<th%s>%s</th>",
		        align[i] == 'r' ? " class=\"n\"" : "", cells[i]);
	fputs("</tr></thead>\n<tbody>\n", f);
}

static void td_text(FILE *f, const char *s)
{
	fputs("<td>", f);
	h_text(f, s);
	fputs("</td>", f);
}

/* A right-aligned number cell; s is ours (formatted numbers), not data. */
static void td_n(FILE *f, const char *s)
{
	fprintf(f, "<td class=\"n\">%s</td>", s);
}

static void td_u(FILE *f, unsigned v)
{
	fprintf(f, "<td class=\"n\">%u</td>", v);
}

static void engine(FILE *f, const struct dbk_sum_target *t)
{
	if (t->flavour == NULL) {
		fputs("unknown", f);
		return;
	}
	h_text(f, t->flavour);
	fputc(' ', f);
	h_text(f, t->version);
}

static void overview(FILE *f, const struct dbk_summary *s)
{
	static const char *const cols[] = {
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
	        "Open (crit / warn / info)",
	};
	char a[32], b[32], c[32];

	fputs("<section id=\"overview\">\n<h2>Overview</h2>\n", f);
	if (s->n_targets == 0) {
		fputs("<p class=\"note\">No target reported in this period."
		      "</p>\n</section>\n",
		      f);
		return;
	}
	fputs("<div class=\"tw\"><table>\n", f);
	th_row(f, cols, DBK_NELEM(cols), "llrrrrrrrrr");
	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dbk_sum_target *t = &s->targets[i];
		const struct dbk_sum_cycles *cy = &t->cycles;
		bool sized = t->size_start >= 0 && t->size_end >= 0;

		fputs("<tr>", f);
		td_text(f, t->name);
		fputs("<td>", f);
		engine(f, t);
		fputs("</td>", f);
		td_n(f, sized ? dbk_fmt_bytes(t->size_start, a, sizeof a)
		              : "&ndash;");
		td_n(f, sized ? dbk_fmt_bytes(t->size_end, b, sizeof b)
		              : "&ndash;");
		td_n(f,
		     sized ? dbk_sum_fmt_delta_bytes(
		                     t->size_end - t->size_start, c, sizeof c)
		           : "&ndash;");
		td_u(f, cy->runs);
		td_u(f, cy->finished);
		td_u(f, cy->failed);
		td_u(f, cy->busy);
		td_u(f, cy->stopped_budget);
		fprintf(f, "<td class=\"n\">%u / %u / %u</td></tr>\n",
		        t->open[2], t->open[1], t->open[0]);
	}
	fputs("</tbody></table></div>\n</section>\n", f);
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

static void hk_row(FILE *f, const char *name, bool total,
                   const struct dbk_sum_hk *h)
{
	char buf[96], a[32], b[32];

	fprintf(f, "<tr%s>", total ? " class=\"total\"" : "");
	td_text(f, name);
	td_n(f, count_bytes(h->tables_dropped, h->tables_dropped_bytes, buf,
	                    sizeof buf));
	td_n(f, dbk_sum_fmt_count(h->rows_purged, buf, sizeof buf));
	td_n(f, count_bytes(h->server_logs_removed, h->server_logs_bytes, buf,
	                    sizeof buf));
	if (h->indexes_rebuilt == 0)
		snprintf(buf, sizeof buf, "0");
	else
		snprintf(buf, sizeof buf, "%" PRId64 " (%s &rarr; %s)",
		         h->indexes_rebuilt,
		         dbk_fmt_bytes(h->rebuild_bytes_before, a, sizeof a),
		         dbk_fmt_bytes(h->rebuild_bytes_after, b, sizeof b));
	td_n(f, buf);
	td_n(f, count_bytes(h->indexes_dropped, h->indexes_dropped_bytes, buf,
	                    sizeof buf));
	td_n(f, dbk_sum_fmt_count(h->tables_analyzed, buf, sizeof buf));
	td_u(f, h->failed + h->interrupted);
	td_n(f, dbk_sum_fmt_ms(h->time_ms, buf, sizeof buf));
	fputs("</tr>\n", f);
}

static void failures(FILE *f, const struct dbk_summary *s)
{
	static const char *const cols[] = {"Target", "What",  "Error",
	                                   "Times",  "First", "Last"};
	char a[32], b[32];

	if (s->n_failures == 0)
		return;
	fputs("<h3>Failures</h3>\n<div class=\"tw\"><table>\n", f);
	th_row(f, cols, DBK_NELEM(cols), "lllrll");
	for (size_t i = 0; i < s->n_failures; i++) {
		const struct dbk_sum_failure *x = &s->failures[i];

		fputs("<tr>", f);
		td_text(f, x->target);
		td_text(f, x->what);
		fputs("<td class=\"err\">", f);
		h_text(f, x->error);
		fputs("</td>", f);
		td_u(f, x->count);
		fprintf(f, "<td>%s</td><td>%s</td></tr>\n",
		        dbk_sum_fmt_time(x->first_ms, true, a, sizeof a),
		        dbk_sum_fmt_time(x->last_ms, true, b, sizeof b));
	}
	fputs("</tbody></table></div>\n", f);
}

static void housekeeping(FILE *f, const struct dbk_summary *s)
{
	static const char *const cols[] = {
	        "Target",
	        "Tables dropped (space)",
	        "Log rows purged",
	        "Server logs removed",
	        "Indexes rebuilt (before &rarr; after)",
	        "Indexes dropped",
	        "Statistics refreshed",
	        "Failed",
	        "Time spent",
	};
	const struct dbk_sum_hk *t = &s->total;

	fputs("<section id=\"housekeeping\">\n<h2>Housekeeping done</h2>\n", f);
	if (t->actions == 0) {
		fputs("<p class=\"note\">No housekeeping action was "
		      "recorded in this period.</p>\n",
		      f);
	} else {
		fputs("<div class=\"tw\"><table>\n", f);
		th_row(f, cols, DBK_NELEM(cols), "lrrrrrrrr");
		for (size_t i = 0; i < s->n_targets; i++)
			hk_row(f, s->targets[i].name, false, &s->targets[i].hk);
		if (s->n_targets > 1)
			hk_row(f, "Total", true, t);
		fputs("</tbody></table></div>\n", f);
		if (t->dry_run > 0 || t->carried > 0 || t->skipped > 0)
			fprintf(f,
			        "<p class=\"note\">Also: %u action%s in "
			        "dry run (planned, not executed), %u carried "
			        "over to a later cycle, %u skipped (objects "
			        "locked or changed).</p>\n",
			        t->dry_run, t->dry_run == 1 ? "" : "s",
			        t->carried, t->skipped);
	}
	failures(f, s);
	fputs("</section>\n", f);
}

static void finding_item(FILE *f, const struct dbk_sum_finding *x)
{
	char a[32], b[32];

	fprintf(f,
	        "<li class=\"%s\">\n<div class=\"ftitle\">"
	        "<span class=\"pill %s\">%s</span>",
	        sev_class(x->severity), sev_class(x->severity),
	        dbk_sum_severity_name(x->severity));
	if (x->opened)
		fputs("<span class=\"pill new\">new</span>", f);
	h_text(f, x->title);
	fputs("</div>\n<div class=\"fmeta\">", f);
	h_text(f, x->target);
	fputs(" &middot; ", f);
	h_text(f, x->category);
	if (x->object != NULL) {
		fputs(" &middot; <b>", f);
		h_text(f, x->object);
		fputs("</b>", f);
	}
	fprintf(f,
	        " &middot; seen %u time%s, %s &ndash; %s</div>\n"
	        "<div class=\"fbody\">\n",
	        x->count, x->count == 1 ? "" : "s",
	        dbk_sum_fmt_time(x->first_ms, true, a, sizeof a),
	        dbk_sum_fmt_time(x->last_ms, true, b, sizeof b));
	if (x->evidence != NULL) {
		fputs("<p><b>Evidence:</b> ", f);
		h_text(f, x->evidence);
		fputs("</p>\n", f);
	}
	if (x->recommendation != NULL) {
		fputs("<p><b>Recommendation:</b> ", f);
		h_text(f, x->recommendation);
		fputs("</p>\n", f);
	}
	fputs("</div>\n</li>\n", f);
}

static void resolved(FILE *f, const struct dbk_summary *s)
{
	static const char *const cols[] = {"Severity", "Target", "Finding",
	                                   "Object",   "Times",  "First seen",
	                                   "Last seen"};
	char a[32], b[32];
	bool any = false;

	for (size_t i = 0; i < s->n_findings; i++) {
		const struct dbk_sum_finding *x = &s->findings[i];

		if (x->open)
			continue;
		if (!any)
			fputs("<h3>Resolved in this period</h3>\n<div "
			      "class=\"tw\"><table>\n",
			      f);
		if (!any)
			th_row(f, cols, DBK_NELEM(cols), "llllrll");
		any = true;
		fprintf(f, "<tr><td><span class=\"pill %s\">%s</span></td>",
		        sev_class(x->severity),
		        dbk_sum_severity_name(x->severity));
		td_text(f, x->target);
		td_text(f, x->title);
		td_text(f, x->object ? x->object : "-");
		fprintf(f,
		        "<td class=\"n\">%u</td><td>%s</td><td>%s</td></tr>\n",
		        x->count,
		        dbk_sum_fmt_time(x->first_ms, true, a, sizeof a),
		        dbk_sum_fmt_time(x->last_ms, true, b, sizeof b));
	}
	if (any)
		fputs("</tbody></table></div>\n", f);
}

static void findings(FILE *f, const struct dbk_summary *s)
{
	bool any = false;

	fprintf(f,
	        "<section id=\"findings\">\n<h2>Remediation plan</h2>\n"
	        "<p class=\"note\">Open findings, most important first: "
	        "%u critical, %u warning, %u info; %u new in this "
	        "period.</p>\n",
	        s->open[2], s->open[1], s->open[0],
	        s->opened[0] + s->opened[1] + s->opened[2]);
	for (size_t i = 0; i < s->n_findings; i++) {
		if (!s->findings[i].open)
			continue;
		if (!any)
			fputs("<ol class=\"plan\">\n", f);
		any = true;
		finding_item(f, &s->findings[i]);
	}
	fputs(any ? "</ol>\n" : "<p>Nothing is open.</p>\n", f);
	resolved(f, s);
	fputs("</section>\n", f);
}

/* ---- Charts ---- */

/* 1, 2 or 5 times a power of ten, at least x. */
static double nice_step(double x)
{
	double p = x > 0 && isfinite(x) ? pow(10, floor(log10(x))) : 1;
	double m = x > 0 && isfinite(x) ? x / p : 1;

	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* A y axis: its range and tick step, and how its labels are written:
 * value / scale with the decimals the step needs, then the suffix. */
struct axis {
	double lo, hi, step;
	double scale;
	int decimals;
	const char *suffix;
};

/* The label unit follows the tick step, not the values: a 2 GB database
 * that grew by 5 MB gets ticks 2 MB apart labelled in MB. */
static void axis_unit(int k, double raw_step, double hi, struct axis *ax)
{
	static const char *const bytes[] = {" B", " kB", " MB", " GB", " TB"};
	int u = 0;

	ax->scale = 1;
	ax->suffix = k == DBK_SER_CACHE_HIT                              ? "%"
	             : k == DBK_SER_REPL_LAG                             ? " ms"
	             : k == DBK_SER_XACT_RATE || k == DBK_SER_QUERY_RATE ? "/s"
	                                                                 : "";
	if (k == DBK_SER_DB_SIZE) {
		/* A larger unit as soon as one decimal shows the step (48.2
		 * GB), and at most five digits before the point (10,240 MB). */
		while (u + 1 < (int)DBK_NELEM(bytes) &&
		       (raw_step >= 102.4 * ax->scale ||
		        hi >= 1e5 * ax->scale)) {
			ax->scale *= 1024;
			u++;
		}
		ax->suffix = bytes[u];
	} else if (k == DBK_SER_REPL_LAG && raw_step >= 1000) {
		ax->scale = 1000;
		ax->suffix = " s";
	} else if (raw_step >= 1000) {
		ax->scale = 1000;
		ax->suffix = k == DBK_SER_CONNECTIONS ? "k" : "k/s";
	}
}

static void y_axis(int k, const struct dbk_sum_series *se, struct axis *ax)
{
	double lo = se->min, hi = se->max, st = 0;

	if (hi - lo < 1e-9 * fmax(1, fabs(hi))) {
		double pad = fabs(hi) > 0 ? fabs(hi) * 0.05 : 1;

		lo -= pad;
		hi += pad;
	}
	axis_unit(k, (hi - lo) / 4, hi, ax);
	ax->step = nice_step((hi - lo) / 4 / ax->scale) * ax->scale;
	ax->lo = floor(lo / ax->step) * ax->step;
	ax->hi = ceil(hi / ax->step) * ax->step;
	if (se->min >= 0 && ax->lo < 0)
		ax->lo = 0; /* sizes, ratios, rates and counts are never
		               negative */
	if (k == DBK_SER_CACHE_HIT && se->max <= 100 && ax->hi > 100)
		ax->hi = 100;
	st = ax->step / ax->scale;
	ax->decimals = st >= 1 ? 0 : st >= 0.1 ? 1 : st >= 0.01 ? 2 : 3;
}

static double sx(int64_t t, int64_t from, int64_t to)
{
	return CH_ML + (double)(t - from) * (CH_W - CH_ML - CH_MR) /
	                       (double)(to - from);
}

static double sy(double v, const struct axis *ax)
{
	return CH_MT +
	       (ax->hi - v) * (CH_H - CH_MT - CH_MB) / (ax->hi - ax->lo);
}

/* "10,240" or "0.25": digits grouped by three before the point. */
static const char *axis_number(double v, int decimals, char *buf, size_t len)
{
	char raw[64];
	int n = snprintf(raw, sizeof raw, "%.*f", decimals, v);
	int start = raw[0] == '-', point = n;
	size_t o = 0;

	for (int i = 0; i < n; i++)
		if (raw[i] == '.')
			point = i;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > start && i < point && (point - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

static void grid_y(FILE *f, const struct axis *ax)
{
	char num[64];

	for (int i = 0; i <= 12; i++) {
		double v = ax->lo + i * ax->step, y = sy(v, ax);

		if (v > ax->hi + ax->step * 1e-6)
			break;
		fprintf(f,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
		        "y2=\"%.1f\" stroke=\"%s\"/>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
		        "dy=\"3.5\">%s%s</text>\n",
		        CH_ML, y, CH_W - CH_MR, y,
		        i == 0 ? "#9aa5b1" : "#e4e7eb", CH_ML - 6, y,
		        axis_number(v / ax->scale, ax->decimals, num,
		                    sizeof num),
		        ax->suffix);
	}
}

/* Local midnights (or 6-hour marks for short periods) as x labels, at most
 * about seven of them. */
static void grid_x(FILE *f, int64_t from, int64_t to)
{
	int64_t span_h = (to - from) / 3600000;
	int step_h = span_h <= 48 ? 6 : (int)(((span_h / 24) + 6) / 7) * 24;
	time_t t0 = (time_t)(from / 1000);
	struct tm tm;
	char buf[32];

	localtime_r(&t0, &tm);
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_hour = step_h < 24 ? tm.tm_hour - tm.tm_hour % 6 : 0;
	tm.tm_isdst = -1;
	for (int i = 0; i < 64; i++) {
		int64_t t = (int64_t)mktime(&tm) * 1000;
		double x = 0;

		if (t >= to)
			break;
		if (t >= from) {
			x = sx(t, from, to);
			if (step_h < 24)
				strftime(buf, sizeof buf, "%H:%M", &tm);
			else
				strftime(buf, sizeof buf, "%b %e", &tm);
			fprintf(f,
			        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			        "y2=\"%d\" stroke=\"#9aa5b1\"/>"
			        "<text x=\"%.1f\" y=\"%d\" "
			        "text-anchor=\"middle\">%s</text>\n",
			        x, CH_H - CH_MB, x, CH_H - CH_MB + 4, x,
			        CH_H - 8, buf);
		}
		if (step_h < 24)
			tm.tm_hour += step_h;
		else
			tm.tm_mday += step_h / 24;
		tm.tm_isdst = -1;
	}
}

/* The points to draw: all of them, or bucket averages when there are more
 * than a chart can show. Returns how many it wrote into out. */
static size_t plot_points(const struct dbk_sum_series *se, int64_t from,
                          int64_t to, struct dbk_sum_point *out)
{
	size_t n = 0, i = 0;

	if (se->n <= CH_MAX_POINTS) {
		memcpy(out, se->v, se->n * sizeof *out);
		return se->n;
	}
	while (i < se->n) {
		int64_t b =
		        (se->v[i].t_ms - from) * CH_MAX_POINTS / (to - from);
		double sum = 0, t = 0;
		size_t k = 0;

		for (;
		     i < se->n &&
		     (se->v[i].t_ms - from) * CH_MAX_POINTS / (to - from) == b;
		     i++, k++) {
			sum += se->v[i].v;
			t += (double)(se->v[i].t_ms - from);
		}
		out[n].t_ms = from + (int64_t)(t / (double)k);
		out[n++].v = sum / (double)k;
	}
	return n;
}

static void chart_line(FILE *f, const struct dbk_sum_point *p, size_t n,
                       int64_t from, int64_t to, const struct axis *ax)
{
	double base = sy(ax->lo, ax);

	if (n == 1) {
		fprintf(f,
		        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
		        "fill=\"#2f6fb2\"/>\n",
		        sx(p[0].t_ms, from, to), sy(p[0].v, ax));
		return;
	}
	fprintf(f,
	        "<polygon fill=\"#2f6fb2\" fill-opacity=\"0.08\" "
	        "points=\"%.1f,%.1f",
	        sx(p[0].t_ms, from, to), base);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %.1f,%.1f", sx(p[i].t_ms, from, to),
		        sy(p[i].v, ax));
	fprintf(f,
	        " %.1f,%.1f\"/>\n<polyline fill=\"none\" stroke=\"#2f6fb2\" "
	        "stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"",
	        sx(p[n - 1].t_ms, from, to), base);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", sx(p[i].t_ms, from, to),
		        sy(p[i].v, ax));
	fprintf(f,
	        "\"/>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
	        "fill=\"#2f6fb2\"/>\n",
	        sx(p[n - 1].t_ms, from, to), sy(p[n - 1].v, ax));
}

static void chart(FILE *f, const struct dbk_summary *s,
                  const struct dbk_sum_target *t, int k)
{
	const struct dbk_sum_series *se = &t->series[k];
	int64_t from = s->period.from_ms, to = s->period.to_ms;
	struct dbk_sum_point *pts = dbk_xcalloc(se->n, sizeof *pts);
	size_t n = plot_points(se, from, to, pts);
	struct axis ax;
	char a[32], b[32], c[32], d[32];

	y_axis(k, se, &ax);
	fprintf(f,
	        "<figure class=\"chart\" data-series=\"%s\">\n<figcaption>%s%s"
	        "<span>min %s &middot; avg %s &middot; max %s &middot; "
	        "last %s</span></figcaption>\n",
	        dbk_sum_series_name(k), dbk_sum_series_title(k),
	        k == DBK_SER_XACT_RATE || k == DBK_SER_QUERY_RATE
	                ? " per second"
	                : "",
	        dbk_sum_fmt_value(k, se->min, a, sizeof a),
	        dbk_sum_fmt_value(k, se->sum / (double)se->n, b, sizeof b),
	        dbk_sum_fmt_value(k, se->max, c, sizeof c),
	        dbk_sum_fmt_value(k, se->v[se->n - 1].v, d, sizeof d));
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	        "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s of ",
	        CH_W, CH_H, dbk_sum_series_title(k));
	h_text(f, t->name);
	fprintf(f, " over the period\">\n<title>%s: ", dbk_sum_series_title(k));
	h_text(f, t->name);
	fputs("</title>\n", f);
	grid_y(f, &ax);
	grid_x(f, from, to);
	chart_line(f, pts, n, from, to, &ax);
	fputs("</svg>\n</figure>\n", f);
	free(pts);
}

static void trends(FILE *f, const struct dbk_summary *s)
{
	bool any = false;

	fputs("<section id=\"trends\">\n<h2>Trends</h2>\n", f);
	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dbk_sum_target *t = &s->targets[i];
		bool has = false;

		for (int k = 0; k < DBK_SER_COUNT; k++)
			has = has || t->series[k].n > 0;
		if (!has)
			continue;
		any = true;
		fputs("<h3>", f);
		h_text(f, t->name);
		fputs("<span class=\"sub\">", f);
		engine(f, t);
		fputs("</span></h3>\n<div class=\"charts\">\n", f);
		for (int k = 0; k < DBK_SER_COUNT; k++)
			if (t->series[k].n > 0)
				chart(f, s, t, k);
		fputs("</div>\n", f);
	}
	if (!any)
		fputs("<p class=\"note\">No metrics were recorded in this "
		      "period.</p>\n",
		      f);
	fputs("</section>\n", f);
}

static void footer(FILE *f, const struct dbk_summary *s)
{
	fprintf(f, "<footer>%u record%s read", s->records,
	        s->records == 1 ? "" : "s");
	for (size_t i = 0; i < s->n_notes; i++) {
		fputs(" &middot; ", f);
		h_text(f, s->notes[i]);
	}
	fputs(". Written by dbkeeper from its report queue; times are "
	      "local.</footer>\n</main>\n</body>\n</html>\n",
	      f);
}

char *dbk_summary_render_html(const struct dbk_summary *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort(); /* only on exhaustion, like dbk_xmalloc */
	head(f, s);
	verdict(f, s);
	kpis(f, s);
	overview(f, s);
	housekeeping(f, s);
	findings(f, s);
	trends(f, s);
	footer(f, s);
	if (fclose(f) != 0)
		abort();
	return buf;
}
