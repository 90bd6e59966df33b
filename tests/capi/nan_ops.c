/* NaN goes through relu, maximum, max and max_pool2d (nan_ops.sn) as in PyTorch, where it used to become
 * 0 or vanish from a maximum; so a NaN sample makes the train step fail instead of training on it. Exit
 * status 0 when all checks pass. */
#include <math.h>

#include "capi_test.h"
#include "nan_ops.h"

static void check_nan_propagation(void) {
  sinter_instance* m = NanOps_create(1);
  CHECK(m != NULL, "%s", sinter_last_error(NULL));
  if (!m) return;
  /* Sample 0 holds NaN at x[1] and in the pooling window; sample 1 is finite. */
  float x[2 * 4] = {-1.0f, NAN, 2.0f, -3.0f, -1.0f, 0.25f, 2.0f, -3.0f};
  float img[2 * 4] = {1.0f, NAN, -2.0f, 3.0f, 1.0f, 0.0f, -2.0f, 3.0f};
  int32_t y[2] = {0, 1};
  float r[8], m1[8], m2[8], s[2], p[2], probs[6], loss = 0;
  const void* inputs[] = {x, img, y};
  void* outputs[NanOps_NUM_OUTPUTS];
  outputs[NanOps_OUTPUT_r] = r;
  outputs[NanOps_OUTPUT_m1] = m1;
  outputs[NanOps_OUTPUT_m2] = m2;
  outputs[NanOps_OUTPUT_s] = s;
  outputs[NanOps_OUTPUT_p] = p;
  outputs[NanOps_OUTPUT_probs] = probs;
  outputs[NanOps_OUTPUT_loss] = &loss;
  CHECK(sinter_forward(m, 2, inputs, outputs) == SINTER_OK, "%s", sinter_last_error(m));
  /* torch.relu, torch.maximum, torch.amax and max_pool2d all give NaN where a NaN goes in. */
  CHECK(isnan(r[1]) && r[0] == 0.0f && r[2] == 2.0f, "relu: %f %f %f", r[0], r[1], r[2]);
  CHECK(isnan(m1[1]) && m1[0] == 0.5f && m1[2] == 2.0f, "maximum(x, 0.5): %f %f %f", m1[0], m1[1], m1[2]);
  CHECK(isnan(m2[1]) && m2[0] == 0.5f && m2[2] == 2.0f, "maximum(0.5, x): %f %f %f", m2[0], m2[1], m2[2]);
  CHECK(isnan(s[0]) && s[1] == 2.0f, "max over axis 1: %f %f", s[0], s[1]);
  CHECK(isnan(p[0]) && p[1] == 3.0f, "max_pool2d: %f %f", p[0], p[1]);
  CHECK(isnan(loss), "the loss of a NaN sample: %f", loss);
  /* So a NaN sample cannot train silently: the step fails and the weights stay. */
  const float w0 = sinter_param_data(m, NanOps_PARAM_w)[0];
  CHECK(sinter_train_step(m, 2, inputs, &loss) == SINTER_ERROR_NONFINITE, "a NaN sample trained: loss %f", loss);
  CHECK(sinter_param_data(m, NanOps_PARAM_w)[0] == w0, "the weights changed");
  sinter_destroy(m);
}

int main(void) {
  check_nan_propagation();
  return finish("C API NaN propagation");
}
