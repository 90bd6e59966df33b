# What `cmake --install` puts where. The layout is the build tree's (runtime/CMakeLists.txt): bin/sinter finds
# ../lib and ../share/sinter/lib beside itself, so a prefix works wherever it is unpacked.
#   bin/sinter                              the compiler
#   lib/libsinter_runtime.{a,so}            the runtime; libsinter_exe_main.a, main() of training executables
#   lib/sinter/<triple>/                    the runtime built for a cross target (aarch64-linux-gnu)
#   include/sinter/                         sinter.h, model_abi.h
#   share/sinter/lib/                       the standard library (nn.sn)
#   lib/cmake/Sinter/                       find_package(Sinter) and sinter_add_model()
#   lib/pkgconfig/sinter.pc                 pkg-config
#   lib/python3/dist-packages/sinter/       the Python package (on Debian's sys.path when the prefix is /usr)
#   share/doc/sinter/, share/man/man1/sinter.1, share/bash-completion/completions/sinter
include(CMakePackageConfigHelpers)
set(SINTER_CMAKE_DIR lib/cmake/Sinter)

install(TARGETS sinter EXPORT SinterTargets RUNTIME DESTINATION bin)
install(TARGETS sinter_runtime sinter_runtime_shared sinter_exe_main EXPORT SinterTargets
  ARCHIVE DESTINATION lib LIBRARY DESTINATION lib)
set_target_properties(sinter_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(sinter_runtime_shared PROPERTIES EXPORT_NAME runtime_shared)
set_target_properties(sinter_exe_main PROPERTIES EXPORT_NAME exe_main)
if(TARGET sinter_exe_main_mpi)  # main() of `sinter build --mpi` executables
  install(TARGETS sinter_exe_main_mpi ARCHIVE DESTINATION lib)
endif()
install(EXPORT SinterTargets NAMESPACE Sinter:: DESTINATION ${SINTER_CMAKE_DIR})
install(FILES runtime/include/sinter/sinter.h runtime/include/sinter/model_abi.h DESTINATION include/sinter)
install(DIRECTORY lib/ DESTINATION share/sinter/lib FILES_MATCHING PATTERN "*.sn")

configure_package_config_file(cmake/SinterConfig.cmake.in ${PROJECT_BINARY_DIR}/SinterConfig.cmake
  INSTALL_DESTINATION ${SINTER_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SinterConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SinterConfig.cmake ${PROJECT_BINARY_DIR}/SinterConfigVersion.cmake
  cmake/SinterModel.cmake DESTINATION ${SINTER_CMAKE_DIR})

configure_file(cmake/sinter.pc.in ${PROJECT_BINARY_DIR}/sinter.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sinter.pc DESTINATION lib/pkgconfig)

install(DIRECTORY python/sinter DESTINATION lib/python3/dist-packages PATTERN "__pycache__" EXCLUDE)

install(FILES README.md DESTINATION share/doc/sinter)
install(DIRECTORY docs/ DESTINATION share/doc/sinter/docs)
install(DIRECTORY examples/ DESTINATION share/doc/sinter/examples)
install(FILES tools/completion/sinter.bash DESTINATION share/bash-completion/completions RENAME sinter)

# The man page is `sinter --help` and `sinter --version`, formatted by help2man, so it cannot drift.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/sinter.1
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr
            --name "ahead-of-time compiler for deep-learning models" -o ${PROJECT_BINARY_DIR}/sinter.1 $<TARGET_FILE:sinter>
    DEPENDS sinter VERBATIM)
  add_custom_target(sinter_man ALL DEPENDS ${PROJECT_BINARY_DIR}/sinter.1)
  install(FILES ${PROJECT_BINARY_DIR}/sinter.1 DESTINATION share/man/man1)
else()
  message(STATUS "help2man not found: no man page (tools/setup-deps.sh installs it)")
endif()
