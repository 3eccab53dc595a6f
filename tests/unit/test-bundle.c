/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ceremony/bundle: bundle.json written over a directory and checked against it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bundle.h"
#include "fileio.h"
#include "test.h"

static char *dir;

static const char *bpath(const char *name)
{
	static char buf[4][4096];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	ASSERT_OK(sl_write_file_atomic(bpath(name), text, strlen(text), 0644));
}

static void make_bundle(void)
{
	static const struct cer_bundle_meta meta[] = {
	    {"targets", 3, "metadata/3.targets.json"},
	    {"models", 3, "metadata/3.models.json"},
	};

	sl_rm_rf(dir);
	ASSERT_OK(sl_mkdir_p(bpath("metadata"), 0755));
	ASSERT_OK(sl_mkdir_p(bpath("targets/images/a"), 0755));
	put("metadata/3.targets.json", "{\"targets\": 1}\n");
	put("metadata/3.models.json", "{\"models\": 1}\n");
	put("targets/images/a/rootfs.img", "image bytes");
	ASSERT_OK(cer_bundle_write_index(dir, "2026.11.1", "2026.11.1", meta, 2));
}

static int check(void)
{
	struct cer_bundle *b = NULL;
	int r = cer_bundle_check(dir, &b);

	cer_bundle_free(b);
	return r;
}

/* Rewrite bundle.json with the first occurrence of old replaced by new. */
static void edit_index(const char *old, const char *new)
{
	uint8_t *buf;
	size_t len;
	char *at, *out;

	ASSERT_OK(sl_read_file_at(AT_FDCWD, bpath("bundle.json"), 1 << 20, &buf, &len));
	at = strstr((char *)buf, old);
	ASSERT_TRUE(at);
	ASSERT_TRUE(asprintf(&out, "%.*s%s%s", (int)(at - (char *)buf), (char *)buf, new,
			     at + strlen(old)) > 0);
	put("bundle.json", out);
	free(out);
	free(buf);
}

TEST(round_trip)
{
	struct cer_bundle *b = NULL;

	make_bundle();
	ASSERT_OK(cer_bundle_check(dir, &b));
	ASSERT_EQ_STR(b->release, "2026.11.1");
	ASSERT_EQ_INT(b->n_files, 3);
	ASSERT_EQ_INT(b->total_bytes, 15 + 14 + 11);
	ASSERT_EQ_INT(b->n_meta, 2);
	ASSERT_EQ_STR(b->meta[1].role, "models");
	ASSERT_EQ_INT(b->meta[1].version, 3);
	ASSERT_EQ_STR(b->meta[0].path, "metadata/3.targets.json");
	cer_bundle_free(b);
}

TEST(directory_changes_caught)
{
	make_bundle();
	put("targets/images/a/rootfs.img", "image byteX");
	ASSERT_ERR(check(), TUF_E_HASH);
	put("targets/images/a/rootfs.img", "image byte");
	ASSERT_ERR(check(), TUF_E_LENGTH);
	make_bundle();
	put("targets/extra", "x");
	ASSERT_ERR(check(), SL_E_INVALID);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_INVALID), "targets/extra: not listed"));
	make_bundle();
	ASSERT_TRUE(unlink(bpath("metadata/3.models.json")) == 0);
	ASSERT_ERR(check(), -ENOENT);
	make_bundle();
	ASSERT_TRUE(symlink("/etc/passwd", bpath("targets/link")) == 0);
	ASSERT_ERR(check(), SL_E_INVALID);
	ASSERT_ERR(cer_bundle_write_index(dir, "r", "v", NULL, 0), SL_E_INVALID);
}

TEST(index_edits_caught)
{
	make_bundle();
	edit_index("\"path\": \"targets/images/a/rootfs.img\"", "\"path\": \"../rootfs.img\"");
	ASSERT_ERR(check(), TUF_E_PATH);
	make_bundle();
	edit_index("\"sluice_bundle\": 1", "\"sluice_bundle\": 2");
	ASSERT_ERR(check(), TUF_E_UNSUPPORTED);
	make_bundle();
	edit_index("\"sluice_bundle\": 1", "\"sluice_bundle\": 1, \"x\": 1");
	ASSERT_ERR(check(), TUF_E_FORMAT);
	make_bundle();
	edit_index("\"path\": \"metadata/3.models.json\"\n",
		   "\"path\": \"metadata/4.models.json\"\n");
	ASSERT_ERR(check(), TUF_E_FORMAT);
	make_bundle();
	edit_index("\"length\": 11", "\"length\": 11, \"mode\": 1");
	ASSERT_ERR(check(), TUF_E_FORMAT);
	make_bundle();
	edit_index("\"version\": 3", "\"version\": 0");
	ASSERT_ERR(check(), TUF_E_FORMAT);
	ASSERT_TRUE(unlink(bpath("bundle.json")) == 0);
	ASSERT_ERR(check(), -ENOENT);
}

int main(void)
{
	char *tmp;

	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp));
	ASSERT_TRUE(asprintf(&dir, "%s/bundle", tmp) > 0);
	RUN(round_trip);
	RUN(directory_changes_caught);
	RUN(index_edits_caught);
	sl_rm_rf(tmp);
	free(tmp);
	free(dir);
	return 0;
}
