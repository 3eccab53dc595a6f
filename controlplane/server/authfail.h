/* SPDX-License-Identifier: Apache-2.0 */
/* Refused TLS handshakes counted by reason and client address, and their aggregated audit text. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CP_AUTHFAIL_ADDRS_MAX 64  /* distinct addresses counted per interval (per loop, merged) */
#define CP_AUTHFAIL_LIST_MAX 10   /* addresses named in the audit text, most failures first */
#define CP_AUTHFAIL_TEXT_MAX 1024 /* bytes of the audit text, NUL included */

/* Why a handshake was refused. */
enum cp_authfail_reason {
	CP_AF_NO_CERT,    /* no client certificate (enrollment off) */
	CP_AF_UNKNOWN_CA, /* the chain does not end at the device CA */
	CP_AF_EXPIRED,    /* expired or not yet valid */
	CP_AF_REVOKED,    /* listed in the CRL */
	CP_AF_BAD_EKU,    /* no clientAuth extended key usage */
	CP_AF_BAD_CERT,   /* any other certificate verification failure */
	CP_AF_PROTOCOL,   /* anything else: versions, ciphers, garbage, aborted */
	CP_AF_N,
};

struct cp_authfail_addr {
	uint8_t addr[16]; /* IPv6 or v4-mapped (struct cp_ip_key's layout) */
	uint64_t n;
};

/* Counters of one interval; zero-initialised means empty. */
struct cp_authfail {
	uint64_t total;
	uint64_t by_reason[CP_AF_N];
	struct cp_authfail_addr addrs[CP_AUTHFAIL_ADDRS_MAX];
	size_t n_addrs;
	uint64_t overflow; /* failures from addresses that did not fit in addrs */
};

/* The reason's name in the audit text ("revoked", "unknown_ca", …). */
const char *cp_authfail_reason_name(enum cp_authfail_reason r);

/*
 * Classify a failed server handshake: verify_result is SSL_get_verify_result(), ssl_reason
 * the reason code of the first queued OpenSSL error of the SSL library (0 when none).
 */
enum cp_authfail_reason cp_authfail_classify(long verify_result, int ssl_reason);

/* Count one refused handshake from addr (16 bytes). */
void cp_authfail_add(struct cp_authfail *f, enum cp_authfail_reason r, const uint8_t addr[16]);

/* Add the counts of from into into (addresses beyond the table count as overflow). */
void cp_authfail_merge(struct cp_authfail *into, const struct cp_authfail *from);

/*
 * The audit detail for an interval of elapsed_ms: "TLS handshake failures in the last 60 s:
 * 1234 (unknown_ca 1200, revoked 2, …), from 3 addresses: 127.0.0.2 (1230), …", at most
 * CP_AUTHFAIL_TEXT_MAX bytes with the NUL (cut with "..." when longer). Returns the number
 * of failures (0: nothing to write, buf is then empty).
 */
uint64_t cp_authfail_format(const struct cp_authfail *f, uint64_t elapsed_ms,
			    char buf[static CP_AUTHFAIL_TEXT_MAX]);
