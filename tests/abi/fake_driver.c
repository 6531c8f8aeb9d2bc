/* tests/abi/fake_driver.c: a tiny driver for the loader's ABI tests, built
 * once per defect (FAKE_WRONG_MAJOR, FAKE_SHORT_SIZE, FAKE_MISSING_OP,
 * FAKE_NO_SYMBOL, FAKE_NULL_TABLE, FAKE_WRONG_NAME, FAKE_NULL_NAME,
 * FAKE_HALF_GROUP: an ABI 1.1 group of ops only partly there; none:
 * a good driver). FAKE_NAME is the file's name. No op is ever called. */
#include "dbkeeper_driver.h"

#include <stdio.h>

#ifndef FAKE_NAME
#define FAKE_NAME "good"
#endif

static int fake_fail(struct dbk_err *err)
{
	err->code = DBK_E_UNSUPPORTED;
	err->sqlstate[0] = '\0';
	snprintf(err->msg, sizeof err->msg, "fake driver: not implemented");
	return -1;
}

static int fake_open(const struct dbk_open_args *a, const struct dbk_host *h,
                     struct dbk_conn **out, struct dbk_err *err)
{
	(void)a, (void)h, (void)out;
	return fake_fail(err);
}

static void fake_close(struct dbk_conn *c) { (void)c; }
static void fake_cancel(struct dbk_conn *c) { (void)c; }
static void fake_free_tables(struct dbk_table_list *l) { (void)l; }
static void fake_free_indexes(struct dbk_index_list *l) { (void)l; }
static void fake_free_metrics(struct dbk_metric_list *l) { (void)l; }
static void fake_free_logfiles(struct dbk_logfile_list *l) { (void)l; }
static void fake_free_string(char *s) { (void)s; }

static int fake_lock(struct dbk_conn *c, bool *got, struct dbk_err *err)
{
	(void)c, (void)got;
	return fake_fail(err);
}

static int fake_unlock(struct dbk_conn *c, struct dbk_err *err)
{
	(void)c;
	return fake_fail(err);
}

static int fake_server_info(struct dbk_conn *c, struct dbk_server_info *out,
                            struct dbk_err *err)
{
	(void)c, (void)out;
	return fake_fail(err);
}

static int fake_list_tables(struct dbk_conn *c, int64_t t,
                            struct dbk_table_list **out, struct dbk_err *err)
{
	(void)c, (void)t, (void)out;
	return fake_fail(err);
}

static int fake_list_indexes(struct dbk_conn *c, int64_t t,
                             struct dbk_index_list **out, struct dbk_err *err)
{
	(void)c, (void)t, (void)out;
	return fake_fail(err);
}

static int fake_collect_metrics(struct dbk_conn *c, int64_t t,
                                struct dbk_metric_list **out,
                                struct dbk_err *err)
{
	(void)c, (void)t, (void)out;
	return fake_fail(err);
}

static int fake_list_server_logs(struct dbk_conn *c, int64_t t,
                                 struct dbk_logfile_list **out,
                                 struct dbk_err *err)
{
	(void)c, (void)t, (void)out;
	return fake_fail(err);
}

static int fake_render(struct dbk_conn *c, const struct dbk_action *a,
                       char **sql, struct dbk_err *err)
{
	(void)c, (void)a, (void)sql;
	return fake_fail(err);
}

/* Every action op has the same shape. */
static int fake_act(struct dbk_conn *c, const struct dbk_action *a,
                    struct dbk_outcome *out, struct dbk_err *err)
{
	(void)c, (void)a, (void)out;
	return fake_fail(err);
}

static int fake_quote_ident(struct dbk_conn *c, const char *ident, char *buf,
                            size_t len, struct dbk_err *err)
{
	(void)c, (void)ident, (void)buf, (void)len;
	return fake_fail(err);
}

#ifdef FAKE_HALF_GROUP
static int fake_list_triggers(struct dbk_conn *c, int64_t timeout_ms,
                              struct dbk_trigger_list **out, struct dbk_err *err)
{
	(void)c, (void)timeout_ms, (void)out;
	return fake_fail(err);
}

static void fake_free_triggers(struct dbk_trigger_list *list)
{
	(void)list;
}
#endif

static const struct dbk_opt_def fake_options[] = {
	{ "conninfo", DBK_OPT_STRING, "connection string" },
	{ "port", DBK_OPT_INT, "server port" },
	{ "verbose", DBK_OPT_BOOL, "chatty" },
	{ NULL, DBK_OPT_STRING, NULL },
};

static const struct dbk_driver fake_driver = {
#ifdef FAKE_WRONG_MAJOR
	.abi_major = DBK_DRIVER_ABI_MAJOR + 1,
#else
	.abi_major = DBK_DRIVER_ABI_MAJOR,
#endif
	.abi_minor = 0,
#ifdef FAKE_SHORT_SIZE
	/* A table from before quote_ident existed. */
	.struct_size = offsetof(struct dbk_driver, quote_ident),
#else
	.struct_size = sizeof(struct dbk_driver),
#endif
#if defined(FAKE_WRONG_NAME)
	.name = "postgres",
#elif defined(FAKE_NULL_NAME)
	.name = NULL,
#else
	.name = FAKE_NAME,
#endif
	.version = "0.0-fake",
	.options = fake_options,
	.open = fake_open,
	.close = fake_close,
#ifdef FAKE_MISSING_OP
	.lock = NULL, /* fake_lock stays referenced by the entry below */
#else
	.lock = fake_lock,
#endif
	.unlock = fake_unlock,
	.server_info = fake_server_info,
	.list_tables = fake_list_tables,
	.free_tables = fake_free_tables,
	.list_indexes = fake_list_indexes,
	.free_indexes = fake_free_indexes,
	.collect_metrics = fake_collect_metrics,
	.free_metrics = fake_free_metrics,
	.list_server_logs = fake_list_server_logs,
	.free_logfiles = fake_free_logfiles,
	.render = fake_render,
	.free_string = fake_free_string,
	.drop_tables = fake_act,
	.rebuild_index = fake_act,
	.drop_index = fake_act,
	.purge_rows = fake_act,
	.purge_server_logs = fake_act,
	.analyze = fake_act,
	.cancel = fake_cancel,
	.quote_ident = fake_quote_ident,
#ifdef FAKE_HALF_GROUP
	/* Triggers it can list and free, but not drop. */
	.list_tool_triggers = fake_list_triggers,
	.free_triggers = fake_free_triggers,
#endif
};

/* FAKE_NO_SYMBOL exports an entry under a name the loader does not look
 * for, so the file is a valid library without our symbol. */
#ifdef FAKE_NO_SYMBOL
#define FAKE_ENTRY dbk_driver_entry_v0
#else
#define FAKE_ENTRY dbk_driver_entry
#endif

__attribute__((visibility("default"))) const struct dbk_driver *
FAKE_ENTRY(void);

__attribute__((visibility("default"))) const struct dbk_driver *
FAKE_ENTRY(void)
{
#ifdef FAKE_MISSING_OP
	(void)fake_lock; /* compiled in every variant, left out of the table */
#endif
#ifdef FAKE_NULL_TABLE
	(void)fake_driver; /* still compiled, so every variant builds alike */
	return NULL;
#else
	return &fake_driver;
#endif
}
