/* agent/config.c: the main configuration file (directories, syslog
 * facility, targets) and the policy files its targets name, parsed into one
 * struct dbk_config value. Validates everything it can without a database;
 * whether a driver exists and accepts a target's options is checked where
 * drivers are loaded. Also reads password files, refusing loose ones. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#include "keytab.h"

#ifndef DBK_DEFAULT_STATE_DIR
#define DBK_DEFAULT_STATE_DIR "/var/lib/dbkeeper"
#endif

/* A password line longer than this is surely not a password file. */
#define PASSWORD_MAX 4096

static int targets_parse(const config_setting_t *s, void *base,
                         const struct dbk_keyctx *ctx, struct dbk_err *err);
static void targets_free(void *base);
static int connection_parse(const config_setting_t *s, void *base,
                            const struct dbk_keyctx *ctx, struct dbk_err *err);
static void connection_free(void *base);

static const struct dbk_key_choice facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

static const struct dbk_key main_keys[] = {
	{ DBK_KEY("state_dir", DBK_T_PATH, offsetof(struct dbk_config, state_dir),
	          DBK_DEFAULT_STATE_DIR, DBK_KEY_RESTART,
	          "first-seen times, metric snapshots, last runs") },
	{ DBK_KEY("queue_dir", DBK_T_PATH, offsetof(struct dbk_config, queue_dir),
	          NULL, DBK_KEY_RESTART,
	          "report queue spools; default: <state_dir>/queue") },
	{ DBK_KEY("policy_dir", DBK_T_PATH, offsetof(struct dbk_config, policy_dir),
	          NULL, 0, "policy files; default: policies/ beside this file") },
	{ DBK_KEY("driver_dir", DBK_T_PATH, offsetof(struct dbk_config, driver_dir),
	          NULL, DBK_KEY_RESTART,
	          "driver plugins; default: the one built in") },
	{ DBK_KEY("syslog_facility", DBK_T_ENUM,
	          offsetof(struct dbk_config, syslog_facility), "daemon",
	          DBK_KEY_RESTART, "daemon, user or local0 to local7"),
	  .choices = facilities },
	{ DBK_KEY("queue_retention", DBK_T_DURATION_S,
	          offsetof(struct dbk_config, retention_s), "90d", 0,
	          "queue prune keeps records at least this long"), .min = "1d" },
	{ DBK_KEY("connect_timeout", DBK_T_DURATION_MS,
	          offsetof(struct dbk_config, connect_timeout_ms), "10s",
	          DBK_KEY_POSITIVE, "give up connecting to a target after this") },
	{ DBK_KEY("metrics_file", DBK_T_PATH,
	          offsetof(struct dbk_config, metrics_file), NULL, 0,
	          "Prometheus text file of the latest statistics, rewritten "
	          "atomically after each collection (node_exporter textfile "
	          "collector); default: none") },
	{ DBK_KEY("retry_backoff", DBK_T_DURATION_S,
	          offsetof(struct dbk_config, retry_backoff_s), "30s",
	          DBK_KEY_POSITIVE, "daemon: first wait after a failed cycle") },
	{ DBK_KEY("retry_backoff_max", DBK_T_DURATION_S,
	          offsetof(struct dbk_config, retry_backoff_max_s), "15m",
	          DBK_KEY_POSITIVE, "daemon: the wait doubles up to this") },
	{ DBK_KEY("cycle_min_gap", DBK_T_DURATION_S,
	          offsetof(struct dbk_config, cycle_min_gap_s), "60s",
	          DBK_KEY_POSITIVE, "daemon: never start two cycles of a target "
	          "closer than this") },
	{ DBK_KEY("targets", DBK_T_CUSTOM, 0, NULL, 0, "the databases to keep"),
	  .parse = targets_parse, .free = targets_free },
	{ .name = NULL },
};

static const struct dbk_key target_keys[] = {
	{ DBK_KEY("name", DBK_T_STRING, offsetof(struct dbk_target, name), NULL,
	          DBK_KEY_REQUIRED | DBK_KEY_NAME,
	          "unique; in logs, reports and on the command line") },
	{ DBK_KEY("driver", DBK_T_STRING, offsetof(struct dbk_target, driver), NULL,
	          DBK_KEY_REQUIRED | DBK_KEY_DRIVER_NAME,
	          "engine driver: postgres or mysql") },
	{ DBK_KEY("connection", DBK_T_CUSTOM, 0, NULL, 0,
	          "driver connection options, checked against the driver"),
	  .parse = connection_parse, .free = connection_free },
	{ DBK_KEY("password_file", DBK_T_PATH,
	          offsetof(struct dbk_target, password_file), NULL, 0,
	          "file whose first line is the password; mode 0600 or stricter") },
	{ DBK_KEY("policies", DBK_T_STRV, offsetof(struct dbk_target, policy_names),
	          NULL, DBK_KEY_REQUIRED | DBK_KEY_NONEMPTY | DBK_KEY_NAME,
	          "policy names: <policy_dir>/<name>.conf") },
	{ .name = NULL },
};

/* ---- Password files ---- */

/* What a password file must be, whether checked at load or at open: a
 * regular file nobody but its owner can read or write (as ssh treats a
 * private key). A symbolic link is refused because reading uses
 * O_NOFOLLOW: a link could be swapped under us. */
static int password_stat_ok(const char *path, const struct stat *st,
                            struct dbk_err *err)
{
	unsigned mode = (unsigned)st->st_mode & 07777;

	if (S_ISLNK(st->st_mode))
		return dbk_err_set(err, DBK_E_CONFIG, "password file %s is a symbolic "
		    "link; name the file itself", path);
	if (!S_ISREG(st->st_mode))
		return dbk_err_set(err, DBK_E_CONFIG,
		    "password file %s is not a regular file", path);
	if (mode & 077)
		return dbk_err_set(err, DBK_E_CONFIG, "password file %s is %s by "
		    "group or others (mode %04o); run chmod 600 %s", path,
		    (mode & 044) ? "readable" : "writable", mode, path);
	return 0;
}

static int password_check(const char *path, struct dbk_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return dbk_err_set(err, DBK_E_CONFIG, "password file %s: %s", path,
		    strerror(errno));
	return password_stat_ok(path, &st, err);
}

static int read_first_line(int fd, const char *path, char **out,
                           struct dbk_err *err)
{
	char buf[PASSWORD_MAX + 1];
	size_t len = 0, eol = 0;
	int rc = -1;

	while (len < PASSWORD_MAX && memchr(buf, '\n', len) == NULL) {
		ssize_t n = read(fd, buf + len, PASSWORD_MAX - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			dbk_err_set(err, DBK_E_CONFIG, "password file %s: cannot read: %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (eol = 0; eol < len && buf[eol] != '\n'; eol++)
		;
	if (eol == PASSWORD_MAX) {
		dbk_err_set(err, DBK_E_CONFIG, "password file %s: first line is "
		    "longer than %d bytes", path, PASSWORD_MAX);
		goto out;
	}
	if (eol > 0 && buf[eol - 1] == '\r')
		eol--;
	if (eol == 0) {
		dbk_err_set(err, DBK_E_CONFIG, "password file %s is empty (the "
		    "password is its first line)", path);
		goto out;
	}
	*out = dbk_xasprintf("%.*s", (int)eol, buf);
	rc = 0;
out:
	explicit_bzero(buf, sizeof buf); /* leave no password on the stack */
	return rc;
}

int dbk_read_password_file(const char *path, char **out, struct dbk_err *err)
{
	struct stat st;
	int fd = -1, rc = -1;

	/* O_NONBLOCK: a FIFO planted at the path must not hang the agent. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 && errno == ELOOP) {
		dbk_err_set(err, DBK_E_CONFIG, "password file %s is a symbolic link; "
		    "name the file itself", path);
		goto out;
	}
	if (fd == -1) {
		dbk_err_set(err, DBK_E_CONFIG, "password file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		dbk_err_set(err, DBK_E_CONFIG, "password file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (password_stat_ok(path, &st, err) == -1)
		goto out;
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		dbk_err_set(err, DBK_E_CONFIG, "password file %s is owned by uid %u, "
		    "not by the agent's user (uid %u) or root", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	rc = read_first_line(fd, path, out, err);
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- Targets ---- */

static void connection_free(void *base)
{
	struct dbk_target *t = base;

	for (unsigned i = 0; i < t->n_options; i++) {
		free(t->options[i].key);
		free(t->options[i].value);
	}
	free(t->options);
	t->options = NULL;
	t->n_options = 0;
}

/* Passwords come only from a password file the agent checks: a password in
 * the main file would sit in a file that is usually world-readable. */
static bool is_password_key(const char *key, const char *value)
{
	return strcasecmp(key, "password") == 0 || strcasecmp(key, "passwd") == 0 ||
	       (strcasecmp(key, "conninfo") == 0 && value != NULL &&
	        strcasestr(value, "password") != NULL);
}

static int option_add(struct dbk_target *t, const config_setting_t *e,
                      const struct dbk_keyctx *ctx, struct dbk_err *err)
{
	struct dbk_target_opt *o = &t->options[t->n_options];
	const char *key = config_setting_name(e);
	const char *str = NULL;

	switch (config_setting_type(e)) {
	case CONFIG_TYPE_STRING:
		o->type = DBK_OPT_STRING;
		str = config_setting_get_string(e);
		o->value = dbk_xstrdup(str);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		o->type = DBK_OPT_INT;
		o->value = dbk_xasprintf("%lld", config_setting_get_int64(e));
		break;
	case CONFIG_TYPE_BOOL:
		o->type = DBK_OPT_BOOL;
		o->value = dbk_xstrdup(config_setting_get_bool(e) ? "true" : "false");
		break;
	default:
		return dbk_keytab_error(err, e, ctx, "%s.%s must be a string, an "
		    "integer or true/false, not %s", ctx->path, key,
		    dbk_keytab_type_name(config_setting_type(e)));
	}
	o->key = dbk_xstrdup(key);
	o->line = (int)config_setting_source_line(e);
	t->n_options++;
	if (is_password_key(key, str))
		return dbk_keytab_error(err, e, ctx, "%s.%s: no passwords in the "
		    "configuration file; put it in a file of mode 0600 and name "
		    "that file in password_file", ctx->path, key);
	return 0;
}

/* A free-form group: which keys make sense is the driver's to say, so
 * they are kept with their type and line for that later check. */
static int connection_parse(const config_setting_t *s, void *base,
                            const struct dbk_keyctx *ctx, struct dbk_err *err)
{
	struct dbk_target *t = base;
	int n = 0;

	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s))
		return dbk_keytab_error(err, s, ctx, "%s must be a group "
		    "{ key = value; ... }, not %s", ctx->path,
		    dbk_keytab_type_name(config_setting_type(s)));
	n = config_setting_length(s);
	t->options = dbk_xcalloc((size_t)n, sizeof *t->options);
	for (int i = 0; i < n; i++)
		if (option_add(t, config_setting_get_elem(s, (unsigned)i), ctx,
		               err) == -1)
			return -1;
	return 0;
}

static void target_clear(struct dbk_target *t)
{
	dbk_keytab_free(target_keys, t);
	free(t->policies);
	free(t->file);
	memset(t, 0, sizeof *t);
}

static void targets_free(void *base)
{
	struct dbk_config *cfg = base;

	for (unsigned i = 0; i < cfg->n_targets; i++)
		target_clear(&cfg->targets[i]);
	free(cfg->targets);
	cfg->targets = NULL;
	cfg->n_targets = 0;
}

/* Checks across one target's keys and against earlier targets. */
static int target_check(const struct dbk_config *cfg, const struct dbk_target *t,
                        const config_setting_t *e, const struct dbk_keyctx *ctx,
                        struct dbk_err *err)
{
	const config_setting_t *s = NULL;

	for (const struct dbk_target *o = cfg->targets; o < t; o++)
		if (strcmp(o->name, t->name) == 0)
			return dbk_keytab_error(err, config_setting_get_member(e, "name"),
			    ctx, "duplicate target name '%s' (first defined at line %d)",
			    t->name, o->line);
	for (unsigned i = 0; i < t->policy_names.n; i++)
		for (unsigned j = 0; j < i; j++)
			if (strcmp(t->policy_names.v[i], t->policy_names.v[j]) == 0)
				return dbk_keytab_error(err,
				    config_setting_get_member(e, "policies"), ctx,
				    "target '%s' names policy '%s' twice", t->name,
				    t->policy_names.v[i]);
	s = config_setting_get_member(e, "password_file");
	if (t->password_file != NULL && password_check(t->password_file, err) == -1)
		return dbk_keytab_error(err, s, ctx, "%s", err->msg);
	return 0;
}

static int target_parse(struct dbk_config *cfg, const config_setting_t *e,
                        int i, const struct dbk_keyctx *ctx,
                        struct dbk_err *err)
{
	struct dbk_target *t = &cfg->targets[i];
	struct dbk_keyctx sub = *ctx;
	char *path = dbk_xasprintf("%s[%d]", ctx->path, i);
	int rc = -1;

	sub.path = path;
	sub.file = config_setting_source_file(e);
	sub.line = (int)config_setting_source_line(e);
	if (!config_setting_is_group(e)) {
		dbk_keytab_error(err, e, ctx, "%s must be a group { name = ...; "
		    "driver = ...; ... }, not %s", path,
		    dbk_keytab_type_name(config_setting_type(e)));
		goto out;
	}
	t->file = dbk_xstrdup(sub.file);
	t->line = sub.line;
	if (dbk_keytab_apply(target_keys, e, t, &sub, err) == -1 ||
	    target_check(cfg, t, e, &sub, err) == -1)
		goto out;
	rc = 0;
out:
	free(path);
	return rc;
}

static int targets_parse(const config_setting_t *s, void *base,
                         const struct dbk_keyctx *ctx, struct dbk_err *err)
{
	struct dbk_config *cfg = base;
	int n = 0;

	if (s == NULL)
		return 0;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return dbk_keytab_error(err, s, ctx, "targets must be a list of "
		    "groups ( { name = ...; ... }, ... ), not %s",
		    dbk_keytab_type_name(config_setting_type(s)));
	n = config_setting_length(s);
	cfg->targets = dbk_xcalloc((size_t)n, sizeof *cfg->targets);
	for (int i = 0; i < n; i++) {
		cfg->n_targets = (unsigned)i + 1; /* so a failure frees it */
		if (target_parse(cfg, config_setting_get_elem(s, (unsigned)i), i, ctx,
		                 err) == -1)
			return -1;
	}
	return 0;
}

/* ---- Policies ---- */

static const struct dbk_policy *policy_find(const struct dbk_config *cfg,
                                            const char *name)
{
	for (unsigned i = 0; i < cfg->n_policies; i++)
		if (strcmp(cfg->policies[i].name, name) == 0)
			return &cfg->policies[i];
	return NULL;
}

/* Loads policy name into the next free slot, or reports at `at` (the
 * target's `policies` setting) why it cannot be found. */
static const struct dbk_policy *policy_add(struct dbk_config *cfg,
                                           const char *name,
                                           const config_setting_t *at,
                                           struct dbk_err *err)
{
	char *path = dbk_xasprintf("%s/%s.conf", cfg->policy_dir, name);
	struct dbk_policy *p = &cfg->policies[cfg->n_policies];
	struct stat st;

	if (stat(path, &st) == -1) {
		dbk_keytab_error(err, at, NULL, "policy '%s' not found: %s: %s", name,
		    path, strerror(errno));
		p = NULL;
	} else if (dbk_policy_load(path, p, err) == -1) {
		p = NULL;
	} else {
		cfg->n_policies++;
	}
	free(path);
	return p;
}

/* Only the policies some target names are loaded, each once; targets
 * borrow pointers into cfg->policies, sized up front so they stay put. */
static int policies_resolve(struct dbk_config *cfg, const config_t *cf,
                            struct dbk_err *err)
{
	const config_setting_t *list = config_lookup(cf, "targets");
	unsigned total = 0;

	for (unsigned i = 0; i < cfg->n_targets; i++)
		total += cfg->targets[i].policy_names.n;
	cfg->policies = dbk_xcalloc(total, sizeof *cfg->policies);
	for (unsigned i = 0; i < cfg->n_targets; i++) {
		struct dbk_target *t = &cfg->targets[i];
		const config_setting_t *at = config_setting_get_member(
		    config_setting_get_elem(list, i), "policies");

		t->policies = dbk_xcalloc(t->policy_names.n, sizeof *t->policies);
		for (unsigned j = 0; j < t->policy_names.n; j++) {
			const char *name = t->policy_names.v[j];
			const struct dbk_policy *p = policy_find(cfg, name);

			if (p == NULL && (p = policy_add(cfg, name, at, err)) == NULL)
				return -1;
			t->policies[t->n_policies++] = p;
		}
	}
	return 0;
}

/* ---- The main file ---- */

static void defaults_derive(struct dbk_config *cfg, const char *base_dir)
{
	if (cfg->queue_dir == NULL)
		cfg->queue_dir = dbk_xasprintf("%s/queue", cfg->state_dir);
	if (cfg->policy_dir == NULL)
		cfg->policy_dir = dbk_xasprintf("%s/policies", base_dir);
}

struct dbk_config *dbk_config_load(const char *path, struct dbk_err *err)
{
	struct dbk_config *cfg = dbk_xcalloc(1, sizeof *cfg);
	struct dbk_keyctx ctx;
	char *base_dir = dbk_keytab_dirname(path);
	struct dbk_err spare;
	config_t cf;
	bool ok = false;

	if (err == NULL) /* messages are built from err->msg */
		err = &spare;
	config_init(&cf);
	cfg->file = dbk_xstrdup(path);
	if (dbk_keytab_read(&cf, path, err) == -1)
		goto out;
	ctx = (struct dbk_keyctx){ .file = path, .line = 0, .path = "",
	                           .base_dir = base_dir, .user = NULL };
	if (dbk_keytab_apply(main_keys, config_root_setting(&cf), cfg, &ctx,
	                     err) == -1)
		goto out;
	defaults_derive(cfg, base_dir);
	if (cfg->retry_backoff_max_s < cfg->retry_backoff_s) {
		dbk_keytab_error(err, config_lookup(&cf, "retry_backoff_max"), &ctx,
		    "retry_backoff_max must not be less than retry_backoff");
		goto out;
	}
	if (policies_resolve(cfg, &cf, err) == -1)
		goto out;
	ok = true;
out:
	config_destroy(&cf); /* every string kept was copied out of it */
	free(base_dir);
	if (!ok) {
		dbk_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void dbk_config_free(struct dbk_config *cfg)
{
	if (cfg == NULL)
		return;
	dbk_keytab_free(main_keys, cfg);
	for (unsigned i = 0; i < cfg->n_policies; i++)
		dbk_policy_clear(&cfg->policies[i]);
	free(cfg->policies);
	free(cfg->file);
	free(cfg);
}

const struct dbk_target *dbk_config_target(const struct dbk_config *cfg,
                                           const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg->n_targets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	return NULL;
}

struct changes {
	char *buf;
	size_t len, used;
};

static void change_note(const struct dbk_key *k, void *arg)
{
	struct changes *c = arg;
	int n = 0;

	if (c->buf == NULL || c->len == 0 || c->used >= c->len)
		return;
	n = snprintf(c->buf + c->used, c->len - c->used, "%s%s",
	    c->used > 0 ? ", " : "", k->name);
	c->used += n > 0 ? (size_t)n : 0;
}

unsigned dbk_config_restart_changes(const struct dbk_config *cur,
                                    const struct dbk_config *next, char *buf,
                                    size_t len)
{
	struct changes c = { buf, len, 0 };

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	return dbk_keytab_changed(main_keys, cur, next, change_note, &c);
}
