/* gw_tokens — the gateway's bearer tokens: each bound to one tenant, kept only as a hash.
 *
 * File format (docs/GATEWAY.md "Tokens"): one token a line, "TENANT blake2b:HEX64 [LABEL…]";
 * '#' starts a comment line. A token is "bnt_" and 64 hex digits (32 random bytes); the file
 * holds BLAKE2b-256 of the whole token string (libsodium crypto_generichash). Why not argon2: a
 * password hash is slow on purpose to make guessing a low-entropy secret expensive; a token has
 * 256 bits from the system's CSPRNG, nothing to guess, and its hash is computed on every request
 * (argon2's ~100 ms and 64 MB would be the gateway's whole budget). The hash only keeps a stolen
 * tokens file from being usable as tokens. */
#ifndef GW_TOKENS_H
#define GW_TOKENS_H
#include <stddef.h>

typedef struct gw_tokens gw_tokens_t;

gw_tokens_t *gw_tokens_new(const char *path);
void gw_tokens_destroy(gw_tokens_t **self_p);
/* The tenant a presented token is bound to (copied into tenant, >= 65 bytes): 0, or -1 when no
 * line matches. The file is read again when its modification time or size changed, so a token
 * added with --add-token works without a restart. An unreadable or malformed file is logged
 * and matches nothing (the gateway refuses every request rather than guess). */
int gw_tokens_check(gw_tokens_t *self, const char *token, char tenant[65]);
/* Make a token for tenant, append its hash to the file at path (created 0600), and write the
 * token (69 bytes with its NUL) to out. -1 with bn_error on a bad tenant or a failed write. */
int gw_tokens_add(const char *path, const char *tenant, const char *label, char out[69]);

#endif
