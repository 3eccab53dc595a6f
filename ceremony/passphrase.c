/* SPDX-License-Identifier: Apache-2.0 */
/* Passphrase input: a terminal with echo off (restored on every path) or a file descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "keyfile.h"
#include "macro.h"
#include "passphrase.h"
#include "secmem.h"

/* Content bytes read before giving up: the limit, plus room for "\r" to be stripped. */
#define READ_CAP (CER_PASSPHRASE_MAX + 2)
/* Prompts name a path or a CA: room for PATH_MAX and the words around it. */
#define PROMPT_MAX 4200

/* Signals that must not leave the terminal with echo off. */
static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};

/* State shared with the signal handler; only one terminal prompt at a time. */
static volatile sig_atomic_t tty_fd = -1;
static volatile sig_atomic_t tty_stopped;
static struct termios tty_saved;
static struct sigaction tty_old_actions[ELEMENTSOF(tty_signals)];

char *cer_passphrase_free(char *pass)
{
	return sl_secure_free(pass);
}

static int read_byte(int fd, bool retry_eintr, char *ret)
{
	for (;;) {
		ssize_t k = read(fd, ret, 1);

		if (k == 1)
			return 1;
		if (k == 0)
			return 0;
		if (errno != EINTR || !retry_eintr)
			return -errno;
	}
}

/* Read one line into secure memory and check it; see cer_passphrase_read_fd(). */
static int read_line(int fd, bool retry_eintr, char **ret_pass, size_t *ret_len)
{
	_cleanup_secure_free_ char *buf = NULL;
	bool newline = false;
	size_t len = 0;
	char c = 0;
	int r;

	buf = sl_secure_alloc(READ_CAP + 1);
	if (!buf)
		return sl_error(SL_E_NOMEM, "cannot allocate secure memory for the passphrase");
	while (len < READ_CAP) {
		r = read_byte(fd, retry_eintr, &c);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (c == '\n') {
			newline = true;
			break;
		}
		buf[len++] = c;
	}
	sl_memzero(&c, sizeof(c));
	if (len > 0 && buf[len - 1] == '\r' && (newline || len < READ_CAP))
		len--;
	if (len > CER_PASSPHRASE_MAX || (!newline && len == READ_CAP))
		return sl_error(SL_E_TOO_LARGE, "passphrase longer than %d bytes",
				CER_PASSPHRASE_MAX);
	if (len == 0)
		return sl_error(SL_E_INVALID, "empty passphrase");
	if (memchr(buf, '\0', len))
		return sl_error(SL_E_INVALID, "passphrase contains a NUL byte");
	buf[len] = '\0';
	*ret_pass = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int cer_passphrase_read_fd(int fd, char **ret_pass, size_t *ret_len)
{
	if (fd < 0)
		return sl_error(-EBADF, "passphrase file descriptor %d is not valid", fd);
	return read_line(fd, true, ret_pass, ret_len);
}

static void tty_signal_handler(int sig)
{
	int saved_errno = errno;
	sigset_t set;

	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	for (size_t i = 0; i < ELEMENTSOF(tty_signals); i++)
		if (tty_signals[i] == sig)
			sigaction(sig, &tty_old_actions[i], NULL);
	if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
		tty_stopped = 1;
	/* Deliver it now to the previous disposition (default: terminate or stop). */
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	errno = saved_errno;
}

/* Turn echo off and install the handlers; undone by tty_restore(). */
static int tty_echo_off(int fd)
{
	struct termios t = tty_saved;
	struct sigaction sa = {.sa_handler = tty_signal_handler};

	/* No SA_RESTART: a signal interrupts read(), so the caller can re-check. */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ELEMENTSOF(tty_signals); i++)
		sigaction(tty_signals[i], &sa, &tty_old_actions[i]);
	tty_fd = fd;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	t.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return -errno;
	return 0;
}

static void tty_restore(int fd)
{
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	for (size_t i = 0; i < ELEMENTSOF(tty_signals); i++)
		sigaction(tty_signals[i], &tty_old_actions[i], NULL);
}

static int tty_prompt(int fd, const char *prompt, char **ret_pass, size_t *ret_len)
{
	int r;

	for (;;) {
		tty_stopped = 0;
		r = tty_echo_off(fd);
		if (r >= 0 && prompt)
			r = sl_write_all(fd, prompt, strlen(prompt));
		if (r >= 0)
			r = read_line(fd, false, ret_pass, ret_len);
		tty_restore(fd);
		/* Stopped (^Z) and continued: ask again with echo off. */
		if (r != -EINTR || !tty_stopped)
			return r;
	}
}

int cer_passphrase_read_tty(const char *tty_path, const char *prompt, const char *confirm_prompt,
			    char **ret_pass, size_t *ret_len)
{
	_cleanup_secure_free_ char *pass = NULL;
	_cleanup_secure_free_ char *again = NULL;
	_cleanup_close_ int fd = -1;
	size_t len, again_len;
	int r;

	if (!tty_path)
		tty_path = "/dev/tty";
	fd = open(tty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return sl_error(-errno, "%s: cannot open the terminal: %s", tty_path,
				strerror(errno));
	if (!isatty(fd) || tcgetattr(fd, &tty_saved) < 0)
		return sl_error(-ENOTTY, "%s: not a terminal", tty_path);
	r = tty_prompt(fd, prompt, &pass, &len);
	if (r < 0)
		return r;
	if (confirm_prompt) {
		r = tty_prompt(fd, confirm_prompt, &again, &again_len);
		if (r < 0)
			return r;
		if (again_len != len || sl_memcmp_ct(pass, again, len) != 0)
			return sl_error(SL_E_INVALID, "the passphrases do not match");
	}
	*ret_pass = TAKE_PTR(pass);
	*ret_len = len;
	return 0;
}

int cer_passphrase_ask(int fd, const char *what, bool confirm, char **ret_pass, size_t *ret_len)
{
	char prompt[PROMPT_MAX], again[PROMPT_MAX];

	if (fd >= 0)
		return cer_passphrase_read_fd(fd, ret_pass, ret_len);
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", what);
	snprintf(again, sizeof(again), "Passphrase for %s (again): ", what);
	return cer_passphrase_read_tty(NULL, prompt, confirm ? again : NULL, ret_pass, ret_len);
}
