/* bn_msg — a multipart ZeroMQ message as an array of zmq_msg_t frames.
 *
 * Why not CZMQ's zmsg: we need frames that share payloads by reference count (zmq_msg_copy) so
 * a 3 MB image is held once in the broker however many times it is re-sent, and we need to cap
 * the frame count while receiving. Frames are received and sent without copying. */
#ifndef BN_MSG_H
#define BN_MSG_H
#include <stddef.h>
#include <zmq.h>

typedef struct bn_msg {
    zmq_msg_t *frames;
    size_t count, cap;
} bn_msg_t;

bn_msg_t *bn_msg_new(void);
void bn_msg_destroy(bn_msg_t **self_p);

/* Receive one whole multipart message. Returns 0, or -1 on error (errno from zmq: EAGAIN with
 * ZMQ_DONTWAIT, ETERM...) or when more than max_frames frames arrive (errno = EMSGSIZE: the rest
 * is drained and discarded, so the socket stays in sync). */
int bn_msg_recv(bn_msg_t *self, void *socket, size_t max_frames, int flags);
/* Send all frames; the message is emptied (frames moved into libzmq). -1 on error. */
int bn_msg_send(bn_msg_t *self, void *socket);

size_t bn_msg_size(const bn_msg_t *self);
zmq_msg_t *bn_msg_frame(bn_msg_t *self, size_t i);
const void *bn_msg_data(bn_msg_t *self, size_t i);
size_t bn_msg_len(bn_msg_t *self, size_t i);
/* Frame i equals the NUL-terminated string s. */
int bn_msg_streq(bn_msg_t *self, size_t i, const char *s);
/* Frame i as a malloc'd NUL-terminated string (NULL if i is out of range). */
char *bn_msg_strdup(bn_msg_t *self, size_t i);

/* Appending and prepending. *_mem copies; *_frame shares the payload (zmq_msg_copy); *_move
 * takes the frame (the source is left empty). */
int bn_msg_addmem(bn_msg_t *self, const void *data, size_t size);
int bn_msg_addstr(bn_msg_t *self, const char *s);
int bn_msg_addframe(bn_msg_t *self, zmq_msg_t *frame);
int bn_msg_addmove(bn_msg_t *self, zmq_msg_t *frame);
int bn_msg_pushmem(bn_msg_t *self, const void *data, size_t size);
int bn_msg_pushstr(bn_msg_t *self, const char *s);
/* Zero-copy: the frame points at data and ffn(data, hint) frees it when libzmq is done. */
int bn_msg_addzc(bn_msg_t *self, void *data, size_t size, zmq_free_fn *ffn, void *hint);
/* Remove the first n frames. */
void bn_msg_drop(bn_msg_t *self, size_t n);
void bn_msg_clear(bn_msg_t *self);

#endif
