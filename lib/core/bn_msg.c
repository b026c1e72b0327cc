#include "core/bn_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bn_msg_t *bn_msg_new(void)
{
    return calloc(1, sizeof(bn_msg_t));
}

void bn_msg_clear(bn_msg_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        zmq_msg_close(&self->frames[i]);
    self->count = 0;
}

void bn_msg_destroy(bn_msg_t **self_p)
{
    if (self_p && *self_p) {
        bn_msg_clear(*self_p);
        free((*self_p)->frames);
        free(*self_p);
        *self_p = NULL;
    }
}

/* Make room for one more frame at the end; returns the slot (uninitialised). */
static zmq_msg_t *s_slot(bn_msg_t *self)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        zmq_msg_t *f = realloc(self->frames, cap * sizeof *f);
        if (!f)
            return NULL;
        self->frames = f;
        self->cap = cap;
    }
    return &self->frames[self->count];
}

int bn_msg_recv(bn_msg_t *self, void *socket, size_t max_frames, int flags)
{
    bn_msg_clear(self);
    int more = 1, overflow = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, socket, self->count ? 0 : flags) < 0) {
            zmq_msg_close(&part);
            bn_msg_clear(self);
            return -1;
        }
        more = zmq_msg_more(&part);
        if (overflow || self->count >= max_frames) {
            overflow = 1; /* keep draining so the next recv starts at a message boundary */
            zmq_msg_close(&part);
            continue;
        }
        zmq_msg_t *slot = s_slot(self);
        if (!slot) {
            overflow = 1;
            zmq_msg_close(&part);
            continue;
        }
        zmq_msg_init(slot);
        zmq_msg_move(slot, &part);
        zmq_msg_close(&part);
        self->count++;
    }
    if (overflow) {
        bn_msg_clear(self);
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

int bn_msg_send(bn_msg_t *self, void *socket)
{
    int rc = 0;
    size_t i;
    for (i = 0; i < self->count; i++) {
        if (zmq_msg_send(&self->frames[i], socket, i + 1 < self->count ? ZMQ_SNDMORE : 0) < 0) {
            rc = -1;
            break;
        }
    }
    /* Sent frames are now empty; close whatever remains either way. */
    bn_msg_clear(self);
    return rc;
}

size_t bn_msg_size(const bn_msg_t *self) { return self->count; }

zmq_msg_t *bn_msg_frame(bn_msg_t *self, size_t i)
{
    return i < self->count ? &self->frames[i] : NULL;
}

const void *bn_msg_data(bn_msg_t *self, size_t i)
{
    return i < self->count ? zmq_msg_data(&self->frames[i]) : NULL;
}

size_t bn_msg_len(bn_msg_t *self, size_t i)
{
    return i < self->count ? zmq_msg_size(&self->frames[i]) : 0;
}

int bn_msg_streq(bn_msg_t *self, size_t i, const char *s)
{
    size_t n = strlen(s);
    return i < self->count && zmq_msg_size(&self->frames[i]) == n
        && memcmp(zmq_msg_data(&self->frames[i]), s, n) == 0;
}

char *bn_msg_strdup(bn_msg_t *self, size_t i)
{
    if (i >= self->count)
        return NULL;
    size_t n = zmq_msg_size(&self->frames[i]);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, zmq_msg_data(&self->frames[i]), n);
        s[n] = '\0';
    }
    return s;
}

int bn_msg_addmem(bn_msg_t *self, const void *data, size_t size)
{
    zmq_msg_t *slot = s_slot(self);
    if (!slot || zmq_msg_init_size(slot, size) < 0)
        return -1;
    if (size)
        memcpy(zmq_msg_data(slot), data, size);
    self->count++;
    return 0;
}

int bn_msg_addstr(bn_msg_t *self, const char *s)
{
    return bn_msg_addmem(self, s, strlen(s));
}

int bn_msg_addframe(bn_msg_t *self, zmq_msg_t *frame)
{
    zmq_msg_t *slot = s_slot(self);
    if (!slot)
        return -1;
    zmq_msg_init(slot);
    if (zmq_msg_copy(slot, frame) < 0) {
        zmq_msg_close(slot);
        return -1;
    }
    self->count++;
    return 0;
}

int bn_msg_addmove(bn_msg_t *self, zmq_msg_t *frame)
{
    zmq_msg_t *slot = s_slot(self);
    if (!slot)
        return -1;
    zmq_msg_init(slot);
    zmq_msg_move(slot, frame);
    self->count++;
    return 0;
}

int bn_msg_addzc(bn_msg_t *self, void *data, size_t size, zmq_free_fn *ffn, void *hint)
{
    zmq_msg_t *slot = s_slot(self);
    if (!slot || zmq_msg_init_data(slot, data, size, ffn, hint) < 0)
        return -1;
    self->count++;
    return 0;
}

int bn_msg_pushmem(bn_msg_t *self, const void *data, size_t size)
{
    if (bn_msg_addmem(self, data, size) < 0)
        return -1;
    zmq_msg_t last = self->frames[self->count - 1];
    memmove(&self->frames[1], &self->frames[0], (self->count - 1) * sizeof(zmq_msg_t));
    self->frames[0] = last;
    return 0;
}

int bn_msg_pushstr(bn_msg_t *self, const char *s)
{
    return bn_msg_pushmem(self, s, strlen(s));
}

void bn_msg_drop(bn_msg_t *self, size_t n)
{
    if (n > self->count)
        n = self->count;
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&self->frames[i]);
    memmove(&self->frames[0], &self->frames[n], (self->count - n) * sizeof(zmq_msg_t));
    self->count -= n;
}
