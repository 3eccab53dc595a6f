/* SPDX-License-Identifier: Apache-2.0 */
/* The `grub` bootloader backend: the U-Boot variables in GRUB's environment block (grubenv). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"

/*
 * The environment block is exactly GRUBENV_SIZE bytes: the header line, "name=value\n"
 * lines (a backslash escapes the next byte, GRUB's way of storing '\n' and '\\' in values),
 * then '#' up to the end. boot_slot, upgrade_available, bootcount and bootlimit are ours;
 * other variables are kept as they are. The GRUB script counts and falls back as U-Boot's
 * altbootcmd does and passes sluice.slot=<slot it started> to the kernel. A missing file is
 * a fresh device booted from slot a; the block is replaced atomically (temporary file,
 * fsync, rename, directory fsync).
 */
#define GRUBENV_SIZE 1024
#define GRUBENV_HEADER "# GRUB Environment Block\n"

struct grub_boot {
	char *path;
};

/*
 * Walk the variables of block (GRUBENV_SIZE bytes). For each one call fn with the line
 * (without its '\n') and the offset of '=' in it. TUF_E_STATE naming path for a corrupt
 * block.
 */
static int walk(const char *path, const char *block,
		int (*fn)(void *user, const char *line, size_t len, size_t eq), void *user)
{
	size_t pos = sizeof(GRUBENV_HEADER) - 1;

	if (memcmp(block, GRUBENV_HEADER, pos) != 0)
		return sl_error(TUF_E_STATE, "%s: not a GRUB environment block (header)", path);
	while (pos < GRUBENV_SIZE && block[pos] != '#') {
		size_t start = pos, eq = SIZE_MAX;
		int r;

		for (; pos < GRUBENV_SIZE && block[pos] != '\n'; pos++) {
			if (block[pos] == '\0')
				return sl_error(TUF_E_STATE, "%s: NUL byte in the environment",
						path);
			if (block[pos] == '\\')
				pos++; /* the escaped byte, which may be '\n' */
			else if (block[pos] == '=' && eq == SIZE_MAX)
				eq = pos - start;
		}
		if (pos >= GRUBENV_SIZE)
			return sl_error(TUF_E_STATE, "%s: unterminated variable at byte %zu", path,
					start);
		if (eq == SIZE_MAX || eq == 0)
			return sl_error(TUF_E_STATE, "%s: malformed variable at byte %zu", path,
					start);
		r = fn(user, block + start, pos - start, eq);
		if (r < 0)
			return r;
		pos++;
	}
	for (; pos < GRUBENV_SIZE; pos++)
		if (block[pos] != '#')
			return sl_error(TUF_E_STATE, "%s: bad padding at byte %zu", path, pos);
	return 0;
}

struct get_ctx {
	const char *path;
	struct agent_boot_env *env;
};

static int get_one(void *user, const char *line, size_t len, size_t eq)
{
	struct get_ctx *c = user;
	char name[32], value[32];
	int r;

	if (eq >= sizeof(name))
		return 0; /* longer than any of ours */
	memcpy(name, line, eq);
	name[eq] = '\0';
	if (len - eq - 1 >= sizeof(value))
		value[0] = '\0'; /* invalid for ours; ignored for the others */
	else {
		memcpy(value, line + eq + 1, len - eq - 1);
		value[len - eq - 1] = '\0';
	}
	r = agent_boot_env_apply(c->path, name, value, c->env);
	return r < 0 ? r : 0;
}

/* Read the block (*ret_block, GRUBENV_SIZE bytes, NULL when there is no file) and parse it. */
static int load(const char *path, char **ret_block, struct agent_boot_env *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct agent_boot_env env = {.bootlimit = AGENT_BOOTLIMIT_DEFAULT};
	struct get_ctx c = {.path = path, .env = &env};
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, GRUBENV_SIZE, &buf, &len);
	if (r == -ENOENT) {
		*ret_block = NULL;
		*ret = env;
		return 0;
	}
	if (r == SL_E_TOO_LARGE || (r >= 0 && len != GRUBENV_SIZE))
		return sl_error(TUF_E_STATE, "%s: a GRUB environment block is %d bytes", path,
				GRUBENV_SIZE);
	if (r < 0)
		return sl_error(r, "%s: cannot read the GRUB environment: %s", path,
				sl_strerror(r));
	r = walk(path, (const char *)buf, get_one, &c);
	if (r < 0)
		return r;
	*ret_block = (char *)TAKE_PTR(buf);
	*ret = env;
	return 0;
}

static int grub_get(void *priv, struct agent_boot_env *ret)
{
	struct grub_boot *gb = priv;
	_cleanup_free_ char *block = NULL;
	struct agent_boot_env env;
	int r;

	r = load(gb->path, &block, &env);
	if (r < 0)
		return r;
	r = agent_boot_cmdline_slot(&env.booted);
	if (r < 0)
		return r;
	*ret = env;
	return 0;
}

struct put_ctx {
	const char *path;
	char *out; /* GRUBENV_SIZE bytes */
	size_t len;
};

static int put(struct put_ctx *c, const char *s, size_t n)
{
	if (n > GRUBENV_SIZE - c->len)
		return sl_error(SL_E_TOO_LARGE, "%s: the variables do not fit in %d bytes", c->path,
				GRUBENV_SIZE);
	memcpy(c->out + c->len, s, n);
	c->len += n;
	return 0;
}

static bool ours(const char *line, size_t eq)
{
	static const char *const names[] = {"boot_slot", "upgrade_available", "bootcount",
					    "bootlimit"};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strlen(names[i]) == eq && !memcmp(line, names[i], eq))
			return true;
	return false;
}

/* Copy the variables that are not ours. */
static int keep_one(void *user, const char *line, size_t len, size_t eq)
{
	struct put_ctx *c = user;
	int r;

	if (ours(line, eq))
		return 0;
	r = put(c, line, len);
	if (r < 0)
		return r;
	return put(c, "\n", 1);
}

static int grub_set(void *priv, const struct agent_boot_env *env)
{
	struct grub_boot *gb = priv;
	_cleanup_free_ char *block = NULL;
	char out[GRUBENV_SIZE], vars[128];
	struct put_ctx c = {.path = gb->path, .out = out};
	struct agent_boot_env cur;
	int n, r;

	r = load(gb->path, &block, &cur);
	if (r < 0)
		return r;
	r = put(&c, GRUBENV_HEADER, sizeof(GRUBENV_HEADER) - 1);
	if (r == 0 && block)
		r = walk(gb->path, block, keep_one, &c);
	if (r < 0)
		return r;
	n = snprintf(vars, sizeof(vars),
		     "boot_slot=%s\nupgrade_available=%d\nbootcount=%u\n"
		     "bootlimit=%u\n",
		     agent_slot_name(env->primary), env->trial ? 1 : 0, env->bootcount,
		     env->bootlimit);
	r = put(&c, vars, (size_t)n);
	if (r < 0)
		return r;
	memset(out + c.len, '#', GRUBENV_SIZE - c.len);
	r = sl_write_file_atomic(gb->path, out, GRUBENV_SIZE, 0644);
	if (r < 0)
		return sl_error(r, "%s: cannot write the GRUB environment: %s", gb->path,
				sl_strerror(r));
	return 0;
}

static int grub_open(const struct agent_config *cfg, void **ret_priv)
{
	struct grub_boot *gb;

	if (!cfg->grubenv)
		return sl_error(SL_E_CONFIG, "bootloader 'grub' needs grubenv");
	gb = calloc(1, sizeof(*gb));
	if (!gb)
		return -ENOMEM;
	gb->path = strdup(cfg->grubenv);
	if (!gb->path) {
		free(gb);
		return -ENOMEM;
	}
	*ret_priv = gb;
	return 0;
}

static void grub_close(void *priv)
{
	struct grub_boot *gb = priv;

	free(gb->path);
	free(gb);
}

const struct agent_boot_ops agent_boot_grub_ops = {
    .name = "grub",
    .open = grub_open,
    .close = grub_close,
    .get = grub_get,
    .set = grub_set,
};
