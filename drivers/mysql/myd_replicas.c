/* drivers/mysql/myd_replicas.c: which replicas read this server's binary
 * logs now, from the server's own registry of replica connections. Does
 * not remember replicas that went away: that is the agent's state. */
#include "myd_replicas.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statement after "SHOW ": the REPLICA spellings exist from MariaDB
 * 10.5.1 and MySQL 8.0.22 (where SLAVE HOSTS is deprecated). */
static const char *rep_statement(const struct dbk_conn *conn)
{
	if (conn->mariadb)
		return conn->version_num >= 100501 ? "REPLICA HOSTS"
		                                   : "SLAVE HOSTS";
	return conn->version_num >= 80022 ? "REPLICAS" : "SLAVE HOSTS";
}

/* The server's refusal names the missing privilege (REPLICATION MASTER
 * ADMIN on MariaDB 10.5.2+, else REPLICATION SLAVE); add what it costs. */
static void rep_hint(struct dbk_conn *conn, struct dbk_err *err)
{
	size_t len = 0;

	if (err == NULL || myd_errno(conn) != ER_SPECIFIC_ACCESS_DENIED_ERROR)
		return;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof err->msg - len,
	         "; without it, which replicas still read the binary logs is"
	         " unknown");
}

/* Copies one row into r; false when the row names no server id. */
static bool rep_row(MYSQL_ROW row, int c_id, int c_host, int c_port,
                    struct dbk_replica *r)
{
	const char *id = c_id >= 0 ? row[c_id] : NULL;
	const char *host = c_host >= 0 ? row[c_host] : NULL;

	if (id == NULL || id[0] == '\0')
		return false;
	r->id = myd_xstrdup(id);
	/* MariaDB before 10.5.1 and MySQL show "" when report_host is unset. */
	r->host = host != NULL && host[0] != '\0' ? myd_xstrdup(host) : NULL;
	r->port = c_port >= 0 ? myd_cell_i64(row[c_port], 0) : 0;
	if (r->port < 0 || r->port > 65535)
		r->port = 0;
	/* Neither MariaDB nor MySQL shows which file a dump thread reads
	 * (PROCESSLIST gives only "Master has sent all binlog..."); while it
	 * reads one the server itself refuses to purge it. */
	r->needs_log = NULL;
	return true;
}

int myd_list_replicas(struct dbk_conn *conn, int64_t timeout_ms,
                      struct dbk_replica_list **out, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_replica_list *list = NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int c_id = -1, c_host = -1, c_port = -1;
	int rc = -1;

	myd_buf_show(conn, &sql, timeout_ms);
	myd_buf_add(&sql, "%s", rep_statement(conn));
	if ((res = myd_query(conn, sql.p, "list replicas", err)) == NULL) {
		rep_hint(conn, err);
		goto out;
	}
	c_id = myd_field_index(res, "Server_id"); /* MySQL: Server_Id */
	c_host = myd_field_index(res, "Host");
	c_port = myd_field_index(res, "Port");
	if (c_id < 0) {
		myd_err_set(err, DBK_E_UNSUPPORTED,
		            "%s: list replicas: SHOW %s has no Server_id column",
		            conn->target, rep_statement(conn));
		goto out;
	}
	list = myd_xcalloc(1, sizeof *list);
	list->v = myd_xcalloc(mysql_num_rows(res) + 1, sizeof *list->v);
	while ((row = mysql_fetch_row(res)) != NULL)
		if (rep_row(row, c_id, c_host, c_port, &list->v[list->n]))
			list->n++;
	*out = list;
	list = NULL;
	rc = 0;
out:
	myd_free_replicas(list);
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

void myd_free_replicas(struct dbk_replica_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++) {
		free((char *)list->v[i].id);
		free((char *)list->v[i].host);
		free((char *)list->v[i].needs_log);
	}
	free(list->v);
	free(list);
}
