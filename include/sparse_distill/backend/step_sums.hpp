#pragma once
// What one training step reduces to on the host: the loss's Σ (ŷ − y)² and the activation sums of the
// forward pass. The loss terms follow from these (loss/distill_loss.hpp, loss_terms_of).
#include "activation_sums.hpp"

namespace sparse_distill::backend {

struct step_sums {
    double squared_error = 0;
    activation_sums activations;
    double auxk = 0;              ///< AuxK's term (nn/penalties.hpp), 0 without it
    double total_variance = 0;    ///< AuxK's Σ (y − ȳ)²
    double threshold_window = 0;  ///< JumpReLU: entries inside its kernel window
};

}  // namespace sparse_distill::backend
