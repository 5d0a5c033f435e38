# Quick start, command 2: cmake -P cmake/run_tests.cmake
# Installs missing Debian packages, builds the library's tests, examples and benchmarks, runs all tests.
cmake_minimum_required(VERSION 3.21)
get_filename_component(SD_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include(${CMAKE_CURRENT_LIST_DIR}/ensure_debian_packages.cmake)

# chromium: the report tests open the HTML reports in it, headless. python3-numpy: an independent reader of
# the exported students (tests/distill/read_exports.py). Open MPI: distill's multi-rank training and its
# mpirun tests (tests/distributed). oneDNN: backend::cpu_bf16's products.
sd_ensure_debian_packages(make libeigen3-dev nlohmann-json3-dev libxxhash-dev libcli11-dev doctest-dev libbenchmark-dev chromium python3-numpy
  libopenmpi-dev openmpi-bin libdnnl-dev)
sd_build(${SD_ROOT} ${SD_ROOT}/build
  CONFIGURE_ARGS -DSD_BUILD_TESTS=ON -DSD_BUILD_BENCHMARKS=ON -DSD_BUILD_EXAMPLES=ON)

cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${SD_ROOT}/build --output-on-failure --parallel ${cores}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tests failed")
endif()
