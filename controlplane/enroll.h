/* SPDX-License-Identifier: Apache-2.0 */
/* Token enrollment: one-time tokens stored as hashes, the enrollment CA, CSR checks, signing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_state;

/*
 * A token is "sl1.<secret>.<fingerprint>" (docs/provisioning.md, "Token enrollment"):
 * secret = base64url without padding of 32 random bytes (43 characters), fingerprint = the
 * lower-case hex SHA-256 of the DER of the server CA certificate (STATE/tls/server-ca.pem),
 * which the device pins before it sends anything. The database keeps only the hex SHA-256 of
 * the 32 secret bytes.
 */
#define CP_ENROLL_TOKEN_PREFIX "sl1."
#define CP_ENROLL_SECRET_BYTES 32
#define CP_ENROLL_SECRET_B64 43
#define CP_ENROLL_TOKEN_LEN (4 + CP_ENROLL_SECRET_B64 + 1 + 64)

/* Limits. */
#define CP_ENROLL_BODY_MAX 16384       /* bytes of a POST /v1/enroll body */
#define CP_ENROLL_TTL_MAX (30 * 86400) /* longest token lifetime, seconds */
#define CP_ENROLL_CERT_DAYS 365	       /* validity of an enrolled device's certificate */
#define CP_ENROLL_CRL_DAYS 365	       /* nextUpdate of the enrollment CA's CRL */
#define CP_ENROLL_PEM_MAX (64u * 1024) /* bytes of a CA certificate or key file */
#define CP_ENROLL_NAME_MAX 64	       /* device id / hardware: [A-Za-z0-9._-]{1,64} */

/* Files of the enrollment in STATE/tls. */
#define CP_ENROLL_CA_CRT "enroll-ca.crt" /* the enrollment CA certificate (0644) */
#define CP_ENROLL_CA_KEY "enroll-ca.key" /* its private key, PEM, unencrypted (0600) */
#define CP_ENROLL_CRL "enroll-crl.pem"	 /* its CRL, signed here, loaded by serve */
#define CP_SERVER_CA "server-ca.pem"	 /* the server CA certificate (ca.pem on media) */

/* Whether s is 1..CP_ENROLL_NAME_MAX characters of [A-Za-z0-9._-]. */
bool cp_enroll_name_valid(const char *s);

/*
 * Create a token valid for ttl seconds (1..CP_ENROLL_TTL_MAX), optionally bound to a
 * hardware name and a device id (NULL: the device chooses, by the CSR's CN). Needs the
 * enrollment CA and the server CA in STATE/tls (CP_E_STATE otherwise); writes the
 * enrollment CRL when it is missing. A bound id that is already an approved or
 * decommissioned device is CP_E_CONFLICT. Audited ("enroll-token-create"). *ret_token is the
 * token text (malloc'd, CP_ENROLL_TOKEN_LEN characters; the only copy of the secret),
 * *ret_id (may be NULL) its row id.
 */
int cp_enroll_token_create(struct cp_state *s, int64_t ttl, const char *hardware,
			   const char *device_id, const char *actor, char **ret_token,
			   int64_t *ret_id);

/* A token row; strings borrowed for the callback (NULL when unset). */
struct cp_enroll_token {
	int64_t id;
	const char *state; /* "active", "used", "expired", "revoked" (at the state's clock) */
	const char *created;
	int64_t expires; /* seconds since the epoch */
	const char *hardware, *device_id, *creator, *used, *used_by, *revoked;
};

/* Call fn for every token, oldest first; stops at fn's error. */
int cp_enroll_token_foreach(struct cp_state *s,
			    int (*fn)(const struct cp_enroll_token *t, void *userdata),
			    void *userdata);

/* Revoke an unused, unrevoked token (TUF_E_NOT_FOUND otherwise). Audited. */
int cp_enroll_token_revoke(struct cp_state *s, int64_t id, const char *actor);

/*
 * Install the enrollment CA (from `sluice-provision ca enrollment-ca`) into STATE/tls:
 * cert_path must hold a CA certificate allowed to sign certificates and key_path its
 * unencrypted private key (SL_E_INVALID otherwise). An installed CA is replaced only with
 * force (CP_E_CONFLICT). Writes enroll-ca.key (0600), enroll-ca.crt and a fresh CRL.
 * Audited.
 */
int cp_enroll_ca_import(struct cp_state *s, const char *cert_path, const char *key_path, bool force,
			const char *actor);

/*
 * (Re)write STATE/tls/enroll-crl.pem: an empty CRL signed by the enrollment CA with the
 * next CRL number, valid for days. CP_E_STATE when no enrollment CA is installed.
 * *ret_next_update (may be NULL) receives its nextUpdate. Audited.
 */
int cp_enroll_crl_write(struct cp_state *s, unsigned days, const char *actor,
			int64_t *ret_next_update);

/* The hex SHA-256 of the DER of STATE/tls/server-ca.pem (CP_E_STATE when unusable). */
int cp_enroll_server_ca_fingerprint(struct cp_state *s, char ret[static 65]);
