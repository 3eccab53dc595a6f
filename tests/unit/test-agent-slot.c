/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of slot I/O: checkpoint spacing, the threaded stream into a slot, re-reading. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "slot.h"
#include "test.h"
#include "tuf/crypto.h"
#include "util.h"

#define MIB (1024u * 1024)
#define MAX_CHECKPOINTS 64

static char *tmp;

static char *path_of(const char *name)
{
	char *p;

	ASSERT_TRUE(asprintf(&p, "%s/%s", tmp, name) > 0);
	return p;
}

/* Deterministic bytes that differ at every offset a block boundary could hide. */
static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *b = malloc(n ? n : 1);
	uint32_t x = 2463534242u + seed;

	ASSERT_TRUE(b);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
	return b;
}

static void put(const char *path, const uint8_t *data, size_t n)
{
	ASSERT_OK(sl_write_file_atomic(path, data, n, 0600));
}

/* A target for data with its sha256 and sha512, as the targets metadata of an image lists. */
static void target_of(struct tuf_target *t, const uint8_t *data, size_t n)
{
	*t = (struct tuf_target){.path = (char *)"images/rootfs.img", .length = n};
	t->hashes.n = 2;
	t->hashes.h[0].alg = TUF_HASH_SHA256;
	t->hashes.h[1].alg = TUF_HASH_SHA512;
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA256, data, n, t->hashes.h[0].digest));
	ASSERT_OK(tuf_hash_buf(TUF_HASH_SHA512, data, n, t->hashes.h[1].digest));
}

struct record {
	const char *dest; /* re-opened to see what is stored when a checkpoint is offered */
	const uint8_t *want;
	uint64_t offs[MAX_CHECKPOINTS];
	size_t n;
	uint64_t progress;
	int fail_at;	   /* 1-based checkpoint that answers -ECANCELED; 0: none */
	unsigned slow_us;  /* sleep in each progress call: a slow link */
	unsigned every_ms; /* agent_stream.checkpoint_ms */
};

static int on_checkpoint(void *userdata, uint64_t off)
{
	struct record *rec = userdata;
	_cleanup_close_ int fd = open(rec->dest, O_RDONLY | O_CLOEXEC);
	uint8_t *got = malloc(off ? off : 1);

	/* The resume point is offered only once everything before it is in the slot. */
	ASSERT_TRUE(fd >= 0 && got);
	ASSERT_EQ_INT(pread(fd, got, off, 0), off);
	ASSERT_EQ_MEM(got, rec->want, off);
	free(got);
	ASSERT_TRUE(rec->n < MAX_CHECKPOINTS);
	rec->offs[rec->n++] = off;
	if (rec->fail_at && (int)rec->n == rec->fail_at)
		return sl_error(-ECANCELED, "stopped at checkpoint %ju", (uintmax_t)off);
	return 0;
}

static void on_progress(void *userdata, uint64_t n)
{
	struct record *rec = userdata;

	rec->progress += n;
	if (rec->slow_us)
		usleep(rec->slow_us);
}

static struct tuf_fetcher *fetcher(void)
{
	struct tuf_fetcher *f;

	ASSERT_OK(tuf_fetcher_new(NULL, &f));
	return f;
}

/*
 * Stream src (n bytes, target t) into dest from byte start on, with the checkpoints recorded
 * in rec; returns agent_stream_fetch()'s result and, when that succeeded, final()'s.
 */
static int stream(const char *src, const char *dest, const struct tuf_target *t, uint64_t start,
		  struct record *rec)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;
	_cleanup_close_ int fd = open(dest, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	_cleanup_free_ char *url = NULL;
	struct tuf_fetcher *f = fetcher();
	struct agent_stream s = {.checkpoint = on_checkpoint,
				 .checkpoint_userdata = rec,
				 .checkpoint_ms = rec->every_ms,
				 .progress = on_progress,
				 .progress_userdata = rec};
	int flags, r;

	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(asprintf(&url, "file://%s", src) > 0);
	ASSERT_OK(tuf_target_check_new(t, &chk));
	flags = fcntl(fd, F_GETFL);
	r = agent_hash_fd(fd, start, chk, NULL, NULL); /* resume: the prefix is checked again */
	s.fd = fd;
	s.check = chk;
	s.off = start;
	if (r >= 0)
		r = agent_stream_fetch(f, url, t->length, &s);
	if (r >= 0) {
		ASSERT_EQ_INT(s.off, t->length);
		r = tuf_target_check_final(chk);
	}
	ASSERT_EQ_INT(fcntl(fd, F_GETFL), flags); /* no O_DIRECT left behind */
	tuf_fetcher_free(f);
	return r;
}

static void assert_file(const char *path, const uint8_t *want, size_t n)
{
	_cleanup_free_ uint8_t *got = NULL;
	size_t len = 0;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, n + 1, &got, &len));
	ASSERT_EQ_INT(len, n);
	ASSERT_EQ_MEM(got, want, n);
}

TEST(checkpoint_interval)
{
	ASSERT_EQ_INT(agent_checkpoint_interval(0), AGENT_CHECKPOINT_MIN);
	ASSERT_EQ_INT(agent_checkpoint_interval(5 * MIB), 1 * MIB);
	ASSERT_EQ_INT(agent_checkpoint_interval(32 * MIB - 1), 1 * MIB);
	ASSERT_EQ_INT(agent_checkpoint_interval(40 * MIB + 7), 2 * MIB); /* 2.5 MiB: whole MiB */
	ASSERT_EQ_INT(agent_checkpoint_interval(256 * MIB), 16 * MIB);
	ASSERT_EQ_INT(agent_checkpoint_interval(1024 * MIB), 64 * MIB);
	ASSERT_EQ_INT(agent_checkpoint_interval(UINT64_MAX), AGENT_CHECKPOINT_MAX);
}

/* Whole downloads of sizes around block, direct-I/O and checkpoint boundaries. */
TEST(stream_sizes)
{
	static const size_t sizes[] = {1,
				       14,
				       4095,
				       4096,
				       AGENT_IO_CHUNK,
				       AGENT_IO_CHUNK + 1,
				       3 * AGENT_IO_CHUNK + 4095,
				       5 * MIB + 1234};
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("dest");

	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		_cleanup_free_ uint8_t *data = pattern(sizes[i], (unsigned)i);
		struct record rec = {.dest = dest, .want = data};
		struct tuf_target t;

		put(src, data, sizes[i]);
		(void)unlink(dest);
		target_of(&t, data, sizes[i]);
		ASSERT_OK(stream(src, dest, &t, 0, &rec));
		assert_file(dest, data, sizes[i]);
		ASSERT_EQ_INT(rec.progress, sizes[i]);
		/* Every whole MiB is a resume point (interval 1 MiB below 32 MiB), none else. */
		ASSERT_EQ_INT(rec.n, sizes[i] / MIB);
		for (size_t k = 0; k < rec.n; k++)
			ASSERT_EQ_INT(rec.offs[k], (k + 1) * MIB);
	}
}

/* A larger image: resume points every length / 16 in whole MiB, into a preallocated slot. */
TEST(stream_checkpoint_spacing)
{
	size_t n = 40 * MIB + 7;
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("slot");
	_cleanup_free_ uint8_t *data = pattern(n, 7);
	struct record rec = {.dest = dest, .want = data};
	struct tuf_target t;

	put(src, data, n);
	(void)unlink(dest);
	{
		_cleanup_close_ int fd = open(dest, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		ASSERT_TRUE(fd >= 0 && ftruncate(fd, (off_t)n + MIB) == 0); /* slot > image */
	}
	target_of(&t, data, n);
	ASSERT_OK(stream(src, dest, &t, 0, &rec));
	ASSERT_EQ_INT(rec.n, 20);
	for (size_t k = 0; k < rec.n; k++)
		ASSERT_EQ_INT(rec.offs[k], (k + 1) * 2 * MIB);
	{
		_cleanup_close_ int fd = open(dest, O_RDONLY | O_CLOEXEC);
		_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;
		struct record whole = {};

		ASSERT_TRUE(fd >= 0);
		ASSERT_OK(tuf_target_check_new(&t, &chk));
		ASSERT_OK(agent_hash_fd(fd, n, chk, on_progress, &whole));
		ASSERT_OK(tuf_target_check_final(chk));
		ASSERT_EQ_INT(whole.progress, n);
	}
}

/* On a slow link resume points also come by time, between those by bytes. */
TEST(stream_checkpoint_time)
{
	size_t n = 32 * MIB; /* interval 2 MiB */
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("dest");
	_cleanup_free_ uint8_t *data = pattern(n, 11);
	struct record rec = {.dest = dest, .want = data, .slow_us = 1000, .every_ms = 5};
	struct tuf_target t;
	size_t even = 0;

	put(src, data, n);
	target_of(&t, data, n);
	(void)unlink(dest);
	ASSERT_OK(stream(src, dest, &t, 0, &rec));
	for (size_t k = 0; k < rec.n; k++) {
		ASSERT_EQ_INT(rec.offs[k] % MIB, 0); /* at the end of a block */
		ASSERT_TRUE(k == 0 || rec.offs[k] > rec.offs[k - 1]);
		even += rec.offs[k] % (2 * MIB) == 0;
	}
	ASSERT_EQ_INT(even, 16); /* every interval still has its own */
	ASSERT_TRUE(rec.n > 16);
}

/* Resume from a persisted point (aligned, and not): the prefix is re-hashed from the slot. */
TEST(stream_resume)
{
	static const uint64_t starts[] = {2 * MIB, 12345, 5 * MIB + 1234};
	size_t n = 5 * MIB + 1234;
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("dest");
	_cleanup_free_ uint8_t *data = pattern(n, 3);
	_cleanup_free_ uint8_t *junk = pattern(n, 4);
	struct tuf_target t;

	put(src, data, n);
	target_of(&t, data, n);
	for (size_t i = 0; i < ELEMENTSOF(starts); i++) {
		struct record rec = {.dest = dest, .want = data};
		_cleanup_close_ int fd = -1;

		memcpy(junk, data, starts[i]); /* the synced prefix; the rest is stale */
		put(dest, junk, n);
		ASSERT_OK(stream(src, dest, &t, starts[i], &rec));
		assert_file(dest, data, n);
		ASSERT_EQ_INT(rec.progress, n - starts[i]);
		ASSERT_EQ_INT(rec.n, n / MIB - starts[i] / MIB);
		if (rec.n)
			ASSERT_EQ_INT(rec.offs[0], (starts[i] / MIB + 1) * MIB);
	}
	/* A prefix that is not what was downloaded fails the whole-file hash. */
	{
		struct record rec = {.dest = dest, .want = junk};

		memcpy(junk, data, n);
		junk[MIB / 2] ^= 1;
		put(dest, junk, n);
		ASSERT_ERR(stream(src, dest, &t, 2 * MIB, &rec), TUF_E_HASH);
	}
}

/* Substituted bytes: everything is written, and final() refuses them. */
TEST(stream_bad_hash)
{
	size_t n = 3 * MIB + 5;
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("dest");
	_cleanup_free_ uint8_t *data = pattern(n, 5);
	struct record rec = {.dest = dest};
	struct tuf_target t;

	target_of(&t, data, n);
	data[n - 1] ^= 0x80;
	rec.want = data;
	put(src, data, n);
	(void)unlink(dest);
	ASSERT_ERR(stream(src, dest, &t, 0, &rec), TUF_E_HASH);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_HASH), "images/rootfs.img"));
}

/* More bytes than the target's length: refused at the limit, nothing past it written. */
TEST(stream_too_long)
{
	size_t n = 2 * MIB + 100;
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("dest");
	_cleanup_free_ uint8_t *data = pattern(n, 6);
	struct record rec = {.dest = dest, .want = data};
	struct tuf_target t;
	struct stat st;

	put(src, data, n);
	target_of(&t, data, n - 10);
	(void)unlink(dest);
	ASSERT_ERR(stream(src, dest, &t, 0, &rec), TUF_E_TOO_LARGE);
	ASSERT_OK(stat(dest, &st));
	ASSERT_TRUE((uint64_t)st.st_size <= n - 10);
}

/* A checkpoint that refuses (cancel) stops the stream with its code and message. */
TEST(stream_checkpoint_abort)
{
	size_t n = 6 * MIB;
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("dest");
	_cleanup_free_ uint8_t *data = pattern(n, 8);
	struct record rec = {.dest = dest, .want = data, .fail_at = 2};
	struct tuf_target t;

	put(src, data, n);
	target_of(&t, data, n);
	(void)unlink(dest);
	ASSERT_ERR(stream(src, dest, &t, 0, &rec), -ECANCELED);
	ASSERT_EQ_STR(sl_error_message(-ECANCELED), "stopped at checkpoint 2097152");
	ASSERT_EQ_INT(rec.n, 2);
}

/* A slot that cannot be written: the writer thread's error reaches the caller. */
TEST(stream_write_error)
{
	size_t n = 2 * MIB;
	_cleanup_free_ char *src = path_of("src"), *dest = path_of("ro");
	_cleanup_free_ uint8_t *data = pattern(n, 9);
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;
	_cleanup_free_ char *url = NULL;
	_cleanup_close_ int fd = -1;
	struct tuf_fetcher *f = fetcher();
	struct agent_stream s = {};
	struct tuf_target t;

	put(src, data, n);
	put(dest, data, 1);
	fd = open(dest, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	target_of(&t, data, n);
	ASSERT_OK(tuf_target_check_new(&t, &chk));
	ASSERT_TRUE(asprintf(&url, "file://%s", src) > 0);
	s.fd = fd;
	s.check = chk;
	ASSERT_ERR(agent_stream_fetch(f, url, n, &s), -EBADF);
	ASSERT_TRUE(strstr(sl_error_message(-EBADF), "writing at 0"));
	tuf_fetcher_free(f);
}

/* A missing artifact: the fetch error comes back, the threads stop. */
TEST(stream_not_found)
{
	_cleanup_free_ char *src = path_of("missing"), *dest = path_of("dest");
	uint8_t one = 1;
	struct record rec = {.dest = dest, .want = &one};
	struct tuf_target t;

	target_of(&t, &one, 1);
	(void)unlink(dest);
	ASSERT_ERR(stream(src, dest, &t, 0, &rec), TUF_E_NOT_FOUND);
}

/* Re-reading: what the storage holds, also a change still in the page cache only. */
TEST(hash_fd)
{
	size_t n = 2 * MIB + 3;
	_cleanup_free_ char *p = path_of("reread");
	_cleanup_free_ uint8_t *data = pattern(n, 10);
	_cleanup_close_ int fd = -1;
	struct tuf_target t;

	put(p, data, n);
	target_of(&t, data, n);
	fd = open(p, O_RDWR | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	{
		_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;
		struct record rec = {};
		int flags = fcntl(fd, F_GETFL);

		ASSERT_OK(tuf_target_check_new(&t, &chk));
		ASSERT_OK(agent_hash_fd(fd, n, chk, on_progress, &rec));
		ASSERT_OK(tuf_target_check_final(chk));
		ASSERT_EQ_INT(rec.progress, n);
		ASSERT_EQ_INT(fcntl(fd, F_GETFL), flags);
	}
	{
		_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;

		ASSERT_OK(tuf_target_check_new(&t, &chk));
		ASSERT_ERR(agent_hash_fd(fd, n + 1, chk, NULL, NULL), TUF_E_LENGTH);
		ASSERT_TRUE(strstr(sl_error_message(TUF_E_LENGTH), "end of data"));
	}
	ASSERT_EQ_INT(pwrite(fd, "x", 1, (off_t)MIB + 17), 1); /* dirty, not synced */
	{
		_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;

		ASSERT_OK(tuf_target_check_new(&t, &chk));
		ASSERT_OK(agent_hash_fd(fd, n, chk, NULL, NULL));
		ASSERT_ERR(tuf_target_check_final(chk), TUF_E_HASH);
	}
}

int main(void)
{
	char tmpl[] = "/var/tmp/sluice-test-slot-XXXXXX";

	tmp = mkdtemp(tmpl);
	ASSERT_TRUE(tmp);
	RUN(checkpoint_interval);
	RUN(stream_sizes);
	RUN(stream_checkpoint_spacing);
	RUN(stream_checkpoint_time);
	RUN(stream_resume);
	RUN(stream_bad_hash);
	RUN(stream_too_long);
	RUN(stream_checkpoint_abort);
	RUN(stream_write_error);
	RUN(stream_not_found);
	RUN(hash_fd);
	ASSERT_OK(sl_rm_rf(tmp));
	fprintf(stderr, "all slot tests passed\n");
	return 0;
}
