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

/* ---- Index usage history (kept by the statistics collection) ----
 * Scan counters reset with a server restart or a statistics reset, so
 * "unused" is judged from what the agent saw over time, not from one
 * counter: when it first saw the index, and when its counter last rose. */
struct dbk_index_usage {
	int64_t first_seen;  /* unix seconds */
	int64_t last_used;   /* last observation the counter rose; 0: never seen used */
	int64_t scans;       /* counter at the last observation */
	int64_t resets;      /* counter went down this many times */
};
/* Usage of schema.table.name (same id when id != 0); false when unknown. */
bool dbk_state_index_usage(const struct dbk_state *st, const char *schema,
                           const char *table, const char *name, uint64_t id,
                           struct dbk_index_usage *out);
/* Folds one observation in: new indexes start now (already used when
 * their counter is above zero), a higher counter marks a use, a lower one
 * a reset (a use too when above zero). Indexes with an unknown counter
 * and vanished indexes are forgotten. NULL list: nothing changes. */
void dbk_state_observe_indexes(struct dbk_state *st,
                               const struct dbk_index_list *il, int64_t now);

/* ---- Index size baselines (kept by the runner after a rebuild) ----
 * The statistics-based bloat estimate misleads on deduplicated B-trees
 * and TOAST, so the index's bytes per table row right after its last
 * clean build is remembered as a second opinion. id 0 means "not known
 * yet": a concurrent rebuild gives the index a new id, which the next
 * dbk_state_bind_index_baselines() fills in. */
void dbk_state_set_index_baseline(struct dbk_state *st, const char *schema,
                                  const char *name, uint64_t id,
                                  double bytes_per_row, int64_t at);
/* The baseline of schema.name; false when none, or when it was taken for
 * another index of that name (both ids known and different). */
bool dbk_state_index_baseline(const struct dbk_state *st, const char *schema,
                              const char *name, uint64_t id,
                              double *bytes_per_row, int64_t *at);
/* Folds an observation in: baselines still without an id take the
 * observed index's; those whose index is gone (or re-created under another
 * id) are forgotten. NULL list: nothing changes. */
void dbk_state_bind_index_baselines(struct dbk_state *st,
                                    const struct dbk_index_list *il);

/* ---- Lasting findings ----
 * One entry per condition (rule or planner finding, and object) that is
 * holding now: pending until it has held its rule's `for`, then open. The
 * state only stores the entries; agent/rules.c decides what they mean. */
struct dbk_lasting {
	char *key;        /* "<policy>|<rule>|<object>", unique */
	char *rule;       /* rule name or planner finding kind */
	char *policy;     /* policy name, NULL: none */
	char *category;
	char *object;     /* NULL: the server or database */
	char *title;      /* as last reported */
	int severity;     /* enum dbk_severity, as last reported */
	bool open;        /* reported; false: pending its `for` */
	int64_t since;    /* unix seconds the condition was first seen holding */
	int64_t first_seen, last_seen, reported; /* of the open finding */
	int64_t count;    /* observations while open */
};
struct dbk_lasting_list {
	size_t n;
	struct dbk_lasting *v;
};
/* Copies the entries out of the state (out is overwritten; free with
 * dbk_lasting_list_clear). Malformed entries are skipped. */
void dbk_state_get_lasting(const struct dbk_state *st,
                           struct dbk_lasting_list *out);
/* Replaces the stored entries with l (copied). */
void dbk_state_set_lasting(struct dbk_state *st,
                           const struct dbk_lasting_list *l);
void dbk_lasting_list_clear(struct dbk_lasting_list *l); /* NULL-safe */

/* ---- Replicas (kept by the runner) ----
 * A replica that disconnects still needs the binary logs from where it
 * stopped, and the server forgets it at once; the agent remembers every
 * replica it has seen so its absence can hold purges back. */
struct dbk_replica_seen {
	const char *id;     /* borrowed from the state */
	const char *host;   /* NULL: not reported */
	int64_t port;
	int64_t first_seen, last_seen; /* unix seconds */
};
size_t dbk_state_n_replicas(const struct dbk_state *st);
/* Entry i (< dbk_state_n_replicas); strings valid until the state changes. */
bool dbk_state_replica(const struct dbk_state *st, size_t i,
                       struct dbk_replica_seen *out);
/* Folds in the replicas connected now (last_seen = now; new ones first
 * seen now) and forgets those not seen since before forget_before. NULL
 * list (not assessed): nothing changes. */
void dbk_state_observe_replicas(struct dbk_state *st,
                                const struct dbk_replica_list *rl, int64_t now,
                                int64_t forget_before);

#endif
