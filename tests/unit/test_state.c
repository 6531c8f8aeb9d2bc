/* tests/unit/test_state.c: the per-target state (agent/state.c): first-seen
 * times across observations and re-created tables, write counters, last
 * runs, carried keys, metrics, save/load with hostile names, corrupt files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

struct fixture {
	char dir[256];
	char sdir[300]; /* dir/state: not created beforehand */
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

	snprintf(fx->dir, sizeof fx->dir, "%s/dbk-test-state-XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->sdir, sizeof fx->sdir, "%s/state", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Table names an engine may well allow; several are decoys of each other
 * if keys were joined with a separator. */
static const struct {
	const char *schema;
	const char *name;
} hostile[] = {
	{ "public", "tmp_x" },
	{ "public", "tmp \"quoted\" 'x'" },
	{ "public", "a.b" },
	{ "public.a", "b" },
	{ "public", "line\nbreak\ttab" },
	{ "app", "x`; DROP TABLE t;--" },
	{ "app", "Ünïcødé 日本語 🚀" },
	{ "app", "latin1 \xe9t\xe9 \xff\xfe" },   /* not UTF-8 */
	{ "app", "%6C" },                         /* looks like an encoding */
	{ "app", "%" },
	{ "app", "l" },
	{ "\xc0\xaf", "overlong" },
	{ "", "empty schema" },
	{ "s", "" },
};

static struct dbk_table_list *tables_of(size_t n, const char *const *schemas,
                                        const char *const *names, const uint64_t *ids,
                                        const int64_t *writes)
{
	struct dbk_table_list *l = calloc(1, sizeof *l);

	l->n = n;
	l->v = calloc(n ? n : 1, sizeof *l->v);
	for (size_t i = 0; i < n; i++) {
		l->v[i].schema = schemas[i];
		l->v[i].name = names[i];
		l->v[i].id = ids ? ids[i] : 0;
		l->v[i].write_count = writes ? writes[i] : -1;
	}
	return l;
}

static void tables_free(struct dbk_table_list *l)
{
	free(l->v);
	free(l);
}

static struct dbk_table_list *hostile_tables(int64_t write_base)
{
	const char *schemas[DBK_NELEM(hostile)], *names[DBK_NELEM(hostile)];
	uint64_t ids[DBK_NELEM(hostile)];
	int64_t writes[DBK_NELEM(hostile)];

	for (size_t i = 0; i < DBK_NELEM(hostile); i++) {
		schemas[i] = hostile[i].schema;
		names[i] = hostile[i].name;
		ids[i] = 1000 + i;
		writes[i] = write_base + (int64_t)i;
	}
	return tables_of(DBK_NELEM(hostile), schemas, names, ids, writes);
}

static void test_first_seen_and_recreated_tables(void **state)
{
	struct dbk_state *st = dbk_state_new_empty();
	const char *s3[] = { "public", "public", "app" };
	const char *n3[] = { "tmp_a", "tmp_b", "tmp_a" };
	uint64_t ids[] = { 10, 11, 12 };
	struct dbk_table_list *l = tables_of(3, s3, n3, ids, NULL);

	(void)state;
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 0);
	dbk_state_observe_tables(st, l, 1000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 1000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 0), 1000);
	assert_int_equal(dbk_state_first_seen(st, "app", "tmp_a", 12), 1000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_c", 0), 0);
	assert_int_equal(dbk_state_first_seen(st, "publi", "ctmp_a", 0), 0);

	/* Seen again later: first_seen is kept. */
	dbk_state_observe_tables(st, l, 2000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 1000);

	/* tmp_b dropped and re-created under the same name: a new table. */
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_b", 99), 0);
	l->v[1].id = 99;
	dbk_state_observe_tables(st, l, 3000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_b", 99), 3000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_b", 11), 0);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 1000);

	/* Not observed (NULL list): nothing is forgotten. */
	dbk_state_observe_tables(st, NULL, 4000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 1000);

	/* tmp_a vanishes; when it comes back it is new. */
	l->n = 2;
	l->v[0] = l->v[2];
	dbk_state_observe_tables(st, l, 5000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 0);
	assert_int_equal(dbk_state_first_seen(st, "app", "tmp_a", 12), 1000);
	l->n = 3;
	l->v[0].schema = "public";
	l->v[0].id = 10;
	dbk_state_observe_tables(st, l, 6000);
	assert_int_equal(dbk_state_first_seen(st, "public", "tmp_a", 10), 6000);

	/* An empty list forgets everything. */
	l->n = 0;
	dbk_state_observe_tables(st, l, 7000);
	assert_int_equal(dbk_state_first_seen(st, "app", "tmp_a", 12), 0);
	tables_free(l);
	dbk_state_free(st);
	dbk_state_free(NULL);
}

static void test_prev_writes(void **state)
{
	struct dbk_state *st = dbk_state_new_empty();
	const char *s[] = { "public", "public" };
	const char *n[] = { "known", "unknown" };
	uint64_t ids[] = { 1, 2 };
	int64_t writes[] = { 42, -1 };
	struct dbk_table_list *l = tables_of(2, s, n, ids, writes);
	int64_t w = 7;

	(void)state;
	assert_false(dbk_state_prev_writes(st, "public", "known", 1, &w));
	dbk_state_observe_tables(st, l, 100);
	assert_true(dbk_state_prev_writes(st, "public", "known", 1, &w));
	assert_int_equal(w, 42);
	w = 7;
	assert_false(dbk_state_prev_writes(st, "public", "unknown", 2, &w));
	assert_int_equal(w, 7); /* untouched */
	assert_false(dbk_state_prev_writes(st, "public", "known", 3, &w)); /* other id */
	l->v[0].write_count = 0;
	dbk_state_observe_tables(st, l, 200);
	assert_true(dbk_state_prev_writes(st, "public", "known", 1, &w));
	assert_int_equal(w, 0);
	tables_free(l);
	dbk_state_free(st);
}

static void test_last_run_carried_metrics(void **state)
{
	struct dbk_state *st = dbk_state_new_empty();
	const char *keys[] = { "drop:public.tmp_a", "rebuild:\"x\".\"y\"", "k\n;DROP",
	                       "\xff bad utf8" };
	struct dbk_metric mv[] = {
		{ .name = "xact_commit", .labels = "db=app", .value = 1e12 },
		{ .name = "xact_commit", .labels = NULL, .value = 5 },
		{ .name = "nan", .labels = NULL, .value = NAN },
		{ .name = "conn \"quoted\"", .labels = "db=\xff", .value = -2.5 },
	};
	struct dbk_metric_list ml = { .n = DBK_NELEM(mv), .v = mv };
	double v = 0;
	int64_t at = 0;

	(void)state;
	assert_int_equal(dbk_state_last_run(st, "default", "scratch"), 0);
	dbk_state_set_last_run(st, "default", "scratch", 111);
	dbk_state_set_last_run(st, "default", "logs", 222);
	dbk_state_set_last_run(st, "other.policy", "scratch", 333);
	dbk_state_set_last_run(st, "default", "scratch", 444);
	assert_int_equal(dbk_state_last_run(st, "default", "scratch"), 444);
	assert_int_equal(dbk_state_last_run(st, "default", "logs"), 222);
	assert_int_equal(dbk_state_last_run(st, "other.policy", "scratch"), 333);
	assert_int_equal(dbk_state_last_run(st, "other", "policy.scratch"), 0);

	assert_false(dbk_state_is_carried(st, keys[0]));
	dbk_state_set_carried(st, keys, DBK_NELEM(keys));
	for (size_t i = 0; i < DBK_NELEM(keys); i++)
		assert_true(dbk_state_is_carried(st, keys[i]));
	assert_false(dbk_state_is_carried(st, "drop:public.tmp_b"));
	dbk_state_set_carried(st, keys + 1, 1);
	assert_false(dbk_state_is_carried(st, keys[0]));
	assert_true(dbk_state_is_carried(st, keys[1]));

	assert_false(dbk_state_prev_metric(st, "xact_commit", "db=app", &v, &at));
	dbk_state_set_metrics(st, &ml, 900);
	assert_true(dbk_state_prev_metric(st, "xact_commit", "db=app", &v, &at));
	assert_true(v == 1e12);
	assert_int_equal(at, 900);
	assert_true(dbk_state_prev_metric(st, "xact_commit", NULL, &v, &at));
	assert_true(v == 5);
	assert_false(dbk_state_prev_metric(st, "xact_commit", "db=other", &v, &at));
	assert_false(dbk_state_prev_metric(st, "nan", NULL, &v, &at));
	assert_true(dbk_state_prev_metric(st, "conn \"quoted\"", "db=\xff", &v, &at));
	assert_true(v == -2.5);
	dbk_state_set_metrics(st, NULL, 1000);
	assert_false(dbk_state_prev_metric(st, "xact_commit", NULL, &v, &at));
	dbk_state_free(st);
}

static void test_save_load_round_trip(void **state)
{
	struct fixture *fx = *state;
	static const char *const targets[] = { "db1", "../escape/t", ".hidden", "a%2Fb",
	                                       "a/b", "t\nnl" };
	const char *keys[] = { "drop:\"public\".\"a.b\"", "\xfe" };
	struct dbk_metric mv[] = { { .name = "tps", .labels = "db=\"x\"", .value = 3.25 } };
	struct dbk_metric_list ml = { .n = 1, .v = mv };

	for (size_t t = 0; t < DBK_NELEM(targets); t++) {
		struct dbk_err err = { .code = 77, .msg = "stale" };
		struct dbk_table_list *l = hostile_tables(500);
		struct dbk_state *st = dbk_state_load(fx->sdir, targets[t], &err);
		double v = 0;
		int64_t at = 0, w = 0;

		assert_non_null(st);
		assert_string_equal(err.msg, ""); /* missing file: no warning */
		dbk_state_observe_tables(st, l, 1000 + (int64_t)t);
		dbk_state_set_last_run(st, "pol \"1\"", "scratch", 55);
		dbk_state_set_carried(st, keys, 2);
		dbk_state_set_metrics(st, &ml, 66);
		assert_int_equal(dbk_state_save(st, &err), 0);
		dbk_state_free(st);

		assert_non_null(st = dbk_state_load(fx->sdir, targets[t], &err));
		assert_string_equal(err.msg, "");
		for (size_t i = 0; i < DBK_NELEM(hostile); i++) {
			assert_int_equal(dbk_state_first_seen(st, hostile[i].schema, hostile[i].name,
			                                      1000 + i), 1000 + (int64_t)t);
			assert_true(dbk_state_prev_writes(st, hostile[i].schema, hostile[i].name,
			                                  1000 + i, &w));
			assert_int_equal(w, 500 + (int64_t)i);
		}
		/* Separator decoys stay apart. */
		assert_int_equal(dbk_state_first_seen(st, "public.a", "b", 1003), 1000 + (int64_t)t);
		assert_int_equal(dbk_state_first_seen(st, "public.a", "b", 1002), 0);
		assert_int_equal(dbk_state_first_seen(st, "app", "%6C", 1008), 1000 + (int64_t)t);
		assert_int_equal(dbk_state_first_seen(st, "app", "l", 1008), 0);
		assert_int_equal(dbk_state_first_seen(st, "app", "%", 1010), 0);
		assert_int_equal(dbk_state_last_run(st, "pol \"1\"", "scratch"), 55);
		assert_true(dbk_state_is_carried(st, keys[0]));
		assert_true(dbk_state_is_carried(st, keys[1]));
		assert_true(dbk_state_prev_metric(st, "tps", "db=\"x\"", &v, &at));
		assert_true(v == 3.25);
		assert_int_equal(at, 66);
		dbk_state_free(st);
		tables_free(l);
	}
	/* Every file stayed inside the state directory, one per target. */
	{
		DIR *d = opendir(fx->sdir);
		struct dirent *de = NULL;
		unsigned n = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			assert_non_null(strstr(de->d_name, ".state.json"));
			assert_true(de->d_name[0] != '.');
			n++;
		}
		closedir(d);
		assert_int_equal(n, DBK_NELEM(targets));
	}
	{
		char path[400];
		struct stat sb;

		snprintf(path, sizeof path, "%s/db1.state.json", fx->sdir);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777 & ~0640, 0);
		assert_int_equal(stat(fx->sdir, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
	}
}

static void write_state(const struct fixture *fx, const char *target, const char *data)
{
	char path[400];
	FILE *f = NULL;

	mkdir(fx->sdir, 0750);
	snprintf(path, sizeof path, "%s/%s.state.json", fx->sdir, target);
	assert_non_null(f = fopen(path, "w"));
	fputs(data, f);
	fclose(f);
}

static unsigned count_prefix(const struct fixture *fx, const char *prefix)
{
	DIR *d = opendir(fx->sdir);
	struct dirent *de = NULL;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void test_corrupt_files(void **state)
{
	static const char *const bad[] = {
		"{\"schema\":1,\"tables\":{\"public\":{\"t\":{\"id\":1,\"first_s",
		"",
		"[]",
		"null",
		"{\"schema\":2,\"tables\":{},\"last_run\":{},\"carried\":[],\"metrics\":{}}",
		"{\"schema\":1,\"tables\":[],\"last_run\":{},\"carried\":[],\"metrics\":{}}",
		"{\"schema\":1,\"tables\":{\"s\":{\"t\":{\"id\":1}}},\"last_run\":{},"
		"\"carried\":[],\"metrics\":{}}",
		"{\"schema\":1,\"tables\":{\"s\":{\"t\":{\"id\":1,\"first_seen\":\"x\",\"writes\":1,"
		"\"seen_at\":1}}},\"last_run\":{},\"carried\":[],\"metrics\":{}}",
		"{\"schema\":1,\"tables\":{},\"last_run\":{\"p\":{\"t\":\"x\"}},\"carried\":[],"
		"\"metrics\":{}}",
		"{\"schema\":1,\"tables\":{},\"last_run\":{},\"carried\":[1],\"metrics\":{}}",
		"\x89PNG\r\n",
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < DBK_NELEM(bad); i++) {
		char target[32];
		struct dbk_err err = { 0 };
		struct dbk_state *st = NULL;

		snprintf(target, sizeof target, "t%zu", i);
		write_state(fx, target, bad[i]);
		st = dbk_state_load(fx->sdir, target, &err);
		assert_non_null(st);
		assert_int_equal(err.code, DBK_E_IO);
		assert_non_null(strstr(err.msg, "corrupt"));
		assert_int_equal(dbk_state_first_seen(st, "s", "t", 1), 0);
		assert_int_equal(dbk_state_last_run(st, "p", "t"), 0);
		/* Moved aside; the next load starts clean, quietly. */
		{
			char prefix[64];

			snprintf(prefix, sizeof prefix, "%s.state.json.corrupt.", target);
			assert_int_equal(count_prefix(fx, prefix), 1);
		}
		assert_int_equal(dbk_state_save(st, &err), 0);
		dbk_state_free(st);
		st = dbk_state_load(fx->sdir, target, &err);
		assert_non_null(st);
		assert_string_equal(err.msg, "");
		dbk_state_free(st);
	}
}

static void test_valid_file_from_disk(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = { 0 };
	struct dbk_state *st = NULL;
	int64_t w = 0;

	write_state(fx, "db", "{\"schema\":1,\"target\":\"db\",\"tables\":{\"public\":{\"t\":"
	            "{\"id\":7,\"first_seen\":123,\"writes\":9,\"seen_at\":456}}},"
	            "\"last_run\":{\"p\":{\"scratch\":77}},\"carried\":[\"k\"],"
	            "\"metrics\":{\"at\":5,\"values\":[{\"name\":\"m\",\"labels\":null,"
	            "\"value\":1}]}}\n");
	assert_non_null(st = dbk_state_load(fx->sdir, "db", &err));
	assert_string_equal(err.msg, "");
	assert_int_equal(dbk_state_first_seen(st, "public", "t", 7), 123);
	assert_true(dbk_state_prev_writes(st, "public", "t", 7, &w));
	assert_int_equal(w, 9);
	assert_int_equal(dbk_state_last_run(st, "p", "scratch"), 77);
	assert_true(dbk_state_is_carried(st, "k"));
	dbk_state_free(st);
}

static void test_save_without_directory(void **state)
{
	struct dbk_state *st = dbk_state_new_empty();
	struct dbk_err err = { 0 };

	(void)state;
	assert_int_equal(dbk_state_save(st, &err), -1);
	assert_true(err.msg[0] != '\0');
	dbk_state_free(st);
}

static void test_unreadable_directory_is_an_error(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = { 0 };
	char path[400];
	FILE *f = NULL;

	/* A plain file where the state directory should be. */
	snprintf(path, sizeof path, "%s/notadir", fx->dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(path, sizeof path, "%s/notadir/state", fx->dir);
	assert_null(dbk_state_load(path, "db", &err));
	assert_true(err.msg[0] != '\0');
}

/* Index size baselines survive a save and load; one stored without an id
 * (after a concurrent rebuild) takes the observed index's id, and one
 * whose index is gone or re-created under another id is forgotten. */
static void test_index_baselines(void **state)
{
	struct fixture *fx = *state;
	struct dbk_err err = { 0 };
	struct dbk_state *st = dbk_state_load(fx->sdir, "db", &err);
	struct dbk_index v[2] = {
		{ .schema = "app", .table = "t", .name = "ix \"a\"", .id = 77 },
		{ .schema = "app", .table = "t", .name = "ix_b", .id = 90 },
	};
	struct dbk_index_list il = { 2, v };
	double bpr = 0;
	int64_t at = 0;

	assert_non_null(st);
	assert_false(dbk_state_index_baseline(st, "app", "ix \"a\"", 77, &bpr, &at));
	dbk_state_set_index_baseline(st, "app", "ix \"a\"", 0, 12.5, 1000);
	dbk_state_set_index_baseline(st, "app", "ix_b", 89, 30.0, 1001);
	dbk_state_set_index_baseline(st, "app", "ix_gone", 5, 30.0, 1002);
	dbk_state_set_index_baseline(st, "app", "ix_zero", 6, 0.0, 1003);
	assert_int_equal(dbk_state_save(st, &err), 0);
	dbk_state_free(st);

	assert_non_null(st = dbk_state_load(fx->sdir, "db", &err));
	assert_string_equal(err.msg, "");
	assert_true(dbk_state_index_baseline(st, "app", "ix \"a\"", 77, &bpr, &at));
	assert_true(bpr == 12.5);
	assert_int_equal(at, 1000);
	assert_true(dbk_state_index_baseline(st, "app", "ix_b", 89, &bpr, &at));
	assert_false(dbk_state_index_baseline(st, "app", "ix_b", 90, &bpr, &at));
	assert_false(dbk_state_index_baseline(st, "app", "ix_zero", 6, &bpr, &at));
	assert_false(dbk_state_index_baseline(st, "other", "ix_b", 89, &bpr, &at));

	dbk_state_bind_index_baselines(st, &il);
	assert_true(dbk_state_index_baseline(st, "app", "ix \"a\"", 77, &bpr, &at));
	assert_false(dbk_state_index_baseline(st, "app", "ix \"a\"", 78, &bpr, &at));
	assert_false(dbk_state_index_baseline(st, "app", "ix_b", 89, &bpr, &at));
	assert_false(dbk_state_index_baseline(st, "app", "ix_gone", 5, &bpr, &at));
	dbk_state_bind_index_baselines(st, NULL); /* nothing changes */
	assert_true(dbk_state_index_baseline(st, "app", "ix \"a\"", 77, &bpr, &at));
	assert_int_equal(dbk_state_save(st, &err), 0);
	dbk_state_free(st);
	assert_non_null(st = dbk_state_load(fx->sdir, "db", &err));
	assert_true(dbk_state_index_baseline(st, "app", "ix \"a\"", 77, &bpr, &at));
	assert_true(bpr == 12.5);
	dbk_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_seen_and_recreated_tables),
		cmocka_unit_test(test_prev_writes),
		cmocka_unit_test(test_last_run_carried_metrics),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_file_from_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_baselines, setup, teardown),
		cmocka_unit_test(test_save_without_directory),
		cmocka_unit_test_setup_teardown(test_unreadable_directory_is_an_error, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
