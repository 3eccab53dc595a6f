/* SPDX-License-Identifier: Apache-2.0 */
/* Device status as one JSON document, printed as JSON or as readable lines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "events.h"
#include "fileio.h"
#include "model.h"
#include "provision.h"
#include "state.h"
#include "status.h"
#include "tuf/json.h"
#include "tuf/updater.h"
#include "util.h"

#define MODELS_LIST_MAX 64

static void put_str(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static struct json_object *identity_json(const char *state_dir, int64_t now)
{
	struct json_object *o = json_object_new_object();
	struct agent_identity_info info;
	char t[21];

	json_object_object_add(o, "provisioned",
			       json_object_new_boolean(agent_identity_present(state_dir)));
	if (agent_identity_info(state_dir, &info) < 0)
		return o;
	put_str(o, "subject", info.subject);
	put_str(o, "common_name", info.common_name);
	tuf_json_format_time(info.not_after, t);
	put_str(o, "not_after", t);
	json_object_object_add(o, "expires_in_days",
			       json_object_new_int64((info.not_after - now) / 86400));
	put_str(o, "certificate_sha256", info.sha256);
	agent_identity_info_clear(&info);
	return o;
}

static void add_root_version(struct json_object *o, const char *state_dir)
{
	_cleanup_free_ char *p = agent_path(state_dir, "tuf/root.json");
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	size_t len;

	if (!p || sl_read_file_at(AT_FDCWD, p, TUF_DEFAULT_ROOT_MAX, &buf, &len) < 0 ||
	    tuf_metadata_parse(buf, len, TUF_ROLE_ROOT, &md) < 0)
		return;
	json_object_object_add(o, "root_version", json_object_new_int64((int64_t)md->version));
}

static struct json_object *slots_json(const struct agent_config *cfg)
{
	struct json_object *o = json_object_new_object();
	struct agent_boot *b = NULL;
	struct agent_boot_env env;

	put_str(o, "class", cfg->slot_class);
	put_str(o, "bootloader", cfg->bootloader);
	if (!cfg->bootloader || agent_boot_open(cfg, &b) < 0 || agent_boot_get(b, &env) < 0) {
		agent_boot_free(b);
		return o;
	}
	for (int s = AGENT_SLOT_A; s <= AGENT_SLOT_B; s++) {
		struct json_object *so = json_object_new_object();

		put_str(so, "path", s == AGENT_SLOT_A ? cfg->slot_a : cfg->slot_b);
		json_object_object_add(so, "booted",
				       json_object_new_boolean(env.booted == (enum agent_slot)s));
		json_object_object_add(so, "primary",
				       json_object_new_boolean(env.primary == (enum agent_slot)s));
		put_str(so, "state", env.booted == (enum agent_slot)s ? "active" : "inactive");
		json_object_object_add(o, agent_slot_name((enum agent_slot)s), so);
	}
	put_str(o, "booted", agent_slot_name(env.booted));
	json_object_object_add(o, "trial", json_object_new_boolean(env.trial));
	json_object_object_add(o, "bootcount", json_object_new_int((int)env.bootcount));
	json_object_object_add(o, "bootlimit", json_object_new_int((int)env.bootlimit));
	agent_boot_free(b);
	return o;
}

static struct json_object *install_json(const char *state_dir, struct json_object *top)
{
	struct json_object *o = json_object_new_object();
	struct agent_install st;

	if (agent_install_load(state_dir, &st) < 0) {
		put_str(o, "phase", "unreadable");
		return o;
	}
	put_str(o, "phase", agent_phase_name(st.phase));
	put_str(o, "release", st.release);
	put_str(o, "version", st.version);
	put_str(o, "error", st.error);
	put_str(o, "source", st.source);
	if (st.release)
		put_str(o, "slot", agent_slot_name(st.slot));
	if (st.installed_release) {
		struct json_object *i = json_object_new_object();
		put_str(i, "release", st.installed_release);
		put_str(i, "version", st.installed_version);
		json_object_object_add(top, "installed", i);
	}
	agent_install_clear(&st);
	return o;
}

static struct json_object *models_json(const struct agent_config *cfg)
{
	struct json_object *arr = json_object_new_array();
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (!cfg->models_dir || !(d = opendir(cfg->models_dir)))
		return arr;
	while ((de = readdir(d)) && n < MODELS_LIST_MAX) {
		_cleanup_free_ char *cur = NULL;
		struct json_object *m;

		if (de->d_name[0] == '.' ||
		    agent_model_current(cfg->models_dir, de->d_name, &cur) < 0)
			continue;
		m = json_object_new_object();
		put_str(m, "name", de->d_name);
		put_str(m, "current", cur);
		json_object_array_add(arr, m);
		n++;
	}
	closedir(d);
	return arr;
}

int agent_status_build(const struct agent_config *cfg, int64_t now, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();
	int64_t pending;

	if (!o)
		return -ENOMEM;
	put_str(o, "device_id", cfg->device_id);
	put_str(o, "hardware", cfg->hardware);
	put_str(o, "controlplane_url", cfg->url);
	put_str(o, "state_dir", cfg->state_dir);
	json_object_object_add(o, "airgap", json_object_new_boolean(cfg->airgap));
	json_object_object_add(o, "identity", identity_json(cfg->state_dir, now));
	add_root_version(o, cfg->state_dir);
	json_object_object_add(o, "slots", slots_json(cfg));
	json_object_object_add(o, "install", install_json(cfg->state_dir, o));
	json_object_object_add(o, "models", models_json(cfg));
	pending = agent_events_pending(cfg->state_dir);
	if (pending >= 0)
		json_object_object_add(o, "events_pending", json_object_new_int64(pending));
	*ret = o;
	return 0;
}

static void print_flat(FILE *out, const char *prefix, struct json_object *o)
{
	json_object_object_foreach(o, k, v)
	{
		char key[256];

		snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", k);
		if (json_object_is_type(v, json_type_object))
			print_flat(out, key, v);
		else if (json_object_is_type(v, json_type_array))
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				struct json_object *e = json_object_array_get_idx(v, i), *n, *c;
				if (json_object_object_get_ex(e, "name", &n) &&
				    json_object_object_get_ex(e, "current", &c))
					fprintf(out, "%s.%s: %s\n", key, json_object_get_string(n),
						json_object_get_string(c));
			}
		else
			fprintf(out, "%s: %s\n", key, json_object_get_string(v));
	}
}

int agent_status_print(const struct agent_config *cfg, int64_t now, bool json, FILE *out)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	int r;

	r = agent_status_build(cfg, now, &o);
	if (r < 0)
		return r;
	if (json)
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_flat(out, "", o);
	return 0;
}
