/* SPDX-License-Identifier: Apache-2.0 */
/* The `file` bootloader backend: the U-Boot variables in a state file, for tests and simulation. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "error.h"
#include "fileio.h"

/*
 * The state file holds one "name=value" per line, written atomically by the agent and by
 * whatever plays the bootloader (tests/integration/agent/bootsim.py):
 *   boot_slot=a|b  upgrade_available=0|1  bootcount=N  bootlimit=N  booted=a|b
 * "booted" is written by the bootloader only: the slot it started. A missing file is a
 * fresh device booted from slot a.
 */
#define STATE_MAX 4096
#define COUNT_MAX 1000

struct file_boot {
	char *path;
};

struct parse_ctx {
	const char *path;
	struct agent_boot_env *env;
	int error;
};

static int parse_count(const char *v, unsigned *ret)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > COUNT_MAX)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	struct agent_boot_env *e = c->env;
	unsigned n = 0;
	int r = 0;

	if (c->error)
		return 0;
	if (section[0])
		r = -EINVAL;
	else if (!strcmp(name, "boot_slot"))
		r = agent_slot_from_name(value, &e->primary);
	else if (!strcmp(name, "booted"))
		r = agent_slot_from_name(value, &e->booted);
	else if (!strcmp(name, "upgrade_available")) {
		r = parse_count(value, &n);
		if (r == 0 && n > 1)
			r = -EINVAL;
		e->trial = n == 1;
	} else if (!strcmp(name, "bootcount"))
		r = parse_count(value, &e->bootcount);
	else if (!strcmp(name, "bootlimit"))
		r = parse_count(value, &e->bootlimit);
	else
		r = -EINVAL;
	if (r < 0)
		c->error = sl_error(TUF_E_STATE, "%s: invalid entry %s=%s", c->path, name, value);
	return r == 0;
}

static int file_get(void *priv, struct agent_boot_env *ret)
{
	struct file_boot *fb = priv;
	_cleanup_free_ uint8_t *buf = NULL;
	struct agent_boot_env env = {.bootlimit = AGENT_BOOTLIMIT_DEFAULT};
	struct parse_ctx c = {.path = fb->path, .env = &env};
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, fb->path, STATE_MAX, &buf, &len);
	if (r == -ENOENT) {
		*ret = env;
		return 0;
	}
	if (r < 0)
		return sl_error(r, "%s: cannot read the boot state: %s", fb->path, sl_strerror(r));
	if (memchr(buf, '\0', len))
		return sl_error(TUF_E_STATE, "%s: NUL byte in the boot state", fb->path);
	r = ini_parse_string((const char *)buf, handler, &c);
	if (c.error)
		return c.error;
	if (r != 0)
		return sl_error(TUF_E_STATE, "%s: line %d is malformed", fb->path, r);
	if (env.bootlimit == 0)
		env.bootlimit = AGENT_BOOTLIMIT_DEFAULT;
	*ret = env;
	return 0;
}

static int file_set(void *priv, const struct agent_boot_env *env)
{
	struct file_boot *fb = priv;
	struct agent_boot_env cur;
	char buf[256];
	int n, r;

	r = file_get(priv, &cur); /* keep what the bootloader owns: booted */
	if (r < 0)
		return r;
	n = snprintf(buf, sizeof(buf),
		     "boot_slot=%s\nupgrade_available=%d\nbootcount=%u\nbootlimit=%u\nbooted=%s\n",
		     agent_slot_name(env->primary), env->trial ? 1 : 0, env->bootcount,
		     env->bootlimit, agent_slot_name(cur.booted));
	r = sl_write_file_atomic(fb->path, buf, (size_t)n, 0644);
	if (r < 0)
		return sl_error(r, "%s: cannot write the boot state: %s", fb->path, sl_strerror(r));
	return 0;
}

static int file_open(const struct agent_config *cfg, void **ret_priv)
{
	struct file_boot *fb;

	if (!cfg->bootloader_state)
		return sl_error(SL_E_CONFIG, "bootloader 'file' needs bootloader_state");
	fb = calloc(1, sizeof(*fb));
	if (!fb)
		return -ENOMEM;
	fb->path = strdup(cfg->bootloader_state);
	if (!fb->path) {
		free(fb);
		return -ENOMEM;
	}
	*ret_priv = fb;
	return 0;
}

static void file_close(void *priv)
{
	struct file_boot *fb = priv;

	free(fb->path);
	free(fb);
}

const struct agent_boot_ops agent_boot_file_ops = {
    .name = "file",
    .open = file_open,
    .close = file_close,
    .get = file_get,
    .set = file_set,
};
