/* agent/prom.c: writes the latest statistics in the Prometheus text format
 * for node_exporter's textfile collector. It owns the names and labels of
 * the export and the file that merges every target's part; which numbers
 * exist is the drivers' and facts.c's business. */
#include "prom.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util.h"

struct buf {
	char *p;
	size_t len, cap;
};

static void addf(struct buf *b, const char *fmt, ...) DBK_PRINTF(2, 3);
static void addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = dbk_xrealloc(b->p, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *dbk_prom_escape(const char *s)
{
	size_t n = strlen(s ? s : ""), o = 0;
	char *out = dbk_xmalloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '"') {
			out[o++] = '\\';
			out[o++] = s[i];
		} else if (s[i] == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* [a-zA-Z_][a-zA-Z0-9_]*: anything else becomes '_'. */
static char *sanitize(const char *prefix, const char *s)
{
	char *out = dbk_xasprintf("%s%s", prefix, s ? s : "");

	for (char *p = out + strlen(prefix); *p; p++)
		if (!isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)
			*p = '_';
	if (prefix[0] == '\0' && isdigit((unsigned char)out[0]))
		out[0] = '_';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends ,k="v" for each driver label but "query" (statement texts make
 * poor label values), decoding the drivers' percent escapes. */
static void add_labels(struct buf *b, const char *labels)
{
	const char *p = labels;

	while (p != NULL && *p != '\0') {
		const char *eq = strchr(p, '='), *end = NULL;
		char *key = NULL, *raw = NULL, *val = NULL;
		size_t o = 0;

		if (eq == NULL)
			break;
		/* The value ends at the next comma that starts a "k=" segment. */
		end = eq + 1;
		for (;;) {
			const char *c = strchr(end, ','), *e2 = NULL, *c2 = NULL;

			if (c == NULL) {
				end += strlen(end);
				break;
			}
			e2 = strchr(c + 1, '=');
			c2 = strchr(c + 1, ',');
			if (e2 != NULL && (c2 == NULL || e2 < c2)) {
				end = c;
				break;
			}
			end = c + 1;
		}
		key = dbk_xasprintf("%.*s", (int)(eq - p), p);
		raw = dbk_xasprintf("%.*s", (int)(end - eq - 1), eq + 1);
		for (size_t i = 0; raw[i] != '\0'; i++) {
			int hi = 0, lo = 0;

			if (raw[i] == '%' && (hi = hexval(raw[i + 1])) >= 0 &&
			    (lo = hexval(raw[i + 2])) >= 0) {
				raw[o++] = (char)(hi * 16 + lo);
				i += 2;
			} else {
				raw[o++] = raw[i];
			}
		}
		raw[o] = '\0';
		if (strcmp(key, "query") != 0 && strcmp(key, "target") != 0) {
			char *k = sanitize("", key);

			val = dbk_prom_escape(raw);
			addf(b, ",%s=\"%s\"", k, val);
			free(k);
		}
		free(val);
		free(raw);
		free(key);
		p = *end == ',' ? end + 1 : end;
	}
}

static void sample(struct buf *b, const char *name, const char *type,
                   const char *help, const char *target, const char *labels,
                   const char *object, double v)
{
	char *t = dbk_prom_escape(target), *o = NULL;

	addf(b, "%s\t%s\t%s\t%s{target=\"%s\"", name, type, help, name, t);
	if (object != NULL) {
		o = dbk_prom_escape(object);
		addf(b, ",object=\"%s\"", o);
	}
	add_labels(b, labels);
	addf(b, "} %.17g\n", v);
	free(o);
	free(t);
}

char *dbk_prom_part(const char *target, const struct dbk_metric_list *ml,
                    const struct dbk_facts *facts,
                    const struct dbk_lasting_list *open, int64_t now_ms)
{
	struct buf b = { 0 };
	double sev[3] = { 0, 0, 0 };

	addf(&b, "%s", "");
	for (size_t i = 0; ml != NULL && i < ml->n; i++) {
		const struct dbk_metric *m = &ml->v[i];
		bool counter = m->kind == DBK_M_COUNTER;
		char *name = NULL, *full = NULL;

		if (m->name == NULL || !isfinite(m->value))
			continue;
		name = sanitize("dbkeeper_", m->name);
		full = counter ? dbk_xasprintf("%s_total", name) : dbk_xstrdup(name);
		sample(&b, full, counter ? "counter" : "gauge",
		       "as the database reports it", target, m->labels, NULL, m->value);
		free(full);
		free(name);
	}
	for (size_t i = 0; facts != NULL && i < facts->n; i++) {
		const struct dbk_fact *x = &facts->v[i];
		char *name = NULL;

		if (strncmp(x->metric, "metric.", 7) == 0 || !isfinite(x->value))
			continue;
		name = sanitize("dbkeeper_tuning_", x->metric);
		sample(&b, name, "gauge", x->unit && x->unit[0] ? x->unit : "value",
		       target, NULL, x->object, x->value);
		free(name);
	}
	for (size_t i = 0; open != NULL && i < open->n; i++)
		if (open->v[i].open && open->v[i].severity >= 0 && open->v[i].severity < 3)
			sev[open->v[i].severity]++;
	for (int s = 0; s < 3; s++) {
		static const char *const names[] = { "info", "warning", "critical" };
		char *lab = dbk_xasprintf("severity=%s", names[s]);

		sample(&b, "dbkeeper_findings_open", "gauge",
		       "open tuning findings by severity", target, lab, NULL, sev[s]);
		free(lab);
	}
	sample(&b, "dbkeeper_last_collection_timestamp_seconds", "gauge",
	       "when the statistics were collected", target, NULL, NULL,
	       (double)now_ms / 1000.0);
	return b.p;
}

struct line {
	const char *name, *type, *help, *text;
	size_t name_len, type_len, help_len, text_len;
	size_t seq;
};

static int line_cmp(const void *pa, const void *pb)
{
	const struct line *a = pa, *b = pb;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Splits "name\ttype\thelp\ttext" in place of pointers; false if malformed. */
static bool line_parse(const char *s, size_t len, struct line *l)
{
	const char *t1 = memchr(s, '\t', len), *t2 = NULL, *t3 = NULL;

	if (t1 == NULL || (t2 = memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - s))) == NULL ||
	    (t3 = memchr(t2 + 1, '\t', len - (size_t)(t2 + 1 - s))) == NULL)
		return false;
	l->name = s;
	l->name_len = (size_t)(t1 - s);
	l->type = t1 + 1;
	l->type_len = (size_t)(t2 - t1 - 1);
	l->help = t2 + 1;
	l->help_len = (size_t)(t3 - t2 - 1);
	l->text = t3 + 1;
	l->text_len = len - (size_t)(t3 + 1 - s);
	return true;
}

char *dbk_prom_merge(const char *const *parts, unsigned n)
{
	struct line *v = NULL;
	size_t nv = 0, cap = 0;
	struct buf b = { 0 };

	addf(&b, "%s", "");
	for (unsigned i = 0; i < n; i++) {
		const char *p = parts[i];

		while (p != NULL && *p != '\0') {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			struct line l = { 0 };

			if (line_parse(p, len, &l)) {
				if (nv == cap) {
					cap = cap ? cap * 2 : 64;
					v = dbk_xrealloc(v, cap * sizeof *v);
				}
				l.seq = nv;
				v[nv++] = l;
			}
			p = nl ? nl + 1 : p + len;
		}
	}
	if (nv > 1)
		qsort(v, nv, sizeof *v, line_cmp);
	for (size_t i = 0; i < nv; i++) {
		if (i == 0 || v[i].name_len != v[i - 1].name_len ||
		    memcmp(v[i].name, v[i - 1].name, v[i].name_len) != 0)
			addf(&b, "# HELP %.*s %.*s\n# TYPE %.*s %.*s\n",
			     (int)v[i].name_len, v[i].name, (int)v[i].help_len, v[i].help,
			     (int)v[i].name_len, v[i].name, (int)v[i].type_len, v[i].type);
		addf(&b, "%.*s\n", (int)v[i].text_len, v[i].text);
	}
	free(v);
	return b.p;
}

static char *part_name(const char *target)
{
	return dbk_xasprintf("%s.prom.part", target);
}

/* The part files of every configured target (a removed target's stale
 * part is left out), merged and written atomically. */
static int rebuild(const struct dbk_config *cfg, struct dbk_err *err)
{
	char **parts = dbk_xcalloc(cfg->n_targets + 1, sizeof *parts);
	char *text = NULL, *dir = NULL, *slash = NULL;
	struct dbk_err e = { 0 };
	int rc = -1;

	for (unsigned i = 0; i < cfg->n_targets; i++) {
		char *name = part_name(cfg->targets[i].name);
		char *path = dbk_xasprintf("%s/%s", cfg->state_dir, name);

		parts[i] = dbk_read_file(path, 64u * 1024 * 1024, NULL, &e);
		free(path);
		free(name);
	}
	text = dbk_prom_merge((const char *const *)parts, cfg->n_targets);
	dir = dbk_xstrdup(cfg->metrics_file);
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		dbk_err_set(err, DBK_E_CONFIG, "metrics_file %s: not a path", dir);
		goto out;
	}
	*slash = '\0';
	rc = dbk_write_file_atomic(dir[0] ? dir : "/", slash + 1, text,
	                           strlen(text), 0644, err);
out:
	for (unsigned i = 0; i < cfg->n_targets; i++)
		free(parts[i]);
	free(parts);
	free(text);
	free(dir);
	return rc;
}

int dbk_prom_export(const struct dbk_config *cfg, const struct dbk_target *t,
                    const char *part, struct dbk_err *err)
{
	char *name = NULL, *lock = NULL;
	int fd = -1, rc = -1;

	if (cfg->metrics_file == NULL)
		return 0;
	name = part_name(t->name);
	if (dbk_mkdirs(cfg->state_dir, 0750, err) == -1 ||
	    dbk_write_file_atomic(cfg->state_dir, name, part, strlen(part), 0640,
	                          err) == -1)
		goto out;
	/* One writer at a time: the atomic write uses one temporary name
	 * per file, and two workers merging at once could each miss the
	 * other's newest part. */
	lock = dbk_xasprintf("%s/prom.lock", cfg->state_dir);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1) {
		dbk_err_errno(err, "metrics_file lock %s", lock);
		goto out;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			dbk_err_errno(err, "metrics_file lock %s", lock);
			goto out;
		}
	}
	rc = rebuild(cfg, err);
out:
	if (fd != -1)
		close(fd); /* releases the lock */
	free(lock);
	free(name);
	return rc;
}
