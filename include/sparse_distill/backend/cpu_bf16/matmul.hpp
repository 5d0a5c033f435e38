#pragma once
// The float products of backend::cpu_bf16: operands rounded to bf16, products accumulated in fp32 by
// oneDNN's matmul (its AVX512-BF16 kernels: two bf16 products per fp32 lane and instruction, about twice
// the fp32 rate); about 2e-3 relative error per product, as on the GPU (cuda_bf16). Double and thin
// products run as backend::cpu runs them (onednn/products.hpp).
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "../cpu/tag.hpp"
#include "../onednn/products.hpp"

namespace sparse_distill::backend::cpu_bf16_system {

/// Derives from the CPU backend's tag: every op but the products is the CPU backend's, found by
/// argument-dependent lookup through the base (backend/policy.hpp); the closer base wins for matmul.
struct tag : cpu_system::tag {};

template <class Scalar>
void matmul(tag, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
            matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    onednn_system::matmul<onednn_system::operands::bf16>(a, transpose_a, b, transpose_b, c, alpha, beta);
}

}  // namespace sparse_distill::backend::cpu_bf16_system
