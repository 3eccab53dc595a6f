/* SPDX-License-Identifier: Apache-2.0 */
/* cp-make-bundle: offline keys, a first root and release bundles for the control plane's
 * integration test, made with the tuf writer (the ceremony's stand-in). */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fileio.h"
#include "test-cp-util.h"

static int load_keys(const char *path, struct cpt_keys *k)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t seeds[96];
	size_t len;
	int r;

	r = sl_read_file_at(AT_FDCWD, path, 1024, &buf, &len);
	if (r < 0)
		return r;
	if (len < 192 || sl_hex_decode((const char *)buf, 192, seeds, sizeof(seeds)) != 96)
		return SL_E_INVALID;
	return cpt_keys_new(k, seeds);
}

static int usage(void)
{
	fprintf(stderr, "usage: cp-make-bundle keys OUT | root KEYS STATE OUT |"
			" bundle KEYS DIR RELEASE TARGETS_VERSION PATH=CONTENT...\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct cpt_keys k;
	int r;

	if (argc < 3)
		return usage();
	if (sodium_init() < 0)
		return 1;
	if (strcmp(argv[1], "keys") == 0) {
		uint8_t seeds[96];
		char hex[193];

		randombytes_buf(seeds, sizeof(seeds));
		sl_hex_encode(seeds, sizeof(seeds), hex);
		return sl_write_file_atomic(argv[2], hex, 192, 0600) < 0;
	}
	if (load_keys(argv[2], &k) < 0)
		return usage();
	if (strcmp(argv[1], "root") == 0 && argc == 5) {
		r = cpt_make_root(argv[3], &k, 1, argv[4], NULL);
	} else if (strcmp(argv[1], "bundle") == 0 && argc >= 6) {
		struct cpt_artifact a[16];
		struct cpt_bundle_opts o = {.release = argv[4],
					    .targets_version = strtoull(argv[5], NULL, 10)};
		size_t n = 0;

		for (int i = 6; i < argc && n < 16; i++) {
			char *eq = strchr(argv[i], '=');

			if (!eq)
				return usage();
			*eq = '\0';
			a[n++] = (struct cpt_artifact){argv[i], eq + 1, NULL};
		}
		r = cpt_make_bundle(argv[3], &k, &o, a, n);
	} else {
		return usage();
	}
	if (r < 0)
		fprintf(stderr, "cp-make-bundle: %s\n", sl_error_message(r));
	cpt_keys_clear(&k);
	return r < 0;
}
