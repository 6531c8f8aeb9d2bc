/* drivers/postgres/pgd_observe.c: what is in the database: tables (with
 * orphaned temp tables and pg_repack leftovers told apart), pg_repack's
 * triggers, indexes (with a statistics-based B-tree bloat estimate,
 * validity, duplicates) and server log files. One catalog query per
 * kind, whatever the number of objects; nothing here takes a lock that
 * could queue behind an application. */
#include "pgd_observe.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pgd_logfile.h"

/* ---- Shared query parts ---- */

/* Sizes come from pg_class.relpages (as of the last VACUUM, ANALYZE or
 * index build): the size functions open every relation, which takes an
 * ACCESS SHARE lock that queues behind any application's ACCESS EXCLUSIVE
 * and costs a relcache entry per relation; tens of thousands of them take
 * seconds. Actions measure exact sizes under their own locks. */
#define PGD_BLOCK "pg_catalog.current_setting('block_size')::bigint"

/* Live backends connected to this database, each with the range of
 * backend IDs it may hold (temp schemas are named pg_temp_<backend ID>).
 * From 16 on pg_stat_get_backend_idset() returns real IDs: lo = hi. Up to
 * 15 it returns positions in a packed list, in ID order; real IDs are
 * known only for sessions in a transaction (their virtualxid is "ID/n"),
 * so between two such anchors an ID is bounded, and after the last one it
 * is unbounded (hi NULL). Over-estimating "live" only ever spares a temp
 * table; it never marks a live session's table as orphaned. */
#define PGD_CTE_BACKENDS_16 \
	"be AS (" \
	" SELECT b AS lo, b AS hi," \
	"  pg_catalog.pg_stat_get_backend_pid(b) = pg_catalog.pg_backend_pid() AS self," \
	"  pg_catalog.pg_stat_get_backend_dbid(b) = (SELECT d.oid FROM pg_database d" \
	"   WHERE d.datname = pg_catalog.current_database()) AS dbid_ok" \
	" FROM pg_catalog.pg_stat_get_backend_idset() b)"

#define PGD_CTE_BACKENDS_13 \
	"be0 AS (" \
	" SELECT b AS k, pg_catalog.pg_stat_get_backend_pid(b) AS pid," \
	"  pg_catalog.pg_stat_get_backend_dbid(b) AS dbid" \
	" FROM pg_catalog.pg_stat_get_backend_idset() b)," \
	"anchor AS (" \
	" SELECT l.pid, min(pg_catalog.split_part(l.virtualxid, '/', 1)::int) AS id" \
	" FROM pg_locks l WHERE l.locktype = 'virtualxid' AND l.granted" \
	"  AND l.virtualxid = l.virtualtransaction GROUP BY l.pid)," \
	"be1 AS (SELECT be0.k, be0.pid, be0.dbid, a.id - be0.k AS off" \
	" FROM be0 LEFT JOIN anchor a ON a.pid = be0.pid)," \
	"be AS (" \
	" SELECT k + coalesce(max(off) OVER (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING" \
	"  AND CURRENT ROW), 0) AS lo," \
	"  k + min(off) OVER (ORDER BY k ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS hi," \
	"  pid = pg_catalog.pg_backend_pid() AS self," \
	"  dbid = (SELECT d.oid FROM pg_database d" \
	"   WHERE d.datname = pg_catalog.current_database()) AS dbid_ok" \
	" FROM be1)"

#define PGD_TABLES_BODY \
	"tmp AS (" \
	" SELECT n.oid AS nspoid," \
	"  pg_catalog.substring(n.nspname, '^pg_temp_([0-9]+)$')::int AS id" \
	" FROM pg_namespace n WHERE n.nspname ~ '^pg_temp_[0-9]+$')," \
	"tmpstate AS (" \
	" SELECT t.nspoid, (t.nspoid = pg_catalog.pg_my_temp_schema()" \
	"  OR EXISTS (SELECT 1 FROM be WHERE NOT be.self AND be.dbid_ok" \
	"             AND t.id >= be.lo AND (be.hi IS NULL OR t.id <= be.hi))) AS live" \
	" FROM tmp t)," \
	"ipages AS (" \
	" SELECT i.indrelid AS relid, sum(ic.relpages)::bigint AS pages" \
	" FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid GROUP BY i.indrelid)," \
	PGD_CTE_REPACK \
	"SELECT n.nspname, c.relname, c.oid," \
	" (c.relpages + coalesce(t.relpages, 0) + coalesce(ip.pages, 0) + coalesce(tp.pages, 0))" \
	"  * " PGD_BLOCK "," \
	" CASE WHEN c.reltuples < 0 THEN -1 ELSE c.reltuples::bigint END," \
	" s.n_tup_ins + s.n_tup_upd + s.n_tup_del, s.n_dead_tup, s.n_mod_since_analyze," \
	" extract(epoch FROM greatest(s.last_analyze, s.last_autoanalyze))::bigint," \
	" pg_catalog.age(c.xmin)," \
	" (n.nspname IN ('pg_catalog', 'information_schema') OR n.nspname LIKE 'pg\\_toast%')," \
	" ts.nspoid IS NOT NULL," \
	" (n.nspname = 'repack' AND c.relname ~ '^(log|table)_[0-9]+$')," \
	" (SELECT running FROM repack)" \
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace" \
	" LEFT JOIN pg_class t ON t.oid = c.reltoastrelid" \
	" LEFT JOIN ipages ip ON ip.relid = c.oid" \
	" LEFT JOIN ipages tp ON tp.relid = c.reltoastrelid" \
	" LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid" \
	" LEFT JOIN tmpstate ts ON ts.nspoid = n.oid" \
	" WHERE c.relkind IN ('r', 'p') AND (ts.nspoid IS NULL OR NOT ts.live)" \
	" ORDER BY n.nspname, c.relname"

/* be.dbid_ok: the backend is connected to this database; only then can it
 * own one of our pg_temp schemas (autovacuum judges orphans the same way). */
static const char pgd_tables_sql_16[] =
	PGD_TAG "WITH " PGD_CTE_BACKENDS_16 ","
	PGD_TABLES_BODY;

static const char pgd_tables_sql_13[] =
	PGD_TAG "WITH " PGD_CTE_BACKENDS_13 ","
	PGD_TABLES_BODY;

/* Runs one observation query in its own read-only transaction whose
 * statement and lock timeouts are timeout_ms. */
static int pgd_observe(struct dbk_conn *c, int64_t timeout_ms, const char *sql,
                       PGresult **res, const char *what, struct dbk_err *err)
{
	if (pgd_begin(c, true, timeout_ms, timeout_ms, err) == -1)
		return -1;
	if (pgd_exec(c, sql, 0, NULL, res, what, err) == -1) {
		pgd_rollback(c);
		return -1;
	}
	if (pgd_commit(c, err) == -1) {
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	return 0;
}

static void pgd_fill_table(struct dbk_table *t, const PGresult *res, int r)
{
	bool repack = pgd_bool(res, r, 12), running = pgd_bool(res, r, 13);

	t->schema = pgd_str(res, r, 0);
	t->name = pgd_str(res, r, 1);
	t->engine = NULL;
	t->id = (uint64_t)pgd_int(res, r, 2, 0);
	t->size_bytes = pgd_int(res, r, 3, -1);
	t->est_rows = pgd_int(res, r, 4, -1);
	t->created_at = 0; /* PostgreSQL does not record it */
	t->updated_at = 0;
	t->write_count = pgd_int(res, r, 5, -1);
	t->dead_rows = pgd_int(res, r, 6, -1);
	t->mods_since_analyze = pgd_int(res, r, 7, -1);
	t->last_analyze_at = pgd_int(res, r, 8, 0);
	t->xid_age = pgd_int(res, r, 9, -1);
	t->flags = 0;
	if (pgd_bool(res, r, 10))
		t->flags |= DBK_TF_SYSTEM;
	if (pgd_bool(res, r, 11))
		t->flags |= DBK_TF_TEMP_ORPHAN;
	if (repack)
		t->flags |= running ? DBK_TF_TOOL_RUNNING : DBK_TF_TOOL_LEFTOVER;
}

int pgd_list_tables(struct dbk_conn *c, int64_t timeout_ms,
                    struct dbk_table_list **out, struct dbk_err *err)
{
	PGresult *res = NULL;
	struct dbk_table_list *l = NULL;
	int n = 0;

	if (pgd_observe(c, timeout_ms,
	    c->version_num >= 160000 ? pgd_tables_sql_16 : pgd_tables_sql_13,
	    &res, "list_tables", err) == -1)
		return -1;
	n = PQntuples(res);
	l = pgd_xcalloc(1, sizeof *l);
	l->v = pgd_xcalloc((size_t)n, sizeof *l->v);
	l->n = (size_t)n;
	for (int r = 0; r < n; r++)
		pgd_fill_table(&l->v[r], res, r);
	PQclear(res);
	*out = l;
	return 0;
}

void pgd_free_tables(struct dbk_table_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].schema);
		free((char *)l->v[i].name);
		free((char *)l->v[i].engine);
	}
	free(l->v);
	free(l);
}

/* ---- Triggers other tools left ---- */

static const char pgd_triggers_sql[] =
	PGD_TAG "WITH " PGD_CTE_REPACK
	" SELECT n.nspname, c.relname, t.tgname, t.oid, c.oid,"
	"  (SELECT running FROM repack)"
	" FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace"
	" WHERE NOT t.tgisinternal AND " PGD_REPACK_TRIGGER_FN
	" ORDER BY n.nspname, c.relname, t.tgname";

static void pgd_fill_trigger(struct dbk_trigger *t, const PGresult *res, int r)
{
	t->schema = pgd_str(res, r, 0);
	t->table = pgd_str(res, r, 1);
	t->name = pgd_str(res, r, 2);
	t->tool = pgd_xstrdup("pg_repack");
	t->id = (uint64_t)pgd_int(res, r, 3, 0);
	t->table_id = (uint64_t)pgd_int(res, r, 4, 0);
	t->feeds_schema = pgd_xstrdup("repack");
	t->feeds_table = pgd_xasprintf("log_%" PRIu64, t->table_id);
	t->flags = pgd_bool(res, r, 5) ? DBK_TRF_TOOL_RUNNING : DBK_TRF_TOOL_LEFTOVER;
}

int pgd_list_tool_triggers(struct dbk_conn *c, int64_t timeout_ms,
                           struct dbk_trigger_list **out, struct dbk_err *err)
{
	PGresult *res = NULL;
	struct dbk_trigger_list *l = NULL;
	int n = 0;

	if (pgd_observe(c, timeout_ms, pgd_triggers_sql, &res, "list_tool_triggers", err) == -1)
		return -1;
	n = PQntuples(res);
	l = pgd_xcalloc(1, sizeof *l);
	l->v = pgd_xcalloc((size_t)n, sizeof *l->v);
	l->n = (size_t)n;
	for (int r = 0; r < n; r++)
		pgd_fill_trigger(&l->v[r], res, r);
	PQclear(res);
	*out = l;
	return 0;
}

void pgd_free_triggers(struct dbk_trigger_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].schema);
		free((char *)l->v[i].table);
		free((char *)l->v[i].name);
		free((char *)l->v[i].tool);
		free((char *)l->v[i].feeds_schema);
		free((char *)l->v[i].feeds_table);
	}
	free(l->v);
	free(l);
}

/* ---- Indexes ----
 * Bloat: a leaf tuple is MAXALIGN(8-byte header [+ null bitmap] + the
 * average widths of its columns from pg_stats) plus a 4-byte line pointer;
 * pages hold (block - 40 bytes of headers) * fillfactor. The expected page
 * count against relpages gives the estimate. reltuples and relpages come
 * from the same VACUUM/ANALYZE, so they agree in time. It over-states
 * deduplicated B-trees and knows nothing of TOAST: an estimate, -1 when
 * any column lacks statistics, the index is not a B-tree or it is smaller
 * than PGD_BLOAT_MIN_PAGES, where page granularity makes any figure noise. */
#define PGD_BLOAT_MIN_PAGES "16"
static const char pgd_indexes_sql[] =
	PGD_TAG "WITH " PGD_CTE_REPACK ","
	"building AS MATERIALIZED (SELECT DISTINCT p.relid FROM pg_stat_progress_create_index p"
	" WHERE p.relid IS NOT NULL),"
	"conidx AS MATERIALIZED (SELECT DISTINCT conindid FROM pg_constraint WHERE conindid <> 0),"
	"idx AS MATERIALIZED ("
	" SELECT i.indexrelid, i.indrelid, i.indisvalid, i.indisprimary, i.indisunique,"
	"  i.indnatts, i.indkey, ic.relname AS iname, tc.relname AS tname, n.nspname,"
	"  am.amname, ic.relkind, ic.relpages, ic.reltuples, ic.reloptions,"
	"  EXISTS (SELECT 1 FROM conidx WHERE conindid = i.indexrelid) AS iscon,"
	"  CASE WHEN i.indisprimary THEN 3"
	"   WHEN EXISTS (SELECT 1 FROM conidx WHERE conindid = i.indexrelid) THEN 2"
	"   WHEN i.indisunique THEN 1 ELSE 0 END AS rank,"
	"  CASE WHEN i.indisvalid THEN pg_catalog.concat_ws(' ', i.indrelid, ic.relam,"
	"   i.indkey::text, i.indclass::text, i.indoption::text, i.indcollation::text,"
	"   pg_catalog.pg_get_expr(i.indexprs, i.indrelid),"
	"   pg_catalog.pg_get_expr(i.indpred, i.indrelid)) END AS def"
	" FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
	" JOIN pg_class tc ON tc.oid = i.indrelid"
	" JOIN pg_namespace n ON n.oid = ic.relnamespace JOIN pg_am am ON am.oid = ic.relam"
	/* TOAST indexes are the server's own (the planner never acts on
	 * system schemas); leaving them out cuts the query by ~40% on a
	 * schema where most tables have a TOAST table. */
	" WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
	"  AND n.nspname !~ '^pg_toast'"
	"  AND tc.relpersistence <> 't'"
	"  AND (i.indisvalid OR i.indrelid NOT IN (SELECT relid FROM building))),"
	"cols AS ("
	" SELECT x.indexrelid, count(*) AS ncols,"
	"  count(coalesce(st.avg_width, se.avg_width)) AS nstats,"
	"  sum((1 - coalesce(st.null_frac, se.null_frac, 0))"
	"      * coalesce(st.avg_width, se.avg_width, 0)) AS width,"
	"  bool_or(coalesce(st.null_frac, se.null_frac, 0) > 0) AS nulls"
	" FROM idx x CROSS JOIN LATERAL pg_catalog.generate_series(1, x.indnatts) AS p(n)"
	" JOIN pg_attribute ia ON ia.attrelid = x.indexrelid AND ia.attnum = p.n"
	" LEFT JOIN pg_attribute ta ON ta.attrelid = x.indrelid AND ta.attnum = x.indkey[p.n - 1]"
	/* LATERAL ... LIMIT 1: one index probe per column; a plain join
	 * makes the planner scan pg_stats once per index column. */
	" LEFT JOIN LATERAL (SELECT s.avg_width, s.null_frac FROM pg_stats s"
	"  WHERE s.schemaname = x.nspname AND s.tablename = x.tname"
	"   AND s.attname = ta.attname AND NOT s.inherited LIMIT 1) st ON true"
	" LEFT JOIN LATERAL (SELECT s.avg_width, s.null_frac FROM pg_stats s"
	"  WHERE x.indkey[p.n - 1] = 0 AND s.schemaname = x.nspname"
	"   AND s.tablename = x.iname AND s.attname = ia.attname AND NOT s.inherited LIMIT 1) se"
	"  ON true"
	" WHERE x.amname = 'btree' AND x.relkind = 'i' AND x.relpages >= " PGD_BLOAT_MIN_PAGES
	" GROUP BY x.indexrelid),"
	"est AS ("
	" SELECT x.indexrelid, x.relpages,"
	"  8 * ceil((CASE WHEN c.nulls THEN 16 ELSE 8 END + c.width) / 8.0) + 4 AS item,"
	"  (" PGD_BLOCK " - 40)"
	"   * coalesce((SELECT o.option_value::int FROM pg_catalog.pg_options_to_table(x.reloptions) o"
	"               WHERE o.option_name = 'fillfactor'), 90) / 100.0 AS room,"
	"  x.reltuples"
	" FROM idx x JOIN cols c ON c.indexrelid = x.indexrelid"
	" WHERE c.nstats = c.ncols AND x.reltuples >= 0 AND x.relpages > 0),"
	"bloat AS ("
	" SELECT e.indexrelid, greatest(0, least(100, 100 * (1 - ("
	"  greatest(ceil(e.reltuples * e.item / e.room), 1)"
	"  + ceil(ceil(e.reltuples * e.item / e.room) * e.item / e.room) + 1) / e.relpages))) AS pct"
	" FROM est e),"
	"dup AS ("
	" SELECT x.indexrelid, pg_catalog.first_value(x.iname) OVER w AS first,"
	"  pg_catalog.row_number() OVER w AS rn"
	" FROM idx x WHERE x.def IS NOT NULL"
	" WINDOW w AS (PARTITION BY x.def ORDER BY x.rank DESC, x.indexrelid))"
	"SELECT x.nspname, x.tname, x.iname, x.amname,"
	" CASE WHEN d.rn > 1 THEN d.first END,"
	" x.indexrelid, x.indrelid,"
	" x.relpages::bigint * " PGD_BLOCK ","
	" s.idx_scan, coalesce(b.pct, -1)::float8,"
	" NOT x.indisvalid, x.indisprimary, x.indisunique, x.iscon,"
	" x.iname ~ '_cc(new|old)[0-9]*$',"
	" (x.iname ~ '^index_[0-9]+$' AND (x.nspname = 'repack' OR NOT x.indisvalid)"
	"  AND NOT (SELECT running FROM repack))"
	" FROM idx x"
	" LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = x.indexrelid"
	" LEFT JOIN bloat b ON b.indexrelid = x.indexrelid"
	" LEFT JOIN dup d ON d.indexrelid = x.indexrelid"
	" ORDER BY x.nspname, x.tname, x.iname";

static void pgd_fill_index(struct dbk_index *ix, const PGresult *res, int r)
{
	ix->schema = pgd_str(res, r, 0);
	ix->table = pgd_str(res, r, 1);
	ix->name = pgd_str(res, r, 2);
	ix->method = pgd_str(res, r, 3);
	ix->duplicate_of = pgd_str(res, r, 4);
	ix->id = (uint64_t)pgd_int(res, r, 5, 0);
	ix->table_id = (uint64_t)pgd_int(res, r, 6, 0);
	ix->size_bytes = pgd_int(res, r, 7, -1);
	ix->scans = pgd_int(res, r, 8, -1);
	ix->bloat_pct = pgd_dbl(res, r, 9, -1);
	ix->flags = 0;
	if (pgd_bool(res, r, 10))
		ix->flags |= DBK_IF_INVALID;
	if (pgd_bool(res, r, 11))
		ix->flags |= DBK_IF_PRIMARY;
	if (pgd_bool(res, r, 12))
		ix->flags |= DBK_IF_UNIQUE;
	if (pgd_bool(res, r, 13))
		ix->flags |= DBK_IF_CONSTRAINT;
	if (ix->duplicate_of != NULL)
		ix->flags |= DBK_IF_DUPLICATE;
	if (pgd_bool(res, r, 14))
		ix->flags |= DBK_IF_LEFTOVER;
	if (pgd_bool(res, r, 15))
		ix->flags |= DBK_IF_LEFTOVER | DBK_IF_TOOL_LEFTOVER;
}

int pgd_list_indexes(struct dbk_conn *c, int64_t timeout_ms,
                     struct dbk_index_list **out, struct dbk_err *err)
{
	PGresult *res = NULL;
	struct dbk_index_list *l = NULL;
	int n = 0;

	if (pgd_observe(c, timeout_ms, pgd_indexes_sql, &res, "list_indexes", err) == -1)
		return -1;
	n = PQntuples(res);
	l = pgd_xcalloc(1, sizeof *l);
	l->v = pgd_xcalloc((size_t)n, sizeof *l->v);
	l->n = (size_t)n;
	for (int r = 0; r < n; r++)
		pgd_fill_index(&l->v[r], res, r);
	PQclear(res);
	*out = l;
	return 0;
}

void pgd_free_indexes(struct dbk_index_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].schema);
		free((char *)l->v[i].table);
		free((char *)l->v[i].name);
		free((char *)l->v[i].method);
		free((char *)l->v[i].duplicate_of);
	}
	free(l->v);
	free(l);
}

/* ---- Server log files ---- */

static struct dbk_logfile_list *pgd_logs_from(const PGresult *res,
                                              const struct pgd_logcfg *cfg)
{
	struct dbk_logfile_list *l = pgd_xcalloc(1, sizeof *l);
	int n = res ? PQntuples(res) : 0;

	l->v = pgd_xcalloc((size_t)n, sizeof *l->v);
	for (int r = 0; r < n; r++) {
		const char *name = PQgetvalue(res, r, 0);
		struct dbk_logfile *f = &l->v[l->n];

		if (!pgd_logcfg_matches(cfg, name))
			continue; /* not the server's: never ours to report or remove */
		f->name = pgd_xstrdup(name);
		f->size_bytes = pgd_int(res, r, 1, -1);
		f->mtime = pgd_int(res, r, 2, 0);
		f->in_use = pgd_logcfg_in_use(cfg, name);
		l->n++;
	}
	return l;
}

int pgd_list_server_logs(struct dbk_conn *c, int64_t timeout_ms,
                         struct dbk_logfile_list **out, struct dbk_err *err)
{
	struct pgd_logcfg cfg;
	PGresult *res = NULL;
	int rc = -1;

	memset(&cfg, 0, sizeof cfg);
	if (pgd_begin(c, true, timeout_ms, timeout_ms, err) == -1)
		return -1;
	if (pgd_logcfg_load(c, &cfg, err) == -1)
		goto out;
	if (cfg.collector && pgd_exec(c,
	    PGD_TAG "SELECT name, size, extract(epoch FROM modification)::bigint"
	    " FROM pg_catalog.pg_ls_logdir() ORDER BY name",
	    0, NULL, &res, "list_server_logs", err) == -1) {
		if (pgd_err_is(err, "42501"))
			pgd_err_set(err, DBK_E_QUERY, "%s: the role may not list the server's"
			    " log directory; grant it pg_monitor (or run as superuser)", c->target);
		goto out;
	}
	if (pgd_commit(c, err) == -1)
		goto out;
	*out = pgd_logs_from(res, &cfg);
	rc = 0;
out:
	if (rc == -1)
		pgd_rollback(c);
	PQclear(res);
	pgd_logcfg_free(&cfg);
	return rc;
}

void pgd_free_logfiles(struct dbk_logfile_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free((char *)l->v[i].name);
	free(l->v);
	free(l);
}
