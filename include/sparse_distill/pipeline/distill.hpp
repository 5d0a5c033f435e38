#pragma once
// One model distilled, start to finish: build the student → train it → analyse it against the teacher
// → the result. The experiments run their models through `distill` (the planted-feature job, each layer
// of a language model), on any Scalar and Backend, so a new capability (an architecture, a backend) is
// added here once rather than in each experiment. (`distill train` still drives the trainer itself: it
// trains from files and exports, without analyses.)
//
//   const sd::teacher_mlp<float> teacher(weights);
//   sd::distill_settings s;                       // a ReLU student ×4 wide, the post's loss
//   s.train = sd::train_settings::for_steps(2000, 1024);
//   const auto model = sd::distill(teacher, inputs, held_out_inputs, s);
//   model.analysis.counts                          // neuron simulators, sparse features, dead
#include "../analysis/eval_tokens.hpp"
#include "../analysis/student_analysis.hpp"
#include "../comm/single.hpp"
#include "../nn/student.hpp"
#include "../nn/teacher.hpp"
#include "../train/metrics_log.hpp"
#include "../train/trainer.hpp"

#include <cstdint>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace sparse_distill {

namespace detail {
template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};
}  // namespace detail

/// The callbacks a factory returned (experiments take `make_callbacks(...)`), as a tuple of references:
/// a std::tuple's elements, or the one callback object. Use with std::apply.
template <class Callbacks>
auto callback_refs(Callbacks& callbacks) {
    if constexpr (detail::is_tuple<std::remove_cv_t<Callbacks>>::value)
        return std::apply([](auto&... each) { return std::tie(each...); }, callbacks);
    else
        return std::tie(callbacks);
}

/// What `distill` builds and how it trains and analyses it.
struct distill_settings {
    /// The student. Dimensions left at 0 come from the teacher: d_in = d_out = d_model,
    /// d_sae = round(width_ratio · d_mlp).
    student_config student;
    double width_ratio = 4.0;
    train_settings train = train_settings::for_steps(1000, 1024);
    analysis::analysis_options analysis;
    std::uint64_t seed = 0;      ///< the student's initialisation
    index_t eval_tokens = 16384;  ///< held-out tokens, when `distill` collects them from a source

    /// The student config for a teacher of these dimensions.
    student_config student_for(index_t d_model, index_t d_mlp) const {
        const student_config shape = student_config::for_teacher(dims{d_model, d_mlp}, width_ratio);
        student_config c = student;
        if (c.d_in == 0) c.d_in = shape.d_in;
        if (c.d_out == 0) c.d_out = shape.d_out;
        if (c.d_sae == 0) c.d_sae = shape.d_sae;
        return c;
    }

private:
    struct dims {
        index_t model, mlp;
        index_t d_model() const { return model; }
        index_t d_mlp() const { return mlp; }
    };
};

/// A distilled model: what was built, how training went, the weights and every analysis.
template <class Scalar>
struct distilled_model {
    student_config config;
    train_summary summary;
    metrics_history history;  ///< the reported steps' metrics (every train.callback_every steps)
    student_weights<Scalar> weights;
    double batch_threshold = 0;  ///< a BatchTopK student's inference threshold τ (0 for the others)
    analysis::student_analysis analysis;
};

/// Distils `teacher` into a new student trained on `source` and analysed on the held-out `eval` tokens,
/// data-parallel over the ranks of `comm` (each rank passes its own source: one that reads its rows of
/// every batch, comm::rank_rows, or the whole stream; the analyses run on every rank alike).
template <comm::communicator Comm, class Scalar, class Backend, class Source, class... Callbacks>
distilled_model<Scalar> distill_on_ranks(Comm comm, const teacher_mlp<Scalar, Backend>& teacher, Source& source,
                                         const analysis::eval_tokens<Scalar>& eval, const distill_settings& s,
                                         Callbacks&&... callbacks) {
    distilled_model<Scalar> m;
    m.config = s.student_for(teacher.d_model(), teacher.d_mlp());
    student_mlp<Scalar, Backend> student(m.config, s.seed);
    using trainer_type = trainer<Scalar, Backend, Comm>;
    if constexpr (source_with_targets<Source, Scalar>)
        m.summary = trainer_type(student, s.train, std::move(comm)).run(source, m.history, callbacks...);
    else
        m.summary = trainer_type(student, teacher, s.train, std::move(comm)).run(source, m.history, callbacks...);
    m.weights = student.weights();
    m.batch_threshold = student.batch_threshold();
    m.analysis = analysis::analyse_student(student, teacher, eval, s.analysis);
    return m;
}

/// Distils `teacher` into a new student trained on `source` and analysed on the held-out `eval` tokens.
/// `source` gives inputs (the teacher computes the targets) or (input, target) pairs (cached teacher
/// outputs; an SAE's input = target, with analysis.compare_encoder = false). Callbacks as trainer::run.
template <class Scalar, class Backend, class Source, class... Callbacks>
distilled_model<Scalar> distill(const teacher_mlp<Scalar, Backend>& teacher, Source& source,
                                const analysis::eval_tokens<Scalar>& eval, const distill_settings& s,
                                Callbacks&&... callbacks) {
    return distill_on_ranks(comm::single{}, teacher, source, eval, s, callbacks...);
}

/// The same, with s.eval_tokens held-out tokens taken from `held_out`, a source of inputs.
template <class Scalar, class Backend, class Source, class HeldOut, class... Callbacks>
    requires source_of_inputs<HeldOut, Scalar>
distilled_model<Scalar> distill(const teacher_mlp<Scalar, Backend>& teacher, Source& source, HeldOut& held_out,
                                const distill_settings& s, Callbacks&&... callbacks) {
    const analysis::eval_tokens<Scalar> eval = analysis::collect_eval_tokens(held_out, teacher, s.eval_tokens);
    return distill(teacher, source, eval, s, callbacks...);
}

}  // namespace sparse_distill
