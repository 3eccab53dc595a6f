/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup and small helper macros shared by every part of sluice. */
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Take ownership of a pointer: return it and set the variable to NULL. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _ptr_ = (p);                                                         \
		(p) = NULL;                                                                        \
		_ptr_;                                                                             \
	})

/* Take ownership of a file descriptor: return it and set the variable to -1. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})

/* Declares name##p(type *p) that calls func(*p) when *p is set; for _cleanup_(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Free a NULL-terminated array of strings. Accepts NULL, returns NULL. */
static inline char **sl_strv_free(char **v)
{
	if (!v)
		return NULL;
	for (char **i = v; *i; i++)
		free(*i);
	free(v);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, sl_strv_free)
#define _cleanup_strv_free_ _cleanup_(sl_strv_freep)
