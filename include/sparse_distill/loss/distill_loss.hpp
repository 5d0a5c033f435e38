#pragma once
// The distillation loss and its gradient with respect to the student's output.
//   loss = mean_b Σ_d (ŷ_bd − y_bd)² + λ·L1
//   L1   = mean_b Σ_j |a_bj|   (l1_reduction::batch_mean: λ is per token, the default)
//        = Σ_b Σ_j |a_bj|      (l1_reduction::batch_sum: the post's own code, λ = 2e-4 there)
#include "../backend/activation_sums.hpp"
#include "../tensor/view.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill {

enum class l1_reduction { batch_mean, batch_sum };

inline std::string_view to_string(l1_reduction r) { return r == l1_reduction::batch_mean ? "batch_mean" : "batch_sum"; }
inline l1_reduction parse_l1_reduction(std::string_view name) {
    if (name == "batch_mean") return l1_reduction::batch_mean;
    if (name == "batch_sum") return l1_reduction::batch_sum;
    throw std::invalid_argument("unknown L1 reduction '" + std::string(name) + "': expected batch_mean or batch_sum");
}

struct loss_settings {
    double l1_coeff = 0;                            ///< λ
    l1_reduction reduction = l1_reduction::batch_mean;
};

/// The terms of one batch's loss, reported apart. `loss = mse + l1_coeff·l1` holds exactly.
struct loss_terms {
    double loss = 0;
    double mse = 0;  ///< mean_b Σ_d (ŷ − y)²  (summed over dimensions, averaged over tokens)
    double l1 = 0;   ///< the L1 term as the reduction defines it
    double l0 = 0;   ///< mean_b #{j : a_bj > 0}, active features per token
};

/// ∂(λ·L1)/∂|a_bj|: λ/batch for batch_mean, λ for batch_sum.
inline double l1_gradient(const loss_settings& s, index_t batch) {
    return s.reduction == l1_reduction::batch_mean ? s.l1_coeff / double(batch) : s.l1_coeff;
}

/// The loss terms of a batch from its sums: Σ (ŷ − y)² and the activation sums of the forward pass.
inline loss_terms loss_terms_of(const loss_settings& s, index_t batch, double squared_error, const backend::activation_sums& sums) {
    loss_terms t;
    t.mse = squared_error / double(batch);
    t.l1 = s.reduction == l1_reduction::batch_mean ? sums.abs_sum / double(batch) : sums.abs_sum;
    t.l0 = sums.positive_count / double(batch);
    t.loss = t.mse + s.l1_coeff * t.l1;
    return t;
}

/// Computes the loss terms of a batch whose forward pass gave `prediction` and `sums`, and writes
/// ∂loss/∂ŷ = (2/batch)(ŷ − y) into `prediction_grad`.
template <class Backend, class Scalar>
loss_terms distill_loss(const loss_settings& s, in_matrix<Scalar> prediction, in_matrix<Scalar> target,
                        matrix_view<Scalar> prediction_grad, const backend::activation_sums& sums) {
    const index_t batch = target.rows;
    if (batch == 0) throw std::invalid_argument("distill_loss: empty batch");
    const double squared = Backend::squared_error_gradient(prediction, target, prediction_grad, Scalar(2.0 / double(batch)));
    return loss_terms_of(s, batch, squared, sums);
}

}  // namespace sparse_distill
