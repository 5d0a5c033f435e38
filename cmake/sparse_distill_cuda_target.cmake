# How a CUDA program uses the library: the CUDA runtime, cuBLAS and the nvcc flags the CUDA headers need.
# Used for this project's own CUDA programs (cmake/cuda.cmake) and installed with the opt-in `cuda`
# component (`cmake --install <build> --component cuda`), where find_package(sparse_distill COMPONENTS
# cuda) makes sparse_distill::cuda from it.
function(sparse_distill_cuda_usage target)
  target_link_libraries(${target} INTERFACE CUDA::cudart CUDA::cublas)
  target_compile_options(${target} INTERFACE
    # C++20 as for the .cpp files (CMake 3.25 does not know nvcc's C++20 flag, so it is given here);
    $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>
    # constexpr std:: functions (std::max, …) in device code;
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>
    # Eigen's defaulted __host__ __device__ members (20012) and view.hpp's const→const conversion operator,
    # which is never called for a const view (554): both harmless.
    $<$<COMPILE_LANGUAGE:CUDA>:-diag-suppress=20012,554>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
  if(TARGET OpenMP::OpenMP_CXX)
    # The host half of a .cu file runs the same OpenMP loops as a .cpp file.
    target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fopenmp>)
  endif()
endfunction()
