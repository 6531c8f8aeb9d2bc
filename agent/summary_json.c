/* agent/summary_json.c: the summary model as JSON, the machine-readable
 * form (`summary --format json`) and the one the tests read. Times are
 * given as unix milliseconds and ISO 8601 UTC; days are local dates. It
 * computes nothing the model does not hold. */
#include "summary.h"

#include <stdlib.h>
#include <time.h>

static json_t *iso(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm = {0};
	char buf[40];

	if (ms <= 0)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *int_or_null(int64_t v)
{
	return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *period_json(const struct dbk_sum_period *p)
{
	char a[16], b[16];

	return json_pack("{s:s, s:I, s:I, s:o, s:o, s:s, s:s}", "label",
	                 p->label, "from_ms", (json_int_t)p->from_ms, "to_ms",
	                 (json_int_t)p->to_ms, "from", iso(p->from_ms), "to",
	                 iso(p->to_ms), "first_day",
	                 dbk_sum_fmt_time(p->from_ms, false, a, sizeof a),
	                 "last_day",
	                 dbk_sum_fmt_time(p->to_ms - 1, false, b, sizeof b));
}

static json_t *hk_json(const struct dbk_sum_hk *h)
{
	json_t *j = json_pack(
	        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	        "tables_dropped", (json_int_t)h->tables_dropped,
	        "tables_dropped_bytes", (json_int_t)h->tables_dropped_bytes,
	        "rows_purged", (json_int_t)h->rows_purged,
	        "server_logs_removed", (json_int_t)h->server_logs_removed,
	        "server_logs_bytes", (json_int_t)h->server_logs_bytes,
	        "indexes_rebuilt", (json_int_t)h->indexes_rebuilt,
	        "rebuild_bytes_before", (json_int_t)h->rebuild_bytes_before,
	        "rebuild_bytes_after", (json_int_t)h->rebuild_bytes_after,
	        "indexes_dropped", (json_int_t)h->indexes_dropped,
	        "indexes_dropped_bytes", (json_int_t)h->indexes_dropped_bytes,
	        "tables_analyzed", (json_int_t)h->tables_analyzed, "time_ms",
	        (json_int_t)h->time_ms);

	json_object_set_new(
	        j, "actions",
	        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "total",
	                  (int)h->actions, "done", (int)h->done, "partial",
	                  (int)h->partial, "skipped", (int)h->skipped, "failed",
	                  (int)h->failed, "dry_run", (int)h->dry_run, "carried",
	                  (int)h->carried, "interrupted", (int)h->interrupted));
	return j;
}

static json_t *cycles_json(const struct dbk_sum_cycles *c)
{
	json_t *j = json_pack(
	        "{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I}", "runs",
	        (int)c->runs, "finished", (int)c->finished, "failed",
	        (int)c->failed, "busy", (int)c->busy, "stopped_budget",
	        (int)c->stopped_budget, "stopped", (int)c->stopped,
	        "outside_window", (int)c->outside_window, "time_ms",
	        (json_int_t)c->time_ms);

	json_object_set_new(j, "first", iso(c->first_ms));
	json_object_set_new(j, "last", iso(c->last_ms));
	json_object_set_new(j, "last_status", str_or_null(c->last_status));
	json_object_set_new(j, "last_error", str_or_null(c->last_error));
	return j;
}

static json_t *by_severity(const unsigned v[DBK_SUM_SEVERITIES])
{
	json_t *j = json_object();

	for (int i = DBK_SUM_SEVERITIES - 1; i >= 0; i--)
		json_object_set_new(j, dbk_sum_severity_name(i),
		                    json_integer(v[i]));
	return j;
}

static json_t *findings_counts(const unsigned open[], const unsigned resolved[],
                               const unsigned opened[])
{
	return json_pack("{s:o, s:o, s:o}", "open", by_severity(open),
	                 "resolved", by_severity(resolved), "opened",
	                 by_severity(opened));
}

static json_t *series_json(int id, const struct dbk_sum_series *se)
{
	json_t *days = json_array();
	json_t *j = NULL;

	for (size_t i = 0; i < se->n_days; i++) {
		const struct dbk_sum_day *d = &se->days[i];

		json_array_append_new(
		        days,
		        json_pack("{s:s, s:i, s:f, s:f, s:f, s:f}", "date",
		                  d->date, "n", (int)d->n, "min", d->min, "avg",
		                  d->avg, "max", d->max, "last", d->last));
	}
	j = json_pack("{s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:f, s:f}", "name",
	              dbk_sum_series_name(id), "title",
	              dbk_sum_series_title(id), "unit", dbk_sum_series_unit(id),
	              "n", (int)se->n, "first", se->v[0].v, "last",
	              se->v[se->n - 1].v, "min", se->min, "avg",
	              se->sum / (double)se->n, "max", se->max);
	json_object_set_new(j, "days", days);
	return j;
}

static json_t *target_json(const struct dbk_sum_target *t)
{
	json_t *trends = json_array();
	json_t *size = json_pack(
	        "{s:o, s:o, s:o, s:o, s:o}", "start",
	        int_or_null(t->size_start), "end", int_or_null(t->size_end),
	        "change",
	        t->size_start >= 0 && t->size_end >= 0
	                ? json_integer(t->size_end - t->size_start)
	                : json_null(),
	        "start_time", iso(t->size_start >= 0 ? t->size_start_ms : 0),
	        "end_time", iso(t->size_end >= 0 ? t->size_end_ms : 0));

	for (int k = 0; k < DBK_SER_COUNT; k++)
		if (t->series[k].n > 0)
			json_array_append_new(trends,
			                      series_json(k, &t->series[k]));
	return json_pack("{s:s, s:o, s:o, s:b, s:i, s:o, s:o, s:o, s:o, s:o}",
	                 "name", t->name, "engine", str_or_null(t->flavour),
	                 "version", str_or_null(t->version), "configured",
	                 t->configured, "records", (int)t->records, "db_size",
	                 size, "cycles", cycles_json(&t->cycles),
	                 "housekeeping", hk_json(&t->hk), "findings",
	                 findings_counts(t->open, t->resolved, t->opened),
	                 "trends", trends);
}

static json_t *finding_json(const struct dbk_sum_finding *f)
{
	return json_pack(
	        "{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:b, s:i, s:o, s:o}",
	        "target", f->target, "severity",
	        dbk_sum_severity_name(f->severity), "category", f->category,
	        "object", str_or_null(f->object), "title", f->title, "evidence",
	        str_or_null(f->evidence), "recommendation",
	        str_or_null(f->recommendation), "status",
	        f->open ? "open" : "resolved", "opened", f->opened, "count",
	        (int)f->count, "first_seen", iso(f->first_ms), "last_seen",
	        iso(f->last_ms));
}

static json_t *failure_json(const struct dbk_sum_failure *x)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "target", x->target,
	                 "what", x->what, "error", x->error, "count",
	                 (int)x->count, "first", iso(x->first_ms), "last",
	                 iso(x->last_ms));
}

static json_t *strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *dbk_summary_json(const struct dbk_summary *s)
{
	json_t *targets = json_array(), *findings = json_array(),
	       *failures = json_array();
	json_t *j = NULL;

	for (size_t i = 0; i < s->n_targets; i++)
		json_array_append_new(targets, target_json(&s->targets[i]));
	for (size_t i = 0; i < s->n_findings; i++)
		json_array_append_new(findings, finding_json(&s->findings[i]));
	for (size_t i = 0; i < s->n_failures; i++)
		json_array_append_new(failures, failure_json(&s->failures[i]));
	j = json_pack("{s:i, s:o, s:I, s:o, s:s, s:o}", "schema",
	              DBK_SUMMARY_SCHEMA, "generated", iso(s->generated_ms),
	              "generated_ms", (json_int_t)s->generated_ms, "period",
	              period_json(&s->period), "queue", s->queue,
	              "target_filter", str_or_null(s->target_filter));
	json_object_set_new(j, "conclusion",
	                    json_pack("{s:s, s:s, s:o}", "status",
	                              dbk_sum_verdict_name(s->verdict), "title",
	                              dbk_sum_verdict_title(s->verdict),
	                              "reasons",
	                              strings(s->reasons, s->n_reasons)));
	json_object_set_new(
	        j, "records",
	        json_pack("{s:i, s:i, s:i}", "read", (int)s->records, "ignored",
	                  (int)s->ignored, "unreadable", (int)s->unreadable));
	json_object_set_new(
	        j, "totals",
	        json_pack("{s:o, s:o, s:o}", "cycles",
	                  cycles_json(&s->total_cycles), "housekeeping",
	                  hk_json(&s->total), "findings",
	                  findings_counts(s->open, s->resolved, s->opened)));
	json_object_set_new(j, "targets", targets);
	json_object_set_new(j, "findings", findings);
	json_object_set_new(j, "failures", failures);
	json_object_set_new(j, "notes", strings(s->notes, s->n_notes));
	return j;
}

char *dbk_summary_render_json(const struct dbk_summary *s)
{
	json_t *j = dbk_summary_json(s);
	char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *res = NULL;

	json_decref(j);
	if (out == NULL)
		abort(); /* only on exhaustion: the model holds valid UTF-8 */
	res = dbk_xasprintf("%s\n", out);
	free(out);
	return res;
}
