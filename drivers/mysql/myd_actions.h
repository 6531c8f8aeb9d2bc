/* drivers/mysql/myd_actions.h: the primitive maintenance actions. Each one
 * re-checks its objects just before acting, runs exactly action->sql (after
 * checking it is what render() gives for those objects now) under the
 * action's lock wait and statement time limits, and reports per object.
 *
 * Return convention (shared with the agent): 0 when every object ended
 * DONE or SKIPPED_* (or a batching action stopped early at its deadline or
 * on cancel); -1 with *err set when an object FAILED or the action could not
 * go on (connection lost, cancelled mid-statement). In both cases
 * out->status[] and out->note describe what was actually done. */
#ifndef MYD_ACTIONS_H
#define MYD_ACTIONS_H

#include "myd_conn.h"

int myd_drop_tables(struct dbk_conn *conn, const struct dbk_action *action,
                    struct dbk_outcome *out, struct dbk_err *err);
int myd_rebuild_index(struct dbk_conn *conn, const struct dbk_action *action,
                      struct dbk_outcome *out, struct dbk_err *err);
int myd_drop_index(struct dbk_conn *conn, const struct dbk_action *action,
                   struct dbk_outcome *out, struct dbk_err *err);
int myd_purge_rows(struct dbk_conn *conn, const struct dbk_action *action,
                   struct dbk_outcome *out, struct dbk_err *err);
int myd_purge_server_logs(struct dbk_conn *conn, const struct dbk_action *action,
                          struct dbk_outcome *out, struct dbk_err *err);
int myd_analyze(struct dbk_conn *conn, const struct dbk_action *action,
                struct dbk_outcome *out, struct dbk_err *err);
/* Rotates mysql.slow_log or mysql.general_log (objects[0], schema "mysql";
 * any other object is refused): the entries at or after action->cutoff
 * stay, older ones go; out->rows counts those removed. */
int myd_rotate_log_table(struct dbk_conn *conn, const struct dbk_action *action,
                         struct dbk_outcome *out, struct dbk_err *err);

#endif
