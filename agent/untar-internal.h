/* SPDX-License-Identifier: Apache-2.0 */
/* The untar reader's internals shared by untar.c and untar-tree.c; not public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "untar.h"

#define CHUNK (64u * 1024) /* bytes per read when copying or comparing content */
#define LABEL_MAX 128	   /* bytes of a member name quoted in a message */

/* What a path in the set is. */
enum entry_kind {
	E_FILE = 1,
	E_IMPLIED_DIR, /* a parent no directory member named (yet) */
	E_DIR,
};

/* One slot of the set of paths. */
struct entry {
	char *path; /* NULL: free slot */
	enum entry_kind kind;
};

/* Normalised member paths seen so far: open addressing, capacity a power of two. */
struct pathset {
	struct entry *e;
	size_t cap, n;
};

/* What pending extended headers ('x', 'L') say about the next member. */
struct ext {
	bool pending;
	char *path;
	size_t path_len;
	bool has_size;
	uint64_t size;
};

/* An archive being read: where, under which limits, and what was seen so far. */
struct reader {
	int fd;
	const char *name;
	const char *reserved;
	struct agent_untar_limits lim;
	uint64_t size; /* of the archive file */
	uint64_t off;  /* of the next header */
	struct pathset set;
	struct agent_untar_stats st;
};

/* A file or directory member as the iterator returns it; path is owned by the member. */
struct member {
	char *path; /* normalised: no leading "./", no trailing '/' */
	char label[LABEL_MAX];
	bool dir;
	bool existed; /* a directory that an earlier member's path implied */
	mode_t mode;  /* 0644, 0755 */
	uint64_t size, data;
};

/* The entry for the path p (len bytes, not NUL-terminated) in s, or NULL; s keeps it. */
struct entry *untar_set_find(const struct pathset *s, const char *p, size_t len);

/*
 * Read exactly n bytes at offset off of rd's archive into buf: SL_E_INVALID past the end of
 * the file (truncation), -errno on an I/O error.
 */
int untar_read_at(const struct reader *rd, void *buf, size_t n, uint64_t off);

/* Free m's path and reset it to empty; accepts an empty member. */
void untar_member_clear(struct member *m);

/*
 * Read and validate up to the next file or directory member: 1 with *m set (the caller
 * clears it with untar_member_clear()), 0 at a valid end of the archive, < 0 on error (the
 * codes of untar.h). Each member's path is added to rd->set and counted in rd->st.
 */
int untar_next_member(struct reader *rd, struct member *m);

/*
 * Set up *rd for the archive open as fd (a regular file of whole 512-byte blocks), named
 * name in messages; reserved (or NULL) and lim (NULL: the defaults) as in agent_untar_scan().
 * fd and the strings stay the caller's. *rd is usable by untar_reader_clear() on failure.
 */
int untar_reader_init(struct reader *rd, int fd, const char *name, const char *reserved,
		      const struct agent_untar_limits *lim);

/* Start reading rd's archive again from the first header, with an empty set and stats. */
void untar_reader_rewind(struct reader *rd);

/* Free what rd holds (not the archive fd); for _cleanup_(). */
void untar_reader_clear(struct reader *rd);
