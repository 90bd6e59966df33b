/* main() of an ahead-of-time training executable: the model's object file supplies sinter_model. */
#include <sinter/sinter.h>

extern const sinter_model_desc sinter_model;

int main(int argc, char** argv) {
  /* The driver answers --help and --version too (naming the model and the runtime). */
  return sinter_train_main(&sinter_model, argc, argv);
}
