/* agent/cmd_check.h: `dbkeeper check-config`: the configuration, its policies
 * and each target's driver and connection options, validated by the same
 * code the daemon runs, summarised on stdout. */
#ifndef DBK_CMD_CHECK_H
#define DBK_CMD_CHECK_H

#include <stdbool.h>

#include "config.h"

/* Prints a summary of cfg (already loaded and driver-checked). */
void dbk_cmd_check_print(const struct dbk_config *cfg, bool json);

#endif
