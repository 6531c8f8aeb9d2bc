/* agent/policy.c: policy files, one policy per file: what housekeeping to
 * do on a target (scratch tables, log tables, server logs, indexes,
 * statistics), when (intervals, windows) and within which budget, and the
 * tuning rules that raise findings. Parses and validates through the key
 * tables below; deciding is the planner's and rules.c's job. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"
#include "keytab.h"
#include "rules.h"

/* Every task section has the same two schedule keys; only the default
 * interval differs. */
#define SCHEDULE_KEYS(type, every)                                             \
	{ DBK_KEY("interval", DBK_T_DURATION_S,                                \
	          offsetof(type, schedule.interval_s), every, DBK_KEY_POSITIVE,\
	          "run the task at most once per this long") },                \
	{ DBK_KEY("window", DBK_T_SCHED_WINDOW, offsetof(type, schedule),      \
	          NULL, 0, "when the task may run; default: the policy's window") }

static const struct dbk_key budget_keys[] = {
	{ DBK_KEY("max_run_time", DBK_T_DURATION_S,
	          offsetof(struct dbk_budget, max_run_time_s), "30m",
	          DBK_KEY_POSITIVE,
	          "start no new action after this long; the rest is carried over") },
	{ DBK_KEY("lock_timeout", DBK_T_DURATION_MS,
	          offsetof(struct dbk_budget, lock_timeout_ms), "5s",
	          DBK_KEY_POSITIVE,
	          "give up on an object whose lock is not granted within this") },
	{ DBK_KEY("statement_timeout", DBK_T_DURATION_MS,
	          offsetof(struct dbk_budget, statement_timeout_ms), "10m",
	          DBK_KEY_POSITIVE, "cancel any maintenance statement after this") },
	{ DBK_KEY("observe_timeout", DBK_T_DURATION_MS,
	          offsetof(struct dbk_budget, observe_timeout_ms), "30s",
	          DBK_KEY_POSITIVE, "cancel any catalog query after this") },
	{ DBK_KEY("max_replica_lag", DBK_T_DURATION_MS,
	          offsetof(struct dbk_budget, max_replica_lag_ms), "30s", 0,
	          "pause batches while a replica lags more than this; 0: no guard") },
	{ .name = NULL },
};

static const struct dbk_key scratch_keys[] = {
	{ DBK_KEY("enabled", DBK_T_BOOL, offsetof(struct dbk_pol_scratch, enabled),
	          "true", 0, "a present section is on unless this is false") },
	{ DBK_KEY("dry_run", DBK_T_BOOL, offsetof(struct dbk_pol_scratch, dry_run),
	          "true", 0, "plan and report the drops, run nothing") },
	{ DBK_KEY("schemas", DBK_T_STRV, offsetof(struct dbk_pol_scratch, schemas),
	          NULL, 0, "schemas (databases on MySQL) to look in; empty: "
	          "every non-system schema") },
	{ DBK_KEY("include", DBK_T_GLOBS, offsetof(struct dbk_pol_scratch, include),
	          NULL, 0, "fnmatch patterns of droppable table names; required") },
	{ DBK_KEY("exclude", DBK_T_GLOBS, offsetof(struct dbk_pol_scratch, exclude),
	          NULL, 0, "patterns of table names never dropped, even if included") },
	{ DBK_KEY("min_age", DBK_T_DURATION_S,
	          offsetof(struct dbk_pol_scratch, min_age_s), "7d", DBK_KEY_POSITIVE,
	          "never drop a table younger than this (or first seen less "
	          "than this ago)") },
	{ DBK_KEY("max_per_run", DBK_T_INT,
	          offsetof(struct dbk_pol_scratch, max_per_run), "100", 0,
	          "drop at most this many tables per run"), .min = "1" },
	{ DBK_KEY("max_per_statement", DBK_T_INT,
	          offsetof(struct dbk_pol_scratch, max_per_statement), "20", 0,
	          "tables dropped together in one statement"),
	  .min = "1", .max = "1000" },
	{ DBK_KEY("require_idle", DBK_T_BOOL,
	          offsetof(struct dbk_pol_scratch, require_idle), "true", 0,
	          "drop only tables with no writes between two observations") },
	{ DBK_KEY("orphan_temp", DBK_T_BOOL,
	          offsetof(struct dbk_pol_scratch, orphan_temp), "true", 0,
	          "also drop temporary tables left by sessions that are gone") },
	{ DBK_KEY("tool_leftovers", DBK_T_BOOL,
	          offsetof(struct dbk_pol_scratch, tool_leftovers), "false", 0,
	          "also drop leftovers of pg_repack, pt-osc and gh-ost when the "
	          "tool is not running") },
	SCHEDULE_KEYS(struct dbk_pol_scratch, "1h"),
	{ .name = NULL },
};

static const struct dbk_key logtable_keys[] = {
	{ DBK_KEY("schema", DBK_T_STRING, offsetof(struct dbk_pol_logtable, schema),
	          NULL, 0, "schema (database on MySQL); default: the connection's") },
	{ DBK_KEY("table", DBK_T_STRING, offsetof(struct dbk_pol_logtable, table),
	          NULL, DBK_KEY_REQUIRED, "the log table") },
	{ DBK_KEY("time_column", DBK_T_STRING,
	          offsetof(struct dbk_pol_logtable, time_column), NULL,
	          DBK_KEY_REQUIRED, "timestamp column that ages a row") },
	{ DBK_KEY("retention", DBK_T_DURATION_S,
	          offsetof(struct dbk_pol_logtable, retention_s), NULL,
	          DBK_KEY_REQUIRED | DBK_KEY_POSITIVE,
	          "delete rows older than this") },
	{ DBK_KEY("batch_size", DBK_T_INT,
	          offsetof(struct dbk_pol_logtable, batch_rows), "5000", 0,
	          "rows deleted per statement"), .min = "1", .max = "1000000" },
	{ DBK_KEY("pause", DBK_T_DURATION_MS,
	          offsetof(struct dbk_pol_logtable, pause_ms), "100ms", 0,
	          "sleep between batches, to let replicas and vacuum keep up"),
	  .max = "1h" },
	{ .name = NULL },
};

static int logtables_parse(const config_setting_t *s, void *base,
                           const struct dbk_keyctx *ctx, struct dbk_err *err);
static void logtables_free(void *base);

static const struct dbk_key logs_keys[] = {
	{ DBK_KEY("enabled", DBK_T_BOOL, offsetof(struct dbk_pol_logs, enabled),
	          "true", 0, "a present section is on unless this is false") },
	{ DBK_KEY("dry_run", DBK_T_BOOL, offsetof(struct dbk_pol_logs, dry_run),
	          "true", 0, "plan and report the deletes, run nothing") },
	{ DBK_KEY("tables", DBK_T_CUSTOM, 0, NULL, 0,
	          "( { schema; table; time_column; retention; batch_size; "
	          "pause; }, ... )"),
	  .parse = logtables_parse, .free = logtables_free },
	SCHEDULE_KEYS(struct dbk_pol_logs, "1h"),
	{ .name = NULL },
};

static const struct dbk_key serverlogs_keys[] = {
	{ DBK_KEY("enabled", DBK_T_BOOL,
	          offsetof(struct dbk_pol_serverlogs, enabled), "true", 0,
	          "a present section is on unless this is false") },
	{ DBK_KEY("dry_run", DBK_T_BOOL,
	          offsetof(struct dbk_pol_serverlogs, dry_run), "true", 0,
	          "plan and report the removals, remove nothing") },
	{ DBK_KEY("retention", DBK_T_DURATION_S,
	          offsetof(struct dbk_pol_serverlogs, retention_s), "14d",
	          DBK_KEY_POSITIVE, "remove server log files older than this") },
	{ DBK_KEY("keep", DBK_T_INT, offsetof(struct dbk_pol_serverlogs, keep_min),
	          "2", 0, "always keep at least this many newest files"),
	  .min = "0" },
	{ DBK_KEY("forget_replica_after", DBK_T_DURATION_S,
	          offsetof(struct dbk_pol_serverlogs, forget_replica_s), "7d",
	          DBK_KEY_POSITIVE, "a replica seen before and absent this long no"
	          " longer holds binary logs back") },
	SCHEDULE_KEYS(struct dbk_pol_serverlogs, "1d"),
	{ .name = NULL },
};

static const struct dbk_key_choice rebuild_methods[] = {
	{ "online", DBK_REBUILD_ONLINE },
	{ "offline", DBK_REBUILD_OFFLINE },
	{ NULL, 0 },
};

static const struct dbk_key indexes_keys[] = {
	{ DBK_KEY("enabled", DBK_T_BOOL, offsetof(struct dbk_pol_indexes, enabled),
	          "true", 0, "a present section is on unless this is false") },
	{ DBK_KEY("dry_run", DBK_T_BOOL, offsetof(struct dbk_pol_indexes, dry_run),
	          "true", 0, "plan and report rebuilds and drops, run nothing") },
	{ DBK_KEY("min_size", DBK_T_SIZE,
	          offsetof(struct dbk_pol_indexes, min_size_bytes), "10MB", 0,
	          "ignore smaller indexes") },
	{ DBK_KEY("min_bloat", DBK_T_NUMBER,
	          offsetof(struct dbk_pol_indexes, min_bloat_pct), "30", 0,
	          "rebuild when estimated bloat is at least this percent"),
	  .min = "0", .max = "100" },
	{ DBK_KEY("drop_invalid", DBK_T_BOOL,
	          offsetof(struct dbk_pol_indexes, drop_invalid), "true", 0,
	          "drop invalid indexes left by failed concurrent builds") },
	{ DBK_KEY("method", DBK_T_ENUM,
	          offsetof(struct dbk_pol_indexes, rebuild_method), "online", 0,
	          "online: without blocking writes; offline: plain rebuild"),
	  .choices = rebuild_methods },
	{ DBK_KEY("max_per_run", DBK_T_INT,
	          offsetof(struct dbk_pol_indexes, max_per_run), "5", 0,
	          "rebuild at most this many indexes per run"), .min = "1" },
	SCHEDULE_KEYS(struct dbk_pol_indexes, "1d"),
	{ .name = NULL },
};

static const struct dbk_key stats_keys[] = {
	{ DBK_KEY("analyze", DBK_T_BOOL, offsetof(struct dbk_pol_stats, analyze),
	          "true", 0, "refresh stale planner statistics (ANALYZE)") },
	{ DBK_KEY("dry_run", DBK_T_BOOL, offsetof(struct dbk_pol_stats, dry_run),
	          "false", 0, "plan and report, analyze nothing") },
	{ DBK_KEY("stale_ratio", DBK_T_NUMBER,
	          offsetof(struct dbk_pol_stats, stale_ratio), "0.1",
	          DBK_KEY_POSITIVE,
	          "statistics are stale when rows modified since the last "
	          "analyze exceed this fraction of the rows"), .max = "1" },
	{ DBK_KEY("stale_min_rows", DBK_T_INT,
	          offsetof(struct dbk_pol_stats, stale_min_rows), "1000", 0,
	          "tables with fewer rows than this are never analyzed"), .min = "0" },
	SCHEDULE_KEYS(struct dbk_pol_stats, "6h"),
	{ DBK_KEY("metrics_interval", DBK_T_DURATION_S,
	          offsetof(struct dbk_pol_stats, metrics_interval_s), "5m",
	          DBK_KEY_POSITIVE, "collect performance statistics this often") },
	{ .name = NULL },
};

static const struct dbk_key_choice rule_ops[] = {
	{ "<", DBK_OP_LT }, { "<=", DBK_OP_LE }, { ">", DBK_OP_GT },
	{ ">=", DBK_OP_GE }, { "==", DBK_OP_EQ }, { "!=", DBK_OP_NE },
	{ NULL, 0 },
};

/* info, warning and critical have no default: absent means the level is
 * not used (the parser leaves the NAN that rules_parse puts there). */
static const struct dbk_key rule_keys[] = {
	{ DBK_KEY("name", DBK_T_STRING, offsetof(struct dbk_rule, name), NULL,
	          DBK_KEY_REQUIRED | DBK_KEY_NAME,
	          "unique in the policy; names the finding") },
	{ DBK_KEY("metric", DBK_T_STRING, offsetof(struct dbk_rule, metric), NULL,
	          DBK_KEY_REQUIRED, "the fact tested, or metric.<driver metric>") },
	{ DBK_KEY("op", DBK_T_ENUM, offsetof(struct dbk_rule, op), NULL,
	          DBK_KEY_REQUIRED, "<, <=, >, >=, == or !="), .choices = rule_ops },
	{ DBK_KEY("info", DBK_T_NUMBER,
	          offsetof(struct dbk_rule, threshold[0]), NULL, 0,
	          "threshold of an info finding") },
	{ DBK_KEY("warning", DBK_T_NUMBER,
	          offsetof(struct dbk_rule, threshold[1]), NULL, 0,
	          "threshold of a warning") },
	{ DBK_KEY("critical", DBK_T_NUMBER,
	          offsetof(struct dbk_rule, threshold[2]), NULL, 0,
	          "threshold of a critical finding") },
	{ DBK_KEY("for", DBK_T_DURATION_S, offsetof(struct dbk_rule, for_s), "0", 0,
	          "the condition must hold this long before it is reported") },
	{ DBK_KEY("category", DBK_T_STRING, offsetof(struct dbk_rule, category),
	          "tuning", DBK_KEY_NAME, "finding category") },
	{ DBK_KEY("title", DBK_T_STRING, offsetof(struct dbk_rule, title), NULL, 0,
	          "template of the finding's title") },
	{ DBK_KEY("recommendation", DBK_T_STRING,
	          offsetof(struct dbk_rule, recommendation), NULL, 0,
	          "template of the remedy; default: the fact's own remedy") },
	{ DBK_KEY("enabled", DBK_T_BOOL, offsetof(struct dbk_rule, enabled), "true",
	          0, "false keeps the rule in the file without using it") },
	{ .name = NULL },
};

static int rules_parse(const config_setting_t *s, void *base,
                       const struct dbk_keyctx *ctx, struct dbk_err *err);
static void rules_free(void *base);

static const struct dbk_key policy_keys[] = {
	{ DBK_KEY("queue", DBK_T_STRING, offsetof(struct dbk_policy, queue),
	          "reports", DBK_KEY_NAME, "report queue for findings and actions") },
	{ DBK_KEY("window", DBK_T_WINDOWS, offsetof(struct dbk_policy, window),
	          "always", 0, "maintenance window of every task that names none") },
	{ DBK_KEY("budget", DBK_T_GROUP, offsetof(struct dbk_policy, budget), NULL,
	          0, "limits of one run"), .sub = budget_keys },
	{ DBK_KEY("scratch_tables", DBK_T_GROUP, offsetof(struct dbk_policy, scratch),
	          NULL, 0, "drop leftover scratch tables"), .sub = scratch_keys },
	{ DBK_KEY("log_tables", DBK_T_GROUP, offsetof(struct dbk_policy, logs), NULL,
	          0, "delete old rows of log tables"), .sub = logs_keys },
	{ DBK_KEY("server_logs", DBK_T_GROUP,
	          offsetof(struct dbk_policy, server_logs), NULL, 0,
	          "remove old server log files"), .sub = serverlogs_keys },
	{ DBK_KEY("indexes", DBK_T_GROUP, offsetof(struct dbk_policy, indexes), NULL,
	          0, "drop invalid and rebuild bloated indexes"), .sub = indexes_keys },
	{ DBK_KEY("statistics", DBK_T_GROUP, offsetof(struct dbk_policy, stats),
	          NULL, 0, "statistics refresh and collection"), .sub = stats_keys },
	{ DBK_KEY("rules", DBK_T_CUSTOM, 0, NULL, 0,
	          "( { name; metric; op; info; warning; critical; for; category; "
	          "title; recommendation; enabled; }, ... )"),
	  .parse = rules_parse, .free = rules_free },
	{ DBK_KEY("reminder", DBK_T_DURATION_S, offsetof(struct dbk_policy, reminder_s),
	          "1d", DBK_KEY_POSITIVE,
	          "report a finding that stays open again this often") },
	{ .name = NULL },
};

/* ---- log_tables.tables ---- */

static int logtables_parse(const config_setting_t *s, void *base,
                           const struct dbk_keyctx *ctx, struct dbk_err *err)
{
	struct dbk_pol_logs *logs = base;
	int n = 0;

	if (s == NULL)
		return 0;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return dbk_keytab_error(err, s, ctx,
		    "%s must be a list of groups ( { table = ...; }, ... ), not %s",
		    ctx->path, dbk_keytab_type_name(config_setting_type(s)));
	n = config_setting_length(s);
	logs->v = dbk_xcalloc((size_t)n, sizeof *logs->v);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char *path = dbk_xasprintf("%s[%d]", ctx->path, i);
		struct dbk_keyctx sub = *ctx;
		int rc = 0;

		sub.path = path;
		sub.file = config_setting_source_file(e);
		sub.line = (int)config_setting_source_line(e);
		logs->n = (unsigned)i + 1; /* so a failure frees what was parsed */
		if (!config_setting_is_group(e))
			rc = dbk_keytab_error(err, e, ctx, "%s must be a group { ... }, "
			    "not %s", path, dbk_keytab_type_name(config_setting_type(e)));
		else
			rc = dbk_keytab_apply(logtable_keys, e, &logs->v[i], &sub, err);
		free(path);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static void logtables_free(void *base)
{
	struct dbk_pol_logs *logs = base;

	for (unsigned i = 0; i < logs->n; i++)
		dbk_keytab_free(logtable_keys, &logs->v[i]);
	free(logs->v);
	logs->v = NULL;
	logs->n = 0;
}

/* ---- rules ---- */

static int rule_parse_one(const config_setting_t *e, struct dbk_rule *r,
                          const struct dbk_rules *done,
                          const struct dbk_keyctx *sub, struct dbk_err *err)
{
	char why[400];

	for (int k = 0; k < 3; k++)
		r->threshold[k] = NAN;
	if (!config_setting_is_group(e))
		return dbk_keytab_error(err, e, sub, "%s must be a group { ... }, "
		    "not %s", sub->path, dbk_keytab_type_name(config_setting_type(e)));
	if (dbk_keytab_apply(rule_keys, e, r, sub, err) == -1)
		return -1;
	for (unsigned k = 0; k + 1 < done->n; k++)
		if (strcmp(done->v[k].name, r->name) == 0)
			return dbk_keytab_error(err, e, sub, "%s: duplicate rule name "
			    "'%s'", sub->path, r->name);
	if (!dbk_rule_check(r, why, sizeof why))
		return dbk_keytab_error(err, e, sub, "%s (rule '%s'): %s", sub->path,
		    r->name, why);
	return 0;
}

static int rules_parse(const config_setting_t *s, void *base,
                       const struct dbk_keyctx *ctx, struct dbk_err *err)
{
	struct dbk_rules *rules = &((struct dbk_policy *)base)->rules;
	int n = 0;

	if (s == NULL)
		return 0;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return dbk_keytab_error(err, s, ctx,
		    "%s must be a list of groups ( { name = ...; ... }, ... ), not %s",
		    ctx->path, dbk_keytab_type_name(config_setting_type(s)));
	n = config_setting_length(s);
	rules->v = dbk_xcalloc((size_t)n + 1, sizeof *rules->v);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char *path = dbk_xasprintf("%s[%d]", ctx->path, i);
		struct dbk_keyctx sub = *ctx;
		int rc = 0;

		sub.path = path;
		sub.file = config_setting_source_file(e);
		sub.line = (int)config_setting_source_line(e);
		rules->n = (unsigned)i + 1; /* so a failure frees what was parsed */
		rc = rule_parse_one(e, &rules->v[i], rules, &sub, err);
		free(path);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static void rules_free(void *base)
{
	struct dbk_rules *rules = &((struct dbk_policy *)base)->rules;

	for (unsigned i = 0; i < rules->n; i++)
		dbk_keytab_free(rule_keys, &rules->v[i]);
	free(rules->v);
	rules->v = NULL;
	rules->n = 0;
}

/* ---- Whole-policy checks the per-key tables cannot express ---- */

/* The key table applies defaults to absent sections too, so an absent
 * section has sane values; it is only switched off. */
static void switch_off_absent(config_setting_t *root, struct dbk_policy *p)
{
	if (config_setting_get_member(root, "scratch_tables") == NULL)
		p->scratch.enabled = false;
	if (config_setting_get_member(root, "log_tables") == NULL)
		p->logs.enabled = false;
	if (config_setting_get_member(root, "server_logs") == NULL)
		p->server_logs.enabled = false;
	if (config_setting_get_member(root, "indexes") == NULL)
		p->indexes.enabled = false;
	if (config_setting_get_member(root, "statistics") == NULL)
		p->stats.analyze = false;
}

static int check_sections(config_setting_t *root, const struct dbk_policy *p,
                          struct dbk_err *err)
{
	const config_setting_t *s = NULL;

	s = config_setting_get_member(root, "scratch_tables");
	if (p->scratch.enabled && p->scratch.include.n == 0)
		return dbk_keytab_error(err, s, NULL,
		    "scratch_tables.include is required when scratch_tables is "
		    "enabled: list the name patterns of droppable tables, e.g. "
		    "[\"tmp_*\"], or set enabled = false");
	s = config_setting_get_member(root, "log_tables");
	if (p->logs.enabled && p->logs.n == 0)
		return dbk_keytab_error(err, s, NULL,
		    "log_tables.tables is empty: list at least one table "
		    "( { table = ...; time_column = ...; retention = ...; } ), or "
		    "set enabled = false");
	return 0;
}

/* "/etc/dbkeeper/policies/housekeeping.conf" -> "housekeeping". */
static char *policy_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len = 0;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
		len -= 5;
	return dbk_xasprintf("%.*s", (int)len, base);
}

int dbk_policy_load(const char *path, struct dbk_policy *out,
                    struct dbk_err *err)
{
	struct dbk_policy p;
	struct dbk_keyctx ctx;
	config_t cf;
	struct dbk_err spare;
	char *dir = NULL;
	int rc = -1;

	if (err == NULL) /* messages are built from err->msg */
		err = &spare;
	memset(out, 0, sizeof *out);
	memset(&p, 0, sizeof p);
	config_init(&cf);
	p.name = policy_name(path);
	p.file = dbk_xstrdup(path);
	if (!dbk_keytab_is_name(p.name)) {
		dbk_err_set(err, DBK_E_CONFIG, "%s: policy name '%s' (the file name "
		    "without .conf) may hold only letters, digits, '_', '.', '-'",
		    path, p.name);
		goto out;
	}
	if (dbk_keytab_read(&cf, path, err) == -1)
		goto out;
	dir = dbk_keytab_dirname(path);
	ctx = (struct dbk_keyctx){ .file = path, .line = 0, .path = "",
	                           .base_dir = dir, .user = NULL };
	if (dbk_keytab_apply(policy_keys, config_root_setting(&cf), &p, &ctx,
	                     err) == -1)
		goto out;
	switch_off_absent(config_root_setting(&cf), &p);
	if (check_sections(config_root_setting(&cf), &p, err) == -1)
		goto out;
	*out = p;
	memset(&p, 0, sizeof p); /* now owned by *out */
	rc = 0;
out:
	dbk_policy_clear(&p);
	free(dir);
	config_destroy(&cf);
	return rc;
}

void dbk_policy_clear(struct dbk_policy *p)
{
	if (p == NULL)
		return;
	dbk_keytab_free(policy_keys, p);
	free(p->name);
	free(p->file);
	memset(p, 0, sizeof *p);
}
