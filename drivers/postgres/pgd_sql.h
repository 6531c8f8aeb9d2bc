/* drivers/postgres/pgd_sql.h: the driver's private plumbing shared by its
 * files: the connection struct, error mapping from libpq results to
 * struct dbk_err, statement helpers with timeouts, identifier quoting and
 * checked allocation. The driver links nothing of the agent. */
#ifndef PGD_SQL_H
#define PGD_SQL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "dbkeeper_driver.h"

#define PGD_MUSTCHECK __attribute__((warn_unused_result))
#define PGD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PGD_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* SQLSTATEs the driver reacts to. */
#define PGD_SQLSTATE_LOCK_NOT_AVAILABLE "55P03"
#define PGD_SQLSTATE_QUERY_CANCELED "57014"

/* One open session. Everything but `cancelled` and `wake_fd` belongs to
 * the thread running ops; cancel() touches only those two and `cancel`. */
struct dbk_conn {
	PGconn *pg;
	PGcancel *cancel;      /* created at open: PQcancel is thread-safe */
	atomic_bool cancelled; /* sticky: set by cancel(), never cleared */
	int wake_fd[2];        /* self-pipe: cancel() wakes pgd_sleep() */
	struct dbk_host host;  /* host.log may be NULL */
	char target[64];       /* for messages */
	int version_num;       /* server_version_num */
	char app_name[64];
	dbk_progress_fn progress; /* NULL: nobody asked; set_progress() */
	void *progress_ctx;
};

/* ---- Allocation: abort on exhaustion, as the agent does. ---- */
void *pgd_xcalloc(size_t n, size_t size);
void *pgd_xrealloc(void *p, size_t n);
char *pgd_xstrdup(const char *s); /* NULL in, NULL out */
char *pgd_xasprintf(const char *fmt, ...) PGD_PRINTF(1, 2);

/* A growing string; `s` is always NUL-terminated once anything is added. */
struct pgd_buf {
	char *s;
	size_t len, cap;
};
void pgd_buf_add(struct pgd_buf *b, const char *fmt, ...) PGD_PRINTF(2, 3);
char *pgd_buf_take(struct pgd_buf *b); /* caller frees; b is reset */
void pgd_buf_free(struct pgd_buf *b);

/* ---- Errors ---- */
/* Fills err (msg made one line) and returns -1. */
int pgd_err_set(struct dbk_err *err, int code, const char *fmt, ...)
	PGD_PRINTF(3, 4);
/* Fills err from a failed result (res may be NULL: the connection's own
 * message is used). Maps SQLSTATE: 55P03 → DBK_E_LOCK_TIMEOUT, 57014 →
 * DBK_E_CANCELLED after cancel() else DBK_E_TIMEOUT, a lost connection,
 * class 08 and 57P0x → DBK_E_CONNECT, the rest → DBK_E_QUERY. what names
 * the step ("list_tables"). Returns -1. */
int pgd_err_result(struct dbk_conn *c, const PGresult *res, const char *what,
                   struct dbk_err *err);
/* err->msg without the "target: step: " prefix pgd_err_result puts in
 * front, for short notes. */
const char *pgd_err_detail(const struct dbk_conn *c, const struct dbk_err *err);
/* True when err's SQLSTATE is state. */
bool pgd_err_is(const struct dbk_err *err, const char *state);

/* ---- Statements ---- */
/* Runs one statement (never several: extended protocol) with text
 * parameters. On success *out (when out is not NULL) owns the result,
 * which the caller PQclear()s; otherwise the result is cleared here.
 * Returns 0, or -1 with err filled via pgd_err_result. */
int pgd_exec(struct dbk_conn *c, const char *sql, int nparams,
             const char *const *params, PGresult **out, const char *what,
             struct dbk_err *err) PGD_MUSTCHECK;
/* Same without parameters or result. */
int pgd_cmd(struct dbk_conn *c, const char *sql, const char *what,
            struct dbk_err *err) PGD_MUSTCHECK;
/* BEGIN [READ ONLY] with SET LOCAL statement_timeout and lock_timeout
 * (both > 0) and, for observation, a search_path of pg_catalog first, so
 * a user's objects never shadow catalog names in our queries, and no JIT. */
int pgd_begin(struct dbk_conn *c, bool read_only, int64_t stmt_ms,
              int64_t lock_ms, struct dbk_err *err) PGD_MUSTCHECK;
int pgd_commit(struct dbk_conn *c, struct dbk_err *err) PGD_MUSTCHECK;
/* ROLLBACK that reports nothing: used on error paths. */
void pgd_rollback(struct dbk_conn *c);
/* Session-level lock_timeout and statement_timeout for statements that
 * cannot run in a transaction block (CONCURRENTLY); pgd_reset_timeouts()
 * restores the session defaults and reports nothing. */
int pgd_set_timeouts(struct dbk_conn *c, int64_t lock_ms, int64_t stmt_ms,
                     struct dbk_err *err) PGD_MUSTCHECK;
void pgd_reset_timeouts(struct dbk_conn *c);
/* Checks that both action budgets are set; the driver never runs a
 * maintenance statement that could wait forever. */
int pgd_check_budget(int64_t lock_ms, int64_t stmt_ms, struct dbk_err *err)
	PGD_MUSTCHECK;

/* ---- Quoting ---- */
/* "ident" by PQescapeIdentifier, copied into malloc'd memory (free()).
 * Returns NULL with err filled when libpq refuses (bad encoding). */
char *pgd_quote(struct dbk_conn *c, const char *ident, struct dbk_err *err);
/* "schema"."name", both quoted. NULL with err filled on failure. */
char *pgd_qualify(struct dbk_conn *c, const char *schema, const char *name,
                  struct dbk_err *err);

/* ---- Results ---- */
/* Column value as int64 / double / bool; dflt when NULL or unparsable. */
int64_t pgd_int(const PGresult *res, int row, int col, int64_t dflt);
double pgd_dbl(const PGresult *res, int row, int col, double dflt);
bool pgd_bool(const PGresult *res, int row, int col);
/* Column value copied (NULL when SQL NULL). */
char *pgd_str(const PGresult *res, int row, int col);

/* ---- Cancellation and time ---- */
bool pgd_cancelled(struct dbk_conn *c);
/* -1 with DBK_E_CANCELLED once cancel() was called: actions check it
 * before each statement that changes something. */
int pgd_check_cancel(struct dbk_conn *c, struct dbk_err *err) PGD_MUSTCHECK;
/* Sleeps ms or until cancel(); returns false when woken by cancel(). */
bool pgd_sleep(struct dbk_conn *c, int64_t ms);
int64_t pgd_monotonic_ms(void);
/* "%lld" of v into buf (for parameters). */
const char *pgd_i64(char *buf, size_t len, int64_t v);

/* The agent's progress callback, when it set one; called only on the
 * thread running the action (the one that called the op). */
void pgd_progress(struct dbk_conn *c, const char *phase, int64_t done,
                  int64_t total);

/* host->log when the agent gave one. level is a syslog level. */
void pgd_log(struct dbk_conn *c, int level, const char *fmt, ...)
	PGD_PRINTF(3, 4);

#endif
