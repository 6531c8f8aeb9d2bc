/* agent/driver_loader.c: finds DRIVER.so, refuses files that are unsafe to
 * load or do not speak our ABI, and checks targets' connection options
 * against the driver's option table. It never calls a driver op and never
 * dlcloses a driver it handed out (ASan reports need the symbols). */
#include "driver_loader.h"

#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef DBK_DEFAULT_DRIVER_DIR
#define DBK_DEFAULT_DRIVER_DIR "/usr/lib/dbkeeper/drivers"
#endif

#define LOADER_CACHE_SIZE 16

/* The one piece of process-wide state the style guide allows here: dlopen
 * handles are process-wide already, so remembering which resolved path gave
 * which table adds no new sharing. Entries are never removed because
 * drivers are never unloaded. When the cache is full we simply do not
 * remember: dlopen itself returns the same handle for the same file. */
static struct {
	char *path; /* realpath() of the file */
	const struct dbk_driver *driver;
} loader_cache[LOADER_CACHE_SIZE];
static unsigned loader_cache_n;
static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;

/* Ops every ABI 1.0 driver must fill in; all lie within DBK_DRIVER_SIZE_1_0. */
#define LOADER_OP(op) { #op, offsetof(struct dbk_driver, op) }
static const struct {
	const char *name;
	size_t off;
} loader_required_ops[] = {
	LOADER_OP(open), LOADER_OP(close), LOADER_OP(lock), LOADER_OP(unlock),
	LOADER_OP(server_info), LOADER_OP(list_tables), LOADER_OP(free_tables),
	LOADER_OP(list_indexes), LOADER_OP(free_indexes),
	LOADER_OP(collect_metrics), LOADER_OP(free_metrics),
	LOADER_OP(list_server_logs), LOADER_OP(free_logfiles), LOADER_OP(render),
	LOADER_OP(free_string), LOADER_OP(drop_tables), LOADER_OP(rebuild_index),
	LOADER_OP(drop_index), LOADER_OP(purge_rows),
	LOADER_OP(purge_server_logs), LOADER_OP(analyze), LOADER_OP(cancel),
	LOADER_OP(quote_ident),
};
#undef LOADER_OP

const char *dbk_driver_dir(const struct dbk_config *cfg)
{
	const char *env = getenv("DBKEEPER_DRIVER_DIR");

	if (env != NULL && env[0] != '\0')
		return env;
	if (cfg != NULL && cfg->driver_dir != NULL)
		return cfg->driver_dir;
	return DBK_DEFAULT_DRIVER_DIR;
}

/* A driver name becomes part of a path, so it must be a plain word: no
 * slashes, dots or anything that could leave the driver directory. */
static bool name_is_plain(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills buf with the sorted names of dir's *.so files, "a, b", or "none".
 * Only used to make a "not found" message helpful, so it cannot fail. */
static void list_installed(const char *dir, char *buf, size_t len)
{
	DIR *d = NULL;
	struct dirent *de = NULL;
	char **names = NULL;
	size_t n = 0, used = 0;

	snprintf(buf, len, "none");
	if ((d = opendir(dir)) == NULL) {
		snprintf(buf, len, "none; cannot read %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l <= 3 || strcmp(de->d_name + l - 3, ".so") != 0)
			continue;
		names = dbk_xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = dbk_xasprintf("%.*s", (int)(l - 3), de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                 names[i]);

		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
		else
			used = len - 1; /* truncated: keep what fits */
		free(names[i]);
	}
	free(names);
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISFIFO(mode))
		return "a fifo";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* The file checks done before dlopen runs any of the file's code. */
static int check_file(const char *path, const char *name, const char *dir,
                      struct dbk_err *err)
{
	struct stat st;
	char installed[320];

	if (stat(path, &st) == -1) {
		if (errno != ENOENT && errno != ENOTDIR)
			return dbk_err_errno(err, "driver '%s': cannot stat %s", name,
			                     path);
		if (dir == NULL)
			return dbk_err_set(err, DBK_E_CONFIG,
			    "driver '%s' not found: %s does not exist", name, path);
		list_installed(dir, installed, sizeof installed);
		return dbk_err_set(err, DBK_E_CONFIG,
		    "driver '%s' not found: %s does not exist (installed drivers: %s)",
		    name, path, installed);
	}
	if (!S_ISREG(st.st_mode))
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: expected a regular file, found %s; refusing to load it",
		    path, file_kind(st.st_mode));
	/* Whoever can write the file can run code as the agent. */
	if (st.st_mode & 022)
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: mode %04o is group- or world-writable; refusing to load it"
		    " (expected no write permission for group and others)",
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Checks the table an entry point returned. Reads nothing beyond the five
 * frozen fields until the major version and the size are known to fit. */
static int check_table(const struct dbk_driver *d, const char *path,
                       struct dbk_err *err)
{
	if (d == NULL)
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: %s returned NULL, expected a driver table", path,
		    DBK_DRIVER_ENTRY);
	if (d->abi_major != DBK_DRIVER_ABI_MAJOR)
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: driver ABI %" PRIu32 ".%" PRIu32 ", agent needs %d.x"
		    " (rebuild the driver)", path, d->abi_major, d->abi_minor,
		    DBK_DRIVER_ABI_MAJOR);
	if (d->struct_size < DBK_DRIVER_SIZE_1_0)
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: driver table is %zu bytes, ABI %d.0 needs at least %zu",
		    path, d->struct_size, DBK_DRIVER_ABI_MAJOR,
		    (size_t)DBK_DRIVER_SIZE_1_0);
	for (size_t i = 0; i < DBK_NELEM(loader_required_ops); i++) {
		void (*op)(void) = NULL;

		/* Every op is a function pointer of the same representation;
		 * copying it out avoids casting between function types. */
		memcpy(&op, (const char *)d + loader_required_ops[i].off, sizeof op);
		if (op == NULL)
			return dbk_err_set(err, DBK_E_ABI,
			    "%s: driver '%s' lacks required op '%s' (ABI %d.0 needs it)",
			    path, d->name ? d->name : "?", loader_required_ops[i].name,
			    DBK_DRIVER_ABI_MAJOR);
	}
	return 0;
}

/* ABI 1.1 ops come in groups that only make sense whole (a list without its
 * free would leak, a table drop held for a trigger nobody can drop would
 * never happen): a group is all there or all missing. */
static int check_groups(const struct dbk_driver *d, const char *path,
                        struct dbk_err *err)
{
	const struct {
		const char *what;
		int have, of;
	} g[] = {
		{ "list_tool_triggers, free_triggers, drop_trigger",
		  DBK_HAS_OP(d, list_tool_triggers) + DBK_HAS_OP(d, free_triggers) +
		  DBK_HAS_OP(d, drop_trigger), 3 },
		{ "list_replicas, free_replicas",
		  DBK_HAS_OP(d, list_replicas) + DBK_HAS_OP(d, free_replicas), 2 },
		{ "list_log_tables, rotate_log_table",
		  DBK_HAS_OP(d, list_log_tables) + DBK_HAS_OP(d, rotate_log_table), 2 },
	};

	for (size_t i = 0; i < DBK_NELEM(g); i++)
		if (g[i].have != 0 && g[i].have != g[i].of)
			return dbk_err_set(err, DBK_E_ABI,
			    "%s: driver '%s' has only some of the ops %s (all or none)",
			    path, d->name ? d->name : "?", g[i].what);
	return 0;
}

/* The table must call itself what the file is called, so a config naming
 * driver "postgres" can never get some other engine's driver. */
static int check_name(const struct dbk_driver *d, const char *path,
                      const char *name, struct dbk_err *err)
{
	if (d->name == NULL)
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: driver has no name, expected '%s'", path, name);
	if (strcmp(d->name, name) != 0)
		return dbk_err_set(err, DBK_E_ABI,
		    "%s: driver calls itself '%s', expected '%s' (the file's name)",
		    path, d->name, name);
	return 0;
}

static const struct dbk_driver *cache_find(const char *real)
{
	for (unsigned i = 0; i < loader_cache_n; i++)
		if (strcmp(loader_cache[i].path, real) == 0)
			return loader_cache[i].driver;
	return NULL;
}

static void cache_add(const char *real, const struct dbk_driver *d)
{
	if (loader_cache_n == LOADER_CACHE_SIZE)
		return;
	loader_cache[loader_cache_n].path = dbk_xstrdup(real);
	loader_cache[loader_cache_n].driver = d;
	loader_cache_n++;
}

/* dlopens path and checks its table. Called with loader_lock held, because
 * dlopen, the entry call and the cache update must not interleave. */
static const struct dbk_driver *open_checked(const char *path,
                                             const char *name,
                                             struct dbk_err *err)
{
	void *h = NULL, *sym = NULL;
	dbk_driver_entry_fn entry = NULL;
	const struct dbk_driver *d = NULL;
	const char *dlerr = NULL;

	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		dlerr = dlerror();
		dbk_err_set(err, DBK_E_ABI, "cannot load driver '%s': %s", name,
		            dlerr ? dlerr : path);
		goto out;
	}
	dlerror(); /* clear, so a NULL from dlsym is told apart from an error */
	if ((sym = dlsym(h, DBK_DRIVER_ENTRY)) == NULL) {
		dbk_err_set(err, DBK_E_ABI,
		    "%s: no symbol %s (not a dbkeeper driver?)", path,
		    DBK_DRIVER_ENTRY);
		goto out;
	}
	_Static_assert(sizeof entry == sizeof sym, "function pointer size");
	memcpy(&entry, &sym, sizeof entry); /* POSIX: dlsym gives functions too */
	d = entry();
	if (check_table(d, path, err) == -1 || check_groups(d, path, err) == -1 ||
	    check_name(d, path, name, err) == -1)
		d = NULL;
out:
	/* A refused driver was never handed out, so unloading it is safe; a
	 * file loaded elsewhere under another name only loses a reference. */
	if (d == NULL && h != NULL)
		dlclose(h);
	return d;
}

/* Loads path, whose driver must call itself name; dir (may be NULL) is
 * listed in the message when the file does not exist. */
static const struct dbk_driver *load_named(const char *path, const char *name,
                                           const char *dir,
                                           struct dbk_err *err)
{
	char *real = NULL;
	const struct dbk_driver *d = NULL;

	if (check_file(path, name, dir, err) == -1)
		goto out;
	if ((real = realpath(path, NULL)) == NULL) {
		dbk_err_errno(err, "driver '%s': cannot resolve %s", name, path);
		goto out;
	}
	pthread_mutex_lock(&loader_lock);
	if ((d = cache_find(real)) != NULL) {
		/* Reached through another name (a symlink): same rule applies. */
		if (check_name(d, path, name, err) == -1)
			d = NULL;
	} else if ((d = open_checked(path, name, err)) != NULL) {
		cache_add(real, d);
	}
	pthread_mutex_unlock(&loader_lock);
out:
	free(real);
	return d;
}

const struct dbk_driver *dbk_driver_load(const char *dir, const char *name,
                                         struct dbk_err *err)
{
	char *path = NULL;
	const struct dbk_driver *d = NULL;

	if (!name_is_plain(name)) {
		dbk_err_set(err, DBK_E_CONFIG,
		    "driver name '%s' is not a valid driver name"
		    " (expected lowercase letters, digits and '_')",
		    name ? name : "(null)");
		goto out;
	}
	if (dir == NULL || dir[0] == '\0') {
		dbk_err_set(err, DBK_E_CONFIG,
		    "driver '%s': no driver directory given", name);
		goto out;
	}
	path = dbk_xasprintf("%s/%s.so", dir, name);
	d = load_named(path, name, dir, err);
out:
	free(path);
	return d;
}

const struct dbk_driver *dbk_driver_load_path(const char *path,
                                              struct dbk_err *err)
{
	const char *base = NULL;
	char *name = NULL;
	size_t len = 0;
	const struct dbk_driver *d = NULL;

	if (path == NULL || path[0] == '\0') {
		dbk_err_set(err, DBK_E_CONFIG, "no driver path given");
		goto out;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 3 && strcmp(base + len - 3, ".so") == 0)
		len -= 3;
	name = dbk_xasprintf("%.*s", (int)len, base);
	d = load_named(path, name, NULL, err);
out:
	free(name);
	return d;
}

static const char *opt_type_name(int type)
{
	switch (type) {
	case DBK_OPT_STRING:
		return "a string";
	case DBK_OPT_INT:
		return "an integer";
	case DBK_OPT_BOOL:
		return "a boolean (true/false)";
	default:
		return "an unknown type";
	}
}

static const struct dbk_opt_def *opt_find(const struct dbk_opt_def *defs,
                                          const char *key)
{
	for (; defs != NULL && defs->name != NULL; defs++)
		if (key != NULL && strcmp(defs->name, key) == 0)
			return defs;
	return NULL;
}

/* "conninfo, port" or "none", truncated to fit buf. */
static void opt_known(const struct dbk_opt_def *defs, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "none");
	for (unsigned i = 0; defs != NULL && defs[i].name != NULL; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                 defs[i].name);

		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

/* Each option the file gave must be one the driver declares, with the type
 * the driver declares: a typo must be an error, never silently ignored. */
static int check_options(const struct dbk_target *t, const struct dbk_driver *d,
                         struct dbk_err *err)
{
	const char *file = t->file ? t->file : "?";
	char known[256];

	for (unsigned i = 0; i < t->n_options; i++) {
		const struct dbk_target_opt *o = &t->options[i];
		const struct dbk_opt_def *def = opt_find(d->options, o->key);
		int line = o->line > 0 ? o->line : t->line;

		if (def == NULL) {
			opt_known(d->options, known, sizeof known);
			return dbk_err_set(err, DBK_E_CONFIG,
			    "%s:%d: target '%s': driver '%s' has no connection option"
			    " '%s' (known: %s)", file, line, t->name, d->name,
			    o->key ? o->key : "(null)", known);
		}
		if ((int)def->type != o->type)
			return dbk_err_set(err, DBK_E_CONFIG,
			    "%s:%d: target '%s': option '%s' of driver '%s' must be %s,"
			    " found %s", file, line, t->name, o->key, d->name,
			    opt_type_name((int)def->type), opt_type_name(o->type));
	}
	return 0;
}

int dbk_driver_check_targets(const struct dbk_config *cfg, struct dbk_err *err)
{
	const char *dir = dbk_driver_dir(cfg);
	struct dbk_err lerr = { 0 };

	if (cfg == NULL)
		return 0;
	for (unsigned i = 0; i < cfg->n_targets; i++) {
		const struct dbk_target *t = &cfg->targets[i];
		const struct dbk_driver *d = dbk_driver_load(dir, t->driver, &lerr);

		if (d == NULL)
			return dbk_err_set(err, lerr.code, "%s:%d: target '%s': %s",
			                   t->file ? t->file : "?", t->line,
			                   t->name, lerr.msg);
		if (check_options(t, d, err) == -1)
			return -1;
	}
	return 0;
}
