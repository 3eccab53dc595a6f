/* SPDX-License-Identifier: Apache-2.0 */
/* The install state machine: every transition persisted before it is acted on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "events.h"
#include "exec.h"
#include "fileio.h"
#include "facts.h"
#include "install.h"
#include "model.h"
#include "slot.h"
#include "util.h"

#define COMMAND_TIMEOUT_S 300 /* reload and smoke test commands */
#define REBOOT_TIMEOUT_S 60

static const char *const outcome_names[] = {
    [AGENT_OUTCOME_NOTHING] = "nothing",     [AGENT_OUTCOME_NOOP] = "noop",
    [AGENT_OUTCOME_REBOOT] = "reboot",	     [AGENT_OUTCOME_PENDING] = "pending",
    [AGENT_OUTCOME_COMMITTED] = "committed", [AGENT_OUTCOME_ROLLED_BACK] = "rolled_back",
    [AGENT_OUTCOME_FAILED] = "failed",
};

const char *agent_outcome_name(enum agent_outcome o)
{
	return outcome_names[o];
}

void agent_test_pause(enum agent_phase phase)
{
	const char *p = getenv("SLUICE_AGENT_TEST_PAUSE");

	if (p && !strcmp(p, agent_phase_name(phase)))
		raise(SIGSTOP);
}

/* Persist the transition to phase, append its event, then honour the test hook. */
static int transition(struct agent_ctx *c, struct agent_install *st, enum agent_phase phase)
{
	int r;

	st->phase = phase;
	r = agent_install_save(c->state_dir, st);
	if (r < 0)
		return r;
	/* The state file is the truth; a lost event is re-sent by the next transition's report. */
	(void)agent_events_append(
	    c->state_dir, st->release, agent_phase_name(phase),
	    phase == AGENT_PHASE_FAILED || phase == AGENT_PHASE_ROLLED_BACK ? st->error : NULL);
	agent_test_pause(phase);
	return 0;
}

/* Record error code and move to phase (failed or rolled_back); returns code. */
static int finish_with_error(struct agent_ctx *c, struct agent_install *st, enum agent_phase phase,
			     int code)
{
	char saved[512];
	int r;

	snprintf(saved, sizeof(saved), "%s", sl_error_message(code));
	r = agent_install_set_error(st, code);
	if (r >= 0)
		r = transition(c, st, phase);
	sl_error(code, "%s", saved);
	return r < 0 ? r : code;
}

static bool has_image(const struct agent_install *st)
{
	for (size_t i = 0; i < st->n_items; i++)
		if (st->items[i].image)
			return true;
	return false;
}

static const char *slot_path(const struct agent_config *cfg, enum agent_slot s)
{
	return s == AGENT_SLOT_A ? cfg->slot_a : cfg->slot_b;
}

static void progress_begin(struct agent_ctx *c, const char *label, uint64_t total)
{
	if (c->progress.begin)
		c->progress.begin(c->progress.userdata, label, total);
}

static void progress_end(struct agent_ctx *c)
{
	if (c->progress.end)
		c->progress.end(c->progress.userdata);
}

int agent_install_reboot(struct agent_ctx *c)
{
	if (c->cfg->reboot_policy != AGENT_REBOOT_NOW)
		return 0;
	return agent_exec("reboot", c->cfg->reboot_command, NULL, REBOOT_TIMEOUT_S);
}

static int request_reboot(struct agent_ctx *c)
{
	if (c->defer_reboot)
		return 0;
	return agent_install_reboot(c);
}

/* ---- models ---- */

static int run_model_commands(struct agent_ctx *c, const struct agent_install *st)
{
	const struct agent_config *cfg = c->cfg;
	int r;

	if (cfg->reload_command) {
		_cleanup_free_ char *rel = NULL;
		char *env[] = {NULL, NULL};

		if (asprintf(&rel, "SLUICE_RELEASE=%s", st->release ? st->release : "") < 0)
			return -ENOMEM;
		env[0] = rel;
		r = agent_exec("model reload", cfg->reload_command, env, COMMAND_TIMEOUT_S);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; cfg->smoke_test_command && i < st->n_items; i++) {
		const struct agent_item *it = &st->items[i];
		_cleanup_free_ char *file = NULL, *e1 = NULL, *e2 = NULL, *e3 = NULL;

		if (it->image)
			continue;
		file = agent_model_file_path(cfg->models_dir, it);
		if (!file || asprintf(&e1, "SLUICE_MODEL=%s", it->model) < 0 ||
		    asprintf(&e2, "SLUICE_MODEL_PATH=%s/%s/current/%s", cfg->models_dir, it->model,
			     it->file) < 0 ||
		    asprintf(&e3, "SLUICE_RELEASE=%s", st->release) < 0)
			return -ENOMEM;
		char *env[] = {e1, e2, e3, NULL};
		r = agent_exec("model smoke test", cfg->smoke_test_command, env, COMMAND_TIMEOUT_S);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Point every model of st at its new (forward) or previous (back) directory. */
static int point_models(struct agent_ctx *c, const struct agent_install *st, bool forward)
{
	for (size_t i = 0; i < st->n_items; i++) {
		const struct agent_item *it = &st->items[i];
		int r;

		if (it->image)
			continue;
		r = agent_model_point(c->cfg->models_dir, it->model,
				      forward ? it->sha256 : it->previous);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool has_models(const struct agent_install *st)
{
	for (size_t i = 0; i < st->n_items; i++)
		if (!st->items[i].image)
			return true;
	return false;
}

/* Swap models in and test them; on failure swap back (and reload the old ones). */
static int activate_models(struct agent_ctx *c, const struct agent_install *st)
{
	int r;

	if (!has_models(st))
		return 0;
	r = point_models(c, st, true);
	if (r >= 0)
		r = run_model_commands(c, st);
	if (r < 0) {
		char saved[512];

		snprintf(saved, sizeof(saved), "%s", sl_error_message(r));
		(void)point_models(c, st, false);
		if (c->cfg->reload_command)
			(void)agent_exec("model reload", c->cfg->reload_command, NULL,
					 COMMAND_TIMEOUT_S);
		sl_error(r, "%s", saved);
	}
	return r;
}

static void restore_models(struct agent_ctx *c, const struct agent_install *st)
{
	if (!has_models(st))
		return;
	(void)point_models(c, st, false);
	if (c->cfg->reload_command)
		(void)agent_exec("model reload", c->cfg->reload_command, NULL, COMMAND_TIMEOUT_S);
}

static int commit(struct agent_ctx *c, struct agent_install *st)
{
	char *rel = strdup(st->release), *ver = strdup(st->version ? st->version : st->release);
	int r;

	if (!rel || !ver) {
		free(rel);
		free(ver);
		return -ENOMEM;
	}
	free(st->installed_release);
	free(st->installed_version);
	st->installed_release = rel;
	st->installed_version = ver;
	free(st->error);
	st->error = NULL;
	r = transition(c, st, AGENT_PHASE_COMMITTED);
	if (r < 0)
		return r;
	/* The previous models are kept until here; a crash before this leaves them, harmlessly. */
	for (size_t i = 0; i < st->n_items; i++)
		if (!st->items[i].image && st->items[i].previous &&
		    strcmp(st->items[i].previous, st->items[i].sha256) != 0)
			(void)agent_model_remove(c->cfg->models_dir, st->items[i].model,
						 st->items[i].previous);
	return 0;
}

/* ---- planning a new install ---- */

static int plan_checks(struct agent_ctx *c, const struct agent_release *rel, enum agent_slot slot)
{
	const struct agent_config *cfg = c->cfg;
	int r;

	for (size_t i = 0; i < rel->n; i++) {
		const struct agent_rtarget *it = &rel->items[i];

		if (!strcmp(it->kind, "model")) {
			r = agent_facts_check_model(cfg, it->model, it->runtime, it->accelerator);
			if (r < 0)
				return r;
			continue;
		}
		_cleanup_close_ int fd = open(slot_path(cfg, slot), O_RDONLY | O_CLOEXEC);
		uint64_t cap;

		if (fd < 0)
			return sl_error(-errno, "slot %s (%s): %s", agent_slot_name(slot),
					slot_path(cfg, slot), strerror(errno));
		r = agent_slot_capacity(fd, slot_path(cfg, slot), it->t->length, &cap);
		if (r < 0)
			return r;
		if (cap < it->t->length)
			return sl_error(SL_E_TOO_LARGE,
					"target %s: %ju bytes do not fit slot %s (%ju bytes)",
					it->t->path, (uintmax_t)it->t->length,
					agent_slot_name(slot), (uintmax_t)cap);
	}
	return agent_model_check_space(cfg->models_dir, rel);
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int fill_items(struct agent_ctx *c, const struct agent_release *rel,
		      struct agent_install *st)
{
	agent_install_clear_items(st);
	for (size_t i = 0; i < rel->n; i++) {
		const struct agent_rtarget *rt = &rel->items[i];
		struct agent_item *it = &st->items[i];
		const struct tuf_hash_entry *sha = NULL;

		st->n_items = i + 1;
		for (size_t h = 0; h < rt->t->hashes.n; h++)
			if (rt->t->hashes.h[h].alg == TUF_HASH_SHA256)
				sha = &rt->t->hashes.h[h];
		if (!sha)
			return sl_error(TUF_E_UNSUPPORTED, "target %s: no sha256 hash",
					rt->t->path);
		sl_hex_encode(sha->digest, 32, it->sha256);
		it->length = rt->t->length;
		it->image = !strcmp(rt->kind, "image");
		it->path = strdup(rt->t->path);
		if (!it->path)
			return -ENOMEM;
		if (it->image)
			continue;
		it->model = strdup(rt->model);
		it->file = strdup(basename_of(rt->t->path));
		if (!it->model || !it->file)
			return -ENOMEM;
		if (!agent_name_is_safe(it->file))
			return sl_error(TUF_E_PATH, "target %s: unsafe file name", rt->t->path);
		int r = agent_model_current(c->cfg->models_dir, it->model, &it->previous);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *d = v ? strdup(v) : NULL;

	if (v && !d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* The release in the repository must still be the one being resumed. */
static int match_resume(const struct agent_install *st, const struct agent_release *rel)
{
	if (rel->n != st->n_items)
		return sl_error(TUF_E_STATE,
				"release %s changed in the repository since the install began",
				st->release);
	for (size_t i = 0; i < rel->n; i++) {
		char hex[65] = "";

		for (size_t h = 0; h < rel->items[i].t->hashes.n; h++)
			if (rel->items[i].t->hashes.h[h].alg == TUF_HASH_SHA256)
				sl_hex_encode(rel->items[i].t->hashes.h[h].digest, 32, hex);
		if (strcmp(rel->items[i].t->path, st->items[i].path) ||
		    strcmp(hex, st->items[i].sha256))
			return sl_error(TUF_E_STATE,
					"release %s: target %s changed in the repository since the "
					"install began",
					st->release, st->items[i].path);
	}
	return 0;
}

/* ---- the phases ---- */

struct write_ctx {
	struct agent_ctx *c;
	struct agent_install *st;
};

/* On the stream's writer thread, once [0, off) is durable; the calling thread only receives. */
static int checkpoint(void *userdata, uint64_t off)
{
	struct write_ctx *w = userdata;
	const char *pause = getenv("SLUICE_AGENT_TEST_PAUSE");
	int r;

	w->st->written = off;
	r = agent_install_save(w->c->state_dir, w->st);
	if (r < 0)
		return r;
	if (pause && !strcmp(pause, "checkpoint"))
		raise(SIGSTOP);
	if (w->c->cancel && *w->c->cancel)
		return sl_error(-ECANCELED, "download of slot %s stopped at %ju bytes (resumable)",
				agent_slot_name(w->st->slot), (uintmax_t)off);
	return 0;
}

static void progress_add(void *userdata, uint64_t n)
{
	struct agent_ctx *c = userdata;

	if (c->progress.add)
		c->progress.add(c->progress.userdata, n);
}

static int write_image(struct agent_ctx *c, struct agent_repo *repo, struct agent_install *st,
		       const struct tuf_target *t)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;
	_cleanup_free_ char *url = NULL;
	_cleanup_close_ int fd = -1;
	const char *path = slot_path(c->cfg, st->slot);
	struct write_ctx w = {c, st};
	struct agent_stream s = {.checkpoint = checkpoint,
				 .checkpoint_userdata = &w,
				 .checkpoint_ms = AGENT_CHECKPOINT_MS,
				 .progress = progress_add,
				 .progress_userdata = c};
	uint64_t cap;
	int r;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sl_error(-errno, "slot %s (%s): %s", agent_slot_name(st->slot), path,
				strerror(errno));
	r = agent_slot_capacity(fd, path, t->length, &cap);
	if (r < 0)
		return r;
	if (cap < t->length)
		return sl_error(SL_E_TOO_LARGE, "target %s does not fit slot %s", t->path, path);
	r = tuf_target_check_new(t, &chk);
	if (r < 0)
		return r;
	if (st->written > t->length)
		st->written = 0;
	progress_begin(c, t->path, t->length);
	/* Resume: the synced prefix goes through the check again before new bytes follow it. */
	r = agent_hash_fd(fd, st->written, chk, progress_add, c);
	s.fd = fd;
	s.check = chk;
	s.off = st->written;
	if (r >= 0)
		r = tuf_updater_target_url(repo->updater, t, &url);
	if (r >= 0)
		r = agent_stream_fetch(repo->fetcher, url, t->length, &s);
	if (r >= 0)
		r = tuf_target_check_final(chk);
	progress_end(c);
	if (r < 0)
		return r;
	st->written = t->length;
	return 0;
}

static int verify_image(struct agent_ctx *c, const struct agent_install *st,
			const struct tuf_target *t)
{
	_cleanup_(tuf_target_check_freep) struct tuf_target_check *chk = NULL;
	_cleanup_close_ int fd = -1;
	const char *path = slot_path(c->cfg, st->slot);
	struct tuf_target reread;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sl_error(-errno, "slot %s (%s): %s", agent_slot_name(st->slot), path,
				strerror(errno));
	/*
	 * Every TUF hash was checked on the bytes as they were downloaded; this pass only has to
	 * prove that the slot still holds those bytes, for which one strong hash is enough.
	 * SHA-256 is used when the target lists it (it is twice as fast as SHA-512 here). The
	 * bytes are what the slot device returns (O_DIRECT, or with the page cache dropped), not
	 * the copy in memory: a write the device lost or changed is caught before the switch.
	 */
	reread = *t;
	for (size_t i = 0; i < t->hashes.n; i++)
		if (t->hashes.h[i].alg == TUF_HASH_SHA256) {
			reread.hashes.h[0] = t->hashes.h[i];
			reread.hashes.n = 1;
			break;
		}
	r = tuf_target_check_new(&reread, &chk);
	if (r < 0)
		return r;
	progress_begin(c, "verifying", t->length);
	r = agent_hash_fd(fd, t->length, chk, progress_add, c);
	if (r >= 0)
		r = tuf_target_check_final(chk);
	progress_end(c);
	if (r < 0)
		return sl_error(r, "slot %s after writing: %s", agent_slot_name(st->slot),
				sl_error_message(r));
	return 0;
}

static const struct tuf_target *target_of(const struct agent_release *rel,
					  const struct agent_item *it)
{
	for (size_t i = 0; i < rel->n; i++)
		if (!strcmp(rel->items[i].t->path, it->path))
			return rel->items[i].t;
	return NULL;
}

/*
 * Errors that another attempt at the same release would meet again: the bytes or the signed
 * metadata are wrong, or a verified model archive cannot be unpacked (malformed: SL_E_INVALID;
 * a member type or pax keyword this agent refuses: TUF_E_UNSUPPORTED; links, unsafe names:
 * TUF_E_PATH). Everything else (I/O, network, ENOSPC) is retried from the resume point.
 */
static bool fatal_download_error(int r)
{
	return r == TUF_E_HASH || r == TUF_E_LENGTH || r == TUF_E_TOO_LARGE ||
	       r == TUF_E_NOT_FOUND || r == SL_E_TOO_LARGE || r == TUF_E_PATH ||
	       r == SL_E_INVALID || r == TUF_E_UNSUPPORTED;
}

static int phase_download(struct agent_ctx *c, struct agent_repo *repo, struct agent_install *st,
			  const struct agent_release *rel)
{
	int r = 0;

	for (size_t i = 0; i < st->n_items && r >= 0; i++) {
		const struct agent_item *it = &st->items[i];
		const struct tuf_target *t = target_of(rel, it);
		_cleanup_free_ char *url = NULL;

		if (it->image) {
			r = write_image(c, repo, st, t);
			continue;
		}
		r = tuf_updater_target_url(repo->updater, t, &url);
		if (r >= 0) {
			progress_begin(c, t->path, t->length);
			r = agent_model_stage(c->cfg->models_dir, it, repo->fetcher, url, t,
					      progress_add, c);
			progress_end(c);
		}
	}
	if (r < 0 && fatal_download_error(r))
		return finish_with_error(c, st, AGENT_PHASE_FAILED, r);
	if (r < 0)
		return r; /* transient (I/O, network): the next run resumes from the checkpoint */
	return transition(c, st, AGENT_PHASE_WRITTEN);
}

static int phase_verify(struct agent_ctx *c, struct agent_install *st,
			const struct agent_release *rel)
{
	int r = 0;

	for (size_t i = 0; i < st->n_items && r >= 0; i++) {
		const struct tuf_target *t = target_of(rel, &st->items[i]);

		if (st->items[i].image)
			r = verify_image(c, st, t);
		else
			r = agent_model_verify(c->cfg->models_dir, &st->items[i], t);
	}
	if (r < 0)
		return finish_with_error(c, st, AGENT_PHASE_FAILED, r);
	return 0;
}

/* Models-only releases: swap, test, then commit or roll back. */
static int finish_models(struct agent_ctx *c, struct agent_install *st, enum agent_outcome *ret)
{
	int r;

	r = activate_models(c, st);
	if (r < 0) {
		*ret = AGENT_OUTCOME_ROLLED_BACK;
		return finish_with_error(c, st, AGENT_PHASE_ROLLED_BACK, r);
	}
	*ret = AGENT_OUTCOME_COMMITTED;
	return commit(c, st);
}

static int start_install(struct agent_ctx *c, struct agent_install *st,
			 const struct agent_release *rel)
{
	struct agent_boot_env env;
	int r;

	if (st->installed_release && !strcmp(st->installed_release, rel->release) &&
	    st->installed_version && !strcmp(st->installed_version, rel->version))
		return 1; /* no-op */
	if (st->installed_version &&
	    agent_version_compare(rel->version, st->installed_version) < 0 && !rel->allow_downgrade)
		return sl_error(
		    TUF_E_ROLLBACK,
		    "release %s (version %s) is older than the installed %s (version %s) "
		    "and its targets do not allow a downgrade",
		    rel->release, rel->version, st->installed_release, st->installed_version);
	r = agent_boot_get(c->boot, &env);
	if (r < 0)
		return r;
	r = plan_checks(c, rel, agent_slot_other(env.booted));
	if (r < 0)
		return r;
	r = fill_items(c, rel, st);
	if (r >= 0)
		r = set_str(&st->release, rel->release);
	if (r >= 0)
		r = set_str(&st->version, rel->version);
	if (r >= 0)
		r = set_str(&st->source, c->source);
	if (r >= 0)
		r = set_str(&st->error, NULL);
	if (r < 0)
		return r;
	st->slot = agent_slot_other(env.booted);
	st->written = 0;
	r = transition(c, st, AGENT_PHASE_DOWNLOADING);
	return r < 0 ? r : 0;
}

static int run_phases(struct agent_ctx *c, struct agent_repo *repo, struct agent_install *st,
		      const struct agent_release *rel, enum agent_outcome *ret)
{
	int r;

	if (st->phase == AGENT_PHASE_DOWNLOADING) {
		r = phase_download(c, repo, st, rel);
		if (r < 0)
			return r;
	}
	if (st->phase == AGENT_PHASE_WRITTEN || st->phase == AGENT_PHASE_VERIFIED) {
		/* Hash what is stored, from the slot: catches bytes changed after they were
		 * checked. */
		r = phase_verify(c, st, rel);
		if (r < 0)
			return r;
		if (st->phase == AGENT_PHASE_WRITTEN) {
			r = transition(c, st, AGENT_PHASE_VERIFIED);
			if (r < 0)
				return r;
		}
	}
	if (st->phase == AGENT_PHASE_VERIFIED) {
		if (has_image(st)) {
			r = agent_boot_try_slot(c->boot, st->slot);
			if (r < 0)
				return r;
		}
		r = transition(c, st, AGENT_PHASE_SWITCHED);
		if (r < 0)
			return r;
	}
	if (st->phase == AGENT_PHASE_SWITCHED && !has_image(st))
		return finish_models(c, st, ret);
	*ret = AGENT_OUTCOME_REBOOT;
	return request_reboot(c);
}

int agent_install_run(struct agent_ctx *c, struct agent_repo *repo, const char *want,
		      enum agent_outcome *ret_outcome)
{
	_cleanup_(agent_install_clear) struct agent_install st = {};
	struct agent_release rel;
	bool resume;
	int r;

	*ret_outcome = AGENT_OUTCOME_NOTHING;
	r = agent_install_load(c->state_dir, &st);
	if (r < 0)
		return r;
	if (has_image(&st) && (st.phase == AGENT_PHASE_SWITCHED || st.phase == AGENT_PHASE_BOOTED))
		return sl_error(-EBUSY,
				"release %s waits for its trial boot of slot %s: reboot first",
				st.release, agent_slot_name(st.slot));
	resume = agent_phase_active(st.phase);
	r = tuf_updater_refresh(repo->updater);
	if (r < 0)
		return r;
	r = agent_release_select(repo, c->cfg, resume ? st.release : want, &rel);
	if (r < 0 && !resume)
		return r;
	if (resume) {
		if (r >= 0)
			r = match_resume(&st, &rel);
		if (r < 0) {
			*ret_outcome = AGENT_OUTCOME_FAILED;
			return finish_with_error(c, &st, AGENT_PHASE_FAILED, r);
		}
	} else {
		r = start_install(c, &st, &rel);
		if (r < 0)
			return r;
		if (r == 1) {
			*ret_outcome = AGENT_OUTCOME_NOOP;
			return 0;
		}
	}
	r = run_phases(c, repo, &st, &rel, ret_outcome);
	if (r < 0 && *ret_outcome == AGENT_OUTCOME_REBOOT)
		return r; /* the reboot command failed; the slot is switched all the same */
	if (r < 0 && *ret_outcome == AGENT_OUTCOME_NOTHING)
		*ret_outcome = AGENT_OUTCOME_FAILED; /* failed, or interrupted and resumable */
	return r;
}

/* ---- the boot-time step ---- */

static int trial_boot(struct agent_ctx *c, struct agent_install *st, enum agent_outcome *ret)
{
	const struct agent_config *cfg = c->cfg;
	int r;

	if (st->phase != AGENT_PHASE_BOOTED) {
		r = transition(c, st, AGENT_PHASE_BOOTED);
		if (r < 0)
			return r;
	}
	r = activate_models(c, st);
	if (r >= 0 && cfg->health_command) {
		_cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;

		if (asprintf(&e1, "SLUICE_SLOT=%s", agent_slot_name(st->slot)) < 0 ||
		    asprintf(&e2, "SLUICE_SLOT_DEVICE=%s", slot_path(cfg, st->slot)) < 0 ||
		    asprintf(&e3, "SLUICE_RELEASE=%s", st->release) < 0)
			return -ENOMEM;
		char *env[] = {e1, e2, e3, NULL};
		r = agent_exec("health check", cfg->health_command, env, cfg->health_deadline_s);
		if (r < 0) {
			char saved[512];

			snprintf(saved, sizeof(saved), "%s", sl_error_message(r));
			restore_models(c, st);
			sl_error(r, "%s", saved);
		}
	}
	if (r < 0) {
		int k = agent_boot_mark_bad(c->boot, st->slot);
		if (k < 0)
			return k;
		*ret = AGENT_OUTCOME_ROLLED_BACK;
		k = finish_with_error(c, st, AGENT_PHASE_ROLLED_BACK, r);
		(void)request_reboot(c);
		return k;
	}
	r = agent_boot_mark_good(c->boot, st->slot);
	if (r < 0)
		return r;
	*ret = AGENT_OUTCOME_COMMITTED;
	return commit(c, st);
}

static int fell_back(struct agent_ctx *c, struct agent_install *st,
		     const struct agent_boot_env *env, enum agent_outcome *ret)
{
	int r;

	restore_models(c, st);
	r = agent_boot_mark_bad(c->boot, st->slot);
	if (r < 0)
		return r;
	*ret = AGENT_OUTCOME_ROLLED_BACK;
	r = sl_error(SL_E_IO, "trial boot of slot %s failed: the bootloader fell back to slot %s",
		     agent_slot_name(st->slot), agent_slot_name(env->booted));
	return finish_with_error(c, st, AGENT_PHASE_ROLLED_BACK, r);
}

int agent_boot_check_run(struct agent_ctx *c, enum agent_outcome *ret_outcome)
{
	_cleanup_(agent_install_clear) struct agent_install st = {};
	struct agent_boot_env env;
	bool switched;
	int r;

	*ret_outcome = AGENT_OUTCOME_NOTHING;
	r = agent_install_load(c->state_dir, &st);
	if (r < 0)
		return r;
	r = agent_boot_get(c->boot, &env);
	if (r < 0)
		return r;
	if (!has_image(&st)) {
		if (st.phase == AGENT_PHASE_SWITCHED)
			return finish_models(c, &st, ret_outcome);
		return 0;
	}
	/* A switch that happened but was not yet recorded counts as recorded. */
	switched = st.phase == AGENT_PHASE_SWITCHED || st.phase == AGENT_PHASE_BOOTED ||
		   (st.phase == AGENT_PHASE_VERIFIED && env.trial && env.primary == st.slot);
	if (switched && env.booted == st.slot)
		return trial_boot(c, &st, ret_outcome);
	if (switched && env.trial && env.primary == st.slot) {
		*ret_outcome = AGENT_OUTCOME_PENDING;
		return 0;
	}
	if (switched && st.phase != AGENT_PHASE_VERIFIED)
		return fell_back(c, &st, &env, ret_outcome);
	/* Repair: a finished-badly install must never stay the bootloader's trial. */
	if ((st.phase == AGENT_PHASE_ROLLED_BACK || st.phase == AGENT_PHASE_FAILED) && env.trial &&
	    env.primary == st.slot)
		return agent_boot_mark_bad(c->boot, st.slot);
	return 0;
}
