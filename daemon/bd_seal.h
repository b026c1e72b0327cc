/* bd_seal — encryption at rest for the durable store (issue #11): the job database's personal
 * fields (spec, task replies, results) and the spool's image files are sealed with a key the
 * broker keeps in a file of its own (docs/STORE.md).
 *
 * Keys: 32 random bytes, kept as 64 hex digits and a newline in a 0600 file. A key is known by
 * its id, the first 4 bytes of its BLAKE2b hash (8 hex digits): every sealed record and file
 * names the key that sealed it, so after a rotation the old key still opens what it sealed
 * while the new one seals everything new.
 *
 * Records (SQLite values):  "bnr1" | key id (4) | nonce (24) | XChaCha20-Poly1305 ciphertext + tag
 *   with associated data naming the record's place ("spec:<job id>"), so that a sealed value
 *   moved to another row or column fails authentication like a modified one.
 * Spool files:  "bns1" | key id (4) | secretstream header (24) | chunks of 64 KiB + 17 bytes
 *   (crypto_secretstream_xchacha20poly1305; the last chunk is tagged FINAL, so a truncated
 *   file fails too). A file's name stays the sha256 of its plaintext: dedup and the content
 *   address check are unchanged, and a valid file swapped for another fails that check. */
#ifndef BD_SEAL_H
#define BD_SEAL_H
#include <stddef.h>
#include <stdint.h>

#define BD_SEAL_MAX_KEYS 8
#define BD_SEAL_REC_HDR (4 + 4 + 24)

typedef struct bd_keyring bd_keyring_t;

/* Load the current key from key_file, creating it (O_CREAT|O_EXCL, 0600) when it does not
 * exist and create is set; then the old keys (files that must exist). NULL with bn_error
 * store_key (unreadable, malformed) or store_key_missing (absent and !create). A key file
 * readable by group or others is tightened to 0600, with a warning. */
bd_keyring_t *bd_keyring_open(const char *key_file, int create, const char *const *old_files, int nold);
void bd_keyring_destroy(bd_keyring_t **self_p);
uint32_t bd_keyring_current(const bd_keyring_t *self);
int bd_keyring_has(const bd_keyring_t *self, uint32_t id);
/* "1a2b3c4d" */
void bd_seal_id_hex(uint32_t id, char out[9]);

/* The key id of a sealed record or file header (at least 8 bytes), or 0 when it is not one. */
int bd_seal_rec_id(const void *rec, size_t len, uint32_t *id);
int bd_seal_file_id(const void *hdr, size_t len, uint32_t *id);

/* A record's associated data: where it lives, "<what>:<id>" or "<what>:<id>:<seq>" (spec:<job>,
 * result:<job>, reply:<job>:<seq>, blob:<sha256>), so that a record copied to another row or
 * column does not open. Ids up to 64 characters (a job id has 32, a sha256 64). */
const char *bd_seal_ad(char buf[96], const char *what, const char *id, int seq);

/* Seal plain under the current key: a malloc'd record of *out_len bytes. */
void *bd_seal_rec(const bd_keyring_t *self, const void *plain, size_t len, const char *ad, size_t *out_len);
/* Open a record: malloc'd plaintext with a NUL after it, or NULL with bn_error store_corrupt
 * (not a record, failed authentication) or store_key_missing (sealed with a key not loaded). */
char *bd_seal_rec_open(const bd_keyring_t *self, const void *rec, size_t len, const char *ad, size_t *plain_len);

/* Write data to fd as a sealed spool file. 0, or -1 with errno set (write errors: ENOSPC…). */
int bd_seal_file_write(const bd_keyring_t *self, int fd, const void *data, size_t size);
/* Read the sealed file open on fd (file_size bytes) into an anonymous mapping (munmap it;
 * a static address when empty): 0, or -1 with bn_error store_corrupt / store_key_missing /
 * blob_missing (read or mmap failed). */
int bd_seal_file_read(const bd_keyring_t *self, int fd, size_t file_size, void **data, size_t *size);

#endif
