/* drivers/postgres/pgd_metrics.c: server and database statistics as
 * metrics: pg_stat_database, checkpoints and the background writer,
 * connections, transaction-ID age, replication, and pg_stat_statements'
 * top statements. Every query yields rows of (name, labels, unit, value,
 * kind) so one loop turns them into metrics. It computes no rates. */
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

static const char pgd_m_statements_ext[] =
	"SELECT n.nspname, e.extversion FROM pg_extension e"
	" JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'";

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

static int pgd_m_statements(struct dbk_conn *c, struct pgd_mbuf *m,
                            struct dbk_err *err)
{
	PGresult *res = NULL;
	char *schema = NULL, *sql = NULL;
	int rc = -1;

	if (pgd_exec(c, pgd_m_statements_ext, 0, NULL, &res, "find pg_stat_statements", err) == -1)
		return -1;
	if (PQntuples(res) == 0) {
		rc = 0; /* not installed here */
		goto out;
	}
	if ((schema = pgd_quote(c, PQgetvalue(res, 0, 0), err)) == NULL)
		goto out;
	sql = pgd_xasprintf(PGD_M_STATEMENTS_FMT, schema,
	    pgd_ext_version(PQgetvalue(res, 0, 1)) >= 108 ? "total_exec_time" : "total_time");
	rc = pgd_m_group(c, m, sql, "pg_stat_statements", err);
out:
	free(sql);
	free(schema);
	PQclear(res);
	return rc;
}

int pgd_collect_metrics(struct dbk_conn *c, int64_t timeout_ms,
                        struct dbk_metric_list **out, struct dbk_err *err)
{
	struct pgd_mbuf m = { 0 };
	struct dbk_metric_list *l = NULL;
	const struct { const char *sql, *what; } groups[] = {
		{ pgd_m_database, "pg_stat_database" },
		{ c->version_num >= 170000 ? pgd_m_bgwriter_17 : pgd_m_bgwriter_13, "checkpoints" },
		{ pgd_m_activity, "pg_stat_activity" },
		{ pgd_m_xid, "transaction ID age" },
		{ pgd_m_replication, "replication" },
	};

	if (pgd_begin(c, true, timeout_ms, timeout_ms, err) == -1)
		return -1;
	for (size_t i = 0; i < PGD_NELEM(groups); i++)
		if (pgd_m_group(c, &m, groups[i].sql, groups[i].what, err) == -1)
			goto fail;
	if (pgd_m_statements(c, &m, err) == -1 || pgd_commit(c, err) == -1)
		goto fail;
	l = pgd_xcalloc(1, sizeof *l);
	l->v = m.v;
	l->n = m.n;
	*out = l;
	return 0;
fail:
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
