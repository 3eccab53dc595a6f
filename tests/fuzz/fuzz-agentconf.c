/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the agent's INI configuration parser, in both the full and the identity mode. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;

	agent_config_init(&cfg);
	(void)agent_config_parse((const char *)data, size, "fuzz", false, &cfg);
	(void)agent_config_validate_install(&cfg);
	(void)agent_config_parse((const char *)data, size, "fuzz", true, &cfg);
	agent_config_clear(&cfg);
	return 0;
}
