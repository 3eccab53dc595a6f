/* SPDX-License-Identifier: Apache-2.0 */
/* Slot I/O: capacity, streaming writes through the TUF target check, and re-reading. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "slot.h"

#define MIB (1024u * 1024)
#define MESSAGE_MAX 512 /* an error message carried from a worker thread to the caller */

_Static_assert(AGENT_IO_CHUNK % AGENT_IO_ALIGN == 0, "a block must be whole direct-I/O units");
_Static_assert(AGENT_CHECKPOINT_MIN % MIB == 0 && AGENT_CHECKPOINT_MAX % MIB == 0,
	       "checkpoints fall on whole MiB");

int agent_slot_capacity(int fd, const char *path, uint64_t length, uint64_t *ret)
{
	struct statvfs vfs;
	struct stat st;
	uint64_t size, allocated;

	if (fstat(fd, &st) < 0)
		return sl_error(-errno, "%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return sl_error(-errno, "%s: cannot get the device size: %s", path,
					strerror(errno));
		*ret = size;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_CONFIG, "%s: a slot must be a block device or a regular file",
				path);
	size = (uint64_t)st.st_size;
	allocated = (uint64_t)st.st_blocks * 512;
	if (allocated < length && length <= size) {
		if (fstatvfs(fd, &vfs) < 0)
			return sl_error(-errno, "%s: %s", path, strerror(errno));
		if ((uint64_t)vfs.f_bavail * vfs.f_frsize < length - allocated)
			return sl_error(
			    -ENOSPC,
			    "%s: sparse slot needs %ju more bytes, the file system has %ju", path,
			    (uintmax_t)(length - allocated),
			    (uintmax_t)((uint64_t)vfs.f_bavail * vfs.f_frsize));
	}
	*ret = size;
	return 0;
}

uint64_t agent_checkpoint_interval(uint64_t length)
{
	uint64_t step = length / AGENT_CHECKPOINT_PARTS / MIB * MIB;

	if (step < AGENT_CHECKPOINT_MIN)
		return AGENT_CHECKPOINT_MIN;
	if (step > AGENT_CHECKPOINT_MAX)
		return AGENT_CHECKPOINT_MAX;
	return step;
}

/* ---- a ring of blocks between threads ---- */

/* A block of the ring: buf holds the bytes of file offsets [pos, pos + len). */
struct block {
	uint8_t *buf; /* AGENT_IO_CHUNK bytes, AGENT_IO_ALIGN aligned */
	uint64_t pos;
	size_t len;
};

/*
 * AGENT_IO_BLOCKS blocks between one producer and one or two consumers, each of which sees
 * every block in order; a block is refilled only after every consumer released it. The first
 * error of any thread stops them all.
 */
struct ring {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled on any change of the fields below */
	uint8_t *mem;	     /* owned: the blocks' buffers */
	struct block blocks[AGENT_IO_BLOCKS];
	size_t n_consumers;
	uint64_t filled;      /* blocks published by the producer */
	uint64_t released[2]; /* blocks each consumer is done with */
	bool done;	      /* the producer published its last block */
	int error;	      /* the first error, sticky */
	char message[MESSAGE_MAX];
};

static int ring_init(struct ring *r, size_t n_consumers)
{
	int k;

	*r = (struct ring){.n_consumers = n_consumers};
	k = posix_memalign((void **)&r->mem, AGENT_IO_ALIGN,
			   (size_t)AGENT_IO_BLOCKS * AGENT_IO_CHUNK);
	if (k)
		return -k;
	for (size_t i = 0; i < AGENT_IO_BLOCKS; i++)
		r->blocks[i].buf = r->mem + i * AGENT_IO_CHUNK;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return 0;
}

static void ring_free(struct ring *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->mem);
	r->mem = NULL;
}

/* Record code (and this thread's message for it) unless an error is recorded already. */
static void ring_fail(struct ring *r, int code)
{
	pthread_mutex_lock(&r->lock);
	if (!r->error) {
		r->error = code;
		snprintf(r->message, sizeof(r->message), "%s", sl_error_message(code));
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* The first error of any thread, recorded again with its message on this thread; or 0. */
static int ring_error(struct ring *r)
{
	char message[MESSAGE_MAX];
	int code;

	pthread_mutex_lock(&r->lock);
	code = r->error;
	memcpy(message, r->message, sizeof(message));
	pthread_mutex_unlock(&r->lock);
	return code ? sl_error(code, "%s", message) : 0;
}

static bool ring_full(const struct ring *r)
{
	for (size_t i = 0; i < r->n_consumers; i++)
		if (r->filled - r->released[i] == AGENT_IO_BLOCKS)
			return true;
	return false;
}

/* The producer's next block to fill (waits for one to be free), or NULL after an error. */
static struct block *ring_acquire(struct ring *r)
{
	struct block *b = NULL;

	pthread_mutex_lock(&r->lock);
	while (!r->error && ring_full(r))
		pthread_cond_wait(&r->cond, &r->lock);
	if (!r->error)
		b = &r->blocks[r->filled % AGENT_IO_BLOCKS];
	pthread_mutex_unlock(&r->lock);
	return b;
}

static void ring_publish(struct ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->filled++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void ring_finish(struct ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->done = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Consumer i's next block, or NULL when all were seen and the producer is done, or on error. */
static struct block *ring_next(struct ring *r, size_t i)
{
	struct block *b = NULL;

	pthread_mutex_lock(&r->lock);
	while (!r->error && !r->done && r->released[i] == r->filled)
		pthread_cond_wait(&r->cond, &r->lock);
	if (!r->error && r->released[i] < r->filled)
		b = &r->blocks[r->released[i] % AGENT_IO_BLOCKS];
	pthread_mutex_unlock(&r->lock);
	return b;
}

static void ring_release(struct ring *r, size_t i)
{
	pthread_mutex_lock(&r->lock);
	r->released[i]++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Start a worker with every signal blocked: signals stay with the calling thread. */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int k;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	k = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (k)
		return sl_error(-k, "cannot start an I/O thread: %s", strerror(k));
	return 0;
}

/* ---- direct I/O ---- */

/* Turn O_DIRECT on for fd; false when the file or its file system does not support it. */
static bool direct_on(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
}

static int direct_off(int fd, bool *direct)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_DIRECT) < 0)
		return sl_error(-errno, "cannot turn off direct I/O: %s", strerror(errno));
	*direct = false;
	return 0;
}

static int restore_flags(int fd, int flags)
{
	if (fcntl(fd, F_SETFL, flags) < 0)
		return sl_error(-errno, "cannot restore the file status flags: %s",
				strerror(errno));
	return 0;
}

/* ---- re-reading ---- */

struct reader {
	struct ring ring; /* one consumer: the calling thread, hashing */
	int fd;
	uint64_t len;
	bool direct; /* fd has O_DIRECT */
};

/* Reading through the page cache from off on: drop what it holds so the storage is read. */
static int reader_buffered(struct reader *rd, uint64_t off)
{
	int r = rd->direct ? direct_off(rd->fd, &rd->direct) : 0;

	if (r >= 0)
		(void)posix_fadvise(rd->fd, (off_t)off, (off_t)(rd->len - off),
				    POSIX_FADV_DONTNEED);
	return r;
}

/* Up to want bytes at off into buf (room for a block): > 0 bytes, 0 at the end, < 0 error. */
static ssize_t read_block(struct reader *rd, uint8_t *buf, size_t want, uint64_t off)
{
	for (;;) {
		size_t ask = want;
		ssize_t k;
		int r;

		if (rd->direct && off % AGENT_IO_ALIGN) {
			r = reader_buffered(rd, off);
			if (r < 0)
				return r;
		}
		if (rd->direct) /* whole units; what lies beyond want is not used */
			ask = (want + AGENT_IO_ALIGN - 1) / AGENT_IO_ALIGN * AGENT_IO_ALIGN;
		k = pread(rd->fd, buf, ask, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EINVAL && rd->direct) {
			r = reader_buffered(rd, off);
			if (r < 0)
				return r;
			continue;
		}
		if (k < 0)
			return sl_error(-errno, "re-reading at %ju: %s", (uintmax_t)off,
					strerror(errno));
		return (size_t)k > want ? (ssize_t)want : k;
	}
}

static void *reader_main(void *userdata)
{
	struct reader *rd = userdata;

	for (uint64_t off = 0; off < rd->len;) {
		struct block *b = ring_acquire(&rd->ring);
		uint64_t room = AGENT_IO_CHUNK - off % AGENT_IO_CHUNK;
		ssize_t k;

		if (!b)
			break;
		k = read_block(rd, b->buf, (size_t)(rd->len - off < room ? rd->len - off : room),
			       off);
		if (k == 0)
			k = sl_error(TUF_E_LENGTH, "re-reading: end of data at %ju of %ju bytes",
				     (uintmax_t)off, (uintmax_t)rd->len);
		if (k < 0) {
			ring_fail(&rd->ring, (int)k);
			break;
		}
		b->pos = off;
		b->len = (size_t)k;
		off += (uint64_t)k;
		ring_publish(&rd->ring);
	}
	ring_finish(&rd->ring);
	return NULL;
}

int agent_hash_fd(int fd, uint64_t len, struct tuf_target_check *check, agent_progress_fn progress,
		  void *userdata)
{
	struct reader rd = {.fd = fd, .len = len};
	struct block *b;
	pthread_t t;
	int flags, r, k;

	if (len == 0)
		return 0;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return sl_error(-errno, "re-reading: %s", strerror(errno));
	r = ring_init(&rd.ring, 1);
	if (r < 0)
		return r;
	rd.direct = direct_on(fd);
	if (!rd.direct)
		(void)posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_DONTNEED);
	r = start_thread(&t, reader_main, &rd);
	if (r >= 0) {
		while ((b = ring_next(&rd.ring, 0))) {
			k = tuf_target_check_update(check, b->buf, b->len);
			if (k < 0) {
				ring_fail(&rd.ring, k);
				break;
			}
			if (progress)
				progress(userdata, b->len);
			ring_release(&rd.ring, 0);
		}
		pthread_join(t, NULL);
		r = ring_error(&rd.ring);
	}
	k = restore_flags(fd, flags);
	ring_free(&rd.ring);
	return r < 0 ? r : k;
}

/* ---- streaming a download into a slot ---- */

enum { WRITER, HASHER }; /* the consumers of a stream's ring */

struct stream {
	struct ring ring;
	struct agent_stream *s;
	uint64_t start; /* s->off before the fetch: the calling thread moves s->off on */
	uint64_t length;
	uint64_t interval; /* bytes between checkpoints */
	struct block *cur; /* the block the calling thread fills */
	bool direct;	   /* writer: fd has O_DIRECT */
};

/* Store block b at its offset: direct I/O for whole aligned units, buffered for the rest. */
static int store(struct stream *p, const struct block *b)
{
	int fd = p->s->fd, r;

	for (size_t done = 0; done < b->len;) {
		uint64_t at = b->pos + done;
		size_t n = b->len - done;
		ssize_t k;

		if (p->direct && (at % AGENT_IO_ALIGN || n % AGENT_IO_ALIGN)) {
			r = direct_off(fd, &p->direct);
			if (r < 0)
				return r;
		}
		k = pwrite(fd, b->buf + done, n, (off_t)at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EINVAL && p->direct) {
			r = direct_off(fd, &p->direct);
			if (r < 0)
				return r;
			continue;
		}
		if (k < 0)
			return sl_error(-errno, "writing at %ju: %s", (uintmax_t)at,
					strerror(errno));
		if (k == 0)
			return sl_error(-EIO, "writing at %ju: no progress", (uintmax_t)at);
		done += (size_t)k;
	}
	if (!p->direct) /* keep writeback flowing rather than leave it all to the next sync */
		(void)sync_file_range(fd, (off_t)b->pos, (off_t)b->len, SYNC_FILE_RANGE_WRITE);
	return 0;
}

/*
 * Make [0, end) durable, then offer end as the resume point: data first, so that a persisted
 * resume point never covers bytes that a power cut could lose.
 */
static int checkpoint(struct stream *p, uint64_t synced, uint64_t end)
{
	struct agent_stream *s = p->s;

	if (fdatasync(s->fd) < 0)
		return sl_error(-errno, "fdatasync: %s", strerror(errno));
	if (!p->direct) /* written back: no reason to keep it cached */
		(void)posix_fadvise(s->fd, (off_t)synced, (off_t)(end - synced),
				    POSIX_FADV_DONTNEED);
	return s->checkpoint(s->checkpoint_userdata, end);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether a block that ends at end makes a checkpoint: a new interval, or time is up. */
static bool checkpoint_due(const struct stream *p, uint64_t synced, uint64_t end, uint64_t since)
{
	const struct agent_stream *s = p->s;

	if (!s->checkpoint)
		return false;
	if (end / p->interval != synced / p->interval)
		return true;
	return s->checkpoint_ms && now_ms() - since >= s->checkpoint_ms;
}

static void *writer_main(void *userdata)
{
	struct stream *p = userdata;
	uint64_t synced = p->start; /* the resume point: durable already */
	uint64_t since = now_ms();  /* of the last checkpoint */
	struct block *b;
	int r;

	while ((b = ring_next(&p->ring, WRITER))) {
		uint64_t end = b->pos + b->len;

		r = store(p, b);
		if (r >= 0 && checkpoint_due(p, synced, end, since)) {
			r = checkpoint(p, synced, end);
			synced = end;
			since = now_ms();
		}
		if (r < 0) {
			ring_fail(&p->ring, r);
			break;
		}
		ring_release(&p->ring, WRITER);
	}
	return NULL;
}

static void *hasher_main(void *userdata)
{
	struct stream *p = userdata;
	struct block *b;
	int r;

	while ((b = ring_next(&p->ring, HASHER))) {
		r = tuf_target_check_update(p->s->check, b->buf, b->len);
		if (r < 0) {
			ring_fail(&p->ring, r);
			break;
		}
		ring_release(&p->ring, HASHER);
	}
	return NULL;
}

/* The fetcher's sink, on the calling thread: copy into blocks that end on block boundaries. */
static int sink(void *userdata, const void *data, size_t len)
{
	struct stream *p = userdata;
	struct agent_stream *s = p->s;
	const uint8_t *in = data;

	if ((uint64_t)len > p->length - s->off)
		return sl_error(TUF_E_LENGTH, "download: more than the expected %ju bytes",
				(uintmax_t)p->length);
	for (size_t left = len; left > 0;) {
		struct block *b = p->cur;
		size_t room, n;

		if (!b) {
			b = ring_acquire(&p->ring);
			if (!b)
				return ring_error(&p->ring);
			b->pos = s->off;
			b->len = 0;
			p->cur = b;
		}
		room = AGENT_IO_CHUNK - (size_t)(b->pos % AGENT_IO_CHUNK) - b->len;
		n = left < room ? left : room;
		memcpy(b->buf + b->len, in, n);
		b->len += n;
		in += n;
		left -= n;
		s->off += n;
		if (n == room) {
			p->cur = NULL;
			ring_publish(&p->ring);
		}
	}
	if (s->progress)
		s->progress(s->progress_userdata, len);
	return 0;
}

/* Run the fetch with the writer and the hasher; returns the first error of the three. */
static int pump(struct tuf_fetcher *f, const char *url, struct stream *p)
{
	void *(*const fn[2])(void *) = {[WRITER] = writer_main, [HASHER] = hasher_main};
	pthread_t t[2];
	size_t started = 0;
	int r = 0;

	while (started < 2 && r >= 0) {
		r = start_thread(&t[started], fn[started], p);
		if (r >= 0)
			started++;
	}
	if (r >= 0)
		r = tuf_fetcher_fetch(f, url, p->start, p->length - p->start, sink, p);
	if (r >= 0 && p->cur) {
		p->cur = NULL;
		ring_publish(&p->ring);
	}
	if (r < 0)
		ring_fail(&p->ring, r);
	ring_finish(&p->ring);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return ring_error(&p->ring);
}

int agent_stream_fetch(struct tuf_fetcher *f, const char *url, uint64_t length,
		       struct agent_stream *s)
{
	struct stream p = {.s = s,
			   .start = s->off,
			   .length = length,
			   .interval = agent_checkpoint_interval(length)};
	int flags, r, k;

	if (s->off < length) {
		flags = fcntl(s->fd, F_GETFL);
		if (flags < 0)
			return sl_error(-errno, "writing: %s", strerror(errno));
		r = ring_init(&p.ring, 2);
		if (r < 0)
			return r;
		p.direct = direct_on(s->fd);
		r = pump(f, url, &p);
		k = restore_flags(s->fd, flags);
		ring_free(&p.ring);
		if (r < 0 || k < 0)
			return r < 0 ? r : k;
	}
	if (fdatasync(s->fd) < 0)
		return sl_error(-errno, "fdatasync: %s", strerror(errno));
	return 0;
}
