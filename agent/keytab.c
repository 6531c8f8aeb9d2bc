/* agent/keytab.c: the generic walker that applies a key table to one
 * libconfig group: type checks, defaults through the same parsers as file
 * values, bounds, unknown-key detection with a "did you mean". It knows no
 * particular setting; config.c and policy.c own the tables. */
#include "keytab.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "units.h"

/* ---- Messages ---- */

static void vlocate(struct dbk_err *err, const char *file, int line,
                    const char *fmt, va_list ap) DBK_PRINTF(4, 0);

static void vlocate(struct dbk_err *err, const char *file, int line,
                    const char *fmt, va_list ap)
{
	char text[sizeof err->msg];

	vsnprintf(text, sizeof text, fmt, ap);
	if (line > 0)
		dbk_err_set(err, DBK_E_CONFIG, "%s:%d: %s", file, line, text);
	else
		dbk_err_set(err, DBK_E_CONFIG, "%s: %s", file, text);
}

int dbk_keytab_error(struct dbk_err *err, const config_setting_t *s,
                     const struct dbk_keyctx *ctx, const char *fmt, ...)
{
	const char *file = ctx != NULL && ctx->file != NULL ? ctx->file : "?";
	int line = ctx != NULL ? ctx->line : 0;
	va_list ap;

	if (s != NULL && config_setting_source_file(s) != NULL) {
		file = config_setting_source_file(s);
		line = (int)config_setting_source_line(s);
	}
	va_start(ap, fmt);
	vlocate(err, file, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* "scratch_tables.min_age", or "min_age" at the top. */
static char *key_path(const struct dbk_keyctx *ctx, const char *name)
{
	if (ctx->path == NULL || ctx->path[0] == '\0')
		return dbk_xstrdup(name);
	return dbk_xasprintf("%s.%s", ctx->path, name);
}

/* A value's parser failed with err->msg saying why; put where in front.
 * A failing default is our bug, not the operator's, and says so. */
static int value_error(struct dbk_err *err, const config_setting_t *s,
                       const struct dbk_keyctx *ctx, const struct dbk_key *k)
{
	char why[sizeof err->msg];
	char *path = key_path(ctx, k->name);

	snprintf(why, sizeof why, "%s", err->msg);
	if (s != NULL)
		dbk_keytab_error(err, s, ctx, "%s: %s", path, why);
	else
		dbk_err_set(err, DBK_E_INTERNAL, "built-in default of %s: %s",
		    path, why);
	free(path);
	return -1;
}

/* Edit distance, for "did you mean"; names longer than 31 never match. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[32], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 32 || lb >= 32)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const struct dbk_key *key_find(const struct dbk_key *keys,
                                      const char *name)
{
	for (const struct dbk_key *k = keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int unknown_key(const struct dbk_key *keys, const config_setting_t *s,
                       const struct dbk_keyctx *ctx, struct dbk_err *err)
{
	const char *name = config_setting_name(s);
	const struct dbk_key *near = NULL;
	unsigned best = 3;
	char hint[96] = "";

	for (const struct dbk_key *k = keys; k->name != NULL; k++) {
		unsigned d = edit_distance(name, k->name);

		if (d < best) {
			best = d;
			near = k;
		}
	}
	if (near != NULL)
		snprintf(hint, sizeof hint, " (did you mean '%s'?)", near->name);
	if (ctx->path == NULL || ctx->path[0] == '\0')
		return dbk_keytab_error(err, s, ctx, "unknown setting '%s'%s", name,
		    hint);
	return dbk_keytab_error(err, s, ctx, "unknown setting '%s' in %s%s", name,
	    ctx->path, hint);
}

/* ---- Types ---- */

static const char *type_expected(int type)
{
	switch (type) {
	case DBK_T_BOOL: return "true or false";
	case DBK_T_INT: return "an integer";
	case DBK_T_NUMBER: return "a number";
	case DBK_T_STRING:
	case DBK_T_PATH:
	case DBK_T_ENUM: return "a string in double quotes";
	case DBK_T_STRV:
	case DBK_T_GLOBS: return "a list of strings like [\"a\", \"b\"]";
	case DBK_T_DURATION_S:
	case DBK_T_DURATION_MS:
		return "a duration like \"30s\" or \"7d\" (or an integer of seconds)";
	case DBK_T_SIZE: return "a size like \"50MB\" (or an integer of bytes)";
	case DBK_T_WINDOWS:
	case DBK_T_SCHED_WINDOW:
		return "a window string like \"Mon-Fri 01:00-05:00\"";
	case DBK_T_GROUP: return "a group { ... }";
	default: return "something else";
	}
}

const char *dbk_keytab_type_name(int cfg_type)
{
	switch (cfg_type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "nothing";
	}
}

static bool type_fits(int type, int cfg)
{
	bool is_int = cfg == CONFIG_TYPE_INT || cfg == CONFIG_TYPE_INT64;

	switch (type) {
	case DBK_T_BOOL: return cfg == CONFIG_TYPE_BOOL;
	case DBK_T_INT: return is_int;
	case DBK_T_NUMBER: return is_int || cfg == CONFIG_TYPE_FLOAT;
	case DBK_T_DURATION_S:
	case DBK_T_DURATION_MS:
	case DBK_T_SIZE: return is_int || cfg == CONFIG_TYPE_STRING;
	case DBK_T_STRV:
	case DBK_T_GLOBS: return cfg == CONFIG_TYPE_ARRAY || cfg == CONFIG_TYPE_LIST;
	case DBK_T_GROUP: return cfg == CONFIG_TYPE_GROUP;
	default: return cfg == CONFIG_TYPE_STRING;
	}
}

/* A scalar setting as the text the parsers read, so file values and
 * defaults take one path. buf holds numbers; strings are borrowed. */
static const char *scalar_text(const config_setting_t *s, char *buf, size_t len)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		snprintf(buf, len, "%d", config_setting_get_int(s));
		return buf;
	case CONFIG_TYPE_INT64:
		snprintf(buf, len, "%lld", config_setting_get_int64(s));
		return buf;
	case CONFIG_TYPE_FLOAT:
		snprintf(buf, len, "%.17g", config_setting_get_float(s));
		return buf;
	case CONFIG_TYPE_BOOL:
		return config_setting_get_bool(s) ? "true" : "false";
	default:
		return config_setting_get_string(s);
	}
}

/* ---- Value parsers: text in, C value out, message without location ---- */

/* Numbers in a comparable form: i for integer types (durations in ms),
 * d for DBK_T_NUMBER. */
struct num {
	int64_t i;
	double d;
};

static int parse_int(const char *text, int64_t *out, struct dbk_err *err)
{
	char *end = NULL;
	long long v = 0;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno == ERANGE)
		return dbk_err_set(err, DBK_E_CONFIG, "'%s' is not an integer", text);
	*out = v;
	return 0;
}

static int parse_double(const char *text, double *out, struct dbk_err *err)
{
	char *end = NULL;
	double v = 0;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
		return dbk_err_set(err, DBK_E_CONFIG, "'%s' is not a number", text);
	*out = v;
	return 0;
}

static bool is_numeric(int type)
{
	return type == DBK_T_INT || type == DBK_T_NUMBER ||
	       type == DBK_T_DURATION_S || type == DBK_T_DURATION_MS ||
	       type == DBK_T_SIZE;
}

static int parse_num(int type, const char *text, struct num *out,
                     struct dbk_err *err)
{
	switch (type) {
	case DBK_T_INT: return parse_int(text, &out->i, err);
	case DBK_T_NUMBER: return parse_double(text, &out->d, err);
	case DBK_T_SIZE: return dbk_parse_size(text, &out->i, err);
	default: return dbk_parse_duration_ms(text, &out->i, err);
	}
}

/* <0, 0, >0 as a is below, equal to, above b. */
static int num_cmp(int type, const struct num *a, const struct num *b)
{
	if (type == DBK_T_NUMBER)
		return (a->d > b->d) - (a->d < b->d);
	return (a->i > b->i) - (a->i < b->i);
}

static int check_bounds(const struct dbk_key *k, const char *text,
                        const struct num *v, struct dbk_err *err)
{
	struct num zero = { 0, 0 }, lim = { 0, 0 };

	if ((k->flags & DBK_KEY_POSITIVE) && num_cmp(k->type, v, &zero) <= 0)
		return dbk_err_set(err, DBK_E_CONFIG, "'%s' must be greater than 0",
		    text);
	if (k->min != NULL) {
		if (parse_num(k->type, k->min, &lim, err) == -1)
			return -1;
		if (num_cmp(k->type, v, &lim) < 0)
			return dbk_err_set(err, DBK_E_CONFIG,
			    "'%s' is out of range (minimum %s%s%s)", text, k->min,
			    k->max ? ", maximum " : "", k->max ? k->max : "");
	}
	if (k->max != NULL) {
		if (parse_num(k->type, k->max, &lim, err) == -1)
			return -1;
		if (num_cmp(k->type, v, &lim) > 0)
			return dbk_err_set(err, DBK_E_CONFIG,
			    "'%s' is out of range (%s%s%smaximum %s)", text,
			    k->min ? "minimum " : "", k->min ? k->min : "",
			    k->min ? ", " : "", k->max);
	}
	return 0;
}

static int set_num(const struct dbk_key *k, const char *text, void *field,
                   struct dbk_err *err)
{
	struct num v = { 0, 0 };

	if (parse_num(k->type, text, &v, err) == -1 ||
	    check_bounds(k, text, &v, err) == -1)
		return -1;
	switch (k->type) {
	case DBK_T_NUMBER:
		*(double *)field = v.d;
		break;
	case DBK_T_DURATION_S:
		if (v.i % 1000 != 0)
			return dbk_err_set(err, DBK_E_CONFIG,
			    "'%s' is not a whole number of seconds", text);
		*(int64_t *)field = v.i / 1000;
		break;
	default:
		*(int64_t *)field = v.i;
		break;
	}
	return 0;
}

/* Names become file names (state, queue spools), so "." and ".." are out. */
bool dbk_keytab_is_name(const char *name)
{
	if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                    "0123456789_.-") == strlen(name);
}

static bool is_driver_name(const char *name)
{
	return *name != '\0' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
}

static int check_string(const struct dbk_key *k, const char *text,
                        struct dbk_err *err)
{
	if (*text == '\0')
		return dbk_err_set(err, DBK_E_CONFIG, "must not be empty");
	if ((k->flags & DBK_KEY_NAME) && !dbk_keytab_is_name(text))
		return dbk_err_set(err, DBK_E_CONFIG,
		    "'%s' is not a valid name (letters, digits, '_', '.', '-')", text);
	if ((k->flags & DBK_KEY_DRIVER_NAME) && !is_driver_name(text))
		return dbk_err_set(err, DBK_E_CONFIG,
		    "'%s' is not a valid driver name (lower-case letters, digits, "
		    "'_')", text);
	return 0;
}

static int set_string(const struct dbk_key *k, const char *text,
                      const struct dbk_keyctx *ctx, void *field,
                      struct dbk_err *err)
{
	char **dst = field;

	if (check_string(k, text, err) == -1)
		return -1;
	free(*dst);
	if (k->type == DBK_T_PATH && text[0] != '/' && ctx->base_dir != NULL)
		*dst = dbk_xasprintf("%s/%s", ctx->base_dir, text);
	else
		*dst = dbk_xstrdup(text);
	return 0;
}

static int set_enum(const struct dbk_key *k, const char *text, void *field,
                    struct dbk_err *err)
{
	char names[200] = "";
	size_t used = 0;

	for (const struct dbk_key_choice *c = k->choices; c->name != NULL; c++) {
		if (strcmp(c->name, text) == 0) {
			*(int *)field = c->value;
			return 0;
		}
		used += (size_t)snprintf(names + used,
		    used < sizeof names ? sizeof names - used : 0, "%s%s",
		    c == k->choices ? "" : ", ", c->name);
	}
	return dbk_err_set(err, DBK_E_CONFIG, "unknown value '%s' (use %s)", text,
	    names);
}

static int set_bool(const char *text, void *field, struct dbk_err *err)
{
	if (strcmp(text, "true") == 0)
		*(bool *)field = true;
	else if (strcmp(text, "false") == 0)
		*(bool *)field = false;
	else
		return dbk_err_set(err, DBK_E_CONFIG, "'%s' is not true or false",
		    text);
	return 0;
}

/* One scalar value from text into its field; the message has no location. */
static int set_text(const struct dbk_key *k, const char *text,
                    const struct dbk_keyctx *ctx, void *base,
                    struct dbk_err *err)
{
	void *field = (char *)base + k->offset;

	if (is_numeric(k->type))
		return set_num(k, text, field, err);
	switch (k->type) {
	case DBK_T_BOOL:
		return set_bool(text, field, err);
	case DBK_T_STRING:
	case DBK_T_PATH:
		return set_string(k, text, ctx, field, err);
	case DBK_T_ENUM:
		return set_enum(k, text, field, err);
	case DBK_T_WINDOWS:
		return dbk_parse_windows(text, field, err);
	case DBK_T_SCHED_WINDOW: {
		struct dbk_schedule *sch = field;

		if (dbk_parse_windows(text, &sch->window, err) == -1)
			return -1;
		sch->has_window = true;
		return 0;
	}
	default:
		return dbk_err_set(err, DBK_E_INTERNAL, "key type %d takes no text",
		    k->type);
	}
}

/* ---- Lists of strings ---- */

bool dbk_keytab_glob_ok(const char *p, char *why, size_t len)
{
	if (*p == '\0') {
		snprintf(why, len, "empty pattern");
		return false;
	}
	if (strlen(p) > 255) {
		snprintf(why, len, "pattern '%.40s...' is too long", p);
		return false;
	}
	/* "*", "**", "?*": only wildcards, so every name matches. */
	if (strspn(p, "*?") == strlen(p) && strchr(p, '*') != NULL) {
		snprintf(why, len, "pattern '%s' would match every table", p);
		return false;
	}
	for (const char *c = p; *c != '\0'; c++) {
		if (*c == '\\') {
			if (*++c == '\0') {
				snprintf(why, len, "pattern '%s' ends with a lone backslash",
				    p);
				return false;
			}
			continue;
		}
		if (*c != '[')
			continue;
		/* fnmatch reads an unclosed '[' literally: surely a typo. */
		const char *e = c + 1;

		if (*e == '!' || *e == '^')
			e++;
		if (*e == ']')
			e++;
		if ((e = strchr(e, ']')) == NULL) {
			snprintf(why, len, "pattern '%s' has an unclosed '['", p);
			return false;
		}
		c = e;
	}
	return true;
}

static void strv_clear(struct dbk_strv *v)
{
	for (unsigned i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->n = 0;
	v->v = NULL;
}

/* Item errors name the list's line and the item's number: libconfig gives
 * the last item of a multi-line list the line of the closing bracket. */
static int set_strv(const struct dbk_key *k, const config_setting_t *s,
                    const struct dbk_keyctx *ctx, void *base,
                    struct dbk_err *err)
{
	struct dbk_strv *v = (struct dbk_strv *)((char *)base + k->offset);
	int n = config_setting_length(s), rc = -1;
	char *path = key_path(ctx, k->name);
	char why[sizeof err->msg];

	strv_clear(v);
	if (n == 0 && (k->flags & DBK_KEY_NONEMPTY)) {
		dbk_keytab_error(err, s, ctx, "%s must not be empty", path);
		goto out;
	}
	v->v = dbk_xcalloc((size_t)n, sizeof *v->v);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *text = config_setting_get_string(e);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			dbk_keytab_error(err, s, ctx, "%s must be %s; item %d is %s",
			    path, type_expected(k->type), i + 1,
			    dbk_keytab_type_name(config_setting_type(e)));
			goto out;
		}
		if (check_string(k, text, err) == -1) {
			snprintf(why, sizeof why, "%s", err->msg);
			dbk_keytab_error(err, s, ctx, "%s: item %d: %s", path, i + 1, why);
			goto out;
		}
		if (k->type == DBK_T_GLOBS &&
		    !dbk_keytab_glob_ok(text, why, sizeof why)) {
			dbk_keytab_error(err, s, ctx, "%s: item %d: %s", path, i + 1, why);
			goto out;
		}
		v->v[v->n++] = dbk_xstrdup(text);
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/* ---- The walker ---- */

static int apply_group(const struct dbk_key *k, const config_setting_t *s,
                       void *base, const struct dbk_keyctx *ctx,
                       struct dbk_err *err)
{
	struct dbk_keyctx sub = *ctx;
	char *path = key_path(ctx, k->name);
	int rc = 0;

	sub.path = path;
	if (s != NULL) {
		sub.file = config_setting_source_file(s);
		sub.line = (int)config_setting_source_line(s);
	}
	rc = dbk_keytab_apply(k->sub, s, (char *)base + k->offset, &sub, err);
	free(path);
	return rc;
}

static int apply_custom(const struct dbk_key *k, const config_setting_t *s,
                        void *base, const struct dbk_keyctx *ctx,
                        struct dbk_err *err)
{
	struct dbk_keyctx sub = *ctx;
	char *path = key_path(ctx, k->name);
	int rc = 0;

	sub.path = path;
	rc = k->parse(s, base, &sub, err);
	free(path);
	return rc;
}

static int apply_key(const struct dbk_key *k, const config_setting_t *s,
                     void *base, const struct dbk_keyctx *ctx,
                     struct dbk_err *err)
{
	char buf[64];
	char *path = NULL;

	if (s != NULL && k->type != DBK_T_CUSTOM &&
	    !type_fits(k->type, config_setting_type(s))) {
		path = key_path(ctx, k->name);
		dbk_keytab_error(err, s, ctx, "%s must be %s, not %s", path,
		    type_expected(k->type), dbk_keytab_type_name(config_setting_type(s)));
		free(path);
		return -1;
	}
	if (k->type == DBK_T_GROUP)
		return apply_group(k, s, base, ctx, err);
	if (k->type == DBK_T_CUSTOM)
		return apply_custom(k, s, base, ctx, err);
	if (s == NULL && (k->flags & DBK_KEY_REQUIRED)) {
		path = key_path(ctx, k->name);
		dbk_keytab_error(err, NULL, ctx, "missing required setting '%s'",
		    path);
		free(path);
		return -1;
	}
	if (k->type == DBK_T_STRV || k->type == DBK_T_GLOBS)
		return s != NULL ? set_strv(k, s, ctx, base, err) : 0;
	if (s == NULL && k->def == NULL)
		return 0;
	if (set_text(k, s != NULL ? scalar_text(s, buf, sizeof buf) : k->def, ctx,
	             base, err) == -1)
		return value_error(err, s, ctx, k);
	return 0;
}

int dbk_keytab_apply(const struct dbk_key *keys, const config_setting_t *group,
                     void *base, const struct dbk_keyctx *ctx,
                     struct dbk_err *err)
{
	int n = group != NULL ? config_setting_length(group) : 0;
	struct dbk_err spare;

	if (err == NULL) /* messages are built from err->msg */
		err = &spare;
	/* Unknown keys first: a typo must be reported even when a later
	 * key is also wrong, because it may be the one that protects data. */
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);

		if (key_find(keys, config_setting_name(s)) == NULL)
			return unknown_key(keys, s, ctx, err);
	}
	for (const struct dbk_key *k = keys; k->name != NULL; k++) {
		const config_setting_t *s = NULL;

		if (group != NULL)
			s = config_setting_get_member(group, k->name);
		if (apply_key(k, s, base, ctx, err) == -1)
			return -1;
	}
	return 0;
}

void dbk_keytab_free(const struct dbk_key *keys, void *base)
{
	if (base == NULL)
		return;
	for (const struct dbk_key *k = keys; k->name != NULL; k++) {
		void *field = (char *)base + k->offset;

		switch (k->type) {
		case DBK_T_STRING:
		case DBK_T_PATH:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case DBK_T_STRV:
		case DBK_T_GLOBS:
			strv_clear(field);
			break;
		case DBK_T_GROUP:
			dbk_keytab_free(k->sub, field);
			break;
		case DBK_T_CUSTOM:
			if (k->free != NULL)
				k->free(base);
			break;
		default:
			break;
		}
	}
}

/* ---- Reload support ---- */

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool strv_eq(const struct dbk_strv *a, const struct dbk_strv *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* Field by field: struct padding is never compared. */
static bool windows_eq(const struct dbk_windows *a, const struct dbk_windows *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->v[i].days != b->v[i].days ||
		    a->v[i].start_min != b->v[i].start_min ||
		    a->v[i].end_min != b->v[i].end_min)
			return false;
	return true;
}

static bool sched_eq(const struct dbk_schedule *a, const struct dbk_schedule *b)
{
	return a->interval_s == b->interval_s && a->has_window == b->has_window &&
	       windows_eq(&a->window, &b->window);
}

static bool field_eq(const struct dbk_key *k, const void *fa, const void *fb)
{
	switch (k->type) {
	case DBK_T_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case DBK_T_NUMBER:
		return *(const double *)fa == *(const double *)fb;
	case DBK_T_STRING:
	case DBK_T_PATH:
		return str_eq(*(char *const *)fa, *(char *const *)fb);
	case DBK_T_STRV:
	case DBK_T_GLOBS:
		return strv_eq(fa, fb);
	case DBK_T_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case DBK_T_WINDOWS:
		return windows_eq(fa, fb);
	case DBK_T_SCHED_WINDOW:
		return sched_eq(fa, fb);
	default:
		return *(const int64_t *)fa == *(const int64_t *)fb;
	}
}

unsigned dbk_keytab_changed(const struct dbk_key *keys, const void *a,
                            const void *b,
                            void (*fn)(const struct dbk_key *k, void *arg),
                            void *arg)
{
	unsigned n = 0;

	for (const struct dbk_key *k = keys; k->name != NULL; k++) {
		const char *fa = (const char *)a + k->offset;
		const char *fb = (const char *)b + k->offset;

		if (k->type == DBK_T_GROUP) {
			n += dbk_keytab_changed(k->sub, fa, fb, fn, arg);
			continue;
		}
		if (!(k->flags & DBK_KEY_RESTART) || k->type == DBK_T_CUSTOM ||
		    field_eq(k, fa, fb))
			continue;
		if (fn != NULL)
			fn(k, arg);
		n++;
	}
	return n;
}

/* ---- Files ---- */

char *dbk_keytab_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[4096];

	if (slash == path)
		return dbk_xstrdup("/");
	if (path[0] == '/')
		return dbk_xasprintf("%.*s", (int)(slash - path), path);
	if (getcwd(cwd, sizeof cwd) == NULL)
		snprintf(cwd, sizeof cwd, ".");
	if (slash == NULL)
		return dbk_xstrdup(cwd);
	return dbk_xasprintf("%s/%.*s", cwd, (int)(slash - path), path);
}

int dbk_keytab_read(config_t *cf, const char *path, struct dbk_err *err)
{
	struct stat st;
	char *dir = NULL;
	int rc = -1;

	/* libconfig reports only "file I/O error"; stat gives the reason. */
	if (stat(path, &st) == -1)
		return dbk_err_set(err, DBK_E_CONFIG, "%s: cannot read: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return dbk_err_set(err, DBK_E_CONFIG,
		    "%s: cannot read: not a regular file", path);
	dir = dbk_keytab_dirname(path);
	config_set_include_dir(cf, dir);
	if (config_read_file(cf, path) == CONFIG_TRUE)
		rc = 0;
	else if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
		dbk_err_set(err, DBK_E_CONFIG, "%s: cannot read: %s", path,
		    errno != 0 ? strerror(errno) : "I/O error");
	else
		dbk_err_set(err, DBK_E_CONFIG, "%s:%d: %s",
		    config_error_file(cf) != NULL ? config_error_file(cf) : path,
		    config_error_line(cf), config_error_text(cf));
	free(dir);
	return rc;
}
