/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the daemon's schedule (interval, jitter, backoff, Retry-After) and of the event
 * upload in batches through a fake transport. */
#include <errno.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "events.h"
#include "test.h"

static char *tmp;

/* ---- schedule ---- */

TEST(jitter_range)
{
	ASSERT_EQ_INT(agent_jitter_ms(100000, 0), 80000);
	ASSERT_EQ_INT(agent_jitter_ms(100000, UINT32_MAX), 119999);
	ASSERT_EQ_INT(agent_jitter_ms(100000, 1u << 31), 100000);
	for (uint32_t i = 0; i < 1000; i++) {
		uint64_t v = agent_jitter_ms(300000, i * 4294967u);

		ASSERT_TRUE(v >= 240000 && v < 360000);
	}
}

TEST(schedule_success_uses_interval)
{
	struct agent_schedule s = {.interval_s = 300, .backoff_max_s = 3600, .failures = 4};

	ASSERT_EQ_INT(agent_schedule_next(&s, true, 0, 1u << 31), 300000);
	ASSERT_EQ_INT(s.failures, 0);
	ASSERT_EQ_INT(agent_schedule_next(&s, true, 0, 0), 240000);
}

TEST(schedule_backoff_doubles_to_cap)
{
	struct agent_schedule s = {.interval_s = 300, .backoff_max_s = 600};
	const uint64_t want[] = {30000, 60000, 120000, 240000, 480000, 600000, 600000};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ASSERT_EQ_INT(agent_schedule_next(&s, false, 0, 1u << 31), want[i]);
		ASSERT_EQ_INT(s.failures, i + 1);
	}
	/* Jitter applies to the backoff too, and the cap is the cap before jitter. */
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 0, UINT32_MAX), 719999);
	/* One success resets the backoff. */
	ASSERT_EQ_INT(agent_schedule_next(&s, true, 0, 1u << 31), 300000);
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 0, 1u << 31), 30000);
}

TEST(schedule_short_interval_retries_at_interval)
{
	struct agent_schedule s = {.interval_s = 5, .backoff_max_s = 3600};

	ASSERT_EQ_INT(agent_schedule_next(&s, false, 0, 1u << 31), 5000);
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 0, 1u << 31), 10000);
	/* A huge failure count neither overflows nor exceeds the cap. */
	s.failures = 4000000000u;
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 0, 1u << 31), 3600000);
}

TEST(schedule_minimum_delay)
{
	struct agent_schedule s = {.interval_s = 1, .backoff_max_s = 1};

	ASSERT_EQ_INT(agent_schedule_next(&s, true, 0, 0), AGENT_DELAY_MIN_MS);
}

TEST(schedule_retry_after_is_a_lower_bound)
{
	struct agent_schedule s = {.interval_s = 300, .backoff_max_s = 3600};

	/* 503 with Retry-After: 120 on the first failure: not the 30 s backoff but >= 120 s. */
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 120, 0), 120000);
	s.failures = 0;
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 120, UINT32_MAX), 143999);
	/* A shorter Retry-After than the backoff does not shorten it. */
	s.failures = 5;
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 10, 1u << 31), 960000);
	/* Retry-After beyond the cap is honoured (it is capped at parse time). */
	s.failures = 0;
	ASSERT_EQ_INT(agent_schedule_next(&s, false, 7200, 0), 7200000);
}

TEST(retry_after_parse)
{
	unsigned v = 99;
	const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */

	ASSERT_OK(agent_retry_after_parse("120", now, &v));
	ASSERT_EQ_INT(v, 120);
	ASSERT_OK(agent_retry_after_parse("0", now, &v));
	ASSERT_EQ_INT(v, 0);
	ASSERT_OK(agent_retry_after_parse("99999999999999999999999", now, &v));
	ASSERT_EQ_INT(v, AGENT_RETRY_AFTER_MAX);
	ASSERT_OK(agent_retry_after_parse("Sun, 06 Nov 1994 08:51:37 GMT", now, &v));
	ASSERT_EQ_INT(v, 120);
	ASSERT_OK(agent_retry_after_parse("Sun, 06 Nov 1994 08:49:00 GMT", now, &v));
	ASSERT_EQ_INT(v, 0); /* in the past */
	ASSERT_OK(agent_retry_after_parse("Tue, 06 Nov 2001 08:49:37 GMT", now, &v));
	ASSERT_EQ_INT(v, AGENT_RETRY_AFTER_MAX);
	v = 7;
	ASSERT_ERR(agent_retry_after_parse("", now, &v), SL_E_INVALID);
	ASSERT_ERR(agent_retry_after_parse("-5", now, &v), SL_E_INVALID);
	ASSERT_ERR(agent_retry_after_parse("12s", now, &v), SL_E_INVALID);
	ASSERT_ERR(agent_retry_after_parse("Sun, 06 Nov 1994 08:49:37", now, &v), SL_E_INVALID);
	ASSERT_ERR(agent_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT x", now, &v),
		   SL_E_INVALID);
	ASSERT_EQ_INT(v, 7); /* untouched on failure */
}

/* ---- the client: only URLs under the configured base ---- */

TEST(client_refuses_other_urls)
{
	static const char *const bad_base[] = {
	    "http://cp.example/",    "https://cp.example",     "https:///",
	    "https://u@cp.example/", "https://cp.example/?a/", "https://cp/#f/",
	    "ftp://cp.example/",     "https://cp\\x/",
	};
	static const char *const bad_path[] = {"../v1/checkin",	 "/v1/checkin",
					       "v1/checkin?x=1", "https://evil.example/",
					       "v1/../../x",	 ""};
	struct agent_client_options o = {.ca_file = "/nonexistent/ca.pem",
					 .cert_file = "/nonexistent/device.crt",
					 .key_file = "/nonexistent/device.key"};
	struct agent_http_reply reply = {};
	struct agent_client *c = NULL;

	for (size_t i = 0; i < sizeof(bad_base) / sizeof(bad_base[0]); i++) {
		o.base_url = bad_base[i];
		ASSERT_ERR(agent_client_new(&o, &c), SL_E_CONFIG);
	}
	o.base_url = "https://cp.example:8443/";
	ASSERT_OK(agent_client_new(&o, &c));
	for (size_t i = 0; i < sizeof(bad_path) / sizeof(bad_path[0]); i++)
		ASSERT_ERR(agent_client_post(c, bad_path[i], "{}", 2, &reply), SL_E_INVALID);
	ASSERT_TRUE(reply.body == NULL && reply.status == 0);
	ASSERT_TRUE(agent_client_free(c) == NULL);
}

/* ---- event upload through a fake transport ---- */

struct fake {
	int calls;
	int fail_from;	  /* calls >= fail_from answer fail_status (0: never) */
	long fail_status; /* 0: a transport error instead */
	unsigned retry_after;
	bool lie; /* acknowledge one event less than sent */
	int64_t seqs[2000];
	size_t n_seqs;
	size_t max_batch;
	char types[2000][16];
};

static int fake_post(void *userdata, const char *path, const char *body, size_t len,
		     struct agent_http_reply *ret)
{
	struct fake *f = userdata;
	struct json_object *o, *arr;
	size_t n;
	char answer[64];

	f->calls++;
	ASSERT_EQ_STR(path, "v1/events");
	if (f->fail_from && f->calls >= f->fail_from) {
		if (!f->fail_status)
			return sl_error(TUF_E_NETWORK, "fake: connection refused");
		*ret = (struct agent_http_reply){.status = f->fail_status,
						 .retry_after_s = f->retry_after};
		return 0;
	}
	o = json_tokener_parse(body);
	ASSERT_TRUE(o && strlen(body) == len);
	ASSERT_TRUE(json_object_object_get_ex(o, "events", &arr));
	n = json_object_array_length(arr);
	if (n > f->max_batch)
		f->max_batch = n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *v;

		ASSERT_TRUE(json_object_object_get_ex(e, "seq", &v));
		f->seqs[f->n_seqs] = json_object_get_int64(v);
		ASSERT_TRUE(json_object_object_get_ex(e, "type", &v));
		snprintf(f->types[f->n_seqs], sizeof(f->types[0]), "%s", json_object_get_string(v));
		ASSERT_TRUE(json_object_object_get_ex(e, "release", &v));
		ASSERT_TRUE(json_object_object_get_ex(e, "time", &v));
		ASSERT_TRUE(strlen(json_object_get_string(v)) == 20);
		if (json_object_object_get_ex(e, "error", &v))
			ASSERT_TRUE(strlen(json_object_get_string(v)) <= AGENT_EVENT_ERROR_MAX);
		f->n_seqs++;
	}
	json_object_put(o);
	snprintf(answer, sizeof(answer), "{\"accepted\":%zu,\"new\":%zu}", n - (f->lie ? 1 : 0), n);
	*ret = (struct agent_http_reply){.status = 200, .body = strdup(answer)};
	ret->len = strlen(ret->body);
	return 0;
}

static char *fresh_state(const char *name)
{
	char *d;

	ASSERT_TRUE(asprintf(&d, "%s/%s", tmp, name) > 0);
	ASSERT_TRUE(mkdir(d, 0700) == 0);
	return d;
}

static void append_n(const char *state, int n, const char *type)
{
	for (int i = 0; i < n; i++)
		ASSERT_OK(agent_events_append(state, "2026.1", type, NULL));
}

TEST(upload_nothing_queued)
{
	_cleanup_free_ char *st = fresh_state("empty");
	struct fake f = {};
	struct agent_transport t = {fake_post, &f};
	size_t sent = 9;
	unsigned ra = 9;

	ASSERT_OK(agent_events_upload(st, &t, 10, &sent, &ra));
	ASSERT_EQ_INT(sent, 0);
	ASSERT_EQ_INT(ra, 0);
	ASSERT_EQ_INT(f.calls, 0);
}

TEST(upload_in_batches_in_order)
{
	_cleanup_free_ char *st = fresh_state("batches");
	struct fake f = {};
	struct agent_transport t = {fake_post, &f};
	size_t sent;
	unsigned ra;

	append_n(st, 25, "downloading");
	ASSERT_EQ_INT(agent_events_pending(st), 25);
	ASSERT_OK(agent_events_upload(st, &t, 10, &sent, &ra));
	ASSERT_EQ_INT(sent, 25);
	ASSERT_EQ_INT(f.calls, 3);
	ASSERT_EQ_INT(f.max_batch, 10);
	for (size_t i = 0; i < f.n_seqs; i++)
		ASSERT_EQ_INT(f.seqs[i], (int64_t)i + 1);
	ASSERT_EQ_INT(agent_events_pending(st), 0);
	/* Nothing is sent twice. */
	ASSERT_OK(agent_events_upload(st, &t, 10, &sent, &ra));
	ASSERT_EQ_INT(sent, 0);
	ASSERT_EQ_INT(f.calls, 3);
}

TEST(upload_keeps_what_the_server_did_not_acknowledge)
{
	_cleanup_free_ char *st = fresh_state("offline");
	struct fake f = {.fail_from = 2, .fail_status = 0};
	struct agent_transport t = {fake_post, &f};
	size_t sent;
	unsigned ra;

	append_n(st, 15, "written");
	/* First batch acknowledged, then the server goes away: the rest stays queued. */
	ASSERT_ERR(agent_events_upload(st, &t, 10, &sent, &ra), TUF_E_NETWORK);
	ASSERT_EQ_INT(sent, 10);
	ASSERT_EQ_INT(agent_events_pending(st), 5);
	/* 503 with Retry-After: nothing marked, the delay is reported. */
	f = (struct fake){.fail_from = 1, .fail_status = 503, .retry_after = 42};
	ASSERT_ERR(agent_events_upload(st, &t, 10, &sent, &ra), TUF_E_NETWORK);
	ASSERT_EQ_INT(ra, 42);
	ASSERT_EQ_INT(sent, 0);
	ASSERT_EQ_INT(agent_events_pending(st), 5);
	/* An answer that acknowledges less than was sent marks nothing. */
	f = (struct fake){.lie = true};
	ASSERT_ERR(agent_events_upload(st, &t, 10, &sent, &ra), TUF_E_FORMAT);
	ASSERT_EQ_INT(agent_events_pending(st), 5);
	/* Back online: the rest goes, in order, and the queue is empty. */
	f = (struct fake){};
	append_n(st, 2, "committed");
	ASSERT_OK(agent_events_upload(st, &t, 10, &sent, &ra));
	ASSERT_EQ_INT(sent, 7);
	ASSERT_EQ_INT(f.seqs[0], 11);
	ASSERT_EQ_INT(f.seqs[6], 17);
	ASSERT_EQ_STR(f.types[6], "committed");
	ASSERT_EQ_INT(agent_events_pending(st), 0);
}

TEST(upload_skips_what_the_api_does_not_take)
{
	_cleanup_free_ char *st = fresh_state("skip");
	struct fake f = {};
	struct agent_transport t = {fake_post, &f};
	char big[3000];
	size_t sent;
	unsigned ra;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[AGENT_EVENT_ERROR_MAX - 1] = '\xc3'; /* a 2-byte character across the cut */
	big[AGENT_EVENT_ERROR_MAX] = '\xa9';
	ASSERT_OK(agent_events_append(st, "2026.1", "noop", NULL));
	ASSERT_OK(agent_events_append(st, NULL, "downloading", NULL));
	ASSERT_OK(agent_events_append(st, "2026.1", "failed", big));
	ASSERT_OK(agent_events_upload(st, &t, 10, &sent, &ra));
	ASSERT_EQ_INT(sent, 1);
	ASSERT_EQ_INT(f.n_seqs, 1);
	ASSERT_EQ_INT(f.seqs[0], 3);
	ASSERT_EQ_INT(agent_events_pending(st), 0);
	/* Only unreportable events queued: marked without a request. */
	f = (struct fake){};
	ASSERT_OK(agent_events_append(st, "2026.1", "noop", NULL));
	ASSERT_OK(agent_events_upload(st, &t, 10, &sent, &ra));
	ASSERT_EQ_INT(f.calls, 0);
	ASSERT_EQ_INT(agent_events_pending(st), 0);
}

TEST(sent_events_are_pruned)
{
	_cleanup_free_ char *st = fresh_state("prune");
	struct fake f = {};
	struct agent_transport t = {fake_post, &f};
	FILE *out;
	char *text = NULL, *db_path = NULL;
	sqlite3 *db = NULL;
	size_t sent, size = 0, lines = 0;
	unsigned ra;

	/* One transaction instead of 1050 durable appends (each one an fsync). */
	ASSERT_OK(agent_events_append(st, "2026.1", "verified", NULL));
	ASSERT_TRUE(asprintf(&db_path, "%s/events.db", st) > 0);
	ASSERT_TRUE(sqlite3_open(db_path, &db) == SQLITE_OK);
	ASSERT_TRUE(
	    sqlite3_exec(db,
			 "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
			 "FROM n WHERE i < 1049) INSERT INTO events (time, release, type) "
			 "SELECT '2026-01-01T00:00:00Z', '2026.1', 'verified' FROM n; COMMIT;",
			 NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	free(db_path);
	ASSERT_OK(agent_events_upload(st, &t, 0, &sent, &ra));
	ASSERT_EQ_INT(sent, AGENT_EVENTS_KEEP_SENT + 50);
	ASSERT_EQ_INT(f.max_batch, AGENT_EVENTS_BATCH_MAX);
	out = open_memstream(&text, &size);
	ASSERT_OK(agent_events_list(st, AGENT_EVENTS_LIST_MAX, false, out));
	fclose(out);
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	ASSERT_EQ_INT(lines, AGENT_EVENTS_KEEP_SENT);
	ASSERT_TRUE(strncmp(text, "51 ", 3) == 0); /* the oldest 50 are gone */
	free(text);
}

int main(void)
{
	char tmpl[] = "/tmp/test-agent-daemon-XXXXXX";
	char cmd[128];
	int r;

	tmp = mkdtemp(tmpl);
	ASSERT_TRUE(tmp);
	RUN(jitter_range);
	RUN(schedule_success_uses_interval);
	RUN(schedule_backoff_doubles_to_cap);
	RUN(schedule_short_interval_retries_at_interval);
	RUN(schedule_minimum_delay);
	RUN(schedule_retry_after_is_a_lower_bound);
	RUN(retry_after_parse);
	RUN(client_refuses_other_urls);
	RUN(upload_nothing_queued);
	RUN(upload_in_batches_in_order);
	RUN(upload_keeps_what_the_server_did_not_acknowledge);
	RUN(upload_skips_what_the_api_does_not_take);
	RUN(sent_events_are_pruned);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	r = system(cmd);
	ASSERT_EQ_INT(r, 0);
	printf("all tests passed\n");
	return 0;
}
