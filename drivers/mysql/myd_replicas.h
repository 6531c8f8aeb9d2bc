/* drivers/mysql/myd_replicas.h: the replicas connected to this server now
 * (SHOW SLAVE HOSTS and its newer spellings). Read-only; whether a binary
 * log may go is the agent's decision. */
#ifndef MYD_REPLICAS_H
#define MYD_REPLICAS_H

#include "myd_conn.h"

/* Lists the replicas registered with this server, one statement bounded by
 * timeout_ms (on MariaDB; MySQL has no limit for SHOW). id is the replica's
 * server_id as text, host and port as the replica reports them (NULL / 0
 * when it reports none), needs_log always NULL: neither server tells which
 * binary log a replica's dump thread reads. An empty list means no replica
 * is connected; readers that do not register as replicas (mariadb-binlog,
 * change-data-capture tools) are never listed. Fails (DBK_E_QUERY, the missing privilege named) when the
 * account may not list replicas; the caller then knows nothing about them.
 * *out is freed with myd_free_replicas. */
int myd_list_replicas(struct dbk_conn *conn, int64_t timeout_ms,
                      struct dbk_replica_list **out,
                      struct dbk_err *err) MYD_MUSTCHECK;
/* NULL-safe. */
void myd_free_replicas(struct dbk_replica_list *list);

#endif
