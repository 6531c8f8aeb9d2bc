/* drivers/mysql/myd_driver.c: the MySQL/MariaDB driver's one exported
 * symbol and its const operation table. The operations live in myd_conn.c,
 * myd_observe.c, myd_metrics.c, myd_render.c, myd_actions.c and
 * myd_replicas.c. */
#include "dbkeeper_driver.h"
#include "myd_actions.h"
#include "myd_conn.h"
#include "myd_metrics.h"
#include "myd_observe.h"
#include "myd_render.h"
#include "myd_replicas.h"

#ifndef DBK_VERSION
#define DBK_VERSION "0.0.0"
#endif

static const struct dbk_driver myd_driver = {
	.abi_major = DBK_DRIVER_ABI_MAJOR,
	.abi_minor = DBK_DRIVER_ABI_MINOR,
	.struct_size = sizeof(struct dbk_driver),
	.name = "mysql",
	.version = DBK_VERSION,
	.options = myd_options,
	.open = myd_open,
	.close = myd_close,
	.lock = myd_lock,
	.unlock = myd_unlock,
	.server_info = myd_server_info,
	.list_tables = myd_list_tables,
	.free_tables = myd_free_tables,
	.list_indexes = myd_list_indexes,
	.free_indexes = myd_free_indexes,
	.collect_metrics = myd_collect_metrics,
	.free_metrics = myd_free_metrics,
	.list_server_logs = myd_list_server_logs,
	.free_logfiles = myd_free_logfiles,
	.render = myd_render,
	.free_string = myd_free_string,
	.drop_tables = myd_drop_tables,
	.rebuild_index = myd_rebuild_index,
	.drop_index = myd_drop_index,
	.purge_rows = myd_purge_rows,
	.purge_server_logs = myd_purge_server_logs,
	.analyze = myd_analyze,
	.cancel = myd_cancel,
	.quote_ident = myd_quote_ident,
	.list_log_tables = myd_list_log_tables,
	.rotate_log_table = myd_rotate_log_table,
	.set_progress = myd_set_progress,
	.list_replicas = myd_list_replicas,
	.free_replicas = myd_free_replicas,
};

/* The entry point the agent's loader looks up (DBK_DRIVER_ENTRY). */
__attribute__((visibility("default"))) const struct dbk_driver *dbk_driver_entry(void);

__attribute__((visibility("default"))) const struct dbk_driver *dbk_driver_entry(void)
{
	return &myd_driver;
}
