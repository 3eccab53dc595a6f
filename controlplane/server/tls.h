/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the control plane: the server context (mTLS with the device CA and CRL) and peers. */
#pragma once

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct cp_tls_paths {
	const char *cert;      /* server certificate chain (PEM) */
	const char *key;       /* server private key (PEM) */
	const char *client_ca; /* device CA certificate(s) (PEM) */
	const char *crl;       /* CRL(s) of the device CA (PEM) */
	/*
	 * Token enrollment (may be NULL): the directory holding enroll-ca.crt, enroll-crl.pem
	 * and server-ca.pem (STATE/tls). When enroll-ca.crt exists there, the enrollment CA is
	 * trusted for client certificates (it chains to the device CA), its CRL is loaded,
	 * server-ca.pem is sent in the server's chain (devices pin it by fingerprint) and
	 * handshakes without a client certificate are allowed: such a connection is answered
	 * only at POST /v1/enroll, every other endpoint refuses it (routes.c).
	 */
	const char *enroll_dir;
};

/* What the start-up summary says about the loaded material. */
struct cp_tls_info {
	char server_subject[256];
	int64_t server_not_after;  /* Unix time */
	int64_t crl_next_update;   /* Unix time, 0 when absent */
	size_t crl_revoked;        /* revoked serials in all loaded CRLs */
	size_t client_cas;
	bool enrollment;           /* token enrollment on (see enroll_dir) */
};

/*
 * Build a server SSL_CTX: TLS 1.2 minimum, no renegotiation, session tickets on and the
 * stateful session cache off, client certificates required and verified against client_ca
 * with the CRL checked (X509_V_FLAG_CRL_CHECK) and the clientAuth extended key usage
 * required (optional, but still verified when presented, with token enrollment on). On success *ret (caller SSL_CTX_free()s) and, when ret_info is not NULL, the
 * summary are set. Errors: -errno when a file cannot be read, SL_E_CONFIG with a message
 * naming the file for unusable material.
 */
int cp_tls_ctx_new(const struct cp_tls_paths *paths, SSL_CTX **ret, struct cp_tls_info *ret_info);

/*
 * The device id of a verified peer: its certificate subject's single CN, which must be at
 * most CP_DEVICE_ID_MAX bytes without NUL bytes. ret has CP_DEVICE_ID_MAX + 1 bytes.
 * Returns 0, or CP_E_FORBIDDEN when there is no usable CN.
 */
int cp_tls_peer_device_id(SSL *ssl, char ret[static CP_DEVICE_ID_MAX + 1]);

/*
 * The lower-case hex SHA-256 of the peer certificate's DER encoding (the registry's
 * cert_sha256) into ret (65 bytes). Returns 0, or CP_E_FORBIDDEN without a peer certificate.
 */
int cp_tls_peer_cert_sha256(SSL *ssl, char ret[static 65]);
