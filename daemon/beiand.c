/* beiand — the beian broker. See docs/PROTOCOL.md and `beiand --help`. */
#include "bd_broker.h"
#include "bd_metrics.h"
#include "bd_migrate.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_version.h"
#include "core/bn_zsock.h"

#include <beian/proto.h>

#include <errno.h>
#include <getopt.h>
#ifdef BEIAN_MIMALLOC
#include <mimalloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static volatile int s_stop;
static void s_on_signal(int sig) { (void)sig; s_stop = 1; }

static void s_usage(void)
{
    printf("usage: beiand [options]\n"
           "The beian broker: accepts submissions (MDP/Titanic/beian.*), stores them durably, runs\n"
           "them through the quality, OCR and face workers and keeps the results.\n\n"
           "  -d, --dir DIR          state directory (database, spool, store key, ipc sockets);\n"
           "                         default ./var. The store: docs/STORE.md\n"
           "  -b, --bind EP          endpoint to serve (repeatable); default ipc://DIR/beiand.sock\n"
           "                         tcp:// endpoints require --curve-cert and --allow\n"
           "  -p, --pub EP           announce finished jobs here (topic = tenant);\n"
           "                         default ipc://DIR/events.sock, 'none' to disable\n"
           "      --store KIND       sqlite (default, durable), memory, or a PostgreSQL URL\n"
           "                         postgres://user@host:port/db shared by several beiand\n"
           "                         (docs/STORE.md \"PostgreSQL\", docs/DEPLOY.md)\n"
           "      --migrate-to URL   copy the SQLite store in DIR (stopped) into an empty\n"
           "                         PostgreSQL database, print the counts as JSON and exit\n"
           "                         (docs/DEPLOY.md \"Moving a SQLite store to PostgreSQL\")\n"
           "      --curve-cert FILE  the broker's secret certificate (beian keygen)\n"
           "      --allow DIR        directory of allowed client/worker public certificates\n"
           "  -C, --config FILE      configuration JSON (default $BEIAN_CONFIG)\n"
           "      --heartbeat MS     heartbeat interval (default 2500)\n"
           "      --lease MS         time one task attempt may take (default 120000)\n"
           "      --max-attempts N   attempts per task before the job fails (default 3)\n"
           "      --max-jobs N       unfinished jobs before submit answers busy (default 10000)\n"
           "      --max-upload BYTES largest image a submission may carry (default 30 MiB);\n"
           "                         a larger one is refused with upload_too_large\n"
           "      --max-frame BYTES  largest frame libzmq receives (default 64 MiB); must exceed\n"
           "                         --max-upload: a larger frame is dropped without an answer\n"
           "      --retention-hours H  delete finished jobs and their images after H hours\n"
           "                         (default 720; 0 keeps them). Selfies go when the job ends.\n"
           "      --metrics ADDR:PORT  serve GET /metrics (Prometheus text) over HTTP on this IPv4\n"
           "                         address, e.g. 127.0.0.1:9480 (docs/PROTOCOL.md \"beian.metrics\")\n"
           "  -v, --verbose\n"
           "  -h, --help\n"
           "      --version\n");
}

int main(int argc, char **argv)
{
    /* Issue #11: everything beiand creates (database, -wal/-shm, spool, ipc sockets) is the
     * owner's alone, whatever umask the service manager or shell left; explicit modes below too. */
    umask(077);
    bd_options_t o = {.dir = "var", .durable = 1};
    const char *config_path = NULL, *pub = NULL, *metrics_addr = NULL, *migrate_to = NULL;
    int verbose = 0;
    long max_frame = 0, max_upload = 0;
    int retention_set = 0;
    static struct option lo[] = {
        {"dir", 1, 0, 'd'}, {"bind", 1, 0, 'b'}, {"pub", 1, 0, 'p'}, {"store", 1, 0, 'S'},
        {"curve-cert", 1, 0, 'K'}, {"allow", 1, 0, 'A'}, {"config", 1, 0, 'C'}, {"heartbeat", 1, 0, 'H'},
        {"lease", 1, 0, 'L'}, {"max-attempts", 1, 0, 'M'}, {"max-jobs", 1, 0, 'J'}, {"max-frame", 1, 0, 'F'}, {"max-upload", 1, 0, 'U'},
        {"retention-hours", 1, 0, 'R'}, {"metrics", 1, 0, 'm'}, {"migrate-to", 1, 0, 'T'},
        {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "d:b:p:C:vh", lo, NULL)) != -1) {
        switch (ch) {
        case 'd': o.dir = optarg; break;
        case 'b':
            if (o.nbinds == BD_MAX_BINDS) { fprintf(stderr, "beiand: at most %d --bind\n", BD_MAX_BINDS); return 1; }
            o.binds[o.nbinds++] = optarg;
            break;
        case 'p': pub = optarg; break;
        case 'S':
            if (!strncmp(optarg, "postgres://", 11) || !strncmp(optarg, "postgresql://", 13)) {
                o.store_url = optarg;
                break;
            }
            if (strcmp(optarg, "sqlite") && strcmp(optarg, "memory")) {
                fprintf(stderr, "beiand: --store sqlite|memory|postgres://…\n");
                return 1;
            }
            o.durable = strcmp(optarg, "sqlite") == 0;
            break;
        case 'K': o.curve_cert = optarg; break;
        case 'A': o.allow_dir = optarg; break;
        case 'C': config_path = optarg; break;
        case 'H': o.heartbeat_ms = atoi(optarg); break;
        case 'L': o.lease_ms = atoi(optarg); break;
        case 'M': o.max_attempts = atoi(optarg); break;
        case 'J': o.max_jobs = atoi(optarg); break;
        case 'F': max_frame = atol(optarg); break;
        case 'U': max_upload = atol(optarg); break;
        case 'R': o.retention_hours = atof(optarg); retention_set = 1; break;
        case 'm': metrics_addr = optarg; break;
        case 'T': migrate_to = optarg; break;
        case 'v': verbose = 1; break;
        case 'h': s_usage(); return 0;
        case 'V': bn_version_print(argv[0]); return 0;
        default: s_usage(); return 1;
        }
    }
    bn_log_init("beiand", verbose ? BN_LOG_DEBUG : BN_LOG_INFO);
    bn_config_t *cfg = bn_config_load(config_path);
    if (!cfg) {
        bn_error("%s: %s", bn_error_code(), bn_error_msg());
        return 1;
    }
    o.config = cfg;
    bn_config_warn_unknown(cfg);
    if (migrate_to) {
        bd_migrate_stats_t ms;
        int rc = bd_migrate(o.dir, migrate_to, cfg, &ms);
        if (rc < 0)
            bn_error("cannot migrate: %s: %s", bn_error_code(), bn_error_msg());
        else
            printf("{\"jobs\":%lld,\"unfinished\":%lld,\"tasks\":%lld,\"blobs\":%lld,\"refs\":%lld,\"bytes\":%llu,"
                   "\"deliveries\":%lld,\"pending_deliveries\":%lld,\"damaged\":%lld}\n", (long long)ms.jobs,
                   (long long)ms.unfinished, (long long)ms.tasks, (long long)ms.blobs, (long long)ms.refs,
                   (unsigned long long)ms.bytes, (long long)ms.deliveries, (long long)ms.pending, (long long)ms.damaged);
        bn_config_destroy(&cfg);
        return rc < 0 ? 1 : 0;
    }
    if (bn_config_bool(cfg, "job.allow_client_clock", 0))
        bn_warn("job.allow_client_clock is on: submitters may set options.now, the date age and expiry are judged by");
    /* Command-line options win over the configuration file. */
    if (!o.heartbeat_ms) o.heartbeat_ms = (int)bn_config_num(cfg, "broker.heartbeat_ms", 0);
    if (!o.lease_ms) o.lease_ms = (int)bn_config_num(cfg, "broker.lease_ms", 0);
    if (!o.max_attempts) o.max_attempts = (int)bn_config_num(cfg, "broker.max_attempts", 0);
    if (!o.max_jobs) o.max_jobs = (int)bn_config_num(cfg, "broker.max_jobs", 0);
    o.max_bytes = (size_t)bn_config_num(cfg, "broker.max_bytes", 0);
    o.max_queued_bytes = (size_t)bn_config_num(cfg, "broker.max_queued_bytes", 0);
    o.request_timeout_ms = (int)bn_config_num(cfg, "broker.request_timeout_ms", 0);
    if (!retention_set)
        o.retention_hours = bn_config_num(cfg, "broker.retention_hours", 720);
    if (!max_frame) max_frame = (long)bn_config_num(cfg, "broker.max_frame", BN_DEFAULT_MAX_FRAME);
    if (!max_upload) max_upload = (long)bn_config_num(cfg, "broker.max_upload", BN_DEFAULT_MAX_UPLOAD);
    /* The upload limit is the one that is answered: an image over it is received and refused
     * with upload_too_large. A frame over max_frame never reaches the broker (libzmq drops the
     * connection) and its sender waits for a timeout, so the frame cap must lie above the
     * upload limit, or the limit could never be told. */
    if (max_upload <= 0 || max_frame <= max_upload) {
        bn_error("config_invalid: broker.max_frame (%ld) must be larger than broker.max_upload (%ld), "
                 "or an over-size upload is dropped unanswered (docs/CONFIG.md)", max_frame, max_upload);
        bn_config_destroy(&cfg);
        return 1;
    }
    bn_zsock_set_max_frame((size_t)max_frame);
    o.max_upload = (size_t)max_upload;

    mkdir(o.dir, 0700); /* 0700: the ipc sockets inside are the local access control */
    struct stat dst;
    if (stat(o.dir, &dst) == 0 && S_ISDIR(dst.st_mode) && (dst.st_mode & 077)) {
        /* A pre-existing --dir open to group or others: tighten it, and say so. */
        if (chmod(o.dir, 0700) == 0)
            bn_warn("state dir %s was mode %04o: changed to 0700 (it holds the job database and images)",
                    o.dir, (unsigned)(dst.st_mode & 07777));
        else
            bn_warn("state dir %s is mode %04o and cannot be changed to 0700: %s", o.dir,
                    (unsigned)(dst.st_mode & 07777), strerror(errno));
    }
    char local[4200], events[4200];
    if (o.nbinds == 0) {
        snprintf(local, sizeof local, "ipc://%s/beiand.sock", o.dir);
        o.binds[o.nbinds++] = local;
    }
    if (!pub) {
        snprintf(events, sizeof events, "ipc://%s/events.sock", o.dir);
        pub = events;
    }
    o.pub = strcmp(pub, "none") == 0 ? NULL : pub;

    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    bd_broker_t *broker = bd_broker_new(&o);
    if (!broker) {
        bn_error("cannot start: %s: %s", bn_error_code(), bn_error_msg());
        bn_config_destroy(&cfg);
        return 1;
    }
    for (int i = 0; i < o.nbinds; i++)
        bn_info("serving %s (%s store)", o.binds[i], o.store_url ? "postgresql" : o.durable ? "sqlite" : "memory");
    if (o.pub)
        bn_info("announcing finished jobs on %s", o.pub);
    /* The metrics endpoint asks the broker over its first ipc endpoint, like any client. */
    bd_metrics_t *metrics = NULL;
    if (metrics_addr) {
        const char *ep = NULL;
        for (int i = 0; i < o.nbinds && !ep; i++)
            if (strncmp(o.binds[i], "ipc://", 6) == 0)
                ep = o.binds[i];
        if (!ep)
            bn_error_set("config_invalid", "--metrics needs an ipc:// --bind to ask the broker over");
        if (!ep || !(metrics = bd_metrics_new(metrics_addr, ep))) {
            bn_error("cannot start: %s: %s", bn_error_code(), bn_error_msg());
            bd_broker_destroy(&broker);
            bn_config_destroy(&cfg);
            return 1;
        }
        bn_info("metrics on http://%s/metrics", metrics_addr);
    }
#ifdef BEIAN_MIMALLOC
    bn_debug("allocator: mimalloc %d", mi_version()); /* also keeps the library linked */
#endif
    bd_broker_run(broker, &s_stop);
    bn_info("stopping");
    bd_metrics_destroy(&metrics);
    bd_broker_destroy(&broker);
    bn_config_destroy(&cfg);
    return 0;
}
