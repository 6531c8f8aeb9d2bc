/* drivers/postgres/pgd_action.h: what every action shares: the outcome
 * being built (copied out only on success, since ops leave outputs
 * untouched on failure), the guard that action->sql is the statement its
 * objects render to, and the re-check that an object is still what the
 * planner saw.
 *
 * Convention of all actions: a skip (lock not granted, object changed or
 * gone) is not an error: the op returns 0 with the status set. -1 means
 * the action could not be carried out (connection lost, statement timeout,
 * cancelled, refused); err then says why, including any partial effect. */
#ifndef PGD_ACTION_H
#define PGD_ACTION_H

#include "pgd_sql.h"

struct pgd_run {
	const struct dbk_action *a;
	struct dbk_outcome o;
	uint8_t *status; /* one per object; o.status points here */
};

void pgd_run_init(struct pgd_run *r, const struct dbk_action *a);
/* Appends to the note, "; "-separated, truncating quietly. */
void pgd_run_note(struct pgd_run *r, const char *fmt, ...) PGD_PRINTF(2, 3);
/* Copies the outcome into out (statuses into out->status when the agent
 * gave an array) and frees r. */
void pgd_run_finish(struct pgd_run *r, struct dbk_outcome *out);
void pgd_run_free(struct pgd_run *r);
size_t pgd_run_count(const struct pgd_run *r, uint8_t status);

/* Checks the common preconditions: not cancelled, both timeouts set,
 * n_objects within [min, max], and action->sql exactly what render gives
 * for its objects, so the re-checks cover what will run. */
int pgd_action_start(struct dbk_conn *c, const struct dbk_action *a,
                     size_t min, size_t max, struct dbk_err *err) PGD_MUSTCHECK;

/* One row per object that still exists as the planner saw it: the same
 * OID (or, for id 0, the name) with the same schema and name and a relkind
 * in relkinds. The others get DBK_OBJ_SKIPPED_CHANGED (objects already
 * not PENDING are left alone). oids[i] receives the current OID. With
 * sizes, sizes[i] gets pg_total_relation_size: only call it that way when
 * the objects are locked, since it takes ACCESS SHARE locks. */
int pgd_recheck(struct dbk_conn *c, const struct dbk_object *objs, size_t n,
                const char *relkinds, uint64_t *oids, int64_t *sizes,
                uint8_t *status, struct dbk_err *err) PGD_MUSTCHECK;

/* "{1,2,3}", an oid[] parameter (digits and commas only). Caller frees. */
char *pgd_oid_array(const uint64_t *oids, size_t n);
/* Errors after which an action cannot go on with the next object. */
bool pgd_fatal(const struct dbk_err *err);

/* Objects whose status is PENDING, copied into a new array (*n set). */
struct dbk_object *pgd_pending(const struct pgd_run *r, size_t *n);

#endif
