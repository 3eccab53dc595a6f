/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded file reads and crash-safe atomic writes (temp + fsync + rename + directory fsync). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Read a whole regular file of at most max bytes. The file is opened with O_NOFOLLOW
 * (a symlink as last component is refused with -ELOOP), must be a regular file
 * (-EINVAL otherwise) and is refused with SL_E_TOO_LARGE as soon as more than max bytes
 * are seen (the size is not trusted from stat alone). dirfd may be AT_FDCWD.
 * On success *ret_buf (malloc'd, caller frees, NUL-terminated for convenience) and
 * *ret_len are set.
 */
int sl_read_file_at(int dirfd, const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len);

/* As sl_read_file_at() from an open fd, reading from its current position. */
int sl_read_fd(int fd, size_t max, uint8_t **ret_buf, size_t *ret_len);

/*
 * Atomically replace dirfd/name with data: write a temporary file in the same directory
 * (O_EXCL, mode), fsync it, rename it over name, fsync the directory. On failure the
 * temporary file is removed and the old file, if any, is untouched. name must be a plain
 * file name (no '/').
 */
int sl_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* As sl_write_file_atomic_at() for a path; the directory part is opened for you. */
int sl_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Write all of len bytes to fd, retrying on EINTR and short writes. */
int sl_write_all(int fd, const void *data, size_t len);

/* fsync a directory by path. */
int sl_fsync_dir(const char *path);

/* Create a directory and its parents with mode (existing directories are fine). */
int sl_mkdir_p(const char *path, mode_t mode);

/*
 * Create a private (0700) temporary directory under parent (or $TMPDIR, or /tmp when
 * parent is NULL). *ret_path is malloc'd; caller frees and removes it.
 */
int sl_mkdtemp_private(const char *parent, char **ret_path);

/* Remove a directory tree without following symlinks. Missing path is not an error. */
int sl_rm_rf(const char *path);

/* Hex encode len bytes into ret (2*len+1 bytes, NUL-terminated). */
void sl_hex_encode(const uint8_t *bin, size_t len, char *ret);

/*
 * Decode lower- or upper-case hex of exactly 2*max_len characters or fewer into bin.
 * Returns the number of bytes written, or SL_E_INVALID on odd length or a non-hex character.
 */
int sl_hex_decode(const char *hex, size_t hex_len, uint8_t *bin, size_t max_len);
