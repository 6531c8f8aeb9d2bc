/* drivers/mysql/myd_metrics.c: reads SHOW GLOBAL STATUS / VARIABLES, the
 * replication lag, open transactions and lock waits, performance_schema's
 * statement digests and per-table full-scan reads (with the digests that
 * name each table), and the indexes foreign keys need, into a metric list.
 * Which numbers matter and what they mean is decided in the agent. Label
 * values are percent-encoded where they hold ',', '=', '%' or a newline. */
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
	{ "Opened_tables", "opened_tables", DBK_M_COUNTER, "" },
	{ "Open_tables", "open_tables", DBK_M_GAUGE, "" },
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

/* A label value, percent-encoded so ',' and '=' cannot split labels. */
static void met_esc(struct myd_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		if (*s == '%' || *s == ',' || *s == '=' || *s == '\n')
			myd_buf_add(b, "%%%02X", (unsigned char)*s);
		else
			myd_buf_addn(b, s, 1);
	}
}

static void met_table_labels(struct myd_buf *b, const char *schema,
                             const char *table)
{
	myd_buf_free(b);
	myd_buf_add(b, "schema=");
	met_esc(b, schema);
	myd_buf_add(b, ",table=");
	met_esc(b, table);
}

/* Open transactions: the longest idle one (its session sleeping), the
 * oldest, and the ones waiting for a row lock. Needs PROCESS. */
static int met_trx(struct dbk_conn *conn, int64_t left, struct met_acc *m,
                   struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = 0;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "COALESCE(MAX(IF(p.COMMAND = 'Sleep', p.TIME, NULL)), 0),"
	    " COALESCE(MAX(TIMESTAMPDIFF(SECOND, t.trx_started, NOW())), 0),"
	    " COALESCE(SUM(t.trx_state = 'LOCK WAIT'), 0),"
	    " COALESCE(MAX(IF(t.trx_state = 'LOCK WAIT',"
	    "  TIMESTAMPDIFF(SECOND, t.trx_wait_started, NOW()), NULL)), 0)"
	    " FROM information_schema.INNODB_TRX t"
	    " LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
	    " WHERE t.trx_mysql_thread_id <> CONNECTION_ID()");
	if ((res = myd_query(conn, sql.p, "open transactions", &e)) == NULL) {
		rc = met_soft(conn, &e, err);
		goto out;
	}
	if ((row = mysql_fetch_row(res)) != NULL) {
		met_add(m, "oldest_idle_in_xact", NULL, "s", (double)myd_cell_i64(row[0], 0),
		        DBK_M_GAUGE);
		met_add(m, "oldest_xact_age", NULL, "s", (double)myd_cell_i64(row[1], 0),
		        DBK_M_GAUGE);
		met_add(m, "lock_waiting_sessions", NULL, "", (double)myd_cell_i64(row[2], 0),
		        DBK_M_GAUGE);
		met_add(m, "lock_wait_longest", NULL, "s", (double)myd_cell_i64(row[3], 0),
		        DBK_M_GAUGE);
	}
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* The digests (up to three, most time first) that read without an index
 * and name the table. */
static int met_table_digests(struct dbk_conn *conn, int64_t left,
                             const char *schema, const char *table,
                             struct met_acc *m, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT, pat = MYD_BUF_INIT, lab = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = 0;

	/* DIGEST_TEXT quotes names with backticks; LIKE needs %, _ and \
	 * escaped. */
	myd_buf_add(&pat, "%%`");
	for (const char *p = table; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			myd_buf_add(&pat, "\\");
		myd_buf_addn(&pat, p, 1);
	}
	myd_buf_add(&pat, "`%%");
	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "DIGEST, TRIM(LEFT(DIGEST_TEXT, 200)), COUNT_STAR,"
	    " ROUND(SUM_TIMER_WAIT / 1000000000)"
	    " FROM performance_schema.events_statements_summary_by_digest"
	    " WHERE SUM_NO_INDEX_USED > 0 AND (DIGEST_TEXT LIKE 'SELECT%%'"
	    "  OR DIGEST_TEXT LIKE 'WITH%%' OR DIGEST_TEXT LIKE 'UPDATE%%'"
	    "  OR DIGEST_TEXT LIKE 'DELETE%%') AND SCHEMA_NAME = ");
	myd_buf_literal(conn, &sql, schema);
	myd_buf_add(&sql, " AND DIGEST_TEXT LIKE ");
	myd_buf_literal(conn, &sql, pat.p);
	myd_buf_add(&sql, " ORDER BY SUM_TIMER_WAIT DESC LIMIT 3");
	if ((res = myd_query(conn, sql.p, "table digests", &e)) == NULL) {
		rc = met_soft(conn, &e, err);
		goto out;
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL)
			continue;
		met_table_labels(&lab, schema, table);
		myd_buf_add(&lab, ",digest=");
		met_esc(&lab, row[0]);
		myd_buf_add(&lab, ",query=");
		met_esc(&lab, row[1] ? row[1] : "");
		met_add(m, "table_statement_time", lab.p, "ms",
		        (double)myd_cell_i64(row[3], 0), DBK_M_COUNTER);
		met_add(m, "table_statement_calls", lab.p, "",
		        (double)myd_cell_i64(row[2], 0), DBK_M_COUNTER);
	}
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&lab);
	myd_buf_free(&pat);
	myd_buf_free(&sql);
	return rc;
}

/* The ten tables of the database with the most rows read by full scans
 * (no index), with the rows read through indexes and the size. */
static int met_table_scans(struct dbk_conn *conn, int64_t left, struct met_acc *m,
                           struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT, lab = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = 0, n = 0;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "u.OBJECT_SCHEMA, u.OBJECT_NAME,"
	    " SUM(IF(u.INDEX_NAME IS NULL, u.COUNT_READ, 0)),"
	    " SUM(IF(u.INDEX_NAME IS NULL, 0, u.COUNT_READ)),"
	    " MAX(t.DATA_LENGTH + t.INDEX_LENGTH)"
	    " FROM performance_schema.table_io_waits_summary_by_index_usage u"
	    " JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = u.OBJECT_SCHEMA"
	    "  AND t.TABLE_NAME = u.OBJECT_NAME"
	    " WHERE u.OBJECT_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	myd_buf_add(&sql, " GROUP BY u.OBJECT_SCHEMA, u.OBJECT_NAME"
	    " HAVING SUM(IF(u.INDEX_NAME IS NULL, u.COUNT_READ, 0)) > 0"
	    " ORDER BY 3 DESC LIMIT 10");
	if ((res = myd_query(conn, sql.p, "table scans", &e)) == NULL) {
		rc = met_soft(conn, &e, err);
		goto out;
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		met_table_labels(&lab, row[0], row[1]);
		met_add(m, "table_full_scan_rows", lab.p, "", (double)myd_cell_i64(row[2], 0),
		        DBK_M_COUNTER);
		met_add(m, "table_index_rows", lab.p, "", (double)myd_cell_i64(row[3], 0),
		        DBK_M_COUNTER);
		met_add(m, "table_size", lab.p, "bytes", (double)myd_cell_i64(row[4], 0),
		        DBK_M_GAUGE);
		if (n++ < 5 && (rc = met_table_digests(conn, left, row[0], row[1], m,
		                                       err)) == -1)
			break;
	}
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&lab);
	myd_buf_free(&sql);
	return rc;
}

/* Indexes whose first column is a foreign key's first column: InnoDB
 * needs one for the key, so none of them is ever "unused". */
static int met_protected(struct dbk_conn *conn, int64_t left, struct met_acc *m,
                         struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT, lab = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = 0;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "DISTINCT s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME"
	    " FROM information_schema.STATISTICS s"
	    " JOIN information_schema.KEY_COLUMN_USAGE k ON k.TABLE_SCHEMA = s.TABLE_SCHEMA"
	    "  AND k.TABLE_NAME = s.TABLE_NAME AND k.COLUMN_NAME = s.COLUMN_NAME"
	    " WHERE s.SEQ_IN_INDEX = 1 AND k.ORDINAL_POSITION = 1"
	    "  AND k.REFERENCED_TABLE_NAME IS NOT NULL AND s.TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	if ((res = myd_query(conn, sql.p, "foreign key indexes", &e)) == NULL) {
		rc = met_soft(conn, &e, err);
		goto out;
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL || row[2] == NULL)
			continue;
		met_table_labels(&lab, row[0], row[1]);
		myd_buf_add(&lab, ",index=");
		met_esc(&lab, row[2]);
		myd_buf_add(&lab, ",reason=foreign key");
		met_add(m, "index_protected", lab.p, "", 1, DBK_M_GAUGE);
	}
	met_add(m, "index_protection_checked", NULL, "", 1, DBK_M_GAUGE);
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
	if (met_left(deadline, &left) && met_trx(conn, left, &m, err) == -1)
		goto out;
	if (conn->pfs && met_left(deadline, &left) &&
	    met_table_scans(conn, left, &m, err) == -1)
		goto out;
	if (met_left(deadline, &left) && met_protected(conn, left, &m, err) == -1)
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
