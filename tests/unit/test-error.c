/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the error table and the per-thread last-error message. */
#include <errno.h>

#include "error.h"
#include "test.h"

TEST(names_and_texts)
{
	ASSERT_EQ_STR(sl_error_name(TUF_E_EXPIRED), "TUF_E_EXPIRED");
	ASSERT_EQ_STR(sl_strerror(TUF_E_ROLLBACK), "rollback: version older than trusted");
	ASSERT_EQ_STR(sl_error_name(-ENOENT), "ENOENT");
	ASSERT_EQ_STR(sl_strerror(-ENOENT), "No such file or directory");
	ASSERT_EQ_STR(sl_error_name(0), "OK");
	/* Project codes never collide with -errno. */
	ASSERT_TRUE(SL_E_INVALID < -1000 && SL_E_INVALID > -2000);
	ASSERT_TRUE(TUF_E_CRYPTO < -1000 && TUF_E_CRYPTO > -2000);
}

TEST(message_follows_code)
{
	ASSERT_EQ_INT(sl_error(TUF_E_ROLLBACK, "timestamp.json: version %d is older than trusted version %d", 4, 5),
		      TUF_E_ROLLBACK);
	ASSERT_EQ_STR(sl_error_message(TUF_E_ROLLBACK),
		      "timestamp.json: version 4 is older than trusted version 5");
	/* A different code gets its generic text, not a stale message. */
	ASSERT_EQ_STR(sl_error_message(TUF_E_EXPIRED), "metadata expired");
	sl_error_clear();
	ASSERT_EQ_STR(sl_error_message(TUF_E_ROLLBACK), "rollback: version older than trusted");
}

int main(void)
{
	RUN(names_and_texts);
	RUN(message_follows_code);
	return 0;
}
