/* agent/cmd_queue.c: `dbkeeper queue list|show|ack|prune`. Parses the
 * subcommand's options, calls agent/queue.c and prints a table or JSON. It
 * holds no queue logic of its own. */
#include "cmd_queue.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"
#include "units.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 3
#define DEFAULT_QUEUE "reports"

/* The severity order of planner.h's enum dbk_severity. */
static const char *const sev_names[] = { "info", "warning", "critical" };

enum opt {
	O_QUEUE = 1 << 0,
	O_TARGET = 1 << 1,
	O_KIND = 1 << 2,
	O_SEVERITY = 1 << 3,
	O_SINCE = 1 << 4,
	O_NEW = 1 << 5,
	O_CUR = 1 << 6,
	O_ALL = 1 << 7,
	O_RETENTION = 1 << 8,
	O_JSON = 1 << 9,
	O_HELP = 1 << 10,
};

static const struct option long_opts[] = {
	{ "queue", required_argument, NULL, O_QUEUE },
	{ "target", required_argument, NULL, O_TARGET },
	{ "kind", required_argument, NULL, O_KIND },
	{ "severity", required_argument, NULL, O_SEVERITY },
	{ "since", required_argument, NULL, O_SINCE },
	{ "new", no_argument, NULL, O_NEW },
	{ "cur", no_argument, NULL, O_CUR },
	{ "all", no_argument, NULL, O_ALL },
	{ "retention", required_argument, NULL, O_RETENTION },
	{ "json", no_argument, NULL, O_JSON },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked for. */
struct qopts {
	unsigned seen;          /* enum opt bits given */
	const char *queue;
	const char *target;
	int kind;
	int severity;
	int64_t since_ms;       /* a duration back from now; 0: none */
	int64_t retention_ms;   /* -1: the configured one */
	bool json;
	int n_args;             /* positional arguments: argv + first_arg */
	char **args;
};

static void usage(FILE *out)
{
	fprintf(out,
	    "usage: dbkeeper queue list [--queue NAME] [--target T] [--kind K]\n"
	    "                           [--severity S] [--since DUR] [--new|--cur|--all]\n"
	    "       dbkeeper queue show [--queue NAME] ID...\n"
	    "       dbkeeper queue ack [--queue NAME] ID...\n"
	    "       dbkeeper queue ack [--queue NAME] --all [--target T]\n"
	    "       dbkeeper queue prune [--queue NAME] [--retention DUR]\n"
	    "kinds: finding, action, metrics, run; severities: info, warning, critical\n"
	    "the default queue is \"" DEFAULT_QUEUE "\"; list shows new and acked records\n");
}

static int usage_error(const char *sub, const char *fmt, ...) DBK_PRINTF(2, 3);

/* Says what is wrong, then how it is used; returns the usage exit code. */
static int usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dbkeeper: queue %s: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	return EXIT_USAGE;
}

static int sev_parse(const char *s)
{
	for (size_t i = 0; i < DBK_NELEM(sev_names); i++)
		if (strcmp(s, sev_names[i]) == 0)
			return (int)i;
	return -1;
}

static int duration_opt(const char *sub, const char *s, int64_t *out)
{
	struct dbk_err err = { 0 };

	if (dbk_parse_duration_ms(s, out, &err) == -1) {
		fprintf(stderr, "dbkeeper: queue %s: %s\n", sub, err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

/* Applies one parsed option; returns 0 or an exit code. */
static int apply_opt(const char *sub, int c, const char *arg, struct qopts *o)
{
	o->seen |= (unsigned)c;
	switch (c) {
	case O_QUEUE: o->queue = arg; break;
	case O_TARGET: o->target = arg; break;
	case O_JSON: o->json = true; break;
	case O_KIND:
		if ((o->kind = dbk_rec_kind_parse(arg)) < 0)
			return usage_error(sub, "unknown kind '%s'", arg);
		break;
	case O_SEVERITY:
		if ((o->severity = sev_parse(arg)) < 0)
			return usage_error(sub, "unknown severity '%s'", arg);
		break;
	case O_SINCE:
		return duration_opt(sub, arg, &o->since_ms);
	case O_RETENTION:
		return duration_opt(sub, arg, &o->retention_ms);
	default:
		break;
	}
	return 0;
}

/* getopt_long over argv (argv[0] is the subcommand), accepting only the
 * options in allowed. Returns 0, or the exit code to stop with. */
static int parse_opts(int argc, char **argv, unsigned allowed, struct qopts *o)
{
	const char *sub = argv[0];
	int c = 0, rc = 0;

	optind = 0; /* GNU: full reinitialisation, argv[0] is not an option */
	opterr = 0; /* our own messages, prefixed "dbkeeper: " */
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		if (c == '?')
			return usage_error(sub, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return usage_error(sub, "option '%s' needs a value", argv[optind - 1]);
		if (c == O_HELP) {
			usage(stdout);
			return -1;
		}
		if (((unsigned)c & allowed) == 0)
			return usage_error(sub, "option '%s' does not apply here",
			                   argv[optind - 1]);
		if ((rc = apply_opt(sub, c, optarg, o)) != 0)
			return rc;
	}
	o->args = argv + optind;
	o->n_args = argc - optind;
	return 0;
}

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "dbkeeper: warning: %s\n", msg);
}

static struct dbk_queue *open_queue(const struct dbk_config *cfg,
                                    const struct qopts *o)
{
	struct dbk_err err = { 0 };
	struct dbk_queue *q = dbk_queue_open(cfg->queue_dir,
	                                     o->queue ? o->queue : DEFAULT_QUEUE, &err);

	if (q == NULL)
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
	return q;
}

/* ---- list ---- */

struct list_ctx {
	bool json;
	unsigned n;
	json_t *rows; /* table output needs every row for the column widths */
};

static int list_one(void *ctx, const char *box, const char *id, json_t *rec)
{
	struct list_ctx *lc = ctx;
	char *s = NULL;

	(void)id;
	json_object_set_new(rec, "box", json_string(box));
	if (!lc->json) {
		json_array_append(lc->rows, rec);
		return 0;
	}
	if ((s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) != NULL)
		printf("%s%s", lc->n++ ? ",\n" : "[\n", s);
	free(s);
	return 0;
}

/* Code points in a UTF-8 string (jansson strings are valid UTF-8). */
static size_t u8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Prints s in a column of width code points: one line, no terminal control
 * characters (a title is data from a database), "..." when cut. */
static void put_cell(const char *s, size_t width, bool last)
{
	size_t len = u8_len(s), keep = len > width && width > 3 ? width - 3 : len;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p != '\0' && n < keep) {
		size_t clen = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;

		for (size_t k = 1; k < clen; k++)
			if (p[k] == '\0')
				clen = k; /* never read past the end */

		if (*p < 0x20 || *p == 0x7f)
			putchar(' ');
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0)
			putchar('?'); /* C1 controls: some terminals obey them */
		else
			fwrite(p, 1, clen, stdout);
		p += clen;
		n++;
	}
	if (keep < len)
		fputs("...", stdout);
	if (!last)
		printf("%*s", (int)(width - (keep < len ? keep + 3 : keep) + 2), "");
}

static const char *str_field(json_t *rec, const char *a, const char *b)
{
	const char *s = json_string_value(json_object_get(rec, a));

	if (s == NULL && b != NULL)
		s = json_string_value(json_object_get(rec, b));
	return s != NULL ? s : "-";
}

/* What a person scans the list for: an action's outcome, a run's status,
 * a finding's severity. */
static const char *status_of(json_t *rec)
{
	const char *kind = str_field(rec, "kind", NULL);

	if (strcmp(kind, "action") == 0)
		return str_field(rec, "outcome", "severity");
	if (strcmp(kind, "run") == 0)
		return str_field(rec, "status", "severity");
	return str_field(rec, "severity", NULL);
}

static void print_row(const char *const cells[7], const size_t widths[7])
{
	for (int i = 0; i < 7; i++)
		put_cell(cells[i], widths[i], i == 6);
	putchar('\n');
}

static void print_table(json_t *rows)
{
	static const char *const head[7] = { "ID", "TIME (UTC)", "BOX", "TARGET",
	                                     "KIND", "STATUS", "TITLE" };
	size_t widths[7] = { 2, 19, 3, 6, 7, 8, 60 };
	json_t *rec = NULL;
	size_t i = 0;

	json_array_foreach(rows, i, rec) {
		size_t id = u8_len(str_field(rec, "id", NULL));
		size_t tg = u8_len(str_field(rec, "target", NULL));

		widths[0] = id > widths[0] ? id : widths[0];
		widths[3] = tg > widths[3] ? (tg < 24 ? tg : 24) : widths[3];
	}
	print_row(head, widths);
	json_array_foreach(rows, i, rec) {
		time_t t = (time_t)(json_integer_value(json_object_get(rec, "time_ms")) / 1000);
		struct tm tm;
		char when[32] = "-";
		const char *cells[7];

		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		cells[0] = str_field(rec, "id", NULL);
		cells[1] = when;
		cells[2] = str_field(rec, "box", NULL);
		cells[3] = str_field(rec, "target", NULL);
		cells[4] = str_field(rec, "kind", NULL);
		cells[5] = status_of(rec);
		cells[6] = str_field(rec, "title", "statement");
		print_row(cells, widths);
	}
}

static int cmd_list(const struct dbk_config *cfg, struct qopts *o)
{
	struct dbk_queue_filter f;
	struct list_ctx lc = { .json = o->json, .rows = NULL };
	struct dbk_err err = { 0 };
	struct dbk_queue *q = NULL;
	int rc = EXIT_RUNTIME;

	if (o->n_args > 0)
		return usage_error("list", "unexpected argument '%s'", o->args[0]);
	lc.rows = json_array();
	dbk_queue_filter_init(&f);
	f.include_new = (o->seen & (O_NEW | O_CUR)) == 0 || (o->seen & (O_NEW | O_ALL));
	f.include_cur = (o->seen & (O_NEW | O_CUR)) == 0 || (o->seen & (O_CUR | O_ALL));
	f.target = o->target;
	f.kind = o->kind;
	f.min_severity = o->severity;
	f.since_ms = o->since_ms > 0 ? dbk_now_ms() - o->since_ms : 0;
	if ((q = open_queue(cfg, o)) == NULL)
		goto out;
	if (dbk_queue_scan(q, &f, list_one, warn_stderr, &lc, &err) == -1) {
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
		goto out;
	}
	if (o->json)
		printf("%s]\n", lc.n ? "\n" : "[");
	else
		print_table(lc.rows);
	rc = 0;
out:
	dbk_queue_close(q);
	json_decref(lc.rows);
	return rc;
}

/* ---- show ---- */

static int cmd_show(const struct dbk_config *cfg, struct qopts *o)
{
	struct dbk_queue *q = NULL;
	unsigned shown = 0;
	int rc = 0;

	if (o->n_args == 0)
		return usage_error("show", "which record? give one or more IDs");
	if ((q = open_queue(cfg, o)) == NULL)
		return EXIT_RUNTIME;
	for (int i = 0; i < o->n_args; i++) {
		struct dbk_err err = { 0 };
		const char *box = NULL;
		json_t *rec = dbk_queue_get(q, o->args[i], &box, &err);
		char *s = NULL;

		if (rec == NULL) {
			fprintf(stderr, "dbkeeper: %s\n", err.msg);
			rc = EXIT_RUNTIME;
			continue;
		}
		if (o->json)
			json_object_set_new(rec, "box", json_string(box));
		s = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (o->json)
			printf("%s%s", shown++ ? ",\n" : "[\n", s ? s : "null");
		else
			printf("%s\n", s ? s : "null");
		free(s);
		json_decref(rec);
	}
	if (o->json)
		printf("%s]\n", shown ? "\n" : "[");
	dbk_queue_close(q);
	return rc;
}

/* ---- ack ---- */

struct ack_ctx {
	struct dbk_queue *q;
	unsigned acked;
	int rc;
};

static void ack_one(struct ack_ctx *ac, const char *id)
{
	struct dbk_err err = { 0 };

	if (dbk_queue_ack(ac->q, id, &err) == -1) {
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
		ac->rc = EXIT_RUNTIME;
		return;
	}
	ac->acked++;
}

static int ack_scanned(void *ctx, const char *box, const char *id, json_t *rec)
{
	(void)box;
	(void)rec;
	ack_one(ctx, id);
	return 0;
}

static int cmd_ack(const struct dbk_config *cfg, struct qopts *o)
{
	struct ack_ctx ac = { 0 };
	struct dbk_queue_filter f;
	struct dbk_err err = { 0 };
	bool all = (o->seen & O_ALL) != 0;

	if (all == (o->n_args > 0))
		return usage_error("ack", "give IDs or --all (one of them)");
	if ((o->seen & O_TARGET) && !all)
		return usage_error("ack", "--target only goes with --all");
	if ((ac.q = open_queue(cfg, o)) == NULL)
		return EXIT_RUNTIME;
	dbk_queue_filter_init(&f);
	f.include_cur = false;
	f.target = o->target;
	if (all && dbk_queue_scan(ac.q, &f, ack_scanned, warn_stderr, &ac, &err) == -1) {
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
		ac.rc = EXIT_RUNTIME;
	}
	for (int i = 0; i < o->n_args; i++)
		ack_one(&ac, o->args[i]);
	if (o->json)
		printf("{\"acked\": %u}\n", ac.acked);
	else
		printf("acked %u record%s\n", ac.acked, ac.acked == 1 ? "" : "s");
	dbk_queue_close(ac.q);
	return ac.rc;
}

/* ---- prune ---- */

static int cmd_prune(const struct dbk_config *cfg, struct qopts *o)
{
	struct dbk_err err = { 0 };
	struct dbk_queue *q = NULL;
	int64_t keep = o->retention_ms >= 0 ? o->retention_ms : cfg->retention_s * 1000;
	unsigned removed = 0;
	int rc = EXIT_RUNTIME;

	if (o->n_args > 0)
		return usage_error("prune", "unexpected argument '%s'", o->args[0]);
	if ((q = open_queue(cfg, o)) == NULL)
		return EXIT_RUNTIME;
	if (dbk_queue_prune(q, dbk_now_ms(), keep, &removed, &err) == -1) {
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
		goto out;
	}
	if (o->json)
		printf("{\"removed\": %u}\n", removed);
	else
		printf("removed %u record%s\n", removed, removed == 1 ? "" : "s");
	rc = 0;
out:
	dbk_queue_close(q);
	return rc;
}

static const struct {
	const char *name;
	unsigned allowed;
	int (*run)(const struct dbk_config *cfg, struct qopts *o);
} subcommands[] = {
	{ "list", O_QUEUE | O_TARGET | O_KIND | O_SEVERITY | O_SINCE | O_NEW |
	          O_CUR | O_ALL | O_JSON, cmd_list },
	{ "show", O_QUEUE | O_JSON, cmd_show },
	{ "ack", O_QUEUE | O_TARGET | O_ALL | O_JSON, cmd_ack },
	{ "prune", O_QUEUE | O_RETENTION | O_JSON, cmd_prune },
};

int dbk_cmd_queue(const struct dbk_config *cfg, int argc, char **argv,
                  bool json)
{
	struct qopts o = { .kind = -1, .severity = -1, .retention_ms = -1,
	                   .json = json };
	int rc = 0;

	if (argc < 1 || argv[0] == NULL) {
		fprintf(stderr, "dbkeeper: queue: which subcommand?\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < DBK_NELEM(subcommands); i++) {
		if (strcmp(argv[0], subcommands[i].name) != 0)
			continue;
		if ((rc = parse_opts(argc, argv, subcommands[i].allowed | O_HELP, &o)) != 0)
			return rc == -1 ? 0 : rc;
		rc = subcommands[i].run(cfg, &o);
		if (fflush(stdout) == EOF && rc == 0) {
			perror("dbkeeper: write output");
			rc = EXIT_RUNTIME;
		}
		return rc;
	}
	fprintf(stderr, "dbkeeper: queue: unknown subcommand '%s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
