# CI step: cmake -P cmake/run_sanitized_tests.cmake
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (GCC, -Og -g1, assertions on) in
# build-asan and runs it there, LeakSanitizer included. Any report aborts the program that made it, so the
# test fails. To fit CI's time, the examples are not built (the distill program alone takes minutes to
# compile sanitized, and its code is the library's, which the tests cover) and a few long tests are left out.
cmake_minimum_required(VERSION 3.21)
get_filename_component(SD_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include(${CMAKE_CURRENT_LIST_DIR}/ensure_debian_packages.cmake)

# GCC's sanitizer runtimes (libasan8, libubsan1) come with g++ itself; the rest as for run_tests.cmake.
sd_ensure_debian_packages(make libeigen3-dev nlohmann-json3-dev libxxhash-dev doctest-dev chromium)
# -Og compiles in ~60% of -O1's time and the programs run ~20% slower (tests/train's suite: 226 → 130 s
# to compile, 3.0 → 3.6 s to run), which CI's budget needs; -g1 (line tables) is enough for stack traces,
# and without -DNDEBUG Eigen's index checks are on too.
sd_build(${SD_ROOT} ${SD_ROOT}/build-asan
  CONFIGURE_ARGS -DSD_BUILD_TESTS=ON -DSD_BUILD_EXAMPLES=OFF -DSD_BUILD_BENCHMARKS=OFF -DSD_SANITIZE=ON -DSD_WITH_MPI=OFF
                 "-DCMAKE_CXX_FLAGS_RELEASE=-Og -g1")

# Left out: "experiments: planted distillation: a ReLU student ..." and "experiments: shared data:
# distilling ...", which take 35-70 s each in the optimised build already (long training runs of code that
# the train: and nn: tests cover at a smaller size), the same for "shared data: the SAE baseline ..." and the
# single-neuron toy over five seeds (15 runs of 10,000 steps; the replication test runs it small), and
# "packaging: ...", which build a consumer project
# with its own, unsanitized flags. (doctest_discover_tests drops the space after "experiments:".)
set(excluded "^experiments: ?(planted distillation: a ReLU student|shared data: distilling|shared data: the SAE baseline|single neuron over seeds)|^packaging: ")

# halt_on_error: stop at the first report; detect_leaks: LeakSanitizer runs at exit of every test program.
set(ENV{ASAN_OPTIONS} "halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1")
set(ENV{UBSAN_OPTIONS} "halt_on_error=1:print_stacktrace=1")
cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${SD_ROOT}/build-asan --output-on-failure --parallel ${cores}
                        -E "${excluded}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sanitized tests failed")
endif()
