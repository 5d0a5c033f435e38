#pragma once
// Step replay on the CPU: there is nothing to record, a step's ops run when called. Twin:
// cuda/step_replay.cuh, where a step's launches are recorded once and replayed.
#include "../step_sums.hpp"
#include "tag.hpp"

#include <utility>

namespace sparse_distill::backend::cpu_system {

/// A recorded step: none on the CPU.
struct step_recording {
    static constexpr bool captured() { return false; }
};

template <class QueueStep>
step_sums replay_step(tag, step_recording&, QueueStep&& queue_step) {
    return std::forward<QueueStep>(queue_step)();
}

}  // namespace sparse_distill::backend::cpu_system
