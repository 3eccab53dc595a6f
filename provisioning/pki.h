/* SPDX-License-Identifier: Apache-2.0 */
/* The provisioning station's state: CAs, issued and revoked certificates, media and CRL output. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media.h"
#include "x509.h"

/*
 * PKI directory layout (`--dir PKI`, default ./sluice-pki, created 0700):
 *   device-ca.crt  device-ca.key     the device CA (key sealed, sealed.h)
 *   server-ca.crt  server-ca.key     the server CA; server-ca.crt is ca.pem on every medium
 *   enrollment-ca.crt                the intermediate CA held online by the control plane
 *   crl.pem                          the device CA's CRL
 *   issued.jsonl                     one line per issued device certificate
 *   revoked.jsonl                    one line per revoked device certificate
 *   lock                             held (flock) by every command that changes the PKI
 */
#define PROV_PKI_DEFAULT_DIR "sluice-pki"

/* Defaults, in days. */
#define PROV_DAYS_CA 7300
#define PROV_DAYS_ENROLLMENT_CA 3650
#define PROV_DAYS_SERVER 825
#define PROV_DAYS_DEVICE 1826
#define PROV_DAYS_CRL 365
#define PROV_DAYS_MAX 36500
/* Certificates start this many seconds in the past, for devices whose clock lags a little. */
#define PROV_BACKDATE 300
/* Largest issued.jsonl / revoked.jsonl read, and largest line in them. */
#define PROV_REGISTRY_MAX (64u * 1024 * 1024)
#define PROV_RECORD_MAX 2048

enum prov_ca { PROV_CA_DEVICE, PROV_CA_SERVER };

struct prov_pki;

/*
 * Create the PKI in dir (created 0700 if missing; an existing CA in it is never replaced:
 * -EEXIST): the device CA (pathlen 1) and the server CA (pathlen 0), ECDSA P-256,
 * self-signed, valid days days, CNs "<name> device CA" and "<name> server CA"; both keys sealed
 * with passphrase and the KDF limits (0 = sensitive); an empty CRL of the device CA.
 * On failure, files written so far are removed.
 */
int prov_pki_init(const char *dir, const char *name, const char *passphrase, size_t pass_len,
		  uint64_t opslimit, uint64_t memlimit, uint32_t days);

/*
 * Open an existing PKI (TUF_E_STATE when dir holds none) and take its lock (CP_E_CONFLICT
 * when another process holds it). *ret owned by the caller.
 */
int prov_pki_open(const char *dir, struct prov_pki **ret);

/* Release the lock and wipe loaded keys. Accepts NULL, returns NULL. */
struct prov_pki *prov_pki_free(struct prov_pki *p);

/* Open the sealed key of a CA with passphrase (CER_E_PASSPHRASE when wrong). */
int prov_pki_unlock(struct prov_pki *p, enum prov_ca ca, const char *passphrase, size_t pass_len);

/* The PEM text of a CA certificate (borrowed), and the device CA chain (device CA followed by
 * the enrollment CA when one exists; malloc'd). */
const char *prov_pki_ca_pem(const struct prov_pki *p, enum prov_ca ca);
int prov_pki_device_chain_pem(const struct prov_pki *p, char **ret);

/* Flags of the writing functions below. */
#define PROV_FORCE_ID (1u << 0)	 /* re-issue an id that was already issued */
#define PROV_FORCE_OUT (1u << 1) /* replace existing output files or media directory */

/*
 * Create the enrollment CA (device CA unlocked): a P-256 key and a certificate signed by the
 * device CA (CA:TRUE pathlen 0, keyCertSign+cRLSign). Writes out_dir/enrollment-ca.crt,
 * out_dir/enrollment-ca.key (unsealed PKCS#8 PEM, 0600) and out_dir/device-ca.pem (the new
 * device CA chain), and keeps the certificate as PKI/enrollment-ca.crt. An existing
 * enrollment CA or output file is refused (-EEXIST) unless PROV_FORCE_OUT.
 */
int prov_pki_enrollment_ca(struct prov_pki *p, const char *out_dir, uint32_t days, unsigned flags);

/* A server certificate request: DNS and IP SANs (borrowed). */
struct prov_server_spec {
	const char *const *dns;
	size_t n_dns;
	const char *const *ip;
	size_t n_ip;
	uint32_t days;
};

/*
 * Issue the control plane's TLS certificate (server CA unlocked) and write the layout of
 * STATE/tls/ into out_dir (created 0700): server.crt, server.key (0600), device-ca.pem,
 * crl.pem. Existing files are refused (-EEXIST) unless PROV_FORCE_OUT.
 */
int prov_pki_server_cert(struct prov_pki *p, const struct prov_server_spec *spec,
			 const char *out_dir, unsigned flags);

/* One issued device certificate (a line of issued.jsonl). */
struct prov_issued {
	char id[PROV_ID_MAX + 1];
	char hardware[PROV_ID_MAX + 1];
	char serial[PROV_SERIAL_HEX_SIZE + 2];
	char cert_sha256[65];
	char not_after[21];
	char issued[21];
	bool revoked; /* filled from revoked.jsonl when loading */
};

/* What one medium holds. Strings and root bytes are borrowed. */
struct prov_device_spec {
	const char *id;
	const char *hardware;
	const char *controlplane_url;
	const void *root;
	size_t root_len;
	uint32_t days;
};

/*
 * Issue one device's medium into out_dir (device CA unlocked), all or nothing: the key, the
 * certificate and the files are written into a private temporary directory next to out_dir,
 * checked with prov_media_check() against the device CA, recorded in issued.jsonl and then
 * renamed into place. Refused: an invalid id/hardware/URL (SL_E_INVALID), a root.json that
 * prov_root_check() refuses, an id already in issued.jsonl (CP_E_CONFLICT, unless
 * PROV_FORCE_ID), an existing out_dir (-EEXIST, unless PROV_FORCE_OUT, which replaces it
 * atomically). *ret (optional) describes the issued certificate.
 */
int prov_pki_issue_device(struct prov_pki *p, const struct prov_device_spec *spec,
			  const char *out_dir, unsigned flags, struct prov_issued *ret);

/*
 * Every issued certificate, in issue order, with revoked set from revoked.jsonl.
 * *ret (malloc'd array, caller frees) may be NULL when n is 0.
 */
int prov_pki_issued_list(struct prov_pki *p, struct prov_issued **ret, size_t *ret_n);

/*
 * Write the approval file for `sluice-controlplane devices approve --from FILE`: one JSON
 * object per line, {"id", "hardware", "cert_sha256", "not_after"}, for the newest
 * not revoked certificate of every device id, in issue order. Atomic, 0644.
 */
int prov_pki_export(struct prov_pki *p, const char *out_file, size_t *ret_n);

/*
 * Revoke every not yet revoked certificate issued to id (device CA unlocked), with reason
 * (CRL_REASON_*, -1 for none): recorded in revoked.jsonl, then a new CRL signed by the
 * device CA (next update in crl_days) is written to PKI/crl.pem and, when out_dir is not
 * NULL, to out_dir/crl.pem. TUF_E_NOT_FOUND when id has no certificate left to revoke.
 * *ret_n (optional): how many certificates were revoked.
 */
int prov_pki_revoke(struct prov_pki *p, const char *id, int reason, uint32_t crl_days,
		    const char *out_dir, size_t *ret_n);

/* Re-sign the CRL with a new next update (device CA unlocked); as the end of revoke. */
int prov_pki_crl_update(struct prov_pki *p, uint32_t crl_days, const char *out_dir);
