/* SPDX-License-Identifier: Apache-2.0 */
/* The provisioning media validator: directory walk, size caps, manifest hashes, identity checks. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "media.h"
#include "secmem.h"
#include "tuf/crypto.h"
#include "tuf/json.h"
#include "tuf/metadata.h"
#include "x509.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

static const struct {
	const char *name;
	size_t max;
} files[_PROV_MEDIA_FILE_MAX] = {
    [PROV_MEDIA_CERT] = {"device.crt", PROV_MEDIA_PEM_MAX},
    [PROV_MEDIA_KEY] = {"device.key", PROV_MEDIA_PEM_MAX},
    [PROV_MEDIA_CA] = {"ca.pem", PROV_MEDIA_PEM_MAX},
    [PROV_MEDIA_ROOT] = {"root.json", PROV_MEDIA_ROOT_MAX},
    [PROV_MEDIA_CONF] = {"agent.conf", PROV_MEDIA_CONF_MAX},
    [PROV_MEDIA_MANIFEST] = {"manifest.json", PROV_MEDIA_MANIFEST_MAX},
};

/* What the manifest's "files" lists: every file but the manifest itself. */
#define N_LISTED PROV_MEDIA_MANIFEST

const char *prov_media_file_name(enum prov_media_file f)
{
	return f < _PROV_MEDIA_FILE_MAX ? files[f].name : NULL;
}

size_t prov_media_file_max(enum prov_media_file f)
{
	return f < _PROV_MEDIA_FILE_MAX ? files[f].max : 0;
}

static int file_index(const char *name)
{
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++)
		if (strcmp(files[i].name, name) == 0)
			return i;
	return -1;
}

static bool hex64_valid(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int copy_id(struct json_object *o, const char *key, char ret[static PROV_MEDIA_ID_MAX + 1])
{
	const char *s;
	int r = tuf_json_get_string(o, key, &s);

	if (r < 0)
		return sl_error(r, "manifest.json: %s", sl_error_message(r));
	if (!prov_id_valid(s))
		return sl_error(TUF_E_FORMAT,
				"manifest.json: \"%s\" must be 1 to %d characters of "
				"[A-Za-z0-9._-]",
				key, PROV_MEDIA_ID_MAX);
	snprintf(ret, PROV_MEDIA_ID_MAX + 1, "%s", s);
	return 0;
}

static int copy_hex(struct json_object *o, const char *key, const char *what, char ret[static 65])
{
	const char *s;
	int r = tuf_json_get_string(o, key, &s);

	if (r < 0)
		return sl_error(r, "manifest.json: %s: %s", what, sl_error_message(r));
	if (!hex64_valid(s))
		return sl_error(TUF_E_FORMAT,
				"manifest.json: %s: \"%s\" is not 64 lower-case hex "
				"digits",
				what, key);
	memcpy(ret, s, 65);
	return 0;
}

/* Refuse members of o other than the allowed ones. */
static int only_members(struct json_object *o, const char *const *allowed, size_t n,
			const char *what)
{
	json_object_object_foreach(o, key, val)
	{
		bool ok = false;

		(void)val;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
			return sl_error(TUF_E_FORMAT,
					"manifest.json: %s: unexpected member \"%.64s\"", what,
					key);
	}
	return 0;
}

static int parse_file_entries(struct json_object *fo, struct prov_media_manifest *m)
{
	bool seen[N_LISTED] = {false};
	int r;

	json_object_object_foreach(fo, key, val)
	{
		static const char *const entry_members[] = {"sha256", "length"};
		int i = file_index(key);
		int64_t len;

		if (i < 0 || i >= N_LISTED)
			return sl_error(TUF_E_FORMAT,
					"manifest.json: files: unexpected file \"%.64s\"", key);
		if (!json_object_is_type(val, json_type_object))
			return sl_error(TUF_E_FORMAT, "manifest.json: files.%s: not an object",
					key);
		r = only_members(val, entry_members, ELEMENTSOF(entry_members), key);
		if (r < 0)
			return r;
		r = copy_hex(val, "sha256", key, m->sha256[i]);
		if (r < 0)
			return r;
		r = tuf_json_get_int(val, "length", 0, &len);
		if (r < 0)
			return sl_error(r, "manifest.json: files.%s: %s", key, sl_error_message(r));
		if ((uint64_t)len > files[i].max)
			return sl_error(TUF_E_FORMAT,
					"manifest.json: files.%s: length %" PRId64
					" exceeds the cap of %zu bytes",
					key, len, files[i].max);
		m->length[i] = (uint64_t)len;
		seen[i] = true;
	}
	for (int i = 0; i < N_LISTED; i++)
		if (!seen[i])
			return sl_error(TUF_E_FORMAT, "manifest.json: files: \"%s\" is missing",
					files[i].name);
	return 0;
}

int prov_media_manifest_parse(const void *buf, size_t len, struct prov_media_manifest *ret)
{
	static const char *const members[] = {"sluice_media", "device_id",   "hardware",
					      "files",	      "root_sha256", "created"};
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	struct prov_media_manifest m = {0};
	struct json_object *fo;
	const char *created;
	int64_t version, t;
	int r;

	if (len > PROV_MEDIA_MANIFEST_MAX)
		return sl_error(SL_E_TOO_LARGE, "manifest.json: %zu bytes exceeds the cap of %u",
				len, PROV_MEDIA_MANIFEST_MAX);
	r = tuf_json_parse(buf, len, 4, &doc);
	if (r < 0)
		return sl_error(r, "manifest.json: %s", sl_error_message(r));
	if (!json_object_is_type(doc, json_type_object))
		return sl_error(TUF_E_FORMAT, "manifest.json: not a JSON object");
	r = tuf_json_get_int(doc, "sluice_media", 0, &version);
	if (r < 0)
		return sl_error(r, "manifest.json: %s", sl_error_message(r));
	if (version != PROV_MEDIA_VERSION)
		return sl_error(TUF_E_UNSUPPORTED,
				"manifest.json: media format version %" PRId64
				" is not supported (expected %d)",
				version, PROV_MEDIA_VERSION);
	r = only_members(doc, members, ELEMENTSOF(members), "top level");
	if (r >= 0)
		r = copy_id(doc, "device_id", m.device_id);
	if (r >= 0)
		r = copy_id(doc, "hardware", m.hardware);
	if (r >= 0)
		r = copy_hex(doc, "root_sha256", "top level", m.root_sha256);
	if (r < 0)
		return r;
	r = tuf_json_get_string(doc, "created", &created);
	if (r >= 0)
		r = tuf_json_parse_time(created, &t);
	if (r < 0)
		return sl_error(TUF_E_FORMAT, "manifest.json: \"created\" is not a "
					      "YYYY-MM-DDTHH:MM:SSZ time");
	snprintf(m.created, sizeof(m.created), "%s", created);
	r = tuf_json_get_object(doc, "files", &fo);
	if (r < 0)
		return sl_error(r, "manifest.json: %s", sl_error_message(r));
	r = parse_file_entries(fo, &m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

static int json_add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

int prov_media_manifest_format(const struct prov_media_manifest *m, char **ret_buf, size_t *ret_len)
{
	_cleanup_(json_object_putp) struct json_object *doc = json_object_new_object();
	struct json_object *fo = json_object_new_object();
	const char *s;
	size_t n;
	int r;

	if (!doc || !fo) {
		json_object_put(fo);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	r = json_add(doc, "sluice_media", json_object_new_int(PROV_MEDIA_VERSION));
	if (r >= 0)
		r = json_add(doc, "device_id", json_object_new_string(m->device_id));
	if (r >= 0)
		r = json_add(doc, "hardware", json_object_new_string(m->hardware));
	if (r >= 0)
		r = json_add(doc, "files", fo);
	else
		json_object_put(fo);
	for (int i = 0; i < N_LISTED && r >= 0; i++) {
		struct json_object *e = json_object_new_object();

		r = json_add(fo, files[i].name, e);
		if (r >= 0)
			r = json_add(e, "sha256", json_object_new_string(m->sha256[i]));
		if (r >= 0)
			r = json_add(e, "length", json_object_new_int64((int64_t)m->length[i]));
	}
	if (r >= 0)
		r = json_add(doc, "root_sha256", json_object_new_string(m->root_sha256));
	if (r >= 0)
		r = json_add(doc, "created", json_object_new_string(m->created));
	if (r < 0)
		return r;
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return sl_error(SL_E_NOMEM, "out of memory");
	n = strlen(s);
	*ret_buf = malloc(n + 2);
	if (!*ret_buf)
		return sl_error(SL_E_NOMEM, "out of memory");
	memcpy(*ret_buf, s, n);
	(*ret_buf)[n] = '\n';
	(*ret_buf)[n + 1] = '\0';
	*ret_len = n + 1;
	return 0;
}

bool prov_url_valid(const char *url)
{
	static const char scheme[] = "https://";
	size_t n = url ? strlen(url) : 0;

	if (n <= strlen(scheme) || n > PROV_URL_MAX || strncmp(url, scheme, strlen(scheme)) != 0)
		return false;
	if (url[strlen(scheme)] == '/' || url[strlen(scheme)] == ':')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c))
			return false;
	}
	return true;
}

/* Trim spaces and tabs at both ends of s[0..*len). */
static const char *trim(const char *s, size_t *len)
{
	while (*len && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

enum conf_key { CONF_ID, CONF_HARDWARE, CONF_URL, _CONF_MAX };

static const struct {
	const char *section, *key;
} conf_keys[_CONF_MAX] = {
    [CONF_ID] = {"device", "id"},
    [CONF_HARDWARE] = {"device", "hardware"},
    [CONF_URL] = {"controlplane", "url"},
};

static int conf_assign(struct prov_agent_conf *c, enum conf_key k, const char *v, size_t vlen,
		       unsigned line)
{
	char val[PROV_URL_MAX + 1];

	if (vlen > PROV_URL_MAX)
		return sl_error(SL_E_CONFIG, "agent.conf:%u: value too long", line);
	memcpy(val, v, vlen);
	val[vlen] = '\0';
	switch (k) {
	case CONF_ID:
	case CONF_HARDWARE:
		if (!prov_id_valid(val))
			return sl_error(SL_E_CONFIG,
					"agent.conf:%u: %s must be 1 to %d characters "
					"of [A-Za-z0-9._-]",
					line, conf_keys[k].key, PROV_MEDIA_ID_MAX);
		memcpy(k == CONF_ID ? c->device_id : c->hardware, val, vlen + 1);
		return 0;
	case CONF_URL:
		if (!prov_url_valid(val))
			return sl_error(SL_E_CONFIG,
					"agent.conf:%u: url must be an https:// URL of "
					"at most %d bytes without spaces",
					line, PROV_URL_MAX);
		memcpy(c->controlplane_url, val, vlen + 1);
		return 0;
	default:
		break;
	}
	return sl_error(SL_E_CONFIG, "agent.conf:%u: unknown key", line);
}

/* One "key = value" line in section. */
static int conf_line(struct prov_agent_conf *c, bool seen[static _CONF_MAX], const char *section,
		     const char *s, size_t n, unsigned line)
{
	const char *eq = memchr(s, '=', n), *key, *val;
	size_t klen, vlen;

	if (!eq)
		return sl_error(SL_E_CONFIG, "agent.conf:%u: expected 'key = value'", line);
	klen = (size_t)(eq - s);
	vlen = n - klen - 1;
	key = trim(s, &klen);
	val = trim(eq + 1, &vlen);
	for (int k = 0; k < _CONF_MAX; k++) {
		if (strcmp(section, conf_keys[k].section) != 0 ||
		    strlen(conf_keys[k].key) != klen || memcmp(conf_keys[k].key, key, klen) != 0)
			continue;
		if (seen[k])
			return sl_error(SL_E_CONFIG, "agent.conf:%u: %s set twice", line,
					conf_keys[k].key);
		seen[k] = true;
		return conf_assign(c, (enum conf_key)k, val, vlen, line);
	}
	return sl_error(SL_E_CONFIG, "agent.conf:%u: unknown key '%.*s' in [%s]", line,
			(int)(klen > 32 ? 32 : klen), key, section[0] ? section : "(none)");
}

static int conf_section(const char *s, size_t n, unsigned line, char section[static 16])
{
	if (n < 2 || s[n - 1] != ']')
		return sl_error(SL_E_CONFIG, "agent.conf:%u: malformed section header", line);
	if (n - 2 == strlen("device") && memcmp(s + 1, "device", n - 2) == 0)
		strcpy(section, "device");
	else if (n - 2 == strlen("controlplane") && memcmp(s + 1, "controlplane", n - 2) == 0)
		strcpy(section, "controlplane");
	else
		return sl_error(SL_E_CONFIG, "agent.conf:%u: unknown section", line);
	return 0;
}

int prov_agent_conf_parse(const void *buf, size_t len, struct prov_agent_conf *ret)
{
	struct prov_agent_conf c = {{0}};
	bool seen[_CONF_MAX] = {false};
	const char *p = buf, *end = p + len;
	char section[16] = "";
	unsigned line = 0;
	int r;

	if (len > PROV_MEDIA_CONF_MAX)
		return sl_error(SL_E_TOO_LARGE, "agent.conf: %zu bytes exceeds the cap of %u", len,
				PROV_MEDIA_CONF_MAX);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *s;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (n && p[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n; i++)
			if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				return sl_error(SL_E_CONFIG, "agent.conf:%u: control character",
						line);
		s = trim(p, &n);
		p = nl ? nl + 1 : end;
		if (n == 0 || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[')
			r = conf_section(s, n, line, section);
		else
			r = conf_line(&c, seen, section, s, n, line);
		if (r < 0)
			return r;
	}
	for (int k = 0; k < _CONF_MAX; k++)
		if (!seen[k])
			return sl_error(SL_E_CONFIG, "agent.conf: [%s] %s is missing",
					conf_keys[k].section, conf_keys[k].key);
	*ret = c;
	return 0;
}

int prov_agent_conf_format(const struct prov_agent_conf *c, char **ret_buf, size_t *ret_len)
{
	int n;

	if (!prov_id_valid(c->device_id) || !prov_id_valid(c->hardware) ||
	    !prov_url_valid(c->controlplane_url))
		return sl_error(SL_E_INVALID, "agent.conf: invalid device id, hardware or URL");
	n = asprintf(ret_buf,
		     "# sluice-agent configuration, written by sluice-provision\n"
		     "[device]\nid = %s\nhardware = %s\n\n[controlplane]\nurl = %s\n",
		     c->device_id, c->hardware, c->controlplane_url);
	if (n < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	*ret_len = (size_t)n;
	return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)

int prov_root_check(const void *buf, size_t len, uint64_t *ret_version, int64_t *ret_expires)
{
	_cleanup_(tuf_metadata_freep) struct tuf_metadata *md = NULL;
	int r;

	if (len > PROV_MEDIA_ROOT_MAX)
		return sl_error(SL_E_TOO_LARGE, "root.json: %zu bytes exceeds the cap of %u", len,
				PROV_MEDIA_ROOT_MAX);
	r = tuf_metadata_parse(buf, len, TUF_ROLE_ROOT, &md);
	if (r >= 0)
		r = tuf_metadata_verify_root_role(md, &md->u.root, TUF_ROLE_ROOT);
	if (r < 0)
		return sl_error(r, "root.json: %s", sl_error_message(r));
	if (ret_version)
		*ret_version = md->version;
	if (ret_expires)
		*ret_expires = md->expires;
	return 0;
}

/* ---- prov_media_check() ---- */

struct check {
	struct prov_media_report *rep;
	unsigned flags;
	int first;
	uint8_t *buf[_PROV_MEDIA_FILE_MAX];
	size_t len[_PROV_MEDIA_FILE_MAX];
	struct prov_media_manifest manifest;
	bool have_manifest;
	X509 *cert;
};

/* Record the problem r, whose message was set with sl_error(), against file. */
static void problem(struct check *c, int r, const char *file)
{
	struct prov_media_report *rep = c->rep;

	if (c->first == 0)
		c->first = r;
	if (rep->n_problems < PROV_MEDIA_PROBLEMS_MAX) {
		struct prov_media_problem *p = &rep->problems[rep->n_problems];

		p->code = r;
		snprintf(p->file, sizeof(p->file), "%s", file ? file : "");
		snprintf(p->message, sizeof(p->message), "%s", sl_error_message(r));
	}
	rep->n_problems++;
}

static const char *file_type_name(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device node";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* Every entry of the directory must be one of the six names. */
static int scan_entries(struct check *c, int dfd)
{
	_cleanup_close_ int fd = dup(dfd);
	DIR *d;
	struct dirent *de;
	unsigned n = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (file_index(de->d_name) >= 0)
			continue;
		if (++n > 1024)
			break;
		problem(c,
			sl_error(TUF_E_PATH, "unexpected entry '%.64s' on the medium", de->d_name),
			de->d_name);
	}
	closedir(d);
	return 0;
}

static void read_one(struct check *c, int dfd, int i)
{
	const char *name = files[i].name;
	struct stat st;
	int r;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			problem(c, sl_error(TUF_E_NOT_FOUND, "%s: missing", name), name);
		else
			problem(c, sl_error(-errno, "%s: %s", name, strerror(errno)), name);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(c,
			sl_error(TUF_E_PATH, "%s: is %s, not a regular file", name,
				 file_type_name(st.st_mode)),
			name);
		return;
	}
	if ((uint64_t)st.st_size > files[i].max) {
		problem(c,
			sl_error(SL_E_TOO_LARGE, "%s: %jd bytes exceeds the cap of %zu bytes", name,
				 (intmax_t)st.st_size, files[i].max),
			name);
		return;
	}
	r = sl_read_file_at(dfd, name, files[i].max, &c->buf[i], &c->len[i]);
	if (r == -ELOOP || r == SL_E_INVALID)
		r = sl_error(TUF_E_PATH, "%s: not a regular file", name);
	else if (r < 0 && r > -1000) /* -errno */
		r = sl_error(r, "%s: cannot read: %s", name, strerror(-r));
	if (r < 0) {
		problem(c, r, name);
		return;
	}
	c->rep->present[i] = true;
	c->rep->size[i] = c->len[i];
}

static void check_hashes(struct check *c)
{
	const struct prov_media_manifest *m = &c->manifest;

	for (int i = 0; i < N_LISTED; i++) {
		char hex[65];

		if (!c->buf[i])
			continue;
		if (c->len[i] != m->length[i]) {
			problem(c,
				sl_error(TUF_E_LENGTH, "%s: %zu bytes, the manifest says %" PRIu64,
					 files[i].name, c->len[i], m->length[i]),
				files[i].name);
			continue;
		}
		if (tuf_sha256_hex(c->buf[i], c->len[i], hex) < 0 ||
		    sl_memcmp_ct(hex, m->sha256[i], 64) != 0) {
			problem(c,
				sl_error(TUF_E_HASH, "%s: SHA-256 does not match the manifest",
					 files[i].name),
				files[i].name);
			continue;
		}
		c->rep->hash_ok[i] = true;
	}
}

static int cert_properties(struct check *c, X509 *x)
{
	struct prov_media_report *rep = c->rep;
	char cn[PROV_MEDIA_ID_MAX + 2];
	uint32_t flags = X509_get_extension_flags(x);
	int64_t now = (int64_t)time(NULL);
	int r;

	r = prov_cert_common_name(x, cn, sizeof(cn));
	if (r < 0)
		return sl_error(r, "device.crt: %s", sl_error_message(r));
	if (c->have_manifest && strcmp(cn, c->manifest.device_id) != 0)
		return sl_error(SL_E_INVALID,
				"device.crt: subject CN '%s' is not the device id '%s'", cn,
				c->manifest.device_id);
	if (X509_check_ca(x) != 0)
		return sl_error(SL_E_INVALID, "device.crt: is a CA certificate");
	if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT))
		return sl_error(SL_E_INVALID, "device.crt: extended key usage lacks clientAuth");
	if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
		return sl_error(SL_E_INVALID, "device.crt: key usage lacks digitalSignature");
	if (c->flags & PROV_MEDIA_IGNORE_EXPIRY)
		return 0;
	if (now < rep->cert_not_before)
		return sl_error(TUF_E_EXPIRED, "device.crt: not valid before %" PRId64,
				rep->cert_not_before);
	if (now >= rep->cert_not_after)
		return sl_error(TUF_E_EXPIRED, "device.crt: expired");
	return 0;
}

static void check_cert(struct check *c)
{
	struct prov_media_report *rep = c->rep;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	X509 *x;
	int r;

	if (!c->buf[PROV_MEDIA_CERT])
		return;
	r = prov_cert_parse(c->buf[PROV_MEDIA_CERT], c->len[PROV_MEDIA_CERT], "device.crt", &x);
	if (r < 0) {
		problem(c, r, "device.crt");
		return;
	}
	c->cert = x;
	if (prov_cert_sha256(x, rep->cert_sha256) < 0 ||
	    prov_cert_serial_hex(x, rep->cert_serial) < 0 ||
	    prov_cert_validity(x, &rep->cert_not_before, &rep->cert_not_after) < 0) {
		problem(c, sl_error(TUF_E_FORMAT, "device.crt: unreadable serial or validity"),
			"device.crt");
		return;
	}
	X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, rep->cert_issuer,
				  sizeof(rep->cert_issuer));
	r = cert_properties(c, x);
	if (r < 0)
		problem(c, r, "device.crt");
	if (!c->buf[PROV_MEDIA_KEY])
		return;
	r = prov_key_parse(c->buf[PROV_MEDIA_KEY], c->len[PROV_MEDIA_KEY], "device.key", &key);
	if (r >= 0)
		r = prov_cert_key_match(x, key);
	if (r == SL_E_INVALID)
		r = sl_error(r, "device.key: does not match the public key of device.crt");
	if (r < 0) {
		problem(c, r, "device.key");
		return;
	}
	rep->key_matches = true;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)

static void free_certs(STACK_OF(X509) * *sk)
{
	if (*sk)
		sk_X509_pop_free(*sk, X509_free);
}

/* device.crt against the device CA (and intermediates) given by the caller. */
static int verify_chain(struct check *c, const char *ca_pem)
{
	_cleanup_(free_certs) STACK_OF(X509) *all = NULL;
	_cleanup_(free_certs) STACK_OF(X509) *untrusted = sk_X509_new_null();
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r;

	if (!untrusted || !store || !ctx)
		return sl_error(SL_E_NOMEM, "out of memory");
	r = prov_certs_parse(ca_pem, strlen(ca_pem), "device CA", &all);
	if (r < 0)
		return r;
	for (int i = 0; i < sk_X509_num(all); i++) {
		X509 *ca = sk_X509_value(all, i);

		if (X509_self_signed(ca, 0) == 1
			? !X509_STORE_add_cert(store, ca)
			: !X509_add_cert(untrusted, ca, X509_ADD_FLAG_UP_REF))
			return sl_error(TUF_E_CRYPTO, "cannot load the device CA");
	}
	if (!X509_STORE_CTX_init(ctx, store, c->cert, untrusted))
		return sl_error(TUF_E_CRYPTO, "cannot set up certificate verification");
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (c->flags & PROV_MEDIA_IGNORE_EXPIRY)
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		ERR_clear_error();
		return sl_error(TUF_E_SIGNATURE, "device.crt: does not chain to the device CA: %s",
				X509_verify_cert_error_string(e));
	}
	c->rep->chain_checked = true;
	return 0;
}

static void check_ca(struct check *c)
{
	_cleanup_(X509_freep) X509 *ca = NULL;
	int64_t nb;
	int r;

	if (!c->buf[PROV_MEDIA_CA])
		return;
	r = prov_cert_parse(c->buf[PROV_MEDIA_CA], c->len[PROV_MEDIA_CA], "ca.pem", &ca);
	if (r < 0) {
		problem(c, r, "ca.pem");
		return;
	}
	X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, c->rep->ca_subject,
				  sizeof(c->rep->ca_subject));
	if (prov_cert_validity(ca, &nb, &c->rep->ca_not_after) < 0)
		problem(c, sl_error(TUF_E_FORMAT, "ca.pem: invalid validity"), "ca.pem");
	if (X509_check_ca(ca) == 0)
		problem(c, sl_error(SL_E_INVALID, "ca.pem: not a CA certificate"), "ca.pem");
}

static void check_root(struct check *c)
{
	struct prov_media_report *rep = c->rep;
	char hex[65];
	int r;

	if (!c->buf[PROV_MEDIA_ROOT])
		return;
	if (c->have_manifest) {
		if (tuf_sha256_hex(c->buf[PROV_MEDIA_ROOT], c->len[PROV_MEDIA_ROOT], hex) < 0 ||
		    strcmp(hex, c->manifest.root_sha256) != 0)
			problem(c,
				sl_error(TUF_E_HASH, "root.json: SHA-256 does not match the "
						     "pinned root_sha256 of the manifest"),
				"root.json");
	}
	r = prov_root_check(c->buf[PROV_MEDIA_ROOT], c->len[PROV_MEDIA_ROOT], &rep->root_version,
			    &rep->root_expires);
	if (r < 0)
		problem(c, r, "root.json");
}

static void check_conf(struct check *c)
{
	struct prov_agent_conf conf;
	int r;

	if (!c->buf[PROV_MEDIA_CONF])
		return;
	r = prov_agent_conf_parse(c->buf[PROV_MEDIA_CONF], c->len[PROV_MEDIA_CONF], &conf);
	if (r < 0) {
		problem(c, r, "agent.conf");
		return;
	}
	snprintf(c->rep->controlplane_url, sizeof(c->rep->controlplane_url), "%s",
		 conf.controlplane_url);
	if (!c->have_manifest)
		return;
	if (strcmp(conf.device_id, c->manifest.device_id) != 0 ||
	    strcmp(conf.hardware, c->manifest.hardware) != 0)
		problem(c,
			sl_error(SL_E_CONFIG, "agent.conf: device id or hardware differ from "
					      "the manifest"),
			"agent.conf");
}

static void check_manifest(struct check *c)
{
	struct prov_media_report *rep = c->rep;
	int r;

	if (!c->buf[PROV_MEDIA_MANIFEST])
		return;
	r = prov_media_manifest_parse(c->buf[PROV_MEDIA_MANIFEST], c->len[PROV_MEDIA_MANIFEST],
				      &c->manifest);
	if (r < 0) {
		problem(c, r, "manifest.json");
		return;
	}
	c->have_manifest = true;
	rep->hash_ok[PROV_MEDIA_MANIFEST] = true;
	memcpy(rep->device_id, c->manifest.device_id, sizeof(rep->device_id));
	memcpy(rep->hardware, c->manifest.hardware, sizeof(rep->hardware));
	memcpy(rep->created, c->manifest.created, sizeof(rep->created));
	memcpy(rep->root_sha256, c->manifest.root_sha256, sizeof(rep->root_sha256));
	check_hashes(c);
}

static void check_free(struct check *c)
{
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++) {
		if (c->buf[i] && i == PROV_MEDIA_KEY)
			sl_memzero(c->buf[i], c->len[i]);
		free(c->buf[i]);
	}
	X509_free(c->cert);
}

int prov_media_check(const char *dir, const char *device_ca_pem, unsigned flags,
		     struct prov_media_report *ret)
{
	struct check c = {.rep = ret, .flags = flags};
	_cleanup_close_ int dfd = -1;
	int r;

	memset(ret, 0, sizeof(*ret));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = errno == ENOENT ? TUF_E_NOT_FOUND : errno == ENOTDIR ? TUF_E_PATH : -errno;
		problem(&c, sl_error(r, "%s: cannot open the medium: %s", dir, strerror(errno)),
			"");
		return c.first;
	}
	r = scan_entries(&c, dfd);
	if (r < 0)
		problem(&c, sl_error(r, "%s: cannot list: %s", dir, strerror(-r)), "");
	for (int i = 0; i < _PROV_MEDIA_FILE_MAX; i++)
		read_one(&c, dfd, i);
	check_manifest(&c);
	check_cert(&c);
	if (c.cert && device_ca_pem) {
		r = verify_chain(&c, device_ca_pem);
		if (r < 0)
			problem(&c, r, "device.crt");
	}
	check_ca(&c);
	check_root(&c);
	check_conf(&c);
	check_free(&c);
	if (c.first < 0)
		return sl_error(c.first, "%s", ret->problems[0].message);
	return 0;
}
