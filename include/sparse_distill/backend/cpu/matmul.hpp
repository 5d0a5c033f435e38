#pragma once
// CPU matrix products: Eigen, parallel through OpenMP. Twin: cuda/matmul.cuh.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "tag.hpp"

namespace sparse_distill::backend::cpu_system {

template <class Scalar>
const_matrix_map<Scalar> as_eigen(matrix_view<const Scalar> v) { return {v.data, v.rows, v.cols}; }
template <class Scalar>
matrix_map<Scalar> as_eigen(matrix_view<Scalar> v) { return {v.data, v.rows, v.cols}; }

/// c = alpha·op(a)·op(b) + beta·c, op(x) = xᵀ when the flag says so. Eigen picks the kernel for
/// each transpose combination without copying; beta = 0 overwrites c (no NaN from old contents).
template <class Scalar>
void matmul(tag, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
                matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    auto C = as_eigen(c);
    const auto A = as_eigen(a);
    const auto B = as_eigen(b);
    auto run = [&](const auto& lhs, const auto& rhs) {
        if (beta == Scalar(0)) {
            C.noalias() = alpha * (lhs * rhs);
        } else {
            if (beta != Scalar(1)) C *= beta;
            C.noalias() += alpha * (lhs * rhs);
        }
    };
    if (!transpose_a && !transpose_b) run(A, B);
    else if (!transpose_a && transpose_b) run(A, B.transpose());
    else if (transpose_a && !transpose_b) run(A.transpose(), B);
    else run(A.transpose(), B.transpose());
}

}  // namespace sparse_distill::backend::cpu_system
