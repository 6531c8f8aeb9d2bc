/* drivers/dbkeeper_driver.h: the only contract between the agent and engine
 * drivers. A driver observes (tables, indexes, metrics, server logs) and
 * performs one primitive action when asked; it never decides what to do.
 * Everything a driver returns is freed through that driver's own ops. */
#ifndef DBKEEPER_DRIVER_H
#define DBKEEPER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DBK_DRIVER_ABI_MAJOR 1 /* incompatible change: the loader refuses */
#define DBK_DRIVER_ABI_MINOR 1 /* ops appended: older drivers still load */
#define DBK_DRIVER_ENTRY "dbk_driver_entry"

/* Error codes shared by agent and drivers. */
enum dbk_errcode {
	DBK_E_OK = 0,
	DBK_E_CONFIG,       /* bad option or setting */
	DBK_E_CONNECT,      /* cannot reach or log in to the server */
	DBK_E_QUERY,        /* the server refused a statement */
	DBK_E_TIMEOUT,      /* statement timeout */
	DBK_E_LOCK_TIMEOUT, /* a lock was not granted in time */
	DBK_E_BUSY,         /* another agent holds the database lock */
	DBK_E_CANCELLED,    /* cancel() was called */
	DBK_E_ABI,          /* driver and agent do not fit */
	DBK_E_IO,           /* file system */
	DBK_E_NOMEM,
	DBK_E_UNSUPPORTED,  /* the engine or server version cannot do it */
	DBK_E_INTERNAL,
};

/* Fixed size, allocates nothing: usable when memory is short. */
struct dbk_err {
	int code;          /* enum dbk_errcode */
	char sqlstate[6];  /* "" when the server gave none */
	char msg[480];     /* one line, fit for an operator, never a password */
};

/* Callbacks the agent gives a driver, so drivers link nothing of the agent.
 * level is a syslog(3) level. */
struct dbk_host {
	void (*log)(void *ctx, int level, const char *msg);
	void *ctx;
};

/* Connection options a driver accepts, validated by the agent before open. */
enum dbk_opt_type { DBK_OPT_STRING, DBK_OPT_INT, DBK_OPT_BOOL };
struct dbk_opt_def {
	const char *name;
	enum dbk_opt_type type;
	const char *help;
};
struct dbk_kv {
	const char *key;
	const char *value; /* ints and bools as text: "5432", "true" */
};

struct dbk_open_args {
	const char *target;            /* for messages */
	const struct dbk_kv *options;  /* validated against dbk_driver.options */
	size_t n_options;
	const char *password;          /* NULL: the driver's own means (.pgpass, option file) */
	int64_t connect_timeout_ms;
	int64_t idle_tx_timeout_ms;    /* session guard against a stuck transaction */
	const char *application_name;  /* "dbkeeper" */
};

/* ---- Observations. Strings and arrays belong to the list. ---- */

enum dbk_table_flags {
	DBK_TF_SYSTEM = 1u << 0,        /* catalog or engine-internal schema */
	DBK_TF_TEMP_ORPHAN = 1u << 1,   /* temp table of a session that is gone */
	DBK_TF_TOOL_LEFTOVER = 1u << 2, /* pg_repack/pt-osc/gh-ost remains, tool not running */
	DBK_TF_SQL_ORPHAN = 1u << 3,    /* MySQL #sql- table of an interrupted ALTER */
	DBK_TF_TOOL_RUNNING = 1u << 4,  /* looks like a tool's table, tool is running */
};

struct dbk_table {
	const char *schema;
	const char *name;
	const char *engine;      /* NULL when not meaningful */
	uint64_t id;             /* the engine's stable id (PostgreSQL OID); 0: none */
	int64_t size_bytes;      /* -1: unknown */
	int64_t est_rows;        /* -1: unknown */
	int64_t created_at;      /* unix seconds; 0: the engine cannot tell */
	int64_t updated_at;      /* last write, unix seconds; 0: unknown */
	int64_t write_count;     /* cumulative inserts+updates+deletes; -1: unknown */
	int64_t dead_rows;       /* -1: unknown */
	int64_t mods_since_analyze; /* -1: unknown */
	int64_t last_analyze_at; /* unix seconds; 0: never or unknown */
	int64_t xid_age;         /* age of the creating transaction; -1: unknown */
	uint32_t flags;          /* enum dbk_table_flags */
};
struct dbk_table_list {
	size_t n;
	struct dbk_table *v;
};

enum dbk_index_flags {
	DBK_IF_INVALID = 1u << 0,   /* failed concurrent build, indisvalid = false */
	DBK_IF_PRIMARY = 1u << 1,
	DBK_IF_UNIQUE = 1u << 2,
	DBK_IF_CONSTRAINT = 1u << 3, /* backs a constraint */
	DBK_IF_DUPLICATE = 1u << 4,  /* same columns as duplicate_of */
	DBK_IF_LEFTOVER = 1u << 5,   /* _ccnew/_ccold or a tool's index_<oid> */
	DBK_IF_BLOAT_CONFIRMED = 1u << 6, /* bloat_pct measured, not estimated */
	DBK_IF_TOOL_LEFTOVER = 1u << 7, /* with LEFTOVER: a tool's (pg_repack
	                                 * index_<oid>), not the engine's own */
};

struct dbk_index {
	const char *schema;
	const char *table;
	const char *name;
	const char *method;       /* "btree", ... */
	const char *duplicate_of; /* NULL unless DBK_IF_DUPLICATE */
	uint64_t id;
	uint64_t table_id;
	int64_t size_bytes;
	int64_t scans;            /* -1: unknown */
	double bloat_pct;         /* 0..100; < 0: unknown */
	uint32_t flags;           /* enum dbk_index_flags */
};
struct dbk_index_list {
	size_t n;
	struct dbk_index *v;
};

enum dbk_metric_kind { DBK_M_GAUGE, DBK_M_COUNTER };
struct dbk_metric {
	const char *name;   /* "xact_commit", "connections" ... */
	const char *labels; /* "db=app" or NULL */
	const char *unit;   /* "bytes", "ms", "" */
	double value;
	int kind;           /* enum dbk_metric_kind */
};
struct dbk_metric_list {
	size_t n;
	struct dbk_metric *v;
};

/* Server log files (PostgreSQL) or binary logs (MySQL). */
struct dbk_logfile {
	const char *name;
	int64_t size_bytes;
	int64_t mtime;      /* unix seconds; 0: unknown */
	bool in_use;        /* the current file: never removed */
};
struct dbk_logfile_list {
	size_t n;
	struct dbk_logfile *v;
};

struct dbk_server_info {
	char flavour[32];       /* "postgresql", "mariadb", "mysql" */
	char version[64];       /* as the server reports it */
	int64_t version_num;    /* 150004, 101106 */
	bool is_replica;
	int64_t replica_lag_ms; /* -1: unknown or not a replica of anything */
	int64_t db_size_bytes;  /* -1: unknown */
};

/* ---- Actions: the planner decides, the driver performs. ---- */

enum dbk_action_kind {
	DBK_A_DROP_TABLES = 1,   /* objects: the tables, dropped together */
	DBK_A_REBUILD_INDEX,     /* objects[0]: the index, objects[1]: its table */
	DBK_A_DROP_INDEX,        /* objects[0]: an invalid or leftover index,
	                          * objects[1]: its table */
	DBK_A_PURGE_ROWS,        /* objects[0]: the log table */
	DBK_A_PURGE_SERVER_LOGS, /* objects: file names (schema NULL) */
	DBK_A_ANALYZE,           /* objects: the tables */
	/* ABI 1.1 */
	DBK_A_DROP_TRIGGER,      /* objects[0]: a tool's leftover trigger (schema:
	                          * its table's), objects[1]: its table */
	DBK_A_ROTATE_LOG_TABLE,  /* objects[0]: a server log table; entries older
	                          * than cutoff go, newer ones stay */
};

/* What the planner saw; the driver re-checks it before acting, so a table
 * renamed or replaced since observation is never touched. */
struct dbk_object {
	const char *schema;
	const char *name;
	uint64_t id; /* 0: match by name only */
};

enum dbk_rebuild_method { DBK_REBUILD_ONLINE = 0, DBK_REBUILD_OFFLINE = 1 };

struct dbk_action {
	int kind;                      /* enum dbk_action_kind */
	const struct dbk_object *objects;
	size_t n_objects;
	const char *sql;               /* from render(); execution runs exactly this */
	int64_t lock_timeout_ms;       /* every maintenance statement has both */
	int64_t statement_timeout_ms;
	int64_t deadline_ms;           /* CLOCK_MONOTONIC ms: stop batching after it; 0: none */
	int64_t max_replica_lag_ms;    /* pause batches while lag is higher; 0: no guard */
	/* DBK_A_PURGE_ROWS */
	const char *time_column;
	int64_t cutoff;                /* unix seconds: rows older than this go */
	int64_t batch_rows;
	int64_t pause_ms;
	/* DBK_A_REBUILD_INDEX */
	int rebuild_method;            /* enum dbk_rebuild_method */
	/* DBK_A_PURGE_SERVER_LOGS: files older than cutoff among objects */
};

enum dbk_obj_status {
	DBK_OBJ_PENDING = 0,
	DBK_OBJ_DONE,
	DBK_OBJ_SKIPPED_LOCKED,  /* lock not granted within lock_timeout */
	DBK_OBJ_SKIPPED_CHANGED, /* gone, renamed or no longer matching */
	DBK_OBJ_FAILED,
};

/* Filled by the driver; status[] is the agent's array of n_objects. */
struct dbk_outcome {
	int64_t rows;          /* rows deleted */
	int64_t bytes_before;  /* bytes the objects held */
	int64_t bytes_after;   /* for rebuilds: size afterwards */
	bool stopped_early;    /* deadline reached or cancelled; more to do */
	uint8_t *status;       /* enum dbk_obj_status per object */
	char note[256];        /* short detail for the record */
};

struct dbk_conn; /* opaque; owned by the driver */

/* ---- ABI 1.1 observations ---- */

/* Triggers another maintenance tool installs on an application table while
 * it works (pg_repack's repack_trigger, pt-osc's pt_osc_*). Left behind by a
 * crashed tool they keep writing into the tool's log table, so that table
 * must never be dropped before its trigger. */
enum dbk_trigger_flags {
	DBK_TRF_TOOL_LEFTOVER = 1u << 0, /* the tool is not running */
	DBK_TRF_TOOL_RUNNING = 1u << 1,
};
struct dbk_trigger {
	const char *schema;    /* the table's */
	const char *table;
	const char *name;
	const char *tool;      /* "pg_repack", "pt-online-schema-change" */
	const char *feeds_schema; /* the table it writes into; NULL: unknown */
	const char *feeds_table;
	uint64_t id;           /* the engine's id (pg_trigger OID); 0: none */
	uint64_t table_id;
	uint32_t flags;        /* enum dbk_trigger_flags */
};
struct dbk_trigger_list {
	size_t n;
	struct dbk_trigger *v;
};

/* Replicas connected to this server now (MySQL SHOW SLAVE HOSTS). */
struct dbk_replica {
	const char *id;        /* stable: MySQL server_id as text */
	const char *host;      /* NULL: not reported */
	int64_t port;          /* 0: not reported */
	const char *needs_log; /* oldest server log it still reads; NULL: unknown */
};
struct dbk_replica_list {
	size_t n;
	struct dbk_replica *v;
};

/* Progress of the action running on a connection: phase is a short text
 * ("building index", "batch"), total -1 when unknown. Called on the thread
 * that runs the action; must not call back into the driver. */
typedef void (*dbk_progress_fn)(void *ctx, const char *phase, int64_t done,
                                int64_t total);

/* Every op returns 0 or -1 with *err filled; outputs untouched on failure. */
struct dbk_driver {
	/* These five fields are frozen for every ABI version. */
	uint32_t abi_major, abi_minor;
	size_t struct_size; /* sizeof(struct dbk_driver) when the driver was built */
	const char *name, *version;

	const struct dbk_opt_def *options; /* connection options, NULL-terminated */

	int (*open)(const struct dbk_open_args *args, const struct dbk_host *host,
	            struct dbk_conn **out, struct dbk_err *err);
	void (*close)(struct dbk_conn *conn); /* NULL-safe */
	/* One agent per database: *got is false when another agent holds it. */
	int (*lock)(struct dbk_conn *conn, bool *got, struct dbk_err *err);
	int (*unlock)(struct dbk_conn *conn, struct dbk_err *err);
	int (*server_info)(struct dbk_conn *conn, struct dbk_server_info *out,
	                   struct dbk_err *err);
	/* Observation: one set-based query each, bounded by timeout_ms. */
	int (*list_tables)(struct dbk_conn *conn, int64_t timeout_ms,
	                   struct dbk_table_list **out, struct dbk_err *err);
	void (*free_tables)(struct dbk_table_list *list);
	int (*list_indexes)(struct dbk_conn *conn, int64_t timeout_ms,
	                    struct dbk_index_list **out, struct dbk_err *err);
	void (*free_indexes)(struct dbk_index_list *list);
	int (*collect_metrics)(struct dbk_conn *conn, int64_t timeout_ms,
	                       struct dbk_metric_list **out, struct dbk_err *err);
	void (*free_metrics)(struct dbk_metric_list *list);
	int (*list_server_logs)(struct dbk_conn *conn, int64_t timeout_ms,
	                        struct dbk_logfile_list **out, struct dbk_err *err);
	void (*free_logfiles)(struct dbk_logfile_list *list);
	/* The exact statement an action will run; *sql freed with free_string.
	 * Every identifier is quoted by the driver's own escaping. */
	int (*render)(struct dbk_conn *conn, const struct dbk_action *action,
	              char **sql, struct dbk_err *err);
	void (*free_string)(char *s);
	/* Actions; each runs action->sql under its lock and statement timeouts. */
	int (*drop_tables)(struct dbk_conn *conn, const struct dbk_action *action,
	                   struct dbk_outcome *out, struct dbk_err *err);
	int (*rebuild_index)(struct dbk_conn *conn, const struct dbk_action *action,
	                     struct dbk_outcome *out, struct dbk_err *err);
	int (*drop_index)(struct dbk_conn *conn, const struct dbk_action *action,
	                  struct dbk_outcome *out, struct dbk_err *err);
	int (*purge_rows)(struct dbk_conn *conn, const struct dbk_action *action,
	                  struct dbk_outcome *out, struct dbk_err *err);
	int (*purge_server_logs)(struct dbk_conn *conn, const struct dbk_action *action,
	                         struct dbk_outcome *out, struct dbk_err *err);
	int (*analyze)(struct dbk_conn *conn, const struct dbk_action *action,
	               struct dbk_outcome *out, struct dbk_err *err);
	/* Thread-safe: cancels the statement in flight on conn and makes a
	 * batching action stop at its next boundary. */
	void (*cancel)(struct dbk_conn *conn);
	/* Quote one identifier into buf (NUL-terminated). */
	int (*quote_ident)(struct dbk_conn *conn, const char *ident, char *buf,
	                   size_t len, struct dbk_err *err);
	/* ---- ABI 1.x additions go below this line, never above ---- */

	/* ABI 1.1; each group is all there or all NULL. */
	int (*list_tool_triggers)(struct dbk_conn *conn, int64_t timeout_ms,
	                          struct dbk_trigger_list **out, struct dbk_err *err);
	void (*free_triggers)(struct dbk_trigger_list *list);
	int (*drop_trigger)(struct dbk_conn *conn, const struct dbk_action *action,
	                    struct dbk_outcome *out, struct dbk_err *err);

	int (*list_replicas)(struct dbk_conn *conn, int64_t timeout_ms,
	                     struct dbk_replica_list **out, struct dbk_err *err);
	void (*free_replicas)(struct dbk_replica_list *list);

	/* Logs the server keeps in tables (MySQL slow_log/general_log when
	 * log_output has TABLE): name is "schema.table", mtime the oldest
	 * entry (0: empty), in_use unused. Freed with free_logfiles. */
	int (*list_log_tables)(struct dbk_conn *conn, int64_t timeout_ms,
	                       struct dbk_logfile_list **out, struct dbk_err *err);
	int (*rotate_log_table)(struct dbk_conn *conn, const struct dbk_action *action,
	                        struct dbk_outcome *out, struct dbk_err *err);

	/* fn (NULL: none) is called during later actions on conn. */
	void (*set_progress)(struct dbk_conn *conn, dbk_progress_fn fn, void *ctx);
};

typedef const struct dbk_driver *(*dbk_driver_entry_fn)(void);

/* The smallest table an ABI 1.0 driver can have. */
#define DBK_DRIVER_SIZE_1_0 \
	(offsetof(struct dbk_driver, quote_ident) + sizeof(void (*)(void)))

/* A newer op is used only when the driver's table is big enough to hold it
 * and the driver filled it in. */
#define DBK_HAS_OP(d, op) \
	((d)->struct_size >= offsetof(struct dbk_driver, op) + sizeof((d)->op) && \
	 (d)->op != NULL)

#endif /* DBKEEPER_DRIVER_H */
