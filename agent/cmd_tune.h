/* agent/cmd_tune.h: `dbkeeper tune TARGET [--apply] [--yes]`: an
 * immediate tuning run for an engineer at a terminal. Observes, evaluates
 * every rule, prints the findings grouped by severity (evidence and
 * remedy each) and then the housekeeping plan; with --apply it asks, then
 * carries out exactly that plan, with a progress bar on a terminal. */
#ifndef DBK_CMD_TUNE_H
#define DBK_CMD_TUNE_H

#include <stdbool.h>

#include "config.h"

/* argv[0] is "tune". Returns the exit status: 0, 2 (usage, unknown
 * target), 3 (the database could not be observed, or an action failed). */
int dbk_cmd_tune(const struct dbk_config *cfg, int argc, char **argv, bool json);

#endif
