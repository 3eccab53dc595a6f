/* SPDX-License-Identifier: Apache-2.0 */
/* The device API client: libcurl over mTLS with only the provisioned CA trusted, no redirects. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "error.h"
#include "macro.h"

#define URL_MAX 2048
#define CONNECT_TIMEOUT_S 15L
#define RETRY_AFTER_TEXT_MAX 64

struct agent_client {
	CURL *curl;
	char *base, *ca, *cert, *key;
	bool airgap;
	const atomic_int *cancel;
};

/* What one request collects. */
struct request {
	struct agent_client *c;
	struct agent_http_reply *reply;
	size_t cap;
	bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void agent_http_reply_clear(struct agent_http_reply *r)
{
	free(r->body);
	*r = (struct agent_http_reply){};
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int agent_retry_after_parse(const char *value, int64_t now, unsigned *ret)
{
	size_t n = strlen(value);
	struct tm tm = {};
	const char *end;
	int64_t when;

	if (all_digits(value, n)) {
		unsigned long long v = 0;

		for (size_t i = 0; i < n && v <= AGENT_RETRY_AFTER_MAX; i++)
			v = v * 10 + (unsigned)(value[i] - '0');
		*ret = v > AGENT_RETRY_AFTER_MAX ? AGENT_RETRY_AFTER_MAX : (unsigned)v;
		return 0;
	}
	/* IMF-fixdate, the form RFC 9110 requires senders to use. */
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return sl_error(SL_E_INVALID, "Retry-After: '%.64s' is neither seconds nor a date",
				value);
	when = (int64_t)timegm(&tm);
	if (when <= now)
		*ret = 0;
	else
		*ret = when - now > AGENT_RETRY_AFTER_MAX ? AGENT_RETRY_AFTER_MAX
							  : (unsigned)(when - now);
	return 0;
}

int agent_client_new(const struct agent_client_options *o, struct agent_client **ret)
{
	_cleanup_free_ struct agent_client *c = NULL;
	size_t n = strlen(o->base_url);

	if (strncmp(o->base_url, "https://", 8) != 0 || n > URL_MAX / 2 ||
	    o->base_url[n - 1] != '/' || o->base_url[8] == '/' ||
	    strpbrk(o->base_url, "?#@ \t\r\n\\"))
		return sl_error(SL_E_CONFIG,
				"control plane URL '%s': must be https://host[:port]/ (ending in "
				"'/', no user, query or fragment)",
				o->base_url);
	if (!o->ca_file || !o->cert_file || !o->key_file)
		return sl_error(SL_E_CONFIG,
				"control plane client: CA, certificate and key needed");
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "libcurl: %s", curl_easy_strerror(curl_init_result));
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->airgap = o->airgap;
	c->cancel = o->cancel;
	c->base = strdup(o->base_url);
	c->ca = strdup(o->ca_file);
	c->cert = strdup(o->cert_file);
	c->key = strdup(o->key_file);
	c->curl = curl_easy_init();
	if (!c->base || !c->ca || !c->cert || !c->key || !c->curl) {
		agent_client_free(TAKE_PTR(c));
		return -ENOMEM;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

struct agent_client *agent_client_free(struct agent_client *c)
{
	if (!c)
		return NULL;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c);
	return NULL;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct request *q = userdata;
	struct agent_http_reply *r = q->reply;
	size_t n = size * nmemb;

	if (n > AGENT_HTTP_BODY_MAX - r->len) {
		q->too_large = true;
		return 0;
	}
	if (r->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		char *p;

		while (cap < r->len + n + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p)
			return 0;
		r->body = p;
		q->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	static const char name[] = "retry-after:";
	struct request *q = userdata;
	size_t n = size * nitems;
	char value[RETRY_AFTER_TEXT_MAX + 1];
	size_t i = sizeof(name) - 1, k = 0;
	unsigned secs;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		q->reply->retry_after_s = 0; /* a new response (after a 100 Continue) */
		return n;
	}
	if (n < i || strncasecmp(data, name, i) != 0)
		return n;
	while (i < n && (data[i] == ' ' || data[i] == '\t'))
		i++;
	while (i < n && data[i] != '\r' && data[i] != '\n' && k < RETRY_AFTER_TEXT_MAX)
		value[k++] = data[i++];
	while (k > 0 && (value[k - 1] == ' ' || value[k - 1] == '\t'))
		k--;
	value[k] = '\0';
	if (agent_retry_after_parse(value, (int64_t)time(NULL), &secs) >= 0)
		q->reply->retry_after_s = secs;
	return n;
}

static int progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct request *q = userdata;

	return q->c->cancel && *q->c->cancel ? 1 : 0;
}

static bool path_is_safe(const char *path)
{
	if (!*path || path[0] == '/' || strstr(path, ".."))
		return false;
	for (const char *p = path; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("/._-", *p)))
			return false;
	return true;
}

static int setup(struct agent_client *c, struct request *q, const char *url,
		 struct curl_slist *headers, const char *body, size_t len)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    /* Only the provisioned CA: no CA directory (Debian's libcurl defaults to one). */
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLKEY, c->key) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, AGENT_HTTP_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice-agent") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, q) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, q) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, q) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "libcurl: cannot set request options");
	/* Air gap: never a proxy, whatever the environment says. */
	if (c->airgap && curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "libcurl: cannot disable proxies");
	return 0;
}

int agent_client_post(struct agent_client *c, const char *path, const char *body, size_t len,
		      struct agent_http_reply *ret)
{
	struct curl_slist *headers = NULL, *h2;
	struct agent_http_reply reply = {};
	struct request q = {.c = c, .reply = &reply};
	char url[URL_MAX];
	CURLcode cc;
	int r;

	if (!path_is_safe(path))
		return sl_error(SL_E_INVALID, "API path '%s' is not a plain relative path", path);
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url))
		return sl_error(SL_E_INVALID, "API URL longer than %d bytes", URL_MAX);
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	h2 = headers ? curl_slist_append(headers, "Expect:") : NULL;
	if (!h2) {
		curl_slist_free_all(headers);
		return -ENOMEM;
	}
	headers = h2;
	r = setup(c, &q, url, headers, body, len);
	if (r >= 0) {
		cc = curl_easy_perform(c->curl);
		if (cc == CURLE_ABORTED_BY_CALLBACK)
			r = sl_error(-ECANCELED, "%s: cancelled", url);
		else if (q.too_large)
			r = sl_error(TUF_E_TOO_LARGE, "%s: answer larger than %u bytes", url,
				     AGENT_HTTP_BODY_MAX);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			r = sl_error(TUF_E_SLOW, "%s: %s", url, curl_easy_strerror(cc));
		else if (cc != CURLE_OK)
			r = sl_error(TUF_E_NETWORK, "%s: %s", url, curl_easy_strerror(cc));
		else
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &reply.status);
	}
	/* The handle must not keep pointers to what is freed below. */
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (r < 0) {
		agent_http_reply_clear(&reply);
		return r;
	}
	*ret = reply;
	return 0;
}

static int client_post(void *userdata, const char *path, const char *body, size_t len,
		       struct agent_http_reply *ret)
{
	return agent_client_post(userdata, path, body, len, ret);
}

struct agent_transport agent_client_transport(struct agent_client *c)
{
	return (struct agent_transport){.post = client_post, .userdata = c};
}
