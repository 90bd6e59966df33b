# Runs the frontend fuzzer for SECONDS on a fresh corpus seeded with every .sn file of the repository
# (examples, lib, tests); fails if the fuzzer finds a crash, a leak or a timeout.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/corpus ${WORK_DIR}/artifacts)
file(GLOB_RECURSE seeds ${SOURCE_DIR}/examples/*.sn ${SOURCE_DIR}/lib/*.sn ${SOURCE_DIR}/tests/*.sn)
set(i 0)
foreach(seed IN LISTS seeds)
  math(EXPR i "${i} + 1")
  configure_file(${seed} ${WORK_DIR}/corpus/seed_${i}.sn COPYONLY)
endforeach()
message(STATUS "fuzzing the frontend for ${SECONDS} s from ${i} seeds")
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=30 -rss_limit_mb=2048 -max_len=65536
          -artifact_prefix=${WORK_DIR}/artifacts/ ${WORK_DIR}/corpus
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the fuzzer failed (exit ${rc}); the input is in ${WORK_DIR}/artifacts")
endif()
