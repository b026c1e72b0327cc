/* The worker runtime's task codec: a well-formed REQUEST body becomes a bn_task_t, every
 * malformed one a bad_task error (never a crash); replies encode results, blobs and errors. */
#include "bn_test.h"
#include "core/bn_error.h"
#include "core/bn_sha256.h"
#include "core/bn_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int decode(const char *header, int frames)
{
    bn_msg_t *m = bn_msg_new();
    if (header)
        bn_msg_addstr(m, header);
    for (int i = 1; i < frames; i++)
        bn_msg_addstr(m, i == 1 ? "IMAGE" : "SELFIE");
    bn_task_t t;
    json_t *h;
    int rc = bn_worker_decode_task(m, NULL, &t, &h);
    if (rc == 0) {
        CHECK(t.image_size == 5 && !memcmp(t.image, "IMAGE", 5), "image frame");
        CHECK(frames < 3 || (t.selfie_size == 6 && !memcmp(t.selfie, "SELFIE", 6)), "selfie frame");
    } else {
        CHECK(!strcmp(bn_error_code(), "bad_task"), "bad_task code");
    }
    json_decref(h);
    bn_msg_destroy(&m);
    return rc == 0;
}

int main(void)
{
    const char *good = "{\"stage\":\"quality\",\"document\":{\"type\":\"id-card\",\"side\":\"front\"},"
                       "\"form\":{\"name\":\"x\"},\"options\":{},\"hints\":{\"quality\":{}}}";
    CHECK(decode(good, 2), "good task");
    CHECK(decode(good, 3), "good task with selfie");
    CHECK(!decode(good, 1), "no image frame");
    {
        /* The broker sends the quality task's whole reply as the hint; the stage sees its result. */
        bn_msg_t *m = bn_msg_new();
        bn_msg_addstr(m, "{\"stage\":\"ocr\",\"document\":{\"type\":\"id-card\",\"side\":\"front\"},"
                         "\"hints\":{\"quality\":{\"ok\":true,\"result\":{\"geometry\":{\"found\":true}}}}}");
        bn_msg_addstr(m, "IMAGE");
        bn_task_t t;
        json_t *h;
        CHECK(bn_worker_decode_task(m, NULL, &t, &h) == 0
              && json_is_true(json_object_get(json_object_get(json_object_get(t.hints, "quality"), "geometry"), "found")),
              "hints.quality is unwrapped to the quality result");
        json_decref(h);
        bn_msg_destroy(&m);
    }
    {
        /* frame_refs: the payload is read from a file at an offset, not from the empty frame. */
        char path[64];
        snprintf(path, sizeof path, "/tmp/test_core_worker.%d", (int)getpid());
        FILE *f = fopen(path, "wb");
        static char page[4096];
        fwrite(page, 1, sizeof page, f);
        fputs("MAPPED", f);
        fclose(f);
        char hdr[512];
        const char *fmts[] = {"[{\"bytes\":6,\"offset\":4096,\"paths\":[\"/nonexistent\",\"%s\"]}]",
                              "[{\"bytes\":6,\"offset\":4096,\"paths\":[\"/nonexistent\"]}]",
                              "[{\"bytes\":6,\"offset\":100,\"paths\":[\"%s\"]}]",
                              "[{\"bytes\":99999,\"offset\":0,\"paths\":[\"%s\"]}]"};
        const char *want[] = {NULL, "blob_unreachable", "bad_task", "blob_unreachable"};
        for (int k = 0; k < 4; k++) {
            char refs[300];
            snprintf(refs, sizeof refs, fmts[k], path);
            snprintf(hdr, sizeof hdr, "{\"stage\":\"quality\",\"document\":{\"type\":\"passport\",\"side\":\"front\"},"
                                      "\"frame_refs\":%s}", refs);
            bn_msg_t *m = bn_msg_new();
            bn_msg_addstr(m, hdr);
            bn_msg_addmem(m, "", 0);
            bn_task_t t;
            json_t *h;
            bn_worker_maps_t maps = {0};
            int rc = bn_worker_decode_task(m, NULL, &t, &h) == 0 ? bn_worker_map_refs(h, &t, &maps) : -2;
            if (!want[k])
                CHECK(rc == 0 && t.image_size == 6 && !memcmp(t.image, "MAPPED", 6),
                      "a referenced payload is mapped from the first path that opens, at its offset");
            else
                CHECK(rc == -1 && !strcmp(bn_error_code(), want[k]), want[k]);
            if (rc == 0)
                bn_worker_unmap_refs(&maps);
            CHECK(maps.addr[0] == NULL, "nothing stays mapped");
            json_decref(h);
            bn_msg_destroy(&m);
        }
        unlink(path);
    }
    {
        /* A spool file's reference carries its content address: the worker checks what it read
         * (issue #11, bug 4) and never runs a stage on a damaged file. */
        char path[64], sha[65], other[65];
        snprintf(path, sizeof path, "/tmp/test_core_worker.spool.%d", (int)getpid());
        FILE *f = fopen(path, "wb");
        fputs("SPOOLED", f);
        fclose(f);
        bn_sha256_hex("SPOOLED", 7, sha);
        bn_sha256_hex("SPOOLEE", 7, other);
        struct { const char *sha; int bytes; const char *want; const char *what; } cases[] = {
            {sha, 7, NULL, "a spool file that matches its sha256 is mapped"},
            {other, 7, "store_corrupt", "one whose bytes do not hash to the name is store_corrupt"},
            {sha, 6, "store_corrupt", "one longer than the blob (a spool file holds exactly it) is store_corrupt"},
            {sha, 8, "store_corrupt", "one shorter (truncated) is store_corrupt"},
        };
        for (int k = 0; k < 5; k++) {
            char hdr[512];
            snprintf(hdr, sizeof hdr, "{\"stage\":\"quality\",\"document\":{\"type\":\"passport\",\"side\":\"front\"},"
                     "\"frame_refs\":[{\"bytes\":%d,\"offset\":0,\"sha256\":\"%s\",\"paths\":[\"%s\"]}]}",
                     k < 4 ? cases[k].bytes : 7, sha, k < 4 ? path : "/nonexistent");
            if (k < 4)
                memcpy(strstr(hdr, sha), cases[k].sha, 64);
            bn_msg_t *m = bn_msg_new();
            bn_msg_addstr(m, hdr);
            bn_msg_addmem(m, "", 0);
            bn_task_t t;
            json_t *h;
            bn_worker_maps_t maps = {0};
            bn_error_clear();
            int rc = bn_worker_decode_task(m, NULL, &t, &h) == 0 ? bn_worker_map_refs(h, &t, &maps) : -2;
            if (k == 0)
                CHECK(rc == 0 && t.image_size == 7 && !memcmp(t.image, "SPOOLED", 7), "%s", cases[k].what);
            else if (k < 4)
                CHECK(rc == -1 && !strcmp(bn_error_code(), cases[k].want), "%s (got %s)", cases[k].what, bn_error_code());
            else
                CHECK(rc == -1 && !strcmp(bn_error_code(), "blob_unreachable"), "a file that cannot be opened stays blob_unreachable");
            if (rc == 0)
                bn_worker_unmap_refs(&maps);
            CHECK(maps.addr[0] == NULL, "nothing stays mapped");
            json_decref(h);
            bn_msg_destroy(&m);
        }
        unlink(path);
    }
    CHECK(!decode(NULL, 0), "empty body");
    CHECK(!decode("not json", 2), "header not JSON");
    CHECK(!decode("[1]", 2), "header not an object");
    CHECK(!decode("{\"stage\":\"ocr\"}", 2), "no document");
    CHECK(!decode("{\"stage\":1,\"document\":{\"type\":\"id-card\",\"side\":\"front\"}}", 2), "stage not a string");

    /* Reply encoding. */
    bn_stage_result_t r = {0};
    r.json = json_pack("{s:[]}", "flags");
    char *blob = malloc(3);
    memcpy(blob, "JPG", 3);
    bn_stage_result_add_blob(&r, "prepared", "image/jpeg", blob, 3);
    bn_msg_t *m = bn_worker_encode_reply(0, &r);
    json_t *j = json_loadb(bn_msg_data(m, 0), bn_msg_len(m, 0), 0, NULL);
    CHECK(json_is_true(json_object_get(j, "ok")) && json_object_get(j, "result"), "ok reply");
    CHECK(!strcmp(json_string_value(json_array_get(json_object_get(j, "blobs"), 0)), "prepared"), "blob named");
    CHECK(bn_msg_size(m) == 2 && bn_msg_len(m, 1) == 3 && !memcmp(bn_msg_data(m, 1), "JPG", 3), "blob frame follows");
    json_decref(j);
    bn_msg_destroy(&m);
    bn_stage_result_clear(&r);

    bn_stage_result_t e = {0};
    bn_error_set("not_implemented", "later");
    m = bn_worker_encode_reply(-1, &e);
    j = json_loadb(bn_msg_data(m, 0), bn_msg_len(m, 0), 0, NULL);
    CHECK(json_is_false(json_object_get(j, "ok"))
          && !strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "not_implemented"),
          "error reply carries the stage's code");
    json_decref(j);
    bn_msg_destroy(&m);
    /* A stage that returns 0 without a result is an internal error, not a success. */
    m = bn_worker_encode_reply(0, &e);
    j = json_loadb(bn_msg_data(m, 0), bn_msg_len(m, 0), 0, NULL);
    CHECK(json_is_false(json_object_get(j, "ok")), "no result → error reply");
    json_decref(j);
    bn_msg_destroy(&m);
    return bn_test_end("test_core_worker");
}
