/* drivers/mysql/myd_metrics.c: reads SHOW GLOBAL STATUS / VARIABLES, the
 * replication lag and performance_schema's statement digests into a metric
 * list. Which numbers matter and what they mean is decided in the agent. */
#include "myd_metrics.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

struct met_def {
	const char *server; /* status or variable name as the server spells it */
	const char *name;   /* metric name */
	int kind;
	const char *unit;
};

/* Cumulative counters unless marked: the agent turns them into rates. */
static const struct met_def met_status[] = {
	{ "Questions", "questions", DBK_M_COUNTER, "" },
	{ "Slow_queries", "slow_queries", DBK_M_COUNTER, "" },
	{ "Connections", "connections", DBK_M_COUNTER, "" },
	{ "Aborted_connects", "aborted_connects", DBK_M_COUNTER, "" },
	{ "Aborted_clients", "aborted_clients", DBK_M_COUNTER, "" },
	{ "Created_tmp_disk_tables", "created_tmp_disk_tables", DBK_M_COUNTER, "" },
	{ "Created_tmp_tables", "created_tmp_tables", DBK_M_COUNTER, "" },
	{ "Innodb_buffer_pool_reads", "innodb_buffer_pool_reads", DBK_M_COUNTER, "" },
	{ "Innodb_buffer_pool_read_requests", "innodb_buffer_pool_read_requests",
	  DBK_M_COUNTER, "" },
	{ "Innodb_row_lock_waits", "innodb_row_lock_waits", DBK_M_COUNTER, "" },
	{ "Innodb_row_lock_time", "innodb_row_lock_time", DBK_M_COUNTER, "ms" },
	{ "Innodb_deadlocks", "innodb_deadlocks", DBK_M_COUNTER, "" }, /* MariaDB */
	{ "Select_full_join", "select_full_join", DBK_M_COUNTER, "" },
	{ "Threads_connected", "threads_connected", DBK_M_GAUGE, "" },
	{ "Threads_running", "threads_running", DBK_M_GAUGE, "" },
	{ "Max_used_connections", "max_used_connections", DBK_M_GAUGE, "" },
	{ "Uptime", "uptime", DBK_M_GAUGE, "s" },
};

static const struct met_def met_vars[] = {
	{ "max_connections", "max_connections", DBK_M_GAUGE, "" },
	{ "innodb_buffer_pool_size", "innodb_buffer_pool_size", DBK_M_GAUGE, "bytes" },
	{ "table_open_cache", "table_open_cache", DBK_M_GAUGE, "" },
	{ "innodb_log_file_size", "innodb_log_file_size", DBK_M_GAUGE, "bytes" },
};

struct met_acc {
	struct dbk_metric *v;
	size_t n, cap;
};

static void met_add(struct met_acc *m, const char *name, const char *labels,
                    const char *unit, double value, int kind)
{
	struct dbk_metric *x = NULL;

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 32;
		m->v = myd_xrealloc(m->v, m->cap * sizeof *m->v);
	}
	x = &m->v[m->n++];
	x->name = myd_xstrdup(name);
	x->labels = myd_xstrdup(labels);
	x->unit = myd_xstrdup(unit);
	x->value = value;
	x->kind = kind;
}

static bool met_left(int64_t deadline, int64_t *left)
{
	if (deadline == 0) {
		*left = 0;
		return true;
	}
	*left = deadline - myd_monotonic_ms();
	return *left > 0;
}

/* SHOW GLOBAL STATUS|VARIABLES WHERE Variable_name IN (...), mapped by
 * the table; names the server lacks are simply absent. */
static int met_show(struct dbk_conn *conn, int64_t left, const char *what,
                    const struct met_def *defs, size_t ndefs, struct met_acc *m,
                    struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = -1;

	myd_buf_show(conn, &sql, left);
	myd_buf_add(&sql, "GLOBAL %s WHERE Variable_name IN (", what);
	for (size_t i = 0; i < ndefs; i++)
		myd_buf_add(&sql, "%s'%s'", i ? ", " : "", defs[i].server);
	myd_buf_add(&sql, ")");
	if ((res = myd_query(conn, sql.p, what, err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		for (size_t i = 0; row[0] != NULL && row[1] != NULL && i < ndefs; i++)
			if (strcasecmp(row[0], defs[i].server) == 0)
				met_add(m, defs[i].name, NULL, defs[i].unit,
				        (double)myd_cell_i64(row[1], 0), defs[i].kind);
	}
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* Optional query failure: only a lost connection or a cancel is fatal. */
static int met_soft(struct dbk_conn *conn, struct dbk_err *e, struct dbk_err *err)
{
	if (e->code == DBK_E_CONNECT || e->code == DBK_E_CANCELLED) {
		if (err != NULL)
			*err = *e;
		return -1;
	}
	myd_log(conn, LOG_DEBUG, "%s (metric left out)", e->msg);
	return 0;
}

/* MySQL has no Innodb_deadlocks status; InnoDB's own counter has it. */
static int met_mysql_deadlocks(struct dbk_conn *conn, int64_t left, struct met_acc *m,
                               struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_err e;
	char *v = NULL;
	int rc = 0;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "COUNT FROM information_schema.INNODB_METRICS"
	            " WHERE NAME = 'lock_deadlocks'");
	if (myd_query_value(conn, sql.p, "deadlock count", &v, &e) == -1)
		rc = met_soft(conn, &e, err);
	else if (v != NULL)
		met_add(m, "innodb_deadlocks", NULL, "", (double)myd_cell_i64(v, 0), DBK_M_COUNTER);
	free(v);
	myd_buf_free(&sql);
	return rc;
}

static int met_replica(struct dbk_conn *conn, struct met_acc *m, struct dbk_err *err)
{
	struct dbk_err e;
	bool replica = false;
	int64_t lag = -1;

	if (myd_replica_lag(conn, &replica, &lag, &e) == -1)
		return met_soft(conn, &e, err);
	met_add(m, "is_replica", NULL, "", replica ? 1 : 0, DBK_M_GAUGE);
	if (replica && lag >= 0)
		met_add(m, "replica_lag", NULL, "ms", (double)lag, DBK_M_GAUGE);
	return 0;
}

/* The five statement shapes that took the most time in this database. */
static int met_digests(struct dbk_conn *conn, int64_t left, struct met_acc *m,
                       struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT, lab = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = 0;

	myd_buf_select(conn, &sql, left);
	/* SUM_TIMER_WAIT is in picoseconds; whole ms keep parsing locale-free. */
	myd_buf_add(&sql, "DIGEST, COUNT_STAR, ROUND(SUM_TIMER_WAIT / 1000000000),"
	            " SUM_ROWS_EXAMINED"
	            " FROM performance_schema.events_statements_summary_by_digest"
	            " WHERE DIGEST IS NOT NULL AND SCHEMA_NAME = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	myd_buf_add(&sql, " ORDER BY SUM_TIMER_WAIT DESC LIMIT 5");
	if ((res = myd_query(conn, sql.p, "statement digests", &e)) == NULL) {
		rc = met_soft(conn, &e, err);
		goto out;
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		myd_buf_free(&lab);
		myd_buf_add(&lab, "digest=%s", row[0]);
		met_add(m, "digest_calls", lab.p, "", (double)myd_cell_i64(row[1], 0),
		        DBK_M_COUNTER);
		met_add(m, "digest_time", lab.p, "ms", (double)myd_cell_i64(row[2], 0),
		        DBK_M_COUNTER);
		met_add(m, "digest_rows_examined", lab.p, "",
		        (double)myd_cell_i64(row[3], 0), DBK_M_COUNTER);
	}
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&lab);
	myd_buf_free(&sql);
	return rc;
}

int myd_collect_metrics(struct dbk_conn *conn, int64_t timeout_ms,
                        struct dbk_metric_list **out, struct dbk_err *err)
{
	struct met_acc m = { NULL, 0, 0 };
	struct dbk_metric_list *list = NULL;
	int64_t deadline = timeout_ms > 0 ? myd_monotonic_ms() + timeout_ms : 0, left = 0;
	int rc = -1;

	met_left(deadline, &left);
	if (met_show(conn, left, "STATUS", met_status, MYD_NELEM(met_status), &m, err) == -1)
		goto out;
	if (!met_left(deadline, &left)) {
		myd_err_set(err, DBK_E_TIMEOUT, "%s: metrics: out of time", conn->target);
		goto out;
	}
	if (met_show(conn, left, "VARIABLES", met_vars, MYD_NELEM(met_vars), &m, err) == -1)
		goto out;
	if (!conn->mariadb && met_left(deadline, &left) &&
	    met_mysql_deadlocks(conn, left, &m, err) == -1)
		goto out;
	if (met_replica(conn, &m, err) == -1)
		goto out;
	if (met_left(deadline, &left) && met_digests(conn, left, &m, err) == -1)
		goto out;
	list = myd_xcalloc(1, sizeof *list);
	list->n = m.n;
	list->v = m.v;
	m.v = NULL;
	m.n = 0;
	*out = list;
	rc = 0;
out:
	if (m.v != NULL) {
		struct dbk_metric_list tmp = { m.n, m.v };

		for (size_t i = 0; i < tmp.n; i++) {
			free((char *)tmp.v[i].name);
			free((char *)tmp.v[i].labels);
			free((char *)tmp.v[i].unit);
		}
		free(tmp.v);
	}
	return rc;
}

void myd_free_metrics(struct dbk_metric_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++) {
		free((char *)list->v[i].name);
		free((char *)list->v[i].labels);
		free((char *)list->v[i].unit);
	}
	free(list->v);
	free(list);
}
