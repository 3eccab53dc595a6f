/* SPDX-License-Identifier: Apache-2.0 */
/* `sluice-agent run`: the polling daemon (check-in, online install, event upload) on libuv. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "config.h"

#define AGENT_RETRY_BASE_S 30	    /* first retry after a failure (or the interval if shorter) */
#define AGENT_JITTER_PERCENT 20	    /* every delay is spread by +-20 % */
#define AGENT_DELAY_MIN_MS 1000	    /* never poll faster than this */
#define AGENT_EVENTS_BATCH_MAX 100  /* events in one POST /v1/events (the server takes 500) */
#define AGENT_EVENTS_ROUNDS_MAX 100 /* batches uploaded in one cycle */
#define AGENT_EVENT_ERROR_MAX 1000  /* bytes of an event's error sent (the server takes 1024) */
#define AGENT_DESIRED_MAX 128	    /* bytes of a release name from the control plane */

/* When the next cycle runs: the poll interval, and the backoff after failed cycles. */
struct agent_schedule {
	unsigned interval_s;	/* configured, or the control plane's poll_interval */
	unsigned backoff_max_s; /* the cap of the failure backoff */
	unsigned failures;	/* consecutive failed cycles */
};

/*
 * base_ms spread uniformly over [80 %, 120 %) by rnd (a uniform 32-bit random number).
 */
uint64_t agent_jitter_ms(uint64_t base_ms, uint32_t rnd);

/*
 * Record how a cycle ended in s and return the milliseconds until the next one: the
 * interval after a success; after the n-th consecutive failure min(backoff_max,
 * min(interval, AGENT_RETRY_BASE_S) * 2^(n-1)); both with jitter (rnd). A Retry-After
 * (retry_after_s > 0, from a 429 or 503) is a lower bound: the delay is at least
 * retry_after_s plus up to 20 % (never earlier than asked). At least AGENT_DELAY_MIN_MS.
 */
uint64_t agent_schedule_next(struct agent_schedule *s, bool ok, unsigned retry_after_s,
			     uint32_t rnd);

/*
 * Send the queued events of state_dir through t in batches of at most batch (<=
 * AGENT_EVENTS_BATCH_MAX) to POST v1/events, oldest first; a batch is marked sent only
 * after the control plane answered 2xx with {"accepted": n} for all of it, so nothing is
 * lost when it fails (it is sent again; the server ignores repeated seq). Events the API
 * does not take (no release, or a type it does not know such as "noop") are marked sent
 * without being uploaded. *ret_sent: events uploaded; *ret_retry_after: the Retry-After of a
 * refused batch (0 when none). An HTTP error answer is TUF_E_NETWORK.
 */
int agent_events_upload(const char *state_dir, const struct agent_transport *t, size_t batch,
			size_t *ret_sent, unsigned *ret_retry_after);

/*
 * Run the daemon with cfg (validated here with agent_config_validate_run()): take the agent
 * lock, tell systemd READY=1 (and feed its watchdog), then one cycle right away and the next
 * ones per the schedule until SIGTERM/SIGINT (or after one cycle when once). Each cycle
 * checks in, installs the release the control plane asks for (resuming an interrupted
 * one), uploads the queued events and reboots per [reboot] policy when a new slot waits.
 * Logs what it does (this is program code). Returns 0, or < 0 when start-up failed or, with
 * once, when the cycle failed.
 */
int agent_daemon_run(const struct agent_config *cfg, bool once);
