/* SPDX-License-Identifier: Apache-2.0 */
/* The `sluice-agent enroll` verb: options, the agent lock, then agent_enroll(). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd-enroll.h"
#include "enroll.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "state.h"

static void help(void)
{
	printf("Usage: sluice-agent enroll --url https://HOST:PORT (--token TOKEN | --token-file "
	       "FILE)\n"
	       "                          [--id ID] [--hardware HW] [--force]\n\n"
	       "Enroll with a one-time token from `sluice-controlplane enroll-token create`:\n"
	       "generate a key, trust the control plane only through the server CA fingerprint\n"
	       "in the token, exchange the token and a CSR for a certificate, and install the\n"
	       "identity like `provision` does. --token-file reads the token from FILE ('-' for\n"
	       "standard input) so that it does not appear in the process list. ID defaults to\n"
	       "[device] id of the configuration, then the host name (a token bound to an id\n"
	       "overrides it); HW to [device] hardware.\n");
}

/* The token from a file or stdin: one line, trailing white space removed. */
static int read_token(const char *path, char buf[static AGENT_ENROLL_TOKEN_LEN + 2])
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	int r;

	if (strcmp(path, "-") == 0)
		r = sl_read_fd(STDIN_FILENO, AGENT_ENROLL_TOKEN_LEN + 64, &data, &len);
	else
		r = sl_read_file_at(AT_FDCWD, path, AGENT_ENROLL_TOKEN_LEN + 64, &data, &len);
	if (r < 0)
		return sl_error(r, "%s: cannot read the token: %s", path, sl_strerror(r));
	while (len > 0 && strchr(" \t\r\n", data[len - 1]))
		len--;
	if (len > AGENT_ENROLL_TOKEN_LEN)
		return sl_error(SL_E_INVALID, "%s: not a token", path);
	memcpy(buf, data, len);
	buf[len] = '\0';
	explicit_bzero(data, len);
	return 0;
}

int agent_cmd_enroll(const struct agent_config *cfg, int argc, char **argv)
{
	static const struct option options[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"id", required_argument, NULL, 'i'},
	    {"hardware", required_argument, NULL, 'w'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct agent_enroll_options o = {.id = cfg->device_id, .hardware = cfg->hardware};
	const char *token_file = NULL;
	char token[AGENT_ENROLL_TOKEN_LEN + 2], host[AGENT_ID_MAX + 2] = "", id[AGENT_ID_MAX + 1];
	_cleanup_close_ int lock = -1;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'u':
			o.url = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'T':
			token_file = optarg;
			break;
		case 'i':
			o.id = optarg;
			break;
		case 'w':
			o.hardware = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "sluice-agent enroll: %s: unknown or incomplete option\n",
				argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc || !o.url || !o.token == !token_file) {
		fprintf(stderr,
			"sluice-agent enroll: expects --url and one of --token, --token-file "
			"(see --help)\n");
		return 1;
	}
	if (!o.hardware) {
		fprintf(stderr, "sluice-agent enroll: --hardware HW is required (no [device] "
				"hardware configured)\n");
		return 1;
	}
	if (!o.id && gethostname(host, sizeof(host) - 1) == 0)
		o.id = host;
	r = token_file ? read_token(token_file, token) : 0;
	if (token_file)
		o.token = token;
	o.now = (int64_t)time(NULL);
	if (r >= 0)
		r = agent_lock(cfg->state_dir, &lock);
	if (r >= 0)
		r = agent_enroll(cfg->state_dir, &o, id);
	explicit_bzero(token, sizeof(token));
	if (r < 0) {
		sl_log_error(r, "Failed to enroll the device: %s", sl_error_message(r));
		return 1;
	}
	printf("enrolled as %s: identity in %s/identity\n", id, cfg->state_dir);
	return 0;
}
