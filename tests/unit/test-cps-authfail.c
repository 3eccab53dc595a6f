/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the refused-handshake counters and their aggregated audit text. */
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

#include "authfail.h"
#include "test.h"

static void v4(uint8_t a[16], uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = x;
	a[13] = y;
	a[14] = z;
	a[15] = w;
}

TEST(classify)
{
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_OK, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE),
		      CP_AF_NO_CERT);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0),
		      CP_AF_UNKNOWN_CA);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0),
		      CP_AF_UNKNOWN_CA);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_CERT_HAS_EXPIRED, 0), CP_AF_EXPIRED);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_CERT_NOT_YET_VALID, 0), CP_AF_EXPIRED);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_CERT_REVOKED, 0), CP_AF_REVOKED);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_INVALID_PURPOSE, 0), CP_AF_BAD_EKU);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_ERR_UNABLE_TO_GET_CRL, 0), CP_AF_BAD_CERT);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_OK, 0), CP_AF_PROTOCOL);
	ASSERT_EQ_INT(cp_authfail_classify(X509_V_OK, SSL_R_UNSUPPORTED_PROTOCOL), CP_AF_PROTOCOL);
	ASSERT_EQ_STR(cp_authfail_reason_name(CP_AF_UNKNOWN_CA), "unknown_ca");
	ASSERT_EQ_STR(cp_authfail_reason_name(CP_AF_N), "?");
}

TEST(count_merge_format)
{
	struct cp_authfail a = {}, b = {}, all = {};
	char text[CP_AUTHFAIL_TEXT_MAX];
	uint8_t x[16], y[16], z[16];

	ASSERT_EQ_INT(cp_authfail_format(&a, 60000, text), 0);
	ASSERT_EQ_STR(text, "");
	v4(x, 127, 0, 0, 2);
	v4(y, 10, 1, 2, 3);
	memset(z, 0, 16);
	z[0] = 0x20;
	z[1] = 0x01;
	z[2] = 0x0d;
	z[3] = 0xb8;
	z[15] = 1;
	for (int i = 0; i < 5; i++)
		cp_authfail_add(&a, CP_AF_UNKNOWN_CA, x);
	cp_authfail_add(&a, CP_AF_REVOKED, y);
	cp_authfail_add(&b, CP_AF_UNKNOWN_CA, x);
	cp_authfail_add(&b, CP_AF_NO_CERT, z);
	cp_authfail_add(&b, CP_AF_NO_CERT, z);
	cp_authfail_merge(&all, &a);
	cp_authfail_merge(&all, &b);
	ASSERT_EQ_INT(all.total, 9);
	ASSERT_EQ_INT(all.n_addrs, 3);
	ASSERT_EQ_INT(cp_authfail_format(&all, 60003, text), 9);
	ASSERT_EQ_STR(text, "TLS handshake failures in the last 60 s: 9 (no_certificate 2, "
			    "unknown_ca 6, revoked 1), from 3 addresses: 127.0.0.2 (6), "
			    "2001:db8::1 (2), 10.1.2.3 (1)");
	memset(&a, 0, sizeof(a));
	cp_authfail_add(&a, CP_AF_BAD_EKU, y);
	ASSERT_EQ_INT(cp_authfail_format(&a, 500, text), 1);
	ASSERT_EQ_STR(text, "TLS handshake failures in the last 0.5 s: 1 (bad_eku 1), from 1 "
			    "address: 10.1.2.3 (1)");
}

TEST(flood_is_capped)
{
	struct cp_authfail *f = calloc(1, sizeof(*f)), *g = calloc(1, sizeof(*g));
	char text[CP_AUTHFAIL_TEXT_MAX];
	uint8_t a[16];

	ASSERT_TRUE(f && g);
	/* 100000 failures from 1000 addresses: the table keeps CP_AUTHFAIL_ADDRS_MAX of them */
	for (int i = 0; i < 100000; i++) {
		v4(a, 10, 0, (uint8_t)(i % 1000 / 256), (uint8_t)(i % 1000));
		cp_authfail_add(f, (enum cp_authfail_reason)(i % CP_AF_N), a);
	}
	ASSERT_EQ_INT(f->total, 100000);
	ASSERT_EQ_INT(f->n_addrs, CP_AUTHFAIL_ADDRS_MAX);
	ASSERT_EQ_INT(f->overflow, 100000 - CP_AUTHFAIL_ADDRS_MAX * 100);
	cp_authfail_merge(g, f);
	cp_authfail_merge(g, f);
	ASSERT_EQ_INT(g->total, 200000);
	ASSERT_EQ_INT(g->n_addrs, CP_AUTHFAIL_ADDRS_MAX);
	ASSERT_EQ_INT(cp_authfail_format(g, 60000, text), 200000);
	ASSERT_TRUE(strlen(text) < CP_AUTHFAIL_TEXT_MAX);
	ASSERT_TRUE(strstr(text, "from more than 64 addresses: ") != NULL);
	ASSERT_TRUE(strstr(text, ", ...") != NULL);
	/* every reason named, at most CP_AUTHFAIL_LIST_MAX addresses */
	for (int r = 0; r < CP_AF_N; r++)
		ASSERT_TRUE(strstr(text, cp_authfail_reason_name((enum cp_authfail_reason)r)));
	ASSERT_TRUE(strstr(text, "(200)") != NULL);
	{
		int n = 0;

		for (const char *p = text; (p = strstr(p, "10.0.")); p++)
			n++;
		ASSERT_EQ_INT(n, CP_AUTHFAIL_LIST_MAX);
	}
	free(f);
	free(g);
}

TEST(worst_case_fits)
{
	struct cp_authfail f = {};
	char text[CP_AUTHFAIL_TEXT_MAX];
	uint8_t a[16];

	/* the longest text: every reason and every listed address with 20-digit counts and
	 * 39-character IPv6 addresses, and the overflow marker */
	for (int i = 0; i < CP_AUTHFAIL_ADDRS_MAX; i++) {
		memset(a, 0xab, 16);
		a[15] = (uint8_t)i;
		cp_authfail_add(&f, CP_AF_PROTOCOL, a);
		f.addrs[i].n = UINT64_MAX - (uint64_t)i;
	}
	f.overflow = 1;
	f.total = UINT64_MAX;
	for (int r = 0; r < CP_AF_N; r++)
		f.by_reason[r] = UINT64_MAX;
	ASSERT_TRUE(cp_authfail_format(&f, UINT64_MAX, text) > 0);
	ASSERT_TRUE(strlen(text) < CP_AUTHFAIL_TEXT_MAX);
	ASSERT_TRUE(strstr(text, "abab:abab:abab:abab:abab:abab:abab:ab00 (18446744073709551615)"));
	ASSERT_TRUE(strstr(text, "protocol 18446744073709551615), from more than 64 addresses"));
	ASSERT_EQ_STR(text + strlen(text) - 5, ", ...");
}

int main(void)
{
	RUN(classify);
	RUN(count_merge_format);
	RUN(flood_is_capped);
	RUN(worst_case_fits);
	return 0;
}
