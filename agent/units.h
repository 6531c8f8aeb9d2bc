/* agent/units.h: the typed values of configuration files: durations, sizes,
 * maintenance windows. Pure parsing and evaluation; no I/O, no state. */
#ifndef DBK_UNITS_H
#define DBK_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* "500ms", "30s", "5m", "2h", "7d", "2w"; a bare number is seconds.
 * Returns milliseconds in *out, or -1 with err->msg saying what is wrong
 * (without file:line; the caller adds it). */
int dbk_parse_duration_ms(const char *s, int64_t *out, struct dbk_err *err)
	DBK_MUSTCHECK;
/* "512", "64kB", "50MB", "2GB", "1TB" (powers of 1024); bytes in *out. */
int dbk_parse_size(const char *s, int64_t *out, struct dbk_err *err)
	DBK_MUSTCHECK;

/* One window: days (bit 0 Monday .. bit 6 Sunday) and minutes since
 * midnight. end <= start means the window crosses midnight: it starts on
 * a listed day and ends on the next. */
struct dbk_window {
	uint8_t days;
	uint16_t start_min;
	uint16_t end_min;
};
#define DBK_MAX_WINDOWS 8
/* n == 0 means "always". */
struct dbk_windows {
	unsigned n;
	struct dbk_window v[DBK_MAX_WINDOWS];
};

/* "Mon-Fri 01:00-05:00", "Sat,Sun 00:00-06:00", "daily 22:00-02:00",
 * several separated by ";". "always" or "" means no restriction. */
int dbk_parse_windows(const char *s, struct dbk_windows *out,
                      struct dbk_err *err) DBK_MUSTCHECK;
/* Is local time t inside the windows? Uses localtime_r. */
bool dbk_windows_contain(const struct dbk_windows *w, int64_t t);
/* Seconds from t to the end of the window t is in (0 when outside or when
 * there is no restriction, meaning "no window end"). */
int64_t dbk_windows_remaining(const struct dbk_windows *w, int64_t t);
/* Unix time of the next moment at or after t inside the windows (t itself
 * when inside or unrestricted). */
int64_t dbk_windows_next_open(const struct dbk_windows *w, int64_t t);

#endif
