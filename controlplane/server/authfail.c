/* SPDX-License-Identifier: Apache-2.0 */
/* Refused TLS handshakes counted by reason and client address, and their aggregated audit text. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authfail.h"

static const char *const reason_names[CP_AF_N] = {
	[CP_AF_NO_CERT] = "no_certificate", [CP_AF_UNKNOWN_CA] = "unknown_ca",
	[CP_AF_EXPIRED] = "expired",        [CP_AF_REVOKED] = "revoked",
	[CP_AF_BAD_EKU] = "bad_eku",        [CP_AF_BAD_CERT] = "bad_certificate",
	[CP_AF_PROTOCOL] = "protocol",
};

const char *cp_authfail_reason_name(enum cp_authfail_reason r)
{
	return (unsigned)r < CP_AF_N ? reason_names[r] : "?";
}

enum cp_authfail_reason cp_authfail_classify(long verify_result, int ssl_reason)
{
	switch (verify_result) {
	case X509_V_OK:
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return CP_AF_UNKNOWN_CA;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return CP_AF_EXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return CP_AF_REVOKED;
	case X509_V_ERR_INVALID_PURPOSE:
		return CP_AF_BAD_EKU;
	default:
		return CP_AF_BAD_CERT;
	}
	if (ssl_reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		return CP_AF_NO_CERT;
	return CP_AF_PROTOCOL;
}

static void add_addr(struct cp_authfail *f, const uint8_t addr[16], uint64_t n)
{
	for (size_t i = 0; i < f->n_addrs; i++)
		if (memcmp(f->addrs[i].addr, addr, 16) == 0) {
			f->addrs[i].n += n;
			return;
		}
	if (f->n_addrs == CP_AUTHFAIL_ADDRS_MAX) {
		f->overflow += n;
		return;
	}
	memcpy(f->addrs[f->n_addrs].addr, addr, 16);
	f->addrs[f->n_addrs++].n = n;
}

void cp_authfail_add(struct cp_authfail *f, enum cp_authfail_reason r, const uint8_t addr[16])
{
	f->total++;
	f->by_reason[(unsigned)r < CP_AF_N ? r : CP_AF_PROTOCOL]++;
	add_addr(f, addr, 1);
}

void cp_authfail_merge(struct cp_authfail *into, const struct cp_authfail *from)
{
	into->total += from->total;
	for (size_t i = 0; i < CP_AF_N; i++)
		into->by_reason[i] += from->by_reason[i];
	for (size_t i = 0; i < from->n_addrs; i++)
		add_addr(into, from->addrs[i].addr, from->addrs[i].n);
	into->overflow += from->overflow;
}

/* Bounded appends: once full, further text is dropped and *full set. */
struct out {
	char *buf;
	size_t len, size;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->full = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

static void addr_text(const uint8_t a[16], char *buf, size_t size)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a, mapped, 12) == 0)
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)size);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)size);
}

static int by_count_desc(const void *x, const void *y)
{
	const struct cp_authfail_addr *a = x, *b = y;

	if (a->n != b->n)
		return a->n < b->n ? 1 : -1;
	return memcmp(a->addr, b->addr, 16);
}

uint64_t cp_authfail_format(const struct cp_authfail *f, uint64_t elapsed_ms,
			    char buf[static CP_AUTHFAIL_TEXT_MAX])
{
	static const char cut[] = "...";
	struct cp_authfail_addr sorted[CP_AUTHFAIL_ADDRS_MAX];
	/* room for the cut marker is kept back until the end */
	struct out o = {buf, 0, CP_AUTHFAIL_TEXT_MAX - (sizeof(cut) - 1), false};
	bool first = true;

	buf[0] = '\0';
	if (f->total == 0)
		return 0;
	if (elapsed_ms % 1000 < 100)
		put(&o, "TLS handshake failures in the last %" PRIu64 " s: %" PRIu64 " (",
		    elapsed_ms / 1000, f->total);
	else
		put(&o, "TLS handshake failures in the last %" PRIu64 ".%" PRIu64 " s: %" PRIu64
		    " (", elapsed_ms / 1000, elapsed_ms % 1000 / 100, f->total);
	for (size_t i = 0; i < CP_AF_N; i++)
		if (f->by_reason[i]) {
			put(&o, "%s%s %" PRIu64, first ? "" : ", ", reason_names[i],
			    f->by_reason[i]);
			first = false;
		}
	put(&o, "), from %s%zu address%s", f->overflow ? "more than " : "", f->n_addrs,
	    f->n_addrs == 1 && !f->overflow ? "" : "es");
	memcpy(sorted, f->addrs, f->n_addrs * sizeof(sorted[0]));
	qsort(sorted, f->n_addrs, sizeof(sorted[0]), by_count_desc);
	for (size_t i = 0; i < f->n_addrs && i < CP_AUTHFAIL_LIST_MAX; i++) {
		char a[INET6_ADDRSTRLEN];

		addr_text(sorted[i].addr, a, sizeof(a));
		put(&o, "%s%s (%" PRIu64 ")", i ? ", " : ": ", a, sorted[i].n);
	}
	if (f->n_addrs > CP_AUTHFAIL_LIST_MAX || f->overflow)
		put(&o, ", ...");
	if (o.full)
		memcpy(buf + o.len, cut, sizeof(cut));
	return f->total;
}
