/* agent/util.h: small helpers every agent module uses: error filling,
 * checked allocation, clocks, atomic file writes. Nothing here keeps state. */
#ifndef DBK_UTIL_H
#define DBK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbkeeper_driver.h"

#define DBK_MUSTCHECK __attribute__((warn_unused_result))
#define DBK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define DBK_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Formats into err->msg (when err is not NULL) and returns -1, so callers
 * can write `return dbk_err_set(...)`. */
int dbk_err_set(struct dbk_err *err, int code, const char *fmt, ...)
	DBK_PRINTF(3, 4);
/* Same, appending ": strerror(errno)". Preserves errno. */
int dbk_err_errno(struct dbk_err *err, const char *fmt, ...) DBK_PRINTF(2, 3);
void dbk_err_clear(struct dbk_err *err);

/* Allocation that aborts on exhaustion: an agent that cannot allocate a
 * few bytes cannot do anything useful, and half-done cleanup is worse. */
void *dbk_xmalloc(size_t n);
void *dbk_xcalloc(size_t n, size_t size);
void *dbk_xrealloc(void *p, size_t n);
char *dbk_xstrdup(const char *s); /* NULL in, NULL out */
char *dbk_xasprintf(const char *fmt, ...) DBK_PRINTF(1, 2);

int64_t dbk_now(void);          /* CLOCK_REALTIME, unix seconds */
int64_t dbk_now_ms(void);       /* CLOCK_REALTIME, unix milliseconds */
int64_t dbk_monotonic_ms(void); /* CLOCK_MONOTONIC milliseconds */

/* Writes data to dir/name atomically: dir/.name.tmp, fsync, rename, fsync
 * dir. mode is the new file's mode. Returns 0 or -1 with *err set. */
int dbk_write_file_atomic(const char *dir, const char *name, const char *data,
                          size_t len, unsigned mode, struct dbk_err *err)
	DBK_MUSTCHECK;
/* Reads a whole file into a NUL-terminated buffer the caller frees.
 * Returns NULL with *err set (errno ENOENT preserved for callers). */
char *dbk_read_file(const char *path, size_t max, size_t *len,
                    struct dbk_err *err);
/* mkdir -p with mode for the directories it creates. */
int dbk_mkdirs(const char *path, unsigned mode, struct dbk_err *err)
	DBK_MUSTCHECK;

/* "5 MB", "12 s": fills buf and returns it. */
const char *dbk_fmt_bytes(int64_t bytes, char *buf, size_t len);
const char *dbk_fmt_duration(int64_t seconds, char *buf, size_t len);

#endif
