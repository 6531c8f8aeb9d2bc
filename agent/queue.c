/* agent/queue.c: the maildir-style report spool: record ids, durable puts
 * (tmp/ + fsync + rename + fsync dir), ordered filtered scans that set
 * unreadable files aside in bad/, ack and prune. It knows nothing of what a
 * record means beyond the few fields it filters on. */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX_RECORD (1024 * 1024) /* larger files are set aside */
#define QUEUE_TMP_MAX_AGE_MS (3600 * 1000)
#define QUEUE_ID_TIME_DIGITS 13

enum { BOX_TMP = 0, BOX_NEW, BOX_CUR, BOX_BAD, BOX_COUNT };
static const char *const box_names[BOX_COUNT] = { "tmp", "new", "cur", "bad" };

struct dbk_queue {
	char *name;
	char *path;               /* dir/name, for messages */
	int fd[BOX_COUNT];        /* the four box directories */
	char host[64];            /* short host name, safe in a file name */
	atomic_uint seq;
};

static const char *const kind_names[] = { "finding", "action", "metrics", "run" };

/* The severity order of planner.h's enum dbk_severity, repeated here so the
 * queue does not depend on the planner. */
static const char *const sev_names[] = { "info", "warning", "critical" };

const char *dbk_rec_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= DBK_NELEM(kind_names))
		return NULL;
	return kind_names[kind];
}

int dbk_rec_kind_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < DBK_NELEM(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

static int sev_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < DBK_NELEM(sev_names); i++)
		if (strcmp(s, sev_names[i]) == 0)
			return (int)i;
	return -1;
}

/* A file name we are willing to use as an id: no path tricks, no hidden
 * files (tmp names of other tools), nothing too long for a directory entry. */
static bool id_valid(const char *id)
{
	return id != NULL && id[0] != '\0' && id[0] != '.' &&
	       strchr(id, '/') == NULL && strlen(id) < NAME_MAX;
}

static bool has_json_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The record time encoded in an id's first 13 digits; -1 when the name does
 * not start that way (then only the parsed time_ms can filter it). */
static int64_t id_time_ms(const char *id)
{
	int64_t t = 0;

	for (int i = 0; i < QUEUE_ID_TIME_DIGITS; i++) {
		if (id[i] < '0' || id[i] > '9')
			return -1;
		t = t * 10 + (id[i] - '0');
	}
	return id[QUEUE_ID_TIME_DIGITS] == '.' ? t : -1;
}

static void host_init(char *buf, size_t len)
{
	char raw[256] = "";
	size_t n = 0;

	if (gethostname(raw, sizeof raw - 1) == -1)
		raw[0] = '\0';
	for (const char *s = raw; *s != '\0' && *s != '.' && n + 1 < len; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		          (*s >= '0' && *s <= '9') || *s == '-';

		buf[n++] = ok ? *s : '-';
	}
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, len, "localhost");
}

/* Two handles on one queue in one process could draw the same pid and
 * millisecond; a random start keeps their sequences apart. */
static unsigned seq_start(const struct dbk_queue *q)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (unsigned)dbk_monotonic_ms() ^ (unsigned)(uintptr_t)q;
	return r % 1000000u;
}

struct dbk_queue *dbk_queue_open(const char *dir, const char *name,
                                 struct dbk_err *err)
{
	struct dbk_queue *q = NULL;
	int i = 0;

	if (dir == NULL || dir[0] == '\0') {
		dbk_err_set(err, DBK_E_CONFIG, "queue: no queue directory configured");
		return NULL;
	}
	if (!id_valid(name)) {
		dbk_err_set(err, DBK_E_CONFIG, "queue name '%s' is not a plain file name",
		            name ? name : "");
		return NULL;
	}
	q = dbk_xcalloc(1, sizeof *q);
	for (i = 0; i < BOX_COUNT; i++)
		q->fd[i] = -1;
	q->name = dbk_xstrdup(name);
	q->path = dbk_xasprintf("%s/%s", dir, name);
	host_init(q->host, sizeof q->host);
	atomic_init(&q->seq, seq_start(q));
	if (dbk_mkdirs(q->path, 0750, err) == -1)
		goto fail;
	for (i = 0; i < BOX_COUNT; i++) {
		char *p = dbk_xasprintf("%s/%s", q->path, box_names[i]);

		if (mkdir(p, 0750) == -1 && errno != EEXIST) {
			dbk_err_errno(err, "queue %s: create directory %s", name, p);
			free(p);
			goto fail;
		}
		q->fd[i] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (q->fd[i] == -1) {
			dbk_err_errno(err, "queue %s: open directory %s", name, p);
			free(p);
			goto fail;
		}
		free(p);
	}
	return q;
fail:
	dbk_queue_close(q);
	return NULL;
}

void dbk_queue_close(struct dbk_queue *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < BOX_COUNT; i++)
		if (q->fd[i] != -1)
			close(q->fd[i]);
	free(q->path);
	free(q->name);
	free(q);
}

const char *dbk_queue_name(const struct dbk_queue *q)
{
	return q->name;
}

static void iso_time(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm = { 0 };
	size_t n = 0;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

json_t *dbk_record_new(struct dbk_queue *q, int kind, const char *target,
                       const char *policy)
{
	int64_t now = dbk_now_ms();
	unsigned seq = atomic_fetch_add(&q->seq, 1);
	const char *kname = dbk_rec_kind_name(kind);
	json_t *rec = json_object();
	char id[128], when[40];

	snprintf(id, sizeof id, "%013lld.%d_%u.%s.json", (long long)now,
	         (int)getpid(), seq, q->host);
	iso_time(now, when, sizeof when);
	json_object_set_new(rec, "schema", json_integer(DBK_RECORD_SCHEMA));
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "time", json_string(when));
	json_object_set_new(rec, "time_ms", json_integer(now));
	json_object_set_new(rec, "host", json_string(q->host));
	/* An unknown kind is left out, so dbk_queue_put refuses the record. */
	if (kname != NULL)
		json_object_set_new(rec, "kind", json_string(kname));
	json_object_set_new(rec, "target", target ? json_string(target) : json_null());
	json_object_set_new(rec, "policy", policy ? json_string(policy) : json_null());
	return rec;
}

/* The fields every reader relies on; NULL when fine, else why not. */
static const char *record_problem(const json_t *rec)
{
	const json_t *id = json_object_get(rec, "id");

	if (!json_is_object(rec))
		return "not a JSON object";
	if (!json_is_string(id) || !id_valid(json_string_value(id)))
		return "no valid \"id\"";
	if (dbk_rec_kind_parse(json_string_value(json_object_get(rec, "kind"))) < 0)
		return "no valid \"kind\"";
	if (!json_is_integer(json_object_get(rec, "time_ms")))
		return "no integer \"time_ms\"";
	return NULL;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves tmp/id to new/id without replacing a record already there (ids are
 * unique; a clash must fail, not silently lose the older record). File
 * systems without RENAME_NOREPLACE fall back to a plain rename. */
static int publish(struct dbk_queue *q, const char *id)
{
	if (renameat2(q->fd[BOX_TMP], id, q->fd[BOX_NEW], id, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	return renameat(q->fd[BOX_TMP], id, q->fd[BOX_NEW], id);
}

int dbk_queue_put(struct dbk_queue *q, json_t *rec, struct dbk_err *err)
{
	const char *problem = record_problem(rec);
	const char *id = NULL;
	char *json = NULL;
	size_t len = 0;
	int fd = -1, rc = -1;
	bool created = false, in_new = false;

	if (problem != NULL)
		return dbk_err_set(err, DBK_E_INTERNAL, "queue %s: refusing record: %s",
		                   q->name, problem);
	id = json_string_value(json_object_get(rec, "id"));
	if (!has_json_suffix(id))
		return dbk_err_set(err, DBK_E_INTERNAL,
		                   "queue %s: refusing record %s: id must end in .json",
		                   q->name, id);
	if ((json = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return dbk_err_set(err, DBK_E_INTERNAL,
		                   "queue %s: record %s cannot be serialized", q->name, id);
	len = strlen(json);
	json = dbk_xrealloc(json, len + 2);
	json[len++] = '\n';
	json[len] = '\0';
	if (len > QUEUE_MAX_RECORD) {
		dbk_err_set(err, DBK_E_INTERNAL, "queue %s: record %s is %zu bytes, "
		            "over the 1 MiB limit", q->name, id, len);
		goto out;
	}
	fd = openat(q->fd[BOX_TMP], id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd == -1) {
		dbk_err_errno(err, "queue %s: create tmp/%s", q->name, id);
		goto out;
	}
	created = true;
	if (write_all(fd, json, len) == -1 || fsync(fd) == -1) {
		dbk_err_errno(err, "queue %s: write tmp/%s", q->name, id);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		dbk_err_errno(err, "queue %s: close tmp/%s", q->name, id);
		goto out;
	}
	fd = -1;
	if (publish(q, id) == -1) {
		dbk_err_errno(err, "queue %s: rename tmp/%s into new/", q->name, id);
		goto out;
	}
	in_new = true;
	if (fsync(q->fd[BOX_NEW]) == -1) {
		dbk_err_errno(err, "queue %s: fsync new/", q->name);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	/* Nothing visible on failure: the caller will retry or report it. */
	if (rc == -1 && in_new)
		unlinkat(q->fd[BOX_NEW], id, 0);
	else if (rc == -1 && created)
		unlinkat(q->fd[BOX_TMP], id, 0);
	free(json);
	return rc;
}

void dbk_queue_filter_init(struct dbk_queue_filter *f)
{
	memset(f, 0, sizeof *f);
	f->include_new = true;
	f->include_cur = true;
	f->kind = -1;
	f->min_severity = -1;
}

/* Result of reading one file. */
enum rd_result { RD_OK = 0, RD_GONE, RD_BAD, RD_IOERR };

/* Reads at most QUEUE_MAX_RECORD bytes of fd into a buffer the caller
 * frees. RD_BAD when the file is larger, RD_IOERR when read fails. */
static enum rd_result read_capped(int fd, char **out, size_t *len, char *reason,
                                  size_t rlen)
{
	char *buf = dbk_xmalloc(QUEUE_MAX_RECORD + 1);
	size_t n = 0;

	for (;;) {
		ssize_t got = read(fd, buf + n, QUEUE_MAX_RECORD + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(reason, rlen, "%s", strerror(errno));
			free(buf);
			return RD_IOERR;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > QUEUE_MAX_RECORD) {
			snprintf(reason, rlen, "larger than 1 MiB");
			free(buf);
			return RD_BAD;
		}
	}
	*out = buf;
	*len = n;
	return RD_OK;
}

/* Parses and checks one record's bytes; NULL with reason when unusable. */
static json_t *parse_record(const char *buf, size_t n, char *reason, size_t rlen)
{
	json_error_t jerr;
	json_t *rec = NULL;
	const char *problem = NULL;

	if (n == 0) {
		snprintf(reason, rlen, "empty file");
		return NULL;
	}
	if ((rec = json_loadb(buf, n, 0, &jerr)) == NULL) {
		snprintf(reason, rlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return NULL;
	}
	if ((problem = record_problem(rec)) != NULL) {
		snprintf(reason, rlen, "%s", problem);
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* Reads and checks box/name. RD_BAD: the content is unusable (why in
 * reason), so the file belongs in bad/. RD_IOERR: we could not read it (a
 * permission problem, say), which says nothing about the record. O_NONBLOCK
 * keeps a FIFO someone dropped in from blocking the scan. */
static enum rd_result read_record(int dirfd, const char *name, json_t **out,
                                  char *reason, size_t rlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	enum rd_result res = RD_BAD;
	struct stat st = { 0 };
	char *buf = NULL;
	size_t n = 0;

	if (fd == -1 && errno == ENOENT)
		return RD_GONE; /* acked or pruned meanwhile */
	if (fd == -1 && errno == ELOOP) {
		snprintf(reason, rlen, "a symbolic link");
		return RD_BAD;
	}
	if (fd == -1) {
		snprintf(reason, rlen, "%s", strerror(errno));
		return RD_IOERR;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(reason, rlen, "%s", strerror(errno));
		res = RD_IOERR;
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(reason, rlen, "not a regular file");
	} else if ((res = read_capped(fd, &buf, &n, reason, rlen)) == RD_OK) {
		*out = parse_record(buf, n, reason, rlen);
		res = *out != NULL ? RD_OK : RD_BAD;
	}
	free(buf);
	close(fd);
	return res;
}

struct entry {
	char *name;
	int box;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : x->box - y->box;
}

/* Appends box's file names (hidden ones skipped; only *.json when
 * json_only) to *v. */
static int list_box(struct dbk_queue *q, int box, bool json_only,
                    struct entry **v, size_t *n, struct dbk_err *err)
{
	int fd = openat(q->fd[box], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = NULL;
	struct dirent *de = NULL;

	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		dbk_err_errno(err, "queue %s: list %s/", q->name, box_names[box]);
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (json_only && !has_json_suffix(de->d_name)))
			continue;
		*v = dbk_xrealloc(*v, (*n + 1) * sizeof **v);
		(*v)[*n].name = dbk_xstrdup(de->d_name);
		(*v)[(*n)++].box = box;
	}
	if (errno != 0) {
		dbk_err_errno(err, "queue %s: read %s/", q->name, box_names[box]);
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

static void entries_free(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static bool time_in(const struct dbk_queue_filter *f, int64_t t)
{
	return (f->since_ms == 0 || t >= f->since_ms) &&
	       (f->until_ms == 0 || t < f->until_ms);
}

static bool record_matches(const struct dbk_queue_filter *f, json_t *rec)
{
	const char *target = json_string_value(json_object_get(rec, "target"));
	const char *sev = json_string_value(json_object_get(rec, "severity"));

	if (!time_in(f, json_integer_value(json_object_get(rec, "time_ms"))))
		return false;
	if (f->target != NULL && (target == NULL || strcmp(target, f->target) != 0))
		return false;
	if (f->kind >= 0 &&
	    dbk_rec_kind_parse(json_string_value(json_object_get(rec, "kind"))) != f->kind)
		return false;
	if (f->min_severity >= 0 && sev_parse(sev) < f->min_severity)
		return false;
	return true;
}

static void warnf(dbk_queue_warn_fn warn, void *ctx, const char *fmt, ...)
	DBK_PRINTF(3, 4);

static void warnf(dbk_queue_warn_fn warn, void *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	warn(ctx, msg);
}

/* A file that does not hold a record goes to bad/, where it no longer
 * disturbs readers and an operator can look at it. */
static void set_aside(struct dbk_queue *q, const struct entry *e,
                      const char *reason, dbk_queue_warn_fn warn, void *ctx)
{
	if (renameat(q->fd[e->box], e->name, q->fd[BOX_BAD], e->name) == 0)
		warnf(warn, ctx, "queue %s: moved unreadable record %s to bad/: %s",
		      q->name, e->name, reason);
	else if (errno != ENOENT)
		warnf(warn, ctx, "queue %s: unreadable record %s/%s (%s) could not be "
		      "moved to bad/: %s", q->name, box_names[e->box], e->name, reason,
		      strerror(errno));
}

int dbk_queue_scan(struct dbk_queue *q, const struct dbk_queue_filter *f,
                   dbk_queue_fn fn, dbk_queue_warn_fn warn, void *ctx,
                   struct dbk_err *err)
{
	struct dbk_queue_filter all;
	struct entry *v = NULL;
	size_t n = 0;
	int rc = -1;

	if (f == NULL) {
		dbk_queue_filter_init(&all);
		f = &all;
	}
	if ((f->include_new && list_box(q, BOX_NEW, true, &v, &n, err) == -1) ||
	    (f->include_cur && list_box(q, BOX_CUR, true, &v, &n, err) == -1))
		goto out;
	if (n > 0)
		qsort(v, n, sizeof *v, entry_cmp);
	for (size_t i = 0; i < n; i++) {
		int64_t t = id_time_ms(v[i].name);
		json_t *rec = NULL;
		char reason[256] = "";
		enum rd_result r = RD_GONE;
		int stop = 0;

		/* The id carries the time: skip without opening the file. */
		if (t >= 0 && !time_in(f, t))
			continue;
		r = read_record(q->fd[v[i].box], v[i].name, &rec, reason, sizeof reason);
		if (r == RD_BAD)
			set_aside(q, &v[i], reason, warn, ctx);
		else if (r == RD_IOERR)
			warnf(warn, ctx, "queue %s: cannot read %s/%s: %s", q->name,
			      box_names[v[i].box], v[i].name, reason);
		if (r != RD_OK)
			continue;
		if (record_matches(f, rec))
			stop = fn(ctx, box_names[v[i].box], v[i].name, rec);
		json_decref(rec);
		if (stop != 0)
			break;
	}
	rc = 0;
out:
	entries_free(v, n);
	return rc;
}

json_t *dbk_queue_get(struct dbk_queue *q, const char *id, const char **box,
                      struct dbk_err *err)
{
	static const int boxes[] = { BOX_NEW, BOX_CUR };

	if (!id_valid(id)) {
		dbk_err_set(err, DBK_E_CONFIG, "queue %s: invalid record id '%s'",
		            q->name, id ? id : "");
		return NULL;
	}
	for (size_t i = 0; i < DBK_NELEM(boxes); i++) {
		json_t *rec = NULL;
		char reason[256] = "";

		switch (read_record(q->fd[boxes[i]], id, &rec, reason, sizeof reason)) {
		case RD_OK:
			if (box != NULL)
				*box = box_names[boxes[i]];
			return rec;
		case RD_GONE:
			continue;
		case RD_BAD:
		case RD_IOERR:
			dbk_err_set(err, DBK_E_IO, "queue %s: record %s in %s/ is unreadable: %s",
			            q->name, id, box_names[boxes[i]], reason);
			return NULL;
		}
	}
	dbk_err_set(err, DBK_E_IO, "queue %s: no record %s", q->name, id);
	return NULL;
}

int dbk_queue_ack(struct dbk_queue *q, const char *id, struct dbk_err *err)
{
	struct stat st = { 0 };

	if (!id_valid(id))
		return dbk_err_set(err, DBK_E_CONFIG, "queue %s: invalid record id '%s'",
		                   q->name, id ? id : "");
	if (renameat(q->fd[BOX_NEW], id, q->fd[BOX_CUR], id) == 0) {
		/* Without this an acked record could reappear in new/ after a crash:
		 * harmless (it is reported twice), so a failure is not an error. */
		(void)fsync(q->fd[BOX_CUR]);
		return 0;
	}
	if (errno != ENOENT)
		return dbk_err_errno(err, "queue %s: move %s to cur/", q->name, id);
	if (fstatat(q->fd[BOX_CUR], id, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return dbk_err_set(err, DBK_E_IO, "queue %s: no record %s", q->name, id);
}

/* Removes the files of one box older than cutoff_ms, by the time in their
 * name or, with by_mtime, by their modification time. */
static int prune_box(struct dbk_queue *q, int box, int64_t cutoff_ms,
                     bool by_mtime, unsigned *removed, struct dbk_err *err)
{
	struct entry *v = NULL;
	size_t n = 0;
	int rc = -1;

	if (list_box(q, box, false, &v, &n, err) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int64_t t = id_time_ms(v[i].name);
		struct stat st = { 0 };

		if (by_mtime) {
			if (fstatat(q->fd[box], v[i].name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
			    S_ISDIR(st.st_mode))
				continue;
			t = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		}
		if (t < 0 || t >= cutoff_ms)
			continue;
		if (unlinkat(q->fd[box], v[i].name, 0) == -1) {
			if (errno == ENOENT)
				continue;
			dbk_err_errno(err, "queue %s: remove %s/%s", q->name,
			              box_names[box], v[i].name);
			goto out;
		}
		(*removed)++;
	}
	rc = 0;
out:
	entries_free(v, n);
	return rc;
}

int dbk_queue_prune(struct dbk_queue *q, int64_t now_ms, int64_t retention_ms,
                    unsigned *removed, struct dbk_err *err)
{
	int64_t cutoff = now_ms - retention_ms;
	unsigned count = 0, tmp_count = 0;

	/* Records age by the time in their id; bad/ and tmp/ files may have any
	 * name, so they age by mtime. A tmp/ file older than an hour belongs to
	 * a writer that died; it never became a record, so it is not counted. */
	if (prune_box(q, BOX_NEW, cutoff, false, &count, err) == -1 ||
	    prune_box(q, BOX_CUR, cutoff, false, &count, err) == -1 ||
	    prune_box(q, BOX_BAD, cutoff, true, &count, err) == -1 ||
	    prune_box(q, BOX_TMP, now_ms - QUEUE_TMP_MAX_AGE_MS, true, &tmp_count,
	              err) == -1)
		return -1;
	if (removed != NULL)
		*removed = count;
	return 0;
}
