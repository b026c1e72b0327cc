/* Different people do not match, the same people do, on the development photos in
 * ../shared/data/faces (not part of the project; the test skips with 77 when they are absent)
 * plus Grace Hopper's public-domain portrait from the Debian package facedetect. */
#include "bn_test.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "face/bn_face.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HOPPER "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"


static char s_root[1024];
static bn_config_t *s_cfg;

static uint8_t *data_file(const char *rel, size_t *size)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", rel[0] == '/' ? "" : s_root, rel);
    return bn_test_read(path, size);
}

static json_t *run(const char *doc, const char *doc_type, const char *selfie)
{
    size_t dn = 0, sn = 0;
    uint8_t *d = data_file(doc, &dn), *s = data_file(selfie, &sn);
    json_t *j = NULL;
    if (d && s) {
        bn_task_t t = {0};
        t.stage = "face", t.doc_type = doc_type, t.doc_side = "front";
        t.image = d, t.image_size = dn, t.selfie = s, t.selfie_size = sn, t.config = s_cfg;
        bn_stage_result_t r;
        if (bn_face_run(&t, &r) == 0) {
            j = json_incref(r.json);
            bn_stage_result_clear(&r);
        } else {
            fprintf(stderr, "%s vs %s: %s\n", doc, selfie, bn_error_msg());
        }
    } else {
        fprintf(stderr, "cannot read %s or %s\n", doc, selfie);
    }
    free(d);
    free(s);
    if (j)
        printf("%-44s vs %-40s score %.4f match %d flags %zu\n", doc, selfie,
               json_number_value(json_object_get(j, "score")), json_is_true(json_object_get(j, "match")),
               json_array_size(json_object_get(j, "flags")));
    return j;
}

static int has_flag(const json_t *res, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(res, "flags"), i, f)
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
            return 1;
    return 0;
}

static void expect(const char *doc, const char *doc_type, const char *selfie, int same)
{
    json_t *r = run(doc, doc_type, selfie);
    CHECK(r && json_is_true(json_object_get(r, "match")) == same, "%s vs %s should %smatch", doc, selfie,
          same ? "" : "not ");
    CHECK(r && has_flag(r, "face_mismatch") == !same, "face_mismatch flag");
    json_decref(r);
}

int main(void)
{
    const char *src = getenv("BEIAN_SRC") ? getenv("BEIAN_SRC") : BEIAN_SOURCE_DIR;
    struct stat st;
    snprintf(s_root, sizeof s_root, "%s/../shared/data/faces", src);
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/identities.csv", s_root);
    if (stat(probe, &st) != 0) {
        printf("SKIP: development photos (../shared/data/faces) are not here\n");
        return 77;
    }
    s_cfg = bn_config_from_json(NULL);
    if (!bn_facenet_available(s_cfg)) {
        printf("SKIP: face models missing (run scripts/fetch-models.sh)\n");
        return 77;
    }
    bn_facenet_set_threads(1);

    /* Same people (identities.csv): two photos each. */
    expect("deepface/img1.jpg", "passport", "deepface/img2.jpg", 1);
    expect("face_recognition/obama.jpg", "passport", "face_recognition/obama2.jpg", 1);
    expect("face_recognition/biden.jpg", "passport", "face_recognition/knn_examples__train__biden__biden2.jpg", 1);
    /* Different people, including two public figures often photographed together. */
    expect("deepface/img1.jpg", "passport", "deepface/img12.jpg", 0);
    expect("face_recognition/obama.jpg", "passport", "face_recognition/biden.jpg", 0);
    expect(HOPPER, "passport", "deepface/img1.jpg", 0);
    expect(HOPPER, "passport", "face_recognition/obama.jpg", 0);
    /* Document-style portraits (colour and grey) against photos. */
    expect("synthetic_docs/fr_obama__gray.jpg", "id-card", "face_recognition/obama-720p.jpg", 1);
    expect("synthetic_docs/fr_obama__color.jpg", "id-card", "face_recognition/obama2.jpg", 1);
    expect("synthetic_docs/fr_obama__color.jpg", "id-card", "face_recognition/biden.jpg", 0);
    expect("synthetic_docs/fr_biden__gray.jpg", "id-card", "face_recognition/obama.jpg", 0);
    /* Real group photos. */
    json_t *r = run("deepface/img1.jpg", "passport", "face_recognition/two_people.jpg");
    CHECK(r && has_flag(r, "multiple_faces"), "two_people.jpg: multiple_faces");
    json_decref(r);
    r = run("deepface/img1.jpg", "passport", "deepface/couple.jpg");
    CHECK(r && has_flag(r, "multiple_faces"), "couple.jpg: multiple_faces");
    json_decref(r);

    /* A face turned well away from the camera, and a frontal one. */
    r = run("face_recognition/knn_examples__train__kit_harington__john1.jpeg", "passport",
            "face_recognition/knn_examples__train__kit_harington__john2.jpeg");
    CHECK(r && has_flag(r, "face_not_frontal"), "turned face: face_not_frontal");
    json_decref(r);
    r = run("face_recognition/obama2.jpg", "passport", "face_recognition/obama.jpg");
    CHECK(r && !has_flag(r, "face_not_frontal") && json_array_size(json_object_get(r, "flags")) == 0,
          "frontal face: no flag");
    json_decref(r);

    bn_config_destroy(&s_cfg);
    return bn_test_end("test_face_people");
}
