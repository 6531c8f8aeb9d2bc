/* agent/cmd_summary.c: `dbkeeper summary`. Parses the options into a
 * period, a target filter, a format and an output, runs dbk_summary_build
 * over the queue and writes the rendering. It holds no summary logic. */
#include "cmd_summary.h"

#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "summary.h"
#include "units.h"

#define EXIT_USAGE    2
#define EXIT_RUNTIME  3
#define DEFAULT_QUEUE "reports"
#define DEFAULT_SINCE "7d"
#define OUTPUT_MODE   0644 /* a report is for reading; umask still applies */

enum fmt { FMT_MD = 0, FMT_HTML, FMT_JSON };

enum opt {
	O_SINCE = 1,
	O_FROM,
	O_TO,
	O_PERIOD,
	O_TARGET,
	O_FORMAT,
	O_QUEUE,
	O_OUTPUT = 'o',
	O_HELP = 'h',
};

static const struct option long_opts[] = {
        {"since", required_argument, NULL, O_SINCE},
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"period", required_argument, NULL, O_PERIOD},
        {"target", required_argument, NULL, O_TARGET},
        {"format", required_argument, NULL, O_FORMAT},
        {"queue", required_argument, NULL, O_QUEUE},
        {"output", required_argument, NULL, O_OUTPUT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
};

struct sopts {
	const char *since, *from, *to, *period, *target, *format, *queue,
	        *output;
	int fmt;
};

/* clang-format off */
static const char usage_text[] =
	"usage: dbkeeper summary [--since DUR | --from DATE [--to DATE] |\n"
	"                         --period week|month] [--target T]\n"
	"                         [--format md|html|json] [-o FILE] [--queue NAME]\n"
	"The operations summary of a period from the report queue (new and\n"
	"acknowledged records). The default period is --since " DEFAULT_SINCE "; DATE\n"
	"is YYYY-MM-DD in local time, --to inclusive; --period means the last\n"
	"full ISO week (Monday to Sunday) or calendar month. The default format\n"
	"is md; --json means --format json. -o writes FILE atomically instead of\n"
	"stdout.\n";
/* clang-format on */

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

static int usage_error(const char *fmt, ...) DBK_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dbkeeper: summary: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'dbkeeper summary --help'.\n", stderr);
	return EXIT_USAGE;
}

static void apply(int c, const char *arg, struct sopts *o)
{
	switch (c) {
	case O_SINCE:
		o->since = arg;
		break;
	case O_FROM:
		o->from = arg;
		break;
	case O_TO:
		o->to = arg;
		break;
	case O_PERIOD:
		o->period = arg;
		break;
	case O_TARGET:
		o->target = arg;
		break;
	case O_FORMAT:
		o->format = arg;
		break;
	case O_QUEUE:
		o->queue = arg;
		break;
	case O_OUTPUT:
		o->output = arg;
		break;
	default:
		break;
	}
}

/* Returns 0, -1 after --help, or the exit code of a usage error. */
static int parse(int argc, char **argv, bool json, struct sopts *o)
{
	int c = 0;

	optind = 0; /* GNU: full reinitialisation, argv[0] is not an option */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", long_opts, NULL)) != -1) {
		if (c == '?')
			return usage_error("unknown option '%s'",
			                   argv[optind - 1]);
		if (c == ':')
			return usage_error("option '%s' needs a value",
			                   argv[optind - 1]);
		if (c == O_HELP) {
			usage(stdout);
			return -1;
		}
		apply(c, optarg, o);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->format == NULL || strcmp(o->format, "md") == 0)
		o->fmt = json ? FMT_JSON : FMT_MD;
	else if (strcmp(o->format, "html") == 0)
		o->fmt = FMT_HTML;
	else if (strcmp(o->format, "json") == 0)
		o->fmt = FMT_JSON;
	else
		return usage_error("--format '%s': expected md, html or json",
		                   o->format);
	if (json && o->fmt != FMT_JSON)
		return usage_error(
		        "--json and --format %s contradict each other",
		        o->format);
	if ((o->since != NULL) + (o->from != NULL || o->to != NULL) +
	            (o->period != NULL) >
	    1)
		return usage_error(
		        "give one period: --since, --from/--to or --period");
	if (o->to != NULL && o->from == NULL)
		return usage_error("--to needs --from");
	return 0;
}

static int period(const struct sopts *o, int64_t now_ms,
                  struct dbk_sum_period *p)
{
	struct dbk_err err = {0};
	int64_t dur = 0;
	int rc = 0;

	if (o->from != NULL)
		rc = dbk_sum_period_dates(o->from, o->to, now_ms, p, &err);
	else if (o->period != NULL)
		rc = dbk_sum_period_last(o->period, now_ms, p, &err);
	else if ((rc = dbk_parse_duration_ms(
	                  o->since ? o->since : DEFAULT_SINCE, &dur, &err)) ==
	         0)
		rc = dbk_sum_period_since(now_ms, dur, p, &err);
	else
		return usage_error("--since: %s", err.msg);
	return rc == 0 ? 0 : usage_error("%s", err.msg);
}

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "dbkeeper: warning: %s\n", msg);
}

static char *render(const struct dbk_summary *s, int fmt)
{
	switch (fmt) {
	case FMT_HTML:
		return dbk_summary_render_html(s);
	case FMT_JSON:
		return dbk_summary_render_json(s);
	default:
		return dbk_summary_render_md(s);
	}
}

/* stdout, or FILE via a temporary file renamed over it, so a reader (a
 * web server, a mail job) never sees half a report. */
static int output(const char *path, const char *text)
{
	struct dbk_err err = {0};
	char *d = NULL, *b = NULL;
	int rc = 0;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
			perror("dbkeeper: write output");
			return EXIT_RUNTIME;
		}
		return 0;
	}
	d = dbk_xstrdup(path);
	b = dbk_xstrdup(path);
	if (dbk_write_file_atomic(dirname(d), basename(b), text, strlen(text),
	                          OUTPUT_MODE, &err) == -1) {
		fprintf(stderr, "dbkeeper: summary: %s\n", err.msg);
		rc = EXIT_RUNTIME;
	}
	free(d);
	free(b);
	return rc;
}

/* The configured target names, the ones expected to report. */
static const char **configured(const struct dbk_config *cfg)
{
	const char **v = dbk_xcalloc(cfg->n_targets + 1, sizeof *v);

	for (unsigned i = 0; i < cfg->n_targets; i++)
		v[i] = cfg->targets[i].name;
	return v;
}

int dbk_cmd_summary_at(const struct dbk_config *cfg, int argc, char **argv,
                       bool json, int64_t now_ms)
{
	struct sopts o = {0};
	struct dbk_summary_opts so = {0};
	struct dbk_err err = {0};
	struct dbk_queue *q = NULL;
	struct dbk_summary *s = NULL;
	const char **names = NULL;
	char *text = NULL;
	int rc = 0;

	if ((rc = parse(argc, argv, json, &o)) != 0)
		return rc == -1 ? 0 : rc;
	if (o.output != NULL && o.output[0] == '\0')
		return usage_error("-o needs a file name");
	if ((rc = period(&o, now_ms, &so.period)) != 0)
		return rc;
	rc = EXIT_RUNTIME;
	if ((q = dbk_queue_open(cfg->queue_dir,
	                        o.queue ? o.queue : DEFAULT_QUEUE, &err)) ==
	    NULL) {
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
		goto out;
	}
	names = configured(cfg);
	so.target = o.target;
	so.configured = names;
	so.n_configured = cfg->n_targets;
	so.queue_name = dbk_queue_name(q);
	so.now_ms = now_ms;
	so.warn = warn_stderr;
	if ((s = dbk_summary_build(q, &so, &err)) == NULL) {
		fprintf(stderr, "dbkeeper: %s\n", err.msg);
		goto out;
	}
	text = render(s, o.fmt);
	rc = output(o.output, text);
out:
	free(text);
	dbk_summary_free(s);
	free(names);
	dbk_queue_close(q);
	return rc;
}

int dbk_cmd_summary(const struct dbk_config *cfg, int argc, char **argv,
                    bool json)
{
	return dbk_cmd_summary_at(cfg, argc, argv, json, dbk_now_ms());
}
