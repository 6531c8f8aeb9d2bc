/* agent/metrics.c: one statistics collection on a target, on a connection
 * of its own so it goes on while a long action runs on the cycle's. Turns
 * counters into rates against the previous snapshot (kept in a state file
 * of its own, "<target>@metrics", so it never races the cycle's state). */
#include <stdlib.h>

#include "log.h"
#include "report.h"
#include "runner.h"
#include "state.h"

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

static void collect(const struct dbk_config *cfg, const struct dbk_target *t,
                    const struct dbk_driver *drv, struct dbk_conn *conn,
                    struct dbk_state *st)
{
	struct dbk_metric_list *ml = NULL;
	struct dbk_server_info info = { 0 };
	struct dbk_report *rep = NULL;
	struct dbk_err e = { 0 };
	int64_t now_ms = dbk_now_ms();
	json_t *values = NULL;
	int64_t tmo = t->n_policies ? t->policies[0]->budget.observe_timeout_ms : 30000;

	if (drv->collect_metrics(conn, tmo, &ml, &e) == -1) {
		dbk_log(LOG_WARNING, t, "metrics not collected: %s", e.msg);
		return;
	}
	if (drv->server_info(conn, &info, &e) == -1)
		dbk_log(LOG_WARNING, t, "server info: %s", e.msg);
	values = json_array();
	for (size_t i = 0; i < ml->n; i++)
		json_array_append_new(values, metric_json(st, &ml->v[i], now_ms));
	dbk_state_set_metrics(st, ml, now_ms);
	rep = dbk_report_open(cfg, t);
	dbk_report_metrics(rep, values, info.version[0] ? &info : NULL);
	dbk_report_close(rep);
	drv->free_metrics(ml);
}

int dbk_metrics_run(const struct dbk_config *cfg, const struct dbk_target *t,
                    struct dbk_err *err)
{
	const struct dbk_driver *drv = NULL;
	struct dbk_conn *conn = NULL;
	struct dbk_state *st = NULL;
	char *name = dbk_xasprintf("%s@metrics", t->name);
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
