/* The C API's documented errors for the cases of issue 18: labels out of range in forward and train_step
 * (an argument error naming the sample), an update that makes a weight non-finite (SINTER_ERROR_NONFINITE
 * naming the param), saving onto a device node (refused, the node kept) or through a symlink (written
 * through). nan_ops.c has the NaN cases. Arguments: a scratch directory. Exit status 0 when all checks pass. */
#define _DEFAULT_SOURCE /* mknod, lstat and symlink under -std=c11 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "capi_test.h"
#include "tiny.h"

#define BATCH 8

static void check_labels(void) {
  sinter_instance* m = Tiny_create(3);
  float x[BATCH * 4], probs[BATCH * 3], loss = 0;
  int32_t y[BATCH];
  make_batch(5, BATCH, x, y);
  float w0 = sinter_param_data(m, Tiny_PARAM_w)[0];
  y[5] = 3; /* Tiny has 3 classes */
  CHECK(Tiny_forward(m, BATCH, x, y, probs, &loss) == SINTER_ERROR_ARGUMENT, "label 3 accepted by forward");
  CHECK_ERROR(m, "label 3 of sample 5");
  CHECK(Tiny_train_step(m, BATCH, x, y, &loss) == SINTER_ERROR_ARGUMENT, "label 3 accepted by train_step");
  CHECK_ERROR(m, "sample 5");
  y[5] = -1;
  CHECK(Tiny_train_step(m, BATCH, x, y, &loss) == SINTER_ERROR_ARGUMENT, "label -1 accepted by train_step");
  CHECK_ERROR(m, "label -1 of sample 5");
  CHECK(sinter_param_data(m, Tiny_PARAM_w)[0] == w0, "a refused step changed the weights");
  y[5] = 2;
  CHECK(Tiny_train_step(m, BATCH, x, y, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  sinter_destroy(m);
}

static void check_nonfinite_update(void) {
  sinter_instance* m = Tiny_create(3);
  float x[BATCH * 4], loss = 0;
  int32_t y[BATCH];
  make_batch(6, BATCH, x, y);
  /* Adam's step is lr / (1 - beta1) = 3e39 on the first step: past FLT_MAX, though the loss is finite. */
  CHECK(sinter_set_learning_rate(m, 3e38f) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(Tiny_train_step(m, BATCH, x, y, &loss) == SINTER_ERROR_NONFINITE, "an overflowing update was OK");
  CHECK(isfinite(loss), "the loss itself was finite: %f", loss);
  CHECK_ERROR(m, "param 'w'");
  CHECK_ERROR(m, "after the update of step 1");
  sinter_destroy(m);
}

static void check_save_targets(const char* dir) {
  sinter_instance* m = Tiny_create(3);
  char node[4096], link[4096], target[4096];
  snprintf(node, sizeof node, "%s/mynull", dir);
  snprintf(link, sizeof link, "%s/link.safetensors", dir);
  snprintf(target, sizeof target, "%s/target.safetensors", dir);
  unlink(node);
  unlink(link);
  unlink(target);
  if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) == 0) {
    CHECK(sinter_save_weights(m, node) == SINTER_ERROR_IO, "saving onto a device node was accepted");
    CHECK_ERROR(m, "is a character device, not a regular file");
    struct stat st;
    CHECK(lstat(node, &st) == 0 && S_ISCHR(st.st_mode), "the device node was replaced");
    unlink(node);
  } else {
    printf("reliability: mknod failed (%s): no device node case\n", strerror(errno));
  }
  CHECK(sinter_save_weights(m, target) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(symlink("target.safetensors", link) == 0, "symlink: %s", strerror(errno));
  sinter_param_data(m, Tiny_PARAM_b)[0] = 42.0f;
  CHECK(sinter_save_weights(m, link) == SINTER_OK, "%s", sinter_last_error(m));
  struct stat st;
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the symlink was replaced by a file");
  sinter_instance* back = Tiny_create(4);
  CHECK(sinter_load_weights(back, target) == SINTER_OK, "%s", sinter_last_error(back));
  CHECK(sinter_param_data(back, Tiny_PARAM_b)[0] == 42.0f, "the link's target did not get the weights");
  sinter_destroy(back);
  sinter_destroy(m);
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : ".";
  check_labels();
  check_nonfinite_update();
  check_save_targets(dir);
  return finish("C API reliability");
}
