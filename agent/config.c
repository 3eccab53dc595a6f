/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's configuration: INI parsing with libinih, strict keys, and validation. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "fileio.h"

#define VALUE_MAX 1024 /* bytes of one value */

struct parse_ctx {
	struct agent_config *cfg;
	const char *what;
	bool identity_only;
	const char *section; /* of the line being parsed */
	int error;	     /* first error code */
	unsigned seen;	     /* bit per key, to refuse keys given twice */
};

/* One configuration key: where it lives and how it is stored. */
enum key_kind { K_STRING, K_PATH, K_BOOL, K_UINT, K_ENUM_BOOT, K_ENUM_REBOOT, K_NAME, K_URL };

struct key_def {
	const char *section; /* "slot" matches any [slot.NAME] */
	const char *name;
	enum key_kind kind;
	size_t offset;
	bool identity;
	unsigned max; /* K_UINT: the largest value (the smallest is 1) */
};

#define F(m) offsetof(struct agent_config, m)
static const struct key_def keys[] = {
    {"agent", "state_dir", K_PATH, F(state_dir), false},
    {"agent", "airgap", K_BOOL, F(airgap), false},
    {"controlplane", "url", K_URL, F(url), true},
    {"controlplane", "poll_interval_s", K_UINT, F(poll_interval_s), false, AGENT_INTERVAL_MAX},
    {"controlplane", "backoff_max_s", K_UINT, F(backoff_max_s), false, AGENT_INTERVAL_MAX},
    {"device", "id", K_NAME, F(device_id), true},
    {"device", "hardware", K_NAME, F(hardware), true},
    {"device", "accelerator", K_STRING, F(accelerator), false},
    {"device", "runtimes", K_STRING, F(runtimes), false},
    {"slot", "a", K_PATH, F(slot_a), false},
    {"slot", "b", K_PATH, F(slot_b), false},
    {"slot", "bootloader", K_ENUM_BOOT, F(bootloader), false},
    {"slot", "bootloader_state", K_PATH, F(bootloader_state), false},
    {"slot", "uboot_config", K_PATH, F(uboot_config), false},
    {"slot", "grubenv", K_PATH, F(grubenv), false},
    {"models", "dir", K_PATH, F(models_dir), false},
    {"models", "reload_command", K_STRING, F(reload_command), false},
    {"models", "smoke_test_command", K_STRING, F(smoke_test_command), false},
    {"health", "command", K_STRING, F(health_command), false},
    {"health", "deadline_s", K_UINT, F(health_deadline_s), false, AGENT_HEALTH_DEADLINE_MAX},
    {"reboot", "policy", K_ENUM_REBOOT, F(reboot_policy), false},
    {"reboot", "command", K_STRING, F(reboot_command), false},
};
#undef F

void agent_config_init(struct agent_config *cfg)
{
	*cfg = (struct agent_config){
	    .health_deadline_s = AGENT_HEALTH_DEADLINE_DEFAULT,
	    .reboot_policy = AGENT_REBOOT_COMMAND,
	    .poll_interval_s = AGENT_POLL_INTERVAL_DEFAULT,
	    .backoff_max_s = AGENT_BACKOFF_MAX_DEFAULT,
	};
}

bool agent_name_is_safe(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > AGENT_ID_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static _printf_(3, 4) int ctx_error(struct parse_ctx *c, const struct key_def *k, const char *fmt,
				    ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->error == 0)
		c->error = sl_error(SL_E_CONFIG, "%s: [%s] %s: %s", c->what, c->section,
				    k ? k->name : "?", msg);
	return 0;
}

static const struct key_def *find_key(const char *section, const char *name, const char **ret_class)
{
	const char *sec = section;

	*ret_class = NULL;
	if (strncmp(section, "slot.", 5) == 0) {
		sec = "slot";
		*ret_class = section + 5;
	}
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (strcmp(keys[i].section, sec) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool section_known(const char *section)
{
	if (strncmp(section, "slot.", 5) == 0)
		return true;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int set_string(struct parse_ctx *c, const struct key_def *k, const char *value)
{
	char **slot = (char **)((char *)c->cfg + k->offset);
	char *dup;

	if (c->identity_only && *slot && strcmp(*slot, value) != 0)
		return ctx_error(c, k, "'%s' contradicts '%s' configured already", value, *slot);
	dup = strdup(value);
	if (!dup) {
		c->error = c->error ? c->error : -ENOMEM;
		return 0;
	}
	free(*slot);
	*slot = dup;
	return 1;
}

static int store(struct parse_ctx *c, const struct key_def *k, const char *value)
{
	char *base = (char *)c->cfg + k->offset;
	char *end;

	switch (k->kind) {
	case K_PATH:
		if (value[0] != '/')
			return ctx_error(c, k, "'%s' is not an absolute path", value);
		return set_string(c, k, value);
	case K_NAME:
		if (!agent_name_is_safe(value))
			return ctx_error(c, k,
					 "'%s' is not a name of 1 to %d characters [A-Za-z0-9._-]",
					 value, AGENT_ID_MAX);
		return set_string(c, k, value);
	case K_URL:
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0)
			return ctx_error(c, k, "'%s' is not an http(s) URL", value);
		return set_string(c, k, value);
	case K_STRING:
		return set_string(c, k, value);
	case K_BOOL:
		if (parse_bool(value, (bool *)base) < 0)
			return ctx_error(c, k, "'%s' is not a boolean (true/false)", value);
		return 1;
	case K_UINT: {
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' || v == 0 || v > k->max)
			return ctx_error(c, k, "'%s' is not a number of seconds in 1..%u", value,
					 k->max);
		*(unsigned *)base = (unsigned)v;
		return 1;
	}
	case K_ENUM_BOOT:
		if (strcmp(value, "file") && strcmp(value, "uboot") && strcmp(value, "grub"))
			return ctx_error(c, k, "'%s' is not one of file, uboot, grub", value);
		return set_string(c, k, value);
	case K_ENUM_REBOOT:
		if (!strcmp(value, "now"))
			*(enum agent_reboot_policy *)base = AGENT_REBOOT_NOW;
		else if (!strcmp(value, "command"))
			*(enum agent_reboot_policy *)base = AGENT_REBOOT_COMMAND;
		else
			return ctx_error(c, k, "'%s' is not one of now, command", value);
		return 1;
	}
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	const struct key_def *k;
	const char *cls;
	size_t idx;

	if (c->error)
		return 0;
	c->section = section;
	k = find_key(section, name, &cls);
	if (!k) {
		c->error = sl_error(SL_E_CONFIG, "%s: [%s] %s: unknown %s", c->what, section, name,
				    section_known(section) ? "key" : "section");
		return 0;
	}
	if (c->identity_only && !k->identity)
		return ctx_error(c, k, "not allowed in the provisioning medium's configuration");
	idx = (size_t)(k - keys);
	if (c->seen & (1u << idx))
		return ctx_error(c, k, "given twice");
	c->seen |= 1u << idx;
	if (strlen(value) > VALUE_MAX)
		return ctx_error(c, k, "value longer than %d bytes", VALUE_MAX);
	if (cls) {
		if (!agent_name_is_safe(cls))
			return ctx_error(c, k, "slot class '%s' is not a safe name", cls);
		if (c->cfg->slot_class && strcmp(c->cfg->slot_class, cls) != 0)
			return ctx_error(c, k, "only one slot class is supported ('%s' and '%s')",
					 c->cfg->slot_class, cls);
		if (!c->cfg->slot_class && !(c->cfg->slot_class = strdup(cls))) {
			c->error = -ENOMEM;
			return 0;
		}
	}
	return store(c, k, value);
}

int agent_config_parse(const char *text, size_t len, const char *what, bool identity_only,
		       struct agent_config *cfg)
{
	struct parse_ctx c = {.cfg = cfg, .what = what, .identity_only = identity_only};
	_cleanup_free_ char *copy = NULL;
	int r;

	if (len > AGENT_CONFIG_MAX)
		return sl_error(SL_E_TOO_LARGE, "%s: larger than %u bytes", what, AGENT_CONFIG_MAX);
	if (memchr(text, '\0', len))
		return sl_error(SL_E_CONFIG, "%s: contains a NUL byte", what);
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	r = ini_parse_string(copy, handler, &c);
	if (c.error)
		return c.error;
	if (r > 0)
		return sl_error(SL_E_CONFIG, "%s: line %d: not a [section] or key = value line",
				what, r);
	if (r < 0)
		return -ENOMEM;
	return 0;
}

int agent_config_load(const char *path, struct agent_config *cfg)
{
	_cleanup_free_ uint8_t *buf = NULL;
	const char *env;
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, AGENT_CONFIG_MAX, &buf, &len);
	if (r == SL_E_TOO_LARGE)
		return sl_error(r, "%s: larger than %u bytes", path, AGENT_CONFIG_MAX);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return sl_error(r, "%s: cannot read: %s", path, sl_strerror(r));
	r = agent_config_parse((const char *)buf, len, path, false, cfg);
	if (r < 0)
		return r;
	env = getenv("SLUICE_AIRGAP");
	if (env && !strcmp(env, "1"))
		cfg->airgap = true;
	return 0;
}

static int missing(const char *section, const char *key)
{
	return sl_error(SL_E_CONFIG, "agent.conf: [%s] %s: required for installs", section, key);
}

int agent_config_validate_install(const struct agent_config *cfg)
{
	char sec[80];

	if (!cfg->device_id)
		return missing("device", "id");
	if (!cfg->hardware)
		return missing("device", "hardware");
	if (!cfg->models_dir)
		return missing("models", "dir");
	if (!cfg->slot_class)
		return sl_error(SL_E_CONFIG,
				"agent.conf: no [slot.NAME] section (e.g. [slot.rootfs])");
	snprintf(sec, sizeof(sec), "slot.%s", cfg->slot_class);
	if (!cfg->slot_a)
		return missing(sec, "a");
	if (!cfg->slot_b)
		return missing(sec, "b");
	if (!strcmp(cfg->slot_a, cfg->slot_b))
		return sl_error(SL_E_CONFIG, "agent.conf: [%s] a and b: both name '%s'", sec,
				cfg->slot_a);
	if (!cfg->bootloader)
		return missing(sec, "bootloader");
	if (!strcmp(cfg->bootloader, "file") && !cfg->bootloader_state)
		return missing(sec, "bootloader_state");
	if (!strcmp(cfg->bootloader, "uboot") && !cfg->uboot_config)
		return missing(sec, "uboot_config");
	if (!strcmp(cfg->bootloader, "grub") && !cfg->grubenv)
		return missing(sec, "grubenv");
	if (cfg->reboot_policy == AGENT_REBOOT_NOW && !cfg->reboot_command)
		return sl_error(SL_E_CONFIG,
				"agent.conf: [reboot] command: required with policy = now");
	return 0;
}

int agent_config_validate_run(const struct agent_config *cfg)
{
	if (!cfg->url)
		return sl_error(SL_E_CONFIG, "agent.conf: [controlplane] url: required by run "
					     "(normally set by the provisioning medium)");
	if (strncmp(cfg->url, "https://", 8) != 0)
		return sl_error(SL_E_CONFIG,
				"agent.conf: [controlplane] url: '%s': run needs https:// (mTLS)",
				cfg->url);
	return agent_config_validate_install(cfg);
}

void agent_config_clear(struct agent_config *cfg)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].kind != K_BOOL && keys[i].kind != K_UINT &&
		    keys[i].kind != K_ENUM_REBOOT)
			free(*(char **)((char *)cfg + keys[i].offset));
	free(cfg->slot_class);
	*cfg = (struct agent_config){};
}
