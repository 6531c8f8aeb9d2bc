/* drivers/mysql/myd_conn.h: one MySQL/MariaDB session of the driver: open
 * and close, the agent lock, server facts, cancel, identifier quoting, and
 * the query helpers and error mapping every other file of the driver uses. */
#ifndef MYD_CONN_H
#define MYD_CONN_H

#include <mysql.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dbkeeper_driver.h"
#include "myd_util.h"

/* Connection parameters, kept after open so cancel() can reach the server
 * on a second connection. Immutable once open() returns. */
struct myd_params {
	char *host, *socket, *user, *password, *database;
	char *option_file, *option_group;
	char *ssl_mode, *ssl_ca, *ssl_cert, *ssl_key;
	char *app_name;
	unsigned port;
	unsigned connect_timeout_s;
};

struct dbk_conn {
	MYSQL *my;
	struct dbk_host host;     /* copy; log may be NULL */
	char *target;             /* for messages */
	struct myd_params prm;
	bool mariadb;             /* flavour */
	int64_t version_num;      /* 101106, 80036 */
	char version[64];
	unsigned long thread_id;  /* the main session, for KILL QUERY */
	bool pfs;                 /* performance_schema usable for I/O summaries */
	bool locked;              /* GET_LOCK held */
	int64_t stmt_limit_ms;    /* session statement time limit; 0: none */
	int64_t stmt_started_ms;  /* monotonic start of the last statement */
	atomic_bool cancelled;    /* set by cancel(); sticky for this conn */
	dbk_progress_fn progress; /* NULL: nobody asked; set_progress() */
	void *progress_ctx;
};

/* Server error numbers the C client's header (MariaDB's) does not name. */
#define MYD_ER_MYSQL_QUERY_TIMEOUT 3024       /* MySQL: max_execution_time */
#define MYD_ER_MYSQL_CLIENT_INACTIVITY 4031   /* MySQL 8.0.24+: idle disconnect */

/* The driver's option table (NULL-name-terminated), for struct dbk_driver. */
extern const struct dbk_opt_def myd_options[];

int myd_open(const struct dbk_open_args *args, const struct dbk_host *host,
             struct dbk_conn **out, struct dbk_err *err);
void myd_close(struct dbk_conn *conn);
int myd_lock(struct dbk_conn *conn, bool *got, struct dbk_err *err);
int myd_unlock(struct dbk_conn *conn, struct dbk_err *err);
int myd_server_info(struct dbk_conn *conn, struct dbk_server_info *out,
                    struct dbk_err *err);
/* Thread-safe; must not race with close(). Sets a flag the batch loops
 * check and, on a second connection, KILL QUERY on the session. Sticky:
 * every later action on conn fails with DBK_E_CANCELLED (observation,
 * lock and unlock still work). */
void myd_cancel(struct dbk_conn *conn);
int myd_quote_ident(struct dbk_conn *conn, const char *ident, char *buf,
                    size_t len, struct dbk_err *err);
/* fn (NULL: none) hears of the progress of later actions on conn. */
void myd_set_progress(struct dbk_conn *conn, dbk_progress_fn fn, void *ctx);
/* Reports progress through the hook set_progress() gave (a no-op without
 * one). total is -1 when unknown. */
void myd_progress(struct dbk_conn *conn, const char *phase, int64_t done, int64_t total);

/* Logs through the host's callback (a no-op without one). */
void myd_log(struct dbk_conn *conn, int level, const char *fmt, ...)
	MYD_PRINTF(3, 4);

/* Fills *err from the session's last error: the code mapped to a DBK_E_*
 * (lock wait → LOCK_TIMEOUT, statement time limit → TIMEOUT, interrupted
 * after cancel() → CANCELLED, lost connection → CONNECT), the SQLSTATE and
 * "target: what: message (errno)". Returns -1. */
int myd_err_server(struct dbk_conn *conn, struct dbk_err *err, const char *what);
/* The last server error number of the session (0: none). */
unsigned myd_errno(struct dbk_conn *conn);

/* Runs one statement and discards any result. Returns 0 or -1. */
int myd_exec(struct dbk_conn *conn, const char *sql, const char *what,
             struct dbk_err *err) MYD_MUSTCHECK;
/* Runs one statement and returns its whole result (never NULL on success;
 * free with mysql_free_result). NULL with *err set on failure. */
MYSQL_RES *myd_query(struct dbk_conn *conn, const char *sql, const char *what,
                     struct dbk_err *err);
/* Runs a statement returning one value; *out is the first column of the
 * first row, malloc'd (NULL for SQL NULL or no row). Returns 0 or -1. */
int myd_query_value(struct dbk_conn *conn, const char *sql, const char *what,
                    char **out, struct dbk_err *err) MYD_MUSTCHECK;

/* Appends s as a single-quoted string literal escaped for this session. */
void myd_buf_literal(struct dbk_conn *conn, struct myd_buf *b, const char *s);
/* Appends the start of a SELECT bounded to timeout_ms: "SET STATEMENT
 * max_statement_time=N FOR SELECT " on MariaDB, "SELECT " with the
 * MAX_EXECUTION_TIME(ms) optimizer hint on MySQL, plain "SELECT " when
 * timeout_ms <= 0. */
void myd_buf_select(struct dbk_conn *conn, struct myd_buf *b, int64_t timeout_ms);
/* Same for a SHOW statement: bounded on MariaDB, plain on MySQL (which has
 * no limit for SHOW; those read server memory and are fast). */
void myd_buf_show(struct dbk_conn *conn, struct myd_buf *b, int64_t timeout_ms);

/* Sets the session's lock wait timeouts and statement time limit before a
 * maintenance statement (see myd_conn.c for what each flavour bounds). */
int myd_session_limits(struct dbk_conn *conn, int64_t lock_timeout_ms,
                       int64_t statement_timeout_ms, struct dbk_err *err)
	MYD_MUSTCHECK;

/* The schema an object means: its own, else the connection's database. */
const char *myd_schema(const struct dbk_conn *conn, const char *schema);

/* Replication state of this server: *is_replica and the worst lag in ms
 * (-1 when unknown). Returns 0 or -1. */
int myd_replica_lag(struct dbk_conn *conn, bool *is_replica, int64_t *lag_ms,
                    struct dbk_err *err) MYD_MUSTCHECK;

bool myd_is_cancelled(struct dbk_conn *conn);

/* Row helpers: a column by name in a result (-1 if absent), and an int64
 * from a row cell (dflt for NULL or junk). */
int myd_field_index(MYSQL_RES *res, const char *name);
int64_t myd_cell_i64(const char *cell, int64_t dflt);

#endif
