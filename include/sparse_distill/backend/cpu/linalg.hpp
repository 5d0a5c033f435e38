#pragma once
// CPU matrix products (Eigen, parallel through OpenMP) and column reductions.
#include "../../config.hpp"
#include "../../tensor/view.hpp"

#include <algorithm>
#include <stdexcept>

namespace sparse_distill::backend::detail {

template <class Scalar>
const_matrix_map<Scalar> as_eigen(matrix_view<const Scalar> v) { return {v.data, v.rows, v.cols}; }
template <class Scalar>
matrix_map<Scalar> as_eigen(matrix_view<Scalar> v) { return {v.data, v.rows, v.cols}; }

/// c = alpha·op(a)·op(b) + beta·c, op(x) = xᵀ when the flag says so. Eigen picks the kernel for
/// each transpose combination without copying; beta = 0 overwrites c (no NaN from old contents).
template <class Scalar>
void cpu_matmul(matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
                matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    const index_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols;
    const index_t kb = transpose_b ? b.cols : b.rows, n = transpose_b ? b.rows : b.cols;
    if (k != kb || c.rows != m || c.cols != n)
        throw std::invalid_argument("matmul: shapes do not agree");
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

/// out[c] = alpha·Σ_r m[r, c] + beta·out[c]. Threads own disjoint column blocks and walk the rows in order, so the
/// summation order (and the result) is the same for every thread count.
template <class Scalar>
void cpu_column_sums(matrix_view<const Scalar> m, vector_view<Scalar> out, Scalar alpha, Scalar beta) {
    if (out.size != m.cols) throw std::invalid_argument("column_sums: output size differs from column count");
    constexpr index_t block = 64;
    const index_t blocks = (m.cols + block - 1) / block;
    // Split by column blocks, not rows: each thread owns its outputs and no reduction across threads is needed.
#pragma omp parallel for schedule(static) if (m.size() > 65536)
    for (index_t blk = 0; blk < blocks; ++blk) {
        const index_t first = blk * block, last = std::min(m.cols, first + block);
        Scalar acc[block] = {};
        for (index_t r = 0; r < m.rows; ++r) {
            const Scalar* row = m.data + r * m.cols;
            for (index_t c = first; c < last; ++c) acc[c - first] += row[c];
        }
        for (index_t c = first; c < last; ++c)
            out.data[c] = alpha * acc[c - first] + (beta == Scalar(0) ? Scalar(0) : beta * out.data[c]);
    }
}

}  // namespace sparse_distill::backend::detail
