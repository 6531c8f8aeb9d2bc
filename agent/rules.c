/* agent/rules.c: evaluates the tuning rules of policy files against the
 * facts of one observation, fills their templates, and runs the state
 * machine that makes findings last: one open finding per condition,
 * counted while it holds, resolved when it clears. Pure: the caller loads
 * and saves the entries and writes the records. */
#include "rules.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Checking a rule ---- */

static const char *const common_fields[] = {
	"value", "raw", "threshold", "object", "severity", "rule", "metric",
	"evidence", "for", NULL,
};

static bool word_in(const char *list, const char *w, size_t n)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncmp(p, w, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

static bool field_known(const struct dbk_fact_def *d, const char *w, size_t n)
{
	for (const char *const *c = common_fields; *c != NULL; c++)
		if (strlen(*c) == n && strncmp(*c, w, n) == 0)
			return true;
	return word_in(d->fields, w, n);
}

/* Every "{name}" of tmpl must be a field the fact fills. */
static bool template_ok(const char *tmpl, const struct dbk_fact_def *d,
                        const char *what, char *why, size_t len)
{
	for (const char *p = tmpl; p != NULL && *p != '\0'; p++) {
		const char *end = NULL;

		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		if ((end = strchr(p, '}')) == NULL) {
			snprintf(why, len, "%s: '{' without '}' (write '{{' for a brace)",
			         what);
			return false;
		}
		if (!field_known(d, p + 1, (size_t)(end - p - 1))) {
			char list[400];
			size_t o = 0;

			/* "a b" -> "{a} {b}": the fact's own placeholders. */
			for (const char *f = d->fields; *f != '\0' && o + 4 < sizeof list; f++) {
				if (o == 0 || *f == ' ')
					list[o++] = *f == ' ' ? '}' : '{';
				if (*f == ' ') {
					list[o++] = ' ';
					list[o++] = '{';
				} else {
					list[o++] = *f;
				}
			}
			if (o > 0)
				list[o++] = '}';
			list[o] = '\0';
			snprintf(why, len, "%s: unknown placeholder {%.*s}; %s gives "
			         "{value} {threshold} {object} {raw} {severity} {rule} "
			         "{metric} {evidence} {for} %s", what, (int)(end - p - 1),
			         p + 1, d->name, list);
			return false;
		}
		p = end;
	}
	return true;
}

/* "Worse" is lower for < and <=, higher for > and >=. */
static bool worse_or_equal(int op, double worse, double better)
{
	if (op == DBK_OP_LT || op == DBK_OP_LE)
		return worse <= better;
	if (op == DBK_OP_GT || op == DBK_OP_GE)
		return worse >= better;
	return true;
}

bool dbk_rule_check(const struct dbk_rule *r, char *why, size_t len)
{
	static const char *const lvl[] = { "info", "warning", "critical" };
	const struct dbk_fact_def *d = dbk_fact_def_find(r->metric);
	int set = 0, prev = -1;

	if (d == NULL) {
		snprintf(why, len, "unknown metric '%s' (a fact such as "
		         "cache_hit_ratio, or metric.<driver metric name>)",
		         r->metric ? r->metric : "");
		return false;
	}
	for (int i = 0; i < 3; i++) {
		if (isnan(r->threshold[i]))
			continue;
		set++;
		if (prev >= 0 && !worse_or_equal(r->op, r->threshold[i],
		                                 r->threshold[prev])) {
			snprintf(why, len, "%s threshold %g is milder than %s %g for "
			         "operator %s; critical must be the worst", lvl[i],
			         r->threshold[i], lvl[prev], r->threshold[prev],
			         r->op == DBK_OP_LT || r->op == DBK_OP_LE ? "< (lower is "
			         "worse)" : "> (higher is worse)");
			return false;
		}
		prev = i;
	}
	if (set == 0) {
		snprintf(why, len, "set at least one of info, warning, critical");
		return false;
	}
	return template_ok(r->title, d, "title", why, len) &&
	       template_ok(r->recommendation, d, "recommendation", why, len);
}

/* ---- Severity ---- */

static bool compare(int op, double v, double t)
{
	switch (op) {
	case DBK_OP_LT: return v < t;
	case DBK_OP_LE: return v <= t;
	case DBK_OP_GT: return v > t;
	case DBK_OP_GE: return v >= t;
	case DBK_OP_EQ: return fabs(v - t) <= 1e-9 * (fabs(t) + 1);
	case DBK_OP_NE: return fabs(v - t) > 1e-9 * (fabs(t) + 1);
	}
	return false;
}

int dbk_rule_severity(const struct dbk_rule *r, double value, double *threshold)
{
	if (!isfinite(value) && !isinf(value))
		return -1; /* NaN: nothing measured */
	for (int s = DBK_SEV_CRITICAL; s >= DBK_SEV_INFO; s--) {
		if (isnan(r->threshold[s]) || !compare(r->op, value, r->threshold[s]))
			continue;
		if (threshold != NULL)
			*threshold = r->threshold[s];
		return s;
	}
	return -1;
}

/* ---- Templates ---- */

const char *dbk_fact_format(const char *unit, double v, char *buf, size_t len)
{
	int64_t s = 0;

	if (unit == NULL)
		unit = "";
	if (isinf(v)) {
		snprintf(buf, len, "%s", v > 0 ? "unlimited" : "-unlimited");
	} else if (strcmp(unit, "ratio") == 0) {
		snprintf(buf, len, "%.1f%%", 100.0 * v);
	} else if (strcmp(unit, "bytes") == 0 || strcmp(unit, "bytes_per_s") == 0) {
		dbk_fmt_bytes(v >= 0 && v < 9e18 ? (int64_t)v : -1, buf, len);
		if (unit[5] == '_')
			strncat(buf, "/s", len - strlen(buf) - 1);
	} else if (strcmp(unit, "s") == 0) {
		s = v > 0 ? (int64_t)(v + 0.5) : 0;
		if (s < 60)
			snprintf(buf, len, "%" PRId64 "s", s);
		else if (s < 3600)
			snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
		else if (s < 86400)
			snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
		else
			snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400,
			         s % 86400 / 3600);
	} else if (strcmp(unit, "days") == 0) {
		snprintf(buf, len, "%.1f days", v);
	} else if (strcmp(unit, "factor") == 0) {
		snprintf(buf, len, "%.1fx", v);
	} else if (strcmp(unit, "per_s") == 0) {
		snprintf(buf, len, "%.3g/s", v);
	} else if (strcmp(unit, "count") == 0 && v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, len, "%.0f", v);
	} else {
		snprintf(buf, len, "%g", v);
	}
	return buf;
}

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = dbk_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static const char *placeholder(const char *name, size_t n,
                               const struct dbk_rule *r, const struct dbk_fact *f,
                               int sev, double thr, char *buf, size_t len)
{
	char key[64];
	const char *v = NULL;

	snprintf(key, sizeof key, "%.*s", (int)(n < 63 ? n : 63), name);
	if (strcmp(key, "value") == 0)
		return dbk_fact_format(f->unit, f->value, buf, len);
	if (strcmp(key, "threshold") == 0)
		return dbk_fact_format(f->unit, thr, buf, len);
	if (strcmp(key, "raw") == 0) {
		snprintf(buf, len, "%g", f->value);
		return buf;
	}
	if (strcmp(key, "object") == 0)
		return f->object ? f->object : "(server)";
	if (strcmp(key, "severity") == 0)
		return dbk_severity_name(sev);
	if (strcmp(key, "rule") == 0)
		return r->name;
	if (strcmp(key, "metric") == 0)
		return f->metric;
	if (strcmp(key, "evidence") == 0)
		return f->evidence;
	if (strcmp(key, "for") == 0)
		return dbk_fact_format("s", (double)r->for_s, buf, len);
	v = dbk_fact_field(f, key);
	return v != NULL ? v : "?";
}

char *dbk_rule_expand(const char *tmpl, const struct dbk_rule *r,
                      const struct dbk_fact *f, int severity, double threshold)
{
	struct sb b = { 0 };
	char buf[64];

	sb_str(&b, "");
	for (const char *p = tmpl ? tmpl : ""; *p != '\0'; p++) {
		const char *end = NULL;

		if (*p == '{' && p[1] == '{') {
			sb_put(&b, "{", 1);
			p++;
		} else if (*p == '{' && (end = strchr(p, '}')) != NULL) {
			sb_str(&b, placeholder(p + 1, (size_t)(end - p - 1), r, f, severity,
			                       threshold, buf, sizeof buf));
			p = end;
		} else {
			sb_put(&b, p, 1);
		}
	}
	return b.p;
}

/* ---- Keys ---- */

static void key_part(struct sb *b, const char *s)
{
	char hex[4];

	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p < 0x21 || *p > 0x7e || *p == '%' || *p == '|') {
			snprintf(hex, sizeof hex, "%%%02X", *p);
			sb_str(b, hex);
		} else {
			sb_put(b, (const char *)p, 1);
		}
	}
}

char *dbk_finding_key(const char *policy, const char *rule, const char *object)
{
	struct sb b = { 0 };

	/* Never empty and never starting with '%', so the state stores it as
	 * it is. */
	sb_str(&b, "k:");
	key_part(&b, policy ? policy : "-");
	sb_str(&b, "|");
	key_part(&b, rule);
	sb_str(&b, "|");
	key_part(&b, object);
	return b.p;
}

char *dbk_finding_kind(const char *title)
{
	const char *end = strstr(title ? title : "", " (");
	size_t n = end ? (size_t)(end - title) : strlen(title ? title : "");
	char *out = dbk_xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)title[i];

		out[i] = isdigit(ch) ? '#' : isalnum(ch) && ch < 0x80 ?
		         (char)tolower(ch) : '_';
	}
	out[n] = '\0';
	return out;
}

/* ---- Evaluation ---- */

static void hits_push(struct dbk_rule_hits *h, size_t *cap,
                      const struct dbk_rule_hit *x)
{
	if (h->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		h->v = dbk_xrealloc(h->v, *cap * sizeof *h->v);
	}
	h->v[h->n++] = *x;
}

static char *evidence_of(const struct dbk_rule *r, const struct dbk_fact *f,
                         int sev, double thr)
{
	static const char *const ops[] = { "<", "<=", ">", ">=", "==", "!=" };
	char v[64], t[64];

	dbk_fact_format(f->unit, f->value, v, sizeof v);
	dbk_fact_format(f->unit, thr, t, sizeof t);
	return dbk_xasprintf("%s%s%s %s %s %s (%s threshold of rule %s)",
	    f->evidence, f->evidence[0] ? "; " : "", r->metric, v, ops[r->op], t,
	    dbk_severity_name(sev), r->name);
}

static void rule_eval(const struct dbk_policy *p, const struct dbk_rule *r,
                      const struct dbk_facts *facts, struct dbk_rule_hits *h,
                      size_t *cap)
{
	for (size_t i = 0; i < facts->n; i++) {
		const struct dbk_fact *f = &facts->v[i];
		struct dbk_rule_hit x = { 0 };
		double thr = 0;
		int sev = 0;
		const char *remedy = NULL;

		if (strcmp(f->metric, r->metric) != 0 ||
		    (sev = dbk_rule_severity(r, f->value, &thr)) < 0)
			continue;
		x.policy = p;
		x.rule = r;
		x.value = f->value;
		x.threshold = thr;
		x.unit = f->unit;
		x.finding.policy = p;
		x.finding.category = dbk_xstrdup(r->category ? r->category : "tuning");
		x.finding.severity = sev;
		x.finding.object = dbk_xstrdup(f->object);
		x.finding.title = r->title ? dbk_rule_expand(r->title, r, f, sev, thr)
		                           : dbk_xasprintf("%s%s%s", r->name,
		                                 f->object ? ": " : "",
		                                 f->object ? f->object : "");
		x.finding.evidence = evidence_of(r, f, sev, thr);
		remedy = dbk_fact_field(f, "remedy");
		x.finding.recommendation = r->recommendation ?
		    dbk_rule_expand(r->recommendation, r, f, sev, thr) :
		    remedy ? dbk_xstrdup(remedy) : NULL;
		x.key = dbk_finding_key(p->name, r->name, f->object);
		hits_push(h, cap, &x);
	}
}

struct dbk_rule_hits *dbk_rules_evaluate(const struct dbk_target *t,
                                         const struct dbk_facts *facts)
{
	struct dbk_rule_hits *h = dbk_xcalloc(1, sizeof *h);
	size_t cap = 0;

	for (unsigned i = 0; t != NULL && facts != NULL && i < t->n_policies; i++) {
		const struct dbk_policy *p = t->policies[i];

		for (unsigned k = 0; k < p->rules.n; k++)
			if (p->rules.v[k].enabled)
				rule_eval(p, &p->rules.v[k], facts, h, &cap);
	}
	return h;
}

void dbk_rule_hits_free(struct dbk_rule_hits *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n; i++) {
		struct dbk_finding *f = &h->v[i].finding;

		free(f->category);
		free(f->object);
		free(f->title);
		free(f->evidence);
		free(f->recommendation);
		free(h->v[i].key);
	}
	free(h->v);
	free(h);
}

static const struct dbk_rule *rule_find(const struct dbk_target *t,
                                        const char *policy, const char *rule)
{
	for (unsigned i = 0; t != NULL && i < t->n_policies; i++) {
		const struct dbk_policy *p = t->policies[i];

		if (policy != NULL && strcmp(p->name, policy) != 0)
			continue;
		for (unsigned k = 0; k < p->rules.n; k++)
			if (p->rules.v[k].enabled && strcmp(p->rules.v[k].name, rule) == 0)
				return &p->rules.v[k];
	}
	return NULL;
}

bool dbk_rules_cover(const struct dbk_target *t, const char *rule)
{
	return rule != NULL && rule_find(t, NULL, rule) != NULL;
}

bool dbk_rules_evaluated(void *ctx, const struct dbk_lasting *e)
{
	const struct dbk_rules_scope *sc = ctx;
	const struct dbk_rule *r = rule_find(sc->target, e->policy, e->rule);
	const struct dbk_fact_def *d = r ? dbk_fact_def_find(r->metric) : NULL;

	if (d == NULL)
		return true; /* the rule is gone: its findings resolve */
	return (sc->facts->sources & d->sources) == d->sources;
}

/* ---- Findings that last ---- */

const char *dbk_event_status(int kind)
{
	switch (kind) {
	case DBK_EV_OPEN: return "open";
	case DBK_EV_STILL_OPEN:
	case DBK_EV_SEVERITY: return "still_open";
	case DBK_EV_RESOLVED: return "resolved";
	}
	return "?";
}

static void lasting_copy(struct dbk_lasting *dst, const struct dbk_lasting *src)
{
	*dst = *src;
	dst->key = dbk_xstrdup(src->key);
	dst->rule = dbk_xstrdup(src->rule);
	dst->policy = dbk_xstrdup(src->policy);
	dst->category = dbk_xstrdup(src->category);
	dst->object = dbk_xstrdup(src->object);
	dst->title = dbk_xstrdup(src->title);
}

static void lasting_free(struct dbk_lasting *e)
{
	free(e->key);
	free(e->rule);
	free(e->policy);
	free(e->category);
	free(e->object);
	free(e->title);
	*e = (struct dbk_lasting){ 0 };
}

static void event_add(struct dbk_events *out, int kind, int prev,
                      const struct dbk_lasting *e, const void *ref)
{
	struct dbk_event *ev = NULL;

	out->v = dbk_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
	ev = &out->v[out->n++];
	ev->kind = kind;
	ev->prev_severity = prev;
	lasting_copy(&ev->entry, e);
	ev->ref = ref;
}

void dbk_events_clear(struct dbk_events *ev)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->n; i++)
		lasting_free(&ev->v[i].entry);
	free(ev->v);
	ev->v = NULL;
	ev->n = 0;
}

static void set_str(char **dst, const char *src)
{
	if (*dst != NULL && src != NULL && strcmp(*dst, src) == 0)
		return;
	free(*dst);
	*dst = dbk_xstrdup(src);
}

/* One holding condition against its entry (e->key already set). */
static void step_one(struct dbk_lasting *e, const struct dbk_cond *c,
                     int64_t now, struct dbk_events *out)
{
	int prev = e->severity;

	set_str(&e->rule, c->rule);
	set_str(&e->policy, c->policy);
	set_str(&e->category, c->category);
	set_str(&e->object, c->object);
	if (!e->open) {
		if (now - e->since < c->for_s)
			return; /* pending: not yet held long enough */
		e->open = true;
		e->first_seen = e->last_seen = e->reported = now;
		e->count = 1;
		e->severity = c->severity;
		set_str(&e->title, c->title);
		event_add(out, DBK_EV_OPEN, prev, e, c->ref);
		return;
	}
	e->count++;
	e->last_seen = now;
	set_str(&e->title, c->title);
	if (c->severity != e->severity) {
		e->severity = c->severity;
		e->reported = now;
		event_add(out, DBK_EV_SEVERITY, prev, e, c->ref);
	} else if (c->reminder_s > 0 && now - e->reported >= c->reminder_s) {
		e->reported = now;
		event_add(out, DBK_EV_STILL_OPEN, prev, e, c->ref);
	}
}

void dbk_lasting_step(struct dbk_lasting_list *l, const struct dbk_cond *c,
                      size_t n, dbk_evaluated_fn evaluated, void *ctx,
                      int64_t now, struct dbk_events *out)
{
	bool *held = dbk_xcalloc(l->n + n + 1, sizeof *held);
	size_t keep = 0;

	for (size_t i = 0; i < n; i++) {
		struct dbk_lasting *e = NULL;

		for (size_t k = 0; k < l->n && e == NULL; k++)
			if (strcmp(l->v[k].key, c[i].key) == 0)
				e = &l->v[k];
		if (e == NULL) {
			l->v = dbk_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
			e = &l->v[l->n++];
			*e = (struct dbk_lasting){ 0 };
			e->key = dbk_xstrdup(c[i].key);
			e->since = now;
			e->severity = c[i].severity;
		}
		/* Two conditions with one key (two policies naming the same
		 * finding) count once per evaluation. */
		if (held[e - l->v])
			continue;
		held[e - l->v] = true;
		step_one(e, &c[i], now, out);
	}
	for (size_t k = 0; k < l->n; k++) {
		struct dbk_lasting *e = &l->v[k];

		if (!held[k] && (evaluated == NULL || evaluated(ctx, e))) {
			if (e->open) {
				e->last_seen = e->last_seen ? e->last_seen : now;
				event_add(out, DBK_EV_RESOLVED, e->severity, e, NULL);
			}
			lasting_free(e);
			continue;
		}
		l->v[keep++] = *e;
	}
	l->n = keep;
	free(held);
}
