#pragma once
// Training steps replayed from a CUDA graph. For small models (the toy, d = 64) a step is a few dozen
// short kernels and launch overhead dominates; a graph launches them all at once. The teacher (when
// live), the student's forward pass, the loss and the backward pass are captured once per distinct
// batch buffer and replayed; the loss sums stay on the device during the replay and are read back
// after it, the finite check runs, and only then is the Adam update (with the fused decoder
// constraint) queued, as trainer::step_on_batch does. The result is that of step_on_batch on the dense
// path, bit for bit: the same kernels with the same launch shapes run in the same order.
//
// The first step on a batch buffer runs as plain launches (so every buffer reaches its size before
// anything is captured); the graph is captured on the second and replayed from then on. If the backend
// allocated or freed device memory in between (its allocation generation moved), the graph is captured
// again, since it holds raw addresses.
// Limits: every step here takes the dense path (the sparse path needs the number of active pairs on
// the host), so use it where launches dominate, not for a ReLU student at low density; the batch
// buffers must keep their addresses and shapes while their graph is in use; one host thread. Opt-in, nvcc only, like backend/cuda.hpp.
#include "../backend/cuda.hpp"
#include "../loss/distill_loss.hpp"
#include "../nn/student.hpp"
#include "../nn/teacher.hpp"
#include "../optim/adam.hpp"
#include "callbacks.hpp"
#include "detail/finite_check.hpp"
#include "numerical_fault.hpp"
#include "train_settings.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill {

template <class Scalar, class Backend>
class cuda_graph_step {
public:
    cuda_graph_step(student_mlp<Scalar, Backend>& student, const train_settings& settings)
        : student_(student), settings_(settings) {
        settings_.validate();
        if (settings_.schedule.total_steps <= 0) settings_.schedule.total_steps = settings_.steps();
        // A capture cannot take the sparse path, so the warm-up step must not either: it sizes the buffers
        // the dense path needs, and plain and replayed steps then compute the same thing.
        workspace_.allow_sparse = false;
    }
    ~cuda_graph_step() {
        for (captured& c : graphs_) release(c);
    }
    cuda_graph_step(const cuda_graph_step&) = delete;
    cuda_graph_step& operator=(const cuda_graph_step&) = delete;

    /// One update on inputs x and targets y, both in device memory.
    step_metrics step(in_matrix<Scalar> x, in_matrix<Scalar> y) { return run(x, y, nullptr); }

    /// One update on inputs x whose targets the teacher computes inside the graph.
    step_metrics step(in_matrix<Scalar> x, teacher_mlp<Scalar, Backend>& teacher) {
        if (targets_.size() < x.rows * student_.d_out()) targets_.resize(x.rows * student_.d_out());
        return run(x, matrix_view<const Scalar>{targets_.data(), x.rows, student_.d_out()}, &teacher);
    }

    const optim::adam_state<Scalar, Backend>& optimizer_state() const { return optimizer_; }
    std::int64_t steps_done() const { return optimizer_.steps(); }
    /// Graphs captured so far (one per distinct batch buffer, from its second step on).
    std::size_t graphs() const {
        std::size_t n = 0;
        for (const captured& c : graphs_) n += c.exec != nullptr;
        return n;
    }

private:
    struct captured {
        const Scalar* x = nullptr;
        const Scalar* y = nullptr;
        index_t rows = 0;
        const teacher_mlp<Scalar, Backend>* teacher = nullptr;
        bool warmed_up = false;
        cudaGraph_t graph = nullptr;
        cudaGraphExec_t exec = nullptr;
        std::uint64_t generation = 0;  ///< the context's allocation generation when captured
    };

    // Queues teacher (optional), forward, loss and backward; returns the terms when not capturing.
    loss_terms queue_gradients(matrix_view<const Scalar> x, matrix_view<const Scalar> y, teacher_mlp<Scalar, Backend>* teacher) {
        if (teacher) teacher->forward(x, matrix_view<Scalar>{const_cast<Scalar*>(y.data), y.rows, y.cols});
        return loss_and_gradients(student_, x, y, settings_.loss, workspace_);
    }

    step_metrics run(matrix_view<const Scalar> x, matrix_view<const Scalar> y, teacher_mlp<Scalar, Backend>* teacher) {
        if (x.cols != student_.d_in() || y.rows != x.rows || y.cols != student_.d_out())
            throw std::invalid_argument("cuda_graph_step: the batch shapes do not match the student");
        if (x.rows != settings_.batch_size)
            throw std::invalid_argument("cuda_graph_step: the batch has " + std::to_string(x.rows) + " rows, the settings say " +
                                        std::to_string(settings_.batch_size));
        step_metrics metrics;
        metrics.lr = settings_.schedule(optimizer_.steps());
        backend::detail::cuda_context& ctx = backend::detail::cuda_context::get();
        captured& c = entry_for(x, y, teacher);
        if (!c.warmed_up) {
            // The first step on a buffer runs as plain launches: every buffer (workspace, scratch,
            // teacher scratch, moments) gets its final size, so nothing is allocated while capturing.
            metrics.terms = queue_gradients(x, y, teacher);
            c.warmed_up = true;
        } else {
            // The graph holds raw addresses of scratch, staging and the teacher's buffers: if anything was
            // allocated or freed since the capture (an evaluation, a bigger batch elsewhere), capture again.
            if (c.exec && c.generation != ctx.allocation_generation()) release(c);
            if (!c.exec) capture(c, x, y, teacher);
            backend::detail::cuda_check(cudaGraphLaunch(c.exec, ctx.stream()), "cudaGraphLaunch");
            using namespace backend::detail;
            const double* sums = ctx.fetch_results(slot_abs_sum, 3);
            metrics.terms = loss_terms_of(settings_.loss, x.rows, sums[slot_squared_error],
                                          backend::activation_sums{sums[slot_abs_sum], sums[slot_positive_count]});
        }
        if (!std::isfinite(metrics.terms.loss))
            throw numerical_fault(optimizer_.steps() + 1, "loss", detail::number_text(metrics.terms.loss) + " in a CUDA graph step");
        optimizer_.update(settings_.adam, metrics.lr, student_.parameters(), student_.gradients(), student_.parameter_count(),
                          student_.decoder_rows());
        metrics.step = optimizer_.steps();
        tokens_seen_ += x.rows;
        metrics.tokens_seen = tokens_seen_;
        return metrics;
    }

    captured& entry_for(matrix_view<const Scalar> x, matrix_view<const Scalar> y, const teacher_mlp<Scalar, Backend>* teacher) {
        for (captured& c : graphs_)
            if (c.x == x.data && c.y == y.data && c.rows == x.rows && c.teacher == teacher) return c;
        graphs_.push_back(captured{x.data, y.data, x.rows, teacher});
        return graphs_.back();
    }

    void capture(captured& c, matrix_view<const Scalar> x, matrix_view<const Scalar> y, teacher_mlp<Scalar, Backend>* teacher) {
        using backend::detail::cuda_check;
        cudaStream_t stream = backend::detail::cuda_context::get().stream();
        cuda_check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        try {
            queue_gradients(x, y, teacher);
        } catch (...) {
            cudaGraph_t broken = nullptr;
            cudaStreamEndCapture(stream, &broken);  // ends the capture; its error (invalidated) is expected
            (void)cudaGetLastError();
            if (broken) cudaGraphDestroy(broken);
            throw;
        }
        cuda_check(cudaStreamEndCapture(stream, &c.graph), "cudaStreamEndCapture");
        try {
            cuda_check(cudaGraphInstantiate(&c.exec, c.graph, 0), "cudaGraphInstantiate");
        } catch (...) {
            release(c);
            throw;
        }
        c.generation = backend::detail::cuda_context::get().allocation_generation();
    }

    static void release(captured& c) {
        if (c.exec) cudaGraphExecDestroy(c.exec);
        if (c.graph) cudaGraphDestroy(c.graph);
        c.exec = nullptr;
        c.graph = nullptr;
    }

    student_mlp<Scalar, Backend>& student_;
    train_settings settings_;
    optim::adam_state<Scalar, Backend> optimizer_;
    student_workspace<Scalar, Backend> workspace_;
    typename Backend::template buffer<Scalar> targets_;
    std::vector<captured> graphs_;
    std::int64_t tokens_seen_ = 0;
};

}  // namespace sparse_distill
