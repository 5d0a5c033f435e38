#pragma once
// Build-time facts every header may ask about: OpenMP, CUDA, and the library version.

#define SD_VERSION_MAJOR 0
#define SD_VERSION_MINOR 1
#define SD_VERSION_PATCH 0
#define SD_VERSION_STRING "0.1.0"

#if defined(_OPENMP)
#define SD_HAS_OPENMP 1
#include <omp.h>
#else
#define SD_HAS_OPENMP 0
#endif

#if defined(__CUDACC__)
#define SD_HAS_CUDA 1
#define SD_HOST_DEVICE __host__ __device__
#else
#define SD_HAS_CUDA 0
#define SD_HOST_DEVICE
#endif

namespace sparse_distill {

/// Number of threads OpenMP (and Eigen's products, which use OpenMP) will use.
inline int num_threads() {
#if SD_HAS_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Sets the thread count for OpenMP loops and Eigen's parallel products alike.
inline void set_num_threads(int n) {
#if SD_HAS_OPENMP
    omp_set_num_threads(n < 1 ? 1 : n);
#else
    (void)n;
#endif
}

}  // namespace sparse_distill
