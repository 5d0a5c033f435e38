#pragma once
// Every CUDA and cuBLAS call is checked: a failure throws backend::cuda_error naming the call and the
// runtime's own message, never a silent wrong answer.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace sparse_distill::backend {

/// A CUDA runtime or cuBLAS call failed; what() names the call and the error.
struct cuda_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace cuda_system {

inline void cuda_check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) {
        // Clear the thread's last-error state too, or the next launch check would report this error again
        // under another kernel's name once the caller has handled it.
        (void)cudaGetLastError();
        throw cuda_error(std::string("cuda: ") + what + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
    }
}

inline void cublas_check(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS)
        throw cuda_error(std::string("cublas: ") + what + ": " + cublasGetStatusName(status) + " (" +
                         cublasGetStatusString(status) + ")");
}

/// After a kernel launch: a bad configuration is reported here, at the launch that made it.
inline void cuda_check_launch(const char* kernel) { cuda_check(cudaGetLastError(), kernel); }

}  // namespace cuda_system
}  // namespace sparse_distill::backend
