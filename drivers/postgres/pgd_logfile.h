/* drivers/postgres/pgd_logfile.h: which files in the server's log directory
 * are server logs: the log_filename strftime pattern turned into a regular
 * expression, and where the directory is on this host. */
#ifndef PGD_LOGFILE_H
#define PGD_LOGFILE_H

#include <regex.h>

#include "pgd_sql.h"

/* The server's logging facts, read in one query. */
struct pgd_logcfg {
	bool collector;     /* logging_collector */
	char *log_filename; /* the strftime pattern */
	char *dir;          /* absolute log directory; NULL when not readable */
	char *current[3];   /* base names pg_current_logfile() reports, or NULL */
	regex_t re;         /* matches log_filename and its .csv/.json twins */
	bool re_ok;
};

/* Reads the settings (needs pg_monitor or superuser: pg_current_logfile
 * and data_directory are restricted) and compiles the pattern. Runs in the
 * caller's transaction, if any. Free with pgd_logcfg_free. */
int pgd_logcfg_load(struct dbk_conn *c, struct pgd_logcfg *cfg,
                    struct dbk_err *err) PGD_MUSTCHECK;
void pgd_logcfg_free(struct pgd_logcfg *cfg); /* NULL-safe */

/* A plain file name (no '/', no control characters, not "." or "..")
 * matching the server's log_filename pattern. */
bool pgd_logcfg_matches(const struct pgd_logcfg *cfg, const char *name);
/* The file the server is writing to now: never removed. */
bool pgd_logcfg_in_use(const struct pgd_logcfg *cfg, const char *name);

/* The extended regular expression for a log_filename pattern, anchored;
 * exposed for tests. Caller frees. */
char *pgd_logname_regex(const char *log_filename);

#endif
