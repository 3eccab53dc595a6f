/* SPDX-License-Identifier: Apache-2.0 */
/* The polling daemon: a libuv loop whose cycles (check-in, install, events) run in its pool. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "agent-build.h" /* the project's config.h: ENABLE_SYSTEMD, SLUICE_VERSION */
#include "boot.h"
#include "daemon.h"
#include "error.h"
#include "events.h"
#include "install.h"
#include "log.h"
#include "model.h"
#include "release.h"
#include "state.h"
#include "tuf/json.h"
#include "util.h"

#if ENABLE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
/* Without libsystemd there is no service manager to tell. */
static inline int sd_notify(int unset_environment, const char *state)
{
	return 0;
}
static inline int sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
	return 0;
}
#endif

#define MSG_MAX 512
#define MODELS_MAX 64 /* models reported in a check-in (the server takes 64) */
#define CHECKIN_ANSWER_DEPTH 4

DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_client *, agent_client_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_repo *, agent_repo_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_boot *, agent_boot_free)

/* ---- schedule ---- */

uint64_t agent_jitter_ms(uint64_t base_ms, uint32_t rnd)
{
	uint64_t spread = base_ms * 2 * AGENT_JITTER_PERCENT / 100;

	return base_ms - base_ms * AGENT_JITTER_PERCENT / 100 + ((spread * rnd) >> 32);
}

uint64_t agent_schedule_next(struct agent_schedule *s, bool ok, unsigned retry_after_s,
			     uint32_t rnd)
{
	uint64_t base_s, delay;

	if (ok) {
		s->failures = 0;
		base_s = s->interval_s;
	} else {
		uint64_t cap = s->backoff_max_s;

		if (s->failures < UINT32_MAX)
			s->failures++;
		base_s = s->interval_s < AGENT_RETRY_BASE_S ? s->interval_s : AGENT_RETRY_BASE_S;
		for (unsigned i = 1; i < s->failures && base_s < cap; i++)
			base_s *= 2;
		if (base_s > cap)
			base_s = cap;
	}
	delay = agent_jitter_ms(base_s * 1000, rnd);
	if (retry_after_s > 0) {
		uint64_t ra = (uint64_t)retry_after_s * 1000;

		ra += ((ra * AGENT_JITTER_PERCENT / 100) * rnd) >> 32;
		if (ra > delay)
			delay = ra;
	}
	return delay < AGENT_DELAY_MIN_MS ? AGENT_DELAY_MIN_MS : delay;
}

/* ---- event upload ---- */

static bool event_reportable(const struct agent_event *e)
{
	static const char *const types[] = {"downloading", "written",	"verified",    "switched",
					    "booted",	   "committed", "rolled_back", "failed"};

	if (!e->release || !*e->release || strlen(e->release) > AGENT_DESIRED_MAX)
		return false;
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if (!strcmp(e->type, types[i]))
			return true;
	return false;
}

/* error cut to AGENT_EVENT_ERROR_MAX bytes on a UTF-8 character boundary. */
static struct json_object *error_json(const char *error)
{
	size_t n = strlen(error);

	if (n > AGENT_EVENT_ERROR_MAX) {
		n = AGENT_EVENT_ERROR_MAX;
		while (n > 0 && ((unsigned char)error[n] & 0xC0) == 0x80)
			n--;
	}
	return json_object_new_string_len(error, (int)n);
}

static int batch_json(const struct agent_event *ev, size_t n, char **ret, size_t *ret_count)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	size_t count = 0;

	if (!o || !arr || json_object_object_add(o, "events", arr) < 0) {
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e;

		if (!event_reportable(&ev[i]))
			continue;
		e = json_object_new_object();
		if (!e || json_object_array_add(arr, e) < 0) {
			json_object_put(e);
			return -ENOMEM;
		}
		json_object_object_add(e, "seq", json_object_new_int64(ev[i].seq));
		json_object_object_add(e, "time", json_object_new_string(ev[i].time));
		json_object_object_add(e, "release", json_object_new_string(ev[i].release));
		json_object_object_add(e, "type", json_object_new_string(ev[i].type));
		if (ev[i].error)
			json_object_object_add(e, "error", error_json(ev[i].error));
		count++;
	}
	*ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!*ret)
		return -ENOMEM;
	*ret_count = count;
	return 0;
}

/* Post one batch; 0 when the control plane acknowledged all count events. */
static int post_batch(const struct agent_transport *t, const char *body, size_t count,
		      unsigned *ret_retry_after)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct agent_http_reply reply = {};
	int64_t accepted = -1;
	int r;

	r = t->post(t->userdata, "v1/events", body, strlen(body), &reply);
	if (r < 0)
		return r;
	if (reply.status < 200 || reply.status > 299) {
		*ret_retry_after = reply.retry_after_s;
		r = sl_error(TUF_E_NETWORK, "v1/events: HTTP %ld", reply.status);
		agent_http_reply_clear(&reply);
		return r;
	}
	if (reply.body && tuf_json_parse(reply.body, reply.len, CHECKIN_ANSWER_DEPTH, &o) >= 0)
		(void)tuf_json_get_int(o, "accepted", 0, &accepted);
	agent_http_reply_clear(&reply);
	if (accepted != (int64_t)count)
		return sl_error(TUF_E_FORMAT,
				"v1/events: the answer does not acknowledge the %zu events sent",
				count);
	return 0;
}

int agent_events_upload(const char *state_dir, const struct agent_transport *t, size_t batch,
			size_t *ret_sent, unsigned *ret_retry_after)
{
	struct agent_event ev[AGENT_EVENTS_BATCH_MAX];
	int r = 0;

	*ret_sent = 0;
	*ret_retry_after = 0;
	if (batch == 0 || batch > AGENT_EVENTS_BATCH_MAX)
		batch = AGENT_EVENTS_BATCH_MAX;
	for (unsigned round = 0; round < AGENT_EVENTS_ROUNDS_MAX; round++) {
		_cleanup_free_ char *body = NULL;
		size_t n, count = 0;
		int64_t last;

		r = agent_events_unsent(state_dir, ev, batch, &n);
		if (r < 0 || n == 0)
			return r;
		last = ev[n - 1].seq;
		r = batch_json(ev, n, &body, &count);
		for (size_t i = 0; i < n; i++)
			agent_event_clear(&ev[i]);
		if (r >= 0 && count > 0)
			r = post_batch(t, body, count, ret_retry_after);
		if (r >= 0)
			r = agent_events_mark_sent(state_dir, last);
		if (r < 0)
			return r;
		*ret_sent += count;
	}
	return 0;
}

/* ---- one cycle (runs in the loop's thread pool) ---- */

struct cycle {
	int r;				     /* how the cycle went: < 0 failed */
	char error[MSG_MAX];		     /* the message of r */
	unsigned retry_after_s;		     /* from a 429/503 */
	unsigned poll_interval_s;	     /* the control plane's, 0 when not given */
	char desired[AGENT_DESIRED_MAX + 1]; /* "" when none */
	bool checked_in;
	bool install_tried;
	int install_r;
	char install_error[MSG_MAX];
	enum agent_outcome outcome;
	bool waiting_reboot, skipped_failed;
	size_t events_sent;
	int events_r;
	char events_error[MSG_MAX];
};

struct daemon {
	uv_loop_t loop;
	uv_timer_t poll, watchdog;
	uv_signal_t sigterm, sigint;
	uv_work_t work;
	const struct agent_config *cfg;
	char *base;	       /* control plane URL ending in '/' */
	char *tuf_base;	       /* base + "tuf/" */
	char *ca, *cert, *key; /* STATE/identity/{ca.pem,device.crt,device.key} */
	struct agent_schedule sched;
	struct cycle res;
	atomic_int cancel;
	bool once, busy, stopping, watchdog_on;
};

static void keep_error(char *dst, int r)
{
	snprintf(dst, MSG_MAX, "%s: %s", sl_error_name(r), sl_error_message(r));
}

static bool has_image(const struct agent_install *st)
{
	for (size_t i = 0; i < st->n_items; i++)
		if (st->items[i].image)
			return true;
	return false;
}

static int add_models(const char *models_dir, struct json_object *models)
{
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (!models_dir || !(d = opendir(models_dir)))
		return 0;
	while ((e = readdir(d)) && n < MODELS_MAX) {
		_cleanup_free_ char *sha = NULL;

		if (!agent_name_is_safe(e->d_name) ||
		    agent_model_current(models_dir, e->d_name, &sha) < 0)
			continue;
		json_object_object_add(models, e->d_name, json_object_new_string(sha));
		n++;
	}
	closedir(d);
	return 0;
}

static int checkin_body(const struct daemon *d, struct agent_boot *boot, char **ret)
{
	_cleanup_(agent_install_clear) struct agent_install st = {};
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *models = json_object_new_object();
	struct agent_boot_env env;
	int r;

	if (!o || !models || json_object_object_add(o, "models", models) < 0) {
		json_object_put(models);
		return -ENOMEM;
	}
	r = agent_install_load(d->cfg->state_dir, &st);
	if (r >= 0)
		r = agent_boot_get(boot, &env);
	if (r < 0)
		return r;
	json_object_object_add(o, "release",
			       st.installed_release ? json_object_new_string(st.installed_release)
						    : NULL);
	json_object_object_add(o, "slot", json_object_new_string(agent_slot_name(env.booted)));
	json_object_object_add(o, "hardware", json_object_new_string(d->cfg->hardware));
	json_object_object_add(o, "agent_version", json_object_new_string(SLUICE_VERSION));
	json_object_object_add(o, "state", json_object_new_string(agent_phase_name(st.phase)));
	add_models(d->cfg->models_dir, models);
	*ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	return *ret ? 0 : -ENOMEM;
}

static int parse_answer(const struct agent_http_reply *reply, struct cycle *res)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *v;
	int r;

	if (!reply->body)
		return sl_error(TUF_E_FORMAT, "v1/checkin: empty answer");
	r = tuf_json_parse(reply->body, reply->len, CHECKIN_ANSWER_DEPTH, &o);
	if (r < 0)
		return sl_error(TUF_E_FORMAT, "v1/checkin: %s", sl_error_message(r));
	if (!json_object_is_type(o, json_type_object))
		return sl_error(TUF_E_FORMAT, "v1/checkin: the answer is not an object");
	if (json_object_object_get_ex(o, "desired_release", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		const char *s = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) || !agent_name_is_safe(s) ||
		    strlen(s) > AGENT_DESIRED_MAX)
			return sl_error(TUF_E_FORMAT,
					"v1/checkin: desired_release is not a release "
					"name");
		snprintf(res->desired, sizeof(res->desired), "%s", s);
	}
	if (json_object_object_get_ex(o, "poll_interval", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i >= 1 && i <= AGENT_INTERVAL_MAX)
			res->poll_interval_s = (unsigned)i;
	}
	return 0;
}

static int checkin(struct daemon *d, struct agent_client *client, struct agent_boot *boot,
		   struct cycle *res)
{
	_cleanup_free_ char *body = NULL;
	struct agent_http_reply reply = {};
	int r;

	r = checkin_body(d, boot, &body);
	if (r < 0)
		return r;
	r = agent_client_post(client, "v1/checkin", body, strlen(body), &reply);
	if (r < 0)
		return r;
	if (reply.status == 200)
		r = parse_answer(&reply, res);
	else {
		res->retry_after_s = reply.retry_after_s;
		r = sl_error(TUF_E_NETWORK, "v1/checkin: HTTP %ld%s", reply.status,
			     reply.status == 403 ? " (device not approved?)" : "");
	}
	agent_http_reply_clear(&reply);
	return r;
}

/* Whether the install engine has work: the release asked for, or one to resume. */
static bool install_needed(struct cycle *res, const struct agent_install *st)
{
	if (has_image(st) &&
	    (st->phase == AGENT_PHASE_SWITCHED || st->phase == AGENT_PHASE_BOOTED)) {
		res->waiting_reboot = true;
		return false;
	}
	if (agent_phase_active(st->phase))
		return true;
	if (!res->desired[0])
		return false;
	if (st->installed_release && !strcmp(st->installed_release, res->desired))
		return false;
	/* A release that failed or rolled back here is not tried again (no reboot loops);
	 * the rollout's failure accounting decides what comes next. */
	if (st->release && !strcmp(st->release, res->desired) &&
	    (st->phase == AGENT_PHASE_FAILED || st->phase == AGENT_PHASE_ROLLED_BACK)) {
		res->skipped_failed = true;
		return false;
	}
	return true;
}

static int install(struct daemon *d, struct agent_boot *boot, struct cycle *res)
{
	_cleanup_(agent_install_clear) struct agent_install st = {};
	_cleanup_(agent_repo_freep) struct agent_repo *repo = NULL;
	struct tuf_fetcher_options fo = {
	    .ca_file = d->ca, .cert_file = d->cert, .key_file = d->key};
	struct agent_ctx c = {.cfg = d->cfg,
			      .state_dir = d->cfg->state_dir,
			      .boot = boot,
			      .source = d->base,
			      .defer_reboot = true,
			      .cancel = &d->cancel};
	int r;

	r = agent_install_load(d->cfg->state_dir, &st);
	if (r < 0 || !install_needed(res, &st))
		return r;
	res->install_tried = true;
	r = agent_repo_open(d->cfg->state_dir, d->tuf_base, &fo, &repo);
	if (r >= 0)
		r = agent_install_run(&c, repo, res->desired[0] ? res->desired : NULL,
				      &res->outcome);
	return r;
}

static void cycle_work(uv_work_t *w)
{
	struct daemon *d = w->data;
	struct cycle *res = &d->res;
	_cleanup_(agent_client_freep) struct agent_client *client = NULL;
	_cleanup_(agent_boot_freep) struct agent_boot *boot = NULL;
	struct agent_client_options co = {.base_url = d->base,
					  .ca_file = d->ca,
					  .cert_file = d->cert,
					  .key_file = d->key,
					  .airgap = d->cfg->airgap,
					  .cancel = &d->cancel};
	struct agent_transport t;
	int r;

	*res = (struct cycle){};
	r = agent_client_new(&co, &client);
	if (r >= 0)
		r = agent_boot_open(d->cfg, &boot);
	if (r >= 0)
		r = checkin(d, client, boot, res);
	if (r < 0) {
		res->r = r;
		keep_error(res->error, r);
		return;
	}
	res->checked_in = true;
	res->install_r = install(d, boot, res);
	if (res->install_r < 0)
		keep_error(res->install_error, res->install_r);
	/* Events after the install, so that this cycle's transitions go out now. */
	t = agent_client_transport(client);
	res->events_r = agent_events_upload(d->cfg->state_dir, &t, AGENT_EVENTS_BATCH_MAX,
					    &res->events_sent, &res->retry_after_s);
	if (res->events_r < 0)
		keep_error(res->events_error, res->events_r);
	if (res->outcome == AGENT_OUTCOME_REBOOT) {
		struct agent_ctx c = {.cfg = d->cfg, .state_dir = d->cfg->state_dir};

		r = agent_install_reboot(&c);
		if (r < 0) {
			res->install_r = r;
			keep_error(res->install_error, r);
		}
	}
	/* Transport trouble backs off; a refused or failed install is not the server's fault. */
	if (res->install_r == TUF_E_NETWORK || res->install_r == TUF_E_SLOW) {
		res->r = res->install_r;
		memcpy(res->error, res->install_error, MSG_MAX);
	} else if (res->events_r < 0) {
		res->r = res->events_r;
		memcpy(res->error, res->events_error, MSG_MAX);
	}
}

/* ---- the loop ---- */

static void close_all(struct daemon *d)
{
	uv_handle_t *handles[] = {(uv_handle_t *)&d->poll, (uv_handle_t *)&d->watchdog,
				  (uv_handle_t *)&d->sigterm, (uv_handle_t *)&d->sigint};

	for (size_t i = 0; i < ELEMENTSOF(handles); i++)
		if (!uv_is_closing(handles[i]))
			uv_close(handles[i], NULL);
}

static uint32_t random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	return v;
}

static void log_cycle(const struct daemon *d, const struct cycle *res)
{
	if (!res->checked_in) {
		sl_log_warning("Failed to check in with %s: %s", d->base, res->error);
		return;
	}
	if (res->waiting_reboot)
		sl_log_info("A new slot waits for its trial boot: reboot to try it");
	if (res->skipped_failed)
		sl_log_info("Release %s failed or rolled back on this device; not trying it again",
			    res->desired);
	if (res->install_tried && res->install_r < 0)
		sl_log_error(res->install_r, "Failed to install release %s: %s",
			     res->desired[0] ? res->desired : "(resumed)", res->install_error);
	else if (res->install_tried)
		sl_log_info("Release %s: %s", res->desired[0] ? res->desired : "(resumed)",
			    agent_outcome_name(res->outcome));
	if (res->events_r < 0)
		sl_log_warning("Failed to send events (kept for the next cycle): %s",
			       res->events_error);
	else if (res->events_sent > 0)
		sl_log_info("Sent %zu events to the control plane", res->events_sent);
}

static void cycle_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;
	struct cycle *res = &d->res;
	uint64_t delay;
	char line[128];

	d->busy = false;
	log_cycle(d, res);
	if (res->poll_interval_s)
		d->sched.interval_s = res->poll_interval_s;
	delay = agent_schedule_next(&d->sched, res->r >= 0, res->retry_after_s, random_u32());
	if (d->once || d->stopping) {
		close_all(d);
		return;
	}
	snprintf(line, sizeof(line), "STATUS=%s; next check-in in %ju s",
		 res->r < 0 ? "control plane unreachable" : "idle", (uintmax_t)(delay / 1000));
	if (ENABLE_SYSTEMD)
		sd_notify(0, line);
	if (res->r < 0)
		sl_log_info("Next attempt in %ju s (failure %u in a row)",
			    (uintmax_t)(delay / 1000), d->sched.failures);
	uv_timer_start(&d->poll, NULL, delay, 0);
}

static void on_poll(uv_timer_t *t)
{
	struct daemon *d = t->data;
	int r;

	if (d->busy || d->stopping)
		return;
	d->busy = true;
	d->work.data = d;
	r = uv_queue_work(&d->loop, &d->work, cycle_work, cycle_done);
	if (r < 0) {
		d->busy = false;
		sl_log_error(-EIO, "Failed to start a cycle: %s", uv_strerror(r));
		uv_timer_start(&d->poll, NULL, AGENT_RETRY_BASE_S * 1000, 0);
	}
}

static void on_watchdog(uv_timer_t *t)
{
	if (ENABLE_SYSTEMD)
		sd_notify(0, "WATCHDOG=1");
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (d->stopping)
		return;
	sl_log_info("Stopping on %s", strsignal(signum));
	d->stopping = true;
	atomic_store(&d->cancel, 1);
	if (ENABLE_SYSTEMD)
		sd_notify(0, "STOPPING=1");
	if (!d->busy)
		close_all(d);
	/* else cycle_done closes everything once the cancelled cycle returned */
}

static int daemon_paths(struct daemon *d)
{
	const char *url = d->cfg->url;
	size_t n = strlen(url);

	if (asprintf(&d->base, "%s%s", url, url[n - 1] == '/' ? "" : "/") < 0)
		return -ENOMEM;
	if (asprintf(&d->tuf_base, "%stuf/", d->base) < 0 ||
	    asprintf(&d->ca, "%s/identity/ca.pem", d->cfg->state_dir) < 0 ||
	    asprintf(&d->cert, "%s/identity/device.crt", d->cfg->state_dir) < 0 ||
	    asprintf(&d->key, "%s/identity/device.key", d->cfg->state_dir) < 0)
		return -ENOMEM;
	return 0;
}

static void daemon_free(struct daemon *d)
{
	free(d->base);
	free(d->tuf_base);
	free(d->ca);
	free(d->cert);
	free(d->key);
}

/* Air gap: only the configured control plane, never a proxy (libcurl reads these). */
static void airgap_setup(const struct daemon *d)
{
	static const char *const proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
					      "all_proxy",  "ALL_PROXY",   "no_proxy",
					      "NO_PROXY"};

	for (size_t i = 0; i < ELEMENTSOF(proxies); i++)
		unsetenv(proxies[i]);
	sl_log_info("air-gap mode: connecting to the configured control plane %s only; "
		    "redirects, proxies and other hosts refused",
		    d->base);
}

static int loop_setup(struct daemon *d)
{
	uint64_t wd_usec = 0;
	int r;

	r = uv_loop_init(&d->loop);
	if (r < 0)
		return sl_error(-EIO, "libuv: %s", uv_strerror(r));
	uv_timer_init(&d->loop, &d->poll);
	uv_timer_init(&d->loop, &d->watchdog);
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	d->poll.data = d->watchdog.data = d->sigterm.data = d->sigint.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	if (ENABLE_SYSTEMD && sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000) {
		uv_timer_start(&d->watchdog, on_watchdog, wd_usec / 2000, wd_usec / 2000);
		d->watchdog_on = true;
	}
	uv_timer_start(&d->poll, on_poll, 0, 0);
	return 0;
}

int agent_daemon_run(const struct agent_config *cfg, bool once)
{
	_cleanup_close_ int lock = -1;
	struct daemon *d;
	int r;

	r = agent_config_validate_run(cfg);
	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = cfg;
	d->once = once;
	d->sched = (struct agent_schedule){.interval_s = cfg->poll_interval_s,
					   .backoff_max_s = cfg->backoff_max_s};
	r = daemon_paths(d);
	if (r >= 0)
		r = agent_lock(cfg->state_dir, &lock);
	if (r >= 0)
		r = loop_setup(d);
	if (r < 0) {
		daemon_free(d);
		free(d);
		return r;
	}
	if (cfg->airgap)
		airgap_setup(d);
	sl_log_info("%s: device %s, control plane %s, poll interval %u s%s",
		    once ? "one cycle" : "running", cfg->device_id, d->base, cfg->poll_interval_s,
		    d->watchdog_on ? ", watchdog on" : "");
	if (ENABLE_SYSTEMD)
		sd_notify(0, "READY=1\nSTATUS=checking in");
	uv_run(&d->loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&d->loop);
	if (r < 0)
		sl_log_warning("libuv: loop not closed cleanly: %s", uv_strerror(r));
	r = 0;
	if (once && d->res.r < 0)
		r = sl_error(d->res.r, "%s", d->res.error);
	else if (once && d->res.install_r < 0)
		r = sl_error(d->res.install_r, "%s", d->res.install_error);
	daemon_free(d);
	free(d);
	return r;
}
