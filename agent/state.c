/* agent/state.c: the per-target memory kept between cycles (first-seen
 * times and write counters of tables, last runs, carried-over actions, the
 * previous metrics) as one JSON document, loaded and saved atomically. It
 * stores what it is told; deciding what that means is the planner's job. */
#include "state.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_SCHEMA 1
#define STATE_MAX_FILE (512u * 1024 * 1024)

struct dbk_state {
	char *dir;    /* NULL for an in-memory state */
	char *file;   /* <target>.state.json, safe as a file name */
	char *target;
	json_t *root; /* {"tables":{}, "last_run":{}, "carried":[], "metrics":{}} */
};

/* JSON keys must be valid UTF-8, but a table name is whatever bytes the
 * engine allows. Valid names not starting with '%' are used as they are;
 * any other name becomes '%' + its bytes percent-encoded, so the mapping
 * stays one-to-one and lookups only ever need the forward direction. */
static char *state_key(const char *s)
{
	json_t *probe = json_string(s);
	char *out = NULL;
	size_t n = 0;

	if (probe != NULL && s[0] != '%') {
		json_decref(probe);
		return dbk_xstrdup(s);
	}
	json_decref(probe);
	out = dbk_xmalloc(3 * strlen(s) + 2);
	out[n++] = '%';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '%')
			out[n++] = (char)*p;
		else
			n += (size_t)sprintf(out + n, "%%%02X", *p);
	}
	out[n] = '\0';
	return out;
}

/* The object at key in obj (created when create is true); NULL otherwise. */
static json_t *obj_child(json_t *obj, const char *name, bool create)
{
	char *key = state_key(name ? name : "");
	json_t *child = json_object_get(obj, key);

	if (!json_is_object(child) && create) {
		child = json_object();
		json_object_set_new(obj, key, child);
	} else if (!json_is_object(child)) {
		child = NULL;
	}
	free(key);
	return child;
}

static json_t *empty_root(void)
{
	return json_pack("{s:{}, s:{}, s:[], s:{}}", "tables", "last_run",
	                 "carried", "metrics");
}

/* A file name for the target that cannot leave the state directory. */
static char *state_file_name(const char *target)
{
	size_t len = strlen(target);
	char *out = dbk_xmalloc(3 * len + sizeof ".state.json");
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)target[i];

		if (c == '/' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.'))
			n += (size_t)sprintf(out + n, "%%%02X", c);
		else
			out[n++] = (char)c;
	}
	strcpy(out + n, ".state.json");
	return out;
}

struct dbk_state *dbk_state_new_empty(void)
{
	struct dbk_state *st = dbk_xcalloc(1, sizeof *st);

	st->root = empty_root();
	return st;
}

void dbk_state_free(struct dbk_state *st)
{
	if (st == NULL)
		return;
	json_decref(st->root);
	free(st->target);
	free(st->file);
	free(st->dir);
	free(st);
}

static bool all_ints(json_t *obj, const char *const *fields)
{
	for (; *fields != NULL; fields++)
		if (!json_is_integer(json_object_get(obj, *fields)))
			return false;
	return true;
}

/* Checks the whole document, so the accessors can trust its shape. */
static const char *root_problem(json_t *root)
{
	static const char *const table_fields[] = { "id", "first_seen", "writes",
	                                            "seen_at", NULL };
	const char *k1 = NULL, *k2 = NULL;
	json_t *v1 = NULL, *v2 = NULL;
	size_t i = 0;

	if (!json_is_object(root))
		return "not a JSON object";
	if (json_integer_value(json_object_get(root, "schema")) != STATE_SCHEMA)
		return "unknown schema version";
	if (!json_is_object(json_object_get(root, "tables")) ||
	    !json_is_object(json_object_get(root, "last_run")) ||
	    !json_is_array(json_object_get(root, "carried")) ||
	    !json_is_object(json_object_get(root, "metrics")))
		return "missing tables, last_run, carried or metrics";
	json_object_foreach(json_object_get(root, "tables"), k1, v1) {
		if (!json_is_object(v1))
			return "a schema in tables is not an object";
		json_object_foreach(v1, k2, v2)
			if (!json_is_object(v2) || !all_ints(v2, table_fields))
				return "a table entry lacks id, first_seen, writes or seen_at";
	}
	json_object_foreach(json_object_get(root, "last_run"), k1, v1) {
		if (!json_is_object(v1))
			return "a policy in last_run is not an object";
		json_object_foreach(v1, k2, v2)
			if (!json_is_integer(v2))
				return "a last_run time is not an integer";
	}
	json_array_foreach(json_object_get(root, "carried"), i, v1)
		if (!json_is_string(v1))
			return "a carried key is not a string";
	return NULL;
}

/* Renames a corrupt file aside and says so in err, keeping the state empty:
 * forgetting first-seen times only delays drops. */
static void set_corrupt(const char *path, const char *why, struct dbk_err *err)
{
	char *aside = dbk_xasprintf("%s.corrupt.%lld", path, (long long)dbk_now());

	if (rename(path, aside) == 0)
		dbk_err_set(err, DBK_E_IO, "state file %s is corrupt (%s); moved it to %s "
		            "and started empty", path, why, aside);
	else
		dbk_err_errno(err, "state file %s is corrupt (%s), starting empty; "
		              "moving it to %s failed", path, why, aside);
	free(aside);
}

struct dbk_state *dbk_state_load(const char *dir, const char *target,
                                 struct dbk_err *err)
{
	struct dbk_state *st = NULL;
	char *path = NULL, *data = NULL;
	size_t len = 0;
	json_t *root = NULL;
	json_error_t jerr;
	const char *why = NULL;
	char jwhy[300];

	dbk_err_clear(err);
	if (dir == NULL || target == NULL) {
		dbk_err_set(err, DBK_E_CONFIG, "state: no state directory or target");
		return NULL;
	}
	if (dbk_mkdirs(dir, 0750, err) == -1)
		return NULL;
	st = dbk_state_new_empty();
	st->dir = dbk_xstrdup(dir);
	st->target = dbk_xstrdup(target);
	st->file = state_file_name(target);
	path = dbk_xasprintf("%s/%s", dir, st->file);
	if ((data = dbk_read_file(path, STATE_MAX_FILE, &len, err)) == NULL) {
		if (errno != ENOENT) {
			dbk_state_free(st);
			st = NULL;
		} else {
			dbk_err_clear(err);
		}
		goto out;
	}
	if ((root = json_loadb(data, len, 0, &jerr)) == NULL) {
		snprintf(jwhy, sizeof jwhy, "%s at line %d", jerr.text, jerr.line);
		why = jwhy;
	} else {
		why = root_problem(root);
	}
	if (why != NULL) {
		set_corrupt(path, why, err);
		goto out;
	}
	json_decref(st->root);
	st->root = json_incref(root);
	/* target and schema are written afresh on save. */
	json_object_del(st->root, "schema");
	json_object_del(st->root, "target");
out:
	json_decref(root);
	free(data);
	free(path);
	return st;
}

int dbk_state_save(const struct dbk_state *st, struct dbk_err *err)
{
	json_t *doc = NULL;
	char *json = NULL;
	int rc = -1;

	if (st->dir == NULL)
		return dbk_err_set(err, DBK_E_INTERNAL, "state: no state directory to save to");
	if (dbk_mkdirs(st->dir, 0750, err) == -1)
		return -1;
	doc = json_deep_copy(st->root);
	json_object_set_new(doc, "schema", json_integer(STATE_SCHEMA));
	json_object_set_new(doc, "target", json_string(st->target));
	if ((json = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		dbk_err_set(err, DBK_E_INTERNAL, "state of %s cannot be serialized",
		            st->target);
		goto out;
	}
	rc = dbk_write_file_atomic(st->dir, st->file, json, strlen(json), 0640, err);
out:
	free(json);
	json_decref(doc);
	return rc;
}

/* The stored entry for schema.name when it describes the same table: an id
 * that differs means the name was dropped and re-created. */
static json_t *table_entry(const struct dbk_state *st, const char *schema,
                           const char *name, uint64_t id)
{
	json_t *tables = json_object_get(st->root, "tables");
	json_t *s = obj_child(tables, schema, false);
	json_t *t = s ? obj_child(s, name, false) : NULL;
	uint64_t stored = 0;

	if (t == NULL)
		return NULL;
	stored = (uint64_t)json_integer_value(json_object_get(t, "id"));
	if (id != 0 && stored != 0 && stored != id)
		return NULL;
	return t;
}

int64_t dbk_state_first_seen(const struct dbk_state *st, const char *schema,
                             const char *name, uint64_t id)
{
	json_t *t = table_entry(st, schema, name, id);

	return t ? json_integer_value(json_object_get(t, "first_seen")) : 0;
}

bool dbk_state_prev_writes(const struct dbk_state *st, const char *schema,
                           const char *name, uint64_t id, int64_t *writes)
{
	json_t *t = table_entry(st, schema, name, id);
	int64_t w = t ? json_integer_value(json_object_get(t, "writes")) : -1;

	if (w < 0)
		return false;
	*writes = w;
	return true;
}

/* The entry for an observed table: an old entry (same table) keeps its
 * first_seen; -1 stands for an unknown write counter. */
static json_t *table_json(const struct dbk_table *t, json_t *old, int64_t now)
{
	int64_t first = old ? json_integer_value(json_object_get(old, "first_seen")) : now;
	int64_t writes = t->write_count < 0 ? -1 : t->write_count;

	return json_pack("{s:I, s:I, s:I, s:I}", "id", (json_int_t)t->id,
	                 "first_seen", (json_int_t)first, "writes", (json_int_t)writes,
	                 "seen_at", (json_int_t)now);
}

void dbk_state_observe_tables(struct dbk_state *st,
                              const struct dbk_table_list *tables, int64_t now)
{
	json_t *fresh = NULL;

	if (tables == NULL)
		return; /* not observed: keep what we knew */
	fresh = json_object();
	for (size_t i = 0; i < tables->n; i++) {
		const struct dbk_table *t = &tables->v[i];
		json_t *old = NULL;
		char *key = NULL;

		if (t->name == NULL)
			continue;
		old = table_entry(st, t->schema, t->name, t->id);
		key = state_key(t->name);
		json_object_set_new(obj_child(fresh, t->schema, true), key,
		                    table_json(t, old, now));
		free(key);
	}
	json_object_set_new(st->root, "tables", fresh);
}

int64_t dbk_state_last_run(const struct dbk_state *st, const char *policy,
                           const char *task)
{
	json_t *p = obj_child(json_object_get(st->root, "last_run"), policy, false);
	char *key = NULL;
	int64_t when = 0;

	if (p == NULL)
		return 0;
	key = state_key(task);
	when = json_integer_value(json_object_get(p, key));
	free(key);
	return when;
}

void dbk_state_set_last_run(struct dbk_state *st, const char *policy,
                            const char *task, int64_t when)
{
	json_t *p = obj_child(json_object_get(st->root, "last_run"), policy, true);
	char *key = state_key(task);

	json_object_set_new(p, key, json_integer(when));
	free(key);
}

bool dbk_state_is_carried(const struct dbk_state *st, const char *key)
{
	char *k = state_key(key);
	json_t *v = NULL;
	size_t i = 0;
	bool found = false;

	json_array_foreach(json_object_get(st->root, "carried"), i, v) {
		if (strcmp(json_string_value(v), k) == 0) {
			found = true;
			break;
		}
	}
	free(k);
	return found;
}

void dbk_state_set_carried(struct dbk_state *st, const char *const *keys,
                           unsigned n)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < n; i++) {
		char *k = state_key(keys[i]);

		json_array_append_new(arr, json_string(k));
		free(k);
	}
	json_object_set_new(st->root, "carried", arr);
}

bool dbk_state_prev_metric(const struct dbk_state *st, const char *name,
                           const char *labels, double *value, int64_t *at)
{
	json_t *m = json_object_get(st->root, "metrics");
	char *kname = state_key(name);
	char *klabels = labels ? state_key(labels) : NULL;
	json_t *v = NULL;
	size_t i = 0;
	bool found = false;

	json_array_foreach(json_object_get(m, "values"), i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));
		const char *l = json_string_value(json_object_get(v, "labels"));
		json_t *val = json_object_get(v, "value");

		if (n == NULL || strcmp(n, kname) != 0 || !json_is_number(val) ||
		    (klabels == NULL) != (l == NULL) ||
		    (klabels != NULL && strcmp(l, klabels) != 0))
			continue;
		*value = json_number_value(val);
		*at = json_integer_value(json_object_get(m, "at"));
		found = true;
		break;
	}
	free(klabels);
	free(kname);
	return found;
}

void dbk_state_set_metrics(struct dbk_state *st,
                           const struct dbk_metric_list *m, int64_t at)
{
	json_t *values = json_array();

	for (size_t i = 0; m != NULL && i < m->n; i++) {
		const struct dbk_metric *x = &m->v[i];
		char *kname = NULL, *klabels = NULL;

		/* JSON has no NaN or infinity; such a value gives no rate anyway. */
		if (x->name == NULL || !isfinite(x->value))
			continue;
		kname = state_key(x->name);
		klabels = x->labels ? state_key(x->labels) : NULL;
		json_array_append_new(values, json_pack("{s:s, s:s?, s:f}", "name", kname,
		                                        "labels", klabels, "value", x->value));
		free(klabels);
		free(kname);
	}
	json_object_set_new(st->root, "metrics",
	                    json_pack("{s:I, s:o}", "at", (json_int_t)at, "values", values));
}

/* ---- Index usage history ---- */

/* One key per schema, table and index name, netstring-joined so no two
 * triples can collide, then made a valid JSON key. */
static char *index_key(const char *schema, const char *table, const char *name)
{
	char *raw = dbk_xasprintf("%zu:%s,%zu:%s,%zu:%s,", strlen(schema ? schema : ""),
	                          schema ? schema : "", strlen(table ? table : ""),
	                          table ? table : "", strlen(name ? name : ""),
	                          name ? name : "");
	char *key = state_key(raw);

	free(raw);
	return key;
}

static int64_t jint(json_t *obj, const char *field)
{
	return json_integer_value(json_object_get(obj, field));
}

static json_t *usage_entry(const struct dbk_state *st, const char *schema,
                           const char *table, const char *name, uint64_t id)
{
	json_t *all = json_object_get(st->root, "indexes");
	char *key = index_key(schema, table, name);
	json_t *e = json_object_get(all, key);

	free(key);
	if (!json_is_object(e) || !json_is_integer(json_object_get(e, "first_seen")))
		return NULL;
	/* A different id: the name was dropped and re-created. */
	if (id != 0 && jint(e, "id") != 0 && (uint64_t)jint(e, "id") != id)
		return NULL;
	return e;
}

bool dbk_state_index_usage(const struct dbk_state *st, const char *schema,
                           const char *table, const char *name, uint64_t id,
                           struct dbk_index_usage *out)
{
	json_t *e = usage_entry(st, schema, table, name, id);

	if (e == NULL)
		return false;
	out->first_seen = jint(e, "first_seen");
	out->last_used = jint(e, "last_used");
	out->scans = jint(e, "scans");
	out->resets = jint(e, "resets");
	return true;
}

/* The next entry for an index seen now with counter scans. */
static json_t *usage_next(json_t *old, const struct dbk_index *ix, int64_t now)
{
	int64_t first = now, last = ix->scans > 0 ? now : 0, resets = 0;

	if (old != NULL) {
		first = jint(old, "first_seen");
		last = jint(old, "last_used");
		resets = jint(old, "resets");
		if (ix->scans > jint(old, "scans")) {
			last = now;
		} else if (ix->scans < jint(old, "scans")) {
			/* Uses between the last observation and the reset are
			 * invisible; uses since the reset are not. */
			resets++;
			if (ix->scans > 0)
				last = now;
		}
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)ix->id,
	                 "first_seen", (json_int_t)first, "last_used", (json_int_t)last,
	                 "scans", (json_int_t)ix->scans, "resets", (json_int_t)resets);
}

void dbk_state_observe_indexes(struct dbk_state *st,
                               const struct dbk_index_list *il, int64_t now)
{
	json_t *fresh = NULL;

	if (il == NULL)
		return;
	fresh = json_object();
	for (size_t i = 0; i < il->n; i++) {
		const struct dbk_index *ix = &il->v[i];
		char *key = NULL;

		if (ix->name == NULL || ix->scans < 0)
			continue;
		key = index_key(ix->schema, ix->table, ix->name);
		json_object_set_new(fresh, key, usage_next(usage_entry(st, ix->schema,
		    ix->table, ix->name, ix->id), ix, now));
		free(key);
	}
	json_object_set_new(st->root, "indexes", fresh);
}

/* ---- Lasting findings ---- */

static char *jdup(json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return s != NULL ? dbk_xstrdup(s) : NULL;
}

void dbk_lasting_list_clear(struct dbk_lasting_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct dbk_lasting *e = &l->v[i];

		free(e->key);
		free(e->rule);
		free(e->policy);
		free(e->category);
		free(e->object);
		free(e->title);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void dbk_state_get_lasting(const struct dbk_state *st,
                           struct dbk_lasting_list *out)
{
	json_t *arr = json_object_get(st->root, "findings");
	json_t *v = NULL;
	size_t i = 0;

	*out = (struct dbk_lasting_list){ 0 };
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	out->v = dbk_xcalloc(json_array_size(arr), sizeof *out->v);
	json_array_foreach(arr, i, v) {
		struct dbk_lasting *e = &out->v[out->n];

		if (!json_is_string(json_object_get(v, "key")) ||
		    !json_is_string(json_object_get(v, "rule")) ||
		    !json_is_integer(json_object_get(v, "since")))
			continue; /* forgetting a finding only re-opens it */
		e->key = jdup(v, "key");
		e->rule = jdup(v, "rule");
		e->policy = jdup(v, "policy");
		e->category = jdup(v, "category");
		e->object = jdup(v, "object");
		e->title = jdup(v, "title");
		e->severity = (int)jint(v, "severity");
		e->open = json_is_true(json_object_get(v, "open"));
		e->since = jint(v, "since");
		e->first_seen = jint(v, "first_seen");
		e->last_seen = jint(v, "last_seen");
		e->reported = jint(v, "reported");
		e->count = jint(v, "count");
		out->n++;
	}
}

void dbk_state_set_lasting(struct dbk_state *st,
                           const struct dbk_lasting_list *l)
{
	json_t *arr = json_array();

	/* Keys and names go in as values, never as object keys, so any bytes
	 * that are valid UTF-8 survive; others are percent-encoded. */
	for (size_t i = 0; l != NULL && i < l->n; i++) {
		const struct dbk_lasting *e = &l->v[i];
		char *k = state_key(e->key), *o = e->object ? state_key(e->object) : NULL;
		char *t = e->title ? state_key(e->title) : NULL;

		json_array_append_new(arr, json_pack(
		    "{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:i, s:b, s:I, s:I, s:I, s:I, s:I}",
		    "key", k, "rule", e->rule, "policy", e->policy,
		    "category", e->category, "object", o, "title", t,
		    "severity", e->severity, "open", e->open,
		    "since", (json_int_t)e->since, "first_seen", (json_int_t)e->first_seen,
		    "last_seen", (json_int_t)e->last_seen,
		    "reported", (json_int_t)e->reported, "count", (json_int_t)e->count));
		free(t);
		free(o);
		free(k);
	}
	json_object_set_new(st->root, "findings", arr);
}

/* ---- Index size baselines ---- */

/* Index names are unique per schema in PostgreSQL; MySQL's are per table,
 * and its schema is the database, so a clash only costs a baseline. */
static char *baseline_key(const char *schema, const char *name)
{
	return index_key(schema, "", name);
}

static json_t *baseline_entry(const struct dbk_state *st, const char *schema,
                              const char *name)
{
	json_t *all = json_object_get(st->root, "index_baselines");
	char *key = baseline_key(schema, name);
	json_t *e = json_object_get(all, key);

	free(key);
	if (!json_is_object(e) || !json_is_number(json_object_get(e, "bytes_per_row")) ||
	    !json_is_integer(json_object_get(e, "id")) ||
	    !json_is_integer(json_object_get(e, "at")))
		return NULL;
	return e;
}

void dbk_state_set_index_baseline(struct dbk_state *st, const char *schema,
                                  const char *name, uint64_t id,
                                  double bytes_per_row, int64_t at)
{
	json_t *all = json_object_get(st->root, "index_baselines");
	char *key = NULL;

	if (name == NULL || !isfinite(bytes_per_row) || bytes_per_row <= 0)
		return;
	if (!json_is_object(all)) {
		all = json_object();
		json_object_set_new(st->root, "index_baselines", all);
	}
	key = baseline_key(schema, name);
	json_object_set_new(all, key, json_pack("{s:I, s:f, s:I}", "id", (json_int_t)id,
	    "bytes_per_row", bytes_per_row, "at", (json_int_t)at));
	free(key);
}

bool dbk_state_index_baseline(const struct dbk_state *st, const char *schema,
                              const char *name, uint64_t id,
                              double *bytes_per_row, int64_t *at)
{
	json_t *e = baseline_entry(st, schema, name);
	uint64_t stored = 0;
	double bpr = 0;

	if (e == NULL)
		return false;
	stored = (uint64_t)jint(e, "id");
	bpr = json_number_value(json_object_get(e, "bytes_per_row"));
	if ((id != 0 && stored != 0 && stored != id) || !(bpr > 0))
		return false;
	*bytes_per_row = bpr;
	*at = jint(e, "at");
	return true;
}

void dbk_state_bind_index_baselines(struct dbk_state *st,
                                    const struct dbk_index_list *il)
{
	json_t *fresh = NULL;

	if (il == NULL || !json_is_object(json_object_get(st->root, "index_baselines")))
		return;
	fresh = json_object();
	for (size_t i = 0; i < il->n; i++) {
		const struct dbk_index *ix = &il->v[i];
		json_t *e = ix->name ? baseline_entry(st, ix->schema, ix->name) : NULL;
		uint64_t stored = e ? (uint64_t)jint(e, "id") : 0;
		char *key = NULL;

		if (e == NULL || (stored != 0 && ix->id != 0 && stored != ix->id))
			continue;
		key = baseline_key(ix->schema, ix->name);
		json_object_set_new(fresh, key, json_pack("{s:I, s:O, s:O}",
		    "id", (json_int_t)(stored != 0 ? stored : ix->id),
		    "bytes_per_row", json_object_get(e, "bytes_per_row"),
		    "at", json_object_get(e, "at")));
		free(key);
	}
	json_object_set_new(st->root, "index_baselines", fresh);
}

/* ---- Replicas ---- */

/* "replicas": [{"id", "host", "port", "first_seen", "last_seen"}], in the
 * order first seen. Entries without an id are ignored. */
static json_t *replicas_arr(const struct dbk_state *st)
{
	json_t *a = json_object_get(st->root, "replicas");

	return json_is_array(a) ? a : NULL;
}

size_t dbk_state_n_replicas(const struct dbk_state *st)
{
	json_t *a = st ? replicas_arr(st) : NULL;

	return a ? json_array_size(a) : 0;
}

bool dbk_state_replica(const struct dbk_state *st, size_t i,
                       struct dbk_replica_seen *out)
{
	json_t *e = json_array_get(replicas_arr(st), i);
	const char *id = json_string_value(json_object_get(e, "id"));

	if (!json_is_object(e) || id == NULL)
		return false;
	*out = (struct dbk_replica_seen){ .id = id,
	    .host = json_string_value(json_object_get(e, "host")),
	    .port = jint(e, "port"), .first_seen = jint(e, "first_seen"),
	    .last_seen = jint(e, "last_seen") };
	return true;
}

static const struct dbk_replica *replica_now(const struct dbk_replica_list *rl,
                                             const char *id)
{
	for (size_t i = 0; i < rl->n; i++)
		if (rl->v[i].id != NULL && strcmp(rl->v[i].id, id) == 0)
			return &rl->v[i];
	return NULL;
}

static json_t *replica_entry(const struct dbk_replica *r, int64_t first,
                             int64_t last)
{
	json_t *e = json_pack("{s:s, s:I, s:I, s:I}", "id", r->id, "port",
	    (json_int_t)r->port, "first_seen", (json_int_t)first, "last_seen",
	    (json_int_t)last);

	/* json_string() refuses invalid UTF-8: the host is then unknown. */
	if (e != NULL && r->host != NULL)
		json_object_set_new(e, "host", json_string(r->host));
	return e;
}

void dbk_state_observe_replicas(struct dbk_state *st,
                                const struct dbk_replica_list *rl, int64_t now,
                                int64_t forget_before)
{
	json_t *fresh = NULL;
	struct dbk_replica_seen old;

	if (rl == NULL)
		return;
	fresh = json_array();
	for (size_t i = 0; i < dbk_state_n_replicas(st); i++) {
		const struct dbk_replica *r = NULL;

		if (!dbk_state_replica(st, i, &old))
			continue;
		if ((r = replica_now(rl, old.id)) != NULL)
			json_array_append_new(fresh, replica_entry(r, old.first_seen, now));
		else if (old.last_seen >= forget_before)
			json_array_append(fresh, json_array_get(replicas_arr(st), i));
	}
	for (size_t i = 0; i < rl->n; i++) {
		const struct dbk_replica *r = &rl->v[i];
		bool known = false;

		for (size_t k = 0; r->id != NULL && k < json_array_size(fresh); k++)
			known |= strcmp(json_string_value(json_object_get(
			    json_array_get(fresh, k), "id")), r->id) == 0;
		/* An id that is not valid UTF-8 gives no entry (NULL). */
		if (r->id != NULL && !known)
			json_array_append_new(fresh, replica_entry(r, now, now));
	}
	json_object_set_new(st->root, "replicas", fresh);
}
