/* main() of an ahead-of-time training executable: the model's object file supplies sinter_model. */
#include <sinter/sinter.h>
#include <stdio.h>
#include <string.h>

extern const sinter_model_desc sinter_model;

int main(int argc, char** argv) {
  /* --version is answered here, before the driver reads its flags: it names the model and the runtime. */
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; ++i)
    if (strcmp(argv[i], "--version") == 0) {
      printf("%s (model %s), Sinter runtime %s\n", argv[0], sinter_model.name, sinter_version());
      return 0;
    }
  return sinter_train_main(&sinter_model, argc, argv);
}
