/* SPDX-License-Identifier: Apache-2.0 */
/* Fetching bytes by URL: http(s) through libcurl (mTLS capable) and file:// for USB media. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct tuf_fetcher_options {
	const char *ca_file;   /* PEM bundle: the only CAs trusted for https; NULL = system default */
	const char *cert_file; /* client certificate (PEM) for mTLS, or NULL */
	const char *key_file;  /* its private key (PEM), or NULL */
	long connect_timeout_s; /* 0 = 15 s */
	long low_speed_limit;   /* bytes/s below which a transfer counts as slow; 0 = 1024 */
	long low_speed_time_s;  /* seconds of slow transfer before TUF_E_SLOW; 0 = 30 s */
	long timeout_s;         /* whole-transfer limit, 0 = none */
};

/* Receives the body in pieces; return < 0 to abort the transfer with that code. */
typedef int (*tuf_fetch_sink_fn)(void *userdata, const void *data, size_t len);

struct tuf_fetcher;

/* Create a fetcher for http://, https:// and file:// URLs. opts may be NULL (defaults). */
int tuf_fetcher_new(const struct tuf_fetcher_options *opts, struct tuf_fetcher **ret);

/* Accepts NULL, returns NULL. */
struct tuf_fetcher *tuf_fetcher_free(struct tuf_fetcher *f);

/*
 * Fetch url from byte offset (0 = whole; > 0 sends a Range request, and when a server
 * ignores Range the first offset bytes are skipped so sink always sees the bytes from
 * offset on). Stops and returns TUF_E_TOO_LARGE as soon as more than max_len bytes
 * (counted from offset) arrive. Returns TUF_E_NOT_FOUND for HTTP 403/404 and missing files,
 * TUF_E_SLOW for slow retrieval and timeouts, TUF_E_NETWORK for other transport or HTTP
 * errors, or the sink's own error. file:// URLs are opened with O_NOFOLLOW and must name
 * regular files.
 */
int tuf_fetcher_fetch(struct tuf_fetcher *f, const char *url, uint64_t offset, uint64_t max_len,
		      tuf_fetch_sink_fn sink, void *userdata);

/* Fetch a whole body of at most max_len bytes into *ret (malloc'd, caller frees). */
int tuf_fetcher_fetch_buf(struct tuf_fetcher *f, const char *url, size_t max_len, uint8_t **ret,
			  size_t *ret_len);

/* The number of requests made so far (for tests and statistics). */
uint64_t tuf_fetcher_requests(const struct tuf_fetcher *f);
