/* SPDX-License-Identifier: Apache-2.0 */
/* Writing verified bytes to a slot or a staged file: streaming with hashing, resume, re-read. */
#pragma once

#include <stdint.h>

#include "tuf/fetcher.h"
#include "tuf/metadata.h"

#define AGENT_IO_CHUNK (1024u * 1024)	      /* bytes per read when re-hashing */
#define AGENT_CHECKPOINT_BYTES (1024u * 1024) /* bytes between persisted resume points */

/* Called with byte counts as data is written or re-read (progress display). */
typedef void (*agent_progress_fn)(void *userdata, uint64_t n);

/*
 * Called after every AGENT_CHECKPOINT_BYTES written: the first off bytes are on stable
 * storage (fdatasync), and may be recorded as the resume point. < 0 aborts.
 */
typedef int (*agent_checkpoint_fn)(void *userdata, uint64_t off);

struct agent_stream {
	int fd;				/* borrowed, open for writing */
	struct tuf_target_check *check; /* borrowed: every byte goes through it */
	uint64_t off;			/* the next byte to write (the resume point) */
	agent_checkpoint_fn checkpoint;
	void *checkpoint_userdata;
	agent_progress_fn progress;
	void *progress_userdata;
};

/*
 * The capacity in bytes of the slot open as fd (path names it in messages): a block
 * device's size, or a regular file's size (slots are preallocated). When a regular file is
 * sparse, the free space of its file system must cover length (-ENOSPC otherwise).
 */
int agent_slot_capacity(int fd, const char *path, uint64_t length, uint64_t *ret);

/*
 * Feed bytes [0, len) of fd through check (re-hash of a written prefix or of a whole slot),
 * dropping them from the page cache first so that what is hashed is what was stored.
 */
int agent_hash_fd(int fd, uint64_t len, struct tuf_target_check *check, agent_progress_fn progress,
		  void *userdata);

/*
 * Fetch url from s->off on (at most length - s->off bytes), writing each piece at its
 * offset in s->fd after it passed s->check; calls s->checkpoint every
 * AGENT_CHECKPOINT_BYTES and fdatasyncs at the end. Does not call tuf_target_check_final().
 */
int agent_stream_fetch(struct tuf_fetcher *f, const char *url, uint64_t length,
		       struct agent_stream *s);
