/* drivers/postgres/pgd_logfile.c: recognising server log files. The server
 * names them with log_filename, a strftime pattern; we turn it into an
 * anchored regular expression so only files the server itself could have
 * written are ever listed or removed. No file system access here. */
#include "pgd_logfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What each strftime conversion can produce (pg_strftime's set). */
static const char *pgd_conv_regex(char conv)
{
	switch (conv) {
	case 'Y': case 'G': return "[0-9]{4}";
	case 'C': case 'y': case 'g': case 'm': case 'd': case 'H': case 'I':
	case 'M': case 'S': case 'U': case 'V': case 'W': return "[0-9]{2}";
	case 'j': return "[0-9]{3}";
	case 'e': case 'k': case 'l': return "[ 0-9][0-9]";
	case 'u': return "[1-7]";
	case 'w': return "[0-6]";
	case 's': return "[0-9]+";
	case 'a': case 'A': case 'b': case 'B': case 'h': return "[A-Za-z]+";
	case 'p': return "(AM|PM)";
	case 'z': return "[-+][0-9]{4}";
	case 'Z': return "[A-Za-z0-9+-]+";
	case 'F': return "[0-9]{4}-[0-9]{2}-[0-9]{2}";
	case 'T': return "[0-9]{2}:[0-9]{2}:[0-9]{2}";
	case 'R': return "[0-9]{2}:[0-9]{2}";
	case '%': return "%";
	default: return "[^/]+"; /* %c, %x, %+ ...: still one path component */
	}
}

static void pgd_add_literal(struct pgd_buf *b, char ch)
{
	if (strchr(".[]()*+?{}|^$\\", ch) != NULL)
		pgd_buf_add(b, "\\%c", ch);
	else
		pgd_buf_add(b, "%c", ch);
}

char *pgd_logname_regex(const char *fn)
{
	struct pgd_buf b = { 0 };
	size_t n = strlen(fn);
	/* csvlog/jsonlog files replace a ".log" suffix or append theirs. */
	bool dotlog = n >= 4 && strcmp(fn + n - 4, ".log") == 0;

	if (dotlog)
		n -= 4;
	pgd_buf_add(&b, "^");
	for (size_t i = 0; i < n; i++) {
		if (fn[i] != '%' || i + 1 >= n) {
			pgd_add_literal(&b, fn[i]);
			continue;
		}
		i++;
		if ((fn[i] == 'E' || fn[i] == 'O') && i + 1 < n)
			i++; /* alternative-representation modifiers */
		pgd_buf_add(&b, "%s", pgd_conv_regex(fn[i]));
	}
	pgd_buf_add(&b, "%s", dotlog ? "\\.(log|csv|json)$" : "(\\.csv|\\.json)?$");
	return pgd_buf_take(&b);
}

static char *pgd_basename_dup(const char *path)
{
	const char *slash = NULL;

	if (path == NULL)
		return NULL;
	slash = strrchr(path, '/');
	return pgd_xstrdup(slash ? slash + 1 : path);
}

static int pgd_logcfg_compile(struct dbk_conn *c, struct pgd_logcfg *cfg,
                              struct dbk_err *err)
{
	char *rx = pgd_logname_regex(cfg->log_filename);
	int rc = regcomp(&cfg->re, rx, REG_EXTENDED | REG_NOSUB);

	free(rx);
	if (rc != 0)
		return pgd_err_set(err, DBK_E_UNSUPPORTED,
		    "%s: cannot make sense of log_filename '%s'", c->target, cfg->log_filename);
	cfg->re_ok = true;
	return 0;
}

/* Index into cfg->current for a file name: .csv, .json, else stderr. */
static int pgd_log_format(const char *name)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".csv") == 0)
		return 1;
	if (n > 5 && strcmp(name + n - 5, ".json") == 0)
		return 2;
	return 0;
}

/* pg_current_logfile() is superuser-only unless granted; pg_monitor may
 * list the directory, so the newest log file of each format counts as the
 * one being written: never removed either way. */
static int pgd_logcfg_newest(struct dbk_conn *c, struct pgd_logcfg *cfg,
                             struct dbk_err *err)
{
	PGresult *res = NULL;

	if (pgd_exec(c, "SELECT name FROM pg_catalog.pg_ls_logdir()"
	    " ORDER BY modification DESC, name DESC", 0, NULL, &res,
	    "list the log directory", err) == -1)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *name = PQgetvalue(res, r, 0);
		int f = pgd_log_format(name);

		if (cfg->current[f] == NULL && pgd_logcfg_matches(cfg, name))
			cfg->current[f] = pgd_xstrdup(name);
	}
	PQclear(res);
	return 0;
}

/* Function privileges are checked when a statement starts, even in a
 * CASE branch never taken: the privilege is asked first, the files next. */
static const char pgd_logcfg_sql[] =
	"SELECT pg_catalog.current_setting('logging_collector')::bool,"
	" pg_catalog.current_setting('log_filename'),"
	" pg_catalog.current_setting('log_directory'),"
	" pg_catalog.current_setting('data_directory'),"
	" pg_catalog.has_function_privilege('pg_catalog.pg_current_logfile(text)', 'EXECUTE')";

static int pgd_logcfg_current(struct dbk_conn *c, struct pgd_logcfg *cfg,
                              struct dbk_err *err)
{
	PGresult *res = NULL;

	/* jsonlog exists from 15 on; asking an older server is an error. */
	if (pgd_exec(c, c->version_num >= 150000 ?
	    "SELECT pg_catalog.pg_current_logfile('stderr'), pg_catalog.pg_current_logfile('csvlog'),"
	    " pg_catalog.pg_current_logfile('jsonlog')" :
	    "SELECT pg_catalog.pg_current_logfile('stderr'), pg_catalog.pg_current_logfile('csvlog'),"
	    " NULL",
	    0, NULL, &res, "find the current log file", err) == -1)
		return -1;
	for (int i = 0; i < 3; i++)
		cfg->current[i] = pgd_basename_dup(PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i));
	PQclear(res);
	return 0;
}

static int pgd_logcfg_read(struct dbk_conn *c, struct pgd_logcfg *cfg, bool *can_current,
                           struct dbk_err *err)
{
	PGresult *res = NULL;
	const char *ldir = NULL;

	if (pgd_exec(c, pgd_logcfg_sql, 0, NULL, &res, "read logging settings", err) == -1)
		return -1;
	cfg->collector = pgd_bool(res, 0, 0);
	cfg->log_filename = pgd_str(res, 0, 1);
	ldir = PQgetvalue(res, 0, 2);
	cfg->dir = ldir[0] == '/' ? pgd_xstrdup(ldir) :
	    pgd_xasprintf("%s/%s", PQgetvalue(res, 0, 3), ldir);
	*can_current = pgd_bool(res, 0, 4);
	PQclear(res);
	return 0;
}

int pgd_logcfg_load(struct dbk_conn *c, struct pgd_logcfg *cfg,
                    struct dbk_err *err)
{
	bool can_current = false;

	memset(cfg, 0, sizeof *cfg);
	if (pgd_logcfg_read(c, cfg, &can_current, err) == -1 ||
	    pgd_logcfg_compile(c, cfg, err) == -1 ||
	    (cfg->collector && can_current && pgd_logcfg_current(c, cfg, err) == -1) ||
	    (cfg->collector && !can_current && pgd_logcfg_newest(c, cfg, err) == -1)) {
		if (err != NULL && pgd_err_is(err, "42501"))
			pgd_err_set(err, DBK_E_QUERY,
			    "%s: the role may not read the server's log settings or files;"
			    " grant it pg_monitor (or run as superuser)", c->target);
		pgd_logcfg_free(cfg);
		return -1;
	}
	return 0;
}

void pgd_logcfg_free(struct pgd_logcfg *cfg)
{
	if (cfg == NULL)
		return;
	if (cfg->re_ok)
		regfree(&cfg->re);
	free(cfg->log_filename);
	free(cfg->dir);
	for (int i = 0; i < 3; i++)
		free(cfg->current[i]);
	memset(cfg, 0, sizeof *cfg);
}

bool pgd_logcfg_matches(const struct pgd_logcfg *cfg, const char *name)
{
	if (!cfg->re_ok || name == NULL || name[0] == '\0' ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return regexec(&cfg->re, name, 0, NULL, 0) == 0;
}

bool pgd_logcfg_in_use(const struct pgd_logcfg *cfg, const char *name)
{
	for (int i = 0; i < 3; i++)
		if (cfg->current[i] != NULL && strcmp(cfg->current[i], name) == 0)
			return true;
	return false;
}
