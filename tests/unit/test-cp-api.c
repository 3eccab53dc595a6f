/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the device API: 403 for unknown devices, 400 for malformed bodies, idempotent events,
 * isolation between devices, hostile identities stored verbatim. */
#include <json-c/json.h>

#include "audit.h"
#include "devices.h"
#include "state.h"
#include "test-cp-util.h"
#include "test.h"

static int call_checkin(struct cp_state *s, const char *dev, const char *body)
{
	char *out = NULL;
	size_t len;
	int st = cp_api_checkin(s, dev, body, strlen(body), &out, &len);

	ASSERT_TRUE(st < 0 || out);
	free(out);
	return st;
}

static int call_events(struct cp_state *s, const char *dev, const char *body, int64_t *ret_new)
{
	char *out = NULL;
	size_t len;
	int st = cp_api_events(s, dev, body, strlen(body), &out, &len);

	if (st == 200 && ret_new) {
		struct json_object *o = json_tokener_parse(out), *v;

		ASSERT_TRUE(o && json_object_object_get_ex(o, "new", &v));
		*ret_new = json_object_get_int64(v);
		json_object_put(o);
	}
	free(out);
	return st;
}

struct count {
	const char *device;
	int n, other;
};

static int count_events(const struct cp_event *e, void *userdata)
{
	struct count *c = userdata;

	c->n++;
	c->other += strcmp(e->device_id, c->device) != 0;
	return 0;
}

static const char ev1[] = "{\"events\":[{\"seq\":1,\"time\":\"2026-01-01T00:00:00Z\",\"release\":"
			  "\"r1\",\"type\":\"downloading\"},{\"seq\":2,\"time\":\"2026-01-01T00:01:00Z\","
			  "\"release\":\"r1\",\"type\":\"failed\",\"error\":\"TUF_E_HASH: x\"}]}";

TEST(forbidden_and_malformed)
{
	struct cpt_env e;
	struct cp_state *s;

	ASSERT_OK(cpt_env_new(&e));
	s = e.s;
	ASSERT_EQ_INT(call_checkin(s, "ghost", "{}"), 403);
	ASSERT_EQ_INT(call_events(s, "ghost", ev1, NULL), 403);
	ASSERT_EQ_INT(call_checkin(s, "", "{}"), 403);
	ASSERT_OK(cp_devices_approve(s, "dev-a", "board-a", NULL, NULL, "test"));
	ASSERT_EQ_INT(cp_api_device_allowed(s, "dev-a"), 0);
	ASSERT_ERR(cp_api_device_allowed(s, "dev-b"), CP_E_FORBIDDEN);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "{\"release\":\"r1\",\"slot\":\"a\",\"models\":"
					      "{\"det\":\"abc\"},\"state\":\"idle\"}"), 200);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "not json"), 400);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "[]"), 400);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "{\"slot\":\"c\"}"), 400);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "{\"release\":5}"), 400);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "{\"models\":{\"d\":1}}"), 400);
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "{\"a\":1,\"a\":2}"), 400);
	ASSERT_EQ_INT(call_events(s, "dev-a", "{}", NULL), 400);
	ASSERT_EQ_INT(call_events(s, "dev-a", "{\"events\":[{\"seq\":1}]}", NULL), 400);
	ASSERT_EQ_INT(call_events(s, "dev-a", "{\"events\":[{\"seq\":-1,\"time\":\"2026-01-01T00:00:00Z\","
					     "\"release\":\"r\",\"type\":\"failed\"}]}", NULL), 400);
	ASSERT_EQ_INT(call_events(s, "dev-a", "{\"events\":[{\"seq\":1,\"time\":\"yesterday\","
					     "\"release\":\"r\",\"type\":\"failed\"}]}", NULL), 400);
	ASSERT_EQ_INT(call_events(s, "dev-a", "{\"events\":[{\"seq\":1,\"time\":\"2026-01-01T00:00:00Z\","
					     "\"release\":\"r\",\"type\":\"exploded\"}]}", NULL), 400);
	{
		/* More than CP_EVENTS_BATCH_MAX events. */
		size_t cap = 128 * (CP_EVENTS_BATCH_MAX + 2);
		_cleanup_free_ char *big = malloc(cap);
		size_t off = (size_t)snprintf(big, cap, "{\"events\":[");

		for (int i = 0; i <= CP_EVENTS_BATCH_MAX; i++)
			off += (size_t)snprintf(big + off, cap - off, "%s{\"seq\":%d,\"time\":\"2026-"
						"01-01T00:00:00Z\",\"release\":\"r\",\"type\":\"failed\"}",
						i ? "," : "", i);
		snprintf(big + off, cap - off, "]}");
		ASSERT_EQ_INT(call_events(s, "dev-a", big, NULL), 400);
	}
	/* A decommissioned device is refused. */
	ASSERT_OK(cp_devices_decommission(s, "dev-a", "test"));
	ASSERT_EQ_INT(call_checkin(s, "dev-a", "{}"), 403);
	ASSERT_ERR(cp_devices_approve(s, "dev-a", NULL, NULL, NULL, "test"), CP_E_CONFLICT);
	ASSERT_ERR(cp_devices_decommission(s, "nobody", "test"), TUF_E_NOT_FOUND);
	cpt_env_clear(&e);
}

TEST(events_idempotent_and_isolated)
{
	struct cpt_env e;
	struct count ca = {"dev-a"}, cb = {"dev-b"};
	int64_t fresh = -1;

	ASSERT_OK(cpt_env_new(&e));
	ASSERT_OK(cp_devices_approve(e.s, "dev-a", NULL, NULL, NULL, "test"));
	ASSERT_OK(cp_devices_approve(e.s, "dev-b", NULL, NULL, NULL, "test"));
	ASSERT_EQ_INT(call_events(e.s, "dev-a", ev1, &fresh), 200);
	ASSERT_EQ_INT(fresh, 2);
	ASSERT_EQ_INT(call_events(e.s, "dev-a", ev1, &fresh), 200); /* resent batch */
	ASSERT_EQ_INT(fresh, 0);
	ASSERT_EQ_INT(call_events(e.s, "dev-b", ev1, &fresh), 200); /* same seqs, other device */
	ASSERT_EQ_INT(fresh, 2);
	ASSERT_OK(cp_history_foreach(e.s, "dev-a", count_events, &ca));
	ASSERT_EQ_INT(ca.n, 2);
	ASSERT_EQ_INT(ca.other, 0);
	ASSERT_OK(cp_history_foreach(e.s, "dev-b", count_events, &cb));
	ASSERT_EQ_INT(cb.n, 2);
	ASSERT_EQ_INT(cb.other, 0);
	cpt_env_clear(&e);
}

static int find_id(const struct cp_device *d, void *userdata)
{
	const char **want = userdata;

	if (strcmp(d->id, *want) == 0)
		*want = NULL;
	return 0;
}

TEST(hostile_identity_and_import)
{
	struct cpt_env e;
	const char *hostile = "dev'; DROP TABLE devices;--\n\x1b[2J\xff";
	const char *want = hostile;
	_cleanup_free_ char *f = NULL;
	size_t n = 0;

	ASSERT_OK(cpt_env_new(&e));
	ASSERT_OK(cp_devices_approve(e.s, hostile, NULL, NULL, NULL, "test"));
	ASSERT_EQ_INT(cp_api_device_allowed(e.s, hostile), 0);
	ASSERT_OK(cp_devices_foreach(e.s, NULL, find_id, &want));
	ASSERT_TRUE(want == NULL);
	ASSERT_EQ_INT(call_checkin(e.s, hostile, "{}"), 200);
	/* A provisioning export: all or nothing. */
	f = cpt_path(&e, "export.jsonl");
	ASSERT_OK(cpt_write(f, "{\"id\":\"p-1\",\"hardware\":\"board-a\",\"cert_sha256\":"
			       "\"0000000000000000000000000000000000000000000000000000000000000001\"}\n"
			       "{\"id\":\"p-2\",\"hardware\":\"board-a\"}\n"));
	ASSERT_OK(cp_devices_approve_file(e.s, f, "test", &n));
	ASSERT_EQ_INT(n, 2);
	ASSERT_OK(cpt_write(f, "{\"id\":\"p-3\"}\n{\"id\":\"p-3\"}\n"));
	ASSERT_ERR(cp_devices_approve_file(e.s, f, "test", &n), CP_E_CONFLICT);
	ASSERT_ERR(cp_api_device_allowed(e.s, "p-3"), CP_E_FORBIDDEN);
	ASSERT_OK(cpt_write(f, "{\"id\":\"p-4\"}\n{\"id\":\"p-1\",\"cert_sha256\":"
			       "\"0000000000000000000000000000000000000000000000000000000000000002\"}\n"));
	ASSERT_ERR(cp_devices_approve_file(e.s, f, "test", &n), CP_E_CONFLICT);
	ASSERT_ERR(cp_api_device_allowed(e.s, "p-4"), CP_E_FORBIDDEN);
	ASSERT_OK(cpt_write(f, "{\"id\":\"p-5\",\"extra\":\"x\"}\n"));
	ASSERT_ERR(cp_devices_approve_file(e.s, f, "test", &n), TUF_E_FORMAT);
	/* sluice-provision export's "not_after" is accepted when it is a TUF time, else refused. */
	ASSERT_OK(cpt_write(f, "{\"id\":\"p-6\",\"hardware\":\"board-a\","
			       "\"not_after\":\"2031-11-25T14:00:00Z\"}\n"));
	ASSERT_OK(cp_devices_approve_file(e.s, f, "test", &n));
	ASSERT_EQ_INT(cp_api_device_allowed(e.s, "p-6"), 0);
	ASSERT_OK(cpt_write(f, "{\"id\":\"p-7\",\"not_after\":\"tomorrow\"}\n"));
	ASSERT_ERR(cp_devices_approve_file(e.s, f, "test", &n), TUF_E_FORMAT);
	ASSERT_ERR(cp_api_device_allowed(e.s, "p-7"), CP_E_FORBIDDEN);
	cpt_env_clear(&e);
}

static int count_rows(const struct cp_audit_row *row, void *userdata)
{
	int *n = userdata;

	*n += strcmp(row->action, "device-approve") == 0 && strstr(row->detail, "replaced");
	return 0;
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

TEST(certificate_pinned)
{
	struct cpt_env e;
	int rows = 0;

	ASSERT_OK(cpt_env_new(&e));
	/* Approved with a hash: only that certificate. */
	ASSERT_OK(cp_devices_approve(e.s, "pin-1", "board-a", NULL, SHA_A, "test"));
	ASSERT_EQ_INT(cp_api_device_allowed_cert(e.s, "pin-1", SHA_A), 0);
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "pin-1", SHA_B), CP_E_FORBIDDEN);
	ASSERT_TRUE(strstr(sl_error_message(CP_E_FORBIDDEN), "certificate not the approved one"));
	ASSERT_TRUE(strstr(sl_error_message(CP_E_FORBIDDEN), "pin-1"));
	/* Upper-case hex is another string: exact match only. */
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "pin-1", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
						     "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		   CP_E_FORBIDDEN);
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "pin-1", ""), CP_E_FORBIDDEN);
	/* The id-only check keeps its old meaning. */
	ASSERT_EQ_INT(cp_api_device_allowed(e.s, "pin-1"), 0);
	/* Approved by id only: any certificate of the CN. */
	ASSERT_OK(cp_devices_approve(e.s, "pin-2", NULL, NULL, NULL, "test"));
	ASSERT_EQ_INT(cp_api_device_allowed_cert(e.s, "pin-2", SHA_A), 0);
	ASSERT_EQ_INT(cp_api_device_allowed_cert(e.s, "pin-2", SHA_B), 0);
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "nobody", SHA_A), CP_E_FORBIDDEN);
	/* A re-issued certificate: plain approve conflicts, --replace-cert switches the pin. */
	ASSERT_ERR(cp_devices_approve(e.s, "pin-1", NULL, NULL, SHA_B, "test"), CP_E_CONFLICT);
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "pin-1", SHA_B), CP_E_FORBIDDEN);
	ASSERT_OK(cp_devices_replace_cert(e.s, "pin-1", SHA_B, "test"));
	ASSERT_EQ_INT(cp_api_device_allowed_cert(e.s, "pin-1", SHA_B), 0);
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "pin-1", SHA_A), CP_E_FORBIDDEN);
	ASSERT_OK(cp_audit_foreach(e.s, count_rows, &rows));
	ASSERT_EQ_INT(rows, 1);
	/* replace-cert: only a known, not decommissioned device, with a well-formed hash */
	ASSERT_ERR(cp_devices_replace_cert(e.s, "nobody", SHA_A, "test"), TUF_E_NOT_FOUND);
	ASSERT_ERR(cp_devices_replace_cert(e.s, "pin-1", "abc", "test"), SL_E_INVALID);
	ASSERT_ERR(cp_devices_replace_cert(e.s, "pin-1", NULL, "test"), SL_E_INVALID);
	ASSERT_OK(cp_devices_decommission(e.s, "pin-2", "test"));
	ASSERT_ERR(cp_devices_replace_cert(e.s, "pin-2", SHA_A, "test"), CP_E_CONFLICT);
	ASSERT_ERR(cp_api_device_allowed_cert(e.s, "pin-2", SHA_A), CP_E_FORBIDDEN);
	cpt_env_clear(&e);
}

int main(void)
{
	RUN(forbidden_and_malformed);
	RUN(events_idempotent_and_isolated);
	RUN(hostile_identity_and_import);
	RUN(certificate_pinned);
	return 0;
}
