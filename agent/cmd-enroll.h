/* SPDX-License-Identifier: Apache-2.0 */
/* The `sluice-agent enroll` verb (part of the executable, not the library). */
#pragma once

#include "config.h"

/* Parse the verb's options (argv[0] is "enroll") and enroll into cfg->state_dir; exit status. */
int agent_cmd_enroll(const struct agent_config *cfg, int argc, char **argv);
