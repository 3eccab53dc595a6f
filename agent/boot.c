/* SPDX-License-Identifier: Apache-2.0 */
/* The bootloader interface: backend selection and the slot operations every backend shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "error.h"

struct agent_boot {
	const struct agent_boot_ops *ops;
	void *priv;
};

static const struct agent_boot_ops *const backends[] = {
    &agent_boot_file_ops,
};

const char *agent_slot_name(enum agent_slot s)
{
	return s == AGENT_SLOT_A ? "a" : "b";
}

int agent_slot_from_name(const char *name, enum agent_slot *ret)
{
	if (name && !strcmp(name, "a"))
		*ret = AGENT_SLOT_A;
	else if (name && !strcmp(name, "b"))
		*ret = AGENT_SLOT_B;
	else
		return -EINVAL;
	return 0;
}

int agent_boot_open(const struct agent_config *cfg, struct agent_boot **ret)
{
	struct agent_boot *b;

	for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
		int r;

		if (!cfg->bootloader || strcmp(cfg->bootloader, backends[i]->name) != 0)
			continue;
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->ops = backends[i];
		r = b->ops->open(cfg, &b->priv);
		if (r < 0) {
			free(b);
			return r;
		}
		*ret = b;
		return 0;
	}
	return sl_error(SL_E_CONFIG, "bootloader '%s' is not built into this agent",
			cfg->bootloader ? cfg->bootloader : "(none)");
}

struct agent_boot *agent_boot_free(struct agent_boot *b)
{
	if (!b)
		return NULL;
	b->ops->close(b->priv);
	free(b);
	return NULL;
}

int agent_boot_get(struct agent_boot *b, struct agent_boot_env *ret)
{
	return b->ops->get(b->priv, ret);
}

static int update(struct agent_boot *b, enum agent_slot primary, bool trial)
{
	struct agent_boot_env env;
	int r;

	r = b->ops->get(b->priv, &env);
	if (r < 0)
		return r;
	env.primary = primary;
	env.trial = trial;
	env.bootcount = 0;
	return b->ops->set(b->priv, &env);
}

int agent_boot_try_slot(struct agent_boot *b, enum agent_slot s)
{
	return update(b, s, true);
}

int agent_boot_mark_good(struct agent_boot *b, enum agent_slot s)
{
	return update(b, s, false);
}

int agent_boot_mark_bad(struct agent_boot *b, enum agent_slot s)
{
	return update(b, agent_slot_other(s), false);
}
