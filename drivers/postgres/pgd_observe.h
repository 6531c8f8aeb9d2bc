/* drivers/postgres/pgd_observe.h: observation ops (tables, indexes, server
 * log files). Each is one set-based catalog query in a read-only
 * transaction under its own statement timeout; a timeout is
 * DBK_E_TIMEOUT. Lists are freed with the matching pgd_free_* (NULL-safe). */
#ifndef PGD_OBSERVE_H
#define PGD_OBSERVE_H

#include "pgd_sql.h"

/* pg_repack is running when a session calls itself so, runs a query
 * naming it, or holds its advisory lock (pg_repack.c takes
 * pg_try_advisory_lock(16185446, <table>) while it works on a table). A
 * session whose query this role may not see could be it, too. Our own
 * queries carry a tag so the check skips them. A CTE named repack with
 * one column, running; catalogs qualified, so it holds under any
 * search_path. */
#define PGD_REPACK_LOCK "16185446"
#define PGD_TAG "/* dbkeeper:observe */ "
#define PGD_CTE_REPACK \
	"repack AS (" \
	" SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a" \
	"  WHERE a.pid <> pg_catalog.pg_backend_pid()" \
	"   AND (a.application_name ILIKE 'pg_repack%'" \
	"    OR (a.query ILIKE '%repack%' AND a.query NOT LIKE '/* dbkeeper:%')" \
	"    OR (a.backend_type = 'client backend' AND a.query = '<insufficient privilege>')))" \
	"  OR EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory'" \
	"   AND l.classid = " PGD_REPACK_LOCK " AND l.objsubid = 2) AS running)"

/* pg_repack's trigger: on the table with OID N it inserts every change
 * into repack.log_N (the extension always lives in schema repack). For a
 * trigger t whose function p lives in namespace pn: is it pg_repack's?
 * Only those count as the tool's, so a user's trigger that merely shares
 * the name is never reported as a leftover. */
#define PGD_REPACK_TRIGGER_FN "(pn.nspname = 'repack')"

int pgd_list_tables(struct dbk_conn *c, int64_t timeout_ms,
                    struct dbk_table_list **out, struct dbk_err *err);
void pgd_free_tables(struct dbk_table_list *list);
int pgd_list_indexes(struct dbk_conn *c, int64_t timeout_ms,
                     struct dbk_index_list **out, struct dbk_err *err);
void pgd_free_indexes(struct dbk_index_list *list);
/* pg_repack's triggers (calling a function of schema repack) with the
 * table each feeds, repack.log_<table OID>; flagged TOOL_RUNNING or
 * TOOL_LEFTOVER by the same check as tables. A user's trigger that only
 * shares the name is not the tool's and is not listed. */
int pgd_list_tool_triggers(struct dbk_conn *c, int64_t timeout_ms,
                           struct dbk_trigger_list **out, struct dbk_err *err);
void pgd_free_triggers(struct dbk_trigger_list *list);
/* Empty list when logging_collector is off. */
int pgd_list_server_logs(struct dbk_conn *c, int64_t timeout_ms,
                         struct dbk_logfile_list **out, struct dbk_err *err);
void pgd_free_logfiles(struct dbk_logfile_list *list);

#endif
