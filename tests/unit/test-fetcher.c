/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the fetcher on file:// URLs: limits, offsets, refusals and percent-decoding. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "test.h"
#include "tuf/fetcher.h"

static char *dir;

static char *url_of(const char *name)
{
	static char buf[4][4096];
	static unsigned i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]), "file://%s/%s", dir, name);
	return b;
}

static void put(const char *name, const char *content)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(sl_write_file_atomic(path, content, strlen(content), 0644));
}

struct collect {
	char data[256];
	size_t len;
	unsigned calls;
	int fail_with;
};

static int collect_sink(void *userdata, const void *data, size_t len)
{
	struct collect *c = userdata;

	c->calls++;
	if (c->fail_with)
		return c->fail_with;
	ASSERT_TRUE(c->len + len < sizeof(c->data));
	memcpy(c->data + c->len, data, len);
	c->len += len;
	c->data[c->len] = '\0';
	return 0;
}

static struct tuf_fetcher *fetcher(void)
{
	struct tuf_fetcher *f;

	ASSERT_OK(tuf_fetcher_new(NULL, &f));
	return f;
}

TEST(regular_file)
{
	struct tuf_fetcher *f = fetcher();
	uint8_t *buf;
	size_t len;

	put("a.json", "hello world");
	ASSERT_OK(tuf_fetcher_fetch_buf(f, url_of("a.json"), 11, &buf, &len));
	ASSERT_EQ_INT(len, 11);
	ASSERT_EQ_STR((char *)buf, "hello world");
	free(buf);
	ASSERT_EQ_INT(tuf_fetcher_requests(f), 1);
	tuf_fetcher_free(f);
}

TEST(empty_file)
{
	struct tuf_fetcher *f = fetcher();
	uint8_t *buf;
	size_t len;

	put("empty", "");
	ASSERT_OK(tuf_fetcher_fetch_buf(f, url_of("empty"), 0, &buf, &len));
	ASSERT_EQ_INT(len, 0);
	ASSERT_EQ_INT(buf[0], 0);
	free(buf);
	tuf_fetcher_free(f);
}

TEST(too_large)
{
	struct tuf_fetcher *f = fetcher();
	struct collect c = {};
	uint8_t *buf = NULL;
	size_t len;

	put("big", "0123456789");
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("big"), 9, &buf, &len), TUF_E_TOO_LARGE);
	ASSERT_TRUE(buf == NULL);
	/* Nothing past the limit reaches a sink. */
	ASSERT_ERR(tuf_fetcher_fetch(f, url_of("big"), 0, 5, collect_sink, &c), TUF_E_TOO_LARGE);
	ASSERT_TRUE(c.len <= 5);
	/* Exactly at the limit is fine. */
	ASSERT_OK(tuf_fetcher_fetch(f, url_of("big"), 0, 10, collect_sink, &(struct collect){}));
	tuf_fetcher_free(f);
}

TEST(missing)
{
	struct tuf_fetcher *f = fetcher();
	uint8_t *buf;
	size_t len;

	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("nope.json"), 100, &buf, &len), TUF_E_NOT_FOUND);
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("nodir/x.json"), 100, &buf, &len),
		   TUF_E_NOT_FOUND);
	ASSERT_EQ_INT(tuf_fetcher_requests(f), 2);
	tuf_fetcher_free(f);
}

TEST(symlink_refused)
{
	struct tuf_fetcher *f = fetcher();
	char target[4096], link[4096];
	uint8_t *buf;
	size_t len;

	put("real", "secret");
	snprintf(target, sizeof(target), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ASSERT_OK(symlink(target, link));
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("link"), 100, &buf, &len), TUF_E_PATH);
	tuf_fetcher_free(f);
}

TEST(fifo_and_directory_refused)
{
	struct tuf_fetcher *f = fetcher();
	char path[4096];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	ASSERT_OK(mkfifo(path, 0600));
	/* Opened non-blocking, so a FIFO without a writer cannot hang the client. */
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("fifo"), 100, &buf, &len), TUF_E_PATH);
	snprintf(path, sizeof(path), "%s/subdir", dir);
	ASSERT_OK(mkdir(path, 0700));
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("subdir"), 100, &buf, &len), TUF_E_PATH);
	tuf_fetcher_free(f);
}

TEST(offset)
{
	struct tuf_fetcher *f = fetcher();
	struct collect c = {};

	put("off", "0123456789");
	ASSERT_OK(tuf_fetcher_fetch(f, url_of("off"), 4, 6, collect_sink, &c));
	ASSERT_EQ_STR(c.data, "456789");
	/* The limit counts from the offset. */
	c = (struct collect){};
	ASSERT_ERR(tuf_fetcher_fetch(f, url_of("off"), 4, 5, collect_sink, &c), TUF_E_TOO_LARGE);
	/* At or past the end: nothing more. */
	c = (struct collect){};
	ASSERT_OK(tuf_fetcher_fetch(f, url_of("off"), 10, 100, collect_sink, &c));
	ASSERT_EQ_INT(c.len, 0);
	ASSERT_OK(tuf_fetcher_fetch(f, url_of("off"), 50, 100, collect_sink, &c));
	ASSERT_EQ_INT(c.len, 0);
	tuf_fetcher_free(f);
}

TEST(sink_error_aborts)
{
	struct tuf_fetcher *f = fetcher();
	struct collect c = {.fail_with = TUF_E_HASH};

	put("s", "abc");
	ASSERT_ERR(tuf_fetcher_fetch(f, url_of("s"), 0, 100, collect_sink, &c), TUF_E_HASH);
	ASSERT_EQ_INT(c.calls, 1);
	tuf_fetcher_free(f);
}

TEST(percent_decoding)
{
	struct tuf_fetcher *f = fetcher();
	char url[4096];
	uint8_t *buf;
	size_t len;

	put("a b?#.json", "quoted");
	ASSERT_OK(tuf_fetcher_fetch_buf(f, url_of("a%20b%3F%23.json"), 100, &buf, &len));
	ASSERT_EQ_STR((char *)buf, "quoted");
	free(buf);
	/* file://localhost/ is the same as file:/// */
	snprintf(url, sizeof(url), "file://localhost%s/a%%20b%%3f%%23.json", dir);
	ASSERT_OK(tuf_fetcher_fetch_buf(f, url, 100, &buf, &len));
	free(buf);
	/* An encoded '/' or NUL never reaches the file system. */
	put("x", "x");
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("..%2Fx"), 100, &buf, &len), TUF_E_PATH);
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("x%00"), 100, &buf, &len), TUF_E_PATH);
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("x%2"), 100, &buf, &len), SL_E_INVALID);
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, url_of("x%zz"), 100, &buf, &len), SL_E_INVALID);
	tuf_fetcher_free(f);
}

TEST(bad_urls)
{
	struct tuf_fetcher *f = fetcher();
	uint8_t *buf;
	size_t len;

	ASSERT_ERR(tuf_fetcher_fetch_buf(f, "ftp://example.invalid/x", 100, &buf, &len),
		   SL_E_INVALID);
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, "file://otherhost/etc/passwd", 100, &buf, &len),
		   SL_E_INVALID);
	ASSERT_ERR(tuf_fetcher_fetch_buf(f, "file:relative", 100, &buf, &len), SL_E_INVALID);
	tuf_fetcher_free(f);
}

TEST(http_unreachable)
{
	struct tuf_fetcher_options o = {.connect_timeout_s = 2};
	struct tuf_fetcher *f;
	uint8_t *buf;
	size_t len;
	int r;

	/* Port 1 on loopback: connection refused, a transport error. */
	ASSERT_OK(tuf_fetcher_new(&o, &f));
	r = tuf_fetcher_fetch_buf(f, "http://127.0.0.1:1/x.json", 100, &buf, &len);
	ASSERT_TRUE(r == TUF_E_NETWORK || r == TUF_E_SLOW);
	tuf_fetcher_free(f);
}

int main(void)
{
	ASSERT_OK(sl_mkdtemp_private(NULL, &dir));
	RUN(regular_file);
	RUN(empty_file);
	RUN(too_large);
	RUN(missing);
	RUN(symlink_refused);
	RUN(fifo_and_directory_refused);
	RUN(offset);
	RUN(sink_error_aborts);
	RUN(percent_decoding);
	RUN(bad_urls);
	RUN(http_unreachable);
	ASSERT_OK(sl_rm_rf(dir));
	free(dir);
	return 0;
}
