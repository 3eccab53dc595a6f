/* SPDX-License-Identifier: Apache-2.0 */
/* `sluice-controlplane serve`: options and config file, start-up summary, then the server. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cmd-serve.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "server.h"

#define SUMMARY_METADATA_MAX (8u << 20)

/* Everything that came from the command line or the config file (strings owned). */
struct serve_opts {
	struct cp_server_config cfg;
	char *dir, *metrics, *cert, *key, *client_ca, *crl, *enroll_dir;
	char *listen[CP_LISTEN_MAX];
	size_t n_listen;
	bool listen_from_cli;
};

static void serve_opts_done(struct serve_opts *o)
{
	free(o->dir);
	free(o->metrics);
	free(o->cert);
	free(o->key);
	free(o->client_ca);
	free(o->crl);
	free(o->enroll_dir);
	for (size_t i = 0; i < o->n_listen; i++)
		free(o->listen[i]);
}

enum {
	OPT_LISTEN = 0x100, OPT_METRICS, OPT_CERT, OPT_KEY, OPT_CLIENT_CA, OPT_CRL, OPT_THREADS,
	OPT_CONFIG, OPT_AIRGAP, OPT_HANDSHAKE_TO, OPT_HEADER_TO, OPT_BODY_TO, OPT_IDLE_TO,
	OPT_WRITE_TO, OPT_DRAIN_TO, OPT_RENEW, OPT_AUDIT_FLUSH, OPT_MAX_CONN, OPT_MAX_PER_IP,
	OPT_VERBOSE,
};

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "dir", required_argument, NULL, 'd' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "client-ca", required_argument, NULL, OPT_CLIENT_CA },
	{ "crl", required_argument, NULL, OPT_CRL },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "airgap", no_argument, NULL, OPT_AIRGAP },
	{ "handshake-timeout-ms", required_argument, NULL, OPT_HANDSHAKE_TO },
	{ "header-timeout-ms", required_argument, NULL, OPT_HEADER_TO },
	{ "body-timeout-ms", required_argument, NULL, OPT_BODY_TO },
	{ "idle-timeout-ms", required_argument, NULL, OPT_IDLE_TO },
	{ "write-timeout-ms", required_argument, NULL, OPT_WRITE_TO },
	{ "drain-timeout-ms", required_argument, NULL, OPT_DRAIN_TO },
	{ "renew-interval-s", required_argument, NULL, OPT_RENEW },
	{ "audit-flush-ms", required_argument, NULL, OPT_AUDIT_FLUSH },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
	{ "max-conns-per-ip", required_argument, NULL, OPT_MAX_PER_IP },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{}
};

static void usage(void)
{
	printf("Usage: sluice-controlplane serve --dir STATE [options]\n"
	       "Serve the TUF repository and the device API over mutual TLS.\n\n"
	       "  -d, --dir STATE              state directory (sluice-controlplane init)\n"
	       "      --listen ADDR:PORT       mTLS listener, repeatable (default 0.0.0.0:8443;\n"
	       "                               [::]:8443 for IPv6)\n"
	       "      --metrics ADDR:PORT      Prometheus listener, loopback only (127.0.0.1:9690)\n"
	       "      --cert/--key FILE        server certificate and key (STATE/tls/server.*)\n"
	       "      --client-ca FILE         device CA (STATE/tls/device-ca.pem)\n"
	       "      --crl FILE               device CA's CRL (STATE/tls/crl.pem)\n"
	       "      --threads N              event loops (default: number of CPUs)\n"
	       "      --config FILE            INI file with the same keys ([serve] section)\n"
	       "      --airgap                 air-gap mode (also SLUICE_AIRGAP=1)\n"
	       "      --handshake-timeout-ms, --header-timeout-ms, --body-timeout-ms,\n"
	       "      --idle-timeout-ms, --write-timeout-ms, --drain-timeout-ms MS\n"
	       "      --renew-interval-s S     how often to check timestamp renewal (60)\n"
	       "      --audit-flush-ms MS      refused handshakes: one aggregated audit row per\n"
	       "                               MS at most (60000)\n"
	       "      --max-connections N      open connections in all (20000)\n"
	       "      --max-conns-per-ip N     open connections per client address (64)\n"
	       "      --verbose                debug logging\n"
	       "SIGHUP reloads certificates and the CRL; SIGTERM drains and exits 0.\n");
}

static int parse_uint(const char *name, const char *v, uint64_t min, uint64_t max,
		      uint64_t *ret)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		return sl_error(SL_E_CONFIG, "%s: '%s' is not a number in %llu..%llu", name, v,
				(unsigned long long)min, (unsigned long long)max);
	*ret = n;
	return 0;
}

static int parse_bool(const char *name, const char *v, bool *ret)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1")) {
		*ret = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0")) {
		*ret = false;
		return 0;
	}
	return sl_error(SL_E_CONFIG, "%s: '%s' is not a boolean", name, v);
}

static int set_str(char **field, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* Apply one option by its long name (shared by getopt and the config file). */
static int apply(struct serve_opts *o, const char *name, const char *v, bool from_cli)
{
	struct cp_server_config *c = &o->cfg;
	uint64_t n;
	int r;

	if (!strcmp(name, "dir"))
		return set_str(&o->dir, v);
	if (!strcmp(name, "listen")) {
		if (from_cli && !o->listen_from_cli) {
			/* the command line replaces the config file's listeners */
			for (size_t i = 0; i < o->n_listen; i++)
				free(o->listen[i]);
			o->n_listen = 0;
			o->listen_from_cli = true;
		}
		if (o->n_listen >= CP_LISTEN_MAX)
			return sl_error(SL_E_CONFIG, "at most %d listen addresses", CP_LISTEN_MAX);
		o->listen[o->n_listen] = NULL;
		r = set_str(&o->listen[o->n_listen], v);
		if (r >= 0)
			o->n_listen++;
		return r;
	}
	if (!strcmp(name, "metrics"))
		return set_str(&o->metrics, v);
	if (!strcmp(name, "cert"))
		return set_str(&o->cert, v);
	if (!strcmp(name, "key"))
		return set_str(&o->key, v);
	if (!strcmp(name, "client-ca"))
		return set_str(&o->client_ca, v);
	if (!strcmp(name, "crl"))
		return set_str(&o->crl, v);
	if (!strcmp(name, "airgap"))
		return parse_bool(name, v, &c->airgap);
	if (!strcmp(name, "verbose")) {
		bool b;

		r = parse_bool(name, v, &b);
		if (r >= 0 && b)
			sl_log_set_level(SL_LOG_DEBUG);
		return r;
	}
#define NUM(key, field, min, max)                                                                  \
	if (!strcmp(name, key)) {                                                                  \
		r = parse_uint(name, v, min, max, &n);                                             \
		if (r >= 0)                                                                        \
			c->field = (__typeof__(c->field))n;                                        \
		return r;                                                                          \
	}
	NUM("threads", threads, 1, CP_THREADS_MAX)
	NUM("handshake-timeout-ms", handshake_timeout_ms, 1, 3600000)
	NUM("header-timeout-ms", header_timeout_ms, 1, 3600000)
	NUM("body-timeout-ms", body_timeout_ms, 1, 3600000)
	NUM("idle-timeout-ms", idle_timeout_ms, 1, 86400000)
	NUM("write-timeout-ms", write_timeout_ms, 1, 3600000)
	NUM("drain-timeout-ms", drain_timeout_ms, 0, 3600000)
	NUM("audit-flush-ms", audit_flush_ms, 100, 86400000)
	NUM("max-connections", max_connections, 1, 10000000)
	NUM("max-conns-per-ip", max_conns_per_ip, 1, 10000000)
#undef NUM
	if (!strcmp(name, "renew-interval-s")) {
		r = parse_uint(name, v, 1, 86400, &n);
		if (r >= 0)
			c->renew_interval_ms = n * 1000;
		return r;
	}
	return sl_error(SL_E_CONFIG, "unknown key '%s'", name);
}

struct ini_ctx {
	struct serve_opts *o;
	int error;
};

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	int r;

	if (section[0] && strcmp(section, "serve") != 0)
		return 1; /* other verbs' sections */
	r = apply(ctx->o, name, value, false);
	if (r < 0) {
		ctx->error = r;
		return 0;
	}
	return 1;
}

static int load_config(struct serve_opts *o, const char *path)
{
	struct ini_ctx ctx = { .o = o };
	int line = ini_parse(path, config_handler, &ctx);

	if (line == -1)
		return sl_error(-errno ?: -ENOENT, "cannot open config '%s'", path);
	if (ctx.error < 0)
		return sl_error(ctx.error, "%s:%d: %s", path, line, sl_error_message(ctx.error));
	if (line != 0)
		return sl_error(SL_E_CONFIG, "%s:%d: syntax error", path, line);
	return 0;
}

static int parse_args(struct serve_opts *o, int argc, char **argv)
{
	int c, r;

	/* the config file first, so that the command line overrides it */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hd:", options, NULL)) != -1)
		if (c == OPT_CONFIG) {
			r = load_config(o, optarg);
			if (r < 0)
				return r;
		}
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "hd:", options, NULL)) != -1) {
		const char *name = NULL;

		switch (c) {
		case 'h':
			usage();
			return 1;
		case 'd':
			name = "dir";
			break;
		case OPT_CONFIG:
			continue;
		case OPT_AIRGAP:
			o->cfg.airgap = true;
			continue;
		case OPT_VERBOSE:
			sl_log_set_level(SL_LOG_DEBUG);
			continue;
		case '?':
			return sl_error(SL_E_CONFIG, "bad option (see --help)");
		default:
			for (const struct option *opt = options; opt->name; opt++)
				if (opt->val == c)
					name = opt->name;
			break;
		}
		r = apply(o, name, optarg, true);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return sl_error(SL_E_CONFIG, "unexpected argument '%s'", argv[optind]);
	if (!o->dir)
		return sl_error(SL_E_CONFIG, "--dir STATE is required");
	return 0;
}

static int default_path(char **field, const char *dir, const char *name)
{
	if (*field)
		return 0;
	if (asprintf(field, "%s/tls/%s", dir, name) < 0) {
		*field = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int finish_config(struct serve_opts *o)
{
	struct cp_server_config *c = &o->cfg;
	const char *env = getenv("SLUICE_AIRGAP");
	int r;

	if (env && strcmp(env, "1") == 0)
		c->airgap = true;
	if (o->n_listen == 0 && apply(o, "listen", "0.0.0.0:8443", false) < 0)
		return -ENOMEM;
	if (!o->metrics && set_str(&o->metrics, "127.0.0.1:9690") < 0)
		return -ENOMEM;
	r = default_path(&o->cert, o->dir, "server.crt");
	if (r >= 0)
		r = default_path(&o->key, o->dir, "server.key");
	if (r >= 0)
		r = default_path(&o->client_ca, o->dir, "device-ca.pem");
	if (r >= 0)
		r = default_path(&o->crl, o->dir, "crl.pem");
	if (r >= 0)
		r = default_path(&o->enroll_dir, o->dir, ".");
	if (r < 0)
		return r;
	c->state_dir = o->dir;
	for (size_t i = 0; i < o->n_listen; i++)
		c->listen[i] = o->listen[i];
	c->n_listen = o->n_listen;
	c->metrics_addr = o->metrics;
	c->tls = (struct cp_tls_paths){ o->cert, o->key, o->client_ca, o->crl, o->enroll_dir };
	return 0;
}

/* ---- start-up summary ---- */

static void fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, size, "never");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* version and expiry of one metadata file; 0 when it cannot be read */
static int64_t role_info(int dirfd, const char *name, char *expires, size_t size,
			 const char *meta_key, int64_t *ret_meta_version)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct json_object *root, *signed_, *v, *meta, *m;
	int64_t version = 0;
	size_t len;

	snprintf(expires, size, "?");
	if (sl_read_file_at(dirfd, name, SUMMARY_METADATA_MAX, &buf, &len) < 0)
		return 0;
	root = json_tokener_parse((const char *)buf);
	if (!root)
		return 0;
	if (json_object_object_get_ex(root, "signed", &signed_)) {
		if (json_object_object_get_ex(signed_, "version", &v))
			version = json_object_get_int64(v);
		if (json_object_object_get_ex(signed_, "expires", &v))
			snprintf(expires, size, "%s", json_object_get_string(v));
		if (meta_key && json_object_object_get_ex(signed_, "meta", &meta) &&
		    json_object_object_get_ex(meta, meta_key, &m) &&
		    json_object_object_get_ex(m, "version", &v))
			*ret_meta_version = json_object_get_int64(v);
	}
	json_object_put(root);
	return version;
}

static int64_t newest_root(int dirfd)
{
	DIR *d = fdopendir(dup(dirfd));
	struct dirent *de;
	int64_t best = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long long n = strtoll(de->d_name, &end, 10);

		if (n > best && strcmp(end, ".root.json") == 0)
			best = n;
	}
	closedir(d);
	return best;
}

static void log_repository(const char *metadata_dir)
{
	_cleanup_close_ int fd = open(metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char ts_exp[64], sn_exp[64], tg_exp[64], root_exp[64], name[64];
	int64_t snap_v = 0, targets_v = 0, ts_v, root_v, ign;

	if (fd < 0) {
		sl_log_warning("repository: cannot open '%s': %s", metadata_dir, strerror(errno));
		return;
	}
	ts_v = role_info(fd, "timestamp.json", ts_exp, sizeof(ts_exp), "snapshot.json", &snap_v);
	if (ts_v == 0) {
		sl_log_info("repository: nothing published yet (no timestamp.json)");
		return;
	}
	snprintf(name, sizeof(name), "%lld.snapshot.json", (long long)snap_v);
	role_info(fd, name, sn_exp, sizeof(sn_exp), "targets.json", &targets_v);
	snprintf(name, sizeof(name), "%lld.targets.json", (long long)targets_v);
	role_info(fd, name, tg_exp, sizeof(tg_exp), NULL, &ign);
	root_v = newest_root(fd);
	snprintf(name, sizeof(name), "%lld.root.json", (long long)root_v);
	role_info(fd, name, root_exp, sizeof(root_exp), NULL, &ign);
	sl_log_info("repository: root v%lld (expires %s), targets v%lld (expires %s), "
		    "snapshot v%lld (expires %s), timestamp v%lld (expires %s)",
		    (long long)root_v, root_exp, (long long)targets_v, tg_exp, (long long)snap_v,
		    sn_exp, (long long)ts_v, ts_exp);
}

static void log_tls(const struct cp_server_config *c, const struct cp_tls_info *info)
{
	char exp[64], next[64];
	int64_t now = (int64_t)time(NULL);

	fmt_time(info->server_not_after, exp, sizeof(exp));
	fmt_time(info->crl_next_update, next, sizeof(next));
	sl_log_info("tls: server %s valid until %s (%lld days left); device CA: %zu certificate(s) "
		    "from %s; CRL: %zu revoked, next update %s; TLS 1.2+, client certificate "
		    "required",
		    info->server_subject, exp, (long long)((info->server_not_after - now) / 86400),
		    info->client_cas, c->tls.client_ca, info->crl_revoked, next);
	if (info->enrollment)
		sl_log_info("tls: token enrollment on (%s/enroll-ca.crt): clients without a "
			    "certificate may reach POST /v1/enroll only", c->tls.enroll_dir);
	if (info->crl_next_update && info->crl_next_update < now)
		sl_log_warning("tls: the CRL's next update (%s) has passed: OpenSSL refuses every "
			       "device until a fresh CRL is installed (SIGHUP)", next);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void ssl_ctx_freep(SSL_CTX **p)
{
	SSL_CTX_free(*p);
}

static int prepare_state(const struct cp_server_config *c)
{
	struct cp_state *s = NULL;
	int r = cp_state_open(c->state_dir, &s);

	if (r < 0)
		return sl_log_error(r, "Failed to open state '%s': %s", c->state_dir,
				    sl_error_message(r));
	r = cp_repo_renew_if_needed(s, (int64_t)time(NULL));
	if (r < 0)
		sl_log_warning("repository: renewal failed: %s", sl_error_message(r));
	else if (r > 0)
		sl_log_info("repository: renewed timestamp (and snapshot when due) at start-up");
	log_repository(cp_state_metadata_dir(s));
	cp_state_free(s);
	return 0;
}

int cp_cmd_serve(int argc, char **argv)
{
	struct serve_opts o = {};
	_cleanup_(ssl_ctx_freep) SSL_CTX *ctx = NULL;
	struct cp_tls_info info;
	char threads[16];
	int r;

	cp_server_config_defaults(&o.cfg);
	r = parse_args(&o, argc, argv);
	if (r == 0)
		r = finish_config(&o);
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "serve: %s\n", sl_error_message(r));
		serve_opts_done(&o);
		return r > 0 ? 0 : 1;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	snprintf(threads, sizeof(threads), "%u", o.cfg.threads < 4 ? 4 : o.cfg.threads);
	setenv("UV_THREADPOOL_SIZE", threads, 0);

	if (o.cfg.airgap)
		sl_log_info("air-gap mode: on; this process opens no outbound connection (no "
			    "OCSP, no CRL download, no time sync, no telemetry): it only accepts "
			    "on the listeners below");
	else
		sl_log_info("air-gap mode: off; the control plane opens no outbound connection "
			    "in any mode");
	r = prepare_state(&o.cfg);
	if (r < 0)
		goto out;
	r = cp_tls_ctx_new(&o.cfg.tls, &ctx, &info);
	if (r < 0) {
		sl_log_error(r, "Failed to set up TLS: %s", sl_error_message(r));
		goto out;
	}
	log_tls(&o.cfg, &info);
	r = cp_server_run(&o.cfg, ctx);
	if (r < 0)
		sl_log_error(r, "Failed to serve: %s", sl_error_message(r));
out:
	serve_opts_done(&o);
	return r < 0 ? 1 : 0;
}
