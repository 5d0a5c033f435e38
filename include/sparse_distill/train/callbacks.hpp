#pragma once
// Optional training hooks, detected at compile time: a callback object may define any of
//   void on_step(const step_report<Scalar, Backend>&)   every `callback_every` steps and at the last
//   bool should_stop()                                  checked after each step
//   void on_finish(const train_summary&)                once, at the end
// and the trainer calls only what exists. trainer::run takes any number of them.
#include "../loss/distill_loss.hpp"
#include "../nn/student.hpp"

#include <concepts>
#include <cstdint>
#include <limits>

namespace sparse_distill {

/// What one step measured (before its update: the loss of the weights that saw the batch).
struct step_metrics {
    std::int64_t step = 0;         ///< 1-based number of updates made, this one included
    std::int64_t tokens_seen = 0;  ///< tokens trained on so far, this batch included
    double lr = 0;                 ///< the learning rate this update used
    loss_terms terms;
    /// Share of latents dead after this step (not fired for more than train_settings::dead_tokens
    /// tokens); NaN for students whose latents have no exact zeros (GELU).
    double dead_fraction = std::numeric_limits<double>::quiet_NaN();
};

template <class Scalar, class Backend>
struct step_report {
    const step_metrics& metrics;
    const student_mlp<Scalar, Backend>& student;
};

struct train_summary {
    std::int64_t steps = 0;
    std::int64_t tokens = 0;
    double seconds = 0;
    step_metrics last;
    bool stopped_early = false;  ///< a callback's should_stop() ended the run, or the source ran out
    /// SIGINT or SIGTERM that stopped the run after a checkpoint (0: none); a program then exits
    /// with 128 + stop_signal (130 for SIGINT), as a shell reports a process killed by it.
    int stop_signal = 0;
    /// The run had already made all its steps when run() began (a finished run resumed again): nothing
    /// was trained and `last` holds no step; a program then leaves the run's outputs as they are.
    bool already_finished = false;
};

/// The callback that does nothing (for a caller that must return some callback).
struct no_callbacks {};

namespace detail {
template <class C, class Report>
concept has_on_step = requires(C& c, const Report& r) { c.on_step(r); };
template <class C>
concept has_should_stop = requires(C& c) { { c.should_stop() } -> std::convertible_to<bool>; };
template <class C>
concept has_on_finish = requires(C& c, const train_summary& s) { c.on_finish(s); };

template <class C, class Report>
void call_on_step(C& c, const Report& r) {
    if constexpr (has_on_step<C, Report>) c.on_step(r);
}
template <class C>
bool call_should_stop(C& c) {
    if constexpr (has_should_stop<C>) return c.should_stop();
    else return false;
}
template <class C>
void call_on_finish(C& c, const train_summary& s) {
    if constexpr (has_on_finish<C>) c.on_finish(s);
}
}  // namespace detail

}  // namespace sparse_distill
