/* agent/summary.h: the operations summary. dbk_summary_build reads one
 * period of a report queue into a model (per target: overview, cycles,
 * housekeeping, trends; across targets: findings grouped into a
 * remediation plan, failures, a conclusion); the renderers turn the model
 * into JSON (summary_json.c), Markdown (summary_md.c) or a self-contained
 * HTML page with inline SVG charts (summary_html.c). Building only reads
 * the queue, rendering only formats: neither writes files. Every date is
 * local time (localtime_r/mktime, so TZ is honoured); the clock is always
 * an argument, never read here, so tests are deterministic. */
#ifndef DBK_SUMMARY_H
#define DBK_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "util.h"

#define DBK_SUMMARY_SCHEMA 1

/* ---- The period ---- */

struct dbk_sum_period {
	int64_t from_ms; /* inclusive */
	int64_t to_ms;   /* exclusive */
	char label[96];  /* "last 7 days", "week 2024-W21", "May 2024", ... */
};

/* The dur_ms before now_ms. Returns 0, or -1 when dur_ms is not positive. */
int dbk_sum_period_since(int64_t now_ms, int64_t dur_ms,
                         struct dbk_sum_period *out,
                         struct dbk_err *err) DBK_MUSTCHECK;
/* From local midnight of `from` (YYYY-MM-DD) to the end of the day `to`
 * (inclusive). to may be NULL: up to now_ms. Refuses malformed or
 * impossible dates and to before from. */
int dbk_sum_period_dates(const char *from, const char *to, int64_t now_ms,
                         struct dbk_sum_period *out,
                         struct dbk_err *err) DBK_MUSTCHECK;
/* unit "week": the last full ISO week (Monday 00:00 to Monday 00:00) before
 * now_ms; "month": the last full calendar month. */
int dbk_sum_period_last(const char *unit, int64_t now_ms,
                        struct dbk_sum_period *out,
                        struct dbk_err *err) DBK_MUSTCHECK;

/* ---- The model (read-only for renderers) ---- */

enum dbk_sum_verdict {
	DBK_SUM_HEALTHY = 0,
	DBK_SUM_ATTENTION, /* warnings open, failed cycles or actions */
	DBK_SUM_ACTION, /* critical findings open, or the agent cannot work */
};
const char *
dbk_sum_verdict_name(int v); /* "healthy", "attention_needed", ... */
const char *
dbk_sum_verdict_title(int v); /* "Healthy", "Attention needed", ... */

/* Severities as in planner.h's enum dbk_severity. */
#define DBK_SUM_SEVERITIES 3
const char *dbk_sum_severity_name(int sev); /* "info", "warning", "critical" */

/* Housekeeping totals from action records (final ones; write-ahead
 * "started" records only pair with them). Object counts are objects with
 * status "done" (an index action's table is not counted); byte and row
 * sums come from actions that did something (an object done, or rows
 * deleted). Dry runs and carried actions are only counted, never summed. */
struct dbk_sum_hk {
	int64_t tables_dropped, tables_dropped_bytes;
	int64_t rows_purged;
	int64_t server_logs_removed, server_logs_bytes;
	int64_t indexes_rebuilt, rebuild_bytes_before, rebuild_bytes_after;
	int64_t indexes_dropped, indexes_dropped_bytes;
	int64_t tables_analyzed;
	int64_t time_ms; /* sum of the actions' duration_ms */
	unsigned actions, done, partial, skipped, failed, dry_run, carried;
	unsigned interrupted; /* a write-ahead record and no outcome, then a
	                         later cycle */
};

/* Cycles from run records: status finished, stopped_budget (over its run
 * time budget or window; the rest carried over), stopped (signal), busy
 * (another agent held the database lock), failed. */
struct dbk_sum_cycles {
	unsigned runs, finished, stopped_budget, stopped, busy, failed;
	unsigned outside_window; /* cycles where some task waited for its window
	                          */
	int64_t time_ms;         /* sum of duration_ms */
	int64_t first_ms, last_ms;
	char *last_status;
	char *last_error; /* of the last failed cycle */
};

enum dbk_sum_series_id {
	DBK_SER_DB_SIZE =
	        0,         /* server.db_size_bytes of run and metrics records */
	DBK_SER_CACHE_HIT, /* % from blks_hit/blks_read or InnoDB buffer pool
	                      rates */
	DBK_SER_CONNECTIONS, /* connections_total, threads_connected, or
	                        connections gauges */
	DBK_SER_XACT_RATE,   /* xact_commit rate_per_s (PostgreSQL) */
	DBK_SER_QUERY_RATE,  /* questions rate_per_s (MySQL) */
	DBK_SER_REPL_LAG,    /* max of replication_lag, replica_replay_lag,
	                        replica_lag */
	DBK_SER_COUNT
};
const char *
dbk_sum_series_name(int id); /* "db_size_bytes", "cache_hit_pct", ... */
const char *dbk_sum_series_title(int id); /* "Database size", ... */
const char *dbk_sum_series_unit(int id);  /* "bytes", "%", "", "/s", "ms" */

struct dbk_sum_point {
	int64_t t_ms;
	double v;
};

/* One local calendar day of a series. */
struct dbk_sum_day {
	char date[11]; /* YYYY-MM-DD */
	unsigned n;
	double min, avg, max, last;
};

struct dbk_sum_series {
	size_t n, cap;
	struct dbk_sum_point *v; /* time order */
	double min, max, sum;
	size_t n_days;
	struct dbk_sum_day *days;
};

/* When a task was assessed (due in some policy) during the period, from run
 * records' "tasks": the end of the first such cycle, the start of the
 * last. A finding's category names its task. */
struct dbk_sum_task {
	char *name;
	int64_t first_due_end, last_due_start;
};

struct dbk_sum_target {
	char *name;
	char *flavour; /* latest seen; NULL: unknown */
	char *version;
	bool configured; /* named in the configuration */
	unsigned records;
	int64_t size_start, size_end; /* -1: unknown */
	int64_t size_start_ms, size_end_ms;
	struct dbk_sum_cycles cycles;
	struct dbk_sum_hk hk;
	unsigned open[DBK_SUM_SEVERITIES], resolved[DBK_SUM_SEVERITIES];
	unsigned opened[DBK_SUM_SEVERITIES]; /* first seen after the first look
	                                      */
	struct dbk_sum_series series[DBK_SER_COUNT];
	size_t n_tasks;
	struct dbk_sum_task *tasks;
	/* The first and last cycle that got as far as planning (finished or
	 * stopped, not failed or busy); 0: none. */
	int64_t first_assess_end, last_assess_start;
};

/* Identical findings (target, category, object, title) grouped. */
struct dbk_sum_finding {
	char *target, *category, *object, *title; /* object may be NULL */
	char *evidence, *recommendation;          /* latest; may be NULL */
	int severity;                             /* latest */
	int64_t first_ms, last_ms;
	unsigned count;
	bool open;   /* seen in the last cycle that assessed it */
	bool opened; /* first seen after the first cycle that assessed it */
	int lasting; /* latest "status" of a lasting finding: 0 none, 1 open,
	              * 2 resolved (records with status say it themselves) */
	bool lasting_opened; /* an "open" record fell in the period */
};

/* Failed cycles and actions grouped by (target, what, error). */
struct dbk_sum_failure {
	char *target;
	char *what; /* "cycle", or "rebuild_index public.idx" */
	char *error;
	unsigned count;
	int64_t first_ms, last_ms;
};

struct dbk_summary {
	struct dbk_sum_period period;
	int64_t generated_ms;
	char *queue;
	char *target_filter; /* NULL: every target */
	size_t n_targets;
	struct dbk_sum_target *targets; /* by name */
	size_t n_findings;
	struct dbk_sum_finding *findings; /* open first, most severe first */
	size_t n_failures;
	struct dbk_sum_failure *failures; /* most recent first */
	struct dbk_sum_hk total;
	struct dbk_sum_cycles total_cycles;
	unsigned open[DBK_SUM_SEVERITIES], resolved[DBK_SUM_SEVERITIES];
	unsigned opened[DBK_SUM_SEVERITIES];
	unsigned records;    /* records read in the period */
	unsigned ignored;    /* records of a shape we do not know */
	unsigned unreadable; /* files the queue set aside in bad/ */
	int verdict;         /* enum dbk_sum_verdict */
	size_t n_reasons;
	char **reasons; /* why, most important first; never empty */
	size_t n_notes;
	char **notes; /* about the data (unreadable files, ...) */
};

struct dbk_summary_opts {
	struct dbk_sum_period period;
	const char *target;            /* NULL: every target */
	const char *const *configured; /* target names expected to report */
	size_t n_configured;
	const char *queue_name; /* for the report header */
	int64_t now_ms;         /* "generated at" */
	dbk_queue_warn_fn warn; /* scan warnings also go here; may be NULL */
	void *warn_ctx;
};

/* Reads the records of o->period (new and acknowledged) from q and builds
 * the summary. Unreadable files are set aside by the queue and counted,
 * records of unknown shape are skipped and counted: neither is an error.
 * Returns a summary the caller frees with dbk_summary_free, or NULL with
 * *err set when the queue cannot be listed. */
struct dbk_summary *dbk_summary_build(struct dbk_queue *q,
                                      const struct dbk_summary_opts *o,
                                      struct dbk_err *err);
void dbk_summary_free(struct dbk_summary *s);

/* Renderers: each returns a NUL-terminated string the caller frees (never
 * NULL; allocation failure aborts). Every string that came from a record is
 * escaped for the format. */
json_t *dbk_summary_json(const struct dbk_summary *s); /* new reference */
char *dbk_summary_render_json(const struct dbk_summary *s);
char *dbk_summary_render_md(const struct dbk_summary *s);
char *dbk_summary_render_html(const struct dbk_summary *s);

/* Shared formatting for the renderers (summary.c). */
/* Local time of ms: "2024-05-31 14:05", or "2024-05-31" without the time. */
const char *dbk_sum_fmt_time(int64_t ms, bool with_time, char *buf, size_t len);
/* A value in its series' unit: "10.2 GB", "98.5%", "12", "1.2k/s", "120 ms". */
const char *dbk_sum_fmt_value(int series, double v, char *buf, size_t len);
/* "42 s", "3 min 5 s", "2 h 10 min". */
const char *dbk_sum_fmt_ms(int64_t ms, char *buf, size_t len);
/* 1234567 -> "1,234,567". */
const char *dbk_sum_fmt_count(int64_t v, char *buf, size_t len);
/* Space given back: dropped tables, indexes and server logs, and what
 * rebuilds saved. */
int64_t dbk_sum_hk_reclaimed(const struct dbk_sum_hk *h);
/* "+1.2 GB", "-300 MB", "0 B". */
const char *dbk_sum_fmt_delta_bytes(int64_t d, char *buf, size_t len);

#endif
