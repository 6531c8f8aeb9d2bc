/* drivers/postgres/pgd_conn.c: opening and closing a libpq session with the
 * agent's guards (application_name, connect and idle-transaction timeouts),
 * the advisory lock that keeps one agent per database, server facts,
 * cancellation and identifier quoting. It never builds a conninfo string. */
#include "pgd_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

const struct dbk_opt_def pgd_options[] = {
	{ "conninfo", DBK_OPT_STRING,
	  "libpq connection string or URI (\"host=/run/postgresql dbname=app\","
	  " \"postgresql://app@db/app?sslmode=verify-full\", \"service=app\");"
	  " .pgpass, PGSERVICE and the PG* environment work as in psql" },
	{ NULL, 0, NULL },
};

static const char *pgd_opt(const struct dbk_open_args *args, const char *key)
{
	for (size_t i = 0; i < args->n_options; i++)
		if (args->options[i].key && strcmp(args->options[i].key, key) == 0)
			return args->options[i].value;
	return NULL;
}

/* libpq's own test for "this dbname is a connection string". */
static bool pgd_is_conninfo(const char *s)
{
	return strchr(s, '=') != NULL || strncmp(s, "postgresql://", 13) == 0 ||
	       strncmp(s, "postgres://", 11) == 0;
}

/* A parse error from libpq quotes the offending fragment, which may be
 * part of a password: check first and say only that it is malformed. */
static int pgd_check_conninfo(const char *target, const char *conninfo,
                              struct dbk_err *err)
{
	char *msg = NULL;
	PQconninfoOption *opts = NULL;

	if (!pgd_is_conninfo(conninfo))
		return 0;
	opts = PQconninfoParse(conninfo, &msg);
	PQfreemem(msg);
	if (opts == NULL)
		return pgd_err_set(err, DBK_E_CONFIG,
		    "%s: option conninfo is not a valid libpq connection string or URI"
		    " (not shown: it may hold a password)", target);
	PQconninfoFree(opts);
	return 0;
}

static PGconn *pgd_connect(const struct dbk_open_args *args, const char *conninfo)
{
	const char *keys[8], *vals[8];
	char timeout[24];
	int n = 0;

	/* dbname first: the values after it override what conninfo says. */
	keys[n] = "dbname", vals[n++] = conninfo;
	keys[n] = "application_name",
	vals[n++] = args->application_name ? args->application_name : "dbkeeper";
	/* Names reach the agent's JSON records: always UTF-8. */
	keys[n] = "client_encoding", vals[n++] = "UTF8";
	if (args->connect_timeout_ms > 0) {
		int64_t s = (args->connect_timeout_ms + 999) / 1000;

		keys[n] = "connect_timeout";
		vals[n++] = pgd_i64(timeout, sizeof timeout, s < 2 ? 2 : s);
	}
	if (args->password != NULL)
		keys[n] = "password", vals[n++] = args->password;
	keys[n] = NULL, vals[n] = NULL;
	return PQconnectdbParams(keys, vals, 1);
}

/* A killed agent must not leave its statement running on the server for
 * up to statement_timeout, still holding the agent lock and its table
 * locks: from PostgreSQL 14 the server checks every second whether the
 * client is gone and then cancels. An interrupted REINDEX CONCURRENTLY
 * leaves an invalid copy that the next cycle drops. Best effort: servers
 * on platforms without the check refuse the setting. */
static void pgd_check_client_gone(struct dbk_conn *c)
{
	struct dbk_err e;

	memset(&e, 0, sizeof e);
	if (c->version_num >= 140000 &&
	    pgd_exec(c, "SELECT pg_catalog.set_config("
	    "'client_connection_check_interval', '1000', false)", 0, NULL, NULL,
	    "session setup", &e) == -1)
		pgd_log(c, LOG_DEBUG, "%s", e.msg);
}

/* Session guards and the version check, in one round trip. An idle
 * timeout of 0 leaves the server's own setting alone. */
static int pgd_session_setup(struct dbk_conn *c, const struct dbk_open_args *args,
                             struct dbk_err *err)
{
	char idle[24];
	const char *params[2] = { c->app_name,
	                          pgd_i64(idle, sizeof idle, args->idle_tx_timeout_ms) };

	c->version_num = PQserverVersion(c->pg);
	if (c->version_num < 130000)
		return pgd_err_set(err, DBK_E_UNSUPPORTED,
		    "%s: PostgreSQL %d.%d is not supported (13 or later is needed)",
		    c->target, c->version_num / 10000, c->version_num / 100 % 100);
	pgd_check_client_gone(c);
	if (args->idle_tx_timeout_ms <= 0)
		return pgd_exec(c, "SELECT pg_catalog.set_config('application_name', $1, false)",
		    1, params, NULL, "session setup", err);
	return pgd_exec(c,
	    "SELECT pg_catalog.set_config('application_name', $1, false),"
	    " pg_catalog.set_config('idle_in_transaction_session_timeout', $2, false)",
	    2, params, NULL, "session setup", err);
}

static struct dbk_conn *pgd_conn_new(const struct dbk_open_args *args,
                                     const struct dbk_host *host)
{
	struct dbk_conn *c = pgd_xcalloc(1, sizeof *c);

	atomic_init(&c->cancelled, false);
	c->wake_fd[0] = c->wake_fd[1] = -1;
	if (host != NULL)
		c->host = *host;
	snprintf(c->target, sizeof c->target, "%s", args->target ? args->target : "postgres");
	snprintf(c->app_name, sizeof c->app_name, "%s",
	    args->application_name ? args->application_name : "dbkeeper");
	return c;
}

int pgd_open(const struct dbk_open_args *args, const struct dbk_host *host,
             struct dbk_conn **out, struct dbk_err *err)
{
	struct dbk_conn *c = pgd_conn_new(args, host);
	const char *conninfo = pgd_opt(args, "conninfo");
	int rc = -1;

	if (conninfo == NULL)
		conninfo = ""; /* libpq defaults: PGHOST, PGSERVICE, ... */
	if (pgd_check_conninfo(c->target, conninfo, err) == -1)
		goto out;
	if (pipe2(c->wake_fd, O_CLOEXEC | O_NONBLOCK) == -1) {
		pgd_err_set(err, DBK_E_INTERNAL, "%s: pipe: %s", c->target, strerror(errno));
		goto out;
	}
	c->pg = pgd_connect(args, conninfo);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		pgd_err_set(err, DBK_E_CONNECT, "%s: cannot connect: %s", c->target,
		    c->pg ? PQerrorMessage(c->pg) : "out of memory");
		goto out;
	}
	if (pgd_session_setup(c, args, err) == -1)
		goto out;
	if ((c->cancel = PQgetCancel(c->pg)) == NULL) {
		pgd_err_set(err, DBK_E_INTERNAL, "%s: cannot create a cancel handle", c->target);
		goto out;
	}
	*out = c;
	rc = 0;
out:
	if (rc == -1)
		pgd_close(c);
	return rc;
}

void pgd_close(struct dbk_conn *c)
{
	if (c == NULL)
		return;
	if (c->cancel != NULL)
		PQfreeCancel(c->cancel);
	if (c->pg != NULL)
		PQfinish(c->pg); /* ends the session: the advisory lock goes with it */
	if (c->wake_fd[0] != -1)
		close(c->wake_fd[0]);
	if (c->wake_fd[1] != -1)
		close(c->wake_fd[1]);
	free(c);
}

int pgd_lock(struct dbk_conn *c, bool *got, struct dbk_err *err)
{
	PGresult *res = NULL;
	const char *params[1] = { PGD_LOCK_KEY };

	if (pgd_exec(c, "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", 1, params,
	    &res, "take the agent lock", err) == -1)
		return -1;
	*got = pgd_bool(res, 0, 0);
	PQclear(res);
	return 0;
}

int pgd_unlock(struct dbk_conn *c, struct dbk_err *err)
{
	const char *params[1] = { PGD_LOCK_KEY };

	/* Returns false (and warns) when not held: nothing to do then. */
	return pgd_exec(c, "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", 1, params,
	    NULL, "release the agent lock", err);
}

int pgd_server_info(struct dbk_conn *c, struct dbk_server_info *out,
                    struct dbk_err *err)
{
	PGresult *res = NULL;
	struct dbk_server_info si;

	if (pgd_exec(c,
	    "SELECT pg_catalog.current_setting('server_version'),"
	    " pg_catalog.current_setting('server_version_num')::bigint,"
	    " pg_catalog.pg_is_in_recovery(),"
	    " CASE WHEN pg_catalog.pg_is_in_recovery() THEN"
	    "  (extract(epoch FROM pg_catalog.now()"
	    "   - pg_catalog.pg_last_xact_replay_timestamp()) * 1000)::bigint END,"
	    " pg_catalog.pg_database_size(pg_catalog.current_database())",
	    0, NULL, &res, "server_info", err) == -1)
		return -1;
	memset(&si, 0, sizeof si);
	snprintf(si.flavour, sizeof si.flavour, "postgresql");
	snprintf(si.version, sizeof si.version, "%s", PQgetvalue(res, 0, 0));
	si.version_num = pgd_int(res, 0, 1, c->version_num);
	si.is_replica = pgd_bool(res, 0, 2);
	si.replica_lag_ms = pgd_int(res, 0, 3, -1);
	si.db_size_bytes = pgd_int(res, 0, 4, -1);
	PQclear(res);
	*out = si;
	return 0;
}

void pgd_cancel(struct dbk_conn *c)
{
	char errbuf[256];
	ssize_t w = 0;

	if (c == NULL)
		return;
	atomic_store(&c->cancelled, true);
	w = write(c->wake_fd[1], "x", 1); /* full pipe: already woken */
	(void)w;
	if (c->cancel != NULL)
		(void)PQcancel(c->cancel, errbuf, sizeof errbuf);
}

int pgd_quote_ident(struct dbk_conn *c, const char *ident, char *buf,
                    size_t len, struct dbk_err *err)
{
	char *q = pgd_quote(c, ident, err);
	size_t n = 0;

	if (q == NULL)
		return -1;
	n = strlen(q);
	if (n + 1 > len) {
		free(q);
		return pgd_err_set(err, DBK_E_INTERNAL,
		    "%s: quoted identifier needs %zu bytes, buffer has %zu",
		    c->target, n + 1, len);
	}
	memcpy(buf, q, n + 1);
	free(q);
	return 0;
}

void pgd_free_string(char *s)
{
	free(s);
}

void pgd_set_progress(struct dbk_conn *c, dbk_progress_fn fn, void *ctx)
{
	if (c == NULL)
		return;
	c->progress = fn;
	c->progress_ctx = ctx;
}
