/* SPDX-License-Identifier: Apache-2.0 */
/* Running configured commands through /bin/sh with a deadline and a clean process group. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "exec.h"
#include "progress.h"

static void child(const char *command, char *const *env)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	for (size_t i = 0; env && env[i]; i++)
		putenv(env[i]);
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	_exit(127);
}

int agent_exec(const char *what, const char *command, char *const *env, unsigned timeout_s)
{
	uint64_t deadline = timeout_s ? sl_now_ns() + (uint64_t)timeout_s * 1000000000ull : 0;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return sl_error(-errno, "%s: cannot fork: %s", what, strerror(errno));
	if (pid == 0)
		child(command, env);
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		struct timespec ts = {0, 5 * 1000 * 1000};

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return sl_error(-errno, "%s: wait failed: %s", what, strerror(errno));
		if (deadline && sl_now_ns() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return sl_error(-ETIMEDOUT, "%s: '%s' did not finish within %u s", what,
					command, timeout_s);
		}
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL); /* whatever it left behind */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return sl_error(SL_E_IO, "%s: '%s' exited with status %d", what, command,
				WEXITSTATUS(status));
	return sl_error(SL_E_IO, "%s: '%s' killed by signal %d", what, command,
			WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
