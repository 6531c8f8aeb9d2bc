/* tests/unit/test_rules.c: tuning rules and findings that last
 * (agent/rules.c, agent/facts.c, the rules of agent/policy.c, agent/prom.c):
 * thresholds and severities, rule checks, "for" durations, templates and
 * quoting, configuration advice that is never contradictory and never
 * given when already satisfied, unused-index claims only from history, the
 * lasting-finding state machine, rule files with file:line errors, the
 * shipped rule packs, and the Prometheus export. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "facts.h"
#include "prom.h"
#include "rules.h"
#include "state.h"

#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * MIB)
#define DAY 86400

/* ---- Helpers ---- */

static struct dbk_rule rule_new(const char *name, const char *metric, int op,
                                double info, double warn, double crit)
{
	struct dbk_rule r = { 0 };

	r.name = (char *)name;
	r.metric = (char *)metric;
	r.op = op;
	r.threshold[0] = info;
	r.threshold[1] = warn;
	r.threshold[2] = crit;
	r.enabled = true;
	return r;
}

/* A metric list over static storage; m[i].labels may be NULL. */
static struct dbk_metric_list mlist(struct dbk_metric *m, size_t n)
{
	return (struct dbk_metric_list){ n, m };
}

static const struct dbk_fact *fact_find(const struct dbk_facts *f,
                                        const char *metric, const char *object)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].metric, metric) == 0 &&
		    ((object == NULL && f->v[i].object == NULL) ||
		     (object != NULL && f->v[i].object != NULL &&
		      strcmp(f->v[i].object, object) == 0)))
			return &f->v[i];
	return NULL;
}

static size_t fact_count(const struct dbk_facts *f, const char *metric)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += strcmp(f->v[i].metric, metric) == 0;
	return n;
}

static struct dbk_server_info pg_info(void)
{
	struct dbk_server_info i = { 0 };

	snprintf(i.flavour, sizeof i.flavour, "postgresql");
	snprintf(i.version, sizeof i.version, "15.4");
	return i;
}

static struct dbk_server_info my_info(void)
{
	struct dbk_server_info i = { 0 };

	snprintf(i.flavour, sizeof i.flavour, "mariadb");
	snprintf(i.version, sizeof i.version, "10.11");
	return i;
}

/* ---- Severity and rule checks ---- */

static void test_thresholds(void **unused)
{
	struct dbk_rule lt = rule_new("hit", "cache_hit_ratio", DBK_OP_LT, NAN, 0.95, 0.90);
	struct dbk_rule ge = rule_new("lag", "replication_lag", DBK_OP_GE, 10, 60, 600);
	struct dbk_rule gt0 = rule_new("dl", "deadlocks", DBK_OP_GT, NAN, 0, 10);
	static const struct { struct dbk_rule *r; double v; int sev; double thr; } cases[] = {
		{ NULL, 0.99, -1, 0 },
		{ NULL, 0.95, -1, 0 },      /* < is strict */
		{ NULL, 0.949, 1, 0.95 },
		{ NULL, 0.90, 1, 0.95 },
		{ NULL, 0.10, 2, 0.90 },
	};
	double thr = 0;

	(void)unused;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		int sev = dbk_rule_severity(&lt, cases[i].v, &thr);

		assert_int_equal(sev, cases[i].sev);
		if (sev >= 0)
			assert_true(thr == cases[i].thr);
	}
	assert_int_equal(dbk_rule_severity(&ge, 5, NULL), -1);
	assert_int_equal(dbk_rule_severity(&ge, 10, NULL), DBK_SEV_INFO);
	assert_int_equal(dbk_rule_severity(&ge, 59.9, NULL), DBK_SEV_INFO);
	assert_int_equal(dbk_rule_severity(&ge, 60, NULL), DBK_SEV_WARNING);
	assert_int_equal(dbk_rule_severity(&ge, 1e9, NULL), DBK_SEV_CRITICAL);
	assert_int_equal(dbk_rule_severity(&ge, NAN, NULL), -1);
	assert_int_equal(dbk_rule_severity(&gt0, 0, NULL), -1);
	assert_int_equal(dbk_rule_severity(&gt0, 1, NULL), DBK_SEV_WARNING);
	assert_int_equal(dbk_rule_severity(&gt0, 11, NULL), DBK_SEV_CRITICAL);
}

static void test_rule_check(void **unused)
{
	static const struct {
		const char *metric;
		int op;
		double t[3];
		const char *title, *rec;
		const char *why; /* NULL: valid */
	} cases[] = {
		{ "cache_hit_ratio", DBK_OP_LT, { NAN, 0.95, 0.9 }, "{value}", NULL, NULL },
		{ "cache_hit_ratio", DBK_OP_LT, { NAN, 0.90, 0.95 }, NULL, NULL,
		  "critical must be the worst" },
		{ "replication_lag", DBK_OP_GE, { 10, 5, NAN }, NULL, NULL,
		  "critical must be the worst" },
		{ "cache_hit_ratio", DBK_OP_LT, { NAN, NAN, NAN }, NULL, NULL,
		  "at least one of info, warning, critical" },
		{ "cache_hit_ratoi", DBK_OP_LT, { NAN, 0.9, NAN }, NULL, NULL,
		  "unknown metric 'cache_hit_ratoi'" },
		{ "cache_hit_ratio", DBK_OP_LT, { NAN, 0.9, NAN }, "{valeu}", NULL,
		  "unknown placeholder {valeu}" },
		{ "cache_hit_ratio", DBK_OP_LT, { NAN, 0.9, NAN }, NULL, "{suggested}",
		  "recommendation: unknown placeholder {suggested}" },
		{ "config_shared_buffers", DBK_OP_GT, { 1, NAN, NAN }, "{current} {{x}",
		  "{setting}: {reason}", NULL },
		{ "table_dead_ratio", DBK_OP_GE, { NAN, 0.2, NAN }, "{object} {autovacuum}",
		  "{remedy}", NULL },
		{ "metric.xact_commit", DBK_OP_GT, { 1000, NAN, NAN }, "{value}", NULL, NULL },
		{ "metric.", DBK_OP_GT, { 1, NAN, NAN }, NULL, NULL, "unknown metric" },
		{ "cache_hit_ratio", DBK_OP_LT, { NAN, 0.9, NAN }, "{value", NULL,
		  "'{' without '}'" },
	};
	char why[400];

	(void)unused;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_rule r = rule_new("r", cases[i].metric, cases[i].op,
		    cases[i].t[0], cases[i].t[1], cases[i].t[2]);
		bool ok = false;

		r.title = (char *)cases[i].title;
		r.recommendation = (char *)cases[i].rec;
		why[0] = '\0';
		ok = dbk_rule_check(&r, why, sizeof why);
		if (cases[i].why == NULL) {
			if (!ok)
				fail_msg("case %zu: %s", i, why);
		} else {
			assert_false(ok);
			if (strstr(why, cases[i].why) == NULL)
				fail_msg("case %zu: [%s] not in [%s]", i, cases[i].why, why);
		}
	}
}

/* ---- Templates and quoting ---- */

static void test_templates(void **unused)
{
	struct dbk_rule r = rule_new("dead_rows", "table_dead_ratio", DBK_OP_GE,
	                             NAN, 0.2, 0.5);
	struct dbk_fact f = { 0 };
	char *s = NULL, buf[64];

	(void)unused;
	f.metric = "table_dead_ratio";
	f.object = "app.orders";
	f.value = 0.4567;
	f.unit = "ratio";
	f.evidence = "45670 dead";
	f.fields[0] = (struct dbk_fact_field){ "autovacuum", "off" };
	f.n_fields = 1;
	r.for_s = 3600;
	s = dbk_rule_expand("{object}: {value} dead >= {threshold} ({severity}, "
	    "{rule}, {metric}, raw {raw}, for {for}) autovacuum {autovacuum} {{braces} "
	    "{missing}", &r, &f, DBK_SEV_WARNING, 0.2);
	assert_string_equal(s, "app.orders: 45.7% dead >= 20.0% (warning, dead_rows, "
	    "table_dead_ratio, raw 0.4567, for 1h 0m) autovacuum off {braces} ?");
	free(s);
	assert_string_equal(dbk_fact_format("bytes", 1536.0 * MIB, buf, sizeof buf), "1.5 GB");
	assert_string_equal(dbk_fact_format("bytes_per_s", 2048, buf, sizeof buf), "2.0 kB/s");
	assert_string_equal(dbk_fact_format("s", 303, buf, sizeof buf), "5m 3s");
	assert_string_equal(dbk_fact_format("s", 90000, buf, sizeof buf), "1d 1h");
	assert_string_equal(dbk_fact_format("factor", 28.19, buf, sizeof buf), "28.2x");
	assert_string_equal(dbk_fact_format("count", 3, buf, sizeof buf), "3");
	assert_string_equal(dbk_fact_format("days", 40, buf, sizeof buf), "40.0 days");
	assert_string_equal(dbk_fact_format("ratio", 0.9312, buf, sizeof buf), "93.1%");
}

/* Hostile names reach remedies quoted for the engine, never raw. */
static void test_remedy_quoting(void **unused)
{
	static const struct { const char *name, *pg, *my; } cases[] = {
		{ "x\"; DROP TABLE t;--", "VACUUM (ANALYZE) \"public\".\"x\"\"; DROP TABLE t;--\";",
		  "ANALYZE TABLE `public`.`x\"; DROP TABLE t;--`;" },
		{ "we`ird", "VACUUM (ANALYZE) \"public\".\"we`ird\";",
		  "ANALYZE TABLE `public`.`we``ird`;" },
		{ "Order", "VACUUM (ANALYZE) \"public\".\"Order\";",
		  "ANALYZE TABLE `public`.`Order`;" },
		{ "a,b=c%d", "VACUUM (ANALYZE) \"public\".\"a,b=c%d\";",
		  "ANALYZE TABLE `public`.`a,b=c%d`;" },
	};
	struct dbk_server_info pg = pg_info(), my = my_info();

	(void)unused;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		struct dbk_metric m[2];
		struct dbk_metric_list ml = mlist(m, 2);
		struct dbk_table t = { .schema = "public", .name = cases[i].name,
		    .est_rows = 10000, .mods_since_analyze = 5000, .write_count = -1 };
		struct dbk_table_list tl = { 1, &t };
		struct dbk_facts_input in = { 0 };
		struct dbk_facts *f = NULL;
		const struct dbk_fact *x = NULL;
		char lab[200], enc[120];
		size_t o = 0;

		/* The driver percent-encodes ',', '=' and '%' in label values. */
		for (const char *p = cases[i].name; *p; p++)
			o += (size_t)(strchr(",=%", *p) ?
			    snprintf(enc + o, sizeof enc - o, "%%%02X", *p) :
			    snprintf(enc + o, sizeof enc - o, "%c", *p));
		snprintf(lab, sizeof lab, "schema=public,table=%s", enc);
		m[0] = (struct dbk_metric){ "table_dead_rows", lab, "", 5000, DBK_M_GAUGE };
		m[1] = (struct dbk_metric){ "table_live_rows", lab, "", 5000, DBK_M_GAUGE };
		in.info = &pg;
		in.metrics = &ml;
		f = dbk_facts_build(&in);
		assert_int_equal(fact_count(f, "table_dead_ratio"), 1);
		for (size_t k = 0; k < f->n; k++)
			if (strcmp(f->v[k].metric, "table_dead_ratio") == 0)
				x = &f->v[k];
		assert_true(fabs(x->value - 0.5) < 1e-9);
		if (strstr(dbk_fact_field(x, "remedy"), cases[i].pg) == NULL)
			fail_msg("[%s] not in [%s]", cases[i].pg, dbk_fact_field(x, "remedy"));
		dbk_facts_free(f);

		/* MySQL: backticks, doubled inside. */
		in.info = &my;
		in.metrics = NULL;
		in.tables = &tl;
		f = dbk_facts_build(&in);
		assert_non_null(x = fact_find(f, "stale_statistics", NULL) ? NULL : &f->v[0]);
		assert_string_equal(x->metric, "stale_statistics");
		assert_true(fabs(x->value - 0.5) < 1e-9);
		assert_string_equal(dbk_fact_field(x, "remedy"), cases[i].my);
		dbk_facts_free(f);
	}
}

/* ---- Facts: rates, resets, guards ---- */

static void test_rates_and_resets(void **unused)
{
	struct dbk_server_info pg = pg_info();
	struct dbk_metric m1[] = {
		{ "deadlocks", "db=app", "", 10, DBK_M_COUNTER },
		{ "blks_hit", "db=app", "blocks", 1000000, DBK_M_COUNTER },
		{ "blks_read", "db=app", "blocks", 1000, DBK_M_COUNTER },
	};
	struct dbk_metric m2[] = {
		{ "deadlocks", "db=app", "", 13, DBK_M_COUNTER },
		{ "blks_hit", "db=app", "blocks", 1090000, DBK_M_COUNTER },
		{ "blks_read", "db=app", "blocks", 11000, DBK_M_COUNTER },
	};
	struct dbk_metric m3[] = { /* after a restart: counters went down */
		{ "deadlocks", "db=app", "", 1, DBK_M_COUNTER },
		{ "blks_hit", "db=app", "blocks", 500, DBK_M_COUNTER },
		{ "blks_read", "db=app", "blocks", 10, DBK_M_COUNTER },
	};
	struct dbk_metric_list l1 = mlist(m1, 3), l2 = mlist(m2, 3), l3 = mlist(m3, 3);
	struct dbk_state *st = dbk_state_new_empty();
	struct dbk_facts_input in = { .info = &pg, .metrics = &l1, .now_ms = 1000000 };
	struct dbk_facts *f = NULL;
	const struct dbk_fact *x = NULL;

	(void)unused;
	/* No earlier sample: no deadlock count, hit ratio since reset. */
	f = dbk_facts_build(&in);
	assert_null(fact_find(f, "deadlocks", NULL));
	assert_false(f->sources & DBK_SRC_RATES);
	assert_non_null(x = fact_find(f, "cache_hit_ratio", NULL));
	assert_true(fabs(x->value - 1000000.0 / 1001000.0) < 1e-9);
	assert_non_null(strstr(x->evidence, "since the statistics were reset"));
	dbk_facts_free(f);

	/* Second sample 5 minutes later: deltas. */
	dbk_state_set_metrics(st, &l1, 1000000);
	in.metrics = &l2;
	in.prev = st;
	in.now_ms = 1000000 + 300000;
	f = dbk_facts_build(&in);
	assert_true(f->sources & DBK_SRC_RATES);
	assert_non_null(x = fact_find(f, "deadlocks", NULL));
	assert_true(x->value == 3);
	assert_non_null(strstr(x->evidence, "3 deadlocks over the last 5m 0s"));
	assert_non_null(x = fact_find(f, "cache_hit_ratio", NULL));
	assert_true(fabs(x->value - 90000.0 / 100000.0) < 1e-9);
	dbk_facts_free(f);

	/* A reset: never a negative rate; too few blocks for a ratio. */
	dbk_state_set_metrics(st, &l2, 1300000);
	in.metrics = &l3;
	in.now_ms = 1600000;
	f = dbk_facts_build(&in);
	assert_null(fact_find(f, "deadlocks", NULL));
	assert_null(fact_find(f, "cache_hit_ratio", NULL));
	for (size_t i = 0; i < f->n; i++)
		assert_false(strcmp(f->v[i].unit, "per_s") == 0 && f->v[i].value < 0);
	dbk_facts_free(f);
	dbk_state_free(st);
}

static void test_labels(void **unused)
{
	static const struct { const char *labels, *key, *want; } cases[] = {
		{ "db=app", "db", "app" },
		{ "schema=public,table=a%2Cb%3Dc%25", "table", "a,b=c%" },
		{ "schema=public,table=t", "schema", "public" },
		{ "replica=app,local", "replica", "app,local" }, /* older style */
		{ "slot=s1", "db", NULL },
		{ "tablex=1,table=2", "table", "2" },
		{ "query=SELECT a%2C b FROM t WHERE x %3D %241", "query",
		  "SELECT a, b FROM t WHERE x = $1" },
		{ "query=100%25 %zz", "query", "100% %zz" }, /* not an escape: kept */
	};

	(void)unused;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		char *v = dbk_label_get(cases[i].labels, cases[i].key);

		if (cases[i].want == NULL)
			assert_null(v);
		else
			assert_string_equal(v, cases[i].want);
		free(v);
	}
}

/* ---- Configuration advice ---- */

static double adv_of(const struct dbk_advice *a, unsigned n, const char *p,
                     const struct dbk_advice **out)
{
	unsigned hits = 0;

	for (unsigned i = 0; i < n; i++)
		if (strcmp(a[i].param, p) == 0) {
			*out = &a[i];
			hits++;
		}
	assert_true(hits <= 1); /* one piece of advice per parameter */
	return hits ? (*out)->factor : NAN;
}

/* Following every suggestion gives no advice at all, for any host; and the
 * suggestions fit together: shared_buffers below effective_cache_size,
 * shared_buffers plus three sorts per connection within memory. */
static void test_advice_consistent(void **unused)
{
	static const double mems[] = { 1 * GIB, 4 * GIB, 16 * GIB, 23.5 * GIB, 256 * GIB };
	static const int cpus[] = { 1, 2, 8, 64 };
	static const double conns[] = { 20, 100, 500, 5000 };

	(void)unused;
	for (size_t mi = 0; mi < DBK_NELEM(mems); mi++)
	for (size_t ci = 0; ci < DBK_NELEM(cpus); ci++)
	for (size_t ki = 0; ki < DBK_NELEM(conns); ki++) {
		struct dbk_host_facts h = { (int64_t)mems[mi], cpus[ci] };
		struct dbk_setting_kv s[6] = {
			{ "shared_buffers", 128 * MIB }, { "effective_cache_size", 4 * GIB },
			{ "work_mem", 4 * MIB }, { "maintenance_work_mem", 64 * MIB },
			{ "max_parallel_workers", 8 }, { "max_connections", conns[ki] },
		};
		struct dbk_advice a[DBK_MAX_ADVICE], b[DBK_MAX_ADVICE];
		const struct dbk_advice *x = NULL, *y = NULL;
		unsigned n = dbk_advice_compute("postgresql", s, 6, &h, NULL, 0, a);
		double sb = 0, ecs = 0, wm = 0;

		assert_int_equal(n, 5);
		adv_of(a, n, "shared_buffers", &x);
		sb = x->suggested;
		adv_of(a, n, "effective_cache_size", &y);
		ecs = y->suggested;
		adv_of(a, n, "work_mem", &x);
		wm = x->suggested;
		assert_true(sb < ecs);
		assert_true(ecs <= mems[mi]);
		/* Three sorts per connection fit unless work_mem is at its
		 * 4MB floor (then too many connections is the problem). */
		assert_true(wm <= 4 * MIB + 1 || sb + conns[ki] * 3 * wm <= mems[mi] * 1.05);
		for (unsigned i = 0; i < n; i++) {
			/* a suggestion is always inside its own range */
			if (!(a[i].suggested >= a[i].lo && a[i].suggested <= a[i].hi))
				fail_msg("%s: suggested %.0f outside [%.0f, %.0f] (mem %.0f, "
				         "cpus %d, conns %.0f)", a[i].param, a[i].suggested,
				         a[i].lo, a[i].hi, mems[mi], cpus[ci], conns[ki]);
			for (unsigned k = 0; k < 5; k++)
				if (strcmp(s[k].name, a[i].param) == 0)
					s[k].value = a[i].suggested;
		}
		n = dbk_advice_compute("postgresql", s, 6, &h, NULL, 0, b);
		for (unsigned i = 0; i < n; i++)
			if (b[i].factor != 1.0)
				fail_msg("%s still advised after following the advice "
				         "(mem %.0f, cpus %d)", b[i].param, mems[mi], cpus[ci]);
	}
}

/* Not given when the current value already satisfies it; given once, in
 * one direction, when it does not. */
static void test_advice_when_satisfied(void **unused)
{
	struct dbk_host_facts h = { (int64_t)(16 * GIB), 4 };
	struct dbk_setting_kv ok[] = {
		{ "innodb_buffer_pool_size", 11 * GIB }, { "innodb_log_file_size", 2 * GIB },
		{ "max_connections", 500 }, { "max_used_connections", 40 },
		{ "table_open_cache", 4000 },
	};
	struct dbk_setting_kv rates_low[] = { { "opened_tables", 0.01 } };
	struct dbk_setting_kv rates_high[] = { { "opened_tables", 25 } };
	struct dbk_advice a[DBK_MAX_ADVICE];
	const struct dbk_advice *x = NULL;
	unsigned n = dbk_advice_compute("mariadb", ok, DBK_NELEM(ok), &h, rates_low, 1, a);

	(void)unused;
	for (unsigned i = 0; i < n; i++)
		assert_true(a[i].factor == 1.0);
	/* a small pool: raise it; a huge one: lower it */
	ok[0].value = 64 * MIB;
	n = dbk_advice_compute("mariadb", ok, DBK_NELEM(ok), &h, rates_low, 1, a);
	assert_true(adv_of(a, n, "innodb_buffer_pool_size", &x) > 1);
	assert_true(x->suggested > x->current);
	assert_true(adv_of(a, n, "innodb_log_file_size", &x) == 1.0);
	ok[0].value = 15.5 * GIB;
	n = dbk_advice_compute("mariadb", ok, DBK_NELEM(ok), &h, rates_low, 1, a);
	assert_true(adv_of(a, n, "innodb_buffer_pool_size", &x) > 1);
	assert_true(x->suggested < x->current);
	/* connections near the limit; tables opened all the time */
	ok[3].value = 480;
	n = dbk_advice_compute("mariadb", ok, DBK_NELEM(ok), &h, rates_high, 1, a);
	assert_true(adv_of(a, n, "max_connections", &x) > 1);
	assert_true(x->suggested > 500);
	assert_true(adv_of(a, n, "table_open_cache", &x) > 1);
	assert_true(x->suggested > 4000);
	/* unknown engine or host: nothing */
	assert_int_equal(dbk_advice_compute("oracle", ok, DBK_NELEM(ok), &h, NULL, 0, a), 0);
}

/* ---- Index advice users can trust ---- */

static void test_unused_from_history(void **unused)
{
	struct dbk_server_info pg = pg_info();
	struct dbk_index ix[] = {
		{ "app", "orders", "ix_plain", "btree", NULL, 11, 1, 8 << 20, 0, 5, 0 },
		{ "app", "orders", "orders_pkey", "btree", NULL, 12, 1, 8 << 20, 0, 5,
		  DBK_IF_PRIMARY | DBK_IF_UNIQUE | DBK_IF_CONSTRAINT },
		{ "app", "orders", "orders_code_key", "btree", NULL, 13, 1, 8 << 20, 0, 5,
		  DBK_IF_UNIQUE | DBK_IF_CONSTRAINT },
		{ "app", "orders", "ix_fk", "btree", NULL, 14, 1, 8 << 20, 0, 5, 0 },
		{ "app", "orders", "ix_replident", "btree", NULL, 15, 1, 8 << 20, 0, 5, 0 },
		{ "app", "orders", "ix_used", "btree", NULL, 16, 1, 8 << 20, 7, 5, 0 },
		{ "app", "orders", "ix_excl", "gist", NULL, 17, 1, 8 << 20, 0, 5,
		  DBK_IF_CONSTRAINT },
	};
	struct dbk_index_list il = { DBK_NELEM(ix), ix };
	struct dbk_metric m[] = {
		{ "index_protected", "schema=app,table=orders,index=ix_fk,reason=foreign key lookup",
		  "", 1, DBK_M_GAUGE },
		{ "index_protected", "schema=app,table=orders,index=ix_replident,reason=replica identity",
		  "", 1, DBK_M_GAUGE },
		{ "index_protection_checked", NULL, "", 1, DBK_M_GAUGE },
	};
	struct dbk_metric_list ml = mlist(m, DBK_NELEM(m));
	struct dbk_state *st = dbk_state_new_empty();
	struct dbk_facts_input in = { .info = &pg, .metrics = &ml, .indexes = &il,
	                              .prev = st };
	struct dbk_facts *f = NULL;
	const struct dbk_fact *x = NULL;
	struct dbk_index_usage u;
	int64_t t0 = 1700000000;

	(void)unused;
	/* First sight: unused for 0 days, so far. */
	dbk_state_observe_indexes(st, &il, t0);
	/* 40 days of observations; a restart on day 20 resets every
	 * counter, and ix_used is used again after it. */
	for (int d = 1; d <= 40; d++) {
		if (d == 20)
			ix[5].scans = 0;
		if (d == 21)
			ix[5].scans = 3;
		dbk_state_observe_indexes(st, &il, t0 + d * DAY);
	}
	assert_true(dbk_state_index_usage(st, "app", "orders", "ix_plain", 11, &u));
	assert_int_equal(u.first_seen, t0);
	assert_int_equal(u.last_used, 0);
	assert_true(dbk_state_index_usage(st, "app", "orders", "ix_used", 16, &u));
	assert_int_equal(u.resets, 1);
	assert_int_equal(u.last_used, t0 + 21 * DAY);
	/* a re-created index (other id) starts over */
	assert_false(dbk_state_index_usage(st, "app", "orders", "ix_plain", 99, &u));

	in.now_ms = (t0 + 40 * DAY) * 1000;
	f = dbk_facts_build(&in);
	assert_non_null(x = fact_find(f, "unused_index_days", "app.orders.ix_plain"));
	assert_true(fabs(x->value - 40) < 1e-9);
	assert_non_null(strstr(dbk_fact_field(x, "remedy"),
	    "DROP INDEX CONCURRENTLY \"app\".\"ix_plain\";"));
	assert_non_null(x = fact_find(f, "unused_index_days", "app.orders.ix_used"));
	assert_true(fabs(x->value - 19) < 1e-9);
	/* never: primary key, unique, exclusion, FK lookup, replica identity */
	assert_null(fact_find(f, "unused_index_days", "app.orders.orders_pkey"));
	assert_null(fact_find(f, "unused_index_days", "app.orders.orders_code_key"));
	assert_null(fact_find(f, "unused_index_days", "app.orders.ix_excl"));
	assert_null(fact_find(f, "unused_index_days", "app.orders.ix_fk"));
	assert_null(fact_find(f, "unused_index_days", "app.orders.ix_replident"));
	dbk_facts_free(f);

	/* Without the driver's list of protected indexes, no claim at all. */
	ml.n = 0;
	f = dbk_facts_build(&in);
	assert_int_equal(fact_count(f, "unused_index_days"), 0);
	dbk_facts_free(f);
	dbk_state_free(st);
}

static void test_duplicate_and_invalid(void **unused)
{
	struct dbk_server_info my = my_info();
	struct dbk_index ix[] = {
		{ "shop", "t", "ix_a", "BTREE", NULL, 0, 0, 1 << 20, -1, -1, 0 },
		{ "shop", "t", "ix_a2", "BTREE", "ix_a", 0, 0, 1 << 20, -1, -1, DBK_IF_DUPLICATE },
		{ "shop", "t", "uq_a", "BTREE", "PRIMARY", 0, 0, 1 << 20, -1, -1,
		  DBK_IF_DUPLICATE | DBK_IF_UNIQUE | DBK_IF_CONSTRAINT },
	};
	struct dbk_index_list il = { DBK_NELEM(ix), ix };
	struct dbk_facts_input in = { .info = &my, .indexes = &il };
	struct dbk_facts *f = dbk_facts_build(&in);
	const struct dbk_fact *x = NULL;

	(void)unused;
	assert_non_null(x = fact_find(f, "duplicate_index", "shop.t.ix_a2"));
	assert_string_equal(dbk_fact_field(x, "remedy"),
	    "ALTER TABLE `shop`.`t` DROP INDEX `ix_a2`; -- ix_a keeps serving the same lookups");
	/* one backing a constraint is never proposed for dropping */
	assert_non_null(x = fact_find(f, "duplicate_index", "shop.t.uq_a"));
	assert_null(strstr(dbk_fact_field(x, "remedy"), "DROP INDEX `uq_a`"));
	assert_non_null(strstr(dbk_fact_field(x, "remedy"), "backs a constraint"));
	assert_int_equal(fact_count(f, "unused_index_days"), 0);
	dbk_facts_free(f);
}

/* hypopg's verdict: a helpful hypothetical index makes the candidate and
 * its CREATE INDEX; one that does not help withdraws the candidate. */
static void test_seq_scan_hypopg(void **unused)
{
	struct dbk_server_info pg = pg_info();
	const char *t1 = "schema=public,table=big";
	struct dbk_metric m[] = {
		{ "table_seq_scan", "schema=public,table=big", "", 20, DBK_M_COUNTER },
		{ "table_seq_tup_read", "schema=public,table=big", "", 4e6, DBK_M_COUNTER },
		{ "table_idx_scan", "schema=public,table=big", "", 0, DBK_M_COUNTER },
		{ "table_size", "schema=public,table=big", "bytes", 15 * MIB, DBK_M_GAUGE },
		{ "table_statement_time", "schema=public,table=big,queryid=42,query=SELECT * "
		  "FROM big WHERE customer_id %3D $1", "ms", 545, DBK_M_COUNTER },
		{ "table_statement_calls", "schema=public,table=big,queryid=42,query=SELECT * "
		  "FROM big WHERE customer_id %3D $1", "", 20, DBK_M_COUNTER },
		{ "hypo_checked", "schema=public,table=big", "", 1, DBK_M_GAUGE },
		{ "hypo_plan_cost", "schema=public,table=big,queryid=42", "", 4370, DBK_M_GAUGE },
		{ "hypo_index_cost", "schema=public,table=big,queryid=42,column=customer_id",
		  "", 4.2, DBK_M_GAUGE },
		{ "hypo_index_cost", "schema=public,table=big,queryid=42,column=id",
		  "", 4370, DBK_M_GAUGE },
		/* a decoy whose name starts like the table's */
		{ "hypo_index_cost", "schema=public,table=big2,queryid=42,column=x",
		  "", 0.1, DBK_M_GAUGE },
	};
	struct dbk_metric_list ml = mlist(m, DBK_NELEM(m));
	struct dbk_facts_input in = { .info = &pg, .metrics = &ml };
	struct dbk_facts *f = NULL;
	const struct dbk_fact *x = NULL;

	(void)unused;
	(void)t1;
	f = dbk_facts_build(&in);
	assert_non_null(x = fact_find(f, "seq_scan_ratio", "public.big"));
	assert_true(x->value == 1.0);
	assert_string_equal(dbk_fact_field(x, "remedy"),
	    "CREATE INDEX CONCURRENTLY ON \"public\".\"big\" (\"customer_id\");");
	assert_non_null(strstr(x->evidence, "SELECT * FROM big WHERE customer_id = $1 "
	    "(20 calls, 545 ms in all)"));
	assert_non_null(strstr(x->evidence, "estimated cost of 4370.0 without and 4.2 "
	    "with an index on (customer_id)"));
	dbk_facts_free(f);

	/* The index does not help: no missing-index candidate. */
	m[8].value = 4370;
	f = dbk_facts_build(&in);
	assert_null(fact_find(f, "seq_scan_ratio", "public.big"));
	dbk_facts_free(f);

	/* Without hypopg: raised, with advice to EXPLAIN the statements. */
	ml.n = 6;
	f = dbk_facts_build(&in);
	assert_non_null(x = fact_find(f, "seq_scan_ratio", "public.big"));
	assert_non_null(strstr(dbk_fact_field(x, "remedy"), "EXPLAIN the statements"));
	assert_non_null(strstr(x->evidence, "not checked with hypopg"));
	dbk_facts_free(f);

	/* A small table is nobody's problem. */
	m[3].value = MIB;
	f = dbk_facts_build(&in);
	assert_null(fact_find(f, "seq_scan_ratio", "public.big"));
	dbk_facts_free(f);
}

/* ---- Findings that last ---- */

struct run {
	struct dbk_lasting_list l;
	struct dbk_events ev;
};

static void step(struct run *r, const char *key, int sev, int64_t for_s,
                 int64_t reminder, int64_t now)
{
	struct dbk_cond c = { .key = key, .rule = "r", .policy = "p",
	    .category = "tuning", .object = "o", .title = "t", .severity = sev,
	    .for_s = for_s, .reminder_s = reminder };

	dbk_events_clear(&r->ev);
	dbk_lasting_step(&r->l, &c, key ? 1 : 0, NULL, NULL, now, &r->ev);
}

static bool never(void *ctx, const struct dbk_lasting *e)
{
	(void)ctx;
	(void)e;
	return false;
}

static void test_lasting(void **unused)
{
	struct run r = { 0 };
	struct dbk_cond c = { .key = "k:p|r|o", .rule = "r", .policy = "p",
	    .category = "tuning", .object = "o", .title = "t",
	    .severity = DBK_SEV_WARNING, .for_s = 600, .reminder_s = 3600 };
	int64_t t = 1000;

	(void)unused;
	/* pending while it has not held for 10 minutes */
	step(&r, c.key, DBK_SEV_WARNING, 600, 3600, t);
	assert_int_equal(r.ev.n, 0);
	assert_int_equal(r.l.n, 1);
	assert_false(r.l.v[0].open);
	step(&r, c.key, DBK_SEV_WARNING, 600, 3600, t + 300);
	assert_int_equal(r.ev.n, 0);
	/* opens once, with count 1 */
	step(&r, c.key, DBK_SEV_WARNING, 600, 3600, t + 600);
	assert_int_equal(r.ev.n, 1);
	assert_int_equal(r.ev.v[0].kind, DBK_EV_OPEN);
	assert_string_equal(dbk_event_status(r.ev.v[0].kind), "open");
	assert_int_equal(r.ev.v[0].entry.count, 1);
	assert_int_equal(r.ev.v[0].entry.first_seen, t + 600);
	/* holding: counted, no record until the reminder is due */
	for (int i = 1; i <= 5; i++) {
		step(&r, c.key, DBK_SEV_WARNING, 600, 3600, t + 600 + i * 300);
		assert_int_equal(r.ev.n, 0);
	}
	assert_int_equal(r.l.v[0].count, 6);
	step(&r, c.key, DBK_SEV_WARNING, 600, 3600, t + 600 + 3600);
	assert_int_equal(r.ev.n, 1);
	assert_int_equal(r.ev.v[0].kind, DBK_EV_STILL_OPEN);
	assert_string_equal(dbk_event_status(r.ev.v[0].kind), "still_open");
	assert_int_equal(r.ev.v[0].entry.count, 7);
	assert_int_equal(r.ev.v[0].entry.first_seen, t + 600);
	assert_int_equal(r.ev.v[0].entry.last_seen, t + 4200);
	/* a severity change is recorded at once */
	step(&r, c.key, DBK_SEV_CRITICAL, 600, 3600, t + 4500);
	assert_int_equal(r.ev.n, 1);
	assert_int_equal(r.ev.v[0].kind, DBK_EV_SEVERITY);
	assert_int_equal(r.ev.v[0].prev_severity, DBK_SEV_WARNING);
	assert_int_equal(r.ev.v[0].entry.severity, DBK_SEV_CRITICAL);
	/* not evaluated this time (its data was not observed): kept as is */
	dbk_events_clear(&r.ev);
	dbk_lasting_step(&r.l, NULL, 0, never, NULL, t + 4800, &r.ev);
	assert_int_equal(r.ev.n, 0);
	assert_int_equal(r.l.n, 1);
	assert_int_equal(r.l.v[0].count, 8);
	/* cleared: resolved, with its history */
	step(&r, NULL, 0, 0, 0, t + 5100);
	assert_int_equal(r.ev.n, 1);
	assert_int_equal(r.ev.v[0].kind, DBK_EV_RESOLVED);
	assert_string_equal(dbk_event_status(r.ev.v[0].kind), "resolved");
	assert_int_equal(r.ev.v[0].entry.count, 8);
	assert_null(r.ev.v[0].ref);
	assert_int_equal(r.l.n, 0);
	/* a pending condition that clears leaves no record */
	step(&r, c.key, DBK_SEV_WARNING, 600, 3600, t + 6000);
	step(&r, NULL, 0, 0, 0, t + 6300);
	assert_int_equal(r.ev.n, 0);
	assert_int_equal(r.l.n, 0);
	dbk_events_clear(&r.ev);
	dbk_lasting_list_clear(&r.l);
}

/* Entries survive a save and load; two policies naming the same key count
 * once; keys are safe whatever the object's bytes. */
static void test_lasting_state(void **unused)
{
	char dir[] = "/tmp/dbk-test-rules-XXXXXX";
	struct dbk_state *st = NULL;
	struct dbk_lasting_list l = { 0 };
	struct dbk_events ev = { 0 };
	char *key = dbk_finding_key("rules-postgres", "dead_rows",
	                            "app.t|\xff%\n\"x\"");
	struct dbk_cond c[2] = {
		{ .key = key, .rule = "dead_rows", .policy = "rules-postgres",
		  .category = "tuning", .object = "app.t|\xff%\n\"x\"", .title = "t",
		  .severity = DBK_SEV_WARNING },
		{ .key = key, .rule = "dead_rows", .policy = "rules-postgres",
		  .category = "tuning", .object = "app.t|\xff%\n\"x\"", .title = "t",
		  .severity = DBK_SEV_WARNING },
	};
	struct dbk_err e = { 0 };
	char *kind = dbk_finding_kind("invalid index (a failed concurrent build)");

	(void)unused;
	assert_string_equal(kind, "invalid_index");
	free(kind);
	kind = dbk_finding_kind("13 more scratch tables wait for the next run");
	assert_string_equal(kind, "##_more_scratch_tables_wait_for_the_next_run");
	free(kind);
	assert_string_equal(key, "k:rules-postgres|dead_rows|app.t%7C%FF%25%0A\"x\"");
	assert_non_null(mkdtemp(dir));
	assert_non_null(st = dbk_state_load(dir, "pg", &e));
	dbk_lasting_step(&l, c, 2, NULL, NULL, 100, &ev);
	assert_int_equal(ev.n, 1);
	dbk_state_set_lasting(st, &l);
	assert_int_equal(dbk_state_save(st, &e), 0);
	dbk_state_free(st);
	dbk_lasting_list_clear(&l);
	assert_non_null(st = dbk_state_load(dir, "pg", &e));
	dbk_state_get_lasting(st, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].key, key);
	assert_true(l.v[0].open);
	assert_int_equal(l.v[0].count, 1);
	dbk_events_clear(&ev);
	dbk_lasting_step(&l, c, 2, NULL, NULL, 200, &ev);
	assert_int_equal(ev.n, 0);
	assert_int_equal(l.v[0].count, 2);
	dbk_events_clear(&ev);
	dbk_lasting_list_clear(&l);
	dbk_state_free(st);
	free(key);
	{
		char path[300];

		snprintf(path, sizeof path, "%s/pg.state.json", dir);
		unlink(path);
		rmdir(dir);
	}
}

/* ---- Rule files ---- */

static char tmp_dir[] = "/tmp/dbk-test-rulefiles-XXXXXX";

static char *write_tmp(const char *name, const char *text)
{
	static bool made;
	char *dir = tmp_dir;
	char *path = NULL;
	FILE *f = NULL;

	if (!made) {
		assert_non_null(mkdtemp(dir));
		made = true;
	}
	if (asprintf(&path, "%s/%s.conf", dir, name) < 0)
		abort();
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_rule_files(void **unused)
{
	static const struct { const char *text; int line; const char *why; } cases[] = {
		{ "rules = ( { name = \"a\"; metric = \"cache_hit_ratio\"; op = \"<\";\n"
		  "  warning = 0.9; } );\n", 0, NULL },
		{ "rules = (\n { name = \"a\"; metric = \"cache_hit_ratio\"; op = \"<\";\n"
		  "  warnnig = 0.9; } );\n", 3, "unknown setting 'warnnig' in rules[0] "
		  "(did you mean 'warning'?)" },
		{ "rules = (\n { name = \"a\"; metric = \"cache_hit_ratio\"; op = \"=<\";"
		  " warning = 0.9; } );\n", 2, "rules[0].op" },
		{ "rules = (\n { name = \"a\"; metric = \"cache_hit_ratio\"; op = \"<\";"
		  " warning = 0.9; critical = 0.95; } );\n", 2, "critical must be the worst" },
		{ "rules = (\n { name = \"a\"; metric = \"cache_hit_ratio\"; op = \"<\";"
		  " warning = 0.9; title = \"{vlaue}\"; } );\n", 2,
		  "unknown placeholder {vlaue}" },
		{ "rules = (\n { name = \"a\"; metric = \"nope\"; op = \"<\"; warning = 1; }\n);\n",
		  2, "unknown metric 'nope'" },
		{ "rules = (\n { name = \"a\"; metric = \"deadlocks\"; op = \">\"; warning = 0; },\n"
		  " { name = \"a\"; metric = \"deadlocks\"; op = \">\"; warning = 1; }\n);\n",
		  3, "duplicate rule name 'a'" },
		{ "rules = (\n { name = \"a b\"; metric = \"deadlocks\"; op = \">\"; warning = 0; }\n);\n",
		  2, "rules[0].name" },
		{ "rules = (\n { name = \"a\"; metric = \"deadlocks\"; op = \">\"; warning = \"x\"; }\n);\n",
		  2, "must be a number" },
		{ "rules = (\n { name = \"a\"; metric = \"deadlocks\"; op = \">\"; warning = 0;"
		  " for = \"-5m\"; }\n);\n", 2, "rules[0].for" },
		{ "rules = ( \"x\" );\n", 1, "must be a group" },
		{ "reminder = \"0\";\n", 1, "reminder" },
	};

	(void)unused;
	for (size_t i = 0; i < DBK_NELEM(cases); i++) {
		char name[32], want[64];
		struct dbk_policy p;
		struct dbk_err e = { 0 };
		char *path = NULL;
		int rc = 0;

		snprintf(name, sizeof name, "case%zu", i);
		path = write_tmp(name, cases[i].text);
		rc = dbk_policy_load(path, &p, &e);
		if (cases[i].why == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, e.msg);
			assert_int_equal(p.rules.n, 1);
			assert_true(isnan(p.rules.v[0].threshold[DBK_SEV_INFO]));
			assert_true(p.rules.v[0].threshold[DBK_SEV_WARNING] == 0.9);
			assert_string_equal(p.rules.v[0].category, "tuning");
			assert_int_equal(p.reminder_s, DAY);
			dbk_policy_clear(&p);
		} else {
			assert_int_equal(rc, -1);
			snprintf(want, sizeof want, ".conf:%d:", cases[i].line);
			if (strstr(e.msg, want) == NULL || strstr(e.msg, cases[i].why) == NULL)
				fail_msg("case %zu: want [%s] and [%s] in [%s]", i, want,
				         cases[i].why, e.msg);
		}
		unlink(path);
		free(path);
	}
	rmdir(tmp_dir);
}

/* The shipped packs load, and a pack for the other engine does not fire:
 * rules whose facts the observation lacks simply do not apply. */
static void test_shipped_packs(void **unused)
{
	struct dbk_policy pgp, myp;
	struct dbk_err e = { 0 };
	struct dbk_server_info pg = pg_info();
	const struct dbk_policy *pols[2] = { &pgp, &myp };
	struct dbk_target t = { 0 };
	struct dbk_metric m[] = {
		{ "xid_age", "db=app", "xids", 1.2e9, DBK_M_GAUGE },
		{ "setting", "name=shared_buffers", "bytes", 128 * MIB, DBK_M_GAUGE },
		{ "created_tmp_disk_tables", NULL, "", 1e6, DBK_M_COUNTER },
		{ "innodb_buffer_pool_size", NULL, "bytes", 64 * MIB, DBK_M_GAUGE },
	};
	struct dbk_metric_list ml = mlist(m, DBK_NELEM(m));
	struct dbk_facts_input in = { .info = &pg, .metrics = &ml,
	                              .host = { (int64_t)(16 * GIB), 4 } };
	struct dbk_facts *f = NULL;
	struct dbk_rule_hits *h = NULL;
	bool xid = false, sb = false;

	(void)unused;
	if (dbk_policy_load(DBK_SOURCE_DIR "/policies/rules-postgres.conf", &pgp, &e) != 0)
		fail_msg("%s", e.msg);
	if (dbk_policy_load(DBK_SOURCE_DIR "/policies/rules-mysql.conf", &myp, &e) != 0)
		fail_msg("%s", e.msg);
	assert_true(pgp.rules.n >= 20);
	assert_true(myp.rules.n >= 12);
	t.name = "pg";
	t.n_policies = 2;
	t.policies = pols;
	f = dbk_facts_build(&in);
	h = dbk_rules_evaluate(&t, f);
	for (size_t i = 0; i < h->n; i++) {
		const struct dbk_rule_hit *x = &h->v[i];

		/* nothing of the MySQL pack fires on PostgreSQL facts */
		assert_ptr_equal(x->policy, &pgp);
		if (strcmp(x->rule->name, "xid_wraparound") == 0) {
			xid = true;
			assert_int_equal(x->finding.severity, DBK_SEV_WARNING);
			assert_string_equal(x->finding.object, "app");
			assert_non_null(strstr(x->finding.recommendation, "VACUUM (FREEZE)"));
		}
		if (strcmp(x->rule->name, "shared_buffers") == 0) {
			sb = true;
			assert_int_equal(x->finding.severity, DBK_SEV_INFO);
			assert_string_equal(x->finding.title,
			    "shared_buffers is 128MB; suggested 4GB");
			assert_non_null(strstr(x->finding.recommendation,
			    "shared_buffers = 4GB in postgresql.conf"));
		}
		assert_non_null(x->key);
	}
	assert_true(xid && sb);
	assert_true(dbk_rules_cover(&t, "duplicate_index"));
	assert_false(dbk_rules_cover(&t, "scratch_not_assessed"));
	dbk_rule_hits_free(h);
	dbk_facts_free(f);
	dbk_policy_clear(&pgp);
	dbk_policy_clear(&myp);
}

/* ---- Prometheus ---- */

static void test_prom(void **unused)
{
	struct dbk_metric m[] = {
		{ "xact_commit", "db=app", "", 42, DBK_M_COUNTER },
		{ "connections", "state=idle in transaction", "", 3, DBK_M_GAUGE },
		{ "table_statement_time", "schema=a,table=b%2Cc,queryid=1,query=SELECT 1",
		  "ms", 5, DBK_M_COUNTER },
	};
	struct dbk_metric_list ml = mlist(m, DBK_NELEM(m));
	struct dbk_lasting open[2] = { { .open = true, .severity = DBK_SEV_WARNING },
	                               { .open = false, .severity = DBK_SEV_CRITICAL } };
	struct dbk_lasting_list ol = { 2, open };
	char *p1 = dbk_prom_part("pg \"1\"\n", &ml, NULL, &ol, 1700000000000);
	char *p2 = dbk_prom_part("my", &ml, NULL, NULL, 1700000000000);
	const char *parts[3] = { p1, NULL, p2 };
	char *all = dbk_prom_merge(parts, 3);
	char *esc = dbk_prom_escape("a\\b\"c\nd");

	(void)unused;
	assert_string_equal(esc, "a\\\\b\\\"c\\nd");
	assert_non_null(strstr(all, "# TYPE dbkeeper_xact_commit_total counter\n"
	    "dbkeeper_xact_commit_total{target=\"pg \\\"1\\\"\\n\",db=\"app\"} 42\n"
	    "dbkeeper_xact_commit_total{target=\"my\",db=\"app\"} 42\n"));
	assert_non_null(strstr(all, "dbkeeper_connections{target=\"my\",state=\"idle in "
	    "transaction\"} 3\n"));
	assert_non_null(strstr(all, "table=\"b,c\",queryid=\"1\"} 5\n"));
	assert_null(strstr(all, "SELECT 1")); /* statement texts are no labels */
	assert_non_null(strstr(all, "dbkeeper_findings_open{target=\"my\","
	    "severity=\"warning\"} 0\n"));
	assert_non_null(strstr(all, "severity=\"warning\"} 1\n"));
	/* one HELP and TYPE per name, for every target's samples */
	{
		const char *a = strstr(all, "# TYPE dbkeeper_findings_open gauge");

		assert_non_null(a);
		assert_null(strstr(a + 1, "# TYPE dbkeeper_findings_open"));
		a = strstr(all, "# TYPE dbkeeper_xact_commit_total");
		assert_null(strstr(a + 1, "# TYPE dbkeeper_xact_commit_total"));
	}
	free(esc);
	free(all);
	free(p1);
	free(p2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_rule_check),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_remedy_quoting),
		cmocka_unit_test(test_rates_and_resets),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_advice_consistent),
		cmocka_unit_test(test_advice_when_satisfied),
		cmocka_unit_test(test_unused_from_history),
		cmocka_unit_test(test_duplicate_and_invalid),
		cmocka_unit_test(test_seq_scan_hypopg),
		cmocka_unit_test(test_lasting),
		cmocka_unit_test(test_lasting_state),
		cmocka_unit_test(test_rule_files),
		cmocka_unit_test(test_shipped_packs),
		cmocka_unit_test(test_prom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
