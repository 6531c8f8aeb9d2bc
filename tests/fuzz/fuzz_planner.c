/* tests/fuzz/fuzz_planner.c: libFuzzer harness for the planner. Bytes
 * become policies, an observation with hostile names, a state and a clock;
 * dbk_plan_make must keep its safety rules whatever it is given (see
 * check_plan). */
#include "fuzz_common.h"

#include <math.h>
#include <time.h>

#include "keytab.h"
#include "planner.h"
#include "state.h"
#include "units.h"

#define MAX_TABLES 24
#define MAX_INDEXES 12
#define MAX_LOGFILES 10
#define MAX_STRINGS 512
#define DAY INT64_C(86400)
#define NOW INT64_C(1705284000) /* Monday 2024-01-15 02:00 UTC */

/* Everything one input decodes to; strings are owned through keep[]. */
struct world {
	struct fuzz_in in;
	char *keep[MAX_STRINGS];
	unsigned n_keep;
	char *strv_items[2][3][4]; /* policy, list (include/exclude/schemas), item */
	struct dbk_policy pol[2];
	struct dbk_pol_logtable logt[2][3];
	const struct dbk_policy *pols[2];
	struct dbk_target target;
	struct dbk_table tables[MAX_TABLES];
	struct dbk_index indexes[MAX_INDEXES];
	struct dbk_logfile logfiles[MAX_LOGFILES];
	struct dbk_table_list tl;
	struct dbk_index_list il;
	struct dbk_logfile_list fl;
	struct dbk_server_info info;
	struct dbk_observation obs;
	struct dbk_state *st;
	int64_t now;
	bool force;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static char *keep(struct world *w, char *s)
{
	if (w->n_keep == MAX_STRINGS) {
		free(s);
		return (char *)"overflow";
	}
	w->keep[w->n_keep++] = s;
	return s;
}

static const char *pick(struct world *w, const char *const *pool, size_t n)
{
	return pool[fuzz_u8(&w->in) % n];
}

/* Schemas: ordinary ones, every spelling of a system schema, other
 * sessions' temp schemas, none, and whatever the input says. */
static const char *schema_of(struct world *w)
{
	static const char *const pool[] = {
		"public", "app", "pg_catalog", "information_schema",
		"PG_CATALOG", "Information_Schema", "mysql", "sys",
		"performance_schema", "pg_toast", "pg_toast_temp_1", "pg_temp_3",
		"", "app\"; DROP SCHEMA public; --", "MySQL", NULL,
	};
	uint8_t sel = fuzz_u8(&w->in);

	if (sel < 0xf0)
		return pool[sel % DBK_NELEM(pool)];
	return keep(w, fuzz_str(&w->in, 70));
}

/* Names: a prefix the shipped patterns know (or a decoy) and input bytes,
 * or a name taken from an earlier table so names collide. */
static const char *name_of(struct world *w, size_t n_tables)
{
	static const char *const prefix[] = {
		"tmp_", "temp_", "scratch_", "x_bak_2", "x_backup_1", "x_old_9",
		"tmpl_", "temperature", "template_", "#sql-", "_ccnew", "",
		"tmp_x`; DROP TABLE t;--", "tmp_\"q\"", "tmp_\\", "tmp_\n",
	};
	uint8_t sel = fuzz_u8(&w->in);

	if (sel >= 0xe0 && n_tables > 0)
		return w->tables[sel % n_tables].name;
	return keep(w, dbk_xasprintf("%s%s", prefix[sel % DBK_NELEM(prefix)],
	                             keep(w, fuzz_str(&w->in, 66))));
}

static int64_t i64_of(struct world *w)
{
	switch (fuzz_u8(&w->in) % 8) {
	case 0: return -1;
	case 1: return 0;
	case 2: return INT64_MAX;
	case 3: return INT64_MIN;
	case 4: return (int64_t)fuzz_u64(&w->in, 2);
	case 5: return (int64_t)fuzz_u64(&w->in, 4);
	default: return (int64_t)fuzz_u64(&w->in, 8);
	}
}

/* A unix time: unknown, recent past, far past, future, or anything. */
static int64_t time_of(struct world *w)
{
	switch (fuzz_u8(&w->in) % 6) {
	case 0: return 0;
	case 1:
	case 2: return w->now - fuzz_range(&w->in, 0, 40 * DAY);
	case 3: return w->now + fuzz_range(&w->in, 1, 40 * DAY);
	case 4: return fuzz_range(&w->in, 1, 1000);
	default: return i64_of(w);
	}
}

/* A duration in seconds as a policy can hold one: positive, up to what
 * the configuration parser accepts. */
static int64_t dur_of(struct world *w, int64_t typical)
{
	switch (fuzz_u8(&w->in) % 4) {
	case 0: return typical;
	case 1: return INT64_MAX / 1000;
	default: return fuzz_range(&w->in, 1, 60 * DAY);
	}
}

static const char *glob_of(struct world *w)
{
	static const char *const pool[] = {
		"tmp_*", "temp_*", "scratch_*", "*_bak_[0-9]*", "*_backup_[0-9]*",
		"*_old_[0-9]*", "t?p_*", "[!a]*x", "\\*lit", "*\n*", "tmp_\\\"*",
	};
	uint8_t sel = fuzz_u8(&w->in);
	char why[128];
	char *s = NULL;

	if (sel < 0xe0)
		return pool[sel % DBK_NELEM(pool)];
	/* The planner only ever sees globs the config parser accepted. */
	s = keep(w, fuzz_str(&w->in, 40));
	return dbk_keytab_glob_ok(s, why, sizeof why) ? s : "tmp_*";
}

static struct dbk_strv strv_of(struct world *w, unsigned p, unsigned list,
                               unsigned min, bool globs)
{
	struct dbk_strv v = { 0, w->strv_items[p][list] };
	unsigned n = min + fuzz_u8(&w->in) % 3;

	for (unsigned i = 0; i < n; i++)
		v.v[v.n++] = (char *)(globs ? glob_of(w) : schema_of(w));
	/* A NULL schema is "none" in an observation, never in a policy. */
	for (unsigned i = 0; i < v.n; i++)
		if (v.v[i] == NULL)
			v.v[i] = "app";
	return v;
}

static struct dbk_schedule sched_of(struct world *w, int64_t interval)
{
	static const char *const pool[] = {
		"daily 00:00-24:00", "Mon-Fri 01:00-05:00", "daily 22:00-02:00",
		"Sat,Sun 00:00-06:00", "Mon 02:00-03:00; Mon 03:00-04:00", "Sun 23:00-01:00",
	};
	struct dbk_schedule s = { .interval_s = dur_of(w, interval) };
	struct dbk_err err;

	if (fuzz_u8(&w->in) % 4 == 0)
		s.has_window = dbk_parse_windows(pick(w, pool, DBK_NELEM(pool)),
		                                 &s.window, &err) == 0;
	return s;
}

static void policy_of(struct world *w, unsigned i)
{
	struct dbk_policy *p = &w->pol[i];

	memset(p, 0, sizeof *p);
	p->name = i == 0 ? "p0" : "p\"1\n";
	p->queue = "reports";
	if (fuzz_u8(&w->in) % 4 == 0) {
		struct dbk_err err;

		if (dbk_parse_windows("Mon-Fri 01:00-05:00", &p->window, &err) != 0)
			abort();
	}
	p->budget = (struct dbk_budget){ .max_run_time_s = dur_of(w, 1800),
	    .lock_timeout_ms = 5000, .statement_timeout_ms = 600000,
	    .observe_timeout_ms = 30000, .max_replica_lag_ms = 30000 };

	p->scratch.enabled = fuzz_bool(&w->in);
	p->scratch.dry_run = fuzz_bool(&w->in);
	p->scratch.require_idle = fuzz_bool(&w->in);
	p->scratch.orphan_temp = fuzz_bool(&w->in);
	p->scratch.tool_leftovers = fuzz_bool(&w->in);
	p->scratch.include = strv_of(w, i, 0, 1, true);
	p->scratch.exclude = strv_of(w, i, 1, 0, true);
	p->scratch.schemas = fuzz_bool(&w->in) ? strv_of(w, i, 2, 0, false) :
	                                         (struct dbk_strv){ 0, NULL };
	p->scratch.min_age_s = dur_of(w, 7 * DAY);
	p->scratch.max_per_run = fuzz_range(&w->in, 1, 6);
	p->scratch.max_per_statement = fuzz_range(&w->in, 1, 4);
	p->scratch.schedule = sched_of(w, 3600);

	p->logs.enabled = fuzz_bool(&w->in);
	p->logs.dry_run = fuzz_bool(&w->in);
	p->logs.n = 1 + fuzz_u8(&w->in) % 3;
	p->logs.v = w->logt[i];
	for (unsigned j = 0; j < p->logs.n; j++) {
		struct dbk_pol_logtable *lt = &w->logt[i][j];
		const char *s = schema_of(w);

		lt->schema = (char *)s;
		lt->table = (char *)name_of(w, w->tl.n);
		lt->time_column = "created_at";
		lt->retention_s = dur_of(w, 30 * DAY);
		lt->batch_rows = fuzz_range(&w->in, 1, 1000000);
		lt->pause_ms = fuzz_range(&w->in, 0, 3600000);
	}
	p->logs.schedule = sched_of(w, 3600);

	p->server_logs.enabled = fuzz_bool(&w->in);
	p->server_logs.dry_run = fuzz_bool(&w->in);
	p->server_logs.retention_s = dur_of(w, 14 * DAY);
	p->server_logs.keep_min = fuzz_range(&w->in, 0, 6);
	p->server_logs.schedule = sched_of(w, DAY);

	p->indexes.enabled = fuzz_bool(&w->in);
	p->indexes.dry_run = fuzz_bool(&w->in);
	p->indexes.drop_invalid = fuzz_bool(&w->in);
	p->indexes.min_size_bytes = fuzz_range(&w->in, 0, 20 << 20);
	p->indexes.min_bloat_pct = fuzz_u8(&w->in) % 101;
	p->indexes.rebuild_method = fuzz_u8(&w->in) & 1;
	p->indexes.max_per_run = fuzz_range(&w->in, 1, 4);
	p->indexes.schedule = sched_of(w, DAY);

	p->stats.analyze = fuzz_bool(&w->in);
	p->stats.dry_run = fuzz_bool(&w->in);
	p->stats.stale_ratio = (double)(1 + fuzz_u8(&w->in) % 100) / 100.0;
	p->stats.stale_min_rows = fuzz_range(&w->in, 0, 2000);
	p->stats.schedule = sched_of(w, 6 * 3600);
	p->stats.metrics_interval_s = 300;
}

static double bloat_of(struct world *w)
{
	switch (fuzz_u8(&w->in) % 8) {
	case 0: return -1;
	case 1: return NAN;
	case 2: return INFINITY;
	case 3: return 1e300;
	default: return (double)fuzz_u8(&w->in) * 0.6;
	}
}

static void observation_of(struct world *w)
{
	size_t nt = fuzz_u8(&w->in) % (MAX_TABLES + 1);
	size_t ni = fuzz_u8(&w->in) % (MAX_INDEXES + 1);
	size_t nf = fuzz_u8(&w->in) % (MAX_LOGFILES + 1);
	uint8_t assessed = fuzz_u8(&w->in);

	for (size_t i = 0; i < nt; i++) {
		struct dbk_table *t = &w->tables[i];

		t->schema = schema_of(w);
		t->name = name_of(w, i);
		t->id = fuzz_u8(&w->in) % 6;
		t->size_bytes = i64_of(w);
		t->est_rows = i64_of(w);
		t->created_at = time_of(w);
		t->updated_at = time_of(w);
		t->write_count = i64_of(w);
		t->dead_rows = i64_of(w);
		t->mods_since_analyze = i64_of(w);
		t->last_analyze_at = time_of(w);
		t->xid_age = i64_of(w);
		t->flags = fuzz_u8(&w->in) % 32 == 0 ? fuzz_u8(&w->in) & 0x1f : 0;
	}
	for (size_t i = 0; i < ni; i++) {
		struct dbk_index *x = &w->indexes[i];
		uint8_t sel = fuzz_u8(&w->in);

		if (nt > 0 && sel < 0xc0) { /* usually on an observed table */
			const struct dbk_table *t = &w->tables[sel % nt];

			x->schema = t->schema;
			x->table = t->name;
			x->table_id = t->id;
		} else {
			x->schema = schema_of(w);
			x->table = name_of(w, nt);
		}
		x->name = fuzz_u8(&w->in) < 0x10 && i > 0 ? w->indexes[i - 1].name :
		          keep(w, fuzz_str(&w->in, 66));
		x->method = "btree";
		x->id = fuzz_u8(&w->in) % 6;
		x->size_bytes = i64_of(w);
		x->scans = i64_of(w);
		x->bloat_pct = bloat_of(w);
		x->flags = fuzz_u8(&w->in) & 0x7f;
		x->duplicate_of = (x->flags & DBK_IF_DUPLICATE) ? "other\"idx" : NULL;
	}
	for (size_t i = 0; i < nf; i++) {
		struct dbk_logfile *f = &w->logfiles[i];

		f->name = fuzz_u8(&w->in) < 0x20 && i > 0 ? w->logfiles[i - 1].name :
		          keep(w, fuzz_str(&w->in, 40));
		f->size_bytes = i64_of(w);
		f->mtime = time_of(w);
		f->in_use = fuzz_u8(&w->in) % 5 == 0;
	}
	w->tl = (struct dbk_table_list){ nt, w->tables };
	w->il = (struct dbk_index_list){ ni, w->indexes };
	w->fl = (struct dbk_logfile_list){ nf, w->logfiles };
	w->info.is_replica = assessed % 16 == 15;
	snprintf(w->info.flavour, sizeof w->info.flavour, "postgresql");
	w->obs.info = (assessed & 0x10) ? NULL : &w->info;
	w->obs.tables = (assessed & 0x20) ? NULL : &w->tl;
	w->obs.indexes = (assessed & 0x40) ? NULL : &w->il;
	w->obs.logfiles = (assessed & 0x80) ? NULL : &w->fl;
}

/* What the state remembers: tables first seen a while ago, last runs, and
 * carried-over keys in the planner's netstring spelling. */
static void state_of(struct world *w)
{
	static const char *const prefix[] = {
		"scratch:", "purge_rows:", "rebuild_index:", "drop_index:", "analyze:",
	};
	static const char *const tasks[] = {
		"scratch", "logs", "indexes", "server_logs", "stats",
	};
	const char *keys[4];
	unsigned nk = 0;

	w->st = dbk_state_new_empty();
	if (fuzz_bool(&w->in))
		dbk_state_observe_tables(w->st, &w->tl,
		                         w->now - fuzz_range(&w->in, 0, 30 * DAY));
	for (unsigned i = 0, n = fuzz_u8(&w->in) % 4; i < n; i++)
		dbk_state_set_last_run(w->st, w->pol[fuzz_u8(&w->in) & 1].name,
		                       pick(w, tasks, DBK_NELEM(tasks)),
		                       w->now - fuzz_range(&w->in, 0, 2 * DAY));
	for (unsigned i = 0, n = fuzz_u8(&w->in) % 5; i < n && w->tl.n > 0; i++) {
		const struct dbk_table *t = &w->tables[fuzz_u8(&w->in) % w->tl.n];
		const char *s = t->schema ? t->schema : "";

		keys[nk++] = keep(w, dbk_xasprintf("%s%zu:%s,%zu:%s,",
		    pick(w, prefix, DBK_NELEM(prefix)), strlen(s), s,
		    strlen(t->name), t->name));
	}
	dbk_state_set_carried(w->st, keys, nk);
}

/* ---- Invariants ---- */

static bool same(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static bool is_system(const struct dbk_table *t)
{
	return (t->flags & DBK_TF_SYSTEM) || dbk_plan_is_system_schema(t->schema);
}

static int policy_index(const struct world *w, const struct dbk_policy *p)
{
	for (unsigned i = 0; i < w->target.n_policies; i++)
		if (w->pols[i] == p)
			return (int)i;
	return -1;
}

/* Some observed table is this object and may be dropped under s. */
static bool droppable(const struct world *w, const struct dbk_pol_scratch *s,
                      const struct dbk_object *o)
{
	for (size_t i = 0; i < w->tl.n; i++) {
		const struct dbk_table *t = &w->tables[i];
		int64_t since = 0;

		if (!same(t->schema, o->schema) || !same(t->name, o->name) ||
		    t->id != o->id || is_system(t) || (t->flags & DBK_TF_TOOL_RUNNING))
			continue;
		if (t->flags & DBK_TF_TEMP_ORPHAN) {
			if (s->orphan_temp)
				return true;
			continue;
		}
		/* Leftovers need tool_leftovers; anything else a pattern. */
		if ((t->flags & (DBK_TF_TOOL_LEFTOVER | DBK_TF_SQL_ORPHAN)) ?
		    !s->tool_leftovers :
		    !dbk_plan_scratch_matches(s, t->schema, t->name))
			continue;
		since = t->created_at > 0 ? t->created_at :
		        dbk_state_first_seen(w->st, t->schema, t->name, t->id);
		if (since > 0 && w->now - since >= s->min_age_s)
			return true;
	}
	return false;
}

/* Some observed, non-system table is this object; flagless when plain. */
static bool observed_table(const struct world *w, const struct dbk_object *o,
                           bool plain)
{
	for (size_t i = 0; i < w->tl.n; i++) {
		const struct dbk_table *t = &w->tables[i];

		if (same(t->schema, o->schema) && same(t->name, o->name) &&
		    t->id == o->id && !is_system(t) && (!plain || t->flags == 0))
			return true;
	}
	return false;
}

/* Some observed index is this action's index on this table, and may be
 * dropped (kind DBK_A_DROP_INDEX) or rebuilt under p. */
static bool index_ok(const struct world *w, const struct dbk_policy *p,
                     const struct dbk_action *a)
{
	for (size_t i = 0; i < w->il.n; i++) {
		const struct dbk_index *x = &w->indexes[i];

		if (!same(x->schema, a->objects[0].schema) ||
		    !same(x->name, a->objects[0].name) || x->id != a->objects[0].id ||
		    !same(x->schema, a->objects[1].schema) ||
		    !same(x->table, a->objects[1].name) ||
		    x->table_id != a->objects[1].id)
			continue;
		if (a->kind == DBK_A_DROP_INDEX && p->indexes.drop_invalid &&
		    (x->flags & (DBK_IF_INVALID | DBK_IF_LEFTOVER)))
			return true;
		if (a->kind == DBK_A_REBUILD_INDEX && x->bloat_pct > 0 &&
		    x->bloat_pct >= p->indexes.min_bloat_pct &&
		    x->size_bytes >= p->indexes.min_size_bytes)
			return true;
	}
	return false;
}

static bool removable_logfile(const struct world *w, const char *name,
                              int64_t cutoff)
{
	for (size_t i = 0; i < w->fl.n; i++) {
		const struct dbk_logfile *f = &w->logfiles[i];

		if (same(f->name, name) && !f->in_use && f->mtime > 0 &&
		    f->mtime < cutoff)
			return true;
	}
	return false;
}

static void check_action(const struct world *w, const struct dbk_plan *plan,
                         const struct dbk_plan_action *a, unsigned drops[2],
                         unsigned rebuilds[2])
{
	const struct dbk_action *act = &a->act;
	int pi = policy_index(w, a->policy);
	const struct dbk_policy *p = a->policy;

	FUZZ_CHECK(pi >= 0, "action of an unknown policy");
	FUZZ_CHECK(plan->task_state[pi][a->task] == DBK_TS_DUE,
	           "action of task %s that is not due", dbk_task_name(a->task));
	FUZZ_CHECK(act->objects == a->objs && act->n_objects >= 1, "objects");
	FUZZ_CHECK(a->key != NULL && a->reason != NULL, "key and reason");
	FUZZ_CHECK(act->lock_timeout_ms == p->budget.lock_timeout_ms &&
	           act->statement_timeout_ms == p->budget.statement_timeout_ms,
	           "budget not carried");
	for (size_t j = 0; j < act->n_objects; j++)
		FUZZ_CHECK(!dbk_plan_is_system_schema(act->objects[j].schema),
		           "object in system schema '%s'", act->objects[j].schema);
	switch (act->kind) {
	case DBK_A_DROP_TABLES:
		FUZZ_CHECK(a->task == DBK_TASK_SCRATCH && a->dry_run == p->scratch.dry_run,
		           "drop: task or dry_run");
		FUZZ_CHECK(act->n_objects <= (size_t)p->scratch.max_per_statement,
		           "%zu tables in one statement", act->n_objects);
		for (size_t j = 0; j < act->n_objects; j++)
			FUZZ_CHECK(droppable(w, &p->scratch, &act->objects[j]),
			           "dropping a table that may not be dropped");
		drops[pi] += (unsigned)act->n_objects;
		break;
	case DBK_A_ANALYZE:
		FUZZ_CHECK(a->task == DBK_TASK_STATS && a->dry_run == p->stats.dry_run,
		           "analyze: task or dry_run");
		for (size_t j = 0; j < act->n_objects; j++)
			FUZZ_CHECK(observed_table(w, &act->objects[j], true),
			           "analyzing an unobserved or flagged table");
		break;
	case DBK_A_PURGE_ROWS:
		FUZZ_CHECK(a->task == DBK_TASK_LOGS && a->dry_run == p->logs.dry_run &&
		           act->n_objects == 1, "purge: task, dry_run or objects");
		FUZZ_CHECK(observed_table(w, &act->objects[0], false),
		           "purging an unobserved or system table");
		FUZZ_CHECK(act->time_column != NULL && act->batch_rows >= 1,
		           "purge parameters");
		break;
	case DBK_A_DROP_INDEX:
	case DBK_A_REBUILD_INDEX:
		FUZZ_CHECK(a->task == DBK_TASK_INDEXES &&
		           a->dry_run == p->indexes.dry_run && act->n_objects == 2,
		           "index: task, dry_run or objects");
		FUZZ_CHECK(index_ok(w, p, act), "%s of an index that does not qualify",
		           act->kind == DBK_A_DROP_INDEX ? "drop" : "rebuild");
		rebuilds[pi] += act->kind == DBK_A_REBUILD_INDEX;
		break;
	case DBK_A_PURGE_SERVER_LOGS:
		FUZZ_CHECK(a->task == DBK_TASK_SERVER_LOGS &&
		           a->dry_run == p->server_logs.dry_run, "logfiles: task or dry_run");
		for (size_t j = 0; j < act->n_objects; j++)
			FUZZ_CHECK(act->objects[j].schema == NULL &&
			           removable_logfile(w, act->objects[j].name, act->cutoff),
			           "removing a server log file that must stay");
		FUZZ_CHECK(act->n_objects + (size_t)p->server_logs.keep_min <= w->fl.n,
		           "fewer than keep files left");
		break;
	default:
		FUZZ_CHECK(false, "unknown action kind %d", act->kind);
	}
}

/* No table is dropped twice, by one policy or two. */
static void check_unique_drops(const struct dbk_plan *plan)
{
	for (unsigned i = 0; i < plan->n_actions; i++) {
		const struct dbk_action *a = &plan->actions[i].act;

		if (a->kind != DBK_A_DROP_TABLES)
			continue;
		for (size_t j = 0; j < a->n_objects; j++)
			for (unsigned k = i; k < plan->n_actions; k++) {
				const struct dbk_action *b = &plan->actions[k].act;

				if (b->kind != DBK_A_DROP_TABLES)
					continue;
				for (size_t m = (k == i ? j + 1 : 0); m < b->n_objects; m++)
					FUZZ_CHECK(!(same(a->objects[j].schema, b->objects[m].schema) &&
					             same(a->objects[j].name, b->objects[m].name)),
					           "a table is dropped twice");
			}
	}
}

/* The safety rules: no object in a system schema; every object byte-exact
 * from the observation and allowed by the policy; never more drops or
 * rebuilds than max_per_run, nor a table dropped twice; dry runs as the
 * policy says; nothing at all on a replica. */
static void check_plan(const struct world *w, const struct dbk_plan *plan)
{
	unsigned drops[2] = { 0, 0 }, rebuilds[2] = { 0, 0 };

	FUZZ_CHECK(plan->n_policies == w->target.n_policies, "n_policies");
	if (w->obs.info != NULL && w->info.is_replica)
		FUZZ_CHECK(plan->n_actions == 0, "actions planned on a replica");
	for (unsigned i = 0; i < plan->n_actions; i++)
		check_action(w, plan, &plan->actions[i], drops, rebuilds);
	for (unsigned i = 0; i < w->target.n_policies; i++) {
		FUZZ_CHECK(drops[i] <= (unsigned)w->pols[i]->scratch.max_per_run,
		           "%u drops, max_per_run %lld", drops[i],
		           (long long)w->pols[i]->scratch.max_per_run);
		FUZZ_CHECK(rebuilds[i] <= (unsigned)w->pols[i]->indexes.max_per_run,
		           "%u rebuilds, max_per_run %lld", rebuilds[i],
		           (long long)w->pols[i]->indexes.max_per_run);
	}
	check_unique_drops(plan);
	for (unsigned i = 0; i < plan->n_findings; i++)
		FUZZ_CHECK(plan->findings[i].title != NULL &&
		           plan->findings[i].evidence != NULL, "finding text");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = dbk_xcalloc(1, sizeof *w);
	struct dbk_plan *plan = NULL;

	w->in = (struct fuzz_in){ data, size };
	w->now = NOW + fuzz_range(&w->in, 0, 14 * DAY);
	w->force = fuzz_bool(&w->in);
	observation_of(w); /* first: log tables may name observed tables */
	policy_of(w, 0);
	w->target.n_policies = 1;
	if (fuzz_bool(&w->in)) {
		policy_of(w, 1);
		w->target.n_policies = 2;
	}
	w->pols[0] = &w->pol[0];
	w->pols[1] = &w->pol[1];
	w->target.name = "fuzz";
	w->target.policies = w->pols;
	state_of(w);

	plan = dbk_plan_make(&w->target, &w->obs, w->st, w->now, w->force);
	FUZZ_CHECK(plan != NULL, "no plan");
	check_plan(w, plan);
	/* The runner removes duplicates; the rest must stay consistent. */
	while (plan->n_actions > 0 && fuzz_bool(&w->in)) {
		dbk_plan_remove_action(plan, fuzz_u8(&w->in) % plan->n_actions);
		check_plan(w, plan);
	}
	dbk_plan_free(plan);
	dbk_state_free(w->st);
	for (unsigned i = 0; i < w->n_keep; i++)
		free(w->keep[i]);
	free(w);
	return 0;
}
