/* drivers/postgres/pgd_purge.h: removing old data: rows of a log table in
 * batches, and old server log files. */
#ifndef PGD_PURGE_H
#define PGD_PURGE_H

#include "pgd_sql.h"

/* Runs action->sql (one batch) again and again, each batch its own
 * transaction under the action's timeouts, pausing pause_ms between
 * batches and while replica lag exceeds max_replica_lag_ms. Stops when a
 * batch deletes fewer than batch_rows (DONE), at deadline_ms or cancel()
 * (DONE, stopped_early), after three lock timeouts in a row
 * (SKIPPED_LOCKED, stopped_early) or on another error (FAILED, note);
 * outcome rows holds what was deleted either way. A lost connection is -1.
 * Progress after each batch: "deleting", rows so far, total unknown (-1). */
int pgd_purge_rows(struct dbk_conn *c, const struct dbk_action *a,
                   struct dbk_outcome *out, struct dbk_err *err);
/* Unlinks the named files from the server's log directory, on this host:
 * only plain names matching log_filename, regular files (not symlinks),
 * not the file being written, last modified before cutoff. A directory
 * the agent cannot open or write is DBK_E_IO. bytes_before: bytes removed. */
int pgd_purge_server_logs(struct dbk_conn *c, const struct dbk_action *a,
                          struct dbk_outcome *out, struct dbk_err *err);

#endif
