/* drivers/mysql/myd_util.c: error filling, checked allocation, the string
 * buffer every SQL text is built in, and backtick quoting. Nothing here
 * talks to a server. */
#include "myd_util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int myd_err_set(struct dbk_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->sqlstate[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static void *myd_oom(size_t n)
{
	fprintf(stderr, "dbkeeper mysql driver: out of memory allocating %zu bytes\n", n);
	abort();
}

void *myd_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : myd_oom(n);
}

void *myd_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : myd_oom(n * size);
}

void *myd_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : myd_oom(n);
}

char *myd_xstrdup(const char *s)
{
	return s == NULL ? NULL : myd_xstrndup(s, strlen(s));
}

char *myd_xstrndup(const char *s, size_t n)
{
	char *p = NULL;

	if (s == NULL)
		return NULL;
	p = myd_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void myd_buf_reserve(struct myd_buf *b, size_t more)
{
	size_t need = b->len + more + 1;

	if (need <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 128;
	while (b->cap < need)
		b->cap *= 2;
	b->p = myd_xrealloc(b->p, b->cap);
}

void myd_buf_addn(struct myd_buf *b, const char *s, size_t n)
{
	myd_buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void myd_buf_add(struct myd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort(); /* only a broken format string gets here */
	myd_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void myd_buf_free(struct myd_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *myd_buf_take(struct myd_buf *b)
{
	char *p = NULL;

	myd_buf_reserve(b, 0);
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

int myd_buf_ident(struct myd_buf *b, const char *ident, struct dbk_err *err)
{
	const char *s = NULL;

	if (ident == NULL || ident[0] == '\0')
		return myd_err_set(err, DBK_E_INTERNAL, "empty identifier");
	myd_buf_reserve(b, 2 * strlen(ident) + 2);
	myd_buf_addn(b, "`", 1);
	for (s = ident; *s != '\0'; s++) {
		if (*s == '`')
			myd_buf_addn(b, "`", 1);
		myd_buf_addn(b, s, 1);
	}
	myd_buf_addn(b, "`", 1);
	return 0;
}

int64_t myd_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t myd_now(void)
{
	return (int64_t)time(NULL);
}

bool myd_parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64_t)v;
	return true;
}

bool myd_is_int_literal(const char *s)
{
	size_t i = 0;

	if (s == NULL)
		return false;
	if (s[0] == '-')
		i = 1;
	if (s[i] == '\0' || strlen(s + i) > 20)
		return false;
	for (; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}
