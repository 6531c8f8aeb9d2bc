/* agent/tuning.h: one tuning observation of a target on an open
 * connection: the driver's metrics (and its tables and indexes when a rule
 * needs them), the facts computed from them and the state, and the rule
 * hits. Shared by the statistics collection (which makes the findings
 * last) and `dbkeeper tune` (which only shows them). */
#ifndef DBK_TUNING_H
#define DBK_TUNING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dbkeeper_driver.h"
#include "facts.h"
#include "rules.h"
#include "state.h"

struct dbk_report;

struct dbk_tuning {
	const struct dbk_driver *drv;
	bool have_info;
	struct dbk_server_info info;
	struct dbk_metric_list *metrics;   /* driver-owned; NULL: not collected */
	struct dbk_table_list *tables;     /* NULL: not listed */
	struct dbk_index_list *indexes;
	struct dbk_facts *facts;
	struct dbk_rule_hits *hits;
	int64_t now_ms;
};

/* Observes through conn and evaluates t's rules. st (the target's metrics
 * state) gives the previous sample and the index usage history, and gets
 * this observation's index usage folded in; the caller saves it or not.
 * all: list tables and indexes even when no rule needs them (tune).
 * Returns NULL with err set when the metrics cannot be collected. */
struct dbk_tuning *dbk_tuning_observe(const struct dbk_target *t,
                                      const struct dbk_driver *drv,
                                      struct dbk_conn *conn,
                                      struct dbk_state *st, bool all,
                                      struct dbk_err *err);
void dbk_tuning_free(struct dbk_tuning *tu); /* NULL-safe */

/* Makes the rule hits last in st (dbk_lasting_step) and writes one record
 * per event to rep. The open findings afterwards are in st. */
void dbk_tuning_last(const struct dbk_target *t, const struct dbk_tuning *tu,
                     struct dbk_state *st, struct dbk_report *rep);

/* Fields a rule hit adds to its finding record or JSON: "rule", "metric",
 * "value", "threshold", "unit". */
json_t *dbk_tuning_hit_json(const struct dbk_rule_hit *h);

/* The facts as a JSON array of {metric, object, value, unit} (raw
 * metric.* facts left out: the record has the metrics themselves). */
json_t *dbk_tuning_facts_json(const struct dbk_facts *f);

/* The name of the metrics state of a target: "<target>@metrics". */
char *dbk_tuning_state_name(const char *target);

#endif
