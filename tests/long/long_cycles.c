/* tests/long/long_cycles.c: thousands of cycles in one process, with the
 * resident set sampled from /proc/self/statm; fails when it grows by more
 * than a bound after the warm-up (memory, not time). Leaks are for
 * LeakSanitizer or valgrind to report at exit. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "queue.h"
#include "runner.h"

/*   long_cycles [-w WARMUP] [-g MAX_GROWTH_KB] [-p PRUNE_EVERY] [-s EVERY]
 *               CONFIG CYCLES
 *
 * A cycle here is one round: every target's cycle (dbk_cycle_run, as `once`
 * does) and statistics collection (dbk_metrics_run). Prints RSS at the
 * start, after WARMUP rounds, at the end and the peak; -s prints it every
 * EVERY rounds. Every PRUNE_EVERY rounds (default 50) the report queues are
 * emptied with dbk_queue_prune, so a long run does not fill the disk. */
struct opts {
	const char *config;
	long cycles;
	long warmup;        /* -1: a tenth of the cycles, at least 1 */
	long max_growth_kb;
	long prune_every;
	long sample_every;  /* 0: no course printed */
};

struct tally {
	long cycles, finished, failed_cycles, metrics_failed, actions, pruned;
};

/* Resident set in kB: /proc/self/statm's second field is in pages. */
static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The kernel's peak resident set (VmHWM) in kB; -1 when unknown. */
static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int usage(void)
{
	fprintf(stderr, "usage: long_cycles [-w WARMUP] [-g MAX_GROWTH_KB] "
	                "[-p PRUNE_EVERY] [-s EVERY] CONFIG CYCLES\n");
	return 2;
}

static bool parse_long(const char *s, long min, long *out)
{
	char *end = NULL;
	long v = 0;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c = 0;

	*o = (struct opts){ .warmup = -1, .max_growth_kb = 8192, .prune_every = 50 };
	while ((c = getopt(argc, argv, "w:g:p:s:")) != -1) {
		bool ok = false;

		switch (c) {
		case 'w': ok = parse_long(optarg, 0, &o->warmup); break;
		case 'g': ok = parse_long(optarg, 0, &o->max_growth_kb); break;
		case 'p': ok = parse_long(optarg, 1, &o->prune_every); break;
		case 's': ok = parse_long(optarg, 1, &o->sample_every); break;
		default: break;
		}
		if (!ok)
			return usage();
	}
	if (argc - optind != 2 || !parse_long(argv[optind + 1], 1, &o->cycles))
		return usage();
	o->config = argv[optind];
	if (o->warmup < 0)
		o->warmup = o->cycles / 10 > 0 ? o->cycles / 10 : 1;
	if (o->warmup >= o->cycles)
		o->warmup = o->cycles - 1;
	return 0;
}

/* Empties every policy's queue (records older than now), as `queue prune
 * --retention 0` would. */
static void prune_queues(const struct dbk_config *cfg, struct tally *t)
{
	for (unsigned i = 0; i < cfg->n_policies; i++) {
		struct dbk_err err = { 0 };
		struct dbk_queue *q = dbk_queue_open(cfg->queue_dir,
		                                     cfg->policies[i].queue, &err);
		unsigned removed = 0;

		if (q == NULL || dbk_queue_prune(q, dbk_now_ms() + 1, 0, &removed,
		                                 &err) == -1)
			fprintf(stderr, "long_cycles: prune: %s\n", err.msg);
		t->pruned += removed;
		dbk_queue_close(q);
	}
}

/* One round: every target's cycle and statistics collection. */
static void one_round(const struct dbk_config *cfg, struct tally *t)
{
	const struct dbk_run_opts ro = { .mode = DBK_MODE_ONCE };

	for (unsigned i = 0; i < cfg->n_targets; i++) {
		const struct dbk_target *tg = &cfg->targets[i];
		struct dbk_cycle *c = dbk_cycle_run(cfg, tg, &ro);
		struct dbk_err err = { 0 };

		if (c->status == DBK_RUN_FINISHED)
			t->finished++;
		else
			t->failed_cycles++;
		if (c->status == DBK_RUN_FAILED && t->failed_cycles <= 3)
			fprintf(stderr, "long_cycles: target %s: %s\n", tg->name, c->error);
		if (c->plan != NULL)
			t->actions += c->plan->n_actions;
		dbk_cycle_free(c);
		if (dbk_metrics_run(cfg, tg, &err) == -1) {
			if (++t->metrics_failed <= 3)
				fprintf(stderr, "long_cycles: target %s: metrics: %s\n",
				        tg->name, err.msg);
		}
	}
	t->cycles++;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct tally t = { 0 };
	struct dbk_config *cfg = NULL;
	struct dbk_err err = { 0 };
	long start = 0, warm = 0, end = 0;
	int rc = 0;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	/* Warnings only: thousands of cycles of info lines say nothing. */
	dbk_log_init(false, LOG_DAEMON, LOG_WARNING);
	if ((cfg = dbk_config_load(o.config, &err)) == NULL) {
		fprintf(stderr, "long_cycles: %s\n", err.msg);
		return 2;
	}
	start = rss_kb();
	for (long i = 1; i <= o.cycles; i++) {
		long now = 0;

		one_round(cfg, &t);
		if (i % o.prune_every == 0)
			prune_queues(cfg, &t);
		now = rss_kb();
		if (i == o.warmup)
			warm = now;
		if (o.sample_every > 0 && i % o.sample_every == 0)
			printf("cycle %ld: rss_kb %ld\n", i, now);
		if (t.failed_cycles + t.metrics_failed >= 10)
			break; /* broken setup: the rest would only repeat it */
	}
	prune_queues(cfg, &t);
	end = rss_kb();
	printf("cycles %ld, targets %u: %ld cycles finished, %ld not, %ld metrics "
	       "collections failed, %ld actions planned, %ld records pruned\n",
	       t.cycles, cfg->n_targets, t.finished, t.failed_cycles,
	       t.metrics_failed, t.actions, t.pruned);
	printf("rss_kb start %ld, after %ld warm-up cycles %ld, end %ld, peak %ld; "
	       "growth after warm-up %ld kB (bound %ld kB)\n", start, o.warmup,
	       warm, end, peak_rss_kb(), end - warm, o.max_growth_kb);
	if (t.failed_cycles > 0 || t.metrics_failed > 0) {
		fprintf(stderr, "long_cycles: FAILED: cycles or collections failed\n");
		rc = 1;
	}
	if (end - warm > o.max_growth_kb) {
		fprintf(stderr, "long_cycles: FAILED: RSS grew %ld kB after warm-up\n",
		        end - warm);
		rc = 1;
	}
	dbk_config_free(cfg);
	return rc;
}
