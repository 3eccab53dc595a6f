/* SPDX-License-Identifier: Apache-2.0 */
/* Rollouts: a release assigned to devices in percentage waves, with deterministic cohorts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_state;

#define CP_ROLLOUT_MAX_WAVES 16
#define CP_ROLLOUT_ID_LEN 11 /* "ro-" + 8 hex digits */

/*
 * A device's cohort in rollout id: the first 4 bytes of SHA-256(id || 0x00 || device_id) as a
 * big-endian number, modulo 100. The device is in wave w when its cohort is below waves[w]
 * (waves are cumulative percentages).
 */
unsigned cp_rollout_cohort(const char *rollout_id, const char *device_id);

struct cp_rollout_spec {
	const char *release;  /* a release name of a published targets version */
	const char *tag;      /* NULL: every approved device */
	unsigned waves[CP_ROLLOUT_MAX_WAVES]; /* strictly increasing, 1..100 */
	size_t n_waves;
	unsigned max_failure_permille; /* halt above this failed/rolled_back fraction (0..1000) */
	unsigned min_devices;          /* terminal reports needed before the rate is judged */
};

/*
 * Create an active rollout at wave 0. Refused: an unknown release (TUF_E_NOT_FOUND), bad
 * waves (SL_E_INVALID), another active or paused rollout (CP_E_CONFLICT). Audited.
 * ret_id receives the new id.
 */
int cp_rollout_create(struct cp_state *s, const struct cp_rollout_spec *spec, const char *actor,
		      char ret_id[CP_ROLLOUT_ID_LEN + 1]);

/*
 * Operator actions: "pause" (active -> paused), "resume" (paused -> active), "abort"
 * (active/paused/halted -> aborted), "advance" (active: next wave, or completed after the
 * last). Other transitions are CP_E_CONFLICT; an unknown id TUF_E_NOT_FOUND. Audited.
 */
int cp_rollout_action(struct cp_state *s, const char *id, const char *action, const char *actor);

/*
 * Counts of the current wave: the devices it added, whose cohort is at least the previous
 * wave's percentage and below its own (earlier waves' devices keep the release but do not
 * dilute the current wave's failure rate).
 */
struct cp_rollout_stats {
	int64_t eligible;   /* approved devices in scope (tag) */
	int64_t in_wave;    /* of those, in the current wave */
	int64_t committed;  /* in wave, last terminal event for the release is committed */
	int64_t failed;     /* ... failed or rolled_back */
};

/* A rollout row; strings borrowed for the callback. */
struct cp_rollout {
	const char *id, *release, *tag, *waves, *state, *created, *updated, *reason;
	unsigned wave; /* index of the current wave */
	unsigned max_failure_permille, min_devices;
	struct cp_rollout_stats stats;
};

/* Call fn for rollout id (or every rollout, newest first, when id is NULL). */
int cp_rollout_foreach(struct cp_state *s, const char *id,
		       int (*fn)(const struct cp_rollout *r, void *userdata), void *userdata);

/*
 * Judge every active rollout (inside the caller's transaction): halt it ("halted", audited)
 * when at least min_devices devices of the current wave (see struct cp_rollout_stats)
 * reported a terminal event and the failed fraction of those passes the threshold; otherwise
 * advance it when every device of the wave has committed. Called after events are stored.
 */
int cp_rollout_evaluate(struct cp_state *s);

/*
 * The release device_id should run, from the newest active, paused or completed rollout whose
 * scope includes it and whose current wave covers its cohort; *ret_release is NULL when none
 * (malloc'd strings, caller frees).
 */
int cp_rollout_desired(struct cp_state *s, const char *device_id, char **ret_release,
		       char **ret_rollout);
