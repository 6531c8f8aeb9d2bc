/* agent/cmd_check.c: the summary `check-config` prints once everything
 * validated. Validation itself is config.c's and driver_loader.c's. */
#include "cmd_check.h"

#include <jansson.h>
#include <stdio.h>

#include "planner.h"

static const char *onoff(bool enabled, bool dry_run)
{
	return !enabled ? "off" : dry_run ? "dry-run" : "ON";
}

static void print_policy(const struct dbk_policy *p)
{
	char b1[32], b2[32];

	printf("  policy %s (%s), queue %s\n", p->name, p->file, p->queue);
	printf("    scratch tables: %s", onoff(p->scratch.enabled, p->scratch.dry_run));
	if (p->scratch.enabled)
		printf(", %u patterns, min age %s, at most %lld per run",
		       p->scratch.include.n,
		       dbk_fmt_duration(p->scratch.min_age_s, b1, sizeof b1),
		       (long long)p->scratch.max_per_run);
	printf("\n    log tables: %s", onoff(p->logs.enabled, p->logs.dry_run));
	if (p->logs.enabled)
		printf(", %u tables", p->logs.n);
	printf("\n    server logs: %s", onoff(p->server_logs.enabled, p->server_logs.dry_run));
	if (p->server_logs.enabled)
		printf(", retention %s",
		       dbk_fmt_duration(p->server_logs.retention_s, b1, sizeof b1));
	printf("\n    indexes: %s", onoff(p->indexes.enabled, p->indexes.dry_run));
	if (p->indexes.enabled)
		printf(", rebuild above %.0f%% bloat and %s", p->indexes.min_bloat_pct,
		       dbk_fmt_bytes(p->indexes.min_size_bytes, b2, sizeof b2));
	printf("\n    statistics: analyze %s, metrics every %s\n",
	       onoff(p->stats.analyze, p->stats.dry_run),
	       dbk_fmt_duration(p->stats.metrics_interval_s, b1, sizeof b1));
	printf("    budget: run %s, lock timeout %lld ms, statement timeout %lld ms\n",
	       dbk_fmt_duration(p->budget.max_run_time_s, b1, sizeof b1),
	       (long long)p->budget.lock_timeout_ms,
	       (long long)p->budget.statement_timeout_ms);
}

static json_t *summary_json(const struct dbk_config *cfg)
{
	json_t *targets = json_array(), *policies = json_array();

	for (unsigned i = 0; i < cfg->n_targets; i++) {
		const struct dbk_target *t = &cfg->targets[i];
		json_t *pols = json_array();

		for (unsigned k = 0; k < t->n_policies; k++)
			json_array_append_new(pols, json_string(t->policies[k]->name));
		json_array_append_new(targets, json_pack("{s:s, s:s, s:o}", "name",
			t->name, "driver", t->driver, "policies", pols));
	}
	for (unsigned i = 0; i < cfg->n_policies; i++)
		json_array_append_new(policies, json_pack("{s:s, s:s}",
			"name", cfg->policies[i].name, "file", cfg->policies[i].file));
	return json_pack("{s:s, s:b, s:s, s:s, s:s, s:o, s:o}", "file", cfg->file,
	                 "valid", 1, "state_dir", cfg->state_dir,
	                 "queue_dir", cfg->queue_dir, "policy_dir", cfg->policy_dir,
	                 "targets", targets, "policies", policies);
}

void dbk_cmd_check_print(const struct dbk_config *cfg, bool json)
{
	if (json) {
		json_t *j = summary_json(cfg);

		json_dumpf(j, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(j);
		return;
	}
	printf("%s: OK\n", cfg->file);
	printf("  state %s, queue %s, policies %s\n", cfg->state_dir,
	       cfg->queue_dir, cfg->policy_dir);
	if (cfg->n_targets == 0)
		printf("  no targets configured\n");
	for (unsigned i = 0; i < cfg->n_targets; i++) {
		const struct dbk_target *t = &cfg->targets[i];

		printf("  target %s: driver %s, policies", t->name, t->driver);
		for (unsigned k = 0; k < t->n_policies; k++)
			printf(" %s", t->policies[k]->name);
		printf("%s\n", t->password_file ? ", password file" : "");
	}
	for (unsigned i = 0; i < cfg->n_policies; i++)
		print_policy(&cfg->policies[i]);
}
