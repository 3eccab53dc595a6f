/* SPDX-License-Identifier: Apache-2.0 */
/* Writing verified bytes to a slot or a staged file: streaming with hashing, resume, re-read. */
#pragma once

#include <stdint.h>

#include "tuf/fetcher.h"
#include "tuf/metadata.h"

#define AGENT_IO_CHUNK (1024u * 1024) /* bytes per block read, written or hashed */
#define AGENT_IO_BLOCKS 8	      /* blocks in flight per stream or re-read: its memory bound */
#define AGENT_IO_ALIGN 4096u	      /* offset, size and buffer alignment of direct I/O */

/* Persisted resume points are length / AGENT_CHECKPOINT_PARTS apart, in whole MiB, bounded: */
#define AGENT_CHECKPOINT_MIN (1024u * 1024)	 /* at least this far apart */
#define AGENT_CHECKPOINT_MAX (64u * 1024 * 1024) /* at most this much to fetch again */
#define AGENT_CHECKPOINT_PARTS 16
#define AGENT_CHECKPOINT_MS 2000 /* or this long apart on a slow link */

/* Called with byte counts as data is written or re-read (progress display). */
typedef void (*agent_progress_fn)(void *userdata, uint64_t n);

/*
 * Called every agent_checkpoint_interval() bytes written (and every checkpoint_ms when that
 * is set): the first off bytes are on stable storage (fdatasync'd before the call), and may
 * be recorded as the resume point. Runs on the stream's writer thread while the calling
 * thread keeps receiving; < 0 aborts the stream with that code (and the message this
 * function recorded with sl_error()).
 */
typedef int (*agent_checkpoint_fn)(void *userdata, uint64_t off);

struct agent_stream {
	int fd;				/* borrowed, open for writing */
	struct tuf_target_check *check; /* borrowed: every byte goes through it */
	uint64_t off;			/* the next byte to fetch (the resume point) */
	agent_checkpoint_fn checkpoint;
	void *checkpoint_userdata;
	unsigned checkpoint_ms;	    /* also when this long passed since the last one; 0: never */
	agent_progress_fn progress; /* called on the calling thread */
	void *progress_userdata;
};

/*
 * The capacity in bytes of the slot open as fd (path names it in messages): a block
 * device's size, or a regular file's size (slots are preallocated). When a regular file is
 * sparse, the free space of its file system must cover length (-ENOSPC otherwise).
 */
int agent_slot_capacity(int fd, const char *path, uint64_t length, uint64_t *ret);

/*
 * The distance in bytes between persisted resume points while a target of length bytes is
 * written: length / AGENT_CHECKPOINT_PARTS rounded down to whole MiB, clamped to
 * [AGENT_CHECKPOINT_MIN, AGENT_CHECKPOINT_MAX]. A power cut costs at most that much again.
 */
uint64_t agent_checkpoint_interval(uint64_t length);

/*
 * Feed bytes [0, len) of fd through check (re-hash of a written prefix or of a whole slot),
 * read from the storage itself: with O_DIRECT when fd allows it, else after dropping them
 * from the page cache. A reader thread reads ahead (AGENT_IO_BLOCKS blocks) while the calling
 * thread hashes. Returns TUF_E_LENGTH when fd ends before len, -errno on a read error, or the
 * check's error. fd's file status flags are as before on return.
 */
int agent_hash_fd(int fd, uint64_t len, struct tuf_target_check *check, agent_progress_fn progress,
		  void *userdata);

/*
 * Fetch url from s->off on (at most length - s->off bytes) into s->fd at the same offsets.
 * The calling thread receives into a ring of AGENT_IO_BLOCKS blocks; a writer thread stores
 * them (O_DIRECT when fd allows it, buffered otherwise) and, after an fdatasync, calls
 * s->checkpoint every agent_checkpoint_interval(length) bytes, or sooner at the end of the
 * first block stored s->checkpoint_ms after the last checkpoint; a hasher thread feeds the
 * blocks through s->check. The first error of any of the three stops them all and is
 * returned on the calling thread with its message. On success everything received is
 * fdatasync'd and s->off is the end of it. Does not call tuf_target_check_final(). fd's file
 * status flags are as before on return.
 */
int agent_stream_fetch(struct tuf_fetcher *f, const char *url, uint64_t length,
		       struct agent_stream *s);
