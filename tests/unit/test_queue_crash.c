/* tests/unit/test_queue_crash.c: the queue crash test. A writer process puts
 * records in a loop and reports each id through a pipe once dbk_queue_put
 * returned; the test SIGKILLs it at random points, many times. Afterwards
 * every file in new/ must parse as a complete record, every reported id must
 * be there, tmp/ leftovers must stay invisible and bad/ must be empty.
 * Randomness decides only when to kill; nothing here measures time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

#define ROUNDS 240
#define MAX_READ_BEFORE_KILL 20

struct ids {
	size_t n, cap;
	char **v;
};

static void ids_add(struct ids *s, const char *id, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		assert_non_null(s->v);
	}
	s->v[s->n] = strndup(id, len);
	assert_non_null(s->v[s->n]);
	s->n++;
}

static void ids_free(struct ids *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* xorshift64*: a seeded generator, so a failing run can be replayed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* A payload whose size and content follow from n, so the reader can tell
 * a complete record from a damaged one. */
static char *payload(int64_t n)
{
	size_t len = (size_t)((n * 7919) % 6000) + 1;
	char *p = malloc(len + 1);

	if (p == NULL)
		abort(); /* also runs in the writer, outside cmocka */
	for (size_t i = 0; i < len; i++)
		p[i] = "abcdefghijklmnopqrstuvwxyz\"\\\n\t'`;"[(i + (size_t)n) % 34];
	p[len] = '\0';
	return p;
}

/* The child: put records until killed; report each id once it is on disk. */
static void writer(const char *dir, int out)
{
	struct dbk_err err = { 0 };
	struct dbk_queue *q = dbk_queue_open(dir, "reports", &err);

	if (q == NULL)
		_exit(2);
	for (int64_t n = 0;; n++) {
		json_t *rec = dbk_record_new(q, DBK_REC_ACTION, "db1", "crash");
		char *p = payload(n);
		const char *id = json_string_value(json_object_get(rec, "id"));
		char line[256];
		int len = 0;

		json_object_set_new(rec, "n", json_integer(n));
		json_object_set_new(rec, "payload", json_string(p));
		json_object_set_new(rec, "outcome", json_string("done"));
		if (dbk_queue_put(q, rec, &err) != 0)
			_exit(3);
		len = snprintf(line, sizeof line, "%s\n", id);
		/* Below PIPE_BUF, so the line arrives whole or not at all. */
		if (write(out, line, (size_t)len) != len)
			_exit(4);
		free(p);
		json_decref(rec);
	}
}

/* Reads id lines from fd into got; stops after max lines (max < 0: until
 * EOF). A trailing partial line never counts as reported. */
struct reader {
	char buf[8192];
	size_t used;
};

static size_t read_ids(int fd, struct reader *r, long max, struct ids *got)
{
	size_t lines = 0;

	for (;;) {
		char *nl = NULL;
		ssize_t n = 0;

		while (max != 0 && (nl = memchr(r->buf, '\n', r->used)) != NULL) {
			size_t len = (size_t)(nl - r->buf);

			ids_add(got, r->buf, len);
			memmove(r->buf, nl + 1, r->used - len - 1);
			r->used -= len + 1;
			lines++;
			if (max > 0)
				max--;
		}
		if (max == 0)
			return lines;
		n = read(fd, r->buf + r->used, sizeof r->buf - r->used);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			return lines;
		r->used += (size_t)n;
	}
}

static void random_delay(uint64_t *seed)
{
	struct timespec ts = { 0, (long)(rnd(seed) % 2000) * 1000 };

	nanosleep(&ts, NULL);
}

/* One round: start a writer, kill it at a random point, collect every id it
 * reported before dying. */
static void one_round(const char *dir, uint64_t *seed, struct ids *reported)
{
	int fds[2];
	pid_t pid = 0;
	int status = 0;
	struct reader *r = calloc(1, sizeof *r);
	uint64_t mode = rnd(seed) % 10;

	assert_non_null(r);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		writer(dir, fds[1]);
	}
	close(fds[1]);
	if (mode != 0) /* mode 0: kill before the first record */
		read_ids(fds[0], r, (long)(rnd(seed) % (MAX_READ_BEFORE_KILL + 1)), reported);
	if (mode >= 7)
		random_delay(seed);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("writer exited on its own (status %d)", WEXITSTATUS(status));
	read_ids(fds[0], r, -1, reported); /* written before it died */
	close(fds[0]);
	free(r);
}

struct verify {
	size_t records;
	unsigned warnings;
};

static int check_record(void *ctx, const char *box, const char *id, json_t *rec)
{
	struct verify *v = ctx;
	int64_t n = json_integer_value(json_object_get(rec, "n"));
	char *p = payload(n);

	assert_string_equal(box, "new");
	assert_string_equal(json_string_value(json_object_get(rec, "id")), id);
	assert_string_equal(json_string_value(json_object_get(rec, "payload")), p);
	assert_string_equal(json_string_value(json_object_get(rec, "outcome")), "done");
	free(p);
	v->records++;
	return 0;
}

static void count_warning(void *ctx, const char *msg)
{
	struct verify *v = ctx;

	print_message("unexpected warning: %s\n", msg);
	v->warnings++;
}

/* Names in dir/reports/box (no dot entries). */
static void list_names(const char *dir, const char *box, struct ids *out)
{
	char path[512];
	DIR *d = NULL;
	struct dirent *de = NULL;

	snprintf(path, sizeof path, "%s/reports/%s", dir, box);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			ids_add(out, de->d_name, strlen(de->d_name));
	closedir(d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void test_writer_killed_at_random_points(void **state)
{
	const char *tmp = getenv("TMPDIR");
	const char *seed_env = getenv("DBK_CRASH_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	struct ids reported = { 0 }, in_new = { 0 }, in_tmp = { 0 }, in_bad = { 0 };
	struct verify v = { 0 };
	struct dbk_err err = { 0 };
	struct dbk_queue *q = NULL;
	char dir[256];
	unsigned removed = 0;
	size_t leftovers = 0;

	(void)state;
	print_message("seed 0x%llx (set DBK_CRASH_SEED to replay)\n", (unsigned long long)seed);
	snprintf(dir, sizeof dir, "%s/dbk-test-crash-XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_non_null(q = dbk_queue_open(dir, "reports", &err));

	for (int round = 0; round < ROUNDS; round++)
		one_round(dir, &seed, &reported);

	/* Every file in new/ is a complete record, and nothing went to bad/. */
	assert_int_equal(dbk_queue_scan(q, NULL, check_record, count_warning, &v, &err), 0);
	assert_int_equal(v.warnings, 0);
	list_names(dir, "new", &in_new);
	assert_int_equal(v.records, in_new.n);
	list_names(dir, "bad", &in_bad);
	assert_int_equal(in_bad.n, 0);

	/* Nothing reported written was lost. */
	for (size_t i = 0; i < reported.n; i++) {
		const char *box = NULL;
		json_t *rec = dbk_queue_get(q, reported.v[i], &box, &err);

		if (rec == NULL)
			fail_msg("reported record %s is missing: %s", reported.v[i], err.msg);
		assert_string_equal(box, "new");
		json_decref(rec);
	}
	assert_true(reported.n <= in_new.n);

	/* Leftovers of killed writers are invisible, and prune clears them once
	 * they are old (here: two hours from now). */
	list_names(dir, "tmp", &in_tmp);
	leftovers = in_tmp.n;
	for (size_t i = 0; i < in_tmp.n; i++)
		assert_null(dbk_queue_get(q, in_tmp.v[i], NULL, &err));
	assert_int_equal(dbk_queue_prune(q, dbk_now_ms() + 2 * 3600 * 1000,
	                                 INT64_C(1) << 50, &removed, &err), 0);
	assert_int_equal(removed, 0);
	ids_free(&in_tmp);
	in_tmp = (struct ids){ 0 };
	list_names(dir, "tmp", &in_tmp);
	assert_int_equal(in_tmp.n, 0);

	print_message("rounds %d, records reported written %zu, records in new/ verified %zu, "
	              "tmp/ leftovers %zu\n", ROUNDS, reported.n, v.records, leftovers);
	dbk_queue_close(q);
	ids_free(&reported);
	ids_free(&in_new);
	ids_free(&in_tmp);
	ids_free(&in_bad);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_killed_at_random_points),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
