/* tests/unit/test_queue.c: the report queue (agent/queue.c) and the
 * `queue` subcommand (agent/cmd_queue.c): round trips, hostile strings,
 * filters, unreadable files set aside, tmp/ leftovers, ack and prune. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_queue.h"
#include "config.h"
#include "queue.h"

#define DAY_MS (86400LL * 1000)

struct fixture {
	char dir[256];
	char qdir[300]; /* dir/reports */
	struct dbk_queue *q;
	unsigned warnings;
	char last_warning[1024];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");
	struct dbk_err err = { 0 };

	snprintf(fx->dir, sizeof fx->dir, "%s/dbk-test-queue-XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->qdir, sizeof fx->qdir, "%s/reports", fx->dir);
	fx->q = dbk_queue_open(fx->dir, "reports", &err);
	assert_non_null(fx->q);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	dbk_queue_close(fx->q);
	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void on_warn(void *ctx, const char *msg)
{
	struct fixture *fx = ctx;

	fx->warnings++;
	snprintf(fx->last_warning, sizeof fx->last_warning, "%s", msg);
}

/* Collects what a scan visits. */
struct seen {
	struct fixture *fx;
	unsigned n;
	char ids[64][128];
	char boxes[64][4];
	json_t *recs; /* array of the records */
};

static int collect(void *ctx, const char *box, const char *id, json_t *rec)
{
	struct seen *s = ctx;

	assert_true(s->n < 64);
	snprintf(s->ids[s->n], sizeof s->ids[0], "%s", id);
	snprintf(s->boxes[s->n], sizeof s->boxes[0], "%s", box);
	json_array_append(s->recs, rec);
	s->n++;
	return 0;
}

static void collect_warn(void *ctx, const char *msg)
{
	struct seen *s = ctx;

	on_warn(s->fx, msg);
}

static void scan(struct fixture *fx, const struct dbk_queue_filter *f, struct seen *s)
{
	struct dbk_err err = { 0 };

	memset(s, 0, sizeof *s);
	s->fx = fx;
	s->recs = json_array();
	assert_int_equal(dbk_queue_scan(fx->q, f, collect, collect_warn, s, &err), 0);
}

static void seen_free(struct seen *s)
{
	json_decref(s->recs);
}

static unsigned count_files(const struct fixture *fx, const char *box)
{
	char path[400];
	unsigned n = 0;
	DIR *d = NULL;
	struct dirent *de = NULL;

	snprintf(path, sizeof path, "%s/%s", fx->qdir, box);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void write_raw(const struct fixture *fx, const char *box, const char *name,
                      const char *data, size_t len)
{
	char path[600];
	int fd = -1;

	snprintf(path, sizeof path, "%s/%s/%s", fx->qdir, box, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640)) >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static bool exists(const struct fixture *fx, const char *box, const char *name)
{
	char path[600];

	snprintf(path, sizeof path, "%s/%s/%s", fx->qdir, box, name);
	return access(path, F_OK) == 0;
}

/* A finding; when t_ms > 0 the id and time are forced to that time. */
static json_t *finding(struct fixture *fx, const char *target, const char *sev,
                       int64_t t_ms, unsigned n)
{
	json_t *rec = dbk_record_new(fx->q, DBK_REC_FINDING, target, "default");
	char id[128];

	if (t_ms > 0) {
		snprintf(id, sizeof id, "%013lld.1_%u.testhost.json", (long long)t_ms, n);
		json_object_set_new(rec, "id", json_string(id));
		json_object_set_new(rec, "time_ms", json_integer(t_ms));
	}
	json_object_set_new(rec, "category", json_string("scratch"));
	if (sev != NULL)
		json_object_set_new(rec, "severity", json_string(sev));
	json_object_set_new(rec, "title", json_string("old scratch table"));
	return rec;
}

static const char *put(struct fixture *fx, json_t *rec)
{
	struct dbk_err err = { 0 };

	if (dbk_queue_put(fx->q, rec, &err) != 0)
		fail_msg("put: %s", err.msg);
	return json_string_value(json_object_get(rec, "id"));
}

static void test_record_new_fields(void **state)
{
	struct fixture *fx = *state;
	json_t *rec = dbk_record_new(fx->q, DBK_REC_ACTION, "db1", NULL);
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *when = json_string_value(json_object_get(rec, "time"));
	int64_t t = json_integer_value(json_object_get(rec, "time_ms"));
	char prefix[32];

	assert_int_equal(json_integer_value(json_object_get(rec, "schema")), DBK_RECORD_SCHEMA);
	assert_non_null(id);
	snprintf(prefix, sizeof prefix, "%013lld.%d_", (long long)t, (int)getpid());
	assert_memory_equal(id, prefix, strlen(prefix));
	assert_string_equal(id + strlen(id) - 5, ".json");
	assert_non_null(when);
	assert_int_equal(strlen(when), 24); /* 2026-11-23T17:00:00.123Z */
	assert_int_equal(when[10], 'T');
	assert_int_equal(when[23], 'Z');
	assert_string_equal(json_string_value(json_object_get(rec, "kind")), "action");
	assert_string_equal(json_string_value(json_object_get(rec, "target")), "db1");
	assert_true(json_is_null(json_object_get(rec, "policy")));
	assert_non_null(json_string_value(json_object_get(rec, "host")));
	for (const char *h = json_string_value(json_object_get(rec, "host")); *h; h++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                       "0123456789-", *h));
	json_decref(rec);

	assert_string_equal(dbk_rec_kind_name(DBK_REC_METRICS), "metrics");
	assert_null(dbk_rec_kind_name(99));
	assert_int_equal(dbk_rec_kind_parse("run"), DBK_REC_RUN);
	assert_int_equal(dbk_rec_kind_parse("Run"), -1);
	assert_int_equal(dbk_rec_kind_parse(NULL), -1);
}

static void test_put_scan_get_ack_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct dbk_queue_filter f;
	struct dbk_err err = { 0 };
	json_t *recs[3];
	const char *box = NULL;
	struct seen s;

	for (int i = 0; i < 3; i++)
		put(fx, recs[i] = finding(fx, "db1", "warning", 0, 0));
	scan(fx, NULL, &s);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(s.ids[i], json_string_value(json_object_get(recs[i], "id")));
		assert_string_equal(s.boxes[i], "new");
		assert_true(json_equal(json_array_get(s.recs, i), recs[i]));
	}
	assert_true(strcmp(s.ids[0], s.ids[1]) < 0 && strcmp(s.ids[1], s.ids[2]) < 0);
	seen_free(&s);

	json_t *got = dbk_queue_get(fx->q, json_string_value(json_object_get(recs[1], "id")),
	                            &box, &err);
	assert_non_null(got);
	assert_string_equal(box, "new");
	assert_true(json_equal(got, recs[1]));
	json_decref(got);

	assert_int_equal(dbk_queue_ack(fx->q, json_string_value(json_object_get(recs[1], "id")),
	                               &err), 0);
	dbk_queue_filter_init(&f);
	f.include_cur = false;
	scan(fx, &f, &s);
	assert_int_equal(s.n, 2);
	seen_free(&s);
	dbk_queue_filter_init(&f);
	f.include_new = false;
	scan(fx, &f, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.boxes[0], "cur");
	seen_free(&s);
	/* Both boxes: still in time order, the acked one in the middle. */
	scan(fx, NULL, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.boxes[1], "cur");
	seen_free(&s);

	got = dbk_queue_get(fx->q, json_string_value(json_object_get(recs[1], "id")), &box, &err);
	assert_non_null(got);
	assert_string_equal(box, "cur");
	json_decref(got);
	assert_int_equal(count_files(fx, "tmp"), 0);
	assert_int_equal(fx->warnings, 0);
	for (int i = 0; i < 3; i++)
		json_decref(recs[i]);
}

static void test_hostile_strings_round_trip(void **state)
{
	static const char *const cases[] = {
		"it's \"quoted\" and 'single'",
		"line1\nline2\r\n\ttabbed\f\b",
		"x`; DROP TABLE t;--",
		"tmp_x'); DROP TABLE students;--",
		"Ünïcødé 日本語 🚀 \xe2\x80\xae rtl override",
		"\x01\x02\x1b[31mred\x1b[0m\x7f",
		"back\\slash \\u0000 not a NUL",
		"{\"id\":\"fake\",\"kind\":\"run\"}",
		"",
		"../../etc/passwd",
	};
	struct fixture *fx = *state;
	char *big = malloc(100001);

	memset(big, 'x', 100000);
	big[100000] = '\0';
	for (size_t i = 0; i <= DBK_NELEM(cases); i++) {
		const char *str = i < DBK_NELEM(cases) ? cases[i] : big;
		json_t *rec = finding(fx, str, "info", 0, 0);
		struct dbk_queue_filter f;
		struct dbk_err err = { 0 };
		json_t *got = NULL;
		struct seen s;

		json_object_set_new(rec, "title", json_string(str));
		json_object_set_new(rec, "evidence", json_pack("{s:s, s:[s]}", str, str, "list", str));
		json_object_set_new(rec, "statement", json_string(str));
		put(fx, rec);
		got = dbk_queue_get(fx->q, json_string_value(json_object_get(rec, "id")), NULL, &err);
		assert_non_null(got);
		assert_true(json_equal(got, rec));
		assert_string_equal(json_string_value(json_object_get(got, "title")), str);
		json_decref(got);

		dbk_queue_filter_init(&f);
		f.target = str;
		scan(fx, &f, &s);
		assert_int_equal(s.n, 1);
		assert_true(json_equal(json_array_get(s.recs, 0), rec));
		seen_free(&s);
		json_decref(rec);
	}
	free(big);
	assert_int_equal(fx->warnings, 0);
}

static void test_filters(void **state)
{
	static const struct {
		const char *target;
		int kind;
		const char *sev;
		int64_t t;
	} recs[] = {
		{ "db1", DBK_REC_FINDING, "info", 1000 * DAY_MS },
		{ "db1", DBK_REC_FINDING, "warning", 1001 * DAY_MS },
		{ "db10", DBK_REC_FINDING, "critical", 1002 * DAY_MS }, /* decoy */
		{ "DB1", DBK_REC_FINDING, "critical", 1003 * DAY_MS },  /* decoy */
		{ "db1", DBK_REC_ACTION, NULL, 1004 * DAY_MS },
		{ "db1", DBK_REC_RUN, NULL, 1005 * DAY_MS },
		{ "db1", DBK_REC_FINDING, "bogus", 1006 * DAY_MS },
	};
	static const struct {
		const char *target;
		int kind, min_sev;
		int64_t since, until;
		unsigned want; /* bit i: recs[i] */
	} cases[] = {
		{ NULL, -1, -1, 0, 0, 0x7f },
		{ "db1", -1, -1, 0, 0, 0x73 },
		{ "db", -1, -1, 0, 0, 0x00 },
		{ NULL, DBK_REC_FINDING, -1, 0, 0, 0x4f },
		{ NULL, DBK_REC_ACTION, -1, 0, 0, 0x10 },
		{ NULL, DBK_REC_METRICS, -1, 0, 0, 0x00 },
		{ NULL, -1, 1, 0, 0, 0x0e },  /* warning and up */
		{ NULL, -1, 2, 0, 0, 0x0c },
		{ NULL, -1, 0, 0, 0, 0x0f },  /* no or unknown severity: out */
		{ "db1", DBK_REC_FINDING, 1, 0, 0, 0x02 },
		{ NULL, -1, -1, 1002 * DAY_MS, 0, 0x7c },
		{ NULL, -1, -1, 0, 1002 * DAY_MS, 0x03 },
		{ NULL, -1, -1, 1001 * DAY_MS, 1003 * DAY_MS, 0x06 },
		{ NULL, -1, -1, 1001 * DAY_MS + 1, 1003 * DAY_MS + 1, 0x0c },
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < DBK_NELEM(recs); i++) {
		json_t *rec = finding(fx, recs[i].target, recs[i].sev, recs[i].t, (unsigned)i);

		json_object_set_new(rec, "kind", json_string(dbk_rec_kind_name(recs[i].kind)));
		put(fx, rec);
		json_decref(rec);
	}
	for (size_t c = 0; c < DBK_NELEM(cases); c++) {
		struct dbk_queue_filter f;
		struct seen s;
		unsigned got = 0;

		dbk_queue_filter_init(&f);
		f.target = cases[c].target;
		f.kind = cases[c].kind;
		f.min_severity = cases[c].min_sev;
		f.since_ms = cases[c].since;
		f.until_ms = cases[c].until;
		scan(fx, &f, &s);
		for (unsigned j = 0; j < s.n; j++) {
			int64_t t = json_integer_value(json_object_get(json_array_get(s.recs, j),
			                                               "time_ms"));

			got |= 1u << (t / DAY_MS - 1000);
		}
		if (got != cases[c].want)
			fail_msg("filter case %zu: got 0x%02x, want 0x%02x", c, got, cases[c].want);
		seen_free(&s);
	}
}

/* Stops after the first record. */
static int first_only(void *ctx, const char *box, const char *id, json_t *rec)
{
	unsigned *n = ctx;

	(void)box;
	(void)id;
	(void)rec;
	(*n)++;
	return 1;
}

static void test_scan_stops_when_asked(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = { 0 };
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++) {
		json_t *rec = finding(fx, "db1", NULL, (1000 + i) * DAY_MS, i);

		put(fx, rec);
		json_decref(rec);
	}
	assert_int_equal(dbk_queue_scan(fx->q, NULL, first_only, NULL, &n, &err), 0);
	assert_int_equal(n, 1);
}

static void test_unreadable_files_go_to_bad(void **state)
{
	static const struct {
		const char *name;
		const char *data;
	} bad[] = {
		{ "0000000001000.1_1.h.json", "{\"id\":\"0000000001000.1_1.h.json\",\"kind\":\"fin" },
		{ "0000000001001.1_2.h.json", "" },
		{ "0000000001002.1_3.h.json", "[1,2,3]\n" },
		{ "0000000001003.1_4.h.json", "\"just a string\"" },
		{ "0000000001004.1_5.h.json", "{\"id\":\"0000000001004.1_5.h.json\",\"time_ms\":1004}" },
		{ "0000000001005.1_6.h.json", "{\"id\":\"a/b\",\"kind\":\"run\",\"time_ms\":1005}" },
		{ "0000000001006.1_7.h.json", "{\"id\":\"x.json\",\"kind\":\"run\",\"time_ms\":\"1006\"}" },
		{ "garbage.json", "\x89PNG\r\n\x1a\n\0\0\0binary" },
		{ "0000000001007.1_8.h.json", "{\"id\":\"x.json\",\"kind\":\"run\",\"time_ms\":1} trailing" },
	};
	struct fixture *fx = *state;
	json_t *good = finding(fx, "db1", "info", 0, 0);
	struct seen s;
	char path[600];

	put(fx, good);
	for (size_t i = 0; i < DBK_NELEM(bad); i++)
		write_raw(fx, "new", bad[i].name, bad[i].data,
		          i == 7 ? 17 : strlen(bad[i].data)); /* 7 holds NULs */
	write_raw(fx, "cur", "0000000001010.1_9.h.json", "{", 1);
	write_raw(fx, "new", "README", "not a record", 12);   /* ignored: not .json */
	write_raw(fx, "new", ".hidden.json", "{", 1);         /* ignored: hidden */
	snprintf(path, sizeof path, "%s/new/dir.json", fx->qdir);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof path, "%s/new/link.json", fx->qdir);
	assert_int_equal(symlink("/etc/passwd", path), 0);

	scan(fx, NULL, &s);
	assert_int_equal(s.n, 1);
	assert_true(json_equal(json_array_get(s.recs, 0), good));
	seen_free(&s);
	assert_int_equal(fx->warnings, DBK_NELEM(bad) + 3);
	assert_non_null(strstr(fx->last_warning, "queue reports: moved unreadable record "));
	assert_non_null(strstr(fx->last_warning, " to bad/: "));
	for (size_t i = 0; i < DBK_NELEM(bad); i++) {
		assert_true(exists(fx, "bad", bad[i].name));
		assert_false(exists(fx, "new", bad[i].name));
	}
	assert_true(exists(fx, "bad", "0000000001010.1_9.h.json"));
	assert_true(exists(fx, "bad", "dir.json"));
	assert_true(exists(fx, "bad", "link.json"));
	assert_true(exists(fx, "new", "README"));
	assert_true(exists(fx, "new", ".hidden.json"));

	/* Set aside once: a second scan is quiet. */
	fx->warnings = 0;
	scan(fx, NULL, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(fx->warnings, 0);
	seen_free(&s);
	json_decref(good);
}

static void test_tmp_leftovers_invisible_and_pruned(void **state)
{
	struct fixture *fx = *state;
	json_t *rec = finding(fx, "db1", "info", 0, 0);
	const char *id = json_string_value(json_object_get(rec, "id"));
	char *json = json_dumps(rec, JSON_COMPACT);
	struct dbk_err err = { 0 };
	struct timespec old[2] = { { .tv_sec = time(NULL) - 7200 },
	                           { .tv_sec = time(NULL) - 7200 } };
	char path[600];
	unsigned removed = 99;
	struct seen s;

	/* A writer that died after writing tmp/ but before the rename. */
	write_raw(fx, "tmp", id, json, strlen(json));
	write_raw(fx, "tmp", "fresh.json", json, strlen(json) / 2);
	scan(fx, NULL, &s);
	assert_int_equal(s.n, 0);
	seen_free(&s);
	assert_null(dbk_queue_get(fx->q, id, NULL, &err));

	assert_int_equal(dbk_queue_prune(fx->q, dbk_now_ms(), 90 * DAY_MS, &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(count_files(fx, "tmp"), 2); /* younger than an hour */
	snprintf(path, sizeof path, "%s/tmp/%s", fx->qdir, id);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_int_equal(dbk_queue_prune(fx->q, dbk_now_ms(), 90 * DAY_MS, &removed, &err), 0);
	assert_int_equal(removed, 0); /* not a record */
	assert_int_equal(count_files(fx, "tmp"), 1);
	assert_true(exists(fx, "tmp", "fresh.json"));
	free(json);
	json_decref(rec);
}

static void test_prune_by_age(void **state)
{
	struct fixture *fx = *state;
	int64_t now = dbk_now_ms();
	struct dbk_err err = { 0 };
	unsigned removed = 0;
	const char *old_acked = NULL;
	json_t *recs[4] = {
		finding(fx, "db1", "info", now - 100 * DAY_MS, 1),
		finding(fx, "db1", "info", now - 91 * DAY_MS, 2),
		finding(fx, "db1", "info", now - 89 * DAY_MS, 3),
		finding(fx, "db1", "info", 0, 4),
	};
	struct seen s;

	for (int i = 0; i < 4; i++)
		put(fx, recs[i]);
	old_acked = json_string_value(json_object_get(recs[1], "id"));
	assert_int_equal(dbk_queue_ack(fx->q, old_acked, &err), 0);
	assert_int_equal(dbk_queue_prune(fx->q, now, 90 * DAY_MS, &removed, &err), 0);
	assert_int_equal(removed, 2);
	scan(fx, NULL, &s);
	assert_int_equal(s.n, 2);
	assert_true(json_equal(json_array_get(s.recs, 0), recs[2]));
	assert_true(json_equal(json_array_get(s.recs, 1), recs[3]));
	seen_free(&s);
	assert_int_equal(dbk_queue_prune(fx->q, now, 90 * DAY_MS, &removed, &err), 0);
	assert_int_equal(removed, 0);
	for (int i = 0; i < 4; i++)
		json_decref(recs[i]);
}

static void test_ack_twice_and_bad_ids(void **state)
{
	static const char *const bad_ids[] = {
		"../new/x.json", "a/b.json", "/etc/passwd", ".hidden.json", ".", "..", "",
	};
	struct fixture *fx = *state;
	json_t *rec = finding(fx, "db1", "info", 0, 0);
	const char *id = put(fx, rec);
	struct dbk_err err = { 0 };

	assert_int_equal(dbk_queue_ack(fx->q, id, &err), 0);
	assert_int_equal(dbk_queue_ack(fx->q, id, &err), 0);
	assert_true(exists(fx, "cur", id));
	assert_false(exists(fx, "new", id));
	assert_int_equal(dbk_queue_ack(fx->q, "0000000000001.1_1.nohost.json", &err), -1);
	assert_non_null(strstr(err.msg, "no record 0000000000001.1_1.nohost.json"));
	for (size_t i = 0; i < DBK_NELEM(bad_ids); i++) {
		dbk_err_clear(&err);
		assert_int_equal(dbk_queue_ack(fx->q, bad_ids[i], &err), -1);
		assert_non_null(strstr(err.msg, "invalid record id"));
		assert_null(dbk_queue_get(fx->q, bad_ids[i], NULL, &err));
	}
	assert_int_equal(dbk_queue_ack(fx->q, NULL, &err), -1);
	json_decref(rec);
}

static void test_put_refuses_incomplete_records(void **state)
{
	struct fixture *fx = *state;
	json_t *cases[] = {
		json_pack("{s:s, s:i}", "kind", "run", "time_ms", 5),
		json_pack("{s:s, s:i}", "id", "0000000000005.1_1.h.json", "time_ms", 5),
		json_pack("{s:s, s:s}", "id", "0000000000005.1_1.h.json", "kind", "run"),
		json_pack("{s:s, s:s, s:s}", "id", "0000000000005.1_1.h.json", "kind", "run",
		          "time_ms", "5"),
		json_pack("{s:s, s:s, s:i}", "id", "0000000000005.1_1.h.json", "kind", "nonsense",
		          "time_ms", 5),
		json_pack("{s:s, s:s, s:i}", "id", "../escape.json", "kind", "run", "time_ms", 5),
		json_pack("{s:s, s:s, s:i}", "id", "noext", "kind", "run", "time_ms", 5),
		json_pack("[i]", 1),
		dbk_record_new(fx->q, 42, "db1", NULL), /* unknown kind */
		NULL,
	};
	json_t *huge = finding(fx, "db1", "info", 0, 0);
	char *blob = malloc(1100000);

	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_err err = { 0 };

		assert_int_equal(dbk_queue_put(fx->q, cases[i], &err), -1);
		assert_non_null(strstr(err.msg, "refusing record"));
		json_decref(cases[i]);
	}
	memset(blob, 'y', 1099999);
	blob[1099999] = '\0';
	json_object_set_new(huge, "evidence", json_string(blob));
	{
		struct dbk_err err = { 0 };

		assert_int_equal(dbk_queue_put(fx->q, huge, &err), -1);
		assert_non_null(strstr(err.msg, "1 MiB"));
	}
	assert_int_equal(count_files(fx, "new"), 0);
	assert_int_equal(count_files(fx, "tmp"), 0);
	free(blob);
	json_decref(huge);
}

static void test_duplicate_id_refused(void **state)
{
	struct fixture *fx = *state;
	json_t *a = finding(fx, "db1", "info", 5000, 1);
	json_t *b = finding(fx, "db2", "info", 5000, 1); /* same forced id */
	struct dbk_err err = { 0 };
	json_t *got = NULL;

	put(fx, a);
	assert_int_equal(dbk_queue_put(fx->q, b, &err), -1);
	got = dbk_queue_get(fx->q, json_string_value(json_object_get(a, "id")), NULL, &err);
	assert_true(json_equal(got, a));
	assert_int_equal(count_files(fx, "tmp"), 0);
	json_decref(got);
	json_decref(a);
	json_decref(b);
}

static void test_open_refuses_bad_names(void **state)
{
	static const char *const names[] = { "../x", "a/b", ".", "..", "", ".hidden" };
	struct fixture *fx = *state;

	for (size_t i = 0; i < DBK_NELEM(names); i++) {
		struct dbk_err err = { 0 };

		assert_null(dbk_queue_open(fx->dir, names[i], &err));
		assert_true(err.msg[0] != '\0');
	}
	assert_null(dbk_queue_open(fx->dir, NULL, NULL));
	dbk_queue_close(NULL);
}

/* ---- the `queue` subcommand ---- */

struct captured {
	int rc;
	char out[65536];
	char err[8192];
};

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs dbk_cmd_queue with stdout and stderr captured in files. */
static void run_cmd(struct fixture *fx, struct captured *c, bool json, int argc, ...)
{
	struct dbk_config cfg = { .queue_dir = fx->dir, .retention_s = 90 * 86400 };
	char *argv[16] = { NULL };
	char out[400], errp[400];
	int saved_out = dup(1), saved_err = dup(2), fo = -1, fe = -1;
	va_list ap;

	assert_true(argc < 16);
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	snprintf(out, sizeof out, "%s/stdout", fx->dir);
	snprintf(errp, sizeof errp, "%s/stderr", fx->dir);
	fflush(stdout);
	fflush(stderr);
	fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	c->rc = dbk_cmd_queue(&cfg, argc, argv, json);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(fo);
	close(fe);
	close(saved_out);
	close(saved_err);
	slurp(out, c->out, sizeof c->out);
	slurp(errp, c->err, sizeof c->err);
	unlink(out);
	unlink(errp);
}

static void test_cmd_usage_errors(void **state)
{
	struct fixture *fx = *state;
	struct captured *c = calloc(1, sizeof *c);

	run_cmd(fx, c, false, 0);
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 1, "frobnicate");
	assert_int_equal(c->rc, 2);
	assert_non_null(strstr(c->err, "dbkeeper: queue: unknown subcommand 'frobnicate'"));
	run_cmd(fx, c, false, 2, "list", "--bogus");
	assert_int_equal(c->rc, 2);
	assert_non_null(strstr(c->err, "dbkeeper: queue list: unknown option '--bogus'"));
	assert_non_null(strstr(c->err, "usage: dbkeeper queue"));
	run_cmd(fx, c, false, 2, "list", "--target");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 3, "list", "--kind", "nonsense");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 3, "list", "--severity", "loud");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 3, "list", "--since", "soon");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 2, "list", "extra");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 1, "show");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 1, "ack");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 3, "ack", "--all", "x.json");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 4, "ack", "--target", "db1", "x.json");
	assert_int_equal(c->rc, 2);
	run_cmd(fx, c, false, 2, "prune", "--kind=run");
	assert_int_equal(c->rc, 2);
	assert_non_null(strstr(c->err, "does not apply"));
	run_cmd(fx, c, false, 2, "list", "--help");
	assert_int_equal(c->rc, 0);
	assert_non_null(strstr(c->out, "usage: dbkeeper queue"));
	free(c);
}

static void test_cmd_list_show_ack_prune(void **state)
{
	struct fixture *fx = *state;
	struct captured *c = calloc(1, sizeof *c);
	json_t *a = finding(fx, "db1", "critical", 0, 0);
	json_t *b = finding(fx, "db2\n\x1b[2Jevil", "info", 0, 0);
	json_t *old = finding(fx, "db1", "info", dbk_now_ms() - 400 * DAY_MS, 7);
	json_t *mid = finding(fx, "db1", "info", dbk_now_ms() - 2 * DAY_MS, 8);
	char ida[128], idb[128];
	json_t *arr = NULL;

	json_object_set_new(b, "title", json_string("title with\nnewline and \x1b[31mescape"));
	snprintf(ida, sizeof ida, "%s", put(fx, a));
	snprintf(idb, sizeof idb, "%s", put(fx, b));
	put(fx, old);
	put(fx, mid);
	write_raw(fx, "new", "0000000002000.1_1.h.json", "{broken", 7);

	run_cmd(fx, c, false, 1, "list");
	assert_int_equal(c->rc, 0);
	assert_non_null(strstr(c->out, "ID"));
	assert_non_null(strstr(c->out, "STATUS"));
	assert_non_null(strstr(c->out, ida));
	assert_non_null(strstr(c->out, "critical"));
	assert_null(strchr(c->out, '\x1b'));         /* no terminal escapes */
	assert_int_equal(strchr(c->out, '\n') - c->out > 0, 1);
	{
		unsigned lines = 0;

		for (const char *p = c->out; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 5);              /* header + 4 records */
	}
	assert_non_null(strstr(c->err, "dbkeeper: warning: queue reports: moved unreadable"));

	run_cmd(fx, c, true, 4, "list", "--target", "db1", "--severity=warning");
	assert_int_equal(c->rc, 0);
	assert_non_null(arr = json_loads(c->out, 0, NULL));
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "box")), "new");
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "id")), ida);
	json_decref(arr);

	run_cmd(fx, c, false, 4, "list", "--since", "1d", "--json");
	assert_int_equal(c->rc, 0);
	assert_non_null(arr = json_loads(c->out, 0, NULL));
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);

	run_cmd(fx, c, false, 2, "show", ida);
	assert_int_equal(c->rc, 0);
	assert_non_null(arr = json_loads(c->out, 0, NULL));
	assert_true(json_equal(arr, a));
	json_decref(arr);
	run_cmd(fx, c, false, 3, "show", ida, "0000000000001.1_1.none.json");
	assert_int_equal(c->rc, 3);
	assert_non_null(strstr(c->err, "dbkeeper: queue reports: no record 0000000000001.1_1.none.json"));

	run_cmd(fx, c, false, 2, "ack", idb);
	assert_int_equal(c->rc, 0);
	assert_string_equal(c->out, "acked 1 record\n");
	run_cmd(fx, c, true, 2, "list", "--new");
	assert_non_null(arr = json_loads(c->out, 0, NULL));
	assert_int_equal(json_array_size(arr), 3);
	json_decref(arr);
	run_cmd(fx, c, true, 2, "list", "--cur");
	assert_non_null(arr = json_loads(c->out, 0, NULL));
	assert_int_equal(json_array_size(arr), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "box")), "cur");
	json_decref(arr);
	run_cmd(fx, c, false, 4, "ack", "--all", "--target", "db1");
	assert_int_equal(c->rc, 0);
	assert_string_equal(c->out, "acked 3 records\n");
	run_cmd(fx, c, true, 2, "list", "--new");
	assert_string_equal(c->out, "[]\n");

	run_cmd(fx, c, false, 1, "prune");
	assert_int_equal(c->rc, 0);
	assert_string_equal(c->out, "removed 1 record\n");
	run_cmd(fx, c, false, 3, "prune", "--retention", "1d");
	assert_int_equal(c->rc, 0);
	assert_string_equal(c->out, "removed 1 record\n"); /* mid */
	run_cmd(fx, c, true, 3, "--queue", "other", "prune");
	assert_int_equal(c->rc, 2); /* options follow the subcommand */
	run_cmd(fx, c, true, 3, "prune", "--queue", "other");
	assert_int_equal(c->rc, 0);
	assert_string_equal(c->out, "{\"removed\": 0}\n");
	free(c);
	json_decref(a);
	json_decref(b);
	json_decref(old);
	json_decref(mid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_new_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_scan_get_ack_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_strings_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_stops_when_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_files_go_to_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_leftovers_invisible_and_pruned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_twice_and_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_refuses_incomplete_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_id_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_list_show_ack_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
