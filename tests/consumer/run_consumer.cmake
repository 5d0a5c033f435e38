# Builds and runs tests/consumer/app against this source tree, through add_subdirectory or through an
# install + find_package. Run with cmake -DMODE=... -DSOURCE_DIR=... -DWORK_DIR=... -P run_consumer.cmake
cmake_minimum_required(VERSION 3.21)
file(REMOVE_RECURSE ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

set(app ${SOURCE_DIR}/tests/consumer/app)
# The app is built unoptimised (Debug): what is checked is that it builds and runs against the target,
# and -O0 compiles it in two thirds of the time (CI's budget).
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib -DSD_BUILD_TESTS=OFF -DSD_BUILD_EXAMPLES=OFF
      -DSD_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/lib)
  run(${CMAKE_COMMAND} -S ${app} -B ${WORK_DIR}/app -DSD_CONSUMER_MODE=find_package
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Debug)
else()
  run(${CMAKE_COMMAND} -S ${app} -B ${WORK_DIR}/app -DSD_CONSUMER_MODE=add_subdirectory
      -DSD_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=Debug)
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/app)
run(${WORK_DIR}/app/consumer)
