/* drivers/postgres/pgd_metrics.h: collect_metrics for PostgreSQL. */
#ifndef PGD_METRICS_H
#define PGD_METRICS_H

#include "pgd_sql.h"

/* Reads the statistics views (one query per view) in one read-only
 * transaction, each statement bounded by timeout_ms. A group the role may
 * not read, or an extension that is absent, is left out (and logged);
 * a timeout fails the whole call with DBK_E_TIMEOUT. */
int pgd_collect_metrics(struct dbk_conn *c, int64_t timeout_ms,
                        struct dbk_metric_list **out, struct dbk_err *err);
void pgd_free_metrics(struct dbk_metric_list *list); /* NULL-safe */

#endif
