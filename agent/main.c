/* agent/main.c: the command line. Parses global options, loads and checks
 * the configuration, and hands over to one command module. Exit status:
 * 0 success, 2 usage or configuration error, 3 database or runtime error. */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_check.h"
#include "cmd_cycle.h"
#include "cmd_queue.h"
#include "cmd_summary.h"
#include "cmd_tune.h"
#include "config.h"
#include "driver_loader.h"
#include "log.h"
#include "scheduler.h"

static const char usage_text[] =
	"usage: dbkeeper [-c FILE] [-v] [--json] COMMAND [ARGS]\n"
	"\n"
	"Database housekeeping agent for PostgreSQL and MySQL/MariaDB.\n"
	"\n"
	"commands:\n"
	"  run                 run as a daemon (systemd Type=notify); SIGHUP reloads,\n"
	"                      SIGTERM/SIGINT stop at the next statement boundary\n"
	"  once [TARGET...]    run every enabled task now (inside its window), then exit\n"
	"  plan [TARGET...]    show what a cycle would do, each statement and why;\n"
	"                      changes nothing\n"
	"  queue list [--queue Q] [--target T] [--kind K] [--severity S] [--since DUR]\n"
	"             [--new|--cur|--all]\n"
	"  queue show ID...    print records\n"
	"  queue ack ID...|--all [--target T]\n"
	"  queue prune [--retention DUR]\n"
	"  summary [--since DUR | --from DATE [--to DATE] | --period week|month]\n"
	"          [--target T] [--format md|html|json] [-o FILE] [--queue Q]\n"
	"                      operations summary of a period from the report queue\n"
	"                      (default: the last 7 days as Markdown)\n"
	"  tune TARGET [--apply [--yes]]\n"
	"                      tuning report now: findings by severity with evidence\n"
	"                      and remedy, then the housekeeping plan; --apply asks,\n"
	"                      then carries the plan out (--yes: without asking)\n"
	"  check-config        validate the configuration, policies and drivers\n"
	"\n"
	"options:\n"
	"  -c, --config FILE   main configuration file (default " DBK_DEFAULT_CONFIG ")\n"
	"  -v, --verbose       more log output (twice: debug)\n"
	"      --json          machine-readable output (plan, once, tune, queue,\n"
	"                      summary, check-config)\n"
	"      --syslog        log to syslog even at a terminal (run logs to syslog\n"
	"                      by itself under systemd)\n"
	"      --allow-root    let `run` work as root (it refuses by default)\n"
	"  -h, --help          this help\n"
	"  -V, --version       print the version\n"
	"\n"
	"exit status: 0 success, 2 usage or configuration error, 3 database or\n"
	"runtime error. Environment: DBKEEPER_DRIVER_DIR overrides the driver\n"
	"directory.\n";

struct opts {
	const char *config;
	int verbose;
	bool json;
	bool syslog;
	bool allow_root;
};

static int usage_error(const char *fmt, ...) DBK_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dbkeeper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'dbkeeper --help'.\n", stderr);
	return 2;
}

/* --json may stand anywhere (after the command too); take it out so the
 * commands' own option parsers never see it. */
static int strip_json(int argc, char **argv, bool *json)
{
	int n = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

static int parse_global(int argc, char **argv, struct opts *o, int *next)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 's' },
		{ "allow-root", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'v': o->verbose++; break;
		case 's': o->syslog = true; break;
		case 'R': o->allow_root = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("dbkeeper %s\n", DBK_VERSION); return 0;
		default:
			return usage_error("unknown or incomplete option '%s'",
			                   argv[optind - 1]);
		}
	}
	*next = optind;
	return -1; /* go on */
}

static struct dbk_config *load(const struct opts *o, bool drivers, int *status)
{
	struct dbk_err e = { 0 };
	struct dbk_config *cfg = dbk_config_load(o->config, &e);

	if (cfg != NULL && drivers && dbk_driver_check_targets(cfg, &e) == -1) {
		dbk_config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		fprintf(stderr, "dbkeeper: %s\n", e.msg);
		*status = 2;
	}
	return cfg;
}

/* Signals the cycle commands wait for with sigtimedwait: blocked before any
 * thread starts so that no thread ever runs a handler. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int cmd_run(const struct opts *o, struct dbk_config *cfg)
{
	bool service = getenv("NOTIFY_SOCKET") != NULL ||
	               getenv("INVOCATION_ID") != NULL;

	/* A daemon that drops tables needs no root; running it so by accident
	 * widens what a bug can break. */
	if (geteuid() == 0 && !o->allow_root) {
		fprintf(stderr, "dbkeeper: refusing to run as root; run it as the "
		        "dbkeeper user, or pass --allow-root\n");
		dbk_config_free(cfg);
		return 2;
	}
	dbk_log_init(o->syslog || service, cfg->syslog_facility,
	             o->verbose ? LOG_DEBUG : LOG_INFO);
	return dbk_sched_run(o->config, cfg);
}

static int dispatch(const struct opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct dbk_config *cfg = NULL;
	int status = 0;
	bool cycle = strcmp(cmd, "plan") == 0 || strcmp(cmd, "once") == 0;
	bool tune = strcmp(cmd, "tune") == 0;

	bool summary = strcmp(cmd, "summary") == 0;

	if (!cycle && !tune && !summary && strcmp(cmd, "run") != 0 &&
	    strcmp(cmd, "queue") != 0 && strcmp(cmd, "check-config") != 0)
		return usage_error("unknown command '%s'", cmd);
	if ((strcmp(cmd, "run") == 0 || strcmp(cmd, "check-config") == 0) && argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (strcmp(cmd, "queue") == 0 && argc < 2)
		return usage_error("%s needs a subcommand: list, show, ack, prune", cmd);
	for (int i = 1; cycle && i < argc; i++)
		if (argv[i][0] == '-')
			return usage_error("unknown option '%s'", argv[i]);
	dbk_log_init(o->syslog, LOG_DAEMON,
	             o->verbose > 1 ? LOG_DEBUG : o->verbose ? LOG_INFO : LOG_WARNING);
	if (strcmp(cmd, "run") == 0 || cycle || tune)
		block_signals();
	/* queue and summary read files only: no driver needs to load. */
	if ((cfg = load(o, strcmp(cmd, "queue") != 0 && !summary, &status)) == NULL)
		return status;
	if (strcmp(cmd, "run") == 0)
		return cmd_run(o, cfg); /* takes cfg */
	if (strcmp(cmd, "check-config") == 0)
		dbk_cmd_check_print(cfg, o->json);
	else if (strcmp(cmd, "queue") == 0)
		status = dbk_cmd_queue(cfg, argc - 1, argv + 1, o->json);
	else if (summary)
		status = dbk_cmd_summary(cfg, argc, argv, o->json);
	else if (tune)
		status = dbk_cmd_tune(cfg, argc, argv, o->json);
	else
		status = dbk_cmd_cycle(cfg, strcmp(cmd, "plan") == 0 ? DBK_MODE_PLAN
		                                                     : DBK_MODE_ONCE,
		                       argc - 1, argv + 1, o->json);
	dbk_config_free(cfg);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o = { DBK_DEFAULT_CONFIG, 0, false, false, false };
	int next = 0, rc = 0;

	argc = strip_json(argc, argv, &o.json);
	if ((rc = parse_global(argc, argv, &o, &next)) >= 0)
		return rc;
	if (next >= argc)
		return usage_error("%s", "no command given");
	return dispatch(&o, argc - next, argv + next);
}
