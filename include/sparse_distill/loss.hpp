#pragma once
// Module umbrella: the distillation loss and the gradients of a batch.
#include "loss/distill_loss.hpp"
#include "loss/loss_and_gradients.hpp"
