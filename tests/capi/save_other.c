/* Writes the weights of other.sn, a model that is not Tiny, for train_tiny.c to try to load; on the way,
 * checks that sinter_evaluate measures only the metrics a train block lists. */
#include <math.h>

#include "capi_test.h"
#include "other.h"

int main(int argc, char** argv) {
  float x[8 * 4];
  int32_t y[8];
  sinter_metrics e;
  sinter_instance* m = Other_create(5);
  CHECK(m != NULL, "%s", sinter_last_error(NULL));
  if (!m || argc < 2) return 1;
  make_batch(1, 8, x, y);
  CHECK(Other_evaluate(m, 8, x, y, &e) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(e.metrics == SINTER_METRIC_LOSS, "metrics %d: `metrics [loss]` asks for no accuracy", e.metrics);
  CHECK(isnan(e.accuracy) && e.correct == 0, "accuracy %f, correct %lld", e.accuracy, (long long)e.correct);
  CHECK(e.loss > 0 && e.count == 8, "loss %f, count %lld", e.loss, (long long)e.count);
  CHECK(sinter_save_weights(m, argv[1]) == SINTER_OK, "%s", sinter_last_error(m));
  sinter_destroy(m);
  return finish("save_other");
}
