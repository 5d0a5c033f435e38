#pragma once
// The distillation loss and its gradient with respect to the student's output.
//   loss = mean_b Σ_d (ŷ_bd − y_bd)² + λ·L1 + l0_coeff·L0 + auxk_alpha·auxk
//   L1   = mean_b Σ_j |a_bj|   (l1_reduction::batch_mean: λ is per token, the default)
//        = Σ_b Σ_j |a_bj|      (l1_reduction::batch_sum: the post's own code, λ = 2e-4 there)
//   L0   = mean_b #{j : a_bj > 0}, penalised for JumpReLU students (through its threshold's estimator)
//   auxk = AuxK's dead-latent term (nn/penalties.hpp, auxk_settings), for TopK and BatchTopK students
#include "../config.hpp"
#include "../backend/activation_sums.hpp"
#include "../backend/step_sums.hpp"
#include "../backend/ops.hpp"
#include "../detail/enum_names.hpp"
#include "../detail/json_fields.hpp"
#include "../nn/penalties.hpp"
#include "../nn/student_config.hpp"
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
    double l1_coeff = 0;  ///< λ (sparsity_mode::l1 students)
    // The member shares its enum's name, which is qualified here.
    sparse_distill::l1_reduction l1_reduction = sparse_distill::l1_reduction::batch_mean;
    double l0_coeff = 0;      ///< JumpReLU's L0 penalty
    double bandwidth = 0.05;  ///< JumpReLU's straight-through kernel width ε (SAELens' default)
    auxk_settings auxk;       ///< AuxK, off while auxk.alpha = 0

    /// Throws std::invalid_argument naming the setting that does not apply to `student`'s sparsity mode.
    void validate_for(const student_config& student) const {
        auto fail = [](const std::string& what) { throw std::invalid_argument("loss_settings: " + what); };
        const std::string mode(to_string(student.sparsity));
        if (!(l1_coeff >= 0) || !std::isfinite(l1_coeff)) fail("l1_coeff must be non-negative and finite");
        if (!(l0_coeff >= 0) || !std::isfinite(l0_coeff)) fail("l0_coeff must be non-negative and finite");
        if (!(bandwidth > 0) || !std::isfinite(bandwidth)) fail("bandwidth must be positive and finite (got " + std::to_string(bandwidth) + ")");
        if (!(auxk.alpha >= 0) || !std::isfinite(auxk.alpha)) fail("auxk.alpha must be non-negative and finite");
        if (auxk.k < 0) fail("auxk.k must be non-negative (0: d_out / 2)");
        if (l1_coeff > 0 && student.sparsity != sparsity_mode::l1)
            fail("l1_coeff = " + std::to_string(l1_coeff) + " applies to sparsity = l1; a " + mode +
                 " student's sparsity comes from " + (student.sparsity == sparsity_mode::jumprelu ? "l0_coeff" : "k"));
        if (l0_coeff > 0 && student.sparsity != sparsity_mode::jumprelu)
            fail("l0_coeff applies to sparsity = jumprelu, not " + mode);
        if (auxk.enabled() && !keeps_k_latents(student.sparsity))
            fail("auxk.alpha > 0: AuxK trains dead latents of topk and batchtopk students, not " + mode);
        if (auxk.enabled() && auxk.to_encoder && student.pre_bias != pre_bias::none)
            fail("auxk.to_encoder with a pre-bias is not supported (the transcoders of SAELens and sparsify have none)");
    }

    bool operator==(const loss_settings&) const = default;
};

/// loss_settings as JSON: one key per field, the field's name; from_json as student_config's.
template <class Json>
void to_json(Json& j, const loss_settings& s) {
    j = Json{{"l1_coeff", s.l1_coeff}, {"l1_reduction", s.l1_reduction}, {"l0_coeff", s.l0_coeff},
             {"bandwidth", s.bandwidth}, {"auxk", s.auxk}};
}
template <class Json>
void from_json(const Json& j, loss_settings& s) {
    detail::json_fields<Json>(j, "loss_settings")("l1_coeff", s.l1_coeff)("l1_reduction", s.l1_reduction)("l0_coeff", s.l0_coeff)(
        "bandwidth", s.bandwidth)("auxk", s.auxk)
        .refuse_other_keys();
}

/// The terms of one batch's loss, reported apart. `loss = mse + l1_coeff·l1 + l0_coeff·l0 +
/// auxk.alpha·auxk` holds exactly.
struct loss_terms {
    double loss = 0;
    double mse = 0;   ///< mean_b Σ_d (ŷ − y)²  (summed over dimensions, averaged over tokens)
    double l1 = 0;    ///< the L1 term as the reduction defines it
    double l0 = 0;    ///< mean_b #{j : a_bj > 0}, active features per token
    double auxk = 0;  ///< AuxK's term before alpha (0 without AuxK or dead latents)
    double total_variance = 0;    ///< Σ_b Σ_d (y − ȳ)², AuxK's normaliser (0 without AuxK)
    double threshold_window = 0;  ///< JumpReLU: entries inside the kernel window, |pre − θ| < ε/2
};

/// ∂(λ·L1)/∂|a_bj|: λ/batch for batch_mean, λ for batch_sum.
inline double l1_gradient(const loss_settings& s, index_t batch) {
    return s.l1_reduction == l1_reduction::batch_mean ? s.l1_coeff / double(batch) : s.l1_coeff;
}

/// The penalties' gradients for a batch of `batch` tokens, as the student's backward pass takes them.
inline penalty_gradients penalty_gradients_of(const loss_settings& s, index_t batch) {
    return {l1_gradient(s, batch), s.l0_coeff / double(batch), s.bandwidth};
}

/// The loss terms of a batch from its sums: Σ (ŷ − y)², the activation sums of the forward pass and
/// AuxK's term.
inline loss_terms loss_terms_of(const loss_settings& s, index_t batch, const backend::step_sums& sums) {
    loss_terms t;
    t.mse = sums.squared_error / double(batch);
    t.l1 = s.l1_reduction == l1_reduction::batch_mean ? sums.activations.abs_sum / double(batch) : sums.activations.abs_sum;
    t.l0 = sums.activations.positive_count / double(batch);
    t.auxk = sums.auxk;
    t.total_variance = sums.total_variance;
    t.threshold_window = sums.threshold_window;
    t.loss = t.mse + s.l1_coeff * t.l1 + s.l0_coeff * t.l0 + s.auxk.alpha * t.auxk;
    return t;
}

/// Returns Σ (ŷ − y)² of a batch whose forward pass gave `prediction`, and writes
/// ∂loss/∂ŷ = (2/batch)(ŷ − y) into `prediction_grad`; `batch` is target.rows unless given (a rank's
/// rows of a larger global batch).
template <class Backend, class Scalar>
double squared_error_and_gradient(in_matrix<Scalar> prediction, in_matrix<Scalar> target, matrix_view<Scalar> prediction_grad,
                                  index_t batch = 0) {
    if (batch == 0) batch = target.rows;
    if (target.rows == 0) throw std::invalid_argument("squared_error_and_gradient: empty batch");
    return backend::squared_error_gradient<Backend>(prediction, target, prediction_grad, Scalar(2.0 / double(batch)));
}

}  // namespace sparse_distill
