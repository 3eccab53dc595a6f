/* SPDX-License-Identifier: Apache-2.0 */
/* The record of issued and revoked device certificates (JSON lines), the approval export, CRLs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "pki-internal.h"
#include "tuf/json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

/* One revoked.jsonl line. */
struct revoked_rec {
	char id[PROV_ID_MAX + 1];
	struct prov_revoked rv;
};

typedef int (*line_fn)(struct json_object *o, unsigned line, void *userdata);

/* Call fn for every line of the registry file name (a missing file has no lines). */
static int for_each_line(struct prov_pki *p, const char *name, line_fn fn, void *userdata)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	unsigned line = 0;
	int r;

	r = sl_read_file_at(p->dfd, name, PROV_REGISTRY_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return sl_error(TUF_E_STATE, "%s/%s: cannot read: %s", p->dir, name,
				sl_error_message(r));
	for (const char *s = (const char *)buf, *end = s + len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		_cleanup_(json_object_putp) struct json_object *o = NULL;

		line++;
		if (n > 0) {
			if (n > PROV_RECORD_MAX || tuf_json_parse(s, n, 4, &o) < 0 ||
			    !json_object_is_type(o, json_type_object))
				return sl_error(TUF_E_STATE, "%s/%s:%u: not a JSON record", p->dir,
						name, line);
			r = fn(o, line, userdata);
			if (r < 0)
				return sl_error(r, "%s/%s:%u: %s", p->dir, name, line,
						sl_error_message(r));
		}
		s = nl ? nl + 1 : end;
	}
	return 0;
}

static int get_copy(struct json_object *o, const char *key, char *ret, size_t size)
{
	const char *s;
	int r = tuf_json_get_string(o, key, &s);

	if (r < 0)
		return TUF_E_STATE;
	if (strlen(s) >= size)
		return sl_error(TUF_E_STATE, "\"%s\" is too long", key);
	memcpy(ret, s, strlen(s) + 1);
	return 0;
}

struct issued_acc {
	struct prov_issued *v;
	size_t n, cap;
};

/* Append one elem-sized record to a growable array (*v, *n, *cap), doubling when full. */
static int array_push(void **v, size_t *n, size_t *cap, size_t elem, const void *rec)
{
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;
		void *nv = reallocarray(*v, ncap, elem);

		if (!nv)
			return sl_error(SL_E_NOMEM, "out of memory");
		*v = nv;
		*cap = ncap;
	}
	memcpy((char *)*v + *n * elem, rec, elem);
	(*n)++;
	return 0;
}

static int issued_push(struct issued_acc *a, const struct prov_issued *rec)
{
	return array_push((void **)&a->v, &a->n, &a->cap, sizeof(*rec), rec);
}

static int issued_line(struct json_object *o, unsigned line, void *userdata)
{
	struct prov_issued rec = {{0}};
	int r;

	r = get_copy(o, "id", rec.id, sizeof(rec.id));
	if (r >= 0)
		r = get_copy(o, "hardware", rec.hardware, sizeof(rec.hardware));
	if (r >= 0)
		r = get_copy(o, "serial", rec.serial, sizeof(rec.serial));
	if (r >= 0)
		r = get_copy(o, "cert_sha256", rec.cert_sha256, sizeof(rec.cert_sha256));
	if (r >= 0)
		r = get_copy(o, "not_after", rec.not_after, sizeof(rec.not_after));
	if (r >= 0)
		r = get_copy(o, "issued", rec.issued, sizeof(rec.issued));
	if (r < 0)
		return sl_error(TUF_E_STATE, "incomplete issued record");
	return issued_push(userdata, &rec);
}

struct revoked_acc {
	struct revoked_rec *v;
	size_t n, cap;
};

static int revoked_push(struct revoked_acc *a, const struct revoked_rec *rec)
{
	return array_push((void **)&a->v, &a->n, &a->cap, sizeof(*rec), rec);
}

static int revoked_line(struct json_object *o, unsigned line, void *userdata)
{
	struct revoked_rec rec = {.rv.reason = -1};
	struct json_object *reason = NULL;
	char when[21];
	int r;

	r = get_copy(o, "id", rec.id, sizeof(rec.id));
	if (r >= 0)
		r = get_copy(o, "serial", rec.rv.serial, sizeof(rec.rv.serial));
	if (r >= 0)
		r = get_copy(o, "revoked", when, sizeof(when));
	if (r >= 0)
		r = tuf_json_parse_time(when, &rec.rv.when);
	if (r < 0)
		return sl_error(TUF_E_STATE, "incomplete revocation record");
	if (json_object_object_get_ex(o, "reason", &reason) && reason &&
	    prov_crl_reason_from_name(json_object_get_string(reason), &rec.rv.reason) < 0)
		return sl_error(TUF_E_STATE, "unknown revocation reason");
	return revoked_push(userdata, &rec);
}

static int load_revoked(struct prov_pki *p, struct revoked_acc *ret)
{
	struct revoked_acc a = {0};
	int r = for_each_line(p, PKI_REVOKED, revoked_line, &a);

	if (r < 0) {
		free(a.v);
		return r;
	}
	*ret = a;
	return 0;
}

static int load_issued(struct prov_pki *p)
{
	struct issued_acc a = {0};
	int r;

	if (p->issued_loaded)
		return 0;
	r = for_each_line(p, PKI_ISSUED, issued_line, &a);
	if (r < 0) {
		free(a.v);
		return r;
	}
	p->issued = a.v;
	p->n_issued = a.n;
	p->issued_cap = a.cap;
	p->issued_loaded = true;
	return 0;
}

int pki_issued_has(struct prov_pki *p, const char *id, bool *ret)
{
	int r = load_issued(p);

	if (r < 0)
		return r;
	*ret = false;
	for (size_t i = 0; i < p->n_issued && !*ret; i++)
		*ret = strcmp(p->issued[i].id, id) == 0;
	return 0;
}

int pki_issued_remember(struct prov_pki *p, const struct prov_issued *rec)
{
	struct issued_acc a = {.v = p->issued, .n = p->n_issued, .cap = p->issued_cap};
	int r;

	if (!p->issued_loaded)
		return 0;
	r = issued_push(&a, rec);
	if (r < 0)
		return r;
	p->issued = a.v;
	p->n_issued = a.n;
	p->issued_cap = a.cap;
	return 0;
}

int prov_pki_issued_list(struct prov_pki *p, struct prov_issued **ret, size_t *ret_n)
{
	struct revoked_acc rv = {0};
	struct prov_issued *v = NULL;
	int r;

	r = load_issued(p);
	if (r >= 0)
		r = load_revoked(p, &rv);
	if (r < 0)
		return r;
	if (p->n_issued) {
		v = calloc(p->n_issued, sizeof(*v));
		if (!v) {
			free(rv.v);
			return sl_error(SL_E_NOMEM, "out of memory");
		}
		memcpy(v, p->issued, p->n_issued * sizeof(*v));
	}
	for (size_t i = 0; i < p->n_issued; i++)
		for (size_t j = 0; j < rv.n && !v[i].revoked; j++)
			v[i].revoked = strcmp(v[i].serial, rv.v[j].rv.serial) == 0;
	free(rv.v);
	*ret = v;
	*ret_n = p->n_issued;
	return 0;
}

static int add(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s = v ? json_object_new_string(v) : NULL;

	if ((v && !s) || json_object_object_add(o, k, s) < 0) {
		json_object_put(s);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int plain_line(struct json_object *o, char **ret)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s || !(*ret = strdup(s)))
		return sl_error(SL_E_NOMEM, "out of memory");
	return 0;
}

int pki_issued_line(const struct prov_issued *rec, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = add(o, "id", rec->id);
	if (r >= 0)
		r = add(o, "hardware", rec->hardware);
	if (r >= 0)
		r = add(o, "serial", rec->serial);
	if (r >= 0)
		r = add(o, "cert_sha256", rec->cert_sha256);
	if (r >= 0)
		r = add(o, "not_after", rec->not_after);
	if (r >= 0)
		r = add(o, "issued", rec->issued);
	if (r < 0)
		return r;
	return plain_line(o, ret);
}

int pki_registry_append(struct prov_pki *p, const char *name, const char *line, off_t *ret_old_size)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	int r;

	if (asprintf(&text, "%s\n", line) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	fd = openat(p->dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0)
		return sl_error(-errno, "%s/%s: cannot open: %s", p->dir, name, strerror(errno));
	r = sl_write_all(fd, text, strlen(text));
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && st.st_size == 0 && fsync(p->dfd) < 0)
		r = -errno;
	if (r < 0) {
		if (ftruncate(fd, st.st_size) == 0)
			(void)fsync(fd);
		return sl_error(r, "%s/%s: cannot append: %s", p->dir, name, strerror(-r));
	}
	*ret_old_size = st.st_size;
	return 0;
}

void pki_registry_undo(struct prov_pki *p, const char *name, off_t old_size)
{
	_cleanup_close_ int fd = openat(p->dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, old_size) == 0)
		(void)fsync(fd);
}

static int export_line(const struct prov_issued *rec, FILE *f)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *line = NULL;
	int r;

	if (!o)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = add(o, "id", rec->id);
	if (r >= 0)
		r = add(o, "hardware", rec->hardware);
	if (r >= 0)
		r = add(o, "cert_sha256", rec->cert_sha256);
	if (r >= 0)
		r = add(o, "not_after", rec->not_after);
	if (r >= 0)
		r = plain_line(o, &line);
	if (r < 0)
		return r;
	fprintf(f, "%s\n", line);
	return 0;
}

/* Sort key for the export: by id, then issue order. */
static int by_id_then_order(const void *a, const void *b, void *userdata)
{
	const struct prov_issued *v = userdata;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(v[i].id, v[j].id);

	return c ? c : (i > j) - (i < j);
}

/* Mark in keep[] the newest not revoked certificate of every id. */
static int select_latest(struct prov_issued *v, size_t n, bool *keep)
{
	_cleanup_free_ size_t *idx = calloc(n ? n : 1, sizeof(size_t));

	if (!idx)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(size_t), by_id_then_order, v);
	for (size_t k = 0; k < n; k++) {
		bool last = k + 1 == n || strcmp(v[idx[k]].id, v[idx[k + 1]].id) != 0;

		if (!last)
			continue;
		/* walk back within this id's group to the newest not revoked one */
		for (size_t m = k + 1; m-- > 0 && strcmp(v[idx[m]].id, v[idx[k]].id) == 0;)
			if (!v[idx[m]].revoked) {
				keep[idx[m]] = true;
				break;
			}
	}
	return 0;
}

int prov_pki_export(struct prov_pki *p, const char *out_file, size_t *ret_n)
{
	_cleanup_free_ struct prov_issued *v = NULL;
	_cleanup_free_ bool *keep = NULL;
	_cleanup_free_ char *data = NULL;
	size_t n = 0, size = 0, count = 0;
	FILE *f;
	int r;

	r = prov_pki_issued_list(p, &v, &n);
	if (r < 0)
		return r;
	keep = calloc(n ? n : 1, sizeof(bool));
	if (!keep)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = select_latest(v, n, keep);
	if (r < 0)
		return r;
	f = open_memstream(&data, &size);
	if (!f)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n && r >= 0; i++)
		if (keep[i]) {
			r = export_line(&v[i], f);
			count++;
		}
	if (fclose(f) != 0 && r >= 0)
		r = sl_error(SL_E_NOMEM, "out of memory");
	if (r < 0)
		return r;
	r = sl_write_file_atomic(out_file, data ? data : "", size, 0644);
	if (r < 0)
		return sl_error(r, "%s: cannot write: %s", out_file, sl_strerror(r));
	if (ret_n)
		*ret_n = count;
	return 0;
}

static int revoked_record_line(const struct revoked_rec *rec, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	char when[21];
	int r;

	if (!o)
		return sl_error(SL_E_NOMEM, "out of memory");
	tuf_json_format_time(rec->rv.when, when);
	r = add(o, "id", rec->id);
	if (r >= 0)
		r = add(o, "serial", rec->rv.serial);
	if (r >= 0)
		r = add(o, "reason",
			rec->rv.reason >= 0 ? prov_crl_reason_name(rec->rv.reason) : NULL);
	if (r >= 0)
		r = add(o, "revoked", when);
	if (r < 0)
		return r;
	return plain_line(o, ret);
}

static int crl_from(struct prov_pki *p, const struct revoked_acc *a, uint32_t days)
{
	_cleanup_free_ struct prov_revoked *rv = calloc(a->n ? a->n : 1, sizeof(*rv));

	if (!rv)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < a->n; i++)
		rv[i] = a->v[i].rv;
	return pki_crl_write(p, rv, a->n, days);
}

/* Append the new revocations of id to acc and compose their lines into *ret_text. */
static int collect_new(struct prov_pki *p, const char *id, int reason, struct revoked_acc *acc,
		       char **ret_text, size_t *ret_n)
{
	_cleanup_free_ struct prov_issued *v = NULL;
	_cleanup_free_ char *text = NULL;
	size_t n = 0, size = 0, count = 0;
	FILE *f;
	int r;

	r = prov_pki_issued_list(p, &v, &n);
	if (r < 0)
		return r;
	f = open_memstream(&text, &size);
	if (!f)
		return sl_error(SL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct revoked_rec rec = {.rv.when = pki_now(), .rv.reason = reason};
		_cleanup_free_ char *line = NULL;

		if (strcmp(v[i].id, id) != 0 || v[i].revoked)
			continue;
		snprintf(rec.id, sizeof(rec.id), "%s", id);
		snprintf(rec.rv.serial, sizeof(rec.rv.serial), "%s", v[i].serial);
		r = revoked_push(acc, &rec);
		if (r >= 0)
			r = revoked_record_line(&rec, &line);
		if (r >= 0)
			fprintf(f, "%s%s", count++ ? "\n" : "", line);
	}
	if (fclose(f) != 0 && r >= 0)
		r = sl_error(SL_E_NOMEM, "out of memory");
	if (r < 0)
		return r;
	if (count == 0)
		return sl_error(TUF_E_NOT_FOUND,
				"%s: no certificate issued to it that is not "
				"revoked already",
				id);
	*ret_text = TAKE_PTR(text);
	*ret_n = count;
	return 0;
}

int prov_pki_revoke(struct prov_pki *p, const char *id, int reason, uint32_t crl_days,
		    const char *out_dir, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	struct revoked_acc acc = {0};
	size_t count = 0;
	off_t old;
	int r;

	r = pki_need_key(p, PROV_CA_DEVICE);
	if (r >= 0)
		r = load_revoked(p, &acc);
	if (r < 0)
		return r;
	r = collect_new(p, id, reason, &acc, &text, &count);
	if (r >= 0)
		r = pki_registry_append(p, PKI_REVOKED, text, &old);
	if (r >= 0) {
		r = crl_from(p, &acc, crl_days);
		if (r < 0)
			pki_registry_undo(p, PKI_REVOKED, old);
	}
	free(acc.v);
	if (r < 0)
		return r;
	if (ret_n)
		*ret_n = count;
	/* Recorded and in PKI/crl.pem from here on; the copy can be redone with `crl`. */
	return out_dir ? pki_crl_copy(p, out_dir) : 0;
}

int prov_pki_crl_update(struct prov_pki *p, uint32_t crl_days, const char *out_dir)
{
	struct revoked_acc acc = {0};
	int r;

	r = pki_need_key(p, PROV_CA_DEVICE);
	if (r >= 0)
		r = load_revoked(p, &acc);
	if (r >= 0)
		r = crl_from(p, &acc, crl_days);
	free(acc.v);
	if (r >= 0 && out_dir)
		r = pki_crl_copy(p, out_dir);
	return r;
}
