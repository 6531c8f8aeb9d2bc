/* agent/cmd_summary.h: the `dbkeeper summary` command: parses the period,
 * target, format and output options, builds the summary from the report
 * queue (agent/summary.h) and writes it to stdout or atomically to a file. */
#ifndef DBK_CMD_SUMMARY_H
#define DBK_CMD_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Runs `summary [options]`; argv[0] is "summary" (argv may be permuted by
 * getopt_long). Reads cfg->queue_dir; the configured targets are expected
 * to report. json (the global --json) means --format json. Output goes to
 * stdout or to -o FILE, written atomically (FILE.tmp + rename); errors and
 * queue warnings go to stderr prefixed "dbkeeper: ". Returns the process
 * exit code: 0 ok, 2 usage error, 3 runtime error. */
int dbk_cmd_summary(const struct dbk_config *cfg, int argc, char **argv,
                    bool json);

/* The same with the clock as an argument (unix ms), for tests. */
int dbk_cmd_summary_at(const struct dbk_config *cfg, int argc, char **argv,
                       bool json, int64_t now_ms);

#endif
