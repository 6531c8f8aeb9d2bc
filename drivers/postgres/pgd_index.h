/* drivers/postgres/pgd_index.h: index actions. */
#ifndef PGD_INDEX_H
#define PGD_INDEX_H

#include "pgd_sql.h"

/* Pre-flight (the index is still the one observed; no index build is
 * running on its table; for an online rebuild, no transaction older than
 * the statement timeout, which would stall it: SKIPPED_LOCKED; free space
 * for a second copy where the data directory is visible; a pgstatindex
 * reading for the note when pgstattuple is installed and the index is
 * small), then action->sql under the action's timeouts. bytes_before and
 * bytes_after are the index's sizes. If an online rebuild fails or is
 * cancelled, the invalid _ccnew/_ccold copies it left are dropped
 * concurrently, so nothing invalid stays behind. A lock timeout is
 * SKIPPED_LOCKED (return 0). Progress: each phase read from
 * pg_stat_progress_create_index with its tuples or blocks done/total. */
int pgd_rebuild_index(struct dbk_conn *c, const struct dbk_action *a,
                      struct dbk_outcome *out, struct dbk_err *err);
/* Drops an index only if it is still the one observed and is invalid or
 * a leftover (_ccnew/_ccold, pg_repack's index_<oid>); a valid index is
 * SKIPPED_CHANGED. Progress: "dropping", 0 then 1 of 1 when dropped. */
int pgd_drop_index(struct dbk_conn *c, const struct dbk_action *a,
                   struct dbk_outcome *out, struct dbk_err *err);

#endif
