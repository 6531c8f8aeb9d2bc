/* agent/summary.c: builds the operations summary model from one period of
 * a report queue: periods in local time, the scan that folds run, action,
 * finding and metrics records into per-target totals, finding groups and
 * trend series, and the conclusion. The renderers (summary_json.c,
 * summary_md.c, summary_html.c) only format what this file computed. */
#include "summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A cycle's start is estimated as its run record's time minus its
 * duration; findings of the cycle were written after the real start, and
 * this slack absorbs the few milliseconds between the two clock reads. */
#define SUM_CYCLE_SLACK_MS 1000
#define SUM_NAMED_MAX      3 /* names quoted in one reason, then "..." */

static const char *const sev_names[DBK_SUM_SEVERITIES] = {"info", "warning",
                                                          "critical"};

const char *dbk_sum_severity_name(int sev)
{
	return sev >= 0 && sev < DBK_SUM_SEVERITIES ? sev_names[sev] : "info";
}

static int sev_parse(const char *s)
{
	for (int i = 0; s != NULL && i < DBK_SUM_SEVERITIES; i++)
		if (strcmp(s, sev_names[i]) == 0)
			return i;
	return 0; /* unknown: the least alarming, it is still listed */
}

const char *dbk_sum_verdict_name(int v)
{
	static const char *const n[] = {"healthy", "attention_needed",
	                                "action_required"};

	return v >= 0 && (size_t)v < DBK_NELEM(n) ? n[v] : "unknown";
}

const char *dbk_sum_verdict_title(int v)
{
	static const char *const n[] = {"Healthy", "Attention needed",
	                                "Action required"};

	return v >= 0 && (size_t)v < DBK_NELEM(n) ? n[v] : "Unknown";
}

static const struct {
	const char *name, *title, *unit;
} series_info[DBK_SER_COUNT] = {
        [DBK_SER_DB_SIZE] = {"db_size_bytes", "Database size", "bytes"},
        [DBK_SER_CACHE_HIT] = {"cache_hit_pct", "Cache hit ratio", "%"},
        [DBK_SER_CONNECTIONS] = {"connections", "Connections", ""},
        [DBK_SER_XACT_RATE] = {"xact_commit_per_s", "Transactions", "/s"},
        [DBK_SER_QUERY_RATE] = {"queries_per_s", "Queries", "/s"},
        [DBK_SER_REPL_LAG] = {"replication_lag_ms", "Replication lag", "ms"},
};

const char *dbk_sum_series_name(int id)
{
	return id >= 0 && id < DBK_SER_COUNT ? series_info[id].name : "?";
}

const char *dbk_sum_series_title(int id)
{
	return id >= 0 && id < DBK_SER_COUNT ? series_info[id].title : "?";
}

const char *dbk_sum_series_unit(int id)
{
	return id >= 0 && id < DBK_SER_COUNT ? series_info[id].unit : "";
}

/* Sums of sizes and rows saturate and ignore negatives: a broken record
 * must not overflow a total (undefined behaviour) or subtract from it. */
static void acc_add(int64_t *acc, int64_t v)
{
	if (v <= 0)
		return;
	*acc = *acc > INT64_MAX - v ? INT64_MAX : *acc + v;
}

/* ---- Periods ---- */

/* Local midnight of y-m-d; mktime normalises an out-of-range day or month,
 * which the callers use for date arithmetic across DST changes. */
static int64_t local_midnight(int y, int mon0, int mday)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mon0;
	tm.tm_mday = mday;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

static void local_tm(int64_t ms, struct tm *tm)
{
	time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));

	memset(tm, 0, sizeof *tm);
	localtime_r(&t, tm);
}

/* Strict YYYY-MM-DD naming a real day. */
static int parse_date(const char *s, struct tm *out)
{
	int y = 0, m = 0, d = 0;
	struct tm tm = {0};

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12; /* noon: no DST change moves it to another day */
	tm.tm_isdst = -1;
	if (y < 1970 || mktime(&tm) == (time_t)-1 || tm.tm_year != y - 1900 ||
	    tm.tm_mon != m - 1 || tm.tm_mday != d)
		return -1; /* 2024-02-30 came back as March */
	*out = tm;
	return 0;
}

int dbk_sum_period_since(int64_t now_ms, int64_t dur_ms,
                         struct dbk_sum_period *out, struct dbk_err *err)
{
	char buf[32];

	if (dur_ms <= 0)
		return dbk_err_set(err, DBK_E_CONFIG,
		                   "the period must be positive");
	out->from_ms = now_ms - dur_ms;
	out->to_ms = now_ms;
	if (dur_ms % 86400000 == 0)
		snprintf(out->label, sizeof out->label,
		         "last %" PRId64 " day%s", dur_ms / 86400000,
		         dur_ms == 86400000 ? "" : "s");
	else if (dur_ms % 3600000 == 0)
		snprintf(out->label, sizeof out->label,
		         "last %" PRId64 " hour%s", dur_ms / 3600000,
		         dur_ms == 3600000 ? "" : "s");
	else
		snprintf(out->label, sizeof out->label, "last %s",
		         dbk_fmt_duration(dur_ms / 1000, buf, sizeof buf));
	return 0;
}

int dbk_sum_period_dates(const char *from, const char *to, int64_t now_ms,
                         struct dbk_sum_period *out, struct dbk_err *err)
{
	struct tm a = {0}, b = {0};
	char now_s[32];

	if (parse_date(from, &a) == -1)
		return dbk_err_set(err, DBK_E_CONFIG,
		                   "--from '%s': expected a date "
		                   "YYYY-MM-DD",
		                   from ? from : "");
	if (to != NULL && parse_date(to, &b) == -1)
		return dbk_err_set(err, DBK_E_CONFIG,
		                   "--to '%s': expected a date "
		                   "YYYY-MM-DD",
		                   to);
	out->from_ms = local_midnight(a.tm_year + 1900, a.tm_mon, a.tm_mday);
	if (to == NULL) {
		out->to_ms = now_ms;
		snprintf(out->label, sizeof out->label, "%s to %s", from,
		         dbk_sum_fmt_time(now_ms, true, now_s, sizeof now_s));
	} else {
		out->to_ms = local_midnight(b.tm_year + 1900, b.tm_mon,
		                            b.tm_mday + 1);
		snprintf(out->label, sizeof out->label, "%s to %s", from, to);
	}
	if (out->to_ms <= out->from_ms)
		return dbk_err_set(err, DBK_E_CONFIG,
		                   "the period ends before it "
		                   "starts (%s)",
		                   out->label);
	return 0;
}

int dbk_sum_period_last(const char *unit, int64_t now_ms,
                        struct dbk_sum_period *out, struct dbk_err *err)
{
	struct tm now = {0}, first = {0}, last = {0};
	char a[16], b[16], wk[16];

	local_tm(now_ms, &now);
	if (unit != NULL && strcmp(unit, "week") == 0) {
		int since_monday = (now.tm_wday + 6) % 7;

		out->to_ms = local_midnight(now.tm_year + 1900, now.tm_mon,
		                            now.tm_mday - since_monday);
		out->from_ms = local_midnight(now.tm_year + 1900, now.tm_mon,
		                              now.tm_mday - since_monday - 7);
		local_tm(out->from_ms, &first);
		local_tm(out->to_ms - 12 * 3600 * 1000, &last); /* the Sunday */
		strftime(wk, sizeof wk, "%G-W%V", &first);
		strftime(a, sizeof a, "%Y-%m-%d", &first);
		strftime(b, sizeof b, "%Y-%m-%d", &last);
		snprintf(out->label, sizeof out->label, "week %s (%s to %s)",
		         wk, a, b);
		return 0;
	}
	if (unit != NULL && strcmp(unit, "month") == 0) {
		out->to_ms = local_midnight(now.tm_year + 1900, now.tm_mon, 1);
		out->from_ms =
		        local_midnight(now.tm_year + 1900, now.tm_mon - 1, 1);
		local_tm(out->from_ms, &first);
		strftime(out->label, sizeof out->label, "%B %Y", &first);
		return 0;
	}
	return dbk_err_set(err, DBK_E_CONFIG,
	                   "--period '%s': expected week or month",
	                   unit ? unit : "");
}

/* ---- Formatting shared by the renderers ---- */

const char *dbk_sum_fmt_time(int64_t ms, bool with_time, char *buf, size_t len)
{
	struct tm tm;
	size_t n = 0;

	local_tm(ms, &tm);
	if (with_time)
		n = strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
	else
		n = strftime(buf, len, "%Y-%m-%d", &tm);
	if (n == 0 && len > 0)
		buf[0] = '\0';
	return buf;
}

/* 1234 -> "1.2k": rates and counts read at a glance. */
static void fmt_scaled(double v, const char *suffix, char *buf, size_t len)
{
	double a = fabs(v);

	if (a >= 1e6)
		snprintf(buf, len, "%.1fM%s", v / 1e6, suffix);
	else if (a >= 1e4)
		snprintf(buf, len, "%.0fk%s", v / 1e3, suffix);
	else if (a >= 1e3)
		snprintf(buf, len, "%.1fk%s", v / 1e3, suffix);
	else if (a >= 100 || v == floor(v))
		snprintf(buf, len, "%.0f%s", v, suffix);
	else
		snprintf(buf, len, "%.1f%s", v, suffix);
}

const char *dbk_sum_fmt_value(int series, double v, char *buf, size_t len)
{
	switch (series) {
	case DBK_SER_DB_SIZE:
		return dbk_fmt_bytes((int64_t)llround(v), buf, len);
	case DBK_SER_CACHE_HIT:
		snprintf(buf, len, "%.1f%%", v);
		return buf;
	case DBK_SER_REPL_LAG:
		if (fabs(v) >= 1000)
			snprintf(buf, len, "%.1f s", v / 1000);
		else
			snprintf(buf, len, "%.0f ms", v);
		return buf;
	case DBK_SER_XACT_RATE:
	case DBK_SER_QUERY_RATE:
		fmt_scaled(v, "/s", buf, len);
		return buf;
	default:
		fmt_scaled(v, "", buf, len);
		return buf;
	}
}

const char *dbk_sum_fmt_ms(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 " ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%.1f s", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 " min %" PRId64 " s", s / 60,
		         s % 60);
	else
		snprintf(buf, len, "%" PRId64 " h %" PRId64 " min", s / 3600,
		         s / 60 % 60);
	return buf;
}

const char *dbk_sum_fmt_count(int64_t v, char *buf, size_t len)
{
	char digits[32];
	int n = snprintf(digits, sizeof digits, "%" PRId64, v);
	size_t o = 0;

	for (int i = 0; i < n && o + 1 < len; i++) {
		if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0 &&
		    o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (len > 0)
		buf[o] = '\0';
	return buf;
}

int64_t dbk_sum_hk_reclaimed(const struct dbk_sum_hk *h)
{
	int64_t r = 0;

	acc_add(&r, h->tables_dropped_bytes);
	acc_add(&r, h->indexes_dropped_bytes);
	acc_add(&r, h->server_logs_bytes);
	acc_add(&r, h->rebuild_bytes_before - h->rebuild_bytes_after);
	return r;
}

const char *dbk_sum_fmt_delta_bytes(int64_t d, char *buf, size_t len)
{
	char b[32];

	dbk_fmt_bytes(d < 0 ? -d : d, b, sizeof b);
	snprintf(buf, len, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", b);
	return buf;
}

/* ---- The builder ---- */

struct builder {
	struct dbk_summary *s;
	const struct dbk_summary_opts *o;
	size_t cap_targets, cap_findings, cap_failures;
	/* name or composite key -> index into the arrays above */
	json_t *t_index, *f_index, *x_index;
	/* write-ahead action records ("started") by id, until their final
	 * record (which names it as "action_id") turns up */
	json_t *started;
};

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An integer field; a real is accepted when it fits (no UB on 1e300). */
static int64_t jint(const json_t *o, const char *key, int64_t dflt)
{
	const json_t *v = json_object_get(o, key);
	double d = 0;

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (!json_is_real(v))
		return dflt;
	d = json_real_value(v);
	return d > -9e18 && d < 9e18 ? (int64_t)d : dflt;
}

/* Length-prefixed parts keep keys unambiguous whatever the strings hold;
 * NULL differs from "". */
static char *group_key(const char *const *parts, size_t n)
{
	size_t len = 1;
	char *key = NULL, *p = NULL;

	for (size_t i = 0; i < n; i++)
		len += 24 + (parts[i] ? strlen(parts[i]) : 0);
	p = key = dbk_xmalloc(len);
	for (size_t i = 0; i < n; i++) {
		if (parts[i] == NULL)
			p += sprintf(p, "-:");
		else
			p += sprintf(p, "%zu:%s", strlen(parts[i]), parts[i]);
	}
	*p = '\0';
	return key;
}

static void cycles_init(struct dbk_sum_cycles *c)
{
	memset(c, 0, sizeof *c);
}

static size_t target_index(struct builder *b, const char *name)
{
	struct dbk_summary *s = b->s;
	json_t *ix = json_object_get(b->t_index, name);
	struct dbk_sum_target *t = NULL;

	if (ix != NULL)
		return (size_t)json_integer_value(ix);
	if (s->n_targets == b->cap_targets) {
		b->cap_targets = b->cap_targets ? b->cap_targets * 2 : 8;
		s->targets = dbk_xrealloc(s->targets,
		                          b->cap_targets * sizeof *s->targets);
	}
	t = &s->targets[s->n_targets];
	memset(t, 0, sizeof *t);
	t->name = dbk_xstrdup(name);
	t->size_start = t->size_end = -1;
	cycles_init(&t->cycles);
	json_object_set_new(b->t_index, name,
	                    json_integer((json_int_t)s->n_targets));
	return s->n_targets++;
}

/* Values beyond any real size or rate are a broken record; left out, they
 * cannot turn a sum into infinity (which JSON cannot hold). */
#define SUM_VALUE_MAX 1e18

static void series_add(struct dbk_sum_series *se, int64_t t_ms, double v)
{
	if (!isfinite(v) || fabs(v) > SUM_VALUE_MAX)
		return;
	if (se->n == se->cap) {
		se->cap = se->cap ? se->cap * 2 : 64;
		se->v = dbk_xrealloc(se->v, se->cap * sizeof *se->v);
	}
	se->v[se->n].t_ms = t_ms;
	se->v[se->n].v = v;
	if (se->n == 0 || v < se->min)
		se->min = v;
	if (se->n == 0 || v > se->max)
		se->max = v;
	se->sum += v;
	se->n++;
}

static void set_str(char **dst, const char *src)
{
	if (src == NULL)
		return;
	free(*dst);
	*dst = dbk_xstrdup(src);
}

/* The "server" object of run and metrics records: engine, version, size. */
static void on_server(struct dbk_sum_target *t, const json_t *rec, int64_t at)
{
	const json_t *srv = json_object_get(rec, "server");
	int64_t size = jint(srv, "db_size_bytes", -1);

	if (!json_is_object(srv))
		return;
	set_str(&t->flavour, jstr(srv, "flavour"));
	set_str(&t->version, jstr(srv, "version"));
	if (size < 0)
		return;
	if (t->size_start < 0) {
		t->size_start = size;
		t->size_start_ms = at;
	}
	t->size_end = size;
	t->size_end_ms = at;
	series_add(&t->series[DBK_SER_DB_SIZE], at, (double)size);
}

static void failure_add(struct builder *b, const char *target, const char *what,
                        const char *error, int64_t at)
{
	struct dbk_summary *s = b->s;
	const char *parts[3] = {target, what, error};
	char *key = group_key(parts, 3);
	json_t *ix = json_object_get(b->x_index, key);
	struct dbk_sum_failure *f = NULL;

	if (ix != NULL) {
		f = &s->failures[json_integer_value(ix)];
	} else {
		if (s->n_failures == b->cap_failures) {
			b->cap_failures =
			        b->cap_failures ? b->cap_failures * 2 : 16;
			s->failures = dbk_xrealloc(s->failures,
			                           b->cap_failures *
			                                   sizeof *s->failures);
		}
		f = &s->failures[s->n_failures];
		memset(f, 0, sizeof *f);
		f->target = dbk_xstrdup(target);
		f->what = dbk_xstrdup(what);
		f->error = dbk_xstrdup(error);
		f->first_ms = at;
		json_object_set_new(b->x_index, key,
		                    json_integer((json_int_t)s->n_failures++));
	}
	f->count++;
	f->last_ms = at;
	free(key);
}

static struct dbk_sum_task *task_get(struct dbk_sum_target *t, const char *name)
{
	for (size_t i = 0; i < t->n_tasks; i++)
		if (strcmp(t->tasks[i].name, name) == 0)
			return &t->tasks[i];
	t->tasks = dbk_xrealloc(t->tasks, (t->n_tasks + 1) * sizeof *t->tasks);
	t->tasks[t->n_tasks].name = dbk_xstrdup(name);
	t->tasks[t->n_tasks].first_due_end = 0;
	t->tasks[t->n_tasks].last_due_start = 0;
	return &t->tasks[t->n_tasks++];
}

static const struct dbk_sum_task *task_find(const struct dbk_sum_target *t,
                                            const char *name)
{
	for (size_t i = 0; name != NULL && i < t->n_tasks; i++)
		if (strcmp(t->tasks[i].name, name) == 0)
			return &t->tasks[i];
	return NULL;
}

/* A cycle that planned: which tasks it assessed ("due" in some policy),
 * and whether some task waited for its window. */
static void on_assessing_run(struct dbk_sum_target *t, const json_t *rec,
                             int64_t start, int64_t end)
{
	const json_t *tasks = json_object_get(rec, "tasks");
	const char *pname = NULL, *tname = NULL;
	json_t *pol = NULL, *state = NULL;
	bool waited = false;

	if (t->first_assess_end == 0)
		t->first_assess_end = end;
	t->last_assess_start = start;
	json_object_foreach((json_t *)tasks, pname, pol)
	{
		json_object_foreach(pol, tname, state)
		{
			const char *st = json_string_value(state);
			struct dbk_sum_task *k = NULL;

			if (st != NULL && strcmp(st, "outside_window") == 0)
				waited = true;
			if (st == NULL || strcmp(st, "due") != 0)
				continue;
			k = task_get(t, tname);
			if (k->first_due_end == 0)
				k->first_due_end = end;
			k->last_due_start = start;
		}
	}
	if (waited)
		t->cycles.outside_window++;
}

static void on_run(struct builder *b, struct dbk_sum_target *t,
                   const json_t *rec, int64_t at)
{
	struct dbk_sum_cycles *c = &t->cycles;
	const char *status = jstr(rec, "status");
	int64_t dur = jint(rec, "duration_ms", 0);

	if (status == NULL)
		status = "?";
	if (dur < 0 || dur > at)
		dur = 0; /* nonsense; the cycle is then taken to start at its
		            end */
	c->runs++;
	acc_add(&c->time_ms, dur);
	if (c->first_ms == 0)
		c->first_ms = at;
	c->last_ms = at;
	set_str(&c->last_status, status);
	on_server(t, rec, at);
	if (strcmp(status, "failed") == 0) {
		const char *e = jstr(rec, "error");

		c->failed++;
		set_str(&c->last_error, e ? e : "(no error text)");
		failure_add(b, t->name, "cycle", e ? e : "(no error text)", at);
		return;
	}
	if (strcmp(status, "busy") == 0) {
		c->busy++;
		return;
	}
	if (strcmp(status, "finished") == 0)
		c->finished++;
	else if (strcmp(status, "stopped_budget") == 0)
		c->stopped_budget++;
	else if (strcmp(status, "stopped") == 0)
		c->stopped++;
	else
		return; /* a status we do not know says nothing about findings
		         */
	on_assessing_run(t, rec, at - dur - SUM_CYCLE_SLACK_MS, at);
}

static bool index_action(const char *action)
{
	return strcmp(action, "rebuild_index") == 0 ||
	       strcmp(action, "drop_index") == 0;
}

/* Objects with status "done". An index action's second object is its
 * table, which only shares the index's fate: one index, not two. */
static unsigned objects_done(const char *action, const json_t *objs)
{
	unsigned n = 0;
	size_t i = 0;
	json_t *o = NULL;

	json_array_foreach(objs, i, o)
	{
		const char *st = jstr(o, "status");

		if (i > 0 && index_action(action))
			break;
		n += st != NULL && strcmp(st, "done") == 0;
	}
	return n;
}

/* "rebuild_index public.idx_a", "drop_tables public.t1 (+2 more)". */
static char *action_what(const char *action, const json_t *objs)
{
	const json_t *o = json_array_get(objs, 0);
	const char *schema = jstr(o, "schema"), *name = jstr(o, "name");
	size_t n = json_array_size(objs);
	char more[32] = "";

	if (name == NULL)
		return dbk_xstrdup(action);
	if (n > 1 && !index_action(action))
		snprintf(more, sizeof more, " (+%zu more)", n - 1);
	return dbk_xasprintf("%s %s%s%s%s", action, schema ? schema : "",
	                     schema ? "." : "", name, more);
}

/* Outcome names as runner.c's dbk_outcome_name spells them. */
static bool outcome_counted(struct dbk_sum_hk *hk, const char *outcome)
{
	if (outcome == NULL || strcmp(outcome, "none") == 0)
		return false;
	if (strcmp(outcome, "dry-run") == 0) {
		hk->dry_run++;
		return false;
	}
	if (strcmp(outcome, "carried") == 0) {
		hk->carried++;
		return false;
	}
	if (strcmp(outcome, "done") == 0)
		hk->done++;
	else if (strcmp(outcome, "partial") == 0)
		hk->partial++;
	else if (strcmp(outcome, "skipped") == 0)
		hk->skipped++;
	else if (strcmp(outcome, "failed") == 0)
		hk->failed++;
	return true;
}

/* Pairs write-ahead records with final ones, whichever the scan meets
 * first (two records of one millisecond sort by sequence as text): a
 * "started" entry waits for its final record, a "final" one for its start. */
static bool write_ahead(struct builder *b, size_t target, const json_t *rec,
                        const char *action, const char *outcome, int64_t at)
{
	const char *id = jstr(rec, "id"), *ref = jstr(rec, "action_id");
	char *what = NULL;

	if (outcome != NULL && strcmp(outcome, "started") == 0 && id != NULL) {
		if (json_object_get(b->started, id) != NULL) {
			json_object_del(b->started,
			                id); /* its final came first */
			return true;
		}
		what = action_what(action ? action : "action",
		                   json_object_get(rec, "objects"));
		json_object_set_new(b->started, id,
		                    json_pack("{s:I, s:I, s:s}", "target",
		                              (json_int_t)target, "at",
		                              (json_int_t)at, "what", what));
		free(what);
		return true;
	}
	if (ref != NULL && json_object_get(b->started, ref) != NULL)
		json_object_del(b->started, ref);
	else if (ref != NULL)
		json_object_set_new(b->started, ref, json_null());
	return false;
}

static void on_action(struct builder *b, size_t ix, const json_t *rec,
                      int64_t at)
{
	struct dbk_sum_target *t = &b->s->targets[ix];
	struct dbk_sum_hk *hk = &t->hk;
	const char *action = jstr(rec, "action"),
	           *outcome = jstr(rec, "outcome");
	const char *error = jstr(rec, "error");
	const json_t *objs = json_object_get(rec, "objects");
	unsigned done = 0;
	int64_t rows = jint(rec, "rows", 0),
	        before = jint(rec, "bytes_before", 0);
	int64_t after = jint(rec, "bytes_after", 0);
	bool did = false;

	if (write_ahead(b, ix, rec, action, outcome, at))
		return;
	hk->actions++;
	if (action == NULL || !outcome_counted(hk, outcome))
		return;
	done = objects_done(action, objs);
	did = done > 0 || rows > 0;
	acc_add(&hk->time_ms, jint(rec, "duration_ms", 0));
	if (strcmp(action, "drop_tables") == 0) {
		hk->tables_dropped += done;
		acc_add(&hk->tables_dropped_bytes, did ? before : 0);
	} else if (strcmp(action, "purge_rows") == 0) {
		acc_add(&hk->rows_purged, rows);
	} else if (strcmp(action, "purge_server_logs") == 0) {
		hk->server_logs_removed += done;
		acc_add(&hk->server_logs_bytes, did ? before : 0);
	} else if (strcmp(action, "rebuild_index") == 0) {
		hk->indexes_rebuilt += done;
		acc_add(&hk->rebuild_bytes_before, did ? before : 0);
		acc_add(&hk->rebuild_bytes_after, did ? after : 0);
	} else if (strcmp(action, "drop_index") == 0) {
		hk->indexes_dropped += done;
		acc_add(&hk->indexes_dropped_bytes, did ? before : 0);
	} else if (strcmp(action, "analyze") == 0) {
		hk->tables_analyzed += done;
	}
	/* A skip (lock not granted) or a partial run is not a failure. */
	if (strcmp(outcome, "failed") == 0) {
		char *what = action_what(action, objs);
		const char *why = error ? error : jstr(rec, "note");

		failure_add(b, t->name, what, why ? why : "(no error text)",
		            at);
		free(what);
	}
}

/* A write-ahead record without a final one, followed by a later cycle of
 * its target: the agent stopped or crashed during the action, and its
 * outcome is unknown. Without a later cycle it may still be running. */
static void interrupted(struct builder *b)
{
	const char *id = NULL;
	json_t *st = NULL;

	json_object_foreach(b->started, id, st)
	{
		struct dbk_sum_target *t = NULL;
		int64_t at = jint(st, "at", 0);

		if (!json_is_object(st))
			continue;
		t = &b->s->targets[jint(st, "target", 0)];
		if (t->cycles.last_ms <= at)
			continue;
		t->hk.actions++;
		t->hk.interrupted++;
		failure_add(b, t->name, jstr(st, "what"),
		            "no outcome was recorded: the "
		            "agent stopped or crashed during the action",
		            at);
	}
}

static void on_finding(struct builder *b, struct dbk_sum_target *t,
                       const json_t *rec, int64_t at)
{
	struct dbk_summary *s = b->s;
	const char *status = jstr(rec, "status");
	const char *lkey = jstr(rec, "key");
	const char *parts[4] = {t->name, jstr(rec, "category"),
	                        jstr(rec, "object"), jstr(rec, "title")};
	/* A lasting finding's records share a stable key; its title may
	 * quote the measured value and change from record to record. */
	const char *kparts[2] = {t->name, lkey};
	char *key = lkey != NULL ? group_key(kparts, 2) : group_key(parts, 4);
	json_t *ix = NULL;
	struct dbk_sum_finding *f = NULL;

	/* An engineer's on-demand tune run opens and resolves nothing. */
	if (status != NULL && strcmp(status, "on_demand") == 0) {
		free(key);
		return;
	}
	ix = json_object_get(b->f_index, key);

	if (ix != NULL) {
		f = &s->findings[json_integer_value(ix)];
	} else {
		if (s->n_findings == b->cap_findings) {
			b->cap_findings =
			        b->cap_findings ? b->cap_findings * 2 : 32;
			s->findings = dbk_xrealloc(s->findings,
			                           b->cap_findings *
			                                   sizeof *s->findings);
		}
		f = &s->findings[s->n_findings];
		memset(f, 0, sizeof *f);
		f->target = dbk_xstrdup(parts[0]);
		f->category = dbk_xstrdup(parts[1] ? parts[1] : "other");
		f->object = dbk_xstrdup(parts[2]);
		f->title =
		        dbk_xstrdup(parts[3] ? parts[3] : "(untitled finding)");
		f->first_ms = at;
		json_object_set_new(b->f_index, key,
		                    json_integer((json_int_t)s->n_findings++));
	}
	/* The latest sighting says what the finding is now. A lasting
	 * finding is recorded only when it opens, changes, is reminded of
	 * or resolves, and carries its own count of sightings. */
	f->count++;
	if (json_integer_value(json_object_get(rec, "count")) > (json_int_t)f->count)
		f->count = (unsigned)json_integer_value(json_object_get(rec, "count"));
	f->last_ms = at;
	if (status != NULL && strcmp(status, "resolved") == 0) {
		f->lasting = 2;
	} else if (status != NULL) {
		f->lasting = 1;
		f->lasting_opened |= strcmp(status, "open") == 0;
	}
	set_str(&f->title, jstr(rec, "title"));
	f->severity = sev_parse(jstr(rec, "severity"));
	set_str(&f->evidence, jstr(rec, "evidence"));
	set_str(&f->recommendation, jstr(rec, "recommendation"));
	free(key);
}

/* Sums of one metric over its labels (databases, replicas). A counter
 * without a rate (first snapshot, or reset) spoils the sum: no point is
 * better than a wrong one. */
struct msum {
	double sum, max;
	unsigned n;
	bool bad;
};

struct mvals {
	struct msum hit, read, req, reads, xact, questions; /* rates */
	struct msum conn_total, threads, conn_gauge, lag;   /* gauges */
};

static void msum_rate(struct msum *m, const json_t *v)
{
	const json_t *r = json_object_get(v, "rate_per_s");

	if (!json_is_number(r)) {
		m->bad = true;
		return;
	}
	m->sum += json_number_value(r);
	m->n++;
}

static void msum_gauge(struct msum *m, const json_t *v)
{
	const json_t *x = json_object_get(v, "value");
	double d = json_number_value(x);

	if (!json_is_number(x))
		return;
	m->sum += d;
	m->max = m->n == 0 || d > m->max ? d : m->max;
	m->n++;
}

static bool msum_ok(const struct msum *m)
{
	return m->n > 0 && !m->bad;
}

/* Metric names as the drivers report them (pgd_metrics.c, myd_metrics.c). */
static void mvals_add(struct mvals *mv, const json_t *v)
{
	const char *name = jstr(v, "name"), *kind = jstr(v, "kind");
	bool gauge = kind == NULL || strcmp(kind, "gauge") == 0;

	if (name == NULL)
		return;
	if (strcmp(name, "blks_hit") == 0)
		msum_rate(&mv->hit, v);
	else if (strcmp(name, "blks_read") == 0)
		msum_rate(&mv->read, v);
	else if (strcmp(name, "innodb_buffer_pool_read_requests") == 0)
		msum_rate(&mv->req, v);
	else if (strcmp(name, "innodb_buffer_pool_reads") == 0)
		msum_rate(&mv->reads, v);
	else if (strcmp(name, "xact_commit") == 0)
		msum_rate(&mv->xact, v);
	else if (strcmp(name, "questions") == 0)
		msum_rate(&mv->questions, v);
	else if (strcmp(name, "connections_total") == 0)
		msum_gauge(&mv->conn_total, v);
	else if (strcmp(name, "threads_connected") == 0)
		msum_gauge(&mv->threads, v);
	else if (strcmp(name, "connections") == 0 && gauge)
		msum_gauge(&mv->conn_gauge,
		           v); /* MySQL's is a counter: not this */
	else if (strcmp(name, "replication_lag") == 0 ||
	         strcmp(name, "replica_replay_lag") == 0 ||
	         strcmp(name, "replica_lag") == 0)
		msum_gauge(&mv->lag, v);
}

static void on_metrics(struct dbk_sum_target *t, const json_t *rec, int64_t at)
{
	struct mvals mv;
	struct dbk_sum_series *se = t->series;
	size_t i = 0;
	json_t *v = NULL;

	memset(&mv, 0, sizeof mv);
	on_server(t, rec, at);
	json_array_foreach(json_object_get(rec, "values"), i, v)
	        mvals_add(&mv, v);
	if (msum_ok(&mv.hit) && msum_ok(&mv.read) &&
	    mv.hit.sum + mv.read.sum > 0)
		series_add(&se[DBK_SER_CACHE_HIT], at,
		           100.0 * mv.hit.sum / (mv.hit.sum + mv.read.sum));
	else if (msum_ok(&mv.req) && msum_ok(&mv.reads) && mv.req.sum > 0)
		series_add(
		        &se[DBK_SER_CACHE_HIT], at,
		        fmax(0.0, 100.0 * (1.0 - mv.reads.sum / mv.req.sum)));
	if (mv.conn_total.n > 0)
		series_add(&se[DBK_SER_CONNECTIONS], at, mv.conn_total.sum);
	else if (mv.threads.n > 0)
		series_add(&se[DBK_SER_CONNECTIONS], at, mv.threads.sum);
	else if (mv.conn_gauge.n > 0)
		series_add(&se[DBK_SER_CONNECTIONS], at, mv.conn_gauge.sum);
	if (msum_ok(&mv.xact))
		series_add(&se[DBK_SER_XACT_RATE], at, mv.xact.sum);
	if (msum_ok(&mv.questions))
		series_add(&se[DBK_SER_QUERY_RATE], at, mv.questions.sum);
	if (mv.lag.n > 0)
		series_add(&se[DBK_SER_REPL_LAG], at, mv.lag.max);
}

static int on_record(void *ctx, const char *box, const char *id, json_t *rec)
{
	struct builder *b = ctx;
	const char *target = jstr(rec, "target");
	int kind = dbk_rec_kind_parse(jstr(rec, "kind"));
	int64_t at = jint(rec, "time_ms", 0);
	struct dbk_sum_target *t = NULL;
	size_t ix = 0;

	(void)box;
	(void)id;
	if (target == NULL || kind < 0) {
		b->s->ignored++;
		return 0;
	}
	b->s->records++;
	ix = target_index(b, target); /* may move s->targets */
	t = &b->s->targets[ix];
	t->records++;
	switch (kind) {
	case DBK_REC_RUN:
		on_run(b, t, rec, at);
		break;
	case DBK_REC_ACTION:
		on_action(b, ix, rec, at);
		break;
	case DBK_REC_FINDING:
		on_finding(b, t, rec, at);
		break;
	case DBK_REC_METRICS:
		on_metrics(t, rec, at);
		break;
	default:
		break;
	}
	return 0;
}

/* The queue warns once per file it cannot use (and sets aside in bad/
 * when its content is the problem); count them for the notes. */
static void on_warn(void *ctx, const char *msg)
{
	struct builder *b = ctx;

	b->s->unreadable++;
	if (b->o->warn != NULL)
		b->o->warn(b->o->warn_ctx, msg);
}

/* ---- After the scan: findings, days, totals, the conclusion ---- */

static const struct dbk_sum_target *target_by_name(const struct dbk_summary *s,
                                                   const char *name)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (strcmp(s->targets[i].name, name) == 0)
			return &s->targets[i];
	return NULL;
}

/* Open: seen in (or after) the last cycle that assessed its task; with no
 * such cycle in the period we cannot tell, and say open. Opened: first seen
 * after the first cycle that assessed it, so it was not there at the start. */
static void finding_status(struct dbk_sum_finding *f,
                           const struct dbk_sum_target *t)
{
	const struct dbk_sum_task *k = task_find(t, f->category);
	int64_t last_start = k ? k->last_due_start : t->last_assess_start;
	int64_t first_end = k ? k->first_due_end : t->first_assess_end;

	f->open = last_start == 0 || f->last_ms >= last_start;
	f->opened = first_end != 0 && f->first_ms > first_end;
	/* Lasting findings say their state in their records. */
	if (f->lasting != 0) {
		f->open = f->lasting == 1;
		f->opened = f->lasting_opened;
	}
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int finding_cmp(const void *pa, const void *pb)
{
	const struct dbk_sum_finding *a = pa, *b = pb;
	int c = 0;

	if (a->open != b->open)
		return a->open ? -1 : 1;
	if (a->severity != b->severity)
		return b->severity - a->severity;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if ((c = cmp_str(a->target, b->target)) != 0 ||
	    (c = cmp_str(a->category, b->category)) != 0 ||
	    (c = cmp_str(a->object, b->object)) != 0)
		return c;
	return cmp_str(a->title, b->title);
}

static int failure_cmp(const void *pa, const void *pb)
{
	const struct dbk_sum_failure *a = pa, *b = pb;
	int c = 0;

	if (a->last_ms != b->last_ms)
		return a->last_ms > b->last_ms ? -1 : 1;
	if ((c = cmp_str(a->target, b->target)) != 0 ||
	    (c = cmp_str(a->what, b->what)) != 0)
		return c;
	return cmp_str(a->error, b->error);
}

static int target_cmp(const void *pa, const void *pb)
{
	const struct dbk_sum_target *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

static void findings_finish(struct dbk_summary *s)
{
	for (size_t i = 0; i < s->n_findings; i++) {
		struct dbk_sum_finding *f = &s->findings[i];
		struct dbk_sum_target *t =
		        (struct dbk_sum_target *)target_by_name(s, f->target);

		finding_status(f, t);
		if (f->open) {
			t->open[f->severity]++;
			s->open[f->severity]++;
		} else {
			t->resolved[f->severity]++;
			s->resolved[f->severity]++;
		}
		if (f->opened) {
			t->opened[f->severity]++;
			s->opened[f->severity]++;
		}
	}
	if (s->n_findings > 1)
		qsort(s->findings, s->n_findings, sizeof *s->findings,
		      finding_cmp);
}

/* Local calendar days of a series; points are in time order. */
static void series_days(struct dbk_sum_series *se)
{
	int64_t day_end = INT64_MIN;
	struct dbk_sum_day *d = NULL;

	for (size_t i = 0; i < se->n; i++) {
		const struct dbk_sum_point *p = &se->v[i];

		if (d == NULL || p->t_ms >= day_end ||
		    p->t_ms < day_end - 90000000) {
			struct tm tm;

			se->days = dbk_xrealloc(
			        se->days, (se->n_days + 1) * sizeof *se->days);
			d = &se->days[se->n_days++];
			memset(d, 0, sizeof *d);
			local_tm(p->t_ms, &tm);
			strftime(d->date, sizeof d->date, "%Y-%m-%d", &tm);
			day_end = local_midnight(tm.tm_year + 1900, tm.tm_mon,
			                         tm.tm_mday + 1);
			d->min = d->max = p->v;
		}
		d->min = p->v < d->min ? p->v : d->min;
		d->max = p->v > d->max ? p->v : d->max;
		d->avg += p->v; /* the sum until the division below */
		d->last = p->v;
		d->n++;
	}
	for (size_t i = 0; i < se->n_days; i++)
		se->days[i].avg /= se->days[i].n;
}

static void hk_add(struct dbk_sum_hk *to, const struct dbk_sum_hk *h)
{
	to->tables_dropped += h->tables_dropped;
	acc_add(&to->tables_dropped_bytes, h->tables_dropped_bytes);
	acc_add(&to->rows_purged, h->rows_purged);
	to->server_logs_removed += h->server_logs_removed;
	acc_add(&to->server_logs_bytes, h->server_logs_bytes);
	to->indexes_rebuilt += h->indexes_rebuilt;
	acc_add(&to->rebuild_bytes_before, h->rebuild_bytes_before);
	acc_add(&to->rebuild_bytes_after, h->rebuild_bytes_after);
	to->indexes_dropped += h->indexes_dropped;
	acc_add(&to->indexes_dropped_bytes, h->indexes_dropped_bytes);
	to->tables_analyzed += h->tables_analyzed;
	acc_add(&to->time_ms, h->time_ms);
	to->actions += h->actions;
	to->done += h->done;
	to->partial += h->partial;
	to->skipped += h->skipped;
	to->failed += h->failed;
	to->dry_run += h->dry_run;
	to->carried += h->carried;
	to->interrupted += h->interrupted;
}

static void cycles_add(struct dbk_sum_cycles *to,
                       const struct dbk_sum_cycles *c)
{
	to->runs += c->runs;
	to->finished += c->finished;
	to->stopped_budget += c->stopped_budget;
	to->stopped += c->stopped;
	to->busy += c->busy;
	to->failed += c->failed;
	to->outside_window += c->outside_window;
	acc_add(&to->time_ms, c->time_ms);
	if (c->runs > 0 && (to->first_ms == 0 || c->first_ms < to->first_ms))
		to->first_ms = c->first_ms;
	if (c->last_ms > to->last_ms)
		to->last_ms = c->last_ms;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = dbk_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

/* Appends "a, b, c, ..." to a reason being built. */
struct names {
	char buf[512];
	unsigned n;
};

static void names_add(struct names *nm, const char *fmt, ...) DBK_PRINTF(2, 3);

static void names_add(struct names *nm, const char *fmt, ...)
{
	size_t len = strlen(nm->buf);
	va_list ap;

	if (nm->n++ >= SUM_NAMED_MAX) {
		if (nm->n == SUM_NAMED_MAX + 1 && len + 6 < sizeof nm->buf)
			strcat(nm->buf, ", ...");
		return;
	}
	if (nm->n > 1 && len + 2 < sizeof nm->buf)
		strcat(nm->buf, ", ");
	len = strlen(nm->buf);
	va_start(ap, fmt);
	vsnprintf(nm->buf + len, sizeof nm->buf - len, fmt, ap);
	va_end(ap);
}

static void reason(struct dbk_summary *s, int level, const char *fmt, ...)
        DBK_PRINTF(3, 4);

static void reason(struct dbk_summary *s, int level, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	push(&s->reasons, &s->n_reasons, msg);
	if (level > s->verdict)
		s->verdict = level;
}

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

static void reasons_findings(struct dbk_summary *s)
{
	struct names crit = {"", 0}, warn = {"", 0};

	for (size_t i = 0; i < s->n_findings; i++) {
		const struct dbk_sum_finding *f = &s->findings[i];

		if (f->open && f->severity == 2)
			names_add(&crit, "%s (%s)", f->title, f->target);
		else if (f->open && f->severity == 1)
			names_add(&warn, "%s (%s)", f->title, f->target);
	}
	if (crit.n > 0)
		reason(s, DBK_SUM_ACTION,
		       "%u critical finding%s still open: %s", crit.n,
		       plural(crit.n), crit.buf);
	if (warn.n > 0)
		reason(s, DBK_SUM_ATTENTION, "%u warning%s still open: %s",
		       warn.n, plural(warn.n), warn.buf);
}

static void reasons_cycles(struct dbk_summary *s)
{
	struct names failed = {"", 0}, silent = {"", 0};
	unsigned n_failed = 0;

	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dbk_sum_target *t = &s->targets[i];
		const struct dbk_sum_cycles *c = &t->cycles;

		if (c->runs > 0 && c->failed == c->runs)
			reason(s, DBK_SUM_ACTION,
			       "Every cycle on %s failed (%u); the "
			       "agent cannot work there: %s",
			       t->name, c->runs,
			       c->last_error ? c->last_error : "no error text");
		else if (c->failed > 0) {
			n_failed += c->failed;
			names_add(&failed, "%s: %u", t->name, c->failed);
		}
		if (c->runs == 0 && t->configured)
			names_add(&silent, "%s", t->name);
	}
	if (n_failed > 0)
		reason(s, DBK_SUM_ATTENTION, "%u cycle%s failed (%s)", n_failed,
		       plural(n_failed), failed.buf);
	if (silent.n > 0)
		reason(s, DBK_SUM_ATTENTION,
		       "No cycle was recorded for %s in this "
		       "period; is the agent running?",
		       silent.buf);
	else if (s->total_cycles.runs == 0)
		reason(s, DBK_SUM_ATTENTION,
		       "No cycle was recorded in this period; "
		       "is the agent running?");
}

static bool interrupted_failure(const struct dbk_sum_failure *x)
{
	return strncmp(x->error, "no outcome was recorded", 23) == 0;
}

static void reasons_actions(struct dbk_summary *s)
{
	struct names failed = {"", 0}, cut = {"", 0};

	for (size_t i = 0; i < s->n_failures; i++) {
		const struct dbk_sum_failure *x = &s->failures[i];

		if (strcmp(x->what, "cycle") == 0)
			continue;
		names_add(interrupted_failure(x) ? &cut : &failed, "%s (%s)",
		          x->what, x->target);
	}
	if (s->total.failed > 0)
		reason(s, DBK_SUM_ATTENTION,
		       "%u housekeeping action%s failed: %s", s->total.failed,
		       plural(s->total.failed), failed.buf);
	if (s->total.interrupted > 0)
		reason(s, DBK_SUM_ATTENTION,
		       "%u housekeeping action%s ended without an "
		       "outcome (the agent stopped or crashed): %s",
		       s->total.interrupted, plural(s->total.interrupted),
		       cut.buf);
}

static void conclude(struct dbk_summary *s)
{
	const struct dbk_sum_cycles *c = &s->total_cycles;
	unsigned n_targets = 0;

	s->verdict = DBK_SUM_HEALTHY;
	reasons_findings(s);
	reasons_cycles(s);
	reasons_actions(s);
	if (s->verdict != DBK_SUM_HEALTHY)
		return;
	for (size_t i = 0; i < s->n_targets; i++)
		n_targets += s->targets[i].cycles.runs > 0;
	reason(s, DBK_SUM_HEALTHY,
	       "%u cycle%s on %u target%s, none failed; no "
	       "critical finding or warning is open",
	       c->runs, plural(c->runs), n_targets, plural(n_targets));
}

static void notes(struct dbk_summary *s)
{
	if (s->unreadable > 0)
		push(&s->notes, &s->n_notes,
		     dbk_xasprintf("%u queue file%s could not be read and %s "
		                   "left out (unparsable files are moved to "
		                   "bad/)",
		                   s->unreadable, plural(s->unreadable),
		                   s->unreadable == 1 ? "was" : "were"));
	if (s->ignored > 0)
		push(&s->notes, &s->n_notes,
		     dbk_xasprintf("%u record%s without a target or of an "
		                   "unknown kind left out",
		                   s->ignored, plural(s->ignored)));
}

static void finish(struct dbk_summary *s)
{
	for (size_t i = 0; i < s->n_targets; i++)
		for (int k = 0; k < DBK_SER_COUNT; k++)
			series_days(&s->targets[i].series[k]);
	findings_finish(s);
	if (s->n_failures > 1)
		qsort(s->failures, s->n_failures, sizeof *s->failures,
		      failure_cmp);
	if (s->n_targets > 1)
		qsort(s->targets, s->n_targets, sizeof *s->targets, target_cmp);
	for (size_t i = 0; i < s->n_targets; i++) {
		hk_add(&s->total, &s->targets[i].hk);
		cycles_add(&s->total_cycles, &s->targets[i].cycles);
	}
	conclude(s);
	notes(s);
}

struct dbk_summary *dbk_summary_build(struct dbk_queue *q,
                                      const struct dbk_summary_opts *o,
                                      struct dbk_err *err)
{
	struct dbk_summary *s = NULL;
	struct builder b = {.o = o};
	struct dbk_queue_filter f;

	if (o->period.to_ms <= o->period.from_ms) {
		dbk_err_set(err, DBK_E_CONFIG, "summary: the period is empty");
		return NULL;
	}
	b.s = s = dbk_xcalloc(1, sizeof *s);

	s->period = o->period;
	s->generated_ms = o->now_ms;
	s->queue =
	        dbk_xstrdup(o->queue_name ? o->queue_name : dbk_queue_name(q));
	s->target_filter = dbk_xstrdup(o->target);
	cycles_init(&s->total_cycles);
	b.t_index = json_object();
	b.f_index = json_object();
	b.x_index = json_object();
	b.started = json_object();
	/* Configured targets are listed even when silent: silence is news. */
	for (size_t i = 0; i < o->n_configured; i++) {
		size_t ix = 0;

		if (o->target != NULL &&
		    strcmp(o->target, o->configured[i]) != 0)
			continue;
		ix = target_index(&b,
		                  o->configured[i]); /* may move s->targets */
		s->targets[ix].configured = true;
	}
	dbk_queue_filter_init(&f);
	f.target = o->target;
	f.since_ms = o->period.from_ms;
	f.until_ms = o->period.to_ms;
	if (dbk_queue_scan(q, &f, on_record, on_warn, &b, err) == -1) {
		dbk_summary_free(s);
		s = NULL;
	} else {
		interrupted(&b);
		finish(s);
	}
	json_decref(b.started);
	json_decref(b.t_index);
	json_decref(b.f_index);
	json_decref(b.x_index);
	return s;
}

void dbk_summary_free(struct dbk_summary *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct dbk_sum_target *t = &s->targets[i];

		free(t->name);
		free(t->flavour);
		free(t->version);
		free(t->cycles.last_status);
		free(t->cycles.last_error);
		for (int k = 0; k < DBK_SER_COUNT; k++) {
			free(t->series[k].v);
			free(t->series[k].days);
		}
		for (size_t k = 0; k < t->n_tasks; k++)
			free(t->tasks[k].name);
		free(t->tasks);
	}
	for (size_t i = 0; i < s->n_findings; i++) {
		struct dbk_sum_finding *f = &s->findings[i];

		free(f->target);
		free(f->category);
		free(f->object);
		free(f->title);
		free(f->evidence);
		free(f->recommendation);
	}
	for (size_t i = 0; i < s->n_failures; i++) {
		free(s->failures[i].target);
		free(s->failures[i].what);
		free(s->failures[i].error);
	}
	for (size_t i = 0; i < s->n_reasons; i++)
		free(s->reasons[i]);
	for (size_t i = 0; i < s->n_notes; i++)
		free(s->notes[i]);
	free(s->reasons);
	free(s->notes);
	free(s->targets);
	free(s->findings);
	free(s->failures);
	free(s->queue);
	free(s->target_filter);
	free(s);
}
