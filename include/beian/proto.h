/* beian wire protocol — constants shared by broker, workers and clients (docs/PROTOCOL.md).
 *
 * Transport: ZeroMQ Majordomo Protocol 0.1 (MDP, rfc.zeromq.org specs 7 & 8) between clients,
 * the broker and workers, so stock Majordomo clients and workers interoperate. The broker also
 * answers these services itself:
 *   mmi.service                   MMI (spec 8): "200" known, "404" unknown, "501" not impl.
 *   titanic.request/reply/close   Titanic (spec 9), durable (fsync'd), for any service
 *   beian.submit/status/result/cancel/blob/list/webhooks   the application API (JSON bodies)
 * Every reply of a broker-internal service starts with a status frame ("200", "300" pending,
 * "400" bad request, "404" unknown, "409" conflict, "503" busy, "500" internal) followed by the
 * service's frames.
 *
 * Fencing: the broker sends a REQUEST's "client address" frame as a task token
 * "T<16 hex task id>.<attempt>". Workers echo it unchanged in REPLY (as MDP requires), so a late
 * reply from an attempt the broker has already given up on is recognised and dropped. */
#ifndef BEIAN_PROTO_H
#define BEIAN_PROTO_H

#define BN_MDPC "MDPC01"
#define BN_MDPW "MDPW01"

/* MDP worker commands (one-byte frames) */
#define BN_MDPW_READY 0x01
#define BN_MDPW_REQUEST 0x02
#define BN_MDPW_REPLY 0x03
#define BN_MDPW_HEARTBEAT 0x04
#define BN_MDPW_DISCONNECT 0x05

/* Service names */
#define BN_SVC_QUALITY "beian.quality"
#define BN_SVC_OCR "beian.ocr"
#define BN_SVC_FACE "beian.face"
#define BN_SVC_SUBMIT "beian.submit"
#define BN_SVC_STATUS "beian.status"
#define BN_SVC_RESULT "beian.result"
#define BN_SVC_CANCEL "beian.cancel"
#define BN_SVC_BLOB "beian.blob"
#define BN_SVC_LIST "beian.list"
#define BN_SVC_WEBHOOKS "beian.webhooks"
#define BN_SVC_METRICS "beian.metrics"
#define BN_SVC_MMI "mmi.service"
#define BN_SVC_TI_REQUEST "titanic.request"
#define BN_SVC_TI_REPLY "titanic.reply"
#define BN_SVC_TI_CLOSE "titanic.close"

/* Status frames */
#define BN_ST_OK "200"
#define BN_ST_PENDING "300"
#define BN_ST_BAD "400"
#define BN_ST_UNKNOWN "404"
#define BN_ST_CONFLICT "409"
#define BN_ST_INTERNAL "500"
#define BN_ST_NOT_IMPL "501"
#define BN_ST_BUSY "503"
#define BN_ST_TIMEOUT "504" /* a plain MDP request no worker took in time (request_expired) */

/* Routing-id prefix of workers built on beian's runtime (bn_worker). They heartbeat while busy,
 * so the broker may declare them dead on heartbeat silence even mid-task; a stock MDP worker
 * (which is silent while it works) is bounded by the task lease instead. */
#define BN_WORKER_ID_PREFIX "BNW1-"

/* Optional frame after READY's service name: the worker runs on the broker's host and reads
 * large payloads from the files a task header's "frame_refs" names instead of receiving them
 * (docs/PROTOCOL.md). Stock workers do not send it and always receive the bytes. */
#define BN_READY_REFS "beian:refs"

/* Defaults (all configurable; docs/CONFIG.md) */
/* Bytes per uploaded image (broker.max_upload): the one size limit of an upload. The broker
 * refuses a larger image with 400 upload_too_large, the CLI before sending it. Equal to the
 * quality stage's decode cap (quality.decode.max_bytes, 30 MiB): a larger file could only be
 * refused there, after a queue and a worker, with a verdict that blames the applicant. */
#define BN_DEFAULT_MAX_UPLOAD (30u << 20)
/* Bytes per frame: ZMQ_MAXMSGSIZE. Above it libzmq drops the connection and the sender hears
 * nothing (a client waits for its timeout), so it stays well above the upload limit: an
 * over-size upload up to this size is received and answered upload_too_large. */
#define BN_DEFAULT_MAX_FRAME (64u << 20)
#define BN_DEFAULT_MAX_FRAMES 64           /* frames per message */
#define BN_DEFAULT_HEARTBEAT_MS 2500
#define BN_DEFAULT_HEARTBEAT_LIVENESS 3

#endif
