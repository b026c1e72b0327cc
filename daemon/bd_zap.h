/* bd_zap — the ZAP authenticator (RFC 27) for CURVE endpoints, served from the broker's own
 * event loop.
 *
 * Without a ZAP handler a CURVE server accepts ANY client key, so the handler is bound before
 * any frontend socket. It allows exactly the public keys of the certificates in the allow
 * directory (written by `beian keygen`), answers as the user id the tenant the certificate
 * binds the key to (metadata "tenant", else "default"; ZeroMQ gives it to the broker as the
 * User-Id property of every message, and the broker scopes that connection's jobs to it), and
 * passes the certificate's "services" metadata on as the connection property X-Services: the
 * broker lets a worker register only for the services its certificate names. */
#ifndef BD_ZAP_H
#define BD_ZAP_H

typedef struct bd_zap bd_zap_t;

bd_zap_t *bd_zap_new(void *ctx, const char *allow_dir);
void bd_zap_destroy(bd_zap_t **self_p);
void *bd_zap_socket(bd_zap_t *self);
/* Answer one pending ZAP request (call when the socket is readable). */
void bd_zap_handle(bd_zap_t *self);

#endif
