/* SPDX-License-Identifier: Apache-2.0 */
/* The `serve` verb of sluice-controlplane, implemented by the server (controlplane/server/). */
#pragma once

/* Run `sluice-controlplane serve [options]`; argv[0] is "serve". Returns the exit code. */
int cp_cmd_serve(int argc, char **argv);
