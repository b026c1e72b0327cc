/* bd_metrics — `beiand --metrics ADDR:PORT`: GET /metrics over HTTP, the broker's beian.metrics
 * answer (Prometheus text format, docs/PROTOCOL.md "beian.metrics").
 * libmicrohttpd serves it from a thread of its own, which never touches the broker: it is a
 * client of the broker's ipc endpoint like any other, and the broker renders the text in its
 * event loop between other messages. The broker's single-threaded loop stays the only reader
 * of its tables. */
#ifndef BD_METRICS_H
#define BD_METRICS_H

typedef struct bd_metrics bd_metrics_t;

/* listen "IPv4:PORT"; endpoint: the broker's ipc endpoint. NULL with bn_error config_invalid
 * (a malformed address) or metrics_listen (cannot bind). */
bd_metrics_t *bd_metrics_new(const char *listen, const char *endpoint);
void bd_metrics_destroy(bd_metrics_t **self_p);

#endif
