/* drivers/postgres/pgd_trigger.h: the trigger a crashed pg_repack left on
 * an application table, and the guard that keeps its log table alive while
 * that trigger still writes into it. */
#ifndef PGD_TRIGGER_H
#define PGD_TRIGGER_H

#include "pgd_action.h"

/* objects[0]: the trigger {table's schema, name, pg_trigger OID},
 * objects[1]: its table {schema, name, OID}; both OIDs are needed. In one
 * transaction under the action's timeouts: re-check (that OID is still a
 * pg_repack trigger of that name on that table, pg_repack is not
 * running, else SKIPPED_CHANGED), lock the table against writes (SHARE
 * ROW EXCLUSIVE, what DROP TRIGGER takes anyway; not granted within
 * lock_timeout: SKIPPED_LOCKED), re-check under the lock, run
 * action->sql. status[0] is the trigger's; the table's stays PENDING. */
int pgd_drop_trigger(struct dbk_conn *c, const struct dbk_action *a,
                     struct dbk_outcome *out, struct dbk_err *err);

/* Of r's PENDING tables (current OIDs in oids), marks SKIPPED_CHANGED,
 * with a note, every repack.log_N while a pg_repack trigger (by name or
 * function) still exists on table N: dropping the log table first would
 * make every write to table N fail. -1 only when the query fails. */
int pgd_keep_fed_logs(struct dbk_conn *c, struct pgd_run *r,
                      const uint64_t *oids, struct dbk_err *err) PGD_MUSTCHECK;

#endif
