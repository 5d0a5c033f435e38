#pragma once
// What the CPU passes share about threads: when a pass is worth splitting, and per-row partial sums
// added in row order afterwards, so a reduction does not depend on the thread count.
#include "../../config.hpp"

#include <vector>

namespace sparse_distill::backend::cpu_system {

/// Per-row partial sums, reused between calls so the steady state allocates nothing.
inline std::vector<double>& row_partials(index_t rows, int per_row) {
    thread_local std::vector<double> partials;
    partials.assign(static_cast<std::size_t>(rows * per_row), 0.0);
    return partials;
}

inline bool worth_threads(index_t elements) { return elements > 32768; }

}  // namespace sparse_distill::backend::cpu_system
