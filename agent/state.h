/* agent/state.h: what the agent remembers about a target between cycles:
 * when it first saw each table and its write counter then, when each task
 * last ran, which actions were carried over, the previous metrics snapshot.
 * One JSON file per target in the state directory, written atomically. */
#ifndef DBK_STATE_H
#define DBK_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "dbkeeper_driver.h"
#include "util.h"

struct dbk_state;

/* Loads dir/<target>.state.json; a missing file gives an empty state. A
 * file that does not parse is renamed aside (*.corrupt) with a warning in
 * err->msg and an empty state is returned: losing memory of first-seen times
 * only delays drops, it never causes one. NULL only on I/O errors. */
struct dbk_state *dbk_state_load(const char *dir, const char *target,
                                 struct dbk_err *err);
int dbk_state_save(const struct dbk_state *st, struct dbk_err *err)
	DBK_MUSTCHECK;
void dbk_state_free(struct dbk_state *st);
/* An empty in-memory state (tests, plan without a state directory). */
struct dbk_state *dbk_state_new_empty(void);

/* First time the agent saw schema.name (with this id when id != 0); 0 when
 * never seen. */
int64_t dbk_state_first_seen(const struct dbk_state *st, const char *schema,
                             const char *name, uint64_t id);
/* Write counter at the previous observation; false when unknown. */
bool dbk_state_prev_writes(const struct dbk_state *st, const char *schema,
                           const char *name, uint64_t id, int64_t *writes);
/* Records this observation: new tables get first_seen = now, known ones
 * keep theirs, write counters are updated, vanished tables are forgotten. */
void dbk_state_observe_tables(struct dbk_state *st,
                              const struct dbk_table_list *tables, int64_t now);

/* Last run of a task ("scratch", "logs", ...) under a policy; 0: never. */
int64_t dbk_state_last_run(const struct dbk_state *st, const char *policy,
                           const char *task);
void dbk_state_set_last_run(struct dbk_state *st, const char *policy,
                            const char *task, int64_t when);

/* Carried-over work: action keys that did not fit the last run's budget or
 * window; the planner puts them first next time. */
bool dbk_state_is_carried(const struct dbk_state *st, const char *key);
void dbk_state_set_carried(struct dbk_state *st, const char *const *keys,
                           unsigned n);

/* Previous metrics snapshot, for rates. Borrowed values. */
bool dbk_state_prev_metric(const struct dbk_state *st, const char *name,
                           const char *labels, double *value, int64_t *at);
void dbk_state_set_metrics(struct dbk_state *st,
                           const struct dbk_metric_list *m, int64_t at);

#endif
