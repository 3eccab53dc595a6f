/* SPDX-License-Identifier: Apache-2.0 */
/* The `uboot` bootloader backend: the U-Boot variables in the U-Boot environment (libubootenv). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libuboot.h needs size_t from a header included before it. */
#include <libuboot.h>

#include "boot.h"
#include "error.h"
#include "macro.h"

/*
 * The environment holds boot_slot=a|b, upgrade_available=0|1, bootcount=N and bootlimit=N
 * next to whatever else U-Boot keeps there (left untouched). The U-Boot boot script counts
 * and falls back (altbootcmd) and passes sluice.slot=<slot it started> to the kernel.
 * Missing variables are those of a fresh device booted from slot a. The environment is
 * opened for each operation, so a change made by fw_setenv in between is seen.
 */
#define VALUE_MAX 64 /* bytes of one of our variables' values */

struct uboot_boot {
	char *config; /* the fw_env.config */
	struct uboot_ctx *ctx;
};

/*
 * libubootenv reports a failed write() as -1 and a failed open() as -EBADF whatever the cause
 * was; errno still holds the cause (EROFS, ENOSPC, EIO ...), so prefer it.
 */
static int uboot_errno(int r)
{
	if ((r == -1 || r == -EBADF) && errno > 0)
		return -errno;
	return r;
}

/* Open (lock and load) the environment; a failed open is closed again (it keeps its lock). */
static int uboot_load(struct uboot_boot *ub)
{
	int r;

	errno = 0;
	r = libuboot_open(ub->ctx);
	if (r >= 0)
		return 0;
	r = uboot_errno(r);
	libuboot_close(ub->ctx);
	if (r == -ENODATA)
		return sl_error(TUF_E_STATE,
				"%s: the U-Boot environment has no valid copy (CRC mismatch); "
				"refusing to replace it with defaults",
				ub->config);
	return sl_error(TUF_E_STATE, "%s: cannot open the U-Boot environment: %s", ub->config,
			strerror(-r));
}

static int uboot_get(void *priv, struct agent_boot_env *ret)
{
	static const char *const names[] = {"boot_slot", "upgrade_available", "bootcount",
					    "bootlimit"};
	struct uboot_boot *ub = priv;
	struct agent_boot_env env = {.bootlimit = AGENT_BOOTLIMIT_DEFAULT};
	int r;

	r = uboot_load(ub);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *v = libuboot_get_env(ub->ctx, names[i]);

		if (!v)
			continue;
		if (strlen(v) > VALUE_MAX) {
			r = sl_error(TUF_E_STATE, "%s: U-Boot variable %s is too long", ub->config,
				     names[i]);
			break;
		}
		r = agent_boot_env_apply(ub->config, names[i], v, &env);
		if (r < 0)
			break;
	}
	libuboot_close(ub->ctx);
	if (r < 0)
		return r;
	r = agent_boot_cmdline_slot(&env.booted);
	if (r < 0)
		return r;
	*ret = env;
	return 0;
}

static int uboot_set(void *priv, const struct agent_boot_env *env)
{
	struct uboot_boot *ub = priv;
	char count[16], limit[16];
	int r;

	snprintf(count, sizeof(count), "%u", env->bootcount);
	snprintf(limit, sizeof(limit), "%u", env->bootlimit);
	r = uboot_load(ub);
	if (r < 0)
		return r;
	/* One store of the whole environment: the redundant copy makes it atomic. */
	r = libuboot_set_env(ub->ctx, "boot_slot", agent_slot_name(env->primary));
	if (r == 0)
		r = libuboot_set_env(ub->ctx, "upgrade_available", env->trial ? "1" : "0");
	if (r == 0)
		r = libuboot_set_env(ub->ctx, "bootcount", count);
	if (r == 0)
		r = libuboot_set_env(ub->ctx, "bootlimit", limit);
	if (r < 0) {
		libuboot_close(ub->ctx);
		return sl_error(TUF_E_STATE, "%s: cannot set a U-Boot variable: %s", ub->config,
				strerror(-r));
	}
	errno = 0;
	r = libuboot_env_store(ub->ctx);
	if (r < 0)
		r = uboot_errno(r);
	libuboot_close(ub->ctx);
	if (r < 0)
		return sl_error(r, "%s: cannot store the U-Boot environment: %s", ub->config,
				strerror(-r));
	return 0;
}

static void uboot_close(void *priv)
{
	struct uboot_boot *ub = priv;

	if (ub->ctx)
		libuboot_exit(ub->ctx);
	free(ub->config);
	free(ub);
}

static int uboot_open(const struct agent_config *cfg, void **ret_priv)
{
	struct uboot_boot *ub;
	int r;

	if (!cfg->uboot_config)
		return sl_error(SL_E_CONFIG, "bootloader 'uboot' needs uboot_config");
	ub = calloc(1, sizeof(*ub));
	if (!ub)
		return -ENOMEM;
	ub->config = strdup(cfg->uboot_config);
	if (!ub->config) {
		free(ub);
		return -ENOMEM;
	}
	r = libuboot_initialize(&ub->ctx, NULL);
	if (r < 0) {
		ub->ctx = NULL;
		uboot_close(ub);
		return sl_error(r, "cannot initialise libubootenv: %s", strerror(-r));
	}
	r = libuboot_read_config(ub->ctx, ub->config);
	if (r < 0) {
		uboot_close(ub);
		return sl_error(SL_E_CONFIG, "%s: not a usable fw_env.config: %s",
				cfg->uboot_config, strerror(-r));
	}
	*ret_priv = ub;
	return 0;
}

const struct agent_boot_ops agent_boot_uboot_ops = {
    .name = "uboot",
    .open = uboot_open,
    .close = uboot_close,
    .get = uboot_get,
    .set = uboot_set,
};
