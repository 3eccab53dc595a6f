/* SPDX-License-Identifier: Apache-2.0 */
/* Load generator for the control plane benchmark: many mTLS devices over loopback (epoll). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX 65536
#define SAMPLES_MAX (4u << 20)

enum mode { KEEPALIVE, HANDSHAKE, HOLD };
enum st { ST_CONNECT, ST_HS, ST_WRITE, ST_READ, ST_HELD };

struct lconn {
	int fd;
	SSL *ssl;
	enum st st;
	size_t len;
	uint64_t t0;
	char buf[RESP_MAX];
};

static struct {
	enum mode mode;
	struct sockaddr_in addr;
	SSL_CTX *ctx;
	int ep;
	const char *path;
	char req[512];
	size_t req_len;
	uint64_t requests, handshakes, errors, established;
	uint32_t *samples;
	size_t n_samples;
	bool measuring;
} g;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int conn_open(struct lconn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&g.addr, sizeof(g.addr)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		return -errno;
	}
	c->ssl = SSL_new(g.ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	c->st = ST_CONNECT;
	c->len = 0;
	c->t0 = now_us();
	return epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_reset(struct lconn *c, bool failed)
{
	if (failed && g.measuring)
		g.errors++;
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	if (conn_open(c) < 0 && g.measuring)
		g.errors++;
}

static void record(uint64_t t0)
{
	if (!g.measuring)
		return;
	g.requests++;
	if (g.n_samples < SAMPLES_MAX)
		g.samples[g.n_samples++] = (uint32_t)(now_us() - t0);
}

/* 1 when buf holds one whole response */
static int response_complete(struct lconn *c)
{
	char *end;
	const char *cl;
	size_t head, n;

	c->buf[c->len < RESP_MAX ? c->len : RESP_MAX - 1] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return 0;
	head = (size_t)(end - c->buf) + 4;
	if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0)
		return -1;
	cl = strcasestr(c->buf, "content-length:");
	if (!cl)
		return -1;
	n = strtoul(cl + 15, NULL, 10);
	return c->len >= head + n ? 1 : 0;
}

static void drive(struct lconn *c)
{
	for (;;) {
		int r, e;

		switch (c->st) {
		case ST_CONNECT: {
			int err = 0;
			socklen_t l = sizeof(err);

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err == EINPROGRESS)
				return;
			if (err) {
				conn_reset(c, true);
				return;
			}
			c->st = ST_HS;
			break;
		}
		case ST_HS:
			r = SSL_connect(c->ssl);
			if (r != 1) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				ERR_clear_error();
				conn_reset(c, true);
				return;
			}
			if (g.measuring)
				g.handshakes++;
			if (g.mode == HOLD) {
				c->st = ST_HELD;
				g.established++;
				return;
			}
			c->st = ST_WRITE;
			break;
		case ST_WRITE:
			if (g.mode == KEEPALIVE)
				c->t0 = now_us();
			r = SSL_write(c->ssl, g.req, (int)g.req_len);
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				conn_reset(c, true);
				return;
			}
			c->st = ST_READ;
			c->len = 0;
			break;
		case ST_READ:
			r = SSL_read(c->ssl, c->buf + c->len, (int)(RESP_MAX - 1 - c->len));
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				ERR_clear_error();
				conn_reset(c, true);
				return;
			}
			c->len += (size_t)r;
			r = response_complete(c);
			if (r < 0) {
				conn_reset(c, true);
				return;
			}
			if (r == 0)
				break;
			record(c->t0);
			if (g.mode == HANDSHAKE) {
				conn_reset(c, false);
				return;
			}
			c->st = ST_WRITE;
			break;
		case ST_HELD:
			return;
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	printf("Usage: cps-loadgen --port P --ca CA --cert CRT --key KEY [--mode keepalive|handshake|"
	       "hold] [--connections N] [--seconds S] [--warmup S] [--path /tuf/metadata/timestamp.json]\n"
	       "Prints key=value results on one line (hold: 'established=N' once all are up).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },   { "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },   { "connections", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' }, { "warmup", required_argument, NULL, 'w' },
		{ "path", required_argument, NULL, 'P' },   { "help", no_argument, NULL, 'h' },
		{}
	};
	const char *ca = NULL, *cert = NULL, *key = NULL;
	unsigned n = 64, port = 0;
	double secs = 5, warm = 1;
	struct lconn *conns;
	struct epoll_event evs[256];
	uint64_t start, t_measure, t_end;
	int o;

	g.path = "/tuf/metadata/timestamp.json";
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'n': n = (unsigned)atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'P': g.path = optarg; break;
		case 'm':
			g.mode = !strcmp(optarg, "handshake") ? HANDSHAKE : !strcmp(optarg, "hold") ? HOLD
											      : KEEPALIVE;
			break;
		case 'h': usage(); return 0;
		default: usage(); return 1;
		}
	}
	if (!port || !ca || !cert || !key || n == 0) {
		usage();
		return 1;
	}
	g.ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF); /* full handshakes */
	SSL_CTX_set_options(g.ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_load_verify_locations(g.ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(g.ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g.ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "cps-loadgen: cannot load TLS material\n");
		return 1;
	}
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_PEER, NULL);
	g.req_len = (size_t)snprintf(g.req, sizeof(g.req), "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n",
				     g.path, "");
	g.addr.sin_family = AF_INET;
	g.addr.sin_port = htons((uint16_t)port);
	g.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g.samples = malloc(SAMPLES_MAX * sizeof(uint32_t));
	conns = calloc(n, sizeof(*conns));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.samples || !conns || g.ep < 0)
		return 1;
	for (unsigned i = 0; i < n; i++)
		if (conn_open(&conns[i]) < 0) {
			fprintf(stderr, "cps-loadgen: connect failed after %u connections: %s\n", i,
				strerror(errno));
			return 1;
		}
	start = now_us();
	t_measure = start + (uint64_t)(warm * 1e6);
	t_end = t_measure + (uint64_t)(secs * 1e6);
	if (g.mode == HOLD) {
		/* up to 120 s to establish all, then hold them for --seconds */
		g.measuring = true;
		t_measure = start;
		t_end = start + 120u * 1000000u;
	}
	for (;;) {
		uint64_t t = now_us();
		int k;

		if (!g.measuring && t >= t_measure)
			g.measuring = true;
		if (g.mode == HOLD && g.established == n) {
			printf("established=%u handshake_seconds=%.2f\n", n, (double)(t - start) / 1e6);
			fflush(stdout);
			sleep((unsigned)secs);
			break;
		}
		if (t >= t_end)
			break;
		k = epoll_wait(g.ep, evs, 256, 100);
		for (int i = 0; i < k; i++)
			drive(evs[i].data.ptr);
	}
	if (g.mode == HOLD) {
		if (g.established < n)
			printf("established=%llu (of %u) errors=%llu\n",
			       (unsigned long long)g.established, n, (unsigned long long)g.errors);
		return g.established == n ? 0 : 1;
	}
	qsort(g.samples, g.n_samples, sizeof(uint32_t), cmp_u32);
	printf("mode=%s connections=%u seconds=%.1f requests=%llu rps=%.0f handshakes=%llu hs_per_s=%.0f "
	       "p50_us=%u p99_us=%u errors=%llu\n",
	       g.mode == HANDSHAKE ? "handshake" : "keepalive", n, secs,
	       (unsigned long long)g.requests, (double)g.requests / secs,
	       (unsigned long long)g.handshakes, (double)g.handshakes / secs,
	       g.n_samples ? g.samples[g.n_samples / 2] : 0,
	       g.n_samples ? g.samples[g.n_samples * 99 / 100] : 0, (unsigned long long)g.errors);
	return 0;
}
