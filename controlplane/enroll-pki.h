/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 for token enrollment (internal to enroll.c): the CAs in STATE/tls, CSRs, issuing, CRL. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "enroll.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)

struct cp_state;

/* The enrollment CA, loaded from STATE/tls. Both owned (cp_enroll_ca_clear()). */
struct cp_enroll_ca {
	X509 *cert;
	EVP_PKEY *key;
};

void cp_enroll_ca_clear(struct cp_enroll_ca *ca);

/*
 * Parse and check a CA certificate and its key from PEM text: the key must match, the
 * certificate must be a CA that may sign certificates. SL_E_INVALID naming what (a file
 * name) otherwise.
 */
int cp_enroll_ca_parse(const void *crt, size_t crt_len, const void *key, size_t key_len,
		       const char *what, struct cp_enroll_ca *ret);

/* Load STATE/tls/enroll-ca.{crt,key}: CP_E_STATE when missing or unusable. */
int cp_enroll_ca_load(struct cp_state *s, struct cp_enroll_ca *ret);

/*
 * STATE/tls/server-ca.pem: its PEM text of the first certificate (malloc'd, may be NULL) and
 * the hex SHA-256 of its DER. CP_E_STATE when missing or not a CA certificate.
 */
int cp_enroll_server_ca_load(struct cp_state *s, char **ret_pem, char ret_sha256[static 65]);

/*
 * Check a PEM PKCS#10 request (len bytes): it parses, its signature verifies with its own
 * key, the key is ECDSA P-256 and the subject is exactly one CN of
 * [A-Za-z0-9._-]{1,64}, copied to ret_cn. *ret_key receives the public key (owned).
 * SL_E_INVALID with a message starting "csr: " otherwise.
 */
int cp_enroll_csr_check(const void *pem, size_t len, EVP_PKEY **ret_key,
			char ret_cn[static CP_ENROLL_NAME_MAX + 1]);

/*
 * Issue a device certificate for key with subject CN = id: random 128-bit serial, valid from
 * now - 60 s for days (not past the CA's own notAfter), CA:FALSE, digitalSignature,
 * clientAuth, key identifiers, SHA-256 signature by ca. *ret_pem (malloc'd PEM) and
 * ret_sha256 (hex SHA-256 of the DER).
 */
int cp_enroll_cert_issue(const struct cp_enroll_ca *ca, EVP_PKEY *key, const char *id, int64_t now,
			 unsigned days, char **ret_pem, char ret_sha256[static 65]);

/* An empty CRL of ca: number, lastUpdate now, nextUpdate next; PEM into *ret (malloc'd). */
int cp_enroll_crl_pem(const struct cp_enroll_ca *ca, uint64_t number, int64_t now, int64_t next,
		      char **ret, size_t *ret_len);
