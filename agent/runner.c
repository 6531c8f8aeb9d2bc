/* agent/runner.c: one housekeeping cycle on one target. It observes through
 * the driver, asks the planner what to do, has the driver render each
 * statement, then executes exactly those statements in order until the
 * budget or a stop request ends the run. It decides nothing itself: every
 * choice is the planner's; reporting is report.c's. */
#include "runner.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "driver_loader.h"
#include "log.h"
#include "report.h"
#include "rules.h"
#include "state.h"

const char *dbk_run_status_name(int s)
{
	static const char *const names[] = { "finished", "stopped_budget",
	                                     "stopped", "busy", "failed" };

	return s >= 0 && (size_t)s < DBK_NELEM(names) ? names[s] : "?";
}

const char *dbk_outcome_name(int o)
{
	static const char *const names[] = { "none", "done", "dry-run", "partial",
	                                     "skipped", "failed", "carried" };

	return o >= 0 && (size_t)o < DBK_NELEM(names) ? names[o] : "?";
}

void dbk_inflight_init(struct dbk_inflight *f)
{
	pthread_mutex_init(&f->mu, NULL);
	f->drv = NULL;
	f->conn = NULL;
}

void dbk_inflight_cancel(struct dbk_inflight *f)
{
	pthread_mutex_lock(&f->mu);
	if (f->drv != NULL && f->conn != NULL)
		f->drv->cancel(f->conn);
	pthread_mutex_unlock(&f->mu);
}

static void inflight_set(struct dbk_inflight *f, const struct dbk_driver *drv,
                         struct dbk_conn *conn)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->drv = drv;
	f->conn = conn;
	pthread_mutex_unlock(&f->mu);
}

static bool stop_requested(const struct dbk_run_opts *o)
{
	return o->stop != NULL && atomic_load(o->stop);
}

int dbk_runner_connect(const struct dbk_config *cfg,
                       const struct dbk_target *t,
                       const struct dbk_driver **drvp, struct dbk_conn **conn,
                       struct dbk_err *err)
{
	const struct dbk_driver *drv = dbk_driver_load(dbk_driver_dir(cfg),
	                                               t->driver, err);
	struct dbk_kv *kv = NULL;
	struct dbk_host host = { dbk_log_host_cb, (void *)t };
	struct dbk_open_args args = { 0 };
	char *password = NULL;
	int rc = -1;

	if (drv == NULL)
		return -1;
	if (t->password_file != NULL &&
	    dbk_read_password_file(t->password_file, &password, err) == -1)
		goto out;
	kv = dbk_xcalloc(t->n_options ? t->n_options : 1, sizeof *kv);
	for (unsigned i = 0; i < t->n_options; i++) {
		kv[i].key = t->options[i].key;
		kv[i].value = t->options[i].value;
	}
	args.target = t->name;
	args.options = kv;
	args.n_options = t->n_options;
	args.password = password;
	args.connect_timeout_ms = cfg->connect_timeout_ms;
	args.idle_tx_timeout_ms = 60000;
	args.application_name = "dbkeeper";
	if (drv->open(&args, &host, conn, err) == -1)
		goto out;
	*drvp = drv;
	rc = 0;
out:
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(kv);
	return rc;
}

/* One observation kind failed: the cycle goes on without it, and the
 * planner turns the missing list into a "not assessed" finding. A lost
 * connection, though, ends the cycle. */
static bool observe_failed(struct dbk_cycle *c, const char *what,
                           const struct dbk_err *e)
{
	bool lost = e->code == DBK_E_CONNECT || e->code == DBK_E_CANCELLED;

	/* A lost connection is the cycle's one error line, logged once. */
	if (!lost)
		dbk_log(LOG_WARNING, c->target, "%s not assessed: %s", what, e->msg);
	return lost;
}

static int64_t observe_timeout(const struct dbk_target *t)
{
	int64_t ms = 0;

	for (unsigned i = 0; i < t->n_policies; i++)
		if (ms == 0 || t->policies[i]->budget.observe_timeout_ms < ms)
			ms = t->policies[i]->budget.observe_timeout_ms;
	return ms ? ms : 30000;
}

/* The ABI 1.1 observations, from drivers that have them. A failure is
 * remembered: what depends on the list (dropping a tool's table, purging
 * binary logs) is then held back rather than done blind. */
static int observe_1_1(struct dbk_cycle *c, struct dbk_conn *conn,
                       int64_t tmo, struct dbk_err *e)
{
	const struct dbk_driver *d = c->drv;

	if (DBK_HAS_OP(d, list_tool_triggers) &&
	    d->list_tool_triggers(conn, tmo, &c->triggers, e) == -1) {
		c->triggers_failed = true;
		if (observe_failed(c, "tool triggers", e))
			return -1;
	}
	if (DBK_HAS_OP(d, list_replicas) &&
	    d->list_replicas(conn, tmo, &c->replicas, e) == -1) {
		c->replicas_failed = true;
		if (observe_failed(c, "replicas", e))
			return -1;
	}
	if (DBK_HAS_OP(d, list_log_tables) &&
	    d->list_log_tables(conn, tmo, &c->log_tables, e) == -1 &&
	    observe_failed(c, "server log tables", e))
		return -1;
	return 0;
}

static int observe(struct dbk_cycle *c, struct dbk_conn *conn)
{
	const struct dbk_driver *d = c->drv;
	int64_t tmo = observe_timeout(c->target);
	struct dbk_err e = { 0 };

	if (d->server_info(conn, &c->info, &e) == -1) {
		snprintf(c->error, sizeof c->error, "server info: %s", e.msg);
		return -1;
	}
	c->have_info = true;
	if (d->list_tables(conn, tmo, &c->tables, &e) == -1 &&
	    observe_failed(c, "tables", &e))
		goto lost;
	if (d->list_indexes(conn, tmo, &c->indexes, &e) == -1 &&
	    observe_failed(c, "indexes", &e))
		goto lost;
	if (d->list_server_logs(conn, tmo, &c->logfiles, &e) == -1 &&
	    observe_failed(c, "server logs", &e))
		goto lost;
	if (observe_1_1(c, conn, tmo, &e) == -1)
		goto lost;
	return 0;
lost:
	snprintf(c->error, sizeof c->error, "observation: %s", e.msg);
	return -1;
}

static bool same_sql_before(const struct dbk_plan *p, unsigned i)
{
	for (unsigned k = 0; k < i; k++)
		if (p->actions[k].sql != NULL &&
		    strcmp(p->actions[k].sql, p->actions[i].sql) == 0)
			return true;
	return false;
}

/* The driver renders every statement before anything runs, so `plan`
 * prints exactly what `once` executes. Two actions that render to the
 * same statement (MySQL rebuilds a whole table for any of its indexes)
 * run once. */
static int render_all(struct dbk_cycle *c, struct dbk_conn *conn)
{
	struct dbk_plan *p = c->plan;

	for (unsigned i = 0; i < p->n_actions; i++) {
		struct dbk_plan_action *a = &p->actions[i];
		struct dbk_err e = { 0 };
		char *sql = NULL;

		/* An action the driver cannot render stays in the plan without
		 * a statement, so it is printed and reported as failed. */
		if (c->drv->render(conn, &a->act, &sql, &e) == -1) {
			if (e.code == DBK_E_CONNECT) {
				snprintf(c->error, sizeof c->error, "render: %s", e.msg);
				return -1;
			}
			a->render_error = dbk_xstrdup(e.msg);
			continue;
		}
		a->sql = dbk_xstrdup(sql);
		a->act.sql = a->sql;
		c->drv->free_string(sql);
		if (same_sql_before(p, i))
			dbk_plan_remove_action(p, i--);
	}
	return 0;
}

typedef int (*action_op)(struct dbk_conn *, const struct dbk_action *,
                         struct dbk_outcome *, struct dbk_err *);

static action_op op_for(const struct dbk_driver *d, int kind)
{
	switch (kind) {
	case DBK_A_DROP_TABLES: return d->drop_tables;
	case DBK_A_REBUILD_INDEX: return d->rebuild_index;
	case DBK_A_DROP_INDEX: return d->drop_index;
	case DBK_A_PURGE_ROWS: return d->purge_rows;
	case DBK_A_PURGE_SERVER_LOGS: return d->purge_server_logs;
	case DBK_A_ANALYZE: return d->analyze;
	case DBK_A_DROP_TRIGGER:
		return DBK_HAS_OP(d, drop_trigger) ? d->drop_trigger : NULL;
	case DBK_A_ROTATE_LOG_TABLE:
		return DBK_HAS_OP(d, rotate_log_table) ? d->rotate_log_table : NULL;
	}
	return NULL;
}

/* Classifies a finished action from the per-object statuses. */
static int classify(const struct dbk_plan_action *a,
                    const struct dbk_action_result *r)
{
	size_t done = 0, skipped = 0;

	for (size_t i = 0; i < a->act.n_objects; i++) {
		if (r->out.status[i] == DBK_OBJ_DONE)
			done++;
		else if (r->out.status[i] != DBK_OBJ_PENDING)
			skipped++;
	}
	if (r->out.stopped_early || (done > 0 && skipped > 0))
		return DBK_OUT_PARTIAL;
	if (skipped > 0 && done == 0)
		return DBK_OUT_SKIPPED;
	return DBK_OUT_DONE;
}

static void execute_one(struct dbk_cycle *c, struct dbk_conn *conn,
                        struct dbk_plan_action *a, struct dbk_action_result *r,
                        int64_t deadline_mono)
{
	action_op op = op_for(c->drv, a->act.kind);
	struct dbk_err e = { 0 };
	int64_t t0 = dbk_monotonic_ms();

	a->act.deadline_ms = deadline_mono;
	if (a->sql == NULL) {
		r->outcome = DBK_OUT_FAILED;
		snprintf(r->error, sizeof r->error, "not rendered: %s",
		         a->render_error ? a->render_error : "?");
		return;
	}
	if (a->dry_run) {
		r->outcome = DBK_OUT_DRY_RUN;
		return;
	}
	if (op == NULL) {
		r->outcome = DBK_OUT_FAILED;
		snprintf(r->error, sizeof r->error, "driver has no op for action");
		return;
	}
	if (op(conn, &a->act, &r->out, &e) == -1) {
		r->outcome = e.code == DBK_E_LOCK_TIMEOUT ? DBK_OUT_SKIPPED
		                                          : DBK_OUT_FAILED;
		snprintf(r->error, sizeof r->error, "%s", e.msg);
		/* A lost connection ends the run: nothing after it can work. */
		if (e.code == DBK_E_CONNECT) {
			c->status = DBK_RUN_FAILED;
			snprintf(c->error, sizeof c->error, "%s", e.msg);
		}
	} else {
		/* objects[1] of an index or trigger action is its table, which
		 * shares the object's fate in the record. */
		if ((a->act.kind == DBK_A_REBUILD_INDEX ||
		     a->act.kind == DBK_A_DROP_INDEX ||
		     a->act.kind == DBK_A_DROP_TRIGGER) && a->act.n_objects == 2)
			r->out.status[1] = r->out.status[0];
		r->outcome = classify(a, r);
	}
	r->duration_ms = dbk_monotonic_ms() - t0;
}

static void count_outcome(struct dbk_cycle *c, int outcome)
{
	switch (outcome) {
	case DBK_OUT_DONE: c->n_done++; break;
	case DBK_OUT_DRY_RUN: c->n_dry++; break;
	case DBK_OUT_PARTIAL: c->n_partial++; break;
	case DBK_OUT_SKIPPED: c->n_skipped++; break;
	case DBK_OUT_FAILED: c->n_failed++; break;
	case DBK_OUT_CARRIED: c->n_carried++; break;
	}
}

/* Runs the plan in order. What the budget, the window or a stop request
 * leaves undone is marked carried, and planned first next time. */
static void execute(struct dbk_cycle *c, struct dbk_conn *conn,
                    const struct dbk_run_opts *o, struct dbk_report *rep)
{
	struct dbk_plan *p = c->plan;
	int64_t now = p->now, mono = dbk_monotonic_ms();
	int64_t deadline = p->deadline > now ? mono + (p->deadline - now) * 1000
	                                      : 0;
	char *action_id = NULL;

	c->results = dbk_xcalloc(p->n_actions ? p->n_actions : 1,
	                         sizeof *c->results);
	for (unsigned i = 0; i < p->n_actions; i++) {
		struct dbk_plan_action *a = &p->actions[i];
		struct dbk_action_result *r = &c->results[i];

		r->out.status = dbk_xcalloc(a->act.n_objects ? a->act.n_objects : 1, 1);
		if (c->status == DBK_RUN_FAILED) {
			r->outcome = DBK_OUT_CARRIED; /* the connection is gone */
		} else if (stop_requested(o)) {
			r->outcome = DBK_OUT_CARRIED;
			c->status = DBK_RUN_STOPPED;
		} else if (!a->dry_run && deadline != 0 &&
		           dbk_monotonic_ms() >= deadline) {
			r->outcome = DBK_OUT_CARRIED;
			c->status = DBK_RUN_STOPPED_BUDGET;
		} else {
			if (c->hooks != NULL && c->hooks->progress != NULL)
				c->hooks->progress(c->hooks->ctx, c, i, false);
			if (!a->dry_run && a->sql != NULL)
				action_id = dbk_report_action_start(rep, a);
			execute_one(c, conn, a, r, deadline);
			/* Cancelled because we were asked to stop: carried over,
			 * not a failure of the action. */
			if (r->outcome == DBK_OUT_FAILED && stop_requested(o)) {
				r->outcome = DBK_OUT_CARRIED;
				if (c->status != DBK_RUN_FAILED)
					c->status = DBK_RUN_STOPPED;
			}
			if (r->out.stopped_early && c->status == DBK_RUN_FINISHED)
				c->status = stop_requested(o) ? DBK_RUN_STOPPED
				                              : DBK_RUN_STOPPED_BUDGET;
		}
		count_outcome(c, r->outcome);
		if (c->hooks != NULL && c->hooks->progress != NULL)
			c->hooks->progress(c->hooks->ctx, c, i, true);
		dbk_report_action(rep, c, a, r, action_id);
		free(action_id);
		action_id = NULL;
	}
}

/* The table's estimated rows in this cycle's observation; -1: unknown. */
static int64_t table_rows(const struct dbk_cycle *c, const struct dbk_object *t)
{
	for (size_t i = 0; c->tables != NULL && i < c->tables->n; i++) {
		const struct dbk_table *x = &c->tables->v[i];

		if (x->name != NULL && strcmp(x->name, t->name) == 0 &&
		    strcmp(x->schema ? x->schema : "", t->schema ? t->schema : "") == 0 &&
		    (t->id == 0 || x->id == 0 || x->id == t->id))
			return x->est_rows;
	}
	return -1;
}

/* After a clean rebuild, the index's size per table row is what "not
 * bloated" looks like for it; the planner weighs the statistics estimate
 * against it. Stored with id 0: a concurrent rebuild gives the index a new
 * id, bound at the next observation. */
static void remember_baselines(struct dbk_cycle *c, struct dbk_state *st)
{
	struct dbk_plan *p = c->plan;

	dbk_state_bind_index_baselines(st, c->indexes);
	for (unsigned i = 0; i < p->n_actions; i++) {
		const struct dbk_plan_action *a = &p->actions[i];
		const struct dbk_action_result *r = &c->results[i];
		int64_t rows = 0;

		if (a->act.kind != DBK_A_REBUILD_INDEX || r->outcome != DBK_OUT_DONE ||
		    r->out.bytes_after <= 0 || a->act.n_objects < 2)
			continue;
		if ((rows = table_rows(c, &a->objs[1])) <= 0)
			continue;
		dbk_state_set_index_baseline(st, a->objs[0].schema, a->objs[0].name, 0,
		    (double)r->out.bytes_after / (double)rows, p->now);
	}
}

/* The longest forget_replica_after of the target's policies: a replica is
 * dropped from memory only when no policy would still wait for it. */
static int64_t forget_replicas_after(const struct dbk_target *t)
{
	int64_t s = 0;

	for (unsigned i = 0; i < t->n_policies; i++)
		if (t->policies[i]->server_logs.forget_replica_s > s)
			s = t->policies[i]->server_logs.forget_replica_s;
	return s > 0 ? s : 7 * 86400;
}

static void remember(struct dbk_cycle *c, struct dbk_state *st)
{
	struct dbk_plan *p = c->plan;
	const char **keys = dbk_xcalloc(p->n_actions + 1, sizeof *keys);
	unsigned n = 0;

	if (c->tables != NULL)
		dbk_state_observe_tables(st, c->tables, p->now);
	dbk_state_observe_replicas(st, c->replicas, p->now,
	                           p->now - forget_replicas_after(c->target));
	for (unsigned i = 0; i < p->n_actions; i++)
		if (c->results[i].outcome == DBK_OUT_CARRIED ||
		    c->results[i].out.stopped_early)
			keys[n++] = p->actions[i].key;
	dbk_state_set_carried(st, keys, n);
	free(keys);
	remember_baselines(c, st);
	/* A task counts as run when it was due, even if part of it was
	 * carried: the carried actions go first next time anyway. */
	for (unsigned pi = 0; pi < p->n_policies; pi++)
		for (int t = 0; t < DBK_TASK_COUNT; t++)
			if (p->task_state[pi][t] == DBK_TS_DUE)
				dbk_state_set_last_run(st, c->target->policies[pi]->name,
				                       dbk_task_name(t), p->now);
}

/* Was the finding's task assessed this cycle? Only then does its absence
 * mean it cleared: a task that was not due says nothing. */
static bool plan_evaluated(void *ctx, const struct dbk_lasting *e)
{
	const struct dbk_cycle *c = ctx;
	const struct dbk_target *t = c->target;

	for (int task = 0; task < DBK_TASK_COUNT; task++) {
		if (e->category == NULL || strcmp(e->category, dbk_task_name(task)) != 0)
			continue;
		for (unsigned pi = 0; pi < t->n_policies; pi++) {
			int ts = c->plan->task_state[pi][task];

			if (e->policy != NULL && strcmp(t->policies[pi]->name, e->policy) == 0)
				return ts == DBK_TS_DUE || ts == DBK_TS_NOT_ASSESSED;
		}
	}
	return true; /* not a task's, or its policy is gone */
}

/* The planner's findings last like the rules' (agent/rules.h): one record
 * when a finding opens, changes severity, is reminded of, or resolves. A
 * finding a rule pack covers (same name as one of its rules) is left to
 * the statistics collection, which evaluates that rule. */
static void plan_findings_last(struct dbk_cycle *c, struct dbk_state *st,
                               struct dbk_report *rep)
{
	const struct dbk_plan *p = c->plan;
	struct dbk_cond *cond = dbk_xcalloc(p->n_findings + 1, sizeof *cond);
	char **owned = dbk_xcalloc(2 * p->n_findings + 1, sizeof *owned);
	struct dbk_lasting_list l = { 0 };
	struct dbk_events ev = { 0 };
	size_t n = 0, no = 0;

	for (unsigned i = 0; i < p->n_findings; i++) {
		const struct dbk_finding *f = &p->findings[i];
		char *kind = dbk_finding_kind(f->title);
		const char *pol = f->policy ? f->policy->name : NULL;

		owned[no++] = kind;
		if (dbk_rules_cover(c->target, kind))
			continue;
		owned[no++] = dbk_finding_key(pol, kind, f->object);
		cond[n++] = (struct dbk_cond){ .key = owned[no - 1], .rule = kind,
		    .policy = pol, .category = f->category, .object = f->object,
		    .title = f->title, .severity = f->severity, .for_s = 0,
		    .reminder_s = f->policy ? f->policy->reminder_s : 86400, .ref = f };
	}
	dbk_state_get_lasting(st, &l);
	dbk_lasting_step(&l, cond, n, plan_evaluated, c, p->now, &ev);
	for (size_t i = 0; i < ev.n; i++)
		dbk_report_lasting(rep, &ev.v[i], ev.v[i].ref,
		                   json_pack("{s:s}", "source", "planner"));
	dbk_state_set_lasting(st, &l);
	dbk_events_clear(&ev);
	dbk_lasting_list_clear(&l);
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	free(owned);
	free(cond);
}

static void plan_and_run(struct dbk_cycle *c, struct dbk_conn *conn,
                         const struct dbk_config *cfg,
                         const struct dbk_run_opts *o, struct dbk_report *rep)
{
	struct dbk_observation obs = { &c->info, c->tables, c->indexes,
	    c->logfiles, c->triggers, c->replicas, c->log_tables,
	    c->triggers_failed, c->replicas_failed };
	struct dbk_err e = { 0 };
	struct dbk_state *st = dbk_state_load(cfg->state_dir, c->target->name, &e);

	if (st == NULL) {
		c->status = DBK_RUN_FAILED;
		snprintf(c->error, sizeof c->error, "state: %s", e.msg);
		return;
	}
	if (e.msg[0] != '\0')
		dbk_log(LOG_WARNING, c->target, "%s", e.msg);
	c->plan = dbk_plan_make(c->target, &obs, st, dbk_now(),
	                        o->mode != DBK_MODE_DAEMON);
	if (render_all(c, conn) == -1) {
		c->status = DBK_RUN_FAILED;
		goto out;
	}
	if (o->mode == DBK_MODE_PLAN)
		goto out; /* plan changes nothing, not even the state file */
	if (c->hooks != NULL && c->hooks->confirm != NULL &&
	    !c->hooks->confirm(c->hooks->ctx, c)) {
		c->declined = true;
		goto out; /* as a plan: nothing ran, nothing to remember */
	}
	if (c->hooks == NULL || !c->hooks->on_demand)
		plan_findings_last(c, st, rep);
	execute(c, conn, o, rep);
	remember(c, st);
	if (dbk_state_save(st, &e) == -1)
		dbk_log(LOG_ERR, c->target, "state not saved: %s", e.msg);
out:
	dbk_state_free(st);
}

static void cycle_on_conn(struct dbk_cycle *c, struct dbk_conn *conn,
                          const struct dbk_config *cfg,
                          const struct dbk_run_opts *o, struct dbk_report *rep)
{
	struct dbk_err e = { 0 };
	bool got = false;

	if (c->drv->lock(conn, &got, &e) == -1) {
		c->status = DBK_RUN_FAILED;
		snprintf(c->error, sizeof c->error, "lock: %s", e.msg);
		return;
	}
	if (!got) {
		c->status = DBK_RUN_BUSY;
		dbk_log(LOG_NOTICE, c->target,
		        "busy: another agent is working on this database; skipping");
		return;
	}
	if (observe(c, conn) == -1)
		c->status = DBK_RUN_FAILED;
	else
		plan_and_run(c, conn, cfg, o, rep);
	/* After a lost connection there is nothing to unlock: the server
	 * released the lock with the session. */
	if (c->status != DBK_RUN_FAILED && c->drv->unlock(conn, &e) == -1)
		dbk_log(LOG_WARNING, c->target, "unlock: %s", e.msg);
}

struct dbk_cycle *dbk_cycle_run(const struct dbk_config *cfg,
                                const struct dbk_target *t,
                                const struct dbk_run_opts *o)
{
	return dbk_cycle_run_hooked(cfg, t, o, NULL);
}

struct dbk_cycle *dbk_cycle_run_hooked(const struct dbk_config *cfg,
                                       const struct dbk_target *t,
                                       const struct dbk_run_opts *o,
                                       const struct dbk_cycle_hooks *hooks)
{
	struct dbk_cycle *c = dbk_xcalloc(1, sizeof *c);
	struct dbk_report *rep = NULL;
	struct dbk_conn *conn = NULL;
	struct dbk_err e = { 0 };

	c->target = t;
	c->hooks = hooks;
	c->started_ms = dbk_now_ms();
	if (o->mode != DBK_MODE_PLAN)
		rep = dbk_report_open(cfg, t);
	if (dbk_runner_connect(cfg, t, &c->drv, &conn, &e) == -1) {
		c->status = DBK_RUN_FAILED;
		snprintf(c->error, sizeof c->error, "%s", e.msg);
	} else {
		if (hooks != NULL && hooks->detail != NULL &&
		    DBK_HAS_OP(c->drv, set_progress))
			c->drv->set_progress(conn, hooks->detail, hooks->ctx);
		inflight_set(o->inflight, c->drv, conn);
		cycle_on_conn(c, conn, cfg, o, rep);
		inflight_set(o->inflight, NULL, NULL);
		c->drv->close(conn);
	}
	c->duration_ms = dbk_now_ms() - c->started_ms;
	if (c->status == DBK_RUN_FAILED)
		dbk_log(LOG_ERR, t, "cycle failed: %s", c->error);
	if (!c->declined)
		dbk_report_run(rep, c, o->mode);
	dbk_report_close(rep);
	return c;
}

void dbk_cycle_free(struct dbk_cycle *c)
{
	if (c == NULL)
		return;
	if (c->drv != NULL) {
		c->drv->free_tables(c->tables);
		c->drv->free_indexes(c->indexes);
		c->drv->free_logfiles(c->logfiles);
		if (c->triggers != NULL)
			c->drv->free_triggers(c->triggers);
		if (c->replicas != NULL)
			c->drv->free_replicas(c->replicas);
		c->drv->free_logfiles(c->log_tables);
	}
	if (c->results != NULL && c->plan != NULL)
		for (unsigned i = 0; i < c->plan->n_actions; i++)
			free(c->results[i].out.status);
	free(c->results);
	dbk_plan_free(c->plan);
	free(c);
}
