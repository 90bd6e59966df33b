/* Weights that Tiny trained (with its label input and loss) load into TinyTwin, its label-free twin
 * (tiny_twin.sn: the same params, no label, no loss, no train block), whose forward then predicts what
 * Tiny's forward predicted, bit for bit: the same kernels on the same weights. Reads DIR/Tiny.safetensors
 * and DIR/Tiny.txt, which two_models.c wrote from the batch make_batch(3, 8); weights whose params differ
 * (DIR/Other.safetensors: a bias [1, 3]) are refused, naming the param.
 *   twin_tiny DIR */
#include <stdlib.h>

#include "capi_test.h"
#include "tiny_twin.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: twin_tiny DIR\n");
    return 2;
  }
  sinter_instance* m = TinyTwin_create(7);
  CHECK(m != NULL, "%s", sinter_last_error(NULL));
  if (!m) return finish("twin");
  char path[4096];
  snprintf(path, sizeof path, "%s/Other.safetensors", argv[1]);
  CHECK(sinter_load_weights(m, path) == SINTER_ERROR_MISMATCH, "Other's weights loaded into TinyTwin");
  CHECK_ERROR(m, "tensor 'b': shape [1, 3] in the file but [3] in model 'TinyTwin'");
  snprintf(path, sizeof path, "%s/Tiny.safetensors", argv[1]);
  CHECK(sinter_load_weights(m, path) == SINTER_OK, "%s", sinter_last_error(m));

  float x[8 * 4], probs[8 * 3];
  int32_t y[8];
  make_batch(3, 8, x, y);
  CHECK(TinyTwin_forward(m, 8, x, probs) == SINTER_OK, "%s", sinter_last_error(m));
  snprintf(path, sizeof path, "%s/Tiny.txt", argv[1]);
  FILE* f = fopen(path, "r");
  CHECK(f != NULL, "cannot read %s", path);
  if (f) {
    /* Tiny.txt holds "%.9g", which round-trips a float exactly. */
    for (int i = 0; i < 8 * 3; ++i) {
      float want = 0;
      CHECK(fscanf(f, "%f", &want) == 1, "%s: value %d missing", path, i);
      CHECK(probs[i] == want, "probs[%d] = %.9g, Tiny predicted %.9g", i, probs[i], want);
    }
    fclose(f);
  }
  sinter_destroy(m);
  return finish("label-free twin");
}
