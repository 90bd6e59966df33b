/* A model in a C program built by make, with pkg-config: `sinter build --emit obj` compiles the model,
 * and the program links it with the runtime (libsinter_runtime.so). It trains the Linear model of
 * ../embed-cmake/ on the same batches as that example's program and prints the same line of predictions.
 * Exit status 1 when a call fails or the model does not learn. */
#include <stdio.h>

#include "linear.h"

/* As makeBatch in ../embed-cmake/main.cpp. */
static void make_batch(unsigned seed, int n, float* x, int32_t* y) {
  unsigned s = seed;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) {
      s = s * 1664525u + 1013904223u;
      x[i * 4 + j] = (float)((s >> 8) & 0xffff) / 65535.0f * 2.0f - 1.0f;
    }
    const float a = x[i * 4] + x[i * 4 + 1], b = x[i * 4 + 2] - x[i * 4], c = x[i * 4 + 3] - x[i * 4 + 1];
    y[i] = a > b ? (a > c ? 0 : 2) : (b > c ? 1 : 2);
  }
}

int main(void) {
  float x[64 * 4], probs[64 * 3], loss = 0;
  int32_t y[64];
  sinter_set_threads(1);
  sinter_instance* linear = Linear_create(1);
  if (!linear) {
    fprintf(stderr, "embed-make: create: %s\n", sinter_last_error(NULL));
    return 1;
  }
  for (unsigned step = 0; step < 300; ++step) {
    make_batch(step + 10, 32, x, y);
    if (Linear_train_step(linear, 32, x, y, &loss) != SINTER_OK) {
      fprintf(stderr, "embed-make: train step: %s\n", sinter_last_error(linear));
      return 1;
    }
  }
  make_batch(3, 64, x, y);
  if (Linear_forward(linear, 64, x, y, probs, &loss) != SINTER_OK) {
    fprintf(stderr, "embed-make: forward: %s\n", sinter_last_error(linear));
    return 1;
  }
  int right = 0;
  printf("Linear predictions:");
  for (int i = 0; i < 64; ++i) {
    const float* p = probs + i * 3;
    const int k = p[0] >= p[1] && p[0] >= p[2] ? 0 : p[1] >= p[2] ? 1 : 2;
    right += k == y[i];
    printf(" %d", k);
  }
  printf("\n");
  sinter_destroy(linear);
  return right >= 54 ? 0 : 1; /* 85% */
}
