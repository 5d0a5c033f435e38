#pragma once
// What the fused activation pass reports for the loss: Σ|a| and the number of a > 0.
namespace sparse_distill::backend {

struct activation_sums {
    double abs_sum = 0;         ///< Σ_b Σ_j |a_bj|
    double positive_count = 0;  ///< #{(b, j) : a_bj > 0}, the L0 numerator
};

}  // namespace sparse_distill::backend
