/* tests/fuzz/fuzz_common.h: what every libFuzzer harness shares: a reader
 * that turns the fuzzer's bytes into numbers and strings (never reading past
 * the end, running dry into zeros), a private scratch directory per process
 * and a check that aborts loudly, so libFuzzer records the input. */
#ifndef DBK_FUZZ_COMMON_H
#define DBK_FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test broke: say which, then abort so
 * libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz invariant %s failed at %s:%d: ", \
			        #cond, __FILE__, __LINE__);                  \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			abort();                                             \
		}                                                            \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = (v << 8) | fuzz_u8(in);
	return v;
}

static inline bool fuzz_bool(struct fuzz_in *in)
{
	return fuzz_u8(in) & 1;
}

/* A number in [lo, hi]. */
static inline int64_t fuzz_range(struct fuzz_in *in, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo;

	if (span == UINT64_MAX)
		return (int64_t)fuzz_u64(in, 8);
	return (int64_t)((uint64_t)lo + fuzz_u64(in, 8) % (span + 1));
}

/* A heap string of up to max bytes: a length byte, then the bytes, NUL
 * bytes turned into 'x' (C names cannot hold them). */
static inline char *fuzz_str(struct fuzz_in *in, size_t max)
{
	size_t len = fuzz_u8(in) % (max + 1);
	char *s = NULL;

	if (len > in->n)
		len = in->n;
	s = dbk_xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		s[i] = in->p[i] != 0 ? (char)in->p[i] : 'x';
	s[len] = '\0';
	in->p += len;
	in->n -= len;
	return s;
}

/* A private directory for this fuzzer process, removed at exit by the
 * caller's cleanup; the committed corpus is never written to. */
static inline char *fuzz_tmpdir(const char *what)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = dbk_xasprintf("%s/dbk-fuzz-%s.XXXXXX",
	                           base && *base ? base : "/tmp", what);

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return tmpl;
}

/* Writes exactly len bytes of data to path (created 0600, truncated). */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd == -1) {
		perror(path);
		abort();
	}
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n <= 0) {
			perror(path);
			abort();
		}
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* Removes the plain files directly inside dir (not recursive). */
static inline void fuzz_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de = NULL;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* Number of entries (not . and ..) in dir; -1 when it cannot be read. */
static inline int fuzz_count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de = NULL;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#endif
