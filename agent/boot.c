/* SPDX-License-Identifier: Apache-2.0 */
/* The bootloader interface: backend selection and the slot operations every backend shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"

struct agent_boot {
	const struct agent_boot_ops *ops;
	void *priv;
};

static const struct agent_boot_ops *const backends[] = {
    &agent_boot_file_ops,
    &agent_boot_uboot_ops,
    &agent_boot_grub_ops,
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

static int parse_count(const char *v, unsigned *ret)
{
	char *end;
	unsigned long n;

	if (v[0] < '0' || v[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n > AGENT_BOOT_COUNT_MAX)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

int agent_boot_env_apply(const char *what, const char *name, const char *value,
			 struct agent_boot_env *env)
{
	unsigned n = 0;
	int r;

	if (!strcmp(name, "boot_slot"))
		r = agent_slot_from_name(value, &env->primary);
	else if (!strcmp(name, "upgrade_available")) {
		r = parse_count(value, &n);
		if (r == 0 && n > 1)
			r = -EINVAL;
		if (r == 0)
			env->trial = n == 1;
	} else if (!strcmp(name, "bootcount"))
		r = parse_count(value, &env->bootcount);
	else if (!strcmp(name, "bootlimit")) {
		r = parse_count(value, &env->bootlimit);
		if (r == 0 && env->bootlimit == 0)
			env->bootlimit = AGENT_BOOTLIMIT_DEFAULT;
	} else
		return 1;
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s: invalid entry %s=%s", what, name, value);
	return 0;
}

int agent_boot_cmdline_slot(enum agent_slot *ret)
{
	static const char key[] = "sluice.slot=";
	const char *path = getenv("SLUICE_KERNEL_CMDLINE");
	_cleanup_free_ uint8_t *buf = NULL;
	const char *p, *found = NULL;
	size_t len;
	int r;

	if (!path || !path[0])
		path = "/proc/cmdline";
	r = sl_read_file_at(AT_FDCWD, path, AGENT_KERNEL_CMDLINE_MAX, &buf, &len);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s: cannot read the kernel command line: %s", path,
				sl_strerror(r));
	if (memchr(buf, '\0', len))
		return sl_error(TUF_E_STATE, "%s: NUL byte in the kernel command line", path);
	/* Words are separated by blanks; the last sluice.slot= wins, as for the kernel. */
	for (p = (const char *)buf; *p;) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (n >= sizeof(key) - 1 && !strncmp(p, key, sizeof(key) - 1))
			found = p + sizeof(key) - 1;
		p += n;
	}
	if (!found)
		return sl_error(TUF_E_STATE,
				"%s: no sluice.slot= on the kernel command line (the boot script "
				"must pass the slot it started)",
				path);
	if (!strncmp(found, "a", 1) && strchr(" \t\n", found[1]))
		*ret = AGENT_SLOT_A;
	else if (!strncmp(found, "b", 1) && strchr(" \t\n", found[1]))
		*ret = AGENT_SLOT_B;
	else
		return sl_error(TUF_E_STATE, "%s: sluice.slot= is not a or b", path);
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
