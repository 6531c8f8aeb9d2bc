/* bench/summary_gen.c: fills a report queue with N records for the summary
 * benchmark, through the real queue code (dbk_record_new + dbk_queue_put,
 * so every record is fsynced and renamed like the agent's). The records
 * are shaped as agent/report.c writes them and spread evenly over the DAYS
 * days before now: cycles of four targets (run, findings, actions) and
 * metrics in between. Not a test; bench/summary_bench.sh runs it.
 *
 * usage: summary_gen QUEUE_DIR N [DAYS]   (queue "reports" in QUEUE_DIR) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"

#define GEN_TARGETS 4
#define GEN_MIB     (1024LL * 1024)

struct gen {
	struct dbk_queue *q;
	uint64_t rng;
	unsigned seq;
	long n, done;
	int64_t start_ms, step_ms;
};

/* A small fixed-seed generator: the same queue on every run. */
static unsigned gen_rand(struct gen *g, unsigned below)
{
	g->rng = g->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(g->rng >> 33) % below;
}

static const char *target_of(int i)
{
	static const char *const names[GEN_TARGETS] = {
	        "orders-pg", "shop-my", "billing-pg", "audit-my"};

	return names[i % GEN_TARGETS];
}

static bool is_pg(int i)
{
	return i % 2 == 0;
}

/* The next record's skeleton, at the next time slot. */
static json_t *next(struct gen *g, int kind, int t, bool policy)
{
	int64_t at = g->start_ms + g->done * g->step_ms;
	json_t *rec = dbk_record_new(g->q, kind, target_of(t),
	                             policy ? "housekeeping" : NULL);
	time_t secs = (time_t)(at / 1000);
	struct tm tm;
	char id[128], when[40];

	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	snprintf(id, sizeof id, "%013" PRId64 ".1_%u.benchhost.json", at,
	         g->seq++);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(when));
	json_object_set_new(rec, "time_ms", json_integer(at));
	return rec;
}

static int put(struct gen *g, json_t *rec)
{
	struct dbk_err err = {0};
	int rc = dbk_queue_put(g->q, rec, &err);

	json_decref(rec);
	if (rc == -1)
		fprintf(stderr, "summary_gen: %s\n", err.msg);
	g->done++;
	return rc;
}

static json_t *server(int t, struct gen *g)
{
	return json_pack("{s:s, s:s, s:I}", "flavour",
	                 is_pg(t) ? "postgresql" : "mariadb", "version",
	                 is_pg(t) ? "16.2" : "10.11.6", "db_size_bytes",
	                 (json_int_t)(20 * 1024 * GEN_MIB + g->done * 4096));
}

static int metrics(struct gen *g, int t)
{
	json_t *rec = next(g, DBK_REC_METRICS, t, false);
	json_t *v = NULL;

	if (is_pg(t))
		v = json_pack(
		        "[{s:s,s:s,s:f,s:s,s:f}, {s:s,s:s,s:f,s:s,s:f},"
		        " {s:s,s:s,s:f,s:s,s:f}, {s:s,s:f,s:s}, "
		        "{s:s,s:s,s:f,s:s}]",
		        "name", "blks_hit", "labels", "db=app", "value", 1e9,
		        "kind", "counter", "rate_per_s",
		        9000.0 + gen_rand(g, 900), "name", "blks_read",
		        "labels", "db=app", "value", 1e7, "kind", "counter",
		        "rate_per_s", 50.0 + gen_rand(g, 200), "name",
		        "xact_commit", "labels", "db=app", "value", 1e8, "kind",
		        "counter", "rate_per_s", 100.0 + gen_rand(g, 900),
		        "name", "connections_total", "value",
		        5.0 + gen_rand(g, 60), "kind", "gauge", "name",
		        "replication_lag", "labels", "replica=r1", "value",
		        (double)gen_rand(g, 300), "kind", "gauge");
	else
		v = json_pack("[{s:s,s:f,s:s,s:f}, {s:s,s:f,s:s,s:f}, "
		              "{s:s,s:f,s:s,s:f},"
		              " {s:s,s:f,s:s}]",
		              "name", "innodb_buffer_pool_read_requests",
		              "value", 1e9, "kind", "counter", "rate_per_s",
		              20000.0 + gen_rand(g, 5000), "name",
		              "innodb_buffer_pool_reads", "value", 1e6, "kind",
		              "counter", "rate_per_s", 10.0 + gen_rand(g, 200),
		              "name", "questions", "value", 1e8, "kind",
		              "counter", "rate_per_s",
		              500.0 + gen_rand(g, 3000), "name",
		              "threads_connected", "value",
		              3.0 + gen_rand(g, 40), "kind", "gauge");
	json_object_set_new(rec, "title", json_string("metrics"));
	json_object_set_new(rec, "values", v);
	json_object_set_new(rec, "server", server(t, g));
	return put(g, rec);
}

static int finding(struct gen *g, int t)
{
	static const char *const sev[] = {"info", "info", "warning",
	                                  "critical"};
	json_t *rec = next(g, DBK_REC_FINDING, t, true);
	unsigned k = gen_rand(g, 40);
	char obj[64], title[96];

	snprintf(obj, sizeof obj, "app.table_%u", k);
	snprintf(title, sizeof title, "finding number %u", k % 12);
	json_object_update_new(
	        rec,
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "category",
	                  k % 2 ? "indexes" : "logs", "severity", sev[k % 4],
	                  "object", obj, "title", title, "evidence",
	                  "what the agent measured, in one or two sentences",
	                  "recommendation",
	                  "what an engineer should do about it"));
	return put(g, rec);
}

static int action(struct gen *g, int t)
{
	static const char *const kinds[] = {"drop_tables", "purge_rows",
	                                    "analyze", "rebuild_index"};
	json_t *rec = next(g, DBK_REC_ACTION, t, true);
	const char *kind = kinds[gen_rand(g, 4)];
	bool failed = gen_rand(g, 50) == 0;

	json_object_update_new(
	        rec,
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, "
	                  "s:[{s:s,s:s,s:s}],"
	                  " s:s, s:I, s:I, s:I, s:I}",
	                  "title", kind, "severity",
	                  failed ? "warning" : "info", "category", "scratch",
	                  "action", kind, "statement", "DROP TABLE app.tmp_x",
	                  "reason", "policy", "dry_run", 0, "carried", 0,
	                  "bytes", (json_int_t)(8 * GEN_MIB), "objects",
	                  "schema", "app", "name", "tmp_x", "status",
	                  failed ? "failed" : "done", "outcome",
	                  failed ? "failed" : "done", "duration_ms",
	                  (json_int_t)gen_rand(g, 5000), "rows",
	                  (json_int_t)gen_rand(g, 100000), "bytes_before",
	                  (json_int_t)(8 * GEN_MIB), "bytes_after",
	                  (json_int_t)(2 * GEN_MIB)));
	if (failed)
		json_object_set_new(
		        rec, "error",
		        json_string("canceling statement due to lock timeout"));
	return put(g, rec);
}

static int run(struct gen *g, int t)
{
	json_t *rec = next(g, DBK_REC_RUN, t, false);
	bool failed = gen_rand(g, 40) == 0;

	json_object_update_new(
	        rec,
	        json_pack("{s:s, s:s, s:b, s:s, s:s, s:i, "
	                  "s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i},"
	                  " s:{s:{s:s,s:s,s:s,s:s,s:s}}}",
	                  "mode", "daemon", "status",
	                  failed ? "failed" : "finished", "finished", !failed,
	                  "severity", failed ? "warning" : "info", "title",
	                  failed ? "failed" : "finished", "duration_ms", 60000,
	                  "counts", "actions", 2, "done", 2, "dry_run", 0,
	                  "partial", 0, "skipped", 0, "failed", 0, "carried", 0,
	                  "tasks", "housekeeping", "scratch", "due", "indexes",
	                  "due", "logs", "due", "server_logs", "off", "stats",
	                  "not_due"));
	if (failed)
		json_object_set_new(rec, "error",
		                    json_string("could not connect to server"));
	else
		json_object_set_new(rec, "server", server(t, g));
	return put(g, rec);
}

/* One cycle of one target: 2 metrics, 3 findings, 2 actions, the run. */
static int cycle(struct gen *g, int t)
{
	int (*const steps[])(struct gen *, int) = {metrics, finding, finding,
	                                           finding, action,  action,
	                                           run,     metrics};

	for (size_t i = 0; i < sizeof steps / sizeof steps[0] && g->done < g->n;
	     i++)
		if (steps[i](g, t) == -1)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct gen g = {.rng = 42};
	struct dbk_err err = {0};
	long days = argc > 3 ? strtol(argv[3], NULL, 10) : 59;
	int rc = 1;

	if (argc < 3 || (g.n = strtol(argv[2], NULL, 10)) <= 0 || days <= 0) {
		fprintf(stderr, "usage: summary_gen QUEUE_DIR N [DAYS]\n");
		return 2;
	}
	if ((g.q = dbk_queue_open(argv[1], "reports", &err)) == NULL) {
		fprintf(stderr, "summary_gen: %s\n", err.msg);
		return 1;
	}
	g.start_ms = dbk_now_ms() - days * 86400000LL;
	g.step_ms = days * 86400000LL / g.n;
	for (int t = 0; g.done < g.n; t = (t + 1) % GEN_TARGETS)
		if (cycle(&g, t) == -1)
			goto out;
	rc = 0;
out:
	dbk_queue_close(g.q);
	return rc;
}
