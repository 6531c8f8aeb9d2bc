/* drivers/mysql/myd_actions.c: performs one planned action: re-checks the
 * objects, verifies action->sql is still what render() gives, sets the
 * session's lock wait and statement limits, runs the statement(s) and
 * reports per object. Never decides what to act on. */
#include "myd_actions.h"

#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "myd_observe.h"
#include "myd_render.h"

/* Without a deadline, the longest a purge waits for replica lag to fall. */
#define MYD_LAG_WAIT_MAX_MS 600000
#define MYD_PAUSE_SLICE_MS 50

/* ---- outcome helpers ---- */

static void act_note(struct dbk_outcome *out, const char *fmt, ...) MYD_PRINTF(2, 3);

static void act_note(struct dbk_outcome *out, const char *fmt, ...)
{
	size_t used = strlen(out->note);
	va_list ap;

	if (used >= sizeof out->note - 1)
		return;
	if (used > 0) {
		snprintf(out->note + used, sizeof out->note - used, "; ");
		used = strlen(out->note);
	}
	va_start(ap, fmt);
	vsnprintf(out->note + used, sizeof out->note - used, fmt, ap);
	va_end(ap);
}

static void act_status(struct dbk_outcome *out, size_t i, int st)
{
	if (out->status != NULL)
		out->status[i] = (uint8_t)st;
}

static void act_init(const struct dbk_action *a, struct dbk_outcome *out)
{
	out->rows = 0;
	out->bytes_before = 0;
	out->bytes_after = 0;
	out->stopped_early = false;
	out->note[0] = '\0';
	for (size_t i = 0; out->status != NULL && i < a->n_objects; i++)
		out->status[i] = DBK_OBJ_PENDING;
}

/* Checks what every action needs before touching the server. */
static int act_begin(struct dbk_conn *conn, const struct dbk_action *a, int kind,
                     struct dbk_outcome *out, struct dbk_err *err)
{
	if (a == NULL || out == NULL || a->objects == NULL || a->n_objects == 0 ||
	    a->sql == NULL || a->kind != kind)
		return myd_err_set(err, DBK_E_INTERNAL, "%s: malformed action", conn->target);
	act_init(a, out);
	for (size_t i = 0; i < a->n_objects; i++)
		if (a->objects[i].name == NULL || a->objects[i].name[0] == '\0')
			return myd_err_set(err, DBK_E_INTERNAL, "%s: action object %zu has no name",
			                   conn->target, i);
	if (myd_is_cancelled(conn))
		return myd_err_set(err, DBK_E_CANCELLED, "%s: cancelled", conn->target);
	return myd_session_limits(conn, a->lock_timeout_ms, a->statement_timeout_ms, err);
}

/* 0: action->sql is exactly what render() gives now; 1: it is not (the
 * objects changed since planning, or the text was altered): skip; -1:
 * could not tell. */
static int act_same_sql(struct dbk_conn *conn, const struct dbk_action *a,
                        struct dbk_outcome *out, struct dbk_err *err)
{
	struct dbk_err e;
	char *now = NULL;
	int rc = 1;

	if (myd_render(conn, a, &now, &e) == -1) {
		if (e.code == DBK_E_CONNECT || e.code == DBK_E_CANCELLED) {
			if (err != NULL)
				*err = e;
			return -1;
		}
		act_note(out, "no longer renders: %s", e.msg);
		return 1;
	}
	if (strcmp(now, a->sql) == 0)
		rc = 0;
	else
		act_note(out, "planned statement differs from the current one: %s", now);
	free(now);
	return rc;
}

static bool act_fatal(int code)
{
	return code == DBK_E_CONNECT || code == DBK_E_CANCELLED;
}

/* ---- table existence ---- */

struct act_seen {
	bool present;
	int64_t bytes; /* DATA_LENGTH + INDEX_LENGTH + DATA_FREE: the file */
};

/* Orphans are reported as "#mysql50##sql-..." (or raw "#sql-..." on MySQL
 * 8); returns the raw file name, or NULL for an ordinary table name. */
static const char *act_orphan_raw(struct dbk_conn *conn, const char *name)
{
	const char *pfx = myd_orphan_prefix(conn);
	size_t n = strlen(pfx);

	if (n > 0 && strncmp(name, pfx, n) == 0 && strncmp(name + n, "#sql", 4) == 0)
		return name + n;
	if (n == 0 && strncmp(name, "#sql", 4) == 0)
		return name;
	return NULL;
}

static int act_orphans_present(struct dbk_conn *conn, const struct dbk_object *o,
                               size_t n, struct act_seen *seen, struct dbk_err *err)
{
	bool old_dict = conn->mariadb || conn->version_num < 80000;
	struct myd_buf sql = MYD_BUF_INIT, name = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	const char *raw = NULL;
	size_t len = 0, k = 0;
	int rc = -1;

	myd_buf_add(&sql, "SELECT t.NAME, s.ALLOCATED_SIZE FROM information_schema.%s t"
	            " LEFT JOIN information_schema.%s s ON s.SPACE = t.SPACE WHERE t.NAME IN (",
	            old_dict ? "INNODB_SYS_TABLES" : "INNODB_TABLES",
	            old_dict ? "INNODB_SYS_TABLESPACES" : "INNODB_TABLESPACES");
	for (size_t i = 0; i < n; i++) {
		if (seen[i].present || (raw = act_orphan_raw(conn, o[i].name)) == NULL)
			continue;
		myd_buf_free(&name);
		myd_buf_add(&name, "%s/%s", myd_schema(conn, o[i].schema), raw);
		myd_buf_add(&sql, "%s", k++ ? ", " : "");
		myd_buf_literal(conn, &sql, name.p);
	}
	myd_buf_add(&sql, ")");
	/* MariaDB's information_schema opens "#mysql50#..." names directly, so
	 * the TABLES query usually found them already. */
	if (k == 0) {
		rc = 0;
		goto out;
	}
	if ((res = myd_query(conn, sql.p, "re-check orphaned tables", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		for (size_t i = 0; row[0] != NULL && i < n; i++) {
			if ((raw = act_orphan_raw(conn, o[i].name)) == NULL)
				continue;
			len = strlen(myd_schema(conn, o[i].schema));
			if (strncmp(row[0], myd_schema(conn, o[i].schema), len) == 0 &&
			    row[0][len] == '/' && strcmp(row[0] + len + 1, raw) == 0) {
				seen[i].present = true;
				seen[i].bytes = myd_cell_i64(row[1], 0);
			}
		}
	}
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&name);
	myd_buf_free(&sql);
	return rc;
}

/* Which objects are still base tables (or orphans) right now. One query per
 * distinct schema list; names compared byte for byte. */
static int act_tables_present(struct dbk_conn *conn, const struct dbk_object *o, size_t n,
                              struct act_seen *seen, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	const char *schema = myd_schema(conn, o[0].schema);
	bool one_schema = true, orphans = false;
	int rc = -1;

	memset(seen, 0, n * sizeof *seen);
	for (size_t i = 0; i < n; i++) {
		one_schema = one_schema && strcmp(myd_schema(conn, o[i].schema), schema) == 0;
		orphans = orphans || act_orphan_raw(conn, o[i].name) != NULL;
	}
	myd_buf_add(&sql, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE,"
	            " DATA_LENGTH + INDEX_LENGTH + DATA_FREE FROM information_schema.TABLES WHERE ");
	/* A top-level TABLE_SCHEMA = '...' lets the server open one schema only. */
	if (one_schema) {
		myd_buf_add(&sql, "TABLE_SCHEMA = ");
		myd_buf_literal(conn, &sql, schema);
		myd_buf_add(&sql, " AND TABLE_NAME IN (");
		for (size_t i = 0; i < n; i++) {
			myd_buf_add(&sql, "%s", i ? ", " : "");
			myd_buf_literal(conn, &sql, o[i].name);
		}
		myd_buf_add(&sql, ")");
	} else {
		for (size_t i = 0; i < n; i++) {
			myd_buf_add(&sql, "%s(TABLE_SCHEMA = ", i ? " OR " : "");
			myd_buf_literal(conn, &sql, myd_schema(conn, o[i].schema));
			myd_buf_add(&sql, " AND TABLE_NAME = ");
			myd_buf_literal(conn, &sql, o[i].name);
			myd_buf_add(&sql, ")");
		}
	}
	if ((res = myd_query(conn, sql.p, "re-check tables", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		for (size_t i = 0; row[0] != NULL && row[1] != NULL && i < n; i++) {
			if (strcmp(row[0], myd_schema(conn, o[i].schema)) != 0 ||
			    strcmp(row[1], o[i].name) != 0 || row[2] == NULL ||
			    strcmp(row[2], "BASE TABLE") != 0)
				continue;
			seen[i].present = true;
			seen[i].bytes = myd_cell_i64(row[3], 0);
		}
	}
	if (orphans && act_orphans_present(conn, o, n, seen, err) == -1)
		goto out;
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* ---- drop tables ---- */

/* Sets object i's status from a failed DROP: a metadata lock not granted
 * in time is SKIPPED_LOCKED, a table that vanished SKIPPED_CHANGED, the
 * rest FAILED (returns -1 and keeps the first such error in *err). */
static int act_drop_mark(const struct dbk_action *a, size_t i, unsigned en,
                         const struct dbk_err *e, struct dbk_outcome *out, bool *have_err,
                         struct dbk_err *err)
{
	if (en == ER_LOCK_WAIT_TIMEOUT) {
		act_status(out, i, DBK_OBJ_SKIPPED_LOCKED);
		act_note(out, "%s: metadata lock not granted in time", a->objects[i].name);
		return 0;
	}
	if (en == ER_BAD_TABLE_ERROR) {
		act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
		act_note(out, "%s: vanished before the drop", a->objects[i].name);
		return 0;
	}
	act_status(out, i, DBK_OBJ_FAILED);
	act_note(out, "%s", e->msg);
	if (!*have_err && err != NULL)
		*err = *e;
	*have_err = true;
	return -1;
}

/* Tables dealt with (dropped, skipped or failed) out of all planned. */
static void act_drop_progress(struct dbk_conn *conn, const struct dbk_action *a,
                              const struct dbk_outcome *out)
{
	int64_t done = 0;

	for (size_t i = 0; out->status != NULL && i < a->n_objects; i++)
		done += out->status[i] != DBK_OBJ_PENDING;
	myd_progress(conn, "dropping", done, (int64_t)a->n_objects);
}

/* One DROP TABLE per table still there after the multi-table statement
 * failed. Each waits at most lock_wait_timeout for its metadata lock. */
static int act_drop_each(struct dbk_conn *conn, const struct dbk_action *a,
                         const struct act_seen *seen, struct dbk_outcome *out,
                         struct dbk_err *err)
{
	struct dbk_err e;
	bool have_err = false, *keep = NULL;
	char *sql = NULL;
	int rc = 0;

	keep = myd_xcalloc(a->n_objects, sizeof *keep);
	for (size_t i = 0; i < a->n_objects; i++) {
		if (!seen[i].present || (out->status != NULL && out->status[i] != DBK_OBJ_PENDING))
			continue;
		if (myd_is_cancelled(conn)) {
			out->stopped_early = true;
			act_note(out, "cancelled");
			break;
		}
		memset(keep, 0, a->n_objects * sizeof *keep);
		keep[i] = true;
		if ((sql = myd_render_tables(conn, "DROP TABLE", a->objects, a->n_objects, keep,
		                             &e)) != NULL &&
		    myd_exec(conn, sql, "drop table", &e) == 0) {
			act_status(out, i, DBK_OBJ_DONE);
		} else if (act_fatal(e.code)) {
			if (err != NULL)
				*err = e;
			rc = -1;
			free(sql);
			break;
		} else if (act_drop_mark(a, i, sql ? myd_errno(conn) : 0, &e, out, &have_err,
		                         err) == -1) {
			rc = -1;
		}
		free(sql);
		sql = NULL;
		act_drop_progress(conn, a, out);
	}
	free(keep);
	return rc;
}

/* DROP TABLE waits for an exclusive metadata lock, and while it waits every
 * later query on that table queues behind it: the application would stall.
 * So lock_wait_timeout is kept short (the policy's lock timeout), the
 * tables are first dropped together (all locks are taken before anything
 * is dropped), and when that times out or fails, each table is tried on
 * its own; one whose lock is still not granted is SKIPPED_LOCKED. */
int myd_drop_tables(struct dbk_conn *conn, const struct dbk_action *a,
                    struct dbk_outcome *out, struct dbk_err *err)
{
	struct act_seen *seen = NULL;
	struct dbk_err e;
	bool *keep = NULL, all = true, one_err = false;
	char *subset = NULL;
	size_t present = 0;
	int rc = -1, same = 0;

	if (act_begin(conn, a, DBK_A_DROP_TABLES, out, err) == -1)
		return -1;
	seen = myd_xcalloc(a->n_objects, sizeof *seen);
	keep = myd_xcalloc(a->n_objects, sizeof *keep);
	if ((same = act_same_sql(conn, a, out, err)) != 0) {
		for (size_t i = 0; same == 1 && i < a->n_objects; i++)
			act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
		rc = same == 1 ? 0 : -1;
		goto out;
	}
	if (act_tables_present(conn, a->objects, a->n_objects, seen, err) == -1)
		goto out;
	for (size_t i = 0; i < a->n_objects; i++) {
		keep[i] = seen[i].present;
		present += seen[i].present;
		all = all && seen[i].present;
		out->bytes_before += seen[i].present ? seen[i].bytes : 0;
		if (!seen[i].present) {
			act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
			act_note(out, "%s: gone or no longer a base table", a->objects[i].name);
		}
	}
	if (present == 0) {
		rc = 0;
		goto out;
	}
	act_drop_progress(conn, a, out);
	/* The planned text when every table is still there; otherwise the same
	 * statement without the vanished ones (no IF EXISTS: vanishing is news). */
	if (!all && (subset = myd_render_tables(conn, "DROP TABLE", a->objects, a->n_objects,
	                                        keep, err)) == NULL)
		goto out;
	if (myd_exec(conn, all ? a->sql : subset, "drop tables", &e) == 0) {
		for (size_t i = 0; i < a->n_objects; i++)
			if (keep[i])
				act_status(out, i, DBK_OBJ_DONE);
		act_drop_progress(conn, a, out);
		rc = 0;
		goto out;
	}
	if (act_fatal(e.code)) {
		if (err != NULL)
			*err = e;
		goto out;
	}
	/* One table: the statement was already its own; no second wait. */
	if (present == 1) {
		for (size_t i = 0; i < a->n_objects; i++)
			if (keep[i])
				rc = act_drop_mark(a, i, myd_errno(conn), &e, out, &one_err, err);
		goto out;
	}
	act_note(out, "together: %s; one by one", e.msg);
	/* MariaDB drops what it can of a failed multi-table DROP; see what is left. */
	if (act_tables_present(conn, a->objects, a->n_objects, seen, err) == -1)
		goto out;
	for (size_t i = 0; i < a->n_objects; i++)
		if (keep[i] && !seen[i].present)
			act_status(out, i, DBK_OBJ_DONE);
	rc = act_drop_each(conn, a, seen, out, err);
out:
	for (size_t i = 0; i < a->n_objects && out != NULL && out->status != NULL; i++)
		if (keep[i] && out->status[i] != DBK_OBJ_DONE)
			out->bytes_after += seen[i].bytes;
	free(subset);
	free(keep);
	free(seen);
	return rc;
}

/* ---- analyze ---- */

/* ANALYZE TABLE reports per table in rows (Table, Op, Msg_type, Msg_text),
 * not as a statement error. */
static void act_analyze_rows(struct dbk_conn *conn, const struct dbk_action *a,
                             MYSQL_RES *res, const bool *keep, struct dbk_outcome *out)
{
	struct myd_buf full = MYD_BUF_INIT;
	MYSQL_ROW row = NULL;
	uint8_t *st = myd_xcalloc(a->n_objects, 1);

	while ((row = mysql_fetch_row(res)) != NULL) {
		for (size_t i = 0; row[0] != NULL && row[2] != NULL && i < a->n_objects; i++) {
			myd_buf_free(&full);
			myd_buf_add(&full, "%s.%s", myd_schema(conn, a->objects[i].schema),
			            a->objects[i].name);
			if (!keep[i] || strcmp(row[0], full.p) != 0)
				continue;
			if (strcasecmp(row[2], "error") == 0) {
				bool lock = row[3] != NULL && strstr(row[3], "Lock wait timeout") != NULL;

				st[i] = lock ? DBK_OBJ_SKIPPED_LOCKED : DBK_OBJ_FAILED;
				act_note(out, "%s: %s", a->objects[i].name, row[3] ? row[3] : "error");
			} else if (st[i] == DBK_OBJ_PENDING) {
				st[i] = DBK_OBJ_DONE;
			}
		}
	}
	for (size_t i = 0; i < a->n_objects; i++)
		if (keep[i])
			act_status(out, i, st[i] == DBK_OBJ_PENDING ? DBK_OBJ_FAILED : st[i]);
	free(st);
	myd_buf_free(&full);
}

int myd_analyze(struct dbk_conn *conn, const struct dbk_action *a,
                struct dbk_outcome *out, struct dbk_err *err)
{
	struct act_seen *seen = NULL;
	MYSQL_RES *res = NULL;
	bool *keep = NULL, all = true;
	char *subset = NULL;
	size_t present = 0;
	int rc = -1, same = 0;

	if (act_begin(conn, a, DBK_A_ANALYZE, out, err) == -1)
		return -1;
	seen = myd_xcalloc(a->n_objects, sizeof *seen);
	keep = myd_xcalloc(a->n_objects, sizeof *keep);
	if ((same = act_same_sql(conn, a, out, err)) != 0) {
		for (size_t i = 0; same == 1 && i < a->n_objects; i++)
			act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
		rc = same == 1 ? 0 : -1;
		goto out;
	}
	if (act_tables_present(conn, a->objects, a->n_objects, seen, err) == -1)
		goto out;
	for (size_t i = 0; i < a->n_objects; i++) {
		keep[i] = seen[i].present;
		present += seen[i].present;
		all = all && seen[i].present;
		if (!seen[i].present)
			act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
	}
	if (present == 0) {
		rc = 0;
		goto out;
	}
	if (!all && (subset = myd_render_tables(conn, "ANALYZE TABLE", a->objects,
	                                        a->n_objects, keep, err)) == NULL)
		goto out;
	if ((res = myd_query(conn, all ? a->sql : subset, "analyze", err)) == NULL) {
		for (size_t i = 0; i < a->n_objects; i++)
			if (keep[i])
				act_status(out, i, DBK_OBJ_FAILED);
		goto out;
	}
	act_analyze_rows(conn, a, res, keep, out);
	rc = 0;
	for (size_t i = 0; out->status != NULL && i < a->n_objects; i++)
		if (out->status[i] == DBK_OBJ_FAILED && rc == 0)
			rc = myd_err_set(err, DBK_E_QUERY, "%s: analyze: %s", conn->target, out->note);
out:
	if (res != NULL)
		mysql_free_result(res);
	free(subset);
	free(keep);
	free(seen);
	return rc;
}

/* ---- index actions ---- */

/* Does index exist on schema.table (exact names)? *bytes: its size when
 * InnoDB's statistics know it, else 0. Returns 0 or -1. */
static int act_index_present(struct dbk_conn *conn, const char *schema, const char *table,
                             const char *index, bool *present, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int rc = -1;

	*present = false;
	myd_buf_add(&sql, "SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS"
	            " WHERE TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, schema);
	myd_buf_add(&sql, " AND TABLE_NAME = ");
	myd_buf_literal(conn, &sql, table);
	myd_buf_add(&sql, " AND INDEX_NAME = ");
	myd_buf_literal(conn, &sql, index);
	if ((res = myd_query(conn, sql.p, "re-check index", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL)
		if (row[0] != NULL && row[1] != NULL && strcmp(row[0], table) == 0 &&
		    strcmp(row[1], index) == 0)
			*present = true;
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* DATA_LENGTH + INDEX_LENGTH + DATA_FREE of one table, read fresh. */
static int act_table_bytes(struct dbk_conn *conn, const char *schema, const char *table,
                           int64_t *bytes, struct dbk_err *err)
{
	struct act_seen seen;
	struct dbk_object o = { schema, table, 0 };

	if (act_tables_present(conn, &o, 1, &seen, err) == -1)
		return -1;
	*bytes = seen.present ? seen.bytes : 0;
	return 0;
}

static int act_index_bytes(struct dbk_conn *conn, const char *schema, const char *table,
                           const char *index, int64_t *bytes)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;

	*bytes = 0;
	myd_buf_add(&sql, "SELECT table_name, index_name, stat_value * @@innodb_page_size"
	            " FROM mysql.innodb_index_stats WHERE stat_name = 'size' AND database_name = ");
	myd_buf_literal(conn, &sql, schema);
	myd_buf_add(&sql, " AND table_name = ");
	myd_buf_literal(conn, &sql, table);
	res = myd_query(conn, sql.p, "index size", &e);
	myd_buf_free(&sql);
	if (res == NULL)
		return act_fatal(e.code) ? -1 : 0;
	while ((row = mysql_fetch_row(res)) != NULL)
		if (row[0] != NULL && row[1] != NULL && strcmp(row[0], table) == 0 &&
		    strcmp(row[1], index) == 0)
			*bytes = myd_cell_i64(row[2], 0);
	mysql_free_result(res);
	return 0;
}

/* Shared start of rebuild/drop index: the table, the index still there,
 * the planned statement still current. 0: go on; 1: skipped (status set);
 * -1: error. */
static int act_index_begin(struct dbk_conn *conn, const struct dbk_action *a, int kind,
                           char **table, struct dbk_outcome *out, struct dbk_err *err)
{
	struct dbk_err e;
	bool present = false;
	int r = 0;

	if (act_begin(conn, a, kind, out, err) == -1)
		return -1;
	if ((r = myd_index_table(conn, a, table, &e)) != 0) {
		if (r == 1) {
			act_status(out, 0, DBK_OBJ_SKIPPED_CHANGED);
			act_note(out, "%s", e.msg);
			return 1;
		}
		act_status(out, 0, DBK_OBJ_FAILED);
		if (err != NULL)
			*err = e;
		return -1;
	}
	if (act_index_present(conn, myd_schema(conn, a->objects[0].schema), *table,
	                      a->objects[0].name, &present, err) == -1)
		return -1;
	if (!present) {
		act_status(out, 0, DBK_OBJ_SKIPPED_CHANGED);
		act_note(out, "index %s on %s is gone", a->objects[0].name, *table);
		return 1;
	}
	if ((r = act_same_sql(conn, a, out, err)) == 1)
		act_status(out, 0, DBK_OBJ_SKIPPED_CHANGED);
	return r;
}

/* Runs the one statement of a single-object action and sets its status:
 * a lock wait timeout is SKIPPED_LOCKED (returns 0), anything else FAILED. */
static int act_run_one(struct dbk_conn *conn, const char *sql, const char *what,
                       struct dbk_outcome *out, struct dbk_err *err)
{
	struct dbk_err e;

	if (myd_exec(conn, sql, what, &e) == 0) {
		act_status(out, 0, DBK_OBJ_DONE);
		return 0;
	}
	if (e.code == DBK_E_LOCK_TIMEOUT) {
		act_status(out, 0, DBK_OBJ_SKIPPED_LOCKED);
		act_note(out, "%s", e.msg);
		return 0;
	}
	act_status(out, 0, e.code == DBK_E_CANCELLED ? DBK_OBJ_PENDING : DBK_OBJ_FAILED);
	act_note(out, "%s", e.msg);
	if (err != NULL)
		*err = e;
	return -1;
}

/* ALTER TABLE ... FORCE, ALGORITHM=INPLACE, LOCK=NONE as planned; if the
 * server cannot do it online it refuses, and the refusal is the result:
 * never a fallback to a locking rebuild. */
int myd_rebuild_index(struct dbk_conn *conn, const struct dbk_action *a,
                      struct dbk_outcome *out, struct dbk_err *err)
{
	const char *schema = NULL;
	char *table = NULL;
	int rc = -1, r = 0;

	if ((r = act_index_begin(conn, a, DBK_A_REBUILD_INDEX, &table, out, err)) != 0) {
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	schema = myd_schema(conn, a->objects[0].schema);
	if (act_table_bytes(conn, schema, table, &out->bytes_before, err) == -1)
		goto out;
	/* Start and end only: the server reports no progress of an online
	 * (INPLACE) rebuild to the client, and performance_schema's stage
	 * events need consumers that are off by default and a second session
	 * polling while this one waits. */
	myd_progress(conn, "rebuilding", 0, 1);
	if ((rc = act_run_one(conn, a->sql, "rebuild", out, err)) == -1)
		goto out;
	if (out->status != NULL && out->status[0] == DBK_OBJ_DONE)
		myd_progress(conn, "rebuilding", 1, 1);
	if (out->status != NULL && out->status[0] == DBK_OBJ_DONE &&
	    act_table_bytes(conn, schema, table, &out->bytes_after, err) == -1)
		rc = -1;
	else if (out->status != NULL && out->status[0] != DBK_OBJ_DONE)
		out->bytes_after = out->bytes_before;
out:
	free(table);
	return rc;
}

int myd_drop_index(struct dbk_conn *conn, const struct dbk_action *a,
                   struct dbk_outcome *out, struct dbk_err *err)
{
	const char *schema = NULL;
	char *table = NULL;
	int rc = -1, r = 0;

	if ((r = act_index_begin(conn, a, DBK_A_DROP_INDEX, &table, out, err)) != 0) {
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	schema = myd_schema(conn, a->objects[0].schema);
	if (act_index_bytes(conn, schema, table, a->objects[0].name, &out->bytes_before) == -1)
		goto out;
	rc = act_run_one(conn, a->sql, "drop index", out, err);
	if (out->status != NULL && out->status[0] != DBK_OBJ_DONE)
		out->bytes_after = out->bytes_before;
out:
	free(table);
	return rc;
}

/* ---- purge binary logs ---- */

int myd_purge_server_logs(struct dbk_conn *conn, const struct dbk_action *a,
                          struct dbk_outcome *out, struct dbk_err *err)
{
	struct myd_binlogs before, after;
	long pos = 0;
	int rc = -1, same = 0;

	memset(&before, 0, sizeof before);
	memset(&after, 0, sizeof after);
	if (act_begin(conn, a, DBK_A_PURGE_SERVER_LOGS, out, err) == -1)
		return -1;
	if ((same = act_same_sql(conn, a, out, err)) != 0) {
		for (size_t i = 0; same == 1 && i < a->n_objects; i++)
			act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
		rc = same == 1 ? 0 : -1;
		goto out;
	}
	if (myd_binlogs_read(conn, &before, err) == -1)
		goto out;
	for (size_t i = 0; i < a->n_objects; i++) {
		if ((pos = myd_binlogs_find(&before, a->objects[i].name)) < 0)
			act_status(out, i, DBK_OBJ_SKIPPED_CHANGED);
		else
			out->bytes_before += before.size[pos];
	}
	if (myd_exec(conn, a->sql, "purge binary logs", err) == -1) {
		for (size_t i = 0; i < a->n_objects; i++)
			if (myd_binlogs_find(&before, a->objects[i].name) >= 0)
				act_status(out, i, DBK_OBJ_FAILED);
		goto out;
	}
	if (myd_binlogs_read(conn, &after, err) == -1)
		goto out;
	for (size_t i = 0; i < a->n_objects; i++) {
		if (myd_binlogs_find(&before, a->objects[i].name) < 0)
			continue;
		if ((pos = myd_binlogs_find(&after, a->objects[i].name)) < 0) {
			act_status(out, i, DBK_OBJ_DONE);
		} else {
			/* The server keeps a file a connected replica still reads. */
			act_status(out, i, DBK_OBJ_SKIPPED_LOCKED);
			act_note(out, "%s kept by the server (a replica still reads it?)",
			         a->objects[i].name);
			out->bytes_after += after.size[pos];
		}
	}
	rc = 0;
out:
	myd_binlogs_clear(&before);
	myd_binlogs_clear(&after);
	return rc;
}

/* ---- purge rows ---- */

/* Sleeps ms in slices, returning early (false) on cancel or deadline. */
static bool act_pause(struct dbk_conn *conn, int64_t ms, int64_t deadline)
{
	int64_t end = myd_monotonic_ms() + ms, now = 0, step = 0;
	struct timespec ts;

	while ((now = myd_monotonic_ms()) < end) {
		if (myd_is_cancelled(conn) || (deadline > 0 && now >= deadline))
			return false;
		step = end - now < MYD_PAUSE_SLICE_MS ? end - now : MYD_PAUSE_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		nanosleep(&ts, NULL);
	}
	return !myd_is_cancelled(conn);
}

struct act_purge {
	struct dbk_conn *conn;
	const struct dbk_action *a;
	struct dbk_outcome *out;
	struct myd_purge_shape shape;
	struct myd_buf table;   /* `schema`.`name` */
	bool lag_guard;         /* this server is a replica and the policy limits lag */
	int64_t batches;
	int64_t estimate;       /* old rows as the optimizer guesses them; -1: unknown */
};

static bool act_purge_should_stop(struct act_purge *p)
{
	if (myd_is_cancelled(p->conn)) {
		act_note(p->out, "cancelled");
		return true;
	}
	if (p->a->deadline_ms > 0 && myd_monotonic_ms() >= p->a->deadline_ms) {
		act_note(p->out, "deadline reached");
		return true;
	}
	return false;
}

/* Pauses while this server's own replication lag is above the limit. The
 * lag of this server's replicas is not observable from a primary (MariaDB
 * and MySQL show it only on the replica), so a primary is not guarded.
 * Returns 0 to go on, 1 to stop early, -1 on error. */
static int act_purge_lag(struct act_purge *p, struct dbk_err *err)
{
	int64_t start = myd_monotonic_ms(), lag = -1;
	bool replica = false;

	for (;;) {
		if (myd_replica_lag(p->conn, &replica, &lag, err) == -1)
			return -1;
		if (!replica || (lag >= 0 && lag <= p->a->max_replica_lag_ms))
			return 0;
		if (p->a->deadline_ms == 0 && myd_monotonic_ms() - start > MYD_LAG_WAIT_MAX_MS) {
			act_note(p->out, "replica lag stayed above the limit");
			return 1;
		}
		if (!act_pause(p->conn, 1000, p->a->deadline_ms)) {
			act_note(p->out, "stopped while waiting for replica lag");
			return 1;
		}
	}
}

static int act_purge_setup(struct act_purge *p, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	char *fmt = NULL, *keep = NULL;
	bool replica = false;
	int64_t lag = -1;
	int rc = -1;

	/* READ COMMITTED: a batch locks only the rows it deletes, not the gaps
	 * around them, so concurrent inserts never wait on the purge. InnoDB
	 * refuses it with statement-based binary logging, so keep the default
	 * isolation there. The setting stays for the session; later actions
	 * are DDL or ANALYZE, which it does not affect. */
	if (myd_query_value(p->conn, "SELECT @@SESSION.binlog_format", "binlog format", &fmt,
	                    err) == -1)
		goto out;
	if (fmt != NULL && strcasecmp(fmt, "STATEMENT") != 0 &&
	    myd_exec(p->conn, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
	             "set isolation", err) == -1)
		goto out;
	if (p->a->max_replica_lag_ms > 0) {
		if (myd_replica_lag(p->conn, &replica, &lag, err) == -1)
			goto out;
		p->lag_guard = replica;
		if (!replica)
			act_note(p->out, "lag of downstream replicas is not observable from this "
			         "primary; not guarded");
	}
	/* The row holding the highest AUTO_INCREMENT value survives, so ids are
	 * never handed out twice after a restart (pre-8.0 MySQL re-derives the
	 * counter from MAX(id)). Taken once: rows inserted later are newer.
	 * Read by a plain SELECT, a consistent read: the same subquery inside
	 * SET is a locking read that waits behind the application's row locks
	 * (and makes its writers queue behind the agent). */
	if (p->shape.guard != NULL) {
		myd_buf_add(&sql, "SELECT MAX(");
		if (myd_buf_ident(&sql, p->shape.guard, err) == -1)
			goto out;
		myd_buf_add(&sql, ") FROM %s", p->table.p);
		if (myd_query_value(p->conn, sql.p, "purge high-water mark", &keep, err) == -1)
			goto out;
		if (keep != NULL && !myd_is_int_literal(keep)) {
			myd_err_set(err, DBK_E_INTERNAL, "%s: purge: high-water mark '%s' is not "
			            "an integer", p->conn->target, keep);
			goto out;
		}
		myd_buf_free(&sql);
		myd_buf_add(&sql, "SET @dbk_keep = %s", keep != NULL ? keep : "NULL");
		if (myd_exec(p->conn, sql.p, "purge high-water mark", err) == -1)
			goto out;
	}
	/* Below every key except BIGINT's very minimum, which no table uses. */
	if (p->shape.form == MYD_PURGE_PK_RANGE &&
	    myd_exec(p->conn, "SET @dbk_lo = -9223372036854775807 - 1, @dbk_hi = NULL",
	             "purge range start", err) == -1)
		goto out;
	rc = 0;
out:
	free(keep);
	free(fmt);
	myd_buf_free(&sql);
	return rc;
}

/* The optimizer's guess of the old rows, for progress: only a range read
 * on an index of the time column gives one; a full scan's row count would
 * be the whole table. -1 when there is no such guess. */
static int64_t act_purge_estimate(struct act_purge *p)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int64_t n = -1;
	int type = -1, rows = -1;

	myd_buf_add(&sql, "EXPLAIN SELECT 1 FROM %s WHERE ", p->table.p);
	if (myd_buf_ident(&sql, p->a->time_column, &e) == -1)
		goto out;
	if (p->shape.epoch_time)
		myd_buf_add(&sql, " < %lld", (long long)p->a->cutoff);
	else
		myd_buf_add(&sql, " < FROM_UNIXTIME(%lld)", (long long)p->a->cutoff);
	if ((res = myd_query(p->conn, sql.p, "purge estimate", &e)) == NULL)
		goto out;
	type = myd_field_index(res, "type");
	rows = myd_field_index(res, "rows");
	if (type >= 0 && rows >= 0 && (row = mysql_fetch_row(res)) != NULL &&
	    row[type] != NULL && strcmp(row[type], "range") == 0)
		n = myd_cell_i64(row[rows], -1);
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return n;
}

/* Sets @dbk_hi to the key of the batch_rows-th old row after @dbk_lo (a
 * consistent, lock-free read), or to @dbk_keep when fewer remain: *last. */
static int act_purge_next_range(struct act_purge *p, bool *last, struct dbk_err *err)
{
	const struct dbk_action *a = p->a;
	struct myd_buf sql = MYD_BUF_INIT;
	char *hi = NULL;
	int rc = -1, r = 0;

	myd_buf_add(&sql, "SELECT ");
	r |= myd_buf_ident(&sql, p->shape.key, err);
	myd_buf_add(&sql, " FROM %s WHERE ", p->table.p);
	r |= myd_buf_ident(&sql, p->shape.key, err);
	myd_buf_add(&sql, " > @dbk_lo AND ");
	r |= myd_buf_ident(&sql, p->shape.key, err);
	myd_buf_add(&sql, " < @dbk_keep AND ");
	r |= myd_buf_ident(&sql, a->time_column, err);
	if (p->shape.epoch_time)
		myd_buf_add(&sql, " < %lld", (long long)a->cutoff);
	else
		myd_buf_add(&sql, " < FROM_UNIXTIME(%lld)", (long long)a->cutoff);
	myd_buf_add(&sql, " ORDER BY ");
	r |= myd_buf_ident(&sql, p->shape.key, err);
	myd_buf_add(&sql, " LIMIT %lld, 1", (long long)(a->batch_rows - 1));
	if (r != 0 || myd_query_value(p->conn, sql.p, "purge next range", &hi, err) == -1)
		goto out;
	myd_buf_free(&sql);
	*last = hi == NULL;
	if (hi != NULL && !myd_is_int_literal(hi)) {
		myd_err_set(err, DBK_E_INTERNAL, "%s: purge: key value '%s' is not an integer",
		            p->conn->target, hi);
		goto out;
	}
	if (hi != NULL)
		myd_buf_add(&sql, "SET @dbk_hi = %s", hi);
	else
		myd_buf_add(&sql, "SET @dbk_hi = @dbk_keep");
	rc = myd_exec(p->conn, sql.p, "purge range", err);
out:
	free(hi);
	myd_buf_free(&sql);
	return rc;
}

/* Ends the batch loop on a failed batch. Lock waits and cancels stop the
 * purge early (0); anything else fails it (-1). */
static int act_purge_failed(struct act_purge *p, struct dbk_err *e, struct dbk_err *err)
{
	if (e->code == DBK_E_LOCK_TIMEOUT) {
		p->out->stopped_early = true;
		act_status(p->out, 0, DBK_OBJ_SKIPPED_LOCKED);
		act_note(p->out, "%s", e->msg);
		return 0;
	}
	if (e->code == DBK_E_CANCELLED) {
		p->out->stopped_early = true;
		act_note(p->out, "cancelled during a batch (rolled back)");
		return 0;
	}
	act_status(p->out, 0, DBK_OBJ_FAILED);
	act_note(p->out, "%s", e->msg);
	if (err != NULL)
		*err = *e;
	return -1;
}

/* The batch loop: each batch is one autocommitted DELETE (exactly
 * action->sql), so no transaction spans a pause. */
static int act_purge_loop(struct act_purge *p, struct dbk_err *err)
{
	const struct dbk_action *a = p->a;
	struct dbk_err e;
	bool last = false;
	int64_t n = 0;
	int r = 0;

	myd_progress(p->conn, "deleting", 0, p->estimate);
	for (;;) {
		if (act_purge_should_stop(p)) {
			p->out->stopped_early = true;
			return 0;
		}
		if (p->lag_guard && (r = act_purge_lag(p, &e)) != 0) {
			if (r == -1)
				return act_purge_failed(p, &e, err);
			p->out->stopped_early = true;
			return 0;
		}
		if (p->shape.form == MYD_PURGE_PK_RANGE &&
		    act_purge_next_range(p, &last, &e) == -1)
			return act_purge_failed(p, &e, err);
		if (myd_exec(p->conn, a->sql, "purge batch", &e) == -1)
			return act_purge_failed(p, &e, err);
		n = (int64_t)mysql_affected_rows(p->conn->my);
		p->out->rows += n;
		p->batches++;
		myd_progress(p->conn, "deleting", p->out->rows, p->estimate);
		/* Key ranges: done after the final range deletes less than a batch.
		 * By time: done when a batch comes back short. */
		if (n < a->batch_rows && (p->shape.form == MYD_PURGE_BY_TIME || last))
			break;
		if (p->shape.form == MYD_PURGE_PK_RANGE && !last &&
		    myd_exec(p->conn, "SET @dbk_lo = @dbk_hi", "purge advance", &e) == -1)
			return act_purge_failed(p, &e, err);
		if (a->pause_ms > 0 && !act_pause(p->conn, a->pause_ms, a->deadline_ms))
			continue; /* the check at the top says why */
	}
	act_status(p->out, 0, DBK_OBJ_DONE);
	return 0;
}

int myd_purge_rows(struct dbk_conn *conn, const struct dbk_action *a,
                   struct dbk_outcome *out, struct dbk_err *err)
{
	struct act_purge p;
	struct dbk_err e;
	int rc = -1, r = 0;

	memset(&p, 0, sizeof p);
	p.conn = conn;
	p.a = a;
	p.out = out;
	if (act_begin(conn, a, DBK_A_PURGE_ROWS, out, err) == -1)
		return -1;
	if (a->batch_rows <= 0)
		return myd_err_set(err, DBK_E_INTERNAL, "%s: purge without a batch size",
		                   conn->target);
	if ((r = myd_purge_shape(conn, a, &p.shape, &e)) != 0) {
		act_status(out, 0, r == 1 ? DBK_OBJ_SKIPPED_CHANGED : DBK_OBJ_FAILED);
		act_note(out, "%s", e.msg);
		if (r == -1 && err != NULL)
			*err = e;
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	if ((r = act_same_sql(conn, a, out, err)) != 0) {
		if (r == 1)
			act_status(out, 0, DBK_OBJ_SKIPPED_CHANGED);
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	if (myd_buf_ident(&p.table, myd_schema(conn, a->objects[0].schema), err) == -1)
		goto out;
	myd_buf_addn(&p.table, ".", 1);
	if (myd_buf_ident(&p.table, a->objects[0].name, err) == -1 ||
	    act_purge_setup(&p, err) == -1)
		goto out;
	p.estimate = conn->progress != NULL ? act_purge_estimate(&p) : -1;
	rc = act_purge_loop(&p, err);
	act_note(out, "%lld rows in %lld batches", (long long)out->rows, (long long)p.batches);
out:
	myd_purge_shape_clear(&p.shape);
	myd_buf_free(&p.table);
	return rc;
}

/* ---- rotate a server log table ---- */

/* After a failed step: the work tables go again (the rotation's own first
 * statement) and binary logging comes back on for the session (its last).
 * Best effort; whatever stays is dropped by the next rotation's first
 * statement. Not after a lost connection: nothing can run. */
static void act_rotate_undo(struct dbk_conn *conn, const struct myd_rotation *r,
                            size_t failed, struct dbk_outcome *out)
{
	struct dbk_err e;

	if (failed > r->cleanup && myd_exec(conn, r->stmt[r->cleanup], "rotation cleanup",
	                                    &e) == -1) {
		act_note(out, "work tables left behind: %s", e.msg);
		myd_log(conn, LOG_WARNING, "%s", e.msg);
	}
	if (r->binlog_off && failed > 0 &&
	    myd_exec(conn, r->stmt[r->n - 1], "restore binary logging", &e) == -1)
		myd_log(conn, LOG_WARNING, "%s", e.msg);
}

/* Entries the RENAME retired minus those copied: what the rotation
 * removed. A scan like the copy's; -1 when it cannot be read. */
static int64_t act_rotate_removed(struct dbk_conn *conn, const struct myd_rotation *r,
                                  int64_t kept)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_err e;
	char *v = NULL;
	int64_t n = -1;

	myd_buf_add(&sql, "SELECT COUNT(*) FROM %s", r->old_table);
	if (myd_query_value(conn, sql.p, "count rotated entries", &v, &e) == 0 && v != NULL)
		n = myd_cell_i64(v, -1);
	free(v);
	myd_buf_free(&sql);
	return n >= kept ? n - kept : -1;
}

/* Runs the rotation's statements in order (action->sql is them, joined);
 * a lock not granted in time at any step skips the table. */
static int act_rotate_run(struct dbk_conn *conn, const struct myd_rotation *r,
                          struct dbk_outcome *out, struct dbk_err *err)
{
	struct dbk_err e;
	int64_t kept = 0, removed = -1;

	for (size_t i = 0; i < r->n; i++) {
		/* A cancel stops the rotation before the swap; after it, the
		 * rotation finishes (drops the old table, restores logging). */
		if (i > 0 && i <= r->swap && myd_is_cancelled(conn)) {
			act_rotate_undo(conn, r, i, out);
			out->stopped_early = true;
			act_note(out, "cancelled before the swap; nothing rotated");
			return 0;
		}
		myd_progress(conn, "rotating", (int64_t)i, (int64_t)r->n);
		if (myd_exec(conn, r->stmt[i], "rotate log table", &e) == -1) {
			if (e.code != DBK_E_CONNECT)
				act_rotate_undo(conn, r, i, out);
			if (i > r->swap)
				act_note(out, "rotated, but %s was not dropped", r->old_table);
			if (e.code == DBK_E_LOCK_TIMEOUT) {
				act_status(out, 0, DBK_OBJ_SKIPPED_LOCKED);
				act_note(out, "%s", e.msg);
				return 0;
			}
			act_status(out, 0, e.code == DBK_E_CANCELLED ? DBK_OBJ_PENDING
			                                             : DBK_OBJ_FAILED);
			act_note(out, "%s", e.msg);
			if (err != NULL)
				*err = e;
			return -1;
		}
		if (i == r->copy)
			kept = (int64_t)mysql_affected_rows(conn->my);
		if (i == r->swap)
			removed = act_rotate_removed(conn, r, kept);
	}
	myd_progress(conn, "rotating", (int64_t)r->n, (int64_t)r->n);
	act_status(out, 0, DBK_OBJ_DONE);
	out->rows = removed > 0 ? removed : 0;
	if (removed >= 0)
		act_note(out, "%lld entries removed, %lld kept", (long long)removed,
		         (long long)kept);
	else
		act_note(out, "%lld entries kept", (long long)kept);
	return 0;
}

int myd_rotate_log_table(struct dbk_conn *conn, const struct dbk_action *a,
                         struct dbk_outcome *out, struct dbk_err *err)
{
	struct myd_rotation r;
	int rc = -1, same = 0;

	memset(&r, 0, sizeof r);
	if (act_begin(conn, a, DBK_A_ROTATE_LOG_TABLE, out, err) == -1)
		return -1;
	/* Any object but the two log tables is refused here, as a failure. */
	if (myd_rotation_build(conn, a, &r, err) == -1) {
		act_status(out, 0, DBK_OBJ_FAILED);
		act_note(out, "%s", err != NULL ? err->msg : "not rendered");
		goto out;
	}
	if ((same = act_same_sql(conn, a, out, err)) != 0) {
		if (same == 1)
			act_status(out, 0, DBK_OBJ_SKIPPED_CHANGED);
		rc = same == 1 ? 0 : -1;
		goto out;
	}
	rc = act_rotate_run(conn, &r, out, err);
out:
	myd_rotation_clear(&r);
	return rc;
}
