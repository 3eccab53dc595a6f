/* SPDX-License-Identifier: Apache-2.0 */
/* Signed install receipts: canonical JSON of the outcome, signed with the device key. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "provision.h"
#include "receipt.h"
#include "tuf/json.h"
#include "util.h"

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int build_body(const struct agent_config *cfg, const char *outcome,
		      const struct agent_install *st, const char *error, const char *now,
		      struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *arr;
	int r;

	if (!o)
		return -ENOMEM;
	r = add(o, "sluice_receipt", json_object_new_int(1));
	if (r >= 0)
		r = add(o, "device_id",
			json_object_new_string(cfg->device_id ? cfg->device_id : ""));
	if (r >= 0)
		r = add(o, "hardware", json_object_new_string(cfg->hardware ? cfg->hardware : ""));
	if (r >= 0)
		r = add(o, "outcome", json_object_new_string(outcome));
	if (r >= 0)
		r = add(o, "time", json_object_new_string(now));
	if (r >= 0 && st && st->release)
		r = add(o, "release", json_object_new_string(st->release));
	if (r >= 0 && st) {
		if (st->version)
			r = add(o, "version", json_object_new_string(st->version));
		if (r >= 0)
			r = add(o, "phase", json_object_new_string(agent_phase_name(st->phase)));
		if (r >= 0 && st->installed_release)
			r = add(o, "installed_release",
				json_object_new_string(st->installed_release));
		if (r >= 0 && st->installed_version)
			r = add(o, "installed_version",
				json_object_new_string(st->installed_version));
		if (r >= 0 && !error && st->error && st->phase != AGENT_PHASE_COMMITTED)
			error = st->error;
	}
	if (r >= 0 && error)
		r = add(o, "error", json_object_new_string(error));
	if (r < 0)
		return r;
	arr = json_object_new_array();
	r = add(o, "targets", arr);
	for (size_t i = 0; r >= 0 && st && i < st->n_items; i++) {
		struct json_object *t = json_object_new_object();

		r = t ? json_object_array_add(arr, t) : -ENOMEM;
		if (r < 0) {
			json_object_put(t);
			return -ENOMEM;
		}
		r = add(t, "path", json_object_new_string(st->items[i].path));
		if (r >= 0)
			r = add(t, "sha256", json_object_new_string(st->items[i].sha256));
		if (r >= 0)
			r = add(t, "length", json_object_new_int64((int64_t)st->items[i].length));
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

int agent_receipt_write(const char *state_dir, const struct agent_config *cfg, const char *dir,
			const char *outcome, const struct agent_install *st, const char *error)
{
	_cleanup_(json_object_putp) struct json_object *body = NULL, *env = NULL;
	_cleanup_free_ char *canon = NULL, *sig = NULL, *pem = NULL, *path = NULL;
	struct json_object *sigs, *s;
	const char *alg, *text;
	char now[21], stamp[32];
	size_t clen;
	time_t t = time(NULL);
	struct tm tm;
	int r;

	tuf_json_format_time((int64_t)t, now);
	r = build_body(cfg, outcome, st, error, now, &body);
	if (r < 0)
		return r;
	r = tuf_json_canonical(body, &canon, &clen);
	if (r < 0)
		return r;
	r = agent_identity_sign(state_dir, canon, clen, &alg, &sig);
	if (r < 0)
		return r;
	r = agent_identity_cert_pem(state_dir, &pem);
	if (r < 0)
		return r;
	env = json_object_new_object();
	sigs = json_object_new_array();
	s = json_object_new_object();
	if (!env || add(env, "signed", json_object_get(body)) < 0 ||
	    add(env, "signatures", sigs) < 0 || json_object_array_add(sigs, s) < 0 ||
	    add(s, "alg", json_object_new_string(alg)) < 0 ||
	    add(s, "sig", json_object_new_string(sig)) < 0 ||
	    add(env, "certificate", json_object_new_string(pem)) < 0)
		return -ENOMEM;
	text = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || strlen(text) > AGENT_RECEIPT_MAX)
		return sl_error(SL_E_TOO_LARGE, "receipt larger than %u bytes", AGENT_RECEIPT_MAX);
	r = sl_mkdir_p(dir, 0755);
	if (r < 0)
		return sl_error(r, "%s: cannot create: %s", dir, sl_strerror(r));
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (unsigned n = 0; n < 1000; n++) {
		_cleanup_close_ int fd = -1;

		free(path);
		if (asprintf(&path, "%s/%s-%s-%u.json", dir, cfg->device_id, stamp, n) < 0)
			return -ENOMEM;
		if (access(path, F_OK) == 0)
			continue;
		r = sl_write_file_atomic(path, text, strlen(text), 0644);
		if (r < 0)
			return sl_error(r, "%s: cannot write: %s", path, sl_strerror(r));
		return 0;
	}
	return sl_error(-EEXIST, "%s: too many receipts for one second", dir);
}

int agent_receipts_flush(const char *state_dir, const char *dir)
{
	_cleanup_free_ char *queue = agent_path(state_dir, "receipts");
	DIR *d;
	struct dirent *de;
	int n = 0, r = 0;

	if (!queue)
		return -ENOMEM;
	d = opendir(queue);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && r >= 0) {
		_cleanup_free_ char *src = NULL, *dst = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;

		if (de->d_name[0] == '.' || !strstr(de->d_name, ".json"))
			continue;
		src = agent_path(queue, de->d_name);
		if (!src ||
		    asprintf(&dst, "%s/%.*s", dir, (int)(strlen(de->d_name) - 5), de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		/* Never overwrite a receipt on the medium: add "-q<k>" until the name is free. */
		for (unsigned k = 0;; k++) {
			char *cand = NULL;

			if (asprintf(&cand, k ? "%s-q%u.json" : "%s.json", dst, k) < 0) {
				r = -ENOMEM;
				break;
			}
			if (access(cand, F_OK) < 0 || k > 1000) {
				free(dst);
				dst = cand;
				break;
			}
			free(cand);
		}
		if (r < 0)
			break;
		r = sl_read_file_at(AT_FDCWD, src, AGENT_RECEIPT_MAX, &buf, &len);
		if (r >= 0)
			r = sl_mkdir_p(dir, 0755);
		if (r >= 0)
			r = sl_write_file_atomic(dst, buf, len, 0644);
		if (r >= 0 && unlink(src) < 0)
			r = -errno;
		if (r >= 0)
			n++;
	}
	closedir(d);
	return r < 0 ? r : n;
}
