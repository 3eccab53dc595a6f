/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ceremony/passphrase (fd and terminal input) and ceremony/harden. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fileio.h"
#include "harden.h"
#include "keyfile.h"
#include "passphrase.h"
#include "secmem.h"
#include "test.h"

/* A pipe whose read end holds data (len bytes) followed by end of file. */
static int pipe_with(const void *data, size_t len)
{
	int p[2];

	ASSERT_OK(pipe(p));
	ASSERT_OK(sl_write_all(p[1], data, len));
	close(p[1]);
	return p[0];
}

static int read_from(const char *data, size_t len, char **pass, size_t *plen)
{
	int fd = pipe_with(data, len);
	int r = cer_passphrase_read_fd(fd, pass, plen);

	close(fd);
	return r;
}

TEST(fd_lines)
{
	char *pass = NULL;
	size_t len = 0;
	int fd;

	ASSERT_OK(read_from("secret\n", 7, &pass, &len));
	ASSERT_EQ_STR(pass, "secret");
	ASSERT_EQ_INT(len, 6);
	pass = cer_passphrase_free(pass);
	ASSERT_TRUE(pass == NULL);

	ASSERT_OK(read_from("secret\r\n", 8, &pass, &len));
	ASSERT_EQ_STR(pass, "secret");
	ASSERT_EQ_INT(len, 6);
	pass = cer_passphrase_free(pass);

	ASSERT_OK(read_from("no newline", 10, &pass, &len));
	ASSERT_EQ_STR(pass, "no newline");
	pass = cer_passphrase_free(pass);

	ASSERT_OK(read_from(" spaces kept \n", 14, &pass, &len));
	ASSERT_EQ_STR(pass, " spaces kept ");
	pass = cer_passphrase_free(pass);

	/* Two passphrases on one fd: the first read consumes only its line. */
	fd = pipe_with("old pass\nnew pass\n", 18);
	ASSERT_OK(cer_passphrase_read_fd(fd, &pass, &len));
	ASSERT_EQ_STR(pass, "old pass");
	pass = cer_passphrase_free(pass);
	ASSERT_OK(cer_passphrase_read_fd(fd, &pass, &len));
	ASSERT_EQ_STR(pass, "new pass");
	pass = cer_passphrase_free(pass);
	ASSERT_ERR(cer_passphrase_read_fd(fd, &pass, &len), SL_E_INVALID);
	close(fd);
}

TEST(fd_refusals)
{
	char buf[CER_PASSPHRASE_MAX + 8];
	char *pass = NULL;
	size_t len = 0;

	ASSERT_ERR(read_from("\n", 1, &pass, &len), SL_E_INVALID);
	ASSERT_ERR(read_from("", 0, &pass, &len), SL_E_INVALID);
	ASSERT_ERR(read_from("\r\n", 2, &pass, &len), SL_E_INVALID);
	ASSERT_ERR(read_from("a\0b\n", 4, &pass, &len), SL_E_INVALID);
	ASSERT_ERR(cer_passphrase_read_fd(-1, &pass, &len), -EBADF);
	ASSERT_TRUE(pass == NULL);

	/* Exactly the cap is fine, with or without "\r\n"; one more byte is not. */
	memset(buf, 'x', sizeof(buf));
	buf[CER_PASSPHRASE_MAX] = '\n';
	ASSERT_OK(read_from(buf, CER_PASSPHRASE_MAX + 1, &pass, &len));
	ASSERT_EQ_INT(len, CER_PASSPHRASE_MAX);
	pass = cer_passphrase_free(pass);
	buf[CER_PASSPHRASE_MAX] = '\r';
	buf[CER_PASSPHRASE_MAX + 1] = '\n';
	ASSERT_OK(read_from(buf, CER_PASSPHRASE_MAX + 2, &pass, &len));
	ASSERT_EQ_INT(len, CER_PASSPHRASE_MAX);
	pass = cer_passphrase_free(pass);
	memset(buf, 'x', sizeof(buf));
	buf[CER_PASSPHRASE_MAX + 1] = '\n';
	ASSERT_ERR(read_from(buf, CER_PASSPHRASE_MAX + 2, &pass, &len), SL_E_TOO_LARGE);
	ASSERT_ERR(read_from(buf, CER_PASSPHRASE_MAX + 1, &pass, &len), SL_E_TOO_LARGE);
	ASSERT_ERR(read_from(buf, sizeof(buf), &pass, &len), SL_E_TOO_LARGE);
	ASSERT_TRUE(pass == NULL);
}

/* ---- terminal input, on a pseudo-terminal ---- */

struct tty_call {
	const char *path;
	const char *confirm;
	char *pass;
	size_t len;
	int r;
};

static void *tty_thread(void *arg)
{
	struct tty_call *c = arg;

	c->r = cer_passphrase_read_tty(c->path, "Passphrase: ", c->confirm, &c->pass, &c->len);
	return NULL;
}

/* Read the pty master until want appears in what was read (kept in out). */
static void wait_for(int master, const char *want, char *out, size_t size)
{
	size_t n = strlen(out);

	while (!strstr(out, want)) {
		ssize_t k = read(master, out + n, size - n - 1);

		ASSERT_TRUE(k > 0);
		n += (size_t)k;
		out[n] = '\0';
	}
}

static bool open_pty(int *ret_master, char **ret_slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !ptsname(m)) {
		fprintf(stderr, "  skipped: no pseudo-terminal available (%s)\n", strerror(errno));
		if (m >= 0)
			close(m);
		return false;
	}
	*ret_master = m;
	*ret_slave = strdup(ptsname(m));
	return true;
}

static bool echo_on(const char *slave)
{
	struct termios t;
	int fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(tcgetattr(fd, &t));
	close(fd);
	return t.c_lflag & ECHO;
}

static void tty_dialog(const char *first, const char *second, int want)
{
	struct tty_call c = {.confirm = second ? "Again: " : NULL};
	char out[4096] = "", *slave;
	pthread_t th;
	int master, keep;

	if (!open_pty(&master, &slave))
		return;
	keep = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC); /* keeps the settings alive */
	ASSERT_TRUE(keep >= 0);
	c.path = slave;
	ASSERT_TRUE(echo_on(slave));
	ASSERT_OK(-pthread_create(&th, NULL, tty_thread, &c));
	wait_for(master, "Passphrase: ", out, sizeof(out));
	ASSERT_TRUE(!echo_on(slave));
	ASSERT_OK(sl_write_all(master, first, strlen(first)));
	if (second) {
		wait_for(master, "Again: ", out, sizeof(out));
		ASSERT_OK(sl_write_all(master, second, strlen(second)));
	}
	ASSERT_OK(-pthread_join(th, NULL));
	ASSERT_EQ_INT(c.r, want);
	if (want == 0) {
		ASSERT_TRUE(strncmp(c.pass, first, c.len) == 0);
		ASSERT_EQ_INT(c.len + 1, strlen(first));
	} else {
		ASSERT_TRUE(c.pass == NULL);
	}
	/* Echo was off: the passphrase never came back on the terminal; now echo is back. */
	fcntl(master, F_SETFL, O_NONBLOCK);
	for (size_t n = strlen(out);;) {
		ssize_t k = read(master, out + n, sizeof(out) - n - 1);

		if (k <= 0)
			break;
		n += (size_t)k;
		out[n] = '\0';
	}
	ASSERT_TRUE(!strstr(out, "hunter"));
	ASSERT_TRUE(echo_on(slave));
	cer_passphrase_free(c.pass);
	close(keep);
	close(master);
	free(slave);
}

TEST(tty_echo_off)
{
	tty_dialog("hunter2\n", NULL, 0);
	tty_dialog("hunter2\n", "hunter2\n", 0);
	tty_dialog("hunter2\n", "hunter3\n", SL_E_INVALID);
	tty_dialog("hunter2\n", "hunter22\n", SL_E_INVALID);
	tty_dialog("\n", NULL, SL_E_INVALID);
}

/* A signal while echo is off: the terminal is restored and the signal still kills. */
TEST(tty_signal_restores)
{
	char out[4096] = "", *slave;
	int master, keep, status;
	pid_t pid;

	if (!open_pty(&master, &slave))
		return;
	keep = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_TRUE(keep >= 0);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		char *pass;
		size_t len;

		cer_passphrase_read_tty(slave, "Passphrase: ", NULL, &pass, &len);
		_exit(3);
	}
	wait_for(master, "Passphrase: ", out, sizeof(out));
	ASSERT_TRUE(!echo_on(slave));
	ASSERT_OK(kill(pid, SIGTERM));
	ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ_INT(WTERMSIG(status), SIGTERM);
	ASSERT_TRUE(echo_on(slave));
	close(keep);
	close(master);
	free(slave);
}

TEST(tty_missing)
{
	char *pass = NULL;
	size_t len;

	ASSERT_ERR(cer_passphrase_read_tty("/nonexistent/tty", "P: ", NULL, &pass, &len), -ENOENT);
	ASSERT_ERR(cer_passphrase_read_tty("/dev/null", "P: ", NULL, &pass, &len), -ENOTTY);
	ASSERT_TRUE(pass == NULL);
}

/* ---- process hardening ---- */

TEST(harden)
{
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		unsigned warn = 0;

		/* No mlockall() here: under sanitizers it would try to lock the shadow memory. */
		ASSERT_OK(cer_harden_process(CER_HARDEN_NO_MLOCK, &warn));
		ASSERT_EQ_INT(warn, CER_HARDEN_WARN_MLOCK);
		ASSERT_OK(getrlimit(RLIMIT_CORE, &rl));
		ASSERT_EQ_INT(rl.rlim_cur, 0);
		ASSERT_EQ_INT(rl.rlim_max, 0);
		ASSERT_EQ_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
		ASSERT_EQ_INT(umask(0), 077);
		_exit(0);
	}
	ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}

/* In a fresh network namespace only a loopback interface exists: the check says "none". */
TEST(network_check)
{
	char ifname[CER_IFNAME_SIZE] = "";
	int status, r;
	pid_t pid;

	r = cer_network_check(ifname);
	ASSERT_TRUE(r == 0 || r == 1);
	ASSERT_TRUE(r == 0 || ifname[0] != '\0');
	fprintf(stderr, "  this host: %s%s\n", r ? "interface up: " : "no interface up", ifname);

	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "  skipped namespace part: unshare: %s\n", strerror(errno));
			_exit(77);
		}
		ASSERT_EQ_INT(cer_network_check(NULL), 0);
		/* Loopback up with its addresses: still no network (needs iproute2). */
		if (system("ip link set lo up") != 0) {
			fprintf(stderr, "  skipped interface part: no ip(8)\n");
			_exit(0);
		}
		ASSERT_EQ_INT(cer_network_check(NULL), 0);
		/* An interface that is up with an address is reported, by name. */
		if (system(
			"(ip link add sl0 type dummy || ip link add sl0 type veth peer name sl1) "
			"2>/dev/null && ip addr add 192.0.2.7/24 dev sl0") != 0) {
			fprintf(stderr, "  skipped interface part: cannot create dummy or veth\n");
			_exit(0);
		}
		ASSERT_EQ_INT(cer_network_check(NULL), 0); /* address, but down */
		ASSERT_EQ_INT(system("ip link set sl0 up"), 0);
		ASSERT_EQ_INT(cer_network_check(ifname), 1);
		ASSERT_EQ_STR(ifname, "sl0");
		_exit(0);
	}
	ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77);
}

int main(void)
{
	ASSERT_OK(sl_secmem_init());
	RUN(fd_lines);
	RUN(fd_refusals);
	RUN(tty_echo_off);
	RUN(tty_signal_restores);
	RUN(tty_missing);
	RUN(harden);
	RUN(network_check);
	return 0;
}
