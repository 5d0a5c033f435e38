#pragma once
// Training steps replayed from a CUDA graph. For small models (the toy, d = 64) a step is a few dozen
// short kernels and launch overhead dominates; a graph launches them all at once. The trainer hands
// over the work of one step (teacher when live, forward, loss, backward) as a callable and a recording
// per distinct batch buffer; the optimizer update stays outside, after the finite check.
//
// The first step on a recording runs as plain launches, so every buffer (workspace, scratch, staging,
// the teacher's scratch) reaches its size before anything is captured; the second is captured and
// replayed, and every later one replayed. Reductions leave their sums in the context's device slots
// while captured (their host value is NaN then), and they are read back after each replay. If the
// backend allocated or freed device memory since the capture (its allocation generation moved) the
// graph is captured again, since it holds raw addresses. A captured step cannot branch on a host
// value, so a replayed step takes the dense path (student_workspace::allow_sparse = false). Twin:
// cpu/step_replay.hpp.
#include "../step_sums.hpp"
#include "context.cuh"
#include "error.cuh"
#include "reduce.cuh"
#include "tag.cuh"

#include <cstdint>
#include <utility>

namespace sparse_distill::backend::cuda_system {

/// One recorded step: its graph, once captured.
class step_recording {
public:
    step_recording() = default;
    step_recording(step_recording&& other) noexcept { take(other); }
    step_recording& operator=(step_recording&& other) noexcept {
        if (this != &other) {
            release();
            take(other);
        }
        return *this;
    }
    step_recording(const step_recording&) = delete;
    step_recording& operator=(const step_recording&) = delete;
    ~step_recording() { release(); }

    bool captured() const { return exec_ != nullptr; }

    template <class QueueStep>
    friend step_sums replay_step(tag, step_recording& r, QueueStep&& queue_step) {
        cuda_context& ctx = cuda_context::get();
        if (!r.warmed_up_) {
            step_sums sums = std::forward<QueueStep>(queue_step)();
            r.warmed_up_ = true;
            return sums;
        }
        if (r.exec_ && r.generation_ != ctx.allocation_generation()) r.release();
        if (!r.exec_) r.capture(queue_step);
        cuda_check(cudaGraphLaunch(r.exec_, ctx.stream()), "cudaGraphLaunch");
        const double* sums = ctx.fetch_results(slot_abs_sum, 3);
        return step_sums{sums[slot_squared_error - slot_abs_sum],
                         activation_sums{sums[0], sums[slot_positive_count - slot_abs_sum]}};
    }

private:
    template <class QueueStep>
    void capture(QueueStep& queue_step) {
        cudaStream_t stream = cuda_context::get().stream();
        cuda_check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        try {
            queue_step();
        } catch (...) {
            cudaGraph_t broken = nullptr;
            cudaStreamEndCapture(stream, &broken);  // ends the capture; its error (invalidated) is expected
            (void)cudaGetLastError();
            if (broken) cudaGraphDestroy(broken);
            throw;
        }
        cuda_check(cudaStreamEndCapture(stream, &graph_), "cudaStreamEndCapture");
        try {
            cuda_check(cudaGraphInstantiate(&exec_, graph_, 0), "cudaGraphInstantiate");
        } catch (...) {
            release();
            throw;
        }
        generation_ = cuda_context::get().allocation_generation();
    }

    void release() {
        if (exec_) cudaGraphExecDestroy(exec_);
        if (graph_) cudaGraphDestroy(graph_);
        exec_ = nullptr;
        graph_ = nullptr;
    }
    void take(step_recording& other) {
        warmed_up_ = other.warmed_up_;
        graph_ = std::exchange(other.graph_, nullptr);
        exec_ = std::exchange(other.exec_, nullptr);
        generation_ = other.generation_;
    }

    bool warmed_up_ = false;
    cudaGraph_t graph_ = nullptr;
    cudaGraphExec_t exec_ = nullptr;
    std::uint64_t generation_ = 0;  ///< the context's allocation generation when captured
};

}  // namespace sparse_distill::backend::cuda_system
