/* drivers/mysql/myd_conn.c: opens and closes the driver's session, takes the
 * one-agent-per-database lock, reports server facts, cancels from another
 * thread, quotes identifiers, keeps the progress hook, and maps server
 * errors to DBK_E_* codes.
 * Observation and actions live in their own files. */
#include "myd_conn.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* Statements carry their own time limits (max_statement_time or the
 * MAX_EXECUTION_TIME hint), so the socket timeouts only catch a dead peer. */
#define MYD_NET_TIMEOUT_S 3600u
/* A crashed or partitioned agent's session, and with it the GET_LOCK, goes
 * away after this long; well above any pause between two statements. */
#define MYD_WAIT_TIMEOUT_S 1800
/* MySQL 5.7+ limits user lock names to 64 characters. */
#define MYD_LOCK_NAME_MAX 64

const struct dbk_opt_def myd_options[] = {
	{ "host", DBK_OPT_STRING, "server host name or address (default: localhost)" },
	{ "port", DBK_OPT_INT, "TCP port (default 3306)" },
	{ "socket", DBK_OPT_STRING, "unix socket path, used when host is localhost" },
	{ "user", DBK_OPT_STRING, "user name (default: the option file's, else the OS user)" },
	{ "database", DBK_OPT_STRING, "the database to look after (required)" },
	{ "option_file", DBK_OPT_STRING,
	  "client option file read like the mysql tools do (MYSQL_READ_DEFAULT_FILE)" },
	{ "option_group", DBK_OPT_STRING,
	  "group read from the option file (default \"client\")" },
	{ "ssl_mode", DBK_OPT_STRING,
	  "disabled, preferred, required, verify_ca or verify_identity" },
	{ "ssl_ca", DBK_OPT_STRING, "CA certificate file (PEM)" },
	{ "ssl_cert", DBK_OPT_STRING, "client certificate file (PEM)" },
	{ "ssl_key", DBK_OPT_STRING, "client private key file (PEM)" },
	{ NULL, DBK_OPT_STRING, NULL },
};

void myd_log(struct dbk_conn *conn, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (conn == NULL || conn->host.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	conn->host.log(conn->host.ctx, level, msg);
}

void myd_set_progress(struct dbk_conn *conn, dbk_progress_fn fn, void *ctx)
{
	if (conn == NULL)
		return;
	conn->progress = fn;
	conn->progress_ctx = ctx;
}

void myd_progress(struct dbk_conn *conn, const char *phase, int64_t done, int64_t total)
{
	if (conn != NULL && conn->progress != NULL)
		conn->progress(conn->progress_ctx, phase, done, total);
}

/* ---- errors ---- */

unsigned myd_errno(struct dbk_conn *conn)
{
	return conn != NULL && conn->my != NULL ? mysql_errno(conn->my) : 0;
}

static int myd_map_errno(struct dbk_conn *conn, unsigned e)
{
	switch (e) {
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK:
		return DBK_E_LOCK_TIMEOUT;
	case ER_QUERY_INTERRUPTED:
		/* MariaDB reports a statement time limit hit inside InnoDB (during an
		 * ALTER) as a plain interruption; the elapsed time tells them apart
		 * from a KILL QUERY by someone else. */
		if (myd_is_cancelled(conn))
			return DBK_E_CANCELLED;
		if (conn->stmt_limit_ms > 0 &&
		    myd_monotonic_ms() - conn->stmt_started_ms >= conn->stmt_limit_ms)
			return DBK_E_TIMEOUT;
		return DBK_E_QUERY;
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case ER_CONNECTION_KILLED:
		return DBK_E_CONNECT;
	default:
		break;
	}
	/* The same numbers mean different things on the two servers. */
	if (conn->mariadb && e == ER_STATEMENT_TIMEOUT)
		return DBK_E_TIMEOUT;
	if (!conn->mariadb && e == MYD_ER_MYSQL_QUERY_TIMEOUT)
		return DBK_E_TIMEOUT;
	if (!conn->mariadb && e == MYD_ER_MYSQL_CLIENT_INACTIVITY)
		return DBK_E_CONNECT;
	return DBK_E_QUERY;
}

int myd_err_server(struct dbk_conn *conn, struct dbk_err *err, const char *what)
{
	unsigned e = myd_errno(conn);
	int code = myd_map_errno(conn, e);
	const char *state = conn->my != NULL ? mysql_sqlstate(conn->my) : "";

	if (code == DBK_E_CANCELLED)
		myd_err_set(err, code, "%s: %s: cancelled", conn->target, what);
	else if (code == DBK_E_CONNECT)
		myd_err_set(err, code, "%s: %s: connection lost: %s (%u)", conn->target,
		            what, mysql_error(conn->my), e);
	else
		myd_err_set(err, code, "%s: %s: %s (%u)", conn->target, what,
		            mysql_error(conn->my), e);
	/* "00000" and "HY000" say nothing the code does not. */
	if (err != NULL && state != NULL && strcmp(state, "00000") != 0 &&
	    strcmp(state, "HY000") != 0) {
		snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
	}
	return -1;
}

/* ---- queries ---- */

bool myd_is_cancelled(struct dbk_conn *conn)
{
	return atomic_load(&conn->cancelled);
}

int myd_exec(struct dbk_conn *conn, const char *sql, const char *what,
             struct dbk_err *err)
{
	MYSQL_RES *res = NULL;

	conn->stmt_started_ms = myd_monotonic_ms();
	if (mysql_real_query(conn->my, sql, strlen(sql)) != 0)
		return myd_err_server(conn, err, what);
	/* Statements like ANALYZE TABLE answer with rows; drain them. */
	res = mysql_store_result(conn->my);
	if (res != NULL)
		mysql_free_result(res);
	else if (mysql_field_count(conn->my) != 0)
		return myd_err_server(conn, err, what);
	return 0;
}

MYSQL_RES *myd_query(struct dbk_conn *conn, const char *sql, const char *what,
                     struct dbk_err *err)
{
	MYSQL_RES *res = NULL;

	conn->stmt_started_ms = myd_monotonic_ms();
	if (mysql_real_query(conn->my, sql, strlen(sql)) != 0) {
		myd_err_server(conn, err, what);
		return NULL;
	}
	res = mysql_store_result(conn->my);
	if (res == NULL) {
		if (mysql_field_count(conn->my) != 0)
			myd_err_server(conn, err, what);
		else
			myd_err_set(err, DBK_E_INTERNAL, "%s: %s: statement returned no rows",
			            conn->target, what);
	}
	return res;
}

int myd_query_value(struct dbk_conn *conn, const char *sql, const char *what,
                    char **out, struct dbk_err *err)
{
	MYSQL_RES *res = myd_query(conn, sql, what, err);
	MYSQL_ROW row = NULL;

	if (res == NULL)
		return -1;
	row = mysql_fetch_row(res);
	*out = row != NULL ? myd_xstrdup(row[0]) : NULL;
	mysql_free_result(res);
	return 0;
}

void myd_buf_literal(struct dbk_conn *conn, struct myd_buf *b, const char *s)
{
	size_t n = strlen(s);
	char *tmp = myd_xmalloc(2 * n + 1);
	unsigned long len = 0;

	/* Knows the session's character set and NO_BACKSLASH_ESCAPES. */
	len = mysql_real_escape_string(conn->my, tmp, s, (unsigned long)n);
	myd_buf_addn(b, "'", 1);
	myd_buf_addn(b, tmp, len);
	myd_buf_addn(b, "'", 1);
	free(tmp);
}

/* Seconds with millisecond decimals, written without printf's %f, whose
 * decimal separator follows the process locale. */
static void myd_buf_seconds(struct myd_buf *b, int64_t ms)
{
	myd_buf_add(b, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

void myd_buf_select(struct dbk_conn *conn, struct myd_buf *b, int64_t timeout_ms)
{
	if (timeout_ms <= 0) {
		myd_buf_add(b, "SELECT ");
	} else if (conn->mariadb) {
		myd_buf_add(b, "SET STATEMENT max_statement_time=");
		myd_buf_seconds(b, timeout_ms);
		myd_buf_add(b, " FOR SELECT ");
	} else {
		myd_buf_add(b, "SELECT /*+ MAX_EXECUTION_TIME(%lld) */ ",
		            (long long)timeout_ms);
	}
}

void myd_buf_show(struct dbk_conn *conn, struct myd_buf *b, int64_t timeout_ms)
{
	if (timeout_ms > 0 && conn->mariadb) {
		myd_buf_add(b, "SET STATEMENT max_statement_time=");
		myd_buf_seconds(b, timeout_ms);
		myd_buf_add(b, " FOR SHOW ");
	} else {
		myd_buf_add(b, "SHOW ");
	}
}

int myd_session_limits(struct dbk_conn *conn, int64_t lock_timeout_ms,
                       int64_t statement_timeout_ms, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	int64_t lock_s = (lock_timeout_ms + 999) / 1000;
	int rc = -1;

	/* Both variables take whole seconds, at least one: a policy's 200 ms
	 * becomes 1 s, never "wait forever". */
	if (lock_s < 1)
		lock_s = 1;
	if (lock_s > 31536000)
		lock_s = 31536000;
	if (statement_timeout_ms < 0)
		statement_timeout_ms = 0;
	myd_buf_add(&sql, "SET SESSION lock_wait_timeout = %lld, "
	            "SESSION innodb_lock_wait_timeout = %lld, ",
	            (long long)lock_s, (long long)lock_s);
	/* MariaDB's max_statement_time bounds every statement, DDL included.
	 * MySQL's max_execution_time bounds only read-only SELECTs: there DDL and
	 * DELETE batches are bounded by the lock wait timeouts alone. */
	if (conn->mariadb) {
		myd_buf_add(&sql, "SESSION max_statement_time = ");
		myd_buf_seconds(&sql, statement_timeout_ms);
	} else {
		myd_buf_add(&sql, "SESSION max_execution_time = %lld",
		            (long long)statement_timeout_ms);
	}
	rc = myd_exec(conn, sql.p, "set session limits", err);
	if (rc == 0)
		conn->stmt_limit_ms = statement_timeout_ms;
	myd_buf_free(&sql);
	return rc;
}

const char *myd_schema(const struct dbk_conn *conn, const char *schema)
{
	return schema != NULL && schema[0] != '\0' ? schema : conn->prm.database;
}

int myd_field_index(MYSQL_RES *res, const char *name)
{
	unsigned n = mysql_num_fields(res);
	MYSQL_FIELD *f = mysql_fetch_fields(res);

	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(f[i].name, name) == 0)
			return (int)i;
	return -1;
}

int64_t myd_cell_i64(const char *cell, int64_t dflt)
{
	char whole[32];
	const char *dot = NULL;
	int64_t v = 0;

	if (cell == NULL)
		return dflt;
	if (myd_parse_i64(cell, &v))
		return v;
	/* Arithmetic comes back as DECIMAL text ("123.0000"): keep the whole
	 * part (no strtod: its decimal point follows the process locale). */
	dot = strchr(cell, '.');
	if (dot == NULL || dot == cell || (size_t)(dot - cell) >= sizeof whole ||
	    strspn(dot + 1, "0123456789") != strlen(dot + 1))
		return dflt;
	memcpy(whole, cell, (size_t)(dot - cell));
	whole[dot - cell] = '\0';
	return myd_parse_i64(whole, &v) ? v : dflt;
}

/* ---- open / close ---- */

static void myd_params_clear(struct myd_params *p)
{
	if (p->password != NULL)
		explicit_bzero(p->password, strlen(p->password));
	free(p->host);
	free(p->socket);
	free(p->user);
	free(p->password);
	free(p->database);
	free(p->option_file);
	free(p->option_group);
	free(p->ssl_mode);
	free(p->ssl_ca);
	free(p->ssl_cert);
	free(p->ssl_key);
	free(p->app_name);
	memset(p, 0, sizeof *p);
}

static int myd_params_set(struct myd_params *p, const struct dbk_kv *kv,
                          const char *target, struct dbk_err *err)
{
	struct {
		const char *key;
		char **dst;
	} strs[] = {
		{ "host", &p->host }, { "socket", &p->socket }, { "user", &p->user },
		{ "database", &p->database }, { "option_file", &p->option_file },
		{ "option_group", &p->option_group }, { "ssl_mode", &p->ssl_mode },
		{ "ssl_ca", &p->ssl_ca }, { "ssl_cert", &p->ssl_cert },
		{ "ssl_key", &p->ssl_key },
	};
	int64_t port = 0;

	if (kv->key == NULL || kv->value == NULL)
		return myd_err_set(err, DBK_E_CONFIG, "%s: option without key or value",
		                   target);
	if (strcmp(kv->key, "port") == 0) {
		if (!myd_parse_i64(kv->value, &port) || port < 1 || port > 65535)
			return myd_err_set(err, DBK_E_CONFIG,
			                   "%s: port must be 1..65535, not '%s'", target, kv->value);
		p->port = (unsigned)port;
		return 0;
	}
	for (size_t i = 0; i < MYD_NELEM(strs); i++) {
		if (strcmp(kv->key, strs[i].key) == 0) {
			free(*strs[i].dst);
			*strs[i].dst = myd_xstrdup(kv->value);
			return 0;
		}
	}
	return myd_err_set(err, DBK_E_CONFIG, "%s: unknown mysql option '%s'", target,
	                   kv->key);
}

static int myd_params_check(const struct myd_params *p, const char *target,
                            struct dbk_err *err)
{
	static const char *const modes[] = { "disabled", "preferred", "required",
		                             "verify_ca", "verify_identity" };
	bool ok = p->ssl_mode == NULL;

	if (p->database == NULL || p->database[0] == '\0')
		return myd_err_set(err, DBK_E_CONFIG,
		                   "%s: option 'database' is required", target);
	for (size_t i = 0; !ok && i < MYD_NELEM(modes); i++)
		ok = strcmp(p->ssl_mode, modes[i]) == 0;
	if (!ok)
		return myd_err_set(err, DBK_E_CONFIG,
		                   "%s: ssl_mode must be disabled, preferred, required, "
		                   "verify_ca or verify_identity, not '%s'",
		                   target, p->ssl_mode);
	return 0;
}

/* Applies the saved parameters to a fresh handle; shared by open() and the
 * second connection cancel() makes. */
static int myd_configure(MYSQL *my, const struct myd_params *p)
{
	unsigned net = MYD_NET_TIMEOUT_S;
	my_bool yes = 1;
	int rc = 0;

	rc |= mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &p->connect_timeout_s);
	rc |= mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &net);
	rc |= mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &net);
	rc |= mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (p->option_file != NULL)
		rc |= mysql_options(my, MYSQL_READ_DEFAULT_FILE, p->option_file);
	if (p->option_group != NULL || p->option_file != NULL)
		rc |= mysql_options(my, MYSQL_READ_DEFAULT_GROUP,
		                    p->option_group != NULL ? p->option_group : "client");
	if (p->ssl_ca != NULL)
		rc |= mysql_options(my, MYSQL_OPT_SSL_CA, p->ssl_ca);
	if (p->ssl_cert != NULL)
		rc |= mysql_options(my, MYSQL_OPT_SSL_CERT, p->ssl_cert);
	if (p->ssl_key != NULL)
		rc |= mysql_options(my, MYSQL_OPT_SSL_KEY, p->ssl_key);
	/* Connector/C has no ssl_mode; these two flags give the same effect. */
	if (p->ssl_mode != NULL && (strcmp(p->ssl_mode, "required") == 0 ||
	                            strncmp(p->ssl_mode, "verify_", 7) == 0))
		rc |= mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &yes);
	if (p->ssl_mode != NULL && strncmp(p->ssl_mode, "verify_", 7) == 0)
		rc |= mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
	/* Lets an operator see the agent in performance_schema's connect attrs. */
	if (p->app_name != NULL)
		rc |= mysql_options4(my, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name",
		                     p->app_name);
	return rc == 0 ? 0 : -1;
}

static MYSQL *myd_connect(const struct myd_params *p, const char *target,
                          struct dbk_err *err)
{
	MYSQL *my = mysql_init(NULL);

	if (my == NULL) {
		myd_err_set(err, DBK_E_NOMEM, "%s: mysql_init failed", target);
		return NULL;
	}
	if (myd_configure(my, p) == -1) {
		myd_err_set(err, DBK_E_CONFIG, "%s: the client library refused an option",
		            target);
		mysql_close(my);
		return NULL;
	}
	/* No CLIENT_MULTI_STATEMENTS: a quoting mistake can never smuggle in a
	 * second statement. The password comes from args or the option file;
	 * server messages name the user, never the password. */
	if (mysql_real_connect(my, p->host, p->user, p->password, p->database, p->port,
	                       p->socket, 0) == NULL) {
		myd_err_set(err, DBK_E_CONNECT, "%s: cannot connect to MySQL/MariaDB: %s (%u)",
		            target, mysql_error(my), mysql_errno(my));
		if (err != NULL)
			snprintf(err->sqlstate, sizeof err->sqlstate, "%s", mysql_sqlstate(my));
		mysql_close(my);
		return NULL;
	}
	/* Connector/C quietly falls back to plain text when the server offers
	 * no TLS unless the certificate is verified; ssl_mode=required must not
	 * (the password went out scrambled, never in clear). */
	if (p->ssl_mode != NULL && strcmp(p->ssl_mode, "required") == 0 &&
	    mysql_get_ssl_cipher(my) == NULL) {
		myd_err_set(err, DBK_E_CONNECT, "%s: ssl_mode=required but the server "
		            "offered no TLS", target);
		mysql_close(my);
		return NULL;
	}
	return my;
}

/* Session settings every statement of the agent relies on. */
static int myd_session_setup(struct dbk_conn *conn, const struct dbk_open_args *args,
                             struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	char *v = NULL;
	int rc = -1;

	/* autocommit on: each purge batch is its own short transaction even
	 * when the server's default says otherwise. */
	myd_buf_add(&sql, "SET SESSION autocommit = 1, SESSION wait_timeout = %d",
	            MYD_WAIT_TIMEOUT_S);
	if (args->idle_tx_timeout_ms > 0 && conn->mariadb && conn->version_num >= 100300)
		myd_buf_add(&sql, ", SESSION idle_transaction_timeout = %lld",
		            (long long)((args->idle_tx_timeout_ms + 999) / 1000));
	/* MySQL 8 caches information_schema statistics for a day by default;
	 * sizes before and after a rebuild must be read fresh. */
	if (!conn->mariadb && conn->version_num >= 80003)
		myd_buf_add(&sql, ", SESSION information_schema_stats_expiry = 0");
	if (myd_exec(conn, sql.p, "session setup", err) == -1)
		goto out;
	/* Per-table write counts and per-index use come from performance_schema
	 * when it is on, readable and instrumenting table I/O. */
	if (myd_query_value(conn,
	                    "SELECT (SELECT COUNT(*) FROM performance_schema.setup_instruments"
	                    " WHERE NAME = 'wait/io/table/sql/handler' AND ENABLED = 'YES')"
	                    " * (SELECT COUNT(*) FROM performance_schema.setup_consumers"
	                    " WHERE NAME = 'global_instrumentation' AND ENABLED = 'YES')"
	                    " * @@performance_schema",
	                    "performance_schema check", &v, NULL) == 0)
		conn->pfs = v != NULL && strcmp(v, "1") == 0;
	else
		myd_log(conn, LOG_DEBUG, "%s: performance_schema not readable; write counts "
		        "and index use unknown", conn->target);
	rc = 0;
out:
	free(v);
	myd_buf_free(&sql);
	return rc;
}

int myd_open(const struct dbk_open_args *args, const struct dbk_host *host,
             struct dbk_conn **out, struct dbk_err *err)
{
	struct dbk_conn *conn = NULL;
	const char *target = args != NULL && args->target != NULL ? args->target : "mysql";
	int64_t cto = 0;
	int rc = -1;

	if (args == NULL || out == NULL)
		return myd_err_set(err, DBK_E_INTERNAL, "%s: open: no arguments", target);
	conn = myd_xcalloc(1, sizeof *conn);
	atomic_init(&conn->cancelled, false);
	conn->target = myd_xstrdup(target);
	if (host != NULL)
		conn->host = *host;
	for (size_t i = 0; i < args->n_options; i++)
		if (myd_params_set(&conn->prm, &args->options[i], target, err) == -1)
			goto out;
	if (myd_params_check(&conn->prm, target, err) == -1)
		goto out;
	conn->prm.password = myd_xstrdup(args->password);
	conn->prm.app_name = myd_xstrdup(args->application_name != NULL
	                                 ? args->application_name : "dbkeeper");
	cto = args->connect_timeout_ms > 0 ? (args->connect_timeout_ms + 999) / 1000 : 10;
	conn->prm.connect_timeout_s = (unsigned)(cto > 3600 ? 3600 : cto);

	if ((conn->my = myd_connect(&conn->prm, target, err)) == NULL)
		goto out;
	snprintf(conn->version, sizeof conn->version, "%s", mysql_get_server_info(conn->my));
	conn->mariadb = strstr(conn->version, "MariaDB") != NULL;
	conn->version_num = (int64_t)mysql_get_server_version(conn->my);
	conn->thread_id = mysql_thread_id(conn->my);
	if (myd_session_setup(conn, args, err) == -1)
		goto out;
	myd_log(conn, LOG_DEBUG, "%s: connected to %s %s, thread %lu", target,
	        conn->mariadb ? "MariaDB" : "MySQL", conn->version, conn->thread_id);
	*out = conn;
	conn = NULL;
	rc = 0;
out:
	myd_close(conn);
	return rc;
}

void myd_close(struct dbk_conn *conn)
{
	if (conn == NULL)
		return;
	/* Closing the session releases GET_LOCK too; no RELEASE_LOCK needed. */
	if (conn->my != NULL)
		mysql_close(conn->my);
	myd_params_clear(&conn->prm);
	free(conn->target);
	free(conn);
}

/* ---- the agent lock ---- */

/* The lock name as an SQL expression: 'dbkeeper:<db>', or, when that is
 * longer than MySQL's 64-character limit, 'dbkeeper:' + SHA1(db). Built in
 * SQL so every agent computes the same name however it was built. */
static void myd_buf_lock_name(struct dbk_conn *conn, struct myd_buf *b)
{
	struct myd_buf name = MYD_BUF_INIT;

	myd_buf_add(&name, "CONCAT('dbkeeper:', ");
	myd_buf_literal(conn, &name, conn->prm.database);
	myd_buf_add(&name, ")");
	myd_buf_add(b, "IF(CHAR_LENGTH(%s) <= %d, %s, CONCAT('dbkeeper:', SHA1(",
	            name.p, MYD_LOCK_NAME_MAX, name.p);
	myd_buf_literal(conn, b, conn->prm.database);
	myd_buf_add(b, ")))");
	myd_buf_free(&name);
}

int myd_lock(struct dbk_conn *conn, bool *got, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	char *v = NULL;
	int rc = -1;

	/* Timeout 0: a second agent learns at once that it is busy. */
	myd_buf_add(&sql, "SELECT GET_LOCK(");
	myd_buf_lock_name(conn, &sql);
	myd_buf_add(&sql, ", 0)");
	if (myd_query_value(conn, sql.p, "agent lock", &v, err) == -1)
		goto out;
	if (v == NULL) {
		myd_err_set(err, DBK_E_QUERY, "%s: agent lock: GET_LOCK returned NULL",
		            conn->target);
		goto out;
	}
	*got = strcmp(v, "1") == 0;
	conn->locked = *got;
	rc = 0;
out:
	free(v);
	myd_buf_free(&sql);
	return rc;
}

int myd_unlock(struct dbk_conn *conn, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	char *v = NULL;
	int rc = -1;

	myd_buf_add(&sql, "SELECT RELEASE_LOCK(");
	myd_buf_lock_name(conn, &sql);
	myd_buf_add(&sql, ")");
	if (myd_query_value(conn, sql.p, "agent unlock", &v, err) == -1)
		goto out;
	conn->locked = false;
	rc = 0;
out:
	free(v);
	myd_buf_free(&sql);
	return rc;
}

/* ---- server facts ---- */

int myd_replica_lag(struct dbk_conn *conn, bool *is_replica, int64_t *lag_ms,
                    struct dbk_err *err)
{
	const char *sql = NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int col = -1;
	int64_t worst = 0, s = 0;
	bool any = false, unknown = false;

	/* MariaDB: every replication connection (multi-source); the REPLICA
	 * spelling exists from 10.5.1 and MySQL 8.0.22. */
	if (conn->mariadb)
		sql = conn->version_num >= 100501 ? "SHOW ALL REPLICAS STATUS"
		                                  : "SHOW ALL SLAVES STATUS";
	else
		sql = conn->version_num >= 80022 ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS";
	if ((res = myd_query(conn, sql, "replica status", err)) == NULL)
		return -1;
	col = myd_field_index(res, "Seconds_Behind_Source");
	if (col < 0)
		col = myd_field_index(res, "Seconds_Behind_Master");
	while ((row = mysql_fetch_row(res)) != NULL) {
		any = true;
		s = col >= 0 ? myd_cell_i64(row[col], -1) : -1;
		if (s < 0)
			unknown = true; /* NULL: the SQL thread is not running */
		else if (s * 1000 > worst)
			worst = s * 1000;
	}
	mysql_free_result(res);
	*is_replica = any;
	*lag_ms = any && !unknown ? worst : -1;
	return 0;
}

int myd_server_info(struct dbk_conn *conn, struct dbk_server_info *out,
                    struct dbk_err *err)
{
	struct dbk_server_info info;
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_err rerr;
	char *v = NULL;
	int rc = -1;

	memset(&info, 0, sizeof info);
	snprintf(info.flavour, sizeof info.flavour, "%s", conn->mariadb ? "mariadb" : "mysql");
	snprintf(info.version, sizeof info.version, "%s", conn->version);
	info.version_num = conn->version_num;
	info.replica_lag_ms = -1;
	/* Reading replica status needs REPLICATION CLIENT (SLAVE MONITOR on
	 * MariaDB 10.5+); without it the answer is "unknown", not a failure. */
	if (myd_replica_lag(conn, &info.is_replica, &info.replica_lag_ms, &rerr) == -1) {
		if (rerr.code == DBK_E_CONNECT || rerr.code == DBK_E_CANCELLED) {
			if (err != NULL)
				*err = rerr;
			goto out;
		}
		myd_log(conn, LOG_WARNING, "%s", rerr.msg);
		info.is_replica = false;
		info.replica_lag_ms = -1;
	}
	myd_buf_add(&sql, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES"
	            " WHERE TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	if (myd_query_value(conn, sql.p, "database size", &v, err) == -1)
		goto out;
	info.db_size_bytes = myd_cell_i64(v, 0);
	*out = info;
	rc = 0;
out:
	free(v);
	myd_buf_free(&sql);
	return rc;
}

/* ---- cancel ---- */

void myd_cancel(struct dbk_conn *conn)
{
	struct dbk_err err;
	MYSQL *k = NULL;
	char sql[64];

	if (conn == NULL)
		return;
	/* The flag first: a batch loop between statements stops on it even if
	 * the KILL below cannot be delivered. */
	atomic_store(&conn->cancelled, true);
	mysql_thread_init();
	k = myd_connect(&conn->prm, conn->target, &err);
	if (k == NULL) {
		myd_log(conn, LOG_WARNING, "%s (while cancelling)", err.msg);
		goto out;
	}
	snprintf(sql, sizeof sql, "KILL QUERY %lu", conn->thread_id);
	if (mysql_real_query(k, sql, strlen(sql)) != 0)
		myd_log(conn, LOG_WARNING, "%s: cancel: %s (%u)", conn->target,
		        mysql_error(k), mysql_errno(k));
	mysql_close(k);
out:
	mysql_thread_end();
}

/* ---- quoting ---- */

int myd_quote_ident(struct dbk_conn *conn, const char *ident, char *buf,
                    size_t len, struct dbk_err *err)
{
	const char *target = conn != NULL ? conn->target : "mysql";
	size_t need = 3, j = 0;

	/* A C string cannot carry NUL; an empty name is the only invalid one
	 * we can be handed. Orphan #sql tables arrive already spelled the way
	 * the server accepts them (see myd_observe.c), so nothing is added. */
	if (ident == NULL || ident[0] == '\0')
		return myd_err_set(err, DBK_E_QUERY, "%s: cannot quote an empty identifier",
		                   target);
	for (const char *s = ident; *s != '\0'; s++)
		need += *s == '`' ? 2 : 1;
	if (buf == NULL || len < need)
		return myd_err_set(err, DBK_E_INTERNAL,
		                   "%s: quoted identifier needs %zu bytes, buffer has %zu",
		                   target, need, len);
	buf[j++] = '`';
	for (const char *s = ident; *s != '\0'; s++) {
		if (*s == '`')
			buf[j++] = '`';
		buf[j++] = *s;
	}
	buf[j++] = '`';
	buf[j] = '\0';
	return 0;
}
