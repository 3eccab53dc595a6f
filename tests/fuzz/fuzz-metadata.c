/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: parse input as each TUF role type and exercise what a parsed document offers. */
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "tuf/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Paths that exercise patterns, hash prefixes and the succinct bins. */
static const char *const probe_paths[] = {"file1.txt", "a/x.bin", "dir/file2.txt",
					  "",	       "a/",	  "../x"};

static void exercise_delegations(const struct tuf_metadata *md, const struct tuf_delegations *d)
{
	for (size_t i = 0; i < d->n_roles; i++) {
		const struct tuf_delegated_role *r = &d->roles[i];

		(void)tuf_metadata_verify_delegated(md, d, &r->keys, r->name);
		for (size_t p = 0; p < sizeof(probe_paths) / sizeof(probe_paths[0]); p++)
			(void)tuf_delegated_role_matches(r, probe_paths[p]);
		for (size_t t = 0; t < md->u.targets.n_targets && t < 16; t++)
			(void)tuf_delegated_role_matches(r, md->u.targets.targets[t].path);
	}
	if (d->succinct) {
		char *name = NULL;

		(void)tuf_metadata_verify_delegated(md, d, &d->succinct->keys, "bins");
		for (size_t p = 0; p < sizeof(probe_paths) / sizeof(probe_paths[0]); p++) {
			if (tuf_succinct_role_name(d->succinct, probe_paths[p], &name) < 0)
				continue;
			if (!tuf_succinct_roles_has(d->succinct, name))
				abort();
			free(name);
		}
		if (tuf_succinct_role_name_at(
			d->succinct, tuf_succinct_roles_count(d->succinct) - 1, &name) == 0) {
			if (!tuf_succinct_roles_has(d->succinct, name))
				abort();
			free(name);
		}
	}
}

static void exercise(const struct tuf_metadata *md, const uint8_t *data, size_t size)
{
	(void)tuf_metadata_check_expiry(md, "fuzz", 0);
	switch (md->type) {
	case TUF_ROLE_ROOT:
		for (enum tuf_role_type t = TUF_ROLE_ROOT; t <= TUF_ROLE_TARGETS; t++)
			(void)tuf_metadata_verify_root_role(md, &md->u.root, t);
		break;
	case TUF_ROLE_TIMESTAMP:
		(void)tuf_meta_file_check(&md->u.timestamp.snapshot, data, size, "fuzz");
		break;
	case TUF_ROLE_SNAPSHOT:
		for (size_t i = 0; i < md->u.snapshot.n_meta && i < 16; i++)
			(void)tuf_meta_file_check(&md->u.snapshot.meta[i], data, size, "fuzz");
		(void)tuf_snapshot_find(&md->u.snapshot, "targets.json");
		break;
	case TUF_ROLE_TARGETS:
		for (size_t i = 0; i < md->u.targets.n_targets && i < 16; i++) {
			struct tuf_target_check *c = NULL;
			const struct tuf_target *t = &md->u.targets.targets[i];

			if (tuf_targets_find(&md->u.targets, t->path) == NULL)
				abort();
			if (tuf_target_check_new(t, &c) < 0)
				continue;
			if (tuf_target_check_update(c, data, size) == 0)
				(void)tuf_target_check_final(c);
			tuf_target_check_free(c);
		}
		if (md->u.targets.delegations)
			exercise_delegations(md, md->u.targets.delegations);
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (enum tuf_role_type t = TUF_ROLE_ROOT; t < _TUF_ROLE_TYPE_MAX; t++) {
		struct tuf_metadata *md = NULL;

		if (tuf_metadata_parse(data, size, t, &md) < 0) {
			if (md)
				abort();
			continue;
		}
		if (md->type != t || !md->signed_bytes || md->version < 1)
			abort();
		exercise(md, data, size);
		tuf_metadata_free(md);
	}
	sl_error_clear();
	return 0;
}
