#pragma once
// The training loop: batches from a source, teacher targets on the fly (or targets from the source),
// loss and hand-written gradients, Adam with the schedule, then the decoder constraint.
// Deterministic for a given seed and thread count: nothing here draws random numbers, and every
// reduction sums in a fixed order. With settings.checkpoint it saves its full state every N steps, at
// the end and on SIGINT/SIGTERM, and resumes from it bit-identically (checkpoint.hpp).
// Every batch is checked for NaN/Inf before it is used and every loss before its update is applied,
// so a numerical fault stops the run with the weights, the optimizer and the checkpoints still finite.
// Data-parallel over the ranks of a communicator (comm/policy.hpp; comm::single, one process, by
// default): each rank trains on its rows of every global batch of settings.batch_size rows
// (comm::rank_rows), scales its gradients by the global batch, and the ranks sum gradients, loss sums
// and firing counts in rank order before one identical Adam update on every rank. Every decision that
// ends a run (a signal, a callback, a bad batch, a non-finite loss) is agreed by all ranks, so none is
// left waiting for the others.
#include "../comm/rank_rows.hpp"
#include "../comm/single.hpp"
#include "../config.hpp"
#include "../loss/loss_and_gradients.hpp"
#include "../nn/student.hpp"
#include "../nn/teacher.hpp"
#include "../optim/adam.hpp"
#include "callbacks.hpp"
#include "checkpoint.hpp"
#include "detail/finite_check.hpp"
#include "detail/stop_signals.hpp"
#include "numerical_fault.hpp"
#include "source_position.hpp"
#include "train_settings.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <exception>
#include <iterator>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

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

/// A source that hands out only some rows of every batch (one rank's share): it says which.
template <class Source>
concept source_with_rank_rows = requires(const Source& s) {
    { s.rank_slice() } -> std::convertible_to<comm::rank_rows>;
};

template <class Scalar, backend::backend_policy Backend = backend::cpu, comm::communicator Comm = comm::single>
class trainer {
    // comm::single (one process) compiles none of the multi-rank paths.
    static constexpr bool several_ranks = !std::is_same_v<Comm, comm::single>;

public:
    using student_type = student_mlp<Scalar, Backend>;
    using teacher_type = teacher_mlp<Scalar, Backend>;

    /// Trains `student` to reproduce `teacher` on the inputs of the sources given to step() and run().
    /// The teacher must outlive the trainer. With several ranks in `comm`, every rank makes its trainer
    /// with the same student (same seed), teacher and settings.
    trainer(student_type& student, const teacher_type& teacher, const train_settings& settings, Comm comm = {})
        : trainer(student, &teacher, settings, std::move(comm)) {}

    /// Trains `student` on sources that supply their own targets (cached teacher outputs, or an SAE's
    /// input = target): no teacher runs.
    trainer(student_type& student, const train_settings& settings, Comm comm = {})
        : trainer(student, static_cast<const teacher_type*>(nullptr), settings, std::move(comm)) {}

    const train_settings& settings() const { return settings_; }
    /// The communicator, and this rank's rows of every batch (all of them with one rank).
    Comm& communicator() { return comm_; }
    const comm::rank_rows& rows_of_rank() const { return rows_; }
    std::int64_t steps_done() const { return optimizer_.steps(); }
    const optim::adam_state<Scalar, Backend>& optimizer_state() const { return optimizer_; }
    /// With settings().replay_steps: how many steps the backend has recorded (one per distinct batch
    /// buffer, from its second step on; none on the CPU).
    std::size_t captured_steps() const {
        std::size_t n = 0;
        for (const recorded_step& r : recordings_) n += r.recording.captured();
        return n;
    }

    /// Whether the trainer counts tokens since each latent fired (students with exact zeros: ReLU and
    /// the selecting modes), for the dead share and AuxK.
    bool counts_dead_latents() const { return student_.config().act == activation::relu; }
    /// Tokens since each latent last fired (empty when not counted).
    const std::vector<std::int64_t>& tokens_since_fired() const { return tokens_since_fired_; }
    /// Uses `dead` (one flag per latent) as AuxK's dead set on every step from now on, instead of the
    /// counted one: a set fixed from outside (a reference run, a mask computed elsewhere).
    void fix_dead_latents(std::vector<bool> dead) {
        if (static_cast<index_t>(dead.size()) != student_.d_sae())
            throw std::invalid_argument("trainer: the dead-latent mask has " + std::to_string(dead.size()) +
                                        " entries, the student has d_sae = " + std::to_string(student_.d_sae()));
        fixed_dead_ = std::move(dead);
    }

    /// One update on the next batch of `source`. Returns false (nothing changed) if the source ran out.
    /// Throws numerical_fault, changing nothing but the source's position, when the batch or its
    /// loss is not finite.
    /// With several ranks, every rank calls it at the same step (it is a collective step).
    template <class Source>
    bool step(Source& source, step_metrics& metrics) {
        if (!fetch_agreed(source)) return false;
        const index_t b = rows_.rows();
        const matrix_view<const Scalar> x{batch_inputs(), b, student_.d_in()};
        const matrix_view<const Scalar> y{batch_targets<Source>(), b, student_.d_out()};
        const teacher_type* targets_from = source_with_targets<Source, Scalar> ? nullptr : teacher_;
        if (!update_on(x, y, targets_from, metrics)) report_non_finite_loss(source, metrics.terms.loss);
        return true;
    }

    /// One update on a batch already in backend memory: inputs x [batch, d_in] and targets
    /// y [batch, d_out] (a device-resident pipeline, or a benchmark's pool of batches); with several
    /// ranks, this rank's rows of the batch (rows_of_rank()). No finite check
    /// runs on the batch; a non-finite loss throws numerical_fault before anything changes.
    void step_on_batch(in_matrix<Scalar> x, in_matrix<Scalar> y, step_metrics& metrics) {
        check_rows(x);
        if (!update_on(x, y, nullptr, metrics)) throw_non_finite_batch_loss(metrics);
    }

    /// One update on inputs x [batch, d_in] already in backend memory, the targets computed by the
    /// trainer's teacher (inside the replayed step when settings().replay_steps).
    void step_on_batch(in_matrix<Scalar> x, step_metrics& metrics) {
        if (!teacher_) throw std::logic_error("trainer: step_on_batch(x) needs a teacher, and the trainer was made without one");
        check_rows(x);
        const matrix_view<const Scalar> y{y_.data(), x.rows, student_.d_out()};
        if (!update_on(x, y, teacher_, metrics)) throw_non_finite_batch_loss(metrics);
    }

    /// Trains for settings().steps() updates (fewer if the source runs out, a callback stops it, or
    /// a signal arrives). With settings().checkpoint.directory set it first resumes when asked
    /// (checkpoint.resume), writes a checkpoint every checkpoint.every steps and when it stops, and
    /// while it runs turns SIGINT/SIGTERM into a stop after the current step (summary.stop_signal;
    /// the previous handlers are restored on return).
    /// Any number of callbacks (train/callbacks.hpp) may follow the source; each hook is called on every
    /// callback that defines it, in the order given, and the run stops when any should_stop() says so.
    template <class Source, class... Callbacks>
    train_summary run(Source& source, Callbacks&&... callbacks) {
        const auto start = std::chrono::steady_clock::now();
        const checkpoint_settings& checkpoints = settings_.checkpoint;
        const bool checkpointing = !checkpoints.directory.empty();
        if (checkpointing) {
            if constexpr (!resumable_source<Source>)
                throw std::invalid_argument(
                    "trainer: checkpoint.directory is set but the source cannot save its position "
                    "(it needs position()/seek() or save_position()/restore_position())");
            // Before any step, not at the first checkpoint; only rank 0 writes checkpoints.
            if (!several_ranks || comm_.rank() == 0) check_checkpoint_directory(checkpoints.directory);
        }
        if constexpr (resumable_source<Source>) {
            if (checkpoints.resume && !resumed_) load_checkpoint(checkpoint_file(checkpoints.directory), source);
        }
        resumed_ = true;
        std::optional<detail::scoped_stop_signals> signals;
        if (checkpointing && checkpoints.on_signal) signals.emplace();

        train_summary summary;
        const std::int64_t total = settings_.steps();
        summary.already_finished = optimizer_.steps() >= total;
        step_metrics metrics;
        while (optimizer_.steps() < total) {
            // A signal may reach the ranks at different steps: they stop together, at the first step any saw it.
            const int signal = static_cast<int>(agree_max(signals ? signals->received() : 0));
            if (signal != 0) {
                summary.stop_signal = signal;
                summary.stopped_early = true;
                break;
            }
            if (!step(source, metrics)) {
                summary.stopped_early = true;
                break;
            }
            summary.last = metrics;
            if constexpr (resumable_source<Source>) {
                if (checkpointing && checkpoints.every > 0 && metrics.step % checkpoints.every == 0)
                    save_checkpoint(checkpoint_file(checkpoints.directory), source);
            }
            if (metrics.step % settings_.callback_every == 0 || metrics.step == total) {
                [[maybe_unused]] const step_report<Scalar, Backend> report{metrics, student_};
                (detail::call_on_step(callbacks, report), ...);
            }
            if (agree((false || ... || detail::call_should_stop(callbacks)))) {
                summary.stopped_early = optimizer_.steps() < total;
                break;
            }
        }
        if constexpr (resumable_source<Source>) {
            if (checkpointing && last_checkpoint_step_ != optimizer_.steps())
                save_checkpoint(checkpoint_file(checkpoints.directory), source);
        }
        summary.steps = optimizer_.steps();
        summary.tokens = tokens_seen_;
        summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        (detail::call_on_finish(callbacks, summary), ...);
        return summary;
    }

    /// This run's run_description: what a checkpoint must share with it to be resumed.
    nlohmann::json run_description() const {
        nlohmann::json run = sparse_distill::run_description<Scalar>(student_.config(), settings_);
        // A run on N ranks resumes on N ranks only: another N would sum the gradients in another order.
        if (several_ranks && comm_.size() > 1) run["ranks"] = comm_.size();
        return run;
    }

    /// Writes the full state (weights, Adam moments and step, tokens seen, the source's position and
    /// the run description) to `file` durably. Throws numerical_fault rather than write a
    /// non-finite state, and io::io_error if the write fails (a previous `file` then stays intact).
    /// With several ranks only rank 0 writes (every rank stands at the same global position); the
    /// others return at once.
    template <resumable_source Source>
    void save_checkpoint(const std::filesystem::path& file, const Source& source) {
        if (several_ranks && comm_.rank() != 0) {
            last_checkpoint_step_ = optimizer_.steps();
            return;
        }
        checkpoint_data<Scalar> data;
        data.step = optimizer_.steps();
        data.tokens_seen = tokens_seen_;
        data.parameters = to_host(student_.parameters(), student_.parameter_count());
        data.first_moment = to_host(optimizer_.first_moment(), optimizer_.size());
        data.second_moment = to_host(optimizer_.second_moment(), optimizer_.size());
        for (const auto& [name, values] : {std::pair{"parameters", &data.parameters},
                                           std::pair{"adam.first_moment", &data.first_moment},
                                           std::pair{"adam.second_moment", &data.second_moment}})
            if (!detail::all_finite(values->data(), static_cast<index_t>(values->size())))
                throw numerical_fault(data.step, name,
                                      "not finite: refusing to overwrite the checkpoint " + file.string());
        data.source_position = save_source_position(source);
        data.run = run_description();
        data.threads = num_threads();
        data.tokens_since_fired = tokens_since_fired_;
        data.batch_threshold = student_.batch_threshold();
        data.first_loss = first_loss_;
        if constexpr (source_counting_rows<Source>)
            data.source_rows_at_start = static_cast<std::int64_t>(static_cast<std::uint64_t>(source.rows_consumed()) -
                                                                  static_cast<std::uint64_t>(tokens_seen_));
        write_checkpoint(file, data);
        last_checkpoint_step_ = data.step;
    }

    /// Restores the state saved in `file` into this trainer, its student and `source`. Throws
    /// io::io_error naming the file and field when the checkpoint is unreadable or was written by a
    /// different run (run_description differs: the field is named, e.g. "run.student.d_sae").
    template <resumable_source Source>
    void load_checkpoint(const std::filesystem::path& file, Source& source) {
        std::error_code error;
        if (!std::filesystem::exists(file, error))
            throw io::io_error(file, "file", "no checkpoint to resume from (is the checkpoint directory right?)");
        const checkpoint_data<Scalar> data = read_checkpoint<Scalar>(file);
        check_same_run(file, data.run, run_description());
        if (static_cast<index_t>(data.parameters.size()) != student_.parameter_count())
            throw io::io_error(file, "tensor 'parameters' shape",
                               "expected [" + std::to_string(student_.parameter_count()) + "] for this student, found [" +
                                   std::to_string(data.parameters.size()) + "]");
        if (data.step > settings_.steps())
            throw io::io_error(file, "__metadata__ 'step'",
                               "expected at most the run's " + std::to_string(settings_.steps()) + " steps, found " +
                                   std::to_string(data.step));
        // Every step trains on one full batch, so the counts must agree.
        if (data.tokens_seen / settings_.batch_size != data.step || data.tokens_seen % settings_.batch_size != 0)
            throw io::io_error(file, "__metadata__ 'tokens_seen'",
                               "expected step " + std::to_string(data.step) + " × batch " + std::to_string(settings_.batch_size) +
                                   " tokens, found " + std::to_string(data.tokens_seen));
        // A checkpoint without the counts (written before they were kept) resumes with fresh ones, unless
        // AuxK's dead set depends on them.
        const bool counts_optional = data.tokens_since_fired.empty() && !settings_.loss.auxk.enabled();
        if (data.tokens_since_fired.size() != tokens_since_fired_.size() && !counts_optional)
            throw io::io_error(file, "__metadata__ 'latent_state'",
                               "expected tokens_since_fired for " + std::to_string(tokens_since_fired_.size()) + " latents, found " +
                                   std::to_string(data.tokens_since_fired.size()));
        restore_source_position(source, data.source_position, file);
        if constexpr (source_counting_rows<Source>) {
            // The position must be where step · batch rows from the start put it.
            const std::uint64_t rows = source.rows_consumed();
            const std::uint64_t expected = static_cast<std::uint64_t>(data.source_rows_at_start) + static_cast<std::uint64_t>(data.tokens_seen);
            if (data.source_rows_at_start < 0)
                throw io::io_error(file, "__metadata__ 'source_rows_at_start'",
                                   "missing: the source counts its rows, and the checkpoint must say where it started");
            if (rows != expected)
                throw io::io_error(file, "source_position",
                                   "the source stands at row " + std::to_string(rows) + ", but starting at row " +
                                       std::to_string(data.source_rows_at_start) + " and trained on " +
                                       std::to_string(data.tokens_seen) + " tokens (step " + std::to_string(data.step) +
                                       ") it should stand at row " + std::to_string(expected));
        }
        if (!data.tokens_since_fired.empty()) tokens_since_fired_ = data.tokens_since_fired;
        student_.set_batch_threshold(data.batch_threshold);
        first_loss_ = data.first_loss;
        backend::copy_from_host<Backend>(data.parameters.data(), student_.parameters(), student_.parameter_count());
        optimizer_.restore(data.step, data.first_moment.data(), data.second_moment.data(),
                           static_cast<index_t>(data.first_moment.size()));
        tokens_seen_ = data.tokens_seen;
        last_checkpoint_step_ = data.step;
        resumed_ = true;
    }

private:
    trainer(student_type& student, const teacher_type* teacher, const train_settings& settings, Comm comm)
        : student_(student), teacher_(teacher), settings_(settings), comm_(std::move(comm)) {
        settings_.validate();
        settings_.loss.validate_for(student.config());
        rows_ = comm::rank_rows::of(settings_.batch_size, comm_.rank(), comm_.size());
        if (comm_.size() > 1 && (student.config().sparsity == sparsity_mode::batchtopk || settings_.loss.auxk.enabled()))
            throw std::invalid_argument("trainer: BatchTopK and AuxK are not supported on several ranks yet (BatchTopK selects over "
                                        "the whole batch, AuxK normalises by the whole batch's variance); train them on one rank");
        if (settings_.replay_steps && (student.config().sparsity == sparsity_mode::batchtopk || settings_.loss.auxk.enabled()))
            throw std::invalid_argument("trainer: replay_steps cannot record a BatchTopK or AuxK step (each reads a value back "
                                        "to the host in the middle of the step)");
        if (settings_.schedule.total_steps <= 0) settings_.schedule.total_steps = settings_.steps();
        if (teacher_ && (teacher_->d_model() != student.d_in() || teacher_->d_model() != student.d_out()))
            throw std::invalid_argument("trainer: teacher maps " + std::to_string(teacher_->d_model()) + " → " +
                                        std::to_string(teacher_->d_model()) + " but the student maps " +
                                        std::to_string(student.d_in()) + " → " + std::to_string(student.d_out()));
        const index_t b = rows_.rows();
        host_x_.resize(b, student.d_in());
        host_y_.resize(b, student.d_out());
        if (!batch_in_host_memory) x_.resize(b * student.d_in());
        y_.resize(b * student.d_out());
        workspace_.reserve(b, student.config());
        // A replayed step cannot branch on a host value, so it keeps the dense path throughout.
        workspace_.allow_sparse = !settings_.replay_steps;
        if (counts_dead_latents()) {
            tokens_since_fired_.assign(static_cast<std::size_t>(student.d_sae()), 0);
            fired_.resize(student.d_sae());
            host_fired_.resize(student.d_sae());
        }
        if (settings_.loss.auxk.enabled()) workspace_.dead_mask.resize(student.d_sae());
    }

    // AuxK's dead set for the next step, into the workspace: the fixed one, or the counted one.
    void prepare_dead_mask() {
        if (!settings_.loss.auxk.enabled()) return;
        const index_t h = student_.d_sae();
        std::vector<Scalar> mask(static_cast<std::size_t>(h));
        index_t dead = 0;
        for (index_t j = 0; j < h; ++j) {
            const bool is_dead = fixed_dead_ ? (*fixed_dead_)[j] : tokens_since_fired_[j] > settings_.dead_tokens;
            mask[j] = is_dead ? Scalar(1) : Scalar(0);
            dead += is_dead;
        }
        backend::copy_from_host<Backend>(mask.data(), workspace_.dead_mask.data(), h);
        workspace_.dead_count = dead;
    }

    // After a step: which latents fired on its batch (Σ_b a_bj > 0, the activations being ≥ 0), and
    // the share dead.
    void count_fired(index_t rows, step_metrics& metrics) {
        metrics.dead_fraction = std::numeric_limits<double>::quiet_NaN();
        if (!counts_dead_latents()) return;
        const index_t h = student_.d_sae();
        backend::column_sums<Backend>(matrix_view<const Scalar>{workspace_.activations.data(), rows, h},
                                      vector_view<Scalar>{fired_.data(), h});
        backend::copy_to_host<Backend>(fired_.data(), host_fired_.data(), h);
        if constexpr (several_ranks) comm_.sum_in_rank_order(host_fired_.data(), h);  // fired anywhere in the global batch
        index_t dead = 0;
        for (index_t j = 0; j < h; ++j) {
            std::int64_t& since = tokens_since_fired_[j];
            since = host_fired_[j] > Scalar(0) ? 0 : since + rows_.batch;
            dead += since > settings_.dead_tokens;
        }
        metrics.dead_fraction = double(dead) / double(h);
    }

    void check_rows(in_matrix<Scalar> x) const {
        if (x.rows != rows_.rows())
            throw std::invalid_argument("trainer: the batch has " + std::to_string(x.rows) + " rows, the settings say " +
                                        std::to_string(settings_.batch_size) +
                                        (comm_.size() > 1 ? " (this rank's share: " + rows_.text() + ")" : std::string()));
    }

    // The largest of the ranks' values (the value itself with one rank).
    std::int64_t agree_max(std::int64_t value) {
        if constexpr (several_ranks) return comm_.size() > 1 ? comm_.max_over_ranks(value) : value;
        else return value;
    }
    bool agree(bool any) { return agree_max(any ? 1 : 0) != 0; }

    // fetch_batch on every rank, then agreed: false when the source ran out; a rank whose fetch threw
    // (a non-finite row, a file that cannot be read) rethrows, and the others throw naming it, so no
    // rank is left waiting in the step's sums.
    template <class Source>
    bool fetch_agreed(Source& source) {
        if constexpr (!several_ranks) return fetch_batch(source);
        if (comm_.size() == 1) return fetch_batch(source);
        std::exception_ptr fault;
        bool fetched = false;
        try {
            fetched = fetch_batch(source);
        } catch (...) {
            fault = std::current_exception();
        }
        constexpr std::int64_t faulted = std::int64_t{1} << 32;
        const std::int64_t state = agree_max(fault ? faulted + comm_.rank() : fetched ? 0 : 1);
        if (fault) std::rethrow_exception(fault);
        if (state >= faulted)
            throw std::runtime_error("trainer: rank " + std::to_string(state - faulted) + " could not take its rows of batch " +
                                     std::to_string(optimizer_.steps() + 1) + " (its own message says why); " +
                                     last_checkpoint_note());
        return state == 0;
    }

    [[noreturn]] void throw_non_finite_batch_loss(const step_metrics& metrics) const {
        throw numerical_fault(optimizer_.steps() + 1, "loss",
                              loss_text(metrics.terms.loss) + " on a batch given in backend memory; " + last_checkpoint_note());
    }

    template <class Source>
    bool fetch_batch(Source& source) {
        if (!take_rows(source)) return false;
        if (!detail::all_finite(host_x_.data(), host_x_.size())) report_non_finite(source, "inputs", host_x_);
        if constexpr (source_with_targets<Source, Scalar>) {
            if (!detail::all_finite(host_y_.data(), host_y_.size())) report_non_finite(source, "targets", host_y_);
        }
        if constexpr (!batch_in_host_memory) {
            if constexpr (source_with_targets<Source, Scalar>)
                backend::copy_from_host<Backend>(host_y_.data(), y_.data(), host_y_.size());
            backend::copy_from_host<Backend>(host_x_.data(), x_.data(), host_x_.size());
        }
        return true;
    }

    // Where the step reads the fetched batch: on a backend whose memory is the host's, in host_x_ (and a
    // source's targets in host_y_) as the source wrote them, which saves copying the batch every step;
    // else in the backend buffers x_ and y_. A teacher writes its targets into y_ either way.
    static constexpr bool batch_in_host_memory = backend::memory_is_host<Backend>;
    const Scalar* batch_inputs() const { return batch_in_host_memory ? host_x_.data() : x_.data(); }
    template <class Source>
    Scalar* batch_targets() {
        if constexpr (batch_in_host_memory && source_with_targets<Source, Scalar>) return host_y_.data();
        else return y_.data();
    }

    // This rank's rows of the next batch into host_x_ (and host_y_): straight from a source that hands
    // out exactly them (source_with_rank_rows), else cut from the whole batch it hands out.
    template <class Source>
    bool take_rows(Source& source) {
        if constexpr (!source_with_targets<Source, Scalar>) {
            static_assert(source_of_inputs<Source, Scalar>,
                          "a source needs bool next_batch(matrix<Scalar>& x) or next_batch(x, y)");
            if (!teacher_)
                throw std::logic_error("trainer: the source gives no targets and the trainer was made without a teacher");
        }
        const auto next = [&source](matrix<Scalar>& x, matrix<Scalar>& y) {
            if constexpr (source_with_targets<Source, Scalar>) return static_cast<bool>(source.next_batch(x, y));
            else return static_cast<bool>(source.next_batch(x));
        };
        if constexpr (!several_ranks) return next(host_x_, host_y_);
        bool sliced_by_source = comm_.size() == 1;
        if constexpr (source_with_rank_rows<Source>) {
            const comm::rank_rows given = source.rank_slice();
            if (given.sliced() && given != rows_)
                throw std::invalid_argument("trainer: the source hands out " + given.text() + ", this rank trains on " + rows_.text());
            sliced_by_source = sliced_by_source || given.sliced();
        }
        if (sliced_by_source) return next(host_x_, host_y_);
        whole_x_.resize(rows_.batch, student_.d_in());
        if constexpr (source_with_targets<Source, Scalar>) whole_y_.resize(rows_.batch, student_.d_out());
        if (!next(whole_x_, whole_y_)) return false;
        host_x_ = whole_x_.middleRows(rows_.begin, rows_.rows());
        if constexpr (source_with_targets<Source, Scalar>) host_y_ = whole_y_.middleRows(rows_.begin, rows_.rows());
        return true;
    }

    // Targets (by `teacher` into y, when given), loss, gradients and the Adam update; false (nothing
    // updated) when the loss is not finite. Everything before the update is one step's queued work, which
    // the backend may record and replay (settings_.replay_steps); the finite check reads its sums first.
    bool update_on(matrix_view<const Scalar> x, matrix_view<const Scalar> y, const teacher_type* teacher, step_metrics& metrics) {
        metrics.lr = settings_.schedule(optimizer_.steps());
        const auto queue_step = [&] {
            if (teacher) teacher->forward(x, matrix_view<Scalar>{const_cast<Scalar*>(y.data), y.rows, y.cols}, teacher_workspace_);
            return gradients_and_sums(student_, x, y, settings_.loss, workspace_, rows_.batch);
        };
        prepare_dead_mask();
        backend::step_sums sums =
            settings_.replay_steps ? backend::replay_step<Backend>(recording_for(x, y, teacher), queue_step) : queue_step();
        sum_over_ranks(sums);
        metrics.terms = loss_terms_of(settings_.loss, rows_.batch, sums);
        if (!std::isfinite(metrics.terms.loss) || diverged(metrics.terms.loss)) return false;
        if (!std::isfinite(first_loss_)) first_loss_ = metrics.terms.loss;
        student_.update_batch_threshold(workspace_);
        count_fired(x.rows, metrics);
        sum_gradients_over_ranks();
        // The decoder constraint runs inside the Adam pass, row by row while each row is in cache.
        optimizer_.update(settings_.adam, metrics.lr, student_.parameters(), student_.gradients(),
                          student_.parameter_count(), student_.decoder_rows(), student_.feature_rows());
        metrics.step = optimizer_.steps();
        tokens_seen_ += rows_.batch;
        metrics.tokens_seen = tokens_seen_;
        return true;
    }

    // The step's sums over every rank, so every rank sees the global batch's loss and agrees on it.
    void sum_over_ranks(backend::step_sums& sums) {
        if constexpr (!several_ranks) return;
        if (comm_.size() == 1) return;
        double values[] = {sums.squared_error, sums.activations.abs_sum, sums.activations.positive_count, sums.auxk,
                           sums.total_variance, sums.threshold_window};
        comm_.sum_in_rank_order(values, index_t{std::size(values)});
        sums.squared_error = values[0];
        sums.activations.abs_sum = values[1];
        sums.activations.positive_count = values[2];
        sums.auxk = values[3];
        sums.total_variance = values[4];
        sums.threshold_window = values[5];
    }

    // The gradient buffer summed over the ranks (each holds its rows' share of the global mean), in
    // place: directly for a host backend or a device communicator (sum_device_in_rank_order), else
    // through a host copy.
    void sum_gradients_over_ranks() {
        if constexpr (!several_ranks) return;
        if (comm_.size() == 1) return;
        Scalar* gradients = student_.gradients();
        const index_t n = student_.parameter_count();
        if constexpr (std::is_base_of_v<backend::cpu_system::tag, Backend>) {
            comm_.sum_in_rank_order(gradients, n);
        } else if constexpr (Comm::device_memory) {
            comm_.sum_device_in_rank_order(gradients, n);
        } else {
            host_gradients_.resize(static_cast<std::size_t>(n));
            backend::copy_to_host<Backend>(gradients, host_gradients_.data(), n);
            comm_.sum_in_rank_order(host_gradients_.data(), n);
            backend::copy_from_host<Backend>(host_gradients_.data(), gradients, n);
        }
    }

    // A finite loss grown past max_loss_growth times the first one.
    bool diverged(double loss) const {
        return settings_.max_loss_growth > 0 && std::isfinite(first_loss_) &&
               loss > settings_.max_loss_growth * std::max(first_loss_, std::numeric_limits<double>::min());
    }

    // "nan", or "2.4e+06, more than 10000 times the run's first loss 25.3" for a loss stopped by max_loss_growth.
    std::string loss_text(double loss) const {
        if (std::isfinite(loss) && std::isfinite(first_loss_))
            return detail::number_text(loss) + ", more than " + detail::number_text(settings_.max_loss_growth) +
                   " times the run's first loss " + detail::number_text(first_loss_);
        return detail::number_text(loss);
    }

    // One recording per distinct batch buffer (a recorded step holds raw addresses).
    typename Backend::step_recording& recording_for(matrix_view<const Scalar> x, matrix_view<const Scalar> y,
                                                    const teacher_type* teacher) {
        for (recorded_step& r : recordings_)
            if (r.x == x.data && r.y == y.data && r.rows == x.rows && r.teacher == teacher) return r.recording;
        return recordings_.emplace_back(recorded_step{x.data, y.data, x.rows, teacher, {}}).recording;
    }

    static std::vector<Scalar> to_host(const Scalar* values, index_t count) {
        std::vector<Scalar> host(static_cast<std::size_t>(count));
        backend::copy_to_host<Backend>(values, host.data(), count);
        return host;
    }

    std::string last_checkpoint_note() const {
        return last_checkpoint_step_ < 0 ? std::string("no checkpoint was written")
                                         : "the last checkpoint (step " + std::to_string(last_checkpoint_step_) +
                                               ") is kept";
    }

    // The slow path after a failed all_finite: find the entry and say where its row came from.
    template <class Source>
    [[noreturn]] void report_non_finite(const Source& source, const char* field, const matrix<Scalar>& batch) const {
        const auto at = detail::first_non_finite(batch.data(), batch.rows(), batch.cols());
        const index_t row = at ? at->first : 0, column = at ? at->second : 0;
        std::string origin;
        if constexpr (source_describing_rows<Source>) origin = " (" + std::string(source.describe_row(row)) + ")";
        throw numerical_fault(optimizer_.steps() + 1, field,
                              detail::number_text(double(batch(row, column))) + " at batch row " + std::to_string(row) +
                                  origin + ", column " + std::to_string(column) + "; " + last_checkpoint_note());
    }

    // The inputs (and a source's targets) were checked finite, so a non-finite loss comes from the
    // teacher's outputs or from the student itself.
    template <class Source>
    [[noreturn]] void report_non_finite_loss(const Source& source, double loss) {
        if constexpr (!source_with_targets<Source, Scalar>) {
            backend::copy_to_host<Backend>(y_.data(), host_y_.data(), host_y_.size());
            if (!detail::all_finite(host_y_.data(), host_y_.size())) report_non_finite(source, "teacher outputs", host_y_);
        }
        throw numerical_fault(optimizer_.steps() + 1, "loss",
                              loss_text(loss) +
                                  " with finite inputs and targets: the student diverged (a lower learning rate, or Adam "
                                  "settings with beta1² < beta2, may help); " + last_checkpoint_note());
    }

    student_type& student_;
    const teacher_type* teacher_;  ///< null when the sources supply the targets
    matrix<Scalar> whole_x_, whole_y_;  ///< a whole batch, for sources that do not cut out a rank's rows
    std::vector<Scalar> host_gradients_;  ///< a host communicator's copy of device gradients
    typename teacher_type::workspace teacher_workspace_;
    train_settings settings_;
    Comm comm_;
    comm::rank_rows rows_;  ///< this rank's rows of every batch
    optim::adam_state<Scalar, Backend> optimizer_;
    std::int64_t tokens_seen_ = 0;
    double first_loss_ = std::numeric_limits<double>::quiet_NaN();  ///< max_loss_growth's reference
    std::int64_t last_checkpoint_step_ = -1;  ///< step of the last checkpoint written or loaded
    bool resumed_ = false;                    ///< run() has already honoured checkpoint.resume
    matrix<Scalar> host_x_, host_y_;
    typename Backend::template buffer<Scalar> x_, y_;
    student_workspace<Scalar, Backend> workspace_;
    struct recorded_step {
        const Scalar* x;
        const Scalar* y;
        index_t rows;
        const teacher_type* teacher;
        typename Backend::step_recording recording;
    };
    std::deque<recorded_step> recordings_;  ///< a deque: recordings keep their addresses as it grows
    std::vector<std::int64_t> tokens_since_fired_;  ///< per latent, when counts_dead_latents()
    std::optional<std::vector<bool>> fixed_dead_;   ///< fix_dead_latents' set
    typename Backend::template buffer<Scalar> fired_;  ///< Σ_b a_bj of the last step
    std::vector<Scalar> host_fired_;
};

}  // namespace sparse_distill
