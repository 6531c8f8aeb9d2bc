/* agent/tuning.c: one tuning observation: asks the driver for metrics (and
 * tables and indexes when a rule needs them), folds index usage into the
 * history, builds the facts and evaluates the rules. What the facts mean
 * is facts.c's; what is a finding is rules.c's; this file only gathers and
 * hands over, and makes the rule findings last for the daemon. */
#include "tuning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report.h"

char *dbk_tuning_state_name(const char *target)
{
	return dbk_xasprintf("%s@metrics", target);
}

static bool rules_need(const struct dbk_target *t, unsigned source)
{
	for (unsigned i = 0; i < t->n_policies; i++) {
		const struct dbk_rules *r = &t->policies[i]->rules;

		for (unsigned k = 0; k < r->n; k++) {
			const struct dbk_fact_def *d = dbk_fact_def_find(r->v[k].metric);

			if (r->v[k].enabled && d != NULL && (d->sources & source))
				return true;
		}
	}
	return false;
}

static int64_t observe_timeout(const struct dbk_target *t)
{
	int64_t ms = 0;

	for (unsigned i = 0; i < t->n_policies; i++)
		if (ms == 0 || t->policies[i]->budget.observe_timeout_ms < ms)
			ms = t->policies[i]->budget.observe_timeout_ms;
	return ms ? ms : 30000;
}

/* A list that cannot be read leaves its facts out; the rules that need it
 * are then not evaluated, so their findings neither open nor resolve. */
static void list_objects(const struct dbk_target *t, struct dbk_tuning *tu,
                         struct dbk_conn *conn, bool all, int64_t tmo)
{
	struct dbk_err e = { 0 };

	if ((all || rules_need(t, DBK_SRC_TABLES)) &&
	    tu->drv->list_tables(conn, tmo, &tu->tables, &e) == -1)
		dbk_log(LOG_WARNING, t, "tables not listed for tuning: %s", e.msg);
	if ((all || rules_need(t, DBK_SRC_INDEXES)) &&
	    tu->drv->list_indexes(conn, tmo, &tu->indexes, &e) == -1)
		dbk_log(LOG_WARNING, t, "indexes not listed for tuning: %s", e.msg);
}

struct dbk_tuning *dbk_tuning_observe(const struct dbk_target *t,
                                      const struct dbk_driver *drv,
                                      struct dbk_conn *conn,
                                      struct dbk_state *st, bool all,
                                      struct dbk_err *err)
{
	struct dbk_tuning *tu = dbk_xcalloc(1, sizeof *tu);
	struct dbk_facts_input in = { 0 };
	struct dbk_err e = { 0 };
	int64_t tmo = observe_timeout(t);

	tu->drv = drv;
	tu->now_ms = dbk_now_ms();
	if (drv->collect_metrics(conn, tmo, &tu->metrics, err) == -1) {
		dbk_tuning_free(tu);
		return NULL;
	}
	if (drv->server_info(conn, &tu->info, &e) == 0)
		tu->have_info = true;
	else
		dbk_log(LOG_WARNING, t, "server info: %s", e.msg);
	list_objects(t, tu, conn, all, tmo);
	dbk_state_observe_indexes(st, tu->indexes, tu->now_ms / 1000);
	in.info = tu->have_info ? &tu->info : NULL;
	in.metrics = tu->metrics;
	in.prev = st;
	in.tables = tu->tables;
	in.indexes = tu->indexes;
	in.now_ms = tu->now_ms;
	dbk_host_facts_read(&in.host);
	tu->facts = dbk_facts_build(&in);
	tu->hits = dbk_rules_evaluate(t, tu->facts);
	return tu;
}

void dbk_tuning_free(struct dbk_tuning *tu)
{
	if (tu == NULL)
		return;
	dbk_rule_hits_free(tu->hits);
	dbk_facts_free(tu->facts);
	if (tu->drv != NULL) {
		tu->drv->free_metrics(tu->metrics);
		tu->drv->free_tables(tu->tables);
		tu->drv->free_indexes(tu->indexes);
	}
	free(tu);
}

json_t *dbk_tuning_hit_json(const struct dbk_rule_hit *h)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "source", "rules", "rule",
	                      h->rule->name, "metric", h->rule->metric);

	/* JSON has no infinity: a value off the scale is left out. */
	if (isfinite(h->value))
		json_object_set_new(j, "value", json_real(h->value));
	if (isfinite(h->threshold))
		json_object_set_new(j, "threshold", json_real(h->threshold));
	json_object_set_new(j, "unit", json_string(h->unit ? h->unit : ""));
	return j;
}

json_t *dbk_tuning_facts_json(const struct dbk_facts *f)
{
	json_t *arr = json_array();

	for (size_t i = 0; f != NULL && i < f->n; i++) {
		const struct dbk_fact *x = &f->v[i];
		json_t *j = NULL;

		if (strncmp(x->metric, "metric.", 7) == 0 || !isfinite(x->value))
			continue;
		j = json_pack("{s:s, s:f, s:s}", "metric", x->metric, "value", x->value,
		              "unit", x->unit ? x->unit : "");
		if (j == NULL)
			continue;
		if (x->object != NULL)
			json_object_set_new(j, "object", json_string(x->object));
		json_array_append_new(arr, j);
	}
	return arr;
}

void dbk_tuning_last(const struct dbk_target *t, const struct dbk_tuning *tu,
                     struct dbk_state *st, struct dbk_report *rep)
{
	const struct dbk_rule_hits *h = tu->hits;
	struct dbk_cond *cond = dbk_xcalloc(h->n + 1, sizeof *cond);
	struct dbk_rules_scope scope = { t, tu->facts };
	struct dbk_lasting_list l = { 0 };
	struct dbk_events ev = { 0 };

	for (size_t i = 0; i < h->n; i++) {
		const struct dbk_rule_hit *x = &h->v[i];

		cond[i] = (struct dbk_cond){ .key = x->key, .rule = x->rule->name,
		    .policy = x->policy->name, .category = x->finding.category,
		    .object = x->finding.object, .title = x->finding.title,
		    .severity = x->finding.severity, .for_s = x->rule->for_s,
		    .reminder_s = x->policy->reminder_s, .ref = x };
	}
	dbk_state_get_lasting(st, &l);
	dbk_lasting_step(&l, cond, h->n, dbk_rules_evaluated, &scope,
	                 tu->now_ms / 1000, &ev);
	for (size_t i = 0; i < ev.n; i++) {
		const struct dbk_rule_hit *x = ev.v[i].ref;

		dbk_report_lasting(rep, &ev.v[i], x ? &x->finding : NULL,
		    x ? dbk_tuning_hit_json(x) : json_pack("{s:s}", "source", "rules"));
	}
	dbk_state_set_lasting(st, &l);
	dbk_events_clear(&ev);
	dbk_lasting_list_clear(&l);
	free(cond);
}
