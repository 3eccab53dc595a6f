/* SPDX-License-Identifier: Apache-2.0 */
/* The token enrollment verbs of sluice-controlplane: enroll-token and enroll-ca. */
#pragma once

/* enroll-token create|list|revoke (cmd-enroll.c). */
int cp_cmd_enroll_token(int argc, char **argv);

/* enroll-ca import|crl (cmd-enroll.c). */
int cp_cmd_enroll_ca(int argc, char **argv);
