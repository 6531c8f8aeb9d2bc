/* agent/cmd_cycle.h: the `plan` and `once` commands: run one cycle per
 * target in a worker thread (so SIGINT/SIGTERM can cancel the statement in
 * flight) and print what was planned and done, as text or JSON. */
#ifndef DBK_CMD_CYCLE_H
#define DBK_CMD_CYCLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "runner.h"

/* argv: target names (none: every target). Returns the exit status:
 * 0, 2 (unknown target), 3 (a cycle or an action failed). */
int dbk_cmd_cycle(const struct dbk_config *cfg, enum dbk_run_mode mode,
                  int argc, char **argv, bool json);

/* Prints one cycle as text (control characters escaped). */
void dbk_cycle_print(FILE *f, const struct dbk_cycle *c, enum dbk_run_mode mode);
/* Only the planned actions (with results when executed), numbered. */
void dbk_cycle_print_actions(FILE *f, const struct dbk_cycle *c);
/* s with control characters escaped (\x0a), for anything from a database. */
void dbk_print_escaped(FILE *f, const char *s);

/* The cycle as one JSON object (byte-exact names and statements). */
json_t *dbk_cycle_json(const struct dbk_cycle *c);

#endif
