/* drivers/postgres/pgd_conn.h: session ops of the PostgreSQL driver (open,
 * close, the one-agent-per-database lock, server facts, cancel, quoting).
 * Contracts are those of struct dbk_driver in dbkeeper_driver.h. */
#ifndef PGD_CONN_H
#define PGD_CONN_H

#include "pgd_sql.h"

/* Key of the session advisory lock: FNV-1a 64 of "dbkeeper" as a signed
 * bigint. Advisory locks are per database, so it means "one agent per
 * database". Fixed forever: agents of different versions must agree. */
#define PGD_LOCK_KEY "5051513318340616597"

extern const struct dbk_opt_def pgd_options[];

/* Connects with PQconnectdbParams (expand_dbname: the conninfo option is a
 * libpq keyword/value string or URI), then sets the session guards.
 * Servers older than 13 give DBK_E_UNSUPPORTED. Messages never hold the
 * password or the conninfo. *out is freed with pgd_close. */
int pgd_open(const struct dbk_open_args *args, const struct dbk_host *host,
             struct dbk_conn **out, struct dbk_err *err);
void pgd_close(struct dbk_conn *c);
int pgd_lock(struct dbk_conn *c, bool *got, struct dbk_err *err);
int pgd_unlock(struct dbk_conn *c, struct dbk_err *err);
int pgd_server_info(struct dbk_conn *c, struct dbk_server_info *out,
                    struct dbk_err *err);
/* Thread-safe; sticky: after it, every further action on c returns
 * DBK_E_CANCELLED at once (the agent opens a new connection to go on). */
void pgd_cancel(struct dbk_conn *c);
int pgd_quote_ident(struct dbk_conn *c, const char *ident, char *buf,
                    size_t len, struct dbk_err *err);
void pgd_free_string(char *s);
/* Stores fn and ctx in c (fn NULL: none); later actions on c report
 * through them from the thread running the action. */
void pgd_set_progress(struct dbk_conn *c, dbk_progress_fn fn, void *ctx);

#endif
