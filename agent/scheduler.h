/* agent/scheduler.h: the daemon (`dbkeeper run`). One maintenance worker
 * and one statistics worker per target, each on its own connection, so a
 * long action on one target holds up no other target and statistics go on
 * while it runs. The main thread only waits for signals: SIGHUP reloads,
 * SIGTERM/SIGINT stop at the next statement boundary. */
#ifndef DBK_SCHEDULER_H
#define DBK_SCHEDULER_H

#include "config.h"
#include "state.h"

/* Runs until SIGTERM or SIGINT (which must be blocked by the caller, along
 * with SIGHUP, before any thread starts). Takes ownership of cfg.
 * config_path is re-read on SIGHUP. Returns the exit status (0). */
int dbk_sched_run(const char *config_path, struct dbk_config *cfg);

/* When a target's next maintenance task is due, from its policies and the
 * last runs in its state: the earliest (last run + interval), moved into
 * the task's window. now when something is due already. */
int64_t dbk_sched_next_due(const struct dbk_target *t,
                           const struct dbk_state *st, int64_t now);

#endif
