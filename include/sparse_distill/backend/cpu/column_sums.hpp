#pragma once
// CPU column reductions (bias gradients). Twin: cuda/column_sums.cuh.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "tag.hpp"

#include <algorithm>

namespace sparse_distill::backend::cpu_system {

/// out[c] = alpha·Σ_r m[r, c] + beta·out[c]. Threads own disjoint column blocks and walk the rows in order, so the
/// summation order (and the result) is the same for every thread count.
template <class Scalar>
void column_sums(tag, matrix_view<const Scalar> m, vector_view<Scalar> out, Scalar alpha, Scalar beta) {
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

}  // namespace sparse_distill::backend::cpu_system
