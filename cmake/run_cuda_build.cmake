# CI step: cmake -P cmake/run_cuda_build.cmake
# Compiles every CUDA source (the backend's headers through the CUDA suite, replayed steps, the GPU
# benchmark, and the distill program with --backend cuda) with nvcc in build-cuda, then runs the CUDA suite, which without a GPU reports itself
# skipped (exit 77). CI has nvcc but no GPU: this proves the CUDA code builds; benchmarks/gpu/run_device.sh
# runs it on a GPU. Where no nvcc exists (a user's Debian machine) the step says so and does nothing.
cmake_minimum_required(VERSION 3.21)
get_filename_component(SD_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include(${CMAKE_CURRENT_LIST_DIR}/ensure_debian_packages.cmake)

find_program(SD_NVCC nvcc PATHS /usr/local/cuda/bin)
if(NOT SD_NVCC)
  message(STATUS "run_cuda_build: no nvcc found (PATH, /usr/local/cuda/bin): the CUDA sources are not compiled")
  return()
endif()
sd_ensure_debian_packages(make libeigen3-dev nlohmann-json3-dev libxxhash-dev doctest-dev libbenchmark-dev libcli11-dev)
sd_build(${SD_ROOT} ${SD_ROOT}/build-cuda
  TARGETS test_cuda bench_gpu_step distill
  # The host code is compiled unoptimised (-O0; device code is still optimised by ptxas): this step only
  # proves that everything compiles, ~25% faster so (CI's budget); run_device.sh makes its own optimised build.
  CONFIGURE_ARGS -DSD_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER=${SD_NVCC} -DSD_BUILD_TESTS=ON -DSD_BUILD_BENCHMARKS=ON -DSD_WITH_MPI=OFF
                 -DCMAKE_CUDA_FLAGS_RELEASE=-O0
                 -DSD_BUILD_EXAMPLES=ON)
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${SD_ROOT}/build-cuda --output-on-failure -R "^cuda: "
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the CUDA suite failed")
endif()
