# `cpack -G DEB` in the build directory: sinter_<version>_<arch>.deb, installable with
# `apt install ./sinter_*.deb` on Debian 12. Its dependencies: the shared libraries that dpkg-shlibdeps
# finds (LLVM, fmt, zlib, the C++ library; Open MPI's libopenmpi3 when Sinter is built with it, for
# `sinter train --mpi`), and what `sinter build` runs at build time: a C++ compiler and
# linker, and zlib's development files for -lz.
set(CPACK_PACKAGE_NAME sinter)
set(CPACK_PACKAGE_VENDOR "The Sinter authors")
set(CPACK_PACKAGE_CONTACT "Sinter maintainers <sinter@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Ahead-of-time compiler for deep-learning models")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "g++, zlib1g-dev")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake, pkg-config, python3-numpy")  # python3-numpy: the Python package
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "g++-aarch64-linux-gnu, python3-torch")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Sinter compiles a model written in a small language into native code through LLVM: a training\n executable, or a library with a C header that C, C++, Python or anything with a C FFI can call.\n Includes the runtime, a CMake package with sinter_add_model(), a pkg-config file and a Python package.")
include(CPack)
