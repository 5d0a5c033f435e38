#pragma once
// What the fused activation pass reports for the loss: Σ|a| and the number of a > 0.
namespace sparse_distill::backend {

struct activation_sums {
    double abs_sum = 0;         ///< Σ_b Σ_j |a_bj|
    double positive_count = 0;  ///< #{(b, j) : a_bj > 0}, the L0 numerator
};

/// What a batch-wide top-K selection (BatchTopK) reports: the sums of what it kept and the smallest
/// positive value kept, which moves the inference threshold.
struct batch_selection {
    activation_sums sums;
    double smallest_kept = 0;  ///< min{a_bj : a_bj > 0} after the selection; 0 when nothing is positive
};

}  // namespace sparse_distill::backend
