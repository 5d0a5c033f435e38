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

add_library(sparse_distill_cuda INTERFACE)
add_library(sparse_distill::cuda ALIAS sparse_distill_cuda)
target_link_libraries(sparse_distill_cuda INTERFACE sparse_distill CUDA::cudart CUDA::cublas)
target_compile_options(sparse_distill_cuda INTERFACE
  # C++20 as for the .cpp files (CMake 3.25 does not know nvcc's C++20 flag, so it is given here);
  $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>
  # constexpr std:: functions (std::max, …) in device code;
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>
  # Eigen's defaulted __host__ __device__ members (20012) and view.hpp's const→const conversion operator,
  # which is never called for a const view (554): both harmless.
  $<$<COMPILE_LANGUAGE:CUDA>:-diag-suppress=20012,554>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
if(OpenMP_CXX_FOUND)
  # The host half of a .cu file runs the same OpenMP loops as a .cpp file.
  target_compile_options(sparse_distill_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fopenmp>)
endif()
