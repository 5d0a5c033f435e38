#pragma once
// What the loss asks of the student's backward pass beyond ∂loss/∂ŷ: the gradients of its sparsity
// penalties, and the auxiliary loss that revives dead latents (AuxK).
#include "../config.hpp"
#include "../detail/json_fields.hpp"
#include "../tensor/matrix.hpp"

namespace sparse_distill {

/// The penalties' gradients with respect to each latent, for one batch (loss/distill_loss.hpp builds
/// them from loss_settings).
struct penalty_gradients {
    double l1 = 0;            ///< ∂(λ·L1)/∂|a_bj|: λ/batch or λ by the L1 reduction
    double l0 = 0;            ///< ∂(l0_coeff·L0)/∂H(pre_bj − θ_j) = l0_coeff/batch (JumpReLU)
    double bandwidth = 0.05;  ///< JumpReLU's straight-through kernel width ε
};

/// AuxK (sparsify; Gao et al. 2024, "Scaling and evaluating sparse autoencoders"): the dead latents D
/// (not fired for train_settings::dead_tokens tokens) reconstruct the residual e = y − ŷ (a constant):
///   k_aux = min(k or ⌊d_out/2⌋, |D|),  scale = min(|D| / (k or ⌊d_out/2⌋), 1)
///   â_b = relu(pre_b) on the k_aux latents of D with the largest relu(pre_b), ê = â·W_dec + b_dec
///   auxk = scale · Σ_b Σ_d (ê − e)² / Σ_b Σ_d (y − ȳ)²,  loss += alpha · auxk
/// Its gradient reaches W_dec and b_dec, and the encoder only with `to_encoder` (sparsify: no; the
/// OpenAI paper: yes).
struct auxk_settings {
    double alpha = 0;         ///< 0: no AuxK; sparsify's default is 1/32
    index_t k = 0;            ///< k_aux before the cap by |D|; 0: ⌊d_out/2⌋ (sparsify)
    bool to_encoder = false;

    bool enabled() const { return alpha > 0; }
    bool operator==(const auxk_settings&) const = default;
};

/// auxk_settings as JSON: {"alpha", "k", "to_encoder"}; from_json as student_config's.
template <class Json>
void to_json(Json& j, const auxk_settings& s) {
    j = Json{{"alpha", s.alpha}, {"k", s.k}, {"to_encoder", s.to_encoder}};
}
template <class Json>
void from_json(const Json& j, auxk_settings& s) {
    detail::json_fields<Json>(j, "auxk_settings")("alpha", s.alpha)("k", s.k)("to_encoder", s.to_encoder).refuse_other_keys();
}

}  // namespace sparse_distill
