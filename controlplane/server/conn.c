/* SPDX-License-Identifier: Apache-2.0 */
/* One client connection: TLS over memory BIOs on a uv_tcp_t, request parsing, timeouts, writes. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

struct wreq {
	uv_write_t req;
	struct cp_conn *c;
	size_t len;
	char data[];
};

static void conn_process(struct cp_conn *c);
static void stream_next(struct cp_conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static const struct cp_server_config *cfg_of(struct cp_conn *c)
{
	return cp_server_config_of(c->lp->srv);
}

static void conn_unref(struct cp_conn *c)
{
	assert(c->refs > 0);
	if (--c->refs > 0)
		return;
	cp_http_parser_done(&c->http);
	SSL_free(c->ssl); /* frees both BIOs */
	free(c->leftover);
	free(c->chunk);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

static enum cp_timeout_kind timeout_kind(enum cp_phase ph)
{
	switch (ph) {
	case CP_PH_HANDSHAKE: return CP_TO_HANDSHAKE;
	case CP_PH_IDLE: return CP_TO_IDLE;
	case CP_PH_HEAD: return CP_TO_HEADER;
	case CP_PH_BODY: return CP_TO_BODY;
	default: return CP_TO_WRITE;
	}
}

static void on_timeout(uv_timer_t *t)
{
	struct cp_conn *c = t->data;
	struct cp_metrics *m = &c->lp->metrics;
	enum cp_timeout_kind k = timeout_kind(c->phase);

	cp_metrics_add(&m->timeouts[k], 1);
	if (k == CP_TO_HANDSHAKE)
		cp_metrics_add(&m->tls_handshake_failures, 1);
	sl_log_debug("%s: %s timeout", c->peer, k == CP_TO_HANDSHAKE ? "handshake" : "request");
	cp_conn_close(c);
}

static void arm(struct cp_conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, on_timeout, ms, 0);
}

void cp_conn_close(struct cp_conn *c)
{
	struct cp_loop *lp = c->lp;

	if (c->closing)
		return;
	c->closing = true;
	c->phase = CP_PH_CLOSING;
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	cp_metrics_add(&lp->metrics.connections_open, (uint64_t)-1);
	if (c->ip_counted)
		cp_server_conn_release(lp->srv, &c->ip);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	cp_loop_conn_gone(lp);
}

static void update_reading(struct cp_conn *c)
{
	bool want;

	if (c->closing)
		return;
	want = !(c->phase == CP_PH_RESPONDING && BIO_ctrl_pending(c->rbio) > CP_RBIO_MAX);
	if (want == c->reading)
		return;
	c->reading = want;
	if (want)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	else
		uv_read_stop((uv_stream_t *)&c->tcp);
}

static void maybe_finish(struct cp_conn *c);

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct cp_conn *c = w->c;

	c->write_queued -= w->len;
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		cp_conn_close(c);
		return;
	}
	if (c->phase != CP_PH_RESPONDING)
		return;
	arm(c, cfg_of(c)->write_timeout_ms); /* progress: the client reads */
	maybe_finish(c);
}

/* Hand everything TLS produced to the socket. */
static int conn_flush(struct cp_conn *c)
{
	size_t pending;

	if (c->closing)
		return -ECONNRESET;
	while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
		struct wreq *w;
		uv_buf_t b;
		int n;

		if (pending > INT32_MAX)
			pending = INT32_MAX;
		w = malloc(sizeof(*w) + pending);
		if (!w)
			goto fail;
		n = BIO_read(c->wbio, w->data, (int)pending);
		if (n <= 0) {
			free(w);
			goto fail;
		}
		w->c = c;
		w->len = (size_t)n;
		b = uv_buf_init(w->data, (unsigned)n);
		if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
			free(w);
			goto fail;
		}
		c->write_queued += (size_t)n;
	}
	return 0;
fail:
	cp_conn_close(c);
	return -EIO;
}

static int ssl_write_all(struct cp_conn *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
		int n = SSL_write(c->ssl, p, chunk);

		if (n <= 0) {
			ERR_clear_error();
			cp_conn_close(c);
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next request may start: the previous answer is produced and mostly written. */
static void next_request(struct cp_conn *c)
{
	cp_http_parser_next(&c->http);
	c->phase = CP_PH_IDLE;
	c->sent_continue = false;
	c->ep = CP_EP_OTHER;
	arm(c, cfg_of(c)->idle_timeout_ms);
	update_reading(c);
	conn_process(c);
}

static void maybe_finish(struct cp_conn *c)
{
	if (c->closing || c->phase != CP_PH_RESPONDING)
		return;
	if (c->producing) {
		if (c->write_queued < CP_WRITE_LOW)
			stream_next(c);
		return;
	}
	if (c->close_after || c->lp->draining) {
		if (c->write_queued == 0)
			cp_conn_close(c);
		return;
	}
	if (c->write_queued <= CP_WRITE_LOW)
		next_request(c);
}

/* The whole answer is in TLS: flush it and move on (or close once it is written). */
static void response_produced(struct cp_conn *c)
{
	c->producing = false;
	if (c->close_after || c->lp->draining) {
		c->close_after = true;
		(void)SSL_shutdown(c->ssl); /* queue close_notify after the answer */
		ERR_clear_error();
	}
	if (conn_flush(c) < 0)
		return;
	maybe_finish(c);
}

#define SMALL_BODY 16384 /* bodies up to this size go out with the head in one TLS record */

/* Write the response head, and the body too when it is small (one SSL_write, one record). */
static int write_head(struct cp_conn *c, int status, const char *content_type,
		      const char *extra_headers, uint64_t len, const void *body, size_t body_len)
{
	char head[1024 + SMALL_BODY];
	int n;

	if (!c->http.req.keep_alive || c->lp->draining)
		c->close_after = true;
	n = snprintf(head, 1024,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %llu\r\n%s"
		     "Connection: %s\r\n\r\n",
		     status, cp_http_reason(status), content_type, (unsigned long long)len,
		     extra_headers ? extra_headers : "", c->close_after ? "close" : "keep-alive");
	if (n < 0 || n >= 1024) {
		cp_conn_close(c);
		return -EINVAL;
	}
	cp_metrics_request(&c->lp->metrics, c->ep, status);
	if (body_len > 0) {
		assert(body_len <= SMALL_BODY);
		memcpy(head + n, body, body_len);
	}
	cp_metrics_add(&c->lp->metrics.bytes_sent, (uint64_t)n + body_len);
	return ssl_write_all(c, head, (size_t)n + body_len);
}

void cp_conn_respond(struct cp_conn *c, int status, const char *content_type,
		     const char *extra_headers, const void *body, size_t len, bool head_only)
{
	bool small = !head_only && len <= SMALL_BODY;

	assert(c->phase == CP_PH_RESPONDING);
	if (write_head(c, status, content_type, extra_headers, len, body, small ? len : 0) < 0)
		return;
	if (!head_only && !small) {
		if (ssl_write_all(c, body, len) < 0)
			return;
		cp_metrics_add(&c->lp->metrics.bytes_sent, len);
	}
	response_produced(c);
}

void cp_conn_respond_error(struct cp_conn *c, int status, bool close)
{
	char body[128];
	int n;

	if (close)
		c->close_after = true;
	n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", cp_http_reason(status));
	cp_conn_respond(c, status, "application/json", NULL, body, (size_t)n,
			c->http.req.method == HTTP_HEAD && c->http.state == CP_HTTP_COMPLETE);
}

static void on_file_read(uv_fs_t *req)
{
	struct cp_conn *c = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	c->fs_busy = false;
	if (c->closing) {
		conn_unref(c);
		return;
	}
	c->refs--;
	if (n <= 0 || (uint64_t)n > c->file_left) {
		/* the file shrank under us: the promised length cannot be kept */
		sl_log_debug("%s: short read while streaming a file", c->peer);
		cp_conn_close(c);
		return;
	}
	if (ssl_write_all(c, c->chunk, (size_t)n) < 0)
		return;
	cp_metrics_add(&c->lp->metrics.bytes_sent, (uint64_t)n);
	c->file_off += (uint64_t)n;
	c->file_left -= (uint64_t)n;
	if (conn_flush(c) < 0)
		return;
	stream_next(c);
}

static void stream_next(struct cp_conn *c)
{
	size_t n;
	uv_buf_t b;

	if (c->closing || c->fs_busy)
		return;
	if (c->file_left == 0) {
		close(c->file_fd);
		c->file_fd = -1;
		free(c->chunk);
		c->chunk = NULL;
		response_produced(c);
		return;
	}
	if (c->write_queued >= CP_WRITE_HIGH)
		return; /* on_write() resumes below CP_WRITE_LOW */
	n = c->file_left < CP_CHUNK ? (size_t)c->file_left : CP_CHUNK;
	b = uv_buf_init((char *)c->chunk, (unsigned)n);
	c->fs.data = c;
	if (uv_fs_read(&c->lp->loop, &c->fs, c->file_fd, &b, 1, (int64_t)c->file_off,
		       on_file_read) < 0) {
		cp_conn_close(c);
		return;
	}
	c->fs_busy = true;
	c->refs++;
}

void cp_conn_respond_file(struct cp_conn *c, int status, const char *content_type,
			  const char *extra_headers, int fd, uint64_t offset, uint64_t len,
			  bool head_only)
{
	assert(c->phase == CP_PH_RESPONDING);
	assert(c->file_fd < 0);
	c->file_fd = fd;
	if (write_head(c, status, content_type, extra_headers, len, NULL, 0) < 0)
		return;
	c->file_off = offset;
	c->file_left = head_only ? 0 : len;
	if (c->file_left > 0) {
		c->chunk = malloc(CP_CHUNK);
		if (!c->chunk) {
			cp_conn_close(c);
			return;
		}
	}
	c->producing = true;
	if (conn_flush(c) < 0)
		return;
	stream_next(c);
}

static void send_continue(struct cp_conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	c->sent_continue = true;
	(void)ssl_write_all(c, cont, sizeof(cont) - 1);
}

static void handshake_step(struct cp_conn *c)
{
	int r = SSL_do_handshake(c->ssl), e;
	unsigned long err;
	enum cp_authfail_reason reason;

	if (r == 1) {
		cp_metrics_add(&c->lp->metrics.tls_handshakes, 1);
		c->phase = CP_PH_IDLE;
		arm(c, cfg_of(c)->idle_timeout_ms);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		ERR_clear_error();
		return;
	}
	if (sl_log_get_level() >= SL_LOG_DEBUG) {
		long v = SSL_get_verify_result(c->ssl);

		sl_log_debug("%s: TLS handshake failed: %s", c->peer,
			     v != X509_V_OK ? X509_verify_cert_error_string(v)
					    : ERR_reason_error_string(ERR_peek_error()));
	}
	err = ERR_peek_error();
	reason = cp_authfail_classify(SSL_get_verify_result(c->ssl),
				      ERR_GET_LIB(err) == ERR_LIB_SSL ? ERR_GET_REASON(err) : 0);
	cp_loop_authfail(c->lp, reason, c->ip.addr);
	ERR_clear_error();
	cp_metrics_add(&c->lp->metrics.tls_handshake_failures, 1);
	/* let the alert go out, then close */
	c->phase = CP_PH_RESPONDING;
	c->close_after = true;
	c->producing = false;
	arm(c, cfg_of(c)->write_timeout_ms);
	if (conn_flush(c) == 0)
		maybe_finish(c);
}

/* Next decrypted bytes: pipelined leftovers first, then TLS. Returns 0 when nothing yet. */
static ssize_t next_plaintext(struct cp_conn *c, const char **ret)
{
	int n, e;

	if (c->leftover) {
		*ret = c->leftover + c->leftover_off;
		return (ssize_t)(c->leftover_len - c->leftover_off);
	}
	n = SSL_read(c->ssl, c->lp->plain, CP_PLAIN_BUF);
	if (n > 0) {
		*ret = c->lp->plain;
		return n;
	}
	e = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	return -ECONNRESET; /* close_notify or a TLS error */
}

static void consumed(struct cp_conn *c, const char *data, size_t len, size_t used)
{
	if (c->leftover) {
		c->leftover_off += used;
		if (c->leftover_off >= c->leftover_len) {
			free(c->leftover);
			c->leftover = NULL;
			c->leftover_len = c->leftover_off = 0;
		}
		return;
	}
	if (used < len && c->http.state == CP_HTTP_COMPLETE) {
		c->leftover = malloc(len - used);
		if (!c->leftover) {
			cp_conn_close(c);
			return;
		}
		memcpy(c->leftover, data + used, len - used);
		c->leftover_len = len - used;
		c->leftover_off = 0;
	}
}

static void request_step(struct cp_conn *c, const char *data, size_t len)
{
	const struct cp_server_config *cfg = cfg_of(c);
	bool from_leftover = c->leftover != NULL;
	size_t used;

	if (c->phase == CP_PH_IDLE) {
		c->phase = CP_PH_HEAD;
		arm(c, cfg->header_timeout_ms); /* for the whole head: slow drips do not extend it */
	}
	used = cp_http_parser_feed(&c->http, data, len);
	consumed(c, data, len, used);
	if (c->closing)
		return;
	switch (c->http.state) {
	case CP_HTTP_BODY:
		if (c->phase == CP_PH_HEAD) {
			c->phase = CP_PH_BODY;
			arm(c, cfg->body_timeout_ms);
		}
		if (c->http.req.expect_continue && !c->sent_continue)
			send_continue(c);
		break;
	case CP_HTTP_COMPLETE:
		c->phase = CP_PH_RESPONDING;
		c->producing = false;
		arm(c, cfg->write_timeout_ms);
		cp_route_dispatch(c);
		break;
	case CP_HTTP_ERROR:
		c->phase = CP_PH_RESPONDING;
		arm(c, cfg->write_timeout_ms);
		cp_conn_respond_error(c, c->http.error_status, true);
		break;
	default:
		if (from_leftover && used == 0)
			cp_conn_close(c); /* cannot happen: the parser takes all it is given */
		break;
	}
}

static void conn_process(struct cp_conn *c)
{
	if (c->in_process)
		return;
	c->in_process = true;
	while (!c->closing) {
		const char *data;
		ssize_t n;

		if (c->phase == CP_PH_HANDSHAKE) {
			handshake_step(c);
			if (c->phase == CP_PH_HANDSHAKE)
				break;
			continue;
		}
		if (c->phase != CP_PH_IDLE && c->phase != CP_PH_HEAD && c->phase != CP_PH_BODY)
			break;
		n = next_plaintext(c, &data);
		if (n == 0)
			break;
		if (n < 0) {
			cp_conn_close(c);
			break;
		}
		request_step(c, data, (size_t)n);
	}
	c->in_process = false;
	if (!c->closing)
		(void)conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct cp_conn *c = h->data;

	buf->base = c->lp->readbuf;
	buf->len = sizeof(c->lp->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct cp_conn *c = s->data;

	if (n == 0 || c->closing)
		return;
	if (n < 0) {
		if (c->phase == CP_PH_HANDSHAKE)
			cp_metrics_add(&c->lp->metrics.tls_handshake_failures, 1);
		cp_conn_close(c);
		return;
	}
	if (BIO_write(c->rbio, buf->base, (int)n) != (int)n) {
		cp_conn_close(c);
		return;
	}
	conn_process(c);
	update_reading(c);
}

static void start_reading(struct cp_conn *c)
{
	c->reading = true;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void peer_of(struct cp_conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	memset(&c->ip, 0, sizeof(c->ip));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		/* as an IPv4-mapped IPv6 address, so both listeners count one client once */
		c->ip.addr[10] = c->ip.addr[11] = 0xff;
		memcpy(c->ip.addr + 12, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		memcpy(c->ip.addr, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

static void drop_pending(uv_stream_t *listener)
{
	uv_os_fd_t fd;
	int cfd;

	if (uv_fileno((uv_handle_t *)listener, &fd) < 0)
		return;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd >= 0)
		close(cfd);
}

static int tls_setup(struct cp_conn *c)
{
	c->ssl = SSL_new(c->lp->ctx);
	if (!c->ssl)
		return -ENOMEM;
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(c->rbio, -1); /* empty means "want more", not EOF */
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	return 0;
}

void cp_conn_accept(struct cp_loop *lp, uv_stream_t *listener)
{
	struct cp_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		drop_pending(listener);
		return;
	}
	c->lp = lp;
	c->file_fd = -1;
	c->device_state = 0;
	c->ep = CP_EP_OTHER;
	c->phase = CP_PH_HANDSHAKE;
	cp_http_parser_init(&c->http, cp_route_body_cap);
	uv_tcp_init(&lp->loop, &c->tcp);
	uv_timer_init(&lp->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->refs = 2;
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
	cp_metrics_add(&lp->metrics.connections_open, 1);
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
		cp_conn_close(c);
		return;
	}
	cp_metrics_add(&lp->metrics.connections_total, 1);
	peer_of(c);
	if (lp->draining || !cp_server_conn_admit(lp->srv, &c->ip)) {
		cp_metrics_add(&lp->metrics.connections_rejected, 1);
		cp_conn_close(c);
		return;
	}
	c->ip_counted = true;
	if (tls_setup(c) < 0) {
		cp_conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	arm(c, cp_server_config_of(lp->srv)->handshake_timeout_ms);
	start_reading(c);
}

void cp_conn_drain(struct cp_conn *c)
{
	if (c->phase == CP_PH_HANDSHAKE || c->phase == CP_PH_IDLE) {
		cp_conn_close(c);
		return;
	}
	c->close_after = true;
}
