/* tests/fuzz/fuzz_units.c: libFuzzer harness for the duration, size and
 * window parsers (agent/units.h); windows that parse are evaluated and the
 * answers checked against each other. */
#include "fuzz_common.h"

#include <time.h>

#include "units.h"

#define WEEK_S INT64_C(604800)
#define FUZZ_MAX_INPUT 512 /* windows are short; longer inputs only slow the run */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* 2000-01-01 .. 2100-01-01, from the input's bytes: every input is judged
 * at its own instant, and a corpus entry always at the same one. */
static int64_t time_of(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < size; i++) {
		h ^= data[i];
		h *= 1099511628211ULL;
	}
	return INT64_C(946684800) + (int64_t)(h % UINT64_C(3155760000));
}

static void check_windows(const struct dbk_windows *w, int64_t t)
{
	bool in = false;
	int64_t rem = 0, next = 0;

	FUZZ_CHECK(w->n <= DBK_MAX_WINDOWS, "n=%u", w->n);
	for (unsigned i = 0; i < w->n; i++) {
		const struct dbk_window *v = &w->v[i];

		FUZZ_CHECK(v->days != 0 && v->days <= 0x7f, "days=%#x", v->days);
		FUZZ_CHECK(v->start_min < 24 * 60, "start=%u", v->start_min);
		FUZZ_CHECK(v->end_min <= 24 * 60, "end=%u", v->end_min);
		FUZZ_CHECK(v->start_min != v->end_min, "empty window");
	}
	in = dbk_windows_contain(w, t);
	rem = dbk_windows_remaining(w, t);
	next = dbk_windows_next_open(w, t);
	FUZZ_CHECK(rem >= 0 && rem <= 7 * 86400 + 86400, "remaining=%lld",
	           (long long)rem);
	FUZZ_CHECK(rem == 0 || in, "time left in a window t is not in");
	if (in || w->n == 0) {
		FUZZ_CHECK(next == t, "inside, but next open %lld != t %lld",
		           (long long)next, (long long)t);
		return;
	}
	/* Outside: a window with days opens within a week and a day. */
	FUZZ_CHECK(next > t && next - t <= WEEK_S + 86400,
	           "next open %lld for t %lld", (long long)next, (long long)t);
	FUZZ_CHECK(dbk_windows_contain(w, next), "next open %lld is not inside",
	           (long long)next);
	FUZZ_CHECK(!dbk_windows_contain(w, next - 1) || next - 1 == t,
	           "next open %lld is not the first open second", (long long)next);
}

/* The whole input is one string for all three parsers; a window that
 * parses is judged at an instant derived from the input, in UTC, where the
 * checks hold exactly. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbk_windows w;
	struct dbk_err err;
	char *s = NULL;
	int64_t v = -1;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	s = dbk_xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	memset(&err, 0, sizeof err);
	if (dbk_parse_duration_ms(s, &v, &err) == 0)
		FUZZ_CHECK(v >= 0, "duration '%s' gave %lld", s, (long long)v);
	else
		FUZZ_CHECK(err.msg[0] != '\0', "duration refused without a message");

	memset(&err, 0, sizeof err);
	v = -1;
	if (dbk_parse_size(s, &v, &err) == 0)
		FUZZ_CHECK(v >= 0, "size '%s' gave %lld", s, (long long)v);
	else
		FUZZ_CHECK(err.msg[0] != '\0', "size refused without a message");

	memset(&err, 0, sizeof err);
	memset(&w, 0xa5, sizeof w); /* garbage: the parser must fill all of it */
	if (dbk_parse_windows(s, &w, &err) == 0)
		check_windows(&w, time_of(data, size));
	else
		FUZZ_CHECK(err.msg[0] != '\0', "window refused without a message");
	free(s);
	return 0;
}
