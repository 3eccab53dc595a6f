/* SPDX-License-Identifier: Apache-2.0 */
/* Small assert macros for unit tests: they print file:line and both values, then abort. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define ASSERT_TRUE(expr)                                                                          \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			fprintf(stderr, "%s:%d: ASSERT_TRUE(%s) failed\n", __FILE__, __LINE__,    \
				#expr);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ_INT(a, b)                                                                        \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                               \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld (%s) != %lld (%s)\n",        \
				__FILE__, __LINE__, #a, #b, a_, sl_error_name((int)a_), b_,        \
				sl_error_name((int)b_));                                           \
			fprintf(stderr, "  last message: %s\n", sl_error_message((int)a_));        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ_STR(a, b)                                                                        \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                           \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
				__LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ_MEM(a, b, n)                                                                     \
	do {                                                                                       \
		if (memcmp((a), (b), (n)) != 0) {                                                  \
			fprintf(stderr, "%s:%d: memcmp(%s, %s, %s) != 0\n", __FILE__, __LINE__,    \
				#a, #b, #n);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Success: r >= 0. */
#define ASSERT_OK(expr)                                                                            \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ < 0) {                                                                      \
			fprintf(stderr, "%s:%d: %s failed: %d %s: %s\n", __FILE__, __LINE__,       \
				#expr, r_, sl_error_name(r_), sl_error_message(r_));               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Failure with exactly this code. */
#define ASSERT_ERR(expr, code) ASSERT_EQ_INT((expr), (code))

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "== %s\n", #name);                                                 \
		sl_error_clear();                                                                  \
		test_##name();                                                                     \
	} while (0)
