/* agent/config.h: the configuration as a value: the main file (directories,
 * targets) and the policy files it refers to. Parsing validates everything
 * and names file:line on any error; nothing here touches a database. */
#ifndef DBK_CONFIG_H
#define DBK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "units.h"
#include "util.h"

struct dbk_strv {
	unsigned n;
	char **v;
};

/* When a task may run: at most once per interval, and only inside the
 * window (the policy's window when the task names none). */
struct dbk_schedule {
	int64_t interval_s;
	struct dbk_windows window;
	bool has_window;
};

struct dbk_budget {
	int64_t max_run_time_s;      /* stop starting actions after this */
	int64_t lock_timeout_ms;     /* every maintenance statement */
	int64_t statement_timeout_ms;
	int64_t observe_timeout_ms;  /* each catalog query */
	int64_t max_replica_lag_ms;  /* 0: no guard */
};

struct dbk_pol_scratch {
	bool enabled;
	bool dry_run;
	bool require_idle;       /* no writes between two observations */
	bool orphan_temp;        /* also drop temp tables of dead sessions */
	bool tool_leftovers;     /* also drop pg_repack/pt-osc/gh-ost leftovers */
	struct dbk_strv schemas; /* allow-list; empty: every non-system schema */
	struct dbk_strv include; /* fnmatch globs */
	struct dbk_strv exclude;
	int64_t min_age_s;
	int64_t max_per_run;
	int64_t max_per_statement;
	struct dbk_schedule schedule;
};

struct dbk_pol_logtable {
	char *schema;            /* NULL: the connection's default */
	char *table;
	char *time_column;
	int64_t retention_s;
	int64_t batch_rows;
	int64_t pause_ms;
};

struct dbk_pol_logs {
	bool enabled;
	bool dry_run;
	unsigned n;
	struct dbk_pol_logtable *v;
	struct dbk_schedule schedule;
};

struct dbk_pol_serverlogs {
	bool enabled;
	bool dry_run;
	int64_t retention_s;
	int64_t keep_min;        /* always keep at least this many newest files */
	int64_t forget_replica_s; /* a replica absent this long no longer holds
	                           * binary logs back */
	struct dbk_schedule schedule;
};

struct dbk_pol_indexes {
	bool enabled;
	bool dry_run;
	bool drop_invalid;
	int64_t min_size_bytes;
	double min_bloat_pct;
	int rebuild_method;      /* enum dbk_rebuild_method */
	int64_t max_per_run;
	struct dbk_schedule schedule;
};

struct dbk_pol_stats {
	bool analyze;            /* refresh stale statistics */
	bool dry_run;
	double stale_ratio;      /* modified rows / rows that make stats stale */
	int64_t stale_min_rows;  /* ignore tiny tables */
	struct dbk_schedule schedule;    /* of ANALYZE */
	int64_t metrics_interval_s;      /* statistics collection */
};

/* A tuning rule (agent/rules.h evaluates it): a metric or observation
 * compared against thresholds per severity, held for a while before it
 * counts, and templates for the finding's title and remedy. */
enum dbk_rule_op { DBK_OP_LT = 0, DBK_OP_LE, DBK_OP_GT, DBK_OP_GE, DBK_OP_EQ,
                   DBK_OP_NE };

struct dbk_rule {
	char *name;              /* unique in a policy; names the finding */
	char *metric;            /* a fact name (rules.h), or "metric.<raw>" */
	int op;                  /* enum dbk_rule_op */
	double threshold[3];     /* by enum dbk_severity; NAN: level not used */
	int64_t for_s;           /* must hold this long before it counts */
	char *category;          /* finding category, default "tuning" */
	char *title;             /* template: "{value}", "{object}", ... */
	char *recommendation;    /* template */
	bool enabled;
};

struct dbk_rules {
	unsigned n;
	struct dbk_rule *v;
};

struct dbk_policy {
	char *name;              /* file name without .conf */
	char *file;
	char *queue;             /* report queue name, default "reports" */
	struct dbk_windows window;   /* default for every task; n=0: always */
	struct dbk_budget budget;
	struct dbk_pol_scratch scratch;
	struct dbk_pol_logs logs;
	struct dbk_pol_serverlogs server_logs;
	struct dbk_pol_indexes indexes;
	struct dbk_pol_stats stats;
	struct dbk_rules rules;      /* tuning rules; may be empty */
	int64_t reminder_s;          /* re-report an open finding this often */
};

struct dbk_target_opt {
	char *key;
	char *value;  /* ints and bools as text */
	int type;     /* enum dbk_opt_type it had in the file */
	int line;     /* for messages */
};

struct dbk_target {
	char *name;
	char *driver;
	unsigned n_options;
	struct dbk_target_opt *options;
	char *password_file;          /* NULL: none */
	struct dbk_strv policy_names;
	unsigned n_policies;
	const struct dbk_policy **policies; /* resolved; borrowed from config */
	char *file;                   /* where it was defined, for messages */
	int line;
};

struct dbk_config {
	char *file;
	char *state_dir;
	char *queue_dir;
	char *policy_dir;
	char *driver_dir;
	int syslog_facility;          /* LOG_DAEMON, LOG_LOCAL0 ... */
	int64_t retention_s;          /* report queue retention */
	int64_t connect_timeout_ms;
	char *metrics_file;           /* Prometheus textfile; NULL: none */
	int64_t retry_backoff_s;      /* first wait after a failed cycle */
	int64_t retry_backoff_max_s;  /* the doubling stops here */
	int64_t cycle_min_gap_s;      /* daemon: never start cycles closer */
	unsigned n_targets;
	struct dbk_target *targets;
	unsigned n_policies;
	struct dbk_policy *policies;
};

/* Parses the main file and every policy file it needs, validates it all.
 * Relative paths in the main file are taken relative to its directory.
 * Returns a config the caller frees with dbk_config_free, or NULL with
 * err->msg = "file:line: what is wrong" and err->code = DBK_E_CONFIG.
 * Does not load drivers; see dbk_config_check_drivers. */
struct dbk_config *dbk_config_load(const char *path, struct dbk_err *err);
void dbk_config_free(struct dbk_config *cfg);

/* Parses one policy file into *out (zeroed first). For tests and fuzzing. */
int dbk_policy_load(const char *path, struct dbk_policy *out,
                    struct dbk_err *err) DBK_MUSTCHECK;
void dbk_policy_clear(struct dbk_policy *p);

const struct dbk_target *dbk_config_target(const struct dbk_config *cfg,
                                           const char *name);

/* For reload: the settings that differ between cur and next but take
 * effect only after a restart (state_dir, queue_dir, driver_dir,
 * syslog_facility), joined by ", " into buf (may be NULL). Returns how
 * many differ; 0 means next can be swapped in completely. */
unsigned dbk_config_restart_changes(const struct dbk_config *cur,
                                    const struct dbk_config *next, char *buf,
                                    size_t len);

/* Checks a target's password file: a regular file, owned by the agent's
 * user or root, not readable or writable by group or others. Reads the
 * first line (without newline) into *out, which the caller frees. */
int dbk_read_password_file(const char *path, char **out, struct dbk_err *err)
	DBK_MUSTCHECK;

#endif
