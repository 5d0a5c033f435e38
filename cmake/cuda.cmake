# SD_ENABLE_CUDA: the CUDA backend's programs (tests/cuda, benchmarks/gpu). The library target stays
# header-only and CPU-only; `sparse_distill::cuda` is what a CUDA program links: the library, the CUDA
# runtime and cuBLAS, and the nvcc flags the headers need. Included from the top-level CMakeLists.txt
# (enable_language must run in the top-level scope).

# Debian's CUDA-less machines have no nvcc on the PATH; NVIDIA's installer puts it here.
if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
# Hopper machine code (sm_90) plus its PTX, which the driver compiles for any newer GPU.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90-real 90-virtual)
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

include(${CMAKE_CURRENT_LIST_DIR}/sparse_distill_cuda_target.cmake)
add_library(sparse_distill_cuda INTERFACE)
add_library(sparse_distill::cuda ALIAS sparse_distill_cuda)
target_link_libraries(sparse_distill_cuda INTERFACE sparse_distill)
sparse_distill_cuda_usage(sparse_distill_cuda)
