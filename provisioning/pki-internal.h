/* SPDX-License-Identifier: Apache-2.0 */
/* What pki.c, registry.c and issue.c share about an open PKI directory. */
#pragma once

#include <sys/types.h>

#include "pki.h"

#define PKI_DEVICE_CA_CRT "device-ca.crt"
#define PKI_DEVICE_CA_KEY "device-ca.key"
#define PKI_SERVER_CA_CRT "server-ca.crt"
#define PKI_SERVER_CA_KEY "server-ca.key"
#define PKI_ENROLLMENT_CA_CRT "enrollment-ca.crt"
#define PKI_CRL "crl.pem"
#define PKI_ISSUED "issued.jsonl"
#define PKI_REVOKED "revoked.jsonl"
#define PKI_LOCK "lock"

struct prov_pki {
	char *dir;   /* owned */
	int dfd;     /* the directory */
	int lock_fd; /* flock()ed */
	X509 *ca[2]; /* indexed by enum prov_ca */
	char *ca_pem[2];
	EVP_PKEY *key[2]; /* NULL until unlocked */
	X509 *enrollment; /* NULL when none */
	char *enrollment_pem;
	struct prov_issued *issued; /* issued.jsonl, loaded on first use and kept current */
	size_t n_issued, issued_cap;
	bool issued_loaded;
};

/* Unlocked key of ca, or SL_E_INVALID (programming error made visible) when still locked. */
int pki_need_key(const struct prov_pki *p, enum prov_ca ca);

/*
 * Append line (no newline; one is added) to the registry file name and fsync it; the size
 * before the append is stored in *ret_old_size so that a later failure can undo it.
 */
int pki_registry_append(struct prov_pki *p, const char *name, const char *line,
			off_t *ret_old_size);

/* Undo an append: truncate name back to old_size. */
void pki_registry_undo(struct prov_pki *p, const char *name, off_t old_size);

/* Whether id was issued a certificate before (any, also revoked). */
int pki_issued_has(struct prov_pki *p, const char *id, bool *ret);

/* Add rec to the loaded issued list after it was appended to issued.jsonl. */
int pki_issued_remember(struct prov_pki *p, const struct prov_issued *rec);

/* The JSON line of an issued record (malloc'd). */
int pki_issued_line(const struct prov_issued *rec, char **ret);

/* Write data to PKI/name or dir/name atomically with mode; name in messages. */
int pki_write_at(int dfd, const char *dir, const char *name, const void *data, size_t len,
		 mode_t mode);

/*
 * Sign a new CRL of the device CA (unlocked) listing rv (n entries), CRL number one more than
 * the current PKI/crl.pem's, next update in days, and write it to PKI/crl.pem.
 */
int pki_crl_write(struct prov_pki *p, const struct prov_revoked *rv, size_t n, uint32_t days);

/* Copy PKI/crl.pem to out_dir/crl.pem (out_dir created 0700 when missing). */
int pki_crl_copy(struct prov_pki *p, const char *out_dir);

/* The current time, seconds since the epoch. */
int64_t pki_now(void);
