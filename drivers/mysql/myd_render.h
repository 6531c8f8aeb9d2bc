/* drivers/mysql/myd_render.h: the exact SQL of each action, every name
 * backtick-quoted and schema-qualified, numbers as literals. Rendering may
 * read the catalog (which table an index belongs to, a log table's key,
 * the binary log list) but never changes anything. */
#ifndef MYD_RENDER_H
#define MYD_RENDER_H

#include "myd_conn.h"

int myd_render(struct dbk_conn *conn, const struct dbk_action *action, char **sql,
               struct dbk_err *err);
void myd_free_string(char *s);

/* "<verb> a, b" ("DROP TABLE", "ANALYZE TABLE") over the objects whose
 * keep[i] is true (keep NULL: all), each `schema`.`name`. Returns a string
 * the caller frees, or NULL with *err set. */
char *myd_render_tables(struct dbk_conn *conn, const char *verb,
                        const struct dbk_object *objs, size_t n, const bool *keep,
                        struct dbk_err *err);

/* The table an index action means: objects[1] when the planner passed the
 * index's table there, else the one table of the schema with an index of
 * that name. Returns 0 with *table (caller frees), 1 when no such index
 * exists (*err says so), -1 on error (ambiguous name, server error). */
int myd_index_table(struct dbk_conn *conn, const struct dbk_action *action,
                    char **table, struct dbk_err *err) MYD_MUSTCHECK;

/* How purge_rows walks a log table. */
enum myd_purge_form {
	MYD_PURGE_PK_RANGE = 1, /* single integer primary key: pk-range batches */
	MYD_PURGE_BY_TIME,      /* anything else: ORDER BY the time column */
};
struct myd_purge_shape {
	int form;
	char *key;        /* PK_RANGE: the primary key column */
	char *guard;      /* the AUTO_INCREMENT column whose top row is kept; or NULL */
	bool epoch_time;  /* the time column holds unix seconds (an integer) */
};
/* Reads the log table's columns. Returns 0, 1 when the table or the time
 * column is gone (*err says so), -1 on error. */
int myd_purge_shape(struct dbk_conn *conn, const struct dbk_action *action,
                    struct myd_purge_shape *shape, struct dbk_err *err) MYD_MUSTCHECK;
void myd_purge_shape_clear(struct myd_purge_shape *shape);

/* The binary log list as the server shows it, oldest first. */
struct myd_binlogs {
	char **name;
	int64_t *size;
	size_t n;
};
int myd_binlogs_read(struct dbk_conn *conn, struct myd_binlogs *b, struct dbk_err *err)
	MYD_MUSTCHECK;
void myd_binlogs_clear(struct myd_binlogs *b);
/* Position of name in b, or -1. */
long myd_binlogs_find(const struct myd_binlogs *b, const char *name);

/* The server's own log tables (schema mysql, written when log_output has
 * TABLE) and the column holding each entry's time. */
struct myd_log_table {
	const char *name;
	const char *time_column;
};
extern const struct myd_log_table myd_log_tables[];
extern const size_t myd_n_log_tables;

/* A log table rotation, one statement per element: render() joins them
 * with "; ", the action runs them in order. Log tables refuse DELETE, so
 * the entries to keep are copied into a fresh table that one RENAME swaps
 * in; the old table is dropped. */
#define MYD_ROTATE_MAX 7
struct myd_rotation {
	char *stmt[MYD_ROTATE_MAX];
	size_t n;
	size_t cleanup;   /* DROP TABLE IF EXISTS of both work tables: first, and
	                   * again after a failure */
	size_t copy;      /* INSERT ... SELECT of the entries that stay */
	size_t swap;      /* the RENAME */
	bool binlog_off;  /* stmt[0] stops binary logging for the session and
	                   * stmt[n - 1] restores it: each server rotates its own */
	char *old_table;  /* `mysql`.`<table>_dbk_old`, what the RENAME retired */
};
/* Builds the rotation of action->objects[0], which must be one of
 * myd_log_tables in schema mysql (anything else is refused). Reads
 * @@log_bin. Returns 0, or -1 with *err set. */
int myd_rotation_build(struct dbk_conn *conn, const struct dbk_action *action,
                       struct myd_rotation *r, struct dbk_err *err) MYD_MUSTCHECK;
void myd_rotation_clear(struct myd_rotation *r);

#endif
