/* SPDX-License-Identifier: Apache-2.0 */
/* The endpoints: TUF repository files (cached metadata, streamed targets, Range) and device API. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "enroll.h"
#include "server.h"

#define METADATA_PREFIX "/tuf/metadata/"
#define TARGETS_PREFIX "/tuf/targets/"

static bool path_is(const char *url, const char *path)
{
	size_t n = strlen(path);

	return strncmp(url, path, n) == 0 && (url[n] == '\0' || url[n] == '?');
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t cp_route_body_cap(enum http_method method, const char *url)
{
	if (method != HTTP_POST)
		return 0;
	if (path_is(url, "/v1/checkin"))
		return CP_CHECKIN_BODY_MAX;
	if (path_is(url, "/v1/events"))
		return CP_EVENTS_BODY_MAX;
	if (path_is(url, "/v1/enroll"))
		return CP_ENROLL_BODY_MAX;
	return 0;
}

/* ---- metadata cache (per loop, so no locks) ---- */

static unsigned name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % CP_CACHE_BUCKETS;
}

static const struct cp_cache_entry *cache_get(const struct cp_cache *cache, const char *name)
{
	for (const struct cp_cache_entry *e = cache->buckets[name_hash(name)]; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* Takes data when it returns true. */
static bool cache_put(struct cp_cache *cache, const char *name, uint8_t *data, size_t len)
{
	size_t nlen = strlen(name);
	struct cp_cache_entry *e;
	unsigned h;

	if (!cache->generation_known || len > CP_CACHE_BYTES_MAX - cache->bytes)
		return false;
	e = malloc(sizeof(*e) + nlen + 1);
	if (!e)
		return false;
	memcpy(e->name, name, nlen + 1);
	e->data = data;
	e->len = len;
	h = name_hash(name);
	e->next = cache->buckets[h];
	cache->buckets[h] = e;
	cache->bytes += len;
	return true;
}

void cp_cache_clear(struct cp_cache *cache)
{
	for (size_t i = 0; i < CP_CACHE_BUCKETS; i++) {
		struct cp_cache_entry *e = cache->buckets[i];

		while (e) {
			struct cp_cache_entry *next = e->next;

			free(e->data);
			free(e);
			e = next;
		}
		cache->buckets[i] = NULL;
	}
	cache->bytes = 0;
}

void cp_cache_check_generation(struct cp_loop *lp)
{
	uint64_t g = 0;
	int r = cp_state_repo_generation(lp->state, &g);

	if (r >= 0 && lp->cache.generation_known && g == lp->cache.generation)
		return;
	cp_cache_clear(&lp->cache);
	lp->cache.generation_known = r >= 0;
	lp->cache.generation = g;
	if (r >= 0)
		cp_metrics_set(&lp->metrics.repo_generation, g);
}

/* ---- identity ---- */

/* 1 allowed, 0 refused (answered), -1 answered with 503. */
static int device_check(struct cp_conn *c)
{
	struct cp_loop *lp = c->lp;
	char detail[512], sha[65];
	int r;

	if (c->device_state != 0)
		goto decided;
	r = cp_tls_peer_device_id(c->ssl, c->device_id);
	if (r >= 0)
		r = cp_tls_peer_cert_sha256(c->ssl, sha);
	if (r >= 0)
		r = cp_api_device_allowed_cert(lp->state, c->device_id, sha);
	if (r < 0 && r != CP_E_FORBIDDEN) {
		sl_log_warning("Failed to look up device '%s': %s", c->device_id, sl_error_message(r));
		cp_conn_respond_error(c, 503, true);
		return -1;
	}
	c->device_state = r >= 0 ? 1 : -1;
	/*
	 * No certificate at all (possible only with token enrollment on): refused without an
	 * audit row, so that anonymous clients cannot make the server write to its database.
	 */
	if (r < 0 && !SSL_get0_peer_certificate(c->ssl)) {
		sl_log_debug("%s: %s without a client certificate: 403", c->peer, c->http.req.url);
	} else if (r < 0) {
		snprintf(detail, sizeof(detail), "%s %s from %s: %s",
			 http_method_str(c->http.req.method), c->http.req.url, c->peer,
			 sl_error_message(r));
		r = cp_api_audit(lp->state, c->device_id[0] ? c->device_id : "unknown",
				 "auth_failure", detail);
		if (r < 0)
			sl_log_warning("Failed to audit an authentication failure: %s",
				       sl_error_message(r));
	}
decided:
	if (c->device_state > 0)
		return 1;
	cp_conn_respond_error(c, 403, true);
	return 0;
}

/* ---- repository files ---- */

static int open_beneath(int dirfd, const char *path, int *ret_fd, uint64_t *ret_size)
{
	char buf[CP_HTTP_PATH_MAX];
	_cleanup_close_ int owned = -1, fd = -1;
	char *comp = buf, *slash;
	int dfd = dirfd;
	struct stat st;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	while ((slash = strchr(comp, '/'))) {
		int sub;

		*slash = '\0';
		sub = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return -errno;
		closep(&owned);
		owned = sub;
		dfd = sub;
		comp = slash + 1;
	}
	fd = openat(dfd, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	*ret_size = (uint64_t)st.st_size;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * Decide status and body window for a resource of size bytes. Returns false when the
 * answer (416) has already been sent.
 */
static bool range_window(struct cp_conn *c, uint64_t size, int *status, uint64_t *start,
			 uint64_t *len, char *extra, size_t extra_size)
{
	const struct cp_http_request *r = &c->http.req;

	*status = 200;
	*start = 0;
	*len = size;
	snprintf(extra, extra_size, "Accept-Ranges: bytes\r\n");
	if (!r->has_range || r->range_too_long)
		return true;
	switch (cp_http_range_parse(r->range, size, start, len)) {
	case CP_RANGE_PARTIAL:
		*status = 206;
		snprintf(extra, extra_size,
			 "Accept-Ranges: bytes\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
			 "\r\n",
			 *start, *start + *len - 1, size);
		return true;
	case CP_RANGE_UNSATISFIABLE:
		snprintf(extra, extra_size, "Content-Range: bytes */%" PRIu64 "\r\n", size);
		cp_conn_respond(c, 416, "application/json", extra, "{}\n", 3,
				r->method == HTTP_HEAD);
		return false;
	default:
		*start = 0;
		*len = size;
		return true;
	}
}

static void respond_memory(struct cp_conn *c, const char *ctype, const uint8_t *data, size_t size)
{
	uint64_t start, len;
	char extra[192];
	int status;

	if (!range_window(c, size, &status, &start, &len, extra, sizeof(extra)))
		return;
	cp_conn_respond(c, status, ctype, extra, data + start, (size_t)len,
			c->http.req.method == HTTP_HEAD);
}

static void respond_fd(struct cp_conn *c, const char *ctype, int fd, uint64_t size)
{
	uint64_t start, len;
	char extra[192];
	int status;

	if (!range_window(c, size, &status, &start, &len, extra, sizeof(extra))) {
		close(fd);
		return;
	}
	cp_conn_respond_file(c, status, ctype, extra, fd, start, len,
			     c->http.req.method == HTTP_HEAD);
}

static int status_of_open_error(int r)
{
	switch (r) {
	case -ENOENT:
	case -ENOTDIR:
	case -ELOOP:
	case -EISDIR:
	case -ENAMETOOLONG:
		return 404;
	default:
		return 500;
	}
}

static void serve_repo(struct cp_conn *c, bool metadata)
{
	struct cp_loop *lp = c->lp;
	const struct cp_http_request *req = &c->http.req;
	const char *ctype = metadata ? "application/json" : "application/octet-stream";
	char path[CP_HTTP_PATH_MAX];
	const struct cp_cache_entry *e;
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_close_ int fd = -1;
	uint64_t size = 0;
	size_t len;
	int r;

	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		cp_conn_respond_error(c, 405, false);
		return;
	}
	if (device_check(c) <= 0)
		return;
	r = cp_http_path_decode(req->url, metadata ? METADATA_PREFIX : TARGETS_PREFIX, !metadata,
				path, sizeof(path));
	if (r < 0) {
		sl_log_debug("%s: refused path: %s", c->peer, sl_error_message(r));
		cp_conn_respond_error(c, 400, false);
		return;
	}
	if (metadata && (e = cache_get(&lp->cache, path))) {
		cp_metrics_add(&lp->metrics.cache_hits, 1);
		respond_memory(c, ctype, e->data, e->len);
		return;
	}
	r = open_beneath(metadata ? lp->metadata_fd : lp->targets_fd, path, &fd, &size);
	if (r < 0) {
		cp_conn_respond_error(c, status_of_open_error(r), false);
		return;
	}
	if (!metadata || size > CP_CACHE_ENTRY_MAX) {
		respond_fd(c, ctype, TAKE_FD(fd), size);
		return;
	}
	cp_metrics_add(&lp->metrics.cache_misses, 1);
	r = sl_read_fd(fd, CP_CACHE_ENTRY_MAX, &data, &len);
	if (r < 0) {
		cp_conn_respond_error(c, 500, false);
		return;
	}
	respond_memory(c, ctype, data, len);
	if (cache_put(&lp->cache, path, data, len))
		data = NULL;
}

/* ---- device API ---- */

typedef int (*api_fn)(struct cp_state *s, const char *device_id, const void *body, size_t len,
		      char **ret_body, size_t *ret_len);

static void serve_api(struct cp_conn *c, api_fn fn)
{
	const struct cp_http_request *req = &c->http.req;
	_cleanup_free_ char *resp = NULL;
	size_t rlen = 0;
	int status;

	if (req->method != HTTP_POST) {
		cp_conn_respond_error(c, 405, false);
		return;
	}
	if (device_check(c) <= 0)
		return;
	status = fn(c->lp->state, c->device_id, req->body ? (const void *)req->body : "",
		    req->body_len, &resp, &rlen);
	if (status < 0) {
		sl_log_warning("Failed to answer %s for '%s': %s", req->url, c->device_id,
			       sl_error_message(status));
		cp_conn_respond_error(c, 500, false);
		return;
	}
	if (status < 200 || status > 599)
		status = 500;
	if (!resp) {
		cp_conn_respond_error(c, status, false);
		return;
	}
	cp_conn_respond(c, status, "application/json", NULL, resp, rlen, false);
}

/*
 * POST /v1/enroll: the one endpoint that needs no client certificate (the token in the body
 * is the credential; enroll.c checks it). Every other endpoint goes through device_check().
 */
static void serve_enroll(struct cp_conn *c)
{
	const struct cp_http_request *req = &c->http.req;
	_cleanup_free_ char *resp = NULL;
	size_t rlen = 0;
	int status;

	if (req->method != HTTP_POST) {
		cp_conn_respond_error(c, 405, false);
		return;
	}
	status = cp_api_enroll(c->lp->state, c->peer, req->body ? (const void *)req->body : "",
			       req->body_len, &resp, &rlen);
	if (status >= 500 || status < 0)
		sl_log_warning("Failed to enroll a device from %s: %s", c->peer,
			       sl_error_message(status < 0 ? status : CP_E_STATE));
	if (status < 0 || !resp) {
		cp_conn_respond_error(c, status < 0 ? 500 : status, false);
		return;
	}
	cp_conn_respond(c, status, "application/json", NULL, resp, rlen, false);
}

void cp_route_dispatch(struct cp_conn *c)
{
	const char *url = c->http.req.url;

	if (has_prefix(url, METADATA_PREFIX)) {
		c->ep = CP_EP_METADATA;
		serve_repo(c, true);
	} else if (has_prefix(url, TARGETS_PREFIX)) {
		c->ep = CP_EP_TARGETS;
		serve_repo(c, false);
	} else if (path_is(url, "/v1/checkin")) {
		c->ep = CP_EP_CHECKIN;
		serve_api(c, cp_api_checkin);
	} else if (path_is(url, "/v1/events")) {
		c->ep = CP_EP_EVENTS;
		serve_api(c, cp_api_events);
	} else if (path_is(url, "/v1/enroll")) {
		c->ep = CP_EP_OTHER;
		serve_enroll(c);
	} else {
		c->ep = CP_EP_OTHER;
		cp_conn_respond_error(c, 404, false);
	}
}
