#include "bd_seal.h"
#include "core/bn_error.h"
#include "core/bn_file.h"
#include "core/bn_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYBYTES 32
#define CHUNK (64 * 1024)
#define SS_A crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_H crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define FILE_HDR (4 + 4 + SS_H)
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

static const char REC_MAGIC[4] = {'b', 'n', 'r', '1'};
static const char FILE_MAGIC[4] = {'b', 'n', 's', '1'};

typedef struct {
    uint32_t id;
    unsigned char k[KEYBYTES];
} s_key_t;

struct bd_keyring {
    s_key_t keys[BD_SEAL_MAX_KEYS]; /* [0] is the current key */
    int n;
};

void bd_seal_id_hex(uint32_t id, char out[9]) { snprintf(out, 9, "%08x", id); }

static uint32_t s_key_id(const unsigned char k[KEYBYTES])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, k, KEYBYTES, NULL, 0);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static void s_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static uint32_t s_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A new key file: O_EXCL, so two brokers starting at once cannot each write a different key
 * and one of them seal records the other cannot open. */
static int s_key_create(const char *path)
{
    unsigned char k[KEYBYTES];
    char hex[2 * KEYBYTES + 2];
    randombytes_buf(k, sizeof k);
    sodium_bin2hex(hex, sizeof hex, k, sizeof k);
    sodium_memzero(k, sizeof k);
    size_t n = strlen(hex);
    hex[n++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : bn_error_set("store_key", "create %s: %s", path, strerror(errno));
    int ok = write(fd, hex, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    close(fd);
    sodium_memzero(hex, sizeof hex);
    if (!ok) {
        unlink(path);
        return bn_error_set("store_key", "write %s: %s", path, strerror(e));
    }
    bn_info("created the store key %s (mode 0600): back it up; without it the store cannot be read", path);
    return 0;
}

static int s_key_load(const char *path, s_key_t *out)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077)) {
        if (chmod(path, 0600) == 0)
            bn_warn("store key %s was mode %04o: changed to 0600", path, (unsigned)(st.st_mode & 07777));
        else
            return bn_error_set("store_key", "%s is mode %04o and cannot be changed to 0600: %s", path,
                                (unsigned)(st.st_mode & 07777), strerror(errno));
    }
    size_t size;
    char *text = bn_file_read(path, 256, &size);
    if (!text)
        return bn_error_set("store_key", "%s: %s", path, bn_error_msg());
    size_t len = 0;
    int rc = sodium_hex2bin(out->k, KEYBYTES, text, size, " \r\n", &len, NULL);
    sodium_memzero(text, size);
    free(text);
    if (rc < 0 || len != KEYBYTES)
        return bn_error_set("store_key", "%s: not a store key (64 hex digits)", path);
    out->id = s_key_id(out->k);
    return 0;
}

bd_keyring_t *bd_keyring_open(const char *key_file, int create, const char *const *old_files, int nold)
{
    bd_keyring_t *self = calloc(1, sizeof *self);
    if (access(key_file, F_OK) < 0) {
        if (!create) {
            bn_error_set("store_key_missing", "%s does not exist", key_file);
            goto err;
        }
        if (s_key_create(key_file) < 0)
            goto err;
    }
    if (s_key_load(key_file, &self->keys[self->n++]) < 0)
        goto err;
    for (int i = 0; i < nold && self->n < BD_SEAL_MAX_KEYS; i++) {
        if (s_key_load(old_files[i], &self->keys[self->n]) < 0)
            goto err;
        self->n++;
    }
    return self;
err:
    bd_keyring_destroy(&self);
    return NULL;
}

void bd_keyring_destroy(bd_keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero(*self_p, sizeof **self_p);
    free(*self_p);
    *self_p = NULL;
}

uint32_t bd_keyring_current(const bd_keyring_t *self) { return self->keys[0].id; }

static const s_key_t *s_find(const bd_keyring_t *self, uint32_t id)
{
    for (int i = 0; i < self->n; i++)
        if (self->keys[i].id == id)
            return &self->keys[i];
    return NULL;
}

int bd_keyring_has(const bd_keyring_t *self, uint32_t id) { return s_find(self, id) != NULL; }

static int s_id(const void *p, size_t len, const char magic[4], uint32_t *id)
{
    if (len < 8 || memcmp(p, magic, 4))
        return 0;
    *id = s_get32((const unsigned char *)p + 4);
    return 1;
}

int bd_seal_rec_id(const void *rec, size_t len, uint32_t *id) { return s_id(rec, len, REC_MAGIC, id); }
int bd_seal_file_id(const void *hdr, size_t len, uint32_t *id) { return s_id(hdr, len, FILE_MAGIC, id); }

void *bd_seal_rec(const bd_keyring_t *self, const void *plain, size_t len, const char *ad, size_t *out_len)
{
    const s_key_t *k = &self->keys[0];
    unsigned char *out = malloc(BD_SEAL_REC_HDR + len + TAG);
    memcpy(out, REC_MAGIC, 4);
    s_put32(out + 4, k->id);
    randombytes_buf(out + 8, NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + BD_SEAL_REC_HDR, &clen, plain, len, (const unsigned char *)ad,
                                               strlen(ad), NULL, out + 8, k->k);
    *out_len = BD_SEAL_REC_HDR + (size_t)clen;
    return out;
}

static const s_key_t *s_key_for(const bd_keyring_t *self, uint32_t id)
{
    const s_key_t *k = s_find(self, id);
    if (!k) {
        char hex[9];
        bd_seal_id_hex(id, hex);
        bn_error_set("store_key_missing", "sealed with key %s, which is not loaded (store.key_file, store.old_key_files)", hex);
    }
    return k;
}

char *bd_seal_rec_open(const bd_keyring_t *self, const void *rec, size_t len, const char *ad, size_t *plain_len)
{
    uint32_t id;
    if (!bd_seal_rec_id(rec, len, &id) || len < BD_SEAL_REC_HDR + TAG) {
        bn_error_set("store_corrupt", "a stored record is not sealed");
        return NULL;
    }
    const s_key_t *k = s_key_for(self, id);
    if (!k)
        return NULL;
    const unsigned char *r = rec;
    char *plain = malloc(len - BD_SEAL_REC_HDR - TAG + 1);
    unsigned long long n = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain, &n, NULL, r + BD_SEAL_REC_HDR,
                                                   len - BD_SEAL_REC_HDR, (const unsigned char *)ad, strlen(ad), r + 8,
                                                   k->k) < 0) {
        free(plain);
        bn_error_set("store_corrupt", "a stored record failed authentication");
        return NULL;
    }
    plain[n] = '\0';
    if (plain_len)
        *plain_len = (size_t)n;
    return plain;
}

static int s_write_all(int fd, const unsigned char *p, size_t size)
{
    while (size) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Chunks are sealed into a buffer of 16 and written together: 48 writes for a 3 MB scan
 * instead of one per 64 KiB. */
#define BATCH 16

int bd_seal_file_write(const bd_keyring_t *self, int fd, const void *data, size_t size)
{
    const s_key_t *k = &self->keys[0];
    crypto_secretstream_xchacha20poly1305_state ss;
    unsigned char *buf = malloc(FILE_HDR + BATCH * (CHUNK + SS_A));
    memcpy(buf, FILE_MAGIC, 4);
    s_put32(buf + 4, k->id);
    crypto_secretstream_xchacha20poly1305_init_push(&ss, buf + 8, k->k);
    size_t used = FILE_HDR, off = 0;
    const unsigned char *p = data;
    int rc = 0;
    do {
        size_t n = size - off < CHUNK ? size - off : CHUNK;
        int last = off + n == size;
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(&ss, buf + used, &clen, p + off, n, NULL, 0,
                                                   last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        used += (size_t)clen;
        off += n;
        if (last || used + CHUNK + SS_A > FILE_HDR + BATCH * (CHUNK + SS_A)) {
            if ((rc = s_write_all(fd, buf, used)) < 0)
                break;
            used = 0;
        }
    } while (off < size);
    int e = errno;
    sodium_memzero(&ss, sizeof ss);
    free(buf);
    errno = e;
    return rc;
}

int bd_seal_file_read(const bd_keyring_t *self, int fd, size_t file_size, void **data, size_t *size)
{
    static char empty;
    unsigned char hdr[FILE_HDR];
    uint32_t id;
    if (file_size < FILE_HDR + SS_A || pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || !bd_seal_file_id(hdr, sizeof hdr, &id))
        return bn_error_set("store_corrupt", "not a sealed spool file");
    const s_key_t *k = s_key_for(self, id);
    if (!k)
        return -1;
    /* The plaintext size follows from the file size: every chunk but the last is full. */
    size_t body = file_size - FILE_HDR, nchunks = (body + CHUNK + SS_A - 1) / (CHUNK + SS_A);
    size_t plain = body - nchunks * SS_A;
    if (body % (CHUNK + SS_A) && body % (CHUNK + SS_A) < SS_A)
        return bn_error_set("store_corrupt", "sealed spool file of impossible size");
    crypto_secretstream_xchacha20poly1305_state ss;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&ss, hdr + 8, k->k) < 0)
        return bn_error_set("store_corrupt", "bad sealed spool header");
    unsigned char *out = plain ? mmap(NULL, plain, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : (unsigned char *)&empty;
    if (out == MAP_FAILED)
        return bn_error_set("blob_missing", "mmap: %s", strerror(errno));
    unsigned char *cbuf = malloc(CHUNK + SS_A);
    size_t in = FILE_HDR, done = 0;
    int rc = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t clen = file_size - in < CHUNK + SS_A ? file_size - in : CHUNK + SS_A;
        ssize_t got = pread(fd, cbuf, clen, (off_t)in);
        unsigned char tag = 0;
        unsigned long long mlen = 0;
        if (got != (ssize_t)clen) {
            rc = bn_error_set("blob_missing", "short read of a spool file");
            break;
        }
        if (crypto_secretstream_xchacha20poly1305_pull(&ss, out + done, &mlen, &tag, cbuf, clen, NULL, 0) < 0
            || (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) != (c + 1 == nchunks)) {
            rc = bn_error_set("store_corrupt", "a sealed spool file failed authentication");
            break;
        }
        in += clen;
        done += (size_t)mlen;
    }
    free(cbuf);
    sodium_memzero(&ss, sizeof ss);
    if (rc < 0) {
        if (plain)
            munmap(out, plain);
        return -1;
    }
    if (plain)
        mprotect(out, plain, PROT_READ);
    *data = out;
    *size = plain;
    return 0;
}

const char *bd_seal_ad(char buf[96], const char *what, const char *id, int seq)
{
    if (seq >= 0)
        snprintf(buf, 96, "%s:%.64s:%d", what, id, seq);
    else
        snprintf(buf, 96, "%s:%.64s", what, id);
    return buf;
}
