/* SPDX-License-Identifier: Apache-2.0 */
/* Server counters kept per loop without locks, rendered as Prometheus text for /metrics. */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum cp_endpoint {
	CP_EP_METADATA,
	CP_EP_TARGETS,
	CP_EP_CHECKIN,
	CP_EP_EVENTS,
	CP_EP_OTHER,
	CP_EP_COUNT_,
};

/* The status codes counted one by one; anything else is counted as "other". */
#define CP_METRICS_STATUSES(XX)                                                                    \
	XX(200) XX(206) XX(400) XX(403) XX(404) XX(405) XX(408) XX(413) XX(414) XX(416) XX(431)   \
	XX(500) XX(503)

enum {
#define CP_STATUS_IDX_(s) CP_ST_##s,
	CP_METRICS_STATUSES(CP_STATUS_IDX_) CP_ST_OTHER,
#undef CP_STATUS_IDX_
	CP_ST_COUNT_,
};

enum cp_timeout_kind {
	CP_TO_HANDSHAKE,
	CP_TO_HEADER,
	CP_TO_BODY,
	CP_TO_IDLE,
	CP_TO_WRITE,
	CP_TO_COUNT_,
};

/*
 * One loop's counters. Only the owning loop thread writes them (cp_metrics_inc() with
 * relaxed atomics); the /metrics scrape reads every loop's copy with relaxed loads.
 */
struct cp_metrics {
	uint64_t requests[CP_EP_COUNT_][CP_ST_COUNT_];
	uint64_t bytes_sent;
	uint64_t connections_open; /* gauge: incremented and decremented by the owner */
	uint64_t connections_total;
	uint64_t connections_rejected; /* over the global or per-client cap */
	uint64_t tls_handshakes;       /* completed */
	uint64_t tls_handshake_failures;
	uint64_t timeouts[CP_TO_COUNT_];
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t repo_generation; /* gauge */
};

/* Add v to a counter of the caller's own loop. */
static inline void cp_metrics_add(uint64_t *counter, uint64_t v)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* Set a gauge of the caller's own loop. */
static inline void cp_metrics_set(uint64_t *gauge, uint64_t v)
{
	__atomic_store_n(gauge, v, __ATOMIC_RELAXED);
}

/* Count one answered request. */
void cp_metrics_request(struct cp_metrics *m, enum cp_endpoint ep, int status);

/*
 * Render the sum of n loops' counters as Prometheus text exposition format (version 0.0.4).
 * *ret (malloc'd, caller frees) and *ret_len are set; returns 0 or -ENOMEM.
 */
int cp_metrics_render(struct cp_metrics *const *loops, size_t n, char **ret, size_t *ret_len);
