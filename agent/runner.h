/* agent/runner.h: one cycle on one target: connect, take the one-agent
 * lock, observe, plan, render each action's SQL through the driver, and
 * (unless planning only) execute exactly those statements and report them
 * to the queue. Also the statistics collection, on its own connection. */
#ifndef DBK_RUNNER_H
#define DBK_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dbkeeper_driver.h"
#include "planner.h"

enum dbk_run_mode {
	DBK_MODE_PLAN,   /* observe and plan; change nothing, not even state */
	DBK_MODE_ONCE,   /* every enabled task now (intervals ignored) */
	DBK_MODE_DAEMON, /* only the tasks that are due */
};

enum dbk_run_status {
	DBK_RUN_FINISHED = 0,
	DBK_RUN_STOPPED_BUDGET, /* run time or window ran out; rest carried over */
	DBK_RUN_STOPPED,        /* asked to stop (signal); rest carried over */
	DBK_RUN_BUSY,           /* another agent holds the database lock */
	DBK_RUN_FAILED,         /* could not connect or observe, or lost the
	                         * connection mid-run */
};
const char *dbk_run_status_name(int status);

enum dbk_outcome_kind {
	DBK_OUT_NONE = 0,
	DBK_OUT_DONE,
	DBK_OUT_DRY_RUN,
	DBK_OUT_PARTIAL,  /* some objects skipped, or stopped early */
	DBK_OUT_SKIPPED,  /* every object skipped (locked, changed) */
	DBK_OUT_FAILED,
	DBK_OUT_CARRIED,  /* not started: budget, window or stop */
};
const char *dbk_outcome_name(int outcome);

struct dbk_action_result {
	int outcome;               /* enum dbk_outcome_kind */
	struct dbk_outcome out;    /* out.status owned here */
	int64_t duration_ms;
	char error[600];
};

/* The connection of the cycle in flight, so another thread can cancel the
 * statement running on it (SIGTERM, SIGINT). */
struct dbk_inflight {
	pthread_mutex_t mu;
	const struct dbk_driver *drv;
	struct dbk_conn *conn;
};
void dbk_inflight_init(struct dbk_inflight *f);
void dbk_inflight_cancel(struct dbk_inflight *f);

struct dbk_run_opts {
	enum dbk_run_mode mode;
	const atomic_bool *stop;      /* checked between statements; may be NULL */
	struct dbk_inflight *inflight; /* may be NULL */
};

struct dbk_cycle;

/* For `tune` (dbk_cycle_run_hooked). confirm (may be NULL) runs once the
 * plan is rendered, before anything is reported or executed; false
 * executes nothing and the cycle ends as a plan would (no records, no
 * state). progress (may be NULL) runs before (done false) and after (done
 * true) action i, detail during it. on_demand: the caller reports the
 * findings, and the run
 * record says "tune". */
struct dbk_cycle_hooks {
	bool (*confirm)(void *ctx, const struct dbk_cycle *c);
	void (*progress)(void *ctx, const struct dbk_cycle *c, unsigned i,
	                 bool done);
	/* Within the running action (index build phases, purge batches),
	 * from drivers that report it (set_progress); may be NULL. */
	dbk_progress_fn detail;
	void *ctx;
	bool on_demand;
};

/* Everything one cycle saw and did, for printing and tests. */
struct dbk_cycle {
	const struct dbk_target *target;
	const struct dbk_driver *drv;
	int status;                   /* enum dbk_run_status */
	char error[600];              /* when FAILED */
	bool have_info;
	struct dbk_server_info info;
	struct dbk_table_list *tables;     /* driver-owned, NULL: not assessed */
	struct dbk_index_list *indexes;
	struct dbk_logfile_list *logfiles;
	struct dbk_trigger_list *triggers; /* ABI 1.1: NULL also when the */
	struct dbk_replica_list *replicas; /* driver cannot observe them */
	struct dbk_logfile_list *log_tables;
	bool triggers_failed, replicas_failed;
	struct dbk_plan *plan;             /* NULL when not reached */
	struct dbk_action_result *results; /* plan->n_actions, NULL in plan mode */
	int64_t started_ms;
	int64_t duration_ms;
	unsigned n_done, n_dry, n_partial, n_skipped, n_failed, n_carried;
	const struct dbk_cycle_hooks *hooks; /* NULL: none */
	bool declined;                     /* confirm said no: nothing ran */
};

/* Runs one cycle. Returns a cycle the caller frees with dbk_cycle_free
 * (never NULL); problems are in cycle->status and cycle->error, and are
 * logged and reported as a run record (except in plan mode). */
struct dbk_cycle *dbk_cycle_run(const struct dbk_config *cfg,
                                const struct dbk_target *target,
                                const struct dbk_run_opts *opts);
void dbk_cycle_free(struct dbk_cycle *c);
/* The same with hooks (may be NULL); borrowed for the call. */
struct dbk_cycle *dbk_cycle_run_hooked(const struct dbk_config *cfg,
                                       const struct dbk_target *target,
                                       const struct dbk_run_opts *opts,
                                       const struct dbk_cycle_hooks *hooks);

/* Collects statistics once on a connection of its own and writes a metrics
 * record with rates against the previous snapshot. */
int dbk_metrics_run(const struct dbk_config *cfg, const struct dbk_target *target,
                    struct dbk_err *err) DBK_MUSTCHECK;

/* Opens a connection for target (driver load, password file, options). */
int dbk_runner_connect(const struct dbk_config *cfg,
                       const struct dbk_target *target,
                       const struct dbk_driver **drv, struct dbk_conn **conn,
                       struct dbk_err *err) DBK_MUSTCHECK;

#endif
