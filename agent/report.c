/* agent/report.c: builds the queue records of a cycle. It owns the open
 * queues of one target for the length of a cycle; what goes into a record
 * is decided here, how it is stored is queue.c's. */
#include "report.h"

#include <string.h>
#include <time.h>

#include "log.h"
#include "queue.h"
#include "rules.h"
#include "runner.h"

#define DBK_MAX_QUEUES 8

struct dbk_report {
	const struct dbk_config *cfg;
	const struct dbk_target *target;
	unsigned n;
	struct dbk_queue *q[DBK_MAX_QUEUES];
};

static const char *queue_of(const struct dbk_policy *p)
{
	return p != NULL && p->queue != NULL ? p->queue : "reports";
}

static struct dbk_queue *find_queue(struct dbk_report *r, const char *name)
{
	struct dbk_err e = { 0 };
	struct dbk_queue *q = NULL;

	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(dbk_queue_name(r->q[i]), name) == 0)
			return r->q[i];
	if (r->n == DBK_MAX_QUEUES)
		return r->q[0];
	if ((q = dbk_queue_open(r->cfg->queue_dir, name, &e)) == NULL) {
		dbk_log(LOG_ERR, r->target, "report queue %s: %s", name, e.msg);
		return NULL;
	}
	return r->q[r->n++] = q;
}

struct dbk_report *dbk_report_open(const struct dbk_config *cfg,
                                   const struct dbk_target *t)
{
	struct dbk_report *r = dbk_xcalloc(1, sizeof *r);

	r->cfg = cfg;
	r->target = t;
	return r;
}

void dbk_report_close(struct dbk_report *r)
{
	if (r == NULL)
		return;
	for (unsigned i = 0; i < r->n; i++)
		dbk_queue_close(r->q[i]);
	free(r);
}

static const struct dbk_policy *first_policy(const struct dbk_target *t)
{
	return t->n_policies > 0 ? t->policies[0] : NULL;
}

/* Writes rec (stealing it) to the policy's queue. */
static void put(struct dbk_report *r, const struct dbk_policy *p, json_t *rec)
{
	struct dbk_queue *q = find_queue(r, queue_of(p ? p : first_policy(r->target)));
	struct dbk_err e = { 0 };

	if (q != NULL && dbk_queue_put(q, rec, &e) == -1)
		dbk_log(LOG_ERR, r->target, "record not written: %s", e.msg);
	json_decref(rec);
}

static json_t *new_record(struct dbk_report *r, const struct dbk_policy *p,
                          int kind)
{
	struct dbk_queue *q = find_queue(r, queue_of(p ? p : first_policy(r->target)));

	if (q == NULL)
		return NULL;
	return dbk_record_new(q, kind, r->target->name, p ? p->name : NULL);
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *dbk_report_finding_json(const struct dbk_finding *f)
{
	return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}",
	                 "category", str_or_null(f->category),
	                 "severity", dbk_severity_name(f->severity),
	                 "object", str_or_null(f->object),
	                 "title", str_or_null(f->title),
	                 "evidence", str_or_null(f->evidence),
	                 "recommendation", str_or_null(f->recommendation));
}

static const char *action_kind_name(int kind)
{
	switch (kind) {
	case DBK_A_DROP_TABLES: return "drop_tables";
	case DBK_A_REBUILD_INDEX: return "rebuild_index";
	case DBK_A_DROP_INDEX: return "drop_index";
	case DBK_A_PURGE_ROWS: return "purge_rows";
	case DBK_A_PURGE_SERVER_LOGS: return "purge_server_logs";
	case DBK_A_ANALYZE: return "analyze";
	case DBK_A_DROP_TRIGGER: return "drop_trigger";
	case DBK_A_ROTATE_LOG_TABLE: return "rotate_log_table";
	}
	return "?";
}

const char *dbk_action_label(int kind)
{
	switch (kind) {
	case DBK_A_DROP_TABLES: return "drop tables";
	case DBK_A_REBUILD_INDEX: return "rebuild index";
	case DBK_A_DROP_INDEX: return "drop index";
	case DBK_A_PURGE_ROWS: return "purge rows";
	case DBK_A_PURGE_SERVER_LOGS: return "remove server logs";
	case DBK_A_ANALYZE: return "analyze";
	case DBK_A_DROP_TRIGGER: return "drop trigger";
	case DBK_A_ROTATE_LOG_TABLE: return "rotate log table";
	}
	return "?";
}

static const char *obj_status_name(int s)
{
	static const char *const names[] = { "pending", "done", "skipped_locked",
	                                     "skipped_changed", "failed" };

	return s >= 0 && (size_t)s < DBK_NELEM(names) ? names[s] : "?";
}

static json_t *objects_json(const struct dbk_plan_action *a,
                            const struct dbk_action_result *res)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->act.n_objects; i++) {
		const struct dbk_object *o = &a->act.objects[i];
		json_t *j = json_pack("{s:o, s:s}", "schema", str_or_null(o->schema),
		                      "name", o->name);

		if (o->id != 0)
			json_object_set_new(j, "id", json_integer((json_int_t)o->id));
		if (res != NULL && res->out.status != NULL)
			json_object_set_new(j, "status", json_string(
				obj_status_name(res->out.status[i])));
		json_array_append_new(arr, j);
	}
	return arr;
}

json_t *dbk_report_action_json(const struct dbk_plan_action *a,
                               const struct dbk_action_result *res)
{
	json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:b, s:b, s:I, s:o}",
	                      "category", dbk_task_name(a->task),
	                      "action", action_kind_name(a->act.kind),
	                      "statement", str_or_null(a->sql),
	                      "reason", str_or_null(a->reason),
	                      "dry_run", a->dry_run, "carried", a->carried,
	                      "bytes", (json_int_t)a->bytes,
	                      "objects", objects_json(a, res));

	if (a->render_error != NULL)
		json_object_set_new(j, "error", json_string(a->render_error));
	if (res != NULL) {
		json_object_set_new(j, "outcome", json_string(dbk_outcome_name(res->outcome)));
		json_object_set_new(j, "duration_ms", json_integer(res->duration_ms));
		json_object_set_new(j, "rows", json_integer(res->out.rows));
		json_object_set_new(j, "bytes_before", json_integer(res->out.bytes_before));
		json_object_set_new(j, "bytes_after", json_integer(res->out.bytes_after));
		if (res->out.note[0] != '\0')
			json_object_set_new(j, "note", json_string(res->out.note));
		if (res->error[0] != '\0')
			json_object_set_new(j, "error", json_string(res->error));
	}
	return j;
}

/* Copies every key of src into dst (dst keeps its own). */
static void merge(json_t *dst, json_t *src)
{
	if (dst != NULL && src != NULL)
		json_object_update_missing(dst, src);
	json_decref(src);
}

void dbk_report_findings(struct dbk_report *r, const struct dbk_cycle *c)
{
	if (r == NULL || c->plan == NULL)
		return;
	for (unsigned i = 0; i < c->plan->n_findings; i++) {
		const struct dbk_finding *f = &c->plan->findings[i];
		json_t *rec = new_record(r, f->policy, DBK_REC_FINDING);

		if (rec == NULL)
			continue;
		merge(rec, dbk_report_finding_json(f));
		put(r, f->policy, rec);
	}
}

/* "drop 3 tables", "rebuild index app.orders_pkey": what a person reads
 * in `queue list`. */
/* ---- Findings that last ---- */

static const struct dbk_policy *policy_named(const struct dbk_target *t,
                                             const char *name)
{
	for (unsigned i = 0; name != NULL && i < t->n_policies; i++)
		if (strcmp(t->policies[i]->name, name) == 0)
			return t->policies[i];
	return NULL;
}

/* The queue's time format, at whole seconds. */
static const char *iso(int64_t secs, char *buf, size_t len)
{
	time_t t = (time_t)secs;
	struct tm tm = { 0 };

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return buf;
}

static json_t *iso_json(int64_t secs)
{
	char buf[40];

	return json_string(iso(secs, buf, sizeof buf));
}

void dbk_report_lasting(struct dbk_report *r, const struct dbk_event *ev,
                        const struct dbk_finding *f, json_t *extra)
{
	const struct dbk_lasting *e = &ev->entry;
	const struct dbk_policy *p = NULL;
	json_t *rec = NULL;
	char sev[16], when[40];
	char *ev_text = NULL;

	if (r == NULL) {
		json_decref(extra);
		return;
	}
	p = f != NULL ? f->policy : policy_named(r->target, e->policy);
	if ((rec = new_record(r, p, DBK_REC_FINDING)) == NULL) {
		json_decref(extra);
		return;
	}
	if (f != NULL) {
		merge(rec, dbk_report_finding_json(f));
	} else {
		snprintf(sev, sizeof sev, "%s", dbk_severity_name(e->severity));
		ev_text = dbk_xasprintf("no longer seen; it was open from %s, seen "
		    "%lld times", iso(e->first_seen, when, sizeof when),
		    (long long)e->count);
		merge(rec, json_pack("{s:o, s:s, s:o, s:o, s:s, s:n}",
		    "category", str_or_null(e->category), "severity", sev,
		    "object", str_or_null(e->object), "title", str_or_null(e->title),
		    "evidence", ev_text, "recommendation"));
		free(ev_text);
	}
	json_object_set_new(rec, "status", json_string(dbk_event_status(ev->kind)));
	json_object_set_new(rec, "rule", json_string(e->rule));
	json_object_set_new(rec, "key", json_string(e->key));
	json_object_set_new(rec, "first_seen", iso_json(e->first_seen));
	json_object_set_new(rec, "last_seen", iso_json(e->last_seen));
	json_object_set_new(rec, "first_seen_ms", json_integer(e->first_seen * 1000));
	json_object_set_new(rec, "last_seen_ms", json_integer(e->last_seen * 1000));
	json_object_set_new(rec, "count", json_integer(e->count));
	if (ev->kind == DBK_EV_SEVERITY)
		json_object_set_new(rec, "previous_severity",
		                    json_string(dbk_severity_name(ev->prev_severity)));
	merge(rec, extra);
	put(r, p, rec);
}

void dbk_report_on_demand(struct dbk_report *r, const struct dbk_finding *f,
                          json_t *extra)
{
	json_t *rec = NULL;

	if (r == NULL || (rec = new_record(r, f->policy, DBK_REC_FINDING)) == NULL) {
		json_decref(extra);
		return;
	}
	merge(rec, dbk_report_finding_json(f));
	json_object_set_new(rec, "status", json_string("on_demand"));
	json_object_set_new(rec, "on_demand", json_true());
	merge(rec, extra);
	put(r, f->policy, rec);
}

static const char *action_title(const struct dbk_plan_action *a, char *buf,
                                size_t len)
{
	const struct dbk_object *o = &a->act.objects[0];
	size_t n = a->act.n_objects;

	switch (a->act.kind) {
	case DBK_A_DROP_TABLES:
		snprintf(buf, len, "drop %zu table%s", n, n == 1 ? "" : "s");
		break;
	case DBK_A_ANALYZE:
		snprintf(buf, len, "analyze %zu table%s", n, n == 1 ? "" : "s");
		break;
	case DBK_A_PURGE_SERVER_LOGS:
		snprintf(buf, len, "remove %zu server log file%s", n, n == 1 ? "" : "s");
		break;
	case DBK_A_PURGE_ROWS:
		snprintf(buf, len, "purge old rows of %s.%s", o->schema ? o->schema : "",
		         o->name);
		break;
	case DBK_A_DROP_TRIGGER:
		snprintf(buf, len, "drop trigger %s on %s.%s", o->name,
		         n > 1 && o[1].schema ? o[1].schema : "",
		         n > 1 ? o[1].name : "?");
		break;
	case DBK_A_ROTATE_LOG_TABLE:
		snprintf(buf, len, "rotate log table %s.%s",
		         o->schema ? o->schema : "", o->name);
		break;
	default:
		snprintf(buf, len, "%s index %s.%s",
		         a->act.kind == DBK_A_DROP_INDEX ? "drop" : "rebuild",
		         o->schema ? o->schema : "", o->name);
	}
	return buf;
}

char *dbk_report_action_start(struct dbk_report *r,
                              const struct dbk_plan_action *a)
{
	json_t *rec = NULL;
	char title[160];
	char *id = NULL;

	if (r == NULL || (rec = new_record(r, a->policy, DBK_REC_ACTION)) == NULL)
		return NULL;
	json_object_set_new(rec, "title", json_string(action_title(a, title,
	                                                           sizeof title)));
	json_object_set_new(rec, "severity", json_string("info"));
	merge(rec, dbk_report_action_json(a, NULL));
	json_object_set_new(rec, "outcome", json_string("started"));
	id = dbk_xstrdup(json_string_value(json_object_get(rec, "id")));
	put(r, a->policy, rec);
	return id;
}

void dbk_report_action(struct dbk_report *r, const struct dbk_cycle *c,
                       const struct dbk_plan_action *a,
                       const struct dbk_action_result *res,
                       const char *action_id)
{
	json_t *rec = NULL;
	char title[160];

	if (r == NULL || (rec = new_record(r, a->policy, DBK_REC_ACTION)) == NULL)
		return;
	action_title(a, title, sizeof title);
	json_object_set_new(rec, "title", json_string(title));
	json_object_set_new(rec, "severity", json_string(
		res->outcome == DBK_OUT_FAILED ? "warning" : "info"));
	if (action_id != NULL)
		json_object_set_new(rec, "action_id", json_string(action_id));
	merge(rec, dbk_report_action_json(a, res));
	put(r, a->policy, rec);
	/* When the failure ended the run, "cycle failed" is its error line;
	 * the action's own line is then a warning. */
	if (res->outcome == DBK_OUT_FAILED)
		dbk_log(c->status == DBK_RUN_FAILED ? LOG_WARNING : LOG_ERR, r->target,
		        "%s failed: %s", title, res->error);
	else
		dbk_log(LOG_INFO, r->target, "%s: %s", title,
		        dbk_outcome_name(res->outcome));
}

static json_t *tasks_json(const struct dbk_cycle *c)
{
	static const char *const states[] = { "off", "due", "not_due",
	                                      "outside_window", "not_assessed" };
	json_t *j = json_object();

	if (c->plan == NULL)
		return j;
	for (unsigned p = 0; p < c->plan->n_policies; p++) {
		json_t *pj = json_object();

		for (int t = 0; t < DBK_TASK_COUNT; t++)
			json_object_set_new(pj, dbk_task_name(t), json_string(
				states[c->plan->task_state[p][t]]));
		json_object_set_new(j, c->target->policies[p]->name, pj);
	}
	return j;
}

void dbk_report_run(struct dbk_report *r, const struct dbk_cycle *c, int mode)
{
	json_t *rec = NULL;

	if (r == NULL || (rec = new_record(r, NULL, DBK_REC_RUN)) == NULL)
		return;
	json_object_set_new(rec, "mode", json_string(c->hooks && c->hooks->on_demand ? "tune" :
	                    mode == DBK_MODE_ONCE ? "once" : "daemon"));
	json_object_set_new(rec, "status", json_string(dbk_run_status_name(c->status)));
	json_object_set_new(rec, "finished", json_boolean(c->status == DBK_RUN_FINISHED));
	json_object_set_new(rec, "severity", json_string(
		c->status == DBK_RUN_FAILED ? "warning" : "info"));
	json_object_set_new(rec, "title", json_string(dbk_run_status_name(c->status)));
	json_object_set_new(rec, "duration_ms", json_integer(c->duration_ms));
	json_object_set_new(rec, "counts", json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
		"actions", c->plan ? (int)c->plan->n_actions : 0,
		"done", (int)c->n_done, "dry_run", (int)c->n_dry,
		"partial", (int)c->n_partial, "skipped", (int)c->n_skipped,
		"failed", (int)c->n_failed, "carried", (int)c->n_carried));
	json_object_set_new(rec, "tasks", tasks_json(c));
	if (c->have_info)
		json_object_set_new(rec, "server", json_pack("{s:s,s:s,s:I}",
			"flavour", c->info.flavour, "version", c->info.version,
			"db_size_bytes", (json_int_t)c->info.db_size_bytes));
	if (c->error[0] != '\0')
		json_object_set_new(rec, "error", json_string(c->error));
	put(r, NULL, rec);
}

void dbk_report_metrics(struct dbk_report *r, json_t *values,
                        const struct dbk_server_info *info, json_t *facts)
{
	json_t *rec = NULL;

	if (r == NULL || (rec = new_record(r, NULL, DBK_REC_METRICS)) == NULL) {
		json_decref(values);
		json_decref(facts);
		return;
	}
	json_object_set_new(rec, "title", json_string("metrics"));
	json_object_set_new(rec, "values", values);
	if (facts != NULL)
		json_object_set_new(rec, "facts", facts);
	if (info != NULL)
		json_object_set_new(rec, "server", json_pack("{s:s,s:s,s:I}",
			"flavour", info->flavour, "version", info->version,
			"db_size_bytes", (json_int_t)info->db_size_bytes));
	put(r, NULL, rec);
}
