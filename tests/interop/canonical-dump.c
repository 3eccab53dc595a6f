/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: parse a JSON file strictly and write its canonical form to stdout. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "tuf/json.h"

/* Larger than any TUF metadata sluice accepts. */
#define CANONICAL_DUMP_MAX (16u * 1024 * 1024)

int main(int argc, char **argv)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *out = NULL;
	struct json_object *o = NULL;
	size_t len, out_len;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.json\n", argv[0]);
		return 1;
	}
	r = sl_read_file_at(AT_FDCWD, argv[1], CANONICAL_DUMP_MAX, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "Failed to read '%s': %s\n", argv[1], sl_error_message(r));
		return 1;
	}
	r = tuf_json_parse(buf, len, 0, &o);
	if (r < 0) {
		fprintf(stderr, "Failed to parse '%s': %s\n", argv[1], sl_error_message(r));
		return 1;
	}
	r = tuf_json_canonical(o, &out, &out_len);
	json_object_put(o);
	if (r < 0) {
		fprintf(stderr, "Failed to canonicalise '%s': %s\n", argv[1], sl_error_message(r));
		return 1;
	}
	r = sl_write_all(STDOUT_FILENO, out, out_len);
	if (r < 0) {
		fprintf(stderr, "Failed to write to stdout: %s\n", sl_error_message(r));
		return 1;
	}
	return 0;
}
