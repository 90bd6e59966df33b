# sinter_add_model(<target> MODEL <file.sn>
#                  [EMIT shared|static|object]   (default: static)
#                  [TARGET_CPU <cpu>]            (default: sinter's portable default, x86-64-v3 on x86-64;
#                                                 `native` for the build machine's)
#                  [HEADER <name.h>]             (default: <target>.h)
#                  [SYMBOL_PREFIX <prefix>])
#
# Compiles a model at build time into a library target that carries the directory of its generated C
# header and everything it links with (the runtime, zlib, libm, the C++ library), so that
# `target_link_libraries(app PRIVATE <target>)` is all a program needs. The model is compiled again when
# the model file or any file it imports changes (sinter writes a depfile).
function(sinter_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "MODEL;EMIT;TARGET_CPU;HEADER;SYMBOL_PREFIX" "")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sinter_add_model(${target}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_MODEL)
    message(FATAL_ERROR "sinter_add_model(${target}): MODEL <file.sn> is required")
  endif()
  if(NOT ARG_EMIT)
    set(ARG_EMIT static)
  endif()
  if(NOT ARG_HEADER)
    set(ARG_HEADER ${target}.h)
  endif()
  cmake_path(ABSOLUTE_PATH ARG_MODEL BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
  if(NOT EXISTS ${ARG_MODEL})
    message(FATAL_ERROR "sinter_add_model(${target}): model file ${ARG_MODEL} does not exist")
  endif()

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/sinter_models/${target})
  if(ARG_EMIT STREQUAL "shared")
    set(emit shared)
    set(output ${dir}/lib${target}.so)
    set(kind SHARED)
  elseif(ARG_EMIT STREQUAL "static")
    set(emit static)
    set(output ${dir}/lib${target}.a)
    set(kind STATIC)
  elseif(ARG_EMIT STREQUAL "object")
    set(emit obj)
    set(output ${dir}/${target}.o)
    set(kind OBJECT)
  else()
    message(FATAL_ERROR "sinter_add_model(${target}): EMIT must be shared, static or object, not '${ARG_EMIT}'")
  endif()
  set(flags)
  if(ARG_TARGET_CPU)
    list(APPEND flags --target-cpu ${ARG_TARGET_CPU})
  endif()
  if(ARG_SYMBOL_PREFIX)
    list(APPEND flags --symbol-prefix ${ARG_SYMBOL_PREFIX})
  endif()

  file(MAKE_DIRECTORY ${dir})
  add_custom_command(
    OUTPUT ${output} ${dir}/${ARG_HEADER}
    COMMAND Sinter::sinter build ${ARG_MODEL} --emit ${emit} ${flags} -o ${output} --depfile ${output}.d
    COMMAND Sinter::sinter build ${ARG_MODEL} --emit header ${flags} -o ${dir}/${ARG_HEADER}
    DEPENDS ${ARG_MODEL} Sinter::sinter
    DEPFILE ${output}.d
    COMMENT "Compiling model ${ARG_MODEL} (${emit})"
    VERBATIM)
  add_custom_target(${target}_compile DEPENDS ${output} ${dir}/${ARG_HEADER})

  add_library(${target} ${kind} IMPORTED GLOBAL)
  if(kind STREQUAL "OBJECT")
    set_target_properties(${target} PROPERTIES IMPORTED_OBJECTS ${output})
    # The object needs the runtime; C programs link the C++ library through it too.
    set(links Sinter::runtime stdc++)
  else()
    set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${output})
    if(kind STREQUAL "SHARED")
      set_target_properties(${target} PROPERTIES IMPORTED_SONAME lib${target}.so)
      set(links)
    else()
      # The archive holds the runtime too; these are what the runtime itself links with.
      set(links ZLIB::ZLIB Threads::Threads m stdc++)
    endif()
  endif()
  set_target_properties(${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${dir}
    INTERFACE_LINK_LIBRARIES "${links}")
  add_dependencies(${target} ${target}_compile)
endfunction()
