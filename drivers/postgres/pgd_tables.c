/* drivers/postgres/pgd_tables.c: dropping and analyzing tables the planner
 * chose. The drop re-checks every table and takes its locks with NOWAIT,
 * because waiting in the lock queue would stall every application query
 * that arrives behind us; a table that cannot be locked at once is skipped
 * and reported. Nothing here decides which tables. */
#include "pgd_tables.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pgd_action.h"
#include "pgd_render.h"
#include "pgd_trigger.h"

/* Tables a DROP of t must lock as well: those t's foreign keys reference
 * (their FK triggers go) and a partition's parent. */
static const char pgd_related_sql[] =
	"SELECT x.t, n.nspname, c.relname FROM ("
	" SELECT k.conrelid AS t, k.confrelid AS r FROM pg_catalog.pg_constraint k"
	"  WHERE k.contype = 'f' AND k.conrelid = ANY ($1::pg_catalog.oid[])"
	"   AND k.confrelid <> k.conrelid"
	" UNION SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i"
	"  JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid"
	"  WHERE p.relispartition AND i.inhrelid = ANY ($1::pg_catalog.oid[])) x"
	" JOIN pg_catalog.pg_class c ON c.oid = x.r"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";

static int pgd_lock_rel(struct dbk_conn *c, const char *schema, const char *name,
                        struct dbk_err *err)
{
	char *q = pgd_qualify(c, schema, name, err), *sql = NULL;
	int rc = -1;

	if (q == NULL)
		return -1;
	sql = pgd_xasprintf("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT", q);
	rc = pgd_cmd(c, sql, "lock", err);
	free(sql);
	free(q);
	return rc;
}

/* Maps a per-table failure to its status and a note. */
static void pgd_table_failed(struct dbk_conn *c, struct pgd_run *r, size_t i,
                             const struct dbk_err *e)
{
	const struct dbk_object *o = &r->a->objects[i];

	if (e->code == DBK_E_LOCK_TIMEOUT) {
		r->status[i] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "locked: %s.%s", o->schema, o->name);
	} else if (strcmp(e->sqlstate, "42P01") == 0) {
		r->status[i] = DBK_OBJ_SKIPPED_CHANGED;
		pgd_run_note(r, "gone: %s.%s", o->schema, o->name);
	} else {
		r->status[i] = DBK_OBJ_FAILED;
		pgd_run_note(r, "failed: %s.%s: %s", o->schema, o->name, pgd_err_detail(c, e));
	}
}

/* Locks table i and its related tables inside a savepoint. Returns -1
 * only for errors that end the action; otherwise the status says. */
static int pgd_lock_one(struct dbk_conn *c, struct pgd_run *r, size_t i,
                        uint64_t oid, const PGresult *rel, struct dbk_err *err)
{
	const struct dbk_object *o = &r->a->objects[i];
	struct dbk_err e;
	int failed = 0;

	memset(&e, 0, sizeof e);
	if (pgd_cmd(c, "SAVEPOINT pgd_lock", "savepoint", err) == -1)
		return -1;
	failed = pgd_lock_rel(c, o->schema, o->name, &e);
	for (int k = 0; !failed && k < PQntuples(rel); k++)
		if ((uint64_t)pgd_int(rel, k, 0, 0) == oid)
			failed = pgd_lock_rel(c, PQgetvalue(rel, k, 1), PQgetvalue(rel, k, 2), &e);
	if (!failed)
		return pgd_cmd(c, "RELEASE SAVEPOINT pgd_lock", "release savepoint", err);
	if (pgd_fatal(&e)) {
		*err = e;
		return -1;
	}
	pgd_table_failed(c, r, i, &e);
	return pgd_cmd(c, "ROLLBACK TO SAVEPOINT pgd_lock", "rollback to savepoint", err);
}

static int pgd_lock_all(struct dbk_conn *c, struct pgd_run *r, const uint64_t *oids,
                        struct dbk_err *err)
{
	char *arr = pgd_oid_array(oids, r->a->n_objects);
	const char *params[1] = { arr };
	PGresult *rel = NULL;
	int rc = -1;

	if (pgd_exec(c, pgd_related_sql, 1, params, &rel, "find related tables", err) == -1)
		goto out;
	for (size_t i = 0; i < r->a->n_objects; i++)
		if (r->status[i] == DBK_OBJ_PENDING &&
		    pgd_lock_one(c, r, i, oids[i], rel, err) == -1)
			goto out;
	rc = 0;
out:
	PQclear(rel);
	free(arr);
	return rc;
}

/* Runs sql in a savepoint. 1: done, 0: failed (e filled), -1: fatal. */
static int pgd_try(struct dbk_conn *c, const char *sql, struct dbk_err *e,
                   struct dbk_err *err)
{
	if (pgd_cmd(c, "SAVEPOINT pgd_try", "savepoint", err) == -1)
		return -1;
	if (pgd_cmd(c, sql, "drop", e) == 0)
		return pgd_cmd(c, "RELEASE SAVEPOINT pgd_try", "release savepoint", err) == -1 ? -1 : 1;
	if (pgd_fatal(e)) {
		*err = *e;
		return -1;
	}
	return pgd_cmd(c, "ROLLBACK TO SAVEPOINT pgd_try", "rollback to savepoint", err) == -1 ? -1 : 0;
}

static void pgd_mark_done(struct pgd_run *r, size_t i, const int64_t *sizes)
{
	r->status[i] = DBK_OBJ_DONE;
	if (sizes[i] > 0)
		r->o.bytes_before += sizes[i];
}

static void pgd_drop_progress(struct dbk_conn *c, const struct pgd_run *r)
{
	pgd_progress(c, "dropping", (int64_t)pgd_run_count(r, DBK_OBJ_DONE),
	    (int64_t)r->a->n_objects);
}

/* One statement failed for all (say a view depends on one table): drop
 * each on its own so one table does not hold back the rest. */
static int pgd_drop_each(struct dbk_conn *c, struct pgd_run *r,
                         const int64_t *sizes, struct dbk_err *err)
{
	for (size_t i = 0; i < r->a->n_objects; i++) {
		struct dbk_err e;
		char *sql = NULL;
		int ok = 0;

		if (r->status[i] != DBK_OBJ_PENDING)
			continue;
		memset(&e, 0, sizeof e);
		if ((sql = pgd_render_objects(c, r->a, &r->a->objects[i], 1, err)) == NULL)
			return -1;
		ok = pgd_try(c, sql, &e, err);
		free(sql);
		if (ok == -1)
			return -1;
		if (ok == 1)
			pgd_mark_done(r, i, sizes);
		else
			pgd_table_failed(c, r, i, &e);
		pgd_drop_progress(c, r);
	}
	return 0;
}

static int pgd_drop_locked(struct dbk_conn *c, struct pgd_run *r,
                           const int64_t *sizes, struct dbk_err *err)
{
	size_t n = 0;
	struct dbk_object *kept = pgd_pending(r, &n);
	char *sql = NULL;
	struct dbk_err e;
	int ok = 0, rc = -1;

	memset(&e, 0, sizeof e);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (n < r->a->n_objects) {
		if ((sql = pgd_render_objects(c, r->a, kept, n, err)) == NULL)
			goto out;
		pgd_run_note(r, "statement re-rendered for %zu of %zu tables", n, r->a->n_objects);
	}
	if ((ok = pgd_try(c, sql ? sql : r->a->sql, &e, err)) == -1)
		goto out;
	if (ok == 1) {
		for (size_t i = 0; i < r->a->n_objects; i++)
			if (r->status[i] == DBK_OBJ_PENDING)
				pgd_mark_done(r, i, sizes);
		pgd_drop_progress(c, r);
	} else {
		pgd_run_note(r, "one statement failed, dropping one by one");
		if (pgd_drop_each(c, r, sizes, err) == -1)
			goto out;
	}
	rc = 0;
out:
	free(sql);
	free(kept);
	return rc;
}

int pgd_drop_tables(struct dbk_conn *c, const struct dbk_action *a,
                    struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	uint64_t *oids = NULL;
	int64_t *sizes = NULL;
	int rc = -1;

	if (pgd_action_start(c, a, 1, SIZE_MAX, err) == -1)
		return -1;
	pgd_run_init(&r, a);
	oids = pgd_xcalloc(a->n_objects, sizeof *oids);
	sizes = pgd_xcalloc(a->n_objects, sizeof *sizes);
	pgd_drop_progress(c, &r);
	if (pgd_begin(c, false, a->statement_timeout_ms, a->lock_timeout_ms, err) == -1)
		goto out;
	/* Before locking: skip what changed without touching it (a pg_repack
	 * log table locked while its trigger lives would stall the writes
	 * to its application table). Under the locks: the authoritative
	 * check (names cannot change any more) and the sizes, which cost
	 * nothing now. */
	if (pgd_recheck(c, a->objects, a->n_objects, "rp", oids, NULL, r.status, err) == -1 ||
	    pgd_keep_fed_logs(c, &r, oids, err) == -1 ||
	    pgd_lock_all(c, &r, oids, err) == -1 ||
	    pgd_recheck(c, a->objects, a->n_objects, "rp", oids, sizes, r.status, err) == -1 ||
	    pgd_keep_fed_logs(c, &r, oids, err) == -1 ||
	    pgd_drop_locked(c, &r, sizes, err) == -1 || pgd_commit(c, err) == -1)
		goto out;
	pgd_run_note(&r, "dropped %zu of %zu", pgd_run_count(&r, DBK_OBJ_DONE), a->n_objects);
	pgd_run_finish(&r, out);
	rc = 0;
out:
	if (rc == -1) {
		pgd_rollback(c);
		pgd_run_free(&r);
	}
	free(sizes);
	free(oids);
	return rc;
}

/* ---- ANALYZE ---- */

static int pgd_analyze_each(struct dbk_conn *c, struct pgd_run *r,
                            struct dbk_err *err)
{
	for (size_t i = 0; i < r->a->n_objects; i++) {
		struct dbk_err e;
		char *sql = NULL;
		int failed = 0;

		if (r->status[i] != DBK_OBJ_PENDING)
			continue;
		memset(&e, 0, sizeof e);
		if ((sql = pgd_render_objects(c, r->a, &r->a->objects[i], 1, err)) == NULL)
			return -1;
		failed = pgd_cmd(c, sql, "analyze", &e);
		free(sql);
		if (failed && pgd_fatal(&e)) {
			*err = e;
			return -1;
		}
		if (failed)
			pgd_table_failed(c, r, i, &e);
		else
			r->status[i] = DBK_OBJ_DONE;
	}
	return 0;
}

static int pgd_analyze_run(struct dbk_conn *c, struct pgd_run *r,
                           struct dbk_err *err)
{
	size_t n = 0;
	struct dbk_object *kept = pgd_pending(r, &n);
	char *sql = NULL;
	struct dbk_err e;
	int rc = -1;

	memset(&e, 0, sizeof e);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (n < r->a->n_objects &&
	    (sql = pgd_render_objects(c, r->a, kept, n, err)) == NULL)
		goto out;
	/* Outside a transaction block ANALYZE commits table by table, so
	 * each table's lock is held only while it is sampled. */
	if (pgd_cmd(c, sql ? sql : r->a->sql, "analyze", &e) == 0) {
		for (size_t i = 0; i < r->a->n_objects; i++)
			if (r->status[i] == DBK_OBJ_PENDING)
				r->status[i] = DBK_OBJ_DONE;
	} else if (pgd_fatal(&e)) {
		*err = e;
		goto out;
	} else if (pgd_analyze_each(c, r, err) == -1) {
		goto out;
	}
	rc = 0;
out:
	free(sql);
	free(kept);
	return rc;
}

int pgd_analyze(struct dbk_conn *c, const struct dbk_action *a,
                struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	uint64_t *oids = NULL;
	int rc = -1;

	if (pgd_action_start(c, a, 1, SIZE_MAX, err) == -1)
		return -1;
	pgd_run_init(&r, a);
	oids = pgd_xcalloc(a->n_objects, sizeof *oids);
	if (pgd_recheck(c, a->objects, a->n_objects, "rp", oids, NULL, r.status, err) == -1 ||
	    pgd_set_timeouts(c, a->lock_timeout_ms, a->statement_timeout_ms, err) == -1)
		goto out;
	rc = pgd_analyze_run(c, &r, err);
	pgd_reset_timeouts(c);
	if (rc == 0) {
		pgd_run_note(&r, "analyzed %zu of %zu", pgd_run_count(&r, DBK_OBJ_DONE), a->n_objects);
		pgd_run_finish(&r, out);
	}
out:
	if (rc == -1)
		pgd_run_free(&r);
	free(oids);
	return rc;
}
