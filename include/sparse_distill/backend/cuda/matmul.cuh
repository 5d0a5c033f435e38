#pragma once
// Matrix products through cuBLAS. Our matrices are row-major; cuBLAS is column-major, and a row-major
// X [r, c] is the column-major Xᵀ [c, r]. So C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ, which
// in cuBLAS terms is gemm(op_b, op_a, n, m, k, B, A) with each operand's leading dimension its row length.
// bf16 precision converts both operands to bf16 (round to nearest even, as a torch cast does) and runs a
// bf16 × bf16 → fp32 product with fp32 accumulation: cuBLAS's CUBLAS_COMPUTE_32F_FAST_16BF on fp32
// operands measured no faster than tf32 on an H200, the explicit conversion is.
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "context.cuh"
#include "reduce.cuh"

#include <cuda_bf16.h>

#include <cstdint>
#include <stdexcept>
#include <type_traits>

namespace sparse_distill::backend::cuda_system {

/// out = bf16(in), four elements per thread step where the pointers allow.
__global__ static void cuda_to_bf16_kernel(const float* in, __nv_bfloat16* out, long long n) {
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const bool aligned = (reinterpret_cast<std::uintptr_t>(in) % 16 == 0) && (reinterpret_cast<std::uintptr_t>(out) % 8 == 0);
    if (aligned) {
        const long long quads = n / 4;
        for (long long q = first; q < quads; q += stride) {
            const float4 v = reinterpret_cast<const float4*>(in)[q];
            __nv_bfloat162* o = reinterpret_cast<__nv_bfloat162*>(out) + 2 * q;
            o[0] = __floats2bfloat162_rn(v.x, v.y);
            o[1] = __floats2bfloat162_rn(v.z, v.w);
        }
        for (long long i = 4 * quads + first; i < n; i += stride) out[i] = __float2bfloat16_rn(in[i]);
    } else {
        for (long long i = first; i < n; i += stride) out[i] = __float2bfloat16_rn(in[i]);
    }
}

inline __nv_bfloat16* cuda_convert_to_bf16(const float* in, long long n, __nv_bfloat16* out) {
    cuda_to_bf16_kernel<<<cuda_grid_for((n + 3) / 4), cuda_block, 0, cuda_context::get().stream()>>>(in, out, n);
    cuda_check_launch("to_bf16");
    return out;
}

/// The precision comes from the policy's tag: backend::cuda_tf32 derives from precision_tag<tf32>.
template <matmul_precision Precision, class Scalar>
void matmul(precision_tag<Precision>, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b,
            bool transpose_b, matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    constexpr matmul_precision precision = Precision;
    const index_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols, n = transpose_b ? b.rows : b.cols;
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
    if constexpr (!is_double) {
        if (precision == matmul_precision::bf16) {
            // Both operands in one staging block, b's part 256-byte aligned.
            const std::size_t a_elements = static_cast<std::size_t>(a.size()), b_offset = (a_elements + 127) / 128 * 128;
            auto* staged = static_cast<__nv_bfloat16*>(cuda_context::get().staging(2 * (b_offset + b.size())));
            const __nv_bfloat16* a16 = cuda_convert_to_bf16(a.data, a.size(), staged);
            const __nv_bfloat16* b16 = cuda_convert_to_bf16(b.data, b.size(), staged + b_offset);
            cublas_check(cublasGemmEx(handle, op_b, op_a, int(n), int(m), int(k), &alpha, b16, CUDA_R_16BF, int(b.cols), a16,
                                      CUDA_R_16BF, int(a.cols), &beta, c.data, CUDA_R_32F, int(c.cols), CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT),
                         "cublasGemmEx(bf16)");
            return;
        }
    }
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if constexpr (is_double) compute = CUBLAS_COMPUTE_64F;
    else if (precision == matmul_precision::tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    cublas_check(cublasGemmEx(handle, op_b, op_a, int(n), int(m), int(k), &alpha, b.data, type, int(b.cols), a.data, type,
                              int(a.cols), &beta, c.data, type, int(c.cols), compute, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx");
}

}  // namespace sparse_distill::backend::cuda_system
