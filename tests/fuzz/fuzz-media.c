/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target for the provisioning media parsers: manifest.json and agent.conf. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool manifest_eq(const struct prov_media_manifest *a, const struct prov_media_manifest *b)
{
	if (strcmp(a->device_id, b->device_id) || strcmp(a->hardware, b->hardware) ||
	    strcmp(a->created, b->created) || strcmp(a->root_sha256, b->root_sha256))
		return false;
	for (int i = 0; i < PROV_MEDIA_MANIFEST; i++)
		if (strcmp(a->sha256[i], b->sha256[i]) || a->length[i] != b->length[i])
			return false;
	return true;
}

static bool conf_eq(const struct prov_agent_conf *a, const struct prov_agent_conf *b)
{
	return !strcmp(a->device_id, b->device_id) && !strcmp(a->hardware, b->hardware) &&
	       !strcmp(a->controlplane_url, b->controlplane_url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prov_media_manifest m;
	struct prov_agent_conf c;
	char *out = NULL;
	size_t len = 0;

	if (prov_media_manifest_parse(data, size, &m) == 0) {
		/* What parses must format and parse back to the same manifest. */
		if (prov_media_manifest_format(&m, &out, &len) == 0) {
			struct prov_media_manifest again;

			if (prov_media_manifest_parse(out, len, &again) != 0 ||
			    !manifest_eq(&m, &again))
				__builtin_trap();
			free(out);
			out = NULL;
		}
	}
	if (prov_agent_conf_parse(data, size, &c) == 0) {
		if (prov_agent_conf_format(&c, &out, &len) == 0) {
			struct prov_agent_conf again;

			if (prov_agent_conf_parse(out, len, &again) != 0 || !conf_eq(&c, &again))
				__builtin_trap();
			free(out);
		}
	}
	sl_error_clear();
	return 0;
}
