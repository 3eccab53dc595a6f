/* SPDX-License-Identifier: Apache-2.0 */
/* Progress lines for long operations: bytes, rate and ETA on a terminal, silent otherwise. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sl_progress {
	FILE *out;          /* borrowed; stderr by default */
	bool enabled;       /* only when out is a terminal */
	const char *label;  /* borrowed */
	uint64_t total;     /* 0 when unknown */
	uint64_t done;
	uint64_t start_ns;
	uint64_t last_ns;
};

/* Start a progress display for label (borrowed) of total bytes (0 = unknown) on stderr. */
void sl_progress_begin(struct sl_progress *p, const char *label, uint64_t total);

/* Account n more bytes; redraws at most ten times a second. */
void sl_progress_add(struct sl_progress *p, uint64_t n);

/* Final line (on a terminal) and newline. */
void sl_progress_end(struct sl_progress *p);

/* Monotonic clock in nanoseconds. */
uint64_t sl_now_ns(void);
