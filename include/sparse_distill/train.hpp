#pragma once
// Module umbrella: the training loop and its callbacks.
#include "train/train_settings.hpp"
#include "train/checkpoint.hpp"
#include "train/numerical_fault.hpp"
#include "train/source_position.hpp"
#include "train/callbacks.hpp"
#include "train/trainer.hpp"
#include "train/progress.hpp"
#include "train/progress_bar.hpp"
#include "train/metrics_log.hpp"
#include "train/memory_estimate.hpp"
