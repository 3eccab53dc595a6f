/* SPDX-License-Identifier: Apache-2.0 */
/* A strict, hostile-input safe ustar reader that unpacks model archives into a fresh directory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Accepted: POSIX ustar headers ("ustar\0" "00") and GNU headers ("ustar  \0", whose prefix
 * field is not read), members of type regular file ('0', or '\0') and directory ('5'), pax
 * extended headers ('x': the keywords path and size are applied; mtime, atime, ctime, uid,
 * gid, uname, gname, comment, linkpath, hdrcharset, SCHILY.* and LIBARCHIVE.* are ignored;
 * any other keyword, e.g. GNU.sparse.*, is refused), pax global headers ('g', ignored
 * keywords only) and GNU long names ('L', GNU headers only). The archive must end with two
 * zero blocks, followed only by zero bytes (record padding) up to the end of the file.
 *
 * Errors (each with a message naming the archive and the member or header offset):
 *   SL_E_INVALID       a malformed header: bad magic, checksum, octal or pax field, size of
 *                      a directory, non-zero padding, truncation, a lone zero block, data
 *                      after the end-of-archive blocks, an extended header without a member;
 *   TUF_E_PATH         a hard link, symbolic link, device or FIFO member (as on provisioning
 *                      media), or an unsafe or colliding name: empty, absolute, a ".." or
 *                      empty component, a control character, a NUL in a pax path, a regular
 *                      file name ending in '/', a member below a regular file, a duplicate
 *                      member, the reserved top-level name;
 *   TUF_E_UNSUPPORTED  any other member that is not a regular file or a directory
 *                      (contiguous, GNU sparse, long link name, volume, multi-volume, dump
 *                      directory), an unknown type or pax keyword;
 *   SL_E_TOO_LARGE     a limit below exceeded;
 *   -ENOSPC            (extract) the destination file system lacks room or inodes;
 *   TUF_E_HASH         (verify) the unpacked tree differs from the archive;
 *   -errno             an I/O error.
 */

#define AGENT_UNTAR_BLOCK 512u
#define AGENT_UNTAR_MAX_MEMBERS 10000u	       /* files and directories, explicit or implied */
#define AGENT_UNTAR_MAX_BYTES (64ull << 30)    /* sum of the regular files' sizes */
#define AGENT_UNTAR_MAX_PATH 1024u	       /* bytes of a member's normalised path */
#define AGENT_UNTAR_MAX_DEPTH 32u	       /* components of a member's path */
#define AGENT_UNTAR_MAX_EXT (64u * 1024)       /* bytes of one pax header's data */
#define AGENT_UNTAR_NAME_MAX 255u	       /* bytes of one path component */

struct agent_untar_limits {
	uint32_t max_members;
	uint64_t max_bytes;
	uint32_t max_path;
	uint32_t max_depth;
};

/* The default limits above. */
#define AGENT_UNTAR_LIMITS_DEFAULT                                                                 \
	((struct agent_untar_limits){AGENT_UNTAR_MAX_MEMBERS, AGENT_UNTAR_MAX_BYTES,               \
				     AGENT_UNTAR_MAX_PATH, AGENT_UNTAR_MAX_DEPTH})

struct agent_untar_stats {
	uint64_t files;	  /* regular files */
	uint64_t dirs;	  /* directories, explicit or implied by a member's path */
	uint64_t bytes;	  /* sum of the regular files' sizes */
};

/* Whether a model target's file name denotes a tar archive (it ends in ".tar"). */
bool agent_untar_is_archive(const char *file);

/*
 * Read and validate the whole archive open as fd (read with pread, the position is not
 * used) without writing anything. name names the archive in messages. reserved (or NULL) is
 * a top-level name members may not use. lim NULL means the defaults. *ret (may be NULL) is
 * written on success.
 */
int agent_untar_scan(int fd, const char *name, const char *reserved,
		     const struct agent_untar_limits *lim, struct agent_untar_stats *ret);

/*
 * Unpack the archive fd into the directory dirfd, which must hold nothing but reserved (or
 * nothing, when reserved is NULL): a full scan first (nothing is written for an archive
 * that is refused), a free-space check of dirfd's file system against the unpacked size,
 * then every entry created with openat()/mkdirat() relative to directory fds opened with
 * O_NOFOLLOW, files O_EXCL; files 0644 (0755 when the archive gives any execute bit),
 * directories 0755; every file and every directory fsync'd before returning. On failure
 * what was created is left for the caller to remove (it owns the directory).
 */
int agent_untar_extract(int fd, const char *name, int dirfd, const char *reserved,
			const struct agent_untar_limits *lim, struct agent_untar_stats *ret);

/*
 * Compare the tree under dirfd with the archive fd: every member present with its type,
 * mode, size and content (re-read past the page cache), and nothing else in the tree but
 * reserved at the top. TUF_E_HASH names the first difference.
 */
int agent_untar_verify(int fd, const char *name, int dirfd, const char *reserved,
		       const struct agent_untar_limits *lim);

/*
 * The model slot's form of the two calls above: the archive is dir/archive, it unpacks
 * into (or is compared with) dir itself, and its own name is reserved at the top.
 */
int agent_untar_unpack_dir(const char *dir, const char *archive);
int agent_untar_verify_dir(const char *dir, const char *archive);
