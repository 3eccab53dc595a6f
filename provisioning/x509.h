/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 for provisioning: P-256 keys, CA/server/device certificates, CRLs, PEM, on OpenSSL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "macro.h"

/* Largest PEM file (certificate, key, CRL, chain) read by provisioning. */
#define PROV_PEM_MAX (256u * 1024)
/* Longest device id / hardware name: characters [A-Za-z0-9._-]. */
#define PROV_ID_MAX 64
/* Subject alternative names of one server certificate. */
#define PROV_SAN_MAX 32
/* Serial numbers: 128 random bits (positive). Hex with its NUL. */
#define PROV_SERIAL_BYTES 16
#define PROV_SERIAL_HEX_SIZE (2 * PROV_SERIAL_BYTES + 1)

enum prov_cert_kind {
	PROV_CERT_ROOT_CA, /* self-signed CA: CA:TRUE (pathlen), keyCertSign + cRLSign */
	PROV_CERT_SUB_CA,  /* intermediate CA signed by issuer */
	PROV_CERT_SERVER,  /* EKU serverAuth, digitalSignature, SANs */
	PROV_CERT_DEVICE,  /* EKU clientAuth, digitalSignature, CN = device id */
};

/* What to put in a certificate. Strings are borrowed. */
struct prov_cert_spec {
	enum prov_cert_kind kind;
	const char *common_name;
	int64_t not_before; /* seconds since the epoch */
	int64_t not_after;
	int pathlen;		/* CAs: basicConstraints pathlen; -1 for none */
	const char *const *dns; /* server: DNS SANs */
	size_t n_dns;
	const char *const *ip; /* server: IP SANs (IPv4 or IPv6 text) */
	size_t n_ip;
};

/* Whether s is a valid device id or hardware name: 1..PROV_ID_MAX of [A-Za-z0-9._-]. */
bool prov_id_valid(const char *s);

/* A new ECDSA P-256 key pair in *ret (caller frees with EVP_PKEY_free()). TUF_E_CRYPTO. */
int prov_key_generate(EVP_PKEY **ret);

/*
 * Issue a certificate for subject_key per spec, signed with issuer_key as issuer_cert
 * (issuer_cert NULL: self-signed with subject_key, for PROV_CERT_ROOT_CA). A random
 * 128-bit serial, subject and authority key identifiers, SHA-256 signature.
 * Errors: SL_E_INVALID for a bad spec (empty name, bad IP address, no SAN for a server),
 * TUF_E_CRYPTO. *ret owned by the caller (X509_free()).
 */
int prov_cert_issue(const struct prov_cert_spec *spec, EVP_PKEY *subject_key, X509 *issuer_cert,
		    EVP_PKEY *issuer_key, X509 **ret);

/* PEM of a certificate, a PKCS#8 private key, or a CRL into *ret (malloc'd, NUL-terminated).
 * The key PEM goes through OpenSSL secure memory and is returned in sodium_malloc()'d memory:
 * release it with sl_secure_free(). */
int prov_cert_pem(X509 *cert, char **ret, size_t *ret_len);
int prov_key_pem(EVP_PKEY *key, char **ret, size_t *ret_len);
int prov_crl_pem(X509_CRL *crl, char **ret, size_t *ret_len);

/*
 * Parse the first certificate of PEM text (buf, len bytes). name is used in messages.
 * Errors: TUF_E_FORMAT. *ret owned by the caller.
 */
int prov_cert_parse(const void *buf, size_t len, const char *name, X509 **ret);

/* All certificates of a PEM file (at most 16), as a new stack (sk_X509_pop_free(.., X509_free)). */
int prov_certs_parse(const void *buf, size_t len, const char *name, STACK_OF(X509) * *ret);

/* Parse a PEM private key (PKCS#8 or traditional, unencrypted). TUF_E_FORMAT. */
int prov_key_parse(const void *buf, size_t len, const char *name, EVP_PKEY **ret);

/* Parse a PEM CRL. TUF_E_FORMAT. */
int prov_crl_parse(const void *buf, size_t len, const char *name, X509_CRL **ret);

/* Lower-case hex SHA-256 of the certificate's DER encoding. */
int prov_cert_sha256(X509 *cert, char ret[static 65]);

/* The serial number in lower-case hex (no leading zeros beyond one byte's width). */
int prov_cert_serial_hex(X509 *cert, char ret[static PROV_SERIAL_HEX_SIZE + 2]);

/* The subject CN into ret (size bytes). SL_E_INVALID when absent, not unique or too long. */
int prov_cert_common_name(X509 *cert, char *ret, size_t size);

/* notBefore / notAfter as seconds since the epoch. */
int prov_cert_validity(X509 *cert, int64_t *ret_not_before, int64_t *ret_not_after);

/* Whether key is the private key of cert's public key: 0, or SL_E_INVALID. */
int prov_cert_key_match(X509 *cert, EVP_PKEY *key);

/* One revoked certificate of a CRL. */
struct prov_revoked {
	char serial[PROV_SERIAL_HEX_SIZE + 2]; /* hex */
	int64_t when;
	int reason; /* CRL_REASON_* of <openssl/x509v3.h>, or -1 for none */
};

/*
 * Build a CRL signed by ca_key as ca_cert: the revoked entries, CRL number number,
 * lastUpdate this_update, nextUpdate next_update. *ret owned by the caller.
 */
int prov_crl_build(X509 *ca_cert, EVP_PKEY *ca_key, const struct prov_revoked *revoked,
		   size_t n_revoked, uint64_t number, int64_t this_update, int64_t next_update,
		   X509_CRL **ret);

/* Map a reason name ("keyCompromise", "superseded", ...) to CRL_REASON_*; SL_E_INVALID. */
int prov_crl_reason_from_name(const char *name, int *ret);
const char *prov_crl_reason_name(int reason);

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_CRL *, X509_CRL_free)
