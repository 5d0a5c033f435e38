#pragma once
// CPU matrix products: Eigen, parallel through OpenMP. Twin: cuda/matmul.cuh.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "parallel.hpp"
#include "tag.hpp"

#include <algorithm>

namespace sparse_distill::backend::cpu_system {

template <class Scalar>
const_matrix_map<Scalar> as_eigen(matrix_view<const Scalar> v) { return {v.data, v.rows, v.cols}; }
template <class Scalar>
matrix_map<Scalar> as_eigen(matrix_view<Scalar> v) { return {v.data, v.rows, v.cols}; }

/// Inner dimensions up to this make a product "thin": an outer product, bound by writing c.
inline constexpr index_t thin_inner_dimension = 16;

/// Whether c [m, n] = op(a)·op(b) with inner dimension k is bound by memory rather than arithmetic: an
/// outer product (k ≤ 16) or a matrix–vector product (m = 1 or n = 1). Eigen runs a matrix–vector
/// product on one thread and fills c with zeros before an outer product, so on two cores these took a
/// third of the toy model's step (one thread working, the other waiting at the next barrier).
inline bool thin_product(index_t m, index_t n, index_t k) { return k <= thin_inner_dimension || m == 1 || n == 1; }

/// A thin product split into contiguous blocks of c's longer side, one per thread; every element is
/// computed whole by one thread. A short inner dimension runs as row updates c_i = Σ_k a_ik·b_k (each a
/// vectorised pass over a row of c, written once); a matrix–vector product is Eigen's on the slices.
template <class Lhs, class Rhs, class Dst, class Scalar>
void thin_matmul(const Lhs& lhs, const Rhs& rhs, Dst& c, Scalar alpha, Scalar beta) {
    const index_t inner = lhs.cols();
    const bool outer_product = inner <= thin_inner_dimension;
    const bool by_rows = outer_product || c.rows() >= c.cols();
    const index_t extent = by_rows ? c.rows() : c.cols();
    const index_t parts = worth_threads(c.size() * std::max<index_t>(inner, 1)) ? index_t(num_threads()) : 1;
    // One part per thread (a static schedule of `parts` iterations): each thread writes one block.
#pragma omp parallel for schedule(static) if (parts > 1)
    for (index_t part = 0; part < parts; ++part) {
        const index_t first = extent * part / parts, count = extent * (part + 1) / parts - first;
        if (count > 0 && outer_product) {
            for (index_t i = first; i < first + count; ++i) {
                auto row = c.row(i);
                if (beta == Scalar(0)) row.setZero();
                else if (beta != Scalar(1)) row *= beta;
                for (index_t k = 0; k < inner; ++k) row.noalias() += (alpha * lhs(i, k)) * rhs.row(k);
            }
        } else if (count > 0) {
            const auto product = [&](auto&& out, const auto& left, const auto& right) {
                if (beta == Scalar(0)) {
                    out.noalias() = alpha * (left * right);
                } else {
                    if (beta != Scalar(1)) out *= beta;
                    out.noalias() += alpha * (left * right);
                }
            };
            if (by_rows) product(c.middleRows(first, count), lhs.middleRows(first, count), rhs);
            else product(c.middleCols(first, count), lhs, rhs.middleCols(first, count));
        }
    }
}

/// c = alpha·op(a)·op(b) + beta·c, op(x) = xᵀ when the flag says so. Eigen picks the kernel for
/// each transpose combination without copying; beta = 0 overwrites c (no NaN from old contents).
template <class Scalar>
void matmul(tag, matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
                matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    auto C = as_eigen(c);
    const auto A = as_eigen(a);
    const auto B = as_eigen(b);
    const index_t inner = transpose_a ? a.rows : a.cols;
    auto run = [&](const auto& lhs, const auto& rhs) {
        if (thin_product(c.rows, c.cols, inner)) {
            thin_matmul(lhs, rhs, C, alpha, beta);
        } else if (beta == Scalar(0)) {
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
