#pragma once
// The float products of backend::cpu_bf16: operands rounded to bf16, products accumulated in fp32 by
// oneDNN's matmul (its AVX512-BF16 kernels: two bf16 products per fp32 lane and instruction, about twice
// the fp32 rate). Double products, and thin float products (an outer product or a matrix–vector product,
// bound by memory, where bf16 operands would gain nothing) run as backend::cpu runs them.
// The rounding costs what it costs on the GPU (cuda_bf16): about 2e-3 relative error per product.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "../cpu/matmul.hpp"
#include "../onednn/products.hpp"

#include <type_traits>

namespace sparse_distill::backend::cpu_bf16_system {

/// Derives from the CPU backend's tag: every op but the float products is the CPU backend's, found by
/// argument-dependent lookup through the base (backend/policy.hpp); the closer base wins for matmul.
struct tag : cpu_system::tag {};

/// c = alpha·op(a)·op(b) + beta·c: float through bf16 operands, double (and thin products) as on the CPU.
template <class Scalar>
void matmul(tag, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
            matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    const index_t k = transpose_a ? a.rows : a.cols;
    if constexpr (std::is_same_v<Scalar, float>) {
        if (!cpu_system::thin_product(c.rows, c.cols, k) && c.size() > 0) {
            onednn_system::thread_products().run(onednn_system::operands::bf16, a, transpose_a, b, transpose_b, c, alpha, beta);
            return;
        }
    }
    cpu_system::matmul(cpu_system::tag{}, a, transpose_a, b, transpose_b, c, alpha, beta);
}

}  // namespace sparse_distill::backend::cpu_bf16_system
