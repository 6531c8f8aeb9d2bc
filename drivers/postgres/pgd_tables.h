/* drivers/postgres/pgd_tables.h: actions on whole tables. */
#ifndef PGD_TABLES_H
#define PGD_TABLES_H

#include "pgd_sql.h"

/* In one transaction: re-check each table (OID, schema, name), take its
 * ACCESS EXCLUSIVE lock with NOWAIT (and those of the tables its drop must
 * also lock: FK-referenced tables, a partition's parent), so the agent
 * never queues in front of an application; verify again under the locks,
 * then drop the locked ones in one statement: action->sql when all were
 * kept, else the same statement re-rendered for the rest (noted). If that
 * statement fails (a dependent view), each table is tried on its own.
 * A pg_repack log table whose trigger still exists is refused (before and
 * under the locks: SKIPPED_CHANGED, noted), whatever the planner thought.
 * Statuses: DONE, SKIPPED_LOCKED, SKIPPED_CHANGED, FAILED; bytes_before is
 * what the dropped tables held. Progress: "dropping", tables done/total. */
int pgd_drop_tables(struct dbk_conn *c, const struct dbk_action *a,
                    struct dbk_outcome *out, struct dbk_err *err);
/* ANALYZE the tables that still exist as observed, in one statement under
 * the action's timeouts; on a lock timeout or error, table by table. */
int pgd_analyze(struct dbk_conn *c, const struct dbk_action *a,
                struct dbk_outcome *out, struct dbk_err *err);

#endif
