/* SPDX-License-Identifier: Apache-2.0 */
/* Provisioning media: the format, and the one validator used by sluice-provision and the agent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A medium is one directory per device holding exactly these regular files
 * (docs/provisioning.md, "Media format"):
 *   device.crt     PEM certificate, subject CN = device id, EKU clientAuth
 *   device.key     PEM PKCS#8 private key of device.crt (ECDSA P-256), mode 0600
 *   ca.pem         the control plane's server CA certificate (trusted for https)
 *   root.json      the pinned TUF root, byte for byte
 *   agent.conf     INI: [device] id=, hardware= ; [controlplane] url=
 *   manifest.json  {"sluice_media": 1, "device_id", "hardware",
 *                   "files": {"<name>": {"sha256": "<hex>", "length": n}, ... (the five above)},
 *                   "root_sha256": "<hex of root.json>", "created": "YYYY-MM-DDTHH:MM:SSZ"}
 * This module holds no provisioning-station state: the agent links it to validate media.
 */

#define PROV_MEDIA_VERSION 1

/* Size caps per file: anything larger is refused before it is read. */
#define PROV_MEDIA_PEM_MAX (64u * 1024)	     /* device.crt, device.key, ca.pem */
#define PROV_MEDIA_ROOT_MAX (512u * 1024)    /* root.json (TUF root cap) */
#define PROV_MEDIA_CONF_MAX (4u * 1024)	     /* agent.conf */
#define PROV_MEDIA_MANIFEST_MAX (16u * 1024) /* manifest.json */
/* Longest control plane URL (bytes); it must start with "https://". */
#define PROV_URL_MAX 255
/* Longest device id or hardware name; characters [A-Za-z0-9._-]. */
#define PROV_MEDIA_ID_MAX 64
/* Problems recorded in one report (the rest are counted, not stored). */
#define PROV_MEDIA_PROBLEMS_MAX 32

/* The files of a medium, in the order they are checked. */
enum prov_media_file {
	PROV_MEDIA_CERT,
	PROV_MEDIA_KEY,
	PROV_MEDIA_CA,
	PROV_MEDIA_ROOT,
	PROV_MEDIA_CONF,
	PROV_MEDIA_MANIFEST,
	_PROV_MEDIA_FILE_MAX,
};

/* "device.crt", "device.key", "ca.pem", "root.json", "agent.conf", "manifest.json". */
const char *prov_media_file_name(enum prov_media_file f);

/* The cap of a file (PROV_MEDIA_*_MAX above). */
size_t prov_media_file_max(enum prov_media_file f);

/* Flags of prov_media_check(). */
#define PROV_MEDIA_IGNORE_EXPIRY (1u << 0) /* do not refuse an expired/not yet valid device.crt */

struct prov_media_problem {
	int code;	   /* the error code (SL_E_*, TUF_E_*, -errno) */
	char file[32];	   /* the file it concerns, or "" for the medium as a whole */
	char message[256]; /* one line naming what was wrong */
};

/* What prov_media_check() found: filled as far as the medium allowed. */
struct prov_media_report {
	/* from the manifest and agent.conf */
	char device_id[PROV_MEDIA_ID_MAX + 1];
	char hardware[PROV_MEDIA_ID_MAX + 1];
	char controlplane_url[PROV_URL_MAX + 1];
	char created[21];
	char root_sha256[65];
	/* per file: present as a regular file, its size, its hash matching the manifest */
	bool present[_PROV_MEDIA_FILE_MAX];
	uint64_t size[_PROV_MEDIA_FILE_MAX];
	bool hash_ok[_PROV_MEDIA_FILE_MAX];
	/* device.crt */
	char cert_sha256[65];  /* hex SHA-256 of the DER, as in the approval export */
	char cert_serial[40];  /* hex */
	char cert_issuer[128]; /* issuer CN */
	int64_t cert_not_before;
	int64_t cert_not_after;
	bool key_matches;   /* device.key is the key of device.crt */
	bool chain_checked; /* a device CA was given and device.crt verified against it */
	/* ca.pem */
	char ca_subject[128]; /* CN */
	int64_t ca_not_after;
	/* root.json */
	uint64_t root_version;
	int64_t root_expires;
	/* every problem found, first one first */
	size_t n_problems; /* may exceed PROV_MEDIA_PROBLEMS_MAX; only that many are stored */
	struct prov_media_problem problems[PROV_MEDIA_PROBLEMS_MAX];
};

/*
 * Validate the medium in directory dir, read-only, and describe it in *ret (always
 * written, also on failure; zeroed first). Checks, each recorded as a problem:
 *  - the directory holds exactly the six files, each a regular file (a symlink, FIFO,
 *    directory or device in a file's place, or any other entry: TUF_E_PATH; a missing file:
 *    TUF_E_NOT_FOUND), within its cap (SL_E_TOO_LARGE, refused before reading);
 *  - manifest.json parses (strict JSON, exactly the members above, the five file names and
 *    no others: TUF_E_FORMAT; another "sluice_media" version: TUF_E_UNSUPPORTED) and every
 *    file's length (TUF_E_LENGTH) and SHA-256 (TUF_E_HASH) match it;
 *  - device.crt: a PEM certificate, not a CA, subject CN = device_id, keyUsage
 *    digitalSignature and EKU clientAuth (SL_E_INVALID), valid now (TUF_E_EXPIRED unless
 *    PROV_MEDIA_IGNORE_EXPIRY); device.key is its private key (SL_E_INVALID);
 *  - with device_ca_pem (optional: PEM text of the device CA and of any intermediate, such
 *    as the enrollment CA), device.crt verifies against it for clientAuth
 *    (TUF_E_SIGNATURE); the device CA is never on the medium;
 *  - ca.pem: a CA certificate (SL_E_INVALID);
 *  - root.json: its SHA-256 equals root_sha256 (TUF_E_HASH), it is a TUF root signed by its
 *    own threshold (prov_root_check());
 *  - agent.conf parses (prov_agent_conf_parse()) and names the manifest's device id and
 *    hardware (SL_E_CONFIG).
 * Returns 0 when the medium is complete and consistent, otherwise the code of the first
 * problem (whose message is also recorded with sl_error()).
 */
int prov_media_check(const char *dir, const char *device_ca_pem, unsigned flags,
		     struct prov_media_report *ret);

/* The parsed manifest. */
struct prov_media_manifest {
	char device_id[PROV_MEDIA_ID_MAX + 1];
	char hardware[PROV_MEDIA_ID_MAX + 1];
	char created[21];
	char root_sha256[65];
	char sha256[_PROV_MEDIA_FILE_MAX][65]; /* not for PROV_MEDIA_MANIFEST itself */
	uint64_t length[_PROV_MEDIA_FILE_MAX];
};

/*
 * Parse manifest.json bytes (at most PROV_MEDIA_MANIFEST_MAX) strictly: see
 * prov_media_check(). Hex digests must be 64 lower-case hex digits. *ret written on success.
 */
int prov_media_manifest_parse(const void *buf, size_t len, struct prov_media_manifest *ret);

/*
 * Serialise a manifest (the files' hashes and lengths, device id, hardware, created,
 * root_sha256) as pretty JSON with a final newline into *ret_buf (malloc'd).
 */
int prov_media_manifest_format(const struct prov_media_manifest *m, char **ret_buf,
			       size_t *ret_len);

/* agent.conf. */
struct prov_agent_conf {
	char device_id[PROV_MEDIA_ID_MAX + 1];
	char hardware[PROV_MEDIA_ID_MAX + 1];
	char controlplane_url[PROV_URL_MAX + 1];
};

/*
 * Parse agent.conf bytes (at most PROV_MEDIA_CONF_MAX): lines of "[section]",
 * "key = value", blank lines and comments starting with '#' or ';'. Sections [device]
 * (id, hardware) and [controlplane] (url) with every key required once; unknown sections
 * or keys, duplicates, NUL or control bytes, and lines without '=' are refused with
 * SL_E_CONFIG naming the line. id and hardware must be valid names, url an https:// URL
 * without spaces or control characters of at most PROV_URL_MAX bytes.
 */
int prov_agent_conf_parse(const void *buf, size_t len, struct prov_agent_conf *ret);

/* Format agent.conf for c into *ret_buf (malloc'd). SL_E_INVALID for invalid values. */
int prov_agent_conf_format(const struct prov_agent_conf *c, char **ret_buf, size_t *ret_len);

/* Whether url is acceptable as a control plane URL (see prov_agent_conf_parse()). */
bool prov_url_valid(const char *url);

/*
 * Check root bytes as a pinned trust anchor: at most PROV_MEDIA_ROOT_MAX bytes, parses as
 * TUF root metadata and is signed by its own root threshold (tuf_metadata_parse() +
 * tuf_metadata_verify_root_role(), the verifier the device uses). Expiry is not checked
 * (TUF checks it after the update). Optional outputs: version and expiry.
 */
int prov_root_check(const void *buf, size_t len, uint64_t *ret_version, int64_t *ret_expires);
