/* Weights that `sinter train --normalize standard` saved carry the statistics it fitted, and the C API
 * applies them: loaded with the weights, Tiny's forward on the raw test samples predicts what `sinter run
 * --normalize standard` predicts (run_capi_test.sh compares the printed probabilities with its --predictions),
 * and equals a forward on samples standardized here by hand with the statistics sinter_get_normalizer gives.
 * Weights without statistics, or sinter_set_normalizer(NULL, NULL), drop them; a save keeps them.
 *   normalized_tiny WEIGHTS PLAIN_WEIGHTS TEST_CSV OUT_TXT SAVE_PATH */
#include <math.h>
#include <stdlib.h>

#include "capi_test.h"
#include "tiny.h"

enum { kMax = 256 };

/* The samples of a CSV with a header row and 5 columns a,b,c,d,class; returns their count. */
static int read_csv(const char* path, float* x, int32_t* y) {
  FILE* f = fopen(path, "r");
  CHECK(f != NULL, "cannot read %s", path);
  if (!f) return 0;
  char line[512];
  int n = 0;
  if (!fgets(line, sizeof line, f)) n = -1;
  while (n >= 0 && n < kMax && fgets(line, sizeof line, f)) {
    float* r = x + n * 4;
    if (sscanf(line, "%f,%f,%f,%f,%d", &r[0], &r[1], &r[2], &r[3], &y[n]) == 5) ++n;
  }
  fclose(f);
  return n;
}

static int same(const float* a, const float* b, int n) {
  for (int i = 0; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: normalized_tiny WEIGHTS PLAIN_WEIGHTS TEST_CSV OUT_TXT SAVE_PATH\n");
    return 2;
  }
  static float x[kMax * 4], z[kMax * 4], probs[kMax * 3], byHand[kMax * 3], raw[kMax * 3];
  static int32_t y[kMax];
  float loss = 0;
  const int n = read_csv(argv[3], x, y);
  CHECK(n > 0, "no samples in %s", argv[3]);
  sinter_instance* m = Tiny_create(1);
  CHECK(m != NULL, "%s", sinter_last_error(NULL));
  if (!m || n <= 0) return finish("normalized");
  CHECK(sinter_get_normalizer(m, NULL, NULL) == 0, "a new instance holds statistics");
  CHECK(sinter_load_weights(m, argv[1]) == SINTER_OK, "%s", sinter_last_error(m));
  const float *mean = NULL, *invStd = NULL;
  CHECK(sinter_get_normalizer(m, &mean, &invStd) == 4, "the statistics did not load with the weights");
  if (!mean || !invStd) return finish("normalized");
  float mean0 = mean[0], invStd0 = invStd[0];
  CHECK(fabsf(mean0) > 1.0f, "mean[0] = %g: the test data is not offset, so standardizing changes little", mean0);

  /* Forward on the raw samples; the caller's buffer stays raw. */
  float x0 = x[0];
  CHECK(Tiny_forward(m, n, x, y, probs, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(x[0] == x0, "forward changed the caller's samples");
  FILE* out = fopen(argv[4], "w");
  CHECK(out != NULL, "cannot write %s", argv[4]);
  for (int i = 0; out && i < n; ++i) fprintf(out, "%.9g %.9g %.9g\n", probs[i * 3], probs[i * 3 + 1], probs[i * 3 + 2]);
  if (out) fclose(out);

  /* The same as standardizing by hand and running without statistics. */
  for (int i = 0; i < n * 4; ++i) z[i] = (x[i] - mean[i % 4]) * invStd[i % 4];
  float meanCopy[4], invStdCopy[4];
  memcpy(meanCopy, mean, sizeof meanCopy);
  memcpy(invStdCopy, invStd, sizeof invStdCopy);
  CHECK(sinter_set_normalizer(m, NULL, NULL, 0) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_get_normalizer(m, &mean, NULL) == 0 && mean == NULL, "the statistics were not dropped");
  CHECK(Tiny_forward(m, n, z, y, byHand, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(same(probs, byHand, n * 3), "forward with statistics differs from forward on samples standardized by hand");
  CHECK(Tiny_forward(m, n, x, y, raw, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(!same(probs, raw, n * 3), "the raw samples predict what the standardized ones do");

  /* Set by hand: bad arguments are refused; good ones give the loaded statistics' predictions. */
  CHECK(sinter_set_normalizer(m, meanCopy, NULL, 4) == SINTER_ERROR_ARGUMENT, "inv_std NULL accepted");
  CHECK_ERROR(m, "inv_std is NULL");
  CHECK(sinter_set_normalizer(m, meanCopy, invStdCopy, 3) == SINTER_ERROR_ARGUMENT, "3 features accepted");
  CHECK_ERROR(m, "statistics of 3 features, but input 'x' holds 4 per sample");
  float nan = NAN;
  float badMean[4] = {0, 0, nan, 0};
  CHECK(sinter_set_normalizer(m, badMean, invStdCopy, 4) == SINTER_ERROR_ARGUMENT, "NaN mean accepted");
  CHECK_ERROR(m, "feature 2 are not finite");
  CHECK(sinter_set_normalizer(m, meanCopy, invStdCopy, 4) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(Tiny_forward(m, n, x, y, byHand, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(same(probs, byHand, n * 3), "statistics set by hand predict differently");

  /* Saved with the weights, loaded back; weights without statistics drop them. */
  CHECK(sinter_save_weights(m, argv[5]) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_load_weights(m, argv[2]) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_get_normalizer(m, NULL, NULL) == 0, "weights without statistics kept the earlier ones");
  CHECK(sinter_load_weights(m, argv[5]) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_get_normalizer(m, &mean, &invStd) == 4 && mean[0] == mean0 && invStd[0] == invStd0,
        "the saved statistics did not come back");
  CHECK(Tiny_forward(m, n, x, y, byHand, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(same(probs, byHand, n * 3), "saved and loaded again, the model predicts differently");

  /* evaluate standardizes too: its loss is the one of the standardized batch without statistics. */
  sinter_metrics a, b;
  CHECK(Tiny_evaluate(m, n, x, y, &a) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_set_normalizer(m, NULL, NULL, 0) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(Tiny_evaluate(m, n, z, y, &b) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(a.loss == b.loss && a.correct == b.correct, "evaluate: loss %g vs %g by hand", a.loss, b.loss);
  sinter_destroy(m);
  return finish("normalized");
}
