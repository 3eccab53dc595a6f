/* SPDX-License-Identifier: Apache-2.0 */
/* The one table of project error codes, and the last-error message that names what was wrong. */
#pragma once

#include "macro.h"

/*
 * Fallible functions return int: >= 0 success, -errno for OS failures, or one of the
 * negative project codes below. Codes count up from -1999 so they never collide with -errno.
 * Add new codes at the end of the table (values are stable within a build only, but keep
 * the order anyway so logs stay comparable).
 */
#define SL_ERROR_MAP(XX)                                                                           \
	XX(SL_E_INVALID, "invalid argument or input")                                              \
	XX(SL_E_TOO_LARGE, "input exceeds its size limit")                                         \
	XX(SL_E_IO, "input/output error")                                                          \
	XX(SL_E_CONFIG, "invalid configuration")                                                   \
	XX(SL_E_NOMEM, "out of memory")                                                            \
	XX(TUF_E_FORMAT, "malformed metadata")                                                     \
	XX(TUF_E_TYPE, "metadata of the wrong role type")                                          \
	XX(TUF_E_SIGNATURE, "invalid signature")                                                   \
	XX(TUF_E_THRESHOLD, "signature threshold not met")                                         \
	XX(TUF_E_EXPIRED, "metadata expired")                                                      \
	XX(TUF_E_ROLLBACK, "rollback: version older than trusted")                                 \
	XX(TUF_E_VERSION, "version mismatch")                                                      \
	XX(TUF_E_HASH, "hash mismatch")                                                            \
	XX(TUF_E_LENGTH, "length mismatch")                                                        \
	XX(TUF_E_TOO_LARGE, "metadata or target exceeds its size limit")                          \
	XX(TUF_E_UNSUPPORTED, "unsupported algorithm, key type or specification version")          \
	XX(TUF_E_NOT_FOUND, "not found")                                                           \
	XX(TUF_E_NETWORK, "network error")                                                         \
	XX(TUF_E_SLOW, "slow retrieval: transfer too slow")                                        \
	XX(TUF_E_DELEGATION, "delegation limit or cycle")                                          \
	XX(TUF_E_PATH, "unsafe role name or target path")                                          \
	XX(TUF_E_ROTATION_LIMIT, "too many root rotations")                                        \
	XX(TUF_E_STATE, "trusted state missing or corrupt")                                        \
	XX(TUF_E_CRYPTO, "cryptographic library failure")                                          \
	XX(CER_E_PASSPHRASE, "wrong passphrase or tampered key file")                              \
	XX(CER_E_KDF_WEAK, "key file KDF parameters are too weak")                                 \
	XX(CER_E_KDF_LIMIT, "key file KDF parameters exceed the allowed limits")                   \
	XX(CER_E_CHAIN, "hash chain broken")                                                       \
	XX(CP_E_FORBIDDEN, "device not registered, not approved or decommissioned")                \
	XX(CP_E_BUNDLE, "release bundle invalid")                                                  \
	XX(CP_E_STATE, "control plane state missing or inconsistent")                              \
	XX(CP_E_CONFLICT, "conflicting operation or duplicate identity")

enum sl_error_code {
#define SL_ERROR_VAL_(name, text) name,
	SL_E_FIRST_SENTINEL_ = -2000,
	SL_ERROR_MAP(SL_ERROR_VAL_) SL_E_LAST_SENTINEL_
#undef SL_ERROR_VAL_
};

/* Human text for a return code: the project table for project codes, strerror() for -errno. */
const char *sl_strerror(int code);

/* Symbolic name ("TUF_E_EXPIRED", "ENOENT") of a code, for --json output and tests. */
const char *sl_error_name(int code);

/*
 * Record a one-line message naming what was wrong ("timestamp.json: version 4 is older
 * than trusted version 5") for the calling thread, and return code unchanged so that
 * callers can write `return sl_error(TUF_E_ROLLBACK, "...", ...)`.
 */
int sl_error(int code, const char *fmt, ...) _printf_(2, 3);

/*
 * The message recorded for code by the last sl_error() on this thread, or sl_strerror(code)
 * when the last recorded error was a different code. The pointer stays valid until the
 * next sl_error() on this thread.
 */
const char *sl_error_message(int code);

/* Forget the recorded message (start of a new operation). */
void sl_error_clear(void);
