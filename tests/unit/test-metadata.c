/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of metadata parsing and signature thresholds, on fixtures signed by gen.py (PyNaCl). */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "error.h"
#include "fileio.h"
#include "test.h"
#include "tuf/json.h"
#include "tuf/metadata.h"

/* 2031-01-01T00:00:00Z, the expiry of every fixture. */
#define FIXTURE_EXPIRES INT64_C(1924992000)

static uint8_t *load(const char *name, size_t *ret_len)
{
	const char *dir = getenv("SLUICE_TEST_DATA");
	char path[4096];
	uint8_t *buf = NULL;

	ASSERT_TRUE(dir);
	snprintf(path, sizeof(path), "%s/metadata/%s", dir, name);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, ret_len));
	return buf;
}

static int parse_file(const char *name, enum tuf_role_type t, struct tuf_metadata **ret)
{
	size_t len;
	uint8_t *buf = load(name, &len);
	int r = tuf_metadata_parse(buf, len, t, ret);

	free(buf);
	return r;
}

static struct tuf_metadata *must_parse(const char *name, enum tuf_role_type t)
{
	struct tuf_metadata *md = NULL;

	ASSERT_OK(parse_file(name, t, &md));
	ASSERT_TRUE(md);
	return md;
}

/* Parse name and expect exactly code, with ret left untouched. */
static void expect_file(const char *name, enum tuf_role_type t, int code)
{
	struct tuf_metadata *md = NULL;

	ASSERT_ERR(parse_file(name, t, &md), code);
	ASSERT_TRUE(md == NULL);
}

/* JSON written with single quotes for readability; they become double quotes. */
static int parse_str(const char *json, enum tuf_role_type t, struct tuf_metadata **ret)
{
	char *s = strdup(json);
	int r;

	ASSERT_TRUE(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	r = tuf_metadata_parse(s, strlen(s), t, ret);
	free(s);
	return r;
}

static void expect_str(const char *json, enum tuf_role_type t, int code)
{
	struct tuf_metadata *md = NULL;
	int r = parse_str(json, t, &md);

	if (r != code)
		fprintf(stderr, "input: %s\n", json);
	ASSERT_ERR(r, code);
	if (code >= 0)
		tuf_metadata_free(md);
	else
		ASSERT_TRUE(md == NULL);
}

static void expect_message(int code, const char *expected)
{
	ASSERT_EQ_STR(sl_error_message(code), expected);
}

static void expect_message_has(int code, const char *needle)
{
	if (!strstr(sl_error_message(code), needle)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", sl_error_message(code), needle);
		abort();
	}
}

static struct tuf_metadata *root;

TEST(root_valid)
{
	size_t n_null = 0;

	root = must_parse("root.json", TUF_ROLE_ROOT);
	ASSERT_EQ_INT(root->type, TUF_ROLE_ROOT);
	ASSERT_EQ_STR(root->spec_version, "1.0.31");
	ASSERT_EQ_INT(root->version, 1);
	ASSERT_EQ_INT(root->expires, FIXTURE_EXPIRES);
	ASSERT_EQ_INT(root->n_sigs, 3);
	ASSERT_TRUE(root->u.root.consistent_snapshot);
	ASSERT_EQ_INT(root->u.root.n_keys, 6);
	for (size_t i = 0; i < root->u.root.n_keys; i++)
		n_null += root->u.root.keys[i].key == NULL;
	ASSERT_EQ_INT(n_null, 0);
	ASSERT_EQ_INT(root->u.root.roles[TUF_ROLE_ROOT].threshold, 2);
	ASSERT_EQ_INT(root->u.root.roles[TUF_ROLE_ROOT].n_keyids, 3);
	for (enum tuf_role_type t = TUF_ROLE_TIMESTAMP; t <= TUF_ROLE_TARGETS; t++) {
		ASSERT_EQ_INT(root->u.root.roles[t].threshold, 1);
		ASSERT_EQ_INT(root->u.root.roles[t].n_keyids, 1);
	}
	/* Two Ed25519 and one ECDSA signature, threshold 2. */
	ASSERT_OK(tuf_metadata_verify_root_role(root, &root->u.root, TUF_ROLE_ROOT));
	/* root.json is not signed by the timestamp key. */
	ASSERT_ERR(tuf_metadata_verify_root_role(root, &root->u.root, TUF_ROLE_TIMESTAMP),
		   TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "timestamp: 0 of 1 required signatures are valid");
}

TEST(role_type_names)
{
	ASSERT_EQ_STR(tuf_role_type_name(TUF_ROLE_ROOT), "root");
	ASSERT_EQ_STR(tuf_role_type_name(TUF_ROLE_TIMESTAMP), "timestamp");
	ASSERT_EQ_STR(tuf_role_type_name(TUF_ROLE_SNAPSHOT), "snapshot");
	ASSERT_EQ_STR(tuf_role_type_name(TUF_ROLE_TARGETS), "targets");
}

TEST(timestamp_valid)
{
	struct tuf_metadata *md = must_parse("timestamp.json", TUF_ROLE_TIMESTAMP);
	const struct tuf_meta_file *m = &md->u.timestamp.snapshot;

	ASSERT_EQ_INT(md->version, 7);
	ASSERT_EQ_STR(m->name, "snapshot.json");
	ASSERT_EQ_INT(m->version, 3);
	ASSERT_TRUE(m->has_length);
	ASSERT_TRUE(m->has_hashes);
	ASSERT_EQ_INT(m->hashes.n, 2);
	ASSERT_EQ_INT(m->hashes.n_unknown, 0);
	ASSERT_OK(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TIMESTAMP));
	/* Signed by the timestamp key, which is not a snapshot key. */
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_SNAPSHOT),
		   TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "snapshot: 0 of 1 required signatures are valid");

	ASSERT_OK(tuf_metadata_check_expiry(md, "timestamp", FIXTURE_EXPIRES - 1));
	ASSERT_ERR(tuf_metadata_check_expiry(md, "timestamp", FIXTURE_EXPIRES), TUF_E_EXPIRED);
	expect_message(TUF_E_EXPIRED, "timestamp: expired at 2031-01-01T00:00:00Z");
	ASSERT_ERR(tuf_metadata_check_expiry(md, "timestamp", INT64_MAX), TUF_E_EXPIRED);
	ASSERT_OK(tuf_metadata_check_expiry(md, "timestamp", 0));
	tuf_metadata_free(md);
}

TEST(snapshot_valid)
{
	struct tuf_metadata *md = must_parse("snapshot.json", TUF_ROLE_SNAPSHOT);
	struct tuf_metadata *ts = must_parse("timestamp.json", TUF_ROLE_TIMESTAMP);
	const struct tuf_meta_file *m;
	uint8_t *bytes;
	size_t len;

	ASSERT_EQ_INT(md->version, 3);
	ASSERT_EQ_INT(md->u.snapshot.n_meta, 3);
	ASSERT_OK(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_SNAPSHOT));
	m = tuf_snapshot_find(&md->u.snapshot, "targets.json");
	ASSERT_TRUE(m);
	ASSERT_EQ_INT(m->version, 2);
	ASSERT_TRUE(m->has_length && m->has_hashes);
	m = tuf_snapshot_find(&md->u.snapshot, "role-a.json");
	ASSERT_TRUE(m);
	ASSERT_EQ_INT(m->version, 1);
	ASSERT_TRUE(!m->has_length && !m->has_hashes);
	m = tuf_snapshot_find(&md->u.snapshot, "role-b.json");
	ASSERT_TRUE(m && m->has_length && !m->has_hashes);
	ASSERT_EQ_INT(m->length, 604);
	ASSERT_TRUE(tuf_snapshot_find(&md->u.snapshot, "role-c.json") == NULL);
	ASSERT_TRUE(tuf_snapshot_find(&md->u.snapshot, "targets") == NULL);

	/* The timestamp's length and hashes (by python's hashlib) describe snapshot.json. */
	bytes = load("snapshot.json", &len);
	ASSERT_OK(tuf_meta_file_check(&ts->u.timestamp.snapshot, bytes, len, "snapshot.json"));
	ASSERT_ERR(tuf_meta_file_check(&ts->u.timestamp.snapshot, bytes, len - 1, "snapshot.json"),
		   TUF_E_LENGTH);
	bytes[len / 2] ^= 1;
	ASSERT_ERR(tuf_meta_file_check(&ts->u.timestamp.snapshot, bytes, len, "snapshot.json"),
		   TUF_E_HASH);
	expect_message_has(TUF_E_HASH, "snapshot.json");
	free(bytes);

	bytes = load("targets.json", &len);
	ASSERT_OK(tuf_meta_file_check(tuf_snapshot_find(&md->u.snapshot, "targets.json"), bytes,
				      len, "targets.json"));
	free(bytes);
	tuf_metadata_free(ts);
	tuf_metadata_free(md);
}

TEST(targets_valid)
{
	struct tuf_metadata *md = must_parse("targets.json", TUF_ROLE_TARGETS);
	const struct tuf_targets *t = &md->u.targets;
	const struct tuf_target *f;
	struct json_object *sluice;

	ASSERT_EQ_INT(md->version, 2);
	ASSERT_OK(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TARGETS));
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_ROOT),
		   TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "root: 0 of 2 required signatures are valid");
	ASSERT_EQ_INT(t->n_targets, 3);
	f = tuf_targets_find(t, "file1.txt");
	ASSERT_TRUE(f);
	ASSERT_EQ_INT(f->length, 31);
	ASSERT_EQ_INT(f->hashes.n, 2);
	ASSERT_TRUE(f->custom == NULL);
	f = tuf_targets_find(t, "dir/file2.txt");
	ASSERT_TRUE(f && f->custom);
	ASSERT_TRUE(json_object_object_get_ex(f->custom, "sluice", &sluice));
	f = tuf_targets_find(t, "unknown-alg.bin");
	ASSERT_TRUE(f);
	ASSERT_EQ_INT(f->hashes.n, 1);
	ASSERT_EQ_INT(f->hashes.n_unknown, 1);
	ASSERT_EQ_INT(f->hashes.h[0].alg, TUF_HASH_SHA256);
	ASSERT_TRUE(tuf_targets_find(t, "file2.txt") == NULL);
	ASSERT_TRUE(tuf_targets_find(t, "") == NULL);

	ASSERT_TRUE(t->delegations);
	ASSERT_EQ_INT(t->delegations->n_keys, 2);
	ASSERT_EQ_INT(t->delegations->n_roles, 3);
	ASSERT_TRUE(t->delegations->succinct == NULL);
	ASSERT_EQ_STR(t->delegations->roles[0].name, "role-a");
	ASSERT_EQ_STR(t->delegations->roles[1].name, "role-b");
	ASSERT_EQ_STR(t->delegations->roles[2].name, "role-c");
	tuf_metadata_free(md);
}

TEST(wrong_type)
{
	/* A timestamp served as snapshot, and every other mix-up. */
	expect_file("timestamp.json", TUF_ROLE_SNAPSHOT, TUF_E_TYPE);
	expect_message(TUF_E_TYPE, "snapshot: \"_type\" is \"timestamp\", expected \"snapshot\"");
	expect_file("snapshot.json", TUF_ROLE_TIMESTAMP, TUF_E_TYPE);
	expect_file("root.json", TUF_ROLE_TARGETS, TUF_E_TYPE);
	expect_file("targets.json", TUF_ROLE_ROOT, TUF_E_TYPE);
	expect_file("role-a.json", TUF_ROLE_SNAPSHOT, TUF_E_TYPE);
}

TEST(bad_thresholds)
{
	expect_file("root-threshold-0.json", TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_message_has(TUF_E_FORMAT, "root: roles.timestamp");
	expect_file("root-threshold-neg.json", TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_file("root-threshold-string.json", TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_file("root-threshold-float.json", TUF_ROLE_ROOT, TUF_E_FORMAT);
}

TEST(bad_fields)
{
	expect_file("root-missing-consistent.json", TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_message_has(TUF_E_FORMAT, "consistent_snapshot");
	expect_file("timestamp-float-version.json", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_file("root-spec-2.json", TUF_ROLE_ROOT, TUF_E_UNSUPPORTED);
	expect_message(TUF_E_UNSUPPORTED, "root: spec_version \"2.0\" is not 1.x");
	expect_file("root-dup-keyids.json", TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_message_has(TUF_E_FORMAT, "listed twice");
	expect_file("timestamp-bad-hex-sig.json", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_message(TUF_E_FORMAT, "timestamp: signatures[0]: \"sig\" is not hex");
}

TEST(unsupported_key_never_counts)
{
	struct tuf_metadata *md = must_parse("root-unsupported-key.json", TUF_ROLE_ROOT);
	size_t n_null = 0;

	ASSERT_EQ_INT(md->u.root.n_keys, 7);
	for (size_t i = 0; i < md->u.root.n_keys; i++)
		n_null += md->u.root.keys[i].key == NULL;
	ASSERT_EQ_INT(n_null, 1);
	ASSERT_EQ_INT(md->n_sigs, 2);
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT), TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "root: 1 of 2 required signatures are valid");
	tuf_metadata_free(md);
}

TEST(threshold_faked_by_one_key_under_two_ids)
{
	struct tuf_metadata *md = must_parse("root-same-key-two-ids.json", TUF_ROLE_ROOT);

	ASSERT_EQ_INT(md->n_sigs, 2);
	ASSERT_EQ_INT(md->u.root.roles[TUF_ROLE_ROOT].n_keyids, 2);
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT), TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "root: 1 of 2 required signatures are valid");
	/* Each signature is valid on its own: with threshold 1 the same document verifies. */
	md->u.root.roles[TUF_ROLE_ROOT].threshold = 1;
	ASSERT_OK(tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT));
	tuf_metadata_free(md);
}

TEST(threshold_faked_by_repeated_signature)
{
	struct tuf_metadata *md = must_parse("root-repeated-sig.json", TUF_ROLE_ROOT);

	ASSERT_EQ_INT(md->n_sigs, 2);
	ASSERT_EQ_STR(md->sigs[0].keyid, md->sigs[1].keyid);
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT), TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "root: 1 of 2 required signatures are valid");
	/* Judged by the valid root's keys too. */
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_ROOT),
		   TUF_E_THRESHOLD);
	tuf_metadata_free(md);
}

TEST(garbage_signatures_next_to_valid_threshold)
{
	struct tuf_metadata *md = must_parse("root-garbage-sig.json", TUF_ROLE_ROOT);

	ASSERT_EQ_INT(md->n_sigs, 5);
	ASSERT_OK(tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT));
	/* Raising the threshold to 3 shows the garbage did not count. */
	md->u.root.roles[TUF_ROLE_ROOT].threshold = 3;
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT), TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "root: 2 of 3 required signatures are valid");
	tuf_metadata_free(md);
}

TEST(wrongly_signed)
{
	struct tuf_metadata *md = must_parse("timestamp-wrong-key.json", TUF_ROLE_TIMESTAMP);

	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TIMESTAMP),
		   TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "timestamp: 0 of 1 required signatures are valid");
	tuf_metadata_free(md);

	md = must_parse("timestamp-tampered.json", TUF_ROLE_TIMESTAMP);
	ASSERT_EQ_INT(md->version, 8);
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TIMESTAMP),
		   TUF_E_THRESHOLD);
	tuf_metadata_free(md);
}

TEST(unknown_fields_are_signed)
{
	struct tuf_metadata *md = must_parse("timestamp-unknown-field.json", TUF_ROLE_TIMESTAMP);
	size_t len;
	uint8_t *expected = load("timestamp-unknown-field.canonical", &len);

	/* The signed bytes are securesystemslib's canonical JSON, unknown fields included. */
	ASSERT_EQ_INT(md->signed_len, len);
	ASSERT_EQ_MEM(md->signed_bytes, expected, len);
	ASSERT_EQ_INT(md->signed_bytes[md->signed_len], '\0');
	ASSERT_OK(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TIMESTAMP));
	free(expected);
	tuf_metadata_free(md);

	md = must_parse("timestamp-unknown-field-unsigned.json", TUF_ROLE_TIMESTAMP);
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TIMESTAMP),
		   TUF_E_THRESHOLD);
	tuf_metadata_free(md);
}

TEST(verify_table_lookups)
{
	struct tuf_metadata *md = must_parse("timestamp.json", TUF_ROLE_TIMESTAMP);
	const struct tuf_role_keys *ts_keys = &root->u.root.roles[TUF_ROLE_TIMESTAMP];
	char *both[] = {root->u.root.roles[TUF_ROLE_ROOT].keyids[0], ts_keys->keyids[0]};
	struct tuf_role_keys two = {.keyids = both, .n_keyids = 2, .threshold = 2};

	/* The key is authorised but absent from the table. */
	ASSERT_ERR(tuf_metadata_verify(md, "timestamp", ts_keys, root->u.root.keys, 0),
		   TUF_E_THRESHOLD);
	ASSERT_OK(
	    tuf_metadata_verify(md, "timestamp", ts_keys, root->u.root.keys, root->u.root.n_keys));
	ASSERT_ERR(
	    tuf_metadata_verify(md, "custom-role", &two, root->u.root.keys, root->u.root.n_keys),
	    TUF_E_THRESHOLD);
	expect_message(TUF_E_THRESHOLD, "custom-role: 1 of 2 required signatures are valid");
	two.threshold = 1;
	ASSERT_OK(
	    tuf_metadata_verify(md, "custom-role", &two, root->u.root.keys, root->u.root.n_keys));
	/* A zero threshold from a caller still needs one valid signature. */
	two.n_keyids = 1;
	two.threshold = 0;
	ASSERT_ERR(
	    tuf_metadata_verify(md, "custom-role", &two, root->u.root.keys, root->u.root.n_keys),
	    TUF_E_THRESHOLD);
	tuf_metadata_free(md);
}

/* An unsigned timestamp: META is the "meta" value, SIGS the signatures array. */
#define TS(sigs, extra, meta)                                                                      \
	"{'signatures':" sigs                                                                      \
	",'signed':{'_type':'timestamp','spec_version':'1.0.31','version':1,"                      \
	"'expires':'2031-01-01T00:00:00Z'" extra ",'meta':" meta "}}"
#define SNAP_META "{'snapshot.json':{'version':1}}"
#define TS_META(m) TS("[]", "", m)
#define SHA256_HEX "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'"

TEST(envelope)
{
	expect_str(TS("[]", "", SNAP_META), TUF_ROLE_TIMESTAMP, 0);
	expect_str("[]", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signed':{}}", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[]}", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':{},'signed':{}}", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':[]}", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	/* Exactly two members at the top level. */
	expect_str("{'x':1,'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0.31',"
		   "'version':1,'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	/* Strict JSON: duplicate keys and trailing garbage. */
	expect_str(TS("[]", ",'version':2", SNAP_META), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS("[]", "", SNAP_META) " x", TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
}

TEST(common_fields)
{
	const char *ok_specs[] = {"'1.0'", "'1.0.0'", "'1.0.31'", "'1.99.1234'"};

	for (size_t i = 0; i < ELEMENTSOF(ok_specs); i++) {
		char buf[512];

		snprintf(buf, sizeof(buf),
			 "{'signatures':[],'signed':{'_type':'timestamp','spec_version':%s,"
			 "'version':1,'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
			 ok_specs[i]);
		expect_str(buf, TUF_ROLE_TIMESTAMP, 0);
	}
	static const struct {
		const char *spec;
		int code;
	} bad_specs[] = {
	    {"'1'", TUF_E_FORMAT},	   {"'1.0.0.0'", TUF_E_FORMAT},
	    {"'1.x'", TUF_E_FORMAT},	   {"''", TUF_E_FORMAT},
	    {"'1..0'", TUF_E_FORMAT},	   {"'1.0.'", TUF_E_FORMAT},
	    {"' 1.0'", TUF_E_FORMAT},	   {"1", TUF_E_FORMAT},
	    {"null", TUF_E_FORMAT},	   {"'2.0'", TUF_E_UNSUPPORTED},
	    {"'0.9'", TUF_E_UNSUPPORTED},  {"'01.0'", TUF_E_UNSUPPORTED},
	    {"'10.0'", TUF_E_UNSUPPORTED},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad_specs); i++) {
		char buf[512];

		snprintf(buf, sizeof(buf),
			 "{'signatures':[],'signed':{'_type':'timestamp','spec_version':%s,"
			 "'version':1,'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
			 bad_specs[i].spec);
		expect_str(buf, TUF_ROLE_TIMESTAMP, bad_specs[i].code);
	}
	/* _type: missing, wrong type, wrong role, and case matters. */
	expect_str("{'signatures':[],'signed':{'spec_version':'1.0','version':1,"
		   "'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':1,'spec_version':'1.0','version':1,"
		   "'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':'Timestamp','spec_version':'1.0',"
		   "'version':1,'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_TYPE);
	/* version: >= 1, an integer. */
	expect_str("{'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0',"
		   "'version':0,'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0',"
		   "'version':'1','expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0',"
		   "'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(
	    "{'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0',"
	    "'version':18446744073709551616,'expires':'2031-01-01T00:00:00Z','meta':" SNAP_META
	    "}}",
	    TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	/* expires: the one TUF time format. */
	expect_str("{'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0',"
		   "'version':1,'expires':'2031-01-01T00:00:00+00:00','meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':'timestamp','spec_version':'1.0',"
		   "'version':1,'meta':" SNAP_META "}}",
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
}

TEST(signature_entries)
{
	struct tuf_metadata *md = NULL;
	char keyid[TUF_MAX_KEYID_LEN + 2], sig[2 * TUF_MAX_SIG_LEN + 3];
	char buf[8192];

	/* Extra members in a signature entry are allowed; an empty signature decodes. */
	ASSERT_OK(parse_str(
	    TS("[{'keyid':'ab','sig':'00ff','method':'x'},{'keyid':'ab','sig':''}]", "", SNAP_META),
	    TUF_ROLE_TIMESTAMP, &md));
	ASSERT_EQ_INT(md->n_sigs, 2);
	ASSERT_EQ_STR(md->sigs[0].keyid, "ab");
	ASSERT_EQ_INT(md->sigs[0].sig_len, 2);
	ASSERT_EQ_INT(md->sigs[0].sig[0], 0x00);
	ASSERT_EQ_INT(md->sigs[0].sig[1], 0xff);
	ASSERT_EQ_INT(md->sigs[1].sig_len, 0);
	ASSERT_ERR(tuf_metadata_verify_root_role(md, &root->u.root, TUF_ROLE_TIMESTAMP),
		   TUF_E_THRESHOLD);
	tuf_metadata_free(md);

	expect_str(TS("[{'keyid':'ab','sig':'ABCDEF'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP, 0);
	expect_str(TS("[{'keyid':'ab'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS("[{'sig':'00'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS("[{'keyid':1,'sig':'00'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS("[{'keyid':'','sig':'00'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS("[{'keyid':'ab','sig':'0'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS("[{'keyid':'ab','sig':'0g'}]", "", SNAP_META), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS("[{'keyid':'ab','sig':null}]", "", SNAP_META), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS("['ab']", "", SNAP_META), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);

	/* Key id cap: TUF_MAX_KEYID_LEN bytes pass, one more does not. */
	memset(keyid, 'a', TUF_MAX_KEYID_LEN);
	keyid[TUF_MAX_KEYID_LEN] = '\0';
	snprintf(buf, sizeof(buf), TS("[{'keyid':'%s','sig':'00'}]", "", SNAP_META), keyid);
	expect_str(buf, TUF_ROLE_TIMESTAMP, 0);
	strcat(keyid, "a");
	snprintf(buf, sizeof(buf), TS("[{'keyid':'%s','sig':'00'}]", "", SNAP_META), keyid);
	expect_str(buf, TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);

	/* Signature cap: TUF_MAX_SIG_LEN decoded bytes pass, one more does not. */
	memset(sig, 'a', 2 * TUF_MAX_SIG_LEN);
	sig[2 * TUF_MAX_SIG_LEN] = '\0';
	snprintf(buf, sizeof(buf), TS("[{'keyid':'ab','sig':'%s'}]", "", SNAP_META), sig);
	expect_str(buf, TUF_ROLE_TIMESTAMP, 0);
	strcat(sig, "aa");
	snprintf(buf, sizeof(buf), TS("[{'keyid':'ab','sig':'%s'}]", "", SNAP_META), sig);
	expect_str(buf, TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
}

TEST(timestamp_meta)
{
	struct tuf_metadata *md = NULL;

	expect_str(TS_META("{}"), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1},'targets.json':{'version':1}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot':{'version':1}}"), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("[]"), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':1}"), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{}}"), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':0}}"), TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'length':-1}}"), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'length':'5'}}"), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'length':null}}"), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	ASSERT_OK(parse_str(TS_META("{'snapshot.json':{'version':5,'length':0}}"),
			    TUF_ROLE_TIMESTAMP, &md));
	ASSERT_TRUE(md->u.timestamp.snapshot.has_length);
	ASSERT_EQ_INT(md->u.timestamp.snapshot.length, 0);
	ASSERT_EQ_INT(md->u.timestamp.snapshot.version, 5);
	ASSERT_TRUE(!md->u.timestamp.snapshot.has_hashes);
	tuf_metadata_free(md);
}

TEST(hashes)
{
	struct tuf_metadata *md = NULL;
	const struct tuf_hashes *h;

	/* Unknown algorithms are skipped and counted; digests are decoded. */
	ASSERT_OK(parse_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'md5':'xyz',"
				    "'sha256':" SHA256_HEX ",'blake2b-256':'00'}}}"),
			    TUF_ROLE_TIMESTAMP, &md));
	h = &md->u.timestamp.snapshot.hashes;
	ASSERT_TRUE(md->u.timestamp.snapshot.has_hashes);
	ASSERT_EQ_INT(h->n, 1);
	ASSERT_EQ_INT(h->n_unknown, 2);
	ASSERT_EQ_INT(h->h[0].alg, TUF_HASH_SHA256);
	ASSERT_EQ_INT(h->h[0].digest[0], 0xe3);
	ASSERT_EQ_INT(h->h[0].digest[31], 0x55);
	tuf_metadata_free(md);

	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'md5':'00'}}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_UNSUPPORTED);
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{}}}"), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':[]}}"), TUF_ROLE_TIMESTAMP,
		   TUF_E_FORMAT);
	/* Wrong digest length, bad hex, wrong value types. */
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'sha256':'00'}}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'sha512':" SHA256_HEX "}}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'sha256':"
			   "'g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'sha256':1}}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(
	    TS_META("{'snapshot.json':{'version':1,'hashes':{'sha256':" SHA256_HEX ",'md5':2}}}"),
	    TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	/* More than TUF_MAX_HASHES entries. */
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'sha256':" SHA256_HEX
			   ",'a':'','b':'','c':'','d':'','e':'','f':'','g':'','h':''}}}"),
		   TUF_ROLE_TIMESTAMP, TUF_E_FORMAT);
	expect_str(TS_META("{'snapshot.json':{'version':1,'hashes':{'sha256':" SHA256_HEX
			   ",'a':'','b':'','c':'','d':'','e':'','f':'','g':''}}}"),
		   TUF_ROLE_TIMESTAMP, 0);
}

#define SNAP(meta)                                                                                 \
	"{'signatures':[],'signed':{'_type':'snapshot','spec_version':'1.0.31','version':1,"       \
	"'expires':'2031-01-01T00:00:00Z','meta':" meta "}}"

TEST(snapshot_meta)
{
	struct tuf_metadata *md = NULL;

	ASSERT_OK(parse_str(SNAP("{}"), TUF_ROLE_SNAPSHOT, &md));
	ASSERT_EQ_INT(md->u.snapshot.n_meta, 0);
	ASSERT_TRUE(tuf_snapshot_find(&md->u.snapshot, "targets.json") == NULL);
	tuf_metadata_free(md);
	expect_str(SNAP("{'targets.json':{'version':1},'a/b.json':{'version':2}}"),
		   TUF_ROLE_SNAPSHOT, 0);
	expect_str(SNAP("{'targets':{'version':1}}"), TUF_ROLE_SNAPSHOT, TUF_E_FORMAT);
	expect_str(SNAP("{'.json':{'version':1}}"), TUF_ROLE_SNAPSHOT, TUF_E_FORMAT);
	expect_str(SNAP("{'targets.json':{'version':1},'x.json':{'version':-3}}"),
		   TUF_ROLE_SNAPSHOT, TUF_E_FORMAT);
	expect_str(SNAP("{'targets.json':{'version':1,'hashes':{}}}"), TUF_ROLE_SNAPSHOT,
		   TUF_E_FORMAT);
	expect_str(SNAP("[]"), TUF_ROLE_SNAPSHOT, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':'snapshot','spec_version':'1.0.31',"
		   "'version':1,'expires':'2031-01-01T00:00:00Z'}}",
		   TUF_ROLE_SNAPSHOT, TUF_E_FORMAT);
}

#define TARGETS(targets)                                                                           \
	"{'signatures':[],'signed':{'_type':'targets','spec_version':'1.0.31','version':1,"        \
	"'expires':'2031-01-01T00:00:00Z','targets':" targets "}}"

TEST(targets_entries)
{
	struct tuf_metadata *md = NULL;

	ASSERT_OK(parse_str(TARGETS("{}"), TUF_ROLE_TARGETS, &md));
	ASSERT_EQ_INT(md->u.targets.n_targets, 0);
	ASSERT_TRUE(md->u.targets.delegations == NULL);
	tuf_metadata_free(md);
	expect_str(TARGETS("{'a':{'length':0,'hashes':{'sha256':" SHA256_HEX "},'custom':{},"
			   "'x':[1]}}"),
		   TUF_ROLE_TARGETS, 0);
	expect_str(TARGETS("{'a':{'length':0}}"), TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str(TARGETS("{'a':{'hashes':{'sha256':" SHA256_HEX "}}}"), TUF_ROLE_TARGETS,
		   TUF_E_FORMAT);
	expect_str(TARGETS("{'a':{'length':0,'hashes':{}}}"), TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str(TARGETS("{'a':{'length':-1,'hashes':{'sha256':" SHA256_HEX "}}}"),
		   TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str(TARGETS("{'a':{'length':0,'hashes':{'sha256':" SHA256_HEX "},'custom':[]}}"),
		   TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str(TARGETS("{'a':{'length':0,'hashes':{'sha256':" SHA256_HEX "},'custom':null}}"),
		   TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str(TARGETS("{'a':{'length':0,'hashes':{'md5':'00'}}}"), TUF_ROLE_TARGETS,
		   TUF_E_UNSUPPORTED);
	expect_str(TARGETS("{'a':[]}"), TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str(TARGETS("[]"), TUF_ROLE_TARGETS, TUF_E_FORMAT);
	expect_str("{'signatures':[],'signed':{'_type':'targets','spec_version':'1.0.31',"
		   "'version':1,'expires':'2031-01-01T00:00:00Z'}}",
		   TUF_ROLE_TARGETS, TUF_E_FORMAT);
}

TEST(target_path_cap)
{
	size_t cap = TUF_MAX_TARGET_PATH;
	char *path = malloc(cap + 2), *buf = malloc(cap + 1024);

	ASSERT_TRUE(path && buf);
	memset(path, 'p', cap);
	path[cap] = '\0';
	snprintf(buf, cap + 1024, TARGETS("{'%s':{'length':0,'hashes':{'sha256':" SHA256_HEX "}}}"),
		 path);
	expect_str(buf, TUF_ROLE_TARGETS, 0);
	strcat(path, "p");
	snprintf(buf, cap + 1024, TARGETS("{'%s':{'length':0,'hashes':{'sha256':" SHA256_HEX "}}}"),
		 path);
	expect_str(buf, TUF_ROLE_TARGETS, TUF_E_FORMAT);
	free(path);
	free(buf);
}

#define ED_KEY(pub) "{'keytype':'ed25519','scheme':'ed25519','keyval':{'public':'" pub "'}}"
#define PUB1 "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define ROLE1 "{'keyids':['k1'],'threshold':1}"
#define ROOT(keys, roles)                                                                          \
	"{'signatures':[],'signed':{'_type':'root','spec_version':'1.0.31','version':1,"           \
	"'expires':'2031-01-01T00:00:00Z','consistent_snapshot':false,'keys':" keys                \
	",'roles':" roles "}}"
#define ROLES4(extra)                                                                              \
	"{'root':" ROLE1 ",'timestamp':" ROLE1 ",'snapshot':" ROLE1 ",'targets':" ROLE1 extra "}"

TEST(root_structure)
{
	struct tuf_metadata *md = NULL;

	ASSERT_OK(parse_str(ROOT("{'k1':" ED_KEY(PUB1) "}", ROLES4("")), TUF_ROLE_ROOT, &md));
	ASSERT_TRUE(!md->u.root.consistent_snapshot);
	ASSERT_EQ_INT(md->u.root.n_keys, 1);
	ASSERT_EQ_STR(md->u.root.keys[0].keyid, "k1");
	ASSERT_TRUE(md->u.root.keys[0].key);
	tuf_metadata_free(md);

	/* Keys listed by a role need not be in "keys" (they then never count). */
	expect_str(ROOT("{}", ROLES4("")), TUF_ROLE_ROOT, 0);
	/* Exactly the four top-level roles. */
	expect_str(ROOT("{}", ROLES4(",'mirrors':" ROLE1)), TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "{'root':" ROLE1 ",'timestamp':" ROLE1 ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "[]"), TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("[]", ROLES4("")), TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{'k1':[]}", ROLES4("")), TUF_ROLE_ROOT, TUF_E_FORMAT);
	/* Role objects: keyids an array of strings, threshold an integer >= 1. */
	expect_str(ROOT("{}", "{'root':{'keyids':'k1','threshold':1},'timestamp':" ROLE1
			      ",'snapshot':" ROLE1 ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "{'root':{'keyids':[1],'threshold':1},'timestamp':" ROLE1
			      ",'snapshot':" ROLE1 ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "{'root':{'keyids':[''],'threshold':1},'timestamp':" ROLE1
			      ",'snapshot':" ROLE1 ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "{'root':{'keyids':['k1']},'timestamp':" ROLE1 ",'snapshot':" ROLE1
			      ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "{'root':{'keyids':['a','b','a'],'threshold':1},'timestamp':" ROLE1
			      ",'snapshot':" ROLE1 ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{}", "{'root':{'keyids':[],'threshold':9223372036854775807},"
			      "'timestamp':" ROLE1 ",'snapshot':" ROLE1 ",'targets':" ROLE1 "}"),
		   TUF_ROLE_ROOT, 0);
	/* consistent_snapshot must be a boolean. */
	expect_str("{'signatures':[],'signed':{'_type':'root','spec_version':'1.0.31','version':1,"
		   "'expires':'2031-01-01T00:00:00Z','consistent_snapshot':'true','keys':{},"
		   "'roles':" ROLES4("") "}}",
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
}

TEST(root_key_material)
{
	struct tuf_metadata *md = NULL;

	/* Unknown key type or scheme: kept, unusable. */
	ASSERT_OK(parse_str(
	    ROOT("{'k1':{'keytype':'future','scheme':'x','keyval':{}},"
		 "'k2':{'keytype':'ed25519','scheme':'future','keyval':{'public':'" PUB1 "'}}}",
		 ROLES4("")),
	    TUF_ROLE_ROOT, &md));
	ASSERT_EQ_INT(md->u.root.n_keys, 2);
	ASSERT_TRUE(md->u.root.keys[0].key == NULL);
	ASSERT_TRUE(md->u.root.keys[1].key == NULL);
	tuf_metadata_free(md);
	/* Malformed material of a supported type is an error. */
	expect_str(ROOT("{'k1':" ED_KEY("zz") "}", ROLES4("")), TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_message_has(TUF_E_FORMAT, "root: keys.k1");
	expect_str(ROOT("{'k1':" ED_KEY("8a88") "}", ROLES4("")), TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{'k1':{'keytype':'ed25519','scheme':'ed25519','keyval':{}}}", ROLES4("")),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
	expect_str(ROOT("{'k1':{'keytype':'ecdsa','scheme':'ecdsa-sha2-nistp256','keyval':"
			"{'public':'not a pem'}}}",
			ROLES4("")),
		   TUF_ROLE_ROOT, TUF_E_FORMAT);
}

int main(void)
{
	RUN(role_type_names);
	RUN(root_valid);
	RUN(timestamp_valid);
	RUN(snapshot_valid);
	RUN(targets_valid);
	RUN(wrong_type);
	RUN(bad_thresholds);
	RUN(bad_fields);
	RUN(unsupported_key_never_counts);
	RUN(threshold_faked_by_one_key_under_two_ids);
	RUN(threshold_faked_by_repeated_signature);
	RUN(garbage_signatures_next_to_valid_threshold);
	RUN(wrongly_signed);
	RUN(unknown_fields_are_signed);
	RUN(verify_table_lookups);
	RUN(envelope);
	RUN(common_fields);
	RUN(signature_entries);
	RUN(timestamp_meta);
	RUN(hashes);
	RUN(snapshot_meta);
	RUN(targets_entries);
	RUN(target_path_cap);
	RUN(root_structure);
	RUN(root_key_material);
	tuf_metadata_free(root);
	return 0;
}
