/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the media validator (scenarios P): incomplete, tampered, hostile, inconsistent media. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "media.h"
#include "pki.h"
#include "secmem.h"
#include "test.h"
#include "tuf/crypto.h"
#include "x509.h"

#define PASS "media test passphrase"
#define URL "https://cp.example:8443"

static char *tmpdir, *pki_dir;
static struct prov_pki *pki;
static uint8_t *root, *root2;
static size_t root_len, root2_len;
static char *device_ca; /* PEM of the device CA */
static unsigned counter;

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static uint8_t *read_data(const char *rel, size_t *ret_len)
{
	const char *data = getenv("SLUICE_TEST_DATA");
	char p[4096];
	uint8_t *buf = NULL;

	ASSERT_TRUE(data);
	snprintf(p, sizeof(p), "%s/%s", data, rel);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, p, PROV_MEDIA_ROOT_MAX, &buf, ret_len));
	return buf;
}

/* A fresh, good medium for a new device id; the caller frees the path. */
static char *new_medium(void)
{
	char id[32], *dir;
	struct prov_device_spec spec = {
	    .hardware = "board-a", .controlplane_url = URL, .root = NULL, .days = 30};

	snprintf(id, sizeof(id), "dev-%u", ++counter);
	dir = join(tmpdir, id);
	spec.id = id;
	spec.root = root;
	spec.root_len = root_len;
	ASSERT_OK(prov_pki_issue_device(pki, &spec, dir, 0, NULL));
	return dir;
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = join(dir, name);

	unlink(p);
	ASSERT_OK(sl_write_file_atomic(p, data, len, 0644));
	free(p);
}

static uint8_t *read_file(const char *dir, const char *name, size_t *ret_len)
{
	char *p = join(dir, name);
	uint8_t *buf = NULL;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, p, PROV_MEDIA_ROOT_MAX, &buf, ret_len));
	free(p);
	return buf;
}

/* Recompute the manifest's hashes and lengths from the files (root_sha256 too when asked). */
static void rewrite_manifest(const char *dir, bool root_hash)
{
	struct prov_media_manifest m;
	size_t len;
	uint8_t *buf = read_file(dir, "manifest.json", &len);
	char *out = NULL;

	ASSERT_OK(prov_media_manifest_parse(buf, len, &m));
	free(buf);
	for (int i = 0; i < PROV_MEDIA_MANIFEST; i++) {
		buf = read_file(dir, prov_media_file_name(i), &len);
		ASSERT_OK(tuf_sha256_hex(buf, len, m.sha256[i]));
		m.length[i] = len;
		free(buf);
	}
	if (root_hash)
		memcpy(m.root_sha256, m.sha256[PROV_MEDIA_ROOT], 65);
	ASSERT_OK(prov_media_manifest_format(&m, &out, &len));
	write_file(dir, "manifest.json", out, len);
	free(out);
}

static int check(const char *dir, const char *ca, unsigned flags, struct prov_media_report *rep)
{
	return prov_media_check(dir, ca, flags, rep);
}

static struct prov_media_report rep;

TEST(good_medium)
{
	char *dir = new_medium();
	char *key = join(dir, "device.key");
	struct stat st;

	ASSERT_OK(check(dir, device_ca, 0, &rep));
	ASSERT_EQ_INT(rep.n_problems, 0);
	ASSERT_EQ_STR(rep.device_id, "dev-1");
	ASSERT_EQ_STR(rep.hardware, "board-a");
	ASSERT_EQ_STR(rep.controlplane_url, URL);
	ASSERT_TRUE(rep.key_matches);
	ASSERT_TRUE(rep.chain_checked);
	ASSERT_EQ_INT(rep.root_version, 1);
	ASSERT_EQ_STR(rep.cert_issuer, "test device CA");
	ASSERT_EQ_STR(rep.ca_subject, "test server CA");
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++)
		ASSERT_TRUE(rep.present[i] && rep.hash_ok[i]);
	ASSERT_OK(stat(key, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0600);
	ASSERT_OK(stat(dir, &st));
	ASSERT_EQ_INT(st.st_mode & 0777, 0700);
	/* without the device CA the rest is still checked */
	ASSERT_OK(check(dir, NULL, 0, &rep));
	ASSERT_TRUE(!rep.chain_checked);
	free(key);
	free(dir);
}

TEST(incomplete)
{
	char *dir = new_medium();
	char *conf = join(dir, "agent.conf"), *man = join(dir, "manifest.json");

	ASSERT_OK(unlink(conf));
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_NOT_FOUND);
	ASSERT_EQ_STR(rep.problems[0].file, "agent.conf");
	ASSERT_TRUE(!rep.present[PROV_MEDIA_CONF]);
	ASSERT_OK(unlink(man));
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_NOT_FOUND);
	ASSERT_EQ_INT(rep.n_problems, 2);
	ASSERT_ERR(check("/nonexistent/medium", NULL, 0, &rep), TUF_E_NOT_FOUND);
	free(conf);
	free(man);
	free(dir);
}

TEST(tampered)
{
	char *dir = new_medium();
	size_t len;
	uint8_t *buf = read_file(dir, "agent.conf", &len);
	char *p;

	/* same length, one URL byte changed */
	p = strstr((char *)buf, "cp.example");
	ASSERT_TRUE(p);
	p[0] = 'x';
	write_file(dir, "agent.conf", buf, len);
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_HASH);
	ASSERT_EQ_STR(rep.problems[0].file, "agent.conf");
	ASSERT_TRUE(!rep.hash_ok[PROV_MEDIA_CONF] && rep.hash_ok[PROV_MEDIA_CERT]);
	free(buf);
	/* one byte appended */
	buf = read_file(dir, "device.crt", &len);
	buf[len] = '\n';
	write_file(dir, "device.crt", buf, len + 1);
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_LENGTH);
	ASSERT_EQ_STR(rep.problems[0].file, "device.crt");
	ASSERT_EQ_INT(rep.n_problems, 2);
	free(buf);
	free(dir);
}

TEST(key_not_matching_cert)
{
	char *dir = new_medium(), *other = new_medium();
	size_t len;
	uint8_t *buf = read_file(other, "device.key", &len);

	write_file(dir, "device.key", buf, len);
	/* a consistent manifest: only the key/cert check can catch it */
	rewrite_manifest(dir, false);
	ASSERT_ERR(check(dir, device_ca, 0, &rep), SL_E_INVALID);
	ASSERT_EQ_STR(rep.problems[0].file, "device.key");
	ASSERT_TRUE(!rep.key_matches);
	ASSERT_EQ_INT(rep.n_problems, 1);
	free(buf);
	free(other);
	free(dir);
}

TEST(cert_of_other_device)
{
	char *dir = new_medium(), *other = new_medium();
	size_t len;
	uint8_t *crt = read_file(other, "device.crt", &len);
	size_t klen;
	uint8_t *key = read_file(other, "device.key", &klen);

	/* a matching pair, but the CN is another device id */
	write_file(dir, "device.crt", crt, len);
	write_file(dir, "device.key", key, klen);
	rewrite_manifest(dir, false);
	ASSERT_ERR(check(dir, device_ca, 0, &rep), SL_E_INVALID);
	ASSERT_EQ_STR(rep.problems[0].file, "device.crt");
	ASSERT_TRUE(strstr(rep.problems[0].message, "is not the device id"));
	free(crt);
	free(key);
	free(other);
	free(dir);
}

TEST(root_not_matching_pinned_hash)
{
	char *dir = new_medium();

	/* another valid self-signed root, files entry updated, root_sha256 left alone */
	write_file(dir, "root.json", root2, root2_len);
	rewrite_manifest(dir, false);
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_HASH);
	ASSERT_EQ_STR(rep.problems[0].file, "root.json");
	ASSERT_TRUE(strstr(rep.problems[0].message, "root_sha256"));
	/* with root_sha256 updated too, the other root is a valid medium */
	rewrite_manifest(dir, true);
	ASSERT_OK(check(dir, NULL, 0, &rep));
	free(dir);
}

TEST(root_not_self_signed)
{
	char *dir = new_medium();
	uint8_t *bad = malloc(root_len + 1);
	char *p;

	memcpy(bad, root, root_len + 1);
	p = strstr((char *)bad, "2031-01-01");
	ASSERT_TRUE(p);
	p[3] = '2'; /* expires 2032: the signatures no longer cover it */
	write_file(dir, "root.json", bad, root_len);
	rewrite_manifest(dir, true);
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_THRESHOLD);
	ASSERT_EQ_STR(rep.problems[0].file, "root.json");
	ASSERT_ERR(prov_root_check(bad, root_len, NULL, NULL), TUF_E_THRESHOLD);
	ASSERT_ERR(prov_root_check("{}", 2, NULL, NULL), TUF_E_FORMAT);
	free(bad);
	free(dir);
}

TEST(hostile_symlink)
{
	char *dir = new_medium();
	char *crt = join(dir, "device.crt"), *copy = join(tmpdir, "copy.crt");
	size_t len;
	uint8_t *buf = read_file(dir, "device.crt", &len);

	/* a symlink to identical content is still refused */
	ASSERT_OK(sl_write_file_atomic(copy, buf, len, 0644));
	ASSERT_OK(unlink(crt));
	ASSERT_OK(symlink(copy, crt));
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_PATH);
	ASSERT_EQ_STR(rep.problems[0].file, "device.crt");
	ASSERT_TRUE(strstr(rep.problems[0].message, "symbolic link"));
	free(buf);
	free(crt);
	free(copy);
	free(dir);
}

TEST(hostile_fifo_and_directory)
{
	char *dir = new_medium();
	char *conf = join(dir, "agent.conf"), *ca = join(dir, "ca.pem");

	ASSERT_OK(unlink(conf));
	ASSERT_OK(mkfifo(conf, 0644)); /* must not block */
	ASSERT_OK(unlink(ca));
	ASSERT_OK(mkdir(ca, 0700));
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_PATH);
	ASSERT_EQ_INT(rep.n_problems, 2);
	ASSERT_TRUE(strstr(rep.problems[0].message, "a directory") ||
		    strstr(rep.problems[0].message, "a FIFO"));
	free(conf);
	free(ca);
	free(dir);
}

TEST(hostile_extra_entries)
{
	char *dir = new_medium();
	char *sub = join(dir, "..hidden");

	write_file(dir, "extra.sh", "#!/bin/sh\n", 10);
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_PATH);
	ASSERT_EQ_STR(rep.problems[0].file, "extra.sh");
	ASSERT_OK(mkdir(sub, 0700));
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_PATH);
	ASSERT_EQ_INT(rep.n_problems, 2);
	free(sub);
	free(dir);
}

TEST(hostile_huge_file)
{
	char *dir = new_medium();
	char *p = join(dir, "root.json");
	int fd;

	/* a sparse 1 GiB root.json: refused from its size, never read */
	ASSERT_OK(unlink(p));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(ftruncate(fd, 1ll << 30));
	close(fd);
	ASSERT_ERR(check(dir, NULL, 0, &rep), SL_E_TOO_LARGE);
	ASSERT_EQ_STR(rep.problems[0].file, "root.json");
	free(p);
	free(dir);
}

TEST(hostile_manifest)
{
	static const char *const bad[] = {
	    /* a path outside the medium */
	    "\"device.crt\": {",
	    "\"../device.crt\": {",
	    /* an unknown top-level member */
	    "\"sluice_media\": 1",
	    "\"sluice_media\": 1, \"exec\": \"x\"",
	    /* a device id that is not a name */
	    "\"device_id\": \"dev-",
	    "\"device_id\": \"../dev-",
	};
	char *dir = new_medium();
	size_t len;
	uint8_t *orig = read_file(dir, "manifest.json", &len);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i += 2) {
		const char *at = strstr((char *)orig, bad[i]);
		char *text = NULL;

		ASSERT_TRUE(at);
		ASSERT_TRUE(asprintf(&text, "%.*s%s%s", (int)(at - (char *)orig), (char *)orig,
				     bad[i + 1], at + strlen(bad[i])) > 0);
		write_file(dir, "manifest.json", text, strlen(text));
		ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_FORMAT);
		ASSERT_EQ_STR(rep.problems[0].file, "manifest.json");
		free(text);
	}
	free(orig);
	free(dir);
}

static const char manifest_ok[] =
    "{\"sluice_media\": 1, \"device_id\": \"d\", \"hardware\": \"h\", \"files\": {"
    "\"device.crt\": {\"sha256\": \"%s\", \"length\": 1},"
    "\"device.key\": {\"sha256\": \"%s\", \"length\": 1},"
    "\"ca.pem\": {\"sha256\": \"%s\", \"length\": 1},"
    "\"root.json\": {\"sha256\": \"%s\", \"length\": %s},"
    "\"agent.conf\": {\"sha256\": \"%s\", \"length\": 1}},"
    "\"root_sha256\": \"%s\", \"created\": \"%s\"%s}";

static int parse_manifest(const char *h, const char *root_hex, const char *rlen,
			  const char *created, const char *tail)
{
	struct prov_media_manifest m;
	char *text = NULL;
	int r;

	ASSERT_TRUE(asprintf(&text, manifest_ok, h, h, h, root_hex, rlen, h, h, created, tail) > 0);
	r = prov_media_manifest_parse(text, strlen(text), &m);
	free(text);
	return r;
}

TEST(manifest_parser)
{
	const char *h = "0000000000000000000000000000000000000000000000000000000000000000";
	const char *upper = "000000000000000000000000000000000000000000000000000000000000000A";
	const char *t = "2026-01-01T00:00:00Z";

	ASSERT_OK(parse_manifest(h, h, "1", t, ""));
	ASSERT_ERR(parse_manifest(h, upper, "1", t, ""), TUF_E_FORMAT);
	ASSERT_ERR(parse_manifest(h, h, "1", "2026-01-01", ""), TUF_E_FORMAT);
	ASSERT_ERR(parse_manifest(h, h, "-1", t, ""), TUF_E_FORMAT);
	ASSERT_ERR(parse_manifest(h, h, "1.5", t, ""), TUF_E_FORMAT);
	ASSERT_ERR(parse_manifest(h, h, "999999999", t, ""), TUF_E_FORMAT);
	ASSERT_ERR(parse_manifest(h, h, "1", t, ", \"created\": \"x\""), TUF_E_FORMAT);
	ASSERT_ERR(prov_media_manifest_parse("{\"sluice_media\": 2}", 19,
					     &(struct prov_media_manifest){{0}}),
		   TUF_E_UNSUPPORTED);
}

static int parse_conf(const char *text)
{
	struct prov_agent_conf c;

	return prov_agent_conf_parse(text, strlen(text), &c);
}

TEST(agent_conf_parser)
{
	struct prov_agent_conf c, d;
	char *out = NULL;
	size_t len;
	const char *good = "[device]\nid = a\nhardware=b\r\n; c\n# d\n\n"
			   "[controlplane]\n  url =  https://h:1/x  \n";

	ASSERT_OK(prov_agent_conf_parse(good, strlen(good), &c));
	ASSERT_EQ_STR(c.device_id, "a");
	ASSERT_EQ_STR(c.controlplane_url, "https://h:1/x");
	ASSERT_OK(prov_agent_conf_format(&c, &out, &len));
	ASSERT_OK(prov_agent_conf_parse(out, len, &d));
	ASSERT_EQ_STR(d.hardware, "b");
	free(out);
	ASSERT_ERR(parse_conf("[device]\nid=a\nhardware=b\n"), SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid=a\nid=a\nhardware=b\n[controlplane]\nurl=https://h\n"),
		   SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid=a\nhardware=b\nx=1\n[controlplane]\nurl=https://h\n"),
		   SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid=a\nhardware=b\n[other]\n"), SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid=a\nhardware=b\n[controlplane]\nurl=http://h\n"),
		   SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid=a b\nhardware=b\n[controlplane]\nurl=https://h\n"),
		   SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid=a\nhardware=b\n[controlplane]\nurl=https://h\x1b\n"),
		   SL_E_CONFIG);
	ASSERT_ERR(parse_conf("[device]\nid\n"), SL_E_CONFIG);
	ASSERT_ERR(prov_agent_conf_parse("[device]\nid=a\0\n", 15, &c), SL_E_CONFIG);
	ASSERT_TRUE(!prov_url_valid("https://"));
	ASSERT_TRUE(!prov_url_valid("https:///path"));
	ASSERT_TRUE(prov_url_valid("https://[::1]:8443"));
}

TEST(agent_conf_inconsistent)
{
	char *dir = new_medium();
	const char *text = "[device]\nid = someone-else\nhardware = board-a\n\n"
			   "[controlplane]\nurl = " URL "\n";

	write_file(dir, "agent.conf", text, strlen(text));
	rewrite_manifest(dir, false);
	ASSERT_ERR(check(dir, NULL, 0, &rep), SL_E_CONFIG);
	ASSERT_EQ_STR(rep.problems[0].file, "agent.conf");
	free(dir);
}

/* A medium whose certificate comes from elsewhere: another CA, or expired. */
static void swap_cert(const char *dir, X509 *ca, EVP_PKEY *ca_key, const char *cn, int64_t nb,
		      int64_t na)
{
	struct prov_cert_spec spec = {.kind = PROV_CERT_DEVICE,
				      .common_name = cn,
				      .not_before = nb,
				      .not_after = na,
				      .pathlen = -1};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	char *pem = NULL, *kpem = NULL;
	size_t len, klen;

	ASSERT_OK(prov_key_generate(&k));
	ASSERT_OK(prov_cert_issue(&spec, k, ca, ca_key, &x));
	ASSERT_OK(prov_cert_pem(x, &pem, &len));
	ASSERT_OK(prov_key_pem(k, &kpem, &klen));
	write_file(dir, "device.crt", pem, len);
	write_file(dir, "device.key", kpem, klen);
	rewrite_manifest(dir, false);
	free(pem);
	sl_secure_free(kpem);
	X509_free(x);
	EVP_PKEY_free(k);
}

TEST(chain_and_expiry)
{
	struct prov_cert_spec ca_spec = {
	    .kind = PROV_CERT_ROOT_CA, .common_name = "rogue CA", .pathlen = 0};
	int64_t now = (int64_t)time(NULL);
	char *dir = new_medium(), cn[32];
	EVP_PKEY *ca_key = NULL;
	X509 *ca = NULL;

	snprintf(cn, sizeof(cn), "dev-%u", counter);
	ca_spec.not_before = now - 100;
	ca_spec.not_after = now + 86400;
	ASSERT_OK(prov_key_generate(&ca_key));
	ASSERT_OK(prov_cert_issue(&ca_spec, ca_key, NULL, NULL, &ca));
	/* a well-formed certificate from a CA that is not the device CA */
	swap_cert(dir, ca, ca_key, cn, now - 100, now + 86400);
	ASSERT_OK(check(dir, NULL, 0, &rep));
	ASSERT_ERR(check(dir, device_ca, 0, &rep), TUF_E_SIGNATURE);
	ASSERT_EQ_STR(rep.problems[0].file, "device.crt");
	/* an expired one */
	swap_cert(dir, ca, ca_key, cn, now - 86400, now - 3600);
	ASSERT_ERR(check(dir, NULL, 0, &rep), TUF_E_EXPIRED);
	ASSERT_OK(check(dir, NULL, PROV_MEDIA_IGNORE_EXPIRY, &rep));
	/* a server certificate in the device's place */
	{
		const char *dns[] = {cn};
		struct prov_cert_spec s = {.kind = PROV_CERT_SERVER,
					   .common_name = cn,
					   .not_before = now - 100,
					   .not_after = now + 86400,
					   .pathlen = -1,
					   .dns = dns,
					   .n_dns = 1};
		EVP_PKEY *k = NULL;
		X509 *x = NULL;
		char *pem = NULL, *kpem = NULL;
		size_t len, klen;

		ASSERT_OK(prov_key_generate(&k));
		ASSERT_OK(prov_cert_issue(&s, k, ca, ca_key, &x));
		ASSERT_OK(prov_cert_pem(x, &pem, &len));
		ASSERT_OK(prov_key_pem(k, &kpem, &klen));
		write_file(dir, "device.crt", pem, len);
		write_file(dir, "device.key", kpem, klen);
		rewrite_manifest(dir, false);
		ASSERT_ERR(check(dir, NULL, 0, &rep), SL_E_INVALID);
		ASSERT_TRUE(strstr(rep.problems[0].message, "clientAuth"));
		free(pem);
		sl_secure_free(kpem);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	free(dir);
}

TEST(check_is_read_only)
{
	char *dir = new_medium();
	size_t a_len, b_len;
	uint8_t *a = read_file(dir, "manifest.json", &a_len), *b;

	write_file(dir, "extra", "x", 1);
	ASSERT_ERR(check(dir, device_ca, 0, &rep), TUF_E_PATH);
	b = read_file(dir, "manifest.json", &b_len);
	ASSERT_EQ_INT(a_len, b_len);
	ASSERT_EQ_MEM(a, b, a_len);
	free(a);
	free(b);
	free(dir);
}

int main(void)
{
	uint8_t *ca = NULL;
	size_t len;
	char *p;

	ASSERT_OK(sl_secmem_init());
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmpdir));
	pki_dir = join(tmpdir, "pki");
	root = read_data("metadata/root.json", &root_len);
	root2 = read_data("updater/repo/metadata/1.root.json", &root2_len);
	ASSERT_OK(prov_pki_init(pki_dir, "test", PASS, strlen(PASS),
				crypto_pwhash_OPSLIMIT_INTERACTIVE,
				crypto_pwhash_MEMLIMIT_INTERACTIVE, 3650));
	ASSERT_OK(prov_pki_open(pki_dir, &pki));
	ASSERT_OK(prov_pki_unlock(pki, PROV_CA_DEVICE, PASS, strlen(PASS)));
	p = join(pki_dir, "device-ca.crt");
	ASSERT_OK(sl_read_file_at(AT_FDCWD, p, PROV_PEM_MAX, &ca, &len));
	device_ca = (char *)ca;
	free(p);

	RUN(good_medium);
	RUN(incomplete);
	RUN(tampered);
	RUN(key_not_matching_cert);
	RUN(cert_of_other_device);
	RUN(root_not_matching_pinned_hash);
	RUN(root_not_self_signed);
	RUN(hostile_symlink);
	RUN(hostile_fifo_and_directory);
	RUN(hostile_extra_entries);
	RUN(hostile_huge_file);
	RUN(hostile_manifest);
	RUN(manifest_parser);
	RUN(agent_conf_parser);
	RUN(agent_conf_inconsistent);
	RUN(chain_and_expiry);
	RUN(check_is_read_only);

	prov_pki_free(pki);
	free(device_ca);
	free(root);
	free(root2);
	sl_rm_rf(tmpdir);
	free(pki_dir);
	free(tmpdir);
	return 0;
}
