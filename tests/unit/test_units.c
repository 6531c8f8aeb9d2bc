/* tests/unit/test_units.c: durations, sizes and maintenance windows, good
 * and bad, and window evaluation across midnight and the week's end. Runs
 * in UTC (and once in Europe/Berlin for a DST night) to be deterministic. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "units.h"

#define MS 1LL
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* 2024-01-01 00:00:00 UTC, a Monday. */
#define MONDAY 1704067200LL

/* Unix time of day d (0 = that Monday, 7 = the next) at hh:mm:ss UTC. */
static int64_t at(int d, int hh, int mm, int ss)
{
	return MONDAY + d * 86400LL + hh * 3600LL + mm * 60LL + ss;
}

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void test_durations_good(void **state)
{
	static const struct { const char *in; int64_t ms; } cases[] = {
		{ "500ms", 500 }, { "0ms", 0 }, { "30s", 30 * SEC },
		{ "5m", 5 * MIN }, { "2h", 2 * HOUR }, { "7d", 7 * DAY },
		{ "2w", 14 * DAY }, { "0", 0 }, { "90", 90 * SEC },
		{ "10 s", 10 * SEC }, { "1000000d", 1000000 * DAY },
		{ "9223372036854775807ms", INT64_MAX },
	};
	(void)state;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_err err = { 0 };
		int64_t v = -1;

		if (dbk_parse_duration_ms(cases[i].in, &v, &err) != 0)
			fail_msg("'%s': %s", cases[i].in, err.msg);
		assert_int_equal(v, cases[i].ms);
	}
}

static void test_durations_bad(void **state)
{
	static const struct { const char *in, *phrase; } cases[] = {
		{ "", "empty duration" },
		{ "-5s", "negative duration" },
		{ "-0", "negative duration" },
		{ "+5s", "is not a duration" },
		{ " 5s", "is not a duration" },
		{ "s", "is not a duration" },
		{ "5x", "unknown unit 'x'" },
		{ "5sec", "unknown unit 'sec'" },
		{ "5S", "unknown unit 'S'" },
		{ "7 days", "unknown unit 'days'" },
		{ "1h30m", "unknown unit 'h30m'" },
		{ "1.5h", "whole number" },
		{ "99999999999999999999", "too large" },
		{ "9223372036854775807s", "too large" },
		{ "10d;DROP TABLE x", "unknown unit" },
	};
	(void)state;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_err err = { 0 };
		int64_t v = 42;

		if (dbk_parse_duration_ms(cases[i].in, &v, &err) != -1)
			fail_msg("'%s' was accepted", cases[i].in);
		if (strstr(err.msg, cases[i].phrase) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'", cases[i].in, err.msg,
			    cases[i].phrase);
		assert_int_equal(err.code, DBK_E_CONFIG);
		assert_int_equal(v, 42); /* output untouched on failure */
	}
}

static void test_sizes(void **state)
{
	static const struct { const char *in; int64_t bytes; } good[] = {
		{ "512", 512 }, { "0", 0 }, { "100B", 100 }, { "64kB", 64 << 10 },
		{ "64KB", 64 << 10 }, { "64K", 64 << 10 }, { "64k", 64 << 10 },
		{ "50MB", 50LL << 20 }, { "50M", 50LL << 20 }, { "50MiB", 50LL << 20 },
		{ "2GB", 2LL << 30 }, { "2G", 2LL << 30 }, { "1 GB", 1LL << 30 },
		{ "1TB", 1LL << 40 }, { "1T", 1LL << 40 },
	};
	static const struct { const char *in, *phrase; } bad[] = {
		{ "", "empty size" }, { "-1", "negative size" },
		{ "1XB", "unknown unit 'XB'" }, { "1.5GB", "whole number" },
		{ "MB", "is not a size" }, { "99999999999TB", "too large" },
		{ "1 G B", "unknown unit 'G B'" }, { "10 MB ", "unknown unit" },
	};
	(void)state;
	for (size_t i = 0; i < DBK_NELEM(good); i++) {
		struct dbk_err err = { 0 };
		int64_t v = -1;

		if (dbk_parse_size(good[i].in, &v, &err) != 0)
			fail_msg("'%s': %s", good[i].in, err.msg);
		assert_int_equal(v, good[i].bytes);
	}
	for (size_t i = 0; i < DBK_NELEM(bad); i++) {
		struct dbk_err err = { 0 };
		int64_t v = 0;

		if (dbk_parse_size(bad[i].in, &v, &err) != -1)
			fail_msg("'%s' was accepted", bad[i].in);
		if (strstr(err.msg, bad[i].phrase) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].in, err.msg,
			    bad[i].phrase);
	}
}

/* Days: bit 0 Monday .. bit 6 Sunday. */
#define MO 0x01
#define TU 0x02
#define WE 0x04
#define TH 0x08
#define FR 0x10
#define SA 0x20
#define SU 0x40
#define ALL 0x7f

static void test_windows_parse_good(void **state)
{
	static const struct {
		const char *in;
		unsigned n;
		struct dbk_window w0, w1;
	} cases[] = {
		{ "Mon-Fri 01:00-05:00", 1, { MO | TU | WE | TH | FR, 60, 300 }, { 0 } },
		{ "Sat,Sun 00:00-06:00", 1, { SA | SU, 0, 360 }, { 0 } },
		{ "daily 22:00-02:00", 1, { ALL, 1320, 120 }, { 0 } },
		{ "DAILY 00:00-24:00", 1, { ALL, 0, 1440 }, { 0 } },
		{ "Fri-Mon 23:00-24:00", 1, { FR | SA | SU | MO, 1380, 1440 }, { 0 } },
		{ "sun-sun 0:30-1:15", 1, { SU, 30, 75 }, { 0 } },
		{ "Sat, Sun 00:00 - 06:00", 1, { SA | SU, 0, 360 }, { 0 } },
		{ "Mon,Wed-Thu,Sat 22:00-00:00", 1, { MO | WE | TH | SA, 1320, 0 }, { 0 } },
		{ "mon-fri 01:00-05:00; SAT,SUN 00:00-06:00", 2,
		  { MO | TU | WE | TH | FR, 60, 300 }, { SA | SU, 0, 360 } },
		{ "always", 0, { 0 }, { 0 } },
		{ "  Always ", 0, { 0 }, { 0 } },
		{ "", 0, { 0 }, { 0 } },
	};
	(void)state;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_windows w;
		struct dbk_err err = { 0 };

		memset(&w, 0xff, sizeof w);
		if (dbk_parse_windows(cases[i].in, &w, &err) != 0)
			fail_msg("'%s': %s", cases[i].in, err.msg);
		assert_int_equal(w.n, cases[i].n);
		for (unsigned j = 0; j < w.n; j++) {
			const struct dbk_window *want = j == 0 ? &cases[i].w0 : &cases[i].w1;

			assert_int_equal(w.v[j].days, want->days);
			assert_int_equal(w.v[j].start_min, want->start_min);
			assert_int_equal(w.v[j].end_min, want->end_min);
		}
	}
}

static void test_windows_parse_bad(void **state)
{
	static const struct { const char *in, *phrase; } cases[] = {
		{ "Mox-Fri 01:00-05:00", "unknown day 'Mox'" },
		{ "Monday 01:00-05:00", "unknown day 'Monday'" },
		{ "Mon,,Tue 01:00-02:00", "empty day" },
		{ "Mon-Fri", "has no time range" },
		{ "01:00-05:00", "names no days" },
		{ "Mon-Fri 25:00-05:00", "bad time range" },
		{ "Mon 01:60-02:00", "bad time range" },
		{ "Mon 01:00-24:01", "bad time range" },
		{ "Mon 1-5", "bad time range" },
		{ "Mon 01:00", "bad time range" },
		{ "Mon 01:00-02:00-03:00", "bad time range" },
		{ "Mon 001:00-02:00", "bad time range" },
		{ "Mon 01:00-05:00 Tue", "bad time range" },
		{ "Mon 03:00-03:00", "starts and ends at 03:00" },
		{ "daily 00:00-00:00", "starts and ends at 00:00" },
		{ "Mon 24:00-02:00", "cannot start at 24:00" },
		{ "Mon 01:00-05:00;", "empty window" },
		{ "; Mon 01:00-05:00", "empty window" },
		{ "always; Mon 01:00-02:00", "'always' cannot be combined" },
		{ "daily,Mon 01:00-02:00", "unknown day 'daily'" },
		{ "Mon 1:00-2:00;Tue 1:00-2:00;Wed 1:00-2:00;Thu 1:00-2:00;"
		  "Fri 1:00-2:00;Sat 1:00-2:00;Sun 1:00-2:00;Mon 3:00-4:00;"
		  "Tue 3:00-4:00", "more than 8 windows" },
		{ "Mon';DROP TABLE x;-- 01:00-02:00", "has no time range" },
		{ "Mon'--x 01:00-02:00", "unknown day" },
	};
	(void)state;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_windows w = { 0 };
		struct dbk_err err = { 0 };

		if (dbk_parse_windows(cases[i].in, &w, &err) != -1)
			fail_msg("'%s' was accepted", cases[i].in);
		if (strstr(err.msg, cases[i].phrase) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'", cases[i].in, err.msg,
			    cases[i].phrase);
		assert_int_equal(w.n, 0); /* untouched */
	}
}

struct eval_case {
	const char *win;
	int64_t t;
	bool in;
	int64_t remaining; /* seconds */
	int64_t next_open; /* unix time */
};

static void check_eval(const struct eval_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct dbk_windows w;
		struct dbk_err err = { 0 };

		if (dbk_parse_windows(c[i].win, &w, &err) != 0)
			fail_msg("'%s': %s", c[i].win, err.msg);
		if (dbk_windows_contain(&w, c[i].t) != c[i].in)
			fail_msg("case %zu '%s' at %lld: contain should be %d", i,
			    c[i].win, (long long)c[i].t, c[i].in);
		if (dbk_windows_remaining(&w, c[i].t) != c[i].remaining)
			fail_msg("case %zu '%s' at %lld: remaining %lld, want %lld", i,
			    c[i].win, (long long)c[i].t,
			    (long long)dbk_windows_remaining(&w, c[i].t),
			    (long long)c[i].remaining);
		if (dbk_windows_next_open(&w, c[i].t) != c[i].next_open)
			fail_msg("case %zu '%s' at %lld: next_open %lld, want %lld", i,
			    c[i].win, (long long)c[i].t,
			    (long long)dbk_windows_next_open(&w, c[i].t),
			    (long long)c[i].next_open);
	}
}

static void test_windows_eval(void **state)
{
	const struct eval_case cases[] = {
		/* weekdays, not crossing midnight */
		{ "Mon-Fri 01:00-05:00", at(0, 0, 59, 59), false, 0, at(0, 1, 0, 0) },
		{ "Mon-Fri 01:00-05:00", at(0, 1, 0, 0), true, 4 * 3600, at(0, 1, 0, 0) },
		{ "Mon-Fri 01:00-05:00", at(0, 4, 59, 59), true, 1, at(0, 4, 59, 59) },
		{ "Mon-Fri 01:00-05:00", at(0, 5, 0, 0), false, 0, at(1, 1, 0, 0) },
		{ "Mon-Fri 01:00-05:00", at(4, 6, 0, 0), false, 0, at(7, 1, 0, 0) },
		{ "Mon-Fri 01:00-05:00", at(5, 3, 0, 0), false, 0, at(7, 1, 0, 0) },
		/* daily, crossing midnight */
		{ "daily 22:00-02:00", at(0, 23, 0, 0), true, 3 * 3600, at(0, 23, 0, 0) },
		{ "daily 22:00-02:00", at(1, 1, 0, 0), true, 3600, at(1, 1, 0, 0) },
		{ "daily 22:00-02:00", at(1, 2, 0, 0), false, 0, at(1, 22, 0, 0) },
		{ "daily 22:00-02:00", at(1, 21, 59, 59), false, 0, at(1, 22, 0, 0) },
		/* starts on Friday only, ends on Saturday */
		{ "Fri 22:00-02:00", at(5, 1, 0, 0), true, 3600, at(5, 1, 0, 0) },
		{ "Fri 22:00-02:00", at(6, 1, 0, 0), false, 0, at(11, 22, 0, 0) },
		{ "Fri 22:00-02:00", at(4, 21, 0, 0), false, 0, at(4, 22, 0, 0) },
		{ "Fri 22:00-02:00", at(4, 1, 0, 0), false, 0, at(4, 22, 0, 0) },
		/* Sunday night into Monday: the week wraps */
		{ "Sun 23:00-01:00", at(6, 23, 30, 0), true, 5400, at(6, 23, 30, 0) },
		{ "Sun 23:00-01:00", at(7, 0, 30, 0), true, 1800, at(7, 0, 30, 0) },
		{ "Sun 23:00-01:00", at(0, 0, 30, 0), true, 1800, at(0, 0, 30, 0) },
		{ "Sun 23:00-01:00", at(0, 1, 0, 0), false, 0, at(6, 23, 0, 0) },
		/* end 00:00 means midnight */
		{ "Sat 22:00-00:00", at(5, 23, 0, 0), true, 3600, at(5, 23, 0, 0) },
		{ "Sat 22:00-00:00", at(6, 0, 0, 0), false, 0, at(12, 22, 0, 0) },
		/* a wrapping day range */
		{ "Fri-Mon 23:00-24:00", at(6, 23, 30, 0), true, 1800, at(6, 23, 30, 0) },
		{ "Fri-Mon 23:00-24:00", at(1, 23, 30, 0), false, 0, at(4, 23, 0, 0) },
		/* touching windows merge: open until 02:00 */
		{ "daily 22:00-24:00; daily 00:00-02:00", at(0, 23, 0, 0), true,
		  3 * 3600, at(0, 23, 0, 0) },
		{ "Mon 00:00-24:00; Tue 00:00-06:00", at(0, 12, 0, 0), true,
		  18 * 3600, at(0, 12, 0, 0) },
		/* several windows: the earliest next start */
		{ "Mon-Fri 01:00-05:00; Sat,Sun 00:00-06:00", at(4, 12, 0, 0), false, 0,
		  at(5, 0, 0, 0) },
		{ "Mon-Fri 01:00-05:00; Sat,Sun 00:00-06:00", at(6, 5, 0, 0), true,
		  3600, at(6, 5, 0, 0) },
		/* all the time: no window end */
		{ "daily 00:00-24:00", at(3, 12, 0, 0), true, 0, at(3, 12, 0, 0) },
		{ "always", at(3, 12, 0, 0), true, 0, at(3, 12, 0, 0) },
	};
	(void)state;

	use_tz("UTC");
	check_eval(cases, DBK_NELEM(cases));
}

/* On 2024-03-31 Berlin skips 02:00-03:00: the window from 01:00 to 05:00
 * lasts three real hours, and the next one opens at 01:00 CEST. */
static void test_windows_dst(void **state)
{
	const int64_t sun_0100 = 1711843200; /* 2024-03-31 01:00 CET = 00:00 UTC */
	const struct eval_case cases[] = {
		{ "Sun 01:00-05:00", sun_0100, true, 3 * 3600, sun_0100 },
		{ "Sun 01:00-05:00", sun_0100 - 3600, false, 0, sun_0100 },
		{ "Sun 01:00-05:00", sun_0100 + 3 * 3600, false, 0,
		  sun_0100 + 7 * 86400 - 3600 },
	};
	(void)state;

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	use_tz("Europe/Berlin");
	check_eval(cases, DBK_NELEM(cases));
	use_tz("UTC");
}

static void test_windows_null_and_empty(void **state)
{
	struct dbk_windows none = { 0 };
	(void)state;

	assert_true(dbk_windows_contain(NULL, at(0, 3, 0, 0)));
	assert_true(dbk_windows_contain(&none, at(0, 3, 0, 0)));
	assert_int_equal(dbk_windows_remaining(&none, at(0, 3, 0, 0)), 0);
	assert_int_equal(dbk_windows_next_open(&none, at(0, 3, 0, 0)),
	                 at(0, 3, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_good),
		cmocka_unit_test(test_durations_bad),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_windows_parse_good),
		cmocka_unit_test(test_windows_parse_bad),
		cmocka_unit_test(test_windows_eval),
		cmocka_unit_test(test_windows_dst),
		cmocka_unit_test(test_windows_null_and_empty),
	};

	use_tz("UTC");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
