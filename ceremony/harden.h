/* SPDX-License-Identifier: Apache-2.0 */
/* Process hardening for the offline ceremony tool, and the air-gap check of the network. */
#pragma once

#include <stddef.h>

/* Flags of cer_harden_process(). */
#define CER_HARDEN_NO_MLOCK (1u << 0) /* skip mlockall() (tests under sanitizers) */

/* Warnings reported by cer_harden_process(): hardening that was tolerated to fail. */
#define CER_HARDEN_WARN_MLOCK (1u << 0) /* memory could not be locked (or was not tried) */

/*
 * Harden the calling process before any secret exists: core dumps off
 * (RLIMIT_CORE 0 and PR_SET_DUMPABLE 0, which also stops ptrace by other users), umask 077,
 * and all present and future memory locked with mlockall() where the memory-lock limit allows
 * it: only when that limit is, or may be raised to, unlimited (with a finite limit, locked
 * future memory would make the KDF's large allocation fail, so locking is skipped). A failed
 * or skipped memory lock is tolerated and reported as CER_HARDEN_WARN_MLOCK in *ret_warnings
 * (optional).
 * Returns 0, or -errno when core dumps cannot be turned off.
 */
int cer_harden_process(unsigned flags, unsigned *ret_warnings);

struct sl_cli_program;

/*
 * main() of a tool that holds secrets (sluice-ceremony, sluice-provision): registers program,
 * hardens the process (cer_harden_process(); no memory lock under AddressSanitizer, whose
 * shadow memory does not mix with it), initialises libsodium's guarded memory and runs the
 * verb argv names. Returns the exit code.
 */
int cer_harden_main(const struct sl_cli_program *program, int argc, char **argv);

/* Longest interface name reported by cer_network_check(), with its NUL (IFNAMSIZ). */
#define CER_IFNAME_SIZE 16

/*
 * The air-gap check: is any non-loopback network interface up with an IPv4 or IPv6 address?
 * Returns 0 when none is, 1 when one is (its name copied to ifname, optional, of
 * CER_IFNAME_SIZE bytes), or -errno when the interfaces cannot be listed.
 */
int cer_network_check(char *ifname);
