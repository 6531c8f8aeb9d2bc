/* drivers/postgres/pgd_trigger.c: dropping the trigger a crashed pg_repack
 * left on an application table, and refusing to drop a pg_repack log table
 * while such a trigger still writes into it (the planner orders the two;
 * this is the defense behind it). Which trigger to drop is not decided
 * here. */
#include "pgd_trigger.h"

#include <stdlib.h>
#include <string.h>

#include "pgd_observe.h"

/* The trigger by OID, compared with what the planner saw. The tag keeps
 * the "pg_repack is running" check of other sessions off this query. */
static const char pgd_trigcheck_sql[] =
	"/* dbkeeper:drop_trigger */ WITH " PGD_CTE_REPACK
	" SELECT t.tgname = $2 AND t.tgrelid = $3::pg_catalog.oid AND n.nspname = $4"
	"  AND c.relname = $5 AND c.relkind IN ('r', 'p'),"
	" " PGD_REPACK_TRIGGER_FN ", (SELECT running FROM repack)"
	" FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid"
	" JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace"
	" WHERE t.oid = $1::pg_catalog.oid";

/* 1: still the pg_repack leftover observed; 0: skipped (status, note);
 * -1: error. */
static int pgd_trigger_check(struct dbk_conn *c, struct pgd_run *r,
                             struct dbk_err *err)
{
	const struct dbk_object *trg = &r->a->objects[0], *tbl = &r->a->objects[1];
	char t[24], rel[24];
	const char *params[5] = { pgd_i64(t, sizeof t, (int64_t)trg->id), trg->name,
	                          pgd_i64(rel, sizeof rel, (int64_t)tbl->id), tbl->schema,
	                          tbl->name };
	PGresult *res = NULL;
	const char *why = NULL;

	if (pgd_exec(c, pgd_trigcheck_sql, 5, params, &res, "drop_trigger re-check", err) == -1)
		return -1;
	if (PQntuples(res) != 1)
		why = "trigger gone since observation";
	else if (!pgd_bool(res, 0, 0))
		why = "trigger or its table renamed or replaced since observation";
	else if (!pgd_bool(res, 0, 1))
		why = "the trigger's function is not pg_repack's: not dropped";
	else if (pgd_bool(res, 0, 2))
		why = "pg_repack is running: its trigger is in use";
	PQclear(res);
	if (why == NULL)
		return 1;
	r->status[0] = DBK_OBJ_SKIPPED_CHANGED;
	pgd_run_note(r, "%s", why);
	return 0;
}

/* The lock DROP TRIGGER takes, taken first so the re-check under it is
 * final: renaming or creating a trigger needs a lock on the table too.
 * 1: locked; 0: skipped (status, note); -1: error. */
static int pgd_trigger_lock(struct dbk_conn *c, struct pgd_run *r,
                            struct dbk_err *err)
{
	const struct dbk_object *tbl = &r->a->objects[1];
	char *q = pgd_qualify(c, tbl->schema, tbl->name, err), *sql = NULL;
	struct dbk_err e;
	int rc = 1;

	if (q == NULL)
		return -1;
	memset(&e, 0, sizeof e);
	/* NOWAIT: the trigger sits on a live application table, and waiting
	 * in its lock queue would stall every query queued behind us. */
	sql = pgd_xasprintf("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT", q);
	if (pgd_cmd(c, sql, "lock", &e) == -1) {
		rc = 0;
		if (e.code == DBK_E_LOCK_TIMEOUT) {
			r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
			pgd_run_note(r, "table locked by another session: not waited on");
		} else if (strcmp(e.sqlstate, "42P01") == 0) {
			r->status[0] = DBK_OBJ_SKIPPED_CHANGED;
			pgd_run_note(r, "table gone since observation");
		} else {
			*err = e;
			rc = -1;
		}
	}
	free(sql);
	free(q);
	return rc;
}

/* Runs action->sql and commits. 1: dropped; -1: error. */
static int pgd_trigger_run(struct dbk_conn *c, struct pgd_run *r,
                           struct dbk_err *err)
{
	if (pgd_check_cancel(c, err) == -1 ||
	    pgd_cmd(c, r->a->sql, "drop trigger", err) == -1 ||
	    pgd_commit(c, err) == -1)
		return -1;
	r->status[0] = DBK_OBJ_DONE;
	pgd_run_note(r, "dropped trigger %s on %s.%s", r->a->objects[0].name,
	    r->a->objects[1].schema, r->a->objects[1].name);
	return 1;
}

int pgd_drop_trigger(struct dbk_conn *c, const struct dbk_action *a,
                     struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	int go = -1;

	if (pgd_action_start(c, a, 2, 2, err) == -1)
		return -1;
	if (a->objects[0].id == 0 || a->objects[1].id == 0)
		return pgd_err_set(err, DBK_E_CONFIG, "%s: drop_trigger needs the trigger's"
		    " and the table's OIDs", c->target);
	pgd_run_init(&r, a);
	pgd_progress(c, "dropping", 0, 1);
	if (pgd_begin(c, false, a->statement_timeout_ms, a->lock_timeout_ms, err) == -1)
		goto out;
	/* Before locking: a changed trigger is skipped without touching its
	 * table. Under the lock: the check that counts. */
	if ((go = pgd_trigger_check(c, &r, err)) == 1 &&
	    (go = pgd_trigger_lock(c, &r, err)) == 1 &&
	    (go = pgd_trigger_check(c, &r, err)) == 1)
		go = pgd_trigger_run(c, &r, err);
	if (go != 1)
		pgd_rollback(c); /* skipped or failed: nothing to keep */
	if (go == -1)
		goto out;
	pgd_progress(c, "dropping", go, 1);
	pgd_run_finish(&r, out);
	return 0;
out:
	pgd_run_free(&r);
	return -1;
}

/* ---- Log tables a trigger still feeds ---- */

static const char pgd_fed_sql[] =
	"SELECT c.oid, tn.nspname, tc.relname, t.tgname"
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_catalog.pg_trigger t ON t.tgrelid::pg_catalog.int8"
	"  = pg_catalog.substring(c.relname, '^log_([0-9]{1,10})$')::pg_catalog.int8"
	" JOIN pg_catalog.pg_class tc ON tc.oid = t.tgrelid"
	" JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace"
	" JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid"
	" JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace"
	" WHERE c.oid = ANY ($1::pg_catalog.oid[]) AND n.nspname = 'repack'"
	"  AND c.relname ~ '^log_[0-9]{1,10}$'"
	"  AND (t.tgname = 'repack_trigger' OR " PGD_REPACK_TRIGGER_FN ")";

static void pgd_keep_fed(struct pgd_run *r, const uint64_t *oids, const PGresult *res)
{
	for (int k = 0; k < PQntuples(res); k++) {
		uint64_t oid = (uint64_t)pgd_int(res, k, 0, 0);

		for (size_t i = 0; i < r->a->n_objects; i++) {
			if (r->status[i] != DBK_OBJ_PENDING || oids[i] != oid)
				continue;
			r->status[i] = DBK_OBJ_SKIPPED_CHANGED;
			pgd_run_note(r, "kept %s.%s: trigger %s on %s.%s still writes into it",
			    r->a->objects[i].schema, r->a->objects[i].name, PQgetvalue(res, k, 3),
			    PQgetvalue(res, k, 1), PQgetvalue(res, k, 2));
		}
	}
}

int pgd_keep_fed_logs(struct dbk_conn *c, struct pgd_run *r,
                      const uint64_t *oids, struct dbk_err *err)
{
	uint64_t *pending = pgd_xcalloc(r->a->n_objects, sizeof *pending);
	size_t np = 0;
	char *arr = NULL;
	const char *params[1];
	PGresult *res = NULL;
	int rc = 0;

	for (size_t i = 0; i < r->a->n_objects; i++)
		if (r->status[i] == DBK_OBJ_PENDING && oids[i] != 0)
			pending[np++] = oids[i];
	if (np > 0) {
		params[0] = arr = pgd_oid_array(pending, np);
		rc = pgd_exec(c, pgd_fed_sql, 1, params, &res, "pg_repack trigger check", err);
		if (rc == 0)
			pgd_keep_fed(r, oids, res);
	}
	PQclear(res);
	free(arr);
	free(pending);
	return rc;
}
