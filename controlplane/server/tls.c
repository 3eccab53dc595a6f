/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for the control plane: the server context (mTLS with the device CA and CRL) and peers. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "tls.h"

static const unsigned char session_id_context[] = "sluice-controlplane";

static void ssl_ctx_freep(SSL_CTX **p)
{
	SSL_CTX_free(*p);
}

static void filep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static int ossl_error(const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return sl_error(SL_E_CONFIG, "%s '%s': %s", what, path, buf);
}

/* Accept only leaf certificates that name clientAuth in their extended key usage. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
	X509 *cert;

	if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
		return ok;
	cert = X509_STORE_CTX_get_current_cert(store);
	if (!cert || !(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT)) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
		return 0;
	}
	return 1;
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static int load_crls(SSL_CTX *ctx, const char *path, struct cp_tls_info *info)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	_cleanup_(filep) FILE *f = NULL;
	size_t n = 0;
	X509_CRL *crl;

	f = fopen(path, "re");
	if (!f)
		return sl_error(-errno, "cannot open CRL '%s': %s", path, strerror(errno));
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL))) {
		STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
		int64_t next = asn1_time_unix(X509_CRL_get0_nextUpdate(crl));

		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			return ossl_error("cannot add CRL", path);
		}
		info->crl_revoked += rev ? (size_t)sk_X509_REVOKED_num(rev) : 0;
		if (next && (!info->crl_next_update || next < info->crl_next_update))
			info->crl_next_update = next;
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	if (n == 0)
		return sl_error(SL_E_CONFIG, "'%s' holds no CRL", path);
	return 0;
}

/* Send the server CA in the chain (once), so that enrolling devices can pin it. */
static int add_server_ca(SSL_CTX *ctx, const char *path)
{
	_cleanup_(filep) FILE *f = fopen(path, "re");
	STACK_OF(X509) *chain = NULL;
	X509 *ca;
	int ok;

	if (!f)
		return sl_error(-errno, "cannot open server CA '%s': %s", path, strerror(errno));
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	if (!ca)
		return ossl_error("no certificate in", path);
	SSL_CTX_get0_chain_certs(ctx, &chain);
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		if (X509_cmp(sk_X509_value(chain, i), ca) == 0) {
			X509_free(ca);
			return 0;
		}
	ok = SSL_CTX_add0_chain_cert(ctx, ca);
	if (ok != 1) {
		X509_free(ca);
		return ossl_error("cannot add to the chain", path);
	}
	return 0;
}

/*
 * Token enrollment: trust the enrollment CA (an intermediate of the device CA: chains still
 * end at the device CA, no partial chains), load its CRL (X509_V_FLAG_CRL_CHECK needs one
 * per issuer), send the server CA, and let clients without a certificate finish the
 * handshake. A presented certificate is still verified and refused when bad.
 */
static int load_enrollment(SSL_CTX *ctx, const char *dir, struct cp_tls_info *info)
{
	_cleanup_free_ char *crt = NULL, *crl = NULL, *server_ca = NULL;
	_cleanup_(filep) FILE *f = NULL;
	X509 *ca;
	int r;

	if (!dir)
		return 0;
	if (asprintf(&crt, "%s/enroll-ca.crt", dir) < 0 ||
	    asprintf(&crl, "%s/enroll-crl.pem", dir) < 0 ||
	    asprintf(&server_ca, "%s/server-ca.pem", dir) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	f = fopen(crt, "re");
	if (!f && errno == ENOENT)
		return 0;
	if (!f)
		return sl_error(-errno, "cannot open enrollment CA '%s': %s", crt, strerror(errno));
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	if (!ca)
		return ossl_error("no certificate in", crt);
	r = X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
	X509_free(ca);
	if (r != 1)
		return ossl_error("cannot trust enrollment CA", crt);
	r = load_crls(ctx, crl, info);
	if (r < 0)
		return sl_error(r, "%s (token enrollment: run 'sluice-controlplane enroll-ca crl')",
				sl_error_message(r));
	r = add_server_ca(ctx, server_ca);
	if (r < 0)
		return r;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	info->enrollment = true;
	return 0;
}

static int load_identity(SSL_CTX *ctx, const struct cp_tls_paths *paths, struct cp_tls_info *info)
{
	X509 *cert;

	if (SSL_CTX_use_certificate_chain_file(ctx, paths->cert) != 1)
		return ossl_error("cannot load server certificate", paths->cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, paths->key, SSL_FILETYPE_PEM) != 1)
		return ossl_error("cannot load server key", paths->key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ossl_error("server key does not match certificate", paths->key);
	cert = SSL_CTX_get0_certificate(ctx);
	X509_NAME_oneline(X509_get_subject_name(cert), info->server_subject,
			  sizeof(info->server_subject));
	info->server_not_after = asn1_time_unix(X509_get0_notAfter(cert));
	return 0;
}

static int load_client_ca(SSL_CTX *ctx, const char *path, struct cp_tls_info *info)
{
	STACK_OF(X509_NAME) *names;

	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
		return ossl_error("cannot load device CA", path);
	names = SSL_load_client_CA_file(path);
	if (!names)
		return ossl_error("no CA certificate in", path);
	info->client_cas = (size_t)sk_X509_NAME_num(names);
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

int cp_tls_ctx_new(const struct cp_tls_paths *paths, SSL_CTX **ret, struct cp_tls_info *ret_info)
{
	_cleanup_(ssl_ctx_freep) SSL_CTX *ctx = NULL;
	struct cp_tls_info info = {};
	int r;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return sl_error(SL_E_NOMEM, "cannot create TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof(session_id_context) - 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);

	r = load_identity(ctx, paths, &info);
	if (r < 0)
		return r;
	r = load_client_ca(ctx, paths->client_ca, &info);
	if (r < 0)
		return r;
	r = load_crls(ctx, paths->crl, &info);
	if (r < 0)
		return r;
	r = load_enrollment(ctx, paths->enroll_dir, &info);
	if (r < 0)
		return r;
	X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_CRL_CHECK);

	*ret = TAKE_PTR(ctx);
	if (ret_info)
		*ret_info = info;
	return 0;
}

int cp_tls_peer_device_id(SSL *ssl, char ret[static CP_DEVICE_ID_MAX + 1])
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	X509_NAME *name;
	const ASN1_STRING *data;
	unsigned char *utf8 = NULL;
	int idx, len;

	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
		return sl_error(CP_E_FORBIDDEN, "no verified client certificate");
	name = X509_get_subject_name(cert);
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return sl_error(CP_E_FORBIDDEN, "client certificate has no subject CN");
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return sl_error(CP_E_FORBIDDEN, "client certificate has several subject CNs");
	data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	len = ASN1_STRING_to_UTF8(&utf8, data);
	if (len < 0)
		return sl_error(CP_E_FORBIDDEN, "client certificate CN is not a valid string");
	if (len == 0 || len > CP_DEVICE_ID_MAX || memchr(utf8, '\0', (size_t)len)) {
		OPENSSL_free(utf8);
		return sl_error(CP_E_FORBIDDEN, "client certificate CN is empty, too long or has NUL");
	}
	memcpy(ret, utf8, (size_t)len);
	ret[len] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

int cp_tls_peer_cert_sha256(SSL *ssl, char ret[static 65])
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32) {
		ERR_clear_error();
		return sl_error(CP_E_FORBIDDEN, "no client certificate to hash");
	}
	sl_hex_encode(md, len, ret);
	return 0;
}
