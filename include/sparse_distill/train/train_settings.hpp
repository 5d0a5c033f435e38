#pragma once
// What a training run does: how many tokens, in which batches, with which loss, optimizer and schedule.
#include "../loss/distill_loss.hpp"
#include "../optim/adam.hpp"
#include "../optim/schedule.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace sparse_distill {

/// Where and when the trainer saves its full state (see checkpoint.hpp), and whether it resumes.
struct checkpoint_settings {
    std::filesystem::path directory;  ///< empty: no checkpoints, no signal handling, no resume
    std::int64_t every = 0;           ///< write every this many steps (0: only at the end and on a signal)
    bool resume = false;              ///< run() first loads directory's checkpoint, which must exist
    bool on_signal = true;            ///< SIGINT/SIGTERM during run(): checkpoint and stop after the current step
    /// What else must match when resuming (checked by name and value), e.g. {"seed", "7"},
    /// {"inputs", "acts_*.npy"}: the trainer cannot see the seeds or files that made its source.
    std::map<std::string, std::string> identity;
};

struct train_settings {
    index_t batch_size = 1024;
    std::int64_t tokens = 0;              ///< tokens to train on; steps = tokens / batch_size (full batches)
    loss_settings loss;
    optim::adam adam;
    optim::warmup_cosine schedule;        ///< schedule.total_steps ≤ 0 means "the run's step count"
    std::int64_t callback_every = 100;    ///< callbacks' on_step runs every this many steps, and at the last
    checkpoint_settings checkpoint;

    std::int64_t steps() const { return batch_size > 0 ? tokens / batch_size : 0; }

    void validate() const {
        if (batch_size <= 0) throw std::invalid_argument("train_settings: batch_size must be positive");
        if (tokens < batch_size)
            throw std::invalid_argument("train_settings: tokens (" + std::to_string(tokens) +
                                        ") must be at least one batch (" + std::to_string(batch_size) + ")");
        if (callback_every <= 0) throw std::invalid_argument("train_settings: callback_every must be positive");
        if (checkpoint.every < 0) throw std::invalid_argument("train_settings: checkpoint.every must be non-negative");
        if (checkpoint.directory.empty() && (checkpoint.every > 0 || checkpoint.resume))
            throw std::invalid_argument("train_settings: checkpoint.every and checkpoint.resume need checkpoint.directory");
        if (!(loss.l1_coeff >= 0)) throw std::invalid_argument("train_settings: loss.l1_coeff must be non-negative");
        adam.validate();
        schedule.validate();
    }
};

}  // namespace sparse_distill
