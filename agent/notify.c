/* agent/notify.c: thin wrapper over sd_notify so the rest of the agent does
 * not care whether libsystemd exists. Holds no state of its own. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#ifdef DBK_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void dbk_notify(const char *state)
{
#ifdef DBK_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

void dbk_notify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n = snprintf(buf, sizeof buf, "STATUS=");

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	va_end(ap);
	dbk_notify(buf);
}

void dbk_notify_reloading(void)
{
	struct timespec ts;
	char buf[96];

	/* systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older ones
	 * ignore it, so sending it always is safe. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%lld",
	         (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
	dbk_notify(buf);
}

void dbk_notify_watchdog(void)
{
	if (dbk_notify_watchdog_ms() > 0)
		dbk_notify("WATCHDOG=1");
}

int64_t dbk_notify_watchdog_ms(void)
{
#ifdef DBK_HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return (int64_t)(usec / 1000);
#endif
	return 0;
}
