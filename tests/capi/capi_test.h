/* What the C API test programs share: a CHECK that counts failures and carries on, and the synthetic data
 * of tiny.sn. Each program is one translation unit, so everything here is static. */
#ifndef SINTER_CAPI_TEST_H
#define SINTER_CAPI_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                      \
  do {                                                        \
    if (!(cond)) {                                            \
      fprintf(stderr, "FAIL line %d: %s: ", __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                           \
      fprintf(stderr, "\n");                                  \
      failures++;                                             \
    }                                                         \
  } while (0)

/* CHECK that the instance's last error mentions `text`. */
#define CHECK_ERROR(m, text) CHECK(strstr(sinter_last_error(m), text) != NULL, "message: %s", sinter_last_error(m))

/* n points in 4-D whose class is the largest of three fixed projections: learnable by softmax regression. */
#if defined(__GNUC__)
__attribute__((unused))
#endif
static void make_batch(unsigned seed, int n, float* x, int32_t* y) {
  unsigned s = seed * 2654435761u + 1;
  for (int i = 0; i < n; ++i) {
    float score[3];
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

/* The exit status of a test program, after a summary line. */
static int finish(const char* what) {
  if (failures) {
    fprintf(stderr, "%s: %d failures\n", what, failures);
    return 1;
  }
  printf("%s: all checks passed\n", what);
  return 0;
}

#endif /* SINTER_CAPI_TEST_H */
