/* tests/unit/test_planner.c: the planner's safety rules, table-driven with
 * adversarial names. Policies, targets and observations are built as C
 * structs; windows by hand, evaluated with TZ=UTC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "planner.h"
#include "state.h"
#include "units.h"

#define DAY INT64_C(86400)
#define HOUR INT64_C(3600)
#define MB INT64_C(1048576)
/* Monday 2024-01-15 02:00:00 UTC */
#define NOW INT64_C(1705284000)

static char *shipped[] = { "tmp_*", "temp_*", "scratch_*", "*_bak_[0-9]*",
                           "*_backup_[0-9]*", "*_old_[0-9]*" };

/* ---- Builders ---- */

/* A policy with only scratch enabled: shipped patterns, 7d, not dry-run. */
static void policy_init(struct dbk_policy *p, const char *name)
{
	memset(p, 0, sizeof *p);
	p->name = (char *)name;
	p->budget = (struct dbk_budget){ .max_run_time_s = 4 * HOUR,
	    .lock_timeout_ms = 2000, .statement_timeout_ms = 60000,
	    .observe_timeout_ms = 10000, .max_replica_lag_ms = 30000 };
	p->scratch.enabled = true;
	p->scratch.include = (struct dbk_strv){ DBK_NELEM(shipped), shipped };
	p->scratch.min_age_s = 7 * DAY;
	p->scratch.max_per_run = 100;
	p->scratch.max_per_statement = 10;
	p->scratch.schedule.interval_s = HOUR;
	p->indexes.schedule.interval_s = HOUR;
	p->logs.schedule.interval_s = HOUR;
	p->server_logs.schedule.interval_s = HOUR;
	p->stats.schedule.interval_s = HOUR;
}

struct fixture {
	struct dbk_target target;
	const struct dbk_policy *pols[4];
	struct dbk_table_list tl;
	struct dbk_index_list il;
	struct dbk_logfile_list fl;
	struct dbk_server_info info;
	struct dbk_observation obs;
	struct dbk_state *st;
};

static void fixture_init(struct fixture *f, const struct dbk_policy *p1,
                         const struct dbk_policy *p2)
{
	memset(f, 0, sizeof *f);
	f->pols[0] = p1;
	f->pols[1] = p2;
	f->target.name = "db1";
	f->target.n_policies = p2 ? 2 : 1;
	f->target.policies = f->pols;
	snprintf(f->info.flavour, sizeof f->info.flavour, "postgresql");
	f->obs.info = &f->info;
	f->obs.tables = &f->tl;
	f->obs.indexes = &f->il;
	f->obs.logfiles = &f->fl;
	f->st = dbk_state_new_empty();
}

static void fixture_tables(struct fixture *f, struct dbk_table *v, size_t n)
{
	f->tl.v = v;
	f->tl.n = n;
}

/* A table created age_s ago, 1 MB, no activity statistics. */
static struct dbk_table tbl(const char *schema, const char *name, int64_t age_s)
{
	static uint64_t next_id = 1000;

	return (struct dbk_table){ .schema = schema, .name = name, .id = next_id++,
	    .size_bytes = MB, .est_rows = -1, .created_at = NOW - age_s,
	    .write_count = -1, .dead_rows = -1, .mods_since_analyze = -1,
	    .xid_age = -1 };
}

static const struct dbk_plan_action *find_action(const struct dbk_plan *plan,
                                                 int kind, const char *schema,
                                                 const char *name)
{
	for (unsigned i = 0; i < plan->n_actions; i++) {
		const struct dbk_plan_action *a = &plan->actions[i];

		if (a->act.kind != kind)
			continue;
		for (size_t j = 0; j < a->act.n_objects; j++) {
			const struct dbk_object *o = &a->act.objects[j];

			if (strcmp(o->name, name) == 0 &&
			    ((schema == NULL && o->schema == NULL) ||
			     (schema && o->schema && strcmp(o->schema, schema) == 0)))
				return a;
		}
	}
	return NULL;
}

static bool dropped(const struct dbk_plan *plan, const char *schema,
                    const char *name)
{
	return find_action(plan, DBK_A_DROP_TABLES, schema, name) != NULL;
}

static const struct dbk_finding *find_finding(const struct dbk_plan *plan,
                                              const char *title_part)
{
	for (unsigned i = 0; i < plan->n_findings; i++)
		if (strstr(plan->findings[i].title, title_part))
			return &plan->findings[i];
	return NULL;
}

static unsigned count_kind(const struct dbk_plan *plan, int kind)
{
	unsigned n = 0;

	for (unsigned i = 0; i < plan->n_actions; i++)
		n += plan->actions[i].act.kind == kind;
	return n;
}

static struct dbk_plan *plan_of(struct fixture *f, bool force)
{
	struct dbk_plan *plan = dbk_plan_make(&f->target, &f->obs, f->st, NOW, force);

	assert_non_null(plan);
	return plan;
}

static void fixture_done(struct fixture *f, struct dbk_plan *plan)
{
	dbk_plan_free(plan);
	dbk_state_free(f->st);
}

/* ---- Names ---- */

static void test_names(void **unused)
{
	(void)unused;
	assert_string_equal(dbk_task_name(DBK_TASK_SCRATCH), "scratch");
	assert_string_equal(dbk_task_name(DBK_TASK_INDEXES), "indexes");
	assert_string_equal(dbk_task_name(DBK_TASK_LOGS), "logs");
	assert_string_equal(dbk_task_name(DBK_TASK_SERVER_LOGS), "server_logs");
	assert_string_equal(dbk_task_name(DBK_TASK_STATS), "stats");
	assert_string_equal(dbk_severity_name(DBK_SEV_INFO), "info");
	assert_string_equal(dbk_severity_name(DBK_SEV_WARNING), "warning");
	assert_string_equal(dbk_severity_name(DBK_SEV_CRITICAL), "critical");
	dbk_plan_free(NULL);
}

/* ---- Scratch: patterns and decoys ---- */

static void test_shipped_patterns_and_decoys(void **unused)
{
	static const struct { const char *name; bool drop; } cases[] = {
		{ "tmp_import_1", true },
		{ "temp_x", true },
		{ "orders_bak_20240101", true },
		{ "scratch_q3", true },
		{ "users_backup_2", true },
		{ "invoices_old_7", true },
		{ "temperature", false },       /* decoy: temp without _ */
		{ "template_pages", false },    /* decoy */
		{ "tmpl_pages", false },        /* decoy: not tmp_ */
		{ "TMP_IMPORT", false },        /* globs are case-sensitive */
		{ "orders_bak_", false },       /* needs a digit */
		{ "orders_bak_x1", false },
		{ "mytmp_x", false },
		{ "orders", false },
		{ "", false },
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(cases)];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	fixture_init(&f, &p, NULL);
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		v[i] = tbl("public", cases[i].name, 30 * DAY);
		assert_int_equal(dbk_plan_scratch_matches(&p.scratch, "public",
		    cases[i].name), cases[i].drop);
	}
	fixture_tables(&f, v, DBK_NELEM(v));
	plan = plan_of(&f, true);
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		if (dropped(plan, "public", cases[i].name) != cases[i].drop)
			fail_msg("%s: expected %s", cases[i].name,
			    cases[i].drop ? "drop" : "keep");
	}
	fixture_done(&f, plan);
}

/* Hostile names are planned byte-exact: the planner never quotes, trims
 * or rewrites a name; the driver quotes it. */
static void test_adversarial_names_byte_exact(void **unused)
{
	static const char *const names[] = {
		"tmp_x\"; DROP TABLE users; --",
		"tmp_x`; DROP TABLE t;--",
		"tmp_a\"b\"c",
		"tmp_back`tick`",
		"tmp_semi;colon",
		"tmp_new\nline",
		"tmp_\xc3\xa9t\xc3\xa9_\xe6\x97\xa5\xe6\x9c\xac",
		"tmp_ space ",
		"tmp_x'; DELETE FROM t; --",
		"tmp_%s%n",
		"tmp_\\0",
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(names) + 2];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	size_t seen = 0;

	(void)unused;
	policy_init(&p, "housekeeping");
	fixture_init(&f, &p, NULL);
	for (size_t i = 0; i < DBK_NELEM(names); i++)
		v[i] = tbl("public", names[i], 30 * DAY);
	/* A hostile name that matches no pattern stays, a hostile schema is
	 * just a schema. */
	v[DBK_NELEM(names)] = tbl("public", "x\"; DROP TABLE users; --", 30 * DAY);
	v[DBK_NELEM(names) + 1] = tbl("we\"ird`; --", "tmp_in_odd_schema", 30 * DAY);
	fixture_tables(&f, v, DBK_NELEM(v));
	plan = plan_of(&f, true);
	for (unsigned i = 0; i < plan->n_actions; i++) {
		const struct dbk_plan_action *a = &plan->actions[i];

		assert_int_equal(a->act.kind, DBK_A_DROP_TABLES);
		assert_ptr_equal(a->act.objects, a->objs);
		assert_null(a->act.sql);
		for (size_t j = 0; j < a->act.n_objects; j++, seen++) {
			const struct dbk_object *o = &a->act.objects[j];
			bool found = false;

			for (size_t k = 0; k < DBK_NELEM(v); k++) {
				if (strcmp(v[k].name, o->name) != 0 ||
				    strcmp(v[k].schema, o->schema) != 0)
					continue;
				/* deep copy, same bytes, same id */
				assert_ptr_not_equal(v[k].name, o->name);
				assert_memory_equal(v[k].name, o->name, strlen(v[k].name) + 1);
				assert_int_equal(v[k].id, o->id);
				found = true;
			}
			assert_true(found);
		}
		/* names never leak into the one-line reason */
		assert_null(strchr(a->reason, '\n'));
		assert_null(strstr(a->reason, "DROP TABLE"));
	}
	assert_int_equal(seen, DBK_NELEM(names) + 1);
	assert_false(dropped(plan, "public", "x\"; DROP TABLE users; --"));
	assert_true(dropped(plan, "we\"ird`; --", "tmp_in_odd_schema"));
	fixture_done(&f, plan);
}

static void test_system_schemas_never(void **unused)
{
	static const struct { const char *schema; bool sys; } cases[] = {
		{ "pg_catalog", true }, { "information_schema", true },
		{ "pg_toast", true }, { "pg_toast_temp_1", true },
		{ "mysql", true }, { "performance_schema", true }, { "sys", true },
		{ "PG_CATALOG", true }, { "MySQL", true },
		{ "public", false }, { "pg_temp_3", false }, { "system", false },
		{ "mysqlx", false }, { "app", false },
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(cases) + 2];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.scratch.orphan_temp = true;
	p.scratch.tool_leftovers = true;
	fixture_init(&f, &p, NULL);
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		assert_int_equal(dbk_plan_is_system_schema(cases[i].schema),
		    cases[i].sys);
		v[i] = tbl(cases[i].schema, "tmp_x", 30 * DAY);
		if (cases[i].sys) /* no flag rescues a system schema */
			v[i].flags = DBK_TF_TEMP_ORPHAN | DBK_TF_TOOL_LEFTOVER;
	}
	assert_false(dbk_plan_is_system_schema(NULL));
	v[DBK_NELEM(cases)] = tbl("public", "tmp_catalog_thing", 30 * DAY);
	v[DBK_NELEM(cases)].flags = DBK_TF_SYSTEM;
	v[DBK_NELEM(cases) + 1] = tbl("public", "tmp_orphan_but_sys", 30 * DAY);
	v[DBK_NELEM(cases) + 1].flags = DBK_TF_SYSTEM | DBK_TF_TEMP_ORPHAN;
	fixture_tables(&f, v, DBK_NELEM(v));
	plan = plan_of(&f, true);
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		/* pg_temp_N is reached only through DBK_TF_TEMP_ORPHAN */
		bool expect = !cases[i].sys && strcmp(cases[i].schema, "pg_temp_3") != 0;

		if (dropped(plan, cases[i].schema, "tmp_x") != expect)
			fail_msg("schema %s", cases[i].schema);
		assert_false(dbk_plan_scratch_matches(&p.scratch, cases[i].schema,
		    "tmp_x") != expect);
	}
	assert_false(dropped(plan, "public", "tmp_catalog_thing"));
	assert_false(dropped(plan, "public", "tmp_orphan_but_sys"));
	fixture_done(&f, plan);
}

static void test_schema_allow_list_and_exclude(void **unused)
{
	static char *schemas[] = { "staging", "etl" };
	static char *exclude[] = { "tmp_keep_*", "*_old_2024*" };
	static const struct { const char *schema, *name; bool drop; } cases[] = {
		{ "staging", "tmp_a", true },
		{ "etl", "tmp_b", true },
		{ "public", "tmp_c", false },      /* not on the allow-list */
		{ "Staging", "tmp_d", false },     /* exact match */
		{ "staging_x", "tmp_e", false },
		{ "staging", "tmp_keep_me", false }, /* excluded */
		{ "staging", "orders_old_20240101", false },
		{ "staging", "orders_old_20230101", true },
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(cases) + 1];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.scratch.schemas = (struct dbk_strv){ 2, schemas };
	p.scratch.exclude = (struct dbk_strv){ 2, exclude };
	p.scratch.tool_leftovers = true;
	fixture_init(&f, &p, NULL);
	for (size_t i = 0; i < DBK_NELEM(cases); i++)
		v[i] = tbl(cases[i].schema, cases[i].name, 30 * DAY);
	/* a tool leftover bypasses include globs, not the exclude globs */
	v[DBK_NELEM(cases)] = tbl("staging", "tmp_keep_tool", 30 * DAY);
	v[DBK_NELEM(cases)].flags = DBK_TF_TOOL_LEFTOVER;
	fixture_tables(&f, v, DBK_NELEM(v));
	plan = plan_of(&f, true);
	for (size_t i = 0; i < DBK_NELEM(cases); i++)
		if (dropped(plan, cases[i].schema, cases[i].name) != cases[i].drop)
			fail_msg("%s.%s", cases[i].schema, cases[i].name);
	assert_false(dropped(plan, "staging", "tmp_keep_tool"));
	fixture_done(&f, plan);
}

/* ---- Scratch: age ---- */

static void test_min_age_created_at(void **unused)
{
	static const struct { const char *name; int64_t age; bool drop; } cases[] = {
		{ "tmp_8d", 8 * DAY, true },
		{ "tmp_7d", 7 * DAY, true },
		{ "tmp_7d_minus_1s", 7 * DAY - 1, false },
		{ "tmp_1d", DAY, false },
		{ "tmp_future", -DAY, false }, /* clock skew: not old */
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(cases)];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	fixture_init(&f, &p, NULL);
	for (size_t i = 0; i < DBK_NELEM(cases); i++)
		v[i] = tbl("public", cases[i].name, cases[i].age);
	fixture_tables(&f, v, DBK_NELEM(v));
	plan = plan_of(&f, true);
	for (size_t i = 0; i < DBK_NELEM(cases); i++)
		if (dropped(plan, "public", cases[i].name) != cases[i].drop)
			fail_msg("%s", cases[i].name);
	assert_non_null(strstr(plan->actions[0].reason, "older than 7d"));
	fixture_done(&f, plan);
}

/* Without created_at, age counts from when the agent first saw the table.
 * One state per case: observing a list forgets tables not in it. */
static void test_min_age_first_seen(void **unused)
{
	static const struct {
		const char *name;
		int64_t seen_ago; /* -1: never seen */
		int64_t min_age;
		bool drop;
	} cases[] = {
		{ "tmp_never_seen", -1, 7 * DAY, false },
		{ "tmp_seen_8d", 8 * DAY, 7 * DAY, true },
		{ "tmp_seen_6d", 6 * DAY, 7 * DAY, false },
		{ "tmp_seen_now", 0, 7 * DAY, false },
		/* never seen is never old enough, even with no minimum age */
		{ "tmp_never_seen", -1, 0, false },
		{ "tmp_seen_now", 0, 0, true },
	};
	struct dbk_policy p;

	(void)unused;
	policy_init(&p, "housekeeping");
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_table t = tbl("public", cases[i].name, 0);
		struct dbk_table_list one = { 1, &t };
		struct fixture f;
		struct dbk_plan *plan = NULL;

		t.created_at = 0; /* the engine cannot tell */
		p.scratch.min_age_s = cases[i].min_age;
		fixture_init(&f, &p, NULL);
		if (cases[i].seen_ago >= 0)
			dbk_state_observe_tables(f.st, &one, NOW - cases[i].seen_ago);
		fixture_tables(&f, &t, 1);
		plan = plan_of(&f, true);
		if (dropped(plan, "public", cases[i].name) != cases[i].drop)
			fail_msg("%s (min_age %" PRId64 ")", cases[i].name,
			    cases[i].min_age);
		if (cases[i].drop && cases[i].min_age > 0)
			assert_non_null(strstr(plan->actions[0].reason,
			    "first seen over 7d ago"));
		fixture_done(&f, plan);
	}
}

/* A table dropped and re-created under the same name (new id): what the
 * state says for the new id decides. */
static void test_first_seen_id_change(void **unused)
{
	struct dbk_policy p;
	struct dbk_table old_t, new_t;
	struct dbk_table_list one = { 1, &old_t };
	struct fixture f;
	struct dbk_plan *plan = NULL;
	int64_t fs = 0;
	bool expect = false;

	(void)unused;
	policy_init(&p, "housekeeping");
	fixture_init(&f, &p, NULL);
	old_t = tbl("public", "tmp_reused", 0);
	old_t.created_at = 0;
	old_t.id = 1;
	dbk_state_observe_tables(f.st, &one, NOW - 8 * DAY);
	new_t = old_t;
	new_t.id = 2;
	fixture_tables(&f, &new_t, 1);
	fs = dbk_state_first_seen(f.st, "public", "tmp_reused", 2);
	expect = fs > 0 && NOW - fs >= 7 * DAY;
	plan = plan_of(&f, true);
	assert_int_equal(dropped(plan, "public", "tmp_reused"), expect);
	fixture_done(&f, plan);
}

/* ---- Scratch: idle ---- */

static void test_require_idle(void **unused)
{
	static const struct {
		const char *name;
		int64_t prev_writes; /* -2: not observed before */
		int64_t writes;
		int64_t updated_ago; /* -1: unknown */
		bool drop;
	} cases[] = {
		{ "tmp_written", 10, 12, -1, false },
		{ "tmp_quiet", 10, 10, -1, true },
		{ "tmp_first_obs", -2, 10, -1, false },
		{ "tmp_prev_unknown", -1, 10, -1, false },
		{ "tmp_upd_recent", -2, -1, DAY, false },
		{ "tmp_upd_old", -2, -1, 8 * DAY, true },
		{ "tmp_no_stats", -2, -1, -1, true }, /* cannot judge: age alone */
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(cases)], prev[DBK_NELEM(cases)];
	struct dbk_table_list prev_list;
	size_t n_prev = 0;
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.scratch.require_idle = true;
	fixture_init(&f, &p, NULL);
	/* The previous observation: only the tables seen before, with their
	 * counters then, in one call (an observation forgets the rest). */
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		v[i] = tbl("public", cases[i].name, 30 * DAY);
		if (cases[i].prev_writes != -2) {
			prev[n_prev] = v[i];
			prev[n_prev++].write_count = cases[i].prev_writes;
		}
		v[i].write_count = cases[i].writes;
		v[i].updated_at = cases[i].updated_ago >= 0 ? NOW - cases[i].updated_ago : 0;
	}
	prev_list = (struct dbk_table_list){ n_prev, prev };
	dbk_state_observe_tables(f.st, &prev_list, NOW - HOUR);
	fixture_tables(&f, v, DBK_NELEM(v));
	plan = plan_of(&f, true);
	for (size_t i = 0; i < DBK_NELEM(cases); i++)
		if (dropped(plan, "public", cases[i].name) != cases[i].drop)
			fail_msg("%s", cases[i].name);
	assert_non_null(strstr(find_action(plan, DBK_A_DROP_TABLES, "public",
	    "tmp_quiet")->reason, "no writes since last observation"));
	fixture_done(&f, plan);
}

/* ---- Scratch: caps, grouping, order ---- */

static void test_max_per_run_and_statement(void **unused)
{
	static char names[25][16];
	struct dbk_policy p;
	struct dbk_table v[25];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_finding *more = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.scratch.max_per_run = 12;
	p.scratch.max_per_statement = 5;
	fixture_init(&f, &p, NULL);
	for (int i = 0; i < 25; i++) {
		snprintf(names[i], sizeof names[i], "tmp_%02d", i);
		v[i] = tbl("public", names[i], 30 * DAY);
		v[i].size_bytes = (i + 1) * MB; /* tmp_24 is the biggest */
	}
	fixture_tables(&f, v, 25);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 3);
	assert_int_equal(plan->actions[0].act.n_objects, 5);
	assert_int_equal(plan->actions[1].act.n_objects, 5);
	assert_int_equal(plan->actions[2].act.n_objects, 2);
	/* biggest first, sizes summed per statement */
	assert_string_equal(plan->actions[0].act.objects[0].name, "tmp_24");
	assert_string_equal(plan->actions[2].act.objects[1].name, "tmp_13");
	assert_int_equal(plan->actions[0].bytes, (25 + 24 + 23 + 22 + 21) * MB);
	assert_false(dropped(plan, "public", "tmp_12"));
	assert_non_null(more = find_finding(plan, "13 more scratch tables"));
	assert_int_equal(more->severity, DBK_SEV_INFO);
	assert_string_equal(plan->actions[0].reason,
	    "5 tables matching tmp_* in policy \"housekeeping\": older than 7d");
	/* key: per-table netstring keys joined by "," */
	assert_string_equal(plan->actions[2].key,
	    "scratch:6:public,6:tmp_14,,scratch:6:public,6:tmp_13,");
	fixture_done(&f, plan);
}

static void test_carried_first(void **unused)
{
	static const char *const keys[] = { "scratch:6:public,9:tmp_small," };
	struct dbk_policy p;
	struct dbk_table v[3];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.scratch.max_per_run = 2;
	p.scratch.max_per_statement = 1;
	fixture_init(&f, &p, NULL);
	v[0] = tbl("public", "tmp_big", 30 * DAY);
	v[0].size_bytes = 100 * MB;
	v[1] = tbl("public", "tmp_mid", 30 * DAY);
	v[1].size_bytes = 50 * MB;
	v[2] = tbl("public", "tmp_small", 30 * DAY);
	v[2].size_bytes = 1;
	fixture_tables(&f, v, 3);
	dbk_state_set_carried(f.st, keys, 1);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 2);
	assert_string_equal(plan->actions[0].act.objects[0].name, "tmp_small");
	assert_true(plan->actions[0].carried);
	assert_string_equal(plan->actions[0].key, keys[0]);
	assert_string_equal(plan->actions[1].act.objects[0].name, "tmp_big");
	assert_false(plan->actions[1].carried);
	assert_false(dropped(plan, "public", "tmp_mid"));
	fixture_done(&f, plan);
}

/* ---- Scratch: flags ---- */

static void test_flags_orphans_and_tools(void **unused)
{
	static const struct {
		const char *schema, *name;
		uint32_t flags;
		int64_t age;
		bool drop_on, drop_off; /* orphan_temp/tool_leftovers on, off */
	} cases[] = {
		{ "pg_temp_3", "anything", DBK_TF_TEMP_ORPHAN, 0, true, false },
		{ "pg_temp_3", "tmp_live", 0, 30 * DAY, false, false },
		{ "public", "_orders_new", DBK_TF_TOOL_LEFTOVER, 30 * DAY, true, false },
		{ "public", "_orders_gho", DBK_TF_TOOL_LEFTOVER, DAY, false, false },
		{ "shop", "#sql-1a2b_3", DBK_TF_SQL_ORPHAN, 30 * DAY, true, false },
		{ "public", "tmp_running", DBK_TF_TOOL_RUNNING, 30 * DAY, false, false },
		{ "public", "tmp_both", DBK_TF_TOOL_RUNNING | DBK_TF_TOOL_LEFTOVER,
		  30 * DAY, false, false },
		/* a plain pattern match is unaffected by the switches */
		{ "public", "tmp_plain", 0, 30 * DAY, true, true },
	};
	struct dbk_policy p;
	struct dbk_table v[DBK_NELEM(cases)];
	struct fixture f;

	(void)unused;
	policy_init(&p, "housekeeping");
	fixture_init(&f, &p, NULL);
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		v[i] = tbl(cases[i].schema, cases[i].name, cases[i].age);
		v[i].flags = cases[i].flags;
	}
	fixture_tables(&f, v, DBK_NELEM(v));
	for (int on = 0; on < 2; on++) {
		struct dbk_plan *plan = NULL;

		p.scratch.orphan_temp = p.scratch.tool_leftovers = on;
		plan = plan_of(&f, true);
		for (size_t i = 0; i < DBK_NELEM(cases); i++) {
			bool want = on ? cases[i].drop_on : cases[i].drop_off;

			if (dropped(plan, cases[i].schema, cases[i].name) != want)
				fail_msg("%s.%s with switches %s", cases[i].schema,
				    cases[i].name, on ? "on" : "off");
		}
		if (on)
			assert_non_null(strstr(find_action(plan, DBK_A_DROP_TABLES,
			    "pg_temp_3", "anything")->reason,
			    "temp table of a session that no longer exists"));
		dbk_plan_free(plan);
	}
	fixture_done(&f, NULL);
}

/* ---- Schedules, windows, budgets ---- */

static struct dbk_windows night(void)
{
	/* Mon-Fri 01:00-05:00 */
	return (struct dbk_windows){ 1, { { 0x1f, 60, 300 } } };
}

static void test_windows_and_force(void **unused)
{
	struct dbk_policy p;
	struct dbk_table v[1];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.window = night();
	fixture_init(&f, &p, NULL);
	v[0] = tbl("public", "tmp_a", 30 * DAY);
	fixture_tables(&f, v, 1);

	/* inside: due */
	plan = plan_of(&f, false);
	assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], DBK_TS_DUE);
	assert_int_equal(plan->n_actions, 1);
	dbk_plan_free(plan);

	/* 06:00: outside, even with force */
	for (int force = 0; force < 2; force++) {
		plan = dbk_plan_make(&f.target, &f.obs, f.st, NOW + 4 * HOUR, force);
		assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH],
		    DBK_TS_OUTSIDE_WINDOW);
		assert_int_equal(plan->n_actions, 0);
		assert_int_equal(plan->deadline, 0);
		dbk_plan_free(plan);
	}
	/* Saturday 02:00: outside */
	plan = dbk_plan_make(&f.target, &f.obs, f.st, NOW + 5 * DAY, true);
	assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], DBK_TS_OUTSIDE_WINDOW);
	dbk_plan_free(plan);

	/* the task's own window wins over the policy's: always */
	p.scratch.schedule.has_window = true;
	p.scratch.schedule.window = (struct dbk_windows){ 0 };
	plan = dbk_plan_make(&f.target, &f.obs, f.st, NOW + 4 * HOUR, false);
	assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], DBK_TS_DUE);
	assert_int_equal(plan->n_actions, 1);
	dbk_plan_free(plan);

	/* ... and a task window closed while the policy's is open */
	p.window = (struct dbk_windows){ 0 };
	p.scratch.schedule.window = night();
	plan = dbk_plan_make(&f.target, &f.obs, f.st, NOW + 4 * HOUR, true);
	assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], DBK_TS_OUTSIDE_WINDOW);
	assert_int_equal(plan->n_actions, 0);
	fixture_done(&f, plan);
}

static void test_interval(void **unused)
{
	static const struct { int64_t last_ago; bool force; int state; } cases[] = {
		{ -1, false, DBK_TS_DUE },           /* never ran */
		{ 600, false, DBK_TS_NOT_DUE },
		{ 600, true, DBK_TS_DUE },
		{ HOUR - 1, false, DBK_TS_NOT_DUE },
		{ HOUR, false, DBK_TS_DUE },
		{ 2 * HOUR, false, DBK_TS_DUE },
	};
	struct dbk_policy p;
	struct dbk_table v[1];

	(void)unused;
	policy_init(&p, "housekeeping");
	v[0] = tbl("public", "tmp_a", 30 * DAY);
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct fixture f;
		struct dbk_plan *plan = NULL;

		fixture_init(&f, &p, NULL);
		fixture_tables(&f, v, 1);
		if (cases[i].last_ago >= 0)
			dbk_state_set_last_run(f.st, "housekeeping", "scratch",
			    NOW - cases[i].last_ago);
		plan = plan_of(&f, cases[i].force);
		assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], cases[i].state);
		assert_int_equal(plan->n_actions, cases[i].state == DBK_TS_DUE);
		fixture_done(&f, plan);
	}
}

static void test_off_and_not_assessed(void **unused)
{
	struct dbk_policy p;
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_finding *fd = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.indexes.enabled = true;
	fixture_init(&f, &p, NULL);
	f.obs.tables = NULL; /* list_tables failed */
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_policies, 1);
	assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], DBK_TS_NOT_ASSESSED);
	assert_int_equal(plan->task_state[0][DBK_TASK_INDEXES], DBK_TS_DUE);
	assert_int_equal(plan->task_state[0][DBK_TASK_LOGS], DBK_TS_OFF);
	assert_int_equal(plan->task_state[0][DBK_TASK_SERVER_LOGS], DBK_TS_OFF);
	assert_int_equal(plan->task_state[0][DBK_TASK_STATS], DBK_TS_OFF);
	assert_non_null(fd = find_finding(plan, "not assessed"));
	assert_int_equal(fd->severity, DBK_SEV_WARNING);
	assert_string_equal(fd->category, "scratch");
	assert_ptr_equal(fd->policy, &p);
	dbk_plan_free(plan);

	/* no observation at all, no state, no target */
	plan = dbk_plan_make(&f.target, NULL, NULL, NOW, true);
	assert_int_equal(plan->task_state[0][DBK_TASK_INDEXES], DBK_TS_NOT_ASSESSED);
	assert_int_equal(plan->n_actions, 0);
	dbk_plan_free(plan);
	plan = dbk_plan_make(NULL, NULL, NULL, NOW, true);
	assert_int_equal(plan->n_actions + plan->n_findings + plan->n_policies, 0);
	fixture_done(&f, plan);
}

static void test_deadline(void **unused)
{
	struct dbk_policy p1, p2;
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p1, "a");
	policy_init(&p2, "b");
	fixture_init(&f, &p1, &p2);

	/* always open: the smallest run budget of the due policies */
	p1.budget.max_run_time_s = 2 * HOUR;
	p2.budget.max_run_time_s = HOUR;
	plan = plan_of(&f, false);
	assert_int_equal(plan->deadline, NOW + HOUR);
	dbk_plan_free(plan);

	/* a policy with nothing due does not bound the run */
	p2.scratch.enabled = false;
	plan = plan_of(&f, false);
	assert_int_equal(plan->deadline, NOW + 2 * HOUR);
	dbk_plan_free(plan);

	/* the window closes at 05:00, before the 4h budget ends */
	p1.budget.max_run_time_s = 4 * HOUR;
	p1.window = night();
	plan = plan_of(&f, false);
	assert_int_equal(plan->deadline, NOW + 3 * HOUR);
	dbk_plan_free(plan);

	/* a task window closing sooner caps it further */
	p1.indexes.enabled = true;
	p1.indexes.schedule.has_window = true;
	p1.indexes.schedule.window = (struct dbk_windows){ 1, { { 0x7f, 0, 150 } } };
	plan = plan_of(&f, false);
	assert_int_equal(plan->deadline, NOW + 30 * 60);
	dbk_plan_free(plan);

	/* nothing due: 0 */
	p1.scratch.enabled = p1.indexes.enabled = false;
	plan = plan_of(&f, false);
	assert_int_equal(plan->deadline, 0);
	fixture_done(&f, plan);
}

static void test_action_budget_fields(void **unused)
{
	struct dbk_policy p;
	struct dbk_table v[1];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_plan_action *a = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.scratch.dry_run = true;
	fixture_init(&f, &p, NULL);
	v[0] = tbl("public", "tmp_a", 30 * DAY);
	fixture_tables(&f, v, 1);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	a = &plan->actions[0];
	assert_int_equal(a->act.lock_timeout_ms, 2000);
	assert_int_equal(a->act.statement_timeout_ms, 60000);
	assert_int_equal(a->act.max_replica_lag_ms, 30000);
	assert_int_equal(a->act.deadline_ms, 0);
	assert_true(a->dry_run);
	assert_ptr_equal(a->policy, &p);
	assert_int_equal(a->task, DBK_TASK_SCRATCH);
	assert_null(a->act.sql);
	assert_null(a->sql);
	assert_int_equal(a->bytes, MB);
	assert_int_equal(plan->now, NOW);
	fixture_done(&f, plan);
}

/* ---- Indexes ---- */

static struct dbk_index idx(const char *name, int64_t size, double bloat,
                            uint32_t flags)
{
	static uint64_t next_id = 5000;

	return (struct dbk_index){ .schema = "public", .table = "orders",
	    .name = name, .method = "btree", .id = next_id++, .table_id = 42,
	    .size_bytes = size, .scans = 100, .bloat_pct = bloat, .flags = flags };
}

static void test_indexes(void **unused)
{
	struct dbk_policy p;
	struct dbk_index v[11];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_finding *fd = NULL;

	(void)unused;
	policy_init(&p, "ix");
	p.scratch.enabled = false;
	p.indexes = (struct dbk_pol_indexes){ .enabled = true, .drop_invalid = true,
	    .min_size_bytes = 10 * MB, .min_bloat_pct = 30,
	    .rebuild_method = DBK_REBUILD_ONLINE, .max_per_run = 2,
	    .schedule.interval_s = HOUR };
	fixture_init(&f, &p, NULL);
	v[0] = idx("ix_invalid_tiny", 8192, -1, DBK_IF_INVALID);
	v[1] = idx("ix_ccnew", 100 * MB, -1, DBK_IF_LEFTOVER);
	v[2] = idx("ix_bloat_40_of_100", 100 * MB, 40, 0);  /* 40 MB wasted */
	v[3] = idx("ix_bloat_90_of_20", 20 * MB, 90, 0);    /* 18 MB */
	v[4] = idx("ix_bloat_50_of_200", 200 * MB, 50, 0);  /* 100 MB */
	v[5] = idx("ix_bloat_small", MB, 90, 0);            /* below min size */
	v[6] = idx("ix_not_bloated", 500 * MB, 10, 0);
	v[7] = idx("ix_dup", 50 * MB, 5, DBK_IF_DUPLICATE);
	v[7].duplicate_of = "ix_orig";
	v[8] = idx("ix_unused", 50 * MB, 5, 0);
	v[8].scans = 0;
	v[9] = idx("ix_unused_pk", 50 * MB, 5, DBK_IF_PRIMARY);
	v[9].scans = 0;
	v[10] = idx("pg_class_oid_index", 500 * MB, 90, DBK_IF_INVALID);
	v[10].schema = "pg_catalog";
	f.il = (struct dbk_index_list){ DBK_NELEM(v), v };
	plan = plan_of(&f, true);

	/* drops first, regardless of size; then rebuilds worst first, capped */
	assert_int_equal(plan->n_actions, 4);
	assert_int_equal(plan->actions[0].act.kind, DBK_A_DROP_INDEX);
	assert_string_equal(plan->actions[0].act.objects[0].name, "ix_ccnew");
	assert_int_equal(plan->actions[1].act.kind, DBK_A_DROP_INDEX);
	assert_string_equal(plan->actions[1].act.objects[0].name, "ix_invalid_tiny");
	assert_int_equal(plan->actions[2].act.kind, DBK_A_REBUILD_INDEX);
	assert_string_equal(plan->actions[2].act.objects[0].name, "ix_bloat_50_of_200");
	assert_int_equal(plan->actions[2].act.rebuild_method, DBK_REBUILD_ONLINE);
	assert_int_equal(plan->actions[2].act.objects[0].id, v[4].id);
	assert_int_equal(plan->actions[2].task, DBK_TASK_INDEXES);
	assert_string_equal(plan->actions[3].act.objects[0].name, "ix_bloat_40_of_100");
	assert_null(find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_bloat_90_of_20"));
	assert_non_null(find_finding(plan, "1 more bloated indexes"));
	assert_null(find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_bloat_small"));
	assert_null(find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_not_bloated"));
	assert_null(find_action(plan, DBK_A_DROP_INDEX, "pg_catalog", "pg_class_oid_index"));

	/* duplicate: advice only */
	assert_null(find_action(plan, DBK_A_DROP_INDEX, "public", "ix_dup"));
	assert_non_null(fd = find_finding(plan, "duplicate index"));
	assert_int_equal(fd->severity, DBK_SEV_WARNING);
	assert_string_equal(fd->category, "indexes");
	assert_string_equal(fd->object, "public.ix_dup");
	assert_string_equal(fd->recommendation,
	    "DROP INDEX public.ix_dup; -- duplicate of ix_orig");
	/* unused: never from one scan counter (the unused_index rule judges
	 * it from usage history, see test_rules.c), never a primary key */
	assert_null(find_finding(plan, "unused index"));
	for (unsigned i = 0; i < plan->n_findings; i++)
		assert_true(plan->findings[i].object == NULL ||
		    (strcmp(plan->findings[i].object, "public.ix_unused_pk") != 0 &&
		     strncmp(plan->findings[i].object, "pg_catalog", 10) != 0));
	dbk_plan_free(plan);

	/* drop_invalid off: a warning instead of a drop */
	p.indexes.drop_invalid = false;
	plan = plan_of(&f, true);
	assert_int_equal(count_kind(plan, DBK_A_DROP_INDEX), 0);
	assert_non_null(fd = find_finding(plan, "invalid index"));
	assert_int_equal(fd->severity, DBK_SEV_WARNING);
	fixture_done(&f, plan);
}

/* The statistics estimate over-states a deduplicated B-tree: with the size
 * per row remembered from its last rebuild, an index as compact as then is
 * not rebuilt again, and a baseline that shows less bloat than the
 * estimate is the one the reason names. */
static void test_index_baseline(void **unused)
{
	struct dbk_policy p;
	struct dbk_index v[1];
	struct dbk_table t[1];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_plan_action *a = NULL;
	double rows = 1000000.0;

	(void)unused;
	policy_init(&p, "ix");
	p.scratch.enabled = false;
	p.indexes = (struct dbk_pol_indexes){ .enabled = true, .min_size_bytes = MB,
	    .min_bloat_pct = 30, .max_per_run = 5, .schedule.interval_s = HOUR };
	fixture_init(&f, &p, NULL);
	t[0] = tbl("public", "orders", DAY);
	t[0].id = 42;
	t[0].est_rows = (int64_t)rows;
	fixture_tables(&f, t, 1);
	v[0] = idx("ix_dedup", 100 * MB, 60, 0);
	f.il = (struct dbk_index_list){ 1, v };

	/* no baseline: the 60% estimate rebuilds */
	plan = plan_of(&f, true);
	assert_non_null(a = find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_dedup"));
	assert_non_null(strstr(a->reason, "bloat 60% (estimated)"));
	dbk_plan_free(plan);

	/* as compact as after its last build: nothing to do */
	dbk_state_set_index_baseline(f.st, "public", "ix_dedup", v[0].id,
	    100.0 * MB / rows, NOW - DAY);
	plan = plan_of(&f, true);
	assert_null(find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_dedup"));
	dbk_plan_free(plan);

	/* grown by 45% of its size since: the lower baseline is used */
	dbk_state_set_index_baseline(f.st, "public", "ix_dedup", 0,
	    55.0 * MB / rows, NOW - DAY);
	plan = plan_of(&f, true);
	assert_non_null(a = find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_dedup"));
	assert_non_null(strstr(a->reason, "bloat 45% (baseline from the last rebuild)"));
	assert_in_range(a->bytes, 45 * MB - 16, 45 * MB + 16); /* floating point */
	dbk_plan_free(plan);

	/* a baseline of another index of that name is not used */
	dbk_state_set_index_baseline(f.st, "public", "ix_dedup", v[0].id + 1,
	    100.0 * MB / rows, NOW - DAY);
	plan = plan_of(&f, true);
	assert_non_null(find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_dedup"));
	dbk_plan_free(plan);

	/* nor one the table's row estimate cannot be applied to */
	dbk_state_set_index_baseline(f.st, "public", "ix_dedup", v[0].id,
	    100.0 * MB / rows, NOW - DAY);
	t[0].est_rows = -1;
	plan = plan_of(&f, true);
	assert_non_null(find_action(plan, DBK_A_REBUILD_INDEX, "public", "ix_dedup"));
	fixture_done(&f, plan);
}

/* A valid index a tool left behind (pg_repack's index_<oid>) is dropped
 * only when the policy allows tool leftovers; the engine's own _ccnew
 * leftovers follow drop_invalid alone. */
static void test_tool_leftover_index(void **unused)
{
	struct dbk_policy p;
	struct dbk_index v[2];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_finding *fd = NULL;

	(void)unused;
	policy_init(&p, "ix");
	p.scratch.enabled = false;
	p.scratch.tool_leftovers = false;
	p.indexes = (struct dbk_pol_indexes){ .enabled = true, .drop_invalid = true,
	    .min_size_bytes = MB, .min_bloat_pct = 30, .max_per_run = 5,
	    .schedule.interval_s = HOUR };
	fixture_init(&f, &p, NULL);
	v[0] = idx("index_16999", 10 * MB, -1, DBK_IF_LEFTOVER | DBK_IF_TOOL_LEFTOVER);
	v[0].schema = "repack";
	v[1] = idx("orders_pkey_ccnew", 10 * MB, -1, DBK_IF_LEFTOVER);
	f.il = (struct dbk_index_list){ DBK_NELEM(v), v };
	plan = plan_of(&f, true);
	assert_null(find_action(plan, DBK_A_DROP_INDEX, "repack", "index_16999"));
	assert_non_null(find_action(plan, DBK_A_DROP_INDEX, "public", "orders_pkey_ccnew"));
	assert_non_null(fd = find_finding(plan, "leftover index of an interrupted rebuild or tool"));
	assert_string_equal(fd->object, "repack.index_16999");
	dbk_plan_free(plan);

	p.scratch.tool_leftovers = true;
	plan = plan_of(&f, true);
	assert_non_null(find_action(plan, DBK_A_DROP_INDEX, "repack", "index_16999"));
	fixture_done(&f, plan);
}

/* ---- Log tables ---- */

static void test_logs(void **unused)
{
	struct dbk_pol_logtable lts[4] = {
		{ .schema = "app", .table = "events", .time_column = "created_at",
		  .retention_s = 30 * DAY, .batch_rows = 5000, .pause_ms = 100 },
		{ .schema = NULL, .table = "audit", .time_column = "ts",
		  .retention_s = 90 * DAY, .batch_rows = 1000, .pause_ms = 0 },
		{ .schema = NULL, .table = "history", .time_column = "ts",
		  .retention_s = 90 * DAY, .batch_rows = 1000 },
		{ .schema = "app", .table = "missing_log", .time_column = "ts",
		  .retention_s = DAY, .batch_rows = 1000 },
	};
	struct dbk_policy p;
	struct dbk_table v[5];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_plan_action *a = NULL;

	(void)unused;
	policy_init(&p, "logs");
	p.scratch.enabled = false;
	p.logs = (struct dbk_pol_logs){ .enabled = true, .n = 4, .v = lts,
	    .schedule.interval_s = HOUR };
	fixture_init(&f, &p, NULL);
	v[0] = tbl("app", "events", DAY);
	v[0].size_bytes = 300 * MB;
	v[1] = tbl("other", "events", DAY);
	v[2] = tbl("app", "audit", DAY);
	v[3] = tbl("a", "history", DAY);
	v[4] = tbl("b", "history", DAY);
	fixture_tables(&f, v, 5);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 2);
	a = &plan->actions[0];
	assert_int_equal(a->act.kind, DBK_A_PURGE_ROWS);
	assert_int_equal(a->act.n_objects, 1);
	assert_string_equal(a->act.objects[0].schema, "app");
	assert_string_equal(a->act.objects[0].name, "events");
	assert_int_equal(a->act.objects[0].id, v[0].id);
	assert_string_equal(a->act.time_column, "created_at");
	assert_ptr_not_equal(a->act.time_column, lts[0].time_column);
	assert_int_equal(a->act.cutoff, NOW - 30 * DAY);
	assert_int_equal(a->act.batch_rows, 5000);
	assert_int_equal(a->act.pause_ms, 100);
	assert_int_equal(a->bytes, 300 * MB);
	a = &plan->actions[1];
	assert_string_equal(a->act.objects[0].schema, "app"); /* the only audit */
	assert_string_equal(a->act.objects[0].name, "audit");
	assert_int_equal(a->act.cutoff, NOW - 90 * DAY);
	assert_non_null(find_finding(plan, "log table history is ambiguous"));
	assert_non_null(find_finding(plan, "log table missing_log not found"));
	assert_null(find_action(plan, DBK_A_PURGE_ROWS, "other", "events"));
	fixture_done(&f, plan);
}

/* ---- Server logs ---- */

static void test_server_logs(void **unused)
{
	struct dbk_logfile v[] = {
		{ "binlog.000001", 100 * MB, NOW - 30 * DAY, false },
		{ "binlog.000002", 100 * MB, NOW - 20 * DAY, false },
		{ "binlog.000003", 100 * MB, NOW - 15 * DAY, false },
		{ "binlog.000004", 100 * MB, NOW - 10 * DAY, false }, /* too new */
		{ "binlog.000005", 10 * MB, NOW, true },              /* in use */
		{ "mystery.log", MB, 0, false },                      /* age unknown */
	};
	struct dbk_policy p;
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_plan_action *a = NULL;

	(void)unused;
	policy_init(&p, "srv");
	p.scratch.enabled = false;
	p.server_logs = (struct dbk_pol_serverlogs){ .enabled = true,
	    .retention_s = 14 * DAY, .keep_min = 2, .schedule.interval_s = HOUR };
	fixture_init(&f, &p, NULL);
	f.fl = (struct dbk_logfile_list){ DBK_NELEM(v), v };
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	a = &plan->actions[0];
	assert_int_equal(a->act.kind, DBK_A_PURGE_SERVER_LOGS);
	assert_int_equal(a->act.n_objects, 3);
	assert_null(a->act.objects[0].schema);
	assert_string_equal(a->act.objects[0].name, "binlog.000001");
	assert_string_equal(a->act.objects[2].name, "binlog.000003");
	assert_int_equal(a->act.cutoff, NOW - 14 * DAY);
	assert_int_equal(a->bytes, 300 * MB);
	dbk_plan_free(plan);

	/* keep_min protects old files too: the 4 newest stay (the one in
	 * use counts among them; the file of unknown age never does) */
	p.server_logs.keep_min = 4;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	assert_int_equal(plan->actions[0].act.n_objects, 1);
	assert_string_equal(plan->actions[0].act.objects[0].name, "binlog.000001");
	dbk_plan_free(plan);
	p.server_logs.keep_min = 5;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 0);
	fixture_done(&f, plan);
}

/* ---- Statistics ---- */

/* A crashed pg_repack leaves a trigger that copies every write into its log
 * table: the trigger goes first, and the table only with it. */
static void test_tool_triggers(void **unused)
{
	struct dbk_table v[2];
	struct dbk_trigger tr = { .schema = "app", .table = "orders",
	    .name = "repack_trigger", .tool = "pg_repack",
	    .feeds_schema = "repack", .feeds_table = "log_16390", .id = 77,
	    .table_id = 16390, .flags = DBK_TRF_TOOL_LEFTOVER };
	struct dbk_trigger_list trl = { 1, &tr };
	struct dbk_policy p;
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_plan_action *a = NULL;

	(void)unused;
	policy_init(&p, "hk");
	p.scratch.tool_leftovers = true;
	fixture_init(&f, &p, NULL);
	v[0] = tbl("repack", "log_16390", 30 * DAY);
	v[1] = tbl("repack", "table_16390", 30 * DAY);
	v[0].flags = v[1].flags = DBK_TF_TOOL_LEFTOVER;
	fixture_tables(&f, v, 2);
	f.obs.triggers = &trl;

	/* trigger first, then both tables */
	plan = plan_of(&f, true);
	assert_true(plan->n_actions >= 2);
	a = &plan->actions[0];
	assert_int_equal(a->act.kind, DBK_A_DROP_TRIGGER);
	assert_int_equal(a->act.n_objects, 2);
	assert_string_equal(a->act.objects[0].schema, "app");
	assert_string_equal(a->act.objects[0].name, "repack_trigger");
	assert_int_equal(a->act.objects[0].id, 77);
	assert_string_equal(a->act.objects[1].name, "orders");
	assert_int_equal(a->act.objects[1].id, 16390);
	assert_non_null(strstr(a->reason, "pg_repack, which is not running"));
	assert_true(dropped(plan, "repack", "log_16390"));
	assert_true(dropped(plan, "repack", "table_16390"));
	assert_null(find_finding(plan, "tool trigger left behind"));
	dbk_plan_free(plan);

	/* the trigger's schema not allowed: it stays, so does the table it
	 * feeds (the other goes), and a warning says why */
	static char *only_repack[] = { "repack" };
	p.scratch.schemas = (struct dbk_strv){ 1, only_repack };
	plan = plan_of(&f, true);
	assert_int_equal(count_kind(plan, DBK_A_DROP_TRIGGER), 0);
	assert_false(dropped(plan, "repack", "log_16390"));
	assert_true(dropped(plan, "repack", "table_16390"));
	assert_non_null(find_finding(plan, "tool trigger left behind (pg_repack)"));
	assert_int_equal(find_finding(plan, "tool trigger")->severity, DBK_SEV_WARNING);
	assert_string_equal(find_finding(plan, "tool trigger")->object, "app.orders");
	dbk_plan_free(plan);
	p.scratch.schemas = (struct dbk_strv){ 0, NULL };

	/* tool_leftovers off: nothing of it, the warning stays */
	p.scratch.tool_leftovers = false;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 0);
	assert_non_null(find_finding(plan, "tool trigger left behind"));
	dbk_plan_free(plan);
	p.scratch.tool_leftovers = true;

	/* the tool is running: neither trigger nor tables, no warning */
	tr.flags = DBK_TRF_TOOL_RUNNING;
	v[0].flags = v[1].flags = DBK_TF_TOOL_RUNNING;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 0);
	assert_null(find_finding(plan, "tool trigger"));
	dbk_plan_free(plan);

	/* triggers not assessed: no tool table is dropped blind; a pattern
	 * match that is no tool's still is */
	tr.flags = DBK_TRF_TOOL_LEFTOVER;
	v[0].flags = v[1].flags = DBK_TF_TOOL_LEFTOVER;
	f.obs.triggers = NULL;
	f.obs.triggers_failed = true;
	v[1] = tbl("app", "tmp_x", 30 * DAY);
	plan = plan_of(&f, true);
	assert_false(dropped(plan, "repack", "log_16390"));
	assert_true(dropped(plan, "app", "tmp_x"));
	fixture_done(&f, plan);
}

static struct dbk_policy binlog_policy(void)
{
	struct dbk_policy p;

	policy_init(&p, "srv");
	p.scratch.enabled = false;
	p.server_logs = (struct dbk_pol_serverlogs){ .enabled = true,
	    .retention_s = 7 * DAY, .keep_min = 1, .forget_replica_s = 7 * DAY,
	    .schedule.interval_s = HOUR };
	return p;
}

/* A replica seen before and absent now holds every binary log back, with
 * a warning, until it is back or forgotten; a connected one only the logs
 * it still reads. */
static void test_replicas_hold_binlogs(void **unused)
{
	struct dbk_logfile v[] = {
		{ "bin.000001", MB, NOW - 30 * DAY, false },
		{ "bin.000002", MB, NOW - 20 * DAY, false },
		{ "bin.000003", MB, NOW, true },
	};
	struct dbk_replica r2 = { "2", "10.0.0.2", 3306, NULL };
	struct dbk_replica_list connected = { 1, &r2 }, none = { 0, NULL };
	struct dbk_policy p = binlog_policy();
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_finding *fi = NULL;

	(void)unused;
	fixture_init(&f, &p, NULL);
	f.fl = (struct dbk_logfile_list){ DBK_NELEM(v), v };
	f.obs.replicas = &connected;
	dbk_state_observe_replicas(f.st, &connected, NOW - DAY, NOW - 8 * DAY);

	/* connected: both old files go */
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	assert_int_equal(plan->actions[0].act.n_objects, 2);
	dbk_plan_free(plan);

	/* it reads bin.000002: only bin.000001 goes */
	r2.needs_log = "bin.000002";
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	assert_int_equal(plan->actions[0].act.n_objects, 1);
	assert_string_equal(plan->actions[0].act.objects[0].name, "bin.000001");
	dbk_plan_free(plan);
	r2.needs_log = NULL;

	/* away (last seen a day ago): nothing goes, a warning names it */
	f.obs.replicas = &none;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 0);
	fi = find_finding(plan, "replica not connected (binary logs kept)");
	assert_non_null(fi);
	assert_int_equal(fi->severity, DBK_SEV_WARNING);
	assert_string_equal(fi->object, "replica 2");
	assert_non_null(strstr(fi->evidence, "10.0.0.2:3306"));
	assert_non_null(strstr(fi->evidence, "1d ago"));
	dbk_plan_free(plan);

	/* away longer than forget_replica_after: purging goes on */
	p.server_logs.forget_replica_s = 12 * HOUR;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	assert_null(find_finding(plan, "replica not connected"));
	dbk_plan_free(plan);
	p.server_logs.forget_replica_s = 7 * DAY;

	/* replicas could not be read: nothing goes */
	f.obs.replicas = NULL;
	f.obs.replicas_failed = true;
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 0);
	assert_non_null(find_finding(plan, "replicas not assessed"));
	fixture_done(&f, plan);
}

/* The state remembers replicas: new ones first seen now, known ones keep
 * theirs, absent ones stay until forgotten. */
static void test_state_replicas(void **unused)
{
	struct dbk_replica a[] = { { "2", "h2", 3306, NULL },
	                           { "3", NULL, 0, NULL } };
	struct dbk_replica_list both = { 2, a }, only3 = { 1, &a[1] };
	struct dbk_state *st = dbk_state_new_empty();
	struct dbk_replica_seen r;

	(void)unused;
	dbk_state_observe_replicas(st, NULL, NOW, 0); /* not assessed */
	assert_int_equal(dbk_state_n_replicas(st), 0);
	dbk_state_observe_replicas(st, &both, NOW - 10 * DAY, 0);
	dbk_state_observe_replicas(st, &only3, NOW - 5 * DAY, 0);
	assert_int_equal(dbk_state_n_replicas(st), 2);
	assert_true(dbk_state_replica(st, 0, &r));
	assert_string_equal(r.id, "2");
	assert_string_equal(r.host, "h2");
	assert_int_equal(r.first_seen, NOW - 10 * DAY);
	assert_int_equal(r.last_seen, NOW - 10 * DAY);
	assert_true(dbk_state_replica(st, 1, &r));
	assert_null(r.host);
	assert_int_equal(r.last_seen, NOW - 5 * DAY);
	/* forgotten: "2" was last seen before the limit */
	dbk_state_observe_replicas(st, &only3, NOW, NOW - 7 * DAY);
	assert_int_equal(dbk_state_n_replicas(st), 1);
	assert_true(dbk_state_replica(st, 0, &r));
	assert_string_equal(r.id, "3");
	dbk_state_free(st);
}

/* Log tables are rotated when their oldest entry passes the retention,
 * whatever the replicas do. */
static void test_log_tables_rotate(void **unused)
{
	struct dbk_logfile lt[] = {
		{ "mysql.slow_log", 5 * MB, NOW - 10 * DAY, false },
		{ "mysql.general_log", MB, NOW - DAY, false },   /* too new */
		{ "mysql.empty_log", 0, 0, false },              /* empty */
	};
	struct dbk_logfile_list ltl = { DBK_NELEM(lt), lt };
	struct dbk_policy p = binlog_policy();
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_plan_action *a = NULL;

	(void)unused;
	fixture_init(&f, &p, NULL);
	f.obs.log_tables = &ltl;
	f.obs.replicas_failed = true; /* holds binary logs, not log tables */
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	a = &plan->actions[0];
	assert_int_equal(a->act.kind, DBK_A_ROTATE_LOG_TABLE);
	assert_string_equal(a->act.objects[0].schema, "mysql");
	assert_string_equal(a->act.objects[0].name, "slow_log");
	assert_int_equal(a->act.cutoff, NOW - 7 * DAY);
	assert_int_equal(a->bytes, 5 * MB);
	assert_int_equal(a->task, DBK_TASK_SERVER_LOGS);
	fixture_done(&f, plan);
}

static void test_stats(void **unused)
{
	static char names[30][16];
	struct dbk_policy p;
	struct dbk_table v[34];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p, "stats");
	p.scratch.enabled = false;
	p.stats = (struct dbk_pol_stats){ .analyze = true, .stale_ratio = 0.1,
	    .stale_min_rows = 1000, .schedule.interval_s = HOUR };
	fixture_init(&f, &p, NULL);
	for (int i = 0; i < 30; i++) {
		snprintf(names[i], sizeof names[i], "t%02d", i);
		v[i] = tbl("public", names[i], DAY);
		v[i].est_rows = 10000;
		v[i].mods_since_analyze = 1000 + i; /* t29 most modified */
	}
	v[30] = tbl("public", "tiny", DAY);
	v[30].est_rows = 10;
	v[30].mods_since_analyze = 10;
	v[31] = tbl("public", "fresh", DAY);
	v[31].est_rows = 10000;
	v[31].mods_since_analyze = 999;
	v[32] = tbl("public", "unknown_mods", DAY);
	v[32].est_rows = 10000;
	v[33] = tbl("pg_catalog", "pg_class", DAY);
	v[33].est_rows = 10000;
	v[33].mods_since_analyze = 100000;
	fixture_tables(&f, v, 34);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 2);
	assert_int_equal(plan->actions[0].act.kind, DBK_A_ANALYZE);
	assert_int_equal(plan->actions[0].act.n_objects, 20);
	assert_int_equal(plan->actions[1].act.n_objects, 10);
	assert_string_equal(plan->actions[0].act.objects[0].name, "t29");
	assert_string_equal(plan->actions[1].act.objects[9].name, "t00");
	assert_null(find_action(plan, DBK_A_ANALYZE, "public", "tiny"));
	assert_null(find_action(plan, DBK_A_ANALYZE, "public", "fresh"));
	assert_null(find_action(plan, DBK_A_ANALYZE, "public", "unknown_mods"));
	assert_null(find_action(plan, DBK_A_ANALYZE, "pg_catalog", "pg_class"));
	dbk_plan_free(plan);

	p.stats.analyze = false;
	plan = plan_of(&f, true);
	assert_int_equal(plan->task_state[0][DBK_TASK_STATS], DBK_TS_OFF);
	assert_int_equal(plan->n_actions, 0);
	fixture_done(&f, plan);
}

/* ---- Across policies and tasks ---- */

static void test_replica_plans_nothing(void **unused)
{
	struct dbk_policy p;
	struct dbk_table v[1];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	const struct dbk_finding *fd = NULL;

	(void)unused;
	policy_init(&p, "housekeeping");
	p.stats = (struct dbk_pol_stats){ .analyze = true, .stale_ratio = 0 };
	fixture_init(&f, &p, NULL);
	f.info.is_replica = true;
	v[0] = tbl("public", "tmp_a", 30 * DAY);
	v[0].est_rows = 10;
	v[0].mods_since_analyze = 10;
	fixture_tables(&f, v, 1);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 0);
	assert_int_equal(plan->task_state[0][DBK_TASK_SCRATCH], DBK_TS_DUE);
	assert_int_equal(plan->task_state[0][DBK_TASK_STATS], DBK_TS_DUE);
	assert_int_equal(plan->n_findings, 1);
	assert_non_null(fd = find_finding(plan, "replica"));
	assert_int_equal(fd->severity, DBK_SEV_INFO);
	fixture_done(&f, plan);
}

static void test_two_policies_one_table(void **unused)
{
	struct dbk_policy p1, p2;
	struct dbk_table v[2];
	struct fixture f;
	struct dbk_plan *plan = NULL;

	(void)unused;
	policy_init(&p1, "first");
	policy_init(&p2, "second");
	p2.scratch.dry_run = true;
	fixture_init(&f, &p1, &p2);
	v[0] = tbl("public", "tmp_shared", 30 * DAY);
	v[1] = tbl("public", "tmp_other", 30 * DAY);
	v[1].size_bytes = 1;
	fixture_tables(&f, v, 2);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, 1);
	assert_int_equal(plan->actions[0].act.n_objects, 2);
	assert_ptr_equal(plan->actions[0].policy, &p1);
	assert_false(plan->actions[0].dry_run);
	fixture_done(&f, plan);
}

/* Actions come out in task order; an index whose table is dropped in the
 * same plan is left alone, and a dropped table is not analyzed. */
static void test_task_order(void **unused)
{
	struct dbk_pol_logtable lt = { .schema = "app", .table = "events",
	    .time_column = "ts", .retention_s = DAY, .batch_rows = 10 };
	struct dbk_logfile lf = { "postgresql-1.log", MB, NOW - 30 * DAY, false };
	struct dbk_policy p;
	struct dbk_table v[2];
	struct dbk_index ix[2];
	struct fixture f;
	struct dbk_plan *plan = NULL;
	static const int want[] = { DBK_A_DROP_TABLES, DBK_A_PURGE_ROWS,
	    DBK_A_REBUILD_INDEX, DBK_A_PURGE_SERVER_LOGS, DBK_A_ANALYZE };

	(void)unused;
	policy_init(&p, "all");
	p.indexes = (struct dbk_pol_indexes){ .enabled = true, .min_bloat_pct = 20,
	    .max_per_run = 10 };
	p.logs = (struct dbk_pol_logs){ .enabled = true, .n = 1, .v = &lt };
	p.server_logs = (struct dbk_pol_serverlogs){ .enabled = true,
	    .retention_s = DAY };
	p.stats = (struct dbk_pol_stats){ .analyze = true, .stale_ratio = 0.1 };
	fixture_init(&f, &p, NULL);
	v[0] = tbl("app", "events", DAY);
	v[0].est_rows = 100;
	v[0].mods_since_analyze = 50;
	v[1] = tbl("app", "tmp_gone", 30 * DAY);
	v[1].est_rows = 100;
	v[1].mods_since_analyze = 50;
	ix[0] = idx("events_ts", 10 * MB, 50, 0);
	ix[0].schema = "app";
	ix[0].table = "events";
	ix[1] = idx("tmp_gone_idx", 10 * MB, 50, 0);
	ix[1].schema = "app";
	ix[1].table = "tmp_gone";
	f.il = (struct dbk_index_list){ 2, ix };
	f.fl = (struct dbk_logfile_list){ 1, &lf };
	fixture_tables(&f, v, 2);
	plan = plan_of(&f, true);
	assert_int_equal(plan->n_actions, DBK_NELEM(want));
	for (size_t i = 0; i < DBK_NELEM(want); i++)
		assert_int_equal(plan->actions[i].act.kind, want[i]);
	assert_null(find_action(plan, DBK_A_REBUILD_INDEX, "app", "tmp_gone_idx"));
	assert_null(find_action(plan, DBK_A_ANALYZE, "app", "tmp_gone"));
	assert_int_equal(plan->deadline, NOW + 4 * HOUR);
	fixture_done(&f, plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_shipped_patterns_and_decoys),
		cmocka_unit_test(test_adversarial_names_byte_exact),
		cmocka_unit_test(test_system_schemas_never),
		cmocka_unit_test(test_schema_allow_list_and_exclude),
		cmocka_unit_test(test_min_age_created_at),
		cmocka_unit_test(test_min_age_first_seen),
		cmocka_unit_test(test_first_seen_id_change),
		cmocka_unit_test(test_require_idle),
		cmocka_unit_test(test_max_per_run_and_statement),
		cmocka_unit_test(test_carried_first),
		cmocka_unit_test(test_flags_orphans_and_tools),
		cmocka_unit_test(test_windows_and_force),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_off_and_not_assessed),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_action_budget_fields),
		cmocka_unit_test(test_indexes),
		cmocka_unit_test(test_tool_leftover_index),
		cmocka_unit_test(test_index_baseline),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_server_logs),
		cmocka_unit_test(test_tool_triggers),
		cmocka_unit_test(test_replicas_hold_binlogs),
		cmocka_unit_test(test_state_replicas),
		cmocka_unit_test(test_log_tables_rotate),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_replica_plans_nothing),
		cmocka_unit_test(test_two_policies_one_table),
		cmocka_unit_test(test_task_order),
	};

	/* Windows are evaluated in local time; make that UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
