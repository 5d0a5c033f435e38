# CI step: cmake -P cmake/run_fuzzers.cmake [-DFUZZ_SECONDS=60]
# Builds the libFuzzer targets of the npy and safetensors parsers with clang (ASan + UBSan) in build-fuzz
# and fuzzes each for FUZZ_SECONDS, starting from the seed corpus in tests/fuzz/corpus. Fails on any
# finding: a crash, a sanitizer report, an exception other than io_error, a failed round trip, an input
# that takes over 10 s, or a single allocation over 256 MiB (the inputs are a few KiB, so that can
# only come from a size read from the file and not checked).
cmake_minimum_required(VERSION 3.21)
get_filename_component(SD_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include(${CMAKE_CURRENT_LIST_DIR}/ensure_debian_packages.cmake)
set(SD_FUZZ_FORMATS npy safetensors)
if(NOT DEFINED FUZZ_SECONDS)
  set(FUZZ_SECONDS 60)
endif()

# libclang-rt-dev holds libFuzzer and clang's sanitizer runtimes.
sd_ensure_debian_packages(make clang libclang-rt-dev libeigen3-dev nlohmann-json3-dev)
find_program(SD_CLANGXX clang++ REQUIRED)
sd_build(${SD_ROOT} ${SD_ROOT}/build-fuzz
  CONFIGURE_ARGS -DCMAKE_CXX_COMPILER=${SD_CLANGXX} -DSD_BUILD_FUZZERS=ON -DSD_BUILD_TESTS=OFF
                 -DSD_BUILD_EXAMPLES=OFF -DSD_BUILD_BENCHMARKS=OFF "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1")

# Both targets fuzz at once, one core each; each writes its own log (sh redirects it, as execute_process
# would merge the two).
set(commands "")
foreach(format IN LISTS SD_FUZZ_FORMATS)
  # New inputs go to the build tree's corpus; the seeds in the source tree are only read.
  set(corpus ${SD_ROOT}/build-fuzz/corpus/${format})
  file(MAKE_DIRECTORY ${corpus} ${SD_ROOT}/build-fuzz/findings/${format})
  list(APPEND commands COMMAND sh -c "exec \"$0\" \"$@\" > ${SD_ROOT}/build-fuzz/fuzz_${format}.log 2>&1"
       ${SD_ROOT}/build-fuzz/tests/fuzz/fuzz_${format}
       -max_total_time=${FUZZ_SECONDS} -timeout=10 -malloc_limit_mb=256 -print_final_stats=1
       -dict=${SD_ROOT}/tests/fuzz/${format}.dict -artifact_prefix=${SD_ROOT}/build-fuzz/findings/${format}/
       ${corpus} ${SD_ROOT}/tests/fuzz/corpus/${format})
endforeach()
message(STATUS "fuzzing npy and safetensors for ${FUZZ_SECONDS} s (logs: ${SD_ROOT}/build-fuzz/fuzz_*.log)")
execute_process(${commands} RESULTS_VARIABLE results)

set(failed "")
foreach(format rc IN ZIP_LISTS SD_FUZZ_FORMATS results)
  set(log ${SD_ROOT}/build-fuzz/fuzz_${format}.log)
  # libFuzzer's last status line and final statistics: coverage reached and executions run.
  file(STRINGS ${log} done REGEX "(DONE|INITED) +cov:")
  file(STRINGS ${log} stats REGEX "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)")
  list(POP_BACK done last)
  list(JOIN stats ", " stats)
  message(STATUS "fuzz_${format}: ${last}")
  message(STATUS "fuzz_${format}: ${stats}")
  if(NOT rc EQUAL 0)
    file(STRINGS ${log} tail REGEX "ERROR|SUMMARY|finding|terminate|what\\(\\)|Test unit written|artifact")
    list(JOIN tail "\n" tail)
    message(SEND_ERROR "fuzz_${format} found a problem (exit ${rc}); reproducer in ${SD_ROOT}/build-fuzz/findings/${format}, "
                       "full log ${log}:\n${tail}\nReplay it with ${SD_ROOT}/build-fuzz/tests/fuzz/fuzz_${format} <file>; "
                       "once fixed, keep it under tests/fuzz/crashes/${format}/ so the test suite replays it.")
    list(APPEND failed ${format})
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "fuzzing found problems in: ${failed}")
endif()
