#pragma once
// What a training run does: how many tokens, in which batches, with which loss, optimizer and schedule.
#include "../config.hpp"
#include "../detail/json_fields.hpp"
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

    bool operator==(const checkpoint_settings&) const = default;
};

/// checkpoint_settings as JSON: one key per field, the field's name; from_json as student_config's.
template <class Json>
void to_json(Json& j, const checkpoint_settings& c) {
    j = Json{{"directory", c.directory.string()}, {"every", c.every}, {"resume", c.resume}, {"on_signal", c.on_signal},
             {"identity", c.identity}};
}
template <class Json>
void from_json(const Json& j, checkpoint_settings& c) {
    detail::json_fields<Json> field(j, "checkpoint_settings");
    field("directory", c.directory)("every", c.every)("resume", c.resume)("on_signal", c.on_signal)("identity", c.identity);
    field.refuse_other_keys();
}

struct train_settings {
    index_t batch_size = 1024;
    std::int64_t tokens = 0;              ///< tokens to train on; steps = tokens / batch_size (full batches)
    loss_settings loss;
    optim::adam adam;
    optim::warmup_cosine schedule;        ///< schedule.total_steps ≤ 0 means "the run's step count"
    std::int64_t callback_every = 100;    ///< callbacks' on_step runs every this many steps, and at the last
    checkpoint_settings checkpoint;
    /// Let the backend record a step's launches once and replay them (backend::replay_step: CUDA graphs;
    /// the CPU ignores it). Worth it where launch overhead dominates (small models); every step then
    /// takes the dense path. The results are bit-identical to steps without replay.
    bool replay_steps = false;
    /// A latent is dead once it has not fired (a > 0) for more than this many tokens (sparsify's
    /// dead_feature_threshold): the trainer counts it for students with exact zeros (ReLU and the
    /// selecting modes), reports the dead share, and trains the dead ones with AuxK when loss.auxk is on.
    std::int64_t dead_tokens = 10'000'000;
    /// Stop (numerical_fault, as for a NaN loss, before the update) when a step's loss exceeds this
    /// many times the run's first loss: a run that diverges by orders of magnitude (an unstable Adam
    /// setting, a far too high rate) is stopped rather than left to finish with a meaningless student.
    /// 0: never.
    double max_loss_growth = 1e4;

    std::int64_t steps() const { return batch_size > 0 ? tokens / batch_size : 0; }

    /// Settings for `steps` updates on batches of `batch_size` tokens (tokens = steps · batch_size),
    /// every other field at its default.
    static train_settings for_steps(std::int64_t steps, index_t batch_size = 1024) {
        if (steps <= 0 || batch_size <= 0)
            throw std::invalid_argument("train_settings::for_steps: steps and batch_size must be positive (got " +
                                        std::to_string(steps) + ", " + std::to_string(batch_size) + ")");
        train_settings s;
        s.batch_size = batch_size;
        s.tokens = steps * batch_size;
        return s;
    }

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
        if (dead_tokens <= 0) throw std::invalid_argument("train_settings: dead_tokens must be positive");
        if (!(max_loss_growth == 0 || max_loss_growth > 1))
            throw std::invalid_argument("train_settings: max_loss_growth must be 0 (never stop) or above 1");
        adam.validate();
        schedule.validate();
    }

    bool operator==(const train_settings&) const = default;
};

/// train_settings as JSON, in checkpoints' run descriptions and the distill program's metrics.json:
/// one key per field, the field's name, the parts (loss, adam, schedule, checkpoint) as objects of
/// their own. from_json as student_config's: absent keys keep their defaults, and an error names the
/// key's path, e.g. `train_settings.schedule.lr: expected a number, found "fast"`.
template <class Json>
void to_json(Json& j, const train_settings& s) {
    j = Json{{"batch_size", s.batch_size}, {"tokens", s.tokens},   {"loss", s.loss},
             {"adam", s.adam},             {"schedule", s.schedule}, {"callback_every", s.callback_every},
             {"checkpoint", s.checkpoint}, {"replay_steps", s.replay_steps}, {"dead_tokens", s.dead_tokens},
             {"max_loss_growth", s.max_loss_growth}};
}
template <class Json>
void from_json(const Json& j, train_settings& s) {
    detail::json_fields<Json> field(j, "train_settings");
    field("batch_size", s.batch_size)("tokens", s.tokens)("loss", s.loss)("adam", s.adam)("schedule", s.schedule);
    field("callback_every", s.callback_every)("checkpoint", s.checkpoint)("replay_steps", s.replay_steps)("dead_tokens", s.dead_tokens);
    field("max_loss_growth", s.max_loss_growth);
    field.refuse_other_keys();
}

}  // namespace sparse_distill
