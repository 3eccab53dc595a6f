/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: strict JSON parsing, and canonical output that parses back to itself. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tuf/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs beyond this teach the fuzzer nothing new and only slow it down. */
#define FUZZ_JSON_MAX (1024 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "fuzz-json: %s\n", what);
	abort();
}

static bool has_control_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *o2 = NULL;
	char *c1 = NULL, *c2 = NULL;
	size_t l1 = 0, l2 = 0;
	int r;

	if (size > FUZZ_JSON_MAX)
		return 0;
	r = tuf_json_parse(data, size, 0, &o);
	if (r < 0) {
		if (r != TUF_E_FORMAT)
			die("parse failed with a code other than TUF_E_FORMAT");
		return 0;
	}
	/* The parser never builds doubles, so canonicalisation cannot fail. */
	if (tuf_json_canonical(o, &c1, &l1) < 0)
		die("canonical form of a parsed document failed");
	if (strlen(c1) != l1)
		die("canonical output holds a NUL or has the wrong length");

	/*
	 * Canonical JSON writes control characters raw, which strict JSON input refuses; every
	 * other canonical output must parse back to an equal document with the same bytes.
	 */
	if (has_control_bytes(c1, l1)) {
		r = tuf_json_parse(c1, l1, 0, &o2);
		if (r != TUF_E_FORMAT)
			die("canonical output with raw control bytes was accepted");
	} else {
		if (tuf_json_parse(c1, l1, 0, &o2) < 0)
			die("canonical output does not parse");
		if (!json_object_equal(o, o2))
			die("canonical output parses to a different document");
		if (tuf_json_canonical(o2, &c2, &l2) < 0)
			die("second canonicalisation failed");
		if (l1 != l2 || memcmp(c1, c2, l1) != 0)
			die("canonical form is not idempotent");
	}
	free(c1);
	free(c2);
	json_object_put(o);
	json_object_put(o2);
	return 0;
}
