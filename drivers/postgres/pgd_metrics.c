/* drivers/postgres/pgd_metrics.c: server and database statistics as
 * metrics: pg_stat_database, checkpoints and the background writer,
 * connections, lock waits, transaction-ID age, replication and its slots,
 * settings, the tables with the most dead rows and the most rows read by
 * sequential scans (with the statements that name them), the indexes
 * foreign keys and replica identities need, pg_stat_statements' top
 * statements, and hypopg's cost estimates for hypothetical indexes. Every
 * query yields rows of (name, labels, unit, value, kind) so one loop turns
 * them into metrics. It computes no rates and judges nothing; label values
 * are percent-encoded where they hold ',', '=', '%' or a newline. */
#include "pgd_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* kind: 'c' counter (cumulative since a stats reset), 'g' gauge. */
static const char pgd_m_database[] =
	"SELECT m.name, 'db=' || d.datname, m.unit, m.value, m.kind"
	" FROM pg_stat_database d, LATERAL (VALUES"
	"  ('xact_commit', '', d.xact_commit::float8, 'c'),"
	"  ('xact_rollback', '', d.xact_rollback::float8, 'c'),"
	"  ('blks_read', 'blocks', d.blks_read::float8, 'c'),"
	"  ('blks_hit', 'blocks', d.blks_hit::float8, 'c'),"
	"  ('temp_files', '', d.temp_files::float8, 'c'),"
	"  ('temp_bytes', 'bytes', d.temp_bytes::float8, 'c'),"
	"  ('deadlocks', '', d.deadlocks::float8, 'c'),"
	"  ('db_size', 'bytes', pg_catalog.pg_database_size(d.datid)::float8, 'g'))"
	"  AS m(name, unit, value, kind)"
	" WHERE d.datname = pg_catalog.current_database()";

static const char pgd_m_bgwriter_13[] =
	"SELECT m.name, NULL, m.unit, m.value, 'c' FROM pg_stat_bgwriter b, LATERAL (VALUES"
	"  ('checkpoints_timed', '', b.checkpoints_timed::float8),"
	"  ('checkpoints_req', '', b.checkpoints_req::float8),"
	"  ('buffers_checkpoint', 'buffers', b.buffers_checkpoint::float8),"
	"  ('buffers_clean', 'buffers', b.buffers_clean::float8),"
	"  ('maxwritten_clean', '', b.maxwritten_clean::float8),"
	"  ('buffers_backend', 'buffers', b.buffers_backend::float8),"
	"  ('buffers_backend_fsync', '', b.buffers_backend_fsync::float8))"
	"  AS m(name, unit, value)";

/* 17 moved checkpoints to pg_stat_checkpointer and dropped buffers_backend. */
static const char pgd_m_bgwriter_17[] =
	"SELECT m.name, NULL, m.unit, m.value, 'c'"
	" FROM pg_stat_checkpointer k, pg_stat_bgwriter b, LATERAL (VALUES"
	"  ('checkpoints_timed', '', k.num_timed::float8),"
	"  ('checkpoints_req', '', k.num_requested::float8),"
	"  ('buffers_checkpoint', 'buffers', k.buffers_written::float8),"
	"  ('buffers_clean', 'buffers', b.buffers_clean::float8),"
	"  ('maxwritten_clean', '', b.maxwritten_clean::float8))"
	"  AS m(name, unit, value)";

static const char pgd_m_activity[] =
	"SELECT 'connections', 'state=' || coalesce(a.state, 'unknown'), '', count(*)::float8, 'g'"
	" FROM pg_stat_activity a WHERE a.backend_type = 'client backend' GROUP BY a.state"
	" UNION ALL SELECT 'connections_total', NULL, '', count(*)::float8, 'g'"
	" FROM pg_stat_activity a WHERE a.backend_type = 'client backend'"
	" UNION ALL SELECT 'max_connections', NULL, '',"
	"  pg_catalog.current_setting('max_connections')::float8, 'g'"
	" UNION ALL SELECT 'oldest_xact_age', NULL, 's',"
	"  coalesce(max(extract(epoch FROM pg_catalog.clock_timestamp() - a.xact_start)), 0)::float8, 'g'"
	" FROM pg_stat_activity a WHERE a.backend_type = 'client backend'"
	"  AND a.pid <> pg_catalog.pg_backend_pid()"
	" UNION ALL SELECT 'oldest_idle_in_xact', NULL, 's',"
	"  coalesce(max(extract(epoch FROM pg_catalog.clock_timestamp() - a.state_change)), 0)::float8, 'g'"
	" FROM pg_stat_activity a WHERE a.state LIKE 'idle in transaction%'";

static const char pgd_m_xid[] =
	"SELECT 'xid_age', 'db=' || d.datname, 'xids', pg_catalog.age(d.datfrozenxid)::float8, 'g'"
	" FROM pg_database d WHERE d.datallowconn"
	" UNION ALL SELECT 'mxid_age', 'db=' || d.datname, 'xids',"
	"  pg_catalog.mxid_age(d.datminmxid)::float8, 'g'"
	" FROM pg_database d WHERE d.datallowconn";

static const char pgd_m_replication[] =
	"SELECT 'replication_lag', 'replica=' || coalesce(r.application_name, '') || ','"
	"  || coalesce(r.client_addr::text, 'local'), 'ms',"
	"  coalesce(extract(epoch FROM r.replay_lag) * 1000, 0)::float8, 'g'"
	" FROM pg_stat_replication r"
	" UNION ALL SELECT 'replica_replay_lag', NULL, 'ms',"
	"  (extract(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())"
	"   * 1000)::float8, 'g' WHERE pg_catalog.pg_is_in_recovery()"
	" UNION ALL SELECT 'replication_slots_inactive', NULL, '',"
	"  (count(*) FILTER (WHERE NOT s.active))::float8, 'g' FROM pg_replication_slots s"
	" UNION ALL SELECT 'replication_slot_retained_wal', 'slot=' || s.slot_name, 'bytes',"
	"  pg_catalog.pg_wal_lsn_diff(CASE WHEN pg_catalog.pg_is_in_recovery()"
	"   THEN pg_catalog.pg_last_wal_receive_lsn() ELSE pg_catalog.pg_current_wal_lsn() END,"
	"   s.restart_lsn)::float8, 'g'"
	" FROM pg_replication_slots s WHERE s.restart_lsn IS NOT NULL";

/* A label value, percent-encoded so ',' and '=' cannot split labels. */
#define PGD_ESC(x) \
	"replace(replace(replace(replace(" x ", '%', '%25'), ',', '%2C'), '=', '%3D'), chr(10), '%0A')"
#define PGD_TABLE_LABELS(s, t) "'schema=' || " PGD_ESC(s) " || ',table=' || " PGD_ESC(t)

static const char pgd_m_slots[] =
	"SELECT 'replication_slot_active', 'slot=' || s.slot_name, '', s.active::int::float8, 'g'"
	" FROM pg_replication_slots s";

static const char pgd_m_locks[] =
	"SELECT 'lock_waiting_sessions', NULL, '', count(*)::float8, 'g'"
	" FROM pg_stat_activity a WHERE a.datname = pg_catalog.current_database()"
	"  AND a.wait_event_type = 'Lock'"
	" UNION ALL SELECT 'lock_wait_longest', NULL, 's',"
	"  coalesce(max(extract(epoch FROM pg_catalog.clock_timestamp() - a.query_start)), 0)::float8, 'g'"
	" FROM pg_stat_activity a WHERE a.datname = pg_catalog.current_database()"
	"  AND a.wait_event_type = 'Lock'";

/* Sizes in bytes, whatever unit the setting is kept in. */
static const char pgd_m_settings[] =
	"SELECT 'setting', 'name=' || s.name, CASE WHEN s.unit IS NULL THEN '' ELSE 'bytes' END,"
	" s.setting::float8 * CASE s.unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN '8kB' THEN 8192"
	"  WHEN 'MB' THEN 1048576 WHEN '16MB' THEN 16777216 WHEN 'GB' THEN 1073741824 ELSE 1 END, 'g'"
	" FROM pg_catalog.pg_settings s WHERE s.name IN ('shared_buffers', 'effective_cache_size',"
	"  'work_mem', 'maintenance_work_mem', 'max_wal_size', 'max_parallel_workers')"
	"  AND (s.unit IS NULL OR s.unit IN ('B', 'kB', '8kB', 'MB', '16MB', 'GB'))"
	" UNION ALL SELECT 'setting', 'name=autovacuum', '', (s.setting = 'on')::int::float8, 'g'"
	" FROM pg_catalog.pg_settings s WHERE s.name = 'autovacuum'";

/* The ten tables with the most dead rows, and whether autovacuum may
 * visit them. */
static const char pgd_m_vacuum[] =
	"SELECT m.name, " PGD_TABLE_LABELS("s.schemaname", "s.relname") ", m.unit, m.value, 'g'"
	" FROM (SELECT st.schemaname, st.relname, st.n_dead_tup, st.n_live_tup,"
	"  greatest(st.last_vacuum, st.last_autovacuum) AS vacuumed,"
	"  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_options_to_table(c.reloptions) o"
	"   WHERE o.option_name = 'autovacuum_enabled'"
	"    AND lower(o.option_value) IN ('false', 'off', '0', 'no', 'f', 'n')) AS av"
	"  FROM pg_stat_user_tables st JOIN pg_class c ON c.oid = st.relid"
	"  WHERE st.n_dead_tup > 0 ORDER BY st.n_dead_tup DESC LIMIT 10) s,"
	" LATERAL (VALUES ('table_dead_rows', '', s.n_dead_tup::float8),"
	"  ('table_live_rows', '', s.n_live_tup::float8),"
	"  ('table_autovacuum_enabled', '', s.av::int::float8),"
	"  ('table_vacuum_age', 's', coalesce(extract(epoch FROM pg_catalog.now() - s.vacuumed),"
	"   -1)::float8)) AS m(name, unit, value)";

/* The ten tables with the most rows read by sequential scans. Sizes from
 * relpages, as observation does (no lock on the table). */
#define PGD_SEQ_TABLES(n) \
	"SELECT st.relid, st.schemaname, st.relname, st.seq_scan, st.seq_tup_read," \
	" coalesce(st.idx_scan, 0) AS idx_scan, c.relpages" \
	" FROM pg_stat_user_tables st JOIN pg_class c ON c.oid = st.relid" \
	" WHERE st.seq_scan > 0 ORDER BY st.seq_tup_read DESC LIMIT " n

static const char pgd_m_scans[] =
	"SELECT m.name, " PGD_TABLE_LABELS("s.schemaname", "s.relname") ", m.unit, m.value, m.kind"
	" FROM (" PGD_SEQ_TABLES("10") ") s, LATERAL (VALUES"
	"  ('table_seq_scan', '', s.seq_scan::float8, 'c'),"
	"  ('table_seq_tup_read', '', s.seq_tup_read::float8, 'c'),"
	"  ('table_idx_scan', '', s.idx_scan::float8, 'c'),"
	"  ('table_size', 'bytes', (s.relpages::bigint"
	"   * pg_catalog.current_setting('block_size')::bigint)::float8, 'g'))"
	"  AS m(name, unit, value, kind)";

/* Indexes a foreign key's checks use (their leading columns are the
 * key's columns) and replica identity indexes: never to be dropped. */
static const char pgd_m_protected[] =
	"SELECT 'index_protected', " PGD_TABLE_LABELS("n.nspname", "tc.relname")
	"  || ',index=' || " PGD_ESC("ic.relname") " || ',reason=' || x.reason, '', 1::float8, 'g'"
	" FROM (SELECT DISTINCT i.indexrelid, 'foreign key lookup' AS reason"
	"  FROM pg_constraint k JOIN pg_index i ON i.indrelid = k.conrelid"
	"  WHERE k.contype = 'f' AND i.indnatts >= pg_catalog.array_length(k.conkey, 1)"
	"   AND (i.indkey::int2[])[0:pg_catalog.array_length(k.conkey, 1) - 1] @> k.conkey"
	"  UNION SELECT i.indexrelid, 'replica identity' FROM pg_index i WHERE i.indisreplident) x"
	" JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class tc ON tc.oid = ("
	"  SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = x.indexrelid)"
	" JOIN pg_namespace n ON n.oid = ic.relnamespace"
	" WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
	" UNION ALL SELECT 'index_protection_checked', NULL, '', 1::float8, 'g'";

/* %1$s: the extension's quoted schema; %2$s: total_exec_time (1.8+) or
 * total_time. */
#define PGD_M_STATEMENTS_FMT \
	"SELECT m.name, 'queryid=' || s.queryid, m.unit, m.value, m.kind FROM (" \
	" SELECT p.queryid, sum(p.calls) AS calls, sum(p.%2$s) AS t, sum(p.rows) AS r" \
	" FROM %1$s.pg_stat_statements p" \
	" WHERE p.queryid IS NOT NULL AND p.dbid = (SELECT d.oid FROM pg_database d" \
	"  WHERE d.datname = pg_catalog.current_database())" \
	" GROUP BY p.queryid ORDER BY 3 DESC LIMIT 5) s, LATERAL (VALUES" \
	"  ('statement_total_time', 'ms', s.t::float8, 'c')," \
	"  ('statement_calls', '', s.calls::float8, 'c')," \
	"  ('statement_mean_time', 'ms', (s.t / nullif(s.calls, 0))::float8, 'g')," \
	"  ('statement_rows', '', s.r::float8, 'c')) AS m(name, unit, value, kind)"

struct pgd_mbuf {
	struct dbk_metric *v;
	size_t n, cap;
};

static void pgd_m_add(struct pgd_mbuf *m, const PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct dbk_metric *x = NULL;

		if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 3))
			continue;
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 32;
			m->v = pgd_xrealloc(m->v, m->cap * sizeof *m->v);
		}
		x = &m->v[m->n++];
		x->name = pgd_str(res, r, 0);
		x->labels = pgd_str(res, r, 1);
		x->unit = pgd_xstrdup(PQgetisnull(res, r, 2) ? "" : PQgetvalue(res, r, 2));
		x->value = pgd_dbl(res, r, 3, 0);
		x->kind = PQgetvalue(res, r, 4)[0] == 'c' ? DBK_M_COUNTER : DBK_M_GAUGE;
	}
}

/* Errors that end the collection; anything else skips the group. */
static bool pgd_m_fatal(const struct dbk_err *err)
{
	return err->code == DBK_E_TIMEOUT || err->code == DBK_E_CANCELLED ||
	       err->code == DBK_E_CONNECT;
}

/* One group inside a savepoint, so a refused view does not end the
 * transaction. Returns -1 only for fatal errors. */
static int pgd_m_group(struct dbk_conn *c, struct pgd_mbuf *m, const char *sql,
                       const char *what, struct dbk_err *err)
{
	PGresult *res = NULL;
	struct dbk_err e;

	memset(&e, 0, sizeof e);
	if (pgd_cmd(c, "SAVEPOINT pgd_metrics", "savepoint", err) == -1)
		return -1;
	if (pgd_exec(c, sql, 0, NULL, &res, what, &e) == -1) {
		if (pgd_m_fatal(&e)) {
			*err = e;
			return -1;
		}
		pgd_log(c, LOG_WARNING, "%s: metrics %s skipped: %s", c->target, what, e.msg);
		return pgd_cmd(c, "ROLLBACK TO SAVEPOINT pgd_metrics", "rollback to savepoint", err);
	}
	pgd_m_add(m, res);
	PQclear(res);
	return pgd_cmd(c, "RELEASE SAVEPOINT pgd_metrics", "release savepoint", err);
}

/* extversion "1.10" → 110; old "1.7" has total_time, 1.8+ total_exec_time. */
static int pgd_ext_version(const char *v)
{
	int major = 0, minor = 0;

	if (sscanf(v, "%d.%d", &major, &minor) < 1)
		return 0;
	return major * 100 + minor;
}

/* The schemas (quoted) of pg_stat_statements and hypopg where installed,
 * and which time column pg_stat_statements has. */
struct pgd_exts {
	char *pss;            /* NULL: not installed */
	const char *pss_time; /* "total_exec_time" (1.8+) or "total_time" */
	char *hypo;           /* NULL: not installed */
};

static void pgd_exts_free(struct pgd_exts *x)
{
	free(x->pss);
	free(x->hypo);
	memset(x, 0, sizeof *x);
}

static int pgd_m_exts(struct dbk_conn *c, struct pgd_exts *x, struct dbk_err *err)
{
	PGresult *res = NULL;
	int rc = -1;

	if (pgd_exec(c, "SELECT e.extname, n.nspname, e.extversion FROM pg_extension e"
	    " JOIN pg_namespace n ON n.oid = e.extnamespace"
	    " WHERE e.extname IN ('pg_stat_statements', 'hypopg')", 0, NULL, &res,
	    "find extensions", err) == -1)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		char **dst = strcmp(PQgetvalue(res, r, 0), "hypopg") == 0 ? &x->hypo : &x->pss;

		if ((*dst = pgd_quote(c, PQgetvalue(res, r, 1), err)) == NULL)
			goto out;
		if (dst == &x->pss)
			x->pss_time = pgd_ext_version(PQgetvalue(res, r, 2)) >= 108 ?
			              "total_exec_time" : "total_time";
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* A regular expression matching x as a whole word (a table's name in a
 * statement's text, not "big" in "bigint"). */
#define PGD_WORD(x) \
	"('\\m' || pg_catalog.regexp_replace(" x ", '([^[:alnum:]_])', '\\\\\\1', 'g') || '\\M')"

#define PGD_THIS_DB \
	"(SELECT d.oid FROM pg_database d WHERE d.datname = pg_catalog.current_database())"

static int pgd_m_statements(struct dbk_conn *c, struct pgd_mbuf *m,
                            const struct pgd_exts *x, struct dbk_err *err)
{
	char *sql = NULL;
	int rc = 0;

	if (x->pss == NULL)
		return 0; /* not installed here */
	sql = pgd_xasprintf(PGD_M_STATEMENTS_FMT, x->pss, x->pss_time);
	rc = pgd_m_group(c, m, sql, "pg_stat_statements", err);
	free(sql);
	return rc;
}

/* The statements (up to three, most time first) whose text names one of
 * the five tables read most by sequential scans. */
static int pgd_m_table_statements(struct dbk_conn *c, struct pgd_mbuf *m,
                                  const struct pgd_exts *x, struct dbk_err *err)
{
	struct pgd_buf b = { 0 };
	int rc = 0;

	if (x->pss == NULL)
		return 0;
	pgd_buf_add(&b, "%s", "WITH t AS (" PGD_SEQ_TABLES("5") "),"
	    " q AS (SELECT p.queryid, min(p.query) AS query, sum(p.calls) AS calls,");
	pgd_buf_add(&b, " sum(p.%s) AS ms FROM %s.pg_stat_statements p", x->pss_time, x->pss);
	pgd_buf_add(&b, "%s", " WHERE p.queryid IS NOT NULL AND p.dbid = " PGD_THIS_DB
	    " GROUP BY p.queryid)"
	    " SELECT m.name, " PGD_TABLE_LABELS("t.schemaname", "t.relname")
	    "  || ',queryid=' || x.queryid || ',query=' || "
	    PGD_ESC("pg_catalog.left(pg_catalog.regexp_replace(x.query, '\\s+', ' ', 'g'), 200)")
	    ", m.unit, m.value, 'c'"
	    " FROM t CROSS JOIN LATERAL (SELECT q.queryid, q.query, q.calls, q.ms FROM q"
	    "  WHERE q.query ~* " PGD_WORD("t.relname")
	    "   AND q.query ~* '^\\s*(select|with|update|delete)\\M'"
	    "  ORDER BY q.ms DESC LIMIT 3) x,"
	    " LATERAL (VALUES ('table_statement_time', 'ms', x.ms::float8),"
	    "  ('table_statement_calls', '', x.calls::float8)) AS m(name, unit, value)");
	rc = pgd_m_group(c, m, b.s, "statements per table", err);
	pgd_buf_free(&b);
	return rc;
}

/* ---- hypopg: would an index help the statements that scan a table? ---- */

static void pgd_esc_add(struct pgd_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		if (*s == '%' || *s == ',' || *s == '=' || *s == '\n')
			pgd_buf_add(b, "%%%02X", (unsigned char)*s);
		else
			pgd_buf_add(b, "%c", *s);
	}
}

static void pgd_m_push(struct pgd_mbuf *m, const char *name, char *labels,
                       const char *unit, double value)
{
	struct dbk_metric *x = NULL;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->v = pgd_xrealloc(m->v, m->cap * sizeof *m->v);
	}
	x = &m->v[m->n++];
	x->name = pgd_xstrdup(name);
	x->labels = labels;
	x->unit = pgd_xstrdup(unit);
	x->value = value;
	x->kind = DBK_M_GAUGE;
}

/* The planner's estimate for query as a generic plan (parameters
 * unknown, as pg_stat_statements keeps them), and the plan as JSON when
 * plan is not NULL. Nothing runs: EXPLAIN without ANALYZE. */
static int pgd_hypo_cost(struct dbk_conn *c, const char *query, double *cost,
                         char **plan, struct dbk_err *err)
{
	struct pgd_buf b = { 0 };
	PGresult *res = NULL;
	const char *tc = NULL;
	char *sql = pgd_xasprintf("PREPARE pgd_hypo AS %s", query);
	int64_t n = 0;
	int rc = -1;

	if (pgd_cmd(c, sql, "hypopg prepare", err) == -1)
		goto out;
	if (pgd_exec(c, "SELECT coalesce(pg_catalog.array_length(parameter_types, 1), 0)"
	    " FROM pg_catalog.pg_prepared_statements WHERE name = 'pgd_hypo'", 0, NULL,
	    &res, "hypopg parameters", err) == -1)
		goto out;
	n = PQntuples(res) == 1 ? pgd_int(res, 0, 0, 0) : 0;
	PQclear(res);
	res = NULL;
	pgd_buf_add(&b, "EXPLAIN (FORMAT JSON) EXECUTE pgd_hypo");
	for (int64_t i = 0; i < n && i < 100; i++)
		pgd_buf_add(&b, "%sNULL", i ? ", " : "(");
	if (n > 0)
		pgd_buf_add(&b, ")");
	if (pgd_exec(c, b.s, 0, NULL, &res, "hypopg explain", err) == -1)
		goto out;
	if (PQntuples(res) != 1 ||
	    (tc = strstr(PQgetvalue(res, 0, 0), "\"Total Cost\": ")) == NULL) {
		pgd_err_set(err, DBK_E_QUERY, "%s: hypopg: no cost in the plan", c->target);
		goto out;
	}
	*cost = strtod(tc + 14, NULL);
	if (plan != NULL)
		*plan = pgd_str(res, 0, 0);
	if (pgd_cmd(c, "DEALLOCATE pgd_hypo", "hypopg deallocate", err) == -1)
		goto out;
	rc = 0;
out:
	PQclear(res);
	pgd_buf_free(&b);
	free(sql);
	return rc;
}

/* Columns of the table named in the filter of a sequential scan of it in
 * plan, that lead no index yet: the candidates for an index. */
static const char pgd_hypo_columns_sql[] =
	"SELECT DISTINCT a.attname FROM"
	" pg_catalog.jsonb_path_query($1::jsonb, 'strict $.**') n(node), pg_attribute a"
	" WHERE pg_catalog.jsonb_typeof(n.node) = 'object'"
	"  AND n.node ->> 'Node Type' = 'Seq Scan' AND n.node ->> 'Relation Name' = $3"
	"  AND a.attrelid = $2::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped"
	"  AND (n.node ->> 'Filter') ~ ('(^|[^[:alnum:]_])'"
	"   || pg_catalog.regexp_replace(a.attname, '([^[:alnum:]_])', '\\\\\\1', 'g')"
	"   || '($|[^[:alnum:]_])')"
	"  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $2::pg_catalog.oid"
	"   AND i.indkey[0] = a.attnum)"
	" ORDER BY 1 LIMIT 3";

struct pgd_hypo_stmt {
	const char *relid, *schema, *table, *queryid, *query;
};

static char *pgd_hypo_labels(const struct pgd_hypo_stmt *h, const char *column)
{
	struct pgd_buf b = { 0 };

	pgd_buf_add(&b, "schema=");
	pgd_esc_add(&b, h->schema);
	pgd_buf_add(&b, ",table=");
	pgd_esc_add(&b, h->table);
	if (h->queryid != NULL)
		pgd_buf_add(&b, ",queryid=%s", h->queryid);
	if (column != NULL) {
		pgd_buf_add(&b, ",column=");
		pgd_esc_add(&b, column);
	}
	return pgd_buf_take(&b);
}

/* Cost with a hypothetical index on one column, then forget it. */
static int pgd_hypo_one(struct dbk_conn *c, const struct pgd_exts *x,
                        const struct pgd_hypo_stmt *h, const char *column,
                        struct pgd_mbuf *m, struct dbk_err *err)
{
	const char *params[3] = { h->schema, h->table, column };
	char *create = pgd_xasprintf("SELECT 1 FROM %s.hypopg_create_index(pg_catalog.format("
	    "'CREATE INDEX ON %%I.%%I (%%I)', $1::text, $2::text, $3::text))", x->hypo);
	char *reset = pgd_xasprintf("SELECT %s.hypopg_reset()", x->hypo);
	struct dbk_err e;
	double cost = 0;
	int rc = -1;

	memset(&e, 0, sizeof e);
	if (pgd_exec(c, create, 3, params, NULL, "hypopg create", err) == -1)
		goto out;
	rc = pgd_hypo_cost(c, h->query, &cost, NULL, err);
	if (pgd_cmd(c, reset, "hypopg reset", &e) == -1 && rc == 0) {
		*err = e;
		rc = -1;
	}
	if (rc == 0)
		pgd_m_push(m, "hypo_index_cost", pgd_hypo_labels(h, column), "", cost);
out:
	free(reset);
	free(create);
	return rc;
}

/* One statement: its cost as it is, and with a hypothetical index on each
 * candidate column. 1: checked; 0: could not be checked (skipped). */
static int pgd_hypo_stmt(struct dbk_conn *c, const struct pgd_exts *x,
                         const struct pgd_hypo_stmt *h, struct pgd_mbuf *m,
                         struct dbk_err *err)
{
	const char *params[3] = { NULL, h->relid, h->table };
	PGresult *cols = NULL;
	char *plan = NULL;
	double base = 0;
	int rc = -1;

	/* The statement's own search path, and a plan for unknown values. */
	if (pgd_cmd(c, "SET LOCAL search_path TO DEFAULT", "hypopg search_path", err) == -1 ||
	    pgd_cmd(c, "SET LOCAL plan_cache_mode = force_generic_plan", "hypopg plan mode",
	            err) == -1 ||
	    pgd_hypo_cost(c, h->query, &base, &plan, err) == -1)
		goto out;
	params[0] = plan;
	if (pgd_exec(c, pgd_hypo_columns_sql, 3, params, &cols, "hypopg columns", err) == -1)
		goto out;
	pgd_m_push(m, "hypo_plan_cost", pgd_hypo_labels(h, NULL), "", base);
	for (int r = 0; r < PQntuples(cols); r++)
		if (pgd_hypo_one(c, x, h, PQgetvalue(cols, r, 0), m, err) == -1)
			goto out;
	rc = 1;
out:
	PQclear(cols);
	free(plan);
	return rc;
}

/* For the three tables read most by sequential scans, the two SELECTs
 * naming them that took the most time, each in a savepoint (a statement
 * that cannot be prepared is skipped). hypo_checked says a table's
 * statements were costed, so "no index helps" can be told from "not
 * checked". */
static int pgd_m_hypo(struct dbk_conn *c, struct pgd_mbuf *m,
                      const struct pgd_exts *x, struct dbk_err *err)
{
	struct pgd_buf b = { 0 };
	PGresult *res = NULL;
	char *reset = NULL, *last = NULL;
	int rc = 0;

	if (x->pss == NULL || x->hypo == NULL)
		return 0;
	pgd_buf_add(&b, "%s", "WITH t AS (" PGD_SEQ_TABLES("3") ")"
	    " SELECT t.relid, t.schemaname, t.relname, x.queryid, x.query"
	    " FROM t CROSS JOIN LATERAL (SELECT p.queryid, min(p.query) AS query,");
	pgd_buf_add(&b, " sum(p.%s) AS ms FROM %s.pg_stat_statements p", x->pss_time, x->pss);
	pgd_buf_add(&b, "%s", " WHERE p.queryid IS NOT NULL AND p.dbid = " PGD_THIS_DB
	    "  AND p.query ~* " PGD_WORD("t.relname")
	    "  AND p.query ~* '^\\s*select\\M'"
	    " GROUP BY p.queryid ORDER BY 3 DESC LIMIT 2) x"
	    " ORDER BY t.seq_tup_read DESC, x.ms DESC");
	if (pgd_exec(c, b.s, 0, NULL, &res, "hypopg statements", err) == -1) {
		rc = pgd_m_fatal(err) ? -1 : 0;
		goto out;
	}
	reset = pgd_xasprintf("SELECT %s.hypopg_reset()", x->hypo);
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		struct pgd_hypo_stmt h = { PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
		    PQgetvalue(res, r, 2), PQgetvalue(res, r, 3), PQgetvalue(res, r, 4) };
		struct dbk_err e;
		int got = 0;

		memset(&e, 0, sizeof e);
		if ((rc = pgd_cmd(c, "SAVEPOINT pgd_hypo", "savepoint", err)) == -1)
			break;
		got = pgd_hypo_stmt(c, x, &h, m, &e);
		if (got == -1 && pgd_m_fatal(&e)) {
			*err = e;
			rc = -1;
			break;
		}
		if (got == -1)
			pgd_log(c, LOG_INFO, "%s: hypopg: statement %s not costed: %s",
			        c->target, h.queryid, e.msg);
		rc = pgd_cmd(c, "ROLLBACK TO SAVEPOINT pgd_hypo", "rollback to savepoint", err);
		/* Hypothetical indexes and prepared statements live in the
		 * session, not the transaction (the driver names no other
		 * statement, so DEALLOCATE ALL only drops pgd_hypo). */
		if (rc == 0)
			rc = pgd_cmd(c, reset, "hypopg reset", err);
		if (rc == 0 && got == -1)
			rc = pgd_cmd(c, "DEALLOCATE ALL", "hypopg deallocate", err);
		if (got == 1 && (last == NULL || strcmp(last, h.relid) != 0)) {
			pgd_m_push(m, "hypo_checked", pgd_hypo_labels(&(struct pgd_hypo_stmt){
			    h.relid, h.schema, h.table, NULL, NULL }, NULL), "", 1);
			free(last);
			last = pgd_xstrdup(h.relid);
		}
	}
out:
	free(last);
	free(reset);
	PQclear(res);
	pgd_buf_free(&b);
	return rc;
}

int pgd_collect_metrics(struct dbk_conn *c, int64_t timeout_ms,
                        struct dbk_metric_list **out, struct dbk_err *err)
{
	struct pgd_mbuf m = { 0 };
	struct pgd_exts x = { 0 };
	struct dbk_metric_list *l = NULL;
	const struct { const char *sql, *what; } groups[] = {
		{ pgd_m_database, "pg_stat_database" },
		{ c->version_num >= 170000 ? pgd_m_bgwriter_17 : pgd_m_bgwriter_13, "checkpoints" },
		{ pgd_m_activity, "pg_stat_activity" },
		{ pgd_m_locks, "lock waits" },
		{ pgd_m_xid, "transaction ID age" },
		{ pgd_m_replication, "replication" },
		{ pgd_m_slots, "replication slots" },
		{ pgd_m_settings, "settings" },
		{ pgd_m_vacuum, "dead rows" },
		{ pgd_m_scans, "table scans" },
		{ pgd_m_protected, "protected indexes" },
	};

	if (pgd_begin(c, true, timeout_ms, timeout_ms, err) == -1)
		return -1;
	for (size_t i = 0; i < PGD_NELEM(groups); i++)
		if (pgd_m_group(c, &m, groups[i].sql, groups[i].what, err) == -1)
			goto fail;
	if (pgd_m_exts(c, &x, err) == -1 || pgd_m_statements(c, &m, &x, err) == -1 ||
	    pgd_m_table_statements(c, &m, &x, err) == -1 || pgd_m_hypo(c, &m, &x, err) == -1 ||
	    pgd_commit(c, err) == -1)
		goto fail;
	pgd_exts_free(&x);
	l = pgd_xcalloc(1, sizeof *l);
	l->v = m.v;
	l->n = m.n;
	*out = l;
	return 0;
fail:
	pgd_exts_free(&x);
	pgd_rollback(c);
	l = pgd_xcalloc(1, sizeof *l);
	l->v = m.v;
	l->n = m.n;
	pgd_free_metrics(l);
	return -1;
}

void pgd_free_metrics(struct dbk_metric_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].name);
		free((char *)l->v[i].labels);
		free((char *)l->v[i].unit);
	}
	free(l->v);
	free(l);
}
