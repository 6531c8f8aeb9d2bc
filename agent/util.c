/* agent/util.c: error filling, checked allocation, clocks and atomic file
 * writes shared by the agent's modules. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int dbk_err_set(struct dbk_err *err, int code, const char *fmt, ...)
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

int dbk_err_errno(struct dbk_err *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t used;

	if (err == NULL)
		return -1;
	err->code = DBK_E_IO;
	err->sqlstate[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	snprintf(err->msg + used, sizeof err->msg - used, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

void dbk_err_clear(struct dbk_err *err)
{
	if (err != NULL)
		memset(err, 0, sizeof *err);
}

static void *oom(size_t n)
{
	fprintf(stderr, "dbkeeper: out of memory allocating %zu bytes\n", n);
	abort();
}

void *dbk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom(n);
}

void *dbk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : oom(n * size);
}

void *dbk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : oom(n);
}

char *dbk_xstrdup(const char *s)
{
	char *d = NULL;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		oom(strlen(s) + 1);
	return d;
}

char *dbk_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n = 0;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(strlen(fmt));
	return s;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t dbk_now(void) { return clock_ms(CLOCK_REALTIME) / 1000; }
int64_t dbk_now_ms(void) { return clock_ms(CLOCK_REALTIME); }
int64_t dbk_monotonic_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

static int write_all(int fd, const char *data, size_t len, const char *path,
                     struct dbk_err *err)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dbk_err_errno(err, "write %s", path);
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir, struct dbk_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd == -1)
		return dbk_err_errno(err, "open directory %s", dir);
	if (fsync(fd) == -1)
		rc = dbk_err_errno(err, "fsync directory %s", dir);
	close(fd);
	return rc;
}

int dbk_write_file_atomic(const char *dir, const char *name, const char *data,
                          size_t len, unsigned mode, struct dbk_err *err)
{
	char *tmp = dbk_xasprintf("%s/.%s.tmp", dir, name);
	char *dst = dbk_xasprintf("%s/%s", dir, name);
	int fd = -1, rc = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd == -1) {
		dbk_err_errno(err, "create %s", tmp);
		goto out;
	}
	if (write_all(fd, data, len, tmp, err) == -1)
		goto out;
	if (fsync(fd) == -1) {
		dbk_err_errno(err, "fsync %s", tmp);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		dbk_err_errno(err, "close %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		dbk_err_errno(err, "rename %s to %s", tmp, dst);
		goto out;
	}
	rc = fsync_dir(dir, err);
out:
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp); /* leave no half-written file behind */
	free(dst);
	free(tmp);
	return rc;
}

char *dbk_read_file(const char *path, size_t max, size_t *len,
                    struct dbk_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 4096;

	if (f == NULL) {
		dbk_err_errno(err, "open %s", path);
		return NULL;
	}
	buf = dbk_xmalloc(cap);
	for (;;) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
		if (n > max) {
			dbk_err_set(err, DBK_E_IO, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
		if (cap - n - 1 == 0)
			buf = dbk_xrealloc(buf, cap *= 2);
	}
	if (ferror(f)) {
		dbk_err_errno(err, "read %s", path);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

int dbk_mkdirs(const char *path, unsigned mode, struct dbk_err *err)
{
	char *p = dbk_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		bool end = *s == '\0';

		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) == -1 && errno != EEXIST) {
			rc = dbk_err_errno(err, "create directory %s", p);
			break;
		}
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return rc;
}

const char *dbk_fmt_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	while (v >= 1024 && u + 1 < DBK_NELEM(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRId64 " B", bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

const char *dbk_fmt_duration(int64_t s, char *buf, size_t len)
{
	if (s % 86400 == 0 && s >= 86400)
		snprintf(buf, len, "%" PRId64 "d", s / 86400);
	else if (s % 3600 == 0 && s >= 3600)
		snprintf(buf, len, "%" PRId64 "h", s / 3600);
	else if (s % 60 == 0 && s >= 60)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
	return buf;
}
