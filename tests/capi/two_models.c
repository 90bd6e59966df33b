/* Two models in one C program (issue 19): each library exports its own descriptor (Tiny_model,
 * Other_model), so each <Model>_create makes an instance of that model, whether the libraries are shared or
 * static. Before, both exported `sinter_model` and the linker silently used the first for both. A model
 * compiled with --symbol-prefix (p_Tiny_model) beside the plain one shows the prefix separates two builds
 * of one model. Each model is trained a different number of steps, then its weights, the batch (a CSV) and
 * its outputs on that batch are written to DIR, where run_capi_test.sh checks the outputs against
 * `sinter run` of the model's own .sn file with those weights: a model answering for another would differ.
 *   two_models DIR */
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

/* Trains m `steps` steps, saves its weights to DIR/NAME.safetensors and writes its outputs on the batch,
 * `width` per sample, to DIR/NAME.txt. The forward function is the model's own, passed in. */
typedef sinter_status (*train_fn)(sinter_instance*, int64_t, const float*, const int32_t*, float*);
typedef sinter_status (*forward_fn)(sinter_instance*, int64_t, const float*, const int32_t*, float*, float*);
static void write_outputs(const char* dir, const char* name, sinter_instance* m, train_fn train, forward_fn forward,
                          int steps, const float* x, const int32_t* y) {
  if (!m) return;
  float tx[32 * 4], out[8 * 3], loss = 0;
  int32_t ty[32];
  for (int step = 0; step < steps; ++step) {
    make_batch(100 + step, 32, tx, ty);
    CHECK(train(m, 32, tx, ty, &loss) == SINTER_OK, "%s train: %s", name, sinter_last_error(m));
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
  CHECK(sinter_save_weights(m, path) == SINTER_OK, "%s save: %s", name, sinter_last_error(m));
  CHECK(forward(m, 8, x, y, out, &loss) == SINTER_OK, "%s forward: %s", name, sinter_last_error(m));
  snprintf(path, sizeof path, "%s/%s.txt", dir, name);
  FILE* f = fopen(path, "w");
  CHECK(f != NULL, "cannot write %s", path);
  if (!f) return;
  for (int i = 0; i < 8 * 3; ++i) fprintf(f, "%.9g%c", out[i], i % 3 == 2 ? '\n' : ' ');
  fclose(f);
}

/* The batch as `sinter run --test-csv` reads it: four feature columns, then the label. */
static void write_batch(const char* dir, const float* x, const int32_t* y) {
  char path[4096];
  snprintf(path, sizeof path, "%s/batch.csv", dir);
  FILE* f = fopen(path, "w");
  CHECK(f != NULL, "cannot write %s", path);
  if (!f) return;
  fprintf(f, "a,b,c,d,label\n");
  for (int i = 0; i < 8; ++i)
    fprintf(f, "%.9g,%.9g,%.9g,%.9g,%d\n", x[i * 4], x[i * 4 + 1], x[i * 4 + 2], x[i * 4 + 3], (int)y[i]);
  fclose(f);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: two_models DIR\n");
    return 2;
  }
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
  write_batch(argv[1], x, y);
  write_outputs(argv[1], "Tiny", tiny, Tiny_train_step, Tiny_forward, 5, x, y);
  write_outputs(argv[1], "Other", other, Other_train_step, Other_forward, 3, x, y);
  write_outputs(argv[1], "p_Tiny", prefixed, p_Tiny_train_step, p_Tiny_forward, 9, x, y);
  sinter_destroy(tiny);
  sinter_destroy(other);
  sinter_destroy(prefixed);
  return finish("two models in one program");
}
