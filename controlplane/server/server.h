/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane server: one libuv loop per thread, mTLS connections, routes, caps. */
#pragma once

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "api.h"
#include "authfail.h"
#include "http.h"
#include "metrics.h"
#include "tls.h"

#define CP_LISTEN_MAX 8                 /* --listen addresses */
#define CP_THREADS_MAX 256              /* loops */
#define CP_READ_BUF 65536               /* socket read buffer per loop */
#define CP_PLAIN_BUF 16384              /* decrypted bytes handed to the parser at a time */
#define CP_CHUNK 65536                  /* file bytes read and encrypted at a time */
#define CP_WRITE_HIGH (256 * 1024)      /* stop producing when this much is queued */
#define CP_WRITE_LOW (64 * 1024)        /* ... and resume below this */
#define CP_RBIO_MAX (128 * 1024)        /* stop reading the socket while busy past this */
#define CP_CACHE_ENTRY_MAX (256 * 1024) /* metadata files at most this large are cached */
#define CP_CACHE_BYTES_MAX (32u << 20)  /* per loop */
#define CP_CACHE_BUCKETS 64

/* Everything `serve` was told; durations in milliseconds. Strings are borrowed. */
struct cp_server_config {
	const char *state_dir;
	const char *listen[CP_LISTEN_MAX];
	size_t n_listen;
	const char *metrics_addr;
	struct cp_tls_paths tls;
	unsigned threads;
	bool airgap;
	uint64_t handshake_timeout_ms;
	uint64_t header_timeout_ms;
	uint64_t body_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t write_timeout_ms;
	uint64_t drain_timeout_ms;
	uint64_t renew_interval_ms;
	uint64_t generation_poll_ms;
	uint64_t audit_flush_ms; /* at most one aggregated handshake-failure audit row per this */
	unsigned max_connections;
	unsigned max_conns_per_ip;
};

/* Defaults for everything but paths. */
void cp_server_config_defaults(struct cp_server_config *cfg);

/* Parse "ADDR:PORT", "[V6]:PORT" into a socket address. */
int cp_server_parse_addr(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* Whether a socket address is a loopback address (127/8, ::1, ::ffff:127/104). */
bool cp_server_addr_is_loopback(const struct sockaddr *sa);

/*
 * Run the server until SIGTERM/SIGINT has drained it. ctx is the initial TLS context (a
 * reference is taken per loop; the caller keeps its own). Returns 0 after a clean drain,
 * negative on a start-up failure. Logs start-up lines for the listeners.
 */
int cp_server_run(const struct cp_server_config *cfg, SSL_CTX *ctx);

/* ---- internals shared by server.c, conn.c and routes.c ---- */

struct cp_server;

struct cp_cache_entry {
	struct cp_cache_entry *next;
	uint8_t *data;
	size_t len;
	char name[];
};

/* Per-loop metadata cache, keyed by file name; dropped when the repo generation changes. */
struct cp_cache {
	struct cp_cache_entry *buckets[CP_CACHE_BUCKETS];
	size_t bytes;
	uint64_t generation;
	bool generation_known;
};

struct cp_conn;

struct cp_loop {
	uv_loop_t loop;
	uv_thread_t thread;
	unsigned index;
	struct cp_server *srv;
	SSL_CTX *ctx;
	SSL_CTX *pending_ctx; /* handed over by a reload (__atomic), taken by the async callback */
	bool stop_requested; /* set (__atomic) to start draining */
	struct cp_state *state;
	int metadata_fd;
	int targets_fd;
	uv_tcp_t listeners[CP_LISTEN_MAX];
	size_t n_listeners;
	uv_async_t async;
	uv_timer_t gen_timer;
	uv_timer_t drain_timer;
	struct cp_conn *conns; /* all open connections of this loop */
	bool draining;
	bool finished;          /* the loop's own handles are closing */
	struct cp_metrics metrics;
	/* refused handshakes since the last flush; the lock is taken by this loop on each
	 * refusal and by loop 0 when it writes the aggregated audit row */
	pthread_mutex_t authfail_lock;
	bool authfail_lock_init;
	struct cp_authfail authfail;
	struct cp_cache cache;
	char readbuf[CP_READ_BUF];
	char plain[CP_PLAIN_BUF];
};

/* Lifecycle phase of a connection; each has its own timeout. */
enum cp_phase {
	CP_PH_HANDSHAKE,
	CP_PH_IDLE,       /* between requests */
	CP_PH_HEAD,       /* request head arriving */
	CP_PH_BODY,       /* request body arriving */
	CP_PH_RESPONDING, /* answer being produced or flushed */
	CP_PH_CLOSING,
};

struct cp_ip_key {
	uint8_t addr[16];
};

struct cp_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct cp_loop *lp;
	struct cp_conn *prev, *next;
	SSL *ssl;
	BIO *rbio, *wbio;
	struct cp_http_parser http;
	enum cp_phase phase;
	int refs;                /* tcp + timer handles + file read in flight */
	bool closing;
	bool close_after;        /* close once the current response is flushed */
	bool reading;
	bool sent_continue;
	bool ip_counted;
	bool in_process;       /* conn_process() is on the stack: do not re-enter */
	size_t write_queued;     /* bytes handed to uv_write and not yet written */
	char *leftover;          /* pipelined bytes after a complete request */
	size_t leftover_len, leftover_off;
	struct cp_ip_key ip;
	char peer[INET6_ADDRSTRLEN + 8];
	char device_id[CP_DEVICE_ID_MAX + 1];
	int device_state;        /* 0 unchecked, 1 allowed, -1 refused */
	enum cp_endpoint ep;
	/* a file being streamed as the response body */
	int file_fd;
	uint64_t file_off, file_left;
	uint8_t *chunk;
	uv_fs_t fs;
	bool fs_busy;
	bool producing;          /* a response body is still being produced */
};

/* conn.c */
void cp_conn_accept(struct cp_loop *lp, uv_stream_t *listener);
void cp_conn_close(struct cp_conn *c);
void cp_conn_drain(struct cp_conn *c);
/* Respond with a whole body from memory (head_only: headers only). */
void cp_conn_respond(struct cp_conn *c, int status, const char *content_type,
		     const char *extra_headers, const void *body, size_t len, bool head_only);
/* Respond with len bytes of fd from offset, streamed; takes the fd. */
void cp_conn_respond_file(struct cp_conn *c, int status, const char *content_type,
			  const char *extra_headers, int fd, uint64_t offset, uint64_t len,
			  bool head_only);
/* A small JSON error answer; close forces Connection: close. */
void cp_conn_respond_error(struct cp_conn *c, int status, bool close);

/* server.c: count a refused handshake of a connection of lp (its own loop). */
void cp_loop_authfail(struct cp_loop *lp, enum cp_authfail_reason reason, const uint8_t addr[16]);

/* server.c: a connection of lp went away (drain completes when none is left). */
void cp_loop_conn_gone(struct cp_loop *lp);

/* routes.c */
size_t cp_route_body_cap(enum http_method method, const char *url);
void cp_route_dispatch(struct cp_conn *c);
void cp_cache_clear(struct cp_cache *cache);
/* Poll the repository generation and drop the cache when it moved. */
void cp_cache_check_generation(struct cp_loop *lp);

/* server.c: per-client connection accounting shared by all loops (taken at accept only). */
bool cp_server_conn_admit(struct cp_server *srv, const struct cp_ip_key *ip);
void cp_server_conn_release(struct cp_server *srv, const struct cp_ip_key *ip);
const struct cp_server_config *cp_server_config_of(const struct cp_server *srv);
