/* agent/queue.h: the durable report queue. A maildir-style spool per queue
 * (tmp/, new/, cur/): a record is written to tmp/, fsynced, renamed into
 * new/, and the directory fsynced; ack moves it to cur/. One JSON object per
 * file. A reader never sees a partial record; a file that does not parse is
 * moved aside to bad/ with a warning, never a crash. */
#ifndef DBK_QUEUE_H
#define DBK_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define DBK_RECORD_SCHEMA 1

enum dbk_rec_kind {
	DBK_REC_FINDING = 0,
	DBK_REC_ACTION,
	DBK_REC_METRICS,
	DBK_REC_RUN,
};
const char *dbk_rec_kind_name(int kind);
int dbk_rec_kind_parse(const char *s); /* -1 when unknown */

struct dbk_queue;

/* Opens (creating when missing) dir/name with tmp/ new/ cur/ bad/. */
struct dbk_queue *dbk_queue_open(const char *dir, const char *name,
                                 struct dbk_err *err);
void dbk_queue_close(struct dbk_queue *q);
const char *dbk_queue_name(const struct dbk_queue *q);

/* A new record object with schema, id, time, host, kind, target, policy
 * filled in (policy may be NULL). The caller adds fields and owns it. */
json_t *dbk_record_new(struct dbk_queue *q, int kind, const char *target,
                       const char *policy);

/* Writes rec durably into new/. Returns 0 once the record is on disk, or -1
 * with *err set and nothing visible. Does not steal the reference. */
int dbk_queue_put(struct dbk_queue *q, json_t *rec, struct dbk_err *err)
	DBK_MUSTCHECK;

/* Which records a scan visits. Zero/NULL fields do not filter. */
struct dbk_queue_filter {
	bool include_new;
	bool include_cur;
	const char *target;
	int kind;          /* -1: any */
	int min_severity;  /* -1: any; records without severity pass only at -1 */
	int64_t since_ms;  /* 0: no bound */
	int64_t until_ms;  /* 0: no bound */
};
void dbk_queue_filter_init(struct dbk_queue_filter *f); /* everything */

/* Calls fn for each matching record in id (time) order, with the record and
 * the box it is in ("new" or "cur"). fn returns 0 to go on, non-zero to
 * stop. Unparsable files are moved to bad/ and reported through warn. */
typedef int (*dbk_queue_fn)(void *ctx, const char *box, const char *id,
                            json_t *rec);
typedef void (*dbk_queue_warn_fn)(void *ctx, const char *msg);
int dbk_queue_scan(struct dbk_queue *q, const struct dbk_queue_filter *f,
                   dbk_queue_fn fn, dbk_queue_warn_fn warn, void *ctx,
                   struct dbk_err *err) DBK_MUSTCHECK;

/* Reads one record by id from new/ or cur/. */
json_t *dbk_queue_get(struct dbk_queue *q, const char *id, const char **box,
                      struct dbk_err *err);
/* Moves new/id to cur/id. Acking an already acked record is not an error. */
int dbk_queue_ack(struct dbk_queue *q, const char *id, struct dbk_err *err)
	DBK_MUSTCHECK;
/* Removes records (new and cur) older than now_ms - retention_ms, and tmp/
 * leftovers older than an hour. *removed counts records removed. */
int dbk_queue_prune(struct dbk_queue *q, int64_t now_ms, int64_t retention_ms,
                    unsigned *removed, struct dbk_err *err) DBK_MUSTCHECK;

#endif
