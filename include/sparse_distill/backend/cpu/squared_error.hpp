#pragma once
// The loss's reduction and its gradient in one pass on the CPU: grad = scale·(ŷ − y), Σ (ŷ − y)² in
// double, per-row partials added in row order. Twin: cuda/squared_error.cuh.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
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
        double sum = 0;
        for (index_t c = 0; c < target.cols; ++c) {
            const index_t i = r * target.cols + c;
            const Scalar diff = prediction.data[i] - target.data[i];
            grad.data[i] = scale * diff;
            sum += static_cast<double>(diff) * static_cast<double>(diff);
        }
        partials[r] = sum;
    }
    double total = 0;
    for (index_t r = 0; r < target.rows; ++r) total += partials[r];
    return total;
}

}  // namespace sparse_distill::backend::cpu_system
