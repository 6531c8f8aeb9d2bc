/* agent/planner.h: the one place that decides. A pure function of (target,
 * policies, observations, state, now) that returns the ordered actions, each
 * with its reason, and the findings. No I/O, no clock, no driver calls: the
 * SQL of each action is filled in afterwards by the driver's render(). */
#ifndef DBK_PLANNER_H
#define DBK_PLANNER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dbkeeper_driver.h"
#include "state.h"

/* Tasks a policy schedules, in the order a cycle runs them. */
enum dbk_task {
	DBK_TASK_SCRATCH = 0,   /* drop scratch tables */
	DBK_TASK_LOGS,          /* purge log table rows (before rebuilds, which
	                         * then reclaim the purged space) */
	DBK_TASK_INDEXES,       /* drop invalid, rebuild bloated */
	DBK_TASK_SERVER_LOGS,   /* remove old server log files, rotate log tables */
	DBK_TASK_STATS,         /* ANALYZE stale tables */
	DBK_TASK_COUNT
};
const char *dbk_task_name(enum dbk_task t); /* "scratch", "indexes", ... */

/* What the runner observed; any list may be NULL when not assessed. The
 * ABI 1.1 lists are also NULL when the driver cannot observe them; the
 * *_failed flags tell "tried and failed" apart, which holds back what
 * depends on them. */
struct dbk_observation {
	const struct dbk_server_info *info;
	const struct dbk_table_list *tables;
	const struct dbk_index_list *indexes;
	const struct dbk_logfile_list *logfiles;
	const struct dbk_trigger_list *triggers;   /* other tools' triggers */
	const struct dbk_replica_list *replicas;   /* connected now */
	const struct dbk_logfile_list *log_tables; /* logs kept in tables */
	bool triggers_failed;  /* no tool leftover table may be dropped */
	bool replicas_failed;  /* no binary log may be purged */
};

enum dbk_severity { DBK_SEV_INFO = 0, DBK_SEV_WARNING, DBK_SEV_CRITICAL };
const char *dbk_severity_name(int sev);

/* One planned action. Owns its strings and objects. */
struct dbk_plan_action {
	struct dbk_action act;      /* what the driver gets; objects point into objs */
	struct dbk_object *objs;    /* owned copies */
	char *sql;                  /* filled by the runner via render(); owned */
	char *render_error;         /* why render() failed (sql NULL); owned */
	char *key;                  /* stable identity for carry-over */
	const struct dbk_policy *policy; /* borrowed from the config */
	enum dbk_task task;
	bool dry_run;
	bool carried;               /* left over from a previous run */
	int64_t bytes;              /* what it concerns, worst first */
	char *reason;               /* one line, why */
};

struct dbk_finding {
	const struct dbk_policy *policy; /* NULL: not from a policy */
	char *category;             /* "scratch", "indexes", ... */
	int severity;               /* enum dbk_severity */
	char *object;               /* "schema.name" or NULL */
	char *title;
	char *evidence;
	char *recommendation;
};

/* Why a task did not run this cycle. */
enum dbk_task_state {
	DBK_TS_OFF = 0,       /* disabled in every policy */
	DBK_TS_DUE,           /* planned */
	DBK_TS_NOT_DUE,       /* its interval has not passed */
	DBK_TS_OUTSIDE_WINDOW,
	DBK_TS_NOT_ASSESSED,  /* the observation it needs failed */
};

struct dbk_plan {
	unsigned n_actions;
	struct dbk_plan_action *actions;
	unsigned n_findings;
	struct dbk_finding *findings;
	/* per policy (same order as target->policies) and task */
	int (*task_state)[DBK_TASK_COUNT];
	unsigned n_policies;
	int64_t now;
	int64_t deadline;   /* unix seconds: run budget or window end, earliest */
};

/* Plans one cycle. force ignores intervals (not windows): `once` and `plan`
 * run every enabled task now. Returns a plan the caller frees, never NULL. */
struct dbk_plan *dbk_plan_make(const struct dbk_target *target,
                               const struct dbk_observation *obs,
                               const struct dbk_state *st, int64_t now,
                               bool force);
void dbk_plan_free(struct dbk_plan *plan);

/* Removes action i (freeing it) and keeps the order of the rest. The
 * runner uses it when two actions render to the same statement (MySQL
 * rebuilds a table, not one index). */
void dbk_plan_remove_action(struct dbk_plan *plan, unsigned i);

/* Does a table name match a scratch policy (patterns, schemas, decoys)?
 * Exposed for tests; the planner uses it for every candidate. */
bool dbk_plan_scratch_matches(const struct dbk_pol_scratch *p,
                              const char *schema, const char *name);
/* System schemas are never candidates, whatever the patterns say. */
bool dbk_plan_is_system_schema(const char *schema);

#endif
