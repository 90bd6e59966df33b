/* The C API's halves of a train step, as a data-parallel caller with its own communication uses them:
 * sinter_compute_gradients, the flat buffer of sinter_gradients, sinter_apply_gradients.
 *   1. compute + apply is sinter_train_step, bit for bit (three steps, two instances of one seed);
 *   2. two "processes" (two instances) each computing half of a batch, their buffers averaged as an
 *      all-reduce would, then applied, give the weights of one step on the whole batch, up to the
 *      reassociation of the f32 sums over the batch (the oracle: sinter_train_step on the 32 samples);
 *   3. the buffer holds exactly the trained params' gradients: zeroing it makes Adam's first update 0;
 *   4. applying twice, or before computing, is an error. */
#include <math.h>

#include "capi_test.h"
#include "tiny.h"

#define BATCH 32

static float max_difference(sinter_instance* a, sinter_instance* b) {
  float worst = 0;
  for (int p = 0; p < 2; ++p) {
    const int n = p == Tiny_PARAM_w ? 12 : 3;
    const float *x = sinter_param_data(a, p), *y = sinter_param_data(b, p);
    for (int i = 0; i < n; ++i) worst = fmaxf(worst, fabsf(x[i] - y[i]));
  }
  return worst;
}

int main(void) {
  float x[BATCH * 4], loss = 0, half_loss = 0;
  int32_t y[BATCH];
  make_batch(11, BATCH, x, y);
  const void* whole[] = {x, y};
  const void* first[] = {x, y};
  const void* second[] = {x + BATCH / 2 * 4, y + BATCH / 2};

  sinter_instance* a = sinter_create(&Tiny_model, 5);
  sinter_instance* b = sinter_create(&Tiny_model, 5);
  sinter_instance* p0 = sinter_create(&Tiny_model, 5);
  sinter_instance* p1 = sinter_create(&Tiny_model, 5);
  CHECK(a && b && p0 && p1, "create: %s", sinter_last_error(NULL));

  /* 1. */
  for (int step = 0; step < 3; ++step) {
    CHECK(sinter_train_step(a, BATCH, whole, &loss) == SINTER_OK, "%s", sinter_last_error(a));
    CHECK(sinter_compute_gradients(b, BATCH, whole, &loss) == SINTER_OK, "%s", sinter_last_error(b));
    CHECK(sinter_apply_gradients(b) == SINTER_OK, "%s", sinter_last_error(b));
  }
  CHECK(max_difference(a, b) == 0, "compute + apply differs from train_step by %g", max_difference(a, b));

  /* 2. The buffer: w's 12 floats, then b's 3 at the next 64-byte boundary (16 floats in), each padded to
   * 64 bytes. */
  int64_t n0 = 0, n1 = 0;
  float* g0 = sinter_gradients(p0, &n0);
  float* g1 = sinter_gradients(p1, &n1);
  CHECK(g0 && g1 && n0 == 32 && n1 == 32, "flat buffer of %lld elements, expected 16 + 16", (long long)n0);
  sinter_instance* fresh = sinter_create(&Tiny_model, 5);
  CHECK(sinter_train_step(fresh, BATCH, whole, &loss) == SINTER_OK, "%s", sinter_last_error(fresh));
  CHECK(sinter_compute_gradients(p0, BATCH / 2, first, &half_loss) == SINTER_OK, "%s", sinter_last_error(p0));
  CHECK(sinter_compute_gradients(p1, BATCH / 2, second, &half_loss) == SINTER_OK, "%s", sinter_last_error(p1));
  for (int64_t i = 0; i < n0; ++i) g0[i] = g1[i] = (g0[i] + g1[i]) / 2; /* the all-reduce, then / processes */
  CHECK(g0[12] == 0 && g0[15] == 0 && g0[19] == 0 && g0[31] == 0, "the gaps after the gradients are not zero");
  CHECK(sinter_apply_gradients(p0) == SINTER_OK && sinter_apply_gradients(p1) == SINTER_OK, "apply failed");
  CHECK(max_difference(p0, p1) == 0, "the two processes' weights differ");
  /* One Adam step moves each weight by ~lr = 0.05; reassociation moves it by ~1e-6. */
  const float d = max_difference(p0, fresh);
  CHECK(d < 1e-5f, "two halves averaged differ from the whole batch by %g", d);
  printf("two half-batch instances against one whole-batch step: largest difference %g\n", d);

  /* 3. Zero gradients: Adam's first step is m / (sqrt(v) + eps) = 0, the weights stay. */
  sinter_instance* z = sinter_create(&Tiny_model, 5);
  sinter_instance* ref = sinter_create(&Tiny_model, 5);
  int64_t nz = 0;
  float* gz = sinter_gradients(z, &nz);
  CHECK(sinter_compute_gradients(z, BATCH, whole, &loss) == SINTER_OK, "%s", sinter_last_error(z));
  memset(gz, 0, (size_t)nz * sizeof(float));
  CHECK(sinter_apply_gradients(z) == SINTER_OK, "%s", sinter_last_error(z));
  CHECK(max_difference(z, ref) == 0, "zeroed gradients changed the weights by %g", max_difference(z, ref));

  /* 4. */
  CHECK(sinter_apply_gradients(z) == SINTER_ERROR_ARGUMENT, "a second apply was accepted");
  CHECK_ERROR(z, "sinter_compute_gradients");
  CHECK(sinter_apply_gradients(ref) == SINTER_ERROR_ARGUMENT, "apply before compute was accepted");
  CHECK(sinter_apply_gradients(NULL) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(sinter_compute_gradients(NULL, BATCH, whole, &loss) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(sinter_gradients(NULL, &nz) == NULL && nz == 0, "a NULL instance has gradients");

  sinter_destroy(a);
  sinter_destroy(b);
  sinter_destroy(p0);
  sinter_destroy(p1);
  sinter_destroy(fresh);
  sinter_destroy(z);
  sinter_destroy(ref);
  return finish("split_gradients");
}
