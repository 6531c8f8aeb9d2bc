/* agent/facts.c: turns what a driver reported (metrics, tables, indexes)
 * plus the agent's memory (the previous sample, index usage history) and
 * the host's size into the named values tuning rules test. Every ratio,
 * rate, guard against too little data, and configuration suggestion lives
 * here and only here. Pure: no I/O, no clock, no thresholds of severity
 * (those are the rules'). */
#include "facts.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "planner.h"
#include "util.h"

/* Below these, a ratio says more about chance than about the server. */
#define MIN_BLOCK_REQUESTS 10000.0  /* cache hit ratio */
#define MIN_TMP_TABLES 100.0        /* on-disk temporary table ratio */
#define MIN_CHECKPOINTS 3.0         /* requested checkpoint ratio */
#define MIN_DEAD_ROWS 1000.0        /* dead row ratio */
#define MIN_MODIFIED_ROWS 1000      /* stale statistics */
#define MIN_SEQ_TABLE_BYTES (8.0 * 1024 * 1024)
#define MIN_SEQ_ROWS 100000.0       /* rows read by sequential/full scans */
#define HYPO_MIN_GAIN 0.3           /* hypothetical index: 30% cheaper */
#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * MIB)

/* ---- The catalogue ---- */

#define SRC_M DBK_SRC_METRICS
#define SRC_MR (DBK_SRC_METRICS | DBK_SRC_RATES)
#define SRC_MH (DBK_SRC_METRICS | DBK_SRC_HOST)
#define CONFIG_FIELDS "parameter current suggested reason setting"

static const struct dbk_fact_def defs[] = {
	{ "cache_hit_ratio", "ratio", SRC_M, "hits reads window",
	  "share of block/page requests served from the buffer cache" },
	{ "connection_usage", "ratio", SRC_M, "connections max_connections",
	  "client connections as a share of max_connections" },
	{ "idle_in_transaction", "s", SRC_M, "",
	  "longest time a session has sat idle inside an open transaction" },
	{ "longest_transaction", "s", SRC_M, "",
	  "age of the oldest open transaction" },
	{ "xid_age", "count", SRC_M, "database remedy",
	  "age of the oldest unfrozen transaction ID of a database (PostgreSQL)" },
	{ "replication_lag", "s", SRC_M, "replica",
	  "how far a replica is behind" },
	{ "inactive_slot_wal", "bytes", SRC_M, "slot remedy",
	  "WAL an inactive replication slot keeps from being removed (PostgreSQL)" },
	{ "temp_bytes_rate", "bytes_per_s", SRC_MR, "files work_mem",
	  "bytes written to temporary files per second (PostgreSQL)" },
	{ "tmp_disk_table_ratio", "ratio", SRC_MR, "disk_tables tables",
	  "share of internal temporary tables created on disk (MySQL)" },
	{ "deadlocks", "count", SRC_MR, "window",
	  "deadlocks since the previous sample" },
	{ "lock_waits", "count", SRC_M, "longest",
	  "sessions waiting for a lock now" },
	{ "checkpoint_requested_ratio", "ratio", SRC_MR,
	  "requested timed window current suggested setting",
	  "share of checkpoints forced by WAL volume rather than by time (PostgreSQL)" },
	{ "table_dead_ratio", "ratio", SRC_M,
	  "dead live autovacuum last_vacuum table_sql remedy",
	  "dead rows as a share of a table's rows, with its autovacuum state (PostgreSQL)" },
	{ "stale_statistics", "ratio", DBK_SRC_TABLES,
	  "modified rows last_analyze table_sql remedy",
	  "rows modified since the last ANALYZE as a share of the rows" },
	{ "seq_scan_ratio", "ratio", SRC_M,
	  "seq_scans idx_scans rows_read size statements hypo index_sql table_sql remedy",
	  "share of a large table's reads done by sequential (full) scans" },
	{ "unused_index_days", "days", DBK_SRC_INDEXES | DBK_SRC_METRICS,
	  "size table observed_since resets index_sql remedy",
	  "days the agent has watched an index without seeing it used" },
	{ "duplicate_index", "count", DBK_SRC_INDEXES,
	  "duplicate_of size table index_sql remedy",
	  "an index with the same definition as another one" },
	{ "invalid_index", "count", DBK_SRC_INDEXES, "size table index_sql remedy",
	  "an index left invalid by a failed concurrent build (PostgreSQL)" },
	{ "config_shared_buffers", "factor", SRC_MH, CONFIG_FIELDS,
	  "shared_buffers against host memory (PostgreSQL)" },
	{ "config_effective_cache_size", "factor", SRC_MH, CONFIG_FIELDS,
	  "effective_cache_size against host memory (PostgreSQL)" },
	{ "config_work_mem", "factor", SRC_MH, CONFIG_FIELDS,
	  "work_mem against host memory and max_connections (PostgreSQL)" },
	{ "config_maintenance_work_mem", "factor", SRC_MH, CONFIG_FIELDS,
	  "maintenance_work_mem against host memory (PostgreSQL)" },
	{ "config_max_parallel_workers", "factor", SRC_MH, CONFIG_FIELDS,
	  "max_parallel_workers against the host's CPUs (PostgreSQL)" },
	{ "config_innodb_buffer_pool_size", "factor", SRC_MH, CONFIG_FIELDS,
	  "innodb_buffer_pool_size against host memory (MySQL)" },
	{ "config_innodb_log_file_size", "factor", SRC_MH, CONFIG_FIELDS,
	  "innodb_log_file_size against the suggested buffer pool (MySQL)" },
	{ "config_max_connections", "factor", SRC_M, CONFIG_FIELDS,
	  "max_connections against the most connections ever used (MySQL)" },
	{ "config_table_open_cache", "factor", SRC_MR, CONFIG_FIELDS,
	  "table_open_cache against tables opened per second (MySQL)" },
	{ NULL, NULL, 0, NULL, NULL },
};

static const struct dbk_fact_def raw_def = {
	"metric.*", "", DBK_SRC_METRICS, "",
	"a driver metric as reported: a gauge's value, a counter's rate per second"
};

const struct dbk_fact_def *dbk_fact_defs(void)
{
	return defs;
}

const struct dbk_fact_def *dbk_fact_def_find(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strncmp(name, "metric.", 7) == 0 && name[7] != '\0')
		return &raw_def;
	for (const struct dbk_fact_def *d = defs; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static const char *def_unit(const char *name)
{
	const struct dbk_fact_def *d = dbk_fact_def_find(name);

	return d != NULL ? d->unit : "";
}

/* ---- Labels ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static char *pct_decode(const char *s, size_t n)
{
	char *out = dbk_xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi = 0, lo = 0;

		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

char *dbk_label_get(const char *labels, const char *key)
{
	size_t klen = key ? strlen(key) : 0;
	const char *p = labels;

	if (labels == NULL || klen == 0)
		return NULL;
	while (*p != '\0') {
		const char *seg = p, *end = NULL;

		/* The value runs to the next comma that starts a "k=" segment. */
		if (strncmp(seg, key, klen) == 0 && seg[klen] == '=') {
			const char *v = seg + klen + 1;

			end = v;
			for (;;) {
				const char *c = strchr(end, ',');
				const char *eq = NULL;

				if (c == NULL) {
					end += strlen(end);
					break;
				}
				eq = strchr(c + 1, '=');
				if (eq != NULL && (strchr(c + 1, ',') == NULL ||
				                   eq < strchr(c + 1, ','))) {
					end = c;
					break;
				}
				end = c + 1;
			}
			return pct_decode(v, (size_t)(end - v));
		}
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
	return NULL;
}

/* ---- Building blocks ---- */

static void facts_grow(struct dbk_facts *f)
{
	if (f->n < f->cap)
		return;
	f->cap = f->cap ? f->cap * 2 : 32;
	f->v = dbk_xrealloc(f->v, f->cap * sizeof *f->v);
}

/* Adds a fact; takes object and evidence (both may be NULL). */
static struct dbk_fact *fact_add(struct dbk_facts *f, const char *metric,
                                 char *object, double value, char *evidence)
{
	struct dbk_fact *x = NULL;

	facts_grow(f);
	x = &f->v[f->n++];
	*x = (struct dbk_fact){ 0 };
	x->metric = dbk_xstrdup(metric);
	x->object = object;
	x->value = value;
	x->unit = def_unit(metric);
	x->evidence = evidence ? evidence : dbk_xstrdup("");
	return x;
}

static void field_set(struct dbk_fact *x, const char *key, char *value)
{
	if (x->n_fields == DBK_FACT_MAX_FIELDS) {
		free(value);
		return;
	}
	x->fields[x->n_fields].key = key;
	x->fields[x->n_fields].value = value ? value : dbk_xstrdup("");
	x->n_fields++;
}

static void field_printf(struct dbk_fact *x, const char *key, const char *fmt, ...)
	DBK_PRINTF(3, 4);
static void field_printf(struct dbk_fact *x, const char *key, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	field_set(x, key, s);
}

const char *dbk_fact_field(const struct dbk_fact *f, const char *key)
{
	for (unsigned i = 0; i < f->n_fields; i++)
		if (strcmp(f->fields[i].key, key) == 0)
			return f->fields[i].value;
	return NULL;
}

void dbk_facts_free(struct dbk_facts *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct dbk_fact *x = &f->v[i];

		free((char *)x->metric);
		free(x->object);
		free(x->evidence);
		for (unsigned k = 0; k < x->n_fields; k++)
			free(x->fields[k].value);
	}
	free(f->v);
	free(f);
}

void dbk_host_facts_read(struct dbk_host_facts *h)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	h->mem_bytes = pages > 0 && size > 0 ? (int64_t)pages * size : 0;
	h->ncpu = cpus > 0 ? (int)cpus : 0;
}

/* "5m 3s", "2h 10m", "3d 4h": measured durations, two units at most. */
static const char *human_s(double secs, char *buf, size_t len)
{
	int64_t s = secs > 0 ? (int64_t)(secs + 0.5) : 0;

	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

static const char *bytes_s(double b, char *buf, size_t len)
{
	return dbk_fmt_bytes(b >= 0 && b < 9e18 ? (int64_t)b : -1, buf, len);
}

/* ---- Identifiers as the engine wants them in a remedy ---- */

static bool is_pg(const struct dbk_facts *f)
{
	return strcmp(f->flavour, "postgresql") == 0;
}

/* Always quoted: a table called "order" or "User" must work as printed. */
static void quote_into(const struct dbk_facts *f, char **out, const char *id)
{
	char q = is_pg(f) ? '"' : '`';
	size_t n = strlen(id ? id : ""), o = 0;
	char *s = dbk_xmalloc(2 * n + 3);

	s[o++] = q;
	for (size_t i = 0; i < n; i++) {
		if (id[i] == q)
			s[o++] = q;
		s[o++] = id[i];
	}
	s[o++] = q;
	s[o] = '\0';
	*out = s;
}

static char *sql_name(const struct dbk_facts *f, const char *schema,
                      const char *name)
{
	char *a = NULL, *b = NULL, *out = NULL;

	quote_into(f, &b, name);
	if (schema == NULL || schema[0] == '\0')
		return b;
	quote_into(f, &a, schema);
	out = dbk_xasprintf("%s.%s", a, b);
	free(a);
	free(b);
	return out;
}

static char *sql_literal(const char *s)
{
	size_t n = strlen(s ? s : ""), o = 0;
	char *out = dbk_xmalloc(2 * n + 3);

	out[o++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			out[o++] = '\'';
		out[o++] = s[i];
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

static char *qual(const char *schema, const char *name)
{
	if (schema == NULL || schema[0] == '\0')
		return dbk_xstrdup(name ? name : "");
	return dbk_xasprintf("%s.%s", schema, name ? name : "");
}

/* ---- Metrics and rates ---- */

struct ctx {
	const struct dbk_facts_input *in;
	struct dbk_facts *out;
};

static bool labels_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The first metric of that name (and labels, unless any_labels). */
static const struct dbk_metric *metric(const struct ctx *c, const char *name,
                                       const char *labels, bool any_labels)
{
	const struct dbk_metric_list *ml = c->in->metrics;

	for (size_t i = 0; ml != NULL && i < ml->n; i++)
		if (ml->v[i].name != NULL && strcmp(ml->v[i].name, name) == 0 &&
		    (any_labels || labels_eq(ml->v[i].labels, labels)) &&
		    isfinite(ml->v[i].value))
			return &ml->v[i];
	return NULL;
}

static bool value_of(const struct ctx *c, const char *name, double *v)
{
	const struct dbk_metric *m = metric(c, name, NULL, true);

	if (m != NULL)
		*v = m->value;
	return m != NULL;
}

/* The counter's growth since the previous sample, and the seconds between
 * them; false without an earlier sample or after a reset (counters lower
 * than before: a restart or a statistics reset, never a negative rate). */
static bool delta(const struct ctx *c, const struct dbk_metric *m, double *d,
                  double *secs)
{
	double prev = 0;
	int64_t at = 0;

	if (m == NULL || c->in->prev == NULL ||
	    !dbk_state_prev_metric(c->in->prev, m->name, m->labels, &prev, &at) ||
	    at <= 0 || c->in->now_ms <= at || m->value < prev)
		return false;
	*d = m->value - prev;
	*secs = (double)(c->in->now_ms - at) / 1000.0;
	return true;
}

/* The growth of a and b over the same window when both have one, else
 * their totals since the statistics were reset. *window says which. */
static void pair(const struct ctx *c, const struct dbk_metric *a,
                 const struct dbk_metric *b, double *va, double *vb,
                 char *window, size_t len)
{
	double da = 0, db = 0, sa = 0, sb = 0;
	char d[32];

	if (delta(c, a, &da, &sa) && delta(c, b, &db, &sb)) {
		*va = da;
		*vb = db;
		snprintf(window, len, "over the last %s", human_s(sa, d, sizeof d));
		return;
	}
	*va = a->value;
	*vb = b->value;
	snprintf(window, len, "since the statistics were reset");
}

/* ---- Server-wide facts ---- */

static void fact_cache(struct ctx *c)
{
	bool pg = is_pg(c->out);
	const struct dbk_metric *hit = metric(c, pg ? "blks_hit" :
	    "innodb_buffer_pool_read_requests", NULL, true);
	const struct dbk_metric *rd = metric(c, pg ? "blks_read" :
	    "innodb_buffer_pool_reads", NULL, true);
	double h = 0, r = 0, total = 0, ratio = 0;
	char win[64];
	struct dbk_fact *x = NULL;

	if (hit == NULL || rd == NULL)
		return;
	pair(c, hit, rd, &h, &r, win, sizeof win);
	/* PostgreSQL counts hits and reads apart; InnoDB counts every request
	 * and the ones that had to read. */
	total = pg ? h + r : h;
	if (total < MIN_BLOCK_REQUESTS)
		return;
	ratio = pg ? h / total : 1.0 - r / total;
	x = fact_add(c->out, "cache_hit_ratio", NULL, ratio,
	    dbk_xasprintf("%.2f%% of %.0f %s requests %s were served from %s "
	        "(%.0f read from disk)", 100.0 * ratio, total,
	        pg ? "block" : "page", win,
	        pg ? "shared buffers" : "the InnoDB buffer pool", r));
	field_printf(x, "hits", "%.0f", pg ? h : h - r);
	field_printf(x, "reads", "%.0f", r);
	field_set(x, "window", dbk_xstrdup(win));
}

static void fact_connections(struct ctx *c)
{
	double used = 0, max = 0;
	struct dbk_fact *x = NULL;

	if (!value_of(c, is_pg(c->out) ? "connections_total" : "threads_connected",
	              &used) || !value_of(c, "max_connections", &max) || max <= 0)
		return;
	x = fact_add(c->out, "connection_usage", NULL, used / max,
	    dbk_xasprintf("%.0f of max_connections %.0f in use (%.0f%%)", used, max,
	        100.0 * used / max));
	field_printf(x, "connections", "%.0f", used);
	field_printf(x, "max_connections", "%.0f", max);
}

static void fact_gauge_s(struct ctx *c, const char *raw, const char *fact,
                         const char *what)
{
	double v = 0;
	char d[32];

	if (value_of(c, raw, &v))
		fact_add(c->out, fact, NULL, v,
		    dbk_xasprintf("%s: %s", what, human_s(v, d, sizeof d)));
}

static void fact_xid(struct ctx *c)
{
	const struct dbk_metric_list *ml = c->in->metrics;

	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *m = &ml->v[i];
		char *db = NULL;
		struct dbk_fact *x = NULL;

		if (strcmp(m->name, "xid_age") != 0 ||
		    (db = dbk_label_get(m->labels, "db")) == NULL)
			continue;
		x = fact_add(c->out, "xid_age", dbk_xstrdup(db), m->value,
		    dbk_xasprintf("age(datfrozenxid) of database %s is %.0f "
		        "transactions, %.1f%% of the way to wraparound at 2^31",
		        db, m->value, 100.0 * m->value / 2147483648.0));
		field_set(x, "database", dbk_xstrdup(db));
		field_printf(x, "remedy", "run VACUUM (FREEZE) in database %s and "
		    "end what holds the horizon back (long transactions, prepared "
		    "transactions, stale replication slots)", db);
		free(db);
	}
}

static void fact_replication(struct ctx *c)
{
	const struct dbk_metric_list *ml = c->in->metrics;
	char d[32];

	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *m = &ml->v[i];
		char *who = NULL;
		struct dbk_fact *x = NULL;

		if (strcmp(m->name, "replication_lag") == 0)
			who = dbk_label_get(m->labels, "replica");
		else if (strcmp(m->name, "replica_replay_lag") == 0 ||
		         strcmp(m->name, "replica_lag") == 0)
			who = dbk_xstrdup("this server (replica)");
		else
			continue;
		if (who == NULL)
			who = dbk_xstrdup("replica");
		x = fact_add(c->out, "replication_lag", dbk_xstrdup(who),
		    m->value / 1000.0, dbk_xasprintf("%s is %s behind", who,
		        human_s(m->value / 1000.0, d, sizeof d)));
		field_set(x, "replica", who);
	}
}

static void fact_slots(struct ctx *c)
{
	const struct dbk_metric_list *ml = c->in->metrics;
	char b[32];

	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *m = &ml->v[i];
		const struct dbk_metric *w = NULL;
		char *slot = NULL, *lit = NULL;
		struct dbk_fact *x = NULL;

		if (strcmp(m->name, "replication_slot_active") != 0 || m->value != 0 ||
		    (slot = dbk_label_get(m->labels, "slot")) == NULL)
			continue;
		w = metric(c, "replication_slot_retained_wal", m->labels, false);
		x = fact_add(c->out, "inactive_slot_wal", dbk_xstrdup(slot),
		    w ? w->value : 0, dbk_xasprintf("replication slot %s is inactive "
		        "and retains %s of WAL", slot, bytes_s(w ? w->value : 0, b,
		        sizeof b)));
		field_set(x, "slot", dbk_xstrdup(slot));
		lit = sql_literal(slot);
		field_printf(x, "remedy", "reconnect its consumer, or drop it: "
		    "SELECT pg_drop_replication_slot(%s);", lit);
		free(lit);
		free(slot);
	}
}

static const char *setting_pg(const struct ctx *c, const char *name, char *buf,
                              size_t len, bool bytes)
{
	const struct dbk_metric_list *ml = c->in->metrics;

	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		char *n = NULL;
		bool hit = false;

		if (strcmp(ml->v[i].name, "setting") != 0)
			continue;
		n = dbk_label_get(ml->v[i].labels, "name");
		hit = n != NULL && strcmp(n, name) == 0;
		free(n);
		if (!hit)
			continue;
		if (bytes)
			return bytes_s(ml->v[i].value, buf, len);
		snprintf(buf, len, "%.0f", ml->v[i].value);
		return buf;
	}
	return NULL;
}

static void fact_temp(struct ctx *c)
{
	const struct dbk_metric *tb = metric(c, "temp_bytes", NULL, true);
	const struct dbk_metric *tf = metric(c, "temp_files", NULL, true);
	double d = 0, s = 0, df = 0, sf = 0;
	char b[32], w[32], wm[32];
	struct dbk_fact *x = NULL;

	if (!delta(c, tb, &d, &s) || s <= 0)
		return;
	if (!delta(c, tf, &df, &sf))
		df = 0;
	x = fact_add(c->out, "temp_bytes_rate", NULL, d / s,
	    dbk_xasprintf("%s written to %.0f temporary files over the last %s "
	        "(%s/s)", bytes_s(d, b, sizeof b), df, human_s(s, w, sizeof w),
	        bytes_s(d / s, wm, sizeof wm)));
	field_printf(x, "files", "%.0f", df);
	if (setting_pg(c, "work_mem", wm, sizeof wm, true) == NULL)
		snprintf(wm, sizeof wm, "?");
	field_set(x, "work_mem", dbk_xstrdup(wm));
}

static void fact_tmp_disk(struct ctx *c)
{
	const struct dbk_metric *disk = metric(c, "created_tmp_disk_tables", NULL, true);
	const struct dbk_metric *all = metric(c, "created_tmp_tables", NULL, true);
	double dd = 0, sd = 0, da = 0, sa = 0;
	char w[32];
	struct dbk_fact *x = NULL;

	if (!delta(c, disk, &dd, &sd) || !delta(c, all, &da, &sa) ||
	    da < MIN_TMP_TABLES)
		return;
	x = fact_add(c->out, "tmp_disk_table_ratio", NULL, dd / da,
	    dbk_xasprintf("%.0f of %.0f internal temporary tables went to disk "
	        "over the last %s (%.1f%%)", dd, da, human_s(sa, w, sizeof w),
	        100.0 * dd / da));
	field_printf(x, "disk_tables", "%.0f", dd);
	field_printf(x, "tables", "%.0f", da);
}

static void fact_deadlocks(struct ctx *c)
{
	const struct dbk_metric *m = metric(c, is_pg(c->out) ? "deadlocks" :
	    "innodb_deadlocks", NULL, true);
	double d = 0, s = 0;
	char w[32];
	struct dbk_fact *x = NULL;

	if (!delta(c, m, &d, &s))
		return;
	x = fact_add(c->out, "deadlocks", NULL, d,
	    dbk_xasprintf("%.0f deadlocks over the last %s", d, human_s(s, w, sizeof w)));
	field_printf(x, "window", "%s", w);
}

static void fact_locks(struct ctx *c)
{
	double n = 0, longest = 0;
	char w[32];
	struct dbk_fact *x = NULL;

	if (!value_of(c, "lock_waiting_sessions", &n))
		return;
	value_of(c, "lock_wait_longest", &longest);
	x = fact_add(c->out, "lock_waits", NULL, n,
	    dbk_xasprintf("%.0f sessions waiting for a lock; the longest for %s", n,
	        human_s(longest, w, sizeof w)));
	field_set(x, "longest", dbk_xstrdup(w));
}

/* Sizes for a configuration file: whole MB or GB ("5888MB", "16GB"; MySQL
 * "5888M", "16G"). */
static const char *conf_size(bool pg, double b, char *buf, size_t len)
{
	int64_t mb = (int64_t)(b / MIB);

	if (mb < 1)
		mb = 1;
	if (mb % 1024 == 0)
		snprintf(buf, len, "%" PRId64 "%s", mb / 1024, pg ? "GB" : "G");
	else
		snprintf(buf, len, "%" PRId64 "%s", mb, pg ? "MB" : "M");
	return buf;
}

static void fact_checkpoints(struct ctx *c)
{
	const struct dbk_metric *req = metric(c, "checkpoints_req", NULL, true);
	const struct dbk_metric *tim = metric(c, "checkpoints_timed", NULL, true);
	double r = 0, sr = 0, t = 0, st = 0, wal = 0;
	char w[32], cur[32], sug[32];
	struct dbk_fact *x = NULL;
	const struct dbk_metric_list *ml = c->in->metrics;

	if (!delta(c, req, &r, &sr) || !delta(c, tim, &t, &st) ||
	    r + t < MIN_CHECKPOINTS)
		return;
	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		char *n = strcmp(ml->v[i].name, "setting") == 0 ?
		    dbk_label_get(ml->v[i].labels, "name") : NULL;

		if (n != NULL && strcmp(n, "max_wal_size") == 0)
			wal = ml->v[i].value;
		free(n);
	}
	x = fact_add(c->out, "checkpoint_requested_ratio", NULL, r / (r + t),
	    dbk_xasprintf("%.0f of %.0f checkpoints over the last %s were requested "
	        "(WAL filled max_wal_size before checkpoint_timeout)", r, r + t,
	        human_s(sr, w, sizeof w)));
	field_printf(x, "requested", "%.0f", r);
	field_printf(x, "timed", "%.0f", t);
	field_set(x, "window", dbk_xstrdup(w));
	field_set(x, "current", dbk_xstrdup(wal > 0 ? conf_size(true, wal, cur,
	    sizeof cur) : "?"));
	field_set(x, "suggested", dbk_xstrdup(wal > 0 ? conf_size(true, 2 * wal,
	    sug, sizeof sug) : "twice the current value"));
	field_printf(x, "setting", "max_wal_size = %s", wal > 0 ? sug : "?");
}

/* ---- Per-table facts from the driver's table metrics ---- */

/* "schema" and "table" labels of m, decoded; false when absent. */
static bool table_of(const struct dbk_metric *m, char **schema, char **table)
{
	*schema = dbk_label_get(m->labels, "schema");
	*table = dbk_label_get(m->labels, "table");
	if (*table != NULL)
		return true;
	free(*schema);
	*schema = NULL;
	return false;
}

/* The metric name for the same table (same labels). */
static const struct dbk_metric *same(const struct ctx *c, const char *name,
                                     const struct dbk_metric *m)
{
	return metric(c, name, m->labels, false);
}

static void fact_dead(struct ctx *c, const struct dbk_metric *m)
{
	const struct dbk_metric *live = same(c, "table_live_rows", m);
	const struct dbk_metric *av = same(c, "table_autovacuum_enabled", m);
	const struct dbk_metric *age = same(c, "table_vacuum_age", m);
	double dead = m->value, rows = live ? live->value : 0;
	bool off = av != NULL && av->value == 0;
	char *schema = NULL, *table = NULL, *q = NULL;
	char last[48], d[32];
	struct dbk_fact *x = NULL;

	if (dead < MIN_DEAD_ROWS || !table_of(m, &schema, &table))
		return;
	if (age == NULL || age->value < 0)
		snprintf(last, sizeof last, "never");
	else
		snprintf(last, sizeof last, "%s ago", human_s(age->value, d, sizeof d));
	q = sql_name(c->out, schema, table);
	x = fact_add(c->out, "table_dead_ratio", qual(schema, table),
	    dead / (dead + rows),
	    dbk_xasprintf("%.0f dead of %.0f rows (%.1f%%); autovacuum is %s for "
	        "this table; last vacuum: %s", dead, dead + rows,
	        100.0 * dead / (dead + rows), off ? "off" : "on", last));
	field_printf(x, "dead", "%.0f", dead);
	field_printf(x, "live", "%.0f", rows);
	field_set(x, "autovacuum", dbk_xstrdup(off ? "off" : "on"));
	field_set(x, "last_vacuum", dbk_xstrdup(last));
	field_set(x, "table_sql", dbk_xstrdup(q));
	if (off)
		field_printf(x, "remedy", "ALTER TABLE %s RESET (autovacuum_enabled); "
		    "VACUUM (ANALYZE) %s;", q, q);
	else
		field_printf(x, "remedy", "VACUUM (ANALYZE) %s; if dead rows keep "
		    "piling up, let autovacuum start sooner: ALTER TABLE %s SET "
		    "(autovacuum_vacuum_scale_factor = 0.05);", q, q);
	free(q);
	free(schema);
	free(table);
}

/* The statements the driver found touching the table, as one line. */
static char *statements_of(const struct ctx *c, const struct dbk_metric *m,
                           unsigned *n)
{
	const struct dbk_metric_list *ml = c->in->metrics;
	char *schema = NULL, *table = NULL, *out = NULL;

	*n = 0;
	if (!table_of(m, &schema, &table))
		return NULL;
	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *s = &ml->v[i];
		char *ss = NULL, *st = NULL, *id = NULL, *text = NULL, *calls = NULL;
		char *next = NULL;
		const struct dbk_metric *cm = NULL;

		if (strcmp(s->name, "table_statement_time") != 0 || !table_of(s, &ss, &st))
			continue;
		if (labels_eq(ss, schema) && strcmp(st, table) == 0) {
			id = dbk_label_get(s->labels, "queryid");
			if (id == NULL)
				id = dbk_label_get(s->labels, "digest");
			text = dbk_label_get(s->labels, "query");
			cm = same(c, "table_statement_calls", s);
			calls = cm ? dbk_xasprintf("%.0f", cm->value) : dbk_xstrdup("?");
			next = dbk_xasprintf("%s%s[%s] %s (%s calls, %.0f ms in all)",
			    out ? out : "", out ? "; " : "", id ? id : "?",
			    text ? text : "?", calls, s->value);
			free(out);
			out = next;
			(*n)++;
		}
		free(id);
		free(text);
		free(calls);
		free(ss);
		free(st);
	}
	free(schema);
	free(table);
	return out;
}

struct hypo {
	bool checked;        /* hypopg ran for this table */
	bool helps;          /* some index made some statement cheaper enough */
	double base, best;   /* costs of the best case */
	char *column, *query;
};

/* hypopg's verdict for the table of m: the statement and column where a
 * hypothetical index lowered the estimated cost the most. */
static void hypo_of(const struct ctx *c, const struct dbk_metric *m,
                    struct hypo *h)
{
	const struct dbk_metric_list *ml = c->in->metrics;
	double gain = 0;

	*h = (struct hypo){ 0 };
	h->checked = same(c, "hypo_checked", m) != NULL;
	for (size_t i = 0; h->checked && i < ml->n; i++) {
		const struct dbk_metric *x = &ml->v[i];
		const struct dbk_metric *base = NULL;
		char *col = NULL, *qid = NULL, *lab = NULL;

		/* Same table: its labels start with exactly the table's. */
		if (strcmp(x->name, "hypo_index_cost") != 0 || x->labels == NULL ||
		    strncmp(x->labels, m->labels, strlen(m->labels)) != 0 ||
		    x->labels[strlen(m->labels)] != ',')
			continue;
		qid = dbk_label_get(x->labels, "queryid");
		col = dbk_label_get(x->labels, "column");
		lab = dbk_xasprintf("%s,queryid=%s", m->labels, qid ? qid : "");
		base = metric(c, "hypo_plan_cost", lab, false);
		if (base != NULL && base->value > 0 && col != NULL &&
		    1.0 - x->value / base->value > gain) {
			gain = 1.0 - x->value / base->value;
			h->base = base->value;
			h->best = x->value;
			free(h->column);
			free(h->query);
			h->column = col;
			h->query = qid;
			col = qid = NULL;
		}
		free(lab);
		free(col);
		free(qid);
	}
	h->helps = h->checked && gain >= HYPO_MIN_GAIN;
}

/* What hypopg said, for the evidence; the remedy: the index it vouches
 * for, or how to find one. */
static void seq_remedy(struct ctx *c, struct dbk_fact *x, const char *schema,
                       const char *table, const struct hypo *h, bool stmts)
{
	char *q = sql_name(c->out, schema, table), *col = NULL;

	field_set(x, "table_sql", dbk_xstrdup(q));
	if (h->helps) {
		quote_into(c->out, &col, h->column);
		field_printf(x, "hypo", "hypopg: statement %s has an estimated cost "
		    "of %.1f without and %.1f with an index on (%s), %.0f%% less",
		    h->query, h->base, h->best, h->column,
		    100.0 * (1.0 - h->best / h->base));
		field_printf(x, "index_sql", "CREATE INDEX CONCURRENTLY ON %s (%s);",
		    q, col);
		field_printf(x, "remedy", "CREATE INDEX CONCURRENTLY ON %s (%s);", q, col);
	} else {
		field_set(x, "hypo", dbk_xstrdup(is_pg(c->out) ?
		    "not checked with hypopg (the extension is not installed in "
		    "this database)" : "no hypothetical indexes on this engine"));
		field_set(x, "index_sql", dbk_xstrdup(""));
		field_printf(x, "remedy", "%s, and index the columns they filter on (%s)",
		    stmts ? "EXPLAIN the statements named in the evidence" :
		            "find the statements that read it (pg_stat_statements or "
		            "performance_schema digests)",
		    is_pg(c->out) ? "CREATE INDEX CONCURRENTLY ON ... (...)" :
		    "ALTER TABLE ... ADD INDEX (...), ALGORITHM=INPLACE, LOCK=NONE");
	}
	free(col);
	free(q);
}

/* PostgreSQL counts scans; MySQL counts rows read with and without an
 * index. Either way: the share of reads that went through the whole
 * table, for tables big enough to matter. */
static void fact_seq(struct ctx *c, const struct dbk_metric *m)
{
	bool pg = is_pg(c->out);
	const struct dbk_metric *idx = same(c, pg ? "table_idx_scan" : "table_index_rows", m);
	const struct dbk_metric *rows = pg ? same(c, "table_seq_tup_read", m) : m;
	const struct dbk_metric *size = same(c, "table_size", m);
	double seq = 0, ix = 0, rd = 0, s1 = 0;
	char win[64], b[32], sz[32];
	char *schema = NULL, *table = NULL, *stmts = NULL, *ev = NULL;
	unsigned n_stmts = 0;
	struct hypo h;
	struct dbk_fact *x = NULL;

	if (idx == NULL || rows == NULL || size == NULL ||
	    size->value < MIN_SEQ_TABLE_BYTES || !table_of(m, &schema, &table))
		goto out;
	pair(c, m, idx, &seq, &ix, win, sizeof win);
	if (!delta(c, rows, &rd, &s1))
		rd = rows->value;
	if (rd < MIN_SEQ_ROWS || seq <= 0)
		goto out;
	hypo_of(c, m, &h);
	/* hypopg checked the statements and no index helps them: no
	 * missing-index candidate, whatever the ratio says. */
	if (h.checked && !h.helps) {
		free(h.column);
		free(h.query);
		goto out;
	}
	stmts = statements_of(c, m, &n_stmts);
	x = fact_add(c->out, "seq_scan_ratio", qual(schema, table), seq / (seq + ix),
	    pg ? dbk_xasprintf("%.0f sequential and %.0f index scans %s (%.1f%% "
	             "sequential), %.0f rows read sequentially; table size %s",
	             seq, ix, win, 100.0 * seq / (seq + ix), rd,
	             bytes_s(size->value, sz, sizeof sz))
	       : dbk_xasprintf("%.0f rows read by full scans and %.0f through an "
	             "index %s (%.1f%% full scans); table size %s", seq, ix, win,
	             100.0 * seq / (seq + ix), bytes_s(size->value, sz, sizeof sz)));
	field_printf(x, "seq_scans", "%.0f", seq);
	field_printf(x, "idx_scans", "%.0f", ix);
	field_printf(x, "rows_read", "%.0f", rd);
	field_set(x, "size", dbk_xstrdup(bytes_s(size->value, b, sizeof b)));
	field_set(x, "statements", stmts ? stmts :
	    dbk_xstrdup("no statement statistics available"));
	seq_remedy(c, x, schema, table, &h, stmts != NULL);
	/* The statements and hypopg's verdict are the evidence. */
	ev = dbk_xasprintf("%s; statements: %s; %s", x->evidence,
	    dbk_fact_field(x, "statements"), dbk_fact_field(x, "hypo"));
	free(x->evidence);
	x->evidence = ev;
	free(h.column);
	free(h.query);
out:
	free(schema);
	free(table);
}

static void facts_tables_from_metrics(struct ctx *c)
{
	const struct dbk_metric_list *ml = c->in->metrics;
	bool pg = is_pg(c->out);

	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *m = &ml->v[i];

		if (m->labels == NULL)
			continue;
		if (strcmp(m->name, "table_dead_rows") == 0)
			fact_dead(c, m);
		else if (strcmp(m->name, pg ? "table_seq_scan" : "table_full_scan_rows") == 0)
			fact_seq(c, m);
	}
}

/* ---- Tables and indexes as observed ---- */

static void fact_stale(struct ctx *c)
{
	const struct dbk_table_list *tl = c->in->tables;
	char d[32], when[64];

	for (size_t i = 0; tl != NULL && i < tl->n; i++) {
		const struct dbk_table *t = &tl->v[i];
		int64_t rows = t->est_rows > 0 ? t->est_rows : 0;
		double ratio = 0;
		char *q = NULL;
		struct dbk_fact *x = NULL;

		if (t->name == NULL || (t->flags & (DBK_TF_SYSTEM | DBK_TF_TEMP_ORPHAN)) ||
		    dbk_plan_is_system_schema(t->schema) ||
		    t->mods_since_analyze < MIN_MODIFIED_ROWS)
			continue;
		/* Never analyzed (no row estimate): every row is unaccounted. */
		ratio = rows > 0 ? (double)t->mods_since_analyze / (double)rows : 1.0;
		if (t->last_analyze_at > 0 && c->in->now_ms / 1000 >= t->last_analyze_at)
			snprintf(when, sizeof when, "%s ago", human_s((double)(
			    c->in->now_ms / 1000 - t->last_analyze_at), d, sizeof d));
		else
			snprintf(when, sizeof when, "never");
		q = sql_name(c->out, t->schema, t->name);
		x = fact_add(c->out, "stale_statistics", qual(t->schema, t->name), ratio,
		    dbk_xasprintf("%" PRId64 " rows modified since the last ANALYZE "
		        "(%s) of about %" PRId64 " rows", t->mods_since_analyze, when,
		        rows));
		field_printf(x, "modified", "%" PRId64, t->mods_since_analyze);
		field_printf(x, "rows", "%" PRId64, rows);
		field_set(x, "last_analyze", dbk_xstrdup(when));
		field_set(x, "table_sql", dbk_xstrdup(q));
		field_printf(x, "remedy", is_pg(c->out) ? "ANALYZE %s;" : "ANALYZE TABLE %s;", q);
		free(q);
	}
}

/* Foreign-key lookups and replica identities are reported by the driver
 * as index_protected metrics; primary keys, unique and exclusion
 * constraints by the index flags. None of them may ever be dropped. */
static bool index_protected(const struct ctx *c, const struct dbk_index *ix)
{
	const struct dbk_metric_list *ml = c->in->metrics;

	if (ix->flags & (DBK_IF_PRIMARY | DBK_IF_UNIQUE | DBK_IF_CONSTRAINT))
		return true;
	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		char *s = NULL, *t = NULL, *n = NULL;
		bool hit = false;

		if (strcmp(ml->v[i].name, "index_protected") != 0)
			continue;
		s = dbk_label_get(ml->v[i].labels, "schema");
		t = dbk_label_get(ml->v[i].labels, "table");
		n = dbk_label_get(ml->v[i].labels, "index");
		hit = s && t && n && strcmp(s, ix->schema ? ix->schema : "") == 0 &&
		      strcmp(t, ix->table ? ix->table : "") == 0 &&
		      strcmp(n, ix->name) == 0;
		free(s);
		free(t);
		free(n);
		if (hit)
			return true;
	}
	return false;
}

static char *drop_sql(const struct ctx *c, const struct dbk_index *ix)
{
	char *q = NULL, *t = NULL, *out = NULL;

	if (is_pg(c->out)) {
		q = sql_name(c->out, ix->schema, ix->name);
		out = dbk_xasprintf("DROP INDEX CONCURRENTLY %s;", q);
	} else {
		t = sql_name(c->out, ix->schema, ix->table);
		quote_into(c->out, &q, ix->name);
		out = dbk_xasprintf("ALTER TABLE %s DROP INDEX %s;", t, q);
	}
	free(q);
	free(t);
	return out;
}

static struct dbk_fact *index_fact(struct ctx *c, const char *metric,
                                   const struct dbk_index *ix, double value,
                                   char *evidence)
{
	char sz[32];
	struct dbk_fact *x = fact_add(c->out, metric, dbk_xasprintf("%s.%s.%s",
	    ix->schema ? ix->schema : "", ix->table ? ix->table : "", ix->name),
	    value, evidence);

	field_set(x, "size", dbk_xstrdup(dbk_fmt_bytes(ix->size_bytes, sz, sizeof sz)));
	field_set(x, "table", qual(ix->schema, ix->table));
	field_set(x, "index_sql", sql_name(c->out, ix->schema, ix->name));
	return x;
}

static void fact_unused(struct ctx *c, const struct dbk_index *ix)
{
	struct dbk_index_usage u;
	int64_t now = c->in->now_ms / 1000, since = 0;
	char sz[32], d[32];
	struct dbk_fact *x = NULL;
	char *drop = NULL;

	if (c->in->prev == NULL || index_protected(c, ix) ||
	    !dbk_state_index_usage(c->in->prev, ix->schema, ix->table, ix->name,
	                           ix->id, &u))
		return;
	since = u.last_used > 0 ? u.last_used : u.first_seen;
	if (since <= 0 || now < since)
		return;
	x = index_fact(c, "unused_index_days", ix, (double)(now - since) / 86400.0,
	    dbk_xasprintf("%s: not used in %s of observation by the agent%s "
	        "(%" PRId64 " statistics reset%s seen), %s",
	        u.last_used > 0 ? "last use seen then" : "never seen used",
	        human_s((double)(now - since), d, sizeof d),
	        u.last_used > 0 ? "" : " since it was first seen",
	        u.resets, u.resets == 1 ? "" : "s",
	        dbk_fmt_bytes(ix->size_bytes, sz, sizeof sz)));
	field_printf(x, "observed_since", "%" PRId64, u.first_seen);
	field_printf(x, "resets", "%" PRId64, u.resets);
	drop = drop_sql(c, ix);
	field_printf(x, "remedy", "%s -- after checking that no replica, report or "
	    "rare job uses it", drop);
	free(drop);
}

static void fact_indexes(struct ctx *c)
{
	const struct dbk_index_list *il = c->in->indexes;
	/* Without the driver's list of foreign-key and replica-identity
	 * indexes, no index is called unused: a wrong "drop it" is worse than
	 * silence. */
	bool protection_known = metric(c, "index_protection_checked", NULL, true) != NULL;
	char sz[32];

	for (size_t i = 0; il != NULL && i < il->n; i++) {
		const struct dbk_index *ix = &il->v[i];
		bool backs = ix->flags & (DBK_IF_PRIMARY | DBK_IF_UNIQUE | DBK_IF_CONSTRAINT);
		struct dbk_fact *x = NULL;
		char *drop = NULL;

		if (ix->name == NULL || dbk_plan_is_system_schema(ix->schema))
			continue;
		if (ix->flags & DBK_IF_INVALID) {
			x = index_fact(c, "invalid_index", ix, 1, dbk_xasprintf(
			    "invalid (a failed CREATE INDEX CONCURRENTLY or REINDEX), "
			    "%s, still updated on every write and never read",
			    dbk_fmt_bytes(ix->size_bytes, sz, sizeof sz)));
			drop = drop_sql(c, ix);
			field_printf(x, "remedy", "%s then build it again with CREATE "
			    "INDEX CONCURRENTLY if it is needed (the housekeeping policy "
			    "drops it when indexes.drop_invalid is on)", drop);
			free(drop);
			continue;
		}
		if (ix->flags & DBK_IF_DUPLICATE) {
			x = index_fact(c, "duplicate_index", ix, 1, dbk_xasprintf(
			    "same definition as %s on %s, %s", ix->duplicate_of ?
			    ix->duplicate_of : "another index", ix->table ? ix->table : "?",
			    dbk_fmt_bytes(ix->size_bytes, sz, sizeof sz)));
			field_set(x, "duplicate_of", dbk_xstrdup(ix->duplicate_of ?
			    ix->duplicate_of : "another index"));
			drop = drop_sql(c, ix);
			if (backs)
				field_printf(x, "remedy", "it backs a constraint, so do not "
				    "drop the index: remove the redundant constraint or drop "
				    "%s instead if nothing depends on it",
				    ix->duplicate_of ? ix->duplicate_of : "the other index");
			else
				field_printf(x, "remedy", "%s -- %s keeps serving the same "
				    "lookups", drop, ix->duplicate_of ? ix->duplicate_of :
				    "the other index");
			free(drop);
		}
		if (protection_known && !(ix->flags & DBK_IF_LEFTOVER) && !backs)
			fact_unused(c, ix);
	}
}

/* ---- Configuration advice ---- */

static double kv_get(const struct dbk_setting_kv *s, size_t n, const char *name)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return s[i].value;
	return NAN;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Adds advice for param when its current value is known. */
static void advise(struct dbk_advice *out, unsigned *n, const char *param,
                   bool bytes, double cur, double sug, double lo, double hi,
                   const char *fmt, ...) DBK_PRINTF(9, 10);
static void advise(struct dbk_advice *out, unsigned *n, const char *param,
                   bool bytes, double cur, double sug, double lo, double hi,
                   const char *fmt, ...)
{
	struct dbk_advice *a = NULL;
	va_list ap;

	if (!isfinite(cur) || cur < 0 || *n == DBK_MAX_ADVICE)
		return;
	a = &out[(*n)++];
	a->param = param;
	a->bytes = bytes;
	a->current = cur;
	a->suggested = sug;
	a->lo = lo;
	a->hi = hi;
	if (cur < lo)
		a->factor = cur > 0 ? lo / cur : INFINITY;
	else if (cur > hi)
		a->factor = cur / hi;
	else
		a->factor = 1.0;
	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof a->reason, fmt, ap);
	va_end(ap);
}

/* A suggestion as a person would write it: whole GB from 4GB, quarter GB
 * from 1GB, 16MB steps from 64MB, whole MB below. */
static double nice_bytes(double b)
{
	double step = b >= 4 * GIB ? GIB : b >= GIB ? GIB / 4 : b >= 64 * MIB ?
	              16 * MIB : MIB;
	double r = floor(b / step + 0.5) * step;

	return r > 0 ? r : step;
}

static unsigned advice_pg(const struct dbk_setting_kv *s, size_t n,
                          const struct dbk_host_facts *h, struct dbk_advice *out)
{
	double mem = (double)h->mem_bytes, sb = nice_bytes(0.25 * mem);
	double conns = kv_get(s, n, "max_connections");
	double mwm = nice_bytes(clamp(mem / 16, 64 * MIB, 2 * GIB));
	unsigned k = 0;
	char m[32];

	dbk_fmt_bytes(h->mem_bytes, m, sizeof m);
	if (mem > 0) {
		advise(out, &k, "shared_buffers", true, kv_get(s, n, "shared_buffers"),
		    sb, 0.15 * mem, 0.40 * mem, "a quarter of the host's %s of memory; "
		    "the operating system's cache holds the rest", m);
		advise(out, &k, "effective_cache_size", true,
		    kv_get(s, n, "effective_cache_size"), nice_bytes(0.75 * mem), 0.5 * mem,
		    0.9 * mem, "three quarters of the host's %s: what shared_buffers "
		    "and the OS cache can hold together, so the planner trusts "
		    "index scans", m);
		advise(out, &k, "maintenance_work_mem", true,
		    kv_get(s, n, "maintenance_work_mem"), mwm, mwm / 4, 2 * mwm,
		    "1/16 of the host's %s (64MB to 2GB) speeds up VACUUM and index "
		    "builds", m);
	}
	/* What is left after shared_buffers, shared by every connection with
	 * room for a few sorts each: the suggestion fits in memory whatever
	 * the other suggestions are, because it is computed from them. */
	if (mem > 0 && isfinite(conns) && conns > 0) {
		double wm = nice_bytes(clamp((mem - sb) / (conns * 3), 4 * MIB, 1 * GIB));
		/* Below the 4MB floor memory cannot serve that many
		 * connections; that is not work_mem's fault. */
		double hi = (mem - sb) / conns > wm ? (mem - sb) / conns : wm;

		advise(out, &k, "work_mem", true, kv_get(s, n, "work_mem"), wm, wm / 4,
		    hi, "(memory %s - suggested shared_buffers) / "
		    "(max_connections %.0f x 3 sorts)", m, conns);
	}
	if (h->ncpu > 0)
		advise(out, &k, "max_parallel_workers", false,
		    kv_get(s, n, "max_parallel_workers"), h->ncpu, 1, 2.0 * h->ncpu,
		    "the host has %d CPUs; more parallel workers than that only "
		    "queue for them", h->ncpu);
	return k;
}

static unsigned advice_my(const struct dbk_setting_kv *s, size_t n,
                          const struct dbk_host_facts *h,
                          const struct dbk_setting_kv *r, size_t nr,
                          struct dbk_advice *out)
{
	double mem = (double)h->mem_bytes, bp = nice_bytes(0.70 * mem);
	double log = nice_bytes(clamp(bp / 4, 48 * MIB, 4 * GIB));
	double used = kv_get(s, n, "max_used_connections");
	double maxc = kv_get(s, n, "max_connections");
	double opened = kv_get(r, nr, "opened_tables");
	double toc = kv_get(s, n, "table_open_cache");
	unsigned k = 0;
	char m[32];

	dbk_fmt_bytes(h->mem_bytes, m, sizeof m);
	if (mem > 0) {
		advise(out, &k, "innodb_buffer_pool_size", true,
		    kv_get(s, n, "innodb_buffer_pool_size"), bp, 0.5 * mem, 0.85 * mem,
		    "70%% of the host's %s, for a host that serves this database "
		    "above all", m);
		/* From the suggested pool, not the current one, so following
		 * both pieces of advice gives a consistent pair. */
		advise(out, &k, "innodb_log_file_size", true,
		    kv_get(s, n, "innodb_log_file_size"), log, log / 4, INFINITY,
		    "a quarter of the suggested buffer pool (48MB to 4GB) keeps "
		    "checkpoints from throttling writes");
	}
	if (isfinite(used) && isfinite(maxc) && maxc > 0)
		advise(out, &k, "max_connections", false, maxc, ceil(used * 1.5),
		    used / 0.9, INFINITY, "%.0f connections were in use at the peak, "
		    "%.0f%% of the limit", used, 100.0 * used / maxc);
	if (isfinite(opened) && isfinite(toc) && toc > 0)
		advise(out, &k, "table_open_cache", false, toc, 2 * toc,
		    opened >= 1.0 ? 1.5 * toc : 0, INFINITY,
		    "%.1f tables opened per second: the cache is too small to keep "
		    "the working set open", opened);
	return k;
}

unsigned dbk_advice_compute(const char *flavour, const struct dbk_setting_kv *s,
                            size_t n, const struct dbk_host_facts *host,
                            const struct dbk_setting_kv *rates, size_t n_rates,
                            struct dbk_advice *out)
{
	if (flavour == NULL || host == NULL)
		return 0;
	if (strcmp(flavour, "postgresql") == 0)
		return advice_pg(s, n, host, out);
	if (strcmp(flavour, "mariadb") == 0 || strcmp(flavour, "mysql") == 0)
		return advice_my(s, n, host, rates, n_rates, out);
	return 0;
}

static const char *adv_value(const struct dbk_facts *f, const struct dbk_advice *a,
                             double v, char *buf, size_t len)
{
	if (a->bytes)
		return conf_size(is_pg(f), v, buf, len);
	snprintf(buf, len, "%.0f", v);
	return buf;
}

/* The settings the advice reads, from the metrics: PostgreSQL reports
 * setting{name=...}, MySQL its variables under their own names. */
static size_t settings_of(const struct ctx *c, struct dbk_setting_kv *kv,
                          char **names, size_t cap)
{
	static const char *const my[] = { "innodb_buffer_pool_size",
	    "innodb_log_file_size", "max_connections", "max_used_connections",
	    "table_open_cache" };
	const struct dbk_metric_list *ml = c->in->metrics;
	size_t n = 0;

	for (size_t i = 0; ml != NULL && i < ml->n && n < cap; i++) {
		const struct dbk_metric *m = &ml->v[i];

		if (is_pg(c->out) && strcmp(m->name, "setting") == 0 &&
		    (names[n] = dbk_label_get(m->labels, "name")) != NULL) {
			kv[n].name = names[n];
			kv[n++].value = m->value;
		}
	}
	if (is_pg(c->out) && n < cap && value_of(c, "max_connections", &kv[n].value)) {
		names[n] = dbk_xstrdup("max_connections");
		kv[n].name = names[n];
		n++;
	}
	for (size_t i = 0; !is_pg(c->out) && i < DBK_NELEM(my) && n < cap; i++)
		if (value_of(c, my[i], &kv[n].value)) {
			names[n] = dbk_xstrdup(my[i]);
			kv[n].name = names[n];
			n++;
		}
	return n;
}

static void fact_config(struct ctx *c)
{
	struct dbk_setting_kv kv[24], rate[1];
	char *names[24] = { 0 };
	struct dbk_advice adv[DBK_MAX_ADVICE];
	const struct dbk_metric *opened = metric(c, "opened_tables", NULL, true);
	double d = 0, s = 0;
	size_t n = settings_of(c, kv, names, DBK_NELEM(kv)), nr = 0;
	unsigned na = 0;
	char cur[32], sug[32];

	if (opened != NULL && delta(c, opened, &d, &s) && s > 0) {
		rate[0] = (struct dbk_setting_kv){ "opened_tables", d / s };
		nr = 1;
	}
	na = dbk_advice_compute(c->out->flavour, kv, n, &c->in->host, rate, nr, adv);
	for (unsigned i = 0; i < na; i++) {
		const struct dbk_advice *a = &adv[i];
		char *name = dbk_xasprintf("config_%s", a->param);
		struct dbk_fact *x = NULL;

		adv_value(c->out, a, a->current, cur, sizeof cur);
		adv_value(c->out, a, a->suggested, sug, sizeof sug);
		x = fact_add(c->out, name, dbk_xstrdup(a->param), a->factor,
		    a->factor > 1 ? dbk_xasprintf("%s is %s; suggested %s: %s", a->param,
		                        cur, sug, a->reason)
		                  : dbk_xasprintf("%s is %s, inside the suggested range",
		                        a->param, cur));
		field_set(x, "parameter", dbk_xstrdup(a->param));
		field_set(x, "current", dbk_xstrdup(cur));
		field_set(x, "suggested", dbk_xstrdup(sug));
		field_set(x, "reason", dbk_xstrdup(a->reason));
		field_printf(x, "setting", "%s = %s", a->param, sug);
		free(name);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

/* ---- Raw metrics ---- */

static void facts_raw(struct ctx *c)
{
	const struct dbk_metric_list *ml = c->in->metrics;

	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *m = &ml->v[i];
		double d = 0, s = 0, v = m->value;
		char *name = NULL;
		struct dbk_fact *x = NULL;

		if (m->name == NULL || !isfinite(v))
			continue;
		if (m->kind == DBK_M_COUNTER) {
			if (!delta(c, m, &d, &s) || s <= 0)
				continue;
			v = d / s;
		}
		name = dbk_xasprintf("metric.%s", m->name);
		x = fact_add(c->out, name, dbk_xstrdup(m->labels), v,
		    dbk_xasprintf("%s%s%s = %g%s", m->name, m->labels ? " " : "",
		        m->labels ? m->labels : "", v,
		        m->kind == DBK_M_COUNTER ? " per second" : ""));
		x->unit = m->kind == DBK_M_COUNTER ? "per_s" : "";
		free(name);
	}
}

/* ---- Assembly ---- */

struct dbk_facts *dbk_facts_build(const struct dbk_facts_input *in)
{
	struct dbk_facts *f = dbk_xcalloc(1, sizeof *f);
	struct ctx c = { in, f };
	bool pg = false;

	if (in->info != NULL)
		snprintf(f->flavour, sizeof f->flavour, "%s", in->info->flavour);
	pg = is_pg(f);
	if (in->metrics != NULL)
		f->sources |= DBK_SRC_METRICS;
	if (in->prev != NULL && in->metrics != NULL) {
		/* Rates exist when any counter has an earlier sample. */
		for (size_t i = 0; i < in->metrics->n; i++) {
			double d = 0, s = 0;

			if (in->metrics->v[i].kind == DBK_M_COUNTER &&
			    delta(&c, &in->metrics->v[i], &d, &s)) {
				f->sources |= DBK_SRC_RATES;
				break;
			}
		}
	}
	if (in->tables != NULL)
		f->sources |= DBK_SRC_TABLES;
	if (in->indexes != NULL)
		f->sources |= DBK_SRC_INDEXES;
	if (in->host.mem_bytes > 0)
		f->sources |= DBK_SRC_HOST;
	if (in->metrics != NULL) {
		fact_cache(&c);
		fact_connections(&c);
		fact_gauge_s(&c, "oldest_idle_in_xact", "idle_in_transaction",
		    "the longest a session has been idle inside an open transaction");
		fact_gauge_s(&c, "oldest_xact_age", "longest_transaction",
		    "the oldest open transaction has been running for");
		fact_replication(&c);
		fact_deadlocks(&c);
		fact_locks(&c);
		if (pg) {
			fact_xid(&c);
			fact_slots(&c);
			fact_temp(&c);
			fact_checkpoints(&c);
		} else {
			fact_tmp_disk(&c);
		}
		facts_tables_from_metrics(&c);
		fact_config(&c);
		facts_raw(&c);
	}
	fact_stale(&c);
	fact_indexes(&c);
	return f;
}
