/* bd_arena — the memory store's large payloads, in one file on tmpfs that workers on this host
 * map instead of receiving the bytes (docs/PROTOCOL.md, "frame_refs").
 *
 * Why one file and not a file per payload: creating, filling and unlinking a 3 MB tmpfs file
 * allocates, charges and frees 768 pages each time, which cost the broker more than the socket
 * copy it saves. Extents of one file are reused: a payload is written into pages that are
 * already there. The file shrinks (bd_arena_trim) when more than `slack` bytes at its end are free
 * and no payload came for a while, so an idle broker holds at most that. Extents are page-aligned (a worker maps them at their offset).
 * The cost: fragmentation. A payload that does not fit in a free extent goes to the end of the
 * file, so the file can exceed the bytes live in it; the broker's max_bytes bounds the live
 * bytes, and bd_arena_put refuses beyond `cap` bytes of file (the caller then keeps the bytes). */
#ifndef BD_ARENA_H
#define BD_ARENA_H
#include <stddef.h>
#include <stdint.h>

typedef struct bd_arena bd_arena_t;

/* Create the file at path (mode 0600, must not exist); cap = largest file size allowed; slack =
 * free bytes at the end of the file kept allocated for reuse rather than given back. */
bd_arena_t *bd_arena_new(const char *path, uint64_t cap, uint64_t slack);
/* Remove the file. */
void bd_arena_destroy(bd_arena_t **self_p);
/* Copy a payload in; *offset receives where. -1 when full (cap or ENOSPC). */
int bd_arena_put(bd_arena_t *self, const void *data, size_t size, uint64_t *offset);
/* Give an extent back (offset and size as put). */
void bd_arena_free(bd_arena_t *self, uint64_t offset, size_t size);
/* Call periodically: if nothing was put since the last call, give the free tail of the file
 * beyond `slack` back to the system. Returns the bytes released. */
uint64_t bd_arena_trim(bd_arena_t *self);
const char *bd_arena_path(const bd_arena_t *self);
int bd_arena_fd(const bd_arena_t *self);
/* Bytes of file (what the arena holds in tmpfs, live or reusable). */
uint64_t bd_arena_size(const bd_arena_t *self);

int bd_arena_test(void);

#endif
