/* Two models in one C program (issue 19): each library exports its own descriptor (Tiny_model,
 * Other_model), so each <Model>_create makes an instance of that model, whether the libraries are shared or
 * static. Before, both exported `sinter_model` and the linker silently used the first for both. A model
 * compiled with --symbol-prefix (p_Tiny_model) beside the plain one shows the prefix separates two builds
 * of one model. */
#include "capi_test.h"
#include "other.h"
#include "p_tiny.h"
#include "tiny.h"

/* The instance's model name and output width, through the C API only. */
static void check_model(sinter_instance* m, const char* name, int64_t outputs) {
  CHECK(m != NULL, "create: %s", sinter_last_error(NULL));
  if (!m) return;
  sinter_tensor_info info;
  int64_t dims[2];
  CHECK(sinter_tensor_shape(m, SINTER_OUTPUT, 0, 2, &info, dims, 2) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(strcmp(info.name, name) == 0, "output 0 is '%s', wanted '%s'", info.name, name);
  CHECK(dims[1] == outputs, "%lld outputs", (long long)dims[1]);
}

int main(void) {
  sinter_instance* tiny = Tiny_create(1);
  sinter_instance* other = Other_create(1);
  sinter_instance* prefixed = p_Tiny_create(1);
  check_model(tiny, "probs", 3);
  check_model(other, "logits", 3);
  check_model(prefixed, "probs", 3);
  CHECK(&Tiny_model != &Other_model && &Tiny_model != &p_Tiny_model, "descriptors are distinct");
  CHECK(strcmp(Tiny_model.name, "Tiny") == 0 && strcmp(Other_model.name, "Other") == 0, "%s, %s", Tiny_model.name,
        Other_model.name);
  /* Other has no accuracy metric; Tiny does: each model keeps its own train block. */
  CHECK(Tiny_model.train.optimizer == SINTER_OPT_ADAM && Other_model.train.optimizer == SINTER_OPT_SGD,
        "optimizers %d %d", Tiny_model.train.optimizer, Other_model.train.optimizer);

  float x[8 * 4];
  int32_t y[8];
  make_batch(3, 8, x, y);
  float probs[8 * 3], logits[8 * 3], loss = 0;
  CHECK(Tiny_forward(tiny, 8, x, y, probs, &loss) == SINTER_OK, "%s", sinter_last_error(tiny));
  CHECK(Other_forward(other, 8, x, y, logits, &loss) == SINTER_OK, "%s", sinter_last_error(other));
  /* Tiny's outputs are probabilities (rows sum to 1); Other's logits are not. */
  float sum = probs[0] + probs[1] + probs[2];
  CHECK(sum > 0.999f && sum < 1.001f, "Tiny row sums to %f", sum);
  sinter_destroy(tiny);
  sinter_destroy(other);
  sinter_destroy(prefixed);
  return finish("two models in one program");
}
