#pragma once
// The main job's experiment, on data whose answer is known: inputs with planted sparse features, a
// random GELU teacher MLP on them, a wide student distilled from it with an L1 penalty, and (the post's
// baseline) an SAE trained on the teacher's outputs with the same machinery. Both are then analysed
// against the teacher (every figure of the post) and against the planted directions (recovery).
#include "../analysis/feature_recovery.hpp"
#include "../analysis/student_analysis.hpp"
#include "../data/planted_features.hpp"
#include "../data/teacher_output_source.hpp"
#include "../nn/mlp_weights.hpp"
#include "../train/metrics_log.hpp"
#include "../pipeline/distill.hpp"
#include "../train/trainer.hpp"

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill::experiments {

/// One model to train: a distilled student (reads the teacher's input, predicts its output) or an
/// SAE (reads and reconstructs the teacher's output).
struct model_spec {
    std::string name;
    student_config config;        ///< d_in/d_out are set to the data's dim
    train_settings train;
    bool sae = false;
};

struct planted_distillation_settings {
    data::planted_feature_settings data;
    index_t d_mlp = 256;                          ///< teacher neurons
    activation teacher_act = activation::gelu;
    double teacher_bias_stddev = 0.5;             ///< b_in ~ N(0, σ²): neurons fire on different fractions of tokens
    double teacher_output_norm = 0.5;             ///< typical norm of a neuron's output vector (see input_scaled_mlp_weights)
    std::vector<model_spec> models;               ///< trained in order, all on the same tokens
    index_t eval_tokens = 16384;                  ///< held-out tokens every analysis reads
    analysis::analysis_options analysis;
    std::uint64_t seed = 0;                       ///< data, teacher and initialisations derive from it

    /// Throws std::invalid_argument naming what is impossible.
    void validate() const {
        data.validate();
        if (d_mlp <= 0) throw std::invalid_argument("d_mlp must be positive (got " + std::to_string(d_mlp) + ")");
        if (!(teacher_output_norm > 0 && std::isfinite(teacher_output_norm)))
            throw std::invalid_argument("teacher output norm must be positive and finite");
        if (!(teacher_bias_stddev >= 0 && std::isfinite(teacher_bias_stddev)))
            throw std::invalid_argument("teacher bias stddev must be non-negative and finite");
        if (analysis.chunk_rows <= 0) throw std::invalid_argument("analysis chunk_rows must be positive");
        if (analysis.scatter_samples < 0) throw std::invalid_argument("analysis scatter_samples must be non-negative");
        if (eval_tokens <= 0) throw std::invalid_argument("eval_tokens must be positive (got " + std::to_string(eval_tokens) + ")");
        if (!(analysis.simulator_threshold >= 0 && analysis.simulator_threshold < 1))
            throw std::invalid_argument("the simulator threshold is a cosine in [0, 1) (got " +
                                        std::to_string(analysis.simulator_threshold) + ")");
        if (models.empty()) throw std::invalid_argument("no model to train");
        for (const model_spec& m : models) {
            try {
                with_dims(m.config).validate();
                m.train.validate();
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument("model '" + m.name + "': " + e.what());
            }
        }
    }
    student_config with_dims(student_config c) const {
        c.d_in = c.d_out = data.dim;
        return c;
    }
};

/// How well one model found the planted features. Encoders of a distilled student are compared with
/// the planted directions f_i; decoders, and an SAE's encoders, with the teacher's responses to them.
struct planted_recovery {
    /// For each planted feature, the best cosine to any encoder (decoder) row, averaged: how much of
    /// the planted set the model found.
    analysis::feature_recovery encoder, decoder;
    /// The same for random directions against the encoder rows: the chance level, well above 0
    /// because the best of many random cosines is not small.
    double encoder_chance = 0;
    /// For each feature of a type, its best cosine to any planted feature, averaged over the type
    /// (NaN for an empty type): how planted-like a type's features are, fair between types of
    /// different sizes.
    double encoder_alignment_sparse = 0, encoder_alignment_simulators = 0;
    double decoder_alignment_sparse = 0, decoder_alignment_simulators = 0;
    /// The same for random vectors: the chance level of an alignment.
    double alignment_chance = 0;
};

/// One model of the experiment: what `distill` returned, and how well it found the planted features.
template <class Scalar>
struct trained_model : distilled_model<Scalar> {
    model_spec spec;                  ///< with the data's dims filled in
    planted_recovery recovery;
};

template <class Scalar>
struct planted_distillation_result {
    mlp_weights<Scalar> teacher;
    matrix<Scalar> planted;            ///< the planted directions f_i [F, d]
    matrix<Scalar> planted_responses;  ///< T(m̄·f_i) − T(0) [F, d]
    std::vector<trained_model<Scalar>> models;  ///< in the order of settings.models
};

namespace detail {
template <class Scalar>
matrix<Scalar> random_directions(index_t rows, index_t cols) {
    // A fixed seed: the chance level is a property of the shapes, the same for every run.
    matrix<Scalar> m(rows, cols);
    random::fill_normal(m, random::counter_rng(0x5eed, 301));
    return m;
}

template <class Scalar>
planted_recovery recover(const matrix<Scalar>& encoder_targets, const matrix<Scalar>& responses,
                         const student_weights<Scalar>& w, const analysis::student_analysis& a) {
    using analysis::feature_type;
    const auto sparse = {feature_type::sparse_feature};
    const auto simulators = {feature_type::neuron_simulator};
    planted_recovery r;
    r.encoder = analysis::recover_features(encoder_targets, w.w_enc);
    r.decoder = analysis::recover_features(responses, w.w_dec);
    r.encoder_chance =
        analysis::recover_features(random_directions<Scalar>(encoder_targets.rows(), encoder_targets.cols()), w.w_enc)
            .mean_best_cosine;
    r.encoder_alignment_sparse = analysis::planted_alignment(w.w_enc, encoder_targets, a.types, sparse);
    r.encoder_alignment_simulators = analysis::planted_alignment(w.w_enc, encoder_targets, a.types, simulators);
    r.decoder_alignment_sparse = analysis::planted_alignment(w.w_dec, responses, a.types, sparse);
    r.decoder_alignment_simulators = analysis::planted_alignment(w.w_dec, responses, a.types, simulators);
    r.alignment_chance = analysis::planted_alignment(random_directions<Scalar>(w.w_enc.rows(), w.w_enc.cols()),
                                                     encoder_targets, {}, analysis::every_feature_type);
    return r;
}
}  // namespace detail

/// Runs the experiment. `make_callbacks(spec, total_steps)` returns the training callbacks for each
/// model (see train/callbacks.hpp): one callback object or a std::tuple of them.
template <class Scalar = float, class Backend = backend::cpu, class MakeCallbacks>
planted_distillation_result<Scalar> run_planted_distillation(const planted_distillation_settings& s,
                                                             MakeCallbacks&& make_callbacks) {
    s.validate();
    // Separate seeds for data, teacher and each model's initialisation, so changing one part (e.g.
    // adding a model) leaves the others as they were.
    const random::counter_rng seeds(s.seed, 401);
    const auto derived = [&](std::uint64_t k) { return seeds.bits(k); };
    enum : std::uint64_t { data_seed = 1, teacher_seed = 2, first_model_seed = 10 };

    planted_distillation_result<Scalar> r;
    const data::planted_feature_source<Scalar> reference(s.data, derived(data_seed));
    r.planted = reference.directions();
    r.teacher = input_scaled_mlp_weights<Scalar>(s.data.dim, s.d_mlp, s.teacher_act, s.data.expected_squared_norm(),
                                                 derived(teacher_seed), s.teacher_bias_stddev, s.teacher_output_norm);
    teacher_mlp<Scalar, Backend> teacher(r.teacher);
    // Held-out tokens: the same directions, tokens far beyond anything training reaches.
    data::planted_feature_source<Scalar> eval_source = reference;
    eval_source.seek(std::uint64_t{1} << 40);
    const analysis::eval_tokens<Scalar> eval = analysis::collect_eval_tokens(eval_source, teacher, s.eval_tokens);
    const analysis::eval_tokens<Scalar> sae_eval = analysis::as_sae_tokens(eval);
    r.planted_responses = analysis::teacher_responses(teacher, r.planted, s.data.mean_magnitude());

    for (std::size_t i = 0; i < s.models.size(); ++i) {
        trained_model<Scalar>& m = r.models.emplace_back();
        m.spec = s.models[i];
        m.spec.config = s.with_dims(m.spec.config);
        distill_settings d;
        d.student = m.spec.config;
        d.train = m.spec.train;
        d.analysis = s.analysis;
        d.seed = derived(first_model_seed + i);
        data::planted_feature_source<Scalar> inputs = reference;  // every model sees the same tokens
        auto callbacks = make_callbacks(m.spec, m.spec.train.steps());
        std::apply(
            [&](auto&... each) {
                if (m.spec.sae) {
                    data::teacher_output_source source(inputs, teacher);
                    d.analysis.compare_encoder = false;  // its encoder reads the output space
                    static_cast<distilled_model<Scalar>&>(m) = distill(teacher, source, sae_eval, d, each...);
                } else {
                    static_cast<distilled_model<Scalar>&>(m) = distill(teacher, inputs, eval, d, each...);
                }
            },
            callback_refs(callbacks));
        // An SAE reads the teacher's output, so its encoder is compared with the responses too.
        m.recovery = detail::recover(m.spec.sae ? r.planted_responses : r.planted, r.planted_responses, m.weights, m.analysis);
    }
    return r;
}

}  // namespace sparse_distill::experiments
