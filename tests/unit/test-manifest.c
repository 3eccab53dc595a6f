/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ceremony/manifest: the strict release manifest reader and custom.sluice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "manifest.h"
#include "test.h"

#define GOOD                                                                                       \
	"{\"sluice_manifest\": 1, \"release\": \"2026.11.1\",\n"                                   \
	" \"delegations\": [{\"name\": \"models\", \"keys\": [\"models.pub\"],"                    \
	" \"paths\": [\"models/*\"]}],\n"                                                          \
	" \"artifacts\": [\n"                                                                      \
	"  {\"file\": \"out/rootfs.img\", \"target\": \"images/rootfs.img\", \"kind\": \"image\"," \
	"   \"hardware\": [\"board-a\", \"board-b\"], \"slot_class\": \"rootfs\"},\n"              \
	"  {\"file\": \"/abs/det.onnx\", \"target\": \"models/det.onnx\", \"kind\": \"model\","    \
	"   \"hardware\": [\"board-a\"], \"role\": \"models\", \"version\": \"3.1\","              \
	"   \"model\": {\"name\": \"detector\", \"runtime\": \"onnxruntime>=1.16\"}},\n"           \
	"  {\"file\": \"notes.txt\", \"target\": \"notes.txt\", \"kind\": \"file\","               \
	"   \"allow_downgrade\": true}]}"

static int parse(const char *text, struct cer_manifest **ret)
{
	return cer_manifest_parse(text, strlen(text), "m.json", ret);
}

/* GOOD with the first occurrence of old replaced by new, parsed; the manifest is freed. */
static int parse_edit(const char *old, const char *new)
{
	struct cer_manifest *m = NULL;
	const char *at = strstr(GOOD, old);
	char *text;
	int r;

	if (!at) {
		fprintf(stderr, "'%s' not in GOOD\n", old);
		ASSERT_TRUE(at);
	}
	ASSERT_TRUE(asprintf(&text, "%.*s%s%s", (int)(at - GOOD), GOOD, new, at + strlen(old)) > 0);
	r = parse(text, &m);
	ASSERT_TRUE(r < 0 || m);
	cer_manifest_free(m);
	free(text);
	return r;
}

TEST(good)
{
	struct cer_manifest *m = NULL;
	const struct cer_manifest_artifact *a;

	ASSERT_OK(parse(GOOD, &m));
	ASSERT_EQ_STR(m->release, "2026.11.1");
	ASSERT_EQ_STR(m->version, "2026.11.1");
	ASSERT_EQ_INT(m->expires_days, 0);
	ASSERT_EQ_INT(m->n_delegations, 1);
	ASSERT_EQ_STR(m->delegations[0].name, "models");
	ASSERT_EQ_INT(m->delegations[0].threshold, 1);
	ASSERT_TRUE(m->delegations[0].terminating);
	ASSERT_EQ_INT(m->n_artifacts, 3);
	a = &m->artifacts[0];
	ASSERT_EQ_INT(a->kind, CER_ARTIFACT_IMAGE);
	ASSERT_EQ_INT(a->n_hardware, 2);
	ASSERT_EQ_STR(a->hardware[1], "board-b");
	ASSERT_EQ_STR(a->slot_class, "rootfs");
	ASSERT_EQ_STR(a->version, "2026.11.1");
	ASSERT_TRUE(a->role == NULL && !a->allow_downgrade);
	a = &m->artifacts[1];
	ASSERT_EQ_STR(a->model_name, "detector");
	ASSERT_EQ_STR(a->model_accelerator, "any");
	ASSERT_EQ_STR(a->role, "models");
	ASSERT_EQ_STR(a->version, "3.1");
	a = &m->artifacts[2];
	ASSERT_EQ_INT(a->kind, CER_ARTIFACT_FILE);
	ASSERT_EQ_INT(a->n_hardware, 0);
	ASSERT_TRUE(a->allow_downgrade);
	ASSERT_TRUE(cer_manifest_find_delegation(m, "models") == &m->delegations[0]);
	ASSERT_TRUE(cer_manifest_find_delegation(m, "other") == NULL);
	cer_manifest_free(m);
	ASSERT_TRUE(cer_manifest_free(NULL) == NULL);
}

TEST(custom_fields)
{
	struct cer_manifest *m = NULL;
	struct json_object *c = NULL;

	ASSERT_OK(parse(GOOD, &m));
	ASSERT_OK(cer_manifest_custom(m, &m->artifacts[0], &c));
	ASSERT_EQ_STR(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN),
		      "{\"sluice\":{\"kind\":\"image\",\"release\":\"2026.11.1\",\"version\":"
		      "\"2026.11.1\",\"hardware\":[\"board-a\",\"board-b\"],\"slot_class\":"
		      "\"rootfs\",\"allow_downgrade\":false}}");
	json_object_put(c);
	ASSERT_OK(cer_manifest_custom(m, &m->artifacts[1], &c));
	ASSERT_EQ_STR(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN),
		      "{\"sluice\":{\"kind\":\"model\",\"release\":\"2026.11.1\",\"version\":"
		      "\"3.1\",\"hardware\":[\"board-a\"],\"model\":{\"name\":\"detector\","
		      "\"runtime\":\"onnxruntime>=1.16\",\"accelerator\":\"any\"},"
		      "\"allow_downgrade\":false}}");
	json_object_put(c);
	cer_manifest_free(m);
}

TEST(structure_refused)
{
	struct cer_manifest *m = NULL;

	ASSERT_ERR(parse("[]", &m), TUF_E_FORMAT);
	ASSERT_ERR(parse("{\"release\": \"r\", \"artifacts\": []}", &m), TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "sluice_manifest"));
	ASSERT_ERR(parse_edit("\"sluice_manifest\": 1", "\"sluice_manifest\": 2"), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"sluice_manifest\": 1", "\"sluice_manifest\": 1, \"x\": 1"),
		   TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "m.json: x: unknown member"));
	ASSERT_ERR(parse_edit("\"kind\": \"image\",", "\"kind\": \"image\", \"sig\": 1,"),
		   TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "artifacts[0].sig: unknown member"));
	ASSERT_ERR(parse_edit("\"runtime\"", "\"rt\""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"paths\"", "\"extra\": 1, \"paths\""), TUF_E_FORMAT);
	/* The strict JSON reader: floats, duplicate members, trailing bytes. */
	ASSERT_ERR(parse_edit("\"sluice_manifest\": 1", "\"sluice_manifest\": 1.0"), TUF_E_FORMAT);
	ASSERT_ERR(
	    parse_edit("\"release\": \"2026.11.1\"", "\"release\": \"a\", \"release\": \"b\""),
	    TUF_E_FORMAT);
	ASSERT_ERR(parse(GOOD "x", &m), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"artifacts\": [", "\"artifacts\": 1, \"z\": ["), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"allow_downgrade\": true", "\"allow_downgrade\": 1"), TUF_E_FORMAT);
	ASSERT_TRUE(m == NULL);
}

TEST(kinds_refused)
{
	ASSERT_ERR(parse_edit("\"kind\": \"image\"", "\"kind\": \"imagee\""), TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT),
			   "artifacts[0].kind: is not image, model or file"));
	ASSERT_ERR(parse_edit(", \"slot_class\": \"rootfs\"", ""), TUF_E_FORMAT);
	ASSERT_ERR(
	    parse_edit("\"role\": \"models\",", "\"role\": \"models\", \"slot_class\": \"a\","),
	    TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"slot_class\": \"rootfs\"",
			      "\"slot_class\": \"rootfs\", \"model\": {\"name\": \"m\"}"),
		   TUF_E_FORMAT);
	ASSERT_ERR(parse_edit(", \"version\": \"3.1\",   \"model\": {\"name\": \"detector\", "
			      "\"runtime\": \"onnxruntime>=1.16\"}",
			      ""),
		   TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("{\"name\": \"detector\", ", "{"), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"hardware\": [\"board-a\", \"board-b\"], ", ""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("[\"board-a\", \"board-b\"]", "[]"), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("[\"board-a\", \"board-b\"]", "[\"board-a\", \"board-a\"]"),
		   TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("[\"board-a\", \"board-b\"]", "[\"board a\"]"), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("[\"board-a\", \"board-b\"]", "[1]"), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"onnxruntime>=1.16\"", "\"onnx\\u0001\""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"2026.11.1\"", "\"2026/11\""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"2026.11.1\"", "\"\""), TUF_E_FORMAT);
	ASSERT_ERR(
	    parse_edit("\"2026.11.1\"",
		       "\"12345678901234567890123456789012345678901234567890123456789012345\""),
	    SL_E_TOO_LARGE);
}

TEST(paths_and_roles_refused)
{
	static const char *const bad[] = {"../x", "/etc/passwd", "a//b", "a/./b",  "a/../b",
					  "a/",	  ".",		 "..",	 "a\\\\b", NULL};

	for (const char *const *b = bad; *b; b++) {
		char t[64];

		snprintf(t, sizeof(t), "\"target\": \"%s\"", *b);
		ASSERT_ERR(parse_edit("\"target\": \"notes.txt\"", t), TUF_E_PATH);
	}
	ASSERT_ERR(parse_edit("\"target\": \"notes.txt\"", "\"target\": \"images/rootfs.img\""),
		   TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "duplicate target path"));
	ASSERT_ERR(parse_edit("\"role\": \"models\"", "\"role\": \"vision\""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"target\": \"models/det.onnx\"", "\"target\": \"other/det.onnx\""),
		   TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "not matched by any path pattern"));
	ASSERT_ERR(parse_edit("\"name\": \"models\"", "\"name\": \"targets\""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"name\": \"models\"", "\"name\": \".hidden\""), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"keys\": [\"models.pub\"]",
			      "\"keys\": [\"models.pub\"], \"threshold\": 2"),
		   TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"keys\": [\"models.pub\"]",
			      "\"keys\": [\"models.pub\"], \"threshold\": 0"),
		   TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"keys\": [\"models.pub\"]", "\"keys\": []"), TUF_E_FORMAT);
	ASSERT_ERR(parse_edit("\"delegations\": [{", "\"delegations\": [{\"name\": \"models\", "
						     "\"keys\": [\"k\"], \"paths\": [\"x\"]}, {"),
		   TUF_E_FORMAT);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_FORMAT), "duplicate role"));
}

TEST(caps)
{
	struct cer_manifest *m = NULL;
	size_t n = CER_MANIFEST_MAX + 1;
	char *big = malloc(n + 1), *many;
	size_t len = 0;

	memset(big, ' ', n);
	big[n] = '\0';
	ASSERT_ERR(parse(big, &m), SL_E_TOO_LARGE);
	free(big);

	/* One artifact more than the cap. */
	many = malloc(200u * (CER_MANIFEST_MAX_ARTIFACTS + 2));
	len +=
	    (size_t)sprintf(many, "{\"sluice_manifest\": 1, \"release\": \"r\", \"artifacts\": [");
	for (unsigned i = 0; i <= CER_MANIFEST_MAX_ARTIFACTS; i++)
		len += (size_t)sprintf(many + len,
				       "%s{\"file\": \"f\", \"target\": \"t%u\", "
				       "\"kind\": \"file\"}",
				       i ? "," : "", i);
	sprintf(many + len, "]}");
	ASSERT_ERR(parse(many, &m), SL_E_TOO_LARGE);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_TOO_LARGE), "artifacts: too many entries"));
	free(many);
	ASSERT_ERR(parse_edit("\"sluice_manifest\": 1", "\"sluice_manifest\": 1, "
							"\"expires_days\": 36501"),
		   TUF_E_FORMAT);
	ASSERT_ERR(cer_manifest_load("/nonexistent/m.json", &m), -ENOENT);
}

int main(void)
{
	RUN(good);
	RUN(custom_fields);
	RUN(structure_refused);
	RUN(kinds_refused);
	RUN(paths_and_roles_refused);
	RUN(caps);
	return 0;
}
