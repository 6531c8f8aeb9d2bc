/* drivers/postgres/pgd_purge.c: deleting old rows in small batches (each a
 * short transaction, so locks and WAL stay small and replicas keep up) and
 * removing old server log files from the log directory on this host.
 * Retention and batch size come from the action; nothing is decided here. */
#include "pgd_purge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgd_action.h"
#include "pgd_logfile.h"

#define PGD_LOCK_RETRIES 3
#define PGD_MIN_PAUSE_MS 100

struct pgd_batcher {
	int64_t batches;
	int64_t lag_paused_ms;
	int locked; /* lock timeouts in a row */
	bool finished;
};

static bool pgd_past(int64_t deadline_ms)
{
	return deadline_ms > 0 && pgd_monotonic_ms() >= deadline_ms;
}

static int64_t pgd_pause(const struct dbk_action *a)
{
	return a->pause_ms > PGD_MIN_PAUSE_MS ? a->pause_ms : PGD_MIN_PAUSE_MS;
}

static int pgd_replica_lag(struct dbk_conn *c, int64_t *lag_ms, struct dbk_err *err)
{
	PGresult *res = NULL;

	if (pgd_exec(c, "SELECT coalesce(max(extract(epoch FROM r.replay_lag) * 1000), 0)::bigint"
	    " FROM pg_catalog.pg_stat_replication r", 0, NULL, &res, "replica lag", err) == -1)
		return -1;
	*lag_ms = pgd_int(res, 0, 0, 0);
	PQclear(res);
	return 0;
}

/* Waits while a replica lags more than allowed. false: stop (deadline or
 * cancel); err->code set when a query failed. */
static bool pgd_wait_replicas(struct dbk_conn *c, struct pgd_run *r,
                              struct pgd_batcher *b, struct dbk_err *err)
{
	const struct dbk_action *a = r->a;
	int64_t lag = 0;

	if (a->max_replica_lag_ms <= 0)
		return true;
	for (;;) {
		if (pgd_replica_lag(c, &lag, err) == -1)
			return false;
		if (lag <= a->max_replica_lag_ms)
			return true;
		if (pgd_past(a->deadline_ms) || !pgd_sleep(c, pgd_pause(a)))
			return false;
		b->lag_paused_ms += pgd_pause(a);
	}
}

/* One batch. Returns -1 when the loop must end (status and note set, or
 * err for a lost connection with err->code DBK_E_CONNECT). */
static int pgd_batch(struct dbk_conn *c, struct pgd_run *r, struct pgd_batcher *b,
                     struct dbk_err *err)
{
	const struct dbk_action *a = r->a;
	PGresult *res = NULL;
	struct dbk_err e;
	int64_t n = 0;

	memset(&e, 0, sizeof e);
	if (pgd_exec(c, a->sql, 0, NULL, &res, "purge batch", &e) == 0) {
		n = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		r->o.rows += n;
		pgd_progress(c, "deleting", r->o.rows, -1); /* no cheap total */
		b->batches++;
		b->locked = 0;
		b->finished = n < a->batch_rows;
		return 0;
	}
	if (e.code == DBK_E_LOCK_TIMEOUT && ++b->locked <= PGD_LOCK_RETRIES)
		return 0; /* try again after the pause */
	if (e.code == DBK_E_CONNECT) {
		*err = e;
		return -1;
	}
	r->o.stopped_early = true;
	if (e.code == DBK_E_CANCELLED) {
		r->status[0] = DBK_OBJ_DONE;
		pgd_run_note(r, "cancelled");
	} else if (e.code == DBK_E_LOCK_TIMEOUT) {
		r->status[0] = DBK_OBJ_SKIPPED_LOCKED;
		pgd_run_note(r, "lock not granted %d times in a row", b->locked);
	} else {
		r->status[0] = DBK_OBJ_FAILED;
		pgd_run_note(r, "%s", e.msg);
	}
	return -1;
}

/* The batch loop. -1 only for a lost connection (err set). */
static int pgd_purge_loop(struct dbk_conn *c, struct pgd_run *r, struct dbk_err *err)
{
	const struct dbk_action *a = r->a;
	struct pgd_batcher b = { 0 };

	while (r->status[0] == DBK_OBJ_PENDING) {
		if (pgd_cancelled(c) || pgd_past(a->deadline_ms) ||
		    !pgd_wait_replicas(c, r, &b, err)) {
			if (err->code == DBK_E_CONNECT)
				return -1;
			r->o.stopped_early = true;
			r->status[0] = err->code ? DBK_OBJ_FAILED : DBK_OBJ_DONE;
			pgd_run_note(r, "%s", err->code ? err->msg :
			    pgd_cancelled(c) ? "cancelled" : "stopped at the deadline");
			break;
		}
		if (pgd_batch(c, r, &b, err) == -1) {
			if (err->code == DBK_E_CONNECT)
				return -1;
			break;
		}
		if (b.finished)
			r->status[0] = DBK_OBJ_DONE;
		else
			pgd_sleep(c, b.locked ? pgd_pause(a) : a->pause_ms);
	}
	pgd_run_note(r, "deleted %" PRId64 " rows in %" PRId64 " batches", r->o.rows, b.batches);
	if (b.lag_paused_ms > 0)
		pgd_run_note(r, "paused %" PRId64 " ms for replica lag", b.lag_paused_ms);
	return 0;
}

int pgd_purge_rows(struct dbk_conn *c, const struct dbk_action *a,
                   struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	uint64_t oid = 0;
	int rc = -1;

	if (pgd_action_start(c, a, 1, 1, err) == -1)
		return -1;
	pgd_run_init(&r, a);
	if (pgd_recheck(c, a->objects, 1, "rp", &oid, NULL, r.status, err) == -1)
		goto out;
	if (r.status[0] == DBK_OBJ_PENDING) {
		if (pgd_set_timeouts(c, a->lock_timeout_ms, a->statement_timeout_ms, err) == -1)
			goto out;
		memset(err, 0, sizeof *err);
		rc = pgd_purge_loop(c, &r, err);
		pgd_reset_timeouts(c);
		if (rc == -1) {
			size_t used = strlen(err->msg);

			snprintf(err->msg + used, sizeof err->msg - used,
			    " (after deleting %" PRId64 " rows)", r.o.rows);
			goto out;
		}
	} else {
		pgd_run_note(&r, "table changed or gone since observation");
	}
	pgd_run_finish(&r, out);
	rc = 0;
out:
	if (rc == -1)
		pgd_run_free(&r);
	return rc;
}

/* ---- Server log files ---- */

static int pgd_keep_log(struct pgd_run *r, size_t i, const char *why)
{
	r->status[i] = DBK_OBJ_SKIPPED_CHANGED;
	pgd_run_note(r, "kept %s: %s", r->a->objects[i].name ? r->a->objects[i].name : "", why);
	return 0;
}

/* Removes one file if it is still an old, idle log file. -1: stop with
 * err (the directory refuses writes). */
static int pgd_unlink_log(struct dbk_conn *c, struct pgd_run *r, size_t i, int dirfd,
                          const struct pgd_logcfg *cfg, struct dbk_err *err)
{
	const char *name = r->a->objects[i].name;
	struct stat st;

	if (!pgd_logcfg_matches(cfg, name))
		return pgd_keep_log(r, i, "not a server log file");
	if (pgd_logcfg_in_use(cfg, name))
		return pgd_keep_log(r, i, "in use");
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return pgd_keep_log(r, i, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return pgd_keep_log(r, i, "not a regular file");
	if (st.st_mtime >= r->a->cutoff)
		return pgd_keep_log(r, i, "written since the cutoff");
	if (unlinkat(dirfd, name, 0) == -1) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			return pgd_err_set(err, DBK_E_IO, "%s: cannot remove %s/%s: %s (the agent"
			    " needs write access to the server's log directory)", c->target,
			    cfg->dir, name, strerror(errno));
		r->status[i] = DBK_OBJ_FAILED;
		pgd_run_note(r, "%s: %s", name, strerror(errno));
		return 0;
	}
	r->status[i] = DBK_OBJ_DONE;
	r->o.bytes_before += st.st_size;
	return 0;
}

int pgd_purge_server_logs(struct dbk_conn *c, const struct dbk_action *a,
                          struct dbk_outcome *out, struct dbk_err *err)
{
	struct pgd_run r;
	struct pgd_logcfg cfg;
	int dirfd = -1, rc = -1;

	memset(&cfg, 0, sizeof cfg);
	if (pgd_action_start(c, a, 1, SIZE_MAX, err) == -1)
		return -1;
	pgd_run_init(&r, a);
	if (pgd_logcfg_load(c, &cfg, err) == -1)
		goto out;
	if ((dirfd = open(cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		pgd_err_set(err, DBK_E_IO, "%s: cannot open the server log directory %s: %s"
		    " (dbkeeper must run on the database host with access to it)",
		    c->target, cfg.dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < a->n_objects && !pgd_cancelled(c); i++)
		if (pgd_unlink_log(c, &r, i, dirfd, &cfg, err) == -1)
			goto out;
	if (pgd_cancelled(c)) {
		r.o.stopped_early = true;
		pgd_run_note(&r, "cancelled");
	}
	pgd_run_note(&r, "removed %zu of %zu files", pgd_run_count(&r, DBK_OBJ_DONE), a->n_objects);
	pgd_run_finish(&r, out);
	rc = 0;
out:
	if (rc == -1)
		pgd_run_free(&r);
	if (dirfd != -1)
		close(dirfd);
	pgd_logcfg_free(&cfg);
	return rc;
}
