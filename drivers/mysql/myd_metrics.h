/* drivers/mysql/myd_metrics.h: server statistics as named counters and
 * gauges: global status, tuning variables, replication lag and the top
 * statement digests. Rates are the agent's job (it keeps the previous
 * snapshot); the driver reports raw cumulative values. */
#ifndef MYD_METRICS_H
#define MYD_METRICS_H

#include "myd_conn.h"

/* Status and variables are required; replication state and digests are
 * added when readable. Each query is bounded by what is left of timeout_ms. */
int myd_collect_metrics(struct dbk_conn *conn, int64_t timeout_ms,
                        struct dbk_metric_list **out, struct dbk_err *err);
void myd_free_metrics(struct dbk_metric_list *list);

#endif
