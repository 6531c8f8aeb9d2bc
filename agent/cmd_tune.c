/* agent/cmd_tune.c: `dbkeeper tune`. Runs in a worker thread while the
 * main thread waits for signals (Ctrl-C cancels the statement in flight)
 * and redraws the progress bar. It decides nothing: the findings come
 * from rules.c and the planner, the plan and its execution from the
 * runner; this file shows them, asks, and records them as on-demand. */
#include "cmd_tune.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd_cycle.h"
#include "log.h"
#include "report.h"
#include "rules.h"
#include "runner.h"
#include "tuning.h"

#define BAR_WIDTH 30

/* One finding as shown: from a rule or from the planner. */
struct shown {
	const struct dbk_finding *f;
	const struct dbk_rule_hit *hit;   /* NULL: the planner's */
	const struct dbk_lasting *open;   /* the daemon's open finding, if any */
	bool pending;                     /* has not held its rule's `for` */
};

struct tune {
	const struct dbk_config *cfg;
	const struct dbk_target *t;
	bool apply, yes, json, tty;
	atomic_bool stop;
	atomic_bool done;
	struct dbk_inflight inflight;
	struct dbk_tuning *tu;            /* NULL: statistics not observed */
	char tu_error[600];
	struct dbk_lasting_list open;     /* the daemon's findings */
	struct shown *shown;
	size_t n_shown;
	bool printed;                     /* the report went out already */
	int status;
	json_t *out;
	/* Progress, shared with the main thread's redraw. */
	pthread_mutex_t mu;
	bool running;
	unsigned cur, total;
	int64_t started_ms;
	char label[160];
	char phase[64];                   /* within the action; "" none yet */
	int64_t pdone, ptotal;            /* ptotal <= 0: unknown */
};

/* ---- Findings: gather, order, print ---- */

static int shown_cmp(const void *pa, const void *pb)
{
	const struct shown *a = pa, *b = pb;
	int c = 0;

	if (a->pending != b->pending)
		return a->pending ? 1 : -1;
	if (a->f->severity != b->f->severity)
		return b->f->severity - a->f->severity;
	if ((a->hit == NULL) != (b->hit == NULL))
		return a->hit ? -1 : 1;
	if ((c = strcmp(a->f->category ? a->f->category : "",
	                b->f->category ? b->f->category : "")) != 0)
		return c;
	return strcmp(a->f->object ? a->f->object : "", b->f->object ? b->f->object : "");
}

/* The daemon's entry for a condition (open or still pending). */
static const struct dbk_lasting *entry_of(const struct tune *tn, const char *key)
{
	for (size_t i = 0; key != NULL && i < tn->open.n; i++)
		if (strcmp(tn->open.v[i].key, key) == 0)
			return &tn->open.v[i];
	return NULL;
}

/* A rule with `for` counts once the statistics worker has seen it hold
 * that long: tune shows a spike it has only seen now as pending, so an
 * engineer's report never cries wolf where the daemon would not. */
static bool held(const struct tune *tn, const struct dbk_rule_hit *h,
                 const struct dbk_lasting *e)
{
	if (h->rule->for_s <= 0)
		return true;
	return e != NULL && (e->open || tn->tu->now_ms / 1000 - e->since >= h->rule->for_s);
}

/* Rule hits, then the planner's findings no rule covers. */
static void gather(struct tune *tn, const struct dbk_cycle *c)
{
	size_t n_hits = tn->tu ? tn->tu->hits->n : 0;
	size_t n_plan = c && c->plan ? c->plan->n_findings : 0;

	free(tn->shown);
	tn->shown = dbk_xcalloc(n_hits + n_plan + 1, sizeof *tn->shown);
	tn->n_shown = 0;
	for (size_t i = 0; i < n_hits; i++) {
		const struct dbk_rule_hit *h = &tn->tu->hits->v[i];
		const struct dbk_lasting *e = entry_of(tn, h->key);

		tn->shown[tn->n_shown++] = (struct shown){ &h->finding, h,
		    e && e->open ? e : NULL, !held(tn, h, e) };
	}
	for (size_t i = 0; i < n_plan; i++) {
		const struct dbk_finding *f = &c->plan->findings[i];
		char *kind = dbk_finding_kind(f->title);

		if (!dbk_rules_cover(tn->t, kind))
			tn->shown[tn->n_shown++] = (struct shown){ f, NULL, NULL, false };
		free(kind);
	}
	if (tn->n_shown > 1)
		qsort(tn->shown, tn->n_shown, sizeof *tn->shown, shown_cmp);
}

static void print_when(FILE *f, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm = { 0 };
	char buf[32];

	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
	fputs(buf, f);
}

static void print_finding(FILE *f, const struct shown *s)
{
	char d[32];

	fputs("  - ", f);
	if (s->f->object != NULL) {
		dbk_print_escaped(f, s->f->object);
		fputs(": ", f);
	}
	dbk_print_escaped(f, s->f->title);
	fprintf(f, "  [%s", s->f->category ? s->f->category : "?");
	if (s->hit != NULL)
		fprintf(f, ", rule %s", s->hit->rule->name);
	fputs("]\n      evidence: ", f);
	dbk_print_escaped(f, s->f->evidence);
	if (s->f->recommendation != NULL) {
		fputs("\n      remedy:   ", f);
		dbk_print_escaped(f, s->f->recommendation);
	}
	if (s->open != NULL) {
		fputs("\n      open since ", f);
		print_when(f, s->open->first_seen);
		fprintf(f, ", seen %" PRId64 " times by the agent", s->open->count);
	} else if (s->pending) {
		fprintf(f, "\n      %s if it holds for %s (rule %s)",
		        dbk_severity_name(s->f->severity),
		        dbk_fact_format("s", (double)s->hit->rule->for_s, d, sizeof d),
		        s->hit->rule->name);
	}
	fputc('\n', f);
}

static void print_report(struct tune *tn, const struct dbk_cycle *c)
{
	static const char *const heads[] = { "INFO", "WARNING", "CRITICAL" };
	unsigned count[3] = { 0, 0, 0 }, pending = 0;

	printf("== tune %s (%s", tn->t->name, tn->t->driver);
	if (c != NULL && c->have_info)
		printf(", %s %s", c->info.flavour, c->info.version);
	else if (tn->tu != NULL && tn->tu->have_info)
		printf(", %s %s", tn->tu->info.flavour, tn->tu->info.version);
	fputs(")\n", stdout);
	if (tn->tu == NULL) {
		fputs("statistics not observed: ", stdout);
		dbk_print_escaped(stdout, tn->tu_error);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < tn->n_shown; i++) {
		if (tn->shown[i].pending)
			pending++;
		else
			count[tn->shown[i].f->severity]++;
	}
	printf("findings: %u critical, %u warning, %u info; %u pending\n", count[2],
	       count[1], count[0], pending);
	for (int sev = DBK_SEV_CRITICAL; sev >= DBK_SEV_INFO; sev--) {
		if (count[sev] == 0)
			continue;
		printf("\n%s (%u)\n", heads[sev], count[sev]);
		for (size_t i = 0; i < tn->n_shown; i++)
			if (tn->shown[i].f->severity == sev && !tn->shown[i].pending)
				print_finding(stdout, &tn->shown[i]);
	}
	if (pending > 0) {
		printf("\nPENDING (%u): seen now, not yet held as long as their rule "
		       "asks\n", pending);
		for (size_t i = 0; i < tn->n_shown; i++)
			if (tn->shown[i].pending)
				print_finding(stdout, &tn->shown[i]);
	}
	if (c == NULL || c->plan == NULL) {
		printf("\nhousekeeping plan: not made%s", c && c->error[0] ? ": " : "\n");
		if (c != NULL && c->error[0]) {
			dbk_print_escaped(stdout, c->error);
			fputc('\n', stdout);
		}
	} else {
		printf("\nhousekeeping plan (%u action%s):\n", c->plan->n_actions,
		       c->plan->n_actions == 1 ? "" : "s");
		if (c->plan->n_actions == 0)
			fputs("  nothing to do\n", stdout);
		dbk_cycle_print_actions(stdout, c);
	}
	fflush(stdout);
}

/* ---- JSON ---- */

static json_t *finding_json(const struct shown *s)
{
	json_t *j = dbk_report_finding_json(s->f);
	json_t *more = s->hit ? dbk_tuning_hit_json(s->hit) :
	                        json_pack("{s:s}", "source", "planner");

	json_object_update(j, more);
	json_decref(more);
	if (s->open != NULL) {
		json_object_set_new(j, "open_since_ms",
		                    json_integer(s->open->first_seen * 1000));
		json_object_set_new(j, "count", json_integer(s->open->count));
	}
	json_object_set_new(j, "pending", json_boolean(s->pending));
	if (s->pending)
		json_object_set_new(j, "for_s", json_integer(s->hit->rule->for_s));
	return j;
}

static json_t *report_json(struct tune *tn, const struct dbk_cycle *c)
{
	json_t *j = json_pack("{s:s, s:s}", "target", tn->t->name,
	                      "driver", tn->t->driver);
	json_t *finds = json_array();
	unsigned count[3] = { 0, 0, 0 }, pending = 0;

	if (tn->tu != NULL && tn->tu->have_info)
		json_object_set_new(j, "server", json_pack("{s:s, s:s}",
		    "flavour", tn->tu->info.flavour, "version", tn->tu->info.version));
	if (tn->tu == NULL)
		json_object_set_new(j, "statistics_error", json_string(tn->tu_error));
	for (size_t i = 0; i < tn->n_shown; i++) {
		json_array_append_new(finds, finding_json(&tn->shown[i]));
		if (tn->shown[i].pending)
			pending++;
		else
			count[tn->shown[i].f->severity]++;
	}
	json_object_set_new(j, "counts", json_pack("{s:i, s:i, s:i, s:i}",
	    "critical", (int)count[2], "warning", (int)count[1], "info", (int)count[0],
	    "pending", (int)pending));
	json_object_set_new(j, "findings", finds);
	if (tn->tu != NULL)
		json_object_set_new(j, "facts", dbk_tuning_facts_json(tn->tu->facts));
	if (c != NULL)
		json_object_set_new(j, "plan", dbk_cycle_json(c));
	json_object_set_new(j, "applied", json_boolean(c != NULL && c->results != NULL));
	return j;
}

/* ---- Confirmation and progress ---- */

static unsigned real_actions(const struct dbk_cycle *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->plan->n_actions; i++)
		if (!c->plan->actions[i].dry_run && c->plan->actions[i].sql != NULL)
			n++;
	return n;
}

/* A line from stdin; false on end of input or a stop request. */
static bool read_answer(struct tune *tn, char *buf, size_t len)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	while (!atomic_load(&tn->stop)) {
		int r = poll(&p, 1, 200);

		if (r > 0)
			return fgets(buf, (int)len, stdin) != NULL;
		if (r < 0)
			return false;
	}
	return false;
}

static bool confirm(void *ctx, const struct dbk_cycle *c)
{
	struct tune *tn = ctx;
	unsigned n = real_actions(c);
	char ans[64];

	gather(tn, c);
	if (!tn->json) {
		print_report(tn, c);
		tn->printed = true;
	}
	if (n == 0) {
		if (!tn->json)
			printf("\nnothing to apply: the plan has no action that is not a dry run\n");
		return false;
	}
	if (tn->yes)
		return true;
	printf("\napply these %u action%s to %s now? [y/N] ", n, n == 1 ? "" : "s",
	       tn->t->name);
	fflush(stdout);
	if (!read_answer(tn, ans, sizeof ans) || (ans[0] != 'y' && ans[0] != 'Y')) {
		/* An answer typed at a terminal ended the line already. */
		printf("%snot applied\n", isatty(STDIN_FILENO) ? "" : "\n");
		return false;
	}
	if (!isatty(STDIN_FILENO))
		fputc('\n', stdout);
	return true;
}

/* The action's own progress, as the driver reports it: "building index
 * 45%" when the total is known, "deleting 120000" when only a count is,
 * the phase alone otherwise. */
static void detail_text(const struct tune *tn, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!tn->running || tn->phase[0] == '\0')
		return;
	if (tn->ptotal > 0)
		snprintf(buf, len, " - %s %" PRId64 "%%", tn->phase,
		         (tn->pdone > tn->ptotal ? tn->ptotal : tn->pdone) * 100 /
		         tn->ptotal);
	else if (tn->pdone > 0)
		snprintf(buf, len, " - %s %" PRId64, tn->phase, tn->pdone);
	else
		snprintf(buf, len, " - %s", tn->phase);
}

static void bar_draw(struct tune *tn)
{
	int64_t el = (dbk_monotonic_ms() - tn->started_ms) / 1000;
	/* In thousandths of the whole run: done actions plus the running
	 * one's share when its driver says how far it is. */
	int64_t part = tn->running && tn->ptotal > 0 ?
	               (tn->pdone > tn->ptotal ? 1000 : tn->pdone * 1000 / tn->ptotal) : 0;
	int64_t fill = tn->total ?
	               ((int64_t)tn->cur * 1000 + part) * BAR_WIDTH / (tn->total * 1000LL) : 0;
	char bar[BAR_WIDTH + 1], det[96];

	for (unsigned i = 0; i < BAR_WIDTH; i++)
		bar[i] = (int64_t)i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	detail_text(tn, det, sizeof det);
	/* \r and erase-line: one line, redrawn in place. */
	printf("\r\033[K[%s] %u/%u %s%s %" PRId64 "s", bar, tn->cur, tn->total,
	       tn->label, det, el);
	fflush(stdout);
}

static void action_label(const struct dbk_plan_action *a, char *buf, size_t len)
{
	const struct dbk_object *o = a->act.n_objects ? &a->act.objects[0] : NULL;
	bool pair = a->act.kind == DBK_A_REBUILD_INDEX ||
	            a->act.kind == DBK_A_DROP_INDEX ||
	            a->act.kind == DBK_A_DROP_TRIGGER;
	size_t n = 0;

	n = (size_t)snprintf(buf, len, "%s", dbk_action_label(a->act.kind));
	if (o != NULL && n < len)
		snprintf(buf + n, len - n, " %s%s%s%s", o->schema ? o->schema : "",
		         o->schema ? "." : "", o->name ? o->name : "",
		         a->act.n_objects > 1 && !pair ? " ..." : "");
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?'; /* names must not drive the terminal */
}

static void progress(void *ctx, const struct dbk_cycle *c, unsigned i, bool done)
{
	struct tune *tn = ctx;
	const struct dbk_action_result *r = done ? &c->results[i] : NULL;

	if (tn->json)
		return;
	pthread_mutex_lock(&tn->mu);
	tn->total = c->plan->n_actions;
	if (!done) {
		tn->cur = i;
		tn->running = true;
		tn->started_ms = dbk_monotonic_ms();
		tn->phase[0] = '\0';
		tn->pdone = tn->ptotal = 0;
		action_label(&c->plan->actions[i], tn->label, sizeof tn->label);
		if (tn->tty)
			bar_draw(tn);
		else
			printf("[%u/%u] %s ...\n", i + 1, tn->total, tn->label);
	} else {
		tn->cur = i + 1;
		tn->running = false;
		if (tn->tty) {
			bar_draw(tn);
			printf(" %s\n", dbk_outcome_name(r->outcome));
		} else {
			printf("[%u/%u] %s: %s in %" PRId64 " ms\n", i + 1, tn->total,
			       tn->label, dbk_outcome_name(r->outcome), r->duration_ms);
		}
	}
	fflush(stdout);
	pthread_mutex_unlock(&tn->mu);
}

/* From the driver, on the worker thread, during an action. A terminal
 * gets the bar redrawn; plain output a line per phase, not per batch. */
static void detail(void *ctx, const char *phase, int64_t done, int64_t total)
{
	struct tune *tn = ctx;
	bool changed = false;

	if (tn->json || phase == NULL)
		return;
	pthread_mutex_lock(&tn->mu);
	changed = strncmp(tn->phase, phase, sizeof tn->phase - 1) != 0;
	snprintf(tn->phase, sizeof tn->phase, "%s", phase);
	for (char *p = tn->phase; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	tn->pdone = done;
	tn->ptotal = total;
	if (tn->tty && tn->running)
		bar_draw(tn);
	else if (changed && tn->running)
		printf("[%u/%u]   %s\n", tn->cur + 1, tn->total, tn->phase);
	fflush(stdout);
	pthread_mutex_unlock(&tn->mu);
}

/* ---- The run ---- */

static void observe_statistics(struct tune *tn)
{
	const struct dbk_driver *drv = NULL;
	struct dbk_conn *conn = NULL;
	struct dbk_state *st = NULL;
	char *name = dbk_tuning_state_name(tn->t->name);
	struct dbk_err e = { 0 };

	/* The daemon's metrics state gives rates, index usage history and
	 * its open findings; tune reads it and never writes it back. */
	if ((st = dbk_state_load(tn->cfg->state_dir, name, &e)) == NULL)
		st = dbk_state_new_empty();
	dbk_state_get_lasting(st, &tn->open);
	if (dbk_runner_connect(tn->cfg, tn->t, &drv, &conn, &e) == -1) {
		snprintf(tn->tu_error, sizeof tn->tu_error, "%s", e.msg);
		goto out;
	}
	pthread_mutex_lock(&tn->inflight.mu);
	tn->inflight.drv = drv;
	tn->inflight.conn = conn;
	pthread_mutex_unlock(&tn->inflight.mu);
	tn->tu = dbk_tuning_observe(tn->t, drv, conn, st, true, &e);
	if (tn->tu == NULL)
		snprintf(tn->tu_error, sizeof tn->tu_error, "%s", e.msg);
	pthread_mutex_lock(&tn->inflight.mu);
	tn->inflight.drv = NULL;
	tn->inflight.conn = NULL;
	pthread_mutex_unlock(&tn->inflight.mu);
	drv->close(conn);
out:
	dbk_state_free(st);
	free(name);
}

/* Every finding shown (but the pending ones) also goes to the queue,
 * marked on-demand: it opens or resolves nothing, the daemon's findings
 * do that. */
static void record(struct tune *tn)
{
	struct dbk_report *rep = dbk_report_open(tn->cfg, tn->t);

	for (size_t i = 0; i < tn->n_shown; i++) {
		const struct shown *s = &tn->shown[i];

		if (s->pending)
			continue;
		dbk_report_on_demand(rep, s->f, s->hit ? dbk_tuning_hit_json(s->hit) :
		                     json_pack("{s:s}", "source", "planner"));
	}
	dbk_report_close(rep);
}

static void print_results(const struct dbk_cycle *c)
{
	printf("\napplied: done %u, dry-run %u, partial %u, skipped %u, failed %u, "
	       "carried %u\n", c->n_done, c->n_dry, c->n_partial, c->n_skipped,
	       c->n_failed, c->n_carried);
	for (unsigned i = 0; i < c->plan->n_actions; i++) {
		const struct dbk_action_result *r = &c->results[i];

		if (r->error[0] == '\0')
			continue;
		printf("  %u. %s: ", i + 1, dbk_outcome_name(r->outcome));
		dbk_print_escaped(stdout, r->error);
		fputc('\n', stdout);
	}
}

static void *tune_main(void *arg)
{
	struct tune *tn = arg;
	struct dbk_run_opts o = { tn->apply ? DBK_MODE_ONCE : DBK_MODE_PLAN,
	                          &tn->stop, &tn->inflight };
	struct dbk_cycle_hooks h = { tn->apply ? confirm : NULL,
	                             tn->apply ? progress : NULL,
	                             tn->apply ? detail : NULL, tn, true };
	struct dbk_cycle *c = NULL;

	observe_statistics(tn);
	if (tn->tu == NULL)
		tn->status = 3;
	if (!atomic_load(&tn->stop))
		c = dbk_cycle_run_hooked(tn->cfg, tn->t, &o, &h);
	if (c != NULL && (c->status == DBK_RUN_FAILED || c->n_failed > 0))
		tn->status = 3;
	if (!tn->printed)
		gather(tn, c);
	if (tn->json)
		tn->out = report_json(tn, c);
	else if (!tn->printed)
		print_report(tn, c);
	if (!tn->json && c != NULL && c->results != NULL)
		print_results(c);
	if (!tn->json && c != NULL && c->status != DBK_RUN_FINISHED) {
		printf("\nstatus: %s", dbk_run_status_name(c->status));
		if (c->error[0] != '\0') {
			fputs(": ", stdout);
			dbk_print_escaped(stdout, c->error);
		}
		fputc('\n', stdout);
	}
	record(tn);
	fflush(stdout);
	dbk_cycle_free(c);
	atomic_store(&tn->done, true);
	return NULL;
}

/* Signals and the progress bar's clock, until the worker is done. */
static void supervise(struct tune *tn)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (!atomic_load(&tn->done)) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGINT || sig == SIGTERM) {
			dbk_log(LOG_NOTICE, NULL, "stopping: cancelling the statement in flight");
			atomic_store(&tn->stop, true);
			dbk_inflight_cancel(&tn->inflight);
		}
		pthread_mutex_lock(&tn->mu);
		if (tn->tty && tn->running)
			bar_draw(tn);
		pthread_mutex_unlock(&tn->mu);
	}
}

static int parse_args(struct tune *tn, int argc, char **argv)
{
	const char *name = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--apply") == 0) {
			tn->apply = true;
		} else if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
			tn->yes = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "dbkeeper: tune: unknown option '%s'\n", argv[i]);
			return -1;
		} else if (name != NULL) {
			fprintf(stderr, "dbkeeper: tune takes one target, not '%s' too\n",
			        argv[i]);
			return -1;
		} else {
			name = argv[i];
		}
	}
	if (name == NULL) {
		fprintf(stderr, "dbkeeper: tune needs a target: dbkeeper tune TARGET "
		        "[--apply [--yes]]\n");
		return -1;
	}
	if (tn->yes && !tn->apply) {
		fprintf(stderr, "dbkeeper: tune: --yes only goes with --apply\n");
		return -1;
	}
	if (tn->json && tn->apply && !tn->yes) {
		fprintf(stderr, "dbkeeper: tune: --json --apply needs --yes (there is "
		        "no one to ask)\n");
		return -1;
	}
	if ((tn->t = dbk_config_target(tn->cfg, name)) == NULL) {
		fprintf(stderr, "dbkeeper: no target named '%s' in %s\n", name,
		        tn->cfg->file);
		return -1;
	}
	return 0;
}

int dbk_cmd_tune(const struct dbk_config *cfg, int argc, char **argv, bool json)
{
	struct tune tn = { 0 };
	pthread_t th;
	int status = 0;

	tn.cfg = cfg;
	tn.json = json;
	tn.tty = isatty(STDOUT_FILENO) == 1;
	if (parse_args(&tn, argc, argv) == -1)
		return 2;
	atomic_init(&tn.stop, false);
	atomic_init(&tn.done, false);
	dbk_inflight_init(&tn.inflight);
	pthread_mutex_init(&tn.mu, NULL);
	if (pthread_create(&th, NULL, tune_main, &tn) != 0) {
		tune_main(&tn); /* no thread: Ctrl-C then just ends the process */
	} else {
		supervise(&tn);
		pthread_join(th, NULL);
	}
	if (tn.out != NULL) {
		json_dumpf(tn.out, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	status = tn.status;
	json_decref(tn.out);
	free(tn.shown);
	dbk_lasting_list_clear(&tn.open);
	dbk_tuning_free(tn.tu);
	pthread_mutex_destroy(&tn.mu);
	pthread_mutex_destroy(&tn.inflight.mu);
	return status;
}
