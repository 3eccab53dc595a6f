/* SPDX-License-Identifier: Apache-2.0 */
/* Token enrollment on the device: key, CSR, POST /v1/enroll to a server pinned by the token. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Limits. */
#define AGENT_ENROLL_TOKEN_LEN 112	      /* "sl1." + 43 + "." + 64 */
#define AGENT_ENROLL_URL_MAX 255	      /* bytes of the control plane URL */
#define AGENT_ENROLL_REPLY_MAX (1024u * 1024) /* bytes of the answer (root.json <= 512 KiB) */
#define AGENT_ENROLL_TIMEOUT_S 60L	      /* whole request */

struct agent_enroll_options {
	const char *url;      /* https://host[:port] of the control plane (no path, query) */
	const char *token;    /* sl1.<secret>.<server CA fingerprint> */
	const char *id;	      /* the device id to ask for (a token bound to an id overrides it) */
	const char *hardware; /* the device's hardware name */
	bool force;	      /* replace an existing identity */
	int64_t now;	      /* seconds since the epoch, for the certificate checks */
};

/*
 * Split a token into the hex SHA-256 fingerprint of the server CA it names (ret_fp).
 * SL_E_INVALID when it is not of the documented form.
 */
int agent_enroll_token_fingerprint(const char *token, char ret_fp[static 65]);

/*
 * Enroll: refuse an already provisioned device unless o->force (CP_E_CONFLICT, before any
 * network traffic); generate an ECDSA P-256 key and a CSR with CN = o->id; POST
 * {"token", "csr", "hardware"} to o->url + "/v1/enroll" over TLS trusting no CA store: the
 * server's chain must contain a CA certificate whose DER SHA-256 is the token's
 * fingerprint, and the server certificate must verify against that CA alone and match the
 * URL's host name (else TUF_E_NETWORK naming the reason, and the token is never sent).
 * The answer must carry a certificate for the new key with the granted id, the server CA
 * with the token's fingerprint, and a self-signed TUF root; then the identity is written
 * exactly as `provision` writes it (agent_identity_install()). Refusals of the control
 * plane: CP_E_FORBIDDEN (token invalid, expired or used), CP_E_CONFLICT (the id exists),
 * SL_E_INVALID (malformed request). ret_id (AGENT_ID_MAX + 1 bytes) receives the granted
 * device id. The caller holds the agent lock.
 */
int agent_enroll(const char *state_dir, const struct agent_enroll_options *o,
		 char ret_id[static AGENT_ID_MAX + 1]);
