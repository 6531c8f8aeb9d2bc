/* agent/report.h: turns what a cycle found and did into report-queue
 * records (findings, actions, the run record, metrics). Each policy names
 * its queue; records without a policy go to the first policy's queue. A
 * record that cannot be written is logged, never fatal to the cycle. */
#ifndef DBK_REPORT_H
#define DBK_REPORT_H

#include <jansson.h>

#include "config.h"
#include "planner.h"

struct dbk_cycle;
struct dbk_action_result;
struct dbk_report;

/* "drop tables", "rebuild index", ...: an action kind for people. */
const char *dbk_action_label(int kind);

/* NULL-safe everywhere: a NULL report (plan mode) records nothing. */
struct dbk_report *dbk_report_open(const struct dbk_config *cfg,
                                   const struct dbk_target *target);
void dbk_report_close(struct dbk_report *r);

void dbk_report_findings(struct dbk_report *r, const struct dbk_cycle *c);
/* Write-ahead: records that an action is about to run (outcome
 * "started"), so a crash mid-action still leaves it in the audit trail.
 * Returns the record id the final record refers to as "action_id"
 * (caller frees), or NULL when nothing could be written. */
char *dbk_report_action_start(struct dbk_report *r,
                              const struct dbk_plan_action *a);
/* The final record of an action; action_id from _start, may be NULL. */
void dbk_report_action(struct dbk_report *r, const struct dbk_cycle *c,
                       const struct dbk_plan_action *a,
                       const struct dbk_action_result *res,
                       const char *action_id);
void dbk_report_run(struct dbk_report *r, const struct dbk_cycle *c, int mode);
/* Takes ownership of values (a JSON array of metric objects) and of
 * facts (the derived values, a JSON array; may be NULL). */
void dbk_report_metrics(struct dbk_report *r, json_t *values,
                        const struct dbk_server_info *info, json_t *facts);

struct dbk_event;

/* A finding that lasts (agent/rules.h): written when it opens, changes
 * severity, is reminded of ("still_open") or resolves. Besides the
 * finding's fields the record has "status" ("open", "still_open",
 * "resolved"), "rule", "key", "first_seen"/"last_seen" (ISO 8601 UTC) and
 * "first_seen_ms"/"last_seen_ms", "count", and on a severity change
 * "previous_severity". f is the finding as seen now (NULL when resolved);
 * extra (stolen, may be NULL) adds fields such as "value". */
void dbk_report_lasting(struct dbk_report *r, const struct dbk_event *ev,
                        const struct dbk_finding *f, json_t *extra);
/* A finding of an on-demand run (`tune`): "status": "on_demand" and
 * "on_demand": true; it opens or resolves nothing. extra is stolen. */
void dbk_report_on_demand(struct dbk_report *r, const struct dbk_finding *f,
                          json_t *extra);

/* The JSON of one action/finding as reported, shared with `plan --json`. */
json_t *dbk_report_action_json(const struct dbk_plan_action *a,
                               const struct dbk_action_result *res);
json_t *dbk_report_finding_json(const struct dbk_finding *f);

#endif
