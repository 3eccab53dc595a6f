/* SPDX-License-Identifier: Apache-2.0 */
/* Server counters kept per loop without locks, rendered as Prometheus text for /metrics. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"

static const int statuses[] = {
#define CP_STATUS_VAL_(s) s,
	CP_METRICS_STATUSES(CP_STATUS_VAL_)
#undef CP_STATUS_VAL_
};

static const char *const endpoint_names[CP_EP_COUNT_] = {
	[CP_EP_METADATA] = "metadata", [CP_EP_TARGETS] = "targets", [CP_EP_CHECKIN] = "checkin",
	[CP_EP_EVENTS] = "events",     [CP_EP_OTHER] = "other",
};

static const char *const timeout_names[CP_TO_COUNT_] = {
	[CP_TO_HANDSHAKE] = "handshake", [CP_TO_HEADER] = "header", [CP_TO_BODY] = "body",
	[CP_TO_IDLE] = "idle",           [CP_TO_WRITE] = "write",
};

void cp_metrics_request(struct cp_metrics *m, enum cp_endpoint ep, int status)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(statuses); i++)
		if (statuses[i] == status)
			break;
	cp_metrics_add(&m->requests[ep][i], 1);
}

#define SUM(field)                                                                                 \
	({                                                                                         \
		uint64_t s_ = 0;                                                                   \
		for (size_t k_ = 0; k_ < n; k_++)                                                  \
			s_ += __atomic_load_n(&loops[k_]->field, __ATOMIC_RELAXED);                \
		s_;                                                                                \
	})

int cp_metrics_render(struct cp_metrics *const *loops, size_t n, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	uint64_t gen = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("# HELP sluice_cp_requests_total HTTP requests answered, by endpoint and status.\n"
	      "# TYPE sluice_cp_requests_total counter\n", f);
	for (int ep = 0; ep < CP_EP_COUNT_; ep++)
		for (int st = 0; st < CP_ST_COUNT_; st++) {
			uint64_t v = SUM(requests[ep][st]);
			char code[16];

			if (v == 0)
				continue;
			if (st < (int)ELEMENTSOF(statuses))
				snprintf(code, sizeof(code), "%d", statuses[st]);
			else
				snprintf(code, sizeof(code), "other");
			fprintf(f, "sluice_cp_requests_total{endpoint=\"%s\",status=\"%s\"} %" PRIu64 "\n",
				endpoint_names[ep], code, v);
		}
	fprintf(f, "# HELP sluice_cp_bytes_sent_total Response bytes handed to TLS.\n"
		   "# TYPE sluice_cp_bytes_sent_total counter\nsluice_cp_bytes_sent_total %" PRIu64 "\n",
		SUM(bytes_sent));
	fprintf(f, "# HELP sluice_cp_open_connections Client connections open now.\n"
		   "# TYPE sluice_cp_open_connections gauge\nsluice_cp_open_connections %" PRIu64 "\n",
		SUM(connections_open));
	fprintf(f, "# HELP sluice_cp_connections_total Client connections accepted.\n"
		   "# TYPE sluice_cp_connections_total counter\nsluice_cp_connections_total %" PRIu64 "\n",
		SUM(connections_total));
	fprintf(f, "# HELP sluice_cp_connections_rejected_total Connections refused by a cap.\n"
		   "# TYPE sluice_cp_connections_rejected_total counter\n"
		   "sluice_cp_connections_rejected_total %" PRIu64 "\n", SUM(connections_rejected));
	fprintf(f, "# HELP sluice_cp_tls_handshakes_total Completed TLS handshakes.\n"
		   "# TYPE sluice_cp_tls_handshakes_total counter\n"
		   "sluice_cp_tls_handshakes_total %" PRIu64 "\n", SUM(tls_handshakes));
	fprintf(f, "# HELP sluice_cp_tls_handshake_failures_total Failed or timed out TLS handshakes.\n"
		   "# TYPE sluice_cp_tls_handshake_failures_total counter\n"
		   "sluice_cp_tls_handshake_failures_total %" PRIu64 "\n", SUM(tls_handshake_failures));
	fputs("# HELP sluice_cp_timeouts_total Connections cut off by a timeout, by kind.\n"
	      "# TYPE sluice_cp_timeouts_total counter\n", f);
	for (int k = 0; k < CP_TO_COUNT_; k++)
		fprintf(f, "sluice_cp_timeouts_total{kind=\"%s\"} %" PRIu64 "\n", timeout_names[k],
			SUM(timeouts[k]));
	fprintf(f, "# HELP sluice_cp_metadata_cache_hits_total Metadata served from memory.\n"
		   "# TYPE sluice_cp_metadata_cache_hits_total counter\n"
		   "sluice_cp_metadata_cache_hits_total %" PRIu64 "\n", SUM(cache_hits));
	fprintf(f, "# HELP sluice_cp_metadata_cache_misses_total Metadata read from disk.\n"
		   "# TYPE sluice_cp_metadata_cache_misses_total counter\n"
		   "sluice_cp_metadata_cache_misses_total %" PRIu64 "\n", SUM(cache_misses));
	for (size_t k = 0; k < n; k++) {
		uint64_t g = __atomic_load_n(&loops[k]->repo_generation, __ATOMIC_RELAXED);

		if (g > gen)
			gen = g;
	}
	fprintf(f, "# HELP sluice_cp_repo_generation Repository generation being served.\n"
		   "# TYPE sluice_cp_repo_generation gauge\nsluice_cp_repo_generation %" PRIu64 "\n",
		gen);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}
