/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target for the release manifest reader: parsing, caps, and the custom.sluice builder. */
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cer_manifest *m = NULL;

	if (cer_manifest_parse(data, size, "fuzz.json", &m) >= 0) {
		for (size_t i = 0; i < m->n_artifacts; i++) {
			struct json_object *c = NULL;

			if (cer_manifest_custom(m, &m->artifacts[i], &c) < 0)
				abort();
			if (!json_object_to_json_string(c))
				abort();
			json_object_put(c);
			if (m->artifacts[i].role &&
			    !cer_manifest_find_delegation(m, m->artifacts[i].role))
				abort();
		}
	}
	cer_manifest_free(m);
	return 0;
}
