/* SPDX-License-Identifier: Apache-2.0 */
/* sluice-agent: the device agent's command line (provision, status, install, boot-check, events).
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "cmd-enroll.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "events.h"
#include "install.h"
#include "log.h"
#include "progress.h"
#include "provision.h"
#include "receipt.h"
#include "release.h"
#include "state.h"
#include "status.h"

#define PROGRAM "sluice-agent"

struct globals {
	const char *config_path;
	bool config_explicit;
	const char *state_dir;
};

static struct globals g = {.config_path = AGENT_DEFAULT_CONFIG};

struct verb {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct verb *verbs_table(size_t *n);

static void help(void)
{
	size_t n;
	const struct verb *v = verbs_table(&n);

	printf("Usage: " PROGRAM " [--config FILE] [--state-dir DIR] VERB [OPTIONS]\n\n"
	       "The sluice device agent: identity, A/B installs with trial boots, models.\n\n");
	for (size_t i = 0; i < n; i++)
		printf("  %-34s %s\n", v[i].usage, v[i].summary);
	printf("\nOptions:\n"
	       "  --config FILE      configuration (default " AGENT_DEFAULT_CONFIG ")\n"
	       "  --state-dir DIR    state directory (default [agent] state_dir "
	       "or " AGENT_DEFAULT_STATE_DIR ")\n"
	       "  -h, --help         this help\n"
	       "\nExit status: 0 success, 1 failure or refusal. See sluice-agent(1).\n");
}

static _printf_(1, 2) int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROGRAM ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	return 1;
}

static int fail(int r, const char *what)
{
	sl_log_error(r, "Failed to %s: %s", what, sl_error_message(r));
	return 1;
}

/* The configuration, the state directory and the imported identity's settings. */
static int load_config(struct agent_config *cfg, bool for_install)
{
	int r;

	agent_config_init(cfg);
	r = agent_config_load(g.config_path, cfg);
	if (r == -ENOENT && g.config_explicit)
		return sl_error(r, "%s: no such file", g.config_path);
	if (r < 0 && r != -ENOENT)
		return r;
	if (g.state_dir) {
		free(cfg->state_dir);
		cfg->state_dir = strdup(g.state_dir);
	} else if (!cfg->state_dir)
		cfg->state_dir = strdup(AGENT_DEFAULT_STATE_DIR);
	if (!cfg->state_dir)
		return -ENOMEM;
	r = agent_identity_load_config(cfg->state_dir, cfg);
	if (r < 0 && r != -ENOENT)
		return r;
	if (for_install)
		return agent_config_validate_install(cfg);
	return 0;
}

/* Parse "--json" / "--force" style flags and positionals of a verb. */
struct verb_opts {
	bool json, force, help;
	const char *from, *release;
	unsigned max;
	char *pos[2];
	int n_pos;
};

static int parse_verb(int argc, char **argv, struct verb_opts *o, int max_pos)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"force", no_argument, NULL, 'f'},
	    {"from", required_argument, NULL, 'F'},
	    {"release", required_argument, NULL, 'r'},
	    {"max", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	*o = (struct verb_opts){.max = 50};
	optind = 0; /* re-initialise getopt for the verb's own argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'F':
			o->from = optarg;
			break;
		case 'r':
			o->release = optarg;
			break;
		case 'm':
			o->max = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			o->help = true;
			break;
		default:
			return usage_error("%s: unknown or incomplete option", argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) {
		if (o->n_pos == max_pos)
			return usage_error("unexpected argument '%s'", argv[optind]);
		o->pos[o->n_pos++] = argv[optind];
	}
	return 0;
}

/* ---- progress ---- */

static void pr_begin(void *u, const char *label, uint64_t total)
{
	sl_progress_begin(u, label, total);
}

static void pr_add(void *u, uint64_t n)
{
	sl_progress_add(u, n);
}

static void pr_end(void *u)
{
	sl_progress_end(u);
}

/* ---- verbs ---- */

static int verb_provision(int argc, char **argv)
{
	struct agent_config cfg;
	struct verb_opts o;
	_cleanup_close_ int lock = -1;
	int r;

	if (parse_verb(argc, argv, &o, 1))
		return 1;
	if (o.help || o.n_pos != 1)
		return o.help ? (printf("Usage: " PROGRAM " provision DIR [--force]\n"), 0)
			      : usage_error("%s: expects the medium's directory", "provision");
	r = load_config(&cfg, false);
	if (r >= 0)
		r = agent_lock(cfg.state_dir, &lock);
	if (r >= 0)
		r = agent_provision(cfg.state_dir, o.pos[0], o.force, (int64_t)time(NULL));
	if (r < 0) {
		agent_config_clear(&cfg);
		return fail(r, "provision the device");
	}
	printf("provisioned %s/identity from %s\n", cfg.state_dir, o.pos[0]);
	agent_config_clear(&cfg);
	return 0;
}

static int verb_status(int argc, char **argv)
{
	struct agent_config cfg;
	struct verb_opts o;
	int r;

	if (parse_verb(argc, argv, &o, 0))
		return 1;
	if (o.help)
		return printf("Usage: " PROGRAM " status [--json]\n"), 0;
	r = load_config(&cfg, false);
	if (r >= 0)
		r = agent_status_print(&cfg, (int64_t)time(NULL), o.json, stdout);
	agent_config_clear(&cfg);
	return r < 0 ? fail(r, "read the status") : 0;
}

static int verb_events(int argc, char **argv)
{
	struct agent_config cfg;
	struct verb_opts o;
	int r;

	if (parse_verb(argc, argv, &o, 0))
		return 1;
	if (o.help)
		return printf("Usage: " PROGRAM " events [--json] [--max N]\n"), 0;
	r = load_config(&cfg, false);
	if (r >= 0)
		r = agent_events_list(cfg.state_dir, o.max, o.json, stdout);
	agent_config_clear(&cfg);
	return r < 0 ? fail(r, "list the events") : 0;
}

static int report_outcome(enum agent_outcome out, const char *release)
{
	switch (out) {
	case AGENT_OUTCOME_NOOP:
		printf("release %s is installed already: nothing to do\n", release ? release : "");
		break;
	case AGENT_OUTCOME_REBOOT:
		printf("slot switched: reboot to try the new release\n");
		break;
	default:
		printf("%s\n", agent_outcome_name(out));
	}
	return 0;
}

static int install_from(struct agent_config *cfg, const struct verb_opts *o)
{
	char dir[PATH_MAX];
	_cleanup_free_ char *url = NULL, *receipts = NULL;
	_cleanup_close_ int lock = -1;
	struct agent_boot *boot = NULL;
	struct agent_repo *repo = NULL;
	struct sl_progress pr = {};
	struct agent_ctx c = {.cfg = cfg,
			      .state_dir = cfg->state_dir,
			      .source = "offline",
			      .progress = {pr_begin, pr_add, pr_end, &pr}};
	struct agent_install st = {};
	enum agent_outcome out = AGENT_OUTCOME_NOTHING;
	char saved[512] = "";
	int r, k;

	if (!realpath(o->from, dir))
		return sl_error(-errno, "%s: %s", o->from, strerror(errno));
	receipts = agent_path(dir, "receipts");
	if (!receipts)
		return -ENOMEM;
	r = agent_lock(cfg->state_dir, &lock);
	if (r < 0)
		return r;
	r = agent_boot_open(cfg, &boot);
	if (r >= 0)
		r = agent_dir_url(dir, &url);
	if (r >= 0)
		r = agent_repo_open(cfg->state_dir, url, NULL, &repo);
	if (r >= 0) {
		c.boot = boot;
		(void)agent_receipts_flush(cfg->state_dir, receipts);
		r = agent_install_run(&c, repo, o->release, &out);
		if (r < 0)
			snprintf(saved, sizeof(saved), "%s: %s", sl_error_name(r),
				 sl_error_message(r));
		/* The receipt goes back on the medium, whatever happened. */
		k = agent_install_load(cfg->state_dir, &st);
		if (k >= 0)
			k = agent_receipt_write(cfg->state_dir, cfg, receipts,
						r < 0 && out == AGENT_OUTCOME_NOTHING
						    ? "refused"
						    : agent_outcome_name(out),
						&st, r < 0 ? saved : NULL);
		if (k < 0)
			sl_log_warning("Failed to write a receipt to %s: %s", receipts,
				       sl_error_message(k));
		if (r >= 0)
			report_outcome(out, st.release);
		agent_install_clear(&st);
		if (r < 0)
			sl_error(r, "%s", strchr(saved, ':') ? strchr(saved, ':') + 2 : saved);
	}
	agent_repo_free(repo);
	agent_boot_free(boot);
	return r;
}

static int verb_install(int argc, char **argv)
{
	struct agent_config cfg;
	struct verb_opts o;
	int r;

	if (parse_verb(argc, argv, &o, 0))
		return 1;
	if (o.help)
		return printf("Usage: " PROGRAM " install --from DIR [--release R]\n"), 0;
	if (!o.from)
		return usage_error(
		    "%s: --from DIR is required (online installs come with the daemon)", "install");
	r = load_config(&cfg, true);
	if (r >= 0 && cfg.airgap)
		sl_log_info("air-gap mode: reading %s only, no network", o.from);
	if (r >= 0)
		r = install_from(&cfg, &o);
	agent_config_clear(&cfg);
	return r < 0 ? fail(r, "install") : 0;
}

static int verb_run(int argc, char **argv)
{
	struct agent_config cfg;
	bool once = argc == 2 && !strcmp(argv[1], "--once");
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return printf("Usage: " PROGRAM " run [--once]\n"), 0;
	if (argc > 2 || (argc == 2 && !once))
		return usage_error("%s: unexpected argument '%s'", "run", argv[argc - 1]);
	r = load_config(&cfg, true);
	if (r >= 0)
		r = agent_daemon_run(&cfg, once);
	agent_config_clear(&cfg);
	return r < 0 ? fail(r, once ? "run one cycle" : "run the agent") : 0;
}

static int verb_boot_check(int argc, char **argv)
{
	struct agent_config cfg;
	struct verb_opts o;
	_cleanup_close_ int lock = -1;
	struct agent_boot *boot = NULL;
	enum agent_outcome out = AGENT_OUTCOME_NOTHING;
	struct agent_ctx c = {.cfg = &cfg};
	int r;

	if (parse_verb(argc, argv, &o, 0))
		return 1;
	if (o.help)
		return printf("Usage: " PROGRAM " boot-check\n"), 0;
	r = load_config(&cfg, true);
	c.state_dir = cfg.state_dir;
	if (r >= 0)
		r = agent_lock(cfg.state_dir, &lock);
	if (r >= 0)
		r = agent_boot_open(&cfg, &boot);
	if (r >= 0) {
		c.boot = boot;
		r = agent_boot_check_run(&c, &out);
	}
	if (out == AGENT_OUTCOME_COMMITTED || out == AGENT_OUTCOME_ROLLED_BACK) {
		struct agent_install st;
		_cleanup_free_ char *queue = agent_path(cfg.state_dir, "receipts");

		/* Offline installs report their final outcome on the next medium. */
		if (queue && agent_install_load(cfg.state_dir, &st) >= 0) {
			if (st.source && !strcmp(st.source, "offline"))
				(void)agent_receipt_write(cfg.state_dir, &cfg, queue,
							  agent_outcome_name(out), &st, NULL);
			agent_install_clear(&st);
		}
	}
	agent_boot_free(boot);
	if (r >= 0 || out == AGENT_OUTCOME_ROLLED_BACK)
		printf("%s\n", agent_outcome_name(out));
	if (r < 0) {
		fail(r,
		     out == AGENT_OUTCOME_ROLLED_BACK ? "commit the trial boot" : "check the boot");
		agent_config_clear(&cfg);
		return 1;
	}
	agent_config_clear(&cfg);
	return 0;
}

static int verb_enroll(int argc, char **argv)
{
	struct agent_config cfg;
	int r = load_config(&cfg, false);

	if (r < 0) {
		agent_config_clear(&cfg);
		return fail(r, "read the configuration");
	}
	r = agent_cmd_enroll(&cfg, argc, argv);
	agent_config_clear(&cfg);
	return r;
}

static const struct verb verbs[] = {
    {"provision", "provision DIR [--force]", "import a provisioning medium", verb_provision},
    {"status", "status [--json]", "identity, root, slots, install state, models", verb_status},
    {"install", "install --from DIR [--release R]", "install a release from a USB repository",
     verb_install},
    {"boot-check", "boot-check", "after boot: trial health checks, commit or roll back",
     verb_boot_check},
    {"events", "events [--json] [--max N]", "the local event queue", verb_events},
    {"enroll", "enroll --url URL --token TOKEN", "get an identity with a one-time token",
     verb_enroll},
    {"run", "run [--once]", "the daemon: check in, install, send events (--once: one cycle)",
     verb_run},
};

static const struct verb *verbs_table(size_t *n)
{
	*n = ELEMENTSOF(verbs);
	return verbs;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	sl_log_set_ident(PROGRAM);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			g.config_path = optarg;
			g.config_explicit = true;
			break;
		case 's':
			g.state_dir = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			return usage_error("%s: unknown or incomplete option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "a verb is required");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (!strcmp(argv[optind], verbs[i].name))
			return verbs[i].run(argc - optind, argv + optind);
	return usage_error("unknown verb '%s'", argv[optind]);
}
