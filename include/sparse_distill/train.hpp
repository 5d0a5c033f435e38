#pragma once
// Module umbrella: the training loop and its callbacks.
#include "train/train_settings.hpp"
#include "train/callbacks.hpp"
#include "train/trainer.hpp"
#include "train/progress.hpp"
