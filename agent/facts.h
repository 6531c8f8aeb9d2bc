/* agent/facts.h: the values tuning rules test, computed in one place from
 * what the drivers report: raw metrics turned into rates and ratios, the
 * tables and indexes with the usage history the agent keeps, and the
 * configuration advice relative to the host's memory and CPUs. Pure: no
 * I/O, no clock (the host facts are read by the caller). */
#ifndef DBK_FACTS_H
#define DBK_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbkeeper_driver.h"
#include "state.h"

/* What a fact needs to have been observed; a rule whose fact's sources were
 * all observed is "evaluated", so a finding it raised before and that is
 * absent now is resolved. */
enum dbk_fact_source {
	DBK_SRC_METRICS = 1u << 0, /* collect_metrics ran */
	DBK_SRC_RATES = 1u << 1,   /* an earlier sample gave counter deltas */
	DBK_SRC_TABLES = 1u << 2,
	DBK_SRC_INDEXES = 1u << 3,
	DBK_SRC_HOST = 1u << 4,    /* host memory and CPUs known */
};

/* The catalogue of facts a rule may name (rules.c validates rules
 * against it). fields: the template placeholders the fact fills, beyond
 * the ones every fact has. */
struct dbk_fact_def {
	const char *name;
	const char *unit;    /* "ratio", "bytes", "bytes_per_s", "s", "count",
	                      * "days", "factor" */
	unsigned sources;    /* enum dbk_fact_source, all needed */
	const char *fields;  /* space-separated placeholder names */
	const char *help;
};
/* NULL when name is no fact; "metric.<name>" (a raw driver metric: its
 * value, or its rate per second for a counter) gives a generic entry. */
const struct dbk_fact_def *dbk_fact_def_find(const char *name);
/* The catalogue, ended by a NULL name (documentation, tests). */
const struct dbk_fact_def *dbk_fact_defs(void);

#define DBK_FACT_MAX_FIELDS 10

struct dbk_fact_field {
	const char *key;  /* static */
	char *value;      /* owned */
};

struct dbk_fact {
	const char *metric;  /* owned copy */
	char *object;        /* owned; NULL: the server or database */
	double value;
	const char *unit;    /* static */
	char *evidence;      /* owned: the numbers behind the value */
	unsigned n_fields;
	struct dbk_fact_field fields[DBK_FACT_MAX_FIELDS];
};

struct dbk_facts {
	size_t n, cap;
	struct dbk_fact *v;
	unsigned sources;    /* enum dbk_fact_source observed */
	char flavour[32];    /* "postgresql", "mariadb", "mysql", "" */
};

struct dbk_host_facts {
	int64_t mem_bytes;   /* physical memory; 0: unknown */
	int ncpu;            /* online CPUs; 0: unknown */
};
/* sysconf(_SC_PHYS_PAGES) * page size and _SC_NPROCESSORS_ONLN. */
void dbk_host_facts_read(struct dbk_host_facts *h);

struct dbk_facts_input {
	const struct dbk_server_info *info;     /* NULL: unknown engine */
	const struct dbk_metric_list *metrics;  /* NULL: not collected */
	const struct dbk_state *prev;           /* earlier sample and index usage
	                                         * history; NULL: none */
	const struct dbk_table_list *tables;    /* NULL: not observed */
	const struct dbk_index_list *indexes;   /* NULL: not observed */
	struct dbk_host_facts host;
	int64_t now_ms;
};

/* Every fact that can be computed from in. Never NULL. */
struct dbk_facts *dbk_facts_build(const struct dbk_facts_input *in);
void dbk_facts_free(struct dbk_facts *f); /* NULL-safe */
/* The value of a field of f, NULL when it has none. */
const char *dbk_fact_field(const struct dbk_fact *f, const char *key);

/* ---- Configuration advice ----
 * One consistent set of suggestions per engine: every parameter has an
 * acceptable range and a suggested value computed from the host and from
 * the other suggestions (never from each other's current values), so two
 * pieces of advice cannot pull against each other, and a value inside its
 * range gets no advice. */
struct dbk_setting_kv {
	const char *name;    /* "shared_buffers", "innodb_buffer_pool_size" */
	double value;        /* bytes for sizes */
};

struct dbk_advice {
	const char *param;
	bool bytes;          /* a size: printed as one */
	double current, suggested, lo, hi; /* acceptable range [lo, hi] */
	double factor;       /* 1 inside the range, else how far outside */
	char reason[200];
};

#define DBK_MAX_ADVICE 8

/* Fills out[] with one entry per parameter it knows a current value of
 * (inside its range or not) and returns how many. flavour: "postgresql",
 * "mariadb", "mysql". rates may be NULL (advice that needs them, such as
 * table_open_cache from Opened_tables per second, is then left out). */
unsigned dbk_advice_compute(const char *flavour, const struct dbk_setting_kv *s,
                            size_t n, const struct dbk_host_facts *host,
                            const struct dbk_setting_kv *rates, size_t n_rates,
                            struct dbk_advice *out);

/* Labels as drivers write them: "k=v,k=v", values percent-encoded where
 * they hold ',', '=', '%' or control characters. Returns the decoded value
 * of key (caller frees), NULL when absent. A segment without '=' belongs
 * to the value before it (older labels put a comma in a value). */
char *dbk_label_get(const char *labels, const char *key);

#endif
