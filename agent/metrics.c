/* agent/metrics.c: one statistics collection on a target, on a connection
 * of its own so it goes on while a long action runs on the cycle's. Turns
 * counters into rates against the previous snapshot (kept in a state file
 * of its own, "<target>@metrics", so it never races the cycle's state),
 * evaluates the tuning rules there so their findings last, and exports
 * the Prometheus file. */
#include <stdlib.h>

#include "log.h"
#include "prom.h"
#include "report.h"
#include "runner.h"
#include "state.h"
#include "tuning.h"

/* A counter lower than last time means the server restarted (or its
 * statistics were reset): no rate then, rather than a negative one. */
static json_t *metric_json(const struct dbk_state *st, const struct dbk_metric *m,
                           int64_t now_ms)
{
	json_t *j = json_pack("{s:s, s:f, s:s}", "name", m->name, "value", m->value,
	                      "kind", m->kind == DBK_M_COUNTER ? "counter" : "gauge");
	double prev = 0;
	int64_t at = 0;

	if (m->labels != NULL)
		json_object_set_new(j, "labels", json_string(m->labels));
	if (m->unit != NULL && m->unit[0] != '\0')
		json_object_set_new(j, "unit", json_string(m->unit));
	if (m->kind != DBK_M_COUNTER ||
	    !dbk_state_prev_metric(st, m->name, m->labels, &prev, &at) ||
	    at <= 0 || now_ms <= at)
		return j;
	if (m->value < prev)
		json_object_set_new(j, "reset", json_true());
	else
		json_object_set_new(j, "rate_per_s",
		                    json_real((m->value - prev) * 1000.0 / (double)(now_ms - at)));
	return j;
}

/* One statistics collection: the metrics record (values with rates, and
 * the facts derived from them), the tuning findings that open, change or
 * resolve, and the Prometheus file. */
static void collect(const struct dbk_config *cfg, const struct dbk_target *t,
                    const struct dbk_driver *drv, struct dbk_conn *conn,
                    struct dbk_state *st)
{
	struct dbk_tuning *tu = NULL;
	struct dbk_report *rep = NULL;
	struct dbk_lasting_list open = { 0 };
	struct dbk_err e = { 0 };
	json_t *values = NULL;
	char *part = NULL;

	if ((tu = dbk_tuning_observe(t, drv, conn, st, false, &e)) == NULL) {
		dbk_log(LOG_WARNING, t, "metrics not collected: %s", e.msg);
		return;
	}
	values = json_array();
	for (size_t i = 0; i < tu->metrics->n; i++)
		json_array_append_new(values, metric_json(st, &tu->metrics->v[i],
		                                          tu->now_ms));
	rep = dbk_report_open(cfg, t);
	dbk_report_metrics(rep, values, tu->have_info ? &tu->info : NULL,
	                   dbk_tuning_facts_json(tu->facts));
	dbk_tuning_last(t, tu, st, rep);
	dbk_report_close(rep);
	/* Rates next time are against this sample. */
	dbk_state_set_metrics(st, tu->metrics, tu->now_ms);
	if (cfg->metrics_file != NULL) {
		dbk_state_get_lasting(st, &open);
		part = dbk_prom_part(t->name, tu->metrics, tu->facts, &open, tu->now_ms);
		if (dbk_prom_export(cfg, t, part, &e) == -1)
			dbk_log(LOG_WARNING, t, "metrics_file not written: %s", e.msg);
		dbk_lasting_list_clear(&open);
		free(part);
	}
	dbk_tuning_free(tu);
}

int dbk_metrics_run(const struct dbk_config *cfg, const struct dbk_target *t,
                    struct dbk_err *err)
{
	const struct dbk_driver *drv = NULL;
	struct dbk_conn *conn = NULL;
	struct dbk_state *st = NULL;
	char *name = dbk_tuning_state_name(t->name);
	struct dbk_err e = { 0 };
	int rc = -1;

	if ((st = dbk_state_load(cfg->state_dir, name, err)) == NULL)
		goto out;
	if (dbk_runner_connect(cfg, t, &drv, &conn, err) == -1)
		goto out;
	collect(cfg, t, drv, conn, st);
	drv->close(conn);
	if (dbk_state_save(st, &e) == -1)
		dbk_log(LOG_WARNING, t, "metrics state not saved: %s", e.msg);
	rc = 0;
out:
	dbk_state_free(st);
	free(name);
	return rc;
}
