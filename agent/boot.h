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
