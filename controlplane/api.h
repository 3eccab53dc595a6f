/* SPDX-License-Identifier: Apache-2.0 */
/* The contract between the control plane's server (server*.c, tls.c, http.c, routes.c) and its
 * state (db.c, repo.c, devices.c, rollout.c, audit.c): what a request handler may ask. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * State directory layout (created 0700 by `sluice-controlplane init --dir STATE`):
 *   STATE/controlplane.db        SQLite, WAL, schema with versioned migrations
 *   STATE/keys/snapshot.key      online Ed25519 keys, 0600 (the only keys the control plane
 *   STATE/keys/timestamp.key     holds: {"keytype":"ed25519","seed":"<hex 32>"} )
 *   STATE/online-keys.json       public halves for the ceremony (docs/bundle-format.md)
 *   STATE/repo/metadata/         N.root.json, timestamp.json, V.snapshot.json, V.targets.json,
 *                                V.<quoted role>.json (consistent snapshots)
 *   STATE/repo/targets/          <dir>/<sha256>.<basename> (content addressed)
 *   STATE/tls/server.crt server.key device-ca.pem crl.pem   (serve defaults)
 *   STATE/tls/enroll-ca.crt enroll-ca.key(0600) enroll-crl.pem server-ca.pem
 *                                token enrollment (enroll.h); serve turns it on when
 *                                enroll-ca.crt exists
 *   STATE/tmp/                   0700 staging for publish; empty between operations
 */

/* Limits of the device API (the HTTP layer enforces the transport caps). */
#define CP_DEVICE_ID_MAX 128      /* bytes of a certificate CN / device id */
#define CP_CHECKIN_BODY_MAX 16384 /* bytes of a /v1/checkin body */
#define CP_EVENTS_BODY_MAX 262144 /* bytes of a /v1/events body */
#define CP_EVENTS_BATCH_MAX 500   /* events in one /v1/events body */

/*
 * Per-thread handle on the state: its own SQLite connection (WAL, busy timeout) and the
 * repository paths. Each server loop thread opens one; never shared between threads.
 */
struct cp_state;

/* Open STATE (which must have been initialised). *ret is owned by the caller. */
int cp_state_open(const char *state_dir, struct cp_state **ret);

/* Accepts NULL, returns NULL. */
struct cp_state *cp_state_free(struct cp_state *s);

/* The repository directories ("STATE/repo/metadata", "STATE/repo/targets"); borrowed. */
const char *cp_state_metadata_dir(const struct cp_state *s);
const char *cp_state_targets_dir(const struct cp_state *s);

/*
 * Whether device_id (the client certificate's subject CN, verbatim) is a registered,
 * approved, not decommissioned device: 0 when allowed, CP_E_FORBIDDEN otherwise. This checks
 * the id only; the server uses cp_api_device_allowed_cert().
 */
int cp_api_device_allowed(struct cp_state *s, const char *device_id);

/*
 * As cp_api_device_allowed(), and when the registry holds a cert_sha256 for the device (set
 * by approve --cert-sha256, approve --from or token enrollment) the presented certificate's
 * cert_sha256 (lower-case hex SHA-256 of its DER) must equal it exactly: otherwise
 * CP_E_FORBIDDEN with "certificate not the approved one". A device approved by id only is
 * allowed with any certificate of its CN. cert_sha256 NULL checks the id only.
 */
int cp_api_device_allowed_cert(struct cp_state *s, const char *device_id, const char *cert_sha256);

/*
 * POST /v1/checkin from device_id with a JSON body (<= CP_CHECKIN_BODY_MAX):
 *   {"release": "2026.11.1" | null, "slot": "a"|"b", "models": {"detector": "<sha256>"},
 *    "hardware": "board-a", "agent_version": "0.1.0", "state": "idle"|"installing"|…}
 * Records the device's reported state; answers (malloc'd JSON in *ret_body):
 *   {"desired_release": "2026.11.2" | null, "poll_interval": 300, "rollout": "<id>"|null}
 * where the desired release comes from the device's rollout wave (deterministic cohort).
 * Returns an HTTP status (200, 400 for a malformed body, 403 for an unknown device).
 */
int cp_api_checkin(struct cp_state *s, const char *device_id, const void *body, size_t len,
		   char **ret_body, size_t *ret_len);

/*
 * POST /v1/events: {"events": [{"seq": n, "time": "…Z", "release": "…", "type":
 * "downloading"|"written"|"verified"|"switched"|"booted"|"committed"|"rolled_back"|"failed",
 * "error": "TUF_E_HASH: …" (failed/rolled_back only)}, …]} (<= CP_EVENTS_BATCH_MAX).
 * Stores them in the update history idempotently (device_id + seq unique, so a resent batch
 * is not counted twice), feeds rollout failure-rate accounting. Returns an HTTP status and a
 * JSON body {"accepted": n}.
 */
int cp_api_events(struct cp_state *s, const char *device_id, const void *body, size_t len,
		  char **ret_body, size_t *ret_len);

/*
 * POST /v1/enroll (the only endpoint answered without a client certificate) from peer (the
 * client address, for the audit): {"token": "sl1.…", "csr": "<PEM PKCS#10>", "hardware":
 * "board-a"} (<= CP_ENROLL_BODY_MAX of enroll.h). Checks the token (hash known, not used,
 * revoked or expired, fingerprint of this server CA, bound hardware and id) and the CSR
 * (signature, ECDSA P-256, single CN), then in one transaction marks the token used, issues
 * a certificate signed by the enrollment CA and registers the device as approved. Answers
 * 200 {"id", "hardware", "certificate": PEM, "ca": server CA PEM, "root": the newest served
 * root.json text}; 400 malformed; 403 one identical body for every token failure; 409 the
 * device id exists; 503 enrollment not set up (its reason recorded as CP_E_STATE's message).
 * Every use and refusal is audited. *ret_body (malloc'd JSON) is set for every status;
 * negative on an internal failure.
 */
int cp_api_enroll(struct cp_state *s, const char *peer, const void *body, size_t len,
		  char **ret_body, size_t *ret_len);

/*
 * Append an audit row (hash-chained; see audit.h): actor (device id, "operator:<user>",
 * "server"), action ("publish", "auth_failure", …), detail (free text, stored verbatim).
 */
int cp_api_audit(struct cp_state *s, const char *actor, const char *action, const char *detail);

/*
 * The repository generation: a number that changes whenever a publish or a timestamp
 * renewal switches the served repository (read from the database). Server loops compare it
 * to their cached value to drop their metadata caches; no lock is taken.
 */
int cp_state_repo_generation(struct cp_state *s, uint64_t *ret);

/*
 * Renew timestamp (and snapshot when it would expire first) if less than half of its
 * lifetime is left at now; signs with the online keys, writes atomically, bumps the
 * generation, audits. Returns 1 when something was renewed, 0 when not needed.
 */
int cp_repo_renew_if_needed(struct cp_state *s, int64_t now);
