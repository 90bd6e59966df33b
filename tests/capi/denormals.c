/* Flush-to-zero in the C API (sinter_set_flush_denormals): by default the calls that run the model flush
 * denormal results to zero, as `sinter train` and `sinter run` do; after sinter_set_flush_denormals(m, 0) they
 * keep them. The oracle is IEEE arithmetic done here in C, in the caller's mode (no FTZ): x * x of 1e-20 is a
 * denormal the model must return exactly when keeping denormals, and 0 when flushing. On x86-64 the caller's
 * MXCSR must be the same after every call. Exit status 0 when all checks pass. */
#include <float.h>
#include <math.h>

#include "capi_test.h"
#include "denormals.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
static unsigned fp_mode(void) { return _mm_getcsr(); }
#else
static unsigned fp_mode(void) { return 0; }
#endif

/* volatile: the product must be computed at run time, in this program's (IEEE) mode. */
static volatile float tiny = 1e-20f;

int main(void) {
  const float square = tiny * tiny;
  CHECK(square > 0 && square < FLT_MIN, "the oracle is not a denormal: %g", (double)square);
  float x[4] = {tiny, 1.0f, tiny, 2.0f}, t[4] = {0, 1.0f, 0, 2.0f}, sq[4], loss = -1;
  const void* inputs[] = {x, t};
  void* outputs[Denormals_NUM_OUTPUTS];
  outputs[Denormals_OUTPUT_sq] = sq;
  outputs[Denormals_OUTPUT_loss] = &loss;

  sinter_instance* m = Denormals_create(1);
  CHECK(m != NULL, "%s", sinter_last_error(NULL));
  if (!m) return 1;
  const unsigned mode = fp_mode();

  /* Default: flushed, and the caller's mode untouched. */
  CHECK(sinter_forward(m, 2, inputs, outputs) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sq[0] == 0.0f && sq[2] == 0.0f && sq[1] == 1.0f && sq[3] == 4.0f, "flushed forward: %g %g %g %g",
        (double)sq[0], (double)sq[1], (double)sq[2], (double)sq[3]);
  CHECK(fp_mode() == mode, "sinter_forward changed the caller's MXCSR: %x -> %x", mode, fp_mode());
  /* The gradient of w: 2 x (x w - t) / 4 per element, denormal for the tiny samples: flushed to 0. */
  int64_t elements = 0;
  const float* grad = sinter_gradients(m, &elements);
  CHECK(grad != NULL && elements >= 2, "no gradient buffer (%lld elements)", (long long)elements);
  CHECK(sinter_compute_gradients(m, 2, inputs, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(fp_mode() == mode, "sinter_compute_gradients changed the caller's MXCSR");
  if (grad) CHECK(grad[0] == 0.0f && grad[1] == 0.0f, "flushed gradient: %g %g", (double)grad[0], (double)grad[1]);
  CHECK(sinter_apply_gradients(m) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(fp_mode() == mode, "sinter_apply_gradients changed the caller's MXCSR");

  /* Kept: the model's x * x is the caller's, bit for bit, and so is the gradient. */
  CHECK(sinter_set_flush_denormals(m, 0) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_forward(m, 2, inputs, outputs) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sq[0] == square && sq[2] == square, "kept forward: %g %g, want %g", (double)sq[0], (double)sq[2],
        (double)square);
  CHECK(fp_mode() == mode, "sinter_forward changed the caller's MXCSR");
  const float w0 = sinter_param_data(m, Denormals_PARAM_w)[0];
  CHECK(sinter_compute_gradients(m, 2, inputs, &loss) == SINTER_OK, "%s", sinter_last_error(m));
  /* mean over the 4 elements of d * d: d/dw0 = 2 (x0 w0 - t0) x0 / 4 + 2 (x2 w0 - t2) x2 / 4 = w0 x0² (both
   * samples equal). */
  const float want = w0 * square;
  if (grad) CHECK(grad[0] != 0.0f && fabsf(grad[0] - want) <= 1e-45f * 4, "kept gradient: %g, want %g",
                  (double)grad[0], (double)want);
  CHECK(sinter_apply_gradients(m) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(fp_mode() == mode, "the calls changed the caller's MXCSR");

  /* Flushing again, and a NULL instance is an argument error. */
  CHECK(sinter_set_flush_denormals(m, 1) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sinter_forward(m, 2, inputs, outputs) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(sq[0] == 0.0f, "flushed again: %g", (double)sq[0]);
  CHECK(sinter_set_flush_denormals(NULL, 0) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  sinter_destroy(m);
  return finish("C API flush-to-zero");
}
