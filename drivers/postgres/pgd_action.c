/* drivers/postgres/pgd_action.c: the outcome under construction, the
 * "sql is what its objects render to" guard and the re-check of objects
 * against the catalog, shared by every action. */
#include "pgd_action.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgd_render.h"

void pgd_run_init(struct pgd_run *r, const struct dbk_action *a)
{
	memset(r, 0, sizeof *r);
	r->a = a;
	r->status = pgd_xcalloc(a->n_objects ? a->n_objects : 1, 1);
	r->o.status = r->status;
}

void pgd_run_note(struct pgd_run *r, const char *fmt, ...)
{
	va_list ap;
	size_t used = strlen(r->o.note);

	if (used > 0 && used + 2 < sizeof r->o.note) {
		memcpy(r->o.note + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof r->o.note)
		return;
	va_start(ap, fmt);
	vsnprintf(r->o.note + used, sizeof r->o.note - used, fmt, ap);
	va_end(ap);
	for (char *p = r->o.note; *p; p++) /* names may hold newlines */
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

void pgd_run_finish(struct pgd_run *r, struct dbk_outcome *out)
{
	uint8_t *agent_status = out->status;

	*out = r->o;
	out->status = agent_status;
	if (agent_status != NULL)
		memcpy(agent_status, r->status, r->a->n_objects);
	pgd_run_free(r);
}

void pgd_run_free(struct pgd_run *r)
{
	free(r->status);
	r->status = NULL;
	r->o.status = NULL;
}

size_t pgd_run_count(const struct pgd_run *r, uint8_t status)
{
	size_t n = 0;

	for (size_t i = 0; i < r->a->n_objects; i++)
		n += r->status[i] == status;
	return n;
}

int pgd_action_start(struct dbk_conn *c, const struct dbk_action *a,
                     size_t min, size_t max, struct dbk_err *err)
{
	char *sql = NULL;
	int rc = -1;

	if (pgd_check_cancel(c, err) == -1 ||
	    pgd_check_budget(a->lock_timeout_ms, a->statement_timeout_ms, err) == -1)
		return -1;
	if (a->n_objects < min || a->n_objects > max || a->objects == NULL)
		return pgd_err_set(err, DBK_E_CONFIG, "%s: action kind %d with %zu objects",
		    c->target, a->kind, a->n_objects);
	if (a->sql == NULL)
		return pgd_err_set(err, DBK_E_CONFIG, "%s: action has no rendered statement",
		    c->target);
	if ((sql = pgd_render_objects(c, a, a->objects, a->n_objects, err)) == NULL)
		return -1;
	if (strcmp(sql, a->sql) != 0)
		pgd_err_set(err, DBK_E_INTERNAL, "%s: the action's statement is not the one its"
		    " objects render to; refusing to run it", c->target);
	else
		rc = 0;
	free(sql);
	return rc;
}

static int pgd_lookup_by_name(struct dbk_conn *c, const struct dbk_object *o,
                              uint64_t *oid, struct dbk_err *err)
{
	PGresult *res = NULL;
	const char *params[2] = { o->schema, o->name };

	if (pgd_exec(c, "SELECT c.oid FROM pg_catalog.pg_class c"
	    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE n.nspname = $1 AND c.relname = $2", 2, params, &res,
	    "re-check", err) == -1)
		return -1;
	*oid = PQntuples(res) ? (uint64_t)pgd_int(res, 0, 0, 0) : 0;
	PQclear(res);
	return 0;
}

char *pgd_oid_array(const uint64_t *oids, size_t n)
{
	struct pgd_buf b = { 0 };

	pgd_buf_add(&b, "{");
	for (size_t i = 0; i < n; i++)
		pgd_buf_add(&b, "%s%" PRIu64, i ? "," : "", oids[i]);
	pgd_buf_add(&b, "}");
	return pgd_buf_take(&b);
}

static bool pgd_same(const PGresult *res, int row, const struct dbk_object *o,
                     const char *relkinds)
{
	return strcmp(PQgetvalue(res, row, 1), o->schema) == 0 &&
	       strcmp(PQgetvalue(res, row, 2), o->name) == 0 &&
	       strchr(relkinds, PQgetvalue(res, row, 3)[0]) != NULL;
}

static void pgd_recheck_apply(const PGresult *res, const struct dbk_object *objs,
                              size_t n, const char *relkinds, uint64_t *oids,
                              int64_t *sizes, uint8_t *status)
{
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		if (status[i] != DBK_OBJ_PENDING)
			continue;
		for (int r = 0; r < PQntuples(res) && !found; r++) {
			if ((uint64_t)pgd_int(res, r, 0, 0) != oids[i] || oids[i] == 0)
				continue;
			found = pgd_same(res, r, &objs[i], relkinds);
			if (found && sizes != NULL)
				sizes[i] = pgd_int(res, r, 4, -1);
		}
		if (!found)
			status[i] = DBK_OBJ_SKIPPED_CHANGED;
	}
}

int pgd_recheck(struct dbk_conn *c, const struct dbk_object *objs, size_t n,
                const char *relkinds, uint64_t *oids, int64_t *sizes,
                uint8_t *status, struct dbk_err *err)
{
	PGresult *res = NULL;
	char *arr = NULL;
	const char *params[1];
	uint64_t *pending = NULL;
	size_t np = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		if (status[i] != DBK_OBJ_PENDING)
			continue;
		oids[i] = objs[i].id;
		if (oids[i] == 0 && pgd_lookup_by_name(c, &objs[i], &oids[i], err) == -1)
			return -1;
	}
	/* Only objects still pending: sizing a table another session holds
	 * locked would wait for it. */
	pending = pgd_xcalloc(n ? n : 1, sizeof *pending);
	for (size_t i = 0; i < n; i++)
		if (status[i] == DBK_OBJ_PENDING && oids[i] != 0)
			pending[np++] = oids[i];
	params[0] = arr = pgd_oid_array(pending, np);
	if (pgd_exec(c, sizes ?
	    "SELECT c.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_total_relation_size(c.oid)"
	    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE c.oid = ANY ($1::pg_catalog.oid[])" :
	    "SELECT c.oid, n.nspname, c.relname, c.relkind"
	    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	    " WHERE c.oid = ANY ($1::pg_catalog.oid[])",
	    1, params, &res, "re-check", err) == -1)
		goto out;
	pgd_recheck_apply(res, objs, n, relkinds, oids, sizes, status);
	rc = 0;
out:
	PQclear(res);
	free(arr);
	free(pending);
	return rc;
}

struct dbk_object *pgd_pending(const struct pgd_run *r, size_t *n)
{
	struct dbk_object *v = pgd_xcalloc(r->a->n_objects ? r->a->n_objects : 1, sizeof *v);

	*n = 0;
	for (size_t i = 0; i < r->a->n_objects; i++)
		if (r->status[i] == DBK_OBJ_PENDING)
			v[(*n)++] = r->a->objects[i];
	return v;
}

bool pgd_fatal(const struct dbk_err *err)
{
	return err->code == DBK_E_CONNECT || err->code == DBK_E_CANCELLED ||
	       err->code == DBK_E_TIMEOUT;
}
