/* SPDX-License-Identifier: Apache-2.0 */
/* Device facts against model needs, and version ordering. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "facts.h"

#define NEED_MAX 128 /* bytes of a runtime name or version in a need */

int agent_version_compare(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *sa, *sb;
			size_t la, lb;

			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			for (sa = a; isdigit((unsigned char)*a); a++)
				;
			for (sb = b; isdigit((unsigned char)*b); b++)
				;
			la = (size_t)(a - sa);
			lb = (size_t)(b - sb);
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = memcmp(sa, sb, la);
			if (c)
				return c < 0 ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* Find NAME=VERSION of name in a list like "onnxruntime=1.17, tflite=2.14". */
static bool find_runtime(const char *list, const char *name, char *ret_version, size_t size)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t len = strcspn(p, ", \t");
		const char *eq = memchr(p, '=', len);

		if (eq && (size_t)(eq - p) == n && !memcmp(p, name, n)) {
			size_t vl = len - n - 1;
			if (vl >= size)
				return false;
			memcpy(ret_version, eq + 1, vl);
			ret_version[vl] = '\0';
			return true;
		}
		p += len;
	}
	return false;
}

static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (len == n && !memcmp(p, name, n))
			return true;
		p += len;
	}
	return false;
}

static bool op_holds(const char *op, int c)
{
	if (!strcmp(op, ">="))
		return c >= 0;
	if (!strcmp(op, "<="))
		return c <= 0;
	if (!strcmp(op, ">"))
		return c > 0;
	if (!strcmp(op, "<"))
		return c < 0;
	return c == 0; /* "=" and "==" */
}

static int check_runtime(const struct agent_config *cfg, const char *model, const char *runtime)
{
	char name[NEED_MAX], op[3] = "", have[NEED_MAX];
	size_t n = strcspn(runtime, "<>=");
	const char *p = runtime + n, *want;

	if (n == 0 || n >= sizeof(name))
		return sl_error(SL_E_INVALID, "model %s: malformed runtime need '%s'", model,
				runtime);
	memcpy(name, runtime, n);
	name[n] = '\0';
	while (n > 0 && name[n - 1] == ' ')
		name[--n] = '\0';
	size_t ol = strspn(p, "<>=");
	if (ol > 2)
		return sl_error(SL_E_INVALID, "model %s: malformed runtime need '%s'", model,
				runtime);
	memcpy(op, p, ol);
	op[ol] = '\0';
	want = p + ol;
	while (*want == ' ')
		want++;
	if (ol && (!*want || (strcmp(op, ">=") && strcmp(op, "<=") && strcmp(op, "==") &&
			      strcmp(op, "=") && strcmp(op, ">") && strcmp(op, "<"))))
		return sl_error(SL_E_INVALID, "model %s: malformed runtime need '%s'", model,
				runtime);
	if (!find_runtime(cfg->runtimes, name, have, sizeof(have)))
		return sl_error(TUF_E_UNSUPPORTED,
				"model %s: needs runtime %s, the device has none", model, name);
	if (ol && !op_holds(op, agent_version_compare(have, want)))
		return sl_error(TUF_E_UNSUPPORTED, "model %s: needs %s, the device has %s %s",
				model, runtime, name, have);
	return 0;
}

int agent_facts_check_model(const struct agent_config *cfg, const char *model, const char *runtime,
			    const char *accelerator)
{
	int r;

	if (runtime && *runtime) {
		r = check_runtime(cfg, model, runtime);
		if (r < 0)
			return r;
	}
	if (accelerator && *accelerator && strcmp(accelerator, "any") != 0 &&
	    !list_has(cfg->accelerator, accelerator))
		return sl_error(TUF_E_UNSUPPORTED,
				"model %s: needs accelerator %s, the device has %s", model,
				accelerator, cfg->accelerator ? cfg->accelerator : "none");
	return 0;
}
