/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the control plane's per-loop counters and their Prometheus rendering. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

TEST(render_sums_loops)
{
	struct cp_metrics a = {}, b = {};
	struct cp_metrics *loops[] = { &a, &b };
	char *text = NULL;
	size_t len = 0;

	cp_metrics_request(&a, CP_EP_METADATA, 200);
	cp_metrics_request(&b, CP_EP_METADATA, 200);
	cp_metrics_request(&b, CP_EP_TARGETS, 206);
	cp_metrics_request(&a, CP_EP_CHECKIN, 403);
	cp_metrics_request(&a, CP_EP_OTHER, 418); /* not in the table: "other" */
	cp_metrics_add(&a.bytes_sent, 100);
	cp_metrics_add(&b.bytes_sent, 23);
	cp_metrics_add(&a.connections_open, 2);
	cp_metrics_add(&a.connections_open, (uint64_t)-1);
	cp_metrics_add(&b.connections_open, 1);
	cp_metrics_add(&b.tls_handshake_failures, 5);
	cp_metrics_add(&a.timeouts[CP_TO_HEADER], 3);
	cp_metrics_set(&a.repo_generation, 4);
	cp_metrics_set(&b.repo_generation, 5);

	ASSERT_OK(cp_metrics_render(loops, 2, &text, &len));
	ASSERT_EQ_INT(strlen(text), len);
	ASSERT_TRUE(has_line(text, "sluice_cp_requests_total{endpoint=\"metadata\",status=\"200\"} 2"));
	ASSERT_TRUE(has_line(text, "sluice_cp_requests_total{endpoint=\"targets\",status=\"206\"} 1"));
	ASSERT_TRUE(has_line(text, "sluice_cp_requests_total{endpoint=\"checkin\",status=\"403\"} 1"));
	ASSERT_TRUE(has_line(text, "sluice_cp_requests_total{endpoint=\"other\",status=\"other\"} 1"));
	ASSERT_TRUE(!strstr(text, "status=\"404\""));
	ASSERT_TRUE(has_line(text, "sluice_cp_bytes_sent_total 123"));
	ASSERT_TRUE(has_line(text, "sluice_cp_open_connections 2"));
	ASSERT_TRUE(has_line(text, "sluice_cp_tls_handshake_failures_total 5"));
	ASSERT_TRUE(has_line(text, "sluice_cp_timeouts_total{kind=\"header\"} 3"));
	ASSERT_TRUE(has_line(text, "sluice_cp_repo_generation 5"));
	ASSERT_TRUE(has_line(text, "# TYPE sluice_cp_open_connections gauge"));
	free(text);
}

int main(void)
{
	RUN(render_sums_loops);
	return 0;
}
