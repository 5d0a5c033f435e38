#pragma once
// The training loop: batches from a source, teacher targets on the fly (or targets from the source),
// loss and hand-written gradients, Adam with the schedule, then the decoder constraint.
// Deterministic for a given seed and thread count: nothing here draws random numbers, and every
// reduction sums in a fixed order.
#include "../loss/loss_and_gradients.hpp"
#include "../nn/student.hpp"
#include "../nn/teacher.hpp"
#include "../optim/adam.hpp"
#include "callbacks.hpp"
#include "train_settings.hpp"

#include <chrono>
#include <stdexcept>
#include <type_traits>

namespace sparse_distill {

/// A source that supplies its own targets (cached teacher outputs, or an SAE's input = target).
template <class Source, class Scalar>
concept source_with_targets = requires(Source& s, matrix<Scalar>& x, matrix<Scalar>& y) {
    { s.next_batch(x, y) } -> std::convertible_to<bool>;
};
/// A source of inputs only; the trainer's teacher computes the targets.
template <class Source, class Scalar>
concept source_of_inputs = requires(Source& s, matrix<Scalar>& x) {
    { s.next_batch(x) } -> std::convertible_to<bool>;
};

template <class Scalar, class Backend = backend::cpu>
class trainer {
public:
    using student_type = student_mlp<Scalar, Backend>;
    using teacher_type = teacher_mlp<Scalar, Backend>;

    /// `teacher` may be null when every source used supplies its own targets.
    trainer(student_type& student, teacher_type* teacher, const train_settings& settings)
        : student_(student), teacher_(teacher), settings_(settings) {
        settings_.validate();
        if (settings_.schedule.total_steps <= 0) settings_.schedule.total_steps = settings_.steps();
        if (teacher_ && (teacher_->d_model() != student.d_in() || teacher_->d_model() != student.d_out()))
            throw std::invalid_argument("trainer: teacher maps " + std::to_string(teacher_->d_model()) + " → " +
                                        std::to_string(teacher_->d_model()) + " but the student maps " +
                                        std::to_string(student.d_in()) + " → " + std::to_string(student.d_out()));
        const index_t b = settings_.batch_size;
        host_x_.resize(b, student.d_in());
        host_y_.resize(b, student.d_out());
        x_.resize(b * student.d_in());
        y_.resize(b * student.d_out());
        workspace_.reserve(b, student.config());
    }

    const train_settings& settings() const { return settings_; }
    std::int64_t steps_done() const { return optimizer_.steps(); }
    const optim::adam_state<Scalar, Backend>& optimizer_state() const { return optimizer_; }

    /// One update on the next batch of `source`. Returns false (nothing changed) if the source ran out.
    template <class Source>
    bool step(Source& source, step_metrics& metrics) {
        if (!fetch_batch(source)) return false;
        const index_t b = settings_.batch_size;
        const matrix_view<const Scalar> x{x_.data(), b, student_.d_in()};
        const matrix_view<const Scalar> y{y_.data(), b, student_.d_out()};
        const std::int64_t t = optimizer_.steps();
        metrics.lr = settings_.schedule(t);
        metrics.terms = loss_and_gradients(student_, x, y, settings_.loss, workspace_);
        optimizer_.update(settings_.adam, metrics.lr, student_.parameters(), student_.gradients(),
                          student_.parameter_count());
        student_.apply_decoder_constraint();
        metrics.step = optimizer_.steps();
        tokens_seen_ += b;
        metrics.tokens_seen = tokens_seen_;
        return true;
    }

    /// Trains for settings().steps() updates (fewer if the source runs out or a callback stops it).
    template <class Source, class Callbacks = no_callbacks>
    train_summary run(Source& source, Callbacks&& callbacks = {}) {
        const auto start = std::chrono::steady_clock::now();
        train_summary summary;
        const std::int64_t total = settings_.steps();
        step_metrics metrics;
        while (optimizer_.steps() < total) {
            if (!step(source, metrics)) {
                summary.stopped_early = true;
                break;
            }
            summary.last = metrics;
            if constexpr (detail::has_on_step<std::remove_cvref_t<Callbacks>, step_report<Scalar, Backend>>) {
                if (metrics.step % settings_.callback_every == 0 || metrics.step == total)
                    callbacks.on_step(step_report<Scalar, Backend>{metrics, student_});
            }
            if constexpr (detail::has_should_stop<std::remove_cvref_t<Callbacks>>) {
                if (callbacks.should_stop()) {
                    summary.stopped_early = optimizer_.steps() < total;
                    break;
                }
            }
        }
        summary.steps = optimizer_.steps();
        summary.tokens = tokens_seen_;
        summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if constexpr (detail::has_on_finish<std::remove_cvref_t<Callbacks>>) callbacks.on_finish(summary);
        return summary;
    }

private:
    template <class Source>
    bool fetch_batch(Source& source) {
        const index_t b = settings_.batch_size;
        if constexpr (source_with_targets<Source, Scalar>) {
            if (!source.next_batch(host_x_, host_y_)) return false;
            Backend::copy_from_host(host_y_.data(), y_.data(), host_y_.size());
        } else {
            static_assert(source_of_inputs<Source, Scalar>,
                          "a source needs bool next_batch(matrix<Scalar>& x) or next_batch(x, y)");
            if (!teacher_) throw std::logic_error("trainer: the source gives no targets and there is no teacher");
            if (!source.next_batch(host_x_)) return false;
        }
        Backend::copy_from_host(host_x_.data(), x_.data(), host_x_.size());
        if constexpr (!source_with_targets<Source, Scalar>)
            teacher_->forward(matrix_view<const Scalar>{x_.data(), b, student_.d_in()},
                              matrix_view<Scalar>{y_.data(), b, student_.d_out()});
        return true;
    }

    student_type& student_;
    teacher_type* teacher_;
    train_settings settings_;
    optim::adam_state<Scalar, Backend> optimizer_;
    std::int64_t tokens_seen_ = 0;
    matrix<Scalar> host_x_, host_y_;
    typename Backend::template buffer<Scalar> x_, y_;
    student_workspace<Scalar, Backend> workspace_;
};

}  // namespace sparse_distill
