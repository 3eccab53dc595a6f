/* SPDX-License-Identifier: Apache-2.0 */
/* Strict ustar reading: header checks, pax and GNU extensions, names, the member iterator. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "untar-internal.h"

/* Header field offsets and sizes (POSIX.1-1988 ustar). */
#define H_NAME 0
#define H_MODE 100
#define H_SIZE 124
#define H_CHKSUM 148
#define H_TYPE 156
#define H_MAGIC 257
#define H_PREFIX 345

bool agent_untar_is_archive(const char *file)
{
	size_t n = file ? strlen(file) : 0;

	return n > 4 && strcmp(file + n - 4, ".tar") == 0;
}

/* ---- the set of paths ---- */

static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return h;
}

static struct entry *set_slot(const struct pathset *s, const char *p, size_t len)
{
	size_t i = (size_t)hash_bytes(p, len) & (s->cap - 1);

	while (s->e[i].path &&
	       !(strlen(s->e[i].path) == len && memcmp(s->e[i].path, p, len) == 0))
		i = (i + 1) & (s->cap - 1);
	return &s->e[i];
}

struct entry *untar_set_find(const struct pathset *s, const char *p, size_t len)
{
	struct entry *e;

	if (!s->cap)
		return NULL;
	e = set_slot(s, p, len);
	return e->path ? e : NULL;
}

static int set_add(struct pathset *s, const char *p, size_t len, enum entry_kind kind)
{
	struct entry *e;

	if ((s->n + 1) * 2 > s->cap) {
		struct pathset bigger = {.cap = s->cap ? s->cap * 2 : 64, .n = s->n};

		bigger.e = calloc(bigger.cap, sizeof(*bigger.e));
		if (!bigger.e)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->e[i].path)
				*set_slot(&bigger, s->e[i].path, strlen(s->e[i].path)) = s->e[i];
		free(s->e);
		*s = bigger;
	}
	e = set_slot(s, p, len);
	e->path = strndup(p, len);
	if (!e->path)
		return -ENOMEM;
	e->kind = kind;
	s->n++;
	return 0;
}

static void set_clear(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->e[i].path);
	free(s->e);
	*s = (struct pathset){};
}

/* ---- low-level reading ---- */

static void ext_clear(struct ext *x)
{
	free(x->path);
	*x = (struct ext){};
}

static void make_label(const char *raw, size_t len, char out[LABEL_MAX])
{
	size_t n = len < LABEL_MAX - 4 ? len : LABEL_MAX - 4;

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)raw[i] < 0x20 || raw[i] == 0x7f ? '?' : raw[i];
	strcpy(out + n, n < len ? "..." : "");
}

int untar_read_at(const struct reader *rd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	if (off > rd->size || n > rd->size - off)
		return sl_error(SL_E_INVALID, "%s: truncated at offset %ju", rd->name,
				(uintmax_t)rd->size);
	while (done < n) {
		ssize_t k = pread(rd->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sl_error(-errno, "%s: %s", rd->name, strerror(errno));
		if (k == 0)
			return sl_error(SL_E_INVALID, "%s: truncated at offset %ju", rd->name,
					(uintmax_t)(off + done));
		done += (size_t)k;
	}
	return 0;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t pad_up(uint64_t n)
{
	return (n + AGENT_UNTAR_BLOCK - 1) / AGENT_UNTAR_BLOCK * AGENT_UNTAR_BLOCK;
}

/* Octal digits, then only NULs or spaces to the end of the field; no base-256, no blanks. */
static bool parse_octal(const uint8_t *f, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return false;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i == 0)
		return false;
	for (; i < n; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return false;
	*ret = v;
	return true;
}

/* A pax decimal: digits without a leading zero (except "0"), no sign, no overflow. */
static bool parse_decimal(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Magic and checksum of the header at offset at; *ret_gnu for the GNU variant. */
static int check_header(const struct reader *rd, const uint8_t *h, uint64_t at, bool *ret_gnu)
{
	uint64_t sum = 0, want;

	if (memcmp(h + H_MAGIC, "ustar\0" "00", 8) == 0)
		*ret_gnu = false;
	else if (memcmp(h + H_MAGIC, "ustar  \0", 8) == 0)
		*ret_gnu = true;
	else
		return sl_error(SL_E_INVALID, "%s: header at offset %ju: not a ustar header",
				rd->name, (uintmax_t)at);
	for (size_t i = 0; i < AGENT_UNTAR_BLOCK; i++)
		sum += i >= H_CHKSUM && i < H_CHKSUM + 8 ? ' ' : h[i];
	if (!parse_octal(h + H_CHKSUM, 8, &want) || want != sum)
		return sl_error(SL_E_INVALID, "%s: header at offset %ju: checksum mismatch",
				rd->name, (uintmax_t)at);
	return 0;
}

/* The padding after size bytes of data at off must be zero. */
static int check_padding(const struct reader *rd, uint64_t off, uint64_t size, const char *what)
{
	uint8_t pad[AGENT_UNTAR_BLOCK];
	size_t n = (size_t)(pad_up(size) - size);
	int r;

	if (!n)
		return 0;
	r = untar_read_at(rd, pad, n, off + size);
	if (r < 0)
		return r;
	if (!is_zero(pad, n))
		return sl_error(SL_E_INVALID, "%s: %s: non-zero padding", rd->name, what);
	return 0;
}

/* ---- extended headers ---- */

static bool key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(k, want, n) == 0;
}

static bool key_has_prefix(const char *k, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n > p && memcmp(k, prefix, p) == 0;
}

static int pax_keyword(const struct reader *rd, const char *k, size_t kn, const char *v, size_t vn,
		       bool global, uint64_t at, struct ext *x)
{
	static const char *const ignored[] = {"mtime", "atime", "ctime",    "uid",	  "gid",
					      "uname", "gname", "comment", "linkpath", "hdrcharset"};
	char label[LABEL_MAX];

	make_label(k, kn, label);
	if (!global && key_is(k, kn, "path")) {
		free(x->path);
		x->path = malloc(vn + 1);
		if (!x->path)
			return -ENOMEM;
		memcpy(x->path, v, vn);
		x->path[vn] = '\0';
		x->path_len = vn;
		return 0;
	}
	if (!global && key_is(k, kn, "size")) {
		if (!parse_decimal(v, vn, &x->size))
			return sl_error(SL_E_INVALID, "%s: pax header at offset %ju: bad size",
					rd->name, (uintmax_t)at);
		x->has_size = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (key_is(k, kn, ignored[i]))
			return 0;
	if (key_has_prefix(k, kn, "SCHILY.") || key_has_prefix(k, kn, "LIBARCHIVE."))
		return 0;
	if (key_has_prefix(k, kn, "GNU.sparse."))
		return sl_error(TUF_E_UNSUPPORTED,
				"%s: pax header at offset %ju: sparse files are not supported",
				rd->name, (uintmax_t)at);
	return sl_error(TUF_E_UNSUPPORTED, "%s: pax header at offset %ju: keyword '%s' %s",
			rd->name, (uintmax_t)at, label,
			global ? "is not supported in a global header" : "is not supported");
}

/* Records "<length> <keyword>=<value>\n", the length counting the whole record. */
static int parse_pax(const struct reader *rd, const char *d, size_t n, bool global, uint64_t at,
		     struct ext *x)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i, len = 0, end;
		const char *key, *eq;
		int r;

		for (; j < n && j - i < 7 && d[j] >= '0' && d[j] <= '9'; j++)
			len = len * 10 + (size_t)(d[j] - '0');
		if (j == i || d[i] == '0' || j >= n || d[j] != ' ' || len > n - i ||
		    len < j - i + 4 || d[i + len - 1] != '\n')
			return sl_error(SL_E_INVALID, "%s: pax header at offset %ju: malformed record",
					rd->name, (uintmax_t)at);
		end = i + len - 1; /* the '\n' */
		key = d + j + 1;
		eq = memchr(key, '=', (size_t)(d + end - key));
		if (!eq || eq == key)
			return sl_error(SL_E_INVALID, "%s: pax header at offset %ju: malformed record",
					rd->name, (uintmax_t)at);
		r = pax_keyword(rd, key, (size_t)(eq - key), eq + 1, (size_t)(d + end - eq - 1),
				global, at, x);
		if (r < 0)
			return r;
		i += len;
	}
	return 0;
}

/* An 'x', 'g' or 'L' header at offset at whose data is size bytes. */
static int read_extension(struct reader *rd, uint8_t type, uint64_t at, uint64_t size,
			  struct ext *x)
{
	uint64_t cap = type == 'L' ? rd->lim.max_path + 1ull : AGENT_UNTAR_MAX_EXT;
	_cleanup_free_ char *d = NULL;
	int r;

	if (x->pending)
		return sl_error(SL_E_INVALID,
				"%s: header at offset %ju: two extended headers for one member",
				rd->name, (uintmax_t)at);
	if (size > cap)
		return sl_error(SL_E_TOO_LARGE,
				"%s: header at offset %ju: extended header of %ju bytes (limit %ju)",
				rd->name, (uintmax_t)at, (uintmax_t)size, (uintmax_t)cap);
	d = malloc(size + 1);
	if (!d)
		return -ENOMEM;
	r = untar_read_at(rd, d, (size_t)size, at + AGENT_UNTAR_BLOCK);
	if (r >= 0)
		r = check_padding(rd, at + AGENT_UNTAR_BLOCK, size, "extended header");
	if (r < 0)
		return r;
	rd->off = at + AGENT_UNTAR_BLOCK + pad_up(size);
	if (type == 'g')
		return parse_pax(rd, d, (size_t)size, true, at, x);
	x->pending = true;
	if (type == 'x')
		return parse_pax(rd, d, (size_t)size, false, at, x);
	d[size] = '\0';
	x->path_len = strlen(d);
	x->path = TAKE_PTR(d);
	return 0;
}

/* ---- names ---- */

static const char *type_name(uint8_t t)
{
	switch (t) {
	case '1':
		return "a hard link";
	case '2':
		return "a symbolic link";
	case '3':
		return "a character device";
	case '4':
		return "a block device";
	case '6':
		return "a FIFO";
	case '7':
		return "a contiguous file";
	case 'K':
		return "a GNU long link name";
	case 'S':
		return "a GNU sparse file";
	case 'M':
		return "a GNU multi-volume continuation";
	case 'V':
		return "a GNU volume label";
	case 'D':
		return "a GNU dump directory";
	case 'L':
		return "a GNU long name in a POSIX header";
	default:
		return NULL;
	}
}

/* The member's name as the archive gives it (pax path, GNU long name, or prefix/name). */
static int raw_name(const uint8_t *h, bool gnu, struct ext *x, char **ret, size_t *ret_len)
{
	size_t n = strnlen((const char *)h + H_NAME, 100);
	size_t p = gnu ? 0 : strnlen((const char *)h + H_PREFIX, 155);
	char *s;

	if (x->path) {
		*ret = TAKE_PTR(x->path);
		*ret_len = x->path_len;
		return 0;
	}
	s = malloc(p + 1 + n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, h + H_PREFIX, p);
	if (p)
		s[p++] = '/';
	memcpy(s + p, h + H_NAME, n);
	s[p + n] = '\0';
	*ret = s;
	*ret_len = p + n;
	return 0;
}

/*
 * Normalise raw into out (at least len + 1 bytes): "." components and one trailing '/'
 * (directories) dropped; 1 when nothing is left of a directory's name (the root itself).
 */
static int normalise(const struct reader *rd, const char *raw, size_t len, bool dir,
		     const char *label, char *out)
{
	size_t o = 0, depth = 0, i = 0;

#define BAD(code, why) sl_error(code, "%s: member '%s': %s", rd->name, label, why)
	if (len == 0)
		return BAD(TUF_E_PATH, "empty name");
	for (size_t k = 0; k < len; k++)
		if ((uint8_t)raw[k] < 0x20 || raw[k] == 0x7f)
			return BAD(TUF_E_PATH, "control character or NUL in the name");
	if (raw[0] == '/')
		return BAD(TUF_E_PATH, "absolute path");
	if (raw[len - 1] == '/') {
		if (!dir)
			return BAD(TUF_E_PATH, "regular file name ends in '/'");
		len--;
	}
	while (i < len) {
		const char *c = raw + i, *slash = memchr(c, '/', len - i);
		size_t n = slash ? (size_t)(slash - c) : len - i;

		i += n + 1;
		if (n == 0)
			return BAD(TUF_E_PATH, "empty path component");
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return BAD(TUF_E_PATH, "'..' path component");
		if (n > AGENT_UNTAR_NAME_MAX)
			return BAD(SL_E_TOO_LARGE, "path component longer than 255 bytes");
		if (o == 0 && rd->reserved && strlen(rd->reserved) == n &&
		    memcmp(c, rd->reserved, n) == 0)
			return BAD(TUF_E_PATH, "reserved name (the archive's own)");
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
		depth++;
	}
	out[o] = '\0';
	if (o == 0)
		return dir ? 1 : BAD(TUF_E_PATH, "empty name");
	if (depth > rd->lim.max_depth)
		return BAD(SL_E_TOO_LARGE, "path deeper than the limit");
	if (o > rd->lim.max_path)
		return BAD(SL_E_TOO_LARGE, "path longer than the limit");
	return 0;
#undef BAD
}

static int add_entry(struct reader *rd, const char *p, size_t len, enum entry_kind kind)
{
	if (rd->set.n >= rd->lim.max_members)
		return sl_error(SL_E_TOO_LARGE, "%s: more than %u files and directories", rd->name,
				rd->lim.max_members);
	if (kind == E_FILE)
		rd->st.files++;
	else
		rd->st.dirs++;
	return set_add(&rd->set, p, len, kind);
}

/* Record m's path (and the directories it implies): no duplicates, no file as a parent. */
static int register_member(struct reader *rd, struct member *m)
{
	size_t len = strlen(m->path);
	struct entry *e;
	int r;

	for (size_t i = 0; i < len; i++) {
		if (m->path[i] != '/')
			continue;
		e = untar_set_find(&rd->set, m->path, i);
		if (e && e->kind == E_FILE)
			return sl_error(TUF_E_PATH, "%s: member '%s': '%.*s' is a regular file",
					rd->name, m->label, (int)i, m->path);
		if (!e && (r = add_entry(rd, m->path, i, E_IMPLIED_DIR)) < 0)
			return r;
	}
	e = untar_set_find(&rd->set, m->path, len);
	if (e && m->dir && e->kind == E_IMPLIED_DIR) {
		e->kind = E_DIR;
		m->existed = true;
		return 0;
	}
	if (e)
		return sl_error(TUF_E_PATH, "%s: member '%s': duplicate member", rd->name,
				m->label);
	return add_entry(rd, m->path, len, m->dir ? E_DIR : E_FILE);
}

/* ---- the member iterator ---- */

void untar_member_clear(struct member *m)
{
	free(m->path);
	*m = (struct member){};
}

/* A file or directory header at offset at; 1 with *m set, 0 for the root entry ("./"). */
static int take_member(struct reader *rd, const uint8_t *h, bool gnu, uint64_t at, struct ext *x,
		       struct member *m)
{
	_cleanup_free_ char *raw = NULL;
	uint8_t type = h[H_TYPE];
	uint64_t mode;
	size_t len;
	int r;

	r = raw_name(h, gnu, x, &raw, &len);
	if (r < 0)
		return r;
	make_label(raw, len, m->label);
	if (type != '0' && type != '\0' && type != '5') {
		const char *what = type_name(type);

		if (what) /* links and special files are unsafe paths, as on provisioning media */
			return sl_error(strchr("12346", type) ? TUF_E_PATH : TUF_E_UNSUPPORTED,
					"%s: member '%s' is %s (only regular files and "
					"directories are allowed)",
					rd->name, m->label, what);
		return sl_error(TUF_E_UNSUPPORTED, "%s: member '%s': unknown type 0x%02x",
				rd->name, m->label, type);
	}
	m->dir = type == '5';
	if (!parse_octal(h + H_MODE, 8, &mode))
		return sl_error(SL_E_INVALID, "%s: member '%s': bad mode field", rd->name, m->label);
	m->mode = m->dir || (mode & 0111) ? 0755 : 0644;
	if (x->has_size)
		m->size = x->size;
	else if (!parse_octal(h + H_SIZE, 12, &m->size))
		return sl_error(SL_E_INVALID, "%s: member '%s': bad size field", rd->name, m->label);
	if (m->dir && m->size)
		return sl_error(SL_E_INVALID, "%s: member '%s': a directory with data", rd->name,
				m->label);
	m->data = at + AGENT_UNTAR_BLOCK;
	if (m->size > rd->size - m->data)
		return sl_error(SL_E_INVALID, "%s: member '%s': truncated (%ju bytes)", rd->name,
				m->label, (uintmax_t)m->size);
	m->path = malloc(len + 1);
	if (!m->path)
		return -ENOMEM;
	r = normalise(rd, raw, len, m->dir, m->label, m->path);
	if (r < 0)
		return r;
	if (r == 1) {
		rd->off = m->data;
		return 0;
	}
	if (m->size > rd->lim.max_bytes - rd->st.bytes)
		return sl_error(SL_E_TOO_LARGE, "%s: member '%s': more than %ju bytes unpacked",
				rd->name, m->label, (uintmax_t)rd->lim.max_bytes);
	rd->st.bytes += m->size;
	r = check_padding(rd, m->data, m->size, m->label);
	if (r >= 0)
		r = register_member(rd, m);
	if (r < 0)
		return r;
	rd->off = m->data + pad_up(m->size);
	return 1;
}

/* After a zero block at at: a second one, then only zero bytes to the end of the file. */
static int read_end(const struct reader *rd, uint64_t at, const struct ext *x)
{
	uint8_t buf[AGENT_UNTAR_BLOCK];
	int r;

	if (x->pending)
		return sl_error(SL_E_INVALID, "%s: extended header without a member at offset %ju",
				rd->name, (uintmax_t)at);
	if (rd->size - at < 2 * AGENT_UNTAR_BLOCK)
		return sl_error(SL_E_INVALID, "%s: one zero block at offset %ju, two end an archive",
				rd->name, (uintmax_t)at);
	for (uint64_t off = at + AGENT_UNTAR_BLOCK; off < rd->size; off += AGENT_UNTAR_BLOCK) {
		r = untar_read_at(rd, buf, sizeof(buf), off);
		if (r < 0)
			return r;
		if (!is_zero(buf, sizeof(buf)))
			return sl_error(SL_E_INVALID,
					off == at + AGENT_UNTAR_BLOCK
					    ? "%s: lone zero block at offset %ju"
					    : "%s: data after the end of the archive at offset %ju",
					rd->name,
					(uintmax_t)(off == at + AGENT_UNTAR_BLOCK ? at : off));
	}
	return 0;
}

/* The next file or directory member: 1 with *m set (caller clears), 0 at the end. */
int untar_next_member(struct reader *rd, struct member *m)
{
	_cleanup_(ext_clear) struct ext x = {};
	uint8_t h[AGENT_UNTAR_BLOCK];
	int r;

	for (;;) {
		uint64_t at = rd->off, size;
		bool gnu = false;

		if (at >= rd->size)
			return sl_error(SL_E_INVALID, "%s: no end-of-archive blocks", rd->name);
		r = untar_read_at(rd, h, sizeof(h), at);
		if (r < 0)
			return r;
		if (is_zero(h, sizeof(h)))
			return read_end(rd, at, &x);
		r = check_header(rd, h, at, &gnu);
		if (r < 0)
			return r;
		if (h[H_TYPE] == 'x' || h[H_TYPE] == 'g' || (h[H_TYPE] == 'L' && gnu)) {
			if (!parse_octal(h + H_SIZE, 12, &size))
				return sl_error(SL_E_INVALID, "%s: header at offset %ju: bad size",
						rd->name, (uintmax_t)at);
			r = read_extension(rd, h[H_TYPE], at, size, &x);
			if (r < 0)
				return r;
			continue;
		}
		untar_member_clear(m);
		r = take_member(rd, h, gnu, at, &x, m);
		if (r != 0)
			return r;
		ext_clear(&x);
	}
}

int untar_reader_init(struct reader *rd, int fd, const char *name, const char *reserved,
		      const struct agent_untar_limits *lim)
{
	struct stat st;

	*rd = (struct reader){.fd = fd, .name = name, .reserved = reserved,
			      .lim = lim ? *lim : AGENT_UNTAR_LIMITS_DEFAULT};
	if (fstat(fd, &st) < 0)
		return sl_error(-errno, "%s: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", name);
	rd->size = (uint64_t)st.st_size;
	if (rd->size % AGENT_UNTAR_BLOCK)
		return sl_error(SL_E_INVALID, "%s: %ju bytes is not a whole number of 512-byte blocks",
				name, (uintmax_t)rd->size);
	return 0;
}

void untar_reader_rewind(struct reader *rd)
{
	set_clear(&rd->set);
	rd->st = (struct agent_untar_stats){};
	rd->off = 0;
}

void untar_reader_clear(struct reader *rd)
{
	set_clear(&rd->set);
}

int agent_untar_scan(int fd, const char *name, const char *reserved,
		     const struct agent_untar_limits *lim, struct agent_untar_stats *ret)
{
	_cleanup_(untar_reader_clear) struct reader rd;
	_cleanup_(untar_member_clear) struct member m = {};
	int r;

	r = untar_reader_init(&rd, fd, name, reserved, lim);
	while (r >= 0 && (r = untar_next_member(&rd, &m)) > 0)
		;
	if (r < 0)
		return r;
	if (ret)
		*ret = rd.st;
	return 0;
}
