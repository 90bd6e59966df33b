/* The C API end to end, from plain C: a generated header, a shared (or static) library, a few training
 * steps on separable synthetic data, weights through files, and a NULL for every pointer argument of
 * every entry point. Arguments: the checkpoint to write, and one written by another model (other.sn).
 * Exit status 0 when all checks pass. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "capi_test.h"
#include "tiny.h"

#define BATCH 32

/* A copy of the instance's weights, to compare with later. */
typedef struct {
  float w[12], b[3];
} weights;

static weights weights_of(sinter_instance* m) {
  weights s;
  memcpy(s.w, sinter_param_data(m, Tiny_PARAM_w), sizeof s.w);
  memcpy(s.b, sinter_param_data(m, Tiny_PARAM_b), sizeof s.b);
  return s;
}

static int same_weights(sinter_instance* m, const weights* s) {
  weights now = weights_of(m);
  return memcmp(&now, s, sizeof now) == 0;
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

/* The first half of the file at `from`, written to `to`: a truncated checkpoint. */
static int write_truncated(const char* from, const char* to) {
  static char buf[1 << 16];
  FILE* in = fopen(from, "rb");
  if (!in) return 0;
  const size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  FILE* out = fopen(to, "wb");
  if (!out) return 0;
  const int ok = fwrite(buf, 1, n / 2, out) == n / 2;
  return fclose(out) == 0 && ok;
}

/* NULL for each pointer argument, and other bad values: an error code and a message, never a crash, and
 * the weights unchanged. */
static void check_bad_arguments(sinter_instance* m, const float* x, const int32_t* y) {
  float probs[BATCH * 3], loss = 0;
  const weights before = weights_of(m);

  CHECK(Tiny_forward(m, 0, x, y, probs, &loss) == SINTER_ERROR_ARGUMENT, "batch 0 accepted");
  CHECK_ERROR(m, "batch");
  CHECK(Tiny_forward(m, BATCH, NULL, y, probs, &loss) == SINTER_ERROR_ARGUMENT, "NULL x accepted");
  CHECK_ERROR(m, "'x'");
  CHECK(Tiny_forward(m, BATCH, x, NULL, probs, &loss) == SINTER_ERROR_ARGUMENT, "NULL y accepted");
  CHECK_ERROR(m, "'y'");
  CHECK(Tiny_forward(m, BATCH, x, y, NULL, &loss) == SINTER_ERROR_ARGUMENT, "NULL probs accepted");
  CHECK_ERROR(m, "'probs'");
  CHECK(Tiny_forward(m, BATCH, x, y, probs, NULL) == SINTER_ERROR_ARGUMENT, "NULL loss accepted");
  CHECK_ERROR(m, "'loss'");
  const void* inputs[] = {x, y};
  CHECK(sinter_forward(m, BATCH, inputs, NULL) == SINTER_ERROR_ARGUMENT, "NULL outputs accepted");
  CHECK_ERROR(m, "outputs is NULL");
  CHECK(sinter_forward(m, BATCH, NULL, NULL) == SINTER_ERROR_ARGUMENT, "NULL arrays accepted");
  CHECK(sinter_forward(NULL, BATCH, inputs, NULL) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  /* Outputs that share memory would be computed wrong without a sign. */
  CHECK(Tiny_forward(m, BATCH, x, y, probs, probs + 5) == SINTER_ERROR_ARGUMENT, "overlapping outputs accepted");
  CHECK_ERROR(m, "overlaps");
  CHECK(Tiny_forward(m, BATCH, x, y, (float*)x, &loss) == SINTER_ERROR_ARGUMENT, "an output over an input accepted");
  CHECK_ERROR(m, "'x'");
  CHECK(Tiny_forward(m, BATCH, x, y, sinter_param_data(m, Tiny_PARAM_w), &loss) == SINTER_ERROR_ARGUMENT,
        "an output over a param accepted");
  CHECK_ERROR(m, "'w'");

  CHECK(Tiny_train_step(m, -1, x, y, &loss) == SINTER_ERROR_ARGUMENT, "batch -1 accepted");
  CHECK(Tiny_train_step(m, BATCH, NULL, y, &loss) == SINTER_ERROR_ARGUMENT, "NULL x accepted");
  CHECK_ERROR(m, "'x'");
  CHECK(Tiny_train_step(m, BATCH, x, NULL, &loss) == SINTER_ERROR_ARGUMENT, "NULL y accepted");
  CHECK_ERROR(m, "'y'");
  CHECK(sinter_train_step(m, BATCH, NULL, &loss) == SINTER_ERROR_ARGUMENT, "NULL inputs accepted");
  CHECK(sinter_train_step(NULL, BATCH, inputs, &loss) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");

  CHECK(sinter_param_data(m, 99) == NULL && sinter_param_data(m, -1) == NULL, "a param out of range exists");
  CHECK(sinter_param_data(NULL, 0) == NULL && sinter_param_data_f64(NULL, 0) == NULL, "params of NULL exist");
  CHECK(sinter_param_data_f64(m, Tiny_PARAM_w) == NULL, "f32 param w read as f64");
  CHECK(sinter_set_learning_rate(NULL, 0.1f) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(sinter_set_learning_rate(m, NAN) == SINTER_ERROR_ARGUMENT, "NaN learning rate accepted");
  CHECK(sinter_set_learning_rate(m, -1.0f) == SINTER_ERROR_ARGUMENT, "negative learning rate accepted");
  CHECK(sinter_save_weights(m, NULL) == SINTER_ERROR_ARGUMENT, "NULL path accepted");
  CHECK(sinter_save_weights(NULL, "x.safetensors") == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(sinter_load_weights(m, NULL) == SINTER_ERROR_ARGUMENT, "NULL path accepted");
  CHECK(sinter_load_weights(NULL, "x.safetensors") == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(sinter_load_weights(m, "/nonexistent/tiny.safetensors") == SINTER_ERROR_IO, "loading a missing file");
  CHECK_ERROR(m, "/nonexistent/tiny.safetensors");
  CHECK(sinter_tensor_elements(NULL, BATCH) == 0, "a NULL tensor has elements");
  CHECK(strlen(sinter_last_error(NULL)) > 0, "no message for a NULL instance");
  sinter_destroy(NULL);

  /* sinter_create says why it returned NULL: a NULL model, a model of another ABI version. */
  CHECK(sinter_create(NULL, 1) == NULL, "create(NULL) gave an instance");
  CHECK(strstr(sinter_last_error(NULL), "model is NULL") != NULL, "message: %s", sinter_last_error(NULL));
  sinter_model_desc future = Tiny_model;
  future.abi_version = SINTER_ABI_VERSION + 1;
  CHECK(sinter_create(&future, 1) == NULL, "a model of another ABI version gave an instance");
  CHECK(strstr(sinter_last_error(NULL), "ABI version") != NULL, "message: %s", sinter_last_error(NULL));

  CHECK(same_weights(m, &before), "a failed call changed the weights");
  CHECK(Tiny_forward(m, BATCH, x, y, probs, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(strcmp(sinter_last_error(m), "") == 0, "a call that succeeded left the message '%s'", sinter_last_error(m));
}

/* Weights that are not Tiny's fail to load, with a message, and leave every weight as it was. */
static void check_foreign_weights(sinter_instance* m, const char* own, const char* other) {
  const weights before = weights_of(m);
  CHECK(sinter_load_weights(m, other) == SINTER_ERROR_MISMATCH, "another model's weights loaded: %s",
        sinter_last_error(m));
  /* Its first difference from Tiny's params is named, with both models. */
  CHECK_ERROR(m, "(written by model 'Other'): tensor 'b': shape [1, 3] in the file but [3] in model 'Tiny'");
  CHECK(same_weights(m, &before), "a failed load changed the weights");

  char truncated[4096];
  snprintf(truncated, sizeof truncated, "%s.truncated", own);
  CHECK(write_truncated(own, truncated), "cannot write %s", truncated);
  CHECK(sinter_load_weights(m, truncated) == SINTER_ERROR_MISMATCH, "a truncated file loaded: %s",
        sinter_last_error(m));
  CHECK_ERROR(m, "truncated");
  CHECK(same_weights(m, &before), "a failed load changed the weights");
}

int main(int argc, char** argv) {
  const char* weights_path = argc > 1 ? argv[1] : "tiny.safetensors";
  const char* other_path = argc > 2 ? argv[2] : "other.safetensors";
  float x[BATCH * 4], probs[BATCH * 3], loss = 0, first = 0, last = 0;
  int32_t y[BATCH];

  sinter_instance* m = Tiny_create(7);
  CHECK(m != NULL, "create failed: %s", sinter_last_error(NULL));
  if (!m) return 1;
  CHECK(Tiny_model.num_params == Tiny_NUM_PARAMS, "%d params", Tiny_model.num_params);
  /* The weights and gradients start on a cache line: the kernels read them in whole 64-byte vectors. */
  for (int p = 0; p < Tiny_NUM_PARAMS; ++p)
    CHECK((uintptr_t)sinter_param_data(m, p) % 64 == 0, "param %d at %p", p, (void*)sinter_param_data(m, p));
  CHECK((uintptr_t)sinter_gradients(m, NULL) % 64 == 0, "gradients at %p", sinter_gradients(m, NULL));

  /* Training lowers the loss and learns the rule. */
  for (int step = 0; step < 300; ++step) {
    make_batch((unsigned)step, BATCH, x, y);
    CHECK(Tiny_train_step(m, BATCH, x, y, &loss) == SINTER_OK, "%s", sinter_last_error(m));
    if (step == 0) first = loss;
    last = loss;
  }
  make_batch(1000, BATCH, x, y);
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

  check_bad_arguments(m, x, y);
  CHECK(sinter_set_threads(3) == 3, "3 threads not taken");
  CHECK(sinter_set_threads(0) >= 1, "the default thread count is below 1");

  /* Weights round trip through a file into a second instance, which then computes the same. */
  CHECK(sinter_save_weights(m, weights_path) == SINTER_OK, "%s", sinter_last_error(m));
  sinter_instance* m2 = Tiny_create(99);
  CHECK(sinter_load_weights(m2, weights_path) == SINTER_OK, "%s", sinter_last_error(m2));
  float probs2[BATCH * 3], loss2 = 0;
  CHECK(Tiny_forward(m2, BATCH, x, y, probs2, &loss2) == SINTER_OK, "%s", sinter_last_error(m2));
  CHECK(memcmp(probs, probs2, sizeof probs) == 0, "loaded weights compute differently");
  const weights trained = weights_of(m);
  CHECK(same_weights(m2, &trained), "loaded weights differ from the saved ones");

  check_foreign_weights(m2, weights_path, other_path);

  sinter_destroy(m2);
  sinter_destroy(m);
  return finish("C API");
}
