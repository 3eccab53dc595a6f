/* SPDX-License-Identifier: Apache-2.0 */
/* The device registry: approve (one or from a provisioning export), decommission, list, show. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct cp_state;

/* Limits of the registry's inputs. */
#define CP_DEVICE_HARDWARE_MAX 64
#define CP_DEVICE_TAG_MAX 64
#define CP_DEVICE_TAGS_MAX 32
#define CP_DEVICES_FILE_MAX (64u * 1024 * 1024) /* bytes of a provisioning export */
#define CP_DEVICES_FILE_LINE_MAX 4096
#define CP_DEVICES_FILE_MAX_LINES 1000000

/* A device row; strings borrowed for the duration of a callback (NULL when unset). */
struct cp_device {
	const char *id;
	const char *state; /* "registered", "approved", "decommissioned" */
	const char *hardware;
	const char *cert_sha256;
	const char *tags; /* comma separated, sorted */
	const char *created, *approved, *decommissioned;
	const char *last_seen, *reported_release, *slot, *agent_state, *agent_version;
	const char *reported_hardware, *models;
};

/*
 * Check a device id: 1..CP_DEVICE_ID_MAX bytes (any bytes but NUL: stored verbatim).
 * SL_E_INVALID otherwise.
 */
int cp_device_id_check(const char *id);

/*
 * Approve device id (created when unknown) with hardware and tags (tags a comma-separated
 * list, replacing the device's tags; either may be NULL to keep them) and, when not NULL,
 * the SHA-256 of its certificate. A decommissioned device stays decommissioned
 * (CP_E_CONFLICT); a known device with another cert_sha256 is CP_E_CONFLICT. Audited.
 */
int cp_devices_approve(struct cp_state *s, const char *id, const char *hardware, const char *tags,
		       const char *cert_sha256, const char *actor);

/*
 * Approve every device of a provisioning export: JSON lines
 * {"id": "...", "hardware": "...", "cert_sha256": "<hex 64>"} (unknown members refused), all
 * or nothing in one transaction. A malformed line is TUF_E_FORMAT naming its line number;
 * the same id twice in the file, or a conflict as above, is CP_E_CONFLICT. *ret_n (may be
 * NULL) receives the number of devices approved.
 */
int cp_devices_approve_file(struct cp_state *s, const char *path, const char *actor, size_t *ret_n);

/*
 * Re-approve id with a replaced certificate (a re-issued device: same id, new key): sets its
 * cert_sha256 (64 lower-case hex digits, required) and state approved; the old certificate is
 * refused from then on. TUF_E_NOT_FOUND when unknown, CP_E_CONFLICT when decommissioned.
 * Audited with the old and new hashes.
 */
int cp_devices_replace_cert(struct cp_state *s, const char *id, const char *cert_sha256,
			    const char *actor);

/* Decommission id (TUF_E_NOT_FOUND when unknown). Audited. */
int cp_devices_decommission(struct cp_state *s, const char *id, const char *actor);

/* Call fn for every device (ordered by id), or only for id when id is not NULL. */
int cp_devices_foreach(struct cp_state *s, const char *id,
		       int (*fn)(const struct cp_device *d, void *userdata), void *userdata);

/* Devices per state, for status. */
int cp_devices_count(struct cp_state *s, int64_t *ret_registered, int64_t *ret_approved,
		     int64_t *ret_decommissioned);

/* An event of the update history; strings borrowed for the callback. */
struct cp_event {
	const char *device_id;
	int64_t seq;
	const char *time, *received, *release, *type, *error;
};

/* Call fn for each stored event (of device_id only when not NULL), oldest first. */
int cp_history_foreach(struct cp_state *s, const char *device_id,
		       int (*fn)(const struct cp_event *e, void *userdata), void *userdata);
