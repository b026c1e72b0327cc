/* bn_zsock — create a ZeroMQ socket with beian's standard options, connected or bound.
 *
 * Every socket gets LINGER 0 (a dead peer must not block shutdown) and MAXMSGSIZE (a frame
 * larger than the cap makes libzmq drop the connection instead of allocating it). A tcp://
 * endpoint REQUIRES CURVE: for a connecting socket pass the server's public key and this
 * peer's certificate; for a binding socket pass the server's secret certificate. Plain TCP is
 * refused (bn_error tcp_requires_curve). */
#ifndef BN_ZSOCK_H
#define BN_ZSOCK_H
#include <stddef.h>

/* bind = 1 binds, 0 connects. server_key: connecting side, broker public key (Z85);
 * cert_path: a zcert secret file (connecting: this client's; binding: the server's). */
void *bn_zsock_new(void *ctx, int type, const char *endpoint, int bind, const char *server_key,
                   const char *cert_path);
/* The same, with a routing id set before connecting (NULL: let libzmq pick one). */
void *bn_zsock_new_id(void *ctx, int type, const char *endpoint, int bind, const char *server_key,
                      const char *cert_path, const char *routing_id);
/* Frame size cap applied to new sockets (default BN_DEFAULT_MAX_FRAME). */
void bn_zsock_set_max_frame(size_t bytes);

/* Endpoint lists (issue #13, several brokers): "EP[,EP...]", blanks around each item ignored.
 * Fills out[] with up to BN_ZSOCK_MAX_ENDPOINTS malloc'd strings (the caller frees each) and
 * returns how many; -1 with bn_error bad_endpoint for an empty list, an empty item ("a,,b",
 * a trailing comma) or too many items, nothing allocated. No other check: a wrong scheme is
 * refused by libzmq at connect, as for a single endpoint. Z85 keys contain no comma, so a
 * list may one day carry per-endpoint keys without a new separator. */
#define BN_ZSOCK_MAX_ENDPOINTS 16
int bn_zsock_endpoints(const char *list, char *out[BN_ZSOCK_MAX_ENDPOINTS]);

#endif
