/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sluice-provision verbs: with main, the only provisioning code that prints. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "macro.h"
#include "passphrase.h"

#define PROGRAM "sluice-provision"
#define PROMPT_MAX 512

bool cli_mlock_failed;

int cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROGRAM " %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '" PROGRAM " %s --help')\n", verb);
	return CLI_EXIT_FAIL;
}

int cli_bad_option(const char *verb, char **argv)
{
	extern int optind, optopt;

	if (optopt)
		return cli_usage(verb, "bad or incomplete option '%s'", argv[optind - 1]);
	return cli_usage(verb, "unknown option '%s'", argv[optind - 1]);
}

int cli_fail(int r, const char *action, const char *object)
{
	fprintf(stderr, PROGRAM ": Failed to %s '%s': %s [%s]\n", action, object,
		sl_error_message(r), sl_error_name(r));
	return CLI_EXIT_FAIL;
}

int cli_parse_uint(const char *verb, const char *opt, const char *s, uint64_t min, uint64_t max,
		   uint64_t *ret)
{
	unsigned long long v;
	char *end = NULL;

	errno = 0;
	if (!s || s[0] < '0' || s[0] > '9')
		return cli_usage(verb, "%s: '%s' is not a number", opt, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return cli_usage(verb, "%s: '%s' is not a number from %" PRIu64 " to %" PRIu64, opt,
				 s, min, max);
	*ret = v;
	return 0;
}

int cli_parse_days(const char *verb, const char *opt, const char *s, uint32_t *ret)
{
	uint64_t v;

	if (cli_parse_uint(verb, opt, s, 1, PROV_DAYS_MAX, &v) != 0)
		return CLI_EXIT_FAIL;
	*ret = (uint32_t)v;
	return 0;
}

int cli_parse_fd(const char *verb, const char *s, int *ret)
{
	uint64_t v;

	if (cli_parse_uint(verb, "--passphrase-fd", s, 0, 65535, &v) != 0)
		return CLI_EXIT_FAIL;
	*ret = (int)v;
	return 0;
}

int cli_common_option(const char *verb, int c, const char *arg, struct cli_common *co)
{
	switch (c) {
	case OPT_DIR:
		if (!arg[0]) {
			cli_usage(verb, "--dir: empty path");
			return -1;
		}
		co->dir = arg;
		return 1;
	case OPT_PASS_FD:
		return cli_parse_fd(verb, arg, &co->pass_fd) == 0 ? 1 : -1;
	case OPT_FORCE:
		co->force = true;
		return 1;
	default:
		return 0;
	}
}

int cli_passphrase(int fd, const char *what, bool confirm, char **ret, size_t *ret_len)
{
	char prompt[PROMPT_MAX], again[PROMPT_MAX];

	if (cli_mlock_failed) {
		fprintf(stderr, PROGRAM ": warning: memory is not locked (RLIMIT_MEMLOCK); "
					"secrets stay in guarded sodium memory only\n");
		cli_mlock_failed = false;
	}
	if (fd >= 0)
		return cer_passphrase_read_fd(fd, ret, ret_len);
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", what);
	snprintf(again, sizeof(again), "Passphrase for %s (again): ", what);
	return cer_passphrase_read_tty(NULL, prompt, confirm ? again : NULL, ret, ret_len);
}

int cli_pki_unlocked(const char *dir, enum prov_ca ca, int pass_fd, struct prov_pki **ret)
{
	struct prov_pki *p = NULL;
	char *pass = NULL, what[PROMPT_MAX];
	size_t len = 0;
	int r;

	r = prov_pki_open(dir, &p);
	if (r < 0)
		return cli_fail(r, "open the PKI", dir);
	snprintf(what, sizeof(what), "the %s CA key in %s",
		 ca == PROV_CA_DEVICE ? "device" : "server", dir);
	r = cli_passphrase(pass_fd, what, false, &pass, &len);
	if (r >= 0)
		r = prov_pki_unlock(p, ca, pass, len);
	cer_passphrase_free(pass);
	if (r < 0) {
		prov_pki_free(p);
		return cli_fail(r, "unlock the CA key in", dir);
	}
	*ret = p;
	return 0;
}

char *cli_path_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

void cli_date(int64_t t, char buf[static 11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, 11, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 11, "?");
}
