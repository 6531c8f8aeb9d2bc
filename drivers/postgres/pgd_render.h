/* drivers/postgres/pgd_render.h: the exact statement each action runs. */
#ifndef PGD_RENDER_H
#define PGD_RENDER_H

#include "pgd_sql.h"

/* The render op: *sql is freed with free_string. Every identifier is quoted
 * by PQescapeIdentifier and schema-qualified; numbers are the only
 * literals. PURGE_ROWS asks the server the time column's type,
 * PURGE_SERVER_LOGS the log directory and pattern. */
int pgd_render(struct dbk_conn *c, const struct dbk_action *a, char **sql,
               struct dbk_err *err);
/* The same statement for a subset of a's objects (after a re-check shrank
 * the list). NULL with err filled on failure; caller frees. */
char *pgd_render_objects(struct dbk_conn *c, const struct dbk_action *a,
                         const struct dbk_object *objs, size_t n,
                         struct dbk_err *err);

#endif
