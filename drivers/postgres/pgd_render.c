/* drivers/postgres/pgd_render.c: turns an action into the exact text that
 * will run, so `plan` prints what `once` executes. Identifiers go through
 * PQescapeIdentifier; the only literals are numbers the driver formats
 * itself. It runs nothing but the catalog look-ups a statement needs. */
#include "pgd_render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgd_logfile.h"

static int pgd_need(struct dbk_conn *c, bool ok, const char *what,
                    struct dbk_err *err)
{
	if (!ok)
		return pgd_err_set(err, DBK_E_CONFIG, "%s: render: %s", c->target, what);
	return 0;
}

/* "s"."a", "s"."b" */
static char *pgd_name_list(struct dbk_conn *c, const struct dbk_object *objs,
                           size_t n, struct dbk_err *err)
{
	struct pgd_buf b = { 0 };
	char *q = NULL;

	for (size_t i = 0; i < n; i++) {
		if ((q = pgd_qualify(c, objs[i].schema, objs[i].name, err)) == NULL) {
			pgd_buf_free(&b);
			return NULL;
		}
		pgd_buf_add(&b, "%s%s", i ? ", " : "", q);
		free(q);
	}
	return pgd_buf_take(&b);
}

static char *pgd_prefixed(struct dbk_conn *c, const char *prefix,
                          const struct dbk_object *objs, size_t n,
                          struct dbk_err *err)
{
	char *names = pgd_name_list(c, objs, n, err), *sql = NULL;

	if (names != NULL)
		sql = pgd_xasprintf("%s%s", prefix, names);
	free(names);
	return sql;
}

/* 't': date/timestamp[tz] (compared with to_timestamp), 'n': a number of
 * epoch seconds, 'x': neither. Domains count as their base type. */
static int pgd_column_kind(struct dbk_conn *c, const struct dbk_object *o,
                           const char *col, char *kind, struct dbk_err *err)
{
	PGresult *res = NULL;
	const char *params[3] = { o->schema, o->name, col };

	if (pgd_exec(c,
	    "SELECT CASE WHEN coalesce(NULLIF(t.typbasetype, 0), t.oid) IN"
	    "  ('pg_catalog.date'::pg_catalog.regtype, 'pg_catalog.timestamp'::pg_catalog.regtype,"
	    "   'pg_catalog.timestamptz'::pg_catalog.regtype) THEN 't'"
	    "  WHEN t.typcategory = 'N' THEN 'n' ELSE 'x' END,"
	    " pg_catalog.format_type(a.atttypid, a.atttypmod)"
	    " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	    " WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c"
	    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    "  WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p'))"
	    " AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped",
	    3, params, &res, "render purge_rows", err) == -1)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pgd_err_set(err, DBK_E_QUERY, "%s: render: table %s.%s has no column %s",
		    c->target, o->schema, o->name, col);
	}
	*kind = PQgetvalue(res, 0, 0)[0];
	if (*kind == 'x')
		pgd_err_set(err, DBK_E_UNSUPPORTED, "%s: render: column %s of %s.%s is %s,"
		    " not a date, timestamp or number of epoch seconds",
		    c->target, col, o->schema, o->name, PQgetvalue(res, 0, 1));
	PQclear(res);
	return *kind == 'x' ? -1 : 0;
}

/* One batch; the executor repeats this exact text. ctid batches need no
 * primary key and the inner LIMIT bounds every statement. The outer
 * repeat of the cutoff keeps it exact where a ctid is not unique (the
 * partitions of a partitioned table): only old rows can ever match. */
static char *pgd_render_purge(struct dbk_conn *c, const struct dbk_action *a,
                              const struct dbk_object *o, struct dbk_err *err)
{
	char *t = NULL, *col = NULL, *sql = NULL, kind = 0;
	char cutoff[64];

	if (pgd_need(c, a->time_column && a->time_column[0], "purge_rows needs time_column", err) ||
	    pgd_need(c, a->batch_rows > 0, "purge_rows needs batch_rows > 0", err) ||
	    pgd_need(c, a->cutoff > 0, "purge_rows needs a cutoff", err))
		return NULL;
	if (pgd_column_kind(c, o, a->time_column, &kind, err) == -1)
		goto out;
	if ((t = pgd_qualify(c, o->schema, o->name, err)) == NULL ||
	    (col = pgd_quote(c, a->time_column, err)) == NULL)
		goto out;
	if (kind == 't')
		snprintf(cutoff, sizeof cutoff, "pg_catalog.to_timestamp(%" PRId64 ")", a->cutoff);
	else
		snprintf(cutoff, sizeof cutoff, "%" PRId64, a->cutoff);
	sql = pgd_xasprintf("DELETE FROM %s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s"
	    " WHERE %s < %s LIMIT %" PRId64 ")) AND %s < %s", t, t, col, cutoff, a->batch_rows,
	    col, cutoff);
out:
	free(col);
	free(t);
	return sql;
}

/* File removal is no SQL: the text says what will be unlinked, one file a
 * line, and the executor re-renders it and refuses to act if it changed. */
static char *pgd_render_logs(struct dbk_conn *c, const struct dbk_action *a,
                             const struct dbk_object *objs, size_t n,
                             struct dbk_err *err)
{
	struct pgd_logcfg cfg;
	struct pgd_buf b = { 0 };
	char when[32];
	struct tm tm;
	time_t t = (time_t)a->cutoff;
	char *sql = NULL;

	if (pgd_need(c, a->cutoff > 0, "purge_server_logs needs a cutoff", err) ||
	    pgd_logcfg_load(c, &cfg, err) == -1)
		return NULL;
	for (const char *p = cfg.dir; *p; p++)
		if ((unsigned char)*p < 0x20) {
			pgd_err_set(err, DBK_E_UNSUPPORTED, "%s: log directory name has control characters",
			    c->target);
			goto out;
		}
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	pgd_buf_add(&b, "-- remove server log files older than %s from %s", when, cfg.dir);
	for (size_t i = 0; i < n; i++) {
		if (!pgd_logcfg_matches(&cfg, objs[i].name)) {
			pgd_err_set(err, DBK_E_CONFIG, "%s: render: '%s' is not a server log file name"
			    " (log_filename '%s')", c->target, objs[i].name ? objs[i].name : "",
			    cfg.log_filename);
			goto out;
		}
		pgd_buf_add(&b, "\n-- unlink %s/%s", cfg.dir, objs[i].name);
	}
	sql = pgd_buf_take(&b);
out:
	pgd_buf_free(&b);
	pgd_logcfg_free(&cfg);
	return sql;
}

/* DROP TRIGGER "t" ON "s"."table": objects[0] is the trigger (schema:
 * its table's), objects[1] the table, as the ABI gives them. */
static char *pgd_render_trigger(struct dbk_conn *c, const struct dbk_object *objs,
                                struct dbk_err *err)
{
	char *trg = NULL, *tbl = NULL, *sql = NULL;

	if (pgd_need(c, strcmp(objs[0].schema, objs[1].schema) == 0,
	    "drop_trigger: the trigger's schema is not its table's", err))
		return NULL;
	if ((trg = pgd_quote(c, objs[0].name, err)) != NULL &&
	    (tbl = pgd_qualify(c, objs[1].schema, objs[1].name, err)) != NULL)
		sql = pgd_xasprintf("DROP TRIGGER %s ON %s", trg, tbl);
	free(tbl);
	free(trg);
	return sql;
}

static bool pgd_objects_named(const struct dbk_object *objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (objs[i].schema == NULL || objs[i].name == NULL)
			return false;
	return n > 0;
}

char *pgd_render_objects(struct dbk_conn *c, const struct dbk_action *a,
                         const struct dbk_object *objs, size_t n,
                         struct dbk_err *err)
{
	bool one = n == 1 && pgd_objects_named(objs, n);
	/* Index actions carry the index and then its table (ABI); the
	 * statement names the index alone, schema-qualified. */
	bool index = (n == 1 || n == 2) && pgd_objects_named(objs, n);

	switch (a->kind) {
	case DBK_A_DROP_TABLES:
		if (pgd_need(c, pgd_objects_named(objs, n), "drop_tables needs schema-qualified tables", err))
			return NULL;
		return pgd_prefixed(c, "DROP TABLE ", objs, n, err);
	case DBK_A_REBUILD_INDEX:
		if (pgd_need(c, index, "rebuild_index needs one schema-qualified index", err))
			return NULL;
		return pgd_prefixed(c, a->rebuild_method == DBK_REBUILD_OFFLINE ?
		    "REINDEX INDEX " : "REINDEX INDEX CONCURRENTLY ", objs, 1, err);
	case DBK_A_DROP_INDEX:
		if (pgd_need(c, index, "drop_index needs one schema-qualified index", err))
			return NULL;
		return pgd_prefixed(c, "DROP INDEX CONCURRENTLY IF EXISTS ", objs, 1, err);
	case DBK_A_PURGE_ROWS:
		if (pgd_need(c, one, "purge_rows needs exactly one schema-qualified table", err))
			return NULL;
		return pgd_render_purge(c, a, &objs[0], err);
	case DBK_A_PURGE_SERVER_LOGS:
		if (pgd_need(c, n > 0, "purge_server_logs needs file names", err))
			return NULL;
		return pgd_render_logs(c, a, objs, n, err);
	case DBK_A_ANALYZE:
		if (pgd_need(c, pgd_objects_named(objs, n), "analyze needs schema-qualified tables", err))
			return NULL;
		return pgd_prefixed(c, "ANALYZE ", objs, n, err);
	case DBK_A_DROP_TRIGGER:
		if (pgd_need(c, n == 2 && pgd_objects_named(objs, n),
		    "drop_trigger needs the trigger and its schema-qualified table", err))
			return NULL;
		return pgd_render_trigger(c, objs, err);
	default:
		pgd_err_set(err, DBK_E_UNSUPPORTED, "%s: render: unknown action kind %d",
		    c->target, a->kind);
		return NULL;
	}
}

int pgd_render(struct dbk_conn *c, const struct dbk_action *a, char **sql,
               struct dbk_err *err)
{
	char *s = pgd_render_objects(c, a, a->objects, a->n_objects, err);

	if (s == NULL)
		return -1;
	*sql = s;
	return 0;
}
