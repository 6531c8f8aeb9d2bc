/* drivers/postgres/pgd_driver.c: the PostgreSQL driver's op table and the
 * one exported symbol. Everything else in this .so is hidden; the ops live
 * in pgd_conn.c, pgd_observe.c, pgd_metrics.c, pgd_render.c, pgd_tables.c,
 * pgd_index.c, pgd_purge.c and pgd_trigger.c. */
#include "dbkeeper_driver.h"
#include "pgd_conn.h"
#include "pgd_index.h"
#include "pgd_metrics.h"
#include "pgd_observe.h"
#include "pgd_purge.h"
#include "pgd_render.h"
#include "pgd_tables.h"
#include "pgd_trigger.h"

#ifndef DBK_VERSION
#define DBK_VERSION "dev"
#endif

static const struct dbk_driver pgd_driver = {
	.abi_major = DBK_DRIVER_ABI_MAJOR,
	.abi_minor = DBK_DRIVER_ABI_MINOR,
	.struct_size = sizeof(struct dbk_driver),
	.name = "postgres",
	.version = DBK_VERSION,
	.options = pgd_options,
	.open = pgd_open,
	.close = pgd_close,
	.lock = pgd_lock,
	.unlock = pgd_unlock,
	.server_info = pgd_server_info,
	.list_tables = pgd_list_tables,
	.free_tables = pgd_free_tables,
	.list_indexes = pgd_list_indexes,
	.free_indexes = pgd_free_indexes,
	.collect_metrics = pgd_collect_metrics,
	.free_metrics = pgd_free_metrics,
	.list_server_logs = pgd_list_server_logs,
	.free_logfiles = pgd_free_logfiles,
	.render = pgd_render,
	.free_string = pgd_free_string,
	.drop_tables = pgd_drop_tables,
	.rebuild_index = pgd_rebuild_index,
	.drop_index = pgd_drop_index,
	.purge_rows = pgd_purge_rows,
	.purge_server_logs = pgd_purge_server_logs,
	.analyze = pgd_analyze,
	.cancel = pgd_cancel,
	.quote_ident = pgd_quote_ident,
	/* ABI 1.1 */
	.list_tool_triggers = pgd_list_tool_triggers,
	.free_triggers = pgd_free_triggers,
	.drop_trigger = pgd_drop_trigger,
	/* Replicas and log tables are MySQL's: PostgreSQL has neither. */
	.list_replicas = NULL,
	.free_replicas = NULL,
	.list_log_tables = NULL,
	.rotate_log_table = NULL,
	.set_progress = pgd_set_progress,
};

/* The one symbol the loader looks up (DBK_DRIVER_ENTRY). */
__attribute__((visibility("default"))) const struct dbk_driver *dbk_driver_entry(void);

__attribute__((visibility("default"))) const struct dbk_driver *dbk_driver_entry(void)
{
	return &pgd_driver;
}
