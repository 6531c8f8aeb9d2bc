/* drivers/mysql/myd_util.h: the MySQL driver's small helpers: error filling,
 * checked allocation, a growable string buffer, clocks. The driver links
 * nothing of the agent (RTLD_LOCAL plugin), so these mirror agent/util.h. */
#ifndef MYD_UTIL_H
#define MYD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbkeeper_driver.h"

#define MYD_MUSTCHECK __attribute__((warn_unused_result))
#define MYD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MYD_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Formats into err->msg (err may be NULL), clears the SQLSTATE and returns
 * -1, so callers can write `return myd_err_set(...)`. */
int myd_err_set(struct dbk_err *err, int code, const char *fmt, ...)
	MYD_PRINTF(3, 4);

/* Allocation that aborts on exhaustion, as the agent's does: a driver that
 * cannot allocate a few bytes cannot do anything useful. */
void *myd_xmalloc(size_t n);
void *myd_xcalloc(size_t n, size_t size);
void *myd_xrealloc(void *p, size_t n);
char *myd_xstrdup(const char *s); /* NULL in, NULL out */
char *myd_xstrndup(const char *s, size_t n);

/* A growable NUL-terminated string. Start from MYD_BUF_INIT; p is never
 * NULL after the first append. Take ownership of p or call myd_buf_free. */
struct myd_buf {
	char *p;
	size_t len, cap;
};
#define MYD_BUF_INIT { NULL, 0, 0 }
void myd_buf_add(struct myd_buf *b, const char *fmt, ...) MYD_PRINTF(2, 3);
void myd_buf_addn(struct myd_buf *b, const char *s, size_t n);
void myd_buf_free(struct myd_buf *b);
/* Gives up the string (never NULL) and resets the buffer. */
char *myd_buf_take(struct myd_buf *b);

/* Appends ident as one backtick-quoted identifier, every backtick doubled.
 * Returns -1 with *err set for an empty name. */
int myd_buf_ident(struct myd_buf *b, const char *ident, struct dbk_err *err)
	MYD_MUSTCHECK;

int64_t myd_monotonic_ms(void);
int64_t myd_now(void); /* unix seconds */

/* Parses a whole decimal integer (optional leading '-'); false otherwise. */
bool myd_parse_i64(const char *s, int64_t *out);
/* True when s is a decimal integer literal safe to paste into SQL. */
bool myd_is_int_literal(const char *s);

#endif
