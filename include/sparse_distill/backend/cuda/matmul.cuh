#pragma once
// Matrix products through cuBLAS. Our matrices are row-major; cuBLAS is column-major, and a row-major
// X [r, c] is the column-major Xᵀ [c, r]. So C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ, which
// in cuBLAS terms is gemm(op_b, op_a, n, m, k, B, A) with each operand's leading dimension its row length.
#include "../../tensor/view.hpp"
#include "context.cuh"

#include <stdexcept>
#include <type_traits>

namespace sparse_distill::backend::detail {

template <class Scalar>
void cuda_matmul(matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
                 matrix_view<Scalar> c, Scalar alpha, Scalar beta, matmul_precision precision) {
    const index_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols;
    const index_t kb = transpose_b ? b.cols : b.rows, n = transpose_b ? b.rows : b.cols;
    if (k != kb || c.rows != m || c.cols != n) throw std::invalid_argument("matmul: shapes do not agree");
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: C = beta·C (cuBLAS would do the same, but not for every k = 0 case)
        if (beta == Scalar(0))
            cuda_check(cudaMemsetAsync(c.data, 0, sizeof(Scalar) * c.size(), cuda_context::get().stream()), "cudaMemsetAsync");
        else if (beta != Scalar(1))
            throw std::invalid_argument("matmul: k = 0 with beta other than 0 or 1 is not supported");
        return;
    }
    const cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasHandle_t handle = cuda_context::get().cublas();
    constexpr bool is_double = std::is_same_v<Scalar, double>;
    static_assert(is_double || std::is_same_v<Scalar, float>, "the CUDA backend supports float and double");
    const cudaDataType_t type = is_double ? CUDA_R_64F : CUDA_R_32F;
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if constexpr (is_double) compute = CUBLAS_COMPUTE_64F;
    else if (precision == matmul_precision::tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    else if (precision == matmul_precision::bf16) compute = CUBLAS_COMPUTE_32F_FAST_16BF;
    cublas_check(cublasGemmEx(handle, op_b, op_a, int(n), int(m), int(k), &alpha, b.data, type, int(b.cols), a.data, type,
                              int(a.cols), &beta, c.data, type, int(c.cols), compute, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx");
}

}  // namespace sparse_distill::backend::detail
