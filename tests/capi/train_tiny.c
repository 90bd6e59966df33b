/* The C API end to end, from plain C: a generated header, a shared (or static) library, a few training
 * steps on separable synthetic data, and every kind of bad argument. Exit status 0 when all checks pass. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tiny.h"

#define BATCH 32
static int failures = 0;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL line %d: %s: ", __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
      failures++;                                          \
    }                                                      \
  } while (0)

/* Points in 4-D whose class is the largest of three fixed projections: learnable by softmax regression. */
static void make_batch(unsigned seed, float* x, int32_t* y) {
  unsigned s = seed * 2654435761u + 1;
  for (int i = 0; i < BATCH; ++i) {
    float score[3] = {0, 0, 0};
    for (int j = 0; j < 4; ++j) {
      s = s * 1664525u + 1013904223u;
      x[i * 4 + j] = (float)((s >> 8) & 0xffff) / 65535.0f * 2.0f - 1.0f;
    }
    score[0] = x[i * 4 + 0] + x[i * 4 + 1];
    score[1] = x[i * 4 + 2] - x[i * 4 + 0];
    score[2] = x[i * 4 + 3] - x[i * 4 + 1];
    y[i] = score[0] > score[1] ? (score[0] > score[2] ? 0 : 2) : (score[1] > score[2] ? 1 : 2);
  }
}

static float accuracy(sinter_instance* m, const float* x, const int32_t* y) {
  float probs[BATCH * 3], loss = 0;
  if (Tiny_forward(m, BATCH, x, y, probs, &loss) != SINTER_OK) return -1;
  int right = 0;
  for (int i = 0; i < BATCH; ++i) {
    int best = 0;
    for (int c = 1; c < 3; ++c)
      if (probs[i * 3 + c] > probs[i * 3 + best]) best = c;
    right += best == y[i];
  }
  return (float)right / BATCH;
}

int main(int argc, char** argv) {
  const char* weights = argc > 1 ? argv[1] : "tiny.safetensors";
  float x[BATCH * 4], probs[BATCH * 3], loss = 0, first = 0, last = 0;
  int32_t y[BATCH];

  sinter_instance* m = Tiny_create(7);
  CHECK(m != NULL, "create failed");
  if (!m) return 1;
  CHECK(sinter_model.num_params == Tiny_NUM_PARAMS, "%d params", sinter_model.num_params);

  /* Training lowers the loss and learns the rule. */
  for (int step = 0; step < 300; ++step) {
    make_batch((unsigned)step, x, y);
    CHECK(Tiny_train_step(m, BATCH, x, y, &loss) == SINTER_OK, "%s", sinter_last_error(m));
    if (step == 0) first = loss;
    last = loss;
  }
  make_batch(1000, x, y);
  float acc = accuracy(m, x, y);
  printf("loss %.4f -> %.4f, held-out accuracy %.2f\n", first, last, acc);
  CHECK(last < 0.5f * first, "loss %f -> %f", first, last);
  CHECK(acc >= 0.9f, "accuracy %f", acc);

  /* Forward gives probabilities. */
  CHECK(Tiny_forward(m, BATCH, x, y, probs, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  for (int i = 0; i < BATCH; ++i) {
    float sum = probs[i * 3] + probs[i * 3 + 1] + probs[i * 3 + 2];
    CHECK(fabsf(sum - 1.0f) < 1e-5f, "row %d sums to %f", i, sum);
  }

  /* Bad arguments are errors with a message, not crashes. */
  CHECK(Tiny_forward(m, 0, x, y, probs, &loss) == SINTER_ERROR_ARGUMENT, "batch 0 accepted");
  CHECK(strstr(sinter_last_error(m), "batch") != NULL, "message: %s", sinter_last_error(m));
  CHECK(Tiny_forward(m, BATCH, NULL, y, probs, &loss) == SINTER_ERROR_ARGUMENT, "NULL input accepted");
  CHECK(strstr(sinter_last_error(m), "'x'") != NULL, "message: %s", sinter_last_error(m));
  CHECK(sinter_forward(m, BATCH, NULL, NULL) == SINTER_ERROR_ARGUMENT, "NULL arrays accepted");
  CHECK(sinter_forward(NULL, BATCH, NULL, NULL) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(sinter_param_data(m, 99) == NULL, "param 99 exists");
  CHECK(sinter_load_weights(m, "/nonexistent/tiny.safetensors") != SINTER_OK, "loading a missing file succeeded");
  CHECK(strlen(sinter_last_error(m)) > 0, "no message for a missing file");
  CHECK(sinter_create(NULL, 1) == NULL, "create(NULL) gave an instance");
  CHECK(sinter_set_threads(3) == 3, "3 threads not taken");
  CHECK(sinter_set_threads(0) >= 1, "the default thread count is below 1");

  /* Weights round trip through a file into a second instance, which then computes the same. */
  CHECK(sinter_save_weights(m, weights) == SINTER_OK, "%s", sinter_last_error(m));
  sinter_instance* m2 = Tiny_create(99);
  CHECK(sinter_load_weights(m2, weights) == SINTER_OK, "%s", sinter_last_error(m2));
  float probs2[BATCH * 3], loss2 = 0;
  CHECK(Tiny_forward(m2, BATCH, x, y, probs2, &loss2) == SINTER_OK, "%s", sinter_last_error(m2));
  CHECK(memcmp(probs, probs2, sizeof probs) == 0, "loaded weights compute differently");
  CHECK(sinter_param_data(m2, Tiny_PARAM_w)[0] == sinter_param_data(m, Tiny_PARAM_w)[0], "w differs");

  sinter_destroy(m2);
  sinter_destroy(m);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("C API: all checks passed\n");
  return 0;
}
