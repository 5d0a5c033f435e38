#pragma once
// The float products of backend::cpu_onednn: fp32 operands and accumulation in oneDNN's matmul, whose
// AVX-512 kernels multiply at 1.4–1.8× Eigen's rate on this project's CPUs (docs/performance.md); only the
// order of the sums differs from backend::cpu. Double and thin products run as backend::cpu runs them
// (onednn/products.hpp).
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "../cpu/tag.hpp"
#include "../onednn/products.hpp"

namespace sparse_distill::backend::cpu_onednn_system {

/// Derives from the CPU backend's tag: every op but the products is the CPU backend's, found by
/// argument-dependent lookup through the base (backend/policy.hpp); the closer base wins for matmul.
struct tag : cpu_system::tag {};

template <class Scalar>
void matmul(tag, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
            matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    onednn_system::matmul<onednn_system::operands::f32>(a, transpose_a, b, transpose_b, c, alpha, beta);
}

}  // namespace sparse_distill::backend::cpu_onednn_system
