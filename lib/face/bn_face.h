/* bn_face — the face stage's pure core (see core/bn_stage.h).
 *
 * bn_face_run compares the portrait on the document (task->image) with the live selfie
 * (task->selfie) and returns the face block (docs/FACE.md):
 *   {"score", "threshold", "match", "document_face": {...}, "selfie_face": {...}, "flags": [...],
 *    "liveness": {"score", "advisory": true}}
 * Faces, crops and embeddings stay in memory for the task and are zeroed before release; only
 * the score and flags leave the stage. */
#ifndef BN_FACE_H
#define BN_FACE_H
#include "core/bn_stage.h"
#include "face/bn_facenet.h"
#include "img/bn_docfind.h"
#include "img/bn_image.h"

int bn_face_run(const bn_task_t *task, bn_stage_result_t *out);

/* `beian eval face DIR ...`: accuracy over a directory with ground truth; prints a report,
 * returns a process exit code. */
int bn_face_eval_main(int argc, char **argv);

/* ---- building blocks, shared by the stage, the evaluation, tests and the benchmark ---- */

typedef enum { BN_FACE_SELFIE = 0, BN_FACE_DOCUMENT = 1 } bn_face_role_t;

/* The face of one image, ready to compare. Holds the aligned face and its embeddings: clear it
 * with bn_face_probe_clear (which zeroes it). */
typedef struct {
    int found;              /* a face was found and embedded */
    int count;              /* faces counted (selfie: faces of comparable size; document: all) */
    bn_face_box_t face;     /* the face compared (largest), in the frame named by `frame` */
    char frame[16];         /* "image" (decoded upload) | "document" (rectified) | "portrait"
                               (portrait zone of the rectified document) */
    int dim;
    float emb[BN_FACE_EMB_MAX];
    int has_mirror;         /* mirror[] holds the embedding of the mirrored face */
    float mirror[BN_FACE_EMB_MAX];
    uint8_t aligned[BN_FACE_ALIGNED_BYTES]; /* 112×112 RGB, for the mirrored embedding */
} bn_face_probe_t;

/* Find and embed the face of a decoded image. A document is searched in the portrait zone of
 * the rectified card (data/layouts.json, "<doc_type>:<side>"), then the whole image, then the
 * whole rectified card. Returns 0 (probe->found may be 0) or -1 with bn_error set (models
 * missing or failing). */
int bn_face_probe(const bn_config_t *cfg, const bn_image_t *img, bn_face_role_t role,
                  const char *doc_type, const char *doc_side, bn_face_probe_t *probe);
/* The same with the document already found (the quality stage's geometry, in img's pixel
 * coordinates), so it is not searched again; geom NULL or not found = search. */
int bn_face_probe_document(const bn_config_t *cfg, const bn_image_t *img, const char *doc_type,
                           const char *doc_side, const bn_docgeom_t *geom, bn_face_probe_t *probe);
/* Compute the mirrored embedding (once). 0 or -1. */
int bn_face_probe_mirror(const bn_config_t *cfg, bn_face_probe_t *probe);
void bn_face_probe_clear(bn_face_probe_t *probe);

/* Similarity of two found faces, -1..1. Close to the threshold (within face.flip_margin) and with
 * face.flip_tta on, the score is that of the summed plain + mirrored embeddings, which separates
 * people better; far from it the plain score already decides and the second pass is skipped.
 * *mirrored (may be NULL) tells which. NAN on error. */
double bn_face_compare(const bn_config_t *cfg, bn_face_probe_t *a, bn_face_probe_t *b, int *mirrored);

/* Decode untrusted bytes for the face stage (bn_image_decode with the stage's limits). */
bn_image_t *bn_face_decode(const uint8_t *data, size_t size, int long_side);
/* Zero the pixels (they show a face) and destroy the image. */
void bn_face_image_wipe(bn_image_t **img_p);

#endif
