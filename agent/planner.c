/* agent/planner.c: the one place that decides what a cycle drops, rebuilds,
 * purges and analyzes, and every safety rule that goes with it. A pure
 * function of (target, observations, state, now): no I/O, no clock, no
 * logging, no driver calls. SQL is rendered later by the driver. */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "planner.h"
#include "units.h"
#include "util.h"

#define ANALYZE_PER_ACTION 20 /* tables per ANALYZE statement */

/* Claim kinds for findings, next to the dbk_action_kind values, so the same
 * advice is not repeated by every policy that covers an index. */
enum {
	CLAIM_FINDING_BROKEN = 100,
	CLAIM_FINDING_DUPLICATE,
};

/* ---- Small string builder ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = dbk_xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void sb_addf(struct sbuf *b, const char *fmt, ...) DBK_PRINTF(2, 3);
static void sb_addf(struct sbuf *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort(); /* out of memory, like every dbk_x* allocation */
	sb_addn(b, s, (size_t)n);
	free(s);
}

/* Netstring "<len>:<bytes>," so keys built from arbitrary names (commas,
 * colons, quotes) can never collide. NULL is the empty string. */
static void sb_netstring(struct sbuf *b, const char *s)
{
	s = s ? s : "";
	sb_addf(b, "%zu:", strlen(s));
	sb_add(b, s);
	sb_add(b, ",");
}

static char *sb_take(struct sbuf *b)
{
	char *p = b->p ? b->p : dbk_xstrdup("");

	*b = (struct sbuf){ 0 };
	return p;
}

static char *key_of(const char *prefix, const char *schema, const char *name)
{
	struct sbuf b = { 0 };

	sb_add(&b, prefix);
	sb_netstring(&b, schema);
	sb_netstring(&b, name);
	return sb_take(&b);
}

/* "schema.name", or the name alone when there is no schema. Raw bytes: this
 * is for findings, which are data, never SQL. */
static char *qname(const char *schema, const char *name)
{
	if (schema == NULL || *schema == '\0')
		return dbk_xstrdup(name ? name : "");
	return dbk_xasprintf("%s.%s", schema, name ? name : "");
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_i64_desc(int64_t a, int64_t b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

/* qsort, except that an empty array may be NULL (qsort's base may not). */
static void sort_n(void *base, size_t n, size_t size,
                   int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int64_t nonneg(int64_t v)
{
	return v > 0 ? v : 0;
}

/* Sums of sizes (a, b >= 0) saturate: statistics can be broken or hostile,
 * and a signed overflow is undefined behaviour. */
static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* ---- Claims: objects already taken by an earlier action ---- */

/* Open addressing over owned keys "<kind>|" netstring(schema) netstring(name). */
struct claims {
	char **slot;
	size_t n, cap;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t claims_find(const struct claims *c, const char *key)
{
	size_t i = (size_t)fnv1a(key) & (c->cap - 1);

	while (c->slot[i] != NULL && strcmp(c->slot[i], key) != 0)
		i = (i + 1) & (c->cap - 1);
	return i;
}

static void claims_grow(struct claims *c)
{
	struct claims big = { .cap = c->cap ? c->cap * 2 : 64 };

	big.slot = dbk_xcalloc(big.cap, sizeof *big.slot);
	for (size_t i = 0; i < c->cap; i++)
		if (c->slot[i] != NULL)
			big.slot[claims_find(&big, c->slot[i])] = c->slot[i];
	big.n = c->n;
	free(c->slot);
	*c = big;
}

static char *claim_key(int kind, const char *schema, const char *name)
{
	char prefix[16];

	snprintf(prefix, sizeof prefix, "%d|", kind);
	return key_of(prefix, schema, name);
}

static bool claims_has(const struct claims *c, int kind, const char *schema,
                       const char *name)
{
	char *key = NULL;
	bool has = false;

	if (c->n == 0)
		return false;
	key = claim_key(kind, schema, name);
	has = c->slot[claims_find(c, key)] != NULL;
	free(key);
	return has;
}

/* Returns true when the object was free and is now claimed. */
static bool claims_take(struct claims *c, int kind, const char *schema,
                        const char *name)
{
	char *key = NULL;
	size_t i = 0;

	if ((c->n + 1) * 2 > c->cap)
		claims_grow(c);
	key = claim_key(kind, schema, name);
	i = claims_find(c, key);
	if (c->slot[i] != NULL) {
		free(key);
		return false;
	}
	c->slot[i] = key;
	c->n++;
	return true;
}

static void claims_free(struct claims *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->slot[i]);
	free(c->slot);
	*c = (struct claims){ 0 };
}

/* ---- The plan under construction ---- */

struct planner {
	struct dbk_plan *plan;
	unsigned cap_actions, cap_findings;
	const struct dbk_observation *obs;
	const struct dbk_state *st; /* may be NULL: behaves as an empty state */
	int64_t now;
	struct claims claims;
};

/* The state accessors, tolerant of no state at all (an empty memory). */
static int64_t st_first_seen(const struct planner *pl, const struct dbk_table *t)
{
	return pl->st ? dbk_state_first_seen(pl->st, t->schema, t->name, t->id) : 0;
}

static bool st_prev_writes(const struct planner *pl, const struct dbk_table *t,
                           int64_t *writes)
{
	return pl->st &&
	       dbk_state_prev_writes(pl->st, t->schema, t->name, t->id, writes);
}

static bool st_carried(const struct planner *pl, const char *key)
{
	return pl->st && dbk_state_is_carried(pl->st, key);
}

/* A new action with its budget, policy and n zeroed objects. The pointer is
 * valid until the next action is added. */
static struct dbk_plan_action *action_new(struct planner *pl,
                                          const struct dbk_policy *p,
                                          enum dbk_task task, int kind,
                                          bool dry_run, size_t n_objects)
{
	struct dbk_plan *plan = pl->plan;
	struct dbk_plan_action *a = NULL;

	if (plan->n_actions == pl->cap_actions) {
		pl->cap_actions = pl->cap_actions ? pl->cap_actions * 2 : 16;
		plan->actions = dbk_xrealloc(plan->actions,
		    pl->cap_actions * sizeof *plan->actions);
	}
	a = &plan->actions[plan->n_actions++];
	*a = (struct dbk_plan_action){ 0 };
	a->objs = dbk_xcalloc(n_objects ? n_objects : 1, sizeof *a->objs);
	a->act.kind = kind;
	a->act.objects = a->objs;
	a->act.n_objects = n_objects;
	/* Every action carries its policy's budget; the runner sets the
	 * deadline, since only it knows when execution starts. */
	a->act.lock_timeout_ms = p->budget.lock_timeout_ms;
	a->act.statement_timeout_ms = p->budget.statement_timeout_ms;
	a->act.max_replica_lag_ms = p->budget.max_replica_lag_ms;
	a->act.deadline_ms = 0;
	a->policy = p;
	a->task = task;
	a->dry_run = dry_run;
	return a;
}

static void object_set(struct dbk_object *o, const char *schema,
                       const char *name, uint64_t id)
{
	/* Deep copies, byte-exact: names reach the driver unaltered and are
	 * quoted there, never here. */
	o->schema = dbk_xstrdup(schema);
	o->name = dbk_xstrdup(name);
	o->id = id;
}

/* Adds a finding; takes ownership of object, title, evidence and rec
 * (object and rec may be NULL). */
static void finding_add(struct planner *pl, const struct dbk_policy *p,
                        const char *category, int severity, char *object,
                        char *title, char *evidence, char *rec)
{
	struct dbk_plan *plan = pl->plan;
	struct dbk_finding *f = NULL;

	if (plan->n_findings == pl->cap_findings) {
		pl->cap_findings = pl->cap_findings ? pl->cap_findings * 2 : 16;
		plan->findings = dbk_xrealloc(plan->findings,
		    pl->cap_findings * sizeof *plan->findings);
	}
	f = &plan->findings[plan->n_findings++];
	f->policy = p;
	f->category = dbk_xstrdup(category);
	f->severity = severity;
	f->object = object;
	f->title = title ? title : dbk_xstrdup("");
	f->evidence = evidence ? evidence : dbk_xstrdup("");
	f->recommendation = rec;
}

/* ---- Names ---- */

const char *dbk_task_name(enum dbk_task t)
{
	static const char *const names[DBK_TASK_COUNT] = {
		[DBK_TASK_SCRATCH] = "scratch",
		[DBK_TASK_INDEXES] = "indexes",
		[DBK_TASK_LOGS] = "logs",
		[DBK_TASK_SERVER_LOGS] = "server_logs",
		[DBK_TASK_STATS] = "stats",
	};

	if ((unsigned)t >= DBK_TASK_COUNT)
		return "unknown";
	return names[t];
}

const char *dbk_severity_name(int sev)
{
	switch (sev) {
	case DBK_SEV_INFO: return "info";
	case DBK_SEV_WARNING: return "warning";
	case DBK_SEV_CRITICAL: return "critical";
	default: return "unknown";
	}
}

/* ---- System schemas and scratch patterns ---- */

/* Case-insensitive on purpose: MySQL schema names may be folded, and a
 * false "system" only means a table is left alone. */
bool dbk_plan_is_system_schema(const char *schema)
{
	static const char *const sys[] = {
		"pg_catalog", "information_schema", "pg_toast", "mysql",
		"performance_schema", "sys",
	};

	if (schema == NULL)
		return false;
	for (size_t i = 0; i < DBK_NELEM(sys); i++)
		if (strcasecmp(schema, sys[i]) == 0)
			return true;
	return strncasecmp(schema, "pg_toast_temp_", 14) == 0;
}

static bool table_is_system(const struct dbk_table *t)
{
	return (t->flags & DBK_TF_SYSTEM) || dbk_plan_is_system_schema(t->schema);
}

/* Exact, case-sensitive match against the allow-list; empty allows all. */
static bool schema_allowed(const struct dbk_pol_scratch *p, const char *schema)
{
	if (p->schemas.n == 0)
		return true;
	for (unsigned i = 0; i < p->schemas.n; i++)
		if (cmp_str(p->schemas.v[i], schema) == 0)
			return true;
	return false;
}

static bool name_excluded(const struct dbk_pol_scratch *p, const char *name)
{
	for (unsigned i = 0; i < p->exclude.n; i++)
		if (fnmatch(p->exclude.v[i], name, 0) == 0)
			return true;
	return false;
}

/* The include glob a table matches, or NULL when it is no candidate by
 * pattern: system schemas, other sessions' temp schemas (pg_temp_N is only
 * reached through DBK_TF_TEMP_ORPHAN), schemas off the allow-list, names
 * matching no include glob or any exclude glob. fnmatch flags 0: globs are
 * case-sensitive and `*` does cross '/' and '.'. */
static const char *scratch_glob(const struct dbk_pol_scratch *p,
                                const char *schema, const char *name)
{
	if (name == NULL || dbk_plan_is_system_schema(schema))
		return NULL;
	if (schema != NULL && strncmp(schema, "pg_temp_", 8) == 0)
		return NULL;
	if (!schema_allowed(p, schema) || name_excluded(p, name))
		return NULL;
	for (unsigned i = 0; i < p->include.n; i++)
		if (fnmatch(p->include.v[i], name, 0) == 0)
			return p->include.v[i];
	return NULL;
}

bool dbk_plan_scratch_matches(const struct dbk_pol_scratch *p,
                              const char *schema, const char *name)
{
	return p != NULL && scratch_glob(p, schema, name) != NULL;
}

/* ---- Task states, windows and the deadline ---- */

static const struct dbk_schedule *task_schedule(const struct dbk_policy *p,
                                                enum dbk_task t, bool *enabled)
{
	switch (t) {
	case DBK_TASK_SCRATCH:
		*enabled = p->scratch.enabled;
		return &p->scratch.schedule;
	case DBK_TASK_INDEXES:
		*enabled = p->indexes.enabled;
		return &p->indexes.schedule;
	case DBK_TASK_LOGS:
		*enabled = p->logs.enabled;
		return &p->logs.schedule;
	case DBK_TASK_SERVER_LOGS:
		*enabled = p->server_logs.enabled;
		return &p->server_logs.schedule;
	case DBK_TASK_STATS:
	default:
		/* Only ANALYZE is planned; metrics collection is the runner's. */
		*enabled = p->stats.analyze;
		return &p->stats.schedule;
	}
}

/* A task's own window when it names one, else its policy's. */
static const struct dbk_windows *task_window(const struct dbk_policy *p,
                                             enum dbk_task t)
{
	bool enabled = false;
	const struct dbk_schedule *s = task_schedule(p, t, &enabled);

	return s->has_window ? &s->window : &p->window;
}

/* The observation a task needs, NULL when it was not assessed. */
static const void *task_input(const struct dbk_observation *obs, enum dbk_task t)
{
	switch (t) {
	case DBK_TASK_INDEXES: return obs->indexes;
	case DBK_TASK_SERVER_LOGS: return obs->logfiles;
	default: return obs->tables;
	}
}

static const char *task_input_name(enum dbk_task t)
{
	switch (t) {
	case DBK_TASK_INDEXES: return "the list of indexes";
	case DBK_TASK_SERVER_LOGS: return "the list of server log files";
	default: return "the list of tables";
	}
}

static int task_state(const struct planner *pl, const struct dbk_policy *p,
                      enum dbk_task t, bool force)
{
	bool enabled = false;
	const struct dbk_schedule *s = task_schedule(p, t, &enabled);
	int64_t last = 0;

	if (!enabled)
		return DBK_TS_OFF;
	/* Windows bind even under force: `once` at noon must not rebuild
	 * indexes that a policy confines to the night. */
	if (!dbk_windows_contain(task_window(p, t), pl->now))
		return DBK_TS_OUTSIDE_WINDOW;
	if (pl->st != NULL)
		last = dbk_state_last_run(pl->st, p->name, dbk_task_name(t));
	/* force ignores intervals only; last == 0 means never ran. */
	if (!force && last != 0 && pl->now - last < s->interval_s)
		return DBK_TS_NOT_DUE;
	if (task_input(pl->obs, t) == NULL)
		return DBK_TS_NOT_ASSESSED;
	return DBK_TS_DUE;
}

static void plan_states(struct planner *pl, const struct dbk_target *tg,
                        bool force)
{
	for (unsigned i = 0; i < tg->n_policies; i++) {
		const struct dbk_policy *p = tg->policies[i];

		for (int t = 0; t < DBK_TASK_COUNT; t++) {
			int ts = p ? task_state(pl, p, t, force) : DBK_TS_OFF;

			pl->plan->task_state[i][t] = ts;
			/* A failed observation must be visible in the report,
			 * not just silently skip the task. */
			if (ts == DBK_TS_NOT_ASSESSED)
				finding_add(pl, p, dbk_task_name(t), DBK_SEV_WARNING,
				    NULL, dbk_xasprintf("%s not assessed", dbk_task_name(t)),
				    dbk_xasprintf("%s could not be read this cycle; "
				        "the task was skipped", task_input_name(t)),
				    NULL);
		}
	}
}

/* now + the smallest run budget of the due policies, capped by the end of
 * the window of every due task; 0 when nothing is due or nothing bounds
 * the run. */
static int64_t plan_deadline(const struct planner *pl,
                             const struct dbk_target *tg)
{
	int64_t deadline = 0;

	for (unsigned i = 0; i < tg->n_policies; i++) {
		const struct dbk_policy *p = tg->policies[i];
		bool due = false;

		for (int t = 0; t < DBK_TASK_COUNT; t++) {
			int64_t rem = 0;

			if (pl->plan->task_state[i][t] != DBK_TS_DUE)
				continue;
			due = true;
			rem = dbk_windows_remaining(task_window(p, t), pl->now);
			if (rem > 0 && (deadline == 0 || pl->now + rem < deadline))
				deadline = pl->now + rem;
		}
		if (due && p->budget.max_run_time_s > 0 &&
		    (deadline == 0 || pl->now + p->budget.max_run_time_s < deadline))
			deadline = pl->now + p->budget.max_run_time_s;
	}
	return deadline;
}

/* ---- Scratch tables ---- */

struct scratch_cand {
	const struct dbk_table *t;
	const char *pattern; /* include glob it matched, or NULL */
	const char *label;   /* why it qualifies without a pattern, or NULL */
	char *why;           /* owned: the age and idle rules it passed; may be NULL */
	char *key;           /* owned carry-over key */
	bool carried;
};

/* Age: created_at when the engine knows it, else time since the agent first
 * saw the table (state). A table never seen has no age and is never old
 * enough, whatever min_age says: losing state only delays drops. Appends
 * the rule it passed to why. */
static bool scratch_old_enough(const struct planner *pl,
                               const struct dbk_pol_scratch *s,
                               const struct dbk_table *t, struct sbuf *why)
{
	char dur[32];
	int64_t since = t->created_at > 0 ? t->created_at : st_first_seen(pl, t);

	if (since <= 0 || pl->now - since < s->min_age_s)
		return false;
	if (s->min_age_s > 0)
		sb_addf(why, t->created_at > 0 ? "older than %s" :
		    "first seen over %s ago (creation time unknown)",
		    dbk_fmt_duration(s->min_age_s, dur, sizeof dur));
	return true;
}

/* require_idle: a write counter must be known at two observations and
 * unchanged; without counters, the last write must be min_age ago; with
 * neither, idleness cannot be judged and age alone decides. */
static bool scratch_idle(const struct planner *pl, const struct dbk_pol_scratch *s,
                         const struct dbk_table *t, struct sbuf *why)
{
	char dur[32];
	int64_t prev = 0;
	const char *sep = why->len ? ", " : "";

	if (!s->require_idle)
		return true;
	if (t->write_count >= 0) {
		/* Unknown previous count: needs a second observation. */
		if (!st_prev_writes(pl, t, &prev) || prev != t->write_count)
			return false;
		sb_addf(why, "%sno writes since last observation", sep);
	} else if (t->updated_at > 0) {
		if (pl->now - t->updated_at < s->min_age_s)
			return false;
		sb_addf(why, "%sno writes for %s", sep,
		    dbk_fmt_duration(s->min_age_s, dur, sizeof dur));
	} else {
		sb_addf(why, "%sidleness not judged (no write statistics)", sep);
	}
	return true;
}

/* ---- Other tools' triggers ---- */

/* Trigger names are unique per table: the claim names both. */
static char *trigger_claim_name(const struct dbk_trigger *tr)
{
	return key_of("", tr->table, tr->name);
}

static bool trigger_claimed(const struct planner *pl,
                            const struct dbk_trigger *tr)
{
	char *n = trigger_claim_name(tr);
	bool has = claims_has(&pl->claims, DBK_A_DROP_TRIGGER, tr->schema, n);

	free(n);
	return has;
}

/* Does a trigger that is not dropped in this plan write into t? */
static bool table_fed(const struct planner *pl, const struct dbk_table *t)
{
	const struct dbk_trigger_list *tl = pl->obs->triggers;

	for (size_t i = 0; tl != NULL && i < tl->n; i++) {
		const struct dbk_trigger *tr = &tl->v[i];

		if (tr->feeds_table != NULL &&
		    cmp_str(tr->feeds_table, t->name) == 0 &&
		    cmp_str(tr->feeds_schema, t->schema) == 0 &&
		    !trigger_claimed(pl, tr))
			return true;
	}
	return false;
}

static void trigger_action(struct planner *pl, const struct dbk_policy *p,
                           const struct dbk_trigger *tr)
{
	struct dbk_plan_action *a = action_new(pl, p, DBK_TASK_SCRATCH,
	    DBK_A_DROP_TRIGGER, p->scratch.dry_run, 2);
	char *n = trigger_claim_name(tr);

	object_set(&a->objs[0], tr->schema, tr->name, tr->id);
	object_set(&a->objs[1], tr->schema, tr->table, tr->table_id);
	a->key = key_of("trigger:", tr->schema, n);
	a->carried = st_carried(pl, a->key);
	/* Names stay out of reasons (they may hold anything); the objects
	 * say which trigger. */
	a->reason = dbk_xasprintf("trigger left by %s, which is not running: it "
	    "copies every write into the tool's own table, which goes after it, "
	    "in policy \"%s\"", tr->tool ? tr->tool : "a maintenance tool",
	    p->name);
	free(n);
}

/* Leftover triggers go before any table: the tool's table they feed can
 * only be dropped once they are gone. */
static void plan_tool_triggers(struct planner *pl, const struct dbk_policy *p)
{
	const struct dbk_pol_scratch *s = &p->scratch;
	const struct dbk_trigger_list *tl = pl->obs->triggers;

	for (size_t i = 0; s->tool_leftovers && tl != NULL && i < tl->n; i++) {
		const struct dbk_trigger *tr = &tl->v[i];
		char *n = NULL;
		bool mine = false;

		if (!(tr->flags & DBK_TRF_TOOL_LEFTOVER) ||
		    (tr->flags & DBK_TRF_TOOL_RUNNING) || tr->name == NULL ||
		    tr->table == NULL || dbk_plan_is_system_schema(tr->schema) ||
		    !schema_allowed(s, tr->schema))
			continue;
		n = trigger_claim_name(tr);
		mine = claims_take(&pl->claims, DBK_A_DROP_TRIGGER, tr->schema, n);
		free(n);
		if (mine)
			trigger_action(pl, p, tr);
	}
}

/* A leftover trigger no policy removes is reported: it slows every write
 * to its table and fills the tool's table without end. */
static void triggers_left(struct planner *pl)
{
	const struct dbk_trigger_list *tl = pl->obs->triggers;

	for (size_t i = 0; tl != NULL && i < tl->n; i++) {
		const struct dbk_trigger *tr = &tl->v[i];
		const char *tool = tr->tool ? tr->tool : "a maintenance tool";
		char *fed = NULL;

		if (!(tr->flags & DBK_TRF_TOOL_LEFTOVER) || tr->name == NULL ||
		    trigger_claimed(pl, tr))
			continue;
		fed = tr->feeds_table ? qname(tr->feeds_schema, tr->feeds_table)
		                      : dbk_xstrdup("its own table");
		finding_add(pl, NULL, "scratch", DBK_SEV_WARNING,
		    qname(tr->schema, tr->table),
		    dbk_xasprintf("tool trigger left behind (%s)", tool),
		    dbk_xasprintf("trigger %s on %s was left by %s, which is not "
		        "running; it copies every write into %s", tr->name,
		        tr->table, tool, fed),
		    dbk_xstrdup("let a scratch_tables policy with tool_leftovers = "
		        "true that allows this schema remove it (and then the "
		        "tool's table)"));
		free(fed);
	}
}

/* Is t a drop candidate under s? Fills c (pattern or label, why). */
static bool scratch_consider(const struct planner *pl,
                             const struct dbk_pol_scratch *s,
                             const struct dbk_table *t, struct scratch_cand *c)
{
	struct sbuf why = { 0 };

	*c = (struct scratch_cand){ .t = t };
	/* System schemas and catalog tables: never, whatever else applies. */
	if (t->name == NULL || table_is_system(t))
		return false;
	/* A tool that is running owns its table. */
	if (t->flags & DBK_TF_TOOL_RUNNING)
		return false;
	/* A table a staying trigger writes into must stay too, or every write
	 * to the trigger's table would fail; unknown triggers, unknown risk. */
	if (table_fed(pl, t) ||
	    ((t->flags & DBK_TF_TOOL_LEFTOVER) && pl->obs->triggers_failed))
		return false;
	/* Orphaned temp tables bypass patterns, allow-list, age and idle
	 * rules: their session is gone, nothing can ever use them. */
	if (t->flags & DBK_TF_TEMP_ORPHAN) {
		c->label = "temp table of a session that no longer exists";
		return s->orphan_temp;
	}
	if (t->flags & (DBK_TF_TOOL_LEFTOVER | DBK_TF_SQL_ORPHAN)) {
		/* Leftovers bypass the include globs only: the allow-list and
		 * exclude globs still protect, min_age and idle still apply. */
		if (!s->tool_leftovers || !schema_allowed(s, t->schema) ||
		    name_excluded(s, t->name))
			return false;
		c->label = (t->flags & DBK_TF_SQL_ORPHAN) ?
		    "left by an interrupted ALTER TABLE" :
		    "left by an online schema change tool that is not running";
	} else if ((c->pattern = scratch_glob(s, t->schema, t->name)) == NULL) {
		return false;
	}
	if (!scratch_old_enough(pl, s, t, &why) || !scratch_idle(pl, s, t, &why)) {
		free(why.p);
		return false;
	}
	c->why = why.p;
	return true;
}

/* Carried first, then biggest, then by name for a stable plan. */
static int scratch_cmp(const void *a, const void *b)
{
	const struct scratch_cand *x = a, *y = b;
	int r = 0;

	if (x->carried != y->carried)
		return x->carried ? -1 : 1;
	if ((r = cmp_i64_desc(nonneg(x->t->size_bytes), nonneg(y->t->size_bytes))))
		return r;
	if ((r = cmp_str(x->t->schema, y->t->schema)))
		return r;
	return cmp_str(x->t->name, y->t->name);
}

/* Did an earlier member of the group give the same text? */
static bool seen_before(const struct scratch_cand *c, size_t i,
                        const char *(*get)(const struct scratch_cand *))
{
	for (size_t j = 0; j < i; j++)
		if (get(&c[j]) && cmp_str(get(&c[j]), get(&c[i])) == 0)
			return true;
	return false;
}

static const char *get_pattern(const struct scratch_cand *c) { return c->pattern; }
static const char *get_label(const struct scratch_cand *c) { return c->label; }
static const char *get_why(const struct scratch_cand *c) { return c->why; }

/* `3 tables matching tmp_* in policy "housekeeping": older than 7d, no
 * writes since last observation`; distinct patterns, labels and rules of
 * the group, in order. Table names stay out: they may hold anything. */
static char *scratch_reason(const struct dbk_policy *p,
                            const struct scratch_cand *c, size_t n)
{
	struct sbuf b = { 0 };
	bool first = true;

	sb_addf(&b, "%zu table%s", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		if (c[i].pattern == NULL || seen_before(c, i, get_pattern))
			continue;
		sb_addf(&b, "%s%s", first ? " matching " : ", ", c[i].pattern);
		first = false;
	}
	/* Labels say which tables are special (tool leftovers, orphaned
	 * temp tables), with how many of them, not as if all were. */
	for (size_t i = 0; i < n; i++) {
		size_t same = 0;

		if (c[i].label == NULL || seen_before(c, i, get_label))
			continue;
		for (size_t k = i; k < n; k++)
			same += c[k].label != NULL && strcmp(c[k].label, c[i].label) == 0;
		sb_addf(&b, " (%s%zu %s)", same == n ? "all " : "", same, c[i].label);
	}
	sb_addf(&b, " in policy \"%s\"", p->name);
	first = true;
	for (size_t i = 0; i < n; i++) {
		if (c[i].why == NULL || seen_before(c, i, get_why))
			continue;
		sb_addf(&b, "%s%s", first ? ": " : "; ", c[i].why);
		first = false;
	}
	return sb_take(&b);
}

/* One DROP of the n tables in c: one statement, one action. */
static void scratch_action(struct planner *pl, const struct dbk_policy *p,
                           const struct scratch_cand *c, size_t n)
{
	struct dbk_plan_action *a = action_new(pl, p, DBK_TASK_SCRATCH,
	    DBK_A_DROP_TABLES, p->scratch.dry_run, n);
	struct sbuf key = { 0 };

	for (size_t i = 0; i < n; i++) {
		object_set(&a->objs[i], c[i].t->schema, c[i].t->name, c[i].t->id);
		a->bytes = add_sat(a->bytes, nonneg(c[i].t->size_bytes));
		a->carried |= c[i].carried;
		/* A multi-table action's key is its tables' keys joined by
		 * ","; carry-over is tracked per table. */
		if (i > 0)
			sb_add(&key, ",");
		sb_add(&key, c[i].key);
	}
	a->key = sb_take(&key);
	a->reason = scratch_reason(p, c, n);
}

/* Selects, in order, the candidates not claimed by an earlier policy, up to
 * max_per_run (<= 0: no cap); *more counts those left for the next run.
 * Returns how many were moved to the front of c. */
static size_t scratch_select(struct planner *pl, const struct dbk_pol_scratch *s,
                             struct scratch_cand *c, size_t n, size_t *more)
{
	size_t sel = 0;

	*more = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dbk_table *t = c[i].t;

		if (claims_has(&pl->claims, DBK_A_DROP_TABLES, t->schema, t->name))
			continue;
		if (s->max_per_run > 0 && sel >= (size_t)s->max_per_run) {
			(*more)++;
			continue;
		}
		claims_take(&pl->claims, DBK_A_DROP_TABLES, t->schema, t->name);
		struct scratch_cand tmp = c[sel];
		c[sel++] = c[i];
		c[i] = tmp;
	}
	return sel;
}

static void plan_scratch(struct planner *pl, const struct dbk_policy *p)
{
	const struct dbk_pol_scratch *s = &p->scratch;
	const struct dbk_table_list *tl = pl->obs->tables;
	struct scratch_cand *c = dbk_xcalloc(tl->n ? tl->n : 1, sizeof *c);
	/* <= 0 would be "unbounded": one table per statement is the safe
	 * reading, it keeps each lock short. */
	size_t per = s->max_per_statement > 0 ? (size_t)s->max_per_statement : 1;
	size_t n = 0, sel = 0, more = 0;

	plan_tool_triggers(pl, p);
	for (size_t i = 0; i < tl->n; i++) {
		const struct dbk_table *t = &tl->v[i];

		if (claims_has(&pl->claims, DBK_A_DROP_TABLES, t->schema, t->name) ||
		    !scratch_consider(pl, s, t, &c[n]))
			continue;
		c[n].key = key_of("scratch:", t->schema, t->name);
		c[n].carried = st_carried(pl, c[n].key);
		n++;
	}
	sort_n(c, n, sizeof *c, scratch_cmp);
	sel = scratch_select(pl, s, c, n, &more);
	for (size_t i = 0; i < sel; i += per)
		scratch_action(pl, p, c + i, sel - i < per ? sel - i : per);
	if (more > 0)
		finding_add(pl, p, "scratch", DBK_SEV_INFO, NULL,
		    dbk_xasprintf("%zu more scratch tables wait for the next run", more),
		    dbk_xasprintf("max_per_run is %" PRId64 " in policy \"%s\"",
		        s->max_per_run, p->name), NULL);
	for (size_t i = 0; i < n; i++) {
		free(c[i].why);
		free(c[i].key);
	}
	free(c);
}

/* ---- Indexes ---- */

struct index_cand {
	const struct dbk_index *ix;
	char *key;
	bool carried;
	int64_t weight; /* drop: size; rebuild: estimated wasted bytes */
	double bloat;   /* rebuild: the bloat judged by, from bloat_src */
	const char *bloat_src;
};

static int index_cmp(const void *a, const void *b)
{
	const struct index_cand *x = a, *y = b;
	int r = 0;

	if (x->carried != y->carried)
		return x->carried ? -1 : 1;
	if ((r = cmp_i64_desc(x->weight, y->weight)))
		return r;
	if ((r = cmp_str(x->ix->schema, y->ix->schema)))
		return r;
	return cmp_str(x->ix->name, y->ix->name);
}

static void cand_push(struct planner *pl, struct index_cand **v, size_t *n,
                      const struct dbk_index *ix, const char *prefix,
                      int64_t weight)
{
	struct index_cand *c = NULL;

	*v = dbk_xrealloc(*v, (*n + 1) * sizeof **v);
	c = &(*v)[(*n)++];
	c->ix = ix;
	c->key = key_of(prefix, ix->schema, ix->name);
	c->carried = st_carried(pl, c->key);
	c->weight = weight;
	c->bloat = ix->bloat_pct;
	c->bloat_src = NULL;
}

static void cands_free(struct index_cand *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

static void index_action(struct planner *pl, const struct dbk_policy *p,
                         int kind, const struct index_cand *c, char *reason)
{
	struct dbk_plan_action *a = action_new(pl, p, DBK_TASK_INDEXES, kind,
	    p->indexes.dry_run, 2);

	/* The table goes along: MySQL index names are unique only per table,
	 * and every driver re-checks that the index still belongs to it. */
	object_set(&a->objs[0], c->ix->schema, c->ix->name, c->ix->id);
	object_set(&a->objs[1], c->ix->schema, c->ix->table, c->ix->table_id);
	a->act.rebuild_method = p->indexes.rebuild_method;
	a->carried = c->carried;
	a->key = dbk_xstrdup(c->key);
	a->bytes = c->weight;
	a->reason = reason;
}

static const char *broken_what(const struct dbk_index *ix)
{
	return (ix->flags & DBK_IF_INVALID) ?
	    "invalid index (a failed concurrent build)" :
	    "leftover index of an interrupted rebuild or tool";
}

/* An invalid or leftover index: dropped when the policy allows, whatever
 * its size (it only costs writes); otherwise a warning, once. */
static void index_broken(struct planner *pl, const struct dbk_policy *p,
                         const struct dbk_index *ix, struct index_cand **drops,
                         size_t *n_drops)
{
	char sz[32];
	char *q = NULL;
	/* A valid index a tool left (pg_repack's index_<oid>) is a leftover
	 * like the tool's tables: dropped only when tool_leftovers allows. */
	bool tool_only = (ix->flags & DBK_IF_TOOL_LEFTOVER) &&
	    !(ix->flags & DBK_IF_INVALID);
	bool allowed = p->indexes.drop_invalid &&
	    (!tool_only || p->scratch.tool_leftovers);

	if (allowed) {
		if (!claims_has(&pl->claims, DBK_A_DROP_INDEX, ix->schema, ix->name))
			cand_push(pl, drops, n_drops, ix, "drop_index:",
			    nonneg(ix->size_bytes));
		return;
	}
	if (!claims_take(&pl->claims, CLAIM_FINDING_BROKEN, ix->schema, ix->name))
		return;
	q = qname(ix->schema, ix->name);
	finding_add(pl, p, "indexes", DBK_SEV_WARNING, q,
	    dbk_xstrdup(broken_what(ix)),
	    dbk_xasprintf("%s, still maintained on every write; %s is off in "
	        "policy \"%s\"", dbk_fmt_bytes(ix->size_bytes, sz, sizeof sz),
	        p->indexes.drop_invalid ? "scratch_tables.tool_leftovers"
	                                : "drop_invalid",
	        p->name),
	    dbk_xasprintf("enable %s, or DROP INDEX %s;",
	        p->indexes.drop_invalid ? "scratch_tables.tool_leftovers"
	                                : "indexes.drop_invalid", q));
}

/* Advice only, never an action: which of two duplicates to keep is a
 * schema decision. */
static void index_duplicate(struct planner *pl, const struct dbk_policy *p,
                            const struct dbk_index *ix)
{
	char sz[32];
	const char *dup = ix->duplicate_of ? ix->duplicate_of : "another index";
	bool backs = ix->flags & (DBK_IF_PRIMARY | DBK_IF_UNIQUE | DBK_IF_CONSTRAINT);
	char *q = NULL;

	if (!claims_take(&pl->claims, CLAIM_FINDING_DUPLICATE, ix->schema, ix->name))
		return;
	q = qname(ix->schema, ix->name);
	/* Text advice, never run: an index backing a constraint cannot
	 * simply be dropped, so the advice points at the other one. */
	finding_add(pl, p, "indexes", DBK_SEV_WARNING, q,
	    dbk_xstrdup("duplicate index"),
	    dbk_xasprintf("same columns as %s, %s", dup,
	        dbk_fmt_bytes(ix->size_bytes, sz, sizeof sz)),
	    backs ? dbk_xasprintf("backs a constraint: consider dropping %s "
	                "instead", dup) :
	            dbk_xasprintf("DROP INDEX %s; -- duplicate of %s", q, dup));
}

static char *rebuild_reason(const struct dbk_policy *p, const struct index_cand *c)
{
	char sz[32], w[32];

	return dbk_xasprintf("bloat %.0f%% (%s) >= %.0f%%, %s, about %s to reclaim, "
	    "in policy \"%s\"", c->bloat, c->bloat_src ? c->bloat_src : "estimated",
	    p->indexes.min_bloat_pct,
	    dbk_fmt_bytes(c->ix->size_bytes, sz, sizeof sz),
	    dbk_fmt_bytes(c->weight, w, sizeof w), p->name);
}

static void index_rebuilds(struct planner *pl, const struct dbk_policy *p,
                           struct index_cand *c, size_t n)
{
	int64_t cap = p->indexes.max_per_run;
	size_t done = 0, more = 0;

	/* Worst (most wasted bytes) first, carried work before that. */
	sort_n(c, n, sizeof *c, index_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct dbk_index *ix = c[i].ix;

		if (claims_has(&pl->claims, DBK_A_REBUILD_INDEX, ix->schema, ix->name))
			continue;
		if (cap > 0 && done >= (size_t)cap) {
			more++;
			continue;
		}
		claims_take(&pl->claims, DBK_A_REBUILD_INDEX, ix->schema, ix->name);
		index_action(pl, p, DBK_A_REBUILD_INDEX, &c[i], rebuild_reason(p, &c[i]));
		done++;
	}
	if (more > 0)
		finding_add(pl, p, "indexes", DBK_SEV_INFO, NULL,
		    dbk_xasprintf("%zu more bloated indexes wait for the next run", more),
		    dbk_xasprintf("max_per_run is %" PRId64 " in policy \"%s\"", cap,
		        p->name), NULL);
}

/* The bytes a rebuild should reclaim. An estimate may be absurd (over
 * 100%, infinite), and converting an out-of-range double to an integer is
 * undefined behaviour, so the product is clamped first. */
static int64_t wasted_bytes(const struct dbk_index *ix, double bloat)
{
	double w = (double)nonneg(ix->size_bytes) * bloat / 100.0;

	if (!(w > 0))
		return 0;
	return w >= 0x1p63 ? INT64_MAX : (int64_t)w;
}

static bool index_bloated(const struct dbk_pol_indexes *pi,
                          const struct dbk_index *ix, double bloat)
{
	/* bloat < 0 is unknown; 0 is nothing to gain whatever the threshold. */
	return bloat > 0 && bloat >= pi->min_bloat_pct &&
	       ix->size_bytes >= pi->min_size_bytes;
}

/* Estimated rows of the index's table in the observation; -1: unknown. */
static int64_t index_table_rows(const struct planner *pl, const struct dbk_index *ix)
{
	const struct dbk_table_list *tl = pl->obs->tables;

	for (size_t i = 0; tl != NULL && ix->table != NULL && i < tl->n; i++) {
		const struct dbk_table *t = &tl->v[i];

		if (t->name != NULL && strcmp(t->name, ix->table) == 0 &&
		    cmp_str(t->schema, ix->schema) == 0 &&
		    (ix->table_id == 0 || t->id == 0 || t->id == ix->table_id))
			return t->est_rows;
	}
	return -1;
}

/* Bloat judged against the size per row the index had right after its
 * last rebuild (state); false when there is no such baseline. */
static bool baseline_bloat(const struct planner *pl, const struct dbk_index *ix,
                           double *out)
{
	double bpr = 0, b = 0;
	int64_t at = 0, rows = 0;

	if (pl->st == NULL || ix->size_bytes <= 0 ||
	    !dbk_state_index_baseline(pl->st, ix->schema, ix->name, ix->id, &bpr, &at) ||
	    (rows = index_table_rows(pl, ix)) <= 0)
		return false;
	b = 100.0 * (1.0 - bpr * (double)rows / (double)ix->size_bytes);
	*out = b < 0 ? 0 : b > 100 ? 100 : b;
	return true;
}

/* The bloat a rebuild is judged by, and where it comes from. A measured
 * value stands; the statistics estimate misleads on deduplicated B-trees
 * and TOAST, so the lower of it and the baseline is taken: an index as
 * compact as after its last build is not rebuilt again and again. The
 * baseline never makes an unknown bloat known. */
static double index_bloat(const struct planner *pl, const struct dbk_index *ix,
                          const char **src)
{
	double b = 0;

	if (ix->flags & DBK_IF_BLOAT_CONFIRMED) {
		*src = "measured";
		return ix->bloat_pct;
	}
	*src = "estimated";
	if (ix->bloat_pct >= 0 && baseline_bloat(pl, ix, &b) && b < ix->bloat_pct) {
		*src = "baseline from the last rebuild";
		return b;
	}
	return ix->bloat_pct;
}

static void plan_indexes(struct planner *pl, const struct dbk_policy *p)
{
	const struct dbk_pol_indexes *pi = &p->indexes;
	const struct dbk_index_list *il = pl->obs->indexes;
	struct index_cand *drops = NULL, *rebuilds = NULL;
	size_t n_drops = 0, n_rebuilds = 0;

	for (size_t i = 0; i < il->n; i++) {
		const struct dbk_index *ix = &il->v[i];
		const char *src = NULL;
		double bloat = 0;

		/* System schemas are ignored entirely; an index whose table is
		 * dropped in this plan goes with it. */
		if (ix->name == NULL || dbk_plan_is_system_schema(ix->schema) ||
		    claims_has(&pl->claims, DBK_A_DROP_TABLES, ix->schema, ix->table))
			continue;
		if (ix->flags & (DBK_IF_INVALID | DBK_IF_LEFTOVER)) {
			index_broken(pl, p, ix, &drops, &n_drops);
			continue;
		}
		if (ix->flags & DBK_IF_DUPLICATE)
			index_duplicate(pl, p, ix);
		/* "Unused" is not judged here: one scan counter since the last
		 * statistics reset proves nothing. The unused_index rule
		 * (agent/facts.c) judges it from the usage history the agent
		 * keeps, and never for an index a constraint, a foreign key or
		 * a replica identity needs. */
		bloat = index_bloat(pl, ix, &src);
		if (index_bloated(pi, ix, bloat) &&
		    !claims_has(&pl->claims, DBK_A_REBUILD_INDEX, ix->schema, ix->name)) {
			cand_push(pl, &rebuilds, &n_rebuilds, ix, "rebuild_index:",
			    wasted_bytes(ix, bloat));
			rebuilds[n_rebuilds - 1].bloat = bloat;
			rebuilds[n_rebuilds - 1].bloat_src = src;
		}
	}
	/* Drops first: they are quick and invalid indexes slow every write. */
	sort_n(drops, n_drops, sizeof *drops, index_cmp);
	for (size_t i = 0; i < n_drops; i++)
		if (claims_take(&pl->claims, DBK_A_DROP_INDEX, drops[i].ix->schema,
		        drops[i].ix->name))
			index_action(pl, p, DBK_A_DROP_INDEX, &drops[i],
			    dbk_xasprintf("%s, in policy \"%s\"",
			        broken_what(drops[i].ix), p->name));
	index_rebuilds(pl, p, rebuilds, n_rebuilds);
	cands_free(drops, n_drops);
	cands_free(rebuilds, n_rebuilds);
}

/* ---- Log tables ---- */

/* The observed table a policy log table names. Schema NULL matches any
 * schema, but only when exactly one table has the name. System schemas are
 * never purged: *in_system tells the caller such a match was refused. */
static const struct dbk_table *log_table_find(const struct dbk_table_list *tl,
                                              const struct dbk_pol_logtable *lt,
                                              size_t *n_found, bool *in_system)
{
	const struct dbk_table *hit = NULL;

	*n_found = 0;
	*in_system = false;
	for (size_t i = 0; i < tl->n; i++) {
		const struct dbk_table *t = &tl->v[i];

		if (cmp_str(t->name, lt->table) != 0 ||
		    (lt->schema != NULL && cmp_str(t->schema, lt->schema) != 0))
			continue;
		if (table_is_system(t)) {
			*in_system = true;
			continue;
		}
		if ((*n_found)++ == 0)
			hit = t;
	}
	return hit;
}

/* A retention of zero or less would remove everything there is: refused
 * with a warning rather than read as "purge it all". */
static void retention_refused(struct planner *pl, const struct dbk_policy *p,
                              enum dbk_task t, char *object)
{
	finding_add(pl, p, dbk_task_name(t), DBK_SEV_WARNING, object,
	    dbk_xasprintf("%s retention is not positive", dbk_task_name(t)),
	    dbk_xasprintf("policy \"%s\" would purge everything; nothing was "
	        "planned", p->name),
	    dbk_xstrdup("set a positive retention"));
}

static void log_not_purged(struct planner *pl, const struct dbk_policy *p,
                           const struct dbk_pol_logtable *lt, size_t n_found,
                           bool in_system)
{
	char *obj = qname(lt->schema, lt->table);

	if (n_found > 1)
		finding_add(pl, p, "logs", DBK_SEV_WARNING, obj,
		    dbk_xasprintf("log table %s is ambiguous", lt->table),
		    dbk_xasprintf("%zu schemas have a table of that name", n_found),
		    dbk_xstrdup("name the schema of the log table in the policy"));
	else if (in_system)
		finding_add(pl, p, "logs", DBK_SEV_WARNING, obj,
		    dbk_xasprintf("log table %s is in a system schema", lt->table),
		    dbk_xstrdup("system schemas are never purged"), NULL);
	else
		finding_add(pl, p, "logs", DBK_SEV_WARNING, obj,
		    dbk_xasprintf("log table %s not found", lt->table),
		    dbk_xasprintf("policy \"%s\" names it, the database has no such "
		        "table", p->name),
		    dbk_xstrdup("fix the table name in the policy or remove it"));
}

static void log_purge(struct planner *pl, const struct dbk_policy *p,
                      const struct dbk_pol_logtable *lt,
                      const struct dbk_table *t)
{
	struct dbk_plan_action *a = action_new(pl, p, DBK_TASK_LOGS,
	    DBK_A_PURGE_ROWS, p->logs.dry_run, 1);
	char dur[32];

	object_set(&a->objs[0], t->schema, t->name, t->id);
	a->act.time_column = dbk_xstrdup(lt->time_column);
	a->act.cutoff = pl->now - lt->retention_s;
	a->act.batch_rows = lt->batch_rows;
	a->act.pause_ms = lt->pause_ms;
	a->bytes = nonneg(t->size_bytes);
	a->key = key_of("purge_rows:", t->schema, t->name);
	a->carried = st_carried(pl, a->key);
	a->reason = dbk_xasprintf("rows older than %s by their time column, "
	    "%" PRId64 " per batch, in policy \"%s\"",
	    dbk_fmt_duration(lt->retention_s, dur, sizeof dur), lt->batch_rows,
	    p->name);
}

static void plan_logs(struct planner *pl, const struct dbk_policy *p)
{
	unsigned first = pl->plan->n_actions;

	for (unsigned i = 0; i < p->logs.n; i++) {
		const struct dbk_pol_logtable *lt = &p->logs.v[i];
		size_t n_found = 0;
		bool in_system = false;
		const struct dbk_table *t = NULL;

		if (lt->table == NULL)
			continue;
		if (lt->retention_s <= 0) {
			retention_refused(pl, p, DBK_TASK_LOGS, qname(lt->schema, lt->table));
			continue;
		}
		t = log_table_find(pl->obs->tables, lt, &n_found, &in_system);
		if (n_found != 1) {
			log_not_purged(pl, p, lt, n_found, in_system);
			continue;
		}
		if (claims_take(&pl->claims, DBK_A_PURGE_ROWS, t->schema, t->name))
			log_purge(pl, p, lt, t);
	}
	/* Carried purges first (stable: otherwise the policy's order). Moving
	 * an action is safe: act.objects points at its heap objs, not into
	 * the actions array. */
	for (unsigned i = first, k = first; i < pl->plan->n_actions; i++) {
		if (!pl->plan->actions[i].carried)
			continue;
		struct dbk_plan_action tmp = pl->plan->actions[i];

		memmove(&pl->plan->actions[k + 1], &pl->plan->actions[k],
		    (i - k) * sizeof tmp);
		pl->plan->actions[k++] = tmp;
	}
}

/* ---- Server log files ---- */

/* Newest first; files with unknown mtime last (they are never removed, so
 * they must not take the place of a known newest file). */
static int logfile_cmp(const void *a, const void *b)
{
	const struct dbk_logfile *x = *(const struct dbk_logfile *const *)a;
	const struct dbk_logfile *y = *(const struct dbk_logfile *const *)b;
	int r = 0;

	if ((x->mtime > 0) != (y->mtime > 0))
		return x->mtime > 0 ? -1 : 1;
	if ((r = cmp_i64_desc(x->mtime, y->mtime)))
		return r;
	return -cmp_str(x->name, y->name);
}

static bool replica_connected(const struct dbk_replica_list *rl,
                              const char *id)
{
	for (size_t i = 0; rl != NULL && i < rl->n; i++)
		if (cmp_str(rl->v[i].id, id) == 0)
			return true;
	return false;
}

static void replica_missing(struct planner *pl, const struct dbk_policy *p,
                            const struct dbk_replica_seen *r)
{
	char ago[32], forget[32];

	finding_add(pl, p, "server_logs", DBK_SEV_WARNING,
	    dbk_xasprintf("replica %s", r->id),
	    dbk_xstrdup("replica not connected (binary logs kept)"),
	    dbk_xasprintf("replica with server id %s (%s:%" PRId64 ") was last "
	        "seen %s ago and may still need every binary log since; none is "
	        "purged while it is away", r->id, r->host ? r->host : "?",
	        r->port, dbk_fmt_duration(pl->now - r->last_seen, ago, sizeof ago)),
	    dbk_xasprintf("bring the replica back; a replica retired for good is "
	        "forgotten after %s (forget_replica_after in policy \"%s\")",
	        dbk_fmt_duration(p->server_logs.forget_replica_s, forget,
	                         sizeof forget), p->name));
}

/* Binary logs a replica may still need stay. The server protects only the
 * file a connected replica is reading; a replica that disconnected may be
 * anywhere behind, so while one the agent has seen before is away (and not
 * yet forgotten) nothing is purged. Drivers that report no replicas (NULL
 * list, not failed) have no such logs. */
static bool replicas_hold(struct planner *pl, const struct dbk_policy *p)
{
	struct dbk_replica_seen r;
	bool hold = false;

	if (pl->obs->replicas_failed) {
		finding_add(pl, p, "server_logs", DBK_SEV_WARNING, NULL,
		    dbk_xstrdup("binary logs not purged (replicas not assessed)"),
		    dbk_xstrdup("the list of connected replicas could not be read, "
		        "so no file is known to be safe to remove"),
		    dbk_xstrdup("grant the agent's account the privilege SHOW SLAVE "
		        "HOSTS needs (see packaging/sql/mysql-user.sql)"));
		return true;
	}
	for (size_t i = 0; i < (pl->st ? dbk_state_n_replicas(pl->st) : 0); i++) {
		if (!dbk_state_replica(pl->st, i, &r) ||
		    replica_connected(pl->obs->replicas, r.id) ||
		    pl->now - r.last_seen > p->server_logs.forget_replica_s)
			continue;
		replica_missing(pl, p, &r);
		hold = true;
	}
	return hold;
}

/* The oldest log a connected replica still reads, by name (binary log
 * names sort in their order); NULL: none known. */
static const char *replicas_need(const struct dbk_replica_list *rl)
{
	const char *need = NULL;

	for (size_t i = 0; rl != NULL && i < rl->n; i++)
		if (rl->v[i].needs_log != NULL &&
		    (need == NULL || strcmp(rl->v[i].needs_log, need) < 0))
			need = rl->v[i].needs_log;
	return need;
}

/* Logs the server keeps in tables cannot lose rows by DELETE; they are
 * rotated, keeping the entries newer than the cutoff. mtime is the oldest
 * entry. */
static void plan_log_tables(struct planner *pl, const struct dbk_policy *p,
                            int64_t cutoff)
{
	const struct dbk_logfile_list *lt = pl->obs->log_tables;
	char dur[32];

	for (size_t i = 0; lt != NULL && i < lt->n; i++) {
		const struct dbk_logfile *e = &lt->v[i];
		const char *dot = e->name ? strchr(e->name, '.') : NULL;
		struct dbk_plan_action *a = NULL;
		char *schema = NULL;

		if (dot == NULL || e->mtime <= 0 || e->mtime >= cutoff ||
		    !claims_take(&pl->claims, DBK_A_ROTATE_LOG_TABLE, NULL, e->name))
			continue;
		schema = dbk_xasprintf("%.*s", (int)(dot - e->name), e->name);
		a = action_new(pl, p, DBK_TASK_SERVER_LOGS, DBK_A_ROTATE_LOG_TABLE,
		    p->server_logs.dry_run, 1);
		object_set(&a->objs[0], schema, dot + 1, 0);
		a->bytes = nonneg(e->size_bytes);
		a->act.cutoff = cutoff;
		a->key = key_of("rotate:", schema, dot + 1);
		a->carried = st_carried(pl, a->key);
		a->reason = dbk_xasprintf("server log table with entries older than "
		    "%s, in policy \"%s\"", dbk_fmt_duration(
		        p->server_logs.retention_s, dur, sizeof dur), p->name);
		free(schema);
	}
}

static void plan_server_logs(struct planner *pl, const struct dbk_policy *p)
{
	const struct dbk_pol_serverlogs *s = &p->server_logs;
	const struct dbk_logfile_list *fl = pl->obs->logfiles;
	const struct dbk_logfile **v = dbk_xcalloc(fl->n ? fl->n : 1, sizeof *v);
	int64_t cutoff = pl->now - s->retention_s;
	size_t n = 0, keep = s->keep_min > 0 ? (size_t)s->keep_min : 0;
	const char *need = NULL;
	char dur[32];

	if (s->retention_s <= 0) {
		retention_refused(pl, p, DBK_TASK_SERVER_LOGS, NULL);
		free(v);
		return;
	}
	plan_log_tables(pl, p, cutoff);
	if (replicas_hold(pl, p)) {
		free(v);
		return;
	}
	need = replicas_need(pl->obs->replicas);
	for (size_t i = 0; i < fl->n; i++)
		v[i] = &fl->v[i];
	sort_n(v, fl->n, sizeof *v, logfile_cmp);
	/* The keep_min newest files stay (in-use ones count among them);
	 * after those, only files not in use, of known age, past retention.
	 * Survivors are compacted to the front of v, oldest last. */
	for (size_t i = keep; i < fl->n; i++) {
		if (v[i]->in_use || v[i]->mtime <= 0 || v[i]->mtime >= cutoff ||
		    v[i]->name == NULL || (need && strcmp(v[i]->name, need) >= 0) ||
		    !claims_take(&pl->claims, DBK_A_PURGE_SERVER_LOGS, NULL, v[i]->name))
			continue;
		v[n++] = v[i];
	}
	if (n > 0) {
		struct dbk_plan_action *a = action_new(pl, p, DBK_TASK_SERVER_LOGS,
		    DBK_A_PURGE_SERVER_LOGS, s->dry_run, n);

		/* Oldest first: the order a removal should go in. */
		for (size_t i = 0; i < n; i++) {
			object_set(&a->objs[i], NULL, v[n - 1 - i]->name, 0);
			a->bytes = add_sat(a->bytes,
			    nonneg(v[n - 1 - i]->size_bytes));
		}
		a->act.cutoff = cutoff;
		a->key = key_of("server_logs:", NULL, p->name);
		a->carried = st_carried(pl, a->key);
		a->reason = dbk_xasprintf("%zu server log file%s older than %s, "
		    "keeping the %zu newest, in policy \"%s\"", n, n == 1 ? "" : "s",
		    dbk_fmt_duration(s->retention_s, dur, sizeof dur), keep, p->name);
	}
	free(v);
}

/* ---- Statistics ---- */

static int stale_cmp(const void *a, const void *b)
{
	const struct dbk_table *x = *(const struct dbk_table *const *)a;
	const struct dbk_table *y = *(const struct dbk_table *const *)b;
	int r = 0;

	if ((r = cmp_i64_desc(x->mods_since_analyze, y->mods_since_analyze)))
		return r;
	if ((r = cmp_str(x->schema, y->schema)))
		return r;
	return cmp_str(x->name, y->name);
}

/* Stale: enough rows to matter and a modified share over the ratio. Flagged
 * tables (temp, tool, orphan) and tables dropped in this plan are skipped. */
static bool table_stale(const struct planner *pl, const struct dbk_pol_stats *s,
                        const struct dbk_table *t)
{
	return t->name != NULL && !table_is_system(t) && t->flags == 0 &&
	       t->est_rows >= 0 && t->est_rows >= s->stale_min_rows &&
	       t->mods_since_analyze >= 0 &&
	       (double)t->mods_since_analyze >= s->stale_ratio * (double)t->est_rows &&
	       !claims_has(&pl->claims, DBK_A_DROP_TABLES, t->schema, t->name);
}

static void analyze_action(struct planner *pl, const struct dbk_policy *p,
                           const struct dbk_table *const *v, size_t n)
{
	struct dbk_plan_action *a = action_new(pl, p, DBK_TASK_STATS,
	    DBK_A_ANALYZE, p->stats.dry_run, n);
	struct sbuf key = { 0 };

	for (size_t i = 0; i < n; i++) {
		char *k = key_of("analyze:", v[i]->schema, v[i]->name);

		object_set(&a->objs[i], v[i]->schema, v[i]->name, v[i]->id);
		a->bytes = add_sat(a->bytes, nonneg(v[i]->size_bytes));
		a->carried |= st_carried(pl, k);
		sb_addf(&key, "%s%s", i ? "," : "", k);
		free(k);
	}
	a->key = sb_take(&key);
	a->reason = dbk_xasprintf("%zu table%s with at least %.0f%% of rows "
	    "modified since the last ANALYZE, in policy \"%s\"", n,
	    n == 1 ? "" : "s", p->stats.stale_ratio * 100.0, p->name);
}

static void plan_stats(struct planner *pl, const struct dbk_policy *p)
{
	const struct dbk_table_list *tl = pl->obs->tables;
	const struct dbk_table **v = dbk_xcalloc(tl->n ? tl->n : 1, sizeof *v);
	size_t n = 0;

	for (size_t i = 0; i < tl->n; i++)
		if (table_stale(pl, &p->stats, &tl->v[i]))
			v[n++] = &tl->v[i];
	/* Most modified first; claims after sorting so duplicates vanish. */
	sort_n(v, n, sizeof *v, stale_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (claims_take(&pl->claims, DBK_A_ANALYZE, v[i]->schema, v[i]->name))
			v[m++] = v[i];
	for (size_t i = 0; i < m; i += ANALYZE_PER_ACTION)
		analyze_action(pl, p, v + i,
		    m - i < ANALYZE_PER_ACTION ? m - i : ANALYZE_PER_ACTION);
	free(v);
}

/* ---- The plan ---- */

static void plan_task(struct planner *pl, const struct dbk_policy *p,
                      enum dbk_task t)
{
	switch (t) {
	case DBK_TASK_SCRATCH: plan_scratch(pl, p); break;
	case DBK_TASK_INDEXES: plan_indexes(pl, p); break;
	case DBK_TASK_LOGS: plan_logs(pl, p); break;
	case DBK_TASK_SERVER_LOGS: plan_server_logs(pl, p); break;
	case DBK_TASK_STATS: plan_stats(pl, p); break;
	default: break;
	}
}

struct dbk_plan *dbk_plan_make(const struct dbk_target *target,
                               const struct dbk_observation *obs,
                               const struct dbk_state *st, int64_t now,
                               bool force)
{
	static const struct dbk_observation none;
	struct dbk_plan *plan = dbk_xcalloc(1, sizeof *plan);
	struct planner pl = { .plan = plan, .obs = obs ? obs : &none,
	                      .st = st, .now = now };
	unsigned np = target ? target->n_policies : 0;

	plan->now = now;
	plan->n_policies = np;
	plan->task_state = dbk_xcalloc(np ? np : 1, sizeof *plan->task_state);
	if (target == NULL)
		return plan;
	plan_states(&pl, target, force);
	plan->deadline = plan_deadline(&pl, target);
	/* A replica is read-only: report it, plan nothing. */
	if (pl.obs->info != NULL && pl.obs->info->is_replica) {
		finding_add(&pl, NULL, "server", DBK_SEV_INFO, NULL,
		    dbk_xstrdup("server is a replica: no maintenance actions"),
		    dbk_xasprintf("%s %s reports it is in recovery or replicating",
		        pl.obs->info->flavour, pl.obs->info->version),
		    dbk_xstrdup("run dbkeeper against the primary"));
		goto out;
	}
	/* Task-major, policy-minor: actions come out in task order, and an
	 * earlier policy claims an object before a later one can. */
	for (int t = 0; t < DBK_TASK_COUNT; t++)
		for (unsigned i = 0; i < np; i++)
			if (plan->task_state[i][t] == DBK_TS_DUE)
				plan_task(&pl, target->policies[i], t);
	triggers_left(&pl);
out:
	claims_free(&pl.claims);
	return plan;
}

static void action_clear(struct dbk_plan_action *a)
{
	for (size_t i = 0; i < a->act.n_objects; i++) {
		free((char *)a->objs[i].schema);
		free((char *)a->objs[i].name);
	}
	free(a->objs);
	free((char *)a->act.time_column);
	free(a->sql);
	free(a->render_error);
	free(a->key);
	free(a->reason);
}

void dbk_plan_free(struct dbk_plan *plan)
{
	if (plan == NULL)
		return;
	for (unsigned i = 0; i < plan->n_actions; i++)
		action_clear(&plan->actions[i]);
	for (unsigned i = 0; i < plan->n_findings; i++) {
		struct dbk_finding *f = &plan->findings[i];

		free(f->category);
		free(f->object);
		free(f->title);
		free(f->evidence);
		free(f->recommendation);
	}
	free(plan->actions);
	free(plan->findings);
	free(plan->task_state);
	free(plan);
}

void dbk_plan_remove_action(struct dbk_plan *plan, unsigned i)
{
	if (plan == NULL || i >= plan->n_actions)
		return;
	action_clear(&plan->actions[i]);
	memmove(&plan->actions[i], &plan->actions[i + 1],
	        (plan->n_actions - i - 1) * sizeof *plan->actions);
	plan->n_actions--;
}
