#pragma once
// The CUDA backend's tags: every op of cuda/ takes `tag` first, and matmul takes `precision_tag<P>`, from
// which it reads how float products run. backend::cuda_policy<P> derives from precision_tag<P>, so
// argument-dependent lookup finds these ops for every CUDA policy (backend/policy.hpp). Twin: cpu/tag.hpp.
namespace sparse_distill::backend {

/// How cuBLAS multiplies float matrices. Double products are always plain fp64.
enum class matmul_precision {
    fp32,  ///< IEEE fp32 (CUBLAS_COMPUTE_32F)
    tf32,  ///< operands rounded to tf32 on the tensor cores, fp32 accumulate (CUBLAS_COMPUTE_32F_FAST_TF32)
    bf16,  ///< operands converted to bf16, bf16 tensor-core products with fp32 accumulate (CUBLAS_COMPUTE_32F)
};

inline const char* to_string(matmul_precision p) {
    return p == matmul_precision::fp32 ? "fp32" : p == matmul_precision::tf32 ? "tf32" : "bf16";
}

namespace cuda_system {

struct tag {};

template <matmul_precision Precision>
struct precision_tag : tag {
    static constexpr matmul_precision precision = Precision;
};

}  // namespace cuda_system
}  // namespace sparse_distill::backend
