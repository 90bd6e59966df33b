/* main() of an ahead-of-time training executable: the model's object file supplies sinter_model. */
#include <sinter/model_abi.h>

extern const sinter_model_desc sinter_model;

int main(int argc, char** argv) { return sinter_train_main(&sinter_model, argc, argv); }
