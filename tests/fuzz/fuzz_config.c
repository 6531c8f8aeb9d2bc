/* tests/fuzz/fuzz_config.c: libFuzzer harness for the configuration and
 * policy parsers (dbk_config_load, dbk_policy_load): accept or refuse with
 * a located message, never crash or leak; what is accepted must be
 * self-consistent. */
#include "fuzz_common.h"

#include <strings.h>

#include "config.h"
#include "keytab.h"

#define FUZZ_MAX_INPUT (16 * 1024)
#define N_PARTS 3

/* A minimal policy, for when the shipped one cannot be read. */
static const char fallback_policy[] =
	"scratch_tables = { include = [ \"tmp_*\" ]; };\n";

static char *dir;          /* this process's scratch directory */
static char *main_path;
static char *part_paths[N_PARTS];

static void cleanup(void)
{
	char *pol = NULL;

	if (dir == NULL)
		return;
	pol = dbk_xasprintf("%s/policies", dir);
	fuzz_empty_dir(pol);
	rmdir(pol);
	free(pol);
	fuzz_empty_dir(dir);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *pol = NULL, *hk = NULL, *shipped = NULL;
	const char *src = getenv("DBK_SOURCE_DIR");
	size_t len = 0;

	(void)argc;
	(void)argv;
	dir = fuzz_tmpdir("config");
	main_path = dbk_xasprintf("%s/main.conf", dir);
	part_paths[0] = main_path;
	part_paths[1] = dbk_xasprintf("%s/policies/fuzz.conf", dir);
	part_paths[2] = dbk_xasprintf("%s/policies/other.conf", dir);
	pol = dbk_xasprintf("%s/policies", dir);
	if (mkdir(pol, 0700) == -1) {
		perror(pol);
		abort();
	}
	/* The shipped policy, so main files naming "housekeeping" resolve. */
	hk = dbk_xasprintf("%s/housekeeping.conf", pol);
	shipped = dbk_xasprintf("%s/policies/housekeeping.conf",
	                        src != NULL ? src : DBK_SOURCE_DIR);
	{
		char *text = dbk_read_file(shipped, 1 << 20, &len, NULL);

		if (text != NULL)
			fuzz_write(hk, (const uint8_t *)text, len);
		else
			fuzz_write(hk, (const uint8_t *)fallback_policy,
			           sizeof fallback_policy - 1);
		free(text);
	}
	/* Password files a main file may name: "pw" is fine, "pw-loose"
	 * is refused (mode 0644). */
	free(hk);
	hk = dbk_xasprintf("%s/pw", dir);
	fuzz_write(hk, (const uint8_t *)"s3cret\n", 7);
	free(hk);
	hk = dbk_xasprintf("%s/pw-loose", dir);
	fuzz_write(hk, (const uint8_t *)"s3cret\n", 7);
	chmod(hk, 0644);
	free(shipped);
	free(hk);
	free(pol);
	atexit(cleanup);
	return 0;
}

/* libconfig's @include would let an input read any file on the host
 * (/dev/zero, say); that is libconfig's business, not ours, so such inputs
 * are skipped. */
static bool has_include(const uint8_t *data, size_t size)
{
	static const char word[] = "@include";

	for (size_t i = 0; i + sizeof word - 1 <= size; i++)
		if (strncasecmp((const char *)data + i, word, sizeof word - 1) == 0)
			return true;
	return false;
}

/* Splits data at "\n%%\n" into up to N_PARTS files (missing parts empty). */
static void write_parts(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n%%\n";
	const size_t seplen = sizeof sep - 1;
	size_t start = 0;

	for (int part = 0; part < N_PARTS; part++) {
		size_t end = size;

		if (start > size) /* no separator left: the part is empty */
			start = size;
		if (part < N_PARTS - 1)
			for (size_t i = start; i + seplen <= size; i++)
				if (memcmp(data + i, sep, seplen) == 0) {
					end = i;
					break;
				}
		fuzz_write(part_paths[part], data + start, end - start);
		start = end + seplen;
	}
}

static void check_policy(const struct dbk_policy *p)
{
	FUZZ_CHECK(p->name != NULL && dbk_keytab_is_name(p->name), "policy name");
	FUZZ_CHECK(p->queue != NULL && dbk_keytab_is_name(p->queue),
	           "queue name '%s'", p->queue ? p->queue : "(null)");
	FUZZ_CHECK(p->budget.max_run_time_s > 0 && p->budget.lock_timeout_ms > 0 &&
	           p->budget.statement_timeout_ms > 0 &&
	           p->budget.observe_timeout_ms > 0 &&
	           p->budget.max_replica_lag_ms >= 0, "budget out of range");
	FUZZ_CHECK(!p->scratch.enabled || p->scratch.include.n > 0,
	           "scratch enabled without include patterns");
	FUZZ_CHECK(p->scratch.max_per_run >= 1, "scratch.max_per_run %lld",
	           (long long)p->scratch.max_per_run);
	FUZZ_CHECK(p->scratch.max_per_statement >= 1 &&
	           p->scratch.max_per_statement <= 1000, "max_per_statement");
	FUZZ_CHECK(p->scratch.min_age_s > 0, "min_age");
	for (unsigned i = 0; i < p->scratch.include.n; i++) {
		char why[128];

		FUZZ_CHECK(dbk_keytab_glob_ok(p->scratch.include.v[i], why, sizeof why),
		           "accepted include pattern fails glob_ok: %s", why);
	}
	FUZZ_CHECK(!p->logs.enabled || p->logs.n > 0, "log_tables without tables");
	for (unsigned i = 0; i < p->logs.n; i++)
		FUZZ_CHECK(p->logs.v[i].table != NULL &&
		           p->logs.v[i].time_column != NULL &&
		           p->logs.v[i].retention_s > 0 &&
		           p->logs.v[i].batch_rows >= 1 &&
		           p->logs.v[i].batch_rows <= 1000000, "log table %u", i);
	FUZZ_CHECK(p->indexes.max_per_run >= 1, "indexes.max_per_run");
	FUZZ_CHECK(p->indexes.min_bloat_pct >= 0 && p->indexes.min_bloat_pct <= 100,
	           "min_bloat");
	FUZZ_CHECK(p->stats.stale_ratio > 0 && p->stats.stale_ratio <= 1,
	           "stale_ratio");
	FUZZ_CHECK(p->server_logs.keep_min >= 0 && p->server_logs.retention_s > 0,
	           "server_logs");
}

static void check_config(const struct dbk_config *cfg)
{
	char buf[256];

	FUZZ_CHECK(cfg->state_dir != NULL && cfg->queue_dir != NULL &&
	           cfg->policy_dir != NULL, "directories");
	FUZZ_CHECK(cfg->connect_timeout_ms > 0, "connect_timeout");
	FUZZ_CHECK(cfg->retention_s >= 86400, "queue_retention");
	for (unsigned i = 0; i < cfg->n_targets; i++) {
		const struct dbk_target *t = &cfg->targets[i];

		FUZZ_CHECK(t->name != NULL && dbk_keytab_is_name(t->name), "target");
		FUZZ_CHECK(dbk_config_target(cfg, t->name) == t, "duplicate target");
		FUZZ_CHECK(t->driver != NULL && *t->driver != '\0', "driver");
		FUZZ_CHECK(t->n_policies == t->policy_names.n && t->n_policies > 0,
		           "policies resolved");
		for (unsigned j = 0; j < t->n_policies; j++)
			FUZZ_CHECK(t->policies[j] != NULL &&
			           strcmp(t->policies[j]->name, t->policy_names.v[j]) == 0,
			           "policy %u of target %s", j, t->name);
		for (unsigned j = 0; j < t->n_options; j++)
			FUZZ_CHECK(strcasecmp(t->options[j].key, "password") != 0,
			           "a password option was accepted");
	}
	for (unsigned i = 0; i < cfg->n_policies; i++)
		check_policy(&cfg->policies[i]);
	FUZZ_CHECK(dbk_config_restart_changes(cfg, cfg, buf, sizeof buf) == 0,
	           "a config differs from itself: %s", buf);
}

/* The input is split at lines holding only "%%": the main file, then
 * policies/fuzz.conf, then policies/other.conf, in a private directory that
 * also holds the shipped policy as policies/housekeeping.conf. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbk_config *cfg = NULL;
	struct dbk_policy pol;
	struct dbk_err err;

	if (size > FUZZ_MAX_INPUT || has_include(data, size))
		return 0;
	write_parts(data, size);

	memset(&err, 0, sizeof err);
	if (dbk_policy_load(part_paths[1], &pol, &err) == 0) {
		check_policy(&pol);
		dbk_policy_clear(&pol);
	} else {
		FUZZ_CHECK(err.msg[0] != '\0', "policy refused without a message");
	}

	memset(&err, 0, sizeof err);
	if ((cfg = dbk_config_load(main_path, &err)) != NULL)
		check_config(cfg);
	else
		FUZZ_CHECK(err.msg[0] != '\0', "config refused without a message");
	dbk_config_free(cfg);
	return 0;
}
