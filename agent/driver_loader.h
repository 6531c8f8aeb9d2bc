/* agent/driver_loader.h: finds DRIVER.so in the driver directory, checks it
 * is safe to load and speaks our ABI, and validates a target's connection
 * options against the driver's option table. Never dlcloses (see STYLE). */
#ifndef DBK_DRIVER_LOADER_H
#define DBK_DRIVER_LOADER_H

#include "config.h"
#include "dbkeeper_driver.h"
#include "util.h"

/* The directory to load drivers from: $DBKEEPER_DRIVER_DIR, else the
 * config's driver_dir, else the built-in default. */
const char *dbk_driver_dir(const struct dbk_config *cfg);

/* Loads dir/name.so (name must be a plain word). Refuses a path that is not
 * a regular file, is group- or world-writable, lacks the entry symbol, has
 * another ABI major, a table too small or required ops missing. Loading the
 * same path twice returns the same table. */
const struct dbk_driver *dbk_driver_load(const char *dir, const char *name,
                                         struct dbk_err *err);
/* Loads an exact file (used by the ABI tests). */
const struct dbk_driver *dbk_driver_load_path(const char *path,
                                              struct dbk_err *err);

/* Checks every target: its driver loads and each connection option is one
 * the driver knows, with the right type. Errors name file:line. */
int dbk_driver_check_targets(const struct dbk_config *cfg, struct dbk_err *err)
	DBK_MUSTCHECK;

#endif
