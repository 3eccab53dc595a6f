/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of delegations: parsing, path patterns, hash prefixes and TAP 15 succinct hash bins. */
#include <fcntl.h>
#include <stdbool.h>

#include "error.h"
#include "fileio.h"
#include "test.h"
#include "tuf/metadata.h"

static struct tuf_metadata *parse_file(const char *name)
{
	const char *dir = getenv("SLUICE_TEST_DATA");
	struct tuf_metadata *md = NULL;
	char path[4096];
	uint8_t *buf = NULL;
	size_t len;

	ASSERT_TRUE(dir);
	snprintf(path, sizeof(path), "%s/metadata/%s", dir, name);
	ASSERT_OK(sl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len));
	ASSERT_OK(tuf_metadata_parse(buf, len, TUF_ROLE_TARGETS, &md));
	free(buf);
	return md;
}

/* Parse an unsigned targets document whose "delegations" is deleg (single quotes allowed). */
static int parse_delegations(const char *deleg, struct tuf_metadata **ret)
{
	char *s = NULL;
	int r;

	ASSERT_TRUE(asprintf(&s,
			     "{'signatures':[],'signed':{'_type':'targets','spec_version':'1.0.31',"
			     "'version':1,'expires':'2031-01-01T00:00:00Z','targets':{},"
			     "'delegations':%s}}",
			     deleg) > 0);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	r = tuf_metadata_parse(s, strlen(s), TUF_ROLE_TARGETS, ret);
	free(s);
	return r;
}

static void expect_delegations(const char *deleg, int code)
{
	struct tuf_metadata *md = NULL;
	int r = parse_delegations(deleg, &md);

	if (r != code)
		fprintf(stderr, "delegations: %s\n", deleg);
	ASSERT_ERR(r, code);
	if (code >= 0)
		tuf_metadata_free(md);
	else
		ASSERT_TRUE(md == NULL);
}

static struct tuf_metadata *targets;

TEST(parsed_roles)
{
	const struct tuf_delegations *d;

	targets = parse_file("targets.json");
	d = targets->u.targets.delegations;
	ASSERT_TRUE(d && d->n_roles == 3 && d->n_keys == 2 && !d->succinct);

	ASSERT_EQ_STR(d->roles[0].name, "role-a");
	ASSERT_TRUE(!d->roles[0].terminating);
	ASSERT_EQ_INT(d->roles[0].keys.threshold, 1);
	ASSERT_EQ_INT(d->roles[0].n_paths, 2);
	ASSERT_EQ_STR(d->roles[0].paths[0], "a/*");
	ASSERT_EQ_STR(d->roles[0].paths[1], "files/*.txt");
	ASSERT_TRUE(d->roles[0].path_hash_prefixes == NULL);

	ASSERT_EQ_STR(d->roles[1].name, "role-b");
	ASSERT_TRUE(d->roles[1].terminating);
	ASSERT_EQ_INT(d->roles[1].keys.threshold, 2);
	ASSERT_EQ_INT(d->roles[1].keys.n_keyids, 2);
	ASSERT_TRUE(d->roles[1].paths == NULL);
	ASSERT_EQ_INT(d->roles[1].n_path_hash_prefixes, 2);
	ASSERT_EQ_STR(d->roles[1].path_hash_prefixes[0], "55ae");

	ASSERT_EQ_STR(d->roles[2].name, "role-c");
	ASSERT_TRUE(d->roles[2].paths == NULL && d->roles[2].path_hash_prefixes == NULL);
}

TEST(role_matching)
{
	const struct tuf_delegations *d = targets->u.targets.delegations;
	const struct tuf_delegated_role *a = &d->roles[0], *b = &d->roles[1], *c = &d->roles[2];

	ASSERT_TRUE(tuf_delegated_role_matches(a, "a/x.bin"));
	ASSERT_TRUE(tuf_delegated_role_matches(a, "a/.hidden"));
	ASSERT_TRUE(tuf_delegated_role_matches(a, "files/notes.txt"));
	ASSERT_TRUE(!tuf_delegated_role_matches(a, "a/b/x.bin"));
	ASSERT_TRUE(!tuf_delegated_role_matches(a, "files/notes.bin"));
	ASSERT_TRUE(!tuf_delegated_role_matches(a, "files/sub/notes.txt"));
	ASSERT_TRUE(!tuf_delegated_role_matches(a, "b/x.bin"));
	ASSERT_TRUE(!tuf_delegated_role_matches(a, "file1.txt"));

	/* sha256("file1.txt") = 55ae75d9…, sha256("a/x.bin") = e945f17e… */
	ASSERT_TRUE(tuf_delegated_role_matches(b, "file1.txt"));
	ASSERT_TRUE(!tuf_delegated_role_matches(b, "a/x.bin"));
	ASSERT_TRUE(!tuf_delegated_role_matches(b, "file2.txt"));

	/* Neither paths nor prefixes: responsible for nothing. */
	ASSERT_TRUE(!tuf_delegated_role_matches(c, "file1.txt"));
	ASSERT_TRUE(!tuf_delegated_role_matches(c, ""));
}

TEST(verify_delegated)
{
	const struct tuf_delegations *d = targets->u.targets.delegations;
	struct tuf_metadata *role_a = parse_file("role-a.json");

	ASSERT_OK(tuf_metadata_verify_delegated(role_a, d, &d->roles[0].keys, "role-a"));
	/* Signed by DELEG1 only: one of role-b's two required keys. */
	ASSERT_ERR(tuf_metadata_verify_delegated(role_a, d, &d->roles[1].keys, "role-b"),
		   TUF_E_THRESHOLD);
	ASSERT_EQ_STR(sl_error_message(TUF_E_THRESHOLD),
		      "role-b: 1 of 2 required signatures are valid");
	ASSERT_ERR(tuf_metadata_verify_delegated(role_a, d, &d->roles[2].keys, "role-c"),
		   TUF_E_THRESHOLD);
	ASSERT_EQ_STR(sl_error_message(TUF_E_THRESHOLD),
		      "role-c: 0 of 1 required signatures are valid");
	tuf_metadata_free(role_a);
}

static bool match1(const char *pattern, const char *path)
{
	char *paths[] = {(char *)pattern};
	struct tuf_delegated_role r = {.name = (char *)"r", .paths = paths, .n_paths = 1};

	return tuf_delegated_role_matches(&r, path);
}

TEST(path_patterns)
{
	/* The specification's examples. */
	ASSERT_TRUE(match1("targets/*.tgz", "targets/foo.tgz"));
	ASSERT_TRUE(match1("targets/*.tgz", "targets/bar.tgz"));
	ASSERT_TRUE(!match1("targets/*.tgz", "targets/foo.txt"));
	ASSERT_TRUE(match1("foo-version-?.tgz", "foo-version-2.tgz"));
	ASSERT_TRUE(match1("foo-version-?.tgz", "foo-version-a.tgz"));
	ASSERT_TRUE(!match1("foo-version-?.tgz", "foo-version-alpha.tgz"));
	ASSERT_TRUE(match1("*.tgz", "foo.tgz"));
	ASSERT_TRUE(!match1("*.tgz", "targets/foo.tgz"));
	ASSERT_TRUE(match1("foo.tgz", "foo.tgz"));
	ASSERT_TRUE(!match1("foo.tgz", "bar.tgz"));

	/* Wildcards never cross '/', and component counts must agree. */
	ASSERT_TRUE(!match1("*", "a/b"));
	ASSERT_TRUE(match1("*/*", "a/b"));
	ASSERT_TRUE(!match1("*/*", "a"));
	ASSERT_TRUE(match1("a/*/c", "a/b/c"));
	ASSERT_TRUE(!match1("a/*/c", "a/b/d/c"));
	ASSERT_TRUE(!match1("a?b", "a/b"));
	ASSERT_TRUE(!match1("a[/]b", "a/b"));
	ASSERT_TRUE(!match1("a/*", "a"));
	ASSERT_TRUE(!match1("a", "a/"));
	ASSERT_TRUE(match1("a/*", "a/"));
	ASSERT_TRUE(!match1("/a", "a"));
	ASSERT_TRUE(match1("/*", "/a"));
	ASSERT_TRUE(!match1("*", "../a"));
	ASSERT_TRUE(match1("*/a", "../a"));

	/* Brackets, leading dots, and no escape character (as python's fnmatch). */
	ASSERT_TRUE(match1("[ab].txt", "a.txt"));
	ASSERT_TRUE(!match1("[ab].txt", "c.txt"));
	ASSERT_TRUE(match1("[!ab].txt", "c.txt"));
	ASSERT_TRUE(match1("*", ".hidden"));
	ASSERT_TRUE(match1("a\\*", "a\\b"));
	ASSERT_TRUE(!match1("a\\*", "a*"));
	ASSERT_TRUE(match1("*", ""));
	ASSERT_TRUE(!match1("?", ""));
}

static bool prefix1(const char *prefix, const char *path)
{
	char *prefixes[] = {(char *)prefix};
	struct tuf_delegated_role r = {
	    .name = (char *)"r", .path_hash_prefixes = prefixes, .n_path_hash_prefixes = 1};

	return tuf_delegated_role_matches(&r, path);
}

TEST(hash_prefixes)
{
	/* sha256("file1.txt") = 55ae75d991c7…, sha256("") = e3b0c44298fc… */
	ASSERT_TRUE(prefix1("5", "file1.txt"));
	ASSERT_TRUE(prefix1("55ae75d991c7", "file1.txt"));
	ASSERT_TRUE(!prefix1("55ae75d991c8", "file1.txt"));
	ASSERT_TRUE(prefix1("55ae75d991c770d8f3ef07cbfde124ffce9c420da5db6203afab700b27e10cf9",
			    "file1.txt"));
	ASSERT_TRUE(prefix1("e3b0", ""));
	ASSERT_TRUE(!prefix1("e3b0", "file1.txt"));
}

static struct tuf_succinct_roles bins(unsigned bit_length)
{
	return (struct tuf_succinct_roles){.bit_length = bit_length, .name_prefix = (char *)"bins"};
}

static void expect_bin(const struct tuf_succinct_roles *s, const char *path, const char *name)
{
	char *n = NULL;

	ASSERT_OK(tuf_succinct_role_name(s, path, &n));
	ASSERT_EQ_STR(n, name);
	ASSERT_TRUE(tuf_succinct_roles_has(s, n));
	free(n);
}

static void expect_bin_at(const struct tuf_succinct_roles *s, uint64_t i, const char *name)
{
	char *n = NULL;

	ASSERT_OK(tuf_succinct_role_name_at(s, i, &n));
	ASSERT_EQ_STR(n, name);
	free(n);
}

TEST(succinct_parsed)
{
	struct tuf_metadata *md = parse_file("targets-succinct.json");
	const struct tuf_delegations *d = md->u.targets.delegations;
	const struct tuf_succinct_roles *s;
	char *n = NULL;

	ASSERT_TRUE(d && d->succinct && d->roles == NULL && d->n_roles == 0);
	s = d->succinct;
	ASSERT_EQ_INT(s->bit_length, 8);
	ASSERT_EQ_STR(s->name_prefix, "bins");
	ASSERT_EQ_INT(s->keys.threshold, 1);
	ASSERT_EQ_INT(s->keys.n_keyids, 1);
	ASSERT_EQ_INT(tuf_succinct_roles_count(s), 256);
	/* Expected names computed as python-tuf's SuccinctRoles.get_role_for_target does. */
	expect_bin(s, "file1.txt", "bins-55");
	expect_bin(s, "a/x.bin", "bins-e9");
	expect_bin(s, "dir/file2.txt", "bins-00");
	expect_bin(s, "", "bins-e3");
	expect_bin_at(s, 0, "bins-00");
	expect_bin_at(s, 10, "bins-0a");
	expect_bin_at(s, 255, "bins-ff");
	ASSERT_ERR(tuf_succinct_role_name_at(s, 256, &n), SL_E_INVALID);
	ASSERT_TRUE(n == NULL);

	ASSERT_TRUE(tuf_succinct_roles_has(s, "bins-0a"));
	ASSERT_TRUE(tuf_succinct_roles_has(s, "bins-ff"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins-0A"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins-a"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins-100"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins-0g"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins-"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins00"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bin-00"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "xbins-00"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, "bins-+1"));
	ASSERT_TRUE(!tuf_succinct_roles_has(s, ""));
	tuf_metadata_free(md);
}

TEST(succinct_widths)
{
	struct tuf_succinct_roles s1 = bins(1), s4 = bins(4), s10 = bins(10), s32 = bins(32);

	ASSERT_EQ_INT(tuf_succinct_roles_count(&s1), 2);
	expect_bin(&s1, "file1.txt", "bins-0");
	expect_bin(&s1, "a/x.bin", "bins-1");
	expect_bin_at(&s1, 1, "bins-1");
	ASSERT_TRUE(!tuf_succinct_roles_has(&s1, "bins-2"));
	ASSERT_TRUE(!tuf_succinct_roles_has(&s1, "bins-00"));

	expect_bin(&s4, "file1.txt", "bins-5");
	expect_bin(&s4, "a/x.bin", "bins-e");
	ASSERT_EQ_INT(tuf_succinct_roles_count(&s4), 16);

	/* 1024 bins: three hex digits, the last bin is 3ff. */
	ASSERT_EQ_INT(tuf_succinct_roles_count(&s10), 1024);
	expect_bin(&s10, "file1.txt", "bins-156");
	expect_bin(&s10, "a/x.bin", "bins-3a5");
	expect_bin(&s10, "dir/file2.txt", "bins-001");
	expect_bin_at(&s10, 1023, "bins-3ff");
	ASSERT_TRUE(tuf_succinct_roles_has(&s10, "bins-3ff"));
	ASSERT_TRUE(!tuf_succinct_roles_has(&s10, "bins-400"));
	ASSERT_TRUE(!tuf_succinct_roles_has(&s10, "bins-fff"));

	ASSERT_EQ_INT(tuf_succinct_roles_count(&s32), UINT64_C(4294967296));
	expect_bin(&s32, "file1.txt", "bins-55ae75d9");
	expect_bin(&s32, "dir/file2.txt", "bins-0063dc54");
	expect_bin_at(&s32, 0, "bins-00000000");
	expect_bin_at(&s32, UINT64_C(4294967295), "bins-ffffffff");
	ASSERT_TRUE(tuf_succinct_roles_has(&s32, "bins-ffffffff"));
	ASSERT_TRUE(!tuf_succinct_roles_has(&s32, "bins-100000000"));
}

#define KEYS "'keys':{}"
#define ROLE(name, extra)                                                                          \
	"{'name':'" name "','keyids':['k'],'threshold':1,'terminating':false" extra "}"
#define ROLES(list) "{" KEYS ",'roles':[" list "]}"
#define SUCCINCT(bits, extra)                                                                      \
	"{" KEYS ",'succinct_roles':{'keyids':['k'],'threshold':1,'bit_length':" bits              \
	",'name_prefix':'bins'" extra "}}"

TEST(delegations_structure)
{
	expect_delegations(ROLES(ROLE("a", "")), 0);
	expect_delegations(ROLES(""), 0);
	expect_delegations(SUCCINCT("1", ""), 0);
	expect_delegations(SUCCINCT("32", ""), 0);
	/* Exactly one of roles and succinct_roles. */
	expect_delegations("{" KEYS ",'roles':[],'succinct_roles':{'keyids':['k'],'threshold':1,"
			   "'bit_length':8,'name_prefix':'bins'}}",
			   TUF_E_FORMAT);
	expect_delegations("{" KEYS "}", TUF_E_FORMAT);
	expect_delegations("{'roles':[]}", TUF_E_FORMAT);
	expect_delegations("{'keys':[],'roles':[]}", TUF_E_FORMAT);
	expect_delegations("{" KEYS ",'roles':{}}", TUF_E_FORMAT);
	expect_delegations("[]", TUF_E_FORMAT);
	/* Unknown key types in delegations are kept but unusable. */
	expect_delegations(
	    "{'keys':{'k':{'keytype':'future','scheme':'x','keyval':{}}},'roles':[]}", 0);
}

TEST(delegated_role_names)
{
	char name[TUF_MAX_ROLENAME_LEN + 2], buf[1024];

	expect_delegations(ROLES(ROLE("a", "") "," ROLE("a", "")), TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "\"a\" is listed twice"));
	expect_delegations(
	    ROLES(ROLE("a", "") "," ROLE("b", "") "," ROLE("c", "") "," ROLE("b", "")),
	    TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("root", "")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("timestamp", "")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("snapshot", "")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("targets", "")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("", "")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("Targets", "")), 0);
	expect_delegations(ROLES("{'keyids':['k'],'threshold':1,'terminating':false}"),
			   TUF_E_FORMAT);
	expect_delegations(ROLES("{'name':7,'keyids':['k'],'threshold':1,'terminating':false}"),
			   TUF_E_FORMAT);
	/* TUF_MAX_ROLENAME_LEN bytes pass, one more does not. */
	memset(name, 'n', TUF_MAX_ROLENAME_LEN);
	name[TUF_MAX_ROLENAME_LEN] = '\0';
	snprintf(buf, sizeof(buf), ROLES(ROLE("%s", "")), name);
	expect_delegations(buf, 0);
	strcat(name, "n");
	snprintf(buf, sizeof(buf), ROLES(ROLE("%s", "")), name);
	expect_delegations(buf, TUF_E_FORMAT);
}

TEST(delegated_role_fields)
{
	/* terminating is required and boolean. */
	expect_delegations(ROLES("{'name':'a','keyids':['k'],'threshold':1}"), TUF_E_FORMAT);
	expect_delegations(ROLES("{'name':'a','keyids':['k'],'threshold':1,'terminating':'no'}"),
			   TUF_E_FORMAT);
	/* threshold and keyids as in root. */
	expect_delegations(ROLES("{'name':'a','keyids':['k'],'threshold':0,'terminating':true}"),
			   TUF_E_FORMAT);
	expect_delegations(ROLES("{'name':'a','keyids':['k','k'],'threshold':1,"
				 "'terminating':true}"),
			   TUF_E_FORMAT);
	expect_delegations(ROLES("{'name':'a','keyids':'k','threshold':1,'terminating':true}"),
			   TUF_E_FORMAT);
	/* paths xor path_hash_prefixes; each an array of strings. */
	expect_delegations(ROLES(ROLE("a", ",'paths':['x/*'],'path_hash_prefixes':['ab']")),
			   TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'paths':[],'path_hash_prefixes':[]")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'paths':[]")), 0);
	expect_delegations(ROLES(ROLE("a", ",'paths':'x/*'")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'paths':[1]")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'paths':null")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'path_hash_prefixes':['00','abcdef']")), 0);
	expect_delegations(ROLES(ROLE("a", ",'path_hash_prefixes':['AB']")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'path_hash_prefixes':['xy']")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'path_hash_prefixes':['']")), TUF_E_FORMAT);
	expect_delegations(ROLES(ROLE("a", ",'path_hash_prefixes':[0]")), TUF_E_FORMAT);
	expect_delegations(
	    ROLES(ROLE("a", ",'path_hash_prefixes':['"
			    "00000000000000000000000000000000000000000000000000000000000000000']")),
	    TUF_E_FORMAT);
}

TEST(succinct_fields)
{
	expect_delegations(SUCCINCT("0", ""), TUF_E_FORMAT);
	expect_delegations(SUCCINCT("33", ""), TUF_E_FORMAT);
	expect_delegations(SUCCINCT("-1", ""), TUF_E_FORMAT);
	expect_delegations(SUCCINCT("'8'", ""), TUF_E_FORMAT);
	expect_delegations("{" KEYS ",'succinct_roles':{'keyids':['k'],'threshold':1,"
			   "'bit_length':8}}",
			   TUF_E_FORMAT);
	expect_delegations("{" KEYS ",'succinct_roles':{'keyids':['k'],'threshold':0,"
			   "'bit_length':8,'name_prefix':'bins'}}",
			   TUF_E_FORMAT);
	expect_delegations("{" KEYS ",'succinct_roles':{'threshold':1,"
			   "'bit_length':8,'name_prefix':'bins'}}",
			   TUF_E_FORMAT);
	expect_delegations("{" KEYS ",'succinct_roles':[]}", TUF_E_FORMAT);
	/* Unknown members are allowed (and kept in the document). */
	expect_delegations(SUCCINCT("8", ",'x':1"), 0);
}

int main(void)
{
	RUN(parsed_roles);
	RUN(role_matching);
	RUN(verify_delegated);
	RUN(path_patterns);
	RUN(hash_prefixes);
	RUN(succinct_parsed);
	RUN(succinct_widths);
	RUN(delegations_structure);
	RUN(delegated_role_names);
	RUN(delegated_role_fields);
	RUN(succinct_fields);
	tuf_metadata_free(targets);
	return 0;
}
