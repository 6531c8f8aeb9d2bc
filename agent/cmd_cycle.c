/* agent/cmd_cycle.c: `dbkeeper plan` and `dbkeeper once`. The cycle runs in
 * a worker thread while the main thread waits for signals, so an operator's
 * Ctrl-C cancels the statement in flight instead of waiting for it. */
#include "cmd_cycle.h"

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report.h"

/* Names come from the database; a hostile one must not drive the terminal.
 * JSON output stays byte-exact. */
static void put_escaped(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

void dbk_print_escaped(FILE *f, const char *s)
{
	put_escaped(f, s);
}

static void print_objects(FILE *f, const struct dbk_plan_action *a)
{
	/* objects[1] of these is the table objects[0] belongs to. */
	bool index = a->act.kind == DBK_A_REBUILD_INDEX ||
	             a->act.kind == DBK_A_DROP_INDEX ||
	             a->act.kind == DBK_A_DROP_TRIGGER;

	for (size_t i = 0; i < a->act.n_objects; i++) {
		const struct dbk_object *o = &a->act.objects[i];

		fputs(i == 0 ? " " : index ? " on table " : ", ", f);
		if (o->schema != NULL) {
			put_escaped(f, o->schema);
			fputc('.', f);
		}
		put_escaped(f, o->name);
	}
}

static void print_result(FILE *f, const struct dbk_action_result *r)
{
	char b1[32], b2[32];

	fprintf(f, "     => %s", dbk_outcome_name(r->outcome));
	if (r->outcome != DBK_OUT_DRY_RUN && r->outcome != DBK_OUT_CARRIED)
		fprintf(f, " in %lld ms", (long long)r->duration_ms);
	if (r->out.rows > 0)
		fprintf(f, ", %lld rows", (long long)r->out.rows);
	if (r->out.bytes_before > 0)
		fprintf(f, ", %s", dbk_fmt_bytes(r->out.bytes_before, b1, sizeof b1));
	if (r->out.bytes_after > 0)
		fprintf(f, " -> %s", dbk_fmt_bytes(r->out.bytes_after, b2, sizeof b2));
	if (r->out.note[0] != '\0') {
		fputs(" (", f);
		put_escaped(f, r->out.note);
		fputc(')', f);
	}
	if (r->error[0] != '\0') {
		fputs(": ", f);
		put_escaped(f, r->error);
	}
	fputc('\n', f);
}

static void print_action(FILE *f, unsigned i, const struct dbk_plan_action *a,
                         const struct dbk_action_result *r)
{
	char b[32];

	fprintf(f, "  %u. %s%s%s", i + 1, dbk_action_label(a->act.kind),
	        a->dry_run ? " [dry-run]" : "", a->carried ? " [carried over]" : "");
	print_objects(f, a);
	if (a->bytes > 0)
		fprintf(f, " (%s)", dbk_fmt_bytes(a->bytes, b, sizeof b));
	fputs("\n     why: ", f);
	put_escaped(f, a->reason);
	if (a->sql != NULL) {
		fputs("\n     sql: ", f);
		put_escaped(f, a->sql);
	} else {
		fputs("\n     not rendered: ", f);
		put_escaped(f, a->render_error);
	}
	fputc('\n', f);
	if (r != NULL)
		print_result(f, r);
}

static void print_tasks(FILE *f, const struct dbk_cycle *c)
{
	static const char *const states[] = { "off", "due", "not due",
	                                      "outside window", "not assessed" };

	for (unsigned p = 0; p < c->plan->n_policies; p++) {
		fprintf(f, "policy %s:", c->target->policies[p]->name);
		for (int t = 0; t < DBK_TASK_COUNT; t++)
			fprintf(f, " %s=%s", dbk_task_name(t), states[c->plan->task_state[p][t]]);
		fputc('\n', f);
	}
}

static void print_findings(FILE *f, const struct dbk_plan *p)
{
	if (p->n_findings == 0)
		return;
	fprintf(f, "findings (%u):\n", p->n_findings);
	for (unsigned i = 0; i < p->n_findings; i++) {
		const struct dbk_finding *fd = &p->findings[i];

		fprintf(f, "  - %-8s %s ", dbk_severity_name(fd->severity), fd->category);
		if (fd->object != NULL) {
			put_escaped(f, fd->object);
			fputs(": ", f);
		}
		put_escaped(f, fd->title);
		if (fd->evidence != NULL) {
			fputs("\n      evidence: ", f);
			put_escaped(f, fd->evidence);
		}
		if (fd->recommendation != NULL) {
			fputs("\n      remedy: ", f);
			put_escaped(f, fd->recommendation);
		}
		fputc('\n', f);
	}
}

void dbk_cycle_print_actions(FILE *f, const struct dbk_cycle *c)
{
	for (unsigned i = 0; c->plan != NULL && i < c->plan->n_actions; i++)
		print_action(f, i, &c->plan->actions[i],
		             c->results ? &c->results[i] : NULL);
}

void dbk_cycle_print(FILE *f, const struct dbk_cycle *c, enum dbk_run_mode mode)
{
	fprintf(f, "== target %s (%s", c->target->name, c->target->driver);
	if (c->have_info)
		fprintf(f, ", %s %s", c->info.flavour, c->info.version);
	fputs(")\n", f);
	if (c->tables || c->indexes || c->logfiles)
		fprintf(f, "observed: %zu tables, %zu indexes, %zu server log files\n",
		        c->tables ? c->tables->n : 0, c->indexes ? c->indexes->n : 0,
		        c->logfiles ? c->logfiles->n : 0);
	if (c->plan != NULL) {
		print_tasks(f, c);
		fprintf(f, "actions (%u):\n", c->plan->n_actions);
		dbk_cycle_print_actions(f, c);
		print_findings(f, c->plan);
	}
	fprintf(f, "status: %s", dbk_run_status_name(c->status));
	if (c->error[0] != '\0') {
		fputs(": ", f);
		put_escaped(f, c->error);
	}
	if (mode == DBK_MODE_ONCE)
		fprintf(f, " (done %u, dry-run %u, partial %u, skipped %u, failed %u, carried %u)",
		        c->n_done, c->n_dry, c->n_partial, c->n_skipped, c->n_failed,
		        c->n_carried);
	fputs("\n\n", f);
}

json_t *dbk_cycle_json(const struct dbk_cycle *c)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "target", c->target->name,
	                      "driver", c->target->driver,
	                      "status", dbk_run_status_name(c->status));
	json_t *acts = json_array(), *finds = json_array();

	if (c->have_info)
		json_object_set_new(j, "server", json_pack("{s:s, s:s}",
			"flavour", c->info.flavour, "version", c->info.version));
	if (c->error[0] != '\0')
		json_object_set_new(j, "error", json_string(c->error));
	for (unsigned i = 0; c->plan && i < c->plan->n_actions; i++)
		json_array_append_new(acts, dbk_report_action_json(&c->plan->actions[i],
			c->results ? &c->results[i] : NULL));
	for (unsigned i = 0; c->plan && i < c->plan->n_findings; i++)
		json_array_append_new(finds, dbk_report_finding_json(&c->plan->findings[i]));
	json_object_set_new(j, "actions", acts);
	json_object_set_new(j, "findings", finds);
	return j;
}

struct job {
	const struct dbk_config *cfg;
	const struct dbk_target **targets;
	unsigned n;
	struct dbk_run_opts opts;
	bool json;
	json_t *out;       /* JSON array when json */
	int status;        /* exit status */
	atomic_bool done;
	pthread_t waiter;  /* woken with SIGUSR1 when done */
};

static void *job_main(void *arg)
{
	struct job *jb = arg;

	for (unsigned i = 0; i < jb->n; i++) {
		struct dbk_cycle *c = dbk_cycle_run(jb->cfg, jb->targets[i], &jb->opts);

		if (c->status == DBK_RUN_FAILED || c->n_failed > 0)
			jb->status = 3;
		if (jb->json)
			json_array_append_new(jb->out, dbk_cycle_json(c));
		else
			dbk_cycle_print(stdout, c, jb->opts.mode);
		fflush(stdout);
		dbk_cycle_free(c);
		if (atomic_load(jb->opts.stop))
			break;
	}
	atomic_store(&jb->done, true);
	pthread_kill(jb->waiter, SIGUSR1); /* blocked, so sigtimedwait takes it */
	return NULL;
}

/* Waits for the worker, turning SIGINT/SIGTERM into a stop request and a
 * cancel of the statement in flight. */
static void supervise(struct job *jb, atomic_bool *stop,
                      struct dbk_inflight *inflight)
{
	sigset_t set;
	struct timespec tick = { 0, 200 * 1000 * 1000 };

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	while (!atomic_load(&jb->done)) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGINT || sig == SIGTERM) {
			dbk_log(LOG_NOTICE, NULL, "stopping: cancelling the statement in flight");
			atomic_store(stop, true);
			dbk_inflight_cancel(inflight);
		}
	}
}

/* The worker wakes the waiting main thread with SIGUSR1 when it is done;
 * blocked here (and so in the worker it creates), it is only ever taken by
 * sigtimedwait and never kills the process. */
static void block_wakeup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int pick_targets(const struct dbk_config *cfg, int argc, char **argv,
                        const struct dbk_target ***out, unsigned *n)
{
	const struct dbk_target **v = dbk_xcalloc(cfg->n_targets + (unsigned)argc + 1,
	                                          sizeof *v);

	*n = 0;
	for (int i = 0; i < argc; i++) {
		if ((v[*n] = dbk_config_target(cfg, argv[i])) == NULL) {
			fprintf(stderr, "dbkeeper: no target named '%s' in %s\n", argv[i],
			        cfg->file);
			free(v);
			return -1;
		}
		(*n)++;
	}
	for (unsigned i = 0; argc == 0 && i < cfg->n_targets; i++)
		v[(*n)++] = &cfg->targets[i];
	*out = v;
	return 0;
}

int dbk_cmd_cycle(const struct dbk_config *cfg, enum dbk_run_mode mode,
                  int argc, char **argv, bool json)
{
	struct dbk_inflight inflight;
	atomic_bool stop = false;
	struct job jb = { 0 };
	pthread_t th;

	if (pick_targets(cfg, argc, argv, &jb.targets, &jb.n) == -1)
		return 2;
	if (jb.n == 0)
		fprintf(stderr, "dbkeeper: no targets configured in %s\n", cfg->file);
	dbk_inflight_init(&inflight);
	jb.cfg = cfg;
	jb.opts = (struct dbk_run_opts){ mode, &stop, &inflight };
	jb.json = json;
	jb.out = json_array();
	atomic_init(&jb.done, false);
	jb.waiter = pthread_self();
	block_wakeup();
	if (pthread_create(&th, NULL, job_main, &jb) != 0) {
		job_main(&jb); /* no thread: run here, Ctrl-C then just kills us */
	} else {
		supervise(&jb, &stop, &inflight);
		pthread_join(th, NULL);
	}
	if (json) {
		json_dumpf(jb.out, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(jb.out);
	free(jb.targets);
	pthread_mutex_destroy(&inflight.mu);
	return jb.status;
}
