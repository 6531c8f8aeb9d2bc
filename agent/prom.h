/* agent/prom.h: the Prometheus text-format export of the latest
 * statistics, for node_exporter's textfile collector. Each target's
 * statistics worker writes its own part into the state directory, then
 * rebuilds the one file the operator named from every configured
 * target's part, atomically and under a lock file, so concurrent workers
 * (and a reload) never leave a half-written or mixed file. */
#ifndef DBK_PROM_H
#define DBK_PROM_H

#include <stdint.h>

#include "config.h"
#include "dbkeeper_driver.h"
#include "facts.h"
#include "state.h"

/* The part of one target: "name\ttype\thelp\tsample line" per line, every
 * name prefixed "dbkeeper_", every sample labelled target="...". Raw
 * metrics keep their kind (counters get "_total"), facts are gauges named
 * dbkeeper_tuning_<fact>, and dbkeeper_findings_open counts the open
 * findings of l by severity. Pure; caller frees. */
char *dbk_prom_part(const char *target, const struct dbk_metric_list *ml,
                    const struct dbk_facts *facts,
                    const struct dbk_lasting_list *open, int64_t now_ms);

/* Merges parts (NULL entries skipped) into the text format: one HELP and
 * TYPE line per name, then its samples. Pure; caller frees. */
char *dbk_prom_merge(const char *const *parts, unsigned n);

/* Writes t's part and rebuilds cfg->metrics_file (nothing when it is
 * NULL). Returns 0 or -1 with err set. */
int dbk_prom_export(const struct dbk_config *cfg, const struct dbk_target *t,
                    const char *part, struct dbk_err *err) DBK_MUSTCHECK;

/* "a\"b\\c\nd" as a label value: backslash, quote and newline escaped. */
char *dbk_prom_escape(const char *s);

#endif
