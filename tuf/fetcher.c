/* SPDX-License-Identifier: Apache-2.0 */
/* The fetcher: bounded downloads over http(s) with libcurl and reads of file:// URLs. */
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "tuf/fetcher.h"

#define FETCH_CHUNK 65536
#define FETCH_MAX_URL 8192
#define DEFAULT_CONNECT_TIMEOUT_S 15
#define DEFAULT_LOW_SPEED_LIMIT 1024
#define DEFAULT_LOW_SPEED_TIME_S 30

struct tuf_fetcher {
	CURL *curl; /* created on first http(s) use and reused for keep-alive */
	char *ca_file;
	char *cert_file;
	char *key_file;
	long connect_timeout_s;
	long low_speed_limit;
	long low_speed_time_s;
	long timeout_s;
	uint64_t requests;
	char errbuf[CURL_ERROR_SIZE]; /* curl's detail of the last failure (host name, TLS) */
};

/* State of one transfer, shared by the curl callbacks. */
struct transfer {
	struct tuf_fetcher *f;
	const char *url;
	uint64_t offset;   /* requested start */
	uint64_t max_len;  /* bytes from offset the sink may see */
	uint64_t skip;	   /* bytes still to drop (server ignored Range) */
	uint64_t received; /* bytes passed to the sink */
	tuf_fetch_sink_fn sink;
	void *userdata;
	bool status_checked;
	int error; /* set when a callback aborts the transfer */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int strdup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int tuf_fetcher_new(const struct tuf_fetcher_options *opts, struct tuf_fetcher **ret)
{
	struct tuf_fetcher *f;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (opts) {
		r = strdup_opt(opts->ca_file, &f->ca_file);
		if (r >= 0)
			r = strdup_opt(opts->cert_file, &f->cert_file);
		if (r >= 0)
			r = strdup_opt(opts->key_file, &f->key_file);
		if (r < 0) {
			tuf_fetcher_free(f);
			return r;
		}
		f->connect_timeout_s = opts->connect_timeout_s;
		f->low_speed_limit = opts->low_speed_limit;
		f->low_speed_time_s = opts->low_speed_time_s;
		f->timeout_s = opts->timeout_s;
	}
	if (f->connect_timeout_s <= 0)
		f->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	if (f->low_speed_limit <= 0)
		f->low_speed_limit = DEFAULT_LOW_SPEED_LIMIT;
	if (f->low_speed_time_s <= 0)
		f->low_speed_time_s = DEFAULT_LOW_SPEED_TIME_S;
	if (f->timeout_s < 0)
		f->timeout_s = 0;
	*ret = f;
	return 0;
}

struct tuf_fetcher *tuf_fetcher_free(struct tuf_fetcher *f)
{
	if (!f)
		return NULL;
	if (f->curl)
		curl_easy_cleanup(f->curl);
	free(f->ca_file);
	free(f->cert_file);
	free(f->key_file);
	free(f);
	return NULL;
}

uint64_t tuf_fetcher_requests(const struct tuf_fetcher *f)
{
	return f->requests;
}

static bool has_prefix_nocase(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Hand a piece of body to the sink, enforcing max_len (counted from offset). */
static int deliver(struct transfer *t, const uint8_t *data, size_t len)
{
	if (t->skip > 0) {
		size_t k = t->skip < len ? (size_t)t->skip : len;

		data += k;
		len -= k;
		t->skip -= k;
	}
	if (len == 0)
		return 0;
	if (len > t->max_len - t->received)
		return sl_error(TUF_E_TOO_LARGE, "%s: more than the limit of %" PRIu64 " bytes",
				t->url, t->max_len);
	t->received += len;
	return t->sink(t->userdata, data, len);
}

/* file:// ------------------------------------------------------------------------------------ */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The local path of a file:// URL ("file:///p" or "file://localhost/p"), percent-decoded.
 * A decoded NUL or '/' is refused: an encoded separator in a role name or target path must
 * never reach another directory.
 */
static int file_url_path(const char *url, char **ret)
{
	const char *p = url + strlen("file://");
	_cleanup_free_ char *out = NULL;
	size_t n = 0;

	if (has_prefix_nocase(p, "localhost/"))
		p += strlen("localhost");
	if (*p != '/')
		return sl_error(SL_E_INVALID, "%s: file URL must name an absolute local path", url);
	out = malloc(strlen(p) + 1);
	if (!out)
		return -ENOMEM;
	for (; *p; p++) {
		if (*p == '?' || *p == '#')
			return sl_error(SL_E_INVALID, "%s: query or fragment in a file URL", url);
		if (*p != '%') {
			out[n++] = *p;
			continue;
		}
		int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
		if (hi < 0 || lo < 0)
			return sl_error(SL_E_INVALID, "%s: invalid percent-encoding", url);
		char c = (char)(hi << 4 | lo);
		if (c == '\0' || c == '/')
			return sl_error(TUF_E_PATH, "%s: encoded NUL or '/' in a file URL", url);
		out[n++] = c;
		p += 2;
	}
	out[n] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static int fetch_file(struct transfer *t)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = file_url_path(t->url, &path);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return sl_error(TUF_E_NOT_FOUND, "%s: no such file", t->url);
		if (errno == ELOOP)
			return sl_error(TUF_E_PATH, "%s: is a symbolic link", t->url);
		return sl_error(-errno, "%s: %s", t->url, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return sl_error(TUF_E_PATH, "%s: not a regular file", t->url);
	/* A quick refusal by size; the read loop below enforces the limit anyway. */
	if ((uint64_t)st.st_size > t->offset && (uint64_t)st.st_size - t->offset > t->max_len)
		return sl_error(TUF_E_TOO_LARGE,
				"%s: %jd bytes exceed the limit of %" PRIu64 " bytes", t->url,
				(intmax_t)st.st_size, t->max_len);
	if (t->offset > 0 && lseek(fd, (off_t)t->offset, SEEK_SET) < 0)
		return sl_error(-errno, "%s: cannot seek to %" PRIu64, t->url, t->offset);
	buf = malloc(FETCH_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf, FETCH_CHUNK);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return sl_error(-errno, "%s: %s", t->url, strerror(errno));
		}
		if (k == 0)
			return 0;
		r = deliver(t, buf, (size_t)k);
		if (r < 0)
			return r;
	}
}

/* http(s) ------------------------------------------------------------------------------------ */

/* Checks the HTTP status once, before any byte of the body reaches the sink. */
static int check_status(struct transfer *t)
{
	long code = 0;

	t->status_checked = true;
	curl_easy_getinfo(t->f->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code == 404 || code == 403)
		return sl_error(TUF_E_NOT_FOUND, "%s: HTTP status %ld", t->url, code);
	if (code == 206 && t->offset > 0)
		return 0;
	if (code == 200) {
		t->skip = t->offset; /* Range ignored: drop the bytes before offset */
		return 0;
	}
	return sl_error(TUF_E_NETWORK, "%s: unexpected HTTP status %ld", t->url, code);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * nmemb;
	int r;

	if (!t->status_checked) {
		r = check_status(t);
		if (r < 0) {
			t->error = r;
			return 0; /* aborts with CURLE_WRITE_ERROR */
		}
	}
	r = deliver(t, (const uint8_t *)data, len);
	if (r < 0) {
		t->error = r;
		return 0; /* aborts with CURLE_WRITE_ERROR */
	}
	return len;
}

/*
 * For a 206 answer, the Content-Range start must be the offset we asked for; anything else
 * would splice foreign bytes into a resumed file.
 */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * nmemb;
	const char *name = "content-range:";
	char line[256];
	uint64_t start;

	if (t->offset == 0 || len <= strlen(name) || len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	if (!has_prefix_nocase(line, name))
		return len;
	if (sscanf(line + strlen(name), " bytes %" SCNu64 "-", &start) != 1 || start != t->offset) {
		t->error = sl_error(TUF_E_NETWORK, "%s: Content-Range does not start at %" PRIu64,
				    t->url, t->offset);
		return 0;
	}
	return len;
}

static int curl_error(struct transfer *t, CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return sl_error(TUF_E_SLOW, "%s: transfer too slow or timed out", t->url);
	case CURLE_FILESIZE_EXCEEDED:
		return sl_error(TUF_E_TOO_LARGE, "%s: more than the limit of %" PRIu64 " bytes",
				t->url, t->max_len);
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		/* curl's own detail names the cause, e.g. which host name the certificate lacks. */
		if (t->f->errbuf[0])
			return sl_error(TUF_E_NETWORK, "%s: %s: %s", t->url, curl_easy_strerror(c),
					t->f->errbuf);
		return sl_error(TUF_E_NETWORK, "%s: %s", t->url, curl_easy_strerror(c));
	}
}

static int setup_curl(struct tuf_fetcher *f)
{
	CURL *c;

	if (f->curl) {
		curl_easy_reset(f->curl); /* keeps the connection cache */
	} else {
		pthread_once(&curl_once, curl_init_once);
		if (curl_init_result != CURLE_OK)
			return sl_error(TUF_E_NETWORK, "libcurl: %s",
					curl_easy_strerror(curl_init_result));
		f->curl = curl_easy_init();
		if (!f->curl)
			return sl_error(TUF_E_NETWORK, "libcurl: cannot create a handle");
	}
	c = f->curl;
	if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, f->connect_timeout_s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, f->low_speed_limit) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, f->low_speed_time_s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, f->timeout_s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice-tuf") != CURLE_OK)
		return sl_error(TUF_E_NETWORK, "libcurl: cannot set transfer options");
	/* ca_file is then the only trust anchor: no CA directory (Debian's default). */
	if ((f->ca_file && curl_easy_setopt(c, CURLOPT_CAINFO, f->ca_file) != CURLE_OK) ||
	    (f->ca_file && curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK) ||
	    (f->cert_file && curl_easy_setopt(c, CURLOPT_SSLCERT, f->cert_file) != CURLE_OK) ||
	    (f->key_file && curl_easy_setopt(c, CURLOPT_SSLKEY, f->key_file) != CURLE_OK))
		return sl_error(TUF_E_NETWORK, "libcurl: cannot set TLS files");
	return 0;
}

static int fetch_http(struct transfer *t)
{
	struct tuf_fetcher *f = t->f;
	char range[64];
	CURLcode c;
	int r;

	r = setup_curl(f);
	if (r < 0)
		return r;
	if (curl_easy_setopt(f->curl, CURLOPT_URL, t->url) != CURLE_OK)
		return sl_error(SL_E_INVALID, "%s: invalid URL", t->url);
	f->errbuf[0] = '\0';
	curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(f->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, t);
	if (t->offset > 0) {
		snprintf(range, sizeof(range), "%" PRIu64 "-", t->offset);
		curl_easy_setopt(f->curl, CURLOPT_RANGE, range);
	}
	c = curl_easy_perform(f->curl);
	if (t->error < 0)
		return t->error;
	if (c != CURLE_OK)
		return curl_error(t, c);
	/* An empty body never reached write_cb: its status still has to be acceptable. */
	if (!t->status_checked)
		return check_status(t);
	return 0;
}

int tuf_fetcher_fetch(struct tuf_fetcher *f, const char *url, uint64_t offset, uint64_t max_len,
		      tuf_fetch_sink_fn sink, void *userdata)
{
	struct transfer t = {
	    .f = f,
	    .url = url,
	    .offset = offset,
	    .max_len = max_len,
	    .sink = sink,
	    .userdata = userdata,
	};

	if (!url || strlen(url) > FETCH_MAX_URL)
		return sl_error(SL_E_INVALID, "URL missing or longer than %d bytes", FETCH_MAX_URL);
	f->requests++;
	if (has_prefix_nocase(url, "file://"))
		return fetch_file(&t);
	if (has_prefix_nocase(url, "http://") || has_prefix_nocase(url, "https://"))
		return fetch_http(&t);
	return sl_error(SL_E_INVALID, "%s: only http, https and file URLs are supported", url);
}

struct buffer {
	uint8_t *data;
	size_t len;
	size_t cap;
};

static int buffer_sink(void *userdata, const void *data, size_t len)
{
	struct buffer *b = userdata;

	if (b->len + len + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		uint8_t *n;

		while (ncap < b->len + len + 1)
			ncap *= 2;
		n = realloc(b->data, ncap);
		if (!n)
			return -ENOMEM;
		b->data = n;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int tuf_fetcher_fetch_buf(struct tuf_fetcher *f, const char *url, size_t max_len, uint8_t **ret,
			  size_t *ret_len)
{
	struct buffer b = {};
	int r;

	r = tuf_fetcher_fetch(f, url, 0, max_len, buffer_sink, &b);
	if (r >= 0)
		r = buffer_sink(&b, "", 0); /* room for the terminating NUL even when empty */
	if (r < 0) {
		free(b.data);
		return r;
	}
	b.data[b.len] = '\0';
	*ret = b.data;
	*ret_len = b.len;
	return 0;
}
