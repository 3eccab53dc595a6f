/* SPDX-License-Identifier: Apache-2.0 */
/* `sluice-agent status`: identity, pinned root, slots, install state and models. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/*
 * Build the status document (what docs/agent.md lists) from cfg and the state directory,
 * at time now. Parts that cannot be read are reported as absent, not as errors, so that
 * status works on a half-configured device. *ret is a new json-c reference.
 */
int agent_status_build(const struct agent_config *cfg, int64_t now, struct json_object **ret);

/* Print status as indented JSON (json) or as "key: value" lines. */
int agent_status_print(const struct agent_config *cfg, int64_t now, bool json, FILE *out);
