/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane server: one libuv loop per thread, mTLS connections, routes, caps. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "server.h"

#if ENABLE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
static inline int sd_notify(int unset_environment, const char *state)
{
	return 0;
}
static inline int sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
	return 0;
}
#endif

#define IP_BUCKETS 4096
#define LISTEN_BACKLOG 4096
#define METRICS_REQUEST_MAX 4096

struct ip_entry {
	struct ip_entry *next;
	struct cp_ip_key key;
	unsigned count;
};

struct cp_server {
	const struct cp_server_config *cfg;
	struct cp_loop *loops[CP_THREADS_MAX];
	struct cp_metrics *metrics[CP_THREADS_MAX];
	unsigned n_loops;
	int fds[CP_THREADS_MAX][CP_LISTEN_MAX];
	int metrics_fd;
	pthread_mutex_t ip_lock;
	struct ip_entry *ips[IP_BUCKETS];
	unsigned total_conns;
	/* handles of loop 0 */
	uv_signal_t sig_hup, sig_term, sig_int;
	uv_timer_t renew_timer, watchdog_timer, audit_timer;
	uint64_t audit_last; /* uv_now of loop 0 at the last flush */
	uv_tcp_t metrics_listener;
	bool stopping;
};

/* A connection to the loopback metrics listener: one plain HTTP request, then close. */
struct mconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct cp_server *srv;
	int refs;
	bool closing;
	size_t len;
	char buf[METRICS_REQUEST_MAX];
};

const struct cp_server_config *cp_server_config_of(const struct cp_server *srv)
{
	return srv->cfg;
}

void cp_server_config_defaults(struct cp_server_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = n > 0 ? (n > CP_THREADS_MAX ? CP_THREADS_MAX : (unsigned)n) : 1;
	cfg->handshake_timeout_ms = 10000;
	cfg->header_timeout_ms = 10000;
	cfg->body_timeout_ms = 30000;
	cfg->idle_timeout_ms = 60000;
	cfg->write_timeout_ms = 30000;
	cfg->drain_timeout_ms = 10000;
	cfg->renew_interval_ms = 60000;
	cfg->generation_poll_ms = 500;
	cfg->audit_flush_ms = 60000;
	cfg->max_connections = 20000;
	cfg->max_conns_per_ip = 64;
}

/* ---- per-client accounting ---- */

static unsigned ip_hash(const struct cp_ip_key *k)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h % IP_BUCKETS;
}

bool cp_server_conn_admit(struct cp_server *srv, const struct cp_ip_key *ip)
{
	struct ip_entry **head = &srv->ips[ip_hash(ip)], *e;
	bool ok = false;

	pthread_mutex_lock(&srv->ip_lock);
	if (srv->total_conns >= srv->cfg->max_connections)
		goto out;
	for (e = *head; e; e = e->next)
		if (memcmp(&e->key, ip, sizeof(*ip)) == 0)
			break;
	if (e && e->count >= srv->cfg->max_conns_per_ip)
		goto out;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			goto out;
		e->key = *ip;
		e->next = *head;
		*head = e;
	}
	e->count++;
	srv->total_conns++;
	ok = true;
out:
	pthread_mutex_unlock(&srv->ip_lock);
	return ok;
}

void cp_server_conn_release(struct cp_server *srv, const struct cp_ip_key *ip)
{
	struct ip_entry **p = &srv->ips[ip_hash(ip)];

	pthread_mutex_lock(&srv->ip_lock);
	for (; *p; p = &(*p)->next)
		if (memcmp(&(*p)->key, ip, sizeof(*ip)) == 0)
			break;
	assert(*p);
	if (--(*p)->count == 0) {
		struct ip_entry *e = *p;

		*p = e->next;
		free(e);
	}
	srv->total_conns--;
	pthread_mutex_unlock(&srv->ip_lock);
}

/* ---- addresses and sockets ---- */

int cp_server_parse_addr(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	char *end;
	unsigned long p;
	size_t hlen;

	memset(ret, 0, sizeof(*ret));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return sl_error(SL_E_CONFIG, "'%s': expected [IPv6]:PORT", s);
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return sl_error(SL_E_CONFIG, "'%s': address too long", s);
		memcpy(host, s + 1, hlen);
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return sl_error(SL_E_CONFIG, "'%s': expected ADDR:PORT", s);
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return sl_error(SL_E_CONFIG, "'%s': address too long", s);
		memcpy(host, s, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || end == port || *end || p > 65535)
		return sl_error(SL_E_CONFIG, "'%s': bad port", s);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ret)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)ret;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		*ret_len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ret)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*ret_len = sizeof(*in6);
		return 0;
	}
	return sl_error(SL_E_CONFIG, "'%s': not a numeric IPv4 or IPv6 address", s);
}

bool cp_server_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int listen_socket(struct sockaddr_storage *ss, socklen_t len, bool reuseport, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -errno;
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
		return -errno;
	if (get_port(ss) == 0) {
		/* port 0: the kernel chose one; the other loops bind that same port */
		if (getsockname(fd, (struct sockaddr *)ss, &len) < 0)
			return -errno;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, get_port(ss));
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, get_port(ss));
	}
}

/* Bind every listener: one socket per loop and address (SO_REUSEPORT), and the metrics one. */
static int open_sockets(struct cp_server *srv, char *summary, size_t size)
{
	const struct cp_server_config *cfg = srv->cfg;
	struct sockaddr_storage ss;
	socklen_t len;
	size_t used = 0;
	int r;

	for (size_t a = 0; a < cfg->n_listen; a++) {
		r = cp_server_parse_addr(cfg->listen[a], &ss, &len);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < srv->n_loops; i++) {
			r = listen_socket(&ss, len, true, &srv->fds[i][a]);
			if (r < 0)
				return sl_error(r, "cannot listen on %s: %s", cfg->listen[a],
						strerror(-r));
		}
		addr_str(&ss, summary + used, size - used);
		used += strlen(summary + used);
		if (used + 2 < size && a + 1 < cfg->n_listen) {
			strcpy(summary + used, ", ");
			used += 2;
		}
	}
	r = cp_server_parse_addr(cfg->metrics_addr, &ss, &len);
	if (r < 0)
		return r;
	if (!cp_server_addr_is_loopback((struct sockaddr *)&ss))
		return sl_error(SL_E_CONFIG, "metrics address %s is not a loopback address",
				cfg->metrics_addr);
	r = listen_socket(&ss, len, false, &srv->metrics_fd);
	if (r < 0)
		return sl_error(r, "cannot listen on %s: %s", cfg->metrics_addr, strerror(-r));
	snprintf(summary + used, size - used, "; metrics on ");
	used += strlen(summary + used);
	addr_str(&ss, summary + used, size - used);
	used += strlen(summary + used);
	snprintf(summary + used, size - used, " (plain HTTP, loopback only)");
	return 0;
}

/* ---- the metrics listener (loop 0) ---- */

static void mconn_unref(uv_handle_t *h)
{
	struct mconn *m = h->data;

	if (--m->refs == 0)
		free(m);
}

static void mconn_close(struct mconn *m)
{
	if (m->closing)
		return;
	m->closing = true;
	uv_close((uv_handle_t *)&m->timer, mconn_unref);
	uv_close((uv_handle_t *)&m->tcp, mconn_unref);
}

struct mwrite {
	uv_write_t req;
	struct mconn *m;
	char *data;
};

static void mconn_written(uv_write_t *req, int status)
{
	struct mwrite *w = (struct mwrite *)req;

	free(w->data);
	mconn_close(w->m);
	free(w);
}

static void mconn_timeout(uv_timer_t *t)
{
	mconn_close(t->data);
}

static void mconn_answer(struct mconn *m)
{
	_cleanup_free_ char *body = NULL;
	struct mwrite *w;
	size_t blen = 0;
	char *resp = NULL;
	int n;

	uv_read_stop((uv_stream_t *)&m->tcp);
	if ((strncmp(m->buf, "GET /metrics ", 13) == 0 || strncmp(m->buf, "GET /metrics?", 13) == 0) &&
	    cp_metrics_render(m->srv->metrics, m->srv->n_loops, &body, &blen) >= 0)
		n = asprintf(&resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			     blen, body);
	else
		n = asprintf(&resp, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
				    "Connection: close\r\n\r\n");
	w = n >= 0 ? calloc(1, sizeof(*w)) : NULL;
	if (!w) {
		free(resp);
		mconn_close(m);
		return;
	}
	w->m = m;
	w->data = resp;
	uv_buf_t b = uv_buf_init(resp, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&m->tcp, &b, 1, mconn_written) < 0) {
		free(resp);
		free(w);
		mconn_close(m);
	}
}

static void mconn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct mconn *m = h->data;

	buf->base = m->buf + m->len;
	buf->len = sizeof(m->buf) - 1 - m->len;
}

static void mconn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct mconn *m = s->data;

	if (n == 0)
		return;
	if (n < 0) {
		mconn_close(m);
		return;
	}
	m->len += (size_t)n;
	m->buf[m->len] = '\0';
	if (strstr(m->buf, "\r\n\r\n") || strstr(m->buf, "\n\n") || m->len >= sizeof(m->buf) - 1)
		mconn_answer(m);
}

static void on_metrics_connection(uv_stream_t *listener, int status)
{
	struct cp_server *srv = listener->data;
	struct mconn *m;

	if (status < 0)
		return;
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->srv = srv;
	uv_tcp_init(listener->loop, &m->tcp);
	uv_timer_init(listener->loop, &m->timer);
	m->tcp.data = m->timer.data = m;
	m->refs = 2;
	if (uv_accept(listener, (uv_stream_t *)&m->tcp) < 0) {
		mconn_close(m);
		return;
	}
	uv_timer_start(&m->timer, mconn_timeout, srv->cfg->header_timeout_ms, 0);
	uv_read_start((uv_stream_t *)&m->tcp, mconn_alloc, mconn_read);
}

/* ---- loops ---- */

static void on_connection(uv_stream_t *listener, int status)
{
	if (status < 0)
		return;
	cp_conn_accept(listener->data, listener);
}

static void on_generation_timer(uv_timer_t *t)
{
	cp_cache_check_generation(t->data);
}

void cp_loop_authfail(struct cp_loop *lp, enum cp_authfail_reason reason, const uint8_t addr[16])
{
	pthread_mutex_lock(&lp->authfail_lock);
	cp_authfail_add(&lp->authfail, reason, addr);
	pthread_mutex_unlock(&lp->authfail_lock);
}

/* Loop 0: one aggregated auth_failure row for the refused handshakes of every loop. */
static void authfail_flush(struct cp_server *srv)
{
	struct cp_loop *lp0 = srv->loops[0];
	struct cp_authfail *all = calloc(1, sizeof(*all));
	uint64_t now = uv_now(&lp0->loop);
	char text[CP_AUTHFAIL_TEXT_MAX];
	int r;

	if (!all) {
		sl_log_warning("Failed to count refused handshakes: out of memory");
		return;
	}
	for (unsigned i = 0; i < srv->n_loops; i++) {
		struct cp_loop *lp = srv->loops[i];

		pthread_mutex_lock(&lp->authfail_lock);
		cp_authfail_merge(all, &lp->authfail);
		memset(&lp->authfail, 0, sizeof(lp->authfail));
		pthread_mutex_unlock(&lp->authfail_lock);
	}
	if (cp_authfail_format(all, now - srv->audit_last, text) > 0) {
		r = cp_api_audit(lp0->state, "server", "auth_failure", text);
		if (r < 0)
			sl_log_warning("Failed to audit refused handshakes: %s",
				       sl_error_message(r));
	}
	srv->audit_last = now;
	free(all);
}

static void on_audit_timer(uv_timer_t *t)
{
	authfail_flush(t->data);
}

static void loop0_close_extras(struct cp_server *srv)
{
	authfail_flush(srv);
	uv_close((uv_handle_t *)&srv->audit_timer, NULL);
	uv_close((uv_handle_t *)&srv->sig_hup, NULL);
	uv_close((uv_handle_t *)&srv->sig_term, NULL);
	uv_close((uv_handle_t *)&srv->sig_int, NULL);
	uv_close((uv_handle_t *)&srv->renew_timer, NULL);
	uv_close((uv_handle_t *)&srv->watchdog_timer, NULL);
}

void cp_loop_conn_gone(struct cp_loop *lp)
{
	if (!lp->draining || lp->conns || lp->finished)
		return;
	lp->finished = true;
	uv_close((uv_handle_t *)&lp->async, NULL);
	uv_close((uv_handle_t *)&lp->drain_timer, NULL);
	if (lp->index == 0)
		loop0_close_extras(lp->srv);
}

static void on_drain_deadline(uv_timer_t *t)
{
	struct cp_loop *lp = t->data;

	while (lp->conns)
		cp_conn_close(lp->conns);
}

static void loop_start_drain(struct cp_loop *lp)
{
	struct cp_conn *c, *next;

	lp->draining = true;
	for (size_t i = 0; i < lp->n_listeners; i++)
		uv_close((uv_handle_t *)&lp->listeners[i], NULL);
	uv_close((uv_handle_t *)&lp->gen_timer, NULL);
	if (lp->index == 0)
		uv_close((uv_handle_t *)&lp->srv->metrics_listener, NULL);
	for (c = lp->conns; c; c = next) {
		next = c->next;
		cp_conn_drain(c);
	}
	uv_timer_start(&lp->drain_timer, on_drain_deadline, lp->srv->cfg->drain_timeout_ms, 0);
	cp_loop_conn_gone(lp);
}

static void on_async(uv_async_t *a)
{
	struct cp_loop *lp = a->data;
	SSL_CTX *n = __atomic_exchange_n(&lp->pending_ctx, NULL, __ATOMIC_ACQ_REL);

	if (n) {
		SSL_CTX_free(lp->ctx);
		lp->ctx = n;
	}
	if (__atomic_load_n(&lp->stop_requested, __ATOMIC_ACQUIRE) && !lp->draining)
		loop_start_drain(lp);
}

static int open_dir(const char *path, int *ret)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sl_error(-errno, "cannot open '%s': %s", path, strerror(errno));
	*ret = fd;
	return 0;
}

static int loop_init(struct cp_server *srv, struct cp_loop *lp, unsigned index, SSL_CTX *ctx)
{
	int r;

	lp->index = index;
	lp->metadata_fd = lp->targets_fd = -1;
	pthread_mutex_init(&lp->authfail_lock, NULL);
	lp->authfail_lock_init = true;
	r = uv_loop_init(&lp->loop);
	if (r < 0)
		return sl_error(-EIO, "cannot create event loop: %s", uv_strerror(r));
	lp->srv = srv; /* from here on loop_free() must close the loop */
	r = cp_state_open(srv->cfg->state_dir, &lp->state);
	if (r < 0)
		return r;
	r = open_dir(cp_state_metadata_dir(lp->state), &lp->metadata_fd);
	if (r < 0)
		return r;
	r = open_dir(cp_state_targets_dir(lp->state), &lp->targets_fd);
	if (r < 0)
		return r;
	SSL_CTX_up_ref(ctx);
	lp->ctx = ctx;
	for (size_t a = 0; a < srv->cfg->n_listen; a++) {
		uv_tcp_init(&lp->loop, &lp->listeners[a]);
		lp->listeners[a].data = lp;
		lp->n_listeners++;
		r = uv_tcp_open(&lp->listeners[a], srv->fds[index][a]);
		if (r >= 0) {
			srv->fds[index][a] = -1; /* libuv owns it now */
			r = uv_listen((uv_stream_t *)&lp->listeners[a], LISTEN_BACKLOG, on_connection);
		}
		if (r < 0)
			return sl_error(-EIO, "cannot listen: %s", uv_strerror(r));
	}
	uv_async_init(&lp->loop, &lp->async, on_async);
	lp->async.data = lp;
	uv_timer_init(&lp->loop, &lp->gen_timer);
	lp->gen_timer.data = lp;
	uv_timer_init(&lp->loop, &lp->drain_timer);
	lp->drain_timer.data = lp;
	cp_cache_check_generation(lp);
	uv_timer_start(&lp->gen_timer, on_generation_timer, srv->cfg->generation_poll_ms,
		       srv->cfg->generation_poll_ms);
	return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void loop_free(struct cp_loop *lp)
{
	if (!lp)
		return;
	if (lp->srv) {
		/* after a failed start-up some handles may still be open */
		uv_walk(&lp->loop, close_walk_cb, NULL);
		uv_run(&lp->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&lp->loop);
	}
	cp_cache_clear(&lp->cache);
	SSL_CTX_free(lp->ctx);
	SSL_CTX_free(__atomic_exchange_n(&lp->pending_ctx, NULL, __ATOMIC_ACQ_REL));
	cp_state_free(lp->state);
	if (lp->authfail_lock_init)
		pthread_mutex_destroy(&lp->authfail_lock);
	if (lp->metadata_fd >= 0)
		close(lp->metadata_fd);
	if (lp->targets_fd >= 0)
		close(lp->targets_fd);
	free(lp);
}

static void loop_thread(void *arg)
{
	struct cp_loop *lp = arg;

	uv_run(&lp->loop, UV_RUN_DEFAULT);
}

/* ---- signals and timers of loop 0 ---- */

static void request_stop(struct cp_server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	sl_log_info("draining: no new connections, finishing answers for up to %llu ms",
		    (unsigned long long)srv->cfg->drain_timeout_ms);
	if (ENABLE_SYSTEMD)
		sd_notify(0, "STOPPING=1");
	for (unsigned i = 0; i < srv->n_loops; i++) {
		__atomic_store_n(&srv->loops[i]->stop_requested, true, __ATOMIC_RELEASE);
		uv_async_send(&srv->loops[i]->async);
	}
}

static void reload_tls(struct cp_server *srv)
{
	SSL_CTX *ctx = NULL;
	struct cp_tls_info info;
	int r;

	r = cp_tls_ctx_new(&srv->cfg->tls, &ctx, &info);
	if (r < 0) {
		sl_log_error(r, "Failed to reload certificates, keeping the old ones: %s",
			     sl_error_message(r));
		return;
	}
	for (unsigned i = 0; i < srv->n_loops; i++) {
		SSL_CTX *old;

		SSL_CTX_up_ref(ctx);
		old = __atomic_exchange_n(&srv->loops[i]->pending_ctx, ctx, __ATOMIC_ACQ_REL);
		SSL_CTX_free(old);
		uv_async_send(&srv->loops[i]->async);
	}
	SSL_CTX_free(ctx);
	sl_log_info("tls: reloaded certificates; CRL lists %zu revoked certificate(s)",
		    info.crl_revoked);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct cp_server *srv = s->data;

	if (signum == SIGHUP)
		reload_tls(srv);
	else
		request_stop(srv);
}

static void on_renew_timer(uv_timer_t *t)
{
	struct cp_server *srv = t->data;
	struct cp_loop *lp = srv->loops[0];
	int r = cp_repo_renew_if_needed(lp->state, (int64_t)time(NULL));

	if (r < 0)
		sl_log_error(r, "Failed to renew timestamp/snapshot: %s", sl_error_message(r));
	else if (r > 0) {
		sl_log_info("repository: renewed timestamp (and snapshot when due)");
		cp_cache_check_generation(lp);
	}
}

static void on_watchdog_timer(uv_timer_t *t)
{
	if (ENABLE_SYSTEMD)
		sd_notify(0, "WATCHDOG=1");
}

static int loop0_extras(struct cp_server *srv)
{
	struct cp_loop *lp = srv->loops[0];
	uint64_t wd_usec = 0;
	int r;

	uv_signal_init(&lp->loop, &srv->sig_hup);
	uv_signal_init(&lp->loop, &srv->sig_term);
	uv_signal_init(&lp->loop, &srv->sig_int);
	srv->sig_hup.data = srv->sig_term.data = srv->sig_int.data = srv;
	uv_signal_start(&srv->sig_hup, on_signal, SIGHUP);
	uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
	uv_signal_start(&srv->sig_int, on_signal, SIGINT);
	uv_timer_init(&lp->loop, &srv->renew_timer);
	srv->renew_timer.data = srv;
	uv_timer_start(&srv->renew_timer, on_renew_timer, srv->cfg->renew_interval_ms,
		       srv->cfg->renew_interval_ms);
	uv_timer_init(&lp->loop, &srv->audit_timer);
	srv->audit_timer.data = srv;
	srv->audit_last = uv_now(&lp->loop);
	uv_timer_start(&srv->audit_timer, on_audit_timer, srv->cfg->audit_flush_ms,
		       srv->cfg->audit_flush_ms);
	uv_timer_init(&lp->loop, &srv->watchdog_timer);
	if (ENABLE_SYSTEMD && sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
		uv_timer_start(&srv->watchdog_timer, on_watchdog_timer, wd_usec / 2000,
			       wd_usec / 2000);
	uv_tcp_init(&lp->loop, &srv->metrics_listener);
	srv->metrics_listener.data = srv;
	r = uv_tcp_open(&srv->metrics_listener, srv->metrics_fd);
	if (r >= 0) {
		srv->metrics_fd = -1;
		r = uv_listen((uv_stream_t *)&srv->metrics_listener, 64, on_metrics_connection);
	}
	if (r < 0)
		return sl_error(-EIO, "cannot listen for metrics: %s", uv_strerror(r));
	return 0;
}

static void server_free(struct cp_server *srv)
{
	for (unsigned i = 0; i < srv->n_loops; i++) {
		loop_free(srv->loops[i]);
		for (size_t a = 0; a < CP_LISTEN_MAX; a++)
			if (srv->fds[i][a] >= 0)
				close(srv->fds[i][a]);
	}
	if (srv->metrics_fd >= 0)
		close(srv->metrics_fd);
	for (size_t i = 0; i < IP_BUCKETS; i++)
		while (srv->ips[i]) {
			struct ip_entry *e = srv->ips[i];

			srv->ips[i] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&srv->ip_lock);
	free(srv);
}

static int server_setup(struct cp_server *srv, SSL_CTX *ctx)
{
	char summary[1024] = "";
	int r;

	r = open_sockets(srv, summary, sizeof(summary));
	if (r < 0)
		return r;
	for (unsigned i = 0; i < srv->n_loops; i++) {
		srv->loops[i] = calloc(1, sizeof(struct cp_loop));
		if (!srv->loops[i])
			return sl_error(SL_E_NOMEM, "out of memory");
		srv->metrics[i] = &srv->loops[i]->metrics;
		r = loop_init(srv, srv->loops[i], i, ctx);
		if (r < 0)
			return r;
	}
	r = loop0_extras(srv);
	if (r < 0)
		return r;
	sl_log_info("listeners: mTLS on %s; %u loop(s) with SO_REUSEPORT", summary,
		    srv->n_loops);
	return 0;
}

int cp_server_run(const struct cp_server_config *cfg, SSL_CTX *ctx)
{
	struct cp_server *srv;
	unsigned started = 1;
	int r;

	if (cfg->threads == 0 || cfg->threads > CP_THREADS_MAX || cfg->n_listen == 0 ||
	    cfg->n_listen > CP_LISTEN_MAX)
		return sl_error(SL_E_CONFIG, "bad thread or listener count");
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return sl_error(SL_E_NOMEM, "out of memory");
	srv->cfg = cfg;
	srv->n_loops = cfg->threads;
	srv->metrics_fd = -1;
	memset(srv->fds, -1, sizeof(srv->fds));
	pthread_mutex_init(&srv->ip_lock, NULL);

	r = server_setup(srv, ctx);
	if (r < 0) {
		server_free(srv);
		return r;
	}
	for (; started < srv->n_loops; started++) {
		r = uv_thread_create(&srv->loops[started]->thread, loop_thread, srv->loops[started]);
		if (r < 0) {
			r = sl_error(-EAGAIN, "cannot start loop thread: %s", uv_strerror(r));
			request_stop(srv);
			break;
		}
	}
	if (ENABLE_SYSTEMD)
		sd_notify(0, "READY=1\nSTATUS=serving");
	uv_run(&srv->loops[0]->loop, UV_RUN_DEFAULT);
	for (unsigned i = 1; i < started; i++)
		uv_thread_join(&srv->loops[i]->thread);
	sl_log_info("stopped");
	server_free(srv);
	return r < 0 ? r : 0;
}
