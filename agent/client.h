/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane's device API over mTLS (libcurl): JSON POSTs to /v1/checkin and /v1/events. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_HTTP_BODY_MAX (256u * 1024) /* bytes of an answer from the control plane */
#define AGENT_RETRY_AFTER_MAX 86400u	  /* seconds: a longer Retry-After is capped */
#define AGENT_HTTP_TIMEOUT_S 60L	  /* whole-request limit of one API call */

/* One answer. body is malloc'd and NUL-terminated (NULL when empty). */
struct agent_http_reply {
	long status;		/* HTTP status */
	unsigned retry_after_s; /* Retry-After in seconds (capped), 0 when absent */
	char *body;
	size_t len;
};

/* Free the body of r and zero it. */
void agent_http_reply_clear(struct agent_http_reply *r);

/*
 * How the daemon reaches the device API: the libcurl client below, or a fake in tests.
 * post() sends body (len bytes of JSON) to path (relative to the control plane URL, e.g.
 * "v1/events") and fills *ret on any HTTP answer (returning 0 whatever its status);
 * transport failures are < 0 (TUF_E_NETWORK, TUF_E_SLOW, -ECANCELED).
 */
struct agent_transport {
	int (*post)(void *userdata, const char *path, const char *body, size_t len,
		    struct agent_http_reply *ret);
	void *userdata;
};

struct agent_client_options {
	const char *base_url;	  /* the configured control plane, https://host[:port]/[prefix/] */
	const char *ca_file;	  /* the provisioned server CA: the only CA trusted */
	const char *cert_file;	  /* the device certificate (PEM) */
	const char *key_file;	  /* its key (PEM) */
	bool airgap;		  /* no proxies: connect to base_url's host only */
	const atomic_int *cancel; /* when non-zero, a transfer stops with -ECANCELED; may be NULL */
};

struct agent_client;

/*
 * A client for the control plane at o->base_url (https only; no user info, query or
 * fragment). Strings are copied. Redirects are never followed and every request URL is
 * base_url + a fixed path, so the client only ever talks to the configured host.
 * *ret owned by the caller (agent_client_free()).
 */
int agent_client_new(const struct agent_client_options *o, struct agent_client **ret);

/* Accepts NULL, returns NULL. */
struct agent_client *agent_client_free(struct agent_client *c);

/*
 * POST body (JSON, len bytes) to path ([a-z0-9/._-], relative) on the control plane; the
 * answer (at most AGENT_HTTP_BODY_MAX bytes, else TUF_E_TOO_LARGE) goes to *ret, which the
 * caller clears. Transport failures: TUF_E_NETWORK (with curl's reason), TUF_E_SLOW,
 * -ECANCELED.
 */
int agent_client_post(struct agent_client *c, const char *path, const char *body, size_t len,
		      struct agent_http_reply *ret);

/* A transport that posts through c (borrowed). */
struct agent_transport agent_client_transport(struct agent_client *c);

/*
 * Parse a Retry-After value (RFC 9110: delay-seconds, or an HTTP-date such as
 * "Sun, 06 Nov 1994 08:49:37 GMT") relative to now into seconds, capped at
 * AGENT_RETRY_AFTER_MAX; a date in the past is 0. SL_E_INVALID for anything else.
 */
int agent_retry_after_parse(const char *value, int64_t now, unsigned *ret);
