/* agent/log.c: the log sink: syslog or stderr, level filtering before any
 * formatting, a "target=X driver=Y" prefix on every line about a target.
 * The sink settings are the only process-wide mutable state besides the
 * signal mask; they are set once at start (and on reload) from main. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"

static struct {
	bool to_syslog;
	int max_level;
} sink = { false, LOG_INFO };

void dbk_log_init(bool to_syslog, int facility, int max_level)
{
	sink.to_syslog = to_syslog;
	sink.max_level = max_level;
	if (to_syslog)
		openlog("dbkeeper", LOG_PID, facility);
}

void dbk_log_set_level(int max_level) { sink.max_level = max_level; }

bool dbk_log_enabled(int level) { return level <= sink.max_level; }

static const char *level_name(int level)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
	                                     "warning", "notice", "info", "debug" };

	return level >= 0 && level <= LOG_DEBUG ? names[level] : "?";
}

/* One line out; the message is already formatted. Newlines inside would
 * let a hostile table name forge log lines, so they become spaces. */
static void emit(int level, const struct dbk_target *t, char *msg)
{
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (sink.to_syslog) {
		if (t != NULL)
			syslog(level, "target=%s driver=%s %s", t->name, t->driver, msg);
		else
			syslog(level, "%s", msg);
		return;
	}
	if (t != NULL)
		fprintf(stderr, "dbkeeper: %s: target=%s driver=%s %s\n",
		        level_name(level), t->name, t->driver, msg);
	else
		fprintf(stderr, "dbkeeper: %s: %s\n", level_name(level), msg);
}

static void vlog(int level, const struct dbk_target *t, bool with_errno,
                 const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[1024];
	size_t used = 0;

	if (!dbk_log_enabled(level))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (with_errno) {
		used = strlen(msg);
		snprintf(msg + used, sizeof msg - used, ": %s", strerror(saved));
	}
	emit(level, t, msg);
	errno = saved;
}

void dbk_log(int level, const struct dbk_target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, t, false, fmt, ap);
	va_end(ap);
}

void dbk_log_errno(int level, const struct dbk_target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, t, true, fmt, ap);
	va_end(ap);
}

void dbk_log_host_cb(void *ctx, int level, const char *msg)
{
	dbk_log(level, (const struct dbk_target *)ctx, "%s", msg);
}

int dbk_log_facility(const char *name)
{
	static const struct { const char *name; int fac; } facs[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < DBK_NELEM(facs); i++)
		if (strcasecmp(name, facs[i].name) == 0)
			return facs[i].fac;
	return -1;
}
