#pragma once
// What the CPU passes share about threads: when a pass is worth splitting, and per-row partial sums
// added in row order afterwards, so a reduction does not depend on the thread count.
#include "../../config.hpp"
#include "../activation_sums.hpp"

#include <vector>

namespace sparse_distill::backend::cpu_system {

/// Per-row partial sums, reused between calls so the steady state allocates nothing.
inline std::vector<double>& row_partials(index_t rows, int per_row) {
    thread_local std::vector<double> partials;
    partials.assign(static_cast<std::size_t>(rows * per_row), 0.0);
    return partials;
}

/// The activation sums of a pass that wrote (Σ|a|, #(a > 0)) per row into `partials` (2 per row),
/// added in row order.
inline activation_sums sum_row_activation_partials(const std::vector<double>& partials, index_t rows) {
    activation_sums sums;
    for (index_t r = 0; r < rows; ++r) {
        sums.abs_sum += partials[2 * r];
        sums.positive_count += partials[2 * r + 1];
    }
    return sums;
}

inline bool worth_threads(index_t elements) { return elements > 32768; }

}  // namespace sparse_distill::backend::cpu_system
