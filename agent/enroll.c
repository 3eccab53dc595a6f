/* SPDX-License-Identifier: Apache-2.0 */
/* Token enrollment on the device: key, CSR, POST /v1/enroll to a server pinned by the token. */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll.h"
#include "error.h"
#include "provision.h"
#include "tuf/crypto.h"
#include "tuf/json.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all)

#define TOKEN_PREFIX "sl1."
#define SECRET_B64 43

int agent_enroll_token_fingerprint(const char *token, char ret_fp[static 65])
{
	const char *secret = token + strlen(TOKEN_PREFIX), *fp;

	if (strlen(token) != AGENT_ENROLL_TOKEN_LEN ||
	    strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 || secret[SECRET_B64] != '.')
		return sl_error(SL_E_INVALID, "token: not sl1.<secret>.<fingerprint>");
	if (strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    SECRET_B64)
		return sl_error(SL_E_INVALID, "token: the secret is not base64url");
	fp = secret + SECRET_B64 + 1;
	if (strspn(fp, "0123456789abcdef") != 64)
		return sl_error(SL_E_INVALID, "token: the fingerprint is not 64 lower-case hex "
					      "digits");
	memcpy(ret_fp, fp, 65);
	return 0;
}

/* https://host[:port][/prefix] without user info, query, fragment or white space. */
static int check_url(const char *url)
{
	size_t n = strlen(url);

	if (strncmp(url, "https://", 8) != 0 || n <= 8 || n > AGENT_ENROLL_URL_MAX)
		return sl_error(SL_E_INVALID,
				"--url: '%s' is not an https:// URL of at most %d "
				"bytes",
				url, AGENT_ENROLL_URL_MAX);
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '@' || *p == '?' || *p == '#' || *p == '\\')
			return sl_error(SL_E_INVALID,
					"--url: '%s' has user info, a query, a "
					"fragment or odd characters",
					url);
	return 0;
}

static int ossl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return sl_error(TUF_E_CRYPTO, "%s: %s", what, buf);
}

static int bio_text(BIO *b, char **ret, size_t *ret_len)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	*ret = malloc((size_t)n + 1);
	if (!*ret)
		return -ENOMEM;
	memcpy(*ret, data, (size_t)n);
	(*ret)[n] = '\0';
	*ret_len = (size_t)n;
	return 0;
}

/* A new P-256 key and its PKCS#8 PEM (*ret_pem malloc'd; the caller wipes and frees it). */
static int key_new(EVP_PKEY **ret, char **ret_pem, size_t *ret_len)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-256");
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_secmem());
	int r;

	if (!key || !b)
		return ossl_error("key generation");
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)
		return ossl_error("key encoding");
	r = bio_text(b, ret_pem, ret_len);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(key);
	return 0;
}

static int csr_new(EVP_PKEY *key, const char *cn, char **ret_pem)
{
	_cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
	size_t len;

	if (!req || !b || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName,
				       MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(b, req) != 1)
		return ossl_error("certificate request");
	return bio_text(b, ret_pem, &len);
}

static int cert_der_sha256(X509 *cert, char ret[static 65])
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	int r;

	if (n <= 0)
		return ossl_error("certificate encoding");
	r = tuf_sha256_hex(der, (size_t)n, ret);
	OPENSSL_free(der);
	return r;
}

/* ---- the pinned connection ---- */

struct pin {
	const char *fp; /* hex SHA-256 of the server CA's DER, from the token */
	bool ca_seen;	/* the server's chain held that CA */
	int verify_error;
};

/*
 * Replaces OpenSSL's chain verification for this connection: the anchor is the certificate
 * of the presented chain whose DER hashes to the token's fingerprint (and which is a CA),
 * and the server certificate must verify against that anchor alone. No CA store is used.
 */
static int pin_verify(X509_STORE_CTX *ctx, void *arg)
{
	struct pin *p = arg;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(ctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx), *anchor = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *v = NULL;
	char have[65];
	int ok = 0;

	for (int i = 0; chain && i < sk_X509_num(chain) && !anchor; i++) {
		X509 *c = sk_X509_value(chain, i);

		if (cert_der_sha256(c, have) >= 0 && strcmp(have, p->fp) == 0 &&
		    X509_check_ca(c) >= 1)
			anchor = c;
	}
	p->ca_seen = anchor != NULL;
	p->verify_error = X509_V_ERR_CERT_UNTRUSTED;
	if (anchor && leaf && (store = X509_STORE_new()) && (v = X509_STORE_CTX_new()) &&
	    X509_STORE_add_cert(store, anchor) == 1 &&
	    X509_STORE_CTX_init(v, store, leaf, chain) == 1 &&
	    X509_STORE_CTX_set_purpose(v, X509_PURPOSE_SSL_SERVER) == 1) {
		ok = X509_verify_cert(v) == 1;
		p->verify_error = ok ? X509_V_OK : X509_STORE_CTX_get_error(v);
	}
	X509_STORE_CTX_free(v);
	X509_STORE_free(store);
	X509_STORE_CTX_set_error(ctx, p->verify_error);
	ERR_clear_error();
	return ok;
}

static CURLcode ssl_ctx_cb(CURL *curl, void *ssl_ctx, void *userdata)
{
	(void)curl;
	SSL_CTX_set_cert_verify_callback(ssl_ctx, pin_verify, userdata);
	return CURLE_OK;
}

struct reply {
	char *buf;
	size_t len;
	bool too_large;
};

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct reply *r = userdata;
	size_t add = size * n;
	char *nb;

	if (add > AGENT_ENROLL_REPLY_MAX - r->len) {
		r->too_large = true;
		return 0;
	}
	nb = realloc(r->buf, r->len + add + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, data, add);
	r->buf = nb;
	r->len += add;
	r->buf[r->len] = '\0';
	return add;
}

static int curl_setup(CURL *c, const char *url, struct pin *pin, struct curl_slist *headers,
		      const char *body, struct reply *reply)
{
	CURLcode e = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (e == CURLE_OK)                                                                 \
			e = curl_easy_setopt(c, opt, val);                                         \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, ""); /* straight to the control plane, never through a proxy */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT, AGENT_ENROLL_TIMEOUT_S);
	SET(CURLOPT_CONNECTTIMEOUT, 30L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CAINFO, NULL);
	SET(CURLOPT_CAPATH, NULL);
	SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	SET(CURLOPT_SSL_CTX_DATA, pin);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, reply);
#undef SET
	if (e != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "libcurl: %s", curl_easy_strerror(e));
	return 0;
}

static int post(const char *url, const char *fp, const char *body, long *ret_status,
		struct reply *reply)
{
	_cleanup_(curl_easy_cleanupp) CURL *c = curl_easy_init();
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	struct pin pin = {.fp = fp};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode e;
	int r;

	if (!c)
		return -ENOMEM;
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!headers)
		return -ENOMEM;
	r = curl_setup(c, url, &pin, headers, body, reply);
	if (r < 0)
		return r;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	e = curl_easy_perform(c);
	if (e == CURLE_PEER_FAILED_VERIFICATION && !pin.ca_seen)
		return sl_error(TUF_E_NETWORK,
				"%s: the server did not present the CA the token "
				"names (sha256 %.16s...): refusing to talk to it",
				url, fp);
	if (e == CURLE_PEER_FAILED_VERIFICATION)
		return sl_error(TUF_E_NETWORK, "%s: server certificate refused: %s", url,
				pin.verify_error != X509_V_OK
				    ? X509_verify_cert_error_string(pin.verify_error)
				    : (errbuf[0] ? errbuf : curl_easy_strerror(e)));
	if (e == CURLE_WRITE_ERROR && reply->too_large)
		return sl_error(TUF_E_TOO_LARGE, "%s: answer larger than %u bytes", url,
				AGENT_ENROLL_REPLY_MAX);
	if (e == CURLE_OPERATION_TIMEDOUT)
		return sl_error(TUF_E_SLOW, "%s: no answer within %ld s", url,
				AGENT_ENROLL_TIMEOUT_S);
	if (e != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "%s: %s", url,
				errbuf[0] ? errbuf : curl_easy_strerror(e));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	return 0;
}

/* ---- the request and the answer ---- */

static int request_body(const struct agent_enroll_options *o, const char *csr, char **ret)
{
	struct json_object *b = json_object_new_object();

	if (!b)
		return -ENOMEM;
	json_object_object_add(b, "token", json_object_new_string(o->token));
	json_object_object_add(b, "csr", json_object_new_string(csr));
	json_object_object_add(b, "hardware", json_object_new_string(o->hardware));
	*ret = strdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(b);
	return *ret ? 0 : -ENOMEM;
}

static int refusal(long status, const char *body, size_t len)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	const char *msg = "";

	if (body && tuf_json_parse(body, len, 4, &o) >= 0 &&
	    json_object_is_type(o, json_type_object))
		(void)tuf_json_get_string(o, "error", &msg);
	switch (status) {
	case 401:
	case 403:
		return sl_error(CP_E_FORBIDDEN, "the control plane refused the token (invalid, "
						"expired or used)");
	case 409:
		return sl_error(CP_E_CONFLICT, "the control plane knows this device id already");
	case 400:
		return sl_error(SL_E_INVALID, "the control plane refused the request: %.200s", msg);
	default:
		return sl_error(TUF_E_NETWORK, "the control plane answered HTTP %ld %.200s", status,
				msg);
	}
}

/* The parts of a 200 answer: strings borrowed from the parsed document. */
struct answer {
	struct json_object *doc; /* owned */
	const char *id, *hardware, *certificate, *ca, *root;
};

static int answer_parse(const char *body, size_t len, struct answer *a)
{
	if (!body || tuf_json_parse(body, len, 4, &a->doc) < 0 ||
	    !json_object_is_type(a->doc, json_type_object) ||
	    tuf_json_get_string(a->doc, "id", &a->id) < 0 ||
	    tuf_json_get_string(a->doc, "hardware", &a->hardware) < 0 ||
	    tuf_json_get_string(a->doc, "certificate", &a->certificate) < 0 ||
	    tuf_json_get_string(a->doc, "ca", &a->ca) < 0 ||
	    tuf_json_get_string(a->doc, "root", &a->root) < 0)
		return sl_error(SL_E_INVALID, "enrollment answer: not {\"id\", \"hardware\", "
					      "\"certificate\", \"ca\", \"root\"}");
	if (!agent_name_is_safe(a->id) || !agent_name_is_safe(a->hardware))
		return sl_error(SL_E_INVALID, "enrollment answer: id or hardware not a safe name");
	return 0;
}

static int pem_cert(const char *pem, const char *what, X509 **ret)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, -1);

	*ret = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	ERR_clear_error();
	if (!*ret)
		return sl_error(SL_E_INVALID, "enrollment answer: %s is not a PEM certificate",
				what);
	return 0;
}

/* The answer's server CA is the one the token pinned; its certificate is for our key. */
static int answer_check(const struct answer *a, const char *fp, EVP_PKEY *key, const char *hw)
{
	_cleanup_(X509_freep) X509 *ca = NULL, *cert = NULL;
	char have[65];
	int r;

	if (strcmp(a->hardware, hw) != 0)
		return sl_error(SL_E_INVALID, "enrollment answer: hardware '%s' is not ours ('%s')",
				a->hardware, hw);
	r = pem_cert(a->ca, "ca", &ca);
	if (r >= 0)
		r = cert_der_sha256(ca, have);
	if (r < 0)
		return r;
	if (strcmp(have, fp) != 0 || X509_check_ca(ca) < 1)
		return sl_error(TUF_E_HASH,
				"enrollment answer: the server CA (sha256 %.16s...) "
				"is not the one the token names",
				have);
	r = pem_cert(a->certificate, "certificate", &cert);
	if (r < 0)
		return r;
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return sl_error(SL_E_INVALID, "enrollment answer: the certificate is not for the "
					      "key generated here");
	}
	return 0;
}

static int agent_conf(const struct answer *a, const char *url, char **ret)
{
	if (asprintf(ret,
		     "# sluice-agent identity, written by sluice-agent enroll\n"
		     "[device]\nid = %s\nhardware = %s\n\n[controlplane]\nurl = %s\n",
		     a->id, a->hardware, url) < 0)
		return -ENOMEM;
	return 0;
}

static int install(const char *state_dir, const struct agent_enroll_options *o,
		   const struct answer *a, const char *key_pem, size_t key_len)
{
	_cleanup_free_ char *conf = NULL;
	struct agent_identity_files f = {
	    .device_id = a->id,
	    .hardware = a->hardware,
	    .cert = a->certificate,
	    .cert_len = strlen(a->certificate),
	    .key = key_pem,
	    .key_len = key_len,
	    .ca = a->ca,
	    .ca_len = strlen(a->ca),
	    .root = a->root,
	    .root_len = strlen(a->root),
	};
	int r = agent_conf(a, o->url, &conf);

	if (r < 0)
		return r;
	f.conf = conf;
	f.conf_len = strlen(conf);
	return agent_identity_install(state_dir, &f, o->force, o->now);
}

static int exchange(const char *state_dir, const struct agent_enroll_options *o, const char *fp,
		    char ret_id[static AGENT_ID_MAX + 1])
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_free_ char *key_pem = NULL, *csr = NULL, *body = NULL, *url = NULL;
	struct reply reply = {};
	struct answer a = {};
	size_t key_len = 0, n = strlen(o->url);
	long status = 0;
	int r;

	while (n > 8 && o->url[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s/v1/enroll", (int)n, o->url) < 0)
		return -ENOMEM;
	r = key_new(&key, &key_pem, &key_len);
	if (r >= 0)
		r = csr_new(key, o->id, &csr);
	if (r >= 0)
		r = request_body(o, csr, &body);
	if (r >= 0)
		r = post(url, fp, body, &status, &reply);
	if (r >= 0 && status != 200)
		r = refusal(status, reply.buf, reply.len);
	if (r >= 0)
		r = answer_parse(reply.buf, reply.len, &a);
	if (r >= 0)
		r = answer_check(&a, fp, key, o->hardware);
	if (r >= 0)
		r = install(state_dir, o, &a, key_pem, key_len);
	if (r >= 0)
		snprintf(ret_id, AGENT_ID_MAX + 1, "%s", a.id);
	if (key_pem)
		explicit_bzero(key_pem, key_len);
	if (body)
		explicit_bzero(body, strlen(body)); /* holds the token */
	json_object_put(a.doc);
	free(reply.buf);
	return r;
}

int agent_enroll(const char *state_dir, const struct agent_enroll_options *o,
		 char ret_id[static AGENT_ID_MAX + 1])
{
	char fp[65];
	int r;

	if (agent_identity_present(state_dir) && !o->force)
		return sl_error(
		    CP_E_CONFLICT,
		    "%s/identity: the device is provisioned already (use --force to replace it)",
		    state_dir);
	r = agent_enroll_token_fingerprint(o->token, fp);
	if (r >= 0)
		r = check_url(o->url);
	if (r < 0)
		return r;
	if (!agent_name_is_safe(o->id) || !agent_name_is_safe(o->hardware))
		return sl_error(SL_E_INVALID,
				"device id and hardware must be 1 to %d characters "
				"of [A-Za-z0-9._-]",
				AGENT_ID_MAX);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "libcurl initialisation failed");
	r = exchange(state_dir, o, fp, ret_id);
	curl_global_cleanup();
	return r;
}
