#pragma once
// The float products of backend::cpu_onednn: fp32 operands and accumulation in oneDNN's matmul, whose
// AVX-512 kernels multiply at 1.4–1.8× Eigen's rate on this project's CPUs (docs/performance.md). Double products, and thin float products (an outer product or a matrix–vector product,
// bound by memory) run as backend::cpu runs them. Same precision as backend::cpu; only the order of the
// sums differs (about 1e-7 relative per product).
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "../cpu/matmul.hpp"
#include "../onednn/products.hpp"

#include <type_traits>

namespace sparse_distill::backend::cpu_onednn_system {

/// Derives from the CPU backend's tag: every op but the float products is the CPU backend's, found by
/// argument-dependent lookup through the base (backend/policy.hpp); the closer base wins for matmul.
struct tag : cpu_system::tag {};

/// c = alpha·op(a)·op(b) + beta·c: float through oneDNN, double (and thin products) as on the CPU.
template <class Scalar>
void matmul(tag, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
            matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    const index_t k = transpose_a ? a.rows : a.cols;
    if constexpr (std::is_same_v<Scalar, float>) {
        if (!cpu_system::thin_product(c.rows, c.cols, k) && c.size() > 0) {
            onednn_system::thread_products().run(onednn_system::operands::f32, a, transpose_a, b, transpose_b, c, alpha, beta);
            return;
        }
    }
    cpu_system::matmul(cpu_system::tag{}, a, transpose_a, b, transpose_b, c, alpha, beta);
}

}  // namespace sparse_distill::backend::cpu_onednn_system
