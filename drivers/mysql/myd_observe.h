/* drivers/mysql/myd_observe.h: what is there: tables (with orphan #sql and
 * online-schema-change leftovers told apart), indexes (sizes, fragmentation
 * estimate, redundancy, use), binary logs and the server's log tables.
 * Read-only, set-based. */
#ifndef MYD_OBSERVE_H
#define MYD_OBSERVE_H

#include "myd_conn.h"

/* Base tables of the connected database plus #sql orphans the server shows.
 * Each catalog query is bounded by what is left of timeout_ms; optional
 * sources (performance_schema, InnoDB statistics) that fail or run out of
 * time leave their fields unknown instead of failing the call. */
int myd_list_tables(struct dbk_conn *conn, int64_t timeout_ms,
                    struct dbk_table_list **out, struct dbk_err *err);
void myd_free_tables(struct dbk_table_list *list);

int myd_list_indexes(struct dbk_conn *conn, int64_t timeout_ms,
                     struct dbk_index_list **out, struct dbk_err *err);
void myd_free_indexes(struct dbk_index_list *list);

/* Binary logs, oldest first; empty when log_bin is off. The last one is in
 * use. mtime comes from the file when the agent can stat it, else 0. */
int myd_list_server_logs(struct dbk_conn *conn, int64_t timeout_ms,
                         struct dbk_logfile_list **out, struct dbk_err *err);
void myd_free_logfiles(struct dbk_logfile_list *list);

/* The prefix that makes the server take an orphan's file name as the table
 * name: "#mysql50#" on MariaDB and MySQL < 8, "" on MySQL 8 (which dropped
 * it). list_tables reports orphans already spelled with it. */
const char *myd_orphan_prefix(const struct dbk_conn *conn);

/* The server's log tables, mysql.slow_log and mysql.general_log, when
 * log_output has TABLE (else an empty list): name "mysql.<table>", mtime
 * the oldest entry (0: empty), size_bytes -1 unless the engine reports a
 * data length. Freed with myd_free_logfiles. */
int myd_list_log_tables(struct dbk_conn *conn, int64_t timeout_ms,
                        struct dbk_logfile_list **out, struct dbk_err *err);

#endif
