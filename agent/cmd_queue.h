/* agent/cmd_queue.h: the `dbkeeper queue` subcommand (list, show, ack,
 * prune), a thin command line over agent/queue.h. */
#ifndef DBK_CMD_QUEUE_H
#define DBK_CMD_QUEUE_H

#include <stdbool.h>

#include "config.h"

/* Runs `queue <argv[0]> ...`: argv[0] is the subcommand, the rest its
 * arguments (parsed with getopt_long, so argv may be permuted). Uses
 * cfg->queue_dir and cfg->retention_s; json asks for JSON instead of a
 * table (--json after the subcommand does the same). Output goes to stdout,
 * errors and scan warnings to stderr prefixed "dbkeeper: ". Returns the
 * process exit code: 0 ok, 2 usage error, 3 runtime error. */
int dbk_cmd_queue(const struct dbk_config *cfg, int argc, char **argv,
                  bool json);

#endif
