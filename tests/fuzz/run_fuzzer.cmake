# Runs one fuzz target for SECONDS on a fresh corpus and fails if it finds a crash, a sanitizer report, a
# leak or a timeout. The corpus is seeded with the files matching SEED_GLOBS (a ;-list of globs) and with
# what SEED_COMMAND (a program and its arguments, the corpus directory appended) writes.
#   cmake -DFUZZER=... -DWORK_DIR=... -DSECONDS=... [-DSEED_GLOBS=...] [-DSEED_COMMAND=...] -DMAX_LEN=... -P run_fuzzer.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/corpus ${WORK_DIR}/artifacts)
set(i 0)
if(SEED_GLOBS)
  file(GLOB_RECURSE seeds ${SEED_GLOBS})
  foreach(seed IN LISTS seeds)
    math(EXPR i "${i} + 1")
    get_filename_component(ext ${seed} EXT)
    configure_file(${seed} ${WORK_DIR}/corpus/seed_${i}${ext} COPYONLY)
  endforeach()
endif()
if(SEED_COMMAND)
  execute_process(COMMAND ${SEED_COMMAND} ${WORK_DIR}/corpus RESULT_VARIABLE seeded)
  if(NOT seeded EQUAL 0)
    message(FATAL_ERROR "writing the seeds failed: ${SEED_COMMAND}")
  endif()
endif()
file(GLOB corpus ${WORK_DIR}/corpus/*)
list(LENGTH corpus count)
if(count EQUAL 0)
  message(FATAL_ERROR "no seeds for ${FUZZER}")
endif()
message(STATUS "fuzzing ${FUZZER} for ${SECONDS} s from ${count} seeds")
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=30 -rss_limit_mb=2048 -max_len=${MAX_LEN}
          -print_final_stats=1 -artifact_prefix=${WORK_DIR}/artifacts/ ${WORK_DIR}/corpus
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the fuzzer failed (exit ${rc}); the input is in ${WORK_DIR}/artifacts")
endif()
