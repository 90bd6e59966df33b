# Debian's cross compilers for 64-bit Arm (g++-aarch64-linux-gnu): builds the runtime that
# `sinter build --target-triple aarch64-linux-gnu` links (runtime/cross/).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
