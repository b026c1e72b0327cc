/* bn_worker — the runtime every stage worker shares: connect to the broker as an MDP worker,
 * announce a service, heartbeat, reconnect with backoff, take one task at a time, run the
 * stage, return a result or an error.
 *
 * Threads: the socket stays in the main thread (ZeroMQ sockets are not thread-safe); the stage
 * runs in a second thread so heartbeats keep flowing while a 5-second OCR runs — the broker
 * then tells a busy worker from a dead one in ~3 heartbeats, while the per-task lease (on the
 * broker) bounds a stage that hangs. A stage that runs past task_timeout_ms cannot be stopped
 * safely inside the process, so the worker exits (code 75) and its supervisor restarts it.
 *
 * Wire (body of REQUEST): [header JSON][document image][selfie image (face only)]
 * header: {"job","task","stage","document":{"index","type","side"},"form","options","hints"}
 * Wire (body of REPLY):   [reply JSON][blob frames...]
 * reply: {"ok":true,"result":{...},"blobs":["prepared",...]} | {"ok":false,"error":{"code","message"}} */
#ifndef BN_WORKER_H
#define BN_WORKER_H
#include "core/bn_config.h"
#include "core/bn_msg.h"
#include "core/bn_stage.h"

typedef struct {
    const char *endpoint;
    const char *service;
    bn_stage_fn stage;
    const bn_config_t *config;
    int heartbeat_ms;       /* default 2500 */
    int liveness;           /* missed heartbeats before reconnect, default 3 */
    int reconnect_max_ms;   /* backoff cap, default 8000 */
    int task_timeout_ms;    /* default 120000 */
    const char *server_key; /* tcp: broker public key (Z85) */
    const char *cert_path;  /* tcp: this worker's secret certificate */
} bn_worker_opts_t;

/* Run until *stop becomes non-zero (signal handler) or max_tasks tasks are done (0 = no limit).
 * Returns 0, or -1 on a setup error (bn_error set). */
int bn_worker_run(const bn_worker_opts_t *opts, volatile int *stop, int max_tasks);

/* The whole main() of a worker executable: options, config, supervisor, run.
 * `beian-quality --help` documents the options. */
int bn_worker_main(int argc, char **argv, const char *service, bn_stage_fn stage);
/* The same with a start-up hook, run once in each (re)started worker process before it
 * connects: load models and engines there, not on the first task. A failing hook is logged;
 * the worker still serves (its stage then answers each task with a clear error). */
typedef int (*bn_stage_init_fn)(const bn_config_t *config);
int bn_worker_main_init(int argc, char **argv, const char *service, bn_stage_fn stage, bn_stage_init_fn init);

/* Decode a REQUEST body into a task (frames stay owned by body; *header_out owns the JSON).
 * Exposed for tests. Returns 0 or -1 with bn_error (bad_task). */
int bn_worker_decode_task(bn_msg_t *body, const bn_config_t *config, bn_task_t *task, json_t **header_out);
/* Payloads the broker left in files on this host (the header's "frame_refs", sent to workers
 * whose READY carried BN_READY_REFS): map each read-only (or read, below 1 MiB) into
 * task->image / task->selfie.
 * Returns 0 (also when there are none) or -1 with bn_error blob_unreachable (the broker then
 * sends bytes) or bad_task. bn_worker_unmap_refs releases what was mapped. */
typedef struct {
    void *addr[2];
    size_t size[2];
} bn_worker_maps_t;
int bn_worker_map_refs(json_t *header, bn_task_t *task, bn_worker_maps_t *maps);
void bn_worker_unmap_refs(bn_worker_maps_t *maps);
/* Encode a stage outcome (rc from the stage) into a reply body. */
bn_msg_t *bn_worker_encode_reply(int rc, bn_stage_result_t *result);

#endif
