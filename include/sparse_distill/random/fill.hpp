#pragma once
// Filling host matrices from a counter_rng, in parallel: element (r, c) always receives draw
// number offset + r·cols + c, so the result is identical for any thread count.
#include "../config.hpp"
#include "../tensor/matrix.hpp"
#include "philox.hpp"

namespace sparse_distill::random {

/// Fills `out` with N(0, stddev²) draws numbered from `offset`.
template <class Derived>
void fill_normal(Eigen::DenseBase<Derived>& out, const counter_rng& rng, std::uint64_t offset = 0,
                 double stddev = 1.0) {
    using Scalar = typename Derived::Scalar;
    const index_t rows = out.rows(), cols = out.cols();
    // Rows are independent; the `if` keeps tiny fills (the toy's batch of 8) off the thread pool.
#pragma omp parallel for schedule(static) if (rows * cols > 16384)
    for (index_t r = 0; r < rows; ++r) {
        index_t c = 0;
        while (c < cols) {
            // Draws come in Box-Muller pairs (2k, 2k+1): use both halves when they land in this row.
            const std::uint64_t n = offset + static_cast<std::uint64_t>(r * cols + c);
            const std::array<double, 2> pair = rng.normal_pair(n >> 1);
            out(r, c) = static_cast<Scalar>(stddev * pair[n & 1u]);
            ++c;
            if ((n & 1u) == 0 && c < cols) {
                out(r, c) = static_cast<Scalar>(stddev * pair[1]);
                ++c;
            }
        }
    }
}

/// Fills `out` with U[low, high) draws numbered from `offset`.
template <class Derived>
void fill_uniform(Eigen::DenseBase<Derived>& out, const counter_rng& rng, double low, double high,
                  std::uint64_t offset = 0) {
    using Scalar = typename Derived::Scalar;
    const index_t rows = out.rows(), cols = out.cols();
    // As fill_normal: rows are independent, small fills stay on one thread.
#pragma omp parallel for schedule(static) if (rows * cols > 16384)
    for (index_t r = 0; r < rows; ++r)
        for (index_t c = 0; c < cols; ++c)
            out(r, c) = static_cast<Scalar>(
                rng.uniform(offset + static_cast<std::uint64_t>(r * cols + c), low, high));
}

}  // namespace sparse_distill::random
