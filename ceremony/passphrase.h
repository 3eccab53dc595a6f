/* SPDX-License-Identifier: Apache-2.0 */
/* Passphrases into secure memory: from the terminal with echo off, or from a file descriptor. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Passphrases never come from argv or the environment. Each reader returns the passphrase
 * in sodium_malloc()'d memory, NUL-terminated, with its length (1 to CER_PASSPHRASE_MAX
 * bytes, see keyfile.h); the caller releases it with cer_passphrase_free(), which wipes it.
 */

/*
 * Read one passphrase from fd (the `--passphrase-fd N` case): bytes up to the first
 * newline or end of file, one byte at a time so that nothing after the newline is
 * consumed (several passphrases can follow each other on one fd). A trailing "\n" or "\r\n"
 * is stripped. Errors: SL_E_INVALID for an empty passphrase or one containing a NUL byte,
 * SL_E_TOO_LARGE when more than CER_PASSPHRASE_MAX bytes come before the newline, -errno on
 * read errors, SL_E_NOMEM when secure memory cannot be had.
 */
int cer_passphrase_read_fd(int fd, char **ret_pass, size_t *ret_len);

/*
 * Read a passphrase from the terminal tty_path (NULL: the controlling terminal /dev/tty)
 * with echo off: writes prompt, reads a line, restores the terminal. When confirm_prompt
 * is not NULL, asks a second time and fails with SL_E_INVALID unless both are equal
 * (compared in constant time). The terminal settings are restored on every path,
 * including SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGTSTP arriving while echo is off: the
 * handler restores them and re-raises the signal with its previous disposition.
 * Errors as cer_passphrase_read_fd(), and -ENXIO or another -errno when there is no terminal.
 */
int cer_passphrase_read_tty(const char *tty_path, const char *prompt, const char *confirm_prompt,
			    char **ret_pass, size_t *ret_len);

/*
 * Read a passphrase from fd when fd >= 0, else from the controlling terminal with echo off,
 * prompting "Passphrase for <what>: " (and "... (again): " when confirm). Errors as above.
 */
int cer_passphrase_ask(int fd, const char *what, bool confirm, char **ret_pass, size_t *ret_len);

/* Wipe and release a passphrase from the readers above. Accepts NULL, returns NULL. */
char *cer_passphrase_free(char *pass);
