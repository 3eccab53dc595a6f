/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the sluice-controlplane verbs: options, state opening, escaped output. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "state.h"

#define PROGRAM "sluice-controlplane"

/* Exit codes (documented in sluice-controlplane(1)). */
#define CP_EXIT_OK 0
#define CP_EXIT_USAGE 1
#define CP_EXIT_FAILED 2
#define CP_EXIT_AUDIT_BROKEN 3

/* Print "sluice-controlplane VERB: MESSAGE" on stderr and return CP_EXIT_USAGE. */
int cp_cli_usage_error(const char *verb, const char *fmt, ...) _printf_(2, 3);

/* Log "Failed to <what>: <message of r>" and return CP_EXIT_FAILED. */
int cp_cli_fail(int r, const char *what);

/* Open STATE (logging the failure); NULL on failure. */
struct cp_state *cp_cli_open(const char *dir);

/* "operator:<login name>" of the calling user, for the audit trail (static buffer). */
const char *cp_cli_actor(void);

/* Write s with control characters, backslashes and non-UTF-8-looking bytes escaped (\xNN). */
void cp_cli_print_escaped(FILE *f, const char *s);

/* Print a JSON object pretty and release it. */
void cp_cli_print_json(struct json_object *o);

/* Log the air-gap mode line (DESIGN.md §7). */
void cp_cli_log_airgap(void);

/* The verbs. */
int cp_cmd_init(int argc, char **argv);
int cp_cmd_root_import(int argc, char **argv);
int cp_cmd_publish(int argc, char **argv);
int cp_cmd_status(int argc, char **argv);
int cp_cmd_renew(int argc, char **argv);
int cp_cmd_devices(int argc, char **argv);
int cp_cmd_history(int argc, char **argv);
int cp_cmd_rollout(int argc, char **argv);
int cp_cmd_audit(int argc, char **argv);

/* One line on stderr for an unknown option or missing argument; returns CP_EXIT_USAGE. */
int cp_cli_bad_option(const char *verb, char **argv);
