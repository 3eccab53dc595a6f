/* SPDX-License-Identifier: Apache-2.0 */
/* Running the configured commands (health check, model reload and smoke test, reboot). */
#pragma once

/*
 * Run command with /bin/sh -c in its own process group, with the extra environment entries
 * env ("NAME=value", NULL-terminated, may be NULL), stdin from /dev/null, and a deadline of
 * timeout_s seconds (0 = none) after which the whole group is killed. what names the
 * command in messages ("health check"). Returns 0 when it exits with status 0, -ETIMEDOUT
 * at the deadline, SL_E_IO when it exits non-zero or dies by a signal.
 */
int agent_exec(const char *what, const char *command, char *const *env, unsigned timeout_s);
