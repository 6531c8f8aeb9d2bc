/* agent/notify.h: the systemd service protocol (sd_notify). Every call is a
 * no-op when libsystemd was not found at build time or when the agent does
 * not run under systemd (no NOTIFY_SOCKET). */
#ifndef DBK_NOTIFY_H
#define DBK_NOTIFY_H

#include <stdint.h>

void dbk_notify(const char *state);            /* "READY=1", "STOPPING=1" */
void dbk_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dbk_notify_reloading(void);               /* RELOADING=1 + MONOTONIC_USEC */
void dbk_notify_watchdog(void);                /* WATCHDOG=1 when enabled */
/* Watchdog interval in ms, 0 when the watchdog is off. */
int64_t dbk_notify_watchdog_ms(void);

#endif
