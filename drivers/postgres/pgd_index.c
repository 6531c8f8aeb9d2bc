/* drivers/postgres/pgd_index.c: rebuilding a bloated index and dropping an
 * invalid or leftover one. A failed concurrent rebuild leaves an invalid
 * copy that slows every write and is never used, so cleaning it up is part
 * of the rebuild, not a later chore. A running rebuild reports its phases
 * from a second short-lived session. Which index to touch is the planner's
 * decision. */
#include "pgd_index.h"

#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <syslog.h>

#include "pgd_action.h"

/* pgstatindex reads the whole index: only below this size. */
#define PGD_PGSTATINDEX_MAX (100LL * 1024 * 1024)

/* What the rebuild needs to know before it starts, from one query. */
struct pgd_preflight {
	int64_t size;
	uint64_t table_oid;
	int64_t old_pid;       /* a transaction older than the statement timeout */
	int64_t old_age_s;
	bool building;         /* an index build runs on the table */
	bool btree;
	char *dir;             /* where the new copy goes; NULL: not visible */
	char *stattuple_nsp;   /* pgstattuple's schema, NULL when absent */
};

static const char pgd_preflight_sql[] =
	"SELECT pg_catalog.pg_relation_size(i.indexrelid), i.indrelid,"
	" o.pid, extract(epoch FROM pg_catalog.now() - o.xact_start)::bigint,"
	" EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p"
	"         WHERE p.relid = i.indrelid),"
	" am.amname = 'btree',"
	" CASE WHEN c.reltablespace <> 0"
	"  THEN pg_catalog.pg_tablespace_location(c.reltablespace)"
	"  WHEN (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)"
	"   OR pg_catalog.pg_has_role(current_user, 'pg_read_all_settings', 'USAGE')"
	"  THEN pg_catalog.current_setting('data_directory') END,"
	" (SELECT n.nspname FROM pg_catalog.pg_extension e"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple')"
	" FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
	" JOIN pg_catalog.pg_am am ON am.oid = c.relam"
	" LEFT JOIN LATERAL (SELECT a.pid, a.xact_start FROM pg_catalog.pg_stat_activity a"
	"  WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()"
	"   AND a.backend_type = 'client backend'"
	"   AND (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL)"
	"   AND a.xact_start < pg_catalog.now() - $2::bigint * interval '1 millisecond'"
	"  ORDER BY a.xact_start LIMIT 1) o ON true"
	" WHERE i.indexrelid = $1::pg_catalog.oid";

static void pgd_preflight_free(struct pgd_preflight *p)
{
	free(p->dir);
	free(p->stattuple_nsp);
	memset(p, 0, sizeof *p);
}

static int pgd_preflight_read(struct dbk_conn *c, const struct dbk_action *a,
                              uint64_t oid, struct pgd_preflight *p,
                              struct dbk_err *err)
{
	char o[24], t[24];
	const char *params[2] = { pgd_i64(o, sizeof o, (int64_t)oid),
	                          pgd_i64(t, sizeof t, a->statement_timeout_ms) };
	PGresult *res = NULL;

	if (pgd_exec(c, pgd_preflight_sql, 2, params, &res, "rebuild pre-flight", err) == -1)
		return -1;
	if (PQntuples(res) == 1) {
		p->size = pgd_int(res, 0, 0, -1);
		p->table_oid = (uint64_t)pgd_int(res, 0, 1, 0);
		p->old_pid = pgd_int(res, 0, 2, 0);
		p->old_age_s = pgd_int(res, 0, 3, 0);
		p->building = pgd_bool(res, 0, 4);
		p->btree = pgd_bool(res, 0, 5);
		p->dir = pgd_str(res, 0, 6);
		p->stattuple_nsp = pgd_str(res, 0, 7);
	}
	PQclear(res);
	return 0;
}

/* A reading for the note only: the planner decided; this shows whether
 * the estimate held. Failure to read it changes nothing. */
static void pgd_confirm_bloat(struct dbk_conn *c, struct pgd_run *r, uint64_t oid,
                              const struct pgd_preflight *p)
{
	char *nsp = NULL, *sql = NULL, o[24];
	const char *params[1] = { pgd_i64(o, sizeof o, (int64_t)oid) };
	PGresult *res = NULL;
	struct dbk_err e;

	if (p->stattuple_nsp == NULL || !p->btree || p->size > PGD_PGSTATINDEX_MAX)
		return;
	memset(&e, 0, sizeof e);
	if ((nsp = pgd_quote(c, p->stattuple_nsp, &e)) == NULL)
		return;
	sql = pgd_xasprintf("SELECT avg_leaf_density FROM %s.pgstatindex($1::pg_catalog.oid::pg_catalog.regclass)", nsp);
	if (pgd_cmd(c, "SAVEPOINT pgd_confirm", "savepoint", &e) == 0) {
		if (pgd_exec(c, sql, 1, params, &res, "pgstatindex", &e) == 0) {
			pgd_run_note(r, "pgstatindex leaf density %.1f%%", pgd_dbl(res, 0, 0, -1));
			PQclear(res);
		} else {
			pgd_log(c, LOG_INFO, "%s", e.msg);
		}
		if (pgd_cmd(c, "ROLLBACK TO SAVEPOINT pgd_confirm", "rollback", &e) == -1)
			pgd_log(c, LOG_INFO, "%s", e.msg);
	}
	free(sql);
	free(nsp);
}

/* A second copy of the index must fit; checked only where the agent can
 * see the file system the index lives on. */
static int pgd_space_check(struct dbk_conn *c, const struct pgd_preflight *p,
                           struct dbk_err *err)
{
	struct statvfs vfs;
	uint64_t avail = 0;

	if (p->dir == NULL || p->dir[0] == '\0' || statvfs(p->dir, &vfs) == -1)
		return 0;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (p->size > 0 && avail < (uint64_t)p->size + (uint64_t)p->size / 10)
		return pgd_err_set(err, DBK_E_IO, "%s: %" PRIu64 " bytes free in %s, the rebuilt"
		    " index needs about %" PRId64 "; not rebuilding", c->target, avail, p->dir, p->size);
	return 0;
}

/* 1: go ahead; 0: skipped (status and note set); -1: error. */
static int pgd_rebuild_preflight(struct dbk_conn *c, struct pgd_run *r,
                                 struct pgd_preflight *p, uint64_t *oid,
                                 struct dbk_err *err)
{
	const struct dbk_action *a = r->a;
	struct dbk_err e;

	memset(&e, 0, sizeof e);
	if (pgd_begin(c, true, a->statement_timeout_ms, a->lock_timeout_ms, err) == -1)
		return -1;
	if (pgd_recheck(c, a->objects, 1, "iI", oid, NULL, r->status, err) == -1)
		goto fail;
	if (r->status[0] == DBK_OBJ_SKIPPED_CHANGED) {
		pgd_rollback(c);
		pgd_run_note(r, "index changed or gone since observation");
		return 0;
	}
	if (pgd_preflight_read(c, a, *oid, p, &e) == -1) {
		if (e.code != DBK_E_LOCK_TIMEOUT) {
			*err = e;
			goto fail;
		}
		pgd_rollback(c);
		r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "index locked by another session");
		return 0;
	}
	pgd_confirm_bloat(c, r, *oid, p);
	if (pgd_commit(c, err) == -1)
		return -1;
	if (p->building) {
		r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "another index build is running on the table");
		return 0;
	}
	if (a->rebuild_method != DBK_REBUILD_OFFLINE && p->old_pid != 0) {
		r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "transaction of pid %" PRId64 " open for %" PRId64 " s would stall"
		    " the concurrent build", p->old_pid, p->old_age_s);
		return 0;
	}
	return pgd_space_check(c, p, err) == -1 ? -1 : 1;
fail:
	pgd_rollback(c);
	return -1;
}

static int64_t pgd_index_size(struct dbk_conn *c, const struct dbk_object *o)
{
	const char *params[2] = { o->schema, o->name };
	PGresult *res = NULL;
	struct dbk_err e;
	int64_t size = -1;

	memset(&e, 0, sizeof e);
	if (pgd_exec(c, "SELECT pg_catalog.pg_relation_size(c.oid) FROM pg_catalog.pg_class c"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('i', 'I')",
	    2, params, &res, "index size", &e) == -1)
		return -1;
	if (PQntuples(res) == 1)
		size = pgd_int(res, 0, 0, -1);
	PQclear(res);
	return size;
}

/* Invalid copies a failed REINDEX CONCURRENTLY of `name` left on the
 * table: <name>_ccnew[N] / _ccold[N], the base possibly truncated to fit
 * 63 bytes. Only when no other build runs on the table, whose own copy
 * would look the same. */
static const char pgd_leftovers_sql[] =
	"SELECT n.nspname, c.relname FROM pg_catalog.pg_index i"
	" JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE i.indrelid = $1::pg_catalog.oid AND NOT i.indisvalid"
	"  AND c.relname ~ '_cc(new|old)[0-9]*$'"
	"  AND (pg_catalog.regexp_replace(c.relname, '_cc(new|old)[0-9]*$', '') = $2"
	"   OR (pg_catalog.octet_length(c.relname) >= 58 AND pg_catalog.starts_with($2,"
	"       pg_catalog.regexp_replace(c.relname, '_cc(new|old)[0-9]*$', ''))))"
	"  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p"
	"                  WHERE p.relid = i.indrelid)";

static int pgd_drop_one_leftover(struct dbk_conn *c, const char *schema,
                                 const char *name, struct dbk_err *err)
{
	char *q = pgd_qualify(c, schema, name, err), *sql = NULL;
	int rc = -1;

	if (q == NULL)
		return -1;
	sql = pgd_xasprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", q);
	rc = pgd_cmd(c, sql, "drop leftover index", err);
	/* A cancel() that arrived late may hit this statement instead of the
	 * rebuild it was meant for: once more. */
	if (rc == -1 && err->code == DBK_E_CANCELLED)
		rc = pgd_cmd(c, sql, "drop leftover index", err);
	free(sql);
	free(q);
	return rc;
}

/* Drops the leftovers and says what happened in the note. Never fails the
 * caller: a leftover that stays is found INVALID by the next observation. */
static void pgd_drop_leftovers(struct dbk_conn *c, struct pgd_run *r, uint64_t table_oid)
{
	char t[24];
	const char *params[2] = { pgd_i64(t, sizeof t, (int64_t)table_oid), r->a->objects[0].name };
	PGresult *res = NULL;
	struct dbk_err e;

	memset(&e, 0, sizeof e);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		pgd_run_note(r, "connection lost: an invalid copy may remain");
		return;
	}
	if (pgd_exec(c, pgd_leftovers_sql, 2, params, &res, "find leftovers", &e) == -1) {
		pgd_run_note(r, "leftover check failed: %s", e.msg);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		if (pgd_drop_one_leftover(c, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), &e) == 0)
			pgd_run_note(r, "dropped invalid leftover %s", PQgetvalue(res, i, 1));
		else
			pgd_run_note(r, "could not drop leftover %s: %s", PQgetvalue(res, i, 1), e.msg);
	}
	PQclear(res);
}

/* ---- Progress of a running rebuild ----
 * The REINDEX is sent asynchronously; while it runs, a second short-lived
 * session reads pg_stat_progress_create_index for its backend, so a long
 * rebuild says where it is. Progress is best effort: without the second
 * session the rebuild runs all the same. */

/* How often progress is read while the statement runs. */
#define PGD_PROGRESS_POLL_MS 200
/* A progress read must never hold up the rebuild's loop for long. */
#define PGD_PROGRESS_TIMEOUT "2000"

struct pgd_progress {
	PGconn *pg;         /* NULL: no progress reporting */
	char pid[24];       /* the rebuilding backend */
	char phase[64];     /* the last phase reported */
	char seen[160];     /* phases seen, for the note */
};

static const char pgd_progress_sql[] =
	"SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total"
	" FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1::integer";

/* A second session with the very parameters of the first (PQconninfo
 * gives those in use, password included), so nothing is rebuilt from the
 * agent's options. NULL when it cannot be had. */
static PGconn *pgd_progress_connect(struct dbk_conn *c)
{
	PQconninfoOption *opts = PQconninfo(c->pg);
	const char **keys = NULL, **vals = NULL;
	size_t n = 0, k = 0;
	PGconn *pg = NULL;

	if (opts == NULL)
		return NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		n++;
	keys = pgd_xcalloc(n + 1, sizeof *keys);
	vals = pgd_xcalloc(n + 1, sizeof *vals);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (o->val != NULL && o->val[0] != '\0')
			keys[k] = o->keyword, vals[k++] = o->val;
	pg = PQconnectdbParams(keys, vals, 0);
	free(keys);
	free(vals);
	PQconninfoFree(opts);
	if (pg != NULL && PQstatus(pg) == CONNECTION_OK) {
		PGresult *res = PQexec(pg, "SELECT pg_catalog.set_config('statement_timeout', '"
		    PGD_PROGRESS_TIMEOUT "', false)");

		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			PQclear(res);
			return pg;
		}
		PQclear(res);
	}
	PQfinish(pg);
	return NULL;
}

static void pgd_progress_open(struct dbk_conn *c, struct pgd_progress *pr)
{
	memset(pr, 0, sizeof *pr);
	snprintf(pr->pid, sizeof pr->pid, "%d", PQbackendPID(c->pg));
	if ((pr->pg = pgd_progress_connect(c)) == NULL)
		pgd_log(c, LOG_DEBUG, "%s: no second session for rebuild progress", c->target);
}

static void pgd_progress_close(struct pgd_progress *pr)
{
	if (pr->pg != NULL)
		PQfinish(pr->pg);
	pr->pg = NULL;
}

static double pgd_pct(int64_t done, int64_t total)
{
	return total > 0 ? 100.0 * (double)done / (double)total : 0.0;
}

/* The agent's callback takes one pair: tuples while the tree is loaded,
 * else blocks (table and index scans), else unknown (waiting phases). */
static void pgd_progress_report(struct dbk_conn *c, const PGresult *res)
{
	const char *phase = PQgetvalue(res, 0, 0);
	int64_t bdone = pgd_int(res, 0, 1, 0), btotal = pgd_int(res, 0, 2, 0);
	int64_t tdone = pgd_int(res, 0, 3, 0), ttotal = pgd_int(res, 0, 4, 0);

	if (strstr(phase, "tuples") != NULL && ttotal > 0)
		pgd_progress(c, phase, tdone, ttotal);
	else if (btotal > 0)
		pgd_progress(c, phase, bdone, btotal);
	else if (ttotal > 0)
		pgd_progress(c, phase, tdone, ttotal);
	else
		pgd_progress(c, phase, 0, -1);
}

/* Reads the progress row and hands it to the agent's callback; a new
 * phase is logged and remembered. */
static void pgd_progress_poll(struct dbk_conn *c, struct pgd_progress *pr)
{
	const char *params[1] = { pr->pid };
	PGresult *res = NULL;
	const char *phase = NULL;
	size_t used = 0;

	if (pr->pg == NULL)
		return;
	res = PQexecParams(pr->pg, pgd_progress_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (PQstatus(pr->pg) == CONNECTION_BAD)
			pgd_progress_close(pr); /* gone: stop asking */
		PQclear(res);
		return;
	}
	pgd_progress_report(c, res);
	phase = PQgetvalue(res, 0, 0);
	if (strcmp(phase, pr->phase) != 0) {
		snprintf(pr->phase, sizeof pr->phase, "%s", phase);
		pgd_log(c, LOG_INFO, "%s: rebuild progress: %s (blocks %" PRId64 "/%" PRId64
		    " %.0f%%, tuples %" PRId64 "/%" PRId64 " %.0f%%)", c->target, phase,
		    pgd_int(res, 0, 1, 0), pgd_int(res, 0, 2, 0),
		    pgd_pct(pgd_int(res, 0, 1, 0), pgd_int(res, 0, 2, 0)),
		    pgd_int(res, 0, 3, 0), pgd_int(res, 0, 4, 0),
		    pgd_pct(pgd_int(res, 0, 3, 0), pgd_int(res, 0, 4, 0)));
		used = strlen(pr->seen);
		snprintf(pr->seen + used, sizeof pr->seen - used, "%s%s",
		    used ? ", " : "", phase);
	}
	PQclear(res);
}

/* Waits for the statement sent on c, reading progress meanwhile. A
 * cancel() that came just before the statement reached the server is sent
 * again, so it is never lost. 0: input ready; -1: the connection broke. */
static int pgd_progress_wait(struct dbk_conn *c, struct pgd_progress *pr)
{
	struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN };
	bool recancelled = false;
	char errbuf[256];

	for (;;) {
		if (PQconsumeInput(c->pg) == 0)
			return -1;
		if (!PQisBusy(c->pg))
			return 0;
		if (pgd_cancelled(c) && !recancelled && c->cancel != NULL) {
			(void)PQcancel(c->cancel, errbuf, sizeof errbuf);
			recancelled = true;
		}
		if (poll(&p, 1, PGD_PROGRESS_POLL_MS) == 0)
			pgd_progress_poll(c, pr);
	}
}

/* Runs sql like pgd_cmd, reporting progress; the phases seen go to
 * pr->seen. The server's timeouts bound it as they bound pgd_cmd. */
static int pgd_rebuild_exec(struct dbk_conn *c, const char *sql,
                            struct pgd_progress *pr, struct dbk_err *err)
{
	PGresult *res = NULL, *first = NULL;
	int rc = -1;

	if (PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0) == 0)
		return pgd_err_result(c, NULL, "rebuild index", err);
	pgd_progress_poll(c, pr);
	(void)pgd_progress_wait(c, pr);
	/* Drain every result: the connection must be idle afterwards. On a
	 * broken connection libpq hands out an error result, then NULL. */
	while ((res = PQgetResult(c->pg)) != NULL) {
		if (first == NULL)
			first = res;
		else
			PQclear(res);
	}
	if (first != NULL && PQresultStatus(first) == PGRES_COMMAND_OK)
		rc = 0;
	else
		pgd_err_result(c, first, "rebuild index", err);
	PQclear(first);
	return rc;
}

/* Runs the rebuild. 0: done or skipped on a lock; -1: failed (err). */
static int pgd_rebuild_run(struct dbk_conn *c, struct pgd_run *r,
                           const struct pgd_preflight *p, struct dbk_err *err)
{
	const struct dbk_action *a = r->a;
	bool online = a->rebuild_method != DBK_REBUILD_OFFLINE;
	struct pgd_progress pr;
	struct dbk_err e;
	int rc = 0;

	memset(&e, 0, sizeof e);
	r->o.bytes_before = p->size;
	if (pgd_check_cancel(c, err) == -1 ||
	    pgd_set_timeouts(c, a->lock_timeout_ms, a->statement_timeout_ms, err) == -1)
		return -1;
	pgd_log(c, LOG_INFO, "%s: %s", c->target, a->sql);
	pgd_progress(c, "rebuilding index", 0, -1); /* until a phase is read */
	pgd_progress_open(c, &pr);
	rc = pgd_rebuild_exec(c, a->sql, &pr, &e);
	pgd_progress_close(&pr);
	if (pr.seen[0] != '\0')
		pgd_run_note(r, "phases seen: %s", pr.seen);
	if (rc == 0) {
		/* Still under the action's timeouts: pg_relation_size locks
		 * the index and must not wait without bound. */
		r->o.bytes_after = pgd_index_size(c, &a->objects[0]);
		pgd_reset_timeouts(c);
		r->status[0] = DBK_OBJ_DONE;
		pgd_run_note(r, "rebuilt %s: %" PRId64 " -> %" PRId64 " bytes",
		    online ? "concurrently" : "offline", r->o.bytes_before, r->o.bytes_after);
		return 0;
	}
	if (online)
		pgd_drop_leftovers(c, r, p->table_oid);
	pgd_reset_timeouts(c);
	if (e.code == DBK_E_LOCK_TIMEOUT) {
		r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "lock not granted within %" PRId64 " ms", a->lock_timeout_ms);
		return 0;
	}
	*err = e;
	if (r->o.note[0] != '\0') {
		size_t used = strlen(err->msg);

		snprintf(err->msg + used, sizeof err->msg - used, " (%s)", r->o.note);
	}
	return -1;
}

int pgd_rebuild_index(struct dbk_conn *c, const struct dbk_action *a,
                      struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	struct pgd_preflight p;
	uint64_t oid = 0;
	int rc = -1, go = 0;

	memset(&p, 0, sizeof p);
	if (pgd_action_start(c, a, 1, 2, err) == -1)
		return -1;
	pgd_run_init(&r, a);
	if ((go = pgd_rebuild_preflight(c, &r, &p, &oid, err)) == -1)
		goto out;
	if (go == 1 && pgd_rebuild_run(c, &r, &p, err) == -1)
		goto out;
	pgd_run_finish(&r, out);
	rc = 0;
out:
	if (rc == -1)
		pgd_run_free(&r);
	pgd_preflight_free(&p);
	return rc;
}

/* ---- Dropping an invalid or leftover index ---- */

static const char pgd_dropcheck_sql[] =
	"SELECT NOT i.indisvalid,"
	" (c.relname ~ '_cc(new|old)[0-9]*$'"
	"  OR (c.relname ~ '^index_[0-9]+$' AND (n.nspname = 'repack' OR NOT i.indisvalid))),"
	" EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p"
	"         WHERE p.relid = i.indrelid),"
	" pg_catalog.pg_relation_size(i.indexrelid)"
	" FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE i.indexrelid = $1::pg_catalog.oid";

/* 1: drop it; 0: skipped (status set). */
static int pgd_dropcheck(struct dbk_conn *c, struct pgd_run *r, struct dbk_err *err)
{
	uint64_t oid = 0;
	char o[24];
	const char *params[1];
	PGresult *res = NULL;
	int go = -1;

	if (pgd_begin(c, true, r->a->statement_timeout_ms, r->a->lock_timeout_ms, err) == -1)
		return -1;
	if (pgd_recheck(c, r->a->objects, 1, "iI", &oid, NULL, r->status, err) == -1)
		goto out;
	if (r->status[0] != DBK_OBJ_PENDING) {
		go = 0;
		goto out;
	}
	params[0] = pgd_i64(o, sizeof o, (int64_t)oid);
	if (pgd_exec(c, pgd_dropcheck_sql, 1, params, &res, "drop_index re-check", err) == -1) {
		if (err->code == DBK_E_LOCK_TIMEOUT) {
			r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
			go = 0;
		}
		goto out;
	}
	if (PQntuples(res) != 1 || !(pgd_bool(res, 0, 0) || pgd_bool(res, 0, 1))) {
		r->status[0] = DBK_OBJ_SKIPPED_CHANGED;
		pgd_run_note(r, "index is valid and not a leftover: not dropped");
		go = 0;
	} else if (pgd_bool(res, 0, 2)) {
		r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "an index build is running on the table");
		go = 0;
	} else {
		r->o.bytes_before = pgd_int(res, 0, 3, -1);
		go = 1;
	}
out:
	PQclear(res);
	pgd_rollback(c); /* read-only: nothing to keep */
	return go;
}

int pgd_drop_index(struct dbk_conn *c, const struct dbk_action *a,
                   struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	struct dbk_err e;
	int rc = -1, go = 0;

	memset(&e, 0, sizeof e);
	if (pgd_action_start(c, a, 1, 2, err) == -1)
		return -1;
	pgd_run_init(&r, a);
	pgd_progress(c, "dropping", 0, 1);
	if ((go = pgd_dropcheck(c, &r, err)) == -1)
		goto out;
	if (go == 1) {
		if (pgd_check_cancel(c, err) == -1 ||
		    pgd_set_timeouts(c, a->lock_timeout_ms, a->statement_timeout_ms, err) == -1)
			goto out;
		go = pgd_cmd(c, a->sql, "drop index", &e);
		pgd_reset_timeouts(c);
		if (go == -1 && e.code != DBK_E_LOCK_TIMEOUT) {
			*err = e;
			goto out;
		}
		r.status[0] = go == 0 ? DBK_OBJ_DONE : DBK_OBJ_SKIPPED_LOCKED;
		if (go == -1)
			pgd_run_note(&r, "lock not granted within %" PRId64 " ms", a->lock_timeout_ms);
	}
	pgd_progress(c, "dropping", r.status[0] == DBK_OBJ_DONE, 1);
	pgd_run_finish(&r, out);
	rc = 0;
out:
	if (rc == -1)
		pgd_run_free(&r);
	return rc;
}
