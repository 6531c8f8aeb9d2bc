/* tests/unit/test_driver_loader.c: the loader against tiny fake drivers
 * (tests/abi): each defect is refused with a message naming what was
 * expected and what was found; targets' options are checked by type. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver_loader.h"

#ifndef DBK_FAKE_DRIVER_DIR
#error "DBK_FAKE_DRIVER_DIR must name the directory of the fake drivers"
#endif
#define FAKES DBK_FAKE_DRIVER_DIR

static void assert_contains(const char *msg, const char *phrase)
{
	if (strstr(msg, phrase) == NULL)
		fail_msg("message \"%s\"\n  lacks \"%s\"", msg, phrase);
}

/* The build (and the umask it ran under) must have left the fakes
 * unwritable for group and others, or every test below tests that rule. */
static int check_fakes(void **state)
{
	struct stat st;

	(void)state;
	if (stat(FAKES "/good.so", &st) == -1) {
		fprintf(stderr, "no fake drivers in %s: %s\n", FAKES, strerror(errno));
		return -1;
	}
	if (st.st_mode & 022) {
		fprintf(stderr, "%s/good.so is group- or world-writable\n", FAKES);
		return -1;
	}
	return 0;
}

static void test_driver_dir_precedence(void **state)
{
	struct dbk_config cfg = { .driver_dir = "/from/config" };

	(void)state;
	unsetenv("DBKEEPER_DRIVER_DIR");
	assert_string_equal(dbk_driver_dir(&cfg), "/from/config");
	assert_non_null(dbk_driver_dir(NULL));
	assert_string_not_equal(dbk_driver_dir(NULL), "/from/config");
	cfg.driver_dir = NULL;
	assert_string_equal(dbk_driver_dir(&cfg), dbk_driver_dir(NULL));

	setenv("DBKEEPER_DRIVER_DIR", "", 1); /* empty: as if unset */
	cfg.driver_dir = "/from/config";
	assert_string_equal(dbk_driver_dir(&cfg), "/from/config");
	setenv("DBKEEPER_DRIVER_DIR", "/from/env", 1);
	assert_string_equal(dbk_driver_dir(&cfg), "/from/env");
	assert_string_equal(dbk_driver_dir(NULL), "/from/env");
	unsetenv("DBKEEPER_DRIVER_DIR");
}

static void test_good_driver_loads_once(void **state)
{
	struct dbk_err err = { 0 };
	const struct dbk_driver *a = NULL, *b = NULL, *c = NULL;

	(void)state;
	a = dbk_driver_load(FAKES, "good", &err);
	assert_non_null(a);
	assert_string_equal(a->name, "good");
	assert_int_equal(a->abi_major, DBK_DRIVER_ABI_MAJOR);
	assert_non_null(a->options);
	assert_true(DBK_HAS_OP(a, quote_ident));

	b = dbk_driver_load(FAKES, "good", &err);
	assert_ptr_equal(a, b);
	/* Same file by another spelling: still the one table. */
	c = dbk_driver_load_path(FAKES "/./good.so", &err);
	assert_ptr_equal(a, c);
	c = dbk_driver_load(FAKES "/", "good", &err);
	assert_ptr_equal(a, c);
}

static void *load_good(void *arg)
{
	struct dbk_err err = { 0 };

	(void)arg;
	return (void *)dbk_driver_load(FAKES, "good", &err);
}

/* Threads racing to load one driver all get the one table. */
static void test_concurrent_loads_agree(void **state)
{
	pthread_t th[8];
	void *got[8];
	struct dbk_err err = { 0 };
	const struct dbk_driver *want = dbk_driver_load(FAKES, "good", &err);

	(void)state;
	assert_non_null(want);
	for (size_t i = 0; i < DBK_NELEM(th); i++)
		assert_int_equal(pthread_create(&th[i], NULL, load_good, NULL), 0);
	for (size_t i = 0; i < DBK_NELEM(th); i++) {
		assert_int_equal(pthread_join(th[i], &got[i]), 0);
		assert_ptr_equal(got[i], want);
	}
}

/* Each broken fake is refused, the message says what was expected and what
 * was found, and the output stays NULL. */
static void test_broken_drivers_refused(void **state)
{
	static const struct {
		const char *name;
		int code;
		const char *phrase[2];
	} cases[] = {
		{ "wrong_major", DBK_E_ABI,
		  { "driver ABI 2.0, agent needs 1.x (rebuild the driver)",
		    FAKES "/wrong_major.so: " } },
		{ "short_size", DBK_E_ABI,
		  { "driver table is ", ", ABI 1.0 needs at least " } },
		{ "missing_op", DBK_E_ABI,
		  { "lacks required op 'lock'", FAKES "/missing_op.so: " } },
		{ "no_symbol", DBK_E_ABI,
		  { FAKES "/no_symbol.so: no symbol dbk_driver_entry"
		    " (not a dbkeeper driver?)", NULL } },
		{ "null_table", DBK_E_ABI,
		  { "dbk_driver_entry returned NULL", "expected a driver table" } },
		{ "not_a_driver", DBK_E_ABI,
		  { "cannot load driver 'not_a_driver': ", "not_a_driver.so" } },
		{ "wrong_name", DBK_E_ABI,
		  { "driver calls itself 'postgres', expected 'wrong_name'", NULL } },
		{ "null_name", DBK_E_ABI,
		  { "driver has no name, expected 'null_name'", NULL } },
		{ "half_group", DBK_E_ABI,
		  { "driver 'half_group' has only some of the ops "
		    "list_tool_triggers, free_triggers, drop_trigger (all or none)",
		    FAKES "/half_group.so: " } },
		{ "nosuch", DBK_E_CONFIG,
		  { "driver 'nosuch' not found: " FAKES "/nosuch.so does not exist"
		    " (installed drivers: ", "good, half_group, missing_op, no_symbol, "
		    "not_a_driver, null_name, null_table, short_size" } },
	};

	(void)state;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_err err = { 0 };
		char *path = dbk_xasprintf("%s/%s.so", FAKES, cases[i].name);

		assert_null(dbk_driver_load(FAKES, cases[i].name, &err));
		assert_int_equal(err.code, cases[i].code);
		for (int k = 0; k < 2; k++)
			if (cases[i].phrase[k] != NULL)
				assert_contains(err.msg, cases[i].phrase[k]);
		/* Refused again: a failed load is not cached. */
		memset(&err, 0, sizeof err);
		assert_null(dbk_driver_load(FAKES, cases[i].name, &err));
		assert_contains(err.msg, cases[i].phrase[0]);
		if (cases[i].code == DBK_E_ABI) {
			memset(&err, 0, sizeof err);
			assert_null(dbk_driver_load_path(path, &err));
			assert_contains(err.msg, cases[i].phrase[0]);
		}
		free(path);
	}
}

static void test_short_size_names_both_sizes(void **state)
{
	struct dbk_err err = { 0 };
	char want[160];

	(void)state;
	snprintf(want, sizeof want, "driver table is %zu bytes, ABI 1.0 needs"
	         " at least %zu", offsetof(struct dbk_driver, quote_ident),
	         (size_t)DBK_DRIVER_SIZE_1_0);
	assert_null(dbk_driver_load(FAKES, "short_size", &err));
	assert_contains(err.msg, want);
}

/* Names become paths: anything but a plain word is a config error, never
 * a path that leaves the driver directory. */
static void test_bad_names_refused(void **state)
{
	static const char *const names[] = {
		"", "../fakes/good", "good.so", "Good", "go od", "a/b", "good;rm",
		"good'--", "/etc/passwd", ".", "..",
	};

	(void)state;
	for (size_t i = 0; i < DBK_NELEM(names); i++) {
		struct dbk_err err = { 0 };

		assert_null(dbk_driver_load(FAKES, names[i], &err));
		assert_int_equal(err.code, DBK_E_CONFIG);
		assert_contains(err.msg, "is not a valid driver name");
	}
	{
		struct dbk_err err = { 0 };

		assert_null(dbk_driver_load(FAKES, NULL, &err));
		assert_int_equal(err.code, DBK_E_CONFIG);
	}
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	struct dbk_err err = { 0 };
	size_t len = 0;
	char *data = dbk_read_file(from, 64u << 20, &len, &err);
	int fd = -1;

	assert_non_null(data);
	fd = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	/* chmod, not the open mode: the umask must not decide the test. */
	assert_int_equal(chmod(to, mode), 0);
	free(data);
}

/* A driver file anyone else can write is refused before dlopen runs any of
 * its code; the same file with safe permissions loads. */
static void test_writable_and_odd_files_refused(void **state)
{
	static const struct {
		mode_t mode;
		const char *phrase;
	} modes[] = {
		{ 0666, "mode 0666 is group- or world-writable" },
		{ 0646, "mode 0646 is group- or world-writable" },
		{ 0664, "mode 0664 is group- or world-writable" },
		{ 0620, "mode 0620 is group- or world-writable" },
	};
	char tmpl[] = FAKES "/../loader-tmp-XXXXXX"; /* not /tmp: may be noexec */
	char *dir = mkdtemp(tmpl);
	char *path = NULL, *sub = NULL;
	struct dbk_err err = { 0 };
	const struct dbk_driver *good = NULL, *copy = NULL;

	(void)state;
	assert_non_null(dir);
	path = dbk_xasprintf("%s/good.so", dir);
	copy_file(FAKES "/good.so", path, 0666);
	for (size_t i = 0; i < DBK_NELEM(modes); i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(chmod(path, modes[i].mode), 0);
		assert_null(dbk_driver_load(dir, "good", &err));
		assert_int_equal(err.code, DBK_E_ABI);
		assert_contains(err.msg, modes[i].phrase);
		assert_contains(err.msg, path);
	}
	assert_int_equal(chmod(path, 0644), 0);
	copy = dbk_driver_load(dir, "good", &err);
	assert_non_null(copy);
	good = dbk_driver_load(FAKES, "good", &err);
	assert_non_null(good);
	/* Another file is another library, even with the same bytes. */
	assert_ptr_not_equal(copy, good);
	/* Once loaded, loosening the mode is still refused, not served from
	 * the cache. */
	assert_int_equal(chmod(path, 0666), 0);
	assert_null(dbk_driver_load(dir, "good", &err));
	assert_contains(err.msg, "mode 0666");

	sub = dbk_xasprintf("%s/adir.so", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	memset(&err, 0, sizeof err);
	assert_null(dbk_driver_load(dir, "adir", &err));
	assert_int_equal(err.code, DBK_E_ABI);
	assert_contains(err.msg, "expected a regular file, found a directory");

	/* A missing driver lists what is installed: here only the copy. */
	memset(&err, 0, sizeof err);
	assert_null(dbk_driver_load(dir, "postgres", &err));
	assert_contains(err.msg, "(installed drivers: adir, good)");
	memset(&err, 0, sizeof err);
	assert_null(dbk_driver_load("/nonexistent/dbk", "postgres", &err));
	assert_int_equal(err.code, DBK_E_CONFIG);
	assert_contains(err.msg, "(installed drivers: none");

	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	free(sub);
	free(path);
}

/* Reached through a symlink with another name, the cached table must
 * still carry the requested name. */
static void test_symlink_alias_refused(void **state)
{
	char tmpl[] = FAKES "/../loader-tmp-XXXXXX"; /* not /tmp: may be noexec */
	char *dir = mkdtemp(tmpl);
	char *alias = NULL;
	struct dbk_err err = { 0 };

	(void)state;
	assert_non_null(dir);
	assert_non_null(dbk_driver_load(FAKES, "good", &err)); /* cached */
	alias = dbk_xasprintf("%s/postgres.so", dir);
	assert_int_equal(symlink(FAKES "/good.so", alias), 0);
	assert_null(dbk_driver_load(dir, "postgres", &err));
	assert_int_equal(err.code, DBK_E_ABI);
	assert_contains(err.msg, "driver calls itself 'good', expected 'postgres'");
	assert_int_equal(unlink(alias), 0);
	assert_int_equal(rmdir(dir), 0);
	free(alias);
}

/* ---- dbk_driver_check_targets ---- */

#define OPT(k, v, t, l) { (char *)(k), (char *)(v), (t), (l) }

static struct dbk_target_opt opts_ok[] = {
	OPT("conninfo", "host=127.0.0.1 dbname=app", DBK_OPT_STRING, 11),
	OPT("port", "5432", DBK_OPT_INT, 12),
	OPT("verbose", "true", DBK_OPT_BOOL, 13),
};
static struct dbk_target_opt opts_typo[] = {
	OPT("conninfo", "dbname=app", DBK_OPT_STRING, 21),
	OPT("hots", "db1", DBK_OPT_STRING, 22),
};
static struct dbk_target_opt opts_sql[] = {
	OPT("host'; DROP TABLE t;--", "x", DBK_OPT_STRING, 31),
};
static struct dbk_target_opt opts_port_string[] = {
	OPT("port", "5432", DBK_OPT_STRING, 41), /* port = "5432"; */
};
static struct dbk_target_opt opts_verbose_int[] = {
	OPT("verbose", "1", DBK_OPT_INT, 51),
};
static struct dbk_target_opt opts_conninfo_bool[] = {
	OPT("conninfo", "true", DBK_OPT_BOOL, 61),
};

static struct dbk_target make_target(const char *name, const char *driver,
                                     struct dbk_target_opt *opts, unsigned n,
                                     int line)
{
	struct dbk_target t = {
		.name = (char *)name, .driver = (char *)driver, .n_options = n,
		.options = opts, .file = (char *)"/etc/dbkeeper/dbkeeper.conf",
		.line = line,
	};

	return t;
}

static void test_check_targets(void **state)
{
	static const struct {
		const char *driver;
		struct dbk_target_opt *opts;
		unsigned n;
		const char *phrase; /* NULL: accepted */
	} cases[] = {
		{ "good", opts_ok, 3, NULL },
		{ "good", NULL, 0, NULL },
		{ "good", opts_typo, 2,
		  "/etc/dbkeeper/dbkeeper.conf:22: target 't': driver 'good' has no"
		  " connection option 'hots' (known: conninfo, port, verbose)" },
		{ "good", opts_sql, 1,
		  "dbkeeper.conf:31: target 't': driver 'good' has no connection"
		  " option 'host'; DROP TABLE t;--'" },
		{ "good", opts_port_string, 1,
		  "dbkeeper.conf:41: target 't': option 'port' of driver 'good'"
		  " must be an integer, found a string" },
		{ "good", opts_verbose_int, 1,
		  "option 'verbose' of driver 'good' must be a boolean (true/false),"
		  " found an integer" },
		{ "good", opts_conninfo_bool, 1,
		  "option 'conninfo' of driver 'good' must be a string, found a"
		  " boolean" },
		{ "nosuch", opts_ok, 3,
		  "/etc/dbkeeper/dbkeeper.conf:7: target 't': driver 'nosuch' not"
		  " found: " FAKES "/nosuch.so does not exist (installed drivers: " },
		{ "wrong_major", opts_ok, 3,
		  "dbkeeper.conf:7: target 't': " FAKES "/wrong_major.so: driver ABI"
		  " 2.0, agent needs 1.x" },
		{ "../good", NULL, 0,
		  "dbkeeper.conf:7: target 't': driver name '../good' is not a valid"
		  " driver name" },
	};

	(void)state;
	unsetenv("DBKEEPER_DRIVER_DIR");
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_target t = make_target("t", cases[i].driver,
		                                  cases[i].opts, cases[i].n, 7);
		struct dbk_config cfg = {
			.driver_dir = (char *)FAKES, .n_targets = 1, .targets = &t,
		};
		struct dbk_err err = { 0 };
		int rc = dbk_driver_check_targets(&cfg, &err);

		if (cases[i].phrase == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, err.msg);
			continue;
		}
		assert_int_equal(rc, -1);
		assert_contains(err.msg, cases[i].phrase);
	}
}

/* Several targets: the first bad one is reported, after good ones pass;
 * the environment overrides the config's directory. */
static void test_check_targets_first_error_and_env(void **state)
{
	struct dbk_target t[] = {
		make_target("main", "good", opts_ok, 3, 5),
		make_target("reports", "good", opts_port_string, 1, 40),
		make_target("legacy", "nosuch", NULL, 0, 50),
	};
	struct dbk_config cfg = {
		.driver_dir = (char *)"/nonexistent", .n_targets = 3, .targets = t,
	};
	struct dbk_err err = { 0 };

	(void)state;
	setenv("DBKEEPER_DRIVER_DIR", FAKES, 1);
	assert_int_equal(dbk_driver_check_targets(&cfg, &err), -1);
	assert_contains(err.msg, "target 'reports': option 'port'");
	assert_int_equal(err.code, DBK_E_CONFIG);

	cfg.n_targets = 1;
	assert_int_equal(dbk_driver_check_targets(&cfg, &err), 0);

	unsetenv("DBKEEPER_DRIVER_DIR");
	assert_int_equal(dbk_driver_check_targets(&cfg, &err), -1);
	assert_contains(err.msg, "target 'main': driver 'good' not found: "
	                "/nonexistent/good.so does not exist");

	cfg.n_targets = 0;
	assert_int_equal(dbk_driver_check_targets(&cfg, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_dir_precedence),
		cmocka_unit_test(test_good_driver_loads_once),
		cmocka_unit_test(test_concurrent_loads_agree),
		cmocka_unit_test(test_broken_drivers_refused),
		cmocka_unit_test(test_short_size_names_both_sizes),
		cmocka_unit_test(test_bad_names_refused),
		cmocka_unit_test(test_writable_and_odd_files_refused),
		cmocka_unit_test(test_symlink_alias_refused),
		cmocka_unit_test(test_check_targets),
		cmocka_unit_test(test_check_targets_first_error_and_env),
	};

	return cmocka_run_group_tests(tests, check_fakes, NULL);
}
