// The runtime's version (the project's, from CMake), for `--version` and for programs that load a library.
#include <sinter/sinter.h>

extern "C" const char* sinter_version(void) { return SINTER_VERSION; }
