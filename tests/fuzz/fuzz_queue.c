/* tests/fuzz/fuzz_queue.c: libFuzzer harness for the report queue's reader
 * (dbk_queue_scan, dbk_queue_get): files of any content never crash it,
 * each comes back as a record or is moved to bad/, and a record read back
 * is written anew with dbk_queue_put and reads back unchanged. */
#include "fuzz_common.h"

#include <jansson.h>

#include "queue.h"

#define FUZZ_MAX_INPUT (64 * 1024)
#define N_FILES 4

/* Ids with and without the leading time, and one far in the future. */
static const char *const names[N_FILES] = {
	"1700000000000.100_1.host.json",
	"1700000000001.100_2.host.json",
	"not-a-time-id.json",
	"9999999999999.1_1.h.json",
};
#define PUT_ID "1700000000005.1_1.fuzz.json"

static char *dir;
static struct dbk_queue *q;
static char *box[4]; /* tmp, new, cur, bad */

static void cleanup(void)
{
	dbk_queue_close(q);
	for (int i = 0; i < 4; i++) {
		fuzz_empty_dir(box[i]);
		rmdir(box[i]);
	}
	if (dir != NULL) {
		char *qd = dbk_xasprintf("%s/fuzz", dir);

		rmdir(qd);
		rmdir(dir);
		free(qd);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const boxes[4] = { "tmp", "new", "cur", "bad" };
	struct dbk_err err;

	(void)argc;
	(void)argv;
	dir = fuzz_tmpdir("queue");
	if ((q = dbk_queue_open(dir, "fuzz", &err)) == NULL) {
		fprintf(stderr, "queue: %s\n", err.msg);
		abort();
	}
	for (int i = 0; i < 4; i++)
		box[i] = dbk_xasprintf("%s/fuzz/%s", dir, boxes[i]);
	atexit(cleanup);
	return 0;
}

struct seen {
	bool file[N_FILES];
	unsigned calls;
};

static int on_record(void *ctx, const char *boxname, const char *id, json_t *rec)
{
	struct seen *s = ctx;

	FUZZ_CHECK(json_is_object(rec), "scan gave a non-object");
	FUZZ_CHECK(strcmp(boxname, "new") == 0 || strcmp(boxname, "cur") == 0,
	           "box %s", boxname);
	for (int i = 0; i < N_FILES; i++)
		if (strcmp(id, names[i]) == 0) {
			FUZZ_CHECK(!s->file[i], "%s visited twice", id);
			s->file[i] = true;
		}
	s->calls++;
	return 0;
}

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg != NULL && *msg != '\0', "empty warning");
}

static bool exists_in(int b, const char *name)
{
	char *p = dbk_xasprintf("%s/%s", box[b], name);
	struct stat st;
	bool yes = lstat(p, &st) == 0;

	free(p);
	return yes;
}

/* Splits data at "\n%%\n"; returns how many files were written. */
static int write_files(const uint8_t *data, size_t size, bool written[N_FILES])
{
	static const char sep[] = "\n%%\n";
	const size_t seplen = sizeof sep - 1;
	size_t start = 0;
	int n = 0;

	for (int i = 0; i < N_FILES && start <= size; i++) {
		size_t end = size;
		char *p = NULL;

		for (size_t j = start; i < N_FILES - 1 && j + seplen <= size; j++)
			if (memcmp(data + j, sep, seplen) == 0) {
				end = j;
				break;
			}
		p = dbk_xasprintf("%s/%s", box[i == N_FILES - 1 ? 2 : 1], names[i]);
		fuzz_write(p, data + start, end - start);
		free(p);
		written[i] = true;
		n++;
		start = end + seplen;
	}
	return n;
}

/* A filter from the first bytes: exercises the filter paths; the
 * invariants are checked on the unfiltered scan that follows. */
static void filtered_scan(const uint8_t *data, size_t size)
{
	struct dbk_queue_filter f;
	struct fuzz_in in = { data, size < 8 ? size : 8 };
	struct seen s = { { false }, 0 };
	struct dbk_err err;

	dbk_queue_filter_init(&f);
	f.include_new = fuzz_bool(&in);
	f.include_cur = fuzz_bool(&in);
	f.kind = (int)fuzz_range(&in, -1, 4);
	f.min_severity = (int)fuzz_range(&in, -1, 3);
	f.target = fuzz_bool(&in) ? "pg" : NULL;
	f.since_ms = fuzz_bool(&in) ? INT64_C(1700000000001) : 0;
	f.until_ms = fuzz_bool(&in) ? INT64_C(1700000000001) : 0;
	FUZZ_CHECK(dbk_queue_scan(q, &f, on_record, on_warn, &s, &err) == 0,
	           "filtered scan failed: %s", err.msg);
}

/* A record read back is written anew under another id and must read back
 * equal: serialization must not lose or alter anything. */
static void round_trip(const char *id)
{
	struct dbk_err err;
	json_t *rec = dbk_queue_get(q, id, NULL, &err), *copy = NULL, *back = NULL;

	FUZZ_CHECK(rec != NULL, "scan read %s, get did not: %s", id, err.msg);
	copy = json_deep_copy(rec);
	json_object_set_new(copy, "id", json_string(PUT_ID));
	if (dbk_queue_put(q, copy, &err) == 0) {
		back = dbk_queue_get(q, PUT_ID, NULL, &err);
		FUZZ_CHECK(back != NULL, "put record unreadable: %s", err.msg);
		FUZZ_CHECK(json_equal(back, copy), "record changed on its way");
		json_decref(back);
	} else {
		/* Only a record over the size limit may be refused. */
		FUZZ_CHECK(strstr(err.msg, "limit") != NULL, "put refused: %s",
		           err.msg);
	}
	FUZZ_CHECK(fuzz_count_dir(box[0]) == 0, "put left a file in tmp/");
	json_decref(copy);
	json_decref(rec);
}

/* The input, split at lines holding only "%%", gives up to four files:
 * three dropped into new/, the fourth into cur/. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool written[N_FILES] = { false };
	struct seen s = { { false }, 0 };
	struct dbk_err err;
	unsigned removed = 0;
	int n = 0, first = -1;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	for (int i = 0; i < 4; i++)
		fuzz_empty_dir(box[i]);
	n = write_files(data, size, written);

	filtered_scan(data, size);
	FUZZ_CHECK(dbk_queue_scan(q, NULL, on_record, on_warn, &s, &err) == 0,
	           "scan failed: %s", err.msg);
	for (int i = 0; i < N_FILES; i++) {
		bool in_box = exists_in(1, names[i]) || exists_in(2, names[i]);
		bool in_bad = exists_in(3, names[i]);

		if (!written[i])
			continue;
		/* Read: still in place. Not read: set aside in bad/. Never both,
		 * never neither. */
		FUZZ_CHECK(s.file[i] == in_box && in_box != in_bad,
		           "%s: read %d, in box %d, in bad %d", names[i], s.file[i],
		           in_box, in_bad);
		if (!s.file[i])
			FUZZ_CHECK(dbk_queue_get(q, names[i], NULL, &err) == NULL,
			           "get found a file scan set aside");
		else if (first == -1)
			first = i;
	}
	FUZZ_CHECK(s.calls <= (unsigned)n, "%u records from %d files", s.calls, n);
	if (first != -1) {
		round_trip(names[first]);
		FUZZ_CHECK(dbk_queue_ack(q, names[first], &err) == 0, "ack: %s",
		           err.msg);
	}
	FUZZ_CHECK(dbk_queue_prune(q, INT64_C(1700000000000) + 86400000,
	                           3600000, &removed, &err) == 0, "prune: %s",
	           err.msg);
	return 0;
}
