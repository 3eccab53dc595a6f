/* SPDX-License-Identifier: Apache-2.0 */
/* The bootloader interface: A/B slot selection with a one-shot trial and a boot counter. */
#pragma once

#include <stdbool.h>

#include "config.h"

enum agent_slot {
	AGENT_SLOT_A,
	AGENT_SLOT_B,
};

/* "a" or "b". */
const char *agent_slot_name(enum agent_slot s);
/* Parse "a"/"b"; -EINVAL otherwise. */
int agent_slot_from_name(const char *name, enum agent_slot *ret);
static inline enum agent_slot agent_slot_other(enum agent_slot s)
{
	return s == AGENT_SLOT_A ? AGENT_SLOT_B : AGENT_SLOT_A;
}

/*
 * What the bootloader will do and did. The U-Boot scheme that every backend follows: the
 * bootloader boots `primary`; while `trial` (upgrade_available) is set it increments
 * bootcount on every boot and, once bootcount exceeds bootlimit, switches primary back to
 * the other slot and clears trial (the "altbootcmd").
 */
struct agent_boot_env {
	enum agent_slot primary; /* boot_slot */
	bool trial;		 /* upgrade_available */
	unsigned bootcount;
	unsigned bootlimit;
	enum agent_slot booted; /* the slot the running system came from */
};

/* One backend: a table of operations on its private handle. */
struct agent_boot_ops {
	const char *name;
	int (*open)(const struct agent_config *cfg, void **ret_priv);
	void (*close)(void *priv);
	int (*get)(void *priv, struct agent_boot_env *ret);
	/* Write primary, trial, bootcount and bootlimit of env (booted is read-only). */
	int (*set)(void *priv, const struct agent_boot_env *env);
};

struct agent_boot;

/*
 * Open the backend cfg->bootloader names (only "file" is built today). SL_E_CONFIG for an
 * unknown backend. *ret is owned by the caller (agent_boot_free()).
 */
int agent_boot_open(const struct agent_config *cfg, struct agent_boot **ret);

/* Accepts NULL, returns NULL. */
struct agent_boot *agent_boot_free(struct agent_boot *b);

/* The current environment. */
int agent_boot_get(struct agent_boot *b, struct agent_boot_env *ret);

/* Boot slot s once on the next boot: primary = s, trial = 1, bootcount = 0. */
int agent_boot_try_slot(struct agent_boot *b, enum agent_slot s);

/* Commit s: primary = s, trial = 0, bootcount = 0. */
int agent_boot_mark_good(struct agent_boot *b, enum agent_slot s);

/* Give up on s: primary = the other slot, trial = 0, bootcount = 0. */
int agent_boot_mark_bad(struct agent_boot *b, enum agent_slot s);

/* The backend of the file bootloader (boot-file.c). */
extern const struct agent_boot_ops agent_boot_file_ops;
/* The U-Boot backend through libubootenv (boot-uboot.c). */
extern const struct agent_boot_ops agent_boot_uboot_ops;
/* The GRUB backend on the grubenv environment block (boot-grub.c). */
extern const struct agent_boot_ops agent_boot_grub_ops;

/* Helpers shared by the backends that keep the variables in a bootloader environment. */

#define AGENT_BOOT_COUNT_MAX 1000     /* the largest bootcount/bootlimit accepted */
#define AGENT_KERNEL_CMDLINE_MAX 4096 /* bytes of the kernel command line read */

/*
 * Apply one bootloader variable to env: boot_slot, upgrade_available, bootcount, bootlimit.
 * 0 when applied, 1 when name is none of these (left alone), TUF_E_STATE naming what (the
 * environment) and the entry when the value is invalid.
 */
int agent_boot_env_apply(const char *what, const char *name, const char *value,
			 struct agent_boot_env *env);

/*
 * The slot the running system was started from, as the boot script passed it on the kernel
 * command line: "sluice.slot=a" or "sluice.slot=b" in /proc/cmdline (or in the file
 * SLUICE_KERNEL_CMDLINE names, for tests). TUF_E_STATE when it is missing or invalid: a
 * backend never guesses which slot is running.
 */
int agent_boot_cmdline_slot(enum agent_slot *ret);
