#pragma once
// The loss's reduction and its gradient in one pass on the CPU: grad = scale·(ŷ − y), Σ (ŷ − y)² in
// double, per-row partials added in row order. Twin: cuda/squared_error.cuh.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "lane_sums.hpp"
#include "parallel.hpp"
#include "tag.hpp"

#include <vector>

namespace sparse_distill::backend::cpu_system {

/// grad = scale·(prediction − target); returns Σ (prediction − target)².
template <class Scalar>
double squared_error_gradient(tag, matrix_view<const Scalar> prediction, matrix_view<const Scalar> target,
                                  matrix_view<Scalar> grad, Scalar scale) {
    std::vector<double>& partials = row_partials(target.rows, 1);
    // Rows (tokens) are independent; each writes its own partial sum.
#pragma omp parallel for schedule(static) if (worth_threads(target.size()))
    for (index_t r = 0; r < target.rows; ++r) {
        const Scalar* p = prediction.data + r * target.cols;
        const Scalar* t = target.data + r * target.cols;
        Scalar* g = grad.data + r * target.cols;
        // Squares summed in double, in sum_lanes fixed lanes so the loop vectorises (one running double
        // would serialise on the add's latency) and the order does not depend on the address.
        double lanes[sum_lanes] = {};
        index_t c = 0;
        for (; c + sum_lanes <= target.cols; c += sum_lanes)
            for (index_t l = 0; l < sum_lanes; ++l) {
                const Scalar diff = p[c + l] - t[c + l];
                g[c + l] = scale * diff;
                lanes[l] += static_cast<double>(diff) * static_cast<double>(diff);
            }
        for (index_t l = 0; c < target.cols; ++c, ++l) {
            const Scalar diff = p[c] - t[c];
            g[c] = scale * diff;
            lanes[l] += static_cast<double>(diff) * static_cast<double>(diff);
        }
        double sum = 0;
        for (index_t l = 0; l < sum_lanes; ++l) sum += lanes[l];
        partials[r] = sum;
    }
    double total = 0;
    for (index_t r = 0; r < target.rows; ++r) total += partials[r];
    return total;
}

}  // namespace sparse_distill::backend::cpu_system
