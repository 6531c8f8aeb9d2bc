/* agent/scheduler.c: the daemon loop. Workers share the current config
 * through a reference count, so a reload swaps it without stopping a
 * worker in the middle of an action; each worker picks the new config up
 * at its next cycle, and workers of removed targets end themselves. A
 * failed cycle backs its target off (retry_backoff, doubling up to
 * retry_backoff_max): a database that is down never ends the daemon. */
#include "scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver_loader.h"
#include "log.h"
#include "notify.h"
#include "planner.h"
#include "runner.h"

#define MAX_SLEEP_S 300     /* re-evaluate windows at least this often */

struct cfgref {
	struct dbk_config *cfg;
	atomic_int refs;
};

enum worker_kind { W_MAINT, W_METRICS };

struct worker {
	struct sched *s;
	char *target;
	enum worker_kind kind;
	pthread_t th;
	atomic_bool exited;
	struct dbk_inflight inflight;
	struct worker *next;
};

struct sched {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* broadcast on stop and reload */
	struct cfgref *cur;
	atomic_bool stop;
	struct worker *workers;
	const char *path;
};

static struct cfgref *ref_new(struct dbk_config *cfg)
{
	struct cfgref *r = dbk_xcalloc(1, sizeof *r);

	r->cfg = cfg;
	atomic_init(&r->refs, 1);
	return r;
}

static void ref_release(struct cfgref *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		dbk_config_free(r->cfg);
		free(r);
	}
}

static struct cfgref *ref_current(struct sched *s)
{
	struct cfgref *r = NULL;

	pthread_mutex_lock(&s->mu);
	r = s->cur;
	atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* The schedule of one task of a policy, or NULL when it is off. */
static const struct dbk_schedule *task_schedule(const struct dbk_policy *p, int t)
{
	switch (t) {
	case DBK_TASK_SCRATCH: return p->scratch.enabled ? &p->scratch.schedule : NULL;
	case DBK_TASK_INDEXES: return p->indexes.enabled ? &p->indexes.schedule : NULL;
	case DBK_TASK_LOGS: return p->logs.enabled ? &p->logs.schedule : NULL;
	case DBK_TASK_SERVER_LOGS:
		return p->server_logs.enabled ? &p->server_logs.schedule : NULL;
	case DBK_TASK_STATS: return p->stats.analyze ? &p->stats.schedule : NULL;
	}
	return NULL;
}

int64_t dbk_sched_next_due(const struct dbk_target *t,
                           const struct dbk_state *st, int64_t now)
{
	int64_t best = 0;

	for (unsigned i = 0; i < t->n_policies; i++) {
		const struct dbk_policy *p = t->policies[i];

		for (int k = 0; k < DBK_TASK_COUNT; k++) {
			const struct dbk_schedule *sc = task_schedule(p, k);
			int64_t last = 0, due = now;

			if (sc == NULL)
				continue;
			last = dbk_state_last_run(st, p->name, dbk_task_name(k));
			if (last > 0 && last + sc->interval_s > now)
				due = last + sc->interval_s;
			due = dbk_windows_next_open(sc->has_window ? &sc->window
			                                           : &p->window, due);
			if (best == 0 || due < best)
				best = due;
		}
	}
	return best; /* 0: nothing enabled */
}

static int64_t metrics_interval(const struct dbk_target *t)
{
	int64_t iv = 0;

	for (unsigned i = 0; i < t->n_policies; i++)
		if (iv == 0 || t->policies[i]->stats.metrics_interval_s < iv)
			iv = t->policies[i]->stats.metrics_interval_s;
	return iv > 0 ? iv : 300;
}

/* Sleeps until wall-clock time `until` (capped), a reload or a stop. */
static void wait_until(struct sched *s, int64_t until)
{
	int64_t now = dbk_now();
	int64_t secs = until > now ? until - now : 0;
	struct timespec ts;

	if (secs > MAX_SLEEP_S)
		secs = MAX_SLEEP_S;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&s->mu);
	while (!atomic_load(&s->stop) && secs > 0 &&
	       pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
		break; /* woken: reload or stop; the caller re-evaluates */
	pthread_mutex_unlock(&s->mu);
}

static int64_t maint_next(const struct dbk_config *cfg, const struct dbk_target *t,
                          int64_t now)
{
	struct dbk_err e = { 0 };
	struct dbk_state *st = dbk_state_load(cfg->state_dir, t->name, &e);
	int64_t due = 0;

	if (st == NULL) {
		dbk_log(LOG_ERR, t, "state: %s", e.msg);
		return now + cfg->retry_backoff_s;
	}
	due = dbk_sched_next_due(t, st, now);
	dbk_state_free(st);
	return due ? due : now + MAX_SLEEP_S;
}

/* Runs the work of one wake-up; false when it failed (back off). */
static bool work(struct worker *w, const struct dbk_config *cfg,
                 const struct dbk_target *t)
{
	struct dbk_run_opts o = { DBK_MODE_DAEMON, &w->s->stop, &w->inflight };
	struct dbk_cycle *c = NULL;
	struct dbk_err e = { 0 };
	bool ok = true;

	if (w->kind == W_METRICS) {
		if (dbk_metrics_run(cfg, t, &e) == -1) {
			dbk_log(LOG_ERR, t, "statistics collection failed: %s", e.msg);
			ok = false;
		}
		return ok;
	}
	dbk_notify_status("target %s: housekeeping cycle", t->name);
	c = dbk_cycle_run(cfg, t, &o);
	ok = c->status != DBK_RUN_FAILED;
	/* A failed cycle has said why in one error line already. */
	if (ok)
		dbk_log(LOG_INFO, t, "cycle %s: %u actions (done %u, dry-run %u, "
		        "failed %u, carried %u)", dbk_run_status_name(c->status),
		        c->plan ? c->plan->n_actions : 0, c->n_done, c->n_dry,
		        c->n_failed, c->n_carried);
	dbk_cycle_free(c);
	return ok;
}

/* The wait after a failure: retry_backoff, doubling up to
 * retry_backoff_max, so a database that is down costs one connection
 * attempt per wait and never a busy loop. */
static int64_t next_backoff(const struct dbk_config *cfg, int64_t prev)
{
	int64_t b = prev > 0 ? prev * 2 : cfg->retry_backoff_s;

	if (b < cfg->retry_backoff_s)
		b = cfg->retry_backoff_s;
	return b > cfg->retry_backoff_max_s ? cfg->retry_backoff_max_s : b;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t not_before = 0, backoff = 0, last_metrics = 0;

	while (!atomic_load(&w->s->stop)) {
		struct cfgref *r = ref_current(w->s);
		const struct dbk_target *t = dbk_config_target(r->cfg, w->target);
		int64_t now = dbk_now(), due = 0;

		if (t == NULL) { /* removed by a reload */
			ref_release(r);
			break;
		}
		due = w->kind == W_METRICS ? last_metrics + metrics_interval(t)
		                           : maint_next(r->cfg, t, now);
		if (due < not_before)
			due = not_before;
		if (due > now) {
			ref_release(r);
			wait_until(w->s, due);
			continue;
		}
		last_metrics = now;
		if (work(w, r->cfg, t)) {
			backoff = 0;
			not_before = dbk_now() +
			             (w->kind == W_MAINT ? r->cfg->cycle_min_gap_s : 0);
		} else {
			backoff = next_backoff(r->cfg, backoff);
			not_before = dbk_now() + backoff;
			dbk_log(LOG_NOTICE, t, "%s: retrying in %llds",
			        w->kind == W_MAINT ? "housekeeping" : "statistics",
			        (long long)backoff);
		}
		ref_release(r);
	}
	atomic_store(&w->exited, true);
	return NULL;
}

static bool has_worker(struct sched *s, const char *target)
{
	for (struct worker *w = s->workers; w != NULL; w = w->next)
		if (strcmp(w->target, target) == 0 && !atomic_load(&w->exited))
			return true;
	return false;
}

static void start_worker(struct sched *s, const char *target, enum worker_kind k)
{
	struct worker *w = dbk_xcalloc(1, sizeof *w);

	w->s = s;
	w->target = dbk_xstrdup(target);
	w->kind = k;
	atomic_init(&w->exited, false);
	dbk_inflight_init(&w->inflight);
	if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
		dbk_log(LOG_ERR, NULL, "cannot start a worker for target %s", target);
		free(w->target);
		free(w);
		return;
	}
	w->next = s->workers;
	s->workers = w;
}

static void start_workers(struct sched *s, const struct dbk_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_targets; i++) {
		if (has_worker(s, cfg->targets[i].name))
			continue;
		start_worker(s, cfg->targets[i].name, W_MAINT);
		start_worker(s, cfg->targets[i].name, W_METRICS);
	}
}

/* Joins workers that ended (removed targets); all when `all`. */
static void reap(struct sched *s, bool all)
{
	struct worker **pp = &s->workers;

	while (*pp != NULL) {
		struct worker *w = *pp;

		if (!all && !atomic_load(&w->exited)) {
			pp = &w->next;
			continue;
		}
		pthread_join(w->th, NULL);
		*pp = w->next;
		pthread_mutex_destroy(&w->inflight.mu);
		free(w->target);
		free(w);
	}
}

static void keep_string(char **next, const char *cur)
{
	free(*next);
	*next = dbk_xstrdup(cur);
}

/* Directories and the syslog facility are fixed for the life of the
 * process (the unit's sandbox opens exactly those paths, syslog is opened
 * once). A reload keeps their old values and says so, never silently. */
static void keep_restart_settings(const struct dbk_config *cur,
                                  struct dbk_config *next)
{
	char buf[256];

	if (dbk_config_restart_changes(cur, next, buf, sizeof buf) == 0)
		return;
	dbk_log(LOG_WARNING, NULL, "changed settings keep their old values until "
	        "a restart: %s", buf);
	keep_string(&next->state_dir, cur->state_dir);
	keep_string(&next->queue_dir, cur->queue_dir);
	keep_string(&next->driver_dir, cur->driver_dir);
	next->syslog_facility = cur->syslog_facility;
}

static void reload(struct sched *s)
{
	struct dbk_err e = { 0 };
	struct dbk_config *cfg = NULL;
	struct cfgref *old = NULL;

	dbk_notify_reloading();
	cfg = dbk_config_load(s->path, &e);
	if (cfg != NULL && dbk_driver_check_targets(cfg, &e) == -1) {
		dbk_config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		dbk_log(LOG_ERR, NULL, "reload failed, keeping the old configuration: %s",
		        e.msg);
		dbk_notify("READY=1");
		return;
	}
	keep_restart_settings(s->cur->cfg, cfg);
	pthread_mutex_lock(&s->mu);
	old = s->cur;
	s->cur = ref_new(cfg);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	ref_release(old);
	start_workers(s, cfg);
	dbk_log(LOG_NOTICE, NULL, "configuration reloaded from %s: %u targets",
	        s->path, cfg->n_targets);
	dbk_notify("READY=1");
}

static void stop_all(struct sched *s)
{
	dbk_notify("STOPPING=1");
	dbk_log(LOG_NOTICE, NULL, "stopping: finishing the statement in flight");
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (struct worker *w = s->workers; w != NULL; w = w->next)
		dbk_inflight_cancel(&w->inflight);
	reap(s, true);
}

int dbk_sched_run(const char *path, struct dbk_config *cfg)
{
	struct sched s = { .path = path };
	pthread_condattr_t ca;
	sigset_t set;
	int64_t wd = dbk_notify_watchdog_ms();
	struct timespec tick = { 5, 0 };

	pthread_mutex_init(&s.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s.cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&s.stop, false);
	s.cur = ref_new(cfg);
	if (wd > 0 && wd / 2 < 5000)
		tick = (struct timespec){ wd / 2000, (wd / 2 % 1000) * 1000000 };
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	start_workers(&s, cfg);
	dbk_log(LOG_NOTICE, NULL, "dbkeeper %s running: %u targets", DBK_VERSION,
	        cfg->n_targets);
	dbk_notify("READY=1");
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			reload(&s);
		dbk_notify_watchdog();
		reap(&s, false);
	}
	stop_all(&s);
	ref_release(s.cur);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
	dbk_log(LOG_NOTICE, NULL, "stopped");
	return 0;
}
