/* bench_gateway — a 3 MB application submitted through beian-gateway (HTTP) and through the CLI,
 * side by side against one broker (issue #14: the gateway may cost at most 1.2x the CLI).
 *
 *   cli     `beian submit --doc id-card:front=F --doc id-card:back=B`: what an operator or a
 *           script runs, from process start to exit after the broker's acknowledgement
 *   http    POST /v1/applications, multipart, a new connection per application, until the 202:
 *           what a portal does (the client here is plain sockets, costing next to nothing)
 *   api     beian.submit through the client API in-process: the CLI without its process start,
 *           the floor both are measured against
 *
 * The broker is `beiand --store memory` with no-op workers (tests/tw_worker, TW_NOOP) draining
 * every job, so the rounds measure submission, not the stages. The three are interleaved, one
 * application each in turn, and the median of each is reported: the 2-core VM is noisy.
 * The application: two documents of 1.5 MB of random bytes (the stages never see them). */
#include "bn_bench.h"
#include "core/bn_msg.h"

#include <arpa/inet.h>
#include <beian/client.h>
#include <beian/proto.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define HALF (1536 * 1024)
#define ROUNDS 30

static char s_bin[PATH_MAX], s_dir[256];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t spawn(char *const argv[], int quiet_stdout)
{
    pid_t p = fork();
    if (p == 0) {
        setenv("TW_NOOP", "1", 1);
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        if (quiet_stdout)
            dup2(fd, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One POST; returns 0 on a 202. */
static int http_submit(int port, const char *token, const char *head, size_t head_len, const char *mid,
                       size_t mid_len, const char *tail, size_t tail_len, const char *a, const char *b)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char hdr[512];
    size_t body = head_len + HALF + mid_len + HALF + tail_len;
    int hl = snprintf(hdr, sizeof hdr, "POST /v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       "Authorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=BNBENCH\r\n"
                                       "Content-Length: %zu\r\nConnection: close\r\n\r\n", token, body);
    struct iovec iov[] = {{hdr, (size_t)hl}, {(void *)head, head_len}, {(void *)a, HALF}, {(void *)mid, mid_len},
                          {(void *)b, HALF}, {(void *)tail, tail_len}};
    struct iovec *v = iov;
    int n = 6;
    while (n > 0) {
        ssize_t w = writev(fd, v, n);
        if (w < 0) {
            close(fd);
            return -1;
        }
        while (n > 0 && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    char resp[2048];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof resp - 1 && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    close(fd);
    return strncmp(resp, "HTTP/1.1 202", 12) == 0 ? 0 : -1;
}

static int api_submit(bn_client_t *c, const char *a, const char *b)
{
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    bn_msg_addstr(req, "{\"documents\":[{\"type\":\"id-card\",\"side\":\"front\",\"blob\":1},"
                       "{\"type\":\"id-card\",\"side\":\"back\",\"blob\":2}],\"options\":{}}");
    bn_msg_addzc(req, (void *)a, HALF, NULL, NULL);
    bn_msg_addzc(req, (void *)b, HALF, NULL, NULL);
    int rc = bn_client_call(c, BN_SVC_SUBMIT, &req, &rep, 30000) == 0 && bn_msg_streq(rep, 0, BN_ST_OK) ? 0 : -1;
    bn_msg_destroy(&rep);
    return rc;
}

static int cli_submit(const char *ep, const char *fa, const char *fb)
{
    char beian[PATH_MAX + 8], da[420], db[420];
    snprintf(beian, sizeof beian, "%s/beian", s_bin);
    snprintf(da, sizeof da, "id-card:front=%s", fa);
    snprintf(db, sizeof db, "id-card:back=%s", fb);
    char *argv[] = {beian, "--endpoint", (char *)ep, "submit", "--doc", da, "--doc", db, NULL};
    int st;
    pid_t p = spawn(argv, 1);
    return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    snprintf(s_bin, sizeof s_bin, "%s", dirname(strdup(argv[0])));
    snprintf(s_dir, sizeof s_dir, "/tmp/bench_gateway.%d", (int)getpid());
    mkdir(s_dir, 0700);
    char *a = malloc(HALF), *b = malloc(HALF);
    srand(1);
    for (size_t i = 0; i < HALF; i++) {
        a[i] = (char)rand();
        b[i] = (char)rand();
    }
    char fa[400], fb[400], tokens[400], ep[400], sock[400], beiand[PATH_MAX + 8], tw[PATH_MAX + 16],
        gwbin[PATH_MAX + 16];
    snprintf(fa, sizeof fa, "%s/front.jpg", s_dir);
    snprintf(fb, sizeof fb, "%s/back.jpg", s_dir);
    write_file(fa, a, HALF);
    write_file(fb, b, HALF);
    snprintf(tokens, sizeof tokens, "%s/gateway.tokens", s_dir);
    snprintf(ep, sizeof ep, "ipc://%s/beiand.sock", s_dir);
    snprintf(sock, sizeof sock, "%s/beiand.sock", s_dir);
    snprintf(beiand, sizeof beiand, "%s/beiand", s_bin);
    snprintf(tw, sizeof tw, "%s/tw_worker", s_bin);
    snprintf(gwbin, sizeof gwbin, "%s/beian-gateway", s_bin);

    char *bargs[] = {beiand, "--dir", s_dir, "--store", "memory", "--pub", "none", NULL};
    pid_t pids[5];
    int np = 0;
    pids[np++] = spawn(bargs, 0);
    for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
        usleep(20000);
    const char *svcs[] = {BN_SVC_QUALITY, BN_SVC_OCR, BN_SVC_FACE};
    for (int i = 0; i < 3; i++) {
        char *wargs[] = {tw, "--connect", ep, "--service", (char *)svcs[i], "--no-supervise", NULL};
        pids[np++] = spawn(wargs, 0);
    }
    char cmd[PATH_MAX * 2], token[80] = "";
    snprintf(cmd, sizeof cmd, "%s --tokens %s --add-token --tenant bench 2>/dev/null", gwbin, tokens);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(token, sizeof token, p)) {
        fprintf(stderr, "bench_gateway: no token\n");
        return 1;
    }
    pclose(p);
    token[strcspn(token, "\n")] = '\0';
    int port = 18000 + getpid() % 20000;
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *gargs[] = {gwbin, "--endpoint", ep, "--tokens", tokens, "--listen", listen, NULL};
    pid_t gw = pids[np++] = spawn(gargs, 1);
    usleep(300000);

    static const char head[] = "--BNBENCH\r\nContent-Disposition: form-data; name=\"id-card:front\"; filename=\"f.jpg\"\r\n"
                               "Content-Type: image/jpeg\r\n\r\n";
    static const char mid[] = "\r\n--BNBENCH\r\nContent-Disposition: form-data; name=\"id-card:back\"; filename=\"b.jpg\"\r\n"
                              "Content-Type: image/jpeg\r\n\r\n";
    static const char tail[] = "\r\n--BNBENCH--\r\n";
    bn_client_t *c = bn_client_new(ep);
    double t_cli[ROUNDS], t_http[ROUNDS], t_api[ROUNDS];
    double gw0 = bn_bench_proc_cpu(gw);
    int bad = 0;
    for (int i = -2; i < ROUNDS; i++) { /* two warm-up rounds */
        double t0 = now();
        bad |= cli_submit(ep, fa, fb);
        double t1 = now();
        bad |= http_submit(port, token, head, sizeof head - 1, mid, sizeof mid - 1, tail, sizeof tail - 1, a, b);
        double t2 = now();
        bad |= api_submit(c, a, b);
        double t3 = now();
        if (i == -1)
            gw0 = bn_bench_proc_cpu(gw);
        if (i >= 0) {
            t_cli[i] = t1 - t0;
            t_http[i] = t2 - t1;
            t_api[i] = t3 - t2;
        }
    }
    double gw_cpu = (bn_bench_proc_cpu(gw) - gw0) / ROUNDS;
    bn_client_destroy(&c);
    for (int i = np - 1; i >= 0; i--) {
        kill(pids[i], SIGTERM);
        waitpid(pids[i], NULL, 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    if (system(cmd) != 0) {}
    if (bad) {
        fprintf(stderr, "bench_gateway: a submission failed\n");
        return 1;
    }
    double cli = median(t_cli, ROUNDS), http = median(t_http, ROUNDS), api = median(t_api, ROUNDS);
    printf("a 3 MB application (2 x 1.5 MB), %d each, interleaved, median ms per application:\n", ROUNDS);
    printf("  cli   (beian submit, process)   %7.2f ms\n", cli * 1e3);
    printf("  http  (beian-gateway, POST)     %7.2f ms   gateway CPU %.2f ms per application\n", http * 1e3, gw_cpu * 1e3);
    printf("  api   (client API, in-process)  %7.2f ms\n", api * 1e3);
    printf("http / cli = %.2fx (target <= 1.2x); http / api = %.2fx\n", http / cli, http / api);
    return 0;
}
