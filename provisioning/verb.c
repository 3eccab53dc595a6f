/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sluice-provision verbs: passphrases, the PKI, common options, dates. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "macro.h"
#include "passphrase.h"
#include "verb.h"

#define PROMPT_MAX 512

int cli_parse_days(const char *verb, const char *opt, const char *s, uint32_t *ret)
{
	uint64_t v;

	if (sl_cli_parse_uint(verb, opt, s, 1, PROV_DAYS_MAX, &v) != 0)
		return SL_CLI_EXIT_FAIL;
	*ret = (uint32_t)v;
	return 0;
}

int cli_common_option(const char *verb, int c, const char *arg, struct cli_common *co)
{
	switch (c) {
	case OPT_DIR:
		if (!arg[0]) {
			sl_cli_usage(verb, "--dir: empty path");
			return -1;
		}
		co->dir = arg;
		return 1;
	case OPT_PASS_FD:
		return sl_cli_parse_fd(verb, arg, &co->pass_fd) == 0 ? 1 : -1;
	case OPT_FORCE:
		co->force = true;
		return 1;
	default:
		return 0;
	}
}

int cli_passphrase(int fd, const char *what, bool confirm, char **ret, size_t *ret_len)
{
	sl_cli_warn_unlocked();
	return cer_passphrase_ask(fd, what, confirm, ret, ret_len);
}

int cli_pki_unlocked(const char *dir, enum prov_ca ca, int pass_fd, struct prov_pki **ret)
{
	struct prov_pki *p = NULL;
	char *pass = NULL, what[PROMPT_MAX];
	size_t len = 0;
	int r;

	r = prov_pki_open(dir, &p);
	if (r < 0)
		return sl_cli_fail(r, "open the PKI", dir);
	snprintf(what, sizeof(what), "the %s CA key in %s",
		 ca == PROV_CA_DEVICE ? "device" : "server", dir);
	r = cli_passphrase(pass_fd, what, false, &pass, &len);
	if (r >= 0)
		r = prov_pki_unlock(p, ca, pass, len);
	cer_passphrase_free(pass);
	if (r < 0) {
		prov_pki_free(p);
		return sl_cli_fail(r, "unlock the CA key in", dir);
	}
	*ret = p;
	return 0;
}

void cli_date(int64_t t, char buf[static 11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, 11, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 11, "?");
}
