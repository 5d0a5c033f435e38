#pragma once
// Sums that vectorise yet run in a fixed order. Eigen's .sum() and .dot() start their vector loop at
// the first aligned element, so their order (and float result) follows where the buffer happens to
// be allocated: two identical runs can differ in the last bits. Here lane l of 16 running sums takes
// the elements i ≡ l (mod 16), and the lanes are added in order, whatever the address.
#include "../../tensor/matrix.hpp"

#include <cmath>

namespace sparse_distill::backend::cpu_system {

inline constexpr index_t sum_lanes = 16;

/// Σ_i |x_i|, accumulated in Scalar lanes and returned in double.
template <class Scalar>
double lane_sum_abs(const Scalar* x, index_t n) {
    Scalar acc[sum_lanes] = {};
    index_t i = 0;
    for (; i + sum_lanes <= n; i += sum_lanes)
        for (index_t l = 0; l < sum_lanes; ++l) acc[l] += std::abs(x[i + l]);
    for (index_t l = 0; i < n; ++i, ++l) acc[l] += std::abs(x[i]);
    double total = 0;
    for (index_t l = 0; l < sum_lanes; ++l) total += static_cast<double>(acc[l]);
    return total;
}

/// Σ_i x_i·y_i, accumulated in Scalar lanes (as a Scalar matrix product accumulates) and returned in double.
template <class Scalar>
double lane_dot(const Scalar* x, const Scalar* y, index_t n) {
    Scalar acc[sum_lanes] = {};
    index_t i = 0;
    for (; i + sum_lanes <= n; i += sum_lanes)
        for (index_t l = 0; l < sum_lanes; ++l) acc[l] += x[i + l] * y[i + l];
    for (index_t l = 0; i < n; ++i, ++l) acc[l] += x[i] * y[i];
    double total = 0;
    for (index_t l = 0; l < sum_lanes; ++l) total += static_cast<double>(acc[l]);
    return total;
}

}  // namespace sparse_distill::backend::cpu_system
