/* drivers/mysql/myd_observe.c: tables, indexes, binary logs and server
 * log tables of the connected database, each from a few set-based catalog
 * queries merged in C (exact byte comparison of names: information_schema
 * compares them case-insensitively). Decides nothing; flags describe what
 * is seen. */
#include "myd_observe.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>

#include "myd_render.h"

/* gh-ost writes a heartbeat into its _t_ghc table several times a second;
 * one untouched for this long belongs to no running migration. */
#define MYD_GHOST_IDLE_S 600

/* ---- shared helpers ---- */

/* Milliseconds left before deadline (0 = unbounded); false once spent. */
static bool obs_left(int64_t deadline, int64_t *left)
{
	if (deadline == 0) {
		*left = 0;
		return true;
	}
	*left = deadline - myd_monotonic_ms();
	return *left > 0;
}

static int64_t obs_deadline(int64_t timeout_ms)
{
	return timeout_ms > 0 ? myd_monotonic_ms() + timeout_ms : 0;
}

/* Names the server stores filename-encoded (InnoDB's own catalog) equal
 * the SQL names only for these characters. */
static bool obs_plain_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Appends 'prefix%' as a LIKE pattern with prefix matched literally. */
static void obs_buf_like_prefix(struct dbk_conn *conn, struct myd_buf *b,
                                const char *prefix)
{
	struct myd_buf pat = MYD_BUF_INIT;

	for (const char *s = prefix; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			myd_buf_addn(&pat, "\\", 1);
		myd_buf_addn(&pat, s, 1);
	}
	myd_buf_addn(&pat, "%", 1);
	myd_buf_literal(conn, b, pat.p);
	myd_buf_free(&pat);
}

/* Runs an optional query: on failure or when out of time it logs at debug
 * level and returns NULL, leaving the fields it would fill unknown. A lost
 * connection or a cancel is not optional: *fatal is set. */
static MYSQL_RES *obs_optional(struct dbk_conn *conn, const char *sql,
                               const char *what, bool *fatal, struct dbk_err *err)
{
	struct dbk_err e;
	MYSQL_RES *res = myd_query(conn, sql, what, &e);

	if (res != NULL)
		return res;
	if (e.code == DBK_E_CONNECT || e.code == DBK_E_CANCELLED) {
		*fatal = true;
		if (err != NULL)
			*err = e;
	} else {
		myd_log(conn, LOG_DEBUG, "%s (left unknown)", e.msg);
	}
	return NULL;
}

const char *myd_orphan_prefix(const struct dbk_conn *conn)
{
	return conn->mariadb || conn->version_num < 80000 ? "#mysql50#" : "";
}

/* ---- tables ---- */

struct obs_tables {
	struct dbk_table *v;
	size_t n, cap;
	int64_t server_now;
};

static struct dbk_table *obs_table_add(struct obs_tables *t)
{
	struct dbk_table *x = NULL;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = myd_xrealloc(t->v, t->cap * sizeof *t->v);
	}
	x = &t->v[t->n++];
	memset(x, 0, sizeof *x);
	x->size_bytes = -1;
	x->est_rows = -1;
	x->write_count = -1;
	x->dead_rows = -1;
	x->mods_since_analyze = -1;
	x->xid_age = -1;
	return x;
}

static int obs_table_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbk_table *)a)->name, ((const struct dbk_table *)b)->name);
}

static struct dbk_table *obs_table_find(struct obs_tables *t, const char *name)
{
	struct dbk_table key;

	memset(&key, 0, sizeof key);
	key.name = name;
	return bsearch(&key, t->v, t->n, sizeof *t->v, obs_table_cmp);
}

static bool obs_is_system_schema(const char *s)
{
	return strcmp(s, "mysql") == 0 || strcmp(s, "information_schema") == 0 ||
	       strcmp(s, "performance_schema") == 0 || strcmp(s, "sys") == 0;
}

static int obs_base_tables(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                           struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct dbk_table *x = NULL;
	bool sys = obs_is_system_schema(conn->prm.database);
	int rc = -1;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "TABLE_SCHEMA, TABLE_NAME, ENGINE, UNIX_TIMESTAMP(CREATE_TIME),"
	            " UNIX_TIMESTAMP(UPDATE_TIME), DATA_LENGTH + INDEX_LENGTH, TABLE_ROWS,"
	            " UNIX_TIMESTAMP() FROM information_schema.TABLES"
	            " WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	if ((res = myd_query(conn, sql.p, "list tables", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		x = obs_table_add(t);
		x->schema = myd_xstrdup(row[0]);
		x->name = myd_xstrdup(row[1]);
		x->engine = myd_xstrdup(row[2]);
		x->created_at = myd_cell_i64(row[3], 0);
		x->updated_at = myd_cell_i64(row[4], 0);
		x->size_bytes = myd_cell_i64(row[5], -1);
		x->est_rows = myd_cell_i64(row[6], -1);
		t->server_now = myd_cell_i64(row[7], 0);
		if (sys)
			x->flags |= DBK_TF_SYSTEM;
	}
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* Cumulative writes since server start from performance_schema: a table
 * without a row there has not been opened since, so 0 writes. */
static int obs_write_counts(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                            struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct dbk_table *x = NULL;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "OBJECT_NAME, COUNT_WRITE"
	            " FROM performance_schema.table_io_waits_summary_by_table"
	            " WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	res = obs_optional(conn, sql.p, "table write counts", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL)
		return fatal ? -1 : 0;
	for (size_t i = 0; i < t->n; i++)
		if (!(t->v[i].flags & DBK_TF_SQL_ORPHAN))
			t->v[i].write_count = 0;
	while ((row = mysql_fetch_row(res)) != NULL)
		if (row[0] != NULL && (x = obs_table_find(t, row[0])) != NULL)
			x->write_count = myd_cell_i64(row[1], 0);
	mysql_free_result(res);
	return 0;
}

/* The table a statistics row of a partition belongs to: "t#P#p0" and
 * "t#P#p0#SP#s0" (MySQL 8 writes "#p#") are t's. NULL for other rows. */
static struct dbk_table *obs_partition_owner(struct obs_tables *t, const char *name)
{
	const char *sep = NULL;
	struct dbk_table *x = NULL;
	char *base = NULL;

	for (const char *s = strchr(name, '#'); s != NULL; s = strchr(s + 1, '#'))
		if ((s[1] == 'P' || s[1] == 'p') && s[2] == '#')
			sep = s;
	if (sep == NULL || sep == name)
		return NULL;
	base = myd_xstrndup(name, (size_t)(sep - name));
	x = obs_table_find(t, base);
	free(base);
	return x;
}

/* Last statistics refresh (ANALYZE or InnoDB's automatic recalculation)
 * from InnoDB's persistent statistics, which store plain names, one row
 * per partition: a partitioned table counts from its stalest partition. */
static int obs_last_analyze(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                            struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct dbk_table *x = NULL;
	int64_t at = 0;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "table_name, UNIX_TIMESTAMP(last_update) FROM mysql.innodb_table_stats"
	            " WHERE database_name = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	res = obs_optional(conn, sql.p, "table statistics age", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL)
		return fatal ? -1 : 0;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || (at = myd_cell_i64(row[1], 0)) <= 0)
			continue;
		if ((x = obs_table_find(t, row[0])) != NULL)
			x->last_analyze_at = at;
		else if ((x = obs_partition_owner(t, row[0])) != NULL &&
		         (x->last_analyze_at == 0 || at < x->last_analyze_at))
			x->last_analyze_at = at;
	}
	mysql_free_result(res);
	return 0;
}

/* Rows changed since InnoDB last computed statistics, from its in-memory
 * counter (a table not opened since the server started has no row: left
 * unknown). InnoDB names tables "db/table" in the server's file name
 * encoding ("a b" is "a@0020b"), so the server decodes the names itself
 * (CONVERT ... USING filename); a name that does not encode back to the
 * same bytes stays unmatched. A raw '#' only starts a partition suffix
 * ("t#P#p0"): partitions are summed, #sql orphans (empty base) skipped. */
static int obs_modified(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                        struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct dbk_table *x = NULL;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "CONVERT(CONVERT(b USING filename) USING utf8mb4), SUM(c) FROM"
	            " (SELECT CAST(SUBSTRING_INDEX(SUBSTRING(s.NAME, LENGTH(p.pfx) + 1), '#', 1)"
	            " AS BINARY) AS b, s.MODIFIED_COUNTER AS c FROM information_schema.%s s,"
	            " (SELECT CONCAT(CONVERT(CONVERT(",
	            conn->mariadb || conn->version_num < 80000 ? "INNODB_SYS_TABLESTATS"
	                                                       : "INNODB_TABLESTATS");
	myd_buf_literal(conn, &sql, conn->prm.database);
	myd_buf_add(&sql, " USING filename) USING binary), '/') AS pfx) p"
	            " WHERE LEFT(s.NAME, LENGTH(p.pfx)) = p.pfx) m"
	            " WHERE b <> '' AND CAST(CONVERT(CONVERT(CONVERT(b USING filename)"
	            " USING utf8mb4) USING filename) AS BINARY) = b GROUP BY b");
	res = obs_optional(conn, sql.p, "rows modified since statistics", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL)
		return fatal ? -1 : 0;
	while ((row = mysql_fetch_row(res)) != NULL)
		if (row[0] != NULL && (x = obs_table_find(t, row[0])) != NULL)
			x->mods_since_analyze = myd_cell_i64(row[1], -1);
	mysql_free_result(res);
	return 0;
}

/* Orphaned #sql tables of interrupted ALTERs. information_schema.TABLES
 * never lists them (a user table named "#sql-x" is stored as @0023sql@002dx
 * and is an ordinary table); InnoDB's own catalog does, under the raw file
 * name. They are reported spelled as the server accepts them in DROP TABLE:
 * "#mysql50##sql-..." on MariaDB and MySQL 5.7. .frm-only orphans of other
 * engines are invisible to SQL and not reported. Partitions are summed. */
static int obs_orphans(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                       struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT, pfx = MYD_BUF_INIT, name = MYD_BUF_INIT;
	bool old_dict = conn->mariadb || conn->version_num < 80000;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct dbk_table *x = NULL;
	const char *raw = NULL;
	size_t base_len = 0, first = t->n;
	bool fatal = false;

	if (!obs_plain_name(conn->prm.database))
		return 0;
	myd_buf_add(&pfx, "%s/#sql", conn->prm.database);
	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "t.NAME, s.ALLOCATED_SIZE FROM information_schema.%s t"
	            " LEFT JOIN information_schema.%s s ON s.SPACE = t.SPACE"
	            " WHERE t.NAME LIKE ",
	            old_dict ? "INNODB_SYS_TABLES" : "INNODB_TABLES",
	            old_dict ? "INNODB_SYS_TABLESPACES" : "INNODB_TABLESPACES");
	obs_buf_like_prefix(conn, &sql, pfx.p);
	myd_buf_add(&sql, " ORDER BY t.NAME");
	res = obs_optional(conn, sql.p, "orphaned #sql tables", &fatal, err);
	myd_buf_free(&sql);
	myd_buf_free(&pfx);
	if (res == NULL)
		return fatal ? -1 : 0;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || (raw = strchr(row[0], '/')) == NULL)
			continue;
		raw++;
		base_len = strlen(raw);
		/* "#sql-x#P#p0": one table, several partitions. */
		if (strstr(raw, "#P#") != NULL)
			base_len = (size_t)(strstr(raw, "#P#") - raw);
		myd_buf_free(&name);
		myd_buf_add(&name, "%s", myd_orphan_prefix(conn));
		myd_buf_addn(&name, raw, base_len);
		x = NULL;
		for (size_t i = first; i < t->n && x == NULL; i++)
			if (strcmp(t->v[i].name, name.p) == 0)
				x = &t->v[i];
		if (x == NULL) {
			x = obs_table_add(t);
			x->schema = myd_xstrdup(conn->prm.database);
			x->name = myd_buf_take(&name);
			x->engine = myd_xstrdup("InnoDB");
			x->size_bytes = 0;
			x->flags = DBK_TF_SQL_ORPHAN;
		}
		x->size_bytes += myd_cell_i64(row[1], 0);
	}
	mysql_free_result(res);
	myd_buf_free(&name);
	return 0;
}

/* ---- online schema change leftovers ---- */

enum { OSC_NONE = 0, OSC_PT, OSC_GH };

/* pt-online-schema-change names its tables _t_new/_t_old (more leading
 * underscores when taken), gh-ost _t_gho/_t_ghc/_t_del. */
static int obs_osc_kind(const char *name)
{
	size_t n = strlen(name);
	const char *suf = NULL;

	if (n < 6 || name[0] != '_')
		return OSC_NONE;
	suf = name + n - 4;
	if (strcmp(suf, "_new") == 0 || strcmp(suf, "_old") == 0)
		return OSC_PT;
	if (strcmp(suf, "_gho") == 0 || strcmp(suf, "_ghc") == 0 || strcmp(suf, "_del") == 0)
		return OSC_GH;
	return OSC_NONE;
}

/* Candidate original table k of name: drop k leading underscores and the
 * suffix. NULL when there is no candidate k. Caller frees. */
static char *obs_osc_base(const char *name, size_t k)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < k; i++)
		if (name[i] != '_')
			return NULL;
	if (n < k + 4 + 1)
		return NULL;
	return myd_xstrndup(name + k, n - k - 4);
}

struct obs_osc {
	size_t table;    /* index into the table list */
	int kind;
	bool running;
};

/* pt-osc keeps pt_osc_<db>_<t>_{ins,upd,del} triggers on the original
 * table while it copies: any such trigger on a candidate base means running. */
static int obs_osc_triggers(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                            struct obs_osc *c, size_t nc, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	char *base = NULL;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS"
	            " WHERE TRIGGER_NAME LIKE 'pt\\_osc\\_%%' AND TRIGGER_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	res = obs_optional(conn, sql.p, "pt-osc triggers", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL) {
		/* Unknown whether the tool runs: call them running, never leftovers. */
		for (size_t i = 0; i < nc; i++)
			c[i].running = c[i].running || c[i].kind == OSC_PT;
		return fatal ? -1 : 0;
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL)
			continue;
		for (size_t i = 0; i < nc; i++) {
			if (c[i].kind != OSC_PT)
				continue;
			for (size_t k = 1; (base = obs_osc_base(t->v[c[i].table].name, k)) != NULL; k++) {
				c[i].running = c[i].running || strcmp(base, row[0]) == 0;
				free(base);
			}
		}
	}
	mysql_free_result(res);
	return 0;
}

/* gh-ost heartbeats into _t_ghc: a recently written changelog table means
 * the migration of t is alive. */
static void obs_osc_ghost_heartbeat(struct obs_tables *t, struct obs_osc *c, size_t nc)
{
	struct myd_buf ghc = MYD_BUF_INIT;
	struct dbk_table *x = NULL;
	char *base = NULL;

	for (size_t i = 0; i < nc; i++) {
		if (c[i].kind != OSC_GH)
			continue;
		for (size_t k = 1; (base = obs_osc_base(t->v[c[i].table].name, k)) != NULL; k++) {
			myd_buf_free(&ghc);
			myd_buf_add(&ghc, "_%s_ghc", base);
			free(base);
			for (size_t j = 0; j < t->n; j++) {
				x = &t->v[j];
				if (strcmp(x->name, ghc.p) == 0 && x->updated_at > 0 &&
				    x->updated_at >= t->server_now - MYD_GHOST_IDLE_S)
					c[i].running = true;
			}
		}
	}
	myd_buf_free(&ghc);
}

/* A statement running now that names the table (the tool's row copy,
 * gh-ost's changelog writes) means the tool is alive. One row, one
 * column per candidate. Without PROCESS only our own threads are seen. */
static int obs_osc_processlist(struct dbk_conn *conn, int64_t left, struct obs_tables *t,
                               struct obs_osc *c, size_t nc, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	for (size_t i = 0; i < nc; i++) {
		myd_buf_add(&sql, "%sCOALESCE(SUM(LOCATE(", i ? ", " : "");
		myd_buf_literal(conn, &sql, t->v[c[i].table].name);
		myd_buf_add(&sql, ", INFO) > 0), 0)");
	}
	myd_buf_add(&sql, " FROM information_schema.PROCESSLIST"
	            " WHERE ID <> CONNECTION_ID() AND INFO IS NOT NULL");
	res = obs_optional(conn, sql.p, "schema change tools in processlist", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL)
		return fatal ? -1 : 0;
	if ((row = mysql_fetch_row(res)) != NULL)
		for (size_t i = 0; i < nc; i++)
			c[i].running = c[i].running || myd_cell_i64(row[i], 0) > 0;
	mysql_free_result(res);
	return 0;
}

static int obs_osc(struct dbk_conn *conn, int64_t deadline, struct obs_tables *t,
                   struct dbk_err *err)
{
	struct obs_osc *c = NULL;
	size_t nc = 0;
	int64_t left = 0;
	int rc = -1;

	c = myd_xcalloc(t->n, sizeof *c);
	for (size_t i = 0; i < t->n; i++) {
		int kind = t->v[i].flags & DBK_TF_SQL_ORPHAN ? OSC_NONE : obs_osc_kind(t->v[i].name);

		if (kind != OSC_NONE) {
			c[nc].table = i;
			c[nc].kind = kind;
			nc++;
		}
	}
	if (nc == 0) {
		rc = 0;
		goto out;
	}
	obs_osc_ghost_heartbeat(t, c, nc);
	/* Out of time for the checks: nothing can be called a leftover. */
	if (!obs_left(deadline, &left)) {
		for (size_t i = 0; i < nc; i++)
			c[i].running = true;
	} else if (obs_osc_triggers(conn, left, t, c, nc, err) == -1 ||
	           (obs_left(deadline, &left) &&
	            obs_osc_processlist(conn, left, t, c, nc, err) == -1)) {
		goto out;
	}
	for (size_t i = 0; i < nc; i++)
		t->v[c[i].table].flags |= c[i].running ? DBK_TF_TOOL_RUNNING : DBK_TF_TOOL_LEFTOVER;
	rc = 0;
out:
	free(c);
	return rc;
}

static void obs_tables_free(struct obs_tables *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free((char *)t->v[i].schema);
		free((char *)t->v[i].name);
		free((char *)t->v[i].engine);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

int myd_list_tables(struct dbk_conn *conn, int64_t timeout_ms,
                    struct dbk_table_list **out, struct dbk_err *err)
{
	struct obs_tables t;
	struct dbk_table_list *list = NULL;
	int64_t deadline = obs_deadline(timeout_ms), left = 0;
	int rc = -1;

	memset(&t, 0, sizeof t);
	obs_left(deadline, &left);
	if (obs_base_tables(conn, left, &t, err) == -1)
		goto out;
	qsort(t.v, t.n, sizeof *t.v, obs_table_cmp);
	if (conn->pfs && obs_left(deadline, &left) &&
	    obs_write_counts(conn, left, &t, err) == -1)
		goto out;
	if (obs_left(deadline, &left) && obs_last_analyze(conn, left, &t, err) == -1)
		goto out;
	if (obs_left(deadline, &left) && obs_modified(conn, left, &t, err) == -1)
		goto out;
	if (obs_left(deadline, &left) && obs_orphans(conn, left, &t, err) == -1)
		goto out;
	qsort(t.v, t.n, sizeof *t.v, obs_table_cmp);
	if (obs_osc(conn, deadline, &t, err) == -1)
		goto out;
	list = myd_xcalloc(1, sizeof *list);
	list->n = t.n;
	list->v = t.v;
	memset(&t, 0, sizeof t);
	*out = list;
	rc = 0;
out:
	obs_tables_free(&t);
	return rc;
}

void myd_free_tables(struct dbk_table_list *list)
{
	struct obs_tables t;

	if (list == NULL)
		return;
	memset(&t, 0, sizeof t);
	t.v = list->v;
	t.n = list->n;
	obs_tables_free(&t);
	free(list);
}

/* ---- indexes ---- */

struct obs_ix {
	struct dbk_index ix;
	char **cols;      /* "name/sub_part" keys in index order */
	size_t ncols;
	bool comparable;  /* plain column btree/hash index */
};

struct obs_ixs {
	struct obs_ix *v;
	size_t n, cap;
};

struct obs_tsize {
	char *name;
	int64_t data, index, free_;
};

static int obs_ix_cmp(const void *a, const void *b)
{
	const struct dbk_index *x = &((const struct obs_ix *)a)->ix;
	const struct dbk_index *y = &((const struct obs_ix *)b)->ix;
	int c = strcmp(x->table, y->table);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static struct obs_ix *obs_ix_find(struct obs_ixs *s, const char *table, const char *name)
{
	struct obs_ix key;

	memset(&key, 0, sizeof key);
	key.ix.table = table;
	key.ix.name = name;
	return bsearch(&key, s->v, s->n, sizeof *s->v, obs_ix_cmp);
}

static struct obs_ix *obs_ix_add(struct obs_ixs *s, struct dbk_conn *conn, MYSQL_ROW row)
{
	struct obs_ix *x = NULL;
	char *m = NULL;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = myd_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	x = &s->v[s->n++];
	memset(x, 0, sizeof *x);
	x->ix.schema = myd_xstrdup(conn->prm.database);
	x->ix.table = myd_xstrdup(row[0]);
	x->ix.name = myd_xstrdup(row[1]);
	m = myd_xstrdup(row[6] != NULL ? row[6] : "btree");
	for (char *p = m; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	x->ix.method = m;
	x->ix.size_bytes = -1;
	x->ix.scans = -1;
	x->ix.bloat_pct = -1;
	x->comparable = strcmp(m, "btree") == 0 || strcmp(m, "hash") == 0;
	if (strcmp(x->ix.name, "PRIMARY") == 0)
		x->ix.flags |= DBK_IF_PRIMARY | DBK_IF_UNIQUE | DBK_IF_CONSTRAINT;
	else if (row[2] != NULL && strcmp(row[2], "0") == 0)
		x->ix.flags |= DBK_IF_UNIQUE | DBK_IF_CONSTRAINT;
	return x;
}

static void obs_ix_add_col(struct obs_ix *x, const char *col, const char *sub_part)
{
	struct myd_buf key = MYD_BUF_INIT;

	/* Functional key parts (MySQL 8) have no column: never comparable. */
	if (col == NULL) {
		x->comparable = false;
		col = "";
	}
	myd_buf_add(&key, "%s/%s", col, sub_part != NULL ? sub_part : "");
	x->cols = myd_xrealloc(x->cols, (x->ncols + 1) * sizeof *x->cols);
	x->cols[x->ncols++] = myd_buf_take(&key);
}

static void obs_ixs_free(struct obs_ixs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct obs_ix *x = &s->v[i];

		free((char *)x->ix.schema);
		free((char *)x->ix.table);
		free((char *)x->ix.name);
		free((char *)x->ix.method);
		free((char *)x->ix.duplicate_of);
		for (size_t j = 0; j < x->ncols; j++)
			free(x->cols[j]);
		free(x->cols);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* One row per key part, in byte order of table and index name so the parts
 * of one index are adjacent (the _ci collation would interleave "T"/"t"). */
static int obs_ix_columns(struct dbk_conn *conn, int64_t left, struct obs_ixs *s,
                          struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct obs_ix *x = NULL;
	int rc = -1;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME,"
	            " SUB_PART, INDEX_TYPE FROM information_schema.STATISTICS"
	            " WHERE TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	myd_buf_add(&sql, " ORDER BY CAST(TABLE_NAME AS BINARY), CAST(INDEX_NAME AS BINARY),"
	            " SEQ_IN_INDEX");
	if ((res = myd_query(conn, sql.p, "list indexes", err)) == NULL)
		goto out;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		if (x == NULL || strcmp(x->ix.table, row[0]) != 0 || strcmp(x->ix.name, row[1]) != 0)
			x = obs_ix_add(s, conn, row);
		obs_ix_add_col(x, row[4], row[5]);
	}
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* a's key parts equal, or are a left prefix of, b's. */
static bool obs_ix_prefix(const struct obs_ix *a, const struct obs_ix *b)
{
	if (a->ncols > b->ncols)
		return false;
	for (size_t i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i], b->cols[i]) != 0)
			return false;
	return true;
}

/* Is a redundant given b (pt-duplicate-key-checker's rules)? A primary key
 * never is; a unique index that is shorter enforces its own constraint; of
 * two identical indexes the non-unique one, else the later name, goes. */
static bool obs_ix_redundant(const struct obs_ix *a, const struct obs_ix *b)
{
	bool au = a->ix.flags & DBK_IF_UNIQUE, bu = b->ix.flags & DBK_IF_UNIQUE;

	if (a == b || (a->ix.flags & DBK_IF_PRIMARY) || !a->comparable || !b->comparable ||
	    strcmp(a->ix.method, b->ix.method) != 0 || !obs_ix_prefix(a, b))
		return false;
	if (a->ncols < b->ncols)
		return !au;
	if (b->ix.flags & DBK_IF_PRIMARY)
		return true;
	if (au != bu)
		return bu;
	return strcmp(a->ix.name, b->ix.name) > 0;
}

static void obs_ix_duplicates(struct obs_ixs *s)
{
	size_t i = 0, j = 0, end = 0;

	for (i = 0; i < s->n; i = end) {
		for (end = i + 1; end < s->n && strcmp(s->v[end].ix.table, s->v[i].ix.table) == 0;)
			end++;
		for (size_t a = i; a < end; a++) {
			for (j = i; j < end; j++) {
				if (obs_ix_redundant(&s->v[a], &s->v[j])) {
					s->v[a].ix.flags |= DBK_IF_DUPLICATE;
					s->v[a].ix.duplicate_of = myd_xstrdup(s->v[j].ix.name);
					break;
				}
			}
		}
	}
}

static int obs_tsize_cmp(const void *a, const void *b)
{
	return strcmp(((const struct obs_tsize *)a)->name, ((const struct obs_tsize *)b)->name);
}

/* Fragmentation of each index's table from DATA_FREE: InnoDB rebuilds
 * every index of a table together, so all of them share the estimate. */
static int obs_ix_bloat(struct dbk_conn *conn, int64_t left, struct obs_ixs *s,
                        struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct obs_tsize *ts = NULL, key, *hit = NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	size_t n = 0;
	int64_t total = 0;
	int rc = -1;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "TABLE_NAME, DATA_LENGTH, INDEX_LENGTH, DATA_FREE"
	            " FROM information_schema.TABLES"
	            " WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	if ((res = myd_query(conn, sql.p, "table fragmentation", err)) == NULL)
		goto out;
	ts = myd_xcalloc(mysql_num_rows(res) + 1, sizeof *ts);
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL)
			continue;
		ts[n].name = myd_xstrdup(row[0]);
		ts[n].data = myd_cell_i64(row[1], -1);
		ts[n].index = myd_cell_i64(row[2], -1);
		ts[n].free_ = myd_cell_i64(row[3], -1);
		n++;
	}
	qsort(ts, n, sizeof *ts, obs_tsize_cmp);
	for (size_t i = 0; i < s->n; i++) {
		key.name = (char *)s->v[i].ix.table;
		if ((hit = bsearch(&key, ts, n, sizeof *ts, obs_tsize_cmp)) == NULL)
			continue;
		if (s->v[i].ix.flags & DBK_IF_PRIMARY && hit->data >= 0)
			s->v[i].ix.size_bytes = hit->data; /* InnoDB: the clustered index */
		if (hit->data < 0 || hit->index < 0 || hit->free_ < 0)
			continue;
		total = hit->data + hit->index + hit->free_;
		if (total > 0)
			s->v[i].ix.bloat_pct = 100.0 * (double)hit->free_ / (double)total;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(ts[i].name);
	free(ts);
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

/* Index sizes from InnoDB's persistent statistics (pages x page size). */
static int obs_ix_sizes(struct dbk_conn *conn, int64_t left, struct obs_ixs *s,
                        struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct obs_ix *x = NULL;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "table_name, index_name, stat_value * @@innodb_page_size"
	            " FROM mysql.innodb_index_stats WHERE stat_name = 'size'"
	            " AND database_name = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	res = obs_optional(conn, sql.p, "index sizes", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL)
		return fatal ? -1 : 0;
	while ((row = mysql_fetch_row(res)) != NULL)
		if (row[0] != NULL && row[1] != NULL &&
		    (x = obs_ix_find(s, row[0], row[1])) != NULL)
			x->ix.size_bytes = myd_cell_i64(row[2], x->ix.size_bytes);
	mysql_free_result(res);
	return 0;
}

/* Reads and writes through each index since server start; an index of a
 * table not opened since has no row and was not used. */
static int obs_ix_scans(struct dbk_conn *conn, int64_t left, struct obs_ixs *s,
                        struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	struct obs_ix *x = NULL;
	bool fatal = false;

	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "OBJECT_NAME, INDEX_NAME, COUNT_STAR"
	            " FROM performance_schema.table_io_waits_summary_by_index_usage"
	            " WHERE OBJECT_TYPE = 'TABLE' AND INDEX_NAME IS NOT NULL"
	            " AND OBJECT_SCHEMA = ");
	myd_buf_literal(conn, &sql, conn->prm.database);
	res = obs_optional(conn, sql.p, "index use", &fatal, err);
	myd_buf_free(&sql);
	if (res == NULL)
		return fatal ? -1 : 0;
	for (size_t i = 0; i < s->n; i++)
		s->v[i].ix.scans = 0;
	while ((row = mysql_fetch_row(res)) != NULL)
		if (row[0] != NULL && row[1] != NULL &&
		    (x = obs_ix_find(s, row[0], row[1])) != NULL)
			x->ix.scans = myd_cell_i64(row[2], 0);
	mysql_free_result(res);
	return 0;
}

int myd_list_indexes(struct dbk_conn *conn, int64_t timeout_ms,
                     struct dbk_index_list **out, struct dbk_err *err)
{
	struct obs_ixs s;
	struct dbk_index_list *list = NULL;
	int64_t deadline = obs_deadline(timeout_ms), left = 0;
	int rc = -1;

	memset(&s, 0, sizeof s);
	obs_left(deadline, &left);
	if (obs_ix_columns(conn, left, &s, err) == -1)
		goto out;
	obs_ix_duplicates(&s);
	if (!obs_left(deadline, &left)) {
		myd_err_set(err, DBK_E_TIMEOUT, "%s: list indexes: out of time", conn->target);
		goto out;
	}
	if (obs_ix_bloat(conn, left, &s, err) == -1)
		goto out;
	if (obs_left(deadline, &left) && obs_ix_sizes(conn, left, &s, err) == -1)
		goto out;
	if (conn->pfs && obs_left(deadline, &left) && obs_ix_scans(conn, left, &s, err) == -1)
		goto out;
	list = myd_xcalloc(1, sizeof *list);
	list->n = s.n;
	list->v = s.n ? myd_xcalloc(s.n, sizeof *list->v) : NULL;
	for (size_t i = 0; i < s.n; i++) {
		list->v[i] = s.v[i].ix;
		memset(&s.v[i].ix, 0, sizeof s.v[i].ix);
	}
	*out = list;
	rc = 0;
out:
	obs_ixs_free(&s);
	return rc;
}

void myd_free_indexes(struct dbk_index_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++) {
		free((char *)list->v[i].schema);
		free((char *)list->v[i].table);
		free((char *)list->v[i].name);
		free((char *)list->v[i].method);
		free((char *)list->v[i].duplicate_of);
	}
	free(list->v);
	free(list);
}

/* ---- binary logs ---- */

/* SQL cannot tell a binary log's age; when the agent runs on the server's
 * host and may read the directory, the file's own mtime can. */
static int64_t obs_binlog_mtime(const char *basename, const char *name)
{
	struct myd_buf path = MYD_BUF_INIT;
	const char *slash = basename != NULL ? strrchr(basename, '/') : NULL;
	struct stat st;
	int64_t t = 0;

	if (slash == NULL || basename[0] != '/' || strchr(name, '/') != NULL)
		return 0;
	myd_buf_addn(&path, basename, (size_t)(slash - basename) + 1);
	myd_buf_add(&path, "%s", name);
	if (stat(path.p, &st) == 0 && S_ISREG(st.st_mode))
		t = (int64_t)st.st_mtime;
	myd_buf_free(&path);
	return t;
}

int myd_list_server_logs(struct dbk_conn *conn, int64_t timeout_ms,
                         struct dbk_logfile_list **out, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT;
	struct dbk_logfile_list *list = NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	char *basename = NULL, *on = NULL;
	int64_t deadline = obs_deadline(timeout_ms), left = 0;
	size_t n = 0;
	int rc = -1;

	if (myd_query_value(conn, "SELECT @@log_bin", "binary log state", &on, err) == -1)
		goto out;
	list = myd_xcalloc(1, sizeof *list);
	if (on == NULL || strcmp(on, "1") != 0) {
		*out = list;
		list = NULL;
		rc = 0;
		goto out;
	}
	if (myd_query_value(conn, "SELECT @@log_bin_basename", "binary log directory",
	                    &basename, err) == -1)
		goto out;
	obs_left(deadline, &left);
	myd_buf_show(conn, &sql, left);
	myd_buf_add(&sql, "BINARY LOGS");
	if ((res = myd_query(conn, sql.p, "list binary logs", err)) == NULL)
		goto out;
	list->v = myd_xcalloc(mysql_num_rows(res) + 1, sizeof *list->v);
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL)
			continue;
		list->v[n].name = myd_xstrdup(row[0]);
		list->v[n].size_bytes = myd_cell_i64(row[1], -1);
		list->v[n].mtime = obs_binlog_mtime(basename, row[0]);
		n++;
	}
	list->n = n;
	/* SHOW BINARY LOGS lists oldest first; the server writes the last. */
	if (n > 0)
		list->v[n - 1].in_use = true;
	*out = list;
	list = NULL;
	rc = 0;
out:
	myd_free_logfiles(list);
	if (res != NULL)
		mysql_free_result(res);
	free(basename);
	free(on);
	myd_buf_free(&sql);
	return rc;
}

void myd_free_logfiles(struct dbk_logfile_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++)
		free((char *)list->v[i].name);
	free(list->v);
	free(list);
}

/* ---- server log tables ---- */

/* log_output is a set: "FILE,TABLE", "TABLE", "NONE". */
static bool obs_logs_to_tables(const char *log_output)
{
	const char *s = log_output, *end = NULL;
	size_t n = 0;

	while (s != NULL && *s != '\0') {
		end = strchr(s, ',');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		if (n == 5 && strncasecmp(s, "TABLE", 5) == 0)
			return true;
		s = end != NULL ? end + 1 : NULL;
	}
	return false;
}

static bool obs_access_denied(unsigned e)
{
	return e == ER_TABLEACCESS_DENIED_ERROR || e == ER_COLUMNACCESS_DENIED_ERROR ||
	       e == ER_DBACCESS_DENIED_ERROR;
}

/* One log table's oldest entry (unix time; 0: empty) and its data length
 * when the engine reports one (CSV, the default, does not: -1). The oldest
 * entry needs a scan: log tables have no index. Returns 0, 1 when the
 * account may not read the table (rotation is optional, as its grants
 * are: such a table is not looked after), -1 on error. */
static int obs_log_table(struct dbk_conn *conn, const struct myd_log_table *lt,
                         int64_t deadline, struct dbk_logfile *f, struct dbk_err *err)
{
	struct myd_buf sql = MYD_BUF_INIT, name = MYD_BUF_INIT;
	struct dbk_err e;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row = NULL;
	int64_t left = 0;
	int rc = -1;

	if (!obs_left(deadline, &left)) {
		myd_err_set(err, DBK_E_TIMEOUT, "%s: server log tables: out of time", conn->target);
		goto out;
	}
	myd_buf_select(conn, &sql, left);
	myd_buf_add(&sql, "(SELECT UNIX_TIMESTAMP(MIN(");
	if (myd_buf_ident(&sql, lt->time_column, err) == -1)
		goto out;
	myd_buf_add(&sql, ")) FROM `mysql`.");
	if (myd_buf_ident(&sql, lt->name, err) == -1)
		goto out;
	myd_buf_add(&sql, "), (SELECT IF(ENGINE = 'CSV', NULL, DATA_LENGTH)"
	            " FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql'"
	            " AND TABLE_NAME = ");
	myd_buf_literal(conn, &sql, lt->name);
	myd_buf_add(&sql, ")");
	if ((res = myd_query(conn, sql.p, "server log table", &e)) == NULL) {
		if (obs_access_denied(myd_errno(conn))) {
			myd_log(conn, LOG_DEBUG, "%s (not looked after)", e.msg);
			rc = 1;
		} else if (err != NULL) {
			*err = e;
		}
		goto out;
	}
	if ((row = mysql_fetch_row(res)) == NULL) {
		myd_err_set(err, DBK_E_INTERNAL, "%s: server log table: no row", conn->target);
		goto out;
	}
	myd_buf_add(&name, "mysql.%s", lt->name);
	f->name = myd_buf_take(&name);
	f->mtime = myd_cell_i64(row[0], 0);
	f->size_bytes = myd_cell_i64(row[1], -1);
	rc = 0;
out:
	if (res != NULL)
		mysql_free_result(res);
	myd_buf_free(&sql);
	return rc;
}

int myd_list_log_tables(struct dbk_conn *conn, int64_t timeout_ms,
                        struct dbk_logfile_list **out, struct dbk_err *err)
{
	struct dbk_logfile_list *list = NULL;
	int64_t deadline = obs_deadline(timeout_ms);
	char *lo = NULL;
	int rc = -1, r = 0;

	if (myd_query_value(conn, "SELECT @@log_output", "log output", &lo, err) == -1)
		goto out;
	list = myd_xcalloc(1, sizeof *list);
	list->v = myd_xcalloc(myd_n_log_tables, sizeof *list->v);
	for (size_t i = 0; obs_logs_to_tables(lo) && i < myd_n_log_tables; i++) {
		if ((r = obs_log_table(conn, &myd_log_tables[i], deadline, &list->v[list->n],
		                       err)) == -1)
			goto out;
		list->n += r == 0;
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	myd_free_logfiles(list);
	free(lo);
	return rc;
}
