/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of rollouts: cohort determinism, waves advancing, auto-halt, operator transitions. */
#include <json-c/json.h>

#include "devices.h"
#include "repo.h"
#include "rollout.h"
#include "state.h"
#include "test-cp-util.h"
#include "test.h"

TEST(cohort)
{
	unsigned below10 = 0;

	ASSERT_EQ_INT(cp_rollout_cohort("ro-00000001", "dev-1"),
		      cp_rollout_cohort("ro-00000001", "dev-1"));
	ASSERT_TRUE(cp_rollout_cohort("ro-00000001", "dev-1") < 100);
	/* The separator keeps ("ab", "c") and ("a", "bc") apart. */
	for (int i = 0; i < 2000; i++) {
		char d[32];

		snprintf(d, sizeof(d), "device-%d", i);
		below10 += cp_rollout_cohort("ro-12345678", d) < 10;
	}
	ASSERT_TRUE(below10 > 120 && below10 < 280); /* ~200 expected */
}

static struct cpt_env env_with_release(void)
{
	struct cpt_env e;
	const struct cpt_artifact a[] = {{"images/rootfs.img", "image", NULL}};
	struct cpt_bundle_opts o = {.release = "2026.11.1", .targets_version = 1};
	_cleanup_free_ char *b = NULL;

	ASSERT_OK(cpt_env_new(&e));
	b = cpt_path(&e, "b");
	ASSERT_OK(cpt_make_bundle(b, &e.k, &o, a, 1));
	ASSERT_OK(cp_repo_publish(e.s, b, "test", NULL));
	return e;
}

static char *desired(struct cp_state *s, const char *dev)
{
	char *body = NULL, *rel = NULL;
	size_t len;
	struct json_object *o, *v;

	ASSERT_EQ_INT(cp_api_checkin(s, dev, "{}", 2, &body, &len), 200);
	o = json_tokener_parse(body);
	ASSERT_TRUE(o);
	if (json_object_object_get_ex(o, "desired_release", &v) && v)
		rel = strdup(json_object_get_string(v));
	json_object_put(o);
	free(body);
	return rel;
}

static void event(struct cp_state *s, const char *dev, int seq, const char *type)
{
	char body[256], *out = NULL;
	size_t len;

	snprintf(body, sizeof(body), "{\"events\":[{\"seq\":%d,\"time\":\"2026-01-01T00:00:00Z\","
		 "\"release\":\"2026.11.1\",\"type\":\"%s\"}]}", seq, type);
	ASSERT_EQ_INT(cp_api_events(s, dev, body, strlen(body), &out, &len), 200);
	free(out);
}

struct seen {
	char state[16];
	unsigned wave;
	struct cp_rollout_stats st;
};

static int grab(const struct cp_rollout *r, void *userdata)
{
	struct seen *x = userdata;

	snprintf(x->state, sizeof(x->state), "%s", r->state);
	x->wave = r->wave;
	x->st = r->stats;
	return 0;
}

static struct seen get(struct cp_state *s, const char *id)
{
	struct seen x = {};

	ASSERT_OK(cp_rollout_foreach(s, id, grab, &x));
	return x;
}

#define N_DEV 40

TEST(waves_and_halt)
{
	struct cpt_env e = env_with_release();
	struct cp_rollout_spec spec = {.release = "2026.11.1", .waves = {10, 50, 100}, .n_waves = 3,
				       .max_failure_permille = 200, .min_devices = 2};
	char id[CP_ROLLOUT_ID_LEN + 1], other[CP_ROLLOUT_ID_LEN + 1], dev[N_DEV][16];
	struct seen x;
	int in0 = 0, seq = 0;

	for (int i = 0; i < N_DEV; i++) {
		snprintf(dev[i], sizeof(dev[i]), "dev-%02d", i);
		ASSERT_OK(cp_devices_approve(e.s, dev[i], "board-a", "lab", NULL, "test"));
	}
	spec.release = "2099.1";
	ASSERT_ERR(cp_rollout_create(e.s, &spec, "test", id), TUF_E_NOT_FOUND);
	spec.release = "2026.11.1";
	spec.waves[1] = 5;
	ASSERT_ERR(cp_rollout_create(e.s, &spec, "test", id), SL_E_INVALID);
	spec.waves[1] = 50;
	ASSERT_OK(cp_rollout_create(e.s, &spec, "test", id));
	ASSERT_ERR(cp_rollout_create(e.s, &spec, "test", other), CP_E_CONFLICT);

	/* Wave 1: exactly the devices whose cohort is below 10 are asked to update (an empty
	 * wave 1 is complete at once, and wave 2 is asked). */
	x = get(e.s, id);
	for (int i = 0; i < N_DEV; i++) {
		_cleanup_free_ char *d = desired(e.s, dev[i]);
		bool in = cp_rollout_cohort(id, dev[i]) < (x.wave == 0 ? 10u : 50u);

		ASSERT_EQ_INT(d != NULL, in);
		if (in)
			ASSERT_EQ_STR(d, "2026.11.1");
		in0 += in && cp_rollout_cohort(id, dev[i]) < 10;
	}
	ASSERT_EQ_INT(x.wave, in0 > 0 ? 0 : 1);
	ASSERT_EQ_INT(x.st.eligible, N_DEV);
	if (x.wave == 0)
		ASSERT_EQ_INT(x.st.in_wave, in0);
	/* Every wave-1 device commits: the rollout moves to wave 2 by itself. */
	for (int i = 0; i < N_DEV; i++)
		if (cp_rollout_cohort(id, dev[i]) < 10)
			event(e.s, dev[i], ++seq, "committed");
	x = get(e.s, id);
	ASSERT_EQ_STR(x.state, "active");
	ASSERT_EQ_INT(x.wave, 1);
	/* Wave 2: failures above 20% of the reporting devices halt it. */
	{
		int failed = 0, ok = 0;

		for (int i = 0; i < N_DEV && failed < 2; i++) {
			unsigned c = cp_rollout_cohort(id, dev[i]);

			if (c < 10 || c >= 50)
				continue;
			if (ok < 1) {
				event(e.s, dev[i], ++seq, "committed");
				ok++;
			} else {
				event(e.s, dev[i], ++seq, failed ? "rolled_back" : "failed");
				failed++;
			}
		}
	}
	x = get(e.s, id);
	ASSERT_EQ_STR(x.state, "halted");
	ASSERT_EQ_INT(x.st.committed, 1); /* wave 1's successes do not dilute wave 2's rate */
	/* Halted: nobody is told to update; resume is refused, abort allowed. */
	for (int i = 0; i < N_DEV; i++) {
		_cleanup_free_ char *d = desired(e.s, dev[i]);

		ASSERT_TRUE(d == NULL);
	}
	ASSERT_ERR(cp_rollout_action(e.s, id, "resume", "test"), CP_E_CONFLICT);
	ASSERT_OK(cp_rollout_action(e.s, id, "abort", "test"));
	ASSERT_ERR(cp_rollout_action(e.s, "ro-nope", "abort", "test"), TUF_E_NOT_FOUND);
	cpt_env_clear(&e);
}

TEST(pause_resume_advance_tag)
{
	struct cpt_env e = env_with_release();
	struct cp_rollout_spec spec = {.release = "2026.11.1", .tag = "lab", .waves = {1, 100},
				       .n_waves = 2, .max_failure_permille = 500, .min_devices = 1};
	char id[CP_ROLLOUT_ID_LEN + 1];
	_cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL;
	struct seen x;

	ASSERT_OK(cp_devices_approve(e.s, "in-lab", "board-a", "lab,east", NULL, "test"));
	ASSERT_OK(cp_devices_approve(e.s, "elsewhere", "board-a", "field", NULL, "test"));
	ASSERT_OK(cp_rollout_create(e.s, &spec, "test", id));
	ASSERT_OK(cp_rollout_action(e.s, id, "pause", "test"));
	ASSERT_ERR(cp_rollout_action(e.s, id, "pause", "test"), CP_E_CONFLICT);
	ASSERT_ERR(cp_rollout_action(e.s, id, "advance", "test"), CP_E_CONFLICT);
	ASSERT_OK(cp_rollout_action(e.s, id, "resume", "test"));
	x = get(e.s, id);
	if (strcmp(x.state, "active") == 0 && x.wave == 0)
		ASSERT_OK(cp_rollout_action(e.s, id, "advance", "test"));
	x = get(e.s, id);
	ASSERT_EQ_INT(x.wave, 1);
	/* Wave 100%: the tagged device is asked, the other never. */
	d1 = desired(e.s, "in-lab");
	d2 = desired(e.s, "elsewhere");
	ASSERT_EQ_STR(d1, "2026.11.1");
	ASSERT_TRUE(d2 == NULL);
	event(e.s, "in-lab", 1, "committed");
	x = get(e.s, id);
	ASSERT_EQ_STR(x.state, "completed");
	d3 = desired(e.s, "in-lab");
	ASSERT_EQ_STR(d3, "2026.11.1");
	cpt_env_clear(&e);
}

int main(void)
{
	RUN(cohort);
	RUN(waves_and_halt);
	RUN(pause_resume_advance_tag);
	return 0;
}
