/* drivers/postgres/pgd_observe.h: observation ops (tables, indexes, server
 * log files). Each is one set-based catalog query in a read-only
 * transaction under its own statement timeout; a timeout is
 * DBK_E_TIMEOUT. Lists are freed with the matching pgd_free_* (NULL-safe). */
#ifndef PGD_OBSERVE_H
#define PGD_OBSERVE_H

#include "pgd_sql.h"

int pgd_list_tables(struct dbk_conn *c, int64_t timeout_ms,
                    struct dbk_table_list **out, struct dbk_err *err);
void pgd_free_tables(struct dbk_table_list *list);
int pgd_list_indexes(struct dbk_conn *c, int64_t timeout_ms,
                     struct dbk_index_list **out, struct dbk_err *err);
void pgd_free_indexes(struct dbk_index_list *list);
/* Empty list when logging_collector is off. */
int pgd_list_server_logs(struct dbk_conn *c, int64_t timeout_ms,
                         struct dbk_logfile_list **out, struct dbk_err *err);
void pgd_free_logfiles(struct dbk_logfile_list *list);

#endif
