#pragma once
// What one training step reduces to on the host: the loss's Σ (ŷ − y)² and the activation sums of the
// forward pass. The loss terms follow from these (loss/distill_loss.hpp, loss_terms_of).
#include "activation_sums.hpp"

namespace sparse_distill::backend {

struct step_sums {
    double squared_error = 0;
    activation_sums activations;
};

}  // namespace sparse_distill::backend
