/* agent/units.c: parses the typed values of configuration files (durations,
 * sizes, maintenance windows) and evaluates windows against local time.
 * Pure functions, no I/O and no state. Messages carry no file:line: the
 * key-table walker (keytab.c) adds where the value came from. */
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct unit {
	const char *name;
	int64_t mult;
};

static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 3600 * 1000 },
	{ "d", 86400 * 1000 },
	{ "w", 7 * 86400 * 1000 },
};

/* Matched case-insensitively: "kB", "KB", "K" and "KiB" all mean 1024,
 * as in PostgreSQL and MySQL settings; nobody means bits here. */
static const struct unit size_units[] = {
	{ "b", 1 },
	{ "k", 1LL << 10 }, { "kb", 1LL << 10 }, { "kib", 1LL << 10 },
	{ "m", 1LL << 20 }, { "mb", 1LL << 20 }, { "mib", 1LL << 20 },
	{ "g", 1LL << 30 }, { "gb", 1LL << 30 }, { "gib", 1LL << 30 },
	{ "t", 1LL << 40 }, { "tb", 1LL << 40 }, { "tib", 1LL << 40 },
};

/* What one kind of scaled number looks like, for parsing and messages. */
struct scale {
	const char *what;          /* "duration" */
	const struct unit *units;
	size_t n_units;
	bool nocase;
	int64_t bare_mult;         /* a number without unit */
	const char *hint;          /* "use ms, s, m, h, d or w" */
};

static const struct unit *unit_find(const struct scale *sc, const char *name)
{
	for (size_t i = 0; i < sc->n_units; i++) {
		int c = sc->nocase ? strcasecmp(name, sc->units[i].name)
		                   : strcmp(name, sc->units[i].name);
		if (c == 0)
			return &sc->units[i];
	}
	return NULL;
}

/* "<digits>[spaces]<unit>": whole numbers only, so "1.5h" is refused with
 * a hint rather than silently truncated. */
static int parse_scaled(const struct scale *sc, const char *s, int64_t *out,
                        struct dbk_err *err)
{
	const struct unit *u = NULL;
	const char *p = s;
	int64_t v = 0, mult = sc->bare_mult;

	if (s == NULL || *s == '\0')
		return dbk_err_set(err, DBK_E_CONFIG, "empty %s", sc->what);
	if (*p == '-')
		return dbk_err_set(err, DBK_E_CONFIG,
		    "negative %s '%s' is not allowed", sc->what, s);
	if (!isdigit((unsigned char)*p))
		return dbk_err_set(err, DBK_E_CONFIG,
		    "'%s' is not a %s (a whole number and a unit: %s)", s,
		    sc->what, sc->hint);
	for (; isdigit((unsigned char)*p); p++) {
		int d = *p - '0';

		if (v > (INT64_MAX - d) / 10)
			return dbk_err_set(err, DBK_E_CONFIG, "%s '%s' is too large",
			    sc->what, s);
		v = v * 10 + d;
	}
	if (*p == '.' || *p == ',')
		return dbk_err_set(err, DBK_E_CONFIG,
		    "%s '%s' must be a whole number (use a smaller unit)", sc->what, s);
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		if ((u = unit_find(sc, p)) == NULL)
			return dbk_err_set(err, DBK_E_CONFIG,
			    "unknown unit '%s' in %s '%s' (%s)", p, sc->what, s, sc->hint);
		mult = u->mult;
	}
	if (v > INT64_MAX / mult)
		return dbk_err_set(err, DBK_E_CONFIG, "%s '%s' is too large", sc->what, s);
	*out = v * mult;
	return 0;
}

int dbk_parse_duration_ms(const char *s, int64_t *out, struct dbk_err *err)
{
	static const struct scale sc = {
		"duration", duration_units, DBK_NELEM(duration_units), false, 1000,
		"use ms, s, m, h, d or w, e.g. 30s or 7d",
	};

	return parse_scaled(&sc, s, out, err);
}

int dbk_parse_size(const char *s, int64_t *out, struct dbk_err *err)
{
	static const struct scale sc = {
		"size", size_units, DBK_NELEM(size_units), true, 1,
		"use B, kB, MB, GB or TB, e.g. 50MB",
	};

	return parse_scaled(&sc, s, out, err);
}

/* ---- Windows ---- */

static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
};
#define ALL_DAYS 0x7f
#define DAY_HINT "use Mon, Tue, Wed, Thu, Fri, Sat, Sun, ranges like Mon-Fri, or daily"

static char *trim(char *s)
{
	char *e = NULL;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int day_index(const char *name)
{
	for (int i = 0; i < 7; i++)
		if (strcasecmp(name, day_names[i]) == 0)
			return i;
	return -1;
}

static int day_lookup(const char *name, const char *win, int *out,
                      struct dbk_err *err)
{
	if ((*out = day_index(name)) == -1)
		return dbk_err_set(err, DBK_E_CONFIG,
		    "unknown day '%s' in window '%s' (%s)", name, win, DAY_HINT);
	return 0;
}

/* "daily", or a comma list of days and day ranges; ranges wrap, so
 * "Fri-Mon" is Friday to Monday. days is modified. */
static int parse_days(char *days, const char *win, uint8_t *out,
                      struct dbk_err *err)
{
	uint8_t bits = 0;
	char *item = NULL, *next = NULL;

	if (strcasecmp(days, "daily") == 0) {
		*out = ALL_DAYS;
		return 0;
	}
	for (item = days; item != NULL; item = next) {
		char *dash = NULL;
		int a = 0, b = 0;

		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item = trim(item);
		if (*item == '\0')
			return dbk_err_set(err, DBK_E_CONFIG,
			    "empty day in window '%s' (%s)", win, DAY_HINT);
		if ((dash = strchr(item, '-')) != NULL)
			*dash++ = '\0';
		if (day_lookup(trim(item), win, &a, err) == -1)
			return -1;
		b = a;
		if (dash != NULL && day_lookup(trim(dash), win, &b, err) == -1)
			return -1;
		for (int i = a;; i = (i + 1) % 7) {
			bits |= (uint8_t)(1u << i);
			if (i == b)
				break;
		}
	}
	*out = bits;
	return 0;
}

/* "H:MM" or "HH:MM", 00:00 to 24:00, into minutes; advances *p. */
static bool parse_hhmm(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned h = 0, m = 0;
	int digits = 0;

	for (; isdigit((unsigned char)*s) && digits < 3; s++, digits++)
		h = h * 10 + (unsigned)(*s - '0');
	if (digits < 1 || digits > 2 || *s != ':')
		return false;
	s++;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return false;
	m = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return false;
	*out = h * 60 + m;
	*p = s + 2;
	return true;
}

static void fmt_min(unsigned min, char buf[8])
{
	snprintf(buf, 8, "%02u:%02u", (min / 60) % 100, min % 60);
}

/* "HH:MM-HH:MM", spaces already removed. */
static int parse_times(const char *times, const char *win,
                       struct dbk_window *w, struct dbk_err *err)
{
	const char *p = times;
	unsigned start = 0, end = 0;
	char buf[8];

	if (!parse_hhmm(&p, &start) || *p++ != '-' || !parse_hhmm(&p, &end) ||
	    *p != '\0')
		return dbk_err_set(err, DBK_E_CONFIG,
		    "bad time range '%s' in window '%s' (expected HH:MM-HH:MM, "
		    "from 00:00 to 24:00)", times, win);
	if (start == 24 * 60)
		return dbk_err_set(err, DBK_E_CONFIG,
		    "window '%s' cannot start at 24:00 (use 00:00)", win);
	if (start == end) {
		fmt_min(start, buf);
		return dbk_err_set(err, DBK_E_CONFIG,
		    "window '%s' starts and ends at %s (for a whole day use "
		    "00:00-24:00)", win, buf);
	}
	w->start_min = (uint16_t)start;
	w->end_min = (uint16_t)end;
	return 0;
}

/* One "DAYS HH:MM-HH:MM". Day names hold no digit, so the time range
 * starts at the first digit; spaces inside either part are tolerated. */
static int parse_window(const char *win, struct dbk_window *w,
                        struct dbk_err *err)
{
	char days[128], times[64];
	const char *t = win;
	size_t n = 0, len = strlen(win);

	if (len >= sizeof days)
		return dbk_err_set(err, DBK_E_CONFIG, "window '%.40s...' is too long",
		    win);
	while (*t != '\0' && !isdigit((unsigned char)*t))
		t++;
	if (*t == '\0')
		return dbk_err_set(err, DBK_E_CONFIG,
		    "window '%s' has no time range (expected e.g. "
		    "'Mon-Fri 01:00-05:00')", win);
	memcpy(days, win, (size_t)(t - win));
	days[t - win] = '\0';
	for (; *t != '\0' && n + 1 < sizeof times; t++)
		if (!isspace((unsigned char)*t))
			times[n++] = *t;
	times[n] = '\0';
	if (*trim(days) == '\0')
		return dbk_err_set(err, DBK_E_CONFIG,
		    "window '%s' names no days (start with e.g. Mon-Fri, Sat,Sun "
		    "or daily)", win);
	if (parse_days(trim(days), win, &w->days, err) == -1)
		return -1;
	return parse_times(times, win, w, err);
}

int dbk_parse_windows(const char *s, struct dbk_windows *out,
                      struct dbk_err *err)
{
	struct dbk_windows res;
	char *copy = dbk_xstrdup(s != NULL ? s : "");
	char *all = trim(copy), *seg = NULL, *next = NULL;
	int rc = -1;

	memset(&res, 0, sizeof res);
	if (*all == '\0' || strcasecmp(all, "always") == 0) {
		*out = res;
		rc = 0;
		goto out;
	}
	for (seg = all; seg != NULL; seg = next) {
		if ((next = strchr(seg, ';')) != NULL)
			*next++ = '\0';
		seg = trim(seg);
		if (*seg == '\0') {
			dbk_err_set(err, DBK_E_CONFIG,
			    "empty window in '%s' (separate windows with ';', "
			    "none at the end)", s);
			goto out;
		}
		if (strcasecmp(seg, "always") == 0) {
			dbk_err_set(err, DBK_E_CONFIG, "'always' cannot be combined with "
			    "other windows in '%s'", s);
			goto out;
		}
		if (res.n == DBK_MAX_WINDOWS) {
			dbk_err_set(err, DBK_E_CONFIG, "more than %d windows in '%s'",
			    DBK_MAX_WINDOWS, s);
			goto out;
		}
		if (parse_window(seg, &res.v[res.n], err) == -1)
			goto out;
		res.n++;
	}
	*out = res;
	rc = 0;
out:
	free(copy);
	return rc;
}

/* Local time of t: broken down, day index (0 Monday) and second of day. */
struct local {
	struct tm tm;
	int wday;
	int sec;
};

static void local_of(int64_t t, struct local *l)
{
	time_t tt = (time_t)t;

	memset(l, 0, sizeof *l);
	localtime_r(&tt, &l->tm);
	l->wday = (l->tm.tm_wday + 6) % 7;
	l->sec = l->tm.tm_hour * 3600 + l->tm.tm_min * 60 + l->tm.tm_sec;
}

/* The instant `day_off` days after l's date at `minute` past midnight
 * (1440 is the next midnight). mktime() handles month ends and DST. */
static int64_t local_at(const struct local *l, int day_off, unsigned minute)
{
	struct tm tm = l->tm;

	tm.tm_mday += day_off;
	tm.tm_hour = (int)(minute / 60);
	tm.tm_min = (int)(minute % 60);
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static bool has_day(const struct dbk_window *w, int wday)
{
	return (w->days & (1u << ((wday + 7) % 7))) != 0;
}

static bool crosses_midnight(const struct dbk_window *w)
{
	return w->end_min <= w->start_min;
}

/* Did the part of w that contains l start today (rather than yesterday)? */
static bool started_today(const struct dbk_window *w, const struct local *l)
{
	return has_day(w, l->wday) && l->sec >= w->start_min * 60;
}

static bool window_has(const struct dbk_window *w, const struct local *l)
{
	if (!crosses_midnight(w))
		return has_day(w, l->wday) && l->sec >= w->start_min * 60 &&
		       l->sec < w->end_min * 60;
	return started_today(w, l) ||
	       (has_day(w, l->wday - 1) && l->sec < w->end_min * 60);
}

/* End of w, which contains l. */
static int64_t window_end(const struct dbk_window *w, const struct local *l)
{
	if (crosses_midnight(w) && started_today(w, l))
		return local_at(l, 1, w->end_min);
	return local_at(l, 0, w->end_min);
}

bool dbk_windows_contain(const struct dbk_windows *w, int64_t t)
{
	struct local l;

	if (w == NULL || w->n == 0)
		return true;
	local_of(t, &l);
	for (unsigned i = 0; i < w->n; i++)
		if (window_has(&w->v[i], &l))
			return true;
	return false;
}

/* Windows may touch or overlap ("daily 22:00-24:00; daily 00:00-02:00"),
 * so the time left runs until the first moment no window covers: follow
 * window ends until one lands outside every window. Days are at most 24h
 * long, so more than a week of steps means the windows cover all time. */
int64_t dbk_windows_remaining(const struct dbk_windows *w, int64_t t)
{
	int64_t end = t;

	if (w == NULL || w->n == 0 || !dbk_windows_contain(w, t))
		return 0;
	for (unsigned step = 0; step < 8 * (DBK_MAX_WINDOWS + 1); step++) {
		int64_t best = end;
		struct local l;

		local_of(end, &l);
		for (unsigned i = 0; i < w->n; i++) {
			int64_t e = 0;

			if (!window_has(&w->v[i], &l))
				continue;
			if ((e = window_end(&w->v[i], &l)) > best)
				best = e;
		}
		if (best == end)
			return end - t;
		end = best;
		if (end - t > 7 * 86400)
			return 0;
	}
	return 0;
}

/* Outside every window, the next open moment is a window's start: each
 * window starts on one of its listed days, so a week ahead is enough. */
int64_t dbk_windows_next_open(const struct dbk_windows *w, int64_t t)
{
	int64_t best = INT64_MAX;
	struct local l;

	if (w == NULL || w->n == 0 || dbk_windows_contain(w, t))
		return t;
	local_of(t, &l);
	for (int d = 0; d <= 7; d++) {
		for (unsigned i = 0; i < w->n; i++) {
			int64_t s = 0;

			if (!has_day(&w->v[i], l.wday + d))
				continue;
			s = local_at(&l, d, w->v[i].start_min);
			if (s > t && s < best)
				best = s;
		}
	}
	return best; /* INT64_MAX only for a window without days */
}
