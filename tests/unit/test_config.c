/* tests/unit/test_config.c: the main file and policy files. A valid set is
 * parsed into exact values; each broken one must be refused with
 * "file:line:" and a phrase saying what is wrong. Fixtures are written into
 * a fresh temporary directory; the shipped policy and sample are loaded
 * from the source tree. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

#ifndef DBK_SOURCE_DIR
#define DBK_SOURCE_DIR "."
#endif
#ifndef DBK_DEFAULT_STATE_DIR /* as config.c falls back */
#define DBK_DEFAULT_STATE_DIR "/var/lib/dbkeeper"
#endif

/* ---- Fixture helpers ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd == -1)
		fail_msg("create %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len)
		fail_msg("write %s: %s", path, strerror(errno));
	if (fchmod(fd, mode) == -1)
		fail_msg("chmod %s: %s", path, strerror(errno));
	close(fd);
}

static void write_in(const char *dir, const char *name, const char *text)
{
	char *path = dbk_xasprintf("%s/%s", dir, name);

	write_file(path, text, 0644);
	free(path);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	char *dir = dbk_xstrdup("/tmp/dbk-test-config-XXXXXX");

	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	char *dir = *state;

	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return 0;
}

/* Makes dir/name and dir/name/policies; returns dir/name (caller frees). */
static char *make_case_dir(const char *dir, const char *name)
{
	char *d = dbk_xasprintf("%s/%s", dir, name);
	char *p = dbk_xasprintf("%s/policies", d);

	if (mkdir(d, 0700) == -1 || mkdir(p, 0700) == -1)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	free(p);
	return d;
}

/* ---- A valid configuration, parsed into exact values ---- */

static const char valid_main[] =
	"# two targets, two policies\n"                            /* 1 */
	"state_dir = \"state\";\n"                                  /* 2 */
	"queue_dir = \"/var/spool/dbk\";\n"                         /* 3 */
	"driver_dir = \"drivers\";\n"                               /* 4 */
	"syslog_facility = \"local3\";\n"                           /* 5 */
	"queue_retention = \"120d\";\n"                             /* 6 */
	"connect_timeout = \"2500ms\";\n"                           /* 7 */
	"targets = (\n"                                             /* 8 */
	"  { name = \"app\"; driver = \"postgres\";\n"              /* 9 */
	"    connection = {\n"                                      /* 10 */
	"      conninfo = \"host=127.0.0.1 port=5432 dbname=app\";\n" /* 11 */
	"      retries = 3;\n"                                      /* 12 */
	"      ssl = true;\n"                                       /* 13 */
	"    };\n"                                                  /* 14 */
	"    password_file = \"app.pw\";\n"                         /* 15 */
	"    policies = [ \"alpha\", \"beta\" ];\n"                 /* 16 */
	"  },\n"                                                    /* 17 */
	"  { name = \"shop.db-2\"; driver = \"mysql\";\n"           /* 18 */
	"    connection = { host = \"127.0.0.1\"; port = 3306; };\n" /* 19 */
	"    policies = [ \"beta\" ];\n"                            /* 20 */
	"  }\n"                                                     /* 21 */
	");\n";

static const char alpha_policy[] =
	"queue = \"nightly\";\n"
	"window = \"Mon-Fri 01:00-05:00; Sat,Sun 00:00-06:00\";\n"
	"budget = { max_run_time = \"1h\"; lock_timeout = \"500ms\";\n"
	"  statement_timeout = \"2m\"; observe_timeout = 45;\n"
	"  max_replica_lag = \"0\"; };\n"
	"scratch_tables = { dry_run = false; schemas = [\"public\", \"etl\"];\n"
	"  include = [\"tmp_*\", \"*_bak_[0-9]*\"]; exclude = [\"tmp_keep*\"];\n"
	"  min_age = \"3d\"; max_per_run = 7; max_per_statement = 3;\n"
	"  require_idle = false; orphan_temp = false; tool_leftovers = true;\n"
	"  interval = \"30m\"; window = \"daily 22:00-02:00\"; };\n"
	"log_tables = { dry_run = false; interval = 600;\n"
	"  tables = (\n"
	"    { schema = \"public\"; table = \"app_log\"; time_column = \"created_at\";\n"
	"      retention = \"30d\"; batch_size = 1000; pause = \"250ms\"; },\n"
	"    { table = \"audit\"; time_column = \"ts\"; retention = 86400; }\n"
	"  ); };\n"
	"server_logs = { enabled = false; retention = \"2w\"; keep = 0; };\n"
	"indexes = { min_size = \"1GB\"; min_bloat = 35.5; drop_invalid = false;\n"
	"  method = \"offline\"; max_per_run = 2; interval = \"12h\"; };\n"
	"statistics = { analyze = false; dry_run = true; stale_ratio = 0.25;\n"
	"  stale_min_rows = 50; interval = \"1d\"; metrics_interval = \"1m\"; };\n";

/* Only statistics: everything else takes its default. */
static const char beta_policy[] = "statistics = { };\n";

static void check_alpha(const struct dbk_policy *p)
{
	const struct dbk_pol_logtable *lt = NULL;

	assert_string_equal(p->name, "alpha");
	assert_string_equal(p->queue, "nightly");
	assert_int_equal(p->window.n, 2);
	assert_int_equal(p->window.v[0].days, 0x1f);
	assert_int_equal(p->window.v[1].start_min, 0);
	assert_int_equal(p->window.v[1].end_min, 360);
	assert_int_equal(p->budget.max_run_time_s, 3600);
	assert_int_equal(p->budget.lock_timeout_ms, 500);
	assert_int_equal(p->budget.statement_timeout_ms, 120000);
	assert_int_equal(p->budget.observe_timeout_ms, 45000);
	assert_int_equal(p->budget.max_replica_lag_ms, 0);

	assert_true(p->scratch.enabled);
	assert_false(p->scratch.dry_run);
	assert_int_equal(p->scratch.schemas.n, 2);
	assert_string_equal(p->scratch.schemas.v[1], "etl");
	assert_int_equal(p->scratch.include.n, 2);
	assert_string_equal(p->scratch.include.v[1], "*_bak_[0-9]*");
	assert_int_equal(p->scratch.exclude.n, 1);
	assert_int_equal(p->scratch.min_age_s, 3 * 86400);
	assert_int_equal(p->scratch.max_per_run, 7);
	assert_int_equal(p->scratch.max_per_statement, 3);
	assert_false(p->scratch.require_idle);
	assert_false(p->scratch.orphan_temp);
	assert_true(p->scratch.tool_leftovers);
	assert_int_equal(p->scratch.schedule.interval_s, 1800);
	assert_true(p->scratch.schedule.has_window);
	assert_int_equal(p->scratch.schedule.window.n, 1);
	assert_int_equal(p->scratch.schedule.window.v[0].start_min, 22 * 60);

	assert_true(p->logs.enabled);
	assert_false(p->logs.dry_run);
	assert_int_equal(p->logs.schedule.interval_s, 600);
	assert_false(p->logs.schedule.has_window);
	assert_int_equal(p->logs.n, 2);
	lt = &p->logs.v[0];
	assert_string_equal(lt->schema, "public");
	assert_string_equal(lt->table, "app_log");
	assert_string_equal(lt->time_column, "created_at");
	assert_int_equal(lt->retention_s, 30 * 86400);
	assert_int_equal(lt->batch_rows, 1000);
	assert_int_equal(lt->pause_ms, 250);
	lt = &p->logs.v[1];
	assert_null(lt->schema);
	assert_string_equal(lt->table, "audit");
	assert_int_equal(lt->retention_s, 86400);
	assert_int_equal(lt->batch_rows, 5000);
	assert_int_equal(lt->pause_ms, 100);

	assert_false(p->server_logs.enabled);
	assert_true(p->server_logs.dry_run);
	assert_int_equal(p->server_logs.retention_s, 14 * 86400);
	assert_int_equal(p->server_logs.keep_min, 0);
	assert_int_equal(p->server_logs.schedule.interval_s, 86400);

	assert_true(p->indexes.enabled);
	assert_true(p->indexes.dry_run);
	assert_int_equal(p->indexes.min_size_bytes, 1LL << 30);
	assert_true(p->indexes.min_bloat_pct > 35.49 && p->indexes.min_bloat_pct < 35.51);
	assert_false(p->indexes.drop_invalid);
	assert_int_equal(p->indexes.rebuild_method, DBK_REBUILD_OFFLINE);
	assert_int_equal(p->indexes.max_per_run, 2);
	assert_int_equal(p->indexes.schedule.interval_s, 12 * 3600);

	assert_false(p->stats.analyze);
	assert_true(p->stats.dry_run);
	assert_true(p->stats.stale_ratio > 0.249 && p->stats.stale_ratio < 0.251);
	assert_int_equal(p->stats.stale_min_rows, 50);
	assert_int_equal(p->stats.schedule.interval_s, 86400);
	assert_int_equal(p->stats.metrics_interval_s, 60);
}

/* Defaults, as documented in the configuration reference. */
static void check_beta(const struct dbk_policy *p)
{
	assert_string_equal(p->name, "beta");
	assert_string_equal(p->queue, "reports");
	assert_int_equal(p->window.n, 0);
	assert_int_equal(p->budget.max_run_time_s, 1800);
	assert_int_equal(p->budget.lock_timeout_ms, 5000);
	assert_int_equal(p->budget.statement_timeout_ms, 600000);
	assert_int_equal(p->budget.observe_timeout_ms, 30000);
	assert_int_equal(p->budget.max_replica_lag_ms, 30000);

	assert_false(p->scratch.enabled); /* absent */
	assert_true(p->scratch.dry_run);
	assert_int_equal(p->scratch.include.n, 0);
	assert_int_equal(p->scratch.min_age_s, 7 * 86400);
	assert_int_equal(p->scratch.max_per_run, 100);
	assert_int_equal(p->scratch.max_per_statement, 20);
	assert_true(p->scratch.require_idle);
	assert_true(p->scratch.orphan_temp);
	assert_false(p->scratch.tool_leftovers);
	assert_int_equal(p->scratch.schedule.interval_s, 3600);
	assert_false(p->scratch.schedule.has_window);

	assert_false(p->logs.enabled);
	assert_true(p->logs.dry_run);
	assert_int_equal(p->logs.n, 0);
	assert_int_equal(p->logs.schedule.interval_s, 3600);

	assert_false(p->server_logs.enabled);
	assert_true(p->server_logs.dry_run);
	assert_int_equal(p->server_logs.retention_s, 14 * 86400);
	assert_int_equal(p->server_logs.keep_min, 2);
	assert_int_equal(p->server_logs.schedule.interval_s, 86400);

	assert_false(p->indexes.enabled);
	assert_true(p->indexes.dry_run);
	assert_int_equal(p->indexes.min_size_bytes, 10LL << 20);
	assert_true(p->indexes.min_bloat_pct == 30.0);
	assert_true(p->indexes.drop_invalid);
	assert_int_equal(p->indexes.rebuild_method, DBK_REBUILD_ONLINE);
	assert_int_equal(p->indexes.max_per_run, 5);
	assert_int_equal(p->indexes.schedule.interval_s, 86400);

	assert_true(p->stats.analyze); /* present: on */
	assert_false(p->stats.dry_run);
	assert_true(p->stats.stale_ratio == 0.1);
	assert_int_equal(p->stats.stale_min_rows, 1000);
	assert_int_equal(p->stats.schedule.interval_s, 6 * 3600);
	assert_int_equal(p->stats.metrics_interval_s, 300);
}

static struct dbk_config *load_valid(const char *d)
{
	struct dbk_err err = { 0 };
	struct dbk_config *cfg = NULL;
	char *main_path = dbk_xasprintf("%s/dbkeeper.conf", d);
	char *pw = dbk_xasprintf("%s/app.pw", d);

	write_in(d, "dbkeeper.conf", valid_main);
	write_in(d, "policies/alpha.conf", alpha_policy);
	write_in(d, "policies/beta.conf", beta_policy);
	write_file(pw, "secret\n", 0600);
	if ((cfg = dbk_config_load(main_path, &err)) == NULL)
		fail_msg("valid config refused: %s", err.msg);
	free(pw);
	free(main_path);
	return cfg;
}

static void test_valid(void **state)
{
	char *d = make_case_dir(*state, "valid");
	struct dbk_config *cfg = load_valid(d);
	const struct dbk_target *t = NULL;
	char *want = NULL;

	want = dbk_xasprintf("%s/state", d);
	assert_string_equal(cfg->state_dir, want);
	free(want);
	assert_string_equal(cfg->queue_dir, "/var/spool/dbk");
	want = dbk_xasprintf("%s/policies", d);
	assert_string_equal(cfg->policy_dir, want);
	free(want);
	want = dbk_xasprintf("%s/drivers", d);
	assert_string_equal(cfg->driver_dir, want);
	free(want);
	assert_int_equal(cfg->syslog_facility, LOG_LOCAL3);
	assert_int_equal(cfg->retention_s, 120 * 86400);
	assert_int_equal(cfg->connect_timeout_ms, 2500);

	assert_int_equal(cfg->n_targets, 2);
	t = &cfg->targets[0];
	assert_string_equal(t->name, "app");
	assert_string_equal(t->driver, "postgres");
	assert_int_equal(t->line, 9);
	assert_int_equal(t->n_options, 3);
	assert_string_equal(t->options[0].key, "conninfo");
	assert_string_equal(t->options[0].value,
	                    "host=127.0.0.1 port=5432 dbname=app");
	assert_int_equal(t->options[0].type, DBK_OPT_STRING);
	assert_int_equal(t->options[0].line, 11);
	assert_string_equal(t->options[1].key, "retries");
	assert_string_equal(t->options[1].value, "3");
	assert_int_equal(t->options[1].type, DBK_OPT_INT);
	assert_string_equal(t->options[2].value, "true");
	assert_int_equal(t->options[2].type, DBK_OPT_BOOL);
	assert_int_equal(t->options[2].line, 13);
	want = dbk_xasprintf("%s/app.pw", d);
	assert_string_equal(t->password_file, want);
	free(want);
	assert_int_equal(t->policy_names.n, 2);
	assert_int_equal(t->n_policies, 2);
	check_alpha(t->policies[0]);
	check_beta(t->policies[1]);

	t = &cfg->targets[1];
	assert_string_equal(t->name, "shop.db-2");
	assert_string_equal(t->driver, "mysql");
	assert_null(t->password_file);
	assert_int_equal(t->n_options, 2);
	assert_string_equal(t->options[1].key, "port");
	assert_string_equal(t->options[1].value, "3306");
	assert_int_equal(t->n_policies, 1);
	/* each policy is loaded once and shared */
	assert_ptr_equal(t->policies[0], cfg->targets[0].policies[1]);
	assert_int_equal(cfg->n_policies, 2);

	assert_ptr_equal(dbk_config_target(cfg, "shop.db-2"), t);
	assert_null(dbk_config_target(cfg, "shop"));
	dbk_config_free(cfg);
	free(d);
}

static void test_minimal_defaults(void **state)
{
	char *d = make_case_dir(*state, "minimal");
	char *path = dbk_xasprintf("%s/dbkeeper.conf", d);
	char *want = NULL;
	struct dbk_err err = { 0 };
	struct dbk_config *cfg = NULL;

	write_in(d, "dbkeeper.conf", "# nothing yet\n");
	if ((cfg = dbk_config_load(path, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->state_dir, DBK_DEFAULT_STATE_DIR);
	assert_string_equal(cfg->queue_dir, DBK_DEFAULT_STATE_DIR "/queue");
	want = dbk_xasprintf("%s/policies", d);
	assert_string_equal(cfg->policy_dir, want);
	assert_null(cfg->driver_dir);
	assert_int_equal(cfg->syslog_facility, LOG_DAEMON);
	assert_int_equal(cfg->retention_s, 90 * 86400);
	assert_int_equal(cfg->connect_timeout_ms, 10000);
	assert_int_equal(cfg->n_targets, 0);
	assert_int_equal(cfg->n_policies, 0);
	dbk_config_free(cfg);

	/* an empty targets list is allowed: check-config says "no targets" */
	write_in(d, "dbkeeper.conf", "targets = ();\n");
	if ((cfg = dbk_config_load(path, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg->n_targets, 0);
	dbk_config_free(cfg);
	write_in(d, "dbkeeper.conf", "targets = [];\n");
	if ((cfg = dbk_config_load(path, &err)) == NULL)
		fail_msg("%s", err.msg);
	dbk_config_free(cfg);
	dbk_config_free(NULL);
	dbk_policy_clear(NULL);
	free(want);
	free(path);
	free(d);
}

static void test_restart_changes(void **state)
{
	char *d = make_case_dir(*state, "restart");
	struct dbk_config *a = load_valid(d);
	struct dbk_config *b = load_valid(d);
	char buf[128];

	assert_int_equal(dbk_config_restart_changes(a, b, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	free(b->state_dir);
	b->state_dir = dbk_xstrdup("/elsewhere");
	b->syslog_facility = LOG_LOCAL7;
	b->retention_s = 1; /* reloadable: not reported */
	assert_int_equal(dbk_config_restart_changes(a, b, buf, sizeof buf), 2);
	assert_string_equal(buf, "state_dir, syslog_facility");
	dbk_config_free(a);
	dbk_config_free(b);
	free(d);
}

/* ---- Broken configurations ---- */

/* A main file that is fine, naming policy "p". */
#define MAIN_OK                                                               \
	"targets = (\n"                                                       \
	"  { name = \"app\"; driver = \"postgres\";\n"                        \
	"    policies = [ \"p\" ]; }\n"                                       \
	");\n"
#define POLICY_OK "scratch_tables = { include = [\"tmp_*\"]; };\n"

/* A main file with a password file "pw" in the case directory. */
#define MAIN_PW                                                               \
	"targets = (\n"                                                       \
	"  { name = \"app\"; driver = \"postgres\";\n"                        \
	"    password_file = \"pw\";\n"                                       \
	"    policies = [ \"p\" ]; }\n"                                       \
	");\n"

/* A main file whose policy file, policies/p.conf, is the case's policy. */
#define LOGTABLE(x)                                                           \
	"log_tables = {\n"                                                    \
	"  tables = (\n"                                                      \
	"    { table = \"log\"; time_column = \"at\"; retention = \"30d\";\n" \
	x                                                                     \
	"  );\n"                                                              \
	"};\n"

enum pw_kind { PW_NONE, PW_MODE_0644, PW_MODE_0640, PW_MISSING, PW_DIR };

struct bad_case {
	const char *what;
	const char *main;    /* NULL: MAIN_OK */
	const char *policy;  /* NULL: POLICY_OK */
	char where;          /* 'm': the main file, 'p': policies/p.conf */
	int line;            /* 0: "file: " without a line */
	const char *phrase;
	enum pw_kind pw;
};

static const struct bad_case bad_cases[] = {
	{ "syntax error", "state_dir = \"/x\";\nqueue_dir = ;\n", NULL, 'm', 2,
	  "syntax error", PW_NONE },
	{ "duplicate key (libconfig)", "state_dir = \"/x\";\nstate_dir = \"/y\";\n",
	  NULL, 'm', 2, "duplicate setting name", PW_NONE },
	{ "unknown top-level key", "state_dir = \"/x\";\nstate_dri = \"/y\";\n",
	  NULL, 'm', 2, "unknown setting 'state_dri' (did you mean 'state_dir'?)",
	  PW_NONE },
	{ "unknown key in target",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    polices = [ \"p\" ]; }\n);\n", NULL, 'm', 3,
	  "unknown setting 'polices' in targets[0] (did you mean 'policies'?)",
	  PW_NONE },
	{ "typo of dry_run", NULL,
	  "scratch_tables = {\n  include = [\"tmp_*\"];\n  dry_rn = false;\n};\n",
	  'p', 3, "unknown setting 'dry_rn' in scratch_tables (did you mean "
	  "'dry_run'?)", PW_NONE },
	{ "unknown top-level key in policy", NULL, "queue = \"r\";\nbudgets = {};\n",
	  'p', 2, "unknown setting 'budgets'", PW_NONE },
	{ "string for int", NULL, "indexes = {\n  max_per_run = \"5\";\n};\n", 'p',
	  2, "indexes.max_per_run must be an integer, not a string", PW_NONE },
	{ "int for bool", NULL,
	  "scratch_tables = {\n  include = [\"tmp_*\"];\n  dry_run = 0;\n};\n", 'p',
	  3, "scratch_tables.dry_run must be true or false, not an integer",
	  PW_NONE },
	{ "string for bool", NULL,
	  "scratch_tables = {\n  include = [\"tmp_*\"];\n  dry_run = \"no\";\n};\n",
	  'p', 3, "must be true or false, not a string", PW_NONE },
	{ "list for string", "state_dir = [ \"/a\" ];\n", NULL, 'm', 1,
	  "state_dir must be a string in double quotes, not an array", PW_NONE },
	{ "string for list", NULL,
	  "scratch_tables = {\n  include = \"tmp_*\";\n};\n", 'p', 2,
	  "scratch_tables.include must be a list of strings", PW_NONE },
	{ "int in a list of strings", NULL,
	  "scratch_tables = {\n  include = [\"tmp_*\"];\n  schemas = [ 1 ];\n};\n",
	  'p', 3, "item 1 is an integer", PW_NONE },
	{ "int for a section", NULL, "budget = 5;\n", 'p', 1,
	  "budget must be a group { ... }, not an integer", PW_NONE },
	{ "bad duration", NULL,
	  "scratch_tables = {\n  include = [\"tmp_*\"];\n  min_age = \"7 days\";\n};\n",
	  'p', 3, "scratch_tables.min_age: unknown unit 'days'", PW_NONE },
	{ "fractional duration", NULL, "budget = {\n  lock_timeout = 1.5;\n};\n",
	  'p', 2, "budget.lock_timeout must be a duration", PW_NONE },
	{ "bad size", NULL, "indexes = {\n  min_size = \"10XB\";\n};\n", 'p', 2,
	  "indexes.min_size: unknown unit 'XB'", PW_NONE },
	{ "bad window day", NULL, "window = \"Mon-Fry 01:00-05:00\";\n", 'p', 1,
	  "window: unknown day 'Fry'", PW_NONE },
	{ "bad window time", NULL,
	  "indexes = {\n  window = \"Mon 25:00-26:00\";\n};\n", 'p', 2,
	  "indexes.window: bad time range '25:00-26:00'", PW_NONE },
	{ "window start == end", NULL, "queue = \"r\";\nwindow = \"daily 03:00-03:00\";\n",
	  'p', 2, "starts and ends at 03:00", PW_NONE },
	{ "zero interval", NULL, "server_logs = {\n  interval = 0;\n};\n", 'p', 2,
	  "server_logs.interval: '0' must be greater than 0", PW_NONE },
	{ "negative interval", NULL, "server_logs = {\n  interval = \"-1h\";\n};\n",
	  'p', 2, "negative duration '-1h'", PW_NONE },
	{ "negative integer interval", NULL, "server_logs = {\n  interval = -60;\n};\n",
	  'p', 2, "negative duration '-60'", PW_NONE },
	{ "sub-second interval", NULL,
	  "statistics = {\n  metrics_interval = \"1500ms\";\n};\n", 'p', 2,
	  "not a whole number of seconds", PW_NONE },
	{ "min_bloat above 100", NULL, "indexes = {\n  min_bloat = 150;\n};\n", 'p',
	  2, "indexes.min_bloat: '150' is out of range (minimum 0, maximum 100)",
	  PW_NONE },
	{ "min_bloat negative", NULL, "indexes = {\n  min_bloat = -0.5;\n};\n", 'p',
	  2, "is out of range (minimum 0, maximum 100)", PW_NONE },
	{ "stale_ratio above 1", NULL, "statistics = {\n  stale_ratio = 1.5;\n};\n",
	  'p', 2, "statistics.stale_ratio: '1.5' is out of range", PW_NONE },
	{ "batch_size 0", NULL, LOGTABLE("      batch_size = 0; }\n"), 'p', 4,
	  "log_tables.tables[0].batch_size: '0' is out of range (minimum 1, "
	  "maximum 1000000)", PW_NONE },
	{ "batch_size too big", NULL, LOGTABLE("      batch_size = 2000000; }\n"),
	  'p', 4, "'2000000' is out of range", PW_NONE },
	{ "log table without time_column", NULL,
	  "log_tables = {\n  tables = (\n    { table = \"log\"; retention = 60; }\n"
	  "  );\n};\n", 'p', 3,
	  "missing required setting 'log_tables.tables[0].time_column'", PW_NONE },
	{ "log table typo", NULL, LOGTABLE("      retension = \"1d\"; }\n"), 'p', 4,
	  "unknown setting 'retension' in log_tables.tables[0] (did you mean "
	  "'retention'?)", PW_NONE },
	{ "log_tables without tables", NULL, "\nlog_tables = {\n  dry_run = true;\n};\n",
	  'p', 2, "log_tables.tables is empty", PW_NONE },
	{ "lock_timeout 0", NULL, "budget = {\n  lock_timeout = \"0\";\n};\n", 'p', 2,
	  "budget.lock_timeout: '0' must be greater than 0", PW_NONE },
	{ "missing policy",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    policies = [ \"p\", \"nope\" ]; }\n);\n", NULL, 'm', 3,
	  "policy 'nope' not found", PW_NONE },
	{ "policy named twice",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    policies = [ \"p\", \"p\" ]; }\n);\n", NULL, 'm', 3,
	  "names policy 'p' twice", PW_NONE },
	{ "policy name with a slash",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    policies = [ \"../p\" ]; }\n);\n", NULL, 'm', 3,
	  "targets[0].policies: item 1: '../p' is not a valid name", PW_NONE },
	{ "empty policies list",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    policies = [ ]; }\n);\n", NULL, 'm', 3,
	  "targets[0].policies must not be empty", PW_NONE },
	{ "no policies",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\"; }\n);\n", NULL,
	  'm', 2, "missing required setting 'targets[0].policies'", PW_NONE },
	{ "duplicate target name",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\"; policies = [\"p\"]; },\n"
	  "  { name = \"app\"; driver = \"mysql\"; policies = [\"p\"]; }\n);\n",
	  NULL, 'm', 3, "duplicate target name 'app' (first defined at line 2)",
	  PW_NONE },
	{ "bad target name",
	  "targets = (\n  { name = \"app one\"; driver = \"postgres\";\n"
	  "    policies = [ \"p\" ]; }\n);\n", NULL, 'm', 2,
	  "targets[0].name: 'app one' is not a valid name", PW_NONE },
	{ "target name ..",
	  "targets = (\n  { name = \"..\"; driver = \"postgres\";\n"
	  "    policies = [ \"p\" ]; }\n);\n", NULL, 'm', 2,
	  "targets[0].name: '..' is not a valid name", PW_NONE },
	{ "bad driver name",
	  "targets = (\n  { name = \"app\";\n    driver = \"../evil\";\n"
	  "    policies = [ \"p\" ]; }\n);\n", NULL, 'm', 3,
	  "'../evil' is not a valid driver name", PW_NONE },
	{ "target not a group", "targets = ( \"app\" );\n", NULL, 'm', 1,
	  "targets[0] must be a group", PW_NONE },
	{ "targets not a list", "targets = { name = \"app\"; };\n", NULL, 'm', 1,
	  "targets must be a list", PW_NONE },
	{ "password in connection",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    connection = { password = \"hunter2\"; };\n"
	  "    policies = [ \"p\" ]; }\n);\n", NULL, 'm', 3,
	  "no passwords in the configuration file", PW_NONE },
	{ "password in conninfo",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    connection = { conninfo = \"host=x password=hunter2\"; };\n"
	  "    policies = [ \"p\" ]; }\n);\n", NULL, 'm', 3,
	  "targets[0].connection.conninfo: no passwords", PW_NONE },
	{ "float in connection",
	  "targets = (\n  { name = \"app\"; driver = \"postgres\";\n"
	  "    connection = {\n      port = 5432.5; };\n"
	  "    policies = [ \"p\" ]; }\n);\n", NULL, 'm', 4,
	  "targets[0].connection.port must be a string, an integer or "
	  "true/false, not a float", PW_NONE },
	{ "missing include", NULL, "scratch_tables = {\n  dry_run = true;\n};\n",
	  'p', 1, "scratch_tables.include is required", PW_NONE },
	{ "pattern *", NULL,
	  "scratch_tables = {\n  include = [ \"tmp_*\", \"*\" ];\n};\n", 'p', 2,
	  "scratch_tables.include: item 2: pattern '*' would match every table",
	  PW_NONE },
	{ "pattern **", NULL,
	  "scratch_tables = {\n  include = [ \"**\" ];\n};\n", 'p', 2,
	  "pattern '**' would match every table", PW_NONE },
	{ "pattern ?*", NULL,
	  "scratch_tables = {\n  include = [ \"tmp_*\" ];\n  exclude = [ \"?*\" ];\n};\n",
	  'p', 3, "pattern '?*' would match every table", PW_NONE },
	{ "empty pattern", NULL,
	  "scratch_tables = {\n  include = [ \"\" ];\n};\n", 'p', 2,
	  "item 1: must not be empty", PW_NONE },
	{ "unclosed bracket", NULL,
	  "scratch_tables = {\n  include = [ \"tmp_[0-9\" ];\n};\n", 'p', 2,
	  "pattern 'tmp_[0-9' has an unclosed '['", PW_NONE },
	{ "loose password file", MAIN_PW, NULL, 'm', 3,
	  "is readable by group or others (mode 0644); run chmod 600", PW_MODE_0644 },
	{ "group-readable password file", MAIN_PW, NULL, 'm', 3,
	  "(mode 0640)", PW_MODE_0640 },
	{ "missing password file", MAIN_PW, NULL, 'm', 3,
	  "No such file or directory", PW_MISSING },
	{ "password file is a directory", MAIN_PW, NULL, 'm', 3,
	  "is not a regular file", PW_DIR },
	{ "unknown rebuild method", NULL,
	  "indexes = {\n  method = \"concurrently\";\n};\n", 'p', 2,
	  "indexes.method: unknown value 'concurrently' (use online, offline)",
	  PW_NONE },
	{ "unknown syslog facility", "\nsyslog_facility = \"local9\";\n", NULL, 'm',
	  2, "syslog_facility: unknown value 'local9' (use daemon, user, local0",
	  PW_NONE },
	{ "queue_retention below 1d", "queue_retention = \"12h\";\n", NULL, 'm', 1,
	  "queue_retention: '12h' is out of range (minimum 1d)", PW_NONE },
	{ "zero connect_timeout", "connect_timeout = 0;\n", NULL, 'm', 1,
	  "connect_timeout: '0' must be greater than 0", PW_NONE },
	{ "empty state_dir", "state_dir = \"\";\n", NULL, 'm', 1,
	  "state_dir: must not be empty", PW_NONE },
	{ "bad queue name", NULL, "queue = \"my queue\";\n", 'p', 1,
	  "queue: 'my queue' is not a valid name", PW_NONE },
	{ "policy syntax error", NULL, "scratch_tables = {\n  include = [\"a\"\n};\n",
	  'p', 3, "syntax error", PW_NONE },
};

static void check_bad(const char *top, size_t i, const struct bad_case *c)
{
	char name[32];
	char *d = NULL, *main_path = NULL, *pol_path = NULL, *pw = NULL;
	char *want = NULL;
	struct dbk_err err = { 0 };
	struct dbk_config *cfg = NULL;

	snprintf(name, sizeof name, "bad%02zu", i);
	d = make_case_dir(top, name);
	main_path = dbk_xasprintf("%s/dbkeeper.conf", d);
	pol_path = dbk_xasprintf("%s/policies/p.conf", d);
	pw = dbk_xasprintf("%s/pw", d);
	write_file(main_path, c->main != NULL ? c->main : MAIN_OK, 0644);
	write_file(pol_path, c->policy != NULL ? c->policy : POLICY_OK, 0644);
	if (c->pw == PW_MODE_0644)
		write_file(pw, "secret\n", 0644);
	else if (c->pw == PW_MODE_0640)
		write_file(pw, "secret\n", 0640);
	else if (c->pw == PW_DIR && mkdir(pw, 0700) == -1)
		fail_msg("mkdir %s", pw);

	if ((cfg = dbk_config_load(main_path, &err)) != NULL)
		fail_msg("case '%s' was accepted", c->what);
	want = c->line > 0
	    ? dbk_xasprintf("%s:%d: ", c->where == 'm' ? main_path : pol_path,
	                    c->line)
	    : dbk_xasprintf("%s: ", c->where == 'm' ? main_path : pol_path);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("case '%s': message '%s' does not start with '%s'", c->what,
		    err.msg, want);
	if (strstr(err.msg, c->phrase) == NULL)
		fail_msg("case '%s': message '%s' lacks '%s'", c->what, err.msg,
		    c->phrase);
	if (err.code != DBK_E_CONFIG)
		fail_msg("case '%s': code %d", c->what, err.code);
	free(want);
	free(pw);
	free(pol_path);
	free(main_path);
	free(d);
}

static void test_broken_configs(void **state)
{
	for (size_t i = 0; i < DBK_NELEM(bad_cases); i++)
		check_bad(*state, i, &bad_cases[i]);
}

static void test_missing_main_file(void **state)
{
	char *path = dbk_xasprintf("%s/nowhere.conf", (char *)*state);
	char *want = dbk_xasprintf("%s: cannot read: No such file or directory",
	                           path);
	struct dbk_err err = { 0 };

	assert_null(dbk_config_load(path, &err));
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, DBK_E_CONFIG);
	free(want);
	free(path);
}

static void test_policy_file_name(void **state)
{
	char *d = make_case_dir(*state, "pname");
	char *path = dbk_xasprintf("%s/bad name.conf", d);
	struct dbk_policy p;
	struct dbk_err err = { 0 };

	write_file(path, POLICY_OK, 0644);
	assert_int_equal(dbk_policy_load(path, &p, &err), -1);
	assert_non_null(strstr(err.msg, "policy name 'bad name'"));
	free(path);
	free(d);
}

/* ---- Password files ---- */

static void test_password_file(void **state)
{
	static const struct {
		const char *content;
		mode_t mode;
		const char *want;   /* NULL: refused */
		const char *phrase;
	} cases[] = {
		{ "s3cret\n", 0600, "s3cret", NULL },
		{ "s3cret", 0400, "s3cret", NULL },
		{ "s3cret\r\nsecond line\n", 0600, "s3cret", NULL },
		{ "pa ss;'`\"\n", 0600, "pa ss;'`\"", NULL },
		{ "s3cret\n", 0640, NULL, "readable by group or others (mode 0640)" },
		{ "s3cret\n", 0604, NULL, "readable by group or others (mode 0604)" },
		{ "s3cret\n", 0620, NULL, "writable by group or others (mode 0620)" },
		{ "\nsecond\n", 0600, NULL, "is empty" },
		{ "", 0600, NULL, "is empty" },
	};
	char *path = dbk_xasprintf("%s/pwtest", (char *)*state);
	char *link = dbk_xasprintf("%s/pwlink", (char *)*state);
	struct dbk_err err = { 0 };
	char *out = NULL;

	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		write_file(path, cases[i].content, cases[i].mode);
		out = NULL;
		if (cases[i].want != NULL) {
			if (dbk_read_password_file(path, &out, &err) != 0)
				fail_msg("case %zu: %s", i, err.msg);
			assert_string_equal(out, cases[i].want);
			free(out);
			continue;
		}
		assert_int_equal(dbk_read_password_file(path, &out, &err), -1);
		assert_null(out);
		if (strstr(err.msg, cases[i].phrase) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].phrase);
	}
	write_file(path, "s3cret\n", 0600);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dbk_read_password_file(link, &out, &err), -1);
	assert_non_null(strstr(err.msg, "is a symbolic link"));
	unlink(path);
	assert_int_equal(dbk_read_password_file(path, &out, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	free(link);
	free(path);
}

/* ---- What we ship ---- */

static const struct dbk_policy *load_shipped(const char *top, const char *sub,
                                             struct dbk_config **cfgp)
{
	char *d = make_case_dir(top, sub);
	char *path = dbk_xasprintf("%s/dbkeeper.conf", d);
	char *text = dbk_xasprintf(
	    "policy_dir = \"%s/policies\";\n"
	    "targets = ( { name = \"t\"; driver = \"postgres\";\n"
	    "              policies = [ \"housekeeping\" ]; } );\n",
	    DBK_SOURCE_DIR);
	struct dbk_err err = { 0 };

	write_in(d, "dbkeeper.conf", text);
	if ((*cfgp = dbk_config_load(path, &err)) == NULL)
		fail_msg("shipped policy refused: %s", err.msg);
	free(text);
	free(path);
	free(d);
	return (*cfgp)->targets[0].policies[0];
}

static void test_shipped_policy(void **state)
{
	struct dbk_config *cfg = NULL;
	const struct dbk_policy *p = load_shipped(*state, "shipped", &cfg);

	assert_string_equal(p->name, "housekeeping");
	/* every destructive part starts in dry run */
	assert_true(p->scratch.enabled);
	assert_true(p->scratch.dry_run);
	assert_true(p->server_logs.enabled);
	assert_true(p->server_logs.dry_run);
	assert_true(p->indexes.enabled);
	assert_true(p->indexes.dry_run);
	assert_true(!p->logs.enabled || p->logs.dry_run);
	assert_true(p->stats.analyze);

	assert_int_equal(p->scratch.include.n, 6);
	assert_int_equal(p->scratch.exclude.n, 0);
	assert_int_equal(p->scratch.schemas.n, 0);
	assert_int_equal(p->scratch.min_age_s, 7 * 86400);
	assert_true(p->scratch.require_idle);
	assert_true(p->scratch.orphan_temp);
	assert_true(p->scratch.tool_leftovers);
	assert_int_equal(p->server_logs.retention_s, 30 * 86400);
	assert_int_equal(p->server_logs.keep_min, 5);
	assert_int_equal(p->indexes.min_size_bytes, 10LL << 20);
	assert_true(p->indexes.min_bloat_pct == 40.0);
	assert_true(p->indexes.drop_invalid);
	assert_int_equal(p->indexes.rebuild_method, DBK_REBUILD_ONLINE);
	dbk_config_free(cfg);
}

/* The decoys look like scratch tables to a careless eye; the shipped
 * patterns must leave them alone, and must catch the real leftovers. */
static void test_shipped_patterns(void **state)
{
	static const struct { const char *name; bool match; } cases[] = {
		{ "temperature", false }, { "template_pages", false },
		{ "tmpl_pages", false }, { "tmp", false }, { "temp", false },
		{ "orders_bak", false }, { "orders_backup", false },
		{ "orders_old", false }, { "backup_orders", false },
		{ "scratchpad", false }, { "attempts", false },
		{ "tmp_import", true }, { "temp_x", true }, { "scratch_1", true },
		{ "orders_bak_20240101", true }, { "orders_backup_2", true },
		{ "users_old_1", true },
		{ "tmp_x`; DROP TABLE t;--", true },
	};
	struct dbk_config *cfg = NULL;
	const struct dbk_policy *p = load_shipped(*state, "patterns", &cfg);

	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		bool hit = false;

		for (unsigned j = 0; j < p->scratch.include.n; j++)
			if (fnmatch(p->scratch.include.v[j], cases[i].name, 0) == 0)
				hit = true;
		if (hit != cases[i].match)
			fail_msg("'%s' %s", cases[i].name,
			    hit ? "matches a shipped pattern" : "is not matched");
	}
	dbk_config_free(cfg);
}

static void test_sample_config(void **state)
{
	char *d = make_case_dir(*state, "sample");
	char *src = dbk_xasprintf("%s/packaging/dbkeeper.conf", DBK_SOURCE_DIR);
	char *path = dbk_xasprintf("%s/dbkeeper.conf", d);
	char *pol = dbk_xasprintf("%s/policies/housekeeping.conf", d);
	char *pol_src = dbk_xasprintf("%s/policies/housekeeping.conf",
	                              DBK_SOURCE_DIR);
	struct dbk_err err = { 0 };
	struct dbk_config *cfg = NULL;
	const struct dbk_target *t = NULL;

	/* the sample's policy_dir defaults to policies/ beside it; it names
	 * the shipped housekeeping policy and rule packs */
	assert_int_equal(symlink(src, path), 0);
	assert_int_equal(symlink(pol_src, pol), 0);
	for (int i = 0; i < 2; i++) {
		static const char *const packs[] = { "rules-postgres", "rules-mysql" };
		char *ps = dbk_xasprintf("%s/policies/%s.conf", DBK_SOURCE_DIR, packs[i]);
		char *pd = dbk_xasprintf("%s/policies/%s.conf", d, packs[i]);

		assert_int_equal(symlink(ps, pd), 0);
		free(ps);
		free(pd);
	}
	if ((cfg = dbk_config_load(path, &err)) == NULL)
		fail_msg("sample config refused: %s", err.msg);
	assert_int_equal(cfg->n_targets, 2);
	t = dbk_config_target(cfg, "app");
	assert_non_null(t);
	assert_string_equal(t->driver, "postgres");
	assert_string_equal(t->options[0].key, "conninfo");
	t = dbk_config_target(cfg, "shop");
	assert_non_null(t);
	assert_string_equal(t->driver, "mysql");
	assert_int_equal(t->n_options, 4);
	assert_string_equal(t->policies[0]->name, "housekeeping");
	assert_string_equal(t->policies[1]->name, "rules-mysql");
	assert_int_equal(cfg->n_policies, 3);
	dbk_config_free(cfg);
	free(pol_src);
	free(pol);
	free(path);
	free(src);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_restart_changes),
		cmocka_unit_test(test_broken_configs),
		cmocka_unit_test(test_missing_main_file),
		cmocka_unit_test(test_policy_file_name),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_shipped_policy),
		cmocka_unit_test(test_shipped_patterns),
		cmocka_unit_test(test_sample_config),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
