/* bn_facenet — the face models behind OpenCV DNN, seen from C.
 *
 * The only C++ in the face stage (bn_facenet.cpp); everything here is plain C. Models are loaded
 * once per process (first call wins) from configuration:
 *   face.models_dir        directory of the model files; $BEIAN_MODELS overrides it; default
 *                          BEIAN_SOURCE_DIR "/models"
 *   face.detector          "ultraface" (fr_detect.onnx + fr_landmark.onnx, default) | "yunet"
 *   face.recognizer        "mobilefacenet" (fr_feature.onnx, 512-d, default) | "sface" (128-d)
 *   face.files.detector / .landmark / .recognizer / .liveness   file names inside models_dir
 *   face.detect_threshold  detector score to keep a box (default 0.7)
 * Pixel data of faces (crops, aligned images, embeddings) lives in memory only and is zeroed
 * before it is released. Calls are serialised by one process-wide lock: cv::dnn::Net is not
 * re-entrant, and a worker runs one task at a time anyway. */
#ifndef BN_FACENET_H
#define BN_FACENET_H
#ifdef __cplusplus
extern "C" {  /* the core headers are C without guards of their own */
#endif
#include "core/bn_config.h"
#include "img/bn_image.h"

#define BN_FACE_EMB_MAX 512

typedef struct {
    float x, y, w, h;      /* box in image pixels */
    float confidence;      /* detector score 0..1 */
    float pts[5][2];       /* image-left eye, image-right eye, nose tip, image-left mouth corner,
                              image-right mouth corner */
    int has_pts;           /* pts valid (filled by bn_facenet_landmarks or by YuNet) */
    /* quality measures, filled by bn_facenet_quality */
    float size;            /* min(w, h) in pixels */
    float eye_dist;        /* inter-ocular distance in pixels */
    float brightness;      /* mean grey of the inner face, 0..255 */
    float sharpness;       /* variance of the Laplacian of the aligned 112×112 grey face */
    float yaw;             /* signed left/right turn estimate, -1..1 (0 = frontal) */
    float frontal;         /* 1 - |yaw| */
    float roll_deg;        /* in-plane tilt of the eye line, degrees */
} bn_face_box_t;

typedef struct bn_facenet bn_facenet_t;

/* The process-wide models, loaded on first use from cfg (NULL = defaults). NULL with bn_error
 * set to face_models_missing (a file is absent: run scripts/fetch-models.sh) or face_model_error
 * (OpenCV could not load it). */
bn_facenet_t *bn_facenet_get(const bn_config_t *cfg);
/* Resolved path of the model directory the process uses (for messages and tests). */
const char *bn_facenet_models_dir(const bn_config_t *cfg, char *buf, size_t size);
/* 1 when every file the configured chain needs exists (cheap; no loading). */
int bn_facenet_available(const bn_config_t *cfg);

/* Detect faces in img (RGB or grey). Large images are searched at a second, finer scale in
 * overlapping tiles when the whole-image pass finds nothing, so small document portraits are
 * found. Writes up to max faces sorted by area, largest first; returns the count or -1. Landmarks
 * and quality are filled for every face returned. */
int bn_facenet_detect(bn_facenet_t *fn, const bn_image_t *img, bn_face_box_t *faces, int max);

/* The face aligned for the recogniser: 5-point similarity transform onto ArcFace's template,
 * 112×112 RGB written to out (112*112*3 bytes). 0 or -1. */
#define BN_FACE_ALIGNED_BYTES (112 * 112 * 3)
int bn_facenet_align(bn_facenet_t *fn, const bn_image_t *img, const bn_face_box_t *face, uint8_t *out);

/* Embedding of an aligned face; mirrored = 1 embeds its horizontal mirror image (test-time
 * augmentation). Writes an L2-normalised vector into emb (BN_FACE_EMB_MAX floats); returns its
 * length or -1. */
int bn_facenet_embed(bn_facenet_t *fn, const uint8_t *aligned_rgb, int mirrored, float *emb);

/* Probability that the face is a live capture (anti-spoof model; advisory). -1 when no liveness
 * model is configured or available. */
double bn_facenet_liveness(bn_facenet_t *fn, const bn_image_t *img, const bn_face_box_t *face);

/* Cosine similarity of two L2-normalised vectors. */
double bn_facenet_cosine(const float *a, const float *b, int n);

/* Pin OpenCV to n threads (bench/eval on one core). */
void bn_facenet_set_threads(int n);

#ifdef __cplusplus
}
#endif
#endif
