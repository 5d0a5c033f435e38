#pragma once
// The distillation loss and its gradient with respect to the student's output.
//   loss = mean_b Σ_d (ŷ_bd − y_bd)² + λ·L1
//   L1   = mean_b Σ_j |a_bj|   (l1_reduction::batch_mean: λ is per token, the default)
//        = Σ_b Σ_j |a_bj|      (l1_reduction::batch_sum: the post's own code, λ = 2e-4 there)
#include "../config.hpp"
#include "../backend/activation_sums.hpp"
#include "../backend/ops.hpp"
#include "../detail/enum_names.hpp"
#include "../detail/json_fields.hpp"
#include "../tensor/view.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill {

enum class l1_reduction { batch_mean, batch_sum };

inline constexpr auto l1_reduction_names = detail::make_enum_table<l1_reduction>(
    "L1 reduction", {{l1_reduction::batch_mean, "batch_mean"}, {l1_reduction::batch_sum, "batch_sum"}});

constexpr std::string_view to_string(l1_reduction r) { return l1_reduction_names.name(r); }
inline l1_reduction parse_l1_reduction(std::string_view name) { return l1_reduction_names.parse(name); }
SD_JSON_ENUM(l1_reduction, l1_reduction_names)

struct loss_settings {
    double l1_coeff = 0;  ///< λ
    // The member shares its enum's name, which is qualified here.
    sparse_distill::l1_reduction l1_reduction = sparse_distill::l1_reduction::batch_mean;

    bool operator==(const loss_settings&) const = default;
};

/// loss_settings as JSON: {"l1_coeff", "l1_reduction"}, the fields' names; from_json as student_config's.
template <class Json>
void to_json(Json& j, const loss_settings& s) {
    j = Json{{"l1_coeff", s.l1_coeff}, {"l1_reduction", s.l1_reduction}};
}
template <class Json>
void from_json(const Json& j, loss_settings& s) {
    detail::json_fields<Json>(j, "loss_settings")("l1_coeff", s.l1_coeff)("l1_reduction", s.l1_reduction).refuse_other_keys();
}

/// The terms of one batch's loss, reported apart. `loss = mse + l1_coeff·l1` holds exactly.
struct loss_terms {
    double loss = 0;
    double mse = 0;  ///< mean_b Σ_d (ŷ − y)²  (summed over dimensions, averaged over tokens)
    double l1 = 0;   ///< the L1 term as the reduction defines it
    double l0 = 0;   ///< mean_b #{j : a_bj > 0}, active features per token
};

/// ∂(λ·L1)/∂|a_bj|: λ/batch for batch_mean, λ for batch_sum.
inline double l1_gradient(const loss_settings& s, index_t batch) {
    return s.l1_reduction == l1_reduction::batch_mean ? s.l1_coeff / double(batch) : s.l1_coeff;
}

/// The loss terms of a batch from its sums: Σ (ŷ − y)² and the activation sums of the forward pass.
inline loss_terms loss_terms_of(const loss_settings& s, index_t batch, double squared_error, const backend::activation_sums& sums) {
    loss_terms t;
    t.mse = squared_error / double(batch);
    t.l1 = s.l1_reduction == l1_reduction::batch_mean ? sums.abs_sum / double(batch) : sums.abs_sum;
    t.l0 = sums.positive_count / double(batch);
    t.loss = t.mse + s.l1_coeff * t.l1;
    return t;
}

/// Returns Σ (ŷ − y)² of a batch whose forward pass gave `prediction`, and writes
/// ∂loss/∂ŷ = (2/batch)(ŷ − y) into `prediction_grad`.
template <class Backend, class Scalar>
double squared_error_and_gradient(in_matrix<Scalar> prediction, in_matrix<Scalar> target, matrix_view<Scalar> prediction_grad) {
    const index_t batch = target.rows;
    if (batch == 0) throw std::invalid_argument("squared_error_and_gradient: empty batch");
    return backend::squared_error_gradient<Backend>(prediction, target, prediction_grad, Scalar(2.0 / double(batch)));
}

}  // namespace sparse_distill
