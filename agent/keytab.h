/* agent/keytab.h: key tables and the one generic walker that applies them
 * to a libconfig group. A table row names a setting, its type, where it
 * lives in the C struct (offsetof), its default as text, flags and help.
 * Defaults go through the same parser as values from the file, and an
 * unknown key, a wrong type or an out-of-range value is an error naming
 * file:line, so a typo in `dry_run` never silently means "destroy". */
#ifndef DBK_KEYTAB_H
#define DBK_KEYTAB_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "util.h"

/* What a setting holds, and the C type at its offset. */
enum dbk_key_type {
	DBK_T_BOOL = 1,     /* bool; true or false, nothing else */
	DBK_T_INT,          /* int64_t; an integer */
	DBK_T_NUMBER,       /* double; an integer or a float */
	DBK_T_STRING,       /* char *, owned; NULL when absent without default */
	DBK_T_PATH,         /* char *, owned; relative to ctx->base_dir */
	DBK_T_STRV,         /* struct dbk_strv; ["a", "b"] or ("a", "b") */
	DBK_T_GLOBS,        /* struct dbk_strv of checked fnmatch patterns */
	DBK_T_DURATION_S,   /* int64_t seconds: "7d" or an integer of seconds */
	DBK_T_DURATION_MS,  /* int64_t milliseconds: "500ms", "5s", or seconds */
	DBK_T_SIZE,         /* int64_t bytes: "50MB" or an integer of bytes */
	DBK_T_WINDOWS,      /* struct dbk_windows */
	DBK_T_SCHED_WINDOW, /* struct dbk_schedule: sets window and has_window */
	DBK_T_ENUM,         /* int, one of key->choices */
	DBK_T_GROUP,        /* { ... } applied with key->sub at offset */
	DBK_T_CUSTOM,       /* key->parse does it all; offset unused */
};

enum dbk_key_flags {
	DBK_KEY_REQUIRED = 1u << 0,
	DBK_KEY_RESTART = 1u << 1,     /* a reload cannot apply a change */
	DBK_KEY_POSITIVE = 1u << 2,    /* numbers, durations, sizes: > 0 */
	DBK_KEY_NONEMPTY = 1u << 3,    /* lists: at least one item */
	DBK_KEY_NAME = 1u << 4,        /* [A-Za-z0-9_.-]+, not "." or ".." */
	DBK_KEY_DRIVER_NAME = 1u << 5, /* strings: [a-z0-9_]+ */
};

struct dbk_key_choice {
	const char *name;
	int value;
};

/* Where the walker is: for messages, and for keys with context. */
struct dbk_keyctx {
	const char *file;     /* of the group; used when a key is missing */
	int line;             /* 0: unknown (a file's top level) */
	const char *path;     /* "scratch_tables", "targets[1]"; "" at top */
	const char *base_dir; /* for DBK_T_PATH */
	void *user;           /* for DBK_T_CUSTOM parsers */
};

struct dbk_key {
	const char *name;
	int type;             /* enum dbk_key_type */
	size_t offset;
	const char *def;      /* default as the file would spell it; NULL: none */
	unsigned flags;       /* enum dbk_key_flags */
	const char *help;
	/* Optional, by designated initializer: */
	const char *min, *max;                 /* bounds, in the key's syntax */
	const struct dbk_key *sub;             /* DBK_T_GROUP */
	const struct dbk_key_choice *choices;  /* DBK_T_ENUM; name NULL ends */
	/* DBK_T_CUSTOM: s is NULL when the key is absent. base is the struct
	 * the table describes; ctx->path names this key. */
	int (*parse)(const config_setting_t *s, void *base,
	             const struct dbk_keyctx *ctx, struct dbk_err *err);
	void (*free)(void *base);              /* DBK_T_CUSTOM */
};

/* A table row without the optional fields; append them after it, e.g.
 * { DBK_KEY("min_bloat", DBK_T_NUMBER, ..., "30", 0, "..."), .max = "100" }.
 * A table ends with { .name = NULL }. */
#define DBK_KEY(n, t, off, d, fl, h) \
	.name = (n), .type = (t), .offset = (off), .def = (d), .flags = (fl), \
	.help = (h)

/* Applies keys to group (NULL: the group is absent; every key takes its
 * default). base must start zeroed or hold what an earlier apply left.
 * Returns 0, or -1 with err = "file:line: what is wrong" (DBK_E_CONFIG).
 * On failure base may hold some allocations: free it with
 * dbk_keytab_free as usual. */
int dbk_keytab_apply(const struct dbk_key *keys, const config_setting_t *group,
                     void *base, const struct dbk_keyctx *ctx,
                     struct dbk_err *err) DBK_MUSTCHECK;

/* Frees what dbk_keytab_apply allocated in base and zeroes those fields.
 * NULL-safe. */
void dbk_keytab_free(const struct dbk_key *keys, void *base);

/* Calls fn for every key flagged DBK_KEY_RESTART whose value differs
 * between a and b (same table, both applied). Returns how many differ.
 * Groups are compared recursively; custom keys are not compared. */
unsigned dbk_keytab_changed(const struct dbk_key *keys, const void *a,
                            const void *b,
                            void (*fn)(const struct dbk_key *k, void *arg),
                            void *arg);

/* Fills err with "file:line: " + the formatted text, located at s (or at
 * ctx's file and line when s is NULL). Returns -1. */
int dbk_keytab_error(struct dbk_err *err, const config_setting_t *s,
                     const struct dbk_keyctx *ctx, const char *fmt, ...)
	DBK_PRINTF(4, 5);

/* Reads a libconfig file into cf (config_init'ed by the caller), with
 * @include relative to the file's directory. Returns 0, or -1 with err =
 * "FILE: cannot read: why" or "FILE:LINE: syntax error" (DBK_E_CONFIG). */
int dbk_keytab_read(config_t *cf, const char *path, struct dbk_err *err)
	DBK_MUSTCHECK;

/* The directory of path, absolute when path is relative (so a daemon that
 * changes directory later still finds what it names). Caller frees. */
char *dbk_keytab_dirname(const char *path);

/* "an integer", "a list": how a libconfig CONFIG_TYPE_* reads in a message. */
const char *dbk_keytab_type_name(int cfg_type);

/* Is name made of [A-Za-z0-9_.-] only, and neither empty, "." nor ".."?
 * Target, policy and queue names become file names. */
bool dbk_keytab_is_name(const char *name);

/* Checks one fnmatch pattern for table names; on failure writes why into
 * why ("pattern '*' would match every table") and returns false. */
bool dbk_keytab_glob_ok(const char *pattern, char *why, size_t len);

#endif
