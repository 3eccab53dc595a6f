/* SPDX-License-Identifier: Apache-2.0 */
/* Hash-chained JSON-lines transcript: append under a lock, verify the chain and its seals. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "transcript.h"
#include "tuf/json.h"

#define HASH_BYTES crypto_hash_sha256_BYTES
#define HEX_HASH_SIZE (2 * HASH_BYTES + 1)
#define SEAL_OP "seal"
#define SEAL_CONTEXT "sluice-transcript-seal-v1\n"
/* Room for the signed text of a seal: context, seq, time, keyid, prev. */
#define SEAL_MESSAGE_MAX 256
#define TIME_SIZE 21
#define HASH_CHUNK 65536

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)

/* The state at the end of a verified chain. */
struct chain {
	int64_t records;
	uint8_t last_hash[HASH_BYTES]; /* of the last line, zeros when empty */
	bool last_is_seal;
	int64_t last_seal_seq;
	char last_seal_keyid[CER_KEYID_SIZE];
};

static bool is_lower_hex(const char *s, size_t n)
{
	return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static bool op_valid(const char *op)
{
	size_t n = op ? strlen(op) : 0;

	return n > 0 && n <= CER_TRANSCRIPT_OP_MAX &&
	       strspn(op, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static void seal_message(int64_t seq, const char *time_s, const char *keyid, const char *prev,
			 char buf[static SEAL_MESSAGE_MAX], size_t *ret_len)
{
	int n = snprintf(buf, SEAL_MESSAGE_MAX, SEAL_CONTEXT "%" PRId64 "\n%s\n%s\n%s\n", seq,
			 time_s, keyid, prev);

	assert(n > 0 && n < SEAL_MESSAGE_MAX);
	*ret_len = (size_t)n;
}

/* ---- verification ---- */

static int check_members(struct json_object *o, const char *name, int64_t seq)
{
	static const char *const allowed[] = {"seq",	 "time",   "op",   "keyid", "file",
					      "version", "sha256", "prev", "sig",   NULL};

	json_object_object_foreach(o, k, v)
	{
		bool found = false;

		(void)v;
		for (const char *const *a = allowed; *a && !found; a++)
			found = strcmp(*a, k) == 0;
		if (!found)
			return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": unknown member '%s'",
					name, seq, k);
	}
	return 0;
}

/* Optional members: present means well-formed. */
static int check_optional(struct json_object *o, const char *name, int64_t seq)
{
	struct json_object *v;
	const char *s;
	int64_t n;

	if (json_object_object_get_ex(o, "keyid", &v) &&
	    (tuf_json_get_string(o, "keyid", &s) < 0 || !is_lower_hex(s, 64)))
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": bad keyid", name, seq);
	if (json_object_object_get_ex(o, "sha256", &v) &&
	    (tuf_json_get_string(o, "sha256", &s) < 0 || !is_lower_hex(s, 64)))
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": bad sha256", name, seq);
	if (json_object_object_get_ex(o, "file", &v) &&
	    (tuf_json_get_string(o, "file", &s) < 0 || strlen(s) > CER_TRANSCRIPT_FILE_MAX))
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": bad file", name, seq);
	if (json_object_object_get_ex(o, "version", &v) &&
	    tuf_json_get_int(o, "version", 1, &n) < 0)
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": bad version", name, seq);
	return 0;
}

static int check_seal(struct json_object *o, const char *name, int64_t seq, const char *time_s,
		      const char *prev, const uint8_t *seal_public, struct chain *c)
{
	const char *keyid, *sig_hex;
	uint8_t sig[CER_SIGNATURE_BYTES];
	char msg[SEAL_MESSAGE_MAX], want[CER_KEYID_SIZE];
	size_t msg_len;

	if (tuf_json_get_string(o, "keyid", &keyid) < 0 || !is_lower_hex(keyid, 64) ||
	    tuf_json_get_string(o, "sig", &sig_hex) < 0 ||
	    !is_lower_hex(sig_hex, 2 * CER_SIGNATURE_BYTES) ||
	    sl_hex_decode(sig_hex, 2 * CER_SIGNATURE_BYTES, sig, sizeof(sig)) != sizeof(sig))
		return sl_error(TUF_E_FORMAT,
				"%s: record %" PRId64 ": seal without a valid keyid "
				"and sig",
				name, seq);
	if (seal_public) {
		if (cer_ed25519_keyid(seal_public, want) < 0)
			return SL_E_NOMEM;
		if (strcmp(want, keyid) != 0)
			return sl_error(TUF_E_SIGNATURE,
					"%s: record %" PRId64 ": sealed by key %.16s,"
					" not by the given key %.16s",
					name, seq, keyid, want);
		seal_message(seq, time_s, keyid, prev, msg, &msg_len);
		if (crypto_sign_verify_detached(sig, (const uint8_t *)msg, msg_len, seal_public))
			return sl_error(TUF_E_SIGNATURE,
					"%s: record %" PRId64 ": bad seal "
					"signature",
					name, seq);
	}
	c->last_is_seal = true;
	c->last_seal_seq = seq;
	snprintf(c->last_seal_keyid, sizeof(c->last_seal_keyid), "%s", keyid);
	return 0;
}

/* Check one line (without its newline) as record c->records + 1 and advance the chain. */
static int check_line(const char *name, const char *line, size_t len, const uint8_t *seal_public,
		      struct chain *c)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	const int64_t want = c->records + 1;
	char prev_want[HEX_HASH_SIZE];
	const char *time_s, *op, *prev;
	int64_t seq, t;
	int r;

	if (len > CER_TRANSCRIPT_LINE_MAX)
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": line longer than %u bytes",
				name, want, CER_TRANSCRIPT_LINE_MAX);
	if (tuf_json_parse(line, len, 2, &o) < 0 || !json_object_is_type(o, json_type_object))
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": not a JSON object", name,
				want);
	r = check_members(o, name, want);
	if (r < 0)
		return r;
	if (tuf_json_get_int(o, "seq", 1, &seq) < 0)
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": no seq", name, want);
	if (seq != want)
		return sl_error(CER_E_CHAIN,
				"%s: line %" PRId64 " holds seq %" PRId64 " (a record "
				"was deleted, inserted or reordered)",
				name, want, seq);
	if (tuf_json_get_string(o, "time", &time_s) < 0 || tuf_json_parse_time(time_s, &t) < 0 ||
	    strlen(time_s) != TIME_SIZE - 1 || tuf_json_get_string(o, "op", &op) < 0 ||
	    !op_valid(op) || tuf_json_get_string(o, "prev", &prev) < 0 || !is_lower_hex(prev, 64))
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": bad time, op or prev", name,
				want);
	sl_hex_encode(c->last_hash, HASH_BYTES, prev_want);
	if (strcmp(prev, prev_want) != 0)
		return sl_error(CER_E_CHAIN,
				"%s: record %" PRId64 ": prev does not match the hash "
				"of record %" PRId64 " (that record or this prev was edited)",
				name, want, want - 1);
	r = check_optional(o, name, want);
	if (r < 0)
		return r;
	c->last_is_seal = false;
	if (strcmp(op, SEAL_OP) == 0) {
		r = check_seal(o, name, want, time_s, prev, seal_public, c);
		if (r < 0)
			return r;
	} else if (json_object_object_get_ex(o, "sig", NULL)) {
		return sl_error(TUF_E_FORMAT, "%s: record %" PRId64 ": sig outside a seal", name,
				want);
	}
	crypto_hash_sha256(c->last_hash, (const uint8_t *)line, len);
	c->records = want;
	return 0;
}

static int verify_buf(const char *name, const uint8_t *buf, size_t len, const uint8_t *seal_public,
		      struct chain *c, int64_t *ret_bad)
{
	size_t pos = 0;
	int r;

	*c = (struct chain){0};
	while (pos < len) {
		const uint8_t *nl = memchr(buf + pos, '\n', len - pos);

		if (!nl) {
			*ret_bad = c->records + 1;
			return sl_error(TUF_E_FORMAT,
					"%s: record %" PRId64 ": incomplete last line "
					"(no newline)",
					name, c->records + 1);
		}
		r = check_line(name, (const char *)buf + pos, (size_t)(nl - (buf + pos)),
			       seal_public, c);
		if (r < 0) {
			*ret_bad = c->records + 1;
			return r;
		}
		pos = (size_t)(nl - buf) + 1;
	}
	*ret_bad = 0;
	return 0;
}

/* Read the whole transcript from an open fd (from offset 0). */
static int read_all(int fd, const char *name, uint8_t **ret_buf, size_t *ret_len)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", name);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	r = sl_read_fd(fd, CER_TRANSCRIPT_MAX, ret_buf, ret_len);
	if (r == SL_E_TOO_LARGE)
		return sl_error(r, "%s: larger than %u bytes", name, CER_TRANSCRIPT_MAX);
	return r;
}

int cer_transcript_verify(const char *path, const uint8_t *seal_public, unsigned flags,
			  struct cer_transcript_status *ret_status, int64_t *ret_first_bad_seq)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct chain c;
	int64_t bad = 0;
	size_t len;
	int r;

	if (ret_first_bad_seq)
		*ret_first_bad_seq = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sl_error(-errno, "%s: cannot open: %s", path, strerror(errno));
	if (flock(fd, LOCK_SH) < 0)
		return -errno;
	r = read_all(fd, path, &buf, &len);
	if (r < 0)
		return r;
	r = verify_buf(path, buf, len, seal_public, &c, &bad);
	if (r >= 0 && (flags & CER_TRANSCRIPT_REQUIRE_SEAL) && !c.last_is_seal) {
		bad = c.last_seal_seq + 1;
		r = sl_error(TUF_E_SIGNATURE,
			     "%s: not sealed: records %" PRId64 " to %" PRId64
			     " follow the last seal",
			     path, bad, c.records);
	}
	if (r < 0) {
		if (ret_first_bad_seq)
			*ret_first_bad_seq = bad;
		return r;
	}
	if (ret_status) {
		*ret_status = (struct cer_transcript_status){
		    .records = c.records,
		    .last_seal_seq = c.last_seal_seq,
		};
		memcpy(ret_status->last_seal_keyid, c.last_seal_keyid, CER_KEYID_SIZE);
	}
	return 0;
}

/* ---- appending ---- */

static int add_member(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return sl_error(SL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int record_check(const struct cer_transcript_record *rec, bool seal)
{
	if (!op_valid(rec->op) || (!seal && strcmp(rec->op, SEAL_OP) == 0))
		return sl_error(SL_E_INVALID,
				"transcript: op must be 1-%d characters of [a-z0-9-] "
				"and not '" SEAL_OP "'",
				CER_TRANSCRIPT_OP_MAX);
	if (rec->keyid && !is_lower_hex(rec->keyid, 64))
		return sl_error(SL_E_INVALID, "transcript: keyid must be 64 lower-case hex digits");
	if (rec->sha256 && !is_lower_hex(rec->sha256, 64))
		return sl_error(SL_E_INVALID,
				"transcript: sha256 must be 64 lower-case hex digits");
	if (rec->file && (rec->file[0] == '\0' || strlen(rec->file) > CER_TRANSCRIPT_FILE_MAX))
		return sl_error(SL_E_INVALID, "transcript: file must be 1-%d bytes",
				CER_TRANSCRIPT_FILE_MAX);
	if (rec->version < 0)
		return sl_error(SL_E_INVALID, "transcript: negative version");
	return 0;
}

/* Serialise the next record (seq, prev from c) as one line, signing it when key is set. */
static int record_line(const struct cer_transcript_record *rec, const struct cer_key *key,
		       const struct chain *c, char **ret_line)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	char time_s[TIME_SIZE], prev[HEX_HASH_SIZE];
	const int64_t seq = c->records + 1;
	const char *s;
	int r;

	if (!o)
		return sl_error(SL_E_NOMEM, "out of memory");
	tuf_json_format_time((int64_t)time(NULL), time_s);
	sl_hex_encode(c->last_hash, HASH_BYTES, prev);
	r = add_member(o, "seq", json_object_new_int64(seq));
	if (r >= 0)
		r = add_member(o, "time", json_object_new_string(time_s));
	if (r >= 0)
		r = add_member(o, "op", json_object_new_string(rec->op));
	if (r >= 0 && rec->keyid)
		r = add_member(o, "keyid", json_object_new_string(rec->keyid));
	if (r >= 0 && rec->file)
		r = add_member(o, "file", json_object_new_string(rec->file));
	if (r >= 0 && rec->version > 0)
		r = add_member(o, "version", json_object_new_int64(rec->version));
	if (r >= 0 && rec->sha256)
		r = add_member(o, "sha256", json_object_new_string(rec->sha256));
	if (r >= 0)
		r = add_member(o, "prev", json_object_new_string(prev));
	if (r >= 0 && key) {
		uint8_t sig[CER_SIGNATURE_BYTES];
		char msg[SEAL_MESSAGE_MAX], sig_hex[2 * CER_SIGNATURE_BYTES + 1];
		size_t msg_len;

		seal_message(seq, time_s, rec->keyid, prev, msg, &msg_len);
		r = cer_key_sign(key, msg, msg_len, sig);
		if (r >= 0) {
			sl_hex_encode(sig, sizeof(sig), sig_hex);
			r = add_member(o, "sig", json_object_new_string(sig_hex));
		}
	}
	if (r < 0)
		return r;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(ret_line, "%s\n", s) < 0)
		return sl_error(SL_E_NOMEM, "out of memory");
	return 0;
}

/* Open (creating if needed) and lock the transcript; *ret_created tells whether it is new. */
static int open_locked(const char *path, int *ret_fd, bool *ret_created)
{
	const int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	_cleanup_close_ int fd = -1;
	bool created = false;

	for (int tries = 0; fd < 0; tries++) {
		fd = open(path, flags);
		if (fd < 0 && errno == ENOENT) {
			fd = open(path, flags | O_CREAT | O_EXCL, 0644);
			created = fd >= 0;
		}
		if (fd < 0 && (errno != EEXIST || tries > 3))
			return sl_error(-errno, "%s: cannot open the transcript: %s", path,
					strerror(errno));
	}
	if (flock(fd, LOCK_EX) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	*ret_created = created;
	return 0;
}

static int append_locked(const char *path, const struct cer_transcript_record *rec,
			 const struct cer_key *key, int64_t *ret_seq)
{
	_cleanup_(json_object_putp) struct json_object *check = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *line = NULL, *dir = NULL;
	_cleanup_close_ int fd = -1;
	struct chain c;
	bool created = false;
	int64_t bad;
	size_t len, line_len;
	int r;

	r = open_locked(path, &fd, &created);
	if (r < 0)
		return r;
	r = read_all(fd, path, &buf, &len);
	if (r < 0)
		return r;
	r = verify_buf(path, buf, len, NULL, &c, &bad);
	if (r < 0)
		return r;
	r = record_line(rec, key, &c, &line);
	if (r < 0)
		return r;
	line_len = strlen(line);
	/* Never write what the verifier would refuse (e.g. a file name that is not UTF-8). */
	if (line_len - 1 > CER_TRANSCRIPT_LINE_MAX || tuf_json_parse(line, line_len - 1, 2, &check))
		return sl_error(SL_E_INVALID,
				"%s: record would not read back (too long or not "
				"UTF-8)",
				path);
	r = sl_write_all(fd, line, line_len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && created) {
		dir = strdup(path);
		r = dir ? sl_fsync_dir(dirname(dir)) : SL_E_NOMEM;
	}
	if (r < 0)
		return sl_error(r, "%s: cannot append to the transcript: %s", path, sl_strerror(r));
	if (ret_seq)
		*ret_seq = c.records + 1;
	return 0;
}

int cer_transcript_append(const char *path, const struct cer_transcript_record *rec,
			  int64_t *ret_seq)
{
	int r;

	assert(path && rec);
	r = record_check(rec, false);
	if (r < 0)
		return r;
	return append_locked(path, rec, NULL, ret_seq);
}

int cer_transcript_seal(const char *path, const struct cer_key *key, int64_t *ret_seq)
{
	const struct cer_transcript_record rec = {.op = SEAL_OP, .keyid = cer_key_keyid(key)};

	assert(path && key);
	return append_locked(path, &rec, key, ret_seq);
}

int cer_transcript_hash_file(const char *path, char ret_hex[static 65])
{
	_cleanup_close_ int fd = -1;
	crypto_hash_sha256_state st;
	uint8_t digest[HASH_BYTES];
	struct stat sb;
	_cleanup_free_ uint8_t *chunk = malloc(HASH_CHUNK);

	if (!chunk)
		return sl_error(SL_E_NOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sl_error(-errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return sl_error(SL_E_INVALID, "%s: not a regular file", path);
	crypto_hash_sha256_init(&st);
	for (;;) {
		ssize_t k = read(fd, chunk, HASH_CHUNK);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sl_error(-errno, "%s: cannot read: %s", path, strerror(errno));
		if (k == 0)
			break;
		crypto_hash_sha256_update(&st, chunk, (size_t)k);
	}
	crypto_hash_sha256_final(&st, digest);
	sl_hex_encode(digest, sizeof(digest), ret_hex);
	return 0;
}
