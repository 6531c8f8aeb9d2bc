/* agent/rules.h: tuning rules and findings that last. Pure functions:
 * checking a rule from a policy file, evaluating the rules of a target
 * against the facts (agent/facts.h), filling the title and remedy
 * templates, and the state machine that turns conditions seen over time
 * into findings that open once, are counted while they hold, change
 * severity, and resolve. No I/O, no clock. */
#ifndef DBK_RULES_H
#define DBK_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "facts.h"
#include "planner.h"
#include "state.h"

/* Checks what the key table cannot: the metric is a known fact (or
 * "metric.<raw name>"), every {placeholder} in the templates is one the
 * fact fills, at least one threshold is set and they are ordered so that
 * critical is the worst. Returns false with why filled. */
bool dbk_rule_check(const struct dbk_rule *r, char *why, size_t len);

/* The severity value earns under r (enum dbk_severity) and the threshold
 * it crossed, or -1 when no threshold is crossed. */
int dbk_rule_severity(const struct dbk_rule *r, double value, double *threshold);

/* Fills a template: {value} {threshold} (formatted by the fact's unit),
 * {raw} (the plain number), {object}, {severity}, {rule}, {metric},
 * {evidence}, {for}, and the fact's own fields; "{{" is a literal "{".
 * Caller frees. */
char *dbk_rule_expand(const char *tmpl, const struct dbk_rule *r,
                      const struct dbk_fact *f, int severity, double threshold);

/* A value as its unit reads: "93.2%", "1.5 GB", "5m 3s", "2.0x". */
const char *dbk_fact_format(const char *unit, double v, char *buf, size_t len);

/* One rule crossing a threshold on one fact. */
struct dbk_rule_hit {
	const struct dbk_policy *policy;  /* borrowed from the config */
	const struct dbk_rule *rule;      /* borrowed */
	double value, threshold;
	const char *unit;                 /* static */
	struct dbk_finding finding;       /* owned strings; severity set */
	char *key;                        /* lasting key, owned */
};

struct dbk_rule_hits {
	size_t n;
	struct dbk_rule_hit *v;
};

/* Every enabled rule of every policy of t against facts, in policy and
 * rule order. Never NULL. */
struct dbk_rule_hits *dbk_rules_evaluate(const struct dbk_target *t,
                                         const struct dbk_facts *facts);
void dbk_rule_hits_free(struct dbk_rule_hits *h); /* NULL-safe */

/* Is a rule of that name defined (and enabled) in one of t's policies?
 * A planner finding a rule pack covers is left to the rule. */
bool dbk_rules_cover(const struct dbk_target *t, const char *rule);

/* For the lasting machine: was the rule of entry e evaluated with these
 * facts (its policy and rule still exist and the fact's sources were all
 * observed)? A rule that no longer exists counts as evaluated, so its
 * findings resolve. ctx is a struct dbk_rules_scope. */
struct dbk_rules_scope {
	const struct dbk_target *target;
	const struct dbk_facts *facts;
};
bool dbk_rules_evaluated(void *ctx, const struct dbk_lasting *e);

/* "<policy>|<rule>|<object>" with '%', '|' and bytes outside printable
 * ASCII percent-encoded: one key per condition, safe in any file. */
char *dbk_finding_key(const char *policy, const char *rule, const char *object);
/* A stable kind for a planner finding: its title lower-cased, up to a
 * " (", digits as '#', anything else not alphanumeric as '_'
 * ("duplicate index" -> "duplicate_index"). Caller frees. */
char *dbk_finding_kind(const char *title);

/* ---- Findings that last ---- */

/* A condition holding now. Strings are borrowed for the call. */
struct dbk_cond {
	const char *key, *rule, *policy, *category, *object, *title;
	int severity;
	int64_t for_s;       /* must hold this long before it opens */
	int64_t reminder_s;  /* re-report an open finding this often; 0: never */
	const void *ref;     /* the caller's, handed back in events */
};

enum dbk_event_kind {
	DBK_EV_OPEN = 1,     /* held long enough: opened */
	DBK_EV_STILL_OPEN,   /* reminder: still holds */
	DBK_EV_SEVERITY,     /* still holds, at another severity */
	DBK_EV_RESOLVED,     /* no longer holds */
};
const char *dbk_event_status(int kind); /* "open", "still_open", "resolved" */

struct dbk_event {
	int kind;
	int prev_severity;        /* DBK_EV_SEVERITY: the severity before */
	struct dbk_lasting entry; /* deep copy after the step; owned */
	const void *ref;          /* the cond's; NULL when resolved */
};

struct dbk_events {
	size_t n;
	struct dbk_event *v;
};
void dbk_events_clear(struct dbk_events *ev); /* NULL-safe */

typedef bool (*dbk_evaluated_fn)(void *ctx, const struct dbk_lasting *e);

/* One evaluation: updates l in place from the conditions holding now and
 * appends the events to *out. A new condition starts pending; it opens
 * once it has held its for_s (count 1). While open, each evaluation
 * counts it and updates last_seen; a different severity, or reminder_s
 * since it was last reported, gives an event. An entry without a holding
 * condition is dropped (resolved when open), but only when evaluated()
 * says its rule was evaluated this time; otherwise it is kept as it is.
 * evaluated may be NULL (everything was evaluated). */
void dbk_lasting_step(struct dbk_lasting_list *l, const struct dbk_cond *c,
                      size_t n, dbk_evaluated_fn evaluated, void *ctx,
                      int64_t now, struct dbk_events *out);

#endif
