/* drivers/postgres/pgd_sql.c: how the driver talks to libpq: one statement
 * per call with text parameters, error mapping to dbk_err, transactions and
 * timeouts, identifier quoting, cancellation-aware sleep. It knows no
 * catalog queries and makes no decisions. */
#include "pgd_sql.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *pgd_oom(size_t n)
{
	fprintf(stderr, "dbkeeper postgres driver: out of memory allocating %zu bytes\n", n);
	abort();
}

void *pgd_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : pgd_oom(n * size);
}

void *pgd_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : pgd_oom(n);
}

char *pgd_xstrdup(const char *s)
{
	char *d = NULL;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		pgd_oom(strlen(s) + 1);
	return d;
}

PGD_PRINTF(1, 0) static char *pgd_vasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n = 0;
	char *s = NULL;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort(); /* a bad format is a programming error */
	s = pgd_xcalloc((size_t)n + 1, 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *pgd_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	s = pgd_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void pgd_buf_add(struct pgd_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	size_t n = 0;

	va_start(ap, fmt);
	s = pgd_vasprintf(fmt, ap);
	va_end(ap);
	n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = pgd_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
	free(s);
}

char *pgd_buf_take(struct pgd_buf *b)
{
	char *s = b->s ? b->s : pgd_xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void pgd_buf_free(struct pgd_buf *b)
{
	if (b == NULL)
		return;
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* Messages end up in one-line records and logs: control characters (a
 * table name may hold a newline) become spaces, trailing blanks go. */
static void pgd_one_line(char *s)
{
	size_t n = 0;

	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

int pgd_err_set(struct dbk_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->sqlstate[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	pgd_one_line(err->msg);
	return -1;
}

static int pgd_code_for(struct dbk_conn *c, const char *state)
{
	if (PQstatus(c->pg) == CONNECTION_BAD)
		return DBK_E_CONNECT;
	if (state == NULL || state[0] == '\0')
		return DBK_E_QUERY;
	if (strcmp(state, PGD_SQLSTATE_LOCK_NOT_AVAILABLE) == 0)
		return DBK_E_LOCK_TIMEOUT;
	if (strcmp(state, PGD_SQLSTATE_QUERY_CANCELED) == 0)
		return pgd_cancelled(c) ? DBK_E_CANCELLED : DBK_E_TIMEOUT;
	/* 08xxx connection exceptions; 57P01..57P05 admin shutdown, crash,
	 * cannot connect now, database dropped, idle session timeout. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return DBK_E_CONNECT;
	return DBK_E_QUERY;
}

int pgd_err_result(struct dbk_conn *c, const PGresult *res, const char *what,
                   struct dbk_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = pgd_code_for(c, state);

	if (primary == NULL || primary[0] == '\0')
		primary = PQerrorMessage(c->pg);
	if (primary == NULL || primary[0] == '\0')
		primary = "unknown error";
	if (code == DBK_E_CONNECT)
		pgd_err_set(err, code, "%s: %s: connection lost: %s", c->target, what, primary);
	else
		pgd_err_set(err, code, "%s: %s: %s", c->target, what, primary);
	if (err != NULL && state != NULL && strlen(state) == 5)
		memcpy(err->sqlstate, state, 6);
	return -1;
}

const char *pgd_err_detail(const struct dbk_conn *c, const struct dbk_err *err)
{
	size_t n = strlen(c->target);
	const char *p = err->msg;

	if (strncmp(p, c->target, n) != 0 || strncmp(p + n, ": ", 2) != 0)
		return p;
	p += n + 2;
	return strstr(p, ": ") ? strstr(p, ": ") + 2 : p;
}

bool pgd_err_is(const struct dbk_err *err, const char *state)
{
	return err != NULL && strcmp(err->sqlstate, state) == 0;
}

int pgd_exec(struct dbk_conn *c, const char *sql, int nparams,
             const char *const *params, PGresult **out, const char *what,
             struct dbk_err *err)
{
	PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		pgd_err_result(c, res, what, err);
		PQclear(res);
		return -1;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int pgd_cmd(struct dbk_conn *c, const char *sql, const char *what,
            struct dbk_err *err)
{
	return pgd_exec(c, sql, 0, NULL, NULL, what, err);
}

const char *pgd_i64(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

int pgd_check_budget(int64_t lock_ms, int64_t stmt_ms, struct dbk_err *err)
{
	if (lock_ms <= 0 || stmt_ms <= 0)
		return pgd_err_set(err, DBK_E_CONFIG,
		    "lock timeout (%" PRId64 " ms) and statement timeout (%" PRId64
		    " ms) must both be positive: a maintenance statement must never wait"
		    " without bound", lock_ms, stmt_ms);
	return 0;
}

int pgd_begin(struct dbk_conn *c, bool read_only, int64_t stmt_ms,
              int64_t lock_ms, struct dbk_err *err)
{
	char s[24], l[24];
	const char *params[2] = { pgd_i64(s, sizeof s, stmt_ms), pgd_i64(l, sizeof l, lock_ms) };

	if (pgd_check_budget(lock_ms, stmt_ms, err) == -1)
		return -1;
	if (pgd_cmd(c, read_only ? "BEGIN READ ONLY" : "BEGIN", "begin", err) == -1)
		return -1;
	/* set_config takes values as parameters: nothing is formatted.
	 * Catalog queries over thousands of relations are costed high
	 * enough for JIT, whose compilation then takes longer than the
	 * query itself (~0.4 s of a 0.8 s index listing on 17,000
	 * indexes): observation never uses it. */
	if (pgd_exec(c, read_only ?
	    "SELECT pg_catalog.set_config('statement_timeout', $1, true),"
	    " pg_catalog.set_config('lock_timeout', $2, true),"
	    " pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true),"
	    " pg_catalog.set_config('jit', 'off', true)" :
	    "SELECT pg_catalog.set_config('statement_timeout', $1, true),"
	    " pg_catalog.set_config('lock_timeout', $2, true)",
	    2, params, NULL, "set timeouts", err) == -1) {
		pgd_rollback(c);
		return -1;
	}
	return 0;
}

int pgd_commit(struct dbk_conn *c, struct dbk_err *err)
{
	if (pgd_cmd(c, "COMMIT", "commit", err) == -1) {
		pgd_rollback(c);
		return -1;
	}
	return 0;
}

void pgd_rollback(struct dbk_conn *c)
{
	PGresult *res = NULL;

	if (PQstatus(c->pg) != CONNECTION_OK ||
	    PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		return;
	res = PQexec(c->pg, "ROLLBACK");
	PQclear(res);
}

int pgd_set_timeouts(struct dbk_conn *c, int64_t lock_ms, int64_t stmt_ms,
                     struct dbk_err *err)
{
	char s[24], l[24];
	const char *params[2] = { pgd_i64(s, sizeof s, stmt_ms), pgd_i64(l, sizeof l, lock_ms) };

	if (pgd_check_budget(lock_ms, stmt_ms, err) == -1)
		return -1;
	return pgd_exec(c,
	    "SELECT pg_catalog.set_config('statement_timeout', $1, false),"
	    " pg_catalog.set_config('lock_timeout', $2, false)",
	    2, params, NULL, "set timeouts", err);
}

void pgd_reset_timeouts(struct dbk_conn *c)
{
	PGresult *res = NULL;

	if (PQstatus(c->pg) != CONNECTION_OK)
		return;
	res = PQexec(c->pg, "RESET statement_timeout");
	PQclear(res);
	res = PQexec(c->pg, "RESET lock_timeout");
	PQclear(res);
}

char *pgd_quote(struct dbk_conn *c, const char *ident, struct dbk_err *err)
{
	char *q = NULL, *copy = NULL;

	if (ident == NULL) {
		pgd_err_set(err, DBK_E_INTERNAL, "%s: missing identifier", c->target);
		return NULL;
	}
	if ((q = PQescapeIdentifier(c->pg, ident, strlen(ident))) == NULL) {
		pgd_err_set(err, DBK_E_QUERY, "%s: cannot quote identifier: %s",
		    c->target, PQerrorMessage(c->pg));
		return NULL;
	}
	copy = pgd_xstrdup(q);
	PQfreemem(q);
	return copy;
}

char *pgd_qualify(struct dbk_conn *c, const char *schema, const char *name,
                  struct dbk_err *err)
{
	char *s = NULL, *n = NULL, *out = NULL;

	if ((s = pgd_quote(c, schema, err)) == NULL)
		goto out;
	if ((n = pgd_quote(c, name, err)) == NULL)
		goto out;
	out = pgd_xasprintf("%s.%s", s, n);
out:
	free(n);
	free(s);
	return out;
}

int64_t pgd_int(const PGresult *res, int row, int col, int64_t dflt)
{
	const char *v = NULL;
	char *end = NULL;
	long long n = 0;

	if (PQgetisnull(res, row, col))
		return dflt;
	v = PQgetvalue(res, row, col);
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return dflt;
	return (int64_t)n;
}

double pgd_dbl(const PGresult *res, int row, int col, double dflt)
{
	const char *v = NULL;
	char *end = NULL;
	double d = 0;

	if (PQgetisnull(res, row, col))
		return dflt;
	v = PQgetvalue(res, row, col);
	d = strtod(v, &end);
	return end == v ? dflt : d;
}

bool pgd_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

char *pgd_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : pgd_xstrdup(PQgetvalue(res, row, col));
}

bool pgd_cancelled(struct dbk_conn *c)
{
	return atomic_load(&c->cancelled);
}

int pgd_check_cancel(struct dbk_conn *c, struct dbk_err *err)
{
	if (pgd_cancelled(c))
		return pgd_err_set(err, DBK_E_CANCELLED, "%s: cancelled", c->target);
	return 0;
}

bool pgd_sleep(struct dbk_conn *c, int64_t ms)
{
	int64_t end = pgd_monotonic_ms() + ms, left = ms;
	struct pollfd p = { .fd = c->wake_fd[0], .events = POLLIN };

	while (left > 0 && !pgd_cancelled(c)) {
		/* The pipe stays readable after cancel(): poll returns at once. */
		if (poll(&p, 1, left > 60000 ? 60000 : (int)left) > 0)
			break;
		left = end - pgd_monotonic_ms();
	}
	return !pgd_cancelled(c);
}

int64_t pgd_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pgd_progress(struct dbk_conn *c, const char *phase, int64_t done,
                  int64_t total)
{
	if (c->progress != NULL)
		c->progress(c->progress_ctx, phase, done, total);
}

void pgd_log(struct dbk_conn *c, int level, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	if (c == NULL || c->host.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pgd_one_line(msg);
	c->host.log(c->host.ctx, level, msg);
}
