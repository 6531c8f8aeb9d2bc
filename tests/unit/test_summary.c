/* tests/unit/test_summary.c: the operations summary (agent/summary*.c and
 * agent/cmd_summary.c). A queue is filled through the real queue code with
 * records shaped exactly as agent/report.c writes them: a month (May 2024,
 * UTC) of daily cycles on two targets, "pg" (PostgreSQL) and "my"
 * (MariaDB), with failed and busy cycles, drops, purges, rebuilds, findings
 * that come and go, and metrics every six hours. The JSON summary's numbers
 * are asserted exactly; Markdown and HTML must show them, escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_summary.h"
#include "config.h"
#include "queue.h"
#include "summary.h"

#define MIN_MS  (60LL * 1000)
#define HOUR_MS (3600LL * 1000)
#define DAY_MS  (86400LL * 1000)
#define T0      1714521600000LL                   /* 2024-05-01 00:00 UTC */
#define NOW     (T0 + 33 * DAY_MS + 10 * HOUR_MS) /* Mon 2024-06-03 10:00 */
#define DAYS    31
#define MIB     (1024LL * 1024)
#define GIB     (1024LL * MIB)

#define HOSTILE_OBJ      "public.\"tmp_<script>alert(1)</script>\""
#define HOSTILE_TITLE    "table `x` | y & \"z\" <b>bold</b>\nnext"
#define HOSTILE_EVIDENCE "<img src=x onerror=alert(1)> & 'q'"

struct fixture {
	char dir[256];
	struct dbk_queue *q;
	unsigned seq;
	struct dbk_target targets[2];
	struct dbk_config cfg;
	char out[400];
};

/* ---- Records, as agent/report.c shapes them ---- */

static json_t *record(struct fixture *fx, struct dbk_queue *q, int kind,
                      const char *target, bool policy, int64_t t_ms)
{
	json_t *rec =
	        dbk_record_new(q, kind, target, policy ? "housekeeping" : NULL);
	char id[128], when[40];
	time_t secs = (time_t)(t_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	snprintf(id, sizeof id, "%013lld.%d_%u.testhost.json", (long long)t_ms,
	         (int)getpid(), fx->seq++);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(when));
	json_object_set_new(rec, "time_ms", json_integer(t_ms));
	return rec;
}

/* Adds src's keys to rec and drops src (json_object_update keeps it). */
static void merge(json_t *rec, json_t *src)
{
	assert_non_null(src);
	json_object_update(rec, src);
	json_decref(src);
}

static void put(struct dbk_queue *q, json_t *rec)
{
	struct dbk_err err = {0};

	if (dbk_queue_put(q, rec, &err) != 0)
		fail_msg("put: %s", err.msg);
	json_decref(rec);
}

static int64_t size_at(const char *target, int64_t t_ms)
{
	return strcmp(target, "pg") == 0 ? 10 * GIB + (t_ms - T0) / 1000
	                                 : 2 * GIB + 2 * ((t_ms - T0) / 1000);
}

static json_t *server(const char *target, int64_t t_ms)
{
	bool pg = strcmp(target, "pg") == 0;

	return json_pack("{s:s,s:s,s:I}", "flavour",
	                 pg ? "postgresql" : "mariadb", "version",
	                 pg ? "16.2" : "10.11.6", "db_size_bytes",
	                 (json_int_t)size_at(target, t_ms));
}

static void put_finding(struct fixture *fx, struct dbk_queue *q,
                        const char *target, int64_t t, const char *category,
                        const char *sev, const char *object, const char *title,
                        const char *evidence, const char *recommendation)
{
	json_t *rec = record(fx, q, DBK_REC_FINDING, target, true, t);

	merge(rec, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "category",
	                     category, "severity", sev, "object",
	                     object ? json_string(object) : json_null(),
	                     "title", title, "evidence", evidence,
	                     "recommendation", recommendation));
	put(q, rec);
}

struct act {
	const char *category, *action, *outcome;
	const char *schema;
	const char *names[4];
	const char *status[4];
	int64_t rows, before, after, duration_ms;
	const char *error, *note;
};

/* The planned part of an action record (dbk_report_action_json without a
 * result); final says whether objects carry a status. */
static json_t *action_rec(struct fixture *fx, struct dbk_queue *q,
                          const char *target, int64_t t, const struct act *a,
                          bool final)
{
	json_t *rec = record(fx, q, DBK_REC_ACTION, target, true, t);
	json_t *objs = json_array();
	size_t n = 0;

	for (; n < 4 && a->names[n] != NULL; n++) {
		json_t *o = json_pack("{s:o, s:s}", "schema",
		                      a->schema ? json_string(a->schema)
		                                : json_null(),
		                      "name", a->names[n]);

		if (final)
			json_object_set_new(o, "status",
			                    json_string(a->status[n]));
		json_array_append_new(objs, o);
	}
	json_object_set_new(rec, "title", json_string(a->action));
	json_object_set_new(
	        rec, "severity",
	        json_string(final && strcmp(a->outcome, "failed") == 0
	                            ? "warning"
	                            : "info"));
	merge(rec, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:o}",
	                     "category", a->category, "action", a->action,
	                     "statement", "DROP TABLE ...", "reason",
	                     "matches the policy", "dry_run",
	                     strcmp(a->outcome, "dry-run") == 0, "carried", 0,
	                     "bytes", (json_int_t)a->before, "objects", objs));
	return rec;
}

/* As the runner does it: a write-ahead record ("started") before the
 * statement runs (not for dry runs), then the final record naming it.
 * final_too false: the agent died in between. */
static void put_action2(struct fixture *fx, struct dbk_queue *q,
                        const char *target, int64_t t, const struct act *a,
                        bool final_too)
{
	json_t *rec = NULL;
	char *start_id = NULL;

	if (strcmp(a->outcome, "dry-run") != 0) {
		rec = action_rec(fx, q, target, t, a, false);
		json_object_set_new(rec, "outcome", json_string("started"));
		start_id =
		        strdup(json_string_value(json_object_get(rec, "id")));
		put(q, rec);
	}
	if (!final_too) {
		free(start_id);
		return;
	}
	rec = action_rec(fx, q, target, t + 500, a, true);
	if (start_id != NULL)
		json_object_set_new(rec, "action_id", json_string(start_id));
	merge(rec, json_pack("{s:s, s:I, s:I, s:I, s:I}", "outcome", a->outcome,
	                     "duration_ms", (json_int_t)a->duration_ms, "rows",
	                     (json_int_t)a->rows, "bytes_before",
	                     (json_int_t)a->before, "bytes_after",
	                     (json_int_t)a->after));
	if (a->note != NULL)
		json_object_set_new(rec, "note", json_string(a->note));
	if (a->error != NULL)
		json_object_set_new(rec, "error", json_string(a->error));
	put(q, rec);
	free(start_id);
}

static void put_action(struct fixture *fx, struct dbk_queue *q,
                       const char *target, int64_t t, const struct act *a)
{
	put_action2(fx, q, target, t, a, true);
}

static void put_run(struct fixture *fx, struct dbk_queue *q, const char *target,
                    int64_t t, const char *status, const char *error,
                    json_t *tasks)
{
	json_t *rec = record(fx, q, DBK_REC_RUN, target, false, t);
	bool assessed = tasks != NULL;

	merge(rec, json_pack("{s:s, s:s, s:b, s:s, s:s, s:I}", "mode", "daemon",
	                     "status", status, "finished",
	                     strcmp(status, "finished") == 0, "severity",
	                     strcmp(status, "failed") == 0 ? "warning" : "info",
	                     "title", status, "duration_ms",
	                     (json_int_t)(5 * MIN_MS)));
	json_object_set_new(rec, "counts",
	                    json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
	                              "actions", 3, "done", 3, "dry_run", 0,
	                              "partial", 0, "skipped", 0, "failed", 0,
	                              "carried", 0));
	json_object_set_new(rec, "tasks", tasks ? tasks : json_object());
	if (assessed)
		json_object_set_new(rec, "server", server(target, t));
	if (error != NULL)
		json_object_set_new(rec, "error", json_string(error));
	put(q, rec);
}

static json_t *metric(const char *name, const char *labels, const char *kind,
                      double value)
{
	json_t *m = json_pack("{s:s, s:f, s:s}", "name", name, "value", value,
	                      "kind", kind);

	if (labels != NULL)
		json_object_set_new(m, "labels", json_string(labels));
	return m;
}

static json_t *counter(const char *name, const char *labels, double rate)
{
	json_t *m = metric(name, labels, "counter", 123456789);

	json_object_set_new(m, "rate_per_s", json_real(rate));
	return m;
}

static void put_metrics(struct fixture *fx, struct dbk_queue *q,
                        const char *target, int d, int h)
{
	int64_t t = T0 + d * DAY_MS + h * 6 * HOUR_MS;
	json_t *rec = record(fx, q, DBK_REC_METRICS, target, false, t);
	json_t *v = json_array();

	if (strcmp(target, "pg") == 0 && d == 0 && h == 0) {
		/* The first snapshot: counters without rates. */
		json_array_append_new(
		        v, metric("blks_hit", "db=app", "counter", 1e6));
		json_array_append_new(
		        v, metric("blks_read", "db=app", "counter", 1e4));
		json_array_append_new(
		        v, metric("xact_commit", "db=app", "counter", 1e5));
	} else if (strcmp(target, "pg") == 0) {
		json_t *hit = counter("blks_hit", "db=app", 900 + d);

		if (d == 12 && h == 2) { /* statistics reset: no rate */
			json_object_del(hit, "rate_per_s");
			json_object_set_new(hit, "reset", json_true());
		}
		json_array_append_new(v, hit);
		json_array_append_new(v,
		                      counter("blks_read", "db=app", 100 - d));
		json_array_append_new(v, counter("xact_commit", "db=app", 50));
	} else {
		json_array_append_new(
		        v, counter("innodb_buffer_pool_read_requests", NULL,
		                   1000));
		json_array_append_new(
		        v, counter("innodb_buffer_pool_reads", NULL, 20));
		json_array_append_new(v, counter("questions", NULL, 200 + d));
		json_array_append_new(v,
		                      counter("connections", NULL,
		                              5)); /* a counter: not a gauge */
		json_array_append_new(
		        v, metric("threads_connected", NULL, "gauge", 5));
		json_array_append_new(
		        v, metric("max_connections", NULL, "gauge", 151));
	}
	if (strcmp(target, "pg") == 0) {
		json_array_append_new(
		        v, metric("connections", "state=active", "gauge", 2));
		json_array_append_new(
		        v, metric("connections", "state=idle", "gauge", 8 + h));
		json_array_append_new(
		        v, metric("connections_total", NULL, "gauge", 10 + h));
		json_array_append_new(v, metric("replication_lag",
		                                "replica=r1,10.0.0.2", "gauge",
		                                100 + 10 * h));
		json_array_append_new(v, metric("db_size", "db=app", "gauge",
		                                (double)size_at(target, t)));
	}
	json_object_set_new(rec, "title", json_string("metrics"));
	json_object_set_new(rec, "values", v);
	json_object_set_new(rec, "server", server(target, t));
	put(q, rec);
}

static json_t *tasks(const char *target, int d)
{
	bool my15 = strcmp(target, "my") == 0 && d == 15;

	return json_pack("{s:{s:s, s:s, s:s, s:s, s:s}}", "housekeeping",
	                 "scratch", "due", "indexes", "due", "logs", "due",
	                 "server_logs", my15 ? "outside_window" : "off",
	                 "stats", d % 7 == 0 ? "due" : "not_due");
}

static const char *status_of(const char *target, int d)
{
	if (strcmp(target, "pg") == 0)
		return d == 10 ? "failed" : d == 20 ? "busy" : "finished";
	return d == 5 || d == 6 ? "failed"
	       : d == 15        ? "stopped_budget"
	                        : "finished";
}

static void pg_actions(struct fixture *fx, int d, int64_t t)
{
	char a[32], b[32];
	struct act purge = {"logs",
	                    "purge_rows",
	                    d == 15 ? "partial" : "done",
	                    "public",
	                    {"app_log"},
	                    {"done"},
	                    1000 + d,
	                    0,
	                    0,
	                    2000,
	                    NULL,
	                    d == 15 ? "stopped at the budget" : NULL};
	struct act analyze = {"stats",
	                      "analyze",
	                      "done",
	                      "public",
	                      {"orders", "customers", "items"},
	                      {"done", "done", "done"},
	                      0,
	                      0,
	                      0,
	                      500,
	                      NULL,
	                      NULL};

	if (d % 7 == 0) {
		struct act drop = {"scratch", "drop_tables", "done",
		                   "public",  {a, b},        {"done", "done"},
		                   0,         MIB,           0,
		                   1500,      NULL,          NULL};

		snprintf(a, sizeof a, "tmp_import_%d_a", d);
		snprintf(b, sizeof b, "tmp_import_%d_b", d);
		put_action(fx, fx->q, "pg", t, &drop);
		t += 1000;
	}
	if (d == 25) { /* the agent was killed during this drop */
		struct act drop = {"scratch",
		                   "drop_tables",
		                   "done",
		                   "public",
		                   {"tmp_killed"},
		                   {"done"},
		                   0,
		                   MIB,
		                   0,
		                   10,
		                   NULL,
		                   NULL};

		put_action2(fx, fx->q, "pg", t, &drop, false);
		t += 1000;
	}
	if (d == 1) {
		struct act logs = {"server_logs",
		                   "purge_server_logs",
		                   "done",
		                   NULL,
		                   {"postgresql-01.log", "postgresql-02.log",
		                    "postgresql-03.log", "postgresql-04.log"},
		                   {"done", "done", "done", "done"},
		                   0,
		                   64 * MIB,
		                   0,
		                   100,
		                   NULL,
		                   NULL};

		put_action(fx, fx->q, "pg", t, &logs);
		t += 1000;
	}
	if (d == 2) {
		struct act dry = {"scratch",
		                  "drop_tables",
		                  "dry-run",
		                  "public",
		                  {"tmp_maybe"},
		                  {"pending"},
		                  0,
		                  0,
		                  0,
		                  0,
		                  NULL,
		                  NULL};

		put_action(fx, fx->q, "pg", t, &dry);
		t += 1000;
	}
	if (d == 3) {
		/* An index action carries its table as a second object. */
		struct act rb = {"indexes",
		                 "rebuild_index",
		                 "done",
		                 "public",
		                 {"idx_orders_created", "orders"},
		                 {"done", "done"},
		                 0,
		                 100 * MIB,
		                 40 * MIB,
		                 60000,
		                 NULL,
		                 NULL};

		put_action(fx, fx->q, "pg", t, &rb);
		t += 1000;
	}
	if (d == 17) {
		struct act rb = {"indexes",
		                 "rebuild_index",
		                 "failed",
		                 "public",
		                 {"idx_orders_customer", "orders"},
		                 {"failed", "failed"},
		                 0,
		                 50 * MIB,
		                 0,
		                 5000,
		                 "canceling statement due to statement timeout",
		                 NULL};

		put_action(fx, fx->q, "pg", t, &rb);
		t += 1000;
	}
	put_action(fx, fx->q, "pg", t, &purge);
	put_action(fx, fx->q, "pg", t + 1000, &analyze);
}

static void my_actions(struct fixture *fx, int d, int64_t t)
{
	struct act purge = {
	        "logs",   "purge_rows", "done", "app", {"audit_log"},
	        {"done"}, 500,          0,      0,     1000,
	        NULL,     NULL};

	if (d == 4) {
		struct act drop = {"scratch",
		                   "drop_tables",
		                   "partial",
		                   "app",
		                   {"tmp_a", "tmp_b", "tmp_c"},
		                   {"done", "skipped_locked", "done"},
		                   0,
		                   3 * MIB,
		                   0,
		                   900,
		                   NULL,
		                   "1 table locked"};

		put_action(fx, fx->q, "my", t, &drop);
		t += 1000;
	}
	if (d == 20) { /* lock not granted: skipped, not failed */
		struct act drop = {"scratch",
		                   "drop_tables",
		                   "skipped",
		                   "app",
		                   {"tmp_busy"},
		                   {"skipped_locked"},
		                   0,
		                   MIB,
		                   0,
		                   3000,
		                   "Lock wait timeout exceeded; try restarting "
		                   "transaction",
		                   NULL};

		put_action(fx, fx->q, "my", t, &drop);
		t += 1000;
	}
	if (d == 9) {
		struct act di = {"indexes",   "drop_index", "done", "app",
		                 {"idx_dup"}, {"done"},     0,      8 * MIB,
		                 0,           300,          NULL,   NULL};

		put_action(fx, fx->q, "my", t, &di);
		t += 1000;
	}
	put_action(fx, fx->q, "my", t, &purge);
}

static void findings(struct fixture *fx, const char *target, int d, int64_t t)
{
	struct dbk_queue *q = fx->q;

	if (strcmp(target, "pg") == 0) {
		if (d <= 2)
			put_finding(fx, q, "pg", t, "indexes", "warning",
			            "public.idx_orders_created",
			            "index is 80% bloated",
			            "80% of 100 MB is dead space",
			            "rebuild it online");
		if (d >= 21)
			put_finding(fx, q, "pg", t + 1, "indexes", "critical",
			            "public.idx_invalid", "invalid index",
			            "CREATE INDEX CONCURRENTLY failed",
			            "drop and recreate the index");
		if (d % 7 == 0)
			put_finding(fx, q, "pg", t + 2, "stats", "warning",
			            "public.orders", "statistics are stale",
			            "40% of rows changed since ANALYZE",
			            "enable autovacuum analyze for the table");
		if (d == 30)
			put_finding(fx, q, "pg", t + 3, "scratch", "info",
			            HOSTILE_OBJ, HOSTILE_TITLE,
			            HOSTILE_EVIDENCE, "drop it | or *not*");
		return;
	}
	put_finding(fx, q, "my", t, "logs", "warning", "app.audit_log",
	            "log table has no index on the time column",
	            "each purge scans 2 GB", "add an index on created_at");
	if (d <= 29)
		put_finding(fx, q, "my", t + 1, "indexes", "info",
		            "app.idx_unused", "index never used",
		            "0 reads since the server started",
		            "consider dropping it");
}

static void fill_month(struct fixture *fx)
{
	static const char *const tg[] = {"pg", "my"};

	for (int d = 0; d < DAYS; d++) {
		for (int i = 0; i < 2; i++) {
			int64_t start = T0 + d * DAY_MS + 2 * HOUR_MS;
			const char *st = status_of(tg[i], d);

			for (int h = 0; h < 4; h++)
				put_metrics(fx, fx->q, tg[i], d, h);
			if (strcmp(st, "failed") == 0 ||
			    strcmp(st, "busy") == 0) {
				put_run(fx, fx->q, tg[i], start + 5 * MIN_MS,
				        st,
				        strcmp(st, "busy") == 0 ? NULL
				        : strcmp(tg[i], "pg") == 0
				                ? "could not connect to "
				                  "server: Connection refused"
				                : "Access denied for user "
				                  "'dbkeeper'@'localhost'",
				        NULL);
				continue;
			}
			findings(fx, tg[i], d, start + 10000);
			if (i == 0)
				pg_actions(fx, d, start + MIN_MS);
			else
				my_actions(fx, d, start + MIN_MS);
			put_run(fx, fx->q, tg[i], start + 5 * MIN_MS, st, NULL,
			        tasks(tg[i], d));
		}
	}
}

/* ---- Fixture ---- */

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");
	struct dbk_err err = {0};

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(fx->dir, sizeof fx->dir, "%s/dbk-test-summary-XXXXXX",
	         tmp ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL ||
	    (fx->q = dbk_queue_open(fx->dir, "reports", &err)) == NULL)
		return -1;
	fx->targets[0].name = "pg";
	fx->targets[1].name = "my";
	fx->cfg.queue_dir = fx->dir;
	fx->cfg.targets = fx->targets;
	fx->cfg.n_targets = 2;
	snprintf(fx->out, sizeof fx->out, "%s/out", fx->dir);
	mkdir(fx->out, 0700);
	snprintf(fx->out, sizeof fx->out, "%s/out/summary", fx->dir);
	fill_month(fx);
	*state = fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *fx = *state;

	dbk_queue_close(fx->q);
	if (getenv("KEEP_WORK") == NULL)
		nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Runs `summary ARGS... -o out` at NOW; returns the exit code. */
static int run_summary(struct fixture *fx, bool json, const char *args, ...)
{
	char *argv[32];
	int argc = 0, rc = 0;
	va_list ap;

	argv[argc++] = (char *)"summary";
	va_start(ap, args);
	for (const char *a = args; a != NULL && argc < 28;
	     a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc++] = (char *)"-o";
	argv[argc++] = fx->out;
	argv[argc] = NULL;
	unlink(fx->out);
	rc = dbk_cmd_summary_at(&fx->cfg, argc, argv, json, NOW);
	return rc;
}

/* Read into a buffer the caller frees (a failing assertion leaks it). */
static char *slurp(const char *path)
{
	struct dbk_err err = {0};
	char *s = dbk_read_file(path, 64 << 20, NULL, &err);

	if (s == NULL)
		fail_msg("%s", err.msg);
	return s;
}

/* `summary --format json ARGS...` parsed. */
static json_t *summary_json(struct fixture *fx, const char *args, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	json_error_t jerr;
	json_t *j = NULL;

	argv[argc++] = (char *)"summary";
	argv[argc++] = (char *)"--format";
	argv[argc++] = (char *)"json";
	va_start(ap, args);
	for (const char *a = args; a != NULL && argc < 28;
	     a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc++] = (char *)"-o";
	argv[argc++] = fx->out;
	argv[argc] = NULL;
	unlink(fx->out);
	assert_int_equal(dbk_cmd_summary_at(&fx->cfg, argc, argv, false, NOW),
	                 0);
	if ((j = json_load_file(fx->out, 0, &jerr)) == NULL)
		fail_msg("summary JSON: %s", jerr.text);
	return j;
}

/* "targets/pg/cycles/runs": object keys, array indexes, or in the arrays
 * "targets" and "trends" an element by its "name". */
static json_t *jget(json_t *root, const char *path)
{
	char buf[256], *save = NULL;
	json_t *j = root;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = strtok_r(buf, "/", &save); p != NULL && j != NULL;
	     p = strtok_r(NULL, "/", &save)) {
		if (json_is_array(j)) {
			size_t i = 0;
			json_t *e = NULL, *hit = NULL;

			json_array_foreach(
			        j, i,
			        e) if (json_is_object(e) &&
			               json_string_value(
			                       json_object_get(e, "name")) &&
			               strcmp(json_string_value(json_object_get(
			                              e, "name")),
			                      p) == 0) hit = e;
			j = hit ? hit
			        : json_array_get(j,
			                         (size_t)strtoul(p, NULL, 10));
		} else {
			j = json_object_get(j, p);
		}
	}
	if (j == NULL)
		fail_msg("no %s in the summary", path);
	return j;
}

static int64_t jint(json_t *root, const char *path)
{
	json_t *j = jget(root, path);

	if (!json_is_integer(j))
		fail_msg("%s is not an integer", path);
	return (int64_t)json_integer_value(j);
}

static double jnum(json_t *root, const char *path)
{
	return json_number_value(jget(root, path));
}

static const char *jstr(json_t *root, const char *path)
{
	const char *s = json_string_value(jget(root, path));

	if (s == NULL)
		fail_msg("%s is not a string", path);
	return s;
}

static void assert_near(double want, double got)
{
	if (fabs(want - got) > 1e-9 * fmax(1, fabs(want)))
		fail_msg("expected %.12g, got %.12g", want, got);
}

static void assert_has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("[%s] not found in the output", needle);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("[%s] must not appear in the output", needle);
}

/* The finding with this title on this target. */
static json_t *finding_by(json_t *root, const char *target, const char *title)
{
	size_t i = 0;
	json_t *f = NULL;

	json_array_foreach(
	        json_object_get(root, "findings"), i,
	        f) if (strcmp(json_string_value(json_object_get(f, "target")),
	                      target) == 0 &&
	               strcmp(json_string_value(json_object_get(f, "title")),
	                      title) == 0) return f;
	fail_msg("no finding '%s' on %s", title, target);
	return NULL;
}

/* ---- Tests ---- */

static void test_month_overview_and_cycles(void **state)
{
	struct fixture *fx = *state;
	json_t *j = summary_json(fx, "--period", "month", NULL);

	assert_string_equal(jstr(j, "period/label"), "May 2024");
	assert_int_equal(jint(j, "period/from_ms"), T0);
	assert_int_equal(jint(j, "period/to_ms"), T0 + 31 * DAY_MS);
	assert_string_equal(jstr(j, "period/last_day"), "2024-05-31");
	assert_int_equal(json_array_size(jget(j, "targets")), 2);
	assert_string_equal(jstr(j, "targets/0/name"), "my"); /* by name */
	assert_string_equal(jstr(j, "targets/pg/engine"), "postgresql");
	assert_string_equal(jstr(j, "targets/pg/version"), "16.2");
	assert_string_equal(jstr(j, "targets/my/engine"), "mariadb");
	/* Sizes: the first and the last point of the period (18:00 on the
	 * 31st). */
	assert_int_equal(jint(j, "targets/pg/db_size/start"), 10 * GIB);
	assert_int_equal(jint(j, "targets/pg/db_size/end"),
	                 10 * GIB + 30 * 86400 + 18 * 3600);
	assert_int_equal(jint(j, "targets/pg/db_size/change"),
	                 30 * 86400 + 18 * 3600);
	assert_int_equal(jint(j, "targets/my/db_size/start"), 2 * GIB);
	assert_int_equal(jint(j, "targets/my/db_size/change"),
	                 2 * (30 * 86400 + 18 * 3600));
	assert_int_equal(jint(j, "targets/pg/cycles/runs"), 31);
	assert_int_equal(jint(j, "targets/pg/cycles/finished"), 29);
	assert_int_equal(jint(j, "targets/pg/cycles/failed"), 1);
	assert_int_equal(jint(j, "targets/pg/cycles/busy"), 1);
	assert_int_equal(jint(j, "targets/pg/cycles/stopped_budget"), 0);
	assert_int_equal(jint(j, "targets/pg/cycles/time_ms"), 31 * 5 * MIN_MS);
	assert_int_equal(jint(j, "targets/my/cycles/runs"), 31);
	assert_int_equal(jint(j, "targets/my/cycles/finished"), 28);
	assert_int_equal(jint(j, "targets/my/cycles/failed"), 2);
	assert_int_equal(jint(j, "targets/my/cycles/stopped_budget"), 1);
	assert_int_equal(jint(j, "targets/my/cycles/outside_window"), 1);
	assert_int_equal(jint(j, "totals/cycles/runs"), 62);
	assert_int_equal(jint(j, "totals/cycles/failed"), 3);
	/* 248 metrics, 62 runs, 19 + 57 findings, 67 + 32 actions and their
	 * write-ahead records (66 + 32), one write-ahead record alone */
	assert_int_equal(jint(j, "records/read"), 248 + 62 + 76 + 99 + 98 + 1);
	assert_int_equal(jint(j, "records/unreadable"), 0);
	json_decref(j);
}

static void test_month_housekeeping(void **state)
{
	struct fixture *fx = *state;
	json_t *j = summary_json(fx, "--period", "month", NULL);

	assert_int_equal(jint(j, "targets/pg/housekeeping/tables_dropped"), 10);
	assert_int_equal(
	        jint(j, "targets/pg/housekeeping/tables_dropped_bytes"),
	        5 * MIB);
	assert_int_equal(jint(j, "targets/pg/housekeeping/rows_purged"), 29435);
	assert_int_equal(jint(j, "targets/pg/housekeeping/server_logs_removed"),
	                 4);
	assert_int_equal(jint(j, "targets/pg/housekeeping/server_logs_bytes"),
	                 64 * MIB);
	assert_int_equal(jint(j, "targets/pg/housekeeping/indexes_rebuilt"), 1);
	assert_int_equal(
	        jint(j, "targets/pg/housekeeping/rebuild_bytes_before"),
	        100 * MIB);
	assert_int_equal(jint(j, "targets/pg/housekeeping/rebuild_bytes_after"),
	                 40 * MIB);
	assert_int_equal(jint(j, "targets/pg/housekeeping/tables_analyzed"),
	                 87);
	assert_int_equal(jint(j, "targets/pg/housekeeping/time_ms"), 145100);
	assert_int_equal(jint(j, "targets/pg/housekeeping/actions/total"), 68);
	assert_int_equal(jint(j, "targets/pg/housekeeping/actions/done"), 64);
	assert_int_equal(jint(j, "targets/pg/housekeeping/actions/partial"), 1);
	assert_int_equal(jint(j, "targets/pg/housekeeping/actions/failed"), 1);
	assert_int_equal(jint(j, "targets/pg/housekeeping/actions/dry_run"), 1);
	assert_int_equal(jint(j, "targets/pg/housekeeping/actions/interrupted"),
	                 1);
	assert_int_equal(jint(j, "targets/my/housekeeping/actions/total"), 32);
	assert_int_equal(jint(j, "targets/my/housekeeping/actions/skipped"), 1);
	assert_int_equal(jint(j, "targets/my/housekeeping/tables_dropped"), 2);
	assert_int_equal(
	        jint(j, "targets/my/housekeeping/tables_dropped_bytes"),
	        3 * MIB);
	assert_int_equal(jint(j, "targets/my/housekeeping/rows_purged"), 14500);
	assert_int_equal(jint(j, "targets/my/housekeeping/indexes_dropped"), 1);
	assert_int_equal(
	        jint(j, "targets/my/housekeeping/indexes_dropped_bytes"),
	        8 * MIB);
	assert_int_equal(jint(j, "targets/my/housekeeping/time_ms"), 33200);
	assert_int_equal(jint(j, "totals/housekeeping/tables_dropped"), 12);
	assert_int_equal(jint(j, "totals/housekeeping/rows_purged"),
	                 29435 + 14500);
	/* Failures: grouped, the most recent first; a skip is not one. */
	assert_int_equal(json_array_size(jget(j, "failures")), 4);
	assert_string_equal(jstr(j, "failures/0/target"), "pg");
	assert_string_equal(jstr(j, "failures/0/what"),
	                    "drop_tables public.tmp_killed");
	assert_string_equal(jstr(j, "failures/0/error"),
	                    "no outcome was recorded: the agent "
	                    "stopped or crashed during the action");
	assert_string_equal(jstr(j, "failures/1/what"),
	                    "rebuild_index public.idx_orders_customer");
	assert_string_equal(jstr(j, "failures/1/error"),
	                    "canceling statement due to statement timeout");
	assert_string_equal(jstr(j, "failures/2/what"), "cycle");
	assert_string_equal(jstr(j, "failures/2/target"), "pg");
	assert_string_equal(jstr(j, "failures/3/target"), "my");
	assert_int_equal(jint(j, "failures/3/count"), 2);
	assert_string_equal(jstr(j, "failures/3/error"),
	                    "Access denied for user 'dbkeeper'@'localhost'");
	json_decref(j);
}

static void test_month_findings(void **state)
{
	struct fixture *fx = *state;
	json_t *j = summary_json(fx, "--period", "month", NULL);
	json_t *f = NULL;

	assert_int_equal(json_array_size(jget(j, "findings")), 6);
	/* Open first, the most severe first: the remediation plan. */
	assert_string_equal(jstr(j, "findings/0/title"), "invalid index");
	assert_string_equal(jstr(j, "findings/0/severity"), "critical");
	assert_string_equal(jstr(j, "findings/0/status"), "open");
	assert_true(json_is_true(jget(j, "findings/0/opened")));
	assert_int_equal(jint(j, "findings/0/count"), 10);
	assert_string_equal(jstr(j, "findings/0/first_seen"),
	                    "2024-05-22T02:00:10Z");
	assert_string_equal(jstr(j, "findings/0/recommendation"),
	                    "drop and recreate the index");
	assert_string_equal(jstr(j, "findings/1/title"),
	                    "log table has no index on the time column");
	assert_int_equal(jint(j, "findings/1/count"), 29);
	assert_string_equal(jstr(j, "findings/2/title"),
	                    "statistics are stale");
	assert_string_equal(jstr(j, "findings/2/status"), "open");
	assert_string_equal(jstr(j, "findings/3/severity"), "info");
	assert_string_equal(jstr(j, "findings/3/object"), HOSTILE_OBJ);
	/* Resolved: not seen in the last cycle that assessed them. */
	f = finding_by(j, "pg", "index is 80% bloated");
	assert_string_equal(json_string_value(json_object_get(f, "status")),
	                    "resolved");
	assert_int_equal(json_integer_value(json_object_get(f, "count")), 3);
	assert_true(json_is_false(json_object_get(f, "opened")));
	f = finding_by(j, "my", "index never used");
	assert_string_equal(json_string_value(json_object_get(f, "status")),
	                    "resolved");
	assert_int_equal(json_integer_value(json_object_get(f, "count")), 28);
	assert_string_equal(json_string_value(json_object_get(f, "last_seen")),
	                    "2024-05-30T02:00:10Z");
	/* Stats run weekly: seen on the last day they were assessed = open. */
	f = finding_by(j, "pg", "statistics are stale");
	assert_int_equal(json_integer_value(json_object_get(f, "count")), 5);
	assert_int_equal(jint(j, "totals/findings/open/critical"), 1);
	assert_int_equal(jint(j, "totals/findings/open/warning"), 2);
	assert_int_equal(jint(j, "totals/findings/open/info"), 1);
	assert_int_equal(jint(j, "totals/findings/resolved/warning"), 1);
	assert_int_equal(jint(j, "totals/findings/resolved/info"), 1);
	assert_int_equal(jint(j, "totals/findings/opened/critical"), 1);
	assert_int_equal(jint(j, "targets/my/findings/open/warning"), 1);
	/* The conclusion: a critical finding is open. */
	assert_string_equal(jstr(j, "conclusion/status"), "action_required");
	assert_string_equal(
	        jstr(j, "conclusion/reasons/0"),
	        "1 critical finding still open: invalid index (pg)");
	assert_non_null(strstr(jstr(j, "conclusion/reasons/1"),
	                       "2 warnings still open"));
	assert_string_equal(jstr(j, "conclusion/reasons/2"),
	                    "3 cycles failed (my: 2, pg: 1)");
	assert_string_equal(jstr(j, "conclusion/reasons/3"),
	                    "1 housekeeping action failed: rebuild_index "
	                    "public.idx_orders_customer (pg)");
	assert_string_equal(
	        jstr(j, "conclusion/reasons/4"),
	        "1 housekeeping action ended without an outcome (the agent "
	        "stopped or crashed): drop_tables public.tmp_killed (pg)");
	json_decref(j);
}

static void test_month_trends(void **state)
{
	struct fixture *fx = *state;
	json_t *j = summary_json(fx, "--period", "month", NULL);

	assert_int_equal(json_array_size(jget(j, "targets/pg/trends")), 5);
	assert_int_equal(json_array_size(jget(j, "targets/my/trends")), 4);
	/* DB size: 4 metrics points a day plus the run record of each assessed
	 * day. */
	assert_int_equal(jint(j, "targets/pg/trends/db_size_bytes/n"),
	                 31 * 4 + 29);
	assert_near(10 * GIB, jnum(j, "targets/pg/trends/db_size_bytes/first"));
	assert_near(10 * GIB + 18 * 3600,
	            jnum(j, "targets/pg/trends/db_size_bytes/days/0/last"));
	assert_string_equal(
	        jstr(j, "targets/pg/trends/db_size_bytes/days/30/date"),
	        "2024-05-31");
	/* Cache hit from the blks_hit/blks_read rates; no point without a rate.
	 */
	assert_int_equal(jint(j, "targets/pg/trends/cache_hit_pct/n"),
	                 31 * 4 - 2);
	assert_near(90.0, jnum(j, "targets/pg/trends/cache_hit_pct/min"));
	assert_near(93.0, jnum(j, "targets/pg/trends/cache_hit_pct/max"));
	assert_near(90.0,
	            jnum(j, "targets/pg/trends/cache_hit_pct/days/0/avg"));
	assert_int_equal(jint(j, "targets/pg/trends/cache_hit_pct/days/0/n"),
	                 3);
	assert_int_equal(jint(j, "targets/pg/trends/cache_hit_pct/days/12/n"),
	                 3);
	assert_near(91.2,
	            jnum(j, "targets/pg/trends/cache_hit_pct/days/12/avg"));
	assert_near(10, jnum(j, "targets/pg/trends/connections/days/4/min"));
	assert_near(13, jnum(j, "targets/pg/trends/connections/days/4/max"));
	assert_near(11.5, jnum(j, "targets/pg/trends/connections/days/4/avg"));
	assert_near(50, jnum(j, "targets/pg/trends/xact_commit_per_s/avg"));
	assert_near(130, jnum(j, "targets/pg/trends/replication_lag_ms/max"));
	/* MariaDB: the buffer pool ratio, Questions, threads_connected (the
	 * "connections" counter is not a number of connections). */
	assert_near(98.0, jnum(j, "targets/my/trends/cache_hit_pct/avg"));
	assert_near(5, jnum(j, "targets/my/trends/connections/max"));
	assert_near(200, jnum(j, "targets/my/trends/queries_per_s/first"));
	assert_near(230, jnum(j, "targets/my/trends/queries_per_s/last"));
	assert_near(215,
	            jnum(j, "targets/my/trends/queries_per_s/days/15/avg"));
	json_decref(j);
}

static void test_periods(void **state)
{
	struct fixture *fx = *state;
	json_t *j = summary_json(fx, "--since", "7d", NULL);

	assert_string_equal(jstr(j, "period/label"), "last 7 days");
	assert_int_equal(jint(j, "period/from_ms"), NOW - 7 * DAY_MS);
	assert_int_equal(jint(j, "targets/pg/cycles/runs"),
	                 4); /* 28th to 31st */
	assert_int_equal(jint(j, "targets/my/cycles/runs"), 4);
	assert_int_equal(jint(j, "targets/pg/db_size/start"),
	                 10 * GIB + 26 * 86400 + 12 * 3600);
	assert_int_equal(jint(j, "findings/0/count"), 4);
	assert_string_equal(jstr(j, "conclusion/status"), "action_required");
	json_decref(j);

	j = summary_json(fx, "--from", "2024-05-10", "--to", "2024-05-12",
	                 NULL);
	assert_string_equal(jstr(j, "period/label"),
	                    "2024-05-10 to 2024-05-12");
	assert_int_equal(jint(j, "period/from_ms"), T0 + 9 * DAY_MS);
	assert_int_equal(jint(j, "period/to_ms"), T0 + 12 * DAY_MS);
	assert_int_equal(jint(j, "targets/pg/cycles/runs"), 3);
	assert_int_equal(jint(j, "targets/pg/cycles/failed"), 1);
	assert_int_equal(jint(j, "targets/my/cycles/failed"), 0);
	assert_int_equal(jint(j, "targets/pg/housekeeping/rows_purged"),
	                 1009 + 1011);
	assert_string_equal(jstr(j, "conclusion/status"), "attention_needed");
	json_decref(j);

	j = summary_json(fx, "--period", "week", NULL);
	assert_string_equal(jstr(j, "period/label"),
	                    "week 2024-W22 (2024-05-27 to 2024-06-02)");
	assert_int_equal(jint(j, "period/from_ms"), T0 + 26 * DAY_MS);
	assert_int_equal(jint(j, "period/to_ms"), T0 + 33 * DAY_MS);
	assert_int_equal(jint(j, "targets/pg/cycles/runs"), 5);
	assert_int_equal(jint(j, "targets/pg/housekeeping/tables_dropped"), 2);
	json_decref(j);

	/* --from alone runs to now. */
	j = summary_json(fx, "--from", "2024-05-31", NULL);
	assert_int_equal(jint(j, "period/to_ms"), NOW);
	assert_int_equal(jint(j, "targets/pg/cycles/runs"), 1);
	json_decref(j);
}

static void test_period_local_time(void **state)
{
	struct dbk_sum_period p;
	struct dbk_err err = {0};
	int64_t sun =
	        1711886400000LL; /* 2024-03-31 12:00 UTC, the day DST starts */

	(void)state;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	assert_int_equal(dbk_sum_period_last("week", sun, &p, &err), 0);
	assert_int_equal(p.from_ms, 1710716400000LL); /* Mon 03-18 00:00 CET */
	assert_int_equal(p.to_ms, 1711321200000LL);   /* Mon 03-25 00:00 CET */
	assert_string_equal(p.label,
	                    "week 2024-W12 (2024-03-18 to 2024-03-24)");
	assert_int_equal(dbk_sum_period_last("month", sun, &p, &err), 0);
	assert_int_equal(p.from_ms, 1706742000000LL); /* 02-01 00:00 CET */
	assert_int_equal(p.to_ms,
	                 1709247600000LL); /* 03-01 00:00 CET: 29 days */
	assert_string_equal(p.label, "February 2024");
	/* A day with 23 hours. */
	assert_int_equal(
	        dbk_sum_period_dates("2024-03-31", "2024-03-31", sun, &p, &err),
	        0);
	assert_int_equal(p.to_ms - p.from_ms, 23 * HOUR_MS);
	/* January: the last month is December of the year before. */
	assert_int_equal(
	        dbk_sum_period_last("month", 1704888000000LL, &p, &err), 0);
	assert_string_equal(p.label, "December 2023");
	assert_int_equal(
	        dbk_sum_period_dates("2024-02-30", NULL, sun, &p, &err), -1);
	assert_int_equal(dbk_sum_period_dates("2024-2-3", NULL, sun, &p, &err),
	                 -1);
	assert_int_equal(
	        dbk_sum_period_dates("2024-03-02", "2024-03-01", sun, &p, &err),
	        -1);
	assert_int_equal(dbk_sum_period_last("fortnight", sun, &p, &err), -1);
	assert_int_equal(dbk_sum_period_since(sun, 0, &p, &err), -1);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_target_filter(void **state)
{
	struct fixture *fx = *state;
	json_t *j =
	        summary_json(fx, "--period", "month", "--target", "my", NULL);

	assert_int_equal(json_array_size(jget(j, "targets")), 1);
	assert_string_equal(jstr(j, "targets/0/name"), "my");
	assert_string_equal(jstr(j, "target_filter"), "my");
	assert_int_equal(json_array_size(jget(j, "findings")), 2);
	assert_int_equal(jint(j, "totals/cycles/runs"), 31);
	assert_string_equal(jstr(j, "conclusion/status"), "attention_needed");
	json_decref(j);
}

static void test_markdown(void **state)
{
	struct fixture *fx = *state;
	char *md = NULL;

	assert_int_equal(run_summary(fx, false, "--period", "month", NULL), 0);
	md = slurp(fx->out);
	assert_has(md, "# dbkeeper operations summary: May 2024");
	assert_has(md, "## Conclusion: Action required");
	assert_has(md, "- 1 critical finding still open: invalid index (pg)");
	assert_has(md, "| pg | postgresql 16.2 | 10.0 GB | 10.0 GB | +2.5 MB | "
	               "31 | 29 | 1 | 1 | 0 | 1/1/1 |");
	assert_has(md, "| pg | 10 (5.0 MB) | 29,435 | 4 (64.0 MB) | 1 (100.0 "
	               "MB → 40.0 MB) | 0 | 87 | 2 | 2 min 25 s |");
	assert_has(md, "| my | 2 (3.0 MB) | 14,500 | 0 | 0 | 1 (8.0 MB) | 0 | "
	               "0 | 33.2 s |");
	assert_has(md, "| **Total** | 12 (8.0 MB) | 43,935 |");
	assert_has(md, "### 1. CRITICAL: invalid index");
	assert_has(md, "- **Recommendation:** drop and recreate the index");
	assert_has(md,
	           "| info | my | index never used | app.idx_unused | 28 |");
	assert_has(md, "| Cache hit ratio | 90.0% | 90.0% |");
	assert_has(md, "| 2024-05-13 | 10.0 GB | 91.2% | 13 | 50/s | 130 ms |");
	assert_has(md, "| canceling statement due to statement timeout | 1 |");
	/* Hostile strings: no HTML (every '<' escaped), no broken table, one
	 * line. */
	for (const char *p = strchr(md, '<'); p != NULL; p = strchr(p + 1, '<'))
		if (p == md || p[-1] != '\\')
			fail_msg("a bare '<' in the Markdown: %.40s", p);
	assert_has(md, "public.\"tmp\\_\\<script\\>alert(1)\\</script\\>\"");
	assert_has(md,
	           "table \\`x\\` \\| y \\& \"z\" \\<b\\>bold\\</b\\> next");
	assert_has(md, "drop it \\| or \\*not\\*");
	assert_has(
	        md,
	        "public.idx_orders_created"); /* inner underscores stay bare */
	free(md);
}

static void test_html(void **state)
{
	struct fixture *fx = *state;
	char *html = NULL;

	assert_int_equal(run_summary(fx, false, "--period", "month", "--format",
	                             "html", NULL),
	                 0);
	html = slurp(fx->out);
	assert_has(html, "<!DOCTYPE html>");
	assert_has(html, "<title>dbkeeper summary: May 2024</title>");
	assert_has(html, "class=\"verdict v-action_required\"");
	assert_has(html, "Action required");
	assert_has(html, "29,435");
	assert_has(html, "10 (5.0 MB)");
	assert_has(html, "100.0 MB &rarr; 40.0 MB");
	assert_has(html, "canceling statement due to statement timeout");
	assert_has(html, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
	assert_has(html, "<polyline");
	assert_has(html, "data-series=\"cache_hit_pct\"");
	assert_has(html, "@media print");
	/* Self-contained: nothing to fetch, nothing to run. */
	assert_lacks(html, "<script");
	assert_lacks(html, "<link");
	assert_lacks(html, "src=\"http");
	assert_lacks(html, "@import");
	assert_lacks(html, "url(");
	/* Hostile strings escaped. */
	assert_lacks(html, "<img");
	assert_lacks(html, "<b>bold");
	assert_has(
	        html,
	        "public.&quot;tmp_&lt;script&gt;alert(1)&lt;/script&gt;&quot;");
	assert_has(html, "table `x` | y &amp; &quot;z&quot; "
	                 "&lt;b&gt;bold&lt;/b&gt;\nnext");
	assert_has(html,
	           "&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39;");
	free(html);
}

static void test_global_json_and_usage(void **state)
{
	struct fixture *fx = *state;
	json_error_t jerr;
	json_t *j = NULL;
	char tmpname[512];

	assert_int_equal(run_summary(fx, true, "--period", "month", NULL), 0);
	assert_non_null(j = json_load_file(fx->out, 0, &jerr));
	assert_int_equal(jint(j, "schema"), DBK_SUMMARY_SCHEMA);
	json_decref(j);
	snprintf(tmpname, sizeof tmpname, "%s/out/.summary.tmp", fx->dir);
	assert_int_equal(access(tmpname, F_OK), -1); /* renamed into place */
	assert_int_equal(run_summary(fx, true, "--format", "html", NULL), 2);
	assert_int_equal(run_summary(fx, false, "--format", "pdf", NULL), 2);
	assert_int_equal(run_summary(fx, false, "--period", "fortnight", NULL),
	                 2);
	assert_int_equal(run_summary(fx, false, "--since", "7d", "--period",
	                             "week", NULL),
	                 2);
	assert_int_equal(run_summary(fx, false, "--since", "soon", NULL), 2);
	assert_int_equal(run_summary(fx, false, "--to", "2024-05-01", NULL), 2);
	assert_int_equal(run_summary(fx, false, "--from", "2024-02-30", NULL),
	                 2);
	assert_int_equal(run_summary(fx, false, "--frobnicate", NULL), 2);
	assert_int_equal(run_summary(fx, false, "extra", NULL), 2);
	assert_int_equal(run_summary(fx, false, "--queue", "../x", NULL), 3);
	{
		char *argv[] = {(char *)"summary", (char *)"-o",
		                (char *)"/nonexistent-dir/summary.md", NULL};
		char *argv2[] = {(char *)"summary", (char *)"--since", NULL};

		assert_int_equal(
		        dbk_cmd_summary_at(&fx->cfg, 3, argv, false, NOW), 3);
		assert_int_equal(
		        dbk_cmd_summary_at(&fx->cfg, 2, argv2, false, NOW), 2);
	}
}

static void test_empty_period(void **state)
{
	struct fixture *fx = *state;
	json_t *j = summary_json(fx, "--from", "2023-01-01", "--to",
	                         "2023-01-31", NULL);
	char *text = NULL;

	assert_int_equal(jint(j, "records/read"), 0);
	assert_int_equal(json_array_size(jget(j, "targets")),
	                 2); /* configured, silent */
	assert_int_equal(jint(j, "targets/pg/cycles/runs"), 0);
	assert_true(json_is_null(jget(j, "targets/pg/db_size/start")));
	assert_int_equal(json_array_size(jget(j, "findings")), 0);
	assert_string_equal(jstr(j, "conclusion/status"), "attention_needed");
	assert_string_equal(
	        jstr(j, "conclusion/reasons/0"),
	        "No cycle was recorded for my, pg in this period; is the "
	        "agent running?");
	json_decref(j);
	assert_int_equal(run_summary(fx, false, "--from", "2023-01-01", "--to",
	                             "2023-01-31", "--format", "html", NULL),
	                 0);
	text = slurp(fx->out);
	assert_has(text, "No metrics were recorded in this period.");
	free(text);
	assert_int_equal(run_summary(fx, false, "--from", "2023-01-01", "--to",
	                             "2023-01-31", NULL),
	                 0);
	text = slurp(fx->out);
	assert_has(text, "No housekeeping action was recorded in this period.");
	assert_has(text, "Nothing is open.");
	free(text);
}

static void test_only_failures(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = {0};
	struct dbk_queue *q = dbk_queue_open(fx->dir, "failing", &err);
	json_t *j = NULL;
	char *text = NULL;

	assert_non_null(q);
	for (int d = 0; d < 5; d++)
		put_run(fx, q, "pg", T0 + d * DAY_MS, "failed",
		        "could not connect to server: Connection refused",
		        NULL);
	dbk_queue_close(q);
	j = summary_json(fx, "--queue", "failing", "--period", "month", NULL);
	assert_string_equal(jstr(j, "queue"), "failing");
	assert_string_equal(jstr(j, "conclusion/status"), "action_required");
	assert_string_equal(
	        jstr(j, "conclusion/reasons/0"),
	        "Every cycle on pg failed (5); the agent cannot work there: "
	        "could not connect to server: Connection refused");
	assert_string_equal(jstr(j, "conclusion/reasons/1"),
	                    "No cycle was recorded for my in this period; is "
	                    "the agent running?");
	assert_int_equal(json_array_size(jget(j, "failures")), 1);
	assert_int_equal(jint(j, "failures/0/count"), 5);
	assert_int_equal(jint(j, "targets/pg/cycles/failed"), 5);
	json_decref(j);
	assert_int_equal(run_summary(fx, false, "--queue", "failing",
	                             "--period", "month", "--format", "html",
	                             NULL),
	                 0);
	text = slurp(fx->out);
	assert_has(text, "Every cycle on pg failed (5)");
	free(text);
}

/* Lasting findings (agent/rules.c) are recorded when they open, are
 * reminded of and resolve, with a stable key and their own count; the
 * summary takes their state from the latest record, not from whether the
 * last cycle repeated them, and ignores on-demand tune records. */
static void put_lasting(struct fixture *fx, struct dbk_queue *q, int64_t t,
                        const char *key, const char *status, int count,
                        const char *title)
{
	json_t *rec = record(fx, q, DBK_REC_FINDING, "pg", true, t);

	merge(rec, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
	                     "category", "tuning", "severity", "warning",
	                     "object", "app.t", "title", title, "key", key,
	                     "status", status, "count", count, "evidence", "e",
	                     "recommendation", "r"));
	put(q, rec);
}

static void test_lasting_findings(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = {0};
	struct dbk_queue *q = dbk_queue_open(fx->dir, "lasting", &err);
	json_t *j = NULL;

	assert_non_null(q);
	for (int d = 0; d < 10; d++)
		put_run(fx, q, "pg", T0 + d * DAY_MS, "finished", NULL, NULL);
	/* still open: opened on day 1, reminded on day 5 with a new value */
	put_lasting(fx, q, T0 + DAY_MS + 1, "dead_rows|app.t", "open", 1,
	            "40% of the rows are dead");
	put_lasting(fx, q, T0 + 5 * DAY_MS + 1, "dead_rows|app.t", "still_open",
	            96, "55% of the rows are dead");
	/* resolved on day 3 */
	put_lasting(fx, q, T0 + DAY_MS + 2, "idle_tx|pid", "open", 1,
	            "a session is idle in transaction");
	put_lasting(fx, q, T0 + 3 * DAY_MS + 2, "idle_tx|pid", "resolved", 40,
	            "a session is idle in transaction");
	/* an engineer's tune run: no part of the period's findings */
	put_lasting(fx, q, T0 + 4 * DAY_MS + 3, "on_demand|x", "on_demand", 1,
	            "seen by tune");
	dbk_queue_close(q);
	j = summary_json(fx, "--queue", "lasting", "--period", "month", NULL);
	assert_int_equal(json_array_size(jget(j, "findings")), 2);
	assert_int_equal(jint(j, "totals/findings/open/warning"), 1);
	assert_int_equal(jint(j, "totals/findings/resolved/warning"), 1);
	assert_string_equal(jstr(j, "findings/0/status"), "open");
	assert_string_equal(jstr(j, "findings/0/title"), "55% of the rows are dead");
	assert_int_equal(jint(j, "findings/0/count"), 96);
	assert_string_equal(jstr(j, "findings/1/status"), "resolved");
	assert_int_equal(jint(j, "findings/1/count"), 40);
	json_decref(j);
}

static void write_raw(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void test_unparsable_file(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = {0};
	struct dbk_queue *q = dbk_queue_open(fx->dir, "broken", &err);
	char path[600];
	json_t *j = NULL;
	char *text = NULL;

	assert_non_null(q);
	put_run(fx, q, "pg", T0 + HOUR_MS, "finished", NULL, tasks("pg", 1));
	dbk_queue_close(q);
	snprintf(path, sizeof path, "%s/broken/new/%013lld.1_1.testhost.json",
	         fx->dir, (long long)(T0 + 2 * HOUR_MS));
	write_raw(path, "{\"kind\": \"run\", trailing garbage");
	snprintf(path, sizeof path, "%s/broken/new/%013lld.1_2.testhost.json",
	         fx->dir, (long long)(T0 + 3 * HOUR_MS));
	write_raw(path, "{\"id\": \"1714532400000.1_2.testhost.json\", "
	                "\"kind\": \"run\", "
	                "\"time_ms\": 1714532400000, \"target\": null}");
	j = summary_json(fx, "--queue", "broken", "--period", "month",
	                 "--target", "pg", NULL);
	assert_int_equal(jint(j, "records/read"), 1);
	assert_int_equal(jint(j, "records/unreadable"), 1);
	assert_int_equal(jint(j, "records/ignored"),
	                 0); /* the target filter left it out */
	assert_int_equal(jint(j, "targets/pg/cycles/finished"), 1);
	assert_string_equal(jstr(j, "notes/0"),
	                    "1 queue file could not be read and was "
	                    "left out (unparsable files are moved to bad/)");
	assert_string_equal(jstr(j, "conclusion/status"), "healthy");
	assert_string_equal(
	        jstr(j, "conclusion/reasons/0"),
	        "1 cycle on 1 target, none failed; no critical finding or "
	        "warning is open");
	json_decref(j);
	snprintf(path, sizeof path, "%s/broken/bad/%013lld.1_1.testhost.json",
	         fx->dir, (long long)(T0 + 2 * HOUR_MS));
	assert_int_equal(access(path, F_OK), 0);
	/* Without the filter the record without a target is counted as ignored.
	 */
	j = summary_json(fx, "--queue", "broken", "--period", "month", NULL);
	assert_int_equal(jint(j, "records/ignored"), 1);
	json_decref(j);
	assert_int_equal(run_summary(fx, false, "--queue", "broken", "--period",
	                             "month", NULL),
	                 0);
	text = slurp(fx->out);
	assert_has(text, "1 record read; 1 record without a target");
	free(text);
}

/* A model built by hand: hostile and absurd values never crash a renderer
 * nor leave a NaN in the JSON. */
static void test_absurd_values(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = {0};
	struct dbk_queue *q = dbk_queue_open(fx->dir, "absurd", &err);
	json_t *rec = NULL, *j = NULL;
	char *text = NULL;

	assert_non_null(q);
	rec = record(fx, q, DBK_REC_METRICS, "x\x01<y>", false, T0 + HOUR_MS);
	json_object_set_new(rec, "values",
	                    json_pack("[{s:s, s:f, s:s, s:f}, {s:s, s:f, s:s}]",
	                              "name", "blks_hit", "value", 1.0, "kind",
	                              "counter", "rate_per_s", 1e300, "name",
	                              "connections_total", "value", -5.0,
	                              "kind", "gauge"));
	json_object_set_new(rec, "server",
	                    json_pack("{s:s, s:s, s:f}", "flavour", "pg",
	                              "version",
	                              "\xc2\x9b"
	                              "31m",
	                              "db_size_bytes", 1e300));
	put(q, rec);
	rec = record(fx, q, DBK_REC_ACTION, "x\x01<y>", true, T0 + 2 * HOUR_MS);
	merge(rec, json_pack("{s:s, s:s, s:I, s:I, s:[{s:s, s:s}]}", "action",
	                     "drop_tables", "outcome", "done", "bytes_before",
	                     (json_int_t)INT64_MAX, "rows", (json_int_t)-7,
	                     "objects", "name", "t", "status", "done"));
	put(q, rec);
	rec = record(fx, q, DBK_REC_ACTION, "x\x01<y>", true, T0 + 3 * HOUR_MS);
	merge(rec, json_pack("{s:s, s:s, s:I, s:[{s:s, s:s}]}", "action",
	                     "drop_tables", "outcome", "done", "bytes_before",
	                     (json_int_t)INT64_MAX, "objects", "name", "u",
	                     "status", "done"));
	put(q, rec);
	dbk_queue_close(q);
	j = summary_json(fx, "--queue", "absurd", "--period", "month", NULL);
	assert_int_equal(
	        jint(j, "targets/x\x01<y>/housekeeping/tables_dropped_bytes"),
	        INT64_MAX);
	assert_int_equal(
	        jint(j, "targets/x\x01<y>/housekeeping/tables_dropped"), 2);
	assert_true(json_is_null(jget(j, "targets/x\x01<y>/db_size/start")));
	json_decref(j);
	assert_int_equal(run_summary(fx, false, "--queue", "absurd", "--period",
	                             "month", "--format", "html", NULL),
	                 0);
	text = slurp(fx->out);
	assert_lacks(text, "\x01");
	assert_lacks(text, "\xc2\x9b");
	for (size_t i = 0; i < 6; i++)
		assert_lacks(text,
		             (const char *[]){",nan", "nan,", ">nan", ">-nan",
		                              ",inf", ">inf"}[i]);
	assert_has(text, "x &lt;y&gt;");
	free(text);
	assert_int_equal(run_summary(fx, false, "--queue", "absurd", "--period",
	                             "month", NULL),
	                 0);
	text = slurp(fx->out);
	assert_lacks(text, "\x01");
	assert_has(text, "x \\<y\\>");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_month_overview_and_cycles),
	        cmocka_unit_test(test_month_housekeeping),
	        cmocka_unit_test(test_month_findings),
	        cmocka_unit_test(test_month_trends),
	        cmocka_unit_test(test_periods),
	        cmocka_unit_test(test_period_local_time),
	        cmocka_unit_test(test_target_filter),
	        cmocka_unit_test(test_markdown),
	        cmocka_unit_test(test_html),
	        cmocka_unit_test(test_global_json_and_usage),
	        cmocka_unit_test(test_empty_period),
	        cmocka_unit_test(test_only_failures),
	        cmocka_unit_test(test_lasting_findings),
	        cmocka_unit_test(test_unparsable_file),
	        cmocka_unit_test(test_absurd_values),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
