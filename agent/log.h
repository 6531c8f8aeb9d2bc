/* agent/log.h: the log sink. syslog under systemd (or when asked), stderr at
 * a terminal. Every line about a target is prefixed "target=X driver=Y". The
 * sink is the one piece of process-wide state besides the signal mask. */
#ifndef DBK_LOG_H
#define DBK_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

struct dbk_target;

/* to_syslog false: stderr. max_level: LOG_INFO normally, LOG_DEBUG with -v. */
void dbk_log_init(bool to_syslog, int facility, int max_level);
void dbk_log_set_level(int max_level);
bool dbk_log_enabled(int level);

/* target may be NULL for agent-wide messages. errno is preserved. */
void dbk_log(int level, const struct dbk_target *target, const char *fmt, ...)
	DBK_PRINTF(3, 4);
/* Appends ": strerror(errno)". */
void dbk_log_errno(int level, const struct dbk_target *target,
                   const char *fmt, ...) DBK_PRINTF(3, 4);

/* Adapter for struct dbk_host: ctx is a const struct dbk_target *. */
void dbk_log_host_cb(void *ctx, int level, const char *msg);

/* Parses "daemon", "local0".."local7", "user" into a syslog facility; -1 if
 * unknown. */
int dbk_log_facility(const char *name);

#endif
