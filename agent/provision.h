/* SPDX-License-Identifier: Apache-2.0 */
/* Device identity: importing provisioning media, and using the imported identity. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Size caps of the files on a provisioning medium. */
#define AGENT_MEDIA_MANIFEST_MAX (64u * 1024)
#define AGENT_MEDIA_CERT_MAX (64u * 1024)
#define AGENT_MEDIA_KEY_MAX (16u * 1024)
#define AGENT_MEDIA_CA_MAX (256u * 1024)
#define AGENT_MEDIA_CONF_MAX AGENT_CONFIG_MAX
/* root.json: TUF_DEFAULT_ROOT_MAX */

/*
 * Import the provisioning medium in media_dir (DESIGN.md §4) into STATE/identity/ and
 * STATE/tuf/root.json, atomically or not at all. Every file must be present, a regular file
 * (symlinks, FIFOs and devices refused with TUF_E_PATH, missing ones TUF_E_NOT_FOUND),
 * within its size cap (SL_E_TOO_LARGE), of the length and SHA-256 manifest.json records
 * (TUF_E_LENGTH, TUF_E_HASH); root.json must match root_sha256 (TUF_E_HASH) and be a valid
 * self-signed TUF root (its verification error); device.key must match device.crt, whose
 * CN must be the device id, with extended key usage clientAuth and not expired at now
 * (SL_E_INVALID). An already provisioned device is refused with CP_E_CONFLICT unless
 * force. The caller holds the agent lock.
 */
int agent_provision(const char *state_dir, const char *media_dir, bool force, int64_t now);

/* An identity that did not come from a medium (token enrollment); buffers borrowed. */
struct agent_identity_files {
	const char *device_id, *hardware; /* what agent.conf must name */
	/* device.crt, device.key, ca.pem, root.json, agent.conf */
	const void *cert, *key, *ca, *root, *conf;
	size_t cert_len, key_len, ca_len, root_len, conf_len;
};

/*
 * Install f as STATE/identity and STATE/tuf/root.json with the checks and the atomic commit
 * of agent_provision() (without a manifest): agent.conf must name f's device id and
 * hardware, the key must match the certificate (CN = device id, clientAuth, not expired at
 * now), root.json must be a valid self-signed TUF root. An already provisioned device is
 * CP_E_CONFLICT unless force. The caller holds the agent lock.
 */
int agent_identity_install(const char *state_dir, const struct agent_identity_files *f,
			   bool force, int64_t now);

/* Whether STATE/identity exists. */
bool agent_identity_present(const char *state_dir);

/*
 * Make sure STATE/tuf holds the root pinned by the identity: when STATE/tuf is missing or
 * belongs to another provisioning (an interrupted --force), it is rebuilt from
 * STATE/identity/root.json. TUF_E_STATE when the device is not provisioned.
 */
int agent_identity_tuf_ensure(const char *state_dir);

/*
 * Merge STATE/identity/agent.conf ([device] id, hardware; [controlplane] url) into cfg;
 * a value contradicting the main configuration is SL_E_CONFIG. Missing identity: -ENOENT.
 */
int agent_identity_load_config(const char *state_dir, struct agent_config *cfg);

/* What status shows about the identity. Strings owned (agent_identity_info_clear()). */
struct agent_identity_info {
	char *subject; /* one-line subject of device.crt */
	char *common_name;
	int64_t not_after; /* seconds since the epoch */
	char sha256[65];   /* of the DER certificate */
};

int agent_identity_info(const char *state_dir, struct agent_identity_info *ret);
void agent_identity_info_clear(struct agent_identity_info *i);

/*
 * Sign msg with STATE/identity/device.key: ECDSA P-256 (or larger curves) with SHA-256, DER
 * signature ("ecdsa-sha256"); Ed25519 ("ed25519"); RSA PSS with SHA-256 ("rsa-pss-sha256").
 * *ret_alg is static; *ret_sig_hex malloc'd.
 */
int agent_identity_sign(const char *state_dir, const void *msg, size_t len, const char **ret_alg,
			char **ret_sig_hex);

/* STATE/identity/device.crt as PEM (malloc'd). */
int agent_identity_cert_pem(const char *state_dir, char **ret);
