/* SPDX-License-Identifier: Apache-2.0 */
/* Core dumps off, memory locked, private umask; and the check for live network interfaces. */
#include <errno.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli.h"
#include "error.h"
#include "harden.h"
#include "secmem.h"

/* Memory locking and AddressSanitizer's shadow memory do not mix. */
#ifdef __SANITIZE_ADDRESS__
#define HARDEN_MAIN_FLAGS CER_HARDEN_NO_MLOCK
#else
#define HARDEN_MAIN_FLAGS 0u
#endif

_Static_assert(CER_IFNAME_SIZE == IFNAMSIZ, "interface name size");

static int core_dumps_off(void)
{
	const struct rlimit zero = {0, 0};

	if (setrlimit(RLIMIT_CORE, &zero) < 0)
		return sl_error(-errno, "cannot set RLIMIT_CORE to 0: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return sl_error(-errno, "cannot clear PR_SET_DUMPABLE: %s", strerror(errno));
	return 0;
}

/* Lock all memory if the lock limit is (or can be made) unlimited; false when not locked. */
static bool lock_memory(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return false;
	if (rl.rlim_cur != RLIM_INFINITY) {
		const struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};

		/* Allowed when the hard limit is unlimited or with CAP_SYS_RESOURCE. */
		if (setrlimit(RLIMIT_MEMLOCK, &inf) < 0)
			return false;
	}
	return mlockall(MCL_CURRENT | MCL_FUTURE) == 0;
}

int cer_harden_process(unsigned flags, unsigned *ret_warnings)
{
	unsigned warnings = 0;
	int r;

	umask(077);
	r = core_dumps_off();
	if (r < 0)
		return r;
	if ((flags & CER_HARDEN_NO_MLOCK) || !lock_memory())
		warnings |= CER_HARDEN_WARN_MLOCK;
	if (ret_warnings)
		*ret_warnings = warnings;
	return 0;
}

int cer_network_check(char *ifname)
{
	struct ifaddrs *list, *i;
	int found = 0;

	if (getifaddrs(&list) < 0)
		return sl_error(-errno, "cannot list network interfaces: %s", strerror(errno));
	for (i = list; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
			continue;
		found = 1;
		if (ifname)
			snprintf(ifname, CER_IFNAME_SIZE, "%s", i->ifa_name);
	}
	freeifaddrs(list);
	return found;
}

int cer_harden_main(const struct sl_cli_program *program, int argc, char **argv)
{
	unsigned warnings = 0;
	int r;

	sl_cli_set_program(program);
	r = cer_harden_process(HARDEN_MAIN_FLAGS, &warnings);
	if (r < 0)
		return sl_cli_fail(r, "harden", "the process");
	sl_cli_set_mlock_failed(warnings & CER_HARDEN_WARN_MLOCK);
	r = sl_secmem_init();
	if (r < 0)
		return sl_cli_fail(r, "initialise", "libsodium");
	return sl_cli_dispatch(argc, argv);
}
