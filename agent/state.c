/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's persistent state: install record in JSON with atomic writes, and the lock file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "state.h"
#include "tuf/json.h"
#include "util.h"

static const char *const phase_names[_AGENT_PHASE_MAX] = {
    [AGENT_PHASE_IDLE] = "idle",	   [AGENT_PHASE_DOWNLOADING] = "downloading",
    [AGENT_PHASE_WRITTEN] = "written",	   [AGENT_PHASE_VERIFIED] = "verified",
    [AGENT_PHASE_SWITCHED] = "switched",   [AGENT_PHASE_BOOTED] = "booted",
    [AGENT_PHASE_COMMITTED] = "committed", [AGENT_PHASE_ROLLED_BACK] = "rolled_back",
    [AGENT_PHASE_FAILED] = "failed",
};

const char *agent_phase_name(enum agent_phase p)
{
	return p < _AGENT_PHASE_MAX ? phase_names[p] : "?";
}

int agent_phase_from_name(const char *name, enum agent_phase *ret)
{
	for (int i = 0; i < _AGENT_PHASE_MAX; i++)
		if (name && !strcmp(name, phase_names[i])) {
			*ret = (enum agent_phase)i;
			return 0;
		}
	return -EINVAL;
}

bool agent_phase_active(enum agent_phase p)
{
	return p >= AGENT_PHASE_DOWNLOADING && p <= AGENT_PHASE_BOOTED;
}

char *agent_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

void agent_install_clear_items(struct agent_install *s)
{
	for (size_t i = 0; i < s->n_items; i++) {
		free(s->items[i].path);
		free(s->items[i].model);
		free(s->items[i].file);
		free(s->items[i].previous);
	}
	memset(s->items, 0, sizeof(s->items));
	s->n_items = 0;
}

void agent_install_clear(struct agent_install *s)
{
	agent_install_clear_items(s);
	free(s->release);
	free(s->version);
	free(s->source);
	free(s->error);
	free(s->installed_release);
	free(s->installed_version);
	*s = (struct agent_install){};
}

int agent_install_set_error(struct agent_install *s, int code)
{
	char *e;

	if (asprintf(&e, "%s: %s", sl_error_name(code), sl_error_message(code)) < 0)
		return -ENOMEM;
	free(s->error);
	s->error = e;
	return 0;
}

/* ---- JSON in and out ---- */

static int add_str(struct json_object *o, const char *key, const char *v)
{
	struct json_object *s;

	if (!v)
		return 0;
	s = json_object_new_string(v);
	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(struct json_object *o, const char *key, int64_t v)
{
	struct json_object *n = json_object_new_int64(v);

	if (!n || json_object_object_add(o, key, n) < 0) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

static int item_to_json(const struct agent_item *it, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = add_str(o, "path", it->path);
	if (r >= 0)
		r = add_str(o, "kind", it->image ? "image" : "model");
	if (r >= 0)
		r = add_str(o, "sha256", it->sha256);
	if (r >= 0)
		r = add_int(o, "length", (int64_t)it->length);
	if (r >= 0)
		r = add_str(o, "model", it->model);
	if (r >= 0)
		r = add_str(o, "file", it->file);
	if (r >= 0)
		r = add_str(o, "previous", it->previous);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

static int install_to_json(struct agent_install *s, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *arr, *inst;
	int r;

	if (!o)
		return -ENOMEM;
	r = add_str(o, "phase", agent_phase_name(s->phase));
	if (r >= 0)
		r = add_str(o, "release", s->release);
	if (r >= 0)
		r = add_str(o, "version", s->version);
	if (r >= 0)
		r = add_str(o, "source", s->source);
	if (r >= 0)
		r = add_str(o, "slot", agent_slot_name(s->slot));
	if (r >= 0)
		r = add_int(o, "written", (int64_t)s->written);
	if (r >= 0)
		r = add_str(o, "error", s->error);
	if (r >= 0)
		r = add_int(o, "updated", s->updated);
	if (r < 0)
		return r;
	arr = json_object_new_array();
	if (!arr || json_object_object_add(o, "targets", arr) < 0) {
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_items; i++) {
		struct json_object *it;

		r = item_to_json(&s->items[i], &it);
		if (r < 0)
			return r;
		if (json_object_array_add(arr, it) < 0) {
			json_object_put(it);
			return -ENOMEM;
		}
	}
	if (s->installed_release) {
		inst = json_object_new_object();
		if (!inst || json_object_object_add(o, "installed", inst) < 0) {
			json_object_put(inst);
			return -ENOMEM;
		}
		r = add_str(inst, "release", s->installed_release);
		if (r >= 0)
			r = add_str(inst, "version", s->installed_version);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

int agent_install_save(const char *state_dir, struct agent_install *s)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ char *dir = agent_path(state_dir, "install");
	_cleanup_free_ char *path = agent_path(state_dir, "install/state.json");
	const char *text;
	int r;

	if (!dir || !path)
		return -ENOMEM;
	s->updated = (int64_t)time(NULL);
	r = install_to_json(s, &o);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	r = sl_mkdir_p(dir, 0700);
	if (r < 0)
		return sl_error(r, "%s: cannot create: %s", dir, sl_strerror(r));
	r = sl_write_file_atomic(path, text, strlen(text), 0600);
	if (r < 0)
		return sl_error(r, "%s: cannot write: %s", path, sl_strerror(r));
	return 0;
}

/* An optional string member: absent and null are NULL; anything else but a string is refused. */
static int get_opt_str(struct json_object *o, const char *key, char **ret)
{
	struct json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return sl_error(TUF_E_STATE, "state.json: \"%s\" is not a string", key);
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

static int item_from_json(struct json_object *o, struct agent_item *it)
{
	const char *kind, *sha;
	int64_t len;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return sl_error(TUF_E_STATE, "state.json: a target is not an object");
	r = get_opt_str(o, "path", &it->path);
	if (r >= 0)
		r = get_opt_str(o, "model", &it->model);
	if (r >= 0)
		r = get_opt_str(o, "file", &it->file);
	if (r >= 0)
		r = get_opt_str(o, "previous", &it->previous);
	if (r < 0)
		return r;
	if (tuf_json_get_string(o, "kind", &kind) < 0 ||
	    tuf_json_get_string(o, "sha256", &sha) < 0 ||
	    tuf_json_get_int(o, "length", 0, &len) < 0 || !it->path || strlen(sha) != 64)
		return sl_error(TUF_E_STATE,
				"state.json: a target lacks kind, sha256, length or path");
	it->image = !strcmp(kind, "image");
	if (!it->image && (!it->model || !it->file))
		return sl_error(TUF_E_STATE, "state.json: model target without model or file");
	memcpy(it->sha256, sha, 65);
	it->length = (uint64_t)len;
	return 0;
}

static int install_from_json(struct json_object *o, struct agent_install *s)
{
	struct json_object *arr, *inst;
	const char *phase, *slot;
	int64_t written = 0, updated = 0;
	int r;

	if (tuf_json_get_string(o, "phase", &phase) < 0 ||
	    agent_phase_from_name(phase, &s->phase) < 0)
		return sl_error(TUF_E_STATE, "state.json: missing or unknown \"phase\"");
	if (tuf_json_get_string(o, "slot", &slot) < 0 || agent_slot_from_name(slot, &s->slot) < 0)
		return sl_error(TUF_E_STATE, "state.json: missing or unknown \"slot\"");
	if (tuf_json_get_int(o, "written", 0, &written) < 0 ||
	    tuf_json_get_int(o, "updated", 0, &updated) < 0)
		return sl_error(TUF_E_STATE, "state.json: missing \"written\" or \"updated\"");
	s->written = (uint64_t)written;
	s->updated = updated;
	r = get_opt_str(o, "release", &s->release);
	if (r >= 0)
		r = get_opt_str(o, "version", &s->version);
	if (r >= 0)
		r = get_opt_str(o, "source", &s->source);
	if (r >= 0)
		r = get_opt_str(o, "error", &s->error);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "installed", &inst)) {
		r = get_opt_str(inst, "release", &s->installed_release);
		if (r >= 0)
			r = get_opt_str(inst, "version", &s->installed_version);
		if (r < 0)
			return r;
	}
	if (tuf_json_get_array(o, "targets", &arr) < 0)
		return sl_error(TUF_E_STATE, "state.json: missing \"targets\"");
	if (json_object_array_length(arr) > AGENT_MAX_ITEMS)
		return sl_error(TUF_E_STATE, "state.json: more than %d targets", AGENT_MAX_ITEMS);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		s->n_items = i + 1;
		r = item_from_json(json_object_array_get_idx(arr, i), &s->items[i]);
		if (r < 0)
			return r;
	}
	if (agent_phase_active(s->phase) && !s->release)
		return sl_error(TUF_E_STATE,
				"state.json: an install in progress without a release");
	return 0;
}

int agent_install_load(const char *state_dir, struct agent_install *ret)
{
	_cleanup_free_ char *path = agent_path(state_dir, "install/state.json");
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	*ret = (struct agent_install){};
	if (!path)
		return -ENOMEM;
	r = sl_read_file_at(AT_FDCWD, path, AGENT_STATE_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return sl_error(r == SL_E_TOO_LARGE ? TUF_E_STATE : r, "%s: cannot read: %s", path,
				sl_strerror(r));
	r = tuf_json_parse(buf, len, 0, &o);
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s: not valid JSON", path);
	r = install_from_json(o, ret);
	if (r < 0)
		agent_install_clear(ret);
	return r;
}

int agent_lock(const char *state_dir, int *ret_fd)
{
	_cleanup_free_ char *path = agent_path(state_dir, "agent.lock");
	_cleanup_close_ int fd = -1;
	int r;

	if (!path)
		return -ENOMEM;
	r = sl_mkdir_p(state_dir, 0700);
	if (r < 0)
		return sl_error(r, "%s: cannot create the state directory: %s", state_dir,
				sl_strerror(r));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sl_error(-errno, "%s: cannot open: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return sl_error(-EBUSY, "%s: another sluice-agent is running", path);
		return sl_error(-errno, "%s: cannot lock: %s", path, strerror(errno));
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}
