/* bn_sha256 — SHA-256 as 64 lowercase hex digits: the content address that names a spool file
 * (daemon/bd_store). The broker and the workers check a spool file against its name before
 * its bytes are used as an applicant's upload (docs/PROTOCOL.md, "Durability").
 *
 * OpenSSL's implementation, not libsodium's: it uses the CPU's SHA extensions (~1.4 GB/s
 * against ~0.25 GB/s), and a 3 MB scan is checked once per stage. */
#ifndef BN_SHA256_H
#define BN_SHA256_H
#include <stddef.h>

/* 0, or -1 when the digest failed (hex is then ""). */
int bn_sha256_hex(const void *data, size_t size, char hex[65]);
/* 1 when data hashes to want (64 lowercase hex digits), 0 otherwise. */
int bn_sha256_matches(const void *data, size_t size, const char *want);

#endif
