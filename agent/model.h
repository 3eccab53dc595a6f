/* SPDX-License-Identifier: Apache-2.0 */
/* Model slots: models/<name>/<sha256>/<file> directories and an atomically swapped `current`. */
#pragma once

#include "release.h"
#include "slot.h"
#include "state.h"
#include "tuf/fetcher.h"
#include "tuf/metadata.h"

/*
 * Stage model item it (it->model, it->file, it->sha256) from url into
 * models_dir/<model>/<sha256>/<file>: streamed through target t's check into a private
 * temporary directory next to it, synced, then renamed into place. A target whose path ends
 * in ".tar" is also unpacked there (agent/untar.h: checked whole before anything is written)
 * next to the kept archive. A directory already in place that verifies is kept. -ENOSPC
 * before the first byte when the file system lacks the room.
 */
int agent_model_stage(const char *models_dir, const struct agent_item *it, struct tuf_fetcher *f,
		      const char *url, const struct tuf_target *t, agent_progress_fn progress,
		      void *userdata);

/*
 * Whether the file system of models_dir (or of its nearest existing parent) has room for the
 * model targets of rel that are not staged yet (models_dir/<model>/<sha256> absent): their
 * lengths rounded up to the block size, twice for a tar archive (kept next to its unpacked
 * tree), against the blocks free to unprivileged users. -ENOSPC naming the bytes needed and
 * free otherwise. Called before the first byte of an install is written.
 */
int agent_model_check_space(const char *models_dir, const struct agent_release *rel);

/*
 * Re-read the staged file of it through t's check (length and every hash); for a ".tar"
 * target, also compare the unpacked tree with the archive (types, modes, sizes, contents,
 * nothing extra).
 */
int agent_model_verify(const char *models_dir, const struct agent_item *it,
		       const struct tuf_target *t);

/* The sha256 directory name `current` of model name points to (malloc'd); -ENOENT when none. */
int agent_model_current(const char *models_dir, const char *name, char **ret_sha256);

/*
 * Point models_dir/<name>/current at <sha256> (NULL removes it) with a symlink to a
 * temporary name renamed over `current`, then fsync the directory: readers see the old or
 * the new model, never neither.
 */
int agent_model_point(const char *models_dir, const char *name, const char *sha256);

/* Remove models_dir/<name>/<sha256> (a model no longer needed after a commit). */
int agent_model_remove(const char *models_dir, const char *name, const char *sha256);

/* The path of the staged file of it (malloc'd), for the smoke test's environment. */
char *agent_model_file_path(const char *models_dir, const struct agent_item *it);
