/* SPDX-License-Identifier: Apache-2.0 */
/* Terminal progress display. */
#include <time.h>
#include <unistd.h>

#include "progress.h"

uint64_t sl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void human_bytes(double v, char *buf, size_t size)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void draw(struct sl_progress *p, uint64_t now)
{
	double secs = (double)(now - p->start_ns) / 1e9;
	double rate = secs > 0 ? (double)p->done / secs : 0;
	char done[32], total[32], r[32];

	human_bytes((double)p->done, done, sizeof(done));
	human_bytes(rate, r, sizeof(r));
	if (p->total) {
		human_bytes((double)p->total, total, sizeof(total));
		double eta = rate > 0 ? (double)(p->total - (p->done < p->total ? p->done : p->total)) / rate : 0;
		fprintf(p->out, "\r%s: %s / %s (%3.0f%%) %s/s ETA %02u:%02u ", p->label, done, total,
			100.0 * (double)p->done / (double)p->total, r, (unsigned)eta / 60, (unsigned)eta % 60);
	} else {
		fprintf(p->out, "\r%s: %s %s/s ", p->label, done, r);
	}
	fflush(p->out);
}

void sl_progress_begin(struct sl_progress *p, const char *label, uint64_t total)
{
	*p = (struct sl_progress){.out = stderr, .label = label, .total = total};
	p->enabled = isatty(fileno(stderr)) == 1;
	p->start_ns = p->last_ns = sl_now_ns();
}

void sl_progress_add(struct sl_progress *p, uint64_t n)
{
	uint64_t now;

	p->done += n;
	if (!p->enabled)
		return;
	now = sl_now_ns();
	if (now - p->last_ns < 100000000ull)
		return;
	p->last_ns = now;
	draw(p, now);
}

void sl_progress_end(struct sl_progress *p)
{
	if (!p->enabled)
		return;
	draw(p, sl_now_ns());
	fputc('\n', p->out);
}
