/* drivers/mysql/myd_render.c: turns an action into the statement the
 * executor will run (for a log table rotation: its statements, in order).
 * Names are quoted by backtick doubling, strings by
 * mysql_real_escape_string, numbers are literals; nothing unquoted from
 * the catalog ever reaches SQL. Performs no change on the server. */
#include "myd_render.h"

#include <stdlib.h>
#include <string.h>

void myd_free_string(char *s)
{
	free(s);
}

/* `schema`.`name` */
static int rnd_qualified(struct dbk_conn *conn, struct myd_buf *b, const char *schema,
                         const char *name, struct dbk_err *err)
{
	if (myd_buf_ident(b, myd_schema(conn, schema), err) == -1)
		return -1;
	myd_buf_addn(b, ".", 1);
	if (myd_buf_ident(b, name, err) == -1)
		return myd_err_set(err, DBK_E_INTERNAL, "%s: an action object has no name",
		                   conn->target);
	return 0;
}

char *myd_render_tables(struct dbk_conn *conn, const char *verb,
                        const struct dbk_object *objs, size_t n, const bool *keep,
                        struct dbk_err *err)
{
	struct myd_buf b = MYD_BUF_INIT;
	bool first = true;

	myd_buf_add(&b, "%s ", verb);
	for (size_t i = 0; i < n; i++) {
		if (keep != NULL && !keep[i])
			continue;
		if (!first)
			myd_buf_add(&b, ", ");
		first = false;
		if (rnd_qualified(conn, &b, objs[i].schema, objs[i].name, err) == -1) {
			myd_buf_free(&b);
			return NULL;
		}
	}
	if (first) {
		myd_buf_free(&b);
		myd_err_set(err, DBK_E_INTERNAL, "%s: %s: no tables", conn->target, verb);
		return NULL;
	}
	return myd_buf_take(&b);
}

/* ---- index actions ---- */

int myd_index_table(struct dbk_conn *conn, const struct dbk_action *action,
                    char **table, struct dbk_err *err)
{
	const struct dbk_object *ix = &action->objects[0];
	const char *schema = myd_schema(conn, ix->schema);
	struct myd_buf sql = MYD_BUF_INIT, seen = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	char *found = NULL;
	size_t hits = 0;
	int rc = -1;

	if (ix->name == NULL || ix->name[0] == '\0')
		return myd_err_set(err, DBK_E_INTERNAL, "%s: index action without a name",
		                   conn->target);
	/* Index names are unique per table only: the planner names the table
	 * in objects[1] when it can. */
	if (action->n_objects >= 2 && action->objects[1].name != NULL) {
		*table = myd_xstrdup(action->objects[1].name);
		return 0;
	}
	myd_buf_add(&sql, "SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS"
	            " WHERE TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, schema);
	myd_buf_add(&sql, " AND INDEX_NAME = ");
	myd_buf_literal(conn, &sql, ix->name);
	if ((res = myd_query(conn, sql.p, "find the index's table", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		/* The catalog compares case-insensitively; we do not. */
		if (row[0] == NULL || row[1] == NULL || strcmp(row[1], ix->name) != 0 ||
		    (found != NULL && strcmp(found, row[0]) == 0))
			continue;
		hits++;
		myd_buf_add(&seen, "%s%s", hits > 1 ? ", " : "", row[0]);
		if (found == NULL)
			found = myd_xstrdup(row[0]);
	}
	if (hits == 0) {
		myd_err_set(err, DBK_E_QUERY, "%s: no index '%s' in database '%s'", conn->target,
		            ix->name, schema);
		rc = 1;
	} else if (hits > 1) {
		myd_err_set(err, DBK_E_QUERY, "%s: index name '%s' exists on several tables "
		            "(%s); the action must name its table", conn->target, ix->name,
		            seen.p);
	} else {
		*table = found;
		found = NULL;
		rc = 0;
	}
out:
	free(found);
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&seen);
	myd_buf_free(&sql);
	return rc;
}

static char *rnd_rebuild(struct dbk_conn *conn, const struct dbk_action *a,
                         struct dbk_err *err)
{
	struct myd_buf b = MYD_BUF_INIT;
	char *table = NULL, *sql = NULL;

	if (myd_index_table(conn, a, &table, err) != 0)
		return NULL;
	myd_buf_add(&b, "ALTER TABLE ");
	if (rnd_qualified(conn, &b, a->objects[0].schema, table, err) == 0) {
		/* Rebuilding an InnoDB table rebuilds all its indexes. Online means
		 * INPLACE without locks; the server refuses rather than silently
		 * taking a lock. Offline lets the server choose (it may block writes). */
		if (a->rebuild_method == DBK_REBUILD_OFFLINE)
			myd_buf_add(&b, " FORCE");
		else
			myd_buf_add(&b, " FORCE, ALGORITHM=INPLACE, LOCK=NONE");
		sql = myd_buf_take(&b);
	}
	myd_buf_free(&b);
	free(table);
	return sql;
}

static char *rnd_drop_index(struct dbk_conn *conn, const struct dbk_action *a,
                            struct dbk_err *err)
{
	struct myd_buf b = MYD_BUF_INIT;
	char *table = NULL, *sql = NULL;

	if (a->objects[0].name != NULL && strcmp(a->objects[0].name, "PRIMARY") == 0) {
		myd_err_set(err, DBK_E_QUERY, "%s: refusing to drop a primary key", conn->target);
		return NULL;
	}
	if (myd_index_table(conn, a, &table, err) != 0)
		return NULL;
	myd_buf_add(&b, "DROP INDEX ");
	if (myd_buf_ident(&b, a->objects[0].name, err) == 0) {
		myd_buf_add(&b, " ON ");
		if (rnd_qualified(conn, &b, a->objects[0].schema, table, err) == 0)
			sql = myd_buf_take(&b);
	}
	myd_buf_free(&b);
	free(table);
	return sql;
}

/* ---- purge rows ---- */

void myd_purge_shape_clear(struct myd_purge_shape *shape)
{
	if (shape == NULL)
		return;
	free(shape->key);
	free(shape->guard);
	memset(shape, 0, sizeof *shape);
}

static bool rnd_int_type(const char *t)
{
	static const char *const ints[] = { "tinyint", "smallint", "mediumint", "int",
		                            "bigint" };

	for (size_t i = 0; t != NULL && i < MYD_NELEM(ints); i++)
		if (strcasecmp(t, ints[i]) == 0)
			return true;
	return false;
}

static bool rnd_time_type(const char *t)
{
	return t != NULL && (strcasecmp(t, "datetime") == 0 || strcasecmp(t, "timestamp") == 0 ||
	                     strcasecmp(t, "date") == 0);
}

int myd_purge_shape(struct dbk_conn *conn, const struct dbk_action *a,
                    struct myd_purge_shape *shape, struct dbk_err *err)
{
	const struct dbk_object *o = &a->objects[0];
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct myd_purge_shape s;
	char *pk = NULL;
	const char *time_type = NULL;
	char *time_type_copy = NULL;
	size_t cols = 0, pks = 0;
	bool pk_int = false;
	int rc = -1;

	memset(&s, 0, sizeof s);
	if (a->time_column == NULL || a->time_column[0] == '\0')
		return myd_err_set(err, DBK_E_INTERNAL, "%s: purge without a time column",
		                   conn->target);
	myd_buf_add(&sql, "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_KEY, EXTRA"
	            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, myd_schema(conn, o->schema));
	myd_buf_add(&sql, " AND TABLE_NAME = ");
	myd_buf_literal(conn, &sql, o->name);
	if ((res = myd_query(conn, sql.p, "read the log table's columns", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL || strcmp(row[0], o->name) != 0)
			continue;
		cols++;
		/* Column names are case-insensitive to the server. */
		if (strcasecmp(row[1], a->time_column) == 0) {
			free(time_type_copy);
			time_type_copy = myd_xstrdup(row[2]);
			time_type = time_type_copy;
		}
		if (row[3] != NULL && strcmp(row[3], "PRI") == 0) {
			pks++;
			free(pk);
			pk = myd_xstrdup(row[1]);
			pk_int = rnd_int_type(row[2]);
		}
		if (row[4] != NULL && strstr(row[4], "auto_increment") != NULL) {
			free(s.guard);
			s.guard = myd_xstrdup(row[1]);
		}
	}
	if (cols == 0 || time_type == NULL) {
		if (cols == 0)
			myd_err_set(err, DBK_E_QUERY, "%s: table %s.%s is gone", conn->target,
			            myd_schema(conn, o->schema), o->name);
		else
			myd_err_set(err, DBK_E_QUERY, "%s: table %s.%s has no column '%s'",
			            conn->target, myd_schema(conn, o->schema), o->name,
			            a->time_column);
		rc = 1;
		goto out;
	}
	if (!rnd_int_type(time_type) && !rnd_time_type(time_type)) {
		myd_err_set(err, DBK_E_UNSUPPORTED, "%s: time column '%s' of %s is %s; need "
		            "DATETIME, TIMESTAMP, DATE or unix seconds in an integer",
		            conn->target, a->time_column, o->name, time_type);
		goto out;
	}
	s.epoch_time = rnd_int_type(time_type);
	if (pks == 1 && pk_int) {
		/* pt-archiver's walk: short primary-key ranges, and the row with the
		 * highest key (the AUTO_INCREMENT high-water mark) is always kept. */
		s.form = MYD_PURGE_PK_RANGE;
		s.key = pk;
		pk = NULL;
		free(s.guard);
		s.guard = myd_xstrdup(s.key);
	} else {
		s.form = MYD_PURGE_BY_TIME;
	}
	*shape = s;
	memset(&s, 0, sizeof s);
	rc = 0;
out:
	myd_purge_shape_clear(&s);
	free(pk);
	free(time_type_copy);
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* The statement of one batch. @dbk_lo, @dbk_hi and @dbk_keep are session
 * variables the executor sets before each batch (myd_actions.c): the key
 * range of this batch and the key of the row that must survive. */
static char *rnd_purge(struct dbk_conn *conn, const struct dbk_action *a,
                       struct dbk_err *err)
{
	struct myd_purge_shape s;
	struct myd_buf b = MYD_BUF_INIT, cut = MYD_BUF_INIT;
	char *sql = NULL;
	int r = 0;

	if (a->cutoff <= 0 || a->batch_rows <= 0) {
		myd_err_set(err, DBK_E_INTERNAL, "%s: purge needs a cutoff and a batch size",
		            conn->target);
		return NULL;
	}
	memset(&s, 0, sizeof s);
	if (myd_purge_shape(conn, a, &s, err) != 0)
		return NULL;
	myd_buf_add(&b, "DELETE FROM ");
	r |= rnd_qualified(conn, &b, a->objects[0].schema, a->objects[0].name, err);
	myd_buf_add(&b, " WHERE ");
	if (s.epoch_time)
		myd_buf_add(&cut, "%lld", (long long)a->cutoff);
	else
		myd_buf_add(&cut, "FROM_UNIXTIME(%lld)", (long long)a->cutoff);
	if (s.form == MYD_PURGE_PK_RANGE) {
		r |= myd_buf_ident(&b, s.key, err);
		myd_buf_add(&b, " > @dbk_lo AND ");
		r |= myd_buf_ident(&b, s.key, err);
		myd_buf_add(&b, " <= @dbk_hi AND ");
		r |= myd_buf_ident(&b, s.key, err);
		myd_buf_add(&b, " < @dbk_keep AND ");
	}
	r |= myd_buf_ident(&b, a->time_column, err);
	myd_buf_add(&b, " < %s", cut.p);
	if (s.form == MYD_PURGE_BY_TIME && s.guard != NULL) {
		myd_buf_add(&b, " AND ");
		r |= myd_buf_ident(&b, s.guard, err);
		myd_buf_add(&b, " < @dbk_keep");
	}
	myd_buf_add(&b, " ORDER BY ");
	r |= myd_buf_ident(&b, s.form == MYD_PURGE_PK_RANGE ? s.key : a->time_column, err);
	myd_buf_add(&b, " LIMIT %lld", (long long)a->batch_rows);
	if (r == 0)
		sql = myd_buf_take(&b);
	myd_buf_free(&b);
	myd_buf_free(&cut);
	myd_purge_shape_clear(&s);
	return sql;
}

/* ---- binary logs ---- */

void myd_binlogs_clear(struct myd_binlogs *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->name[i]);
	free(b->name);
	free(b->size);
	memset(b, 0, sizeof *b);
}

int myd_binlogs_read(struct dbk_conn *conn, struct myd_binlogs *b, struct dbk_err *err)
{
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	size_t rows = 0;

	memset(b, 0, sizeof *b);
	if ((res = myd_query(conn, "SHOW BINARY LOGS", "list binary logs", err)) == NULL)
		return -1;
	rows = (size_t)mysql_num_rows(res);
	b->name = myd_xcalloc(rows + 1, sizeof *b->name);
	b->size = myd_xcalloc(rows + 1, sizeof *b->size);
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL)
			continue;
		b->name[b->n] = myd_xstrdup(row[0]);
		b->size[b->n] = myd_cell_i64(row[1], 0);
		b->n++;
	}
	mysql_free_result(res);
	return 0;
}

long myd_binlogs_find(const struct myd_binlogs *b, const char *name)
{
	for (size_t i = 0; name != NULL && i < b->n; i++)
		if (strcmp(b->name[i], name) == 0)
			return (long)i;
	return -1;
}

/* PURGE BINARY LOGS TO names the first file to keep and removes every
 * older one, so the planned files must be exactly the oldest ones and the
 * file in use is never among them. */
static char *rnd_purge_logs(struct dbk_conn *conn, const struct dbk_action *a,
                            struct dbk_err *err)
{
	struct myd_binlogs logs;
	struct myd_buf b = MYD_BUF_INIT;
	bool *planned = NULL;
	char *sql = NULL;
	long last = -1, pos = 0;

	if (myd_binlogs_read(conn, &logs, err) == -1)
		return NULL;
	planned = myd_xcalloc(logs.n + 1, sizeof *planned);
	for (size_t i = 0; i < a->n_objects; i++) {
		if ((pos = myd_binlogs_find(&logs, a->objects[i].name)) < 0)
			continue; /* already gone: nothing to do for it */
		planned[pos] = true;
		if (pos > last)
			last = pos;
	}
	if (last < 0) {
		myd_err_set(err, DBK_E_QUERY, "%s: none of the binary logs to purge exists",
		            conn->target);
		goto out;
	}
	if ((size_t)last + 1 >= logs.n) {
		myd_err_set(err, DBK_E_QUERY, "%s: refusing to purge %s: it is the binary log "
		            "in use", conn->target, logs.name[last]);
		goto out;
	}
	for (long i = 0; i < last; i++) {
		if (!planned[i]) {
			myd_err_set(err, DBK_E_QUERY, "%s: binary logs to purge must be the oldest: "
			            "%s is older than %s but not planned", conn->target,
			            logs.name[i], logs.name[last]);
			goto out;
		}
	}
	myd_buf_add(&b, "PURGE BINARY LOGS TO ");
	myd_buf_literal(conn, &b, logs.name[last + 1]);
	sql = myd_buf_take(&b);
out:
	free(planned);
	myd_buf_free(&b);
	myd_binlogs_clear(&logs);
	return sql;
}

/* ---- server log tables ---- */

const struct myd_log_table myd_log_tables[] = {
	{ "slow_log", "start_time" },
	{ "general_log", "event_time" },
};
const size_t myd_n_log_tables = MYD_NELEM(myd_log_tables);

/* Names are compared byte for byte: only the two tables themselves. */
static const struct myd_log_table *rnd_log_table(const struct dbk_object *o)
{
	if (o->schema == NULL || strcmp(o->schema, "mysql") != 0 || o->name == NULL)
		return NULL;
	for (size_t i = 0; i < MYD_NELEM(myd_log_tables); i++)
		if (strcmp(o->name, myd_log_tables[i].name) == 0)
			return &myd_log_tables[i];
	return NULL;
}

void myd_rotation_clear(struct myd_rotation *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->stmt[i]);
	free(r->old_table);
	memset(r, 0, sizeof *r);
}

/* Appends `mysql`.`<table><suffix>`. */
static int rnd_log_name(struct myd_buf *b, const char *table, const char *suffix,
                        struct dbk_err *err)
{
	struct myd_buf name = MYD_BUF_INIT;
	int rc = 0;

	myd_buf_add(&name, "%s%s", table, suffix);
	myd_buf_add(b, "`mysql`.");
	rc = myd_buf_ident(b, name.p, err);
	myd_buf_free(&name);
	return rc;
}

static void rnd_rotation_add(struct myd_rotation *r, struct myd_buf *b)
{
	r->stmt[r->n++] = myd_buf_take(b);
}

/* Entries at or after the cutoff stay. UNIX_TIMESTAMP of a TIMESTAMP
 * column is exact in any session time zone (FROM_UNIXTIME would compare
 * local times, ambiguous in the hour a DST change repeats). Entries the
 * server logs between the copy and the RENAME are lost with the old table:
 * a log table accepts no INSERT, so they cannot be carried over. */
int myd_rotation_build(struct dbk_conn *conn, const struct dbk_action *a,
                       struct myd_rotation *r, struct dbk_err *err)
{
	const struct myd_log_table *lt = NULL;
	const char *t = NULL;
	struct myd_buf b = MYD_BUF_INIT;
	struct myd_rotation x;
	char *binlog = NULL;
	int rc = -1, q = 0;

	memset(&x, 0, sizeof x);
	if (a->n_objects != 1 || (lt = rnd_log_table(&a->objects[0])) == NULL)
		return myd_err_set(err, DBK_E_QUERY, "%s: refusing to rotate %s%s%s: not a "
		                   "server log table (mysql.slow_log, mysql.general_log)",
		                   conn->target, a->objects[0].schema ? a->objects[0].schema : "",
		                   a->objects[0].schema ? "." : "",
		                   a->objects[0].name ? a->objects[0].name : "(no name)");
	if (a->cutoff <= 0)
		return myd_err_set(err, DBK_E_INTERNAL, "%s: log table rotation without a cutoff",
		                   conn->target);
	t = lt->name;
	/* Unreplicated: a replica's log tables hold the replica's own entries. */
	if (myd_query_value(conn, "SELECT @@log_bin AND @@SESSION.sql_log_bin",
	                    "binary logging state", &binlog, err) == -1)
		goto out;
	x.binlog_off = binlog != NULL && strcmp(binlog, "1") == 0;
	if (x.binlog_off) {
		myd_buf_add(&b, "SET SESSION sql_log_bin = 0");
		rnd_rotation_add(&x, &b);
	}
	/* Work tables an interrupted rotation left behind go first. */
	x.cleanup = x.n;
	myd_buf_add(&b, "DROP TABLE IF EXISTS ");
	q |= rnd_log_name(&b, t, "_dbk_new", err);
	myd_buf_add(&b, ", ");
	q |= rnd_log_name(&b, t, "_dbk_old", err);
	rnd_rotation_add(&x, &b);
	myd_buf_add(&b, "CREATE TABLE ");
	q |= rnd_log_name(&b, t, "_dbk_new", err);
	myd_buf_add(&b, " LIKE ");
	q |= rnd_log_name(&b, t, "", err);
	rnd_rotation_add(&x, &b);
	x.copy = x.n;
	myd_buf_add(&b, "INSERT INTO ");
	q |= rnd_log_name(&b, t, "_dbk_new", err);
	myd_buf_add(&b, " SELECT * FROM ");
	q |= rnd_log_name(&b, t, "", err);
	myd_buf_add(&b, " WHERE UNIX_TIMESTAMP(");
	q |= myd_buf_ident(&b, lt->time_column, err);
	myd_buf_add(&b, ") >= %lld", (long long)a->cutoff);
	rnd_rotation_add(&x, &b);
	x.swap = x.n;
	myd_buf_add(&b, "RENAME TABLE ");
	q |= rnd_log_name(&b, t, "", err);
	myd_buf_add(&b, " TO ");
	q |= rnd_log_name(&b, t, "_dbk_old", err);
	myd_buf_add(&b, ", ");
	q |= rnd_log_name(&b, t, "_dbk_new", err);
	myd_buf_add(&b, " TO ");
	q |= rnd_log_name(&b, t, "", err);
	rnd_rotation_add(&x, &b);
	q |= rnd_log_name(&b, t, "_dbk_old", err);
	x.old_table = myd_buf_take(&b);
	myd_buf_add(&b, "DROP TABLE %s", x.old_table);
	rnd_rotation_add(&x, &b);
	if (x.binlog_off) {
		myd_buf_add(&b, "SET SESSION sql_log_bin = 1");
		rnd_rotation_add(&x, &b);
	}
	if (q != 0)
		goto out;
	*r = x;
	memset(&x, 0, sizeof x);
	rc = 0;
out:
	myd_rotation_clear(&x);
	myd_buf_free(&b);
	free(binlog);
	return rc;
}

static char *rnd_rotate(struct dbk_conn *conn, const struct dbk_action *a,
                        struct dbk_err *err)
{
	struct myd_rotation r;
	struct myd_buf b = MYD_BUF_INIT;

	if (myd_rotation_build(conn, a, &r, err) == -1)
		return NULL;
	for (size_t i = 0; i < r.n; i++)
		myd_buf_add(&b, "%s%s", i ? "; " : "", r.stmt[i]);
	myd_rotation_clear(&r);
	return myd_buf_take(&b);
}

int myd_render(struct dbk_conn *conn, const struct dbk_action *action, char **sql,
               struct dbk_err *err)
{
	char *s = NULL;

	if (action == NULL || action->objects == NULL || action->n_objects == 0)
		return myd_err_set(err, DBK_E_INTERNAL, "%s: render: action has no objects",
		                   conn->target);
	switch (action->kind) {
	case DBK_A_DROP_TABLES:
		s = myd_render_tables(conn, "DROP TABLE", action->objects, action->n_objects,
		                      NULL, err);
		break;
	case DBK_A_ANALYZE:
		s = myd_render_tables(conn, "ANALYZE TABLE", action->objects, action->n_objects,
		                      NULL, err);
		break;
	case DBK_A_REBUILD_INDEX:
		s = rnd_rebuild(conn, action, err);
		break;
	case DBK_A_DROP_INDEX:
		s = rnd_drop_index(conn, action, err);
		break;
	case DBK_A_PURGE_ROWS:
		s = rnd_purge(conn, action, err);
		break;
	case DBK_A_PURGE_SERVER_LOGS:
		s = rnd_purge_logs(conn, action, err);
		break;
	case DBK_A_ROTATE_LOG_TABLE:
		s = rnd_rotate(conn, action, err);
		break;
	default:
		return myd_err_set(err, DBK_E_UNSUPPORTED, "%s: render: unknown action kind %d",
		                   conn->target, action->kind);
	}
	if (s == NULL)
		return -1;
	*sql = s;
	return 0;
}
