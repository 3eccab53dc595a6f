/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the model archive reader: scan, unpack into a temporary directory, compare. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fileio.h"
#include "untar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits: a fuzzer must not fill the disk or spend its time in fsync. */
	const struct agent_untar_limits lim = {.max_members = 64, .max_bytes = 1u << 20,
					       .max_path = 256, .max_depth = 8};
	char *dir = NULL;
	int fd, dfd;

	fd = memfd_create("fuzz-untar", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (sl_write_all(fd, data, size) < 0)
		abort();
	(void)agent_untar_scan(fd, "fuzz.tar", "fuzz.tar", &lim, NULL);
	if (sl_mkdtemp_private(NULL, &dir) < 0)
		abort();
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		abort();
	if (agent_untar_extract(fd, "fuzz.tar", dfd, "fuzz.tar", &lim, NULL) >= 0 &&
	    agent_untar_verify(fd, "fuzz.tar", dfd, "fuzz.tar", &lim) < 0)
		abort(); /* what was unpacked must compare equal to its archive */
	close(dfd);
	close(fd);
	if (sl_rm_rf(dir) < 0)
		abort();
	free(dir);
	return 0;
}
