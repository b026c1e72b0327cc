#include "bd_arena.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u

typedef struct {
    uint64_t off, len;
} extent_t;

struct bd_arena {
    char *path;
    int fd;
    uint64_t end, cap;      /* file size; its limit */
    uint64_t slack;         /* free tail bytes kept for reuse */
    uint64_t puts;          /* payloads put since the last bd_arena_trim */
    extent_t *free;         /* free extents below `end`, sorted by offset, never adjacent */
    size_t nfree, capfree;
};

static uint64_t s_round(size_t size) { return ((uint64_t)size + PAGE - 1) / PAGE * PAGE; }

bd_arena_t *bd_arena_new(const char *path, uint64_t cap, uint64_t slack)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    bd_arena_t *self = calloc(1, sizeof *self);
    self->path = strdup(path);
    self->fd = fd;
    self->cap = cap;
    self->slack = slack / PAGE * PAGE;
    return self;
}

void bd_arena_destroy(bd_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bd_arena_t *self = *self_p;
    close(self->fd);
    unlink(self->path);
    free(self->path);
    free(self->free);
    free(self);
    *self_p = NULL;
}

static int s_write_at(int fd, const void *data, size_t size, uint64_t off)
{
    const char *p = data;
    while (size) {
        ssize_t n = pwrite(fd, p, size, (off_t)off);
        if (n <= 0)
            return -1;
        p += n, off += (uint64_t)n, size -= (size_t)n;
    }
    return 0;
}

int bd_arena_put(bd_arena_t *self, const void *data, size_t size, uint64_t *offset)
{
    uint64_t len = s_round(size ? size : 1);
    size_t i = 0;
    while (i < self->nfree && self->free[i].len < len) /* first fit */
        i++;
    int grow = i == self->nfree;
    uint64_t off = grow ? self->end : self->free[i].off;
    if (grow && self->end + len > self->cap)
        return -1;
    if (s_write_at(self->fd, data, size, off) < 0) {
        if (grow && ftruncate(self->fd, (off_t)self->end) != 0) {} /* undo a partial append */
        return -1;
    }
    if (grow) {
        self->end += len;
    } else if ((self->free[i].len -= len) == 0) {
        memmove(&self->free[i], &self->free[i + 1], (self->nfree - i - 1) * sizeof *self->free);
        self->nfree--;
    } else {
        self->free[i].off += len;
    }
    *offset = off;
    self->puts++;
    return 0;
}

void bd_arena_free(bd_arena_t *self, uint64_t off, size_t size)
{
    uint64_t len = s_round(size ? size : 1);
    size_t i = 0;
    while (i < self->nfree && self->free[i].off < off)
        i++;
    if (self->nfree == self->capfree) {
        self->capfree = self->capfree ? 2 * self->capfree : 16;
        self->free = realloc(self->free, self->capfree * sizeof *self->free);
    }
    memmove(&self->free[i + 1], &self->free[i], (self->nfree - i) * sizeof *self->free);
    self->free[i] = (extent_t){off, len};
    self->nfree++;
    /* Merge with the following extent, then with the preceding one. */
    if (i + 1 < self->nfree && self->free[i].off + self->free[i].len == self->free[i + 1].off) {
        self->free[i].len += self->free[i + 1].len;
        memmove(&self->free[i + 1], &self->free[i + 2], (self->nfree - i - 2) * sizeof *self->free);
        self->nfree--;
    }
    if (i > 0 && self->free[i - 1].off + self->free[i - 1].len == self->free[i].off) {
        self->free[i - 1].len += self->free[i].len;
        memmove(&self->free[i], &self->free[i + 1], (self->nfree - i - 1) * sizeof *self->free);
        self->nfree--;
        i--;
    }
}

uint64_t bd_arena_trim(bd_arena_t *self)
{
    /* Only after a quiet period: trimming in the middle of a burst frees pages that the next
     * payloads allocate, charge and zero again. */
    int quiet = self->puts == 0;
    self->puts = 0;
    extent_t *last = self->nfree ? &self->free[self->nfree - 1] : NULL;
    if (!quiet || !last || last->off + last->len != self->end || last->len <= self->slack)
        return 0;
    uint64_t released = last->len - self->slack;
    self->end -= released;
    if ((last->len = self->slack) == 0)
        self->nfree--;
    if (ftruncate(self->fd, (off_t)self->end) != 0) {}
    return released;
}

const char *bd_arena_path(const bd_arena_t *self) { return self->path; }
int bd_arena_fd(const bd_arena_t *self) { return self->fd; }
uint64_t bd_arena_size(const bd_arena_t *self) { return self->end; }

int bd_arena_test(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/bd_arena_test.%d", (int)getpid());
    unlink(path);
    bd_arena_t *a = bd_arena_new(path, 64 * PAGE, 0);
    if (!a)
        return -1;
    int bad = 0;
    uint64_t o1, o2, o3, o4;
    char buf[3 * PAGE];
    memset(buf, 'x', sizeof buf);
    bad |= bd_arena_put(a, buf, 10, &o1) || o1 != 0;
    bad |= bd_arena_put(a, buf, PAGE + 1, &o2) || o2 != PAGE;
    bad |= bd_arena_put(a, buf, PAGE, &o3) || o3 != 3 * PAGE;
    bad |= bd_arena_size(a) != 4 * PAGE;
    bd_arena_free(a, o2, PAGE + 1);           /* a hole of 2 pages */
    bad |= bd_arena_put(a, buf, PAGE, &o4) || o4 != PAGE; /* first fit reuses it */
    bad |= bd_arena_size(a) != 4 * PAGE;
    char back[PAGE];
    bad |= pread(a->fd, back, 10, (off_t)o4) != 10 || memcmp(back, buf, 10) != 0;
    bd_arena_free(a, o3, PAGE);               /* tail free, merged with the hole's rest */
    bad |= bd_arena_size(a) != 4 * PAGE;      /* nothing is given back while payloads come */
    bad |= bd_arena_trim(a) != 0;             /* puts since the last trim: not quiet yet */
    bad |= bd_arena_trim(a) != 2 * PAGE || bd_arena_size(a) != 2 * PAGE; /* quiet: the tail goes */
    bd_arena_free(a, o1, 10);
    bd_arena_free(a, o4, PAGE);
    bad |= bd_arena_trim(a) != 2 * PAGE || bd_arena_size(a) != 0 || a->nfree != 0; /* all free: empty */
    char big[PAGE];
    for (int i = 0; i < 64; i++)               /* fills the cap, then refuses */
        bad |= bd_arena_put(a, big, sizeof big, &o1) != 0;
    bad |= bd_arena_put(a, big, 1, &o1) != -1;
    bd_arena_destroy(&a);
    bad |= a != NULL || access(path, F_OK) == 0;
    /* With slack, a trimmed tail keeps that many bytes for the next payloads. */
    a = bd_arena_new(path, 64 * PAGE, 2 * PAGE);
    bad |= bd_arena_put(a, buf, 3 * PAGE, &o1) || bd_arena_put(a, buf, PAGE, &o2);
    bd_arena_free(a, o2, PAGE);
    bd_arena_trim(a);
    bad |= bd_arena_trim(a) != 0 || bd_arena_size(a) != 4 * PAGE; /* one free page: within the slack */
    bd_arena_free(a, o1, 3 * PAGE);
    bad |= bd_arena_trim(a) != 2 * PAGE || bd_arena_size(a) != 2 * PAGE; /* four free: two kept */
    bad |= bd_arena_put(a, buf, 2 * PAGE, &o3) || o3 != 0 || bd_arena_size(a) != 2 * PAGE;
    bd_arena_destroy(&a);
    return bad ? -1 : 0;
}
