/* SPDX-License-Identifier: Apache-2.0 */
/* The device API behind /v1/checkin and /v1/events: parse strictly, record, answer. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "error.h"
#include "rollout.h"
#include "state.h"
#include "tuf/json.h"

/* Seconds between check-ins the server asks for. */
#define CP_POLL_INTERVAL 300
/* Longest string field of a check-in or event. */
#define API_FIELD_MAX 128
#define API_ERROR_MAX 1024
#define API_MODELS_MAX 64

static int answer(int status, struct json_object *o, char **ret_body, size_t *ret_len)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = strdup(text);

	if (!copy)
		return -ENOMEM;
	*ret_body = copy;
	*ret_len = strlen(copy);
	return status;
}

static int answer_error(int status, const char *msg, char **ret_body, size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "error", json_object_new_string(msg));
	return answer(status, o, ret_body, ret_len);
}

/* A member that must be a string of at most max bytes, or absent/null when optional. */
static int opt_string(struct json_object *o, const char *key, size_t max, const char **ret)
{
	struct json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) > max)
		return cp_error(SL_E_INVALID, "\"%s\" must be a string of at most %zu bytes", key,
				max);
	*ret = json_object_get_string(v);
	return 0;
}

struct checkin {
	const char *release, *slot, *hardware, *agent_version, *state;
	const char *models; /* canonical JSON text, owned by the parsed object's user */
};

static int parse_checkin(struct json_object *o, struct checkin *c, char **ret_models)
{
	struct json_object *models;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return cp_error(SL_E_INVALID, "body is not a JSON object");
	if ((r = opt_string(o, "release", API_FIELD_MAX, &c->release)) < 0 ||
	    (r = opt_string(o, "slot", 1, &c->slot)) < 0 ||
	    (r = opt_string(o, "hardware", API_FIELD_MAX, &c->hardware)) < 0 ||
	    (r = opt_string(o, "agent_version", API_FIELD_MAX, &c->agent_version)) < 0 ||
	    (r = opt_string(o, "state", API_FIELD_MAX, &c->state)) < 0)
		return r;
	if (c->slot && strcmp(c->slot, "a") != 0 && strcmp(c->slot, "b") != 0)
		return cp_error(SL_E_INVALID, "\"slot\" must be \"a\" or \"b\"");
	if (json_object_object_get_ex(o, "models", &models) &&
	    !json_object_is_type(models, json_type_null)) {
		size_t len;

		if (!json_object_is_type(models, json_type_object) ||
		    json_object_object_length(models) > API_MODELS_MAX)
			return cp_error(SL_E_INVALID, "\"models\" must be an object of at most %d "
						      "entries", API_MODELS_MAX);
		json_object_object_foreach(models, k, v) {
			if (strlen(k) > API_FIELD_MAX || !json_object_is_type(v, json_type_string) ||
			    json_object_get_string_len(v) > API_FIELD_MAX)
				return cp_error(SL_E_INVALID, "\"models\" entries must be short "
							      "strings");
		}
		r = tuf_json_canonical(models, ret_models, &len);
		if (r < 0)
			return r;
		c->models = *ret_models;
	}
	return 0;
}

static int record_checkin(struct cp_state *s, const char *device_id, const struct checkin *c)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db, "UPDATE devices SET last_seen = ?2, reported_release = ?3, "
				 "slot = ?4, agent_state = ?5, agent_version = ?6, "
				 "reported_hardware = ?7, models = ?8 WHERE id = ?1 AND "
				 "state = 'approved'", &st);
	if (r < 0)
		return r;
	if ((r = cp_db_bind_text(st, 1, device_id)) < 0 || (r = cp_db_bind_text(st, 2, now)) < 0 ||
	    (r = cp_db_bind_text(st, 3, c->release)) < 0 || (r = cp_db_bind_text(st, 4, c->slot)) < 0 ||
	    (r = cp_db_bind_text(st, 5, c->state)) < 0 ||
	    (r = cp_db_bind_text(st, 6, c->agent_version)) < 0 ||
	    (r = cp_db_bind_text(st, 7, c->hardware)) < 0 || (r = cp_db_bind_text(st, 8, c->models)) < 0)
		return r;
	return cp_db_step_done(s->db, st, "database: devices");
}

int cp_api_checkin(struct cp_state *s, const char *device_id, const void *body, size_t len,
		   char **ret_body, size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL, *out = NULL;
	_cleanup_free_ char *models = NULL, *release = NULL, *rollout = NULL;
	struct checkin c = {};
	int r;

	r = cp_api_device_allowed(s, device_id);
	if (r == CP_E_FORBIDDEN)
		return answer_error(403, "device not allowed", ret_body, ret_len);
	if (r < 0)
		return r;
	if (len > CP_CHECKIN_BODY_MAX)
		return answer_error(413, "body too large", ret_body, ret_len);
	r = tuf_json_parse(body, len, 8, &o);
	if (r >= 0)
		r = parse_checkin(o, &c, &models);
	if (r < 0)
		return answer_error(400, sl_error_message(r), ret_body, ret_len);
	r = record_checkin(s, device_id, &c);
	if (r >= 0)
		r = cp_rollout_desired(s, device_id, &release, &rollout);
	if (r < 0)
		return r;
	out = json_object_new_object();
	if (!out)
		return -ENOMEM;
	json_object_object_add(out, "desired_release",
			       release ? json_object_new_string(release) : NULL);
	json_object_object_add(out, "poll_interval", json_object_new_int(CP_POLL_INTERVAL));
	json_object_object_add(out, "rollout", rollout ? json_object_new_string(rollout) : NULL);
	return answer(200, out, ret_body, ret_len);
}

static const char *const event_types[] = {"downloading", "written",  "verified",    "switched",
					  "booted",      "committed", "rolled_back", "failed"};

struct event {
	int64_t seq;
	const char *time, *release, *type, *error;
};

static int parse_event(struct json_object *e, size_t i, struct event *ev)
{
	int64_t t;
	bool known = false;

	if (!json_object_is_type(e, json_type_object) ||
	    tuf_json_get_int(e, "seq", 0, &ev->seq) < 0 ||
	    tuf_json_get_string(e, "time", &ev->time) < 0 ||
	    tuf_json_get_string(e, "release", &ev->release) < 0 ||
	    tuf_json_get_string(e, "type", &ev->type) < 0)
		return cp_error(SL_E_INVALID, "events[%zu]: needs seq, time, release and type", i);
	if (tuf_json_parse_time(ev->time, &t) < 0)
		return cp_error(SL_E_INVALID, "events[%zu].time is not YYYY-MM-DDTHH:MM:SSZ", i);
	if (!*ev->release || strlen(ev->release) > API_FIELD_MAX)
		return cp_error(SL_E_INVALID, "events[%zu].release: 1 to %d bytes", i, API_FIELD_MAX);
	for (size_t k = 0; k < ELEMENTSOF(event_types); k++)
		known = known || strcmp(ev->type, event_types[k]) == 0;
	if (!known)
		return cp_error(SL_E_INVALID, "events[%zu].type: unknown type", i);
	if (opt_string(e, "error", API_ERROR_MAX, &ev->error) < 0)
		return cp_error(SL_E_INVALID, "events[%zu].error: a string of at most %d bytes", i,
				API_ERROR_MAX);
	return 0;
}

static int store_events(struct cp_state *s, const char *device_id, const struct event *ev,
			size_t n, size_t *ret_new)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[21];
	int r;

	cp_state_now_text(s, now);
	r = cp_db_prepare(s->db, "INSERT OR IGNORE INTO events (device_id, seq, time, received, "
				 "release, type, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);
	*ret_new = 0;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 2, ev[i].seq);
		if ((r = cp_db_bind_text(st, 1, device_id)) < 0 ||
		    (r = cp_db_bind_text(st, 3, ev[i].time)) < 0 ||
		    (r = cp_db_bind_text(st, 4, now)) < 0 ||
		    (r = cp_db_bind_text(st, 5, ev[i].release)) < 0 ||
		    (r = cp_db_bind_text(st, 6, ev[i].type)) < 0 ||
		    (r = cp_db_bind_text(st, 7, ev[i].error)) < 0)
			break;
		r = cp_db_step_done(s->db, st, "database: events");
		*ret_new += r >= 0 && sqlite3_changes(s->db) > 0;
	}
	return r;
}

static int events_tx(struct cp_state *s, const char *device_id, const struct event *ev, size_t n,
		     size_t *ret_new)
{
	int r = cp_db_begin(s->db);

	if (r < 0)
		return r;
	/* Re-checked inside the transaction: a decommission may have just committed. */
	r = cp_api_device_allowed(s, device_id);
	if (r >= 0)
		r = store_events(s, device_id, ev, n, ret_new);
	if (r >= 0 && *ret_new > 0)
		r = cp_rollout_evaluate(s);
	if (r >= 0)
		return cp_db_commit(s->db);
	cp_db_rollback(s->db);
	return r;
}

int cp_api_events(struct cp_state *s, const char *device_id, const void *body, size_t len,
		  char **ret_body, size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL, *out = NULL;
	_cleanup_free_ struct event *ev = NULL;
	struct json_object *arr;
	size_t n = 0, fresh = 0;
	int r;

	r = cp_api_device_allowed(s, device_id);
	if (r == CP_E_FORBIDDEN)
		return answer_error(403, "device not allowed", ret_body, ret_len);
	if (r < 0)
		return r;
	if (len > CP_EVENTS_BODY_MAX)
		return answer_error(413, "body too large", ret_body, ret_len);
	r = tuf_json_parse(body, len, 8, &o);
	if (r >= 0 && (!json_object_is_type(o, json_type_object) ||
		       tuf_json_get_array(o, "events", &arr) < 0))
		r = cp_error(SL_E_INVALID, "body must be {\"events\": [...]}");
	if (r >= 0 && (n = json_object_array_length(arr)) > CP_EVENTS_BATCH_MAX)
		r = cp_error(SL_E_INVALID, "more than %d events", CP_EVENTS_BATCH_MAX);
	if (r >= 0 && !(ev = calloc(n ? n : 1, sizeof(*ev))))
		return -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = parse_event(json_object_array_get_idx(arr, i), i, &ev[i]);
	if (r < 0)
		return answer_error(400, sl_error_message(r), ret_body, ret_len);
	r = events_tx(s, device_id, ev, n, &fresh);
	if (r == CP_E_FORBIDDEN)
		return answer_error(403, "device not allowed", ret_body, ret_len);
	if (r < 0)
		return r;
	out = json_object_new_object();
	if (!out)
		return -ENOMEM;
	json_object_object_add(out, "accepted", json_object_new_int64((int64_t)n));
	json_object_object_add(out, "new", json_object_new_int64((int64_t)fresh));
	return answer(200, out, ret_body, ret_len);
}
